/*
 * fuzz_policy.c - libFuzzer target for the policy file (ytree over libyaml, then the
 * schema): any bytes give either a policy or one error "fuzz.yaml:LINE: ...", never a
 * crash, leak or read past the input. A policy that loads keeps its promises: each check at
 * most once, approval within its limits, every file listed with a line, and its criteria
 * evaluate (ticket patterns run) against a request into results that render as JSON.
 */
#include <string.h>

#include "fuzz.h"
#include "policy/criteria.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const svc[] = {"orders"};
	criteria_runbook rb = {"orders-of-customer", svc, 1};
	criteria_input in = {.incident_exists = true,
	                     .incident_id = "INC-1",
	                     .incident_open = true,
	                     .incident_severity = 2,
	                     .incident_service = "orders",
	                     .last_alert_at = 1700000000,
	                     .requester = "alice",
	                     .reason = "a reason long enough for most policies",
	                     .ticket = "INC-1234",
	                     .runbooks = &rb,
	                     .n_runbooks = 1,
	                     .duration_seconds = 1800,
	                     .now = 1700000600};
	criteria_result r[POLICY_N_CHECKS];
	approval_request q = {1700000000, 0, false, 1700000600};
	const policy_approval *a;
	const policy_file *f;
	policy *p = NULL;
	char why[256];
	json_t *j;
	size_t i, n, seen = 0;
	bg_err e;

	if (policy_parse((const char *)data, size, "fuzz.yaml", &p, &e) != 0) {
		CHECK(p == NULL);
		CHECK(e.code == BG_ENOMEM || strncmp(e.msg, "fuzz.yaml:", 10) == 0);
		return 0;
	}
	CHECK(policy_criteria_count(p) <= POLICY_N_CHECKS);
	for (i = 0; i < policy_criteria_count(p); i++) {
		const policy_criterion *c = policy_criterion_at(p, i);
		CHECK((seen & (1u << c->check)) == 0);
		seen |= 1u << c->check;
		CHECK(policy_criterion_find(p, c->check) == c);
	}
	a = policy_get_approval(p);
	CHECK(a->approvers >= 1 && a->approvers <= BG_MAX_APPROVERS);
	CHECK(a->pending_expires > 0 && (a->solo_after == 0 || a->solo_after < a->pending_expires));
	f = policy_files(p, &n);
	for (i = 0; i < n; i++) {
		CHECK(f[i].path != NULL && f[i].path[0] != '\0' && f[i].line > 0);
		CHECK(i == 0 || f[i - 1].line <= f[i].line);
	}
	for (i = 0; i < policy_notify_count(p); i++) {
		const policy_notify *t = policy_notify_at(p, i);
		CHECK(t->events != 0 && (t->events & ~(unsigned)POLICY_EV_ALL) == 0);
		CHECK((t->format == POLICY_NOTIFY_JSON) == (t->secret_file != NULL));
	}
	(void)criteria_eval(p, &in, r, &n);
	CHECK(n == policy_criteria_count(p));
	for (i = 0; i < n; i++)
		CHECK(r[i].message[0] != '\0');
	j = criteria_results_to_json(r, n);
	CHECK(j != NULL && json_array_size(j) == n);
	json_decref(j);
	(void)approval_decide(p, &q);
	if (!approval_solo_allowed(p, &q, why, sizeof(why)))
		CHECK(why[0] != '\0');
	policy_free(p);
	return 0;
}
