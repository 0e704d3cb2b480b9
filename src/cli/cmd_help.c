/*
 * cmd_help.c - `breakglass help [COMMAND | --man]` and `breakglass version` (also
 * `--version`): the manual and the version, from help.c.
 */
#include <jansson.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/help.h"

int cmd_help_main(int argc, char **argv)
{
	static const cli_opt opts[] = {{"man", false}, {NULL, false}};
	const char *val, *name = NULL;
	bool man = false;
	cli_ctx ctx;
	cli_args a;
	int k;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "help", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (k == 0) {
			man = true;
		} else if (name == NULL) {
			name = val;
		} else {
			return cli_usage_error(&a, "unexpected argument \"%s\"", val);
		}
	}
	if (ctx.help)
		return cli_help_show("help");
	if (man) {
		if (cli_help_man(stdout) != 0)
			return cli_fail(CLI_EXIT_LOCAL, NULL, "cannot write to standard output");
		return CLI_EXIT_OK;
	}
	if (name == NULL) {
		cli_help_overview(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(name, "breakglass") != 0 && cli_help_find(name) == NULL)
		return cli_usage_error(&a, "no command \"%.80s\"; `breakglass help` lists them",
		                       name);
	return cli_help_show(name);
}

int cmd_version_main(int argc, char **argv)
{
	const char *val;
	cli_ctx ctx;
	cli_args a;
	json_t *o;
	int k, rc;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "version", &ctx);
	while ((k = cli_args_next(&a, NULL, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		return cli_usage_error(&a, "unexpected argument \"%s\"", val);
	}
	if (ctx.help)
		return cli_help_show("version");
	if (!ctx.json) {
		cli_help_version(stdout);
		return CLI_EXIT_OK;
	}
	o = json_pack("{s:s}", "version", cli_help_version_string());
	if (o == NULL)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	rc = cli_emit_json(o);
	json_decref(o);
	return rc;
}
