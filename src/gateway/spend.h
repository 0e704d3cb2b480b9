/*
 * spend.h - what each grant has consumed of DynamoDB's capacity on this gateway, in total
 * and per runbook, for the capacity budgets (policy/budget.h; issue 10).
 *
 * In memory, so the budget check adds no database read to the request path; rebuilt at
 * start from the store's running totals of the response records' "charged" members (the
 * audit trail is the ledger: a charge is on the record, and added to the totals in the
 * record's own transaction, before the answer is released, so a restart loses none and
 * reads a few rows, not the grant's whole trail).
 * Behind a load balancer each gateway counts what it forwarded since its start plus what
 * the trail held then.
 */
#ifndef BG_GATEWAY_SPEND_H
#define BG_GATEWAY_SPEND_H

#include <jansson.h>

#include "common/err.h"
#include "policy/budget.h"
#include "protocol/ddb_capacity.h"
#include "store/store.h"

typedef struct gw_spend gw_spend;

/* NULL when out of memory. */
gw_spend *gw_spend_new(void);
void gw_spend_free(gw_spend *s);

/* Adds u to grant_id's total and, when runbook is not NULL, to that runbook's. BG_ENOMEM
 * when a new grant's entry cannot be made. Thread-safe. */
int gw_spend_charge(gw_spend *s, const char *grant_id, const char *runbook,
                    const ddb_units *u) BG_MUST_CHECK;

/* The budget check and the hold, in one step under the lock (so that requests in
 * parallel cannot all pass a budget with room for one): 0 when a request of op may run
 * under the grant's limits glim (NULL: none) and, when runbook is not NULL, the runbook's
 * rblim, counting what was spent and what is held for requests in flight; then hold (a
 * request's least cost, policy/budget.h) is held for it until gw_spend_settle(). Else
 * BG_EDENIED with budget_check_held()'s message naming whose budget (grant_who,
 * runbook_who), or BG_ENOMEM. */
int gw_spend_admit(gw_spend *s, const char *grant_id, const char *runbook,
                   const budget_limits *glim, const budget_limits *rblim, const ddb_op_info *op,
                   const ddb_units *hold, const char *grant_who, const char *runbook_who,
                   bg_err *e) BG_MUST_CHECK;

/* Ends a hold made by gw_spend_admit(): hold is released and used (NULL: nothing, the
 * request never ran or its cost is unknown) charged as gw_spend_charge() does. */
void gw_spend_settle(gw_spend *s, const char *grant_id, const char *runbook, const ddb_units *hold,
                     const ddb_units *used);

/* What grant_id has spent in total (*grant) and on runbook (*rb, when both are not NULL).
 * Zero for a grant never charged. Thread-safe. */
void gw_spend_get(gw_spend *s, const char *grant_id, const char *runbook, ddb_units *grant,
                  ddb_units *rb);

/* {"read": R, "write": W, "runbooks": {id: {"read": R, "write": W}}}, a new object, or
 * NULL when out of memory. */
json_t *gw_spend_json(gw_spend *s, const char *grant_id);

/* Rebuilds grant_id's spend from the running totals in st (store_spend_list), replacing
 * what was held. */
int gw_spend_load(gw_spend *s, store *st, const char *grant_id, bg_err *e) BG_MUST_CHECK;

#endif
