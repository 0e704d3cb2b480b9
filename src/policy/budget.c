/*
 * budget.c - capacity budgets (see budget.h).
 */
#include "policy/budget.h"

bool budget_set(const budget_limits *lim)
{
	return lim != NULL && (lim->read >= 0 || lim->write >= 0);
}

static int spent_one(const char *who, const char *source, const char *kind, double limit,
                     double spent, bg_err *e)
{
	if (limit < 0 || spent < limit)
		return 0;
	return bg_err_set(e, BG_EDENIED,
	                  "breakglass: %s has spent its %s budget: %g of %g %s capacity "
	                  "units (%s); this request did not run. For more, ask for a new grant "
	                  "(breakglass request)",
	                  who, kind, spent, limit, kind, source);
}

int budget_check(const char *who, const char *source, const budget_limits *lim,
                 const ddb_units *spent, const ddb_op_info *op, bg_err *e)
{
	bool partiql = op != NULL && (op->flags & DDB_F_PARTIQL) != 0;
	int rc = 0;

	if (lim == NULL || !ddb_op_reports_capacity(op))
		return 0;
	if (!ddb_op_charges_write(op) || partiql)
		rc = spent_one(who, source, "read", lim->read, spent->read, e);
	if (rc == 0 && ddb_op_charges_write(op))
		rc = spent_one(who, source, "write", lim->write, spent->write, e);
	return rc;
}
