/*
 * upstream.h - forwarding an allowed request to DynamoDB, re-signed with the gateway's
 * own AWS credentials.
 *
 * Clients' signatures are made with grant credentials that only the gateway honours, so
 * every forwarded request is signed again (SigV4, service "dynamodb") with the
 * credentials from the standard environment variables or shared credentials file. A pool
 * of libcurl handles keeps connections to the upstream alive across requests; each call
 * checks one out, so concurrent client connections never share a handle.
 */
#ifndef BG_UPSTREAM_H
#define BG_UPSTREAM_H

#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"
#include "signing/awscreds.h"

typedef struct upstream upstream;

typedef struct upstream_response {
	long status;
	bg_buf body;
	char request_id[128];   /* x-amzn-RequestId from upstream, may be empty */
	char crc32[16];         /* x-amz-crc32 from upstream, may be empty */
	char content_type[128]; /* Content-Type from upstream */
} upstream_response;

/* Prepares forwarding to url (http:// or https://) for region. Takes ownership of creds. */
int upstream_new(const char *url, const char *region, awscreds *creds, upstream **out,
                 bg_err *e) BG_MUST_CHECK;

/* Closes every pooled connection and zeroes the credentials. Accepts NULL. */
void upstream_free(upstream *u);

/* Sends POST / with X-Amz-Target target (n bytes) and body, waits for the answer (up
 * to BG_UPSTREAM_TIMEOUT_MS), and fills *resp, which the caller frees with
 * upstream_response_free even on failure. BG_EUPSTREAM when no HTTP answer came. Any
 * HTTP answer, error or throttling included, is a success here: it is passed back. */
int upstream_call(upstream *u, const char *target, size_t target_len, const void *body, size_t len,
                  upstream_response *resp, bg_err *e) BG_MUST_CHECK;

void upstream_response_free(upstream_response *r);

#endif
