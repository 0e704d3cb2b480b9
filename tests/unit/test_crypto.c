/*
 * test_crypto.c - the shared primitives: SHA-256 against the FIPS 180-2 vectors, through
 * the one-shot helper and through the shared EVP_MD (fetched once, the same object for
 * every caller); random bytes; constant-time comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <string.h>

#include "common/buf.h"
#include "common/crypto.h"

static const char abc_hex[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

static void test_sha256(void **state)
{
	uint8_t a[BG_SHA256_LEN];
	char hex[2 * BG_SHA256_LEN + 1];

	(void)state;
	bg_sha256("abc", 3, a);
	bg_hex(a, sizeof(a), hex);
	assert_string_equal(hex, abc_hex);
	bg_sha256("", 0, a);
	bg_hex(a, sizeof(a), hex);
	assert_string_equal(hex,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* Incremental hashing with the shared digest gives the same answer, and every caller
 * gets the same object (fetched once, never per call). */
static void test_sha256_md(void **state)
{
	const EVP_MD *md = bg_sha256_md();
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t out[BG_SHA256_LEN];
	unsigned int len = 0;
	char hex[2 * BG_SHA256_LEN + 1];

	(void)state;
	assert_non_null(md);
	assert_ptr_equal(md, bg_sha256_md());
	assert_int_equal(EVP_MD_get_size(md), BG_SHA256_LEN);
	assert_non_null(c);
	assert_int_equal(EVP_DigestInit_ex2(c, md, NULL), 1);
	assert_int_equal(EVP_DigestUpdate(c, "a", 1), 1);
	assert_int_equal(EVP_DigestUpdate(c, "bc", 2), 1);
	assert_int_equal(EVP_DigestFinal_ex(c, out, &len), 1);
	assert_int_equal(len, BG_SHA256_LEN);
	bg_hex(out, sizeof(out), hex);
	assert_string_equal(hex, abc_hex);
	EVP_MD_CTX_free(c);
}

static void test_random_and_compare(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	assert_int_equal(bg_random(a, 32), 0);
	assert_int_equal(bg_random(b, 32), 0);
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(bg_random(a, 0), 0);

	memcpy(b, a, 32);
	assert_true(bg_ct_equal(a, b, 32));
	b[31] ^= 1;
	assert_false(bg_ct_equal(a, b, 32));
	b[31] ^= 1;
	b[0] ^= 0x80;
	assert_false(bg_ct_equal(a, b, 32));
	assert_true(bg_ct_equal(a, b, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256),
	    cmocka_unit_test(test_sha256_md),
	    cmocka_unit_test(test_random_and_compare),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
