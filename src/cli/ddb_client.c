/*
 * ddb_client.c - see ddb_client.h.
 */
#include "cli/ddb_client.h"

#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "gateway/upstream.h"
#include "net/curl_loop.h"
#include "net/loop.h"
#include "protocol/ddb_ops.h"
#include "signing/awscreds.h"

struct cli_ddb {
	net_loop *loop;
	net_curl *curl;
	upstream *up;
	int64_t audit_seq; /* the last answer's x-breakglass-audit-seq, 0: none */
};

int cli_ddb_new(const char *endpoint, const char *region, const char *akid, const char *secret,
                const char *token, cli_ddb **out, bg_err *e)
{
	cli_ddb *c = calloc(1, sizeof(*c));
	awscreds *cr = NULL;
	int rc;

	*out = NULL;
	if (c == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	rc = awscreds_from_values(akid, secret, token, &cr, e);
	if (rc == 0)
		rc = upstream_new(endpoint, region, cr, 0, &c->up, e);
	else
		awscreds_free(cr);
	if (rc == 0)
		rc = net_loop_new(&c->loop, e);
	if (rc == 0)
		rc = net_curl_new(c->loop, &c->curl, e);
	if (rc != 0) {
		cli_ddb_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void cli_ddb_free(cli_ddb *c)
{
	if (c == NULL)
		return;
	upstream_free(c->up);
	net_curl_free(c->curl);
	net_loop_free(c->loop);
	free(c);
}

int cli_ddb_call(cli_ddb *c, const char *op, const json_t *body, json_t **out, bg_err *e)
{
	const ddb_op_info *info = ddb_op_lookup(op, strlen(op));
	char target[128];
	upstream_response resp;
	char *text;
	json_t *j;
	int rc;

	*out = NULL;
	if (info == NULL)
		return bg_err_set(e, BG_EINVAL, "unknown operation %s", op);
	snprintf(target, sizeof(target), "%s%s", ddb_op_target_prefix(info), op);
	text = json_dumps(body, JSON_COMPACT);
	if (text == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	memset(&resp, 0, sizeof(resp));
	rc = upstream_call_sync(c->up, c->loop, c->curl, target, strlen(target), text, strlen(text),
	                        0, &resp, e);
	free(text);
	if (rc != 0) {
		upstream_response_free(&resp);
		return rc;
	}
	c->audit_seq = strtoll(resp.audit_seq, NULL, 10); /* "" or garbage: 0 */
	if (c->audit_seq < 0)
		c->audit_seq = 0;
	j = json_loadb(resp.body.data != NULL ? resp.body.data : "", resp.body.len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		rc = bg_err_set(e, BG_EUPSTREAM, "HTTP %ld with an answer that is not JSON",
		                resp.status);
		upstream_response_free(&resp);
		return rc;
	}
	*out = j;
	if (resp.status != 200) {
		const char *type = json_string_value(json_object_get(j, "__type"));
		const char *msg = json_string_value(json_object_get(j, "message"));
		const char *hash = type != NULL ? strrchr(type, '#') : NULL;
		if (msg == NULL)
			msg = json_string_value(json_object_get(j, "Message"));
		rc = bg_err_set(e, BG_EDENIED, "%s: %s",
		                hash != NULL   ? hash + 1
		                : type != NULL ? type
		                               : "error",
		                msg != NULL ? msg : "(no message)");
	}
	upstream_response_free(&resp);
	return rc;
}

int64_t cli_ddb_audit_seq(const cli_ddb *c)
{
	return c->audit_seq;
}
