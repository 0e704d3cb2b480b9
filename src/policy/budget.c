/*
 * budget.c - capacity budgets (see budget.h).
 */
#include "policy/budget.h"

#include <stdio.h>

bool budget_set(const budget_limits *lim)
{
	return lim != NULL && (lim->read >= 0 || lim->write >= 0);
}

static int spent_one(const char *who, const char *source, const char *kind, double limit,
                     double spent, double held, bg_err *e)
{
	char in_flight[96] = "";

	if (limit < 0 || spent + held < limit)
		return 0;
	if (held > 0)
		snprintf(in_flight, sizeof(in_flight),
		         ", and %g held for its requests still in flight", held);
	return bg_err_set(e, BG_EDENIED,
	                  "breakglass: %s has spent its %s budget: %g of %g %s capacity "
	                  "units%s (%s); this request did not run. For more, ask for a new grant "
	                  "(breakglass request)",
	                  who, kind, spent, limit, kind, in_flight, source);
}

int budget_check_held(const char *who, const char *source, const budget_limits *lim,
                      const ddb_units *spent, const ddb_units *held, const ddb_op_info *op,
                      bg_err *e)
{
	bool partiql = op != NULL && (op->flags & DDB_F_PARTIQL) != 0;
	ddb_units none = {0, 0};
	int rc = 0;

	if (held == NULL)
		held = &none;
	if (lim == NULL || !ddb_op_reports_capacity(op))
		return 0;
	if (!ddb_op_charges_write(op) || partiql)
		rc = spent_one(who, source, "read", lim->read, spent->read, held->read, e);
	if (rc == 0 && ddb_op_charges_write(op))
		rc = spent_one(who, source, "write", lim->write, spent->write, held->write, e);
	return rc;
}

int budget_check(const char *who, const char *source, const budget_limits *lim,
                 const ddb_units *spent, const ddb_op_info *op, bg_err *e)
{
	return budget_check_held(who, source, lim, spent, NULL, op, e);
}

ddb_units budget_hold_for(const ddb_op_info *op)
{
	ddb_units u = {0, 0};

	if (!ddb_op_reports_capacity(op))
		return u;
	if (ddb_op_charges_write(op))
		u.write = 1;
	else
		u.read = 0.5;
	return u;
}
