/*
 * ddb_error.c - DynamoDB-shaped error bodies (see ddb_error.h for the choices made).
 *
 * The body is built with jansson so any message is escaped correctly; a message that is
 * not UTF-8 would make jansson refuse it, so it is repaired first rather than dropped.
 */
#include "protocol/ddb_error.h"

#include <jansson.h>
#include <string.h>

#define CORAL    "com.amazon.coral.service#"
#define VALIDATE "com.amazon.coral.validate#"
#define DDB      "com.amazonaws.dynamodb.v20120810#"

/* Longest message kept in a body. */
#define MAX_MESSAGE 1024

struct kind_info {
	int status;
	const char *type;
	const char *fallback;
};

static const struct kind_info kinds[DDB_ERR_COUNT] = {
    [DDB_ERR_MISSING_AUTH] = {400, CORAL "MissingAuthenticationTokenException",
                              "Request is missing Authentication Token"},
    [DDB_ERR_INCOMPLETE_SIGNATURE] = {400, CORAL "IncompleteSignatureException",
                                      "The request signature is incomplete"},
    [DDB_ERR_INVALID_SIGNATURE] = {400, CORAL "InvalidSignatureException",
                                   "The request signature we calculated does not match the "
                                   "signature you provided"},
    [DDB_ERR_UNRECOGNIZED_CLIENT] = {400, CORAL "UnrecognizedClientException",
                                     "The security token included in the request is invalid"},
    [DDB_ERR_EXPIRED_TOKEN] = {400, CORAL "ExpiredTokenException",
                               "The security token included in the request is expired"},
    [DDB_ERR_ACCESS_DENIED] = {400, DDB "AccessDeniedException",
                               "The break-glass grant does not allow this request"},
    [DDB_ERR_SERIALIZATION] = {400, CORAL "SerializationException",
                               "The request body could not be parsed"},
    [DDB_ERR_VALIDATION] = {400, VALIDATE "ValidationException", "The request failed validation"},
    [DDB_ERR_UNKNOWN_OPERATION] = {400, CORAL "UnknownOperationException",
                                   "An unknown operation was requested"},
    [DDB_ERR_TOO_LARGE] = {413, CORAL "RequestEntityTooLargeException",
                           "Request body exceeds the maximum allowed size"},
    [DDB_ERR_INTERNAL] = {400, DDB "RequestRefusedException",
                          "The gateway cannot process requests safely right now; the "
                          "request was refused and did not run"},
    [DDB_ERR_OUTCOME_UNKNOWN] = {400, DDB "RequestOutcomeUnknownException",
                                 "The request was sent to DynamoDB but its outcome is unknown; "
                                 "it may or may not have been applied"},
    [DDB_ERR_BAD_REQUEST] = {400, CORAL "BadRequestException", "The HTTP request is malformed"},
    [DDB_ERR_RATE] = {400, DDB "RequestRateRefusedException",
                      "The grant's request rate is spent for now; the request did not run"},
    [DDB_ERR_BUDGET] = {400, DDB "CapacityBudgetExceededException",
                        "The grant's capacity budget is spent; the request did not run"},
    [DDB_ERR_RESPONSE_SIZE] = {400, DDB "ResponseSizeRefusedException",
                               "The answer is larger than the runbook allows; it is withheld"},
};

static const struct kind_info *kind_get(ddb_error_kind k)
{
	if ((unsigned)k >= DDB_ERR_COUNT)
		k = DDB_ERR_INTERNAL;
	return &kinds[k];
}

int ddb_error_status(ddb_error_kind k)
{
	return kind_get(k)->status;
}

const char *ddb_error_type(ddb_error_kind k)
{
	return kind_get(k)->type;
}

const char *ddb_error_code(ddb_error_kind k)
{
	const char *t = kind_get(k)->type;
	const char *h = strrchr(t, '#');

	return h ? h + 1 : t;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 if there is none.
 * Rejects overlong forms, surrogates and code points past U+10FFFF, as jansson does. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len, i;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* Copies message into dst (MAX_MESSAGE + 1 bytes) as valid UTF-8 without NULs. */
static void clean_message(const char *message, char *dst)
{
	const unsigned char *s = (const unsigned char *)message;
	size_t n = strlen(message), i = 0, o = 0;

	while (i < n) {
		size_t k = utf8_seq(s + i, n - i);
		if (k == 0) {
			if (o + 1 > MAX_MESSAGE)
				break;
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + k > MAX_MESSAGE)
			break;
		memcpy(dst + o, s + i, k);
		o += k;
		i += k;
	}
	dst[o] = '\0';
}

static int dump_to_buf(const char *p, size_t n, void *arg)
{
	return bg_buf_add(arg, p, n) == 0 ? 0 : -1;
}

int ddb_error_body(ddb_error_kind k, const char *message, bg_buf *out)
{
	const struct kind_info *ki = kind_get(k);
	char msg[MAX_MESSAGE + 1];
	json_t *obj = NULL;
	int rc = BG_ENOMEM;

	clean_message(message != NULL && message[0] != '\0' ? message : ki->fallback, msg);
	obj = json_object();
	if (obj == NULL || json_object_set_new(obj, "__type", json_string(ki->type)) != 0 ||
	    json_object_set_new(obj, "message", json_string(msg)) != 0)
		goto fail;
	if (json_dump_callback(obj, dump_to_buf, out, JSON_COMPACT) != 0) {
		rc = out->failed ? out->failed : BG_ENOMEM;
		goto fail;
	}
	rc = 0;
fail:
	json_decref(obj);
	return rc;
}
