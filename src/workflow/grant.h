/*
 * grant.h - grants: minting their temporary SigV4 credentials, deciding whether a
 * DynamoDB request falls inside one, and their JSON form. Creating, showing and revoking
 * them, with their audit records, is the service layer's (service.h).
 *
 * A grant's secret access key and session token are derived from the master key and the
 * grant's identifiers (keyring.h), so they can be handed out again (credential_process
 * asks every time it runs) without ever being stored; the store keeps only the token's
 * hash. The check here is the whole of what a grant allows in this release: its tables
 * and operations, until expiry, unless revoked. PartiQL is never allowed: its statements
 * name tables in text the gateway cannot check against a grant.
 */
#ifndef BG_GRANT_H
#define BG_GRANT_H

#include <jansson.h>

#include "common/err.h"
#include "protocol/ddb_request.h"
#include "store/keyring.h"
#include "store/store.h"

#define GRANT_SECRET_LEN 40
#define GRANT_TOKEN_MAX  96

typedef struct grant_creds {
	char access_key_id[STORE_ID_MAX];
	char secret_access_key[GRANT_SECRET_LEN + 1];
	char session_token[GRANT_TOKEN_MAX];
} grant_creds;

typedef enum { GRANT_ACTIVE, GRANT_EXPIRED, GRANT_REVOKED } grant_state;

/* Validates the caller-filled fields of g (user, tables, ops, expires_at) and fills in
 * its id (unless set: a request's grant takes the request's id), access key id, session
 * token hash and created_at (= now). Does not store it. */
int grant_mint(const keyring *k, store_grant *g, int64_t now, bg_err *e) BG_MUST_CHECK;

/* The credentials of a grant, derived again from the master key. Zero *out after use. */
void grant_credentials(const keyring *k, const store_grant *g, grant_creds *out);

/* The SigV4 secret of an access key id, into out (GRANT_SECRET_LEN + 1 bytes). */
void grant_secret(const keyring *k, const char *akid, char *out);

/* Whether g is usable at time now. */
grant_state grant_status(const store_grant *g, int64_t now);
const char *grant_state_name(grant_state s);

/* A grant as JSON, its status taken at time now: {"id","user","created_by","kind",
 * "tables","ops","created_at","expires_at","revoked_at" (null while live),
 * ["revoked_by",] "status","reason","access_key_id"}. The form the JSON API answers with
 * and the grant's audit record carries (docs/api.md); no secret is in it. A new
 * reference, or NULL when out of memory. */
json_t *grant_to_json(const store_grant *g, int64_t now);

/* 0 when request r is inside grant g's tables and operations; otherwise BG_EDENIED with
 * a message (safe to show the client) naming what was refused and what is allowed. */
int grant_check(const store_grant *g, const ddb_request *r, bg_err *e) BG_MUST_CHECK;

/* Validates an operation name for a grant: a known DynamoDB operation that a grant may
 * carry (not PartiQL). */
int grant_op_valid(const char *op, bg_err *e) BG_MUST_CHECK;

#endif
