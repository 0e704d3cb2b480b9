/*
 * crypto.h - the cryptographic primitives every layer shares: SHA-256, random bytes and
 * constant-time comparison, over OpenSSL's libcrypto.
 *
 * SHA-256 is fetched from OpenSSL once per process and shared: EVP_sha256() (or a fetch
 * per object) looks the algorithm up again on every use, which shows in SigV4
 * verification and `audit verify`. A fetched EVP_MD may be used by any thread, so code
 * that hashes incrementally takes it from bg_sha256_md() instead of fetching its own.
 */
#ifndef BG_CRYPTO_H
#define BG_CRYPTO_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define BG_SHA256_LEN 32

/* The process-wide SHA-256 implementation (owned by this module, never freed), or NULL
 * when libcrypto has none (a broken installation: callers treat it as a digest failure). */
const EVP_MD *bg_sha256_md(void);

/* out = SHA-256(p, n). Aborts if libcrypto cannot hash: a wrong hash must never be used. */
void bg_sha256(const void *p, size_t n, uint8_t out[BG_SHA256_LEN]);

/* out = HMAC-SHA256(key, a || b): the webhook signatures, ours (alerts in, notifications
 * out) and the senders'. Either part may be empty. 0, or BG_EIO when libcrypto fails. */
int bg_hmac_sha256(const char *key, const void *a, size_t an, const void *b, size_t bn,
                   uint8_t out[BG_SHA256_LEN]) BG_MUST_CHECK;

/* Fills out with n cryptographically random bytes (OpenSSL RAND_bytes); 0 or BG_EIO. */
int bg_random(void *out, size_t n) BG_MUST_CHECK;

/* Constant-time equality of n bytes. */
bool bg_ct_equal(const void *a, const void *b, size_t n);

/* Zeroes the BG_STACK_SCRUB bytes of stack below the caller: library code (jansson,
 * OpenSSL, libc) leaves copies of what it handled in its stack frames, which a thread
 * that handled credentials must not keep until something else overwrites them. */
void bg_stack_scrub(void);

#endif
