/*
 * request.c - break-glass requests and their approval (request.h).
 *
 * A request is checked and its criteria evaluated before the requester's TOTP code is
 * taken, so a typo or a failing criterion costs no code. The decision that counts
 * (pending → approved, denied, or solo) is made inside the transaction that records it,
 * on the request as that transaction reads it: a second approver, an expiry or a solo
 * racing it find the request decided and are refused.
 */
#include "workflow/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/encode.h"
#include "common/jsonutil.h"
#include "common/validate.h"
#include "workflow/grant.h"
#include "workflow/incident.h"
#include "workflow/notify.h"
#include "policy/policy.h"
#include "workflow/service_internal.h"
#include "workflow/user.h"

const svc_policy svc_policy_default = {1, 15 * 60, -1, false, 24 * 3600, -1, -1, NULL, NULL};

static bool pending(const store_request *r)
{
	return strcmp(r->state, "pending") == 0;
}

/* The state as of now: a pending request past its expiry is expired. */
static const char *state_now(const store_request *r, int64_t now)
{
	return pending(r) && now >= r->expires_at ? "expired" : r->state;
}

static void decide(store_request *r, const char *state, const char *by, int64_t now)
{
	snprintf(r->state, sizeof(r->state), "%s", state);
	snprintf(r->decided_by, sizeof(r->decided_by), "%s", by);
	r->decided_at = now;
}

/* "in 4m10s" / "at 09:24:00 UTC" helpers for messages. */
static void say_duration(int64_t secs, char *out, size_t n)
{
	if (secs >= 60)
		snprintf(out, n, "%lldm%02llds", (long long)(secs / 60), (long long)(secs % 60));
	else
		snprintf(out, n, "%llds", (long long)secs);
}

/* --- creating ----------------------------------------------------------------------- */

typedef struct creation {
	const svc *s;
	store_request *r;
	bool refused;
	json_t *notice; /* the request's notification; NULL: none wanted */
} creation;

static int add_request(store_tx *tx, void *arg, bg_err *e)
{
	creation *cr = arg;
	store_incident in;
	int rc = store_incident_get_tx(tx, cr->r->incident, &in, e);

	/* The incident as this transaction sees it: resolved since the criteria ran? */
	if (rc == 0 && !in.open && !cr->refused)
		rc = bg_err_set(e, BG_EINVAL, "incident %s was resolved meanwhile", in.id);
	if (rc == 0)
		rc = store_request_add(tx, cr->r, e);
	/* A refused request asks nobody for anything: the audit log has it. */
	return rc != 0 || cr->refused ? rc
	                              : svc_notify_tx(cr->s, tx, POLICY_EV_REQUEST, cr->notice, e);
}

/* The criteria's failing messages, joined for the refusal. */
static void failing(json_t *results, char *out, size_t n)
{
	json_t *v;
	size_t i, len = 0;

	out[0] = '\0';
	json_array_foreach(results, i, v)
	{
		const char *msg = json_string_value(json_object_get(v, "message"));
		if (json_is_true(json_object_get(v, "ok")) || msg == NULL)
			continue;
		len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s", len ? "; " : "",
		                        msg);
		if (len >= n)
			break;
	}
	bg_text_clean(out);
}

/* A new request; with of (an approved request whose grant it would extend), its incident
 * and pinned runbooks are of's. */
static int create(const svc *s, const svc_policy *p, svc_caller *c, const svc_request_input *in,
                  const store_request *of, store_request *out, bg_err *e)
{
	store_grant *pins = NULL;
	store_incident inc;
	svc_criteria_facts f;
	json_t *results = NULL, *detail = NULL;
	creation cr = {s, out, false, NULL};
	action a = {"request", NULL, NULL, NULL, add_request, &cr, NULL};
	char *text = NULL, why[BG_MAX_REASON + 1];
	uint8_t raw[6];
	bool ok = true;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (p == NULL)
		p = &svc_policy_default;
	if (in->incident == NULL || in->reason == NULL || in->n_runbooks == 0)
		return bg_err_set(e, BG_EINVAL,
		                  "a request names an incident, runbooks and a reason");
	if (!bg_valid_text(in->reason, BG_MAX_REASON) || in->reason[0] == '\0')
		return bg_err_set(e, BG_EINVAL, "a reason is 1 to %d bytes of text on one line",
		                  BG_MAX_REASON);
	if (in->ticket != NULL && !bg_valid_text(in->ticket, BG_MAX_TICKET))
		return bg_err_set(e, BG_EINVAL, "a ticket is at most %d bytes of text on one line",
		                  BG_MAX_TICKET);
	if (!bg_valid_grant_seconds(in->duration_seconds))
		return bg_err_set(e, BG_EINVAL, "a request lasts 1 second to %d hours",
		                  BG_MAX_GRANT_SECONDS / 3600);
	rc = store_incident_get(s->st, in->incident, &inc, e);
	if (rc == BG_ENOTFOUND)
		return bg_err_set(e, BG_EINVAL,
		                  "no incident %s (breakglass incident list shows the open ones)",
		                  in->incident);
	if (rc == 0 && !inc.open)
		return bg_err_set(e, BG_EINVAL, "incident %s is resolved", inc.id);
	if (rc != 0)
		return rc;
	/* The runbooks, pinned now: approvers approve exactly these queries (an extension:
	 * the ones its grant pinned). */
	pins = calloc(1, sizeof(*pins));
	if (pins == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	if (of == NULL) {
		rc = svc_pin_runbooks(s, in->runbooks, in->n_runbooks, pins, e);
		if (rc != 0)
			goto out;
		out->n_runbooks = pins->n_runbooks;
		memcpy(out->runbooks, pins->runbooks, sizeof(out->runbooks));
		memcpy(out->runbook_hashes, pins->runbook_hashes, sizeof(out->runbook_hashes));
	} else {
		out->n_runbooks = of->n_runbooks;
		memcpy(out->runbooks, of->runbooks, sizeof(out->runbooks));
		memcpy(out->runbook_hashes, of->runbook_hashes, sizeof(out->runbook_hashes));
		snprintf(out->extends, sizeof(out->extends), "%s", of->id);
	}

	f = (svc_criteria_facts){&c->user,
	                         c->role,
	                         &inc,
	                         in->reason,
	                         in->ticket ? in->ticket : "",
	                         in->duration_seconds,
	                         in->runbooks,
	                         in->n_runbooks,
	                         bg_now()};
	if (p->evaluate != NULL)
		rc = p->evaluate(p->ctx, &f, &results, &ok, e);
	else
		results = json_array();
	if (rc == 0 && results == NULL)
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	if (rc == 0) {
		text = json_dumps(results, JSON_COMPACT);
		if (text == NULL || strlen(text) >= sizeof(out->criteria))
			rc =
			    bg_err_set(e, BG_ELIMIT, "the criteria's results are too long to keep");
	}
	if (rc != 0)
		goto out;
	if (bg_random(raw, sizeof(raw)) != 0) {
		rc = bg_err_set(e, BG_EIO, "no randomness available");
		goto out;
	}
	memcpy(out->id, "bg-", 3);
	bg_base32(raw, sizeof(raw), true, out->id + 3, sizeof(out->id) - 3);
	out->id[13] = '\0';
	snprintf(out->requester, sizeof(out->requester), "%s", c->user.name);
	snprintf(out->incident, sizeof(out->incident), "%s", inc.id);
	snprintf(out->reason, sizeof(out->reason), "%s", in->reason);
	snprintf(out->ticket, sizeof(out->ticket), "%s", in->ticket ? in->ticket : "");
	out->duration_seconds = in->duration_seconds;
	snprintf(out->criteria, sizeof(out->criteria), "%s", text);
	out->created_at = f.now;
	out->expires_at = f.now + p->pending_seconds;
	snprintf(out->state, sizeof(out->state), "pending");
	if (!ok) {
		/* Kept, with each result, and answered with every failing one. */
		cr.refused = true;
		decide(out, "refused", c->user.name, f.now);
		out->expires_at = f.now;
		failing(results, why, sizeof(why));
		a.decision = "deny";
		a.reason = why;
	}
	detail = json_pack("{s:s,s:s,s:o,s:s,s:I,s:O}", "request", out->id, "incident", inc.id,
	                   "runbooks", json_array(), "reason", out->reason, "duration_seconds",
	                   (json_int_t)out->duration_seconds, "criteria", results);
	for (i = 0; detail != NULL && i < out->n_runbooks; i++)
		json_array_append_new(
		    json_object_get(detail, "runbooks"),
		    json_sprintf("%s@%s", out->runbooks[i], out->runbook_hashes[i]));
	if (detail == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto out;
	}
	a.grant_id = out->id;
	a.detail = detail;
	if (ok && svc_notify_wanted(s, POLICY_EV_REQUEST)) {
		char dur[32];
		say_duration(out->duration_seconds, dur, sizeof(dur));
		cr.notice = svc_notify_request(s, out, &inc, true);
		if (cr.notice == NULL ||
		    !bg_json_set(
		        cr.notice, "summary",
		        json_sprintf("%s asks for break-glass access for %s on incident %s "
		                     "(SEV%lld: %s): %s",
		                     out->requester, dur, inc.id, (long long)inc.severity,
		                     inc.title, out->reason))) {
			rc = bg_err_set(e, BG_ENOMEM, "out of memory");
			goto out;
		}
	}
	/* A refusal spends no TOTP code: it is recorded without one. */
	if (!ok) {
		rc = svc_record(s, c->user.name, c->request_id, &a, e);
		if (rc == 0)
			rc = bg_err_set(e, BG_EDENIED, "the trigger criteria are not met: %s", why);
	} else {
		rc = svc_act(s, c, &a, e);
	}
out:
	json_decref(cr.notice);
	free(text);
	json_decref(results);
	json_decref(detail);
	free(pins);
	return rc;
}

int svc_request_create(const svc *s, const svc_policy *p, svc_caller *c,
                       const svc_request_input *in, store_request *out, bg_err *e)
{
	return create(s, p, c, in, NULL, out, e);
}

int svc_request_extend(const svc *s, const svc_policy *p, svc_caller *c, const char *id,
                       int64_t duration_seconds, const char *reason, store_request *out, bg_err *e)
{
	store_request *of = calloc(1, sizeof(*of));
	store_grant *g = calloc(1, sizeof(*g));
	const char *ids[BG_MAX_GRANT_RUNBOOKS];
	svc_request_input in;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (of == NULL || g == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto out;
	}
	rc = store_grant_by_id(s->st, id, g, e);
	if (rc == 0 && strcmp(g->user, c->user.name) != 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such grant");
	if (rc == 0 && grant_status(g, bg_now()) != GRANT_ACTIVE)
		rc = bg_err_set(e, BG_EINVAL, "grant %s is %s: request again", g->id,
		                grant_state_name(grant_status(g, bg_now())));
	if (rc == 0) {
		rc = store_request_get(s->st, g->id, of, e);
		if (rc == BG_ENOTFOUND)
			rc = bg_err_set(e, BG_EINVAL,
			                "grant %s was not requested (an admin's direct grant): ask "
			                "for a new one",
			                g->id);
	}
	if (rc != 0)
		goto out;
	for (i = 0; i < of->n_runbooks; i++)
		ids[i] = of->runbooks[i];
	in = (svc_request_input){of->incident,   ids,
	                         of->n_runbooks, reason != NULL && reason[0] ? reason : of->reason,
	                         of->ticket,     duration_seconds};
	rc = create(s, p, c, &in, of, out, e);
out:
	free(of);
	free(g);
	return rc;
}

/* --- answering ---------------------------------------------------------------------- */

static int solo_too_early(const store_request *r, const svc_policy *p, int64_t now, bg_err *e)
{
	char wait[32];

	say_duration(r->created_at + p->solo_after - now, wait, sizeof(wait));
	return bg_err_set(e, BG_EDENIED,
	                  "solo break-glass is allowed once the request has waited %lld s for an "
	                  "answer: %s to go",
	                  (long long)p->solo_after, wait);
}

typedef struct answer {
	const svc *s;
	const svc_policy *p;
	const store_user *who;
	bool approve;
	bool solo;
	const char *reason;
	int64_t now;
	store_request *r;
	store_grant *g; /* minted when approved */
	bool granted;
	int64_t approvals;
	json_t *notice; /* solo: the notification, built before (it lists the approvers) */
	json_t *detail; /* the answer's audit record: the grant is named in it once minted */
} answer;

static int count_approvals(void *ctx, const store_approval *ap)
{
	answer *an = ctx;

	if (ap->approve)
		an->approvals++;
	return 0;
}

/* An approved extension: its grant runs for the requested duration from now (never
 * shorter than it already runs, never past a grant's longest life). */
static int extend(store_tx *tx, answer *an, bg_err *e)
{
	const store_request *r = an->r;
	int64_t until = an->now + r->duration_seconds;
	int rc = store_grant_get_tx(tx, r->extends, an->g, e);

	if (rc != 0)
		return rc;
	if (grant_status(an->g, an->now) != GRANT_ACTIVE)
		return bg_err_set(e, BG_EINVAL, "grant %s is %s: request again", an->g->id,
		                  grant_state_name(grant_status(an->g, an->now)));
	if (until - an->g->created_at > BG_MAX_GRANT_SECONDS)
		return bg_err_set(e, BG_EINVAL,
		                  "a grant lasts at most %d hours in all: request a new one",
		                  BG_MAX_GRANT_SECONDS / 3600);
	if (until > an->g->expires_at)
		rc = store_grant_extend(tx, an->g->id, until, an->g, e);
	an->granted = rc == 0;
	return rc;
}

/* The grant an approved request becomes: its runbooks, for its duration, from now. */
static int mint_new(store_tx *tx, answer *an, bg_err *e)
{
	const store_request *r = an->r;
	const char *ids[BG_MAX_GRANT_RUNBOOKS];
	size_t i;
	int rc;

	memset(an->g, 0, sizeof(*an->g));
	for (i = 0; i < r->n_runbooks; i++)
		ids[i] = r->runbooks[i];
	rc = svc_pin_runbooks(an->s, ids, r->n_runbooks, an->g, e);
	if (rc != 0)
		return rc;
	/* Approved as asked: a runbook edited since the request is not what was approved. */
	for (i = 0; i < r->n_runbooks; i++)
		if (strcmp(an->g->runbook_hashes[i], r->runbook_hashes[i]) != 0)
			return bg_err_set(e, BG_EINVAL,
			                  "runbook %s changed after the request was made: request "
			                  "again",
			                  r->runbooks[i]);
	snprintf(an->g->id, sizeof(an->g->id), "%s", r->id);
	snprintf(an->g->user, sizeof(an->g->user), "%s", r->requester);
	snprintf(an->g->created_by, sizeof(an->g->created_by), "%s", an->who->name);
	snprintf(an->g->kind, sizeof(an->g->kind), "%s", an->solo ? "solo" : "request");
	snprintf(an->g->reason, sizeof(an->g->reason), "%s", r->reason);
	an->g->expires_at = an->now + r->duration_seconds;
	rc = grant_mint(an->s->kr, an->g, an->now, e);
	if (rc == 0)
		rc = svc_add_grant(tx, an->g, e);
	an->granted = rc == 0;
	return rc;
}

/* The criteria evaluated again, now, for a decision nobody else takes (solo). */
static int criteria_still_hold(answer *an, const store_incident *inc, bg_err *e)
{
	const store_request *r = an->r;
	const char *ids[BG_MAX_GRANT_RUNBOOKS];
	svc_criteria_facts f;
	json_t *results = NULL;
	char why[BG_MAX_REASON + 1];
	bool ok = true;
	size_t i;
	int rc;

	if (!inc->open)
		return bg_err_set(e, BG_EDENIED,
		                  "incident %s was resolved: no solo break-glass for it", inc->id);
	if (an->p->evaluate == NULL)
		return 0;
	for (i = 0; i < r->n_runbooks; i++)
		ids[i] = r->runbooks[i];
	f = (svc_criteria_facts){
	    an->who,       0,      inc, r->reason, r->ticket, r->duration_seconds, ids,
	    r->n_runbooks, an->now};
	rc = an->p->evaluate(an->p->ctx, &f, &results, &ok, e);
	if (rc == 0 && !ok) {
		failing(results, why, sizeof(why));
		rc = bg_err_set(e, BG_EDENIED, "the trigger criteria no longer hold: %s", why);
	}
	json_decref(results);
	return rc;
}

/* What an approval makes: a new grant, or (an extension) a longer one. */
static int mint(store_tx *tx, answer *an, bg_err *e)
{
	char until[BG_RFC3339_SIZE];
	int rc = an->r->extends[0] != '\0' ? extend(tx, an, e) : mint_new(tx, an, e);

	/* The record (written after this change, in its transaction) says which answer made
	 * the grant and until when, so a review reads it from the audit trail alone; with
	 * several approvers, the earlier approvals carry no grant. */
	if (rc == 0 && an->detail != NULL) {
		bg_rfc3339(an->g->expires_at, until);
		if (!bg_json_set(an->detail, "grant", json_string(an->g->id)) ||
		    !bg_json_set(an->detail, "grant_expires_at", json_string(until)))
			rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		/* The grant's capacity budget as the policy sets it now (an extension's is the
		 * first grant's, already recorded). */
		if (rc == 0 && an->r->extends[0] == '\0' &&
		    (an->p->budget_read >= 0 || an->p->budget_write >= 0)) {
			json_t *b = json_object();
			if (b == NULL || !bg_json_set(an->detail, "grant_budget", b) ||
			    (an->p->budget_read >= 0 &&
			     !bg_json_set(b, "read", json_real(an->p->budget_read))) ||
			    (an->p->budget_write >= 0 &&
			     !bg_json_set(b, "write", json_real(an->p->budget_write))))
				rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		}
	}
	return rc;
}

/* The notification of an answer that decided the request (event: approval, denial or
 * solo), in tx. */
static int notify_answer(store_tx *tx, answer *an, unsigned event, bg_err *e)
{
	const store_request *r = an->r;
	store_incident inc;
	json_t *o = an->notice;
	char when[BG_RFC3339_SIZE];
	bool ok;
	int rc;

	if (!svc_notify_wanted(an->s, event))
		return 0;
	if (o == NULL) {
		rc = store_incident_get_tx(tx, r->incident, &inc, e);
		if (rc != 0)
			return rc;
		o = svc_notify_request(an->s, r, &inc, false);
	} else {
		json_incref(o);
	}
	if (o == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	if (an->granted)
		bg_rfc3339(an->g->expires_at, when);
	if (event == POLICY_EV_DENIAL)
		ok = bg_json_set(o, "summary",
		                 json_sprintf("%s denied request %s by %s: %s", an->who->name,
		                              r->id, r->requester, an->reason)) &&
		     bg_json_set(o, "denied_by", json_string(an->who->name)) &&
		     bg_json_set(o, "reason", json_string(an->reason));
	else if (event == POLICY_EV_SOLO)
		ok = bg_json_set(
		         o, "summary",
		         json_sprintf("SOLO BREAK-GLASS: %s granted themself request %s without "
		                      "approval after waiting; the incident's review is now "
		                      "mandatory",
		                      r->requester, r->id)) &&
		     bg_json_set(o, "grant", grant_to_json(an->g, an->now));
	else
		ok = bg_json_set(o, "summary",
		                 json_sprintf("%s approved request %s by %s: granted until %s",
		                              an->who->name, r->id, r->requester, when)) &&
		     bg_json_set(o, "approved_by", json_string(an->who->name)) &&
		     bg_json_set(o, "grant", grant_to_json(an->g, an->now));
	rc = ok ? svc_notify_tx(an->s, tx, event, o, e) : bg_err_set(e, BG_ENOMEM, "out of memory");
	json_decref(o);
	return rc;
}

static int apply_answer(store_tx *tx, void *arg, bg_err *e)
{
	answer *an = arg;
	store_request *r = an->r;
	store_approval ap;
	store_incident inc;
	char when[BG_RFC3339_SIZE];
	int rc = store_request_get_tx(tx, r->id, r, e);

	if (rc != 0)
		return rc;
	if (!pending(r) && strcmp(r->state, "expired") != 0)
		return bg_err_set(e, BG_EINVAL, "request %s is %s already", r->id, r->state);
	/* Expired: by the clock, or already marked so by the expiry sweep. */
	if (!pending(r) || an->now >= r->expires_at) {
		bg_rfc3339(r->expires_at, when);
		return bg_err_set(e, BG_EEXPIRED,
		                  "request %s expired at %s unanswered: request again", r->id,
		                  when);
	}
	if (an->solo) {
		if (an->p->solo_after < 0)
			return bg_err_set(e, BG_EDENIED,
			                  "the policy does not allow solo break-glass: "
			                  "an approver must answer");
		rc = store_approval_list(an->s->st, tx, r->id, count_approvals, an, e);
		if (rc != 0)
			return rc;
		if (an->approvals > 0)
			return bg_err_set(
			    e, BG_EDENIED,
			    "an approver has answered this request: solo break-glass is "
			    "for requests nobody answers; wait for the other approvals");
		if (r->created_at + an->p->solo_after > an->now)
			return solo_too_early(r, an->p, an->now, e);
		if (r->extends[0] != '\0')
			return bg_err_set(
			    e, BG_EDENIED,
			    "more time always needs an approver: solo break-glass is for "
			    "a first request nobody answers");
		/* Nobody looks at a solo grant before it is made: the criteria must still hold
		 * now, not only when the request was made. */
		rc = store_incident_get_tx(tx, r->incident, &inc, e);
		if (rc == 0)
			rc = criteria_still_hold(an, &inc, e);
		if (rc != 0)
			return rc;
		decide(r, "approved", an->who->name, an->now);
		r->solo = true;
		rc = store_request_update(tx, r, e);
		if (rc == 0 && !inc.review_required) {
			inc.review_required = true;
			inc.updated_at = an->now;
			rc = store_incident_update(tx, &inc, e);
		}
		if (rc == 0)
			rc = mint(tx, an, e);
		return rc != 0 ? rc : notify_answer(tx, an, POLICY_EV_SOLO, e);
	}
	memset(&ap, 0, sizeof(ap));
	snprintf(ap.request, sizeof(ap.request), "%s", r->id);
	snprintf(ap.approver, sizeof(ap.approver), "%s", an->who->name);
	ap.approve = an->approve;
	snprintf(ap.reason, sizeof(ap.reason), "%s", an->reason ? an->reason : "");
	ap.at = an->now;
	rc = store_approval_add(tx, &ap, e);
	if (rc != 0)
		return rc;
	if (!an->approve) {
		decide(r, "denied", an->who->name, an->now);
		rc = store_request_update(tx, r, e);
		return rc != 0 ? rc : notify_answer(tx, an, POLICY_EV_DENIAL, e);
	}
	rc = store_approval_list(an->s->st, tx, r->id, count_approvals, an, e);
	if (rc != 0 || an->approvals < an->p->approvers)
		return rc; /* recorded; more approvals needed */
	rc = store_incident_get_tx(tx, r->incident, &inc, e);
	if (rc == 0 && !inc.open)
		rc = bg_err_set(e, BG_EINVAL,
		                "incident %s was resolved since the request: nothing to approve it "
		                "for (deny it)",
		                inc.id);
	if (rc != 0)
		return rc;
	decide(r, "approved", an->who->name, an->now);
	rc = store_request_update(tx, r, e);
	if (rc == 0)
		rc = mint(tx, an, e);
	return rc != 0 ? rc : notify_answer(tx, an, POLICY_EV_APPROVAL, e);
}

static int answer_request(const svc *s, const svc_policy *p, svc_caller *c, const char *id,
                          answer *an, const char *kind, bg_err *e)
{
	action a = {kind, NULL, an->reason, NULL, apply_answer, an, NULL};
	store_user who;
	int rc;

	rc = store_request_get(s->st, id, an->r, e);
	if (rc == 0)
		rc = store_user_by_name(s->st, an->r->requester, &who, e);
	if (rc == 0 && who.disabled && (an->approve || an->solo))
		rc = bg_err_set(e, BG_EDENIED, "%s is disabled: their request cannot be granted",
		                who.name);
	if (rc != 0)
		return rc;
	a.grant_id = an->r->id;
	a.detail = json_pack("{s:s,s:s}", "request", an->r->id, "incident", an->r->incident);
	if (a.detail == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	an->detail = a.detail;
	rc = svc_act(s, c, &a, e);
	an->detail = NULL;
	json_decref(a.detail);
	if (rc == 0 && an->granted)
		rc = svc_cache_grant(s, an->g, e);
	(void)p;
	return rc;
}

int svc_request_answer(const svc *s, const svc_policy *p, svc_caller *c, const char *id,
                       bool approve, const char *reason, store_request *out, bool *granted,
                       store_grant *g, bg_err *e)
{
	answer an;
	int rc;

	*granted = false;
	if (p == NULL)
		p = &svc_policy_default;
	if (reason != NULL && !bg_valid_text(reason, BG_MAX_REASON))
		return bg_err_set(e, BG_EINVAL, "a reason is at most %d bytes of text on one line",
		                  BG_MAX_REASON);
	if (!approve && (reason == NULL || reason[0] == '\0'))
		return bg_err_set(e, BG_EINVAL, "a denial needs a reason (--reason TEXT)");
	rc = store_request_get(s->st, id, out, e);
	if (rc != 0)
		return rc;
	if (strcmp(out->requester, c->user.name) == 0)
		return bg_err_set(e, BG_EDENIED,
		                  "you cannot answer your own request: another approver must");
	an = (answer){s,   p, &c->user, approve, false, reason, bg_now(),
	              out, g, false,    0,       NULL,  NULL};
	rc = answer_request(s, p, c, id, &an, approve ? "request-approve" : "request-deny", e);
	*granted = an.granted;
	return rc;
}

int svc_request_solo(const svc *s, const svc_policy *p, svc_caller *c, const char *id,
                     store_request *out, store_grant *g, bg_err *e)
{
	answer an;
	int rc;

	if (p == NULL)
		p = &svc_policy_default;
	rc = store_request_get(s->st, id, out, e);
	if (rc != 0)
		return rc;
	if (strcmp(out->requester, c->user.name) != 0)
		return bg_err_set(e, BG_ENOTFOUND, "no such request");
	if (p->solo_after < 0)
		return bg_err_set(
		    e, BG_EDENIED,
		    "the policy does not allow solo break-glass: an approver must answer");
	/* Too early is refused before the TOTP code is taken (and again, to the second,
	 * inside the transaction). */
	if (pending(out) && out->created_at + p->solo_after > bg_now())
		return solo_too_early(out, p, bg_now(), e);
	an = (answer){s, p,     &c->user, true, true, "solo break-glass", bg_now(), out,
	              g, false, 0,        NULL, NULL};
	/* Every approver is told: built now, since it reads the store's users. */
	if (svc_notify_wanted(s, POLICY_EV_SOLO)) {
		store_incident inc;
		rc = store_incident_get(s->st, out->incident, &inc, e);
		if (rc != 0)
			return rc;
		an.notice = svc_notify_request(s, out, &inc, true);
		if (an.notice == NULL)
			return bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	rc = answer_request(s, p, c, id, &an, "request-solo", e);
	json_decref(an.notice);
	return rc;
}

/* --- reading ------------------------------------------------------------------------ */

static bool sees_all(const svc_caller *c)
{
	return (c->role & (USER_ROLE_ADMIN | USER_ROLE_APPROVER | USER_ROLE_AUDITOR)) != 0;
}

int svc_request_get(const svc *s, const svc_caller *c, const char *id, store_request *out,
                    bg_err *e)
{
	int rc = store_request_get(s->st, id, out, e);

	if (rc == 0 && !sees_all(c) && strcmp(out->requester, c->user.name) != 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such request");
	return rc;
}

int svc_request_list(const svc *s, const svc_caller *c,
                     int (*fn)(void *ctx, const store_request *r), void *ctx, bg_err *e)
{
	return store_request_list(s->st, sees_all(c) ? NULL : c->user.name, fn, ctx, e);
}

static int approval_json(void *ctx, const store_approval *ap)
{
	json_t *o = json_object();

	if (o == NULL || json_array_append_new(ctx, o) != 0 ||
	    !bg_json_set(o, "approver", json_string(ap->approver)) ||
	    !bg_json_set(o, "decision", json_string(ap->approve ? "approve" : "deny")) ||
	    !bg_json_set(o, "reason", ap->reason[0] ? json_string(ap->reason) : json_null()) ||
	    !bg_json_set_time(o, "at", ap->at, false))
		return BG_ENOMEM;
	return 0;
}

typedef struct approvers {
	const char *requester;
	json_t *names;
} approvers;

static int approver_name(void *ctx, const store_user *u)
{
	approvers *ap = ctx;

	if (!u->disabled && strcmp(u->name, ap->requester) != 0 &&
	    (user_role_parse(u->role) & USER_ROLE_APPROVER) != 0 &&
	    json_array_append_new(ap->names, json_string(u->name)) != 0)
		return BG_ENOMEM;
	return 0;
}

int svc_approvers(const svc *s, const char *requester, json_t *names, bg_err *e)
{
	approvers ap = {requester, names};

	return store_user_list(s->st, approver_name, &ap, e);
}

int svc_request_json(const svc *s, const svc_policy *p, const store_request *r, json_t **out,
                     bg_err *e)
{
	json_t *o = json_object(), *answers = json_array(), *crit, *pins = json_array();
	approvers ap = {r->requester, json_array()};
	int64_t now = bg_now();
	size_t i;
	int rc = BG_ENOMEM;

	*out = NULL;
	if (p == NULL)
		p = &svc_policy_default;
	crit = json_loads(r->criteria, 0, NULL);
	for (i = 0; pins != NULL && i < r->n_runbooks; i++)
		if (json_array_append_new(pins, json_pack("{s:s,s:s}", "id", r->runbooks[i], "hash",
		                                          r->runbook_hashes[i])) != 0)
			goto fail;
	if (o == NULL || answers == NULL || ap.names == NULL || pins == NULL ||
	    !bg_json_set(o, "id", json_string(r->id)) ||
	    !bg_json_set(o, "requester", json_string(r->requester)) ||
	    !bg_json_set(o, "incident", json_string(r->incident)) ||
	    !bg_json_set(o, "runbooks", json_incref(pins)) ||
	    !bg_json_set(o, "reason", json_string(r->reason)) ||
	    !bg_json_set(o, "ticket", r->ticket[0] ? json_string(r->ticket) : json_null()) ||
	    !bg_json_set(o, "duration_seconds", json_integer(r->duration_seconds)) ||
	    !bg_json_set(o, "state", json_string(state_now(r, now))) ||
	    !bg_json_set(o, "solo", json_boolean(r->solo)) ||
	    !bg_json_set_time(o, "created_at", r->created_at, false) ||
	    !bg_json_set_time(o, "expires_at", r->expires_at, false) ||
	    !bg_json_set_time(o, "decided_at", r->decided_at, true) ||
	    !bg_json_set(o, "decided_by",
	                 r->decided_by[0] ? json_string(r->decided_by) : json_null()) ||
	    !bg_json_set(o, "criteria", crit != NULL ? json_incref(crit) : json_array()) ||
	    !bg_json_set(o, "approvals_needed", json_integer(p->approvers)) ||
	    !bg_json_set(o, "answers", json_incref(answers)) ||
	    !bg_json_set(o, "approvers", json_incref(ap.names)))
		goto fail;
	if (p->solo_after >= 0 &&
	    !bg_json_set_time(o, "solo_from", r->created_at + p->solo_after, false))
		goto fail;
	rc = store_approval_list(s->st, NULL, r->id, approval_json, answers, e);
	if (rc == 0)
		rc = svc_approvers(s, r->requester, ap.names, e);
	if (rc != 0)
		goto fail;
	*out = o;
	o = NULL;
fail:
	if (rc == BG_ENOMEM)
		bg_err_set(e, BG_ENOMEM, "out of memory");
	json_decref(o);
	json_decref(answers);
	json_decref(pins);
	json_decref(crit);
	json_decref(ap.names);
	return rc;
}
