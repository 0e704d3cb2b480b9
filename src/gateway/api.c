/*
 * api.c - the JSON API the CLI uses (docs/api.md), as a route table over the service
 * layer (workflow/service.h).
 *
 * A request is authenticated by its API token (Bearer), its body (POST) parsed as a JSON
 * object, and matched against the table in order: a route names the method and path,
 * the roles that may call it, whether it needs the caller's TOTP step-up, and a handler.
 * The role is checked here, before the handler; the step-up is declared here and taken
 * by the service layer once the input is known to be valid (a typo costs no code).
 * Handlers hold no rule: they turn JSON into arguments (answering 400 themselves only
 * when a required value is missing or of the wrong JSON type), call one service
 * function, and render its answer or map its error to a status and code.
 */
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/limits.h"
#include "gateway/gw.h"
#include "gateway/notifier.h"
#include "gateway/usage.h"
#include "runbook/runbook.h"
#include "workflow/incident.h"
#include "workflow/request.h"
#include "workflow/review.h"
#include "workflow/service.h"

/* A path's {id}: a grant id, a user name or an incident id, whichever is longest. */
#define API_MAX2(a, b) ((a) > (b) ? (a) : (b))
#define API_ID_MAX     API_MAX2(API_MAX2(BG_MAX_USER_NAME + 1, STORE_ID_MAX), BG_MAX_INCIDENT_ID + 1)

typedef struct api_ctx {
	gw *g;
	const gw_http_request *hr;
	gw_reply *rep;
	svc sv;
	svc_caller me;
	json_t *in;          /* the body, parsed (POST), else NULL */
	char id[API_ID_MAX]; /* the path's {id}, if the route has one */
} api_ctx;

static void api_reply(api_ctx *c, int status, json_t *obj)
{
	static const char failed[] =
	    "{\"error\":\"internal\",\"message\":\"the answer could not be built\"}";
	char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	bg_buf *body = &c->rep->body;

	c->rep->status = status;
	snprintf(c->rep->content_type, sizeof(c->rep->content_type), "application/json");
	bg_buf_reset(body);
	/* Out of memory, or over the reply's limit: never a 200 with a cut-short body. */
	if (s == NULL || bg_buf_adds(body, s) != 0) {
		c->rep->status = 500;
		bg_buf_reset(body);
		if (bg_buf_adds(body, failed) != 0)
			bg_buf_reset(body); /* not even that: an empty 500 */
	}
	if (s) {
		OPENSSL_cleanse(s, strlen(s)); /* may hold credentials */
		free(s);
	}
	json_decref(obj);
}

static void api_error(api_ctx *c, int status, const char *code, const char *msg)
{
	api_reply(c, status, json_pack("{s:s,s:s}", "error", code, "message", msg));
}

/* Maps a service error (service.h) to the API's status and code (docs/api.md). */
static void api_fail(api_ctx *c, const bg_err *e)
{
	static const struct {
		int code;
		int status;
		const char *name;
	} map[] = {
	    {BG_EINVAL, 400, "bad_request"},       {BG_EOTP, 400, "otp_invalid"},
	    {BG_EAUTH, 403, "otp_invalid"},        {BG_EDENIED, 403, "forbidden"},
	    {BG_ENOTFOUND, 404, "not_found"},      {BG_EEXISTS, 409, "conflict"},
	    {BG_EAUDIT, 503, "audit_unavailable"}, {BG_EEXPIRED, 409, "expired"},
	    {BG_EUPSTREAM, 502, "upstream"},
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].code == e->code) {
			api_error(c, map[i].status, map[i].name, e->msg);
			return;
		}
	api_error(c, 500, "internal", e->msg);
}

static const char *in_str(const api_ctx *c, const char *key)
{
	return json_string_value(json_object_get(c->in, key));
}

/* The strings of a JSON array as a new array of pointers into it (an element that is no
 * string is NULL; something other than an array, an empty list), for the service layer
 * to judge. Returns false only when out of memory. */
static bool in_strings(const api_ctx *c, const char *key, const char ***out, size_t *n)
{
	json_t *a = json_object_get(c->in, key), *v;
	size_t i;

	*out = NULL;
	*n = json_is_array(a) ? json_array_size(a) : 0;
	if (*n == 0)
		return true;
	*out = calloc(*n, sizeof(**out));
	if (*out == NULL)
		return false;
	json_array_foreach(a, i, v)
	{
		(*out)[i] = json_string_value(v);
	}
	return true;
}

static int64_t arg_int(const gw_http_request *hr, const char *name, int64_t dflt)
{
	const char *v = hr->arg(hr, name);
	char *end = NULL;
	long long n;

	if (v == NULL || *v == '\0')
		return dflt;
	n = strtoll(v, &end, 10);
	return (end && *end == '\0' && n >= 0) ? (int64_t)n : -1;
}

/* --- handlers ------------------------------------------------------------------------- */

static void api_whoami(api_ctx *c)
{
	char roles[USER_ROLES_TEXT_MAX];

	api_reply(c, 200,
	          json_pack("{s:s,s:s}", "user", c->me.user.name, "role",
	                    user_role_text(c->me.role, roles)));
}

static void api_users_add(api_ctx *c)
{
	const char *name = in_str(c, "name"), *role = in_str(c, "role");
	user_secrets us;
	bg_err e;

	if (name == NULL || role == NULL) {
		api_error(c, 400, "bad_request", "name and role are required");
		return;
	}
	if (svc_user_add(&c->sv, &c->me, name, role, &us, &e) != 0)
		api_fail(c, &e);
	else
		api_reply(c, 200,
		          json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", name, "role", role, "token",
		                    us.token, "totp_secret", us.totp_secret, "totp_uri",
		                    us.totp_uri.data));
	user_secrets_free(&us);
}

static void api_grants_add(api_ctx *c)
{
	json_t *dur = json_object_get(c->in, "duration_seconds"), *warnings = NULL, *ans;
	const char **tables = NULL, **ops = NULL, **runbooks = NULL;
	store_grant *g = NULL;
	svc_grant_input in;
	gw_table_probe probe;
	svc_tables check = {gw_table_check, &probe};
	bg_err e;

	memset(&in, 0, sizeof(in));
	in.user = in_str(c, "user");
	in.reason = in_str(c, "reason");
	if (in.user == NULL || !json_is_integer(dur)) {
		api_error(c, 400, "bad_request",
		          "user, tables, ops and duration_seconds are required");
		return;
	}
	in.duration_seconds = json_integer_value(dur);
	g = calloc(1, sizeof(*g));
	if (g == NULL || !in_strings(c, "tables", &tables, &in.n_tables) ||
	    !in_strings(c, "ops", &ops, &in.n_ops) ||
	    !in_strings(c, "runbooks", &runbooks, &in.n_runbooks)) {
		api_error(c, 500, "internal", "out of memory");
		goto done;
	}
	in.tables = tables;
	in.ops = ops;
	in.runbooks = runbooks;
	/* Each table is checked upstream (DescribeTable), all of them within one bound. */
	probe = (gw_table_probe){c->g, bg_now_ms() + BG_TABLE_CHECK_TIMEOUT_MS};
	c->sv.tables = &check;
	if (svc_grant_create(&c->sv, &c->me, &in, g, &warnings, &e) != 0) {
		api_fail(c, &e);
	} else {
		ans = grant_to_json(g, bg_now());
		if (ans != NULL && json_object_set(ans, "warnings", warnings) != 0) {
			json_decref(ans);
			ans = NULL;
		}
		api_reply(c, 200, ans);
	}
	c->sv.tables = NULL;
	json_decref(warnings);
done:
	free(tables);
	free(ops);
	free(runbooks);
	free(g);
}

/* A list being answered: a callback that cannot add an item stops the listing, which
 * the service layer takes as the caller's choice, so the failure is kept here. */
typedef struct api_list {
	json_t *arr;
	bool failed;
} api_list;

static int list_add(api_list *l, json_t *item)
{
	l->failed = json_array_append_new(l->arr, item) != 0;
	return l->failed;
}

static int list_grant(void *ctx, const store_grant *g)
{
	return list_add(ctx, grant_to_json(g, bg_now()));
}

static int list_record(void *ctx, json_t *rec)
{
	return list_add(ctx, json_incref(rec));
}

/* Answers {key: the list} once listed returned 0 (with the reason in e otherwise). */
static void list_reply(api_ctx *c, const char *key, api_list *l, int listed, bg_err *e)
{
	if (listed == 0 && l->failed)
		listed = bg_err_set(e, BG_ENOMEM, "out of memory");
	if (listed != 0) {
		json_decref(l->arr);
		api_fail(c, e);
		return;
	}
	api_reply(c, 200, json_pack("{s:o}", key, l->arr));
}

static void api_grants_list(api_ctx *c)
{
	api_list l = {json_array(), false};
	bg_err e;

	list_reply(c, "grants", &l,
	           l.arr == NULL ? bg_err_set(&e, BG_ENOMEM, "out of memory")
	                         : svc_grant_list(&c->sv, &c->me, list_grant, &l, &e),
	           &e);
}

typedef int (*grant_action)(const svc *s, svc_caller *c, const char *id, store_grant *out,
                            bg_err *e);

static int grant_get(const svc *s, svc_caller *c, const char *id, store_grant *out, bg_err *e)
{
	return svc_grant_get(s, c, id, out, e);
}

/* Runs the service's action on the {id} grant, then answer(c, grant); or answers why
 * the action failed. */
static void with_grant(api_ctx *c, grant_action action, void (*answer)(api_ctx *c, store_grant *g))
{
	store_grant *g = calloc(1, sizeof(*g));
	bg_err e;

	if (g == NULL)
		api_error(c, 500, "internal", "out of memory");
	else if (action(&c->sv, &c->me, c->id, g, &e) != 0)
		api_fail(c, &e);
	else
		answer(c, g);
	free(g);
}

static void show(api_ctx *c, store_grant *g)
{
	int64_t now = bg_now();
	json_t *o = grant_to_json(g, now);

	/* A live grant's guardrails as this gateway counts them (gateway/usage.h). */
	if (o != NULL && grant_status(g, now) == GRANT_ACTIVE)
		json_object_set_new(o, "usage", gw_grant_usage(c->g, g, now));
	api_reply(c, 200, o);
}

static void api_grant_show(api_ctx *c)
{
	with_grant(c, grant_get, show);
}

static void api_grant_revoke(api_ctx *c)
{
	with_grant(c, svc_grant_revoke, show);
}

static void api_grant_creds(api_ctx *c)
{
	store_grant *g = calloc(1, sizeof(*g));
	grant_creds cr;
	char exp[BG_RFC3339_SIZE];
	bg_err e;

	memset(&cr, 0, sizeof(cr));
	if (g == NULL) {
		api_error(c, 500, "internal", "out of memory");
	} else if (svc_grant_creds(&c->sv, &c->me, c->id, g, &cr, &e) != 0) {
		api_fail(c, &e);
	} else {
		bg_rfc3339(g->expires_at, exp);
		api_reply(c, 200,
		          json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "grant", g->id,
		                    "access_key_id", cr.access_key_id, "secret_access_key",
		                    cr.secret_access_key, "session_token", cr.session_token,
		                    "expiration", exp, "region", c->g->cfg.region, "endpoint",
		                    c->g->cfg.public_url));
	}
	OPENSSL_cleanse(&cr, sizeof(cr));
	free(g);
}

/* GET /api/v1/status: what an operator checks first (no secret): the gateway's AWS
 * identity, its upstream, the runbooks it holds. */
typedef struct status_counts {
	int64_t now, incidents, pending, grants, overdue;
	json_t *live; /* status only: the live grants, newest first; NULL: not kept */
	json_t *open; /* status only: the open incidents; NULL: not kept */
	gw *g;        /* status only: for each live grant's usage */
} status_counts;

static int count_overdue(void *ctx, const store_review *r)
{
	status_counts *n = ctx;

	n->overdue += svc_review_overdue(r, n->now);
	return 0;
}

static int count_incident(void *ctx, const store_incident *in)
{
	status_counts *n = ctx;

	n->incidents += in->open;
	/* An open incident whose alerts have all resolved: `close` is suggested, never
	 * automatic (the responder decides when the work is done). */
	if (in->open && n->open != NULL && json_array_size(n->open) < BG_STATUS_INCIDENTS)
		json_array_append_new(
		    n->open,
		    json_pack("{s:s,s:s,s:I,s:I,s:I,s:b}", "id", in->id, "title", in->title,
		              "severity", (json_int_t)in->severity, "alerts_firing",
		              (json_int_t)in->firing, "opened_at", (json_int_t)in->opened_at,
		              "close_suggested", svc_incident_close_suggested(in)));
	return 0;
}

static int count_request(void *ctx, const store_request *r)
{
	status_counts *n = ctx;

	n->pending += strcmp(r->state, "pending") == 0 && r->expires_at > n->now;
	return 0;
}

static int count_grant(void *ctx, const store_grant *g)
{
	status_counts *n = ctx;

	if (grant_status(g, n->now) != GRANT_ACTIVE)
		return 0;
	n->grants++;
	if (n->live != NULL && json_array_size(n->live) < BG_STATUS_GRANTS)
		json_array_append_new(
		    n->live, json_pack("{s:s,s:s,s:s,s:I,s:I,s:o*}", "id", g->id, "user", g->user,
		                       "kind", g->kind, "expires_at", (json_int_t)g->expires_at,
		                       "seconds_left", (json_int_t)(g->expires_at - n->now),
		                       "usage", gw_grant_usage(n->g, g, n->now)));
	return 0;
}

static int newest_seq(void *ctx, json_t *rec)
{
	*(int64_t *)ctx = json_integer_value(json_object_get(rec, "seq"));
	return 0;
}

/* The audit trail's newest seq and each sink's state: for status and the metrics. */
typedef struct sinks_view {
	int64_t head;
	size_t n;
	audit_sink_state s[BG_MAX_SINKS];
} sinks_view;

static int sinks_view_get(api_ctx *c, sinks_view *v, bg_err *e)
{
	static const svc_audit_filter all = {NULL, NULL, NULL, NULL, NULL, 0};

	v->head = 0;
	v->n = audit_sinks_state(c->g->sinks, v->s, BG_MAX_SINKS);
	return svc_audit_tail(&c->sv, &all, 1, newest_seq, &v->head, e);
}

static int64_t sink_lag(const sinks_view *v, size_t i)
{
	return v->head > v->s[i].delivered ? v->head - v->s[i].delivered : 0;
}

static json_t *audit_state_json(const sinks_view *v)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < v->n; i++) {
		const audit_sink_state *s = &v->s[i];
		json_t *o = json_pack(
		    "{s:s,s:s,s:b,s:b,s:I,s:I,s:I,s:I,s:s}", "name", s->name, "type", s->type,
		    "required", s->required, "up", s->up, "delivered_seq", (json_int_t)s->delivered,
		    "lag", (json_int_t)sink_lag(v, i), "failures", (json_int_t)s->failures,
		    "last_ok", (json_int_t)s->last_ok, "last_error", s->last_error);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr == NULL ? NULL
	                   : json_pack("{s:I,s:o}", "head_seq", (json_int_t)v->head, "sinks", arr);
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static int label_value(bg_buf *b, const char *s)
{
	int rc = 0;

	for (; *s && rc == 0; s++)
		rc = *s == '\\'   ? bg_buf_adds(b, "\\\\")
		     : *s == '"'  ? bg_buf_adds(b, "\\\"")
		     : *s == '\n' ? bg_buf_adds(b, "\\n")
		                  : bg_buf_addc(b, *s);
	return rc;
}

/* GET /api/v1/metrics: the Prometheus text format (version 0.0.4), for a scrape job
 * with an auditor's token (docs/audit.md). */
static void api_metrics(api_ctx *c)
{
	static const struct {
		const char *name, *type, *help;
	} m[] = {
	    {"breakglass_audit_sink_lag_records", "gauge",
	     "Audit records committed that the sink has not taken yet."},
	    {"breakglass_audit_sink_delivered_seq", "gauge",
	     "The highest audit seq the sink's destination has accepted."},
	    {"breakglass_audit_sink_up", "gauge", "1 when the sink's last delivery succeeded."},
	    {"breakglass_audit_sink_failures_total", "counter",
	     "Failed deliveries to the sink since the gateway started."},
	};
	bg_buf *b = &c->rep->body;
	sinks_view v;
	audit_stats st;
	bg_err e;
	size_t i, k;
	int rc;

	status_counts n = {bg_now(), 0, 0, 0, 0, NULL, NULL, NULL};
	gw_metrics_extra x;

	if (sinks_view_get(c, &v, &e) != 0 ||
	    store_request_list(c->sv.st, NULL, count_request, &n, &e) != 0 ||
	    store_grant_list(c->sv.st, NULL, count_grant, &n, &e) != 0 ||
	    store_review_list(c->sv.st, count_overdue, &n, &e) != 0) {
		api_fail(c, &e);
		return;
	}
	audit_get_stats(c->g->audit, &st);
	x = (gw_metrics_extra){n.grants, n.pending, n.overdue, &st};
	bg_buf_reset(b);
	if (gw_metrics_render(c->g->metrics, &x, b) != 0) {
		api_error(c, 500, "internal", "the metrics could not be built");
		return;
	}
	rc = bg_buf_addf(b,
	                 "# HELP breakglass_audit_head_seq The newest audit record's seq.\n"
	                 "# TYPE breakglass_audit_head_seq gauge\n"
	                 "breakglass_audit_head_seq %lld\n"
	                 "# HELP breakglass_audit_refused_batches_total Committed audit batches "
	                 "a required sink did not take (their requests were refused).\n"
	                 "# TYPE breakglass_audit_refused_batches_total counter\n"
	                 "breakglass_audit_refused_batches_total %lld\n",
	                 (long long)v.head, (long long)st.gate_failures);
	for (k = 0; rc == 0 && k < sizeof(m) / sizeof(m[0]); k++) {
		rc = bg_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help, m[k].name,
		                 m[k].type);
		for (i = 0; rc == 0 && i < v.n; i++) {
			const audit_sink_state *s = &v.s[i];
			long long val = k == 0   ? sink_lag(&v, i)
			                : k == 1 ? s->delivered
			                : k == 2 ? s->up
			                         : s->failures;

			rc = bg_buf_addf(b, "%s{sink=\"", m[k].name);
			rc = rc ? rc : label_value(b, s->name);
			rc = rc ? rc
			        : bg_buf_addf(b, "\",type=\"%s\",required=\"%s\"} %lld\n", s->type,
			                      s->required ? "true" : "false", val);
		}
	}
	if (rc != 0) {
		api_error(c, 500, "internal", "the metrics could not be built");
		return;
	}
	c->rep->status = 200;
	snprintf(c->rep->content_type, sizeof(c->rep->content_type),
	         "text/plain; version=0.0.4; charset=utf-8");
}

static void api_status(api_ctx *c)
{
	sinks_view v;
	json_t *audit_state;
	status_counts n = {bg_now(), 0, 0, 0, 0, json_array(), json_array(), c->g};
	bg_err e;
	credchain_state st;
	gw_rb_snapshot *snap = gw_runbooks_acquire(c->g->runbooks);
	json_t *id;

	memset(&st, 0, sizeof(st));
	credchain_status(c->g->identity, &st);
	id = json_pack("{s:b,s:s,s:s,s:s}", "valid", st.valid, "source", st.source, "access_key_id",
	               st.access_key_id, "last_error", st.last_error);
	if (id != NULL && st.expires > 0)
		json_object_set_new(id, "expires", json_integer(st.expires));
	if (id != NULL && st.refreshed > 0)
		json_object_set_new(id, "refreshed", json_integer(st.refreshed));
	if (store_incident_list(c->sv.st, count_incident, &n, &e) != 0 ||
	    store_request_list(c->sv.st, NULL, count_request, &n, &e) != 0 ||
	    store_grant_list(c->sv.st, NULL, count_grant, &n, &e) != 0 ||
	    store_review_list(c->sv.st, count_overdue, &n, &e) != 0 ||
	    sinks_view_get(c, &v, &e) != 0 || (audit_state = audit_state_json(&v)) == NULL) {
		if (e.code == 0)
			bg_err_set(&e, BG_ENOMEM, "out of memory");
		json_decref(id);
		json_decref(n.live);
		json_decref(n.open);
		gw_runbooks_release(snap);
		api_fail(c, &e);
		return;
	}
	api_reply(c, 200,
	          json_pack("{s:o,s:s,s:s,s:s,s:{s:s,s:I},s:s,s:I,s:o*,s:I,s:I,s:o*,s:I,s:o}",
	                    "identity", id, "upstream", c->g->cfg.upstream, "region",
	                    c->g->cfg.region, "public_url", c->g->cfg.public_url, "runbooks",
	                    "folder", c->g->cfg.runbooks, "count",
	                    (json_int_t)runbook_set_count(gw_rb_set(snap)), "policy",
	                    c->g->cfg.policy, "open_incidents", (json_int_t)n.incidents,
	                    "incidents", n.open, "pending_requests", (json_int_t)n.pending,
	                    "live_grants", (json_int_t)n.grants, "grants", n.live,
	                    "overdue_reviews", (json_int_t)n.overdue, "audit", audit_state));
	gw_runbooks_release(snap);
}

/* --- users --------------------------------------------------------------------------- */

static int list_user_json(void *ctx, const store_user *u)
{
	return list_add(ctx,
	                json_pack("{s:s,s:s,s:b,s:b}", "name", u->name, "role", u->role, "disabled",
	                          u->disabled, "locked", u->locked_until > bg_now()));
}

static void api_users_list(api_ctx *c)
{
	api_list l = {json_array(), false};
	bg_err e;

	list_reply(c, "users", &l,
	           l.arr == NULL ? bg_err_set(&e, BG_ENOMEM, "out of memory")
	                         : svc_user_list(&c->sv, &c->me, list_user_json, &l, &e),
	           &e);
}

static void user_state(api_ctx *c, bool disable)
{
	bg_err e;

	if (svc_user_disable(&c->sv, &c->me, c->id, disable, &e) != 0)
		api_fail(c, &e);
	else
		api_reply(c, 200, json_pack("{s:s,s:b}", "name", c->id, "disabled", disable));
}

static void api_user_disable(api_ctx *c)
{
	user_state(c, true);
}

static void api_user_enable(api_ctx *c)
{
	user_state(c, false);
}

static void user_renew_reply(api_ctx *c, bool token)
{
	user_secrets us;
	bg_err e;

	if (svc_user_renew(&c->sv, &c->me, c->id, token, !token, &us, &e) != 0)
		api_fail(c, &e);
	else if (token)
		api_reply(c, 200, json_pack("{s:s,s:s}", "name", c->id, "token", us.token));
	else
		api_reply(c, 200,
		          json_pack("{s:s,s:s,s:s}", "name", c->id, "totp_secret", us.totp_secret,
		                    "totp_uri", us.totp_uri.data));
	user_secrets_free(&us);
}

static void api_user_rotate_token(api_ctx *c)
{
	user_renew_reply(c, true);
}

static void api_user_reset_totp(api_ctx *c)
{
	user_renew_reply(c, false);
}

/* POST /api/v1/grants/ID/render {"runbook", "params": {name: text}}: the request that
 * runs the runbook as the grant pinned it, for `breakglass run` to send through the
 * DynamoDB endpoint (where it is matched and audited like any client's). */
static void api_grant_render(api_ctx *c)
{
	const char *id = in_str(c, "runbook");
	json_t *params = json_object_get(c->in, "params"), *avs = NULL, *req = NULL, *none = NULL;
	gw_rb_snapshot *snap;
	const runbook *rb;
	char hash[65];
	bg_err e;

	bg_err_set(&e, BG_ENOMEM, "out of memory");
	if (id == NULL || (params != NULL && !json_is_object(params))) {
		api_error(c, 400, "bad_request", "runbook and params {name: value} are required");
		return;
	}
	if (svc_grant_runbook(&c->sv, &c->me, c->id, id, hash, &e) != 0) {
		api_fail(c, &e);
		return;
	}
	snap = gw_runbooks_acquire(c->g->runbooks);
	rb = runbook_set_find(gw_rb_set(snap), id);
	if (rb == NULL || strcmp(rb->hash, hash) != 0) {
		api_error(c, 409, "runbook_changed",
		          rb == NULL
		              ? "the runbook is no longer in the gateway's folder"
		              : "the runbook was changed after the grant: a new grant is needed");
	} else if ((params == NULL && (params = none = json_object()) == NULL) ||
	           runbook_bind(rb, params, &avs, &e) != 0 ||
	           runbook_render(rb, avs, NULL, &req, &e) != 0) {
		api_fail(c, &e);
	} else {
		api_reply(c, 200,
		          json_pack("{s:s,s:s,s:s,s:o,s:o,s:I,s:I}", "runbook", rb->id, "title",
		                    rb->title, "operation", rb->op->name, "request", req, "params",
		                    json_incref(avs), "limit", (json_int_t)rb->limit, "max_pages",
		                    (json_int_t)(rb->max_pages > 0 ? rb->max_pages : 1)));
		req = NULL;
	}
	json_decref(none);
	json_decref(avs);
	json_decref(req);
	gw_runbooks_release(snap);
}

typedef struct audit_listing {
	api_list l;
	svc_audit_filter f;
	int64_t last; /* the highest seq read, matching or not: where a follower goes on */
} audit_listing;

static int list_audit(void *ctx, json_t *rec)
{
	audit_listing *al = ctx;

	al->last = json_integer_value(json_object_get(rec, "seq"));
	return svc_audit_match(&al->f, rec) ? list_record(&al->l, rec) : 0;
}

/* GET /api/v1/audit?after=SEQ&limit=N&format=jsonl: the page as JSON lines, one record a
 * line, keys sorted (what `audit verify` reads fastest, docs/api.md); a page too large
 * for one answer ends early, and the reader goes on after its last line, whose seq the
 * X-Audit-Last-Seq header gives (0 for an empty page). */
static void api_audit_lines(api_ctx *c)
{
	const gw_http_request *hr = c->hr;
	int64_t n = 0, last = 0;
	bg_err e;

	if (strcmp(hr->arg(hr, "format"), "jsonl") != 0 || hr->arg(hr, "tail") != NULL ||
	    hr->arg(hr, "grant") != NULL || hr->arg(hr, "user") != NULL ||
	    hr->arg(hr, "incident") != NULL || hr->arg(hr, "since") != NULL) {
		api_error(c, 400, "bad_request",
		          "format=jsonl takes after and limit only (no tail, no filters)");
		return;
	}
	bg_buf_reset(&c->rep->body);
	if (svc_audit_read_lines(&c->sv, arg_int(hr, "after", 0),
	                         arg_int(hr, "limit", BG_AUDIT_PAGE_DEFAULT), &c->rep->body, &n,
	                         &last, &e) != 0) {
		bg_buf_reset(&c->rep->body);
		api_fail(c, &e);
		return;
	}
	c->rep->status = 200;
	snprintf(c->rep->content_type, sizeof(c->rep->content_type), "application/x-ndjson");
	/* Where the next page starts, so a reader can ask for it before it has read this one
	 * (`audit verify` checks the claim against the lines it verified). */
	c->rep->headers[0].name = "X-Audit-Last-Seq";
	snprintf(c->rep->headers[0].value, sizeof(c->rep->headers[0].value), "%lld",
	         (long long)last);
	c->rep->n_headers = 1;
}

/* GET /api/v1/audit?after=SEQ&limit=N (forward, a page) or ?tail=N (the newest N), both
 * narrowed by grant, user, incident and since. */
static void api_audit_read(api_ctx *c)
{
	const gw_http_request *hr = c->hr;
	audit_listing al = {{json_array(), false},
	                    {hr->arg(hr, "grant"), hr->arg(hr, "user"), hr->arg(hr, "incident"),
	                     hr->arg(hr, "since"), NULL, 0},
	                    0};
	int64_t tail = arg_int(hr, "tail", 0), after = arg_int(hr, "after", 0);
	json_t *ans;
	bg_err e;
	int rc;

	if (hr->arg(hr, "format") != NULL) {
		json_decref(al.l.arr);
		api_audit_lines(c);
		return;
	}
	if (al.f.since != NULL && strlen(al.f.since) < 19) {
		json_decref(al.l.arr);
		api_error(c, 400, "bad_request", "since is an RFC 3339 time: 2026-12-01T09:00:00Z");
		return;
	}
	if (al.l.arr == NULL)
		rc = bg_err_set(&e, BG_ENOMEM, "out of memory");
	else if ((rc = svc_audit_filter_prepare(&c->sv, &al.f, &e)) != 0)
		;
	else if (hr->arg(hr, "tail") != NULL) {
		/* The newest record, matching or not: where `tail -f` goes on from. */
		static const svc_audit_filter all = {NULL, NULL, NULL, NULL, NULL, 0};
		rc = svc_audit_tail(&c->sv, &all, 1, newest_seq, &al.last, &e);
		if (rc == 0)
			rc = svc_audit_tail(&c->sv, &al.f, tail, list_record, &al.l, &e);
	} else
		rc = svc_audit_read(&c->sv, after, arg_int(hr, "limit", BG_AUDIT_PAGE_DEFAULT),
		                    list_audit, &al, &e);
	svc_audit_filter_release(&al.f);
	if (rc == 0 && al.l.failed)
		rc = bg_err_set(&e, BG_ENOMEM, "out of memory");
	if (rc != 0) {
		json_decref(al.l.arr);
		api_fail(c, &e);
		return;
	}
	ans = json_pack("{s:o,s:I}", "records", al.l.arr, "last_seq",
	                (json_int_t)(al.last > after ? al.last : after));
	api_reply(c, 200, ans);
}

/* GET /api/v1/audit/SEQ: one record with what shares its request_id (`audit show`). */
static void api_audit_show(api_ctx *c)
{
	json_t *ans = NULL;
	char *end = NULL;
	long long seq;
	bg_err e;

	errno = 0;
	seq = strtoll(c->id, &end, 10);
	if (c->id[0] < '1' || c->id[0] > '9' || end == NULL || *end != '\0' || errno != 0) {
		api_error(c, 404, "not_found",
		          "no such audit record (a sequence number: 1, 2, ...)");
		return;
	}
	if (svc_audit_show(&c->sv, (int64_t)seq, &ans, &e) != 0) {
		api_fail(c, &e);
		return;
	}
	api_reply(c, 200, ans);
}

/* The public key that verifies the audit checkpoints (docs/audit.md); with ?all=1 also
 * "keys": every key that has signed checkpoints, retired ones included. */
static void api_audit_pubkey(api_ctx *c)
{
	const sigkey *k = keyset_current(c->g->audit_keys);
	const char *all = c->hr->arg(c->hr, "all");
	json_t *ans = json_pack("{s:s,s:s,s:s}", "algorithm", "ed25519", "key_id", sigkey_id(k),
	                        "public_key_pem", sigkey_public_pem(k));

	if (ans != NULL && all != NULL && strcmp(all, "0") != 0 &&
	    json_object_set_new(ans, "keys", keyset_public_json(c->g->audit_keys)) != 0) {
		json_decref(ans);
		ans = NULL;
	}
	api_reply(c, 200, ans);
}

/* POST /api/v1/audit/rotate-key {"otp"}: a new signing key for the checkpoints. The
 * key-rotation record is checkpointed by the old key before the new one signs; the
 * private keys never leave the gateway. A record that may have been written leaves the
 * rotation unsettled (no new rotation until the gateway restarts and settles it from
 * the trail), never a key file that disagrees with the trail. */
static void api_audit_rotate_key(api_ctx *c)
{
	const sigkey *old = NULL, *next = NULL;
	int64_t seq = 0, cp = 0;
	bg_err e;
	int rc;

	if (c->g->audit == NULL) {
		api_error(c, 503, "audit_unavailable", "no audit log");
		return;
	}
	/* The step-up first, so a wrong code costs no key. */
	rc = svc_step_up(&c->sv, &c->me, &e);
	if (rc == 0)
		rc = keyset_begin(c->g->audit_keys, &next, &e);
	if (rc != 0) {
		api_fail(c, &e);
		return;
	}
	old = keyset_current(c->g->audit_keys); /* after begin: no other rotation moves it */
	rc = svc_audit_rotate_key(&c->sv, &c->me, old, next, &seq, &cp, &e);
	if (rc != 0 && rc != BG_EAUDIT)
		keyset_abort(c->g->audit_keys); /* nothing was written */
	if (rc == 0 && keyset_commit(c->g->audit_keys, &e) != 0) {
		/* Recorded, and the new key signs, but its files are not in place: the next
		 * start finishes what the trail says. */
		fprintf(stderr, "breakglass: audit key rotation recorded, files not finished: %s\n",
		        e.msg);
		rc =
		    bg_err_set(&e, BG_EIO,
		               "the rotation is recorded (seq %lld) but the key files could not be "
		               "updated; the gateway finishes it when it next starts",
		               (long long)seq);
	}
	if (rc != 0) {
		api_fail(c, &e);
		return;
	}
	api_reply(c, 200,
	          json_pack("{s:s,s:s,s:I,s:I,s:s}", "old_key_id", sigkey_id(old), "new_key_id",
	                    sigkey_id(next), "seq", (json_int_t)seq, "checkpoint_seq",
	                    (json_int_t)cp, "public_key_pem", sigkey_public_pem(next)));
}

/* What the paths under a grant that name no action of it answer. The grant is looked
 * up first, so one the caller may not see is a 404 before any complaint about the
 * request itself. */
static void no_such_action(api_ctx *c, store_grant *g)
{
	api_error(c, 404, "not_found", "no such action");
}

static void use_get(api_ctx *c, store_grant *g)
{
	api_error(c, 400, "bad_request", "use GET for a grant");
}

static void api_grant_no_action(api_ctx *c)
{
	with_grant(c, grant_get, no_such_action);
}

static void api_grant_not_get(api_ctx *c)
{
	with_grant(c, grant_get, use_get);
}

static void api_grant_not_post(api_ctx *c)
{
	api_error(c, 400, "bad_request", "use POST for grant actions");
}

static void api_no_grant(api_ctx *c)
{
	api_error(c, 404, "not_found", "no such grant");
}

/* --- routing -------------------------------------------------------------------------- */

typedef struct api_route {
	const char *method; /* NULL: any method (routes are tried in order) */
	const char *path;   /* literal, with "{id}" for one segment (1 to STORE_ID_MAX - 1
	                       bytes) and a final "*" for whatever follows, even nothing */
	unsigned roles;     /* user_role bits that may call it */
	bool needs_totp;    /* the action needs the caller's step-up code ("otp") */
	void (*handler)(api_ctx *c);
	const char *forbidden; /* the message for a caller without one of the roles */
} api_route;

/* --- incidents ------------------------------------------------------------------------ */

static void incident_answer(api_ctx *c, const store_incident *in, bool history)
{
	json_t *o;
	bg_err e;

	if (svc_incident_json(&c->sv, in, history, &o, &e) != 0)
		api_fail(c, &e);
	else
		api_reply(c, 200, o);
}

static void api_incidents_open(api_ctx *c)
{
	json_t *sev = json_object_get(c->in, "severity");
	svc_incident_input in = {in_str(c, "id"), 0, in_str(c, "title"), in_str(c, "service")};
	store_incident inc;
	bg_err e;

	if (in.id == NULL || in.title == NULL || !json_is_integer(sev)) {
		api_error(c, 400, "bad_request", "id, severity and title are required");
		return;
	}
	in.severity = json_integer_value(sev);
	if (svc_incident_open(&c->sv, &c->me, &in, &inc, &e) != 0)
		api_fail(c, &e);
	else
		incident_answer(c, &inc, false);
}

typedef struct incident_listing {
	api_ctx *c;
	api_list l;
	bg_err e;
} incident_listing;

static int list_incident(void *ctx, const store_incident *in)
{
	incident_listing *il = ctx;
	json_t *o;
	int rc = svc_incident_json(&il->c->sv, in, false, &o, &il->e);

	return rc != 0 ? rc : list_add(&il->l, o);
}

static void api_incidents_list(api_ctx *c)
{
	const char *state = c->hr->arg(c->hr, "state");
	incident_listing il = {c, {json_array(), false}, {0}};
	int rc;

	if (state != NULL && strcmp(state, "open") != 0 && strcmp(state, "all") != 0) {
		json_decref(il.l.arr);
		api_error(c, 400, "bad_request", "state is open or all");
		return;
	}
	rc = il.l.arr == NULL
	         ? bg_err_set(&il.e, BG_ENOMEM, "out of memory")
	         : svc_incident_list(&c->sv, &c->me, state != NULL && strcmp(state, "open") == 0,
	                             list_incident, &il, &il.e);
	list_reply(c, "incidents", &il.l, rc, &il.e);
}

static void api_incident_show(api_ctx *c)
{
	store_incident in;
	bg_err e;

	if (svc_incident_get(&c->sv, &c->me, c->id, &in, &e) != 0)
		api_fail(c, &e);
	else
		incident_answer(c, &in, true);
}

static void api_incident_resolve(api_ctx *c)
{
	store_incident in;
	bg_err e;

	if (svc_incident_resolve(&c->sv, &c->me, c->id, in_str(c, "reason"), &in, &e) != 0)
		api_fail(c, &e);
	else
		incident_answer(c, &in, true);
}

/* POST /api/v1/incidents/{id}/close: teardown (workflow/review.h). */
static void api_incident_close(api_ctx *c)
{
	svc_close_result *r = malloc(sizeof(*r)); /* a review's learnings are large */
	json_t *o = NULL, *ids, *inc = NULL;
	bg_err e;
	size_t i;

	if (r == NULL) {
		api_error(c, 500, "internal", "out of memory");
		return;
	}
	if (svc_incident_close(&c->sv, c->g->policy, &c->me, c->id, in_str(c, "reason"), r, &e) !=
	        0 ||
	    svc_incident_json(&c->sv, &r->incident, false, &inc, &e) != 0) {
		api_fail(c, &e);
		free(r);
		return;
	}
	ids = json_array();
	for (i = 0; ids != NULL && i < r->n_revoked && i < BG_MAX_CLOSE_GRANTS; i++)
		json_array_append_new(ids, json_string(r->revoked[i]));
	if (ids != NULL)
		o = json_pack(
		    "{s:o,s:b,s:o,s:I,s:o,s:b,s:{s:b,s:I,s:I}}", "incident", inc, "resolved_now",
		    r->resolved_now, "revoked", ids, "revoked_count", (json_int_t)r->n_revoked,
		    "review", svc_review_json(&r->review, bg_now()), "review_opened",
		    r->review_opened, "audit", "ok", r->audit_ok, "records",
		    (json_int_t)r->audit_records, "bad_seq", (json_int_t)r->audit_bad_seq);
	else
		json_decref(inc);
	free(r);
	api_reply(c, 200, o);
}

/* POST /api/v1/incidents/{id}/review: sign it (step-up code checked by the route). */
static void api_review_sign(api_ctx *c)
{
	store_review *r = malloc(sizeof(*r));
	bg_err e;

	if (r == NULL) {
		api_error(c, 500, "internal", "out of memory");
		return;
	}
	if (in_str(c, "learnings") == NULL)
		api_error(c, 400, "bad_request", "learnings are required");
	else if (svc_review_sign(&c->sv, &c->me, c->id, in_str(c, "learnings"), r, &e) != 0)
		api_fail(c, &e);
	else
		api_reply(c, 200, svc_review_json(r, bg_now()));
	free(r);
}

typedef struct review_listing {
	api_list l;
	bool overdue_only;
	int64_t now;
} review_listing;

static int list_review(void *ctx, const store_review *r)
{
	review_listing *rl = ctx;

	if (rl->overdue_only && !svc_review_overdue(r, rl->now))
		return 0;
	return list_add(&rl->l, svc_review_json(r, rl->now));
}

/* GET /api/v1/reviews[?overdue=1] */
static void api_reviews_list(api_ctx *c)
{
	const char *od = c->hr->arg(c->hr, "overdue");
	review_listing rl = {{json_array(), false}, od != NULL && strcmp(od, "0") != 0, bg_now()};
	bg_err e;

	list_reply(c, "reviews", &rl.l,
	           rl.l.arr == NULL ? bg_err_set(&e, BG_ENOMEM, "out of memory")
	                            : svc_review_list(&c->sv, list_review, &rl, &e),
	           &e);
}

/* --- requests and approvals -------------------------------------------------------------- */

static void request_answer(api_ctx *c, int status, const store_request *r, const store_grant *g,
                           const bg_err *refusal)
{
	json_t *o;
	bg_err e;

	if (svc_request_json(&c->sv, c->g->policy, r, &o, &e) != 0) {
		api_fail(c, &e);
		return;
	}
	if (g != NULL && json_object_set_new(o, "grant", grant_to_json(g, bg_now())) != 0) {
		json_decref(o);
		api_error(c, 500, "internal", "out of memory");
		return;
	}
	if (refusal != NULL) {
		/* Every failing criterion, from the request as kept (an error message is too
		 * short to be sure of holding them all). */
		json_t *v, *msg = json_string("the trigger criteria are not met:");
		size_t i;
		json_array_foreach(json_object_get(o, "criteria"), i, v)
		{
			const char *m = json_string_value(json_object_get(v, "message"));
			if (!json_is_true(json_object_get(v, "ok")) && m != NULL && msg != NULL) {
				json_t *more =
				    json_sprintf("%s%s %s", json_string_value(msg),
				                 json_string_length(msg) > 33 ? ";" : "", m);
				json_decref(msg);
				msg = more;
			}
		}
		o = json_pack("{s:s,s:o*,s:o}", "error", "criteria_not_met", "message",
		              msg != NULL ? msg : json_string(refusal->msg), "request", o);
	}
	api_reply(c, status, o);
}

typedef struct pending_find {
	const char *requester, *incident;
	const char **runbooks;
	size_t n;
	char id[STORE_ID_MAX];
} pending_find;

/* The caller's newest pending request for the same incident and runbooks. */
static int find_pending(void *ctx, const store_request *r)
{
	pending_find *pf = ctx;
	size_t i, k;

	if (strcmp(r->requester, pf->requester) != 0 || strcmp(r->state, "pending") != 0 ||
	    r->extends[0] != '\0' || strcmp(r->incident, pf->incident) != 0 ||
	    r->n_runbooks != pf->n)
		return 0;
	for (i = 0; i < pf->n; i++) {
		for (k = 0; k < r->n_runbooks && (pf->runbooks[i] == NULL ||
		                                  strcmp(pf->runbooks[i], r->runbooks[k]) != 0);
		     k++)
			;
		if (k == r->n_runbooks)
			return 0;
	}
	snprintf(pf->id, sizeof(pf->id), "%s", r->id);
	return 1;
}

static void api_requests_add(api_ctx *c)
{
	json_t *dur = json_object_get(c->in, "duration_seconds");
	const char **runbooks = NULL;
	svc_request_input in = {in_str(c, "incident"), NULL, 0, in_str(c, "reason"),
	                        in_str(c, "ticket"),   0};
	store_request *r = calloc(1, sizeof(*r));
	store_grant *g = calloc(1, sizeof(*g));
	bg_err e;
	int rc;

	if (r == NULL || g == NULL || !in_strings(c, "runbooks", &runbooks, &in.n_runbooks)) {
		api_error(c, 500, "internal", "out of memory");
		goto done;
	}
	in.runbooks = runbooks;
	if (json_is_true(json_object_get(c->in, "solo"))) {
		pending_find pf = {c->me.user.name, in.incident, runbooks, in.n_runbooks, ""};
		if (in.incident == NULL) {
			api_error(c, 400, "bad_request", "incident and runbooks are required");
			goto done;
		}
		rc = svc_request_list(&c->sv, &c->me, find_pending, &pf, &e);
		if (rc == 0 && pf.id[0] == '\0')
			rc = bg_err_set(&e, BG_EINVAL,
			                "solo break-glass takes your pending request for the same "
			                "incident and runbooks: request without --solo first, and "
			                "use --solo once it has waited for an answer");
		if (rc == 0)
			rc = svc_request_solo(&c->sv, c->g->policy, &c->me, pf.id, r, g, &e);
		if (rc != 0)
			api_fail(c, &e);
		else
			request_answer(c, 200, r, g, NULL);
		goto done;
	}
	if (in.incident == NULL || in.reason == NULL || !json_is_integer(dur)) {
		api_error(c, 400, "bad_request",
		          "incident, runbooks, reason and duration_seconds are required");
		goto done;
	}
	in.duration_seconds = json_integer_value(dur);
	rc = svc_request_create(&c->sv, c->g->policy, &c->me, &in, r, &e);
	if (rc == BG_EDENIED && r->id[0] != '\0')
		request_answer(c, 403, r, NULL, &e); /* refused, and kept with its criteria */
	else if (rc != 0)
		api_fail(c, &e);
	else
		request_answer(c, 200, r, NULL, NULL);
done:
	free(runbooks);
	free(r);
	free(g);
}

static int list_request(void *ctx, const store_request *r)
{
	incident_listing *il = ctx;
	json_t *o;
	int rc = svc_request_json(&il->c->sv, il->c->g->policy, r, &o, &il->e);

	return rc != 0 ? rc : list_add(&il->l, o);
}

static void api_requests_list(api_ctx *c)
{
	incident_listing il = {c, {json_array(), false}, {0}};
	int rc = il.l.arr == NULL ? bg_err_set(&il.e, BG_ENOMEM, "out of memory")
	                          : svc_request_list(&c->sv, &c->me, list_request, &il, &il.e);

	list_reply(c, "requests", &il.l, rc, &il.e);
}

static void api_request_show(api_ctx *c)
{
	store_request *r = calloc(1, sizeof(*r));
	store_grant *g = calloc(1, sizeof(*g));
	bg_err e;

	if (r == NULL || g == NULL)
		api_error(c, 500, "internal", "out of memory");
	else if (svc_request_get(&c->sv, &c->me, c->id, r, &e) != 0)
		api_fail(c, &e);
	else
		request_answer(c, 200, r,
		               strcmp(r->state, "approved") == 0 &&
		                       store_grant_by_id(c->sv.st, r->id, g, &e) == 0
		                   ? g
		                   : NULL,
		               NULL);
	free(r);
	free(g);
}

static void answer_with(api_ctx *c, bool approve)
{
	store_request *r = calloc(1, sizeof(*r));
	store_grant *g = calloc(1, sizeof(*g));
	bool granted = false;
	bg_err e;

	if (r == NULL || g == NULL)
		api_error(c, 500, "internal", "out of memory");
	else if (svc_request_answer(&c->sv, c->g->policy, &c->me, c->id, approve,
	                            in_str(c, "reason"), r, &granted, g, &e) != 0)
		api_fail(c, &e);
	else
		request_answer(c, 200, r, granted ? g : NULL, NULL);
	free(r);
	free(g);
}

static void api_request_extend(api_ctx *c)
{
	json_t *dur = json_object_get(c->in, "duration_seconds");
	store_request *r = calloc(1, sizeof(*r));
	bg_err e;
	int rc;

	if (r == NULL) {
		api_error(c, 500, "internal", "out of memory");
		return;
	}
	if (!json_is_integer(dur)) {
		api_error(c, 400, "bad_request", "duration_seconds is required");
		free(r);
		return;
	}
	rc = svc_request_extend(&c->sv, c->g->policy, &c->me, c->id, json_integer_value(dur),
	                        in_str(c, "reason"), r, &e);
	if (rc == BG_EDENIED && r->id[0] != '\0')
		request_answer(c, 403, r, NULL, &e);
	else if (rc != 0)
		api_fail(c, &e);
	else
		request_answer(c, 200, r, NULL, NULL);
	free(r);
}

static void api_request_approve(api_ctx *c)
{
	answer_with(c, true);
}

static void api_request_deny(api_ctx *c)
{
	answer_with(c, false);
}

/* An undo's DynamoDB calls share one deadline (BG_UNDO_TIMEOUT_MS). */
typedef struct undo_io {
	gw *g;
	int64_t deadline_ms;
} undo_io;

static int undo_call(void *ctx, const char *op, const json_t *body, long *status, json_t **answer,
                     bool *sent, char *why, size_t n)
{
	undo_io *u = ctx;

	return gw_ddb_call(u->g, u->deadline_ms, op, body, status, answer, sent, why, n);
}

/* A value of the difference as compact JSON, shortened. */
static void undo_value(bg_buf *b, const json_t *v)
{
	char *t = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	size_t n = t != NULL ? strlen(t) : 0;

	/* A failed append (the message is full) leaves it shorter, which is fine. */
	if (bg_buf_addf(b, "%.*s%s", (int)(n > 120 ? 117 : n), t != NULL ? t : "?",
	                n > 120 ? "..." : "") != 0)
		n = 0;
	free(t);
}

/* The refusal's message with the difference spelt out, so the CLI's one line of text (or
 * its --json failure object) shows it: "...; status: the write left {"S":"PENDING"}, now
 * {"S":"SHIPPED"}" for an admin, "...; status changed since the write" for the grant's
 * user (who is not shown values read past the runbook's mask and projection). */
static json_t *undo_message(const char *msg, const json_t *diff)
{
	bg_buf b;
	json_t *d, *out;
	size_t i;

	bg_buf_init(&b, 1800);
	if (bg_buf_adds(&b, msg) != 0)
		return json_string(msg);
	json_array_foreach(diff, i, d)
	{
		const char *name = json_string_value(json_object_get(d, "attribute"));
		const char *now = json_string_value(json_object_get(d, "now"));
		/* Without the values (svc_undo gives them to admins only): what happened. */
		if (now != NULL) {
			if (bg_buf_addf(&b, "; %.64s %s", name != NULL ? name : "?",
			                strcmp(now, "absent") == 0 ? "removed since the write"
			                : strcmp(now, "present") == 0
			                    ? "added since the write"
			                    : "changed since the write") != 0)
				break;
			continue;
		}
		if (bg_buf_addf(&b, "; %.64s: the write left ", name != NULL ? name : "?") != 0)
			break;
		undo_value(&b, json_object_get(d, "left"));
		if (bg_buf_adds(&b, ", now ") != 0)
			break;
		undo_value(&b, json_object_get(d, "now"));
	}
	out = json_stringn(b.data, b.len);
	bg_buf_free(&b);
	return out != NULL ? out : json_string(msg);
}

/* POST /api/v1/undo {"seq", "grant"}: puts back a write's before-image (svc_undo). A
 * refusal because the item changed carries the difference beside the message. */
static void api_undo(api_ctx *c)
{
	json_t *seq = json_object_get(c->in, "seq"), *out = NULL;
	undo_io io = {c->g, bg_now_ms() + BG_UNDO_TIMEOUT_MS};
	svc_ddb ddb = {undo_call, &io};
	bg_err e;

	if (!json_is_integer(seq)) {
		api_error(c, 400, "bad_request",
		          "seq is required: the audit record of the write (a whole number)");
		return;
	}
	if (svc_undo(&c->sv, &c->me, json_integer_value(seq), in_str(c, "grant"), &ddb, &out, &e) ==
	    0) {
		api_reply(c, 200, out);
		return;
	}
	if (out != NULL && json_object_set_new(out, "error", json_string("changed")) == 0 &&
	    json_object_set_new(out, "message",
	                        undo_message(e.msg, json_object_get(out, "difference"))) == 0) {
		api_reply(c, 409, out);
		return;
	}
	json_decref(out);
	api_fail(c, &e);
}

static const api_route routes[] = {
    {"GET", "/api/v1/whoami", USER_ROLE_ANY, false, api_whoami, NULL},
    {"GET", "/api/v1/status", USER_ROLE_ADMIN | USER_ROLE_AUDITOR, false, api_status,
     "only an admin or an auditor can see the gateway's status"},
    {"GET", "/api/v1/metrics", USER_ROLE_ADMIN | USER_ROLE_AUDITOR, false, api_metrics,
     "only an admin or an auditor can read the metrics"},
    {"GET", "/metrics", USER_ROLE_ADMIN | USER_ROLE_AUDITOR, false, api_metrics,
     "only an admin or an auditor can read the metrics"},
    {"POST", "/api/v1/users", USER_ROLE_ADMIN, true, api_users_add, "only an admin can add users"},
    {"GET", "/api/v1/users", USER_ROLE_ADMIN, false, api_users_list,
     "only an admin can list users"},
    {"POST", "/api/v1/users/{id}/disable", USER_ROLE_ADMIN, true, api_user_disable,
     "only an admin can disable users"},
    {"POST", "/api/v1/users/{id}/enable", USER_ROLE_ADMIN, true, api_user_enable,
     "only an admin can enable users"},
    {"POST", "/api/v1/users/{id}/rotate-token", USER_ROLE_ADMIN, true, api_user_rotate_token,
     "only an admin can rotate a user's token"},
    {"POST", "/api/v1/users/{id}/reset-totp", USER_ROLE_ADMIN, true, api_user_reset_totp,
     "only an admin can reset a user's TOTP key"},
    {"POST", "/api/v1/grants", USER_ROLE_ADMIN, true, api_grants_add,
     "only an admin can grant access directly"},
    {"GET", "/api/v1/grants", USER_ROLE_ANY, false, api_grants_list, NULL},
    {"GET", "/api/v1/audit", USER_ROLE_ADMIN | USER_ROLE_AUDITOR, false, api_audit_read,
     "only an admin or an auditor can read the audit log"},
    {"GET", "/api/v1/audit/pubkey", USER_ROLE_ADMIN | USER_ROLE_AUDITOR, false, api_audit_pubkey,
     "only an admin or an auditor can read the audit log's public key"},
    {"POST", "/api/v1/audit/rotate-key", USER_ROLE_ADMIN, true, api_audit_rotate_key,
     "only an admin can rotate the audit signing key"},
    {"GET", "/api/v1/audit/{id}", USER_ROLE_ADMIN | USER_ROLE_AUDITOR, false, api_audit_show,
     "only an admin or an auditor can read the audit log"},
    {"GET", "/api/v1/grants/{id}", USER_ROLE_ANY, false, api_grant_show, NULL},
    {"POST", "/api/v1/undo", USER_ROLE_ANY, false, api_undo, NULL},
    {"POST", "/api/v1/grants/{id}/revoke", USER_ROLE_ANY, false, api_grant_revoke, NULL},
    {"POST", "/api/v1/grants/{id}/creds", USER_ROLE_ANY, false, api_grant_creds, NULL},
    {"POST", "/api/v1/grants/{id}/render", USER_ROLE_ANY, false, api_grant_render, NULL},
    /* The rest under /api/v1/grants/: wrong actions, wrong methods, bad ids. */
    {"POST", "/api/v1/incidents", USER_ROLE_RESPONDER | USER_ROLE_APPROVER | USER_ROLE_ADMIN, false,
     api_incidents_open, "only a responder, an approver or an admin can open an incident"},
    {"GET", "/api/v1/incidents", USER_ROLE_ANY, false, api_incidents_list, NULL},
    {"GET", "/api/v1/incidents/{id}", USER_ROLE_ANY, false, api_incident_show, NULL},
    {"POST", "/api/v1/incidents/{id}/resolve",
     USER_ROLE_RESPONDER | USER_ROLE_APPROVER | USER_ROLE_ADMIN, false, api_incident_resolve,
     "only a responder, an approver or an admin can resolve an incident"},
    {"POST", "/api/v1/incidents/{id}/close",
     USER_ROLE_RESPONDER | USER_ROLE_APPROVER | USER_ROLE_ADMIN, false, api_incident_close,
     "only a responder, an approver or an admin can close an incident"},
    {"POST", "/api/v1/incidents/{id}/review", USER_ROLE_APPROVER | USER_ROLE_ADMIN, true,
     api_review_sign, "only an approver or an admin can sign a review"},
    {"GET", "/api/v1/reviews", USER_ROLE_ANY, false, api_reviews_list, NULL},
    {"POST", "/api/v1/requests", USER_ROLE_RESPONDER, true, api_requests_add,
     "only a responder can request access"},
    {"GET", "/api/v1/requests", USER_ROLE_ANY, false, api_requests_list, NULL},
    {"GET", "/api/v1/requests/{id}", USER_ROLE_ANY, false, api_request_show, NULL},
    {"POST", "/api/v1/requests/{id}/extend", USER_ROLE_RESPONDER, false, api_request_extend,
     "only a responder can ask for more time"},
    {"POST", "/api/v1/requests/{id}/approve", USER_ROLE_APPROVER, true, api_request_approve,
     "only an approver can approve a request"},
    {"POST", "/api/v1/requests/{id}/deny", USER_ROLE_APPROVER, true, api_request_deny,
     "only an approver can deny a request"},
    {"POST", "/api/v1/grants/{id}/*", USER_ROLE_ANY, false, api_grant_no_action, NULL},
    {NULL, "/api/v1/grants/{id}/*", USER_ROLE_ANY, false, api_grant_not_post, NULL},
    {NULL, "/api/v1/grants/{id}", USER_ROLE_ANY, false, api_grant_not_get, NULL},
    {NULL, "/api/v1/grants/*", USER_ROLE_ANY, false, api_no_grant, NULL},
};

/* Whether path matches pat; an "{id}" segment is copied into id. */
static bool route_match(const char *pat, const char *path, char id[API_ID_MAX])
{
	size_t n;

	while (*pat != '\0') {
		if (strncmp(pat, "{id}", 4) == 0) {
			n = strcspn(path, "/");
			if (n == 0 || n >= API_ID_MAX)
				return false;
			memcpy(id, path, n);
			id[n] = '\0';
			pat += 4;
			path += n;
		} else if (pat[0] == '*' && pat[1] == '\0') {
			return true;
		} else if (*pat++ != *path++) {
			return false;
		}
	}
	return *path == '\0';
}

static const api_route *route_find(const gw_http_request *hr, char id[API_ID_MAX])
{
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if ((routes[i].method == NULL || strcmp(routes[i].method, hr->method) == 0) &&
		    route_match(routes[i].path, hr->path, id))
			return &routes[i];
	return NULL;
}

/* A refusal before any action ran, on the record (after the answer is built, so a slow
 * record never changes what the caller is told). */
static void api_refused(api_ctx *c, const char *actor, const char *why)
{
	bg_err e;

	if (svc_api_refused(&c->sv, actor, c->hr->method, c->hr->path, c->hr->peer, c->rep->status,
	                    why, &e) != 0)
		fprintf(stderr, "breakglass: a refused API call was not recorded: %s\n", e.msg);
}

void gw_api_handle(gw *g, const gw_http_request *hr, gw_reply *rep)
{
	const api_route *r;
	api_ctx c;
	const char *auth;
	size_t alen = 0;
	bg_err e;

	memset(&c, 0, sizeof(c));
	c.g = g;
	c.hr = hr;
	c.rep = rep;
	c.sv.st = g->st;
	c.sv.kr = g->kr;
	c.sv.audit = g->audit;
	c.sv.grants = g->grants;
	c.sv.runbooks = &g->pins;
	c.sv.direct_grants_denied = g->policy != NULL && g->policy->direct_grants_denied;
	c.sv.notify = gw_notifier_svc(g->notifier);

	/* The load balancer's health check: no token, nothing secret; 503 while the gateway
	 * has no valid AWS identity (it would refuse every DynamoDB request). */
	if (strcmp(hr->path, "/api/v1/health") == 0 && strcmp(hr->method, "GET") == 0) {
		credchain_state st;
		memset(&st, 0, sizeof(st));
		credchain_status(g->identity, &st);
		api_reply(&c, st.valid ? 200 : 503,
		          json_pack("{s:s}", "status", st.valid ? "ok" : "no AWS identity"));
		return;
	}
	auth = gw_header(hr, "authorization", &alen);
	bg_err_clear(&e);
	if (auth == NULL || alen < 8 || strncmp(auth, "Bearer ", 7) != 0 ||
	    svc_authenticate(&c.sv, auth + 7, alen - 7, &c.me, &e) != 0) {
		/* A known but disabled user is told so (the token's holder knows whose it is);
		 * anything else gets the same answer. */
		if (e.code == BG_EDENIED)
			api_error(&c, 403, "disabled", e.msg);
		else
			api_error(&c, 401, "unauthenticated",
			          "a valid API token is required (BREAKGLASS_TOKEN)");
		api_refused(&c, e.code == BG_EDENIED ? c.me.user.name : NULL,
		            e.code == BG_EDENIED ? "disabled user"
		                                 : "missing or unknown API token");
		return;
	}
	c.me.request_id = hr->request_id;
	if (strcmp(hr->method, "POST") == 0) {
		json_error_t je;
		c.in = hr->body_len ? json_loadb((const char *)hr->body, hr->body_len,
		                                 JSON_REJECT_DUPLICATES, &je)
		                    : json_object();
		if (!json_is_object(c.in)) {
			api_error(&c, 400, "bad_request", "the body must be a JSON object");
			goto done;
		}
	}

	r = route_find(hr, c.id);
	if (r == NULL) {
		api_error(&c, 404, "not_found", "no such API endpoint");
	} else if (!svc_has_role(&c.me, r->roles)) {
		api_error(&c, 403, "forbidden", r->forbidden ? r->forbidden : "not allowed");
		api_refused(&c, c.me.user.name, r->forbidden ? r->forbidden : "not allowed");
	} else {
		c.me.needs_step_up = r->needs_totp;
		c.me.otp = r->needs_totp ? in_str(&c, "otp") : NULL;
		r->handler(&c);
		/* A route that needs a step-up never answers success without one. */
		if (r->needs_totp && !c.me.stepped_up && rep->status < 300)
			api_error(&c, 500, "internal", "the action's TOTP step-up was not checked");
	}
done:
	json_decref(c.in);
}
