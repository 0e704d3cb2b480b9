/*
 * limiter.c - the grants' token buckets (limiter.h): an open-addressing table of
 * BG_MAX_RATE_BUCKETS slots under one mutex (a lookup is a hash and a short probe; the
 * lock is held for that only).
 */
#include "gateway/limiter.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "store/store.h"

typedef struct slot {
	char id[STORE_ID_MAX]; /* "" when free */
	rl_bucket b;
} slot;

struct gw_limiter {
	pthread_mutex_t mu;
	slot slots[BG_MAX_RATE_BUCKETS];
};

gw_limiter *gw_limiter_new(void)
{
	gw_limiter *l = calloc(1, sizeof(*l));

	if (l != NULL && pthread_mutex_init(&l->mu, NULL) != 0) {
		free(l);
		return NULL;
	}
	return l;
}

void gw_limiter_free(gw_limiter *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of id, or NULL when it has none (a grant that made no request here). */
static slot *peek(gw_limiter *l, const char *id)
{
	size_t i, start = hash(id) % BG_MAX_RATE_BUCKETS;

	for (i = 0; i < BG_MAX_RATE_BUCKETS; i++) {
		slot *s = &l->slots[(start + i) % BG_MAX_RATE_BUCKETS];
		if (strcmp(s->id, id) == 0)
			return s;
		if (s->id[0] == '\0')
			return NULL;
	}
	return NULL;
}

/* The slot of id: its own, a free one, or (the table full) the one idle longest. */
static slot *find(gw_limiter *l, const char *id)
{
	size_t i, start = hash(id) % BG_MAX_RATE_BUCKETS;
	slot *oldest = NULL;

	for (i = 0; i < BG_MAX_RATE_BUCKETS; i++) {
		slot *s = &l->slots[(start + i) % BG_MAX_RATE_BUCKETS];

		if (strcmp(s->id, id) == 0)
			return s;
		if (s->id[0] == '\0') {
			snprintf(s->id, sizeof(s->id), "%s", id);
			memset(&s->b, 0, sizeof(s->b));
			return s;
		}
		if (oldest == NULL || s->b.last_ms < oldest->b.last_ms)
			oldest = s;
	}
	/* Full: a probe chain never has holes (slots are never emptied), so taking over the
	 * idlest slot keeps every other id findable. */
	snprintf(oldest->id, sizeof(oldest->id), "%s", id);
	memset(&oldest->b, 0, sizeof(oldest->b));
	return oldest;
}

bool gw_limiter_take(gw_limiter *l, const char *grant_id, const rl_rate *r, int64_t now_ms,
                     int64_t *retry_ms)
{
	bool ok;

	if (l == NULL || r == NULL || grant_id == NULL)
		return true;
	pthread_mutex_lock(&l->mu);
	ok = rl_take(&find(l, grant_id)->b, r, now_ms, retry_ms);
	pthread_mutex_unlock(&l->mu);
	return ok;
}

int64_t gw_limiter_left(gw_limiter *l, const char *grant_id, const rl_rate *r, int64_t now_ms)
{
	int64_t n;
	slot *s;

	if (l == NULL || r == NULL || grant_id == NULL)
		return -1;
	pthread_mutex_lock(&l->mu);
	s = peek(l, grant_id);
	n = s != NULL ? rl_available(s->b, r, now_ms) : r->burst;
	pthread_mutex_unlock(&l->mu);
	return n;
}
