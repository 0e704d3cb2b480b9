/*
 * test_store.c - the store interface (store.h), run against every backend in the table
 * below: creating a store once (never over an existing one), users and the names allowed
 * for them, TOTP steps that can be used only once (also when threads race), grants found
 * by id and by access key id, listing newest first across pages, idempotent revocation,
 * lookups from many threads sharing one store, transactions (commit keeps, rollback
 * discards, a failed operation leaves only a rollback) and the audit table (rows kept as
 * given, scanned in order, and claimed by one transaction at a time).
 *
 * A new backend runs this suite by adding a line to `backends`: its name and how to make
 * (and remove) a location that holds no store yet. What only one backend has (SQLite's
 * files, WAL, query plans) is tested beside it, in test_store_sqlite.c.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

#define WHERE_MAX 256

/* --- the backends under test ----------------------------------------------------------- */

typedef struct backend {
	const char *name;
	/* A location where no store exists yet (store_open_backend's where). */
	int (*fresh)(char where[WHERE_MAX]);
	/* Removes what fresh made and the store in it. */
	void (*gone)(const char *where);
} backend;

/* SQLite: a data directory that does not exist yet, in a new temporary directory. */
static int sqlite_fresh(char where[WHERE_MAX])
{
	char tmp[WHERE_MAX - 8];

	if (ut_tmpdir(tmp, sizeof(tmp), "store") != 0)
		return -1;
	snprintf(where, WHERE_MAX, "%s/data", tmp);
	return 0;
}

static void sqlite_gone(const char *where)
{
	char tmp[WHERE_MAX];
	char *slash;

	snprintf(tmp, sizeof(tmp), "%s", where);
	slash = strrchr(tmp, '/');
	if (slash != NULL)
		*slash = '\0';
	ut_rm_tree(tmp);
}

static const backend backends[] = {
    {"sqlite", sqlite_fresh, sqlite_gone},
};

static const backend *be; /* the backend of the group running */
static char where[WHERE_MAX];

static int setup(void **state)
{
	store *s = NULL;
	bg_err e;

	if (be->fresh(where) != 0)
		return -1;
	if (store_open_backend(be->name, where, true, &s, &e) != 0) {
		fprintf(stderr, "store_open_backend %s: %s\n", be->name, e.msg);
		return -1;
	}
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	store_free(*state);
	be->gone(where);
	return 0;
}

/* --- helpers: one operation in a transaction of its own -------------------------------- */

static int add_user_tx(store *s, const char *name, const char *role, const uint8_t th[32],
                       const uint8_t seed[16], bg_err *e)
{
	store_tx *tx;
	int rc = store_begin(s, &tx, e);

	return rc != 0 ? rc : store_end(tx, store_user_add(tx, name, role, th, seed, e), e);
}

static int add_grant_tx(store *s, const store_grant *g, bg_err *e)
{
	store_tx *tx;
	int rc = store_begin(s, &tx, e);

	return rc != 0 ? rc : store_end(tx, store_grant_add(tx, g, e), e);
}

static int revoke_tx(store *s, const char *id, const char *who, int64_t now, store_grant *out,
                     bg_err *e)
{
	store_tx *tx;
	int rc = store_begin(s, &tx, e);

	return rc != 0 ? rc : store_end(tx, store_grant_revoke(tx, id, who, now, out, e), e);
}

static int use_otp_tx(store *s, int64_t uid, int64_t counter, bg_err *e)
{
	store_tx *tx;
	int rc = store_begin(s, &tx, e);

	return rc != 0 ? rc : store_end(tx, store_user_use_otp(tx, uid, counter, e), e);
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
	if (add_user_tx(s, name, role, th, seed, &e) != 0)
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
	g.n_runbooks = 2;
	snprintf(g.runbooks[0], sizeof(g.runbooks[0]), "orders-of-customer");
	memset(g.runbook_hashes[0], 'a', 64);
	snprintf(g.runbooks[1], sizeof(g.runbooks[1]), "unstick-order");
	memset(g.runbook_hashes[1], '0', 64);
	return g;
}

/* --- opening --------------------------------------------------------------------------- */

static void test_create_once(void **state)
{
	store *s2 = NULL;
	bg_err e;

	(void)state;
	assert_int_equal(store_open_backend(be->name, where, true, &s2, &e), BG_EEXISTS);
	assert_null(s2);
	/* ...and the existing store is intact. */
	assert_int_equal(store_open_backend(be->name, where, false, &s2, &e), 0);
	store_free(s2);
	store_free(NULL);
}

static void test_open_missing(void **state)
{
	char other[WHERE_MAX];
	store *s2 = NULL;
	bg_err e;

	(void)state;
	assert_int_equal(be->fresh(other), 0);
	assert_int_equal(store_open_backend(be->name, other, false, &s2, &e), BG_ENOTFOUND);
	assert_null(s2);
	/* Opening does not create: it is still missing. */
	assert_int_equal(store_open_backend(be->name, other, false, &s2, &e), BG_ENOTFOUND);
	be->gone(other);
	assert_int_equal(store_open_backend(be->name, "", true, &s2, &e), BG_EINVAL);
	assert_int_equal(store_open_backend("no-such-backend", where, false, &s2, &e), BG_EINVAL);
	assert_int_equal(store_open_backend(NULL, where, false, &s2, &e), BG_EINVAL);
	assert_null(s2);
}

/* --- users ----------------------------------------------------------------------------- */

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
	assert_int_equal(store_user_by_name(s, "bob.on-call_2", &v, &e), 0);
	assert_int_not_equal(v.id, u.id);

	assert_int_equal(store_user_by_name(s, "carol", &u, &e), BG_ENOTFOUND);
	hash_of("carol", th);
	assert_int_equal(store_user_by_token(s, th, &u, &e), BG_ENOTFOUND);

	/* Duplicate name, duplicate token. */
	hash_of("other", th);
	memset(seed, 7, sizeof(seed));
	assert_int_equal(add_user_tx(s, "alice", "responder", th, seed, &e), BG_EEXISTS);
	assert_non_null(strstr(e.msg, "alice"));
	hash_of("alice", th);
	assert_int_equal(add_user_tx(s, "carol", "responder", th, seed, &e), BG_EEXISTS);
	assert_int_equal(store_user_by_name(s, "carol", &u, &e), BG_ENOTFOUND);

	/* Reopened, the users are still there. */
	store_free(s);
	*state = NULL;
	assert_int_equal(store_open_backend(be->name, where, false, &s, &e), 0);
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
		assert_int_equal(add_user_tx(s, bad[i], "responder", th, seed, &e), BG_EINVAL);
		assert_int_equal(store_user_by_name(s, bad[i], &u, &e), BG_ENOTFOUND);
	}
	hash_of("x", th);
	assert_int_equal(add_user_tx(s, NULL, "responder", th, seed, &e), BG_EINVAL);
	assert_int_equal(add_user_tx(s, "x", "", th, seed, &e), BG_EINVAL);
	assert_int_equal(add_user_tx(s, "x", "a-role-that-is-too-long", th, seed, &e), BG_EINVAL);
	assert_int_equal(add_user_tx(s, "x", "admin", NULL, seed, &e), BG_EINVAL);
	/* 64 characters is the maximum and fine. */
	assert_int_equal(add_user_tx(s,
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
	assert_int_equal(use_otp_tx(s, u.id, 1000, &e), 0);
	assert_int_equal(use_otp_tx(s, u.id, 1000, &e), BG_EDENIED);
	assert_int_equal(use_otp_tx(s, u.id, 999, &e), BG_EDENIED);
	assert_int_equal(use_otp_tx(s, u.id, 1001, &e), 0);
	assert_int_equal(use_otp_tx(s, u.id, 1003, &e), 0);
	assert_int_equal(use_otp_tx(s, u.id, 1002, &e), BG_EDENIED);
	assert_int_equal(store_user_by_name(s, "alice", &u, &e), 0);
	assert_int_equal(u.last_otp_counter, 1003);
	assert_int_equal(use_otp_tx(s, u.id + 100, 5000, &e), BG_ENOTFOUND);
	assert_int_equal(use_otp_tx(s, u.id, 0, &e), BG_EINVAL);
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
	r->ok = use_otp_tx(r->s, r->uid, r->counter, &e) == 0;
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

/* --- grants ---------------------------------------------------------------------------- */

static void test_grants(void **state)
{
	store *s = *state;
	store_grant g, h;
	bg_err e;

	add_user(s, "alice", "admin");
	add_user(s, "bob", "responder");
	g = make_grant("bg-AAAAAAAAAA", "AKBG0000000000000001", "bob", 1700000000);
	assert_int_equal(add_grant_tx(s, &g, &e), 0);

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
	assert_int_equal(add_grant_tx(s, &h, &e), BG_EEXISTS);
	h = make_grant("bg-CCCCCCCCCC", "AKBG0000000000000001", "bob", 1700000000);
	assert_int_equal(add_grant_tx(s, &h, &e), BG_EEXISTS);
	h = make_grant("bg-CCCCCCCCCC", "AKBG0000000000000003", "mallory", 1700000000);
	assert_int_equal(add_grant_tx(s, &h, &e), BG_ENOTFOUND);
	assert_int_equal(store_grant_by_id(s, "bg-CCCCCCCCCC", &h, &e), BG_ENOTFOUND);

	/* Validation. */
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	snprintf(h.tables[1], sizeof(h.tables[1]), "ab");
	assert_int_equal(add_grant_tx(s, &h, &e), BG_EINVAL);
	snprintf(h.tables[1], sizeof(h.tables[1]), "Orders\"]");
	assert_int_equal(add_grant_tx(s, &h, &e), BG_EINVAL);
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	snprintf(h.ops[0], sizeof(h.ops[0]), "Query;");
	assert_int_equal(add_grant_tx(s, &h, &e), BG_EINVAL);
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	h.n_tables = BG_MAX_GRANT_TABLES + 1;
	assert_int_equal(add_grant_tx(s, &h, &e), BG_ELIMIT);
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	h.expires_at = h.created_at + BG_MAX_GRANT_SECONDS + 1;
	assert_int_equal(add_grant_tx(s, &h, &e), BG_EINVAL);
	h.expires_at = h.created_at;
	assert_int_equal(add_grant_tx(s, &h, &e), BG_EINVAL);
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	memset(h.id, 'x', sizeof(h.id)); /* not terminated */
	assert_int_equal(add_grant_tx(s, &h, &e), BG_EINVAL);
	h = make_grant("bg DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	assert_int_equal(add_grant_tx(s, &h, &e), BG_EINVAL);
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "b/ob", 1700000000);
	assert_int_equal(add_grant_tx(s, &h, &e), BG_EINVAL);
	/* Runbook pins: an id and 64 hex digits, at most BG_MAX_GRANT_RUNBOOKS. */
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	h.runbook_hashes[1][10] = 'g';
	assert_int_equal(add_grant_tx(s, &h, &e), BG_EINVAL);
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	snprintf(h.runbooks[0], sizeof(h.runbooks[0]), "a@b");
	assert_int_equal(add_grant_tx(s, &h, &e), BG_EINVAL);
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	h.runbook_hashes[0][63] = '\0';
	assert_int_equal(add_grant_tx(s, &h, &e), BG_EINVAL);
	h = make_grant("bg-DDDDDDDDDD", "AKBG0000000000000004", "bob", 1700000000);
	h.n_runbooks = BG_MAX_GRANT_RUNBOOKS + 1;
	assert_int_equal(add_grant_tx(s, &h, &e), BG_ELIMIT);

	/* Empty table and op lists round-trip too. */
	h = make_grant("bg-EEEEEEEEEE", "AKBG0000000000000005", "bob", 1700000000);
	h.n_tables = 0;
	h.n_ops = 0;
	memset(h.tables, 0, sizeof(h.tables));
	memset(h.ops, 0, sizeof(h.ops));
	assert_int_equal(add_grant_tx(s, &h, &e), 0);
	assert_int_equal(store_grant_by_id(s, "bg-EEEEEEEEEE", &g, &e), 0);
	assert_memory_equal(&g, &h, sizeof(g));
}

static void test_revoke(void **state)
{
	store *s = *state;
	store_grant g, after;
	bg_err e;

	add_user(s, "alice", "admin");
	add_user(s, "bob", "responder");
	g = make_grant("bg-AAAAAAAAAA", "AKBG0000000000000001", "bob", 1700000000);
	assert_int_equal(add_grant_tx(s, &g, &e), 0);
	assert_int_equal(revoke_tx(s, "bg-AAAAAAAAAA", "alice", 1700000100, &after, &e), 0);
	assert_int_equal(after.revoked_at, 1700000100);
	assert_string_equal(after.revoked_by, "alice");
	assert_int_equal(store_grant_by_akid(s, "AKBG0000000000000001", &g, &e), 0);
	assert_memory_equal(&g, &after, sizeof(g)); /* the grant afterwards, as stored */
	/* Again: succeeds, keeps the first revocation. */
	assert_int_equal(revoke_tx(s, "bg-AAAAAAAAAA", "bob", 1700000200, &after, &e), 0);
	assert_int_equal(after.revoked_at, 1700000100);
	assert_string_equal(after.revoked_by, "alice");
	assert_int_equal(revoke_tx(s, "bg-AAAAAAAAAA", "bob", 1700000200, NULL, &e), 0);
	assert_int_equal(store_grant_by_id(s, "bg-AAAAAAAAAA", &g, &e), 0);
	assert_int_equal(g.revoked_at, 1700000100);
	assert_string_equal(g.revoked_by, "alice");
	assert_int_equal(revoke_tx(s, "bg-ZZZZZZZZZZ", "alice", 1700000100, &after, &e),
	                 BG_ENOTFOUND);
	assert_int_equal(revoke_tx(s, "bg-AAAAAAAAAA", "al ice", 1700000100, &after, &e),
	                 BG_EINVAL);
	assert_int_equal(revoke_tx(s, "bg-AAAAAAAAAA", "alice", 0, &after, &e), BG_EINVAL);
}

struct list_ctx {
	int n;
	int stop_at;
	int64_t last_created;
	int last_added; /* the order in which the last grant seen was added */
	char last_id[STORE_ID_MAX];
	bool ordered;
	store *s;
};

static int list_cb(void *ctx, const store_grant *g)
{
	struct list_ctx *c = ctx;
	int added = (int)strtol(g->reason, NULL, 10);
	store_grant again;
	bg_err e;

	if (c->n > 0 && (g->created_at > c->last_created ||
	                 (g->created_at == c->last_created && added >= c->last_added)))
		c->ordered = false;
	c->last_created = g->created_at;
	c->last_added = added;
	snprintf(c->last_id, sizeof(c->last_id), "%s", g->id);
	/* The callback may use the store, even to change it. */
	if (store_grant_by_id(c->s, g->id, &again, &e) != 0 ||
	    (c->n == 0 && revoke_tx(c->s, g->id, "alice", 1700000999, NULL, &e) != 0))
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
	/* 150 grants (more than one page), several at each creation time, so "newest
	 * first" is checkable: created_at descending, then the later added first. The
	 * reason says when each was added; neither the ids nor the access key ids are in
	 * that order, so the listing cannot be right by sorting on them. */
	for (i = 0; i < 150; i++) {
		snprintf(id, sizeof(id), "bg-%010d", (i * 37) % 150);
		snprintf(akid, sizeof(akid), "AKBG%016d", 1000 - (i * 37) % 150);
		g = make_grant(id, akid, i % 3 == 0 ? "carol" : "bob", 1700000000 + i / 7);
		snprintf(g.reason, sizeof(g.reason), "%d", i);
		assert_int_equal(add_grant_tx(s, &g, &e), 0);
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
		if (add_grant_tx(c->s, &g, &e) != 0)
			c->failures++;
		if (i % 3 == 0 && revoke_tx(c->s, id, "alice", 1700000001, NULL, &e) != 0)
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
		assert_int_equal(add_grant_tx(s, &g, &e), 0);
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

/* --- transactions ---------------------------------------------------------------------- */

static void test_transactions(void **state)
{
	store *s = *state;
	store_grant g, h;
	store_user u;
	store_tx *tx;
	bg_err e;

	add_user(s, "alice", "admin");
	add_user(s, "bob", "responder");

	/* Rolled back: nothing of it is kept, and nothing shows while it is open. */
	g = make_grant("bg-AAAAAAAAAA", "AKBG0000000000000001", "bob", 1700000000);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_grant_add(tx, &g, &e), 0);
	assert_int_equal(store_grant_by_id(s, g.id, &h, &e), BG_ENOTFOUND);
	assert_int_equal(store_user_use_otp(tx, 1, 777, &e), 0);
	store_rollback(tx);
	assert_int_equal(store_grant_by_id(s, g.id, &h, &e), BG_ENOTFOUND);
	assert_int_equal(store_user_by_name(s, "alice", &u, &e), 0);
	assert_int_equal(u.last_otp_counter, 0);
	store_rollback(NULL);

	/* Committed: every change of it is kept. */
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_grant_add(tx, &g, &e), 0);
	assert_int_equal(store_grant_revoke(tx, g.id, "alice", 1700000001, &h, &e), 0);
	assert_int_equal(h.revoked_at, 1700000001);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_grant_by_id(s, g.id, &h, &e), 0);
	assert_string_equal(h.revoked_by, "alice");

	/* A failed operation leaves only a rollback: what came before it is not kept. */
	h = make_grant("bg-BBBBBBBBBB", "AKBG0000000000000002", "bob", 1700000000);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_grant_add(tx, &h, &e), 0);
	assert_int_equal(store_grant_add(tx, &g, &e), BG_EEXISTS);
	assert_int_equal(store_user_use_otp(tx, 1, 778, &e), BG_EIO);
	assert_int_equal(store_commit(tx, &e), BG_EEXISTS);
	assert_int_equal(store_grant_by_id(s, h.id, &h, &e), BG_ENOTFOUND);
	/* Even a failure the store checks itself, before the backend sees it. */
	h = make_grant("bg-BBBBBBBBBB", "AKBG0000000000000002", "bob", 1700000000);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_grant_add(tx, &h, &e), 0);
	assert_int_equal(store_grant_revoke(tx, h.id, "not a name", 1700000001, NULL, &e),
	                 BG_EINVAL);
	assert_int_equal(store_end(tx, 0, &e), BG_EINVAL);
	assert_int_equal(store_grant_by_id(s, h.id, &h, &e), BG_ENOTFOUND);

	/* store_end: commits on 0, rolls back otherwise and keeps the caller's code. */
	h = make_grant("bg-CCCCCCCCCC", "AKBG0000000000000003", "bob", 1700000000);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_grant_add(tx, &h, &e), 0);
	assert_int_equal(store_end(tx, BG_EDENIED, &e), BG_EDENIED);
	assert_int_equal(store_grant_by_id(s, h.id, &g, &e), BG_ENOTFOUND);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_grant_add(tx, &h, &e), 0);
	assert_int_equal(store_end(tx, 0, &e), 0);
	assert_int_equal(store_grant_by_id(s, h.id, &g, &e), 0);
	assert_int_equal(store_commit(NULL, &e), BG_EINVAL);
}

/* --- the audit table ------------------------------------------------------------------- */

static store_text txt(const char *s)
{
	store_text t = {s, s ? strlen(s) : 0};

	return t;
}

/* Row seq with recognisable contents; prev and hash are 64 hex digits derived from seq. */
static store_audit_row audit_row(int64_t seq, char prev[65], char hash[65])
{
	store_audit_row r;

	memset(&r, 0, sizeof(r));
	r.seq = seq;
	r.ts = txt("2026-11-24T03:27:00.123Z");
	r.f[STORE_AUDIT_KIND] = txt(seq % 2 ? "request" : "response");
	r.f[STORE_AUDIT_ACTOR] = txt("bob");
	r.f[STORE_AUDIT_REASON] = txt(seq == 2 ? "line\none \"q\" caf\xc3\xa9" : NULL);
	r.status = seq % 2 ? 0 : 200;
	r.detail = txt(seq == 1 ? "{\"a\":[1,2]}" : NULL);
	snprintf(prev, 65, "%064lld", (long long)seq - 1);
	snprintf(hash, 65, "%064lld", (long long)seq);
	r.prev_hash = txt(prev);
	r.hash = txt(hash);
	return r;
}

static int append_rows(store *s, int64_t from, int64_t to, bg_err *e)
{
	char prev[65], hash[65], head[STORE_HASH_HEX + 1];
	store_audit_row r;
	store_tx *tx;
	int64_t seq, i;
	int rc;

	rc = store_begin(s, &tx, e);
	if (rc != 0)
		return rc;
	rc = store_audit_head(tx, &seq, head, e);
	if (rc == 0 && seq != from - 1)
		rc = bg_err_set(e, BG_EINVAL, "head %lld, not %lld", (long long)seq,
		                (long long)from - 1);
	for (i = from; rc == 0 && i <= to; i++) {
		r = audit_row(i, prev, hash);
		rc = store_audit_insert(tx, &r, e);
	}
	return store_end(tx, rc, e);
}

struct scan_ctx {
	int n;
	int stop_at;
	int fail_at;
	int64_t seqs[16];
	bool same; /* every row as audit_row() made it */
};

static bool text_eq(store_text a, store_text b)
{
	return (a.p == NULL) == (b.p == NULL) && a.n == b.n && (a.n == 0 || !memcmp(a.p, b.p, a.n));
}

static int scan_cb(void *ctx, const store_audit_row *r, bg_err *e)
{
	struct scan_ctx *c = ctx;
	char prev[65], hash[65];
	store_audit_row want = audit_row(r->seq, prev, hash);
	int i;

	if (r->status != want.status || !text_eq(r->ts, want.ts) ||
	    !text_eq(r->detail, want.detail) || !text_eq(r->prev_hash, want.prev_hash) ||
	    !text_eq(r->hash, want.hash))
		c->same = false;
	for (i = 0; i < STORE_AUDIT_FIELDS; i++)
		if (!text_eq(r->f[i], want.f[i]))
			c->same = false;
	if (c->n < 16)
		c->seqs[c->n] = r->seq;
	c->n++;
	if (c->fail_at > 0 && c->n == c->fail_at)
		return bg_err_set(e, BG_ENOMEM, "the callback failed");
	return c->stop_at > 0 && c->n >= c->stop_at;
}

static void test_audit_table(void **state)
{
	char prev[65], hash[65], head[STORE_HASH_HEX + 1];
	store *s = *state;
	struct scan_ctx c;
	store_audit_row r;
	store_tx *tx;
	int64_t seq;
	bg_err e;

	/* Empty: seq 0, no hash. */
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_audit_head(tx, &seq, head, &e), 0);
	assert_int_equal(seq, 0);
	assert_string_equal(head, "");
	store_rollback(tx);

	assert_int_equal(append_rows(s, 1, 3, &e), 0);
	assert_int_equal(append_rows(s, 4, 5, &e), 0);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_audit_head(tx, &seq, head, &e), 0);
	assert_int_equal(seq, 5);
	assert_string_equal(head,
	                    "0000000000000000000000000000000000000000000000000000000000000005");
	/* A row of a rolled-back transaction is gone: the next one takes its seq. */
	r = audit_row(6, prev, hash);
	assert_int_equal(store_audit_insert(tx, &r, &e), 0);
	store_rollback(tx);
	assert_int_equal(append_rows(s, 6, 6, &e), 0);
	/* A seq is taken once. */
	assert_int_equal(store_begin(s, &tx, &e), 0);
	r = audit_row(6, prev, hash);
	assert_int_equal(store_audit_insert(tx, &r, &e), BG_EEXISTS);
	store_rollback(tx);

	/* Scanned in order, each row exactly as given; after, limit, stop, failure. */
	memset(&c, 0, sizeof(c));
	c.same = true;
	assert_int_equal(store_audit_scan(s, 0, 0, scan_cb, &c, &e), 0);
	assert_int_equal(c.n, 6);
	assert_true(c.same);
	assert_int_equal(c.seqs[0], 1);
	assert_int_equal(c.seqs[5], 6);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_audit_scan(s, 2, 3, scan_cb, &c, &e), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.seqs[0], 3);
	assert_int_equal(c.seqs[2], 5);
	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	assert_int_equal(store_audit_scan(s, 0, 0, scan_cb, &c, &e), 0);
	assert_int_equal(c.n, 2);
	memset(&c, 0, sizeof(c));
	c.fail_at = 3;
	assert_int_equal(store_audit_scan(s, 0, 0, scan_cb, &c, &e), BG_ENOMEM);
	assert_string_equal(e.msg, "the callback failed");
	assert_int_equal(c.n, 3);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_audit_scan(s, 6, 0, scan_cb, &c, &e), 0);
	assert_int_equal(c.n, 0);

	/* Incomplete rows are refused before they reach the backend. */
	assert_int_equal(store_begin(s, &tx, &e), 0);
	r = audit_row(7, prev, hash);
	r.f[STORE_AUDIT_KIND] = txt(NULL);
	assert_int_equal(store_audit_insert(tx, &r, &e), BG_EINVAL);
	store_rollback(tx);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	r = audit_row(7, prev, hash);
	r.hash.n = 10;
	assert_int_equal(store_audit_insert(tx, &r, &e), BG_EINVAL);
	store_rollback(tx);
}

struct claimer {
	store *s;
	pthread_barrier_t *bar;
	int64_t head_seq;
	double waited;
	int rc;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *second_claimer(void *arg)
{
	struct claimer *c = arg;
	char head[STORE_HASH_HEX + 1];
	store_tx *tx;
	double t0;
	bg_err e;

	pthread_barrier_wait(c->bar);
	t0 = now_s();
	c->rc = store_begin(c->s, &tx, &e);
	if (c->rc == 0) {
		c->rc = store_audit_head(tx, &c->head_seq, head, &e);
		c->waited = now_s() - t0;
		store_rollback(tx);
	}
	return NULL;
}

/* The head claims the table: a second transaction's head waits for the first to end and
 * then sees its rows, so two appenders can never chain onto the same head. */
static void test_audit_head_claims_table(void **state)
{
	char prev[65], hash[65], head[STORE_HASH_HEX + 1];
	struct timespec pause = {0, 300 * 1000000L};
	store *s = *state;
	pthread_barrier_t bar;
	struct claimer c;
	store_audit_row r;
	store_tx *tx;
	pthread_t t;
	int64_t seq;
	bg_err e;

	assert_int_equal(append_rows(s, 1, 1, &e), 0);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_audit_head(tx, &seq, head, &e), 0);
	assert_int_equal(seq, 1);
	pthread_barrier_init(&bar, NULL, 2);
	c = (struct claimer){s, &bar, -1, 0, -1};
	assert_int_equal(pthread_create(&t, NULL, second_claimer, &c), 0);
	pthread_barrier_wait(&bar);
	nanosleep(&pause, NULL);
	r = audit_row(2, prev, hash);
	assert_int_equal(store_audit_insert(tx, &r, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&bar);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.head_seq, 2);
	assert_true(c.waited >= 0.25);
}

/* --- incidents ------------------------------------------------------------------------ */

static store_incident incident(const char *id, const char *source, const char *group)
{
	store_incident in;

	memset(&in, 0, sizeof(in));
	snprintf(in.id, sizeof(in.id), "%s", id);
	snprintf(in.source, sizeof(in.source), "%s", source);
	snprintf(in.group_key, sizeof(in.group_key), "%s", group);
	in.severity = 2;
	snprintf(in.title, sizeof(in.title), "orders API returns 500 — since 09:14");
	snprintf(in.service, sizeof(in.service), "orders");
	in.open = true;
	snprintf(in.opened_by, sizeof(in.opened_by), "%s",
	         strcmp(source, "manual") == 0 ? "alice" : source);
	in.opened_at = in.updated_at = 1700000000;
	return in;
}

static int incident_add_tx(store *s, const store_incident *in, bg_err *e)
{
	store_tx *tx;
	int rc = store_begin(s, &tx, e);

	return rc != 0 ? rc : store_end(tx, store_incident_add(tx, in, e), e);
}

static int count_incident(void *ctx, const store_incident *in)
{
	(*(int *)ctx)++;
	return 0;
}

static int count_alert(void *ctx, const store_alert *a)
{
	(*(int *)ctx)++;
	return 0;
}

static int first_event(void *ctx, const store_incident_event *ev)
{
	memcpy(ctx, ev, sizeof(*ev));
	return 1;
}

static void test_incidents(void **state)
{
	store *s = *state;
	store_incident in = incident("INC-7", "manual", ""), got, am;
	store_alert a, b;
	store_incident_event ev;
	store_tx *tx;
	int64_t firing, all;
	int n = 0;
	bg_err e;

	assert_int_equal(incident_add_tx(s, &in, &e), 0);
	assert_int_equal(incident_add_tx(s, &in, &e), BG_EEXISTS);
	assert_int_equal(store_incident_get(s, "INC-7", &got, &e), 0);
	assert_string_equal(got.title, in.title);
	assert_true(got.open);
	assert_int_equal(store_incident_get(s, "INC-8", &got, &e), BG_ENOTFOUND);

	/* Bad fields are refused before the backend sees them. */
	got = incident("INC 9", "manual", "");
	assert_int_equal(incident_add_tx(s, &got, &e), BG_EINVAL);
	got = incident("INC-9", "manual", "");
	got.severity = 6;
	assert_int_equal(incident_add_tx(s, &got, &e), BG_EINVAL);
	got = incident("INC-9", "manual", "");
	snprintf(got.title, sizeof(got.title), "two\nlines");
	assert_int_equal(incident_add_tx(s, &got, &e), BG_EINVAL);
	got = incident("INC-9", "manual", "a group"); /* a manual incident has no group */
	assert_int_equal(incident_add_tx(s, &got, &e), BG_EINVAL);
	got = incident("INC-9", "nagios", "g");
	assert_int_equal(incident_add_tx(s, &got, &e), BG_EINVAL);

	/* One open incident per alert group; another once it is resolved. */
	am = incident("am-1", "alertmanager", "{}:{alertname=\"X\"}");
	assert_int_equal(incident_add_tx(s, &am, &e), 0);
	got = incident("am-2", "alertmanager", "{}:{alertname=\"X\"}");
	assert_int_equal(incident_add_tx(s, &got, &e), BG_EEXISTS);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(
	    store_incident_find_open(tx, "alertmanager", "{}:{alertname=\"X\"}", &got, &e), 0);
	assert_string_equal(got.id, "am-1");
	/* Not finding one leaves the transaction usable. */
	assert_int_equal(store_incident_find_open(tx, "alertmanager", "other", &got, &e),
	                 BG_ENOTFOUND);
	assert_int_equal(store_incident_get_tx(tx, "am-1", &got, &e), 0);
	got.open = false;
	got.resolved_at = got.updated_at = 1700000100;
	snprintf(got.resolved_by, sizeof(got.resolved_by), "bob");
	assert_int_equal(store_incident_update(tx, &got, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	got = incident("am-2", "alertmanager", "{}:{alertname=\"X\"}");
	assert_int_equal(incident_add_tx(s, &got, &e), 0);
	assert_int_equal(store_incident_list(s, count_incident, &n, &e), 0);
	assert_int_equal(n, 3);

	/* Alerts: put replaces, counts see the transaction's own writes. */
	memset(&a, 0, sizeof(a));
	snprintf(a.incident, sizeof(a.incident), "am-2");
	snprintf(a.key, sizeof(a.key), "fp-1");
	snprintf(a.name, sizeof(a.name), "DynamoDBThrottling");
	a.firing = true;
	a.starts_at = 1700000000;
	a.updated_at = 1700000001;
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_alert_get(tx, "am-2", "fp-1", &b, &e), BG_ENOTFOUND);
	assert_int_equal(store_alert_put(tx, &a, &e), 0);
	a.firing = false;
	assert_int_equal(store_alert_put(tx, &a, &e), 0);
	snprintf(a.key, sizeof(a.key), "fp-2");
	a.firing = true;
	assert_int_equal(store_alert_put(tx, &a, &e), 0);
	assert_int_equal(store_alert_count(tx, "am-2", &firing, &all, &e), 0);
	assert_int_equal(firing, 1);
	assert_int_equal(all, 2);
	assert_int_equal(store_alert_get(tx, "am-2", "fp-1", &b, &e), 0);
	assert_false(b.firing);
	memset(&ev, 0, sizeof(ev));
	ev.at = 1700000001;
	snprintf(ev.kind, sizeof(ev.kind), "alert-firing");
	snprintf(ev.actor, sizeof(ev.actor), "alertmanager");
	snprintf(ev.text, sizeof(ev.text), "DynamoDBThrottling: orders throttled");
	assert_int_equal(store_incident_event_add(tx, "am-2", &ev, &e), 0);
	snprintf(a.incident, sizeof(a.incident), "nope");
	assert_int_equal(store_alert_put(tx, &a, &e), BG_ENOTFOUND);
	store_rollback(tx); /* the failure leaves only a rollback */
	n = 0;
	assert_int_equal(store_alert_list(s, "am-2", count_alert, &n, &e), 0);
	assert_int_equal(n, 0);

	assert_int_equal(store_begin(s, &tx, &e), 0);
	snprintf(a.incident, sizeof(a.incident), "am-2");
	assert_int_equal(store_alert_put(tx, &a, &e), 0);
	assert_int_equal(store_incident_event_add(tx, "am-2", &ev, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	n = 0;
	assert_int_equal(store_alert_list(s, "am-2", count_alert, &n, &e), 0);
	assert_int_equal(n, 1);
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(store_incident_event_list(s, "am-2", first_event, &ev, &e), 0);
	assert_string_equal(ev.kind, "alert-firing");
	assert_string_equal(ev.text, "DynamoDBThrottling: orders throttled");
}

static void test_deliveries(void **state)
{
	store *s = *state;
	store_tx *tx;
	bg_err e;

	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_delivery_record(tx, "pagerduty", "01DEV", 1700000000, &e), 0);
	/* A redelivery is an answer, and the transaction goes on. */
	assert_int_equal(store_delivery_record(tx, "pagerduty", "01DEV", 1700000001, &e),
	                 BG_EEXISTS);
	assert_int_equal(store_delivery_record(tx, "generic", "01DEV", 1700000001, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_delivery_record(tx, "pagerduty", "01DEV", 1700000002, &e),
	                 BG_EEXISTS);
	/* Long after, it is forgotten (senders stopped retrying long ago). */
	assert_int_equal(store_delivery_record(tx, "pagerduty", "01DEV",
	                                       1700000000 + BG_HOOK_DELIVERY_MEMORY + 1, &e),
	                 0);
	assert_int_equal(store_delivery_record(tx, "pagerduty", "", 1700000000, &e), BG_EINVAL);
	store_rollback(tx);
}

/* --- requests and approvals ------------------------------------------------------------ */

static store_request request(const char *id)
{
	store_request r;

	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.requester, sizeof(r.requester), "rita");
	snprintf(r.incident, sizeof(r.incident), "INC-1");
	r.n_runbooks = 1;
	snprintf(r.runbooks[0], sizeof(r.runbooks[0]), "orders-of-customer");
	memset(r.runbook_hashes[0], 'a', 64);
	snprintf(r.reason, sizeof(r.reason), "customers see stuck orders since 09:14");
	snprintf(r.ticket, sizeof(r.ticket), "INC-1");
	r.duration_seconds = 1800;
	snprintf(r.criteria, sizeof(r.criteria), "[{\"check\":\"reason\",\"ok\":true}]");
	snprintf(r.state, sizeof(r.state), "pending");
	r.created_at = 1700000000;
	r.expires_at = 1700000900;
	return r;
}

static int count_approval(void *ctx, const store_approval *a)
{
	(*(int *)ctx)++;
	return 0;
}

static int count_request(void *ctx, const store_request *r)
{
	(*(int *)ctx)++;
	return 0;
}

static void test_requests(void **state)
{
	store *s = *state;
	uint8_t th[32] = {1}, seed[16] = {2};
	store_incident in = incident("INC-1", "manual", "");
	store_request r = request("bg-aaaaaaaaaa"), got;
	store_approval a;
	store_tx *tx;
	int n = 0;
	bg_err e;

	assert_int_equal(add_user_tx(s, "rita", "responder", th, seed, &e), 0);
	th[0] = 2;
	assert_int_equal(add_user_tx(s, "abe", "approver", th, seed, &e), 0);
	/* Its incident must exist. */
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_request_add(tx, &r, &e), BG_ENOTFOUND);
	store_rollback(tx);
	assert_int_equal(incident_add_tx(s, &in, &e), 0);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_request_add(tx, &r, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_request_get(s, r.id, &got, &e), 0);
	assert_string_equal(got.runbooks[0], "orders-of-customer");
	assert_int_equal(strlen(got.runbook_hashes[0]), 64);
	assert_string_equal(got.criteria, r.criteria);
	assert_string_equal(got.state, "pending");

	/* Bad shapes are refused. */
	got = request("bg-bbbbbbbbbb");
	got.n_runbooks = 0;
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_request_add(tx, &got, &e), BG_EINVAL);
	store_rollback(tx);
	got = request("bg-bbbbbbbbbb");
	snprintf(got.state, sizeof(got.state), "approved"); /* decided, but no decided_at */
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_request_add(tx, &got, &e), BG_EINVAL);
	store_rollback(tx);

	/* One answer per approver. */
	memset(&a, 0, sizeof(a));
	snprintf(a.request, sizeof(a.request), "%s", r.id);
	snprintf(a.approver, sizeof(a.approver), "abe");
	a.approve = true;
	a.at = 1700000100;
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_approval_add(tx, &a, &e), 0);
	assert_int_equal(store_approval_list(s, tx, r.id, count_approval, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_request_get_tx(tx, r.id, &got, &e), 0);
	snprintf(got.state, sizeof(got.state), "approved");
	got.decided_at = 1700000100;
	snprintf(got.decided_by, sizeof(got.decided_by), "abe");
	assert_int_equal(store_request_update(tx, &got, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_approval_add(tx, &a, &e), BG_EEXISTS);
	store_rollback(tx);
	assert_int_equal(store_request_get(s, r.id, &got, &e), 0);
	assert_string_equal(got.state, "approved");
	assert_string_equal(got.decided_by, "abe");
	n = 0;
	assert_int_equal(store_request_list(s, "rita", count_request, &n, &e), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(store_request_list(s, "abe", count_request, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_request_get(s, "bg-nope", &got, &e), BG_ENOTFOUND);
}

/* --- the notification outbox and the expiry sweeps --------------------------------------- */

typedef struct due_seen {
	int n;
	int64_t ids[8];
	char payload[128];
} due_seen;

static int due_cb(void *ctx, const store_outbox *o)
{
	due_seen *d = ctx;

	if (d->n < 8)
		d->ids[d->n] = o->id;
	snprintf(d->payload, sizeof(d->payload), "%s", o->payload);
	d->n++;
	return 0;
}

static store_outbox outbox_row(const char *target, const char *event, const char *payload,
                               int64_t at)
{
	store_outbox o;

	memset(&o, 0, sizeof(o));
	snprintf(o.target, sizeof(o.target), "%s", target);
	snprintf(o.event, sizeof(o.event), "%s", event);
	o.payload = payload;
	o.created_at = at;
	o.next_at = at;
	return o;
}

static int outbox_add_tx(store *s, store_outbox *o, bg_err *e)
{
	store_tx *tx;
	int rc = store_begin(s, &tx, e);

	return rc != 0 ? rc : store_end(tx, store_outbox_add(tx, o, e), e);
}

static int list_review(void *ctx, const store_review *r)
{
	store_review *out = ctx;

	*out = *r;
	return 0;
}

/* Reviews: one per incident (a second open is BG_EEXISTS and leaves the first), signed
 * once, listed, their overdue notice marked once. */
static void test_reviews(void **state)
{
	store *s = *state;
	store_incident in = incident("INC-RV", "manual", "");
	store_review r, got;
	store_tx *tx;
	bg_err e;

	assert_int_equal(incident_add_tx(s, &in, &e), 0);
	assert_int_equal(store_review_get(s, NULL, "INC-RV", &got, &e), BG_ENOTFOUND);
	memset(&r, 0, sizeof(r));
	snprintf(r.incident, sizeof(r.incident), "INC-RV");
	snprintf(r.opened_by, sizeof(r.opened_by), "alice");
	r.opened_at = 1700000000;
	r.deadline = 1700086400;
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_review_open(tx, &r, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	r.deadline = 1;
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_review_open(tx, &r, &e), BG_EEXISTS);
	store_rollback(tx);
	assert_int_equal(store_review_get(s, NULL, "INC-RV", &got, &e), 0);
	assert_int_equal(got.deadline, 1700086400);
	assert_string_equal(got.opened_by, "alice");
	assert_int_equal(got.signed_at, 0);
	/* The overdue notice, once. */
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_review_overdue_noticed(tx, "INC-RV", &e), 0);
	assert_int_equal(store_review_overdue_noticed(tx, "INC-RV", &e), 1);
	assert_int_equal(store_commit(tx, &e), 0);
	/* Signed once. */
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_review_sign(tx, "INC-RV", "bob", 1700090000, "we learned\n", &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_review_sign(tx, "INC-RV", "carol", 1700090001, "me too", &e),
	                 BG_EEXISTS);
	store_rollback(tx);
	memset(&got, 0, sizeof(got));
	assert_int_equal(store_review_list(s, list_review, &got, &e), 0);
	assert_string_equal(got.signed_by, "bob");
	assert_int_equal(got.signed_at, 1700090000);
	assert_string_equal(got.learnings, "we learned\n");
	assert_true(got.overdue_noticed);
	/* A review of an incident that does not exist. */
	snprintf(r.incident, sizeof(r.incident), "INC-NONE");
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_not_equal(store_review_open(tx, &r, &e), 0);
	store_rollback(tx);
}

/* Spent capacity: running totals per grant and runbook, added in a transaction and
 * gone with its rollback. */
typedef struct spend_seen {
	int n;
	char rb[4][32];
	double read[4], write[4];
} spend_seen;

static int spend_cb(void *ctx, const char *runbook, double read, double write, bg_err *e)
{
	spend_seen *v = ctx;

	(void)e;
	if (v->n == 4)
		return BG_ELIMIT;
	snprintf(v->rb[v->n], sizeof(v->rb[0]), "%s", runbook != NULL ? runbook : "(none)");
	v->read[v->n] = read;
	v->write[v->n++] = write;
	return 0;
}

static void test_spend_totals(void **state)
{
	store *s = *state;
	spend_seen v;
	store_tx *tx;
	bg_err e;

	memset(&v, 0, sizeof(v));
	assert_int_equal(store_spend_list(s, "bg-a", spend_cb, &v, &e), 0);
	assert_int_equal(v.n, 0);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_spend_add(tx, "bg-a", NULL, 2.5, 0, &e), 0);
	store_rollback(tx);
	assert_int_equal(store_spend_list(s, "bg-a", spend_cb, &v, &e), 0);
	assert_int_equal(v.n, 0);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_spend_add(tx, "bg-a", NULL, 2.5, 0, &e), 0);
	assert_int_equal(store_spend_add(tx, "bg-a", NULL, 0.5, 1, &e), 0);
	assert_int_equal(store_spend_add(tx, "bg-a", "orders-by-customer", 4, 0, &e), 0);
	assert_int_equal(store_spend_add(tx, "bg-b", NULL, 100, 100, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_spend_add(tx, "bg-a", "orders-by-customer", 0.5, 2, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_spend_list(s, "bg-a", spend_cb, &v, &e), 0);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.rb[0], "(none)");
	assert_true(v.read[0] == 3.0 && v.write[0] == 1.0);
	assert_string_equal(v.rb[1], "orders-by-customer");
	assert_true(v.read[1] == 4.5 && v.write[1] == 2.0);
	/* Refused (and the transaction with it): no grant, an empty runbook name, a
	 * negative amount. */
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_spend_add(tx, "", NULL, 1, 1, &e), BG_EINVAL);
	assert_int_equal(store_spend_add(tx, "bg-a", NULL, 1, 1, &e), BG_EIO);
	store_rollback(tx);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_spend_add(tx, "bg-a", "", 1, 1, &e), BG_EINVAL);
	store_rollback(tx);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_spend_add(tx, "bg-a", NULL, -1, 0, &e), BG_EINVAL);
	store_rollback(tx);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_spend_add(tx, "bg-a", NULL, 0, INFINITY, &e), BG_EINVAL);
	store_rollback(tx);
	assert_int_equal(store_spend_list(s, "", spend_cb, &v, &e), BG_EINVAL);
}

/* The audit sinks' cursors: none is 0; set in a transaction (rolled back: gone); never
 * moves back; one per name. */
static void test_sink_cursors(void **state)
{
	store *s = *state;
	store_tx *tx;
	int64_t seq = -1;
	bg_err e;

	assert_int_equal(store_sink_cursor_get(s, "jsonl:/a", &seq, &e), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_sink_cursor_set(tx, "jsonl:/a", 40, &e), 0);
	store_rollback(tx);
	assert_int_equal(store_sink_cursor_get(s, "jsonl:/a", &seq, &e), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_sink_cursor_set(tx, "jsonl:/a", 40, &e), 0);
	assert_int_equal(store_sink_cursor_set(tx, "syslog:tcp://h:1", 7, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_sink_cursor_set(tx, "jsonl:/a", 12, &e), 0); /* back: ignored */
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_sink_cursor_get(s, "jsonl:/a", &seq, &e), 0);
	assert_int_equal(seq, 40);
	assert_int_equal(store_sink_cursor_get(s, "syslog:tcp://h:1", &seq, &e), 0);
	assert_int_equal(seq, 7);
	assert_int_equal(store_sink_cursor_get(s, "", &seq, &e), BG_EINVAL);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_sink_cursor_set(tx, "x", -1, &e), BG_EINVAL);
	store_rollback(tx);
}

static void test_outbox(void **state)
{
	store *s = *state;
	store_outbox a = outbox_row("ops-slack", "request", "{\"x\":1}", 1700000000);
	store_outbox b = outbox_row("siem", "approval", "{\"y\":2}", 1700000001), got;
	store_outbox bad;
	due_seen d;
	store_tx *tx;
	char *big;
	bg_err e;

	/* A rolled-back row is gone; committed ones are due in order. */
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_outbox_add(tx, &a, &e), 0);
	store_rollback(tx);
	assert_int_equal(outbox_add_tx(s, &a, &e), 0);
	assert_int_equal(outbox_add_tx(s, &b, &e), 0);
	assert_true(b.id > a.id && a.id > 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_outbox_due(s, 1699999999, 10, due_cb, &d, &e), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(store_outbox_due(s, 1700000005, 10, due_cb, &d, &e), 0);
	assert_int_equal(d.n, 2);
	assert_true(d.ids[0] == a.id && d.ids[1] == b.id);
	assert_string_equal(d.payload, "{\"y\":2}");

	/* Taken once: a second sender finds it not due. */
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_outbox_claim(tx, a.id, 1700000005, 1700000305, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_outbox_claim(tx, a.id, 1700000005, 1700000305, &e), BG_ENOTFOUND);
	store_rollback(tx);
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_outbox_due(s, 1700000005, 10, due_cb, &d, &e), 0);
	assert_int_equal(d.n, 1);

	/* A failure: counted, kept with its error, due again later; then delivered. */
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(
	    store_outbox_result(tx, a.id, 1700000006, false, 1700000008, "HTTP 503\nx", &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_outbox_get(s, a.id, &got, &e), 0);
	assert_int_equal(got.attempts, 1);
	assert_int_equal(got.next_at, 1700000008);
	assert_int_equal(got.delivered_at, 0);
	assert_string_equal(got.last_error, "HTTP 503 x");
	assert_null(got.payload);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_outbox_result(tx, a.id, 1700000009, true, 0, NULL, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_outbox_get(s, a.id, &got, &e), 0);
	assert_int_equal(got.attempts, 2);
	assert_int_equal(got.delivered_at, 1700000009);
	assert_string_equal(got.last_error, "");
	/* Abandoned: never due again. */
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_outbox_result(tx, b.id, 1700000009, false, 0, "gone", &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_outbox_due(s, 1800000000, 10, due_cb, &d, &e), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(store_outbox_get(s, 999, &got, &e), BG_ENOTFOUND);

	/* Bad rows are refused. */
	bad = outbox_row("bad name", "request", "{}", 1700000000);
	assert_int_equal(outbox_add_tx(s, &bad, &e), BG_EINVAL);
	bad = outbox_row("ops", "Request", "{}", 1700000000);
	assert_int_equal(outbox_add_tx(s, &bad, &e), BG_EINVAL);
	bad = outbox_row("ops", "request", "[1]", 1700000000);
	assert_int_equal(outbox_add_tx(s, &bad, &e), BG_EINVAL);
	bad = outbox_row("ops", "request", "{}", 1700000000);
	bad.next_at = 1;
	assert_int_equal(outbox_add_tx(s, &bad, &e), BG_EINVAL);
	big = malloc(BG_MAX_NOTIFY_PAYLOAD + 3);
	assert_non_null(big);
	memset(big, ' ', BG_MAX_NOTIFY_PAYLOAD + 2);
	big[0] = '{';
	big[BG_MAX_NOTIFY_PAYLOAD + 1] = '}';
	big[BG_MAX_NOTIFY_PAYLOAD + 2] = '\0';
	bad = outbox_row("ops", "request", big, 1700000000);
	assert_int_equal(outbox_add_tx(s, &bad, &e), BG_ELIMIT);
	free(big);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_outbox_result(tx, 4242, 1700000009, true, 0, NULL, &e),
	                 BG_ENOTFOUND);
	store_rollback(tx);
}

static void test_expiry_sweep_lists(void **state)
{
	store *s = *state;
	store_incident in = incident("INC-1", "manual", "");
	store_request r = request("bg-aaaaaaaaaa");
	store_grant g = make_grant("bg-g1", "AKIDG1", "rita", 1700000000), out[4];
	char ids[4][STORE_ID_MAX];
	store_tx *tx;
	size_t n;
	bg_err e;

	add_user(s, "rita", "responder");
	assert_int_equal(incident_add_tx(s, &in, &e), 0);
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_request_add(tx, &r, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_request_expired(s, 0, r.expires_at - 1, ids, 4, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_request_expired(s, 0, r.expires_at, ids, 4, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], r.id);
	/* Only those that expired after since. */
	assert_int_equal(store_request_expired(s, r.expires_at, r.expires_at + 9, ids, 4, &n, &e),
	                 0);
	assert_int_equal(n, 0);
	/* Decided: no longer pending. */
	snprintf(r.state, sizeof(r.state), "expired");
	r.decided_at = r.expires_at;
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_request_update(tx, &r, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_request_expired(s, 0, r.expires_at, ids, 4, &n, &e), 0);
	assert_int_equal(n, 0);

	assert_int_equal(add_grant_tx(s, &g, &e), 0);
	assert_int_equal(store_grant_expired(s, 0, g.expires_at - 1, out, 4, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_grant_expired(s, 0, g.expires_at, out, 4, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].id, g.id);
	assert_int_equal(store_grant_expired(s, g.expires_at, g.expires_at + 9, out, 4, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_string_equal(out[0].tables[1], "Users.v2_x-y");
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_grant_expiry_noticed(tx, g.id, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(store_grant_expired(s, 0, g.expires_at, out, 4, &n, &e), 0);
	assert_int_equal(n, 0);
	/* Once only. */
	assert_int_equal(store_begin(s, &tx, &e), 0);
	assert_int_equal(store_grant_expiry_noticed(tx, g.id, &e), BG_ENOTFOUND);
	store_rollback(tx);
	/* A revoked grant's end was news already. */
	g = make_grant("bg-g2", "AKIDG2", "rita", 1700000000);
	assert_int_equal(add_grant_tx(s, &g, &e), 0);
	assert_int_equal(revoke_tx(s, g.id, "admin", 1700000001, out, &e), 0);
	assert_int_equal(store_grant_expired(s, 0, g.expires_at, out, 4, &n, &e), 0);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_users, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_otp_counter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_otp_race, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_grants, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_lookups, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_head_claims_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_incidents, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deliveries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sink_cursors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spend_totals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reviews, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expiry_sweep_lists, setup, teardown),
	};
	const char *name;
	size_t i, j;
	int failed = 0;

	/* Every backend built in is tested. */
	for (i = 0; (name = store_backend_name(i)) != NULL; i++) {
		for (j = 0; j < sizeof(backends) / sizeof(backends[0]); j++)
			if (strcmp(backends[j].name, name) == 0)
				break;
		if (j == sizeof(backends) / sizeof(backends[0])) {
			fprintf(stderr, "test_store: backend %s has no entry in backends[]\n",
			        name);
			return 1;
		}
		be = &backends[j];
		failed += cmocka_run_group_tests_name(name, tests, NULL, NULL);
	}
	return failed;
}
