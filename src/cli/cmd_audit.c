/*
 * cmd_audit.c - `breakglass audit tail`: read the audit log through the API.
 *
 * One line per record in the terminal (what an incident lead skims), or the server's
 * {"records":[...]} with --json (what a script or the e2e tests check). Paging is explicit
 * (--after SEQ) so a script can walk the whole log without the CLI holding it in memory.
 */
#include <string.h>

#include "cli/cli.h"
#include "cli/help.h"
#include "cli/client.h"
#include "cli/output.h"
#include "common/limits.h"

/* The API's page cap (docs/api.md). */
#define AUDIT_MAX_LIMIT 1000

static int audit_tail(const cli_ctx *ctx, int64_t after, int64_t limit)
{
	json_t *ans = NULL, *recs, *r;
	bg_buf path, out;
	size_t i;
	int rc;

	bg_buf_init(&path, BG_MAX_API_PATH);
	bg_buf_init(&out, BG_MAX_RESPONSE_BODY);
	if (bg_buf_addf(&path, "/api/v1/audit?after=%lld&limit=%lld", (long long)after,
	                (long long)limit) != 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		goto fail;
	}
	rc = cli_request(ctx, "GET", path.data, NULL, &ans);
	if (rc != CLI_EXIT_OK)
		goto fail;
	recs = json_object_get(ans, "records");
	if (!json_is_array(recs)) {
		rc = cli_fail(CLI_EXIT_UNREACHABLE, NULL,
		              "the server's answer has no \"records\" list");
		goto fail;
	}
	if (ctx->json) {
		rc = cli_emit_json(ans);
		goto fail;
	}
	json_array_foreach(recs, i, r)
	{
		if (cli_out_audit_line(&out, r) != 0) {
			rc = cli_fail(CLI_EXIT_UNREACHABLE, NULL, "audit record %zu is malformed",
			              i);
			goto fail;
		}
	}
	rc = cli_write_out(&out);
fail:
	json_decref(ans);
	bg_buf_free(&path);
	bg_buf_free(&out);
	return rc;
}

int cmd_audit_main(int argc, char **argv)
{
	static const cli_opt opts[] = {{"after", true}, {"limit", true}, {NULL, false}};
	cli_ctx ctx;
	cli_args a;
	const char *val, *sub = NULL;
	int64_t after = 0, limit = 100;
	int k;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "audit", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		switch (k) {
		case CLI_ARG_ERROR:
			return CLI_EXIT_USAGE;
		case CLI_ARG_POSITIONAL:
			if (sub != NULL)
				return cli_usage_error(&a, "unexpected argument \"%s\"", val);
			sub = val;
			break;
		case 0:
			if (cli_parse_int(val, 0, INT64_MAX, &after) != 0)
				return cli_usage_error(&a, "--after takes a sequence number");
			break;
		case 1:
			if (cli_parse_int(val, 1, AUDIT_MAX_LIMIT, &limit) != 0)
				return cli_usage_error(&a, "--limit takes a number from 1 to %d",
				                       AUDIT_MAX_LIMIT);
			break;
		}
	}
	if (ctx.help)
		return cli_help_show("audit");
	if (sub == NULL)
		return cli_usage_error(&a, "missing subcommand (tail)");
	if (strcmp(sub, "tail") != 0)
		return cli_usage_error(&a, "unknown subcommand \"%s\" (this version has: tail)",
		                       sub);
	return audit_tail(&ctx, after, limit);
}
