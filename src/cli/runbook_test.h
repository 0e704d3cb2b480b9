/*
 * runbook_test.h - `breakglass runbook test`: runs the templates' tests against a local
 * DynamoDB (see runbook_test.c).
 */
#ifndef BG_CLI_RUNBOOK_TEST_H
#define BG_CLI_RUNBOOK_TEST_H

#include "cli/cli.h"

/* Runs the tests of every runbook in dir (or of runbook id) against endpoint, or a
 * private dynalite when endpoint is NULL. Returns the exit code: 0 when every test
 * passed, 1 when one failed (or there were none). */
int cli_runbook_test(const cli_ctx *ctx, const char *dir, const char *id, const char *endpoint);

#endif
