/*
 * notify.h - notifications in the service layer: what an event says, and queuing it in
 * the outbox (store.h: store_outbox_*) inside the transaction of the change it describes,
 * so a committed change always has its notification and a rolled-back one never does.
 * Delivering them (formats, signatures, retries) is the gateway's notifier's job.
 *
 * A notification's payload is a JSON object with at least "event" (policy_event_name())
 * and "summary" (one line a person reads); the rest depends on the event:
 *   request   request (requester, reason, ticket, duration, every criterion's result,
 *             each runbook with its exact expressions and AWS CLI line), incident,
 *             approvers asked, approve_command, deny_command
 *   approval  request, incident, approved_by, grant      (when the grant is minted)
 *   denial    request, incident, denied_by, reason
 *   solo      as request, with grant: sent to every approver
 *   revocation grant, revoked_by
 *   grant     grant (an admin's direct grant), created_by
 *   incident  incident, opened_by
 *   expiry    request (unanswered) or grant (its time ran out)
 * Payloads never carry a secret: grants as grant_to_json() (no key material).
 */
#ifndef BG_NOTIFY_H
#define BG_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "workflow/service.h"

/* True when some target of s takes event (one POLICY_EV_* bit): only then is a payload
 * worth building. */
bool svc_notify_wanted(const svc *s, unsigned event);

/* Queues payload (borrowed; "event" is set in it here) for event in tx, one outbox row per
 * target of s that takes it; 0 when none does. A payload past BG_MAX_NOTIFY_PAYLOAD is
 * BG_ELIMIT: the change is then not made without its notification. */
int svc_notify_tx(const svc *s, store_tx *tx, unsigned event, json_t *payload,
                  bg_err *e) BG_MUST_CHECK;

/* A request as notifications show it, and its incident (inc may be NULL: only its id).
 * full adds what an approver decides on: every criterion's result, each runbook described
 * (s->runbooks' describe), the approvers who may answer, and the commands. A new object,
 * or NULL when out of memory or the store cannot list the approvers. */
json_t *svc_notify_request(const svc *s, const store_request *r, const store_incident *inc,
                           bool full);

/* The expiry sweep, for the notifier's thread: pending requests that expired by now are
 * marked "expired" (audit "request-expire", by "breakglass"), grants whose time ran out
 * are noticed (audit "grant-expire"), each with its expiry notification; only those that
 * expired within BG_NOTIFY_MAX_AGE_SECONDS (older ones are no news). Racing sweeps of
 * several gateways do each one once. *done (may be NULL) gets how many it did. */
int svc_expiry_sweep(const svc *s, int64_t now, size_t *done, bg_err *e) BG_MUST_CHECK;

#endif
