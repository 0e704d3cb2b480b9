/*
 * awscreds.h - a set of AWS credentials (access key id, secret, session token, expiry),
 * and the local sources of the gateway's own: the environment and the shared files.
 *
 * The object is what upstream signing uses; signing/credchain.h builds it from every
 * source of the SDKs' chain and shares it between the refresher and the event loops by
 * reference (awscreds_ref). awscreds_load is the short local chain (the environment, then
 * the shared credentials file, profile AWS_PROFILE or "default") for tools and tests. The
 * files are read by a small strict INI reader (no extra dependency): comments, sections,
 * key = value, bounded in size; a malformed file is an error, never half-read. The secret and
 * the token are zeroed when the last reference is released.
 */
#ifndef BG_AWSCREDS_H
#define BG_AWSCREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

typedef struct awscreds awscreds;

/* Resolves credentials from the environment, else from the shared credentials file. Returns
 * 0 with *out set (free with awscreds_free), BG_ENOTFOUND when neither source has any,
 * BG_EINVAL for partial or malformed credentials or a malformed file, BG_EIO when the file
 * cannot be read, BG_ENOMEM. Messages name the source and line, never a secret. */
int awscreds_load(awscreds **out, bg_err *e) BG_MUST_CHECK;

/* Reads profile (NULL = "default") from the shared credentials file at path. Same returns as
 * awscreds_load (BG_ENOTFOUND for a missing file or profile). */
int awscreds_load_file(const char *path, const char *profile, awscreds **out,
                       bg_err *e) BG_MUST_CHECK;

/* Parses the text of a shared credentials file (len bytes, not NUL-terminated) for profile
 * (NULL = "default"); name is the file's name for messages. Same returns as
 * awscreds_load_file. This is the parser behind awscreds_load_file and its fuzz target. */
int awscreds_parse(const char *text, size_t len, const char *profile, const char *name,
                   awscreds **out, bg_err *e) BG_MUST_CHECK;

/* Credentials from explicit values (copied); token may be NULL or "". The access key id must
 * be 1..BG_MAX_ACCESS_KEY_ID characters of [A-Za-z0-9._-]; the secret and the token printable
 * ASCII without spaces, at most 256 and BG_MAX_SESSION_TOKEN bytes. Returns 0, BG_EINVAL or
 * BG_ENOMEM. */
int awscreds_from_values(const char *akid, const char *secret, const char *token, awscreds **out,
                         bg_err *e) BG_MUST_CHECK;

/* Credentials from the environment only: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN (or the older AWS_SECURITY_TOKEN). BG_ENOTFOUND when AWS_ACCESS_KEY_ID
 * is unset, BG_EINVAL when it is set without a secret or malformed. */
int awscreds_from_env(awscreds **out, bg_err *e) BG_MUST_CHECK;

/* Credentials from counted values (copied, checked as awscreds_from_values); source names
 * them in messages and in awscreds_source. Returns 0, BG_EINVAL or BG_ENOMEM. */
int awscreds_make(const char *akid, size_t akid_len, const char *secret, size_t secret_len,
                  const char *token, size_t token_len, const char *source, awscreds **out,
                  bg_err *e) BG_MUST_CHECK;

/* Another reference to c (returned); each is released with awscreds_free, and the last
 * release wipes and frees. Lets the refresher replace credentials while a loop still signs
 * with the ones it took. Accepts NULL. */
awscreds *awscreds_ref(awscreds *c);

/* When temporary credentials expire (Unix seconds), 0 for long-term ones. Set once by the
 * provider that made them, before they are shared. */
int64_t awscreds_expiry(const awscreds *c);
void awscreds_set_expiry(awscreds *c, int64_t t);

/* Reads a whole regular file of at most BG_MAX_CREDENTIALS_FILE bytes into a new buffer
 * (*buf, *len, NUL-terminated; the caller wipes and frees it). BG_ENOTFOUND when it does not exist,
 * BG_EIO, BG_EINVAL (not a regular file), BG_ELIMIT, BG_ENOMEM. */
int awscreds_read_file(const char *path, char **buf, size_t *len, bg_err *e) BG_MUST_CHECK;

/* The path in environment variable env (a leading "~/" is the home directory), else
 * HOME/home_rel, appended to path. 0, BG_ENOTFOUND (no home), BG_EINVAL (too long). */
int awscreds_path(const char *env, const char *home_rel, bg_buf *path, bg_err *e) BG_MUST_CHECK;

/* Looks up keys (lower-case names, matched case-insensitively) in [section] of an INI text
 * as the shared credentials and config files are written (the rules of awscreds_parse).
 * val[i]/have[i] receive each key's value (pointing into text); *found says whether the
 * section exists. Returns 0 or BG_EINVAL for a malformed file, a section or key given twice
 * (path and line in e). */
int awscreds_ini_lookup(const char *text, size_t len, const char *section, const char *path,
                        const char *const *keys, size_t nkeys, bg_cur *val, bool *have, bool *found,
                        bg_err *e) BG_MUST_CHECK;

/* The parts, owned by c and valid until awscreds_free(c). The token is NULL when none. */
const char *awscreds_access_key_id(const awscreds *c);
const char *awscreds_secret_access_key(const awscreds *c);
const char *awscreds_session_token(const awscreds *c);

/* Where they came from, for logs: "environment", "values" or "shared credentials file
 * PATH, profile NAME". Never contains a secret. */
const char *awscreds_source(const awscreds *c);

/* Releases a reference; the last one zeroes the secret and the token and frees. Accepts
 * NULL. */
void awscreds_free(awscreds *c);

/* The region to sign for: AWS_REGION, else AWS_DEFAULT_REGION, else "us-east-1". The pointer
 * is valid until the environment changes. */
const char *awscreds_region(void);

#endif
