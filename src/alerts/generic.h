/*
 * generic.h - breakglass's own alert webhook, for any system that can send an HTTP POST
 * (a cron job, a CI pipeline, a monitoring tool without a native integration), as POST
 * /hooks/generic receives it. docs/webhooks.md has the same with an example.
 *
 * Headers:
 *   X-Breakglass-Timestamp: <Unix seconds, decimal digits only>
 *   X-Breakglass-Signature: v1=<hex>[, v1=<hex> ...]
 * where each hex is the lower- or upper-case HMAC-SHA256, keyed with a shared secret, of
 * the timestamp exactly as sent, a ".", and the raw body. One entry per live secret while a
 * secret is rotated (at most BG_MAX_HOOK_SIGNATURES); entries of other schemes are
 * skipped. A delivery is genuine when any entry matches any of the secrets configured here
 * (also several while rotating), and fresh when the timestamp is within
 * BG_HOOK_MAX_SKEW_SECONDS (300) of our clock, either way. Replays inside that window
 * are refused by the caller, which remembers delivery ids ("id").
 *
 * Body (UTF-8 JSON object, at most BG_MAX_HOOK_BODY bytes, no duplicate keys):
 *   "id"       required string, 1-128 characters: this delivery; a retry sends it again
 *   "group"    required string, 1-511 characters: one incident per group
 *   "status"   required "firing" | "resolved"
 *   "title"    required string: the incident's title (cut at 255 bytes)
 *   "severity" optional "critical" | "error" | "warning" | "info" | "P1".."P5" | 1..5
 *              (1 most severe; absent: the gateway's default)
 *   "service"  optional string
 *   "alerts"   optional array of 1-64 objects, each:
 *                "name"      required string, 1-255 characters, unique in the delivery
 *                "status"    required "firing" | "resolved"
 *                "summary"   optional string (cut at 511 bytes)
 *                "starts_at" optional RFC 3339 time
 *                "ends_at"   optional RFC 3339 time
 *              Without "alerts" the delivery is one alert: key the group, named by the
 *              title, of the delivery's status. With them, "status" must be "firing"
 *              exactly when one of them is.
 * Other keys are refused (a misspelt "sevrity" must not pass unnoticed), except those
 * starting with "x-", which are ignored. Identities (id, group, alert names) may not hold
 * control characters; in texts they become spaces.
 */
#ifndef BG_GENERIC_H
#define BG_GENERIC_H

#include <stddef.h>
#include <stdint.h>

#include "alerts/alert.h"
#include "common/err.h"

/* Checks the two header values (n bytes each) against the body with each of the
 * n_secrets secrets, at time now. Returns 0 with *sent_at set to the timestamp when
 * genuine and fresh; BG_EAUTH (a header missing, or no signature matches); BG_EINVAL (a
 * malformed header); BG_EEXPIRED (genuine but outside the time window: stale or from the
 * future); BG_ELIMIT (too many signatures or secrets). */
int generic_verify(const char *timestamp, size_t ts_n, const char *signature, size_t sig_n,
                   const void *body, size_t body_n, const char *const *secrets, size_t n_secrets,
                   int64_t now, int64_t *sent_at, bg_err *e) BG_MUST_CHECK;

/* Parses a body into *out (the caller's; about 60 KiB). Returns 0; BG_EINVAL for malformed
 * JSON, a missing, mistyped or unknown field, an unknown severity or status, a repeated
 * alert name, or a status the alerts contradict; BG_ELIMIT past the size, nesting or
 * BG_MAX_HOOK_ALERTS limits; BG_ENOMEM. */
int generic_parse(const char *body, size_t n, alert_batch *out, bg_err *e) BG_MUST_CHECK;

#endif
