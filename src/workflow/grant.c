/*
 * grant.c - minting grant credentials and checking requests against grants (see grant.h).
 */
#include "grant.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "common/clock.h"
#include "common/jsonutil.h"
#include "common/encode.h"
#include "common/limits.h"
#include "common/validate.h"
#include "protocol/ddb_ops.h"

int grant_op_valid(const char *op, bg_err *e)
{
	const ddb_op_info *info = ddb_op_lookup(op, strlen(op)), *like;

	if (info == NULL) {
		like = ddb_op_suggest(op, strlen(op));
		if (like != NULL)
			return bg_err_set(
			    e, BG_EINVAL,
			    "unknown DynamoDB operation '%s' (names are case-sensitive: "
			    "did you mean %s?)",
			    op, like->name);
		return bg_err_set(e, BG_EINVAL,
		                  "unknown DynamoDB operation '%s' (names as in the DynamoDB API: "
		                  "GetItem, Query, PutItem, ...)",
		                  op);
	}
	if (info->flags & (DDB_F_PARTIQL | DDB_F_OPAQUE))
		return bg_err_set(e, BG_EINVAL,
		                  "%s cannot be granted: the tables it touches cannot be read from "
		                  "the request, so it cannot be checked against a grant",
		                  op);
	return 0;
}

int grant_mint(const keyring *k, store_grant *g, int64_t now, bg_err *e)
{
	uint8_t raw[10], tok[32];
	size_t i;
	int rc;

	if (g->n_tables == 0 || g->n_tables > BG_MAX_GRANT_TABLES)
		return bg_err_set(e, BG_EINVAL, "a grant names 1 to %d tables",
		                  BG_MAX_GRANT_TABLES);
	if (g->n_ops == 0 || g->n_ops > BG_MAX_GRANT_OPS)
		return bg_err_set(e, BG_EINVAL, "a grant names 1 to %d operations",
		                  BG_MAX_GRANT_OPS);
	for (i = 0; i < g->n_tables; i++)
		if (!bg_valid_table_name(g->tables[i], strnlen(g->tables[i], sizeof(g->tables[i]))))
			return bg_err_set(e, BG_EINVAL, "invalid table name '%s'", g->tables[i]);
	for (i = 0; i < g->n_ops; i++) {
		rc = grant_op_valid(g->ops[i], e);
		if (rc)
			return rc;
	}
	if (g->expires_at <= now || !bg_valid_grant_seconds(g->expires_at - now))
		return bg_err_set(e, BG_EINVAL, "a grant lasts from 1 second to %d hours",
		                  BG_MAX_GRANT_SECONDS / 3600);

	if (bg_random(raw, sizeof(raw)) != 0)
		return bg_err_set(e, BG_EIO, "no randomness available");
	if (g->id[0] == '\0') { /* a request's grant keeps the request's id */
		memcpy(g->id, "bg-", 3);
		bg_base32(raw, 6, true, g->id + 3, sizeof(g->id) - 3);
		g->id[13] = '\0';
	}
	memcpy(g->access_key_id, "BGIA", 4);
	bg_base32(raw, sizeof(raw), false, g->access_key_id + 4, sizeof(g->access_key_id) - 4);
	g->created_at = now;
	g->revoked_at = 0;
	g->revoked_by[0] = '\0';

	keyring_derive(k, "grant-token", g->access_key_id, strlen(g->access_key_id), tok);
	{
		char t[GRANT_TOKEN_MAX];
		bg_base64url(tok, sizeof(tok), t, sizeof(t));
		bg_sha256(t, strlen(t), g->session_token_hash);
		OPENSSL_cleanse(t, sizeof(t));
	}
	OPENSSL_cleanse(tok, sizeof(tok));
	return 0;
}

void grant_secret(const keyring *k, const char *akid, char *out)
{
	uint8_t key[32];
	unsigned char b64[48];

	keyring_derive(k, "grant-secret", akid, strlen(akid), key);
	EVP_EncodeBlock(b64, key, sizeof(key));
	memcpy(out, b64, GRANT_SECRET_LEN);
	out[GRANT_SECRET_LEN] = '\0';
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(b64, sizeof(b64));
}

void grant_credentials(const keyring *k, const store_grant *g, grant_creds *out)
{
	uint8_t tok[32];

	memset(out, 0, sizeof(*out));
	memcpy(out->access_key_id, g->access_key_id, sizeof(out->access_key_id));
	grant_secret(k, g->access_key_id, out->secret_access_key);
	keyring_derive(k, "grant-token", g->access_key_id, strlen(g->access_key_id), tok);
	bg_base64url(tok, sizeof(tok), out->session_token, sizeof(out->session_token));
	OPENSSL_cleanse(tok, sizeof(tok));
}

grant_state grant_status(const store_grant *g, int64_t now)
{
	if (g->revoked_at != 0)
		return GRANT_REVOKED;
	if (now >= g->expires_at)
		return GRANT_EXPIRED;
	return GRANT_ACTIVE;
}

const char *grant_state_name(grant_state s)
{
	switch (s) {
	case GRANT_ACTIVE:
		return "active";
	case GRANT_EXPIRED:
		return "expired";
	case GRANT_REVOKED:
		return "revoked";
	}
	return "unknown";
}

/* Sets key to v in o (taking v); false if either is missing. */
static json_t *names_json(const char *rows, size_t n, size_t width)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(rows + i * width)) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

json_t *grant_to_json(const store_grant *g, int64_t now)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (!bg_json_set(o, "id", json_string(g->id)) ||
	    !bg_json_set(o, "user", json_string(g->user)) ||
	    !bg_json_set(o, "created_by", json_string(g->created_by)) ||
	    !bg_json_set(o, "kind", json_string(g->kind)) ||
	    !bg_json_set(o, "tables",
	                 names_json(g->tables[0], g->n_tables, sizeof(g->tables[0]))) ||
	    !bg_json_set(o, "ops", names_json(g->ops[0], g->n_ops, sizeof(g->ops[0]))) ||
	    !bg_json_set_time(o, "created_at", g->created_at, false) ||
	    !bg_json_set_time(o, "expires_at", g->expires_at, false))
		goto fail;
	if (g->revoked_at != 0) {
		if (!bg_json_set_time(o, "revoked_at", g->revoked_at, false) ||
		    !bg_json_set(o, "revoked_by", json_string(g->revoked_by)))
			goto fail;
	} else if (!bg_json_set(o, "revoked_at", json_null())) {
		goto fail;
	}
	if (!bg_json_set(o, "status", json_string(grant_state_name(grant_status(g, now)))) ||
	    !bg_json_set(o, "reason", json_string(g->reason)) ||
	    !bg_json_set(o, "access_key_id", json_string(g->access_key_id)))
		goto fail;
	if (g->n_runbooks > 0) {
		json_t *rbs = json_array();
		size_t i;
		if (!bg_json_set(o, "runbooks", rbs))
			goto fail;
		for (i = 0; i < g->n_runbooks; i++) {
			if (json_array_append_new(rbs, json_pack("{s:s,s:s}", "id", g->runbooks[i],
			                                         "hash", g->runbook_hashes[i])) !=
			    0)
				goto fail;
		}
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static bool grant_has_op(const store_grant *g, const char *op)
{
	size_t i;

	for (i = 0; i < g->n_ops; i++)
		if (strcmp(g->ops[i], op) == 0)
			return true;
	return false;
}

static bool grant_has_table(const store_grant *g, const char *t)
{
	size_t i;

	for (i = 0; i < g->n_tables; i++)
		if (strcmp(g->tables[i], t) == 0)
			return true;
	return false;
}

/* The longest description: every operation and table a grant may name, each with its
 * separator, and " on ". */
#define DESCRIBE_MAX                                                                               \
	((size_t)BG_MAX_GRANT_OPS * STORE_OP_MAX +                                                 \
	 (size_t)BG_MAX_GRANT_TABLES * (BG_MAX_TABLE_NAME + 1) + 4)

/* "Query,GetItem on Orders,Customers" for denial messages. */
static int grant_describe(const store_grant *g, bg_buf *b)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < g->n_ops; i++)
		rc = bg_buf_addf(b, "%s%s", i ? "," : "", g->ops[i]);
	if (rc == 0)
		rc = bg_buf_adds(b, " on ");
	for (i = 0; rc == 0 && i < g->n_tables; i++)
		rc = bg_buf_addf(b, "%s%s", i ? "," : "", g->tables[i]);
	return rc;
}

int grant_check(const store_grant *g, const ddb_request *r, bg_err *e)
{
	const ddb_op_info *op = ddb_request_op(r);
	const char *bad = NULL, *why = NULL;
	bg_buf allowed;
	size_t i, n = ddb_request_ntables(r);
	bool described;
	int rc;

	/* Requests whose tables are hidden (PartiQL text, opaque shard iterators), tables
	 * named by ARN (which may point into another account), and table-less requests
	 * other than account-wide listings cannot be matched to a grant's tables. */
	if (op->flags & (DDB_F_PARTIQL | DDB_F_OPAQUE))
		why = "the tables it touches cannot be read from the request";
	else if (ddb_request_has_arn(r))
		why = "tables must be named by name, not by ARN";
	else if (n == 0 && !(op->flags & DDB_F_ACCOUNT))
		why = "it names no table";
	if (why)
		return bg_err_set(e, BG_EDENIED,
		                  "User: %s is not authorized to perform: dynamodb:%s because %s "
		                  "(grant %s)",
		                  g->user, op->name, why, g->id);

	for (i = 0; i < n && bad == NULL; i++)
		if (!grant_has_table(g, ddb_request_table(r, i)))
			bad = ddb_request_table(r, i);
	if (grant_has_op(g, op->name) && bad == NULL)
		return 0;

	/* Refused either way; only the message's list depends on memory for it. */
	bg_buf_init(&allowed, DESCRIBE_MAX);
	described = grant_describe(g, &allowed) == 0;
	rc = bg_err_set(e, BG_EDENIED,
	                "User: %s is not authorized to perform: dynamodb:%s on resource: table/%s "
	                "because grant %s allows only %s",
	                g->user, op->name,
	                bad ? bad
	                : n ? ddb_request_table(r, 0)
	                    : "*",
	                g->id, described ? allowed.data : "what it names");
	bg_buf_free(&allowed);
	return rc;
}
