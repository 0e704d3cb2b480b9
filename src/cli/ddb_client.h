/*
 * ddb_client.h - the CLI's own DynamoDB client: JSON requests signed with given
 * credentials, for `breakglass run` (through the gateway, with a grant's credentials) and
 * `breakglass runbook test` (straight to a local dynalite).
 *
 * It is the gateway's upstream forwarder (gateway/upstream.h) on a private event loop, run
 * to completion for each call, so the CLI signs and frames requests exactly as the
 * gateway does.
 */
#ifndef BG_CLI_DDB_CLIENT_H
#define BG_CLI_DDB_CLIENT_H

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"

typedef struct cli_ddb cli_ddb;

/* A client for endpoint (http:// or https://) in region with these credentials (token may
 * be NULL). Returns 0 with *out, or an error. */
int cli_ddb_new(const char *endpoint, const char *region, const char *akid, const char *secret,
                const char *token, cli_ddb **out, bg_err *e) BG_MUST_CHECK;

void cli_ddb_free(cli_ddb *c);

/*
 * Sends operation op (e.g. "Query") with body. Returns 0 when DynamoDB answered 200 (the
 * answer in *out), BG_EDENIED when it answered an error (*out holds the error body:
 * {"__type", "message"}, and e->msg "TYPE: message"), BG_EUPSTREAM when no answer came.
 */
int cli_ddb_call(cli_ddb *c, const char *op, const json_t *body, json_t **out,
                 bg_err *e) BG_MUST_CHECK;

/* The audit record of the last call's answer, as a breakglass gateway names it
 * (x-breakglass-audit-seq), or 0 when there was none. */
int64_t cli_ddb_audit_seq(const cli_ddb *c);

#endif
