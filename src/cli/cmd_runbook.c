/*
 * cmd_runbook.c - `breakglass runbook lint|list|show|test`: the runbook folder as its
 * authors and reviewers see it, without a server.
 *
 * lint prints every problem as FILE:LINE: MESSAGE (the form editors and CI annotate), so
 * a pull request that breaks a template is caught before the gateway refuses to load it.
 * The folder is --runbooks, else $BREAKGLASS_RUNBOOKS, else the serve configuration's
 * (BREAKGLASS_CONFIG), else ./runbooks.
 */
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "protocol/ddb_undo.h"
#include "cli/help.h"
#include "cli/output.h"
#include "cli/runbook_test.h"
#include "common/limits.h"
#include "gateway/config.h"
#include "runbook/runbook.h"

/* The folder to use: the flag, the environment, the serve configuration, ./runbooks. */
const char *cli_runbook_dir(const char *flag, char *buf, size_t cap)
{
	const char *env = getenv("BREAKGLASS_RUNBOOKS");
	gw_config cfg;
	bg_err e;

	if (flag != NULL)
		return flag;
	if (env != NULL && env[0] != '\0')
		return env;
	if (getenv("BREAKGLASS_CONFIG") != NULL && gw_config_load(&cfg, NULL, NULL, 0, &e) == 0 &&
	    cfg.runbooks[0] != '\0') {
		snprintf(buf, cap, "%s", cfg.runbooks);
		return buf;
	}
	return "runbooks";
}

static json_t *diags_json(const runbook_diags *d)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < d->n; i++)
		json_array_append_new(a,
		                      json_pack("{s:s,s:i,s:s}", "file", d->items[i].file, "line",
		                                (int)d->items[i].line, "message", d->items[i].msg));
	return a;
}

/* Warnings, which do not fail lint: a write template whose effect undo cannot compute
 * (an UpdateItem with ADD, arithmetic, ...), so its writes could not be undone. */
static json_t *undo_warnings(const runbook_set *s)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && s != NULL && i < runbook_set_count(s); i++) {
		const runbook *r = runbook_set_at(s, i);
		bg_err e;

		if (r->update.text == NULL ||
		    ddb_undo_update_check(r->update.text, r->names, &e) == 0)
			continue;
		json_array_append_new(a, json_pack("{s:s,s:i,s:s+}", "file", r->file, "line",
		                                   (int)r->update.line, "message", e.msg,
		                                   ": breakglass undo cannot put back its writes"));
	}
	return a;
}

static int do_lint(const cli_ctx *ctx, const char *dir)
{
	runbook_diags d = {NULL, 0};
	runbook_set *s = NULL;
	json_t *warn, *w;
	size_t i, n;
	bg_err e;
	int rc;

	rc = runbook_set_load(dir, &s, &d, &e);
	if (rc != 0 && rc != BG_EINVAL) {
		runbook_diags_free(&d);
		return cli_fail(rc == BG_ENOTFOUND ? CLI_EXIT_USAGE : CLI_EXIT_LOCAL, NULL, "%s",
		                e.msg);
	}
	n = s != NULL ? runbook_set_count(s) : 0;
	warn = undo_warnings(s);
	if (ctx->json) {
		json_t *o = json_pack("{s:s,s:i,s:o,s:O,s:b}", "folder", dir, "runbooks", (int)n,
		                      "problems", diags_json(&d), "warnings", warn, "ok", d.n == 0);
		int erc =
		    o != NULL ? cli_emit_json(o) : cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		json_decref(o);
		rc = erc != CLI_EXIT_OK ? erc : d.n == 0 ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
	} else {
		for (i = 0; i < d.n; i++) {
			if (d.items[i].line > 0)
				printf("%s/%s:%u: %s\n", dir, d.items[i].file, d.items[i].line,
				       d.items[i].msg);
			else
				printf("%s/%s: %s\n", dir, d.items[i].file, d.items[i].msg);
		}
		json_array_foreach(warn, i, w)
		{
			printf("%s/%s:%d: warning: %s\n", dir,
			       json_string_value(json_object_get(w, "file")),
			       (int)json_integer_value(json_object_get(w, "line")),
			       json_string_value(json_object_get(w, "message")));
		}
		if (d.n == 0)
			printf("%s: %zu runbook%s, no problems\n", dir, n, n == 1 ? "" : "s");
		else
			fprintf(stderr, "breakglass: %s: %zu problem%s\n", dir, d.n,
			        d.n == 1 ? "" : "s");
		rc = d.n == 0 ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
	}
	json_decref(warn);
	runbook_diags_free(&d);
	runbook_set_free(s);
	return rc;
}

/* Loads the folder for list/show/test: any problem is reported (as lint would) and is
 * a failure, since a template with a problem would not load in the gateway either. */
static int load_clean(const char *dir, runbook_set **s)
{
	runbook_diags d = {NULL, 0};
	bg_err e;
	int rc = runbook_set_load(dir, s, &d, &e);

	if (rc == 0) {
		runbook_diags_free(&d);
		return CLI_EXIT_OK;
	}
	if (d.n > 0)
		fprintf(stderr, "breakglass: %s/%s:%u: %s\n", dir, d.items[0].file, d.items[0].line,
		        d.items[0].msg);
	runbook_diags_free(&d);
	runbook_set_free(*s);
	*s = NULL;
	if (rc == BG_EINVAL)
		return cli_fail(CLI_EXIT_REFUSED, "lint", "%s (run `breakglass runbook lint`)",
		                e.msg);
	return cli_fail(rc == BG_ENOTFOUND ? CLI_EXIT_USAGE : CLI_EXIT_LOCAL, NULL, "%s", e.msg);
}

static json_t *runbook_summary(const runbook *r)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", r->id, "title", r->title,
	                 "when", r->when, "table", r->table, "operation", r->op->name, "hash",
	                 r->hash, "commit", r->commit, "file", r->file);
}

static int do_list(const cli_ctx *ctx, const char *dir)
{
	runbook_set *s = NULL;
	json_t *arr;
	size_t i;
	int rc = load_clean(dir, &s);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (ctx->json) {
		arr = json_array();
		for (i = 0; arr != NULL && i < runbook_set_count(s); i++)
			json_array_append_new(arr, runbook_summary(runbook_set_at(s, i)));
		json_t *o = arr != NULL ? json_pack("{s:o}", "runbooks", arr) : NULL;
		rc = o != NULL ? cli_emit_json(o) : cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		json_decref(o);
	} else {
		printf("%-28s %-11s %-20s %s\n", "ID", "OPERATION", "TABLE", "TITLE");
		for (i = 0; i < runbook_set_count(s); i++) {
			const runbook *r = runbook_set_at(s, i);
			printf("%-28s %-11s %-20s %s\n", r->id, r->op->name, r->table, r->title);
		}
	}
	runbook_set_free(s);
	return rc;
}

/* The template as written, indented (what a reviewer reads). */
static void show_file(const char *dir, const char *file)
{
	char path[BG_MAX_PATH], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	printf("\nThe template (%s):\n\n", file);
	while (fgets(line, sizeof(line), f) != NULL) {
		char clean[1024];
		line[strcspn(line, "\n")] = '\0';
		cli_out_sanitize(line, clean, sizeof(clean));
		printf("    %s\n", clean);
	}
	fclose(f);
}

static int do_show(const cli_ctx *ctx, const char *dir, const char *id)
{
	runbook_set *s = NULL;
	const runbook *r;
	bg_buf cmd;
	size_t i;
	int rc = load_clean(dir, &s);

	if (rc != CLI_EXIT_OK)
		return rc;
	r = runbook_set_find(s, id);
	if (r == NULL) {
		runbook_set_free(s);
		return cli_fail(CLI_EXIT_REFUSED, "not_found",
		                "no runbook %s in %s (`breakglass runbook list` shows them)", id,
		                dir);
	}
	bg_buf_init(&cmd, BG_MAX_CLI_TEXT);
	if (runbook_aws_command(r, &cmd) != 0) {
		bg_buf_free(&cmd);
		runbook_set_free(s);
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	}
	if (ctx->json) {
		json_t *o = runbook_summary(r);
		json_object_set_new(o, "aws_command", json_string(cmd.data));
		if (o != NULL && r->n_mask > 0) {
			json_t *m = json_array();
			for (i = 0; m != NULL && i < r->n_mask; i++)
				json_array_append_new(m, json_string(r->mask[i].text));
			json_object_set_new(o, "mask", m);
			json_object_set_new(o, "mask_hash", json_boolean(r->mask_hash));
		}
		if (o != NULL && r->budget_read >= 0)
			json_object_set_new(o, "budget_read", json_real(r->budget_read));
		if (o != NULL && r->budget_write >= 0)
			json_object_set_new(o, "budget_write", json_real(r->budget_write));
		if (o != NULL && r->max_response_bytes > 0)
			json_object_set_new(o, "max_response_bytes",
			                    json_integer(r->max_response_bytes));
		rc = cli_emit_json(o);
		json_decref(o);
	} else {
		printf("%s: %s\n", r->id, r->title);
		printf("when:       %s\n", r->when);
		printf("file:       %s/%s\n", dir, r->file);
		printf("hash:       %s\n", r->hash);
		printf("commit:     %s\n",
		       r->commit[0] != '\0' ? r->commit : "(not committed, or edited since)");
		printf("operation:  %s on %s%s%s\n", r->op->name, r->table,
		       r->index ? " index " : "", r->index ? r->index : "");
		for (i = 0; i < r->n_params; i++) {
			const runbook_param *p = &r->params[i];
			printf("param:      %s (%s%s%s%s)\n", p->name,
			       p->type == RUNBOOK_N      ? "N"
			       : p->type == RUNBOOK_B    ? "B"
			       : p->type == RUNBOOK_BOOL ? "BOOL"
			                                 : "S",
			       p->default_text != NULL ? ", default " : ", required",
			       p->default_text != NULL ? p->default_text : "",
			       p->pattern != NULL ? ", pattern"
			       : p->n_enum > 0    ? ", enum"
			                          : "");
		}
		if (r->limit > 0)
			printf("limit:      %lld items a page, %lld page%s\n", (long long)r->limit,
			       (long long)r->max_pages, r->max_pages == 1 ? "" : "s");
		for (i = 0; i < r->n_mask; i++)
			printf("%s%s\n", i == 0 ? "masked:     " : "            ", r->mask[i].text);
		if (r->n_mask > 0)
			printf("            (in answers and the audit: %s)\n",
			       r->mask_hash ? "\"***masked:<keyed hash>***\", equal values alike"
			                    : "\"***masked***\"");
		if (r->budget_read >= 0 || r->budget_write >= 0) {
			printf("budget:    ");
			if (r->budget_read >= 0)
				printf(" read %g", r->budget_read);
			if (r->budget_write >= 0)
				printf("%s write %g", r->budget_read >= 0 ? "," : "",
				       r->budget_write);
			printf(" capacity units a grant\n");
		}
		if (r->max_response_bytes > 0)
			printf("max answer: %lld bytes\n", (long long)r->max_response_bytes);
		show_file(dir, r->file);
		printf("\nThe same with the AWS CLI:\n\n%s", cmd.data);
	}
	bg_buf_free(&cmd);
	runbook_set_free(s);
	return rc;
}

int cmd_runbook_main(int argc, char **argv)
{
	static const cli_opt opts[] = {{"runbooks", true}, {"endpoint", true}, {NULL, false}};
	const char *val, *sub = NULL, *id = NULL, *flag = NULL, *endpoint = NULL;
	char buf[BG_MAX_PATH];
	cli_ctx ctx;
	cli_args a;
	int k;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "runbook", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (k == 0)
			flag = val;
		else if (k == 1)
			endpoint = val;
		else if (sub == NULL)
			sub = val;
		else if (id == NULL)
			id = val;
		else
			return cli_usage_error(&a, "unexpected argument \"%s\"", val);
	}
	if (ctx.help)
		return cli_help_show("runbook");
	if (sub == NULL)
		return cli_usage_error(&a, "missing subcommand: lint, list, show ID or test [ID]");
	if (strcmp(sub, "show") != 0 && strcmp(sub, "test") != 0 && id != NULL)
		return cli_usage_error(&a, "runbook %s takes no argument", sub);
	if (endpoint != NULL && strcmp(sub, "test") != 0)
		return cli_usage_error(&a, "--endpoint is for runbook test");
	if (strcmp(sub, "lint") == 0)
		return do_lint(&ctx, cli_runbook_dir(flag, buf, sizeof(buf)));
	if (strcmp(sub, "list") == 0)
		return do_list(&ctx, cli_runbook_dir(flag, buf, sizeof(buf)));
	if (strcmp(sub, "show") == 0) {
		if (id == NULL)
			return cli_usage_error(&a, "runbook show needs the runbook's ID");
		return do_show(&ctx, cli_runbook_dir(flag, buf, sizeof(buf)), id);
	}
	if (strcmp(sub, "test") == 0)
		return cli_runbook_test(&ctx, cli_runbook_dir(flag, buf, sizeof(buf)), id,
		                        endpoint);
	return cli_usage_error(&a, "unknown subcommand \"%s\" (lint, list, show, test)", sub);
}
