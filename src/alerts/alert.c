/*
 * alert.c - what the four webhook parsers share (see alert.h): names of sources and
 * severities, the RFC 3339 reader, bounded UTF-8 text, JSON loading with limits, and the
 * "v1=<hex>" HMAC-SHA256 signature lists of PagerDuty and the generic format.
 */
#include "alerts/alert.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/crypto.h"

const char *alert_source_name(alert_source s)
{
	switch (s) {
	case ALERT_ALERTMANAGER:
		return "alertmanager";
	case ALERT_SNS:
		return "sns";
	case ALERT_PAGERDUTY:
		return "pagerduty";
	case ALERT_GENERIC:
		return "generic";
	}
	return "unknown";
}

int alert_severity_parse(const char *s)
{
	static const char *const names[] = {"critical", "error", "warning", "info"};
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int)i + 1;
	if (s[0] == 'P' || s[0] == 'p')
		s++;
	if (s[0] >= '1' && s[0] <= '5' && s[1] == '\0')
		return s[0] - '0';
	return 0;
}

/* ---- time ---- */

/* n decimal digits at s, or -1. */
static int digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (valid, year >= 1). */
static int64_t epoch_days(int y, int mo, int d)
{
	static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	int64_t py = (int64_t)y - 1;
	int64_t days = py * 365 + py / 4 - py / 100 + py / 400; /* days before year y */

	days += before[mo - 1] + (mo > 2 && leap(y)) + (d - 1);
	return days - 719162; /* days from 0001-01-01 to 1970-01-01 */
}

int alert_time_parse(const char *s, size_t n, int64_t *t)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	size_t i = 19;

	if (s == NULL || n < 20 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
		return BG_EINVAL;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    sec < 0 || sec > 60)
		return BG_EINVAL;
	if (d > mdays[mo - 1] + (mo == 2 && leap(y)))
		return BG_EINVAL;
	if (s[i] == '.') {
		size_t start = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return BG_EINVAL;
	}
	if (n - i == 1 && (s[i] == 'Z' || s[i] == 'z')) {
		sign = 0;
	} else if ((n - i == 6 && s[i + 3] == ':') || n - i == 5) {
		sign = s[i] == '+' ? 1 : s[i] == '-' ? -1 : 0;
		oh = digits(s + i + 1, 2);
		om = digits(s + i + (n - i == 6 ? 4 : 3), 2);
		if (sign == 0 || oh < 0 || oh > 23 || om < 0 || om > 59)
			return BG_EINVAL;
	} else {
		return BG_EINVAL;
	}
	*t = epoch_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	     (int64_t)sign * (oh * 3600 + om * 60);
	return 0;
}

int alert_fresh(int64_t sent_at, int64_t now, const char *what, bg_err *e)
{
	if (sent_at > now + BG_HOOK_MAX_SKEW_SECONDS)
		return bg_err_set(e, BG_EEXPIRED, "%s is more than %d seconds ahead of our clock",
		                  what, BG_HOOK_MAX_SKEW_SECONDS);
	if (sent_at < now - (BG_HOOK_DELIVERY_MEMORY - BG_HOOK_MAX_SKEW_SECONDS))
		return bg_err_set(e, BG_EEXPIRED,
		                  "%s is too old: its delivery id may be forgotten, so a replay "
		                  "could not be told apart",
		                  what);
	return 0;
}

/* ---- text ---- */

/* Decodes one UTF-8 character at s (n > 0 bytes): its length, or 0 when malformed
 * (overlong, surrogate, past U+10FFFF, cut short). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c = s[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Characters that must not reach a terminal or a log line: C0, DEL, C1, the line and
 * paragraph separators, and the bidirectional marks and overrides. */
static bool control_char(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x200e || c == 0x200f ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* True when the n bytes at s are valid UTF-8 without control characters. */
static bool clean_text(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;
	uint32_t c;

	while (i < n) {
		len = utf8_next(p + i, n - i, &c);
		if (len == 0 || control_char(c))
			return false;
		i += len;
	}
	return true;
}

int alert_copy_id(char *dst, size_t cap, const char *what, const char *s, size_t n, bg_err *e)
{
	if (s == NULL || n == 0)
		return bg_err_set(e, BG_EINVAL, "%s is empty", what);
	if (n >= cap)
		return bg_err_set(e, BG_EINVAL, "%s is longer than %zu bytes", what, cap - 1);
	if (!clean_text(s, n))
		return bg_err_set(e, BG_EINVAL, "%s holds a control character or invalid UTF-8",
		                  what);
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

void alert_hashed_id(char *dst, const char *s, size_t n)
{
	uint8_t h[BG_SHA256_LEN];

	bg_sha256(s, n, h);
	memcpy(dst, "sha256:", 7);
	bg_hex(h, sizeof(h), dst + 7);
}

/* Writes the cleaned text of n bytes at s into dst, whole characters while they fit in
 * room bytes; returns the bytes written and sets *cut when the text did not fit. */
static size_t put_text(char *dst, size_t room, const unsigned char *s, size_t n, bool *cut)
{
	size_t i = 0, out = 0, len;
	uint32_t c;

	*cut = false;
	while (i < n) {
		len = utf8_next(s + i, n - i, &c);
		if (len == 0 || control_char(c)) {
			if (out + 1 > room)
				break;
			dst[out++] = ' ';
			i += len ? len : 1;
			continue;
		}
		if (out + len > room)
			break;
		memcpy(dst + out, s + i, len);
		out += len;
		i += len;
	}
	*cut = i < n;
	return out;
}

void alert_copy_text(char *dst, size_t cap, const char *s, size_t n)
{
	static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026, where a text was cut */
	const unsigned char *p = (const unsigned char *)s;
	size_t len;
	bool cut;

	if (cap == 0)
		return;
	dst[0] = '\0';
	if (s == NULL)
		return;
	len = put_text(dst, cap - 1, p, n, &cut);
	if (cut && cap - 1 >= sizeof(ellipsis) - 1) {
		len = put_text(dst, cap - 1 - (sizeof(ellipsis) - 1), p, n, &cut);
		memcpy(dst + len, ellipsis, sizeof(ellipsis) - 1);
		len += sizeof(ellipsis) - 1;
	}
	dst[len] = '\0';
}

/* True when arr (cap bytes) holds a NUL-terminated clean text, non-empty if must_fill. */
static bool field_ok(const char *arr, size_t cap, bool must_fill)
{
	const char *z = memchr(arr, '\0', cap);

	return z != NULL && (!must_fill || z != arr) && clean_text(arr, (size_t)(z - arr));
}

#define FIELD_OK(a, fill) field_ok((a), sizeof(a), (fill))

bool alert_batch_valid(const alert_batch *b)
{
	bool any = false;
	size_t i;

	if (b->n < 1 || b->n > BG_MAX_HOOK_ALERTS || b->severity < 0 || b->severity > 5 ||
	    !FIELD_OK(b->group, true) || !FIELD_OK(b->delivery, false) ||
	    !FIELD_OK(b->title, false) || !FIELD_OK(b->service, false))
		return false;
	for (i = 0; i < b->n; i++) {
		const alert_item *it = &b->items[i];
		if (!FIELD_OK(it->key, true) || !FIELD_OK(it->name, false) ||
		    !FIELD_OK(it->summary, false) || it->starts_at < 0 || it->ends_at < 0)
			return false;
		any = any || it->firing;
	}
	return any == b->firing;
}

void alert_batch_init(alert_batch *b, alert_source src)
{
	memset(b, 0, sizeof(*b));
	b->source = src;
}

void alert_batch_finish(alert_batch *b)
{
	size_t i;

	b->firing = false;
	for (i = 0; i < b->n; i++)
		b->firing = b->firing || b->items[i].firing;
}

/* ---- JSON ---- */

/* Refuses NUL bytes and nesting deeper than BG_MAX_HOOK_JSON_DEPTH before jansson (whose
 * own limit is 2048) recurses. Brackets inside strings do not count. */
static int depth_ok(const char *p, size_t n)
{
	size_t i, depth = 0;
	bool in_str = false;

	for (i = 0; i < n; i++) {
		char c = p[i];
		if (c == '\0')
			return BG_EINVAL;
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > BG_MAX_HOOK_JSON_DEPTH)
				return BG_ELIMIT;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return 0;
}

int alert_json_load(const char *body, size_t n, const char *what, json_t **out, bg_err *e)
{
	json_error_t je;
	json_t *j;
	int rc;

	*out = NULL;
	if (n > BG_MAX_HOOK_BODY)
		return bg_err_set(e, BG_ELIMIT, "%s is larger than %u bytes", what,
		                  BG_MAX_HOOK_BODY);
	rc = depth_ok(body, n);
	if (rc == BG_ELIMIT)
		return bg_err_set(e, rc, "%s nests deeper than %d levels", what,
		                  BG_MAX_HOOK_JSON_DEPTH);
	if (rc != 0)
		return bg_err_set(e, rc, "%s holds a NUL byte", what);
	j = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		if (json_error_code(&je) == json_error_duplicate_key)
			return bg_err_set(e, BG_EINVAL, "%s repeats a key", what);
		if (json_error_code(&je) == json_error_out_of_memory)
			return bg_err_set(e, BG_ENOMEM, "out of memory");
		return bg_err_set(e, BG_EINVAL, "%s is not valid JSON (%.80s at %d:%d)", what,
		                  je.text, je.line, je.column);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return bg_err_set(e, BG_EINVAL, "%s is not a JSON object", what);
	}
	*out = j;
	return 0;
}

int alert_json_str(json_t *o, const char *key, bool required, const char **s, size_t *n, bg_err *e)
{
	json_t *v = json_object_get(o, key);

	*s = NULL;
	if (n != NULL)
		*n = 0;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return bg_err_set(e, BG_EINVAL, "\"%s\" is missing", key);
		return 0;
	}
	if (!json_is_string(v))
		return bg_err_set(e, BG_EINVAL, "\"%s\" is not a string", key);
	*s = json_string_value(v);
	if (n != NULL)
		*n = json_string_length(v);
	return 0;
}

int alert_json_status(json_t *o, bool *firing, bg_err *e)
{
	const char *s;

	if (alert_json_str(o, "status", true, &s, NULL, e) != 0)
		return BG_EINVAL;
	if (strcmp(s, "firing") != 0 && strcmp(s, "resolved") != 0)
		return bg_err_set(e, BG_EINVAL, "\"status\" is neither firing nor resolved");
	*firing = s[0] == 'f';
	return 0;
}

int alert_parse_begin(alert_batch *b, alert_source src, const char *body, size_t n,
                      const char *what, json_t **root, bg_err *e)
{
	alert_batch_init(b, src);
	return alert_json_load(body, n, what, root, e);
}

static int json_typed(json_t *o, const char *key, json_type type, const char *name, json_t **out,
                      bg_err *e)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_typeof(v) != type)
		return bg_err_set(e, BG_EINVAL, "\"%s\" is not %s", key, name);
	*out = v;
	return 0;
}

int alert_json_obj(json_t *o, const char *key, json_t **out, bg_err *e)
{
	return json_typed(o, key, JSON_OBJECT, "an object", out, e);
}

int alert_json_arr(json_t *o, const char *key, json_t **out, bg_err *e)
{
	return json_typed(o, key, JSON_ARRAY, "an array", out, e);
}

int alert_json_time(json_t *o, const char *key, int64_t *t, bg_err *e)
{
	const char *s;
	size_t n;
	int64_t v;

	*t = 0;
	if (alert_json_str(o, key, false, &s, &n, e) != 0)
		return BG_EINVAL;
	if (s == NULL)
		return 0;
	if (alert_time_parse(s, n, &v) != 0)
		return bg_err_set(e, BG_EINVAL, "\"%s\" is not an RFC 3339 time", key);
	*t = v > 0 ? v : 0;
	return 0;
}

/* ---- bearer tokens ---- */

bool alert_bearer_ok(const char *authorization, size_t n, const char *token)
{
	uint8_t got[BG_SHA256_LEN], want[BG_SHA256_LEN];
	size_t i = 6;
	bool ok;

	if (authorization == NULL || token == NULL || token[0] == '\0' || n < 8 ||
	    strncasecmp(authorization, "Bearer", 6) != 0 ||
	    (authorization[6] != ' ' && authorization[6] != '\t'))
		return false;
	while (i < n && (authorization[i] == ' ' || authorization[i] == '\t'))
		i++;
	while (n > i && (authorization[n - 1] == ' ' || authorization[n - 1] == '\t'))
		n--;
	bg_sha256(authorization + i, n - i, got);
	bg_sha256(token, strlen(token), want);
	ok = bg_ct_equal(got, want, sizeof(got));
	OPENSSL_cleanse(got, sizeof(got));
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

/* ---- "v1=<hex>" HMAC-SHA256 signature lists ---- */

/* Splits the header into its v1 signatures; returns how many (>= 1), or a BG_E code. */
static int parse_sigs(const char *h, size_t hn, const char *what,
                      uint8_t sigs[BG_MAX_HOOK_SIGNATURES][BG_SHA256_LEN], bg_err *e)
{
	bg_cur c = bg_cur_make(h, hn), tok, name;
	int count = 0, entries = 0;

	if (hn > BG_MAX_HOOK_SIG_HEADER)
		return bg_err_set(e, BG_ELIMIT, "%s is longer than %d bytes", what,
		                  BG_MAX_HOOK_SIG_HEADER);
	while (!bg_cur_eof(&c)) {
		if (bg_cur_until(&c, ',', &tok) == 0) {
			c.off++; /* past the comma */
		} else {
			tok = bg_cur_rest(&c);
			c.off = c.len;
		}
		bg_cur_skip(&tok, " \t");
		while (tok.len > tok.off &&
		       (tok.p[tok.len - 1] == ' ' || tok.p[tok.len - 1] == '\t'))
			tok.len--;
		if (bg_cur_eof(&tok))
			continue;
		if (++entries > BG_MAX_HOOK_SIGNATURES)
			return bg_err_set(e, BG_ELIMIT, "%s has more than %d signatures", what,
			                  BG_MAX_HOOK_SIGNATURES);
		if (bg_cur_until(&tok, '=', &name) != 0 || name.len == 0)
			return bg_err_set(e, BG_EINVAL, "%s: an entry is not scheme=signature",
			                  what);
		if (!bg_cur_eq(&name, "v1", 2))
			continue;
		tok.off++; /* the '=' */
		if (bg_cur_left(&tok) != 2 * BG_SHA256_LEN ||
		    bg_unhex((const char *)tok.p + tok.off, BG_SHA256_LEN, sigs[count]) != 0)
			return bg_err_set(e, BG_EINVAL, "%s: a v1 signature is not 64 hex digits",
			                  what);
		count++;
	}
	if (count == 0)
		return bg_err_set(e, BG_EINVAL, "%s holds no v1 signature", what);
	return count;
}

int alert_hmac_check(const char *header, size_t header_n, const char *what,
                     const char *const *secrets, size_t n_secrets, const void *prefix,
                     size_t prefix_n, const void *body, size_t body_n, bg_err *e)
{
	uint8_t sigs[BG_MAX_HOOK_SIGNATURES][BG_SHA256_LEN], mac[BG_SHA256_LEN];
	int n_sigs, i, rc;
	size_t k;
	bool match = false;

	if (header == NULL || header_n == 0)
		return bg_err_set(e, BG_EAUTH, "%s is missing", what);
	if (n_secrets == 0 || n_secrets > BG_MAX_HOOK_SECRETS)
		return bg_err_set(e, BG_ELIMIT, "between 1 and %d secrets are needed",
		                  BG_MAX_HOOK_SECRETS);
	for (k = 0; k < n_secrets; k++)
		if (secrets[k] == NULL || secrets[k][0] == '\0')
			return bg_err_set(e, BG_EINVAL, "a webhook secret is empty");
	n_sigs = parse_sigs(header, header_n, what, sigs, e);
	if (n_sigs < 0)
		return n_sigs;
	rc = 0;
	for (k = 0; k < n_secrets && rc == 0; k++) {
		rc = bg_hmac_sha256(secrets[k], prefix, prefix_n, body, body_n, mac);
		for (i = 0; i < n_sigs && rc == 0; i++)
			match |= bg_ct_equal(mac, sigs[i], BG_SHA256_LEN);
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	if (rc != 0)
		return bg_err_set(e, rc, "HMAC-SHA256 failed");
	if (!match)
		return bg_err_set(e, BG_EAUTH, "%s matches no configured secret", what);
	return 0;
}
