/*
 * buf.c - bounded cursor and output buffer (see buf.h).
 */
#include "buf.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bg_cur bg_cur_make(const void *p, size_t n)
{
	bg_cur c = {(const uint8_t *)p, p ? n : 0, 0};
	return c;
}

size_t bg_cur_left(const bg_cur *c)
{
	return c->len - c->off;
}

bool bg_cur_eof(const bg_cur *c)
{
	return c->off >= c->len;
}

int bg_cur_peek(const bg_cur *c)
{
	return c->off < c->len ? c->p[c->off] : -1;
}

int bg_cur_u8(bg_cur *c, uint8_t *out)
{
	if (c->off >= c->len)
		return BG_EINVAL;
	*out = c->p[c->off++];
	return 0;
}

int bg_cur_expect(bg_cur *c, const char *s, size_t n)
{
	if (bg_cur_left(c) < n || memcmp(c->p + c->off, s, n) != 0)
		return BG_EINVAL;
	c->off += n;
	return 0;
}

int bg_cur_until(bg_cur *c, uint8_t delim, bg_cur *tok)
{
	const uint8_t *start = c->p + c->off;
	const uint8_t *hit = bg_cur_left(c) ? memchr(start, delim, bg_cur_left(c)) : NULL;

	if (hit == NULL)
		return BG_EINVAL;
	*tok = bg_cur_make(start, (size_t)(hit - start));
	c->off += (size_t)(hit - start);
	return 0;
}

size_t bg_cur_skip(bg_cur *c, const char *s)
{
	size_t n = 0;

	while (c->off < c->len && c->p[c->off] != '\0' && strchr(s, c->p[c->off]) != NULL) {
		c->off++;
		n++;
	}
	return n;
}

int bg_cur_uint(bg_cur *c, uint64_t max, uint64_t *out)
{
	size_t i = c->off;
	uint64_t v = 0;

	if (i >= c->len || c->p[i] < '0' || c->p[i] > '9')
		return BG_EINVAL;
	for (; i < c->len && c->p[i] >= '0' && c->p[i] <= '9'; i++) {
		uint64_t d = (uint64_t)(c->p[i] - '0');
		if (v > (max - d) / 10)
			return BG_EINVAL;
		v = v * 10 + d;
	}
	c->off = i;
	*out = v;
	return 0;
}

bg_cur bg_cur_rest(const bg_cur *c)
{
	return bg_cur_make(c->p + c->off, bg_cur_left(c));
}

bool bg_cur_eq(const bg_cur *c, const char *s, size_t n)
{
	return bg_cur_left(c) == n && memcmp(c->p + c->off, s, n) == 0;
}

void bg_buf_init(bg_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

int bg_buf_reserve(bg_buf *b, size_t extra)
{
	size_t need, ncap;
	char *nd;

	if (b->failed)
		return b->failed;
	if (extra > b->max - b->len) {
		b->failed = BG_ELIMIT;
		return BG_ELIMIT;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	nd = realloc(b->data, ncap);
	if (nd == NULL) {
		b->failed = BG_ENOMEM;
		return BG_ENOMEM;
	}
	b->data = nd;
	b->cap = ncap;
	return 0;
}

int bg_buf_add(bg_buf *b, const void *p, size_t n)
{
	int rc = bg_buf_reserve(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int bg_buf_adds(bg_buf *b, const char *s)
{
	return bg_buf_add(b, s, strlen(s));
}

int bg_buf_addc(bg_buf *b, char c)
{
	return bg_buf_add(b, &c, 1);
}

int bg_buf_addf(bg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = BG_EINVAL;
		return BG_EINVAL;
	}
	rc = bg_buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int bg_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int bg_unhex(const char *s, size_t n, uint8_t *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int hi = bg_hex_digit((unsigned char)s[2 * i]);
		int lo = bg_hex_digit((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return BG_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void bg_hex(const void *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[s[i] >> 4];
		out[2 * i + 1] = digits[s[i] & 15];
	}
	out[2 * n] = '\0';
}

int bg_buf_addhex(bg_buf *b, const void *p, size_t n)
{
	int rc = bg_buf_reserve(b, 2 * n);

	if (rc)
		return rc;
	bg_hex(p, n, b->data + b->len);
	b->len += 2 * n;
	return 0;
}

void bg_buf_reset(bg_buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *bg_buf_steal(bg_buf *b)
{
	char *d = b->failed ? NULL : b->data;

	if (b->failed)
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
	return d;
}

void bg_buf_free(bg_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
}

void bg_buf_free_secure(bg_buf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->cap);
	bg_buf_free(b);
}
