/*
 * init.c - `breakglass init --data DIR --admin NAME`: creates the store, the master key
 * and the first admin, and prints the admin's API token and TOTP secret once.
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
#include "common/buf.h"
#include "common/limits.h"
#include "common/validate.h"
#include "gateway/gateway.h"
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
	user_secrets us;
	bg_buf path;
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
	bg_buf_init(&path, BG_MAX_PATH);
	if (bg_buf_addf(&path, "%s/master.key", data) != 0) {
		bg_err_set(&e, BG_EINVAL, "the data directory's path is too long");
		rc = 2;
		goto fail;
	}
	if (store_open(data, true, &st, &e) != 0 || keyring_load(path.data, true, &kr, &e) != 0 ||
	    audit_open(data, &al, &e) != 0)
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
	bg_buf_free(&path);
	audit_free(al);
	keyring_free(kr);
	store_free(st);
	return rc;
}
