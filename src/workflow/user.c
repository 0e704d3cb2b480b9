/*
 * user.c - users, tokens and TOTP step-up (see user.h).
 */
#include "user.h"

#include <openssl/crypto.h>
#include <string.h>

#include "common/clock.h"
#include "common/encode.h"
#include "workflow/totp.h"

static const struct {
	user_role role;
	const char *name;
} roles[] = {
    {USER_ROLE_ADMIN, "admin"},
    {USER_ROLE_RESPONDER, "responder"},
    {USER_ROLE_APPROVER, "approver"},
};

user_role user_role_parse(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(s, roles[i].name) == 0)
			return roles[i].role;
	return USER_ROLE_NONE;
}

const char *user_role_name(user_role r)
{
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (r == roles[i].role)
			return roles[i].name;
	return NULL;
}

int user_create(store_tx *tx, const keyring *k, const char *name, user_role role, user_secrets *out,
                bg_err *e)
{
	uint8_t raw[32], hash[32], seed[16], key[20];
	int rc;

	memset(out, 0, sizeof(*out));
	bg_buf_init(&out->totp_uri, TOTP_URI_MAX);
	if (user_role_name(role) == NULL)
		return bg_err_set(e, BG_EINVAL,
		                  "a user has one role: admin, responder or approver");
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
	rc = store_user_add(tx, name, user_role_name(role), hash, seed, e);
fail:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(seed, sizeof(seed));
	if (rc)
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
	return rc;
}

int user_check_otp(store *s, const keyring *k, const store_user *u, const char *code, bg_err *e)
{
	uint8_t key[20];
	int64_t counter = 0, now = bg_now(), wait;
	store_tx *tx;
	int rc;

	if (code == NULL || code[0] == '\0')
		return bg_err_set(e, BG_EOTP, "a TOTP code is required (--otp)");
	totp_key(k, u->totp_seed, key);
	rc = totp_check(key, code, now, &counter);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc == BG_EINVAL)
		return bg_err_set(e, BG_EOTP, "a TOTP code is six digits");
	if (rc)
		return bg_err_set(e, BG_EAUTH, "wrong TOTP code");
	rc = store_begin(s, &tx, e);
	if (rc == 0)
		rc = store_end(tx, store_user_use_otp(tx, u->id, counter, e), e);
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
