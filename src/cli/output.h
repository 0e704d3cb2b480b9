/*
 * output.h - how the CLI shows answers: human-readable text or one JSON object.
 *
 * These are pure functions from a server answer (a jansson object) to text in a bg_buf,
 * so they can be unit-tested without a server. Text from the server is never written to
 * the terminal raw: control characters are replaced, so a hostile user name or reason
 * cannot move the cursor or rewrite what the responder sees. The credential formats
 * (env lines, credential_process JSON, the variables `exec` sets) are built from one list
 * so they cannot drift apart.
 */
#ifndef BG_CLI_OUTPUT_H
#define BG_CLI_OUTPUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "common/buf.h"
#include "common/err.h"

/* Copies in to out (size n > 0), replacing control bytes with '?' and truncating with
 * "..." if needed. Always NUL-terminates. */
void cli_out_sanitize(const char *in, char *out, size_t n);

/* Prints j compactly on one line to fp; returns 0 or BG_ENOMEM / BG_EIO. */
int cli_out_json(FILE *fp, const json_t *j) BG_MUST_CHECK;

/* j as one compact JSON line (JSON lines), appended to b. */
int cli_out_json_line(bg_buf *b, const json_t *j) BG_MUST_CHECK;

/* Appends s single-quoted for POSIX sh ('it'\''s'). */
int cli_out_shell_quote(bg_buf *b, const char *s) BG_MUST_CHECK;

/* The environment a grant's credentials turn into (names point to static strings, values
 * into the creds object, which must outlive them). */
#define CLI_CREDS_NVARS 7
typedef struct cli_envvar {
	const char *name;
	const char *value;
} cli_envvar;

/* Fills vars[CLI_CREDS_NVARS] from a creds answer: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_DEFAULT_REGION,
 * AWS_ENDPOINT_URL_DYNAMODB and AWS_ACCOUNT_ID_ENDPOINT_MODE=disabled (so newer SDKs do
 * not build an account-based endpoint). The expiry is not exported: SDKs that read
 * AWS_CREDENTIAL_EXPIRATION try to "refresh" short-lived env credentials. Returns 0, or BG_EINVAL
 * with a reason in e if a field is missing or not a plain string. */
int cli_out_creds_vars(const json_t *creds, cli_envvar *vars, bg_err *e) BG_MUST_CHECK;

/* Appends "export NAME='VALUE'" lines for the vars above. */
int cli_out_creds_env(bg_buf *b, const json_t *creds, bg_err *e) BG_MUST_CHECK;

/* A new object in the credential_process format: {"Version":1,"AccessKeyId",
 * "SecretAccessKey","SessionToken","Expiration"}; NULL with a reason in e. */
json_t *cli_out_creds_process(const json_t *creds, bg_err *e) BG_MUST_CHECK;

/* The `aws` wrapper `breakglass exec` puts first on its command's PATH: a POSIX sh script
 * that runs real_aws (an absolute path, single-quoted) with --endpoint-url endpoint added
 * unless the arguments already carry --endpoint-url or --endpoint-url=..., so `bash -c`,
 * scripts and aliases reach the gateway even with an AWS CLI that ignores
 * AWS_ENDPOINT_URL_DYNAMODB. real_aws NULL: a script that says no aws was found and exits
 * 127. Appends it to b; returns 0 or the buffer's error. */
int cli_out_aws_wrapper(bg_buf *b, const char *real_aws, const char *endpoint) BG_MUST_CHECK;

/* The host of an http:// or https:// URL (no user info, port or brackets), for NO_PROXY,
 * into out (size n). Returns 0, or BG_EINVAL when url is no such URL or the host does not
 * fit. */
int cli_out_url_host(const char *url, char *out, size_t n) BG_MUST_CHECK;

/* Prints each string of answer's "warnings" array as "breakglass: warning: TEXT" on fp
 * (control characters replaced). Nothing if there is none. */
void cli_out_warnings(FILE *fp, const json_t *answer);

/* Parses an RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SS[.frac]Z"; returns 0 or BG_EINVAL. */
int cli_out_parse_time(const char *s, time_t *out) BG_MUST_CHECK;

/* Appends a grant's usage ({"capacity", "runbooks", "rate"}, gateway/usage.h) as
 * "capacity", "  runbook" and "rate" lines; nothing when usage is not an object. */
int cli_out_usage(bg_buf *b, const json_t *usage) BG_MUST_CHECK;

/* The same on one line, without the runbooks: "read 1.5 of 10 units, write 0 units, 7
 * requests now (5/s)". */
int cli_out_usage_short(bg_buf *b, const json_t *usage) BG_MUST_CHECK;

/* Appends a grant as "key: value" lines; now is used for the time left. */
int cli_out_grant(bg_buf *b, const json_t *grant, time_t now) BG_MUST_CHECK;

/* Appends the header line and one row per grant of a {"grants":[...]} answer. */
int cli_out_grant_list(bg_buf *b, const json_t *answer) BG_MUST_CHECK;

/* `incident list`: one line per incident of an answer {"incidents": [...]}; and one
 * incident with its alerts and history (`incident show`). BG_EINVAL when the answer has
 * no such shape. */
int cli_out_incident_list(bg_buf *b, const json_t *answer) BG_MUST_CHECK;
int cli_out_incident(bg_buf *b, const json_t *incident) BG_MUST_CHECK;

/* `requests`: one line per request of {"requests": [...]}; and one request with its
 * criteria, answers and (once approved) its grant. BG_EINVAL when the answer has no such
 * shape. */
int cli_out_request_list(bg_buf *b, const json_t *answer) BG_MUST_CHECK;
int cli_out_request(bg_buf *b, const json_t *request) BG_MUST_CHECK;

/* Appends one audit record as a single line:
 * SEQ TS KIND ACTOR GRANT OP TABLES DECISION STATUS REASON ("-" for absent fields). */
int cli_out_audit_line(bg_buf *b, const json_t *rec) BG_MUST_CHECK;

/* Appends uri as a QR code drawn with Unicode half blocks (two modules per character
 * cell, light modules as full blocks, as `qrencode -t UTF8` draws them), with a quiet zone,
 * for an authenticator app to scan. Returns 0, or BG_EINVAL when it cannot be encoded. */
int cli_out_qr(bg_buf *b, const char *uri) BG_MUST_CHECK;

#endif
