/*
 * ddb_request.h - parse one DynamoDB request: the operation from X-Amz-Target, the JSON
 * body, and every table the request touches.
 *
 * The gateway checks a request against a grant using what this parser reports, so the
 * parser is deliberately stricter than DynamoDB: anything that could make the gateway
 * and DynamoDB read different tables from the same bytes is refused. Duplicate JSON keys
 * (at any depth), invalid UTF-8, NUL bytes, nesting deeper than BG_MAX_JSON_DEPTH,
 * trailing bytes after the JSON value, a member name that differs from a table-bearing
 * member only in letter case ("tablename"), a transaction item with two actions, and a
 * table-bearing member of the wrong JSON type are all refused. JSON null is treated as
 * absent, as DynamoDB does.
 *
 * Tables may be named by ARN (arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME). The
 * name is extracted and the ARN kept: an ARN may name another account's table (DynamoDB
 * resource policies allow cross-account access), so the gateway must check
 * ddb_request_arns_match() or refuse ARNs outright.
 */
#ifndef BG_DDB_REQUEST_H
#define BG_DDB_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"
#include "protocol/ddb_error.h"
#include "protocol/ddb_ops.h"

typedef struct ddb_request ddb_request;

typedef enum ddb_parse_status {
	DDB_OK = 0,
	DDB_E_UNKNOWN_OPERATION, /* bad X-Amz-Target prefix or operation name */
	DDB_E_SERIALIZATION,     /* not a JSON object: bad JSON, bad UTF-8, duplicate keys */
	DDB_E_VALIDATION,        /* valid JSON, but the tables cannot be determined safely */
	DDB_E_TOO_LARGE,         /* body longer than BG_MAX_REQUEST_BODY */
	DDB_E_INTERNAL           /* out of memory */
} ddb_parse_status;

/* Parses one request. target/target_len is the X-Amz-Target header value and body/len
 * the raw body; neither needs to be NUL-terminated and both are only read during the
 * call. Returns DDB_OK and sets *out to a request the caller frees with
 * ddb_request_free(); otherwise returns another ddb_parse_status, sets *out to NULL and
 * leaves in e (if not NULL) a client-safe message (it never quotes request bytes) with
 * e->code BG_EINVAL, BG_ELIMIT (too large) or BG_ENOMEM. */
int ddb_request_parse(const char *target, size_t target_len, const void *body, size_t len,
                      ddb_request **out, bg_err *e) BG_MUST_CHECK;

/* Frees r (NULL is fine). */
void ddb_request_free(ddb_request *r);

/* The error kind a client should see for a ddb_parse_status (DDB_OK included, which maps
 * to DDB_ERR_INTERNAL as it is never an error to report). */
ddb_error_kind ddb_request_error_kind(int status);

/* The operation (static; never NULL for a parsed request). */
const ddb_op_info *ddb_request_op(const ddb_request *r);

/* Tables the request touches, distinct, in first-seen order. A table named once plainly
 * and once by ARN counts twice (the ARN may name another account). Zero for operations
 * that name no table and for DDB_F_OPAQUE operations (PartiQL, GetRecords), which a
 * table-scoped policy must deny. */
size_t ddb_request_ntables(const ddb_request *r);

/* The i-th table's name (3..255 of [A-Za-z0-9_.-]), owned by r; NULL if i is out of
 * range. */
const char *ddb_request_table(const ddb_request *r, size_t i);

/* The ARN the i-th table was named by, exactly as sent, or NULL if it was named plainly
 * (or i is out of range). Owned by r. */
const char *ddb_request_table_arn(const ddb_request *r, size_t i);

/* True when any table was named by ARN. */
bool ddb_request_has_arn(const ddb_request *r);

/* True when every ARN in the request has this partition, region and account (a
 * global-table ARN, which has no region, matches any region). True when there is no ARN.
 * NULL arguments never match an ARN. */
bool ddb_request_arns_match(const ddb_request *r, const char *partition, const char *region,
                            const char *account);

/* The top-level IndexName for operations that read one (Query, Scan, Contributor
 * Insights), validated like a table name; NULL when absent. Owned by r. */
const char *ddb_request_index(const ddb_request *r);

/* The parsed body (a JSON object), borrowed: valid until ddb_request_free(r). */
json_t *ddb_request_json(const ddb_request *r);

/* Appends the tables, comma-separated, to out for the audit log: each table's ARN if it
 * was named by one, else its name (neither can contain ','). Appends nothing for no
 * tables. Returns 0 or the bg_buf error. */
int ddb_request_tables_joined(const ddb_request *r, bg_buf *out) BG_MUST_CHECK;

#endif
