/*
 * test_keyring.c - the master key file and derivation: created once with mode 0600 and
 * never overwritten, refused when group or others can read it, and derivations that are
 * deterministic, separated by label and data, and equal to a plain HMAC-SHA256 of
 * label || 0 || data (so another implementation, or the PostgreSQL backend, can
 * recompute them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "store/keyring.h"

static char tmpdir[64];
static char keypath[128];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bg-keyring-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(keypath, sizeof(keypath), "%s/master.key", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_create_and_load(void **state)
{
	uint8_t a[32], b[32];
	keyring *k1 = NULL, *k2 = NULL, *k3 = NULL;
	char text[80];
	struct stat st;
	mode_t old;
	bg_err e;
	FILE *f;
	size_t n;

	(void)state;
	old = umask(0); /* the file must be 0600 whatever the umask */
	assert_int_equal(keyring_load(keypath, true, &k1, &e), 0);
	umask(old);
	assert_int_equal(stat(keypath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 65);

	f = fopen(keypath, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_int_equal(n, 65);
	assert_int_equal(text[64], '\n');
	assert_int_equal(strspn(text, "0123456789abcdef"), 64);

	/* Never overwritten. */
	assert_int_equal(keyring_load(keypath, true, &k3, &e), BG_EEXISTS);
	assert_null(k3);

	assert_int_equal(keyring_load(keypath, false, &k2, &e), 0);
	keyring_derive(k1, "x", "d", 1, a);
	keyring_derive(k2, "x", "d", 1, b);
	assert_memory_equal(a, b, 32);
	keyring_free(k1);
	keyring_free(k2);
	keyring_free(NULL);
}

static void test_missing(void **state)
{
	keyring *k = NULL;
	bg_err e;

	(void)state;
	assert_int_equal(keyring_load(keypath, false, &k, &e), BG_ENOTFOUND);
	assert_null(k);
	assert_int_equal(keyring_load("", false, &k, &e), BG_EINVAL);
}

static void test_permissions(void **state)
{
	const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	keyring *k = NULL;
	bg_err e;

	(void)state;
	write_file(keypath, hex, 0644);
	assert_int_equal(keyring_load(keypath, false, &k, &e), BG_EDENIED);
	assert_null(k);
	assert_non_null(strstr(e.msg, "chmod 600"));
	assert_null(strstr(e.msg, "0001020304")); /* no key material in messages */

	assert_int_equal(chmod(keypath, 0640), 0);
	assert_int_equal(keyring_load(keypath, false, &k, &e), BG_EDENIED);
	assert_int_equal(chmod(keypath, 0602), 0);
	assert_int_equal(keyring_load(keypath, false, &k, &e), BG_EDENIED);
	assert_int_equal(chmod(keypath, 0400), 0);
	assert_int_equal(keyring_load(keypath, false, &k, &e), 0);
	keyring_free(k);
}

static void test_bad_contents(void **state)
{
	static const char *bad[] = {
	    "",
	    "0001",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n", /* 63 */
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fff",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\n",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f ",
	};
	keyring *k = NULL;
	bg_err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unlink(keypath);
		write_file(keypath, bad[i], 0600);
		assert_int_equal(keyring_load(keypath, false, &k, &e), BG_EINVAL);
		assert_null(k);
	}
	/* Without the newline, and in upper case, it is accepted. */
	unlink(keypath);
	write_file(keypath, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
	           0600);
	assert_int_equal(keyring_load(keypath, false, &k, &e), 0);
	keyring_free(k);

	/* A symlink is not followed. */
	{
		char link[160];
		snprintf(link, sizeof(link), "%s/link.key", tmpdir);
		assert_int_equal(symlink(keypath, link), 0);
		assert_int_not_equal(keyring_load(link, false, &k, &e), 0);
		assert_null(k);
	}
}

static void test_derive(void **state)
{
	const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	uint8_t master[32], a[32], b[32], want[32], msg[64];
	unsigned int len = 0;
	keyring *k = NULL;
	bg_err e;
	int i;

	(void)state;
	for (i = 0; i < 32; i++)
		master[i] = (uint8_t)i;
	write_file(keypath, hex, 0600);
	assert_int_equal(keyring_load(keypath, false, &k, &e), 0);

	/* Deterministic, and equal to HMAC-SHA256(master, label || 0 || data). */
	keyring_derive(k, "totp", "seed-0123456789a", 16, a);
	keyring_derive(k, "totp", "seed-0123456789a", 16, b);
	assert_memory_equal(a, b, 32);
	memcpy(msg, "totp", 4);
	msg[4] = 0;
	memcpy(msg + 5, "seed-0123456789a", 16);
	assert_non_null(HMAC(EVP_sha256(), master, 32, msg, 21, want, &len));
	assert_memory_equal(a, want, 32);

	/* Separated by label, by data, and by where the label ends. */
	keyring_derive(k, "sigv4", "seed-0123456789a", 16, b);
	assert_memory_not_equal(a, b, 32);
	keyring_derive(k, "totp", "seed-0123456789b", 16, b);
	assert_memory_not_equal(a, b, 32);
	keyring_derive(k, "ab", "c", 1, a);
	keyring_derive(k, "a", "bc", 2, b);
	assert_memory_not_equal(a, b, 32);
	/* Empty data is allowed. */
	keyring_derive(k, "x", NULL, 0, a);
	memcpy(msg, "x", 2);
	assert_non_null(HMAC(EVP_sha256(), master, 32, msg, 2, want, &len));
	assert_memory_equal(a, want, 32);
	keyring_free(k);
}

static keyring *shared;

static void *derive_thread(void *arg)
{
	uint8_t out[32], first[32];
	int i;

	(void)arg;
	keyring_derive(shared, "t", "d", 1, first);
	for (i = 0; i < 2000; i++) {
		keyring_derive(shared, "t", "d", 1, out);
		if (memcmp(out, first, 32) != 0)
			return (void *)1;
	}
	return NULL;
}

static void test_derive_threads(void **state)
{
	pthread_t t[8];
	void *r;
	bg_err e;
	int i;

	(void)state;
	assert_int_equal(keyring_load(keypath, true, &shared, &e), 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, derive_thread, NULL), 0);
	for (i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_null(r);
	}
	keyring_free(shared);
	shared = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_and_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_contents, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_derive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_derive_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
