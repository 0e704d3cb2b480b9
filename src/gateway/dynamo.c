/*
 * dynamo.c - the DynamoDB endpoint: authenticate, authorise, audit, forward, audit, release.
 *
 * Order matters and is the product's promise. A request is answered by the gateway
 * itself (never forwarded) unless its signature verifies with a live grant's
 * credentials and the parsed request lies inside the grant. The request record is
 * durable before anything is sent upstream and the response record before the answer
 * is released; if either write fails the client gets an error and, for the request
 * record, DynamoDB never sees the call. Every refusal is recorded too.
 */
#include <jansson.h>
#include <string.h>

#include "common/clock.h"
#include "gateway/gw.h"
#include "protocol/ddb_error.h"
#include "protocol/ddb_request.h"
#include "workflow/grant.h"

/* What is known about a request so far, for its audit records. */
typedef struct dyn_ctx {
	gw *g;
	const gw_http_request *hr;
	gw_reply *rep;
	const char *actor;
	const char *grant_id;
	const char *op;
	const char *tables;
	json_t *body; /* borrowed parsed body, once parsed */
} dyn_ctx;

static json_t *body_summary(const dyn_ctx *c)
{
	json_t *d = json_object();
	uint8_t h[32];
	char hex[65];

	if (d == NULL)
		return NULL;
	json_object_set_new(d, "peer", json_string(c->hr->peer));
	if (c->body) {
		json_object_set(d, "body", c->body);
	} else {
		bg_sha256(c->hr->body, c->hr->body_len, h);
		bg_hex(h, sizeof(h), hex);
		json_object_set_new(d, "body_bytes", json_integer((json_int_t)c->hr->body_len));
		json_object_set_new(d, "body_sha256", json_string(hex));
	}
	return d;
}

/* Records and sends a refusal. The refusal is sent even if the record cannot be
 * written: refusing is the safe side either way. */
static void refuse(dyn_ctx *c, ddb_error_kind k, const char *msg)
{
	audit_record r;
	json_t *d = body_summary(c);
	bg_err e;

	memset(&r, 0, sizeof(r));
	r.kind = "denial";
	r.actor = c->actor;
	r.grant_id = c->grant_id;
	r.request_id = c->hr->request_id;
	r.op = c->op;
	r.tables = c->tables;
	r.decision = "deny";
	r.reason = msg;
	r.status = ddb_error_status(k);
	if (d)
		json_object_set_new(d, "error", json_string(ddb_error_type(k)));
	r.detail = d;
	if (audit_append(c->g->audit, &r, NULL, &e) != 0)
		fprintf(stderr, "breakglass: audit of a denial failed: %s\n", e.msg);
	json_decref(d);

	c->rep->status = ddb_error_status(k);
	bg_buf_reset(&c->rep->body);
	if (ddb_error_body(k, msg, &c->rep->body) != 0)
		c->rep->status = 500;
}

static void fail_internal(dyn_ctx *c, const char *why)
{
	c->rep->status = ddb_error_status(DDB_ERR_INTERNAL);
	bg_buf_reset(&c->rep->body);
	if (ddb_error_body(DDB_ERR_INTERNAL, why, &c->rep->body) != 0)
		c->rep->status = 500;
}

static ddb_error_kind sigv4_kind(int st)
{
	switch (st) {
	case SIGV4_MISSING:
		return DDB_ERR_MISSING_AUTH;
	case SIGV4_INCOMPLETE:
		return DDB_ERR_INCOMPLETE_SIGNATURE;
	case SIGV4_UNKNOWN_KEY:
		return DDB_ERR_UNRECOGNIZED_CLIENT;
	case SIGV4_INTERNAL:
		return DDB_ERR_INTERNAL;
	default:
		return DDB_ERR_INVALID_SIGNATURE;
	}
}

static int secret_cb(void *ctx, const char *akid, char *buf, size_t cap)
{
	gw *g = ctx;
	store_grant *grant = malloc(sizeof(*grant));
	int rc;

	if (grant == NULL)
		return BG_ENOMEM;
	rc = store_grant_by_akid(g->st, akid, grant, NULL);
	free(grant);
	if (rc)
		return rc;
	if (cap < GRANT_SECRET_LEN + 1)
		return BG_ELIMIT;
	grant_secret(g->kr, akid, buf);
	return 0;
}

/* The answer's ConsumedCapacity (for the audit and, later, budgets). DynamoDB reports it
 * only when the request asked (ReturnConsumedCapacity other than NONE), so the answer,
 * up to a 1 MiB page, is parsed only then. */
static json_t *consumed_capacity(json_t *req, const upstream_response *ur)
{
	const char *rcc = json_string_value(json_object_get(req, "ReturnConsumedCapacity"));
	json_t *doc, *cc = NULL;

	if (ur->status != 200 || ur->body.len == 0 || rcc == NULL || strcmp(rcc, "NONE") == 0)
		return NULL;
	doc = json_loadb(ur->body.data, ur->body.len, 0, NULL);
	if (doc) {
		cc = json_object_get(doc, "ConsumedCapacity");
		json_incref(cc);
		json_decref(doc);
	}
	return cc;
}

void gw_dynamo_handle(gw *g, const gw_http_request *hr, gw_reply *rep)
{
	dyn_ctx c;
	sigv4_request sr;
	sigv4_result vr;
	store_grant *grant = NULL;
	ddb_request *req = NULL;
	upstream_response ur;
	audit_record ar;
	json_t *detail = NULL;
	bg_buf tables;
	bg_err e;
	const char *target;
	size_t target_len = 0;
	uint8_t tok_hash[32];
	char when[21];
	int64_t now = bg_now();
	int st;

	memset(&c, 0, sizeof(c));
	memset(&ur, 0, sizeof(ur));
	bg_buf_init(&tables, 64 * 1024);
	bg_err_clear(&e);
	c.g = g;
	c.hr = hr;
	c.rep = rep;

	/* server.c sends only POST to exactly "/" with no query here, so the decoded path
	 * libmicrohttpd gives us is the raw one the client signed. */
	memset(&sr, 0, sizeof(sr));
	sr.method = hr->method;
	sr.path = hr->path;
	sr.path_len = strlen(hr->path);
	sr.query = "";
	sr.headers = hr->headers;
	sr.n_headers = hr->n_headers;
	sr.body = hr->body;
	sr.body_len = hr->body_len;
	memset(&vr, 0, sizeof(vr));
	st = sigv4_verify(g->verifier, &sr, (time_t)now, secret_cb, g, &vr, &e);
	if (vr.access_key_id[0])
		c.actor = vr.access_key_id;
	if (st != SIGV4_OK) {
		refuse(&c, sigv4_kind(st), e.msg);
		goto done;
	}

	grant = malloc(sizeof(*grant));
	if (grant == NULL) {
		fail_internal(&c, "out of memory");
		goto done;
	}
	st = store_grant_by_akid(g->st, vr.access_key_id, grant, &e);
	if (st == BG_ENOTFOUND) {
		refuse(&c, DDB_ERR_UNRECOGNIZED_CLIENT,
		       "The security token included in the request is invalid.");
		goto done;
	} else if (st) {
		fail_internal(&c, "breakglass: the state store is unavailable; request refused");
		goto done;
	}
	c.actor = grant->user;
	c.grant_id = grant->id;

	/* The session token is a second secret: it must come with the key and match. */
	if (vr.session_token == NULL) {
		refuse(&c, DDB_ERR_UNRECOGNIZED_CLIENT,
		       "The security token included in the request is invalid.");
		goto done;
	}
	bg_sha256(vr.session_token, vr.session_token_len, tok_hash);
	if (!bg_ct_equal(tok_hash, grant->session_token_hash, sizeof(tok_hash))) {
		refuse(&c, DDB_ERR_UNRECOGNIZED_CLIENT,
		       "The security token included in the request is invalid.");
		goto done;
	}
	/* Parsed before the liveness check only so that a refusal of an expired or revoked
	 * grant still records what was attempted; the refusals keep their order. */
	target = gw_header(hr, "x-amz-target", &target_len);
	st = ddb_request_parse(target ? target : "", target_len, hr->body, hr->body_len, &req, &e);
	if (st == DDB_OK) {
		c.op = ddb_request_op(req)->name;
		c.body = ddb_request_json(req);
		if (ddb_request_tables_joined(req, &tables) == 0)
			c.tables = tables.data;
	}
	switch (grant_status(grant, now)) {
	case GRANT_EXPIRED:
		refuse(&c, DDB_ERR_EXPIRED_TOKEN,
		       "The security token included in the request is expired");
		goto done;
	case GRANT_REVOKED:
		bg_rfc3339(grant->revoked_at, when);
		bg_err_set(&e, BG_EDENIED, "Grant %s was revoked at %s by %s; ask for a new grant",
		           grant->id, when, grant->revoked_by);
		refuse(&c, DDB_ERR_ACCESS_DENIED, e.msg);
		goto done;
	case GRANT_ACTIVE:
		break;
	}
	if (st != DDB_OK) {
		refuse(&c, ddb_request_error_kind(st), e.msg);
		goto done;
	}
	if (grant_check(grant, req, &e) != 0) {
		refuse(&c, DDB_ERR_ACCESS_DENIED, e.msg);
		goto done;
	}

	/* Write-ahead: the request is on disk before DynamoDB sees it. */
	memset(&ar, 0, sizeof(ar));
	ar.kind = "request";
	ar.actor = c.actor;
	ar.grant_id = c.grant_id;
	ar.request_id = hr->request_id;
	ar.op = c.op;
	ar.tables = c.tables;
	ar.decision = "allow";
	detail = body_summary(&c);
	ar.detail = detail;
	if (audit_append(g->audit, &ar, NULL, &e) != 0) {
		fail_internal(&c, "breakglass: the audit log is unavailable; request refused "
		                  "(fail closed)");
		goto done;
	}
	json_decref(detail);
	detail = NULL;

	st = upstream_call(g->up, target, target_len, hr->body, hr->body_len, &ur, &e);

	memset(&ar, 0, sizeof(ar));
	ar.kind = "response";
	ar.actor = c.actor;
	ar.grant_id = c.grant_id;
	ar.request_id = hr->request_id;
	ar.op = c.op;
	ar.tables = c.tables;
	ar.status = st == 0 ? (int)ur.status : 0;
	ar.reason = st == 0 ? NULL : e.msg;
	detail = json_object();
	if (detail && st == 0) {
		json_object_set_new(detail, "bytes", json_integer((json_int_t)ur.body.len));
		json_object_set_new(detail, "upstream_request_id", json_string(ur.request_id));
		json_object_set_new(detail, "consumed_capacity", consumed_capacity(c.body, &ur));
		if (ur.status != 200)
			json_object_set_new(
			    detail, "error",
			    json_loadb(ur.body.data ? ur.body.data : "", ur.body.len, 0, NULL));
	}
	ar.detail = detail;
	if (audit_append(g->audit, &ar, NULL, &e) != 0) {
		fail_internal(&c, "breakglass: the audit log is unavailable; response withheld "
		                  "(fail closed)");
		goto done;
	}
	if (st != 0) {
		fail_internal(&c, "breakglass: DynamoDB could not be reached");
		goto done;
	}

	/* Released unchanged: same status, body, request id and checksum. */
	rep->status = (int)ur.status;
	bg_buf_reset(&rep->body);
	if (bg_buf_add(&rep->body, ur.body.data ? ur.body.data : "", ur.body.len) != 0) {
		fail_internal(&c, "breakglass: response too large");
		goto done;
	}
	memcpy(rep->content_type, ur.content_type, sizeof(rep->content_type));
	gw_reply_header(rep, "x-amzn-RequestId", ur.request_id);
	gw_reply_header(rep, "x-amz-crc32", ur.crc32);
done:
	json_decref(detail);
	upstream_response_free(&ur);
	ddb_request_free(req);
	free(grant);
	bg_buf_free(&tables);
}
