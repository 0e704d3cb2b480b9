/*
 * criteria.h - evaluating a break-glass request against the policy's trigger criteria, and
 * the approval decisions the workflow asks for. Pure: the service layer gathers what it
 * knows (the incident, its alerts, the requester, the on-call schedule, the request) into
 * a criteria_input, with `now`; nothing here reads a clock, a file or the store.
 *
 * Every criterion the policy lists is evaluated, always, in the policy's order, and each
 * gives a result with a one-line message naming the values it compared ("incident INC-7 is
 * SEV3; the policy needs SEV2 or more severe"), so a stored request shows why it was let
 * through and a refusal lists every failing criterion, not just the first.
 */
#ifndef BG_POLICY_CRITERIA_H
#define BG_POLICY_CRITERIA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"
#include "policy/oncall.h"
#include "policy/policy.h"

/* A runbook the request names, and the services it is for (runbook_services()). */
typedef struct criteria_runbook {
	const char *id;
	const char *const *services; /* NULL or n_services names */
	size_t n_services;
} criteria_runbook;

typedef struct criteria_input {
	/* The incident the request is for. */
	bool incident_exists;
	const char *incident_id;      /* for messages ("INC-7") */
	bool incident_open;           /* open, not resolved */
	int incident_severity;        /* 1..5, 1 the most severe */
	const char *incident_service; /* NULL: the incident names none */
	int64_t last_alert_at;        /* the most recent firing alert's time; 0: never */
	bool alert_firing_now;        /* an alert of the incident is firing at now */
	/* The requester. */
	const char *requester;
	const char *const *roles; /* not consulted by today's checks; kept for the record */
	size_t n_roles;
	const oncall *schedule; /* the requester_on_call schedule; NULL when not loaded */
	/* The request. */
	const char *reason; /* NULL counts as empty */
	const char *ticket; /* NULL counts as empty */
	const criteria_runbook *runbooks;
	size_t n_runbooks;
	int64_t duration_seconds;
	int64_t now;
} criteria_input;

typedef struct criteria_result {
	policy_check check;
	const char *name; /* the check's name (static) */
	bool ok;
	char message[BG_MAX_CRITERION_MESSAGE];
} criteria_result;

/*
 * Evaluates every criterion of p against in, in the policy's order, into out (room for
 * POLICY_N_CHECKS results); *n receives how many. Returns 0 when every one passed (also
 * when the policy lists none), BG_EDENIED when any failed.
 */
int criteria_eval(const policy *p, const criteria_input *in, criteria_result *out, size_t *n);

/* The results as JSON for the store and the API: [{"check":"reason","ok":false,
 * "message":"..."}]. A new reference, or NULL when out of memory. */
json_t *criteria_results_to_json(const criteria_result *r, size_t n);

/* Joins the failing results' messages with "; " into out (size cap): the refusal's text. */
void criteria_failures(const criteria_result *r, size_t n, char *out, size_t cap);

/* --- approval ----------------------------------------------------------------------- */

typedef enum approval_state {
	APPROVAL_PENDING,
	APPROVAL_APPROVED,
	APPROVAL_DENIED,
	APPROVAL_EXPIRED
} approval_state;

/* A request as the approval rule sees it. */
typedef struct approval_request {
	int64_t created_at;
	unsigned approvals; /* distinct approvers other than the requester */
	bool denied;        /* some approver denied it */
	int64_t now;
} approval_request;

/* Where the request stands: denied as soon as anyone denies; approved once it has the
 * policy's number of approvals; expired when neither happened within pending_expires;
 * pending otherwise. */
approval_state approval_decide(const policy *p, const approval_request *r);

/* The state's name ("pending", "approved", "denied", "expired"). */
const char *approval_state_name(approval_state s);

/*
 * Whether the requester may go solo now: the policy has solo_after, the request is still
 * pending and has waited at least that long. Otherwise why (size n) says what stands in
 * the way: that the policy forbids it, how long is left to wait, or that the request is
 * no longer pending.
 */
bool approval_solo_allowed(const policy *p, const approval_request *r, char *why, size_t n);

#endif
