/*
 * test_keyset.c - the audit checkpoints' keys across rotations (audit/keyset.h) and the
 * multi-key PEM reader (sigkey_public_list): a key set made from nothing has a 0600 key
 * and a public-key list holding it; a rotation replaces the key file, keeps both public
 * keys (oldest first), leaves no .next; a second rotation while one is under way is
 * refused; an abandoned one removes .next; a .next found at open is pending (for the
 * gateway to settle from the trail); a list with garbage around and between its keys is
 * read, one with none or a broken key is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/keyset.h"
#include "audit/sigkey.h"

static char dir[64], kp[128], np[128], pp[128];

static int setup(void **state)
{
	(void)state;
	if (ut_tmpdir(dir, sizeof(dir), "keyset") != 0)
		return -1;
	snprintf(kp, sizeof(kp), "%s/audit-signing.key", dir);
	snprintf(np, sizeof(np), "%s/audit-signing.key.next", dir);
	snprintf(pp, sizeof(pp), "%s/audit-keys.pem", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ut_rm_tree(dir);
	return 0;
}

static int mode_of(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static size_t count_keys(const char *path)
{
	char text[8192];
	sigkey **keys = NULL;
	size_t n = 0, got;
	FILE *f = fopen(path, "rb");
	bg_err e;

	assert_non_null(f);
	got = fread(text, 1, sizeof(text), f);
	fclose(f);
	assert_int_equal(sigkey_public_list(text, got, &keys, &n, &e), 0);
	sigkey_list_free(keys, n);
	return n;
}

static void test_rotate(void **state)
{
	keyset *ks = NULL;
	const sigkey *next = NULL, *other = NULL;
	char old_id[SIGKEY_ID_HEX + 1], new_id[SIGKEY_ID_HEX + 1];
	bool created = false;
	json_t *list;
	bg_err e;

	(void)state;
	assert_int_equal(keyset_open(kp, np, pp, &created, &ks, &e), 0);
	assert_true(created);
	assert_int_equal(mode_of(kp), 0600);
	assert_int_equal(mode_of(pp), 0600);
	assert_int_equal(count_keys(pp), 1);
	assert_null(keyset_pending(ks));
	snprintf(old_id, sizeof(old_id), "%s", sigkey_id(keyset_current(ks)));

	/* An abandoned rotation leaves nothing. */
	assert_int_equal(keyset_begin(ks, &next, &e), 0);
	assert_int_equal(mode_of(np), 0600);
	assert_int_equal(keyset_begin(ks, &other, &e), BG_EEXISTS);
	keyset_abort(ks);
	assert_int_equal(access(np, F_OK), -1);
	assert_string_equal(sigkey_id(keyset_current(ks)), old_id);

	/* A finished one: the new key is current and on disk, both public keys listed. */
	assert_int_equal(keyset_begin(ks, &next, &e), 0);
	snprintf(new_id, sizeof(new_id), "%s", sigkey_id(next));
	assert_string_not_equal(new_id, old_id);
	assert_int_equal(keyset_commit(ks, &e), 0);
	assert_string_equal(sigkey_id(keyset_current(ks)), new_id);
	assert_int_equal(access(np, F_OK), -1);
	assert_int_equal(mode_of(kp), 0600);
	assert_int_equal(count_keys(pp), 2);
	list = keyset_public_json(ks);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "key_id")),
	                    old_id);
	assert_true(json_is_false(json_object_get(json_array_get(list, 0), "current")));
	assert_true(json_is_true(json_object_get(json_array_get(list, 1), "current")));
	{
		char *t = json_dumps(list, 0);
		assert_non_null(t);
		assert_null(strstr(t, "PRIVATE"));
		free(t);
	}
	json_decref(list);
	keyset_free(ks);

	/* Reopened: the new key, both public keys; a .next left by a crash is pending. */
	assert_int_equal(keyset_open(kp, np, pp, &created, &ks, &e), 0);
	assert_false(created);
	assert_string_equal(sigkey_id(keyset_current(ks)), new_id);
	keyset_free(ks);
	{
		sigkey *k = NULL;
		assert_int_equal(sigkey_load(np, true, &k, &e), 0);
		snprintf(old_id, sizeof(old_id), "%s", sigkey_id(k));
		sigkey_free(k);
	}
	assert_int_equal(keyset_open(kp, np, pp, &created, &ks, &e), 0);
	assert_non_null(keyset_pending(ks));
	assert_string_equal(sigkey_id(keyset_pending(ks)), old_id);
	assert_int_equal(keyset_begin(ks, &next, &e), BG_EEXISTS);
	assert_int_equal(keyset_commit(ks, &e), 0);
	assert_string_equal(sigkey_id(keyset_current(ks)), old_id);
	assert_int_equal(count_keys(pp), 3);
	keyset_free(ks);
}

static void test_public_list(void **state)
{
	sigkey *a = NULL, *b = NULL, **keys = NULL;
	char path[160], text[4096];
	size_t n = 0;
	bg_err e;

	(void)state;
	snprintf(path, sizeof(path), "%s/a.key", dir);
	assert_int_equal(sigkey_load(path, true, &a, &e), 0);
	snprintf(path, sizeof(path), "%s/b.key", dir);
	assert_int_equal(sigkey_load(path, true, &b, &e), 0);
	snprintf(text, sizeof(text), "comment\n%s\nbetween\n%sbye\n", sigkey_public_pem(a),
	         sigkey_public_pem(b));
	assert_int_equal(sigkey_public_list(text, strlen(text), &keys, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(sigkey_id(keys[0]), sigkey_id(a));
	assert_string_equal(sigkey_id(keys[1]), sigkey_id(b));
	sigkey_list_free(keys, n);
	keys = NULL;
	n = 0;
	assert_int_equal(sigkey_public_list("nothing here", 12, &keys, &n, &e), BG_EINVAL);
	snprintf(text, sizeof(text),
	         "%s-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
	         sigkey_public_pem(a));
	assert_int_equal(sigkey_public_list(text, strlen(text), &keys, &n, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "public key 2"));
	sigkey_list_free(keys, n);
	sigkey_free(a);
	sigkey_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rotate),
	    cmocka_unit_test(test_public_list),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
