/*
 * credparse.h - the answers of the services that hand the gateway temporary AWS
 * credentials, parsed without I/O so they can be unit-tested and fuzzed on their own.
 *
 * Three shapes: the JSON document of the ECS/EKS container endpoint and of EC2 instance
 * metadata ({"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}); the JSON a
 * credential_process prints (version 1: "SessionToken" instead of "Token"); and the XML of
 * STS AssumeRole / AssumeRoleWithWebIdentity (<Credentials> with <AccessKeyId>,
 * <SecretAccessKey>, <SessionToken>, <Expiration>), or its <Error>. The XML is read by a
 * small bounded extractor rather than libxml2: only five leaf elements are needed, each
 * must appear exactly once, and a smaller parser is a smaller attack surface (fuzzed by
 * fuzz/fuzz_credparse.c).
 */
#ifndef BG_CREDPARSE_H
#define BG_CREDPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "signing/awscreds.h"

typedef enum credparse_kind {
	CREDPARSE_METADATA, /* ECS/EKS container endpoint, EC2 instance metadata */
	CREDPARSE_PROCESS,  /* credential_process output, Version 1 */
} credparse_kind;

/* Parses a JSON credentials document (len bytes, not NUL-terminated). source names it
 * for messages and becomes the credentials' source. On success *out is set (free with
 * awscreds_free) and *expires is the expiry in Unix seconds, or 0 when the document has
 * none (credential_process may omit it: the credentials are then not refreshed). Returns
 * 0, BG_EINVAL (malformed, a service error such as {"Code": "..."} != Success, missing
 * fields), BG_ELIMIT (larger than BG_MAX_CREDENTIAL_DOC), BG_ENOMEM. Messages never
 * contain a secret. */
int credparse_json(const char *text, size_t len, credparse_kind kind, const char *source,
                   awscreds **out, int64_t *expires, bg_err *e) BG_MUST_CHECK;

/* Parses an STS answer (XML). On success as credparse_json (expiry required). An STS
 * <Error> gives BG_EAUTH with its Code and Message in e. */
int credparse_sts_xml(const char *text, size_t len, const char *source, awscreds **out,
                      int64_t *expires, bg_err *e) BG_MUST_CHECK;

/* ISO 8601 / RFC 3339 UTC time as AWS writes it: YYYY-MM-DDTHH:MM:SS, optional fraction,
 * then Z or +00:00 (n bytes). Returns 0 with *t in Unix seconds, or BG_EINVAL. */
int credparse_time(const char *s, size_t n, int64_t *t) BG_MUST_CHECK;

#endif
