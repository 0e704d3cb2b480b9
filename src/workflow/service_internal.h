/*
 * service_internal.h - what the service layer's files share (service.c, incident.c):
 * an action and the one way it is done. Not for front ends: they call service.h and
 * incident.h.
 */
#ifndef BG_SERVICE_INTERNAL_H
#define BG_SERVICE_INTERNAL_H

#include "workflow/service.h"

/* What an action records, and the state change it makes: change(tx, arg, e), or NULL
 * for an action that changes nothing but must be on the record before it is answered
 * (handing out credentials). A change that finds nothing to do returns SVC_UNCHANGED:
 * the transaction is rolled back, nothing is recorded, and the action succeeds. */
typedef struct action {
	const char *kind; /* the record's kind and op */
	const char *grant_id;
	const char *reason;
	json_t *detail; /* borrowed */
	int (*change)(store_tx *tx, void *arg, bg_err *e);
	void *arg;
	const char *decision; /* the record's decision when the change is made: NULL "allow";
	                       * "deny" for a refusal that is itself kept (a request whose
	                       * criteria failed) */
} action;

#define SVC_UNCHANGED 1 /* a change's "nothing to do" (BG_E* codes are negative) */

/* Does an action for c: first the caller's step-up when the action needs one (in its
 * own transaction: a verified code stays spent even if the action then fails, so it
 * cannot be replayed), then svc_record(). */
int svc_act(const svc *s, svc_caller *c, const action *a, bg_err *e) BG_MUST_CHECK;

/* Resolves incident in->id in tx (its history gets "resolved" by `by`); *in is the
 * incident afterwards. BG_EEXISTS (in filled) when it was resolved already. */
int svc_incident_resolve_tx(store_tx *tx, store_incident *in, const char *by, const char *reason,
                            bg_err *e) BG_MUST_CHECK;

/* The state change and the action's audit record (by actor, a user or an alert source)
 * in one store transaction. The record goes last because it claims the audit chain, on
 * which every gateway request waits too. Returns 0 only once both are durable; otherwise
 * neither exists: a failed change is returned as it is (and the attempt recorded as a
 * refusal), a record that cannot be written (or a transaction that cannot begin or
 * commit) as BG_EAUDIT. */
int svc_record(const svc *s, const char *actor, const char *request_id, const action *a,
               bg_err *e) BG_MUST_CHECK;

/* Pins runbooks ids[0..n) into runbook grant g, each at its current content hash; g's
 * tables and operations become the runbooks' (the outer bound every request is also
 * checked against). BG_EINVAL for an unknown runbook. */
int svc_pin_runbooks(const svc *s, const char *const *ids, size_t n, store_grant *g,
                     bg_err *e) BG_MUST_CHECK;

/* An action's change that stores grant g (a store_grant *). */
int svc_add_grant(store_tx *tx, void *g, bg_err *e) BG_MUST_CHECK;

/* Appends to names (a JSON array) every enabled approver who may answer requester's
 * requests (never the requester). */
int svc_approvers(const svc *s, const char *requester, json_t *names, bg_err *e) BG_MUST_CHECK;

/* Makes the gateway's live grant cache agree with g (added, or revoked). */
int svc_cache_grant(const svc *s, const store_grant *g, bg_err *e) BG_MUST_CHECK;

#endif
