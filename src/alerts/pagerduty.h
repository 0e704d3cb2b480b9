/*
 * pagerduty.h - PagerDuty's v3 webhooks (a webhook subscription), as POST /hooks/pagerduty
 * receives them.
 *
 * Authentication: X-PagerDuty-Signature is "v1=<hex>" entries, comma-separated (one per
 * live secret while PagerDuty rotates one), each HMAC-SHA256 of the raw body with the
 * subscription's secret. We may hold several secrets too (ours rotate as well); a delivery
 * is genuine when any signature matches any secret. No header is timestamped, so a replay
 * is caught by its event id (out->delivery), which the caller remembers, and by the
 * signed occurred_at (out->sent_at), which the caller checks with alert_fresh(): an event
 * older than the memory of ids is refused.
 *
 * Body: {"event": {"id", "event_type": "incident.triggered" | ".acknowledged" |
 * ".resolved" | ".reopened" | ".priority_updated" | ..., "resource_type": "incident",
 * "occurred_at", "data": {"id", "type": "incident", "title", "status": "triggered" |
 * "acknowledged" | "resolved", "urgency": "high" | "low", "priority": {"summary": "P1"} |
 * null, "service": {"summary"}, "created_at", "html_url", ...}}}. The group and the one
 * item's key are the incident id; firing unless the status is resolved; severity the
 * priority ("P1".."P5"), else urgency (high 2, low 3); service the service's summary.
 */
#ifndef BG_PAGERDUTY_H
#define BG_PAGERDUTY_H

#include <stddef.h>

#include "alerts/alert.h"
#include "common/err.h"

/* Checks the X-PagerDuty-Signature value (n bytes) against the body with each of the
 * n_secrets secrets. Returns 0 when genuine; BG_EAUTH (missing header, or no signature
 * matches); BG_EINVAL (malformed header); BG_ELIMIT (too many signatures or secrets). */
int pagerduty_verify(const char *signature, size_t n, const void *body, size_t body_n,
                     const char *const *secrets, size_t n_secrets, bg_err *e) BG_MUST_CHECK;

/* Parses a v3 event into *out (the caller's; about 60 KiB). Returns 0; ALERT_IGNORED for
 * a well-formed event about something other than an incident's state (a ping, a note, a
 * responder request: resource_type or data.type is not "incident"; *out then holds only
 * the delivery id); BG_EINVAL for malformed JSON or a missing or mistyped field; BG_ELIMIT
 * past the size or nesting limits; BG_ENOMEM. */
int pagerduty_parse(const char *body, size_t n, alert_batch *out, bg_err *e) BG_MUST_CHECK;

#endif
