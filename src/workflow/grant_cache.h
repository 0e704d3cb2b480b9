/*
 * grant_cache.h - the live grants, in memory, for the gateway's per-request path.
 *
 * The request path reads nothing from the database: every grant that can still matter
 * (not expired for more than a day, so a late request still gets "expired" rather than
 * "unknown key") is loaded at start-up, and every change made through this process
 * (a new grant, a revocation) is applied here as soon as it has committed, so
 * revocation takes effect on the very next request. Entries are immutable and
 * reference-counted: a reader keeps its entry valid across an asynchronous request
 * even if the grant is revoked meanwhile (the revoked state is a new entry).
 */
#ifndef BG_GRANT_CACHE_H
#define BG_GRANT_CACHE_H

#include "common/err.h"
#include "store/store.h"

typedef struct grant_cache grant_cache;

/* Loads the grants of st that expire after now - 86400 (st NULL: starts empty). */
int grant_cache_new(store *st, int64_t now, grant_cache **out, bg_err *e) BG_MUST_CHECK;

/* Frees the cache; entries still referenced stay valid until released. Accepts NULL. */
void grant_cache_free(grant_cache *gc);

/* The grant with access key id akid, referenced (release it with grant_cache_release),
 * or NULL. Thread-safe. */
const store_grant *grant_cache_get(grant_cache *gc, const char *akid);
void grant_cache_release(const store_grant *g);

/* Adds or replaces a grant (a copy is kept). Thread-safe. On BG_ENOMEM any cached
 * entry for the key is removed, so a revoked grant is never served as live. */
int grant_cache_put(grant_cache *gc, const store_grant *g) BG_MUST_CHECK;

/* Grants cached (for tests and metrics). */
size_t grant_cache_size(grant_cache *gc);

#endif
