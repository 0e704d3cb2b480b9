/*
 * test_request.c - break-glass requests in the service layer (workflow/request.h) on a
 * real store and audit log, where the ordering matters: two approvers answering at once
 * (one approval mints the grant, the other finds it decided), the same TOTP code sent
 * twice at once (accepted once), an answer racing the request's expiry, a refusal for
 * the criteria kept with every result and costing no code, self-approval, and solo.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include "svc_fixture.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/clock.h"
#include "store/keyring.h"
#include "store/store.h"
#include "workflow/incident.h"
#include "workflow/request.h"
#include "workflow/totp.h"
#include "workflow/user.h"

static char dir[64];
static svc sv;

/* The runbooks as the gateway would pin them: one, on table orders. */
static int fake_pin(void *ctx, const char *id, char table[BG_MAX_TABLE_NAME + 1],
                    char op[STORE_OP_MAX], char hash[65])
{
	(void)ctx;
	if (strcmp(id, "orders-of-customer") != 0)
		return BG_ENOTFOUND;
	snprintf(table, BG_MAX_TABLE_NAME + 1, "orders");
	snprintf(op, STORE_OP_MAX, "Query");
	memset(hash, 'a', 64);
	hash[64] = '\0';
	return 0;
}
static const svc_runbooks pins = {.pin = fake_pin};

static int setup(void **state)
{
	if (ut_svc_open(dir, sizeof(dir), "test-request", &sv) != 0)
		return -1;
	sv.runbooks = &pins;
	return 0;
}

static int teardown(void **state)
{
	return ut_svc_close(dir, &sv);
}

static void new_caller(const char *name, unsigned role, svc_caller *c)
{
	ut_svc_caller(&sv, name, role, c);
}

/* c, stepped up with its code for the step delta seconds from now (in code). */
static void step_up(svc_caller *c, int64_t delta, char code[7])
{
	uint8_t key[TOTP_KEY_LEN];

	totp_key(sv.kr, c->user.totp_seed, key);
	assert_int_equal(totp_code(key, bg_now() + delta, code), 0);
	c->otp = code;
	c->needs_step_up = true;
	c->stepped_up = false;
}

static void open_incident(const char *id)
{
	svc_caller c;
	store_incident in;
	svc_incident_input inp = {id, 1, "orders are stuck", "orders"};
	char name[32];
	bg_err e;

	snprintf(name, sizeof(name), "opener-%s", id);
	new_caller(name, USER_ROLE_RESPONDER, &c);
	assert_int_equal(svc_incident_open(&sv, &c, &inp, &in, &e), 0);
}

static const char *const runbooks[] = {"orders-of-customer"};

/* c requests orders-of-customer for incident, with its code for the step delta s away. */
static void request_at(svc_caller *c, const svc_policy *p, const char *incident, int64_t delta,
                       store_request *r)
{
	svc_request_input in = {incident, runbooks, 1, "customer 42 sees stuck orders",
	                        "INC-1",  600};
	char code[7];
	bg_err e;

	step_up(c, delta, code);
	if (svc_request_create(&sv, p, c, &in, r, &e) != 0)
		fail_msg("request: %s", e.msg);
	assert_string_equal(r->state, "pending");
}

static void request(svc_caller *c, const svc_policy *p, const char *incident, store_request *r)
{
	request_at(c, p, incident, 0, r);
}

typedef struct answer_job {
	svc_caller c;
	const svc_policy *p;
	const char *id;
	pthread_barrier_t *go;
	int rc;
	bool granted;
	bg_err e;
} answer_job;

static void *answer_main(void *arg)
{
	answer_job *j = arg;
	store_request r;
	store_grant g;

	pthread_barrier_wait(j->go);
	j->rc = svc_request_answer(&sv, j->p, &j->c, j->id, true, NULL, &r, &j->granted, &g, &j->e);
	return NULL;
}

/* Two approvers at once, one approval needed: one mints the grant, the other is told the
 * request is decided; one grant exists. */
static void test_two_approvers_at_once(void **state)
{
	svc_caller req;
	store_request r;
	store_grant g;
	answer_job a[2];
	pthread_barrier_t go;
	pthread_t t[2];
	char c0[7], c1[7];
	bg_err e;
	int i;

	(void)state;
	open_incident("INC-A");
	new_caller("rq-a", USER_ROLE_RESPONDER, &req);
	request(&req, NULL, "INC-A", &r);
	pthread_barrier_init(&go, NULL, 2);
	memset(a, 0, sizeof(a));
	new_caller("ap-a1", USER_ROLE_APPROVER, &a[0].c);
	new_caller("ap-a2", USER_ROLE_APPROVER, &a[1].c);
	step_up(&a[0].c, 0, c0);
	step_up(&a[1].c, 0, c1);
	for (i = 0; i < 2; i++) {
		a[i].p = NULL;
		a[i].id = r.id;
		a[i].go = &go;
		pthread_create(&t[i], NULL, answer_main, &a[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	assert_true((a[0].rc == 0) != (a[1].rc == 0));
	i = a[0].rc == 0 ? 1 : 0;
	assert_true(a[1 - i].granted);
	assert_int_equal(a[i].rc, BG_EINVAL);
	assert_non_null(strstr(a[i].e.msg, "approved already"));
	assert_int_equal(store_grant_by_id(sv.st, r.id, &g, &e), 0);
	assert_string_equal(g.kind, "request");
	assert_string_equal(g.user, "rq-a");
}

/* One approver's code sent twice at once for two requests: accepted once. */
static void test_same_code_twice_at_once(void **state)
{
	svc_caller req;
	store_request r1, r2;
	answer_job a[2];
	pthread_barrier_t go;
	pthread_t t[2];
	char code[7];
	int i, ok = 0;

	(void)state;
	open_incident("INC-B");
	new_caller("rq-b", USER_ROLE_RESPONDER, &req);
	request(&req, NULL, "INC-B", &r1);
	request_at(&req, NULL, "INC-B", 30, &r2); /* each code works once */
	memset(a, 0, sizeof(a));
	new_caller("ap-b", USER_ROLE_APPROVER, &a[0].c);
	step_up(&a[0].c, 0, code);
	a[1].c = a[0].c;
	a[1].c.otp = code;
	a[0].id = r1.id;
	a[1].id = r2.id;
	pthread_barrier_init(&go, NULL, 2);
	for (i = 0; i < 2; i++) {
		a[i].go = &go;
		pthread_create(&t[i], NULL, answer_main, &a[i]);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		ok += a[i].rc == 0;
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(ok, 1);
	assert_int_equal(a[a[0].rc == 0 ? 1 : 0].rc, BG_EAUTH);
}

/* An answer after the request expired is refused; the request reads as expired. */
static void test_answer_after_expiry(void **state)
{
	svc_policy quick = svc_policy_default;
	svc_caller req, ap;
	store_request r, got;
	store_grant g;
	json_t *j;
	bool granted;
	char code[7];
	bg_err e;

	(void)state;
	quick.pending_seconds = 1;
	open_incident("INC-C");
	new_caller("rq-c", USER_ROLE_RESPONDER, &req);
	new_caller("ap-c", USER_ROLE_APPROVER, &ap);
	request(&req, &quick, "INC-C", &r);
	sleep(2);
	assert_int_equal(svc_request_json(&sv, &quick, &r, &j, &e), 0);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "expired");
	json_decref(j);
	step_up(&ap, 0, code);
	assert_int_equal(
	    svc_request_answer(&sv, &quick, &ap, r.id, true, NULL, &got, &granted, &g, &e),
	    BG_EEXPIRED);
	assert_false(granted);
	assert_int_equal(store_grant_by_id(sv.st, r.id, &g, &e), BG_ENOTFOUND);
}

static int fail_reason(void *ctx, const svc_criteria_facts *f, json_t **results, bool *ok,
                       bg_err *e)
{
	(void)ctx;
	*ok = strlen(f->reason) >= 100;
	*results = json_pack("[{s:s,s:b,s:s}]", "check", "reason", "ok", *ok, "message",
	                     "reason is too short");
	return 0;
}

/* A refusal is kept with its criteria and spends no TOTP code; nobody answers their own
 * request; solo waits for solo_after, then grants and makes the review mandatory. */
static void test_refusal_self_and_solo(void **state)
{
	svc_policy strict = svc_policy_default;
	svc_caller req, both;
	svc_request_input in = {"INC-D", runbooks, 1, "short", NULL, 600};
	store_request r, got;
	store_incident inc;
	store_grant g;
	bool granted;
	char code[7];
	bg_err e;

	(void)state;
	strict.evaluate = fail_reason;
	strict.solo_after = 1;
	open_incident("INC-D");
	new_caller("rq-d", USER_ROLE_RESPONDER, &req);
	step_up(&req, 0, code);
	assert_int_equal(svc_request_create(&sv, &strict, &req, &in, &r, &e), BG_EDENIED);
	assert_non_null(strstr(e.msg, "reason is too short"));
	assert_int_equal(store_request_get(sv.st, r.id, &got, &e), 0);
	assert_string_equal(got.state, "refused");
	assert_non_null(strstr(got.criteria, "\"ok\":false"));
	assert_false(req.stepped_up); /* the code was not taken */

	strict.evaluate = NULL;
	new_caller("rq-both", USER_ROLE_RESPONDER | USER_ROLE_APPROVER, &both);
	request(&both, &strict, "INC-D", &r);
	step_up(&both, 0, code);
	assert_int_equal(
	    svc_request_answer(&sv, &strict, &both, r.id, true, NULL, &got, &granted, &g, &e),
	    BG_EDENIED);
	assert_non_null(strstr(e.msg, "your own request"));
	assert_int_equal(svc_request_solo(&sv, &strict, &both, r.id, &got, &g, &e), BG_EDENIED);
	assert_non_null(strstr(e.msg, "to go"));
	sleep(2);
	step_up(&both, 30, code);
	assert_int_equal(svc_request_solo(&sv, &strict, &both, r.id, &got, &g, &e), 0);
	assert_true(got.solo);
	assert_string_equal(g.kind, "solo");
	assert_int_equal(store_incident_get(sv.st, "INC-D", &inc, &e), 0);
	assert_true(inc.review_required);
	/* Where the policy has no solo_after, never. */
	request_at(&req, NULL, "INC-D", 30, &r);
	assert_int_equal(svc_request_solo(&sv, NULL, &req, r.id, &got, &g, &e), BG_EDENIED);
	assert_non_null(strstr(e.msg, "does not allow solo"));
}

/* What was true when the request was made must still be true when it is granted: a
 * resolved incident is neither approved for nor gone solo for; a disabled requester's
 * request is not granted. */
static void test_state_at_decision(void **state)
{
	svc_policy solo = svc_policy_default;
	svc_caller req, ap, resolver;
	store_request r, got;
	store_incident inc;
	store_grant g;
	bool granted;
	char code[7];
	bg_err e;

	(void)state;
	solo.solo_after = 1;
	open_incident("INC-E");
	new_caller("rq-e", USER_ROLE_RESPONDER, &req);
	new_caller("ap-e", USER_ROLE_APPROVER, &ap);
	new_caller("rs-e", USER_ROLE_RESPONDER, &resolver);
	request(&req, &solo, "INC-E", &r);
	assert_int_equal(svc_incident_resolve(&sv, &resolver, "INC-E", "false alarm", &inc, &e), 0);
	sleep(2);
	step_up(&req, 30, code);
	assert_int_equal(svc_request_solo(&sv, &solo, &req, r.id, &got, &g, &e), BG_EDENIED);
	assert_non_null(strstr(e.msg, "was resolved"));
	step_up(&ap, 0, code);
	assert_int_equal(
	    svc_request_answer(&sv, &solo, &ap, r.id, true, NULL, &got, &granted, &g, &e),
	    BG_EINVAL);
	assert_non_null(strstr(e.msg, "resolved since the request"));
	assert_int_equal(store_grant_by_id(sv.st, r.id, &g, &e), BG_ENOTFOUND);
}

/* The audit filter for an incident (GET /api/v1/audit?incident=): its own records and
 * its requests', and also a record naming only a grant of one of its requests (a query,
 * credentials, a revocation: the grant takes the request's id); not another incident's. */
static void test_audit_incident_filter(void **state)
{
	svc_caller req;
	store_request r1, r2;
	svc_audit_filter f = {NULL, NULL, "INC-F1", NULL, NULL, 0};
	json_t *query, *other_q, *own, *other;
	bg_err e;

	(void)state;
	open_incident("INC-F1");
	open_incident("INC-F2");
	new_caller("filt-req", USER_ROLE_RESPONDER, &req);
	request(&req, NULL, "INC-F1", &r1);
	request_at(&req, NULL, "INC-F2", 30, &r2);
	assert_int_equal(svc_audit_filter_prepare(&sv, &f, &e), 0);
	assert_int_equal(f.n_grants, 1);
	assert_string_equal(f.grants[0], r1.id);
	query = json_pack("{s:s,s:s,s:s,s:{}}", "kind", "request", "op", "Query", "grant_id", r1.id,
	                  "detail");
	other_q = json_pack("{s:s,s:s,s:s,s:{}}", "kind", "request", "op", "Query", "grant_id",
	                    r2.id, "detail");
	own = json_pack("{s:s,s:n,s:{s:s}}", "kind", "alert", "grant_id", "detail", "incident",
	                "INC-F1");
	other = json_pack("{s:s,s:n,s:{s:s}}", "kind", "alert", "grant_id", "detail", "incident",
	                  "INC-F2");
	assert_true(svc_audit_match(&f, query));
	assert_true(svc_audit_match(&f, own));
	assert_false(svc_audit_match(&f, other_q));
	assert_false(svc_audit_match(&f, other));
	svc_audit_filter_release(&f);
	assert_null(f.grants);
	json_decref(query);
	json_decref(other_q);
	json_decref(own);
	json_decref(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_approvers_at_once),
	    cmocka_unit_test(test_same_code_twice_at_once),
	    cmocka_unit_test(test_answer_after_expiry),
	    cmocka_unit_test(test_refusal_self_and_solo),
	    cmocka_unit_test(test_state_at_decision),
	    cmocka_unit_test(test_audit_incident_filter),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
