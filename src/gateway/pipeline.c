/*
 * pipeline.c - the stages of a DynamoDB request (see pipeline.h).
 *
 * Order matters and is the product's promise. A request is answered by the gateway
 * itself (never forwarded) unless its signature verifies with a live grant's
 * credentials and the parsed request lies inside the grant. The request record is
 * durable before anything is sent upstream and the response record before the answer
 * is released. A refusal is recorded before it is sent (and sent even if the record
 * cannot be written: refusing is the safe side either way).
 */
#include "gateway/pipeline.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/clock.h"
#include "common/encode.h"
#include "policy/mask.h"
#include "protocol/ddb_capacity.h"
#include "policy/runbook_match.h"
#include "protocol/ddb_request.h"
#include "workflow/grant.h"

struct pl_req {
	const pl_env *env;
	const pl_io *io;
	void *io_ctx;
	pl_http http;
	char request_id[32];
	pl_stage stage;
	bool denying; /* a refusal's record is being written; then the refusal is sent */

	const store_grant *grant; /* referenced from the grant cache */
	sigv4_result vr;
	ddb_request *req;
	const char *target;
	size_t target_len;
	const char *actor;
	const char *grant_id;
	const char *op;
	bg_buf tables;
	bool have_tables;

	/* A runbook grant's request: the snapshot its runbook lives in, the decision, the
	 * page it reads, and the tightened body forwarded instead of the client's. */
	gw_rb_snapshot *rb_snap;
	rb_decision rbd;
	int64_t page;
	bg_buf fwd;

	/* Capacity (AUTHORISE, TRANSFORM): whether the gateway added ReturnConsumedCapacity
	 * (then the answer's ConsumedCapacity is the gateway's, stripped before release), and
	 * what DynamoDB reported and was charged to the grant. */
	bool added_rcc;
	json_t *consumed; /* the answer's ConsumedCapacity, or NULL */
	ddb_units charged;
	bool have_charge;
	bool charge_estimated; /* a refused conditional write: DynamoDB reports no capacity */
	ddb_units held;        /* held against the budgets while in flight (gw_spend_admit) */
	bool holding;

	/* Safe writes (AUTHORISE, TRANSFORM): a PutItem, UpdateItem or DeleteItem asks for
	 * ReturnValues ALL_OLD (added_rv: the gateway added it, and strips the answer's
	 * Attributes again), and the item as it was before the write (before: the answer's
	 * Attributes, or JSON null when there was no item) goes on the response record. */
	bool capture;
	bool added_rv;
	json_t *before;

	/* The answer parsed once in TRANSFORM (200, or an error in JSON), or NULL. */
	json_t *answer;
	char upstream_sha256[65]; /* SHA-256 of DynamoDB's body as it came */
	bool body_rewritten;      /* the released body is not DynamoDB's */
	/* An answer TRANSFORM withheld: the record's member naming why ("mask_error",
	 * "size_error", "transform_error") and the reason; NULL: released. */
	const char *withheld;
	char withheld_why[256];

	/* A masked answer (TRANSFORM): what the response record says of it. */
	bool masked;
	json_t *mask_counts; /* {path: values masked} */
	size_t mask_total;
	char crc32[16]; /* x-amz-crc32 of the masked body */

	upstream_outcome outcome;
	char why[256];
	upstream_response resp;
	pl_reply reply;

	/* For the metrics (gateway/metrics.h), monotonic microseconds. */
	int64_t t_start, t_fwd, t_answer; /* t_fwd 0: not forwarded */
	bool refused;                     /* the gateway answered with a refusal */
};

pl_req *pl_req_new(const pl_env *env, const pl_io *io, void *io_ctx, const pl_http *http,
                   const char *request_id)
{
	pl_req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->env = env;
	r->io = io;
	r->io_ctx = io_ctx;
	r->http = *http;
	snprintf(r->request_id, sizeof(r->request_id), "%s", request_id);
	r->stage = PL_VERIFY;
	r->t_start = bg_mono_us();
	bg_buf_init(&r->tables, (size_t)BG_MAX_REQUEST_TABLES * (BG_MAX_TABLE_NAME + 1));
	bg_buf_init(&r->fwd, BG_MAX_REQUEST_BODY);
	bg_buf_init(&r->reply.body, BG_MAX_RESPONSE_BODY);
	{
		const sigv4_header *t =
		    sigv4_header_find(http->headers, http->n_headers, "x-amz-target", NULL);
		r->target = t ? t->value : NULL;
		r->target_len = t ? t->value_len : 0;
	}
	return r;
}

void pl_req_free(pl_req *r)
{
	if (r == NULL)
		return;
	/* A request that ended before its answer (refused later, not sent) holds nothing. */
	if (r->holding)
		gw_spend_settle(r->env->spend, r->grant_id,
		                r->rbd.rb != NULL ? r->rbd.rb->id : NULL, &r->held, NULL);
	grant_cache_release(r->grant);
	rb_decision_free(&r->rbd);
	json_decref(r->mask_counts);
	json_decref(r->consumed);
	json_decref(r->before);
	json_decref(r->answer);
	gw_runbooks_release(r->rb_snap);
	bg_buf_free(&r->fwd);
	ddb_request_free(r->req);
	bg_buf_free(&r->tables);
	upstream_response_free(&r->resp);
	bg_buf_free(&r->reply.body);
	free(r);
}

pl_stage pl_req_stage(const pl_req *r)
{
	return r->stage;
}

const char *pl_req_id(const pl_req *r)
{
	return r->request_id;
}

/* --- records --------------------------------------------------------------------------- */

static json_t *body_summary(const pl_req *r)
{
	json_t *d = json_object();
	json_t *body = r->req ? ddb_request_json(r->req) : NULL;
	uint8_t h[32];
	char hex[65];

	if (d == NULL)
		return NULL;
	json_object_set_new(d, "peer", json_string(r->http.peer ? r->http.peer : ""));
	{
		const sigv4_header *ua =
		    sigv4_header_find(r->http.headers, r->http.n_headers, "user-agent", NULL);
		char text[BG_MAX_AUDIT_USER_AGENT + 1];
		size_t i, n = ua == NULL                                ? 0
		              : ua->value_len > BG_MAX_AUDIT_USER_AGENT ? BG_MAX_AUDIT_USER_AGENT
		                                                        : ua->value_len;

		/* Printable ASCII as RFC 9110 has it; anything else is shown as '?'. */
		for (i = 0; i < n; i++)
			text[i] = ua->value[i] >= 0x20 && ua->value[i] < 0x7f ? ua->value[i] : '?';
		text[n] = '\0';
		if (ua != NULL)
			json_object_set_new(d, "user_agent", json_string(text));
	}
	if (body) {
		json_object_set(d, "body", body);
	} else {
		bg_sha256(r->http.body, r->http.body_len, h);
		bg_hex(h, sizeof(h), hex);
		json_object_set_new(d, "body_bytes", json_integer((json_int_t)r->http.body_len));
		json_object_set_new(d, "body_sha256", json_string(hex));
	}
	return d;
}

static void record_init(const pl_req *r, audit_record *rec, const char *kind)
{
	memset(rec, 0, sizeof(*rec));
	rec->kind = kind;
	rec->actor = r->actor;
	rec->grant_id = r->grant_id;
	rec->request_id = r->request_id;
	rec->op = r->op;
	rec->tables = r->have_tables ? r->tables.data : NULL;
}

/* The reply body for an error of kind k. */
static void set_error(pl_req *r, ddb_error_kind k, const char *msg)
{
	r->reply.status = ddb_error_status(k);
	r->reply.content_type = NULL;
	r->reply.upstream_rid = NULL;
	r->reply.crc32 = NULL;
	bg_buf_reset(&r->reply.body);
	if (ddb_error_body(k, msg, &r->reply.body) != 0) {
		/* Only a message over the buffer's limit gets here: send the bare type. */
		bg_buf_reset(&r->reply.body);
		if (ddb_error_body(k, NULL, &r->reply.body) != 0)
			r->reply.status = 400;
	}
}

static void release(pl_req *r)
{
	const ddb_op_info *op = r->req != NULL ? ddb_request_op(r->req) : NULL;
	int64_t now = bg_mono_us();

	gw_metrics_request(r->env->metrics, op != NULL ? op->id : DDB_OP_COUNT,
	                   !r->refused && r->t_fwd != 0, now - r->t_start,
	                   r->t_fwd != 0 && r->t_answer >= r->t_fwd ? r->t_answer - r->t_fwd : -1);
	r->stage = PL_RELEASE;
	r->io->reply(r->io_ctx, r, &r->reply);
	r->stage = PL_DONE;
}

static bool proxy_target(const char *method, const char *t, size_t n,
                         char out[BG_MAX_PROXY_TARGET + 1]);

void pl_refuse(pl_req *r, ddb_error_kind k, const char *msg)
{
	audit_record rec;
	json_t *d = body_summary(r);
	char dest[BG_MAX_PROXY_TARGET + 1];

	set_error(r, k, msg);
	r->refused = true;
	record_init(r, &rec, "denial");
	rec.decision = "deny";
	rec.reason = msg;
	rec.status = ddb_error_status(k);
	if (d)
		json_object_set_new(d, "error", json_string(ddb_error_type(k)));
	if (d && proxy_target(r->http.method, r->http.path, r->http.path_len, dest))
		json_object_set_new(d, "proxy_target", json_string(dest));
	rec.detail = d;
	r->denying = true;
	if (r->io->audit(r->io_ctx, r, &rec) != 0) {
		fprintf(stderr, "breakglass: audit of a denial could not be queued\n");
		r->denying = false;
		release(r);
	}
	json_decref(d);
}

/* --- VERIFY ---------------------------------------------------------------------------- */

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

/* The verifier's secret lookup: the live grant from memory, kept for AUTHORISE. */
static int secret_cb(void *ctx, const char *akid, char *buf, size_t cap)
{
	pl_req *r = ctx;
	const store_grant *g = grant_cache_get(r->env->grants, akid);

	if (g == NULL)
		return BG_ENOTFOUND;
	if (cap < GRANT_SECRET_LEN + 1) {
		grant_cache_release(g);
		return BG_ELIMIT;
	}
	grant_cache_release(r->grant);
	r->grant = g;
	grant_secret(r->env->kr, akid, buf);
	return 0;
}

static bool stage_verify(pl_req *r)
{
	sigv4_request sr;
	bg_err e;
	int st;

	bg_err_clear(&e);
	if (strcmp(r->http.method, "POST") != 0 || r->http.path_len != 1 ||
	    r->http.path[0] != '/' || r->http.has_query) {
		pl_refuse(
		    r, DDB_ERR_VALIDATION,
		    "breakglass serves DynamoDB requests as POST / and its API under /api/v1/");
		return false;
	}
	memset(&sr, 0, sizeof(sr));
	sr.method = r->http.method;
	sr.path = r->http.path;
	sr.path_len = r->http.path_len;
	sr.query = "";
	sr.headers = r->http.headers;
	sr.n_headers = r->http.n_headers;
	sr.body = r->http.body;
	sr.body_len = r->http.body_len;
	st = sigv4_verify(r->env->verifier, &sr, (time_t)r->env->now(), secret_cb, r, &r->vr, &e);
	if (r->vr.access_key_id[0])
		r->actor = r->vr.access_key_id;
	if (st != SIGV4_OK) {
		pl_refuse(r, sigv4_kind(st), e.msg);
		return false;
	}
	return true;
}

/* --- AUTHORISE ------------------------------------------------------------------------- */

/* Hex SHA-256 of a JSON value's canonical text (sorted keys): a paging key's identity. */
static bool json_digest(const json_t *j, char out[65])
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	uint8_t h[32];

	if (s == NULL)
		return false;
	bg_sha256(s, strlen(s), h);
	free(s);
	bg_hex(h, sizeof(h), out);
	return true;
}

/* A runbook grant: the request must be one of its runbooks (policy/runbook_match), and a
 * next page must continue the last one within the runbook's page cap. */
static bool authorise_runbook(pl_req *r, const store_grant *g)
{
	const json_t *body = ddb_request_json(r->req), *esk;
	const char *op = ddb_request_op(r->req)->name;
	char esk_hash[65];
	int rc;

	if (r->env->runbooks == NULL) {
		pl_refuse(r, DDB_ERR_ACCESS_DENIED, "this gateway has no runbooks loaded");
		return false;
	}
	r->rb_snap = gw_runbooks_acquire(r->env->runbooks);
	rc = rb_match(gw_rb_set(r->rb_snap), g, ddb_request_op(r->req), body, &r->rbd);
	if (rc != 0) {
		pl_refuse(r, rc == BG_EDENIED ? DDB_ERR_ACCESS_DENIED : DDB_ERR_INTERNAL,
		          rc == BG_EDENIED ? r->rbd.why : "breakglass: out of memory");
		return false;
	}
	if (strcmp(op, "Query") == 0 || strcmp(op, "Scan") == 0) {
		esk = json_object_get(body, "ExclusiveStartKey");
		if (esk != NULL && !json_digest(esk, esk_hash)) {
			pl_refuse(r, DDB_ERR_INTERNAL, "breakglass: out of memory");
			return false;
		}
		r->page = gw_runbooks_page(r->env->runbooks, r->rbd.page_key,
		                           esk != NULL ? esk_hash : NULL, r->rbd.rb->max_pages);
		if (r->page == 0) {
			char why[300];
			snprintf(
			    why, sizeof(why),
			    "runbook %s reads at most %lld page%s for the same parameters; this "
			    "request is past them, or does not continue the last page returned",
			    r->rbd.rb->id, (long long)r->rbd.rb->max_pages,
			    r->rbd.rb->max_pages == 1 ? "" : "s");
			pl_refuse(r, DDB_ERR_ACCESS_DENIED, why);
			return false;
		}
	}
	return true;
}

/* The policy's guardrails.rate for g on this gateway (gateway/limiter.h). A refusal says
 * the rate and when the next request would pass. */
static bool rate_allows(pl_req *r, const store_grant *g)
{
	const rl_rate *rate = r->env->rate;
	int64_t wait = 0;
	bg_err e;

	if (rate == NULL || gw_limiter_take(r->env->limiter, g->id, rate, bg_mono_ms(), &wait))
		return true;
	bg_err_set(&e, BG_EDENIED,
	           "breakglass: grant %s may make %lld requests a second here, %lld at once "
	           "(the policy's guardrails.rate); this one did not run: try again in %lld ms",
	           g->id, (long long)rate->per_second, (long long)rate->burst, (long long)wait);
	pl_refuse(r, DDB_ERR_RATE, e.msg);
	return false;
}

/* The capacity budgets: the grant's (the policy's guardrails.budget) and its runbook's.
 * Checked before anything is sent: a spent budget refuses the request here. */
static bool budget_allows(pl_req *r, const store_grant *g)
{
	const ddb_op_info *op = ddb_request_op(r->req);
	const runbook *rb = r->rbd.rb;
	budget_limits rbl = BUDGET_NONE;
	char gwho[64], rbwho[160];
	bg_err e;
	int rc;

	if (rb != NULL)
		rbl = (budget_limits){rb->budget_read, rb->budget_write};
	if (r->env->budget == NULL && !budget_set(&rbl))
		return true;
	snprintf(gwho, sizeof(gwho), "grant %s", g->id);
	snprintf(rbwho, sizeof(rbwho), "grant %s's runbook %s", g->id, rb != NULL ? rb->id : "");
	/* Checked and held in one step: requests in parallel each hold their least cost,
	 * so they cannot all pass a budget with room for one (gateway/spend.h). */
	r->held = budget_hold_for(op);
	rc = gw_spend_admit(r->env->spend, g->id, rb != NULL ? rb->id : NULL, r->env->budget,
	                    rb != NULL ? &rbl : NULL, op, &r->held, gwho, rbwho, &e);
	if (rc != 0) {
		pl_refuse(r, rc == BG_EDENIED ? DDB_ERR_BUDGET : DDB_ERR_INTERNAL, e.msg);
		return false;
	}
	r->holding = r->env->spend != NULL;
	return true;
}

/* Whether op is a single-item write whose before-image the gateway captures. */
static bool captures_before(const ddb_op_info *op)
{
	return op->id == DDB_OP_PUT_ITEM || op->id == DDB_OP_UPDATE_ITEM ||
	       op->id == DDB_OP_DELETE_ITEM;
}

/* Safe writes: a single-item write is sent with ReturnValues ALL_OLD, so DynamoDB hands
 * back the item exactly as the write found it, atomically with the write. A client that
 * asked for ALL_OLD gets it as before; one that asked for nothing (or NONE) does not see
 * it (TRANSFORM strips it). A client asking for another ReturnValues (ALL_NEW,
 * UPDATED_OLD, UPDATED_NEW: only an admin's table grant can, since lint keeps a runbook's
 * return_values to ALL_OLD) gets what it asked for and the write has no before-image:
 * the response record says so, and undo refuses it. */
static void plan_capture(pl_req *r)
{
	const json_t *v = json_object_get(ddb_request_json(r->req), "ReturnValues");
	const char *rv = json_string_value(v);

	/* Not a string: sent as it came, for DynamoDB to refuse (never made valid here). */
	if (!captures_before(ddb_request_op(r->req)) || (v != NULL && rv == NULL))
		return;
	r->added_rv = rv == NULL || strcmp(rv, "NONE") == 0;
	r->capture = r->added_rv || strcmp(rv, "ALL_OLD") == 0;
}

/* The body FORWARD sends: the client's, or the runbook's tightened one, with
 * ReturnConsumedCapacity TOTAL added when the operation takes it and the client did not
 * ask (the charge needs DynamoDB's count; TRANSFORM strips it again), and ReturnValues
 * ALL_OLD when a write's before-image needs it (plan_capture). Left empty when the
 * client's bytes go as they came. */
static bool build_forward(pl_req *r)
{
	json_t *base = r->rbd.forward != NULL ? r->rbd.forward : ddb_request_json(r->req);
	const char *rcc =
	    json_string_value(json_object_get(ddb_request_json(r->req), "ReturnConsumedCapacity"));
	json_t *f;
	char *text;
	bool ok;

	r->added_rcc = ddb_op_reports_capacity(ddb_request_op(r->req)) &&
	               (rcc == NULL || strcmp(rcc, "NONE") == 0);
	plan_capture(r);
	if (!r->added_rcc && !r->added_rv && r->rbd.forward == NULL)
		return true;
	f = json_copy(base); /* shallow: only top-level members are set */
	if (f == NULL ||
	    (r->added_rcc &&
	     json_object_set_new(f, "ReturnConsumedCapacity", json_string("TOTAL")) != 0) ||
	    (r->added_rv && json_object_set_new(f, "ReturnValues", json_string("ALL_OLD")) != 0)) {
		json_decref(f);
		pl_refuse(r, DDB_ERR_INTERNAL, "breakglass: out of memory");
		return false;
	}
	text = json_dumps(f, JSON_COMPACT);
	json_decref(f);
	ok = text != NULL && bg_buf_adds(&r->fwd, text) == 0;
	free(text);
	if (!ok)
		pl_refuse(r, DDB_ERR_INTERNAL, "breakglass: out of memory");
	return ok;
}

static bool stage_authorise(pl_req *r)
{
	const store_grant *g;
	uint8_t tok_hash[32];
	char when[21];
	bg_err e;
	int st;

	bg_err_clear(&e);
	/* The verifier asks for a secret only when its derived-key cache misses. */
	if (r->grant == NULL)
		r->grant = grant_cache_get(r->env->grants, r->vr.access_key_id);
	g = r->grant;
	if (g == NULL) {
		pl_refuse(r, DDB_ERR_UNRECOGNIZED_CLIENT,
		          "The security token included in the request is invalid.");
		return false;
	}
	r->actor = g->user;
	r->grant_id = g->id;
	/* The session token is a second secret: it must come with the key and match. */
	if (r->vr.session_token == NULL) {
		pl_refuse(r, DDB_ERR_UNRECOGNIZED_CLIENT,
		          "The security token included in the request is invalid.");
		return false;
	}
	bg_sha256(r->vr.session_token, r->vr.session_token_len, tok_hash);
	if (!bg_ct_equal(tok_hash, g->session_token_hash, sizeof(tok_hash))) {
		pl_refuse(r, DDB_ERR_UNRECOGNIZED_CLIENT,
		          "The security token included in the request is invalid.");
		return false;
	}
	/* Parsed before the liveness check only so that a refusal of an expired or revoked
	 * grant still records what was attempted; the refusals keep their order. */
	st = ddb_request_parse(r->target ? r->target : "", r->target_len, r->http.body,
	                       r->http.body_len, &r->req, &e);
	if (st == DDB_OK) {
		r->op = ddb_request_op(r->req)->name;
		r->have_tables = ddb_request_tables_joined(r->req, &r->tables) == 0;
	}
	switch (grant_status(g, r->env->now())) {
	case GRANT_EXPIRED:
		pl_refuse(r, DDB_ERR_EXPIRED_TOKEN,
		          "The security token included in the request is expired");
		return false;
	case GRANT_REVOKED:
		bg_rfc3339(g->revoked_at, when);
		bg_err_set(&e, BG_EDENIED, "Grant %s was revoked at %s by %s; ask for a new grant",
		           g->id, when, g->revoked_by);
		pl_refuse(r, DDB_ERR_ACCESS_DENIED, e.msg);
		return false;
	case GRANT_ACTIVE:
		break;
	}
	if (st != DDB_OK) {
		pl_refuse(r, ddb_request_error_kind(st), e.msg);
		return false;
	}
	if (!rate_allows(r, g))
		return false;
	if (grant_check(g, r->req, &e) != 0) {
		pl_refuse(r, DDB_ERR_ACCESS_DENIED, e.msg);
		return false;
	}
	/* A runbook grant whose pins are gone is no table grant: nothing matches it. */
	if (g->n_runbooks == 0 && strcmp(g->kind, "runbook") == 0) {
		pl_refuse(r, DDB_ERR_ACCESS_DENIED, "the grant names no runbook");
		return false;
	}
	if (g->n_runbooks > 0 && !authorise_runbook(r, g))
		return false;
	return budget_allows(r, g) && build_forward(r);
}

/* --- the waiting stages ---------------------------------------------------------------- */

static void start_audit_request(pl_req *r)
{
	audit_record rec;
	json_t *d = body_summary(r);

	r->stage = PL_AUDIT_REQUEST;
	record_init(r, &rec, "request");
	rec.decision = "allow";
	if (d != NULL && r->rbd.rb != NULL) {
		json_t *rb = json_pack("{s:s,s:s,s:O}", "id", r->rbd.rb->id, "hash",
		                       r->rbd.rb->hash, "params", r->rbd.params);
		if (rb != NULL && r->page > 0)
			json_object_set_new(rb, "page", json_integer(r->page));
		if (rb != NULL && r->rbd.forward != NULL)
			json_object_set_new(
			    rb, "tightened",
			    json_pack("{s:O}", "Limit", json_object_get(r->rbd.forward, "Limit")));
		json_object_set_new(d, "runbook", rb);
	}
	/* What the gateway added to the body it forwards (build_forward). */
	if (d != NULL && (r->added_rcc || r->added_rv)) {
		json_t *added = json_object();
		if (added != NULL && r->added_rcc)
			json_object_set_new(added, "ReturnConsumedCapacity", json_string("TOTAL"));
		if (added != NULL && r->added_rv)
			json_object_set_new(added, "ReturnValues", json_string("ALL_OLD"));
		json_object_set_new(d, "added", added);
	}
	rec.detail = d;
	if (r->io->audit(r->io_ctx, r, &rec) != 0)
		pl_audit_done(r, BG_EIO, "the audit queue is full");
	json_decref(d);
}

/* FORWARD: the client's body, or the tightened one a runbook grant sends instead. */
static void start_forward(pl_req *r)
{
	const void *body = r->fwd.len > 0 ? (const void *)r->fwd.data : r->http.body;
	size_t len = r->fwd.len > 0 ? r->fwd.len : r->http.body_len;

	r->t_fwd = bg_mono_us();

	r->stage = PL_FORWARD;
	if (r->io->forward(r->io_ctx, r, r->target, r->target_len, body, len) != 0)
		pl_forward_done(r, UPSTREAM_NOT_SENT, NULL, "the upstream call could not start");
}

/* The primary key of item under keys ({pk: value, sk: value}), or NULL when the item
 * lacks one of them. */
static json_t *item_key(json_t *item, const runbook_keys *keys)
{
	json_t *pk = json_object_get(item, keys->pk), *k;

	if (pk == NULL)
		return NULL;
	k = json_pack("{s:O}", keys->pk, pk);
	if (k != NULL && keys->sk[0] != '\0') {
		json_t *sk = json_object_get(item, keys->sk);
		if (sk == NULL) {
			json_decref(k);
			return NULL;
		}
		json_object_set(k, keys->sk, sk);
	}
	return k;
}

/* A masked answer on the record: the trail proves what DynamoDB answered without holding
 * the masked values (body_sha256 is the unmasked body's), the released body's hash says
 * what the client got, and masked what was hidden. */
static void mask_summary(const pl_req *r, json_t *d, const char released_hex[65])
{
	json_object_set_new(d, "body_sha256", json_string(r->upstream_sha256));
	json_object_set_new(d, "released_body_sha256", json_string(released_hex));
	json_object_set_new(d, "masked",
	                    json_pack("{s:O,s:I,s:b}", "paths", r->mask_counts, "values",
	                              (json_int_t)r->mask_total, "hash", r->rbd.rb->mask_hash));
}

/* A write's before-image on its response record (docs/audit.md, "Safe writes"): the item
 * as the write found it (null: there was none) and the item's key, what `breakglass undo`
 * needs; "before_image_masked" when the runbook's mask hid values in it, which undo then
 * cannot restore. */
static void before_summary(const pl_req *r, json_t *d)
{
	const json_t *body = ddb_request_json(r->req);
	json_t *key = json_object_get(body, "Key");
	const char *rv = json_string_value(json_object_get(body, "ReturnValues"));

	if (r->before == NULL) {
		/* Only a table grant's client can ask for another ReturnValues. */
		json_object_set_new(d, "before_image_missing",
		                    r->capture
		                        ? json_string("DynamoDB's answer was not read")
		                        : json_sprintf("the client asked for ReturnValues %s, "
		                                       "so the gateway could not ask for "
		                                       "ALL_OLD",
		                                       rv != NULL ? rv : "(not a string)"));
		return;
	}
	json_object_set(d, "before_image", r->before);
	if (r->masked && r->mask_total > 0)
		json_object_set_new(d, "before_image_masked", json_true());
	if (key != NULL)
		json_object_set(d, "key", key);
	else if (r->rb_snap != NULL && r->have_tables) {
		/* PutItem names no Key: the runbook folder's key schema picks it from Item. */
		const runbook_table *t = runbook_set_table(gw_rb_set(r->rb_snap), r->tables.data);
		json_t *k = t != NULL ? item_key(json_object_get(body, "Item"), &t->keys) : NULL;
		if (k != NULL)
			json_object_set_new(d, "key", k);
	}
}

/* What the response record says of a 200 answer (docs/audit.md, "What is recorded"): the
 * SHA-256 of DynamoDB's body and, when the gateway changed it (capacity stripped, values
 * masked), of the body the client receives; for reads, Count and ScannedCount, how many
 * items came back and their primary keys (when tables.yaml in the runbook folder declares
 * the table's key schema; an item of another shape is counted but not keyed); and the
 * ConsumedCapacity DynamoDB reported with what was charged to the grant. The body itself
 * is not recorded: the keys say which items a responder saw, without copying the data
 * into the trail. */
static void answer_summary(const pl_req *r, json_t *d)
{
	const bg_buf *b = &r->reply.body; /* the answer as released */
	bool read =
	    r->op != NULL && (strcmp(r->op, "GetItem") == 0 || strcmp(r->op, "Query") == 0 ||
	                      strcmp(r->op, "Scan") == 0 || strcmp(r->op, "BatchGetItem") == 0);
	json_t *doc = r->answer, *items, *keys = NULL, *v;
	const runbook_table *t = NULL;
	gw_rb_snapshot *snap = NULL;
	uint8_t h[32];
	char hex[65];
	size_t i;

	bg_sha256(b->data ? b->data : "", b->len, h);
	bg_hex(h, sizeof(h), hex);
	if (r->masked)
		mask_summary(r, d, hex);
	else {
		json_object_set_new(d, "body_sha256", json_string(r->upstream_sha256));
		if (r->body_rewritten)
			json_object_set_new(d, "released_body_sha256", json_string(hex));
	}
	if (r->consumed != NULL)
		json_object_set(d, "consumed_capacity", r->consumed);
	/* A write's before-image, or why there is none (an answer that did not parse too). */
	if (r->req != NULL && captures_before(ddb_request_op(r->req)))
		before_summary(r, d);
	if (doc == NULL)
		return;
	if ((v = json_object_get(doc, "Count")) != NULL)
		json_object_set(d, "count", v);
	if ((v = json_object_get(doc, "ScannedCount")) != NULL)
		json_object_set(d, "scanned_count", v);
	if (read && strcmp(r->op, "BatchGetItem") != 0) {
		json_t *one = json_object_get(doc, "Item");

		items = one != NULL ? json_pack("[O]", one)
		                    : json_incref(json_object_get(doc, "Items"));
		json_object_set_new(d, "items", json_integer((json_int_t)json_array_size(items)));
		if (r->rb_snap != NULL && r->have_tables)
			t = runbook_set_table(gw_rb_set(r->rb_snap), r->tables.data);
		else if (r->env->runbooks != NULL && r->have_tables) {
			snap = gw_runbooks_acquire(r->env->runbooks);
			t = runbook_set_table(gw_rb_set(snap), r->tables.data);
		}
		if (t != NULL && json_array_size(items) > 0)
			keys = json_array();
		for (i = 0; keys != NULL && i < json_array_size(items); i++) {
			json_t *k = item_key(json_array_get(items, i), &t->keys);
			if (k != NULL)
				json_array_append_new(keys, k);
		}
		if (keys != NULL)
			json_object_set_new(d, "keys", keys);
		gw_runbooks_release(snap);
		json_decref(items);
	}
}

/* A runbook's page was answered: the LastEvaluatedKey it returned is the only one the
 * next page may continue from (an error answer ends the sequence). */
static void note_page(pl_req *r)
{
	json_t *lek = r->resp.status == 200 ? json_object_get(r->answer, "LastEvaluatedKey") : NULL;
	char hash[65];

	gw_runbooks_page_answered(r->env->runbooks, r->rbd.page_key,
	                          lek != NULL && json_digest(lek, hash) ? hash : NULL, r->page);
}

/* The capacity a 200 answer reports, charged to the grant (and its runbook) for the
 * budgets, kept for the response record, and stripped from the answer when it was the
 * gateway that asked for it. */
static void charge(pl_req *r)
{
	json_t *cc = json_object_get(r->answer, "ConsumedCapacity");

	if (cc == NULL)
		return;
	r->consumed = json_incref(cc);
	r->charged = ddb_capacity_units(cc, ddb_request_op(r->req));
	r->have_charge = true;
	if (r->added_rcc) {
		json_object_del(r->answer, "ConsumedCapacity");
		r->body_rewritten = true;
	}
}

/* A conditional single-item write DynamoDB refused (ConditionalCheckFailedException)
 * still consumed write capacity, but the error reports none: it is charged the least a
 * write costs, one unit, marked as estimated on the record. */
static void charge_refused_write(pl_req *r)
{
	const char *type = json_string_value(json_object_get(r->answer, "__type"));

	if (r->req == NULL || !captures_before(ddb_request_op(r->req)) || type == NULL ||
	    strstr(type, "ConditionalCheckFailedException") == NULL)
		return;
	r->charged = (ddb_units){0, 1};
	r->have_charge = true;
	r->charge_estimated = true;
}

/* The request's cost on the grant's spend: its hold released and what it consumed added
 * (or, with no budget to hold against, simply added), before the answer is released, so
 * the next request is checked against it. */
static void settle(pl_req *r)
{
	const char *rb = r->rbd.rb != NULL ? r->rbd.rb->id : NULL;

	if (r->holding) {
		gw_spend_settle(r->env->spend, r->grant_id, rb, &r->held,
		                r->have_charge ? &r->charged : NULL);
		r->holding = false;
	} else if (r->have_charge &&
	           gw_spend_charge(r->env->spend, r->grant_id, rb, &r->charged) != 0) {
		fprintf(stderr, "breakglass: out of memory charging grant %s's capacity\n",
		        r->grant_id);
	}
}

/* A runbook with `mask:` (policy/mask.h): its answer (a 200, or an error in JSON, since
 * ConditionalCheckFailedException may carry the item) has every masked attribute replaced
 * by the marker. An answer that cannot be masked is withheld, never released as it came.
 * Returns false when it was withheld (r->withheld_why says why; the reply is then an
 * error). */
static bool mask_reply(pl_req *r)
{
	const runbook *rb = r->rbd.rb;
	size_t counts[BG_MAX_MASK_PATHS] = {0}, i;
	uint8_t key[MASK_KEY_LEN];
	bg_err e;
	int rc;

	bg_err_clear(&e);
	if (r->answer == NULL && r->resp.status != 200)
		return true; /* an error that is not JSON (a proxy's page) holds no item */
	if (r->answer == NULL) {
		bg_err_set(&e, BG_EINVAL, "DynamoDB's answer is not JSON");
		goto fail;
	}
	if (rb->mask_hash && r->env->kr == NULL) {
		bg_err_set(&e, BG_EIO, "no master key to hash masked values with");
		goto fail;
	}
	if (rb->mask_hash)
		keyring_derive(r->env->kr, "mask-hash", "", 0, key);
	rc = mask_answer(r->answer, rb->mask, rb->n_mask, rb->mask_hash ? key : NULL, counts,
	                 &r->mask_total, &e);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc != 0)
		goto fail;
	if ((r->mask_counts = json_object()) == NULL) {
		bg_err_set(&e, BG_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < rb->n_mask; i++)
		if (json_object_set_new(r->mask_counts, rb->mask[i].text,
		                        json_integer((json_int_t)counts[i])) != 0) {
			bg_err_set(&e, BG_ENOMEM, "out of memory");
			goto fail;
		}
	r->masked = true;
	r->body_rewritten = true;
	return true;
fail:
	r->withheld = "mask_error";
	snprintf(r->withheld_why, sizeof(r->withheld_why), "%s", e.msg);
	/* DynamoDB ran the request: say so (RequestOutcomeUnknown is never retried by SDKs,
	 * where RequestRefused would claim it did not run). */
	set_error(r, DDB_ERR_OUTCOME_UNKNOWN,
	          "breakglass: DynamoDB answered, but the answer could not be masked as the "
	          "runbook requires, so it is withheld; the request was applied");
	return false;
}

/* A write's before-image (plan_capture): a 200 answer's Attributes, masked already when
 * the runbook masks (so the trail holds no masked value), or JSON null when the answer has
 * none (the item did not exist). Stripped when the gateway asked for it. */
static void capture_before(pl_req *r)
{
	json_t *a = json_object_get(r->answer, "Attributes");

	r->before = a != NULL ? json_incref(a) : json_null();
	if (r->added_rv && a != NULL) {
		json_object_del(r->answer, "Attributes");
		r->body_rewritten = true;
	}
}

/* The changed answer as the body released, with a new x-amz-crc32 (zlib's CRC-32, in
 * decimal as DynamoDB sends it: botocore retries an answer whose checksum does not match,
 * so a stale one would make every changed answer fail). */
static bool rewrite_body(pl_req *r)
{
	bg_buf *b = &r->reply.body;
	char *text = json_dumps(r->answer, JSON_COMPACT);
	bool ok;

	bg_buf_reset(b);
	ok = text != NULL && bg_buf_adds(b, text) == 0;
	free(text);
	if (!ok) {
		r->withheld = "transform_error";
		snprintf(r->withheld_why, sizeof(r->withheld_why),
		         "out of memory re-encoding the answer");
		set_error(r, DDB_ERR_OUTCOME_UNKNOWN,
		          "breakglass: DynamoDB answered, but the gateway ran out of memory "
		          "preparing the answer, so it is withheld; the request was applied");
		return false;
	}
	snprintf(r->crc32, sizeof(r->crc32), "%lu",
	         crc32(crc32(0L, Z_NULL, 0), (const Bytef *)b->data, (uInt)b->len));
	r->reply.crc32 = r->crc32;
	return true;
}

/* A runbook's max_response_bytes: a larger read answer is withheld (the read changed
 * nothing, so nothing is lost by not releasing it). */
static void size_cap(pl_req *r)
{
	const runbook *rb = r->rbd.rb;
	size_t n = r->reply.body.len;

	if (rb == NULL || rb->max_response_bytes <= 0 || r->resp.status != 200 ||
	    n <= (size_t)rb->max_response_bytes)
		return;
	r->withheld = "size_error";
	snprintf(r->withheld_why, sizeof(r->withheld_why),
	         "breakglass: the answer is %zu bytes, over runbook %s's max_response_bytes "
	         "(%lld); it is withheld. Read fewer items a page (Limit) or fewer attributes",
	         n, rb->id, (long long)rb->max_response_bytes);
	set_error(r, DDB_ERR_RESPONSE_SIZE, r->withheld_why);
}

/* DynamoDB's answer on its way to release: parsed once (a 200, or an error a runbook
 * masks), a runbook's page noted, its capacity charged (and stripped when the gateway
 * asked for it), masked, re-encoded when changed, and held to the size cap. */
static void transform_answer(pl_req *r)
{
	const bg_buf *b = &r->reply.body;
	bool masking = r->rbd.rb != NULL && r->rbd.rb->n_mask > 0;
	uint8_t h[BG_SHA256_LEN];

	bg_sha256(b->data ? b->data : "", b->len, h);
	bg_hex(h, sizeof(h), r->upstream_sha256);
	/* A DynamoDB string may hold U+0000; an answer with one must not be withheld. */
	if (r->resp.status == 200 || masking ||
	    (r->resp.status == 400 && captures_before(ddb_request_op(r->req))))
		r->answer = json_loadb(b->data ? b->data : "", b->len, JSON_ALLOW_NUL, NULL);
	if (r->page > 0)
		note_page(r);
	if (r->resp.status == 200 && r->answer != NULL)
		charge(r);
	else if (r->resp.status != 200 && r->answer != NULL)
		charge_refused_write(r);
	/* Error answers too: ConditionalCheckFailedException carries the item when the
	 * request asked for ReturnValuesOnConditionCheckFailure. */
	if (masking && !mask_reply(r))
		return;
	if (r->capture && r->resp.status == 200 && r->answer != NULL)
		capture_before(r);
	if (r->body_rewritten && !rewrite_body(r))
		return;
	size_cap(r);
}

/* TRANSFORM: the answer as it will be released: DynamoDB's (status, body, request id,
 * checksum), changed only as transform_answer() says. */
static void stage_transform(pl_req *r)
{
	r->stage = PL_TRANSFORM;
	switch (r->outcome) {
	case UPSTREAM_ANSWERED:
		r->reply.status = (int)r->resp.status;
		bg_buf_free(&r->reply.body);
		r->reply.body = r->resp.body; /* moved: the answer is released as it came */
		bg_buf_init(&r->resp.body, BG_MAX_RESPONSE_BODY);
		r->reply.content_type = r->resp.content_type[0] ? r->resp.content_type : NULL;
		r->reply.upstream_rid = r->resp.request_id[0] ? r->resp.request_id : NULL;
		r->reply.crc32 = r->resp.crc32[0] ? r->resp.crc32 : NULL;
		transform_answer(r);
		break;
	case UPSTREAM_NOT_SENT:
		/* A reason of the gateway's own (no AWS identity) is the client's message. */
		set_error(
		    r, DDB_ERR_INTERNAL,
		    strncmp(r->why, "breakglass: ", 12) == 0
		        ? r->why
		        : "breakglass: DynamoDB could not be reached; the request was not sent");
		break;
	case UPSTREAM_UNKNOWN:
		set_error(r, DDB_ERR_OUTCOME_UNKNOWN,
		          "breakglass: the request was sent to DynamoDB but no answer came; it may "
		          "or may not have been applied. Check before retrying.");
		break;
	}
	/* Sent with no answer: it may have run, so it costs at least what was held. */
	if (r->outcome == UPSTREAM_UNKNOWN && r->holding && !r->have_charge) {
		r->charged = r->held;
		r->have_charge = true;
		r->charge_estimated = true;
	}
	settle(r);
}

static void start_audit_response(pl_req *r)
{
	static const char *const outcome_name[] = {"answered", "not_sent", "unknown"};
	audit_record rec;
	audit_charge charge;
	bool charged = false;
	json_t *d = json_object();

	r->stage = PL_AUDIT_RESPONSE;
	record_init(r, &rec, "response");
	rec.status = r->outcome == UPSTREAM_ANSWERED ? (int)r->resp.status : 0;
	rec.reason = r->outcome == UPSTREAM_ANSWERED ? NULL : r->why;
	if (d) {
		json_object_set_new(d, "outcome", json_string(outcome_name[r->outcome]));
		if (r->outcome == UPSTREAM_ANSWERED) {
			const bg_buf *b = &r->reply.body;
			json_object_set_new(d, "bytes", json_integer((json_int_t)b->len));
			json_object_set_new(d, "upstream_request_id",
			                    json_string(r->resp.request_id));
			if (r->withheld != NULL) {
				/* Withheld: only what DynamoDB's answer was, never its body. */
				json_object_set_new(d, "body_sha256",
				                    json_string(r->upstream_sha256));
				json_object_set_new(d, r->withheld, json_string(r->withheld_why));
				if (r->consumed != NULL)
					json_object_set(d, "consumed_capacity", r->consumed);
			} else if (r->resp.status == 200) {
				answer_summary(r, d);
			} else {
				json_object_set_new(d, "error",
				                    json_loadb(b->data ? b->data : "", b->len,
				                               JSON_ALLOW_NUL, NULL));
				if (r->masked) {
					uint8_t h[BG_SHA256_LEN];
					char hex[65];
					bg_sha256(b->data ? b->data : "", b->len, h);
					bg_hex(h, sizeof(h), hex);
					mask_summary(r, d, hex);
				}
			}
		}
		/* The ledger of the budgets (the store keeps its running totals); "estimated" when
		 * DynamoDB reported no capacity (a refused conditional write, no answer). */
		if (r->have_charge)
			charged = json_object_set_new(
			              d, "charged",
			              json_pack("{s:f,s:f,s:s?,s:b}", "read", r->charged.read,
			                        "write", r->charged.write, "runbook",
			                        r->rbd.rb != NULL ? r->rbd.rb->id : NULL,
			                        "estimated", r->charge_estimated)) == 0;
	}
	rec.detail = d;
	/* The same charge, added to the store's running totals with the record (only when
	 * the record says so: the totals are the trail's). */
	if (charged && r->grant_id != NULL && r->charged.read >= 0 && r->charged.write >= 0) {
		charge.runbook = r->rbd.rb != NULL ? r->rbd.rb->id : NULL;
		charge.read = r->charged.read;
		charge.write = r->charged.write;
		rec.charge = &charge;
	}
	if (r->io->audit(r->io_ctx, r, &rec) != 0)
		pl_audit_done(r, BG_EIO, "the audit queue is full");
	json_decref(d);
}

void pl_forward_done(pl_req *r, upstream_outcome o, upstream_response *resp, const char *why)
{
	if (r->stage != PL_FORWARD)
		return;
	r->t_answer = bg_mono_us();
	r->outcome = o;
	snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
	if (o == UPSTREAM_ANSWERED && resp != NULL) {
		upstream_response_free(&r->resp);
		r->resp = *resp;
		memset(resp, 0, sizeof(*resp));
	}
	stage_transform(r);
	start_audit_response(r);
}

void pl_audit_done(pl_req *r, int rc, const char *why)
{
	if (r->denying) {
		r->denying = false;
		if (rc != 0)
			fprintf(stderr, "breakglass: audit of a denial failed: %s\n",
			        why ? why : "");
		release(r);
		return;
	}
	if (r->stage == PL_AUDIT_REQUEST) {
		if (rc != 0) {
			set_error(r, DDB_ERR_INTERNAL,
			          "breakglass: the audit log is unavailable; request refused (fail "
			          "closed)");
			release(r);
			return;
		}
		start_forward(r);
		return;
	}
	if (r->stage == PL_AUDIT_RESPONSE) {
		if (rc != 0) {
			if (r->outcome == UPSTREAM_NOT_SENT)
				set_error(
				    r, DDB_ERR_INTERNAL,
				    "breakglass: DynamoDB could not be reached; the request was "
				    "not sent");
			else
				set_error(
				    r, DDB_ERR_OUTCOME_UNKNOWN,
				    "breakglass: the audit log is unavailable, so DynamoDB's "
				    "answer "
				    "is withheld (fail closed); the request may have been applied");
		}
		release(r);
	}
}

void pl_run(pl_req *r)
{
	if (r->stage != PL_VERIFY)
		return;
	if (!stage_verify(r))
		return;
	r->stage = PL_AUTHORISE;
	if (!stage_authorise(r))
		return;
	start_audit_request(r);
}

/* --- the early look -------------------------------------------------------------------- */

int pl_check_head(const pl_env *env, const sigv4_header *h, size_t n, ddb_error_kind *kind,
                  bg_err *e)
{
	size_t count = 0;
	const sigv4_header *auth = sigv4_header_find(h, n, "authorization", &count);
	sigv4_auth a;
	char akid[BG_MAX_ACCESS_KEY_ID + 1];
	const store_grant *g;

	if (count == 0) {
		*kind = DDB_ERR_MISSING_AUTH;
		return bg_err_set(e, BG_EAUTH, "Request is missing Authentication Token");
	}
	if (count != 1) {
		*kind = DDB_ERR_INCOMPLETE_SIGNATURE;
		return bg_err_set(e, BG_EAUTH, "Only one Authorization header is allowed");
	}
	if (sigv4_parse_authorization(auth->value, auth->value_len, &a, e) != 0) {
		*kind = DDB_ERR_INCOMPLETE_SIGNATURE;
		return BG_EAUTH;
	}
	if (a.akid.len > BG_MAX_ACCESS_KEY_ID) {
		*kind = DDB_ERR_UNRECOGNIZED_CLIENT;
		return bg_err_set(e, BG_EAUTH,
		                  "The security token included in the request is invalid.");
	}
	memcpy(akid, a.akid.p, a.akid.len);
	akid[a.akid.len] = '\0';
	g = grant_cache_get(env->grants, akid);
	if (g == NULL) {
		*kind = DDB_ERR_UNRECOGNIZED_CLIENT;
		return bg_err_set(e, BG_EAUTH,
		                  "The security token included in the request is invalid.");
	}
	grant_cache_release(g);
	return 0;
}

/* --- requests meant for a proxy -------------------------------------------------------- */

/* The destination of a proxy request into out: CONNECT's host:port, or an absolute-form
 * target's scheme and authority without user info, path or query (those may carry
 * credentials, which are never recorded). False for an origin-form ("/...") or asterisk
 * request. */
static bool proxy_target(const char *method, const char *t, size_t n,
                         char out[BG_MAX_PROXY_TARGET + 1])
{
	size_t i, host, end;

	if (t == NULL || n == 0)
		return false;
	if (strcmp(method, "CONNECT") == 0) {
		host = 0;
		end = n;
	} else {
		if (t[0] == '/' || t[0] == '*')
			return false;
		for (i = 0; i + 3 <= n && memcmp(t + i, "://", 3) != 0; i++)
			;
		if (i + 3 > n)
			return false;
		host = i + 3;
		for (end = host; end < n && t[end] != '/' && t[end] != '?' && t[end] != '#'; end++)
			if (t[end] == '@')
				host = end + 1;
		/* scheme://, then the host part from host to end. */
		snprintf(out, BG_MAX_PROXY_TARGET + 1, "%.*s%.*s", (int)(i + 3), t,
		         (int)(end - host), t + host);
		return true;
	}
	snprintf(out, BG_MAX_PROXY_TARGET + 1, "%.*s", (int)(end - host), t + host);
	return true;
}

int pl_check_target(const char *method, const char *target, size_t len, ddb_error_kind *kind,
                    bg_err *e)
{
	char dest[BG_MAX_PROXY_TARGET + 1];
	bool aws;

	if (!proxy_target(method, target, len, dest))
		return 0;
	aws = strstr(dest, ".amazonaws.com") != NULL || strstr(dest, ".api.aws") != NULL;
	*kind = DDB_ERR_ACCESS_DENIED;
	return bg_err_set(e, BG_EDENIED,
	                  "proxy request refused: %s %s (breakglass is not a proxy; a client "
	                  "tried to reach %s directly)",
	                  method, dest, aws ? "AWS" : "another host");
}
