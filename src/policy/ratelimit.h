/*
 * ratelimit.h - a token bucket: how many requests a grant may make per second, with a
 * burst (issue 10, "Rate and size"; docs/policy.md, guardrails).
 *
 * Pure: the caller passes the time, keeps the bucket, and decides what a refusal says.
 * A bucket starts full (burst tokens) and gains per_second tokens a second, never more
 * than burst; a request takes one. Integer arithmetic in milli-tokens, so a long-lived
 * bucket does not drift and a test can step the clock exactly.
 */
#ifndef BG_POLICY_RATELIMIT_H
#define BG_POLICY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct rl_rate {
	int64_t per_second; /* >= 1 */
	int64_t burst;      /* >= 1 */
} rl_rate;

typedef struct rl_bucket {
	int64_t milli;   /* tokens x 1000 */
	int64_t last_ms; /* when milli was last brought up to date; 0: never (full) */
} rl_bucket;

/* Takes one token at now_ms (monotonic milliseconds). True when there was one; false
 * with *retry_ms (if not NULL) the wait until there is. A clock that goes back is taken
 * as no time passing. */
bool rl_take(rl_bucket *b, const rl_rate *r, int64_t now_ms, int64_t *retry_ms);

/* The requests b would let through at once at now_ms (b itself is not changed). */
int64_t rl_available(rl_bucket b, const rl_rate *r, int64_t now_ms);

#endif
