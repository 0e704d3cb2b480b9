/*
 * test_user.c - users: a new user's token authenticates them and nothing else does; the
 * TOTP secret handed out produces codes the server accepts, each code once; bad roles
 * and names are refused; roles are bits parsed from exactly three names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "workflow/totp.h"
#include "workflow/user.h"

static char dir[64];
static store *st;
static keyring *kr;

static int setup(void **state)
{
	char path[128];
	bg_err e;

	if (ut_tmpdir(dir, sizeof(dir), "test-user") != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/data/master.key", dir);
	{
		char data[96];
		snprintf(data, sizeof(data), "%s/data", dir);
		if (store_open(data, true, &st, &e) != 0)
			return -1;
	}
	return keyring_load(path, true, &kr, &e);
}

static int teardown(void **state)
{
	store_free(st);
	keyring_free(kr);
	return ut_rm_tree(dir);
}

/* user_create() in a transaction of its own. */
static int create(const char *name, user_role role, user_secrets *out, bg_err *e)
{
	store_tx *tx;
	int rc = store_begin(st, &tx, e);

	return rc != 0 ? rc : store_end(tx, user_create(tx, kr, name, role, out, e), e);
}

/* Decodes base32 (upper-case, no padding) as oathtool would. */
static size_t unbase32(const char *s, uint8_t *out, size_t cap)
{
	unsigned acc = 0, bits = 0;
	size_t n = 0;

	for (; *s; s++) {
		const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", *p = strchr(a, *s);
		if (p == NULL)
			return 0;
		acc = (acc << 5) | (unsigned)(p - a);
		bits += 5;
		if (bits >= 8 && n < cap) {
			out[n++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return n;
}

static void test_create_and_authenticate(void **state)
{
	user_secrets us;
	store_user u;
	bg_err e;

	assert_int_equal(create("alice", USER_ROLE_RESPONDER, &us, &e), 0);
	assert_memory_equal(us.token, "bgt_", 4);
	assert_non_null(strstr(us.totp_uri.data, us.totp_secret));
	assert_int_equal(user_authenticate(st, us.token, strlen(us.token), &u, &e), 0);
	assert_string_equal(u.name, "alice");
	assert_string_equal(u.role, "responder");
	/* A token one character off, or a prefix of it, is not alice. */
	us.token[10] ^= 1;
	assert_int_equal(user_authenticate(st, us.token, strlen(us.token), &u, &e), BG_EAUTH);
	assert_int_equal(user_authenticate(st, us.token, 20, &u, &e), BG_EAUTH);
	assert_int_equal(user_authenticate(st, "nope", 4, &u, &e), BG_EAUTH);
	user_secrets_free(&us);
	assert_int_equal(create("alice", USER_ROLE_ADMIN, &us, &e), BG_EEXISTS);
	user_secrets_free(&us);
	assert_int_equal(create("bob", USER_ROLE_NONE, &us, &e), BG_EINVAL);
	user_secrets_free(&us);
	/* A user may hold several roles; the store keeps them as one set. */
	assert_int_equal(create("bob", USER_ROLE_ADMIN | USER_ROLE_APPROVER, &us, &e), 0);
	user_secrets_free(&us);
	assert_int_equal(store_user_by_name(st, "bob", &u, &e), 0);
	assert_string_equal(u.role, "admin,approver");
	assert_int_equal(user_role_parse(u.role), USER_ROLE_ADMIN | USER_ROLE_APPROVER);
	assert_int_equal(create("bad name", USER_ROLE_ADMIN, &us, &e), BG_EINVAL);
	user_secrets_free(&us);
}

/* Roles are bits read in one place: the four names, alone or joined by commas. */
static void test_roles(void **state)
{
	store_user u;
	user_secrets us;
	bg_err e;

	assert_int_equal(user_role_parse("admin"), USER_ROLE_ADMIN);
	assert_int_equal(user_role_parse("responder"), USER_ROLE_RESPONDER);
	assert_int_equal(user_role_parse("approver"), USER_ROLE_APPROVER);
	assert_int_equal(user_role_parse("auditor"), USER_ROLE_AUDITOR);
	assert_int_equal(user_role_parse("auditor,admin"), USER_ROLE_AUDITOR | USER_ROLE_ADMIN);
	assert_int_equal(user_role_parse("admin,admin"), USER_ROLE_NONE); /* each once */
	assert_int_equal(user_role_parse("admin,"), USER_ROLE_NONE);
	assert_int_equal(user_role_parse(",admin"), USER_ROLE_NONE);
	assert_int_equal(user_role_parse("admin,root"), USER_ROLE_NONE);
	{
		char text[USER_ROLES_TEXT_MAX];
		assert_string_equal(user_role_text(USER_ROLE_ANY, text),
		                    "admin,responder,approver,auditor");
		assert_string_equal(user_role_text(USER_ROLE_NONE, text), "");
	}
	assert_int_equal(user_role_parse("Admin"), USER_ROLE_NONE);
	assert_int_equal(user_role_parse("admin "), USER_ROLE_NONE);
	assert_int_equal(user_role_parse("adm"), USER_ROLE_NONE);
	assert_int_equal(user_role_parse(""), USER_ROLE_NONE);
	assert_int_equal(user_role_parse(NULL), USER_ROLE_NONE);
	assert_string_equal(user_role_name(USER_ROLE_APPROVER), "approver");
	assert_null(user_role_name(USER_ROLE_NONE));
	assert_null(user_role_name((user_role)(USER_ROLE_ADMIN | USER_ROLE_RESPONDER)));
	/* Distinct bits, all in USER_ROLE_ANY, none zero. */
	assert_int_equal(USER_ROLE_ADMIN & USER_ROLE_RESPONDER, 0);
	assert_int_equal(USER_ROLE_ADMIN & USER_ROLE_APPROVER, 0);
	assert_int_equal(USER_ROLE_RESPONDER & USER_ROLE_APPROVER, 0);
	assert_int_equal(USER_ROLE_ANY & USER_ROLE_ADMIN, USER_ROLE_ADMIN);
	assert_int_equal(USER_ROLE_ANY & USER_ROLE_APPROVER, USER_ROLE_APPROVER);
	/* What the store keeps is the name, and it reads back as the same role. */
	assert_int_equal(create("dave", USER_ROLE_APPROVER, &us, &e), 0);
	assert_int_equal(store_user_by_name(st, "dave", &u, &e), 0);
	assert_int_equal(user_role_parse(u.role), USER_ROLE_APPROVER);
	user_secrets_free(&us);
}

static void test_otp_once(void **state)
{
	user_secrets us;
	store_user u;
	uint8_t key[20];
	char code[7];
	bg_err e;

	assert_int_equal(create("carol", USER_ROLE_ADMIN, &us, &e), 0);
	assert_int_equal(unbase32(us.totp_secret, key, sizeof(key)), 20);
	assert_int_equal(user_authenticate(st, us.token, strlen(us.token), &u, &e), 0);
	assert_int_equal(totp_code(key, bg_now(), code), 0);
	assert_int_equal(user_check_otp(st, kr, &u, code, &e), 0);
	assert_int_equal(user_check_otp(st, kr, &u, code, &e), BG_EAUTH);
	assert_non_null(strstr(e.msg, "already used"));
	/* The previous step is older than the one used: refused too. */
	assert_int_equal(totp_code(key, bg_now() - 30, code), 0);
	assert_int_not_equal(user_check_otp(st, kr, &u, code, &e), 0);
	assert_int_equal(totp_code(key, bg_now() + 30, code), 0);
	assert_int_equal(user_check_otp(st, kr, &u, code, &e), 0);
	assert_int_equal(user_check_otp(st, kr, &u, "12345", &e), BG_EOTP);
	assert_int_equal(user_check_otp(st, kr, &u, "", &e), BG_EOTP);
	assert_int_equal(user_check_otp(st, kr, &u, NULL, &e), BG_EOTP);
	assert_int_equal(user_check_otp(st, kr, &u, "000000", &e) != 0, 1);
	user_secrets_free(&us);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_and_authenticate),
	    cmocka_unit_test(test_otp_once),
	    cmocka_unit_test(test_roles),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
