/*
 * alert.h - what an alert webhook delivery says, whatever sent it: the common result of
 * the four parsers (alertmanager.h, sns.h, pagerduty.h, generic.h), and the helpers they
 * share (RFC 3339 times, severity names, bounded text, JSON loading, the "v1=<hex>"
 * HMAC-SHA256 signature lists, bearer tokens).
 *
 * This layer is pure: no sockets, files or clock. Callers pass the raw body and header
 * values they received and the time they take as now; the HTTP endpoints, the store and
 * the fetching of SNS certificates live above it.
 *
 * Text in an alert_batch is NUL-terminated, valid UTF-8 and printable. Identities (key,
 * group, delivery) are refused when they hold a control character or do not fit, since a
 * changed identity would open a second incident. Texts for people (name, title, summary,
 * service) have each control character (C0, DEL, C1, and the bidirectional overrides that
 * can make a log line lie) replaced by a space and are cut at a character boundary when
 * long.
 */
#ifndef BG_ALERT_H
#define BG_ALERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"

/* A parser's answer for a delivery that is genuine and well-formed but says nothing about
 * an incident (a PagerDuty ping, a note added to an incident): the endpoint answers 200
 * and changes nothing. Positive, so that `rc < 0` still means an error. */
#define ALERT_IGNORED 1

typedef enum alert_source {
	ALERT_ALERTMANAGER,
	ALERT_SNS,
	ALERT_PAGERDUTY,
	ALERT_GENERIC
} alert_source;

typedef struct alert_item {
	/* The alert's identity inside its group: Alertmanager fingerprint (or "sha256:" and a
	 * hash of its labels when absent), SNS alarm name, PagerDuty incident id, generic
	 * alert name (the group when the delivery lists no alerts). Never empty. */
	char key[BG_MAX_ALERT_KEY + 1];
	char name[BG_MAX_ALERT_NAME + 1]; /* alertname / AlarmName / incident title / name */
	bool firing;                      /* firing, ALARM, triggered|acknowledged vs resolved */
	int64_t starts_at;                /* Unix seconds; 0 unknown */
	int64_t ends_at;                  /* Unix seconds; 0 unknown or still firing */
	char summary[BG_MAX_ALERT_SUMMARY + 1];
} alert_item;

typedef struct alert_batch {
	alert_source source;
	/* One incident per group: Alertmanager groupKey, SNS alarm name, PagerDuty incident
	 * id, generic "group". Never empty. */
	char group[BG_MAX_ALERT_GROUP + 1];
	/* This delivery's id for de-duplication where the format has one (SNS MessageId,
	 * PagerDuty event id, generic id); "" otherwise. */
	char delivery[BG_MAX_ALERT_DELIVERY + 1];
	char title[BG_MAX_ALERT_TITLE + 1];     /* a human title for a new incident */
	int severity;                           /* 1 (most severe) .. 5; 0 not stated */
	char service[BG_MAX_ALERT_SERVICE + 1]; /* "" when none */
	bool firing;                            /* any item firing */
	/* When the sender says the delivery's event happened, covered by its signature
	 * (PagerDuty occurred_at): Unix seconds; 0 unknown. Checked with alert_fresh(). */
	int64_t sent_at;
	size_t truncated; /* alerts the sender or BG_MAX_HOOK_ALERTS left out (Alertmanager) */
	size_t n;         /* 1 .. BG_MAX_HOOK_ALERTS */
	alert_item items[BG_MAX_HOOK_ALERTS];
} alert_batch;

/* "alertmanager", "sns", "pagerduty", "generic" (the endpoints' last path segment). */
const char *alert_source_name(alert_source s);

/* A severity by name: critical 1, error 2, warning 3, info 4 (any case), the digits "1".."5",
 * and PagerDuty priorities "P1".."P5". 0 for NULL or anything else. */
int alert_severity_parse(const char *s);

/* An RFC 3339 time of n bytes at s: "2026-11-24T03:27:00Z", with fractional seconds
 * (dropped) and a "Z" or numeric offset ("+02:00"; also "+0200", which CloudWatch sends).
 * Years 0001-9999: Go's zero time "0001-01-01T00:00:00Z" is a large negative number, which
 * the parsers store as 0 (unset). Returns 0, or BG_EINVAL (*t unchanged). */
int alert_time_parse(const char *s, size_t n, int64_t *t) BG_MUST_CHECK;

/* True when the Authorization header value (n bytes) is "Bearer <token>" for this token, as
 * Alertmanager sends it for http_config.authorization.credentials (or bearer_token). The
 * scheme is matched in any case; the token is compared in constant time (as SHA-256 digests,
 * so not even its length leaks). An empty or NULL token never matches. */
bool alert_bearer_ok(const char *authorization, size_t n, const char *token);

/* True when every string in b is NUL-terminated within its array, valid UTF-8 without
 * control characters, identities are non-empty, 1 <= n <= BG_MAX_HOOK_ALERTS, severity is
 * 0..5 and firing agrees with the items: what the parsers promise (the fuzz targets check). */
bool alert_batch_valid(const alert_batch *b);

/* Whether a genuine delivery dated sent_at (Unix seconds, covered by its signature) may be
 * applied at now: 0 when it is at most BG_HOOK_MAX_SKEW_SECONDS ahead and at most
 * BG_HOOK_DELIVERY_MEMORY less that skew old; else BG_EEXPIRED, the message naming the
 * date as what. Delivery ids are remembered for BG_HOOK_DELIVERY_MEMORY, so an older
 * delivery could be replayed unnoticed (senders retry for hours, never days). */
int alert_fresh(int64_t sent_at, int64_t now, const char *what, bg_err *e) BG_MUST_CHECK;

/* ---- shared by the parsers in this folder (not for callers) ---- */

/* Empties b for a delivery from src. */
void alert_batch_init(alert_batch *b, alert_source src);

/* Sets b->firing from the items. */
void alert_batch_finish(alert_batch *b);

/* Parses a webhook body: at most BG_MAX_HOOK_BODY bytes, no NUL, nesting at most
 * BG_MAX_HOOK_JSON_DEPTH, valid UTF-8, no duplicate keys, one JSON object. *out is the
 * caller's to json_decref. what names the document in messages. */
int alert_json_load(const char *body, size_t n, const char *what, json_t **out,
                    bg_err *e) BG_MUST_CHECK;

/* The string member key of o: 0 with *s (and *n, if n is not NULL) set, or *s = NULL when
 * absent or null and not required; BG_EINVAL when required and absent, or not a string. */
int alert_json_str(json_t *o, const char *key, bool required, const char **s, size_t *n,
                   bg_err *e) BG_MUST_CHECK;

/* The "status" member of o: 0 with *firing set for "firing" or "resolved"; BG_EINVAL for
 * anything else or when absent. */
int alert_json_status(json_t *o, bool *firing, bg_err *e) BG_MUST_CHECK;

/* alert_batch_init(b, src), then alert_json_load() of the body into *root. */
int alert_parse_begin(alert_batch *b, alert_source src, const char *body, size_t n,
                      const char *what, json_t **root, bg_err *e) BG_MUST_CHECK;

/* The object (or array) member key of o, NULL when absent or null; BG_EINVAL when it is
 * there but of another type. */
int alert_json_obj(json_t *o, const char *key, json_t **out, bg_err *e) BG_MUST_CHECK;
int alert_json_arr(json_t *o, const char *key, json_t **out, bg_err *e) BG_MUST_CHECK;

/* Copies an identity of n bytes into dst (cap bytes with the NUL): 0, or BG_EINVAL when it
 * is empty, holds a control character, or does not fit. what names it in messages. */
int alert_copy_id(char *dst, size_t cap, const char *what, const char *s, size_t n,
                  bg_err *e) BG_MUST_CHECK;

/* Puts "sha256:" and the 64-hex SHA-256 of n bytes at s into dst (at least
 * ALERT_HASHED_ID_SIZE bytes): an identity for what is too long or has no id. */
#define ALERT_HASHED_ID_SIZE 72
void alert_hashed_id(char *dst, const char *s, size_t n);

/* Copies a text for people (n bytes of valid UTF-8, NULL for none) into dst (cap bytes),
 * control characters replaced by spaces, cut at a character boundary. */
void alert_copy_text(char *dst, size_t cap, const char *s, size_t n);

/* A time member of o (RFC 3339): 0 with *t set (0 when absent, null, or not after the
 * epoch: Go writes "unset" as year 1); BG_EINVAL when not a string or not a time. */
int alert_json_time(json_t *o, const char *key, int64_t *t, bg_err *e) BG_MUST_CHECK;

/*
 * Checks a signature header of "v1=<64 hex>" entries (comma-separated, spaces allowed,
 * at most BG_MAX_HOOK_SIGNATURES) against HMAC-SHA256(secret, prefix || body) for each of
 * the n_secrets secrets (1..BG_MAX_HOOK_SECRETS, NUL-terminated, non-empty). Entries of
 * other schemes are skipped (a sender may add one); at least one v1 entry must be there.
 * Every signature is compared with every secret's MAC in constant time. Returns 0 when one
 * matches; BG_EAUTH when none does; BG_EINVAL for a malformed header; BG_ELIMIT for too
 * many entries or secrets. what names the header in messages.
 */
int alert_hmac_check(const char *header, size_t header_n, const char *what,
                     const char *const *secrets, size_t n_secrets, const void *prefix,
                     size_t prefix_n, const void *body, size_t body_n, bg_err *e) BG_MUST_CHECK;

#endif
