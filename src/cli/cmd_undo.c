/*
 * cmd_undo.c - `breakglass undo SEQ --grant GRANT`: put back the item a write found.
 *
 * SEQ is the audit record of a PutItem, UpdateItem or DeleteItem (its request or its
 * response: `audit tail`, `audit show` and the post-incident report name them). The
 * server does the work (POST /api/v1/undo, docs/api.md): it checks that the item is still
 * what the write left and restores the before-image the write's response record holds,
 * as a request of its own on the record. When the item changed since, nothing is
 * restored and the message lists the difference.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/help.h"
#include "cli/output.h"
#include "common/limits.h"

/* One line per fact, values as compact JSON (sanitised: they come from the table). */
static int undo_print(const json_t *ans)
{
	bg_buf out;
	char *restored = json_dumps(json_object_get(ans, "restored"),
	                            JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	char *key = json_dumps(json_object_get(ans, "key"), JSON_COMPACT | JSON_SORT_KEYS);
	char table[BG_MAX_TABLE_NAME + 1], text[1024], ktext[512];
	const char *op = json_string_value(json_object_get(ans, "op"));
	int rc;

	cli_out_sanitize(json_string_value(json_object_get(ans, "table")) != NULL
	                     ? json_string_value(json_object_get(ans, "table"))
	                     : "?",
	                 table, sizeof(table));
	cli_out_sanitize(restored != NULL ? restored : "?", text, sizeof(text));
	cli_out_sanitize(key != NULL ? key : "?", ktext, sizeof(ktext));
	bg_buf_init(&out, BG_MAX_CLI_TEXT);
	rc = bg_buf_addf(
	    &out,
	    "undone    the write of record %lld\n"
	    "item      %s %s\n"
	    "restored  %s (%s)\n"
	    "records   %lld (request), %lld (response)\n",
	    (long long)json_integer_value(json_object_get(ans, "undo_of")), table, ktext, text,
	    op != NULL && strcmp(op, "DeleteItem") == 0 ? "the write created it: deleted"
	                                                : "put back",
	    (long long)json_integer_value(json_object_get(ans, "request_seq")),
	    (long long)json_integer_value(json_object_get(ans, "response_seq")));
	(void)rc;
	rc = cli_write_out(&out); /* reports a failed append too */
	bg_buf_free(&out);
	free(restored);
	free(key);
	return rc;
}

int cmd_undo_main(int argc, char **argv)
{
	static const cli_opt opts[] = {{"grant", true}, {NULL, false}};
	const char *val, *seq_text = NULL, *grant = NULL;
	json_t *body = NULL, *ans = NULL;
	int64_t seq = 0;
	cli_ctx ctx;
	cli_args a;
	int k, rc;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "undo", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (k == CLI_ARG_POSITIONAL && seq_text == NULL)
			seq_text = val;
		else if (k == CLI_ARG_POSITIONAL)
			return cli_usage_error(&a, "unexpected argument \"%s\"", val);
		else
			grant = val;
	}
	if (ctx.help)
		return cli_help_show("undo");
	if (seq_text == NULL)
		return cli_usage_error(&a, "missing the AUDIT_SEQ of the write to undo");
	if (cli_parse_int(seq_text, 1, INT64_MAX, &seq) != 0)
		return cli_usage_error(&a,
		                       "AUDIT_SEQ is an audit record's number (1, 2, ...), not "
		                       "\"%.40s\"",
		                       seq_text);
	if (grant != NULL && (rc = cli_check_id(&a, "grant id", grant)) != CLI_EXIT_OK)
		return rc;
	body = json_pack("{s:I,s:s?}", "seq", (json_int_t)seq, "grant", grant);
	if (body == NULL)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	rc = cli_request(&ctx, "POST", "/api/v1/undo", body, &ans);
	if (rc == CLI_EXIT_OK)
		rc = ctx.json ? cli_emit_json(ans) : undo_print(ans);
	json_decref(ans);
	json_decref(body);
	return rc;
}
