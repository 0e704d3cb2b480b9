/*
 * test_sigv4.c - known-answer and rejection tests for the SigV4 signer and verifier.
 *
 * Every case of the published SigV4 suite (../shared/testdata/sigv4, or $BG_TESTDATA) is
 * signed and must match the expected canonical request, string to sign and signature byte
 * for byte; its signed request must verify, and must stop verifying once any signed byte
 * changes. Around that: skew, scope, duplicated and malformed Authorization headers, unknown
 * keys, required headers, the derived-key cache, a DynamoDB request as the AWS CLI and the
 * JS SDK send it (with a known answer computed by botocore), and concurrent verification.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "signing/sigv4.h"

#define MAX_CASES 128
#define MAX_HDRS  64

/* ---- helpers: files, a raw HTTP request parser, a secret table ---- */

static const char *testdata_dir(void)
{
	const char *d = getenv("BG_TESTDATA");

	return d && *d ? d : "../shared/testdata/sigv4";
}

/* Reads dir/name/file into a NUL-terminated heap buffer; NULL if absent. */
static char *read_file(const char *dir, const char *name, const char *file, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf = NULL;
	long n;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, name, file);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			if (len)
				*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

typedef struct treq {
	char method[16];
	char *path, *query; /* heap */
	size_t path_len, query_len;
	char *names[MAX_HDRS], *values[MAX_HDRS];
	size_t value_lens[MAX_HDRS];
	size_t nh;
	char *body;
	size_t body_len;
	sigv4_header hdr[MAX_HDRS];
	sigv4_request req;
} treq;

static void treq_free(treq *r)
{
	size_t i;

	free(r->path);
	free(r->query);
	for (i = 0; i < r->nh; i++) {
		free(r->names[i]);
		free(r->values[i]);
	}
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Rebuilds the sigv4_request view after names/values changed. */
static void treq_view(treq *r)
{
	size_t i;

	for (i = 0; i < r->nh; i++)
		r->hdr[i] = (sigv4_header){r->names[i], strlen(r->names[i]), r->values[i],
		                           r->value_lens[i]};
	r->req.method = r->method;
	r->req.path = r->path;
	r->req.path_len = r->path_len;
	r->req.query = r->query;
	r->req.query_len = r->query_len;
	r->req.headers = r->hdr;
	r->req.n_headers = r->nh;
	r->req.body = r->body_len ? r->body : NULL;
	r->req.body_len = r->body_len;
}

static char *dupn(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void treq_add(treq *r, const char *name, const char *value)
{
	assert_true(r->nh < MAX_HDRS);
	r->names[r->nh] = dupn(name, strlen(name));
	r->values[r->nh] = dupn(value, strlen(value));
	r->value_lens[r->nh] = strlen(value);
	r->nh++;
	treq_view(r);
}

static void treq_del(treq *r, size_t i)
{
	free(r->names[i]);
	free(r->values[i]);
	memmove(&r->names[i], &r->names[i + 1], (r->nh - i - 1) * sizeof(char *));
	memmove(&r->values[i], &r->values[i + 1], (r->nh - i - 1) * sizeof(char *));
	memmove(&r->value_lens[i], &r->value_lens[i + 1], (r->nh - i - 1) * sizeof(size_t));
	r->nh--;
	treq_view(r);
}

static int treq_find(const treq *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nh; i++)
		if (strcasecmp(r->names[i], name) == 0)
			return (int)i;
	return -1;
}

/* Parses a raw HTTP/1.1 request: request line (the target may contain spaces), headers
 * with obs-fold continuation lines (joined with a space), a blank line, the body. */
static void parse_http(const char *text, size_t len, treq *r)
{
	const char *p = text, *end = text + len, *eol, *sp1, *sp2, *q;
	size_t n;

	memset(r, 0, sizeof(*r));
	eol = memchr(p, '\n', (size_t)(end - p));
	assert_non_null(eol);
	n = (size_t)(eol - p);
	if (n && p[n - 1] == '\r')
		n--;
	sp1 = memchr(p, ' ', n);
	assert_non_null(sp1);
	for (sp2 = p + n - 1; sp2 > sp1 && *sp2 != ' '; sp2--)
		;
	assert_true(sp2 > sp1);
	assert_true((size_t)(sp1 - p) < sizeof(r->method));
	memcpy(r->method, p, (size_t)(sp1 - p));
	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	if (q) {
		r->path = dupn(sp1 + 1, (size_t)(q - sp1 - 1));
		r->path_len = (size_t)(q - sp1 - 1);
		r->query = dupn(q + 1, (size_t)(sp2 - q - 1));
		r->query_len = (size_t)(sp2 - q - 1);
	} else {
		r->path = dupn(sp1 + 1, (size_t)(sp2 - sp1 - 1));
		r->path_len = (size_t)(sp2 - sp1 - 1);
		r->query = dupn("", 0);
	}
	p = eol + 1;
	while (p < end) {
		const char *colon;

		eol = memchr(p, '\n', (size_t)(end - p));
		n = eol ? (size_t)(eol - p) : (size_t)(end - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n == 0) {
			p = eol ? eol + 1 : end;
			break;
		}
		if (p[0] == ' ' || p[0] == '\t') {
			size_t old;
			char *nv;

			assert_true(r->nh > 0);
			old = r->value_lens[r->nh - 1];
			nv = realloc(r->values[r->nh - 1], old + 1 + n + 1);
			assert_non_null(nv);
			nv[old] = ' ';
			memcpy(nv + old + 1, p, n);
			nv[old + 1 + n] = '\0';
			r->values[r->nh - 1] = nv;
			r->value_lens[r->nh - 1] = old + 1 + n;
		} else {
			colon = memchr(p, ':', n);
			assert_non_null(colon);
			assert_true(r->nh < MAX_HDRS);
			r->names[r->nh] = dupn(p, (size_t)(colon - p));
			r->values[r->nh] = dupn(colon + 1, n - (size_t)(colon - p) - 1);
			r->value_lens[r->nh] = n - (size_t)(colon - p) - 1;
			r->nh++;
		}
		p = eol ? eol + 1 : end;
	}
	r->body_len = (size_t)(end - p);
	r->body = dupn(p, r->body_len);
	treq_view(r);
}

typedef struct keytab {
	const char *akid[4];
	const char *secret[4];
	int n;
	int calls;
	pthread_mutex_t lock;
} keytab;

static int secret_fn(void *ctx, const char *akid, char *buf, size_t cap)
{
	keytab *k = ctx;
	int i, rc = BG_ENOTFOUND;

	pthread_mutex_lock(&k->lock);
	k->calls++;
	for (i = 0; i < k->n; i++)
		if (strcmp(k->akid[i], akid) == 0) {
			snprintf(buf, cap, "%s", k->secret[i]);
			rc = 0;
		}
	pthread_mutex_unlock(&k->lock);
	return rc;
}

static void keytab_init(keytab *k, const char *akid, const char *secret)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->akid[0] = akid;
	k->secret[0] = secret;
	k->n = 1;
}

/* ---- one test-suite case ---- */

typedef struct tcase {
	char name[256];
	char akid[64], secret[128], token[1024];
	bool has_token, normalize, sign_body, omit_token;
	char region[64], service[64];
	time_t now;
} tcase;

static void load_context(const char *dir, tcase *tc)
{
	char *text = read_file(dir, tc->name, "context.json", NULL);
	json_error_t jerr;
	json_t *root, *cred, *x;
	const char *ts;

	assert_non_null(text);
	root = json_loads(text, 0, &jerr);
	free(text);
	assert_non_null(root);
	cred = json_object_get(root, "credentials");
	assert_non_null(cred);
	snprintf(tc->akid, sizeof(tc->akid), "%s",
	         json_string_value(json_object_get(cred, "access_key_id")));
	snprintf(tc->secret, sizeof(tc->secret), "%s",
	         json_string_value(json_object_get(cred, "secret_access_key")));
	x = json_object_get(cred, "token");
	tc->has_token = json_is_string(x);
	if (tc->has_token)
		snprintf(tc->token, sizeof(tc->token), "%s", json_string_value(x));
	snprintf(tc->region, sizeof(tc->region), "%s",
	         json_string_value(json_object_get(root, "region")));
	snprintf(tc->service, sizeof(tc->service), "%s",
	         json_string_value(json_object_get(root, "service")));
	tc->normalize = json_is_true(json_object_get(root, "normalize"));
	tc->sign_body = json_is_true(json_object_get(root, "sign_body"));
	tc->omit_token = json_is_true(json_object_get(root, "omit_session_token"));
	ts = json_string_value(json_object_get(root, "timestamp"));
	assert_non_null(ts);
	{
		/* "2015-08-30T12:36:00Z" -> "20150830T123600Z" */
		char basic[17];
		assert_int_equal(strlen(ts), 20);
		memcpy(basic, ts, 4);
		memcpy(basic + 4, ts + 5, 2);
		memcpy(basic + 6, ts + 8, 2);
		basic[8] = 'T';
		memcpy(basic + 9, ts + 11, 2);
		memcpy(basic + 11, ts + 14, 2);
		memcpy(basic + 13, ts + 17, 2);
		basic[15] = 'Z';
		assert_int_equal(sigv4_parse_amz_date(basic, 16, &tc->now), 0);
	}
	json_decref(root);
}

static sigv4_sign_params tc_params(const tcase *tc)
{
	sigv4_sign_params p;

	memset(&p, 0, sizeof(p));
	p.access_key_id = tc->akid;
	p.secret_key = tc->secret;
	p.session_token = tc->has_token ? tc->token : NULL;
	p.region = tc->region;
	p.service = tc->service;
	p.now = tc->now;
	p.normalize_path = tc->normalize;
	p.omit_session_token = tc->omit_token;
	p.sign_body_header = tc->sign_body;
	return p;
}

static void strip_nl(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

static int list_cases(const char *dir, char names[][256])
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < MAX_CASES) {
		char path[1024];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/request.txt", dir, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		snprintf(names[n++], 256, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

static sigv4_verifier *tc_verifier(const tcase *tc, const char *const *req, size_t nreq)
{
	sigv4_verifier *v = sigv4_verifier_new(tc->region, tc->service, req, nreq);

	assert_non_null(v);
	sigv4_verifier_set_normalize(v, tc->normalize);
	return v;
}

static int verify(sigv4_verifier *v, const treq *r, time_t now, keytab *k, sigv4_result *res)
{
	sigv4_result tmp;
	bg_err e;

	return sigv4_verify(v, &r->req, now, secret_fn, k, res ? res : &tmp, &e);
}

/* Signer's canonical request for r (used to know whether a flipped path byte matters). */
static char *canonical_of(const treq *r, const tcase *tc)
{
	sigv4_sign_params p = tc_params(tc);
	sigv4_signed s;
	bg_err e;
	char *out;

	assert_int_equal(sigv4_sign(&r->req, &p, &s, &e), 0);
	out = dupn(s.canonical_request.data, s.canonical_request.len);
	sigv4_signed_free(&s);
	return out;
}

static void check_sign(const char *dir, const tcase *tc)
{
	char *text, *want;
	size_t len;
	treq r;
	sigv4_sign_params p = tc_params(tc);
	sigv4_signed s;
	bg_err e;

	text = read_file(dir, tc->name, "request.txt", &len);
	assert_non_null(text);
	parse_http(text, len, &r);
	free(text);
	assert_int_equal(sigv4_sign(&r.req, &p, &s, &e), 0);

	want = read_file(dir, tc->name, "header-canonical-request.txt", NULL);
	assert_non_null(want);
	strip_nl(want);
	assert_string_equal(s.canonical_request.data, want);
	free(want);
	want = read_file(dir, tc->name, "header-string-to-sign.txt", NULL);
	assert_non_null(want);
	strip_nl(want);
	assert_string_equal(s.string_to_sign.data, want);
	free(want);
	want = read_file(dir, tc->name, "header-signature.txt", NULL);
	assert_non_null(want);
	strip_nl(want);
	assert_string_equal(s.signature, want);
	free(want);
	assert_string_equal(s.amz_date, "20150830T123600Z");
	sigv4_signed_free(&s);
	treq_free(&r);
}

/* Flips bit 0 of each byte of a buffer in turn; every flip must be rejected. */
static int flip_all(sigv4_verifier *v, treq *r, char *buf, size_t n, time_t now, keytab *k,
                    const char *what, const char *name)
{
	size_t i;
	int rejected = 0;

	for (i = 0; i < n; i++) {
		int st;
		buf[i] ^= 1;
		st = verify(v, r, now, k, NULL);
		buf[i] ^= 1;
		if (st == SIGV4_OK)
			fail_msg("%s: flipping byte %zu of %s was accepted", name, i, what);
		rejected++;
	}
	return rejected;
}

/* Whether SignedHeaders lists name (any case). */
static bool is_signed_name(const sigv4_auth *a, const char *name)
{
	const uint8_t *sp = a->signed_headers.p;
	size_t sn = a->signed_headers.len, start = 0, j;

	for (j = 0; j <= sn; j++)
		if (j == sn || sp[j] == ';') {
			if (j - start == strlen(name) &&
			    strncasecmp((const char *)sp + start, name, j - start) == 0)
				return true;
			start = j + 1;
		}
	return false;
}

/* Path and query flips that changed the canonical request, over all cases ("//" has
 * none: every flip of it normalizes to "/" again). */
static size_t flips_that_mattered[2];

static void check_verify(const char *dir, const tcase *tc)
{
	static const char *const target_only[] = {"x-amz-target"};
	char *text, *reqtext, *orig_creq, *creq;
	size_t len, i, j, rejected;
	treq r, base;
	sigv4_verifier *v = tc_verifier(tc, NULL, 0), *v2;
	sigv4_auth a;
	sigv4_result res;
	keytab k;
	bg_err e;
	int ai, st;

	keytab_init(&k, tc->akid, tc->secret);
	text = read_file(dir, tc->name, "header-signed-request.txt", &len);
	assert_non_null(text);
	parse_http(text, len, &r);
	free(text);
	reqtext = read_file(dir, tc->name, "request.txt", &len);
	assert_non_null(reqtext);
	parse_http(reqtext, len, &base);
	free(reqtext);

	/* Accepted at the context's time, with the cache cold and warm. */
	st = verify(v, &r, tc->now, &k, &res);
	if (st != SIGV4_OK)
		fail_msg("%s: verify: %s", tc->name, sigv4_status_name(st));
	assert_string_equal(res.access_key_id, tc->akid);
	assert_int_equal(res.signed_at, tc->now);
	if (treq_find(&r, "x-amz-security-token") >= 0) {
		assert_non_null(res.session_token);
		assert_int_equal(res.session_token_len, strlen(tc->token));
		assert_memory_equal(res.session_token, tc->token, res.session_token_len);
	} else {
		assert_null(res.session_token);
	}
	assert_int_equal(k.calls, 1);
	assert_int_equal(verify(v, &r, tc->now, &k, NULL), SIGV4_OK);
	assert_int_equal(k.calls, 1); /* the derived key came from the cache */

	ai = treq_find(&r, "authorization");
	assert_true(ai >= 0);
	assert_int_equal(sigv4_parse_authorization(r.values[ai], r.value_lens[ai], &a, &e), 0);

	/* Every byte of every signed header value. Unsigned headers may change freely. */
	for (i = 0; i < r.nh; i++) {
		bool is_signed = is_signed_name(&a, r.names[i]);

		if ((int)i == ai)
			continue;
		if (is_signed) {
			rejected = flip_all(v, &r, r.values[i], r.value_lens[i], tc->now, &k,
			                    r.names[i], tc->name);
			assert_int_equal(rejected, r.value_lens[i]);
		} else if (r.value_lens[i]) {
			r.values[i][0] ^= 1;
			assert_int_equal(verify(v, &r, tc->now, &k, NULL), SIGV4_OK);
			r.values[i][0] ^= 1;
		}
	}
	/* The method, and the body. */
	flip_all(v, &r, r.method, strlen(r.method), tc->now, &k, "the method", tc->name);
	if (r.body_len)
		flip_all(v, &r, r.body, r.body_len, tc->now, &k, "the body", tc->name);
	else {
		r.body = realloc(r.body, 2);
		r.body[0] = 'x';
		r.body_len = 1;
		treq_view(&r);
		assert_int_not_equal(verify(v, &r, tc->now, &k, NULL), SIGV4_OK);
		r.body_len = 0;
		treq_view(&r);
	}
	/* Path and query bytes: rejected exactly when the canonical request changes (with
	 * normalization, "/./" and "///" are the same path). */
	orig_creq = canonical_of(&base, tc);
	for (j = 0; j < 2; j++) {
		char *buf = j == 0 ? r.path : r.query, *bbuf = j == 0 ? base.path : base.query;
		size_t n = j == 0 ? r.path_len : r.query_len;

		rejected = 0;
		for (i = 0; i < n; i++) {
			bool differs;
			buf[i] ^= 1;
			bbuf[i] ^= 1;
			creq = canonical_of(&base, tc);
			differs = strcmp(creq, orig_creq) != 0;
			free(creq);
			st = verify(v, &r, tc->now, &k, NULL);
			if (differs != (st != SIGV4_OK))
				fail_msg("%s: flipping %s byte %zu: canonical %s, verify %s",
				         tc->name, j ? "query" : "path", i,
				         differs ? "differs" : "same", sigv4_status_name(st));
			rejected += differs;
			buf[i] ^= 1;
			bbuf[i] ^= 1;
		}
		flips_that_mattered[j] += rejected;
	}
	free(orig_creq);
	assert_int_equal(verify(v, &r, tc->now, &k, NULL), SIGV4_OK);

	/* Skew: 299 and 300 s either way are fine, 301 is not. */
	assert_int_equal(verify(v, &r, tc->now + 299, &k, NULL), SIGV4_OK);
	assert_int_equal(verify(v, &r, tc->now - 299, &k, NULL), SIGV4_OK);
	assert_int_equal(verify(v, &r, tc->now + 300, &k, NULL), SIGV4_OK);
	assert_int_equal(verify(v, &r, tc->now + 301, &k, NULL), SIGV4_SKEW);
	assert_int_equal(verify(v, &r, tc->now - 301, &k, NULL), SIGV4_SKEW);

	/* Wrong region, wrong service. */
	v2 = sigv4_verifier_new("eu-west-1", tc->service, NULL, 0);
	assert_int_equal(verify(v2, &r, tc->now, &k, NULL), SIGV4_BAD_SCOPE);
	sigv4_verifier_free(v2);
	v2 = sigv4_verifier_new(tc->region, "dynamodb", NULL, 0);
	assert_int_equal(verify(v2, &r, tc->now, &k, NULL), SIGV4_BAD_SCOPE);
	sigv4_verifier_free(v2);

	/* A required header that the client did not sign. */
	v2 = tc_verifier(tc, target_only, 1);
	treq_add(&r, "X-Amz-Target", "DynamoDB_20120810.Query");
	assert_int_equal(verify(v2, &r, tc->now, &k, NULL), SIGV4_INCOMPLETE);
	assert_int_equal(verify(v, &r, tc->now, &k, NULL), SIGV4_OK); /* unsigned extra: fine */
	treq_del(&r, r.nh - 1);
	sigv4_verifier_free(v2);

	/* Unknown key: a fresh verifier, so nothing is cached. */
	{
		keytab none;
		keytab_init(&none, "SOMEONEELSE", "x");
		v2 = tc_verifier(tc, NULL, 0);
		assert_int_equal(verify(v2, &r, tc->now, &none, NULL), SIGV4_UNKNOWN_KEY);
		sigv4_verifier_free(v2);
		pthread_mutex_destroy(&none.lock);
	}

	/* The same akid with another secret (fresh verifier): mismatch. */
	{
		keytab other;
		keytab_init(&other, tc->akid, "not-the-secret");
		v2 = tc_verifier(tc, NULL, 0);
		assert_int_equal(verify(v2, &r, tc->now, &other, NULL), SIGV4_MISMATCH);
		sigv4_verifier_free(v2);
		pthread_mutex_destroy(&other.lock);
	}

	/* A duplicated Authorization header. */
	treq_add(&r, "Authorization", r.values[ai]);
	assert_int_equal(verify(v, &r, tc->now, &k, NULL), SIGV4_INCOMPLETE);
	treq_del(&r, r.nh - 1);

	/* Each signed header removed in turn. */
	for (i = 0; i < r.nh; i++) {
		char *name, *value;
		size_t vl;

		bool is_signed = is_signed_name(&a, r.names[i]);

		if ((int)i == ai)
			continue;
		name = dupn(r.names[i], strlen(r.names[i]));
		value = dupn(r.values[i], r.value_lens[i]);
		vl = r.value_lens[i];
		treq_del(&r, i);
		st = verify(v, &r, tc->now, &k, NULL);
		if (!is_signed)
			assert_int_equal(st, SIGV4_OK);
		else if (treq_find(&r, name) >= 0)
			assert_int_equal(st, SIGV4_MISMATCH); /* one of several duplicates */
		else
			assert_int_equal(st, SIGV4_INCOMPLETE);
		/* put it back in the same place */
		memmove(&r.names[i + 1], &r.names[i], (r.nh - i) * sizeof(char *));
		memmove(&r.values[i + 1], &r.values[i], (r.nh - i) * sizeof(char *));
		memmove(&r.value_lens[i + 1], &r.value_lens[i], (r.nh - i) * sizeof(size_t));
		r.names[i] = name;
		r.values[i] = value;
		r.value_lens[i] = vl;
		r.nh++;
		treq_view(&r);
	}
	assert_int_equal(verify(v, &r, tc->now, &k, NULL), SIGV4_OK);

	/* No Authorization at all. */
	{
		char *saved = r.names[ai];
		r.names[ai] = dupn("X-Not-Authorization", 19);
		treq_view(&r);
		assert_int_equal(verify(v, &r, tc->now, &k, NULL), SIGV4_MISSING);
		free(r.names[ai]);
		r.names[ai] = saved;
		treq_view(&r);
	}

	/* The presigned (query-string) form of the same request is refused as unsupported. */
	text = read_file(dir, tc->name, "query-signed-request.txt", &len);
	if (text) {
		treq q;
		sigv4_result qres;

		parse_http(text, len, &q);
		free(text);
		assert_int_equal(sigv4_verify(v, &q.req, tc->now, secret_fn, &k, &qres, &e),
		                 SIGV4_INCOMPLETE);
		assert_non_null(strstr(e.msg, "not supported"));
		treq_free(&q);
	}

	sigv4_verifier_free(v);
	pthread_mutex_destroy(&k.lock);
	treq_free(&r);
	treq_free(&base);
}

static void test_suite_vectors(void **state)
{
	static char names[MAX_CASES][256];
	const char *dir = testdata_dir();
	int n = list_cases(dir, names), i;

	(void)state;
	if (n < 38)
		fail_msg("found %d SigV4 test cases in %s, expected at least 38 (set BG_TESTDATA)",
		         n, dir);
	for (i = 0; i < n; i++) {
		tcase tc;

		memset(&tc, 0, sizeof(tc));
		snprintf(tc.name, sizeof(tc.name), "%.*s", (int)sizeof(tc.name) - 1, names[i]);
		load_context(dir, &tc);
		check_sign(dir, &tc);
		check_verify(dir, &tc);
	}
	assert_true(flips_that_mattered[0] > 0);
	assert_true(flips_that_mattered[1] > 0);
	print_message("checked %d SigV4 test-suite cases\n", n);
}

/* ---- Authorization parser ---- */

#define GOOD_AUTH                                                                                  \
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "        \
	"SignedHeaders=host;x-amz-date, "                                                          \
	"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

static void test_parse_authorization(void **state)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "AWS4-HMAC-SHA256",
	    "AWS4-HMAC-SHA256 ",
	    "AWS4-HMAC-SHA1 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    /* missing parts */
	    "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date",
	    /* credential shape */
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request/x, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2015083/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830//service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential=AKID\"EXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    /* signed headers */
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=x-amz-date;host, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=Host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date;, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    /* signature */
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf3",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf3g",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31a",
	    /* structure */
	    GOOD_AUTH ",",
	    GOOD_AUTH ", ",
	    GOOD_AUTH ", Foo=bar",
	    GOOD_AUTH
	    ", Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential = AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request "
	    "SignedHeaders=host;x-amz-date "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256 Credential, SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	};
	static const char *const good[] = {
	    GOOD_AUTH,
	    "  " GOOD_AUTH "  ",
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,"
	    "SignedHeaders=host;x-amz-date,"
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	    "AWS4-HMAC-SHA256   "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
	    " ,  SignedHeaders=host;x-amz-date,\tCredential=AKIDEXAMPLE/20150830/us-east-1/service/"
	    "aws4_request",
	};
	char big[BG_MAX_AUTH_HEADER + 2];
	sigv4_auth a;
	bg_err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bg_err_clear(&e);
		if (sigv4_parse_authorization(bad[i], strlen(bad[i]), &a, &e) == 0)
			fail_msg("accepted malformed Authorization #%zu: %s", i, bad[i]);
		assert_true(e.msg[0] != '\0');
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (sigv4_parse_authorization(good[i], strlen(good[i]), &a, &e) != 0)
			fail_msg("rejected Authorization #%zu (%s): %s", i, e.msg, good[i]);
		assert_true(bg_cur_eq(&a.akid, "AKIDEXAMPLE", 11));
		assert_true(bg_cur_eq(&a.date, "20150830", 8));
		assert_true(bg_cur_eq(&a.region, "us-east-1", 9));
		assert_true(bg_cur_eq(&a.service, "service", 7));
		assert_true(bg_cur_eq(&a.terminator, "aws4_request", 12));
		assert_true(bg_cur_eq(&a.signed_headers, "host;x-amz-date", 15));
		assert_int_equal(a.n_signed, 2);
		assert_int_equal(a.signature.len, 64);
	}
	/* The error for missing parameters names them all. */
	assert_int_not_equal(sigv4_parse_authorization("AWS4-HMAC-SHA256 Foo=1", 22, &a, &e), 0);
	assert_int_not_equal(sigv4_parse_authorization(bad[8], strlen(bad[8]), &a, &e), 0);
	assert_non_null(strstr(e.msg, "'Signature'"));
	/* Too long, NUL inside, NULL. */
	memset(big, 'A', sizeof(big));
	assert_int_equal(sigv4_parse_authorization(big, sizeof(big), &a, &e), BG_ELIMIT);
	memcpy(big, GOOD_AUTH, sizeof(GOOD_AUTH));
	big[30] = '\0';
	assert_int_not_equal(sigv4_parse_authorization(big, sizeof(GOOD_AUTH) - 1, &a, &e), 0);
	assert_int_not_equal(sigv4_parse_authorization(NULL, 5, &a, &e), 0);
	/* Too many signed headers. */
	{
		char sh[4096];
		size_t n = 0;
		char *v;
		int k;

		for (k = 0; k < BG_MAX_SIGNED_HEADERS + 1; k++)
			n += (size_t)snprintf(sh + n, sizeof(sh) - n, "%sh%03d", k ? ";" : "", k);
		v = malloc(8192);
		n = (size_t)snprintf(v, 8192,
		                     "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, "
		                     "SignedHeaders=%s, Signature=%064d",
		                     sh, 0);
		assert_int_equal(sigv4_parse_authorization(v, n, &a, &e), BG_ELIMIT);
		free(v);
	}
}

/* ---- scope and date edge cases on a hand-built request ---- */

static void build_vanilla(treq *r, const char *auth, const char *date)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->method, sizeof(r->method), "GET");
	r->path = dupn("/", 1);
	r->path_len = 1;
	r->query = dupn("", 0);
	r->body = dupn("", 0);
	treq_add(r, "Host", "example.amazonaws.com");
	if (date)
		treq_add(r, "X-Amz-Date", date);
	treq_add(r, "Authorization", auth);
}

static void test_scope_and_dates(void **state)
{
	sigv4_verifier *v = sigv4_verifier_new("us-east-1", "service", NULL, 0);
	keytab k;
	treq r;
	time_t now;
	sigv4_result res;
	bg_err e;
	char d[17];

	(void)state;
	keytab_init(&k, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
	assert_int_equal(sigv4_parse_amz_date("20150830T123600Z", 16, &now), 0);
	assert_int_equal(now, 1440938160);
	assert_int_equal(sigv4_format_amz_date(now, d), 0);
	assert_string_equal(d, "20150830T123600Z");
	assert_int_not_equal(sigv4_parse_amz_date("20150230T123600Z", 16, &now), 0);
	assert_int_not_equal(sigv4_parse_amz_date("20150830T243600Z", 16, &now), 0);
	assert_int_not_equal(sigv4_parse_amz_date("20150830 123600Z", 16, &now), 0);
	assert_int_not_equal(sigv4_parse_amz_date("20150830T123600", 15, &now), 0);
	assert_int_equal(sigv4_parse_amz_date("20160229T000000Z", 16, &now), 0);
	assert_int_equal(sigv4_format_amz_date(now, d), 0);
	assert_string_equal(d, "20160229T000000Z");
	assert_int_equal(sigv4_parse_amz_date("20150830T123600Z", 16, &now), 0);

	build_vanilla(&r, GOOD_AUTH, "20150830T123600Z");
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_OK);
	assert_int_equal(e.code, BG_OK);
	treq_free(&r);

	/* The scope's date must be the request's day. */
	build_vanilla(&r,
	              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/us-east-1/service/"
	              "aws4_request, SignedHeaders=host;x-amz-date, "
	              "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	              "20150830T123600Z");
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_BAD_SCOPE);
	assert_non_null(strstr(e.msg, "Date in Credential scope"));
	assert_string_equal(res.access_key_id, "AKIDEXAMPLE");
	treq_free(&r);

	/* Wrong terminator. */
	build_vanilla(&r,
	              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
	              "aws4_requesx, SignedHeaders=host;x-amz-date, "
	              "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	              "20150830T123600Z");
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_BAD_SCOPE);
	treq_free(&r);

	/* No date at all; a malformed date; two dates; the date not signed. */
	build_vanilla(&r, GOOD_AUTH, NULL);
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_INCOMPLETE);
	assert_non_null(strstr(e.msg, "X-Amz-Date"));
	treq_free(&r);
	build_vanilla(&r, GOOD_AUTH, "2015-08-30T12:36:00Z");
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_INCOMPLETE);
	treq_free(&r);
	build_vanilla(&r, GOOD_AUTH, "20150830T123600Z");
	treq_add(&r, "x-amz-date", "20150830T123600Z");
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_INCOMPLETE);
	treq_free(&r);
	build_vanilla(&r,
	              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
	              "aws4_request, SignedHeaders=host, "
	              "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	              "20150830T123600Z");
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_INCOMPLETE);
	treq_free(&r);

	/* Host not signed is always refused. */
	build_vanilla(&r,
	              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
	              "aws4_request, SignedHeaders=x-amz-date, "
	              "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	              "20150830T123600Z");
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_INCOMPLETE);
	assert_non_null(strstr(e.msg, "host"));
	treq_free(&r);

	/* Two Host headers. */
	build_vanilla(&r, GOOD_AUTH, "20150830T123600Z");
	treq_add(&r, "host", "example.amazonaws.com");
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_INCOMPLETE);
	treq_free(&r);

	/* Skew messages in AWS's words. */
	build_vanilla(&r, GOOD_AUTH, "20150830T123600Z");
	assert_int_equal(sigv4_verify(v, &r.req, now + 600, secret_fn, &k, &res, &e), SIGV4_SKEW);
	assert_string_equal(e.msg, "Signature expired: 20150830T123600Z is now earlier than "
	                           "20150830T124100Z (20150830T124600Z - 5 min.)");
	assert_int_equal(e.code, BG_EEXPIRED);
	assert_int_equal(res.signed_at, now);
	assert_int_equal(sigv4_verify(v, &r.req, now - 600, secret_fn, &k, &res, &e), SIGV4_SKEW);
	assert_non_null(strstr(e.msg, "Signature not yet current"));
	sigv4_verifier_set_skew(v, 900);
	assert_int_equal(sigv4_verify(v, &r.req, now + 600, secret_fn, &k, &res, &e), SIGV4_OK);
	sigv4_verifier_set_skew(v, BG_SIGV4_MAX_SKEW_SECONDS);

	/* Presigned URLs are refused, with or without an Authorization header. */
	free(r.query);
	r.query = dupn("X-Amz-Signature=abc", 19);
	r.query_len = 19;
	treq_view(&r);
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_INCOMPLETE);
	assert_non_null(strstr(e.msg, "not supported"));
	treq_del(&r, (size_t)treq_find(&r, "authorization"));
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_INCOMPLETE);
	free(r.query);
	r.query = dupn("a=1&x%2Damz-credential=abc", 27);
	r.query_len = 27;
	treq_view(&r);
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_INCOMPLETE);
	free(r.query);
	r.query = dupn("a=1", 3);
	r.query_len = 3;
	treq_view(&r);
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_MISSING);
	assert_string_equal(e.msg, "Request is missing Authentication Token");
	treq_free(&r);

	assert_string_equal(sigv4_status_name(SIGV4_MISMATCH), "mismatch");
	assert_string_equal(sigv4_status_name(42), "unknown");
	sigv4_verifier_free(v);
	sigv4_verifier_free(NULL);
	pthread_mutex_destroy(&k.lock);
}

/* A request signed with the Date header instead of X-Amz-Date verifies too. */
static void test_date_header(void **state)
{
	sigv4_verifier *v = sigv4_verifier_new("us-east-1", "service", NULL, 0);
	sigv4_sign_params p;
	sigv4_signed s;
	sigv4_result res;
	keytab k;
	treq r;
	bg_err e;
	time_t now = 1440938160;
	char auth[512];
	int i;

	(void)state;
	keytab_init(&k, "AKIDEXAMPLE", "secret");
	memset(&r, 0, sizeof(r));
	snprintf(r.method, sizeof(r.method), "GET");
	r.path = dupn("/", 1);
	r.path_len = 1;
	r.query = dupn("", 0);
	r.body = dupn("", 0);
	treq_add(&r, "Host", "example.amazonaws.com");
	treq_add(&r, "Date", "Sun, 30 Aug 2015 12:36:00 GMT");
	/* Sign host;date by hand: the signer always adds X-Amz-Date, so compute the expected
	 * canonical request through a signer run and swap the header names. Simpler: sign with
	 * the signer (which signs date + x-amz-date), then send both headers. */
	memset(&p, 0, sizeof(p));
	p.access_key_id = "AKIDEXAMPLE";
	p.secret_key = "secret";
	p.region = "us-east-1";
	p.service = "service";
	p.now = now;
	p.normalize_path = true;
	assert_int_equal(sigv4_sign(&r.req, &p, &s, &e), 0);
	assert_string_equal(s.signed_headers.data, "date;host;x-amz-date");
	snprintf(auth, sizeof(auth), "%s", s.authorization.data);
	treq_add(&r, "X-Amz-Date", s.amz_date);
	treq_add(&r, "Authorization", auth);
	sigv4_signed_free(&s);
	sigv4_signed_free(&s); /* idempotent */
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_OK);
	/* Without X-Amz-Date the Date header is the timestamp: the signature then no longer
	 * matches (x-amz-date was signed) but the date is parsed and checked. */
	i = treq_find(&r, "x-amz-date");
	treq_del(&r, (size_t)i);
	assert_int_equal(sigv4_verify(v, &r.req, now + 1000, secret_fn, &k, &res, &e), SIGV4_SKEW);
	assert_int_equal(res.signed_at, now);
	r.values[1][0] = 'X';
	assert_int_equal(sigv4_verify(v, &r.req, now, secret_fn, &k, &res, &e), SIGV4_INCOMPLETE);
	treq_free(&r);
	sigv4_verifier_free(v);
	pthread_mutex_destroy(&k.lock);
}

/* ---- DynamoDB requests as real clients send them ---- */

#define DDB_BODY                                                                                   \
	"{\"TableName\":\"orders\",\"KeyConditionExpression\":\"pk = :pk\","                       \
	"\"ExpressionAttributeValues\":{\":pk\":{\"S\":\"customer#42\"}},\"Limit\":10}"

static void ddb_request(treq *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->method, sizeof(r->method), "POST");
	r->path = dupn("/", 1);
	r->path_len = 1;
	r->query = dupn("", 0);
	r->body = dupn(DDB_BODY, strlen(DDB_BODY));
	r->body_len = strlen(DDB_BODY);
	treq_add(r, "Content-Type", "application/x-amz-json-1.0");
	treq_add(r, "X-Amz-Target", "DynamoDB_20120810.Query");
	treq_add(r, "Host", "127.0.0.1:8700");
}

/* botocore 1.29 (SigV4Auth, "dynamodb", "eu-west-1", 2026-11-24T03:27:00Z) on DDB_BODY. */
static void test_botocore_known_answer(void **state)
{
	static const char *const tokens[] = {NULL, "FwoGZXIvYXdzEBYaDAbc+/def=="};
	static const char *const want[] = {
	    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261124/eu-west-1/dynamodb/"
	    "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
	    "Signature=484269d41473c9684465aaa89417e1c4a8b28390f4979cf61f0066f1ad7b20ed",
	    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261124/eu-west-1/dynamodb/"
	    "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;"
	    "x-amz-target, "
	    "Signature=67f4615593468b7e5a9d4b107f244ce36c38c117591cd3a0a77247e33a6da2bf"};
	static const char *const required[] = {"host", "x-amz-date", "x-amz-target"};
	sigv4_verifier *v = sigv4_verifier_new("eu-west-1", "dynamodb", required, 3);
	keytab k;
	int i;

	(void)state;
	keytab_init(&k, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
	for (i = 0; i < 2; i++) {
		sigv4_sign_params p;
		sigv4_signed s;
		sigv4_result res;
		bg_err e;
		treq r;

		ddb_request(&r);
		memset(&p, 0, sizeof(p));
		p.access_key_id = "AKIAIOSFODNN7EXAMPLE";
		p.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
		p.session_token = tokens[i];
		p.region = "eu-west-1";
		p.service = "dynamodb";
		assert_int_equal(sigv4_parse_amz_date("20261124T032700Z", 16, &p.now), 0);
		p.normalize_path = true;
		assert_int_equal(sigv4_sign(&r.req, &p, &s, &e), 0);
		assert_string_equal(s.authorization.data, want[i]);
		assert_string_equal(s.amz_date, "20261124T032700Z");

		/* What the AWS CLI puts on the wire around the signed headers. */
		treq_add(&r, "User-Agent",
		         "aws-cli/2.9.19 Python/3.11.2 Linux/6.1.0 "
		         "source/x86_64.debian.12 prompt/off command/dynamodb.query");
		treq_add(&r, "X-Amz-Date", s.amz_date);
		if (tokens[i])
			treq_add(&r, "X-Amz-Security-Token", tokens[i]);
		treq_add(&r, "Authorization", s.authorization.data);
		treq_add(&r, "Content-Length", "118");
		treq_add(&r, "Accept-Encoding", "identity");
		sigv4_signed_free(&s);
		assert_int_equal(sigv4_verify(v, &r.req, p.now + 10, secret_fn, &k, &res, &e),
		                 SIGV4_OK);
		assert_string_equal(res.access_key_id, "AKIAIOSFODNN7EXAMPLE");
		assert_int_equal(res.signed_at, p.now);
		if (tokens[i]) {
			assert_int_equal(res.session_token_len, strlen(tokens[i]));
			assert_memory_equal(res.session_token, tokens[i], res.session_token_len);
		} else {
			assert_null(res.session_token);
		}
		/* A different operation under the same signature. */
		r.values[1][17] = 'S'; /* DynamoDB_20120810.Scan... */
		assert_int_equal(sigv4_verify(v, &r.req, p.now, secret_fn, &k, &res, &e),
		                 SIGV4_MISMATCH);
		assert_non_null(strstr(e.msg, "does not match the signature you provided"));
		assert_int_equal(e.code, BG_EAUTH);
		treq_free(&r);
	}
	sigv4_verifier_free(v);
	pthread_mutex_destroy(&k.lock);
}

/* The JS SDK v3 also signs its own headers and x-amz-content-sha256. */
static void test_js_sdk_round_trip(void **state)
{
	static const char *const required[] = {"host", "x-amz-date", "x-amz-target"};
	sigv4_verifier *v = sigv4_verifier_new("us-east-1", "dynamodb", required, 3);
	sigv4_sign_params p;
	sigv4_signed s;
	sigv4_result res;
	keytab k;
	treq r;
	bg_err e;
	int i;

	(void)state;
	keytab_init(&k, "BGAKEXAMPLE000000001", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=");
	ddb_request(&r);
	treq_add(&r, "amz-sdk-invocation-id", "7d1a4c2e-3b7f-4a8e-9c1d-2f6b8e0a9d31");
	treq_add(&r, "amz-sdk-request", "attempt=1; max=3");
	treq_add(&r, "content-length", "118");
	treq_add(&r, "x-amz-user-agent", "aws-sdk-js/3.693.0");
	memset(&p, 0, sizeof(p));
	p.access_key_id = "BGAKEXAMPLE000000001";
	p.secret_key = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";
	p.session_token = "dG9rZW4tdG9rZW4tdG9rZW4tdG9rZW4tdG9rZW4tdG9rZW4tdG9rZW4tdG9rZW4";
	p.region = "us-east-1";
	p.service = "dynamodb";
	p.now = 1795000000;
	p.normalize_path = true;
	p.sign_body_header = true;
	assert_int_equal(sigv4_sign(&r.req, &p, &s, &e), 0);
	assert_string_equal(
	    s.signed_headers.data,
	    "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;"
	    "x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target;"
	    "x-amz-user-agent");
	treq_add(&r, "x-amz-content-sha256", s.payload_hash);
	treq_add(&r, "x-amz-date", s.amz_date);
	treq_add(&r, "x-amz-security-token", p.session_token);
	treq_add(&r, "authorization", s.authorization.data);
	treq_add(&r, "user-agent", "aws-sdk-js/3.693.0 ua/2.1 os/linux#6.1.0 lang/js md/nodejs#20");
	sigv4_signed_free(&s);
	assert_int_equal(sigv4_verify(v, &r.req, p.now, secret_fn, &k, &res, &e), SIGV4_OK);

	/* The body changed and x-amz-content-sha256 no longer matches it. */
	r.body[2] ^= 1;
	assert_int_equal(sigv4_verify(v, &r.req, p.now, secret_fn, &k, &res, &e), SIGV4_MISMATCH);
	assert_non_null(strstr(e.msg, "x-amz-content-sha256"));
	r.body[2] ^= 1;
	/* UNSIGNED-PAYLOAD is not accepted. */
	i = treq_find(&r, "x-amz-content-sha256");
	free(r.values[i]);
	r.values[i] = dupn("UNSIGNED-PAYLOAD", 16);
	r.value_lens[i] = 16;
	treq_view(&r);
	assert_int_equal(sigv4_verify(v, &r.req, p.now, secret_fn, &k, &res, &e), SIGV4_MISMATCH);
	treq_free(&r);
	sigv4_verifier_free(v);
	pthread_mutex_destroy(&k.lock);
}

/* ---- the derived-key cache ---- */

static void sign_as(treq *r, const char *akid, const char *secret, time_t now)
{
	sigv4_sign_params p;
	sigv4_signed s;
	bg_err e;

	ddb_request(r);
	memset(&p, 0, sizeof(p));
	p.access_key_id = akid;
	p.secret_key = secret;
	p.region = "us-east-1";
	p.service = "dynamodb";
	p.now = now;
	p.normalize_path = true;
	assert_int_equal(sigv4_sign(&r->req, &p, &s, &e), 0);
	treq_add(r, "X-Amz-Date", s.amz_date);
	treq_add(r, "Authorization", s.authorization.data);
	sigv4_signed_free(&s);
}

static void test_cache(void **state)
{
	sigv4_verifier *v = sigv4_verifier_new("us-east-1", "dynamodb", NULL, 0);
	keytab k;
	treq a, b, forged;
	time_t now = 1795000000;
	int i;

	(void)state;
	keytab_init(&k, "AKIDALICE", "alice-secret");
	k.akid[1] = "AKIDBOB";
	k.secret[1] = "bob-secret";
	k.n = 2;
	sign_as(&a, "AKIDALICE", "alice-secret", now);
	sign_as(&b, "AKIDBOB", "bob-secret", now);
	/* Bob's akid, but signed with Alice's secret. */
	sign_as(&forged, "AKIDBOB", "alice-secret", now);

	assert_int_equal(verify(v, &a, now, &k, NULL), SIGV4_OK);
	assert_int_equal(verify(v, &b, now, &k, NULL), SIGV4_OK);
	assert_int_equal(k.calls, 2);
	for (i = 0; i < 3; i++) {
		assert_int_equal(verify(v, &a, now, &k, NULL), SIGV4_OK);
		assert_int_equal(verify(v, &b, now, &k, NULL), SIGV4_OK);
		assert_int_equal(verify(v, &forged, now, &k, NULL), SIGV4_MISMATCH);
	}
	assert_int_equal(k.calls, 2);

	/* A new day is a new key. */
	treq_free(&a);
	sign_as(&a, "AKIDALICE", "alice-secret", now + 86400);
	assert_int_equal(verify(v, &a, now + 86400, &k, NULL), SIGV4_OK);
	assert_int_equal(k.calls, 3);

	/* Fill the cache far beyond its size: evictions keep answers right. */
	{
		static char akids[3 * BG_SIGV4_KEY_CACHE][24];
		keytab many;
		treq t;

		memset(&many, 0, sizeof(many));
		pthread_mutex_init(&many.lock, NULL);
		many.n = 1;
		for (i = 0; i < 3 * BG_SIGV4_KEY_CACHE; i++) {
			snprintf(akids[i], sizeof(akids[i]), "AKIDMANY%06d", i);
			many.akid[0] = akids[i];
			many.secret[0] = akids[i] + 4;
			sign_as(&t, akids[i], akids[i] + 4, now);
			assert_int_equal(verify(v, &t, now, &many, NULL), SIGV4_OK);
			treq_free(&t);
		}
		pthread_mutex_destroy(&many.lock);
	}
	assert_int_equal(verify(v, &b, now, &k, NULL), SIGV4_OK);
	assert_int_equal(verify(v, &forged, now, &k, NULL), SIGV4_MISMATCH);

	treq_free(&a);
	treq_free(&b);
	treq_free(&forged);
	sigv4_verifier_free(v);
	pthread_mutex_destroy(&k.lock);
}

/* Many threads share one verifier. */
typedef struct thr_arg {
	sigv4_verifier *v;
	keytab *k;
	treq *good, *bad;
	time_t now;
	int errors;
} thr_arg;

static void *thr_main(void *p)
{
	thr_arg *t = p;
	int i;

	for (i = 0; i < 2000; i++) {
		if (verify(t->v, t->good, t->now, t->k, NULL) != SIGV4_OK)
			t->errors++;
		if (verify(t->v, t->bad, t->now, t->k, NULL) != SIGV4_MISMATCH)
			t->errors++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	sigv4_verifier *v = sigv4_verifier_new("us-east-1", "dynamodb", NULL, 0);
	pthread_t th[4];
	thr_arg args[4];
	keytab k;
	treq a, forged;
	time_t now = 1795000000;
	int i;

	(void)state;
	keytab_init(&k, "AKIDALICE", "alice-secret");
	sign_as(&a, "AKIDALICE", "alice-secret", now);
	sign_as(&forged, "AKIDALICE", "mallory-secret", now);
	for (i = 0; i < 4; i++) {
		args[i] = (thr_arg){v, &k, &a, &forged, now, 0};
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].errors, 0);
	}
	treq_free(&a);
	treq_free(&forged);
	sigv4_verifier_free(v);
	pthread_mutex_destroy(&k.lock);
}

/* ---- signer argument checking ---- */

static void test_sign_errors(void **state)
{
	sigv4_sign_params p;
	sigv4_signed s;
	bg_err e;
	treq r;

	(void)state;
	ddb_request(&r);
	memset(&p, 0, sizeof(p));
	p.access_key_id = "AKID";
	p.secret_key = "secret";
	p.region = "us-east-1";
	p.service = "dynamodb";
	p.now = 1795000000;
	p.normalize_path = true;
	assert_int_equal(sigv4_sign(&r.req, &p, &s, &e), 0);
	sigv4_signed_free(&s);

	p.region = "us-east-1/x";
	assert_int_equal(sigv4_sign(&r.req, &p, &s, &e), BG_EINVAL);
	assert_null(s.authorization.data);
	sigv4_signed_free(&s);
	p.region = "us-east-1";
	p.session_token = "bad\r\ntoken";
	assert_int_equal(sigv4_sign(&r.req, &p, &s, &e), BG_EINVAL);
	assert_null(strstr(e.msg, "secret"));
	p.session_token = NULL;
	p.secret_key = "";
	assert_int_equal(sigv4_sign(&r.req, &p, &s, &e), BG_EINVAL);
	p.secret_key = "secret";
	/* header injection through a value */
	free(r.values[0]);
	r.values[0] = dupn("a\r\nX-Evil: 1", 12);
	r.value_lens[0] = 12;
	treq_view(&r);
	assert_int_equal(sigv4_sign(&r.req, &p, &s, &e), BG_EINVAL);
	/* invalid header name */
	free(r.values[0]);
	r.values[0] = dupn("ok", 2);
	r.value_lens[0] = 2;
	free(r.names[0]);
	r.names[0] = dupn("Content Type", 12);
	treq_view(&r);
	assert_int_equal(sigv4_sign(&r.req, &p, &s, &e), BG_EINVAL);
	treq_free(&r);
	/* The signer ignores a caller's own x-amz-date and authorization. */
	ddb_request(&r);
	treq_add(&r, "X-Amz-Date", "19990101T000000Z");
	treq_add(&r, "Authorization", "junk");
	assert_int_equal(sigv4_sign(&r.req, &p, &s, &e), 0);
	assert_string_equal(s.signed_headers.data, "content-type;host;x-amz-date;x-amz-target");
	assert_null(strstr(s.canonical_request.data, "1999"));
	sigv4_signed_free(&s);
	treq_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_suite_vectors),
	    cmocka_unit_test(test_parse_authorization),
	    cmocka_unit_test(test_scope_and_dates),
	    cmocka_unit_test(test_date_header),
	    cmocka_unit_test(test_botocore_known_answer),
	    cmocka_unit_test(test_js_sdk_round_trip),
	    cmocka_unit_test(test_cache),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_sign_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
