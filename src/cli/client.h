/*
 * client.h - the CLI's HTTP client for the breakglass JSON API (docs/api.md).
 *
 * One call = one request with a JSON body (or none) and one JSON object back. The answer is
 * bounded in size and time so a misbehaving server cannot hang or exhaust the responder's
 * terminal, redirects are never followed (they would carry the bearer token elsewhere),
 * and every failure is mapped to the CLI's exit codes here, in one place.
 */
#ifndef BG_CLI_CLIENT_H
#define BG_CLI_CLIENT_H

#include <jansson.h>

#include "cli/cli.h"
#include "common/err.h"

typedef struct cli_client cli_client;

/* What went wrong with a call, for the message on stderr. */
typedef struct cli_failure {
	long http_status; /* 0 when no HTTP answer was received */
	char code[64];    /* the API's "error" code, or "" */
	char msg[2048];   /* printable (control characters replaced); a refusal lists every failing
	                     criterion */
} cli_failure;

/* Initialises libcurl once for the process; returns 0 or BG_EIO. */
int cli_client_global_init(void) BG_MUST_CHECK;

/* A client for ctx->url with ctx->token (which may be NULL: the call then goes out
 * without credentials). Returns NULL on allocation failure. The ctx strings must outlive
 * the client. */
cli_client *cli_client_new(const cli_ctx *ctx) BG_MUST_CHECK;

/* Frees c (NULL is fine). */
void cli_client_free(cli_client *c);

/*
 * Sends METHOD base-url+path (path starts with "/api/v1/", components already escaped)
 * with body (NULL: no body; the caller keeps ownership). On a 2xx answer with a JSON
 * object, stores a new reference in *out and returns CLI_EXIT_OK. Otherwise returns
 * CLI_EXIT_REFUSED (4xx), CLI_EXIT_UNREACHABLE (no answer, 5xx, or an answer that is
 * not a JSON object), CLI_EXIT_USAGE (a URL or token too long) or CLI_EXIT_LOCAL (out
 * of memory), with details in *f. The response bytes are zeroed before they are
 * freed, since answers may carry secrets.
 */
int cli_client_call(cli_client *c, const char *method, const char *path, json_t *body, json_t **out,
                    cli_failure *f) BG_MUST_CHECK;

/* cli_client_call() of a GET whose answer is not JSON (JSON lines): on a 2xx answer its
 * bytes replace out's contents (which are not wiped: for answers without secrets), and
 * with header set, the value of the answer's header of that name is copied to value
 * (value_size bytes with its NUL; "" when absent or longer). Otherwise out is left
 * empty; failures as cli_client_call's. */
int cli_client_get_raw(cli_client *c, const char *path, bg_buf *out, const char *header,
                       char *value, size_t value_size, cli_failure *f) BG_MUST_CHECK;

/* Percent-escapes s for use as one path segment or query value; the caller frees the
 * result with free(). Returns NULL on allocation failure. */
char *cli_client_escape(const char *s);

/* Reports the failure through cli_fail_http (stderr, and the JSON object with the API's
 * error code); returns exit_code. */
int cli_failure_report(const cli_failure *f, int exit_code);

/* Checks that ctx has an http(s) URL and a plausible token; prints a usage error and
 * returns CLI_EXIT_USAGE if not. */
int cli_require_token(const cli_ctx *ctx) BG_MUST_CHECK;

/*
 * The usual call of a command: checks there is a token, sends the request, prints any
 * failure to stderr. Returns the exit code; on CLI_EXIT_OK *out holds the answer (the
 * caller json_decref()s it).
 */
int cli_request(const cli_ctx *ctx, const char *method, const char *path, json_t *body,
                json_t **out) BG_MUST_CHECK;

#endif
