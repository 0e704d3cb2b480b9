/*
 * url.c - request-target decoding (see url.h).
 */
#include "net/url.h"

#include <stdbool.h>
#include <string.h>

#include "common/buf.h"

/* Decodes n bytes at s into out + *off (cap bytes in all), NUL-terminated; *off moves
 * past the NUL. */
static bool decode(const char *s, size_t n, bool plus_is_space, char *out, size_t cap, size_t *off)
{
	size_t i, o = *off;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int hi, lo;
			if (n - i < 3)
				return false;
			hi = bg_hex_digit((unsigned char)s[i + 1]);
			lo = bg_hex_digit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (c == 0 || o + 1 >= cap)
			return false;
		out[o++] = (char)c;
	}
	if (o >= cap)
		return false;
	out[o++] = '\0';
	*off = o;
	return true;
}

int net_url_parse(const char *target, size_t n, net_url *out, bg_err *e)
{
	const char *q = memchr(target, '?', n), *end = target + n;
	size_t path_len = q ? (size_t)(q - target) : n, off = 0;

	memset(out, 0, sizeof(*out));
	if (!decode(target, path_len, false, out->path, sizeof(out->path), &off))
		return bg_err_set(e, BG_EINVAL, "malformed or too long URL path");
	off = 0;
	for (q = q ? q + 1 : end; q < end;) {
		const char *amp = memchr(q, '&', (size_t)(end - q)), *eq;
		size_t len = amp ? (size_t)(amp - q) : (size_t)(end - q);

		eq = memchr(q, '=', len);
		if (out->nargs == BG_MAX_API_ARGS)
			return bg_err_set(e, BG_EINVAL, "more than %d query arguments",
			                  BG_MAX_API_ARGS);
		out->argv[2 * out->nargs] = out->args + off;
		if (!decode(q, eq ? (size_t)(eq - q) : len, true, out->args, sizeof(out->args),
		            &off))
			return bg_err_set(e, BG_EINVAL, "malformed or too long query");
		out->argv[2 * out->nargs + 1] = out->args + off;
		if (!decode(eq ? eq + 1 : q + len, eq ? len - (size_t)(eq - q) - 1 : 0, true,
		            out->args, sizeof(out->args), &off))
			return bg_err_set(e, BG_EINVAL, "malformed or too long query");
		out->nargs++;
		q += len + (amp ? 1 : 0);
	}
	return 0;
}

const char *net_url_arg(const net_url *u, const char *name)
{
	size_t i;

	for (i = 0; i < u->nargs; i++)
		if (strcmp(u->argv[2 * i], name) == 0)
			return u->argv[2 * i + 1];
	return NULL;
}
