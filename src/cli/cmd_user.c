/*
 * cmd_user.c - `breakglass user add|list|disable|enable|rotate-token|reset-totp`: an
 * admin manages who may act, each change confirmed with the admin's TOTP code.
 *
 * A new user's (or a renewed) API token and TOTP secret are shown once, with the secret as
 * a QR code for an authenticator app: printing them is the point of those commands. Arguments are
 * checked here first so a typo costs no TOTP code (each code is accepted once).
 */
#include <string.h>

#include "cli/cli.h"
#include "cli/help.h"
#include "cli/client.h"
#include "cli/output.h"
#include "common/limits.h"
#include "workflow/user.h"

/* The answer's secrets, one per line (those present), then the QR code of the TOTP URI. */
static int user_print(const json_t *ans, const char *note)
{
	static const struct {
		const char *label, *key;
	} rows[] = {{"user", "name"},
	            {"role", "role"},
	            {"token", "token"},
	            {"totp secret", "totp_secret"},
	            {"totp uri", "totp_uri"}};
	const char *uri = json_string_value(json_object_get(ans, "totp_uri"));
	char tmp[1024];
	bg_buf out;
	size_t k;
	int rc = 0;

	bg_buf_init(&out, BG_MAX_CLI_TEXT);
	for (k = 0; rc == 0 && k < sizeof(rows) / sizeof(rows[0]); k++) {
		const char *v = json_string_value(json_object_get(ans, rows[k].key));
		if (v == NULL)
			continue;
		cli_out_sanitize(v, tmp, sizeof(tmp));
		rc = bg_buf_addf(&out, "%-12s %s\n", rows[k].label, tmp);
	}
	if (rc == 0 && uri != NULL)
		rc = bg_buf_adds(&out, "\nScan with an authenticator app:\n\n") ||
		     cli_out_qr(&out, uri);
	if (rc == 0)
		rc = bg_buf_adds(&out, note);
	rc = cli_write_out(&out); /* reports a failed append too (out.failed) */
	bg_buf_free_secure(&out);
	return rc;
}

/* POST /api/v1/users/NAME/ACTION with the caller's TOTP code; prints the answer. */
static int user_action(const cli_ctx *ctx, const char *name, const char *action, const char *otp,
                       const char *note)
{
	json_t *body = json_pack("{s:s}", "otp", otp), *ans = NULL;
	bg_buf path;
	int rc;

	bg_buf_init(&path, BG_MAX_API_PATH);
	if (body == NULL || cli_path(&path, "/api/v1/users/", name, action) != 0) {
		json_decref(body);
		bg_buf_free(&path);
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	}
	rc = cli_request(ctx, "POST", path.data, body, &ans);
	if (rc == CLI_EXIT_OK && ctx->json)
		rc = cli_emit_json(ans);
	else if (rc == CLI_EXIT_OK && note != NULL)
		rc = user_print(ans, note);
	else if (rc == CLI_EXIT_OK)
		printf("%s: %s\n", name, action + 1);
	json_decref(body);
	json_decref(ans);
	bg_buf_free(&path);
	return rc;
}

static int user_list(const cli_ctx *ctx)
{
	json_t *ans = NULL, *users, *u;
	size_t i;
	int rc = cli_request(ctx, "GET", "/api/v1/users", NULL, &ans);

	if (rc != CLI_EXIT_OK)
		return rc;
	users = json_object_get(ans, "users");
	if (ctx->json) {
		rc = cli_emit_json(ans);
	} else if (!json_is_array(users)) {
		rc = cli_fail(CLI_EXIT_UNREACHABLE, NULL, "the server's answer has no user list");
	} else {
		char name[80], role[80];
		printf("%-24s %-32s %s\n", "NAME", "ROLES", "STATE");
		json_array_foreach(users, i, u)
		{
			cli_out_sanitize(json_string_value(json_object_get(u, "name")), name,
			                 sizeof(name));
			cli_out_sanitize(json_string_value(json_object_get(u, "role")), role,
			                 sizeof(role));
			printf("%-24s %-32s %s\n", name, role,
			       json_is_true(json_object_get(u, "disabled")) ? "disabled"
			       : json_is_true(json_object_get(u, "locked"))
			           ? "locked (wrong TOTP codes)"
			           : "active");
		}
	}
	json_decref(ans);
	return rc;
}

static const char new_user_note[] =
    "\nHand the token and TOTP secret over a trusted channel: they are not shown again.\n"
    "The user sets BREAKGLASS_TOKEN to the token and adds the TOTP secret (or the code above)\n"
    "to an authenticator.\n";

int cmd_user_main(int argc, char **argv)
{
	static const cli_opt opts[] = {{"role", true}, {"otp", true}, {NULL, false}};
	static const char *const subs[] = {"add",          "list",       "disable", "enable",
	                                   "rotate-token", "reset-totp", NULL};
	cli_ctx ctx;
	cli_args a;
	const char *val, *sub = NULL, *name = NULL, *role = NULL, *otp = NULL;
	char cmd[32];
	json_t *body = NULL, *ans = NULL;
	size_t i;
	int k, rc;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "user", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		switch (k) {
		case CLI_ARG_ERROR:
			return CLI_EXIT_USAGE;
		case CLI_ARG_POSITIONAL:
			if (sub == NULL) {
				for (i = 0; subs[i] != NULL && strcmp(subs[i], val) != 0; i++)
					;
				if (subs[i] == NULL)
					return cli_usage_error(
					    &a,
					    "unknown subcommand \"%s\" (add, list, disable, "
					    "enable, rotate-token, reset-totp)",
					    val);
				sub = subs[i];
				snprintf(cmd, sizeof(cmd), "user %s", sub);
				a.cmd = cmd;
			} else if (name == NULL && strcmp(sub, "list") != 0) {
				name = val;
			} else {
				return cli_usage_error(&a, "unexpected argument \"%s\"", val);
			}
			break;
		case 0:
			role = val;
			break;
		case 1:
			otp = val;
			break;
		}
	}
	if (ctx.help)
		return cli_help_show("user");
	if (sub == NULL)
		return cli_usage_error(&a, "missing subcommand (add, list, disable, enable, "
		                           "rotate-token, reset-totp)");
	if (strcmp(sub, "list") == 0)
		return role != NULL || otp != NULL
		           ? cli_usage_error(&a, "user list takes no options")
		           : user_list(&ctx);
	if (name == NULL)
		return cli_usage_error(&a, "missing the user's NAME");
	rc = cli_check_user(&a, name);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (role != NULL && strcmp(sub, "add") != 0)
		return cli_usage_error(&a, "--role is for user add");
	if (strcmp(sub, "add") == 0 && role == NULL)
		return cli_usage_error(&a, "missing --role");
	if (role != NULL && user_role_parse(role) == USER_ROLE_NONE)
		return cli_usage_error(
		    &a, "--role is admin, responder, approver or auditor, or several "
		        "joined by commas (admin,approver)");
	if (otp == NULL)
		return cli_usage_error(&a, "missing --otp (your current TOTP code)");
	rc = cli_check_otp(&a, otp);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0)
		return user_action(&ctx, name, strcmp(sub, "disable") == 0 ? "/disable" : "/enable",
		                   otp, NULL);
	if (strcmp(sub, "rotate-token") == 0)
		return user_action(
		    &ctx, name, "/rotate-token", otp,
		    "\nThe old token no longer works. Hand the new one over a trusted "
		    "channel.\n");
	if (strcmp(sub, "reset-totp") == 0)
		return user_action(
		    &ctx, name, "/reset-totp", otp,
		    "\nThe old TOTP key no longer works. The user enrols the new one.\n");

	body = json_pack("{s:s, s:s, s:s}", "name", name, "role", role, "otp", otp);
	if (body == NULL)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	rc = cli_request(&ctx, "POST", "/api/v1/users", body, &ans);
	if (rc == CLI_EXIT_OK)
		rc = ctx.json ? cli_emit_json(ans) : user_print(ans, new_user_note);
	json_decref(body);
	json_decref(ans);
	return rc;
}
