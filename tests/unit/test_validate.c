/*
 * test_validate.c - the one validator per rule (common/validate.h) at its edges: table
 * names 3..255 of [A-Za-z0-9._-], user names 1..64, ids up to their maximum, operation
 * names as CamelCase words, grant lifetimes 1 s..12 h; and the TOTP code shape
 * (workflow/totp.h) the CLI and the server both use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "common/limits.h"
#include "common/validate.h"
#include "workflow/totp.h"

/* n copies of c and a NUL into buf. */
static const char *rep(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void test_name_chars(void **state)
{
	const char ok[] = "azAZ09._-";
	int c;
	size_t n = 0;

	(void)state;
	for (c = 0; c < 256; c++)
		if (bg_name_char(c))
			n++;
	assert_int_equal(n, 26 + 26 + 10 + 3);
	for (c = 0; ok[c] != '\0'; c++)
		assert_true(bg_name_char((unsigned char)ok[c]));
	assert_false(bg_name_char('/'));
	assert_false(bg_name_char(':'));
	assert_false(bg_name_char(' '));
	assert_false(bg_name_char('@'));
	assert_false(bg_name_char('['));
	assert_false(bg_name_char('`'));
	assert_false(bg_name_char('{'));
	assert_false(bg_name_char(0));
	assert_false(bg_name_char(0xc3));
}

static void test_table_names(void **state)
{
	char buf[BG_MAX_TABLE_NAME + 2];

	(void)state;
	assert_true(bg_valid_table_name("Orders", 6));
	assert_true(bg_valid_table_name("a.b", 3));
	assert_true(bg_valid_table_name("my_table-2.0", 12));
	assert_false(bg_valid_table_name("ab", 2));
	assert_false(bg_valid_table_name("", 0));
	assert_false(bg_valid_table_name(NULL, 3));
	assert_false(bg_valid_table_name("Or ders", 7));
	assert_false(bg_valid_table_name("table/x", 7));
	assert_false(bg_valid_table_name("arn:aws", 7));
	/* Length is what the caller says: a NUL inside is a bad character, not an end. */
	assert_false(bg_valid_table_name("Ord\0rs", 6));
	/* Only the first n bytes count. */
	assert_true(bg_valid_table_name("Orders/x", 6));
	assert_true(bg_valid_table_name(rep(buf, 'T', BG_MAX_TABLE_NAME), BG_MAX_TABLE_NAME));
	assert_false(
	    bg_valid_table_name(rep(buf, 'T', BG_MAX_TABLE_NAME + 1), BG_MAX_TABLE_NAME + 1));
}

static void test_user_names_and_ids(void **state)
{
	char buf[BG_MAX_USER_NAME + 2];

	(void)state;
	assert_true(bg_valid_user_name("alice"));
	assert_true(bg_valid_user_name("e2e-admin.cli_2"));
	assert_true(bg_valid_user_name("a"));
	assert_false(bg_valid_user_name(""));
	assert_false(bg_valid_user_name(NULL));
	assert_false(bg_valid_user_name("bad name"));
	assert_false(bg_valid_user_name("bob@example.com"));
	assert_false(bg_valid_user_name("b\xc3\xa9"));
	assert_true(bg_valid_user_name(rep(buf, 'u', BG_MAX_USER_NAME)));
	assert_false(bg_valid_user_name(rep(buf, 'u', BG_MAX_USER_NAME + 1)));

	assert_true(bg_valid_id("bg-abcdefghij", 31));
	assert_true(bg_valid_id("BGIAABCDEFGHIJKLMNOP", 31));
	assert_true(bg_valid_id("abc", 3));
	assert_false(bg_valid_id("abcd", 3));
	assert_false(bg_valid_id("", 3));
	assert_false(bg_valid_id(NULL, 3));
	assert_false(bg_valid_id("a/b", 3));
}

static void test_op_names(void **state)
{
	char buf[BG_MAX_OP_NAME + 2];

	(void)state;
	assert_true(bg_valid_op_name("Query", 5));
	assert_true(bg_valid_op_name("GetItem", 7));
	assert_true(bg_valid_op_name("DescribeKinesisStreamingDestination", 35));
	assert_false(bg_valid_op_name("query", 5));
	assert_false(bg_valid_op_name("Get_Item", 8));
	assert_false(bg_valid_op_name("Get1", 4));
	assert_false(bg_valid_op_name("", 0));
	assert_false(bg_valid_op_name(NULL, 1));
	assert_true(bg_valid_op_name(rep(buf, 'Q', BG_MAX_OP_NAME), BG_MAX_OP_NAME));
	assert_false(bg_valid_op_name(rep(buf, 'Q', BG_MAX_OP_NAME + 1), BG_MAX_OP_NAME + 1));
}

static void test_grant_seconds(void **state)
{
	(void)state;
	assert_true(bg_valid_grant_seconds(1));
	assert_true(bg_valid_grant_seconds(900));
	assert_true(bg_valid_grant_seconds(BG_MAX_GRANT_SECONDS));
	assert_int_equal(BG_MAX_GRANT_SECONDS, 12 * 3600);
	assert_false(bg_valid_grant_seconds(0));
	assert_false(bg_valid_grant_seconds(-1));
	assert_false(bg_valid_grant_seconds(BG_MAX_GRANT_SECONDS + 1));
	assert_false(bg_valid_grant_seconds(INT64_MIN));
	assert_false(bg_valid_grant_seconds(INT64_MAX));
}

static void test_totp_code_shape(void **state)
{
	(void)state;
	assert_true(totp_code_valid("000000"));
	assert_true(totp_code_valid("123456"));
	assert_false(totp_code_valid("12345"));
	assert_false(totp_code_valid("1234567"));
	assert_false(totp_code_valid("12345678"));
	assert_false(totp_code_valid("12a456"));
	assert_false(totp_code_valid(" 12345"));
	assert_false(totp_code_valid(""));
	assert_false(totp_code_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_chars),         cmocka_unit_test(test_table_names),
	    cmocka_unit_test(test_user_names_and_ids), cmocka_unit_test(test_op_names),
	    cmocka_unit_test(test_grant_seconds),      cmocka_unit_test(test_totp_code_shape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
