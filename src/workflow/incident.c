/*
 * incident.c - the service layer's actions on incidents (incident.h).
 *
 * Every change is a `change` function run by svc_act()/svc_record() inside the store
 * transaction that also appends its audit record. An alert delivery reads the open
 * incident of its group and each alert's last state inside that transaction (whose write
 * lock keeps them current), so two deliveries racing apply one after the other and a
 * repeated one finds nothing new.
 */
#include "workflow/incident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/encode.h"
#include "common/crypto.h"
#include "common/jsonutil.h"
#include "common/validate.h"
#include "policy/policy.h"
#include "workflow/notify.h"
#include "workflow/service_internal.h"

/* Copies src into a fixed-size field; false when it does not fit. */
static bool copy(char *dst, size_t cap, const char *src)
{
	size_t n = src != NULL ? strnlen(src, cap) : 0;

	if (n >= cap)
		return false;
	memcpy(dst, src != NULL ? src : "", n);
	dst[n] = '\0';
	return true;
}

static int add_event(store_tx *tx, const char *incident, int64_t now, const char *kind,
                     const char *actor, const char *text, bg_err *e)
{
	store_incident_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.at = now;
	copy(ev.kind, sizeof(ev.kind), kind);
	copy(ev.actor, sizeof(ev.actor), actor);
	/* Alert text comes from outside: cut to the field, at a character boundary. */
	snprintf(ev.text, sizeof(ev.text), "%s", text);
	bg_text_clean(ev.text);
	return store_incident_event_add(tx, incident, &ev, e);
}

static json_t *incident_detail(const store_incident *in)
{
	return json_pack("{s:s,s:I,s:s,s:s,s:s}", "incident", in->id, "severity",
	                 (json_int_t)in->severity, "title", in->title, "service", in->service,
	                 "source", in->source);
}

/* --- opening by hand ------------------------------------------------------------------ */

typedef struct opening {
	const svc *s;
	store_incident *in;
	const char *by;
} opening;

/* The notification of a new incident (by a user, or an alert source), in tx. */
static int notify_opened(const svc *s, store_tx *tx, const store_incident *in, const char *by,
                         bg_err *e)
{
	json_t *o;
	int rc;

	if (!svc_notify_wanted(s, POLICY_EV_INCIDENT))
		return 0;
	o = json_pack("{s:s,s:{s:s,s:s,s:I,s:s*,s:s},s:s}", "summary", "", "incident", "id", in->id,
	              "title", in->title, "severity", (json_int_t)in->severity, "service",
	              in->service[0] ? in->service : NULL, "source", in->source, "opened_by", by);
	if (o == NULL || !bg_json_set(o, "summary",
	                              json_sprintf("Incident %s opened by %s: SEV%lld %s", in->id,
	                                           by, (long long)in->severity, in->title)))
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	else
		rc = svc_notify_tx(s, tx, POLICY_EV_INCIDENT, o, e);
	json_decref(o);
	return rc;
}

static int open_incident(store_tx *tx, void *arg, bg_err *e)
{
	opening *o = arg;
	char text[BG_MAX_INCIDENT_TITLE + 64];
	int rc = store_incident_add(tx, o->in, e);

	if (rc != 0)
		return rc;
	snprintf(text, sizeof(text), "SEV%lld: %s", (long long)o->in->severity, o->in->title);
	rc = add_event(tx, o->in->id, o->in->opened_at, "opened", o->by, text, e);
	return rc != 0 ? rc : notify_opened(o->s, tx, o->in, o->by, e);
}

int svc_incident_open(const svc *s, svc_caller *c, const svc_incident_input *in,
                      store_incident *out, bg_err *e)
{
	opening o = {s, out, c->user.name};
	action a = {"incident-open", NULL, NULL, NULL, open_incident, &o, NULL};
	int rc;

	memset(out, 0, sizeof(*out));
	if (in->id == NULL || !bg_valid_id(in->id, BG_MAX_INCIDENT_ID))
		return bg_err_set(e, BG_EINVAL, "an incident id is 1 to %d of A-Z a-z 0-9 . _ -",
		                  BG_MAX_INCIDENT_ID);
	if (in->severity < 1 || in->severity > 5)
		return bg_err_set(e, BG_EINVAL, "severity is 1 (most severe) to 5");
	if (in->title == NULL || in->title[0] == '\0' ||
	    !bg_valid_text(in->title, BG_MAX_INCIDENT_TITLE))
		return bg_err_set(e, BG_EINVAL,
		                  "a title is 1 to %d bytes of text without control characters",
		                  BG_MAX_INCIDENT_TITLE);
	if (in->service != NULL && in->service[0] != '\0' &&
	    !bg_valid_id(in->service, BG_MAX_SERVICE_NAME))
		return bg_err_set(e, BG_EINVAL, "a service name is 1 to %d of A-Z a-z 0-9 . _ -",
		                  BG_MAX_SERVICE_NAME);
	copy(out->id, sizeof(out->id), in->id);
	copy(out->source, sizeof(out->source), "manual");
	out->severity = in->severity;
	copy(out->title, sizeof(out->title), in->title);
	copy(out->service, sizeof(out->service), in->service);
	out->open = true;
	copy(out->opened_by, sizeof(out->opened_by), c->user.name);
	out->opened_at = out->updated_at = bg_now();
	a.detail = incident_detail(out);
	if (a.detail == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	rc = svc_act(s, c, &a, e);
	json_decref(a.detail);
	return rc;
}

/* --- reading -------------------------------------------------------------------------- */

int svc_incident_get(const svc *s, const svc_caller *c, const char *id, store_incident *out,
                     bg_err *e)
{
	(void)c; /* every role reads incidents */
	return store_incident_get(s->st, id, out, e);
}

typedef struct listing {
	bool open_only;
	int (*fn)(void *ctx, const store_incident *in);
	void *ctx;
} listing;

static int list_one(void *ctx, const store_incident *in)
{
	listing *l = ctx;

	return l->open_only && !in->open ? 0 : l->fn(l->ctx, in);
}

int svc_incident_list(const svc *s, const svc_caller *c, bool open_only,
                      int (*fn)(void *ctx, const store_incident *in), void *ctx, bg_err *e)
{
	listing l = {open_only, fn, ctx};

	(void)c;
	return store_incident_list(s->st, list_one, &l, e);
}

static int alert_json(void *ctx, const store_alert *a)
{
	json_t *o = json_object();

	if (o == NULL || json_array_append_new(ctx, o) != 0 ||
	    !bg_json_set(o, "key", json_string(a->key)) ||
	    !bg_json_set(o, "name", json_string(a->name)) ||
	    !bg_json_set(o, "state", json_string(a->firing ? "firing" : "resolved")) ||
	    !bg_json_set_time(o, "starts_at", a->starts_at, true) ||
	    !bg_json_set_time(o, "ends_at", a->ends_at, true) ||
	    !bg_json_set_time(o, "updated_at", a->updated_at, false) ||
	    !bg_json_set(o, "summary", json_string(a->summary)))
		return BG_ENOMEM;
	return 0;
}

static int event_json(void *ctx, const store_incident_event *ev)
{
	json_t *o = json_object();

	if (o == NULL || json_array_append_new(ctx, o) != 0 ||
	    !bg_json_set_time(o, "at", ev->at, false) ||
	    !bg_json_set(o, "kind", json_string(ev->kind)) ||
	    !bg_json_set(o, "actor", json_string(ev->actor)) ||
	    !bg_json_set(o, "text", json_string(ev->text)))
		return BG_ENOMEM;
	return 0;
}

bool svc_incident_close_suggested(const store_incident *in)
{
	return in->open && in->firing == 0 && in->alerts_resolved_at > 0;
}

int svc_incident_json(const svc *s, const store_incident *in, bool history, json_t **out, bg_err *e)
{
	json_t *o = json_object(), *alerts = json_array(), *events = NULL;
	int rc = BG_ENOMEM;

	*out = NULL;
	if (o == NULL || !bg_json_set(o, "id", json_string(in->id)) ||
	    !bg_json_set(o, "source", json_string(in->source)) ||
	    !bg_json_set(o, "group", in->group_key[0] ? json_string(in->group_key) : json_null()) ||
	    !bg_json_set(o, "severity", json_integer(in->severity)) ||
	    !bg_json_set(o, "title", json_string(in->title)) ||
	    !bg_json_set(o, "service", in->service[0] ? json_string(in->service) : json_null()) ||
	    !bg_json_set(o, "state", json_string(in->open ? "open" : "resolved")) ||
	    !bg_json_set(o, "opened_by", json_string(in->opened_by)) ||
	    !bg_json_set_time(o, "opened_at", in->opened_at, false) ||
	    !bg_json_set_time(o, "updated_at", in->updated_at, false) ||
	    !bg_json_set_time(o, "resolved_at", in->resolved_at, true) ||
	    !bg_json_set(o, "resolved_by",
	                 in->resolved_by[0] ? json_string(in->resolved_by) : json_null()) ||
	    !bg_json_set(o, "alerts_firing", json_integer(in->firing)) ||
	    !bg_json_set_time(o, "last_firing_at", in->last_firing_at, true) ||
	    !bg_json_set_time(o, "alerts_resolved_at", in->alerts_resolved_at, true) ||
	    !bg_json_set(o, "review_required", json_boolean(in->review_required)) ||
	    !bg_json_set(o, "close_suggested", json_boolean(svc_incident_close_suggested(in))))
		goto fail;
	if (!bg_json_set(o, "alerts", json_incref(alerts)))
		goto fail;
	rc = store_alert_list(s->st, in->id, alert_json, alerts, e);
	if (rc != 0)
		goto fail;
	if (history) {
		events = json_array();
		rc = BG_ENOMEM;
		if (!bg_json_set(o, "events", json_incref(events)))
			goto fail;
		rc = store_incident_event_list(s->st, in->id, event_json, events, e);
		if (rc != 0)
			goto fail;
	}
	json_decref(alerts);
	json_decref(events);
	*out = o;
	return 0;
fail:
	if (rc == BG_ENOMEM)
		bg_err_set(e, BG_ENOMEM, "out of memory");
	json_decref(alerts);
	json_decref(events);
	json_decref(o);
	return rc;
}

/* --- resolving ------------------------------------------------------------------------ */

typedef struct resolution {
	store_incident *in;
	const char *by;
	const char *reason;
} resolution;

int svc_incident_resolve_tx(store_tx *tx, store_incident *in, const char *by, const char *reason,
                            bg_err *e)
{
	char when[BG_RFC3339_SIZE];
	int64_t now = bg_now();
	int rc = store_incident_get_tx(tx, in->id, in, e);

	if (rc != 0)
		return rc;
	if (!in->open) {
		bg_rfc3339(in->resolved_at, when);
		return bg_err_set(e, BG_EEXISTS, "incident %s was resolved already, at %s by %s",
		                  in->id, when, in->resolved_by);
	}
	in->open = false;
	in->resolved_at = in->updated_at = now;
	copy(in->resolved_by, sizeof(in->resolved_by), by);
	rc = store_incident_update(tx, in, e);
	return rc != 0 ? rc
	               : add_event(tx, in->id, now, "resolved", by,
	                           reason != NULL && reason[0] ? reason : "resolved", e);
}

static int resolve_incident(store_tx *tx, void *arg, bg_err *e)
{
	resolution *r = arg;
	int rc = svc_incident_resolve_tx(tx, r->in, r->by, r->reason, e);

	if (rc == BG_EEXISTS) { /* resolving twice is the caller's mistake */
		rc = BG_EINVAL;
		if (e != NULL)
			e->code = rc;
	}
	return rc;
}

int svc_incident_resolve(const svc *s, svc_caller *c, const char *id, const char *reason,
                         store_incident *out, bg_err *e)
{
	resolution r = {out, c->user.name, reason};
	action a = {"incident-resolve", NULL, reason, NULL, resolve_incident, &r, NULL};
	int rc;

	if (reason != NULL && !bg_valid_text(reason, BG_MAX_REASON))
		return bg_err_set(e, BG_EINVAL,
		                  "a reason is at most %d bytes of text without control characters",
		                  BG_MAX_REASON);
	rc = store_incident_get(s->st, id, out, e);
	if (rc != 0)
		return rc;
	a.detail = json_pack("{s:s}", "incident", out->id);
	if (a.detail == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	rc = svc_act(s, c, &a, e);
	json_decref(a.detail);
	return rc;
}

/* --- alerts --------------------------------------------------------------------------- */

static const char *const outcome_names[] = {
    [SVC_ALERTS_OPENED] = "opened",       [SVC_ALERTS_UPDATED] = "updated",
    [SVC_ALERTS_UNCHANGED] = "unchanged", [SVC_ALERTS_DUPLICATE] = "duplicate",
    [SVC_ALERTS_IGNORED] = "ignored",
};

const char *svc_alerts_outcome_name(svc_alerts_outcome o)
{
	return (size_t)o < sizeof(outcome_names) / sizeof(outcome_names[0]) ? outcome_names[o]
	                                                                    : "unknown";
}

typedef struct delivery {
	const svc *s;
	const svc_alerts *in;
	int64_t default_severity;
	int64_t now;
	svc_alerts_outcome outcome;
	store_incident inc;
	json_t *changes; /* the alerts whose state changed, for the record */
	json_t *detail;  /* the record's detail: gets the incident's id once it is known */
} delivery;

static bool any_firing(const svc_alerts *in)
{
	size_t i;

	for (i = 0; i < in->n; i++)
		if (in->items[i].firing)
			return true;
	return false;
}

/* A new incident for the delivery's group: "am-", "sns-", "pd-" or "gen-" and ten
 * random base32 characters. */
static int new_incident(store_tx *tx, delivery *d, bg_err *e)
{
	static const struct {
		const char *source, *prefix;
	} prefixes[] = {
	    {"alertmanager", "am-"}, {"sns", "sns-"}, {"pagerduty", "pd-"}, {"generic", "gen-"}};
	const svc_alerts *in = d->in;
	store_incident *inc = &d->inc;
	const char *prefix = "alert-";
	uint8_t raw[7];
	char text[BG_MAX_INCIDENT_TITLE + 64];
	size_t i, n;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strcmp(in->source, prefixes[i].source) == 0)
			prefix = prefixes[i].prefix;
	if (bg_random(raw, sizeof(raw)) != 0)
		return bg_err_set(e, BG_EIO, "no randomness available");
	memset(inc, 0, sizeof(*inc));
	n = strlen(prefix);
	memcpy(inc->id, prefix, n);
	bg_base32(raw, sizeof(raw), true, inc->id + n, sizeof(inc->id) - n);
	inc->id[n + 10] = '\0';
	copy(inc->source, sizeof(inc->source), in->source);
	if (!copy(inc->group_key, sizeof(inc->group_key), in->group))
		return bg_err_set(e, BG_ELIMIT, "the alert group is longer than %d bytes",
		                  BG_MAX_ALERT_GROUP);
	inc->severity = in->severity >= 1 && in->severity <= 5 ? in->severity : d->default_severity;
	snprintf(inc->title, sizeof(inc->title), "%s",
	         in->title != NULL && in->title[0] ? in->title : in->group);
	bg_text_clean(inc->title);
	copy(inc->service, sizeof(inc->service), in->service);
	inc->open = true;
	copy(inc->opened_by, sizeof(inc->opened_by), in->source);
	inc->opened_at = inc->updated_at = d->now;
	int rc = store_incident_add(tx, inc, e);
	if (rc != 0)
		return rc;
	snprintf(text, sizeof(text), "SEV%lld: %s", (long long)inc->severity, inc->title);
	rc = add_event(tx, inc->id, d->now, "opened", in->source, text, e);
	return rc != 0 ? rc : notify_opened(d->s, tx, inc, in->source, e);
}

/* Records alert a on the incident when its state is new; *changed says whether it was. */
static int apply_alert(store_tx *tx, delivery *d, const svc_alert *a, int64_t *known_alerts,
                       bool *changed, bg_err *e)
{
	store_alert cur, next;
	char text[BG_MAX_ALERT_NAME + BG_MAX_ALERT_SUMMARY + 8];
	int rc = store_alert_get(tx, d->inc.id, a->key, &cur, e);

	*changed = false;
	if (rc != 0 && rc != BG_ENOTFOUND)
		return rc;
	if (rc == 0 && cur.firing == a->firing)
		return 0; /* known, and in this state already */
	if (rc == BG_ENOTFOUND && *known_alerts >= BG_MAX_INCIDENT_ALERTS)
		return 0; /* a storm: the alerts it has go on being updated */
	memset(&next, 0, sizeof(next));
	copy(next.incident, sizeof(next.incident), d->inc.id);
	if (!copy(next.key, sizeof(next.key), a->key) || a->key[0] == '\0')
		return bg_err_set(e, BG_EINVAL, "an alert key is 1 to %d bytes", BG_MAX_ALERT_KEY);
	snprintf(next.name, sizeof(next.name), "%s", a->name != NULL ? a->name : a->key);
	bg_text_clean(next.name);
	snprintf(next.summary, sizeof(next.summary), "%s", a->summary != NULL ? a->summary : "");
	bg_text_clean(next.summary);
	next.firing = a->firing;
	next.starts_at = a->starts_at > 0 ? a->starts_at : 0;
	next.ends_at = a->ends_at > 0 ? a->ends_at : 0;
	next.updated_at = d->now;
	rc = store_alert_put(tx, &next, e);
	if (rc != 0)
		return rc;
	if (rc == 0 && cur.incident[0] == '\0')
		(*known_alerts)++;
	snprintf(text, sizeof(text), "%s%s%s", next.name, next.summary[0] ? ": " : "",
	         next.summary);
	bg_text_clean(text);
	rc = add_event(tx, d->inc.id, d->now, a->firing ? "alert-firing" : "alert-resolved",
	               d->in->source, text, e);
	if (rc != 0)
		return rc;
	*changed = true;
	if (json_array_append_new(d->changes,
	                          json_pack("{s:s,s:s,s:s}", "key", next.key, "name", next.name,
	                                    "state", a->firing ? "firing" : "resolved")) != 0)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	return 0;
}

/* The end of a delivery that changes no incident (d->outcome says why). One with an id was
 * remembered all the same, so that it is a duplicate when it comes again (a replayed
 * generic delivery is refused): that is kept and recorded, not rolled back. */
static int nothing_new(delivery *d, bool remembered, bg_err *e)
{
	if (!remembered)
		return SVC_UNCHANGED;
	if (json_object_set_new(d->detail, "outcome",
	                        json_string(svc_alerts_outcome_name(d->outcome))) != 0)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	return 0;
}

static int apply_delivery(store_tx *tx, void *arg, bg_err *e)
{
	delivery *d = arg;
	const svc_alerts *in = d->in;
	bool opened = false, changed = false, one, remembered = false;
	int64_t firing = 0, all = 0, was_firing;
	char text[96];
	size_t i;
	int rc;

	if (in->delivery != NULL && in->delivery[0] != '\0') {
		rc = store_delivery_record(tx, in->source, in->delivery, d->now, e);
		if (rc == BG_EEXISTS) {
			d->outcome = SVC_ALERTS_DUPLICATE;
			return SVC_UNCHANGED;
		}
		if (rc != 0)
			return rc;
		remembered = true;
	}
	rc = store_incident_find_open(tx, in->source, in->group, &d->inc, e);
	if (rc == BG_ENOTFOUND) {
		if (!any_firing(in)) {
			d->outcome = SVC_ALERTS_IGNORED;
			return nothing_new(d, remembered, e);
		}
		rc = new_incident(tx, d, e);
		opened = true;
	}
	if (rc != 0)
		return rc;
	if (json_object_set_new(d->detail, "incident", json_string(d->inc.id)) != 0)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	/* The delivery that opens an incident says what it opened: the trail alone tells the
	 * report the incident's title and severity. */
	if (opened &&
	    (json_object_set_new(d->detail, "opened", json_true()) != 0 ||
	     json_object_set_new(d->detail, "title", json_string(d->inc.title)) != 0 ||
	     json_object_set_new(d->detail, "severity", json_integer(d->inc.severity)) != 0 ||
	     (d->inc.service[0] != '\0' &&
	      json_object_set_new(d->detail, "service", json_string(d->inc.service)) != 0)))
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	was_firing = d->inc.firing;
	rc = store_alert_count(tx, d->inc.id, &firing, &all, e);
	for (i = 0; rc == 0 && i < in->n; i++) {
		rc = apply_alert(tx, d, &in->items[i], &all, &one, e);
		changed |= one;
	}
	if (rc != 0)
		return rc;
	if (in->severity >= 1 && in->severity < d->inc.severity) {
		snprintf(text, sizeof(text), "severity raised from SEV%lld to SEV%lld",
		         (long long)d->inc.severity, (long long)in->severity);
		d->inc.severity = in->severity;
		rc = add_event(tx, d->inc.id, d->now, "severity", in->source, text, e);
		changed = true;
	}
	if (rc == 0)
		rc = store_alert_count(tx, d->inc.id, &firing, &all, e);
	if (rc != 0)
		return rc;
	if (!changed && !opened) {
		d->outcome = SVC_ALERTS_UNCHANGED;
		return nothing_new(d, remembered, e);
	}
	d->inc.firing = firing;
	if (any_firing(in))
		d->inc.last_firing_at = d->now;
	if (firing > 0) {
		d->inc.alerts_resolved_at = 0;
	} else if (was_firing > 0 || opened) {
		d->inc.alerts_resolved_at = d->now;
		rc = add_event(
		    tx, d->inc.id, d->now, "alerts-resolved", in->source,
		    "every alert has resolved; resolve the incident once the work is done", e);
		if (rc != 0)
			return rc;
	}
	d->inc.updated_at = d->now;
	d->outcome = opened ? SVC_ALERTS_OPENED : SVC_ALERTS_UPDATED;
	return store_incident_update(tx, &d->inc, e);
}

int svc_incident_alerts(const svc *s, const svc_alerts *in, int64_t default_severity,
                        svc_alerts_outcome *outcome, char id[BG_MAX_INCIDENT_ID + 1], bg_err *e)
{
	delivery *d;
	action a = {"alert", NULL, NULL, NULL, apply_delivery, NULL, NULL};
	int rc;

	*outcome = SVC_ALERTS_UNCHANGED;
	id[0] = '\0';
	if (in->source == NULL || !bg_valid_user_name(in->source) || in->group == NULL ||
	    in->group[0] == '\0' || !bg_valid_text(in->group, BG_MAX_ALERT_GROUP))
		return bg_err_set(e, BG_EINVAL, "an alert delivery needs its source and group");
	if (default_severity < 1 || default_severity > 5)
		return bg_err_set(e, BG_EINVAL, "the default severity is 1 to 5");
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	d->s = s;
	d->in = in;
	d->default_severity = default_severity;
	d->now = bg_now();
	d->changes = json_array();
	a.arg = d;
	/* The record says what the delivery did. It is built before the change and written
	 * after it, so the change fills it in: the incident, the alerts that changed. */
	a.detail = json_pack("{s:s,s:s,s:s?,s:O}", "source", in->source, "group", in->group,
	                     "delivery", in->delivery, "alerts", d->changes);
	if (d->changes == NULL || a.detail == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto out;
	}
	d->detail = a.detail;
	rc = svc_record(s, in->source, NULL, &a, e);
	if (rc == 0) {
		*outcome = d->outcome;
		if (d->inc.id[0] != '\0' && d->outcome != SVC_ALERTS_DUPLICATE)
			copy(id, BG_MAX_INCIDENT_ID + 1, d->inc.id);
	}
out:
	json_decref(a.detail);
	json_decref(d->changes);
	free(d);
	return rc;
}

int svc_hook_refused(const svc *s, const char *source, const char *peer, const char *why, bg_err *e)
{
	action a = {"hook", NULL, why, NULL, NULL, NULL, "deny"};
	int rc;

	if (source == NULL || !bg_valid_user_name(source))
		return bg_err_set(e, BG_EINVAL, "a webhook source is a name");
	a.detail = json_pack("{s:s,s:s?}", "source", source, "peer", peer);
	if (a.detail == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	rc = svc_record(s, source, NULL, &a, e);
	json_decref(a.detail);
	return rc;
}
