/*
 * test_store_sqlite.c - what only the SQLite backend has (the interface itself is
 * test_store.c's): its files in the data directory and their modes, WAL, the hot-path
 * lookup being an index search, the schema version it refuses, checkpoints only when
 * asked, and a store written by the code before the store interface
 * (fixtures/store-v1.sql) opened unchanged, its audit chain verifying byte for byte and
 * growing on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "store/store.h"

#define FIXTURE_V1 "tests/unit/fixtures/store-v1.sql"

static char tmpdir[64];
static char datadir[128];
static char dbpath[160];

static int setup(void **state)
{
	if (ut_tmpdir(tmpdir, sizeof(tmpdir), "store-sqlite") != 0)
		return -1;
	snprintf(datadir, sizeof(datadir), "%s/data", tmpdir);
	snprintf(dbpath, sizeof(dbpath), "%s/breakglass.db", datadir);
	*state = NULL;
	return 0;
}

static int teardown(void **state)
{
	store_free(*state);
	return ut_rm_tree(tmpdir);
}

static store *create(void **state)
{
	store *s = NULL;
	bg_err e;

	if (store_open_backend("sqlite", datadir, true, &s, &e) != 0)
		fail_msg("store_open_backend: %s", e.msg);
	*state = s;
	return s;
}

static int64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static void test_files(void **state)
{
	char path[200], plan[256] = "";
	sqlite3_stmt *q;
	struct stat st;
	sqlite3 *db;

	create(state);
	assert_string_equal(store_backend_name(0), "sqlite");
	assert_int_equal(stat(datadir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(dbpath, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	/* The store does not create the master key: that is init's job. */
	snprintf(path, sizeof(path), "%s/master.key", datadir);
	assert_int_not_equal(access(path, F_OK), 0);

	/* WAL, and the hot-path lookup is an index search, not a scan. */
	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "EXPLAIN QUERY PLAN SELECT * FROM grants "
	                                    "WHERE access_key_id = ?1",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW)
		snprintf(plan + strlen(plan), sizeof(plan) - strlen(plan), "%s;",
		         (const char *)sqlite3_column_text(q, 3));
	sqlite3_finalize(q);
	sqlite3_close(db);
	assert_non_null(strstr(plan, "SEARCH grants USING INDEX"));
}

static void test_open_what_is_there(void **state)
{
	char path[200];
	store *s2 = NULL;
	bg_err e;

	/* Nested directories are created, each 0700. */
	snprintf(path, sizeof(path), "%s/a/b/c", tmpdir);
	assert_int_equal(store_open_backend("sqlite", path, true, &s2, &e), 0);
	store_free(s2);
	/* A data directory without a store. */
	snprintf(path, sizeof(path), "%s/a", tmpdir);
	assert_int_equal(store_open_backend("sqlite", path, false, &s2, &e), BG_ENOTFOUND);
	assert_non_null(strstr(e.msg, "init"));
	/* A database that is not a breakglass store. */
	assert_int_equal(mkdir(datadir, 0700), 0);
	ut_sql(dbpath, "CREATE TABLE t (x)");
	assert_int_equal(store_open_backend("sqlite", datadir, false, &s2, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "not a breakglass store"));
	assert_null(s2);
	(void)state;
}

static void test_schema_version(void **state)
{
	store *s2 = NULL;
	bg_err e;

	create(state);
	ut_sql(dbpath, "UPDATE meta SET value = '99'");
	assert_int_equal(store_open(datadir, false, &s2, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "schema"));
	/* A version 1 store (no runbook pins, no lockouts, no incidents) is brought up to date when
	 * opened. */
	ut_sql(dbpath,
	       "DROP TABLE grant_spend; DROP INDEX audit_request; DROP TABLE reviews;"
	       "DROP TABLE audit_sinks; DROP TABLE outbox; DROP INDEX requests_pending; DROP INDEX "
	       "grants_expiry;"
	       "ALTER TABLE grants DROP COLUMN expiry_noticed;"
	       "ALTER TABLE grants DROP COLUMN runbooks; ALTER TABLE users DROP COLUMN disabled;"
	       "ALTER TABLE users DROP COLUMN otp_failures;"
	       "ALTER TABLE users DROP COLUMN locked_until; DROP TABLE approvals;"
	       "DROP TABLE requests; DROP TABLE incident_alerts;"
	       "DROP TABLE incident_events; DROP TABLE incidents; DROP TABLE hook_deliveries;"
	       "UPDATE meta SET value = '1'");
	assert_int_equal(store_open(datadir, false, &s2, &e), 0);
	store_free(s2);
	ut_sql(dbpath, "SELECT runbooks FROM grants");
	assert_int_equal(store_open(datadir, false, &s2, &e), 0); /* and again: nothing to do */
	store_free(s2);
	ut_sql(dbpath, "SELECT disabled, otp_failures, locked_until FROM users");
	ut_sql(dbpath, "SELECT id, group_key, review_required FROM incidents;"
	               "SELECT key FROM incident_alerts; SELECT kind FROM incident_events;"
	               "SELECT id FROM hook_deliveries; SELECT criteria FROM requests;"
	               "SELECT approver FROM approvals; SELECT payload, next_at FROM outbox;"
	               "SELECT expiry_noticed FROM grants; SELECT name, seq FROM audit_sinks; "
	               "SELECT deadline, learnings FROM reviews;"
	               "SELECT seq FROM audit INDEXED BY audit_request WHERE request_id = 'r';"
	               "SELECT grant_id, runbook, read, write FROM grant_spend");
}

/* Version 9 -> 10 counts what the trail's response records charged so far, per grant and
 * runbook; records without a charge, other kinds, details that are not JSON and negative,
 * non-number or infinite amounts count nothing. */
static void test_spend_from_trail(void **state)
{
	store *s2 = NULL;
	double t[4];
	bg_err e;

	store_free(create(state));
	*state = NULL;
	ut_sql(
	    dbpath,
	    "INSERT INTO audit (seq, ts, kind, grant_id, detail, prev_hash, hash) VALUES"
	    " (1, 't', 'response', 'bg-1', '{\"charged\":{\"read\":2.5,\"write\":0}}', 'p', 'h'),"
	    " (2, 't', 'response', 'bg-1', '{\"charged\":{\"read\":0.5,\"write\":1,"
	    "\"runbook\":\"rb\",\"estimated\":false}}', 'p', 'h'),"
	    " (3, 't', 'response', 'bg-1', '{\"charged\":{\"read\":1,\"write\":0}}', 'p', 'h'),"
	    " (4, 't', 'request', 'bg-1', '{\"charged\":{\"read\":50,\"write\":0}}', 'p', 'h'),"
	    " (5, 't', 'response', 'bg-1', '{\"outcome\":\"answered\"}', 'p', 'h'),"
	    " (6, 't', 'response', 'bg-1', '{\"charged\":{\"read\":-7,\"write\":0}}', 'p', 'h'),"
	    " (7, 't', 'response', 'bg-2', '{\"charged\":{\"read\":9,\"write\":9}}', 'p', 'h'),"
	    " (8, 't', 'response', 'bg-1', '{\"charged\":{\"read\":\"-7\",\"write\":true}}', 'p',"
	    " 'h'),"
	    " (9, 't', 'response', 'bg-1', 'not JSON', 'p', 'h'),"
	    " (10, 't', 'response', 'bg-1', '{\"charged\":{\"read\":1e999,\"write\":0}}', 'p', "
	    "'h');"
	    "DROP TABLE grant_spend; UPDATE meta SET value = '9'");
	assert_int_equal(store_open(datadir, false, &s2, &e), 0);
	ut_spent(s2, "bg-1", t);
	assert_true(t[0] == 3.5 && t[1] == 0 && t[2] == 0.5 && t[3] == 1);
	store_free(s2);
	/* The totals only grow. */
	ut_sql_fails(dbpath, "DELETE FROM grant_spend");
	ut_sql_fails(dbpath, "UPDATE grant_spend SET read = 0");
	ut_sql_fails(dbpath, "UPDATE grant_spend SET grant_id = 'bg-3'");
	ut_sql(dbpath, "UPDATE grant_spend SET read = read + 1 WHERE grant_id = 'bg-2'");
}

/* Commits copy nothing into the database file (no automatic checkpoint, whatever the
 * WAL's size); store_maintain() does. */
static void test_checkpoints_when_asked(void **state)
{
	store *s = create(state);
	char walpath[200];
	uint8_t th[32] = {1}, seed[16] = {2};
	int64_t db_before, wal;
	store_grant g;
	store_tx *tx;
	bg_err e;
	int i;

	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_end(tx, store_user_add(tx, "bob", "responder", th, seed, &e), &e),
	                 0);
	snprintf(walpath, sizeof(walpath), "%s-wal", dbpath);
	db_before = file_size(dbpath);
	/* Enough commits that SQLite's default (every 1000 WAL pages) would checkpoint. */
	for (i = 0; i < 400; i++) {
		memset(&g, 0, sizeof(g));
		snprintf(g.id, sizeof(g.id), "bg-%010d", i);
		snprintf(g.access_key_id, sizeof(g.access_key_id), "AKBG%016d", i);
		snprintf(g.user, sizeof(g.user), "bob");
		snprintf(g.created_by, sizeof(g.created_by), "admin");
		snprintf(g.kind, sizeof(g.kind), "direct");
		memset(g.reason, 'r', 900);
		g.created_at = 1700000000;
		g.expires_at = 1700000900;
		assert_int_equal(store_begin(s, &tx, &e), 0);
		assert_int_equal(store_end(tx, store_grant_add(tx, &g, &e), &e), 0);
	}
	wal = file_size(walpath);
	assert_true(wal > 1000 * 4096);
	assert_int_equal(file_size(dbpath), db_before);
	store_maintain(s);
	assert_true(file_size(dbpath) > db_before + 400 * 900);
	assert_int_equal(store_grant_by_id(s, "bg-0000000399", &g, &e), 0);
}

/* --- a store written before the store interface ---------------------------------------- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text;
	long n;

	if (f == NULL)
		fail_msg("cannot open %s (run the tests from the repository root)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

struct hashes {
	int n;
	char hash[16][65];
	json_t *last;
};

static int hashes_cb(void *ctx, json_t *rec)
{
	struct hashes *h = ctx;

	if (h->n < 16)
		snprintf(h->hash[h->n], 65, "%s", json_string_value(json_object_get(rec, "hash")));
	h->n++;
	json_decref(h->last);
	h->last = json_incref(rec);
	return 0;
}

/* The hashes as the old code stored them, read with SQLite alone. */
static int stored_hashes(char out[16][65])
{
	sqlite3_stmt *q;
	sqlite3 *db;
	int n = 0;

	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT hash FROM audit ORDER BY seq", -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW && n < 16)
		snprintf(out[n++], 65, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

static void test_v1_store_opens_unchanged(void **state)
{
	char *sql = read_file(FIXTURE_V1), old[16][65];
	struct hashes h;
	audit_log *a = NULL;
	audit_record r;
	store_grant g, live;
	store_user u;
	store_tx *tx;
	int64_t n = 0, bad = -1, seq = 0;
	store *s;
	bg_err e;
	int i, n_old;

	assert_int_equal(mkdir(datadir, 0700), 0);
	ut_sql(dbpath, sql);
	free(sql);
	n_old = stored_hashes(old);
	assert_int_equal(n_old, 9);

	assert_int_equal(store_open(datadir, false, &s, &e), 0);
	*state = s;
	assert_int_equal(store_user_by_name(s, "root", &u, &e), 0);
	assert_string_equal(u.role, "admin");
	assert_true(u.last_otp_counter > 0);
	assert_int_equal(store_user_by_name(s, "oncall", &u, &e), 0);
	assert_string_equal(u.role, "responder");
	assert_int_equal(store_grant_by_id(s, "bg-qxumhqzvj4", &live, &e), 0);
	assert_string_equal(live.user, "oncall");
	assert_int_equal(live.n_tables, 2);
	assert_string_equal(live.tables[1], "Users.v2_x-y");
	assert_string_equal(live.reason,
	                    "INC-42: orders stuck 'pending'; fix \"state\" \xe2\x9c\x93");
	assert_int_equal(live.revoked_at, 0);
	assert_int_equal(store_grant_by_akid(s, live.access_key_id, &g, &e), 0);
	assert_int_equal(store_grant_by_id(s, "bg-s3xuel5kji", &g, &e), 0);
	assert_string_equal(g.revoked_by, "root");

	/* The old chain verifies, and reads back with the very hashes the old code wrote. */
	assert_int_equal(audit_open(s, &a, &e), 0);
	assert_int_equal(audit_verify(a, &n, &bad, &e), 0);
	assert_int_equal(n, 9);
	memset(&h, 0, sizeof(h));
	assert_int_equal(audit_read(a, 0, 0, hashes_cb, &h, &e), 0);
	assert_int_equal(h.n, 9);
	for (i = 0; i < 9; i++)
		assert_string_equal(h.hash[i], old[i]);
	json_decref(h.last);

	/* It grows on: a gateway record, then a state change with its record. */
	memset(&r, 0, sizeof(r));
	r.kind = "request";
	r.actor = "oncall";
	assert_int_equal(audit_append(a, &r, &seq, &e), 0);
	assert_int_equal(seq, 10);
	r.kind = "revoke";
	r.actor = "root";
	r.grant_id = live.id;
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_grant_revoke(tx, live.id, "root", 1796146999, &g, &e), 0);
	assert_int_equal(audit_append_tx(a, tx, &r, &seq, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(seq, 11);
	memset(&h, 0, sizeof(h));
	assert_int_equal(audit_read(a, 8, 0, hashes_cb, &h, &e), 0);
	assert_int_equal(h.n, 3);
	assert_string_equal(h.hash[0], old[8]);
	assert_string_equal(json_string_value(json_object_get(h.last, "prev_hash")), h.hash[1]);
	json_decref(h.last);
	assert_int_equal(audit_verify(a, &n, &bad, &e), 0);
	assert_int_equal(n, 11);
	audit_free(a);
	/* The old records are still there, unchanged. */
	assert_int_equal(stored_hashes(old), 11);
	assert_int_equal(store_grant_by_id(s, "bg-qxumhqzvj4", &g, &e), 0);
	assert_int_equal(g.revoked_at, 1796146999);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_what_is_there, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spend_from_trail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoints_when_asked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v1_store_opens_unchanged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
