/*
 * budget.h - capacity budgets (issue 10, "Capacity budget"): how many read and write
 * capacity units a grant, and each runbook within it, may consume, and the refusal once
 * one is spent.
 *
 * Pure: the caller keeps what was spent (gateway/spend.h) and passes it in. A budget is
 * spent when what was consumed reaches it; the request that crosses it still runs (its
 * cost is known only from DynamoDB's answer), the next one of that kind is refused before
 * it reaches DynamoDB.
 */
#ifndef BG_POLICY_BUDGET_H
#define BG_POLICY_BUDGET_H

#include <stdbool.h>

#include "common/err.h"
#include "protocol/ddb_capacity.h"

/* Read and write capacity units; a negative value is no limit. */
typedef struct budget_limits {
	double read;
	double write;
} budget_limits;

#define BUDGET_NONE ((budget_limits){-1, -1})

/* True when lim sets a limit at all. */
bool budget_set(const budget_limits *lim);

/* 0 when a request of op may run under lim having spent spent; else BG_EDENIED with a
 * message naming whose budget (who: "grant g-1", "runbook orders-of-customer in grant
 * g-1"), where it is set (source: "the policy's guardrails.budget"), what was spent and
 * that a new grant is how to get more. A PartiQL operation is checked against both. */
int budget_check(const char *who, const char *source, const budget_limits *lim,
                 const ddb_units *spent, const ddb_op_info *op, bg_err *e);

/* budget_check() counting held too: the units set aside for requests still in flight
 * (their cost is known only from their answers), so parallel requests cannot all pass a
 * budget that has room for one. The message says how much of it is held. */
int budget_check_held(const char *who, const char *source, const budget_limits *lim,
                      const ddb_units *spent, const ddb_units *held, const ddb_op_info *op,
                      bg_err *e);

/* What a request of op is held at until its answer says what it cost: the least any
 * request of its kind consumes (half a read unit: an eventually consistent read of up to
 * 4 KB; one write unit). */
ddb_units budget_hold_for(const ddb_op_info *op);

#endif
