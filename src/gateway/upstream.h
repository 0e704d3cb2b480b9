/*
 * upstream.h - forwarding an allowed request to DynamoDB, re-signed with the gateway's
 * own AWS credentials, without blocking a thread.
 *
 * Clients' signatures are made with grant credentials that only the gateway honours, so
 * every forwarded request is signed again (SigV4, service "dynamodb") with the
 * gateway's own AWS identity: fixed credentials, or the current ones of a credchain
 * (signing/credchain.h), which a refresher thread renews off the request path. A
 * call is a libcurl transfer on the calling loop's multi handle (net/curl_loop.h); its
 * callback runs on that loop when the answer, or the failure, is complete. Easy handles
 * are pooled; upstream connections stay alive in each loop's multi handle.
 */
#ifndef BG_UPSTREAM_H
#define BG_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"
#include "net/curl_loop.h"
#include "signing/awscreds.h"
#include "signing/credchain.h"

typedef struct upstream upstream;
typedef struct upstream_call upstream_call;

typedef struct upstream_response {
	long status;
	bg_buf body;
	char request_id[128];   /* x-amzn-RequestId from upstream, may be empty */
	char crc32[16];         /* x-amz-crc32 from upstream, may be empty */
	char content_type[128]; /* Content-Type from upstream */
	char audit_seq[24];     /* x-breakglass-audit-seq: a breakglass gateway's record of the
	                           answer (the CLI's calls through it); empty from DynamoDB */
} upstream_response;

/* How a call ended. */
typedef enum upstream_outcome {
	UPSTREAM_ANSWERED, /* an HTTP answer came (errors and throttling included) */
	UPSTREAM_NOT_SENT, /* nothing was sent (no connection): the request did not run */
	UPSTREAM_UNKNOWN,  /* sent, but no complete answer: it may or may not have run */
} upstream_outcome;

/* Prepares forwarding to url (http:// or https://) for region. Takes ownership of creds
 * (NULL: set an identity with upstream_use_identity before the first call). timeout_ms
 * bounds a whole call (0: BG_UPSTREAM_TIMEOUT_MS). */
int upstream_new(const char *url, const char *region, awscreds *creds, long timeout_ms,
                 upstream **out, bg_err *e) BG_MUST_CHECK;

/* Signs every later call with the current credentials of id (borrowed: it outlives u),
 * instead of fixed ones. A call started while id has no valid credentials fails with
 * BG_EAUTH and a message for the client, and nothing is sent. */
void upstream_use_identity(upstream *u, credchain *id);

/* Frees the pooled handles and zeroes the credentials. No call may be running.
 * Accepts NULL. */
void upstream_free(upstream *u);

/* Starts POST / with X-Amz-Target target (n bytes) and body (borrowed: kept alive by the
 * caller until done runs) on mc's loop. done(arg, call) runs once on that loop; the
 * caller then reads upstream_call_outcome/_response and frees the call. BG_EAUTH: the
 * gateway has no valid AWS identity (nothing sent; e says so, starting "breakglass: "). */
int upstream_start(upstream *u, net_curl *mc, const char *target, size_t target_len,
                   const void *body, size_t len, void (*done)(void *arg, upstream_call *call),
                   void *arg, upstream_call **out, bg_err *e) BG_MUST_CHECK;

/* How the call ended; for a failure, why (a static or call-owned string). */
upstream_outcome upstream_call_outcome(const upstream_call *call, const char **why);

/* The answer (UPSTREAM_ANSWERED only); owned by the call. */
upstream_response *upstream_call_response(upstream_call *call);

/* Stops a running call without calling done (its outcome is then UPSTREAM_UNKNOWN if
 * anything was sent). Frees the call. Accepts NULL. */
void upstream_call_free(upstream_call *call);

/* Blocking form for tests and tools (and the API worker's table check): runs loop (which
 * mc belongs to) until the call ends, or until timeout_ms have passed (0: only the
 * upstream's own timeout bounds it; the call is then stopped). Returns 0 when an HTTP
 * answer came and fills *resp (the caller frees it with upstream_response_free, even on
 * failure), BG_EUPSTREAM otherwise. */
int upstream_call_sync(upstream *u, net_loop *loop, net_curl *mc, const char *target,
                       size_t target_len, const void *body, size_t len, long timeout_ms,
                       upstream_response *resp, bg_err *e) BG_MUST_CHECK;

void upstream_response_free(upstream_response *r);

#endif
