/*
 * machine_probe.c - what this machine and the gateway's libraries allow, before any
 * breakglass code runs: the floors under issue 5's and issue 9's targets.
 *
 *   machine_probe DIR
 *
 * 1. Resident memory of a process that links exactly what breakglass links (the same
 *    pkg-config set, built by the same Makefile rule) and has done nothing yet, then
 *    after the least each library must do (OpenSSL's init, a SHA-256, an Ed25519 key,
 *    an in-memory SQLite table, curl_global_init), and the mappings that hold it.
 * 2. What waking a sleeping thread costs: two threads hand a token back and forth over
 *    a condition variable, free to run on any CPU, then both pinned to one CPU. On a
 *    VM a thread that sleeps lets its vCPU halt, and waking it takes the hypervisor.
 * 3. What an fdatasync costs as a commit grows: 0 (a 64-byte rewrite, as the bare
 *    fdatasync loop) to 48 WAL-shaped frames (24-byte header + 4096-byte page)
 *    rewritten in place in DIR, as SQLite's WAL is once it has wrapped.
 *
 * Figures and what follows from them: bench/REPORT.md, "What this machine allows".
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define WAKE_ROUNDS  100000
#define SYNC_SAMPLES 300
#define FRAME_HDR    24
#define PAGE         4096

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* --- 1. memory --------------------------------------------------------------------------- */

static long status_kib(const char *key)
{
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

static void rss_line(const char *what)
{
	printf("  %-46s VmRSS %6ld KiB (anon %5ld, file %6ld)\n", what, status_kib("VmRSS"),
	       status_kib("RssAnon"), status_kib("RssFile"));
}

typedef struct {
	char name[96];
	long kib;
} mapping;

static int by_kib(const void *a, const void *b)
{
	const mapping *x = a, *y = b;

	return (y->kib > x->kib) - (y->kib < x->kib);
}

/* Resident KiB per mapped file, largest first; the libraries loaded only because
 * libcurl or librelp needs them (GnuTLS, Kerberos, LDAP, ...) are summed apart. */
static void rss_by_mapping(void)
{
	static const char *const only_for_curl_relp[] = {
	    "libcurl",    "librelp",  "libgnutls",    "libp11-kit", "libnettle",  "libhogweed",
	    "libgmp",     "libtasn1", "libunistring", "libidn2",    "libkrb5",    "libk5crypto",
	    "libgssapi",  "libldap",  "liblber",      "libsasl2",   "libssh2",    "librtmp",
	    "libnghttp2", "libpsl",   "libbrotli",    "libzstd",    "libcom_err", "libkeyutils",
	    "libresolv",  "libffi"};
	mapping m[128];
	size_t n = 0, i, j;
	long cur = -1, extra = 0, kib;
	char line[512], name[96] = "";
	FILE *f = fopen("/proc/self/smaps", "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = strchr(line, ' ');
		if (strchr(line, '-') != NULL && p != NULL && strchr(line, '-') < p) {
			const char *slash = strrchr(line, '/');
			snprintf(name, sizeof(name), "%s", slash != NULL ? slash + 1 : "[anon]");
			name[strcspn(name, "\n")] = '\0';
			for (cur = -1, i = 0; i < n; i++)
				if (strcmp(m[i].name, name) == 0)
					cur = (long)i;
			if (cur < 0 && n < sizeof(m) / sizeof(m[0])) {
				snprintf(m[n].name, sizeof(m[n].name), "%s", name);
				m[n].kib = 0;
				cur = (long)n++;
			}
		} else if (cur >= 0 && sscanf(line, "Rss: %ld kB", &kib) == 1) {
			m[cur].kib += kib;
		}
	}
	fclose(f);
	qsort(m, n, sizeof(m[0]), by_kib);
	for (i = 0; i < n; i++) {
		for (j = 0; j < sizeof(only_for_curl_relp) / sizeof(only_for_curl_relp[0]); j++)
			if (strncmp(m[i].name, only_for_curl_relp[j],
			            strlen(only_for_curl_relp[j])) == 0) {
				extra += m[i].kib;
				break;
			}
		if (i < 8)
			printf("    %6ld KiB  %s\n", m[i].kib, m[i].name);
	}
	printf("    %6ld KiB  in libcurl, librelp and the libraries only they need\n", extra);
}

static void probe_memory(void)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_PKEY *key;
	sqlite3 *db = NULL;

	printf("memory: a process linking what breakglass links\n");
	rss_line("loaded, nothing run");
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	EVP_Digest("x", 1, md, &mdlen, EVP_sha256(), NULL);
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	rss_line("+ OpenSSL init, SHA-256, Ed25519 key");
	if (sqlite3_open(":memory:", &db) == SQLITE_OK)
		sqlite3_exec(db, "CREATE TABLE t(a); INSERT INTO t VALUES (1);", NULL, NULL, NULL);
	rss_line("+ SQLite table in memory");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rss_line("+ curl_global_init");
	rss_by_mapping();
	curl_global_cleanup();
	sqlite3_close(db);
	EVP_PKEY_free(key);
}

/* --- 2. wake-ups ------------------------------------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn;
static int pin_cpu = -1;

static void pin(void)
{
	cpu_set_t set;

	if (pin_cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(pin_cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *peer(void *arg)
{
	int i;

	(void)arg;
	pin();
	for (i = 0; i < WAKE_ROUNDS; i++) {
		pthread_mutex_lock(&mu);
		while (turn != 1)
			pthread_cond_wait(&cv, &mu);
		turn = 0;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static double tv_us(struct timeval t)
{
	return (double)t.tv_sec * 1e6 + (double)t.tv_usec;
}

static void probe_wakeups(const char *what, int cpu)
{
	struct rusage r0, r1;
	pthread_t t;
	double t0, wall, cpu_us;
	int i;

	pin_cpu = cpu;
	turn = 0;
	pin();
	if (pthread_create(&t, NULL, peer, NULL) != 0)
		return;
	getrusage(RUSAGE_SELF, &r0);
	t0 = now_us();
	for (i = 0; i < WAKE_ROUNDS; i++) {
		pthread_mutex_lock(&mu);
		turn = 1;
		pthread_cond_signal(&cv);
		while (turn != 0)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
	}
	wall = now_us() - t0;
	getrusage(RUSAGE_SELF, &r1);
	pthread_join(t, NULL);
	cpu_us = tv_us(r1.ru_utime) - tv_us(r0.ru_utime) + tv_us(r1.ru_stime) - tv_us(r0.ru_stime);
	printf("  %-30s %5.1f us from wake to run, %5.1f us of CPU per wake-up "
	       "(%ld context switches for %d wake-ups)\n",
	       what, wall / (2.0 * WAKE_ROUNDS), cpu_us / (2.0 * WAKE_ROUNDS),
	       (r1.ru_nvcsw - r0.ru_nvcsw) + (r1.ru_nivcsw - r0.ru_nivcsw), 2 * WAKE_ROUNDS);
	if (cpu >= 0) { /* unpin the main thread again */
		cpu_set_t all;
		CPU_ZERO(&all);
		for (i = 0; i < CPU_SETSIZE; i++)
			CPU_SET(i, &all);
		sched_setaffinity(0, sizeof(all), &all);
	}
}

/* --- 3. syncs ---------------------------------------------------------------------------- */

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int probe_syncs(const char *dir)
{
	static const int frames[] = {0, 1, 4, 8, 16, 32, 48};
	char path[4096];
	double s[SYNC_SAMPLES], base = 0;
	char *buf;
	size_t k;
	int fd, i, p, rc = 1;

	snprintf(path, sizeof(path), "%s/machine_probe.dat", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	buf = calloc(64, PAGE + FRAME_HDR);
	/* Written and synced once, so every sample rewrites in place. */
	if (fd < 0 || buf == NULL || pwrite(fd, buf, 64 * (PAGE + FRAME_HDR), 0) < 0 ||
	    fdatasync(fd) != 0) {
		fprintf(stderr, "machine_probe: cannot write %s\n", path);
		goto out;
	}
	printf("fdatasync in %s, rewriting in place (p50 and p90 of %d)\n", dir, SYNC_SAMPLES);
	for (k = 0; k < sizeof(frames) / sizeof(frames[0]); k++) {
		for (i = 0; i < SYNC_SAMPLES; i++) {
			double t0 = now_us();
			int bad = 0;
			if (frames[k] == 0)
				bad |= pwrite(fd, buf, 64, 0) != 64;
			for (p = 0; p < frames[k]; p++) {
				off_t off = (off_t)p * (PAGE + FRAME_HDR);
				bad |= pwrite(fd, buf, FRAME_HDR, off) != FRAME_HDR;
				bad |= pwrite(fd, buf, PAGE, off + FRAME_HDR) != PAGE;
			}
			if (bad || fdatasync(fd) != 0) {
				fprintf(stderr, "machine_probe: write or sync failed\n");
				goto out;
			}
			s[i] = now_us() - t0;
		}
		qsort(s, SYNC_SAMPLES, sizeof(s[0]), by_double);
		if (frames[k] == 0)
			base = s[SYNC_SAMPLES / 2];
		printf("  %2d frames: p50 %5.0f us, p90 %5.0f us (%.2f x the 64-byte sync)\n",
		       frames[k], s[SYNC_SAMPLES / 2], s[SYNC_SAMPLES * 9 / 10],
		       base > 0 ? s[SYNC_SAMPLES / 2] / base : 0.0);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	unlink(path);
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	probe_memory();
	printf("waking a sleeping thread (condition variable, %d round trips, %ld CPUs)\n",
	       WAKE_ROUNDS, ncpu);
	probe_wakeups("free to run on any CPU:", -1);
	probe_wakeups("both on CPU 0:", 0);
	return probe_syncs(argc > 1 ? argv[1] : ".");
}
