/*
 * sigv4_sign_tool.c - a command-line face of the sigv4 module for cross-checks with other
 * signers (tests/e2e/test_botocore_signer.py compares it with botocore).
 *
 * Reads one JSON object on stdin and prints one JSON object on stdout:
 *   {"mode": "sign" | "verify", "method": "POST", "path": "/", "query": "",
 *    "headers": [["Host", "127.0.0.1:8700"], ...], "body_hex": "7b7d" (or "body": "{}"),
 *    "access_key_id", "secret_access_key", "session_token" (optional), "region", "service",
 *    "time": epoch seconds or "amz_date": "20150830T123600Z",
 *    "normalize": true, "sign_body": false, "omit_session_token": false,
 *    "required": ["host", "x-amz-date", "x-amz-target"]          (verify only)}
 * sign   -> {"authorization", "amz_date", "signed_headers", "signature", "payload_hash",
 *            "canonical_request", "string_to_sign"}
 * verify -> {"status": "ok" | "mismatch" | ..., "message", "access_key_id", "session_token",
 *            "signed_at"}; the secret callback knows exactly access_key_id.
 * Exit status: 0 when the operation ran (whatever the verdict), 2 on bad input.
 *
 * Build: scripts/build-one.sh OUT tests/e2e/sigv4_sign_tool.c src/signing/sigv4.c
 *        src/common/buf.c src/common/err.c
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signing/sigv4.h"

#define TOOL_MAX_HEADERS BG_MAX_HEADERS

typedef struct tool_secret {
	const char *akid, *secret;
} tool_secret;

static int tool_secret_fn(void *ctx, const char *akid, char *buf, size_t cap)
{
	const tool_secret *s = ctx;

	if (s->akid == NULL || strcmp(akid, s->akid) != 0)
		return BG_ENOTFOUND;
	if (strlen(s->secret) >= cap)
		return BG_ELIMIT;
	memcpy(buf, s->secret, strlen(s->secret) + 1);
	return 0;
}

static const char *str_field(json_t *o, const char *name, const char *def)
{
	json_t *v = json_object_get(o, name);

	return json_is_string(v) ? json_string_value(v) : def;
}

static bool bool_field(json_t *o, const char *name, bool def)
{
	json_t *v = json_object_get(o, name);

	return json_is_boolean(v) ? json_is_true(v) : def;
}

/* The body: body_hex (exact bytes) or body (a JSON string, UTF-8). Heap copy in *out. */
static int get_body(json_t *in, char **out, size_t *len)
{
	json_t *hx = json_object_get(in, "body_hex"), *b = json_object_get(in, "body");
	size_t i, n;
	const char *s;

	*out = NULL;
	*len = 0;
	if (json_is_string(hx)) {
		s = json_string_value(hx);
		n = json_string_length(hx);
		if (n % 2)
			return -1;
		*out = malloc(n / 2 + 1);
		if (*out == NULL)
			return -1;
		for (i = 0; i < n / 2; i++) {
			int hi = bg_hex_digit((unsigned char)s[2 * i]),
			    lo = bg_hex_digit((unsigned char)s[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return -1;
			(*out)[i] = (char)(hi << 4 | lo);
		}
		*len = n / 2;
		return 0;
	}
	if (json_is_string(b)) {
		n = json_string_length(b);
		*out = malloc(n + 1);
		if (*out == NULL)
			return -1;
		memcpy(*out, json_string_value(b), n);
		*len = n;
	}
	return 0;
}

static int get_time(json_t *in, time_t *t)
{
	json_t *tv = json_object_get(in, "time");
	const char *d = str_field(in, "amz_date", NULL);

	if (json_is_integer(tv)) {
		*t = (time_t)json_integer_value(tv);
		return 0;
	}
	if (d && sigv4_parse_amz_date(d, strlen(d), t) == 0)
		return 0;
	return -1;
}

static int emit(json_t *out)
{
	char *s = json_dumps(out, JSON_SORT_KEYS);

	json_decref(out);
	if (s == NULL)
		return 2;
	puts(s);
	free(s);
	return 0;
}

static int do_sign(json_t *in, const sigv4_request *req, time_t t)
{
	sigv4_sign_params p;
	sigv4_signed s;
	json_t *out;
	bg_err e;

	memset(&p, 0, sizeof(p));
	p.access_key_id = str_field(in, "access_key_id", NULL);
	p.secret_key = str_field(in, "secret_access_key", NULL);
	p.session_token = str_field(in, "session_token", NULL);
	p.region = str_field(in, "region", NULL);
	p.service = str_field(in, "service", NULL);
	p.now = t;
	p.normalize_path = bool_field(in, "normalize", true);
	p.omit_session_token = bool_field(in, "omit_session_token", false);
	p.sign_body_header = bool_field(in, "sign_body", false);
	if (sigv4_sign(req, &p, &s, &e)) {
		fprintf(stderr, "sigv4_sign: %s\n", e.msg);
		sigv4_signed_free(&s);
		return 2;
	}
	out =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "authorization", s.authorization.data,
	              "amz_date", s.amz_date, "signed_headers", s.signed_headers.data, "signature",
	              s.signature, "payload_hash", s.payload_hash, "canonical_request",
	              s.canonical_request.data, "string_to_sign", s.string_to_sign.data);
	sigv4_signed_free(&s);
	return out ? emit(out) : 2;
}

static int do_verify(json_t *in, const sigv4_request *req, time_t t)
{
	const char *required[BG_MAX_SIGNED_HEADERS];
	json_t *rq = json_object_get(in, "required"), *out, *tok;
	tool_secret sec = {str_field(in, "access_key_id", NULL),
	                   str_field(in, "secret_access_key", "")};
	sigv4_verifier *v;
	sigv4_result res;
	size_t n = 0, i;
	bg_err e;
	int st;

	if (json_is_array(rq)) {
		if (json_array_size(rq) > BG_MAX_SIGNED_HEADERS)
			return 2;
		for (i = 0; i < json_array_size(rq); i++) {
			const char *s = json_string_value(json_array_get(rq, i));
			if (s == NULL)
				return 2;
			required[n++] = s;
		}
	}
	v = sigv4_verifier_new(str_field(in, "region", ""), str_field(in, "service", ""), required,
	                       n);
	if (v == NULL) {
		fprintf(stderr, "sigv4_verifier_new failed\n");
		return 2;
	}
	sigv4_verifier_set_normalize(v, bool_field(in, "normalize", true));
	bg_err_clear(&e);
	st = sigv4_verify(v, req, t, tool_secret_fn, &sec, &res, &e);
	sigv4_verifier_free(v);
	tok = res.session_token ? json_stringn(res.session_token, res.session_token_len)
	                        : json_null();
	out = json_pack("{s:s, s:s, s:s, s:o, s:I}", "status", sigv4_status_name(st), "message",
	                e.msg, "access_key_id", res.access_key_id, "session_token", tok,
	                "signed_at", (json_int_t)res.signed_at);
	return out ? emit(out) : 2;
}

int main(int argc, char **argv)
{
	sigv4_header hs[TOOL_MAX_HEADERS];
	sigv4_request req;
	json_error_t jerr;
	json_t *in, *hdrs;
	const char *mode;
	char *body = NULL;
	size_t nh = 0, i;
	time_t t;
	int rc = 2;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: sigv4_sign_tool < request.json\n");
		return 2;
	}
	in = json_loadf(stdin, 0, &jerr);
	if (in == NULL || !json_is_object(in)) {
		fprintf(stderr, "bad JSON on stdin: %s\n", jerr.text);
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.method = str_field(in, "method", "POST");
	req.path = str_field(in, "path", "/");
	req.path_len = strlen(req.path);
	req.query = str_field(in, "query", "");
	req.query_len = strlen(req.query);
	hdrs = json_object_get(in, "headers");
	if (!json_is_array(hdrs) || json_array_size(hdrs) > TOOL_MAX_HEADERS) {
		fprintf(stderr, "headers must be an array of at most %d [name, value] pairs\n",
		        TOOL_MAX_HEADERS);
		goto out;
	}
	for (i = 0; i < json_array_size(hdrs); i++) {
		json_t *pair = json_array_get(hdrs, i), *nm = json_array_get(pair, 0),
		       *val = json_array_get(pair, 1);
		if (!json_is_string(nm) || !json_is_string(val)) {
			fprintf(stderr, "header %zu is not a [name, value] pair\n", i);
			goto out;
		}
		hs[nh++] = (sigv4_header){json_string_value(nm), json_string_length(nm),
		                          json_string_value(val), json_string_length(val)};
	}
	req.headers = hs;
	req.n_headers = nh;
	if (get_body(in, &body, &req.body_len)) {
		fprintf(stderr, "bad body_hex\n");
		goto out;
	}
	req.body = req.body_len ? body : NULL;
	if (get_time(in, &t)) {
		fprintf(stderr, "need \"time\" (epoch seconds) or \"amz_date\"\n");
		goto out;
	}
	mode = str_field(in, "mode", "sign");
	if (strcmp(mode, "sign") == 0)
		rc = do_sign(in, &req, t);
	else if (strcmp(mode, "verify") == 0)
		rc = do_verify(in, &req, t);
	else
		fprintf(stderr, "mode must be sign or verify\n");
out:
	free(body);
	json_decref(in);
	return rc;
}
