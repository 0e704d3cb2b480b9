/*
 * keyring.h - the master key and the secrets derived from it.
 *
 * A 32-byte random master key lives in the data directory (datadir.h) with mode 0600,
 * created by `breakglass init`. Secrets that the gateway must be able to recompute (a
 * grant's SigV4 secret, a user's TOTP key, the key of masked values' hashes: label
 * "mask-hash", no data, policy/mask.h) are HMAC-SHA256(master, label || 0 || data)
 * rather than stored, so the database alone reveals none of them. Several gateways
 * sharing a store share the master key file.
 */
#ifndef BG_KEYRING_H
#define BG_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/crypto.h" /* bg_random, bg_sha256, bg_ct_equal */
#include "common/err.h"

typedef struct keyring keyring;

/* Loads the master key from path; with create=true, creates it (refusing to overwrite)
 * with fresh random bytes and mode 0600. Refuses a key file readable by group or others. */
int keyring_load(const char *path, bool create, keyring **out, bg_err *e) BG_MUST_CHECK;

/* Zeroes and frees. Accepts NULL. */
void keyring_free(keyring *k);

/* out = HMAC-SHA256(master, label || 0x00 || data). */
void keyring_derive(const keyring *k, const char *label, const void *data, size_t n,
                    uint8_t out[32]);

#endif
