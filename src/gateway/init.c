/*
 * init.c - creating a breakglass installation (gateway.h: gateway_init): the data
 * directory (datadir.h), the store, the master key, the audit checkpoints' signing key
 * (sigkey.h) and the first admin.
 *
 * All or nothing. The name is checked before anything is created; a data directory that
 * already holds a store or a master key is refused untouched, so a mistyped command cannot
 * reset who holds access; and when a later step fails, what this run created (files and
 * directories) is removed again, so the next attempt starts from the same place. The
 * admin is made by the service layer (svc_init_admin), which records it before it exists.
 */
#include <string.h>

#include "audit/audit.h"
#include "common/limits.h"
#include "common/validate.h"
#include "gateway/gateway.h"
#include "store/datadir.h"
#include "store/keyring.h"
#include "store/store.h"
#include "workflow/service.h"

int gateway_init(const char *data, const char *admin, user_secrets *us, bg_err *e)
{
	bool made[DATADIR_FILES] = {false};
	store *st = NULL;
	keyring *kr = NULL;
	sigkey *ak = NULL;
	audit_log *al = NULL;
	datadir *dd = NULL;
	svc sv;
	int rc, f;

	memset(us, 0, sizeof(*us));
	/* Before anything is created, so a mistyped name leaves nothing behind. */
	if (!bg_valid_user_name(admin))
		return bg_err_set(
		    e, BG_EINVAL,
		    "the admin's name \"%.64s\" is not valid: a user name is " BG_USER_NAME_RULE,
		    admin);
	rc = datadir_open(data, true, &dd, e);
	if (rc != 0)
		return rc;
	for (f = 0; f < DATADIR_FILES; f++) {
		if (datadir_has(dd, (datadir_file)f)) {
			rc = bg_err_set(e, BG_EEXISTS,
			                "%s already exists: this data directory holds an "
			                "installation (init never overwrites one)",
			                datadir_path(dd, (datadir_file)f));
			goto fail;
		}
	}
	/* Neither file existed a moment ago. Each is created exclusively: unless another init
	 * won that race (BG_EEXISTS: its file, not ours), whatever is there after a failure,
	 * even half written, is this run's to remove. */
	rc = store_open(data, true, &st, e);
	made[DATADIR_DB] = rc != BG_EEXISTS;
	if (rc != 0)
		goto fail;
	rc = keyring_load(datadir_path(dd, DATADIR_MASTER_KEY), true, &kr, e);
	made[DATADIR_MASTER_KEY] = rc != BG_EEXISTS;
	if (rc != 0)
		goto fail;
	rc = sigkey_load(datadir_path(dd, DATADIR_AUDIT_KEY), true, &ak, e);
	made[DATADIR_AUDIT_KEY] = rc != BG_EEXISTS;
	if (rc != 0)
		goto fail;
	rc = audit_open(st, &al, e);
	if (rc != 0)
		goto fail;
	memset(&sv, 0, sizeof(sv));
	sv.st = st;
	sv.kr = kr;
	sv.audit = al;
	rc = svc_init_admin(&sv, admin, us, e);
fail:
	audit_free(al);
	sigkey_free(ak);
	keyring_free(kr);
	store_free(st);
	if (rc != 0) {
		user_secrets_free(us);
		datadir_remove_created(dd, made);
	}
	datadir_free(dd);
	return rc;
}

int gateway_recover(const char *data, const char *admin, user_secrets *us, bg_err *e)
{
	store *st = NULL;
	keyring *kr = NULL;
	audit_log *al = NULL;
	datadir *dd = NULL;
	svc sv;
	int rc;

	memset(us, 0, sizeof(*us));
	rc = datadir_open(data, false, &dd, e);
	if (rc == 0)
		rc = store_open(data, false, &st, e);
	if (rc == 0)
		rc = keyring_load(datadir_path(dd, DATADIR_MASTER_KEY), false, &kr, e);
	if (rc == 0)
		rc = audit_open(st, &al, e);
	if (rc == 0) {
		memset(&sv, 0, sizeof(sv));
		sv.st = st;
		sv.kr = kr;
		sv.audit = al;
		rc = svc_recover_admin(&sv, admin, us, e);
	}
	audit_free(al);
	keyring_free(kr);
	store_free(st);
	datadir_free(dd);
	return rc;
}
