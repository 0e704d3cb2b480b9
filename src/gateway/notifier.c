/*
 * notifier.c - the thread that delivers notifications (notifier.h): rendering for Slack
 * and for signed JSON, the POST, the backoff, and each attempt's record.
 */
#include "gateway/notifier.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/jsonutil.h"
#include "gateway/gw.h"
#include "workflow/notify.h"
#include "workflow/review.h"

/* Slack refuses a section's text past 3000 characters and a message past 50 blocks. */
#define SLACK_SECTION_MAX 3000
#define SLACK_BLOCKS_MAX  50

struct gw_notifier {
	gw *g;
	svc sv; /* the sweep's service layer */
	svc_notify notify;
	svc_notify_target targets[BG_MAX_NOTIFY_TARGETS];
	const gw_notify_target *gt;
	size_t n;
	CURL *curl;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool woken;
	atomic_bool stop;
};

/* --- rendering ------------------------------------------------------------------------ */

void gw_notify_msg_free(gw_notify_msg *m)
{
	free(m->body);
	memset(m, 0, sizeof(*m));
}

int64_t gw_notify_backoff(int64_t failures)
{
	int64_t ms = BG_NOTIFY_BACKOFF_FIRST_MS;

	while (failures-- > 1 && ms < BG_NOTIFY_BACKOFF_MAX_MS)
		ms *= 2;
	if (ms > BG_NOTIFY_BACKOFF_MAX_MS)
		ms = BG_NOTIFY_BACKOFF_MAX_MS;
	return ms / 1000;
}

/* Appends s for Slack's mrkdwn: &, < and > are its markup. */
static int add_mrkdwn(bg_buf *b, const char *s)
{
	int rc = 0;

	for (; s != NULL && *s != '\0' && rc == 0; s++)
		rc = *s == '&'   ? bg_buf_adds(b, "&amp;")
		     : *s == '<' ? bg_buf_adds(b, "&lt;")
		     : *s == '>' ? bg_buf_adds(b, "&gt;")
		                 : bg_buf_addc(b, *s);
	return rc;
}

/* Appends to a section being built: a failure sticks to the buffer (bg_buf.failed), which
 * section() checks once. */
static void put(bg_buf *b, const char *s)
{
	if (bg_buf_adds(b, s) != 0)
		return;
}

static void putm(bg_buf *b, const char *s)
{
	if (add_mrkdwn(b, s) != 0)
		return;
}

/* Markup, then a value escaped: the usual pair. */
static void said(bg_buf *b, const char *markup, const char *value)
{
	put(b, markup);
	putm(b, value);
}

static void BG_PRINTF(2, 3) putf(bg_buf *b, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	put(b, text);
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Appends the section b holds to blocks (cut to Slack's limit at a character boundary)
 * and empties b. */
static int section(json_t *blocks, bg_buf *b)
{
	size_t n = b->len;
	int rc;

	if (b->failed)
		return BG_ENOMEM;
	if (n == 0 || json_array_size(blocks) >= SLACK_BLOCKS_MAX)
		return 0;
	if (n > SLACK_SECTION_MAX) {
		n = SLACK_SECTION_MAX;
		while (n > 0 && ((unsigned char)b->data[n] & 0xC0) == 0x80)
			n--;
	}
	rc =
	    json_array_append_new(blocks, json_pack("{s:s,s:{s:s,s:s%}}", "type", "section", "text",
	                                            "type", "mrkdwn", "text", b->data, n)) != 0
	        ? BG_ENOMEM
	        : 0;
	bg_buf_reset(b);
	return rc;
}

/* The request's facts, its criteria, and each runbook's exact query. */
static int slack_request(json_t *blocks, bg_buf *b, const json_t *p)
{
	const json_t *rq = json_object_get(p, "request"), *inc = json_object_get(p, "incident");
	const json_t *v, *x;
	size_t i;
	int rc;

	if (rq == NULL)
		return 0;
	said(b, "*Request* `", str(rq, "id"));
	said(b, "` by *", str(rq, "requester"));
	said(b, "*\n*Incident* ", str(inc, "id"));
	if (str(inc, "title") != NULL) {
		putf(b, " (SEV%lld): ",
		     (long long)json_integer_value(json_object_get(inc, "severity")));
		putm(b, str(inc, "title"));
	}
	said(b, "\n*Reason* ", str(rq, "reason"));
	if (str(rq, "ticket") != NULL) {
		said(b, "\n*Ticket* ", str(rq, "ticket"));
	}
	putf(b, "\n*For* %lld minutes",
	     (long long)json_integer_value(json_object_get(rq, "duration_seconds")) / 60);
	if ((rc = section(blocks, b)) != 0)
		return rc;
	v = json_object_get(rq, "criteria");
	json_array_foreach(v, i, x)
	{
		put(b, i == 0 ? "*Criteria*\n" : "\n");
		put(b, json_is_true(json_object_get(x, "ok")) ? ":white_check_mark: " : ":x: ");
		putm(b, str(x, "check"));
		said(b, ": ", str(x, "message"));
	}
	if ((rc = section(blocks, b)) != 0)
		return rc;
	v = json_object_get(rq, "runbooks");
	json_array_foreach(v, i, x)
	{
		static const char *const exprs[] = {"key_condition", "projection", "filter",
		                                    "condition", "update"};
		size_t k;
		said(b, "*Runbook* `", str(x, "id"));
		put(b, "`");
		if (str(x, "operation") != NULL) {
			said(b, ": ", str(x, "title"));
			said(b, "\n", str(x, "operation"));
			said(b, " on ", str(x, "table"));
			if (str(x, "index") != NULL) {
				said(b, " index ", str(x, "index"));
			}
			put(b, "\n```");
			for (k = 0; k < sizeof(exprs) / sizeof(exprs[0]); k++) {
				if (str(x, exprs[k]) == NULL)
					continue;
				putf(b, "%s: ", exprs[k]);
				putm(b, str(x, exprs[k]));
				put(b, "\n");
			}
			if (json_object_get(x, "expression_attribute_names") != NULL) {
				char *names = json_dumps(
				    json_object_get(x, "expression_attribute_names"), JSON_COMPACT);
				said(b, "names: ", names);
				free(names);
			}
			put(b, "```");
		}
		if ((rc = section(blocks, b)) != 0)
			return rc;
	}
	return 0;
}

static int slack_body(const json_t *p, char **out)
{
	json_t *blocks = json_array(), *v, *o = NULL;
	const json_t *g = json_object_get(p, "grant");
	bg_buf b;
	size_t i;
	int rc = blocks == NULL ? BG_ENOMEM : 0;

	*out = NULL;
	bg_buf_init(&b, 4 * SLACK_SECTION_MAX);
	if (rc == 0) {
		said(&b, "*breakglass ", str(p, "event"));
		said(&b, "*: ", str(p, "summary"));
		rc = section(blocks, &b);
	}
	if (rc == 0)
		rc = slack_request(blocks, &b, p);
	if (rc == 0 && g != NULL) {
		said(&b, "*Grant* `", str(g, "id"));
		said(&b, "` for ", str(g, "user"));
		said(&b, ", until ", str(g, "expires_at"));
		rc = section(blocks, &b);
	}
	if (rc == 0 && (v = json_object_get(p, "approvers")) != NULL) {
		put(&b, "*Approvers*");
		for (i = 0; i < json_array_size(v); i++) {
			put(&b, i == 0 ? " " : ", ");
			putm(&b, json_string_value(json_array_get(v, i)));
		}
		if (json_array_size(v) == 0)
			put(&b, ": none can answer");
		rc = section(blocks, &b);
	}
	if (rc == 0 && str(p, "approve_command") != NULL) {
		said(&b, "*Approve*: `", str(p, "approve_command"));
		said(&b, "`\n*Deny*: `", str(p, "deny_command"));
		put(&b, "`");
		if (str(p, "gateway") != NULL) {
			said(&b, "\n(with `BREAKGLASS_URL=", str(p, "gateway"));
			put(&b, "`)");
		}
		rc = section(blocks, &b);
	}
	bg_buf_free(&b);
	if (rc == 0)
		o = json_pack("{s:s,s:O}", "text",
		              str(p, "summary") ? str(p, "summary") : "breakglass", "blocks",
		              blocks);
	if (rc == 0 && (o == NULL || (*out = json_dumps(o, JSON_COMPACT)) == NULL))
		rc = BG_ENOMEM;
	json_decref(o);
	json_decref(blocks);
	return rc;
}

/* {"event", "id", "at", ...payload}, and its signature. */
static int json_body(const gw_notify_target *t, int64_t id, const char *event, json_t *p,
                     int64_t created_at, int64_t now, gw_notify_msg *m, bg_err *e)
{
	json_t *o = json_object();
	uint8_t mac[BG_SHA256_LEN];
	char prefix[sizeof(m->timestamp) + 1];
	bg_buf sig;
	int rc;

	if (o == NULL || !bg_json_set(o, "event", json_string(event)) ||
	    !bg_json_set(o, "id", json_integer(id)) ||
	    !bg_json_set_time(o, "at", created_at, false) ||
	    json_object_update_missing(o, p) != 0 ||
	    (m->body = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	json_decref(o);
	m->len = strlen(m->body);
	snprintf(m->timestamp, sizeof(m->timestamp), "%lld", (long long)now);
	/* As alerts/generic.h checks it: HMAC(secret, timestamp "." body). */
	snprintf(prefix, sizeof(prefix), "%s.", m->timestamp);
	rc = bg_hmac_sha256(t->secret != NULL ? t->secret : "", prefix, strlen(prefix), m->body,
	                    m->len, mac);
	if (rc != 0)
		return bg_err_set(e, BG_EIO, "HMAC-SHA256 failed");
	bg_buf_init(&sig, sizeof(m->signature) - 1);
	rc = bg_buf_adds(&sig, "v1=") || bg_buf_addhex(&sig, mac, sizeof(mac));
	if (rc == 0)
		snprintf(m->signature, sizeof(m->signature), "%s", sig.data);
	bg_buf_free(&sig);
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc == 0 ? 0 : bg_err_set(e, BG_ENOMEM, "out of memory");
}

int gw_notify_render(const gw_notify_target *t, int64_t id, const char *event, const char *payload,
                     int64_t created_at, int64_t now, gw_notify_msg *out, bg_err *e)
{
	json_t *p = json_loads(payload, JSON_REJECT_DUPLICATES, NULL);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(p)) {
		json_decref(p);
		return bg_err_set(e, BG_EINVAL, "notification %lld is not a JSON object",
		                  (long long)id);
	}
	if (t->format == POLICY_NOTIFY_SLACK) {
		rc = slack_body(p, &out->body);
		if (rc != 0)
			rc = bg_err_set(e, rc, "cannot render notification %lld", (long long)id);
		else
			out->len = strlen(out->body);
	} else {
		rc = json_body(t, id, event, p, created_at, now, out, e);
	}
	json_decref(p);
	return rc;
}

/* --- sending -------------------------------------------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

/* Cuts an exchange short when the gateway stops. */
static int progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	gw_notifier *n = ctx;

	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&n->stop) ? 1 : 0;
}

/* POSTs m to t's url; *status gets the HTTP status (0 when none came), why what happened
 * ("HTTP 200", "curl: Couldn't connect to server"). True for a 2xx. */
static bool post(gw_notifier *n, const gw_notify_target *t, const char *event,
                 const gw_notify_msg *m, long *status, char *why, size_t whyn)
{
	struct curl_slist *h = NULL;
	char line[128];
	CURLcode cc;

	*status = 0;
	curl_easy_reset(n->curl);
	h = curl_slist_append(h, "Content-Type: application/json");
	snprintf(line, sizeof(line), "X-Breakglass-Event: %s", event);
	h = curl_slist_append(h, line);
	if (m->timestamp[0] != '\0') {
		snprintf(line, sizeof(line), "X-Breakglass-Timestamp: %s", m->timestamp);
		h = curl_slist_append(h, line);
		snprintf(line, sizeof(line), "X-Breakglass-Signature: %s", m->signature);
		h = curl_slist_append(h, line);
	}
	curl_easy_setopt(n->curl, CURLOPT_URL, t->url);
	curl_easy_setopt(n->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(n->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(n->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(n->curl, CURLOPT_TIMEOUT_MS, (long)BG_NOTIFY_TIMEOUT_MS);
	curl_easy_setopt(n->curl, CURLOPT_USERAGENT, "breakglass/" BG_VERSION);
	curl_easy_setopt(n->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(n->curl, CURLOPT_POSTFIELDS, m->body);
	curl_easy_setopt(n->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)m->len);
	curl_easy_setopt(n->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(n->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(n->curl, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(n->curl, CURLOPT_XFERINFODATA, n);
	cc = curl_easy_perform(n->curl);
	curl_slist_free_all(h);
	if (cc != CURLE_OK) {
		snprintf(why, whyn, "curl: %s", curl_easy_strerror(cc));
		return false;
	}
	curl_easy_getinfo(n->curl, CURLINFO_RESPONSE_CODE, status);
	snprintf(why, whyn, "HTTP %ld", *status);
	return *status >= 200 && *status < 300;
}

/* --- the outbox ------------------------------------------------------------------------ */

typedef struct job {
	int64_t id, created_at, attempts;
	char target[BG_MAX_NOTIFY_NAME + 1];
	char event[STORE_EVENT_MAX];
	char *payload;
} job;

typedef struct jobs {
	job items[BG_NOTIFY_BATCH];
	size_t n;
} jobs;

static int take_row(void *ctx, const store_outbox *o)
{
	jobs *js = ctx;
	job *j = &js->items[js->n];

	if (js->n == BG_NOTIFY_BATCH)
		return 1;
	j->id = o->id;
	j->created_at = o->created_at;
	j->attempts = o->attempts;
	snprintf(j->target, sizeof(j->target), "%s", o->target);
	snprintf(j->event, sizeof(j->event), "%s", o->event);
	j->payload = strdup(o->payload);
	if (j->payload == NULL)
		return BG_ENOMEM;
	js->n++;
	return 0;
}

/* The id of the request or grant a payload is about, for the record. */
static const char *subject(const json_t *p)
{
	const char *id = str(json_object_get(p, "request"), "id");

	return id != NULL ? id : str(json_object_get(p, "grant"), "id");
}

/* The attempt's result and its audit record, in one transaction. next_at 0: abandoned. */
static void finish(gw_notifier *n, const job *j, bool delivered, long status, int64_t now,
                   int64_t next_at, const char *why)
{
	json_t *p = json_loads(j->payload, 0, NULL);
	json_t *detail =
	    json_pack("{s:s,s:s,s:I,s:I}", "target", j->target, "event", j->event, "outbox_id",
	              (json_int_t)j->id, "attempt", (json_int_t)(j->attempts + 1));
	audit_record r;
	store_tx *tx;
	bg_err e;
	int rc;

	if (detail != NULL && !delivered) {
		if (next_at == 0)
			(void)bg_json_set(detail, "abandoned", json_true());
		else
			(void)bg_json_set_time(detail, "next_attempt_at", next_at, false);
	}
	memset(&r, 0, sizeof(r));
	r.kind = "notify";
	r.op = "notify";
	r.actor = "breakglass";
	r.grant_id = subject(p);
	r.decision = delivered ? "allow" : "deny";
	r.reason = why;
	r.status = (int)status;
	r.detail = detail;
	rc = store_begin(n->g->st, &tx, &e);
	if (rc == 0) {
		rc = store_outbox_result(tx, j->id, now, delivered, next_at, why, &e);
		if (rc == 0)
			rc = audit_append_tx(n->g->audit, tx, &r, NULL, &e);
		rc = store_end(tx, rc, &e);
	}
	if (rc != 0) /* the row stays taken until its lease ends: then it is tried again */
		fprintf(stderr,
		        "breakglass: notify: the result of notification %lld (%s) was not "
		        "recorded: %s\n",
		        (long long)j->id, j->target, e.msg);
	json_decref(detail);
	json_decref(p);
}

static const gw_notify_target *find_target(const gw_notifier *n, const char *name)
{
	size_t i;

	for (i = 0; i < n->n; i++)
		if (strcmp(n->gt[i].name, name) == 0)
			return &n->gt[i];
	return NULL;
}

static void deliver(gw_notifier *n, const job *j)
{
	const gw_notify_target *t = find_target(n, j->target);
	int64_t now = bg_now(), next_at;
	gw_notify_msg m;
	char why[BG_MAX_NOTIFY_ERROR + 1];
	store_tx *tx;
	long status = 0;
	bool ok = false;
	bg_err e;
	int rc;

	/* Taken first, so another gateway sharing the store does not send it too. */
	rc = store_begin(n->g->st, &tx, &e);
	if (rc == 0)
		rc = store_end(
		    tx, store_outbox_claim(tx, j->id, now, now + BG_NOTIFY_LEASE_SECONDS, &e), &e);
	if (rc != 0)
		return;
	if (t == NULL) {
		snprintf(why, sizeof(why), "abandoned: the policy names no notify target %s",
		         j->target);
		finish(n, j, false, 0, now, 0, why);
		return;
	}
	rc = gw_notify_render(t, j->id, j->event, j->payload, j->created_at, now, &m, &e);
	if (rc == 0)
		ok = post(n, t, j->event, &m, &status, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s", e.msg);
	gw_notify_msg_free(&m);
	if (atomic_load(&n->stop) && !ok)
		return; /* cut short by the shutdown: due again after its lease */
	now = bg_now();
	next_at = ok ? 0 : now + gw_notify_backoff(j->attempts + 1);
	if (!ok && (rc != 0 || next_at - j->created_at > BG_NOTIFY_MAX_AGE_SECONDS)) {
		char last[BG_MAX_NOTIFY_ERROR + 64];
		snprintf(last, sizeof(last), "abandoned after %lld attempts: %s",
		         (long long)(j->attempts + 1), why);
		memcpy(why, last, sizeof(why) - 1); /* cut to what the store keeps */
		why[sizeof(why) - 1] = '\0';
		next_at = 0;
	}
	finish(n, j, ok, status, now, next_at, why);
}

static void pass(gw_notifier *n)
{
	jobs *js = calloc(1, sizeof(*js));
	size_t i, swept = 0;
	bg_err e;

	if (js == NULL)
		return;
	if (svc_expiry_sweep(&n->sv, bg_now(), &swept, &e) != 0)
		fprintf(stderr, "breakglass: notify: the expiry sweep failed: %s\n", e.msg);
	if (svc_review_sweep(&n->sv, bg_now(), &e) < 0)
		fprintf(stderr, "breakglass: notify: the overdue reviews' sweep failed: %s\n",
		        e.msg);
	if (store_outbox_due(n->g->st, bg_now(), BG_NOTIFY_BATCH, take_row, js, &e) != 0)
		fprintf(stderr, "breakglass: notify: cannot read the outbox: %s\n", e.msg);
	for (i = 0; i < js->n && !atomic_load(&n->stop); i++)
		deliver(n, &js->items[i]);
	for (i = 0; i < js->n; i++)
		free(js->items[i].payload);
	/* A full batch: more may be due at once. */
	if (js->n == BG_NOTIFY_BATCH || swept > 0) {
		pthread_mutex_lock(&n->mu);
		n->woken = true;
		pthread_mutex_unlock(&n->mu);
	}
	free(js);
}

static void *notifier_main(void *arg)
{
	gw_notifier *n = arg;
	struct timespec until;

	pthread_setname_np(pthread_self(), "bg-notify"); /* top -H, perf, /proc */
	while (!atomic_load(&n->stop)) {
		pass(n);
		pthread_mutex_lock(&n->mu);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		while (!n->woken && !atomic_load(&n->stop))
			if (pthread_cond_timedwait(&n->cv, &n->mu, &until) != 0)
				break;
		n->woken = false;
		pthread_mutex_unlock(&n->mu);
	}
	return NULL;
}

static void wake(void *ctx)
{
	gw_notifier *n = ctx;

	pthread_mutex_lock(&n->mu);
	n->woken = true;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
}

const svc_notify *gw_notifier_svc(const gw_notifier *n)
{
	return n != NULL ? &n->notify : NULL;
}

int gw_notifier_start(gw *g, bg_err *e)
{
	gw_notifier *n;
	size_t i, count;
	const gw_notify_target *gt = gw_policy_notify(g->rules, &count);

	g->notifier = NULL;
	if (count == 0)
		return 0;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	n->g = g;
	n->gt = gt;
	n->n = count;
	for (i = 0; i < count; i++)
		n->targets[i] = (svc_notify_target){gt[i].name, gt[i].events};
	n->notify = (svc_notify){n->targets, count, g->cfg.public_url, wake, n};
	n->sv = (svc){.st = g->st,
	              .kr = g->kr,
	              .audit = g->audit,
	              .grants = g->grants,
	              .runbooks = &g->pins,
	              .notify = &n->notify};
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cv, NULL);
	n->curl = curl_easy_init();
	if (n->curl == NULL || pthread_create(&n->thread, NULL, notifier_main, n) != 0) {
		curl_easy_cleanup(n->curl);
		pthread_cond_destroy(&n->cv);
		pthread_mutex_destroy(&n->mu);
		free(n);
		return bg_err_set(e, BG_EIO, "cannot start the notifier");
	}
	n->started = true;
	g->notifier = n;
	return 0;
}

void gw_notifier_stop(gw *g)
{
	gw_notifier *n = g->notifier;

	if (n == NULL)
		return;
	atomic_store(&n->stop, true);
	wake(n);
	if (n->started)
		pthread_join(n->thread, NULL);
	curl_easy_cleanup(n->curl);
	pthread_cond_destroy(&n->cv);
	pthread_mutex_destroy(&n->mu);
	free(n);
	g->notifier = NULL;
}
