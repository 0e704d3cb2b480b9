/*
 * store_backend.h - what a store backend implements: the method table behind store.h.
 *
 * For backends only (src/store/<name>/); everyone else uses store.h. A backend defines
 * its own store and transaction structures with `struct store` and `struct store_tx`
 * as their first members (as an sqlite3_file begins every VFS's file), fills in a
 * store_methods, and is listed in store.c's table of backends.
 *
 * store.c has already checked every argument against the rules in store.h (names,
 * sizes, a grant's shape; a transaction that has not failed), so a method only stores
 * and fetches. What it must guarantee is in store.h: the BG_E* codes of each operation,
 * durability at commit, append-only audit rows, and that store_audit_head() claims the
 * audit table until its transaction ends. The test suite (tests/unit/test_store.c)
 * holds every backend to it.
 */
#ifndef BG_STORE_BACKEND_H
#define BG_STORE_BACKEND_H

#include "store/store.h"

typedef struct store_methods store_methods;

struct store {
	const store_methods *m;
};

struct store_tx {
	store *s;
	int failed; /* the code of the first failed operation; then only a rollback is left */
};

/* Which key a lookup is by. */
typedef enum store_user_key { STORE_USER_BY_NAME, STORE_USER_BY_TOKEN } store_user_key;
typedef enum store_grant_key { STORE_GRANT_BY_ID, STORE_GRANT_BY_AKID } store_grant_key;

struct store_methods {
	const char *name;
	const char *(*version)(void); /* the engine's release, for `breakglass --version` */

	/* Lifetime; see store_open_backend(), store_free(), store_maintain(). */
	int (*open)(const char *where, bool create, store **out, bg_err *e);
	void (*close)(store *s);
	void (*maintain)(store *s);

	/* Transactions. begin sets (*out)->s; commit and rollback end tx whatever happens
	 * (commit rolls back on failure). */
	int (*begin)(store *s, store_tx **out, bg_err *e);
	int (*commit)(store_tx *tx, bg_err *e);
	void (*rollback)(store_tx *tx);

	/* Users. key is a NUL-terminated name or a 32-byte token hash. */
	int (*user_add)(store_tx *tx, const char *name, const char *role,
	                const uint8_t token_hash[32], const uint8_t totp_seed[16], int64_t now,
	                bg_err *e);
	int (*user_get)(store *s, store_user_key by, const void *key, store_user *out, bg_err *e);
	int (*user_use_otp)(store_tx *tx, int64_t user_id, int64_t counter, bg_err *e);
	int (*user_otp_result)(store_tx *tx, int64_t user_id, bool ok, int64_t max_failures,
	                       int64_t lock_until, bool *locked, bg_err *e);
	int (*user_list)(store *s, int (*fn)(void *ctx, const store_user *u), void *ctx, bg_err *e);
	int (*user_update)(store_tx *tx, const store_user *u, const uint8_t *token_hash, bg_err *e);

	/* Grants. grant_page fills page[0..max) with the grants (of user, or all when NULL)
	 * that come after `after` in store_grant_list()'s order (from the newest when after
	 * is NULL), setting *n; fewer than max means there are no more. */
	int (*grant_add)(store_tx *tx, const store_grant *g, bg_err *e);
	int (*grant_get)(store *s, store_grant_key by, const char *key, store_grant *out,
	                 bg_err *e);
	int (*grant_revoke)(store_tx *tx, const char *id, const char *who, int64_t now,
	                    store_grant *out, bg_err *e);
	int (*grant_get_tx)(store_tx *tx, const char *id, store_grant *out, bg_err *e);
	int (*grant_extend)(store_tx *tx, const char *id, int64_t expires_at, bg_err *e);
	int (*grant_page)(store *s, const char *user, const store_grant *after, store_grant *page,
	                  size_t max, size_t *n, bg_err *e);

	/* Incidents. A read method with tx runs in it; with tx NULL, on the committed state. */
	int (*incident_add)(store_tx *tx, const store_incident *in, bg_err *e);
	int (*incident_get)(store *s, store_tx *tx, const char *id, store_incident *out, bg_err *e);
	int (*incident_find_open)(store_tx *tx, const char *source, const char *group,
	                          store_incident *out, bg_err *e);
	int (*incident_update)(store_tx *tx, const store_incident *in, bg_err *e);
	int (*incident_list)(store *s, int (*fn)(void *ctx, const store_incident *in), void *ctx,
	                     bg_err *e);
	int (*alert_get)(store_tx *tx, const char *incident, const char *key, store_alert *out,
	                 bg_err *e);
	int (*alert_put)(store_tx *tx, const store_alert *a, bg_err *e);
	int (*alert_list)(store *s, const char *incident,
	                  int (*fn)(void *ctx, const store_alert *a), void *ctx, bg_err *e);
	int (*alert_count)(store_tx *tx, const char *incident, int64_t *firing, int64_t *all,
	                   bg_err *e);
	int (*incident_event_add)(store_tx *tx, const char *incident,
	                          const store_incident_event *ev, bg_err *e);
	int (*incident_event_list)(store *s, const char *incident,
	                           int (*fn)(void *ctx, const store_incident_event *ev), void *ctx,
	                           bg_err *e);
	int (*delivery_record)(store_tx *tx, const char *source, const char *id, int64_t now,
	                       bg_err *e);

	/* Requests and approvals (reads: as for incidents). */
	int (*request_add)(store_tx *tx, const store_request *r, bg_err *e);
	int (*request_get)(store *s, store_tx *tx, const char *id, store_request *out, bg_err *e);
	int (*request_update)(store_tx *tx, const store_request *r, bg_err *e);
	int (*request_list)(store *s, const char *requester,
	                    int (*fn)(void *ctx, const store_request *r), void *ctx, bg_err *e);
	int (*approval_add)(store_tx *tx, const store_approval *a, bg_err *e);
	int (*approval_list)(store *s, store_tx *tx, const char *request,
	                     int (*fn)(void *ctx, const store_approval *a), void *ctx, bg_err *e);

	/* Expiry sweeps and the notification outbox (store.h says what each returns). */
	int (*request_expired)(store *s, int64_t since, int64_t now, char (*ids)[STORE_ID_MAX],
	                       size_t max, size_t *n, bg_err *e);
	int (*grant_expired)(store *s, int64_t since, int64_t now, store_grant *out, size_t max,
	                     size_t *n, bg_err *e);
	int (*grant_expiry_noticed)(store_tx *tx, const char *id, bg_err *e);
	int (*outbox_add)(store_tx *tx, store_outbox *o, bg_err *e);
	int (*outbox_due)(store *s, int64_t now, int64_t limit,
	                  int (*fn)(void *ctx, const store_outbox *o), void *ctx, bg_err *e);
	int (*outbox_claim)(store_tx *tx, int64_t id, int64_t now, int64_t until, bg_err *e);
	int (*outbox_result)(store_tx *tx, int64_t id, int64_t now, bool delivered, int64_t next_at,
	                     const char *error, bg_err *e);
	int (*outbox_get)(store *s, int64_t id, store_outbox *out, bg_err *e);

	/* The audit table. */
	int (*audit_head)(store_tx *tx, int64_t *seq, char hash[STORE_HASH_HEX + 1], bg_err *e);
	int (*audit_insert)(store_tx *tx, const store_audit_row *row, bg_err *e);
	int (*audit_scan_back)(store *s, int64_t before, int64_t limit,
	                       int (*fn)(void *ctx, const store_audit_row *row, bg_err *e),
	                       void *ctx, bg_err *e);
	int (*audit_scan)(store *s, int64_t after, int64_t limit,
	                  int (*fn)(void *ctx, const store_audit_row *row, bg_err *e), void *ctx,
	                  bg_err *e);
	int (*audit_by_request)(store *s, const char *request_id, int64_t limit,
	                        int (*fn)(void *ctx, const store_audit_row *row, bg_err *e),
	                        void *ctx, bg_err *e);

	/* The audit sinks' cursors. */
	int (*sink_cursor_get)(store *s, const char *name, int64_t *seq, bg_err *e);
	int (*sink_cursor_set)(store_tx *tx, const char *name, int64_t seq, int64_t now, bg_err *e);
	int (*spend_add)(store_tx *tx, const char *grant_id, const char *runbook, double read,
	                 double write, bg_err *e);
	int (*spend_list)(store *s, const char *grant_id,
	                  int (*fn)(void *ctx, const char *runbook, double read, double write,
	                            bg_err *e),
	                  void *ctx, bg_err *e);

	/* Post-incident reviews. */
	int (*review_open)(store_tx *tx, const store_review *r, bg_err *e);
	int (*review_get)(store *s, store_tx *tx, const char *incident, store_review *out,
	                  bg_err *e);
	int (*review_sign)(store_tx *tx, const char *incident, const char *who, int64_t at,
	                   const char *learnings, bg_err *e);
	int (*review_list)(store *s, int (*fn)(void *ctx, const store_review *r), void *ctx,
	                   bg_err *e);
	int (*review_overdue_noticed)(store_tx *tx, const char *incident, bg_err *e);
};

/* The backends built in. */
extern const store_methods store_sqlite_methods;

#endif
