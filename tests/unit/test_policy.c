/*
 * test_policy.c - the policy file: issue 8's example loads exactly as written, with every
 * value where the accessors say; defaults when sections are left out; every file it names
 * listed with its line; and each kind of mistake refused with the line that holds it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/oncall.h"
#include "policy/policy.h"

/* Issue 8's policy, verbatim, then a notify section. */
static const char issue_yaml[] =
    "criteria:\n"                                                                      /* 1 */
    "  - incident_open: {max_severity: 2}      # SEV1 or SEV2; 1 is the most severe\n" /* 2 */
    "  - alert_firing_within: {minutes: 30}\n"                                         /* 3 */
    "  - requester_on_call: {schedule_file: oncall.yaml}\n"                            /* 4 */
    "  - reason: {min_length: 20}\n"                                                   /* 5 */
    "  - ticket: {pattern: \"^INC-[0-9]+$\"}\n"                                        /* 6 */
    "  - runbook_allowed_for_service: true\n"                                          /* 7 */
    "  - max_duration: {minutes: 60}\n"                                                /* 8 */
    "approval:\n"                                                                      /* 9 */
    "  approvers: 1            # distinct approvers, never the requester\n"            /* 10 */
    "  pending_expires: 15m\n"                                                         /* 11 */
    "  solo_after: 10m         # solo break-glass allowed after this long without an "
    "answer; omit to forbid\n"                                                   /* 12 */
    "alerts:                   # paths relative to the policy file\n"            /* 13 */
    "  alertmanager: {bearer_token_file: secrets/alertmanager.token}\n"          /* 14 */
    "  pagerduty: {secret_file: secrets/pagerduty.secret}\n"                     /* 15 */
    "  sns: {topic_arns: [\"arn:aws:sns:us-east-1:123456789012:ddb-alarms\"]}\n" /* 16 */
    "  generic: {secret_file: secrets/generic.secret}\n";                        /* 17 */

static const char notify_yaml[] = "direct_grants: deny\n"    /* 18 */
                                  "review: {deadline: 2d}\n" /* 19 */
                                  "notify:\n"                /* 20 */
                                  "  - name: oncall-slack\n" /* 21 */
                                  "    url: https://hooks.slack.com/services/T0/B0/x\n"
                                  "    format: slack\n" /* 23 */
                                  "  - name: siem\n"    /* 24 */
                                  "    url: http://127.0.0.1:9000/breakglass\n"
                                  "    format: json\n"                  /* 26 */
                                  "    secret_file: secrets/siem.key\n" /* 27 */
                                  "    events: [solo, grant, revocation]\n";

static policy *load(const char *text, bg_err *e)
{
	policy *p = NULL;

	if (policy_parse(text, strlen(text), "policy.yaml", &p, e) != 0)
		return NULL;
	return p;
}

static void test_issue_example(void **state)
{
	const policy_criterion *c;
	const policy_approval *a;
	const policy_alerts *al;
	const policy_notify *n;
	const policy_file *f;
	char text[4096];
	size_t nf;
	policy *p;
	bg_err e;

	(void)state;
	p = load(issue_yaml, &e);
	if (p == NULL)
		fail_msg("%s", e.msg);
	assert_string_equal(policy_name(p), "policy.yaml");
	assert_int_equal(policy_criteria_count(p), 7);
	c = policy_criterion_at(p, 0);
	assert_int_equal(c->check, POLICY_INCIDENT_OPEN);
	assert_string_equal(c->name, "incident_open");
	assert_int_equal(c->line, 2);
	assert_int_equal(c->max_severity, 2);
	assert_int_equal(policy_criterion_find(p, POLICY_ALERT_FIRING_WITHIN)->window_seconds,
	                 1800);
	c = policy_criterion_find(p, POLICY_REQUESTER_ON_CALL);
	assert_string_equal(c->schedule_file, "oncall.yaml");
	assert_null(c->rotation);
	assert_int_equal(policy_criterion_find(p, POLICY_REASON)->min_length, 20);
	c = policy_criterion_find(p, POLICY_TICKET);
	assert_string_equal(c->pattern, "^INC-[0-9]+$");
	assert_int_equal(regexec(&c->re, "INC-42", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&c->re, "INC-42x", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&c->re, "xINC-42", 0, NULL, 0), 0);
	assert_int_equal(policy_criterion_find(p, POLICY_RUNBOOK_ALLOWED_FOR_SERVICE)->line, 7);
	assert_int_equal(policy_criterion_find(p, POLICY_MAX_DURATION)->max_seconds, 3600);

	a = policy_get_approval(p);
	assert_int_equal(a->approvers, 1);
	assert_int_equal(a->pending_expires, 900);
	assert_int_equal(a->solo_after, 600);
	al = policy_get_alerts(p);
	assert_string_equal(al->alertmanager_token_file, "secrets/alertmanager.token");
	assert_int_equal(al->pagerduty_secret_files.n, 1);
	assert_string_equal(al->pagerduty_secret_files.items[0], "secrets/pagerduty.secret");
	assert_int_equal(al->sns_topic_arns.n, 1);
	assert_string_equal(al->sns_topic_arns.items[0],
	                    "arn:aws:sns:us-east-1:123456789012:ddb-alarms");
	assert_int_equal(al->sns_cert_hosts.n, 0);
	assert_null(al->sns_ca_file);
	assert_int_equal(al->sns_default_severity, 3);
	assert_int_equal(al->generic_secret_files.n, 1);
	/* Defaults of what the example leaves out. */
	assert_int_equal(policy_get_direct_grants(p), POLICY_DIRECT_ALLOW);
	assert_int_equal(policy_review_deadline(p), 24 * 3600);
	assert_int_equal(policy_notify_count(p), 0);

	/* Every file, in file order, with its line. */
	f = policy_files(p, &nf);
	assert_int_equal(nf, 4);
	assert_string_equal(f[0].path, "oncall.yaml");
	assert_string_equal(f[0].key, "requester_on_call.schedule_file");
	assert_int_equal(f[0].line, 4);
	assert_string_equal(f[1].path, "secrets/alertmanager.token");
	assert_int_equal(f[1].line, 14);
	assert_string_equal(f[2].path, "secrets/pagerduty.secret");
	assert_int_equal(f[2].line, 15);
	assert_string_equal(f[3].path, "secrets/generic.secret");
	assert_int_equal(f[3].line, 17);
	policy_free(p);

	/* With notify, direct grants and a review deadline. */
	snprintf(text, sizeof(text), "%s%s", issue_yaml, notify_yaml);
	p = load(text, &e);
	if (p == NULL)
		fail_msg("%s", e.msg);
	assert_int_equal(policy_get_direct_grants(p), POLICY_DIRECT_DENY);
	assert_int_equal(policy_review_deadline(p), 2 * 86400);
	assert_int_equal(policy_notify_count(p), 2);
	n = policy_notify_at(p, 0);
	assert_string_equal(n->name, "oncall-slack");
	assert_int_equal(n->format, POLICY_NOTIFY_SLACK);
	assert_null(n->secret_file);
	assert_int_equal(n->events, POLICY_EV_ALL);
	n = policy_notify_at(p, 1);
	assert_string_equal(n->url, "http://127.0.0.1:9000/breakglass");
	assert_int_equal(n->format, POLICY_NOTIFY_JSON);
	assert_string_equal(n->secret_file, "secrets/siem.key");
	assert_int_equal(n->events, POLICY_EV_SOLO | POLICY_EV_GRANT | POLICY_EV_REVOCATION);
	assert_null(policy_notify_at(p, 2));
	f = policy_files(p, &nf);
	assert_int_equal(nf, 5);
	assert_string_equal(f[4].key, "notify[siem].secret_file");
	assert_int_equal(f[4].line, 27);
	policy_free(p);
	assert_string_equal(policy_event_name(POLICY_EV_SOLO), "solo");
	assert_null(policy_event_name(POLICY_EV_SOLO | POLICY_EV_GRANT));
}

static void test_defaults_and_options(void **state)
{
	const policy_alerts *al;
	const policy_file *f;
	size_t nf;
	policy *p;
	bg_err e;

	(void)state;
	p = load("", &e);
	assert_non_null(p);
	assert_int_equal(policy_criteria_count(p), 0);
	assert_int_equal(policy_get_approval(p)->approvers, 1);
	assert_int_equal(policy_get_approval(p)->pending_expires, 900);
	assert_int_equal(policy_get_approval(p)->solo_after, 0); /* solo forbidden */
	assert_int_equal(policy_get_direct_grants(p), POLICY_DIRECT_ALLOW);
	assert_null(policy_grant_rate(p)); /* no rate limit unless the policy sets one */
	policy_free(p);
	policy_free(NULL);

	/* guardrails.rate; burst defaults to the rate. */
	p = load("guardrails: {rate: {per_second: 5, burst: 12}}\n", &e);
	assert_non_null(p);
	assert_int_equal(policy_grant_rate(p)->per_second, 5);
	assert_int_equal(policy_grant_rate(p)->burst, 12);
	/* guardrails.budget: either or both; none is no limit. */
	assert_null(policy_grant_budget(p));
	policy_free(p);
	p = load("guardrails: {budget: {read: 100}}\n", &e);
	assert_true(policy_grant_budget(p)->read == 100 && policy_grant_budget(p)->write < 0);
	policy_free(p);
	p = load("guardrails:\n  rate: {per_second: 3}\n", &e);
	assert_non_null(p);
	assert_int_equal(policy_grant_rate(p)->burst, 3);
	policy_free(p);

	/* Secret rotation, SNS for tests (certificate hosts, CA), a rotation restriction. */
	p = load("criteria:\n"
	         "  - requester_on_call: {schedule_file: /etc/bg/oncall.yaml, rotation: ddb}\n"
	         "approval: {approvers: 2, pending_expires: 1h}\n"
	         "alerts:\n"
	         "  pagerduty: {secret_files: [pd.new, pd.old]}\n"
	         "  sns:\n"
	         "    topic_arns: [\"arn:aws:sns:eu-west-1:123456789012:a\",\n"
	         "                 \"arn:aws-cn:sns:cn-north-1:123456789012:b\"]\n"
	         "    cert_hosts: [\"127.0.0.1:8443\", sns.us-east-1.amazonaws.com]\n"
	         "    ca_file: test-ca.pem\n"
	         "    default_severity: 2\n",
	         &e);
	if (p == NULL)
		fail_msg("%s", e.msg);
	assert_string_equal(policy_criterion_at(p, 0)->rotation, "ddb");
	assert_int_equal(policy_get_approval(p)->approvers, 2);
	assert_int_equal(policy_get_approval(p)->pending_expires, 3600);
	al = policy_get_alerts(p);
	assert_int_equal(al->pagerduty_secret_files.n, 2);
	assert_string_equal(al->pagerduty_secret_files.items[1], "pd.old");
	assert_int_equal(al->sns_topic_arns.n, 2);
	assert_int_equal(al->sns_cert_hosts.n, 2);
	assert_string_equal(al->sns_cert_hosts.items[0], "127.0.0.1:8443");
	assert_string_equal(al->sns_ca_file, "test-ca.pem");
	assert_int_equal(al->sns_default_severity, 2);
	assert_null(al->alertmanager_token_file);
	f = policy_files(p, &nf);
	assert_int_equal(nf, 4);
	assert_string_equal(f[0].path, "/etc/bg/oncall.yaml");
	assert_string_equal(f[1].path, "pd.new");
	assert_string_equal(f[2].path, "pd.old");
	assert_int_equal(f[1].line, 5);
	assert_int_equal(f[2].line, 5);
	assert_string_equal(f[3].path, "test-ca.pem");
	assert_int_equal(f[3].line, 10);
	policy_free(p);
}

/* text must be refused with an error on line that contains want. */
static void refused(const char *text, unsigned line, const char *want)
{
	char prefix[64];
	policy *p = NULL;
	bg_err e;

	bg_err_clear(&e);
	if (policy_parse(text, strlen(text), "policy.yaml", &p, &e) == 0) {
		policy_free(p);
		fail_msg("accepted: %s", text);
	}
	assert_null(p);
	snprintf(prefix, sizeof(prefix), "policy.yaml:%u: ", line);
	if (strncmp(e.msg, prefix, strlen(prefix)) != 0 || strstr(e.msg, want) == NULL)
		fail_msg("want \"%s%s\", got \"%s\"", prefix, want, e.msg);
}

static void test_errors_name_the_line(void **state)
{
	(void)state;
	/* Guardrails. */
	refused("guardrails:\n  rate: {burst: 5}\n", 2, "guardrails.rate needs per_second");
	refused("guardrails:\n  rate: {per_second: 0}\n", 2,
	        "guardrails.rate.per_second must be a whole number from 1 to 1000000");
	refused("guardrails:\n  rate: {per_second: 2, brust: 5}\n", 2, "unknown key 'brust'");
	refused("guardrails:\n  budget: 5\n", 2, "guardrails.budget must be a mapping");
	refused("guardrails:\n  budget: {reads: 5}\n", 2, "unknown key 'reads'");
	refused("guardrails:\n  budget: {}\n", 2, "names no read or write units");
	refused("guardrails:\n  budget: {read: 0}\n", 2, "guardrails.budget.read must be a whole");
	refused("guardrails:\n  budget: {read: 5, write: 1.5}\n", 2, "guardrails.budget.write");
	/* Criteria. */
	refused("criteria:\n  - reason: {min_length: 20}\n  - on_fire: {really: true}\n", 3,
	        "unknown check 'on_fire' (incident_open, alert_firing_within");
	refused("criteria:\n  - reason:\n      min_length: 20\n      max_length: 30\n", 4,
	        "unknown key 'max_length' in check reason (min_length)");
	refused("criteria:\n  - reason: {min_length: twenty}\n", 2,
	        "reason.min_length must be a whole number from 1 to 1024");
	refused("criteria:\n  - reason: {min_length: \"20\"}\n", 2,
	        "reason.min_length must be a whole number");
	refused("criteria:\n  - incident_open: {max_severity: 0}\n", 2,
	        "incident_open.max_severity must be a whole number from 1 to 5");
	refused("criteria:\n  - incident_open: 2\n", 2,
	        "incident_open takes parameters {max_severity: ...}, not a single value");
	refused("criteria:\n  - incident_open: {}\n", 2, "incident_open needs max_severity");
	refused("criteria:\n  - reason: {min_length: 5}\n  - ticket: {pattern: x}\n"
	        "  - reason: {min_length: 9}\n",
	        4, "check reason is listed twice (first on line 2)");
	refused("criteria:\n  - ticket: {pattern: \"^INC-[0-9+$\"}\n", 2,
	        "ticket.pattern: pattern refused: a bracket expression is not closed");
	/* One that would make regcomp take gigabytes is refused as runbook patterns are. */
	refused("criteria:\n  - ticket: {pattern: \"^INC-[0-9]++++$\"}\n", 2,
	        "repetition of a repetition");
	refused("criteria:\n  - ticket: {pattern: \"(a\"}\n", 2, "not a valid POSIX ERE");
	refused("criteria:\n  - runbook_allowed_for_service: false\n", 2,
	        "takes true; remove the entry");
	refused("criteria:\n  - runbook_allowed_for_service: yes\n", 2, "must be true or false");
	refused("criteria:\n  - max_duration: {minutes: 721}\n", 2,
	        "max_duration.minutes must be a whole number from 1 to 720");
	refused("criteria:\n  - alert_firing_within: {minutes: 30m}\n", 2,
	        "alert_firing_within.minutes must be a whole number");
	refused("criteria:\n  - reason: {min_length: 5}\n    ticket: {pattern: x}\n", 2,
	        "a criterion is one check");
	refused("criteria: {reason: {min_length: 5}}\n", 1, "criteria must be a list");
	/* Approval. */
	refused("approval:\n  approvers: 0\n", 2,
	        "approval.approvers must be a whole number from 1 to 5");
	refused("approval:\n  approvers: 6\n", 2, "from 1 to 5");
	refused("approval:\n  pending_expires: 15\n", 2, "approval.pending_expires: bad duration");
	refused("approval:\n  pending_expires: 15 m\n", 2, "bad duration");
	refused("approval:\n  solo_after: soon\n", 2, "approval.solo_after: bad duration");
	refused("approval:\n  pending_expires: 15m\n  solo_after: 15m\n", 3,
	        "must be shorter than pending_expires");
	refused("approval:\n  solo_after:\n", 2, "approval.solo_after is empty");
	refused("approval:\n  pending_expires: 2d\n", 2, "longer than the maximum");
	refused("approval:\n  approvals: 2\n", 2, "unknown key 'approvals' in approval");
	/* Top level, alerts, direct grants, review. */
	refused("criteria: []\napprove: {approvers: 2}\n", 2,
	        "unknown key 'approve' in the policy");
	refused("direct_grants: maybe\n", 1, "direct_grants is deny or allow");
	refused("review: {deadline: 31d}\n", 1, "review.deadline: duration");
	refused("alerts:\n  pagerduty: {}\n", 2, "needs secret_file or secret_files");
	refused("alerts:\n  pagerduty: {secret_file: a, secret_files: [b]}\n", 2, "one of them");
	refused("alerts:\n  generic:\n    secret_files: [a, b, a]\n", 3, "'a' is listed twice");
	refused("alerts:\n  sns: {topic_arns: [\"arn:aws:sqs:us-east-1:123456789012:q\"]}\n", 2,
	        "is not an SNS topic ARN");
	refused("alerts:\n  sns: {topic_arns: [\"arn:aws:sns:us-east-1:1234:q\"]}\n", 2,
	        "12-digit account");
	refused("alerts:\n  sns:\n    topic_arns: [\"arn:aws:sns:us-east-1:123456789012:q\"]\n"
	        "    cert_hosts: [\"127.0.0.1:99999\"]\n",
	        4, "has no valid port");
	refused("alerts:\n  sns: {ca_file: x}\n", 2, "alerts.sns needs topic_arns");
	refused("alerts:\n  alertmanager: {token_file: x}\n", 2,
	        "unknown key 'token_file' in alerts.alertmanager (bearer_token_file)");
	refused("alerts:\n  opsgenie: {}\n", 2, "unknown key 'opsgenie' in alerts");
	/* Notify. */
	refused("notify:\n  - {name: a, url: \"https://x/\", format: teams}\n", 2,
	        "notify format is slack or json, not 'teams'");
	refused("notify:\n  - name: a\n    url: https://x/\n    format: json\n", 2,
	        "format json needs secret_file");
	refused("notify:\n  - name: a\n    url: https://x/\n    format: slack\n"
	        "    secret_file: k\n",
	        5, "a slack body is not signed");
	refused("notify:\n  - name: a\n    url: https://x/\n    format: slack\n"
	        "    events: [request, escalation]\n",
	        5, "unknown event 'escalation'");
	refused("notify:\n  - name: a\n    url: https://x/\n    format: slack\n"
	        "    events: [solo, solo]\n",
	        5, "event solo is listed twice");
	refused("notify:\n  - {name: a, url: \"ftp://x/\", format: slack}\n", 2,
	        "must start with https:// or http://");
	refused("notify:\n  - {name: a, url: \"https://x/\", format: slack}\n"
	        "  - {name: a, url: \"https://y/\", format: slack}\n",
	        3, "notify name a is used twice (first on line 2)");
	refused("notify:\n  - {name: \"a b\", url: \"https://x/\", format: slack}\n", 2,
	        "notify name 'a b'");
	refused("notify:\n  - {name: a, format: slack}\n", 2, "notify a needs a url");
	/* Strict YAML through ytree. */
	refused("criteria:\n  - reason: &r {min_length: 5}\n", 2, "anchors");
	refused("approval: {approvers: 1, approvers: 2}\n", 1, "given twice");
}

/* examples/policy.yaml and examples/oncall.yaml load (the tests run from the repository's
 * root), and every criterion of the example passes for a request that should. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 65536);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, f);
	fclose(f);
	*len = n;
	return buf;
}

static void test_examples(void **state)
{
	char *text;
	size_t len, nf;
	policy *p = NULL;
	oncall *o = NULL;
	bg_err e;

	(void)state;
	text = slurp("examples/policy.yaml", &len);
	if (policy_parse(text, len, "examples/policy.yaml", &p, &e) != 0)
		fail_msg("%s", e.msg);
	free(text);
	assert_int_equal(policy_criteria_count(p), 7);
	assert_int_equal(policy_notify_count(p), 2);
	(void)policy_files(p, &nf);
	assert_int_equal(nf, 5);
	text = slurp("examples/oncall.yaml", &len);
	if (oncall_parse(text, len, "examples/oncall.yaml", &o, &e) != 0)
		fail_msg("%s", e.msg);
	free(text);
	assert_int_equal(oncall_rotation_count(o), 2);
	oncall_free(o);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_issue_example),
	    cmocka_unit_test(test_defaults_and_options),
	    cmocka_unit_test(test_errors_name_the_line),
	    cmocka_unit_test(test_examples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
