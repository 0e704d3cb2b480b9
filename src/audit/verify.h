/*
 * verify.h - checking an audit trail: records in, findings out (docs/audit.md).
 *
 * Pure: it reads no store and no file. The caller feeds records in the order it has them
 * (from the store through the API, or an export's lines), optionally the checkpoints of
 * another copy of the trail (a sink, an earlier export), then finishes; the verifier
 * says whether the trail is whole and, if not, where and how it breaks:
 *
 *   edited         a record's hash is not the hash of its contents
 *   link           a record's prev_hash is not the hash of the record before it (one of
 *                  the two was replaced by a record with a recomputed hash)
 *   deleted        sequence numbers are missing (seq is the first missing one)
 *   inserted       a second, different record claims a sequence number (an exact copy
 *                  of a record, as an at-least-once sink may send, is only counted:
 *                  averify_result.repeated)
 *   reordered      a record comes after one with a higher sequence number
 *   bad_checkpoint a checkpoint does not cover the record just before it
 *   bad_signature  a checkpoint's signature does not verify
 *   unknown_key    a checkpoint names a key the verifier was not given
 *   retired_key    a checkpoint signed by a key that a key-rotation record retired (after
 *                  that record's own checkpoint, the old key's last)
 *   truncated      a checkpoint of the other copy covers records beyond the last here
 *   diverged       a checkpoint of the other copy signed a different hash for a record
 *   malformed      a line that is not a record (seq is the line number, negated)
 *
 * Export lines of the usual shape are read without jansson (verify.c, fast_line: the same
 * result, several times faster); any other line goes through jansson.
 *
 * A record may be redacted (a filtered export: only seq, prev_hash and hash, and
 * "redacted": true): its hash is taken as given, the links through it are still
 * checked, and the result is marked partial.
 */
#ifndef BG_AUDIT_VERIFY_H
#define BG_AUDIT_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/sigkey.h"
#include "common/buf.h"
#include "common/err.h"

typedef struct averify averify;

/* Findings kept in detail; beyond this they are counted only. */
#define AVERIFY_MAX_PROBLEMS 100

typedef struct averify_problem {
	int64_t seq;
	const char *kind; /* one of the names above (static) */
	char message[200];
} averify_problem;

typedef struct averify_result {
	bool ok;             /* whole: no problem found */
	bool partial;        /* redacted records, or the range does not start at seq 1 */
	int64_t records;     /* records read (redacted ones included) */
	int64_t redacted;    /* of which redacted */
	int64_t checkpoints; /* checkpoint records read */
	int64_t first_seq;   /* 0 when there are no records */
	int64_t last_seq;    /* the highest seq read */
	int64_t signed_seq;  /* the highest seq covered by a checkpoint that verified */
	int64_t repeated;    /* exact copies of a record read again (not in records): a sink
	                        that delivers at least once may send a few twice */
	size_t nproblems;    /* problems found (problems[] holds the first of them) */
	const averify_problem *problems; /* owned by the verifier */
	size_t nkept;                    /* entries in problems[] */
} averify_result;

/* A verifier trusting the n public keys in keys (borrowed: they must outlive it). With
 * from_one, a trail that does not start at seq 1 is missing its head (the whole store);
 * without, it is a partial range (an export). */
int averify_new(const sigkey *const *keys, size_t n, bool from_one, averify **out,
                bg_err *e) BG_MUST_CHECK;

/* Frees v. Accepts NULL. */
void averify_free(averify *v);

/* Feeds one record (borrowed JSON object, as audit_read() gives it). BG_ENOMEM only:
 * a bad record is a finding, not an error. */
int averify_record(averify *v, json_t *rec) BG_MUST_CHECK;

/* Feeds one line of an export (n bytes, no newline needed; a blank line is skipped):
 * parses it (duplicate keys refused) and calls averify_record; a line that is not a
 * JSON object is a "malformed" finding. BG_ENOMEM only. */
int averify_line(averify *v, const char *line, size_t n) BG_MUST_CHECK;

/* Feeds a checkpoint record from another copy of the trail (only kind "checkpoint"
 * records are used; others are ignored). BG_ENOMEM only. */
int averify_reference(averify *v, json_t *rec) BG_MUST_CHECK;

/* The seq of the last record fed that had a seq (0: none yet): where a reader paging
 * through the store goes on. */
int64_t averify_last_seq(const averify *v);

/* Checks what was fed and fills *out (valid until v is freed). Call once. */
int averify_finish(averify *v, averify_result *out) BG_MUST_CHECK;

/* The canonical JSON the chain hash covers (docs/audit.md): rec (an object) without its
 * "hash", as json_dumps(JSON_SORT_KEYS | JSON_COMPACT) writes it, into b (reset first).
 * 0, BG_ENOMEM, or BG_ELIMIT when it is nested too deep or b's maximum is reached. */
int averify_canonical(json_t *rec, bg_buf *b) BG_MUST_CHECK;

/* For tests and the fuzz target: with on=false every line goes through jansson (the
 * reference the fast reader is compared with). */
void averify_set_fast(averify *v, bool on);

/* For tests and the fuzz target: the canonical text averify_line() hashes for an export
 * line when it reads the line without jansson (*canon valid until the next call); 1 when
 * it does not (the line then goes through jansson and averify_canonical). */
int averify_line_canonical(averify *v, const char *line, size_t n, const char **canon,
                           size_t *len) BG_MUST_CHECK;

/* The result as {"ok", "partial", "records", "redacted", "checkpoints", "first_seq",
 * "last_seq", "signed_seq", "problems": [{"seq", "kind", "message"}], "problems_total"};
 * new reference, NULL when out of memory. */
json_t *averify_result_json(const averify_result *r);

#endif
