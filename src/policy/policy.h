/*
 * policy.h - the policy file (`serve --policy FILE`, config key `policy`): the trigger
 * criteria a break-glass request must meet, the approval rule, the alert sources' secrets,
 * whether an admin's direct grant is allowed, the review deadline and where notifications
 * go. docs/policy.md documents every key.
 *
 * Parsing is pure (text in, object out: no file is opened, no clock is read) and strict:
 * the file is read through common/ytree, so every error names the file and line
 * ("policy.yaml:12: ..."), and an unknown key, an unknown check or parameter, a check listed
 * twice, a bad duration or regular expression is refused rather than ignored. Paths in
 * the file (schedule, secrets, CA) are kept as written, relative to the policy file: the
 * caller resolves and reads them, and policy_files() lists each with its line so a missing
 * one is reported where it is named.
 */
#ifndef BG_POLICY_POLICY_H
#define BG_POLICY_POLICY_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "policy/budget.h"
#include "policy/ratelimit.h"

/* The named built-in checks, in the order they are evaluated and reported. */
typedef enum policy_check {
	POLICY_INCIDENT_OPEN,               /* {max_severity: 1..5} */
	POLICY_ALERT_FIRING_WITHIN,         /* {minutes: N} */
	POLICY_REQUESTER_ON_CALL,           /* {schedule_file: F, rotation: R (optional)} */
	POLICY_REASON,                      /* {min_length: N} */
	POLICY_TICKET,                      /* {pattern: ERE} */
	POLICY_RUNBOOK_ALLOWED_FOR_SERVICE, /* true */
	POLICY_MAX_DURATION,                /* {minutes: N} */
	POLICY_N_CHECKS
} policy_check;

/* One criterion as the file gives it. Only the fields of its check are set. */
typedef struct policy_criterion {
	policy_check check;
	const char *name; /* "incident_open", ... (static) */
	unsigned line;
	int max_severity;          /* incident_open: SEV1..this (1 is the most severe) */
	int64_t window_seconds;    /* alert_firing_within */
	const char *schedule_file; /* requester_on_call: path as written */
	const char *rotation;      /* requester_on_call: only this rotation counts; NULL: any */
	int64_t min_length;        /* reason: characters, surrounding spaces not counted */
	const char *pattern;       /* ticket: as written */
	regex_t re;                /* ticket: compiled, anchored */
	int64_t max_seconds;       /* max_duration */
} policy_criterion;

/* Events a notify target may take (bit flags). */
enum {
	POLICY_EV_REQUEST = 1u << 0,
	POLICY_EV_APPROVAL = 1u << 1,
	POLICY_EV_DENIAL = 1u << 2,
	POLICY_EV_SOLO = 1u << 3,
	POLICY_EV_REVOCATION = 1u << 4,
	POLICY_EV_EXPIRY = 1u << 5,
	POLICY_EV_GRANT = 1u << 6,
	POLICY_EV_INCIDENT = 1u << 7,
	POLICY_EV_CLOSE = 1u << 8,  /* an incident closed: grants revoked, review opened */
	POLICY_EV_REVIEW = 1u << 9, /* a review signed, or overdue */
	POLICY_EV_ALL = (1u << 10) - 1
};

/* The event's name in the file and in notifications ("request", ...), or NULL for a
 * value that is not exactly one event. */
const char *policy_event_name(unsigned ev);

typedef enum policy_notify_format { POLICY_NOTIFY_SLACK, POLICY_NOTIFY_JSON } policy_notify_format;

typedef struct policy_notify {
	const char *name; /* unique in the file */
	const char *url;  /* http:// or https:// */
	policy_notify_format format;
	const char *secret_file; /* json: the HMAC key's file (required); slack: NULL */
	unsigned events;         /* POLICY_EV_* bits; all when the file names none */
	unsigned line;
} policy_notify;

/* A list of paths or names (secret files for rotation, topic ARNs, hosts). */
typedef struct policy_list {
	const char *const *items;
	size_t n;
} policy_list;

typedef struct policy_approval {
	int approvers;           /* distinct approvers, never the requester: 1..BG_MAX_APPROVERS */
	int64_t pending_expires; /* seconds a request waits for them (default 15m) */
	int64_t solo_after;      /* seconds before solo break-glass; 0: solo is forbidden */
} policy_approval;

typedef struct policy_alerts {
	const char *alertmanager_token_file; /* NULL: Alertmanager webhooks are not accepted */
	policy_list pagerduty_secret_files;  /* n == 0: PagerDuty webhooks are not accepted */
	policy_list sns_topic_arns;          /* n == 0: SNS is not accepted */
	policy_list sns_cert_hosts;       /* host[:port] allowed to serve SNS signing certificates;
	                                     n == 0: the AWS default (sns.REGION.amazonaws.com) */
	const char *sns_ca_file;          /* NULL: the system's CA store */
	int sns_default_severity;         /* SNS alarms open incidents at this SEV (default 3) */
	policy_list generic_secret_files; /* n == 0: the generic webhook is not accepted */
} policy_alerts;

typedef enum policy_direct_grants { POLICY_DIRECT_ALLOW, POLICY_DIRECT_DENY } policy_direct_grants;

/* A file the policy names, with where: for "policy.yaml:12: secrets/x: No such file". */
typedef struct policy_file {
	const char *path; /* as written, relative to the policy file */
	const char *key;  /* "requester_on_call.schedule_file", "notify[ops].secret_file", ... */
	unsigned line;
} policy_file;

typedef struct policy policy;

/*
 * Parses len bytes of policy YAML; name is the file's name for messages. Returns 0 with
 * *out (policy_free), or BG_EINVAL with "NAME:LINE: what" in e (the first problem), or
 * BG_ENOMEM. An empty document is a policy with no criteria and every default.
 */
int policy_parse(const char *text, size_t len, const char *name, policy **out,
                 bg_err *e) BG_MUST_CHECK;

/* Frees p (NULL is fine). */
void policy_free(policy *p);

/* The file's name as given to policy_parse. */
const char *policy_name(const policy *p);

/* The criteria in file order; n is at most POLICY_N_CHECKS (each check at most once). */
size_t policy_criteria_count(const policy *p);
const policy_criterion *policy_criterion_at(const policy *p, size_t i);
/* The criterion of check c, or NULL when the policy does not list it. */
const policy_criterion *policy_criterion_find(const policy *p, policy_check c);
/* The check's name in the file ("incident_open"). */
const char *policy_check_name(policy_check c);

const policy_approval *policy_get_approval(const policy *p);
const policy_alerts *policy_get_alerts(const policy *p);
policy_direct_grants policy_get_direct_grants(const policy *p);
/* Seconds from an incident's close to its review's sign-off deadline (default 24h). */
int64_t policy_review_deadline(const policy *p);
/* guardrails.rate: each grant's request rate on a gateway, or NULL when the policy sets
 * none (no limit). */
const rl_rate *policy_grant_rate(const policy *p);
/* guardrails.budget: each grant's read and write capacity units (policy/budget.h), or
 * NULL when the policy sets none. */
const budget_limits *policy_grant_budget(const policy *p);

size_t policy_notify_count(const policy *p);
const policy_notify *policy_notify_at(const policy *p, size_t i);

/* Every file the policy names (schedule, secrets, CA) in file order, n into *n. Owned by p. */
const policy_file *policy_files(const policy *p, size_t *n);

#endif
