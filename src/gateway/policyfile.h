/*
 * policyfile.h - the gateway's policy (`serve --policy FILE`): the policy file parsed
 * (policy/policy.h), the files it names read beside it (the on-call schedule, the alert
 * webhooks' secrets), and the two views the rest of the gateway takes of it: the approval
 * rules and criteria evaluator the workflow asks (svc_policy), the webhooks' secrets and
 * the notification targets with theirs.
 *
 * Everything is read and checked at start, so a typo fails `serve` with the file and line
 * instead of failing a request at 2 a.m.; a missing or empty secret file is such an error
 * too. Secrets are wiped when the policy is freed and never logged.
 */
#ifndef BG_GW_POLICYFILE_H
#define BG_GW_POLICYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"
#include "gateway/runbooks.h"
#include "policy/oncall.h"
#include "policy/policy.h"
#include "workflow/request.h"

typedef struct gw_policy gw_policy;

/* The alert webhooks' settings, secrets read. A list with n == 0 (or a NULL token): that
 * endpoint is off. */
typedef struct gw_hook_secrets {
	const char *alertmanager_token;
	const char *pagerduty[BG_MAX_HOOK_SECRETS];
	size_t n_pagerduty;
	const char *generic[BG_MAX_HOOK_SECRETS];
	size_t n_generic;
	const char *const *sns_topics;
	size_t n_sns_topics;
	const char *const *sns_cert_hosts; /* n == 0: the AWS default hosts */
	size_t n_sns_cert_hosts;
	const char *sns_ca_file; /* resolved against the policy's folder; NULL: system CAs */
	int64_t sns_default_severity;
} gw_hook_secrets;

/* A notification target (the policy's notify:), its secret read. */
typedef struct gw_notify_target {
	const char *name;
	const char *url;
	policy_notify_format format;
	const char *secret; /* json: the HMAC key; slack: NULL */
	unsigned events;    /* POLICY_EV_* bits */
} gw_notify_target;

/* Loads path (NULL or "": no policy file; the defaults of svc_policy_default, webhooks
 * off). runbooks (may be NULL) tells the runbook_allowed_for_service check each
 * runbook's services. BG_EINVAL with "FILE:LINE: what" for a problem. */
int gw_policy_load(const char *path, gw_runbooks *runbooks, gw_policy **out,
                   bg_err *e) BG_MUST_CHECK;

void gw_policy_free(gw_policy *p);

/* The workflow's view: approvals, pending expiry, solo, and the criteria evaluator. */
const svc_policy *gw_policy_svc(const gw_policy *p);

/* The webhooks' settings. */
const gw_hook_secrets *gw_policy_hooks(const gw_policy *p);

/* The notification targets, n into *n (none without a policy file). */
const gw_notify_target *gw_policy_notify(const gw_policy *p, size_t *n);

/* The SHA-256 (hex) of the policy file's bytes as they were parsed; NULL without one. */
const char *gw_policy_sha256(const gw_policy *p);

/* The parsed policy file, NULL when none was given. */
const policy *gw_policy_rules(const gw_policy *p);

#endif
