/*
 * buf.h - bounded byte buffers: a read cursor over untrusted bytes and a growable
 * output buffer with a hard maximum.
 *
 * Request data is never treated as a NUL-terminated string. Parsers walk a bg_cur; its
 * getters check bounds and do not advance on failure, so a parser that fails halfway
 * leaves the cursor where the bad token starts (useful in error messages). Output is
 * built in a bg_buf whose growth stops at the maximum given at init, so no input can
 * make the process allocate without bound.
 */
#ifndef BG_BUF_H
#define BG_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* A read-only view of len bytes at p; off is the next unread byte. */
typedef struct bg_cur {
	const uint8_t *p;
	size_t len;
	size_t off;
} bg_cur;

/* A cursor over n bytes at p (which the caller keeps alive). */
bg_cur bg_cur_make(const void *p, size_t n);

/* Bytes not yet read. */
size_t bg_cur_left(const bg_cur *c);

/* True when every byte has been read. */
bool bg_cur_eof(const bg_cur *c);

/* Next byte without consuming it, or -1 at the end. */
int bg_cur_peek(const bg_cur *c);

/* Consumes one byte into *out; returns 0, or BG_EINVAL at the end. */
int bg_cur_u8(bg_cur *c, uint8_t *out) BG_MUST_CHECK;

/* Consumes the exact literal s (of n bytes) if it is next; returns 0 or BG_EINVAL. */
int bg_cur_expect(bg_cur *c, const char *s, size_t n) BG_MUST_CHECK;

/* Consumes bytes up to (not including) the first byte equal to delim, setting *tok to
 * them. Returns 0, or BG_EINVAL (cursor unmoved) when delim does not occur. */
int bg_cur_until(bg_cur *c, uint8_t delim, bg_cur *tok) BG_MUST_CHECK;

/* Consumes bytes while they are in the set s; returns how many. */
size_t bg_cur_skip(bg_cur *c, const char *s);

/* Parses a non-negative decimal integer of at most max; returns 0, or BG_EINVAL with
 * the cursor unmoved. */
int bg_cur_uint(bg_cur *c, uint64_t max, uint64_t *out) BG_MUST_CHECK;

/* The unread bytes as a cursor of their own. */
bg_cur bg_cur_rest(const bg_cur *c);

/* True when the unread bytes equal the n bytes at s. */
bool bg_cur_eq(const bg_cur *c, const char *s, size_t n);

/* One HTTP header, borrowed from the bytes it was parsed from (or built for sending):
 * any case, duplicates allowed, in order. The transport and SigV4 share this type, so a
 * request's headers are handed on without copying. */
typedef struct bg_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
} bg_header;

/* A growable buffer. data is always NUL-terminated (the NUL is not counted in len) so it
 * can be handed to APIs that want C strings after it was built from checked input. */
typedef struct bg_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
	int failed; /* sticky: set once an append failed; all later appends fail */
} bg_buf;

/* Prepares an empty buffer that refuses to grow past max bytes. */
void bg_buf_init(bg_buf *b, size_t max);

/*
 * Appends. Each returns 0, or BG_ELIMIT (past max) or BG_ENOMEM, and its result must be
 * used (BG_MUST_CHECK): a text cut short must never pass for a whole one. A failure is
 * also sticky (b->failed), so once one append failed every later one fails too and
 * bg_buf_steal() yields NULL: a builder may chain appends with || and report b->failed.
 */

/* Makes room for n more bytes at once (one allocation instead of doubling, and no
 * stale copies left behind by realloc); 0, BG_ELIMIT past max, or BG_ENOMEM. */
int bg_buf_reserve(bg_buf *b, size_t n) BG_MUST_CHECK;

/* Appends n bytes. */
int bg_buf_add(bg_buf *b, const void *p, size_t n) BG_MUST_CHECK;

/* Appends a C string. */
int bg_buf_adds(bg_buf *b, const char *s) BG_MUST_CHECK;

/* Appends one byte. */
int bg_buf_addc(bg_buf *b, char c) BG_MUST_CHECK;

/* Appends formatted text. */
int bg_buf_addf(bg_buf *b, const char *fmt, ...) BG_PRINTF(2, 3) BG_MUST_CHECK;

/* Appends the lower-case hex form of n bytes. */
int bg_buf_addhex(bg_buf *b, const void *p, size_t n) BG_MUST_CHECK;

/* Empties the buffer, keeping its storage. */
void bg_buf_reset(bg_buf *b);

/* Takes ownership of the contents (a NUL-terminated heap string, or NULL if nothing was
 * ever added or an append failed) and leaves b empty. The caller frees the result. */
char *bg_buf_steal(bg_buf *b);

/* Releases the storage. bg_buf_free_secure() zeroes it first (for key material). */
void bg_buf_free(bg_buf *b);
void bg_buf_free_secure(bg_buf *b);

/* The value of one hex digit (either case), or -1 if c is not one. */
int bg_hex_digit(int c);

/* Decodes the 2n hex digits (either case) at s into n bytes at out. Returns 0, or
 * BG_EINVAL when one of them is not a hex digit (out is then partly written). */
int bg_unhex(const char *s, size_t n, uint8_t *out) BG_MUST_CHECK;

/* Lower-case hex of n bytes into out, which must hold 2n+1 bytes. */
void bg_hex(const void *p, size_t n, char *out);

#endif
