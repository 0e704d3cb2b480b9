/*
 * main.c - the `breakglass` binary: git-style dispatch to the commands (src/cli/cmd_*.c;
 * init and serve hand over to src/gateway once their arguments are parsed).
 *
 * Common options may also come before the command (`breakglass --json grants`); they are
 * moved right after the command name so each command parses one argument list. --json is
 * looked for before any command runs, so that every failure, even a usage error found
 * before the option is reached, is printed as JSON. Exit codes follow cli.h: an unknown
 * command or a missing one is a usage error (2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/help.h"

/* The commands, in the manual's order (help_pages.c has a page for each; a test checks). */
static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	bool client; /* talks to the server: needs libcurl */
} commands[] = {
    {"init", cmd_init_main, false},        {"serve", cmd_serve_main, false},
    {"recover", cmd_recover_main, false},  {"status", cmd_status_main, true},
    {"whoami", cmd_whoami_main, true},     {"user", cmd_user_main, true},
    {"incident", cmd_incident_main, true}, {"request", cmd_request_main, true},
    {"close", cmd_close_main, true},       {"review", cmd_review_main, true},
    {"approve", cmd_approve_main, true},   {"deny", cmd_deny_main, true},
    {"requests", cmd_requests_main, true}, {"extend", cmd_extend_main, true},
    {"grant", cmd_grant_main, true},       {"grants", cmd_grants_main, true},
    {"creds", cmd_creds_main, true},       {"exec", cmd_exec_main, true},
    {"revoke", cmd_revoke_main, true},     {"audit", cmd_audit_main, true},
    {"runbook", cmd_runbook_main, true},   {"run", cmd_run_main, true},
    {"report", cmd_report_main, true},     {"drill", cmd_drill_main, true},
    {"undo", cmd_undo_main, true},         {"help", cmd_help_main, false},
    {"version", cmd_version_main, false},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* True if argv[i] is a common option; *width is how many argv slots it takes. */
static bool main_is_common(int argc, char **argv, int i, int *width)
{
	const char *s = argv[i];

	if (strcmp(s, "--json") == 0 || strncmp(s, "--url=", 6) == 0 ||
	    strncmp(s, "--token=", 8) == 0) {
		*width = 1;
		return true;
	}
	if (strcmp(s, "--url") == 0 || strcmp(s, "--token") == 0) {
		*width = i + 1 < argc ? 2 : 1;
		return true;
	}
	return false;
}

/* Whether --json is among the command's own arguments: before "--", and for exec before
 * the command it runs (exec GRANT COMMAND...: COMMAND's --json is not ours). */
static bool main_wants_json(int argc, char **argv, int first)
{
	int i, positional = 0;
	bool exec = strcmp(argv[first], "exec") == 0;

	for (i = 1; i < argc; i++) {
		if (i == first)
			continue;
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--json") == 0)
			return true;
		if (argv[i][0] != '-' && i > first && exec && ++positional == 2)
			break;
	}
	return false;
}

int main(int argc, char **argv)
{
	char **nargv = NULL;
	int first = 1, width = 0, n, i, rc;
	size_t c;

	while (first < argc && main_is_common(argc, argv, first, &width))
		first += width;
	if (first >= argc) {
		cli_help_overview(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0) {
		cli_help_overview(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[first], "--version") == 0)
		argv[first] = "version";
	cli_set_json(main_wants_json(argc, argv, first));
	for (c = 0; c < NCOMMANDS; c++) {
		if (strcmp(argv[first], commands[c].name) == 0)
			break;
	}
	if (c == NCOMMANDS) {
		if (argv[first][0] == '-')
			return cli_fail(CLI_EXIT_USAGE, NULL,
			                "unknown option \"%.80s\" (options come after the command; "
			                "try 'breakglass --help')",
			                argv[first]);
		return cli_fail(CLI_EXIT_USAGE, NULL,
		                "unknown command \"%.80s\"; try 'breakglass --help'", argv[first]);
	}
	if (commands[c].client && cli_client_global_init() != 0)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "cannot initialise libcurl");
	/* argv for the command: its name, the common options given before it, the rest. */
	n = argc - 1;
	nargv = calloc((size_t)n + 1, sizeof(*nargv));
	if (nargv == NULL)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	nargv[0] = argv[first];
	for (i = 1; i < first; i++)
		nargv[i] = argv[i];
	for (i = first + 1; i < argc; i++)
		nargv[i - 1] = argv[i];
	nargv[n] = NULL;
	rc = commands[c].fn(n, nargv);
	free(nargv);
	return rc;
}
