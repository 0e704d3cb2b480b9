/*
 * gw.h - the gateway's internals, shared by server.c (start-up, the event loops, the
 * DynamoDB endpoint's wiring to the transport) and api.c (the CLI's JSON API). Not a
 * public interface.
 *
 * API handlers see a plain gw_http_request and fill a gw_reply; they may block (store,
 * audit), so server.c runs them on a worker thread, never on an event loop.
 */
#ifndef BG_GW_H
#define BG_GW_H

#include <stdint.h>

#include "audit/audit.h"
#include "audit/keyset.h"
#include "audit/sinks.h"
#include "common/buf.h"
#include "common/limits.h"
#include "gateway/config.h"
#include "gateway/limiter.h"
#include "gateway/metrics.h"
#include "gateway/spend.h"
#include "gateway/policyfile.h"
#include "gateway/runbooks.h"
#include "gateway/upstream.h"
#include "signing/credchain.h"
#include "signing/sigv4.h"
#include "store/keyring.h"
#include "store/store.h"
#include "workflow/grant_cache.h"
#include "workflow/request.h"
#include "workflow/service.h"

typedef struct gw {
	gw_config cfg;
	store *st;
	keyring *kr;
	keyset *audit_keys; /* the audit checkpoints' keys: the current one signs */
	audit_log *audit;
	audit_sinks *sinks; /* copies of the trail (config audit.sinks); NULL: none */
	sigv4_verifier *verifier;
	upstream *up;
	credchain *identity;      /* the gateway's AWS identity, refreshed off the request path */
	grant_cache *grants;      /* live grants for the request path; api.c keeps it current */
	gw_runbooks *runbooks;    /* the runbook folder (SIGHUP reloads it) */
	svc_runbooks pins;        /* the service layer's view of it, for runbook grants */
	gw_policy *rules;         /* the policy file (serve --policy) and what it names */
	const svc_policy *policy; /* its view for the workflow: criteria and approval rules */
	struct gw_notifier *notifier; /* notifications out (notifier.h); NULL: no targets */
	gw_limiter *limiter;          /* each grant's request rate (the policy's guardrails) */
	gw_metrics *metrics;          /* requests and latencies for GET /metrics */
	gw_spend *spend;              /* capacity each grant consumed (the budgets) */
	json_t *loaded_files;         /* the config and policy files' digests, taken at start */
} gw;

typedef struct gw_http_request {
	const char *method;
	const char *path; /* decoded path, no query */
	const sigv4_header *headers;
	size_t n_headers;
	size_t n_query; /* how many query arguments the URL carried */
	const uint8_t *body;
	size_t body_len;
	const char *peer; /* "127.0.0.1:53412" */
	char request_id[32];
	/* Looks up a decoded query argument (NULL if absent). */
	const char *(*arg)(const struct gw_http_request *r, const char *name);
	void *conn;
} gw_http_request;

#define GW_REPLY_MAX_HEADERS 4

typedef struct gw_reply {
	int status;
	bg_buf body;
	char content_type[128]; /* empty: application/x-amz-json-1.0 */
	struct {
		const char *name;
		char value[128];
	} headers[GW_REPLY_MAX_HEADERS];
	size_t n_headers;
} gw_reply;

/* The first header named name (case-insensitive), or NULL; *len gets its length. */
const char *gw_header(const gw_http_request *r, const char *name, size_t *len);

/* A new grant's table check (tables.c): the gateway asks DynamoDB with DescribeTable,
 * on the calling thread, until deadline_ms (bg_now_ms()) at the latest. */
typedef struct gw_table_probe {
	gw *g;
	int64_t deadline_ms;
} gw_table_probe;

/* One DynamoDB call (X-Amz-Target DynamoDB_20120810.op, body as JSON) re-signed with the
 * gateway's own identity, made on the calling thread (the API worker, which may block)
 * on a loop of its own, until deadline_ms (bg_now_ms()) at the latest. 0 when DynamoDB
 * answered: *status, and *answer the body parsed (NULL when not JSON; the caller frees
 * it). BG_EUPSTREAM otherwise, why (size n) saying what and *sent whether the request may
 * have reached DynamoDB. */
int gw_ddb_call(gw *g, int64_t deadline_ms, const char *op, const json_t *body, long *status,
                json_t **answer, bool *sent, char *why, size_t n) BG_MUST_CHECK;

/* svc_tables' check, with ctx a gw_table_probe. */
svc_table_state gw_table_check(void *ctx, const char *table, char *why, size_t n);

/* /api/v1/...: the JSON API. */
void gw_api_handle(gw *g, const gw_http_request *r, gw_reply *rep);

/* /hooks/...: the alert webhooks (hooks.c). */
void gw_hooks_handle(gw *g, const gw_http_request *r, gw_reply *rep);

#endif
