/*
 * test_alerts.c - the alert webhook layer (src/alerts/): RFC 3339 times, severities,
 * bounded text and bearer tokens; Alertmanager v4 (a firing and resolved pair, truncation,
 * hashing); PagerDuty v3 (signatures against vectors made with `openssl dgst -sha256
 * -hmac`, triggered/resolved, ignored events); SNS (a throwaway RSA key and self-signed
 * certificate made here, the string to sign built here from the AWS docs, SHA1 and SHA256
 * signatures, changed fields, wrong and expired certificates, bad base64, topics, URL
 * allow-lists, CloudWatch alarms); the generic format (signatures over timestamp.body made
 * here with OpenSSL's HMAC(), time windows, rotation); and malformed input of every kind.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts/alert.h"
#include "alerts/alertmanager.h"
#include "alerts/generic.h"
#include "alerts/pagerduty.h"
#include "alerts/sns.h"
#include "common/buf.h"

/* JSON written with ' for " (readable in C); the copy is kept until the test ends. */
static char *js_bufs[64];
static size_t js_n;

static const char *js(const char *s)
{
	char *p = strdup(s), *q;

	assert_non_null(p);
	for (q = p; *q; q++)
		if (*q == '\'')
			*q = '"';
	assert_true(js_n < sizeof(js_bufs) / sizeof(js_bufs[0]));
	js_bufs[js_n++] = p;
	return p;
}

static int js_free(void **state)
{
	(void)state;
	while (js_n > 0)
		free(js_bufs[--js_n]);
	return 0;
}

typedef int (*parse_fn)(const char *, size_t, alert_batch *, bg_err *);

/* Parses the js() form of text with fn. */
static int parse_js(parse_fn fn, const char *text, alert_batch *b, bg_err *e)
{
	const char *body = js(text);
	return fn(body, strlen(body), b, e);
}

#define am(text, b, e) parse_js(alertmanager_parse, text, b, e)
#define pd(text, b, e) parse_js(pagerduty_parse, text, b, e)
#define gp(text, b, e) parse_js(generic_parse, text, b, e)

/* The batch-level fields of a parsed delivery, and that it keeps the parsers' promises. */
static void expect_batch(const alert_batch *b, alert_source src, const char *delivery,
                         const char *group, const char *title, const char *service, int severity,
                         bool firing, size_t n)
{
	assert_true(alert_batch_valid(b));
	assert_int_equal(b->source, src);
	assert_string_equal(b->delivery, delivery);
	assert_string_equal(b->group, group);
	assert_string_equal(b->title, title);
	assert_string_equal(b->service, service);
	assert_int_equal(b->severity, severity);
	assert_int_equal(b->firing, firing);
	assert_int_equal(b->n, n);
}

static alert_batch *batch(void)
{
	static alert_batch b;
	memset(&b, 0xa5, sizeof(b)); /* the parsers must set everything */
	return &b;
}

/* ---- shared helpers ---- */

static void test_time(void **state)
{
	int64_t t = 0;

#define T_OK(s, want)                                                                              \
	do {                                                                                       \
		assert_int_equal(alert_time_parse(s, strlen(s), &t), 0);                           \
		assert_int_equal(t, want);                                                         \
	} while (0)
#define T_BAD(s) assert_int_equal(alert_time_parse(s, strlen(s), &t), BG_EINVAL)
	(void)state;
	T_OK("1970-01-01T00:00:00Z", 0);
	T_OK("2026-11-24T03:27:00Z", 1795490820);
	T_OK("2026-11-24T03:27:00.123456789Z", 1795490820);
	T_OK("2026-11-24t03:27:00z", 1795490820);
	T_OK("2026-11-24 03:27:00Z", 1795490820);
	T_OK("2026-11-24T04:27:00+01:00", 1795490820);
	T_OK("2026-11-24T04:27:00.5+01:00", 1795490820);
	T_OK("2026-11-23T22:57:00-04:30", 1795490820);
	T_OK("2026-11-24T03:27:00.211+0000", 1795490820); /* CloudWatch's StateChangeTime */
	T_OK("2024-02-29T23:59:60Z", 1709251200);         /* a leap second */
	T_OK("0001-01-01T00:00:00Z", -62135596800LL);     /* Go's zero time */
	T_OK("9999-12-31T23:59:59Z", 253402300799LL);
	T_BAD("2026-11-24T03:27:00");
	T_BAD("2026-13-24T03:27:00Z");
	T_BAD("2025-02-29T03:27:00Z");
	T_BAD("2026-11-31T03:27:00Z");
	T_BAD("2026-11-24T24:00:00Z");
	T_BAD("2026-11-24T03:60:00Z");
	T_BAD("2026-11-24T03:27:00.Z");
	T_BAD("2026-11-24T03:27:00+1:00");
	T_BAD("2026-11-24T03:27:00+01:60");
	T_BAD("2026-11-24T03:27:00*01:00");
	T_BAD("2026-11-24T03:27:00ZZ");
	T_BAD("0000-01-01T00:00:00Z");
	T_BAD("2026-11-24X03:27:00Z");
	T_BAD("+026-11-24T03:27:00Z");
	T_BAD("");
#undef T_OK
#undef T_BAD
}

static void test_severity_and_names(void **state)
{
	(void)state;
	assert_int_equal(alert_severity_parse("critical"), 1);
	assert_int_equal(alert_severity_parse("CRITICAL"), 1);
	assert_int_equal(alert_severity_parse("error"), 2);
	assert_int_equal(alert_severity_parse("warning"), 3);
	assert_int_equal(alert_severity_parse("info"), 4);
	assert_int_equal(alert_severity_parse("1"), 1);
	assert_int_equal(alert_severity_parse("5"), 5);
	assert_int_equal(alert_severity_parse("P1"), 1);
	assert_int_equal(alert_severity_parse("P5"), 5);
	assert_int_equal(alert_severity_parse("p3"), 3);
	assert_int_equal(alert_severity_parse("6"), 0);
	assert_int_equal(alert_severity_parse("0"), 0);
	assert_int_equal(alert_severity_parse("P"), 0);
	assert_int_equal(alert_severity_parse("P12"), 0);
	assert_int_equal(alert_severity_parse("page"), 0);
	assert_int_equal(alert_severity_parse(""), 0);
	assert_int_equal(alert_severity_parse(NULL), 0);
	assert_string_equal(alert_source_name(ALERT_ALERTMANAGER), "alertmanager");
	assert_string_equal(alert_source_name(ALERT_SNS), "sns");
	assert_string_equal(alert_source_name(ALERT_PAGERDUTY), "pagerduty");
	assert_string_equal(alert_source_name(ALERT_GENERIC), "generic");
}

static void test_text(void **state)
{
	char out[12], id[8];
	bg_err e;

	(void)state;
	alert_copy_text(out, sizeof(out), "a\tb\nc\x7f", 6);
	assert_string_equal(out, "a b c ");
	/* C1 (U+0085) and a right-to-left override (U+202E) are replaced too */
	alert_copy_text(out, sizeof(out),
	                "x\xc2\x85"
	                "y\xe2\x80\xae"
	                "z",
	                8);
	assert_string_equal(out, "x y z");
	/* cut at a character boundary, with an ellipsis: 11 bytes of room */
	alert_copy_text(out, sizeof(out), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 12);
	assert_string_equal(out, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x80\xa6");
	alert_copy_text(out, sizeof(out), "0123456789ab", 12);
	assert_string_equal(out, "01234567\xe2\x80\xa6");
	alert_copy_text(out, sizeof(out), "0123456789a", 11);
	assert_string_equal(out, "0123456789a");
	alert_copy_text(out, sizeof(out), NULL, 0);
	assert_string_equal(out, "");
	/* invalid UTF-8 bytes become spaces */
	alert_copy_text(out, sizeof(out), "a\xff\xc3", 3);
	assert_string_equal(out, "a  ");

	assert_int_equal(alert_copy_id(id, sizeof(id), "id", "abc", 3, &e), 0);
	assert_string_equal(id, "abc");
	assert_int_equal(alert_copy_id(id, sizeof(id), "id", "1234567", 7, &e), 0);
	assert_int_equal(alert_copy_id(id, sizeof(id), "id", "12345678", 8, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "longer"));
	assert_int_equal(alert_copy_id(id, sizeof(id), "id", "", 0, &e), BG_EINVAL);
	assert_int_equal(alert_copy_id(id, sizeof(id), "id", "a\nb", 3, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "control"));
	assert_int_equal(alert_copy_id(id, sizeof(id), "id",
	                               "a\xe2\x80\xae"
	                               "b",
	                               5, &e),
	                 BG_EINVAL);
}

static void test_bearer(void **state)
{
	const char *h;

	(void)state;
	h = "Bearer s3cret-token";
	assert_true(alert_bearer_ok(h, strlen(h), "s3cret-token"));
	h = "bearer s3cret-token ";
	assert_true(alert_bearer_ok(h, strlen(h), "s3cret-token"));
	assert_false(alert_bearer_ok(h, strlen(h), "s3cret-toke"));
	assert_false(alert_bearer_ok(h, strlen(h), "s3cret-token2"));
	assert_false(alert_bearer_ok(h, strlen(h), ""));
	assert_false(alert_bearer_ok(h, strlen(h), NULL));
	h = "Basic czNjcmV0LXRva2Vu";
	assert_false(alert_bearer_ok(h, strlen(h), "czNjcmV0LXRva2Vu"));
	h = "Bearers3cret-token";
	assert_false(alert_bearer_ok(h, strlen(h), "s3cret-token"));
	h = "Bearer ";
	assert_false(alert_bearer_ok(h, strlen(h), " "));
	assert_false(alert_bearer_ok(NULL, 0, "x"));
	/* only n bytes count */
	h = "Bearer abcdef";
	assert_true(alert_bearer_ok(h, 10, "abc"));
}

/* ---- Alertmanager ---- */

#define AM_GROUP_KEY "{}/{severity=~\\'critical|warning\\'}:{alertname=\\'DynamoThrottling\\'}"

static const char am_firing[] =
    "{'receiver':'breakglass','status':'firing','alerts':["
    "{'status':'firing','labels':{'alertname':'DynamoThrottling','severity':'warning',"
    "'service':'orders','table':'orders'},'annotations':{'summary':'orders is throttled',"
    "'description':'ThrottledRequests > 0 for 5m'},"
    "'startsAt':'2026-11-24T04:27:00.123456789+01:00','endsAt':'0001-01-01T00:00:00Z',"
    "'generatorURL':'http://prometheus:9090/graph?g0.expr=x','fingerprint':'1a30ba71cca2921f'},"
    "{'status':'firing','labels':{'alertname':'DynamoThrottling','severity':'critical',"
    "'service':'orders','table':'orders-gsi'},'annotations':{'description':'GSI throttled'},"
    "'startsAt':'2026-11-24T03:28:00Z','endsAt':'2026-11-24T03:40:00Z',"
    "'generatorURL':'http://prometheus:9090/graph?g0.expr=y','fingerprint':'bc97ff14869b13e3'}],"
    "'groupLabels':{'alertname':'DynamoThrottling'},"
    "'commonLabels':{'alertname':'DynamoThrottling','service':'orders'},"
    "'commonAnnotations':{},'externalURL':'http://alertmanager:9093','version':'4',"
    "'groupKey':'" AM_GROUP_KEY "','truncatedAlerts':0}";

static const char am_resolved[] =
    "{'receiver':'breakglass','status':'resolved','alerts':["
    "{'status':'resolved','labels':{'alertname':'DynamoThrottling','severity':'warning',"
    "'service':'orders','table':'orders'},'annotations':{'summary':'orders is throttled'},"
    "'startsAt':'2026-11-24T03:27:00Z','endsAt':'2026-11-24T03:57:00Z',"
    "'generatorURL':'http://prometheus:9090/graph?g0.expr=x','fingerprint':'1a30ba71cca2921f'}],"
    "'groupLabels':{'alertname':'DynamoThrottling'},"
    "'commonLabels':{'alertname':'DynamoThrottling','service':'orders','severity':'warning',"
    "'table':'orders'},'commonAnnotations':{'summary':'orders is throttled'},"
    "'externalURL':'http://alertmanager:9093','version':'4',"
    "'groupKey':'" AM_GROUP_KEY "','truncatedAlerts':2}";

static void test_alertmanager_pair(void **state)
{
	alert_batch *b = batch();
	bg_err e;

	(void)state;
	assert_int_equal(am(am_firing, b, &e), 0);
	/* the title is the alertname (no common summary); severity the most severe alert's */
	expect_batch(b, ALERT_ALERTMANAGER, "",
	             "{}/{severity=~\"critical|warning\"}:{alertname=\"DynamoThrottling\"}",
	             "DynamoThrottling", "orders", 1, true, 2);
	assert_int_equal(b->truncated, 0);
	assert_string_equal(b->items[0].key, "1a30ba71cca2921f");
	assert_string_equal(b->items[0].name, "DynamoThrottling");
	assert_string_equal(b->items[0].summary, "orders is throttled");
	assert_true(b->items[0].firing);
	assert_int_equal(b->items[0].starts_at, 1795490820);
	assert_int_equal(b->items[0].ends_at, 0);
	assert_string_equal(b->items[1].key, "bc97ff14869b13e3");
	assert_string_equal(b->items[1].summary, "GSI throttled"); /* the description */
	assert_int_equal(b->items[1].ends_at, 0); /* provisional end of a firing alert */

	b = batch();
	assert_int_equal(am(am_resolved, b, &e), 0);
	assert_true(alert_batch_valid(b));
	assert_string_equal(b->group,
	                    "{}/{severity=~\"critical|warning\"}:{alertname=\"DynamoThrottling\"}");
	assert_false(b->firing);
	assert_int_equal(b->severity, 3); /* commonLabels first */
	assert_string_equal(b->title, "orders is throttled");
	assert_int_equal(b->truncated, 2);
	assert_int_equal(b->n, 1);
	assert_false(b->items[0].firing);
	assert_int_equal(b->items[0].starts_at, 1795490820);
	assert_int_equal(b->items[0].ends_at, 1795490820 + 1800);
}

static void test_alertmanager_keys(void **state)
{
	alert_batch *b = batch();
	char key[BG_MAX_ALERT_KEY + 1], big[2000];
	bg_err e;
	size_t i;
	int k;

	(void)state;
	/* no fingerprint: a hash of the labels, whatever their order */
	assert_int_equal(am("{'version':'4','groupKey':'g','status':'firing','alerts':["
	                    "{'status':'firing','labels':{'alertname':'A','job':'x'}}]}",
	                    b, &e),
	                 0);
	assert_true(alert_batch_valid(b));
	assert_memory_equal(b->items[0].key, "sha256:", 7);
	assert_int_equal(strlen(b->items[0].key), 71);
	memcpy(key, b->items[0].key, sizeof(key));
	assert_int_equal(am("{'version':'4','groupKey':'g','status':'firing','alerts':["
	                    "{'status':'firing','labels':{'job':'x','alertname':'A'}}]}",
	                    b, &e),
	                 0);
	assert_string_equal(b->items[0].key, key);
	assert_string_equal(b->title, "A"); /* the first alert's name */
	assert_int_equal(b->severity, 0);
	assert_string_equal(b->service, "");

	/* a groupKey longer than BG_MAX_ALERT_GROUP is replaced by its hash */
	k = snprintf(big, sizeof(big), "{'version':'4','status':'firing','groupKey':'");
	for (i = 0; i < 600; i++)
		big[k++] = 'k';
	snprintf(big + k, sizeof(big) - (size_t)k,
	         "','alerts':[{'status':'firing','labels':{'alertname':'A'}}]}");
	assert_int_equal(am(big, b, &e), 0);
	assert_true(alert_batch_valid(b));
	assert_memory_equal(b->group, "sha256:", 7);
}

/* More alerts than BG_MAX_HOOK_ALERTS: firing ones are kept first, the rest counted. */
static void test_alertmanager_truncation(void **state)
{
	alert_batch *b = batch();
	bg_buf body;
	bg_err e;
	int i;
	char *text;

	(void)state;
	bg_buf_init(&body, 1 << 20);
	assert_int_equal(bg_buf_adds(&body, "{'version':'4','groupKey':'g','status':'firing',"
	                                    "'truncatedAlerts':3,'alerts':["),
	                 0);
	for (i = 0; i < 70; i++)
		assert_int_equal(bg_buf_addf(&body,
		                             "%s{'status':'%s','labels':{'alertname':'A%d'},"
		                             "'fingerprint':'f%d'}",
		                             i ? "," : "", i == 69 ? "firing" : "resolved", i, i),
		                 0);
	assert_int_equal(bg_buf_adds(&body, "]}"), 0);
	text = bg_buf_steal(&body);
	assert_int_equal(am(text, b, &e), 0);
	free(text);
	assert_true(alert_batch_valid(b));
	assert_int_equal(b->n, BG_MAX_HOOK_ALERTS);
	assert_int_equal(b->truncated, 3 + 70 - BG_MAX_HOOK_ALERTS);
	assert_true(b->firing);
	assert_string_equal(b->items[0].key, "f69");
	assert_string_equal(b->items[1].key, "f0");
}

static void test_alertmanager_errors(void **state)
{
	alert_batch *b = batch();
	bg_err e;
	char deep[200];
	int i;

#define AM_BAD(text, code, word)                                                                   \
	do {                                                                                       \
		assert_int_equal(am(text, b, &e), code);                                           \
		if (strstr(e.msg, word) == NULL)                                                   \
			fail_msg("%s: message \"%s\" lacks \"%s\"", text, e.msg, word);            \
	} while (0)
#define ONE_ALERT "'alerts':[{'status':'firing','labels':{'alertname':'A'}}]"
	(void)state;
	AM_BAD("{'version':'3','groupKey':'g','status':'firing'," ONE_ALERT "}", BG_EINVAL,
	       "version 3");
	AM_BAD("{'version':4,'groupKey':'g','status':'firing'," ONE_ALERT "}", BG_EINVAL,
	       "\"version\" is not a string");
	AM_BAD("{'groupKey':'g','status':'firing'," ONE_ALERT "}", BG_EINVAL, "\"version\"");
	AM_BAD("{'version':'4','status':'firing'," ONE_ALERT "}", BG_EINVAL, "groupKey");
	AM_BAD("{'version':'4','groupKey':'g','status':'on'," ONE_ALERT "}", BG_EINVAL, "status");
	AM_BAD("{'version':'4','groupKey':'g','status':'firing','alerts':{}}", BG_EINVAL,
	       "not an array");
	AM_BAD("{'version':'4','groupKey':'g','status':'firing','alerts':[]}", BG_EINVAL,
	       "no alerts");
	AM_BAD("{'version':'4','groupKey':'g','status':'firing','alerts':[1]}", BG_EINVAL,
	       "not an object");
	AM_BAD("{'version':'4','groupKey':'g','status':'firing','alerts':[{'status':'firing'}]}",
	       BG_EINVAL, "no labels");
	AM_BAD("{'version':'4','groupKey':'g','status':'firing','alerts':[{'status':'firing',"
	       "'labels':[]}]}",
	       BG_EINVAL, "\"labels\" is not an object");
	AM_BAD("{'version':'4','groupKey':'g','status':'firing','alerts':[{'status':'firing',"
	       "'labels':{'alertname':7}}]}",
	       BG_EINVAL, "\"alertname\" is not a string");
	AM_BAD("{'version':'4','groupKey':'g','status':'firing','alerts':[{'status':'firing',"
	       "'labels':{'alertname':'A'},'startsAt':'yesterday'}]}",
	       BG_EINVAL, "startsAt");
	AM_BAD("{'version':'4','groupKey':'g','status':'firing','alerts':[{'status':'firing',"
	       "'labels':{'alertname':'A'},'fingerprint':'a\\u0007b'}]}",
	       BG_EINVAL, "control");
	AM_BAD("{'version':'4','groupKey':'g\\nh','status':'firing'," ONE_ALERT "}", BG_EINVAL,
	       "control");
	AM_BAD("{'version':'4','groupKey':'g','status':'firing','truncatedAlerts':-1," ONE_ALERT
	       "}",
	       BG_EINVAL, "truncatedAlerts");
	AM_BAD("{'version':'4','version':'4','groupKey':'g','status':'firing'," ONE_ALERT "}",
	       BG_EINVAL, "repeats a key");
	AM_BAD("{'version':'4','groupKey':'g','status':'firing'," ONE_ALERT "} x", BG_EINVAL,
	       "not valid JSON");
	AM_BAD("['version']", BG_EINVAL, "not a JSON object");
	AM_BAD("{'version':'4','groupKey':'\\u0000','status':'firing'," ONE_ALERT "}", BG_EINVAL,
	       "not valid JSON");
	for (i = 0; i < 40; i++)
		deep[i] = '[';
	deep[i] = '\0';
	AM_BAD(deep, BG_ELIMIT, "nests deeper");
	assert_int_equal(alertmanager_parse("{}\0", 3, b, &e), BG_EINVAL);
	assert_int_equal(alertmanager_parse("{}", BG_MAX_HOOK_BODY + 1, b, &e), BG_ELIMIT);
#undef AM_BAD
#undef ONE_ALERT
}

/* ---- PagerDuty ---- */

static const char pd_triggered[] =
    "{\"event\":{\"id\":\"5ac64822-4adc-4fda-ade0-410becf0de4f\",\"event_type\":\"incident."
    "triggered\","
    "\"resource_type\":\"incident\",\"occurred_at\":\"2026-11-24T03:27:00.000Z\",\"agent\":{\"html_"
    "url\":"
    "\"https://acme.pagerduty.com/users/PLH1HKV\",\"id\":\"PLH1HKV\",\"self\":\"https://"
    "api.pagerduty."
    "com/users/PLH1HKV\",\"summary\":\"Tenex "
    "Engineer\",\"type\":\"user_reference\"},\"client\":{\"name\":"
    "\"PagerDuty\"},\"data\":{\"id\":\"PGR0VU2\",\"type\":\"incident\",\"self\":\"https://"
    "api.pagerduty.com/"
    "incidents/PGR0VU2\",\"html_url\":\"https://acme.pagerduty.com/incidents/"
    "PGR0VU2\",\"number\":2,"
    "\"status\":\"triggered\",\"incident_key\":\"d3640fbd41094207a1c11e58e46b1662\",\"created_at\":"
    "\"202"
    "6-11-24T03:26:58Z\",\"title\":\"Orders table "
    "throttling\",\"service\":{\"html_url\":\"https://acme"
    ".pagerduty.com/services/PF9KMXH\",\"id\":\"PF9KMXH\",\"self\":\"https://api.pagerduty.com/"
    "servic"
    "es/"
    "PF9KMXH\",\"summary\":\"orders-api\",\"type\":\"service_reference\"},\"assignees\":[{\"html_"
    "url\":"
    "\"https://acme.pagerduty.com/users/PTUXL6G\",\"id\":\"PTUXL6G\",\"self\":\"https://"
    "api.pagerduty."
    "com/users/PTUXL6G\",\"summary\":\"User "
    "123\",\"type\":\"user_reference\"}],\"escalation_policy\":{\""
    "html_url\":\"https://acme.pagerduty.com/escalation_policies/"
    "PUS0KTE\",\"id\":\"PUS0KTE\",\"self\""
    ":\"https://api.pagerduty.com/escalation_policies/"
    "PUS0KTE\",\"summary\":\"Default\",\"type\":\"esc"
    "alation_policy_reference\"},\"teams\":[],\"priority\":{\"html_url\":\"https://"
    "acme.pagerduty.com"
    "/account/incident_priorities\",\"id\":\"PSO75BM\",\"self\":\"https://api.pagerduty.com/"
    "prioritie"
    "s/"
    "PSO75BM\",\"summary\":\"P1\",\"type\":\"priority\"},\"urgency\":\"high\",\"conference_"
    "bridge\":null,\""
    "resolve_reason\":null}}}";

/* openssl dgst -sha256 -hmac 'whsec_pd_test_1' (and _2) over pd_triggered */
#define PD_SIG1 "1fcb3642e9e1c75991d340ebc0faeb5f890c212235180a3076c17b7418daa23c"
#define PD_SIG2 "a93aa8a5e759b22a857a91f938d132e69b5c238d7b12185e43d5f395f01cb5b6"

static void test_pagerduty_verify(void **state)
{
	const char *one[] = {"whsec_pd_test_1"}, *two[] = {"whsec_other", "whsec_pd_test_2"};
	const char *wrong[] = {"whsec_pd_test_3"}, *empty[] = {""};
	size_t n = strlen(pd_triggered);
	bg_err e;
	const char *h;
	char many[1024];
	int i, k = 0;

	(void)state;
	h = "v1=" PD_SIG1;
	assert_int_equal(pagerduty_verify(h, strlen(h), pd_triggered, n, one, 1, &e), 0);
	/* PagerDuty rotating: two signatures, spaces; either secret of ours */
	h = "v1=" PD_SIG2 ", v1=" PD_SIG1;
	assert_int_equal(pagerduty_verify(h, strlen(h), pd_triggered, n, one, 1, &e), 0);
	assert_int_equal(pagerduty_verify(h, strlen(h), pd_triggered, n, two, 2, &e), 0);
	h = "v1=" PD_SIG1;
	assert_int_equal(pagerduty_verify(h, strlen(h), pd_triggered, n, two, 2, &e), BG_EAUTH);
	assert_int_equal(pagerduty_verify(h, strlen(h), pd_triggered, n, wrong, 1, &e), BG_EAUTH);
	assert_non_null(strstr(e.msg, "X-PagerDuty-Signature"));
	/* upper-case hex, a future scheme beside it */
	h = "v2=abc,V1=x, v1=1FCB3642E9E1C75991D340EBC0FAEB5F890C212235180A3076C17B7418DAA23C";
	assert_int_equal(pagerduty_verify(h, strlen(h), pd_triggered, n, one, 1, &e), 0);
	/* the body changed */
	h = "v1=" PD_SIG1;
	assert_int_equal(pagerduty_verify(h, strlen(h), pd_triggered, n - 1, one, 1, &e), BG_EAUTH);
	/* malformed headers */
	assert_int_equal(pagerduty_verify("", 0, pd_triggered, n, one, 1, &e), BG_EAUTH);
	assert_int_equal(pagerduty_verify(NULL, 0, pd_triggered, n, one, 1, &e), BG_EAUTH);
	h = "v1=" PD_SIG1 "0";
	assert_int_equal(pagerduty_verify(h, strlen(h), pd_triggered, n, one, 1, &e), BG_EINVAL);
	h = "v1=zzcb3642e9e1c75991d340ebc0faeb5f890c212235180a3076c17b7418daa23c";
	assert_int_equal(pagerduty_verify(h, strlen(h), pd_triggered, n, one, 1, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "64 hex"));
	h = PD_SIG1;
	assert_int_equal(pagerduty_verify(h, strlen(h), pd_triggered, n, one, 1, &e), BG_EINVAL);
	h = "v2=" PD_SIG1;
	assert_int_equal(pagerduty_verify(h, strlen(h), pd_triggered, n, one, 1, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "no v1"));
	h = " , ,";
	assert_int_equal(pagerduty_verify(h, strlen(h), pd_triggered, n, one, 1, &e), BG_EINVAL);
	for (i = 0; i < 9; i++)
		k += snprintf(many + k, sizeof(many) - (size_t)k, "%sv1=%s", i ? "," : "", PD_SIG1);
	assert_int_equal(pagerduty_verify(many, (size_t)k, pd_triggered, n, one, 1, &e), BG_ELIMIT);
	/* our secrets: at least one, none empty */
	h = "v1=" PD_SIG1;
	assert_int_equal(pagerduty_verify(h, strlen(h), pd_triggered, n, one, 0, &e), BG_ELIMIT);
	assert_int_equal(pagerduty_verify(h, strlen(h), pd_triggered, n, empty, 1, &e), BG_EINVAL);
}

static void test_pagerduty_parse(void **state)
{
	alert_batch *b = batch();
	bg_err e;

	(void)state;
	assert_int_equal(pagerduty_parse(pd_triggered, strlen(pd_triggered), b, &e), 0);
	expect_batch(b, ALERT_PAGERDUTY, "5ac64822-4adc-4fda-ade0-410becf0de4f", "PGR0VU2",
	             "Orders table throttling", "orders-api", 1, true, 1);
	assert_string_equal(b->items[0].key, "PGR0VU2");
	assert_string_equal(b->items[0].summary, "incident.triggered");
	assert_int_equal(b->items[0].starts_at, 1795490818);
	assert_int_equal(b->items[0].ends_at, 0);
	assert_int_equal(b->sent_at, 1795490820); /* occurred_at, for alert_fresh() */

	assert_int_equal(pd("{'event':{'id':'01DEN3UB6S7TK3M9BQG6FBWQ9S','event_type':"
	                    "'incident.resolved','resource_type':'incident','occurred_at':"
	                    "'2026-11-24T03:57:00Z','data':{'id':'PGR0VU2','type':'incident',"
	                    "'title':'Orders table throttling','status':'resolved','urgency':"
	                    "'low','priority':null,'service':{'summary':'orders-api'}}}}",
	                    b, &e),
	                 0);
	assert_true(alert_batch_valid(b));
	assert_false(b->firing);
	assert_int_equal(b->severity, 3); /* urgency low */
	assert_int_equal(b->items[0].ends_at, 1795490820 + 1800);
	assert_string_equal(b->delivery, "01DEN3UB6S7TK3M9BQG6FBWQ9S");

	/* acknowledged is still firing; urgency high is 2 */
	assert_int_equal(pd("{'event':{'id':'e2','event_type':'incident.acknowledged',"
	                    "'resource_type':'incident','data':{'id':'P1','type':'incident',"
	                    "'status':'acknowledged','urgency':'high'}}}",
	                    b, &e),
	                 0);
	assert_true(b->firing);
	assert_int_equal(b->severity, 2);
	assert_string_equal(b->title, "");
	assert_int_equal(b->sent_at, 0); /* no occurred_at */

	/* not about an incident's state: ignored, with the delivery id */
	assert_int_equal(pd("{'event':{'id':'ping1','event_type':'pagey.ping',"
	                    "'resource_type':'pagey','occurred_at':null,'data':null}}",
	                    b, &e),
	                 ALERT_IGNORED);
	assert_string_equal(b->delivery, "ping1");
	assert_int_equal(pd("{'event':{'id':'n1','event_type':'incident.annotated',"
	                    "'resource_type':'incident','data':{'incident':{'id':'P1'},"
	                    "'type':'incident_note','content':'hi'}}}",
	                    b, &e),
	                 ALERT_IGNORED);

	/* errors */
	assert_int_equal(pd("{'events':{}}", b, &e), BG_EINVAL);
	assert_int_equal(pd("{'event':[]}", b, &e), BG_EINVAL);
	assert_int_equal(pd("{'event':{'event_type':'incident.triggered','resource_type':"
	                    "'incident','data':{'id':'P1','type':'incident'}}}",
	                    b, &e),
	                 BG_EINVAL);
	assert_non_null(strstr(e.msg, "\"id\" is missing"));
	assert_int_equal(pd("{'event':{'id':'e','event_type':'incident.triggered','resource_type':"
	                    "'incident','data':{'type':'incident'}}}",
	                    b, &e),
	                 BG_EINVAL);
	assert_int_equal(pd("{'event':{'id':'e','event_type':'incident.triggered','resource_type':"
	                    "'incident','data':{'id':'P1','type':'incident','status':'sleeping'}}}",
	                    b, &e),
	                 BG_EINVAL);
	assert_int_equal(pd("{'event':{'id':'e','event_type':'incident.triggered','resource_type':"
	                    "'incident','data':{'id':'P1','type':'incident','priority':'P1'}}}",
	                    b, &e),
	                 BG_EINVAL);
	assert_int_equal(pd("{'event':{'id':'e','resource_type':'incident','data':{'id':'P1',"
	                    "'type':'incident'}}}",
	                    b, &e),
	                 BG_EINVAL);
	assert_int_equal(
	    pd("{'event':{'id':'e\\r','event_type':'x','resource_type':'pagey'}}", b, &e),
	    BG_EINVAL);
}

/* ---- generic ---- */

#define NOW 1795490820

/* "v1=" and HMAC-SHA256(secret, ts "." body), computed with OpenSSL's one-shot HMAC(). */
static void gsign(const char *secret, const char *ts, const char *body, char *out, size_t cap)
{
	unsigned char mac[32];
	unsigned int len = 0;
	char hex[65];
	size_t tn = strlen(ts), bn = strlen(body);
	char *msg = malloc(tn + 1 + bn);

	assert_non_null(msg);
	memcpy(msg, ts, tn);
	msg[tn] = '.';
	memcpy(msg + tn + 1, body, bn);
	assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg,
	                     tn + 1 + bn, mac, &len));
	free(msg);
	bg_hex(mac, 32, hex);
	snprintf(out, cap, "v1=%s", hex);
}

static const char gbody[] = "{'id':'deploy-42-1','group':'orders-latency','status':'firing',"
                            "'severity':'critical','title':'Orders p99 over 2s',"
                            "'service':'orders','x-source':'cron'}";

static void test_generic_verify(void **state)
{
	const char *one[] = {"gsecret-1"}, *two[] = {"gsecret-0", "gsecret-1"};
	const char *body = js(gbody);
	char sig[80], sig2[80], both[200], ts[24];
	int64_t at = -1;
	bg_err e;

	(void)state;
	snprintf(ts, sizeof(ts), "%d", NOW);
	gsign("gsecret-1", ts, body, sig, sizeof(sig));
	assert_int_equal(generic_verify(ts, strlen(ts), sig, strlen(sig), body, strlen(body), one,
	                                1, NOW, &at, &e),
	                 0);
	assert_int_equal(at, NOW);
	/* within the window either way */
	assert_int_equal(generic_verify(ts, strlen(ts), sig, strlen(sig), body, strlen(body), one,
	                                1, NOW + 300, &at, &e),
	                 0);
	assert_int_equal(generic_verify(ts, strlen(ts), sig, strlen(sig), body, strlen(body), one,
	                                1, NOW - 300, &at, &e),
	                 0);
	/* stale, and from the future */
	assert_int_equal(generic_verify(ts, strlen(ts), sig, strlen(sig), body, strlen(body), one,
	                                1, NOW + 301, &at, &e),
	                 BG_EEXPIRED);
	assert_int_equal(at, 0);
	assert_non_null(strstr(e.msg, "behind"));
	assert_int_equal(generic_verify(ts, strlen(ts), sig, strlen(sig), body, strlen(body), one,
	                                1, NOW - 301, &at, &e),
	                 BG_EEXPIRED);
	assert_non_null(strstr(e.msg, "ahead"));
	/* the timestamp is signed: another one does not verify */
	assert_int_equal(generic_verify("1795490821", 10, sig, strlen(sig), body, strlen(body), one,
	                                1, NOW, &at, &e),
	                 BG_EAUTH);
	/* wrong secret; rotation on our side and on the sender's */
	assert_int_equal(generic_verify(ts, strlen(ts), sig, strlen(sig), body, strlen(body), two,
	                                1, NOW, &at, &e),
	                 BG_EAUTH);
	assert_int_equal(generic_verify(ts, strlen(ts), sig, strlen(sig), body, strlen(body), two,
	                                2, NOW, &at, &e),
	                 0);
	gsign("gsecret-2", ts, body, sig2, sizeof(sig2));
	snprintf(both, sizeof(both), "%s, %s", sig2, sig);
	assert_int_equal(generic_verify(ts, strlen(ts), both, strlen(both), body, strlen(body), one,
	                                1, NOW, &at, &e),
	                 0);
	/* the body changed */
	assert_int_equal(generic_verify(ts, strlen(ts), sig, strlen(sig), body, strlen(body) - 1,
	                                one, 1, NOW, &at, &e),
	                 BG_EAUTH);
	/* bad hex, bad or missing timestamp, missing signature */
	sig[5] = 'g';
	assert_int_equal(generic_verify(ts, strlen(ts), sig, strlen(sig), body, strlen(body), one,
	                                1, NOW, &at, &e),
	                 BG_EINVAL);
	assert_int_equal(
	    generic_verify(ts, strlen(ts), "v1=abc", 6, body, strlen(body), one, 1, NOW, &at, &e),
	    BG_EINVAL);
	assert_int_equal(generic_verify("-1795490820", 11, sig2, strlen(sig2), body, strlen(body),
	                                one, 1, NOW, &at, &e),
	                 BG_EINVAL);
	assert_int_equal(generic_verify("17954908.0", 10, sig2, strlen(sig2), body, strlen(body),
	                                one, 1, NOW, &at, &e),
	                 BG_EINVAL);
	assert_int_equal(generic_verify("1234567890123", 13, sig2, strlen(sig2), body, strlen(body),
	                                one, 1, NOW, &at, &e),
	                 BG_EINVAL);
	assert_int_equal(
	    generic_verify(NULL, 0, sig2, strlen(sig2), body, strlen(body), one, 1, NOW, &at, &e),
	    BG_EAUTH);
	assert_int_equal(
	    generic_verify(ts, strlen(ts), NULL, 0, body, strlen(body), one, 1, NOW, &at, &e),
	    BG_EAUTH);
}

static void test_generic_parse(void **state)
{
	alert_batch *b = batch();
	bg_buf body;
	bg_err e;
	char *text;
	int i;

	(void)state;
	assert_int_equal(gp(gbody, b, &e), 0);
	expect_batch(b, ALERT_GENERIC, "deploy-42-1", "orders-latency", "Orders p99 over 2s",
	             "orders", 1, true, 1);
	assert_string_equal(b->items[0].key, "orders-latency");
	assert_string_equal(b->items[0].name, "Orders p99 over 2s");
	assert_true(b->items[0].firing);

	assert_int_equal(gp("{'id':'d2','group':'g','status':'firing','title':'T','severity':4,"
	                    "'alerts':[{'name':'p99','status':'firing','summary':'p99 2.4s',"
	                    "'starts_at':'2026-11-24T03:27:00Z'},{'name':'errors','status':"
	                    "'resolved','starts_at':'2026-11-24T03:00:00Z','ends_at':"
	                    "'2026-11-24T03:27:00Z'}]}",
	                    b, &e),
	                 0);
	assert_true(alert_batch_valid(b));
	assert_int_equal(b->severity, 4);
	assert_int_equal(b->n, 2);
	assert_string_equal(b->items[0].key, "p99");
	assert_string_equal(b->items[0].summary, "p99 2.4s");
	assert_int_equal(b->items[0].starts_at, NOW);
	assert_false(b->items[1].firing);
	assert_int_equal(b->items[1].ends_at, NOW);
	assert_string_equal(b->service, "");

	assert_int_equal(gp("{'id':'d3','group':'g','status':'resolved','title':'T\\nU'}", b, &e),
	                 0);
	assert_false(b->firing);
	assert_int_equal(b->severity, 0);
	assert_string_equal(b->title, "T U"); /* control characters replaced in texts */

#define G_BAD(text, code, word)                                                                    \
	do {                                                                                       \
		assert_int_equal(gp(text, b, &e), code);                                           \
		if (strstr(e.msg, word) == NULL)                                                   \
			fail_msg("%s: message \"%s\" lacks \"%s\"", text, e.msg, word);            \
	} while (0)
	G_BAD("{'group':'g','status':'firing','title':'T'}", BG_EINVAL, "\"id\" is missing");
	G_BAD("{'id':'d','status':'firing','title':'T'}", BG_EINVAL, "\"group\" is missing");
	G_BAD("{'id':'d','group':'g','title':'T'}", BG_EINVAL, "\"status\" is missing");
	G_BAD("{'id':'d','group':'g','status':'firing'}", BG_EINVAL, "\"title\" is missing");
	G_BAD("{'id':'d','group':'g','status':'open','title':'T'}", BG_EINVAL, "neither");
	G_BAD("{'id':5,'group':'g','status':'firing','title':'T'}", BG_EINVAL, "not a string");
	G_BAD("{'id':'d','group':'g','status':'firing','title':'T','sevrity':'info'}", BG_EINVAL,
	      "unknown key \"sevrity\"");
	G_BAD("{'id':'d','group':'g','status':'firing','title':'T','severity':'urgent'}", BG_EINVAL,
	      "severity");
	G_BAD("{'id':'d','group':'g','status':'firing','title':'T','severity':6}", BG_EINVAL,
	      "severity");
	G_BAD("{'id':'d','group':'g','status':'firing','title':'T','severity':true}", BG_EINVAL,
	      "severity");
	G_BAD("{'id':'d','group':'g\\u001b[31m','status':'firing','title':'T'}", BG_EINVAL,
	      "control");
	G_BAD("{'id':'','group':'g','status':'firing','title':'T'}", BG_EINVAL, "empty");
	G_BAD("{'id':'d','group':'g','status':'firing','title':'T','alerts':[]}", BG_EINVAL,
	      "empty");
	G_BAD("{'id':'d','group':'g','status':'firing','title':'T','alerts':{}}", BG_EINVAL,
	      "not an array");
	G_BAD("{'id':'d','group':'g','status':'firing','title':'T','alerts':[{'name':'a'}]}",
	      BG_EINVAL, "status");
	G_BAD("{'id':'d','group':'g','status':'firing','title':'T','alerts':[{'status':"
	      "'firing'}]}",
	      BG_EINVAL, "\"name\" is missing");
	G_BAD("{'id':'d','group':'g','status':'firing','title':'T','alerts':[{'name':'a',"
	      "'status':'firing','labels':{}}]}",
	      BG_EINVAL, "unknown key \"labels\"");
	G_BAD("{'id':'d','group':'g','status':'firing','title':'T','alerts':[{'name':'a',"
	      "'status':'firing'},{'name':'a','status':'firing'}]}",
	      BG_EINVAL, "twice");
	G_BAD("{'id':'d','group':'g','status':'firing','title':'T','alerts':[{'name':'a',"
	      "'status':'resolved'}]}",
	      BG_EINVAL, "no alert fires");
	G_BAD("{'id':'d','group':'g','status':'resolved','title':'T','alerts':[{'name':'a',"
	      "'status':'firing'}]}",
	      BG_EINVAL, "an alert fires");
	G_BAD("{'id':'d','group':'g','status':'firing','title':'T','alerts':[{'name':'a',"
	      "'status':'firing','starts_at':'2026-11-24'}]}",
	      BG_EINVAL, "starts_at");
	G_BAD("{'id':'d','id':'d','group':'g','status':'firing','title':'T'}", BG_EINVAL,
	      "repeats");
	G_BAD("{'id':'d','group':'g','status':'firing','title':'T'", BG_EINVAL, "not valid JSON");
	G_BAD("{'id':'d','group':'g','status':'firing','title':'\\ud800'}", BG_EINVAL,
	      "not valid JSON");
	G_BAD("{'id':'01234567890123456789012345678901234567890123456789012345678901234567890123"
	      "456789012345678901234567890123456789012345678901234567890','group':'g','status':"
	      "'firing','title':'T'}",
	      BG_EINVAL, "longer than 128");

	/* 65 alerts: refused */
	bg_buf_init(&body, 1 << 20);
	assert_int_equal(
	    bg_buf_adds(&body, "{'id':'d','group':'g','status':'firing','title':'T','alerts':["),
	    0);
	for (i = 0; i <= BG_MAX_HOOK_ALERTS; i++)
		assert_int_equal(
		    bg_buf_addf(&body, "%s{'name':'a%d','status':'firing'}", i ? "," : "", i), 0);
	assert_int_equal(bg_buf_adds(&body, "]}"), 0);
	text = bg_buf_steal(&body);
	assert_int_equal(gp(text, b, &e), BG_ELIMIT);
	free(text);
	/* a long title is cut, with an ellipsis */
	bg_buf_init(&body, 1 << 20);
	assert_int_equal(bg_buf_adds(&body, "{'id':'d','group':'g','status':'firing','title':'"),
	                 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(bg_buf_addc(&body, 't'), 0);
	assert_int_equal(bg_buf_adds(&body, "'}"), 0);
	text = bg_buf_steal(&body);
	assert_int_equal(gp(text, b, &e), 0);
	free(text);
	assert_int_equal(strlen(b->title), BG_MAX_ALERT_TITLE);
	assert_memory_equal(b->title + BG_MAX_ALERT_TITLE - 3, "\xe2\x80\xa6", 3);
#undef G_BAD
}

/* ---- SNS ---- */

#define TOPIC "arn:aws:sns:eu-west-1:123456789012:breakglass"

static const char alarm_json[] =
    "{'AlarmName':'orders-throttled','AlarmDescription':'Orders table throttles. "
    "severity=critical, runbook=orders-throttle','AWSAccountId':'123456789012',"
    "'AlarmConfigurationUpdatedTimestamp':'2026-11-20T10:00:00.000+0000','NewStateValue':"
    "'ALARM','NewStateReason':'Threshold Crossed: 1 out of the last 1 datapoints [12.0 "
    "(24/11/26 03:26:00)] was greater than the threshold (0.0).','StateChangeTime':"
    "'2026-11-24T03:27:00.211+0000','Region':'EU (Ireland)','AlarmArn':"
    "'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-throttled','OldStateValue':'OK',"
    "'OKActions':[],'AlarmActions':['" TOPIC "'],'InsufficientDataActions':[],'Trigger':{"
    "'MetricName':'ThrottledRequests','Namespace':'AWS/DynamoDB','StatisticType':'Statistic',"
    "'Statistic':'SUM','Unit':null,'Dimensions':[{'value':'PutItem','name':'Operation'},"
    "{'value':'orders','name':'TableName'}],'Period':60,'EvaluationPeriods':1,"
    "'ComparisonOperator':'GreaterThanThreshold','Threshold':0.0,'TreatMissingData':"
    "'missing'}}";

/* A self-signed certificate for k, valid from now+from to now+to seconds, in PEM. */
static char *make_cert(EVP_PKEY *k, long from, long to)
{
	X509 *x = X509_new();
	X509_NAME *name;
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem;
	long len;

	assert_non_null(x);
	assert_non_null(bio);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 42), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), from));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), to));
	assert_int_equal(X509_set_pubkey(x, k), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                                            (const unsigned char *)"sns.amazonaws.com", -1,
	                                            -1, 0),
	                 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	len = BIO_get_mem_data(bio, &data);
	pem = malloc((size_t)len + 1);
	assert_non_null(pem);
	memcpy(pem, data, (size_t)len);
	pem[len] = '\0';
	BIO_free(bio);
	X509_free(x);
	return pem;
}

/* Signs m as the AWS docs say: "Key\nvalue\n" for each signed key, in the order listed for
 * its Type, Subject only when present; sets Signature (base64) and SignatureVersion. */
static void sns_sign(json_t *m, EVP_PKEY *k, int version)
{
	static const char *const note[] = {"Message",  "MessageId", "Subject", "Timestamp",
	                                   "TopicArn", "Type",      NULL};
	static const char *const conf[] = {"Message", "MessageId", "SubscribeURL", "Timestamp",
	                                   "Token",   "TopicArn",  "Type",         NULL};
	const char *type = json_string_value(json_object_get(m, "Type"));
	const char *const *keys = strcmp(type, "Notification") == 0 ? note : conf;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[1024], b64[1400];
	size_t sig_n = sizeof(sig), i;
	bg_buf tbs;

	bg_buf_init(&tbs, 1 << 20);
	for (i = 0; keys[i] != NULL; i++) {
		json_t *v = json_object_get(m, keys[i]);
		if (v == NULL)
			continue;
		assert_int_equal(bg_buf_addf(&tbs, "%s\n%s\n", keys[i], json_string_value(v)), 0);
	}
	assert_non_null(ctx);
	assert_int_equal(
	    EVP_DigestSignInit(ctx, NULL, version == 1 ? EVP_sha1() : EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &sig_n, (unsigned char *)tbs.data, tbs.len), 1);
	EVP_MD_CTX_free(ctx);
	bg_buf_free(&tbs);
	assert_true(EVP_EncodeBlock(b64, sig, (int)sig_n) > 0);
	json_object_set_new(m, "SignatureVersion", json_string(version == 1 ? "1" : "2"));
	json_object_set_new(m, "Signature", json_string((char *)b64));
}

static json_t *sns_notification(const char *message)
{
	json_t *m = json_object();

	json_object_set_new(m, "Type", json_string("Notification"));
	json_object_set_new(m, "MessageId", json_string("22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"));
	json_object_set_new(m, "TopicArn", json_string(TOPIC));
	json_object_set_new(m, "Subject",
	                    json_string("ALARM: \"orders-throttled\" in EU (Ireland)"));
	json_object_set_new(m, "Message", json_string(message));
	json_object_set_new(m, "Timestamp", json_string("2026-11-24T03:27:01.119Z"));
	json_object_set_new(m, "SigningCertURL",
	                    json_string("https://sns.eu-west-1.amazonaws.com/"
	                                "SimpleNotificationService-0000000000000000000000.pem"));
	json_object_set_new(m, "UnsubscribeURL",
	                    json_string("https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe"
	                                "&SubscriptionArn=" TOPIC ":c9135db0"));
	return m;
}

static json_t *sns_confirmation(const char *type)
{
	json_t *m = json_object();

	json_object_set_new(m, "Type", json_string(type));
	json_object_set_new(m, "MessageId", json_string("165545c9-2a5c-472c-8df2-7ff2be2b3b1b"));
	json_object_set_new(m, "Token", json_string("2336412f37fb687f5d51e6e241d09c805a5a57b30d7"));
	json_object_set_new(m, "TopicArn", json_string(TOPIC));
	json_object_set_new(m, "Message",
	                    json_string("You have chosen to subscribe to the topic " TOPIC
	                                ".\nTo confirm the subscription, "
	                                "visit the SubscribeURL included in this "
	                                "message."));
	json_object_set_new(m, "SubscribeURL",
	                    json_string("https://sns.eu-west-1.amazonaws.com/?Action="
	                                "ConfirmSubscription&TopicArn=" TOPIC
	                                "&Token=2336412f37fb687f5d51e6e241d09c805a5a57b30d7"));
	json_object_set_new(m, "Timestamp", json_string("2026-11-24T03:00:00.000Z"));
	json_object_set_new(m, "SigningCertURL",
	                    json_string("https://sns.eu-west-1.amazonaws.com/"
	                                "SimpleNotificationService-0000000000000000000000.pem"));
	return m;
}

/* Parses the JSON text of m; the caller frees the message. */
static int sns_of(json_t *m, sns_msg **out, bg_err *e)
{
	char *text = json_dumps(m, JSON_COMPACT);
	int rc;

	assert_non_null(text);
	rc = sns_parse(text, strlen(text), out, e);
	free(text);
	return rc;
}

/* Parses m and verifies it with pem at now. */
static int sns_check(json_t *m, const char *pem, int64_t now, bg_err *e)
{
	sns_msg *msg = NULL;
	int rc = sns_of(m, &msg, e);

	if (rc == 0)
		rc = sns_verify(msg, pem, strlen(pem), now, e);
	sns_msg_free(msg);
	return rc;
}

static void test_sns_signatures(void **state)
{
	EVP_PKEY *k = EVP_RSA_gen(2048), *k2 = EVP_RSA_gen(2048), *small = EVP_RSA_gen(1024);
	char *pem = make_cert(k, -3600, 3600), *pem2 = make_cert(k2, -3600, 3600);
	char *old = make_cert(k, -7200, -3600), *later = make_cert(k, 3600, 7200);
	char *weak = make_cert(small, -3600, 3600);
	int64_t now = (int64_t)time(NULL);
	const char *alarm = js(alarm_json);
	json_t *m;
	bg_err e;
	int v;

	(void)state;
	assert_non_null(k);
	assert_non_null(k2);
	assert_non_null(small);
	for (v = 1; v <= 2; v++) {
		m = sns_notification(alarm);
		sns_sign(m, k, v);
		assert_int_equal(sns_check(m, pem, now, &e), 0);
		/* someone else's certificate */
		assert_int_equal(sns_check(m, pem2, now, &e), BG_EAUTH);
		/* not valid now: expired, not yet valid; and valid at another now */
		assert_int_equal(sns_check(m, old, now, &e), BG_EEXPIRED);
		assert_int_equal(sns_check(m, later, now, &e), BG_EEXPIRED);
		assert_int_equal(sns_check(m, later, now + 5400, &e), 0);
		assert_int_equal(sns_check(m, pem, now + 7200, &e), BG_EEXPIRED);
		/* the other signature version claims the same signature */
		json_object_set_new(m, "SignatureVersion", json_string(v == 1 ? "2" : "1"));
		assert_int_equal(sns_check(m, pem, now, &e), BG_EAUTH);
		json_decref(m);

		/* a changed field: each signed one, and Subject removed */
		m = sns_notification(alarm);
		sns_sign(m, k, v);
		json_object_set_new(m, "Subject", json_string("OK: all is well"));
		assert_int_equal(sns_check(m, pem, now, &e), BG_EAUTH);
		assert_non_null(strstr(e.msg, "does not verify"));
		json_object_del(m, "Subject");
		assert_int_equal(sns_check(m, pem, now, &e), BG_EAUTH);
		json_decref(m);
		m = sns_notification(alarm);
		sns_sign(m, k, v);
		json_object_set_new(m, "TopicArn", json_string(TOPIC "2"));
		assert_int_equal(sns_check(m, pem, now, &e), BG_EAUTH);
		json_decref(m);
		m = sns_notification(alarm);
		sns_sign(m, k, v);
		json_object_set_new(m, "Timestamp", json_string("2026-11-24T03:27:02.119Z"));
		assert_int_equal(sns_check(m, pem, now, &e), BG_EAUTH);
		/* fields that are not signed may change */
		json_object_set_new(m, "Timestamp", json_string("2026-11-24T03:27:01.119Z"));
		json_object_set_new(m, "UnsubscribeURL", json_string("https://example.com/"));
		assert_int_equal(sns_check(m, pem, now, &e), 0);
		json_decref(m);

		/* both confirmations sign Token and SubscribeURL, and no Subject */
		m = sns_confirmation("SubscriptionConfirmation");
		sns_sign(m, k, v);
		assert_int_equal(sns_check(m, pem, now, &e), 0);
		json_object_set_new(m, "Subject", json_string("ignored"));
		assert_int_equal(sns_check(m, pem, now, &e), 0);
		json_object_set_new(m, "Token", json_string("another"));
		assert_int_equal(sns_check(m, pem, now, &e), BG_EAUTH);
		json_decref(m);
		m = sns_confirmation("UnsubscribeConfirmation");
		sns_sign(m, k, v);
		assert_int_equal(sns_check(m, pem, now, &e), 0);
		json_decref(m);
	}

	/* bad base64, bad certificates, weak keys */
	m = sns_notification(alarm);
	sns_sign(m, k, 2);
	assert_int_equal(sns_check(m, "not a certificate", now, &e), BG_EINVAL);
	assert_int_equal(sns_check(m, weak, now, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "2048"));
	json_object_set_new(m, "Signature", json_string("abc"));
	assert_int_equal(sns_check(m, pem, now, &e), BG_EAUTH);
	assert_non_null(strstr(e.msg, "base64"));
	json_object_set_new(m, "Signature", json_string("ab=c"));
	assert_int_equal(sns_check(m, pem, now, &e), BG_EAUTH);
	json_object_set_new(m, "Signature", json_string("ab c"));
	assert_int_equal(sns_check(m, pem, now, &e), BG_EAUTH);
	json_object_set_new(m, "Signature", json_string("====="));
	assert_int_equal(sns_check(m, pem, now, &e), BG_EAUTH);
	json_object_set_new(m, "Signature", json_string(""));
	assert_int_equal(sns_check(m, pem, now, &e), BG_EAUTH);
	json_decref(m);

	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(small);
	free(pem);
	free(pem2);
	free(old);
	free(later);
	free(weak);
}

/* A genuine delivery is refused once its id may have been forgotten (a replay could not be
 * told apart), and when it is dated ahead of our clock: alert_fresh(), and sns_fresh() with
 * the SNS Timestamp. */
static void test_fresh(void **state)
{
	const char *alarm = js(alarm_json);
	const int64_t window = BG_HOOK_DELIVERY_MEMORY - BG_HOOK_MAX_SKEW_SECONDS;
	sns_msg *msg = NULL;
	json_t *m;
	int64_t t;
	bg_err e;

	(void)state;
	assert_int_equal(alert_fresh(1000000, 1000000, "t", &e), 0);
	assert_int_equal(alert_fresh(1000000 - window, 1000000, "t", &e), 0);
	assert_int_equal(alert_fresh(1000000 - window - 1, 1000000, "occurred_at", &e),
	                 BG_EEXPIRED);
	assert_non_null(strstr(e.msg, "occurred_at is too old"));
	assert_int_equal(alert_fresh(1000000 + BG_HOOK_MAX_SKEW_SECONDS, 1000000, "t", &e), 0);
	assert_int_equal(alert_fresh(1000000 + BG_HOOK_MAX_SKEW_SECONDS + 1, 1000000, "t", &e),
	                 BG_EEXPIRED);
	assert_true(window > 24 * 3600); /* SNS and PagerDuty retry for hours */

	m = sns_notification(alarm);
	json_object_set_new(m, "SignatureVersion", json_string("2"));
	json_object_set_new(m, "Signature", json_string("AAAA"));
	assert_int_equal(sns_of(m, &msg, &e), 0);
	t = sns_msg_time(msg);
	assert_int_equal(sns_fresh(msg, t, &e), 0);
	assert_int_equal(sns_fresh(msg, t + 3600, &e), 0);
	assert_int_equal(sns_fresh(msg, t + window, &e), 0);
	assert_int_equal(sns_fresh(msg, t + window + 1, &e), BG_EEXPIRED);
	assert_non_null(strstr(e.msg, "Timestamp is too old"));
	assert_int_equal(sns_fresh(msg, t + 8 * 86400, &e), BG_EEXPIRED);
	assert_int_equal(sns_fresh(msg, t - BG_HOOK_MAX_SKEW_SECONDS, &e), 0);
	assert_int_equal(sns_fresh(msg, t - BG_HOOK_MAX_SKEW_SECONDS - 1, &e), BG_EEXPIRED);
	assert_non_null(strstr(e.msg, "ahead"));
	sns_msg_free(msg);
	json_decref(m);
}

static void test_sns_parse(void **state)
{
	const char *topics[] = {"arn:aws:sns:eu-west-1:123456789012:other", TOPIC};
	const char *alarm = js(alarm_json);
	sns_msg *msg = NULL;
	json_t *m;
	bg_err e;

	(void)state;
	m = sns_confirmation("SubscriptionConfirmation");
	json_object_set_new(m, "SignatureVersion", json_string("1"));
	json_object_set_new(m, "Signature", json_string("AAAA"));
	assert_int_equal(sns_of(m, &msg, &e), 0);
	assert_int_equal(sns_msg_type(msg), SNS_SUBSCRIPTION_CONFIRMATION);
	assert_string_equal(sns_msg_id(msg), "165545c9-2a5c-472c-8df2-7ff2be2b3b1b");
	assert_string_equal(sns_msg_topic(msg), TOPIC);
	assert_non_null(strstr(sns_msg_subscribe_url(msg), "Action=ConfirmSubscription"));
	assert_true(sns_cert_url_ok(sns_msg_subscribe_url(msg), strlen(sns_msg_subscribe_url(msg)),
	                            NULL, 0));
	assert_true(sns_cert_url_ok(sns_msg_cert_url(msg), strlen(sns_msg_cert_url(msg)), NULL, 0));
	assert_int_equal(sns_msg_time(msg), 1795489200);
	assert_true(sns_topic_ok(msg, topics, 2));
	assert_false(sns_topic_ok(msg, topics, 1));
	assert_false(sns_topic_ok(msg, topics, 0));
	assert_int_equal(sns_alarm(msg, batch(), &e), BG_EINVAL); /* not a notification */
	sns_msg_free(msg);

	/* required fields */
	json_object_del(m, "Token");
	assert_int_equal(sns_of(m, &msg, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "\"Token\" is missing"));
	json_object_set_new(m, "Token", json_integer(5));
	assert_int_equal(sns_of(m, &msg, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "not a string"));
	json_object_set_new(m, "Token", json_string("t"));
	json_object_set_new(m, "SignatureVersion", json_string("3"));
	assert_int_equal(sns_of(m, &msg, &e), BG_EINVAL);
	json_object_set_new(m, "SignatureVersion", json_string("2"));
	json_object_set_new(m, "Type", json_string("Notice"));
	assert_int_equal(sns_of(m, &msg, &e), BG_EINVAL);
	json_object_del(m, "Type");
	assert_int_equal(sns_of(m, &msg, &e), BG_EINVAL);
	json_object_set_new(m, "Type", json_string("SubscriptionConfirmation"));
	json_object_set_new(m, "Timestamp", json_string("now"));
	assert_int_equal(sns_of(m, &msg, &e), BG_EINVAL);
	json_object_del(m, "SigningCertURL");
	json_object_set_new(m, "Timestamp", json_string("2026-11-24T03:00:00.000Z"));
	assert_int_equal(sns_of(m, &msg, &e), BG_EINVAL);
	assert_null(msg);
	json_decref(m);

	/* a notification carrying a CloudWatch alarm */
	m = sns_notification(alarm);
	json_object_set_new(m, "SignatureVersion", json_string("2"));
	json_object_set_new(m, "Signature", json_string("AAAA"));
	assert_int_equal(sns_of(m, &msg, &e), 0);
	{
		alert_batch *b = batch();
		assert_int_equal(sns_alarm(msg, b, &e), 0);
		/* service: the TableName dimension */
		expect_batch(b, ALERT_SNS, "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		             "orders-throttled", "orders-throttled", "orders", 1, true, 1);
		assert_string_equal(b->items[0].key, "orders-throttled");
		assert_int_equal(b->items[0].starts_at, 1795490820);
		assert_int_equal(b->items[0].ends_at, 0);
		assert_non_null(strstr(b->items[0].summary, "Threshold Crossed"));
	}
	sns_msg_free(msg);
	json_decref(m);

	/* OK, with service= in the description */
	m = sns_notification(js("{'AlarmName':'orders-throttled','NewStateValue':'OK',"
	                        "'AlarmDescription':'service=orders-api;severity=warning',"
	                        "'StateChangeTime':'2026-11-24T03:57:00.000+0000'}"));
	json_object_set_new(m, "SignatureVersion", json_string("2"));
	json_object_set_new(m, "Signature", json_string("AAAA"));
	assert_int_equal(sns_of(m, &msg, &e), 0);
	{
		alert_batch *b = batch();
		assert_int_equal(sns_alarm(msg, b, &e), 0);
		assert_true(alert_batch_valid(b));
		assert_false(b->firing);
		assert_int_equal(b->severity, 3);
		assert_string_equal(b->service, "orders-api");
		assert_int_equal(b->items[0].ends_at, 1795490820 + 1800);
		assert_int_equal(b->items[0].starts_at, 0);
	}
	sns_msg_free(msg);
	json_decref(m);

	/* notifications that are not alarms */
	{
		static const char *const not_alarms[] = {
		    "Hello from the console",
		    "{'AlarmName':'x'}",
		    "{'NewStateValue':'ALARM'}",
		    "{'AlarmName':'x','NewStateValue':'MAYBE'}",
		    "{'AlarmName':'x','NewStateValue':'ALARM','Trigger':{'Dimensions':{}}}",
		    "{'AlarmName':'','NewStateValue':'ALARM'}",
		    "[1]"};
		size_t i;
		for (i = 0; i < sizeof(not_alarms) / sizeof(not_alarms[0]); i++) {
			m = sns_notification(js(not_alarms[i]));
			json_object_set_new(m, "SignatureVersion", json_string("1"));
			json_object_set_new(m, "Signature", json_string("AAAA"));
			assert_int_equal(sns_of(m, &msg, &e), 0);
			assert_int_equal(sns_alarm(msg, batch(), &e), BG_EINVAL);
			sns_msg_free(msg);
			json_decref(m);
		}
		m = sns_notification("Hello");
		json_object_set_new(m, "SignatureVersion", json_string("1"));
		json_object_set_new(m, "Signature", json_string("AAAA"));
		assert_int_equal(sns_of(m, &msg, &e), 0);
		assert_int_equal(sns_alarm(msg, batch(), &e), BG_EINVAL);
		assert_non_null(strstr(e.msg, "not a CloudWatch alarm"));
		sns_msg_free(msg);
		json_decref(m);
	}
}

/* Reads a whole file (from the repository root) into a new NUL-terminated string. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 16);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Messages built by a Python script from the AWS docs' description and signed with
 * `openssl dgst -sha1|-sha256 -sign` (the fuzz seeds) verify with the certificate of that
 * key: a check of the string to sign by an independent implementation. */
static void test_sns_independent(void **state)
{
	static const char *const files[] = {"fuzz/seeds/fuzz_sns/notification-v2.json",
	                                    "fuzz/seeds/fuzz_sns/confirmation-v1.json"};
	char *pem = slurp("tests/unit/fixtures/alerts/sns-cert.pem"), *body;
	sns_msg *m;
	bg_err e;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		body = slurp(files[i]);
		assert_int_equal(sns_parse(body, strlen(body), &m, &e), 0);
		/* the certificate is valid from 2026-12-01 for a hundred years */
		assert_int_equal(sns_verify(m, pem, strlen(pem), 1800000000, &e), 0);
		assert_int_equal(sns_verify(m, pem, strlen(pem), 1700000000, &e), BG_EEXPIRED);
		sns_msg_free(m);
		free(body);
	}
	free(pem);
}

static void test_sns_urls(void **state)
{
	const char *local[] = {"127.0.0.1:8443", "Certs.Example.com"};

#define URL_OK(u, h, n)  assert_true(sns_cert_url_ok(u, strlen(u), h, n))
#define URL_BAD(u, h, n) assert_false(sns_cert_url_ok(u, strlen(u), h, n))
	(void)state;
	URL_OK("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem", NULL, 0);
	URL_OK("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem", NULL,
	       0);
	URL_OK("https://sns.us-gov-west-1.amazonaws.com:443/x.pem", NULL, 0);
	URL_OK("https://SNS.EU-WEST-1.AMAZONAWS.COM/x.pem", NULL, 0);
	URL_OK("https://sns.eu-west-1.amazonaws.com?Action=ConfirmSubscription", NULL, 0);
	URL_BAD("http://sns.us-east-1.amazonaws.com/x.pem", NULL, 0);
	URL_BAD("https://sns.us-east-1.amazonaws.com.evil.com/x.pem", NULL, 0);
	URL_BAD("https://evil.com/sns.us-east-1.amazonaws.com/x.pem", NULL, 0);
	URL_BAD("https://sns.us-east-1.amazonaws.com@evil.com/x.pem", NULL, 0);
	URL_BAD("https://evil.com@sns.us-east-1.amazonaws.com/x.pem", NULL, 0);
	URL_BAD("https://sns.us-east-1.amazonaws.com:8443/x.pem", NULL, 0);
	URL_BAD("https://sns.us%2deast-1.amazonaws.com/x.pem", NULL, 0);
	URL_BAD("https://sns.us-east-1.amazonaws.com./x.pem", NULL, 0);
	URL_BAD("https://sns..amazonaws.com/x.pem", NULL, 0);
	URL_BAD("https://sns.us_east.amazonaws.com/x.pem", NULL, 0);
	URL_BAD("https://sqs.us-east-1.amazonaws.com/x.pem", NULL, 0);
	URL_BAD("https://s3.amazonaws.com/x.pem", NULL, 0);
	URL_BAD("https://amazonaws.com/x.pem", NULL, 0);
	URL_BAD("https://sns.us-east-1.amazonaws.com/x .pem", NULL, 0);
	URL_BAD("https://sns.us-east-1.amazonaws.com/x.pem#frag", NULL, 0);
	URL_BAD("https://sns.us-east-1.amazonaws.com\\@evil.com/x.pem", NULL, 0);
	URL_BAD("https:///x.pem", NULL, 0);
	URL_BAD("https://", NULL, 0);
	URL_BAD("", NULL, 0);
	URL_BAD("https://sns.us-east-1.amazonaws.com/\xc3\xa9.pem", NULL, 0);
	assert_false(sns_cert_url_ok("https://sns.us-east-1.amazonaws.com/x.pem\0x", 42, NULL, 0));
	assert_false(sns_cert_url_ok(NULL, 0, NULL, 0));
	/* a configured list replaces AWS's */
	URL_OK("https://127.0.0.1:8443/cert.pem", local, 2);
	URL_OK("https://certs.example.com/cert.pem", local, 2);
	URL_BAD("https://127.0.0.1/cert.pem", local, 2);
	URL_BAD("https://127.0.0.1:8444/cert.pem", local, 2);
	URL_BAD("https://sns.us-east-1.amazonaws.com/x.pem", local, 2);
	URL_BAD("https://user@127.0.0.1:8443/cert.pem", local, 2);
	URL_BAD("http://127.0.0.1:8443/cert.pem", local, 2);
#undef URL_OK
#undef URL_BAD
}

static void test_sns_aws_cert_path(void **state)
{
	static const char *const topic = "arn:aws:sns:eu-west-1:123456789012:ddb-alarms";

	(void)state;
	assert_true(
	    sns_cert_url_aws("https://sns.eu-west-1.amazonaws.com/"
	                     "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
	                     topic));
	/* Another region than the topic's, another path, a query, short or upper-case hex. */
	assert_false(
	    sns_cert_url_aws("https://sns.us-east-1.amazonaws.com/"
	                     "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
	                     topic));
	assert_false(sns_cert_url_aws("https://sns.eu-west-1.amazonaws.com/anything.pem", topic));
	assert_false(
	    sns_cert_url_aws("https://sns.eu-west-1.amazonaws.com/"
	                     "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"
	                     "?x=1",
	                     topic));
	assert_false(sns_cert_url_aws(
	    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123.pem", topic));
	assert_false(
	    sns_cert_url_aws("https://sns.eu-west-1.amazonaws.com/"
	                     "SimpleNotificationService-0123456789ABCDEF0123456789abcdef.pem",
	                     topic));
	assert_false(
	    sns_cert_url_aws("https://sns.eu-west-1.amazonaws.com/"
	                     "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
	                     "not-an-arn"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sns_aws_cert_path),
	    cmocka_unit_test_teardown(test_time, js_free),
	    cmocka_unit_test_teardown(test_severity_and_names, js_free),
	    cmocka_unit_test_teardown(test_text, js_free),
	    cmocka_unit_test_teardown(test_bearer, js_free),
	    cmocka_unit_test_teardown(test_alertmanager_pair, js_free),
	    cmocka_unit_test_teardown(test_alertmanager_keys, js_free),
	    cmocka_unit_test_teardown(test_alertmanager_truncation, js_free),
	    cmocka_unit_test_teardown(test_alertmanager_errors, js_free),
	    cmocka_unit_test_teardown(test_pagerduty_verify, js_free),
	    cmocka_unit_test_teardown(test_pagerduty_parse, js_free),
	    cmocka_unit_test_teardown(test_generic_verify, js_free),
	    cmocka_unit_test_teardown(test_generic_parse, js_free),
	    cmocka_unit_test_teardown(test_sns_signatures, js_free),
	    cmocka_unit_test_teardown(test_fresh, js_free),
	    cmocka_unit_test_teardown(test_sns_parse, js_free),
	    cmocka_unit_test_teardown(test_sns_independent, js_free),
	    cmocka_unit_test_teardown(test_sns_urls, js_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
