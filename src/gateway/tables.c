/*
 * tables.c - DynamoDB asked by the API worker itself (gw_ddb_call): whether a table
 * exists at the upstream, for a new grant's warnings (the gateway's side of the service
 * layer's svc_tables, workflow/service.h), and the reads and restore of an undo.
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

/* The error code of a DynamoDB error body (the text after the last '#' of __type), or
 * "" if there is none. */
static void error_code(const json_t *doc, char *out, size_t n)
{
	const char *type = json_string_value(json_object_get(doc, "__type"));
	const char *hash = type != NULL ? strrchr(type, '#') : NULL;

	snprintf(out, n, "%s", hash != NULL ? hash + 1 : type != NULL ? type : "");
}

int gw_ddb_call(gw *g, int64_t deadline_ms, const char *op, const json_t *body, long *status,
                json_t **answer, bool *sent, char *why, size_t n)
{
	int64_t left = deadline_ms - bg_now_ms();
	net_loop *loop = NULL;
	net_curl *mc = NULL;
	upstream_response resp;
	char *text = json_dumps(body, JSON_COMPACT);
	char target[96];
	int rc = BG_EUPSTREAM;
	bg_err e;

	memset(&resp, 0, sizeof(resp));
	*answer = NULL;
	*status = 0;
	*sent = false;
	snprintf(target, sizeof(target), "DynamoDB_20120810.%s", op);
	if (left <= 0) {
		snprintf(why, n, "%s: no time left", op);
	} else if (text == NULL || net_loop_new(&loop, &e) != 0 ||
	           net_curl_new(loop, &mc, &e) != 0) {
		snprintf(why, n, "%s: %s", op, text == NULL ? "out of memory" : e.msg);
	} else if (upstream_call_sync(g->up, loop, mc, target, strlen(target), text, strlen(text),
	                              (long)left, &resp, &e) != 0) {
		/* The blocking form does not say whether bytes left: assume they may have. */
		*sent = true;
		snprintf(why, n, "%s: %s", op, e.msg);
	} else {
		rc = 0;
		*status = resp.status;
		*answer = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len,
		                     JSON_ALLOW_NUL, NULL);
	}
	upstream_response_free(&resp);
	net_curl_free(mc);
	net_loop_free(loop);
	free(text);
	return rc;
}

svc_table_state gw_table_check(void *ctx, const char *table, char *why, size_t n)
{
	gw_table_probe *p = ctx;
	json_t *req = json_pack("{s:s}", "TableName", table), *answer = NULL;
	char code[128];
	long status = 0;
	bool sent = false;
	svc_table_state st = SVC_TABLE_UNREACHED;

	if (bg_now_ms() >= p->deadline_ms) {
		snprintf(why, n, "DescribeTable: no time left within %d ms",
		         BG_TABLE_CHECK_TIMEOUT_MS);
	} else if (req == NULL) {
		snprintf(why, n, "DescribeTable: out of memory");
	} else if (gw_ddb_call(p->g, p->deadline_ms, "DescribeTable", req, &status, &answer, &sent,
	                       why, n) != 0) {
		;
	} else if (status == 200) {
		st = SVC_TABLE_EXISTS;
	} else {
		error_code(answer, code, sizeof(code));
		if (strcmp(code, "ResourceNotFoundException") == 0) {
			st = SVC_TABLE_MISSING;
			snprintf(why, n, "DescribeTable: %s", code);
		} else {
			st = SVC_TABLE_UNKNOWN;
			snprintf(why, n, "DescribeTable: HTTP %ld %s", status,
			         code[0] ? code : "without an error code");
		}
	}
	json_decref(answer);
	json_decref(req);
	return st;
}
