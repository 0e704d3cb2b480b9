/*
 * upstream.c - re-signed forwarding over pooled libcurl handles (see upstream.h).
 */
#include "upstream.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/limits.h"
#include "signing/sigv4.h"

#define POOL_MAX 64

struct upstream {
	char url[512];
	char host[300]; /* Host header value: host[:port], port omitted when default */
	char region[64];
	awscreds *creds;
	pthread_mutex_t lock;
	CURL *pool[POOL_MAX];
	size_t npool;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int upstream_new(const char *url, const char *region, awscreds *creds, upstream **out, bg_err *e)
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
	if (u->npool < POOL_MAX) {
		u->pool[u->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&u->lock);
	if (c)
		curl_easy_cleanup(c);
}

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
	return sz * n;
}

int upstream_call(upstream *u, const char *target, size_t target_len, const void *body, size_t len,
                  upstream_response *resp, bg_err *e)
{
	static const char ctype[] = "application/x-amz-json-1.0";
	sigv4_header hdr[5];
	sigv4_request req;
	sigv4_sign_params sp;
	sigv4_signed sig;
	struct curl_slist *list = NULL;
	bg_buf line;
	CURL *c = NULL;
	CURLcode cc;
	const char *tok = awscreds_session_token(u->creds);
	size_t nh = 0;
	int rc;

	memset(resp, 0, sizeof(*resp));
	memset(&sig, 0, sizeof(sig));
	bg_buf_init(&resp->body, BG_MAX_RESPONSE_BODY);
	bg_buf_init(&line, 8192);

	hdr[nh++] = (sigv4_header){"content-type", 12, ctype, sizeof(ctype) - 1};
	hdr[nh++] = (sigv4_header){"host", 4, u->host, strlen(u->host)};
	hdr[nh++] = (sigv4_header){"x-amz-target", 12, target, target_len};
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/";
	req.path_len = 1;
	req.query = "";
	req.headers = hdr;
	req.n_headers = nh;
	req.body = body;
	req.body_len = len;
	memset(&sp, 0, sizeof(sp));
	sp.access_key_id = awscreds_access_key_id(u->creds);
	sp.secret_key = awscreds_secret_access_key(u->creds);
	sp.session_token = tok;
	sp.region = u->region;
	sp.service = "dynamodb";
	sp.now = (time_t)bg_now();
	sp.normalize_path = true;
	rc = sigv4_sign(&req, &sp, &sig, e);
	if (rc)
		goto fail;

	/* Exactly the signed headers, plus ones no signer covers; "Expect:" stops libcurl
	 * from waiting for 100-continue on large bodies, "Accept:" drops its default. */
	rc |= bg_buf_addf(&line, "Content-Type: %s", ctype);
	list = curl_slist_append(list, line.data);
	bg_buf_reset(&line);
	rc |= bg_buf_addf(&line, "Host: %s", u->host);
	list = curl_slist_append(list, line.data);
	bg_buf_reset(&line);
	rc |= bg_buf_adds(&line, "X-Amz-Target: ");
	rc |= bg_buf_add(&line, target, target_len);
	list = curl_slist_append(list, line.data);
	bg_buf_reset(&line);
	rc |= bg_buf_addf(&line, "X-Amz-Date: %s", sig.amz_date);
	list = curl_slist_append(list, line.data);
	if (tok) {
		bg_buf_reset(&line);
		rc |= bg_buf_addf(&line, "X-Amz-Security-Token: %s", tok);
		list = curl_slist_append(list, line.data);
	}
	bg_buf_reset(&line);
	rc |= bg_buf_addf(&line, "Authorization: %s", sig.authorization.data);
	list = curl_slist_append(list, line.data);
	list = curl_slist_append(list, "Expect:");
	list = curl_slist_append(list, "Accept:");
	if (rc || line.failed || list == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "cannot build the upstream request");
		goto fail;
	}

	c = pool_get(u);
	if (c == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "cannot create an HTTP handle");
		goto fail;
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, u->url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)BG_UPSTREAM_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)BG_UPSTREAM_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		rc = bg_err_set(e, BG_EUPSTREAM, "upstream %s: %s", u->url, curl_easy_strerror(cc));
		curl_easy_cleanup(c);
		c = NULL;
		goto fail;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	pool_put(u, c);
	c = NULL;
	rc = 0;
fail:
	curl_slist_free_all(list);
	bg_buf_free_secure(&line);
	sigv4_signed_free(&sig);
	return rc;
}

void upstream_response_free(upstream_response *r)
{
	if (r)
		bg_buf_free(&r->body);
}
