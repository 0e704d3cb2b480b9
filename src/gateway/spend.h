/*
 * spend.h - what each grant has consumed of DynamoDB's capacity on this gateway, in total
 * and per runbook, for the capacity budgets (policy/budget.h; issue 10).
 *
 * In memory, so the budget check adds no database read to the request path; rebuilt at
 * start from the response records' "charged" members (the audit trail is the ledger: a
 * charge is on the record before the answer is released, so a restart loses none).
 * Behind a load balancer each gateway counts what it forwarded since its start plus what
 * the trail held then.
 */
#ifndef BG_GATEWAY_SPEND_H
#define BG_GATEWAY_SPEND_H

#include <jansson.h>

#include "common/err.h"
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

/* What grant_id has spent in total (*grant) and on runbook (*rb, when both are not NULL).
 * Zero for a grant never charged. Thread-safe. */
void gw_spend_get(gw_spend *s, const char *grant_id, const char *runbook, ddb_units *grant,
                  ddb_units *rb);

/* {"read": R, "write": W, "runbooks": {id: {"read": R, "write": W}}}, a new object, or
 * NULL when out of memory. */
json_t *gw_spend_json(gw_spend *s, const char *grant_id);

/* Rebuilds grant_id's spend from its response records in st (replacing what was held). */
int gw_spend_load(gw_spend *s, store *st, const char *grant_id, bg_err *e) BG_MUST_CHECK;

#endif
