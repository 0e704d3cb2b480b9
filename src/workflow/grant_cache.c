/*
 * grant_cache.c - live grants by access key id (see grant_cache.h): a chained hash table
 * under a read-write lock, entries reference-counted and never changed in place.
 */
#include "workflow/grant_cache.h"

#include "common/limits.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 1024 /* grants are few; chains stay short */

typedef struct entry {
	store_grant g; /* first: a store_grant pointer is an entry pointer */
	atomic_int refs;
	struct entry *next;
} entry;

struct grant_cache {
	pthread_rwlock_t lock;
	entry *b[BUCKETS];
	size_t n;
};

static size_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)(h % BUCKETS);
}

void grant_cache_release(const store_grant *g)
{
	entry *en = (entry *)g;

	if (en != NULL && atomic_fetch_sub(&en->refs, 1) == 1)
		free(en);
}

int grant_cache_put(grant_cache *gc, const store_grant *g)
{
	entry *en = calloc(1, sizeof(*en)), **pp, *old = NULL;
	size_t h = hash(g->access_key_id);

	if (en == NULL) {
		/* Fail safe: drop what is cached, so a revoked grant is never served as live
		 * (its key is then unknown, and refused). */
		pthread_rwlock_wrlock(&gc->lock);
		for (pp = &gc->b[h]; *pp != NULL; pp = &(*pp)->next)
			if (strcmp((*pp)->g.access_key_id, g->access_key_id) == 0) {
				old = *pp;
				*pp = old->next;
				gc->n--;
				break;
			}
		pthread_rwlock_unlock(&gc->lock);
		if (old != NULL)
			grant_cache_release(&old->g);
		return BG_ENOMEM;
	}
	en->g = *g;
	atomic_init(&en->refs, 1);
	pthread_rwlock_wrlock(&gc->lock);
	for (pp = &gc->b[h]; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->g.access_key_id, g->access_key_id) == 0) {
			old = *pp;
			en->next = old->next;
			*pp = en;
			break;
		}
	if (old == NULL) {
		en->next = gc->b[h];
		gc->b[h] = en;
		gc->n++;
	}
	pthread_rwlock_unlock(&gc->lock);
	if (old != NULL)
		grant_cache_release(&old->g);
	return 0;
}

const store_grant *grant_cache_get(grant_cache *gc, const char *akid)
{
	entry *en;

	pthread_rwlock_rdlock(&gc->lock);
	for (en = gc->b[hash(akid)]; en != NULL; en = en->next)
		if (strcmp(en->g.access_key_id, akid) == 0) {
			atomic_fetch_add(&en->refs, 1);
			break;
		}
	pthread_rwlock_unlock(&gc->lock);
	return en ? &en->g : NULL;
}

size_t grant_cache_size(grant_cache *gc)
{
	size_t n;

	pthread_rwlock_rdlock(&gc->lock);
	n = gc->n;
	pthread_rwlock_unlock(&gc->lock);
	return n;
}

typedef struct load_ctx {
	grant_cache *gc;
	int64_t since;
	int rc;
} load_ctx;

static int load_one(void *ctx, const store_grant *g)
{
	load_ctx *l = ctx;

	if (g->expires_at < l->since)
		return 0;
	l->rc = grant_cache_put(l->gc, g);
	return l->rc;
}

int grant_cache_new(store *st, int64_t now, grant_cache **out, bg_err *e)
{
	grant_cache *gc = calloc(1, sizeof(*gc));
	load_ctx l;
	int rc;

	*out = NULL;
	if (gc == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	pthread_rwlock_init(&gc->lock, NULL);
	l.gc = gc;
	l.since = now - BG_GRANT_CACHE_KEEP_EXPIRED_S;
	l.rc = 0;
	rc = st ? store_grant_list(st, NULL, load_one, &l, e) : 0;
	if (rc == 0 && l.rc != 0)
		rc = bg_err_set(e, l.rc, "out of memory loading grants");
	if (rc != 0) {
		grant_cache_free(gc);
		return rc;
	}
	*out = gc;
	return 0;
}

void grant_cache_free(grant_cache *gc)
{
	size_t i;

	if (gc == NULL)
		return;
	for (i = 0; i < BUCKETS; i++)
		while (gc->b[i]) {
			entry *en = gc->b[i];
			gc->b[i] = en->next;
			grant_cache_release(&en->g);
		}
	pthread_rwlock_destroy(&gc->lock);
	free(gc);
}
