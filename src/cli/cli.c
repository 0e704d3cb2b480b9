/*
 * cli.c - option parsing, error reporting and output helpers shared by the client
 * commands (see cli.h).
 *
 * Kept apart from the commands so the rules are the same everywhere: long options only
 * (plus -h), "--name value" or "--name=value", "--" ends options, and the common options
 * (--url, --token, --json, --help) are accepted by every command in any position.
 */
#include "cli/cli.h"

#include "cli/client.h"
#include "cli/output.h"
#include "common/limits.h"
#include "common/validate.h"
#include "workflow/totp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The process's output mode and whether its one JSON object has been printed. */
static bool json_mode;
static bool json_done;

void cli_set_json(bool on)
{
	json_mode = on;
}

void cli_ctx_init(cli_ctx *ctx)
{
	const char *u = getenv("BREAKGLASS_URL");
	const char *t = getenv("BREAKGLASS_TOKEN");

	memset(ctx, 0, sizeof(*ctx));
	ctx->url = (u != NULL && u[0] != '\0') ? u : CLI_DEFAULT_URL;
	ctx->token = (t != NULL && t[0] != '\0') ? t : NULL;
	ctx->json = json_mode;
}

void cli_args_init(cli_args *a, int argc, char **argv, const char *cmd, cli_ctx *ctx)
{
	memset(a, 0, sizeof(*a));
	a->argc = argc;
	a->argv = argv;
	a->i = 1;
	a->cmd = cmd;
	a->ctx = ctx;
}

static const char *exit_name(int exit_code)
{
	switch (exit_code) {
	case CLI_EXIT_USAGE:
		return "usage";
	case CLI_EXIT_UNREACHABLE:
		return "unreachable";
	case CLI_EXIT_LOCAL:
		return "local";
	default:
		return "refused";
	}
}

/* The --json half of a failure: one object on stdout, once. */
static void fail_json(int exit_code, const char *code, long http_status, const char *msg)
{
	json_t *o;

	if (!json_mode || json_done)
		return;
	o = json_pack("{s:s,s:s,s:i}", "error", code != NULL ? code : exit_name(exit_code),
	              "message", msg, "exit", exit_code);
	if (o != NULL && http_status > 0)
		json_object_set_new(o, "http_status", json_integer(http_status));
	/* If even this cannot be written, stderr already has the message. */
	if (o != NULL && cli_out_json(stdout, o) != 0)
		fputs("breakglass: cannot write to standard output\n", stderr);
	json_decref(o);
	json_done = true;
}

/* Formats a message for both halves; never fails (truncates instead). */
static void fail_format(char *msg, size_t cap, const char *fmt, va_list ap)
{
	if (vsnprintf(msg, cap, fmt, ap) < 0)
		snprintf(msg, cap, "(unprintable message)");
}

int cli_fail_http(int exit_code, const char *code, long http_status, const char *msg)
{
	fflush(stdout);
	fprintf(stderr, "breakglass: %s\n", msg);
	fail_json(exit_code, code, http_status, msg);
	return exit_code;
}

int cli_fail(int exit_code, const char *code, const char *fmt, ...)
{
	char msg[BG_MAX_CLI_MESSAGE];
	va_list ap;

	va_start(ap, fmt);
	fail_format(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cli_fail_http(exit_code, code, 0, msg);
}

void cli_warnf(const char *fmt, ...)
{
	char msg[BG_MAX_CLI_MESSAGE];
	va_list ap;

	va_start(ap, fmt);
	fail_format(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fflush(stdout);
	fprintf(stderr, "breakglass: warning: %s\n", msg);
}

int cli_usage_error(const cli_args *a, const char *fmt, ...)
{
	char msg[BG_MAX_CLI_MESSAGE];
	va_list ap;

	va_start(ap, fmt);
	fail_format(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fflush(stdout);
	fprintf(stderr, "breakglass: %s: %s\n", a->cmd, msg);
	/* Only the first word of a.cmd names the command to ask about ("grant show"). */
	fprintf(stderr, "Try 'breakglass %.*s --help'.\n", (int)strcspn(a->cmd, " "), a->cmd);
	fail_json(CLI_EXIT_USAGE, NULL, 0, msg);
	return CLI_EXIT_USAGE;
}

int cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	long long v;

	/* strtoll accepts leading blanks and signs; the grammar here is digits only. */
	if (s == NULL || s[0] < '0' || s[0] > '9')
		return BG_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return BG_EINVAL;
	*out = (int64_t)v;
	return 0;
}

/* Handles an option every command takes; returns 1 if it was one, 0 if not, or
 * CLI_ARG_ERROR. */
static int args_common(cli_args *a, const char *name, size_t nlen, const char *inl)
{
	static const char *const with_arg[] = {"url", "token"};
	const char *val;
	size_t k;

	if ((nlen == 4 && memcmp(name, "json", 4) == 0) ||
	    (nlen == 4 && memcmp(name, "help", 4) == 0)) {
		if (inl != NULL) {
			cli_usage_error(a, "option --%.*s takes no value", (int)nlen, name);
			return CLI_ARG_ERROR;
		}
		if (name[0] == 'j') {
			a->ctx->json = true;
			json_mode = true;
		} else
			a->ctx->help = true;
		return 1;
	}
	for (k = 0; k < sizeof(with_arg) / sizeof(with_arg[0]); k++) {
		if (strlen(with_arg[k]) != nlen || memcmp(name, with_arg[k], nlen) != 0)
			continue;
		if (inl != NULL) {
			val = inl;
		} else if (a->i < a->argc) {
			val = a->argv[a->i++];
		} else {
			cli_usage_error(a, "option --%s needs a value", with_arg[k]);
			return CLI_ARG_ERROR;
		}
		if (val[0] == '\0') {
			cli_usage_error(a, "option --%s needs a non-empty value", with_arg[k]);
			return CLI_ARG_ERROR;
		}
		if (k == 0)
			a->ctx->url = val;
		else
			a->ctx->token = val;
		return 1;
	}
	return 0;
}

int cli_args_next(cli_args *a, const cli_opt *opts, const char **val)
{
	const char *arg, *name, *eq, *inl;
	size_t nlen;
	int k, rc;

	*val = NULL;
	for (;;) {
		if (a->i >= a->argc)
			return CLI_ARG_END;
		arg = a->argv[a->i++];
		if (a->dashdash || arg[0] != '-' || arg[1] == '\0') {
			*val = arg;
			return CLI_ARG_POSITIONAL;
		}
		if (strcmp(arg, "--") == 0) {
			a->dashdash = true;
			continue;
		}
		if (strcmp(arg, "-h") == 0) {
			a->ctx->help = true;
			continue;
		}
		if (arg[1] != '-' && arg[2] != '\0') {
			cli_usage_error(a, "unknown option %s", arg);
			return CLI_ARG_ERROR;
		}
		/* "-n": a command's one-letter option, declared by the name "n". */
		name = arg[1] != '-' ? arg + 1 : arg + 2;
		eq = arg[1] != '-' ? NULL : strchr(name, '=');
		nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
		inl = eq != NULL ? eq + 1 : NULL;
		rc = args_common(a, name, nlen, inl);
		if (rc == CLI_ARG_ERROR)
			return rc;
		if (rc == 1)
			continue;
		for (k = 0; opts != NULL && opts[k].name != NULL; k++) {
			if (strlen(opts[k].name) == nlen && memcmp(opts[k].name, name, nlen) == 0)
				break;
		}
		if (opts == NULL || opts[k].name == NULL) {
			if (arg[1] != '-')
				cli_usage_error(a, "unknown option %s", arg);
			else
				cli_usage_error(a, "unknown option --%.*s", (int)nlen, name);
			return CLI_ARG_ERROR;
		}
		if (!opts[k].has_arg) {
			if (inl != NULL) {
				cli_usage_error(a, "option --%s takes no value", opts[k].name);
				return CLI_ARG_ERROR;
			}
			return k;
		}
		if (inl != NULL) {
			*val = inl;
		} else if (a->i < a->argc) {
			*val = a->argv[a->i++];
		} else {
			cli_usage_error(a, "option --%s needs a value", opts[k].name);
			return CLI_ARG_ERROR;
		}
		return k;
	}
}

int cli_write_out(const bg_buf *b)
{
	if (b->failed)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory formatting the answer");
	if (b->len > 0 && (fwrite(b->data, 1, b->len, stdout) != b->len || fflush(stdout) != 0))
		return cli_fail(CLI_EXIT_LOCAL, NULL, "cannot write to standard output");
	return CLI_EXIT_OK;
}

int cli_emit_json(const json_t *j)
{
	json_done = true;
	if (cli_out_json(stdout, j) != 0) {
		/* Nothing more can reach stdout: stderr only. */
		fprintf(stderr, "breakglass: cannot write the answer to standard output\n");
		return CLI_EXIT_LOCAL;
	}
	return CLI_EXIT_OK;
}

int cli_path(bg_buf *b, const char *prefix, const char *id, const char *suffix)
{
	char *esc = cli_client_escape(id);
	int rc;

	if (esc == NULL)
		return BG_ENOMEM;
	rc = bg_buf_adds(b, prefix);
	if (rc == 0)
		rc = bg_buf_adds(b, esc);
	if (rc == 0 && suffix != NULL)
		rc = bg_buf_adds(b, suffix);
	free(esc);
	return rc;
}

int cli_check_id(const cli_args *a, const char *what, const char *id)
{
	size_t i, n = strlen(id);

	if (n == 0 || n > 128)
		return cli_usage_error(a, "bad %s \"%.40s\"", what, id);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)id[i];
		if (ch <= 0x20 || ch >= 0x7f)
			return cli_usage_error(a, "bad %s: unexpected character", what);
	}
	return CLI_EXIT_OK;
}

int cli_check_otp(const cli_args *a, const char *otp)
{
	if (!totp_code_valid(otp))
		return cli_usage_error(a, "--otp must be the %d-digit code from your authenticator",
		                       TOTP_DIGITS);
	return CLI_EXIT_OK;
}

int cli_check_user(const cli_args *a, const char *name)
{
	if (!bg_valid_user_name(name))
		return cli_usage_error(
		    a, "user name \"%.64s\" is not valid: a user name is " BG_USER_NAME_RULE, name);
	return CLI_EXIT_OK;
}

/* Splits a comma-separated value into arr (skipping duplicates). Returns CLI_EXIT_OK or
 * a usage error. */
int cli_list_add(const cli_args *a, json_t *arr, const char *val, const char *opt, size_t max,
                 bool (*ok)(const char *, size_t))
{
	const char *p = val, *comma;
	size_t n, i;
	json_t *v;
	bool dup;

	for (;;) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (!ok(p, n))
			return cli_usage_error(a, "bad --%s value \"%.*s\"", opt,
			                       (int)(n > 80 ? 80 : n), p);
		dup = false;
		json_array_foreach(arr, i, v)
		{
			if (json_string_length(v) == n && memcmp(json_string_value(v), p, n) == 0)
				dup = true;
		}
		if (!dup) {
			if (json_array_size(arr) >= max)
				return cli_usage_error(a, "at most %zu --%s values", max, opt);
			if (json_array_append_new(arr, json_stringn(p, n)) != 0) {
				return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
			}
		}
		if (comma == NULL)
			return CLI_EXIT_OK;
		p = comma + 1;
	}
}

/* A runbook id as a grant names it: 1-64 of a-z 0-9 - (runbook.h). */
bool cli_runbook_word(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > BG_MAX_RUNBOOK_ID)
		return false;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	}
	return true;
}
