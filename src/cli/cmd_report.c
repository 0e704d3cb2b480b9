/*
 * cmd_report.c - `breakglass report INCIDENT --format md|html|json [--out FILE]`: the
 * post-incident report, built from the audit trail alone (docs/report.md).
 *
 * The records are the incident's export (`audit export --incident`): what the server
 * says is the incident's, read page by page through the API, with the records between
 * them redacted and the checkpoints whole, so the pure builder (report/report.h) can
 * verify the range against the audit public key (--pubkey FILE, else the server's)
 * and show exactly what was signed. Nothing else is asked of the server: a report made
 * from an export someone kept would say the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/sigkey.h"
#include "cli/cli.h"
#include "cli/help.h"
#include "cli/output.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/limits.h"
#include "common/validate.h"
#include "report/report.h"

static int collect(void *arg, json_t *rec)
{
	json_t *all = arg;

	if (json_array_size(all) >= BG_MAX_REPORT_RECORDS)
		return cli_fail(CLI_EXIT_REFUSED, NULL,
		                "more than %d audit records: not one incident's",
		                BG_MAX_REPORT_RECORDS);
	return json_array_append(all, rec) == 0 ? CLI_EXIT_OK
	                                        : cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
}

/* Writes the document to path by way of a temporary file beside it (mode 0600: the
 * report holds what the audit trail holds), so a reader never sees half a report. */
static int write_out(const char *path, const bg_buf *doc)
{
	bg_buf tmp;
	int fd, rc = CLI_EXIT_OK;

	bg_buf_init(&tmp, 4096 + 16);
	if (bg_buf_addf(&tmp, "%s.tmp%ld", path, (long)getpid()) != 0)
		return cli_fail(CLI_EXIT_USAGE, NULL, "the --out path is too long");
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "cannot create %s: %s", tmp.data,
		              strerror(errno));
		goto out;
	}
	if (bg_write_all(fd, doc->data, doc->len) != 0 || fsync(fd) != 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "cannot write %s: %s", tmp.data,
		              strerror(errno));
		close(fd);
		unlink(tmp.data);
		goto out;
	}
	close(fd);
	if (rename(tmp.data, path) != 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "cannot rename %s to %s: %s", tmp.data, path,
		              strerror(errno));
		unlink(tmp.data);
	}
out:
	bg_buf_free(&tmp);
	return rc;
}

/* What --out prints: where the report is and what it found. */
static int say_written(const cli_ctx *ctx, const char *path, const char *format, size_t bytes,
                       json_t *m, json_t **summary)
{
	json_t *counts = json_object_get(m, "counts"), *v = json_object_get(m, "verification");
	bool verified = json_is_true(json_object_get(v, "ok"));
	json_t *j;
	bg_buf out;
	char clean[512];
	int rc;

	if (ctx->json || summary != NULL) {
		j = json_pack("{s:s,s:s,s:I,s:O?,s:O?,s:O?,s:O?,s:b}", "out", path, "format",
		              format, "bytes", (json_int_t)bytes, "records",
		              json_object_get(counts, "records"), "queries",
		              json_object_get(counts, "queries"), "denials",
		              json_object_get(counts, "denials"), "anomalies",
		              json_object_get(counts, "anomalies"), "verified", verified);
		if (j != NULL && summary != NULL) {
			*summary = j;
			return CLI_EXIT_OK;
		}
		rc = j == NULL ? cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory") : cli_emit_json(j);
		json_decref(j);
		return rc;
	}
	cli_out_sanitize(path, clean, sizeof(clean));
	bg_buf_init(&out, BG_MAX_CLI_TEXT);
	rc = bg_buf_addf(&out,
	                 "report written to %s (%zu bytes): %lld queries, %lld denials, %lld "
	                 "anomalies; audit trail %s\n",
	                 clean, bytes,
	                 (long long)json_integer_value(json_object_get(counts, "queries")),
	                 (long long)json_integer_value(json_object_get(counts, "denials")),
	                 (long long)json_integer_value(json_object_get(counts, "anomalies")),
	                 verified ? "verified" : "NOT verified");
	(void)rc; /* a failed append is sticky: cli_write_out reports it */
	rc = cli_write_out(&out);
	bg_buf_free(&out);
	return rc;
}

int cli_report_write(const cli_ctx *ctx, const char *incident, const char *format,
                     const char *out_path, const char *pubkey, int64_t budget, json_t **summary)
{
	cli_export_opts xo = {NULL, NULL, NULL, NULL};
	json_t *records = NULL;
	sigkey **keys = NULL;
	size_t nkeys = 0;
	report *r = NULL;
	report_opts ro;
	bool unsigned_tail = false;
	char now[BG_RFC3339_SIZE];
	bg_buf doc;
	bg_err e;
	int rc;

	rc = cli_audit_pubkeys(ctx, pubkey, &keys, &nkeys);
	if (rc != CLI_EXIT_OK)
		goto out;
	records = json_array();
	if (records == NULL) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		goto out;
	}
	xo.incident = incident;
	rc = cli_audit_export(ctx, &xo, collect, records, &unsigned_tail);
	if (rc != CLI_EXIT_OK)
		goto out;
	report_opts_init(&ro);
	ro.incident = incident;
	ro.keys = (const sigkey *const *)keys;
	ro.nkeys = nkeys;
	ro.budget = (double)budget;
	bg_rfc3339(bg_now(), now);
	ro.generated_at = now;
	if (report_build(records, &ro, &r, &e) != 0) {
		rc = cli_fail(e.code == BG_ENOMEM ? CLI_EXIT_LOCAL : CLI_EXIT_REFUSED, NULL, "%s",
		              e.msg);
		goto out;
	}
	json_decref(records); /* the model holds copies: free the records before rendering */
	records = NULL;
	bg_buf_init(&doc, BG_MAX_REPORT_BYTES);
	rc = strcmp(format, "html") == 0   ? report_html(r, &doc)
	     : strcmp(format, "json") == 0 ? report_json(r, &doc)
	                                   : report_md(r, &doc);
	if (rc != 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "the report could not be built (%s)",
		              bg_err_name(rc));
	} else if (out_path != NULL) {
		rc = write_out(out_path, &doc);
		if (rc == CLI_EXIT_OK)
			rc = say_written(ctx, out_path, format, doc.len, report_model(r), summary);
	} else if (fwrite(doc.data, 1, doc.len, stdout) != doc.len || fflush(stdout) != 0) {
		rc = cli_fail(CLI_EXIT_REFUSED, NULL, "cannot write to stdout");
	}
	bg_buf_free(&doc);
	if (rc == CLI_EXIT_OK && !json_is_true(json_object_get(
	                             json_object_get(report_model(r), "verification"), "ok"))) {
		/* The report is out (stdout may hold it, or --json's summary): a warning, not a
		 * second answer. */
		cli_warnf("the report was written, but the incident's audit records do not "
		          "verify: see its verification section");
		rc = CLI_EXIT_REFUSED;
	} else if (rc == CLI_EXIT_OK && unsigned_tail)
		cli_warnf("no checkpoint follows the incident's last record yet: the report's tail "
		          "is not covered by a signature (run it again in a few seconds)");
out:
	report_free(r);
	json_decref(records);
	sigkey_list_free(keys, nkeys);
	return rc;
}

int cmd_report_main(int argc, char **argv)
{
	static const cli_opt opts[] = {
	    {"format", true}, {"out", true}, {"pubkey", true}, {"budget", true}, {NULL, false}};
	cli_ctx ctx;
	cli_args a;
	const char *val, *incident = NULL, *format = "md", *out_path = NULL, *pubkey = NULL;
	int64_t budget = -1;
	int k;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "report", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		switch (k) {
		case CLI_ARG_ERROR:
			return CLI_EXIT_USAGE;
		case CLI_ARG_POSITIONAL:
			if (incident != NULL)
				return cli_usage_error(&a, "unexpected argument \"%s\"", val);
			incident = val;
			break;
		case 0:
			format = val;
			break;
		case 1:
			out_path = val;
			break;
		case 2:
			pubkey = val;
			break;
		case 3:
			if (cli_parse_int(val, 0, INT64_C(1000000000), &budget) != 0)
				return cli_usage_error(&a,
				                       "--budget takes capacity units, 0 or more");
			break;
		}
	}
	if (ctx.help)
		return cli_help_show("report");
	if (incident == NULL)
		return cli_usage_error(&a, "missing the incident (breakglass report INCIDENT)");
	if (!bg_valid_id(incident, BG_MAX_INCIDENT_ID))
		return cli_usage_error(&a, "\"%s\" is not an incident id", incident);
	if (strcmp(format, "md") != 0 && strcmp(format, "html") != 0 && strcmp(format, "json") != 0)
		return cli_usage_error(&a, "--format is md, html or json");
	if (out_path != NULL && out_path[0] == '\0')
		return cli_usage_error(&a, "--out needs a file name");
	if (ctx.json && out_path == NULL && strcmp(format, "json") != 0)
		return cli_usage_error(&a,
		                       "--json prints a summary of a report written with --out");

	return cli_report_write(&ctx, incident, format, out_path, pubkey, budget, NULL);
}
