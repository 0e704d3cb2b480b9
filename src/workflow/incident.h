/*
 * incident.h - the service layer's actions on incidents: opened by hand or by alerts,
 * listed, shown, resolved. An incident is what a break-glass request is for, so its
 * state (open, severity, alerts firing) is what the trigger criteria read.
 *
 * As in service.h, each action validates, then changes state and appends its audit
 * record (kinds "incident-open", "incident-resolve", "alert") in one transaction; the
 * record's detail names the incident. Alerts arrive from the webhooks (gateway/hooks.c),
 * already parsed and verified; here they open or update the one open incident of their
 * alert group, record each alert's change of state on it, and change nothing when the
 * same delivery or the same states arrive again.
 */
#ifndef BG_INCIDENT_H
#define BG_INCIDENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "workflow/service.h"

/* What `incident open` asks for. service may be NULL or "". */
typedef struct svc_incident_input {
	const char *id;
	int64_t severity;
	const char *title;
	const char *service;
} svc_incident_input;

/* Opens an incident by hand (source "manual"; audit "incident-open"). BG_EEXISTS when the
 * id is taken. */
int svc_incident_open(const svc *s, svc_caller *c, const svc_incident_input *in,
                      store_incident *out, bg_err *e) BG_MUST_CHECK;

/* The incident with this id (BG_ENOTFOUND if none); every role may read incidents. */
int svc_incident_get(const svc *s, const svc_caller *c, const char *id, store_incident *out,
                     bg_err *e) BG_MUST_CHECK;

/* Calls fn for each incident, newest first (all of them, or only the open ones). */
int svc_incident_list(const svc *s, const svc_caller *c, bool open_only,
                      int (*fn)(void *ctx, const store_incident *in), void *ctx,
                      bg_err *e) BG_MUST_CHECK;

/* Resolves an open incident (audit "incident-resolve", with reason, which may be NULL).
 * BG_EINVAL when it is resolved already. Its grants are not touched here: `close` is the
 * teardown. */
int svc_incident_resolve(const svc *s, svc_caller *c, const char *id, const char *reason,
                         store_incident *out, bg_err *e) BG_MUST_CHECK;

/* Whether `close` is the suggested next step: the incident is open and every alert it
 * had has resolved. Suggested only, never done for the responder. */
bool svc_incident_close_suggested(const store_incident *in);

/* The incident as the API shows it: its fields, its alerts and (with history) its events.
 * *out is a new object (json_decref). */
int svc_incident_json(const svc *s, const store_incident *in, bool history, json_t **out,
                      bg_err *e) BG_MUST_CHECK;

/* One alert of a delivery, as a webhook parser made it. Strings are NUL-terminated. */
typedef struct svc_alert {
	const char *key; /* unique within the group */
	const char *name;
	const char *summary;
	bool firing;
	int64_t starts_at; /* 0: unknown */
	int64_t ends_at;   /* 0: unknown or still firing */
} svc_alert;

/* One webhook delivery: the alerts of one group from one source. */
typedef struct svc_alerts {
	const char *source;   /* "alertmanager", "sns", "pagerduty", "generic" */
	const char *group;    /* the alert group: one open incident per source and group */
	const char *delivery; /* the delivery's id where the format has one, else NULL */
	const char *title;    /* for a new incident */
	const char *service;  /* may be NULL or "" */
	int64_t severity;     /* 1..5, or 0: not stated */
	const svc_alert *items;
	size_t n;
} svc_alerts;

/* What a delivery did. */
typedef enum svc_alerts_outcome {
	SVC_ALERTS_OPENED,    /* a new incident was opened */
	SVC_ALERTS_UPDATED,   /* an alert of the open incident changed state, or its severity */
	SVC_ALERTS_UNCHANGED, /* the states were known already: nothing changed */
	SVC_ALERTS_DUPLICATE, /* this delivery id was received before: nothing changed */
	SVC_ALERTS_IGNORED,   /* only resolved alerts of a group with no open incident */
} svc_alerts_outcome;

/* Applies a delivery (actor: the source; audit "alert"): finds the open incident of its
 * group or, when an alert fires, opens one (severity: the delivery's, else
 * default_severity; raised, never lowered, by later deliveries); records each alert
 * whose state is new and counts what fires. A delivery id is remembered whatever the
 * outcome (the record of one that changed nothing has detail.outcome), so the same id
 * again is SVC_ALERTS_DUPLICATE; without an id, a delivery that changes nothing is not
 * recorded. *id gets the incident's id (when there is one). */
int svc_incident_alerts(const svc *s, const svc_alerts *in, int64_t default_severity,
                        svc_alerts_outcome *outcome, char id[BG_MAX_INCIDENT_ID + 1],
                        bg_err *e) BG_MUST_CHECK;

/* Records a webhook delivery that was refused before it could be read (a bad signature or
 * token, a stale timestamp, a replay, an unknown topic): audit "hook", decision "deny",
 * actor the source, with the peer's address. Nothing else changes. */
int svc_hook_refused(const svc *s, const char *source, const char *peer, const char *why,
                     bg_err *e) BG_MUST_CHECK;

/* The outcome in words ("opened", "updated", ...), for answers and logs. */
const char *svc_alerts_outcome_name(svc_alerts_outcome o);

#endif
