/*
 * test_grant_cache.c - the live grants in memory: lookups by access key id, replacement
 * (a revocation is visible to the next lookup), and entries that stay valid for a
 * reader holding them across the replacement.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "workflow/grant_cache.h"

static store_grant make(const char *id, const char *akid)
{
	store_grant g;

	memset(&g, 0, sizeof(g));
	snprintf(g.id, sizeof(g.id), "%s", id);
	snprintf(g.access_key_id, sizeof(g.access_key_id), "%s", akid);
	snprintf(g.user, sizeof(g.user), "oncall");
	g.expires_at = 2000000900;
	return g;
}

static void test_lookup_and_replace(void **state)
{
	grant_cache *gc = NULL;
	store_grant a = make("bg-aaaaaaaaaa", "BGIAAAAAAAAAAAAAAAAA");
	store_grant b = make("bg-bbbbbbbbbb", "BGIABBBBBBBBBBBBBBBB");
	const store_grant *held, *now;
	bg_err e;

	assert_int_equal(grant_cache_new(NULL, 2000000000, &gc, &e), 0);
	assert_null(grant_cache_get(gc, "BGIAAAAAAAAAAAAAAAAA"));
	assert_int_equal(grant_cache_put(gc, &a), 0);
	assert_int_equal(grant_cache_put(gc, &b), 0);
	assert_int_equal(grant_cache_size(gc), 2);

	held = grant_cache_get(gc, "BGIAAAAAAAAAAAAAAAAA");
	assert_non_null(held);
	assert_string_equal(held->id, "bg-aaaaaaaaaa");
	assert_int_equal(held->revoked_at, 0);

	/* Revoked: the next lookup sees it at once; a reader's entry is unchanged. */
	a.revoked_at = 2000000100;
	snprintf(a.revoked_by, sizeof(a.revoked_by), "admin");
	assert_int_equal(grant_cache_put(gc, &a), 0);
	assert_int_equal(grant_cache_size(gc), 2);
	now = grant_cache_get(gc, "BGIAAAAAAAAAAAAAAAAA");
	assert_int_equal(now->revoked_at, 2000000100);
	assert_string_equal(now->revoked_by, "admin");
	assert_int_equal(held->revoked_at, 0);
	grant_cache_release(held);
	grant_cache_release(now);

	/* Keys are exact: a prefix or another key finds nothing. */
	assert_null(grant_cache_get(gc, "BGIAAAAAAAAAAAAAAAA"));
	assert_null(grant_cache_get(gc, "BGIAAAAAAAAAAAAAAAAB"));
	now = grant_cache_get(gc, "BGIABBBBBBBBBBBBBBBB");
	assert_string_equal(now->id, "bg-bbbbbbbbbb");

	/* An entry outlives the cache while it is held. */
	grant_cache_free(gc);
	assert_string_equal(now->id, "bg-bbbbbbbbbb");
	grant_cache_release(now);
	grant_cache_release(NULL);
}

static void test_many(void **state)
{
	grant_cache *gc = NULL;
	char akid[32], id[32];
	bg_err e;
	int i;

	assert_int_equal(grant_cache_new(NULL, 2000000000, &gc, &e), 0);
	for (i = 0; i < 5000; i++) {
		store_grant g;
		snprintf(akid, sizeof(akid), "BGIA%016d", i);
		snprintf(id, sizeof(id), "bg-%010d", i);
		g = make(id, akid);
		assert_int_equal(grant_cache_put(gc, &g), 0);
	}
	assert_int_equal(grant_cache_size(gc), 5000);
	for (i = 0; i < 5000; i += 97) {
		const store_grant *g;
		snprintf(akid, sizeof(akid), "BGIA%016d", i);
		snprintf(id, sizeof(id), "bg-%010d", i);
		g = grant_cache_get(gc, akid);
		assert_non_null(g);
		assert_string_equal(g->id, id);
		grant_cache_release(g);
	}
	grant_cache_free(gc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup_and_replace),
	    cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
