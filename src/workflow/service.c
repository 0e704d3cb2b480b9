/*
 * service.c - the service layer's actions (see service.h for the order each one keeps):
 * each validates, authorises, then svc_act() takes the step-up and commits the state change
 * together with its audit record.
 */
#include "workflow/service.h"

#include "workflow/service_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/limits.h"
#include "common/validate.h"
#include "policy/policy.h"
#include "workflow/notify.h"

static int not_recorded(bg_err *e)
{
	return bg_err_set(e, BG_EAUDIT,
	                  "the audit log could not record this action, so it was not done");
}

/* The caller's step-up, when the action needs one and it is not yet verified: recorded
 * in a transaction of its own (user_check_otp), so a verified code stays spent. */
static int step_up(const svc *s, svc_caller *c, bg_err *e)
{
	int rc;

	audit_record r;
	bg_err ae;

	if (!c->needs_step_up || c->stepped_up)
		return 0;
	rc = user_check_otp(s->st, s->kr, &c->user, c->otp, e);
	if (rc == 0) {
		c->stepped_up = true;
		return 0;
	}
	/* A wrong, reused or locked-out code is on the record: guessing leaves a trail. */
	if (rc == BG_EAUTH || rc == BG_EOTP) {
		memset(&r, 0, sizeof(r));
		r.kind = "otp";
		r.op = "otp";
		r.actor = c->user.name;
		r.request_id = c->request_id;
		r.decision = "deny";
		r.reason = e != NULL ? e->msg : "TOTP step-up refused";
		if (audit_append(s->audit, &r, NULL, &ae) != 0)
			fprintf(stderr,
			        "breakglass: the refused TOTP code of %s was not recorded: %s\n",
			        c->user.name, ae.msg);
	}
	return rc;
}

int svc_step_up(const svc *s, svc_caller *c, bg_err *e)
{
	return step_up(s, c, e);
}

int svc_record(const svc *s, const char *actor, const char *request_id, const action *a, bg_err *e)
{
	audit_record r;
	store_tx *tx;
	bg_err ae;
	int rc;

	memset(&r, 0, sizeof(r));
	r.kind = a->kind;
	r.actor = actor;
	r.grant_id = a->grant_id;
	r.request_id = request_id;
	r.op = a->kind;
	r.decision = a->decision != NULL ? a->decision : "allow";
	r.reason = a->reason;
	r.detail = a->detail;
	if (a->change == NULL)
		return audit_append(s->audit, &r, NULL, &ae) == 0 ? 0 : not_recorded(e);
	/* The change's record commits with it, past the required sinks' gate: while one of
	 * them is down, no change is made (fail closed, as for DynamoDB requests). */
	if (audit_ready(s->audit, &ae) != 0) {
		fprintf(stderr, "breakglass: %s refused: %s\n", a->kind, ae.msg);
		return not_recorded(e);
	}
	if (store_begin(s->st, &tx, &ae) != 0)
		return not_recorded(e);
	rc = a->change(tx, a->arg, e);
	if (rc == SVC_UNCHANGED) {
		store_rollback(tx);
		return 0;
	}
	if (rc != 0) {
		store_rollback(tx);
		/* Nothing changed, but the attempt is on the record (as a refusal), in a
		 * transaction of its own. */
		r.decision = "deny";
		r.reason = e != NULL ? e->msg : "the change failed";
		if (audit_append(s->audit, &r, NULL, &ae) != 0)
			fprintf(stderr,
			        "breakglass: the record of a failed %s was not written: %s\n",
			        a->kind, ae.msg);
		return rc;
	}
	if (audit_append_tx(s->audit, tx, &r, NULL, &ae) != 0) {
		store_rollback(tx);
		return not_recorded(e);
	}
	if (store_commit(tx, &ae) != 0)
		return not_recorded(e);
	/* The change may have queued notifications: their sender need not wait for its
	 * next look. */
	if (s->notify != NULL && s->notify->wake != NULL)
		s->notify->wake(s->notify->ctx);
	return 0;
}

int svc_act(const svc *s, svc_caller *c, const action *a, bg_err *e)
{
	int rc = step_up(s, c, e);

	return rc != 0 ? rc : svc_record(s, c->user.name, c->request_id, a, e);
}

int svc_authenticate(const svc *s, const char *token, size_t n, svc_caller *out, bg_err *e)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = user_authenticate(s->st, token, n, &out->user, e);
	if (rc != 0)
		return rc;
	out->role = user_role_parse(out->user.role);
	if (out->role == USER_ROLE_NONE)
		return bg_err_set(e, BG_EAUTH, "user %s has no known role", out->user.name);
	return 0;
}

bool svc_has_role(const svc_caller *c, unsigned roles)
{
	return ((unsigned)c->role & roles) != 0;
}

struct new_user {
	const keyring *kr;
	const char *name;
	unsigned role;
	user_secrets *out;
};

static int create_user(store_tx *tx, void *arg, bg_err *e)
{
	struct new_user *u = arg;

	return user_create(tx, u->kr, u->name, u->role, u->out, e);
}

/* Creates one user, recorded as kind with detail (a new reference, consumed). */
static int add_user(const svc *s, svc_caller *c, const char *kind, const char *name, unsigned role,
                    json_t *detail, user_secrets *out, bg_err *e)
{
	struct new_user u = {s->kr, name, role, out};
	action a = {kind, NULL, NULL, detail, create_user, &u, NULL};
	int rc;

	if (detail == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	rc = svc_act(s, c, &a, e);
	json_decref(detail);
	if (rc != 0)
		user_secrets_free(out); /* no such user: nothing to hand out */
	return rc;
}

int svc_user_add(const svc *s, svc_caller *c, const char *name, const char *role_name,
                 user_secrets *out, bg_err *e)
{
	unsigned role = user_role_parse(role_name);
	char role_text[USER_ROLES_TEXT_MAX];
	store_user existing;
	int rc;

	memset(out, 0, sizeof(*out));
	if (name == NULL || role_name == NULL)
		return bg_err_set(e, BG_EINVAL, "name and role are required");
	if (role == USER_ROLE_NONE)
		return bg_err_set(e, BG_EINVAL,
		                  "role must be admin, responder, approver or auditor, or several "
		                  "joined by commas (admin,approver)");
	if (!bg_valid_user_name(name))
		return bg_err_set(
		    e, BG_EINVAL,
		    "user name \"%.64s\" is not valid: a user name is " BG_USER_NAME_RULE, name);
	/* Before the caller's TOTP code is spent on an action bound to fail. (The store
	 * still refuses a duplicate made in between.) */
	rc = store_user_by_name(s->st, name, &existing, e);
	if (rc == 0)
		return bg_err_set(e, BG_EEXISTS, "user %s already exists", name);
	if (rc != BG_ENOTFOUND)
		return rc;
	return add_user(
	    s, c, "user", name, role,
	    json_pack("{s:s,s:s}", "name", name, "role", user_role_text(role, role_text)), out, e);
}

int svc_init_admin(const svc *s, const char *name, user_secrets *out, bg_err *e)
{
	svc_caller c;

	memset(out, 0, sizeof(*out));
	if (!bg_valid_user_name(name))
		return bg_err_set(
		    e, BG_EINVAL,
		    "user name \"%.64s\" is not valid: a user name is " BG_USER_NAME_RULE, name);
	/* The record's actor is the admin being made: nobody else exists yet. */
	memset(&c, 0, sizeof(c));
	snprintf(c.user.name, sizeof(c.user.name), "%s", name);
	c.role = USER_ROLE_ADMIN;
	return add_user(
	    s, &c, "init", name, USER_ROLE_ADMIN,
	    json_pack("{s:s,s:s}", "admin", name, "role", user_role_name(USER_ROLE_ADMIN)), out, e);
}

/* Copies a list of n names (entries may be NULL) into the rows of a char[max][width]
 * array. Only the list's shape is checked here; the names are grant_mint()'s to judge. */
static int copy_names(const char *const *src, size_t n, size_t max, char *dst, size_t width,
                      size_t *out_n, const char *what, bg_err *e)
{
	size_t i, len;

	if (n == 0 || n > max)
		return bg_err_set(e, BG_EINVAL, "%s must be a list of 1 to %zu names", what, max);
	for (i = 0; i < n; i++) {
		len = src[i] != NULL ? strlen(src[i]) : 0;
		if (len == 0 || len >= width)
			return bg_err_set(e, BG_EINVAL, "invalid name in %s", what);
		memcpy(dst + i * width, src[i], len + 1);
	}
	*out_n = n;
	return 0;
}

/* The gateway's request path reads grants from memory: a change is applied there as
 * soon as it has committed. (Out of memory drops the cached grant, which refuses it.) */
int svc_cache_grant(const svc *s, const store_grant *g, bg_err *e)
{
	if (s->grants != NULL && grant_cache_put(s->grants, g) != 0)
		return bg_err_set(e, BG_ENOMEM, "out of memory updating the live grants");
	return 0;
}

int svc_add_grant(store_tx *tx, void *g, bg_err *e)
{
	return store_grant_add(tx, g, e);
}

/* What s->tables says about each of g's tables, as warnings (a new array; NULL only when
 * out of memory). */
static json_t *table_warnings(const svc *s, const store_grant *g)
{
	json_t *w = json_array();
	char why[BG_MAX_WARNING / 2], msg[BG_MAX_WARNING];
	svc_table_state st;
	const char *t;
	size_t i, j;

	for (i = 0; w != NULL && s->tables != NULL && i < g->n_tables; i++) {
		t = g->tables[i];
		why[0] = '\0';
		st = s->tables->check(s->tables->ctx, t, why, sizeof(why));
		/* What the upstream said is kept printable ASCII: a JSON string, shown on a
		 * terminal. */
		for (j = 0; why[j] != '\0'; j++)
			if ((unsigned char)why[j] < 0x20 || (unsigned char)why[j] > 0x7e)
				why[j] = '?';
		switch (st) {
		case SVC_TABLE_EXISTS:
			continue;
		case SVC_TABLE_MISSING:
			snprintf(msg, sizeof(msg),
			         "table %s does not exist at the upstream (%s); check the name", t,
			         why);
			break;
		case SVC_TABLE_UNKNOWN:
			snprintf(msg, sizeof(msg),
			         "could not check that table %s exists at the upstream (%s)", t,
			         why);
			break;
		case SVC_TABLE_UNREACHED:
		default:
			snprintf(
			    msg, sizeof(msg),
			    "could not check that table %s exists: the upstream did not answer "
			    "(%s)%s",
			    t, why,
			    i + 1 < g->n_tables ? "; the other tables were not checked" : "");
			i = g->n_tables; /* they would wait in vain too */
			break;
		}
		if (json_array_append_new(w, json_string(msg)) != 0) {
			json_decref(w);
			return NULL;
		}
	}
	return w;
}

/* Adds name to the char[max][width] rows unless it is there already. */
static int add_unique(char *rows, size_t *n, size_t max, size_t width, const char *name,
                      const char *what, bg_err *e)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (strcmp(rows + i * width, name) == 0)
			return 0;
	}
	if (*n == max || strlen(name) >= width)
		return bg_err_set(e, BG_EINVAL, "the runbooks name more than %zu %s", max, what);
	memcpy(rows + (*n)++ * width, name, strlen(name) + 1);
	return 0;
}

int svc_pin_runbooks(const svc *s, const char *const *ids, size_t n, store_grant *g, bg_err *e)
{
	char table[BG_MAX_TABLE_NAME + 1], op[STORE_OP_MAX], hash[65];
	size_t i, k;
	int rc;

	if (s->runbooks == NULL)
		return bg_err_set(e, BG_EINVAL,
		                  "this gateway has no runbooks (serve --runbooks DIR)");
	if (n > BG_MAX_GRANT_RUNBOOKS)
		return bg_err_set(e, BG_EINVAL, "at most %d runbooks per grant",
		                  BG_MAX_GRANT_RUNBOOKS);
	for (i = 0; i < n; i++) {
		const char *id = ids[i];
		if (id == NULL || !bg_valid_id(id, BG_MAX_RUNBOOK_ID))
			return bg_err_set(e, BG_EINVAL, "runbooks must be a list of runbook ids");
		for (k = 0; k < g->n_runbooks && strcmp(g->runbooks[k], id) != 0; k++)
			;
		if (k < g->n_runbooks)
			continue;
		rc = s->runbooks->pin(s->runbooks->ctx, id, table, op, hash);
		if (rc == BG_ENOTFOUND)
			return bg_err_set(
			    e, BG_EINVAL,
			    "no runbook %s in the gateway's runbook folder (breakglass "
			    "runbook list shows them)",
			    id);
		if (rc != 0)
			return bg_err_set(e, rc, "runbook %s cannot be read", id);
		memcpy(g->runbooks[g->n_runbooks], id, strlen(id) + 1);
		memcpy(g->runbook_hashes[g->n_runbooks++], hash, 65);
		rc = add_unique(g->tables[0], &g->n_tables, BG_MAX_GRANT_TABLES,
		                sizeof(g->tables[0]), table, "tables", e);
		if (rc == 0)
			rc = add_unique(g->ops[0], &g->n_ops, BG_MAX_GRANT_OPS, sizeof(g->ops[0]),
			                op, "operations", e);
		if (rc != 0)
			return rc;
	}
	return 0;
}

struct direct_grant {
	const svc *s;
	store_grant *g;
	json_t *notice; /* NULL: none wanted */
};

static int add_direct_grant(store_tx *tx, void *arg, bg_err *e)
{
	struct direct_grant *dg = arg;
	int rc = store_grant_add(tx, dg->g, e);

	return rc != 0 ? rc : svc_notify_tx(dg->s, tx, POLICY_EV_GRANT, dg->notice, e);
}

int svc_grant_create(const svc *s, svc_caller *c, const svc_grant_input *in, store_grant *g,
                     json_t **warnings, bg_err *e)
{
	struct direct_grant dg;
	store_user target;
	json_t *detail, *warn;
	action a;
	int64_t now = bg_now();
	int rc;

	if (warnings != NULL)
		*warnings = NULL;
	memset(g, 0, sizeof(*g));
	if (in->user == NULL)
		return bg_err_set(e, BG_EINVAL,
		                  "user, tables, ops and duration_seconds are required");
	if (s->direct_grants_denied)
		return bg_err_set(e, BG_EDENIED,
		                  "the policy does not allow direct grants (direct_grants: deny): "
		                  "the user asks with breakglass request");
	if (in->reason == NULL || in->reason[0] == '\0' ||
	    !bg_valid_text(in->reason, BG_MAX_REASON))
		return bg_err_set(e, BG_EINVAL,
		                  "a direct grant needs a reason: one line of at most %d bytes",
		                  BG_MAX_REASON);
	if (strcmp(in->user, c->user.name) == 0)
		return bg_err_set(
		    e, BG_EDENIED,
		    "an admin cannot grant themself: another admin must make the grant, "
		    "or ask with breakglass request");
	rc = store_user_by_name(s->st, in->user, &target, e);
	if (rc == 0 && target.disabled)
		rc = bg_err_set(e, BG_EINVAL, "user %s is disabled", target.name);
	if (rc == 0 && user_role_parse(target.role) == USER_ROLE_AUDITOR)
		rc = bg_err_set(
		    e, BG_EINVAL,
		    "user %s is an auditor: auditors read the audit log and nothing else",
		    target.name);
	if (rc == 0 && in->n_runbooks > 0 && (in->n_tables > 0 || in->n_ops > 0))
		rc = bg_err_set(e, BG_EINVAL,
		                "a grant names runbooks, or tables and operations, not both");
	if (rc == 0 && in->n_runbooks > 0)
		rc = svc_pin_runbooks(s, in->runbooks, in->n_runbooks, g, e);
	if (rc == 0 && in->n_runbooks == 0)
		rc = copy_names(in->tables, in->n_tables, BG_MAX_GRANT_TABLES, g->tables[0],
		                sizeof(g->tables[0]), &g->n_tables, "tables", e);
	if (rc == 0 && in->n_runbooks == 0)
		rc = copy_names(in->ops, in->n_ops, BG_MAX_GRANT_OPS, g->ops[0], sizeof(g->ops[0]),
		                &g->n_ops, "ops", e);
	if (rc != 0)
		return rc;
	if (in->reason != NULL && strlen(in->reason) > BG_MAX_REASON)
		return bg_err_set(e, BG_EINVAL, "reason is too long");
	if (!bg_valid_grant_seconds(in->duration_seconds))
		return bg_err_set(e, BG_EINVAL, "duration_seconds must be 1 to %d",
		                  BG_MAX_GRANT_SECONDS);
	snprintf(g->user, sizeof(g->user), "%s", target.name);
	snprintf(g->created_by, sizeof(g->created_by), "%s", c->user.name);
	snprintf(g->kind, sizeof(g->kind), "%s", g->n_runbooks > 0 ? "runbook" : "direct");
	snprintf(g->reason, sizeof(g->reason), "%s", in->reason != NULL ? in->reason : "");
	g->expires_at = now + in->duration_seconds;
	rc = grant_mint(s->kr, g, now, e);
	if (rc != 0)
		return rc;
	/* The step-up before the table checks: they may take seconds, which must not age
	 * the code, and only a verified caller makes the gateway ask upstream. */
	rc = step_up(s, c, e);
	if (rc != 0)
		return rc;
	warn = table_warnings(s, g);
	detail = grant_to_json(g, now);
	if (detail == NULL || warn == NULL ||
	    (json_array_size(warn) > 0 && json_object_set(detail, "warnings", warn) != 0)) {
		json_decref(detail);
		json_decref(warn);
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	dg = (struct direct_grant){s, g, NULL};
	if (svc_notify_wanted(s, POLICY_EV_GRANT)) {
		dg.notice =
		    json_pack("{s:o,s:O,s:s}", "summary",
		              json_sprintf("%s granted %s access directly, without a request: %s",
		                           c->user.name, g->user, g->reason),
		              "grant", detail, "created_by", c->user.name);
		if (dg.notice == NULL) {
			json_decref(detail);
			json_decref(warn);
			return bg_err_set(e, BG_ENOMEM, "out of memory");
		}
	}
	a = (action){"grant", g->id, g->reason, detail, add_direct_grant, &dg, NULL};
	rc = svc_act(s, c, &a, e);
	json_decref(dg.notice);
	json_decref(detail);
	if (rc == 0)
		rc = svc_cache_grant(s, g, e);
	if (rc == 0 && warnings != NULL)
		*warnings = json_incref(warn);
	json_decref(warn);
	return rc;
}

int svc_grant_get(const svc *s, const svc_caller *c, const char *id, store_grant *out, bg_err *e)
{
	int rc = store_grant_by_id(s->st, id, out, e);

	if (rc != 0)
		return rc;
	/* Others' grants are invisible: answer as if they did not exist. */
	if (!svc_has_role(c, USER_ROLE_ADMIN) && strcmp(out->user, c->user.name) != 0)
		return bg_err_set(e, BG_ENOTFOUND, "no such grant");
	return 0;
}

int svc_grant_list(const svc *s, const svc_caller *c, int (*fn)(void *ctx, const store_grant *g),
                   void *ctx, bg_err *e)
{
	return store_grant_list(s->st, svc_has_role(c, USER_ROLE_ADMIN) ? NULL : c->user.name, fn,
	                        ctx, e);
}

struct revocation {
	char id[STORE_ID_MAX];
	const char *who;
	store_grant *out;
	const svc *s;
	bool was_revoked; /* before this action: then it is no news */
};

static int revoke_grant(store_tx *tx, void *arg, bg_err *e)
{
	struct revocation *r = arg;
	int64_t now = bg_now();
	json_t *notice;
	int rc = store_grant_revoke(tx, r->id, r->who, now, r->out, e);

	/* Revoked by someone else first: theirs is the news. */
	if (rc != 0 || r->was_revoked || strcmp(r->out->revoked_by, r->who) != 0 ||
	    r->out->revoked_at != now || !svc_notify_wanted(r->s, POLICY_EV_REVOCATION))
		return rc;
	notice =
	    json_pack("{s:o,s:o,s:s}", "summary",
	              json_sprintf("%s revoked grant %s of %s: its credentials stop working now",
	                           r->who, r->id, r->out->user),
	              "grant", grant_to_json(r->out, now), "revoked_by", r->who);
	rc = notice != NULL ? svc_notify_tx(r->s, tx, POLICY_EV_REVOCATION, notice, e)
	                    : bg_err_set(e, BG_ENOMEM, "out of memory");
	json_decref(notice);
	return rc;
}

int svc_grant_revoke(const svc *s, svc_caller *c, const char *id, store_grant *out, bg_err *e)
{
	struct revocation r = {"", c->user.name, out, s, false};
	action a = {"revoke", r.id, NULL, NULL, revoke_grant, &r, NULL};
	int rc = svc_grant_get(s, c, id, out, e);

	if (rc != 0)
		return rc;
	memcpy(r.id, out->id, sizeof(r.id)); /* out is overwritten by the revocation */
	r.was_revoked = out->revoked_at != 0;
	rc = svc_act(s, c, &a, e);
	/* Effective on the very next request: the gateway's request path reads the cache. */
	return rc == 0 ? svc_cache_grant(s, out, e) : rc;
}

/* --- users ---------------------------------------------------------------------------- */

int svc_user_list(const svc *s, const svc_caller *c, int (*fn)(void *ctx, const store_user *u),
                  void *ctx, bg_err *e)
{
	(void)c; /* the route admits admins only */
	return store_user_list(s->st, fn, ctx, e);
}

typedef struct admins_count {
	const char *except;
	int n;
} admins_count;

static int count_admin(void *ctx, const store_user *u)
{
	admins_count *a = ctx;

	if (!u->disabled && strcmp(u->name, a->except) != 0 &&
	    (user_role_parse(u->role) & USER_ROLE_ADMIN) != 0)
		a->n++;
	return 0;
}

typedef struct user_grants {
	const char *user;
	int64_t now;
	store_grant *live; /* the user's active grants, revoked with the user */
	size_t n, cap;
} user_grants;

static int collect_live(void *ctx, const store_grant *g)
{
	user_grants *ug = ctx;
	store_grant *v;

	if (grant_status(g, ug->now) != GRANT_ACTIVE)
		return 0;
	if (ug->n == ug->cap) {
		size_t cap = ug->cap ? ug->cap * 2 : 8;
		v = realloc(ug->live, cap * sizeof(*v));
		if (v == NULL)
			return BG_ENOMEM;
		ug->live = v;
		ug->cap = cap;
	}
	ug->live[ug->n++] = *g;
	return 0;
}

struct disabling {
	store_user u;
	user_grants *grants;
	const char *who;
};

static int disable_user(store_tx *tx, void *arg, bg_err *e)
{
	struct disabling *d = arg;
	size_t i;
	int rc = store_user_update(tx, &d->u, NULL, e);

	for (i = 0; rc == 0 && d->u.disabled && i < d->grants->n; i++) {
		store_grant *g = &d->grants->live[i];
		rc = store_grant_revoke(tx, g->id, d->who, bg_now(), g, e);
	}
	return rc;
}

int svc_user_disable(const svc *s, svc_caller *c, const char *name, bool disable, bg_err *e)
{
	user_grants ug = {name, bg_now(), NULL, 0, 0};
	struct disabling d;
	admins_count ac = {name, 0};
	json_t *detail;
	action a;
	size_t i;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = store_user_by_name(s->st, name, &d.u, e);
	if (rc != 0)
		return rc;
	if (disable && strcmp(name, c->user.name) == 0)
		return bg_err_set(e, BG_EINVAL, "an admin cannot disable themself");
	if (disable && (user_role_parse(d.u.role) & USER_ROLE_ADMIN) != 0) {
		rc = store_user_list(s->st, count_admin, &ac, e);
		if (rc == 0 && ac.n == 0)
			rc = bg_err_set(e, BG_EINVAL, "%s is the last admin who can act", name);
		if (rc != 0)
			return rc;
	}
	if (disable) {
		rc = store_grant_list(s->st, name, collect_live, &ug, e);
		if (rc != 0) {
			free(ug.live);
			return rc;
		}
	}
	d.u.disabled = disable;
	d.grants = &ug;
	d.who = c->user.name;
	detail = json_pack("{s:s,s:b,s:I}", "name", name, "disabled", disable, "grants_revoked",
	                   (json_int_t)(disable ? ug.n : 0));
	a = (action){
	    disable ? "user-disable" : "user-enable", NULL, NULL, detail, disable_user, &d, NULL};
	rc = detail != NULL ? svc_act(s, c, &a, e) : bg_err_set(e, BG_ENOMEM, "out of memory");
	json_decref(detail);
	/* The revoked grants stop on their very next request. */
	for (i = 0; rc == 0 && disable && i < ug.n; i++)
		rc = svc_cache_grant(s, &ug.live[i], e);
	free(ug.live);
	return rc;
}

struct renewal {
	const keyring *kr;
	store_user u;
	bool token, totp;
	user_secrets *out;
};

static int renew_user(store_tx *tx, void *arg, bg_err *e)
{
	struct renewal *r = arg;

	return user_renew(tx, r->kr, &r->u, r->token, r->totp, r->out, e);
}

/* Renews both secrets and clears disabled and lockout, in one change. */
static int recover_user(store_tx *tx, void *arg, bg_err *e)
{
	struct renewal *r = arg;

	r->u.disabled = false;
	r->u.otp_failures = 0;
	r->u.locked_until = 0;
	return user_renew(tx, r->kr, &r->u, true, true, r->out, e);
}

/* A renewal of user name's secrets as action kind by c (change: renew_user or
 * recover_user); admin_only refuses a user who is not an admin. */
static int renew(const svc *s, svc_caller *c, const char *name, struct renewal *r, const char *kind,
                 const char *reason, bool admin_only,
                 int (*change)(store_tx *tx, void *arg, bg_err *e), bg_err *e)
{
	json_t *detail;
	action a;
	int rc;

	memset(r->out, 0, sizeof(*r->out));
	rc = store_user_by_name(s->st, name, &r->u, e);
	if (rc != 0)
		return rc;
	if (admin_only && (user_role_parse(r->u.role) & USER_ROLE_ADMIN) == 0)
		return bg_err_set(e, BG_EINVAL, "%s is not an admin", name);
	detail = json_pack("{s:s}", "name", name);
	a = (action){kind, NULL, reason, detail, change, r, NULL};
	rc = detail != NULL ? svc_act(s, c, &a, e) : bg_err_set(e, BG_ENOMEM, "out of memory");
	json_decref(detail);
	if (rc != 0)
		user_secrets_free(r->out);
	return rc;
}

int svc_user_renew(const svc *s, svc_caller *c, const char *name, bool token, bool totp,
                   user_secrets *out, bg_err *e)
{
	struct renewal r = {s->kr, {0}, token, totp, out};

	return renew(s, c, name, &r, token ? "user-rotate-token" : "user-reset-totp", NULL, false,
	             renew_user, e);
}

int svc_recover_admin(const svc *s, const char *name, user_secrets *out, bg_err *e)
{
	struct renewal r = {s->kr, {0}, true, true, out};
	svc_caller c;

	/* Done on the server's host by whoever can read the data directory: on the record as
	 * that ("host"), with the admin it was done for in the detail. */
	memset(&c, 0, sizeof(c));
	snprintf(c.user.name, sizeof(c.user.name), "host");
	c.role = USER_ROLE_ADMIN;
	return renew(s, &c, name, &r, "recover", "admin recovery on the server's host", true,
	             recover_user, e);
}

int svc_grant_creds(const svc *s, svc_caller *c, const char *id, store_grant *g, grant_creds *out,
                    bg_err *e)
{
	action a;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = svc_grant_get(s, c, id, g, e);
	if (rc != 0)
		return rc;
	if (strcmp(g->user, c->user.name) != 0)
		return bg_err_set(e, BG_EDENIED,
		                  "only the grantee can fetch a grant's credentials");
	if (grant_status(g, bg_now()) != GRANT_ACTIVE)
		return bg_err_set(e, BG_EDENIED, "the grant is no longer active");
	a = (action){"creds", g->id, NULL, NULL, NULL, NULL, NULL};
	rc = svc_act(s, c, &a, e);
	if (rc == 0)
		grant_credentials(s->kr, g, out);
	return rc;
}

int svc_grant_runbook(const svc *s, const svc_caller *c, const char *id, const char *runbook,
                      char hash[65], bg_err *e)
{
	store_grant g;
	size_t i;
	int rc = svc_grant_get(s, c, id, &g, e);

	if (rc != 0)
		return rc;
	if (strcmp(g.user, c->user.name) != 0)
		return bg_err_set(e, BG_EDENIED, "only the grantee runs a grant's runbooks");
	if (grant_status(&g, bg_now()) != GRANT_ACTIVE)
		return bg_err_set(e, BG_EDENIED, "grant %s is no longer active", g.id);
	for (i = 0; i < g.n_runbooks; i++) {
		if (strcmp(g.runbooks[i], runbook) == 0) {
			memcpy(hash, g.runbook_hashes[i], 65);
			return 0;
		}
	}
	return bg_err_set(e, BG_EDENIED, "grant %s does not name runbook %s", g.id, runbook);
}

int svc_audit_read(const svc *s, int64_t after, int64_t limit, int (*fn)(void *ctx, json_t *rec),
                   void *ctx, bg_err *e)
{
	if (after < 0 || limit <= 0 || limit > BG_MAX_AUDIT_PAGE)
		return bg_err_set(e, BG_EINVAL, "after >= 0 and 1 <= limit <= %d",
		                  BG_MAX_AUDIT_PAGE);
	return audit_read(s->audit, after, limit, fn, ctx, e);
}

int svc_audit_read_lines(const svc *s, int64_t after, int64_t limit, bg_buf *out, int64_t *n,
                         int64_t *last, bg_err *e)
{
	if (after < 0 || limit <= 0 || limit > BG_MAX_AUDIT_PAGE)
		return bg_err_set(e, BG_EINVAL, "after >= 0 and 1 <= limit <= %d",
		                  BG_MAX_AUDIT_PAGE);
	return audit_read_lines(s->audit, after, limit, out, n, last, e);
}

static bool field_is(json_t *o, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL && strcmp(v, want) == 0;
}

/* ts at or after since, to the second (ts may carry milliseconds, since need not). */
static bool not_before(json_t *rec, const char *since)
{
	const char *ts = json_string_value(json_object_get(rec, "ts"));

	return ts != NULL && strncmp(ts, since, 19) >= 0;
}

typedef struct incident_grants {
	svc_audit_filter *f;
	size_t cap;
	bool oom;
} incident_grants;

static int collect_grant(void *ctx, const store_request *r)
{
	incident_grants *ig = ctx;
	svc_audit_filter *f = ig->f;
	char(*more)[STORE_ID_MAX];

	if (strcmp(r->incident, f->incident) != 0)
		return 0;
	if (f->n_grants == ig->cap) {
		ig->cap = ig->cap ? ig->cap * 2 : 8;
		more = realloc(f->grants, ig->cap * sizeof(*more));
		if (more == NULL) {
			ig->oom = true;
			return 1;
		}
		f->grants = more;
	}
	snprintf(f->grants[f->n_grants++], STORE_ID_MAX, "%s", r->id);
	return 0;
}

int svc_audit_filter_prepare(const svc *s, svc_audit_filter *f, bg_err *e)
{
	incident_grants ig = {f, 0, false};
	int rc;

	f->grants = NULL;
	f->n_grants = 0;
	if (f->incident == NULL)
		return 0;
	/* Every request, filtered here: a request names its incident, and requests are few
	 * (one store read per page of the log, not per record). */
	rc = store_request_list(s->st, NULL, collect_grant, &ig, e);
	if (rc == 0 && ig.oom)
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	if (rc != 0)
		svc_audit_filter_release(f);
	return rc;
}

void svc_audit_filter_release(svc_audit_filter *f)
{
	free(f->grants);
	f->grants = NULL;
	f->n_grants = 0;
}

static bool of_incident(const svc_audit_filter *f, json_t *rec)
{
	const char *g = json_string_value(json_object_get(rec, "grant_id"));
	size_t i;

	if (field_is(json_object_get(rec, "detail"), "incident", f->incident))
		return true;
	for (i = 0; g != NULL && i < f->n_grants; i++)
		if (strcmp(g, f->grants[i]) == 0)
			return true;
	return false;
}

bool svc_audit_match(const svc_audit_filter *f, json_t *rec)
{
	return (f->grant == NULL || field_is(rec, "grant_id", f->grant)) &&
	       (f->user == NULL || field_is(rec, "actor", f->user)) &&
	       (f->incident == NULL || of_incident(f, rec)) &&
	       (f->since == NULL || not_before(rec, f->since));
}

typedef struct tail_ctx {
	const svc_audit_filter *f;
	int64_t want, lowest;
	bool done;
	json_t *found; /* newest first */
} tail_ctx;

static int tail_each(void *ctx, json_t *rec)
{
	tail_ctx *t = ctx;

	t->lowest = json_integer_value(json_object_get(rec, "seq"));
	if (t->f->since != NULL && !not_before(rec, t->f->since)) {
		t->done = true; /* older than since: so is everything below */
		return 1;
	}
	if (svc_audit_match(t->f, rec) && json_array_append(t->found, rec) != 0)
		return BG_ENOMEM;
	if ((int64_t)json_array_size(t->found) >= t->want) {
		t->done = true;
		return 1;
	}
	return 0;
}

int svc_audit_tail(const svc *s, const svc_audit_filter *f, int64_t n,
                   int (*fn)(void *ctx, json_t *rec), void *ctx, bg_err *e)
{
	tail_ctx t = {f, n, 0, false, json_array()};
	int64_t before = 0;
	size_t i;
	int rc = 0;

	if (n <= 0 || n > BG_MAX_AUDIT_PAGE) {
		json_decref(t.found);
		return bg_err_set(e, BG_EINVAL, "1 <= n <= %d", BG_MAX_AUDIT_PAGE);
	}
	if (t.found == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	/* Backwards a page at a time until enough match, since is passed, or the log ends. */
	while (rc == 0 && !t.done) {
		t.lowest = 0;
		rc = audit_read_back(s->audit, before, BG_MAX_AUDIT_PAGE, tail_each, &t, e);
		if (rc == 0 && (t.lowest <= 1 || t.lowest == before))
			break;
		before = t.lowest;
	}
	for (i = json_array_size(t.found); rc == 0 && i > 0; i--)
		rc = fn(ctx, json_array_get(t.found, i - 1));
	json_decref(t.found);
	return rc;
}

static int keep_first(void *ctx, json_t *rec)
{
	*(json_t **)ctx = json_incref(rec);
	return 1;
}

typedef struct keep_ctx {
	json_t *arr;
	bool failed;
} keep_ctx;

static int keep_all(void *ctx, json_t *rec)
{
	keep_ctx *k = ctx;

	k->failed = json_array_append(k->arr, rec) != 0;
	return k->failed; /* the read stops, and the failure is ours to report */
}

/* The first record of related whose kind is one of k1, k2 (k2 may be NULL), or null. */
static json_t *first_of(json_t *related, const char *k1, const char *k2)
{
	json_t *r;
	size_t i;

	json_array_foreach(related, i, r)
	{
		if (field_is(r, "kind", k1) || (k2 != NULL && field_is(r, "kind", k2)))
			return json_incref(r);
	}
	return json_null();
}

int svc_audit_show(const svc *s, int64_t seq, json_t **out, bg_err *e)
{
	json_t *rec = NULL, *related = NULL, *grant = json_null();
	const char *rid, *gid;
	bool more = false;
	store_grant g;
	int rc;

	*out = NULL;
	if (seq < 1)
		return bg_err_set(e, BG_EINVAL, "a sequence number is 1 or more");
	rc = audit_read(s->audit, seq - 1, 1, keep_first, &rec, e);
	if (rc == 0 && (rec == NULL || json_integer_value(json_object_get(rec, "seq")) != seq))
		rc = bg_err_set(e, BG_ENOTFOUND, "there is no audit record %lld", (long long)seq);
	if (rc == 0 && (related = json_array()) == NULL)
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	rid = json_string_value(json_object_get(rec, "request_id"));
	if (rc == 0 && rid != NULL) {
		keep_ctx k = {related, false};
		rc = audit_read_request(s->audit, rid, BG_MAX_AUDIT_RELATED + 1, keep_all, &k, e);
		if (rc == 0 && k.failed)
			rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		if (rc == 0 && json_array_size(related) > BG_MAX_AUDIT_RELATED) {
			more = true;
			json_array_remove(related, BG_MAX_AUDIT_RELATED);
		}
	} else if (rc == 0 && json_array_append(related, rec) != 0) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	gid = json_string_value(json_object_get(rec, "grant_id"));
	if (rc == 0 && gid != NULL) {
		bg_err ge;
		int grc = store_grant_by_id(s->st, gid, &g, &ge);
		if (grc == 0) {
			json_decref(grant);
			grant = grant_to_json(&g, bg_now());
			if (grant == NULL)
				rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		} else if (grc != BG_ENOTFOUND) {
			rc = bg_err_set(e, grc, "%s", ge.msg);
		}
	}
	if (rc == 0) {
		*out =
		    json_pack("{s:O,s:O,s:b,s:o,s:o,s:O}", "record", rec, "related", related,
		              "related_more", more, "request", first_of(related, "request", NULL),
		              "response", first_of(related, "response", "denial"), "grant", grant);
		if (*out == NULL)
			rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	json_decref(rec);
	json_decref(related);
	json_decref(grant);
	return rc;
}

int svc_audit_rotate_key(const svc *s, svc_caller *c, const sigkey *old, const sigkey *next,
                         int64_t *seq, int64_t *cp_seq, bg_err *e)
{
	json_t *d;
	audit_record r;
	bg_err ae;
	int rc = step_up(s, c, e);

	if (rc != 0)
		return rc;
	d = json_pack("{s:s,s:s,s:s}", "old_key_id", sigkey_id(old), "new_key_id", sigkey_id(next),
	              "new_public_key_pem", sigkey_public_pem(next));
	if (d == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	memset(&r, 0, sizeof(r));
	r.kind = "key-rotation";
	r.op = "key-rotation";
	r.actor = c->user.name;
	r.request_id = c->request_id;
	r.decision = "allow";
	r.detail = d;
	rc = audit_rotate_key(s->audit, &r, next, seq, cp_seq, &ae);
	json_decref(d);
	if (rc != 0)
		return bg_err_set(
		    e, BG_EAUDIT,
		    "the key rotation could not be recorded (%s); the gateway settles "
		    "it from the audit log when it next starts",
		    ae.msg);
	return 0;
}

typedef struct rotation_find {
	char *id;
	bool found;
	int64_t lowest;
} rotation_find;

static int find_rotation(void *ctx, json_t *rec)
{
	rotation_find *f = ctx;
	const char *id;

	f->lowest = json_integer_value(json_object_get(rec, "seq"));
	if (!field_is(rec, "kind", "key-rotation"))
		return 0;
	id = json_string_value(json_object_get(json_object_get(rec, "detail"), "new_key_id"));
	if (id != NULL && strlen(id) == SIGKEY_ID_HEX)
		memcpy(f->id, id, SIGKEY_ID_HEX + 1);
	f->found = true;
	return 1;
}

int svc_audit_last_rotation(const svc *s, char id[SIGKEY_ID_HEX + 1], bg_err *e)
{
	rotation_find f = {id, false, 0};
	int64_t before = 0;
	int rc = 0;

	id[0] = '\0';
	while (rc == 0 && !f.found) {
		f.lowest = 0;
		rc = audit_read_back(s->audit, before, BG_MAX_AUDIT_PAGE, find_rotation, &f, e);
		if (rc != 0 || f.lowest <= 1 || f.lowest == before)
			break;
		before = f.lowest;
	}
	return rc;
}

int svc_config_loaded(const svc *s, const char *event, json_t *detail, bg_err *e)
{
	action a = {"config", NULL, event, detail, NULL, NULL, NULL};

	return svc_record(s, "gateway", NULL, &a, e);
}

int svc_api_refused(const svc *s, const char *actor, const char *method, const char *path,
                    const char *peer, int status, const char *why, bg_err *e)
{
	action a = {"api-refused", NULL, why, NULL, NULL, NULL, "deny"};
	char clean[BG_MAX_API_PATH + 1];
	int rc;

	/* The path comes from the caller: kept as text a reader can trust. */
	snprintf(clean, sizeof(clean), "%s", path != NULL ? path : "");
	bg_text_clean(clean);
	a.detail = json_pack("{s:s?,s:s,s:s?,s:i}", "method", method, "path", clean, "peer", peer,
	                     "status", status);
	if (a.detail == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	rc = svc_record(s, actor, NULL, &a, e);
	json_decref(a.detail);
	return rc;
}
