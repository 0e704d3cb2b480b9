/*
 * request.h - break-glass requests: a responder asks for runbooks for an incident, the
 * policy's trigger criteria are evaluated, and distinct approvers (never the requester)
 * answer; enough approvals mint the grant, which shares the request's id. Where the
 * policy allows it, a request nobody answered within solo_after may be granted at once
 * (solo break-glass), which makes the incident's review mandatory.
 *
 * As everywhere in the service layer, each action validates first, takes the caller's
 * TOTP step-up, then changes state and appends its audit record ("request",
 * "request-approve", "request-deny", "request-solo") in one transaction. A request whose
 * criteria fail is kept too, as "refused", with every criterion's result: the refusal is
 * part of the incident's story. Answers are counted inside the transaction that records
 * them, so two approvers answering at once, or an answer racing the request's expiry,
 * end one way only.
 */
#ifndef BG_REQUEST_H
#define BG_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "workflow/service.h"

/* What the trigger criteria are evaluated on (gathered by the service layer). */
typedef struct svc_criteria_facts {
	const store_user *requester;
	unsigned roles;
	const store_incident *incident;
	const char *reason;
	const char *ticket;
	int64_t duration_seconds;
	const char *const *runbooks; /* ids */
	size_t n_runbooks;
	int64_t now;
} svc_criteria_facts;

/* The policy as the workflow needs it (the gateway adapts its policy file). */
typedef struct svc_policy {
	int64_t approvers;         /* distinct approvers a request needs (>= 1) */
	int64_t pending_seconds;   /* a request unanswered this long expires */
	int64_t solo_after;        /* solo break-glass this long after the request; < 0: never */
	bool direct_grants_denied; /* an admin's direct grant is refused (direct_grants: deny) */
	int64_t review_seconds; /* from close to the review's deadline (policy review.deadline) */
	/* Each grant's capacity budget (policy guardrails.budget), read and write capacity
	 * units; < 0: none. Recorded with the approval that makes a grant, so the report
	 * draws the incident's spend against it from the trail alone. */
	double budget_read, budget_write;
	/* Evaluates every trigger criterion: *results gets a new JSON array of
	 * {"check","ok","message"} and *ok whether all passed. NULL: no criteria. */
	int (*evaluate)(void *ctx, const svc_criteria_facts *f, json_t **results, bool *ok,
	                bg_err *e);
	void *ctx;
} svc_policy;

/* The rules when no policy file is loaded: one approval, 15 minutes, no solo, no
 * criteria. */
extern const svc_policy svc_policy_default;

/* What `breakglass request` asks for. */
typedef struct svc_request_input {
	const char *incident;
	const char *const *runbooks;
	size_t n_runbooks;
	const char *reason;
	const char *ticket;
	int64_t duration_seconds;
} svc_request_input;

/* Asks for access (responders; audit "request"). On 0, *out is the new pending request.
 * When a criterion fails the request is kept as "refused" (its record a "deny") and
 * BG_EDENIED says every failing criterion; *out is that request. */
int svc_request_create(const svc *s, const svc_policy *p, svc_caller *c,
                       const svc_request_input *in, store_request *out, bg_err *e) BG_MUST_CHECK;

/* Asks for more time on the caller's own active grant id (made from a request): a new
 * request for the same incident and pinned runbooks, extends = id, its criteria evaluated
 * for duration_seconds, answered as any request; its approval makes the grant run until
 * duration_seconds from then (never past a grant's longest life). reason may be NULL (the
 * first request's). No TOTP code: the approvers' answer is the gate. */
int svc_request_extend(const svc *s, const svc_policy *p, svc_caller *c, const char *id,
                       int64_t duration_seconds, const char *reason, store_request *out,
                       bg_err *e) BG_MUST_CHECK;

/* Solo break-glass on the caller's own pending request id: allowed when the policy has
 * solo_after and the request has waited that long without an answer; approves it at once
 * (audit "request-solo"), mints its grant (*g) and marks the incident's review mandatory.
 * BG_EDENIED with how long to wait, or that the policy forbids it. */
int svc_request_solo(const svc *s, const svc_policy *p, svc_caller *c, const char *id,
                     store_request *out, store_grant *g, bg_err *e) BG_MUST_CHECK;

/* An approver's answer (approve: audit "request-approve"; deny, which needs a reason:
 * "request-deny"). Never the requester's own; once per approver; only while pending and
 * before it expires. Enough approvals mint the grant: *granted tells whether this answer
 * did, and *g is the grant then. */
int svc_request_answer(const svc *s, const svc_policy *p, svc_caller *c, const char *id,
                       bool approve, const char *reason, store_request *out, bool *granted,
                       store_grant *g, bg_err *e) BG_MUST_CHECK;

/* The request (its requester, approvers and admins may see any; others their own). */
int svc_request_get(const svc *s, const svc_caller *c, const char *id, store_request *out,
                    bg_err *e) BG_MUST_CHECK;

/* Calls fn for each request the caller may see, newest first. */
int svc_request_list(const svc *s, const svc_caller *c,
                     int (*fn)(void *ctx, const store_request *r), void *ctx,
                     bg_err *e) BG_MUST_CHECK;

/* The request as the API shows it, its state as of now (a pending request past its
 * expiry is "expired"), with its answers and the approvers who may answer it
 * ("approvers"). *out is new (json_decref). */
int svc_request_json(const svc *s, const svc_policy *p, const store_request *r, json_t **out,
                     bg_err *e) BG_MUST_CHECK;

#endif
