/*
 * totp.c - RFC 6238 codes through liboath (see totp.h).
 *
 * liboath computes the codes; this file adds what it does not do: deriving the key from
 * the master key, a constant-time comparison over the whole ±1 step window (liboath's
 * own validators stop at the first match and compare with strcmp), and the enrolment
 * strings. oath_init() is not thread-safe, so it runs once under pthread_once.
 */
#include "workflow/totp.h"

#include <liboath/oath.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/validate.h"

#define STEP TOTP_STEP_SECONDS

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static bool oath_ready;

static void oath_setup(void)
{
	oath_ready = oath_init() == OATH_OK;
}

static bool ready(void)
{
	pthread_once(&oath_once, oath_setup);
	return oath_ready;
}

void totp_key(const keyring *k, const uint8_t seed[16], uint8_t key[20])
{
	uint8_t full[32];

	keyring_derive(k, "totp", seed, 16, full);
	memcpy(key, full, TOTP_KEY_LEN);
	OPENSSL_cleanse(full, sizeof(full));
}

int totp_secret_base32(const uint8_t key[20], char *out, size_t cap)
{
	char *b32 = NULL;
	size_t n = 0;

	if (cap < TOTP_SECRET_B32_MAX)
		return BG_ELIMIT;
	if (!ready() || oath_base32_encode((const char *)key, TOTP_KEY_LEN, &b32, &n) != OATH_OK)
		return BG_EIO;
	while (n > 0 && b32[n - 1] == '=') /* 20 bytes need none, but never emit padding */
		n--;
	if (n >= cap) {
		OPENSSL_cleanse(b32, n);
		free(b32);
		return BG_ELIMIT;
	}
	memcpy(out, b32, n);
	out[n] = '\0';
	OPENSSL_cleanse(b32, n);
	free(b32);
	return 0;
}

static bool b32_ok(const char *s)
{
	size_t n = strnlen(s, 65), i;

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '2' && s[i] <= '7')))
			return false;
	return true;
}

int totp_key_from_base32(const char *secret_b32, uint8_t key[TOTP_KEY_LEN])
{
	char *raw = NULL;
	size_t n = 0;
	int rc = 0;

	if (secret_b32 == NULL || !b32_ok(secret_b32))
		return BG_EINVAL;
	if (!ready())
		return BG_EIO;
	if (oath_base32_decode(secret_b32, strlen(secret_b32), &raw, &n) != OATH_OK)
		return BG_EINVAL;
	if (n != TOTP_KEY_LEN)
		rc = BG_EINVAL;
	else
		memcpy(key, raw, TOTP_KEY_LEN);
	OPENSSL_cleanse(raw, n);
	free(raw);
	return rc;
}

int totp_uri(const char *user, const char *secret_b32, bg_buf *out)
{
	/* Both are checked against URL-safe alphabets, so neither needs escaping. */
	if (user == NULL || secret_b32 == NULL || !bg_valid_user_name(user) || !b32_ok(secret_b32))
		return BG_EINVAL;
	return bg_buf_addf(out,
	                   "otpauth://totp/breakglass:%s?secret=%s&issuer=breakglass"
	                   "&period=%d&digits=%d",
	                   user, secret_b32, STEP, TOTP_DIGITS);
}

int totp_code(const uint8_t key[20], int64_t now, char out[7])
{
	if (now < 0)
		return BG_EINVAL;
	if (!ready() ||
	    oath_totp_generate2((const char *)key, TOTP_KEY_LEN, (time_t)now, STEP,
	                        OATH_TOTP_DEFAULT_START_TIME, TOTP_DIGITS, 0, out) != OATH_OK) {
		OPENSSL_cleanse(out, 7);
		return BG_EIO;
	}
	return 0;
}

bool totp_code_valid(const char *code)
{
	size_t i;

	if (code == NULL || strnlen(code, TOTP_DIGITS + 1) != TOTP_DIGITS)
		return false;
	for (i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return true;
}

int totp_check(const uint8_t key[20], const char *code, int64_t now, int64_t *counter)
{
	char cand[TOTP_DIGITS + 1];
	int64_t step, matched = 0, d;
	uint64_t found = 0;
	int rc = 0;

	if (!totp_code_valid(code))
		return BG_EINVAL;
	if (now < 0 || now > INT64_MAX - STEP)
		return BG_EINVAL;
	step = now / STEP;
	/* Every candidate is computed and compared; the later step wins a tie, so a code
	 * that happens to repeat is charged to the newest step (reuse stays refused). */
	for (d = -1; d <= 1; d++) {
		uint64_t eq, mask;
		if (step + d < 0)
			continue; /* before the epoch: no such step (public information) */
		rc = totp_code(key, now + d * STEP, cand);
		if (rc != 0)
			break;
		eq = (uint64_t)(CRYPTO_memcmp(cand, code, TOTP_DIGITS) == 0);
		mask = (uint64_t)0 - eq;
		matched = (int64_t)(((uint64_t)matched & ~mask) | ((uint64_t)(step + d) & mask));
		found |= eq;
	}
	OPENSSL_cleanse(cand, sizeof(cand));
	if (rc != 0)
		return rc;
	if (!found)
		return BG_EAUTH;
	if (counter != NULL)
		*counter = matched;
	return 0;
}
