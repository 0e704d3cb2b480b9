/*
 * unit_util.h - what many unit tests need: a temporary directory, removed with all it
 * holds, and SQL run on a store's file from a connection of its own (as another process
 * would: to break the store, tamper with it, or look at it). Header-only, so each test
 * stays one file; include it after cmocka.h.
 */
#ifndef BG_UNIT_UTIL_H
#define BG_UNIT_UTIL_H

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store.h"

static inline int ut_rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Makes a new directory /tmp/bg-NAME-XXXXXX into dir (of cap bytes); 0 or -1. */
static inline int ut_tmpdir(char *dir, size_t cap, const char *name)
{
	snprintf(dir, cap, "/tmp/bg-%s-XXXXXX", name);
	return mkdtemp(dir) != NULL ? 0 : -1;
}

/* Removes dir and everything below it. */
static inline int ut_rm_tree(const char *dir)
{
	return nftw(dir, ut_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs sql on the SQLite file at dbpath from a connection of its own; fails the test if
 * it does not succeed. */
static inline void ut_sql(const char *dbpath, const char *sql)
{
	sqlite3 *db;

	if (sqlite3_open(dbpath, &db) != SQLITE_OK)
		fail_msg("cannot open %s", dbpath);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* Like ut_sql(), but fails the test if sql succeeds. */
static inline void ut_sql_fails(const char *dbpath, const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(dbpath, &db) != SQLITE_OK)
		fail_msg("cannot open %s", dbpath);
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	if (rc == SQLITE_OK)
		fail_msg("%s: succeeded", sql);
}

static inline int ut_spend_sum(void *ctx, const char *runbook, double read, double write, bg_err *e)
{
	double *t = ctx;

	(void)e;
	t[runbook != NULL ? 2 : 0] += read;
	t[runbook != NULL ? 3 : 1] += write;
	return 0;
}

/* What grant has spent in s (store_spend_list): t[0], t[1] the read and write units
 * outside runbooks, t[2], t[3] under runbooks. */
static inline void ut_spent(store *s, const char *grant, double t[4])
{
	bg_err e;

	memset(t, 0, 4 * sizeof(double));
	assert_int_equal(store_spend_list(s, grant, ut_spend_sum, t, &e), 0);
}

#endif
