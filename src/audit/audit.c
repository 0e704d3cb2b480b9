/*
 * audit.c - the write-ahead, hash-chained audit log with group commit (see audit.h).
 *
 * audit_submit() and audit_append() copy the record in the caller's thread (strings, and
 * the detail serialised) and queue it (at most BG_AUDIT_QUEUE waiting; beyond that it
 * fails at once with BG_ELIMIT, so a stuck disk refuses requests instead of piling them
 * up). One committer thread takes everything queued, appends it in one store
 * transaction (store.h: durable once store_commit() returns) and then completes the
 * batch: an asynchronous caller's callback runs (the gateway's loops post the request
 * back to themselves, so a batch costs each loop one wake-up), a blocking caller is
 * woken. Records that arrive during a sync wait and form the next batch, so throughput
 * grows with concurrency and no loop thread ever waits for the disk. A loop queues with
 * audit_submit_held() and wakes the committer once at the end of its turn
 * (audit_flush()), so the records of one turn share a wake-up and a batch.
 *
 * audit_append_tx() chains a record into a transaction of the caller's instead, with no
 * queue: it commits with the state change the caller made in the same transaction, and
 * is durable when that commit returns.
 *
 * Checkpoints (with SQLite, copying the WAL into the database: three more syncs) are
 * kept out of the commits: the store makes none by itself. Every CKPT_EVERY commits the
 * committer asks the checkpointer thread for one (store_maintain()), which runs beside
 * the commits, so no record waits the several milliseconds it takes. The records
 * committed while it ran are not in the database yet, and the WAL restarts from its
 * beginning only once everything in it is: overwriting the WAL costs less to sync than
 * growing it. So after each checkpoint the committer itself catches up between two
 * batches (store_maintain() again, which copies only what those commits added), and
 * the next commit restarts the WAL.
 *
 * The chain head (last seq and hash) is read inside each transaction, never cached:
 * another process (the CLI's init, a second gateway) or a service transaction may have
 * appended since, and store_audit_head() claims the table until the transaction ends,
 * which makes the read-then-append atomic across processes. A failed batch is rolled
 * back as a whole and every caller in it gets BG_EIO; the chain is untouched.
 *
 * Each record's hash is SHA-256(prev_hash bytes || canonical JSON), the canonical JSON
 * being what jansson's json_dumps(JSON_SORT_KEYS | JSON_COMPACT) makes of the record
 * object audit_read() returns, minus "hash" (NULL columns as JSON null, detail as JSON).
 * Because the record's keys are fixed, canonical() writes that text directly, with
 * jansson's exact string escaping, instead of building and sorting a json_t per record:
 * it is the committer's and `audit verify`'s inner loop. The unit tests recompute the chain
 * with jansson itself to hold the two to the same bytes. Strings that are not valid
 * UTF-8 (hostile input logged verbatim) have invalid bytes replaced by U+FFFD so they
 * can be recorded at all. The store keeps the rows exactly as given (store_audit_row);
 * this file knows no SQL.
 */
#include "audit/audit.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/limits.h"

#define CP_KIND "checkpoint"

#define DUMP_FLAGS (JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY)
/* Checkpoint after this many commits (SQLite's own default is every 1000 WAL pages,
 * inside a commit). */
#define CKPT_EVERY 512
/* A record's strings and detail text together: room for a request body twice over
 * (the detail may carry it, escaped) and the small fields. A larger record is refused
 * on its own, before it can fail a whole batch. */
#define RECORD_MAX ((size_t)2 * BG_MAX_REQUEST_BODY + 65536)
/* Its canonical text: escaping turns a byte into at most six. */
#define CANON_MAX (6 * RECORD_MAX + 1024)

/* The names of a record's text fields (store_audit_row.f). */
static const char *const field_name[STORE_AUDIT_FIELDS] = {
    [STORE_AUDIT_KIND] = "kind",
    [STORE_AUDIT_ACTOR] = "actor",
    [STORE_AUDIT_GRANT] = "grant_id",
    [STORE_AUDIT_REQUEST] = "request_id",
    [STORE_AUDIT_OP] = "op",
    [STORE_AUDIT_TABLES] = "tables",
    [STORE_AUDIT_DECISION] = "decision",
    [STORE_AUDIT_REASON] = "reason",
};

/* A string with its length; p == NULL stands for JSON null (and a null column). */
typedef store_text sv;

typedef struct entry {
	struct entry *next;
	sv f[STORE_AUDIT_FIELDS]; /* point into arena */
	char *arena;              /* the field strings, NUL-separated, valid UTF-8 */
	char *detail;             /* detail as canonical JSON text, or NULL */
	int status;
	bool charged; /* the record charges its grant: charge_rb (in arena, or NULL), charge */
	const char *charge_rb;
	double charge_read, charge_write;
	pthread_cond_t cv; /* signalled when done: wakes this caller only */
	bool cv_ready;
	audit_done_fn done_fn; /* asynchronous caller: called instead of signalling cv */
	void *done_arg;
	const sigkey *rotate_to; /* a key-rotation record: the key that signs after it */
	int64_t cp_after;        /* filled in: the checkpoint that covers it (rotations) */
	/* Filled in by the committer, under mu. */
	bool done;
	bool abandoned; /* the caller timed out; whoever writes it frees the entry */
	int rc;
	int64_t seq;
	bg_err err;
} entry;

struct audit_log {
	store *st; /* borrowed */
	const EVP_MD *sha256;
	EVP_MD_CTX *md; /* the committer's only */
	bg_buf canon;   /* the committer's only */

	pthread_mutex_t mu;
	pthread_condattr_t done_attr; /* entries' condition variables use CLOCK_MONOTONIC */
	pthread_cond_t work;          /* the committer waits here for records */
	pthread_cond_t ckpt_work;     /* the checkpointer waits here for a request */
	pthread_t committer, checkpointer;
	bool sync_ready;
	bool committer_running, checkpointer_running;
	bool stop;
	bool writing;       /* the committer is writing a batch */
	int64_t since_ckpt; /* commits since the last checkpoint request */
	bool ckpt_wanted;   /* the committer asked for a checkpoint */
	bool ckpt_busy;     /* the checkpointer is checkpointing */
	bool ckpt_ran;      /* one ran since the committer last caught up */
	entry *qhead, *qtail;
	size_t queued;
	audit_stats stats;
	/* Signed checkpoints (audit_set_checkpoints); the committer's only once set. */
	const sigkey *cp_key; /* NULL: none */
	int64_t cp_every;     /* records between two checkpoints */
	int64_t cp_ms;        /* longest wait for one while records are uncovered */
	int64_t cp_seq;       /* the seq of the last checkpoint this log wrote (0: none) */
	int64_t cp_at_ms;     /* when (monotonic) */
	/* audit_set_gate: what a committed batch waits for before its callers hear. */
	audit_gate_fn gate;
	audit_ready_fn gate_ready;
	void *gate_ctx;
	bool gating;            /* the committer is in gate(): it may not be changed */
	int readying;           /* callers in gate_ready(): neither may it */
	pthread_cond_t gate_cv; /* signalled when the committer leaves gate() */
};

/* --- canonical JSON -------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if invalid. Matches
 * jansson's rules: no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t need, i;
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	need = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	return need;
}

/* What put_str writes for s: its bytes, each quote, backslash and control character
 * escaped (two bytes, or six as \u00XX), and the quotes; or null. With bound, a quick
 * upper limit instead (every byte escaped as \u00XX). */
static size_t str_len(sv s, bool bound)
{
	size_t i, n;

	if (s.p == NULL)
		return 4;
	if (bound)
		return 6 * s.n + 2;
	for (i = 0, n = 2; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];

		n += c >= 0x20 && c != '"' && c != '\\'                               ? 1
		     : c == '"' || c == '\\' || (c >= '\b' && c <= '\r' && c != 0x0b) ? 2
		                                                                      : 6;
	}
	return n;
}

/* s as a JSON string (or null) at w, in space str_len() measured; returns the end. */
static char *put_str(char *w, sv s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	if (s.p == NULL) {
		memcpy(w, "null", 4);
		return w + 4;
	}
	*w++ = '"';
	for (i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (c >= 0x20 && c != '"' && c != '\\') {
			*w++ = (char)c;
			continue;
		}
		*w++ = '\\';
		switch (c) {
		case '"':
		case '\\':
			*w++ = (char)c;
			break;
		case '\b':
			*w++ = 'b';
			break;
		case '\f':
			*w++ = 'f';
			break;
		case '\n':
			*w++ = 'n';
			break;
		case '\r':
			*w++ = 'r';
			break;
		case '\t':
			*w++ = 't';
			break;
		default:
			*w++ = 'u';
			*w++ = '0';
			*w++ = '0';
			*w++ = hex[c >> 4];
			*w++ = hex[c & 15];
		}
	}
	*w++ = '"';
	return w;
}

int audit_json_string(bg_buf *b, const char *p, size_t n)
{
	sv s = {p, n};
	size_t len = str_len(s, false);

	if (bg_buf_reserve(b, len) != 0)
		return b->failed;
	b->len = (size_t)(put_str(b->data + b->len, s) - b->data);
	b->data[b->len] = '\0';
	return 0;
}

/* "%lld" of v at w (at most 20 bytes); returns the end. */
static char *put_int(char *w, int64_t v)
{
	char tmp[20];
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*w++ = '-';
	while (n > 0)
		*w++ = tmp[--n];
	return w;
}

/* The canonical JSON of a record (everything but its hash) appended to b, keys in sorted
 * order; with hash_hex.p set, its "hash" too (where it sorts: an export line).
 * detail is canonical JSON text already (or p == NULL for null). The space is reserved
 * once and the bytes written through a pointer (a call of the bg_buf functions per
 * piece cost more than the copying when the API writes a page of records); the quick
 * bound is used unless it would pass b's maximum, where the exact length decides
 * whether the record fits (a page is filled to its last byte). */
static int record_json(bg_buf *b, int64_t seq, sv ts, const sv f[STORE_AUDIT_FIELDS],
                       int64_t status, sv detail, sv prev_hex, sv hash_hex)
{
	enum { M_STR, M_INT, M_RAW };
#define L(lit) lit, sizeof(lit) - 1
	/* Each member with the punctuation before it; "hash" only on an export line. */
	const struct {
		const char *key;
		size_t kn;
		int type;
		sv s;
		int64_t i;
	} m[] = {
	    {L("{\"actor\":"), M_STR, f[STORE_AUDIT_ACTOR], 0},
	    {L(",\"decision\":"), M_STR, f[STORE_AUDIT_DECISION], 0},
	    {L(",\"detail\":"), M_RAW, detail, 0},
	    {L(",\"grant_id\":"), M_STR, f[STORE_AUDIT_GRANT], 0},
	    {",\"hash\":", hash_hex.p != NULL ? 8 : 0, M_STR, hash_hex, 0},
	    {L(",\"kind\":"), M_STR, f[STORE_AUDIT_KIND], 0},
	    {L(",\"op\":"), M_STR, f[STORE_AUDIT_OP], 0},
	    {L(",\"prev_hash\":"), M_STR, prev_hex, 0},
	    {L(",\"reason\":"), M_STR, f[STORE_AUDIT_REASON], 0},
	    {L(",\"request_id\":"), M_STR, f[STORE_AUDIT_REQUEST], 0},
	    {L(",\"seq\":"), M_INT, {NULL, 0}, seq},
	    {L(",\"status\":"), M_INT, {NULL, 0}, status},
	    {L(",\"tables\":"), M_STR, f[STORE_AUDIT_TABLES], 0},
	    {L(",\"ts\":"), M_STR, ts, 0},
	};
#undef L
	size_t need = 0, i;
	int pass;
	char *w;

	for (pass = 0; pass < 2; pass++) {
		need = 1; /* the closing brace */
		for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
			if (m[i].kn == 0)
				continue;
			need += m[i].kn;
			need += m[i].type == M_INT ? 20
			        : m[i].type == M_RAW && m[i].s.p != NULL
			            ? m[i].s.n
			            : str_len(m[i].s, pass == 0);
		}
		if (b->failed != 0 || need <= b->max - b->len)
			break;
	}
	if (bg_buf_reserve(b, need) != 0)
		return b->failed;
	w = b->data + b->len;
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if (m[i].kn == 0)
			continue;
		memcpy(w, m[i].key, m[i].kn);
		w += m[i].kn;
		if (m[i].type == M_INT) {
			w = put_int(w, m[i].i);
		} else if (m[i].type == M_RAW && m[i].s.p != NULL) {
			memcpy(w, m[i].s.p, m[i].s.n);
			w += m[i].s.n;
		} else
			w = put_str(w, m[i].s);
	}
	*w++ = '}';
	b->len = (size_t)(w - b->data);
	b->data[b->len] = '\0';
	return 0;
}

static int canonical(bg_buf *b, int64_t seq, sv ts, const sv f[STORE_AUDIT_FIELDS], int64_t status,
                     sv detail, sv prev_hex)
{
	bg_buf_reset(b);
	return record_json(b, seq, ts, f, status, detail, prev_hex, (sv){NULL, 0});
}

/* out = SHA-256(prev || text). */
static bool chain_hash(EVP_MD_CTX *md, const EVP_MD *sha, const uint8_t prev[32], const char *text,
                       size_t n, uint8_t out[32])
{
	unsigned int len = 0;

	return EVP_DigestInit_ex(md, sha, NULL) && EVP_DigestUpdate(md, prev, 32) &&
	       EVP_DigestUpdate(md, text, n) && EVP_DigestFinal_ex(md, out, &len) && len == 32;
}

/* A stored chain hash (64 hex digits) as bytes. */
static bool unhex32(const char *s, size_t n, uint8_t out[32])
{
	return s != NULL && n == 64 && bg_unhex(s, 32, out) == 0;
}

/* --- helpers --------------------------------------------------------------------------- */

static void entry_free(entry *en)
{
	if (en == NULL)
		return;
	if (en->cv_ready)
		pthread_cond_destroy(&en->cv);
	free(en->arena);
	free(en->detail);
	free(en);
}

/* RFC 3339 UTC with milliseconds: 2026-11-24T03:27:00.123Z */
static void now_rfc3339(char out[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}

/* --- writing --------------------------------------------------------------------------- */

/* Chains the records of list onto the audit table's head and inserts them, in tx (which
 * the caller ends), adding what they charge to their grants' spent capacity. md and
 * canon are the caller's scratch space. On success every entry has its seq. */
static int append_entries(audit_log *a, store_tx *tx, entry *list, EVP_MD_CTX *md, bg_buf *canon,
                          bg_err *e)
{
	uint8_t prev[32], hash[32];
	char prev_hex[STORE_HASH_HEX + 1], hash_hex[65], ts[32];
	store_audit_row row;
	int64_t seq;
	entry *en;
	int rc;

	rc = store_audit_head(tx, &seq, prev_hex, e);
	if (rc != 0)
		return rc;
	if (seq == 0)
		memset(prev, 0, sizeof(prev));
	else if (!unhex32(prev_hex, strlen(prev_hex), prev))
		return bg_err_set(e, BG_EIO, "audit: chain head %lld is corrupt", (long long)seq);
	now_rfc3339(ts);
	memset(&row, 0, sizeof(row));
	row.ts = (sv){ts, strlen(ts)};
	row.prev_hash = (sv){prev_hex, 64}; /* both rewritten for each record */
	row.hash = (sv){hash_hex, 64};
	for (en = list; en != NULL; en = en->next) {
		row.seq = ++seq;
		memcpy(row.f, en->f, sizeof(row.f));
		row.status = en->status;
		row.detail = (sv){en->detail, en->detail ? strlen(en->detail) : 0};
		bg_hex(prev, 32, prev_hex);
		rc = canonical(canon, seq, row.ts, row.f, row.status, row.detail, row.prev_hash);
		if (rc != 0)
			return bg_err_set(e, BG_ENOMEM, "audit: out of memory");
		if (!chain_hash(md, a->sha256, prev, canon->data, canon->len, hash))
			return bg_err_set(e, BG_EIO, "audit: SHA-256 failed");
		bg_hex(hash, 32, hash_hex);
		rc = store_audit_insert(tx, &row, e);
		if (rc == 0 && en->charged)
			rc = store_spend_add(tx, en->f[STORE_AUDIT_GRANT].p, en->charge_rb,
			                     en->charge_read, en->charge_write, e);
		if (rc != 0)
			return rc;
		en->seq = seq;
		memcpy(prev, hash, 32);
	}
	return 0;
}

/* Writes the batch in one transaction of its own. On success every entry has its seq;
 * on failure nothing of it is kept and the code is BG_EIO (e says why). */
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends a checkpoint over the chain head in tx when one is due: cp_every records
 * since the last one, or cp_ms elapsed with records it does not cover, or force (a key
 * rotation: the old key signs the record that hands over). *wrote says whether it did. */
static int maybe_checkpoint(audit_log *a, store_tx *tx, bool force, bool *wrote, bg_err *e)
{
	char head[STORE_HASH_HEX + 1], sig_hex[2 * SIGKEY_SIG_LEN + 1];
	uint8_t sig[SIGKEY_SIG_LEN];
	int64_t seq, now = mono_ms();
	json_t *d;
	entry *en;
	int rc;

	*wrote = false;
	if (a->cp_key == NULL)
		return 0;
	rc = store_audit_head(tx, &seq, head, e);
	if (rc != 0)
		return rc;
	if (seq <= a->cp_seq ||
	    (!force && seq - a->cp_seq < a->cp_every && now - a->cp_at_ms < a->cp_ms))
		return 0;
	rc = sigkey_sign(a->cp_key, seq, head, sig, e);
	if (rc != 0)
		return rc;
	bg_hex(sig, SIGKEY_SIG_LEN, sig_hex);
	d = json_pack("{s:I,s:s,s:s,s:s,s:i}", "covers_seq", (json_int_t)seq, "covers_hash", head,
	              "key_id", sigkey_id(a->cp_key), "sig", sig_hex, "v", 1);
	en = calloc(1, sizeof(*en));
	if (d == NULL || en == NULL || (en->detail = json_dumps(d, DUMP_FLAGS)) == NULL) {
		json_decref(d);
		entry_free(en);
		return bg_err_set(e, BG_ENOMEM, "audit: out of memory");
	}
	json_decref(d);
	en->f[STORE_AUDIT_KIND] = (sv){CP_KIND, sizeof(CP_KIND) - 1};
	rc = append_entries(a, tx, en, a->md, &a->canon, e);
	if (rc == 0) {
		*wrote = true;
		a->cp_seq = en->seq;
		a->cp_at_ms = now;
	}
	entry_free(en);
	return rc;
}

/* Writes the batch in one transaction of its own, with a checkpoint after it when one
 * is due. On success every entry has its seq; on failure nothing of it is kept and the
 * code is BG_EIO (e says why). */
static int write_batch(audit_log *a, entry *list, bg_err *e)
{
	int64_t saved_seq = a->cp_seq, saved_at = a->cp_at_ms;
	entry *rot = NULL, *en;
	store_tx *tx;
	bool wrote = false;
	int rc;

	for (en = list; en != NULL; en = en->next)
		if (en->rotate_to != NULL)
			rot = en;
	if (rot != NULL && a->cp_key == NULL)
		return bg_err_set(e, BG_EINVAL, "audit: no checkpoint key to rotate from");
	rc = store_begin(a->st, &tx, e);
	if (rc == 0) {
		rc = append_entries(a, tx, list, a->md, &a->canon, e);
		if (rc == 0)
			rc = maybe_checkpoint(a, tx, rot != NULL, &wrote, e);
		if (rc == 0 && rot != NULL && !wrote)
			rc = bg_err_set(e, BG_EIO, "audit: the key rotation was not checkpointed");
		rc = store_end(tx, rc, e);
	}
	if (rc != 0) {
		a->cp_seq = saved_seq; /* the checkpoint, if any, was rolled back too */
		a->cp_at_ms = saved_at;
	} else if (rot != NULL) {
		/* The old key signed the handover; every later checkpoint is the new key's. */
		rot->cp_after = a->cp_seq;
		pthread_mutex_lock(&a->mu);
		a->cp_key = rot->rotate_to;
		pthread_mutex_unlock(&a->mu);
	}
	if (rc != 0 && e != NULL)
		e->code = BG_EIO;
	return rc != 0 ? BG_EIO : 0;
}

/* The timer's checkpoint when no records arrive: records appended since the last one
 * (by earlier batches or audit_append_tx) get covered within cp_ms. */
static void timed_checkpoint(audit_log *a)
{
	int64_t saved_seq = a->cp_seq, saved_at = a->cp_at_ms;
	store_tx *tx;
	bool wrote = false;
	bg_err e;
	int rc = store_begin(a->st, &tx, &e);

	if (rc != 0)
		return;
	rc = maybe_checkpoint(a, tx, false, &wrote, &e);
	if (rc == 0 && !wrote) {
		store_rollback(tx); /* nothing to cover: no commit, no sync */
		a->cp_at_ms = mono_ms();
		return;
	}
	if (store_end(tx, rc, &e) != 0) {
		a->cp_seq = saved_seq;
		a->cp_at_ms = saved_at;
		fprintf(stderr, "breakglass: audit checkpoint failed: %s\n", e.msg);
	}
}

/* Commits every queued record as one batch and completes its callers. Called and
 * returns with mu held; drops it while writing, while calling callbacks and while
 * catching up after a checkpoint. */
static void commit_queued(audit_log *a)
{
	entry *list = a->qhead, *en, *next, *async = NULL, **async_tail = &async;
	int64_t n = (int64_t)a->queued;
	bool catch_up;
	bg_err err;
	int64_t t0;
	int rc, gated = 0;

	a->qhead = a->qtail = NULL;
	a->queued = 0;
	a->writing = true;
	pthread_mutex_unlock(&a->mu);

	bg_err_clear(&err);
	t0 = bg_mono_us();
	rc = write_batch(a, list, &err);
	t0 = bg_mono_us() - t0;

	pthread_mutex_lock(&a->mu);
	a->stats.commit_us += t0;
	if (rc == 0 && a->gate != NULL) {
		audit_gate_fn gate = a->gate;
		void *ctx = a->gate_ctx;
		int64_t last = 0;

		for (en = list; en != NULL; en = en->next)
			last = en->seq;
		a->gating = true;
		pthread_mutex_unlock(&a->mu);
		gated = gate(ctx, last, &err);
		pthread_mutex_lock(&a->mu);
		a->gating = false;
		pthread_cond_broadcast(&a->gate_cv);
	}
	if (rc == 0) {
		a->stats.records += n;
		a->stats.batches++;
		if (n > a->stats.max_batch)
			a->stats.max_batch = n;
		if (++a->since_ckpt >= CKPT_EVERY && !a->ckpt_wanted && !a->ckpt_busy) {
			a->since_ckpt = 0;
			a->ckpt_wanted = true;
			pthread_cond_signal(&a->ckpt_work);
		}
	} else {
		a->stats.failed_batches++;
	}
	if (gated != 0) {
		a->stats.gate_failures++;
		rc = gated; /* kept, but not accepted where it had to be: refuse */
	}
	for (en = list; en != NULL; en = next) {
		next = en->next;
		en->rc = rc;
		en->err = err;
		en->done = true;
		if (en->done_fn != NULL) {
			en->next = NULL;
			*async_tail = en;
			async_tail = &en->next;
		} else if (en->abandoned) {
			entry_free(en);
		} else {
			pthread_cond_signal(&en->cv);
		}
	}
	catch_up = a->ckpt_ran;
	a->ckpt_ran = false;
	pthread_mutex_unlock(&a->mu);
	for (en = async; en != NULL; en = next) {
		next = en->next;
		en->done_fn(en->done_arg, en->rc, en->seq, &en->err);
		entry_free(en);
	}
	if (catch_up)
		store_maintain(a->st);
	pthread_mutex_lock(&a->mu);
	a->writing = false;
}

static void *committer_main(void *arg)
{
	audit_log *a = arg;

	pthread_setname_np(pthread_self(), "bg-audit"); /* top -H, perf, /proc */
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (a->qhead == NULL && !a->stop) {
			struct timespec until;
			int64_t due;

			if (a->cp_key == NULL) {
				pthread_cond_wait(&a->work, &a->mu);
				continue;
			}
			due = a->cp_at_ms + a->cp_ms;
			until.tv_sec = due / 1000;
			until.tv_nsec = (long)(due % 1000) * 1000000;
			if (pthread_cond_timedwait(&a->work, &a->mu, &until) == ETIMEDOUT &&
			    a->qhead == NULL && !a->stop) {
				a->writing = true;
				pthread_mutex_unlock(&a->mu);
				timed_checkpoint(a);
				pthread_mutex_lock(&a->mu);
				a->writing = false;
			}
		}
		if (a->qhead == NULL)
			break; /* stopping, and everything queued is written */
		commit_queued(a);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* Checkpoints when the committer asks, beside its commits. */
static void *checkpointer_main(void *arg)
{
	audit_log *a = arg;

	pthread_setname_np(pthread_self(), "bg-checkpoint"); /* top -H, perf, /proc */
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->ckpt_wanted && !a->stop)
			pthread_cond_wait(&a->ckpt_work, &a->mu);
		if (a->stop)
			break;
		a->ckpt_wanted = false;
		a->ckpt_busy = true;
		pthread_mutex_unlock(&a->mu);
		store_maintain(a->st);
		pthread_mutex_lock(&a->mu);
		a->ckpt_busy = false;
		a->ckpt_ran = true;
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* --- open and close -------------------------------------------------------------------- */

/* The mutex and the attributes of the callers' condition variables. */
static bool sync_init(audit_log *a)
{
	if (pthread_mutex_init(&a->mu, NULL) != 0)
		return false;
	if (pthread_condattr_init(&a->done_attr) != 0)
		goto fail_mu;
	if (pthread_condattr_setclock(&a->done_attr, CLOCK_MONOTONIC) != 0) {
		pthread_condattr_destroy(&a->done_attr);
		goto fail_mu;
	}
	if (pthread_cond_init(&a->work, &a->done_attr) != 0) {
		pthread_condattr_destroy(&a->done_attr);
		goto fail_mu;
	}
	if (pthread_cond_init(&a->ckpt_work, NULL) != 0) {
		pthread_cond_destroy(&a->work);
		pthread_condattr_destroy(&a->done_attr);
		goto fail_mu;
	}
	if (pthread_cond_init(&a->gate_cv, NULL) != 0) {
		pthread_cond_destroy(&a->ckpt_work);
		pthread_cond_destroy(&a->work);
		pthread_condattr_destroy(&a->done_attr);
		goto fail_mu;
	}
	return true;
fail_mu:
	pthread_mutex_destroy(&a->mu);
	return false;
}

int audit_open(store *st, audit_log **out, bg_err *e)
{
	audit_log *a;
	int rc;

	*out = NULL;
	if (st == NULL)
		return bg_err_set(e, BG_EINVAL, "audit: no store");
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return bg_err_set(e, BG_ENOMEM, "audit: out of memory");
	bg_buf_init(&a->canon, CANON_MAX);
	a->st = st;
	rc = bg_err_set(e, BG_ENOMEM, "audit: out of memory");
	a->sha256 = bg_sha256_md(); /* shared, never freed */
	a->md = EVP_MD_CTX_new();
	if (a->sha256 == NULL || a->md == NULL)
		goto fail;
	if (!sync_init(a))
		goto fail;
	a->sync_ready = true;
	if (pthread_create(&a->committer, NULL, committer_main, a) != 0) {
		rc = bg_err_set(e, BG_ENOMEM, "audit: cannot start the committer thread");
		goto fail;
	}
	a->committer_running = true;
	if (pthread_create(&a->checkpointer, NULL, checkpointer_main, a) != 0) {
		rc = bg_err_set(e, BG_ENOMEM, "audit: cannot start the checkpointer thread");
		goto fail;
	}
	a->checkpointer_running = true;
	bg_err_clear(e);
	*out = a;
	return 0;
fail:
	audit_free(a);
	return rc;
}

void audit_free(audit_log *a)
{
	if (a == NULL)
		return;
	if (a->sync_ready) {
		/* The committer writes what is still queued (records whose callers gave up
		 * included), then ends. */
		pthread_mutex_lock(&a->mu);
		a->stop = true;
		pthread_cond_signal(&a->work);
		pthread_cond_signal(&a->ckpt_work);
		pthread_mutex_unlock(&a->mu);
		if (a->committer_running)
			pthread_join(a->committer, NULL);
		if (a->checkpointer_running)
			pthread_join(a->checkpointer, NULL);
		pthread_cond_destroy(&a->gate_cv);
		pthread_cond_destroy(&a->ckpt_work);
		pthread_cond_destroy(&a->work);
		pthread_condattr_destroy(&a->done_attr);
		pthread_mutex_destroy(&a->mu);
	}
	EVP_MD_CTX_free(a->md);
	bg_buf_free(&a->canon);
	free(a);
}

void audit_set_gate(audit_log *a, audit_gate_fn fn, audit_ready_fn ready, void *ctx)
{
	pthread_mutex_lock(&a->mu);
	while (a->gating || a->readying > 0) /* the old ctx may go once this returns */
		pthread_cond_wait(&a->gate_cv, &a->mu);
	a->gate = fn;
	a->gate_ready = ready;
	a->gate_ctx = ctx;
	pthread_mutex_unlock(&a->mu);
}

int audit_ready(audit_log *a, bg_err *e)
{
	audit_ready_fn ready;
	void *ctx;
	int rc = 0;

	pthread_mutex_lock(&a->mu);
	ready = a->gate_ready;
	ctx = a->gate_ctx;
	if (ready != NULL)
		a->readying++;
	pthread_mutex_unlock(&a->mu);
	if (ready == NULL)
		return 0;
	rc = ready(ctx, e);
	pthread_mutex_lock(&a->mu);
	if (--a->readying == 0)
		pthread_cond_broadcast(&a->gate_cv);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

void audit_set_checkpoints(audit_log *a, const sigkey *key, int64_t every, int64_t ms)
{
	pthread_mutex_lock(&a->mu);
	a->cp_key = key;
	a->cp_every = every > 0 ? every : BG_AUDIT_CHECKPOINT_EVERY;
	a->cp_ms = ms > 0 ? ms : BG_AUDIT_CHECKPOINT_MS;
	a->cp_at_ms = mono_ms();
	pthread_cond_signal(&a->work); /* the committer waits with the new timer */
	pthread_mutex_unlock(&a->mu);
}

/* --- appending ------------------------------------------------------------------------- */

/* Appends s to the arena as valid UTF-8 (invalid bytes become U+FFFD) and a NUL. */
static int arena_add(bg_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, run = 0;

	while (i < n) {
		size_t k = p[i] < 0x80 ? 1 : utf8_len(p + i, n - i);
		if (k != 0) {
			i += k;
			continue;
		}
		if (bg_buf_add(b, s + run, i - run) != 0 || bg_buf_add(b, "\xef\xbf\xbd", 3) != 0)
			return b->failed;
		run = ++i;
	}
	if (bg_buf_add(b, s + run, n - run) != 0)
		return b->failed;
	return bg_buf_addc(b, '\0');
}

/* Builds the queue entry for r in the caller's thread: a private copy, since the caller
 * may change its strings and detail once we return, even before the committer gets to the
 * record (an append abandoned after a timeout). */
static int entry_new(const audit_record *r, entry **out, bg_err *e)
{
	const char *src[STORE_AUDIT_FIELDS] = {r->kind, r->actor,  r->grant_id, r->request_id,
	                                       r->op,   r->tables, r->decision, r->reason};
	size_t off[STORE_AUDIT_FIELDS], off_rb, arena_len;
	entry *en = calloc(1, sizeof(*en));
	bg_buf arena;
	int i;

	*out = NULL;
	if (r->charge != NULL && (r->grant_id == NULL || r->grant_id[0] == '\0' ||
	                          !(r->charge->read >= 0) || !(r->charge->write >= 0) ||
	                          !isfinite(r->charge->read) || !isfinite(r->charge->write) ||
	                          (r->charge->runbook && r->charge->runbook[0] == '\0'))) {
		free(en);
		return bg_err_set(e, BG_EINVAL, "audit: a charge needs a grant and amounts >= 0");
	}
	bg_buf_init(&arena, RECORD_MAX);
	if (en == NULL)
		goto nomem;
	for (i = 0; i < STORE_AUDIT_FIELDS; i++) {
		off[i] = arena.len;
		if (src[i] != NULL)
			arena_add(&arena, src[i]);
	}
	off_rb = arena.len;
	if (r->charge != NULL && r->charge->runbook != NULL)
		arena_add(&arena, r->charge->runbook);
	if (arena.failed == BG_ELIMIT) {
		bg_buf_free(&arena);
		entry_free(en);
		return bg_err_set(e, BG_ELIMIT, "audit: record too large");
	}
	arena_len = arena.len;
	en->arena = bg_buf_steal(&arena);
	if (en->arena == NULL)
		goto nomem;
	for (i = 0; i < STORE_AUDIT_FIELDS; i++) {
		if (src[i] == NULL)
			continue;
		en->f[i].p = en->arena + off[i];
		en->f[i].n = strlen(en->f[i].p);
	}
	if (r->charge != NULL) {
		en->charged = true;
		en->charge_rb = r->charge->runbook != NULL ? en->arena + off_rb : NULL;
		en->charge_read = r->charge->read;
		en->charge_write = r->charge->write;
	}
	en->status = r->status;
	if (r->detail != NULL && !json_is_null(r->detail)) {
		en->detail = json_dumps(r->detail, DUMP_FLAGS);
		if (en->detail == NULL) {
			entry_free(en);
			return bg_err_set(e, BG_EINVAL, "audit: detail cannot be serialised");
		}
		if (strlen(en->detail) > RECORD_MAX - arena_len) {
			entry_free(en);
			return bg_err_set(e, BG_ELIMIT, "audit: record too large");
		}
	}
	*out = en;
	return 0;
nomem:
	bg_buf_free(&arena);
	entry_free(en);
	return bg_err_set(e, BG_ENOMEM, "audit: out of memory");
}

/* Queues en for the committer, and wakes it unless held. Takes ownership of en; on
 * failure it is freed. */
static int enqueue(audit_log *a, entry *en, bool held, bg_err *e)
{
	if (a->stop) {
		entry_free(en);
		return bg_err_set(e, BG_EIO, "audit: log is closing");
	}
	if (a->queued >= BG_AUDIT_QUEUE) {
		entry_free(en);
		return bg_err_set(e, BG_ELIMIT, "audit: queue full (%d records waiting)",
		                  BG_AUDIT_QUEUE);
	}
	if (a->qtail != NULL)
		a->qtail->next = en;
	else
		a->qhead = en;
	a->qtail = en;
	a->queued++;
	if (!a->writing && !held)
		pthread_cond_signal(&a->work);
	return 0;
}

static int submit(audit_log *a, const audit_record *r, audit_done_fn fn, void *arg, bool held,
                  bg_err *e)
{
	entry *en;
	int rc;

	if (a == NULL || r == NULL || r->kind == NULL || r->kind[0] == '\0' || fn == NULL)
		return bg_err_set(e, BG_EINVAL, "audit: a record needs a kind");
	rc = entry_new(r, &en, e);
	if (rc != 0)
		return rc;
	en->done_fn = fn;
	en->done_arg = arg;
	pthread_mutex_lock(&a->mu);
	rc = enqueue(a, en, held, e);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

int audit_submit(audit_log *a, const audit_record *r, audit_done_fn fn, void *arg, bg_err *e)
{
	return submit(a, r, fn, arg, false, e);
}

int audit_submit_held(audit_log *a, const audit_record *r, audit_done_fn fn, void *arg, bg_err *e)
{
	return submit(a, r, fn, arg, true, e);
}

void audit_flush(audit_log *a)
{
	pthread_mutex_lock(&a->mu);
	if (a->qhead != NULL && !a->writing)
		pthread_cond_signal(&a->work);
	pthread_mutex_unlock(&a->mu);
}

static int append_wait(audit_log *a, const audit_record *r, const sigkey *rotate_to, int64_t *seq,
                       int64_t *cp_seq, bg_err *e)
{
	struct timespec deadline;
	entry *en;
	int rc;

	if (a == NULL || r == NULL || r->kind == NULL || r->kind[0] == '\0')
		return bg_err_set(e, BG_EINVAL, "audit: a record needs a kind");
	rc = entry_new(r, &en, e);
	if (rc != 0)
		return rc;
	en->rotate_to = rotate_to;
	if (pthread_cond_init(&en->cv, &a->done_attr) != 0) {
		entry_free(en);
		return bg_err_set(e, BG_ENOMEM, "audit: out of memory");
	}
	en->cv_ready = true;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += BG_AUDIT_WAIT_MS / 1000;

	pthread_mutex_lock(&a->mu);
	rc = enqueue(a, en, false, e);
	if (rc != 0) {
		pthread_mutex_unlock(&a->mu);
		return rc;
	}
	while (!en->done) {
		rc = pthread_cond_timedwait(&en->cv, &a->mu, &deadline);
		if (rc == ETIMEDOUT && !en->done) {
			/* Refuse; the record may still be written later (over-logging is
			 * the safe direction). The committer frees the entry. */
			en->abandoned = true;
			pthread_mutex_unlock(&a->mu);
			return bg_err_set(e, BG_EIO, "audit: not durable after %d s",
			                  BG_AUDIT_WAIT_MS / 1000);
		}
	}
	pthread_mutex_unlock(&a->mu);

	rc = en->rc;
	if (rc == 0) {
		if (seq != NULL)
			*seq = en->seq;
		if (cp_seq != NULL)
			*cp_seq = en->cp_after;
		bg_err_clear(e);
	} else if (e != NULL) {
		*e = en->err;
	}
	entry_free(en);
	return rc;
}

int audit_append(audit_log *a, const audit_record *r, int64_t *seq, bg_err *e)
{
	return append_wait(a, r, NULL, seq, NULL, e);
}

int audit_rotate_key(audit_log *a, const audit_record *r, const sigkey *next, int64_t *seq,
                     int64_t *cp_seq, bg_err *e)
{
	if (next == NULL)
		return bg_err_set(e, BG_EINVAL, "audit: no key to rotate to");
	return append_wait(a, r, next, seq, cp_seq, e);
}

int audit_append_tx(audit_log *a, store_tx *tx, const audit_record *r, int64_t *seq, bg_err *e)
{
	EVP_MD_CTX *md = NULL;
	bg_buf canon;
	entry *en;
	int rc;

	if (a == NULL || tx == NULL || r == NULL || r->kind == NULL || r->kind[0] == '\0')
		return bg_err_set(e, BG_EINVAL, "audit: a record needs a kind and a transaction");
	rc = entry_new(r, &en, e);
	if (rc != 0)
		return rc;
	/* The committer's scratch space is its own: callers here are other threads. */
	bg_buf_init(&canon, CANON_MAX);
	md = EVP_MD_CTX_new();
	rc = md == NULL ? bg_err_set(e, BG_ENOMEM, "audit: out of memory")
	                : append_entries(a, tx, en, md, &canon, e);
	if (rc == 0 && seq != NULL)
		*seq = en->seq;
	EVP_MD_CTX_free(md);
	bg_buf_free(&canon);
	entry_free(en);
	return rc;
}

/* --- reading --------------------------------------------------------------------------- */

/* Text as a JSON string, or JSON null. */
static json_t *text_json(sv s)
{
	return s.p == NULL ? json_null() : json_stringn(s.p, s.n);
}

/* The row as the record object audit_read hands out; NULL if it cannot be built (out
 * of memory, or a column that is not what the committer wrote). */
static json_t *row_json(const store_audit_row *r)
{
	json_t *o = json_object(), *v;
	int i;

	if (o == NULL)
		return NULL;
	if (json_object_set_new(o, "seq", json_integer(r->seq)) != 0 ||
	    json_object_set_new(o, "ts", text_json(r->ts)) != 0)
		goto fail;
	for (i = 0; i < STORE_AUDIT_FIELDS; i++)
		if (json_object_set_new(o, field_name[i], text_json(r->f[i])) != 0)
			goto fail;
	if (json_object_set_new(o, "status", json_integer(r->status)) != 0)
		goto fail;
	v = r->detail.p == NULL
	        ? json_null()
	        : json_loadb(r->detail.p, r->detail.n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (json_object_set_new(o, "detail", v) != 0 ||
	    json_object_set_new(o, "prev_hash", text_json(r->prev_hash)) != 0 ||
	    json_object_set_new(o, "hash", text_json(r->hash)) != 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

struct read_ctx {
	int (*fn)(void *ctx, json_t *rec);
	void *ctx;
};

static int read_each(void *ctx, const store_audit_row *r, bg_err *e)
{
	struct read_ctx *rc = ctx;
	json_t *o = row_json(r);
	int stop;

	if (o == NULL)
		return bg_err_set(e, BG_EIO, "audit: record %lld is unreadable", (long long)r->seq);
	stop = rc->fn(rc->ctx, o);
	json_decref(o);
	return stop != 0; /* positive: the scan stops without an error */
}

int audit_read(audit_log *a, int64_t after, int64_t limit, int (*fn)(void *ctx, json_t *rec),
               void *ctx, bg_err *e)
{
	struct read_ctx rc = {fn, ctx};

	if (a == NULL || fn == NULL)
		return bg_err_set(e, BG_EINVAL, "audit: bad read arguments");
	return store_audit_scan(a->st, after, limit, read_each, &rc, e);
}

int audit_read_back(audit_log *a, int64_t before, int64_t limit, int (*fn)(void *ctx, json_t *rec),
                    void *ctx, bg_err *e)
{
	struct read_ctx rc = {fn, ctx};

	if (a == NULL || fn == NULL)
		return bg_err_set(e, BG_EINVAL, "audit: bad read arguments");
	return store_audit_scan_back(a->st, before, limit, read_each, &rc, e);
}

struct lines_ctx {
	bg_buf *out;
	int64_t n, last;
};

static int line_each(void *ctx, const store_audit_row *r, bg_err *e)
{
	struct lines_ctx *lc = ctx;
	size_t mark = lc->out->len;

	if (record_json(lc->out, r->seq, r->ts, r->f, r->status, r->detail, r->prev_hash,
	                r->hash.p != NULL ? r->hash : (sv){"", 0}) != 0 ||
	    bg_buf_addc(lc->out, '\n') != 0) {
		if (lc->out->failed != BG_ELIMIT || lc->n == 0)
			return bg_err_set(e, lc->out->failed == BG_ELIMIT ? BG_ELIMIT : BG_ENOMEM,
			                  "audit: record %lld does not fit in an answer",
			                  (long long)r->seq);
		/* The page is full: it ends before this record, the reader goes on after. */
		lc->out->len = mark;
		lc->out->data[mark] = '\0';
		lc->out->failed = 0;
		return 1;
	}
	lc->n++;
	lc->last = r->seq;
	return 0;
}

int audit_read_lines(audit_log *a, int64_t after, int64_t limit, bg_buf *out, int64_t *n,
                     int64_t *last, bg_err *e)
{
	struct lines_ctx lc = {out, 0, 0};
	int rc;

	if (a == NULL || out == NULL)
		return bg_err_set(e, BG_EINVAL, "audit: bad read arguments");
	rc = store_audit_scan(a->st, after, limit, line_each, &lc, e);
	if (n != NULL)
		*n = lc.n;
	if (last != NULL)
		*last = lc.last;
	return rc;
}

int audit_read_request(audit_log *a, const char *request_id, int64_t limit,
                       int (*fn)(void *ctx, json_t *rec), void *ctx, bg_err *e)
{
	struct read_ctx rc = {fn, ctx};

	if (a == NULL || fn == NULL || request_id == NULL)
		return bg_err_set(e, BG_EINVAL, "audit: bad read arguments");
	return store_audit_by_request(a->st, request_id, limit, read_each, &rc, e);
}

struct verify_ctx {
	EVP_MD_CTX *md;
	const EVP_MD *sha;
	bg_buf canon;
	uint8_t prev[32];
	char prev_hex[65];
	int64_t seq;
	int64_t *bad_seq;
};

static int verify_each(void *ctx, const store_audit_row *r, bg_err *e)
{
	struct verify_ctx *v = ctx;
	const char *why = NULL;
	uint8_t hash[32];
	char hex[65];

	if (r->seq != v->seq + 1) {
		why = "sequence gap";
		goto broken;
	}
	if (r->prev_hash.p == NULL || r->prev_hash.n != 64 ||
	    memcmp(r->prev_hash.p, v->prev_hex, 64) != 0) {
		why = "prev_hash does not match the previous record";
		goto broken;
	}
	if (canonical(&v->canon, r->seq, r->ts, r->f, r->status, r->detail, r->prev_hash) != 0 ||
	    !chain_hash(v->md, v->sha, v->prev, v->canon.data, v->canon.len, hash))
		return bg_err_set(e, BG_ENOMEM, "audit: cannot hash record %lld",
		                  (long long)r->seq);
	bg_hex(hash, 32, hex);
	if (r->hash.p == NULL || r->hash.n != 64 || memcmp(r->hash.p, hex, 64) != 0) {
		why = "hash does not match the record";
		goto broken;
	}
	v->seq = r->seq;
	memcpy(v->prev, hash, 32);
	memcpy(v->prev_hex, hex, 65);
	return 0;
broken:
	if (v->bad_seq != NULL)
		*v->bad_seq = r->seq;
	return bg_err_set(e, BG_EINVAL, "audit: chain broken at seq %lld: %s", (long long)r->seq,
	                  why);
}

int audit_verify(audit_log *a, int64_t *count, int64_t *bad_seq, bg_err *e)
{
	struct verify_ctx v;
	int rc;

	if (a == NULL)
		return bg_err_set(e, BG_EINVAL, "audit: no log");
	memset(&v, 0, sizeof(v));
	memset(v.prev_hex, '0', 64);
	bg_buf_init(&v.canon, CANON_MAX);
	v.sha = a->sha256;
	v.bad_seq = bad_seq;
	v.md = EVP_MD_CTX_new();
	if (v.md == NULL)
		return bg_err_set(e, BG_ENOMEM, "audit: out of memory");
	rc = store_audit_scan(a->st, 0, 0, verify_each, &v, e);
	EVP_MD_CTX_free(v.md);
	bg_buf_free(&v.canon);
	if (rc == 0) {
		if (count != NULL)
			*count = v.seq;
		bg_err_clear(e);
	}
	return rc;
}

void audit_get_stats(audit_log *a, audit_stats *out)
{
	pthread_mutex_lock(&a->mu);
	*out = a->stats;
	pthread_mutex_unlock(&a->mu);
}
