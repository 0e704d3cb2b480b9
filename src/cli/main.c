/*
 * main.c - the `breakglass` binary: git-style dispatch to the server commands (init,
 * serve, in src/gateway) and the client commands (src/cli/cmd_*.c).
 *
 * Common options may also come before the command (`breakglass --json grants`); they are
 * moved right after the command name so each command parses one argument list. Exit codes
 * follow cli.h: an unknown command or a missing one is a usage error (2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "gateway/gateway.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	bool server; /* needs no HTTP client */
	const char *help;
} commands[] = {
    {"init", gateway_init_main, true, "create the store and the first admin"},
    {"serve", gateway_serve_main, true, "run the DynamoDB gateway and its JSON API"},
    {"whoami", cmd_whoami_main, false, "show who the API token belongs to"},
    {"user", cmd_user_main, false, "user add NAME --role ROLE --otp CODE"},
    {"grant", cmd_grant_main, false, "grant --user U --table T --op OP --for 15m --otp CODE"},
    {"grants", cmd_grants_main, false, "list grants"},
    {"creds", cmd_creds_main, false, "creds GRANT [--format env|json|process]"},
    {"exec", cmd_exec_main, false, "exec GRANT -- COMMAND...: run with the grant's AWS env"},
    {"revoke", cmd_revoke_main, false, "revoke GRANT"},
    {"audit", cmd_audit_main, false, "audit tail [--after SEQ] [--limit N]"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void main_usage(FILE *fp)
{
	size_t i;

	fputs("Usage: breakglass [--url URL] [--token TOKEN] [--json] COMMAND [ARGS...]\n"
	      "Emergency access to DynamoDB: scoped, temporary, audited.\n\nCommands:\n",
	      fp);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %-8s %s\n", commands[i].name, commands[i].help);
	fputs("\n`breakglass COMMAND --help` describes a command. The server is $BREAKGLASS_URL\n"
	      "(default " CLI_DEFAULT_URL "), the API token $BREAKGLASS_TOKEN.\n"
	      "Exit codes: 0 success, 1 refused, 2 usage error, 3 server unreachable.\n",
	      fp);
}

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

int main(int argc, char **argv)
{
	char **nargv = NULL;
	int first = 1, width = 0, n, i, rc;
	size_t c;

	while (first < argc && main_is_common(argc, argv, first, &width))
		first += width;
	if (first >= argc) {
		main_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0 ||
	    strcmp(argv[first], "help") == 0) {
		main_usage(stdout);
		return CLI_EXIT_OK;
	}
	for (c = 0; c < NCOMMANDS; c++) {
		if (strcmp(argv[first], commands[c].name) == 0)
			break;
	}
	if (c == NCOMMANDS) {
		fprintf(stderr, "breakglass: unknown command \"%s\"\n", argv[first]);
		main_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!commands[c].server && cli_client_global_init() != 0) {
		fprintf(stderr, "breakglass: cannot initialise libcurl\n");
		return CLI_EXIT_UNREACHABLE;
	}
	/* argv for the command: its name, the common options given before it, the rest. */
	n = argc - 1;
	nargv = calloc((size_t)n + 1, sizeof(*nargv));
	if (nargv == NULL) {
		fprintf(stderr, "breakglass: out of memory\n");
		return CLI_EXIT_REFUSED;
	}
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
