/*
 * tables.c - whether a table exists at the upstream, for a new grant's warnings: the
 * gateway's side of the service layer's svc_tables (workflow/service.h).
 *
 * An admin who grants `--table NoSuchTable` should hear about the typo at once, not from
 * the responder at 2 a.m. The question is a DescribeTable, re-signed with the gateway's
 * own credentials like any forwarded request, made on the API worker thread (which may
 * block) on a loop of its own, within the probe's deadline. Only the answer's error code
 * is read; the table's description is not kept.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "gateway/gw.h"
#include "net/curl_loop.h"
#include "net/loop.h"

static const char describe[] = "DynamoDB_20120810.DescribeTable";

/* The error code of a DynamoDB error body (the text after the last '#' of __type), or
 * "" if there is none. */
static void error_code(const bg_buf *body, char *out, size_t n)
{
	json_t *doc = json_loadb(body->data ? body->data : "", body->len, 0, NULL);
	const char *type = json_string_value(json_object_get(doc, "__type"));
	const char *hash = type != NULL ? strrchr(type, '#') : NULL;

	snprintf(out, n, "%s", hash != NULL ? hash + 1 : type != NULL ? type : "");
	json_decref(doc);
}

svc_table_state gw_table_check(void *ctx, const char *table, char *why, size_t n)
{
	gw_table_probe *p = ctx;
	int64_t left = p->deadline_ms - bg_now_ms();
	net_loop *loop = NULL;
	net_curl *mc = NULL;
	upstream_response resp;
	json_t *req = json_pack("{s:s}", "TableName", table);
	char *body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	char code[128];
	svc_table_state st = SVC_TABLE_UNREACHED;
	bg_err e;

	memset(&resp, 0, sizeof(resp));
	if (left <= 0) {
		snprintf(why, n, "DescribeTable: no time left within %d ms",
		         BG_TABLE_CHECK_TIMEOUT_MS);
	} else if (body == NULL || net_loop_new(&loop, &e) != 0 ||
	           net_curl_new(loop, &mc, &e) != 0) {
		snprintf(why, n, "DescribeTable: %s", body == NULL ? "out of memory" : e.msg);
	} else if (upstream_call_sync(p->g->up, loop, mc, describe, sizeof(describe) - 1, body,
	                              strlen(body), (long)left, &resp, &e) != 0) {
		snprintf(why, n, "DescribeTable: %s", e.msg);
	} else if (resp.status == 200) {
		st = SVC_TABLE_EXISTS;
	} else {
		error_code(&resp.body, code, sizeof(code));
		if (strcmp(code, "ResourceNotFoundException") == 0) {
			st = SVC_TABLE_MISSING;
			snprintf(why, n, "DescribeTable: %s", code);
		} else {
			st = SVC_TABLE_UNKNOWN;
			snprintf(why, n, "DescribeTable: HTTP %ld %s", resp.status,
			         code[0] ? code : "without an error code");
		}
	}
	upstream_response_free(&resp);
	net_curl_free(mc);
	net_loop_free(loop);
	free(body);
	json_decref(req);
	return st;
}
