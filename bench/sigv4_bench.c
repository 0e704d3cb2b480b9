/*
 * sigv4_bench.c - single-thread throughput of SigV4 verification and signing.
 *
 * Verifies a DynamoDB Query as the AWS CLI v2 sends it (4 signed headers + session token,
 * ~10 headers in all, ~120-byte body) and as the JS SDK v3 sends it (10 signed headers,
 * x-amz-content-sha256), each for about 1.5 s with the derived key cached, as the gateway
 * does for every request of a live grant; then signs the upstream request the gateway
 * sends. The target (DESIGN.md) is >= 400,000 verifications/s per core.
 *
 *   build/release/bench/sigv4_bench [seconds-per-case]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signing/sigv4.h"

#define AKID   "BGAKEXAMPLE000000001"
#define SECRET "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="
#define TOKEN  "dG9rZW4tdG9rZW4tdG9rZW4tdG9rZW4tdG9rZW4tdG9rZW4tdG9rZW4tdG9rZW4"
#define BODY                                                                                       \
	"{\"TableName\":\"orders\",\"KeyConditionExpression\":\"pk = :pk\","                       \
	"\"ExpressionAttributeValues\":{\":pk\":{\"S\":\"customer#42\"}},\"Limit\":10}"

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int secret_fn(void *ctx, const char *akid, char *buf, size_t cap)
{
	(void)ctx;
	if (strcmp(akid, AKID) != 0)
		return BG_ENOTFOUND;
	snprintf(buf, cap, "%s", SECRET);
	return 0;
}

typedef struct bench_req {
	sigv4_header h[16];
	size_t nh;
	char auth[1024];
	char date[17];
	char sha[65];
	sigv4_request req;
} bench_req;

static void add(bench_req *b, const char *name, const char *value)
{
	b->h[b->nh++] = (sigv4_header){name, strlen(name), value, strlen(value)};
}

/* Signs the headers added so far (plus date/token/sha as the params say) and appends what
 * the client would put on the wire. */
/* The fixed credentials and scope every request here is signed with. */
static sigv4_sign_params sign_params(time_t t)
{
	sigv4_sign_params p;

	memset(&p, 0, sizeof(p));
	p.access_key_id = AKID;
	p.secret_key = SECRET;
	p.session_token = TOKEN;
	p.region = "us-east-1";
	p.service = "dynamodb";
	p.now = t;
	p.normalize_path = true;
	return p;
}

static int finish(bench_req *b, time_t t, bool sha, const char *const *extra, size_t nextra)
{
	sigv4_sign_params p;
	sigv4_signed s;
	bg_err e;
	size_t i;

	b->req.method = "POST";
	b->req.path = "/";
	b->req.path_len = 1;
	b->req.query = "";
	b->req.headers = b->h;
	b->req.n_headers = b->nh;
	b->req.body = BODY;
	b->req.body_len = strlen(BODY);
	p = sign_params(t);
	p.sign_body_header = sha;
	if (sigv4_sign(&b->req, &p, &s, &e)) {
		fprintf(stderr, "sign: %s\n", e.msg);
		sigv4_signed_free(&s);
		return 1;
	}
	snprintf(b->auth, sizeof(b->auth), "%s", s.authorization.data);
	memcpy(b->date, s.amz_date, sizeof(b->date));
	memcpy(b->sha, s.payload_hash, sizeof(b->sha));
	sigv4_signed_free(&s);
	if (sha)
		add(b, "x-amz-content-sha256", b->sha);
	add(b, "X-Amz-Date", b->date);
	add(b, "X-Amz-Security-Token", TOKEN);
	for (i = 0; i + 1 < nextra; i += 2)
		add(b, extra[i], extra[i + 1]);
	add(b, "Authorization", b->auth);
	b->req.n_headers = b->nh;
	return 0;
}

static int run_verify(sigv4_verifier *v, bench_req *b, time_t t, double secs, const char *what)
{
	sigv4_result res;
	bg_err e;
	double t0, el;
	long n = 0, i;

	if (sigv4_verify(v, &b->req, t, secret_fn, NULL, &res, &e) != SIGV4_OK) {
		fprintf(stderr, "verify (%s): %s\n", what, e.msg);
		return 1;
	}
	t0 = now_s();
	do {
		for (i = 0; i < 1000; i++)
			if (sigv4_verify(v, &b->req, t, secret_fn, NULL, &res, &e) != SIGV4_OK)
				return 1;
		n += 1000;
		el = now_s() - t0;
	} while (el < secs);
	printf("sigv4_verify: %.0f/s (%s, %zu headers, %zu-byte body, cached key, %.3f us each)\n",
	       (double)n / el, what, b->req.n_headers, b->req.body_len, el / (double)n * 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const required[] = {"host", "x-amz-date", "x-amz-target"};
	static const char *const cli_extra[] = {
	    "User-Agent",
	    "aws-cli/2.9.19 Python/3.11.2 Linux/6.1.0 source/x86_64.debian.12 prompt/off "
	    "command/dynamodb.query",
	    "Content-Length",
	    "118",
	    "Accept-Encoding",
	    "identity",
	    "Accept",
	    "*/*",
	};
	static const char *const js_extra[] = {
	    "user-agent",
	    "aws-sdk-js/3.693.0 ua/2.1 os/linux#6.1.0 lang/js md/nodejs#20.18.0",
	    "connection",
	    "keep-alive",
	};
	double secs = argc > 1 ? strtod(argv[1], NULL) : 1.5;
	time_t t = time(NULL);
	sigv4_verifier *v = sigv4_verifier_new("us-east-1", "dynamodb", required, 3);
	bench_req cli, js, up;
	sigv4_sign_params p;
	sigv4_signed s;
	bg_err e;
	double t0, el;
	long n = 0, i;
	int rc = 1;

	if (v == NULL || secs <= 0)
		return 1;
	memset(&cli, 0, sizeof(cli));
	add(&cli, "Host", "127.0.0.1:8700");
	add(&cli, "Content-Type", "application/x-amz-json-1.0");
	add(&cli, "X-Amz-Target", "DynamoDB_20120810.Query");
	if (finish(&cli, t, false, cli_extra, sizeof(cli_extra) / sizeof(cli_extra[0])))
		goto out;

	memset(&js, 0, sizeof(js));
	add(&js, "content-type", "application/x-amz-json-1.0");
	add(&js, "x-amz-target", "DynamoDB_20120810.Query");
	add(&js, "amz-sdk-invocation-id", "7d1a4c2e-3b7f-4a8e-9c1d-2f6b8e0a9d31");
	add(&js, "amz-sdk-request", "attempt=1; max=3");
	add(&js, "x-amz-user-agent", "aws-sdk-js/3.693.0");
	add(&js, "host", "127.0.0.1:8700");
	add(&js, "content-length", "118");
	if (finish(&js, t, true, js_extra, sizeof(js_extra) / sizeof(js_extra[0])))
		goto out;

	if (run_verify(v, &cli, t, secs, "aws-cli request") ||
	    run_verify(v, &js, t, secs, "js-sdk request"))
		goto out;

	/* The gateway's upstream re-sign: content-type, host, x-amz-target (+ date, token). */
	memset(&up, 0, sizeof(up));
	add(&up, "content-type", "application/x-amz-json-1.0");
	add(&up, "host", "dynamodb.us-east-1.amazonaws.com");
	add(&up, "x-amz-target", "DynamoDB_20120810.Query");
	up.req = cli.req;
	up.req.headers = up.h;
	up.req.n_headers = up.nh;
	p = sign_params(t);
	t0 = now_s();
	do {
		for (i = 0; i < 1000; i++) {
			if (sigv4_sign(&up.req, &p, &s, &e)) {
				fprintf(stderr, "sign: %s\n", e.msg);
				sigv4_signed_free(&s);
				goto out;
			}
			sigv4_signed_free(&s);
		}
		n += 1000;
		el = now_s() - t0;
	} while (el < secs);
	printf("sigv4_sign: %.0f/s (upstream request, key derived each time, %.3f us each)\n",
	       (double)n / el, el / (double)n * 1e6);
	rc = 0;
out:
	sigv4_verifier_free(v);
	return rc;
}
