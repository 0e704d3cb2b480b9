/*
 * test_url.c - the API's request-target decoding: paths, query arguments, escapes, and
 * what is refused (NUL, broken escapes, over the limits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net/url.h"

static int parse(const char *s, net_url *u)
{
	bg_err e;

	return net_url_parse(s, strlen(s), u, &e);
}

static void test_decode(void **state)
{
	net_url u;

	assert_int_equal(parse("/api/v1/grants/bg-abc/revoke", &u), 0);
	assert_string_equal(u.path, "/api/v1/grants/bg-abc/revoke");
	assert_int_equal(u.nargs, 0);
	assert_null(net_url_arg(&u, "after"));

	assert_int_equal(parse("/api/v1/audit?after=12&limit=50&x&y=a%2Bb+c&z=", &u), 0);
	assert_string_equal(u.path, "/api/v1/audit");
	assert_int_equal(u.nargs, 5);
	assert_string_equal(net_url_arg(&u, "after"), "12");
	assert_string_equal(net_url_arg(&u, "limit"), "50");
	assert_string_equal(net_url_arg(&u, "x"), "");
	assert_string_equal(net_url_arg(&u, "y"), "a+b c");
	assert_string_equal(net_url_arg(&u, "z"), "");

	/* '+' is a space in a query only; escapes decode in both, either case. */
	assert_int_equal(parse("/a+b%2fc%2F?%41=%6a", &u), 0);
	assert_string_equal(u.path, "/a+b/c/");
	assert_string_equal(net_url_arg(&u, "A"), "j");
	assert_int_equal(parse("/?", &u), 0);
	assert_int_equal(u.nargs, 0);
}

static void test_refused(void **state)
{
	net_url u;
	char big[BG_MAX_API_PATH + 8];
	char q[512];
	size_t i;

	assert_int_not_equal(parse("/a%00b", &u), 0);
	assert_int_not_equal(parse("/a%4", &u), 0);
	assert_int_not_equal(parse("/a%", &u), 0);
	assert_int_not_equal(parse("/a%zz", &u), 0);
	assert_int_not_equal(parse("/a?x=%0", &u), 0);
	assert_int_not_equal(parse("/a?x%00=1", &u), 0);
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	assert_int_not_equal(parse(big, &u), 0);
	big[BG_MAX_API_PATH - 1] = '\0'; /* exactly fits with its NUL */
	assert_int_equal(parse(big, &u), 0);
	q[0] = '/';
	q[1] = '?';
	for (i = 0; i < BG_MAX_API_ARGS + 1; i++)
		memcpy(q + 2 + 2 * i, "a&", 2);
	q[2 + 2 * (BG_MAX_API_ARGS + 1)] = '\0';
	assert_int_not_equal(parse(q, &u), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
