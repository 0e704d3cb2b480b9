/*
 * notifier.h - notifications out: one thread that delivers the outbox (store.h:
 * store_outbox_*; workflow/notify.h queues it in the transactions of the changes) to the
 * policy's notify targets, and runs the expiry sweep (svc_expiry_sweep) beside it.
 *
 * A pass, each second or as soon as a change queued something (gw_notifier_wake): the
 * sweep, then the due rows, oldest first. Each row is taken (reserved for
 * BG_NOTIFY_LEASE_SECONDS, so gateways sharing a store never send it twice at once),
 * rendered for its target and POSTed with libcurl (BG_NOTIFY_TIMEOUT_MS, no redirects,
 * http and https only); then its result and an audit record (kind "notify", decision
 * allow or deny, reason the HTTP status or the curl error, detail {target, event,
 * outbox_id, attempt}) commit together. A 2xx is delivered; anything else is retried
 * after gw_notify_backoff(), until BG_NOTIFY_MAX_AGE_SECONDS after the row was queued:
 * then it is abandoned, with a last "deny" record saying so. A row whose target the
 * policy no longer names is abandoned at once. Delivery is at least once: a gateway that
 * dies between the POST and the record sends it again after the lease.
 *
 * Formats (docs/policy.md):
 *   slack  {"text": summary, "blocks": [mrkdwn sections]}: Slack's incoming webhooks
 *   json   {"event", "id", "at", ...the payload}, signed as our generic alert webhook is
 *          (alerts/generic.h): X-Breakglass-Timestamp: <Unix seconds at sending> and
 *          X-Breakglass-Signature: v1=<hex HMAC-SHA256(secret, timestamp "." body)>, so
 *          one receiver library verifies both. The secret is never logged or recorded.
 */
#ifndef BG_GW_NOTIFIER_H
#define BG_GW_NOTIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "gateway/policyfile.h"

struct gw;
typedef struct gw_notifier gw_notifier;

/* A notification as it goes on the wire. */
typedef struct gw_notify_msg {
	char *body; /* owned; NUL-terminated JSON */
	size_t len;
	char timestamp[24]; /* json: X-Breakglass-Timestamp; "" for slack */
	char signature[72]; /* json: X-Breakglass-Signature ("v1=" + 64 hex); "" for slack */
} gw_notify_msg;

/* Renders outbox row id (event, payload: its JSON text, queued at created_at) for target
 * t, to be sent at now. 0, or BG_EINVAL for a payload that is not a JSON object, BG_EIO
 * when signing fails, BG_ENOMEM. Free *out with gw_notify_msg_free in every case. */
int gw_notify_render(const gw_notify_target *t, int64_t id, const char *event, const char *payload,
                     int64_t created_at, int64_t now, gw_notify_msg *out, bg_err *e) BG_MUST_CHECK;

void gw_notify_msg_free(gw_notify_msg *m);

/* Seconds until the next attempt after `failures` failed ones (>= 1): 1, 2, 4, ... at
 * most BG_NOTIFY_BACKOFF_MAX_MS / 1000. */
int64_t gw_notify_backoff(int64_t failures);

/* Starts the notifier of g (its store, audit log and runbooks; the policy's targets) when
 * the policy names targets; sets g->notifier (NULL when there are none). */
int gw_notifier_start(struct gw *g, bg_err *e) BG_MUST_CHECK;

/* Stops the thread (an HTTP exchange in progress is cut short; its row stays due) and
 * frees the notifier; g->notifier becomes NULL. Accepts a gateway without one. */
void gw_notifier_stop(struct gw *g);

/* The service layer's view: targets and the wake-up; NULL without a notifier. */
const svc_notify *gw_notifier_svc(const gw_notifier *n);

#endif
