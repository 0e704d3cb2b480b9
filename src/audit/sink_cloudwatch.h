/*
 * sink_cloudwatch.h - the Amazon CloudWatch Logs transport of the audit sinks (audit/sink.h,
 * type "cloudwatch"): each record becomes one log event of PutLogEvents (JSON 1.1, SigV4 with
 * service "logs", the gateway's own identity), in the configured log group and stream.
 *
 * The transport is cut into pure steps, so each is unit-tested and the answer parser
 * fuzzed without a network: records become events (message and timestamp), events are cut
 * into batches within the service's quotas (limits.h BG_CWLOGS_*), a batch becomes a
 * request body, a body becomes signed headers, and an HTTP answer becomes a verdict.
 * sink_cloudwatch_ops.deliver strings them together over one libcurl easy handle.
 *
 * Decisions (docs/audit.md, "CloudWatch Logs"):
 *  - A record's event timestamp is its own time, unless the service would refuse it (older
 *    than BG_CWLOGS_MAX_AGE_MS or further ahead than BG_CWLOGS_MAX_AHEAD_MS at delivery):
 *    then the delivery time. Timestamps never go back within one delivery (a record stamped
 *    earlier than the one before it, after a clock step, gets the one before's), so events
 *    stay in seq order. The record's own ts is inside the message either way.
 *  - Events the service still refuses (rejectedLogEventsInfo: a log group retention shorter
 *    than 14 days, a clock further off than the margin) are sent once more stamped with
 *    the delivery time; refused again, the delivery fails naming them. Nothing is dropped.
 *  - A missing log stream is created (CreateLogStream, then the batch again); a missing log
 *    group is an error naming it: its retention, encryption and owner are an operator's
 *    choice, and the gateway's role needs no logs:CreateLogGroup.
 *  - Sequence tokens are ignored by the service today; an older endpoint's token is kept
 *    and sent, InvalidSequenceTokenException is retried once with the expected token, and
 *    DataAlreadyAcceptedException counts as accepted.
 *  - Throttling and every other error fail the delivery; the framework retries with backoff.
 */
#ifndef BG_AUDIT_SINK_CLOUDWATCH_H
#define BG_AUDIT_SINK_CLOUDWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "audit/sink.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/limits.h"

/* One log event to send. msg points into the record's line, or at stub (owned). */
typedef struct cwlogs_event {
	int64_t seq;
	int64_t ts_ms; /* the event's timestamp (see above) */
	const char *msg;
	size_t len;
	char *stub; /* the redacted stub when the record was too long, else NULL */
} cwlogs_event;

/* Makes the events of recs[0..n) at delivery time now_ms into out[0..n) (the caller's
 * array). A record whose message would pass BG_CWLOGS_MAX_EVENT_BYTES becomes
 * {"seq":N,"prev_hash":"..","hash":"..","redacted":true}, built from its JSON. Returns 0,
 * or BG_EINVAL (an empty record, or a long one that is not a record's JSON) / BG_ENOMEM
 * naming the seq; out is then already cleared. Release with cwlogs_events_clear. */
int cwlogs_events_make(const sink_rec *recs, size_t n, int64_t now_ms, cwlogs_event *out,
                       bg_err *e) BG_MUST_CHECK;

/* Frees the stubs of ev[0..n). */
void cwlogs_events_clear(cwlogs_event *ev, size_t n);

/* How many of the first events of ev[0..n) one PutLogEvents may carry: at most
 * BG_CWLOGS_MAX_BATCH_EVENTS, BG_CWLOGS_MAX_BATCH_BYTES counting BG_CWLOGS_EVENT_OVERHEAD
 * per event, and a span of less than BG_CWLOGS_MAX_SPAN_MS. At least 1 when n >= 1 (an
 * event is never longer than a batch). Events out of time order end the batch before them
 * (cwlogs_events_make never makes such). */
size_t cwlogs_batch_fit(const cwlogs_event *ev, size_t n);

/* The body of PutLogEvents for ev[0..n) into body (reset first): {"logGroupName",
 * "logStreamName", "logEvents":[{"timestamp","message"}...], "sequenceToken" when token is
 * not NULL}. Returns 0, BG_EINVAL (a message that is not UTF-8, naming its seq), BG_ELIMIT
 * or BG_ENOMEM. */
int cwlogs_put_body(const char *group, const char *stream, const char *token,
                    const cwlogs_event *ev, size_t n, bg_buf *body, bg_err *e) BG_MUST_CHECK;

/* The body of CreateLogStream. Same returns. */
int cwlogs_create_stream_body(const char *group, const char *stream, bg_buf *body,
                              bg_err *e) BG_MUST_CHECK;

/* What a request is sent to: the Host header's value (with a port when the URL has one) and
 * the URL to POST to ("SCHEME://HOST/"). */
typedef struct cwlogs_endpoint {
	char url[BG_MAX_URL + 1];
	char host[BG_MAX_URL + 1];
} cwlogs_endpoint;

/* The endpoint: conf_url when not NULL, else the environment's AWS_ENDPOINT_URL_LOGS when
 * set, else https://logs.REGION.amazonaws.com. Returns 0 or BG_EINVAL naming the URL (not
 * http(s), too long). */
int cwlogs_endpoint_resolve(const char *conf_url, const char *region, cwlogs_endpoint *out,
                            bg_err *e) BG_MUST_CHECK;

/* The headers of one request to ep for operation op ("PutLogEvents") with body, signed at
 * now for region with the given credentials (token may be NULL), as "Name: value" lines
 * each ended by "\n", into out (reset first): Content-Type, X-Amz-Target, X-Amz-Date,
 * X-Amz-Security-Token (with a token), Authorization. The signed headers are
 * content-type;host;x-amz-date;x-amz-target (and x-amz-security-token), as botocore signs
 * them. out holds the session token: free it with bg_buf_free_secure. Returns 0 or the
 * signer's error. */
int cwlogs_request_headers(const cwlogs_endpoint *ep, const char *region, const char *op,
                           const void *body, size_t len, const char *akid, const char *secret,
                           const char *token, time_t now, bg_buf *out, bg_err *e) BG_MUST_CHECK;

typedef enum cwlogs_verdict {
	CWLOGS_OK,          /* 200; rejected events, if any, in the rejected_* fields */
	CWLOGS_NO_RESOURCE, /* ResourceNotFoundException (the stream, or the group) */
	CWLOGS_EXISTS,      /* ResourceAlreadyExistsException (CreateLogStream raced) */
	CWLOGS_BAD_TOKEN,   /* InvalidSequenceTokenException */
	CWLOGS_ALREADY,     /* DataAlreadyAcceptedException */
	CWLOGS_THROTTLED,   /* ThrottlingException, ServiceUnavailableException, HTTP 5xx */
	CWLOGS_ERROR,       /* any other error answer, or a 200 that is not the answer */
} cwlogs_verdict;

/* A parsed answer. Strings are NUL-terminated and cut to size, with control bytes
 * replaced by '?' (they go into error messages). */
typedef struct cwlogs_answer {
	cwlogs_verdict verdict;
	long status;
	char code[64];     /* the error's code (text after the last '#' of __type), or "" */
	char message[160]; /* its message / Message, or "" */
	/* nextSequenceToken (200) or expectedSequenceToken (the token errors, from the member
	 * or, as older endpoints put it, the end of the message); "" when none */
	char token[BG_CWLOGS_MAX_TOKEN + 1];
	/* rejectedLogEventsInfo, -1 when absent: events [too_new_start, n) too new,
	 * [0, too_old_end) too old, [0, expired_end) past the group's retention */
	int64_t too_new_start, too_old_end, expired_end;
} cwlogs_answer;

/* Parses an answer of HTTP status with body[0..len) (not NUL-terminated, any bytes).
 * Always fills out; returns out->verdict. */
cwlogs_verdict cwlogs_answer_parse(long status, const char *body, size_t len, cwlogs_answer *out);

/* Whether an OK answer rejected any of n events. */
bool cwlogs_answer_rejected(const cwlogs_answer *a, size_t n);

/* The events of n an OK answer rejected, as the service reports them: [0, *head) (too
 * old, expired) and [*tail, n) (too new), with 0 <= *head <= *tail <= n whatever the
 * answer says; the events between were taken. */
void cwlogs_answer_rejected_range(const cwlogs_answer *a, size_t n, size_t *head, size_t *tail);

#endif
