/*
 * pipeline.h - one DynamoDB request's way through the gateway, as a state machine of
 * named stages:
 *
 *   VERIFY ─► AUTHORISE ─► AUDIT_REQUEST ─► FORWARD ─► TRANSFORM ─► AUDIT_RESPONSE ─► RELEASE
 *
 * VERIFY (SigV4 with the secret of a live grant from memory), AUTHORISE (the grant's
 * state, session token, the parsed request inside the grant, runbook matching, the rate
 * and the capacity budgets, and the body to forward) and TRANSFORM (the answer as
 * released: capacity charged and stripped, masking, a new CRC, the size cap) are plain
 * functions of the request. The two audit stages and FORWARD wait: the
 * pipeline asks its I/O (pl_io) to start them and returns; the I/O calls
 * pl_audit_done() / pl_forward_done() when they complete, on the same thread, and the
 * request runs on. The server wires pl_io to the audit committer and libcurl on an event
 * loop; tests wire it to plain functions, so every stage is tested without sockets.
 *
 * The promise kept here: nothing is forwarded unless its request record is durable, no
 * answer is released unless its response record is durable, every refusal is recorded,
 * and a request whose outcome upstream is unknown is answered as exactly that.
 */
#ifndef BG_PIPELINE_H
#define BG_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "gateway/limiter.h"
#include "gateway/metrics.h"
#include "gateway/spend.h"
#include "gateway/upstream.h"
#include "policy/budget.h"
#include "protocol/ddb_error.h"
#include "gateway/runbooks.h"
#include "signing/sigv4.h"
#include "store/keyring.h"
#include "workflow/grant_cache.h"

typedef enum pl_stage {
	PL_VERIFY,
	PL_AUTHORISE,
	PL_AUDIT_REQUEST,
	PL_FORWARD,
	PL_TRANSFORM,
	PL_AUDIT_RESPONSE,
	PL_RELEASE,
	PL_DONE,
} pl_stage;

/* What the stages need that outlives a request: shared by every loop, read-only. */
typedef struct pl_env {
	sigv4_verifier *verifier; /* thread-safe */
	grant_cache *grants;
	const keyring *kr;
	gw_runbooks *runbooks;       /* thread-safe; NULL: runbook grants are refused */
	const rl_rate *rate;         /* each grant's request rate (the policy's); NULL: no limit */
	gw_limiter *limiter;         /* thread-safe; the grants' buckets for rate */
	const budget_limits *budget; /* each grant's capacity budget (the policy's); NULL: none */
	gw_spend *spend;             /* thread-safe; what each grant consumed; NULL: not kept */
	gw_metrics *metrics;         /* thread-safe; NULL: not counted */
	int64_t (*now)(void);        /* seconds since the epoch (tests pin it) */
} pl_env;

typedef struct pl_req pl_req;

/* The request as received. Pointers stay valid until the reply has been sent. */
typedef struct pl_http {
	const char *method;
	const char *path;
	size_t path_len;
	bool has_query;
	const sigv4_header *headers;
	size_t n_headers;
	const uint8_t *body;
	size_t body_len;
	const char *peer;
} pl_http;

/* The answer to release. */
typedef struct pl_reply {
	int status;
	bg_buf body;
	const char *content_type; /* NULL: application/x-amz-json-1.0 */
	const char *upstream_rid; /* x-amzn-RequestId to pass back, or NULL (ours is used) */
	const char *crc32;        /* x-amz-crc32 to pass back, or NULL */
} pl_reply;

/* The waiting stages' I/O. Each start function returns 0 when the operation is under
 * way (its completion will be reported) or an error (the pipeline acts on it at once). */
typedef struct pl_io {
	int (*audit)(void *ctx, pl_req *r, const audit_record *rec);
	int (*forward)(void *ctx, pl_req *r, const char *target, size_t target_len,
	               const uint8_t *body, size_t len);
	/* Sends the answer; rep->body may be taken over. */
	void (*reply)(void *ctx, pl_req *r, pl_reply *rep);
} pl_io;

/* A new request with id request_id (copied), in stage VERIFY. NULL when out of memory. */
pl_req *pl_req_new(const pl_env *env, const pl_io *io, void *io_ctx, const pl_http *http,
                   const char *request_id);

/* Frees the request. Only once it is PL_DONE, or never started. Accepts NULL. */
void pl_req_free(pl_req *r);

/* Runs stages until one waits or the request is done. */
void pl_run(pl_req *r);

/* Completions, on the thread that runs r. */
void pl_audit_done(pl_req *r, int rc, const char *why);
void pl_forward_done(pl_req *r, upstream_outcome o, upstream_response *resp, const char *why);

/* Refuses (or reports), recording why, from outside the stages: a transport-level error
 * or a check made before the body arrived. r must be in stage VERIFY. */
void pl_refuse(pl_req *r, ddb_error_kind k, const char *msg);

pl_stage pl_req_stage(const pl_req *r);
const char *pl_req_id(const pl_req *r);

/* The early look at a request whose body has not arrived: 0 when it has exactly one
 * well-formed Authorization header naming a key of a live grant, else the refusal it
 * will get (in *kind, with the message in e), before its body is read. */
int pl_check_head(const pl_env *env, const sigv4_header *h, size_t n, ddb_error_kind *kind,
                  bg_err *e);

/* A request addressed to a proxy rather than to this endpoint: CONNECT host:port, or an
 * absolute-form target ("http://host/..."). `breakglass exec` points the proxy variables
 * at the gateway, so a client that ignores the endpoint settings and heads for AWS (or
 * anywhere else) arrives here so; it is refused, never relayed. Returns 0 for any other
 * request, else the refusal (AccessDeniedException, in *kind) with a message naming the
 * destination in e. pl_refuse() records that destination in the denial's detail
 * ("proxy_target"). */
int pl_check_target(const char *method, const char *target, size_t len, ddb_error_kind *kind,
                    bg_err *e);

#endif
