/*
 * test_ddb_error.c - DynamoDB-shaped error bodies: every kind parses back as JSON with
 * the right __type, statuses are never ones SDKs retry, and hostile messages stay valid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "protocol/ddb_error.h"

/* Parses b as an error body and checks its two members. */
static void check_body(const bg_buf *b, const char *type, const char *message)
{
	json_error_t jerr;
	json_t *j = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &jerr);

	assert_non_null(j);
	assert_true(json_is_object(j));
	assert_int_equal(json_object_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(j, "__type")), type);
	if (message != NULL)
		assert_string_equal(json_string_value(json_object_get(j, "message")), message);
	else
		assert_true(json_string_length(json_object_get(j, "message")) > 0);
	json_decref(j);
}

static void test_every_kind_round_trips(void **state)
{
	int k;

	(void)state;
	for (k = 0; k < DDB_ERR_COUNT; k++) {
		bg_buf b;
		const char *type = ddb_error_type((ddb_error_kind)k);
		const char *code = ddb_error_code((ddb_error_kind)k);
		bg_buf_init(&b, 4096);
		assert_int_equal(ddb_error_body((ddb_error_kind)k, "some reason", &b), 0);
		check_body(&b, type, "some reason");
		/* botocore: the code is the text after the last '#'. */
		assert_string_equal(strrchr(type, '#') + 1, code);
		/* __type comes first, as DynamoDB sends it. */
		assert_memory_equal(b.data, "{\"__type\":", 10);
		bg_buf_free(&b);
	}
}

static void test_statuses_never_retryable(void **state)
{
	static const char *const retried_codes[] = {"ThrottlingException",
	                                            "Throttling",
	                                            "ProvisionedThroughputExceededException",
	                                            "RequestLimitExceeded",
	                                            "TransactionInProgressException",
	                                            "InternalServerError",
	                                            "InternalFailure",
	                                            "ServiceUnavailable",
	                                            "RequestTimeout",
	                                            "RequestTimeoutException",
	                                            "TooManyRequestsException",
	                                            "PriorRequestNotComplete",
	                                            NULL};
	int k, i;

	(void)state;
	for (k = 0; k < DDB_ERR_COUNT; k++) {
		int st = ddb_error_status((ddb_error_kind)k);
		assert_true(st >= 400 && st < 500);
		assert_int_not_equal(st, 429);
		for (i = 0; retried_codes[i] != NULL; i++)
			assert_string_not_equal(ddb_error_code((ddb_error_kind)k),
			                        retried_codes[i]);
		assert_null(strstr(ddb_error_code((ddb_error_kind)k), "Throttl"));
	}
	assert_int_equal(ddb_error_status(DDB_ERR_TOO_LARGE), 413);
	assert_int_equal(ddb_error_status(DDB_ERR_ACCESS_DENIED), 400);
	assert_int_equal(ddb_error_status(DDB_ERR_INTERNAL), 400);
}

static void test_exact_types(void **state)
{
	(void)state;
	assert_string_equal(ddb_error_type(DDB_ERR_MISSING_AUTH),
	                    "com.amazon.coral.service#MissingAuthenticationTokenException");
	assert_string_equal(ddb_error_type(DDB_ERR_INCOMPLETE_SIGNATURE),
	                    "com.amazon.coral.service#IncompleteSignatureException");
	assert_string_equal(ddb_error_type(DDB_ERR_INVALID_SIGNATURE),
	                    "com.amazon.coral.service#InvalidSignatureException");
	assert_string_equal(ddb_error_type(DDB_ERR_UNRECOGNIZED_CLIENT),
	                    "com.amazon.coral.service#UnrecognizedClientException");
	assert_string_equal(ddb_error_type(DDB_ERR_EXPIRED_TOKEN),
	                    "com.amazon.coral.service#ExpiredTokenException");
	assert_string_equal(ddb_error_type(DDB_ERR_ACCESS_DENIED),
	                    "com.amazonaws.dynamodb.v20120810#AccessDeniedException");
	assert_string_equal(ddb_error_type(DDB_ERR_SERIALIZATION),
	                    "com.amazon.coral.service#SerializationException");
	assert_string_equal(ddb_error_type(DDB_ERR_VALIDATION),
	                    "com.amazon.coral.validate#ValidationException");
	assert_string_equal(ddb_error_type(DDB_ERR_UNKNOWN_OPERATION),
	                    "com.amazon.coral.service#UnknownOperationException");
	assert_string_equal(ddb_error_type(DDB_ERR_TOO_LARGE),
	                    "com.amazon.coral.service#RequestEntityTooLargeException");
	assert_string_equal(ddb_error_type(DDB_ERR_INTERNAL),
	                    "com.amazonaws.dynamodb.v20120810#RequestRefusedException");
}

static void test_escaping(void **state)
{
	const char *msg = "quote \" backslash \\ newline \n tab \t ctl \x01 slash / \xc3\xa9";
	bg_buf b;

	(void)state;
	bg_buf_init(&b, 4096);
	assert_int_equal(ddb_error_body(DDB_ERR_ACCESS_DENIED, msg, &b), 0);
	assert_null(memchr(b.data, '\n', b.len));
	assert_null(memchr(b.data, '\x01', b.len));
	check_body(&b, ddb_error_type(DDB_ERR_ACCESS_DENIED), msg);
	bg_buf_free(&b);
}

static void test_invalid_utf8_repaired(void **state)
{
	bg_buf b;

	(void)state;
	bg_buf_init(&b, 4096);
	assert_int_equal(ddb_error_body(DDB_ERR_VALIDATION,
	                                "bad \xff byte \xc0\x80 overlong \xed\xa0\x80 s", &b),
	                 0);
	check_body(&b, ddb_error_type(DDB_ERR_VALIDATION), "bad ? byte ?? overlong ??? s");
	bg_buf_free(&b);
	bg_buf_init(&b, 4096);
	/* A sequence cut short at the end. */
	assert_int_equal(ddb_error_body(DDB_ERR_VALIDATION, "cut \xe2\x82", &b), 0);
	check_body(&b, ddb_error_type(DDB_ERR_VALIDATION), "cut ??");
	bg_buf_free(&b);
}

static void test_null_and_empty_message(void **state)
{
	bg_buf b;

	(void)state;
	bg_buf_init(&b, 4096);
	assert_int_equal(ddb_error_body(DDB_ERR_MISSING_AUTH, NULL, &b), 0);
	check_body(&b, ddb_error_type(DDB_ERR_MISSING_AUTH), NULL);
	bg_buf_reset(&b);
	assert_int_equal(ddb_error_body(DDB_ERR_MISSING_AUTH, "", &b), 0);
	check_body(&b, ddb_error_type(DDB_ERR_MISSING_AUTH), NULL);
	bg_buf_free(&b);
}

static void test_long_message_cut_on_boundary(void **state)
{
	char msg[2000];
	json_t *j;
	bg_buf b;

	(void)state;
	memset(msg, 'a', 1023);
	memcpy(msg + 1023, "\xc3\xa9tail", 7);
	bg_buf_init(&b, 8192);
	assert_int_equal(ddb_error_body(DDB_ERR_VALIDATION, msg, &b), 0);
	j = json_loadb(b.data, b.len, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_string_length(json_object_get(j, "message")), 1023);
	json_decref(j);
	bg_buf_free(&b);
}

static void test_out_of_range_kind(void **state)
{
	bg_buf b;

	(void)state;
	assert_string_equal(ddb_error_type((ddb_error_kind)999), ddb_error_type(DDB_ERR_INTERNAL));
	assert_int_equal(ddb_error_status((ddb_error_kind)-1), 400);
	bg_buf_init(&b, 4096);
	assert_int_equal(ddb_error_body((ddb_error_kind)999, "x", &b), 0);
	check_body(&b, ddb_error_type(DDB_ERR_INTERNAL), "x");
	bg_buf_free(&b);
}

static void test_buffer_limit(void **state)
{
	bg_buf b;

	(void)state;
	bg_buf_init(&b, 20);
	assert_int_equal(ddb_error_body(DDB_ERR_VALIDATION, "a long enough message", &b),
	                 BG_ELIMIT);
	bg_buf_free(&b);
}

static void test_appends(void **state)
{
	bg_buf b;

	(void)state;
	bg_buf_init(&b, 4096);
	assert_int_equal(bg_buf_adds(&b, "X"), 0);
	assert_int_equal(ddb_error_body(DDB_ERR_VALIDATION, "m", &b), 0);
	assert_int_equal(b.data[0], 'X');
	assert_int_equal(b.data[1], '{');
	bg_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_kind_round_trips),
	    cmocka_unit_test(test_statuses_never_retryable),
	    cmocka_unit_test(test_exact_types),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_invalid_utf8_repaired),
	    cmocka_unit_test(test_null_and_empty_message),
	    cmocka_unit_test(test_long_message_cut_on_boundary),
	    cmocka_unit_test(test_out_of_range_kind),
	    cmocka_unit_test(test_buffer_limit),
	    cmocka_unit_test(test_appends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
