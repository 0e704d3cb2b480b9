/*
 * ddb_error.h - DynamoDB-shaped error responses.
 *
 * Clients (AWS CLI, botocore, the JS and Java SDKs) only understand errors shaped the way
 * DynamoDB sends them: an HTTP status and a JSON body {"__type":"<namespace>#<Code>",
 * "message":"..."}. SDKs take the text after the last '#' as the error code, and they
 * retry 5xx and throttling codes, so nothing the gateway refuses may look like either:
 * a retried denial would hammer the gateway and hide the refusal from the responder.
 *
 * Namespaces follow what DynamoDB itself sends (checked against recorded responses and
 * dynalite, which mirrors them): com.amazon.coral.service for authentication,
 * serialization and unknown-operation errors, com.amazon.coral.validate for
 * ValidationException. AccessDeniedException uses com.amazonaws.dynamodb.v20120810 as
 * DESIGN.md specifies for gateway denials (DynamoDB's own IAM denials say
 * com.amazon.coral.service; the code an SDK reports is the same either way).
 */
#ifndef BG_DDB_ERROR_H
#define BG_DDB_ERROR_H

#include "common/buf.h"
#include "common/err.h"

typedef enum ddb_error_kind {
	DDB_ERR_MISSING_AUTH,         /* 400 MissingAuthenticationTokenException */
	DDB_ERR_INCOMPLETE_SIGNATURE, /* 400 IncompleteSignatureException */
	DDB_ERR_INVALID_SIGNATURE,    /* 400 InvalidSignatureException */
	DDB_ERR_UNRECOGNIZED_CLIENT,  /* 400 UnrecognizedClientException */
	DDB_ERR_EXPIRED_TOKEN,        /* 400 ExpiredTokenException */
	DDB_ERR_ACCESS_DENIED,        /* 400 AccessDeniedException (grant or policy refusal) */
	DDB_ERR_SERIALIZATION,        /* 400 SerializationException (body is not valid JSON) */
	DDB_ERR_VALIDATION,           /* 400 ValidationException */
	DDB_ERR_UNKNOWN_OPERATION,    /* 400 UnknownOperationException */
	/* 413 RequestEntityTooLargeException: the status DynamoDB (and dynalite) use for a
	 * body over 16 MiB. 413 is not retried by botocore, the JS SDK v3, the Java SDK v2
	 * or the Go SDK v2 (they retry 429, 500, 502, 503, 504 and throttling codes). */
	DDB_ERR_TOO_LARGE,
	/* 400 RequestRefusedException: the gateway cannot do its job safely (audit store or
	 * a required sink unavailable, out of memory) and fails closed. Not a 5xx and not an
	 * InternalServerError/InternalFailure code, because SDKs retry those: a retry storm
	 * against a gateway that refuses to run unaudited helps nobody, and the responder
	 * must see at once that the request did not run. */
	DDB_ERR_INTERNAL,
	/* 400 RequestOutcomeUnknownException: the request went to DynamoDB and no answer
	 * came (timeout, connection lost, shutdown), or the answer could not be recorded.
	 * It may have been applied: never retried by SDKs, and never called a refusal,
	 * so the responder checks before trying again. */
	DDB_ERR_OUTCOME_UNKNOWN,
	/* 400 BadRequestException: the HTTP framing itself is malformed or ambiguous (two
	 * Content-Lengths, an unsupported Transfer-Encoding, a bad request line). */
	DDB_ERR_BAD_REQUEST,
	/* 400 RequestRateRefusedException: the grant's request rate (the policy's guardrails)
	 * is spent for now. Not a throttling code: SDKs would retry it at once, against a
	 * limit meant to slow the responder down; the message says when to try again. */
	DDB_ERR_RATE,
	/* 400 CapacityBudgetExceededException: the grant (or its runbook) has consumed its
	 * capacity budget (issue 10); the request did not run. Not retried by SDKs: only a
	 * new grant brings more. */
	DDB_ERR_BUDGET,
	/* 400 ResponseSizeRefusedException: a runbook's read answered more bytes than its
	 * max_response_bytes; the answer is withheld (the read changed nothing). */
	DDB_ERR_RESPONSE_SIZE,
	DDB_ERR_COUNT
} ddb_error_kind;

/* The HTTP status for k: 400, or 413 for DDB_ERR_TOO_LARGE. Never 5xx, never 429. An
 * out-of-range k is treated as DDB_ERR_INTERNAL. */
int ddb_error_status(ddb_error_kind k);

/* The full "__type" value for k, e.g. "com.amazon.coral.validate#ValidationException"
 * (a static string). */
const char *ddb_error_type(ddb_error_kind k);

/* The code alone (the text after '#'), e.g. "ValidationException" (a static string). */
const char *ddb_error_code(ddb_error_kind k);

/* Appends {"__type":"<type>","message":"<message>"} to out, JSON-escaped. message may be
 * NULL (a generic message for k is used); bytes that are not valid UTF-8 are replaced by
 * '?', and a message is cut at 1024 bytes (on a character boundary). Returns 0, or the
 * bg_buf error (BG_ELIMIT, BG_ENOMEM); on error out may hold a partial body. */
int ddb_error_body(ddb_error_kind k, const char *message, bg_buf *out) BG_MUST_CHECK;

#endif
