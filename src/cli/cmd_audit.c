/*
 * cmd_audit.c - `breakglass audit tail|pubkey|export|verify`: the audit log through the
 * API (docs/audit.md).
 *
 * tail: one line per record in the terminal (what an incident lead skims), or the
 * server's {"records":[...]} with --json (what a script or the e2e tests check). Paging
 * is explicit (--after SEQ) so a script can walk the whole log without the CLI holding
 * it in memory.
 *
 * pubkey prints the checkpoints' public key (PEM). export walks the log page by page and
 * writes JSON lines, one record each; with a filter, the records it leaves out between
 * the first kept one and the first checkpoint after the last kept one are written
 * redacted (seq, prev_hash, hash), so the chain's links stay checkable. verify feeds the
 * store's records (through the API) or an export's lines to the verifier (audit/verify.h)
 * and reports its findings; it trusts the key given with --pubkey, else the server's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/verify.h"
#include "cli/cli.h"
#include "cli/help.h"
#include "cli/client.h"
#include "cli/output.h"
#include "common/limits.h"

/* The API's page cap (docs/api.md). */
#define AUDIT_MAX_LIMIT 1000

/* What `audit tail` shows: the newest n records (or, with after, the page after it),
 * narrowed like the API's query. */
typedef struct tail_opts {
	int64_t n;
	int64_t after; /* -1: the newest n */
	bool follow;
	const char *grant, *user, *incident, *since;
} tail_opts;

/* Appends "&KEY=VALUE" (escaped) when value is set. */
static int add_arg(bg_buf *b, const char *key, const char *value)
{
	char *v;
	int rc;

	if (value == NULL)
		return 0;
	v = cli_client_escape(value);
	rc = v == NULL ? -1 : bg_buf_addf(b, "&%s=%s", key, v);
	free(v);
	return rc;
}

/* One GET of the log; prints its records (one line each, or the JSON answer) and sets
 * *last to where a follower goes on. */
static int tail_page(const cli_ctx *ctx, const tail_opts *t, int64_t after, int64_t *last)
{
	json_t *ans = NULL, *recs, *r;
	bg_buf path, out;
	size_t i;
	int rc;

	bg_buf_init(&path, BG_MAX_API_PATH);
	bg_buf_init(&out, BG_MAX_RESPONSE_BODY);
	rc = after < 0 ? bg_buf_addf(&path, "/api/v1/audit?tail=%lld", (long long)t->n)
	               : bg_buf_addf(&path, "/api/v1/audit?after=%lld&limit=%lld", (long long)after,
	                             (long long)t->n);
	if (rc != 0 || add_arg(&path, "grant", t->grant) != 0 ||
	    add_arg(&path, "user", t->user) != 0 || add_arg(&path, "incident", t->incident) != 0 ||
	    add_arg(&path, "since", t->since) != 0) {
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
	*last = json_integer_value(json_object_get(ans, "last_seq"));
	if (ctx->json && !t->follow) {
		rc = cli_emit_json(ans);
		goto fail;
	}
	json_array_foreach(recs, i, r)
	{
		/* Following, --json prints one record per line as it commits. */
		if (ctx->json ? cli_out_json_line(&out, r) != 0
		              : cli_out_audit_line(&out, r) != 0) {
			rc = cli_fail(CLI_EXIT_UNREACHABLE, NULL, "audit record %zu is malformed",
			              i);
			goto fail;
		}
	}
	rc = cli_write_out(&out);
	fflush(stdout);
fail:
	json_decref(ans);
	bg_buf_free(&path);
	bg_buf_free(&out);
	return rc;
}

static int audit_tail(const cli_ctx *ctx, const tail_opts *t)
{
	int64_t last = 0;
	int rc = tail_page(ctx, t, t->after, &last);

	/* -f: new records as they commit, until interrupted (or the server goes away). */
	while (rc == CLI_EXIT_OK && t->follow) {
		sleep(1);
		rc = tail_page(ctx, t, last, &last);
	}
	return rc;
}

/* Calls fn with every record of the log (of the incident only, when incident is set: the
 * server's filter) a page at a time. */
static int walk_of(const cli_ctx *ctx, const char *incident, int (*fn)(void *arg, json_t *rec),
                   void *arg)
{
	int64_t after = 0, last;
	bg_buf path;
	int rc = CLI_EXIT_OK;

	bg_buf_init(&path, BG_MAX_API_PATH);
	for (;;) {
		json_t *ans = NULL, *recs, *r;
		size_t i, n;

		bg_buf_reset(&path);
		if (bg_buf_addf(&path, "/api/v1/audit?after=%lld&limit=%d", (long long)after,
		                AUDIT_MAX_LIMIT) != 0 ||
		    add_arg(&path, "incident", incident) != 0) {
			rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
			break;
		}
		rc = cli_request(ctx, "GET", path.data, NULL, &ans);
		if (rc != CLI_EXIT_OK)
			break;
		recs = json_object_get(ans, "records");
		if (!json_is_array(recs)) {
			json_decref(ans);
			rc = cli_fail(CLI_EXIT_UNREACHABLE, NULL,
			              "the server's answer has no \"records\" list");
			break;
		}
		n = json_array_size(recs);
		last = json_integer_value(json_object_get(ans, "last_seq"));
		json_array_foreach(recs, i, r)
		{
			json_t *seq = json_object_get(r, "seq");
			if (json_is_integer(seq) && json_integer_value(seq) > after)
				after = json_integer_value(seq);
			if (rc == CLI_EXIT_OK)
				rc = fn(arg, r);
		}
		json_decref(ans);
		if (rc != CLI_EXIT_OK)
			break;
		if (incident == NULL) {
			if (n < AUDIT_MAX_LIMIT)
				break;
		} else {
			/* A filtered page holds what matched among the records read: go on
			 * from the last one read until a page reads nothing new. */
			if (last <= after)
				break;
			after = last;
		}
	}
	bg_buf_free(&path);
	return rc;
}

static int walk(const cli_ctx *ctx, int (*fn)(void *arg, json_t *rec), void *arg)
{
	return walk_of(ctx, NULL, fn, arg);
}

static int audit_pubkey(const cli_ctx *ctx)
{
	json_t *ans = NULL;
	const char *pem;
	int rc = cli_request(ctx, "GET", "/api/v1/audit/pubkey", NULL, &ans);

	if (rc != CLI_EXIT_OK)
		return rc;
	pem = json_string_value(json_object_get(ans, "public_key_pem"));
	if (pem == NULL)
		rc = cli_fail(CLI_EXIT_UNREACHABLE, NULL, "the server's answer has no public key");
	else if (ctx->json)
		rc = cli_emit_json(ans);
	else if (fputs(pem, stdout) == EOF || fflush(stdout) != 0)
		rc = cli_fail(CLI_EXIT_REFUSED, NULL, "cannot write to stdout");
	json_decref(ans);
	return rc;
}

/* --- export ----------------------------------------------------------------------------- */

typedef struct export_ctx {
	const cli_export_opts *o;
	bool filtered;
	bool started;    /* a record was kept: the window has begun */
	bool want_cp;    /* a kept record is not yet followed by a checkpoint */
	json_t *pending; /* records after the last one that must be emitted */
	int64_t *inc;    /* with an incident: the seqs of its records, ascending */
	size_t n_inc, cap_inc, at_inc;
	int (*emit)(void *arg, json_t *rec);
	void *arg;
	int64_t kept, written;
} export_ctx;

static bool export_keeps(export_ctx *x, json_t *r)
{
	const cli_export_opts *o = x->o;
	const char *ts = json_string_value(json_object_get(r, "ts"));
	const char *g = json_string_value(json_object_get(r, "grant_id"));
	int64_t seq = json_integer_value(json_object_get(r, "seq"));

	if (o->since != NULL && (ts == NULL || strcmp(ts, o->since) < 0))
		return false;
	if (o->until != NULL && (ts == NULL || strcmp(ts, o->until) >= 0))
		return false;
	if (o->grant != NULL && (g == NULL || strcmp(g, o->grant) != 0))
		return false;
	if (o->incident != NULL) {
		/* Both walks are in seq order: the next of the incident's seqs is at at_inc. */
		while (x->at_inc < x->n_inc && x->inc[x->at_inc] < seq)
			x->at_inc++;
		return x->at_inc < x->n_inc && x->inc[x->at_inc] == seq;
	}
	return true;
}

/* Emits what is pending. */
static int export_flush(export_ctx *x)
{
	json_t *r;
	size_t i;
	int rc = CLI_EXIT_OK;

	json_array_foreach(x->pending, i, r)
	{
		if (rc == CLI_EXIT_OK)
			rc = x->emit(x->arg, r);
	}
	json_array_clear(x->pending);
	return rc;
}

static int export_each(void *arg, json_t *r)
{
	export_ctx *x = arg;
	const char *kind = json_string_value(json_object_get(r, "kind"));
	bool cp = kind != NULL && strcmp(kind, "checkpoint") == 0;
	bool keep = !x->filtered || export_keeps(x, r);
	json_t *stub;
	int rc = CLI_EXIT_OK;

	if (keep && !cp) {
		x->started = true;
		x->kept++;
	}
	if (!x->started)
		return CLI_EXIT_OK;
	if (keep || cp) {
		if (json_array_append(x->pending, r) != 0)
			rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	} else {
		stub = json_pack("{s:O,s:O,s:O,s:b}", "seq", json_object_get(r, "seq"), "prev_hash",
		                 json_object_get(r, "prev_hash"), "hash",
		                 json_object_get(r, "hash"), "redacted", 1);
		if (stub == NULL || json_array_append_new(x->pending, stub) != 0)
			rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	}
	if (rc != CLI_EXIT_OK)
		return rc;
	x->written++;
	/* A kept record, and the checkpoint that follows it, must be written; stubs and
	 * checkpoints after the last of those are dropped at the end. */
	if (keep && !cp) {
		x->want_cp = true;
		return export_flush(x);
	}
	if (cp && x->want_cp) {
		x->want_cp = false;
		return export_flush(x);
	}
	return CLI_EXIT_OK;
}

static int collect_seq(void *arg, json_t *r)
{
	export_ctx *x = arg;
	int64_t seq = json_integer_value(json_object_get(r, "seq")), *more;

	if (x->n_inc == x->cap_inc) {
		x->cap_inc = x->cap_inc ? x->cap_inc * 2 : 256;
		more = realloc(x->inc, x->cap_inc * sizeof(*more));
		if (more == NULL)
			return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		x->inc = more;
	}
	x->inc[x->n_inc++] = seq;
	return CLI_EXIT_OK;
}

int cli_audit_export(const cli_ctx *ctx, const cli_export_opts *o,
                     int (*emit)(void *arg, json_t *rec), void *arg, bool *tail_unsigned)
{
	export_ctx x;
	int rc = CLI_EXIT_OK;

	memset(&x, 0, sizeof(x));
	x.o = o;
	x.emit = emit;
	x.arg = arg;
	x.filtered =
	    o->since != NULL || o->until != NULL || o->grant != NULL || o->incident != NULL;
	x.pending = json_array();
	if (x.pending == NULL)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	/* An incident's records are those the server says are its (docs/report.md): their
	 * seqs first, then the whole log for the window around them. */
	if (o->incident != NULL)
		rc = walk_of(ctx, o->incident, collect_seq, &x);
	if (rc == CLI_EXIT_OK)
		rc = walk(ctx, export_each, &x);
	if (rc == CLI_EXIT_OK && !x.filtered)
		rc = export_flush(&x); /* unfiltered: everything, to the last record */
	*tail_unsigned = x.want_cp;
	json_decref(x.pending);
	free(x.inc);
	if (rc == CLI_EXIT_OK && x.kept == 0 && o->incident != NULL)
		rc = cli_fail(CLI_EXIT_REFUSED, "not_found", "no audit record of incident %s",
		              o->incident);
	return rc;
}

static int export_line(void *arg, json_t *r)
{
	char *line = json_dumps(r, JSON_COMPACT);
	int rc = CLI_EXIT_OK;

	(void)arg;
	if (line == NULL)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "an export line could not be built");
	if (fputs(line, stdout) == EOF || fputc('\n', stdout) == EOF)
		rc = cli_fail(CLI_EXIT_REFUSED, NULL, "cannot write to stdout");
	free(line);
	return rc;
}

static int audit_export(const cli_ctx *ctx, const cli_export_opts *o)
{
	bool unsigned_tail = false;
	int rc = cli_audit_export(ctx, o, export_line, NULL, &unsigned_tail);

	if (rc == CLI_EXIT_OK && fflush(stdout) != 0)
		rc = cli_fail(CLI_EXIT_REFUSED, NULL, "cannot write to stdout");
	if (rc == CLI_EXIT_OK && unsigned_tail)
		cli_warnf("no checkpoint follows the last exported record yet: the export's tail "
		          "is not covered by a signature");
	return rc;
}

/* --- verify ----------------------------------------------------------------------------- */

typedef struct verify_opts {
	const char *pubkey, *file, *reference;
} verify_opts;

/* Reads a whole small file (a PEM key) into a new NUL-terminated buffer. */
static char *read_small(const char *path, size_t max, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf = f != NULL ? malloc(max + 1) : NULL;

	if (buf == NULL) {
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	*n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (*n > max) {
		free(buf);
		return NULL;
	}
	buf[*n] = '\0';
	return buf;
}

int cli_audit_pubkey(const cli_ctx *ctx, const char *path, sigkey **out)
{
	json_t *ans = NULL;
	const char *pem;
	char *text = NULL;
	size_t n = 0;
	bg_err e;
	int rc;

	if (path != NULL) {
		text = read_small(path, 4096, &n);
		if (text == NULL)
			return cli_fail(CLI_EXIT_USAGE, NULL, "cannot read the public key file %s",
			                path);
		rc = sigkey_from_public_pem(text, n, out, &e);
		free(text);
		return rc == 0 ? CLI_EXIT_OK
		               : cli_fail(CLI_EXIT_USAGE, NULL, "%s: %s", path, e.msg);
	}
	rc = cli_request(ctx, "GET", "/api/v1/audit/pubkey", NULL, &ans);
	if (rc != CLI_EXIT_OK)
		return rc;
	pem = json_string_value(json_object_get(ans, "public_key_pem"));
	rc = pem == NULL || sigkey_from_public_pem(pem, strlen(pem), out, &e) != 0
	         ? cli_fail(CLI_EXIT_UNREACHABLE, NULL, "the server's public key is not usable")
	         : CLI_EXIT_OK;
	json_decref(ans);
	return rc;
}

/* Feeds each line of path to fn(v, line, n) (reference: checkpoints only). */
static int feed_file(averify *v, const char *path, bool reference)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = CLI_EXIT_OK;

	if (f == NULL)
		return cli_fail(CLI_EXIT_USAGE, NULL, "cannot open %s: %s", path, strerror(errno));
	while (rc == CLI_EXIT_OK && (n = getline(&line, &cap, f)) >= 0) {
		if (!reference) {
			if (averify_line(v, line, (size_t)n) != 0)
				rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		} else {
			json_t *r = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
			if (r != NULL && averify_reference(v, r) != 0)
				rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
			json_decref(r);
		}
	}
	if (rc == CLI_EXIT_OK && ferror(f))
		rc = cli_fail(CLI_EXIT_USAGE, NULL, "cannot read %s", path);
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static int verify_each(void *arg, json_t *r)
{
	return averify_record(arg, r) == 0 ? CLI_EXIT_OK
	                                   : cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
}

static int print_result(const cli_ctx *ctx, const averify_result *r, const char *what)
{
	bg_buf out;
	size_t i;
	int rc, bad = 0; /* a failed add is sticky: cli_write_out reports it */

	if (ctx->json) {
		json_t *j = averify_result_json(r);
		rc = j == NULL ? cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory") : cli_emit_json(j);
		json_decref(j);
		return rc;
	}
	bg_buf_init(&out, BG_MAX_RESPONSE_BODY);
	if (r->ok)
		bad |=
		    bg_buf_addf(&out,
		                "%s: whole%s: %lld records (seq %lld to %lld), %lld checkpoints, "
		                "signed through seq %lld\n",
		                what, r->partial ? " (a partial range)" : "", (long long)r->records,
		                (long long)r->first_seq, (long long)r->last_seq,
		                (long long)r->checkpoints, (long long)r->signed_seq);
	else
		bad |= bg_buf_addf(
		    &out, "%s: BROKEN: %zu problem%s in %lld records (seq %lld to %lld)\n", what,
		    r->nproblems, r->nproblems == 1 ? "" : "s", (long long)r->records,
		    (long long)r->first_seq, (long long)r->last_seq);
	for (i = 0; i < r->nkept; i++)
		bad |= bg_buf_addf(&out, "  seq %lld: %s: %s\n", (long long)r->problems[i].seq,
		                   r->problems[i].kind, r->problems[i].message);
	if (r->nproblems > r->nkept)
		bad |= bg_buf_addf(&out, "  ... and %zu more\n", r->nproblems - r->nkept);
	if (r->ok && r->last_seq > r->signed_seq + 1)
		bad |= bg_buf_addf(&out,
		                   "  note: records after seq %lld are not yet covered by a "
		                   "signed checkpoint\n",
		                   (long long)r->signed_seq);
	(void)bad;
	rc = cli_write_out(&out);
	bg_buf_free(&out);
	return rc;
}

static int audit_verify_cmd(const cli_ctx *ctx, const verify_opts *o)
{
	sigkey *key = NULL;
	averify *v = NULL;
	averify_result res;
	bg_err e;
	int rc = cli_audit_pubkey(ctx, o->pubkey, &key);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (averify_new((const sigkey *const *)&key, 1, o->file == NULL, &v, &e) != 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "%s", e.msg);
		goto out;
	}
	rc = o->file != NULL ? feed_file(v, o->file, false) : walk(ctx, verify_each, v);
	if (rc == CLI_EXIT_OK && o->reference != NULL)
		rc = feed_file(v, o->reference, true);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (averify_finish(v, &res) != 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		goto out;
	}
	rc = print_result(ctx, &res, o->file != NULL ? o->file : "audit log");
	if (rc == CLI_EXIT_OK && !res.ok)
		rc = CLI_EXIT_REFUSED;
out:
	averify_free(v);
	sigkey_free(key);
	return rc;
}

int cmd_audit_main(int argc, char **argv)
{
	static const cli_opt opts[] = {{"after", true},    {"limit", true},     {"pubkey", true},
	                               {"file", true},     {"since", true},     {"until", true},
	                               {"grant", true},    {"reference", true}, {"n", true},
	                               {"f", false},       {"follow", false},   {"user", true},
	                               {"incident", true}, {NULL, false}};
	cli_ctx ctx;
	cli_args a;
	const char *val, *sub = NULL;
	int64_t after = -1, limit = 20;
	tail_opts to = {20, -1, false, NULL, NULL, NULL, NULL};
	cli_export_opts xo = {NULL, NULL, NULL, NULL};
	verify_opts vo = {NULL, NULL, NULL};
	bool tail_opt = false, export_opt = false, verify_opt = false;
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
			tail_opt = true;
			break;
		case 1:
			if (cli_parse_int(val, 1, AUDIT_MAX_LIMIT, &limit) != 0)
				return cli_usage_error(&a, "--limit takes a number from 1 to %d",
				                       AUDIT_MAX_LIMIT);
			tail_opt = true;
			break;
		case 2:
			vo.pubkey = val;
			verify_opt = true;
			break;
		case 3:
			vo.file = val;
			verify_opt = true;
			break;
		case 4:
			xo.since = to.since = val;
			break;
		case 5:
			xo.until = val;
			export_opt = true;
			break;
		case 6:
			xo.grant = to.grant = val;
			break;
		case 7:
			vo.reference = val;
			verify_opt = true;
			break;
		case 8:
			if (cli_parse_int(val, 1, AUDIT_MAX_LIMIT, &limit) != 0)
				return cli_usage_error(&a, "-n takes a number from 1 to %d",
				                       AUDIT_MAX_LIMIT);
			tail_opt = true;
			break;
		case 9:
		case 10:
			to.follow = true;
			tail_opt = true;
			break;
		case 11:
			to.user = val;
			tail_opt = true;
			break;
		case 12:
			xo.incident = to.incident = val;
			break;
		}
	}
	if (ctx.help)
		return cli_help_show("audit");
	if (sub == NULL)
		return cli_usage_error(&a, "missing subcommand (tail, pubkey, export, verify)");
	if ((tail_opt && strcmp(sub, "tail") != 0) || (export_opt && strcmp(sub, "export") != 0) ||
	    (verify_opt && strcmp(sub, "verify") != 0))
		return cli_usage_error(&a, "an option given does not belong to audit %s", sub);
	if ((xo.until != NULL && strcmp(sub, "export") != 0) ||
	    ((xo.since != NULL || xo.grant != NULL || xo.incident != NULL) &&
	     strcmp(sub, "export") != 0 && strcmp(sub, "tail") != 0))
		return cli_usage_error(&a, "an option given does not belong to audit %s", sub);
	if (to.since != NULL && strlen(to.since) < 19)
		return cli_usage_error(&a, "--since is an RFC 3339 time: 2026-12-01T09:00:00Z");
	if (strcmp(sub, "tail") == 0) {
		to.n = limit;
		to.after = after;
		return audit_tail(&ctx, &to);
	}
	if (strcmp(sub, "pubkey") == 0)
		return audit_pubkey(&ctx);
	if (strcmp(sub, "export") == 0)
		return audit_export(&ctx, &xo);
	if (strcmp(sub, "verify") == 0)
		return audit_verify_cmd(&ctx, &vo);
	return cli_usage_error(
	    &a, "unknown subcommand \"%s\" (this version has: tail, pubkey, export, verify)", sub);
}
