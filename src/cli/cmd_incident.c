/*
 * cmd_incident.c - `breakglass incident open|list|show|resolve`: the incidents that
 * break-glass requests are for, opened by hand here or by alert webhooks on the gateway.
 *
 * Arguments are checked here first (the id's characters, the severity's range, a title
 * without control characters) so that a typo is a usage error, not a round trip; the
 * server checks them again and decides who may act.
 */
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/help.h"
#include "cli/output.h"
#include "common/limits.h"
#include "common/validate.h"

/* Prints an answer: as JSON, or through fmt. */
static int incident_print(const cli_ctx *ctx, const json_t *ans,
                          int (*fmt)(bg_buf *b, const json_t *j))
{
	bg_buf out;
	int rc;

	if (ctx->json)
		return cli_emit_json(ans);
	bg_buf_init(&out, BG_MAX_CLI_TEXT);
	if (fmt(&out, ans) != 0 && !out.failed) {
		bg_buf_free(&out);
		return cli_fail(CLI_EXIT_UNREACHABLE, NULL,
		                "the server's answer is not an incident");
	}
	rc = cli_write_out(&out);
	bg_buf_free(&out);
	return rc;
}

/* METHOD /api/v1/incidents[/ID][SUFFIX] with body (may be NULL), printed with fmt. */
static int incident_call(const cli_ctx *ctx, const char *method, const char *id, const char *suffix,
                         json_t *body, int (*fmt)(bg_buf *b, const json_t *j))
{
	json_t *ans = NULL;
	bg_buf path;
	int rc;

	bg_buf_init(&path, BG_MAX_API_PATH);
	rc = id != NULL ? cli_path(&path, "/api/v1/incidents/", id, suffix)
	                : bg_buf_addf(&path, "/api/v1/incidents%s", suffix ? suffix : "");
	if (rc != 0) {
		bg_buf_free(&path);
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	}
	rc = cli_request(ctx, method, path.data, body, &ans);
	if (rc == CLI_EXIT_OK)
		rc = incident_print(ctx, ans, fmt);
	json_decref(ans);
	bg_buf_free(&path);
	return rc;
}

static int incident_check_id(const cli_args *a, const char *id)
{
	if (!bg_valid_id(id, BG_MAX_INCIDENT_ID))
		return cli_usage_error(a, "bad incident id \"%.40s\": 1 to %d of A-Z a-z 0-9 . _ -",
		                       id, BG_MAX_INCIDENT_ID);
	return CLI_EXIT_OK;
}

enum { OPT_ID, OPT_SEVERITY, OPT_TITLE, OPT_SERVICE, OPT_REASON, OPT_ALL };

int cmd_incident_main(int argc, char **argv)
{
	static const cli_opt opts[] = {{"id", true},      {"severity", true}, {"title", true},
	                               {"service", true}, {"reason", true},   {"all", false},
	                               {NULL, false}};
	static const char *const subs[] = {"open", "list", "show", "resolve", NULL};
	const char *v[OPT_ALL + 1] = {NULL}, *val, *sub = NULL, *pos = NULL;
	bool all = false;
	char cmd[32];
	int64_t sev = 0;
	json_t *body;
	cli_ctx ctx;
	cli_args a;
	size_t i;
	int k, rc;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "incident", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (k == CLI_ARG_POSITIONAL && sub == NULL) {
			for (i = 0; subs[i] != NULL && strcmp(subs[i], val) != 0; i++)
				;
			if (subs[i] == NULL)
				return cli_usage_error(
				    &a, "unknown subcommand \"%s\" (open, list, show, resolve)",
				    val);
			sub = subs[i];
			snprintf(cmd, sizeof(cmd), "incident %s", sub);
			a.cmd = cmd;
		} else if (k == CLI_ARG_POSITIONAL && pos == NULL) {
			pos = val;
		} else if (k == CLI_ARG_POSITIONAL) {
			return cli_usage_error(&a, "unexpected argument \"%s\"", val);
		} else if (k == OPT_ALL) {
			all = true;
		} else {
			v[k] = val;
		}
	}
	if (ctx.help)
		return cli_help_show("incident");
	if (sub == NULL)
		return cli_usage_error(&a, "missing subcommand (open, list, show, resolve)");
	/* Each option belongs to one subcommand. */
	if ((strcmp(sub, "open") != 0 &&
	     (v[OPT_ID] || v[OPT_SEVERITY] || v[OPT_TITLE] || v[OPT_SERVICE])) ||
	    (strcmp(sub, "resolve") != 0 && v[OPT_REASON]) || (strcmp(sub, "list") != 0 && all))
		return cli_usage_error(&a,
		                       "an option of another subcommand (see breakglass incident "
		                       "--help)");
	if (strcmp(sub, "list") == 0) {
		if (pos != NULL)
			return cli_usage_error(&a, "unexpected argument \"%s\"", pos);
		return incident_call(&ctx, "GET", NULL, all ? "?state=all" : "?state=open", NULL,
		                     cli_out_incident_list);
	}
	if (strcmp(sub, "open") == 0) {
		if (pos != NULL)
			return cli_usage_error(&a, "unexpected argument \"%s\" (the id is --id ID)",
			                       pos);
		if (v[OPT_ID] == NULL || v[OPT_SEVERITY] == NULL || v[OPT_TITLE] == NULL)
			return cli_usage_error(&a, "missing --id, --severity or --title");
		rc = incident_check_id(&a, v[OPT_ID]);
		if (rc != CLI_EXIT_OK)
			return rc;
		if (cli_parse_int(v[OPT_SEVERITY], 1, 5, &sev) != 0)
			return cli_usage_error(&a, "--severity is 1 (the most severe) to 5");
		if (v[OPT_TITLE][0] == '\0' || !bg_valid_text(v[OPT_TITLE], BG_MAX_INCIDENT_TITLE))
			return cli_usage_error(&a, "--title is 1 to %d bytes of text on one line",
			                       BG_MAX_INCIDENT_TITLE);
		if (v[OPT_SERVICE] != NULL && !bg_valid_id(v[OPT_SERVICE], BG_MAX_SERVICE_NAME))
			return cli_usage_error(&a, "--service is 1 to %d of A-Z a-z 0-9 . _ -",
			                       BG_MAX_SERVICE_NAME);
		body = json_pack("{s:s,s:I,s:s,s:s?}", "id", v[OPT_ID], "severity", (json_int_t)sev,
		                 "title", v[OPT_TITLE], "service", v[OPT_SERVICE]);
		if (body == NULL)
			return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		rc = incident_call(&ctx, "POST", NULL, NULL, body, cli_out_incident);
		json_decref(body);
		return rc;
	}
	if (pos == NULL)
		return cli_usage_error(&a, "missing the incident's ID");
	rc = incident_check_id(&a, pos);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (strcmp(sub, "show") == 0)
		return incident_call(&ctx, "GET", pos, NULL, NULL, cli_out_incident);
	if (v[OPT_REASON] != NULL && !bg_valid_text(v[OPT_REASON], BG_MAX_REASON))
		return cli_usage_error(&a, "--reason is at most %d bytes of text on one line",
		                       BG_MAX_REASON);
	body = json_pack("{s:s?}", "reason", v[OPT_REASON]);
	if (body == NULL)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	rc = incident_call(&ctx, "POST", pos, "/resolve", body, cli_out_incident);
	json_decref(body);
	return rc;
}
