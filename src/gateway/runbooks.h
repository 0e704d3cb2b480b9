/*
 * runbooks.h - the runbook folder as the running gateway holds it: loaded at start,
 * reloaded on SIGHUP, read by the API thread (to pin a grant's runbooks) and by the event
 * loops (to match requests against them) without blocking each other.
 *
 * Each load is an immutable snapshot with a reference count: a reader takes the current
 * one, uses it, and releases it; a reload swaps in a new one, and the old one goes when
 * its last reader lets go. A file with problems is refused at reload, loudly (one log
 * line per problem), and the version loaded before stays in force: an emergency fix
 * should not lose the runbook it fixes because of a typo.
 */
#ifndef BG_GW_RUNBOOKS_H
#define BG_GW_RUNBOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "runbook/runbook.h"
#include "workflow/service.h"

typedef struct gw_runbooks gw_runbooks;
typedef struct gw_rb_snapshot gw_rb_snapshot;

/* Loads dir ("" or NULL: no folder; runbook grants are then refused). A file with problems
 * is left out and each problem logged; only a folder that cannot be read at all (or has
 * no usable tables.yaml) fails. */
int gw_runbooks_new(const char *dir, gw_runbooks **out, bg_err *e) BG_MUST_CHECK;

void gw_runbooks_free(gw_runbooks *r);

/* Reads the folder again and swaps the new snapshot in (see above). Returns the number
 * of problems found (each logged). */
size_t gw_runbooks_reload(gw_runbooks *r);

/* The current snapshot and its set (never NULL while r exists); release it after use. */
gw_rb_snapshot *gw_runbooks_acquire(gw_runbooks *r);
const runbook_set *gw_rb_set(const gw_rb_snapshot *s);
void gw_runbooks_release(gw_rb_snapshot *s);

/*
 * Paging through a runbook's results, per page key (rb_decision.page_key: grant, runbook,
 * parameters). A first page (esk NULL) is page 1. A next page must continue from the
 * LastEvaluatedKey the newest answered page returned (esk: hex SHA-256 of the request's
 * ExclusiveStartKey, compared with what gw_runbooks_page_answered recorded) and is
 * numbered from that page: a key remembered from an earlier sequence, or overlapping
 * requests, cannot reach past max_pages. Returns the page's number, or 0 when it is past
 * max_pages or continues nothing known (nothing is recorded then). The table is bounded
 * (BG_MAX_PAGE_KEYS): when full, the least recently used key goes, which only makes its
 * next continuation refused.
 */
int64_t gw_runbooks_page(gw_runbooks *r, const char *key, const char *esk, int64_t max_pages);

/* Records that page number page, served under key, returned LastEvaluatedKey lek (hex
 * SHA-256, or NULL: none, the results are complete). */
void gw_runbooks_page_answered(gw_runbooks *r, const char *key, const char *lek, int64_t page);

/* svc_runbooks' pin, with ctx a gw_runbooks. */
int gw_runbooks_pin(void *ctx, const char *id, char table[BG_MAX_TABLE_NAME + 1],
                    char op[STORE_OP_MAX], char hash[65]);

/* svc_runbooks' describe, with ctx a gw_runbooks: runbook_describe() of runbook id as
 * loaded now, or NULL (no such runbook, out of memory). */
json_t *gw_runbooks_describe(void *ctx, const char *id);

#endif
