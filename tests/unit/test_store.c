/*
 * test_store.c - the state store: creating it once (never over an existing one), users
 * and the names allowed for them, TOTP steps that can be used only once (also when
 * threads race), grants found by id and by access key id, listing newest first across
 * pages, idempotent revocation, and lookups from many threads sharing one store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

static char tmpdir[64];
static char datadir[128];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	bg_err e;
	store *s = NULL;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bg-store-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(datadir, sizeof(datadir), "%s/data", tmpdir);
	if (store_open(datadir, true, &s, &e) != 0) {
		fprintf(stderr, "store_open: %s\n", e.msg);
		return -1;
	}
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	store_free(*state);
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void hash_of(const char *s, uint8_t out[32])
{
	size_t i;

	memset(out, 0, 32);
	for (i = 0; s[i] != '\0'; i++)
		out[i % 32] = (uint8_t)(out[i % 32] * 31 + (uint8_t)s[i] + 1);
}

static void add_user(store *s, const char *name, const char *role)
{
	uint8_t th[32], seed[16];
	bg_err e;

	hash_of(name, th);
	memcpy(seed, th + 8, 16);
	if (store_user_add(s, name, role, th, seed, &e) != 0)
		fail_msg("store_user_add %s: %s", name, e.msg);
}

static store_grant make_grant(const char *id, const char *akid, const char *user, int64_t created)
{
	store_grant g;

	memset(&g, 0, sizeof(g));
	snprintf(g.id, sizeof(g.id), "%s", id);
	snprintf(g.access_key_id, sizeof(g.access_key_id), "%s", akid);
	snprintf(g.user, sizeof(g.user), "%s", user);
	snprintf(g.created_by, sizeof(g.created_by), "admin");
	snprintf(g.kind, sizeof(g.kind), "direct");
	hash_of(akid, g.session_token_hash);
	g.n_tables = 2;
	snprintf(g.tables[0], sizeof(g.tables[0]), "Orders");
	snprintf(g.tables[1], sizeof(g.tables[1]), "Users.v2_x-y");
	g.n_ops = 3;
	snprintf(g.ops[0], sizeof(g.ops[0]), "Query");
	snprintf(g.ops[1], sizeof(g.ops[1]), "GetItem");
	snprintf(g.ops[2], sizeof(g.ops[2]), "UpdateItem");
	g.created_at = created;
	g.expires_at = created + 900;
	snprintf(g.reason, sizeof(g.reason), "INC-42: orders stuck 'pending'; fix \"state\"");
	return g;
}

static void test_create_twice(void **state)
{
	store *s = *state, *s2 = NULL;
	char path[200];
	struct stat st;
	bg_err e;

	assert_string_equal(store_dir(s), datadir);
	assert_int_equal(stat(datadir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/breakglass.db", datadir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	/* The store does not create the master key: that is init's job. */
	snprintf(path, sizeof(path), "%s/master.key", datadir);
	assert_int_not_equal(access(path, F_OK), 0);

	/* WAL, and the hot-path lookup is an index search, not a scan. */
	{
		sqlite3_stmt *q;
		sqlite3 *db;
		char plan[256] = "";

		snprintf(path, sizeof(path), "%s/breakglass.db", datadir);
		assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL),
		                 SQLITE_OK);
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

	assert_int_equal(store_open(datadir, true, &s2, &e), BG_EEXISTS);
	assert_null(s2);
	/* ...and the existing store is intact. */
	assert_int_equal(store_open(datadir, false, &s2, &e), 0);
	store_free(s2);
	store_free(NULL);
}

static void test_open_missing(void **state)
{
	store *s2 = NULL;
	char path[200];
	bg_err e;

	(void)state;
	snprintf(path, sizeof(path), "%s/nothing-here", tmpdir);
	assert_int_equal(store_open(path, false, &s2, &e), BG_ENOTFOUND);
	assert_null(s2);
	assert_int_not_equal(access(path, F_OK), 0); /* opening does not create */
	assert_int_equal(store_open("", true, &s2, &e), BG_EINVAL);
	/* Nested directories are created. */
	snprintf(path, sizeof(path), "%s/a/b/c", tmpdir);
	assert_int_equal(store_open(path, true, &s2, &e), 0);
	store_free(s2);
}

static void test_schema_version(void **state)
{
	store *s = *state, *s2 = NULL;
	char path[200];
	sqlite3 *db;
	bg_err e;

	snprintf(path, sizeof(path), "%s/breakglass.db", datadir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = '99'", NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(store_open(datadir, false, &s2, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "schema"));
	assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = '1'", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(datadir, false, &s2, &e), 0);
	store_free(s2);
	(void)s;
}

static void test_users(void **state)
{
	store *s = *state;
	uint8_t th[32], seed[16];
	store_user u, v;
	bg_err e;

	add_user(s, "alice", "admin");
	add_user(s, "bob.on-call_2", "responder");
	assert_int_equal(store_user_by_name(s, "alice", &u, &e), 0);
	assert_string_equal(u.name, "alice");
	assert_string_equal(u.role, "admin");
	assert_int_equal(u.last_otp_counter, 0);
	assert_true(u.id > 0);
	assert_true(u.created_at > 1600000000);
	hash_of("alice", th);
	assert_memory_equal(u.totp_seed, th + 8, 16);
	assert_int_equal(store_user_by_token(s, th, &v, &e), 0);
	assert_int_equal(v.id, u.id);
	assert_string_equal(v.name, "alice");

	assert_int_equal(store_user_by_name(s, "carol", &u, &e), BG_ENOTFOUND);
	hash_of("carol", th);
	assert_int_equal(store_user_by_token(s, th, &u, &e), BG_ENOTFOUND);

	/* Duplicate name, duplicate token. */
	hash_of("other", th);
	memset(seed, 7, sizeof(seed));
	assert_int_equal(store_user_add(s, "alice", "responder", th, seed, &e), BG_EEXISTS);
	assert_non_null(strstr(e.msg, "alice"));
	hash_of("alice", th);
	assert_int_equal(store_user_add(s, "carol", "responder", th, seed, &e), BG_EEXISTS);

	/* Reopened, the users are still there. */
	store_free(s);
	*state = NULL;
	assert_int_equal(store_open(datadir, false, &s, &e), 0);
	*state = s;
	assert_int_equal(store_user_by_name(s, "bob.on-call_2", &u, &e), 0);
	assert_string_equal(u.role, "responder");
}

static void test_bad_names(void **state)
{
	static const char *bad[] = {
	    "",
	    "a b",
	    "x/../y",
	    "robert'); DROP TABLE users;--",
	    "caf\xc3\xa9",
	    "tab\t",
	    "01234567890123456789012345678901234567890123456789012345678901234", /* 65 */
	};
	uint8_t th[32], seed[16] = {0};
	store *s = *state;
	store_user u;
	bg_err e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hash_of(bad[i], th);
		th[0] ^= (uint8_t)i;
		assert_int_equal(store_user_add(s, bad[i], "responder", th, seed, &e), BG_EINVAL);
		assert_int_equal(store_user_by_name(s, bad[i], &u, &e), BG_ENOTFOUND);
	}
	hash_of("x", th);
	assert_int_equal(store_user_add(s, NULL, "responder", th, seed, &e), BG_EINVAL);
	assert_int_equal(store_user_add(s, "x", "", th, seed, &e), BG_EINVAL);
	assert_int_equal(store_user_add(s, "x", "a-role-that-is-too-long", th, seed, &e),
	                 BG_EINVAL);
	assert_int_equal(store_user_add(s, "x", "admin", NULL, seed, &e), BG_EINVAL);
	/* 64 characters is the maximum and fine. */
	assert_int_equal(store_user_add(s,
	                                "0123456789012345678901234567890123456789012345678901"
	                                "234567890123",
	                                "responder", th, seed, &e),
	                 0);
}

static void test_otp_counter(void **state)
{
	store *s = *state;
	store_user u;
	bg_err e;

	add_user(s, "alice", "admin");
	assert_int_equal(store_user_by_name(s, "alice", &u, &e), 0);
	assert_int_equal(store_user_use_otp(s, u.id, 1000, &e), 0);
	assert_int_equal(store_user_use_otp(s, u.id, 1000, &e), BG_EDENIED);
	assert_int_equal(store_user_use_otp(s, u.id, 999, &e), BG_EDENIED);
	assert_int_equal(store_user_use_otp(s, u.id, 1001, &e), 0);
	assert_int_equal(store_user_use_otp(s, u.id, 1003, &e), 0);
	assert_int_equal(store_user_use_otp(s, u.id, 1002, &e), BG_EDENIED);
	assert_int_equal(store_user_by_name(s, "alice", &u, &e), 0);
	assert_int_equal(u.last_otp_counter, 1003);
	assert_int_equal(store_user_use_otp(s, u.id + 100, 5000, &e), BG_ENOTFOUND);
	assert_int_equal(store_user_use_otp(s, u.id, 0, &e), BG_EINVAL);
}

struct race {
	store *s;
	int64_t uid;
	int64_t counter;
	int ok;
	pthread_barrier_t *bar;
};

static void *otp_racer(void *arg)
{
	struct race *r = arg;
	bg_err e;

	pthread_barrier_wait(r->bar);
	r->ok = store_user_use_otp(r->s, r->uid, r->counter, &e) == 0;
	return NULL;
}

static void test_otp_race(void **state)
{
	store *s = *state;
	struct race r[8];
	pthread_t t[8];
	pthread_barrier_t bar;
	store_user u;
	int round, i, wins;
	bg_err e;

	add_user(s, "alice", "admin");
	assert_int_equal(store_user_by_name(s, "alice", &u, &e), 0);
	for (round = 1; round <= 20; round++) {
		pthread_barrier_init(&bar, NULL, 8);
		for (i = 0; i < 8; i++) {
			r[i] = (struct race){s, u.id, 5000 + round, 0, &bar};
			assert_int_equal(pthread_create(&t[i], NULL, otp_racer, &r[i]), 0);
		}
		wins = 0;
		for (i = 0; i < 8; i++) {
			pthread_join(t[i], NULL);
			wins += r[i].ok;
		}
		pthread_barrier_destroy(&bar);
		assert_int_equal(wins, 1);
	}
}

static void test_grants(void **state)
{
	store *s = *state;
	store_grant g, h;
	bg_err e;

	add_user(s, "alice", "admin");
	add_user(s, "bob", "responder");
	g = make_grant("bg-AAAAAAAAAA", "AKBG0000000000000001", "bob", 1700000000);
	assert_int_equal(store_grant_add(s, &g, &e), 0);

	assert_int_equal(store_grant_by_id(s, "bg-AAAAAAAAAA", &h, &e), 0);
	assert_memory_equal(&g, &h, sizeof(g)); /* every field round-trips */
	memset(&h, 0x55, sizeof(h));
	assert_int_equal(store_grant_by_akid(s, "AKBG0000000000000001", &h, &e), 0);
	assert_memory_equal(&g, &h, sizeof(g));

	assert_int_equal(store_grant_by_id(s, "bg-BBBBBBBBBB", &h, &e), BG_ENOTFOUND);
	assert_int_equal(store_grant_by_akid(s, "AKBG0000000000000002", &h, &e), BG_ENOTFOUND);
	assert_int_equal(store_grant_by_akid(s, "' OR 1=1 --", &h, &e), BG_ENOTFOUND);
	assert_int_equal(store_grant_by_akid(s, "", &h, &e), BG_ENOTFOUND);

	/* Duplicate id, duplicate access key id, unknown grantee. */
	h = make_grant("bg-AAAAAAAAAA", "AKBG0000000000000009", "bob", 1700000000);
	assert_int_equal(store_grant_add(s, &h, &e), BG_EEXISTS);
	h = make_grant("bg-CCCCCCCCCC", "AKBG0000000000000001", "bob", 1700000000);
	assert_int_equal(store_grant_add(s, &h, &e), BG_EEXISTS);
	h = make_grant("bg-CCCCCCCCCC", "AKBG0000000000000003", "mallory", 1700000000);
	assert_int_equal(store_grant_add(s, &h, &e), BG_ENOTFOUND);

	/* Validation. */
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	snprintf(h.tables[1], sizeof(h.tables[1]), "ab");
	assert_int_equal(store_grant_add(s, &h, &e), BG_EINVAL);
	snprintf(h.tables[1], sizeof(h.tables[1]), "Orders\"]");
	assert_int_equal(store_grant_add(s, &h, &e), BG_EINVAL);
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	snprintf(h.ops[0], sizeof(h.ops[0]), "Query;");
	assert_int_equal(store_grant_add(s, &h, &e), BG_EINVAL);
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	h.n_tables = BG_MAX_GRANT_TABLES + 1;
	assert_int_equal(store_grant_add(s, &h, &e), BG_ELIMIT);
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	h.expires_at = h.created_at + BG_MAX_GRANT_SECONDS + 1;
	assert_int_equal(store_grant_add(s, &h, &e), BG_EINVAL);
	h.expires_at = h.created_at;
	assert_int_equal(store_grant_add(s, &h, &e), BG_EINVAL);
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	memset(h.id, 'x', sizeof(h.id)); /* not terminated */
	assert_int_equal(store_grant_add(s, &h, &e), BG_EINVAL);
	h = make_grant("bg DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	assert_int_equal(store_grant_add(s, &h, &e), BG_EINVAL);
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "b/ob", 1700000000);
	assert_int_equal(store_grant_add(s, &h, &e), BG_EINVAL);

	/* Empty table and op lists round-trip too. */
	h = make_grant("bg-EEEEEEEEEE", "AKBG0000000000000005", "bob", 1700000000);
	h.n_tables = 0;
	h.n_ops = 0;
	memset(h.tables, 0, sizeof(h.tables));
	memset(h.ops, 0, sizeof(h.ops));
	assert_int_equal(store_grant_add(s, &h, &e), 0);
	assert_int_equal(store_grant_by_id(s, "bg-EEEEEEEEEE", &g, &e), 0);
	assert_memory_equal(&g, &h, sizeof(g));
}

static void test_revoke(void **state)
{
	store *s = *state;
	store_grant g;
	bg_err e;

	add_user(s, "alice", "admin");
	add_user(s, "bob", "responder");
	g = make_grant("bg-AAAAAAAAAA", "AKBG0000000000000001", "bob", 1700000000);
	assert_int_equal(store_grant_add(s, &g, &e), 0);
	assert_int_equal(store_grant_revoke(s, "bg-AAAAAAAAAA", "alice", 1700000100, &e), 0);
	assert_int_equal(store_grant_by_akid(s, "AKBG0000000000000001", &g, &e), 0);
	assert_int_equal(g.revoked_at, 1700000100);
	assert_string_equal(g.revoked_by, "alice");
	/* Again: succeeds, keeps the first revocation. */
	assert_int_equal(store_grant_revoke(s, "bg-AAAAAAAAAA", "bob", 1700000200, &e), 0);
	assert_int_equal(store_grant_by_id(s, "bg-AAAAAAAAAA", &g, &e), 0);
	assert_int_equal(g.revoked_at, 1700000100);
	assert_string_equal(g.revoked_by, "alice");
	assert_int_equal(store_grant_revoke(s, "bg-ZZZZZZZZZZ", "alice", 1700000100, &e),
	                 BG_ENOTFOUND);
	assert_int_equal(store_grant_revoke(s, "bg-AAAAAAAAAA", "al ice", 1700000100, &e),
	                 BG_EINVAL);
	assert_int_equal(store_grant_revoke(s, "bg-AAAAAAAAAA", "alice", 0, &e), BG_EINVAL);
}

struct list_ctx {
	int n;
	int stop_at;
	int64_t last_created;
	char last_id[STORE_ID_MAX];
	bool ordered;
	store *s;
};

static int list_cb(void *ctx, const store_grant *g)
{
	struct list_ctx *c = ctx;
	store_grant again;
	bg_err e;

	if (c->n > 0 && (g->created_at > c->last_created ||
	                 (g->created_at == c->last_created && strcmp(g->id, c->last_id) >= 0)))
		c->ordered = false;
	c->last_created = g->created_at;
	snprintf(c->last_id, sizeof(c->last_id), "%s", g->id);
	/* The callback may use the store. */
	if (store_grant_by_id(c->s, g->id, &again, &e) != 0)
		c->ordered = false;
	c->n++;
	return c->stop_at > 0 && c->n >= c->stop_at;
}

static void test_list(void **state)
{
	store *s = *state;
	struct list_ctx c;
	store_grant g;
	char id[32], akid[32];
	bg_err e;
	int i;

	add_user(s, "alice", "admin");
	add_user(s, "bob", "responder");
	add_user(s, "carol", "responder");
	/* 150 grants (more than one page), with ids increasing at equal creation times so
	 * the order "newest first" is checkable: created_at desc, then insertion desc. */
	for (i = 0; i < 150; i++) {
		snprintf(id, sizeof(id), "bg-%010d", i);
		snprintf(akid, sizeof(akid), "AKBG%016d", i);
		g = make_grant(id, akid, i % 3 == 0 ? "carol" : "bob", 1700000000 + i / 7);
		assert_int_equal(store_grant_add(s, &g, &e), 0);
	}
	memset(&c, 0, sizeof(c));
	c.ordered = true;
	c.s = s;
	assert_int_equal(store_grant_list(s, NULL, list_cb, &c, &e), 0);
	assert_int_equal(c.n, 150);
	assert_true(c.ordered);

	memset(&c, 0, sizeof(c));
	c.ordered = true;
	c.s = s;
	assert_int_equal(store_grant_list(s, "carol", list_cb, &c, &e), 0);
	assert_int_equal(c.n, 50);
	assert_true(c.ordered);
	assert_string_equal(c.last_id, "bg-0000000000");

	memset(&c, 0, sizeof(c));
	c.ordered = true;
	c.s = s;
	c.stop_at = 70;
	assert_int_equal(store_grant_list(s, NULL, list_cb, &c, &e), 0);
	assert_int_equal(c.n, 70);

	memset(&c, 0, sizeof(c));
	c.s = s;
	assert_int_equal(store_grant_list(s, "nobody", list_cb, &c, &e), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(store_grant_list(s, "bad name", list_cb, &c, &e), 0);
	assert_int_equal(c.n, 0);
}

struct lookup_ctx {
	store *s;
	int failures;
	int seed;
};

#define N_GRANTS 40

static void *lookup_thread(void *arg)
{
	struct lookup_ctx *c = arg;
	char id[32], akid[32];
	store_grant g;
	store_user u;
	bg_err e;
	int i, k;

	for (i = 0; i < 1500; i++) {
		k = (i * 7 + c->seed) % N_GRANTS;
		snprintf(id, sizeof(id), "bg-%010d", k);
		snprintf(akid, sizeof(akid), "AKBG%016d", k);
		if (store_grant_by_akid(c->s, akid, &g, &e) != 0 || strcmp(g.id, id) != 0 ||
		    g.n_tables != 2 || strcmp(g.tables[1], "Users.v2_x-y") != 0)
			c->failures++;
		if (i % 10 == 0 && (store_grant_by_id(c->s, id, &g, &e) != 0 ||
		                    strcmp(g.access_key_id, akid) != 0))
			c->failures++;
		if (i % 25 == 0 && store_user_by_name(c->s, "bob", &u, &e) != 0)
			c->failures++;
		if (store_grant_by_akid(c->s, "AKBGnope", &g, &e) != BG_ENOTFOUND)
			c->failures++;
	}
	return NULL;
}

static void *writer_thread(void *arg)
{
	struct lookup_ctx *c = arg;
	char id[32], akid[32];
	store_grant g;
	bg_err e;
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "bg-w%09d", i);
		snprintf(akid, sizeof(akid), "AKBGW%015d", i);
		g = make_grant(id, akid, "bob", 1700000000);
		if (store_grant_add(c->s, &g, &e) != 0)
			c->failures++;
		if (i % 3 == 0 && store_grant_revoke(c->s, id, "alice", 1700000001, &e) != 0)
			c->failures++;
	}
	return NULL;
}

static void test_concurrent_lookups(void **state)
{
	store *s = *state;
	struct lookup_ctx c[9];
	pthread_t t[9];
	char id[32], akid[32];
	store_grant g;
	bg_err e;
	int i;

	add_user(s, "alice", "admin");
	add_user(s, "bob", "responder");
	for (i = 0; i < N_GRANTS; i++) {
		snprintf(id, sizeof(id), "bg-%010d", i);
		snprintf(akid, sizeof(akid), "AKBG%016d", i);
		g = make_grant(id, akid, "bob", 1700000000 + i);
		assert_int_equal(store_grant_add(s, &g, &e), 0);
	}
	/* 8 readers on the hot path and one writer at the same time. */
	for (i = 0; i < 9; i++) {
		c[i] = (struct lookup_ctx){s, 0, i * 13};
		assert_int_equal(
		    pthread_create(&t[i], NULL, i < 8 ? lookup_thread : writer_thread, &c[i]), 0);
	}
	for (i = 0; i < 9; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(c[i].failures, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_twice, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_users, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_otp_counter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_otp_race, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_grants, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_lookups, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
