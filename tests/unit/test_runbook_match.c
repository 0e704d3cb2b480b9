/*
 * test_runbook_match.c - the runbook matcher (policy/runbook_match) on the repository's
 * example runbooks: the template's own request and its rewordings match, with the
 * parameters bound and the Limit added when absent; each kind of difference is denied
 * with a message that names it and the runbook that came closest; a runbook edited
 * after the grant, or gone, matches nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "policy/runbook_match.h"

static runbook_set *set;

static int setup(void **state)
{
	runbook_diags d = {NULL, 0};
	bg_err e;

	(void)state;
	if (runbook_set_load("runbooks", &set, &d, &e) != 0)
		return -1;
	runbook_diags_free(&d);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	runbook_set_free(set);
	return 0;
}

/* A grant pinning the given runbooks at their current hashes. */
static store_grant grant_of(const char *a, const char *b)
{
	store_grant g;
	const char *ids[] = {a, b};
	size_t i;

	memset(&g, 0, sizeof(g));
	snprintf(g.id, sizeof(g.id), "bg-TESTTESTTE");
	for (i = 0; i < 2 && ids[i] != NULL; i++) {
		const runbook *rb = runbook_set_find(set, ids[i]);
		assert_non_null(rb);
		snprintf(g.runbooks[i], sizeof(g.runbooks[i]), "%s", ids[i]);
		memcpy(g.runbook_hashes[i], rb->hash, 65);
		g.n_runbooks++;
	}
	return g;
}

/* Matches the JSON text body of op; returns the result code, d filled. */
static int try(const store_grant *g, const char *op, const char *body, rb_decision *d)
{
	json_error_t je;
	json_t *j = json_loads(body, 0, &je);
	int rc;

	if (j == NULL)
		fail_msg("bad test JSON: %s", je.text);
	rc = rb_match(set, g, ddb_op_lookup(op, strlen(op)), j, d);
	json_decref(j);
	return rc;
}

#define QUERY(extra, values)                                                                       \
	"{\"TableName\":\"orders\",\"KeyConditionExpression\":\"pk = :c AND begins_with(sk, "      \
	":p)\","                                                                                   \
	"\"ProjectionExpression\":\"pk, sk, #s, #t\","                                             \
	"\"ExpressionAttributeNames\":{\"#s\":\"status\",\"#t\":\"total\"},"                       \
	"\"ExpressionAttributeValues\":" values extra "}"
#define VALUES "{\":c\":{\"S\":\"CUSTOMER#42\"},\":p\":{\"S\":\"ORDER#\"}}"

static void denied(const store_grant *g, const char *op, const char *body, const char *says)
{
	rb_decision d;

	assert_int_equal(try(g, op, body, &d), BG_EDENIED);
	if (strstr(d.why, says) == NULL)
		fail_msg("denial \"%s\" does not say \"%s\"", d.why, says);
	rb_decision_free(&d);
}

static void test_matches(void **state)
{
	store_grant g = grant_of("orders-of-customer", "unstick-order");
	rb_decision d;

	(void)state;
	assert_int_equal(try(&g, "Query", QUERY(",\"Limit\":10", VALUES), &d), 0);
	assert_string_equal(d.rb->id, "orders-of-customer");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(d.params, "customer"), "S")),
	    "CUSTOMER#42");
	assert_null(d.forward); /* a Limit within the runbook's: sent as it is */
	assert_false(d.continuation);
	assert_int_equal(strlen(d.page_key), 64);
	rb_decision_free(&d);

	/* Without a Limit: tightened to the runbook's. */
	assert_int_equal(try(&g, "Query", QUERY("", VALUES), &d), 0);
	assert_non_null(d.forward);
	assert_int_equal(json_integer_value(json_object_get(d.forward, "Limit")), 25);
	rb_decision_free(&d);

	/* Reworded: operands swapped, other placeholders, names for plain attributes. */
	assert_int_equal(
	    try(&g, "Query",
	        "{\"TableName\":\"orders\",\"KeyConditionExpression\":\"begins_with(sk,:b) AND "
	        "#k=:a\","
	        "\"ProjectionExpression\":\"#x, pk, sk, #y\",\"ExpressionAttributeNames\":{\"#k\":"
	        "\"pk\",\"#x\":\"total\",\"#y\":\"status\"},\"ExpressionAttributeValues\":{\":a\":"
	        "{\"S\":\"CUSTOMER#7\"},\":b\":{\"S\":\"RETURN#\"}},\"ExclusiveStartKey\":{\"pk\":"
	        "{\"S\":\"CUSTOMER#7\"},\"sk\":{\"S\":\"RETURN#1\"}}}",
	        &d),
	    0);
	assert_true(d.continuation);
	rb_decision_free(&d);

	/* The write template. */
	assert_int_equal(
	    try(&g, "UpdateItem",
	        "{\"TableName\":\"orders\",\"Key\":{\"pk\":{\"S\":\"CUSTOMER#42\"},\"sk\":{\"S\":"
	        "\"ORDER#1\"}},\"UpdateExpression\":\"SET #s = :n\",\"ConditionExpression\":\"#s = "
	        ":o\",\"ExpressionAttributeNames\":{\"#s\":\"status\"},"
	        "\"ExpressionAttributeValues\":"
	        "{\":n\":{\"S\":\"CANCELLED\"},\":o\":{\"S\":\"STUCK\"}}}",
	        &d),
	    0);
	assert_string_equal(d.rb->id, "unstick-order");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(d.params, "order"), "S")), "ORDER#1");
	rb_decision_free(&d);
}

static void test_differences(void **state)
{
	store_grant g = grant_of("orders-of-customer", "unstick-order");

	(void)state;
	denied(&g, "Query", QUERY(",\"Limit\":26", VALUES),
	       "Limit 26 is larger than the runbook's 25");
	denied(&g, "Query", QUERY(",\"Select\":\"ALL_ATTRIBUTES\"", VALUES),
	       "Select ALL_ATTRIBUTES");
	denied(&g, "Query", QUERY(",\"FilterExpression\":\"#t > :c\"", VALUES),
	       "the request has a filter");
	denied(&g, "Query", QUERY(",\"AttributesToGet\":[\"pk\"]", VALUES),
	       "legacy parameter AttributesToGet");
	denied(&g, "Query", QUERY(",\"IndexName\":\"by-status\"", VALUES), "it reads the table");
	denied(&g, "Query", QUERY("", "{\":c\":{\"S\":\"CUSTOMER#x\"},\":p\":{\"S\":\"ORDER#\"}}"),
	       "parameter customer must match");
	denied(&g, "Query", QUERY("", "{\":c\":{\"S\":\"CUSTOMER#1\"},\":p\":{\"S\":\"X#\"}}"),
	       "parameter prefix must be one of");
	denied(
	    &g, "Query",
	    QUERY("",
	          "{\":c\":{\"S\":\"CUSTOMER#1\"},\":p\":{\"S\":\"ORDER#\"},\":z\":{\"S\":\"x\"}}"),
	    ":z");
	denied(&g, "Query",
	       "{\"TableName\":\"orders\",\"KeyConditionExpression\":\"pk = :c AND begins_with(sk, "
	       ":p)\","
	       "\"ProjectionExpression\":\"pk, sk, #s, #t, "
	       "email\",\"ExpressionAttributeNames\":{\"#s\":"
	       "\"status\",\"#t\":\"total\"},\"ExpressionAttributeValues\":" VALUES "}",
	       "email");
	denied(&g, "Query",
	       "{\"TableName\":\"orders\",\"KeyConditionExpression\":\"pk = :c AND begins_with(sk, "
	       ":p)\","
	       "\"ExpressionAttributeValues\":" VALUES "}",
	       "no projection");
	/* A #name standing for another attribute than the runbook's. */
	denied(&g, "Query",
	       "{\"TableName\":\"orders\",\"KeyConditionExpression\":\"pk = :c AND begins_with(sk, "
	       ":p)\","
	       "\"ProjectionExpression\":\"pk, sk, #s, #t\",\"ExpressionAttributeNames\":{\"#s\":"
	       "\"email\",\"#t\":\"total\"},\"ExpressionAttributeValues\":" VALUES "}",
	       "projection");
	denied(&g, "Query",
	       "{\"TableName\":\"orders\",\"KeyConditionExpression\":\"pk = :c AND sk > :p\","
	       "\"ProjectionExpression\":\"pk\",\"ExpressionAttributeValues\":" VALUES "}",
	       "orders-of-customer");
	denied(&g, "Query", "{\"TableName\":\"Orders\",\"KeyConditionExpression\":\"pk = :c\"}",
	       "it reads table orders");
	denied(&g, "Scan", "{\"TableName\":\"orders\"}", "it runs Query, the request is Scan");
	/* The write: its fixed value, and nothing beyond its key. */
	denied(&g, "UpdateItem",
	       "{\"TableName\":\"orders\",\"Key\":{\"pk\":{\"S\":\"CUSTOMER#42\"},\"sk\":{\"S\":"
	       "\"ORDER#1\"}},\"UpdateExpression\":\"SET #s = :n\",\"ConditionExpression\":\"#s = "
	       ":o\","
	       "\"ExpressionAttributeNames\":{\"#s\":\"status\"},\"ExpressionAttributeValues\":{\":"
	       "n\":"
	       "{\"S\":\"CANCELLED\"},\":o\":{\"S\":\"SHIPPED\"}}}",
	       "fixed value");
	denied(
	    &g, "UpdateItem",
	    "{\"TableName\":\"orders\",\"Key\":{\"pk\":{\"S\":\"CUSTOMER#42\"},\"sk\":{\"S\":"
	    "\"ORDER#1\"},\"x\":{\"S\":\"y\"}},\"UpdateExpression\":\"SET #s = :n\","
	    "\"ConditionExpression\":\"#s = :o\",\"ExpressionAttributeNames\":{\"#s\":\"status\"},"
	    "\"ExpressionAttributeValues\":{\":n\":{\"S\":\"CANCELLED\"},\":o\":{\"S\":\"STUCK\"}}"
	    "}",
	    "attribute x");
	denied(&g, "UpdateItem",
	       "{\"TableName\":\"orders\",\"Key\":{\"pk\":{\"S\":\"CUSTOMER#42\"},\"sk\":{\"S\":"
	       "\"ORDER#1\"}},\"UpdateExpression\":\"SET #s = :n\",\"Expected\":{}}",
	       "legacy parameter Expected");
	/* The whole item back when the condition refuses the write: a read the runbook does
	 * not allow. */
	denied(
	    &g, "UpdateItem",
	    "{\"TableName\":\"orders\",\"Key\":{\"pk\":{\"S\":\"CUSTOMER#42\"},\"sk\":{\"S\":"
	    "\"ORDER#1\"}},\"UpdateExpression\":\"SET #s = :n\",\"ConditionExpression\":\"#s = "
	    ":o\",\"ExpressionAttributeNames\":{\"#s\":\"status\"},\"ExpressionAttributeValues\":"
	    "{\":n\":{\"S\":\"CANCELLED\"},\":o\":{\"S\":\"STUCK\"}},"
	    "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}",
	    "ReturnValuesOnConditionCheckFailure ALL_OLD is not allowed");
	denied(
	    &g, "UpdateItem",
	    "{\"TableName\":\"orders\",\"Key\":{\"pk\":{\"S\":\"CUSTOMER#42\"},\"sk\":{\"S\":"
	    "\"ORDER#1\"}},\"UpdateExpression\":\"SET #s = :n\",\"ConditionExpression\":\"#s = "
	    ":o\",\"ExpressionAttributeNames\":{\"#s\":\"status\"},\"ExpressionAttributeValues\":"
	    "{\":n\":{\"S\":\"CANCELLED\"},\":o\":{\"S\":\"STUCK\"}},\"ReturnValues\":\"ALL_NEW\"}",
	    "ReturnValues ALL_NEW is not allowed");
	denied(&g, "Query", QUERY(",\"Limit\":0", VALUES), "Limit must be a whole number");
	denied(&g, "Query", QUERY(",\"ScanIndexForward\":\"no\"", VALUES),
	       "ScanIndexForward must be");
}

static void test_pins(void **state)
{
	store_grant g = grant_of("orders-of-customer", NULL);

	(void)state;
	g.runbook_hashes[0][0] = g.runbook_hashes[0][0] == 'a' ? 'b' : 'a';
	denied(&g, "Query", QUERY(",\"Limit\":10", VALUES), "was changed after the grant");
	snprintf(g.runbooks[0], sizeof(g.runbooks[0]), "gone-away");
	denied(&g, "Query", QUERY(",\"Limit\":10", VALUES),
	       "no longer in the gateway's runbook folder");
	g.n_runbooks = 0;
	denied(&g, "Query", QUERY(",\"Limit\":10", VALUES), "names no runbook");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_matches),
	    cmocka_unit_test(test_differences),
	    cmocka_unit_test(test_pins),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
