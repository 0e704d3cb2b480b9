/*
 * fuzz_ddb_undo.c - libFuzzer target for undo's pure side (protocol/ddb_undo): the input is
 * a JSON object {"op", "body", "before", "now"} (any of them missing or of any type), as a
 * write's audit records and the item read back would give them. Computing what the write
 * left never crashes or leaks, and gives an item or none, or an error; an item equals
 * itself; the difference of two items is empty exactly when they are equal; and a restore
 * that is built carries a condition that parses as DynamoDB's condition grammar with
 * exactly the names and values it defines.
 */
#include <string.h>

#include "fuzz.h"
#include "protocol/ddb_expr.h"
#include "protocol/ddb_undo.h"

static void check_restore(const json_t *key, const json_t *before, const json_t *after)
{
	json_t *body = NULL;
	const char *op = NULL;
	const json_t *cond, *names, *values;
	const ddb_expr *xs[1];
	ddb_expr *x = NULL;
	bg_err e;

	if (ddb_undo_restore("t", key, before, after, &op, &body, &e) != 0) {
		CHECK(body == NULL);
		return;
	}
	CHECK(body != NULL && op != NULL);
	CHECK(strcmp(op, before != NULL ? "PutItem" : "DeleteItem") == 0);
	cond = json_object_get(body, "ConditionExpression");
	names = json_object_get(body, "ExpressionAttributeNames");
	values = json_object_get(body, "ExpressionAttributeValues");
	CHECK(json_is_string(cond));
	CHECK(ddb_expr_parse(DDB_EXPR_CONDITION, json_string_value(cond), json_string_length(cond),
	                     names, &x, &e) == 0);
	xs[0] = x;
	CHECK(ddb_expr_check_placeholders(xs, 1, names, values, &e) == 0);
	ddb_expr_free(x);
	json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	json_t *before, *now, *after = NULL, *diff;
	const json_t *body;
	bg_err e;

	if (in == NULL)
		return 0;
	body = json_object_get(in, "body");
	before = json_object_get(in, "before");
	now = json_object_get(in, "now");
	before = json_is_object(before) ? before : NULL;
	now = json_is_object(now) ? now : NULL;
	if (ddb_undo_after(json_string_value(json_object_get(in, "op")), body, before, &after,
	                   &e) != 0) {
		CHECK(after == NULL);
		json_decref(in);
		return 0;
	}
	CHECK(after == NULL || json_is_object(after));
	CHECK(ddb_undo_item_equal(after, after));
	if (after != NULL && now != NULL) {
		diff = ddb_undo_diff(after, now);
		CHECK(diff != NULL);
		CHECK((json_array_size(diff) == 0) == ddb_undo_item_equal(after, now));
		json_decref(diff);
	}
	check_restore(json_object_get(body, "Key"), before, after);
	json_decref(after);
	json_decref(in);
	return 0;
}
