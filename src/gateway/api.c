/*
 * api.c - the JSON API the CLI uses (docs/api.md): users, grants, credentials,
 * revocation and reading the audit log.
 *
 * Every caller is identified by an API token (Bearer). Actions that create access
 * (users, grants) ask for the caller's TOTP code. Each action is written to the audit
 * log before it takes effect; if that write fails the action is not done.
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/validate.h"
#include "gateway/gw.h"
#include "workflow/grant.h"
#include "workflow/user.h"

typedef struct api_ctx {
	gw *g;
	const gw_http_request *hr;
	gw_reply *rep;
	store_user me;
	json_t *in; /* request body, parsed */
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

/* Maps a workflow error to the API's status and code. */
static void api_fail(api_ctx *c, const bg_err *e)
{
	switch (e->code) {
	case BG_EINVAL:
		api_error(c, 400, "bad_request", e->msg);
		break;
	case BG_EAUTH:
	case BG_EDENIED:
		api_error(c, 403, "otp_invalid", e->msg);
		break;
	case BG_ENOTFOUND:
		api_error(c, 404, "not_found", e->msg);
		break;
	case BG_EEXISTS:
		api_error(c, 409, "conflict", e->msg);
		break;
	default:
		api_error(c, 500, "internal", e->msg);
		break;
	}
}

/* Writes an audit record for an API action; on failure answers 503 and returns non-zero. */
static int api_audit(api_ctx *c, const char *kind, const char *grant_id, const char *reason,
                     json_t *detail)
{
	audit_record r;
	bg_err e;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.actor = c->me.name;
	r.grant_id = grant_id;
	r.request_id = c->hr->request_id;
	r.op = kind;
	r.decision = "allow";
	r.reason = reason;
	r.detail = detail;
	if (audit_append(c->g->audit, &r, NULL, &e) != 0) {
		api_error(c, 503, "audit_unavailable",
		          "the audit log could not record this action, so it was not done");
		return -1;
	}
	return 0;
}

static json_t *grant_json(const store_grant *g, int64_t now)
{
	json_t *o = json_object(), *t = json_array(), *ops = json_array();
	char ts[BG_RFC3339_SIZE];
	size_t i;

	for (i = 0; i < g->n_tables; i++)
		json_array_append_new(t, json_string(g->tables[i]));
	for (i = 0; i < g->n_ops; i++)
		json_array_append_new(ops, json_string(g->ops[i]));
	json_object_set_new(o, "id", json_string(g->id));
	json_object_set_new(o, "user", json_string(g->user));
	json_object_set_new(o, "created_by", json_string(g->created_by));
	json_object_set_new(o, "kind", json_string(g->kind));
	json_object_set_new(o, "tables", t);
	json_object_set_new(o, "ops", ops);
	bg_rfc3339(g->created_at, ts);
	json_object_set_new(o, "created_at", json_string(ts));
	bg_rfc3339(g->expires_at, ts);
	json_object_set_new(o, "expires_at", json_string(ts));
	if (g->revoked_at) {
		bg_rfc3339(g->revoked_at, ts);
		json_object_set_new(o, "revoked_at", json_string(ts));
		json_object_set_new(o, "revoked_by", json_string(g->revoked_by));
	} else {
		json_object_set_new(o, "revoked_at", json_null());
	}
	json_object_set_new(o, "status", json_string(grant_state_name(grant_status(g, now))));
	json_object_set_new(o, "reason", json_string(g->reason));
	json_object_set_new(o, "access_key_id", json_string(g->access_key_id));
	return o;
}

static bool is_admin(const api_ctx *c)
{
	return user_role_parse(c->me.role) == USER_ROLE_ADMIN;
}

static const char *in_str(api_ctx *c, const char *key)
{
	return json_string_value(json_object_get(c->in, key));
}

/* Checks the caller's TOTP code from the body's "otp". */
static int require_otp(api_ctx *c)
{
	bg_err e;

	bg_err_clear(&e);
	if (user_check_otp(c->g->st, c->g->kr, &c->me, in_str(c, "otp"), &e) != 0) {
		api_error(c, e.code == BG_EOTP ? 400 : 403, "otp_invalid", e.msg);
		return -1;
	}
	return 0;
}

static void api_users_add(api_ctx *c)
{
	const char *name = in_str(c, "name"), *role = in_str(c, "role");
	user_secrets us;
	json_t *d;
	bg_err e;

	if (!is_admin(c))
		return api_error(c, 403, "forbidden", "only an admin can add users");
	if (name == NULL || role == NULL)
		return api_error(c, 400, "bad_request", "name and role are required");
	if (user_role_parse(role) == USER_ROLE_NONE)
		return api_error(c, 400, "bad_request",
		                 "role must be admin, responder or approver");
	if (require_otp(c))
		return;
	d = json_pack("{s:s,s:s}", "name", name, "role", role);
	if (api_audit(c, "user", NULL, NULL, d) != 0) {
		json_decref(d);
		return;
	}
	json_decref(d);
	bg_err_clear(&e);
	if (user_create(c->g->st, c->g->kr, name, user_role_parse(role), &us, &e) != 0)
		return api_fail(c, &e);
	api_reply(c, 200,
	          json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", name, "role", role, "token", us.token,
	                    "totp_secret", us.totp_secret, "totp_uri", us.totp_uri.data));
	user_secrets_free(&us);
}

static int fill_names(json_t *arr, size_t max, size_t width, char *dst, size_t *n, const char *what,
                      bg_err *e)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > max)
		return bg_err_set(e, BG_EINVAL, "%s must be a list of 1 to %zu names", what, max);
	json_array_foreach(arr, i, v)
	{
		const char *s = json_string_value(v);
		size_t l = s ? strlen(s) : 0;
		if (l == 0 || l >= width)
			return bg_err_set(e, BG_EINVAL, "invalid name in %s", what);
		memcpy(dst + i * width, s, l + 1);
	}
	*n = json_array_size(arr);
	return 0;
}

static void api_grants_add(api_ctx *c)
{
	store_grant *g = calloc(1, sizeof(*g));
	store_user target;
	const char *user = in_str(c, "user"), *reason = in_str(c, "reason");
	json_t *dur = json_object_get(c->in, "duration_seconds"), *d = NULL;
	int64_t now = bg_now();
	bg_err e;

	bg_err_clear(&e);
	if (g == NULL)
		return api_error(c, 500, "internal", "out of memory");
	if (!is_admin(c)) {
		api_error(c, 403, "forbidden", "only an admin can grant access directly");
		goto done;
	}
	if (user == NULL || !json_is_integer(dur)) {
		api_error(c, 400, "bad_request",
		          "user, tables, ops and duration_seconds are required");
		goto done;
	}
	if (store_user_by_name(c->g->st, user, &target, &e) != 0) {
		api_fail(c, &e);
		goto done;
	}
	if (fill_names(json_object_get(c->in, "tables"), BG_MAX_GRANT_TABLES, sizeof(g->tables[0]),
	               g->tables[0], &g->n_tables, "tables", &e) ||
	    fill_names(json_object_get(c->in, "ops"), BG_MAX_GRANT_OPS, sizeof(g->ops[0]),
	               g->ops[0], &g->n_ops, "ops", &e)) {
		api_fail(c, &e);
		goto done;
	}
	if (reason && strlen(reason) > BG_MAX_REASON) {
		api_error(c, 400, "bad_request", "reason is too long");
		goto done;
	}
	snprintf(g->user, sizeof(g->user), "%s", target.name);
	snprintf(g->created_by, sizeof(g->created_by), "%s", c->me.name);
	snprintf(g->kind, sizeof(g->kind), "direct");
	snprintf(g->reason, sizeof(g->reason), "%s", reason ? reason : "");
	if (!bg_valid_grant_seconds(json_integer_value(dur))) {
		api_error(c, 400, "bad_request", "duration_seconds must be 1 to 43200");
		goto done;
	}
	g->expires_at = now + json_integer_value(dur);
	if (grant_mint(c->g->kr, g, now, &e) != 0) {
		api_fail(c, &e);
		goto done;
	}
	if (require_otp(c))
		goto done;
	d = grant_json(g, now);
	if (api_audit(c, "grant", g->id, g->reason, d) != 0)
		goto done;
	if (store_grant_add(c->g->st, g, &e) != 0) {
		api_fail(c, &e);
		goto done;
	}
	api_reply(c, 200, d);
	d = NULL;
done:
	json_decref(d);
	free(g);
}

static int list_one(void *ctx, const store_grant *g)
{
	json_array_append_new(ctx, grant_json(g, bg_now()));
	return 0;
}

static void api_grants_list(api_ctx *c)
{
	json_t *arr = json_array();
	bg_err e;

	if (store_grant_list(c->g->st, is_admin(c) ? NULL : c->me.name, list_one, arr, &e) != 0) {
		json_decref(arr);
		return api_fail(c, &e);
	}
	api_reply(c, 200, json_pack("{s:o}", "grants", arr));
}

static void api_grant_one(api_ctx *c, const char *id, const char *action)
{
	store_grant *g = calloc(1, sizeof(*g));
	grant_creds cr;
	char exp[BG_RFC3339_SIZE];
	int64_t now = bg_now();
	bg_err e;

	bg_err_clear(&e);
	if (g == NULL)
		return api_error(c, 500, "internal", "out of memory");
	if (store_grant_by_id(c->g->st, id, g, &e) != 0) {
		api_fail(c, &e);
		goto done;
	}
	/* Others' grants are invisible: answer as if they did not exist. */
	if (!is_admin(c) && strcmp(g->user, c->me.name) != 0) {
		api_error(c, 404, "not_found", "no such grant");
		goto done;
	}
	if (action == NULL) {
		if (strcmp(c->hr->method, "GET") != 0)
			api_error(c, 400, "bad_request", "use GET for a grant");
		else
			api_reply(c, 200, grant_json(g, now));
	} else if (strcmp(action, "revoke") == 0) {
		if (api_audit(c, "revoke", g->id, NULL, NULL) != 0)
			goto done;
		if (store_grant_revoke(c->g->st, g->id, c->me.name, now, &e) != 0 ||
		    store_grant_by_id(c->g->st, id, g, &e) != 0) {
			api_fail(c, &e);
			goto done;
		}
		api_reply(c, 200, grant_json(g, now));
	} else if (strcmp(action, "creds") == 0) {
		/* Only the grantee: an admin who grants must not also hold the keys. */
		if (strcmp(g->user, c->me.name) != 0) {
			api_error(c, 403, "forbidden",
			          "only the grantee can fetch a grant's credentials");
			goto done;
		}
		if (grant_status(g, now) != GRANT_ACTIVE) {
			api_error(c, 403, "forbidden", "the grant is no longer active");
			goto done;
		}
		if (api_audit(c, "creds", g->id, NULL, NULL) != 0)
			goto done;
		grant_credentials(c->g->kr, g, &cr);
		bg_rfc3339(g->expires_at, exp);
		api_reply(c, 200,
		          json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "grant", g->id,
		                    "access_key_id", cr.access_key_id, "secret_access_key",
		                    cr.secret_access_key, "session_token", cr.session_token,
		                    "expiration", exp, "region", c->g->cfg.region, "endpoint",
		                    c->g->cfg.public_url));
		OPENSSL_cleanse(&cr, sizeof(cr));
	} else {
		api_error(c, 404, "not_found", "no such action");
	}
done:
	free(g);
}

static int audit_one(void *ctx, json_t *rec)
{
	json_array_append(ctx, rec);
	return 0;
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

static void api_audit_read(api_ctx *c)
{
	int64_t after = arg_int(c->hr, "after", 0), limit = arg_int(c->hr, "limit", 100);
	json_t *arr;
	bg_err e;

	if (!is_admin(c))
		return api_error(c, 403, "forbidden", "only an admin can read the audit log");
	if (after < 0 || limit <= 0 || limit > 1000)
		return api_error(c, 400, "bad_request", "after >= 0 and 1 <= limit <= 1000");
	arr = json_array();
	if (audit_read(c->g->audit, after, limit, audit_one, arr, &e) != 0) {
		json_decref(arr);
		return api_fail(c, &e);
	}
	api_reply(c, 200, json_pack("{s:o}", "records", arr));
}

void gw_api_handle(gw *g, const gw_http_request *hr, gw_reply *rep)
{
	api_ctx c;
	const char *auth, *p;
	size_t alen = 0;
	bg_err e;
	char id[STORE_ID_MAX];
	const char *slash;
	int post = strcmp(hr->method, "POST") == 0, get = strcmp(hr->method, "GET") == 0;

	memset(&c, 0, sizeof(c));
	c.g = g;
	c.hr = hr;
	c.rep = rep;
	bg_err_clear(&e);

	auth = gw_header(hr, "authorization", &alen);
	if (auth == NULL || alen < 8 || strncmp(auth, "Bearer ", 7) != 0 ||
	    user_authenticate(g->st, auth + 7, alen - 7, &c.me, &e) != 0)
		return api_error(&c, 401, "unauthenticated",
		                 "a valid API token is required (BREAKGLASS_TOKEN)");
	if (post) {
		json_error_t je;
		c.in = hr->body_len ? json_loadb((const char *)hr->body, hr->body_len,
		                                 JSON_REJECT_DUPLICATES, &je)
		                    : json_object();
		if (!json_is_object(c.in)) {
			json_decref(c.in);
			return api_error(&c, 400, "bad_request", "the body must be a JSON object");
		}
	}

	p = hr->path;
	if (get && strcmp(p, "/api/v1/whoami") == 0)
		api_reply(&c, 200, json_pack("{s:s,s:s}", "user", c.me.name, "role", c.me.role));
	else if (post && strcmp(p, "/api/v1/users") == 0)
		api_users_add(&c);
	else if (post && strcmp(p, "/api/v1/grants") == 0)
		api_grants_add(&c);
	else if (get && strcmp(p, "/api/v1/grants") == 0)
		api_grants_list(&c);
	else if (get && strcmp(p, "/api/v1/audit") == 0)
		api_audit_read(&c);
	else if (strncmp(p, "/api/v1/grants/", 15) == 0) {
		p += 15;
		slash = strchr(p, '/');
		if ((slash ? (size_t)(slash - p) : strlen(p)) >= sizeof(id) || p[0] == '/' ||
		    p[0] == '\0') {
			api_error(&c, 404, "not_found", "no such grant");
		} else {
			size_t n = slash ? (size_t)(slash - p) : strlen(p);
			memcpy(id, p, n);
			id[n] = '\0';
			if (slash && !post)
				api_error(&c, 400, "bad_request", "use POST for grant actions");
			else
				api_grant_one(&c, id, slash ? slash + 1 : NULL);
		}
	} else
		api_error(&c, 404, "not_found", "no such API endpoint");
	json_decref(c.in);
}
