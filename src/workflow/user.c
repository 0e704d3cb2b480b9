/*
 * user.c - users, tokens and TOTP step-up (see user.h).
 */
#include "user.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/encode.h"
#include "common/limits.h"
#include "workflow/totp.h"

static const struct {
	user_role role;
	const char *name;
} role_names[] = {
    {USER_ROLE_ADMIN, "admin"},
    {USER_ROLE_RESPONDER, "responder"},
    {USER_ROLE_APPROVER, "approver"},
    {USER_ROLE_AUDITOR, "auditor"},
};

unsigned user_role_parse(const char *s)
{
	unsigned set = 0, one;
	size_t i, n;

	if (s == NULL || *s == '\0')
		return USER_ROLE_NONE;
	for (;;) {
		n = strcspn(s, ",");
		one = USER_ROLE_NONE;
		for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
			if (strlen(role_names[i].name) == n &&
			    memcmp(s, role_names[i].name, n) == 0)
				one = (unsigned)role_names[i].role;
		if (one == USER_ROLE_NONE || (set & one) != 0)
			return USER_ROLE_NONE;
		set |= one;
		if (s[n] == '\0')
			return set;
		s += n + 1;
	}
}

const char *user_role_text(unsigned set, char *out)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
		if ((set & (unsigned)role_names[i].role) == 0)
			continue;
		len += (size_t)snprintf(out + len, USER_ROLES_TEXT_MAX - len, "%s%s",
		                        len > 0 ? "," : "", role_names[i].name);
	}
	return out;
}

const char *user_role_name(user_role r)
{
	size_t i;

	for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (r == role_names[i].role)
			return role_names[i].name;
	return NULL;
}

int user_create(store_tx *tx, const keyring *k, const char *name, unsigned roles, user_secrets *out,
                bg_err *e)
{
	uint8_t raw[32], hash[32], seed[16], key[20];
	char role_text[USER_ROLES_TEXT_MAX];
	int rc;

	memset(out, 0, sizeof(*out));
	bg_buf_init(&out->totp_uri, TOTP_URI_MAX);
	if (roles == USER_ROLE_NONE || (roles & ~USER_ROLE_ANY) != 0)
		return bg_err_set(e, BG_EINVAL,
		                  "roles are admin, responder, approver, auditor (one or several)");
	rc = bg_random(raw, sizeof(raw));
	if (rc == 0)
		rc = bg_random(seed, sizeof(seed));
	if (rc) {
		rc = bg_err_set(e, BG_EIO, "no randomness available");
		goto fail;
	}
	memcpy(out->token, "bgt_", 4);
	bg_base64url(raw, sizeof(raw), out->token + 4, sizeof(out->token) - 4);
	bg_sha256(out->token, strlen(out->token), hash);

	totp_key(k, seed, key);
	rc = totp_secret_base32(key, out->totp_secret, sizeof(out->totp_secret));
	if (rc == 0)
		rc = totp_uri(name, out->totp_secret, &out->totp_uri);
	if (rc) {
		rc = bg_err_set(e, rc, "cannot encode the TOTP secret");
		goto fail;
	}
	rc = store_user_add(tx, name, user_role_text(roles, role_text), hash, seed, e);
fail:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(seed, sizeof(seed));
	if (rc)
		user_secrets_free(out);
	return rc;
}

int user_renew(store_tx *tx, const keyring *k, const store_user *u, bool token, bool totp,
               user_secrets *out, bg_err *e)
{
	uint8_t raw[32], hash[32], key[20];
	store_user w = *u;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	bg_buf_init(&out->totp_uri, TOTP_URI_MAX);
	if (token) {
		if (bg_random(raw, sizeof(raw)) != 0)
			return bg_err_set(e, BG_EIO, "no randomness available");
		memcpy(out->token, "bgt_", 4);
		bg_base64url(raw, sizeof(raw), out->token + 4, sizeof(out->token) - 4);
		bg_sha256(out->token, strlen(out->token), hash);
		OPENSSL_cleanse(raw, sizeof(raw));
	}
	if (totp) {
		if (bg_random(w.totp_seed, sizeof(w.totp_seed)) != 0)
			rc = bg_err_set(e, BG_EIO, "no randomness available");
		w.otp_failures = 0;
		w.locked_until = 0;
		totp_key(k, w.totp_seed, key);
		if (rc == 0 &&
		    (totp_secret_base32(key, out->totp_secret, sizeof(out->totp_secret)) != 0 ||
		     totp_uri(u->name, out->totp_secret, &out->totp_uri) != 0))
			rc = bg_err_set(e, BG_EINVAL, "cannot encode the TOTP secret");
		OPENSSL_cleanse(key, sizeof(key));
	}
	if (rc == 0)
		rc = store_user_update(tx, &w, token ? hash : NULL, e);
	OPENSSL_cleanse(w.totp_seed, sizeof(w.totp_seed));
	if (rc != 0)
		user_secrets_free(out);
	return rc;
}

void user_secrets_free(user_secrets *us)
{
	if (us == NULL)
		return;
	bg_buf_free_secure(&us->totp_uri);
	OPENSSL_cleanse(us, sizeof(*us));
}

int user_authenticate(store *s, const char *token, size_t n, store_user *out, bg_err *e)
{
	uint8_t hash[32];
	int rc;

	if (n < 5 || n >= USER_TOKEN_MAX || memcmp(token, "bgt_", 4) != 0)
		return bg_err_set(e, BG_EAUTH, "invalid API token");
	bg_sha256(token, n, hash);
	rc = store_user_by_token(s, hash, out, e);
	if (rc == BG_ENOTFOUND)
		return bg_err_set(e, BG_EAUTH, "invalid API token");
	if (rc == 0 && out->disabled)
		return bg_err_set(e, BG_EDENIED, "user %s is disabled: ask an admin", out->name);
	return rc;
}

/* A wrong code: one more failure, and at BG_MAX_OTP_FAILURES a lockout, counted in the
 * store. Best effort: the refusal stands even if the count cannot be written. */
static void otp_failed(store *s, const store_user *u, int64_t now, bool *locked)
{
	store_tx *tx;
	bg_err e;

	*locked = false;
	if (store_begin(s, &tx, &e) != 0 ||
	    store_end(tx,
	              store_user_otp_result(tx, u->id, false, BG_MAX_OTP_FAILURES,
	                                    now + BG_OTP_LOCKOUT_SECONDS, locked, &e),
	              &e) != 0)
		fprintf(stderr, "breakglass: the wrong TOTP code of %s was not counted: %s\n",
		        u->name, e.msg);
}

int user_check_otp(store *s, const keyring *k, const store_user *u, const char *code, bg_err *e)
{
	uint8_t key[20];
	int64_t counter = 0, now = bg_now(), wait;
	store_tx *tx;
	int rc;

	bool locked;

	if (code == NULL || code[0] == '\0')
		return bg_err_set(e, BG_EOTP, "a TOTP code is required (--otp)");
	if (u->locked_until > now)
		return bg_err_set(e, BG_EAUTH,
		                  "too many wrong TOTP codes: %s may try again in %lld s (an admin "
		                  "can see this in the audit log)",
		                  u->name, (long long)(u->locked_until - now));
	totp_key(k, u->totp_seed, key);
	rc = totp_check(key, code, now, &counter);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc == BG_EINVAL)
		return bg_err_set(e, BG_EOTP, "a TOTP code is six digits");
	if (rc) {
		otp_failed(s, u, now, &locked);
		if (locked)
			return bg_err_set(
			    e, BG_EAUTH,
			    "wrong TOTP code; after %d wrong codes %s is locked out for %d s",
			    BG_MAX_OTP_FAILURES, u->name, BG_OTP_LOCKOUT_SECONDS);
		return bg_err_set(e, BG_EAUTH, "wrong TOTP code");
	}
	rc = store_begin(s, &tx, e);
	if (rc == 0) {
		rc = store_user_use_otp(tx, u->id, counter, e);
		if (rc == 0 && u->otp_failures > 0)
			rc =
			    store_user_otp_result(tx, u->id, true, BG_MAX_OTP_FAILURES, 0, NULL, e);
		rc = store_end(tx, rc, e);
	}
	if (rc == BG_EDENIED) {
		/* Codes are accepted once, in order: the next one is the next step's. */
		wait = (counter + 1) * TOTP_STEP_SECONDS - now;
		return bg_err_set(e, BG_EAUTH,
		                  "this TOTP code was already used (each code works once); the "
		                  "next code appears in your authenticator in %lld s",
		                  (long long)(wait > 0 ? wait : 1));
	}
	return rc;
}
