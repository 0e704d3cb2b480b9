/*
 * keyset.h - the audit checkpoints' keys in the data directory, across rotations
 * (docs/audit.md, "Key rotation").
 *
 * Three files, named by the caller (store/datadir.h owns the layout):
 *
 *   key   the current private key (sigkey.h: PEM PKCS#8, mode 0600);
 *   next  the new private key while a rotation is under way (mode 0600);
 *   pubs  every public key that has signed checkpoints, oldest first, PEM one after the
 *         other: what `audit pubkey --all` serves and `audit verify` trusts, so the
 *         checkpoints of retired keys still verify. Written whole to a temporary file,
 *         fsynced, renamed over, the directory fsynced.
 *
 * A rotation: keyset_begin() makes the next key; the caller appends the key-rotation
 * record, which the old key checkpoints (audit_rotate_key); keyset_commit() adds the new
 * public key to pubs and renames next over key. A crash in between leaves next behind:
 * keyset_pending() names it, and the caller settles it from the trail, which alone says
 * whether the rotation happened (keyset_commit when the newest key-rotation record names
 * it, keyset_abort when not). A retired private key is gone once the rename is durable.
 * Nothing here prints or logs key material.
 *
 * Thread-safe: the API reads the keys while a rotation runs. Keys are never freed before
 * keyset_free, so a key handed out stays valid.
 */
#ifndef BG_AUDIT_KEYSET_H
#define BG_AUDIT_KEYSET_H

#include <jansson.h>
#include <stdbool.h>

#include "audit/sigkey.h"
#include "common/err.h"

typedef struct keyset keyset;

/* Opens the key set: loads key (creating it when missing, *created then true: a store
 * made before checkpoints existed), pubs (created with key's public key when missing;
 * key's public key added when it is not in it) and next, if present (a rotation that did
 * not finish). The paths are copied. */
int keyset_open(const char *key, const char *next, const char *pubs, bool *created, keyset **out,
                bg_err *e) BG_MUST_CHECK;

/* Frees every key. Accepts NULL. */
void keyset_free(keyset *ks);

/* The key that signs checkpoints now. */
const sigkey *keyset_current(keyset *ks);

/* The next key of a rotation under way or unfinished, or NULL. */
const sigkey *keyset_pending(keyset *ks);

/* Starts a rotation: a fresh key in next (O_EXCL, 0600, fsynced). BG_EEXISTS when a
 * rotation is under way (or unsettled since a crash). *next is the new key. */
int keyset_begin(keyset *ks, const sigkey **next, bg_err *e) BG_MUST_CHECK;

/* Finishes the rotation: the next key's public key appended to pubs (durably), next
 * renamed over key (durably); the next key is current. */
int keyset_commit(keyset *ks, bg_err *e) BG_MUST_CHECK;

/* Abandons the rotation (its record was never written): next is removed. */
void keyset_abort(keyset *ks);

/* Every known public key, oldest first: [{"key_id", "public_key_pem", "current"}]. New
 * reference, NULL when out of memory. */
json_t *keyset_public_json(keyset *ks);

#endif
