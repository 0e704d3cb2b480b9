/*
 * sink_cloudwatch.c - the CloudWatch Logs transport of the audit sinks (see
 * sink_cloudwatch.h): pure steps (events, batches, bodies, signed headers, answers) and the
 * sink_ops that sends them with a libcurl easy handle kept for the sink's life (keep-alive).
 *
 * Only the sink's thread calls the ops, one at a time (audit/sink.h), so nothing here locks.
 * The credentials are taken from the credential chain for each delivery and released after
 * it; the buffers that held the session token are wiped. Errors name the log group and
 * stream, the HTTP status and the service's code and message, never a secret.
 */
#include "sink_cloudwatch.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/sink_stub.h"
#include "common/clock.h"
#include "signing/awscreds.h"
#include "signing/credchain.h"
#include "signing/sigv4.h"

/* ---- events and batches ---- */

/* The redacted stub of the record (sink_stub.h) in place of its line. */
static int make_stub(const sink_rec *r, cwlogs_event *ev, bg_err *e)
{
	int rc = sink_stub(r, &ev->stub, &ev->len, e);

	if (rc == BG_EINVAL)
		return bg_err_set(
		    e, rc,
		    "audit record %lld is too long for CloudWatch Logs (%zu bytes) and "
		    "has no seq, prev_hash and hash to stand in for it",
		    (long long)r->seq, r->len);
	if (rc != 0)
		return rc;
	ev->msg = ev->stub;
	/* Only a forged record has hashes that long; its copy could not verify anyway. */
	if (ev->len + BG_CWLOGS_EVENT_OVERHEAD > BG_CWLOGS_MAX_EVENT_BYTES)
		rc = bg_err_set(e, BG_EINVAL, "audit record %lld: its redacted stub is too long",
		                (long long)r->seq);
	return rc;
}

int cwlogs_events_make(const sink_rec *recs, size_t n, int64_t now_ms, cwlogs_event *out, bg_err *e)
{
	int64_t prev = INT64_MIN;
	size_t i;
	int rc;

	memset(out, 0, n * sizeof(*out));
	for (i = 0; i < n; i++) {
		const sink_rec *r = &recs[i];
		cwlogs_event *ev = &out[i];
		int64_t ts = r->ts_ms;

		ev->seq = r->seq;
		if (r->line == NULL || r->len == 0) {
			rc = bg_err_set(e, BG_EINVAL, "audit record %lld is empty",
			                (long long)r->seq);
			goto fail;
		}
		if (r->len > BG_CWLOGS_MAX_EVENT_BYTES - BG_CWLOGS_EVENT_OVERHEAD) {
			rc = make_stub(r, ev, e);
			if (rc)
				goto fail;
		} else {
			ev->msg = r->line;
			ev->len = r->len;
		}
		if (ts < now_ms - BG_CWLOGS_MAX_AGE_MS || ts > now_ms + BG_CWLOGS_MAX_AHEAD_MS)
			ts = now_ms;
		if (ts < prev)
			ts = prev;
		ev->ts_ms = prev = ts;
	}
	return 0;
fail:
	cwlogs_events_clear(out, n);
	return rc;
}

void cwlogs_events_clear(cwlogs_event *ev, size_t n)
{
	size_t i;

	for (i = 0; ev != NULL && i < n; i++) {
		free(ev[i].stub);
		ev[i].stub = NULL;
	}
}

size_t cwlogs_batch_fit(const cwlogs_event *ev, size_t n)
{
	size_t i, bytes = 0;

	for (i = 0; i < n && i < BG_CWLOGS_MAX_BATCH_EVENTS; i++) {
		size_t cost = ev[i].len + BG_CWLOGS_EVENT_OVERHEAD;

		if (i > 0 &&
		    (bytes + cost > BG_CWLOGS_MAX_BATCH_BYTES || ev[i].ts_ms < ev[i - 1].ts_ms ||
		     ev[i].ts_ms - ev[0].ts_ms >= BG_CWLOGS_MAX_SPAN_MS))
			break;
		bytes += cost;
	}
	return i;
}

/* ---- request bodies ---- */

static int dump_body(json_t *o, bg_buf *body, bg_err *e)
{
	size_t need;
	int rc;

	bg_buf_reset(body);
	need = json_dumpb(o, NULL, 0, JSON_COMPACT);
	if (need == 0)
		return bg_err_set(e, BG_ENOMEM, "cannot write the CloudWatch Logs request");
	rc = bg_buf_reserve(body, need + 1);
	if (rc)
		return bg_err_set(e, rc, "the CloudWatch Logs request is too long (%zu bytes)",
		                  need);
	if (json_dumpb(o, body->data, need, JSON_COMPACT) != need)
		return bg_err_set(e, BG_ENOMEM, "cannot write the CloudWatch Logs request");
	body->len = need;
	body->data[need] = '\0';
	return 0;
}

static json_t *names(const char *group, const char *stream)
{
	return json_pack("{s:s,s:s}", "logGroupName", group, "logStreamName", stream);
}

int cwlogs_put_body(const char *group, const char *stream, const char *token,
                    const cwlogs_event *ev, size_t n, bg_buf *body, bg_err *e)
{
	json_t *o = names(group, stream), *list = json_array();
	size_t i;
	int rc = 0;

	if (o == NULL || list == NULL || json_object_set(o, "logEvents", list) != 0 ||
	    (token != NULL && json_object_set_new(o, "sequenceToken", json_string(token)) != 0)) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		json_t *msg = json_stringn(ev[i].msg, ev[i].len);
		json_t *item;

		if (msg == NULL) {
			rc = bg_err_set(e, BG_EINVAL, "audit record %lld is not UTF-8 text",
			                (long long)ev[i].seq);
			goto done;
		}
		item = json_pack("{s:I,s:o}", "timestamp", (json_int_t)ev[i].ts_ms, "message", msg);
		if (item == NULL || json_array_append_new(list, item) != 0) {
			rc = bg_err_set(e, BG_ENOMEM, "out of memory");
			goto done;
		}
	}
	rc = dump_body(o, body, e);
done:
	json_decref(list);
	json_decref(o);
	return rc;
}

int cwlogs_create_stream_body(const char *group, const char *stream, bg_buf *body, bg_err *e)
{
	json_t *o = names(group, stream);
	int rc;

	if (o == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	rc = dump_body(o, body, e);
	json_decref(o);
	return rc;
}

/* ---- endpoint and signing ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int cwlogs_endpoint_resolve(const char *conf_url, const char *region, cwlogs_endpoint *out,
                            bg_err *e)
{
	const char *url = conf_url;
	char *h = NULL, *port = NULL, *scheme = NULL, *user = NULL;
	CURLU *cu = NULL;
	int rc = 0, k;

	memset(out, 0, sizeof(*out));
	if (url == NULL || *url == '\0')
		url = getenv("AWS_ENDPOINT_URL_LOGS");
	if (url == NULL || *url == '\0') {
		k = snprintf(out->host, sizeof(out->host), "logs.%s.amazonaws.com", region);
		if (k < 0 || (size_t)k >= sizeof(out->host))
			return bg_err_set(e, BG_EINVAL, "the region '%.64s' is too long", region);
		k = snprintf(out->url, sizeof(out->url), "https://%s/", out->host);
		return k < 0 || (size_t)k >= sizeof(out->url)
		           ? bg_err_set(e, BG_EINVAL, "the region '%.64s' is too long", region)
		           : 0;
	}
	pthread_once(&curl_once, curl_init_once);
	if (strlen(url) > BG_MAX_URL)
		return bg_err_set(e, BG_EINVAL, "the CloudWatch Logs endpoint is too long");
	cu = curl_url();
	if (cu == NULL || curl_url_set(cu, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(cu, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(cu, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		rc = bg_err_set(e, BG_EINVAL, "the CloudWatch Logs endpoint is not an http(s) URL");
		goto done;
	}
	if (curl_url_get(cu, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		/* not printed: it may hold a password */
		rc = bg_err_set(
		    e, BG_EINVAL,
		    "the CloudWatch Logs endpoint must not hold a user name or password");
		goto done;
	}
	if (curl_url_get(cu, CURLUPART_PORT, &port, 0) == CURLUE_OK && port)
		k = snprintf(out->host, sizeof(out->host), "%s:%s", h, port);
	else
		k = snprintf(out->host, sizeof(out->host), "%s", h);
	if (k >= 0 && (size_t)k < sizeof(out->host))
		k = snprintf(out->url, sizeof(out->url), "%s://%s/", scheme, out->host);
	if (k < 0 || (size_t)k >= sizeof(out->url))
		rc = bg_err_set(e, BG_EINVAL, "the CloudWatch Logs endpoint is too long");
done:
	curl_free(h);
	curl_free(port);
	curl_free(scheme);
	curl_free(user);
	curl_url_cleanup(cu);
	return rc;
}

int cwlogs_request_headers(const cwlogs_endpoint *ep, const char *region, const char *op,
                           const void *body, size_t len, const char *akid, const char *secret,
                           const char *token, time_t now, bg_buf *out, bg_err *e)
{
	static const char ctype[] = "application/x-amz-json-1.1";
	char target[96];
	sigv4_signed sig;
	sigv4_sign_params sp;
	int rc, k;

	bg_buf_reset(out);
	k = snprintf(target, sizeof(target), "Logs_20140328.%s", op);
	if (k < 0 || (size_t)k >= sizeof(target))
		return bg_err_set(e, BG_EINVAL, "operation name too long");
	if (token != NULL && *token == '\0')
		token = NULL;
	{
		sigv4_header h[3] = {{"content-type", 12, ctype, sizeof(ctype) - 1},
		                     {"host", 4, ep->host, strlen(ep->host)},
		                     {"x-amz-target", 12, target, (size_t)k}};
		sigv4_request req = {"POST", "/", 1, "", 0, h, 3, len ? body : NULL, len};

		memset(&sp, 0, sizeof(sp));
		sp.access_key_id = akid;
		sp.secret_key = secret;
		sp.session_token = token;
		sp.region = region;
		sp.service = "logs";
		sp.now = now;
		sp.normalize_path = true;
		rc = sigv4_sign(&req, &sp, &sig, e);
	}
	if (rc == 0 && (bg_buf_addf(out, "Content-Type: %s\nX-Amz-Target: %s\nX-Amz-Date: %s\n",
	                            ctype, target, sig.amz_date) != 0 ||
	                (token && bg_buf_addf(out, "X-Amz-Security-Token: %s\n", token) != 0) ||
	                bg_buf_addf(out, "Authorization: %s\n", sig.authorization.data) != 0))
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	sigv4_signed_free(&sig);
	return rc;
}

/* ---- answers ---- */

/* Copies s (n bytes) into out (cap bytes), cut, NUL-terminated, control bytes as '?'. */
static void copy_text(char *out, size_t cap, const char *s, size_t n)
{
	size_t i;

	if (n > cap - 1)
		n = cap - 1;
	for (i = 0; i < n; i++)
		out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	out[n] = '\0';
}

/* A sequence token: 1..BG_CWLOGS_MAX_TOKEN printable ASCII bytes, not "null". */
static bool token_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > BG_CWLOGS_MAX_TOKEN || (n == 4 && memcmp(s, "null", 4) == 0))
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static void take_token(cwlogs_answer *a, json_t *v)
{
	const char *s = json_string_value(v);

	if (s != NULL && token_ok(s, json_string_length(v)))
		copy_text(a->token, sizeof(a->token), s, json_string_length(v));
}

/* Older endpoints put the expected token at the end of the message:
 * "... The next expected sequenceToken is: 4959..." (or "null"). */
static void token_from_message(cwlogs_answer *a)
{
	static const char mark[] = "sequenceToken is: ";
	const char *p = strstr(a->message, mark), *end;

	if (a->token[0] != '\0' || p == NULL)
		return;
	p += sizeof(mark) - 1;
	for (end = p; *end > 0x20 && *end < 0x7f; end++)
		;
	if (token_ok(p, (size_t)(end - p)))
		copy_text(a->token, sizeof(a->token), p, (size_t)(end - p));
}

static int64_t index_of(json_t *info, const char *name)
{
	json_t *v = json_object_get(info, name);

	return json_is_integer(v) && json_integer_value(v) >= 0 ? (int64_t)json_integer_value(v)
	                                                        : -1;
}

cwlogs_verdict cwlogs_answer_parse(long status, const char *body, size_t len, cwlogs_answer *out)
{
	json_t *doc = NULL, *info;
	const char *type = NULL, *hash, *msg;

	memset(out, 0, sizeof(*out));
	out->status = status;
	out->too_new_start = out->too_old_end = out->expired_end = -1;
	out->verdict = CWLOGS_ERROR;
	if (body != NULL && len > 0 && len <= BG_CWLOGS_MAX_ANSWER)
		doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (status == 200) {
		/* An empty 200 is a valid answer: every member is optional. */
		if (doc == NULL && len > 0) {
			snprintf(out->message, sizeof(out->message), "the answer is not JSON");
			goto done;
		}
		if (doc != NULL && !json_is_object(doc)) {
			snprintf(out->message, sizeof(out->message), "the answer is not an object");
			goto done;
		}
		take_token(out, json_object_get(doc, "nextSequenceToken"));
		info = json_object_get(doc, "rejectedLogEventsInfo");
		if (json_is_object(info)) {
			out->too_new_start = index_of(info, "tooNewLogEventStartIndex");
			out->too_old_end = index_of(info, "tooOldLogEventEndIndex");
			out->expired_end = index_of(info, "expiredLogEventEndIndex");
		}
		out->verdict = CWLOGS_OK;
		goto done;
	}
	if (json_is_object(doc)) {
		type = json_string_value(json_object_get(doc, "__type"));
		msg = json_string_value(json_object_get(doc, "message"));
		if (msg == NULL)
			msg = json_string_value(json_object_get(doc, "Message"));
		if (msg != NULL)
			copy_text(out->message, sizeof(out->message), msg, strlen(msg));
		take_token(out, json_object_get(doc, "expectedSequenceToken"));
	}
	if (type != NULL) {
		hash = strrchr(type, '#');
		type = hash ? hash + 1 : type;
		copy_text(out->code, sizeof(out->code), type, strlen(type));
	}
	if (strcmp(out->code, "ResourceNotFoundException") == 0)
		out->verdict = CWLOGS_NO_RESOURCE;
	else if (strcmp(out->code, "ResourceAlreadyExistsException") == 0)
		out->verdict = CWLOGS_EXISTS;
	else if (strcmp(out->code, "InvalidSequenceTokenException") == 0)
		out->verdict = CWLOGS_BAD_TOKEN;
	else if (strcmp(out->code, "DataAlreadyAcceptedException") == 0)
		out->verdict = CWLOGS_ALREADY;
	else if (strcmp(out->code, "ThrottlingException") == 0 ||
	         strcmp(out->code, "ServiceUnavailableException") == 0 || status >= 500)
		out->verdict = CWLOGS_THROTTLED;
	if (out->verdict == CWLOGS_BAD_TOKEN || out->verdict == CWLOGS_ALREADY)
		token_from_message(out);
done:
	json_decref(doc);
	return out->verdict;
}

void cwlogs_answer_rejected_range(const cwlogs_answer *a, size_t n, size_t *head, size_t *tail)
{
	int64_t h = a->too_old_end > a->expired_end ? a->too_old_end : a->expired_end;

	*head = h <= 0 ? 0 : (uint64_t)h >= n ? n : (size_t)h;
	*tail =
	    a->too_new_start >= 0 && (uint64_t)a->too_new_start < n ? (size_t)a->too_new_start : n;
	if (*tail < *head)
		*tail = *head;
}

bool cwlogs_answer_rejected(const cwlogs_answer *a, size_t n)
{
	size_t head, tail;

	cwlogs_answer_rejected_range(a, n, &head, &tail);
	return a->verdict == CWLOGS_OK && (head > 0 || tail < n);
}

/* ---- the transport ---- */

typedef struct sink_cw {
	char *group, *stream, *region;
	cwlogs_endpoint ep;
	credchain *creds;
	CURL *curl;
	char token[BG_CWLOGS_MAX_TOKEN + 1]; /* an older endpoint's sequence token, or "" */
} sink_cw;

static bool name_ok(const char *s, bool group)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > BG_CWLOGS_MAX_NAME)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (group ? !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		              (c >= '0' && c <= '9') || strchr("._-/#", c) != NULL)
		          : (c == ':' || c == '*' || (unsigned char)c < 0x20))
			return false;
	}
	return true;
}

static bool region_ok(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > BG_SIGV4_MAX_SCOPE_PART)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static void cw_close(void *self)
{
	sink_cw *s = self;

	if (s == NULL)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s->group);
	free(s->stream);
	free(s->region);
	free(s);
}

static int cw_open(const sink_conf *c, void **self, bg_err *e)
{
	sink_cw *s = NULL;
	int rc;

	*self = NULL;
	if (!name_ok(c->log_group, true))
		return bg_err_set(e, BG_EINVAL,
		                  "cloudwatch sink: log_group must be 1 to %d characters of "
		                  "A-Za-z0-9._-/#",
		                  BG_CWLOGS_MAX_NAME);
	if (!name_ok(c->log_stream, false))
		return bg_err_set(e, BG_EINVAL,
		                  "cloudwatch sink: log_stream must be 1 to %d characters, without "
		                  "':', '*' or control characters",
		                  BG_CWLOGS_MAX_NAME);
	if (!region_ok(c->region))
		return bg_err_set(e, BG_EINVAL,
		                  "cloudwatch sink: region must be set, like us-east-1");
	if (c->creds == NULL)
		return bg_err_set(e, BG_EINVAL,
		                  "cloudwatch sink: the gateway has no AWS identity to sign with");
	pthread_once(&curl_once, curl_init_once);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	s->creds = c->creds;
	s->group = strdup(c->log_group);
	s->stream = strdup(c->log_stream);
	s->region = strdup(c->region);
	if (s->group == NULL || s->stream == NULL || s->region == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto fail;
	}
	rc = cwlogs_endpoint_resolve(c->endpoint, c->region, &s->ep, e);
	if (rc)
		goto fail;
	*self = s;
	return 0;
fail:
	cw_close(s);
	return rc;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	return bg_buf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

/* One signed call of op with body; the answer parsed into a. 0, or an error when no HTTP
 * answer came. */
static int call(sink_cw *s, const awscreds *cr, const char *op, const bg_buf *body,
                cwlogs_answer *a, bg_err *e)
{
	char why[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL, *l;
	bg_buf lines, resp, hostline;
	long status = 0;
	char *p, *nl;
	CURLcode cc;
	int rc;

	bg_buf_init(&lines, BG_MAX_AUTH_HEADER + BG_MAX_SESSION_TOKEN + 1024);
	bg_buf_init(&resp, BG_CWLOGS_MAX_ANSWER);
	bg_buf_init(&hostline, sizeof(s->ep.host) + 16);
	rc = cwlogs_request_headers(&s->ep, s->region, op, body->data, body->len,
	                            awscreds_access_key_id(cr), awscreds_secret_access_key(cr),
	                            awscreds_session_token(cr), (time_t)bg_now(), &lines, e);
	if (rc)
		goto done;
	for (p = lines.data; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		l = curl_slist_append(hdrs, p);
		if (l == NULL) {
			rc = bg_err_set(e, BG_ENOMEM, "out of memory");
			goto done;
		}
		hdrs = l;
	}
	/* The Host sent is the one signed, whatever libcurl would make of the URL; no
	 * 100-continue round trip for large batches, and no Accept nobody signs. */
	if (bg_buf_addf(&hostline, "Host: %s", s->ep.host) != 0 ||
	    (l = curl_slist_append(hdrs, hostline.data)) == NULL ||
	    (hdrs = l, l = curl_slist_append(hdrs, "Expect:")) == NULL ||
	    (hdrs = l, l = curl_slist_append(hdrs, "Accept:")) == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto done;
	}
	hdrs = l;
	if (s->curl == NULL && (s->curl = curl_easy_init()) == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "cannot create an HTTP handle");
		goto done;
	}
	curl_easy_reset(s->curl);
	curl_easy_setopt(s->curl, CURLOPT_URL, s->ep.url);
	curl_easy_setopt(s->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body->data);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "breakglass/" BG_VERSION);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, why);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, (long)BG_SINK_IO_TIMEOUT_MS);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)BG_SINK_IO_TIMEOUT_MS);
	curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 0L);
	cc = curl_easy_perform(s->curl);
	if (cc == CURLE_OK)
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
	if (cc != CURLE_OK) {
		rc = bg_err_set(e, BG_EUPSTREAM, "cloudwatch sink: %s %s: %s", op, s->ep.url,
		                cc == CURLE_WRITE_ERROR ? "the answer is too long"
		                : why[0]                ? why
		                                        : curl_easy_strerror(cc));
		goto done;
	}
	cwlogs_answer_parse(status, resp.data, resp.len, a);
done:
	for (l = hdrs; l != NULL; l = l->next) /* the session token was among them */
		OPENSSL_cleanse(l->data, strlen(l->data));
	curl_slist_free_all(hdrs);
	bg_buf_free_secure(&lines);
	bg_buf_free(&hostline);
	bg_buf_free(&resp);
	return rc;
}

static int answer_error(sink_cw *s, const char *op, const cwlogs_answer *a, bg_err *e)
{
	return bg_err_set(e, BG_EUPSTREAM, "cloudwatch sink: %s to %s/%s: HTTP %ld %s%s%s", op,
	                  s->group, s->stream, a->status, a->code[0] ? a->code : "error",
	                  a->message[0] ? ": " : "", a->message);
}

static int create_stream(sink_cw *s, const awscreds *cr, bg_err *e)
{
	cwlogs_answer a;
	bg_buf body;
	int rc;

	bg_buf_init(&body, 4 * BG_CWLOGS_MAX_NAME + 256);
	rc = cwlogs_create_stream_body(s->group, s->stream, &body, e);
	if (rc == 0)
		rc = call(s, cr, "CreateLogStream", &body, &a, e);
	bg_buf_free(&body);
	if (rc)
		return rc;
	if (a.status == 200 || a.verdict == CWLOGS_EXISTS) {
		s->token[0] = '\0';
		return 0;
	}
	if (a.verdict == CWLOGS_NO_RESOURCE)
		return bg_err_set(
		    e, BG_EUPSTREAM,
		    "cloudwatch sink: the log group '%s' does not exist in %s (create "
		    "it: the sink creates its log stream only)",
		    s->group, s->region);
	return answer_error(s, "CreateLogStream", &a, e);
}

/* Sends ev[0..n) (one batch) until the service took each: 0, or an error. */
static int put_batch(sink_cw *s, const awscreds *cr, cwlogs_event *ev, size_t n, bool resend,
                     bg_err *e)
{
	cwlogs_answer a;
	bg_buf body;
	bool made = false, retoken = false;
	int rc;

	bg_buf_init(&body, (size_t)BG_CWLOGS_MAX_BATCH_BYTES * 6 + 65536);
	for (;;) {
		rc = cwlogs_put_body(s->group, s->stream, s->token[0] ? s->token : NULL, ev, n,
		                     &body, e);
		if (rc == 0)
			rc = call(s, cr, "PutLogEvents", &body, &a, e);
		if (rc)
			break;
		if (a.verdict == CWLOGS_NO_RESOURCE && !made) {
			made = true;
			rc = create_stream(s, cr, e);
			if (rc)
				break;
			continue;
		}
		if (a.verdict == CWLOGS_BAD_TOKEN && !retoken) {
			/* An older endpoint: another writer moved the stream on (or it is new
			 * again: no token expected, a.token ""). */
			retoken = true;
			memcpy(s->token, a.token, sizeof(s->token));
			continue;
		}
		if (a.verdict == CWLOGS_ALREADY) {
			/* An older endpoint: this batch was taken before (a lost answer). */
			memcpy(s->token, a.token, sizeof(s->token));
			break;
		}
		if (a.verdict != CWLOGS_OK) {
			rc = answer_error(s, "PutLogEvents", &a, e);
			break;
		}
		memcpy(s->token, a.token, sizeof(s->token));
		if (cwlogs_answer_rejected(&a, n)) {
			/* The rejected ones are a head (too old, expired) and a tail (too new) of
			 * the batch: sent once more, stamped now; the rest is taken. */
			size_t head, tail;
			int64_t now = bg_now_ms();
			cwlogs_event *again;
			size_t i, k = 0;

			cwlogs_answer_rejected_range(&a, n, &head, &tail);
			if (resend) {
				rc = bg_err_set(
				    e, BG_EUPSTREAM,
				    "cloudwatch sink: PutLogEvents to %s/%s rejected audit "
				    "records %lld to %lld even stamped with the time of "
				    "delivery (tooOld %lld, expired %lld, tooNew %lld)",
				    s->group, s->stream, (long long)ev[0].seq,
				    (long long)ev[n - 1].seq, (long long)a.too_old_end,
				    (long long)a.expired_end, (long long)a.too_new_start);
				break;
			}
			again = calloc(n, sizeof(*again));
			if (again == NULL) {
				rc = bg_err_set(e, BG_ENOMEM, "out of memory");
				break;
			}
			for (i = 0; i < n; i++)
				if (i < head || i >= tail) {
					again[k] = ev[i];
					again[k].stub = NULL; /* still owned by ev */
					again[k++].ts_ms = now;
				}
			rc = put_batch(s, cr, again, k, true, e);
			free(again);
		}
		break;
	}
	bg_buf_free(&body);
	return rc;
}

static int cw_deliver(void *self, const sink_rec *recs, size_t n, size_t *accepted, bg_err *e)
{
	sink_cw *s = self;
	cwlogs_event *ev = NULL;
	awscreds *cr;
	size_t i = 0, k;
	int rc;

	*accepted = 0;
	cr = credchain_get(s->creds);
	if (cr == NULL)
		return bg_err_set(e, BG_EAUTH,
		                  "cloudwatch sink: the gateway has no valid AWS identity (its "
		                  "credentials expired and could not be refreshed)");
	ev = calloc(n ? n : 1, sizeof(*ev));
	if (ev == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto done;
	}
	rc = cwlogs_events_make(recs, n, bg_now_ms(), ev, e);
	if (rc)
		goto done;
	while (i < n) {
		k = cwlogs_batch_fit(ev + i, n - i);
		rc = put_batch(s, cr, ev + i, k, false, e);
		if (rc)
			break;
		i += k;
		*accepted = i;
	}
	cwlogs_events_clear(ev, n);
done:
	free(ev);
	awscreds_free(cr);
	return rc;
}

const sink_ops sink_cloudwatch_ops = {
    .type = "cloudwatch",
    .open = cw_open,
    .deliver = cw_deliver,
    .resume = NULL,
    .close = cw_close,
};
