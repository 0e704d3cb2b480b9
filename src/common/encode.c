/*
 * encode.c - base32 and base64url (see encode.h).
 */
#include "encode.h"

#include <stdint.h>

size_t bg_base32(const void *p, size_t n, bool lower, char *out, size_t cap)
{
	const char *alpha =
	    lower ? "abcdefghijklmnopqrstuvwxyz234567" : "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	const uint8_t *s = p;
	size_t need = (n * 8 + 4) / 5, o = 0, i;
	unsigned bits = 0, acc = 0;

	if (cap < need + 1)
		return 0;
	for (i = 0; i < n; i++) {
		acc = (acc << 8) | s[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = alpha[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = alpha[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return o;
}

size_t bg_base64url(const void *p, size_t n, char *out, size_t cap)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const uint8_t *s = p;
	size_t need = (n * 4 + 2) / 3, o = 0, i;
	unsigned bits = 0, acc = 0;

	if (cap < need + 1)
		return 0;
	for (i = 0; i < n; i++) {
		acc = ((acc << 8) | s[i]) & 0xffff;
		bits += 8;
		while (bits >= 6) {
			out[o++] = alpha[(acc >> (bits - 6)) & 63];
			bits -= 6;
		}
	}
	if (bits > 0)
		out[o++] = alpha[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	return o;
}
