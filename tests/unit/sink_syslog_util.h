/*
 * sink_syslog_util.h - what the syslog sink's tests share: a real audit trail (written
 * by audit.c into a store of its own, with signed checkpoints, one record far longer than
 * a datagram and one with non-ASCII text) as the export lines a sink is handed, the
 * parsing of a received RFC 5424 message back into its MSG, and verifying a received
 * copy with verify.c. Header-only; include after cmocka.h and unit_util.h.
 */
#ifndef BG_SINK_SYSLOG_UTIL_H
#define BG_SINK_SYSLOG_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/sigkey.h"
#include "audit/sink.h"
#include "audit/verify.h"
#include "store/store.h"

#define SU_BIG_LEN 20000 /* the long record's body: more than a datagram takes */

typedef struct su_trail {
	sink_rec *recs;
	char **lines;
	size_t n;
	sigkey *key;
} su_trail;

static inline int su_collect(void *ctx, json_t *rec)
{
	return json_array_append(ctx, rec) != 0;
}

/* Writes nrec records (checkpoints every 4 come between them) into a store in dir and
 * fills t with every record of the trail as its export line. Record 3 has a body of
 * SU_BIG_LEN bytes, record 5 non-ASCII text, record 6 is a denial. 0 or -1. */
static inline int su_trail_make(const char *dir, int nrec, su_trail *t)
{
	char path[256], *big;
	store *st = NULL;
	audit_log *a = NULL;
	json_t *all, *x;
	bg_err e;
	size_t i;
	int k;

	memset(t, 0, sizeof(*t));
	snprintf(path, sizeof(path), "%s/data", dir);
	if (store_open(path, true, &st, &e) != 0 || audit_open(st, &a, &e) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/data/audit-signing.key", dir);
	if (sigkey_load(path, true, &t->key, &e) != 0)
		return -1;
	audit_set_checkpoints(a, t->key, 4, 60000);
	big = malloc(SU_BIG_LEN + 1);
	if (big == NULL)
		return -1;
	memset(big, 'x', SU_BIG_LEN);
	big[SU_BIG_LEN] = '\0';
	for (k = 0; k < nrec; k++) {
		json_t *d = json_pack("{s:i,s:s}", "n", k, "body",
		                      k == 3   ? big
		                      : k == 5 ? "caf\xc3\xa9 \xe2\x82\xac \"quoted\" \\ tab\t"
		                               : "{\"TableName\":\"orders\"}");
		audit_record r = {.kind = k == 6 ? "denial" : "request",
		                  .actor = "alice",
		                  .op = "GetItem",
		                  .decision = k == 6 ? "deny" : "allow",
		                  .detail = d};
		int rc = audit_append(a, &r, NULL, &e);
		json_decref(d);
		if (rc != 0) {
			free(big);
			return -1;
		}
	}
	free(big);
	all = json_array();
	if (all == NULL || audit_read(a, 0, 0, su_collect, all, &e) != 0)
		return -1;
	audit_free(a);
	store_free(st);
	t->n = json_array_size(all);
	t->recs = calloc(t->n, sizeof(*t->recs));
	t->lines = calloc(t->n, sizeof(*t->lines));
	if (t->recs == NULL || t->lines == NULL)
		return -1;
	json_array_foreach(all, i, x)
	{
		t->lines[i] = json_dumps(x, JSON_COMPACT); /* as audit export writes it */
		if (t->lines[i] == NULL)
			return -1;
		t->recs[i].seq = json_integer_value(json_object_get(x, "seq"));
		t->recs[i].ts_ms =
		    1796083200123LL + (int64_t)i * 1000; /* 2026-12-01T00:00:00.123Z */
		t->recs[i].kind = strdup(json_string_value(json_object_get(x, "kind")));
		t->recs[i].line = t->lines[i];
		t->recs[i].len = strlen(t->lines[i]);
	}
	json_decref(all);
	return 0;
}

static inline void su_trail_free(su_trail *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->lines[i]);
		free((char *)t->recs[i].kind);
	}
	free(t->lines);
	free(t->recs);
	sigkey_free(t->key);
	memset(t, 0, sizeof(*t));
}

/* The MSG of an RFC 5424 message as this sink writes it (after the seventh space), or
 * NULL. */
static inline const char *su_msg(const char *m, size_t n, size_t *len)
{
	size_t i, sp = 0;

	for (i = 0; i < n; i++)
		if (m[i] == ' ' && ++sp == 7) {
			*len = n - i - 1;
			return m + i + 1;
		}
	return NULL;
}

/* The stub of record line: {"seq","prev_hash","hash","redacted":true}, a heap string. */
static inline char *su_stub_of(const char *line)
{
	json_t *r = json_loads(line, 0, NULL), *s;
	char *out;

	s = json_pack("{s:O,s:O,s:O,s:b}", "seq", json_object_get(r, "seq"), "prev_hash",
	              json_object_get(r, "prev_hash"), "hash", json_object_get(r, "hash"),
	              "redacted", 1);
	out = json_dumps(s, JSON_COMPACT);
	json_decref(s);
	json_decref(r);
	return out;
}

/* Verifies lines[0..n) as an export with key; *partial says whether some were redacted.
 * True when whole. */
static inline bool su_verify(const sigkey *key, char **lines, size_t n, bool *partial)
{
	const sigkey *keys[1] = {key};
	averify *v = NULL;
	averify_result r;
	bg_err e;
	size_t i;
	bool ok;

	if (averify_new(keys, 1, true, &v, &e) != 0)
		return false;
	for (i = 0; i < n; i++)
		if (averify_line(v, lines[i], strlen(lines[i])) != 0) {
			averify_free(v);
			return false;
		}
	if (averify_finish(v, &r) != 0) {
		averify_free(v);
		return false;
	}
	ok = r.ok;
	*partial = r.partial;
	averify_free(v);
	return ok;
}

#endif
