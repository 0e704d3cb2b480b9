/*
 * cmd_audit.c - `breakglass audit tail|show|pubkey|export|verify|rotate-key`: the audit
 * log through the API (docs/audit.md).
 *
 * tail: one line per record in the terminal (what an incident lead skims), or the
 * server's {"records":[...]} with --json (what a script or the e2e tests check). Paging
 * is explicit (--after SEQ) so a script can walk the whole log without the CLI holding
 * it in memory.
 *
 * show prints one record joined with the others of its request (request and response or
 * denial, by request_id), each with its detail (body, sizes, consumed capacity), and the
 * grant it ran under; control bytes of recorded text are shown as '?'.
 *
 * pubkey prints the checkpoints' public key (PEM). export walks the log page by page and
 * writes JSON lines, one record each; with a filter, the records it leaves out between
 * the first kept one and the first checkpoint after the last kept one are written
 * redacted (seq, prev_hash, hash), so the chain's links stay checkable. verify feeds the
 * store's records (through the API) or an export's lines to the verifier (audit/verify.h)
 * and reports its findings; it trusts the keys given with --pubkey (each file may hold
 * several), else every key the server has signed with. rotate-key asks the gateway for a
 * new signing key (an admin, with a TOTP code); pubkey --all prints every key, retired
 * ones included.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
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

/* The current public key, or with all every key that has signed checkpoints (oldest
 * first, one PEM after the other: a file `verify --pubkey` takes as it is). */
static int audit_pubkey(const cli_ctx *ctx, bool all)
{
	json_t *ans = NULL, *keys, *k;
	const char *pem;
	bg_buf out;
	size_t i;
	int rc = cli_request(
	    ctx, "GET", all ? "/api/v1/audit/pubkey?all=1" : "/api/v1/audit/pubkey", NULL, &ans);

	if (rc != CLI_EXIT_OK)
		return rc;
	pem = json_string_value(json_object_get(ans, "public_key_pem"));
	keys = json_object_get(ans, "keys");
	if (pem == NULL || (all && !json_is_array(keys))) {
		json_decref(ans);
		return cli_fail(CLI_EXIT_UNREACHABLE, NULL,
		                "the server's answer has no public key");
	}
	if (ctx->json) {
		rc = cli_emit_json(ans);
		json_decref(ans);
		return rc;
	}
	bg_buf_init(&out, BG_MAX_RESPONSE_BODY);
	if (!all)
		(void)!bg_buf_adds(&out, pem);
	json_array_foreach(keys, i, k)
	{
		const char *p = json_string_value(json_object_get(k, "public_key_pem"));
		if (p == NULL || bg_buf_adds(&out, p) != 0)
			break;
	}
	rc = cli_write_out(&out);
	bg_buf_free(&out);
	json_decref(ans);
	return rc;
}

/* POST /api/v1/audit/rotate-key: a new checkpoint signing key, recorded. */
static int audit_rotate_key(const cli_ctx *ctx, const char *otp)
{
	json_t *body, *ans = NULL;
	int rc;

	if (otp == NULL)
		return cli_fail(CLI_EXIT_USAGE, "usage",
		                "audit rotate-key needs --otp CODE (your current TOTP code)");
	body = json_pack("{s:s}", "otp", otp);
	if (body == NULL)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	rc = cli_request(ctx, "POST", "/api/v1/audit/rotate-key", body, &ans);
	json_decref(body);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (ctx->json) {
		rc = cli_emit_json(ans);
	} else {
		const char *o = json_string_value(json_object_get(ans, "old_key_id"));
		const char *n = json_string_value(json_object_get(ans, "new_key_id"));
		printf("rotated the audit signing key: %s -> %s (record seq %lld, checkpointed by "
		       "the old key at seq %lld)\n"
		       "keep the new public key with the old ones: breakglass audit pubkey --all\n",
		       o ? o : "?", n ? n : "?",
		       (long long)json_integer_value(json_object_get(ans, "seq")),
		       (long long)json_integer_value(json_object_get(ans, "checkpoint_seq")));
		rc = fflush(stdout) == 0
		         ? CLI_EXIT_OK
		         : cli_fail(CLI_EXIT_REFUSED, NULL, "cannot write to stdout");
	}
	json_decref(ans);
	return rc;
}

/* --- show ------------------------------------------------------------------------------- */

/* Room for a recorded body shown in the terminal: a request body may be up to
 * BG_MAX_REQUEST_BODY; control bytes become '?', so it cannot move the cursor. */
#define SHOW_VALUE_MAX (BG_MAX_REQUEST_BODY + 8)

/* "    key: value" for each field of a record's detail: strings as they are, anything
 * else as compact JSON, both sanitised. */
static int show_detail(bg_buf *out, const json_t *d, char *tmp)
{
	const char *key;
	json_t *v;

	if (!json_is_object(d))
		return 0;
	json_object_foreach((json_t *)d, key, v)
	{
		char *text =
		    json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		const char *shown = json_is_string(v) ? json_string_value(v) : text;
		if (shown == NULL)
			return BG_ENOMEM;
		cli_out_sanitize(shown, tmp, SHOW_VALUE_MAX);
		free(text);
		cli_out_sanitize(key, tmp + SHOW_VALUE_MAX, 128);
		if (bg_buf_addf(out, "      %s: ", tmp + SHOW_VALUE_MAX) != 0 ||
		    bg_buf_adds(out, tmp) != 0 || bg_buf_addc(out, '\n') != 0)
			return out->failed;
	}
	return 0;
}

/* The human form of `audit show`: the records of the request, the one asked for marked,
 * each with its detail, then the grant. */
static int show_human(bg_buf *out, json_t *ans, int64_t seq)
{
	json_t *related = json_object_get(ans, "related"), *g = json_object_get(ans, "grant"), *r;
	const char *rid =
	    json_string_value(json_object_get(json_object_get(ans, "record"), "request_id"));
	char *tmp = malloc(SHOW_VALUE_MAX + 128);
	size_t i;
	int rc = 0;

	if (tmp == NULL || !json_is_array(related))
		rc = BG_ENOMEM;
	if (rc == 0 && rid != NULL) {
		cli_out_sanitize(rid, tmp, 128);
		rc = bg_buf_addf(out, "audit record %lld, request %s (%zu record%s)\n",
		                 (long long)seq, tmp, json_array_size(related),
		                 json_array_size(related) == 1 ? "" : "s");
	} else if (rc == 0) {
		rc = bg_buf_addf(out, "audit record %lld (no request id: nothing to join)\n",
		                 (long long)seq);
	}
	json_array_foreach(related, i, r)
	{
		const char *kind = json_string_value(json_object_get(r, "kind"));
		bool me = json_integer_value(json_object_get(r, "seq")) == seq;
		if (rc != 0)
			break;
		cli_out_sanitize(kind != NULL ? kind : "?", tmp, 64);
		rc = bg_buf_addf(out, "%s %-9s ", me ? "*" : " ", tmp);
		if (rc == 0)
			rc = cli_out_audit_line(out, r);
		if (rc == 0)
			rc = show_detail(out, json_object_get(r, "detail"), tmp);
		if (rc == 0)
			rc = bg_buf_addf(out, "      hash: %s\n",
			                 json_string_value(json_object_get(r, "hash"))
			                     ? json_string_value(json_object_get(r, "hash"))
			                     : "-");
	}
	if (rc == 0 && json_is_true(json_object_get(ans, "related_more")))
		rc =
		    bg_buf_addf(out, "  ... more records share this request id (--json lists %d)\n",
		                BG_MAX_AUDIT_RELATED);
	if (rc == 0 && json_is_object(g)) {
		static const char *const keys[] = {"id",  "user",       "kind",   "tables",
		                                   "ops", "expires_at", "status", "created_by"};
		size_t k;
		rc = bg_buf_adds(out, "  grant    ");
		for (k = 0; rc == 0 && k < sizeof(keys) / sizeof(keys[0]); k++) {
			json_t *v = json_object_get(g, keys[k]);
			char *text = json_is_string(v)
			                 ? NULL
			                 : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			const char *shown = json_is_string(v) ? json_string_value(v) : text;
			if (v == NULL)
				continue;
			if (shown == NULL) {
				rc = BG_ENOMEM;
				break;
			}
			cli_out_sanitize(shown, tmp, 1024);
			free(text);
			rc = bg_buf_addf(out, "%s%s=%s", k > 0 ? " " : "", keys[k], tmp);
		}
		if (rc == 0)
			rc = bg_buf_addc(out, '\n');
	} else if (rc == 0 &&
	           json_is_string(json_object_get(json_object_get(ans, "record"), "grant_id"))) {
		rc = bg_buf_adds(out, "  grant    (not in the store)\n");
	}
	free(tmp);
	return rc;
}

static int audit_show(const cli_ctx *ctx, const char *arg)
{
	json_t *ans = NULL;
	int64_t seq = 0;
	char path[64];
	bg_buf out;
	int rc;

	if (arg == NULL)
		return cli_fail(CLI_EXIT_USAGE, "usage",
		                "audit show needs a sequence number (SEQ)");
	if (cli_parse_int(arg, 1, INT64_MAX, &seq) != 0)
		return cli_fail(CLI_EXIT_USAGE, "usage",
		                "audit show: \"%s\" is not a sequence number (1, 2, ...)", arg);
	snprintf(path, sizeof(path), "/api/v1/audit/%lld", (long long)seq);
	rc = cli_request(ctx, "GET", path, NULL, &ans);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (!json_is_object(json_object_get(ans, "record"))) {
		json_decref(ans);
		return cli_fail(CLI_EXIT_UNREACHABLE, NULL, "the server's answer has no record");
	}
	if (ctx->json) {
		rc = cli_emit_json(ans);
		json_decref(ans);
		return rc;
	}
	bg_buf_init(&out, BG_MAX_RESPONSE_BODY);
	if (show_human(&out, ans, seq) != 0 && !out.failed)
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	else
		rc = cli_write_out(&out);
	bg_buf_free(&out);
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

/* --pubkey may be given this many times (each file may hold several keys). */
#define VERIFY_PUBKEY_FILES 16

typedef struct verify_opts {
	const char *pubkey[VERIFY_PUBKEY_FILES];
	size_t npubkey;
	const char *file, *reference;
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

/* The keys to trust: every PEM public key in each --pubkey file, else every key the
 * server has signed with (audit pubkey --all). */
static int load_pubkeys(const cli_ctx *ctx, const verify_opts *o, sigkey ***keys, size_t *n)
{
	json_t *ans = NULL, *list, *k;
	char *text;
	size_t len = 0, i;
	bg_err e;
	int rc;

	for (i = 0; i < o->npubkey; i++) {
		text = read_small(o->pubkey[i], (size_t)SIGKEY_LIST_MAX * 256, &len);
		if (text == NULL)
			return cli_fail(CLI_EXIT_USAGE, NULL, "cannot read the public key file %s",
			                o->pubkey[i]);
		rc = sigkey_public_list(text, len, keys, n, &e);
		free(text);
		if (rc != 0)
			return cli_fail(CLI_EXIT_USAGE, NULL, "%s: %s", o->pubkey[i], e.msg);
	}
	if (o->npubkey > 0)
		return CLI_EXIT_OK;
	rc = cli_request(ctx, "GET", "/api/v1/audit/pubkey?all=1", NULL, &ans);
	if (rc != CLI_EXIT_OK)
		return rc;
	list = json_object_get(ans, "keys");
	if (!json_is_array(list) || json_array_size(list) == 0)
		rc = cli_fail(CLI_EXIT_UNREACHABLE, NULL, "the server's answer has no public keys");
	json_array_foreach(list, i, k)
	{
		const char *pem = json_string_value(json_object_get(k, "public_key_pem"));
		if (rc != CLI_EXIT_OK)
			break;
		if (pem == NULL || sigkey_public_list(pem, strlen(pem), keys, n, &e) != 0)
			rc = cli_fail(CLI_EXIT_UNREACHABLE, NULL,
			              "the server's public keys are not usable");
	}
	json_decref(ans);
	return rc;
}

int cli_audit_pubkeys(const cli_ctx *ctx, const char *path, sigkey ***keys, size_t *n)
{
	verify_opts o;

	memset(&o, 0, sizeof(o));
	if (path != NULL) {
		o.pubkey[0] = path;
		o.npubkey = 1;
	}
	return load_pubkeys(ctx, &o, keys, n);
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

/* Pages of JSON lines (GET /api/v1/audit?format=jsonl) fetched one ahead of the verifier
 * by a reader thread: while the verifier reads page k, the gateway builds page k+1 and
 * the reader downloads it (two processes, two cores). The reader asks for page k+1 after
 * the seq the page's X-Audit-Last-Seq header names; the verifier, once through page k,
 * holds the server to it. Without the header (an older gateway) the reader waits for the
 * verifier's own last seq, one page at a time. */
typedef struct page_slot {
	bg_buf buf;
	int64_t after; /* the page was asked for after this seq */
	int64_t last;  /* X-Audit-Last-Seq, or -1 when the answer had none */
	int rc;        /* CLI_EXIT_OK, or the failure's exit code (f says why) */
	cli_failure f;
} page_slot;

typedef struct page_reader {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	cli_client *c;
	page_slot slot[2];
	int head, count;  /* filled slots: slot[head], then slot[head ^ 1] */
	int64_t next;     /* the seq the next page starts after; -1 until known */
	bool stop, ended; /* stop: the verifier wants no more; ended: the reader is done */
} page_reader;

static void *page_reader_main(void *arg)
{
	page_reader *r = arg;
	char path[128], last[32];

	pthread_mutex_lock(&r->mu);
	for (;;) {
		page_slot *s;
		int64_t after;
		char *end;
		long long v;

		while (!r->stop && (r->count == 2 || r->next < 0))
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop)
			break;
		s = &r->slot[(r->head + r->count) & 1];
		after = r->next;
		r->next = -1;
		pthread_mutex_unlock(&r->mu);

		snprintf(path, sizeof(path), "/api/v1/audit?after=%lld&limit=%d&format=jsonl",
		         (long long)after, AUDIT_MAX_LIMIT);
		s->after = after;
		s->last = -1;
		s->rc = cli_client_get_raw(r->c, path, &s->buf, "X-Audit-Last-Seq", last,
		                           sizeof(last), &s->f);
		if (s->rc == CLI_EXIT_OK && last[0] != '\0') {
			errno = 0;
			v = strtoll(last, &end, 10);
			if (errno == 0 && *end == '\0' && v >= 0)
				s->last = v;
		}

		pthread_mutex_lock(&r->mu);
		r->count++;
		pthread_cond_broadcast(&r->cv);
		/* After a failure or the empty page that ends the trail, nothing more. */
		if (s->rc != CLI_EXIT_OK || s->buf.len == 0)
			break;
		if (s->last > after)
			r->next = s->last;
	}
	r->ended = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Feeds the whole store to v, a page of JSON lines at a time, as the verifier reads an
 * export's: the client parses no JSON tree per record. One connection for every page. */
static int walk_lines(const cli_ctx *ctx, averify *v)
{
	page_reader r;
	pthread_t t;
	int rc = cli_require_token(ctx);

	if (rc != CLI_EXIT_OK)
		return rc;
	memset(&r, 0, sizeof(r));
	r.next = 0;
	bg_buf_init(&r.slot[0].buf, BG_MAX_RESPONSE_BODY);
	bg_buf_init(&r.slot[1].buf, BG_MAX_RESPONSE_BODY);
	r.c = cli_client_new(ctx);
	if (r.c == NULL)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	if (pthread_create(&t, NULL, page_reader_main, &r) != 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "cannot start the page reader");
		goto out;
	}
	for (;;) {
		page_slot *s;
		const char *p, *end, *nl;
		size_t lines = 0;
		int64_t seen;

		pthread_mutex_lock(&r.mu);
		while (r.count == 0 && !r.ended)
			pthread_cond_wait(&r.cv, &r.mu);
		s = r.count > 0 ? &r.slot[r.head] : NULL;
		pthread_mutex_unlock(&r.mu);
		if (s == NULL) { /* cannot happen: the reader ends on a filled slot */
			rc = cli_fail(CLI_EXIT_LOCAL, NULL, "the page reader stopped early");
			break;
		}
		if (s->rc != CLI_EXIT_OK) {
			rc = cli_failure_report(&s->f, s->rc);
			break;
		}
		p = s->buf.data;
		end = s->buf.data + s->buf.len;
		for (; p != NULL && p < end; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL)
				nl = end;
			if (averify_line(v, p, (size_t)(nl - p)) != 0) {
				rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
				break;
			}
			lines++;
		}
		if (rc != CLI_EXIT_OK || lines == 0)
			break;
		/* The highest seq the verifier read (from the records' own top level, never from
		 * text inside them): the page must not reach past where the server said it ends,
		 * and the pages must move on. */
		seen = averify_last_seq(v);
		if (s->last >= 0 && (seen > s->last || s->last <= s->after)) {
			rc = cli_fail(
			    CLI_EXIT_UNREACHABLE, NULL,
			    "the server's page after seq %lld says it ends at seq %lld but "
			    "holds seq %lld: cannot go on",
			    (long long)s->after, (long long)s->last, (long long)seen);
			break;
		}
		if (s->last < 0 && seen <= s->after) {
			rc = cli_fail(CLI_EXIT_UNREACHABLE, NULL,
			              "the server's page after seq %lld holds no readable record: "
			              "cannot go on",
			              (long long)s->after);
			break;
		}
		pthread_mutex_lock(&r.mu);
		if (s->last < 0)
			r.next = seen;
		r.head ^= 1;
		r.count--;
		pthread_cond_broadcast(&r.cv);
		pthread_mutex_unlock(&r.mu);
	}
	pthread_mutex_lock(&r.mu);
	r.stop = true;
	pthread_cond_broadcast(&r.cv);
	pthread_mutex_unlock(&r.mu);
	pthread_join(t, NULL);
out:
	pthread_cond_destroy(&r.cv);
	pthread_mutex_destroy(&r.mu);
	bg_buf_free(&r.slot[0].buf);
	bg_buf_free(&r.slot[1].buf);
	cli_client_free(r.c);
	return rc;
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
	if (r->repeated > 0)
		bad |= bg_buf_addf(&out,
		                   "  %lld exact repeat%s of records read again (a sink that "
		                   "delivers at least once), set aside\n",
		                   (long long)r->repeated, r->repeated == 1 ? "" : "s");
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
	sigkey **keys = NULL;
	size_t nkeys = 0;
	averify *v = NULL;
	averify_result res;
	bg_err e;
	int rc = load_pubkeys(ctx, o, &keys, &nkeys);

	if (rc != CLI_EXIT_OK) {
		sigkey_list_free(keys, nkeys);
		return rc;
	}
	if (averify_new((const sigkey *const *)keys, nkeys, o->file == NULL, &v, &e) != 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "%s", e.msg);
		goto out;
	}
	rc = o->file != NULL ? feed_file(v, o->file, false) : walk_lines(ctx, v);
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
	sigkey_list_free(keys, nkeys);
	return rc;
}

int cmd_audit_main(int argc, char **argv)
{
	static const cli_opt opts[] = {
	    {"after", true},    {"limit", true}, {"pubkey", true},  {"file", true},
	    {"since", true},    {"until", true}, {"grant", true},   {"reference", true},
	    {"n", true},        {"f", false},    {"follow", false}, {"user", true},
	    {"incident", true}, {"all", false},  {"otp", true},     {NULL, false}};
	cli_ctx ctx;
	cli_args a;
	const char *val, *sub = NULL, *arg = NULL;
	int64_t after = -1, limit = 20;
	tail_opts to = {20, -1, false, NULL, NULL, NULL, NULL};
	cli_export_opts xo = {NULL, NULL, NULL, NULL};
	verify_opts vo;
	const char *otp = NULL;
	bool tail_opt = false, export_opt = false, verify_opt = false, all = false;
	int k;

	memset(&vo, 0, sizeof(vo));
	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "audit", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		switch (k) {
		case CLI_ARG_ERROR:
			return CLI_EXIT_USAGE;
		case CLI_ARG_POSITIONAL:
			if (sub != NULL && arg == NULL && strcmp(sub, "show") == 0) {
				arg = val;
				break;
			}
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
			if (vo.npubkey == VERIFY_PUBKEY_FILES)
				return cli_usage_error(&a, "--pubkey at most %d times",
				                       VERIFY_PUBKEY_FILES);
			vo.pubkey[vo.npubkey++] = val;
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
		case 13:
			all = true;
			break;
		case 14:
			otp = val;
			break;
		}
	}
	if (ctx.help)
		return cli_help_show("audit");
	if (sub == NULL)
		return cli_usage_error(
		    &a, "missing subcommand (tail, show, pubkey, export, verify, rotate-key)");
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
	if (strcmp(sub, "show") == 0)
		return audit_show(&ctx, arg);
	if ((all && strcmp(sub, "pubkey") != 0) || (otp != NULL && strcmp(sub, "rotate-key") != 0))
		return cli_usage_error(&a, "an option given does not belong to audit %s", sub);
	if (strcmp(sub, "pubkey") == 0)
		return audit_pubkey(&ctx, all);
	if (strcmp(sub, "rotate-key") == 0)
		return audit_rotate_key(&ctx, otp);
	if (strcmp(sub, "export") == 0)
		return audit_export(&ctx, &xo);
	if (strcmp(sub, "verify") == 0)
		return audit_verify_cmd(&ctx, &vo);
	return cli_usage_error(
	    &a,
	    "unknown subcommand \"%s\" (this version has: tail, show, pubkey, export, verify, "
	    "rotate-key)",
	    sub);
}
