/*
 * test_ddb_undo.c - the pure side of undo (protocol/ddb_undo): the item a PutItem,
 * DeleteItem or UpdateItem left (SET :value, SET path, if_not_exists, REMOVE, nested map
 * paths, an item the update created; what undo refuses to compute), equality as DynamoDB
 * has it (numbers by value, sets as sets), the difference shown when an item changed,
 * and the conditioned restore (PutItem of the before-image, DeleteItem when there was
 * none).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "protocol/ddb_undo.h"

static json_t *J(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, 0, &je);

	if (v == NULL)
		fail_msg("bad JSON in test: %s: %s", text, je.text);
	return v;
}

/* after(op, body, before) as compact sorted text ("null" for no item), or the error. */
static char *after_text(const char *op, const char *body, const char *before, int *rc)
{
	json_t *b = J(body), *bef = before != NULL ? J(before) : NULL, *after = NULL;
	char *s;
	bg_err e;

	*rc = ddb_undo_after(op, b, bef, &after, &e);
	s = *rc == 0 ? (after != NULL ? json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS)
	                              : strdup("null"))
	             : strdup(e.msg);
	json_decref(b);
	json_decref(bef);
	json_decref(after);
	return s;
}

static void expect_after(const char *op, const char *body, const char *before, const char *want)
{
	int rc;
	char *s = after_text(op, body, before, &rc);

	if (rc != 0 || strcmp(s, want) != 0)
		fail_msg("after: got %s (rc %d), want %s", s, rc, want);
	free(s);
}

static void expect_refused(const char *op, const char *body, const char *before, int code,
                           const char *msg_part)
{
	int rc;
	char *s = after_text(op, body, before, &rc);

	assert_int_equal(rc, code);
	if (strstr(s, msg_part) == NULL)
		fail_msg("message %s lacks %s", s, msg_part);
	free(s);
}

static void test_put_and_delete(void **state)
{
	(void)state;
	expect_after("PutItem",
	             "{\"TableName\":\"t\",\"Item\":{\"pk\":{\"S\":\"a\"},\"n\":{\"N\":\"1\"}}}",
	             "{\"pk\":{\"S\":\"a\"}}", "{\"n\":{\"N\":\"1\"},\"pk\":{\"S\":\"a\"}}");
	expect_after("DeleteItem", "{\"TableName\":\"t\",\"Key\":{\"pk\":{\"S\":\"a\"}}}",
	             "{\"pk\":{\"S\":\"a\"}}", "null");
	expect_refused("PutItem", "{\"TableName\":\"t\"}", NULL, BG_EINVAL, "no Item");
	expect_refused("Query", "{}", NULL, BG_EINVAL, "not a single-item write");
}

static void test_update_set_remove(void **state)
{
	(void)state;
	/* unstick-order: SET #status = :new, the condition's values beside it. */
	expect_after(
	    "UpdateItem",
	    "{\"Key\":{\"pk\":{\"S\":\"C#42\"},\"sk\":{\"S\":\"O#1\"}},"
	    "\"UpdateExpression\":\"SET #status = :new\","
	    "\"ConditionExpression\":\"#status = :stuck\","
	    "\"ExpressionAttributeNames\":{\"#status\":\"status\"},"
	    "\"ExpressionAttributeValues\":{\":new\":{\"S\":\"PENDING\"},\":stuck\":{\"S\":"
	    "\"STUCK\"}}}",
	    "{\"pk\":{\"S\":\"C#42\"},\"sk\":{\"S\":\"O#1\"},\"status\":{\"S\":\"STUCK\"},"
	    "\"total\":{\"N\":\"19.90\"}}",
	    "{\"pk\":{\"S\":\"C#42\"},\"sk\":{\"S\":\"O#1\"},\"status\":{\"S\":\"PENDING\"},"
	    "\"total\":{\"N\":\"19.90\"}}");
	/* Every operand is read from the item as it was: a swap swaps. */
	expect_after(
	    "UpdateItem",
	    "{\"Key\":{\"pk\":{\"S\":\"k\"}},\"UpdateExpression\":\"SET a = b, b = a "
	    "REMOVE c\"}",
	    "{\"pk\":{\"S\":\"k\"},\"a\":{\"S\":\"1\"},\"b\":{\"S\":\"2\"},\"c\":{\"S\":\"3\"}}",
	    "{\"a\":{\"S\":\"2\"},\"b\":{\"S\":\"1\"},\"pk\":{\"S\":\"k\"}}");
	/* if_not_exists, nested map paths, REMOVE of something absent. */
	expect_after(
	    "UpdateItem",
	    "{\"Key\":{\"pk\":{\"S\":\"k\"}},\"UpdateExpression\":\"SET x = "
	    "if_not_exists(x, :d), y = if_not_exists(a, :d), m.inner = :v REMOVE "
	    "gone, m.old\",\"ExpressionAttributeValues\":{\":d\":{\"N\":\"0\"},\":v\":{"
	    "\"BOOL\":true}}}",
	    "{\"pk\":{\"S\":\"k\"},\"a\":{\"N\":\"7\"},\"m\":{\"M\":{\"old\":{\"S\":\"o\"}}}}",
	    "{\"a\":{\"N\":\"7\"},\"m\":{\"M\":{\"inner\":{\"BOOL\":true}}},\"pk\":{\"S\":"
	    "\"k\"},\"x\":{\"N\":\"0\"},\"y\":{\"N\":\"7\"}}");
	/* An update of a missing item creates it from its key. */
	expect_after("UpdateItem",
	             "{\"Key\":{\"pk\":{\"S\":\"new\"}},\"UpdateExpression\":\"SET s = :s\","
	             "\"ExpressionAttributeValues\":{\":s\":{\"S\":\"x\"}}}",
	             NULL, "{\"pk\":{\"S\":\"new\"},\"s\":{\"S\":\"x\"}}");
}

static void test_update_refused(void **state)
{
	(void)state;
	expect_refused("UpdateItem",
	               "{\"Key\":{\"pk\":{\"S\":\"k\"}},\"UpdateExpression\":\"SET n = n + :one\","
	               "\"ExpressionAttributeValues\":{\":one\":{\"N\":\"1\"}}}",
	               "{\"pk\":{\"S\":\"k\"},\"n\":{\"N\":\"1\"}}", BG_EDENIED, "arithmetic");
	expect_refused("UpdateItem",
	               "{\"Key\":{\"pk\":{\"S\":\"k\"}},\"UpdateExpression\":\"ADD n :one\","
	               "\"ExpressionAttributeValues\":{\":one\":{\"N\":\"1\"}}}",
	               NULL, BG_EDENIED, "ADD");
	expect_refused("UpdateItem",
	               "{\"Key\":{\"pk\":{\"S\":\"k\"}},\"UpdateExpression\":\"SET l[0] = :v\","
	               "\"ExpressionAttributeValues\":{\":v\":{\"N\":\"1\"}}}",
	               NULL, BG_EDENIED, "list element");
	expect_refused("UpdateItem", "{\"Key\":{\"pk\":{\"S\":\"k\"}},\"AttributeUpdates\":{}}",
	               NULL, BG_EDENIED, "AttributeUpdates");
	expect_refused("UpdateItem",
	               "{\"Key\":{\"pk\":{\"S\":\"k\"}},\"UpdateExpression\":\"SET a = :missing\"}",
	               NULL, BG_EINVAL, ":missing");
	expect_refused("UpdateItem",
	               "{\"Key\":{\"pk\":{\"S\":\"k\"}},\"UpdateExpression\":\"SET\"}", NULL,
	               BG_EINVAL, "");
	{
		json_t *names = json_pack("{s:s}", "#s", "status");
		bg_err e;
		assert_int_equal(ddb_undo_update_check("SET #s = :v", names, &e), 0);
		json_decref(names);
		assert_int_equal(ddb_undo_update_check("SET a = list_append(a, :v)", NULL, &e),
		                 BG_EDENIED);
	}
}

static void test_equality(void **state)
{
	static const struct {
		const char *a, *b;
		bool equal;
	} cases[] = {
	    {"{\"N\":\"19.90\"}", "{\"N\":\"19.9\"}", true},
	    {"{\"N\":\"1e2\"}", "{\"N\":\"100\"}", true},
	    {"{\"N\":\"-0.0\"}", "{\"N\":\"0\"}", true},
	    {"{\"N\":\"0.010\"}", "{\"N\":\"1E-2\"}", true},
	    {"{\"N\":\"-5\"}", "{\"N\":\"5\"}", false},
	    {"{\"N\":\"10\"}", "{\"N\":\"1\"}", false},
	    {"{\"S\":\"10\"}", "{\"N\":\"10\"}", false},
	    {"{\"SS\":[\"a\",\"b\"]}", "{\"SS\":[\"b\",\"a\"]}", true},
	    {"{\"SS\":[\"a\",\"b\"]}", "{\"SS\":[\"a\",\"c\"]}", false},
	    {"{\"NS\":[\"1.0\",\"2\"]}", "{\"NS\":[\"2\",\"1\"]}", true},
	    {"{\"L\":[{\"N\":\"1\"},{\"S\":\"x\"}]}", "{\"L\":[{\"N\":\"1.0\"},{\"S\":\"x\"}]}",
	     true},
	    {"{\"L\":[{\"N\":\"1\"},{\"S\":\"x\"}]}", "{\"L\":[{\"S\":\"x\"},{\"N\":\"1\"}]}",
	     false},
	    {"{\"M\":{\"a\":{\"N\":\"1\"}}}", "{\"M\":{\"a\":{\"N\":\"1.00\"}}}", true},
	    {"{\"M\":{\"a\":{\"N\":\"1\"}}}", "{\"M\":{\"a\":{\"N\":\"1\"},\"b\":{\"NULL\":true}}}",
	     false},
	    {"{\"BOOL\":true}", "{\"BOOL\":false}", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *a = J(cases[i].a), *b = J(cases[i].b);
		if (ddb_undo_value_equal(a, b) != cases[i].equal)
			fail_msg("%s vs %s: expected %s", cases[i].a, cases[i].b,
			         cases[i].equal ? "equal" : "different");
		json_decref(a);
		json_decref(b);
	}
	assert_true(ddb_undo_item_equal(NULL, NULL));
	{
		json_t *x = J("{\"pk\":{\"S\":\"a\"}}");
		assert_false(ddb_undo_item_equal(x, NULL));
		assert_false(ddb_undo_item_equal(NULL, x));
		assert_true(ddb_undo_item_equal(x, x));
		json_decref(x);
	}
}

static void test_diff(void **state)
{
	json_t *left =
	    J("{\"pk\":{\"S\":\"k\"},\"status\":{\"S\":\"PENDING\"},\"gone\":{\"N\":\"1\"},"
	      "\"total\":{\"N\":\"1.50\"}}");
	json_t *now =
	    J("{\"pk\":{\"S\":\"k\"},\"status\":{\"S\":\"SHIPPED\"},\"added\":{\"S\":\"x\"},"
	      "\"total\":{\"N\":\"1.5\"}}");
	json_t *d = ddb_undo_diff(left, now);
	char *s = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);

	(void)state;
	assert_string_equal(
	    s,
	    "[{\"attribute\":\"added\",\"left\":null,\"now\":{\"S\":\"x\"}},"
	    "{\"attribute\":\"gone\",\"left\":{\"N\":\"1\"},\"now\":null},"
	    "{\"attribute\":\"status\",\"left\":{\"S\":\"PENDING\"},\"now\":{\"S\":\"SHIPPED\"}}]");
	free(s);
	json_decref(d);
	/* No item now: every attribute left is a difference. */
	d = ddb_undo_diff(left, NULL);
	assert_int_equal(json_array_size(d), 4);
	json_decref(d);
	d = ddb_undo_diff(left, left);
	assert_int_equal(json_array_size(d), 0);
	json_decref(d);
	json_decref(left);
	json_decref(now);
}

static void test_restore(void **state)
{
	json_t *key = J("{\"pk\":{\"S\":\"k\"}}");
	json_t *before =
	    J("{\"pk\":{\"S\":\"k\"},\"status\":{\"S\":\"STUCK\"},\"old\":{\"N\":\"1\"}}");
	json_t *after = J("{\"pk\":{\"S\":\"k\"},\"status\":{\"S\":\"PENDING\"}}");
	json_t *body = NULL, *big;
	const char *op = NULL;
	char *s;
	bg_err e;
	int i;

	(void)state;
	assert_int_equal(ddb_undo_restore("orders", key, before, after, &op, &body, &e), 0);
	assert_string_equal(op, "PutItem");
	s = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
	    s, "{\"ConditionExpression\":\"#u0 = :u0 AND #u1 = :u1 AND attribute_not_exists(#u2)\","
	       "\"ExpressionAttributeNames\":{\"#u0\":\"pk\",\"#u1\":\"status\",\"#u2\":\"old\"},"
	       "\"ExpressionAttributeValues\":{\":u0\":{\"S\":\"k\"},\":u1\":{\"S\":\"PENDING\"}},"
	       "\"Item\":{\"old\":{\"N\":\"1\"},\"pk\":{\"S\":\"k\"},\"status\":{\"S\":\"STUCK\"}},"
	       "\"TableName\":\"orders\"}");
	free(s);
	json_decref(body);
	/* The write created the item: delete it, while it is what the write left. */
	assert_int_equal(ddb_undo_restore("orders", key, NULL, after, &op, &body, &e), 0);
	assert_string_equal(op, "DeleteItem");
	assert_non_null(json_object_get(body, "Key"));
	assert_null(json_object_get(body, "Item"));
	json_decref(body);
	/* The write deleted it: put it back while there is none. */
	assert_int_equal(ddb_undo_restore("orders", key, before, NULL, &op, &body, &e), 0);
	assert_string_equal(op, "PutItem");
	assert_string_equal(json_string_value(json_object_get(body, "ConditionExpression")),
	                    "attribute_not_exists(#u0)");
	assert_null(json_object_get(body, "ExpressionAttributeValues"));
	json_decref(body);
	assert_int_equal(ddb_undo_restore("orders", key, NULL, NULL, &op, &body, &e), BG_EINVAL);
	assert_null(body);
	assert_int_equal(ddb_undo_restore("orders", NULL, before, after, &op, &body, &e),
	                 BG_EINVAL);
	big = json_object();
	for (i = 0; i <= BG_MAX_UNDO_ATTRS; i++) {
		char n[16];
		snprintf(n, sizeof(n), "a%d", i);
		json_object_set_new(big, n, json_pack("{s:s}", "S", "x"));
	}
	assert_int_equal(ddb_undo_restore("orders", key, big, after, &op, &body, &e), BG_ELIMIT);
	json_decref(big);
	json_decref(key);
	json_decref(before);
	json_decref(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_and_delete), cmocka_unit_test(test_update_set_remove),
	    cmocka_unit_test(test_update_refused), cmocka_unit_test(test_equality),
	    cmocka_unit_test(test_diff),           cmocka_unit_test(test_restore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
