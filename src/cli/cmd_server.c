/*
 * cmd_server.c - the server-side commands: `breakglass init`, `breakglass serve` and
 * `breakglass recover` (a lost sole admin's way back in, on the server's host).
 *
 * Their arguments go through the same parser as every other command's (cli.h), so
 * --help, --json, "--opt=value" and the usage errors behave alike everywhere; the work is
 * done by the gateway (gateway.h), and its failures are mapped to exit codes here: a bad
 * setting is a usage error (2), anything else that stops them is local (4).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/help.h"
#include "cli/output.h"
#include "common/limits.h"
#include "gateway/gateway.h"

/* The exit code for a gateway failure. */
static int server_exit(const bg_err *e)
{
	return e->code == BG_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_LOCAL;
}

/* The admin's new secrets, shown once; headline says what happened ("Created breakglass
 * store in DIR"). */
static int init_print(const cli_ctx *ctx, const char *headline, const char *data, const char *admin,
                      const user_secrets *us)
{
	json_t *o;
	bg_buf out;
	int rc;

	if (ctx->json) {
		o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "data", data, "admin", admin, "token",
		              us->token, "totp_secret", us->totp_secret, "totp_uri",
		              us->totp_uri.data);
		if (o == NULL)
			return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		rc = cli_emit_json(o);
		json_decref(o);
		return rc;
	}
	bg_buf_init(&out, BG_MAX_CLI_TEXT);
	rc = bg_buf_addf(&out,
	                 "%s %s\n\n"
	                 "Admin:        %s\n"
	                 "API token:    %s\n"
	                 "TOTP secret:  %s\n"
	                 "TOTP URI:     %s\n\n"
	                 "Keep the token secret (export BREAKGLASS_TOKEN=...). Add the TOTP "
	                 "secret to an\nauthenticator app; `oathtool --totp -b SECRET` prints "
	                 "the current code.\nThese are shown once: the store keeps neither.\n",
	                 headline, data, admin, us->token, us->totp_secret, us->totp_uri.data);
	if (rc == 0)
		rc = bg_buf_adds(&out, "\nScan with an authenticator app:\n\n") ||
		     cli_out_qr(&out, us->totp_uri.data);
	rc = rc != 0 ? cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory") : cli_write_out(&out);
	bg_buf_free_secure(&out);
	return rc;
}

/* What init and recover share: --data DIR (default $BREAKGLASS_DATA) and --admin NAME,
 * checked. Returns CLI_EXIT_OK with both set, or an exit code (a usage error); with
 * --help the page is printed and ctx->help tells the caller to stop there. */
static int data_and_admin(int argc, char **argv, const char *cmd, cli_ctx *ctx, const char **data,
                          const char **admin)
{
	static const cli_opt opts[] = {{"data", true}, {"admin", true}, {NULL, false}};
	const char *val;
	cli_args a;
	int k;

	*data = getenv("BREAKGLASS_DATA");
	*admin = NULL;
	cli_ctx_init(ctx);
	cli_args_init(&a, argc, argv, cmd, ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (k == CLI_ARG_POSITIONAL)
			return cli_usage_error(&a, "unexpected argument \"%s\"", val);
		if (k == 0)
			*data = val;
		else
			*admin = val;
	}
	if (ctx->help)
		return cli_help_show(cmd);
	if (*data == NULL || (*data)[0] == '\0')
		return cli_usage_error(&a, "missing --data DIR (or set BREAKGLASS_DATA)");
	if (*admin == NULL)
		return cli_usage_error(&a, "missing --admin NAME");
	return cli_check_user(&a, *admin);
}

int cmd_init_main(int argc, char **argv)
{
	const char *data, *admin;
	user_secrets us;
	cli_ctx ctx;
	bg_err e;
	int rc = data_and_admin(argc, argv, "init", &ctx, &data, &admin);

	if (rc != CLI_EXIT_OK || ctx.help)
		return rc;
	bg_err_clear(&e);
	if (gateway_init(data, admin, &us, &e) != 0)
		return cli_fail(server_exit(&e), e.code == BG_EEXISTS ? "exists" : NULL, "init: %s",
		                e.msg[0] != '\0' ? e.msg : "failed");
	rc = init_print(&ctx, "Created breakglass store in", data, admin, &us);
	user_secrets_free(&us);
	return rc;
}

int cmd_recover_main(int argc, char **argv)
{
	const char *data, *admin;
	user_secrets us;
	cli_ctx ctx;
	bg_err e;
	int rc = data_and_admin(argc, argv, "recover", &ctx, &data, &admin);

	if (rc != CLI_EXIT_OK || ctx.help)
		return rc;
	bg_err_clear(&e);
	if (gateway_recover(data, admin, &us, &e) != 0)
		return cli_fail(e.code == BG_EINVAL      ? CLI_EXIT_USAGE
		                : e.code == BG_ENOTFOUND ? CLI_EXIT_REFUSED
		                                         : CLI_EXIT_LOCAL,
		                NULL, "recover: %s", e.msg[0] != '\0' ? e.msg : "failed");
	rc = init_print(&ctx, "New API token and TOTP key for an admin of", data, admin, &us);
	user_secrets_free(&us);
	return rc;
}

int cmd_serve_main(int argc, char **argv)
{
	/* "config" and then one option per setting (gw_config_flag). */
	cli_opt opts[BG_MAX_CONFIG_KEYS + 2];
	gw_config_arg args[BG_MAX_CONFIG_ARGS];
	const char *val, *file = NULL;
	size_t nopts = 0, nargs = 0;
	gw_config cfg;
	cli_ctx ctx;
	cli_args a;
	bg_err e;
	int k;

	opts[nopts].name = "config";
	opts[nopts++].has_arg = true;
	while (nopts < BG_MAX_CONFIG_KEYS + 1 && gw_config_flag(nopts - 1) != NULL) {
		opts[nopts].name = gw_config_flag(nopts - 1);
		opts[nopts++].has_arg = true;
	}
	opts[nopts].name = NULL;
	opts[nopts].has_arg = false;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "serve", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (k == CLI_ARG_POSITIONAL)
			return cli_usage_error(&a, "unexpected argument \"%s\"", val);
		if (k == 0) {
			file = val;
			continue;
		}
		if (nargs == BG_MAX_CONFIG_ARGS)
			return cli_usage_error(&a, "more than %d settings", BG_MAX_CONFIG_ARGS);
		args[nargs].key = (size_t)k - 1;
		args[nargs++].value = val;
	}
	if (ctx.help)
		return cli_help_show("serve");

	bg_err_clear(&e);
	if (gw_config_load(&cfg, file, args, nargs, &e) != 0)
		return cli_usage_error(&a, "%s", e.msg);
	cfg.json = ctx.json;
	if (gateway_serve(&cfg, &e) != 0)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "serve: %s",
		                e.msg[0] != '\0' ? e.msg : "could not start");
	return CLI_EXIT_OK;
}
