/*
 * limiter.h - each grant's request rate on this gateway: one token bucket per grant
 * (policy/ratelimit.h), in memory, shared by the event loops (issue 10, "Rate and size").
 *
 * In memory on purpose: the check is on the request path and must add no database read.
 * A gateway restart gives every grant a fresh burst, and behind a load balancer each
 * gateway counts its own share (docs/policy.md says so); the budgets of capacity, which
 * must survive a restart, are kept elsewhere.
 */
#ifndef BG_GATEWAY_LIMITER_H
#define BG_GATEWAY_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/ratelimit.h"

typedef struct gw_limiter gw_limiter;

/* NULL when out of memory. */
gw_limiter *gw_limiter_new(void);
void gw_limiter_free(gw_limiter *l);

/* Takes one request of grant_id's rate r at now_ms (monotonic). True when allowed; false
 * with *retry_ms the wait until the next one would be. Thread-safe. */
bool gw_limiter_take(gw_limiter *l, const char *grant_id, const rl_rate *r, int64_t now_ms,
                     int64_t *retry_ms);

/* The requests grant_id could make at once now under r (for grant show and status), or
 * -1 when there is no limit (r NULL). Thread-safe; takes nothing. */
int64_t gw_limiter_left(gw_limiter *l, const char *grant_id, const rl_rate *r, int64_t now_ms);

#endif
