/*
 * test_sink_cloudwatch.c - the CloudWatch Logs transport of the audit sinks
 * (audit/sink_cloudwatch.h). The pure steps at each of the service's limits: event
 * timestamps (old, future, a clock step back), the redacted stub of a record too long, the
 * batch cut at 10,000 events, at 1,048,576 bytes with 26 per event, at a 24 h span and at
 * a step back in time; the request body, the endpoint, the answers. The signed headers for
 * fixed credentials and time are compared with botocore's SigV4Auth (Debian's
 * /usr/bin/python3 runs tests/e2e/cwlogs_receiver.py --check-signature). The transport
 * itself delivers to that receiver on loopback, which checks every request's signature
 * against botocore's and every batch against the service model and quotas, and answers as
 * the service does: a stream created on first use, throttling, a missing group, events
 * past a short retention, sequence tokens of older endpoints, a session token; and the
 * receiver is shown to refuse bad batches and a wrong signature.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit/sink_cloudwatch.h"
#include "common/clock.h"
#include "signing/credchain.h"

#include "unit_util.h"

extern char **environ;

#define PY       "/usr/bin/python3"
#define RECEIVER "tests/e2e/cwlogs_receiver.py"
#define AKID     "AKIDCWLOGSTEST"
#define SECRET   "cwlogs/secret+KEY/EXAMPLE0123456789abcdef"
#define TOKEN    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+token=="
#define HASH_A   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const int64_t NOW = 1795000000000LL; /* 2026-11-18, a fixed delivery time */

/* ---- records ---- */

typedef struct recs {
	sink_rec *r;
	char **lines;
	size_t n;
} recs;

/* n records from seq first, each line about pad bytes long, at time ts(i). */
static recs make_recs(int64_t first, size_t n, size_t pad, int64_t ts0, int64_t step)
{
	recs x;
	size_t i;

	x.n = n;
	x.r = calloc(n, sizeof(*x.r));
	x.lines = calloc(n, sizeof(*x.lines));
	assert_non_null(x.r);
	assert_non_null(x.lines);
	for (i = 0; i < n; i++) {
		char *fill = malloc(pad + 1);
		int k;

		assert_non_null(fill);
		memset(fill, 'x', pad);
		fill[pad] = '\0';
		k = asprintf(&x.lines[i],
		             "{\"seq\":%lld,\"ts\":%lld,\"kind\":\"request\",\"prev_hash\":\"%s\","
		             "\"hash\":\"%s\",\"detail\":\"%s\"}",
		             (long long)(first + (int64_t)i), (long long)(ts0 + (int64_t)i * step),
		             HASH_A, HASH_B, fill);
		assert_true(k > 0);
		free(fill);
		x.r[i].seq = first + (int64_t)i;
		x.r[i].ts_ms = ts0 + (int64_t)i * step;
		x.r[i].kind = "request";
		x.r[i].line = x.lines[i];
		x.r[i].len = (size_t)k;
	}
	return x;
}

static void free_recs(recs *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		free(x->lines[i]);
	free(x->lines);
	free(x->r);
}

/* ---- events ---- */

static void test_timestamps(void **state)
{
	sink_rec r[6];
	cwlogs_event ev[6];
	const int64_t day = 24 * 3600 * 1000LL;
	bg_err e;
	size_t i;

	(void)state;
	memset(r, 0, sizeof(r));
	r[0].ts_ms = NOW - 1000;               /* kept */
	r[1].ts_ms = NOW - 2000;               /* a clock step back: the one before's */
	r[2].ts_ms = NOW - 13 * day;           /* older, but behind r[1]: r[1]'s */
	r[3].ts_ms = NOW + 30 * 60 * 1000;     /* half an hour ahead: kept */
	r[4].ts_ms = NOW + 3 * 3600 * 1000;    /* 3 h ahead: refused by the service, now */
	r[5].ts_ms = NOW + 30 * 60 * 1000 + 5; /* ahead of r[4]'s stamp: kept */
	for (i = 0; i < 6; i++) {
		r[i].seq = (int64_t)i + 1;
		r[i].line = "{}";
		r[i].len = 2;
	}
	assert_int_equal(cwlogs_events_make(r, 6, NOW, ev, &e), 0);
	assert_true(ev[0].ts_ms == NOW - 1000);
	assert_true(ev[1].ts_ms == NOW - 1000);
	assert_true(ev[2].ts_ms == NOW - 1000);
	assert_true(ev[3].ts_ms == NOW + 30 * 60 * 1000);
	assert_true(ev[4].ts_ms == NOW + 30 * 60 * 1000); /* now, lifted to the one before */
	assert_true(ev[5].ts_ms == NOW + 30 * 60 * 1000 + 5);
	cwlogs_events_clear(ev, 6);

	/* Too old for the service (15 days, or past the hour of margin): the delivery time. */
	r[0].ts_ms = NOW - 15 * day;
	r[1].ts_ms = NOW - 14 * day + 2 * 3600 * 1000; /* inside 14 d, not inside the margin */
	r[2].ts_ms = NOW - 14 * day + 2 * 3600 * 1000 + 1;
	assert_int_equal(cwlogs_events_make(r, 1, NOW, ev, &e), 0);
	assert_true(ev[0].ts_ms == NOW);
	assert_int_equal(cwlogs_events_make(r + 1, 2, NOW, ev, &e), 0);
	assert_true(ev[0].ts_ms == NOW - 14 * day + 2 * 3600 * 1000);
	assert_true(ev[1].ts_ms == NOW - 14 * day + 2 * 3600 * 1000 + 1);
	cwlogs_events_clear(ev, 2);
	/* and an empty record is refused, naming it */
	r[0].len = 0;
	assert_int_equal(cwlogs_events_make(r, 1, NOW, ev, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "record 1 is empty"));
}

static void test_stub(void **state)
{
	const size_t max = BG_CWLOGS_MAX_EVENT_BYTES - BG_CWLOGS_EVENT_OVERHEAD;
	recs x = make_recs(7, 1, 10, NOW, 0);
	size_t base = x.r[0].len - 10;
	cwlogs_event ev[2];
	char *junk;
	bg_err e;

	(void)state;
	free_recs(&x);
	/* exactly the longest message an event may carry: sent as it is */
	x = make_recs(7, 2, max - base, NOW, 0);
	assert_int_equal(x.r[0].len, max);
	assert_int_equal(cwlogs_events_make(x.r, 1, NOW, ev, &e), 0);
	assert_null(ev[0].stub);
	assert_ptr_equal(ev[0].msg, x.r[0].line);
	cwlogs_events_clear(ev, 1);
	free_recs(&x);
	/* one byte more: the redacted stub the verifier understands */
	x = make_recs(7, 2, max - base + 1, NOW, 0);
	assert_int_equal(x.r[0].len, max + 1);
	assert_int_equal(cwlogs_events_make(x.r, 2, NOW, ev, &e), 0);
	assert_non_null(ev[0].stub);
	assert_string_equal(ev[0].msg, "{\"seq\":7,\"prev_hash\":\"" HASH_A "\",\"hash\":\"" HASH_B
	                               "\",\"redacted\":true}");
	assert_int_equal(ev[0].len, strlen(ev[0].msg));
	assert_true(ev[1].seq == 8 && ev[1].stub != NULL);
	cwlogs_events_clear(ev, 2);
	/* a long line that is not a record cannot be stood in for */
	junk = malloc(max + 2);
	assert_non_null(junk);
	memset(junk, 'j', max + 1);
	x.r[1].line = junk;
	x.r[1].len = max + 1;
	assert_int_equal(cwlogs_events_make(x.r, 2, NOW, ev, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "record 8 is too long"));
	assert_null(ev[0].stub); /* cleared on failure */
	/* nor a record whose seq is not the one it is delivered as */
	x.r[0].seq = 99;
	assert_int_equal(cwlogs_events_make(x.r, 1, NOW, ev, &e), BG_EINVAL);
	free(junk);
	free_recs(&x);
}

/* ---- batches ---- */

static void test_batch_events(void **state)
{
	size_t n = BG_CWLOGS_MAX_BATCH_EVENTS + 1, i;
	cwlogs_event *ev = calloc(n, sizeof(*ev));

	(void)state;
	assert_non_null(ev);
	for (i = 0; i < n; i++) {
		ev[i].seq = (int64_t)i + 1;
		ev[i].ts_ms = NOW;
		ev[i].msg = "{}";
		ev[i].len = 2;
	}
	assert_int_equal(cwlogs_batch_fit(ev, n), 10000);
	assert_int_equal(cwlogs_batch_fit(ev, 10000), 10000);
	assert_int_equal(cwlogs_batch_fit(ev + 10000, 1), 1);
	assert_int_equal(cwlogs_batch_fit(ev, 0), 0);
	free(ev);
}

static void test_batch_bytes(void **state)
{
	/* Four events of 262,144 bytes with the overhead are 1,048,576 bytes exactly. */
	const size_t len = BG_CWLOGS_MAX_EVENT_BYTES - BG_CWLOGS_EVENT_OVERHEAD;
	cwlogs_event ev[5];
	size_t i;

	(void)state;
	memset(ev, 0, sizeof(ev));
	for (i = 0; i < 5; i++) {
		ev[i].ts_ms = NOW;
		ev[i].msg = "";
		ev[i].len = len;
	}
	assert_int_equal(4 * (len + 26), 1048576);
	assert_int_equal(cwlogs_batch_fit(ev, 5), 4);
	ev[3].len = len + 1; /* one byte over with the fourth */
	assert_int_equal(cwlogs_batch_fit(ev, 5), 3);
	/* 10,000 events of 104 bytes with the overhead fit; 1,000 of 1,048 but not 1,001 */
	{
		cwlogs_event *small = calloc(BG_CWLOGS_MAX_BATCH_EVENTS, sizeof(*small));
		assert_non_null(small);
		for (i = 0; i < BG_CWLOGS_MAX_BATCH_EVENTS; i++) {
			small[i].ts_ms = NOW;
			small[i].msg = "";
			small[i].len = 78;
		}
		small[0].len = 78 + 48; /* 1,040,048 bytes */
		assert_int_equal(cwlogs_batch_fit(small, BG_CWLOGS_MAX_BATCH_EVENTS), 10000);
		for (i = 0; i < BG_CWLOGS_MAX_BATCH_EVENTS; i++)
			small[i].len = 1022; /* 1,048 bytes each: 1,000 are 1,048,000 */
		assert_int_equal(cwlogs_batch_fit(small, BG_CWLOGS_MAX_BATCH_EVENTS), 1000);
		small[999].len = 1022 + 576; /* 1,048,576 exactly */
		assert_int_equal(cwlogs_batch_fit(small, BG_CWLOGS_MAX_BATCH_EVENTS), 1000);
		small[999].len = 1022 + 577;
		assert_int_equal(cwlogs_batch_fit(small, BG_CWLOGS_MAX_BATCH_EVENTS), 999);
		free(small);
	}
}

static void test_batch_span_order(void **state)
{
	cwlogs_event ev[3];

	(void)state;
	memset(ev, 0, sizeof(ev));
	ev[0].ts_ms = NOW;
	ev[1].ts_ms = NOW + BG_CWLOGS_MAX_SPAN_MS - 1; /* within 24 h */
	ev[2].ts_ms = NOW + BG_CWLOGS_MAX_SPAN_MS;     /* 24 h after the first: a new batch */
	assert_int_equal(cwlogs_batch_fit(ev, 3), 2);
	assert_int_equal(cwlogs_batch_fit(ev + 1, 2), 2);
	/* a step back in time ends the batch (the service wants time order) */
	ev[1].ts_ms = NOW - 1;
	assert_int_equal(cwlogs_batch_fit(ev, 3), 1);
	ev[1].ts_ms = NOW;
	ev[2].ts_ms = NOW;
	assert_int_equal(cwlogs_batch_fit(ev, 3), 3);
}

/* ---- bodies, endpoint, answers ---- */

static void test_put_body(void **state)
{
	cwlogs_event ev[2] = {{1, NOW, "{\"seq\":1,\"note\":\"caf\xc3\xa9 \\\"q\\\"\"}", 0, NULL},
	                      {2, NOW + 5, "{\"seq\":2}", 9, NULL}};
	json_t *doc, *list;
	bg_buf b;
	bg_err e;

	(void)state;
	ev[0].len = strlen(ev[0].msg);
	bg_buf_init(&b, 1 << 20);
	assert_int_equal(cwlogs_put_body("breakglass", "gw-1", NULL, ev, 2, &b, &e), 0);
	doc = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(doc);
	assert_int_equal(json_object_size(doc), 3);
	assert_string_equal(json_string_value(json_object_get(doc, "logGroupName")), "breakglass");
	assert_string_equal(json_string_value(json_object_get(doc, "logStreamName")), "gw-1");
	list = json_object_get(doc, "logEvents");
	assert_int_equal(json_array_size(list), 2);
	assert_int_equal(json_object_size(json_array_get(list, 0)), 2);
	assert_true(json_integer_value(json_object_get(json_array_get(list, 1), "timestamp")) ==
	            NOW + 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "message")),
	                    ev[0].msg);
	json_decref(doc);
	/* an older endpoint's sequence token goes along */
	assert_int_equal(cwlogs_put_body("g", "s", "4959", ev, 1, &b, &e), 0);
	assert_non_null(strstr(b.data, "\"sequenceToken\":\"4959\""));
	/* a message that is not UTF-8 is refused, naming its record */
	ev[1].msg = "\xff\xfe";
	ev[1].len = 2;
	assert_int_equal(cwlogs_put_body("g", "s", NULL, ev, 2, &b, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "record 2"));
	assert_int_equal(cwlogs_create_stream_body("breakglass", "gw-1", &b, &e), 0);
	assert_string_equal(b.data, "{\"logGroupName\":\"breakglass\",\"logStreamName\":\"gw-1\"}");
	/* a body past the buffer's maximum is an error, never cut short */
	bg_buf_free(&b);
	bg_buf_init(&b, 16);
	assert_int_equal(cwlogs_create_stream_body("breakglass", "gw-1", &b, &e), BG_ELIMIT);
	bg_buf_free(&b);
}

static void test_endpoint(void **state)
{
	cwlogs_endpoint ep;
	bg_err e;

	(void)state;
	unsetenv("AWS_ENDPOINT_URL_LOGS");
	assert_int_equal(cwlogs_endpoint_resolve(NULL, "eu-west-1", &ep, &e), 0);
	assert_string_equal(ep.url, "https://logs.eu-west-1.amazonaws.com/");
	assert_string_equal(ep.host, "logs.eu-west-1.amazonaws.com");
	setenv("AWS_ENDPOINT_URL_LOGS", "http://127.0.0.1:4566", 1);
	assert_int_equal(cwlogs_endpoint_resolve(NULL, "eu-west-1", &ep, &e), 0);
	assert_string_equal(ep.url, "http://127.0.0.1:4566/");
	assert_string_equal(ep.host, "127.0.0.1:4566");
	/* the configuration wins over the environment */
	assert_int_equal(cwlogs_endpoint_resolve("https://logs.example.test", "x", &ep, &e), 0);
	assert_string_equal(ep.url, "https://logs.example.test/");
	assert_string_equal(ep.host, "logs.example.test");
	unsetenv("AWS_ENDPOINT_URL_LOGS");
	assert_int_equal(cwlogs_endpoint_resolve("ftp://x/", "x", &ep, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "not an http(s) URL"));
	assert_int_equal(cwlogs_endpoint_resolve("https://u:pa55word@logs.test/", "x", &ep, &e),
	                 BG_EINVAL);
	assert_non_null(strstr(e.msg, "user name or password"));
	assert_null(strstr(e.msg, "pa55word"));
}

static void test_answers(void **state)
{
	static const char ok[] = "{\"nextSequenceToken\":\"49590000000000000000000000000000000000"
	                         "000000000001\"}";
	static const char rej[] = "{\"rejectedLogEventsInfo\":{\"tooOldLogEventEndIndex\":2,"
	                          "\"tooNewLogEventStartIndex\":5,\"expiredLogEventEndIndex\":3}}";
	static const char nf[] = "{\"__type\":\"ResourceNotFoundException\",\"message\":\"The "
	                         "specified log stream does not exist.\"}";
	static const char tok[] = "{\"__type\":\"InvalidSequenceTokenException\",\"message\":\"The "
	                          "given sequenceToken is invalid. The next expected "
	                          "sequenceToken is: 49612\"}";
	static const char dup[] = "{\"__type\":\"com.amazonaws.logs#DataAlreadyAcceptedException\","
	                          "\"expectedSequenceToken\":\"777\",\"Message\":\"accepted\"}";
	static const char thr[] = "{\"__type\":\"ThrottlingException\",\"message\":\"Rate "
	                          "exceeded\"}";
	static const char nul[] = "{\"__type\":\"InvalidSequenceTokenException\",\"message\":\"The "
	                          "next expected sequenceToken is: null\"}";
	static const char newtail[] =
	    "{\"rejectedLogEventsInfo\":{\"tooNewLogEventStartIndex\":10}}";
	static const char ctl[] = "{\"__type\":\"AccessDeniedException\",\"message\":\"a\\nb\"}";
	cwlogs_answer a;
	size_t head, tail;

	(void)state;
	assert_int_equal(cwlogs_answer_parse(200, ok, sizeof(ok) - 1, &a), CWLOGS_OK);
	assert_string_equal(a.token, "49590000000000000000000000000000000000000000000001");
	assert_false(cwlogs_answer_rejected(&a, 10));
	assert_int_equal(cwlogs_answer_parse(200, "", 0, &a), CWLOGS_OK);
	assert_int_equal(cwlogs_answer_parse(200, "{}", 2, &a), CWLOGS_OK);
	assert_int_equal(cwlogs_answer_parse(200, "[]", 2, &a), CWLOGS_ERROR);
	assert_int_equal(cwlogs_answer_parse(200, "<html>", 6, &a), CWLOGS_ERROR);
	assert_int_equal(cwlogs_answer_parse(200, rej, sizeof(rej) - 1, &a), CWLOGS_OK);
	assert_true(a.too_old_end == 2 && a.too_new_start == 5 && a.expired_end == 3);
	assert_true(cwlogs_answer_rejected(&a, 10));
	assert_int_equal(cwlogs_answer_parse(200, newtail, strlen(newtail), &a), CWLOGS_OK);
	assert_false(cwlogs_answer_rejected(&a, 10)); /* past the end: none */
	assert_true(cwlogs_answer_rejected(&a, 11));
	cwlogs_answer_rejected_range(&a, 11, &head, &tail); /* too new alone: the last one */
	assert_true(head == 0 && tail == 10);
	cwlogs_answer_rejected_range(&a, 10, &head, &tail);
	assert_true(head == 0 && tail == 10);
	assert_int_equal(cwlogs_answer_parse(200, rej, sizeof(rej) - 1, &a), CWLOGS_OK);
	cwlogs_answer_rejected_range(&a, 10, &head, &tail); /* expired (3) beyond too old (2) */
	assert_true(head == 3 && tail == 5);
	cwlogs_answer_rejected_range(&a, 4, &head, &tail); /* too new beyond the batch */
	assert_true(head == 3 && tail == 4);
	cwlogs_answer_rejected_range(&a, 2, &head, &tail); /* indices beyond it: all refused */
	assert_true(head == 2 && tail == 2);
	a.too_old_end = 6; /* a head past the tail */
	cwlogs_answer_rejected_range(&a, 10, &head, &tail);
	assert_true(head == 6 && tail == 6);
	assert_int_equal(cwlogs_answer_parse(400, nf, sizeof(nf) - 1, &a), CWLOGS_NO_RESOURCE);
	assert_string_equal(a.message, "The specified log stream does not exist.");
	assert_int_equal(cwlogs_answer_parse(400, tok, sizeof(tok) - 1, &a), CWLOGS_BAD_TOKEN);
	assert_string_equal(a.token, "49612");
	assert_int_equal(cwlogs_answer_parse(400, nul, sizeof(nul) - 1, &a), CWLOGS_BAD_TOKEN);
	assert_string_equal(a.token, "");
	assert_int_equal(cwlogs_answer_parse(400, dup, sizeof(dup) - 1, &a), CWLOGS_ALREADY);
	assert_string_equal(a.code, "DataAlreadyAcceptedException");
	assert_string_equal(a.token, "777");
	assert_string_equal(a.message, "accepted");
	assert_int_equal(cwlogs_answer_parse(400, thr, sizeof(thr) - 1, &a), CWLOGS_THROTTLED);
	assert_int_equal(cwlogs_answer_parse(503, "busy", 4, &a), CWLOGS_THROTTLED);
	assert_int_equal(cwlogs_answer_parse(400, ctl, sizeof(ctl) - 1, &a), CWLOGS_ERROR);
	assert_string_equal(a.code, "AccessDeniedException");
	assert_string_equal(a.message, "a?b");
	assert_int_equal(cwlogs_answer_parse(403, NULL, 0, &a), CWLOGS_ERROR);
	assert_int_equal(a.status, 403);
}

/* ---- the signed request against botocore's ---- */

/* Runs the receiver's --check-signature on the request; returns its first line. */
static void botocore_check(const cwlogs_endpoint *ep, const char *target, const char *body,
                           const char *token, const bg_buf *lines, char *out, size_t cap)
{
	json_t *req =
	    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:{}}", "host", ep->host, "region", "eu-west-1",
	              "target", target, "body", body, "akid", AKID, "secret", SECRET, "token",
	              token ? json_string(token) : json_null(), "headers");
	json_t *h = json_object_get(req, "headers");
	char path[] = "/tmp/bg-cwsig-XXXXXX", cmd[256], name[64], *p, *nl;
	const char *buf = lines->data;
	FILE *f;
	int fd;

	assert_non_null(req);
	for (p = (char *)buf; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		char *colon = memchr(p, ':', (size_t)(nl - p));
		assert_non_null(colon);
		snprintf(name, sizeof(name), "%.*s", (int)(colon - p), p);
		assert_int_equal(
		    json_object_set_new(h, name, json_stringn(colon + 2, (size_t)(nl - colon - 2))),
		    0);
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(json_dump_file(req, path, 0), 0);
	json_decref(req);
	snprintf(cmd, sizeof(cmd), PY " " RECEIVER " --check-signature < %s", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (fgets(out, (int)cap, f) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	pclose(f);
	unlink(path);
}

static void test_signed_like_botocore(void **state)
{
	static const char body[] = "{\"logGroupName\":\"breakglass\",\"logStreamName\":\"gw-1\","
	                           "\"logEvents\":[{\"timestamp\":1795000000000,\"message\":"
	                           "\"{\\\"seq\\\":1}\"}]}";
	const char *tokens[2] = {NULL, TOKEN};
	const char *hosts[2] = {"http://127.0.0.1:45123", NULL};
	cwlogs_endpoint ep;
	char verdict[512];
	bg_buf lines;
	bg_err e;
	size_t i, j;

	(void)state;
	unsetenv("AWS_ENDPOINT_URL_LOGS");
	bg_buf_init(&lines, 16384);
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++) {
			assert_int_equal(cwlogs_endpoint_resolve(hosts[j], "eu-west-1", &ep, &e),
			                 0);
			assert_int_equal(cwlogs_request_headers(&ep, "eu-west-1", "PutLogEvents",
			                                        body, sizeof(body) - 1, AKID,
			                                        SECRET, tokens[i],
			                                        (time_t)1795000000, &lines, &e),
			                 0);
			assert_non_null(strstr(lines.data, "X-Amz-Date: 20261118T"));
			assert_non_null(strstr(lines.data, i == 0
			                                       ? "SignedHeaders=content-type;host;"
			                                         "x-amz-date;x-amz-target,"
			                                       : "SignedHeaders=content-type;host;"
			                                         "x-amz-date;x-amz-security-token;"
			                                         "x-amz-target,"));
			assert_true((strstr(lines.data, "X-Amz-Security-Token: ") != NULL) ==
			            (i == 1));
			assert_null(strstr(lines.data, SECRET));
			botocore_check(&ep, "Logs_20140328.PutLogEvents", body, tokens[i], &lines,
			               verdict, sizeof(verdict));
			assert_string_equal(verdict, "ok");
		}
	/* the check is not a rubber stamp: another time, body or target differs */
	assert_int_equal(cwlogs_request_headers(&ep, "eu-west-1", "CreateLogStream", body,
	                                        sizeof(body) - 1, AKID, SECRET, NULL,
	                                        (time_t)1795000000, &lines, &e),
	                 0);
	botocore_check(&ep, "Logs_20140328.PutLogEvents", body, NULL, &lines, verdict,
	               sizeof(verdict));
	assert_non_null(strstr(verdict, "authorization: botocore"));
	bg_buf_free_secure(&lines);
}

/* ---- the transport against the loopback receiver ---- */

typedef struct rx {
	char dir[64], port_file[128], out[128], violations[128];
	pid_t pid;
	int port;
	char url[64];
} rx;

/* Starts the receiver with extra arguments (NULL-terminated). */
static void rx_start(rx *r, const char *token, ...)
{
	const char *argv[40];
	size_t n = 0;
	va_list ap;
	struct stat st;
	FILE *f;
	int i;

	memset(r, 0, sizeof(*r));
	assert_int_equal(ut_tmpdir(r->dir, sizeof(r->dir), "cwlogs"), 0);
	snprintf(r->port_file, sizeof(r->port_file), "%s/port", r->dir);
	snprintf(r->out, sizeof(r->out), "%s/events.jsonl", r->dir);
	snprintf(r->violations, sizeof(r->violations), "%s/violations", r->dir);
	argv[n++] = PY;
	argv[n++] = RECEIVER;
	argv[n++] = "--port-file";
	argv[n++] = r->port_file;
	argv[n++] = "--out";
	argv[n++] = r->out;
	argv[n++] = "--violations";
	argv[n++] = r->violations;
	argv[n++] = "--akid";
	argv[n++] = AKID;
	argv[n++] = "--secret";
	argv[n++] = SECRET;
	if (token) {
		argv[n++] = "--token";
		argv[n++] = token;
	}
	va_start(ap, token);
	while ((argv[n] = va_arg(ap, const char *)) != NULL && n < 38)
		n++;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(posix_spawn(&r->pid, PY, NULL, NULL, (char *const *)argv, environ), 0);
	for (i = 0; i < 200 && stat(r->port_file, &st) != 0; i++)
		usleep(50000);
	f = fopen(r->port_file, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &r->port), 1);
	fclose(f);
	snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d", r->port);
}

/* Stops the receiver; fails the test on any violation it noted. */
static void rx_stop(rx *r)
{
	struct stat st;
	char buf[1024] = "";
	FILE *f;
	int status;

	kill(r->pid, SIGTERM);
	waitpid(r->pid, &status, 0);
	if (stat(r->violations, &st) == 0 && st.st_size > 0) {
		f = fopen(r->violations, "r");
		if (f && fgets(buf, sizeof(buf), f) == NULL)
			buf[0] = '\0';
		if (f)
			fclose(f);
		ut_rm_tree(r->dir);
		fail_msg("the receiver found: %s", buf);
	}
	ut_rm_tree(r->dir);
}

/* The events the receiver accepted, as a JSON array of {group, stream, timestamp,
 * message}. */
static json_t *rx_events(const rx *r)
{
	json_t *all = json_array();
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(r->out, "r");

	assert_non_null(all);
	if (f == NULL)
		return all;
	while (getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		assert_non_null(j);
		json_array_append_new(all, j);
	}
	free(line);
	fclose(f);
	return all;
}

static credchain *chain(const char *token)
{
	static const credchain_opts o = {"us-east-1", NULL, NULL, NULL};
	credchain *c = NULL;
	bg_err e;

	unsetenv("AWS_PROFILE");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_ACCESS_KEY_ID", AKID, 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	if (token)
		setenv("AWS_SESSION_TOKEN", token, 1);
	else
		unsetenv("AWS_SESSION_TOKEN");
	assert_int_equal(credchain_new(&o, &c, &e), 0);
	return c;
}

static void *open_sink(const char *url, const char *group, credchain *c)
{
	sink_conf conf;
	void *s = NULL;
	bg_err e;

	memset(&conf, 0, sizeof(conf));
	conf.type = SINK_CLOUDWATCH;
	conf.log_group = group;
	conf.log_stream = "gw-1";
	conf.region = "us-east-1";
	conf.endpoint = url;
	conf.creds = c;
	if (sink_cloudwatch_ops.open(&conf, &s, &e) != 0)
		fail_msg("open: %s", e.msg);
	return s;
}

/* Delivers x in calls of BG_SINK_BATCH records, as the framework does. */
static void deliver_all(void *s, const recs *x)
{
	size_t i, k, acc;
	bg_err e;

	for (i = 0; i < x->n; i += k) {
		k = x->n - i < BG_SINK_BATCH ? x->n - i : BG_SINK_BATCH;
		if (sink_cloudwatch_ops.deliver(s, x->r + i, k, &acc, &e) != 0)
			fail_msg("deliver: %s", e.msg);
		assert_int_equal(acc, k);
	}
}

static void test_deliver(void **state)
{
	const size_t big = BG_CWLOGS_MAX_EVENT_BYTES;
	int64_t now = bg_now_ms();
	recs x = make_recs(1, 2500, 1000, now - 60000, 10);
	char *huge = NULL;
	credchain *c = chain(NULL);
	json_t *got;
	void *s;
	size_t i;
	rx r;

	(void)state;
	/* record 1234 is too long for one event: its stub goes instead */
	assert_true(asprintf(&huge,
	                     "{\"seq\":1234,\"kind\":\"response\",\"prev_hash\":\"%s\",\"hash\":"
	                     "\"%s\",\"detail\":\"%0*d\"}",
	                     HASH_A, HASH_B, (int)big, 0) > 0);
	x.r[1233].line = huge;
	x.r[1233].len = strlen(huge);
	x.r[2499].kind = "checkpoint";
	rx_start(&r, NULL, "--group", "breakglass", NULL);
	s = open_sink(r.url, "breakglass", c);
	deliver_all(s, &x); /* the stream is made on the way */
	sink_cloudwatch_ops.close(s);
	got = rx_events(&r);
	assert_int_equal(json_array_size(got), 2500);
	for (i = 0; i < 2500; i++) {
		json_t *ev = json_array_get(got, i);
		const char *msg = json_string_value(json_object_get(ev, "message"));
		if (i == 1233)
			assert_string_equal(msg, "{\"seq\":1234,\"prev_hash\":\"" HASH_A
			                         "\",\"hash\":\"" HASH_B "\",\"redacted\":true}");
		else
			assert_memory_equal(msg, x.r[i].line, x.r[i].len);
		assert_string_equal(json_string_value(json_object_get(ev, "stream")), "gw-1");
		assert_true(json_integer_value(json_object_get(ev, "timestamp")) == x.r[i].ts_ms);
	}
	json_decref(got);
	rx_stop(&r);
	credchain_free(c);
	free(huge);
	free_recs(&x);
}

static void test_throttled_then_ok(void **state)
{
	recs x = make_recs(1, 3, 10, bg_now_ms(), 1);
	credchain *c = chain(NULL);
	size_t acc = 99;
	json_t *got;
	bg_err e;
	void *s;
	rx r;

	(void)state;
	rx_start(&r, NULL, "--group", "breakglass", "--throttle", "1", NULL);
	s = open_sink(r.url, "breakglass", c);
	assert_int_equal(sink_cloudwatch_ops.deliver(s, x.r, 3, &acc, &e), BG_EUPSTREAM);
	assert_int_equal(acc, 0);
	assert_non_null(strstr(e.msg, "ThrottlingException"));
	assert_non_null(strstr(e.msg, "breakglass/gw-1"));
	assert_int_equal(sink_cloudwatch_ops.deliver(s, x.r, 3, &acc, &e), 0);
	assert_int_equal(acc, 3);
	sink_cloudwatch_ops.close(s);
	got = rx_events(&r);
	assert_int_equal(json_array_size(got), 3);
	json_decref(got);
	rx_stop(&r);
	credchain_free(c);
	free_recs(&x);
}

static void test_missing_group(void **state)
{
	recs x = make_recs(1, 2, 10, bg_now_ms(), 1);
	credchain *c = chain(NULL);
	size_t acc = 99;
	bg_err e;
	void *s;
	rx r;

	(void)state;
	rx_start(&r, NULL, "--group", "other", NULL);
	s = open_sink(r.url, "breakglass", c);
	assert_int_equal(sink_cloudwatch_ops.deliver(s, x.r, 2, &acc, &e), BG_EUPSTREAM);
	assert_int_equal(acc, 0);
	assert_non_null(strstr(e.msg, "the log group 'breakglass' does not exist in us-east-1"));
	sink_cloudwatch_ops.close(s);
	rx_stop(&r);
	credchain_free(c);
	free_recs(&x);
}

/* A group kept 1 day refuses records of 3 days ago (the service calls them expired): they
 * go again stamped with the delivery time, and nothing is lost. Records of 20 days ago are
 * stamped so before they are sent. */
static void test_old_records(void **state)
{
	const int64_t day = 24 * 3600 * 1000LL;
	int64_t now = bg_now_ms();
	recs x = make_recs(1, 6, 10, now - 20 * day, day / 2);
	credchain *c = chain(NULL);
	size_t acc = 0, i;
	json_t *got;
	bg_err e;
	void *s;
	rx r;

	(void)state;
	x.r[3].ts_ms = now - 3 * day; /* records 4-6: 3 days old, then newer */
	x.r[4].ts_ms = now - 3 * day + 1;
	x.r[5].ts_ms = now - 1000;
	rx_start(&r, NULL, "--group", "breakglass", "--retention-days", "1", NULL);
	s = open_sink(r.url, "breakglass", c);
	for (i = 0; i < 6; i += 3) {
		if (sink_cloudwatch_ops.deliver(s, x.r + i, 3, &acc, &e) != 0)
			fail_msg("deliver: %s", e.msg);
		assert_int_equal(acc, 3);
	}
	sink_cloudwatch_ops.close(s);
	got = rx_events(&r);
	/* 1-3 stamped before sending; 4 and 5 (one batch: 6 is more than 24 h later) sent
	 * again after they were refused */
	assert_int_equal(json_array_size(got), 6);
	for (i = 0; i < 6; i++) {
		static const int order[6] = {1, 2, 3, 4, 5, 6};
		json_t *ev = json_array_get(got, i);
		int64_t ts = json_integer_value(json_object_get(ev, "timestamp"));
		char want[32];

		assert_true(i == 5 ? ts == now - 1000 : ts >= now);
		snprintf(want, sizeof(want), "{\"seq\":%d,", order[i]);
		assert_non_null(strstr(json_string_value(json_object_get(ev, "message")), want));
	}
	json_decref(got);
	rx_stop(&r);
	credchain_free(c);
	free_recs(&x);
}

/* A service whose clock is 3 h behind the gateway's finds every event too new, even
 * stamped with the time of delivery: the delivery fails naming the records, nothing is
 * counted as accepted, and once the clocks agree the same records go through. */
static void test_too_new(void **state)
{
	recs x = make_recs(1, 3, 10, bg_now_ms(), 1);
	credchain *c = chain(NULL);
	size_t acc = 99;
	json_t *got;
	bg_err e;
	void *s;
	rx r;

	(void)state;
	rx_start(&r, NULL, "--group", "breakglass", "--skew-ms", "-10800000", NULL);
	s = open_sink(r.url, "breakglass", c);
	assert_int_equal(sink_cloudwatch_ops.deliver(s, x.r, 3, &acc, &e), BG_EUPSTREAM);
	assert_int_equal(acc, 0);
	assert_non_null(strstr(e.msg, "rejected audit records 1 to 3 even stamped"));
	assert_non_null(strstr(e.msg, "tooNew 0"));
	sink_cloudwatch_ops.close(s);
	got = rx_events(&r);
	assert_int_equal(json_array_size(got), 0);
	json_decref(got);
	rx_stop(&r);
	rx_start(&r, NULL, "--group", "breakglass", NULL);
	s = open_sink(r.url, "breakglass", c);
	assert_int_equal(sink_cloudwatch_ops.deliver(s, x.r, 3, &acc, &e), 0);
	assert_int_equal(acc, 3);
	sink_cloudwatch_ops.close(s);
	got = rx_events(&r);
	assert_int_equal(json_array_size(got), 3);
	json_decref(got);
	rx_stop(&r);
	credchain_free(c);
	free_recs(&x);
}

/* An older endpoint that wants sequence tokens, and two writers on one stream. */
static void test_legacy_tokens(void **state)
{
	recs x = make_recs(1, 4, 10, bg_now_ms(), 1);
	credchain *c = chain(NULL);
	size_t acc;
	json_t *got;
	bg_err e;
	void *a, *b;
	rx r;

	(void)state;
	rx_start(&r, NULL, "--group", "breakglass", "--legacy-tokens", NULL);
	a = open_sink(r.url, "breakglass", c);
	b = open_sink(r.url, "breakglass", c);
	assert_int_equal(sink_cloudwatch_ops.deliver(a, x.r, 1, &acc, &e), 0);
	assert_int_equal(sink_cloudwatch_ops.deliver(a, x.r + 1, 1, &acc, &e), 0);
	/* b has no token yet: InvalidSequenceTokenException names the one to use */
	assert_int_equal(sink_cloudwatch_ops.deliver(b, x.r + 2, 1, &acc, &e), 0);
	/* a's token is stale now: the same */
	assert_int_equal(sink_cloudwatch_ops.deliver(a, x.r + 3, 1, &acc, &e), 0);
	assert_int_equal(acc, 1);
	sink_cloudwatch_ops.close(a);
	sink_cloudwatch_ops.close(b);
	got = rx_events(&r);
	assert_int_equal(json_array_size(got), 4);
	json_decref(got);
	rx_stop(&r);
	credchain_free(c);
	free_recs(&x);
}

/* An older endpoint took a batch but its answer was lost: sent again with the same token,
 * DataAlreadyAcceptedException counts as accepted, and the events are there once. */
static void test_legacy_already_accepted(void **state)
{
	recs x = make_recs(1, 3, 10, bg_now_ms(), 1);
	credchain *c = chain(NULL);
	size_t acc = 99;
	json_t *got;
	bg_err e;
	void *s;
	rx r;

	(void)state;
	rx_start(&r, NULL, "--group", "breakglass", "--legacy-tokens", "--lose-answer", "1", NULL);
	s = open_sink(r.url, "breakglass", c);
	assert_int_equal(sink_cloudwatch_ops.deliver(s, x.r, 3, &acc, &e), BG_EUPSTREAM);
	assert_int_equal(acc, 0);
	assert_non_null(strstr(e.msg, "HTTP 500 InternalFailure"));
	if (sink_cloudwatch_ops.deliver(s, x.r, 3, &acc, &e) != 0)
		fail_msg("deliver: %s", e.msg);
	assert_int_equal(acc, 3);
	if (sink_cloudwatch_ops.deliver(s, x.r + 2, 1, &acc, &e) != 0) /* and the token moved on */
		fail_msg("deliver: %s", e.msg);
	sink_cloudwatch_ops.close(s);
	got = rx_events(&r);
	assert_int_equal(json_array_size(got), 4);
	json_decref(got);
	rx_stop(&r);
	credchain_free(c);
	free_recs(&x);
}

static void test_session_token(void **state)
{
	recs x = make_recs(1, 2, 10, bg_now_ms(), 1);
	credchain *c = chain(TOKEN);
	size_t acc;
	bg_err e;
	void *s;
	rx r;

	(void)state;
	rx_start(&r, TOKEN, "--group", "breakglass", NULL);
	setenv("AWS_ENDPOINT_URL_LOGS", r.url, 1); /* the endpoint from the environment */
	s = open_sink(NULL, "breakglass", c);
	unsetenv("AWS_ENDPOINT_URL_LOGS");
	if (sink_cloudwatch_ops.deliver(s, x.r, 2, &acc, &e) != 0)
		fail_msg("deliver: %s", e.msg);
	sink_cloudwatch_ops.close(s);
	rx_stop(&r);
	credchain_free(c);
	unsetenv("AWS_SESSION_TOKEN");
	free_recs(&x);
}

static void test_unreachable(void **state)
{
	recs x = make_recs(1, 1, 10, bg_now_ms(), 1);
	credchain *c = chain(NULL);
	size_t acc = 5;
	bg_err e;
	void *s;

	(void)state;
	s = open_sink("http://127.0.0.1:9", "breakglass", c);
	assert_int_equal(sink_cloudwatch_ops.deliver(s, x.r, 1, &acc, &e), BG_EUPSTREAM);
	assert_int_equal(acc, 0);
	assert_non_null(strstr(e.msg, "PutLogEvents http://127.0.0.1:9/"));
	assert_null(strstr(e.msg, SECRET));
	sink_cloudwatch_ops.close(s);
	credchain_free(c);
	free_recs(&x);
}

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

/* POSTs body to the receiver, signed (or with the signature's last digit changed);
 * returns the HTTP status. */
static long post(const rx *r, const char *op, const char *body, bool bad_sig)
{
	cwlogs_endpoint ep;
	struct curl_slist *h = NULL;
	char *p, *nl;
	long status = 0;
	bg_buf lines;
	bg_err e;
	CURL *c;

	bg_buf_init(&lines, 16384);
	assert_int_equal(cwlogs_endpoint_resolve(r->url, "us-east-1", &ep, &e), 0);
	assert_int_equal(cwlogs_request_headers(&ep, "us-east-1", op, body, strlen(body), AKID,
	                                        SECRET, NULL, (time_t)bg_now(), &lines, &e),
	                 0);
	if (bad_sig)
		lines.data[lines.len - 2] = lines.data[lines.len - 2] == '0' ? '1' : '0';
	for (p = lines.data; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		h = curl_slist_append(h, p);
		assert_non_null(h);
	}
	c = curl_easy_init();
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, ep.url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	bg_buf_free(&lines);
	return status;
}

/* The receiver is no rubber stamp: a batch out of time order, over the byte quota, past
 * the model's lengths or without a required member, and a wrong signature, are each
 * refused and noted as a breach. */
static void test_receiver_strict(void **state)
{
	static const char *const bad[] = {
	    "{\"logGroupName\":\"breakglass\",\"logStreamName\":\"gw-1\",\"logEvents\":["
	    "{\"timestamp\":2,\"message\":\"b\"},{\"timestamp\":1,\"message\":\"a\"}]}",
	    "{\"logGroupName\":\"breakglass\",\"logEvents\":[{\"timestamp\":1,\"message\":"
	    "\"a\"}]}",
	    "{\"logGroupName\":\"breakglass\",\"logStreamName\":\"gw-1\",\"logEvents\":[]}",
	    "{\"logGroupName\":\"bad group\",\"logStreamName\":\"gw-1\",\"logEvents\":["
	    "{\"timestamp\":1,\"message\":\"a\"}]}",
	    "{\"logGroupName\":\"breakglass\",\"logStreamName\":\"gw-1\",\"logEvents\":["
	    "{\"timestamp\":1,\"message\":\"\"}]}",
	};
	char *big = NULL;
	json_t *o;
	size_t i;
	FILE *f;
	char line[512];
	int n = 0;
	rx r;

	(void)state;
	rx_start(&r, NULL, "--group", "breakglass", NULL);
	assert_int_equal(post(&r, "CreateLogStream",
	                      "{\"logGroupName\":\"breakglass\",\"logStreamName\":\"gw-1\"}",
	                      false),
	                 200);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(post(&r, "PutLogEvents", bad[i], false), 400);
	/* five events of 209,690 bytes: 1,048,580 with the overhead, 4 over the quota */
	o = json_pack("{s:s,s:s,s:[]}", "logGroupName", "breakglass", "logStreamName", "gw-1",
	              "logEvents");
	assert_non_null(o);
	big = malloc(209691);
	assert_non_null(big);
	memset(big, 'm', 209690);
	big[209690] = '\0';
	for (i = 0; i < 5; i++)
		json_array_append_new(
		    json_object_get(o, "logEvents"),
		    json_pack("{s:I,s:s}", "timestamp", (json_int_t)bg_now_ms(), "message", big));
	free(big);
	big = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_int_equal(post(&r, "PutLogEvents", big, false), 400);
	free(big);
	assert_int_equal(post(&r, "PutLogEvents",
	                      "{\"logGroupName\":\"breakglass\",\"logStreamName\":\"gw-1\","
	                      "\"logEvents\":[{\"timestamp\":1,\"message\":\"a\"}]}",
	                      true),
	                 403);
	f = fopen(r.violations, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		n++;
	fclose(f);
	assert_int_equal(n, 7);
	unlink(r.violations); /* expected ones */
	rx_stop(&r);
}

static void test_open_errors(void **state)
{
	sink_conf conf;
	int dummy;
	void *s = &dummy;
	bg_err e;

	(void)state;
	memset(&conf, 0, sizeof(conf));
	conf.type = SINK_CLOUDWATCH;
	conf.log_group = "breakglass";
	conf.log_stream = "gw-1";
	conf.region = "us-east-1";
	conf.creds = NULL;
	assert_int_equal(sink_cloudwatch_ops.open(&conf, &s, &e), BG_EINVAL);
	assert_null(s);
	assert_non_null(strstr(e.msg, "no AWS identity"));
	conf.creds = &dummy;
	conf.log_group = "bad group";
	assert_int_equal(sink_cloudwatch_ops.open(&conf, &s, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "log_group"));
	conf.log_group = "breakglass";
	conf.log_stream = "gw:1";
	assert_int_equal(sink_cloudwatch_ops.open(&conf, &s, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "log_stream"));
	conf.log_stream = "gw-1";
	conf.region = NULL;
	assert_int_equal(sink_cloudwatch_ops.open(&conf, &s, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "region"));
	conf.region = "us-east-1";
	conf.endpoint = "gopher://x";
	assert_int_equal(sink_cloudwatch_ops.open(&conf, &s, &e), BG_EINVAL);
	assert_string_equal(sink_cloudwatch_ops.type, "cloudwatch");
	sink_cloudwatch_ops.close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timestamps),
	    cmocka_unit_test(test_stub),
	    cmocka_unit_test(test_batch_events),
	    cmocka_unit_test(test_batch_bytes),
	    cmocka_unit_test(test_batch_span_order),
	    cmocka_unit_test(test_put_body),
	    cmocka_unit_test(test_endpoint),
	    cmocka_unit_test(test_answers),
	    cmocka_unit_test(test_signed_like_botocore),
	    cmocka_unit_test(test_deliver),
	    cmocka_unit_test(test_throttled_then_ok),
	    cmocka_unit_test(test_missing_group),
	    cmocka_unit_test(test_old_records),
	    cmocka_unit_test(test_too_new),
	    cmocka_unit_test(test_legacy_tokens),
	    cmocka_unit_test(test_legacy_already_accepted),
	    cmocka_unit_test(test_session_token),
	    cmocka_unit_test(test_unreachable),
	    cmocka_unit_test(test_receiver_strict),
	    cmocka_unit_test(test_open_errors),
	};

	setenv("HOME", "/nonexistent", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
