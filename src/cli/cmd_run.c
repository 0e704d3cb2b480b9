/*
 * cmd_run.c - `breakglass run RUNBOOK --grant GRANT --param NAME=VALUE ...`: run one of a
 * grant's runbooks without writing a DynamoDB request by hand.
 *
 * The gateway renders the runbook as the grant pinned it (POST .../render: the parameters
 * are checked there against the runbook's rules before anything is sent); the request
 * then goes through the gateway's DynamoDB endpoint signed with the grant's credentials,
 * so it is verified, matched and audited exactly like a client's. Pages are followed up
 * to the runbook's max_pages; the items are printed as a table (--json: the items and
 * the consumed capacity).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/ddb_client.h"
#include "cli/help.h"
#include "cli/output.h"
#include "common/duration.h"
#include "common/limits.h"

/* A value for the table: S, N and BOOL as they are, anything else as compact JSON. */
static void cell(const json_t *av, char *out, size_t cap)
{
	const char *type;
	json_t *v;
	char *s;

	out[0] = '\0';
	if (!json_is_object(av) || json_object_size(av) != 1) {
		snprintf(out, cap, "-");
		return;
	}
	json_object_foreach((json_t *)av, type, v)
	{
		if (json_is_string(v))
			cli_out_sanitize(json_string_value(v), out, cap);
		else if (json_is_boolean(v))
			snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
		else if ((s = json_dumps(v, JSON_COMPACT)) != NULL) {
			cli_out_sanitize(s, out, cap);
			free(s);
		}
	}
}

/* The items as a table: one column per attribute (in order of first appearance). */
static int print_table(const json_t *items, int64_t pages, double capacity)
{
	json_t *cols = json_array(), *it, *v;
	const char *name;
	size_t i, j, k, width[64];
	char buf[256];

	if (cols == NULL)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	json_array_foreach(items, i, it)
	{
		json_object_foreach(it, name, v)
		{
			bool seen = false;
			json_array_foreach(cols, k, v) seen =
			    seen || strcmp(json_string_value(v), name) == 0;
			if (!seen && json_array_size(cols) < 64)
				json_array_append_new(cols, json_string(name));
		}
	}
	json_array_foreach(cols, k, v) width[k] = json_string_length(v);
	json_array_foreach(items, i, it)
	{
		json_array_foreach(cols, k, v)
		{
			cell(json_object_get(it, json_string_value(v)), buf, 48);
			if (strlen(buf) > width[k])
				width[k] = strlen(buf);
		}
	}
	json_array_foreach(cols, k, v) printf("%-*s%s", (int)width[k], json_string_value(v),
	                                      k + 1 < json_array_size(cols) ? "  " : "\n");
	json_array_foreach(items, i, it)
	{
		for (j = 0; j < json_array_size(cols); j++) {
			const json_t *av =
			    json_object_get(it, json_string_value(json_array_get(cols, j)));
			if (av != NULL)
				cell(av, buf, 48);
			else
				snprintf(buf, sizeof(buf), "-");
			printf("%-*s%s", (int)width[j], buf,
			       j + 1 < json_array_size(cols) ? "  " : "\n");
		}
	}
	printf("(%zu item%s, %lld page%s, %.1f capacity units)\n", json_array_size(items),
	       json_array_size(items) == 1 ? "" : "s", (long long)pages, pages == 1 ? "" : "s",
	       capacity);
	json_decref(cols);
	fflush(stdout);
	return ferror(stdout) ? cli_fail(CLI_EXIT_LOCAL, NULL, "cannot write to standard output")
	                      : CLI_EXIT_OK;
}

/* The grant's usage now (gateway/usage.h): what `run` shows after the query. NULL when
 * the server does not say (an older server, or the grant ended meanwhile). */
static json_t *grant_usage(const cli_ctx *ctx, const char *grant)
{
	json_t *ans = NULL, *u = NULL;
	cli_client *c = cli_client_new(ctx);
	cli_failure f;
	bg_buf path;

	bg_buf_init(&path, BG_MAX_API_PATH);
	/* Quietly: the query's own outcome is what the responder must see. */
	if (c != NULL && cli_path(&path, "/api/v1/grants/", grant, NULL) == 0 &&
	    cli_client_call(c, "GET", path.data, NULL, &ans, &f) == CLI_EXIT_OK)
		u = json_incref(json_object_get(ans, "usage"));
	cli_client_free(c);
	json_decref(ans);
	bg_buf_free(&path);
	return u;
}

/* "grant G: read 1.5 of 10 units, write 0 units, 7 requests now (5/s), 14m left" */
static void print_usage(FILE *fp, const char *grant, const json_t *usage)
{
	bg_buf b;
	char left[32], clean[64];

	if (!json_is_object(usage))
		return;
	bg_buf_init(&b, 1024);
	bg_duration_format(json_integer_value(json_object_get(usage, "seconds_left")), left,
	                   sizeof(left));
	cli_out_sanitize(grant, clean, sizeof(clean));
	if (cli_out_usage_short(&b, usage) == 0)
		fprintf(fp, "grant %s: %.*s, %s left\n", clean, (int)b.len, b.data ? b.data : "",
		        left);
	bg_buf_free(&b);
}

/* The rendered request, through the gateway page by page. */
static int run_pages(const cli_ctx *ctx, const char *grant, const json_t *plan, const json_t *creds)
{
	const char *op = json_string_value(json_object_get(plan, "operation"));
	const char *table = NULL;
	json_t *req = json_deep_copy(json_object_get(plan, "request")), *items = json_array();
	json_t *ans = NULL, *page_items, *it, *lek;
	int64_t max_pages = json_integer_value(json_object_get(plan, "max_pages")), pages = 0;
	double capacity = 0;
	json_t *usage;
	cli_ddb *db = NULL;
	int64_t seq = 0;
	bool write;
	size_t i;
	bg_err e;
	int rc;

	if (op == NULL || req == NULL || items == NULL) {
		json_decref(req);
		json_decref(items);
		return cli_fail(CLI_EXIT_UNREACHABLE, NULL, "the server's answer is not a request");
	}
	write = strcmp(op, "PutItem") == 0 || strcmp(op, "UpdateItem") == 0 ||
	        strcmp(op, "DeleteItem") == 0;
	table = json_string_value(json_object_get(req, "TableName"));
	json_object_set_new(req, "ReturnConsumedCapacity", json_string("TOTAL"));
	if (write)
		json_object_set_new(req, "ReturnValues", json_string("NONE"));
	rc = cli_ddb_new(json_string_value(json_object_get(creds, "endpoint")),
	                 json_string_value(json_object_get(creds, "region")),
	                 json_string_value(json_object_get(creds, "access_key_id")),
	                 json_string_value(json_object_get(creds, "secret_access_key")),
	                 json_string_value(json_object_get(creds, "session_token")), &db, &e);
	if (rc != 0) {
		json_decref(req);
		json_decref(items);
		return cli_fail(CLI_EXIT_LOCAL, NULL, "%s", e.msg);
	}
	for (pages = 0; pages < (max_pages > 0 ? max_pages : 1);) {
		json_decref(ans);
		ans = NULL;
		rc = cli_ddb_call(db, op, req, &ans, &e);
		if (rc != 0)
			break;
		pages++;
		capacity += json_number_value(
		    json_object_get(json_object_get(ans, "ConsumedCapacity"), "CapacityUnits"));
		if (json_is_array(json_object_get(ans, "ConsumedCapacity"))) {
			json_array_foreach(json_object_get(ans, "ConsumedCapacity"), i, it)
			    capacity += json_number_value(json_object_get(it, "CapacityUnits"));
		}
		page_items = json_object_get(ans, "Items");
		if (page_items == NULL && json_object_get(ans, "Responses") != NULL &&
		    table == NULL) {
			const char *t;
			json_t *v;
			json_object_foreach(json_object_get(ans, "Responses"), t, v) page_items = v;
		}
		if ((it = json_object_get(ans, "Item")) != NULL)
			json_array_append(items, it);
		json_array_foreach(page_items, i, it) json_array_append(items, it);
		lek = json_object_get(ans, "LastEvaluatedKey");
		if (lek == NULL)
			break;
		json_object_set(req, "ExclusiveStartKey", lek);
	}
	seq = write ? cli_ddb_audit_seq(db) : 0;
	cli_ddb_free(db);
	json_decref(req);
	usage = grant_usage(ctx, grant);
	if (rc != 0) {
		json_decref(ans);
		json_decref(items);
		rc = cli_fail(rc == BG_EDENIED ? CLI_EXIT_REFUSED : CLI_EXIT_UNREACHABLE,
		              rc == BG_EDENIED ? "dynamodb" : NULL, "%s", e.msg);
		if (!ctx->json)
			print_usage(stderr, grant, usage);
		json_decref(usage);
		return rc;
	}
	if (ctx->json) {
		json_t *o = json_pack(
		    "{s:O,s:o,s:I,s:I,s:f,s:b,s:o*}", "runbook", json_object_get(plan, "runbook"),
		    "items", items, "count", (json_int_t)json_array_size(items), "pages",
		    (json_int_t)pages, "consumed_capacity", capacity, "more",
		    json_object_get(ans, "LastEvaluatedKey") != NULL, "usage", json_incref(usage));
		/* A write's response record: what `breakglass undo` takes. */
		if (o != NULL && seq > 0)
			json_object_set_new(o, "audit_seq", json_integer((json_int_t)seq));
		rc = o != NULL ? cli_emit_json(o) : cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		json_decref(o);
	} else if (write) {
		printf("done: %s by runbook %s (%.1f capacity units)\n", op,
		       json_string_value(json_object_get(plan, "runbook")), capacity);
		if (seq > 0)
			printf("undo: breakglass undo %lld --grant %s\n", (long long)seq, grant);
		json_decref(items);
		rc = CLI_EXIT_OK;
	} else {
		rc = print_table(items, pages, capacity);
		if (json_object_get(ans, "LastEvaluatedKey") != NULL)
			cli_warnf("more items than the runbook's %lld page%s show",
			          (long long)max_pages, max_pages == 1 ? "" : "s");
		json_decref(items);
	}
	if (!ctx->json)
		print_usage(stdout, grant, usage);
	json_decref(usage);
	json_decref(ans);
	return rc;
}

int cmd_run_main(int argc, char **argv)
{
	static const cli_opt opts[] = {{"grant", true}, {"param", true}, {NULL, false}};
	const char *val, *runbook = NULL, *grant = NULL;
	json_t *params = json_object(), *body = NULL, *plan = NULL, *creds = NULL;
	bg_buf path;
	cli_ctx ctx;
	cli_args a;
	int k, rc = CLI_EXIT_USAGE;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "run", &ctx);
	bg_buf_init(&path, BG_MAX_API_PATH);
	if (params == NULL) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		goto done;
	}
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		const char *eq;
		if (k == CLI_ARG_ERROR)
			goto done;
		if (k == CLI_ARG_POSITIONAL && runbook == NULL) {
			runbook = val;
		} else if (k == CLI_ARG_POSITIONAL) {
			rc = cli_usage_error(&a, "unexpected argument \"%s\"", val);
			goto done;
		} else if (k == 0) {
			grant = val;
		} else if ((eq = strchr(val, '=')) == NULL || eq == val ||
		           (size_t)(eq - val) > BG_MAX_RUNBOOK_ID) {
			rc = cli_usage_error(&a, "--param takes NAME=VALUE, got \"%.80s\"", val);
			goto done;
		} else {
			char name[BG_MAX_RUNBOOK_ID + 1];
			memcpy(name, val, (size_t)(eq - val));
			name[eq - val] = '\0';
			if (json_object_get(params, name) != NULL) {
				rc = cli_usage_error(&a, "--param %s given twice", name);
				goto done;
			}
			if (json_object_set_new(params, name, json_string(eq + 1)) != 0) {
				rc =
				    cli_usage_error(&a, "--param %s: the value is not UTF-8", name);
				goto done;
			}
		}
	}
	if (ctx.help) {
		rc = cli_help_show("run");
		goto done;
	}
	if (runbook == NULL) {
		rc = cli_usage_error(&a, "missing the RUNBOOK to run");
		goto done;
	}
	if (grant == NULL) {
		rc = cli_usage_error(&a, "missing --grant GRANT");
		goto done;
	}
	rc = cli_check_id(&a, "grant id", grant);
	if (rc != CLI_EXIT_OK)
		goto done;
	body = json_pack("{s:s,s:O}", "runbook", runbook, "params", params);
	if (body == NULL || cli_path(&path, "/api/v1/grants/", grant, "/render") != 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		goto done;
	}
	rc = cli_request(&ctx, "POST", path.data, body, &plan);
	if (rc == CLI_EXIT_OK)
		rc = cli_creds_fetch(&ctx, grant, &creds);
	if (rc == CLI_EXIT_OK)
		rc = run_pages(&ctx, grant, plan, creds);
done:
	json_decref(params);
	json_decref(body);
	json_decref(plan);
	json_decref(creds);
	bg_buf_free(&path);
	return rc;
}
