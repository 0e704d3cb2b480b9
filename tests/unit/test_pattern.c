/*
 * test_pattern.c - the regular expressions files under review may carry: the patterns a
 * responder's parameters are checked with compile and match as written, and the ones that
 * would make glibc's regcomp take gigabytes are refused with a reason (the fuzzer found
 * "O+++++..." in a runbook).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/limits.h"
#include "common/pattern.h"

static bool matches(const char *pattern, bool whole, const char *s)
{
	regex_t re;
	bg_err e;
	bool m;

	bg_err_clear(&e);
	if (bg_pattern_compile(&re, pattern, whole, &e) != 0)
		fail_msg("%s: %s", pattern, e.msg);
	m = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

static void refused(const char *pattern, const char *why)
{
	regex_t re;
	bg_err e;

	bg_err_clear(&e);
	assert_int_equal(bg_pattern_compile(&re, pattern, false, &e), BG_EINVAL);
	if (strstr(e.msg, why) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", pattern, e.msg, why);
}

static void test_accepted(void **state)
{
	(void)state;
	assert_true(matches("^CUSTOMER#[0-9]{1,12}$", false, "CUSTOMER#42"));
	assert_false(matches("^CUSTOMER#[0-9]{1,12}$", false, "CUSTOMER#1234567890123"));
	assert_true(matches("^INC-[0-9]+$", false, "INC-4711"));
	assert_true(matches("ORDER#|RETURN#", true, "RETURN#"));
	assert_false(matches("ORDER#|RETURN#", true, "XORDER#")); /* anchored as a whole */
	assert_true(matches("[[:digit:]]{4}-[]a-z]{2}", true, "2026-]x"));
	assert_true(matches("(ab)+c?", true, "ababc"));
	assert_true(matches("a\\+{2}", true, "a++")); /* an escaped '+' is an atom */
	assert_true(matches("[0-9]{255}", false, "1") == false);
}

static void test_refused(void **state)
{
	char big[BG_MAX_PATTERN + 2];

	(void)state;
	refused("^CUSTO++++++++++++++++MER#(0-9]{1,12}$", "repetition of a repetition");
	refused("a*?", "repetition of a repetition");
	refused("a+{2}", "repetition of a repetition");
	refused("(a{1,255}){1,255}", "bound {m,n} on a group");
	refused("a{1,256}", "above 255");
	refused("(((((a)))))", "nested deeper than 4");
	refused("a)", "closes no group");
	refused("[a-z", "not closed");
	refused("ab\\", "backslash");
	refused("(a", "not a valid POSIX ERE");
	refused("x{", "not a valid POSIX ERE"); /* not a bound, and not valid either */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	refused(big, "longer than");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepted),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
