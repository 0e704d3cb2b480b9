/*
 * verify.c - checking an audit trail (see verify.h and docs/audit.md).
 *
 * Each record is reduced, as it is fed, to a small summary (seq, the order it came in,
 * its stated prev_hash and hash, whether its hash matches its contents, and a
 * checkpoint's fields), so a trail of millions of records costs tens of bytes each
 * and the JSON is freed at once. finish() then sorts the summaries by seq: among
 * records claiming one seq the one that fits the chain is kept and the others are
 * "inserted"; a kept record that came after a higher seq is "reordered"; walking the
 * kept records in order finds gaps, broken links, edited records and checkpoints that
 * do not verify; the other copy's checkpoints find a truncated tail or a rewritten
 * chain.
 *
 * A record's hash is recomputed as audit.h defines it: SHA-256 of the previous hash's
 * 32 bytes and the record without "hash" as jansson serialises it with sorted keys,
 * compactly. Any field an editor adds, removes or changes therefore changes it.
 */
#include "audit/verify.h"

#include "audit/audit.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/limits.h"

#define DUMP_FLAGS (JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY)
/* The longest canonical text hashed: the gateway's largest record is a line of at most
 * BG_MAX_AUDIT_LINE bytes; twice that is margin. A longer one cannot be a record the
 * gateway wrote, and is reported edited instead of being held in memory. */
#define VERIFY_CANON_MAX ((size_t)2 * BG_MAX_AUDIT_LINE)

typedef struct cpinfo {
	int64_t seq; /* the checkpoint record's own */
	bool well_formed;
	int64_t covers;
	char covers_hex[65];
	char key_id[SIGKEY_ID_HEX + 1];
	uint8_t sig[SIGKEY_SIG_LEN];
} cpinfo;

typedef struct item {
	int64_t seq;
	size_t idx; /* the order it was fed in */
	uint8_t prev[32], hash[32];
	bool hash_ok, redacted, loser;
	int64_t cp;  /* index into cps, or -1 */
	int64_t rot; /* index into rots (a key-rotation record), or -1 */
} item;

/* A key-rotation record's key ids: after the checkpoint that covers it, the old key is
 * retired. */
typedef struct rotinfo {
	char old_id[SIGKEY_ID_HEX + 1];
	int64_t seq;  /* the record's */
	bool retired; /* its handover checkpoint was read: old_id signs no more */
} rotinfo;

struct averify {
	const sigkey *const *keys;
	size_t nkeys;
	bool from_one;
	item *items;
	size_t n, cap;
	cpinfo *cps;
	size_t ncp, cpcap;
	cpinfo *refs;
	size_t nref, refcap;
	rotinfo *rots;
	size_t nrot, rotcap;
	size_t lines;
	EVP_MD_CTX *md;
	const EVP_MD *sha256;
	bg_buf canon;         /* check_hash's, reused */
	bool no_fast;         /* averify_set_fast(false): every line through jansson */
	int64_t last_seq;     /* the seq of the last record fed that had one */
	struct fmember *fmem; /* fast_line's member stack, reused */
	size_t fmemcap;
	averify_problem problems[AVERIFY_MAX_PROBLEMS];
	size_t nproblems;
	bool finished;
};

static void problem(averify *v, int64_t seq, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(averify *v, int64_t seq, const char *kind, const char *fmt, ...)
{
	va_list ap;

	if (v->nproblems < AVERIFY_MAX_PROBLEMS) {
		averify_problem *p = &v->problems[v->nproblems];
		p->seq = seq;
		p->kind = kind;
		va_start(ap, fmt);
		vsnprintf(p->message, sizeof(p->message), fmt, ap);
		va_end(ap);
	}
	v->nproblems++;
}

int averify_new(const sigkey *const *keys, size_t n, bool from_one, averify **out, bg_err *e)
{
	averify *v = calloc(1, sizeof(*v));

	*out = NULL;
	if (v == NULL || (v->md = EVP_MD_CTX_new()) == NULL) {
		free(v);
		return bg_err_set(e, BG_ENOMEM, "verify: out of memory");
	}
	v->sha256 = bg_sha256_md();
	bg_buf_init(&v->canon, VERIFY_CANON_MAX);
	v->keys = keys;
	v->nkeys = n;
	v->from_one = from_one;
	*out = v;
	return 0;
}

void averify_free(averify *v)
{
	if (v == NULL)
		return;
	EVP_MD_CTX_free(v->md);
	bg_buf_free(&v->canon);
	free(v->fmem);
	free(v->items);
	free(v->cps);
	free(v->refs);
	free(v->rots);
	free(v);
}

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 1024;
	void *np;

	if (need <= *cap)
		return true;
	while (c < need)
		c *= 2;
	np = realloc(*p, c * size);
	if (np == NULL)
		return false;
	*p = np;
	*cap = c;
	return true;
}

/* A lower-case hex digit's value, or -1 (upper case is not what the chain writes). */
/* Each byte's value as a lower-case hex digit plus one, 0 for any other byte: a table,
 * because the digits of a hash are random and a chain of comparisons mispredicts on
 * every other one (two 64-digit hashes a record). */
static const unsigned char hex_val1[256] = {
    ['0'] = 1, ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16};

static int lower_hex(unsigned char c)
{
	return (int)hex_val1[c] - 1;
}

/* What the verifier reads of a record, whichever way it was parsed (a jansson object, or
 * an export line read by fast_line below): each string is its bytes and length, NULL when
 * the field is absent or not a string. */
typedef struct sv {
	const char *p;
	size_t n;
} sv;

typedef struct rec_view {
	bool is_object;
	bool seq_int; /* seq is an integer */
	int64_t seq;
	sv prev_hash, hash, kind;
	bool redacted; /* "redacted": true */
	/* detail's, when detail is an object */
	bool covers_int;
	int64_t covers_seq;
	sv covers_hash, key_id, sig;
	sv old_key_id; /* a key-rotation record's */
} rec_view;

static sv str_of(json_t *j)
{
	return json_is_string(j) ? (sv){json_string_value(j), json_string_length(j)}
	                         : (sv){NULL, 0};
}

static void view_from_json(json_t *rec, rec_view *rv)
{
	json_t *seq = json_object_get(rec, "seq"), *d = json_object_get(rec, "detail");
	json_t *cs = json_object_get(d, "covers_seq");

	memset(rv, 0, sizeof(*rv));
	rv->is_object = json_is_object(rec);
	rv->seq_int = json_is_integer(seq);
	rv->seq = json_integer_value(seq);
	rv->prev_hash = str_of(json_object_get(rec, "prev_hash"));
	rv->hash = str_of(json_object_get(rec, "hash"));
	rv->kind = str_of(json_object_get(rec, "kind"));
	rv->redacted = json_is_true(json_object_get(rec, "redacted"));
	rv->covers_int = json_is_integer(cs);
	rv->covers_seq = json_integer_value(cs);
	rv->covers_hash = str_of(json_object_get(d, "covers_hash"));
	rv->key_id = str_of(json_object_get(d, "key_id"));
	rv->sig = str_of(json_object_get(d, "sig"));
	rv->old_key_id = str_of(json_object_get(d, "old_key_id"));
}

/* 64 lower-case hex digits into 32 bytes, in one pass. */
static bool hash_field(sv t, uint8_t out[32])
{
	size_t i;

	if (t.p == NULL || t.n != 64)
		return false;
	for (i = 0; i < 32; i++) {
		int hi = lower_hex((unsigned char)t.p[2 * i]),
		    lo = lower_hex((unsigned char)t.p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* A checkpoint's detail. */
static void parse_cp(const rec_view *rv, cpinfo *c)
{
	uint8_t tmp[32];

	memset(c, 0, sizeof(*c));
	c->seq = rv->seq;
	if (!rv->covers_int || rv->key_id.p == NULL || rv->sig.p == NULL ||
	    rv->key_id.n != SIGKEY_ID_HEX || memchr(rv->key_id.p, '\0', rv->key_id.n) != NULL ||
	    rv->sig.n != 2 * SIGKEY_SIG_LEN || !hash_field(rv->covers_hash, tmp) ||
	    bg_unhex(rv->sig.p, SIGKEY_SIG_LEN, c->sig) != 0)
		return;
	c->covers = rv->covers_seq;
	memcpy(c->covers_hex, rv->covers_hash.p, 64);
	c->covers_hex[64] = '\0';
	memcpy(c->key_id, rv->key_id.p, SIGKEY_ID_HEX);
	c->key_id[SIGKEY_ID_HEX] = '\0';
	c->well_formed = true;
}

static bool is_rotation(const rec_view *rv)
{
	return rv->kind.p != NULL && rv->kind.n == 12 &&
	       memcmp(rv->kind.p, "key-rotation", 12) == 0 && rv->old_key_id.p != NULL &&
	       rv->old_key_id.n == SIGKEY_ID_HEX &&
	       memchr(rv->old_key_id.p, '\0', SIGKEY_ID_HEX) == NULL;
}

static bool is_checkpoint(const rec_view *rv)
{
	return rv->kind.p != NULL && rv->kind.n == 10 && memcmp(rv->kind.p, "checkpoint", 10) == 0;
}

/* --- canonical JSON ---------------------------------------------------------------------
 *
 * The hash covers the record as json_dumps(JSON_SORT_KEYS | JSON_COMPACT) writes it. That
 * call builds and sorts a key list per object and grows a fresh string per record; this
 * writes the same bytes into one reused buffer, skipping "hash" at the top instead of
 * deleting and re-adding it (the record is not touched). Strings are escaped as jansson's
 * dump_string does without JSON_ESCAPE_SLASH or JSON_ENSURE_ASCII; keys sorted as its
 * compare_keys does (bytes, then length); a real is left to jansson itself (its number
 * formatting is its own). tests/unit/test_audit_verify.c and fuzz/fuzz_audit_export.c
 * hold the two to the same bytes. */

#define CANON_DEPTH      2048 /* jansson's own parser depth limit: deeper input never parses */
#define CANON_STACK_KEYS 32   /* keys sorted without an allocation */

typedef struct canon_key {
	const char *k;
	size_t n;
	json_t *v;
} canon_key;

static int canon_key_cmp(const void *pa, const void *pb)
{
	const canon_key *a = pa, *b = pb;
	int c = memcmp(a->k, b->k, a->n < b->n ? a->n : b->n);

	if (c != 0)
		return c;
	return a->n < b->n ? -1 : a->n > b->n;
}

static int canon_value(bg_buf *b, json_t *j, const char *skip, int depth);

/* An integer in decimal, as printf's %lld writes it (without the cost of printf). */
static int canon_integer(bg_buf *b, json_int_t v)
{
	char d[24];
	size_t i = sizeof(d);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		d[--i] = '-';
	return bg_buf_add(b, d + i, sizeof(d) - i);
}

static int canon_object(bg_buf *b, json_t *o, const char *skip, int depth)
{
	canon_key stack[CANON_STACK_KEYS], *keys = stack;
	size_t n = json_object_size(o), i = 0, k;
	const char *key;
	size_t klen;
	json_t *val;
	int rc = 0;

	if (n > CANON_STACK_KEYS && (keys = malloc(n * sizeof(*keys))) == NULL)
		return BG_ENOMEM;
	json_object_keylen_foreach(o, key, klen, val)
	{
		if (i == n)
			break;
		if (skip != NULL && klen == strlen(skip) && memcmp(key, skip, klen) == 0)
			continue;
		keys[i++] = (canon_key){key, klen, val};
	}
	qsort(keys, i, sizeof(*keys), canon_key_cmp);
	rc = bg_buf_addc(b, '{');
	for (k = 0; rc == 0 && k < i; k++) {
		if ((k > 0 && bg_buf_addc(b, ',') != 0) ||
		    audit_json_string(b, keys[k].k, keys[k].n) != 0 || bg_buf_addc(b, ':') != 0)
			rc = b->failed ? b->failed : BG_ENOMEM;
		else
			rc = canon_value(b, keys[k].v, NULL, depth + 1);
	}
	if (rc == 0)
		rc = bg_buf_addc(b, '}');
	if (keys != stack)
		free(keys);
	return rc;
}

/* j as canonical JSON into b; skip: a key of j (an object) to leave out. */
static int canon_value(bg_buf *b, json_t *j, const char *skip, int depth)
{
	size_t i;
	char *t;
	int rc;

	if (depth > CANON_DEPTH)
		return BG_ELIMIT;
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return canon_object(b, j, skip, depth);
	case JSON_ARRAY:
		if (bg_buf_addc(b, '[') != 0)
			return b->failed;
		for (i = 0; i < json_array_size(j); i++) {
			if (i > 0 && bg_buf_addc(b, ',') != 0)
				return b->failed;
			rc = canon_value(b, json_array_get(j, i), NULL, depth + 1);
			if (rc != 0)
				return rc;
		}
		return bg_buf_addc(b, ']');
	case JSON_STRING:
		return audit_json_string(b, json_string_value(j), json_string_length(j));
	case JSON_INTEGER:
		return canon_integer(b, json_integer_value(j));
	case JSON_REAL:
		t = json_dumps(j, DUMP_FLAGS);
		rc = t == NULL ? BG_ENOMEM : bg_buf_adds(b, t);
		free(t);
		return rc;
	case JSON_TRUE:
		return bg_buf_add(b, "true", 4);
	case JSON_FALSE:
		return bg_buf_add(b, "false", 5);
	case JSON_NULL:
		return bg_buf_add(b, "null", 4);
	}
	return BG_EINVAL;
}

int averify_canonical(json_t *rec, bg_buf *b)
{
	bg_buf_reset(b);
	return canon_value(b, rec, json_is_object(rec) ? "hash" : NULL, 0);
}

/* SHA-256(prev || canon) == it->hash. */
static int check_hash(averify *v, const char *canon, size_t n, item *it)
{
	uint8_t out[32];
	unsigned len = 0;

	if (EVP_DigestInit_ex(v->md, v->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(v->md, it->prev, 32) != 1 || EVP_DigestUpdate(v->md, canon, n) != 1 ||
	    EVP_DigestFinal_ex(v->md, out, &len) != 1)
		return BG_ENOMEM;
	it->hash_ok = bg_ct_equal(out, it->hash, 32);
	return 0;
}

/* One record, as its view and (unless it is redacted) its canonical text: canon_rc is
 * averify_canonical's result (BG_ELIMIT: too deep or too large, so it cannot match). */
static int feed(averify *v, const rec_view *rv, int canon_rc, const char *canon, size_t n)
{
	item it;

	v->lines++;
	memset(&it, 0, sizeof(it));
	it.cp = -1;
	it.rot = -1;
	it.idx = v->n;
	if (!rv->is_object || !rv->seq_int || rv->seq < 1) {
		problem(v, -(int64_t)v->lines, "malformed",
		        "line %zu: not an audit record (no seq)", v->lines);
		return 0;
	}
	it.seq = rv->seq;
	v->last_seq = it.seq;
	if (!hash_field(rv->prev_hash, it.prev) || !hash_field(rv->hash, it.hash)) {
		problem(v, it.seq, "malformed",
		        "record %lld: prev_hash or hash is not 64 hex digits", (long long)it.seq);
		return 0;
	}
	if (rv->redacted) {
		it.redacted = true;
	} else if (canon_rc == BG_ENOMEM) {
		return BG_ENOMEM;
	} else if (canon_rc == 0 && check_hash(v, canon, n, &it) != 0) {
		return BG_ENOMEM;
	}
	if (!it.redacted && is_checkpoint(rv)) {
		if (!grow((void **)&v->cps, &v->cpcap, v->ncp + 1, sizeof(cpinfo)))
			return BG_ENOMEM;
		parse_cp(rv, &v->cps[v->ncp]);
		it.cp = (int64_t)v->ncp++;
	}
	if (!it.redacted && is_rotation(rv)) {
		if (!grow((void **)&v->rots, &v->rotcap, v->nrot + 1, sizeof(rotinfo)))
			return BG_ENOMEM;
		memcpy(v->rots[v->nrot].old_id, rv->old_key_id.p, SIGKEY_ID_HEX);
		v->rots[v->nrot].old_id[SIGKEY_ID_HEX] = '\0';
		v->rots[v->nrot].seq = it.seq;
		v->rots[v->nrot].retired = false;
		it.rot = (int64_t)v->nrot++;
	}
	if (!grow((void **)&v->items, &v->cap, v->n + 1, sizeof(item)))
		return BG_ENOMEM;
	v->items[v->n++] = it;
	return 0;
}

int averify_record(averify *v, json_t *rec)
{
	rec_view rv;
	int rc = 0;

	view_from_json(rec, &rv);
	if (rv.is_object && !rv.redacted)
		rc = averify_canonical(rec, &v->canon);
	return feed(v, &rv, rc, v->canon.data, v->canon.len);
}

/* --- export lines without jansson -----------------------------------------------------
 *
 * Parsing is most of what verifying an export costs (bench/REPORT.md), and jansson builds
 * a tree of allocated nodes and hash tables per line only for the verifier to write it
 * out again. fast_line() reads the common shape of a line directly into its canonical
 * text and the record's view: objects, arrays, integers, true/false/null, strings with no
 * escape and no control byte (valid UTF-8 checked as jansson checks it), reals (strtod,
 * then written by jansson itself). Anything else, a duplicate key, or any doubt (an
 * escape, a leading zero, a real out of range, nesting deeper than FAST_DEPTH, a
 * buffer limit) and it declines: the line then goes through jansson as before, which
 * also gives the same error for a line that is not JSON. It never accepts a line jansson
 * would refuse, and for a line both accept the canonical text and the view are the same
 * (the fuzz target checks both on every input). */

#define FAST_DEPTH 32
#define FAST_NO    1 /* declined: use jansson */

typedef struct fmember {
	const char *k; /* the key's bytes in the line (no escapes) */
	size_t kn;
	size_t voff, vn; /* its value's canonical text in the output buffer */
} fmember;

typedef enum { FV_OTHER, FV_STRING, FV_INT, FV_TRUE } fv_type;

typedef struct fval {
	fv_type t;
	sv s;
	int64_t i;
} fval;

typedef enum { ROLE_NONE, ROLE_TOP, ROLE_DETAIL } frole;

typedef struct fparse {
	const char *p, *end;
	bg_buf *out;
	fmember *mem; /* a stack: each object's members above its parent's */
	size_t nmem, memcap;
	rec_view *rv;
} fparse;

static void fp_ws(fparse *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' || *f->p == '\n' || *f->p == '\r'))
		f->p++;
}

static bool sv_is(sv a, const char *lit, size_t n)
{
	return a.n == n && memcmp(a.p, lit, n) == 0;
}

/* Word-at-a-time tests of eight bytes (x - 0x20 in a byte below 0x20 borrows into its
 * high bit; a byte above 0x7f has it set already; the usual has-a-zero-byte test). A
 * false alarm only sends the bytes through the loop one at a time. */
#define SWAR_ONES        0x0101010101010101ull
#define SWAR_HIGH        0x8080808080808080ull
#define SWAR_HAS_ZERO(x) ((((x)-SWAR_ONES) & ~(x)&SWAR_HIGH) != 0)

/* A string with no escape: its bytes, valid UTF-8 (jansson's rules), none below 0x20. */
static int fp_string(fparse *f, sv *out)
{
	const unsigned char *p = (const unsigned char *)f->p + 1,
	                    *end = (const unsigned char *)f->end;
	const unsigned char *start = p;

	if (f->p >= f->end || *f->p != '"')
		return FAST_NO;
	while (p < end) {
		unsigned char c;
		/* Eight bytes at a time while none is a quote, a backslash, below 0x20 or above
		 * 0x7f (the usual: ids, hashes, times); the first such byte is looked at below. */
		while (end - p >= 8) {
			uint64_t x;
			memcpy(&x, p, 8);
			if ((((x - SWAR_ONES * 0x20) | x) & SWAR_HIGH) != 0 ||
			    SWAR_HAS_ZERO(x ^ (SWAR_ONES * '"')) ||
			    SWAR_HAS_ZERO(x ^ (SWAR_ONES * '\\')))
				break;
			p += 8;
		}
		if (p >= end)
			break;
		c = *p;
		if (c == '"')
			break;
		if (c < 0x20 || c == '\\')
			return FAST_NO;
		if (c < 0x80) {
			p++;
			continue;
		}
		{
			size_t need = c < 0xc2 || c > 0xf4 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4, i;
			if (need == 0 || (size_t)(end - p) < need)
				return FAST_NO;
			for (i = 1; i < need; i++)
				if ((p[i] & 0xc0) != 0x80)
					return FAST_NO;
			if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
			    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
				return FAST_NO;
			p += need;
		}
	}
	if (p >= end)
		return FAST_NO;
	out->p = (const char *)start;
	out->n = (size_t)(p - start);
	f->p = (const char *)p + 1;
	return 0;
}

static int fp_number(fparse *f, fval *v)
{
	const char *s = f->p, *q = s;
	bool real = false;
	char tmp[64];
	json_t *j;
	char *t;
	double d;
	int rc;

	if (q < f->end && *q == '-')
		q++;
	if (q >= f->end || *q < '0' || *q > '9')
		return FAST_NO;
	if (*q == '0' && q + 1 < f->end && q[1] >= '0' && q[1] <= '9')
		return FAST_NO; /* a leading zero: jansson's to refuse */
	while (q < f->end && *q >= '0' && *q <= '9')
		q++;
	if (q < f->end && *q == '.') {
		real = true;
		if (++q >= f->end || *q < '0' || *q > '9')
			return FAST_NO;
		while (q < f->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < f->end && (*q == 'e' || *q == 'E')) {
		real = true;
		if (++q < f->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= f->end || *q < '0' || *q > '9')
			return FAST_NO;
		while (q < f->end && *q >= '0' && *q <= '9')
			q++;
	}
	if ((size_t)(q - s) >= sizeof(tmp))
		return FAST_NO;
	memcpy(tmp, s, (size_t)(q - s));
	tmp[q - s] = '\0';
	f->p = q;
	errno = 0;
	if (!real) {
		long long i = strtoll(tmp, NULL, 10);
		if (errno == ERANGE)
			return FAST_NO;
		v->t = FV_INT;
		v->i = i;
		return canon_integer(f->out, i) == 0 ? 0 : FAST_NO;
	}
	d = strtod(tmp, NULL);
	if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
		return FAST_NO;
	j = json_real(d);
	t = j != NULL ? json_dumps(j, DUMP_FLAGS) : NULL;
	json_decref(j);
	rc = t != NULL && bg_buf_adds(f->out, t) == 0 ? 0 : FAST_NO;
	free(t);
	return rc;
}

static int fp_value(fparse *f, int depth, frole role, fval *v);

static int fmember_cmp(const void *pa, const void *pb)
{
	const fmember *a = pa, *b = pb;
	int c = memcmp(a->k, b->k, a->kn < b->kn ? a->kn : b->kn);

	if (c != 0)
		return c;
	return a->kn < b->kn ? -1 : a->kn > b->kn;
}

/* Fills the record's view from a member of the top level or of its detail. */
static void fp_hook(fparse *f, frole role, sv key, const fval *v)
{
	rec_view *rv = f->rv;

	if (role == ROLE_TOP) {
		if (sv_is(key, "seq", 3)) {
			rv->seq_int = v->t == FV_INT;
			rv->seq = v->t == FV_INT ? v->i : 0;
		} else if (sv_is(key, "prev_hash", 9)) {
			rv->prev_hash = v->t == FV_STRING ? v->s : (sv){NULL, 0};
		} else if (sv_is(key, "hash", 4)) {
			rv->hash = v->t == FV_STRING ? v->s : (sv){NULL, 0};
		} else if (sv_is(key, "kind", 4)) {
			rv->kind = v->t == FV_STRING ? v->s : (sv){NULL, 0};
		} else if (sv_is(key, "redacted", 8)) {
			rv->redacted = v->t == FV_TRUE;
		}
	} else if (role == ROLE_DETAIL) {
		if (sv_is(key, "covers_seq", 10)) {
			rv->covers_int = v->t == FV_INT;
			rv->covers_seq = v->t == FV_INT ? v->i : 0;
		} else if (sv_is(key, "covers_hash", 11)) {
			rv->covers_hash = v->t == FV_STRING ? v->s : (sv){NULL, 0};
		} else if (sv_is(key, "key_id", 6)) {
			rv->key_id = v->t == FV_STRING ? v->s : (sv){NULL, 0};
		} else if (sv_is(key, "sig", 3)) {
			rv->sig = v->t == FV_STRING ? v->s : (sv){NULL, 0};
		} else if (sv_is(key, "old_key_id", 10)) {
			rv->old_key_id = v->t == FV_STRING ? v->s : (sv){NULL, 0};
		}
	}
}

/* An object: written as it is read, each key before its value, which is the canonical
 * text as long as the keys arrive in order (the gateway's lines and exports: no copy).
 * Otherwise the object's canonical text (keys sorted) is built from the values after
 * them and moved down over them. The top level's "hash" is left out either way. */
static int fp_object(fparse *f, int depth, frole role)
{
	size_t base = f->nmem, start = f->out->len, i, n, total = 2, at, written = 0;
	bool first = true, in_order = true;
	char *d;

	f->p++; /* '{' */
	fp_ws(f);
	if (bg_buf_addc(f->out, '{') != 0)
		return FAST_NO;
	if (f->p < f->end && *f->p == '}') {
		f->p++;
		return bg_buf_addc(f->out, '}') == 0 ? 0 : FAST_NO;
	}
	for (;;) {
		fmember m;
		fval v;
		sv key;
		size_t mark = f->out->len;
		bool skip;
		if (!first) {
			fp_ws(f);
		}
		first = false;
		if (fp_string(f, &key) != 0)
			return FAST_NO;
		fp_ws(f);
		if (f->p >= f->end || *f->p != ':')
			return FAST_NO;
		f->p++;
		fp_ws(f);
		skip = role == ROLE_TOP && sv_is(key, "hash", 4);
		if (bg_buf_reserve(f->out, key.n + 4) != 0)
			return FAST_NO;
		d = f->out->data + f->out->len;
		if (written > 0)
			*d++ = ',';
		*d++ = '"';
		memcpy(d, key.p, key.n);
		d += key.n;
		*d++ = '"';
		*d++ = ':';
		*d = '\0';
		f->out->len = (size_t)(d - f->out->data);
		m.k = key.p;
		m.kn = key.n;
		m.voff = f->out->len;
		if (fp_value(f, depth + 1,
		             role == ROLE_TOP && sv_is(key, "detail", 6) ? ROLE_DETAIL : ROLE_NONE,
		             &v) != 0)
			return FAST_NO;
		m.vn = f->out->len - m.voff;
		fp_hook(f, role, key, &v);
		if (skip) { /* its text goes, and the place of its value with it (unused below) */
			f->out->len = mark;
			f->out->data[mark] = '\0';
		} else
			written++;
		if (f->nmem > base && fmember_cmp(&f->mem[f->nmem - 1], &m) >= 0)
			in_order = false;
		if (!grow((void **)&f->mem, &f->memcap, f->nmem + 1, sizeof(fmember)))
			return FAST_NO;
		f->mem[f->nmem++] = m;
		fp_ws(f);
		if (f->p < f->end && *f->p == ',') {
			f->p++;
			fp_ws(f);
			continue;
		}
		if (f->p < f->end && *f->p == '}') {
			f->p++;
			break;
		}
		return FAST_NO;
	}
	if (bg_buf_addc(f->out, '}') != 0)
		return FAST_NO;
	n = f->nmem - base;
	if (in_order) { /* strictly ascending keys: no duplicate either */
		f->nmem = base;
		return 0;
	}
	qsort(f->mem + base, n, sizeof(fmember), fmember_cmp);
	for (i = 0; i < n; i++) {
		const fmember *m = &f->mem[base + i];
		if (i > 0 && fmember_cmp(m - 1, m) == 0)
			return FAST_NO; /* a duplicate key: jansson refuses it */
		if (role == ROLE_TOP && sv_is((sv){m->k, m->kn}, "hash", 4))
			continue;
		total += m->kn + m->vn + 4;
	}
	/* The object's text after what was written, then moved down over it. */
	if (bg_buf_reserve(f->out, total) != 0)
		return FAST_NO;
	d = f->out->data;
	at = f->out->len;
	d[at++] = '{';
	first = true;
	for (i = 0; i < n; i++) {
		const fmember *m = &f->mem[base + i];
		if (role == ROLE_TOP && sv_is((sv){m->k, m->kn}, "hash", 4))
			continue;
		if (!first)
			d[at++] = ',';
		first = false;
		d[at++] = '"';
		memcpy(d + at, m->k, m->kn);
		at += m->kn;
		d[at++] = '"';
		d[at++] = ':';
		memcpy(d + at, d + m->voff, m->vn);
		at += m->vn;
	}
	d[at++] = '}';
	memmove(d + start, d + f->out->len, at - f->out->len);
	f->out->len = start + (at - f->out->len);
	d[f->out->len] = '\0';
	f->nmem = base;
	return 0;
}

static int fp_value(fparse *f, int depth, frole role, fval *v)
{
	v->t = FV_OTHER;
	if (depth > FAST_DEPTH || f->p >= f->end)
		return FAST_NO;
	switch (*f->p) {
	case '{':
		return fp_object(f, depth, role);
	case '[': {
		bool first = true;
		f->p++;
		if (bg_buf_addc(f->out, '[') != 0)
			return FAST_NO;
		fp_ws(f);
		if (f->p < f->end && *f->p == ']') {
			f->p++;
			return bg_buf_addc(f->out, ']') == 0 ? 0 : FAST_NO;
		}
		for (;;) {
			fval e;
			if (!first && bg_buf_addc(f->out, ',') != 0)
				return FAST_NO;
			first = false;
			fp_ws(f);
			if (fp_value(f, depth + 1, ROLE_NONE, &e) != 0)
				return FAST_NO;
			fp_ws(f);
			if (f->p < f->end && *f->p == ',') {
				f->p++;
				continue;
			}
			if (f->p < f->end && *f->p == ']') {
				f->p++;
				return bg_buf_addc(f->out, ']') == 0 ? 0 : FAST_NO;
			}
			return FAST_NO;
		}
	}
	case '"':
		/* The string as it is in the line, quotes included (it has no escape). */
		if (fp_string(f, &v->s) != 0 || bg_buf_add(f->out, v->s.p - 1, v->s.n + 2) != 0)
			return FAST_NO;
		v->t = FV_STRING;
		return 0;
	case 't':
		if (f->end - f->p < 4 || memcmp(f->p, "true", 4) != 0)
			return FAST_NO;
		f->p += 4;
		v->t = FV_TRUE;
		return bg_buf_add(f->out, "true", 4) == 0 ? 0 : FAST_NO;
	case 'f':
		if (f->end - f->p < 5 || memcmp(f->p, "false", 5) != 0)
			return FAST_NO;
		f->p += 5;
		return bg_buf_add(f->out, "false", 5) == 0 ? 0 : FAST_NO;
	case 'n':
		if (f->end - f->p < 4 || memcmp(f->p, "null", 4) != 0)
			return FAST_NO;
		f->p += 4;
		return bg_buf_add(f->out, "null", 4) == 0 ? 0 : FAST_NO;
	default:
		return fp_number(f, v);
	}
}

/* 0 with *view and v->canon filled when the line was read here; FAST_NO otherwise. */
static int fast_line(averify *v, const char *line, size_t n, rec_view *rv)
{
	fparse f = {line, line + n, &v->canon, v->fmem, 0, v->fmemcap, rv};
	fval top;
	int rc;

	memset(rv, 0, sizeof(*rv));
	bg_buf_reset(&v->canon);
	fp_ws(&f);
	if (f.p >= f.end || *f.p != '{')
		return FAST_NO;
	rc = fp_value(&f, 0, ROLE_TOP, &top);
	v->fmem = f.mem; /* kept for the next line */
	v->fmemcap = f.memcap;
	if (rc != 0)
		return FAST_NO;
	fp_ws(&f);
	if (f.p != f.end)
		return FAST_NO;
	rv->is_object = true;
	return 0;
}

int64_t averify_last_seq(const averify *v)
{
	return v->last_seq;
}

void averify_set_fast(averify *v, bool on)
{
	v->no_fast = !on;
}

int averify_line_canonical(averify *v, const char *line, size_t n, const char **canon, size_t *len)
{
	rec_view rv;

	if (fast_line(v, line, n, &rv) != 0)
		return FAST_NO;
	*canon = v->canon.data;
	*len = v->canon.len;
	return 0;
}

int averify_line(averify *v, const char *line, size_t n)
{
	json_error_t err;
	json_t *rec;
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
			break;
	if (i == n)
		return 0;
	if (n > BG_MAX_AUDIT_LINE) {
		v->lines++;
		problem(v, -(int64_t)v->lines, "malformed", "line %zu: longer than %u bytes",
		        v->lines, (unsigned)BG_MAX_AUDIT_LINE);
		return 0;
	}
	{
		rec_view rv;
		if (!v->no_fast && fast_line(v, line, n, &rv) == 0)
			return feed(v, &rv, 0, v->canon.data, v->canon.len);
	}
	rec = json_loadb(line, n, JSON_REJECT_DUPLICATES, &err);
	if (rec == NULL) {
		v->lines++;
		problem(v, -(int64_t)v->lines, "malformed", "line %zu: not JSON: %.80s", v->lines,
		        err.text);
		return 0;
	}
	rc = averify_record(v, rec);
	json_decref(rec);
	return rc;
}

int averify_reference(averify *v, json_t *rec)
{
	rec_view rv;

	view_from_json(rec, &rv);
	if (!rv.seq_int || !is_checkpoint(&rv))
		return 0;
	if (!grow((void **)&v->refs, &v->refcap, v->nref + 1, sizeof(cpinfo)))
		return BG_ENOMEM;
	parse_cp(&rv, &v->refs[v->nref]);
	v->refs[v->nref++].seq = rv.seq;
	return 0;
}

static int by_seq(const void *pa, const void *pb)
{
	const item *a = *(item *const *)pa, *b = *(item *const *)pb;

	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static const sigkey *find_key(const averify *v, const char *id)
{
	size_t i;

	for (i = 0; i < v->nkeys; i++)
		if (strcmp(sigkey_id(v->keys[i]), id) == 0)
			return v->keys[i];
	return NULL;
}

/* Verifies a checkpoint's signature; NULL when good, else the finding's kind. */
static const char *cp_signature(const averify *v, const cpinfo *c)
{
	const sigkey *k;

	if (!c->well_formed)
		return "bad_checkpoint";
	k = find_key(v, c->key_id);
	if (k == NULL)
		return "unknown_key";
	return sigkey_verify(k, c->covers, c->covers_hex, c->sig) ? NULL : "bad_signature";
}

static void check_checkpoint(averify *v, const item *it, averify_result *r)
{
	const cpinfo *c = &v->cps[it->cp];
	const char *bad = cp_signature(v, c);
	char prev_hex[65];

	r->checkpoints++;
	bg_hex(it->prev, 32, prev_hex);
	if (c->well_formed && (c->covers != it->seq - 1 || strcmp(c->covers_hex, prev_hex) != 0)) {
		problem(v, it->seq, "bad_checkpoint",
		        "checkpoint %lld covers seq %lld, not the record just before it",
		        (long long)it->seq, (long long)c->covers);
		return;
	}
	if (bad == NULL) {
		if (c->covers > r->signed_seq)
			r->signed_seq = c->covers;
		return;
	}
	if (strcmp(bad, "bad_checkpoint") == 0)
		problem(v, it->seq, bad, "checkpoint %lld: its detail is not a checkpoint's",
		        (long long)it->seq);
	else if (strcmp(bad, "unknown_key") == 0)
		problem(v, it->seq, bad, "checkpoint %lld is signed by key %s, not a trusted key",
		        (long long)it->seq, c->key_id);
	else
		problem(v, it->seq, bad,
		        "checkpoint %lld: the signature over seq %lld does not verify",
		        (long long)it->seq, (long long)c->covers);
}

/* A checkpoint after a key rotation's handover signed by the key it retired (the handover
 * checkpoint itself, the first after the rotation record, is the old key's). */
static void check_retired(averify *v, const item *it, int64_t handover)
{
	const cpinfo *c = &v->cps[it->cp];
	size_t i;

	if (!c->well_formed || handover >= 0)
		return;
	for (i = 0; i < v->nrot; i++)
		if (v->rots[i].retired && strcmp(v->rots[i].old_id, c->key_id) == 0) {
			problem(
			    v, it->seq, "retired_key",
			    "checkpoint %lld is signed by key %s, which the key-rotation record "
			    "%lld retired",
			    (long long)it->seq, c->key_id, (long long)v->rots[i].seq);
			return;
		}
}

/* Among the records claiming sorted[a..b) 's seq, the one that fits the chain after
 * prev (NULL: none): hash right and linked first, then hash right, then the first. */
static size_t pick(item **sorted, size_t a, size_t b, const item *prev)
{
	size_t i, best = a;
	int best_score = -1;

	for (i = a; i < b; i++) {
		const item *it = sorted[i];
		int score =
		    (it->hash_ok || it->redacted) * 2 + (prev != NULL && prev->seq == it->seq - 1 &&
		                                         memcmp(prev->hash, it->prev, 32) == 0);
		if (score > best_score) {
			best = i;
			best_score = score;
		}
	}
	return best;
}

static const item *find_seq(item **kept, size_t n, int64_t seq)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (kept[mid]->seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && kept[lo]->seq == seq ? kept[lo] : NULL;
}

static void check_references(averify *v, item **kept, size_t nkept, averify_result *r)
{
	size_t i;

	for (i = 0; i < v->nref; i++) {
		const cpinfo *c = &v->refs[i];
		const item *at;
		uint8_t h[32];

		if (!c->well_formed || cp_signature(v, c) != NULL) {
			problem(
			    v, c->seq, "bad_signature",
			    "the other copy's checkpoint %lld does not verify: it proves nothing",
			    (long long)c->seq);
			continue;
		}
		if (c->covers > r->last_seq) {
			problem(v, r->last_seq + 1, "truncated",
			        "the trail ends at seq %lld, but a signed checkpoint (seq %lld) "
			        "of the other copy covers records up to seq %lld",
			        (long long)r->last_seq, (long long)c->seq, (long long)c->covers);
			continue;
		}
		at = find_seq(kept, nkept, c->covers);
		if (at == NULL || bg_unhex(c->covers_hex, 32, h) != 0)
			continue; /* missing here: already a "deleted" finding */
		if (memcmp(h, at->hash, 32) != 0)
			problem(v, at->seq, "diverged",
			        "record %lld differs from the one the other copy's checkpoint %lld "
			        "signed (the chain was rewritten)",
			        (long long)at->seq, (long long)c->seq);
	}
}

int averify_finish(averify *v, averify_result *r)
{
	static const uint8_t zero[32];
	item **sorted = NULL, **kept = NULL, *prev = NULL;
	size_t i, j, nkept = 0;
	int64_t max_seen = 0, handover = -1;

	memset(r, 0, sizeof(*r));
	if (v->finished)
		return BG_EINVAL;
	v->finished = true;
	if (v->n > 0) {
		sorted = malloc(v->n * sizeof(*sorted));
		kept = malloc(v->n * sizeof(*kept));
		if (sorted == NULL || kept == NULL) {
			free(sorted);
			free(kept);
			return BG_ENOMEM;
		}
	}
	for (i = 0; i < v->n; i++)
		sorted[i] = &v->items[i];
	if (v->n > 0)
		qsort(sorted, v->n, sizeof(*sorted), by_seq);
	/* One record per seq; the others are insertions. */
	for (i = 0; i < v->n; i = j) {
		size_t w;
		for (j = i + 1; j < v->n && sorted[j]->seq == sorted[i]->seq; j++)
			;
		w = pick(sorted, i, j, nkept > 0 ? kept[nkept - 1] : NULL);
		for (size_t k = i; k < j; k++) {
			if (k == w)
				continue;
			sorted[k]->loser = true;
			/* The same record again (a sink that delivers at least once sent it twice
			 * around a crash): nothing is added or changed, so it is counted, not a
			 * finding. Only a record whose contents match its hash counts so. */
			if (sorted[k]->hash_ok && sorted[w]->hash_ok && !sorted[k]->redacted &&
			    !sorted[w]->redacted &&
			    memcmp(sorted[k]->hash, sorted[w]->hash, 32) == 0 &&
			    memcmp(sorted[k]->prev, sorted[w]->prev, 32) == 0) {
				r->repeated++;
				continue;
			}
			problem(v, sorted[k]->seq, "inserted",
			        "a second record claims seq %lld (line %zu of the input)",
			        (long long)sorted[k]->seq, sorted[k]->idx + 1);
		}
		kept[nkept++] = sorted[w];
	}
	/* Order as given, among the kept records. */
	for (i = 0; i < v->n; i++) {
		const item *it = &v->items[i];
		if (it->loser)
			continue;
		if (it->seq < max_seen)
			problem(v, it->seq, "reordered",
			        "record %lld comes after record %lld (out of order)",
			        (long long)it->seq, (long long)max_seen);
		else
			max_seen = it->seq;
	}
	for (i = 0; i < nkept; i++) {
		item *it = kept[i];
		r->records++;
		r->redacted += it->redacted;
		if (prev == NULL) {
			r->first_seq = it->seq;
			if (it->seq > 1 && v->from_one)
				problem(v, 1, "deleted", "records 1 to %lld are missing",
				        (long long)it->seq - 1);
			else if (it->seq > 1)
				r->partial = true;
			else if (memcmp(it->prev, zero, 32) != 0)
				problem(v, 1, "link", "record 1's prev_hash is not 64 zeros");
		} else if (it->seq > prev->seq + 1) {
			if (it->seq == prev->seq + 2)
				problem(v, prev->seq + 1, "deleted", "record %lld is missing",
				        (long long)prev->seq + 1);
			else
				problem(v, prev->seq + 1, "deleted",
				        "records %lld to %lld are missing",
				        (long long)prev->seq + 1, (long long)it->seq - 1);
		} else if (memcmp(it->prev, prev->hash, 32) != 0) {
			problem(v, it->seq, "link",
			        "record %lld's prev_hash is not record %lld's hash (one of them "
			        "was replaced)",
			        (long long)it->seq, (long long)prev->seq);
		}
		if (!it->hash_ok && !it->redacted)
			problem(v, it->seq, "edited",
			        "record %lld's hash does not match its contents (edited)",
			        (long long)it->seq);
		if (it->rot >= 0 && it->hash_ok)
			handover = it->rot;
		if (it->cp >= 0) {
			check_checkpoint(v, it, r);
			check_retired(v, it, handover);
			if (handover >= 0)
				v->rots[handover].retired = true;
			handover = -1;
		}
		prev = it;
	}
	r->last_seq = prev != NULL ? prev->seq : 0;
	r->partial = r->partial || r->redacted > 0;
	check_references(v, kept, nkept, r);
	free(sorted);
	free(kept);
	r->nproblems = v->nproblems;
	r->nkept = v->nproblems < AVERIFY_MAX_PROBLEMS ? v->nproblems : AVERIFY_MAX_PROBLEMS;
	r->problems = v->problems;
	r->ok = v->nproblems == 0;
	return 0;
}

json_t *averify_result_json(const averify_result *r)
{
	json_t *o, *arr = json_array();
	size_t i;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < r->nkept; i++) {
		const averify_problem *p = &r->problems[i];
		if (json_array_append_new(arr, json_pack("{s:I,s:s,s:s}", "seq", (json_int_t)p->seq,
		                                         "kind", p->kind, "message", p->message)) !=
		    0) {
			json_decref(arr);
			return NULL;
		}
	}
	o = json_pack("{s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I}", "ok", r->ok, "partial",
	              r->partial, "records", (json_int_t)r->records, "redacted",
	              (json_int_t)r->redacted, "repeated", (json_int_t)r->repeated, "checkpoints",
	              (json_int_t)r->checkpoints, "first_seq", (json_int_t)r->first_seq, "last_seq",
	              (json_int_t)r->last_seq, "signed_seq", (json_int_t)r->signed_seq, "problems",
	              arr, "problems_total", (json_int_t)r->nproblems);
	return o;
}
