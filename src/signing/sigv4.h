/*
 * sigv4.h - AWS Signature Version 4 (header-based, AWS4-HMAC-SHA256), both directions.
 *
 * The signer re-signs the requests the gateway forwards to DynamoDB with the gateway's own
 * credentials; the verifier checks the requests clients send to the gateway, signed with the
 * temporary credentials a grant minted. Both build the same canonical request (method, path
 * normalized and URI-encoded, sorted query, trimmed and sorted headers, SHA-256 of the body),
 * proven byte for byte by the published SigV4 test vectors (../shared/testdata/sigv4).
 *
 * Request data is never treated as NUL-terminated: every field of sigv4_request carries its
 * length, and every length is bounded by limits.h before it is hashed. Only header-based
 * signing is supported; presigned (query-string) requests are refused.
 */
#ifndef BG_SIGV4_H
#define BG_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/limits.h"

/* One HTTP header as received or to be sent (common/buf.h). */
typedef bg_header sigv4_header;

/* A request to sign or verify. Nothing is copied; the caller keeps it alive. */
/* The first of the n headers named name (ASCII case-insensitive), or NULL; *count (if
 * not NULL) gets how many there are. */
const sigv4_header *sigv4_header_find(const sigv4_header *h, size_t n, const char *name,
                                      size_t *count);

typedef struct sigv4_request {
	const char *method;          /* "POST", NUL-terminated */
	const char *path;            /* raw (still percent-encoded) path */
	size_t path_len;             /* without the query */
	const char *query;           /* raw query after '?', may be empty */
	size_t query_len;            /* or NULL with query_len 0 */
	const sigv4_header *headers; /* n_headers of them */
	size_t n_headers;            /* at most BG_MAX_HEADERS */
	const void *body;            /* body_len bytes, NULL if 0 */
	size_t body_len;             /* at most BG_MAX_REQUEST_BODY */
} sigv4_request;

/* ---- Signer ---- */

typedef struct sigv4_sign_params {
	const char *access_key_id, *secret_key, *session_token; /* token may be NULL */
	const char *region, *service;
	time_t now;
	bool normalize_path;     /* true for every service except S3 */
	bool omit_session_token; /* the token is sent but not signed (added after signing) */
	bool sign_body_header;   /* also sign an x-amz-content-sha256 header */
} sigv4_sign_params;

/* The results of sigv4_sign(). The buffers are owned by the struct: release them with
 * sigv4_signed_free(). */
typedef struct sigv4_signed {
	bg_buf canonical_request, string_to_sign;
	bg_buf signed_headers; /* "content-type;host;x-amz-date;x-amz-target" */
	char signature[65];    /* lower-case hex */
	char amz_date[17];     /* value to send as X-Amz-Date */
	char payload_hash[65]; /* hex SHA-256 of the body: the x-amz-content-sha256 value */
	bg_buf authorization;  /* value to send as Authorization */
} sigv4_signed;

/* Signs req: every header in req, plus X-Amz-Date, plus X-Amz-Security-Token when
 * p->session_token is set (unless p->omit_session_token), plus x-amz-content-sha256 when
 * p->sign_body_header. Any x-amz-date or authorization header in req (and
 * x-amz-security-token / x-amz-content-sha256 when the signer adds its own) is ignored: the
 * caller must send out->amz_date, p->session_token and out->payload_hash instead, exactly as
 * signed. Header names must be HTTP tokens and values must not contain CR, LF or NUL.
 * Returns 0, or BG_EINVAL / BG_ELIMIT / BG_ENOMEM / BG_EIO (digest failure). out is initialized
 * here (no need to zero it first) and must be released with sigv4_signed_free() in every case; on
 * failure it is already empty. */
int sigv4_sign(const sigv4_request *req, const sigv4_sign_params *p, sigv4_signed *out,
               bg_err *e) BG_MUST_CHECK;

/* Releases the buffers of s and zeroes it. Safe on a zeroed or already freed struct. */
void sigv4_signed_free(sigv4_signed *s);

/* ---- Verifier ---- */

typedef struct sigv4_verifier sigv4_verifier;

/* A verifier for requests scoped to region and service (both copied, at most 63 bytes).
 * required_signed: header names (any case, copied) that every request must sign; "host" is
 * always required. Returns NULL on bad arguments or out of memory. Thread-safe after
 * creation: many threads may call sigv4_verify() on one verifier. */
sigv4_verifier *sigv4_verifier_new(const char *region, const char *service,
                                   const char *const *required_signed, size_t n_required);

/* Zeroes the cached keys and frees. Accepts NULL. */
void sigv4_verifier_free(sigv4_verifier *v);

/* Allowed clock difference in seconds, both directions (default BG_SIGV4_MAX_SKEW_SECONDS).
 * Call before sharing the verifier between threads. */
void sigv4_verifier_set_skew(sigv4_verifier *v, int seconds);

/* Whether the canonical path is normalized (default true: every service but S3). Call
 * before sharing the verifier between threads. */
void sigv4_verifier_set_normalize(sigv4_verifier *v, bool normalize);

/* Looks up the secret for an access key id: returns 0 and writes a NUL-terminated secret
 * into buf (cap bytes), or BG_ENOTFOUND (any other negative code counts as an internal
 * failure). Secrets for an akid never change, so a cached derived key may be used without
 * calling it again. Called without any verifier lock held. */
typedef int (*sigv4_secret_fn)(void *ctx, const char *akid, char *buf, size_t cap);

typedef enum {
	SIGV4_OK = 0,
	SIGV4_MISSING,     /* no Authorization header at all */
	SIGV4_INCOMPLETE,  /* malformed/duplicated Authorization, missing Credential/SignedHeaders/
	                      Signature, missing date, required header not signed, signed header
	                      absent, presigned URL, a limit exceeded */
	SIGV4_BAD_SCOPE,   /* wrong region/service/terminator, scope date != X-Amz-Date day */
	SIGV4_SKEW,        /* date outside allowed skew */
	SIGV4_UNKNOWN_KEY, /* the secret callback does not know the access key id */
	SIGV4_MISMATCH,    /* signature or x-amz-content-sha256 does not match */
	SIGV4_INTERNAL     /* out of memory, crypto failure, callback failure */
} sigv4_status;

typedef struct sigv4_result {
	char access_key_id[BG_MAX_ACCESS_KEY_ID + 1]; /* "" until the Credential was parsed */
	const char *session_token; /* points into req's headers (trimmed), NULL if none */
	size_t session_token_len;
	time_t signed_at; /* the request's date, 0 until it was parsed */
} sigv4_result;

/* Verifies req at time now. Returns a sigv4_status (SIGV4_OK when the signature is valid).
 * out is always written: on failure it holds as much as was parsed (the access key id is
 * useful in an audit record of the denial). e receives a client-safe message in AWS's
 * wording (no secrets), e.g. "The request signature we calculated does not match the
 * signature you provided. ..."; e->code is BG_OK, BG_EAUTH, BG_EINVAL, BG_EEXPIRED or
 * BG_ENOMEM. req->path must be the raw path as received (not percent-decoded). */
int sigv4_verify(sigv4_verifier *v, const sigv4_request *req, time_t now, sigv4_secret_fn fn,
                 void *ctx, sigv4_result *out, bg_err *e) BG_MUST_CHECK;

/* "ok", "missing", "incomplete", "bad_scope", "skew", "unknown_key", "mismatch",
 * "internal" ("unknown" for anything else). */
const char *sigv4_status_name(int status);

/* ---- Authorization header parser (exposed for the fuzz target and diagnostics) ---- */

/* The parts of "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request,
 * SignedHeaders=host;x-amz-date, Signature=<64 hex>". Every cursor points into the parsed
 * value. */
typedef struct sigv4_auth {
	bg_cur akid, date, region, service, terminator, signed_headers, signature;
	size_t n_signed; /* number of names in signed_headers */
} sigv4_auth;

/* Parses an Authorization header value (len bytes, no NUL needed). Checks the syntax only:
 * algorithm AWS4-HMAC-SHA256; Credential, SignedHeaders and Signature each exactly once (any
 * order); a 5-part credential with an access key id of 1..BG_MAX_ACCESS_KEY_ID characters
 * [A-Za-z0-9._-] and an 8-digit date; SignedHeaders lower-case HTTP tokens, strictly
 * sorted, at most BG_MAX_SIGNED_HEADERS; a 64-hex-digit signature. Returns 0, or BG_EINVAL
 * / BG_ELIMIT with a client-safe message in e. */
int sigv4_parse_authorization(const char *value, size_t len, sigv4_auth *out,
                              bg_err *e) BG_MUST_CHECK;

/* ---- Dates ---- */

/* Formats t as ISO 8601 basic ("20150830T123600Z"). Returns 0, or BG_EINVAL when t is
 * outside years 0..9999. */
int sigv4_format_amz_date(time_t t, char out[17]) BG_MUST_CHECK;

/* Parses exactly "YYYYMMDDTHHMMSSZ" (n == 16, a valid calendar date). Returns 0 or
 * BG_EINVAL. */
int sigv4_parse_amz_date(const char *s, size_t n, time_t *out) BG_MUST_CHECK;

#endif
