/*
 * fuzz_capacity.c - libFuzzer target for the capacity units of DynamoDB's answers
 * (protocol/ddb_capacity), which the budgets charge (policy/budget). The input is an
 * answer in JSON; its ConsumedCapacity (any shape: object, list, junk) is counted for
 * every item operation. Never a crash or leak; the units are finite and never negative
 * (an answer must not refund a budget); read and write apart add up to the total; a read
 * operation is charged no write units unless DynamoDB split them, and the other way round;
 * and a budget check on the result is refused exactly when a limit is reached.
 */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "policy/budget.h"
#include "protocol/ddb_capacity.h"

static const char *const ops[] = {
    "GetItem", "Query", "PutItem", "TransactWriteItems", "BatchGetItem", "ExecuteStatement"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
	const json_t *cc = json_object_get(doc, "ConsumedCapacity");
	double total = ddb_capacity_total(cc);
	size_t i;

	CHECK(isfinite(total) && total >= 0);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const ddb_op_info *op = ddb_op_lookup(ops[i], strlen(ops[i]));
		ddb_units u = ddb_capacity_units(cc, op), none = ddb_capacity_units(cc, NULL);
		budget_limits lim = {u.read, u.write};
		bg_err e;

		CHECK(op != NULL && ddb_op_reports_capacity(op));
		CHECK(isfinite(u.read) && isfinite(u.write) && u.read >= 0 && u.write >= 0);
		CHECK(fabs(u.read + u.write - total) <= 1e-6 * (total + 1));
		CHECK(fabs(none.read + none.write - total) <= 1e-6 * (total + 1));
		/* A limit equal to what was spent is reached: the next request is refused. */
		if (u.read > 0 && !ddb_op_charges_write(op))
			CHECK(budget_check("g", "s", &lim, &u, op, &e) == BG_EDENIED);
		lim.read = u.read + 1;
		lim.write = u.write + 1;
		CHECK(budget_check("g", "s", &lim, &u, op, &e) == 0);
	}
	json_decref(doc);
	return 0;
}
