/*
 * cmd_request.c - the access workflow from the terminal: `breakglass request` (a responder
 * asks for runbooks for an incident; --wait blocks until answered; --solo is break-glass
 * without an answer where the policy allows it), `approve` and `deny` (an approver
 * answers), and `requests` (the list).
 *
 * Arguments are checked here before the TOTP code is sent, so a typo does not spend it.
 * A refusal for the trigger criteria prints every failing criterion, one per line.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/help.h"
#include "cli/output.h"
#include "common/duration.h"
#include "common/limits.h"
#include "common/validate.h"

/* How often --wait asks whether the request was answered: an approver takes seconds. */
#define WAIT_POLL_SECONDS 1

/* Prints a request (and, once approved, its grant) for people. */
static int request_print(const cli_ctx *ctx, const json_t *r)
{
	bg_buf out;
	int rc;

	if (ctx->json)
		return cli_emit_json(r);
	bg_buf_init(&out, BG_MAX_CLI_TEXT);
	if (cli_out_request(&out, r) != 0 && !out.failed) {
		bg_buf_free(&out);
		return cli_fail(CLI_EXIT_UNREACHABLE, NULL, "the server's answer is not a request");
	}
	rc = cli_write_out(&out);
	bg_buf_free(&out);
	return rc;
}

/* GET /api/v1/requests/ID until it is no longer pending. */
static int request_wait(const cli_ctx *ctx, const char *id, json_t **ans)
{
	bg_buf path;
	const char *state;
	int rc;

	bg_buf_init(&path, BG_MAX_API_PATH);
	if (cli_path(&path, "/api/v1/requests/", id, NULL) != 0) {
		bg_buf_free(&path);
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	}
	for (;;) {
		json_decref(*ans);
		*ans = NULL;
		rc = cli_request(ctx, "GET", path.data, NULL, ans);
		if (rc != CLI_EXIT_OK)
			break;
		state = json_string_value(json_object_get(*ans, "state"));
		if (state == NULL || strcmp(state, "pending") != 0)
			break;
		sleep(WAIT_POLL_SECONDS);
	}
	bg_buf_free(&path);
	return rc;
}

/* Who is asked, on stderr, while --wait waits. */
static void say_waiting(const json_t *r)
{
	const json_t *who = json_object_get(r, "approvers"), *v;
	size_t i;
	char name[80];

	fprintf(stderr, "breakglass: request %s is waiting for %lld approval(s); notified:",
	        json_string_value(json_object_get(r, "id")),
	        (long long)json_integer_value(json_object_get(r, "approvals_needed")));
	if (json_array_size(who) == 0)
		fprintf(stderr, " nobody (no user holds the approver role)");
	json_array_foreach(who, i, v)
	{
		cli_out_sanitize(json_string_value(v), name, sizeof(name));
		fprintf(stderr, "%s %s", i ? "," : "", name);
	}
	fprintf(stderr, "\n");
}

int cmd_request_main(int argc, char **argv)
{
	static const cli_opt opts[] = {{"incident", true}, {"runbook", true}, {"reason", true},
	                               {"ticket", true},   {"for", true},     {"otp", true},
	                               {"wait", false},    {"solo", false},   {NULL, false}};
	enum { O_INCIDENT, O_RUNBOOK, O_REASON, O_TICKET, O_FOR, O_OTP, O_WAIT, O_SOLO };
	const char *v[O_OTP + 1] = {NULL}, *val, *state;
	json_t *runbooks = json_array(), *body = NULL, *ans = NULL;
	bool wait = false, solo = false;
	int64_t secs = 0;
	cli_ctx ctx;
	cli_args a;
	bg_err e;
	int k, rc = CLI_EXIT_USAGE;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "request", &ctx);
	if (runbooks == NULL)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			goto out;
		if (k == CLI_ARG_POSITIONAL) {
			rc = cli_usage_error(&a, "unexpected argument \"%s\"", val);
			goto out;
		}
		if (k == O_WAIT)
			wait = true;
		else if (k == O_SOLO)
			solo = true;
		else if (k == O_RUNBOOK &&
		         (rc = cli_list_add(&a, runbooks, val, "runbook", BG_MAX_GRANT_RUNBOOKS,
		                            cli_runbook_word)) != CLI_EXIT_OK)
			goto out;
		else
			v[k] = val;
	}
	rc = CLI_EXIT_USAGE;
	if (ctx.help) {
		rc = cli_help_show("request");
		goto out;
	}
	if (v[O_INCIDENT] == NULL || json_array_size(runbooks) == 0) {
		rc = cli_usage_error(&a, "missing --incident or --runbook");
		goto out;
	}
	if (!bg_valid_id(v[O_INCIDENT], BG_MAX_INCIDENT_ID)) {
		rc = cli_usage_error(&a, "bad --incident \"%.40s\"", v[O_INCIDENT]);
		goto out;
	}
	if (!solo && (v[O_REASON] == NULL || v[O_FOR] == NULL)) {
		rc = cli_usage_error(&a, "missing --reason or --for");
		goto out;
	}
	if (v[O_REASON] != NULL &&
	    (v[O_REASON][0] == '\0' || !bg_valid_text(v[O_REASON], BG_MAX_REASON))) {
		rc = cli_usage_error(&a, "--reason is 1 to %d bytes of text on one line",
		                     BG_MAX_REASON);
		goto out;
	}
	if (v[O_TICKET] != NULL && !bg_valid_text(v[O_TICKET], BG_MAX_TICKET)) {
		rc = cli_usage_error(&a, "--ticket is at most %d bytes of text on one line",
		                     BG_MAX_TICKET);
		goto out;
	}
	if (v[O_FOR] != NULL && bg_duration_parse(v[O_FOR], BG_MAX_GRANT_SECONDS, &secs, &e) != 0) {
		rc = cli_usage_error(&a, "--for: %s", e.msg);
		goto out;
	}
	if (v[O_OTP] == NULL) {
		rc = cli_usage_error(&a, "missing --otp (your current TOTP code)");
		goto out;
	}
	rc = cli_check_otp(&a, v[O_OTP]);
	if (rc != CLI_EXIT_OK)
		goto out;
	body = json_pack("{s:s,s:O,s:s?,s:s?,s:I,s:s,s:b}", "incident", v[O_INCIDENT], "runbooks",
	                 runbooks, "reason", v[O_REASON], "ticket", v[O_TICKET], "duration_seconds",
	                 (json_int_t)secs, "otp", v[O_OTP], "solo", solo);
	if (body == NULL) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		goto out;
	}
	rc = cli_request(&ctx, "POST", "/api/v1/requests", body, &ans);
	if (rc == CLI_EXIT_OK && wait && !solo) {
		state = json_string_value(json_object_get(ans, "state"));
		if (state != NULL && strcmp(state, "pending") == 0) {
			say_waiting(ans);
			rc =
			    request_wait(&ctx, json_string_value(json_object_get(ans, "id")), &ans);
		}
	}
	if (rc == CLI_EXIT_OK) {
		state = json_string_value(json_object_get(ans, "state"));
		rc = request_print(&ctx, ans);
		/* Waited for an answer that was not yes: refused, as an exit code says. */
		if (rc == CLI_EXIT_OK && wait && state != NULL && strcmp(state, "approved") != 0)
			rc = CLI_EXIT_REFUSED;
	}
out:
	json_decref(runbooks);
	json_decref(body);
	json_decref(ans);
	return rc;
}

/* approve|deny REQUEST --otp CODE [--reason TEXT] */
static int answer_main(int argc, char **argv, const char *cmd)
{
	static const cli_opt opts[] = {{"otp", true}, {"reason", true}, {NULL, false}};
	const char *val, *id = NULL, *otp = NULL, *reason = NULL;
	json_t *body, *ans = NULL;
	bool approve = strcmp(cmd, "approve") == 0;
	bg_buf path;
	cli_ctx ctx;
	cli_args a;
	int k, rc;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, cmd, &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (k == CLI_ARG_POSITIONAL && id == NULL)
			id = val;
		else if (k == CLI_ARG_POSITIONAL)
			return cli_usage_error(&a, "unexpected argument \"%s\"", val);
		else if (k == 0)
			otp = val;
		else
			reason = val;
	}
	if (ctx.help)
		return cli_help_show(cmd);
	if (id == NULL)
		return cli_usage_error(&a, "missing the REQUEST id");
	rc = cli_check_id(&a, "request id", id);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (!approve && (reason == NULL || reason[0] == '\0'))
		return cli_usage_error(&a, "a denial needs --reason TEXT");
	if (reason != NULL && !bg_valid_text(reason, BG_MAX_REASON))
		return cli_usage_error(&a, "--reason is at most %d bytes of text on one line",
		                       BG_MAX_REASON);
	if (otp == NULL)
		return cli_usage_error(&a, "missing --otp (your current TOTP code)");
	rc = cli_check_otp(&a, otp);
	if (rc != CLI_EXIT_OK)
		return rc;
	body = json_pack("{s:s,s:s?}", "otp", otp, "reason", reason);
	bg_buf_init(&path, BG_MAX_API_PATH);
	if (body == NULL ||
	    cli_path(&path, "/api/v1/requests/", id, approve ? "/approve" : "/deny") != 0) {
		json_decref(body);
		bg_buf_free(&path);
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	}
	rc = cli_request(&ctx, "POST", path.data, body, &ans);
	if (rc == CLI_EXIT_OK)
		rc = request_print(&ctx, ans);
	json_decref(body);
	json_decref(ans);
	bg_buf_free(&path);
	return rc;
}

/* extend REQUEST --for D [--reason TEXT] [--wait] */
int cmd_extend_main(int argc, char **argv)
{
	static const cli_opt opts[] = {
	    {"for", true}, {"reason", true}, {"wait", false}, {NULL, false}};
	const char *val, *id = NULL, *dur = NULL, *reason = NULL, *state;
	json_t *body = NULL, *ans = NULL;
	bool wait = false;
	int64_t secs = 0;
	bg_buf path;
	cli_ctx ctx;
	cli_args a;
	bg_err e;
	int k, rc;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "extend", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (k == CLI_ARG_POSITIONAL && id == NULL)
			id = val;
		else if (k == CLI_ARG_POSITIONAL)
			return cli_usage_error(&a, "unexpected argument \"%s\"", val);
		else if (k == 0)
			dur = val;
		else if (k == 1)
			reason = val;
		else
			wait = true;
	}
	if (ctx.help)
		return cli_help_show("extend");
	if (id == NULL || dur == NULL)
		return cli_usage_error(&a, "missing the REQUEST id or --for DURATION");
	rc = cli_check_id(&a, "request id", id);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (bg_duration_parse(dur, BG_MAX_GRANT_SECONDS, &secs, &e) != 0)
		return cli_usage_error(&a, "--for: %s", e.msg);
	if (reason != NULL && (reason[0] == '\0' || !bg_valid_text(reason, BG_MAX_REASON)))
		return cli_usage_error(&a, "--reason is 1 to %d bytes of text on one line",
		                       BG_MAX_REASON);
	body = json_pack("{s:I,s:s?}", "duration_seconds", (json_int_t)secs, "reason", reason);
	bg_buf_init(&path, BG_MAX_API_PATH);
	if (body == NULL || cli_path(&path, "/api/v1/requests/", id, "/extend") != 0) {
		json_decref(body);
		bg_buf_free(&path);
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	}
	rc = cli_request(&ctx, "POST", path.data, body, &ans);
	if (rc == CLI_EXIT_OK && wait) {
		say_waiting(ans);
		rc = request_wait(&ctx, json_string_value(json_object_get(ans, "id")), &ans);
	}
	if (rc == CLI_EXIT_OK) {
		state = json_string_value(json_object_get(ans, "state"));
		rc = request_print(&ctx, ans);
		if (rc == CLI_EXIT_OK && wait && state != NULL && strcmp(state, "approved") != 0)
			rc = CLI_EXIT_REFUSED;
	}
	json_decref(body);
	json_decref(ans);
	bg_buf_free(&path);
	return rc;
}

int cmd_approve_main(int argc, char **argv)
{
	return answer_main(argc, argv, "approve");
}

int cmd_deny_main(int argc, char **argv)
{
	return answer_main(argc, argv, "deny");
}

int cmd_requests_main(int argc, char **argv)
{
	const char *val, *id = NULL;
	json_t *ans = NULL;
	bg_buf path, out;
	cli_ctx ctx;
	cli_args a;
	int k, rc;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "requests", &ctx);
	while ((k = cli_args_next(&a, NULL, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (id != NULL)
			return cli_usage_error(&a, "unexpected argument \"%s\"", val);
		id = val;
	}
	if (ctx.help)
		return cli_help_show("requests");
	if (id != NULL) { /* requests ID: one request */
		rc = cli_check_id(&a, "request id", id);
		if (rc != CLI_EXIT_OK)
			return rc;
		bg_buf_init(&path, BG_MAX_API_PATH);
		rc = cli_path(&path, "/api/v1/requests/", id, NULL) != 0
		         ? cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory")
		         : cli_request(&ctx, "GET", path.data, NULL, &ans);
		if (rc == CLI_EXIT_OK)
			rc = request_print(&ctx, ans);
		bg_buf_free(&path);
		json_decref(ans);
		return rc;
	}
	rc = cli_request(&ctx, "GET", "/api/v1/requests", NULL, &ans);
	if (rc == CLI_EXIT_OK && ctx.json) {
		rc = cli_emit_json(ans);
	} else if (rc == CLI_EXIT_OK) {
		bg_buf_init(&out, BG_MAX_CLI_TEXT);
		rc = cli_out_request_list(&out, ans) != 0 && !out.failed
		         ? cli_fail(CLI_EXIT_UNREACHABLE, NULL,
		                    "the server's answer has no requests")
		         : cli_write_out(&out);
		bg_buf_free(&out);
	}
	json_decref(ans);
	return rc;
}
