/*
 * init.c - `breakglass init --data DIR --admin NAME`: creates the data directory
 * (datadir.h), the store, the master key and the first admin, and prints the admin's API
 * token and TOTP secret once.
 *
 * Runs locally on the data directory (the server need not be running). Refuses to touch
 * an existing store, so a mistyped command cannot reset who holds access. The admin is
 * made by the service layer (svc_init_admin), which records it before it exists.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/limits.h"
#include "common/validate.h"
#include "gateway/gateway.h"
#include "store/datadir.h"
#include "store/keyring.h"
#include "store/store.h"
#include "workflow/service.h"

static int usage(void)
{
	fprintf(stderr, "usage: breakglass init --data DIR --admin NAME [--json]\n");
	return 2;
}

static void print_admin(const char *data, const char *admin, const user_secrets *us, int json)
{
	if (json) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "data", data, "admin", admin,
		                      "token", us->token, "totp_secret", us->totp_secret,
		                      "totp_uri", us->totp_uri.data);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		printf("%s\n", s ? s : "{}");
		free(s);
		json_decref(o);
		return;
	}
	printf("Created breakglass store in %s\n\n", data);
	printf("Admin:        %s\n", admin);
	printf("API token:    %s\n", us->token);
	printf("TOTP secret:  %s\n", us->totp_secret);
	printf("TOTP URI:     %s\n\n", us->totp_uri.data);
	printf("Keep the token secret (export BREAKGLASS_TOKEN=...). Add the TOTP secret to an\n"
	       "authenticator app; `oathtool --totp -b SECRET` prints the current code.\n"
	       "These are shown once: the store keeps neither.\n");
}

int gateway_init_main(int argc, char **argv)
{
	const char *data = NULL, *admin = NULL;
	store *st = NULL;
	keyring *kr = NULL;
	audit_log *al = NULL;
	datadir *dd = NULL;
	user_secrets us;
	bg_err e;
	svc sv;
	int json = 0, a, rc = 3;

	memset(&us, 0, sizeof(us));
	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--json") == 0)
			json = 1;
		else if (strcmp(argv[a], "--data") == 0 && a + 1 < argc)
			data = argv[++a];
		else if (strcmp(argv[a], "--admin") == 0 && a + 1 < argc)
			admin = argv[++a];
		else
			return usage();
	}
	if (data == NULL || admin == NULL)
		return usage();
	/* Before anything is created, so a mistyped name leaves no store behind. */
	if (!bg_valid_user_name(admin)) {
		fprintf(stderr, "breakglass init: the admin's name is 1-%d of [A-Za-z0-9._-]\n",
		        BG_MAX_USER_NAME);
		return 2;
	}

	bg_err_clear(&e);
	if (datadir_open(data, true, &dd, &e) != 0) {
		rc = e.code == BG_EINVAL ? 2 : 3;
		goto fail;
	}
	if (store_open(data, true, &st, &e) != 0 ||
	    keyring_load(datadir_path(dd, DATADIR_MASTER_KEY), true, &kr, &e) != 0 ||
	    audit_open(st, &al, &e) != 0)
		goto fail;
	sv.st = st;
	sv.kr = kr;
	sv.audit = al;
	if (svc_init_admin(&sv, admin, &us, &e) != 0) {
		rc = e.code == BG_EINVAL ? 2 : 3;
		goto fail;
	}
	print_admin(data, admin, &us, json);
	rc = 0;
fail:
	if (rc)
		fprintf(stderr, "breakglass init: %s\n", e.msg[0] ? e.msg : "failed");
	user_secrets_free(&us);
	audit_free(al);
	keyring_free(kr);
	store_free(st);
	datadir_free(dd);
	return rc;
}
