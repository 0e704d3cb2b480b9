/*
 * sigv4.c - AWS Signature Version 4 signer and verifier (see sigv4.h).
 *
 * Both directions share one canonical-request writer that streams into a "sink": the signer
 * keeps the text (callers and tests want it), the verifier only feeds SHA-256 in 2 KiB chunks
 * from a stack buffer, so a verification with a cached key does no heap allocation of its own
 * beyond OpenSSL's digest context. HMAC is built from the digest (ipad/opad) because OpenSSL
 * 3's one-shot HMAC() fetches the algorithm on every call and costs ~1 us, which alone would
 * miss the 400k verifications/s target.
 *
 * Derived signing keys are cached per (access key id, scope date) in a set-associative table
 * (the verifier's region and service are fixed, so they need not be part of the key); each set
 * has its own mutex, keys are copied out under the lock, and evicted keys are zeroed.
 */
#include "sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/crypto.h"

#define ALGORITHM  "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"

/* Everything a canonical request can hold: every header at its maximum plus path/query
 * percent-encoded (x3) and the fixed lines. */
#define SIGV4_MAX_CANONICAL                                                                        \
	((size_t)(BG_MAX_HEADERS + 3) * (BG_MAX_HEADER_VALUE + 256) + 3 * BG_SIGV4_MAX_PATH +      \
	 3 * BG_SIGV4_MAX_QUERY + 1024)

/* The derived-key cache: CACHE_WAYS entries per set, one mutex per set. */
#define CACHE_WAYS 4
#define CACHE_SETS ((BG_SIGV4_KEY_CACHE + CACHE_WAYS - 1) / CACHE_WAYS)

#define SINK_CHUNK 2048

/* ---- small character helpers ---- */

/* Character classes, one bit each, looked up per byte (the parser and the canonicalizer
 * touch every byte of every request, so this is on the hot path). */
enum {
	CH_ALNUM = 1,      /* [A-Za-z0-9] */
	CH_UNRESERVED = 2, /* RFC 3986 unreserved: alnum and -._~ */
	CH_TCHAR = 4,      /* RFC 9110 token characters */
	CH_ID = 8,         /* access key ids and scope parts: alnum and -._ */
	CH_WS = 16,        /* whitespace collapsed in header values: SP HT CR LF VT FF */
	CH_VCHAR = 32,     /* printable ASCII except space and ',' */
	CH_HEX = 64,       /* [0-9A-Fa-f] */
	CH_UPPER = 128     /* [A-Z] */
};

/* clang-format off */
static const uint8_t ch_class[256] = {
	  0,   0,   0,   0,   0,   0,   0,   0,   0,  16,  16,  16,  16,  16,   0,   0, /* 0x00 */
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, /* 0x10 */
	 16,  36,  32,  36,  36,  36,  36,  36,  32,  32,  36,  36,   0,  46,  46,  32, /* 0x20 */
	111, 111, 111, 111, 111, 111, 111, 111, 111, 111,  32,  32,  32,  32,  32,  32, /* 0x30 */
	 32, 239, 239, 239, 239, 239, 239, 175, 175, 175, 175, 175, 175, 175, 175, 175, /* 0x40 */
	175, 175, 175, 175, 175, 175, 175, 175, 175, 175, 175,  32,  32,  32,  36,  46, /* 0x50 */
	 36, 111, 111, 111, 111, 111, 111,  47,  47,  47,  47,  47,  47,  47,  47,  47, /* 0x60 */
	 47,  47,  47,  47,  47,  47,  47,  47,  47,  47,  47,  32,  36,  32,  38,   0, /* 0x70 */
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, /* 0x80 */
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, /* 0x90 */
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, /* 0xa0 */
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, /* 0xb0 */
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, /* 0xc0 */
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, /* 0xd0 */
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, /* 0xe0 */
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, /* 0xf0 */
};
/* clang-format on */

static bool has_class(uint8_t c, unsigned mask)
{
	return (ch_class[c] & mask) != 0;
}

static int lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool is_ws(uint8_t c)
{
	return has_class(c, CH_WS);
}

static bool is_unreserved(uint8_t c)
{
	return has_class(c, CH_UNRESERVED);
}

/* Every byte has one of the classes in mask and none in forbid. */
static bool all_chars(const void *p, size_t n, unsigned mask, unsigned forbid)
{
	const uint8_t *s = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (!(ch_class[s[i]] & mask) || (ch_class[s[i]] & forbid))
			return false;
	return true;
}

/* a (any case, an bytes) equals the lower-case name l (ln bytes). */
static bool name_eq(const char *a, size_t an, const char *l, size_t ln)
{
	size_t i;

	if (an != ln)
		return false;
	for (i = 0; i < an; i++)
		if (lc((uint8_t)a[i]) != (uint8_t)l[i])
			return false;
	return true;
}

/* Orders names as their lower-case forms compare bytewise. */
static int name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i, n = an < bn ? an : bn;

	for (i = 0; i < n; i++) {
		int x = lc((uint8_t)a[i]), y = lc((uint8_t)b[i]);
		if (x != y)
			return x - y;
	}
	return an < bn ? -1 : an > bn ? 1 : 0;
}

/* Trims HTTP whitespace from both ends of [*p, *p + *n). */
static void trim(const char **p, size_t *n)
{
	while (*n && is_ws((uint8_t)(*p)[0])) {
		(*p)++;
		(*n)--;
	}
	while (*n && is_ws((uint8_t)(*p)[*n - 1]))
		(*n)--;
}

/* ---- dates ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return 29;
	return dim[m - 1];
}

/* Reads n decimal digits at s. */
static bool digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

static int make_time(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s,
                     time_t *out)
{
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
		return BG_EINVAL;
	*out = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s);
	return 0;
}

int sigv4_parse_amz_date(const char *s, size_t n, time_t *out)
{
	unsigned y, mo, d, h, mi, sec;

	if (s == NULL || n != 16 || s[8] != 'T' || s[15] != 'Z' || !digits(s, 4, &y) ||
	    !digits(s + 4, 2, &mo) || !digits(s + 6, 2, &d) || !digits(s + 9, 2, &h) ||
	    !digits(s + 11, 2, &mi) || !digits(s + 13, 2, &sec))
		return BG_EINVAL;
	return make_time(y, mo, d, h, mi, sec, out);
}

/* RFC 9110 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
static int parse_http_date(const char *s, size_t n, time_t *out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	static const char wdays[] = "MonTueWedThuFriSatSun";
	unsigned y, mo = 0, d, h, mi, sec, i;

	if (n != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
	    s[19] != ':' || s[22] != ':' || memcmp(s + 25, " GMT", 4) != 0)
		return BG_EINVAL;
	for (i = 0; i < 7; i++)
		if (memcmp(s, wdays + 3 * i, 3) == 0)
			break;
	if (i == 7)
		return BG_EINVAL;
	for (i = 0; i < 12; i++)
		if (memcmp(s + 8, months + 3 * i, 3) == 0)
			mo = i + 1;
	if (mo == 0 || !digits(s + 5, 2, &d) || !digits(s + 12, 4, &y) || !digits(s + 17, 2, &h) ||
	    !digits(s + 20, 2, &mi) || !digits(s + 23, 2, &sec))
		return BG_EINVAL;
	return make_time(y, mo, d, h, mi, sec, out);
}

static void put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

int sigv4_format_amz_date(time_t t, char out[17])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return BG_EINVAL;
	put2(out, (unsigned)(tm.tm_year + 1900) / 100);
	put2(out + 2, (unsigned)(tm.tm_year + 1900) % 100);
	put2(out + 4, (unsigned)tm.tm_mon + 1);
	put2(out + 6, (unsigned)tm.tm_mday);
	out[8] = 'T';
	put2(out + 9, (unsigned)tm.tm_hour);
	put2(out + 11, (unsigned)tm.tm_min);
	put2(out + 13, (unsigned)tm.tm_sec);
	out[15] = 'Z';
	out[16] = '\0';
	return 0;
}

/* ---- SHA-256 and HMAC ---- */

static int sha256_buf(EVP_MD_CTX *c, const void *p, size_t n, uint8_t out[32])
{
	unsigned int ol;

	if (EVP_DigestInit_ex2(c, bg_sha256_md(), NULL) != 1 ||
	    (n && EVP_DigestUpdate(c, p, n) != 1) || EVP_DigestFinal_ex(c, out, &ol) != 1)
		return BG_EIO;
	return 0;
}

static int hmac_sha256(EVP_MD_CTX *c, const void *key, size_t klen, const void *msg, size_t mlen,
                       uint8_t out[32])
{
	uint8_t k[64], pad[64], inner[32];
	unsigned int ol;
	size_t i;
	int rc = BG_EIO;

	memset(k, 0, sizeof(k));
	if (klen > sizeof(k)) {
		if (sha256_buf(c, key, klen, k))
			goto fail;
	} else if (klen) {
		memcpy(k, key, klen);
	}
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	if (EVP_DigestInit_ex2(c, bg_sha256_md(), NULL) != 1 ||
	    EVP_DigestUpdate(c, pad, sizeof(pad)) != 1 ||
	    (mlen && EVP_DigestUpdate(c, msg, mlen) != 1) || EVP_DigestFinal_ex(c, inner, &ol) != 1)
		goto fail;
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	if (EVP_DigestInit_ex2(c, bg_sha256_md(), NULL) != 1 ||
	    EVP_DigestUpdate(c, pad, sizeof(pad)) != 1 ||
	    EVP_DigestUpdate(c, inner, sizeof(inner)) != 1 || EVP_DigestFinal_ex(c, out, &ol) != 1)
		goto fail;
	rc = 0;
fail:
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
	return rc;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
static int derive_key(EVP_MD_CTX *c, const char *secret, size_t slen, const char *date8,
                      const char *region, size_t rlen, const char *service, size_t svlen,
                      uint8_t out[32])
{
	uint8_t ks[4 + BG_MAX_SECRET_KEY], k1[32], k2[32];
	int rc = BG_ELIMIT;

	if (slen > BG_MAX_SECRET_KEY)
		return rc;
	memcpy(ks, "AWS4", 4);
	memcpy(ks + 4, secret, slen);
	rc = hmac_sha256(c, ks, 4 + slen, date8, 8, k1);
	if (rc == 0)
		rc = hmac_sha256(c, k1, 32, region, rlen, k2);
	if (rc == 0)
		rc = hmac_sha256(c, k2, 32, service, svlen, k1);
	if (rc == 0)
		rc = hmac_sha256(c, k1, 32, TERMINATOR, sizeof(TERMINATOR) - 1, out);
	OPENSSL_cleanse(ks, sizeof(ks));
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	return rc;
}

/* ---- the canonical-request sink ---- */

typedef struct sink {
	EVP_MD_CTX *md; /* digest fed in chunks (initialized), or NULL */
	bg_buf *text;   /* full text copy, or NULL */
	int err;
	size_t n;
	uint8_t chunk[SINK_CHUNK];
} sink;

static void sink_flush(sink *s)
{
	if (s->md && s->n && !s->err && EVP_DigestUpdate(s->md, s->chunk, s->n) != 1)
		s->err = BG_EIO;
	s->n = 0;
}

static void sink_put(sink *s, const void *p, size_t n)
{
	int rc;

	if (s->err || n == 0)
		return;
	if (s->text) {
		rc = bg_buf_add(s->text, p, n);
		if (rc) {
			s->err = rc;
			return;
		}
	}
	if (s->md == NULL)
		return;
	if (n > SINK_CHUNK - s->n) {
		sink_flush(s);
		if (n >= SINK_CHUNK) {
			if (!s->err && EVP_DigestUpdate(s->md, p, n) != 1)
				s->err = BG_EIO;
			return;
		}
	}
	memcpy(s->chunk + s->n, p, n);
	s->n += n;
}

static void sink_putc(sink *s, char c)
{
	if (s->text == NULL && s->n < SINK_CHUNK) {
		s->chunk[s->n++] = (uint8_t)c;
		return;
	}
	sink_put(s, &c, 1);
}

static int sink_finish(sink *s, uint8_t out[32])
{
	unsigned int ol;

	sink_flush(s);
	if (s->err)
		return s->err;
	if (s->md && EVP_DigestFinal_ex(s->md, out, &ol) != 1)
		return BG_EIO;
	return 0;
}

/* Writes bytes percent-encoded: unreserved characters (and '/' when keep_slash) as they are,
 * everything else as %XX with upper-case hex. */
static void put_encoded(sink *s, const uint8_t *p, size_t n, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, run;

	while (i < n) {
		run = i;
		while (run < n && (is_unreserved(p[run]) || (keep_slash && p[run] == '/')))
			run++;
		sink_put(s, p + i, run - i);
		if (run < n) {
			char esc[3] = {'%', hex[p[run] >> 4], hex[p[run] & 15]};
			sink_put(s, esc, 3);
			run++;
		}
		i = run;
	}
}

/* The canonical URI. With normalize, empty and "." segments are dropped and ".." removes
 * the previous segment (consecutive slashes collapse, as AWS requires); a trailing slash is
 * kept when anything remains. This matches botocore and the JS SDK. */
static int put_canonical_path(sink *s, const char *path, size_t len, bool normalize)
{
	uint8_t stackbuf[512], *buf = stackbuf;
	size_t i = 0, j, olen = 0, start = 0;

	if (len == 0) {
		sink_putc(s, '/');
		return 0;
	}
	if (!normalize) {
		put_encoded(s, (const uint8_t *)path, len, true);
		return 0;
	}
	if (len + 2 > sizeof(stackbuf)) {
		buf = malloc(len + 2);
		if (buf == NULL)
			return BG_ENOMEM;
	}
	while (i < len) {
		const char *seg = path + i;
		size_t n;

		for (j = i; j < len && path[j] != '/'; j++)
			;
		n = j - i;
		if (n == 0 || (n == 1 && seg[0] == '.')) {
			/* dropped */
		} else if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (olen > 0 && buf[olen - 1] != '/')
				olen--;
			if (olen > 0)
				olen--;
		} else {
			buf[olen++] = '/';
			memcpy(buf + olen, seg, n);
			olen += n;
		}
		i = j + 1;
	}
	if (olen > 0 && path[len - 1] == '/')
		buf[olen++] = '/';
	if (olen > 0 && path[0] != '/')
		start = 1;
	if (olen - start == 0)
		sink_putc(s, '/');
	else
		put_encoded(s, buf + start, olen - start, true);
	if (buf != stackbuf)
		free(buf);
	return 0;
}

/* Appends p decoded (valid %XX escapes only) and then re-encoded, so that an escaped and
 * an unescaped spelling of the same parameter canonicalize alike. */
static int add_query_encoded(bg_buf *b, const char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		uint8_t c = (uint8_t)p[i];
		int hi, lo;

		if (c == '%' && i + 2 < n && (hi = bg_hex_digit((uint8_t)p[i + 1])) >= 0 &&
		    (lo = bg_hex_digit((uint8_t)p[i + 2])) >= 0) {
			c = (uint8_t)(hi << 4 | lo);
			i += 2;
		}
		if (is_unreserved(c)) {
			rc = bg_buf_addc(b, (char)c);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
			rc = bg_buf_add(b, esc, 3);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

typedef struct qparam {
	size_t koff, klen, voff, vlen;
} qparam;

static int qparam_cmp(const bg_buf *b, const qparam *x, const qparam *y)
{
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int r = memcmp(b->data + x->koff, b->data + y->koff, n);

	if (r)
		return r;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	n = x->vlen < y->vlen ? x->vlen : y->vlen;
	r = n ? memcmp(b->data + x->voff, b->data + y->voff, n) : 0;
	if (r)
		return r;
	return x->vlen < y->vlen ? -1 : x->vlen > y->vlen ? 1 : 0;
}

/* The canonical query string: parameters split on '&' (empty ones skipped), a missing '='
 * meaning an empty value, each key and value re-encoded, sorted by key then value. */
static int put_canonical_query(sink *s, const char *q, size_t len)
{
	qparam ps[BG_SIGV4_MAX_QUERY_PARAMS], t;
	size_t np = 0, i = 0, j, k;
	bg_buf enc;
	const char *base;
	int rc = 0;

	if (len == 0)
		return 0;
	bg_buf_init(&enc, 3 * len + 16);
	while (i < len) {
		const char *eq;

		for (j = i; j < len && q[j] != '&'; j++)
			;
		if (j > i) {
			if (np == BG_SIGV4_MAX_QUERY_PARAMS) {
				rc = BG_ELIMIT;
				goto fail;
			}
			eq = memchr(q + i, '=', j - i);
			ps[np].koff = enc.len;
			rc = add_query_encoded(&enc, q + i, eq ? (size_t)(eq - (q + i)) : j - i);
			if (rc)
				goto fail;
			ps[np].klen = enc.len - ps[np].koff;
			ps[np].voff = enc.len;
			if (eq) {
				rc = add_query_encoded(&enc, eq + 1, (size_t)(q + j - (eq + 1)));
				if (rc)
					goto fail;
			}
			ps[np].vlen = enc.len - ps[np].voff;
			np++;
		}
		i = j + 1;
	}
	for (i = 1; i < np; i++) {
		t = ps[i];
		for (k = i; k > 0 && qparam_cmp(&enc, &ps[k - 1], &t) > 0; k--)
			ps[k] = ps[k - 1];
		ps[k] = t;
	}
	/* Parameters with empty names and values leave enc unallocated: offsets are then 0
	 * into an empty string, never into a null pointer. */
	base = enc.data != NULL ? enc.data : "";
	for (i = 0; i < np; i++) {
		if (i)
			sink_putc(s, '&');
		sink_put(s, base + ps[i].koff, ps[i].klen);
		sink_putc(s, '=');
		sink_put(s, base + ps[i].voff, ps[i].vlen);
	}
fail:
	bg_buf_free(&enc);
	return rc;
}

/* True when the query carries presigned-URL authentication parameters. */
static bool query_is_presigned(const char *q, size_t len)
{
	static const char *const names[] = {"x-amz-signature", "x-amz-credential",
	                                    "x-amz-algorithm"};
	size_t i = 0, j, k, n;
	char key[32];

	while (i < len) {
		for (j = i; j < len && q[j] != '&' && q[j] != '='; j++)
			;
		for (n = 0, k = i; k < j && n < sizeof(key); k++) {
			int hi, lo;
			if (q[k] == '%' && k + 2 < j &&
			    (hi = bg_hex_digit((uint8_t)q[k + 1])) >= 0 &&
			    (lo = bg_hex_digit((uint8_t)q[k + 2])) >= 0) {
				key[n++] = (char)(hi << 4 | lo);
				k += 2;
			} else {
				key[n++] = q[k];
			}
		}
		if (k == j)
			for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
				if (name_eq(key, n, names[k], strlen(names[k])))
					return true;
		while (j < len && q[j] != '&')
			j++;
		i = j + 1;
	}
	return false;
}

/* Trimall: leading and trailing whitespace removed, inner runs collapsed to one space. */
static void put_trimmed(sink *s, const char *v, size_t n)
{
	size_t i = 0, start;
	bool first = true, clean = n == 0 || (!is_ws((uint8_t)v[0]) && !is_ws((uint8_t)v[n - 1]));

	/* Fast path: most values need no change (single spaces inside, none at the ends). */
	for (i = 0; clean && i < n; i++)
		if (is_ws((uint8_t)v[i]) && (v[i] != ' ' || is_ws((uint8_t)v[i + 1])))
			clean = false;
	if (clean) {
		sink_put(s, v, n);
		return;
	}
	i = 0;
	while (i < n) {
		while (i < n && is_ws((uint8_t)v[i]))
			i++;
		if (i >= n)
			break;
		start = i;
		while (i < n && !is_ws((uint8_t)v[i]))
			i++;
		if (!first)
			sink_putc(s, ' ');
		sink_put(s, v + start, i - start);
		first = false;
	}
}

static void put_lower(sink *s, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sink_putc(s, (char)lc((uint8_t)p[i]));
}

static bool method_ok(const char *m)
{
	size_t n;

	if (m == NULL)
		return false;
	n = strnlen(m, BG_SIGV4_MAX_METHOD + 1);
	return n > 0 && n <= BG_SIGV4_MAX_METHOD && all_chars(m, n, CH_TCHAR, 0);
}

/* "20150830/us-east-1/service/aws4_request" */
static size_t write_scope(char *out, const char *date8, const char *region, size_t rlen,
                          const char *service, size_t svlen)
{
	size_t n = 0;

	memcpy(out + n, date8, 8);
	n += 8;
	out[n++] = '/';
	memcpy(out + n, region, rlen);
	n += rlen;
	out[n++] = '/';
	memcpy(out + n, service, svlen);
	n += svlen;
	out[n++] = '/';
	memcpy(out + n, TERMINATOR, sizeof(TERMINATOR) - 1);
	n += sizeof(TERMINATOR) - 1;
	return n;
}

/* Room for "AWS4-HMAC-SHA256\n" + timestamp + "\n" + scope + "\n" + 64 hex. */
#define STS_MAX (sizeof(ALGORITHM) + 17 + 9 + 2 * (BG_SIGV4_MAX_SCOPE_PART + 1) + 13 + 65 + 16)

static size_t write_sts(char *out, const char amz_date[16], const char *region, size_t rlen,
                        const char *service, size_t svlen, const uint8_t creq_hash[32])
{
	size_t n = 0;

	memcpy(out, ALGORITHM "\n", sizeof(ALGORITHM));
	n += sizeof(ALGORITHM);
	memcpy(out + n, amz_date, 16);
	n += 16;
	out[n++] = '\n';
	n += write_scope(out + n, amz_date, region, rlen, service, svlen);
	out[n++] = '\n';
	bg_hex(creq_hash, 32, out + n);
	n += 64;
	out[n] = '\0';
	return n;
}

static bool scope_part_ok(const char *s, size_t *len)
{
	if (s == NULL)
		return false;
	*len = strnlen(s, BG_SIGV4_MAX_SCOPE_PART + 1);
	return *len > 0 && *len <= BG_SIGV4_MAX_SCOPE_PART && all_chars(s, *len, CH_ID, 0);
}

/* ---- signer ---- */

void sigv4_signed_free(sigv4_signed *s)
{
	if (s == NULL)
		return;
	bg_buf_free(&s->canonical_request);
	bg_buf_free(&s->string_to_sign);
	bg_buf_free(&s->signed_headers);
	bg_buf_free(&s->authorization);
	memset(s, 0, sizeof(*s));
}

static bool value_ok(const char *v, size_t n)
{
	return (v != NULL || n == 0) && n <= BG_MAX_HEADER_VALUE &&
	       (n == 0 || (memchr(v, '\r', n) == NULL && memchr(v, '\n', n) == NULL &&
	                   memchr(v, '\0', n) == NULL));
}

int sigv4_sign(const sigv4_request *req, const sigv4_sign_params *p, sigv4_signed *out, bg_err *e)
{
	sigv4_header hs[BG_MAX_HEADERS + 3], t;
	size_t nh = 0, i, k, akid_len, secret_len, rlen, svlen, distinct = 0;
	uint8_t hash[32], key[32], sig[32];
	char sts[STS_MAX];
	EVP_MD_CTX *c = NULL;
	sink text_sink, *snk = &text_sink;
	int rc;

	memset(out, 0, sizeof(*out));
	bg_buf_init(&out->canonical_request, SIGV4_MAX_CANONICAL);
	bg_buf_init(&out->string_to_sign, STS_MAX);
	bg_buf_init(&out->signed_headers, (size_t)(BG_MAX_HEADERS + 3) * (BG_MAX_HEADER_VALUE + 1));
	bg_buf_init(&out->authorization, BG_MAX_AUTH_HEADER * 2);

	rc = bg_err_set(e, BG_EINVAL, "sigv4: invalid signing parameters");
	if (req == NULL || p == NULL || !method_ok(req->method) ||
	    (req->path == NULL && req->path_len) || (req->query == NULL && req->query_len) ||
	    (req->body == NULL && req->body_len) || (req->headers == NULL && req->n_headers))
		goto fail;
	if (p->access_key_id == NULL || p->secret_key == NULL)
		goto fail;
	akid_len = strnlen(p->access_key_id, BG_MAX_ACCESS_KEY_ID + 1);
	secret_len = strnlen(p->secret_key, BG_MAX_SECRET_KEY + 1);
	if (akid_len == 0 || akid_len > BG_MAX_ACCESS_KEY_ID ||
	    !all_chars(p->access_key_id, akid_len, CH_ID, 0) || secret_len == 0 ||
	    secret_len > BG_MAX_SECRET_KEY || !scope_part_ok(p->region, &rlen) ||
	    !scope_part_ok(p->service, &svlen))
		goto fail;
	if (p->session_token &&
	    !value_ok(p->session_token, strnlen(p->session_token, BG_MAX_SESSION_TOKEN + 1)))
		goto fail;
	if (p->session_token && strlen(p->session_token) > BG_MAX_SESSION_TOKEN) {
		rc = bg_err_set(e, BG_ELIMIT, "sigv4: session token too long");
		goto fail;
	}
	if (req->path_len > BG_SIGV4_MAX_PATH || req->query_len > BG_SIGV4_MAX_QUERY ||
	    req->body_len > BG_MAX_REQUEST_BODY || req->n_headers > BG_MAX_HEADERS) {
		rc = bg_err_set(e, BG_ELIMIT, "sigv4: request exceeds a limit");
		goto fail;
	}
	if (sigv4_format_amz_date(p->now, out->amz_date)) {
		rc = bg_err_set(e, BG_EINVAL, "sigv4: time out of range");
		goto fail;
	}

	for (i = 0; i < req->n_headers; i++) {
		const sigv4_header *h = &req->headers[i];

		if (h->name == NULL || h->name_len == 0 || h->name_len > BG_MAX_HEADER_VALUE ||
		    !all_chars(h->name, h->name_len, CH_TCHAR, 0) ||
		    !value_ok(h->value, h->value_len)) {
			rc = bg_err_set(e, BG_EINVAL, "sigv4: invalid header %zu", i);
			goto fail;
		}
		if (name_eq(h->name, h->name_len, "authorization", 13) ||
		    name_eq(h->name, h->name_len, "x-amz-date", 10) ||
		    (p->session_token &&
		     name_eq(h->name, h->name_len, "x-amz-security-token", 20)) ||
		    (p->sign_body_header &&
		     name_eq(h->name, h->name_len, "x-amz-content-sha256", 20)))
			continue;
		hs[nh++] = *h;
	}
	hs[nh++] = (sigv4_header){"x-amz-date", 10, out->amz_date, 16};
	if (p->session_token && !p->omit_session_token)
		hs[nh++] = (sigv4_header){"x-amz-security-token", 20, p->session_token,
		                          strlen(p->session_token)};
	if (p->sign_body_header)
		hs[nh++] = (sigv4_header){"x-amz-content-sha256", 20, out->payload_hash, 64};
	/* Stable insertion sort: duplicates keep their order, as their values are joined. */
	for (i = 1; i < nh; i++) {
		t = hs[i];
		for (k = i;
		     k > 0 && name_cmp(hs[k - 1].name, hs[k - 1].name_len, t.name, t.name_len) > 0;
		     k--)
			hs[k] = hs[k - 1];
		hs[k] = t;
	}
	for (i = 0; i < nh; i++)
		if (i == 0 ||
		    name_cmp(hs[i - 1].name, hs[i - 1].name_len, hs[i].name, hs[i].name_len) != 0)
			distinct++;
	if (distinct > BG_MAX_SIGNED_HEADERS) {
		rc = bg_err_set(e, BG_ELIMIT, "sigv4: too many headers to sign");
		goto fail;
	}

	rc = bg_err_set(e, BG_ENOMEM, "sigv4: out of memory");
	c = EVP_MD_CTX_new();
	if (c == NULL)
		goto fail;
	rc = bg_err_set(e, BG_EIO, "sigv4: digest failed");
	if (sha256_buf(c, req->body, req->body_len, hash))
		goto fail;
	bg_hex(hash, 32, out->payload_hash);

	memset(snk, 0, offsetof(sink, chunk));
	snk->text = &out->canonical_request;
	sink_put(snk, req->method, strlen(req->method));
	sink_putc(snk, '\n');
	rc = put_canonical_path(snk, req->path, req->path_len, p->normalize_path);
	sink_putc(snk, '\n');
	if (rc == 0)
		rc = put_canonical_query(snk, req->query, req->query_len);
	sink_putc(snk, '\n');
	for (i = 0; i < nh; i++) {
		bool same = i > 0 && name_cmp(hs[i - 1].name, hs[i - 1].name_len, hs[i].name,
		                              hs[i].name_len) == 0;
		if (same) {
			sink_putc(snk, ',');
		} else {
			if (i > 0) {
				sink_putc(snk, '\n');
				if (rc == 0)
					rc = bg_buf_addc(&out->signed_headers, ';');
			}
			put_lower(snk, hs[i].name, hs[i].name_len);
			sink_putc(snk, ':');
			for (k = 0; rc == 0 && k < hs[i].name_len; k++)
				rc = bg_buf_addc(&out->signed_headers,
				                 (char)lc((uint8_t)hs[i].name[k]));
		}
		put_trimmed(snk, hs[i].value, hs[i].value_len);
	}
	sink_put(snk, "\n\n", 2);
	sink_put(snk, out->signed_headers.data, out->signed_headers.len);
	sink_putc(snk, '\n');
	sink_put(snk, out->payload_hash, 64);
	if (rc == 0)
		rc = sink_finish(snk, hash);
	if (rc) {
		rc = bg_err_set(e, rc, "sigv4: cannot build the canonical request (%s)",
		                bg_err_name(rc));
		goto fail;
	}

	rc = bg_err_set(e, BG_EIO, "sigv4: digest failed");
	if (sha256_buf(c, out->canonical_request.data, out->canonical_request.len, hash))
		goto fail;
	write_sts(sts, out->amz_date, p->region, rlen, p->service, svlen, hash);
	if (bg_buf_adds(&out->string_to_sign, sts) != 0) {
		rc = bg_err_set(e, BG_ELIMIT, "sigv4: signed request exceeds a limit");
		goto fail;
	}
	if (derive_key(c, p->secret_key, secret_len, out->amz_date, p->region, rlen, p->service,
	               svlen, key) ||
	    hmac_sha256(c, key, sizeof(key), out->string_to_sign.data, out->string_to_sign.len,
	                sig))
		goto fail;
	bg_hex(sig, 32, out->signature);
	if (bg_buf_adds(&out->authorization, ALGORITHM " Credential=") ||
	    bg_buf_adds(&out->authorization, p->access_key_id) ||
	    bg_buf_addc(&out->authorization, '/') ||
	    bg_buf_add(&out->authorization, sts + sizeof(ALGORITHM) + 17,
	               8 + 1 + rlen + 1 + svlen + 1 + sizeof(TERMINATOR) - 1) ||
	    bg_buf_adds(&out->authorization, ", SignedHeaders=") ||
	    bg_buf_add(&out->authorization, out->signed_headers.data, out->signed_headers.len) ||
	    bg_buf_adds(&out->authorization, ", Signature=") ||
	    bg_buf_add(&out->authorization, out->signature, 64)) {
		rc = bg_err_set(e, BG_ELIMIT, "sigv4: signed request exceeds a limit");
		goto fail;
	}
	rc = 0;
	bg_err_clear(e);
fail:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_MD_CTX_free(c);
	if (rc)
		sigv4_signed_free(out);
	return rc;
}

/* ---- Authorization header parser ---- */

static bool cur_is(const bg_cur *c, const char *s)
{
	size_t n = strlen(s);

	return c->len == n && memcmp(c->p, s, n) == 0;
}

static bool scope_cur_ok(const bg_cur *c)
{
	return c->len > 0 && c->len <= BG_SIGV4_MAX_SCOPE_PART && all_chars(c->p, c->len, CH_ID, 0);
}

#define MALFORMED                                                                                  \
	"Authorization header is malformed: expected 'AWS4-HMAC-SHA256 Credential=..., "           \
	"SignedHeaders=..., Signature=...'."

static int parse_credential(bg_cur val, sigv4_auth *out, bg_err *e)
{
	bg_cur parts[5];
	size_t i, k = 0, start = 0;
	unsigned day;

	for (i = 0; i <= val.len; i++) {
		if (i < val.len && val.p[i] != '/')
			continue;
		if (k == 5)
			break;
		parts[k++] = bg_cur_make(val.p + start, i - start);
		start = i + 1;
	}
	if (k != 5 || i <= val.len)
		return bg_err_set(e, BG_EINVAL,
		                  "Credential must have exactly 5 slash-delimited elements, e.g. "
		                  "keyid/date/region/service/term.");
	if (parts[0].len == 0 || parts[0].len > BG_MAX_ACCESS_KEY_ID ||
	    !all_chars(parts[0].p, parts[0].len, CH_ID, 0))
		return bg_err_set(e, BG_EINVAL, "The access key id in the Credential is invalid.");
	if (parts[1].len != 8 || !digits((const char *)parts[1].p, 8, &day))
		return bg_err_set(e, BG_EINVAL,
		                  "The date in the Credential scope must be YYYYMMDD.");
	if (!scope_cur_ok(&parts[2]) || !scope_cur_ok(&parts[3]) || !scope_cur_ok(&parts[4]))
		return bg_err_set(e, BG_EINVAL, "The Credential scope is malformed.");
	out->akid = parts[0];
	out->date = parts[1];
	out->region = parts[2];
	out->service = parts[3];
	out->terminator = parts[4];
	return 0;
}

static int parse_signed_headers(bg_cur val, sigv4_auth *out, bg_err *e)
{
	size_t i, start = 0, n = 0, prev_off = 0, prev_len = 0;

	for (i = 0; i <= val.len; i++) {
		size_t len, m;
		int r;

		if (i < val.len && val.p[i] != ';')
			continue;
		len = i - start;
		if (len == 0 || !all_chars(val.p + start, len, CH_TCHAR, CH_UPPER))
			return bg_err_set(e, BG_EINVAL,
			                  "SignedHeaders must be lower-case header names separated "
			                  "by ';'.");
		if (n > 0) {
			m = len < prev_len ? len : prev_len;
			r = memcmp(val.p + prev_off, val.p + start, m);
			if (r > 0 || (r == 0 && prev_len >= len))
				return bg_err_set(
				    e, BG_EINVAL,
				    "SignedHeaders must be sorted and must not repeat a "
				    "name.");
		}
		if (++n > BG_MAX_SIGNED_HEADERS)
			return bg_err_set(e, BG_ELIMIT, "SignedHeaders lists too many headers.");
		prev_off = start;
		prev_len = len;
		start = i + 1;
	}
	out->signed_headers = val;
	out->n_signed = n;
	return 0;
}

int sigv4_parse_authorization(const char *value, size_t len, sigv4_auth *out, bg_err *e)
{
	bg_cur c, key, val;
	bool have_cred = false, have_sh = false, have_sig = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if (value == NULL && len)
		return bg_err_set(e, BG_EINVAL, MALFORMED);
	if (len > BG_MAX_AUTH_HEADER)
		return bg_err_set(e, BG_ELIMIT, "The Authorization header is too long.");
	c = bg_cur_make(value, len);
	bg_cur_skip(&c, " \t");
	if (bg_cur_expect(&c, ALGORITHM, sizeof(ALGORITHM) - 1) != 0 || bg_cur_skip(&c, " \t") == 0)
		return bg_err_set(e, BG_EINVAL,
		                  "Only AWS4-HMAC-SHA256 (Signature Version 4) authorization is "
		                  "supported.");
	for (;;) {
		const uint8_t *start = c.p + c.off, *comma, *eq;
		size_t n = bg_cur_left(&c);

		comma = n ? memchr(start, ',', n) : NULL;
		if (comma)
			n = (size_t)(comma - start);
		c.off += n;
		while (n && is_ws(start[n - 1]))
			n--;
		eq = n ? memchr(start, '=', n) : NULL;
		if (eq == NULL)
			return bg_err_set(e, BG_EINVAL, MALFORMED);
		key = bg_cur_make(start, (size_t)(eq - start));
		val = bg_cur_make(eq + 1, n - (size_t)(eq + 1 - start));
		if (val.len == 0 || !all_chars(val.p, val.len, CH_VCHAR, 0))
			return bg_err_set(e, BG_EINVAL, MALFORMED);
		if (cur_is(&key, "Credential") && !have_cred) {
			have_cred = true;
			rc = parse_credential(val, out, e);
		} else if (cur_is(&key, "SignedHeaders") && !have_sh) {
			have_sh = true;
			rc = parse_signed_headers(val, out, e);
		} else if (cur_is(&key, "Signature") && !have_sig) {
			have_sig = true;
			if (val.len != 64 || !all_chars(val.p, 64, CH_HEX, 0))
				return bg_err_set(e, BG_EINVAL,
				                  "Signature must be 64 hexadecimal digits.");
			out->signature = val;
			rc = 0;
		} else {
			return bg_err_set(e, BG_EINVAL, MALFORMED);
		}
		if (rc)
			return rc;
		if (bg_cur_eof(&c))
			break;
		c.off++; /* the comma */
		bg_cur_skip(&c, " \t");
		if (bg_cur_eof(&c))
			return bg_err_set(e, BG_EINVAL, MALFORMED);
	}
	if (!have_cred || !have_sh || !have_sig)
		return bg_err_set(
		    e, BG_EINVAL, "%s%s%s",
		    have_cred ? "" : "Authorization header requires 'Credential' parameter. ",
		    have_sh ? "" : "Authorization header requires 'SignedHeaders' parameter. ",
		    have_sig ? "" : "Authorization header requires 'Signature' parameter.");
	return 0;
}

/* ---- verifier ---- */

typedef struct key_entry {
	uint64_t tick; /* last use, for LRU within the set; 0 = empty */
	size_t akid_len;
	char date[8];
	char akid[BG_MAX_ACCESS_KEY_ID];
	uint8_t key[32];
} key_entry;

typedef struct key_set {
	pthread_mutex_t lock;
	uint64_t tick;
	key_entry e[CACHE_WAYS];
} key_set;

struct sigv4_verifier {
	char region[BG_SIGV4_MAX_SCOPE_PART + 1];
	char service[BG_SIGV4_MAX_SCOPE_PART + 1];
	size_t region_len, service_len;
	char **required; /* lower-case, "host" included */
	size_t n_required;
	int skew;
	bool normalize;
	key_set *sets; /* CACHE_SETS */
	size_t n_locks;
};

void sigv4_verifier_free(sigv4_verifier *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n_locks; i++)
		pthread_mutex_destroy(&v->sets[i].lock);
	if (v->sets) {
		OPENSSL_cleanse(v->sets, CACHE_SETS * sizeof(key_set));
		free(v->sets);
	}
	for (i = 0; v->required && i < v->n_required; i++)
		free(v->required[i]);
	free(v->required);
	free(v);
}

static int add_required(sigv4_verifier *v, const char *name)
{
	size_t n, i;
	char *copy;

	if (name == NULL)
		return BG_EINVAL;
	n = strnlen(name, BG_MAX_HEADER_VALUE + 1);
	if (n == 0 || n > BG_MAX_HEADER_VALUE || !all_chars(name, n, CH_TCHAR, 0))
		return BG_EINVAL;
	for (i = 0; i < v->n_required; i++)
		if (name_eq(name, n, v->required[i], strlen(v->required[i])))
			return 0;
	copy = malloc(n + 1);
	if (copy == NULL)
		return BG_ENOMEM;
	for (i = 0; i < n; i++)
		copy[i] = (char)lc((uint8_t)name[i]);
	copy[n] = '\0';
	v->required[v->n_required++] = copy;
	return 0;
}

sigv4_verifier *sigv4_verifier_new(const char *region, const char *service,
                                   const char *const *required_signed, size_t n_required)
{
	sigv4_verifier *v = NULL;
	size_t i;

	if (!scope_part_ok(region, &i) || !scope_part_ok(service, &i) ||
	    n_required > BG_MAX_SIGNED_HEADERS || (required_signed == NULL && n_required))
		goto fail;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		goto fail;
	v->region_len = strlen(region);
	memcpy(v->region, region, v->region_len + 1);
	v->service_len = strlen(service);
	memcpy(v->service, service, v->service_len + 1);
	v->skew = BG_SIGV4_MAX_SKEW_SECONDS;
	v->normalize = true;
	v->required = calloc(n_required + 1, sizeof(char *));
	v->sets = calloc(CACHE_SETS, sizeof(key_set));
	if (v->required == NULL || v->sets == NULL || add_required(v, "host"))
		goto fail;
	for (i = 0; i < n_required; i++)
		if (add_required(v, required_signed[i]))
			goto fail;
	for (; v->n_locks < CACHE_SETS; v->n_locks++)
		if (pthread_mutex_init(&v->sets[v->n_locks].lock, NULL) != 0)
			goto fail;
	return v;
fail:
	sigv4_verifier_free(v);
	return NULL;
}

void sigv4_verifier_set_skew(sigv4_verifier *v, int seconds)
{
	if (v && seconds >= 0)
		v->skew = seconds;
}

void sigv4_verifier_set_normalize(sigv4_verifier *v, bool normalize)
{
	if (v)
		v->normalize = normalize;
}

static key_set *cache_set(sigv4_verifier *v, const char *akid, size_t n, const char *date8)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)akid[i]) * 1099511628211ull;
	for (i = 0; i < 8; i++)
		h = (h ^ (uint8_t)date8[i]) * 1099511628211ull;
	return &v->sets[h % CACHE_SETS];
}

static key_entry *set_find(key_set *s, const char *akid, size_t n, const char *date8)
{
	size_t i;

	for (i = 0; i < CACHE_WAYS; i++) {
		key_entry *k = &s->e[i];
		if (k->tick && k->akid_len == n && memcmp(k->date, date8, 8) == 0 &&
		    memcmp(k->akid, akid, n) == 0)
			return k;
	}
	return NULL;
}

static bool cache_get(sigv4_verifier *v, const char *akid, size_t n, const char *date8,
                      uint8_t key[32])
{
	key_set *s = cache_set(v, akid, n, date8);
	key_entry *k;

	pthread_mutex_lock(&s->lock);
	k = set_find(s, akid, n, date8);
	if (k) {
		memcpy(key, k->key, 32);
		k->tick = ++s->tick;
	}
	pthread_mutex_unlock(&s->lock);
	return k != NULL;
}

static void cache_put(sigv4_verifier *v, const char *akid, size_t n, const char *date8,
                      const uint8_t key[32])
{
	key_set *s = cache_set(v, akid, n, date8);
	key_entry *k;
	size_t i;

	pthread_mutex_lock(&s->lock);
	k = set_find(s, akid, n, date8);
	if (k == NULL) {
		k = &s->e[0];
		for (i = 1; i < CACHE_WAYS; i++)
			if (s->e[i].tick < k->tick)
				k = &s->e[i];
		OPENSSL_cleanse(k, sizeof(*k));
		k->akid_len = n;
		memcpy(k->akid, akid, n);
		memcpy(k->date, date8, 8);
	}
	memcpy(k->key, key, 32);
	k->tick = ++s->tick;
	pthread_mutex_unlock(&s->lock);
}

const sigv4_header *sigv4_header_find(const sigv4_header *h, size_t n, const char *name,
                                      size_t *count)
{
	const sigv4_header *first = NULL;
	size_t i, len = strlen(name), k = 0;

	for (i = 0; i < n; i++)
		if (h[i].name_len == len && strncasecmp(h[i].name, name, len) == 0) {
			if (first == NULL)
				first = &h[i];
			k++;
		}
	if (count)
		*count = k;
	return first;
}

static int status_code(int st)
{
	switch (st) {
	case SIGV4_OK:
		return BG_OK;
	case SIGV4_INCOMPLETE:
		return BG_EINVAL;
	case SIGV4_SKEW:
		return BG_EEXPIRED;
	case SIGV4_INTERNAL:
		return BG_ENOMEM;
	default:
		return BG_EAUTH;
	}
}

static int verr(bg_err *e, int st, const char *fmt, ...) BG_PRINTF(3, 4);

static int verr(bg_err *e, int st, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		e->code = status_code(st);
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return st;
}

const char *sigv4_status_name(int status)
{
	switch (status) {
	case SIGV4_OK:
		return "ok";
	case SIGV4_MISSING:
		return "missing";
	case SIGV4_INCOMPLETE:
		return "incomplete";
	case SIGV4_BAD_SCOPE:
		return "bad_scope";
	case SIGV4_SKEW:
		return "skew";
	case SIGV4_UNKNOWN_KEY:
		return "unknown_key";
	case SIGV4_MISMATCH:
		return "mismatch";
	case SIGV4_INTERNAL:
		return "internal";
	}
	return "unknown";
}

typedef struct name_ref {
	const char *p;
	size_t n;
} name_ref;

/* Index of the request header name (any case) in the sorted lower-case list, or -1. */
static int find_signed(const name_ref *sh, size_t nsh, const char *name, size_t n)
{
	char low[64];
	size_t lo = 0, hi = nsh, i;
	bool folded = n <= sizeof(low);

	/* Lower-case short names once, then compare with memcmp. */
	if (folded)
		for (i = 0; i < n; i++)
			low[i] = (char)lc((uint8_t)name[i]);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, m = n < sh[mid].n ? n : sh[mid].n;
		int r;

		if (folded) {
			r = m ? memcmp(low, sh[mid].p, m) : 0;
			if (r == 0)
				r = n < sh[mid].n ? -1 : n > sh[mid].n ? 1 : 0;
		} else {
			r = name_cmp(name, n, sh[mid].p, sh[mid].n);
		}
		if (r == 0)
			return (int)mid;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

#define MSG_MISMATCH                                                                               \
	"The request signature we calculated does not match the signature you provided. "          \
	"Check your AWS Secret Access Key and signing method. Consult the service "                \
	"documentation for details."

/* What the header scan found. */
typedef struct vhdrs {
	const sigv4_header *auth, *xdate, *hdate, *token, *csha;
	unsigned n_auth, n_xdate, n_hdate, n_token, n_csha, n_host;
} vhdrs;

static int scan_headers(const sigv4_request *req, vhdrs *h, bg_err *e)
{
	size_t i;

	memset(h, 0, sizeof(*h));
	if (req->n_headers > BG_MAX_HEADERS || (req->headers == NULL && req->n_headers))
		return verr(e, SIGV4_INCOMPLETE, "The request has too many headers.");
	for (i = 0; i < req->n_headers; i++) {
		const sigv4_header *x = &req->headers[i];
		const char *nm = x->name;
		size_t n = x->name_len;

		if (nm == NULL || n == 0 || (x->value == NULL && x->value_len))
			return verr(e, SIGV4_INCOMPLETE, "The request has a malformed header.");
		if (x->value_len > BG_MAX_HEADER_VALUE)
			return verr(e, SIGV4_INCOMPLETE, "A request header is too long.");
		switch (n) {
		case 4:
			if (name_eq(nm, n, "host", 4))
				h->n_host++;
			else if (name_eq(nm, n, "date", 4) && h->n_hdate++ == 0)
				h->hdate = x;
			break;
		case 10:
			if (name_eq(nm, n, "x-amz-date", 10) && h->n_xdate++ == 0)
				h->xdate = x;
			break;
		case 13:
			if (name_eq(nm, n, "authorization", 13) && h->n_auth++ == 0)
				h->auth = x;
			break;
		case 20:
			if (name_eq(nm, n, "x-amz-security-token", 20) && h->n_token++ == 0)
				h->token = x;
			else if (name_eq(nm, n, "x-amz-content-sha256", 20) && h->n_csha++ == 0)
				h->csha = x;
			break;
		}
	}
	return SIGV4_OK;
}

/* Finds the request's timestamp: X-Amz-Date, else Date. ts receives it in ISO 8601 basic
 * form (as the string to sign wants it) and *date_name the header it came from. */
static int request_time(const vhdrs *h, time_t *t, char ts[17], const char **date_name, bg_err *e)
{
	const char *p;
	size_t n;

	if (h->n_xdate > 1 || (h->n_xdate == 0 && h->n_hdate > 1))
		return verr(e, SIGV4_INCOMPLETE, "The request has more than one date header.");
	if (h->n_xdate == 1) {
		p = h->xdate->value;
		n = h->xdate->value_len;
		trim(&p, &n);
		if (sigv4_parse_amz_date(p, n, t))
			return verr(e, SIGV4_INCOMPLETE,
			            "X-Amz-Date must be in the ISO8601 Long Format "
			            "\"yyyyMMdd'T'HHmmss'Z'\".");
		memcpy(ts, p, 16);
		ts[16] = '\0';
		*date_name = "x-amz-date";
		return SIGV4_OK;
	}
	if (h->n_hdate == 1) {
		p = h->hdate->value;
		n = h->hdate->value_len;
		trim(&p, &n);
		if (parse_http_date(p, n, t) || sigv4_format_amz_date(*t, ts))
			return verr(e, SIGV4_INCOMPLETE,
			            "The Date header must be an RFC 7231 date "
			            "(\"Sun, 06 Nov 1994 08:49:37 GMT\").");
		*date_name = "date";
		return SIGV4_OK;
	}
	return verr(e, SIGV4_INCOMPLETE,
	            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
	            "header.");
}

static int check_scope(const sigv4_verifier *v, const sigv4_auth *a, const char ts[17], bg_err *e)
{
	if (!cur_is(&a->terminator, TERMINATOR))
		return verr(e, SIGV4_BAD_SCOPE,
		            "Credential should be scoped with a valid terminator: 'aws4_request', "
		            "not '%.*s'.",
		            (int)a->terminator.len, (const char *)a->terminator.p);
	if (!cur_is(&a->service, v->service))
		return verr(e, SIGV4_BAD_SCOPE,
		            "Credential should be scoped to correct service: '%s'.", v->service);
	if (!cur_is(&a->region, v->region))
		return verr(e, SIGV4_BAD_SCOPE,
		            "Credential should be scoped to a valid region, not '%.*s'.",
		            (int)a->region.len, (const char *)a->region.p);
	if (memcmp(a->date.p, ts, 8) != 0)
		return verr(
		    e, SIGV4_BAD_SCOPE,
		    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
		    "of date from HTTP: '%.8s' != '%.8s', from '%s'.",
		    (const char *)a->date.p, ts, ts);
	return SIGV4_OK;
}

static int check_skew(const sigv4_verifier *v, time_t signed_at, time_t now, const char ts[17],
                      bg_err *e)
{
	int64_t d = (int64_t)now - (int64_t)signed_at;
	char now_s[17], edge[17];
	const char *unit = v->skew % 60 == 0 ? "min" : "sec";
	int amount = v->skew % 60 == 0 ? v->skew / 60 : v->skew;

	if (d >= -(int64_t)v->skew && d <= (int64_t)v->skew)
		return SIGV4_OK;
	if (sigv4_format_amz_date(now, now_s))
		memcpy(now_s, "?", 2);
	if (d > 0) {
		if (sigv4_format_amz_date((time_t)((int64_t)now - v->skew), edge))
			memcpy(edge, "?", 2);
		return verr(e, SIGV4_SKEW,
		            "Signature expired: %s is now earlier than %s (%s - %d %s.)", ts, edge,
		            now_s, amount, unit);
	}
	if (sigv4_format_amz_date((time_t)((int64_t)now + v->skew), edge))
		memcpy(edge, "?", 2);
	return verr(e, SIGV4_SKEW,
	            "Signature not yet current: %s is still later than %s (%s + %d %s.)", ts, edge,
	            now_s, amount, unit);
}

int sigv4_verify(sigv4_verifier *v, const sigv4_request *req, time_t now, sigv4_secret_fn fn,
                 void *ctx, sigv4_result *out, bg_err *e)
{
	name_ref sh[BG_MAX_SIGNED_HEADERS];
	short hidx[BG_MAX_HEADERS];
	bool present[BG_MAX_SIGNED_HEADERS];
	char ts[17], sts[STS_MAX], secret[BG_MAX_SECRET_KEY + 1];
	uint8_t key[32], hash[32], want[32], given[32];
	char hex[65];
	const char *date_name = NULL, *p;
	bool secret_used = false, presigned;
	EVP_MD_CTX *c = NULL;
	sigv4_auth a;
	size_t i, k, n, nsh = 0;
	vhdrs h;
	sink snk;
	int st, r;

	if (out)
		memset(out, 0, sizeof(*out));
	if (v == NULL || req == NULL || fn == NULL || out == NULL)
		return verr(e, SIGV4_INTERNAL, "sigv4_verify: invalid arguments");
	st = scan_headers(req, &h, e);
	if (st)
		goto done;
	presigned = req->query_len && req->query && query_is_presigned(req->query, req->query_len);
	if (h.n_auth == 0 && !presigned) {
		st = verr(e, SIGV4_MISSING, "Request is missing Authentication Token");
		goto done;
	}
	if (presigned) {
		st = verr(e, SIGV4_INCOMPLETE,
		          "Query-string (presigned URL) authentication is not supported; sign the "
		          "request with an Authorization header.");
		goto done;
	}
	if (h.n_auth > 1) {
		st = verr(e, SIGV4_INCOMPLETE,
		          "The request has more than one Authorization header.");
		goto done;
	}
	p = h.auth->value;
	n = h.auth->value_len;
	trim(&p, &n);
	if (sigv4_parse_authorization(p, n, &a, e)) {
		st = SIGV4_INCOMPLETE;
		if (e)
			e->code = status_code(st);
		goto done;
	}
	memcpy(out->access_key_id, a.akid.p, a.akid.len);
	out->access_key_id[a.akid.len] = '\0';

	st = SIGV4_INCOMPLETE;
	if (!method_ok(req->method)) {
		verr(e, st, "The request method is invalid.");
		goto done;
	}
	if ((req->path == NULL && req->path_len) || req->path_len > BG_SIGV4_MAX_PATH ||
	    (req->query == NULL && req->query_len) || req->query_len > BG_SIGV4_MAX_QUERY ||
	    (req->body == NULL && req->body_len) || req->body_len > BG_MAX_REQUEST_BODY) {
		verr(e, st, "The request exceeds a size limit.");
		goto done;
	}
	if (h.n_host > 1) {
		verr(e, st, "The request has more than one Host header.");
		goto done;
	}
	st = request_time(&h, &out->signed_at, ts, &date_name, e);
	if (st == SIGV4_OK)
		st = check_scope(v, &a, ts, e);
	if (st == SIGV4_OK)
		st = check_skew(v, out->signed_at, now, ts, e);
	if (st)
		goto done;

	/* SignedHeaders: already validated (sorted, lower-case, bounded) by the parser. */
	st = SIGV4_INCOMPLETE;
	for (i = 0, k = 0; i <= a.signed_headers.len; i++)
		if (i == a.signed_headers.len || a.signed_headers.p[i] == ';') {
			sh[nsh].p = (const char *)a.signed_headers.p + k;
			sh[nsh].n = i - k;
			present[nsh++] = false;
			k = i + 1;
		}
	for (i = 0; i < v->n_required; i++)
		if (find_signed(sh, nsh, v->required[i], strlen(v->required[i])) < 0) {
			verr(e, st, "'%s' must be a 'SignedHeader' in the AWS Authorization.",
			     v->required[i]);
			goto done;
		}
	if (find_signed(sh, nsh, date_name, strlen(date_name)) < 0) {
		verr(e, st, "'%s' must be a 'SignedHeader' in the AWS Authorization.", date_name);
		goto done;
	}
	for (i = 0; i < req->n_headers; i++) {
		r = find_signed(sh, nsh, req->headers[i].name, req->headers[i].name_len);
		hidx[i] = (short)r;
		if (r >= 0)
			present[r] = true;
	}
	for (i = 0; i < nsh; i++)
		if (!present[i]) {
			verr(e, st, "The signed header '%.*s' is not present in the request.",
			     sh[i].n > 64 ? 64 : (int)sh[i].n, sh[i].p);
			goto done;
		}
	if (h.n_token > 1 || h.n_csha > 1) {
		verr(e, st, "The request repeats a header that must appear at most once.");
		goto done;
	}
	if (h.n_token) {
		p = h.token->value;
		n = h.token->value_len;
		trim(&p, &n);
		if (n == 0 || n > BG_MAX_SESSION_TOKEN) {
			verr(e, st, "The security token included in the request is malformed.");
			goto done;
		}
		out->session_token = p;
		out->session_token_len = n;
	}

	st = SIGV4_INTERNAL;
	c = EVP_MD_CTX_new();
	if (c == NULL) {
		verr(e, st, "out of memory");
		goto done;
	}
	if (!cache_get(v, out->access_key_id, a.akid.len, (const char *)a.date.p, key)) {
		secret_used = true;
		memset(secret, 0, sizeof(secret));
		r = fn(ctx, out->access_key_id, secret, sizeof(secret));
		if (r == BG_ENOTFOUND) {
			st = verr(e, SIGV4_UNKNOWN_KEY,
			          "The security token included in the request is invalid.");
			goto done;
		}
		n = r == 0 ? strnlen(secret, sizeof(secret)) : 0;
		if (n == 0 || n == sizeof(secret)) {
			verr(e, st, "cannot look up the access key");
			goto done;
		}
		if (derive_key(c, secret, n, (const char *)a.date.p, v->region, v->region_len,
		               v->service, v->service_len, key)) {
			verr(e, st, "cannot derive the signing key");
			goto done;
		}
		cache_put(v, out->access_key_id, a.akid.len, (const char *)a.date.p, key);
	}

	if (sha256_buf(c, req->body, req->body_len, hash)) {
		verr(e, st, "digest failed");
		goto done;
	}
	if (h.n_csha) {
		p = h.csha->value;
		n = h.csha->value_len;
		trim(&p, &n);
		if (n != 64 || bg_unhex(p, 32, given) != 0 || CRYPTO_memcmp(given, hash, 32) != 0) {
			st = verr(e, SIGV4_MISMATCH,
			          "The provided 'x-amz-content-sha256' header does not match what "
			          "was computed.");
			goto done;
		}
	}
	bg_hex(hash, 32, hex);

	/* The canonical request, streamed into SHA-256. */
	snk.md = c;
	snk.text = NULL;
	snk.err = 0;
	snk.n = 0;
	if (EVP_DigestInit_ex2(c, bg_sha256_md(), NULL) != 1) {
		verr(e, st, "digest failed");
		goto done;
	}
	sink_put(&snk, req->method, strlen(req->method));
	sink_putc(&snk, '\n');
	r = put_canonical_path(&snk, req->path, req->path_len, v->normalize);
	sink_putc(&snk, '\n');
	if (r == 0)
		r = put_canonical_query(&snk, req->query, req->query_len);
	if (r == BG_ELIMIT) {
		st = verr(e, SIGV4_INCOMPLETE, "The query string has too many parameters.");
		goto done;
	}
	sink_putc(&snk, '\n');
	for (k = 0; k < nsh; k++) {
		bool first = true;

		sink_put(&snk, sh[k].p, sh[k].n);
		sink_putc(&snk, ':');
		for (i = 0; i < req->n_headers; i++) {
			if (hidx[i] != (short)k)
				continue;
			if (!first)
				sink_putc(&snk, ',');
			put_trimmed(&snk, req->headers[i].value, req->headers[i].value_len);
			first = false;
		}
		sink_putc(&snk, '\n');
	}
	sink_putc(&snk, '\n');
	sink_put(&snk, a.signed_headers.p, a.signed_headers.len);
	sink_putc(&snk, '\n');
	sink_put(&snk, hex, 64);
	if (r || sink_finish(&snk, hash)) {
		verr(e, st, "cannot build the canonical request");
		goto done;
	}

	n = write_sts(sts, ts, v->region, v->region_len, v->service, v->service_len, hash);
	if (hmac_sha256(c, key, sizeof(key), sts, n, want)) {
		verr(e, st, "cannot compute the signature");
		goto done;
	}
	if (bg_unhex((const char *)a.signature.p, 32, given) != 0 ||
	    CRYPTO_memcmp(given, want, 32) != 0) {
		st = verr(e, SIGV4_MISMATCH, MSG_MISMATCH);
		goto done;
	}
	st = SIGV4_OK;
	bg_err_clear(e);
done:
	OPENSSL_cleanse(key, sizeof(key));
	if (secret_used)
		OPENSSL_cleanse(secret, sizeof(secret));
	EVP_MD_CTX_free(c);
	return st;
}
