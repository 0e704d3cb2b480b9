/*
 * test_ratelimit.c - the token bucket: a full burst, then one token per 1/rate seconds,
 * never more than the burst after a long pause, the wait until the next token, and a
 * clock that goes back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "policy/ratelimit.h"

static void test_burst_then_rate(void **state)
{
	rl_rate r = {.per_second = 4, .burst = 3};
	rl_bucket b = {0};
	int64_t wait = -1;
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_true(rl_take(&b, &r, 1000, NULL));
	assert_false(rl_take(&b, &r, 1000, &wait));
	assert_int_equal(wait, 250);
	assert_false(rl_take(&b, &r, 1249, &wait));
	assert_int_equal(wait, 1);
	assert_true(rl_take(&b, &r, 1250, NULL));
	assert_false(rl_take(&b, &r, 1250, NULL));
	/* A long pause fills the bucket to the burst, no more. */
	for (i = 0; i < 3; i++)
		assert_true(rl_take(&b, &r, 100000, NULL));
	assert_false(rl_take(&b, &r, 100000, NULL));
	/* 40 requests spread over 10 s at 4/s: all pass. */
	for (i = 0; i < 40; i++)
		assert_true(rl_take(&b, &r, 100250 + (int64_t)i * 250, NULL));
}

static void test_clock_back(void **state)
{
	rl_rate r = {.per_second = 1, .burst = 1};
	rl_bucket b = {0};
	int64_t wait = 0;

	(void)state;
	assert_true(rl_take(&b, &r, 5000, NULL));
	assert_false(rl_take(&b, &r, 4000, &wait)); /* back in time: nothing gained */
	assert_int_equal(wait, 1000);
	assert_false(rl_take(&b, &r, 5999, NULL));
	assert_true(rl_take(&b, &r, 6000, NULL));
}

static void test_high_rate(void **state)
{
	rl_rate r = {.per_second = 1000000, .burst = 1000000};
	rl_bucket b = {0};
	int i, ok = 0;

	(void)state;
	for (i = 0; i < 2000000; i++)
		ok += rl_take(&b, &r, 1, NULL);
	assert_int_equal(ok, 1000000);
	assert_true(rl_take(&b, &r, 2, NULL)); /* a millisecond later: 1000 more */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_then_rate),
	    cmocka_unit_test(test_clock_back),
	    cmocka_unit_test(test_high_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
