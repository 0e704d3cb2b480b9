/*
 * store.h - the state store: users, grants and the audit table, in one SQLite file (WAL).
 *
 * One store is shared by every gateway thread; it keeps a small pool of SQLite
 * connections internally so callers never share a connection. Secrets are never stored
 * in plain form: API tokens and session tokens as SHA-256 hashes; the grant secret and
 * TOTP keys are derived from the master key (see keyring.h) and so not stored at all.
 * The schema is versioned in the meta table so later releases (and the PostgreSQL
 * backend) can migrate it.
 */
#ifndef BG_STORE_H
#define BG_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"

typedef struct store store;

#define STORE_ID_MAX   32 /* grant ids ("bg-" + 10 base32), access key ids (20) */
#define STORE_OP_MAX   (BG_MAX_OP_NAME + 1)
#define STORE_ROLE_MAX 16 /* "admin", "responder", "approver" */

typedef struct store_user {
	int64_t id;
	char name[BG_MAX_USER_NAME + 1];
	char role[STORE_ROLE_MAX];
	uint8_t totp_seed[16];    /* input to keyring_derive("totp", ...) */
	int64_t last_otp_counter; /* highest TOTP time step accepted; reuse is refused */
	int64_t created_at;
} store_user;

typedef struct store_grant {
	char id[STORE_ID_MAX];
	char user[BG_MAX_USER_NAME + 1];       /* grantee */
	char created_by[BG_MAX_USER_NAME + 1]; /* admin or approver who granted */
	char kind[16];                         /* "direct" (admin grant); later "request" */
	char access_key_id[STORE_ID_MAX];
	uint8_t session_token_hash[32]; /* SHA-256 of the session token */
	size_t n_tables;
	char tables[BG_MAX_GRANT_TABLES][BG_MAX_TABLE_NAME + 1];
	size_t n_ops;
	char ops[BG_MAX_GRANT_OPS][STORE_OP_MAX];
	int64_t created_at;
	int64_t expires_at;
	int64_t revoked_at; /* 0 while not revoked */
	char revoked_by[BG_MAX_USER_NAME + 1];
	char reason[BG_MAX_REASON + 1];
} store_grant;

/* Opens (create=false) or creates (create=true) the store in the data directory dir
 * (datadir.h; created too if need be): an SQLite file in WAL mode with
 * synchronous=FULL. Creating fails with BG_EEXISTS when a store is already there. On
 * success *out is owned by the caller. */
int store_open(const char *dir, bool create, store **out, bg_err *e) BG_MUST_CHECK;

/* Closes every connection. Accepts NULL. */
void store_free(store *s);

/* The directory the store lives in (owned by s). */
const char *store_dir(const store *s);

/* Adds a user. token_hash is SHA-256 of the user's API token. BG_EEXISTS if the name is
 * taken. */
int store_user_add(store *s, const char *name, const char *role, const uint8_t token_hash[32],
                   const uint8_t totp_seed[16], bg_err *e) BG_MUST_CHECK;

/* Finds a user by name, or by the SHA-256 of an API token. BG_ENOTFOUND if none. */
int store_user_by_name(store *s, const char *name, store_user *out, bg_err *e) BG_MUST_CHECK;
int store_user_by_token(store *s, const uint8_t token_hash[32], store_user *out,
                        bg_err *e) BG_MUST_CHECK;

/* Records that TOTP step `counter` was used by the user, atomically: succeeds only if
 * counter is greater than the last one recorded (so a code cannot be used twice, even
 * by two gateways racing). BG_EDENIED when it was already used. */
int store_user_use_otp(store *s, int64_t user_id, int64_t counter, bg_err *e) BG_MUST_CHECK;

/* Inserts a grant (g->id and g->access_key_id must be unique). */
int store_grant_add(store *s, const store_grant *g, bg_err *e) BG_MUST_CHECK;

/* Finds a grant by id or by access key id. BG_ENOTFOUND if none. This is on the
 * gateway's per-request path: one indexed lookup on a pooled connection. */
int store_grant_by_id(store *s, const char *id, store_grant *out, bg_err *e) BG_MUST_CHECK;
int store_grant_by_akid(store *s, const char *akid, store_grant *out, bg_err *e) BG_MUST_CHECK;

/* Marks a grant revoked at `now` by `who`. BG_ENOTFOUND if no such grant; revoking a
 * revoked grant succeeds and keeps the first revocation. */
int store_grant_revoke(store *s, const char *id, const char *who, int64_t now,
                       bg_err *e) BG_MUST_CHECK;

/* Calls fn for each grant (newest first), optionally only those of user (NULL for all).
 * fn returns 0 to continue, non-zero to stop. */
int store_grant_list(store *s, const char *user, int (*fn)(void *ctx, const store_grant *g),
                     void *ctx, bg_err *e) BG_MUST_CHECK;

#endif
