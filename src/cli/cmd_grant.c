/*
 * cmd_grant.c - grants: `breakglass grant` (an admin's direct grant), `grant show ID`,
 * `grants` (list) and `revoke ID`.
 *
 * A direct grant bypasses the request/approval workflow, so the command is strict about
 * what it sends: table names and operation names are checked for shape, lists are
 * de-duplicated, and the duration is parsed by the narrow grammar in duration.h. The
 * server decides whether the caller may grant at all.
 */
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/help.h"
#include "cli/client.h"
#include "common/duration.h"
#include "cli/output.h"
#include "common/limits.h"
#include "common/validate.h"
#include "workflow/grant.h"

/* The shape of an --op value: a word of letters. Whether it names an operation that can
 * be granted is grant_op_valid's to say, with a suggestion ("query": Query?). */
static bool op_word(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > BG_MAX_OP_NAME)
		return false;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
			return false;
	}
	return true;
}

static int grant_print(const cli_ctx *ctx, const json_t *g)
{
	bg_buf out;
	int rc;

	if (ctx->json)
		return cli_emit_json(g);
	bg_buf_init(&out, BG_MAX_CLI_TEXT);
	if (cli_out_grant(&out, g, time(NULL)) != 0) {
		bg_buf_free(&out);
		return cli_fail(CLI_EXIT_UNREACHABLE, NULL, "the server's answer is not a grant");
	}
	rc = cli_write_out(&out);
	bg_buf_free(&out);
	return rc;
}

static int grant_list(const cli_ctx *ctx)
{
	json_t *ans = NULL;
	bg_buf out;
	int rc = cli_request(ctx, "GET", "/api/v1/grants", NULL, &ans);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (ctx->json) {
		rc = cli_emit_json(ans);
	} else {
		bg_buf_init(&out, BG_MAX_RESPONSE_BODY);
		if (cli_out_grant_list(&out, ans) != 0) {
			rc = cli_fail(CLI_EXIT_UNREACHABLE, NULL,
			              "the server's answer is not a grant list");
		} else {
			rc = cli_write_out(&out);
		}
		bg_buf_free(&out);
	}
	json_decref(ans);
	return rc;
}

/* GET or POST on /api/v1/grants/ID[suffix], printing the grant that comes back. */
static int grant_by_id(const cli_ctx *ctx, const char *method, const char *id, const char *suffix)
{
	json_t *ans = NULL, *body = NULL;
	bg_buf path;
	int rc;

	bg_buf_init(&path, BG_MAX_API_PATH);
	if (cli_path(&path, "/api/v1/grants/", id, suffix) != 0) {
		bg_buf_free(&path);
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	}
	if (strcmp(method, "POST") == 0 && (body = json_object()) == NULL) {
		bg_buf_free(&path);
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	}
	rc = cli_request(ctx, method, path.data, body, &ans);
	if (rc == CLI_EXIT_OK)
		rc = grant_print(ctx, ans);
	json_decref(ans);
	json_decref(body);
	bg_buf_free(&path);
	return rc;
}

/* What `grant` was given. */
typedef struct grant_args {
	const char *user, *dur, *otp, *reason;
	json_t *tables, *ops, *runbooks;
} grant_args;

static int grant_create(cli_ctx *ctx, cli_args *a, const grant_args *g)
{
	json_t *body = NULL, *ans = NULL, *v;
	bool by_runbook = json_array_size(g->runbooks) > 0;
	int64_t secs = 0;
	size_t i;
	bg_err e;
	int rc;

	if (g->user == NULL)
		return cli_usage_error(a, "missing --user");
	rc = cli_check_user(a, g->user);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (by_runbook && (json_array_size(g->tables) > 0 || json_array_size(g->ops) > 0))
		return cli_usage_error(a, "a grant names --runbook, or --table and --op, not both");
	if (!by_runbook && json_array_size(g->tables) == 0)
		return cli_usage_error(a, "missing --runbook (or --table and --op)");
	if (!by_runbook && json_array_size(g->ops) == 0)
		return cli_usage_error(a, "missing --op");
	/* The server's own rule, so a typo is caught before the TOTP code is spent. */
	json_array_foreach(g->ops, i, v)
	{
		if (grant_op_valid(json_string_value(v), &e) != 0)
			return cli_usage_error(a, "--op: %s", e.msg);
	}
	if (g->dur == NULL)
		return cli_usage_error(a, "missing --for (e.g. --for 15m)");
	if (bg_duration_parse(g->dur, BG_MAX_GRANT_SECONDS, &secs, &e) != 0)
		return cli_usage_error(a, "--for: %s", e.msg);
	if (g->otp == NULL)
		return cli_usage_error(a, "missing --otp");
	rc = cli_check_otp(a, g->otp);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (g->reason == NULL || g->reason[0] == '\0')
		return cli_usage_error(a, "missing --reason (a direct grant says why; it is on the "
		                          "record)");
	if (!bg_valid_text(g->reason, BG_MAX_REASON))
		return cli_usage_error(a, "--reason is at most %d bytes of text on one line",
		                       BG_MAX_REASON);

	body = by_runbook ? json_pack("{s:s, s:O}", "user", g->user, "runbooks", g->runbooks)
	                  : json_pack("{s:s, s:O, s:O}", "user", g->user, "tables", g->tables,
	                              "ops", g->ops);
	if (body == NULL ||
	    json_object_set_new(body, "duration_seconds", json_integer((json_int_t)secs)) != 0 ||
	    json_object_set_new(body, "otp", json_string(g->otp)) != 0 ||
	    json_object_set_new(body, "reason", json_string(g->reason != NULL ? g->reason : "")) !=
	        0) {
		json_decref(body);
		return cli_fail(CLI_EXIT_USAGE, NULL, "out of memory (or --reason is not UTF-8)");
	}
	rc = cli_request(ctx, "POST", "/api/v1/grants", body, &ans);
	if (rc == CLI_EXIT_OK && !ctx->json) /* with --json they are in the object */
		cli_out_warnings(stderr, ans);
	if (rc == CLI_EXIT_OK)
		rc = grant_print(ctx, ans);
	json_decref(body);
	json_decref(ans);
	return rc;
}

int cmd_grant_main(int argc, char **argv)
{
	static const cli_opt opts[] = {{"user", true},    {"table", true}, {"op", true},
	                               {"for", true},     {"otp", true},   {"reason", true},
	                               {"runbook", true}, {NULL, false}};
	enum { O_USER, O_TABLE, O_OP, O_FOR, O_OTP, O_REASON, O_RUNBOOK };
	cli_ctx ctx;
	cli_args a;
	const char *val, *sub = NULL, *id = NULL;
	grant_args g = {NULL, NULL, NULL, NULL, json_array(), json_array(), json_array()};
	bool creating = false;
	int k, rc = CLI_EXIT_USAGE;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "grant", &ctx);
	if (g.tables == NULL || g.ops == NULL || g.runbooks == NULL) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		goto fail;
	}
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR) {
			rc = CLI_EXIT_USAGE;
			goto fail;
		}
		if (k == CLI_ARG_POSITIONAL) {
			if (sub == NULL && !creating &&
			    (strcmp(val, "show") == 0 || strcmp(val, "list") == 0)) {
				sub = val;
			} else if (sub != NULL && strcmp(sub, "show") == 0 && id == NULL) {
				id = val;
			} else {
				rc = cli_usage_error(&a, "unexpected argument \"%s\"", val);
				goto fail;
			}
			continue;
		}
		if (sub != NULL) {
			rc = cli_usage_error(&a, "grant %s takes no --%s", sub, opts[k].name);
			goto fail;
		}
		creating = true;
		rc = CLI_EXIT_OK;
		switch (k) {
		case O_USER:
			g.user = val;
			break;
		case O_TABLE:
			rc = cli_list_add(&a, g.tables, val, "table", BG_MAX_GRANT_TABLES,
			                  bg_valid_table_name);
			break;
		case O_OP:
			rc = cli_list_add(&a, g.ops, val, "op", BG_MAX_GRANT_OPS, op_word);
			break;
		case O_FOR:
			g.dur = val;
			break;
		case O_OTP:
			g.otp = val;
			break;
		case O_REASON:
			g.reason = val;
			break;
		case O_RUNBOOK:
			rc = cli_list_add(&a, g.runbooks, val, "runbook", BG_MAX_GRANT_RUNBOOKS,
			                  cli_runbook_word);
			break;
		}
		if (rc != CLI_EXIT_OK)
			goto fail;
	}
	if (ctx.help) {
		rc = cli_help_show("grant");
		goto fail;
	}
	if (sub != NULL && strcmp(sub, "list") == 0) {
		rc = grant_list(&ctx);
	} else if (sub != NULL) {
		a.cmd = "grant show";
		if (id == NULL) {
			rc = cli_usage_error(&a, "missing the grant ID");
			goto fail;
		}
		rc = cli_check_id(&a, "grant id", id);
		if (rc == CLI_EXIT_OK)
			rc = grant_by_id(&ctx, "GET", id, NULL);
	} else {
		rc = grant_create(&ctx, &a, &g);
	}
fail:
	json_decref(g.tables);
	json_decref(g.ops);
	json_decref(g.runbooks);
	return rc;
}

int cmd_grants_main(int argc, char **argv)
{
	cli_ctx ctx;
	cli_args a;
	const char *val;
	int k;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "grants", &ctx);
	while ((k = cli_args_next(&a, NULL, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		return cli_usage_error(&a, "unexpected argument \"%s\"", val);
	}
	if (ctx.help)
		return cli_help_show("grants");
	return grant_list(&ctx);
}

int cmd_revoke_main(int argc, char **argv)
{
	cli_ctx ctx;
	cli_args a;
	const char *val, *id = NULL;
	int k, rc;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "revoke", &ctx);
	while ((k = cli_args_next(&a, NULL, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (id != NULL)
			return cli_usage_error(&a, "unexpected argument \"%s\"", val);
		id = val;
	}
	if (ctx.help)
		return cli_help_show("revoke");
	if (id == NULL)
		return cli_usage_error(&a, "missing the GRANT id");
	rc = cli_check_id(&a, "grant id", id);
	if (rc != CLI_EXIT_OK)
		return rc;
	return grant_by_id(&ctx, "POST", id, "/revoke");
}
