/*
 * cli.h - what the `breakglass` client commands share: exit codes, the per-invocation
 * context (server URL, API token, --json) and a small option parser.
 *
 * Every command is `int cmd_X_main(int argc, char **argv)` with argv[0] the command name,
 * returning the process exit code. Exit codes are part of the user-facing contract
 * (scripts branch on them; `breakglass help` and the man page list them): 0 success,
 * 1 refused (by the server, or a check that found the answer no), 2 usage error found
 * before any request or change, 3 the server or DynamoDB cannot be reached or failed,
 * 4 a local failure (files, the store, the port, memory). With --json every outcome is
 * one JSON object on stdout, failures {"error": CODE, "message": TEXT, "exit": N}; all
 * failures go through cli_fail() so that promise is kept in one place.
 *
 * Options are parsed by hand rather than with getopt_long so that `exec GRANT -- CMD
 * --flags` is never permuted and `--opt=value` and `--opt value` both work the same way
 * in every command.
 */
#ifndef BG_CLI_H
#define BG_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"

enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_REFUSED = 1,
	CLI_EXIT_USAGE = 2,
	CLI_EXIT_UNREACHABLE = 3,
	CLI_EXIT_LOCAL = 4
};

#define CLI_DEFAULT_URL "http://127.0.0.1:8700"

/* Settings common to every client command. Strings point into argv or the environment. */
typedef struct cli_ctx {
	const char *url;   /* --url, else BREAKGLASS_URL, else CLI_DEFAULT_URL */
	const char *token; /* --token, else BREAKGLASS_TOKEN; may be NULL */
	bool json;         /* --json: one JSON object on stdout */
	bool help;         /* --help / -h was given */
} cli_ctx;

/* One option a command accepts besides the common ones. */
typedef struct cli_opt {
	const char *name; /* without the leading "--" */
	bool has_arg;
} cli_opt;

/* Iterator over a command's arguments. */
typedef struct cli_args {
	int argc;
	char **argv;
	int i;           /* next argv index */
	bool dashdash;   /* "--" was seen: the rest are positional */
	const char *cmd; /* for messages: "grant", "audit tail", ... */
	cli_ctx *ctx;
} cli_args;

enum {
	CLI_ARG_END = -1,        /* no more arguments */
	CLI_ARG_POSITIONAL = -2, /* *val is a positional argument */
	CLI_ARG_ERROR = -3       /* a usage error was printed */
};

/* Fills ctx from the environment (BREAKGLASS_URL, BREAKGLASS_TOKEN) and the process's
 * output mode (cli_set_json). */
void cli_ctx_init(cli_ctx *ctx);

/* Switches the process to --json output: failures print their JSON object on stdout.
 * main() calls it when --json is among the arguments, before any command runs, so even
 * a usage error found before the option is reached comes out as JSON. */
void cli_set_json(bool on);

/* Starts iterating over argv[1..argc-1]; cmd names the command in messages. */
void cli_args_init(cli_args *a, int argc, char **argv, const char *cmd, cli_ctx *ctx);

/*
 * Returns the index in opts of the next option (its argument in *val, or NULL),
 * CLI_ARG_POSITIONAL with *val set, CLI_ARG_END, or CLI_ARG_ERROR after printing a usage
 * error. --url, --token, --json and --help/-h are handled here and never returned. After
 * "--" everything is positional; a->dashdash tells the caller it was seen.
 */
int cli_args_next(cli_args *a, const cli_opt *opts, const char **val) BG_MUST_CHECK;

/* Reports a failure and returns exit_code: "breakglass: MESSAGE" on stderr and, in
 * --json mode, {"error": CODE, "message": MESSAGE, "exit": exit_code} on stdout (at most
 * one object per process: the first failure, or the command's answer, wins). code NULL
 * means the exit code's own name ("refused", "usage", "unreachable", "local"). */
int cli_fail(int exit_code, const char *code, const char *fmt, ...) BG_PRINTF(3, 4);

/* cli_fail with an HTTP status for the JSON object ("http_status"), for failures the
 * server answered. */
int cli_fail_http(int exit_code, const char *code, long http_status, const char *msg);

/* A usage error: "breakglass: CMD: MESSAGE" and a pointer to --help on stderr, the JSON
 * object with code "usage"; returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_args *a, const char *fmt, ...) BG_PRINTF(2, 3);

/* Prints "breakglass: warning: MESSAGE" on stderr (never on stdout, even with --json:
 * the command's answer carries its warnings itself). */
void cli_warnf(const char *fmt, ...) BG_PRINTF(1, 2);

/* Strictly parses a decimal integer in [min, max]; returns 0 or BG_EINVAL. */
int cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *out) BG_MUST_CHECK;

/* Writes b to stdout; returns CLI_EXIT_OK, or prints an error and returns
 * CLI_EXIT_REFUSED (b failed to build, or stdout is closed). */
int cli_write_out(const bg_buf *b) BG_MUST_CHECK;

/* Prints j as the command's one JSON object on stdout; returns an exit code. */
int cli_emit_json(const json_t *j) BG_MUST_CHECK;

/* Appends prefix, id percent-escaped, and suffix (may be NULL): an API path. */
int cli_path(bg_buf *b, const char *prefix, const char *id, const char *suffix) BG_MUST_CHECK;

/* Checks a positional id (grant or request id): 1-128 printable non-blank characters.
 * Returns CLI_EXIT_OK or prints a usage error and returns CLI_EXIT_USAGE. */
int cli_check_id(const cli_args *a, const char *what, const char *id) BG_MUST_CHECK;

/* Checks a TOTP code (totp_code_valid) and a user name (bg_valid_user_name); print a
 * usage error and return CLI_EXIT_USAGE if bad. */
int cli_check_otp(const cli_args *a, const char *otp) BG_MUST_CHECK;
int cli_check_user(const cli_args *a, const char *name) BG_MUST_CHECK;

/* The argv `exec` runs: cmd itself, or for the AWS CLI (basename "aws") without an
 * --endpoint-url argument a new array {cmd[0], "--endpoint-url", endpoint, cmd[1], ...,
 * NULL} (free() only the array; it points into cmd and at endpoint). Releases of the AWS
 * CLI before 2.13 (Debian 12 ships 2.9) ignore AWS_ENDPOINT_URL_DYNAMODB; without this
 * they would sign with the grant's key and send the request to real AWS. NULL on
 * allocation failure. */
char **cli_exec_argv(char **cmd, const char *endpoint) BG_MUST_CHECK;

/* POST /api/v1/grants/ID/creds: the grant's credentials (the grantee only); an exit
 * code, with *out the answer on CLI_EXIT_OK (json_decref it; it holds the secret). */
int cli_creds_fetch(const cli_ctx *ctx, const char *id, json_t **out) BG_MUST_CHECK;

/* Splits the comma-separated value of option --opt into the JSON array arr, each item
 * checked with ok and duplicates skipped, at most max in all. Returns CLI_EXIT_OK or a
 * usage error. */
int cli_list_add(const cli_args *a, json_t *arr, const char *val, const char *opt, size_t max,
                 bool (*ok)(const char *, size_t)) BG_MUST_CHECK;

/* A runbook id as a grant or request names it (n bytes at s): 1-64 of a-z 0-9 -. */
bool cli_runbook_word(const char *s, size_t n);

/* The runbook folder a command without a server uses: flag, else $BREAKGLASS_RUNBOOKS,
 * else the serve configuration's (BREAKGLASS_CONFIG), else "runbooks"; may point into buf
 * (cap bytes). */
const char *cli_runbook_dir(const char *flag, char *buf, size_t cap);

/* The commands (cmd_*.c). */
int cmd_init_main(int argc, char **argv);
int cmd_serve_main(int argc, char **argv);
int cmd_recover_main(int argc, char **argv);
int cmd_help_main(int argc, char **argv);
int cmd_version_main(int argc, char **argv);
int cmd_whoami_main(int argc, char **argv);
int cmd_user_main(int argc, char **argv);
int cmd_grant_main(int argc, char **argv);
int cmd_grants_main(int argc, char **argv);
int cmd_revoke_main(int argc, char **argv);
int cmd_creds_main(int argc, char **argv);
int cmd_exec_main(int argc, char **argv);
int cmd_audit_main(int argc, char **argv);
int cmd_runbook_main(int argc, char **argv);
int cmd_run_main(int argc, char **argv);
int cmd_undo_main(int argc, char **argv);
int cmd_status_main(int argc, char **argv);
int cmd_incident_main(int argc, char **argv);
int cmd_close_main(int argc, char **argv);
int cmd_review_main(int argc, char **argv);
int cmd_request_main(int argc, char **argv);
int cmd_approve_main(int argc, char **argv);
int cmd_deny_main(int argc, char **argv);
int cmd_requests_main(int argc, char **argv);
int cmd_extend_main(int argc, char **argv);
int cmd_report_main(int argc, char **argv);
int cmd_drill_main(int argc, char **argv);

/* Writes incident's report in format (md, html, json) to out_path (NULL: stdout), built
 * from the audit trail (cmd_report.c); `close` writes one too. With out_path and summary
 * not NULL, what was written ({"out", "format", "bytes", counts, "verified"}) goes to
 * *summary (the caller's, to put in its own --json answer) instead of stdout. An exit
 * code. */
int cli_report_write(const cli_ctx *ctx, const char *incident, const char *format,
                     const char *out_path, const char *pubkey, int64_t budget,
                     json_t **summary) BG_MUST_CHECK;

/* What `audit export` keeps (NULL: no bound): ts in [since, until), the grant's records,
 * the incident's records (those GET /api/v1/audit?incident= returns). */
typedef struct cli_export_opts {
	const char *since, *until, *grant, *incident;
} cli_export_opts;

/* Walks the log through the API and calls emit with each record of the export o asks
 * for, in order: with a filter, from the first record kept to the first checkpoint after
 * the last one kept, the records left out redacted (seq, prev_hash, hash) and the
 * checkpoints whole (docs/audit.md). *tail_unsigned: no checkpoint follows the last
 * kept record yet. CLI_EXIT_OK, emit's code, or the API's (1 when an incident has no
 * record). */
/* The keys that verify the audit checkpoints: every PEM public key in the file at path,
 * else every key the server has signed with (GET /api/v1/audit/pubkey?all=1), appended
 * to *keys (*n of them; free with sigkey_list_free). CLI_EXIT_OK or the exit code. */
struct sigkey;
int cli_audit_pubkeys(const cli_ctx *ctx, const char *path, struct sigkey ***keys,
                      size_t *n) BG_MUST_CHECK;

int cli_audit_export(const cli_ctx *ctx, const cli_export_opts *o,
                     int (*emit)(void *arg, json_t *rec), void *arg,
                     bool *tail_unsigned) BG_MUST_CHECK;

#endif
