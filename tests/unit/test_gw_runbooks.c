/*
 * test_gw_runbooks.c - the gateway's page counting for runbook grants: a next page must
 * continue from the LastEvaluatedKey an answered page returned, is numbered from that
 * page, and stops at max_pages, whatever else runs in between (overlapping first pages,
 * a key remembered from an earlier sequence).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gateway/runbooks.h"

static void test_pages(void **state)
{
	gw_runbooks *r = NULL;
	bg_err e;

	(void)state;
	assert_int_equal(gw_runbooks_new("", &r, &e), 0);
	/* A sequence of three pages, max 3. */
	assert_int_equal(gw_runbooks_page(r, "k", NULL, 3), 1);
	gw_runbooks_page_answered(r, "k", "L1", 1);
	assert_int_equal(gw_runbooks_page(r, "k", "L1", 3), 2);
	gw_runbooks_page_answered(r, "k", "L2", 2);
	assert_int_equal(gw_runbooks_page(r, "k", "L2", 3), 3);
	gw_runbooks_page_answered(r, "k", "L3", 3);
	assert_int_equal(gw_runbooks_page(r, "k", "L3", 3), 0); /* a fourth page: refused */
	/* A key continues once, and a key nobody returned continues nothing. */
	assert_int_equal(gw_runbooks_page(r, "k", "L2", 3), 0);
	assert_int_equal(gw_runbooks_page(r, "k", "Lx", 3), 0);
	assert_int_equal(gw_runbooks_page(r, "other", "L1", 3), 0);

	/* Overlap: a continuation in flight while a new first page starts. Its answer is
	 * numbered as the page it was, so the cap still holds. */
	assert_int_equal(gw_runbooks_page(r, "o", NULL, 2), 1);
	gw_runbooks_page_answered(r, "o", "M1", 1);
	assert_int_equal(gw_runbooks_page(r, "o", "M1", 2), 2); /* page 2 in flight */
	assert_int_equal(gw_runbooks_page(r, "o", NULL, 2), 1); /* a new first page */
	gw_runbooks_page_answered(r, "o", "M2", 2);             /* page 2's answer */
	assert_int_equal(gw_runbooks_page(r, "o", "M2", 2), 0); /* page 3: refused */
	gw_runbooks_page_answered(r, "o", "N1", 1);             /* the new first page's */
	assert_int_equal(gw_runbooks_page(r, "o", "N1", 2), 2);
	gw_runbooks_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
