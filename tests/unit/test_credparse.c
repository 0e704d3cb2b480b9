/*
 * test_credparse.c - the parsers of credentials answers: STS AssumeRole XML (entities,
 * errors, missing or repeated elements), container / instance-metadata JSON, the
 * credential_process document (Version 1), ISO 8601 times, and that no message carries a
 * secret.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "signing/credparse.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"

static const char sts_ok[] =
    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    " <AssumeRoleResult>\n"
    "  <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/demo/x</Arn>"
    "</AssumedRoleUser>\n"
    "  <Credentials>\n"
    "   <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "   <SecretAccessKey>" SECRET "</SecretAccessKey>\n"
    "   <SessionToken>AQoD/+=&amp;x</SessionToken>\n"
    "   <Expiration>2019-11-09T13:34:41Z</Expiration>\n"
    "  </Credentials>\n"
    " </AssumeRoleResult>\n"
    "</AssumeRoleResponse>\n";

static void test_time(void **state)
{
	int64_t t = 0;

	(void)state;
	assert_int_equal(credparse_time("1970-01-01T00:00:00Z", 20, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(credparse_time("2019-11-09T13:34:41Z", 20, &t), 0);
	assert_int_equal(t, 1573306481);
	assert_int_equal(credparse_time("2019-11-09T13:34:41.123+00:00", 29, &t), 0);
	assert_int_equal(t, 1573306481);
	assert_int_equal(credparse_time("2024-02-29T00:00:00Z", 20, &t), 0);
	assert_int_equal(t, 1709164800);
	assert_int_not_equal(credparse_time("2019-11-09T13:34:41", 19, &t), 0);
	assert_int_not_equal(credparse_time("2019-11-09T13:34:41+01:00", 25, &t), 0);
	assert_int_not_equal(credparse_time("2019-13-09T13:34:41Z", 20, &t), 0);
	assert_int_not_equal(credparse_time("2019-11-09 13:34:41Z", 20, &t), 0);
	assert_int_not_equal(credparse_time("2019-11-09T13:34:41.Z", 21, &t), 0);
}

static void test_sts(void **state)
{
	awscreds *c = NULL;
	int64_t exp = 0;
	bg_err e;
	char *bad;

	(void)state;
	assert_int_equal(credparse_sts_xml(sts_ok, strlen(sts_ok), "sts", &c, &exp, &e), 0);
	assert_string_equal(awscreds_access_key_id(c), "ASIAIOSFODNN7EXAMPLE");
	assert_string_equal(awscreds_secret_access_key(c), SECRET);
	assert_string_equal(awscreds_session_token(c), "AQoD/+=&x");
	assert_string_equal(awscreds_source(c), "sts");
	assert_int_equal(exp, 1573306481);
	awscreds_free(c);

	/* Not NUL-terminated: cut before the end, the closing tags are gone. */
	assert_int_equal(credparse_sts_xml(sts_ok, strlen(sts_ok) / 2, "sts", &c, &exp, &e),
	                 BG_EINVAL);
	assert_null(c);

	/* An STS error names its code and message. */
	{
		static const char err[] =
		    "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
		    "<Message>not authorized</Message></Error></ErrorResponse>";
		assert_int_equal(credparse_sts_xml(err, strlen(err), "sts", &c, &exp, &e),
		                 BG_EAUTH);
		assert_non_null(strstr(e.msg, "AccessDenied: not authorized"));
	}

	/* A repeated element, a nested one, an unknown entity, a missing one: malformed,
	 * and the message never shows the secret. */
	bad = strdup(sts_ok);
	memcpy(strstr(bad, "<SessionToken>"), "<AccessKeyId> ", 14);
	memcpy(strstr(bad, "</SessionToken>"), "</AccessKeyId> ", 15);
	assert_int_equal(credparse_sts_xml(bad, strlen(bad), "sts", &c, &exp, &e), BG_EINVAL);
	assert_null(strstr(e.msg, SECRET));
	free(bad);
	bad = strdup(sts_ok);
	memcpy(strstr(bad, "&amp;"), "&bad;", 5);
	assert_int_equal(credparse_sts_xml(bad, strlen(bad), "sts", &c, &exp, &e), BG_EINVAL);
	free(bad);
	bad = strdup(sts_ok);
	memcpy(strstr(bad, "2019-11-09T"), "2019-11-09x", 11);
	assert_int_equal(credparse_sts_xml(bad, strlen(bad), "sts", &c, &exp, &e), BG_EINVAL);
	free(bad);
	bad = strdup(sts_ok);
	memcpy(strstr(bad, "<Credentials>"), "<Credentialz>", 13);
	assert_int_equal(credparse_sts_xml(bad, strlen(bad), "sts", &c, &exp, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "no <Credentials>"));
	free(bad);
}

static void test_json(void **state)
{
	static const char imds[] =
	    "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIMDS\","
	    "\"SecretAccessKey\":\"" SECRET "\",\"Token\":\"tok\","
	    "\"Expiration\":\"2019-11-09T13:34:41Z\"}";
	static const char proc[] =
	    "{\"Version\":1,\"AccessKeyId\":\"AKIDPROC\",\"SecretAccessKey\":"
	    "\"" SECRET "\",\"SessionToken\":\"st\"}";
	static const char proc_v2[] =
	    "{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"B\"}";
	static const char dup[] =
	    "{\"AccessKeyId\":\"A\",\"AccessKeyId\":\"B\","
	    "\"SecretAccessKey\":\"S\",\"Expiration\":\"2019-11-09T13:34:41Z\"}";
	static const char failed[] =
	    "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"no\"}";
	static const char noexp[] = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\"}";
	awscreds *c = NULL;
	int64_t exp = 0;
	bg_err e;

	(void)state;
	assert_int_equal(
	    credparse_json(imds, strlen(imds), CREDPARSE_METADATA, "imds", &c, &exp, &e), 0);
	assert_string_equal(awscreds_access_key_id(c), "ASIAIMDS");
	assert_string_equal(awscreds_session_token(c), "tok");
	assert_int_equal(exp, 1573306481);
	awscreds_free(c);

	assert_int_equal(credparse_json(proc, strlen(proc), CREDPARSE_PROCESS, "p", &c, &exp, &e),
	                 0);
	assert_string_equal(awscreds_session_token(c), "st");
	assert_int_equal(exp, 0); /* no Expiration: long-term */
	awscreds_free(c);

	assert_int_equal(
	    credparse_json(proc_v2, strlen(proc_v2), CREDPARSE_PROCESS, "p", &c, &exp, &e),
	    BG_EINVAL);
	assert_int_equal(credparse_json(dup, strlen(dup), CREDPARSE_METADATA, "m", &c, &exp, &e),
	                 BG_EINVAL);
	assert_int_equal(
	    credparse_json(failed, strlen(failed), CREDPARSE_METADATA, "m", &c, &exp, &e),
	    BG_EAUTH);
	assert_non_null(strstr(e.msg, "AssumeRoleUnauthorizedAccess"));
	/* Metadata credentials are temporary: an answer without Expiration is refused. */
	assert_int_equal(
	    credparse_json(noexp, strlen(noexp), CREDPARSE_METADATA, "m", &c, &exp, &e), BG_EINVAL);
	assert_null(strstr(e.msg, SECRET));
	assert_int_equal(credparse_json("[1]", 3, CREDPARSE_METADATA, "m", &c, &exp, &e),
	                 BG_EINVAL);
	assert_null(c);
}

static void test_refs(void **state)
{
	awscreds *c = NULL, *r;
	bg_err e;

	(void)state;
	assert_int_equal(awscreds_make("AKID", 4, "s", 1, "", 0, "x", &c, &e), 0);
	r = awscreds_ref(c);
	assert_ptr_equal(r, c);
	awscreds_free(c); /* one reference left */
	assert_string_equal(awscreds_access_key_id(r), "AKID");
	awscreds_set_expiry(r, 42);
	assert_int_equal(awscreds_expiry(r), 42);
	awscreds_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_sts),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_refs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
