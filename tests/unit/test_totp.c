/*
 * test_totp.c - TOTP step-up: the RFC 6238 known answers (SHA-1, 6 digits), the ±1 step
 * window and the counter it reports (what store_user_use_otp() records to refuse reuse),
 * malformed codes, the base32 secret and otpauth URI, and - when oathtool is installed -
 * that `oathtool --totp -b SECRET` agrees with us, since that is what the CLI promises.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "workflow/totp.h"

/* RFC 6238 appendix B, SHA-1 seed. */
static const uint8_t rfc_key[20] = "12345678901234567890";

static void test_rfc6238_vectors(void **state)
{
	static const struct {
		int64_t t;
		const char *code;
	} v[] = {
	    {59, "287082"},         {1111111109, "081804"}, {1111111111, "050471"},
	    {1234567890, "005924"}, {2000000000, "279037"}, {20000000000LL, "353130"},
	};
	char out[7];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(totp_code(rfc_key, v[i].t, out), 0);
		assert_string_equal(out, v[i].code);
	}
	assert_int_equal(totp_code(rfc_key, -1, out), BG_EINVAL);
}

static void test_check_window(void **state)
{
	int64_t counter = 0;

	(void)state;
	/* T=59 is step 1. The code is accepted one step early and one step late. */
	assert_int_equal(totp_check(rfc_key, "287082", 59, &counter), 0);
	assert_int_equal(counter, 1);
	counter = 0;
	assert_int_equal(totp_check(rfc_key, "287082", 30, &counter), 0);
	assert_int_equal(counter, 1);
	counter = 0;
	assert_int_equal(totp_check(rfc_key, "287082", 89, &counter), 0);
	assert_int_equal(counter, 1);
	assert_int_equal(totp_check(rfc_key, "287082", 90, &counter), BG_EAUTH); /* step 3 */
	counter = 0;
	assert_int_equal(totp_check(rfc_key, "287082", 0, &counter), 0); /* no step -1 */
	assert_int_equal(counter, 1);
	assert_int_equal(totp_check(rfc_key, "005924", 1234567890, &counter), 0);
	assert_int_equal(counter, 1234567890 / 30);
	/* 1111111109 is the last second of its step. */
	assert_int_equal(totp_check(rfc_key, "081804", 1111111109 + 1, &counter), 0);
	assert_int_equal(counter, 1111111109 / 30);
	assert_int_equal(totp_check(rfc_key, "081804", 1111111109 - 30, &counter), 0);
	assert_int_equal(counter, 1111111109 / 30);
	assert_int_equal(totp_check(rfc_key, "081804", 1111111109 + 31, &counter), BG_EAUTH);
	assert_int_equal(totp_check(rfc_key, "081804", 1111111109 - 60, &counter), BG_EAUTH);
}

static void test_check_bad_codes(void **state)
{
	static const char *malformed[] = {"",       "28708",   "2870822", "28708a",
	                                  " 87082", "287 082", "-28708",  "+28708"};
	int64_t counter = 77;
	size_t i;

	(void)state;
	assert_int_equal(totp_check(rfc_key, "287083", 59, &counter), BG_EAUTH);
	assert_int_equal(totp_check(rfc_key, "000000", 59, &counter), BG_EAUTH);
	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		assert_int_equal(totp_check(rfc_key, malformed[i], 59, &counter), BG_EINVAL);
	assert_int_equal(totp_check(rfc_key, NULL, 59, &counter), BG_EINVAL);
	assert_int_equal(totp_check(rfc_key, "287082", -5, &counter), BG_EINVAL);
	assert_int_equal(counter, 77); /* untouched on failure */
}

static void test_base32_and_uri(void **state)
{
	char b32[TOTP_SECRET_B32_MAX];
	char small[32];
	bg_buf b;

	(void)state;
	assert_int_equal(totp_secret_base32(rfc_key, b32, sizeof(b32)), 0);
	assert_string_equal(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	assert_int_equal(totp_secret_base32(rfc_key, small, sizeof(small)), BG_ELIMIT);

	bg_buf_init(&b, 1024);
	assert_int_equal(totp_uri("alice.o-n_call", b32, &b), 0);
	assert_string_equal(
	    b.data, "otpauth://totp/breakglass:alice.o-n_call?secret="
	            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=breakglass&period=30&digits=6");
	bg_buf_reset(&b);
	assert_int_equal(totp_uri("al ice", b32, &b), BG_EINVAL);
	assert_int_equal(totp_uri("a&issuer=evil", b32, &b), BG_EINVAL);
	assert_int_equal(totp_uri("", b32, &b), BG_EINVAL);
	assert_int_equal(totp_uri("alice", "gezd", &b), BG_EINVAL);
	assert_int_equal(totp_uri("alice", "GEZD=", &b), BG_EINVAL);
	assert_int_equal(b.len, 0);
	bg_buf_free(&b);
}

static char tmpdir[64];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void load_keyring(keyring **k)
{
	char path[128];
	bg_err e;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bg-totp-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/master.key", tmpdir);
	assert_int_equal(keyring_load(path, true, k, &e), 0);
}

static void test_key_derivation(void **state)
{
	uint8_t seed1[16] = {1}, seed2[16] = {2}, a[20], b[20], full[32];
	keyring *k = NULL;

	(void)state;
	load_keyring(&k);
	totp_key(k, seed1, a);
	totp_key(k, seed1, b);
	assert_memory_equal(a, b, 20);
	keyring_derive(k, "totp", seed1, 16, full);
	assert_memory_equal(a, full, 20);
	totp_key(k, seed2, b);
	assert_memory_not_equal(a, b, 20);
	keyring_free(k);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs oathtool and returns its code for key at unix time t; false if it cannot run. */
static bool oathtool_code(const char *b32, int64_t t, char out[7])
{
	char cmd[256], line[64];
	FILE *p;
	bool ok;

	snprintf(cmd, sizeof(cmd), "oathtool --totp -b --now='@%lld' %s 2>/dev/null", (long long)t,
	         b32);
	p = popen(cmd, "r");
	if (p == NULL)
		return false;
	ok = fgets(line, sizeof(line), p) != NULL && strlen(line) >= 6;
	if (pclose(p) != 0)
		ok = false;
	if (ok) {
		memcpy(out, line, 6);
		out[6] = '\0';
	}
	return ok;
}

static void test_oathtool_agrees(void **state)
{
	uint8_t seed[16] = {9, 8, 7}, key[20];
	char b32[TOTP_SECRET_B32_MAX], theirs[7], ours[7];
	int64_t t, counter;
	keyring *k = NULL;
	int i;

	(void)state;
	if (system("command -v oathtool >/dev/null 2>&1") != 0) {
		skip();
		return;
	}
	load_keyring(&k);
	totp_key(k, seed, key);
	assert_int_equal(totp_secret_base32(key, b32, sizeof(b32)), 0);
	assert_int_equal(strlen(b32), 32);
	for (i = 0; i < 4; i++) {
		t = (int64_t)time(NULL) + i * 1000003;
		assert_true(oathtool_code(b32, t, theirs));
		assert_int_equal(totp_code(key, t, ours), 0);
		assert_string_equal(ours, theirs);
		assert_int_equal(totp_check(key, theirs, t, &counter), 0);
		assert_int_equal(counter, t / 30);
	}
	/* And the RFC key through its base32 form. */
	assert_true(oathtool_code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 1234567890, theirs));
	assert_string_equal(theirs, "005924");
	keyring_free(k);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc6238_vectors), cmocka_unit_test(test_check_window),
	    cmocka_unit_test(test_check_bad_codes), cmocka_unit_test(test_base32_and_uri),
	    cmocka_unit_test(test_key_derivation),  cmocka_unit_test(test_oathtool_agrees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
