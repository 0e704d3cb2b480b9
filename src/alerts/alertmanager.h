/*
 * alertmanager.h - Prometheus Alertmanager's webhook (webhook_config, payload version "4"),
 * as POST /hooks/alertmanager receives it.
 *
 * One delivery is one alert group: {"version": "4", "groupKey", "truncatedAlerts", "status":
 * "firing"|"resolved", "receiver", "groupLabels", "commonLabels", "commonAnnotations",
 * "externalURL", "alerts": [{"status", "labels", "annotations", "startsAt", "endsAt",
 * "generatorURL", "fingerprint"}]}. The group is groupKey (its SHA-256 when longer than
 * BG_MAX_ALERT_GROUP); each alert's key is its fingerprint, or a hash of its labels when an
 * older Alertmanager sends none. Severity is the "severity" label of commonLabels, else the
 * most severe one among the alerts; service the "service" label (commonLabels, then
 * groupLabels); the title commonAnnotations.summary, else the alertname. Go writes an unset
 * endsAt as "0001-01-01T00:00:00Z", which becomes 0; a firing alert's ends_at is 0 whatever
 * it says (Prometheus sends a provisional end in the future).
 *
 * Alertmanager authenticates with a bearer token (http_config: authorization: credentials),
 * checked with alert_bearer_ok() (alert.h); the payload itself is not signed.
 */
#ifndef BG_ALERTMANAGER_H
#define BG_ALERTMANAGER_H

#include <stddef.h>

#include "alerts/alert.h"
#include "common/err.h"

/* Parses n bytes of a webhook body into *out (which the caller owns; about 60 KiB, so not
 * for a small stack). Returns 0; BG_EINVAL for malformed JSON, another version than "4",
 * missing or mistyped fields, an empty alert list, or an identity with control
 * characters; BG_ELIMIT past BG_MAX_HOOK_BODY or the nesting limit; BG_ENOMEM. Past
 * BG_MAX_HOOK_ALERTS alerts, firing ones are kept before resolved ones (so out->firing
 * stays true of the group) and the rest are counted in out->truncated, with
 * Alertmanager's own truncatedAlerts. */
int alertmanager_parse(const char *body, size_t n, alert_batch *out, bg_err *e) BG_MUST_CHECK;

#endif
