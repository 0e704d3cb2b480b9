/*
 * review.h - teardown and the post-incident review (issue 11, points 1 and 3).
 *
 * `breakglass close INCIDENT` locks the door again in one transaction: every live grant
 * made for the incident's requests is revoked (a request already in flight finishes and
 * is audited; the next one is refused: the gateway's grant cache is updated before the
 * answer), the incident is resolved if it is not yet, and its review is opened with a
 * deadline (the policy's review.deadline, 24 h by default), with one audit record
 * ("incident-close") and a notification ("close"). Then the whole audit chain is
 * verified and the result given back, for the report.
 *
 * A review is signed once, with MFA, by an approver or admin who did not ask for access
 * during the incident (two people look at every break-glass). Until signed, a review past
 * its deadline is overdue: listed by `review list --overdue`, counted by `status`, and
 * notified once ("review").
 */
#ifndef BG_WORKFLOW_REVIEW_H
#define BG_WORKFLOW_REVIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "workflow/request.h"
#include "workflow/service.h"

typedef struct svc_close_result {
	store_incident incident;
	bool resolved_now;                               /* false: it was resolved before */
	char revoked[BG_MAX_CLOSE_GRANTS][STORE_ID_MAX]; /* the first of them */
	size_t n_revoked;                                /* all of them */
	store_review review;
	bool review_opened; /* false: it had one already (closing twice) */
	bool audit_ok;      /* the whole chain verified */
	int64_t audit_records;
	int64_t audit_bad_seq; /* the first record that does not verify; 0 when ok */
} svc_close_result;

/* Closes incident id (responders, approvers, admins; audit "incident-close"). Closing a
 * closed incident again revokes what is live and keeps the first review. */
int svc_incident_close(const svc *s, const svc_policy *p, svc_caller *c, const char *id,
                       const char *reason, svc_close_result *out, bg_err *e) BG_MUST_CHECK;

/* Signs incident's review with learnings (text, at most BG_MAX_LEARNINGS bytes; the
 * caller's step-up code checked; audit "review-sign"). Refused (BG_EDENIED) for anyone who
 * requested access for the incident; BG_EEXISTS when it is signed already. */
int svc_review_sign(const svc *s, svc_caller *c, const char *incident, const char *learnings,
                    store_review *out, bg_err *e) BG_MUST_CHECK;

/* The reviews, latest deadline first (any user may list them). */
int svc_review_list(const svc *s, int (*fn)(void *ctx, const store_review *r), void *ctx,
                    bg_err *e) BG_MUST_CHECK;

/* Whether r is overdue at now: unsigned and past its deadline. */
bool svc_review_overdue(const store_review *r, int64_t now);

/* {"incident","opened_at","opened_by","deadline","state": "open"|"overdue"|"signed",
 *  "signed_by","signed_at","learnings"}; NULL when out of memory. */
json_t *svc_review_json(const store_review *r, int64_t now);

/* The sweep's part: notifies each overdue review once (called with the expiry sweep).
 * Returns how many it notified, or a negative BG_E* code. */
int svc_review_sweep(const svc *s, int64_t now, bg_err *e);

#endif
