/*
 * usage.h - what a live grant has used of its guardrails on this gateway, for the
 * responder and the security team (issue 10, "Visible to the responder"; issue 11,
 * status): capacity spent against the budgets (the policy's and each runbook's), the
 * requests it could make at once under the rate, and the time left.
 *
 * A read of memory only (gateway/spend.h, gateway/limiter.h, the policy and runbooks
 * as loaded), so `grant show`, `run` and `status` cost the request path nothing.
 */
#ifndef BG_GATEWAY_USAGE_H
#define BG_GATEWAY_USAGE_H

#include <jansson.h>
#include <stdint.h>

#include "gateway/gw.h"

/* {"seconds_left": N,
 *  "capacity": {"read": {"spent": R, "budget": B|null}, "write": {...}},
 *  "runbooks": {id: {"read": {...}, "write": {...}}},   (runbook grants)
 *  "rate": {"per_second": P, "burst": B, "requests_left": N} | null}
 * a new object, or NULL when out of memory. */
json_t *gw_grant_usage(gw *g, const store_grant *sg, int64_t now);

#endif
