/*
 * test_notifier.c - notifications on the wire (gateway/notifier.h): the signed JSON body
 * (its HMAC recomputed here with OpenSSL's one-shot HMAC(), and checked with the generic
 * webhook's own verifier, so one receiver library verifies both), the Slack body (mrkdwn
 * sections, escaping, Slack's section limit), payloads that are not objects, and the
 * backoff between attempts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/generic.h"
#include "gateway/notifier.h"

static const char payload[] =
    "{\"event\":\"request\",\"summary\":\"rita asks for break-glass access for 30m00s\","
    "\"request\":{\"id\":\"bg-abcdefghij\",\"requester\":\"rita\","
    "\"reason\":\"orders <stuck> & lost\",\"ticket\":\"INC-7\",\"duration_seconds\":1800,"
    "\"criteria\":[{\"check\":\"ticket\",\"ok\":true,\"message\":\"ticket matches\"},"
    "{\"check\":\"reason\",\"ok\":false,\"message\":\"too short\"}],"
    "\"runbooks\":[{\"id\":\"orders-of-customer\",\"hash\":\"aa\",\"title\":\"Orders\","
    "\"operation\":\"Query\",\"table\":\"orders\",\"key_condition\":\"#n0 = :customer\","
    "\"expression_attribute_names\":{\"#n0\":\"pk\"},\"command\":\"aws dynamodb query\"}]},"
    "\"incident\":{\"id\":\"INC-7\",\"title\":\"orders stuck\",\"severity\":2},"
    "\"approvers\":[\"abe\",\"bea\"],"
    "\"approve_command\":\"breakglass approve bg-abcdefghij --otp CODE\","
    "\"deny_command\":\"breakglass deny bg-abcdefghij --otp CODE --reason TEXT\"}";

static const gw_notify_target siem = {"siem", "http://127.0.0.1:1/json", POLICY_NOTIFY_JSON,
                                      "s3cret-key", POLICY_EV_ALL};
static const gw_notify_target chat = {"chat", "http://127.0.0.1:1/slack", POLICY_NOTIFY_SLACK, NULL,
                                      POLICY_EV_ALL};

static void test_json_signed(void **state)
{
	gw_notify_msg m;
	json_t *o;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	char want[80], *signed_text;
	const char *secrets[] = {"s3cret-key"}, *wrong[] = {"other"};
	int64_t sent = 0;
	bg_err e;

	(void)state;
	assert_int_equal(
	    gw_notify_render(&siem, 42, "request", payload, 1700000000, 1700000100, &m, &e), 0);
	/* The body: event, id and at first, then the payload. */
	o = json_loads(m.body, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "event")), "request");
	assert_int_equal(json_integer_value(json_object_get(o, "id")), 42);
	assert_string_equal(json_string_value(json_object_get(o, "at")), "2023-11-14T22:13:20Z");
	assert_string_equal(json_string_value(json_object_get(o, "approve_command")),
	                    "breakglass approve bg-abcdefghij --otp CODE");
	json_decref(o);
	assert_int_equal(strncmp(m.body, "{\"event\":\"request\",\"id\":42,\"at\":", 32), 0);
	assert_int_equal(m.len, strlen(m.body));
	/* The signature, recomputed independently: HMAC-SHA256(secret, ts "." body). */
	assert_string_equal(m.timestamp, "1700000100");
	signed_text = malloc(strlen(m.timestamp) + 1 + m.len + 1);
	assert_non_null(signed_text);
	snprintf(signed_text, strlen(m.timestamp) + 1 + m.len + 1, "%s.%s", m.timestamp, m.body);
	assert_non_null(HMAC(EVP_sha256(), "s3cret-key", 10, (unsigned char *)signed_text,
	                     strlen(signed_text), mac, &n));
	free(signed_text);
	assert_int_equal(n, 32);
	memcpy(want, "v1=", 3);
	for (i = 0; i < n; i++)
		snprintf(want + 3 + 2 * i, 3, "%02x", mac[i]);
	assert_string_equal(m.signature, want);
	/* ...and our generic webhook's verifier accepts it, with the right secret only. */
	assert_int_equal(generic_verify(m.timestamp, strlen(m.timestamp), m.signature,
	                                strlen(m.signature), m.body, m.len, secrets, 1, 1700000130,
	                                &sent, &e),
	                 0);
	assert_int_equal(sent, 1700000100);
	assert_int_equal(generic_verify(m.timestamp, strlen(m.timestamp), m.signature,
	                                strlen(m.signature), m.body, m.len, wrong, 1, 1700000130,
	                                &sent, &e),
	                 BG_EAUTH);
	/* A retry is signed afresh, at its own time. */
	gw_notify_msg_free(&m);
	assert_int_equal(
	    gw_notify_render(&siem, 42, "request", payload, 1700000000, 1700000700, &m, &e), 0);
	assert_string_equal(m.timestamp, "1700000700");
	assert_string_not_equal(m.signature, want);
	gw_notify_msg_free(&m);
}

static void test_slack(void **state)
{
	gw_notify_msg m;
	json_t *o, *blocks, *b;
	size_t i;
	char all[8192] = "";
	bg_err e;

	(void)state;
	assert_int_equal(
	    gw_notify_render(&chat, 7, "request", payload, 1700000000, 1700000100, &m, &e), 0);
	assert_string_equal(m.timestamp, "");
	assert_string_equal(m.signature, "");
	o = json_loads(m.body, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "text")),
	                    "rita asks for break-glass access for 30m00s");
	blocks = json_object_get(o, "blocks");
	assert_true(json_array_size(blocks) >= 5);
	json_array_foreach(blocks, i, b)
	{
		assert_string_equal(json_string_value(json_object_get(b, "type")), "section");
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(b, "text"), "type")),
		    "mrkdwn");
		strncat(all, json_string_value(json_object_get(json_object_get(b, "text"), "text")),
		        sizeof(all) - strlen(all) - 1);
	}
	assert_non_null(strstr(all, "`breakglass approve bg-abcdefghij --otp CODE`"));
	assert_non_null(strstr(all, "orders &lt;stuck&gt; &amp; lost")); /* mrkdwn escaped */
	assert_non_null(strstr(all, ":white_check_mark: ticket: ticket matches"));
	assert_non_null(strstr(all, ":x: reason: too short"));
	assert_non_null(strstr(all, "key_condition: #n0 = :customer"));
	assert_non_null(strstr(all, "*Approvers* abe, bea"));
	assert_null(strstr(m.body, "\"event\":\"request\",\"id\""));
	json_decref(o);
	gw_notify_msg_free(&m);
}

static void test_slack_long_and_bad(void **state)
{
	char *big = malloc(20000), *p;
	gw_notify_msg m;
	json_t *o;
	bg_err e;

	(void)state;
	assert_non_null(big);
	p = big + snprintf(big, 100, "{\"summary\":\"");
	memset(p, 'x', 10000);
	snprintf(p + 10000, 100, "\"}");
	assert_int_equal(gw_notify_render(&chat, 1, "grant", big, 1700000000, 1700000000, &m, &e),
	                 0);
	o = json_loads(m.body, 0, NULL);
	assert_non_null(o);
	assert_true(strlen(json_string_value(json_object_get(
	                json_object_get(json_array_get(json_object_get(o, "blocks"), 0), "text"),
	                "text"))) <= 3000);
	json_decref(o);
	gw_notify_msg_free(&m);
	free(big);
	assert_int_equal(gw_notify_render(&chat, 1, "grant", "[1]", 1700000000, 1700000000, &m, &e),
	                 BG_EINVAL);
	gw_notify_msg_free(&m);
	assert_int_equal(gw_notify_render(&siem, 1, "grant", "{\"a\":1,\"a\":2}", 1700000000,
	                                  1700000000, &m, &e),
	                 BG_EINVAL);
	gw_notify_msg_free(&m);
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(gw_notify_backoff(1), 1);
	assert_int_equal(gw_notify_backoff(2), 2);
	assert_int_equal(gw_notify_backoff(3), 4);
	assert_int_equal(gw_notify_backoff(10), 512);
	assert_int_equal(gw_notify_backoff(11), 600);
	assert_int_equal(gw_notify_backoff(1000000), 600);
	assert_int_equal(gw_notify_backoff(0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_signed),
	    cmocka_unit_test(test_slack),
	    cmocka_unit_test(test_slack_long_and_bad),
	    cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
