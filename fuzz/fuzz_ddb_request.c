/*
 * fuzz_ddb_request.c - libFuzzer target for the DynamoDB request parser.
 *
 * Input: one selector byte, then the body. Selector < 0xC0 picks operation
 * (selector % DDB_OP_COUNT) under its own X-Amz-Target prefix; 0xC0..0xDF picks one under
 * the other prefix (must be refused); 0xE0.. takes a raw target: the next byte is its
 * length (mod 64), then the target bytes, then the body. Every accessor is queried and
 * the parser's promises are checked: a parsed request only reports valid, distinct table
 * names, within the limit, and a refusal always makes a valid DynamoDB error body.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/limits.h"
#include "protocol/ddb_error.h"
#include "protocol/ddb_request.h"

static int valid_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 3 || n > BG_MAX_TABLE_NAME)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

static void check_parsed(const ddb_request *r)
{
	const ddb_op_info *op = ddb_request_op(r);
	size_t n = ddb_request_ntables(r), i, j;
	const char *index = ddb_request_index(r);
	bg_buf b;

	CHECK(op != NULL);
	CHECK(n <= BG_MAX_REQUEST_TABLES);
	CHECK(json_is_object(ddb_request_json(r)));
	if (op->shape == DDB_TABLES_NONE || op->shape == DDB_TABLES_OPAQUE)
		CHECK(n == 0);
	if (index != NULL)
		CHECK(op->index && valid_name(index));
	for (i = 0; i < n; i++) {
		const char *t = ddb_request_table(r, i), *arn = ddb_request_table_arn(r, i);
		CHECK(t != NULL && valid_name(t));
		if (arn != NULL) {
			CHECK(strncmp(arn, "arn:", 4) == 0 && strstr(arn, t) != NULL);
			CHECK(ddb_request_has_arn(r));
			CHECK(strchr(arn, ',') == NULL);
		}
		for (j = 0; j < i; j++) {
			const char *a2 = ddb_request_table_arn(r, j);
			CHECK(!(strcmp(ddb_request_table(r, j), t) == 0 &&
			        ((arn == NULL && a2 == NULL) ||
			         (arn != NULL && a2 != NULL && strcmp(arn, a2) == 0))));
		}
	}
	CHECK(ddb_request_table(r, n) == NULL);
	(void)ddb_request_arns_match(r, "aws", "us-east-1", "123456789012");
	bg_buf_init(&b, 1u << 20);
	CHECK(ddb_request_tables_joined(r, &b) == 0);
	bg_buf_free(&b);
}

static void check_refused(int st, const bg_err *e)
{
	ddb_error_kind k = ddb_request_error_kind(st);
	json_t *j;
	bg_buf b;

	CHECK(st > DDB_OK && st <= DDB_E_INTERNAL);
	CHECK(e->msg[0] != '\0');
	bg_buf_init(&b, 4096);
	CHECK(ddb_error_body(k, e->msg, &b) == 0);
	j = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, NULL);
	CHECK(j != NULL);
	CHECK(strcmp(json_string_value(json_object_get(j, "__type")), ddb_error_type(k)) == 0);
	json_decref(j);
	bg_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *target = NULL;
	size_t tlen;
	ddb_request *r = NULL;
	bg_err e = {0, ""};
	uint8_t sel;
	int st;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	if (sel < 0xE0) {
		const ddb_op_info *op = ddb_op_by_id((ddb_op)(sel % DDB_OP_COUNT));
		const char *prefix = ddb_op_target_prefix(op);
		if (sel >= 0xC0)
			prefix = strcmp(prefix, DDB_TARGET_PREFIX) == 0 ? DDB_STREAMS_TARGET_PREFIX
			                                                : DDB_TARGET_PREFIX;
		tlen = strlen(prefix) + strlen(op->name);
		target = malloc(tlen);
		if (target == NULL)
			return 0;
		memcpy(target, prefix, strlen(prefix));
		memcpy(target + strlen(prefix), op->name, strlen(op->name));
	} else {
		if (size < 1)
			return 0;
		tlen = data[0] % 64;
		data++;
		size--;
		if (tlen > size)
			tlen = size;
		/* An exact-size copy, so ASan sees any read past the header value. */
		target = malloc(tlen ? tlen : 1);
		if (target == NULL)
			return 0;
		memcpy(target, data, tlen);
		data += tlen;
		size -= tlen;
	}
	st = ddb_request_parse(target, tlen, size ? (const void *)data : NULL, size, &r, &e);
	if (st == DDB_OK) {
		CHECK(r != NULL);
		CHECK(sel < 0xC0 || sel >= 0xE0);
		check_parsed(r);
	} else {
		CHECK(r == NULL);
		check_refused(st, &e);
	}
	ddb_request_free(r);
	free(target);
	return 0;
}
