/*
 * validate.c - naming and range rules (see validate.h).
 */
#include "common/validate.h"

#include <string.h>

#include "common/limits.h"

bool bg_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* n bytes at s, n in [min, max], all name characters. */
static bool name_span(const char *s, size_t n, size_t min, size_t max)
{
	size_t i;

	if (s == NULL || n < min || n > max)
		return false;
	for (i = 0; i < n; i++)
		if (!bg_name_char((unsigned char)s[i]))
			return false;
	return true;
}

bool bg_valid_table_name(const char *s, size_t n)
{
	return name_span(s, n, 3, BG_MAX_TABLE_NAME);
}

bool bg_valid_id(const char *s, size_t max)
{
	/* strnlen stops one past max, so a longer string is refused without reading it all. */
	return s != NULL && name_span(s, strnlen(s, max + 1), 1, max);
}

_Static_assert(BG_MAX_USER_NAME == 64, "BG_USER_NAME_RULE names the limit: update it");

bool bg_valid_user_name(const char *s)
{
	return bg_valid_id(s, BG_MAX_USER_NAME);
}

/* The valid UTF-8 sequence at p (n bytes left): its length, and its code point in *cp;
 * 0 when p does not start one. */
static size_t utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t k, len;
	uint32_t c = p[0];

	if (c < 0x80)
		len = 1;
	else if (c >= 0xc2 && c <= 0xdf)
		len = 2, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, c &= 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[k] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond Unicode. */
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static bool control_char(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

bool bg_valid_text(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, n, len;
	uint32_t cp;

	if (s == NULL || (n = strnlen(s, max + 1)) > max)
		return false;
	for (i = 0; i < n; i += len) {
		len = utf8_seq(p + i, n - i, &cp);
		if (len == 0 || control_char(cp))
			return false;
	}
	return true;
}

/* True when the n bytes at p are a lead byte and fewer continuation bytes than it needs,
 * and nothing else: what a copy that stopped mid-character leaves. */
static bool tail_cut(const unsigned char *p, size_t n)
{
	size_t need = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2, k;

	if (n >= need)
		return false;
	for (k = 1; k < n; k++)
		if ((p[k] & 0xc0) != 0x80)
			return false;
	return true;
}

void bg_text_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t i, n = strlen(s), len;
	uint32_t cp;

	for (i = 0; i < n; i += len) {
		len = utf8_seq(p + i, n - i, &cp);
		if (len == 0 && p[i] >= 0xc2 && p[i] <= 0xf4 && tail_cut(p + i, n - i)) {
			p[i] = '\0'; /* a sequence cut short at the end: drop it */
			return;
		}
		if (len == 0) {
			p[i] = '?';
			len = 1;
		} else if (control_char(cp)) {
			memset(p + i, ' ', len);
		}
	}
}

bool bg_valid_op_name(const char *s, size_t n)
{
	size_t i;

	if (s == NULL || n == 0 || n > BG_MAX_OP_NAME || s[0] < 'A' || s[0] > 'Z')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
			return false;
	return true;
}

bool bg_valid_grant_seconds(int64_t secs)
{
	return secs >= 1 && secs <= BG_MAX_GRANT_SECONDS;
}
