/*
 * server.c - `breakglass serve`: start-up, the event loops, and the wiring of the
 * transport (net/http_server) to the DynamoDB pipeline (gateway/pipeline) and to the
 * JSON API (api.c), then a graceful shutdown.
 *
 * Threads: one event loop per core (or --threads), each with its own libcurl multi
 * handle for upstream calls; the audit log's committer thread; one API worker thread
 * (API actions use the store and wait for their audit record, so they never run on a
 * loop); and the main thread, which waits for SIGTERM/SIGINT and then drains: stop
 * accepting, let in-flight requests finish and be audited for up to drain_timeout,
 * answer what is still waiting for DynamoDB as "outcome unknown" (recorded as such),
 * and exit 0.
 */
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/encode.h"
#include "common/fileio.h"
#include "gateway/gateway.h"
#include "gateway/gw.h"
#include "gateway/notifier.h"
#include "gateway/pipeline.h"
#include "net/curl_loop.h"
#include "net/http_server.h"
#include "net/loop.h"
#include "net/url.h"
#include "store/datadir.h"

/* --- per-loop state -------------------------------------------------------------------- */

typedef struct call call;

typedef struct gw_loop {
	struct server *srv;
	net_loop *loop;
	net_curl *curl;
	pthread_t thread;
	bool started;
	uint8_t rid_prefix[10]; /* request ids: random prefix + counter */
	uint64_t rid_next;
	call *calls; /* DynamoDB requests in flight on this loop */
	net_task abort_task;
	net_task flush_task; /* hands this turn's audit records to the committer */
	bool flush_due;
} gw_loop;

typedef struct api_job api_job;

typedef struct server {
	gw g;
	pl_env env;
	gw_loop *loops;
	size_t nloops;
	net_http_server *http;
	net_tls *tls;
	atomic_int inflight;         /* DynamoDB requests and API jobs not yet answered */
	atomic_uint_fast64_t served; /* requests answered since start (for malloc_trim) */

	/* The API worker. */
	pthread_t api_thread;
	bool api_started;
	pthread_mutex_t api_mu;
	pthread_cond_t api_cv;
	api_job *api_head, *api_tail;
	bool api_stop;
} server;

static __thread gw_loop *this_loop;

static void new_request_id(gw_loop *gl, char out[32])
{
	uint8_t raw[16];
	uint64_t n = gl->rid_next++;
	int i;

	memcpy(raw, gl->rid_prefix, 10);
	for (i = 0; i < 6; i++)
		raw[10 + i] = (uint8_t)(n >> (8 * (5 - i)));
	bg_base32(raw, sizeof(raw), false, out, 32);
}

/* --- DynamoDB requests: the pipeline's I/O on a loop --------------------------------------- */

struct call {
	gw_loop *gl;
	net_http_conn *conn;
	pl_req *pl;
	call *prev, *next;
	int refs;             /* the flow, plus one per audit record in the committer */
	bool closing;         /* answer with Connection: close (body left unread) */
	bool audit_abandoned; /* the audit timer fired first: ignore its completion */
	net_timer audit_timer;
	net_task audit_task; /* the committer's completion, posted back to the loop */
	int audit_rc;
	char audit_why[256];
	int64_t audit_seq; /* the last record made durable: what x-breakglass-audit-seq says */
	upstream_call *up;
};

static void call_unref(call *c)
{
	if (--c->refs > 0)
		return;
	pl_req_free(c->pl);
	free(c);
}

/* After any entry into the pipeline: a finished request leaves the loop's list. */
static void call_check_done(call *c)
{
	gw_loop *gl = c->gl;

	if (c->pl == NULL || pl_req_stage(c->pl) != PL_DONE || c->conn == NULL)
		return;
	c->conn = NULL;
	net_timer_disarm(gl->loop, &c->audit_timer);
	if (c->prev)
		c->prev->next = c->next;
	else
		gl->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	atomic_fetch_sub(&gl->srv->inflight, 1);
	atomic_fetch_add(&gl->srv->served, 1);
	call_unref(c);
}

static void audit_posted(void *arg)
{
	call *c = arg;

	if (!c->audit_abandoned && c->conn != NULL) {
		net_timer_disarm(c->gl->loop, &c->audit_timer);
		pl_audit_done(c->pl, c->audit_rc, c->audit_why);
		call_check_done(c);
	}
	call_unref(c);
}

/* On the committer thread: hand the result to the request's loop. */
static void audit_completed(void *arg, int rc, int64_t seq, const bg_err *e)
{
	call *c = arg;

	c->audit_rc = rc;
	c->audit_seq = rc == 0 ? seq : 0;
	snprintf(c->audit_why, sizeof(c->audit_why), "%s", rc && e ? e->msg : "");
	c->audit_task.fn = audit_posted;
	c->audit_task.arg = c;
	net_loop_post(c->gl->loop, &c->audit_task);
}

/* A stuck audit disk: the request is answered (refused, or "outcome unknown") within
 * BG_AUDIT_WAIT_MS; the record may still be written later. */
static void audit_timeout(void *arg)
{
	call *c = arg;

	c->audit_abandoned = true;
	pl_audit_done(c->pl, BG_EIO, "the audit record was not durable in time");
	call_check_done(c);
}

/* At the end of a loop turn: the records queued during it go to the committer together
 * (one wake-up, one batch). */
static void audit_flush_turn(void *arg)
{
	gw_loop *gl = arg;

	gl->flush_due = false;
	audit_flush(gl->srv->g.audit);
}

static int io_audit(void *ctx, pl_req *r, const audit_record *rec)
{
	call *c = ctx;
	gw_loop *gl = c->gl;
	bg_err e;

	if (c->audit_abandoned)
		return BG_EIO; /* the committer is stuck: do not queue behind it */
	c->refs++;
	if (audit_submit_held(gl->srv->g.audit, rec, audit_completed, c, &e) != 0) {
		c->refs--;
		return BG_EIO;
	}
	if (!gl->flush_due) {
		gl->flush_due = true;
		gl->flush_task.fn = audit_flush_turn;
		gl->flush_task.arg = gl;
		net_loop_defer(gl->loop, &gl->flush_task);
	}
	if (net_timer_arm(c->gl->loop, &c->audit_timer, BG_AUDIT_WAIT_MS) != 0) {
		/* No timer (out of memory): the committer's answer still comes. */
	}
	return 0;
}

static void upstream_done(void *arg, upstream_call *up)
{
	call *c = arg;
	const char *why = "";
	upstream_outcome o = upstream_call_outcome(up, &why);

	pl_forward_done(c->pl, o, upstream_call_response(up), why);
	upstream_call_free(up);
	c->up = NULL;
	call_check_done(c);
}

static int io_forward(void *ctx, pl_req *r, const char *target, size_t target_len,
                      const uint8_t *body, size_t len)
{
	call *c = ctx;
	bg_err e = {0, ""};
	int rc = upstream_start(c->gl->srv->g.up, c->gl->curl, target, target_len, body, len,
	                        upstream_done, c, &c->up, &e);

	if (rc == BG_EAUTH) { /* no valid AWS identity: refused with the reason, not sent */
		pl_forward_done(r, UPSTREAM_NOT_SENT, NULL, e.msg);
		return 0;
	}
	return rc;
}

static net_http_header hdr(const char *name, const char *value)
{
	return (net_http_header){name, strlen(name), value, strlen(value)};
}

static void io_reply(void *ctx, pl_req *r, pl_reply *rep)
{
	call *c = ctx;
	net_http_header h[5];
	char seq[24];
	size_t n = 0;

	h[n++] = hdr("Content-Type",
	             rep->content_type ? rep->content_type : "application/x-amz-json-1.0");
	h[n++] = hdr("x-amzn-RequestId", rep->upstream_rid ? rep->upstream_rid : pl_req_id(r));
	if (rep->crc32)
		h[n++] = hdr("x-amz-crc32", rep->crc32);
	h[n++] = hdr("x-breakglass-request-id", pl_req_id(r));
	/* The answer's own record (response or denial): `breakglass undo` takes a write's. */
	if (c->audit_seq > 0) {
		snprintf(seq, sizeof(seq), "%lld", (long long)c->audit_seq);
		h[n++] = hdr("x-breakglass-audit-seq", seq);
	}
	(void)net_http_reply(c->conn, rep->status, h, n, &rep->body,
	                     c->closing ? NET_REPLY_CLOSE : 0);
}

static const pl_io pipeline_io = {io_audit, io_forward, io_reply};

/* A fixed answer made by the gateway itself. */
static void reply_text(net_http_conn *conn, int status, const char *type, const char *text)
{
	net_http_header h = hdr("Content-Type", type);
	bg_buf body;

	bg_buf_init(&body, strlen(text) + 1);
	(void)net_http_reply(conn, status, &h, 1, bg_buf_adds(&body, text) == 0 ? &body : NULL, 0);
	bg_buf_free(&body);
}

/* A call for the connection's current request (headers so far, maybe no body). */
static call *call_new(gw_loop *gl, net_http_conn *conn, const net_http_request *r)
{
	call *c = calloc(1, sizeof(*c));
	pl_http http;
	char rid[32];

	if (c == NULL)
		return NULL;
	c->gl = gl;
	c->conn = conn;
	c->refs = 1;
	c->audit_timer.fn = audit_timeout;
	c->audit_timer.arg = c;
	memset(&http, 0, sizeof(http));
	http.method = r->method ? r->method : "?";
	http.path = r->target ? r->target : "";
	http.path_len = r->target ? r->path_len : 0;
	http.has_query = r->has_query;
	http.headers = r->headers; /* stay put until the answer is written */
	http.n_headers = r->n_headers;
	http.body = r->body ? r->body : (const uint8_t *)"";
	http.body_len = r->body_len;
	http.peer = r->peer;
	new_request_id(gl, rid);
	c->pl = pl_req_new(&gl->srv->env, &pipeline_io, c, &http, rid);
	if (c->pl == NULL) {
		free(c);
		return NULL;
	}
	c->next = gl->calls;
	if (gl->calls)
		gl->calls->prev = c;
	gl->calls = c;
	atomic_fetch_add(&gl->srv->inflight, 1);
	return c;
}

/* --- the API, on its worker thread -------------------------------------------------------- */

const char *gw_header(const gw_http_request *r, const char *name, size_t *len)
{
	const sigv4_header *h = sigv4_header_find(r->headers, r->n_headers, name, NULL);

	if (h && len)
		*len = h->value_len;
	return h ? h->value : NULL;
}

struct api_job {
	api_job *next;
	gw_loop *gl;
	net_http_conn *conn;
	gw_http_request hr;
	gw_reply rep;
	net_url url;
	net_task done_task;
};

static const char *api_arg(const gw_http_request *hr, const char *name)
{
	const api_job *j = hr->conn;

	return net_url_arg(&j->url, name);
}

static void api_job_free(api_job *j)
{
	bg_buf_free_secure(&j->rep.body); /* may hold credentials */
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static void api_job_done(void *arg)
{
	api_job *j = arg;
	server *s = j->gl->srv;
	net_http_header h[2 + GW_REPLY_MAX_HEADERS];
	char rid[32];
	size_t i, n = 2;

	new_request_id(j->gl, rid);
	h[0] =
	    hdr("Content-Type", j->rep.content_type[0] ? j->rep.content_type : "application/json");
	h[1] = hdr("x-amzn-RequestId", rid);
	for (i = 0; i < j->rep.n_headers && i < GW_REPLY_MAX_HEADERS; i++)
		h[n++] = hdr(j->rep.headers[i].name, j->rep.headers[i].value);
	(void)net_http_reply(j->conn, j->rep.status ? j->rep.status : 500, h, n, &j->rep.body,
	                     NET_REPLY_SECRET);
	api_job_free(j);
	atomic_fetch_sub(&s->inflight, 1);
	atomic_fetch_add(&s->served, 1);
}

static void *api_main(void *arg)
{
	server *s = arg;

	pthread_setname_np(pthread_self(), "bg-api"); /* top -H, perf, /proc */
	pthread_mutex_lock(&s->api_mu);
	for (;;) {
		api_job *j;
		while (s->api_head == NULL && !s->api_stop)
			pthread_cond_wait(&s->api_cv, &s->api_mu);
		j = s->api_head;
		if (j == NULL)
			break;
		s->api_head = j->next;
		if (s->api_head == NULL)
			s->api_tail = NULL;
		pthread_mutex_unlock(&s->api_mu);
		if (strncmp(j->hr.path, "/hooks/", 7) == 0)
			gw_hooks_handle(&s->g, &j->hr, &j->rep);
		else
			gw_api_handle(&s->g, &j->hr, &j->rep);
		bg_stack_scrub();
		j->done_task.fn = api_job_done;
		j->done_task.arg = j;
		net_loop_post(j->gl->loop, &j->done_task);
		pthread_mutex_lock(&s->api_mu);
	}
	pthread_mutex_unlock(&s->api_mu);
	return NULL;
}

static void api_submit(gw_loop *gl, net_http_conn *conn, const net_http_request *r)
{
	server *s = gl->srv;
	api_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		(void)net_http_reply(conn, 500, NULL, 0, NULL, NET_REPLY_CLOSE);
		return;
	}
	j->gl = gl;
	j->conn = conn;
	bg_buf_init(&j->rep.body, BG_MAX_RESPONSE_BODY);
	if (net_url_parse(r->target, r->target_len, &j->url, NULL) != 0) {
		reply_text(conn, 400, "application/json",
		           "{\"error\":\"bad_request\",\"message\":\"malformed URL\"}");
		api_job_free(j);
		return;
	}
	j->hr.method = r->method;
	j->hr.path = j->url.path;
	j->hr.headers = r->headers; /* the loop reads nothing more until the answer */
	j->hr.n_headers = r->n_headers;
	j->hr.n_query = j->url.nargs;
	j->hr.body = r->body;
	j->hr.body_len = r->body_len;
	j->hr.peer = r->peer;
	j->hr.arg = api_arg;
	j->hr.conn = j;
	new_request_id(gl, j->hr.request_id);
	atomic_fetch_add(&s->inflight, 1);
	pthread_mutex_lock(&s->api_mu);
	if (s->api_tail)
		s->api_tail->next = j;
	else
		s->api_head = j;
	s->api_tail = j;
	pthread_cond_signal(&s->api_cv);
	pthread_mutex_unlock(&s->api_mu);
}

/* --- the transport's callbacks ----------------------------------------------------------- */

/* The JSON API, and GET /metrics where Prometheus looks by default (the API's route
 * table guards it with a token like the rest). */
static bool is_api(const net_http_request *r)
{
	return (r->path_len >= 5 && memcmp(r->target, "/api/", 5) == 0) ||
	       (r->path_len == 8 && memcmp(r->target, "/metrics", 8) == 0);
}

static bool is_hook(const net_http_request *r)
{
	return r->path_len >= 7 && memcmp(r->target, "/hooks/", 7) == 0;
}

static bool is_health(const net_http_request *r)
{
	return strcmp(r->method, "GET") == 0 && r->target_len == 1 && r->target[0] == '/';
}

static int on_head(void *app, net_http_conn *conn, net_http_request *r)
{
	server *s = app;
	ddb_error_kind kind;
	bg_err e;
	call *c;

	/* A proxy request (CONNECT, absolute-form) first: it is neither the API nor
	 * DynamoDB, and is refused as what it is. */
	if (pl_check_target(r->method, r->target, r->target_len, &kind, &e) == 0) {
		if (is_api(r)) {
			r->body_max = BG_MAX_API_BODY;
			return 0;
		}
		if (is_hook(r)) {
			r->body_max = BG_MAX_HOOK_BODY;
			return 0;
		}
		if (is_health(r))
			return 0;
		if (pl_check_head(&s->env, r->headers, r->n_headers, &kind, &e) == 0)
			return 0;
	}
	/* Refused before its body is read: recorded, answered, connection closed. */
	c = call_new(this_loop, conn, r);
	if (c == NULL)
		return -1;
	c->closing = true;
	pl_refuse(c->pl, kind, e.msg);
	call_check_done(c);
	return -1;
}

static void on_request(void *app, net_http_conn *conn, const net_http_request *r)
{
	call *c;

	if (is_api(r) || is_hook(r)) {
		api_submit(this_loop, conn, r);
		return;
	}
	if (is_health(r)) {
		/* DynamoDB answers GET / with a health line; load balancers probe it. */
		reply_text(conn, 200, "text/plain", "healthy: breakglass\n");
		return;
	}
	c = call_new(this_loop, conn, r);
	if (c == NULL) {
		(void)net_http_reply(conn, 500, NULL, 0, NULL, NET_REPLY_CLOSE);
		return;
	}
	pl_run(c->pl);
	call_check_done(c);
}

static int on_error(void *app, net_http_conn *conn, const net_http_request *r, net_http_error err,
                    const char *msg)
{
	static const ddb_error_kind kinds[] = {
	    [NET_HTTP_BAD_REQUEST] = DDB_ERR_BAD_REQUEST,
	    [NET_HTTP_HEAD_TOO_LARGE] = DDB_ERR_VALIDATION,
	    [NET_HTTP_TOO_LARGE] = DDB_ERR_TOO_LARGE,
	    [NET_HTTP_BUSY] = DDB_ERR_INTERNAL,
	    [NET_HTTP_BODY_TIMEOUT] = DDB_ERR_BAD_REQUEST,
	};
	call *c = call_new(this_loop, conn, r);

	if (c == NULL)
		return -1;
	c->closing = true;
	pl_refuse(c->pl, kinds[err], msg);
	call_check_done(c);
	return 0;
}

/* --- loops, start-up and shutdown -------------------------------------------------------- */

static void *loop_main(void *arg)
{
	gw_loop *gl = arg;

	pthread_setname_np(pthread_self(), "bg-loop"); /* top -H, perf, /proc */
	this_loop = gl;
	if (net_loop_run(gl->loop) != 0)
		fprintf(stderr, "breakglass: event loop failed: %s\n", strerror(errno));
	return NULL;
}

/* Drain timeout: what still waits for DynamoDB is cut off and answered "outcome
 * unknown" (and recorded so); the loop keeps running until its records are written. */
static void abort_upstream(void *arg)
{
	gw_loop *gl = arg;
	call *c, *next;

	for (c = gl->calls; c != NULL; c = next) {
		next = c->next;
		if (c->up == NULL)
			continue;
		upstream_call_free(c->up);
		c->up = NULL;
		pl_forward_done(c->pl, UPSTREAM_UNKNOWN, NULL,
		                "the gateway shut down before DynamoDB answered");
		call_check_done(c);
	}
}

static int64_t now_s(void)
{
	return bg_now();
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Waits until nothing is open or in flight, or ms have passed; true if it emptied. */
static bool wait_quiet(server *s, int64_t ms)
{
	int64_t waited = 0;

	while (waited < ms) {
		if (atomic_load(&s->inflight) == 0 && net_http_server_connections(s->http) == 0)
			return true;
		sleep_ms(10);
		waited += 10;
	}
	return false;
}

static void gw_close(gw *g)
{
	sigv4_verifier_free(g->verifier);
	upstream_free(g->up);
	audit_sinks_free(g->sinks); /* before the identity a CloudWatch sink signs with */
	credchain_free(g->identity);
	audit_free(g->audit);
	keyset_free(g->audit_keys);
	grant_cache_free(g->grants);
	gw_policy_free(g->rules);
	gw_limiter_free(g->limiter);
	gw_spend_free(g->spend);
	json_decref(g->loaded_files);
	gw_metrics_free(g->metrics);
	gw_runbooks_free(g->runbooks);
	store_free(g->st);
	keyring_free(g->kr);
	memset(g, 0, sizeof(*g));
}

/* The audit checkpoints' keys; a store made before checkpoints existed gets one now, and
 * the log says so once (its path and key id, never its contents). */
static int load_audit_keys(datadir *dd, keyset **out, bg_err *e)
{
	bool created = false;
	int rc = keyset_open(datadir_path(dd, DATADIR_AUDIT_KEY),
	                     datadir_path(dd, DATADIR_AUDIT_KEY_NEXT),
	                     datadir_path(dd, DATADIR_AUDIT_PUBKEYS), &created, out, e);

	if (rc == 0 && created)
		fprintf(stderr, "breakglass: created the audit signing key %s (key id %s)\n",
		        datadir_path(dd, DATADIR_AUDIT_KEY), sigkey_id(keyset_current(*out)));
	return rc;
}

/* A key rotation the last run did not finish: the trail alone says whether it happened
 * (its newest key-rotation record names the new key) and so whether to finish or undo
 * it. Finished, the new key signs from now on, as the trail's checkpoints after the
 * rotation record already expect. */
static int settle_rotation(gw *g, bg_err *e)
{
	const sigkey *next = keyset_pending(g->audit_keys);
	char id[SIGKEY_ID_HEX + 1];
	svc sv;
	int rc;

	if (next == NULL)
		return 0;
	memset(&sv, 0, sizeof(sv));
	sv.st = g->st;
	sv.audit = g->audit;
	rc = svc_audit_last_rotation(&sv, id, e);
	if (rc != 0)
		return rc;
	if (strcmp(id, sigkey_id(next)) == 0) {
		rc = keyset_commit(g->audit_keys, e);
		if (rc == 0)
			fprintf(stderr,
			        "breakglass: finished the audit key rotation to key id %s that the "
			        "last run recorded\n",
			        id);
		return rc;
	}
	fprintf(stderr,
	        "breakglass: removed the audit key %s of a rotation that was never recorded\n",
	        sigkey_id(next));
	keyset_abort(g->audit_keys);
	return 0;
}

/* Starts the configured audit sinks (config.h's gw_sink into audit/sink.h's sink_conf):
 * a sink that cannot be opened stops serve, so a misconfigured copy of the trail is
 * noticed at start, not in the middle of an incident. */
static int start_sinks(gw *g, bg_err *e)
{
	sink_conf c[BG_MAX_SINKS];
	size_t i;

	for (i = 0; i < g->cfg.nsinks; i++) {
		const gw_sink *k = &g->cfg.sinks[i];

		c[i] = (sink_conf){
		    .type = k->type,
		    .required = k->required,
		    .path = k->path,
		    .max_bytes = k->max_bytes,
		    .address = k->address,
		    .log_group = k->log_group,
		    .log_stream = k->log_stream,
		    .region = k->region[0] ? k->region : g->cfg.region,
		    .endpoint = k->endpoint[0] ? k->endpoint : NULL,
		    .creds = g->identity,
		};
	}
	return audit_sinks_start(g->audit, g->st, c, g->cfg.nsinks, &g->sinks, e);
}

/* A live grant's spend, rebuilt from the trail (gateway/spend.h): budgets survive a
 * restart. Expired and revoked grants make no more requests, so they are skipped. */
typedef struct spend_ctx {
	gw *g;
	bg_err *e;
	int rc;
} spend_ctx;

static int load_spend(void *ctx, const store_grant *sg)
{
	spend_ctx *c = ctx;

	if (grant_status(sg, bg_now()) != GRANT_ACTIVE)
		return 0;
	c->rc = gw_spend_load(c->g->spend, c->g->st, sg->id, c->e);
	return c->rc; /* a failure stops the list; the gateway does not start without it */
}

static int gw_open(gw *g, bg_err *e)
{
	static const char *const required[] = {"host", "x-amz-target"};
	datadir *dd = NULL;
	int rc;

	rc = datadir_open(g->cfg.data, false, &dd, e);
	if (rc == 0)
		rc = store_open(g->cfg.data, false, &g->st, e);
	if (rc == 0)
		rc = keyring_load(datadir_path(dd, DATADIR_MASTER_KEY), false, &g->kr, e);
	if (rc == 0)
		rc = load_audit_keys(dd, &g->audit_keys, e);
	datadir_free(dd);
	if (rc == 0)
		rc = audit_open(g->st, &g->audit, e);
	if (rc == 0)
		rc = settle_rotation(g, e);
	if (rc == 0)
		audit_set_checkpoints(g->audit, keyset_current(g->audit_keys),
		                      g->cfg.audit_checkpoint_every, g->cfg.audit_checkpoint_ms);
	if (rc == 0)
		rc = grant_cache_new(g->st, bg_now(), &g->grants, e);
	if (rc == 0)
		rc = gw_runbooks_new(g->cfg.runbooks, &g->runbooks, e);
	g->pins = (svc_runbooks){gw_runbooks_pin, g->runbooks, gw_runbooks_describe};
	if (rc == 0)
		rc = gw_policy_load(g->cfg.policy, g->runbooks, &g->rules, e);
	if (rc == 0)
		g->policy = gw_policy_svc(g->rules);
	if (rc == 0) {
		credchain_opts co = {g->cfg.region, g->cfg.upstream_role_arn,
		                     g->cfg.upstream_external_id, NULL};
		rc = credchain_new(&co, &g->identity, e);
	}
	if (rc == 0)
		rc = upstream_new(g->cfg.upstream, g->cfg.region, NULL, g->cfg.upstream_timeout_ms,
		                  &g->up, e);
	if (rc == 0) {
		upstream_use_identity(g->up, g->identity);
		if (credchain_start(g->identity) != 0)
			return bg_err_set(e, BG_EIO, "cannot start the AWS identity refresher");
	}
	if (rc == 0 &&
	    ((g->limiter = gw_limiter_new()) == NULL || (g->metrics = gw_metrics_new()) == NULL ||
	     (g->spend = gw_spend_new()) == NULL))
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	if (rc == 0) {
		spend_ctx sc = {g, e, 0};
		rc = store_grant_list(g->st, NULL, load_spend, &sc, e);
		if (rc == 0)
			rc = sc.rc;
	}
	if (rc == 0)
		rc = start_sinks(g, e);
	if (rc)
		return rc;
	g->verifier = sigv4_verifier_new(g->cfg.region, "dynamodb", required, 2);
	if (g->verifier == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	return 0;
}

/* {"path", "sha256"} of a file the gateway runs by (the digest of the bytes it parsed),
 * or JSON null when none is set. */
static json_t *file_digest(const char *path, const char *sha256)
{
	if (path == NULL || path[0] == '\0')
		return json_null();
	return json_pack("{s:s,s:s}", "path", path, "sha256",
	                 sha256 != NULL && sha256[0] ? sha256 : "unknown");
}

/* The upstream URL as a record may show it: a user name or password in it (which the
 * gateway never needs) replaced. */
static const char *upstream_shown(const char *url, char *out, size_t cap)
{
	const char *host = strstr(url, "://"), *at, *slash;

	host = host != NULL ? host + 3 : url;
	slash = strchr(host, '/');
	at = memchr(host, '@', slash != NULL ? (size_t)(slash - host) : strlen(host));
	if (at == NULL)
		return url;
	snprintf(out, cap, "%.*s<userinfo removed>%s", (int)(host - url), url, at);
	return out;
}

/* Puts on the record what the gateway runs by (svc_config_loaded): at start, and after
 * each SIGHUP reload of the runbooks. A failure is logged: the gateway goes on (its
 * requests are audited as ever). */
static void record_loaded(gw *g, const char *event, size_t problems)
{
	gw_rb_snapshot *snap = gw_runbooks_acquire(g->runbooks);
	const runbook_set *set = gw_rb_set(snap);
	json_t *rbs = json_array(), *sinks = json_array(), *d;
	audit_sink_state st[BG_MAX_SINKS];
	svc sv = {.st = g->st, .kr = g->kr, .audit = g->audit};
	char up[BG_MAX_URL + 1];
	size_t i, n;
	bg_err e;

	for (i = 0; rbs != NULL && i < runbook_set_count(set); i++) {
		const runbook *rb = runbook_set_at(set, i);
		json_array_append_new(rbs, json_pack("{s:s,s:s}", "id", rb->id, "hash", rb->hash));
	}
	gw_runbooks_release(snap);
	n = audit_sinks_state(g->sinks, st, BG_MAX_SINKS);
	for (i = 0; sinks != NULL && i < n; i++)
		json_array_append_new(
		    sinks, json_pack("{s:s,s:b}", "name", st[i].name, "required", st[i].required));
	/* The config and the policy are read at start only (SIGHUP reloads the runbooks): a
	 * reload's record repeats their start digests, never what is on disk now. */
	if (g->loaded_files == NULL)
		g->loaded_files = json_pack(
		    "{s:o,s:o}", "config", file_digest(g->cfg.config_file, g->cfg.config_sha256),
		    "policy", file_digest(g->cfg.policy, gw_policy_sha256(g->rules)));
	d = json_pack("{s:s,s:s,s:O?,s:O?,s:{s:s,s:o,s:I},s:o,s:s}", "event", event, "version",
	              BG_VERSION, "config", json_object_get(g->loaded_files, "config"), "policy",
	              json_object_get(g->loaded_files, "policy"), "runbooks", "folder",
	              g->cfg.runbooks, "templates", rbs ? rbs : json_null(), "problems",
	              (json_int_t)problems, "sinks", sinks ? sinks : json_null(), "upstream",
	              upstream_shown(g->cfg.upstream, up, sizeof(up)));
	if (d == NULL || svc_config_loaded(&sv, event, d, &e) != 0)
		fprintf(stderr, "breakglass: what was loaded (%s) could not be recorded: %s\n",
		        event, d == NULL ? "out of memory" : e.msg);
	json_decref(d);
}

static void print_started(const gw_config *cfg, unsigned port)
{
	if (cfg->json) {
		char listen[96], *line;
		json_t *o;

		snprintf(listen, sizeof(listen), "%s:%u", cfg->listen_host, port);
		o = json_pack("{s:s,s:s,s:s,s:i}", "listen", listen, "upstream", cfg->upstream,
		              "public_url", cfg->public_url, "pid", (int)getpid());
		line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		printf("%s\n", line ? line : "{}");
		free(line);
		json_decref(o);
	} else
		printf("breakglass: serving DynamoDB and the API on %s (upstream %s, region %s)\n",
		       cfg->public_url, cfg->upstream, cfg->region);
	fflush(stdout);
}

/* Every jansson string freed is wiped first: API answers carry credentials in them. */
static void wiping_free(void *p)
{
	if (p != NULL)
		OPENSSL_cleanse(p, malloc_usable_size(p));
	free(p);
}

/* Waits for SIGTERM or SIGINT; SIGHUP reloads the runbook folder meanwhile. Also, every
 * BG_TRIM_INTERVAL_MS when no request is in flight, hands freed heap back to the system:
 * after a burst (512 connections, each with request and upstream buffers) glibc would
 * otherwise keep it resident. */
static int wait_for_signal(server *s, const sigset_t *sigs)
{
	struct timespec tick = {BG_TRIM_INTERVAL_MS / 1000,
	                        (BG_TRIM_INTERVAL_MS % 1000) * 1000000L};

	for (;;) {
		int sig = sigtimedwait(sigs, NULL, &tick);

		if (sig == SIGHUP) {
			size_t problems = gw_runbooks_reload(s->g.runbooks);
			fprintf(stderr, "breakglass: SIGHUP: runbooks reloaded%s\n",
			        problems > 0 ? ", with problems (see above)" : "");
			record_loaded(&s->g, "runbooks-reload", problems);
			continue;
		}
		if (sig > 0)
			return sig;
		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			return SIGTERM;
		if (atomic_load(&s->inflight) == 0)
			malloc_trim(0);
	}
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void stop_all(server *s)
{
	size_t i;

	for (i = 0; i < s->nloops; i++)
		if (s->loops[i].started) {
			net_loop_stop(s->loops[i].loop);
			pthread_join(s->loops[i].thread, NULL);
			s->loops[i].started = false;
		}
	if (s->api_started) {
		pthread_mutex_lock(&s->api_mu);
		s->api_stop = true;
		pthread_cond_signal(&s->api_cv);
		pthread_mutex_unlock(&s->api_mu);
		pthread_join(s->api_thread, NULL);
		s->api_started = false;
	}
	gw_notifier_stop(&s->g);
}

static void server_free(server *s)
{
	size_t i;

	stop_all(s);
	/* Only after a drain that ran out of time: requests still open are forgotten (their
	 * connections close below); a record still in the committer keeps its call alive. */
	for (i = 0; s->loops != NULL && i < s->nloops; i++) {
		call *c, *next;
		for (c = s->loops[i].calls; c != NULL; c = next) {
			next = c->next;
			upstream_call_free(c->up);
			c->up = NULL;
			c->conn = NULL;
			c->audit_abandoned = true;
			call_unref(c);
		}
		s->loops[i].calls = NULL;
		/* Answers of API jobs that finished after the loop stopped, while their
		 * connections still exist. */
		this_loop = &s->loops[i];
		if (s->loops[i].loop != NULL)
			net_loop_run_posted(s->loops[i].loop);
	}
	net_http_server_free(s->http);
	/* The committer writes what is queued and reports to the loops' queues; the loops
	 * have stopped, so run those reports here (they release the calls). The sinks stop
	 * first (they read through the log): what they have not sent yet is in the store,
	 * and goes out on the next start. */
	audit_sinks_free(s->g.sinks);
	s->g.sinks = NULL;
	audit_free(s->g.audit);
	s->g.audit = NULL;
	for (i = 0; s->loops != NULL && i < s->nloops; i++) {
		this_loop = &s->loops[i];
		if (s->loops[i].loop != NULL)
			net_loop_run_posted(s->loops[i].loop);
		net_curl_free(s->loops[i].curl);
		net_loop_free(s->loops[i].loop);
	}
	free(s->loops);
	net_tls_free(s->tls);
	gw_close(&s->g);
	pthread_cond_destroy(&s->api_cv);
	pthread_mutex_destroy(&s->api_mu);
}

int gateway_serve(const gw_config *cfg, bg_err *e)
{
	static server s;
	net_http_settings set;
	net_http_handler h = {&s, on_head, on_request, on_error};
	net_loop **loops = NULL;
	sigset_t sigs;
	uint16_t port = 0;
	int sig = 0, rc = 0;
	size_t i;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.api_mu, NULL);
	pthread_cond_init(&s.api_cv, NULL);
	s.g.cfg = *cfg;
	json_set_alloc_funcs(malloc, wiping_free);
	/* glibc's default number of malloc arenas, one per thread here: capped at two, the
	 * loops and the committer shared arena locks and waited for each other on the futex
	 * (bench/REPORT.md, "Malloc arenas"). Idle memory stays low by malloc_trim below. */
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	/* Threads inherit this mask, so only sigwait() below sees the signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (gw_open(&s.g, e) != 0) {
		rc = e->code != 0 ? e->code : BG_EIO;
		goto done;
	}
	s.env.verifier = s.g.verifier;
	s.env.grants = s.g.grants;
	s.env.kr = s.g.kr;
	s.env.runbooks = s.g.runbooks;
	s.env.rate = policy_grant_rate(gw_policy_rules(s.g.rules));
	s.env.limiter = s.g.limiter;
	s.env.budget = policy_grant_budget(gw_policy_rules(s.g.rules));
	s.env.spend = s.g.spend;
	s.env.metrics = s.g.metrics;
	s.env.now = now_s;

	s.nloops = s.g.cfg.threads;
	s.loops = calloc(s.nloops, sizeof(*s.loops));
	loops = calloc(s.nloops, sizeof(*loops));
	if (s.loops == NULL || loops == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < s.nloops; i++) {
		gw_loop *gl = &s.loops[i];
		gl->srv = &s;
		if (net_loop_new(&gl->loop, e) != 0 || net_curl_new(gl->loop, &gl->curl, e) != 0 ||
		    (bg_random(gl->rid_prefix, sizeof(gl->rid_prefix)) != 0 &&
		     bg_err_set(e, BG_EIO, "no randomness available") != 0)) {
			rc = e->code != 0 ? e->code : BG_EIO;
			goto done;
		}
		loops[i] = gl->loop;
	}
	net_http_settings_default(&set);
	set.header_timeout_ms = s.g.cfg.header_timeout_ms;
	set.max_connections = s.g.cfg.max_connections;
	if (s.g.cfg.tls_cert[0] != '\0') {
		if (net_tls_new(s.g.cfg.tls_cert, s.g.cfg.tls_key, &s.tls, e) != 0) {
			rc = e->code != 0 ? e->code : BG_EIO;
			goto done;
		}
		set.tls = s.tls;
	}
	if (net_http_server_new(s.g.cfg.listen_host, s.g.cfg.listen_port, loops, s.nloops, &set, &h,
	                        &s.http, &port, e) != 0) {
		rc = e->code != 0 ? e->code : BG_EIO;
		goto done;
	}
	/* The URL first: notifications name it. The notifier before the API: a change the API
	 * makes finds its targets. */
	if (s.g.cfg.public_url[0] == '\0')
		snprintf(s.g.cfg.public_url, sizeof(s.g.cfg.public_url), "%s://%s:%u",
		         s.tls ? "https" : "http", s.g.cfg.listen_host, port);
	if (gw_notifier_start(&s.g, e) != 0) {
		rc = e->code != 0 ? e->code : BG_EIO;
		goto done;
	}
	if (pthread_create(&s.api_thread, NULL, api_main, &s) != 0) {
		rc = bg_err_set(e, BG_EIO, "cannot start the API thread");
		goto done;
	}
	s.api_started = true;
	for (i = 0; i < s.nloops; i++) {
		if (pthread_create(&s.loops[i].thread, NULL, loop_main, &s.loops[i]) != 0) {
			rc = bg_err_set(e, BG_EIO, "cannot start an event loop thread");
			goto done;
		}
		s.loops[i].started = true;
	}
	record_loaded(&s.g, "start", 0);
	print_started(&s.g.cfg, port);
	credchain_log(s.g.identity);

	sig = wait_for_signal(&s, &sigs);
	fprintf(stderr, "breakglass: %s, draining (up to %lld ms)\n", strsignal(sig),
	        (long long)s.g.cfg.drain_timeout_ms);
	net_http_server_drain(s.http);
	if (!wait_quiet(&s, s.g.cfg.drain_timeout_ms)) {
		for (i = 0; i < s.nloops; i++) {
			s.loops[i].abort_task.fn = abort_upstream;
			s.loops[i].abort_task.arg = &s.loops[i];
			net_loop_post(s.loops[i].loop, &s.loops[i].abort_task);
		}
		/* Their answers and records need the audit log, which bounds itself. */
		if (!wait_quiet(&s, BG_AUDIT_WAIT_MS + 1000))
			fprintf(stderr, "breakglass: %d requests still open at exit\n",
			        atomic_load(&s.inflight));
	}
	fprintf(stderr, "breakglass: stopped\n");
done:
	server_free(&s);
	free(loops);
	return rc;
}
