/*
 * gateway.h - the server-side commands: `breakglass serve` and `breakglass init`.
 *
 * The CLI (src/cli/main.c) dispatches these two subcommands here with the arguments that
 * follow the subcommand name (argv[0] is the subcommand). They return the process exit
 * code: 0 success, 1 refused, 2 usage error, 3 could not start (store, port, upstream).
 */
#ifndef BG_GATEWAY_H
#define BG_GATEWAY_H

/* breakglass serve [--config FILE] [--listen ADDR:PORT] [--upstream URL] [--data DIR]
 *                  [--region R] [--public-url URL] [--json]
 * Runs until SIGINT/SIGTERM. Prints one line (or with --json one object
 * {"listen","upstream","pid"}) once it accepts connections. */
int gateway_serve_main(int argc, char **argv);

/* breakglass init --data DIR --admin NAME [--json]
 * Creates the store and the first admin; prints the admin's API token and TOTP secret. */
int gateway_init_main(int argc, char **argv);

#endif
