/*
 * cmd_whoami.c - `breakglass whoami`: which user the API token belongs to.
 *
 * The first thing to run after exporting BREAKGLASS_TOKEN at 2 a.m.: it proves the
 * server is reachable and the token is the one you think it is.
 */
#include "cli/cli.h"
#include "cli/help.h"
#include "cli/client.h"
#include "cli/output.h"
#include "common/limits.h"

int cmd_whoami_main(int argc, char **argv)
{
	cli_ctx ctx;
	cli_args a;
	const char *val;
	json_t *ans = NULL;
	bg_buf out;
	int k, rc;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "whoami", &ctx);
	while ((k = cli_args_next(&a, NULL, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		return cli_usage_error(&a, "unexpected argument \"%s\"", val);
	}
	if (ctx.help)
		return cli_help_show("whoami");
	rc = cli_request(&ctx, "GET", "/api/v1/whoami", NULL, &ans);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (ctx.json) {
		rc = cli_emit_json(ans);
	} else {
		char user[128], role[64];
		const char *u = json_string_value(json_object_get(ans, "user"));
		const char *r = json_string_value(json_object_get(ans, "role"));
		cli_out_sanitize(u != NULL ? u : "?", user, sizeof(user));
		cli_out_sanitize(r != NULL ? r : "?", role, sizeof(role));
		bg_buf_init(&out, BG_MAX_CLI_TEXT);
		rc = bg_buf_addf(&out, "%s (%s)\n", user, role);
		rc = cli_write_out(&out); /* reports a failed append too (out.failed) */
		bg_buf_free(&out);
	}
	json_decref(ans);
	return rc;
}
