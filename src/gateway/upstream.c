/*
 * upstream.c - re-signed forwarding as libcurl transfers on a loop (see upstream.h).
 */
#include "upstream.h"

#include <curl/curl.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/limits.h"
#include "signing/sigv4.h"

struct upstream {
	char url[512];
	char host[300]; /* Host header value: host[:port], port omitted when default */
	char region[64];
	awscreds *creds;     /* fixed credentials, or NULL */
	credchain *identity; /* else the current credentials of this */
	long timeout_ms;
	pthread_mutex_t lock;
	CURL *pool[BG_UPSTREAM_HANDLE_POOL];
	size_t npool;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int upstream_new(const char *url, const char *region, awscreds *creds, long timeout_ms,
                 upstream **out, bg_err *e)
{
	upstream *u = NULL;
	CURLU *cu = NULL;
	char *host = NULL, *port = NULL, *scheme = NULL;
	int rc = BG_EINVAL;

	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto fail;
	}
	pthread_mutex_init(&u->lock, NULL);
	u->creds = creds;
	u->timeout_ms = timeout_ms > 0 ? timeout_ms : BG_UPSTREAM_TIMEOUT_MS;
	creds = NULL;
	cu = curl_url();
	if (cu == NULL || curl_url_set(cu, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(cu, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(cu, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		rc = bg_err_set(e, BG_EINVAL, "invalid upstream URL '%s'", url);
		goto fail;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		rc = bg_err_set(e, BG_EINVAL, "upstream URL must be http or https");
		goto fail;
	}
	/* The signed host must be exactly the Host header libcurl sends. */
	if (curl_url_get(cu, CURLUPART_PORT, &port, 0) == CURLUE_OK && port)
		snprintf(u->host, sizeof(u->host), "%s:%s", host, port);
	else
		snprintf(u->host, sizeof(u->host), "%s", host);
	snprintf(u->url, sizeof(u->url), "%s://%s/", scheme, u->host);
	snprintf(u->region, sizeof(u->region), "%s", region);
	*out = u;
	u = NULL;
	rc = 0;
fail:
	curl_free(host);
	curl_free(port);
	curl_free(scheme);
	curl_url_cleanup(cu);
	awscreds_free(creds);
	upstream_free(u);
	return rc;
}

void upstream_use_identity(upstream *u, credchain *id)
{
	u->identity = id;
}

void upstream_free(upstream *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < u->npool; i++)
		curl_easy_cleanup(u->pool[i]);
	awscreds_free(u->creds);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static CURL *pool_get(upstream *u)
{
	CURL *c = NULL;

	pthread_mutex_lock(&u->lock);
	if (u->npool > 0)
		c = u->pool[--u->npool];
	pthread_mutex_unlock(&u->lock);
	if (c == NULL)
		c = curl_easy_init();
	return c;
}

static void pool_put(upstream *u, CURL *c)
{
	pthread_mutex_lock(&u->lock);
	if (u->npool < BG_UPSTREAM_HANDLE_POOL) {
		u->pool[u->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&u->lock);
	if (c)
		curl_easy_cleanup(c);
}

struct upstream_call {
	upstream *u;
	net_curl *mc;
	net_curl_job job;
	struct curl_slist *headers;
	upstream_response resp;
	upstream_outcome outcome;
	char why[CURL_ERROR_SIZE];
	void (*done)(void *arg, upstream_call *call);
	void *arg;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	upstream_response *r = ud;

	if (bg_buf_add(&r->body, p, sz * n) != 0)
		return 0; /* over BG_MAX_RESPONSE_BODY: abort the transfer */
	return sz * n;
}

/* Copies the value of header `name` from a raw header line into dst if it matches. */
static void take_header(const char *line, size_t n, const char *name, char *dst, size_t cap)
{
	size_t nl = strlen(name), vl;

	if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	line += nl + 1;
	n -= nl + 1;
	while (n && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	vl = n < cap - 1 ? n : cap - 1;
	memcpy(dst, line, vl);
	dst[vl] = '\0';
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	upstream_response *r = ud;

	take_header(p, sz * n, "x-amzn-RequestId", r->request_id, sizeof(r->request_id));
	take_header(p, sz * n, "x-amz-crc32", r->crc32, sizeof(r->crc32));
	take_header(p, sz * n, "Content-Type", r->content_type, sizeof(r->content_type));
	take_header(p, sz * n, "x-breakglass-audit-seq", r->audit_seq, sizeof(r->audit_seq));
	return sz * n;
}

/* "Name: value" into a new list node. Fails (NULL) when the line does not fit or libcurl
 * cannot allocate; the list is freed by the caller either way. */
static struct curl_slist *add_header(struct curl_slist *list, bg_buf *line, const char *name,
                                     const char *value, size_t n, bool *ok)
{
	struct curl_slist *l;

	bg_buf_reset(line);
	if (bg_buf_adds(line, name) != 0 || bg_buf_add(line, ": ", 2) != 0 ||
	    bg_buf_add(line, value, n) != 0) {
		*ok = false;
		return list;
	}
	l = curl_slist_append(list, line->data);
	if (l == NULL) {
		*ok = false;
		return list;
	}
	return l;
}

/* Signs the request and builds its header list: exactly the signed headers, plus ones no
 * signer covers ("Expect:" stops libcurl from waiting for 100-continue on large bodies,
 * "Accept:" drops its default). */
static int build_headers(upstream *u, const char *target, size_t target_len, const void *body,
                         size_t len, struct curl_slist **out, bg_err *e)
{
	static const char ctype[] = "application/x-amz-json-1.0";
	sigv4_header hdr[3];
	sigv4_request req;
	sigv4_sign_params sp;
	sigv4_signed sig;
	struct curl_slist *list = NULL, *l;
	bg_buf line;
	awscreds *cr = u->identity ? credchain_get(u->identity) : awscreds_ref(u->creds);
	const char *tok = awscreds_session_token(cr);
	bool ok = true;
	int rc;

	*out = NULL;
	if (cr == NULL)
		return bg_err_set(
		    e, BG_EAUTH,
		    "breakglass: the gateway has no valid AWS identity (its credentials "
		    "expired and could not be renewed; see the gateway's log), so the "
		    "request was not sent to DynamoDB");
	memset(&sig, 0, sizeof(sig));
	bg_buf_init(&line, BG_MAX_AUTH_HEADER + BG_MAX_SESSION_TOKEN + 64);
	hdr[0] = (sigv4_header){"content-type", 12, ctype, sizeof(ctype) - 1};
	hdr[1] = (sigv4_header){"host", 4, u->host, strlen(u->host)};
	hdr[2] = (sigv4_header){"x-amz-target", 12, target, target_len};
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/";
	req.path_len = 1;
	req.query = "";
	req.headers = hdr;
	req.n_headers = 3;
	req.body = body;
	req.body_len = len;
	memset(&sp, 0, sizeof(sp));
	sp.access_key_id = awscreds_access_key_id(cr);
	sp.secret_key = awscreds_secret_access_key(cr);
	sp.session_token = tok;
	sp.region = u->region;
	sp.service = "dynamodb";
	sp.now = (time_t)bg_now();
	sp.normalize_path = true;
	rc = sigv4_sign(&req, &sp, &sig, e);
	if (rc)
		goto done;
	list = add_header(list, &line, "Content-Type", ctype, sizeof(ctype) - 1, &ok);
	list = add_header(list, &line, "Host", u->host, strlen(u->host), &ok);
	list = add_header(list, &line, "X-Amz-Target", target, target_len, &ok);
	list = add_header(list, &line, "X-Amz-Date", sig.amz_date, strlen(sig.amz_date), &ok);
	if (tok)
		list = add_header(list, &line, "X-Amz-Security-Token", tok, strlen(tok), &ok);
	list = add_header(list, &line, "Authorization", sig.authorization.data,
	                  sig.authorization.len, &ok);
	l = ok ? curl_slist_append(list, "Expect:") : NULL;
	l = l ? curl_slist_append(l, "Accept:") : NULL;
	if (l == NULL || sig.authorization.failed) {
		rc = bg_err_set(e, BG_ENOMEM, "cannot build the upstream request");
		goto done;
	}
	*out = l;
	list = NULL;
done:
	curl_slist_free_all(list);
	bg_buf_free_secure(&line);
	sigv4_signed_free(&sig);
	awscreds_free(cr);
	return rc;
}

static void on_done(net_curl_job *j, CURLcode cc)
{
	upstream_call *call = (upstream_call *)((char *)j - offsetof(upstream_call, job));
	long sent = 0;

	if (cc == CURLE_OK) {
		call->outcome = UPSTREAM_ANSWERED;
		curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &call->resp.status);
	} else {
		/* Bytes of the request on the wire mean DynamoDB may have acted on it. */
		curl_easy_getinfo(j->easy, CURLINFO_REQUEST_SIZE, &sent);
		call->outcome = sent > 0 ? UPSTREAM_UNKNOWN : UPSTREAM_NOT_SENT;
		if (call->why[0] == '\0')
			snprintf(call->why, sizeof(call->why), "%s", curl_easy_strerror(cc));
	}
	call->done(call->arg, call);
}

int upstream_start(upstream *u, net_curl *mc, const char *target, size_t target_len,
                   const void *body, size_t len, void (*done)(void *arg, upstream_call *call),
                   void *arg, upstream_call **out, bg_err *e)
{
	upstream_call *call;
	CURL *c;
	int rc;

	*out = NULL;
	call = calloc(1, sizeof(*call));
	if (call == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	call->u = u;
	call->mc = mc;
	call->done = done;
	call->arg = arg;
	call->outcome = UPSTREAM_NOT_SENT;
	bg_buf_init(&call->resp.body, BG_MAX_RESPONSE_BODY);
	rc = build_headers(u, target, target_len, body, len, &call->headers, e);
	if (rc)
		goto fail;
	c = pool_get(u);
	if (c == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "cannot create an HTTP handle");
		goto fail;
	}
	call->job.easy = c;
	call->job.done = on_done;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, u->url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, call->headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &call->resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &call->resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, call->why);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)BG_UPSTREAM_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, u->timeout_ms);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	if (net_curl_start(mc, &call->job) != 0) {
		rc = bg_err_set(e, BG_EUPSTREAM, "cannot start the upstream transfer");
		goto fail;
	}
	*out = call;
	return 0;
fail:
	upstream_call_free(call);
	return rc;
}

upstream_outcome upstream_call_outcome(const upstream_call *call, const char **why)
{
	if (why)
		*why = call->why;
	return call->outcome;
}

upstream_response *upstream_call_response(upstream_call *call)
{
	return &call->resp;
}

void upstream_call_free(upstream_call *call)
{
	if (call == NULL)
		return;
	if (call->job.easy) {
		net_curl_abort(call->mc, &call->job);
		curl_easy_setopt(call->job.easy, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(call->job.easy, CURLOPT_ERRORBUFFER, NULL);
		pool_put(call->u, call->job.easy);
	}
	curl_slist_free_all(call->headers);
	upstream_response_free(&call->resp);
	free(call);
}

typedef struct sync_wait {
	net_loop *loop;
	bool done;
	bool timed_out;
	net_timer timer;
} sync_wait;

static void sync_done(void *arg, upstream_call *call)
{
	sync_wait *w = arg;

	w->done = true;
	net_loop_stop(w->loop);
}

static void sync_timeout(void *arg)
{
	sync_wait *w = arg;

	w->timed_out = true;
	net_loop_stop(w->loop);
}

int upstream_call_sync(upstream *u, net_loop *loop, net_curl *mc, const char *target,
                       size_t target_len, const void *body, size_t len, long timeout_ms,
                       upstream_response *resp, bg_err *e)
{
	upstream_call *call = NULL;
	sync_wait w = {loop, false, false, {0, 0, sync_timeout, NULL}};
	const char *why = "";
	int rc;

	w.timer.arg = &w;
	memset(resp, 0, sizeof(*resp));
	rc = upstream_start(u, mc, target, target_len, body, len, sync_done, &w, &call, e);
	if (rc)
		return rc;
	if (timeout_ms > 0 && net_timer_arm(loop, &w.timer, timeout_ms) != 0) {
		upstream_call_free(call);
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	while (!w.done && !w.timed_out)
		if (net_loop_run(loop) != 0)
			break;
	net_timer_disarm(loop, &w.timer);
	if (w.done && upstream_call_outcome(call, &why) == UPSTREAM_ANSWERED) {
		*resp = call->resp;
		memset(&call->resp, 0, sizeof(call->resp));
	} else if (!w.done) {
		rc = bg_err_set(e, BG_EUPSTREAM, "upstream %s: no answer within %ld ms", u->url,
		                timeout_ms);
	} else {
		rc = bg_err_set(e, BG_EUPSTREAM, "upstream %s: %s", u->url, why);
	}
	upstream_call_free(call);
	return rc;
}

void upstream_response_free(upstream_response *r)
{
	if (r)
		bg_buf_free(&r->body);
}
