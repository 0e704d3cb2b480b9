/*
 * encode.h - text encodings for identifiers and tokens: base32 (RFC 4648 alphabet, no
 * padding) and base64url (no padding).
 *
 * Ids and tokens are shown to people and pasted into shells at 2 a.m., so they use
 * alphabets with no characters a shell or URL would mangle.
 */
#ifndef BG_ENCODE_H
#define BG_ENCODE_H

#include <stdbool.h>
#include <stddef.h>

/* Base32 of n bytes into out (cap bytes incl. NUL), upper- or lower-case. Returns the
 * length written, or 0 if cap is too small. */
size_t bg_base32(const void *p, size_t n, bool lower, char *out, size_t cap);

/* Base64url (RFC 4648 section 5, no padding) of n bytes into out. Returns the length
 * written, or 0 if cap is too small. */
size_t bg_base64url(const void *p, size_t n, char *out, size_t cap);

#endif
