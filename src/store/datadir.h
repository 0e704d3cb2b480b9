/*
 * datadir.h - the data directory: the one place that knows what lives in it and under
 * which name, and the checks a directory must pass before anything is kept there.
 *
 * A data directory holds the SQLite store (breakglass.db, with SQLite's -wal and -shm
 * beside it), the master key (master.key, see keyring.h), the audit checkpoints' signing
 * key with, during a rotation, its successor, and the public keys of every signing key
 * (audit/keyset.h). Everyone else asks for a file by purpose. A directory this module creates
 * gets mode 0700; an existing one that every user may write to is refused, since anyone
 * could then swap the database or the key under the gateway.
 */
#ifndef BG_DATADIR_H
#define BG_DATADIR_H

#include <stdbool.h>

#include "common/err.h"

typedef struct datadir datadir;

/* The files of a data directory, by purpose. */
typedef enum datadir_file {
	DATADIR_DB,             /* the SQLite store */
	DATADIR_MASTER_KEY,     /* the master key (keyring.h) */
	DATADIR_AUDIT_KEY,      /* the audit checkpoints' signing key (audit/sigkey.h) */
	DATADIR_AUDIT_KEY_NEXT, /* its successor while a key rotation is under way */
	DATADIR_AUDIT_PUBKEYS,  /* every public key that has signed checkpoints (keyset.h) */
	DATADIR_FILES
} datadir_file;

/* Opens the data directory dir; with create=true creates it first (and any missing
 * parent, each with mode 0700). BG_ENOTFOUND when it does not exist (and create is
 * false), BG_EINVAL when it is not a directory or its name is too long, BG_EDENIED when
 * any user may write to it. On success *out is the caller's (datadir_free). */
int datadir_open(const char *dir, bool create, datadir **out, bg_err *e) BG_MUST_CHECK;

/* True when file f is present (or cannot be looked at: treated as present, so a caller
 * about to create it refuses rather than guesses). */
bool datadir_has(const datadir *d, datadir_file f);

/* Undoes a creation that failed part-way: removes the files marked in files (the store
 * with its SQLite companions) and then the directories datadir_open(create=true) made,
 * deepest first, as far as they are empty. Nothing that existed before is touched. */
void datadir_remove_created(datadir *d, const bool files[DATADIR_FILES]);

/* Frees d. Accepts NULL. */
void datadir_free(datadir *d);

/* The directory as given to datadir_open, and the path of one of its files; both owned
 * by d. */
const char *datadir_root(const datadir *d);
const char *datadir_path(const datadir *d, datadir_file f);

#endif
