/*
 * test_criteria.c - the trigger criteria: each check passing and failing with a message
 * that names the concrete values; every criterion evaluated and every failing one listed;
 * the results as JSON; the approval rule (pending, approved, denied, expired) and when solo
 * break-glass is allowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "policy/criteria.h"

static const char policy_yaml[] = "criteria:\n"
                                  "  - incident_open: {max_severity: 2}\n"
                                  "  - alert_firing_within: {minutes: 30}\n"
                                  "  - requester_on_call: {schedule_file: oncall.yaml}\n"
                                  "  - reason: {min_length: 20}\n"
                                  "  - ticket: {pattern: \"^INC-[0-9]+$\"}\n"
                                  "  - runbook_allowed_for_service: true\n"
                                  "  - max_duration: {minutes: 60}\n"
                                  "approval:\n"
                                  "  approvers: 2\n"
                                  "  pending_expires: 15m\n"
                                  "  solo_after: 10m\n";

static const char oncall_yaml[] = "rotations:\n"
                                  "  - name: dynamodb-primary\n"
                                  "    start: 2026-01-05T09:00:00Z\n"
                                  "    shift: 7d\n"
                                  "    members: [alice, bob, carol]\n";

static const char *const orders[] = {"orders", "billing"};
static const char *const payments[] = {"payments"};

typedef struct fixture {
	policy *p;
	oncall *o;
	criteria_runbook rbs[2];
	criteria_input in;
	criteria_result r[POLICY_N_CHECKS];
	size_t n;
} fixture;

static int64_t T(const char *s)
{
	int64_t t = 0;

	assert_int_equal(bg_rfc3339_parse(s, strlen(s), &t), 0);
	return t;
}

static int setup(void **state)
{
	static fixture f;
	bg_err e;

	memset(&f, 0, sizeof(f));
	if (policy_parse(policy_yaml, strlen(policy_yaml), "policy.yaml", &f.p, &e) != 0 ||
	    oncall_parse(oncall_yaml, strlen(oncall_yaml), "oncall.yaml", &f.o, &e) != 0)
		return -1;
	f.rbs[0] = (criteria_runbook){"orders-of-customer", orders, 2};
	f.rbs[1] = (criteria_runbook){"unstick-order", orders, 1};
	/* A request that meets every criterion. The week from 2026-11-30 09:00 is turn 47
	 * of the rotation (47 mod 3 = 2): carol's. */
	f.in = (criteria_input){.incident_exists = true,
	                        .incident_id = "INC-7",
	                        .incident_open = true,
	                        .incident_severity = 1,
	                        .incident_service = "orders",
	                        .last_alert_at = T("2026-12-03T11:50:00Z"),
	                        .alert_firing_now = false,
	                        .requester = "carol",
	                        .schedule = f.o,
	                        .reason = "orders stuck in PENDING since the 11:40 deploy",
	                        .ticket = "INC-7",
	                        .runbooks = f.rbs,
	                        .n_runbooks = 2,
	                        .duration_seconds = 1800,
	                        .now = T("2026-12-03T12:00:00Z")};
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	policy_free(f->p);
	oncall_free(f->o);
	return 0;
}

/* Evaluates and returns the result of check c. */
static const criteria_result *eval(fixture *f, policy_check c)
{
	size_t i;

	(void)criteria_eval(f->p, &f->in, f->r, &f->n);
	assert_int_equal(f->n, 7);
	for (i = 0; i < f->n; i++) {
		if (f->r[i].check == c)
			return &f->r[i];
	}
	fail_msg("no result for %s", policy_check_name(c));
	return NULL;
}

static void expect(fixture *f, policy_check c, bool ok, const char *message)
{
	const criteria_result *r = eval(f, c);

	if (r->ok != ok || strcmp(r->message, message) != 0)
		fail_msg("%s: want %s \"%s\", got %s \"%s\"", r->name, ok ? "ok" : "fail", message,
		         r->ok ? "ok" : "fail", r->message);
}

static void test_all_pass(void **state)
{
	fixture *f = *state;
	json_t *j;
	char *s;

	assert_int_equal(criteria_eval(f->p, &f->in, f->r, &f->n), 0);
	assert_int_equal(f->n, 7);
	assert_string_equal(f->r[0].name, "incident_open");
	assert_string_equal(f->r[6].name, "max_duration");
	expect(f, POLICY_INCIDENT_OPEN, true,
	       "incident INC-7 is open at SEV1 (SEV2 or more severe needed)");
	expect(f, POLICY_ALERT_FIRING_WITHIN, true,
	       "the last alert of incident INC-7 fired 10m ago (within 30m)");
	expect(f, POLICY_REQUESTER_ON_CALL, true,
	       "carol is on call in dynamodb-primary until 2026-12-07 09:00 UTC");
	expect(f, POLICY_REASON, true, "reason is 46 characters (at least 20 needed)");
	expect(f, POLICY_TICKET, true, "ticket \"INC-7\" matches ^INC-[0-9]+$");
	expect(f, POLICY_RUNBOOK_ALLOWED_FOR_SERVICE, true,
	       "every runbook is allowed for service orders");
	expect(f, POLICY_MAX_DURATION, true, "requested 30m (at most 1h)");
	j = criteria_results_to_json(f->r, f->n);
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 7);
	s = json_dumps(json_array_get(j, 3), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"check\":\"reason\",\"message\":\"reason is 46 characters (at "
	                       "least 20 needed)\",\"ok\":true}");
	free(s);
	json_decref(j);
}

static void test_each_fails(void **state)
{
	fixture *f = *state;

	f->in.incident_severity = 3;
	expect(f, POLICY_INCIDENT_OPEN, false,
	       "incident INC-7 is SEV3; the policy needs SEV2 or more severe");
	f->in.incident_open = false;
	expect(f, POLICY_INCIDENT_OPEN, false,
	       "incident INC-7 is resolved; the policy needs an open one");
	f->in.incident_exists = false;
	expect(f, POLICY_INCIDENT_OPEN, false,
	       "no incident; the policy needs an open incident of SEV2 or more severe");
	expect(f, POLICY_ALERT_FIRING_WITHIN, false,
	       "no incident, so no alert; the policy needs one firing within 30m");
	expect(f, POLICY_RUNBOOK_ALLOWED_FOR_SERVICE, false,
	       "no incident, so no service the runbooks could be allowed for");
	f->in.incident_exists = true;
	f->in.incident_open = true;

	f->in.last_alert_at = T("2026-12-03T09:55:00Z");
	expect(f, POLICY_ALERT_FIRING_WITHIN, false,
	       "the last alert of incident INC-7 fired 2h5m ago; the policy needs one within 30m");
	f->in.alert_firing_now = true;
	expect(f, POLICY_ALERT_FIRING_WITHIN, true, "an alert of incident INC-7 is firing now");
	f->in.alert_firing_now = false;
	f->in.last_alert_at = 0;
	expect(f, POLICY_ALERT_FIRING_WITHIN, false,
	       "no alert has fired for incident INC-7; the policy needs one within 30m");

	f->in.requester = "bob";
	f->in.now = T("2026-12-15T12:00:00Z"); /* turn 49: bob */
	expect(f, POLICY_REQUESTER_ON_CALL, true,
	       "bob is on call in dynamodb-primary until 2026-12-21 09:00 UTC");
	f->in.requester = "carol";
	expect(f, POLICY_REQUESTER_ON_CALL, false,
	       "carol is not on call in dynamodb-primary now (bob is, until 2026-12-21 09:00 UTC)");
	f->in.now = T("2025-12-08T12:00:00Z");
	expect(f, POLICY_REQUESTER_ON_CALL, false, "carol is not on call: nobody is on call now");
	f->in.schedule = NULL;
	expect(f, POLICY_REQUESTER_ON_CALL, false,
	       "the on-call schedule (oncall.yaml) is not loaded, so carol cannot be shown on "
	       "call");

	f->in.reason = "  db on fire \n";
	expect(f, POLICY_REASON, false, "reason is 10 characters; at least 20 needed");
	f->in.reason = "é€é€é€é€é€é€é€é€é€é"; /* 19 characters, 44 bytes */
	expect(f, POLICY_REASON, false, "reason is 19 characters; at least 20 needed");
	f->in.reason = NULL;
	expect(f, POLICY_REASON, false, "reason is 0 characters; at least 20 needed");

	f->in.ticket = "JIRA-7";
	expect(f, POLICY_TICKET, false, "ticket \"JIRA-7\" does not match ^INC-[0-9]+$");
	f->in.ticket = "INC-7\n\x1b[31m";
	expect(f, POLICY_TICKET, false, "ticket \"INC-7??[31m\" does not match ^INC-[0-9]+$");
	f->in.ticket = "";
	expect(f, POLICY_TICKET, false, "no ticket given; it must match ^INC-[0-9]+$");

	f->rbs[1] = (criteria_runbook){"refund", payments, 1};
	f->rbs[0] = (criteria_runbook){"stuck-orders", NULL, 0};
	expect(f, POLICY_RUNBOOK_ALLOWED_FOR_SERVICE, false,
	       "runbook stuck-orders lists no services, so it is allowed for no incident; "
	       "runbook refund is not allowed for service orders (it is for payments)");
	f->in.incident_service = NULL;
	expect(f, POLICY_RUNBOOK_ALLOWED_FOR_SERVICE, false,
	       "incident INC-7 names no service; runbook_allowed_for_service needs one");
	f->in.incident_service = "orders";
	f->in.n_runbooks = 0;
	expect(f, POLICY_RUNBOOK_ALLOWED_FOR_SERVICE, false, "the request names no runbook");

	f->in.duration_seconds = 7200;
	expect(f, POLICY_MAX_DURATION, false, "requested 2h; the policy allows at most 1h");
	f->in.duration_seconds = 0;
	expect(f, POLICY_MAX_DURATION, false, "no duration requested; at most 1h allowed");
}

static void test_all_failures_listed(void **state)
{
	fixture *f = *state;
	char why[4096];
	json_t *j;
	size_t i, failed = 0;

	f->in.incident_severity = 4;
	f->in.reason = "fire";
	f->in.ticket = "none";
	f->in.duration_seconds = 86400;
	assert_int_equal(criteria_eval(f->p, &f->in, f->r, &f->n), BG_EDENIED);
	assert_int_equal(f->n, 7);
	for (i = 0; i < f->n; i++)
		failed += !f->r[i].ok;
	assert_int_equal(failed, 4);
	criteria_failures(f->r, f->n, why, sizeof(why));
	assert_string_equal(why, "incident_open: incident INC-7 is SEV4; the policy needs SEV2 or "
	                         "more severe; reason: reason is 4 characters; at least 20 "
	                         "needed; ticket: ticket \"none\" does not match ^INC-[0-9]+$; "
	                         "max_duration: requested 24h; the policy allows at most 1h");
	j = criteria_results_to_json(f->r, f->n);
	assert_true(json_is_false(json_object_get(json_array_get(j, 0), "ok")));
	assert_true(json_is_true(json_object_get(json_array_get(j, 1), "ok")));
	json_decref(j);
}

static void test_no_criteria_and_rotation(void **state)
{
	fixture *f = *state;
	criteria_result r[POLICY_N_CHECKS];
	policy *p = NULL;
	size_t n = 99;
	bg_err e;
	const char *two = "criteria:\n"
	                  "  - requester_on_call: {schedule_file: o.yaml, rotation: nope}\n";

	assert_int_equal(policy_parse("", 0, "p.yaml", &p, &e), 0);
	assert_int_equal(criteria_eval(p, &f->in, r, &n), 0);
	assert_int_equal(n, 0);
	policy_free(p);
	assert_int_equal(policy_parse(two, strlen(two), "p.yaml", &p, &e), 0);
	assert_int_equal(criteria_eval(p, &f->in, r, &n), BG_EDENIED);
	assert_string_equal(r[0].message, "the on-call schedule has no rotation nope");
	policy_free(p);
}

static void test_approval(void **state)
{
	fixture *f = *state;
	approval_request q = {.created_at = 1000, .approvals = 0, .denied = false, .now = 1000};
	policy *p = NULL;
	char why[256];
	bg_err e;

	assert_int_equal(approval_decide(f->p, &q), APPROVAL_PENDING);
	q.approvals = 1;
	assert_int_equal(approval_decide(f->p, &q), APPROVAL_PENDING); /* two are needed */
	q.approvals = 2;
	assert_int_equal(approval_decide(f->p, &q), APPROVAL_APPROVED);
	q.denied = true;
	assert_int_equal(approval_decide(f->p, &q), APPROVAL_DENIED);
	q.denied = false;
	q.approvals = 1;
	q.now = 1000 + 899;
	assert_int_equal(approval_decide(f->p, &q), APPROVAL_PENDING);
	q.now = 1000 + 900;
	assert_int_equal(approval_decide(f->p, &q), APPROVAL_EXPIRED);
	assert_string_equal(approval_state_name(APPROVAL_EXPIRED), "expired");

	/* Solo: after 10 minutes without an answer, while pending. */
	q.now = 1000 + 252;
	assert_false(approval_solo_allowed(f->p, &q, why, sizeof(why)));
	assert_string_equal(why, "solo break-glass is allowed 10m after the request without an "
	                         "answer: wait 5m48s more");
	q.now = 1000 + 600;
	assert_true(approval_solo_allowed(f->p, &q, why, sizeof(why)));
	q.denied = true;
	assert_false(approval_solo_allowed(f->p, &q, why, sizeof(why)));
	assert_string_equal(why, "the request is denied, not pending: solo is for a request "
	                         "nobody answered");
	q.denied = false;
	q.now = 1000 + 900;
	assert_false(approval_solo_allowed(f->p, &q, why, sizeof(why)));
	assert_non_null(strstr(why, "the request is expired"));
	/* A policy without solo_after forbids it. */
	assert_int_equal(policy_parse("approval: {approvers: 1}\n", 25, "p.yaml", &p, &e), 0);
	q.now = 1000 + 600;
	assert_false(approval_solo_allowed(p, &q, why, sizeof(why)));
	assert_string_equal(why,
	                    "the policy forbids solo break-glass (approval.solo_after is not set)");
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_all_pass, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_each_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_failures_listed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_criteria_and_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_approval, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
