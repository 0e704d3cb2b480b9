/*
 * notify.c - what notifications say and how they are queued (notify.h), and the expiry
 * sweep that turns the passing of time into state changes and notifications.
 */
#include "workflow/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/jsonutil.h"
#include "policy/policy.h"
#include "workflow/grant.h"
#include "workflow/service_internal.h"

bool svc_notify_wanted(const svc *s, unsigned event)
{
	size_t i;

	for (i = 0; s->notify != NULL && i < s->notify->n; i++)
		if ((s->notify->targets[i].events & event) != 0)
			return true;
	return false;
}

int svc_notify_tx(const svc *s, store_tx *tx, unsigned event, json_t *payload, bg_err *e)
{
	const char *name = policy_event_name(event);
	store_outbox o;
	char *text = NULL;
	int64_t now = bg_now();
	size_t i;
	int rc = 0;

	if (!svc_notify_wanted(s, event))
		return 0;
	if (name == NULL || payload == NULL || !bg_json_set(payload, "event", json_string(name)) ||
	    (text = json_dumps(payload, JSON_COMPACT)) == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory building a notification");
	for (i = 0; rc == 0 && i < s->notify->n; i++) {
		const svc_notify_target *t = &s->notify->targets[i];
		if ((t->events & event) == 0)
			continue;
		memset(&o, 0, sizeof(o));
		snprintf(o.target, sizeof(o.target), "%s", t->name);
		snprintf(o.event, sizeof(o.event), "%s", name);
		o.payload = text;
		o.created_at = o.next_at = now;
		rc = store_outbox_add(tx, &o, e);
	}
	free(text);
	return rc;
}

static json_t *incident_json(const store_request *r, const store_incident *inc)
{
	if (inc == NULL)
		return json_pack("{s:s}", "id", r->incident);
	return json_pack("{s:s,s:s,s:I,s:s*,s:b}", "id", inc->id, "title", inc->title, "severity",
	                 (json_int_t)inc->severity, "service",
	                 inc->service[0] ? inc->service : NULL, "open", inc->open);
}

/* Each runbook the request pins: described when the gateway can, else id and hash. */
static json_t *runbooks_json(const svc *s, const store_request *r, bool full)
{
	json_t *a = json_array(), *d;
	size_t i;

	for (i = 0; a != NULL && i < r->n_runbooks; i++) {
		d = full && s->runbooks != NULL && s->runbooks->describe != NULL
		        ? s->runbooks->describe(s->runbooks->ctx, r->runbooks[i])
		        : NULL;
		/* The runbook as pinned: an edited one is described as it is now, flagged. */
		if (d != NULL &&
		    strcmp(json_string_value(json_object_get(d, "hash")), r->runbook_hashes[i]) !=
		        0 &&
		    !bg_json_set(d, "changed_since_request", json_true())) {
			json_decref(d);
			d = NULL;
		}
		if (d == NULL)
			d = json_pack("{s:s,s:s}", "id", r->runbooks[i], "hash",
			              r->runbook_hashes[i]);
		if (json_array_append_new(a, d) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *svc_notify_request(const svc *s, const store_request *r, const store_incident *inc,
                           bool full)
{
	json_t *o = json_object(), *rq = json_object(), *crit = NULL, *who = NULL;
	char cmd[STORE_ID_MAX + 64];
	bg_err e;
	bool ok;

	ok = o != NULL && rq != NULL && bg_json_set(o, "request", json_incref(rq)) &&
	     bg_json_set(rq, "id", json_string(r->id)) &&
	     bg_json_set(rq, "requester", json_string(r->requester)) &&
	     bg_json_set(rq, "reason", json_string(r->reason)) &&
	     bg_json_set(rq, "ticket", r->ticket[0] ? json_string(r->ticket) : json_null()) &&
	     bg_json_set(rq, "duration_seconds", json_integer(r->duration_seconds)) &&
	     bg_json_set(rq, "state", json_string(r->state)) &&
	     bg_json_set_time(rq, "created_at", r->created_at, false) &&
	     bg_json_set_time(rq, "expires_at", r->expires_at, false) &&
	     bg_json_set(rq, "runbooks", runbooks_json(s, r, full)) &&
	     bg_json_set(o, "incident", incident_json(r, inc));
	if (ok && full) {
		crit = json_loads(r->criteria, 0, NULL);
		who = json_array();
		snprintf(cmd, sizeof(cmd), "breakglass approve %s --otp CODE", r->id);
		ok = who != NULL && svc_approvers(s, r->requester, who, &e) == 0 &&
		     bg_json_set(rq, "criteria", crit != NULL ? json_incref(crit) : json_array()) &&
		     bg_json_set(o, "approvers", json_incref(who)) &&
		     bg_json_set(o, "approve_command", json_string(cmd));
		snprintf(cmd, sizeof(cmd), "breakglass deny %s --otp CODE --reason TEXT", r->id);
		ok = ok && bg_json_set(o, "deny_command", json_string(cmd));
	}
	if (ok && s->notify != NULL && s->notify->gateway_url != NULL &&
	    s->notify->gateway_url[0] != '\0')
		ok = bg_json_set(o, "gateway", json_string(s->notify->gateway_url));
	json_decref(rq);
	json_decref(crit);
	json_decref(who);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* --- the expiry sweep ----------------------------------------------------------------- */

typedef struct expiry {
	const svc *s;
	const char *id;
	int64_t now;
	json_t *notice; /* the notification; NULL: none wanted */
} expiry;

static int expire_request(store_tx *tx, void *arg, bg_err *e)
{
	expiry *x = arg;
	store_request r;
	int rc = store_request_get_tx(tx, x->id, &r, e);

	if (rc != 0)
		return rc;
	/* As this transaction sees it: answered, or expired by another sweep, meanwhile. */
	if (strcmp(r.state, "pending") != 0 || x->now < r.expires_at)
		return SVC_UNCHANGED;
	snprintf(r.state, sizeof(r.state), "expired");
	r.decided_at = x->now;
	rc = store_request_update(tx, &r, e);
	return rc != 0 ? rc : svc_notify_tx(x->s, tx, POLICY_EV_EXPIRY, x->notice, e);
}

static int notice_grant(store_tx *tx, void *arg, bg_err *e)
{
	expiry *x = arg;
	int rc = store_grant_expiry_noticed(tx, x->id, e);

	if (rc == BG_ENOTFOUND)
		return SVC_UNCHANGED; /* another sweep did */
	return rc != 0 ? rc : svc_notify_tx(x->s, tx, POLICY_EV_EXPIRY, x->notice, e);
}

/* Records expiry action a, its notification (x->notice, when one is wanted) summarised
 * by text: the sweep's one way to do each. Consumes a->detail and x->notice. */
static int record_expiry(const svc *s, action *a, expiry *x, bool wanted, const char *text,
                         bg_err *e)
{
	int rc = 0;

	if (a->detail == NULL || (wanted && (x->notice == NULL || !bg_json_set(x->notice, "summary",
	                                                                       json_string(text)))))
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	if (rc == 0)
		rc = svc_record(s, "breakglass", NULL, a, e);
	json_decref(x->notice);
	json_decref(a->detail);
	return rc;
}

static int sweep_request(const svc *s, const char *id, int64_t now, bg_err *e)
{
	store_request r;
	store_incident inc;
	expiry x = {s, id, now, NULL};
	action a = {"request-expire",
	            id,
	            "nobody answered before it expired",
	            NULL,
	            expire_request,
	            &x,
	            NULL};
	char text[BG_MAX_REASON + 128];
	bool wanted = svc_notify_wanted(s, POLICY_EV_EXPIRY);
	int rc = store_request_get(s->st, id, &r, e);

	if (rc != 0)
		return rc;
	a.detail = json_pack("{s:s,s:s}", "request", r.id, "incident", r.incident);
	if (wanted) {
		snprintf(r.state, sizeof(r.state), "expired");
		x.notice = svc_notify_request(
		    s, &r, store_incident_get(s->st, r.incident, &inc, e) == 0 ? &inc : NULL,
		    false);
	}
	snprintf(text, sizeof(text),
	         "Request %s by %s for incident %s expired: nobody answered in time", r.id,
	         r.requester, r.incident);
	return record_expiry(s, &a, &x, wanted, text, e);
}

static int sweep_grant(const svc *s, const store_grant *g, int64_t now, bg_err *e)
{
	expiry x = {s, g->id, now, NULL};
	action a = {"grant-expire", g->id, "its time ran out", NULL, notice_grant, &x, NULL};
	char text[BG_MAX_USER_NAME + STORE_ID_MAX + 64];
	bool wanted = svc_notify_wanted(s, POLICY_EV_EXPIRY);

	a.detail = json_pack("{s:s,s:s}", "grant", g->id, "user", g->user);
	if (wanted)
		x.notice = json_pack("{s:o}", "grant", grant_to_json(g, now));
	snprintf(text, sizeof(text), "Grant %s of %s expired: its credentials no longer work",
	         g->id, g->user);
	return record_expiry(s, &a, &x, wanted, text, e);
}

int svc_expiry_sweep(const svc *s, int64_t now, size_t *done, bg_err *e)
{
	char(*ids)[STORE_ID_MAX] = calloc(BG_NOTIFY_SWEEP_BATCH, STORE_ID_MAX);
	store_grant *gs = calloc(BG_NOTIFY_SWEEP_BATCH, sizeof(*gs));
	int64_t since = now - BG_NOTIFY_MAX_AGE_SECONDS;
	size_t i, n = 0, count = 0;
	int rc = ids == NULL || gs == NULL ? bg_err_set(e, BG_ENOMEM, "out of memory") : 0;

	if (rc == 0)
		rc = store_request_expired(s->st, since, now, ids, BG_NOTIFY_SWEEP_BATCH, &n, e);
	for (i = 0; rc == 0 && i < n; i++, count++)
		rc = sweep_request(s, ids[i], now, e);
	if (rc == 0)
		rc = store_grant_expired(s->st, since, now, gs, BG_NOTIFY_SWEEP_BATCH, &n, e);
	for (i = 0; rc == 0 && i < n; i++, count++)
		rc = sweep_grant(s, &gs[i], now, e);
	if (done != NULL)
		*done = count;
	free(ids);
	free(gs);
	return rc;
}
