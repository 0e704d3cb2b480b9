/*
 * test_audit.c - the write-ahead audit log: records from many threads get distinct,
 * contiguous sequence numbers; the hash chain can be recomputed from audit_read()
 * output alone (SHA-256 of the previous hash and the canonical JSON, computed here
 * independently of audit.c); the chain continues across close and reopen and across
 * two writers on one file; a write that cannot be made durable is an error for every
 * caller in its batch and leaves no gap; records queued without waking the committer
 * (audit_submit_held) are written once flushed; tampering is found by audit_verify(). Records
 * appended inside a store transaction (audit_append_tx) commit with its state change or
 * vanish with it, also when the process is killed before the commit.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "store/store.h"

static char tmpdir[64];
static char datadir[128];
static char dbpath[160];
static store *the_store; /* the store the log of each test is kept in */

static int setup(void **state)
{
	audit_log *a = NULL;
	bg_err e;

	if (ut_tmpdir(tmpdir, sizeof(tmpdir), "audit") != 0)
		return -1;
	snprintf(datadir, sizeof(datadir), "%s/data", tmpdir);
	snprintf(dbpath, sizeof(dbpath), "%s/breakglass.db", datadir);
	if (store_open(datadir, true, &the_store, &e) != 0) {
		fprintf(stderr, "store_open: %s\n", e.msg);
		return -1;
	}
	if (audit_open(the_store, &a, &e) != 0) {
		fprintf(stderr, "audit_open: %s\n", e.msg);
		return -1;
	}
	*state = a;
	return 0;
}

static int teardown(void **state)
{
	audit_free(*state);
	store_free(the_store);
	the_store = NULL;
	return ut_rm_tree(tmpdir);
}

static int append_simple(audit_log *a, const char *kind, int64_t *seq)
{
	audit_record r = {0};
	bg_err e;

	r.kind = kind;
	r.actor = "alice";
	return audit_append(a, &r, seq, &e);
}

/* --- an independent chain check -------------------------------------------------------- */

struct chain {
	int64_t n;
	int64_t last_seq;
	uint8_t prev[32];
	char prev_hex[65];
	bool ok;
	char why[200];
	json_t *records; /* copies, for tests that look at fields */
};

static void to_hex(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static int chain_cb(void *ctx, json_t *rec)
{
	struct chain *c = ctx;
	json_t *copy = json_deep_copy(rec);
	uint8_t hash[32];
	char hex[65];
	const char *stored;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	char *text;
	int64_t seq = json_integer_value(json_object_get(rec, "seq"));

	if (c->records != NULL)
		json_array_append(c->records, rec);
	if (seq != c->last_seq + 1) {
		snprintf(c->why, sizeof(c->why), "seq %lld after %lld", (long long)seq,
		         (long long)c->last_seq);
		c->ok = false;
	}
	if (strcmp(json_string_value(json_object_get(rec, "prev_hash")), c->prev_hex) != 0) {
		snprintf(c->why, sizeof(c->why), "prev_hash of %lld", (long long)seq);
		c->ok = false;
	}
	stored = json_string_value(json_object_get(rec, "hash"));
	json_object_del(copy, "hash");
	text = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
	assert_non_null(text);
	assert_true(EVP_DigestInit_ex(md, EVP_sha256(), NULL));
	assert_true(EVP_DigestUpdate(md, c->prev, 32));
	assert_true(EVP_DigestUpdate(md, text, strlen(text)));
	assert_true(EVP_DigestFinal_ex(md, hash, &len));
	to_hex(hash, 32, hex);
	if (stored == NULL || strcmp(stored, hex) != 0) {
		snprintf(c->why, sizeof(c->why), "hash of %lld", (long long)seq);
		c->ok = false;
	}
	memcpy(c->prev, hash, 32);
	memcpy(c->prev_hex, hex, 65);
	c->last_seq = seq;
	c->n++;
	free(text);
	json_decref(copy);
	EVP_MD_CTX_free(md);
	return 0;
}

static void check_chain(audit_log *a, int64_t want, json_t *records)
{
	struct chain c;
	int64_t n = -1, bad = -1;
	bg_err e;

	memset(&c, 0, sizeof(c));
	c.ok = true;
	memset(c.prev_hex, '0', 64);
	c.records = records;
	assert_int_equal(audit_read(a, 0, 0, chain_cb, &c, &e), 0);
	if (!c.ok)
		fail_msg("chain: %s", c.why);
	assert_int_equal(c.n, want);
	assert_int_equal(audit_verify(a, &n, &bad, &e), 0);
	assert_int_equal(n, want);
	assert_int_equal(bad, -1);
}

/* --- tests ----------------------------------------------------------------------------- */

static void test_one_record(void **state)
{
	audit_log *a = *state;
	json_t *detail, *records = json_array(), *rec;
	audit_record r = {0};
	int64_t seq = 0;
	const char *ts;
	bg_err e;

	detail = json_pack("{s:i, s:s, s:f, s:[i,i], s:{s:b, s:n}}", "bytes", 1234, "target",
	                   "DynamoDB_20120810.Query", "capacity", 0.5, "keys", 1, 2, "nested", "z",
	                   1, "a");
	assert_non_null(detail);
	r.kind = "request";
	r.actor = "bob";
	r.grant_id = "bg-AAAAAAAAAA";
	r.request_id = "REQ1";
	r.op = "Query";
	r.tables = "Orders,Users";
	r.decision = "allow";
	r.reason = "template orders-by-id \"v2\" \xe2\x9c\x93";
	r.status = 0;
	r.detail = detail;
	assert_int_equal(audit_append(a, &r, &seq, &e), 0);
	assert_int_equal(seq, 1);
	json_object_set_new(detail, "bytes", json_integer(1)); /* ours was copied */

	check_chain(a, 1, records);
	rec = json_array_get(records, 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "seq")), 1);
	assert_string_equal(json_string_value(json_object_get(rec, "kind")), "request");
	assert_string_equal(json_string_value(json_object_get(rec, "actor")), "bob");
	assert_string_equal(json_string_value(json_object_get(rec, "grant_id")), "bg-AAAAAAAAAA");
	assert_string_equal(json_string_value(json_object_get(rec, "request_id")), "REQ1");
	assert_string_equal(json_string_value(json_object_get(rec, "op")), "Query");
	assert_string_equal(json_string_value(json_object_get(rec, "tables")), "Orders,Users");
	assert_string_equal(json_string_value(json_object_get(rec, "decision")), "allow");
	assert_string_equal(json_string_value(json_object_get(rec, "reason")), r.reason);
	assert_int_equal(json_integer_value(json_object_get(rec, "status")), 0);
	assert_string_equal(json_string_value(json_object_get(rec, "prev_hash")),
	                    "0000000000000000000000000000000000000000000000000000000000000000");
	assert_int_equal(strlen(json_string_value(json_object_get(rec, "hash"))), 64);
	json_object_set_new(detail, "bytes", json_integer(1234));
	assert_true(json_equal(json_object_get(rec, "detail"), detail));
	/* 2026-11-24T03:27:00.123Z */
	ts = json_string_value(json_object_get(rec, "ts"));
	assert_non_null(ts);
	assert_int_equal(strlen(ts), 24);
	assert_int_equal(ts[10], 'T');
	assert_int_equal(ts[19], '.');
	assert_int_equal(ts[23], 'Z');
	assert_int_equal(json_object_size(rec), 14);
	json_decref(detail);
	json_decref(records);
}

static void test_nulls_and_odd_input(void **state)
{
	audit_log *a = *state;
	json_t *records = json_array(), *rec, *detail;
	audit_record r = {0};
	int64_t seq = 0;
	bg_err e;

	r.kind = "denial";
	assert_int_equal(audit_append(a, &r, &seq, &e), 0);
	/* An access key id that is not UTF-8 (hostile input) is still recorded. */
	r.actor = "AK\xff\xfe\xc3(x";
	r.status = 400;
	detail = json_string("a bare string as detail");
	r.detail = detail;
	assert_int_equal(audit_append(a, &r, &seq, &e), 0);
	json_decref(detail);
	r.detail = json_null();
	assert_int_equal(audit_append(a, &r, &seq, &e), 0);
	assert_int_equal(seq, 3);

	r.kind = NULL;
	assert_int_equal(audit_append(a, &r, &seq, &e), BG_EINVAL);
	r.kind = "";
	assert_int_equal(audit_append(a, &r, &seq, &e), BG_EINVAL);

	check_chain(a, 3, records);
	rec = json_array_get(records, 0);
	assert_true(json_is_null(json_object_get(rec, "actor")));
	assert_true(json_is_null(json_object_get(rec, "detail")));
	assert_true(json_is_null(json_object_get(rec, "reason")));
	rec = json_array_get(records, 1);
	assert_string_equal(json_string_value(json_object_get(rec, "actor")),
	                    "AK\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd(x");
	assert_int_equal(json_integer_value(json_object_get(rec, "status")), 400);
	assert_string_equal(json_string_value(json_object_get(rec, "detail")),
	                    "a bare string as detail");
	rec = json_array_get(records, 2);
	assert_true(json_is_null(json_object_get(rec, "detail")));
	json_decref(records);
}

static void test_escaping_matches_jansson(void **state)
{
	audit_log *a = *state;
	json_t *records = json_array(), *detail;
	audit_record r = {0};
	char all[128];
	int64_t seq;
	bg_err e;
	int i;

	/* Every ASCII byte (control characters, quotes, backslash, slash, DEL). */
	for (i = 1; i < 128; i++)
		all[i - 1] = (char)i;
	all[127] = '\0';
	r.kind = "request";
	r.actor = all;
	r.reason = "\"\\/\b\f\n\r\t\x7f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
	           "\xe2\x80\xa8 \xef\xbb\xbf";
	r.request_id = "bad \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82";
	r.tables = "";
	detail = json_pack("{s:s, s:f, s:f, s:I, s:[s,b,n]}", "all", all, "real", 0.1, "big", 1e300,
	                   "neg", (json_int_t)-9007199254740993LL, "list", "\xf0\x9f\x98\x80", 1);
	json_object_set_new(detail, "nul", json_stringn("a\0b", 3));
	r.detail = detail;
	r.status = -1;
	assert_int_equal(audit_append(a, &r, &seq, &e), 0);
	json_decref(detail);
	check_chain(a, 1, records);
	assert_string_equal(json_string_value(json_object_get(json_array_get(records, 0), "actor")),
	                    all);
	json_decref(records);
}

static void test_too_large(void **state)
{
	audit_log *a = *state;
	audit_record r = {0};
	size_t n = 40u * 1024 * 1024;
	char *big = malloc(n + 1);
	int64_t seq;
	bg_err e;

	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	r.kind = "request";
	r.reason = big;
	assert_int_equal(audit_append(a, &r, &seq, &e), BG_ELIMIT);
	free(big);
	/* The log is unaffected. */
	assert_int_equal(append_simple(a, "request", &seq), 0);
	assert_int_equal(seq, 1);
}

struct reader {
	int n;
	int stop_at;
	int64_t first;
};

static int reader_cb(void *ctx, json_t *rec)
{
	struct reader *r = ctx;

	if (r->n == 0)
		r->first = json_integer_value(json_object_get(rec, "seq"));
	r->n++;
	return r->stop_at > 0 && r->n >= r->stop_at;
}

static void test_read_window(void **state)
{
	audit_log *a = *state;
	struct reader r;
	int64_t seq;
	bg_err e;
	int i;

	for (i = 0; i < 10; i++)
		assert_int_equal(append_simple(a, "user", &seq), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(audit_read(a, 3, 4, reader_cb, &r, &e), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.first, 4);
	memset(&r, 0, sizeof(r));
	r.stop_at = 2;
	assert_int_equal(audit_read(a, 0, 100, reader_cb, &r, &e), 0);
	assert_int_equal(r.n, 2);
	memset(&r, 0, sizeof(r));
	assert_int_equal(audit_read(a, 10, 100, reader_cb, &r, &e), 0);
	assert_int_equal(r.n, 0);
}

#define THREADS    16
#define PER_THREAD 150

struct worker {
	audit_log *a;
	int64_t seqs[PER_THREAD];
	int failures;
	int id;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	audit_record r = {0};
	char rid[32];
	json_t *detail;
	bg_err e;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		snprintf(rid, sizeof(rid), "t%d-%d", w->id, i);
		detail = json_pack("{s:i, s:i}", "thread", w->id, "i", i);
		r.kind = i % 2 ? "response" : "request";
		r.actor = "bob";
		r.request_id = rid;
		r.status = i % 2 ? 200 : 0;
		r.detail = detail;
		if (audit_append(w->a, &r, &w->seqs[i], &e) != 0)
			w->failures++;
		json_decref(detail);
	}
	return NULL;
}

static int cmp64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a > b) - (a < b);
}

static void run_workers(audit_log **logs, int nlogs, int64_t *all)
{
	static struct worker w[THREADS];
	pthread_t t[THREADS];
	int i, j;

	for (i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].a = logs[i % nlogs];
		w[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
		for (j = 0; j < PER_THREAD; j++)
			all[i * PER_THREAD + j] = w[i].seqs[j];
	}
}

static void test_concurrent_appends(void **state)
{
	audit_log *a = *state;
	static int64_t all[THREADS * PER_THREAD];
	audit_stats st;
	int i;

	run_workers(&a, 1, all);
	qsort(all, THREADS * PER_THREAD, sizeof(all[0]), cmp64);
	for (i = 0; i < THREADS * PER_THREAD; i++)
		assert_int_equal(all[i], i + 1); /* distinct and contiguous */
	check_chain(a, THREADS * PER_THREAD, NULL);
	audit_get_stats(a, &st);
	assert_int_equal(st.records, THREADS * PER_THREAD);
	assert_int_equal(st.failed_batches, 0);
	assert_true(st.batches >= 1 && st.batches <= st.records);
	assert_true(st.max_batch >= 1 && st.max_batch <= THREADS);
	print_message("    %lld records in %lld commits (max batch %lld)\n", (long long)st.records,
	              (long long)st.batches, (long long)st.max_batch);
}

struct held {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, failed;
	int64_t seqs[3];
};

static void held_done(void *arg, int rc, int64_t seq, const bg_err *e)
{
	struct held *h = arg;

	pthread_mutex_lock(&h->mu);
	if (rc != 0)
		h->failed++;
	else
		h->seqs[h->done] = seq;
	h->done++;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* Records queued with audit_submit_held() are written, in order, once flushed (an event
 * loop's turn: queue its records, then wake the committer once). */
static void test_held_then_flushed(void **state)
{
	audit_log *a = *state;
	struct held h = {.done = 0};
	audit_record r = {0};
	audit_stats st;
	bg_err e;
	int i;

	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cv, NULL);
	r.kind = "request";
	for (i = 0; i < 3; i++)
		assert_int_equal(audit_submit_held(a, &r, held_done, &h, &e), 0);
	audit_flush(a);
	pthread_mutex_lock(&h.mu);
	while (h.done < 3)
		pthread_cond_wait(&h.cv, &h.mu);
	pthread_mutex_unlock(&h.mu);
	assert_int_equal(h.failed, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(h.seqs[i], i + 1);
	check_chain(a, 3, NULL);
	audit_get_stats(a, &st);
	print_message("    3 held records in %lld commits\n", (long long)st.batches);
	pthread_cond_destroy(&h.cv);
	pthread_mutex_destroy(&h.mu);
}

static void test_two_writers(void **state)
{
	audit_log *logs[2] = {*state, NULL};
	static int64_t all[THREADS * PER_THREAD];
	store *s2 = NULL;
	bg_err e;
	int i;

	/* Two stores and logs on one file behave like two processes: the chain head is
	 * read inside each transaction, so neither forks the chain. */
	assert_int_equal(store_open(datadir, false, &s2, &e), 0);
	assert_int_equal(audit_open(s2, &logs[1], &e), 0);
	run_workers(logs, 2, all);
	qsort(all, THREADS * PER_THREAD, sizeof(all[0]), cmp64);
	for (i = 0; i < THREADS * PER_THREAD; i++)
		assert_int_equal(all[i], i + 1);
	check_chain(logs[1], THREADS * PER_THREAD, NULL);
	audit_free(logs[1]);
	store_free(s2);
}

static void test_reopen(void **state)
{
	audit_log *a = *state;
	int64_t seq;
	bg_err e;
	int i;

	for (i = 0; i < 5; i++)
		assert_int_equal(append_simple(a, "grant", &seq), 0);
	audit_free(a);
	*state = NULL;
	assert_int_equal(audit_open(the_store, &a, &e), 0);
	*state = a;
	assert_int_equal(append_simple(a, "revoke", &seq), 0);
	assert_int_equal(seq, 6);
	check_chain(a, 6, NULL);
	/* audit_free flushes: a record appended just before it is there after reopening
	 * the store and the log. */
	assert_int_equal(append_simple(a, "creds", &seq), 0);
	audit_free(a);
	*state = NULL;
	store_free(the_store);
	assert_int_equal(store_open(datadir, false, &the_store, &e), 0);
	assert_int_equal(audit_open(the_store, &a, &e), 0);
	*state = a;
	check_chain(a, 7, NULL);
}

/* The log checkpoints itself (automatic checkpoints are off on its connection): after
 * four checkpoint periods of single-record commits the WAL holds at most one period's
 * frames (about 4 MiB here), not every commit's (about 17 MiB), and the chain is intact. */
static void test_wal_stays_bounded(void **state)
{
	audit_log *a = *state;
	char walpath[200];
	struct stat st;
	int64_t seq = 0;
	int i;

	for (i = 0; i < 2048; i++)
		assert_int_equal(append_simple(a, "request", &seq), 0);
	assert_int_equal(seq, 2048);
	snprintf(walpath, sizeof(walpath), "%s-wal", dbpath);
	assert_int_equal(stat(walpath, &st), 0);
	assert_true(st.st_size < 8 * 1024 * 1024);
	check_chain(a, 2048, NULL);
}

struct blocked {
	audit_log *a;
	int rc;
	int64_t seq;
	double seconds;
};

static void *blocked_append(void *arg)
{
	struct blocked *b = arg;
	struct timespec t0, t1;
	audit_record r = {0};
	bg_err e;

	r.kind = "request";
	clock_gettime(CLOCK_MONOTONIC, &t0);
	b->rc = audit_append(b->a, &r, &b->seq, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	b->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return NULL;
}

static void test_locked_database_fails_closed(void **state)
{
	audit_log *a = *state;
	struct blocked b;
	pthread_t t;
	audit_stats st;
	sqlite3 *db;
	int64_t seq;

	assert_int_equal(append_simple(a, "init", &seq), 0);
	assert_int_equal(seq, 1);
	/* Another process holds the write lock longer than the busy timeout (5 s). */
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	b = (struct blocked){a, 0, 0, 0};
	assert_int_equal(pthread_create(&t, NULL, blocked_append, &b), 0);
	pthread_join(t, NULL);
	assert_int_equal(b.rc, BG_EIO);
	assert_true(b.seconds >= 4.0);
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	audit_get_stats(a, &st);
	assert_int_equal(st.failed_batches, 1);
	/* Nothing of the failed batch was kept, and the chain goes on without a gap. */
	assert_int_equal(append_simple(a, "request", &seq), 0);
	assert_int_equal(seq, 2);
	check_chain(a, 2, NULL);
}

static void *failing_appender(void *arg)
{
	struct blocked *b = arg;
	audit_record r = {0};
	bg_err e;
	int i;

	r.kind = "request";
	for (i = 0; i < 20; i++)
		if (audit_append(b->a, &r, &b->seq, &e) != BG_EIO)
			b->rc = -1;
	return NULL;
}

static void test_dropped_table_fails_closed(void **state)
{
	audit_log *a = *state;
	struct blocked b[8];
	pthread_t t[8];
	int64_t seq = 0;
	audit_stats st;
	bg_err e;
	audit_record r = {0};
	int i;

	assert_int_equal(append_simple(a, "init", &seq), 0);
	ut_sql(dbpath, "DROP TABLE audit");
	r.kind = "request";
	seq = 0;
	assert_int_equal(audit_append(a, &r, &seq, &e), BG_EIO);
	assert_int_equal(seq, 0);
	assert_non_null(strstr(e.msg, "audit"));
	/* Every caller of every batch hears about it. */
	for (i = 0; i < 8; i++) {
		b[i] = (struct blocked){a, 0, 0, 0};
		assert_int_equal(pthread_create(&t[i], NULL, failing_appender, &b[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(b[i].rc, 0);
	}
	audit_get_stats(a, &st);
	assert_int_equal(st.records, 1);
	assert_true(st.failed_batches >= 2);
}

static void test_tamper_detected(void **state)
{
	audit_log *a = *state;
	int64_t seq, n = 0, bad = 0;
	sqlite3 *db;
	bg_err e;
	int i;

	for (i = 0; i < 5; i++)
		assert_int_equal(append_simple(a, "request", &seq), 0);
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	/* Append-only through SQL. */
	assert_int_not_equal(
	    sqlite3_exec(db, "UPDATE audit SET actor = 'eve' WHERE seq = 3", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit WHERE seq = 3", NULL, NULL, NULL),
	                     SQLITE_OK);
	/* Someone with the file removes the guard and edits a record. */
	assert_int_equal(sqlite3_exec(db,
	                              "DROP TRIGGER audit_no_update;"
	                              "UPDATE audit SET actor = 'eve' WHERE seq = 3",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(audit_verify(a, &n, &bad, &e), BG_EINVAL);
	assert_int_equal(bad, 3);
	assert_non_null(strstr(e.msg, "seq 3"));
	/* Restored, but record 4 deleted: the gap is found at 5. */
	assert_int_equal(sqlite3_exec(db,
	                              "UPDATE audit SET actor = 'alice' WHERE seq = 3;"
	                              "DROP TRIGGER audit_no_delete;"
	                              "DELETE FROM audit WHERE seq = 4",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(audit_verify(a, &n, &bad, &e), BG_EINVAL);
	assert_int_equal(bad, 5);
	sqlite3_close(db);
}

static void test_no_store(void **state)
{
	audit_log *a2 = NULL;
	bg_err e;

	(void)state;
	assert_int_equal(audit_open(NULL, &a2, &e), BG_EINVAL);
	assert_null(a2);
	audit_free(NULL);
}

/* --- records inside the caller's transaction ------------------------------------------- */

static int add_user(store_tx *tx, const char *name, bg_err *e)
{
	uint8_t hash[32], seed[16];

	memset(hash, 0, sizeof(hash));
	memset(seed, 1, sizeof(seed));
	snprintf((char *)hash, sizeof(hash), "%s", name);
	return store_user_add(tx, name, "responder", hash, seed, e);
}

static bool user_exists(store *s, const char *name)
{
	store_user u;
	bg_err e;

	return store_user_by_name(s, name, &u, &e) == 0;
}

/* A record's charge is added to its grant's spent capacity with the record: committed
 * together by the committer and by audit_append_tx, gone together on rollback. */
static void test_charge_with_record(void **state)
{
	audit_log *a = *state;
	audit_charge c = {NULL, 2.5, 0}, rc = {"orders-by-customer", 0.5, 1};
	audit_record r = {0};
	store_tx *tx;
	int64_t seq = 0;
	double t[4];
	bg_err e;

	r.kind = "response";
	r.grant_id = "bg-G1";
	r.charge = &c;
	assert_int_equal(audit_append(a, &r, &seq, &e), 0);
	r.charge = &rc;
	assert_int_equal(audit_append(a, &r, &seq, &e), 0);
	ut_spent(the_store, "bg-G1", t);
	assert_true(t[0] == 2.5 && t[1] == 0 && t[2] == 0.5 && t[3] == 1);

	/* In a caller's transaction: rolled back, neither the record nor the charge. */
	assert_int_equal(store_begin(the_store, &tx, &e), 0);
	assert_int_equal(audit_append_tx(a, tx, &r, &seq, &e), 0);
	store_rollback(tx);
	ut_spent(the_store, "bg-G1", t);
	assert_true(t[2] == 0.5 && t[3] == 1);
	check_chain(a, 2, NULL);

	/* A charge needs the grant it charges, and amounts >= 0. */
	r.grant_id = NULL;
	assert_int_equal(audit_append(a, &r, &seq, &e), BG_EINVAL);
	r.grant_id = "bg-G1";
	rc.read = -1;
	assert_int_equal(audit_append(a, &r, &seq, &e), BG_EINVAL);
	rc.read = INFINITY;
	assert_int_equal(audit_append(a, &r, &seq, &e), BG_EINVAL);
	check_chain(a, 2, NULL);
}

static void test_append_tx(void **state)
{
	audit_log *a = *state;
	json_t *records = json_array(), *detail = json_pack("{s:s}", "name", "carol");
	audit_record r = {0};
	store_tx *tx;
	int64_t seq = 0;
	bg_err e;

	assert_int_equal(append_simple(a, "init", &seq), 0);

	/* Rolled back: the change and its record are both gone, and the chain goes on
	 * without a gap. */
	r.kind = "user";
	r.actor = "alice";
	r.detail = detail;
	assert_int_equal(store_begin(the_store, &tx, &e), 0);
	assert_int_equal(add_user(tx, "carol", &e), 0);
	assert_int_equal(audit_append_tx(a, tx, &r, &seq, &e), 0);
	assert_int_equal(seq, 2);
	store_rollback(tx);
	assert_false(user_exists(the_store, "carol"));
	check_chain(a, 1, NULL);

	/* Committed: both are there; the record holds what it was given. */
	assert_int_equal(store_begin(the_store, &tx, &e), 0);
	assert_int_equal(add_user(tx, "carol", &e), 0);
	assert_int_equal(audit_append_tx(a, tx, &r, &seq, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	assert_int_equal(seq, 2);
	assert_true(user_exists(the_store, "carol"));
	assert_int_equal(append_simple(a, "request", &seq), 0);
	assert_int_equal(seq, 3);
	check_chain(a, 3, records);
	assert_true(json_equal(json_object_get(json_array_get(records, 1), "detail"), detail));

	/* Bad input is refused before the transaction is touched. */
	assert_int_equal(store_begin(the_store, &tx, &e), 0);
	r.kind = NULL;
	assert_int_equal(audit_append_tx(a, tx, &r, &seq, &e), BG_EINVAL);
	r.kind = "user";
	assert_int_equal(audit_append_tx(a, NULL, &r, &seq, &e), BG_EINVAL);
	assert_int_equal(store_commit(tx, &e), 0);
	json_decref(detail);
	json_decref(records);
}

/* A record that cannot be inserted fails its transaction: the state change made before
 * it in the same transaction is rolled back with it. */
static void test_append_tx_failure_rolls_back(void **state)
{
	audit_log *a = *state;
	audit_record r = {0};
	store_tx *tx;
	int64_t seq;
	bg_err e;

	assert_int_equal(append_simple(a, "init", &seq), 0);
	ut_sql(dbpath, "CREATE TRIGGER audit_broken BEFORE INSERT ON audit "
	               "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;");
	r.kind = "user";
	assert_int_equal(store_begin(the_store, &tx, &e), 0);
	assert_int_equal(add_user(tx, "dave", &e), 0);
	assert_int_not_equal(audit_append_tx(a, tx, &r, &seq, &e), 0);
	assert_non_null(strstr(e.msg, "disk on fire"));
	/* The transaction has failed: it can only be rolled back. */
	assert_int_not_equal(store_commit(tx, &e), 0);
	ut_sql(dbpath, "DROP TRIGGER audit_broken;");
	assert_false(user_exists(the_store, "dave"));
	check_chain(a, 1, NULL);
}

/* The change and its record, then the process dies: before the commit neither is kept,
 * after it both are, and the chain verifies either way. */
static void crash_child(bool commit, int ready_fd)
{
	audit_record r = {0};
	audit_log *a = NULL;
	store *s = NULL;
	store_tx *tx;
	bg_err e;

	r.kind = "user";
	r.actor = "alice";
	if (store_open(datadir, false, &s, &e) != 0 || audit_open(s, &a, &e) != 0 ||
	    store_begin(s, &tx, &e) != 0 || add_user(tx, commit ? "kept" : "lost", &e) != 0 ||
	    audit_append_tx(a, tx, &r, NULL, &e) != 0 || (commit && store_commit(tx, &e) != 0))
		_exit(2);
	if (write(ready_fd, "x", 1) != 1)
		_exit(3);
	for (;;)
		pause(); /* killed here, the transaction open or committed */
}

static void crash_after(bool commit)
{
	int fds[2], status;
	char c;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		crash_child(commit, fds[1]);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void test_crash_keeps_change_and_record_together(void **state)
{
	audit_log *a = *state;
	int64_t seq;

	assert_int_equal(append_simple(a, "init", &seq), 0);
	crash_after(false);
	assert_false(user_exists(the_store, "lost"));
	check_chain(a, 1, NULL);
	crash_after(true);
	assert_true(user_exists(the_store, "kept"));
	check_chain(a, 2, NULL);
	assert_int_equal(append_simple(a, "request", &seq), 0);
	assert_int_equal(seq, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_one_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nulls_and_odd_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escaping_matches_jansson, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_appends, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_held_then_flushed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_writers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wal_stays_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_locked_database_fails_closed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dropped_table_fails_closed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tamper_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_store, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_append_tx, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_charge_with_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_append_tx_failure_rolls_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_keeps_change_and_record_together, setup,
	                                    teardown),
	};

	if (getenv("TEST_FILTER") != NULL) /* e.g. TEST_FILTER='*reopen*' */
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
