/*
 * test_service.c - the service layer against a real store, master key and audit log in a
 * temporary directory: callers recognised by token with their role parsed; input
 * validated before the TOTP step-up, so a refused request costs no code and leaves no
 * record; the step-up taken when the caller's action needs it (missing, malformed,
 * wrong and reused codes refused, a verified code spent even when the action fails);
 * each state change and its audit record committed in one transaction: a record that
 * cannot be written rolls the change back, a change that fails leaves no record, and
 * both are visible to another connection once the action returns; grants visible to
 * their grantee and to admins only, credentials for the grantee of a live grant only;
 * the first admin made by init; the audit page's bounds; a new grant's tables checked
 * through a fake of the gateway's check, with warnings, never refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/limits.h"
#include "policy/policy.h"
#include "workflow/notify.h"
#include "workflow/service.h"
#include "workflow/totp.h"

static char dir[64];
static char dbpath[128];
static svc sv;
static store *st;
static keyring *kr;
static audit_log *al;

static int setup(void **state)
{
	char data[96], key[128];
	bg_err e;

	if (ut_tmpdir(dir, sizeof(dir), "test-service") != 0)
		return -1;
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(key, sizeof(key), "%s/master.key", data);
	snprintf(dbpath, sizeof(dbpath), "%s/breakglass.db", data);
	if (store_open(data, true, &st, &e) != 0 || keyring_load(key, true, &kr, &e) != 0 ||
	    audit_open(st, &al, &e) != 0) {
		fprintf(stderr, "setup: %s\n", e.msg);
		return -1;
	}
	sv.st = st;
	sv.kr = kr;
	sv.audit = al;
	return 0;
}

static int teardown(void **state)
{
	audit_free(al);
	keyring_free(kr);
	store_free(st);
	return ut_rm_tree(dir);
}

/* A new user (straight into the store) and the caller they are once authenticated. */
static void new_caller(const char *name, user_role role, svc_caller *c)
{
	user_secrets us;
	store_tx *tx;
	bg_err e;

	if (store_begin(st, &tx, &e) != 0 ||
	    store_end(tx, user_create(tx, kr, name, role, &us, &e), &e) != 0)
		fail_msg("user_create %s: %s", name, e.msg);
	assert_int_equal(svc_authenticate(&sv, us.token, strlen(us.token), c, &e), 0);
	user_secrets_free(&us);
}

/* The secrets handed out for a new user log in as that user, with that role; frees them. */
static void expect_login(user_secrets *us, const char *name, user_role role)
{
	svc_caller who;
	bg_err e;

	assert_int_equal(svc_authenticate(&sv, us->token, strlen(us->token), &who, &e), 0);
	assert_string_equal(who.user.name, name);
	assert_int_equal(who.role, role);
	assert_non_null(strstr(us->totp_uri.data, us->totp_secret));
	user_secrets_free(us);
}

/* c's TOTP code for the step `delta` seconds from now, in code. */
static const char *code_at(const svc_caller *c, int64_t delta, char code[7])
{
	uint8_t key[TOTP_KEY_LEN];

	totp_key(kr, c->user.totp_seed, key);
	assert_int_equal(totp_code(key, bg_now() + delta, code), 0);
	return code;
}

/* A caller acting on an action that needs a step-up, with code otp (may be NULL). */
static void step_up(svc_caller *c, const char *otp)
{
	c->needs_step_up = true;
	c->stepped_up = false;
	c->otp = otp;
}

struct last {
	int64_t count;
	json_t *rec; /* the newest record, a new reference */
};

static int last_cb(void *ctx, json_t *rec)
{
	struct last *l = ctx;

	l->count++;
	json_decref(l->rec);
	l->rec = json_incref(rec);
	return 0;
}

/* How many audit records there are; the newest into *rec (caller decrefs) if wanted. */
static int64_t audit_count(json_t **rec)
{
	struct last l = {0, NULL};
	bg_err e;

	assert_int_equal(audit_read(al, 0, 0, last_cb, &l, &e), 0);
	if (rec != NULL)
		*rec = l.rec;
	else
		json_decref(l.rec);
	return l.count;
}

static const char *rec_str(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

/* Asserts that the log holds count records, the newest an allowed action of kind by
 * actor on grant_id (NULL: none), and returns that record (the caller decrefs). */
static json_t *newest_record(int64_t count, const char *kind, const char *actor,
                             const char *grant_id)
{
	json_t *rec = NULL;

	assert_int_equal(audit_count(&rec), count);
	assert_string_equal(rec_str(rec, "kind"), kind);
	assert_string_equal(rec_str(rec, "op"), kind);
	assert_string_equal(rec_str(rec, "actor"), actor);
	assert_string_equal(rec_str(rec, "decision"), "allow");
	if (grant_id != NULL)
		assert_string_equal(rec_str(rec, "grant_id"), grant_id);
	else
		assert_true(json_is_null(json_object_get(rec, "grant_id")));
	return rec;
}

static bool user_exists(const char *name)
{
	store_user u;
	bg_err e;

	return store_user_by_name(st, name, &u, &e) == 0;
}

static void test_authenticate_and_roles(void **state)
{
	svc_caller c;
	uint8_t hash[32], seed[16] = {1};
	const char weird[] = "bgt_a-token-whose-user-has-an-odd-role";
	store_tx *tx;
	bg_err e;

	new_caller("ann", USER_ROLE_RESPONDER, &c);
	assert_string_equal(c.user.name, "ann");
	assert_int_equal(c.role, USER_ROLE_RESPONDER);
	assert_false(c.needs_step_up);
	assert_null(c.otp);
	assert_true(svc_has_role(&c, USER_ROLE_ANY));
	assert_true(svc_has_role(&c, USER_ROLE_ADMIN | USER_ROLE_RESPONDER));
	assert_false(svc_has_role(&c, USER_ROLE_ADMIN));
	assert_false(svc_has_role(&c, USER_ROLE_ADMIN | USER_ROLE_APPROVER));
	assert_false(svc_has_role(&c, USER_ROLE_NONE));

	assert_int_equal(svc_authenticate(&sv, "bgt_nope", 8, &c, &e), BG_EAUTH);
	/* A stored role nobody knows grants nothing: the caller is not recognised. */
	bg_sha256(weird, strlen(weird), hash);
	assert_int_equal(store_begin(st, &tx, &e), 0);
	assert_int_equal(store_end(tx, store_user_add(tx, "odd", "root", hash, seed, &e), &e), 0);
	assert_int_equal(svc_authenticate(&sv, weird, strlen(weird), &c, &e), BG_EAUTH);
}

static void test_user_add(void **state)
{
	svc_caller adm, again;
	user_secrets us;
	json_t *rec = NULL, *d;
	char code[7], wrong[7];
	int64_t n;
	bg_err e;

	new_caller("ua-admin", USER_ROLE_ADMIN, &adm);
	n = audit_count(NULL);

	/* Refused before the step-up: no code spent, nothing recorded, nobody made. */
	step_up(&adm, code_at(&adm, 0, code));
	assert_int_equal(svc_user_add(&sv, &adm, "bob", "root", &us, &e), BG_EINVAL);
	user_secrets_free(&us);
	assert_int_equal(svc_user_add(&sv, &adm, "bob", "Admin", &us, &e), BG_EINVAL);
	user_secrets_free(&us);
	assert_int_equal(svc_user_add(&sv, &adm, "bob smith", "responder", &us, &e), BG_EINVAL);
	user_secrets_free(&us);
	assert_int_equal(svc_user_add(&sv, &adm, NULL, "responder", &us, &e), BG_EINVAL);
	user_secrets_free(&us);
	assert_false(adm.stepped_up);
	assert_false(user_exists("bob"));
	assert_int_equal(audit_count(NULL), n);

	/* Step-up codes: missing, malformed, wrong. */
	step_up(&adm, NULL);
	assert_int_equal(svc_user_add(&sv, &adm, "bob", "approver", &us, &e), BG_EOTP);
	user_secrets_free(&us);
	step_up(&adm, "12ab56");
	assert_int_equal(svc_user_add(&sv, &adm, "bob", "approver", &us, &e), BG_EOTP);
	user_secrets_free(&us);
	memcpy(wrong, code, sizeof(wrong));
	wrong[0] = code[0] == '9' ? '0' : (char)(code[0] + 1);
	step_up(&adm, wrong);
	assert_int_equal(svc_user_add(&sv, &adm, "bob", "approver", &us, &e), BG_EAUTH);
	user_secrets_free(&us);
	assert_false(user_exists("bob"));
	/* Each refused step-up is on the record (kind "otp", a denial); nothing else is. */
	assert_int_equal(audit_count(&rec), n + 3);
	assert_string_equal(rec_str(rec, "kind"), "otp");
	assert_string_equal(rec_str(rec, "decision"), "deny");
	assert_string_equal(rec_str(rec, "reason"), "wrong TOTP code");
	json_decref(rec);
	n += 3;

	/* The code the refusals did not spend still works, once. */
	step_up(&adm, code);
	assert_int_equal(svc_user_add(&sv, &adm, "bob", "approver", &us, &e), 0);
	assert_true(adm.stepped_up);
	expect_login(&us, "bob", USER_ROLE_APPROVER);
	rec = newest_record(n + 1, "user", "ua-admin", NULL);
	d = json_object_get(rec, "detail");
	assert_string_equal(rec_str(d, "name"), "bob");
	assert_string_equal(rec_str(d, "role"), "approver");
	json_decref(rec);

	again = adm;
	step_up(&again, code);
	assert_int_equal(svc_user_add(&sv, &again, "carl", "responder", &us, &e), BG_EAUTH);
	assert_non_null(strstr(e.msg, "already used"));
	user_secrets_free(&us);
	assert_false(user_exists("carl"));
	n++; /* the reused code's refusal is on the record */

	/* A name that is taken: refused before the step-up, like any bad argument, so the
	 * code is not spent (and, nothing having been tried, there is no record). */
	step_up(&adm, code_at(&adm, 30, code));
	assert_int_equal(svc_user_add(&sv, &adm, "bob", "responder", &us, &e), BG_EEXISTS);
	assert_non_null(strstr(e.msg, "already exists"));
	assert_false(adm.stepped_up);
	assert_int_equal(us.token[0], '\0');
	user_secrets_free(&us);
	assert_int_equal(audit_count(NULL), n + 1);
	assert_int_equal(svc_user_add(&sv, &adm, "bob2", "responder", &us, &e), 0);
	user_secrets_free(&us);
	assert_true(user_exists("bob2"));
	/* That code is now spent. */
	step_up(&adm, code_at(&adm, 30, code));
	assert_int_equal(svc_user_add(&sv, &adm, "bob3", "responder", &us, &e), BG_EAUTH);
	user_secrets_free(&us);
	assert_false(user_exists("bob3"));
}

/* Fills in with a valid request for user's access to Orders (Query, GetItem). */
static void grant_input(svc_grant_input *in, const char *user, const char *const *tables,
                        const char *const *ops)
{
	memset(in, 0, sizeof(*in));
	in->user = user;
	in->tables = tables;
	in->n_tables = 1;
	in->ops = ops;
	in->n_ops = 2;
	in->duration_seconds = 900;
	in->reason = "INC-7: orders stuck";
}

static void test_grant_create(void **state)
{
	static const char *const tables[] = {"Orders"}, *const ops[] = {"Query", "GetItem"};
	static const char *const partiql[] = {"ExecuteStatement"}, *const unknown[] = {"Frob"};
	static const char *const bad_table[] = {"Or ders"}, *const none[] = {NULL};
	const char *many[BG_MAX_GRANT_TABLES + 1];
	char code[7], longname[BG_MAX_TABLE_NAME + 2], reason[BG_MAX_REASON + 2];
	svc_caller adm, resp;
	svc_grant_input in;
	store_grant *g = calloc(1, sizeof(*g)), *got = calloc(1, sizeof(*got));
	json_t *rec = NULL, *d;
	int64_t n, now = bg_now();
	size_t i;
	bg_err e;

	assert_non_null(g);
	assert_non_null(got);
	new_caller("gc-admin", USER_ROLE_ADMIN, &adm);
	new_caller("gc-resp", USER_ROLE_RESPONDER, &resp);
	n = audit_count(NULL);
	step_up(&adm, code_at(&adm, 0, code));

	/* Every refusal of the input comes before the step-up and the record. */
	grant_input(&in, "nobody", tables, ops);
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_ENOTFOUND);
	grant_input(&in, NULL, tables, ops);
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	grant_input(&in, "gc-resp", tables, ops);
	in.n_tables = 0;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	/* A direct grant says why, is never the admin's own, and the policy may forbid it. */
	grant_input(&in, "gc-resp", tables, ops);
	in.reason = NULL;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "needs a reason"));
	in.reason = "two\nlines";
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	grant_input(&in, "gc-admin", tables, ops);
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EDENIED);
	assert_non_null(strstr(e.msg, "cannot grant themself"));
	grant_input(&in, "gc-resp", tables, ops);
	sv.direct_grants_denied = true;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EDENIED);
	assert_non_null(strstr(e.msg, "direct_grants: deny"));
	sv.direct_grants_denied = false;
	for (i = 0; i <= BG_MAX_GRANT_TABLES; i++)
		many[i] = "Orders";
	in.tables = many;
	in.n_tables = BG_MAX_GRANT_TABLES + 1;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	in.tables = none;
	in.n_tables = 1;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	in.tables = bad_table;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	memset(longname, 'T', BG_MAX_TABLE_NAME + 1);
	longname[BG_MAX_TABLE_NAME + 1] = '\0';
	many[0] = longname;
	in.tables = many;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	grant_input(&in, "gc-resp", tables, partiql);
	in.n_ops = 1;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "cannot be granted"));
	in.ops = unknown;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	in.n_ops = 0;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	grant_input(&in, "gc-resp", tables, ops);
	in.duration_seconds = 0;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	in.duration_seconds = BG_MAX_GRANT_SECONDS + 1;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	/* Checked before it is added to the clock (UBSan would catch the overflow). */
	in.duration_seconds = INT64_MAX;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	in.duration_seconds = -1;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	in.duration_seconds = 900;
	memset(reason, 'r', BG_MAX_REASON + 1);
	reason[BG_MAX_REASON + 1] = '\0';
	in.reason = reason;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EINVAL);
	assert_false(adm.stepped_up);
	assert_int_equal(audit_count(NULL), n);

	/* Valid input without the code it needs. */
	grant_input(&in, "gc-resp", tables, ops);
	step_up(&adm, NULL);
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), BG_EOTP);
	assert_int_equal(audit_count(NULL), n + 1); /* the refused step-up, recorded */
	n++;

	step_up(&adm, code);
	in.duration_seconds = BG_MAX_GRANT_SECONDS;
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, NULL, &e), 0);
	assert_int_equal(store_grant_by_id(st, g->id, got, &e), 0);
	assert_string_equal(got->user, "gc-resp");
	assert_string_equal(got->created_by, "gc-admin");
	assert_string_equal(got->kind, "direct");
	assert_string_equal(got->reason, "INC-7: orders stuck");
	assert_int_equal(got->n_tables, 1);
	assert_string_equal(got->tables[0], "Orders");
	assert_int_equal(got->n_ops, 2);
	assert_true(got->expires_at - got->created_at == BG_MAX_GRANT_SECONDS);
	assert_true(got->created_at >= now && got->created_at <= bg_now());
	assert_int_equal(grant_status(got, bg_now()), GRANT_ACTIVE);

	rec = newest_record(n + 1, "grant", "gc-admin", g->id);
	assert_string_equal(rec_str(rec, "reason"), "INC-7: orders stuck");
	d = json_object_get(rec, "detail");
	assert_string_equal(rec_str(d, "id"), g->id);
	assert_string_equal(rec_str(d, "user"), "gc-resp");
	assert_string_equal(rec_str(d, "status"), "active");
	assert_string_equal(rec_str(d, "access_key_id"), g->access_key_id);
	assert_int_equal(json_array_size(json_object_get(d, "ops")), 2);
	json_decref(rec);
	free(g);
	free(got);
}

/* A fake of the gateway's table check: Orders exists, Secret cannot be checked, any
 * other table does not exist, and nothing answers while down is set. Counts questions. */
struct fake_tables {
	bool down;
	int asked;
};

static svc_table_state fake_check(void *ctx, const char *table, char *why, size_t n)
{
	struct fake_tables *f = ctx;

	f->asked++;
	if (f->down) {
		snprintf(why, n, "DescribeTable: Connection refused");
		return SVC_TABLE_UNREACHED;
	}
	if (strcmp(table, "Orders") == 0)
		return SVC_TABLE_EXISTS;
	if (strcmp(table, "Secret") == 0) {
		snprintf(why, n, "DescribeTable: HTTP 400 AccessDeniedException");
		return SVC_TABLE_UNKNOWN;
	}
	snprintf(why, n, "DescribeTable: ResourceNotFoundException");
	return SVC_TABLE_MISSING;
}

static const char *warning(json_t *w, size_t i)
{
	return json_string_value(json_array_get(w, i));
}

/* A new grant's tables are checked once its input and step-up are good; a missing or
 * uncheckable table is a warning in the answer and in the grant's record, never a
 * refusal. */
static void test_grant_table_checks(void **state)
{
	static const char *const tables[] = {"Orders", "NoSuchTable", "Secret"};
	static const char *const ops[] = {"Query", "GetItem"};
	struct fake_tables f = {false, 0};
	svc_tables check = {fake_check, &f};
	svc_caller adm, resp;
	svc_grant_input in;
	store_grant *g = calloc(1, sizeof(*g));
	json_t *w = NULL, *rec;
	char code[7];
	int64_t n;
	bg_err e;

	assert_non_null(g);
	new_caller("tc-admin", USER_ROLE_ADMIN, &adm);
	new_caller("tc-resp", USER_ROLE_RESPONDER, &resp);
	sv.tables = &check;

	/* Refused input, or no code: nobody is asked, nothing is answered. */
	grant_input(&in, "tc-resp", tables, ops);
	in.n_tables = 3;
	in.duration_seconds = 0;
	step_up(&adm, code_at(&adm, -30, code));
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, &w, &e), BG_EINVAL);
	in.duration_seconds = 900;
	step_up(&adm, NULL);
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, &w, &e), BG_EOTP);
	assert_int_equal(f.asked, 0);
	assert_null(w);

	/* A missing table and one that cannot be checked: warnings, and the grant. */
	n = audit_count(NULL);
	step_up(&adm, code_at(&adm, -30, code));
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, &w, &e), 0);
	assert_int_equal(f.asked, 3);
	assert_int_equal(json_array_size(w), 2);
	assert_string_equal(warning(w, 0), "table NoSuchTable does not exist at the upstream "
	                                   "(DescribeTable: ResourceNotFoundException); check "
	                                   "the name");
	assert_string_equal(warning(w, 1), "could not check that table Secret exists at the "
	                                   "upstream (DescribeTable: HTTP 400 "
	                                   "AccessDeniedException)");
	rec = newest_record(n + 1, "grant", "tc-admin", g->id);
	assert_true(json_equal(json_object_get(json_object_get(rec, "detail"), "warnings"), w));
	json_decref(rec);
	json_decref(w);

	/* The upstream does not answer: said once, the other tables not asked. */
	f.down = true;
	f.asked = 0;
	step_up(&adm, code_at(&adm, 0, code));
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, &w, &e), 0);
	assert_int_equal(f.asked, 1);
	assert_int_equal(json_array_size(w), 1);
	assert_string_equal(warning(w, 0), "could not check that table Orders exists: the "
	                                   "upstream did not answer (DescribeTable: Connection "
	                                   "refused); the other tables were not checked");
	json_decref(w);

	/* Every table exists: an empty list, and no warnings in the record. */
	f.down = false;
	in.n_tables = 1;
	n = audit_count(NULL);
	step_up(&adm, code_at(&adm, 30, code));
	assert_int_equal(svc_grant_create(&sv, &adm, &in, g, &w, &e), 0);
	assert_non_null(w);
	assert_int_equal(json_array_size(w), 0);
	rec = newest_record(n + 1, "grant", "tc-admin", g->id);
	assert_null(json_object_get(json_object_get(rec, "detail"), "warnings"));
	json_decref(rec);
	json_decref(w);
	sv.tables = NULL;
	free(g);
}

/* A live grant for grantee (made by admin adm with its code at delta), into g. */
static void make_grant(svc_caller *adm, int64_t delta, const char *grantee, store_grant *g)
{
	static const char *const tables[] = {"Orders"}, *const ops[] = {"Query", "GetItem"};
	svc_grant_input in;
	char code[7];
	bg_err e;

	grant_input(&in, grantee, tables, ops);
	step_up(adm, code_at(adm, delta, code));
	if (svc_grant_create(&sv, adm, &in, g, NULL, &e) != 0)
		fail_msg("svc_grant_create: %s", e.msg);
}

/* The cast of a grant test: an admin, the grantee of a live grant the admin made, and
 * another responder; names start with prefix, apart from other tests'. */
struct cast {
	svc_caller adm, mine, other;
	store_grant *g, *got; /* the grant; room for what the service answers */
};

static void cast_new(struct cast *c, const char *prefix)
{
	char name[BG_MAX_USER_NAME + 1];

	c->g = calloc(1, sizeof(*c->g));
	c->got = calloc(1, sizeof(*c->got));
	assert_non_null(c->g);
	assert_non_null(c->got);
	snprintf(name, sizeof(name), "%s-admin", prefix);
	new_caller(name, USER_ROLE_ADMIN, &c->adm);
	snprintf(name, sizeof(name), "%s-other", prefix);
	new_caller(name, USER_ROLE_RESPONDER, &c->other);
	snprintf(name, sizeof(name), "%s-mine", prefix);
	new_caller(name, USER_ROLE_RESPONDER, &c->mine);
	make_grant(&c->adm, 0, name, c->g);
}

static void cast_free(struct cast *c)
{
	free(c->g);
	free(c->got);
}

static int count_cb(void *ctx, const store_grant *g)
{
	(*(int *)ctx)++;
	return 0;
}

static void test_grant_visibility_and_revoke(void **state)
{
	struct cast c;
	svc_caller *adm = &c.adm, *mine = &c.mine, *other = &c.other;
	store_grant *g, *got;
	json_t *rec = NULL;
	int64_t n;
	int seen;
	bg_err e;

	cast_new(&c, "gv");
	g = c.g;
	got = c.got;

	assert_int_equal(svc_grant_get(&sv, mine, g->id, got, &e), 0);
	assert_int_equal(svc_grant_get(&sv, adm, g->id, got, &e), 0);
	/* Someone else's grant does not exist, as far as they can tell. */
	assert_int_equal(svc_grant_get(&sv, other, g->id, got, &e), BG_ENOTFOUND);
	assert_int_equal(svc_grant_get(&sv, other, "bg-nosuchgrant", got, &e), BG_ENOTFOUND);
	seen = 0;
	assert_int_equal(svc_grant_list(&sv, other, count_cb, &seen, &e), 0);
	assert_int_equal(seen, 0);
	seen = 0;
	assert_int_equal(svc_grant_list(&sv, mine, count_cb, &seen, &e), 0);
	assert_int_equal(seen, 1);
	seen = 0;
	assert_int_equal(svc_grant_list(&sv, adm, count_cb, &seen, &e), 0);
	assert_true(seen >= 1);

	n = audit_count(NULL);
	assert_int_equal(svc_grant_revoke(&sv, other, g->id, got, &e), BG_ENOTFOUND);
	assert_int_equal(audit_count(NULL), n);
	assert_int_equal(store_grant_by_id(st, g->id, got, &e), 0);
	assert_int_equal(grant_status(got, bg_now()), GRANT_ACTIVE);

	/* The grantee may give it up; the record comes with it. */
	assert_int_equal(svc_grant_revoke(&sv, mine, g->id, got, &e), 0);
	assert_int_equal(grant_status(got, bg_now()), GRANT_REVOKED);
	assert_string_equal(got->revoked_by, "gv-mine");
	rec = newest_record(n + 1, "revoke", "gv-mine", g->id);
	json_decref(rec);
	/* Again, by an admin: recorded, and the first revocation stands. */
	assert_int_equal(svc_grant_revoke(&sv, adm, g->id, got, &e), 0);
	assert_string_equal(got->revoked_by, "gv-mine");
	assert_int_equal(audit_count(NULL), n + 2);
	cast_free(&c);
}

static void test_creds(void **state)
{
	struct cast c;
	svc_caller *adm = &c.adm, *mine = &c.mine;
	store_grant *g, *got;
	grant_creds cr;
	char secret[GRANT_SECRET_LEN + 1], *text;
	uint8_t hash[32];
	json_t *rec = NULL;
	int64_t n;
	bg_err e;

	cast_new(&c, "cr");
	g = c.g;
	got = c.got;
	n = audit_count(NULL);

	/* An admin who grants must not also hold the keys. */
	assert_int_equal(svc_grant_creds(&sv, adm, g->id, got, &cr, &e), BG_EDENIED);
	assert_int_equal(cr.secret_access_key[0], '\0');
	assert_int_equal(audit_count(NULL), n);

	assert_int_equal(svc_grant_creds(&sv, mine, g->id, got, &cr, &e), 0);
	assert_string_equal(cr.access_key_id, g->access_key_id);
	grant_secret(kr, g->access_key_id, secret);
	assert_string_equal(cr.secret_access_key, secret);
	bg_sha256(cr.session_token, strlen(cr.session_token), hash);
	assert_memory_equal(hash, g->session_token_hash, 32);
	rec = newest_record(n + 1, "creds", "cr-mine", g->id);
	/* The record says who fetched them, never what they are. */
	text = json_dumps(rec, 0);
	assert_non_null(text);
	assert_null(strstr(text, secret));
	assert_null(strstr(text, cr.session_token));
	free(text);
	json_decref(rec);

	/* Not once the grant is revoked. */
	assert_int_equal(svc_grant_revoke(&sv, mine, g->id, got, &e), 0);
	assert_int_equal(svc_grant_creds(&sv, mine, g->id, got, &cr, &e), BG_EDENIED);
	assert_non_null(strstr(e.msg, "no longer active"));
	cast_free(&c);
}

/* A store made to refuse something, and who acts on it: the cast of a grant test and an
 * admin with both of this step's codes unspent (the cast's admin made the grant). */
struct breakage {
	struct cast c;
	svc_caller adm;
	int64_t n; /* audit records before */
	char new_user[BG_MAX_USER_NAME + 1];
};

/* Breaks the store with sql, then adds a user, creates a grant and revokes the cast's
 * grant: each fails with want. */
static void try_while_broken(struct breakage *b, const char *prefix, const char *sql, int want)
{
	static const char *const tables[] = {"Orders"}, *const ops[] = {"Query", "GetItem"};
	char name[BG_MAX_USER_NAME + 1], code[7];
	svc_grant_input in;
	user_secrets us;
	bg_err e;

	cast_new(&b->c, prefix);
	snprintf(name, sizeof(name), "%s-admin2", prefix);
	new_caller(name, USER_ROLE_ADMIN, &b->adm);
	snprintf(b->new_user, sizeof(b->new_user), "%s-new", prefix);
	b->n = audit_count(NULL);

	ut_sql(dbpath, sql);
	step_up(&b->adm, code_at(&b->adm, 0, code));
	assert_int_equal(svc_user_add(&sv, &b->adm, b->new_user, "responder", &us, &e), want);
	assert_int_equal(us.token[0], '\0'); /* nothing handed out for a user not made */
	user_secrets_free(&us);
	grant_input(&in, b->c.mine.user.name, tables, ops);
	step_up(&b->adm, code_at(&b->adm, 30, code));
	assert_int_equal(svc_grant_create(&sv, &b->adm, &in, b->c.got, NULL, &e), want);
	assert_int_equal(svc_grant_revoke(&sv, &b->c.mine, b->c.g->id, b->c.got, &e), want);
}

/* Mends the store with sql and checks that nothing of the failed actions is left: no
 * user, no new grant, the cast's grant still live, the chain intact with `records` new
 * records (refusals of the attempts, when the audit log itself worked). */
static void nothing_changed(struct breakage *b, const char *sql, int64_t records)
{
	int64_t count = 0, bad = -1;
	int seen = 0;
	bg_err e;

	ut_sql(dbpath, sql);
	assert_int_equal(audit_count(NULL), b->n + records);
	assert_int_equal(audit_verify(al, &count, &bad, &e), 0);
	assert_int_equal(count, b->n + records);
	assert_false(user_exists(b->new_user));
	assert_int_equal(store_grant_by_id(st, b->c.g->id, b->c.got, &e), 0);
	assert_int_equal(grant_status(b->c.got, bg_now()), GRANT_ACTIVE);
	assert_int_equal(svc_grant_list(&sv, &b->c.mine, count_cb, &seen, &e), 0);
	assert_int_equal(seen, 1);
}

/* The change and its record commit together: when the record cannot be written, the
 * change made before it in the same transaction is rolled back. */
static void test_no_record_no_change(void **state)
{
	struct breakage b;
	grant_creds cr;
	bg_err e;

	try_while_broken(&b, "nr",
	                 "CREATE TRIGGER audit_broken BEFORE INSERT ON audit "
	                 "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
	                 BG_EAUDIT);
	/* An action that changes nothing is not done either. */
	assert_int_equal(svc_grant_creds(&sv, &b.c.mine, b.c.g->id, b.c.got, &cr, &e), BG_EAUDIT);
	assert_non_null(strstr(e.msg, "not done"));
	assert_int_equal(cr.secret_access_key[0], '\0');
	assert_int_equal(cr.session_token[0], '\0');
	nothing_changed(&b, "DROP TRIGGER audit_broken;", 0);
	cast_free(&b.c);
}

/* A change that fails leaves no record of a change, only the refusal of the attempt, and
 * the chain goes on without a gap. */
static void test_failed_change_no_record(void **state)
{
	struct breakage b;
	json_t *rec = NULL;
	bg_err e;

	try_while_broken(&b, "fc",
	                 "CREATE TRIGGER users_broken BEFORE INSERT ON users "
	                 "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;"
	                 "CREATE TRIGGER grants_broken BEFORE INSERT ON grants "
	                 "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;"
	                 "CREATE TRIGGER revoke_broken BEFORE UPDATE ON grants "
	                 "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
	                 BG_EIO);
	nothing_changed(&b,
	                "DROP TRIGGER users_broken; DROP TRIGGER grants_broken; "
	                "DROP TRIGGER revoke_broken;",
	                3);
	assert_int_equal(audit_count(&rec), b.n + 3);
	assert_string_equal(rec_str(rec, "kind"), "revoke");
	assert_string_equal(rec_str(rec, "actor"), "fc-mine");
	assert_string_equal(rec_str(rec, "decision"), "deny");
	assert_non_null(strstr(rec_str(rec, "reason"), "disk on fire"));
	json_decref(rec);

	/* Once the store takes changes again, so does the chain, with the next seq. */
	assert_int_equal(svc_grant_revoke(&sv, &b.c.mine, b.c.g->id, b.c.got, &e), 0);
	rec = newest_record(b.n + 4, "revoke", "fc-mine", b.c.g->id);
	assert_int_equal(json_integer_value(json_object_get(rec, "seq")), b.n + 4);
	assert_string_equal(json_string_value(json_object_get(rec, "decision")), "allow");
	json_decref(rec);
	cast_free(&b.c);
}

static int64_t sql_count(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt *q;
	int64_t n = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

/* Done means committed: once an action returns, another connection (another process, a
 * second gateway) sees its change and its record. */
static void test_done_means_committed(void **state)
{
	struct cast c;
	sqlite3 *db;

	cast_new(&c, "dc");
	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sql_count(db, "SELECT count(*) FROM grants WHERE id = ?1", c.g->id), 1);
	assert_int_equal(sql_count(db,
	                           "SELECT count(*) FROM audit WHERE kind = 'grant' AND "
	                           "grant_id = ?1",
	                           c.g->id),
	                 1);
	sqlite3_close(db);
	cast_free(&c);
}

static void test_init_admin(void **state)
{
	user_secrets us;
	json_t *rec = NULL, *d;
	int64_t n = audit_count(NULL);
	bg_err e;

	assert_int_equal(svc_init_admin(&sv, "first admin", &us, &e), BG_EINVAL);
	user_secrets_free(&us);
	assert_int_equal(audit_count(NULL), n);

	assert_int_equal(svc_init_admin(&sv, "root-admin", &us, &e), 0);
	expect_login(&us, "root-admin", USER_ROLE_ADMIN);
	rec = newest_record(n + 1, "init", "root-admin", NULL);
	d = json_object_get(rec, "detail");
	assert_string_equal(rec_str(d, "admin"), "root-admin");
	assert_string_equal(rec_str(d, "role"), "admin");
	json_decref(rec);
}

static int page_cb(void *ctx, json_t *rec)
{
	(*(int64_t *)ctx)++;
	return 0;
}

static void test_audit_page(void **state)
{
	int64_t got = 0;
	bg_err e;

	assert_true(audit_count(NULL) >= 2);
	assert_int_equal(svc_audit_read(&sv, -1, 10, page_cb, &got, &e), BG_EINVAL);
	assert_int_equal(svc_audit_read(&sv, 0, 0, page_cb, &got, &e), BG_EINVAL);
	assert_int_equal(svc_audit_read(&sv, 0, BG_MAX_AUDIT_PAGE + 1, page_cb, &got, &e),
	                 BG_EINVAL);
	assert_int_equal(got, 0);
	assert_int_equal(svc_audit_read(&sv, 0, 1, page_cb, &got, &e), 0);
	assert_int_equal(got, 1);
	got = 0;
	assert_int_equal(svc_audit_read(&sv, 0, BG_MAX_AUDIT_PAGE, page_cb, &got, &e), 0);
	assert_int_equal(got, audit_count(NULL));
}

/* Notifications are queued in the transaction of the change they describe: one row per
 * target that takes the event, none when the change is not made; the sender is woken; the
 * expiry sweep notices an expired grant once. */
static int wakes;

static void count_wake(void *ctx)
{
	(void)ctx;
	wakes++;
}

static int64_t outbox_count(const char *event)
{
	sqlite3 *db;
	int64_t n;

	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	n = sql_count(db, "SELECT count(*) FROM outbox WHERE event = ?1", event);
	sqlite3_close(db);
	return n;
}

/* Notifications of event about the request or grant id. */
static int64_t outbox_about(const char *id)
{
	sqlite3 *db;
	int64_t n;

	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	n = sql_count(
	    db, "SELECT count(*) FROM outbox WHERE event = 'expiry' AND instr(payload, ?1)", id);
	sqlite3_close(db);
	return n;
}

static void test_notify_queued_with_change(void **state)
{
	static const svc_notify_target targets[] = {{"all", POLICY_EV_ALL},
	                                            {"grants", POLICY_EV_GRANT}};
	svc_notify nt = {targets, 2, "http://gw.example", count_wake, NULL};
	svc_caller adm2;
	struct cast c;
	size_t n;
	store_grant *g;
	json_t *rec;
	size_t done;
	bg_err e;

	sv.notify = &nt;
	wakes = 0;
	cast_new(&c, "nq");
	assert_int_equal(outbox_count("grant"), 2);
	assert_true(wakes >= 1);
	/* A grant whose record cannot be written is not made: nor is its notification. */
	ut_sql(dbpath, "CREATE TRIGGER audit_broken BEFORE INSERT ON audit "
	               "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;");
	g = calloc(1, sizeof(*g));
	assert_non_null(g);
	{
		static const char *const tables[] = {"Orders"}, *const ops[] = {"Query", "GetItem"};
		svc_grant_input in;
		char code[7];
		grant_input(&in, "nq-other", tables, ops);
		step_up(&c.adm, code_at(&c.adm, 30, code));
		assert_int_equal(svc_grant_create(&sv, &c.adm, &in, g, NULL, &e), BG_EAUDIT);
	}
	ut_sql(dbpath, "DROP TRIGGER audit_broken;");
	assert_int_equal(outbox_count("grant"), 2);
	/* Revoked: the target that takes every event hears of it, once. */
	assert_int_equal(svc_grant_revoke(&sv, &c.mine, c.g->id, c.got, &e), 0);
	assert_int_equal(outbox_count("revocation"), 1);
	assert_int_equal(svc_grant_revoke(&sv, &c.adm, c.g->id, c.got, &e), 0);
	assert_int_equal(outbox_count("revocation"), 1);
	/* A live grant that expires: noticed once by the sweep, recorded, notified. */
	new_caller("nq-admin2", USER_ROLE_ADMIN, &adm2);
	make_grant(&adm2, 0, "nq-other", g);
	assert_int_equal(svc_expiry_sweep(&sv, bg_now(), &done, &e), 0);
	assert_int_equal(outbox_count("expiry"), 0);
	assert_int_equal(svc_expiry_sweep(&sv, g->expires_at + 1, &done, &e), 0);
	/* The other tests' grants too; the revoked one was news already. */
	assert_true(done >= 1);
	assert_int_equal(outbox_count("expiry"), (int64_t)done);
	rec = newest_record(audit_count(NULL), "grant-expire", "breakglass", g->id);
	json_decref(rec);
	n = done;
	assert_int_equal(svc_expiry_sweep(&sv, g->expires_at + 2, &done, &e), 0);
	assert_int_equal(done, 0);
	assert_int_equal(outbox_count("expiry"), (int64_t)n);
	/* Without targets nothing is queued. */
	sv.notify = NULL;
	make_grant(&adm2, 30, "nq-other", g);
	assert_int_equal(outbox_count("grant"), 4);
	free(g);
	cast_free(&c);
}

/* A pending request nobody answered: the sweep marks it expired (with its record and its
 * notification) once, and an answered one is left alone. */
static void test_expiry_sweep_requests(void **state)
{
	static const svc_notify_target targets[] = {{"all", POLICY_EV_ALL}};
	svc_notify nt = {targets, 1, NULL, NULL, NULL};
	svc_caller r;
	store_incident in;
	store_request rq, got;
	store_tx *tx;
	sqlite3 *db;
	size_t done;
	int64_t now = bg_now();
	bg_err e;

	sv.notify = &nt;
	new_caller("xr-resp", USER_ROLE_RESPONDER, &r);
	memset(&in, 0, sizeof(in));
	snprintf(in.id, sizeof(in.id), "INC-XR");
	snprintf(in.source, sizeof(in.source), "manual");
	snprintf(in.title, sizeof(in.title), "orders stuck");
	snprintf(in.opened_by, sizeof(in.opened_by), "xr-resp");
	in.severity = 2;
	in.open = true;
	in.opened_at = in.updated_at = now;
	memset(&rq, 0, sizeof(rq));
	snprintf(rq.id, sizeof(rq.id), "bg-xrxrxrxrxr");
	snprintf(rq.requester, sizeof(rq.requester), "xr-resp");
	snprintf(rq.incident, sizeof(rq.incident), "INC-XR");
	rq.n_runbooks = 1;
	snprintf(rq.runbooks[0], sizeof(rq.runbooks[0]), "orders-of-customer");
	memset(rq.runbook_hashes[0], 'a', 64);
	snprintf(rq.reason, sizeof(rq.reason), "customer 42 sees stuck orders");
	rq.duration_seconds = 600;
	snprintf(rq.criteria, sizeof(rq.criteria), "[]");
	snprintf(rq.state, sizeof(rq.state), "pending");
	rq.created_at = now;
	rq.expires_at = now + 900;
	assert_int_equal(store_begin(st, &tx, &e), 0);
	assert_int_equal(store_incident_add(tx, &in, &e), 0);
	assert_int_equal(store_request_add(tx, &rq, &e), 0);
	assert_int_equal(store_commit(tx, &e), 0);

	assert_int_equal(svc_expiry_sweep(&sv, now + 899, &done, &e), 0);
	assert_int_equal(store_request_get(st, rq.id, &got, &e), 0);
	assert_string_equal(got.state, "pending");
	assert_int_equal(svc_expiry_sweep(&sv, now + 900, &done, &e), 0);
	assert_int_equal(store_request_get(st, rq.id, &got, &e), 0);
	assert_string_equal(got.state, "expired");
	assert_int_equal(got.decided_at, now + 900);
	assert_int_equal(outbox_about(rq.id), 1);
	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sql_count(db,
	                           "SELECT count(*) FROM audit WHERE kind = 'request-expire' AND "
	                           "actor = 'breakglass' AND grant_id = ?1",
	                           rq.id),
	                 1);
	sqlite3_close(db);
	assert_int_equal(svc_expiry_sweep(&sv, now + 901, &done, &e), 0);
	assert_int_equal(done, 0);
	assert_int_equal(outbox_about(rq.id), 1);
	sv.notify = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_authenticate_and_roles),
	    cmocka_unit_test(test_user_add),
	    cmocka_unit_test(test_grant_create),
	    cmocka_unit_test(test_grant_table_checks),
	    cmocka_unit_test(test_grant_visibility_and_revoke),
	    cmocka_unit_test(test_creds),
	    cmocka_unit_test(test_no_record_no_change),
	    cmocka_unit_test(test_failed_change_no_record),
	    cmocka_unit_test(test_done_means_committed),
	    cmocka_unit_test(test_init_admin),
	    cmocka_unit_test(test_audit_page),
	    cmocka_unit_test(test_notify_queued_with_change),
	    cmocka_unit_test(test_expiry_sweep_requests),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
