/*
 * averify_bench.c - how fast `audit verify` checks a trail: the issue-9 target is
 * 200,000 records/s including the checkpoints' signatures.
 *
 * Builds N records in memory the way the gateway writes them (requests and responses
 * with a DynamoDB body in their detail, other kinds now and then), chained, with a
 * checkpoint signed by a fresh Ed25519 key every EVERY records, as export lines (the
 * JSON text `audit export` writes). Then it times the verifier (audit/verify.h) on
 * them, twice:
 *
 *   lines    averify_line() on each line: parse, hash, signatures; what
 *            `audit verify --file EXPORT` does per record;
 *   records  averify_record() on records parsed beforehand, a page of 1000 at a time, as
 *            `audit verify` against the store does with each page the API sends
 *            (parsing the page is the client's JSON work, timed beside it).
 *
 * Both include averify_finish() (sorting, links, signatures). The trail must come out
 * whole, or the figure means nothing.
 *
 *   averify_bench [N [EVERY]]   defaults 1000000 and 1000
 *
 * With `fill`, it instead appends N records of the same shapes to the audit trail of a
 * data directory made by `breakglass init`, through the real committer: audit_append()
 * from 32 threads (group commit, as the gateway's request path does), a checkpoint signed
 * with the directory's key every EVERY records, as `serve` does. No gateway may run on
 * the directory meanwhile. bench/averify_e2e.sh then times `breakglass audit verify`
 * end to end against a gateway serving it.
 *
 *   averify_bench fill DATADIR [N [EVERY]]   defaults 300000 and 1000
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/keyset.h"
#include "audit/sigkey.h"
#include "audit/verify.h"
#include "common/buf.h"
#include "common/crypto.h"
#include "store/datadir.h"
#include "store/store.h"

#define DUMP_FLAGS (JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "averify_bench: %s\n", what);
	exit(1);
}

/* The detail a record of this shape carries (new reference). */
static json_t *detail_for(int64_t seq, const char *kind, const char *reqid)
{
	char key[64];

	snprintf(key, sizeof(key), "ORDER#%lld", (long long)seq);
	if (strcmp(kind, "request") == 0) /* the body as the gateway records it: an object */
		return json_pack("{s:s,s:{s:s,s:{s:{s:s}},s:b},s:s}", "peer", "127.0.0.1:51234",
		                 "body", "TableName", "orders", "Key", "pk", "S", key,
		                 "ConsistentRead", 1, "user_agent",
		                 "aws-cli/2.9.19 Python/3.11.2 Linux/6.1 source/x86_64.debian.12");
	if (strcmp(kind, "response") == 0)
		return json_pack(
		    "{s:I,s:s,s:{s:s,s:f},s:[{s:{s:s}}]}", "bytes", (json_int_t)120, "sha256",
		    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "consumed",
		    "TableName", "orders", "CapacityUnits", 0.5, "keys", "pk", "S", key);
	return json_pack("{s:s,s:s}", "grant", "g_0123456789abcdef", "note", reqid);
}

/* --- fill: records through the real committer ------------------------------------------ */

#define FILL_THREADS 32

static atomic_llong fill_left;

static void *fill_worker(void *arg)
{
	static const char *const kinds[] = {"request", "response", "request", "response",
	                                    "request", "response", "creds",   "grant"};
	audit_log *a = arg;
	long long i;
	char reqid[40];
	bg_err e;

	while ((i = atomic_fetch_sub(&fill_left, 1)) > 0) {
		const char *kind = kinds[i % 8];
		bool dd = strcmp(kind, "request") == 0 || strcmp(kind, "response") == 0;
		audit_record r;
		json_t *d;
		int64_t seq;

		snprintf(reqid, sizeof(reqid), "%016llx-%08llx", (unsigned long long)(i / 2 * 7919),
		         (unsigned long long)(i / 2));
		d = detail_for(i, kind, reqid);
		if (d == NULL)
			die("out of memory");
		memset(&r, 0, sizeof(r));
		r.kind = kind;
		r.actor = "bob";
		r.grant_id = "g_0123456789abcdef";
		r.request_id = reqid;
		r.op = dd ? "GetItem" : kind;
		r.tables = "orders";
		r.decision = "allow";
		r.status = strcmp(kind, "response") == 0 ? 200 : 0;
		r.detail = d;
		if (audit_append(a, &r, &seq, &e) != 0)
			die(e.msg);
		json_decref(d);
	}
	return NULL;
}

static int fill(int argc, char **argv)
{
	long long n = argc > 3 ? strtoll(argv[3], NULL, 10) : 300000;
	long long every = argc > 4 ? strtoll(argv[4], NULL, 10) : 1000;
	pthread_t t[FILL_THREADS];
	datadir *dd = NULL;
	keyset *ks = NULL;
	store *st = NULL;
	audit_log *a = NULL;
	bool created = false;
	audit_stats s;
	double t0;
	bg_err e;
	int i;

	if (argc < 3 || n < 1 || every < 1)
		die("usage: averify_bench fill DATADIR [N [EVERY]]");
	if (datadir_open(argv[2], false, &dd, &e) != 0 ||
	    store_open(argv[2], false, &st, &e) != 0 ||
	    keyset_open(datadir_path(dd, DATADIR_AUDIT_KEY),
	                datadir_path(dd, DATADIR_AUDIT_KEY_NEXT),
	                datadir_path(dd, DATADIR_AUDIT_PUBKEYS), &created, &ks, &e) != 0 ||
	    audit_open(st, &a, &e) != 0)
		die(e.msg);
	audit_set_checkpoints(a, keyset_current(ks), every, 10000);
	atomic_store(&fill_left, n);
	t0 = now_s();
	for (i = 0; i < FILL_THREADS; i++)
		if (pthread_create(&t[i], NULL, fill_worker, a) != 0)
			die("cannot start a thread");
	for (i = 0; i < FILL_THREADS; i++)
		pthread_join(t[i], NULL);
	audit_get_stats(a, &s);
	printf("averify_bench fill: %lld records appended in %.1f s (%lld commits), a checkpoint "
	       "every %lld\n",
	       n, now_s() - t0, (long long)s.batches, every);
	audit_free(a);
	keyset_free(ks);
	store_free(st);
	datadir_free(dd);
	return 0;
}

int main(int argc, char **argv)
{
	int64_t n = argc > 1 ? strtoll(argv[1], NULL, 10) : 1000000;
	int64_t every = argc > 2 ? strtoll(argv[2], NULL, 10) : 1000;
	char dir[] = "/tmp/averify-bench-XXXXXX", path[64], prev_hex[65], hash_hex[65];
	char sig_hex[2 * SIGKEY_SIG_LEN + 1], ts[32], reqid[40];
	uint8_t prev[32], sig[SIGKEY_SIG_LEN];
	char **lines;
	size_t *lens, total = 0;
	json_t **recs;
	sigkey *key = NULL;
	averify *v;
	averify_result r;
	bg_err e;
	int64_t seq = 0, i, since_cp = 0, cps = 0;
	double t0, t_lines, t_recs;

	if (argc > 1 && strcmp(argv[1], "fill") == 0)
		return fill(argc, argv);
	if (n < 1 || every < 1)
		die("usage: averify_bench [N [EVERY]]");
	if (mkdtemp(dir) == NULL)
		die("cannot make a temporary directory");
	snprintf(path, sizeof(path), "%s/key", dir);
	if (sigkey_load(path, true, &key, &e) != 0)
		die(e.msg);
	unlink(path);
	rmdir(dir);

	/* n records plus their checkpoints. */
	lines = calloc((size_t)(n + n / every + 1), sizeof(*lines));
	lens = calloc((size_t)(n + n / every + 1), sizeof(*lens));
	if (lines == NULL || lens == NULL)
		die("out of memory");
	memset(prev, 0, sizeof(prev));
	t0 = now_s();
	for (i = 0; i < n || since_cp > 0;) {
		static const char *const kinds[] = {"request", "response", "request", "response",
		                                    "request", "response", "creds",   "grant"};
		bool cp = since_cp == every || (i == n && since_cp > 0);
		const char *kind = cp ? "checkpoint" : kinds[i % 8];
		json_t *o, *d;
		uint8_t h[32];
		char *text;

		bg_hex(prev, 32, prev_hex);
		seq++;
		snprintf(ts, sizeof(ts), "2026-12-01T23:%02d:%02d.%03dZ", (int)(seq / 60000 % 60),
		         (int)(seq / 1000 % 60), (int)(seq % 1000));
		snprintf(reqid, sizeof(reqid), "%016llx-%08llx", (unsigned long long)(i / 2 * 7919),
		         (unsigned long long)(i / 2));
		if (cp) {
			if (sigkey_sign(key, seq - 1, prev_hex, sig, &e) != 0)
				die(e.msg);
			bg_hex(sig, SIGKEY_SIG_LEN, sig_hex);
			d = json_pack("{s:I,s:s,s:s,s:s,s:i}", "covers_seq", (json_int_t)(seq - 1),
			              "covers_hash", prev_hex, "key_id", sigkey_id(key), "sig",
			              sig_hex, "v", 1);
			o = json_pack("{s:I,s:s,s:s,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:i,s:o,s:s}",
			              "seq", (json_int_t)seq, "ts", ts, "kind", kind, "actor",
			              "grant_id", "request_id", "op", "tables", "decision",
			              "reason", "status", 0, "detail", d, "prev_hash", prev_hex);
			since_cp = 0;
			cps++;
		} else {
			bool dd = strcmp(kind, "request") == 0 || strcmp(kind, "response") == 0;
			d = detail_for(seq, kind, reqid);
			o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:n,s:i,s:o,s:s}",
			              "seq", (json_int_t)seq, "ts", ts, "kind", kind, "actor",
			              "bob", "grant_id", "g_0123456789abcdef", "request_id", reqid,
			              "op", dd ? "GetItem" : kind, "tables", "orders", "decision",
			              "allow", "reason", "status",
			              strcmp(kind, "response") == 0 ? 200 : 0, "detail", d,
			              "prev_hash", prev_hex);
			since_cp++;
			i++;
		}
		if (o == NULL || (text = json_dumps(o, DUMP_FLAGS)) == NULL)
			die("out of memory");
		{
			EVP_MD_CTX *md = EVP_MD_CTX_new();
			unsigned len = 0;
			if (md == NULL || EVP_DigestInit_ex(md, bg_sha256_md(), NULL) != 1 ||
			    EVP_DigestUpdate(md, prev, 32) != 1 ||
			    EVP_DigestUpdate(md, text, strlen(text)) != 1 ||
			    EVP_DigestFinal_ex(md, h, &len) != 1)
				die("SHA-256 failed");
			EVP_MD_CTX_free(md);
		}
		free(text);
		bg_hex(h, 32, hash_hex);
		if (json_object_set_new(o, "hash", json_string(hash_hex)) != 0 ||
		    (lines[seq - 1] = json_dumps(o, JSON_COMPACT)) == NULL)
			die("out of memory");
		lens[seq - 1] = strlen(lines[seq - 1]);
		total += lens[seq - 1];
		memcpy(prev, h, 32);
		json_decref(o);
	}
	printf("averify_bench: %lld records (%lld checkpoints, one every %lld), %.0f bytes a "
	       "line on average, built in %.1f s\n",
	       (long long)seq, (long long)cps, (long long)every, (double)total / (double)seq,
	       now_s() - t0);

	/* lines: parse + verify. */
	{
		const sigkey *keys[1] = {key};
		if (averify_new(keys, 1, true, &v, &e) != 0)
			die(e.msg);
		t0 = now_s();
		for (i = 0; i < seq; i++)
			if (averify_line(v, lines[i], lens[i]) != 0)
				die("out of memory");
		if (averify_finish(v, &r) != 0)
			die("finish failed");
		t_lines = now_s() - t0;
		if (!r.ok || r.records != seq || r.checkpoints != cps || r.signed_seq != seq - 1)
			die("the trail did not verify as whole: the benchmark is wrong");
		averify_free(v);
	}
	printf("audit verify (lines: parse, hash, signatures): %lld records in %.3f s = %.0f "
	       "records/s\n",
	       (long long)seq, t_lines, (double)seq / t_lines);

	/* records: parsed a page (1000) at a time beforehand, as the API's pages arrive; only
	 * the verifier is timed, the parsing beside it. */
	recs = calloc(1000, sizeof(*recs));
	if (recs == NULL)
		die("out of memory");
	{
		const sigkey *keys[1] = {key};
		double t_parse = 0;
		int64_t at;
		if (averify_new(keys, 1, true, &v, &e) != 0)
			die(e.msg);
		t_recs = 0;
		for (at = 0; at < seq; at += 1000) {
			int64_t k, m = seq - at < 1000 ? seq - at : 1000;
			t0 = now_s();
			for (k = 0; k < m; k++)
				if ((recs[k] = json_loadb(lines[at + k], lens[at + k],
				                          JSON_REJECT_DUPLICATES, NULL)) == NULL)
					die("a line does not parse");
			t_parse += now_s() - t0;
			t0 = now_s();
			for (k = 0; k < m; k++)
				if (averify_record(v, recs[k]) != 0)
					die("out of memory");
			t_recs += now_s() - t0;
			for (k = 0; k < m; k++)
				json_decref(recs[k]);
		}
		t0 = now_s();
		if (averify_finish(v, &r) != 0)
			die("finish failed");
		t_recs += now_s() - t0;
		if (!r.ok || r.records != seq)
			die("the trail did not verify as whole: the benchmark is wrong");
		averify_free(v);
		printf("jansson parsing alone (json_loadb, duplicates refused, a page at a time): "
		       "%.3f s = %.0f records/s\n",
		       t_parse, (double)seq / t_parse);
	}
	printf("audit verify (records parsed beforehand: hash, signatures): %lld records in "
	       "%.3f s = %.0f records/s\n",
	       (long long)seq, t_recs, (double)seq / t_recs);
	printf("target: >= 200000 records/s: %s\n",
	       (double)seq / t_lines >= 200000 ? "PASS" : "MISS");

	for (i = 0; i < seq; i++)
		free(lines[i]);
	free(recs);
	free(lines);
	free(lens);
	sigkey_free(key);
	return 0;
}
