/*
 * output.c - human and JSON rendering of API answers (see output.h).
 */
#include "cli/output.h"

#include <qrencode.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/duration.h"

/* The length of the valid UTF-8 sequence at s (0 when invalid) and its code point. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, *cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, *cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, *cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (*cp < 0x800 || (*cp >= 0xd800 && *cp <= 0xdfff))) ||
	    (n == 4 && (*cp < 0x10000 || *cp > 0x10ffff)))
		return 0;
	return n;
}

/* Characters a terminal acts on rather than shows: C0 and DEL, C1 (U+0080..U+009F: CSI
 * and friends, which some terminals take as escapes), and the bidirectional overrides
 * and isolates that make text read other than it is. */
static bool inert(uint32_t cp)
{
	return !(cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069));
}

void cli_out_sanitize(const char *in, char *out, size_t n)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t j = 0;

	if (n == 0)
		return;
	while (*p != '\0') {
		uint32_t cp = 0;
		size_t len = utf8_seq(p, &cp);
		bool keep = len > 0 && inert(cp);

		if (j + (keep ? len : 1) >= n) {
			/* Truncated: mark it, if there is room for the marker at all. */
			if (n > 4) {
				memcpy(out + (j + 3 < n ? j : n - 4), "...", 3);
				j = (j + 3 < n ? j : n - 4) + 3;
			}
			break;
		}
		if (keep) {
			memcpy(out + j, p, len);
			j += len;
			p += len;
		} else {
			out[j++] = '?';
			p += len > 0 ? len : 1;
		}
	}
	out[j] = '\0';
}

int cli_out_json(FILE *fp, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	int rc = 0;

	if (s == NULL)
		return BG_ENOMEM;
	if (fputs(s, fp) == EOF || fputc('\n', fp) == EOF || fflush(fp) != 0)
		rc = BG_EIO;
	free(s);
	return rc;
}

int cli_out_shell_quote(bg_buf *b, const char *s)
{
	const char *p;

	if (bg_buf_addc(b, '\'') != 0)
		return b->failed;
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'') {
			if (bg_buf_adds(b, "'\\''") != 0)
				return b->failed;
		} else if (bg_buf_addc(b, *p) != 0) {
			return b->failed;
		}
	}
	return bg_buf_addc(b, '\'');
}

int cli_out_aws_wrapper(bg_buf *b, const char *real_aws, const char *endpoint)
{
	int rc;

	if (real_aws == NULL)
		return bg_buf_adds(b, "#!/bin/sh\n"
		                      "echo 'breakglass exec: no aws command found on PATH' >&2\n"
		                      "exit 127\n");
	rc = bg_buf_adds(b, "#!/bin/sh\n"
	                    "# Written by breakglass exec for one command, removed when it ends: "
	                    "the AWS CLI,\n"
	                    "# pointed at the gateway unless --endpoint-url is given.\n"
	                    "for a in \"$@\"; do\n"
	                    "\tcase \"$a\" in\n"
	                    "\t--endpoint-url | --endpoint-url=*) exec ");
	rc = rc ? rc : cli_out_shell_quote(b, real_aws);
	rc = rc ? rc : bg_buf_adds(b, " \"$@\" ;;\n\tesac\ndone\nexec ");
	rc = rc ? rc : cli_out_shell_quote(b, real_aws);
	rc = rc ? rc : bg_buf_adds(b, " --endpoint-url ");
	rc = rc ? rc : cli_out_shell_quote(b, endpoint);
	return rc ? rc : bg_buf_adds(b, " \"$@\"\n");
}

int cli_out_url_host(const char *url, char *out, size_t n)
{
	const char *p, *end, *at;
	size_t len;

	if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return BG_EINVAL;
	end = p + strcspn(p, "/?#");
	for (at = p; at < end; at++)
		if (*at == '@')
			p = at + 1;
	if (*p == '[') {
		p++;
		for (len = 0; p + len < end && p[len] != ']'; len++)
			;
		if (p + len == end)
			return BG_EINVAL;
	} else {
		for (len = 0; p + len < end && p[len] != ':'; len++)
			;
	}
	if (len == 0 || len >= n)
		return BG_EINVAL;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

void cli_out_warnings(FILE *fp, const json_t *answer)
{
	const json_t *w = json_object_get(answer, "warnings"), *v;
	char line[1024];
	size_t i;

	json_array_foreach(w, i, v)
	{
		if (!json_is_string(v))
			continue;
		cli_out_sanitize(json_string_value(v), line, sizeof(line));
		fprintf(fp, "breakglass: warning: %s\n", line);
	}
}

/* A required non-empty string field without NUL or control bytes (values end up in the
 * environment and in shell lines). */
static const char *creds_field(const json_t *creds, const char *key, bg_err *e)
{
	const json_t *v = json_object_get(creds, key);
	const char *s = json_string_value(v);
	size_t i, n;

	if (s == NULL || (n = json_string_length(v)) == 0) {
		bg_err_set(e, BG_EINVAL, "the server's creds answer has no \"%s\"", key);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f) {
			bg_err_set(e, BG_EINVAL, "the server's creds answer has a bad \"%s\"", key);
			return NULL;
		}
	}
	return s;
}

int cli_out_creds_vars(const json_t *creds, cli_envvar *vars, bg_err *e)
{
	const char *akid, *secret, *token, *region, *endpoint;

	if (!json_is_object(creds))
		return bg_err_set(e, BG_EINVAL, "the server's creds answer is not an object");
	if ((akid = creds_field(creds, "access_key_id", e)) == NULL ||
	    (secret = creds_field(creds, "secret_access_key", e)) == NULL ||
	    (token = creds_field(creds, "session_token", e)) == NULL ||
	    (region = creds_field(creds, "region", e)) == NULL ||
	    (endpoint = creds_field(creds, "endpoint", e)) == NULL)
		return BG_EINVAL;
	vars[0] = (cli_envvar){"AWS_ACCESS_KEY_ID", akid};
	vars[1] = (cli_envvar){"AWS_SECRET_ACCESS_KEY", secret};
	vars[2] = (cli_envvar){"AWS_SESSION_TOKEN", token};
	vars[3] = (cli_envvar){"AWS_REGION", region};
	vars[4] = (cli_envvar){"AWS_DEFAULT_REGION", region};
	vars[5] = (cli_envvar){"AWS_ENDPOINT_URL_DYNAMODB", endpoint};
	vars[6] = (cli_envvar){"AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled"};
	return 0;
}

int cli_out_creds_env(bg_buf *b, const json_t *creds, bg_err *e)
{
	cli_envvar vars[CLI_CREDS_NVARS];
	size_t i;
	int rc = cli_out_creds_vars(creds, vars, e);

	if (rc != 0)
		return rc;
	for (i = 0; i < CLI_CREDS_NVARS; i++) {
		if (bg_buf_addf(b, "export %s=", vars[i].name) != 0 ||
		    cli_out_shell_quote(b, vars[i].value) != 0 || bg_buf_addc(b, '\n') != 0)
			return bg_err_set(e, b->failed, "out of memory");
	}
	return 0;
}

json_t *cli_out_creds_process(const json_t *creds, bg_err *e)
{
	const char *akid, *secret, *token, *exp;
	time_t t;

	if (!json_is_object(creds)) {
		bg_err_set(e, BG_EINVAL, "the server's creds answer is not an object");
		return NULL;
	}
	if ((akid = creds_field(creds, "access_key_id", e)) == NULL ||
	    (secret = creds_field(creds, "secret_access_key", e)) == NULL ||
	    (token = creds_field(creds, "session_token", e)) == NULL ||
	    (exp = creds_field(creds, "expiration", e)) == NULL)
		return NULL;
	/* SDKs refuse a credential_process answer whose Expiration they cannot parse, with
	 * an error far from here; check it now. */
	if (cli_out_parse_time(exp, &t) != 0) {
		bg_err_set(e, BG_EINVAL, "the server's creds answer has a bad \"expiration\"");
		return NULL;
	}
	return json_pack("{s:i, s:s, s:s, s:s, s:s}", "Version", 1, "AccessKeyId", akid,
	                 "SecretAccessKey", secret, "SessionToken", token, "Expiration", exp);
}

int cli_out_parse_time(const char *s, time_t *out)
{
	int64_t t;

	if (bg_rfc3339_parse(s, strlen(s), &t) != 0)
		return BG_EINVAL;
	*out = (time_t)t;
	return 0;
}

static int add_field(bg_buf *b, const json_t *v);

/* An array element: scalars only; nested structure is shown as a placeholder (and the
 * rendering never recurses more than one level). */
static int add_elem(bg_buf *b, const json_t *v)
{
	if (json_is_array(v) || json_is_object(v))
		return bg_buf_adds(b, "[...]");
	return add_field(b, v);
}

/* Appends a field for human output: strings sanitized, numbers as numbers, arrays joined
 * with ",", absent/null/empty as "-". */
static int add_field(bg_buf *b, const json_t *v)
{
	char tmp[1024];
	size_t i;

	if (json_is_string(v) && json_string_length(v) > 0) {
		cli_out_sanitize(json_string_value(v), tmp, sizeof(tmp));
		return bg_buf_adds(b, tmp);
	}
	if (json_is_integer(v))
		return bg_buf_addf(b, "%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return bg_buf_addf(b, "%g", json_real_value(v));
	if (json_is_boolean(v))
		return bg_buf_adds(b, json_is_true(v) ? "true" : "false");
	if (json_is_array(v) && json_array_size(v) > 0) {
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0 && bg_buf_addc(b, ',') != 0)
				return b->failed;
			if (add_elem(b, json_array_get(v, i)) != 0)
				return b->failed;
		}
		return 0;
	}
	return bg_buf_addc(b, '-');
}

static int add_line(bg_buf *b, const char *label, const json_t *v)
{
	if (bg_buf_addf(b, "%-11s ", label) != 0 || add_field(b, v) != 0 ||
	    bg_buf_addc(b, '\n') != 0)
		return b->failed;
	return 0;
}

/* "S of B units" (or "S units, no budget") for one {"spent", "budget"}. */
static int add_spend(bg_buf *b, const char *kind, const json_t *x)
{
	double spent = json_number_value(json_object_get(x, "spent"));
	const json_t *budget = json_object_get(x, "budget");

	if (json_is_number(budget))
		return bg_buf_addf(b, "%s %g of %g units%s", kind, spent, json_number_value(budget),
		                   spent >= json_number_value(budget) ? " (spent)" : "");
	return bg_buf_addf(b, "%s %g units", kind, spent);
}

int cli_out_usage_short(bg_buf *b, const json_t *usage)
{
	const json_t *cap = json_object_get(usage, "capacity");
	const json_t *rate = json_object_get(usage, "rate");

	if (!json_is_object(cap))
		return 0;
	if (add_spend(b, "read", json_object_get(cap, "read")) != 0 || bg_buf_adds(b, ", ") != 0 ||
	    add_spend(b, "write", json_object_get(cap, "write")) != 0)
		return b->failed;
	if (json_is_object(rate) &&
	    bg_buf_addf(b, ", %lld requests now (%lld/s)",
	                (long long)json_integer_value(json_object_get(rate, "requests_left")),
	                (long long)json_integer_value(json_object_get(rate, "per_second"))) != 0)
		return b->failed;
	return 0;
}

int cli_out_usage(bg_buf *b, const json_t *usage)
{
	const json_t *rbs = json_object_get(usage, "runbooks"),
	             *rate = json_object_get(usage, "rate");
	const json_t *cap = json_object_get(usage, "capacity"), *x;
	const char *id;
	char clean[128];

	if (!json_is_object(usage))
		return 0;
	if (json_is_object(cap) &&
	    (bg_buf_addf(b, "%-11s ", "capacity") != 0 ||
	     add_spend(b, "read", json_object_get(cap, "read")) != 0 || bg_buf_adds(b, ", ") != 0 ||
	     add_spend(b, "write", json_object_get(cap, "write")) != 0 ||
	     bg_buf_addc(b, '\n') != 0))
		return b->failed;
	json_object_foreach((json_t *)rbs, id, x)
	{
		cli_out_sanitize(id, clean, sizeof(clean));
		if (bg_buf_addf(b, "%-11s %s: ", "  runbook", clean) != 0 ||
		    add_spend(b, "read", json_object_get(x, "read")) != 0 ||
		    bg_buf_adds(b, ", ") != 0 ||
		    add_spend(b, "write", json_object_get(x, "write")) != 0 ||
		    bg_buf_addc(b, '\n') != 0)
			return b->failed;
	}
	if (json_is_object(rate) &&
	    bg_buf_addf(b, "%-11s %lld requests now (%lld a second, %lld at once)\n", "rate",
	                (long long)json_integer_value(json_object_get(rate, "requests_left")),
	                (long long)json_integer_value(json_object_get(rate, "per_second")),
	                (long long)json_integer_value(json_object_get(rate, "burst"))) != 0)
		return b->failed;
	return 0;
}

int cli_out_grant(bg_buf *b, const json_t *g, time_t now)
{
	const char *status = json_string_value(json_object_get(g, "status"));
	const char *exp = json_string_value(json_object_get(g, "expires_at"));
	time_t t;

	if (!json_is_object(g))
		return BG_EINVAL;
	if (add_line(b, "grant", json_object_get(g, "id")) != 0 ||
	    add_line(b, "user", json_object_get(g, "user")) != 0 ||
	    add_line(b, "status", json_object_get(g, "status")) != 0 ||
	    add_line(b, "tables", json_object_get(g, "tables")) != 0 ||
	    add_line(b, "ops", json_object_get(g, "ops")) != 0 ||
	    add_line(b, "created", json_object_get(g, "created_at")) != 0 ||
	    add_line(b, "created by", json_object_get(g, "created_by")) != 0)
		return b->failed;
	if (bg_buf_addf(b, "%-11s ", "expires") != 0 ||
	    add_field(b, json_object_get(g, "expires_at")) != 0)
		return b->failed;
	if (status != NULL && strcmp(status, "active") == 0 && exp != NULL &&
	    cli_out_parse_time(exp, &t) == 0 && t > now) {
		char left[32];
		bg_duration_format((int64_t)(t - now), left, sizeof(left));
		if (bg_buf_addf(b, " (in %s)", left) != 0)
			return b->failed;
	}
	if (bg_buf_addc(b, '\n') != 0)
		return b->failed;
	if (json_is_string(json_object_get(g, "revoked_at")) &&
	    (add_line(b, "revoked", json_object_get(g, "revoked_at")) != 0 ||
	     add_line(b, "revoked by", json_object_get(g, "revoked_by")) != 0))
		return b->failed;
	if (add_line(b, "reason", json_object_get(g, "reason")) != 0 ||
	    add_line(b, "access key", json_object_get(g, "access_key_id")) != 0)
		return b->failed;
	/* A runbook grant: each runbook with the content hash it is pinned at. */
	{
		json_t *rbs = json_object_get(g, "runbooks"), *rb;
		size_t i;
		json_array_foreach(rbs, i, rb)
		{
			if (bg_buf_addf(b, "%-11s ", "runbook") != 0 ||
			    add_field(b, json_object_get(rb, "id")) != 0 ||
			    bg_buf_adds(b, " @ ") != 0 ||
			    add_field(b, json_object_get(rb, "hash")) != 0 ||
			    bg_buf_addc(b, '\n') != 0)
				return b->failed;
		}
	}
	/* A live grant's guardrails, as the gateway counts them. */
	return cli_out_usage(b, json_object_get(g, "usage"));
}

/* Appends the field padded to width (at least one space after it). */
static int add_col(bg_buf *b, const json_t *v, size_t width)
{
	size_t start = b->len;

	if (add_field(b, v) != 0)
		return b->failed;
	do {
		if (bg_buf_addc(b, ' ') != 0)
			return b->failed;
	} while (b->len - start < width);
	return 0;
}

int cli_out_grant_list(bg_buf *b, const json_t *answer)
{
	const json_t *grants = json_object_get(answer, "grants");
	const json_t *g;
	size_t i;

	if (!json_is_array(grants))
		return BG_EINVAL;
	if (bg_buf_addf(b, "%-24s %-16s %-8s %-21s %-20s %s\n", "ID", "USER", "STATUS", "EXPIRES",
	                "TABLES", "OPS") != 0)
		return b->failed;
	json_array_foreach(grants, i, g)
	{
		if (add_col(b, json_object_get(g, "id"), 25) != 0 ||
		    add_col(b, json_object_get(g, "user"), 17) != 0 ||
		    add_col(b, json_object_get(g, "status"), 9) != 0 ||
		    add_col(b, json_object_get(g, "expires_at"), 22) != 0 ||
		    add_col(b, json_object_get(g, "tables"), 21) != 0 ||
		    add_field(b, json_object_get(g, "ops")) != 0 || bg_buf_addc(b, '\n') != 0)
			return b->failed;
	}
	return 0;
}

int cli_out_incident_list(bg_buf *b, const json_t *answer)
{
	const json_t *list = json_object_get(answer, "incidents");
	const json_t *in;
	size_t i;

	if (!json_is_array(list))
		return BG_EINVAL;
	if (bg_buf_addf(b, "%-20s %-4s %-9s %-7s %-16s %-21s %s\n", "ID", "SEV", "STATE", "FIRING",
	                "SERVICE", "OPENED", "TITLE") != 0)
		return b->failed;
	json_array_foreach(list, i, in)
	{
		if (add_col(b, json_object_get(in, "id"), 21) != 0 ||
		    add_col(b, json_object_get(in, "severity"), 5) != 0 ||
		    add_col(b, json_object_get(in, "state"), 10) != 0 ||
		    add_col(b, json_object_get(in, "alerts_firing"), 8) != 0 ||
		    add_col(b, json_object_get(in, "service"), 17) != 0 ||
		    add_col(b, json_object_get(in, "opened_at"), 22) != 0 ||
		    add_field(b, json_object_get(in, "title")) != 0 || bg_buf_addc(b, '\n') != 0)
			return b->failed;
	}
	return 0;
}

int cli_out_incident(bg_buf *b, const json_t *in)
{
	static const struct {
		const char *label, *key;
	} rows[] = {{"incident", "id"},          {"title", "title"},
	            {"severity", "severity"},    {"state", "state"},
	            {"service", "service"},      {"source", "source"},
	            {"opened", "opened_at"},     {"opened by", "opened_by"},
	            {"resolved", "resolved_at"}, {"resolved by", "resolved_by"},
	            {"firing", "alerts_firing"}, {"last firing", "last_firing_at"}};
	const json_t *alerts = json_object_get(in, "alerts"),
	             *events = json_object_get(in, "events");
	const json_t *v;
	size_t i;

	if (!json_is_object(in))
		return BG_EINVAL;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (bg_buf_addf(b, "%-12s ", rows[i].label) != 0 ||
		    add_field(b, json_object_get(in, rows[i].key)) != 0 ||
		    bg_buf_addc(b, '\n') != 0)
			return b->failed;
	if (json_is_true(json_object_get(in, "review_required")) &&
	    bg_buf_adds(b, "review       required (solo break-glass)\n") != 0)
		return b->failed;
	/* The server says when `close` is the next step (svc_incident_close_suggested). */
	if (json_is_true(json_object_get(in, "close_suggested"))) {
		const char *id = json_string_value(json_object_get(in, "id"));
		char cid[64];

		cli_out_sanitize(id != NULL ? id : "", cid, sizeof(cid));
		if (bg_buf_addf(
		        b, "next         all alerts resolved: `breakglass close %s` when done\n",
		        cid) != 0)
			return b->failed;
	}
	if (json_array_size(alerts) > 0 &&
	    bg_buf_addf(b, "\n%-9s %-32s %-21s %s\n", "STATE", "ALERT", "SINCE", "SUMMARY") != 0)
		return b->failed;
	json_array_foreach(alerts, i, v)
	{
		if (add_col(b, json_object_get(v, "state"), 10) != 0 ||
		    add_col(b, json_object_get(v, "name"), 33) != 0 ||
		    add_col(b, json_object_get(v, "starts_at"), 22) != 0 ||
		    add_field(b, json_object_get(v, "summary")) != 0 || bg_buf_addc(b, '\n') != 0)
			return b->failed;
	}
	if (json_array_size(events) > 0 && bg_buf_adds(b, "\nHISTORY\n") != 0)
		return b->failed;
	json_array_foreach(events, i, v)
	{
		if (add_col(b, json_object_get(v, "at"), 22) != 0 ||
		    add_col(b, json_object_get(v, "kind"), 15) != 0 ||
		    add_col(b, json_object_get(v, "actor"), 14) != 0 ||
		    add_field(b, json_object_get(v, "text")) != 0 || bg_buf_addc(b, '\n') != 0)
			return b->failed;
	}
	return 0;
}

int cli_out_request_list(bg_buf *b, const json_t *answer)
{
	const json_t *list = json_object_get(answer, "requests");
	const json_t *r;
	size_t i;

	if (!json_is_array(list))
		return BG_EINVAL;
	if (bg_buf_addf(b, "%-14s %-16s %-9s %-20s %-21s %s\n", "ID", "REQUESTER", "STATE",
	                "INCIDENT", "CREATED", "RUNBOOKS") != 0)
		return b->failed;
	json_array_foreach(list, i, r)
	{
		const json_t *rb, *v;
		size_t k;
		if (add_col(b, json_object_get(r, "id"), 15) != 0 ||
		    add_col(b, json_object_get(r, "requester"), 17) != 0 ||
		    add_col(b, json_object_get(r, "state"), 10) != 0 ||
		    add_col(b, json_object_get(r, "incident"), 21) != 0 ||
		    add_col(b, json_object_get(r, "created_at"), 22) != 0)
			return b->failed;
		rb = json_object_get(r, "runbooks");
		json_array_foreach(rb, k, v)
		{
			if ((k > 0 && bg_buf_addc(b, ',') != 0) ||
			    add_field(b, json_object_get(v, "id")) != 0)
				return b->failed;
		}
		if (bg_buf_addc(b, '\n') != 0)
			return b->failed;
	}
	return 0;
}

int cli_out_request(bg_buf *b, const json_t *r)
{
	static const struct {
		const char *label, *key;
	} rows[] = {{"request", "id"},        {"state", "state"},   {"requester", "requester"},
	            {"incident", "incident"}, {"reason", "reason"}, {"ticket", "ticket"}};
	const json_t *v, *grant = json_object_get(r, "grant");
	const char *state = json_string_value(json_object_get(r, "state"));
	char dur[32];
	size_t i;

	if (!json_is_object(r))
		return BG_EINVAL;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (add_line(b, rows[i].label, json_object_get(r, rows[i].key)) != 0)
			return b->failed;
	bg_duration_format(json_integer_value(json_object_get(r, "duration_seconds")), dur,
	                   sizeof(dur));
	if (bg_buf_addf(b, "%-11s %s\n", "for", dur) != 0 ||
	    add_line(b, "asked", json_object_get(r, "created_at")) != 0)
		return b->failed;
	/* A pending request's deadline; a decided one's decision. */
	if (state != NULL && strcmp(state, "pending") == 0
	        ? add_line(b, "expires", json_object_get(r, "expires_at")) != 0
	        : (add_line(b, "decided", json_object_get(r, "decided_at")) != 0 ||
	           add_line(b, "decided by", json_object_get(r, "decided_by")) != 0))
		return b->failed;
	if (json_is_true(json_object_get(r, "solo")) &&
	    bg_buf_adds(b, "solo        yes: break-glass without approval; the review is "
	                   "mandatory\n") != 0)
		return b->failed;
	json_array_foreach(json_object_get(r, "runbooks"), i, v)
	{
		if (bg_buf_addf(b, "%-11s ", i == 0 ? "runbooks" : "") != 0 ||
		    add_field(b, json_object_get(v, "id")) != 0 || bg_buf_addc(b, '\n') != 0)
			return b->failed;
	}
	json_array_foreach(json_object_get(r, "criteria"), i, v)
	{
		if (bg_buf_addf(b, "%-11s %-4s ", i == 0 ? "criteria" : "",
		                json_is_true(json_object_get(v, "ok")) ? "ok" : "FAIL") != 0 ||
		    add_field(b, json_object_get(v, "message")) != 0 || bg_buf_addc(b, '\n') != 0)
			return b->failed;
	}
	json_array_foreach(json_object_get(r, "answers"), i, v)
	{
		if (bg_buf_addf(b, "%-11s ", i == 0 ? "answers" : "") != 0 ||
		    add_col(b, json_object_get(v, "decision"), 8) != 0 ||
		    add_col(b, json_object_get(v, "approver"), 17) != 0 ||
		    add_field(b, json_object_get(v, "reason")) != 0 || bg_buf_addc(b, '\n') != 0)
			return b->failed;
	}
	if (json_is_object(grant))
		return bg_buf_adds(b, "\n") != 0 ? b->failed : cli_out_grant(b, grant, time(NULL));
	return 0;
}

int cli_out_json_line(bg_buf *b, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	int rc = s == NULL ? BG_ENOMEM : bg_buf_addf(b, "%s\n", s);

	free(s);
	return rc;
}

int cli_out_audit_line(bg_buf *b, const json_t *rec)
{
	static const char *const keys[] = {"seq", "ts",     "kind",     "actor",  "grant_id",
	                                   "op",  "tables", "decision", "status", "reason"};
	size_t k;

	if (!json_is_object(rec))
		return BG_EINVAL;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const json_t *v = json_object_get(rec, keys[k]);
		if (k > 0 && bg_buf_addc(b, ' ') != 0)
			return b->failed;
		/* Records that are not HTTP responses carry status 0: show it as absent. */
		if (strcmp(keys[k], "status") == 0 && json_is_integer(v) &&
		    json_integer_value(v) == 0)
			v = NULL;
		if (add_field(b, v) != 0)
			return b->failed;
	}
	return bg_buf_addc(b, '\n');
}

int cli_out_qr(bg_buf *b, const char *uri)
{
	static const char *const cell[4] = {" ", "\xe2\x96\x84", "\xe2\x96\x80", "\xe2\x96\x88"};
	QRcode *q = QRcode_encodeString(uri, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	int quiet = 2, w, x, y, rc = 0;

	if (q == NULL)
		return BG_EINVAL;
	w = q->width;
	/* A module is light outside the symbol (the quiet zone) or when its bit 0 is clear. */
#define LIGHT(xx, yy)                                                                              \
	((xx) < 0 || (yy) < 0 || (xx) >= w || (yy) >= w || !(q->data[(yy)*w + (xx)] & 1))
	for (y = -quiet; rc == 0 && y < w + quiet; y += 2) {
		for (x = -quiet; rc == 0 && x < w + quiet; x++)
			rc =
			    bg_buf_adds(b, cell[(LIGHT(x, y) ? 2 : 0) | (LIGHT(x, y + 1) ? 1 : 0)]);
		if (rc == 0)
			rc = bg_buf_addc(b, '\n');
	}
#undef LIGHT
	QRcode_free(q);
	return rc;
}
