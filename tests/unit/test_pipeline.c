/*
 * test_pipeline.c - the DynamoDB request pipeline's stages, driven through its own
 * interface (pl_io) with no sockets, no disk and no upstream: the test plays the audit
 * log and DynamoDB, and checks the order the product promises (request record durable
 * before forwarding, response record before release, refusals recorded, unknown outcomes
 * reported as such), and TRANSFORM's masking for a runbook grant (the released body and
 * its x-amz-crc32, the response record's hashes; an answer that cannot be masked is
 * withheld).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <zlib.h>

#include "unit_util.h"

#include "common/buf.h"
#include "common/crypto.h"
#include "gateway/pipeline.h"
#include "store/keyring.h"
#include "workflow/grant.h"

#define NOW 2000000000

static char keypath[64];
static keyring *kr;
static sigv4_verifier *verifier;
static grant_cache *grants;
static pl_env env;
static store_grant grant;
static grant_creds creds;

/* What the fake I/O saw. */
typedef struct seen {
	int audits, forwards, replies;
	char kinds[8][16];
	json_t *details[8];
	char reasons[8][256];
	char target[64];
	size_t body_len;
	char body[1024]; /* the forwarded body */
	int status;
	char reply[1024];
	char crc32[16];
	int audit_rc; /* what io->audit returns */
	int forward_rc;
	const char *order[16];
	int n_order;
} seen;

static seen S;

static int64_t fixed_now(void)
{
	return NOW;
}

static int io_audit(void *ctx, pl_req *r, const audit_record *rec)
{
	int i = S.audits++;

	if (S.audit_rc)
		return S.audit_rc;
	snprintf(S.kinds[i], sizeof(S.kinds[i]), "%s", rec->kind);
	snprintf(S.reasons[i], sizeof(S.reasons[i]), "%s", rec->reason ? rec->reason : "");
	S.details[i] = json_deep_copy(rec->detail);
	S.order[S.n_order++] = "audit";
	return 0;
}

static int io_forward(void *ctx, pl_req *r, const char *target, size_t tlen, const uint8_t *body,
                      size_t len)
{
	S.forwards++;
	S.order[S.n_order++] = "forward";
	snprintf(S.target, sizeof(S.target), "%.*s", (int)tlen, target);
	S.body_len = len;
	snprintf(S.body, sizeof(S.body), "%.*s", (int)len, (const char *)body);
	return S.forward_rc;
}

static void io_reply(void *ctx, pl_req *r, pl_reply *rep)
{
	S.replies++;
	S.order[S.n_order++] = "reply";
	S.status = rep->status;
	snprintf(S.reply, sizeof(S.reply), "%.*s", (int)rep->body.len,
	         rep->body.data ? rep->body.data : "");
	snprintf(S.crc32, sizeof(S.crc32), "%s", rep->crc32 ? rep->crc32 : "");
}

static const pl_io io = {io_audit, io_forward, io_reply};

static int setup(void **state)
{
	static const char *const required[] = {"host", "x-amz-target"};
	int fd;
	bg_err e;

	snprintf(keypath, sizeof(keypath), "/tmp/bg-test-pipeline-XXXXXX");
	fd = mkstemp(keypath);
	if (fd < 0)
		return -1;
	close(fd);
	unlink(keypath);
	if (keyring_load(keypath, true, &kr, &e) != 0)
		return -1;
	verifier = sigv4_verifier_new("us-east-1", "dynamodb", required, 2);
	if (verifier == NULL || grant_cache_new(NULL, NOW, &grants, &e) != 0)
		return -1;
	memset(&grant, 0, sizeof(grant));
	snprintf(grant.user, sizeof(grant.user), "oncall");
	snprintf(grant.created_by, sizeof(grant.created_by), "admin");
	snprintf(grant.kind, sizeof(grant.kind), "direct");
	snprintf(grant.tables[grant.n_tables++], sizeof(grant.tables[0]), "Orders");
	snprintf(grant.ops[grant.n_ops++], sizeof(grant.ops[0]), "Query");
	snprintf(grant.ops[grant.n_ops++], sizeof(grant.ops[0]), "GetItem");
	snprintf(grant.ops[grant.n_ops++], sizeof(grant.ops[0]), "PutItem");
	snprintf(grant.ops[grant.n_ops++], sizeof(grant.ops[0]), "UpdateItem");
	grant.expires_at = NOW + 900;
	if (grant_mint(kr, &grant, NOW, &e) != 0 || grant_cache_put(grants, &grant) != 0)
		return -1;
	grant_credentials(kr, &grant, &creds);
	env.verifier = verifier;
	env.grants = grants;
	env.kr = kr;
	env.now = fixed_now;
	return 0;
}

static int teardown(void **state)
{
	grant_cache_free(grants);
	sigv4_verifier_free(verifier);
	keyring_free(kr);
	return unlink(keypath);
}

static void reset(void)
{
	int i;

	for (i = 0; i < 8; i++)
		json_decref(S.details[i]);
	memset(&S, 0, sizeof(S));
}

/* A request signed with the grant's credentials, as a client would send it. */
typedef struct signed_req {
	sigv4_header h[6];
	char date[17], target[64], auth[1024];
	const char *body;
	pl_http http;
} signed_req;

static void sign(signed_req *s, const char *op, const char *body, const grant_creds *c)
{
	sigv4_request req;
	sigv4_sign_params p;
	sigv4_signed sig;
	bg_err e;
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	s->body = body;
	snprintf(s->target, sizeof(s->target), "DynamoDB_20120810.%s", op);
	s->h[n++] = (sigv4_header){"Content-Type", 12, "application/x-amz-json-1.0", 26};
	s->h[n++] = (sigv4_header){"Host", 4, "127.0.0.1:8700", 14};
	s->h[n++] = (sigv4_header){"X-Amz-Target", 12, s->target, strlen(s->target)};
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/";
	req.path_len = 1;
	req.query = "";
	req.headers = s->h;
	req.n_headers = n;
	req.body = body;
	req.body_len = strlen(body);
	memset(&p, 0, sizeof(p));
	p.access_key_id = c->access_key_id;
	p.secret_key = c->secret_access_key;
	p.session_token = c->session_token;
	p.region = "us-east-1";
	p.service = "dynamodb";
	p.now = NOW;
	p.normalize_path = true;
	assert_int_equal(sigv4_sign(&req, &p, &sig, &e), 0);
	snprintf(s->date, sizeof(s->date), "%s", sig.amz_date);
	snprintf(s->auth, sizeof(s->auth), "%s", sig.authorization.data);
	sigv4_signed_free(&sig);
	s->h[n++] = (sigv4_header){"X-Amz-Date", 10, s->date, strlen(s->date)};
	s->h[n++] =
	    (sigv4_header){"X-Amz-Security-Token", 20, c->session_token, strlen(c->session_token)};
	s->h[n++] = (sigv4_header){"Authorization", 13, s->auth, strlen(s->auth)};
	s->http.method = "POST";
	s->http.path = "/";
	s->http.path_len = 1;
	s->http.headers = s->h;
	s->http.n_headers = n;
	s->http.body = (const uint8_t *)body;
	s->http.body_len = strlen(body);
	s->http.peer = "127.0.0.1:5555";
}

static const char query[] = "{\"TableName\":\"Orders\",\"KeyConditionExpression\":\"pk = :p\","
                            "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"A\"}}}";

static upstream_response answer(int status, const char *body)
{
	upstream_response r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	bg_buf_init(&r.body, 1 << 20);
	assert_int_equal(bg_buf_adds(&r.body, body), 0);
	snprintf(r.request_id, sizeof(r.request_id), "UPSTREAM-1");
	snprintf(r.crc32, sizeof(r.crc32), "42");
	return r;
}

static void test_allowed_request_order(void **state)
{
	signed_req s;
	upstream_response up = answer(200, "{\"Items\":[],\"Count\":0}");
	pl_req *r;

	reset();
	sign(&s, "Query", query, &creds);
	r = pl_req_new(&env, &io, NULL, &s.http, "RID1");
	assert_non_null(r);
	pl_run(r);
	/* Waiting for the request record: nothing has gone upstream yet. */
	assert_int_equal(pl_req_stage(r), PL_AUDIT_REQUEST);
	assert_string_equal(S.kinds[0], "request");
	assert_int_equal(S.forwards, 0);
	pl_audit_done(r, 0, NULL);
	assert_int_equal(pl_req_stage(r), PL_FORWARD);
	assert_int_equal(S.forwards, 1);
	assert_string_equal(S.target, "DynamoDB_20120810.Query");
	/* The client's request, asking DynamoDB for the capacity it consumes. */
	{
		json_t *want = json_loads(query, 0, NULL), *got = json_loads(S.body, 0, NULL);
		json_object_set_new(want, "ReturnConsumedCapacity", json_string("TOTAL"));
		assert_true(json_equal(want, got));
		json_decref(want);
		json_decref(got);
	}
	pl_forward_done(r, UPSTREAM_ANSWERED, &up, NULL);
	/* Waiting for the response record: nothing released yet. */
	assert_int_equal(pl_req_stage(r), PL_AUDIT_RESPONSE);
	assert_string_equal(S.kinds[1], "response");
	assert_string_equal(json_string_value(json_object_get(S.details[1], "outcome")),
	                    "answered");
	assert_int_equal(S.replies, 0);
	pl_audit_done(r, 0, NULL);
	assert_int_equal(pl_req_stage(r), PL_DONE);
	assert_int_equal(S.replies, 1);
	assert_int_equal(S.status, 200);
	assert_string_equal(S.reply, "{\"Items\":[],\"Count\":0}");
	assert_string_equal(S.order[0], "audit");
	assert_string_equal(S.order[1], "forward");
	assert_string_equal(S.order[2], "audit");
	assert_string_equal(S.order[3], "reply");
	upstream_response_free(&up);
	pl_req_free(r);
}

static void test_request_record_fails_closed(void **state)
{
	signed_req s;
	pl_req *r;

	reset();
	sign(&s, "Query", query, &creds);
	r = pl_req_new(&env, &io, NULL, &s.http, "RID2");
	pl_run(r);
	pl_audit_done(r, BG_EIO, "disk full");
	assert_int_equal(pl_req_stage(r), PL_DONE);
	assert_int_equal(S.forwards, 0);
	assert_int_equal(S.status, 400);
	assert_non_null(strstr(S.reply, "RequestRefusedException"));
	pl_req_free(r);

	/* The queue refusing the record at once is the same: never forwarded. */
	reset();
	S.audit_rc = BG_ELIMIT;
	r = pl_req_new(&env, &io, NULL, &s.http, "RID3");
	pl_run(r);
	assert_int_equal(pl_req_stage(r), PL_DONE);
	assert_int_equal(S.forwards, 0);
	assert_non_null(strstr(S.reply, "RequestRefusedException"));
	pl_req_free(r);
}

static void test_outcomes(void **state)
{
	signed_req s;
	pl_req *r;

	/* Sent, no answer: "outcome unknown", recorded so, never called a refusal. */
	reset();
	sign(&s, "Query", query, &creds);
	r = pl_req_new(&env, &io, NULL, &s.http, "RID4");
	pl_run(r);
	pl_audit_done(r, 0, NULL);
	pl_forward_done(r, UPSTREAM_UNKNOWN, NULL, "Operation timed out");
	assert_string_equal(json_string_value(json_object_get(S.details[1], "outcome")), "unknown");
	assert_string_equal(S.reasons[1], "Operation timed out");
	pl_audit_done(r, 0, NULL);
	assert_non_null(strstr(S.reply, "RequestOutcomeUnknownException"));
	assert_null(strstr(S.reply, "RequestRefused"));
	pl_req_free(r);

	/* Never sent: refused (it did not run). */
	reset();
	r = pl_req_new(&env, &io, NULL, &s.http, "RID5");
	pl_run(r);
	pl_audit_done(r, 0, NULL);
	pl_forward_done(r, UPSTREAM_NOT_SENT, NULL, "Connection refused");
	assert_string_equal(json_string_value(json_object_get(S.details[1], "outcome")),
	                    "not_sent");
	pl_audit_done(r, 0, NULL);
	assert_non_null(strstr(S.reply, "RequestRefusedException"));
	pl_req_free(r);

	/* DynamoDB answered but the answer cannot be recorded: withheld, outcome unknown. */
	reset();
	r = pl_req_new(&env, &io, NULL, &s.http, "RID6");
	{
		upstream_response up = answer(200, "{}");
		pl_run(r);
		pl_audit_done(r, 0, NULL);
		pl_forward_done(r, UPSTREAM_ANSWERED, &up, NULL);
		upstream_response_free(&up);
	}
	pl_audit_done(r, BG_EIO, "disk gone");
	assert_int_equal(S.status, 400);
	assert_non_null(strstr(S.reply, "RequestOutcomeUnknownException"));
	pl_req_free(r);

	/* Upstream errors pass back unchanged. */
	reset();
	r = pl_req_new(&env, &io, NULL, &s.http, "RID7");
	{
		upstream_response up =
		    answer(400, "{\"__type\":\"x#ProvisionedThroughputExceeded\"}");
		pl_run(r);
		pl_audit_done(r, 0, NULL);
		pl_forward_done(r, UPSTREAM_ANSWERED, &up, NULL);
		upstream_response_free(&up);
	}
	pl_audit_done(r, 0, NULL);
	assert_int_equal(S.status, 400);
	assert_string_equal(S.reply, "{\"__type\":\"x#ProvisionedThroughputExceeded\"}");
	pl_req_free(r);
}

/* A refusal: recorded as a denial, answered after the record, never forwarded. */
static void expect_denial(pl_req *r, const char *code)
{
	pl_run(r);
	assert_int_equal(S.forwards, 0);
	assert_int_equal(S.audits, 1);
	assert_string_equal(S.kinds[0], "denial");
	assert_int_equal(S.replies, 0);
	pl_audit_done(r, 0, NULL);
	assert_int_equal(pl_req_stage(r), PL_DONE);
	assert_int_equal(S.replies, 1);
	assert_non_null(strstr(S.reply, code));
	pl_req_free(r);
}

static void test_refusals(void **state)
{
	signed_req s;
	grant_creds other;
	store_grant revoked;

	reset();
	sign(&s, "Scan", "{\"TableName\":\"Orders\"}", &creds);
	expect_denial(pl_req_new(&env, &io, NULL, &s.http, "R1"), "AccessDeniedException");

	reset();
	sign(&s, "Query", "{\"TableName\":\"Users\",\"KeyConditionExpression\":\"pk = :p\"}",
	     &creds);
	expect_denial(pl_req_new(&env, &io, NULL, &s.http, "R2"), "AccessDeniedException");

	reset();
	other = creds;
	memcpy(other.access_key_id, "BGIAUNKNOWNUNKNOWN00", 20);
	sign(&s, "Query", query, &other);
	expect_denial(pl_req_new(&env, &io, NULL, &s.http, "R3"), "UnrecognizedClientException");

	reset();
	sign(&s, "Query", query, &creds);
	s.http.has_query = true;
	expect_denial(pl_req_new(&env, &io, NULL, &s.http, "R4"), "ValidationException");

	reset();
	sign(&s, "Query", query, &creds);
	s.body = "{\"TableName\":\"Orders\"} ";
	s.http.body = (const uint8_t *)s.body;
	s.http.body_len = strlen(s.body);
	expect_denial(pl_req_new(&env, &io, NULL, &s.http, "R5"), "InvalidSignatureException");

	/* Revocation takes effect on the next request, from memory. */
	revoked = grant;
	revoked.revoked_at = NOW - 1;
	snprintf(revoked.revoked_by, sizeof(revoked.revoked_by), "admin");
	assert_int_equal(grant_cache_put(grants, &revoked), 0);
	reset();
	sign(&s, "Query", query, &creds);
	expect_denial(pl_req_new(&env, &io, NULL, &s.http, "R6"), "revoked");
	assert_int_equal(grant_cache_put(grants, &grant), 0);

	/* A denial whose record cannot even be queued is still refused. */
	reset();
	S.audit_rc = BG_ELIMIT;
	sign(&s, "Scan", "{\"TableName\":\"Orders\"}", &creds);
	{
		pl_req *r = pl_req_new(&env, &io, NULL, &s.http, "R7");
		pl_run(r);
		assert_int_equal(pl_req_stage(r), PL_DONE);
		assert_int_equal(S.forwards, 0);
		assert_non_null(strstr(S.reply, "AccessDeniedException"));
		pl_req_free(r);
	}
}

static void test_check_head(void **state)
{
	signed_req s;
	grant_creds other = creds;
	ddb_error_kind k;
	bg_err e;
	sigv4_header two[2];

	sign(&s, "Query", query, &creds);
	assert_int_equal(pl_check_head(&env, s.h, s.http.n_headers, &k, &e), 0);
	/* No Authorization: refused before the body is read. */
	assert_int_not_equal(pl_check_head(&env, s.h, 3, &k, &e), 0);
	assert_int_equal(k, DDB_ERR_MISSING_AUTH);
	memcpy(other.access_key_id, "BGIAUNKNOWNUNKNOWN00", 20);
	sign(&s, "Query", query, &other);
	assert_int_not_equal(pl_check_head(&env, s.h, s.http.n_headers, &k, &e), 0);
	assert_int_equal(k, DDB_ERR_UNRECOGNIZED_CLIENT);
	two[0] = s.h[5];
	two[1] = s.h[5];
	assert_int_not_equal(pl_check_head(&env, two, 2, &k, &e), 0);
	assert_int_equal(k, DDB_ERR_INCOMPLETE_SIGNATURE);
	two[0] = (sigv4_header){"Authorization", 13, "AWS4-HMAC-SHA256 nonsense", 25};
	assert_int_not_equal(pl_check_head(&env, two, 1, &k, &e), 0);
	assert_int_equal(k, DDB_ERR_INCOMPLETE_SIGNATURE);
}

/* A request meant for a proxy (a client that ignores the endpoint settings, under
 * `breakglass exec`'s proxy variables): refused and recorded with its destination, which
 * never carries user info, path or query. */
static void test_proxy_requests(void **state)
{
	static const char connect[] = "dynamodb.us-east-1.amazonaws.com:443";
	static const char absolute[] = "http://user:pw@example.com:8080/path?X-Amz-Signature=s";
	ddb_error_kind k = DDB_ERR_COUNT;
	pl_http http;
	pl_req *r;
	bg_err e;

	assert_int_equal(pl_check_target("POST", "/", 1, &k, &e), 0);
	assert_int_equal(pl_check_target("GET", "/api/v1/whoami", 14, &k, &e), 0);
	assert_int_equal(pl_check_target("OPTIONS", "*", 1, &k, &e), 0);
	assert_int_equal(k, DDB_ERR_COUNT);

	assert_int_not_equal(pl_check_target("CONNECT", connect, strlen(connect), &k, &e), 0);
	assert_int_equal(k, DDB_ERR_ACCESS_DENIED);
	assert_string_equal(e.msg, "proxy request refused: CONNECT "
	                           "dynamodb.us-east-1.amazonaws.com:443 (breakglass is not a "
	                           "proxy; a client tried to reach AWS directly)");
	assert_int_not_equal(pl_check_target("POST", absolute, strlen(absolute), &k, &e), 0);
	assert_string_equal(e.msg, "proxy request refused: POST http://example.com:8080 "
	                           "(breakglass is not a proxy; a client tried to reach another "
	                           "host directly)");

	reset();
	memset(&http, 0, sizeof(http));
	http.method = "CONNECT";
	http.path = connect;
	http.path_len = strlen(connect);
	http.body = (const uint8_t *)"";
	http.peer = "127.0.0.1:5555";
	r = pl_req_new(&env, &io, NULL, &http, "RP1");
	assert_non_null(r);
	assert_int_not_equal(pl_check_target(http.method, http.path, http.path_len, &k, &e), 0);
	pl_refuse(r, k, e.msg);
	assert_string_equal(S.kinds[0], "denial");
	assert_non_null(strstr(S.reasons[0], "proxy request refused: CONNECT dynamodb."));
	assert_string_equal(json_string_value(json_object_get(S.details[0], "proxy_target")),
	                    connect);
	pl_audit_done(r, 0, NULL);
	assert_int_equal(S.status, 400);
	assert_non_null(strstr(S.reply, "AccessDeniedException"));
	pl_req_free(r);

	/* An absolute-form target: scheme and host only, no credentials from the URL. */
	reset();
	http.method = "POST";
	http.path = absolute;
	http.path_len = (size_t)(strchr(absolute, '?') - absolute);
	r = pl_req_new(&env, &io, NULL, &http, "RP2");
	assert_int_not_equal(pl_check_target(http.method, http.path, http.path_len, &k, &e), 0);
	pl_refuse(r, k, e.msg);
	assert_string_equal(json_string_value(json_object_get(S.details[0], "proxy_target")),
	                    "http://example.com:8080");
	assert_null(strstr(S.reasons[0], "pw"));
	pl_audit_done(r, 0, NULL);
	pl_req_free(r);

	/* An ordinary refusal has no proxy_target. */
	reset();
	http.path = "/";
	http.path_len = 1;
	r = pl_req_new(&env, &io, NULL, &http, "RP3");
	pl_refuse(r, DDB_ERR_MISSING_AUTH, "Request is missing Authentication Token");
	assert_null(json_object_get(S.details[0], "proxy_target"));
	pl_audit_done(r, 0, NULL);
	pl_req_free(r);
}

/* A runbook grant whose runbook masks email and card.last4 with the keyed hash: the
 * released body shows markers and carries its own CRC-32; the response record has the
 * unmasked body's SHA-256, the released one's, and what was masked. A 200 answer that is
 * not JSON is withheld; an error answer carrying the item is masked too; an error that is
 * not JSON passes. */
static void test_masking(void **state)
{
	static const char get[] = "{\"TableName\":\"Orders\",\"Key\":{\"pk\":{\"S\":\"A\"}}}";
	static const char body[] =
	    "{\"Item\":{\"pk\":{\"S\":\"A\"},\"email\":{\"S\":\"plain@example.com\"},"
	    "\"card\":{\"M\":{\"last4\":{\"S\":\"4242\"},\"brand\":{\"S\":\"vi\\u0000sa\"}}}}}";
	static const char ccf[] =
	    "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\","
	    "\"message\":\"The conditional request failed\",\"Item\":{\"pk\":{\"S\":\"A\"},"
	    "\"email\":{\"S\":\"plain@example.com\"},\"card\":{\"M\":{\"last4\":{\"S\":"
	    "\"4242\"}}}}}";
	char dir[64], path[128], want_crc[16], hex[65], rhex[65];
	uint8_t h[BG_SHA256_LEN];
	store_grant rg;
	grant_creds rc;
	gw_runbooks *rbs = NULL;
	gw_rb_snapshot *snap;
	const runbook *rb;
	upstream_response up;
	signed_req s;
	json_t *d, *m;
	FILE *f;
	pl_req *r;
	bg_err e;
	int i;

	assert_int_equal(ut_tmpdir(dir, sizeof(dir), "pipeline-mask"), 0);
	snprintf(path, sizeof(path), "%s/tables.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("Orders:\n  partition_key: {pk: S}\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/masked-get.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("id: masked-get\ntitle: t\nwhen: w\ntable: Orders\noperation: GetItem\n"
	      "key: {pk: \":pk\"}\nparams: {pk: {type: S, pattern: \"^[A-Z]$\"}}\n"
	      "mask: [email, card.last4]\nmask_hash: true\n",
	      f);
	fclose(f);
	assert_int_equal(gw_runbooks_new(dir, &rbs, &e), 0);
	snap = gw_runbooks_acquire(rbs);
	rb = runbook_set_find(gw_rb_set(snap), "masked-get");
	assert_non_null(rb);

	rg = grant;
	memset(rg.id, 0, sizeof(rg.id));
	snprintf(rg.kind, sizeof(rg.kind), "runbook");
	rg.n_ops = 0;
	snprintf(rg.ops[rg.n_ops++], sizeof(rg.ops[0]), "GetItem");
	rg.n_runbooks = 1;
	snprintf(rg.runbooks[0], sizeof(rg.runbooks[0]), "masked-get");
	snprintf(rg.runbook_hashes[0], sizeof(rg.runbook_hashes[0]), "%s", rb->hash);
	gw_runbooks_release(snap);
	assert_int_equal(grant_mint(kr, &rg, NOW, &e), 0);
	assert_int_equal(grant_cache_put(grants, &rg), 0);
	grant_credentials(kr, &rg, &rc);
	env.runbooks = rbs;

	for (i = 0; i < 4; i++) {
		reset();
		up = i == 0   ? answer(200, body)
		     : i == 1 ? answer(200, "not json, plain@example.com")
		     : i == 2 ? answer(400, ccf)
		              : answer(500, "<html>upstream proxy error</html>");
		sign(&s, "GetItem", get, &rc);
		r = pl_req_new(&env, &io, NULL, &s.http, "RIDM");
		assert_non_null(r);
		pl_run(r);
		assert_string_equal(S.kinds[0], "request");
		pl_audit_done(r, 0, NULL);
		assert_int_equal(S.forwards, 1);
		pl_forward_done(r, UPSTREAM_ANSWERED, &up, NULL);
		assert_string_equal(S.kinds[1], "response");
		pl_audit_done(r, 0, NULL);
		assert_int_equal(S.replies, 1);
		d = S.details[1];
		assert_null(strstr(S.reply, "plain@example.com"));
		assert_null(strstr(S.reply, "4242"));
		{
			char *all = json_dumps(d, JSON_COMPACT);
			assert_null(strstr(all, "plain@example.com"));
			assert_null(strstr(all, "4242"));
			free(all);
		}
		if (i == 0) {
			bg_sha256(body, strlen(body), h);
			bg_hex(h, sizeof(h), hex);
			bg_sha256(S.reply, strlen(S.reply), h);
			bg_hex(h, sizeof(h), rhex);
			assert_int_equal(S.status, 200);
			assert_non_null(strstr(S.reply, "\"email\":{\"S\":\"***masked:"));
			assert_non_null(strstr(S.reply, "\"brand\":{\"S\":\"vi\\u0000sa\"}"));
			snprintf(want_crc, sizeof(want_crc), "%lu",
			         crc32(crc32(0L, Z_NULL, 0), (const Bytef *)S.reply,
			               (uInt)strlen(S.reply)));
			assert_string_equal(S.crc32, want_crc);
			assert_string_equal(json_string_value(json_object_get(d, "body_sha256")),
			                    hex);
			assert_string_equal(
			    json_string_value(json_object_get(d, "released_body_sha256")), rhex);
			m = json_object_get(d, "masked");
			assert_int_equal(json_integer_value(
			                     json_object_get(json_object_get(m, "paths"), "email")),
			                 1);
			assert_int_equal(json_integer_value(json_object_get(
			                     json_object_get(m, "paths"), "card.last4")),
			                 1);
			assert_int_equal(json_integer_value(json_object_get(m, "values")), 2);
			assert_true(json_is_true(json_object_get(m, "hash")));
			assert_int_equal(json_integer_value(json_object_get(d, "items")), 1);
		} else if (i == 2) {
			/* An error carrying the item (ReturnValuesOnConditionCheckFailure) is
			 * masked as well, on the wire and in the record's copy of the error. */
			assert_int_equal(S.status, 400);
			assert_non_null(strstr(S.reply, "ConditionalCheckFailedException"));
			assert_non_null(strstr(S.reply, "\"email\":{\"S\":\"***masked:"));
			assert_non_null(json_object_get(d, "error"));
			assert_int_equal(json_integer_value(json_object_get(
			                     json_object_get(d, "masked"), "values")),
			                 2);
			bg_sha256(ccf, strlen(ccf), h);
			bg_hex(h, sizeof(h), hex);
			assert_string_equal(json_string_value(json_object_get(d, "body_sha256")),
			                    hex);
			snprintf(want_crc, sizeof(want_crc), "%lu",
			         crc32(crc32(0L, Z_NULL, 0), (const Bytef *)S.reply,
			               (uInt)strlen(S.reply)));
			assert_string_equal(S.crc32, want_crc);
		} else if (i == 3) {
			/* An error that is not JSON holds no item: passed on as it came. */
			assert_int_equal(S.status, 500);
			assert_string_equal(S.reply, "<html>upstream proxy error</html>");
			assert_null(json_object_get(d, "masked"));
			assert_null(json_object_get(d, "mask_error"));
		} else {
			/* Withheld: an error, no checksum of upstream's, the reason on record. */
			assert_int_not_equal(S.status, 200);
			assert_string_equal(S.crc32, "");
			assert_non_null(strstr(S.reply, "could not be masked"));
			assert_non_null(strstr(S.reply, "RequestOutcomeUnknownException"));
			assert_non_null(json_object_get(d, "mask_error"));
			assert_null(json_object_get(d, "masked"));
		}
		upstream_response_free(&up);
		pl_req_free(r);
	}
	env.runbooks = NULL;
	gw_runbooks_free(rbs);
	assert_int_equal(ut_rm_tree(dir), 0);
}

/* One request of op through the pipeline, answered with body; the request is left done. */
static void run_op(const char *op, const char *client_body, const char *answer_body,
                   const char *rid)
{
	upstream_response up = answer(200, answer_body);
	signed_req s;
	pl_req *r;

	reset();
	sign(&s, op, client_body, &creds);
	r = pl_req_new(&env, &io, NULL, &s.http, rid);
	assert_non_null(r);
	pl_run(r);
	if (pl_req_stage(r) == PL_AUDIT_REQUEST) {
		pl_audit_done(r, 0, NULL);
		pl_forward_done(r, UPSTREAM_ANSWERED, &up, NULL);
	}
	pl_audit_done(r, 0, NULL);
	assert_int_equal(pl_req_stage(r), PL_DONE);
	upstream_response_free(&up);
	pl_req_free(r);
}

static void run_query(const char *client_body, const char *answer_body, const char *rid)
{
	run_op("Query", client_body, answer_body, rid);
}

/* What the gateway added (member: value, on the request record and in the forwarded body)
 * and the released body it rewrote, with its new x-amz-crc32. */
static void assert_added_and_rewritten(const char *member, const char *value, const char *reply)
{
	char want_body[128], want_crc[16];

	snprintf(want_body, sizeof(want_body), "\"%s\":\"%s\"", member, value);
	assert_non_null(strstr(S.body, want_body));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(S.details[0], "added"), member)),
	    value);
	assert_string_equal(S.reply, reply);
	snprintf(want_crc, sizeof(want_crc), "%lu",
	         crc32(crc32(0L, Z_NULL, 0), (const Bytef *)S.reply, (uInt)strlen(S.reply)));
	assert_string_equal(S.crc32, want_crc);
}

/* Safe writes: a single-item write goes with ReturnValues ALL_OLD; the answer's
 * Attributes (the item before the write) go on the response record as before_image (null
 * when there was no item) with the key, and are stripped, with a new CRC, when the client
 * did not ask; a client's own ALL_OLD gets them; another ReturnValues is sent as asked and
 * the record says the before-image is missing. */
static void test_before_image(void **state)
{
	static const char put[] =
	    "{\"TableName\":\"Orders\",\"Item\":{\"pk\":{\"S\":\"A\"},\"n\":{\"N\":\"2\"}}}";
	static const char put_old[] = "{\"TableName\":\"Orders\",\"Item\":{\"pk\":{\"S\":\"A\"}},"
	                              "\"ReturnValues\":\"ALL_OLD\"}";
	static const char upd_new[] =
	    "{\"TableName\":\"Orders\",\"Key\":{\"pk\":{\"S\":\"A\"}},\"UpdateExpression\":"
	    "\"SET n = :n\",\"ExpressionAttributeValues\":{\":n\":{\"N\":\"3\"}},"
	    "\"ReturnValues\":\"ALL_NEW\"}";
	static const char old[] =
	    "{\"Attributes\":{\"pk\":{\"S\":\"A\"},\"n\":{\"N\":\"1\"}},\"ConsumedCapacity\":"
	    "{\"TableName\":\"Orders\",\"CapacityUnits\":1.0}}";
	json_t *d, *want;

	(void)state;
	run_op("PutItem", put, old, "W1");
	assert_added_and_rewritten("ReturnValues", "ALL_OLD", "{}");
	d = S.details[1];
	want = json_pack("{s:{s:s},s:{s:s}}", "pk", "S", "A", "n", "N", "1");
	assert_true(json_equal(json_object_get(d, "before_image"), want));
	json_decref(want);
	assert_null(json_object_get(d, "before_image_masked"));

	/* The client asked for ALL_OLD: it gets the item, and the record has it too. */
	run_op("PutItem", put_old, old, "W2");
	assert_null(json_object_get(json_object_get(S.details[0], "added"), "ReturnValues"));
	assert_non_null(strstr(S.reply, "\"Attributes\""));
	assert_non_null(json_object_get(S.details[1], "before_image"));

	/* No Attributes: there was no item. */
	run_op("PutItem", put, "{}", "W3");
	assert_true(json_is_null(json_object_get(S.details[1], "before_image")));

	/* Another ReturnValues: sent as asked, no before-image, and the record says why. */
	run_op("UpdateItem", upd_new, "{\"Attributes\":{\"n\":{\"N\":\"3\"}}}", "W4");
	assert_non_null(strstr(S.body, "\"ReturnValues\":\"ALL_NEW\""));
	assert_null(strstr(S.body, "ALL_OLD"));
	assert_non_null(strstr(S.reply, "\"Attributes\""));
	assert_null(json_object_get(S.details[1], "before_image"));
	assert_non_null(strstr(
	    json_string_value(json_object_get(S.details[1], "before_image_missing")), "ALL_NEW"));

	/* A ReturnValues that is not a string goes as it came, for DynamoDB to refuse. */
	run_op("PutItem",
	       "{\"TableName\":\"Orders\",\"Item\":{\"pk\":{\"S\":\"A\"}},\"ReturnValues\":5}",
	       "{}", "W6");
	assert_non_null(strstr(S.body, "\"ReturnValues\":5"));
	assert_null(json_object_get(json_object_get(S.details[0], "added"), "ReturnValues"));

	/* A read captures nothing. */
	run_query(query, "{\"Items\":[],\"Count\":0}", "W5");
	assert_null(strstr(S.body, "ReturnValues"));
	assert_null(json_object_get(S.details[1], "before_image"));
}

/* Capacity: the gateway asks for ReturnConsumedCapacity, charges what DynamoDB reports,
 * strips it (with a new CRC) when the client did not ask, records it, and refuses the
 * next request once the budget is spent, before anything goes upstream. */
static void test_capacity(void **state)
{
	static const char with_cc[] =
	    "{\"Items\":[],\"Count\":0,\"ScannedCount\":0,\"ConsumedCapacity\":"
	    "{\"TableName\":\"Orders\",\"CapacityUnits\":0.5}}";
	budget_limits lim = {1, -1};
	gw_spend *sp = gw_spend_new();
	char client_rcc[256];
	ddb_units spent;
	json_t *d;

	(void)state;
	assert_non_null(sp);
	env.spend = sp;
	env.budget = &lim;

	run_query(query, with_cc, "CAP1");
	assert_added_and_rewritten("ReturnConsumedCapacity", "TOTAL",
	                           "{\"Items\":[],\"Count\":0,\"ScannedCount\":0}");
	d = S.details[1];
	assert_true(json_real_value(json_object_get(json_object_get(d, "consumed_capacity"),
	                                            "CapacityUnits")) == 0.5);
	assert_true(json_real_value(json_object_get(json_object_get(d, "charged"), "read")) == 0.5);
	assert_non_null(json_object_get(d, "released_body_sha256"));
	gw_spend_get(sp, grant.id, NULL, &spent, NULL);
	assert_true(spent.read == 0.5 && spent.write == 0);

	/* A client that asked for TOTAL gets it, as DynamoDB sent it, with its CRC. */
	snprintf(client_rcc, sizeof(client_rcc), "%.*s,\"ReturnConsumedCapacity\":\"TOTAL\"}",
	         (int)strlen(query) - 1, query);
	run_query(client_rcc, with_cc, "CAP2");
	assert_int_equal(S.body_len, strlen(client_rcc));
	assert_string_equal(S.reply, with_cc);
	assert_string_equal(S.crc32, "42");
	assert_null(json_object_get(S.details[0], "added"));
	gw_spend_get(sp, grant.id, NULL, &spent, NULL);
	assert_true(spent.read == 1.0);

	/* Spent: refused here, nothing forwarded, the message says what and how. */
	run_query(query, with_cc, "CAP3");
	assert_int_equal(S.forwards, 0);
	assert_int_equal(S.status, 400);
	assert_non_null(strstr(S.reply, "CapacityBudgetExceededException"));
	assert_non_null(strstr(S.reply, "read budget: 1 of 1 read capacity units"));
	assert_non_null(strstr(S.reply, "new grant"));
	assert_string_equal(S.kinds[0], "denial");

	/* In flight: each request holds half a unit until its answer, so two at once cannot
	 * both pass a budget with room for one. A fresh grant of 1 unit with 0.5 spent: */
	{
		signed_req s1, s2;
		pl_req *a, *b;
		upstream_response up = answer(200, with_cc);
		ddb_units half = {0.5, 0};

		gw_spend_free(sp);
		sp = gw_spend_new();
		env.spend = sp;
		assert_int_equal(gw_spend_charge(sp, grant.id, NULL, &half), 0);
		reset();
		sign(&s1, "Query", query, &creds);
		a = pl_req_new(&env, &io, NULL, &s1.http, "HOLD1");
		pl_run(a);
		assert_int_equal(pl_req_stage(a), PL_AUDIT_REQUEST); /* admitted, holding 0.5 */
		sign(&s2, "Query", query, &creds);
		b = pl_req_new(&env, &io, NULL, &s2.http, "HOLD2");
		pl_run(b);
		pl_audit_done(b, 0, NULL); /* its denial recorded */
		assert_int_equal(pl_req_stage(b), PL_DONE);
		assert_non_null(strstr(S.reply, "CapacityBudgetExceededException"));
		assert_non_null(strstr(S.reply, "0.5 held for its requests still in flight"));
		pl_req_free(b);
		/* A finishes: its hold becomes what it cost. */
		pl_audit_done(a, 0, NULL);
		pl_forward_done(a, UPSTREAM_ANSWERED, &up, NULL);
		pl_audit_done(a, 0, NULL);
		assert_int_equal(pl_req_stage(a), PL_DONE);
		pl_req_free(a);
		upstream_response_free(&up);
		gw_spend_get(sp, grant.id, NULL, &spent, NULL);
		assert_true(spent.read == 1.0);
		/* A request that never got an answer releases its hold: nothing charged (with
		 * 0.5 spent, a hold left behind would refuse the next one). */
		gw_spend_free(sp);
		sp = gw_spend_new();
		env.spend = sp;
		assert_int_equal(gw_spend_charge(sp, grant.id, NULL, &half), 0);
		reset();
		sign(&s1, "Query", query, &creds);
		a = pl_req_new(&env, &io, NULL, &s1.http, "HOLD3");
		pl_run(a);
		pl_audit_done(a, BG_EIO, "disk full"); /* refused: never forwarded */
		pl_req_free(a);
		reset();
		sign(&s2, "Query", query, &creds);
		b = pl_req_new(&env, &io, NULL, &s2.http, "HOLD4");
		pl_run(b);
		assert_int_equal(pl_req_stage(b), PL_AUDIT_REQUEST); /* nothing held for HOLD3 */
		pl_audit_done(b, BG_EIO, "disk full");
		pl_req_free(b);
		gw_spend_get(sp, grant.id, NULL, &spent, NULL);
		assert_true(spent.read == 0.5);
	}

	env.spend = NULL;
	env.budget = NULL;
	gw_spend_free(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_allowed_request_order),
	    cmocka_unit_test(test_request_record_fails_closed),
	    cmocka_unit_test(test_outcomes),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_check_head),
	    cmocka_unit_test(test_proxy_requests),
	    cmocka_unit_test(test_masking),
	    cmocka_unit_test(test_capacity),
	    cmocka_unit_test(test_before_image),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
