/*
 * cmd_status.c - `breakglass status`: the gateway as an operator checks it first: whether
 * it has a valid AWS identity (and where it came from, until when, the last error), its
 * upstream and region, the runbooks and policy it holds, and what is open now: incidents,
 * pending requests, live grants. Nothing secret is shown.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/help.h"
#include "cli/output.h"

static void print_time(const char *label, const json_t *v)
{
	char when[32];
	time_t t;

	if (!json_is_integer(v))
		return;
	t = (time_t)json_integer_value(v);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	printf("%-16s %s\n", label, when);
}

static void print_str(const char *label, const json_t *v)
{
	char clean[512];

	if (json_string_value(v) == NULL || json_string_value(v)[0] == '\0')
		return;
	cli_out_sanitize(json_string_value(v), clean, sizeof(clean));
	printf("%-16s %s\n", label, clean);
}

/* Each open incident: severity, title, its alerts; `close` suggested once they have all
 * resolved (never done for the responder). */
static void print_incidents(const json_t *incidents)
{
	const json_t *in;
	size_t i;

	json_array_foreach(incidents, i, in)
	{
		const char *id = json_string_value(json_object_get(in, "id"));
		const char *title = json_string_value(json_object_get(in, "title"));
		long long firing =
		    (long long)json_integer_value(json_object_get(in, "alerts_firing"));
		char cid[64], ctitle[48];

		cli_out_sanitize(id != NULL ? id : "", cid, sizeof(cid));
		cli_out_sanitize(title != NULL ? title : "", ctitle, sizeof(ctitle));
		printf("  incident       %s SEV%lld %s\n", cid,
		       (long long)json_integer_value(json_object_get(in, "severity")), ctitle);
		if (json_is_true(json_object_get(in, "close_suggested")))
			printf("                   all alerts resolved: `breakglass close %s` when "
			       "done\n",
			       cid);
		else if (firing > 0)
			printf("                   %lld alert%s firing\n", firing,
			       firing == 1 ? "" : "s");
	}
}

/* Each live grant: whose, and how long it has left. */
static void print_grants(const json_t *grants)
{
	const json_t *g;
	size_t i;

	json_array_foreach(grants, i, g)
	{
		const char *id = json_string_value(json_object_get(g, "id"));
		const char *user = json_string_value(json_object_get(g, "user"));
		long long left = (long long)json_integer_value(json_object_get(g, "seconds_left"));
		char cid[64], cuser[128];

		bg_buf u;

		cli_out_sanitize(id != NULL ? id : "", cid, sizeof(cid));
		cli_out_sanitize(user != NULL ? user : "", cuser, sizeof(cuser));
		printf("  grant          %s of %s, %lldm%02llds left\n", cid, cuser, left / 60,
		       left % 60);
		/* Its budgets and rate, on a line of its own (80 columns). */
		bg_buf_init(&u, 1024);
		if (cli_out_usage_short(&u, json_object_get(g, "usage")) == 0 && u.len > 0)
			printf("                   %.*s\n", (int)u.len, u.data);
		bg_buf_free(&u);
	}
}

/* The trail's head and each sink: whether it is taking records and how far behind. */
static void print_audit(const json_t *audit)
{
	const json_t *sink;
	size_t i;

	printf("%-16s %lld records\n", "audit trail",
	       (long long)json_integer_value(json_object_get(audit, "head_seq")));
	json_array_foreach(json_object_get(audit, "sinks"), i, sink)
	{
		char name[512], err[512];
		bool up = json_is_true(json_object_get(sink, "up"));

		const char *n = json_string_value(json_object_get(sink, "name"));
		const char *why = json_string_value(json_object_get(sink, "last_error"));

		cli_out_sanitize(n != NULL ? n : "", name, sizeof(name));
		printf("  sink           %s (%s): %s, %lld behind\n", name,
		       json_is_true(json_object_get(sink, "required")) ? "required" : "best effort",
		       up ? "up" : "DOWN",
		       (long long)json_integer_value(json_object_get(sink, "lag")));
		if (!up) {
			cli_out_sanitize(why != NULL ? why : "", err, sizeof(err));
			printf("    last error   %s\n", err);
		}
	}
}

int cmd_status_main(int argc, char **argv)
{
	const char *val;
	json_t *ans = NULL, *id, *rb;
	cli_ctx ctx;
	cli_args a;
	int k, rc;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "status", &ctx);
	while ((k = cli_args_next(&a, NULL, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		return cli_usage_error(&a, "unexpected argument \"%s\"", val);
	}
	if (ctx.help)
		return cli_help_show("status");
	rc = cli_request(&ctx, "GET", "/api/v1/status", NULL, &ans);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (ctx.json) {
		rc = cli_emit_json(ans);
		json_decref(ans);
		return rc;
	}
	id = json_object_get(ans, "identity");
	rb = json_object_get(ans, "runbooks");
	if (json_is_true(json_object_get(id, "valid")))
		printf("%-16s %s\n", "AWS identity", "valid");
	else
		printf("%-16s %s\n", "AWS identity",
		       "NONE: DynamoDB requests are refused until the gateway has one");
	print_str("  source", json_object_get(id, "source"));
	print_str("  access key", json_object_get(id, "access_key_id"));
	print_time("  expires", json_object_get(id, "expires"));
	print_time("  refreshed", json_object_get(id, "refreshed"));
	print_str("  last error", json_object_get(id, "last_error"));
	print_str("upstream", json_object_get(ans, "upstream"));
	print_str("region", json_object_get(ans, "region"));
	print_str("public url", json_object_get(ans, "public_url"));
	printf("%-16s %lld loaded%s%s\n", "runbooks",
	       (long long)json_integer_value(json_object_get(rb, "count")),
	       json_string_length(json_object_get(rb, "folder")) > 0 ? " from " : "",
	       json_string_length(json_object_get(rb, "folder")) > 0
	           ? json_string_value(json_object_get(rb, "folder"))
	           : " (no folder configured)");
	print_str("policy", json_object_get(ans, "policy"));
	printf("%-16s %lld open\n", "incidents",
	       (long long)json_integer_value(json_object_get(ans, "open_incidents")));
	print_incidents(json_object_get(ans, "incidents"));
	printf("%-16s %lld pending\n", "requests",
	       (long long)json_integer_value(json_object_get(ans, "pending_requests")));
	printf("%-16s %lld live\n", "grants",
	       (long long)json_integer_value(json_object_get(ans, "live_grants")));
	print_grants(json_object_get(ans, "grants"));
	printf("%-16s %lld overdue%s\n", "reviews",
	       (long long)json_integer_value(json_object_get(ans, "overdue_reviews")),
	       json_integer_value(json_object_get(ans, "overdue_reviews")) > 0
	           ? " (breakglass review list --overdue)"
	           : "");
	print_audit(json_object_get(ans, "audit"));
	json_decref(ans);
	fflush(stdout);
	return ferror(stdout) ? cli_fail(CLI_EXIT_LOCAL, NULL, "cannot write to standard output")
	                      : CLI_EXIT_OK;
}
