/*
 * crypto.c - SHA-256, random bytes and constant-time comparison (see crypto.h).
 */
#include "common/crypto.h"

#include "common/limits.h"

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *bg_sha256_md(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md;
}

void bg_sha256(const void *p, size_t n, uint8_t out[BG_SHA256_LEN])
{
	const EVP_MD *md = bg_sha256_md();

	if (md == NULL || !EVP_Digest(p, n, out, NULL, md, NULL))
		abort(); /* void by contract; a wrong hash must never be used */
}

int bg_random(void *out, size_t n)
{
	uint8_t *p = out;

	/* RAND_bytes takes an int; split huge requests rather than truncate them. */
	while (n > 0) {
		int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;
		if (RAND_bytes(p, chunk) != 1)
			return BG_EIO;
		p += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

bool bg_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

__attribute__((noinline)) void bg_stack_scrub(void)
{
	unsigned char area[BG_STACK_SCRUB];

	OPENSSL_cleanse(area, sizeof(area));
	__asm__ __volatile__("" : : "r"(area) : "memory"); /* keep the frame */
}

int bg_hmac_sha256(const char *key, const void *a, size_t an, const void *b, size_t bn,
                   uint8_t out[BG_SHA256_LEN])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int rc = BG_EIO;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx == NULL ||
	    EVP_MAC_init(ctx, (const unsigned char *)key, strlen(key), params) != 1 ||
	    (an > 0 && EVP_MAC_update(ctx, a, an) != 1) ||
	    (bn > 0 && EVP_MAC_update(ctx, b, bn) != 1) ||
	    EVP_MAC_final(ctx, out, &outl, BG_SHA256_LEN) != 1 || outl != BG_SHA256_LEN)
		goto fail;
	rc = 0;
fail:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}
