/*
 * gw.h - the gateway's internals, shared by server.c (HTTP, libmicrohttpd), dynamo.c
 * (the DynamoDB endpoint) and api.c (the CLI's JSON API). Not a public interface.
 *
 * Handlers see a plain gw_http_request and fill a gw_reply; only server.c knows about
 * libmicrohttpd, so the request path can be driven directly in tests and benchmarks.
 */
#ifndef BG_GW_H
#define BG_GW_H

#include <stdint.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/limits.h"
#include "gateway/config.h"
#include "gateway/upstream.h"
#include "signing/sigv4.h"
#include "store/keyring.h"
#include "store/store.h"

typedef struct gw {
	gw_config cfg;
	store *st;
	keyring *kr;
	audit_log *audit;
	sigv4_verifier *verifier;
	upstream *up;
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

/* Adds a response header (value copied, truncated to 127 bytes). */
void gw_reply_header(gw_reply *r, const char *name, const char *value);

/* The first header named name (case-insensitive), or NULL; *len gets its length. */
const char *gw_header(const gw_http_request *r, const char *name, size_t *len);

/* POST / with X-Amz-Target: the DynamoDB endpoint. */
void gw_dynamo_handle(gw *g, const gw_http_request *r, gw_reply *rep);

/* /api/v1/...: the JSON API. */
void gw_api_handle(gw *g, const gw_http_request *r, gw_reply *rep);

#endif
