/*
 * cmd_user.c - `breakglass user add NAME --role ROLE --otp CODE`: an admin enrols a user.
 *
 * The answer holds the new user's API token and TOTP secret, shown once: printing them is
 * the point of the command. Arguments are checked here first so a typo costs no TOTP
 * code (each code is accepted once).
 */
#include <string.h>

#include "cli/cli.h"
#include "cli/help.h"
#include "cli/client.h"
#include "cli/output.h"
#include "common/limits.h"
#include "workflow/user.h"

static int user_print(const json_t *ans)
{
	static const struct {
		const char *label, *key;
	} rows[] = {{"user", "name"},
	            {"role", "role"},
	            {"token", "token"},
	            {"totp secret", "totp_secret"},
	            {"totp uri", "totp_uri"}};
	char tmp[1024];
	bg_buf out;
	size_t k;
	int rc;

	bg_buf_init(&out, BG_MAX_CLI_TEXT);
	rc = 0;
	for (k = 0; rc == 0 && k < sizeof(rows) / sizeof(rows[0]); k++) {
		const char *v = json_string_value(json_object_get(ans, rows[k].key));
		cli_out_sanitize(v != NULL ? v : "-", tmp, sizeof(tmp));
		rc = bg_buf_addf(&out, "%-12s %s\n", rows[k].label, tmp);
	}
	if (rc == 0)
		rc = bg_buf_adds(&out,
		                 "\nHand the token and TOTP secret over a trusted channel: "
		                 "they are not shown again.\nThe user sets BREAKGLASS_TOKEN to "
		                 "the token and adds the TOTP secret (or URI) to an "
		                 "authenticator.\n");
	rc = cli_write_out(&out); /* reports a failed append too (out.failed) */
	bg_buf_free_secure(&out);
	return rc;
}

int cmd_user_main(int argc, char **argv)
{
	static const cli_opt opts[] = {{"role", true}, {"otp", true}, {NULL, false}};
	cli_ctx ctx;
	cli_args a;
	const char *val, *name = NULL, *role = NULL, *otp = NULL;
	json_t *body = NULL, *ans = NULL;
	int k, rc;
	bool add = false;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "user", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		switch (k) {
		case CLI_ARG_ERROR:
			return CLI_EXIT_USAGE;
		case CLI_ARG_POSITIONAL:
			if (!add && strcmp(val, "add") == 0) {
				add = true;
				a.cmd = "user add";
			} else if (!add) {
				return cli_usage_error(&a, "unknown subcommand \"%s\"", val);
			} else if (name == NULL) {
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
	if (!add)
		return cli_usage_error(&a, "missing subcommand (add)");
	if (name == NULL)
		return cli_usage_error(&a, "missing the user's NAME");
	rc = cli_check_user(&a, name);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (role == NULL)
		return cli_usage_error(&a, "missing --role");
	if (user_role_parse(role) == USER_ROLE_NONE)
		return cli_usage_error(&a, "--role is admin, responder or approver");
	if (otp == NULL)
		return cli_usage_error(&a, "missing --otp");
	rc = cli_check_otp(&a, otp);
	if (rc != CLI_EXIT_OK)
		return rc;

	body = json_pack("{s:s, s:s, s:s}", "name", name, "role", role, "otp", otp);
	if (body == NULL) {
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	}
	rc = cli_request(&ctx, "POST", "/api/v1/users", body, &ans);
	if (rc == CLI_EXIT_OK)
		rc = ctx.json ? cli_emit_json(ans) : user_print(ans);
	json_decref(body);
	json_decref(ans);
	return rc;
}
