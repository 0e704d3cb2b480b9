/*
 * localddb.h - a throwaway local DynamoDB for the commands that rehearse against one
 * (`breakglass runbook test`, `breakglass drill`): a private dynalite on a free loopback
 * port, tables created as tables.yaml declares them, and the runbooks' fixtures loaded.
 *
 * dynalite is found as $BREAKGLASS_DYNALITE, ./node_modules/.bin/dynalite, or `dynalite`
 * on PATH. It keeps everything in memory: stopping it throws the data away.
 */
#ifndef BG_CLI_LOCALDDB_H
#define BG_CLI_LOCALDDB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cli/ddb_client.h"
#include "common/err.h"
#include "runbook/runbook.h"

/* A loopback TCP port nobody listened on a moment ago, or -1. */
int localddb_free_port(void);

/* Starts dynalite on a free port (its output to /dev/null); *pid and its endpoint URL
 * (http://127.0.0.1:PORT) in url on success. The caller stops it with localddb_stop. */
int localddb_start(pid_t *pid, char *url, size_t cap, bg_err *e) BG_MUST_CHECK;

/* Waits (up to 10 s) until the dynalite db talks to answers; 0 or BG_EUPSTREAM. */
int localddb_wait_ready(cli_ddb *db, bg_err *e) BG_MUST_CHECK;

/* SIGTERM to pid, SIGKILL when it has not ended within 5 s, and reaps it; pid <= 0 does
 * nothing. */
void localddb_stop(pid_t pid);

/* Drops table tb (if it exists) and creates it as declared, with its indexes; waits until
 * it is ACTIVE. 0 or the error of the call that failed. */
int localddb_fresh_table(cli_ddb *db, const runbook_table *tb, bg_err *e) BG_MUST_CHECK;

/* PutItem of every item of the fixtures file (a JSON array of items, path relative to
 * dir) into table. 0, BG_EINVAL ("FILE:LINE: why", or "FILE: item N: why"), or the
 * call's error. */
int localddb_load_fixtures(cli_ddb *db, const char *dir, const char *fixtures, const char *table,
                           bg_err *e) BG_MUST_CHECK;

#endif
