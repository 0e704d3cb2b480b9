/*
 * test_audit_verify.c - signed checkpoints and the verifier: a real audit log with
 * checkpoints every 3 records (and by timer) writes a trail that verifies whole; each
 * tamper of a copy of it (edit, delete, insert, reorder, a forged or foreign signature,
 * a tail cut behind a checkpoint another copy holds, a rewritten chain) is found with
 * its seq and kind; redacted records make a partial but whole result; lines that are
 * not records are findings, not crashes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/sigkey.h"
#include "audit/verify.h"
#include "common/buf.h"
#include "common/crypto.h"
#include "store/store.h"

#define NREC 10 /* records appended; checkpoints come at 4, 8 and 12 */

static char tmpdir[64];
static store *st;
static sigkey *key, *other;
static json_t *trail; /* the records as audit_read gives them */

static int collect(void *ctx, json_t *rec)
{
	return json_array_append(ctx, rec) != 0;
}

static int setup(void **state)
{
	char path[160];
	audit_log *a = NULL;
	bg_err e;
	int i;

	if (ut_tmpdir(tmpdir, sizeof(tmpdir), "averify") != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/data", tmpdir);
	if (store_open(path, true, &st, &e) != 0 || audit_open(st, &a, &e) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/data/audit-signing.key", tmpdir);
	if (sigkey_load(path, true, &key, &e) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/other.key", tmpdir);
	if (sigkey_load(path, true, &other, &e) != 0)
		return -1;
	audit_set_checkpoints(a, key, 3, 60000);
	for (i = 0; i < NREC; i++) {
		json_t *d = json_pack("{s:i,s:s}", "n", i, "body", "{\"TableName\":\"orders\"}");
		audit_record r = {
		    .kind = "request", .actor = "alice", .op = "GetItem", .detail = d};
		int rc = audit_append(a, &r, NULL, &e);
		json_decref(d);
		if (rc != 0)
			return -1;
	}
	audit_free(a);
	trail = json_array();
	if (audit_open(st, &a, &e) != 0 || audit_read(a, 0, 0, collect, trail, &e) != 0)
		return -1;
	audit_free(a);
	*state = NULL;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	json_decref(trail);
	sigkey_free(key);
	sigkey_free(other);
	store_free(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Verifies recs (and reference checkpoints ref, may be NULL) with the given keys. */
static json_t *run(json_t *recs, json_t *ref, const sigkey *k, bool from_one)
{
	const sigkey *keys[1] = {k};
	averify_result r;
	averify *v = NULL;
	json_t *x, *out;
	size_t i;
	bg_err e;

	assert_int_equal(averify_new(keys, 1, from_one, &v, &e), 0);
	json_array_foreach(recs, i, x) assert_int_equal(averify_record(v, x), 0);
	if (ref != NULL)
		json_array_foreach(ref, i, x) assert_int_equal(averify_reference(v, x), 0);
	assert_int_equal(averify_finish(v, &r), 0);
	out = averify_result_json(&r);
	assert_non_null(out);
	averify_free(v);
	return out;
}

/* True when res has a problem of kind at seq. */
static bool has(json_t *res, int64_t seq, const char *kind)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(res, "problems"), i, p)
	{
		if (json_integer_value(json_object_get(p, "seq")) == seq &&
		    strcmp(json_string_value(json_object_get(p, "kind")), kind) == 0)
			return true;
	}
	return false;
}

static json_t *copy(void)
{
	return json_deep_copy(trail);
}

/* The record with seq s in a (0-based index s-1 in an untouched copy). */
static json_t *rec(json_t *a, int64_t s)
{
	return json_array_get(a, (size_t)(s - 1));
}

/* Recomputes every hash from index from on, and what checkpoints say they cover, as an
 * attacker with the file can (not their signatures). */
static void rehash(json_t *a, size_t from)
{
	uint8_t prev[32], h[32];
	char hex[65];
	size_t i;

	if (from > 0)
		assert_int_equal(bg_unhex(json_string_value(
		                              json_object_get(json_array_get(a, from - 1), "hash")),
		                          32, prev),
		                 0);
	else
		memset(prev, 0, 32);
	for (i = from; i < json_array_size(a); i++) {
		json_t *r = json_array_get(a, i);
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		unsigned len;
		char *canon;

		bg_hex(prev, 32, hex);
		json_object_set_new(r, "prev_hash", json_string(hex));
		if (strcmp(json_string_value(json_object_get(r, "kind")), "checkpoint") == 0)
			json_object_set_new(json_object_get(r, "detail"), "covers_hash",
			                    json_string(hex));
		json_object_del(r, "hash");
		canon = json_dumps(r, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		EVP_DigestUpdate(md, prev, 32);
		EVP_DigestUpdate(md, canon, strlen(canon));
		EVP_DigestFinal_ex(md, h, &len);
		EVP_MD_CTX_free(md);
		free(canon);
		bg_hex(h, 32, hex);
		json_object_set_new(r, "hash", json_string(hex));
		memcpy(prev, h, 32);
	}
}

static void test_cadence(void **state)
{
	size_t i;
	json_t *r;
	int cps = 0;

	assert_int_equal(json_array_size(trail), NREC + 3);
	json_array_foreach(trail, i, r)
	{
		const char *k = json_string_value(json_object_get(r, "kind"));
		if (strcmp(k, "checkpoint") == 0) {
			cps++;
			assert_int_equal(json_integer_value(json_object_get(r, "seq")) % 4, 0);
			assert_int_equal(json_integer_value(json_object_get(
			                     json_object_get(r, "detail"), "covers_seq")),
			                 json_integer_value(json_object_get(r, "seq")) - 1);
			assert_string_equal(json_string_value(json_object_get(
			                        json_object_get(r, "detail"), "key_id")),
			                    sigkey_id(key));
		}
	}
	assert_int_equal(cps, 3);
}

static void test_timer_checkpoint(void **state)
{
	audit_log *a = NULL;
	json_t *all = json_array(), *last;
	audit_record r = {.kind = "request"};
	bg_err e;
	int i;

	assert_int_equal(audit_open(st, &a, &e), 0);
	audit_set_checkpoints(a, key, 1000, 100);
	assert_int_equal(audit_append(a, &r, NULL, &e), 0);
	for (i = 0; i < 50; i++) {
		json_array_clear(all);
		assert_int_equal(audit_read(a, 0, 0, collect, all, &e), 0);
		last = json_array_get(all, json_array_size(all) - 1);
		if (strcmp(json_string_value(json_object_get(last, "kind")), "checkpoint") == 0)
			break;
		usleep(20000);
	}
	assert_true(i < 50);
	audit_free(a);
	/* Reading the whole store again, it all verifies. */
	json_decref(run(all, NULL, key, true));
	json_decref(all);
}

static void test_whole(void **state)
{
	json_t *res = run(trail, NULL, key, true);

	assert_true(json_is_true(json_object_get(res, "ok")));
	assert_true(json_is_false(json_object_get(res, "partial")));
	assert_int_equal(json_integer_value(json_object_get(res, "records")), NREC + 3);
	assert_int_equal(json_integer_value(json_object_get(res, "checkpoints")), 3);
	assert_int_equal(json_integer_value(json_object_get(res, "signed_seq")), 11);
	json_decref(res);
}

static void test_edit(void **state)
{
	json_t *a = copy(), *res;

	json_object_set_new(rec(a, 5), "actor", json_string("mallory"));
	res = run(a, NULL, key, true);
	assert_true(json_is_false(json_object_get(res, "ok")));
	assert_true(has(res, 5, "edited"));
	assert_int_equal(json_integer_value(json_object_get(res, "problems_total")), 1);
	json_decref(res);
	/* Rehashing from there hides the edit from the chain, not from the signature. */
	rehash(a, 4);
	res = run(a, NULL, key, true);
	assert_true(has(res, 8, "bad_signature"));
	assert_false(has(res, 5, "edited"));
	json_decref(res);
	json_decref(a);
}

static void test_delete(void **state)
{
	json_t *a = copy(), *res;

	json_array_remove(a, 5); /* seq 6 */
	res = run(a, NULL, key, true);
	assert_true(has(res, 6, "deleted"));
	json_decref(res);
	json_array_remove(a, 0); /* seq 1: the head */
	res = run(a, NULL, key, true);
	assert_true(has(res, 1, "deleted"));
	json_decref(res);
	json_decref(a);
}

static void test_insert(void **state)
{
	json_t *a = copy(), *fake = json_deep_copy(rec(trail, 6)), *res;

	json_object_set_new(fake, "actor", json_string("mallory"));
	json_array_insert_new(a, 6, fake); /* after seq 6, claiming seq 6 */
	res = run(a, NULL, key, true);
	assert_true(has(res, 6, "inserted"));
	assert_int_equal(json_integer_value(json_object_get(res, "problems_total")), 1);
	json_decref(res);
	json_decref(a);
}

/* A record sent twice (at-least-once sinks around a crash) is counted, not a finding;
 * a changed copy still is. */
static void test_repeated(void **state)
{
	json_t *a = copy(), *res;

	json_array_insert_new(a, 7, json_deep_copy(rec(trail, 6))); /* seq 6, again, later */
	json_array_append_new(a, json_deep_copy(rec(trail, 2)));
	res = run(a, NULL, key, true);
	assert_true(json_is_true(json_object_get(res, "ok")));
	assert_int_equal(json_integer_value(json_object_get(res, "repeated")), 2);
	assert_int_equal(json_integer_value(json_object_get(res, "records")), NREC + 3);
	assert_int_equal(json_integer_value(json_object_get(res, "problems_total")), 0);
	json_decref(res);
	json_decref(a);
	(void)state;
}

static void test_reorder(void **state)
{
	json_t *a = copy(), *r6 = json_incref(rec(a, 6)), *res;

	json_array_remove(a, 5);
	json_array_insert_new(a, 6, r6); /* ... 5, 7, 6, 8 ... */
	res = run(a, NULL, key, true);
	assert_true(has(res, 6, "reordered"));
	assert_int_equal(json_integer_value(json_object_get(res, "problems_total")), 1);
	json_decref(res);
	json_decref(a);
}

static void test_forged_signature(void **state)
{
	json_t *a = copy(), *res;
	json_t *d = json_object_get(rec(a, 8), "detail");
	char sig[129];

	memcpy(sig, json_string_value(json_object_get(d, "sig")), 129);
	sig[10] = sig[10] == '0' ? '1' : '0';
	json_object_set_new(d, "sig", json_string(sig));
	rehash(a, 7); /* the attacker recomputes the chain: only the signatures tell */
	res = run(a, NULL, key, true);
	assert_true(has(res, 8, "bad_signature"));
	assert_true(has(res, 12, "bad_signature"));
	assert_int_equal(json_integer_value(json_object_get(res, "problems_total")), 2);
	json_decref(res);
	/* Verified with a key that did not sign it. */
	res = run(trail, NULL, other, true);
	assert_true(has(res, 4, "unknown_key"));
	json_decref(res);
	json_decref(a);
}

static void test_truncated(void **state)
{
	json_t *a = copy(), *res;

	while (json_array_size(a) > 9) /* keep 1..9: checkpoint 12 covered up to 11 */
		json_array_remove(a, json_array_size(a) - 1);
	res = run(a, NULL, key, true);
	assert_true(json_is_true(json_object_get(res, "ok"))); /* alone, it cannot tell */
	json_decref(res);
	res = run(a, trail, key, true);
	assert_true(has(res, 10, "truncated"));
	json_decref(res);
	json_decref(a);
}

static void test_rewritten(void **state)
{
	json_t *a = copy(), *res;

	json_object_set_new(rec(a, 2), "actor", json_string("mallory"));
	rehash(a, 1);
	/* Re-sign with a key the attacker holds: the trusted key still rejects it. */
	res = run(a, trail, key, true);
	assert_true(has(res, 3, "diverged"));
	json_decref(res);
	json_decref(a);
}

static void test_redacted(void **state)
{
	json_t *a = copy(), *res, *r = rec(a, 6);
	json_t *stub = json_pack("{s:O,s:O,s:O,s:b}", "seq", json_object_get(r, "seq"), "prev_hash",
	                         json_object_get(r, "prev_hash"), "hash",
	                         json_object_get(r, "hash"), "redacted", 1);

	json_array_set_new(a, 5, stub);
	json_array_remove(a, 0);
	res = run(a, NULL, key, false);
	assert_true(json_is_true(json_object_get(res, "ok")));
	assert_true(json_is_true(json_object_get(res, "partial")));
	assert_int_equal(json_integer_value(json_object_get(res, "redacted")), 1);
	assert_int_equal(json_integer_value(json_object_get(res, "first_seq")), 2);
	json_decref(res);
	json_decref(a);
}

static void test_lines(void **state)
{
	static const char *const bad[] = {"not json", "[1,2]", "{\"seq\":1}",
	                                  "{\"seq\":1,\"seq\":2}", "{\"seq\":\"x\"}"};
	const sigkey *keys[1] = {key};
	averify_result r;
	averify *v = NULL;
	char *line;
	size_t i;
	bg_err e;

	assert_int_equal(averify_new(keys, 1, true, &v, &e), 0);
	for (i = 0; i < json_array_size(trail); i++) {
		line = json_dumps(json_array_get(trail, i), JSON_COMPACT);
		assert_int_equal(averify_line(v, line, strlen(line)), 0);
		free(line);
	}
	assert_int_equal(averify_line(v, "\n", 1), 0); /* blank: skipped */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(averify_line(v, bad[i], strlen(bad[i])), 0);
	assert_int_equal(averify_finish(v, &r), 0);
	assert_false(r.ok);
	assert_int_equal(r.nproblems, 5);
	for (i = 0; i < r.nkept; i++)
		assert_string_equal(r.problems[i].kind, "malformed");
	assert_int_equal(r.records, NREC + 3);
	averify_free(v);
}

/* The verifier's canonical JSON is jansson's json_dumps(JSON_SORT_KEYS | JSON_COMPACT),
 * byte for byte, on what a record's detail may hold: escapes, non-ASCII, reals, nesting,
 * more keys than fit the stack, keys that are prefixes of each other. */
static void test_canonical_matches_jansson(void **state)
{
	static const char *const cases[] = {
	    "{\"seq\":1,\"hash\":\"x\",\"detail\":null}",
	    "{\"b\":1,\"a\":{\"z\":[1,2,{\"y\":true,\"x\":false}],\"aa\":"
	    "\"\\u0001\\u001f\\n\\t\\\"\\\\/\"}}",
	    "{\"k\":\"caf\u00e9 \xe2\x82\xac \xf0\x9f\x94\x91\",\"ab\":1,\"a\":2,\"abc\":3,\"\":4}",
	    "{\"r\":[0.5,1e300,-2.25,1.0,100000000000000000000.0,3.141592653589793],\"i\":-"
	    "9223372036854775807}",
	    "{\"n\":[],\"o\":{},\"s\":\"\",\"neg\":-1,\"zero\":0,\"big\":9223372036854775807}",
	    "{\"k00\":0,\"k01\":1,\"k02\":2,\"k03\":3,\"k04\":4,\"k05\":5,\"k06\":6,\"k07\":7,"
	    "\"k08\":8,\"k09\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14,"
	    "\"k15\":15,\"k16\":16,\"k17\":17,\"k18\":18,\"k19\":19,\"k20\":20,\"k21\":21,"
	    "\"k22\":22,\"k23\":23,\"k24\":24,\"k25\":25,\"k26\":26,\"k27\":27,\"k28\":28,"
	    "\"k29\":29,\"k30\":30,\"k31\":31,\"k32\":32,\"k33\":33,\"Z\":-1,\"~\":1}",
	};
	bg_buf b;
	size_t i;

	(void)state;
	bg_buf_init(&b, 1 << 20);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = json_loads(cases[i], JSON_REJECT_DUPLICATES, NULL);
		char *want;
		assert_non_null(j);
		assert_int_equal(averify_canonical(j, &b), 0);
		json_object_del(j, "hash");
		want = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
		assert_non_null(want);
		assert_int_equal(b.len, strlen(want));
		assert_memory_equal(b.data, want, b.len);
		free(want);
		json_decref(j);
	}
	/* The whole trail too, record by record. */
	for (i = 0; i < json_array_size(trail); i++) {
		json_t *r = json_deep_copy(json_array_get(trail, i));
		char *want;
		assert_int_equal(averify_canonical(r, &b), 0);
		json_object_del(r, "hash");
		want = json_dumps(r, JSON_SORT_KEYS | JSON_COMPACT);
		assert_int_equal(b.len, strlen(want));
		assert_memory_equal(b.data, want, b.len);
		free(want);
		json_decref(r);
	}
	bg_buf_free(&b);
}

/* The export reader that skips jansson: on the trail's own lines and on lines of every
 * odd shape (escapes, duplicates, leading zeros, reals, huge integers, deep nesting,
 * invalid UTF-8, trailing bytes, reordered keys) it finds exactly what jansson's path
 * finds, and where it reads a line itself its canonical text is jansson's. */
static void test_fast_lines(void **state)
{
	static const char *const odd[] = {
	    "{\"seq\":1,\"kind\":\"x\",\"prev_hash\":\"0\",\"hash\":\"1\"}",
	    "{\"seq\":1,\"seq\":2}",
	    "{\"seq\":01}",
	    "{\"seq\":1.5,\"a\":[1e400]}",
	    "{\"seq\":99999999999999999999}",
	    "{\"a\":\"\\u00e9\",\"seq\":3}",
	    "{\"a\":\"\xff\",\"seq\":3}",
	    "{\"seq\":3} x",
	    "{\"b\":{\"z\":1,\"y\":[true,false,null,-0,1E2,0.5e-3]},\"seq\":4,\"a\":"
	    "\"caf\xc3\xa9\"}",
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	    "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]}",
	    "  {  \"seq\" : 5 , \"hash\" : \"h\" }  \r\n",
	    "{\"seq\":-9223372036854775808}",
	    "{}",
	    "nul",
	    "{\"a\":tru}",
	    "{\"a\":\"\x01\"}",
	    "{\"\":1,\"a\":{},\"b\":[],\"seq\":6}",
	};
	averify *fast, *slow, *probe;
	averify_result a, b;
	const sigkey *keys[1] = {key};
	const char *fc;
	size_t i, fn;
	bg_err e;
	bg_buf buf;

	(void)state;
	bg_buf_init(&buf, 1 << 20);
	assert_int_equal(averify_new(keys, 1, true, &fast, &e), 0);
	assert_int_equal(averify_new(keys, 1, true, &slow, &e), 0);
	assert_int_equal(averify_new(keys, 1, false, &probe, &e), 0);
	averify_set_fast(slow, false);
	for (i = 0; i < json_array_size(trail) + sizeof(odd) / sizeof(odd[0]); i++) {
		char *line = i < json_array_size(trail)
		                 ? json_dumps(json_array_get(trail, i), JSON_COMPACT)
		                 : strdup(odd[i - json_array_size(trail)]);
		json_t *j;
		assert_non_null(line);
		assert_int_equal(averify_line(fast, line, strlen(line)), 0);
		assert_int_equal(averify_line(slow, line, strlen(line)), 0);
		j = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
		if (averify_line_canonical(probe, line, strlen(line), &fc, &fn) == 0) {
			assert_true(json_is_object(j));
			assert_int_equal(averify_canonical(j, &buf), 0);
			assert_int_equal(buf.len, fn);
			assert_memory_equal(buf.data, fc, fn);
		} else {
			/* Only the trail's lines with escapes (a key's PEM) or odd ones decline. */
			assert_true(i >= json_array_size(trail) || strchr(line, '\\') != NULL);
		}
		json_decref(j);
		free(line);
	}
	assert_int_equal(averify_finish(fast, &a), 0);
	assert_int_equal(averify_finish(slow, &b), 0);
	assert_int_equal(a.nproblems, b.nproblems);
	assert_int_equal(a.records, b.records);
	assert_int_equal(a.checkpoints, b.checkpoints);
	assert_int_equal(a.signed_seq, b.signed_seq);
	for (i = 0; i < a.nkept; i++) {
		assert_int_equal(a.problems[i].seq, b.problems[i].seq);
		assert_string_equal(a.problems[i].kind, b.problems[i].kind);
		assert_string_equal(a.problems[i].message, b.problems[i].message);
	}
	assert_true(a.checkpoints >= 3 && a.signed_seq >= NREC);
	averify_free(fast);
	averify_free(slow);
	averify_free(probe);
	bg_buf_free(&buf);
}

/* Key rotation through the real committer: the key-rotation record is checkpointed by
 * the old key, later checkpoints by the new; the trail verifies with both keys, shows
 * unknown_key for the other key's checkpoints with one; a later checkpoint re-signed by
 * the retired key (the chain recomputed, as someone holding the old key could) is a
 * retired_key finding. */
static void test_rotation(void **state)
{
	char path[160];
	store *s2 = NULL;
	audit_log *a = NULL;
	json_t *t = json_array(), *res, *x, *d;
	const sigkey *both[2] = {key, other};
	averify_result r;
	averify *v = NULL;
	int64_t rseq = 0, cseq = 0, last_cp = 0;
	size_t i;
	bg_err e;
	int n;

	(void)state;
	snprintf(path, sizeof(path), "%s/rot", tmpdir);
	assert_int_equal(store_open(path, true, &s2, &e), 0);
	assert_int_equal(audit_open(s2, &a, &e), 0);
	audit_set_checkpoints(a, key, 2, 60000);
	for (n = 0; n < 9; n++) {
		audit_record rr = {.kind = "request", .actor = "alice", .op = "GetItem"};
		if (n == 4) {
			d = json_pack("{s:s,s:s,s:s}", "old_key_id", sigkey_id(key), "new_key_id",
			              sigkey_id(other), "new_public_key_pem",
			              sigkey_public_pem(other));
			rr = (audit_record){.kind = "key-rotation", .actor = "alice", .detail = d};
			assert_int_equal(audit_rotate_key(a, &rr, other, &rseq, &cseq, &e), 0);
			json_decref(d);
			continue;
		}
		assert_int_equal(audit_append(a, &rr, NULL, &e), 0);
	}
	audit_free(a);
	assert_int_equal(audit_open(s2, &a, &e), 0);
	assert_int_equal(audit_read(a, 0, 0, collect, t, &e), 0);
	audit_free(a);
	assert_int_equal(cseq, rseq + 1);
	json_array_foreach(t, i, x)
	{
		const char *kid =
		    json_string_value(json_object_get(json_object_get(x, "detail"), "key_id"));
		int64_t sq = json_integer_value(json_object_get(x, "seq"));
		if (kid == NULL)
			continue;
		assert_string_equal(kid, sigkey_id(sq <= cseq ? key : other));
		last_cp = sq;
	}
	assert_true(last_cp > cseq);

	assert_int_equal(averify_new(both, 2, true, &v, &e), 0);
	json_array_foreach(t, i, x) assert_int_equal(averify_record(v, x), 0);
	assert_int_equal(averify_finish(v, &r), 0);
	assert_true(r.ok);
	averify_free(v);
	res = run(t, NULL, other, true);
	assert_true(has(res, cseq, "unknown_key"));
	assert_false(has(res, last_cp, "unknown_key"));
	json_decref(res);

	/* The last checkpoint re-signed by the retired key, the chain recomputed. */
	{
		json_t *cp = json_array_get(t, (size_t)(last_cp - 1)),
		       *cd = json_object_get(cp, "detail");
		uint8_t sig[SIGKEY_SIG_LEN];
		char hex[2 * SIGKEY_SIG_LEN + 1];
		assert_int_equal(
		    sigkey_sign(key, json_integer_value(json_object_get(cd, "covers_seq")),
		                json_string_value(json_object_get(cd, "covers_hash")), sig, &e),
		    0);
		bg_hex(sig, SIGKEY_SIG_LEN, hex);
		json_object_set_new(cd, "sig", json_string(hex));
		json_object_set_new(cd, "key_id", json_string(sigkey_id(key)));
		rehash(t, (size_t)(last_cp - 1));
	}
	assert_int_equal(averify_new(both, 2, true, &v, &e), 0);
	json_array_foreach(t, i, x) assert_int_equal(averify_record(v, x), 0);
	assert_int_equal(averify_finish(v, &r), 0);
	res = averify_result_json(&r);
	assert_false(r.ok);
	assert_true(has(res, last_cp, "retired_key"));
	assert_int_equal(r.nproblems, 1);
	json_decref(res);
	averify_free(v);
	json_decref(t);
	store_free(s2);
}

static void test_signed_bytes(void **state)
{
	char msg[SIGKEY_MSG_MAX];
	size_t n = sigkey_message(
	    42, "ab00000000000000000000000000000000000000000000000000000000000000", msg);
	uint8_t sig[SIGKEY_SIG_LEN];
	bg_err e;

	assert_int_equal(n, 25 + 3 + 65);
	assert_memory_equal(msg,
	                    "breakglass-checkpoint-v1\n42\nab0000000000000000000000000000000000"
	                    "0000000000000000000000000000\n",
	                    n);
	assert_int_equal(sigkey_sign(key, 42, msg + 28, sig, &e), 0);
	assert_true(sigkey_verify(key, 42, msg + 28, sig));
	assert_false(sigkey_verify(key, 43, msg + 28, sig));
	assert_false(sigkey_verify(other, 42, msg + 28, sig));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cadence),
	    cmocka_unit_test(test_whole),
	    cmocka_unit_test(test_edit),
	    cmocka_unit_test(test_delete),
	    cmocka_unit_test(test_insert),
	    cmocka_unit_test(test_reorder),
	    cmocka_unit_test(test_repeated),
	    cmocka_unit_test(test_forged_signature),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_rewritten),
	    cmocka_unit_test(test_redacted),
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_signed_bytes),
	    cmocka_unit_test(test_canonical_matches_jansson),
	    cmocka_unit_test(test_fast_lines),
	    cmocka_unit_test(test_rotation),
	    cmocka_unit_test(test_timer_checkpoint),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
