/*
 * user.h - people: creating them with an API token and a TOTP key, recognising them by
 * token, and the TOTP step-up that every consequential action asks for.
 *
 * Tokens are shown once and stored only as SHA-256; TOTP keys are derived from the
 * master key and a per-user seed (totp.h), so neither is at rest in plain form. A TOTP
 * code is accepted once: its time step is recorded atomically in the store.
 */
#ifndef BG_USER_H
#define BG_USER_H

#include <stdbool.h>

#include "common/buf.h"
#include "common/err.h"
#include "store/keyring.h"
#include "store/store.h"

#define USER_TOKEN_MAX       64
#define USER_TOTP_SECRET_MAX 40

/* What a new user is told once. */
typedef struct user_secrets {
	char token[USER_TOKEN_MAX];             /* "bgt_" + 43 base64url characters */
	char totp_secret[USER_TOTP_SECRET_MAX]; /* base32, for oathtool --totp -b */
	bg_buf totp_uri;                        /* otpauth:// URI; free with user_secrets_free */
} user_secrets;

/* True for the roles breakglass knows: admin, responder, approver. */
bool user_role_valid(const char *role);

/* Creates user name with role, filling *out. BG_EEXISTS if the name is taken, BG_EINVAL
 * for a bad name or role. */
int user_create(store *s, const keyring *k, const char *name, const char *role, user_secrets *out,
                bg_err *e) BG_MUST_CHECK;

/* Zeroes and frees what user_create filled in. */
void user_secrets_free(user_secrets *us);

/* Finds the user whose API token is token (n bytes, not NUL-terminated). BG_EAUTH if
 * none. */
int user_authenticate(store *s, const char *token, size_t n, store_user *out,
                      bg_err *e) BG_MUST_CHECK;

/* Checks a TOTP code for u at the current time and marks its step used. BG_EAUTH for a
 * wrong code, BG_EDENIED for a code already used, BG_EINVAL for a malformed one. */
int user_check_otp(store *s, const keyring *k, const store_user *u, const char *code,
                   bg_err *e) BG_MUST_CHECK;

#endif
