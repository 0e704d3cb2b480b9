/*
 * user.h - people: their roles, creating them with an API token and a TOTP key,
 * recognising them by token, and the TOTP step-up that every consequential action asks
 * for. The actions themselves (who may add whom, in what order things are recorded) are
 * the service layer's (service.h).
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

/* The roles breakglass knows, as bits so that one rule can name several ("admin or
 * approver"); a set of them is an unsigned int. The store keeps a role's name. */
typedef enum user_role {
	USER_ROLE_NONE = 0,
	USER_ROLE_ADMIN = 1 << 0,     /* manages users, grants access directly, reads the audit */
	USER_ROLE_RESPONDER = 1 << 1, /* on call: is granted access and uses it */
	USER_ROLE_APPROVER = 1 << 2,  /* approves others' requests (the two-person rule) */
	USER_ROLE_AUDITOR = 1 << 3    /* reads the audit trail and reports, nothing else */
} user_role;

#define USER_ROLE_ANY                                                                              \
	((unsigned)(USER_ROLE_ADMIN | USER_ROLE_RESPONDER | USER_ROLE_APPROVER | USER_ROLE_AUDITOR))

/* The set of roles named by s: one name ("admin", "responder", "approver", "auditor") or
 * several joined by commas ("admin,approver"), each once. Anything else (NULL, an unknown
 * name, an empty item) is USER_ROLE_NONE. The one place roles' names are read. */
unsigned user_role_parse(const char *s);

/* The names of the roles in set, joined by commas in a fixed order, into out (at least
 * USER_ROLES_TEXT_MAX bytes); "" for none. Returns out. */
#define USER_ROLES_TEXT_MAX 48
const char *user_role_text(unsigned set, char *out);

/* The name of one role, or NULL for USER_ROLE_NONE or a set of several. */
const char *user_role_name(user_role r);

/* Creates user name with the roles in set (one or more) in tx, filling *out (valid once
 * tx commits). BG_EEXISTS if the name is taken, BG_EINVAL for a bad name or role. */
int user_create(store_tx *tx, const keyring *k, const char *name, unsigned roles, user_secrets *out,
                bg_err *e) BG_MUST_CHECK;

/* New secrets for an existing user: a new API token (the old one stops working) when
 * token is true, a new TOTP key when totp is true; what changed is filled in *out. The
 * store's row u is updated in tx. */
int user_renew(store_tx *tx, const keyring *k, const store_user *u, bool token, bool totp,
               user_secrets *out, bg_err *e) BG_MUST_CHECK;

/* Zeroes and frees what user_create filled in. */
void user_secrets_free(user_secrets *us);

/* Finds the user whose API token is token (n bytes, not NUL-terminated). BG_EAUTH if
 * none, BG_EDENIED if the user is disabled. */
int user_authenticate(store *s, const char *token, size_t n, store_user *out,
                      bg_err *e) BG_MUST_CHECK;

/* Checks a TOTP code for u at the current time and marks its step used, in a
 * transaction of its own: a code once verified is spent, whatever becomes of the action
 * it was for. BG_EOTP for a missing or malformed code, BG_EAUTH for a wrong one or one
 * already used (the messages say which); other codes when the store fails. */
int user_check_otp(store *s, const keyring *k, const store_user *u, const char *code,
                   bg_err *e) BG_MUST_CHECK;

#endif
