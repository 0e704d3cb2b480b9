/*
 * test_duration.c - the duration grammar: grant lifetimes ("90s", "15m", "1h30m") and,
 * with milliseconds, the gateway's timeouts ("500ms", "10s"): what it accepts, what it
 * refuses, and the limits.
 *
 * A grant's lifetime typed wrong is either a useless grant or one that outlives the
 * incident, so every refusal here is deliberate and tested.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/duration.h"

static int64_t parse_ok(const char *s)
{
	int64_t v = -1;
	bg_err e;

	bg_err_clear(&e);
	assert_int_equal(bg_duration_parse(s, 12 * 3600, &v, &e), 0);
	return v;
}

static void test_accepts(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("90s"), 90);
	assert_int_equal(parse_ok("15m"), 900);
	assert_int_equal(parse_ok("1h"), 3600);
	assert_int_equal(parse_ok("1h30m"), 5400);
	assert_int_equal(parse_ok("1h30m15s"), 5415);
	assert_int_equal(parse_ok("2h5s"), 7205);
	assert_int_equal(parse_ok("90m"), 5400);
	assert_int_equal(parse_ok("1s"), 1);
	assert_int_equal(parse_ok("12h"), 43200);
	assert_int_equal(parse_ok("0h15m"), 900);
	assert_int_equal(parse_ok("007m"), 420);
}

static void test_refuses(void **state)
{
	static const char *const bad[] = {
	    "",     "15",  "m",     "h1",   "15 m",  " 15m", "15m ", "-5m",   "+5m",
	    "1.5h", "15M", "1m1h",  "1h1h", "15min", "1d",   "15mm", "1h30",  "0s",
	    "0h0m", "s15", "1h-1m", "1e3s", "\t1m",  "1m\n", "15m,", "0x10s", "1h 30m",
	};
	size_t i;
	int64_t v = 77;
	bg_err e;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bg_err_clear(&e);
		if (bg_duration_parse(bad[i], 12 * 3600, &v, &e) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(e.msg[0] != '\0');
		assert_int_equal(v, 77); /* untouched on failure */
	}
	assert_int_not_equal(bg_duration_parse(NULL, 100, &v, NULL), 0);
}

/* Milliseconds: only where allowed, last, and the rest of the grammar unchanged. */
static void test_millis(void **state)
{
	static const char *const bad[] = {"",    "500",  "ms",    "5msx", "1ms1s", "1ms1ms",
	                                  "0ms", "1.5s", "10 ms", "1mss", "-1ms"};
	int64_t v = 77;
	size_t i;
	bg_err e;

	assert_int_equal(bg_duration_parse_ms("500ms", 600000, &v, &e), 0);
	assert_int_equal(v, 500);
	assert_int_equal(bg_duration_parse_ms("10s", 600000, &v, &e), 0);
	assert_int_equal(v, 10000);
	assert_int_equal(bg_duration_parse_ms("1m2s3ms", 600000, &v, &e), 0);
	assert_int_equal(v, 62003);
	assert_int_equal(bg_duration_parse_ms("2m", 600000, &v, &e), 0);
	assert_int_equal(v, 120000);
	assert_int_equal(bg_duration_parse_ms("11m", 600000, &v, &e), BG_ELIMIT);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 77;
		if (bg_duration_parse_ms(bad[i], 600000, &v, &e) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(v, 77);
	}
	/* A grant's lifetime is whole seconds: no ms there. */
	assert_int_not_equal(bg_duration_parse("1500ms", 12 * 3600, &v, &e), 0);
	assert_int_not_equal(bg_duration_parse("1s500ms", 12 * 3600, &v, &e), 0);
}

static void test_limits(void **state)
{
	int64_t v = 0;
	bg_err e;

	(void)state;
	assert_int_equal(bg_duration_parse("12h1s", 12 * 3600, &v, &e), BG_ELIMIT);
	assert_int_equal(bg_duration_parse("721m", 12 * 3600, &v, &e), BG_ELIMIT);
	assert_int_equal(bg_duration_parse("99999999999999999999s", 12 * 3600, &v, &e), BG_ELIMIT);
	assert_int_equal(bg_duration_parse("9223372036854775807h", 12 * 3600, &v, &e), BG_ELIMIT);
	assert_int_equal(bg_duration_parse("1000000000h", INT64_MAX, &v, &e), BG_ELIMIT);
	assert_int_equal(bg_duration_parse("2s", 2, &v, &e), 0);
	assert_int_equal(v, 2);
	assert_int_equal(bg_duration_parse("3s", 2, &v, &e), BG_ELIMIT);
}

static void test_format(void **state)
{
	char out[32];

	(void)state;
	bg_duration_format(0, out, sizeof(out));
	assert_string_equal(out, "0s");
	bg_duration_format(-5, out, sizeof(out));
	assert_string_equal(out, "0s");
	bg_duration_format(45, out, sizeof(out));
	assert_string_equal(out, "45s");
	bg_duration_format(900, out, sizeof(out));
	assert_string_equal(out, "15m");
	bg_duration_format(5415, out, sizeof(out));
	assert_string_equal(out, "1h30m15s");
	bg_duration_format(7205, out, sizeof(out));
	assert_string_equal(out, "2h5s");
	bg_duration_format(5415, out, 4); /* truncated, still terminated */
	assert_int_equal(strlen(out), 3);
}

static void test_roundtrip(void **state)
{
	char out[32];
	int64_t s, v;
	bg_err e;

	(void)state;
	for (s = 1; s <= 12 * 3600; s += 37) {
		bg_duration_format(s, out, sizeof(out));
		assert_int_equal(bg_duration_parse(out, 12 * 3600, &v, &e), 0);
		assert_int_equal(v, s);
	}
}

/* Days, for schedules and deadlines: d first, then the usual units; never ms. */
static void test_days(void **state)
{
	static const char *const bad[] = {"",        "7",  "d",    "1h1d", "1d1d", "7D",
	                                  "1d500ms", "0d", "1.5d", "-1d",  NULL};
	int64_t v = -1;
	bg_err e;
	size_t i;

	(void)state;
	assert_int_equal(bg_duration_parse_days("7d", 30 * 86400, &v, &e), 0);
	assert_int_equal(v, 7 * 86400);
	assert_int_equal(bg_duration_parse_days("1d12h", 30 * 86400, &v, &e), 0);
	assert_int_equal(v, 36 * 3600);
	assert_int_equal(bg_duration_parse_days("24h", 30 * 86400, &v, &e), 0);
	assert_int_equal(v, 86400);
	assert_int_equal(bg_duration_parse_days("15m", 30 * 86400, &v, &e), 0);
	assert_int_equal(v, 900);
	for (i = 0; bad[i] != NULL; i++) {
		v = -1;
		assert_int_not_equal(bg_duration_parse_days(bad[i], 30 * 86400, &v, &e), 0);
		assert_int_equal(v, -1);
	}
	assert_int_equal(bg_duration_parse_days("31d", 30 * 86400, &v, &e), BG_ELIMIT);
	assert_int_equal(bg_duration_parse_days("1h1d", 30 * 86400, &v, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "d, h, m or s"));
	/* The grant grammar still refuses days. */
	assert_int_equal(bg_duration_parse("1d", 30 * 86400, &v, &e), BG_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts),   cmocka_unit_test(test_refuses),
	    cmocka_unit_test(test_limits),    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_millis),
	    cmocka_unit_test(test_days),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
