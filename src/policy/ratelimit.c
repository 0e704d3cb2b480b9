/*
 * ratelimit.c - the token bucket (ratelimit.h).
 */
#include "policy/ratelimit.h"

#include <stddef.h>

/* Brings b up to now_ms: the tokens gained since it was last used, never above burst. */
static void refill(rl_bucket *b, const rl_rate *r, int64_t now_ms)
{
	int64_t cap = r->burst * 1000, elapsed;

	if (b->last_ms == 0) {
		b->milli = cap;
		b->last_ms = now_ms;
	}
	elapsed = now_ms > b->last_ms ? now_ms - b->last_ms : 0;
	/* per_second tokens a second is per_second milli-tokens a millisecond; a bucket
	 * idle for longer than it takes to fill is simply full. */
	if (elapsed >= cap / r->per_second + 1)
		b->milli = cap;
	else
		b->milli += elapsed * r->per_second;
	if (b->milli > cap)
		b->milli = cap;
	b->last_ms = now_ms > b->last_ms ? now_ms : b->last_ms;
}

int64_t rl_available(rl_bucket b, const rl_rate *r, int64_t now_ms)
{
	refill(&b, r, now_ms);
	return b.milli / 1000;
}

bool rl_take(rl_bucket *b, const rl_rate *r, int64_t now_ms, int64_t *retry_ms)
{
	refill(b, r, now_ms);
	if (b->milli >= 1000) {
		b->milli -= 1000;
		return true;
	}
	if (retry_ms != NULL)
		*retry_ms = (1000 - b->milli + r->per_second - 1) / r->per_second;
	return false;
}
