/*
 * usage.c - a grant's use of its guardrails (see usage.h).
 */
#include "gateway/usage.h"

#include <string.h>

#include "common/clock.h"
#include "gateway/policyfile.h"
#include "policy/policy.h"

/* {"spent": S, "budget": B} with budget null when there is none (limit < 0). */
static json_t *against(double spent, double limit)
{
	return json_pack("{s:f,s:o}", "spent", spent, "budget",
	                 limit >= 0 ? json_real(limit) : json_null());
}

static json_t *pair(const ddb_units *spent, double read_limit, double write_limit)
{
	return json_pack("{s:o,s:o}", "read", against(spent->read, read_limit), "write",
	                 against(spent->write, write_limit));
}

/* Each pinned runbook's spend against its budget, as the runbook it was granted as (a
 * runbook edited since is not the one the grant may run: its budget is shown as none). */
static json_t *runbooks_usage(gw *g, const store_grant *sg)
{
	gw_rb_snapshot *snap = gw_runbooks_acquire(g->runbooks);
	json_t *o = json_object();
	size_t i;

	for (i = 0; o != NULL && i < sg->n_runbooks; i++) {
		const runbook *rb = runbook_set_find(gw_rb_set(snap), sg->runbooks[i]);
		ddb_units total, spent;

		if (rb != NULL && strcmp(rb->hash, sg->runbook_hashes[i]) != 0)
			rb = NULL;
		gw_spend_get(g->spend, sg->id, sg->runbooks[i], &total, &spent);
		json_object_set_new(o, sg->runbooks[i],
		                    pair(&spent, rb != NULL ? rb->budget_read : -1,
		                         rb != NULL ? rb->budget_write : -1));
	}
	gw_runbooks_release(snap);
	return o;
}

json_t *gw_grant_usage(gw *g, const store_grant *sg, int64_t now)
{
	const policy *p = gw_policy_rules(g->rules);
	const budget_limits *b = policy_grant_budget(p);
	const rl_rate *rate = policy_grant_rate(p);
	ddb_units spent;
	json_t *o, *r = json_null();

	gw_spend_get(g->spend, sg->id, NULL, &spent, NULL);
	if (rate != NULL)
		r = json_pack("{s:I,s:I,s:I}", "per_second", (json_int_t)rate->per_second, "burst",
		              (json_int_t)rate->burst, "requests_left",
		              (json_int_t)gw_limiter_left(g->limiter, sg->id, rate, bg_mono_ms()));
	o = json_pack("{s:I,s:o,s:o}", "seconds_left",
	              (json_int_t)(sg->expires_at > now ? sg->expires_at - now : 0), "capacity",
	              pair(&spent, b != NULL ? b->read : -1, b != NULL ? b->write : -1), "rate", r);
	if (o != NULL && sg->n_runbooks > 0)
		json_object_set_new(o, "runbooks", runbooks_usage(g, sg));
	return o;
}
