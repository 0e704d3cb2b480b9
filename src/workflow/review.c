/*
 * review.c - teardown (`close`) and the post-incident review (review.h).
 *
 * close gathers the incident's live grants before its transaction (a grant takes the id
 * of the request it was made for, and a request names its incident) and revokes them in
 * it, beside resolving the incident and opening its review, so the three happen together
 * or not at all; the grant cache is updated after the commit, before the answer. The
 * audit chain is verified after that: the answer says whether the trail is whole.
 */
#include "workflow/review.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/validate.h"
#include "policy/policy.h"
#include "workflow/grant.h"
#include "workflow/notify.h"
#include "workflow/service_internal.h"

/* --- close ----------------------------------------------------------------------------- */

typedef struct closing {
	const svc *s;
	const char *who;
	const char *reason;
	int64_t review_seconds;
	store_grant *live; /* gathered before the transaction */
	size_t n, cap;
	const char *incident;
	svc_close_result *out;
	int64_t now;
} closing;

/* Collects the live grants of the incident's requests (an extension's approval extends
 * the grant of the request it extends, which is the incident's too). */
static int gather(void *ctx, const store_request *r)
{
	closing *k = ctx;
	store_grant g;
	bg_err e;

	if (strcmp(r->incident, k->incident) != 0 || r->extends[0] != '\0' ||
	    strcmp(r->state, "approved") != 0)
		return 0;
	int rc = store_grant_by_id(k->s->st, r->id, &g, &e);

	if (rc == BG_ENOTFOUND)
		return 0; /* approved, its grant not made yet: nothing to revoke */
	if (rc != 0)
		return rc; /* a grant that cannot be read must not be left live unseen */
	if (grant_status(&g, k->now) != GRANT_ACTIVE)
		return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 8;
		store_grant *v = realloc(k->live, cap * sizeof(*v));

		if (v == NULL)
			return BG_ENOMEM;
		k->live = v;
		k->cap = cap;
	}
	k->live[k->n++] = g;
	return 0;
}

static int close_incident(store_tx *tx, void *arg, bg_err *e)
{
	closing *k = arg;
	svc_close_result *o = k->out;
	store_review rv;
	json_t *notice;
	size_t i;
	int rc = 0;

	o->n_revoked = 0;
	for (i = 0; rc == 0 && i < k->n; i++) {
		rc = store_grant_revoke(tx, k->live[i].id, k->who, k->now, &k->live[i], e);
		if (rc == 0 && o->n_revoked < BG_MAX_CLOSE_GRANTS)
			snprintf(o->revoked[o->n_revoked], STORE_ID_MAX, "%s", k->live[i].id);
		o->n_revoked += rc == 0;
	}
	if (rc != 0)
		return rc;
	snprintf(o->incident.id, sizeof(o->incident.id), "%s", k->incident);
	rc = svc_incident_resolve_tx(tx, &o->incident, k->who,
	                             k->reason != NULL && k->reason[0] ? k->reason : "closed", e);
	o->resolved_now = rc == 0;
	if (rc == BG_EEXISTS)
		rc = 0; /* resolved before: closing still locks the door */
	if (rc != 0)
		return rc;
	memset(&rv, 0, sizeof(rv));
	snprintf(rv.incident, sizeof(rv.incident), "%s", k->incident);
	snprintf(rv.opened_by, sizeof(rv.opened_by), "%s", k->who);
	rv.opened_at = k->now;
	rv.deadline = k->now + k->review_seconds;
	/* Closing again keeps the first review (asked first: a failed insert would spoil
	 * the transaction). */
	rc = store_review_get(k->s->st, tx, k->incident, &o->review, e);
	o->review_opened = rc == BG_ENOTFOUND;
	if (rc == BG_ENOTFOUND)
		rc = store_review_open(tx, &rv, e);
	if (rc == 0 && o->review_opened)
		rc = store_review_get(k->s->st, tx, k->incident, &o->review, e);
	if (rc != 0 || !svc_notify_wanted(k->s, POLICY_EV_CLOSE))
		return rc;
	notice =
	    json_pack("{s:o,s:s,s:s,s:I,s:I}", "summary",
	              json_sprintf("%s closed incident %s: %zu grant(s) revoked; the review "
	                           "is due by the deadline",
	                           k->who, k->incident, o->n_revoked),
	              "incident", k->incident, "closed_by", k->who, "grants_revoked",
	              (json_int_t)o->n_revoked, "review_deadline", (json_int_t)o->review.deadline);
	rc = notice != NULL ? svc_notify_tx(k->s, tx, POLICY_EV_CLOSE, notice, e)
	                    : bg_err_set(e, BG_ENOMEM, "out of memory");
	json_decref(notice);
	return rc;
}

int svc_incident_close(const svc *s, const svc_policy *p, svc_caller *c, const char *id,
                       const char *reason, svc_close_result *out, bg_err *e)
{
	closing k = {s,      c->user.name,
	             reason, p->review_seconds > 0 ? p->review_seconds : 86400,
	             NULL,   0,
	             0,      id,
	             out,    bg_now()};
	action a = {"incident-close", NULL, reason, NULL, close_incident, &k, NULL};
	store_incident in;
	bool committed;
	json_t *ids;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (reason != NULL && !bg_valid_text(reason, BG_MAX_REASON))
		return bg_err_set(e, BG_EINVAL,
		                  "a reason is at most %d bytes of text without control characters",
		                  BG_MAX_REASON);
	rc = store_incident_get(s->st, id, &in, e);
	if (rc == 0)
		rc = store_request_list(s->st, NULL, gather, &k, e);
	if (rc != 0 && rc != BG_ENOTFOUND && e != NULL && e->code == 0)
		bg_err_set(e, rc, "cannot read the incident's grants");
	ids = rc == 0 ? json_array() : NULL;
	for (i = 0; ids != NULL && i < k.n; i++)
		json_array_append_new(ids, json_string(k.live[i].id));
	a.detail = ids != NULL ? json_pack("{s:s,s:o}", "incident", in.id, "grants", ids) : NULL;
	if (rc == 0 && a.detail == NULL)
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	if (rc == 0)
		rc = svc_act(s, c, &a, e);
	committed = rc == 0;
	json_decref(a.detail);
	/* Effective on the very next request: the request path reads the cache. Every
	 * grant is tried, whatever one failure says: a revoked grant left live in the cache
	 * would work until it expires. */
	for (i = 0; committed && i < k.n; i++) {
		bg_err ce;
		int crc = svc_cache_grant(s, &k.live[i], &ce);

		if (crc != 0 && rc == 0) {
			rc = crc;
			if (e != NULL)
				*e = ce;
		}
	}
	free(k.live);
	if (rc != 0)
		return rc;
	{
		bg_err ve;
		int vrc = audit_verify(s->audit, &out->audit_records, &out->audit_bad_seq, &ve);

		out->audit_ok = vrc == 0;
		if (vrc == 0)
			out->audit_bad_seq = 0;
	}
	return 0;
}

/* --- reviews --------------------------------------------------------------------------- */

typedef struct requested {
	const char *incident, *user;
	bool found;
} requested;

static int find_requester(void *ctx, const store_request *r)
{
	requested *q = ctx;

	if (strcmp(r->incident, q->incident) == 0 && strcmp(r->requester, q->user) == 0) {
		q->found = true;
		return 1;
	}
	return 0;
}

/* Text of several lines: valid UTF-8, no control characters but newlines and tabs. */
static bool valid_learnings(const char *s)
{
	json_t *j = json_string(s); /* NULL unless valid UTF-8 */
	const unsigned char *p;

	if (j == NULL)
		return false;
	json_decref(j);
	for (p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r') || *p == 0x7f)
			return false;
	return true;
}

typedef struct signing {
	const svc *s;
	const char *incident, *who, *learnings;
	store_review *out;
} signing;

static int sign_review(store_tx *tx, void *arg, bg_err *e)
{
	signing *g = arg;
	int64_t now = bg_now();
	json_t *notice;
	int rc = store_review_sign(tx, g->incident, g->who, now, g->learnings, e);

	if (rc == 0)
		rc = store_review_get(g->s->st, tx, g->incident, g->out, e);
	if (rc != 0 || !svc_notify_wanted(g->s, POLICY_EV_REVIEW))
		return rc;
	notice = json_pack("{s:o,s:s,s:s,s:s}", "summary",
	                   json_sprintf("%s signed the review of incident %s", g->who, g->incident),
	                   "incident", g->incident, "signed_by", g->who, "state", "signed");
	rc = notice != NULL ? svc_notify_tx(g->s, tx, POLICY_EV_REVIEW, notice, e)
	                    : bg_err_set(e, BG_ENOMEM, "out of memory");
	json_decref(notice);
	return rc;
}

int svc_review_sign(const svc *s, svc_caller *c, const char *incident, const char *learnings,
                    store_review *out, bg_err *e)
{
	requested q = {incident, c->user.name, false};
	signing g = {s, incident, c->user.name, learnings, out};
	action a = {"review-sign", NULL, NULL, NULL, sign_review, &g, NULL};
	int rc;

	if (learnings == NULL || learnings[0] == '\0' || strlen(learnings) > BG_MAX_LEARNINGS ||
	    !valid_learnings(learnings))
		return bg_err_set(
		    e, BG_EINVAL,
		    "learnings are UTF-8 text, 1 to %d bytes: what happened, why, and "
		    "what changes",
		    BG_MAX_LEARNINGS);
	rc = store_review_get(s->st, NULL, incident, out, e);
	if (rc == 0 && out->signed_at != 0)
		return bg_err_set(e, BG_EEXISTS, "the review of %s was signed by %s already",
		                  incident, out->signed_by);
	if (rc == 0)
		rc = store_request_list(s->st, c->user.name, find_requester, &q, e);
	if (rc != 0)
		return rc;
	if (q.found)
		return bg_err_set(
		    e, BG_EDENIED,
		    "%s asked for access during incident %s: the review must be signed "
		    "by someone else",
		    c->user.name, incident);
	a.detail = json_pack("{s:s,s:I}", "incident", incident, "learnings_bytes",
	                     (json_int_t)strlen(learnings));
	if (a.detail == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	rc = svc_act(s, c, &a, e);
	json_decref(a.detail);
	return rc;
}

int svc_review_list(const svc *s, int (*fn)(void *ctx, const store_review *r), void *ctx, bg_err *e)
{
	return store_review_list(s->st, fn, ctx, e);
}

bool svc_review_overdue(const store_review *r, int64_t now)
{
	return r->signed_at == 0 && now >= r->deadline;
}

json_t *svc_review_json(const store_review *r, int64_t now)
{
	const char *state = r->signed_at != 0            ? "signed"
	                    : svc_review_overdue(r, now) ? "overdue"
	                                                 : "open";
	json_t *o = json_pack("{s:s,s:I,s:s,s:I,s:s}", "incident", r->incident, "opened_at",
	                      (json_int_t)r->opened_at, "opened_by", r->opened_by, "deadline",
	                      (json_int_t)r->deadline, "state", state);

	if (o != NULL && r->signed_at != 0 &&
	    (json_object_set_new(o, "signed_by", json_string(r->signed_by)) != 0 ||
	     json_object_set_new(o, "signed_at", json_integer(r->signed_at)) != 0 ||
	     json_object_set_new(o, "learnings", json_string(r->learnings)) != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* --- the overdue sweep ----------------------------------------------------------------- */

typedef struct overdue_list {
	int64_t now;
	char (*ids)[BG_MAX_INCIDENT_ID + 1];
	size_t n, cap;
} overdue_list;

static int collect_overdue(void *ctx, const store_review *r)
{
	overdue_list *l = ctx;

	if (!svc_review_overdue(r, l->now) || r->overdue_noticed)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char(*v)[BG_MAX_INCIDENT_ID + 1] = realloc(l->ids, cap * sizeof(*v));

		if (v == NULL)
			return BG_ENOMEM;
		l->ids = v;
		l->cap = cap;
	}
	snprintf(l->ids[l->n++], sizeof(l->ids[0]), "%s", r->incident);
	return 0;
}

typedef struct overdue_one {
	const svc *s;
	const char *incident;
	int64_t deadline;
} overdue_one;

static int notice_overdue(store_tx *tx, void *arg, bg_err *e)
{
	overdue_one *o = arg;
	json_t *notice;
	int rc = store_review_overdue_noticed(tx, o->incident, e);

	if (rc != 0)
		return rc == 1 ? SVC_UNCHANGED : rc;
	if (!svc_notify_wanted(o->s, POLICY_EV_REVIEW))
		return 0;
	notice = json_pack("{s:o,s:s,s:s,s:I}", "summary",
	                   json_sprintf("the review of incident %s is overdue: sign it with "
	                                "breakglass review %s --sign --learnings FILE --otp CODE",
	                                o->incident, o->incident),
	                   "incident", o->incident, "state", "overdue", "deadline",
	                   (json_int_t)o->deadline);
	rc = notice != NULL ? svc_notify_tx(o->s, tx, POLICY_EV_REVIEW, notice, e)
	                    : bg_err_set(e, BG_ENOMEM, "out of memory");
	json_decref(notice);
	return rc;
}

int svc_review_sweep(const svc *s, int64_t now, bg_err *e)
{
	overdue_list l = {now, NULL, 0, 0};
	int rc = store_review_list(s->st, collect_overdue, &l, e), done = 0;
	size_t i;

	if (rc == BG_ENOMEM)
		bg_err_set(e, rc, "out of memory");
	for (i = 0; rc == 0 && i < l.n; i++) {
		overdue_one o = {s, l.ids[i], 0};
		action a = {"review-overdue", NULL, NULL, NULL, notice_overdue, &o, NULL};

		a.detail = json_pack("{s:s}", "incident", l.ids[i]);
		rc = a.detail != NULL ? svc_record(s, "breakglass", NULL, &a, e)
		                      : bg_err_set(e, BG_ENOMEM, "out of memory");
		json_decref(a.detail);
		done += rc == 0;
	}
	free(l.ids);
	return rc != 0 ? rc : done;
}
