/*
 * cmd_creds.c - `breakglass creds GRANT` and `breakglass exec GRANT -- COMMAND...`: hand a
 * grant's temporary SigV4 credentials to standard AWS clients.
 *
 * Three shapes: shell `export` lines (eval them), the credential_process JSON that
 * ~/.aws/config can call, and `exec`, which puts the same variables into the environment
 * of one command and replaces this process with it, so the secret never touches a file or
 * the shell history. Printing the secret is the purpose of `creds`; nothing else here
 * prints it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/help.h"
#include "cli/client.h"
#include "cli/output.h"
#include "common/limits.h"

/* POST /api/v1/grants/ID/creds. */
static int creds_fetch(const cli_ctx *ctx, const char *id, json_t **out)
{
	json_t *body = json_object();
	bg_buf path;
	int rc;

	*out = NULL;
	bg_buf_init(&path, BG_MAX_API_PATH);
	if (body == NULL || cli_path(&path, "/api/v1/grants/", id, "/creds") != 0) {
		cli_errorf("out of memory");
		rc = CLI_EXIT_REFUSED;
		goto fail;
	}
	rc = cli_request(ctx, "POST", path.data, body, out);
fail:
	json_decref(body);
	bg_buf_free(&path);
	return rc;
}

int cmd_creds_main(int argc, char **argv)
{
	static const cli_opt opts[] = {{"format", true}, {NULL, false}};
	cli_ctx ctx;
	cli_args a;
	const char *val, *id = NULL, *format = NULL;
	json_t *ans = NULL, *proc = NULL;
	bg_buf out;
	bg_err e;
	int k, rc;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "creds", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (k == CLI_ARG_POSITIONAL) {
			if (id != NULL)
				return cli_usage_error(&a, "unexpected argument \"%s\"", val);
			id = val;
		} else {
			format = val;
		}
	}
	if (ctx.help)
		return cli_help_show("creds");
	if (format == NULL)
		format = ctx.json ? "json" : "env";
	if (strcmp(format, "env") != 0 && strcmp(format, "json") != 0 &&
	    strcmp(format, "process") != 0)
		return cli_usage_error(&a, "--format is env, json or process");
	if (ctx.json && strcmp(format, "env") == 0)
		return cli_usage_error(&a, "--json prints JSON: use --format json or process");
	if (id == NULL)
		return cli_usage_error(&a, "missing the GRANT id");
	rc = cli_check_id(&a, "grant id", id);
	if (rc != CLI_EXIT_OK)
		return rc;

	rc = creds_fetch(&ctx, id, &ans);
	if (rc != CLI_EXIT_OK)
		return rc;
	bg_buf_init(&out, BG_MAX_CLI_TEXT);
	if (strcmp(format, "json") == 0) {
		rc = cli_emit_json(ans);
	} else if (strcmp(format, "process") == 0) {
		proc = cli_out_creds_process(ans, &e);
		if (proc == NULL) {
			cli_errorf("%s", e.msg);
			rc = CLI_EXIT_UNREACHABLE;
		} else {
			rc = cli_emit_json(proc);
		}
	} else if (cli_out_creds_env(&out, ans, &e) != 0) {
		cli_errorf("%s", e.msg);
		rc = CLI_EXIT_UNREACHABLE;
	} else {
		rc = cli_write_out(&out);
	}
	bg_buf_free_secure(&out);
	json_decref(proc);
	json_decref(ans);
	return rc;
}

/* Variables that could make a client use other credentials or another endpoint than the
 * grant's, or confuse the person reading `env` inside the command. */
static const char *const exec_unset[] = {
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ENDPOINT_URL",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
};

char **cli_exec_argv(char **cmd, const char *endpoint)
{
	const char *base = strrchr(cmd[0], '/');
	char **out;
	size_t n, i;

	base = base != NULL ? base + 1 : cmd[0];
	for (n = 0; cmd[n] != NULL; n++) {
		if (strcmp(cmd[n], "--endpoint-url") == 0 ||
		    strncmp(cmd[n], "--endpoint-url=", 15) == 0)
			return cmd;
	}
	if (strcmp(base, "aws") != 0)
		return cmd;
	out = calloc(n + 3, sizeof(*out));
	if (out == NULL)
		return NULL;
	out[0] = cmd[0];
	out[1] = "--endpoint-url";
	out[2] = (char *)endpoint;
	for (i = 1; i < n; i++)
		out[i + 2] = cmd[i];
	out[n + 2] = NULL;
	return out;
}

int cmd_exec_main(int argc, char **argv)
{
	cli_ctx ctx;
	cli_args a;
	const char *val, *id = NULL;
	char **cmd = NULL, **run;
	cli_envvar vars[CLI_CREDS_NVARS];
	json_t *ans = NULL;
	bg_err e;
	size_t i;
	int k, rc, err;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "exec", &ctx);
	while (cmd == NULL && (k = cli_args_next(&a, NULL, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (id == NULL)
			id = val;
		else /* The command starts here; its own options are not ours. */
			cmd = &a.argv[a.i - 1];
	}
	if (ctx.help)
		return cli_help_show("exec");
	if (id == NULL)
		return cli_usage_error(&a, "missing the GRANT id");
	rc = cli_check_id(&a, "grant id", id);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cmd == NULL || cmd[0][0] == '\0')
		return cli_usage_error(&a, "missing the COMMAND to run");

	rc = creds_fetch(&ctx, id, &ans);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli_out_creds_vars(ans, vars, &e) != 0) {
		cli_errorf("%s", e.msg);
		json_decref(ans);
		return CLI_EXIT_UNREACHABLE;
	}
	for (i = 0; i < sizeof(exec_unset) / sizeof(exec_unset[0]); i++) {
		if (unsetenv(exec_unset[i]) != 0)
			goto env_fail;
	}
	for (i = 0; i < CLI_CREDS_NVARS; i++) {
		if (setenv(vars[i].name, vars[i].value, 1) != 0)
			goto env_fail;
	}
	if (setenv("BREAKGLASS_GRANT", id, 1) != 0)
		goto env_fail;
	/* vars[5] was copied into the environment: point at that copy, since ans goes. */
	run = cli_exec_argv(cmd, getenv("AWS_ENDPOINT_URL_DYNAMODB"));
	json_decref(ans);
	if (run == NULL) {
		cli_errorf("out of memory");
		return CLI_EXIT_REFUSED;
	}
	fflush(NULL);
	execvp(run[0], run);
	/* Like a shell: 127 when the command does not exist, 126 when it cannot run. */
	err = errno;
	if (run != cmd)
		free(run);
	rc = (err == ENOENT || err == ENOTDIR) ? 127 : 126;
	cli_errorf("%s: %s", cmd[0], rc == 127 ? "command not found" : strerror(err));
	return rc;
env_fail:
	cli_errorf("cannot set the environment: %s", strerror(errno));
	json_decref(ans);
	return CLI_EXIT_REFUSED;
}
