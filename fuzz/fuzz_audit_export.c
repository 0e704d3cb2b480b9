/*
 * fuzz_audit_export.c - libFuzzer target for `audit verify --file`'s record and export
 * line parser and the verifier behind it (audit/verify.h). The first byte chooses
 * whether the lines are the trail (0) or, from 1 on, the trail's first half and another
 * copy's checkpoints; the rest is split at newlines. The seeds are a real chain with a
 * checkpoint signed by the key below (fuzz/seeds/fuzz_audit_export). Promises checked:
 * no crash or leak, finish succeeds, ok exactly when no problem was found, the kept
 * findings are within bounds and each names a kind, and the seq range is ordered; and
 * for every line that parses, the verifier's own canonical JSON (averify_canonical) is
 * byte for byte what jansson's json_dumps(JSON_SORT_KEYS | JSON_COMPACT) makes of it; and
 * the reader that skips jansson (fast_line) never accepts a line jansson refuses, gives
 * the same canonical text when it accepts one, and a second verifier fed every line
 * through jansson finds exactly the same (a differential check).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/verify.h"
#include "fuzz.h"

static const char pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                              "MCowBQYDK2VwAyEAKn6bTP5UHL07RCresWC/RN7/GbgbhiJ4daWdHwS2ags=\n"
                              "-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sigkey *key;
	const sigkey *keys[1];
	averify_result r;
	averify *v = NULL, *slow = NULL, *probe = NULL;
	averify_result r2;
	const char *p, *end, *nl;
	size_t line = 0, i;
	bool ref;
	bg_err e;

	if (key == NULL && sigkey_from_public_pem(pub_pem, sizeof(pub_pem) - 1, &key, &e) != 0)
		abort();
	if (size < 1)
		return 0;
	ref = data[0] != 0;
	keys[0] = key;
	CHECK(averify_new(keys, 1, data[0] == 0, &v, &e) == 0);
	CHECK(averify_new(keys, 1, data[0] == 0, &slow, &e) == 0);
	CHECK(averify_new(keys, 1, false, &probe, &e) == 0);
	averify_set_fast(slow, false);
	p = (const char *)data + 1;
	end = (const char *)data + size;
	for (; p < end; p = nl + 1, line++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (ref && line % 2 == 1) {
			json_t *j = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, NULL);
			if (j != NULL) {
				CHECK(averify_reference(v, j) == 0);
				CHECK(averify_reference(slow, j) == 0);
			}
			json_decref(j);
		} else {
			json_t *j = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, NULL);
			const char *fc = NULL;
			size_t fn = 0;
			CHECK(averify_line(v, p, (size_t)(nl - p)) == 0);
			CHECK(averify_line(slow, p, (size_t)(nl - p)) == 0);
			if (averify_line_canonical(probe, p, (size_t)(nl - p), &fc, &fn) == 0) {
				bg_buf b;
				CHECK(json_is_object(j)); /* accepted only what jansson accepts */
				bg_buf_init(&b, (size_t)1 << 26);
				if (averify_canonical(j, &b) == 0)
					CHECK(b.len == fn && memcmp(b.data, fc, fn) == 0);
				bg_buf_free(&b);
			}
			if (json_is_object(j)) {
				bg_buf b;
				char *want;
				json_object_del(j, "hash");
				want = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
				bg_buf_init(&b, (size_t)1 << 26);
				if (want != NULL && averify_canonical(j, &b) == 0)
					CHECK(b.len == strlen(want) &&
					      memcmp(b.data, want, b.len) == 0);
				free(want);
				bg_buf_free(&b);
			}
			json_decref(j);
		}
	}
	CHECK(averify_finish(v, &r) == 0);
	CHECK(averify_finish(slow, &r2) == 0);
	CHECK(r.ok == r2.ok && r.partial == r2.partial && r.records == r2.records &&
	      r.redacted == r2.redacted && r.checkpoints == r2.checkpoints &&
	      r.first_seq == r2.first_seq && r.last_seq == r2.last_seq &&
	      r.signed_seq == r2.signed_seq && r.nproblems == r2.nproblems && r.nkept == r2.nkept);
	for (i = 0; i < r.nkept; i++)
		CHECK(r.problems[i].seq == r2.problems[i].seq &&
		      strcmp(r.problems[i].kind, r2.problems[i].kind) == 0 &&
		      strcmp(r.problems[i].message, r2.problems[i].message) == 0);
	CHECK(r.ok == (r.nproblems == 0));
	CHECK(r.nkept <= AVERIFY_MAX_PROBLEMS && r.nkept <= r.nproblems);
	CHECK(r.first_seq <= r.last_seq);
	CHECK(r.redacted <= r.records);
	for (i = 0; i < r.nkept; i++)
		CHECK(r.problems[i].kind != NULL &&
		      memchr(r.problems[i].message, '\0', sizeof(r.problems[i].message)) != NULL);
	json_decref(averify_result_json(&r));
	averify_free(v);
	averify_free(slow);
	averify_free(probe);
	return 0;
}
