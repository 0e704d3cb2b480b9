/*
 * svc_fixture.h - a service layer on a real store, keyring and audit log in a temporary
 * directory, and users made straight in the store: what the service-layer tests
 * (test_service, test_incident, test_request) stand on. Header-only; include it after
 * cmocka.h and unit_util.h.
 */
#ifndef BG_SVC_FIXTURE_H
#define BG_SVC_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "store/keyring.h"
#include "store/store.h"
#include "workflow/service.h"
#include "workflow/user.h"

/* Opens a new store, master key and audit log under a new temporary directory (dir, of
 * cap bytes; the store at dir/data) into *sv, whose other fields are left zero. 0 or -1. */
static inline int ut_svc_open(char *dir, size_t cap, const char *name, svc *sv)
{
	char data[256], key[300];
	store *st = NULL;
	keyring *kr = NULL;
	audit_log *al = NULL;
	bg_err e;

	if (ut_tmpdir(dir, cap, name) != 0)
		return -1;
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(key, sizeof(key), "%s/master.key", data);
	if (store_open(data, true, &st, &e) != 0 || keyring_load(key, true, &kr, &e) != 0 ||
	    audit_open(st, &al, &e) != 0) {
		fprintf(stderr, "ut_svc_open: %s\n", e.msg);
		audit_free(al);
		keyring_free(kr);
		store_free(st);
		return -1;
	}
	memset(sv, 0, sizeof(*sv));
	sv->st = st;
	sv->kr = kr;
	sv->audit = al;
	return 0;
}

/* Closes what ut_svc_open opened and removes dir. */
static inline int ut_svc_close(const char *dir, svc *sv)
{
	audit_free(sv->audit);
	keyring_free((keyring *)sv->kr);
	store_free(sv->st);
	memset(sv, 0, sizeof(*sv));
	return ut_rm_tree(dir);
}

/* A new user (straight into the store) with the roles in role, and the caller they are
 * once authenticated. */
static inline void ut_svc_caller(const svc *sv, const char *name, unsigned role, svc_caller *c)
{
	user_secrets us;
	store_tx *tx;
	bg_err e;

	if (store_begin(sv->st, &tx, &e) != 0 ||
	    store_end(tx, user_create(tx, sv->kr, name, role, &us, &e), &e) != 0)
		fail_msg("user_create %s: %s", name, e.msg);
	assert_int_equal(svc_authenticate(sv, us.token, strlen(us.token), c, &e), 0);
	user_secrets_free(&us);
}

#endif
