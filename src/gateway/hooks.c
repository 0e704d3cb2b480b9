/*
 * hooks.c - the alert webhooks on the gateway's listener (docs/webhooks.md):
 * POST /hooks/alertmanager, /hooks/sns, /hooks/pagerduty and /hooks/generic.
 *
 * Each endpoint authenticates its delivery first (bearer token, HMAC signature, SNS's RSA
 * signature over a certificate fetched from an allow-listed AWS host), then parses it with
 * its module in src/alerts/ and hands the alerts to the service layer, which opens or
 * updates the group's incident (workflow/incident.h). A delivery that fails
 * authentication gets 401, changes nothing and is recorded as refused; one that cannot be
 * read gets 400. An endpoint the policy does not configure answers 404. Runs on the API
 * worker thread, like the JSON API: the SNS certificate and subscription fetches block it
 * for at most BG_HOOK_FETCH_TIMEOUT_MS each, and certificates are cached by URL.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alertmanager.h"
#include "alerts/generic.h"
#include "alerts/pagerduty.h"
#include "alerts/sns.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/validate.h"
#include "gateway/gw.h"
#include "gateway/notifier.h"
#include "workflow/incident.h"

typedef struct hook_ctx {
	gw *g;
	const gw_http_request *hr;
	gw_reply *rep;
	const gw_hook_secrets *cfg;
	const char *source;
	svc sv;
} hook_ctx;

static void reply(hook_ctx *c, int status, json_t *obj)
{
	char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	c->rep->status = s != NULL ? status : 500;
	snprintf(c->rep->content_type, sizeof(c->rep->content_type), "application/json");
	bg_buf_reset(&c->rep->body);
	if (s == NULL || bg_buf_adds(&c->rep->body, s) != 0)
		bg_buf_reset(&c->rep->body);
	free(s);
	json_decref(obj);
}

static void fail(hook_ctx *c, int status, const char *code, const char *msg)
{
	reply(c, status, json_pack("{s:s,s:s}", "error", code, "message", msg));
}

/* A delivery that is not the sender's: 401, and on the record. */
/* A delivery refused as not the sender's own (401) or a replay (409): answered, and on
 * the record. */
static void refuse_with(hook_ctx *c, int status, const char *code, const char *why)
{
	bg_err e;

	if (svc_hook_refused(&c->sv, c->source, c->hr->peer, why, &e) != 0)
		fprintf(stderr, "breakglass: a refused %s webhook was not recorded: %s\n",
		        c->source, e.msg);
	fail(c, status, code, why);
}

static void refuse(hook_ctx *c, const char *why)
{
	refuse_with(c, 401, "unauthenticated", why);
}

/* The alerts of a verified, parsed delivery, to the service layer; answers with what
 * became of them. A generic delivery seen before is a replay: refused. */
static void apply(hook_ctx *c, const alert_batch *b, int64_t default_severity)
{
	svc_alert items[BG_MAX_HOOK_ALERTS];
	svc_alerts in;
	svc_alerts_outcome outcome;
	char id[BG_MAX_INCIDENT_ID + 1];
	size_t i;
	bg_err e;
	int rc;

	for (i = 0; i < b->n; i++)
		items[i] =
		    (svc_alert){b->items[i].key,    b->items[i].name,      b->items[i].summary,
		                b->items[i].firing, b->items[i].starts_at, b->items[i].ends_at};
	/* A service is a name runbooks can list; a label that is not one names none. */
	in = (svc_alerts){c->source,
	                  b->group,
	                  b->delivery[0] ? b->delivery : NULL,
	                  b->title,
	                  bg_valid_id(b->service, BG_MAX_SERVICE_NAME) ? b->service : NULL,
	                  b->severity,
	                  items,
	                  b->n};
	rc = svc_incident_alerts(&c->sv, &in, default_severity, &outcome, id, &e);
	if (rc == BG_EAUDIT) {
		fail(c, 503, "audit_unavailable", e.msg);
		return;
	}
	if (rc != 0) {
		fail(c, rc == BG_EINVAL ? 400 : 500, rc == BG_EINVAL ? "bad_request" : "internal",
		     e.msg);
		return;
	}
	if (outcome == SVC_ALERTS_DUPLICATE && strcmp(c->source, "generic") == 0) {
		refuse_with(c, 409, "replay",
		            "this delivery id was received before: a replay is refused");
		return;
	}
	reply(c, 200,
	      json_pack("{s:s?,s:s}", "incident", id[0] ? id : NULL, "outcome",
	                svc_alerts_outcome_name(outcome)));
}

static void hook_alertmanager(hook_ctx *c, alert_batch *b)
{
	size_t n = 0;
	const char *authz = gw_header(c->hr, "authorization", &n);
	bg_err e;

	if (c->cfg->alertmanager_token == NULL) {
		fail(c, 404, "not_found",
		     "the Alertmanager webhook is not configured (policy: "
		     "alerts.alertmanager)");
		return;
	}
	if (authz == NULL || !alert_bearer_ok(authz, n, c->cfg->alertmanager_token)) {
		refuse(c, "missing or wrong bearer token");
		return;
	}
	if (alertmanager_parse((const char *)c->hr->body, c->hr->body_len, b, &e) != 0) {
		fail(c, 400, "bad_request", e.msg);
		return;
	}
	apply(c, b, BG_HOOK_DEFAULT_SEVERITY);
}

static void hook_pagerduty(hook_ctx *c, alert_batch *b)
{
	size_t n = 0;
	const char *sig = gw_header(c->hr, "x-pagerduty-signature", &n);
	bg_err e;
	int rc;

	if (c->cfg->n_pagerduty == 0) {
		fail(c, 404, "not_found",
		     "the PagerDuty webhook is not configured (policy: alerts.pagerduty)");
		return;
	}
	if (sig == NULL || pagerduty_verify(sig, n, c->hr->body, c->hr->body_len, c->cfg->pagerduty,
	                                    c->cfg->n_pagerduty, &e) != 0) {
		refuse(c, sig == NULL ? "no X-PagerDuty-Signature" : e.msg);
		return;
	}
	rc = pagerduty_parse((const char *)c->hr->body, c->hr->body_len, b, &e);
	if (rc == ALERT_IGNORED)
		reply(c, 200, json_pack("{s:s}", "outcome", "ignored"));
	else if (rc != 0)
		fail(c, 400, "bad_request", e.msg);
	else if (b->sent_at == 0)
		refuse(c, "the event has no occurred_at: without a signed time a replay after its "
		          "id is forgotten could not be told apart");
	else if (alert_fresh(b->sent_at, bg_now(), "the event's occurred_at", &e) != 0)
		refuse(c, e.msg); /* genuine, but a replay could not be told apart */
	else
		apply(c, b, BG_HOOK_DEFAULT_SEVERITY);
}

static void hook_generic(hook_ctx *c, alert_batch *b)
{
	size_t tn = 0, sn = 0;
	const char *ts = gw_header(c->hr, "x-breakglass-timestamp", &tn);
	const char *sig = gw_header(c->hr, "x-breakglass-signature", &sn);
	int64_t sent_at;
	bg_err e;

	if (c->cfg->n_generic == 0) {
		fail(c, 404, "not_found",
		     "the generic webhook is not configured (policy: alerts.generic)");
		return;
	}
	if (ts == NULL || sig == NULL ||
	    generic_verify(ts, tn, sig, sn, c->hr->body, c->hr->body_len, c->cfg->generic,
	                   c->cfg->n_generic, bg_now(), &sent_at, &e) != 0) {
		refuse(c, ts == NULL || sig == NULL
		              ? "no X-Breakglass-Timestamp or X-Breakglass-Signature"
		              : e.msg);
		return;
	}
	if (generic_parse((const char *)c->hr->body, c->hr->body_len, b, &e) != 0) {
		fail(c, 400, "bad_request", e.msg);
		return;
	}
	apply(c, b, BG_HOOK_DEFAULT_SEVERITY);
}

/* --- SNS ------------------------------------------------------------------------------ */

static size_t fetch_write(char *p, size_t size, size_t n, void *arg)
{
	bg_buf *b = arg;

	return bg_buf_add(b, p, size * n) == 0 ? size * n : 0;
}

/* GETs url (already allow-listed) over verified TLS into b, at most b's limit; the CA file
 * replaces the system's when set. 0, or BG_EUPSTREAM with why. */
static int fetch(const char *url, const char *ca_file, bg_buf *b, bg_err *e)
{
	CURL *h = curl_easy_init();
	long status = 0;
	CURLcode cc;

	if (h == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)BG_HOOK_FETCH_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (cc != CURLE_OK)
		return bg_err_set(e, BG_EUPSTREAM, "%s", curl_easy_strerror(cc));
	if (status != 200)
		return bg_err_set(e, BG_EUPSTREAM, "HTTP %ld", status);
	return 0;
}

/* Signing certificates by URL: SNS signs with a handful, for months. */
static struct {
	pthread_mutex_t mu;
	struct {
		char url[BG_MAX_SNS_URL + 1];
		char *pem;
		size_t n;
	} slot[BG_HOOK_CERT_CACHE];
	size_t next;
} certs = {PTHREAD_MUTEX_INITIALIZER, {{"", NULL, 0}}, 0};

static int cert_get(const char *url, const char *ca_file, char **pem, size_t *n, bg_err *e)
{
	bg_buf b;
	size_t i;
	int rc;

	pthread_mutex_lock(&certs.mu);
	for (i = 0; i < BG_HOOK_CERT_CACHE; i++)
		if (certs.slot[i].pem != NULL && strcmp(certs.slot[i].url, url) == 0) {
			*pem = strndup(certs.slot[i].pem, certs.slot[i].n);
			*n = certs.slot[i].n;
			pthread_mutex_unlock(&certs.mu);
			return *pem != NULL ? 0 : bg_err_set(e, BG_ENOMEM, "out of memory");
		}
	pthread_mutex_unlock(&certs.mu);
	bg_buf_init(&b, BG_MAX_SNS_CERT);
	rc = fetch(url, ca_file, &b, e);
	if (rc == 0 && b.len == 0)
		rc = bg_err_set(e, BG_EUPSTREAM, "an empty certificate");
	if (rc == 0) {
		*pem = strndup(b.data, b.len);
		*n = b.len;
		rc = *pem != NULL ? 0 : bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	bg_buf_free(&b);
	return rc;
}

/* Keeps a certificate that verified a message. */
static void cert_keep(const char *url, const char *pem, size_t n)
{
	size_t i;

	pthread_mutex_lock(&certs.mu);
	for (i = 0; i < BG_HOOK_CERT_CACHE; i++)
		if (certs.slot[i].pem != NULL && strcmp(certs.slot[i].url, url) == 0)
			break;
	if (i == BG_HOOK_CERT_CACHE) {
		i = certs.next++ % BG_HOOK_CERT_CACHE;
		free(certs.slot[i].pem);
		certs.slot[i].pem = strndup(pem, n);
		certs.slot[i].n = certs.slot[i].pem != NULL ? n : 0;
		snprintf(certs.slot[i].url, sizeof(certs.slot[i].url), "%s", url);
	}
	pthread_mutex_unlock(&certs.mu);
}

static void hook_sns(hook_ctx *c, alert_batch *b)
{
	const gw_hook_secrets *cfg = c->cfg;
	sns_msg *m = NULL;
	const char *url;
	char *pem = NULL;
	size_t n = 0;
	bg_buf ans;
	bg_err e;
	int rc;

	if (cfg->n_sns_topics == 0) {
		fail(c, 404, "not_found", "the SNS webhook is not configured (policy: alerts.sns)");
		return;
	}
	if (sns_parse((const char *)c->hr->body, c->hr->body_len, &m, &e) != 0) {
		fail(c, 400, "bad_request", e.msg);
		return;
	}
	if (!sns_topic_ok(m, cfg->sns_topics, cfg->n_sns_topics)) {
		refuse(c, "a topic this gateway is not subscribed to");
		goto out;
	}
	url = sns_msg_cert_url(m);
	if (url == NULL ||
	    !sns_cert_url_ok(url, strlen(url), cfg->sns_cert_hosts, cfg->n_sns_cert_hosts) ||
	    (cfg->n_sns_cert_hosts == 0 && !sns_cert_url_aws(url, sns_msg_topic(m)))) {
		refuse(c, "SigningCertURL is not an allowed SNS host");
		goto out;
	}
	rc = cert_get(url, cfg->sns_ca_file, &pem, &n, &e);
	if (rc != 0) {
		/* Not the sender's fault, maybe: SNS retries, so a 503 asks it to. */
		fprintf(stderr, "breakglass: SNS signing certificate %s: %s\n", url, e.msg);
		fail(c, 503, "unavailable", "the signing certificate could not be fetched");
		goto out;
	}
	if (sns_verify(m, pem, n, bg_now(), &e) != 0) {
		refuse(c, e.msg);
		goto out;
	}
	cert_keep(url, pem, n);
	if (sns_fresh(m, bg_now(), &e) != 0) {
		refuse(c, e.msg);
		goto out;
	}
	switch (sns_msg_type(m)) {
	case SNS_SUBSCRIPTION_CONFIRMATION:
		url = sns_msg_subscribe_url(m);
		if (url == NULL || !sns_cert_url_ok(url, strlen(url), cfg->sns_cert_hosts,
		                                    cfg->n_sns_cert_hosts)) {
			fail(c, 400, "bad_request", "SubscribeURL is not an allowed SNS host");
			break;
		}
		bg_buf_init(&ans, BG_MAX_SNS_CERT);
		rc = fetch(url, cfg->sns_ca_file, &ans, &e);
		bg_buf_free(&ans);
		if (rc != 0) {
			fprintf(stderr, "breakglass: confirming the SNS subscription to %s: %s\n",
			        sns_msg_topic(m), e.msg);
			fail(c, 503, "unavailable", "the subscription could not be confirmed");
		} else {
			fprintf(stderr, "breakglass: confirmed the SNS subscription to %s\n",
			        sns_msg_topic(m));
			reply(c, 200,
			      json_pack("{s:s,s:s}", "outcome", "confirmed", "topic",
			                sns_msg_topic(m)));
		}
		break;
	case SNS_UNSUBSCRIBE_CONFIRMATION:
		reply(c, 200, json_pack("{s:s}", "outcome", "ignored"));
		break;
	case SNS_NOTIFICATION:
		if (sns_alarm(m, b, &e) != 0)
			fail(c, 400, "bad_request", e.msg);
		else
			apply(c, b, cfg->sns_default_severity);
		break;
	}
out:
	free(pem);
	sns_msg_free(m);
}

void gw_hooks_handle(gw *g, const gw_http_request *r, gw_reply *rep)
{
	static const struct {
		const char *path, *source;
		void (*fn)(hook_ctx *c, alert_batch *b);
	} hooks[] = {{"/hooks/alertmanager", "alertmanager", hook_alertmanager},
	             {"/hooks/sns", "sns", hook_sns},
	             {"/hooks/pagerduty", "pagerduty", hook_pagerduty},
	             {"/hooks/generic", "generic", hook_generic}};
	hook_ctx c = {g, r, rep, gw_policy_hooks(g->rules), NULL, {0}};
	alert_batch *b;
	size_t i;

	c.sv = (svc){.st = g->st,
	             .kr = g->kr,
	             .audit = g->audit,
	             .grants = g->grants,
	             .runbooks = &g->pins,
	             .notify = gw_notifier_svc(g->notifier)};
	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (strcmp(r->path, hooks[i].path) == 0)
			break;
	if (i == sizeof(hooks) / sizeof(hooks[0])) {
		fail(&c, 404, "not_found",
		     "no such webhook (/hooks/alertmanager, /hooks/sns, /hooks/pagerduty, "
		     "/hooks/generic)");
		return;
	}
	if (strcmp(r->method, "POST") != 0) {
		fail(&c, 405, "method_not_allowed", "webhooks take POST");
		return;
	}
	c.source = hooks[i].source;
	b = malloc(sizeof(*b)); /* about 60 KiB: not on the worker's stack */
	if (b == NULL) {
		fail(&c, 500, "internal", "out of memory");
		return;
	}
	hooks[i].fn(&c, b);
	free(b);
}
