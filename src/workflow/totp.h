/*
 * totp.h - TOTP step-up codes (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), the
 * parameters every authenticator app and `oathtool --totp` use by default.
 *
 * A user's TOTP key is never stored: it is derived from the master key and the user's
 * random seed (see keyring.h), so the database alone cannot mint codes. Reuse is
 * prevented by the caller, which records the matched time step with
 * store_user_use_otp().
 */
#ifndef BG_TOTP_H
#define BG_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "store/keyring.h"

#define TOTP_KEY_LEN        20 /* the RFC 4226 recommended HMAC-SHA1 key size */
#define TOTP_DIGITS         6  /* what authenticator apps and oathtool show by default */
#define TOTP_STEP_SECONDS   30 /* RFC 6238's default: a new code every 30 s */
#define TOTP_SECRET_B32_MAX 33 /* 32 base32 characters and a NUL */
/* The otpauth URI for a BG_MAX_USER_NAME name and a 32-character secret: about 170 bytes. */
#define TOTP_URI_MAX 256

/* key = first 20 bytes of keyring_derive(k, "totp", seed, 16). */
void totp_key(const keyring *k, const uint8_t seed[16], uint8_t key[20]);

/* Base32 (RFC 4648, upper case, no padding) of the key into out (cap >= 33), the form
 * `oathtool --totp -b` and authenticator apps accept. Returns 0, or BG_ELIMIT when cap is
 * too small. */
int totp_secret_base32(const uint8_t key[20], char *out, size_t cap) BG_MUST_CHECK;

/* The key of a base32 secret as totp_secret_base32 writes it (the scripted approver of a
 * drill computes its own codes). Returns 0, BG_EINVAL (not base32 of 20 bytes) or
 * BG_EIO. */
int totp_key_from_base32(const char *secret_b32, uint8_t key[TOTP_KEY_LEN]) BG_MUST_CHECK;

/* Appends otpauth://totp/breakglass:USER?secret=...&issuer=breakglass&period=30&digits=6
 * to out. BG_EINVAL if user is not [A-Za-z0-9._-]{1,64} or secret is not base32. */
int totp_uri(const char *user, const char *secret_b32, bg_buf *out) BG_MUST_CHECK;

/* True when code has the shape of a code: exactly TOTP_DIGITS ASCII digits. NULL is not
 * one. */
bool totp_code_valid(const char *code);

/* Checks a 6-digit code at unix time now, accepting the steps before and after too
 * (clock drift). On success returns 0 and the matched time step (unix time / 30) in
 * *counter; BG_EAUTH on mismatch; BG_EINVAL if code is not exactly 6 digits. All three
 * candidates are computed and compared in constant time. */
int totp_check(const uint8_t key[20], const char *code, int64_t now,
               int64_t *counter) BG_MUST_CHECK;

/* The code for time now into out (6 digits and a NUL): for tests and scripted
 * approvals. Returns 0, or BG_EINVAL for a negative time. */
int totp_code(const uint8_t key[20], int64_t now, char out[7]) BG_MUST_CHECK;

#endif
