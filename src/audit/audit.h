/*
 * audit.h - the write-ahead audit log.
 *
 * Every request the gateway receives is recorded before it is forwarded, and every
 * response before it is released: audit_append() returns only once the record is
 * durable (fsynced), and a failure means the caller must refuse (fail closed); the
 * gateway's loops use audit_submit(), which returns at once and calls back when the
 * record is durable. Appends from many threads are group-committed by one committer
 * thread: records that arrive while a sync is in progress share the next one, so
 * throughput is bounded by batches, not records.
 *
 * A state change records itself differently: audit_append_tx() puts its record into the
 * store transaction that makes the change, so the two commit together or not at all
 * (the service layer, workflow/service.c, does every action so).
 *
 * Records live in the store's audit table (store.h), each chained to the previous by
 * hash = SHA-256(prev_hash || canonical JSON of the record), so verification and sinks
 * (JSON lines, syslog, CloudWatch) can be added without changing the record. The chain
 * rules are this module's; the store keeps the rows.
 */
#ifndef BG_AUDIT_H
#define BG_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "audit/sigkey.h"
#include "common/buf.h"
#include "common/err.h"
#include "store/store.h"

typedef struct audit_log audit_log;

/* What a response record charged to its grant's budgets (gateway/spend.h). The record's
 * own transaction adds it to the store's running totals (store_spend_add), so the totals
 * are always what the committed trail charged. */
typedef struct audit_charge {
	const char *runbook; /* NULL: outside runbooks */
	double read, write;  /* >= 0 */
} audit_charge;

/* One record. Every field may be NULL/0 except kind. Strings are copied. */
typedef struct audit_record {
	const char *kind;       /* "request", "response", "denial", "grant", "revoke", "creds",
	                           "user", "init", ... */
	const char *actor;      /* user name, or the access key id when no user is known */
	const char *grant_id;   /* grant the request ran under */
	const char *request_id; /* the gateway's x-amzn-RequestId, joining request and response */
	const char *op;         /* DynamoDB operation or API action */
	const char *tables;     /* comma-separated table names */
	const char *decision;   /* "allow" or "deny" */
	const char *reason;     /* why (denial reason, grant reason) */
	int status;             /* HTTP status of a response, 0 for others */
	json_t *detail;         /* borrowed; extra fields (body, sizes, consumed capacity) */
	const audit_charge *charge; /* borrowed; NULL: charges nothing (needs grant_id) */
} audit_record;

/* Opens the audit log kept in st (borrowed: it must outlive the log) and starts the
 * committer thread. */
int audit_open(store *st, audit_log **out, bg_err *e) BG_MUST_CHECK;

/* Makes the committer append a signed checkpoint record (kind "checkpoint", docs/audit.md)
 * after every `every` records and, while records are not covered by one, at least every
 * ms milliseconds (0 for either: the defaults in limits.h). Its detail is {"covers_seq",
 * "covers_hash", "key_id", "sig", "v": 1}: the chain head it covers (the record just
 * before it) and key's Ed25519 signature of sigkey_message(covers_seq, covers_hash).
 * key is borrowed and must outlive the log. Call once, after audit_open. */
void audit_set_checkpoints(audit_log *a, const sigkey *key, int64_t every, int64_t ms);

/* What each batch of the committer passes once it is durable, before its callers hear
 * (audit/sinks.h: the required sinks must take it): fn(ctx, seq, e) gets the batch's
 * highest seq and returns 0, or an error, which the batch's callers get (the records stay
 * in the store; the actions they describe are refused). Runs on the committer thread;
 * it may wait, bounded. Records appended with audit_append_tx do not pass it. fn NULL:
 * none. Changing it waits until the committer is out of the old one, so once clearing
 * returns what ctx points to may be freed (make the old gate return soon first). */
typedef int (*audit_gate_fn)(void *ctx, int64_t seq, bg_err *e);
/* ready(ctx, e): 0 when whatever the gate waits for can take records now (every required
 * sink is up), else an error saying which cannot. May be NULL. */
typedef int (*audit_ready_fn)(void *ctx, bg_err *e);
void audit_set_gate(audit_log *a, audit_gate_fn fn, audit_ready_fn ready, void *ctx);

/* Whether a state change may be made now (the service layer asks before it begins one):
 * its record commits with it in the caller's transaction (audit_append_tx), past the
 * gate, so while a required sink is down the change is refused instead. 0, or the gate's
 * error (BG_EIO). Thread-safe. */
int audit_ready(audit_log *a, bg_err *e) BG_MUST_CHECK;

/* Stops the committer after it has written what is queued (every pending callback
 * runs). Accepts NULL. */
void audit_free(audit_log *a);

/* Appends r and waits until it is durable. On success *seq (if not NULL) is the record's
 * sequence number. Any failure (queue full, disk error) is returned: the caller must not
 * proceed with the action the record describes. Thread-safe. */
int audit_append(audit_log *a, const audit_record *r, int64_t *seq, bg_err *e) BG_MUST_CHECK;

/* Key rotation (docs/audit.md): appends r (the key-rotation record) like audit_append,
 * and in the same transaction a checkpoint over it signed by the current key; once that
 * commits, every later checkpoint is signed by next (borrowed: it must outlive the log).
 * So the old key's signature covers the record naming the new key, and no checkpoint
 * after it is the old key's. *seq is the record's seq, *cp_seq the checkpoint's (either
 * may be NULL). A failure may still leave the rotation done later (a timeout, like
 * audit_append's): the caller settles it from the trail. */
int audit_rotate_key(audit_log *a, const audit_record *r, const sigkey *next, int64_t *seq,
                     int64_t *cp_seq, bg_err *e) BG_MUST_CHECK;

/* Appends r to the chain inside tx, the caller's transaction, which the caller then
 * commits (the record is durable once store_commit() returns) or rolls back (the record
 * is gone, and the chain has no gap). It claims the chain until tx ends, holding up
 * every other append, the gateway's included: make it the transaction's last operation.
 * On success *seq (if not NULL) is the record's sequence number, valid once tx commits;
 * on failure the caller must roll tx back. Thread-safe. */
int audit_append_tx(audit_log *a, store_tx *tx, const audit_record *r, int64_t *seq,
                    bg_err *e) BG_MUST_CHECK;

/* Completion of an asynchronous append: rc is 0 once the record is durable (seq is its
 * sequence number), or the error (e says why; the action must not proceed). Runs on the
 * committer thread: keep it short (hand the result to the caller's own thread). */
typedef void (*audit_done_fn)(void *arg, int rc, int64_t seq, const bg_err *e);

/* Queues r and returns at once; fn(arg, ...) runs exactly once when the record is
 * durable or has failed. Returns 0, or an error (fn will not run) when the record cannot
 * be queued: too large, queue full, log closing. Thread-safe. */
int audit_submit(audit_log *a, const audit_record *r, audit_done_fn fn, void *arg,
                 bg_err *e) BG_MUST_CHECK;

/* audit_submit() without waking the committer: the caller queues what it has at hand
 * (an event loop, the records of one turn) and then calls audit_flush(), so the records
 * go to the committer together, with one wake-up, and into one batch. Until a flush (by
 * this caller, or a submit by another) the records may wait. Thread-safe. */
int audit_submit_held(audit_log *a, const audit_record *r, audit_done_fn fn, void *arg,
                      bg_err *e) BG_MUST_CHECK;
void audit_flush(audit_log *a);

/* Calls fn with each record (as a JSON object with seq, ts, kind, ... , prev_hash, hash)
 * whose seq is greater than after, in order, at most limit of them. fn returns 0 to go
 * on. The object is borrowed for the call. */
/* audit_read() backwards: records below seq before (<= 0: from the newest), newest first. */
int audit_read_back(audit_log *a, int64_t before, int64_t limit, int (*fn)(void *ctx, json_t *rec),
                    void *ctx, bg_err *e) BG_MUST_CHECK;

int audit_read(audit_log *a, int64_t after, int64_t limit, int (*fn)(void *ctx, json_t *rec),
               void *ctx, bg_err *e) BG_MUST_CHECK;

/* The records after seq `after` (at most limit) appended to out as JSON lines, one record
 * a line with its keys sorted and its hash: what `audit export` writes, built from the
 * stored text without a JSON tree (detail as stored). When out's maximum is reached the
 * page ends before the record that did not fit (*n says how many were written, *last
 * the seq of the last, 0 if none; a reader goes on after it); BG_ELIMIT when not even
 * one fits. n and last may be NULL. */
int audit_read_lines(audit_log *a, int64_t after, int64_t limit, bg_buf *out, int64_t *n,
                     int64_t *last, bg_err *e) BG_MUST_CHECK;

/* audit_read() of the records whose request_id is request_id (a request and its
 * response or denial), oldest first, at most limit of them. */
int audit_read_request(audit_log *a, const char *request_id, int64_t limit,
                       int (*fn)(void *ctx, json_t *rec), void *ctx, bg_err *e) BG_MUST_CHECK;

/* Recomputes the whole chain: seqs contiguous from 1, each prev_hash equal to the hash
 * of the record before (64 zero digits for the first), and each hash equal to
 * SHA-256(prev_hash bytes || canonical JSON), where the canonical JSON is the record as
 * audit_read() gives it without "hash", serialised by jansson with
 * JSON_SORT_KEYS|JSON_COMPACT. Returns 0 with *count (if not NULL) records checked, or
 * BG_EINVAL with *bad_seq (if not NULL) the first record that does not verify; BG_EIO
 * when the store cannot be read. */
int audit_verify(audit_log *a, int64_t *count, int64_t *bad_seq, bg_err *e) BG_MUST_CHECK;

/* Appends the n bytes at p (valid UTF-8) as a JSON string exactly as jansson's dump_string
 * writes it without JSON_ESCAPE_SLASH or JSON_ENSURE_ASCII: \" \\ \b \f \n \r \t, other
 * control characters as \u00XX (upper-case hex), everything else verbatim. The chain's
 * canonical text is made of these (here and in verify.c). 0 or b's error. */
int audit_json_string(bg_buf *b, const char *p, size_t n) BG_MUST_CHECK;

/* Counters since audit_open (for benchmarks and metrics), of the committer's batches
 * (records appended with audit_append_tx are the callers' transactions). */
typedef struct audit_stats {
	int64_t records;        /* records committed */
	int64_t batches;        /* committed transactions, one durable sync each */
	int64_t failed_batches; /* transactions rolled back; their appends got an error */
	int64_t max_batch;      /* most records committed in one transaction */
	int64_t gate_failures;  /* committed batches the gate refused (audit_set_gate) */
	int64_t commit_us;      /* time spent committing batches, syncs included */
} audit_stats;

void audit_get_stats(audit_log *a, audit_stats *out);

#endif
