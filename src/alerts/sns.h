/*
 * sns.h - Amazon SNS messages to an HTTP(S) subscription, as POST /hooks/sns receives them,
 * and the CloudWatch alarms they carry.
 *
 * A message is JSON: Type (SubscriptionConfirmation | Notification |
 * UnsubscribeConfirmation), MessageId, Token and SubscribeURL (confirmations), TopicArn,
 * Subject (notifications, optional), Message, Timestamp, SignatureVersion ("1":
 * SHA1withRSA, "2": SHA256withRSA), Signature (base64), SigningCertURL, UnsubscribeURL.
 *
 * What the endpoint does with one, in order:
 *   1. sns_parse() the body;
 *   2. sns_topic_ok(): the TopicArn is one we subscribed (else refuse: anyone can make SNS
 *      sign a message for their own topic);
 *   3. sns_cert_url_ok() on sns_msg_cert_url(), then fetch the PEM over TLS (the TLS
 *      check of an AWS host is what vouches for the certificate: SNS publishes no chain);
 *   4. sns_verify() with the PEM and now, then sns_fresh() (a genuine message is refused
 *      once its MessageId may have been forgotten);
 *   5. SubscriptionConfirmation: sns_cert_url_ok() on sns_msg_subscribe_url() and GET it.
 *      Notification: sns_alarm(), and de-duplicate on out->delivery (the MessageId; SNS
 *      retries a delivery with the same one).
 *
 * The string to sign follows "Verifying the signatures of Amazon SNS messages": each key
 * and its value on lines of their own, each followed by "\n", in byte order of the keys:
 * Message, MessageId, Subject (only when present), Timestamp, TopicArn, Type for a
 * Notification; Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type for
 * the two confirmations. Values are the decoded JSON strings.
 *
 * A CloudWatch alarm notification's Message is JSON: AlarmName, AlarmDescription,
 * NewStateValue (ALARM | OK | INSUFFICIENT_DATA), NewStateReason, StateChangeTime, Region,
 * Trigger.Dimensions [{name, value}]. The group and the one item's key are the alarm name;
 * firing means ALARM (INSUFFICIENT_DATA is not firing); severity comes from a
 * "severity=NAME" word in AlarmDescription (else 0), service from a "service=NAME" word
 * there, else the TableName dimension.
 */
#ifndef BG_SNS_H
#define BG_SNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerts/alert.h"
#include "common/err.h"

typedef enum sns_type {
	SNS_NOTIFICATION,
	SNS_SUBSCRIPTION_CONFIRMATION,
	SNS_UNSUBSCRIBE_CONFIRMATION
} sns_type;

/* One parsed message (opaque); owns its strings. */
typedef struct sns_msg sns_msg;

/* Parses n bytes of a message body into *out (the caller frees it with sns_msg_free).
 * Returns 0; BG_EINVAL for malformed JSON, an unknown Type or SignatureVersion, a missing
 * or mistyped field the Type needs, or a Timestamp that is not RFC 3339; BG_ELIMIT past
 * the size or nesting limits; BG_ENOMEM. */
int sns_parse(const char *body, size_t n, sns_msg **out, bg_err *e) BG_MUST_CHECK;

/* Releases m (NULL is fine). */
void sns_msg_free(sns_msg *m);

/* The fields an endpoint needs, owned by m (NUL-terminated; NULL when the message has
 * none: a SubscribeURL outside confirmations). */
sns_type sns_msg_type(const sns_msg *m);
const char *sns_msg_id(const sns_msg *m);
const char *sns_msg_topic(const sns_msg *m);
const char *sns_msg_cert_url(const sns_msg *m);
const char *sns_msg_subscribe_url(const sns_msg *m);
int64_t sns_msg_time(const sns_msg *m); /* Timestamp, Unix seconds */

/*
 * True when the n bytes at url may be fetched: "https://", then a host[:port] (up to the
 * first '/' or '?') that the allow-list names, then printable ASCII only. With n_hosts ==
 * 0 the allow-list is AWS's: sns.<region>.amazonaws.com or sns.<region>.amazonaws.com.cn,
 * without a port or with :443. Otherwise hosts lists exact "host" or "host:port" entries
 * (compared without regard to case), which replace AWS's (tests use "127.0.0.1:PORT").
 * Userinfo ('@'), percent-escapes, backslashes, fragments, spaces, non-ASCII and URLs
 * longer than BG_MAX_SNS_URL are refused.
 */
bool sns_cert_url_ok(const char *url, size_t n, const char *const *hosts, size_t n_hosts);

/* With AWS's hosts (no configured list), the stricter rule for a certificate URL that
 * already passed sns_cert_url_ok(): exactly "https://sns.REGION.amazonaws.com[.cn]/
 * SimpleNotificationService-<32 hex>.pem" with REGION the topic ARN's region, so a caller
 * who knows a topic cannot make the gateway fetch other paths. */
bool sns_cert_url_aws(const char *url, const char *topic);

/* True when m's TopicArn is exactly one of the n_topics ARNs (never when n_topics is 0). */
bool sns_topic_ok(const sns_msg *m, const char *const *topics, size_t n_topics);

/* Verifies m's Signature with the certificate at pem (pem_n bytes of PEM, fetched by the
 * caller from sns_msg_cert_url()): an X.509 certificate valid at now, with an RSA key of
 * at least BG_MIN_SNS_RSA_BITS, whose key verifies the string to sign under SHA-1
 * (SignatureVersion 1) or SHA-256 (2). Returns 0; BG_EAUTH for a signature that does not
 * verify or is not base64; BG_EEXPIRED for a certificate not valid at now; BG_EINVAL for
 * a PEM that is not a certificate or a key that is not RSA or too short; BG_ELIMIT for an
 * oversize PEM or signature; BG_ENOMEM. */
int sns_verify(const sns_msg *m, const char *pem, size_t pem_n, int64_t now,
               bg_err *e) BG_MUST_CHECK;

/* alert_fresh() of m's Timestamp (which the signature covers) at now: 0, or BG_EEXPIRED
 * when the message is too old for its MessageId to be remembered, or dated ahead. */
int sns_fresh(const sns_msg *m, int64_t now, bg_err *e) BG_MUST_CHECK;

/* Reads the CloudWatch alarm in a Notification's Message into *out (the caller's; about
 * 60 KiB); out->delivery is the MessageId. Returns 0; BG_EINVAL when m is not a
 * Notification or its Message is not a CloudWatch alarm (not JSON, or no AlarmName or
 * NewStateValue), or a field is mistyped; BG_ELIMIT; BG_ENOMEM. */
int sns_alarm(const sns_msg *m, alert_batch *out, bg_err *e) BG_MUST_CHECK;

#endif
