/*
 * report_bench.c - how long the post-incident report takes for a large incident, against
 * the target of 1 s for 10,000 audited queries (issue 11).
 *
 * Builds an incident's export as the gateway would write it: the incident, a request, its
 * approval, N runbook queries each with its response (items, keys, consumed capacity), a
 * denial every 100 queries, the revocation, and a signed checkpoint every 1000 records,
 * all chained. Then, per format, times what `breakglass report` does once the records
 * have arrived: parse them (the API's JSON), build the model (the verifier included),
 * render. Prints the best of a few rounds per format.
 *
 *   report_bench [QUERIES]   (default 10000)
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/sigkey.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/limits.h"
#include "report/report.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "report_bench: %s\n", what);
	exit(1);
}

typedef struct trail {
	json_t *arr;
	char prev[65];
	const sigkey *key;
	int64_t t0_ms;
} trail;

/* Chains rec (taking it) onto the trail, as the audit log does (docs/audit.md). */
static void append(trail *t, json_t *rec)
{
	uint8_t h[BG_SHA256_LEN];
	char *canon;
	bg_buf b;

	if (rec == NULL || json_object_set_new(rec, "prev_hash", json_string(t->prev)) != 0)
		die("out of memory");
	canon = json_dumps(rec, JSON_SORT_KEYS | JSON_COMPACT);
	bg_buf_init(&b, 1 << 20);
	if (canon == NULL || bg_buf_reserve(&b, 32 + strlen(canon)) != 0 ||
	    bg_unhex(t->prev, 32, (uint8_t *)b.data) != 0)
		die("out of memory");
	b.len = 32;
	if (bg_buf_adds(&b, canon) != 0)
		die("out of memory");
	bg_sha256(b.data, b.len, h);
	bg_hex(h, sizeof(h), t->prev);
	bg_buf_free(&b);
	free(canon);
	if (json_object_set_new(rec, "hash", json_string(t->prev)) != 0 ||
	    json_array_append_new(t->arr, rec) != 0)
		die("out of memory");
}

static void ts_of(trail *t, int64_t ms, char out[32])
{
	char s[BG_RFC3339_SIZE];
	int64_t at = t->t0_ms + ms;

	bg_rfc3339(at / 1000, s);
	snprintf(out, 32, "%.19s.%03dZ", s, (int)(at % 1000));
}

static void rec(trail *t, int64_t ms, const char *kind, const char *grant, const char *rid,
                const char *op, const char *tables, const char *decision, const char *reason,
                int status, json_t *detail)
{
	char ts[32];
	json_int_t seq = (json_int_t)json_array_size(t->arr) + 1;

	ts_of(t, ms, ts);
	append(t,
	       json_pack("{s:I,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:i,s:o}", "seq", seq,
	                 "ts", ts, "kind", kind, "actor", "alice", "grant_id", grant, "request_id",
	                 rid, "op", op, "tables", tables, "decision", decision, "reason", reason,
	                 "status", status, "detail", detail != NULL ? detail : json_null()));
	/* a signed checkpoint every 1000 records */
	if ((json_array_size(t->arr) + 1) % 1000 == 0) {
		uint8_t sig[SIGKEY_SIG_LEN];
		char sighex[2 * SIGKEY_SIG_LEN + 1];
		bg_err e;
		json_int_t covers = (json_int_t)json_array_size(t->arr);
		if (sigkey_sign(t->key, covers, t->prev, sig, &e) != 0)
			die(e.msg);
		bg_hex(sig, sizeof(sig), sighex);
		append(t,
		       json_pack("{s:I,s:s,s:s,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:i,s:{s:I,s:s,s:s,s:s,"
		                 "s:i}}",
		                 "seq", covers + 1, "ts", ts, "kind", "checkpoint", "actor",
		                 "grant_id", "request_id", "op", "tables", "decision", "reason",
		                 "status", 0, "detail", "covers_seq", covers, "covers_hash",
		                 t->prev, "key_id", sigkey_id(t->key), "sig", sighex, "v", 1));
	}
}

static json_t *incident(const sigkey *key, int queries)
{
	trail t = {json_array(), {0}, key, 1796000000000LL};
	const char *g = "bg-aaaaaaaaaa";
	char rid[32];
	int i;

	memset(t.prev, '0', 64);
	rec(&t, 0, "incident-open", NULL, "r0", "incident-open", NULL, "allow", NULL, 0,
	    json_pack("{s:s,s:i,s:s}", "incident", "INC-1", "severity", 1, "title",
	              "orders stuck"));
	rec(&t, 1000, "request", g, "r1", "request", NULL, "allow", NULL, 0,
	    json_pack("{s:s,s:s,s:[s],s:s,s:i,s:[{s:s,s:b,s:s}]}", "request", g, "incident",
	              "INC-1", "runbooks", "orders-of-customer@abcd", "reason",
	              "customers see stuck orders", "duration_seconds", 43200, "criteria", "check",
	              "reason", "ok", 1, "message", "long enough"));
	rec(&t, 2000, "request-approve", g, "r2", "request-approve", NULL, "allow", "ok", 0,
	    json_pack("{s:s,s:s}", "request", g, "incident", "INC-1"));
	for (i = 0; i < queries; i++) {
		int64_t ms = 3000 + (int64_t)i * 100;
		snprintf(rid, sizeof(rid), "Q%08d", i);
		rec(&t, ms, "request", g, rid, "Query", "orders", "allow", NULL, 0,
		    json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:{s:s}}}}", "peer", "127.0.0.1:4242",
		              "user_agent", "aws-cli/2.9.19 Python/3.11.2 command/dynamodb.query",
		              "runbook", "id", "orders-of-customer", "hash",
		              "03e8fce88df2ad47943cadb78a93aae4c7d5ca6477a457fa150bc06fe55890a7",
		              "params", "customer", "S", "CUSTOMER#42"));
		rec(&t, ms + 7, "response", g, rid, "Query", "orders", NULL, NULL, 200,
		    json_pack("{s:s,s:i,s:s,s:i,s:i,s:i,s:[{s:{s:s},s:{s:s}},{s:{s:s},s:{s:s}}],"
		              "s:{s:f,s:s}}",
		              "outcome", "answered", "bytes", 380, "body_sha256",
		              "9be62999f48b664115034ba9cc7ebbd68ce44ca204ca6c3f4552d91f9d379889",
		              "count", 2, "scanned_count", 2, "items", 2, "keys", "pk", "S",
		              "CUSTOMER#42", "sk", "S", "ORDER#1001", "pk", "S", "CUSTOMER#42",
		              "sk", "S", "ORDER#1002", "consumed_capacity", "CapacityUnits", 0.5,
		              "TableName", "orders"));
		if (i % 100 == 99)
			rec(&t, ms + 50, "denial", g, "D", "Scan", "orders", "deny",
			    "Scan is not allowed", 400,
			    json_pack("{s:s}", "peer", "127.0.0.1:4242"));
	}
	rec(&t, 3000 + (int64_t)queries * 100, "revoke", g, "r3", "revoke", NULL, "allow", NULL, 0,
	    NULL);
	rec(&t, 3001 + (int64_t)queries * 100, "creds", g, "r4", "creds", NULL, "allow", NULL, 0,
	    NULL); /* then a checkpoint covers the tail */
	return t.arr;
}

int main(int argc, char **argv)
{
	static const char *const formats[] = {"md", "html", "json"};
	int queries = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 10000;
	char dir[] = "/tmp/report_bench.XXXXXX", path[64];
	sigkey *key;
	json_t *recs;
	char *text;
	size_t f;
	bg_err e;

	if (queries <= 0 || mkdtemp(dir) == NULL)
		die("usage: report_bench [QUERIES]");
	snprintf(path, sizeof(path), "%s/k.pem", dir);
	if (sigkey_load(path, true, &key, &e) != 0)
		die(e.msg);
	unlink(path);
	rmdir(dir);
	recs = incident(key, queries);
	text = json_dumps(recs, JSON_COMPACT);
	if (text == NULL)
		die("out of memory");
	printf("report_bench: incident with %d queries, %zu records (%.1f MiB of JSON)\n", queries,
	       json_array_size(recs), (double)strlen(text) / (1 << 20));
	for (f = 0; f < 3; f++) {
		double best = 1e9, best_parse = 0, best_build = 0, best_render = 0;
		size_t bytes = 0;
		int round;
		for (round = 0; round < 3; round++) {
			double t0 = now_s(), t1, t2, t3;
			json_t *in = json_loads(text, 0, NULL);
			report_opts o;
			report *r = NULL;
			bg_buf out;
			int rc;
			if (in == NULL)
				die("parse");
			t1 = now_s();
			report_opts_init(&o);
			o.incident = "INC-1";
			o.keys = (const sigkey *const *)&key;
			o.nkeys = 1;
			o.budget = 10000;
			if (report_build(in, &o, &r, &e) != 0)
				die(e.msg);
			json_decref(in);
			t2 = now_s();
			bg_buf_init(&out, BG_MAX_REPORT_BYTES);
			rc = f == 0   ? report_md(r, &out)
			     : f == 1 ? report_html(r, &out)
			              : report_json(r, &out);
			if (rc != 0)
				die("render");
			t3 = now_s();
			if (!json_is_true(json_object_get(
			        json_object_get(report_model(r), "verification"), "ok")))
				die("the generated trail does not verify");
			bytes = out.len;
			if (t3 - t0 < best) {
				best = t3 - t0;
				best_parse = t1 - t0;
				best_build = t2 - t1;
				best_render = t3 - t2;
			}
			bg_buf_free(&out);
			report_free(r);
		}
		printf(
		    "  %-4s %7.3f s  (parse %.3f, build+verify %.3f, render %.3f)  %6.1f MiB  %s\n",
		    formats[f], best, best_parse, best_build, best_render,
		    (double)bytes / (1 << 20), best <= 1.0 ? "within 1 s" : "OVER the 1 s target");
	}
	free(text);
	json_decref(recs);
	sigkey_free(key);
	return 0;
}
