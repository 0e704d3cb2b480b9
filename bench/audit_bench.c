/*
 * audit_bench.c - how fast durable audit appends are, next to the disk's own limit.
 *
 * Write-ahead logging costs at least one fdatasync per commit, so the baseline printed
 * first is how many fdatasyncs per second the disk does on a small file. Then
 * audit_append() runs from 1 thread (every record pays a full commit) and from 32
 * threads (group commit: records arriving during a sync share the next one), printing
 * records/s, per-append latency percentiles, records per commit, CPU per record and the
 * disk's write requests and flushes per commit; then 32 asynchronous callers shaped like
 * the gateway (two loops with 16 records in flight each, audit_submit_held() and one
 * audit_flush() per wake-up, completions handed back to the loop); then from 32 threads
 * once more with a
 * stand-in for a required sink (a gate that syncs a file of its own per batch). Finally
 * the whole chain is verified, against the `audit verify` target of 200,000 records/s.
 *
 *   audit_bench [DIR [SECONDS]]   DIR defaults to $TMPDIR or /var/tmp (use a real disk:
 *                                  on tmpfs fdatasync is free and the numbers mean little)
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "store/store.h"

#define TMPFS_MAGIC_ 0x01021994

static atomic_bool stop_flag;

/* The block device's request counters (/sys/dev/block/M:N/stat: write requests, which
 * count cache flushes too, and flushes), so a phase can say how many requests the disk
 * got per commit. Other processes on the same disk count too: read them on a quiet disk. */
static char disk_stat[128];

static bool disk_counts(long long *writes, long long *flushes)
{
	long long v[17] = {0};
	FILE *f;
	int n;

	if (disk_stat[0] == '\0' || (f = fopen(disk_stat, "r")) == NULL)
		return false;
	n = fscanf(
	    f,
	    "%lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld",
	    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11],
	    &v[12], &v[13], &v[14], &v[15], &v[16]);
	fclose(f);
	if (n < 17)
		return false;
	*writes = v[4];
	*flushes = v[15];
	return true;
}

/* Seconds on clock c: CLOCK_MONOTONIC for time, CLOCK_PROCESS_CPUTIME_ID for the CPU
 * every thread of the process has used. */
static double clock_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define now_s() clock_s(CLOCK_MONOTONIC)
#define cpu_s() clock_s(CLOCK_PROCESS_CPUTIME_ID)

/* Latency samples in microseconds, grown as needed. */
typedef struct samples {
	double *v;
	size_t n, cap;
} samples;

static int samples_add(samples *s, double us)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 4096;
		double *nv = realloc(s->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return -1;
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n++] = us;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(samples *s, double p)
{
	size_t i;

	if (s->n == 0)
		return 0;
	i = (size_t)(p * (double)(s->n - 1));
	return s->v[i];
}

static void fdatasync_baseline(const char *dir, double seconds)
{
	char path[4096], block[64];
	long long w0 = 0, f0 = 0, w1 = 0, f1 = 0;
	bool have_disk;
	samples s = {0};
	double t0, t, end;
	int fd;

	snprintf(path, sizeof(path), "%s/fdatasync.probe", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		fprintf(stderr, "audit_bench: %s: %s\n", path, strerror(errno));
		return;
	}
	memset(block, 'x', sizeof(block));
	have_disk = disk_counts(&w0, &f0);
	/* Like a WAL commit: a small write, then make it durable. */
	end = now_s() + seconds;
	while ((t0 = now_s()) < end) {
		if (pwrite(fd, block, sizeof(block), (off_t)((s.n % 64) * sizeof(block))) < 0 ||
		    fdatasync(fd) != 0) {
			fprintf(stderr, "audit_bench: fdatasync: %s\n", strerror(errno));
			break;
		}
		t = now_s();
		if (samples_add(&s, (t - t0) * 1e6) != 0)
			break;
	}
	have_disk = have_disk && disk_counts(&w1, &f1) && s.n > 0;
	close(fd);
	unlink(path);
	qsort(s.v, s.n, sizeof(double), cmp_double);
	printf("fdatasync baseline: %.0f syncs/s, p50 %.0f us, p99 %.0f us", (double)s.n / seconds,
	       pct(&s, 0.50), pct(&s, 0.99));
	if (have_disk)
		printf(", disk: %.2f writes and %.2f flushes per sync",
		       (double)(w1 - w0) / (double)s.n, (double)(f1 - f0) / (double)s.n);
	printf("\n");
	free(s.v);
}

/* Records in flight per asynchronous caller loop (see loop_main). */
#define LOOP_INFLIGHT 16

typedef struct worker worker;

/* An asynchronous caller's record in flight. */
typedef struct slot {
	worker *w;
	struct slot *next;
	double t0;
	int rc;
} slot;

struct worker {
	audit_log *a;
	int id;
	long n; /* records made so far */
	samples lat;
	long failures;
	/* Asynchronous callers only: completions handed back by the committer. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	slot *done; /* completed, not yet taken by the loop */
	bool waiting;
	slot slots[LOOP_INFLIGHT];
};

/* The next record of w, of realistic shape (a request or a response); *detail is the
 * caller's to free. */
static void next_record(worker *w, audit_record *r, char rid[48], json_t **detail)
{
	long i = w->n++;

	memset(r, 0, sizeof(*r));
	snprintf(rid, 48, "bench-%d-%ld", w->id, i);
	*detail =
	    json_pack("{s:s, s:i, s:s, s:{s:s}}", "target", "DynamoDB_20120810.Query", "body_bytes",
	              212, "template", "orders-by-customer@3f9a1c", "params", "customer", "C-1042");
	r->kind = i % 2 ? "response" : "request";
	r->actor = "oncall.alice";
	r->grant_id = "bg-7Q2M4K9XZA";
	r->request_id = rid;
	r->op = "Query";
	r->tables = "Orders";
	r->decision = "allow";
	r->status = i % 2 ? 200 : 0;
	r->detail = *detail;
}

/* A blocking caller: audit_append() and wait, again and again. */
static void *worker_main(void *arg)
{
	worker *w = arg;
	audit_record r;
	char rid[48];
	json_t *detail;
	bg_err e;

	while (!atomic_load(&stop_flag)) {
		double t0, t1;
		int64_t seq;
		int rc;

		next_record(w, &r, rid, &detail);
		t0 = now_s();
		rc = audit_append(w->a, &r, &seq, &e);
		t1 = now_s();
		json_decref(detail);
		if (rc != 0) {
			w->failures++;
			continue;
		}
		if (samples_add(&w->lat, (t1 - t0) * 1e6) != 0)
			break;
	}
	return NULL;
}

/* On the committer thread, as the gateway's audit_completed(): hand the slot back to its
 * loop, waking it only if it sleeps. */
static void slot_done(void *arg, int rc, int64_t seq, const bg_err *e)
{
	slot *sl = arg;
	worker *w = sl->w;

	(void)seq;
	(void)e;
	sl->rc = rc;
	pthread_mutex_lock(&w->mu);
	sl->next = w->done;
	w->done = sl;
	if (w->waiting)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static bool slot_submit(worker *w, slot *sl)
{
	audit_record r;
	char rid[48];
	json_t *detail;
	bg_err e;
	int rc;

	next_record(w, &r, rid, &detail);
	sl->t0 = now_s();
	rc = audit_submit_held(w->a, &r, slot_done, sl, &e);
	json_decref(detail);
	if (rc != 0)
		w->failures++;
	return rc == 0;
}

/* An asynchronous caller shaped like one of the gateway's event loops: it keeps
 * LOOP_INFLIGHT records queued or committing, takes every completion there is at each
 * wake-up, queues the next records for them held and wakes the committer once
 * (audit_submit_held() + audit_flush(), as a loop turn does). */
static void *loop_main(void *arg)
{
	worker *w = arg;
	int i, inflight = 0;

	for (i = 0; i < LOOP_INFLIGHT; i++)
		inflight += slot_submit(w, &w->slots[i]);
	audit_flush(w->a);
	while (inflight > 0) {
		slot *got;
		bool stopping = atomic_load(&stop_flag);

		pthread_mutex_lock(&w->mu);
		while (w->done == NULL) {
			w->waiting = true;
			pthread_cond_wait(&w->cv, &w->mu);
		}
		w->waiting = false;
		got = w->done;
		w->done = NULL;
		pthread_mutex_unlock(&w->mu);
		while (got != NULL) {
			slot *sl = got;
			got = got->next;
			inflight--;
			if (sl->rc != 0)
				w->failures++;
			else if (samples_add(&w->lat, (now_s() - sl->t0) * 1e6) != 0)
				stopping = true;
			if (!stopping)
				inflight += slot_submit(w, sl);
		}
		audit_flush(w->a);
	}
	return NULL;
}

/* nthreads blocking callers, or (loops) nthreads asynchronous caller loops with
 * LOOP_INFLIGHT records in flight each; prints what they achieved. */
static int run(audit_log *a, int nthreads, bool loops, double seconds, const char *what)
{
	worker *w = calloc((size_t)nthreads, sizeof(*w));
	pthread_t *t = calloc((size_t)nthreads, sizeof(*t));
	audit_stats before, after;
	samples all = {0};
	long failures = 0;
	double t0, elapsed, c0, cpu;
	long long w0 = 0, f0 = 0, w1 = 0, f1 = 0;
	bool have_disk;
	int64_t commits, recs;
	int i, rc = 0;

	if (w == NULL || t == NULL) {
		free(w);
		free(t);
		return -1;
	}
	atomic_store(&stop_flag, false);
	audit_get_stats(a, &before);
	have_disk = disk_counts(&w0, &f0);
	c0 = cpu_s();
	t0 = now_s();
	for (i = 0; i < nthreads; i++) {
		w[i].a = a;
		w[i].id = i;
		pthread_mutex_init(&w[i].mu, NULL);
		pthread_cond_init(&w[i].cv, NULL);
		for (int j = 0; j < LOOP_INFLIGHT; j++)
			w[i].slots[j].w = &w[i];
		if (pthread_create(&t[i], NULL, loops ? loop_main : worker_main, &w[i]) != 0) {
			nthreads = i;
			rc = -1;
			break;
		}
	}
	while (now_s() - t0 < seconds)
		usleep(10000);
	atomic_store(&stop_flag, true);
	for (i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	elapsed = now_s() - t0;
	cpu = cpu_s() - c0;
	have_disk = have_disk && disk_counts(&w1, &f1);
	audit_get_stats(a, &after);
	for (i = 0; i < nthreads; i++) {
		size_t j;
		for (j = 0; j < w[i].lat.n; j++)
			(void)samples_add(&all, w[i].lat.v[j]);
		failures += w[i].failures;
		free(w[i].lat.v);
		pthread_cond_destroy(&w[i].cv);
		pthread_mutex_destroy(&w[i].mu);
	}
	qsort(all.v, all.n, sizeof(double), cmp_double);
	commits = after.batches - before.batches;
	recs = after.records - before.records;
	if (loops)
		printf("audit_submit %d loops x %d in flight%s: %.0f rec/s", nthreads,
		       LOOP_INFLIGHT, what, (double)all.n / elapsed);
	else
		printf("audit_append %d thread%s%s: %.0f rec/s", nthreads, nthreads == 1 ? "" : "s",
		       what, (double)all.n / elapsed);
	printf(", p50 %.0f us, p99 %.0f us, "
	       "%.1f rec/commit (%lld commits, max batch %lld), %.1f us CPU/rec%s\n",
	       pct(&all, 0.50), pct(&all, 0.99), commits ? (double)recs / (double)commits : 0.0,
	       (long long)commits, (long long)after.max_batch,
	       all.n ? cpu * 1e6 / (double)all.n : 0.0, failures ? " FAILURES" : "");
	if (commits > 0)
		printf("  per commit: %.0f us committing (its sync included)",
		       (double)(after.commit_us - before.commit_us) / (double)commits);
	if (have_disk && commits > 0)
		printf(", disk: %.2f writes and %.2f flushes", (double)(w1 - w0) / (double)commits,
		       (double)(f1 - f0) / (double)commits);
	if (commits > 0)
		printf("\n");
	if (failures)
		rc = -1;
	free(all.v);
	free(w);
	free(t);
	return rc;
}

/* A stand-in for a required sink (audit/sinks.h): the gate of every committed batch
 * appends a line to its own file and makes it durable, as the JSON-lines sink does,
 * before the batch's callers may hear. */
typedef struct sink_sim {
	int fd;
} sink_sim;

static int sink_gate(void *ctx, int64_t seq, bg_err *e)
{
	sink_sim *k = ctx;
	char line[128];
	int n = snprintf(line, sizeof(line),
	                 "{\"seq\":%lld,\"what\":\"the batch's last record\"}\n", (long long)seq);

	if (write(k->fd, line, (size_t)n) != n || fdatasync(k->fd) != 0)
		return bg_err_set(e, BG_EIO, "sink: %s", strerror(errno));
	return 0;
}

static int run_with_sink(audit_log *a, const char *dir, int nthreads, double seconds)
{
	char path[4200];
	sink_sim k = {-1};
	int rc;

	snprintf(path, sizeof(path), "%s/sink.jsonl", dir);
	k.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0600);
	if (k.fd < 0) {
		fprintf(stderr, "audit_bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	audit_set_gate(a, sink_gate, NULL, &k);
	rc = run(a, nthreads, false, seconds, " with a required sink");
	audit_set_gate(a, NULL, NULL, NULL);
	close(k.fd);
	return rc;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	double seconds = argc > 2 ? strtod(argv[2], NULL) : 2.0;
	char dir[2048], data[2100];
	audit_log *a = NULL;
	store *s = NULL;
	struct statfs fs;
	int64_t n = 0, bad = 0;
	double t0, t;
	int rc = 1;
	bg_err e;

	if (seconds <= 0)
		seconds = 2.0;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/bg-audit-bench-XXXXXX", base) >= sizeof(dir) ||
	    mkdtemp(dir) == NULL) {
		fprintf(stderr, "audit_bench: mkdtemp in %s: %s\n", base, strerror(errno));
		return 1;
	}
	if (statfs(dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC_)
		printf("note: %s is tmpfs; syncs cost nothing there\n", base);
	snprintf(data, sizeof(data), "%s/data", dir);
	{
		struct stat sb;

		if (stat(dir, &sb) == 0)
			snprintf(disk_stat, sizeof(disk_stat), "/sys/dev/block/%u:%u/stat",
			         major(sb.st_dev), minor(sb.st_dev));
	}

	fdatasync_baseline(dir, seconds);
	if (store_open(data, true, &s, &e) != 0 || audit_open(s, &a, &e) != 0) {
		fprintf(stderr, "audit_bench: %s\n", e.msg);
		goto out;
	}
	if (run(a, 1, false, seconds, "") != 0 || run(a, 32, false, seconds, "") != 0 ||
	    run(a, 2, true, seconds, "") != 0 || run_with_sink(a, dir, 32, seconds) != 0)
		goto out;
	t0 = now_s();
	if (audit_verify(a, &n, &bad, &e) != 0) {
		fprintf(stderr, "audit_bench: verify: %s\n", e.msg);
		goto out;
	}
	t = now_s() - t0;
	printf("audit verify: %lld records in %.3f s = %.0f rec/s\n", (long long)n, t,
	       (double)n / t);
	rc = 0;
out:
	audit_free(a);
	store_free(s);
	if (getenv("BENCH_KEEP") == NULL)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		printf("kept %s\n", dir);
	return rc;
}
