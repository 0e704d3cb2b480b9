/*
 * gateway.h - the server side as the CLI starts it: creating an installation and running
 * the gateway.
 *
 * The CLI (src/cli/cmd_server.c) parses `breakglass init` and `breakglass serve`'s
 * arguments and prints their results; these functions do the work and report failures in
 * a bg_err, so that exit codes and --json output are decided in one place (cli.h).
 */
#ifndef BG_GATEWAY_H
#define BG_GATEWAY_H

#include "common/err.h"
#include "gateway/config.h"
#include "workflow/user.h"

/* Creates the data directory data (if needed), its store and master key, and the first
 * admin; *us receives the admin's token and TOTP secret (free with user_secrets_free;
 * cleared on failure). All or nothing: on failure what this call created is removed.
 * Returns 0, BG_EINVAL (a bad name: nothing was created), BG_EEXISTS (an installation is
 * already there: left untouched), or another error for the directory or the store. */
int gateway_init(const char *data, const char *admin, user_secrets *us, bg_err *e) BG_MUST_CHECK;

/* On the server's host, when the only admin's token or TOTP key is lost: admin name gets a
 * new API token and TOTP key (and is enabled and unlocked again), audited as "recover".
 * Works beside a running gateway (the store is shared). */
int gateway_recover(const char *data, const char *admin, user_secrets *us, bg_err *e) BG_MUST_CHECK;

/* Runs the gateway with cfg until SIGINT/SIGTERM, then drains. Prints one line (with
 * cfg->json one object {"listen","upstream","public_url","pid"}) on stdout once it accepts
 * connections; logs to stderr. Returns 0 after a drain, or an error (with its message in
 * *e) when it could not start: no store, no AWS credentials, a port in use, TLS files. */
int gateway_serve(const gw_config *cfg, bg_err *e) BG_MUST_CHECK;

#endif
