/*
 * test_mask.c - attribute paths (protocol/ddb_path) and masking an answer
 * (policy/mask): nested paths, lists of items, absent attributes, a path through
 * something that is not a map, every attribute value type, the keyed hash (equal for equal
 * values, different otherwise, and never the plain value anywhere in the output), and
 * every answer shape (Item, Items, Attributes, Responses) with keys left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/buf.h"
#include "policy/mask.h"

static const uint8_t key1[MASK_KEY_LEN] = {1, 2, 3};
static const uint8_t key2[MASK_KEY_LEN] = {9, 9, 9};

static void parse_paths(const char *const *texts, size_t n, ddb_path *out)
{
	bg_err e;
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(ddb_path_parse(texts[i], strlen(texts[i]), &out[i], &e), 0);
}

/* Masks text (a JSON answer) with paths; returns the masked answer as compact text. */
static char *masked(const char *text, const char *const *paths, size_t n, const uint8_t *key,
                    size_t *counts, size_t *total)
{
	ddb_path p[8];
	json_t *doc = json_loads(text, 0, NULL);
	size_t t = 0;
	char *out;
	bg_err e;

	assert_non_null(doc);
	parse_paths(paths, n, p);
	assert_int_equal(mask_answer(doc, p, n, key, counts, &t, &e), 0);
	if (total != NULL)
		*total = t;
	out = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	assert_non_null(out);
	return out;
}

static void test_path_parse(void **state)
{
	static const char *const bad[] = {"",    ".",    "a.",   ".a", "a..b",
	                                  "a b", "a[0]", "a.#b", "é",  "a:b"};
	char longname[BG_MAX_MASK_SEGMENT + 2];
	char deep[64];
	ddb_path p;
	size_t i, n;
	const char *s;
	bg_err e;

	(void)state;
	assert_int_equal(ddb_path_parse("card.last4", 10, &p, &e), 0);
	assert_int_equal(p.depth, 2);
	assert_string_equal(p.text, "card.last4");
	s = ddb_path_segment(&p, 0, &n);
	assert_int_equal(n, 4);
	assert_memory_equal(s, "card", 4);
	s = ddb_path_segment(&p, 1, &n);
	assert_int_equal(n, 5);
	assert_memory_equal(s, "last4", 5);
	/* Not NUL-terminated input: only len bytes count. */
	assert_int_equal(ddb_path_parse("email.x", 5, &p, &e), 0);
	assert_string_equal(p.text, "email");
	assert_int_equal(p.depth, 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ddb_path_parse(bad[i], strlen(bad[i]), &p, &e), BG_EINVAL);
		assert_int_equal(p.depth, 0);
	}
	/* Limits: a name's length and the depth. */
	memset(longname, 'a', sizeof(longname));
	assert_int_equal(ddb_path_parse(longname, BG_MAX_MASK_SEGMENT, &p, &e), 0);
	assert_int_equal(ddb_path_parse(longname, BG_MAX_MASK_SEGMENT + 1, &p, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "longer than"));
	deep[0] = '\0';
	for (i = 0; i < BG_MAX_MASK_DEPTH; i++)
		strncat(deep, i == 0 ? "a" : ".a", sizeof(deep) - strlen(deep) - 1);
	assert_int_equal(ddb_path_parse(deep, strlen(deep), &p, &e), 0);
	assert_int_equal(p.depth, BG_MAX_MASK_DEPTH);
	strncat(deep, ".a", sizeof(deep) - strlen(deep) - 1);
	assert_int_equal(ddb_path_parse(deep, strlen(deep), &p, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "deeper than"));
}

static void test_nested_and_absent(void **state)
{
	static const char *const paths[] = {"email", "card.last4"};
	size_t counts[2] = {0, 0}, total = 0;
	char *out;

	(void)state;
	out = masked("{\"Item\":{\"pk\":{\"S\":\"C#1\"},\"email\":{\"S\":\"a@x.org\"},"
	             "\"card\":{\"M\":{\"last4\":{\"S\":\"4242\"},\"brand\":{\"S\":\"visa\"}}}}}",
	             paths, 2, NULL, counts, &total);
	assert_string_equal(out, "{\"Item\":{\"card\":{\"M\":{\"brand\":{\"S\":\"visa\"},"
	                         "\"last4\":{\"S\":\"***masked***\"}}},"
	                         "\"email\":{\"S\":\"***masked***\"},\"pk\":{\"S\":\"C#1\"}}}");
	assert_int_equal(total, 2);
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], 1);
	free(out);

	/* Absent attributes, and an absent map, leave the item alone. */
	counts[0] = counts[1] = 0;
	out = masked("{\"Item\":{\"pk\":{\"S\":\"C#1\"},\"card\":{\"M\":{}}}}", paths, 2, NULL,
	             counts, &total);
	assert_string_equal(out, "{\"Item\":{\"card\":{\"M\":{}},\"pk\":{\"S\":\"C#1\"}}}");
	assert_int_equal(total, 0);
	free(out);
	out = masked("{}", paths, 2, NULL, NULL, &total);
	assert_string_equal(out, "{}");
	assert_int_equal(total, 0);
	free(out);
}

/* A path through a list, a string or a malformed value is not followed. */
static void test_non_map_intermediate(void **state)
{
	static const char *const paths[] = {"card.last4"};
	static const char *const answers[] = {
	    "{\"Item\":{\"card\":{\"L\":[{\"M\":{\"last4\":{\"S\":\"4242\"}}}]}}}",
	    "{\"Item\":{\"card\":{\"S\":\"last4\"}}}",
	    "{\"Item\":{\"card\":{\"M\":{\"last4\":{\"S\":\"4242\"}},\"S\":\"x\"}}}",
	    "{\"Item\":{\"card\":[1,2]}}",
	    "{\"Item\":{\"card\":{\"M\":[{\"last4\":1}]}}}",
	    "{\"Item\":[1]}",
	    "{\"Items\":{\"a\":1}}",
	    "{\"Responses\":[1]}",
	};
	size_t i, total;
	char *out;
	json_t *in, *back;

	(void)state;
	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		total = 0;
		out = masked(answers[i], paths, 1, NULL, NULL, &total);
		in = json_loads(answers[i], 0, NULL);
		back = json_loads(out, 0, NULL);
		assert_true(json_equal(in, back));
		assert_int_equal(total, 0);
		json_decref(in);
		json_decref(back);
		free(out);
	}
}

/* Every attribute value type is replaced whole. */
static void test_every_type(void **state)
{
	static const char *const values[] = {
	    "{\"S\":\"secret-text\"}",
	    "{\"N\":\"12345.678\"}",
	    "{\"B\":\"c2VjcmV0LWJ5dGVz\"}",
	    "{\"BOOL\":true}",
	    "{\"NULL\":true}",
	    "{\"SS\":[\"secret-a\",\"secret-b\"]}",
	    "{\"NS\":[\"111\",\"222\"]}",
	    "{\"BS\":[\"c2VjcmV0\"]}",
	    "{\"L\":[{\"S\":\"secret-l\"}]}",
	    "{\"M\":{\"inner\":{\"S\":\"secret-m\"}}}",
	};
	static const char *const paths[] = {"x"};
	char text[256];
	size_t i, total;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(text, sizeof(text), "{\"Item\":{\"k\":{\"S\":\"K\"},\"x\":%s}}",
		         values[i]);
		out = masked(text, paths, 1, NULL, NULL, &total);
		assert_int_equal(total, 1);
		assert_string_equal(
		    out, "{\"Item\":{\"k\":{\"S\":\"K\"},\"x\":{\"S\":\"***masked***\"}}}");
		free(out);
		out = masked(text, paths, 1, key1, NULL, &total);
		assert_int_equal(total, 1);
		assert_null(strstr(out, "secret"));
		assert_null(strstr(out, "c2Vj"));
		assert_null(strstr(out, "12345"));
		assert_null(strstr(out, "111"));
		assert_non_null(strstr(out, MASK_MARKER_PREFIX));
		free(out);
	}
}

/* Query and Scan pages: every item; a write's Attributes; BatchGetItem's Responses;
 * LastEvaluatedKey and UnprocessedKeys untouched. */
static void test_answer_shapes(void **state)
{
	static const char *const paths[] = {"email"};
	size_t total;
	char *out;

	(void)state;
	out =
	    masked("{\"Count\":3,\"Items\":[{\"email\":{\"S\":\"a@x\"}},{\"pk\":{\"S\":\"1\"}},"
	           "{\"email\":{\"S\":\"b@x\"}}],\"LastEvaluatedKey\":{\"email\":{\"S\":\"z@x\"}}}",
	           paths, 1, NULL, NULL, &total);
	assert_int_equal(total, 2);
	assert_null(strstr(out, "a@x"));
	assert_null(strstr(out, "b@x"));
	assert_non_null(strstr(out, "\"LastEvaluatedKey\":{\"email\":{\"S\":\"z@x\"}}"));
	assert_non_null(strstr(out, "\"Count\":3"));
	free(out);
	out = masked("{\"Attributes\":{\"email\":{\"S\":\"a@x\"}}}", paths, 1, NULL, NULL, &total);
	assert_int_equal(total, 1);
	assert_null(strstr(out, "a@x"));
	free(out);
	out = masked("{\"Responses\":{\"t1\":[{\"email\":{\"S\":\"a@x\"}}],\"t2\":[{\"email\":"
	             "{\"S\":\"b@x\"}},{\"email\":{\"S\":\"c@x\"}}]},\"UnprocessedKeys\":{\"t1\":"
	             "{\"Keys\":[{\"email\":{\"S\":\"d@x\"}}]}}}",
	             paths, 1, NULL, NULL, &total);
	assert_int_equal(total, 3);
	assert_null(strstr(out, "a@x"));
	assert_null(strstr(out, "b@x"));
	assert_null(strstr(out, "c@x"));
	assert_non_null(strstr(out, "d@x"));
	free(out);
}

/* The hash: equal values give equal markers, different values or keys different ones; the
 * type is part of the value ("1" as S and N differ); the marker has its fixed form. */
static void test_hash(void **state)
{
	static const char *const paths[] = {"email", "n"};
	const char *answer = "{\"Items\":[{\"email\":{\"S\":\"a@x.org\"},\"n\":{\"N\":\"1\"}},"
	                     "{\"email\":{\"S\":\"a@x.org\"},\"n\":{\"S\":\"1\"}},"
	                     "{\"email\":{\"S\":\"b@x.org\"}}]}";
	json_t *doc;
	const char *m[3], *n0, *n1;
	char *out, *out2;
	size_t total, i;

	(void)state;
	out = masked(answer, paths, 2, key1, NULL, &total);
	assert_int_equal(total, 5);
	assert_null(strstr(out, "a@x.org"));
	assert_null(strstr(out, "b@x.org"));
	doc = json_loads(out, 0, NULL);
	for (i = 0; i < 3; i++) {
		m[i] = json_string_value(json_object_get(
		    json_object_get(json_array_get(json_object_get(doc, "Items"), i), "email"),
		    "S"));
		assert_non_null(m[i]);
		assert_int_equal(strlen(m[i]), strlen(MASK_MARKER_PREFIX) + BG_MASK_HASH_HEX +
		                                   strlen(MASK_MARKER_SUFFIX));
		assert_memory_equal(m[i], MASK_MARKER_PREFIX, strlen(MASK_MARKER_PREFIX));
		assert_string_equal(m[i] + strlen(m[i]) - 3, MASK_MARKER_SUFFIX);
	}
	assert_string_equal(m[0], m[1]);
	assert_string_not_equal(m[0], m[2]);
	/* As documented: HMAC-SHA256(key, the value's canonical JSON), first 16 hex digits. */
	{
		static const char canon[] = "{\"S\":\"a@x.org\"}";
		unsigned char mac[32];
		unsigned int mlen = 0;
		char hex[65];
		assert_non_null(HMAC(EVP_sha256(), key1, MASK_KEY_LEN, (const unsigned char *)canon,
		                     strlen(canon), mac, &mlen));
		bg_hex(mac, sizeof(mac), hex);
		assert_memory_equal(m[0] + strlen(MASK_MARKER_PREFIX), hex, BG_MASK_HASH_HEX);
	}
	n0 = json_string_value(json_object_get(
	    json_object_get(json_array_get(json_object_get(doc, "Items"), 0), "n"), "S"));
	n1 = json_string_value(json_object_get(
	    json_object_get(json_array_get(json_object_get(doc, "Items"), 1), "n"), "S"));
	assert_string_not_equal(n0, n1);
	/* Another key gives other hashes; the same key the same ones. */
	out2 = masked(answer, paths, 2, key2, NULL, &total);
	assert_null(strstr(out2, m[0]));
	free(out2);
	out2 = masked(answer, paths, 2, key1, NULL, &total);
	assert_string_equal(out, out2);
	free(out2);
	json_decref(doc);
	free(out);
}

/* mask_item on its own, and counts per path added to, not reset. */
static void test_item_counts(void **state)
{
	ddb_path p[2];
	static const char *const texts[] = {"a.b.c", "d"};
	json_t *item = json_loads("{\"a\":{\"M\":{\"b\":{\"M\":{\"c\":{\"N\":\"7\"}}}}},"
	                          "\"d\":{\"S\":\"x\"}}",
	                          0, NULL);
	size_t counts[2] = {5, 5}, total = 1;
	bg_err e;

	(void)state;
	parse_paths(texts, 2, p);
	assert_int_equal(mask_item(item, p, 2, NULL, counts, &total, &e), 0);
	assert_int_equal(counts[0], 6);
	assert_int_equal(counts[1], 6);
	assert_int_equal(total, 3);
	/* Masked values are strings now: a second pass masks the marker again, harmlessly. */
	assert_int_equal(mask_item(item, p, 2, NULL, NULL, NULL, &e), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(item, "d"), "S")),
	                    MASK_MARKER);
	json_decref(item);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_parse),           cmocka_unit_test(test_nested_and_absent),
	    cmocka_unit_test(test_non_map_intermediate), cmocka_unit_test(test_every_type),
	    cmocka_unit_test(test_answer_shapes),        cmocka_unit_test(test_hash),
	    cmocka_unit_test(test_item_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
