/*
 * fuzz_sigv4_auth.c - libFuzzer target for the SigV4 Authorization parser and verifier.
 *
 * The whole input is first parsed as an Authorization header value. It is then read as
 * lines: Authorization, X-Amz-Date, path, query, X-Amz-Security-Token, x-amz-content-sha256,
 * then "name:value" header lines up to an empty line, then the body; that request goes
 * through sigv4_verify() against a fixed verifier (any akid starting with 'A' is known).
 *
 * Finally a property check: the same path, query, extra headers and body, signed by
 * sigv4_sign() (when the signer accepts them), must verify. A disagreement between the two
 * canonicalizations traps.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signing/sigv4.h"

#define SECRET    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define NOW       1440938160 /* 20150830T123600Z */
#define MAX_EXTRA 24

static int fuzz_secret(void *ctx, const char *akid, char *buf, size_t cap)
{
	(void)ctx;
	if (akid[0] != 'A')
		return BG_ENOTFOUND;
	snprintf(buf, cap, "%s", SECRET);
	return 0;
}

/* Next line of [*p, end) into (*s, *n); advances *p past its newline. */
static void next_line(const char **p, const char *end, const char **s, size_t *n)
{
	const char *nl = *p < end ? memchr(*p, '\n', (size_t)(end - *p)) : NULL;

	*s = *p;
	*n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	*p = nl ? nl + 1 : end;
}

static bool reserved_name(const char *n, size_t len)
{
	static const char *const names[] = {"host", "authorization",        "x-amz-date",
	                                    "date", "x-amz-security-token", "x-amz-content-sha256"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (len == strlen(names[i]) && strncasecmp(n, names[i], len) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sigv4_verifier *v;
	static const char *const required[] = {"x-amz-target"};
	const char *p = (const char *)data, *end = p + size, *line[6];
	size_t len[6], i, nh = 0, nx = 0;
	sigv4_header hs[6 + MAX_EXTRA], extra[MAX_EXTRA + 1];
	sigv4_request req;
	sigv4_auth a;
	sigv4_result res;
	sigv4_sign_params sp;
	sigv4_signed sig;
	bg_err e;
	int st;

	if (v == NULL) {
		v = sigv4_verifier_new("us-east-1", "dynamodb", required, 1);
		if (v == NULL)
			abort();
	}
	if (sigv4_parse_authorization((const char *)data, size, &a, &e) == 0) {
		if (a.akid.len == 0 || a.signature.len != 64 || a.date.len != 8 || a.n_signed == 0)
			__builtin_trap();
	}

	for (i = 0; i < 6; i++)
		next_line(&p, end, &line[i], &len[i]);
	hs[nh++] = (sigv4_header){"Authorization", 13, line[0], len[0]};
	hs[nh++] = (sigv4_header){"X-Amz-Date", 10, line[1], len[1]};
	hs[nh++] = (sigv4_header){"Host", 4, "dynamodb.us-east-1.amazonaws.com", 32};
	if (len[4])
		hs[nh++] = (sigv4_header){"X-Amz-Security-Token", 20, line[4], len[4]};
	if (len[5])
		hs[nh++] = (sigv4_header){"x-amz-content-sha256", 20, line[5], len[5]};
	while (p < end && nx < MAX_EXTRA) {
		const char *s, *colon;
		size_t n;

		next_line(&p, end, &s, &n);
		if (n == 0)
			break;
		colon = memchr(s, ':', n);
		if (colon == NULL || colon == s)
			continue;
		extra[nx] =
		    (sigv4_header){s, (size_t)(colon - s), colon + 1, n - (size_t)(colon - s) - 1};
		hs[nh++] = extra[nx++];
	}
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = line[2];
	req.path_len = len[2];
	req.query = line[3];
	req.query_len = len[3];
	req.headers = hs;
	req.n_headers = nh;
	req.body = p < end ? p : NULL;
	req.body_len = (size_t)(end - p);
	st = sigv4_verify(v, &req, NOW, fuzz_secret, NULL, &res, &e);
	if (st < SIGV4_OK || st > SIGV4_INTERNAL || st == SIGV4_INTERNAL)
		__builtin_trap();
	if (st == SIGV4_OK && strncmp(res.access_key_id, "A", 1) != 0)
		__builtin_trap();

	/* Property: whatever the signer signs, the verifier accepts. */
	nh = 0;
	hs[nh++] = (sigv4_header){"Host", 4, "dynamodb.us-east-1.amazonaws.com", 32};
	hs[nh++] = (sigv4_header){"X-Amz-Target", 12, "DynamoDB_20120810.Query", 23};
	for (i = 0; i < nx; i++)
		if (!reserved_name(extra[i].name, extra[i].name_len))
			hs[nh++] = extra[i];
	req.headers = hs;
	req.n_headers = nh;
	memset(&sp, 0, sizeof(sp));
	sp.access_key_id = "AKIDFUZZ";
	sp.secret_key = SECRET;
	sp.session_token = len[4] ? "token" : NULL;
	sp.region = "us-east-1";
	sp.service = "dynamodb";
	sp.now = NOW;
	sp.normalize_path = true;
	sp.sign_body_header = len[5] != 0;
	if (sigv4_sign(&req, &sp, &sig, &e) == 0) {
		hs[nh++] = (sigv4_header){"X-Amz-Date", 10, sig.amz_date, 16};
		hs[nh++] = (sigv4_header){"Authorization", 13, sig.authorization.data,
		                          sig.authorization.len};
		if (sp.session_token)
			hs[nh++] = (sigv4_header){"X-Amz-Security-Token", 20, "token", 5};
		if (sp.sign_body_header)
			hs[nh++] = (sigv4_header){"x-amz-content-sha256", 20, sig.payload_hash, 64};
		req.headers = hs;
		req.n_headers = nh;
		st = sigv4_verify(v, &req, NOW, fuzz_secret, NULL, &res, &e);
		/* A presigned-looking query is refused on purpose; anything else must pass. */
		if (st != SIGV4_OK && !(st == SIGV4_INCOMPLETE && strstr(e.msg, "presigned"))) {
			fprintf(stderr, "signed request rejected: %s: %s\n%s\n",
			        sigv4_status_name(st), e.msg, sig.canonical_request.data);
			__builtin_trap();
		}
	}
	sigv4_signed_free(&sig);
	return 0;
}
