/*
 * test_sinks.c - the audit sinks (audit/sinks.h) with the JSON lines transport
 * (sink_jsonl.c), on a real store and audit log in a temporary folder:
 *   - the transport: lines as given, resume from the file's last seq (or the newest
 *     rotated file's), rotation by size into PATH.1, PATH.2 with nothing lost, a torn
 *     last line cut, a file that is not a trail refused and left alone, a failed delivery
 *     repeated without duplicates;
 *   - the framework: a required sink holds each record by the time audit_append returns;
 *     a required sink that cannot write fails the append (the record stays in the store);
 *     a best-effort one that cannot write does not, shows its failure, and catches up
 *     once it can; records of service transactions (audit_append_tx) arrive too; the
 *     cursor is saved on stop; a destination ahead of the store is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/sink.h"
#include "audit/sinks.h"
#include "store/store.h"

static char tmpdir[64];
static char path[160];

typedef struct fix {
	store *st;
	audit_log *a;
} fix;

static int setup(void **state)
{
	char data[128];
	fix *f = calloc(1, sizeof(*f));
	bg_err e;

	if (f == NULL || ut_tmpdir(tmpdir, sizeof(tmpdir), "sinks") != 0)
		return -1;
	snprintf(data, sizeof(data), "%s/data", tmpdir);
	snprintf(path, sizeof(path), "%s/audit.jsonl", tmpdir);
	if (store_open(data, true, &f->st, &e) != 0 || audit_open(f->st, &f->a, &e) != 0) {
		fprintf(stderr, "setup: %s\n", e.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fix *f = *state;

	audit_free(f->a);
	store_free(f->st);
	free(f);
	ut_rm_tree(tmpdir);
	return 0;
}

static char *slurp(const char *p)
{
	FILE *fp = fopen(p, "rb");
	char *buf;
	long n;

	if (fp == NULL)
		return strdup("");
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

/* The seqs of the lines of file p, in order, into seqs (at most cap); returns how many. */
static size_t file_seqs(const char *p, int64_t *seqs, size_t cap)
{
	char *text = slurp(p), *line, *save = NULL;
	size_t n = 0;

	for (line = strtok_r(text, "\n", &save); line != NULL && n < cap;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);

		assert_non_null(o);
		seqs[n++] = json_integer_value(json_object_get(o, "seq"));
		json_decref(o);
	}
	free(text);
	return n;
}

/* --- the transport alone ----------------------------------------------------------------- */

/* Records with seqs from..to, each about `pad` bytes long. */
static void make_recs(sink_rec *r, char lines[][256], int64_t from, int64_t to, int pad)
{
	int64_t s;

	for (s = from; s <= to; s++) {
		size_t i = (size_t)(s - from);

		snprintf(lines[i], 256, "{\"seq\":%lld,\"kind\":\"request\",\"pad\":\"%*s\"}",
		         (long long)s, pad, "");
		r[i] = (sink_rec){s, 1764633600000 + s, "request", lines[i], strlen(lines[i])};
	}
}

static void test_jsonl_transport(void **state)
{
	sink_conf c = {.type = SINK_JSONL, .path = path, .max_bytes = 200};
	sink_rec r[8];
	char lines[8][256], rotated[200];
	int64_t seqs[32];
	void *self = NULL;
	size_t acc = 0, n;
	struct stat st;
	bg_err e;

	(void)state;
	assert_int_equal(sink_jsonl_ops.open(&c, &self, &e), 0);
	assert_int_equal(sink_jsonl_ops.resume(self, &e), 0); /* no file yet */
	/* Two batches of ~60-byte records: the second would pass 200 bytes: rotation. */
	make_recs(r, lines, 1, 3, 20);
	assert_int_equal(sink_jsonl_ops.deliver(self, r, 3, &acc, &e), 0);
	assert_int_equal(acc, 3);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	make_recs(r, lines, 4, 6, 20);
	assert_int_equal(sink_jsonl_ops.deliver(self, r, 3, &acc, &e), 0);
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	n = file_seqs(rotated, seqs, 32);
	assert_int_equal(n, 3);
	assert_int_equal(seqs[0], 1);
	assert_int_equal(seqs[2], 3);
	n = file_seqs(path, seqs, 32);
	assert_int_equal(n, 3);
	assert_int_equal(seqs[0], 4);
	/* A record delivered again (a batch that failed half written) is not written twice. */
	make_recs(r, lines, 5, 7, 20);
	assert_int_equal(sink_jsonl_ops.deliver(self, r, 3, &acc, &e), 0);
	assert_int_equal(acc, 3);
	make_recs(r, lines, 8, 8, 20);
	assert_int_equal(sink_jsonl_ops.deliver(self, r, 1, &acc, &e), 0);
	sink_jsonl_ops.close(self);
	/* 7 would have taken 4..6's file past 200 bytes: it rotated to .2. */
	snprintf(rotated, sizeof(rotated), "%s.2", path);
	n = file_seqs(rotated, seqs, 32);
	assert_int_equal(n, 3);
	assert_int_equal(seqs[2], 6);
	n = file_seqs(path, seqs, 32);
	assert_int_equal(n, 2);
	assert_int_equal(seqs[0], 7);
	assert_int_equal(seqs[1], 8);

	/* Resume: the current file's last seq; with it empty, the newest rotated file's. */
	assert_int_equal(sink_jsonl_ops.open(&c, &self, &e), 0);
	assert_int_equal(sink_jsonl_ops.resume(self, &e), 8);
	sink_jsonl_ops.close(self);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(sink_jsonl_ops.open(&c, &self, &e), 0);
	assert_int_equal(sink_jsonl_ops.resume(self, &e), 6);
	sink_jsonl_ops.close(self);

	/* Moved away by someone else: the next delivery starts a file at the path again. */
	c.max_bytes = 0;
	snprintf(rotated, sizeof(rotated), "%s.moved", path);
	assert_int_equal(sink_jsonl_ops.open(&c, &self, &e), 0);
	make_recs(r, lines, 9, 9, 20);
	assert_int_equal(sink_jsonl_ops.deliver(self, r, 1, &acc, &e), 0);
	assert_int_equal(rename(path, rotated), 0);
	make_recs(r, lines, 10, 10, 20);
	assert_int_equal(sink_jsonl_ops.deliver(self, r, 1, &acc, &e), 0);
	sink_jsonl_ops.close(self);
	n = file_seqs(path, seqs, 32);
	assert_int_equal(n, 1);
	assert_int_equal(seqs[0], 10);
	assert_int_equal(file_seqs(rotated, seqs, 32), 1);
	assert_int_equal(seqs[0], 9);
}

static void test_jsonl_torn_and_foreign(void **state)
{
	sink_conf c = {.type = SINK_JSONL, .path = path};
	sink_rec r[4];
	char lines[4][256], *text;
	int64_t seqs[8];
	void *self = NULL;
	size_t acc;
	FILE *fp;
	bg_err e;

	(void)state;
	assert_int_equal(sink_jsonl_ops.open(&c, &self, &e), 0);
	make_recs(r, lines, 1, 2, 4);
	assert_int_equal(sink_jsonl_ops.deliver(self, r, 2, &acc, &e), 0);
	sink_jsonl_ops.close(self);
	/* A crash in the middle of the third record's line. */
	fp = fopen(path, "ab");
	assert_non_null(fp);
	fputs("{\"seq\":3,\"kind\":\"req", fp);
	fclose(fp);
	assert_int_equal(sink_jsonl_ops.open(&c, &self, &e), 0);
	assert_int_equal(sink_jsonl_ops.resume(self, &e), 2);
	make_recs(r, lines, 3, 4, 4);
	assert_int_equal(sink_jsonl_ops.deliver(self, r, 2, &acc, &e), 0);
	sink_jsonl_ops.close(self);
	assert_int_equal(file_seqs(path, seqs, 8), 4);
	assert_int_equal(seqs[2], 3);
	assert_int_equal(seqs[3], 4);

	/* A file that is not a trail: refused, left as it was. */
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("hello\nworld\n", fp);
	fclose(fp);
	assert_int_equal(sink_jsonl_ops.open(&c, &self, &e), 0);
	assert_int_equal(sink_jsonl_ops.resume(self, &e), -1);
	assert_non_null(strstr(e.msg, "not an audit record"));
	assert_int_not_equal(sink_jsonl_ops.deliver(self, r, 2, &acc, &e), 0);
	assert_int_equal(acc, 0);
	sink_jsonl_ops.close(self);
	text = slurp(path);
	assert_string_equal(text, "hello\nworld\n");
	free(text);
}

/* --- the framework ----------------------------------------------------------------------- */

static int append(audit_log *a, const char *kind, int64_t *seq, bg_err *e)
{
	audit_record r = {0};

	r.kind = kind;
	r.actor = "alice";
	r.op = "GetItem";
	return audit_append(a, &r, seq, e);
}

/* Waits (up to 15 s) until the sink's state says it has delivered seq. */
static bool wait_delivered(audit_sinks *s, size_t i, int64_t seq)
{
	audit_sink_state st[BG_MAX_SINKS];
	int k;

	for (k = 0; k < 1500; k++) {
		if (audit_sinks_state(s, st, BG_MAX_SINKS) > i && st[i].delivered >= seq)
			return true;
		usleep(10000);
	}
	return false;
}

typedef struct found_kind {
	const char *kind;
	int n;
} found_kind;

static int find_kind(void *ctx, json_t *rec)
{
	found_kind *fk = ctx;
	const char *k = json_string_value(json_object_get(rec, "kind"));

	fk->n += k != NULL && strcmp(k, fk->kind) == 0;
	return 0;
}

static void test_required_gate(void **state)
{
	fix *f = *state;
	sink_conf c = {.type = SINK_JSONL, .required = true, .path = path};
	audit_sink_state st[BG_MAX_SINKS];
	audit_sinks *s = NULL;
	int64_t seq = 0, seqs[64], saved = 0;
	bg_err e;
	int i;

	assert_int_equal(audit_sinks_start(f->a, f->st, &c, 1, &s, &e), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(append(f->a, "request", &seq, &e), 0);
		/* Required: in the file by the time the append returns. */
		assert_int_equal(file_seqs(path, seqs, 64), (size_t)seq);
		assert_int_equal(seqs[seq - 1], seq);
	}
	assert_int_equal(audit_sinks_state(s, st, BG_MAX_SINKS), 1);
	assert_true(st[0].required);
	assert_true(st[0].up);
	assert_string_equal(st[0].type, "jsonl");
	assert_non_null(strstr(st[0].name, "jsonl:"));
	audit_sinks_free(s);
	assert_int_equal(store_sink_cursor_get(f->st, st[0].name, &saved, &e), 0);
	assert_int_equal(saved, seq);

	/* A required sink that cannot write: the append fails, the record is kept. */
	c.path = "/dev/full";
	assert_int_equal(audit_sinks_start(f->a, f->st, &c, 1, &s, &e), 0);
	assert_int_equal(append(f->a, "request", &seq, &e), BG_EIO);
	assert_non_null(strstr(e.msg, "required audit sink jsonl:/dev/full"));
	assert_non_null(strstr(e.msg, "No space left on device"));
	audit_sinks_state(s, st, BG_MAX_SINKS);
	assert_false(st[0].up);
	assert_true(st[0].failures >= 1);
	/* State changes (the service layer asks first) are refused meanwhile. */
	assert_int_equal(audit_ready(f->a, &e), BG_EIO);
	assert_non_null(strstr(e.msg, "required audit sink jsonl:/dev/full cannot take records"));
	audit_sinks_free(s);
	assert_int_equal(audit_ready(f->a, &e), 0);
	assert_int_equal(append(f->a, "request", &seq, &e), 0); /* no gate once stopped */
	assert_int_equal(seq, 7);                               /* 6 was kept */

	/* A cursor past the store's head (a store replaced or cut short): on the record. */
	{
		char p2[200], name[256];
		sink_conf c2 = {.type = SINK_JSONL, .required = false, .path = p2};
		store_tx *tx;
		found_kind fk = {"sink-rewound", 0};

		snprintf(p2, sizeof(p2), "%s/other.jsonl", tmpdir);
		assert_int_equal(audit_sinks_name(&c2, name, sizeof(name), &e), 0);
		assert_int_equal(store_begin(f->st, &tx, &e), 0);
		assert_int_equal(store_sink_cursor_set(tx, name, 1000, &e), 0);
		assert_int_equal(store_commit(tx, &e), 0);
		assert_int_equal(audit_sinks_start(f->a, f->st, &c2, 1, &s, &e), 0);
		audit_sinks_free(s);
		assert_int_equal(audit_read(f->a, 0, 100, find_kind, &fk, &e), 0);
		assert_int_equal(fk.n, 1);
	}
}

static void test_best_effort_backlog(void **state)
{
	fix *f = *state;
	char dir[128], p[200], name[256];
	sink_conf c = {.type = SINK_JSONL, .required = false, .path = p};
	audit_sink_state st[BG_MAX_SINKS];
	audit_sinks *s = NULL;
	audit_record r = {0};
	int64_t seq = 0, seqs[64];
	store_tx *tx;
	bg_err e;
	int i;

	snprintf(dir, sizeof(dir), "%s/later", tmpdir);
	snprintf(p, sizeof(p), "%s/copy.jsonl", dir);
	assert_int_equal(audit_sinks_start(f->a, f->st, &c, 1, &s, &e), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(append(f->a, "request", &seq, &e), 0); /* never held up */
	/* A service transaction's record, outside the committer. */
	r.kind = "grant";
	assert_int_equal(store_begin(f->st, &tx, &e), 0);
	assert_int_equal(audit_append_tx(f->a, tx, &r, &seq, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);
	for (i = 0; i < 200; i++) { /* the first attempt fails: its folder is missing */
		audit_sinks_state(s, st, BG_MAX_SINKS);
		if (!st[0].up)
			break;
		usleep(10000);
	}
	assert_false(st[0].up);
	assert_non_null(strstr(st[0].last_error, "No such file or directory"));
	assert_int_equal(st[0].delivered, 0);
	/* The folder appears: the backlog goes out, the transaction's record with it. */
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_true(wait_delivered(s, 0, seq));
	assert_int_equal(file_seqs(p, seqs, 64), (size_t)seq);
	assert_int_equal(seqs[seq - 1], seq);
	audit_sinks_state(s, st, BG_MAX_SINKS);
	assert_true(st[0].up);
	assert_string_equal(st[0].last_error, "");
	audit_sinks_free(s);

	/* Restarted with two more records meanwhile: exactly those follow. */
	assert_int_equal(append(f->a, "request", &seq, &e), 0);
	assert_int_equal(append(f->a, "request", &seq, &e), 0);
	assert_int_equal(audit_sinks_start(f->a, f->st, &c, 1, &s, &e), 0);
	assert_true(wait_delivered(s, 0, seq));
	audit_sinks_free(s);
	assert_int_equal(file_seqs(p, seqs, 64), (size_t)seq);
	for (i = 0; i < seq; i++)
		assert_int_equal(seqs[i], i + 1);

	/* A copy ahead of the store is another trail's: refused at start. */
	assert_int_equal(audit_sinks_name(&c, name, sizeof(name), &e), 0);
	{
		FILE *fp = fopen(p, "ab");
		assert_non_null(fp);
		fprintf(fp, "{\"seq\":%lld,\"kind\":\"request\"}\n", (long long)seq + 100);
		fclose(fp);
	}
	assert_int_equal(audit_sinks_start(f->a, f->st, &c, 1, &s, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "another trail's copy"));
	assert_null(s);
}

/* Stopping the sinks while callers append through a required one: the gate returns,
 * the committer leaves it before the sinks are freed (ASan watches), and the log goes
 * on without them. */
typedef struct appender {
	audit_log *a;
	volatile int stop;
	int ok, failed;
} appender;

static void *append_loop(void *arg)
{
	appender *p = arg;
	int64_t seq;
	bg_err e;

	while (!p->stop) {
		if (append(p->a, "request", &seq, &e) == 0)
			p->ok++;
		else
			p->failed++;
	}
	return NULL;
}

static void test_stop_while_appending(void **state)
{
	fix *f = *state;
	sink_conf c = {.type = SINK_JSONL, .required = true, .path = path};
	appender ap[4];
	pthread_t th[4];
	audit_sinks *s = NULL;
	int64_t seq;
	bg_err e;
	int i, round;

	for (round = 0; round < 3; round++) {
		assert_int_equal(audit_sinks_start(f->a, f->st, &c, 1, &s, &e), 0);
		for (i = 0; i < 4; i++) {
			ap[i] = (appender){.a = f->a};
			assert_int_equal(pthread_create(&th[i], NULL, append_loop, &ap[i]), 0);
		}
		usleep(50000);
		audit_sinks_free(s);
		usleep(10000);
		for (i = 0; i < 4; i++) {
			ap[i].stop = 1;
			pthread_join(th[i], NULL);
			assert_true(ap[i].ok > 0);
		}
	}
	assert_int_equal(append(f->a, "request", &seq, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_jsonl_transport, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_jsonl_torn_and_foreign, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_required_gate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_best_effort_backlog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_while_appending, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
