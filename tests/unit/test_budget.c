/*
 * test_budget.c - capacity budgets: the units of DynamoDB's ConsumedCapacity (one object,
 * a batch's list, a transaction's read/write split, junk), which budget an operation is
 * checked against and the refusal's words, the grants' spend kept in memory, and the
 * rate window's requests left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/limiter.h"
#include "gateway/spend.h"
#include "policy/budget.h"
#include "policy/ratelimit.h"
#include "protocol/ddb_capacity.h"

static const ddb_op_info *op(const char *name)
{
	return ddb_op_lookup(name, strlen(name));
}

static ddb_units units(const char *json, const char *name)
{
	json_t *cc = json_loads(json, 0, NULL);
	ddb_units u = ddb_capacity_units(cc, op(name));

	json_decref(cc);
	return u;
}

static void test_units(void **state)
{
	ddb_units u;
	json_t *cc;

	(void)state;
	u = units("{\"TableName\":\"t\",\"CapacityUnits\":0.5}", "GetItem");
	assert_true(u.read == 0.5 && u.write == 0);
	u = units("{\"TableName\":\"t\",\"CapacityUnits\":2}", "PutItem");
	assert_true(u.read == 0 && u.write == 2);
	/* A batch: one object per table. */
	u = units("[{\"CapacityUnits\":1.5},{\"CapacityUnits\":2}]", "BatchGetItem");
	assert_true(u.read == 3.5 && u.write == 0);
	/* A transaction splits; CapacityUnits is their sum, not counted twice. */
	u = units("{\"CapacityUnits\":6,\"ReadCapacityUnits\":2,\"WriteCapacityUnits\":4}",
	          "TransactWriteItems");
	assert_true(u.read == 2 && u.write == 4);
	/* A split that leaves part of the whole unexplained charges the rest to the op. */
	u = units("{\"CapacityUnits\":5,\"WriteCapacityUnits\":4}", "UpdateItem");
	assert_true(u.read == 0 && u.write == 5);
	/* Junk and negative numbers refund nothing. */
	u = units("{\"CapacityUnits\":-3}", "GetItem");
	assert_true(u.read == 0 && u.write == 0);
	u = units("{\"CapacityUnits\":\"7\"}", "GetItem");
	assert_true(u.read == 0);
	u = units("[1, null, {\"CapacityUnits\":1}]", "Query");
	assert_true(u.read == 1);
	cc = json_loads("[{\"CapacityUnits\":1},{\"ReadCapacityUnits\":0.5,"
	                "\"WriteCapacityUnits\":1}]",
	                0, NULL);
	assert_true(ddb_capacity_total(cc) == 2.5);
	json_decref(cc);
	assert_true(ddb_op_reports_capacity(op("Scan")));
	assert_false(ddb_op_reports_capacity(op("DescribeTable")));
	assert_false(ddb_op_reports_capacity(NULL));
}

static void test_check(void **state)
{
	budget_limits lim = {2, 1};
	ddb_units spent = {1.5, 1};
	bg_err e;

	(void)state;
	bg_err_clear(&e);
	assert_true(budget_set(&lim));
	assert_false(budget_set(&BUDGET_NONE));
	/* Reads still have half a unit; writes are spent. */
	assert_int_equal(budget_check("grant g-1", "src", &lim, &spent, op("Query"), &e), 0);
	assert_int_equal(budget_check("grant g-1", "the policy's guardrails.budget", &lim, &spent,
	                              op("DeleteItem"), &e),
	                 BG_EDENIED);
	assert_non_null(strstr(e.msg, "grant g-1 has spent its write budget: 1 of 1 write "
	                              "capacity units (the policy's guardrails.budget)"));
	assert_non_null(strstr(e.msg, "did not run"));
	assert_non_null(strstr(e.msg, "new grant"));
	/* A budget is spent when reached, not only when passed. */
	spent.read = 2;
	assert_int_equal(budget_check("g", "s", &lim, &spent, op("GetItem"), &e), BG_EDENIED);
	assert_non_null(strstr(e.msg, "read budget: 2 of 2"));
	/* PartiQL may read or write: checked against both. */
	spent = (ddb_units){2, 0};
	assert_int_equal(budget_check("g", "s", &lim, &spent, op("ExecuteStatement"), &e),
	                 BG_EDENIED);
	/* No limit, and operations that consume no capacity, are never refused. */
	lim = (budget_limits){-1, -1};
	spent = (ddb_units){1e9, 1e9};
	assert_int_equal(budget_check("g", "s", &lim, &spent, op("Scan"), &e), 0);
	lim = (budget_limits){0.5, 0.5};
	assert_int_equal(budget_check("g", "s", &lim, &spent, op("DescribeTable"), &e), 0);
	assert_int_equal(budget_check("g", "s", NULL, &spent, op("Scan"), &e), 0);
}

static void test_spend(void **state)
{
	gw_spend *s = gw_spend_new();
	ddb_units u = {0.5, 0}, w = {0, 2}, g, r;
	json_t *j;

	(void)state;
	assert_non_null(s);
	gw_spend_get(s, "g-1", "rb", &g, &r);
	assert_true(g.read == 0 && r.read == 0);
	assert_int_equal(gw_spend_charge(s, "g-1", "rb", &u), 0);
	assert_int_equal(gw_spend_charge(s, "g-1", NULL, &w), 0);
	assert_int_equal(gw_spend_charge(s, "g-2", "rb", &u), 0);
	gw_spend_get(s, "g-1", "rb", &g, &r);
	assert_true(g.read == 0.5 && g.write == 2 && r.read == 0.5 && r.write == 0);
	gw_spend_get(s, "g-1", "other", &g, &r);
	assert_true(r.read == 0 && r.write == 0);
	j = gw_spend_json(s, "g-1");
	assert_true(json_real_value(json_object_get(j, "write")) == 2);
	assert_true(json_real_value(json_object_get(
	                json_object_get(json_object_get(j, "runbooks"), "rb"), "read")) == 0.5);
	json_decref(j);
	gw_spend_free(s);
	gw_spend_free(NULL);
}

static void test_rate_left(void **state)
{
	rl_rate rate = {.per_second = 2, .burst = 3};
	rl_bucket b = {0};
	gw_limiter *l = gw_limiter_new();
	int64_t wait;

	(void)state;
	assert_int_equal(rl_available(b, &rate, 1000), 3);
	assert_true(rl_take(&b, &rate, 1000, NULL));
	assert_true(rl_take(&b, &rate, 1000, NULL));
	assert_int_equal(rl_available(b, &rate, 1000), 1);
	assert_int_equal(rl_available(b, &rate, 1500), 2); /* peeking takes nothing */
	assert_int_equal(rl_available(b, &rate, 1000), 1);
	assert_int_equal(gw_limiter_left(l, "g", &rate, 5000), 3); /* never seen: a full burst */
	assert_true(gw_limiter_take(l, "g", &rate, 5000, &wait));
	assert_int_equal(gw_limiter_left(l, "g", &rate, 5000), 2);
	assert_int_equal(gw_limiter_left(l, "g", NULL, 5000), -1);
	gw_limiter_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_units),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_spend),
	    cmocka_unit_test(test_rate_left),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
