/*
 * cmd_close.c - `breakglass close INCIDENT` (teardown) and `breakglass review` (the
 * post-incident review's sign-off and list): issue 11, points 1 and 3.
 *
 * close asks the server to revoke every live grant of the incident, resolve it, open its
 * review and verify the audit chain (workflow/review.h), and prints what it did and what
 * comes next: the report command and the review's deadline. review signs with the
 * learnings read from a file (checked here first: a typo must not spend the TOTP code).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/help.h"
#include "cli/output.h"
#include "common/fileio.h"
#include "common/limits.h"
#include "common/validate.h"

static void when(const json_t *v, char out[32])
{
	time_t t = (time_t)json_integer_value(v);

	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static int close_print(const json_t *ans)
{
	const json_t *inc = json_object_get(ans, "incident"), *rv = json_object_get(ans, "review");
	const json_t *au = json_object_get(ans, "audit"), *id;
	char due[32], clean[256];
	bg_buf b;
	size_t i;
	int rc;

	bg_buf_init(&b, BG_MAX_CLI_TEXT);
	cli_out_sanitize(str(inc, "id"), clean, sizeof(clean));
	when(json_object_get(rv, "deadline"), due);
	rc = bg_buf_addf(&b, "incident  %s closed%s\n", clean,
	                 json_is_true(json_object_get(ans, "resolved_now"))
	                     ? " (resolved now)"
	                     : " (it was resolved before)");
	rc = rc ? rc
	        : bg_buf_addf(&b, "revoked   %lld grant(s)",
	                      (long long)json_integer_value(json_object_get(ans, "revoked_count")));
	json_array_foreach(json_object_get(ans, "revoked"), i, id)
	{
		cli_out_sanitize(json_string_value(id) ? json_string_value(id) : "", clean,
		                 sizeof(clean));
		rc = rc ? rc : bg_buf_addf(&b, "%s %s", i == 0 ? ":" : ",", clean);
	}
	cli_out_sanitize(str(inc, "id"), clean, sizeof(clean));
	rc = rc ? rc : bg_buf_addc(&b, '\n');
	rc = rc ? rc
	        : bg_buf_addf(&b, "review    %s, due %s%s\n",
	                      json_is_true(json_object_get(ans, "review_opened")) ? "opened"
	                                                                          : "already open",
	                      due, strcmp(str(rv, "state"), "signed") == 0 ? " (signed)" : "");
	rc = rc ? rc
	        : bg_buf_addf(&b, "audit     %s: %lld records%s\n",
	                      json_is_true(json_object_get(au, "ok")) ? "whole" : "BROKEN",
	                      (long long)json_integer_value(json_object_get(au, "records")),
	                      json_is_true(json_object_get(au, "ok"))
	                          ? " verified"
	                          : " (run breakglass audit verify for where and how)");
	rc = rc ? rc
	        : bg_buf_addf(&b,
	                      "next      breakglass review %s --sign --learnings FILE --otp CODE "
	                      "(someone who did not request access)\n",
	                      clean);
	if (rc != 0 && !b.failed) {
		bg_buf_free(&b);
		return cli_fail(CLI_EXIT_UNREACHABLE, NULL, "the server's answer is not a closing");
	}
	rc = cli_write_out(&b);
	bg_buf_free(&b);
	return rc;
}

/* Whether the caller may read the audit trail (admin or auditor), which the report is
 * built from. */
static bool may_read_audit(const cli_ctx *ctx)
{
	json_t *me = NULL;
	const char *role;
	bool ok;

	if (cli_request(ctx, "GET", "/api/v1/whoami", NULL, &me) != CLI_EXIT_OK)
		return false;
	role = json_string_value(json_object_get(me, "role"));
	ok = role != NULL && (strstr(role, "admin") != NULL || strstr(role, "auditor") != NULL);
	json_decref(me);
	return ok;
}

enum { C_REASON, C_REPORT, C_NO_REPORT };

int cmd_close_main(int argc, char **argv)
{
	static const cli_opt opts[] = {
	    {"reason", true}, {"report", true}, {"no-report", false}, {NULL, false}};
	const char *val, *id = NULL, *reason = NULL, *report = NULL;
	bool no_report = false;
	char report_path[BG_MAX_INCIDENT_ID + 16];
	json_t *body, *ans = NULL, *written = NULL;
	int written_failed = 0; /* the report was attempted and failed */
	cli_ctx ctx;
	cli_args a;
	bg_buf path;
	int k, rc;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "close", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (k == CLI_ARG_POSITIONAL && id == NULL)
			id = val;
		else if (k == CLI_ARG_POSITIONAL)
			return cli_usage_error(&a, "unexpected argument \"%s\"", val);
		else if (k == C_REPORT)
			report = val;
		else if (k == C_NO_REPORT)
			no_report = true;
		else
			reason = val;
	}
	if (ctx.help)
		return cli_help_show("close");
	if (report != NULL && (no_report || report[0] == '\0'))
		return cli_usage_error(&a, "--report FILE or --no-report, not both");
	if (id == NULL)
		return cli_usage_error(&a, "missing the incident's ID");
	if (!bg_valid_id(id, BG_MAX_INCIDENT_ID))
		return cli_usage_error(&a,
		                       "bad incident id \"%.40s\": 1 to %d of A-Z a-z 0-9 . _ -",
		                       id, BG_MAX_INCIDENT_ID);
	if (reason != NULL && !bg_valid_text(reason, BG_MAX_REASON))
		return cli_usage_error(&a, "--reason is at most %d bytes of text on one line",
		                       BG_MAX_REASON);
	body = json_pack("{s:s?}", "reason", reason);
	bg_buf_init(&path, BG_MAX_API_PATH);
	if (body == NULL || cli_path(&path, "/api/v1/incidents/", id, "/close") != 0) {
		json_decref(body);
		bg_buf_free(&path);
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	}
	rc = cli_request(&ctx, "POST", path.data, body, &ans);
	if (rc == CLI_EXIT_OK && !ctx.json)
		rc = close_print(ans);
	/* A trail that does not verify is the one thing a closing must not pass over. */
	if (rc == CLI_EXIT_OK &&
	    !json_is_true(json_object_get(json_object_get(ans, "audit"), "ok")))
		rc = CLI_EXIT_REFUSED;
	/* Then the report, built from the trail (with --json only when asked for by name: the
	 * answer is one JSON document). */
	if (rc == CLI_EXIT_OK && !no_report && (!ctx.json || report != NULL) &&
	    !may_read_audit(&ctx)) {
		/* The report is built from the audit trail, which only admins and auditors
		 * read: say who can write it rather than fail the closing. */
		if (report != NULL) {
			rc = cli_fail(CLI_EXIT_REFUSED, "forbidden",
			              "closed, but the report needs an admin or an auditor: "
			              "breakglass report %s --format html --out %s",
			              id, report);
			written_failed = 1;
		} else if (!ctx.json)
			printf(
			    "report    not written: it reads the audit trail, which takes an admin "
			    "or an auditor\n          (breakglass report %s --format html --out "
			    "%s-report.html)\n",
			    id, id);
		no_report = true;
	}
	if (rc == CLI_EXIT_OK && !no_report && (!ctx.json || report != NULL)) {
		if (report == NULL) {
			snprintf(report_path, sizeof(report_path), "%s-report.html", id);
			report = report_path;
		}
		rc = cli_report_write(&ctx, id,
		                      strstr(report, ".md") != NULL     ? "md"
		                      : strstr(report, ".json") != NULL ? "json"
		                                                        : "html",
		                      report, NULL, -1, ctx.json ? &written : NULL);
		written_failed = rc != CLI_EXIT_OK;
	}
	/* --json: one document, the close's answer with what was written of the report (a
	 * report that failed has printed its error document instead). */
	if (ctx.json && ans != NULL && (rc == CLI_EXIT_OK || written_failed == 0)) {
		int erc = (written == NULL || json_object_set_new(ans, "report", written) == 0)
		              ? cli_emit_json(ans)
		              : cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		written = NULL;
		if (rc == CLI_EXIT_OK)
			rc = erc;
	}
	json_decref(written);
	json_decref(ans);
	json_decref(body);
	bg_buf_free(&path);
	return rc;
}

/* --- review ----------------------------------------------------------------------------- */

static int review_line(bg_buf *b, const json_t *r)
{
	char due[32], signed_at[32], inc[128], by[128];

	when(json_object_get(r, "deadline"), due);
	when(json_object_get(r, "signed_at"), signed_at);
	cli_out_sanitize(str(r, "incident"), inc, sizeof(inc));
	cli_out_sanitize(str(r, "signed_by"), by, sizeof(by));
	if (strcmp(str(r, "state"), "signed") == 0)
		return bg_buf_addf(b, "%-20s signed    by %s at %s (due %s)\n", inc, by, signed_at,
		                   due);
	return bg_buf_addf(b, "%-20s %-9s due %s\n", inc, str(r, "state"), due);
}

static int review_print(const cli_ctx *ctx, const json_t *ans, bool list)
{
	const json_t *r;
	bg_buf b;
	size_t i;
	int rc = 0;

	if (ctx->json)
		return cli_emit_json(ans);
	bg_buf_init(&b, BG_MAX_CLI_TEXT);
	if (!list)
		rc = review_line(&b, ans);
	else if (json_array_size(json_object_get(ans, "reviews")) == 0)
		rc = bg_buf_adds(&b, "no reviews\n");
	json_array_foreach(list ? json_object_get(ans, "reviews") : NULL, i, r) rc =
	    rc ? rc : review_line(&b, r);
	if (rc != 0 && !b.failed) {
		bg_buf_free(&b);
		return cli_fail(CLI_EXIT_UNREACHABLE, NULL, "the server's answer is not a review");
	}
	rc = cli_write_out(&b);
	bg_buf_free(&b);
	return rc;
}

enum { R_SIGN, R_LEARNINGS, R_OTP, R_OVERDUE };

int cmd_review_main(int argc, char **argv)
{
	static const cli_opt opts[] = {
	    {"sign", false}, {"learnings", true}, {"otp", true}, {"overdue", false}, {NULL, false}};
	const char *val, *pos = NULL, *learn_file = NULL, *otp = NULL;
	bool sign = false, overdue = false;
	char *learnings = NULL;
	size_t len = 0;
	json_t *body = NULL, *ans = NULL;
	cli_ctx ctx;
	cli_args a;
	bg_buf path;
	bg_err e;
	int k, rc;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "review", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (k == CLI_ARG_POSITIONAL && pos == NULL)
			pos = val;
		else if (k == CLI_ARG_POSITIONAL)
			return cli_usage_error(&a, "unexpected argument \"%s\"", val);
		else if (k == R_SIGN)
			sign = true;
		else if (k == R_OVERDUE)
			overdue = true;
		else if (k == R_LEARNINGS)
			learn_file = val;
		else
			otp = val;
	}
	if (ctx.help)
		return cli_help_show("review");
	if (pos == NULL)
		return cli_usage_error(&a, "missing the incident's ID, or list");
	if (strcmp(pos, "list") == 0) {
		if (sign || learn_file || otp)
			return cli_usage_error(&a, "list takes --overdue only");
		rc = cli_request(&ctx, "GET",
		                 overdue ? "/api/v1/reviews?overdue=1" : "/api/v1/reviews", NULL,
		                 &ans);
		if (rc == CLI_EXIT_OK)
			rc = review_print(&ctx, ans, true);
		json_decref(ans);
		return rc;
	}
	if (overdue)
		return cli_usage_error(&a, "--overdue goes with review list");
	if (!bg_valid_id(pos, BG_MAX_INCIDENT_ID))
		return cli_usage_error(&a,
		                       "bad incident id \"%.40s\": 1 to %d of A-Z a-z 0-9 . _ -",
		                       pos, BG_MAX_INCIDENT_ID);
	if (!sign || learn_file == NULL || otp == NULL)
		return cli_usage_error(&a, "signing takes --sign --learnings FILE --otp CODE");
	rc = cli_check_otp(&a, otp);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (bg_read_file(learn_file, BG_MAX_LEARNINGS, &learnings, &len, &e) != 0)
		return cli_usage_error(&a, "--learnings: %s", e.msg);
	if (len == 0 || strlen(learnings) != len) {
		free(learnings);
		return cli_usage_error(&a, "--learnings: %s is empty or not text", learn_file);
	}
	body = json_pack("{s:s,s:s}", "learnings", learnings, "otp", otp);
	free(learnings);
	bg_buf_init(&path, BG_MAX_API_PATH);
	if (body == NULL || cli_path(&path, "/api/v1/incidents/", pos, "/review") != 0) {
		json_decref(body);
		bg_buf_free(&path);
		return cli_fail(CLI_EXIT_LOCAL, NULL,
		                body == NULL ? "--learnings is not UTF-8 text" : "out of memory");
	}
	rc = cli_request(&ctx, "POST", path.data, body, &ans);
	if (rc == CLI_EXIT_OK)
		rc = review_print(&ctx, ans, false);
	json_decref(ans);
	json_decref(body);
	bg_buf_free(&path);
	return rc;
}
