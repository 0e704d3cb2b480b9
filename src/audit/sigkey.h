/*
 * sigkey.h - the audit checkpoints' Ed25519 key: the private key file in the data
 * directory, checkpoint signatures, and the public half that verifiers use.
 *
 * A checkpoint signs exactly these bytes (docs/audit.md), ASCII, no NUL:
 *
 *     "breakglass-checkpoint-v1\n" <seq in decimal> "\n" <hash, 64 lower-case hex> "\n"
 *
 * where seq and hash are the last record the checkpoint covers (the record just before
 * the checkpoint in the chain). A key's id is the first 16 hex digits of the SHA-256 of
 * its public key's DER (SubjectPublicKeyInfo), so a checkpoint names the key that signed
 * it without carrying it.
 */
#ifndef BG_SIGKEY_H
#define BG_SIGKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* A private key (signs) or a public key alone (only verifies). */
typedef struct sigkey sigkey;

#define SIGKEY_ID_HEX  16  /* hex digits of a key id */
#define SIGKEY_SIG_LEN 64  /* an Ed25519 signature */
#define SIGKEY_MSG_MAX 128 /* the signed text: prefix, a 19-digit seq, 64 hex, newlines */

/* Loads the private key from path (PEM, PKCS#8); with create=true, creates it instead
 * (a fresh key, O_EXCL, mode 0600, fsynced with its directory). Refuses a file that
 * group or others may read. BG_ENOTFOUND when it does not exist (create=false). The key
 * is the caller's (sigkey_free). */
int sigkey_load(const char *path, bool create, sigkey **out, bg_err *e) BG_MUST_CHECK;

/* Reads a public key (PEM SubjectPublicKeyInfo, as `audit pubkey` prints) from the n
 * bytes at pem. BG_EINVAL when it is not an Ed25519 public key. */
int sigkey_from_public_pem(const char *pem, size_t n, sigkey **out, bg_err *e) BG_MUST_CHECK;

/* The most public keys one text may hold (`audit verify --pubkey`, the data directory's
 * audit-keys.pem): one per rotation; a key a year for centuries fits. */
#define SIGKEY_LIST_MAX 256

/* Reads every PEM public key in the n bytes at text (several "-----BEGIN PUBLIC KEY-----"
 * blocks, anything between them ignored) and appends them to *keys (grown; *count keys
 * in it, the caller's to free with sigkey_list_free). BG_EINVAL when there is none, when
 * a block is not an Ed25519 public key, or beyond SIGKEY_LIST_MAX keys. */
int sigkey_public_list(const char *text, size_t n, sigkey ***keys, size_t *count,
                       bg_err *e) BG_MUST_CHECK;

/* Frees the n keys of a list and the list. Accepts NULL. */
void sigkey_list_free(sigkey **keys, size_t n);

/* Zeroes and frees. Accepts NULL. */
void sigkey_free(sigkey *k);

/* The key's id (SIGKEY_ID_HEX hex digits and a NUL), owned by k. */
const char *sigkey_id(const sigkey *k);

/* The public key as PEM text (NUL-terminated), owned by k. */
const char *sigkey_public_pem(const sigkey *k);

/* The bytes a checkpoint over (seq, hash_hex) signs into buf (at least SIGKEY_MSG_MAX);
 * returns their length. */
size_t sigkey_message(int64_t seq, const char *hash_hex, char *buf);

/* Signs the checkpoint message for (seq, hash_hex) with k's private key. 0, or BG_EINVAL
 * when k has no private key, BG_EIO when signing fails. */
int sigkey_sign(const sigkey *k, int64_t seq, const char *hash_hex, uint8_t sig[SIGKEY_SIG_LEN],
                bg_err *e) BG_MUST_CHECK;

/* True when sig is k's signature of the checkpoint message for (seq, hash_hex). */
bool sigkey_verify(const sigkey *k, int64_t seq, const char *hash_hex,
                   const uint8_t sig[SIGKEY_SIG_LEN]);

#endif
