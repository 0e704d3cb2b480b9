/*
 * test_report.c - the post-incident report (src/report): a scripted incident's records
 * (an alert, the incident, a request with its criteria approved with MFA, a solo
 * break-glass, queries with their responses, a write with its before-image, denials with
 * hostile strings, a revocation, the alerts resolving), chained and signed like the
 * gateway's, become a model holding every event field by field; each renderer shows
 * them; HTML and markdown escape what an attacker chose; the SVG is well formed; the
 * anomalies are found; a tampered record makes the verification fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/sigkey.h"
#include "common/buf.h"
#include "common/crypto.h"
#include "common/limits.h"
#include "report/report.h"

#define HOSTILE "<script>alert(\"x\")</script> & 'q'"
/* The same inside a JSON string. */
#define HOSTILE_J "<script>alert(\\\"x\\\")</script> & 'q'"

static char tmpdir[64];
static sigkey *key;

static int setup(void **state)
{
	char path[128];
	bg_err e;

	(void)state;
	if (ut_tmpdir(tmpdir, sizeof(tmpdir), "report") != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/k.pem", tmpdir);
	return sigkey_load(path, true, &key, &e);
}

static int teardown(void **state)
{
	(void)state;
	sigkey_free(key);
	ut_rm_tree(tmpdir);
	return 0;
}

/* Appends a record (detail as JSON text, or NULL). */
static void rec(json_t *arr, const char *ts, const char *kind, const char *actor, const char *grant,
                const char *rid, const char *op, const char *tables, const char *decision,
                const char *reason, int status, const char *detail)
{
	json_t *d = detail != NULL ? json_loads(detail, 0, NULL) : json_null();
	json_t *r;

	assert_non_null(d);
	r = json_pack("{s:I,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:i,s:o}", "seq",
	              (json_int_t)json_array_size(arr) + 1, "ts", ts, "kind", kind, "actor", actor,
	              "grant_id", grant, "request_id", rid, "op", op, "tables", tables, "decision",
	              decision, "reason", reason, "status", status, "detail", d);
	assert_non_null(r);
	assert_int_equal(json_array_append_new(arr, r), 0);
}

/* Sets r's prev_hash and hash as the audit log does (docs/audit.md); prev becomes r's. */
static void link_record(json_t *r, char prev[65])
{
	uint8_t h[BG_SHA256_LEN];
	char *canon;
	bg_buf b;

	assert_int_equal(json_object_set_new(r, "prev_hash", json_string(prev)), 0);
	canon = json_dumps(r, JSON_SORT_KEYS | JSON_COMPACT);
	assert_non_null(canon);
	bg_buf_init(&b, 1 << 20);
	assert_int_equal(bg_buf_reserve(&b, 32 + strlen(canon)), 0);
	assert_int_equal(bg_unhex(prev, 32, (uint8_t *)b.data), 0);
	b.len = 32;
	assert_int_equal(bg_buf_adds(&b, canon), 0);
	bg_sha256(b.data, b.len, h);
	bg_hex(h, sizeof(h), prev);
	bg_buf_free(&b);
	free(canon);
	assert_int_equal(json_object_set_new(r, "hash", json_string(prev)), 0);
}

/* Chains the records and appends a checkpoint signed with key covering the last one. */
static void chain_and_sign(json_t *arr)
{
	char prev[65], sighex[2 * SIGKEY_SIG_LEN + 1];
	uint8_t sig[SIGKEY_SIG_LEN];
	json_t *r, *cp;
	size_t i;
	bg_err e;

	memset(prev, '0', 64);
	prev[64] = '\0';
	json_array_foreach(arr, i, r) link_record(r, prev);
	assert_int_equal(sigkey_sign(key, (int64_t)json_array_size(arr), prev, sig, &e), 0);
	bg_hex(sig, sizeof(sig), sighex);
	cp = json_pack("{s:I,s:s,s:s,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:i,s:{s:I,s:s,s:s,s:s,s:i}}",
	               "seq", (json_int_t)json_array_size(arr) + 1, "ts",
	               "2026-12-01T03:59:59.000Z", "kind", "checkpoint", "actor", "grant_id",
	               "request_id", "op", "tables", "decision", "reason", "status", 0, "detail",
	               "covers_seq", (json_int_t)json_array_size(arr), "covers_hash", prev,
	               "key_id", sigkey_id(key), "sig", sighex, "v", 1);
	assert_non_null(cp);
	link_record(cp, prev); /* the checkpoint is chained like every record */
	assert_int_equal(json_array_append_new(arr, cp), 0);
}

#define G1 "bg-aaaaaaaaaa"
#define G2 "bg-bbbbbbbbbb"

/* The scripted incident. Seqs: 1 alert firing, 2 incident-open, 3 request G1, 4 approve,
 * 5 creds, 6 query, 7 response, 8 denial (hostile), 9 request G2, 10 solo, 11 write
 * (before-image), 12 response, 13 query near G1's end, 14 response (over budget), 15
 * alert resolved, 16 query after, 17 response, 18 revoke G1, 19 query with no response,
 * 20 checkpoint. */
static json_t *incident_records(void)
{
	json_t *a = json_array();

	assert_non_null(a);
	rec(a, "2026-12-01T03:00:00.000Z", "alert", "alertmanager", NULL, NULL, "alert", NULL,
	    "allow", NULL, 0,
	    "{\"source\":\"alertmanager\",\"group\":\"g1\",\"incident\":\"INC-1\",\"alerts\":"
	    "[{\"key\":\"k1\",\"name\":\"OrdersStuck " HOSTILE_J "\",\"state\":\"firing\"}]}");
	rec(a, "2026-12-01T03:00:01.000Z", "incident-open", "alice", NULL, "r1", "incident-open",
	    NULL, "allow", NULL, 0,
	    "{\"incident\":\"INC-1\",\"severity\":1,\"title\":\"orders " HOSTILE_J
	    "\",\"service\":\"orders\",\"source\":\"manual\"}");
	rec(a, "2026-12-01T03:01:00.000Z", "request", "alice", G1, "r2", "request", NULL, "allow",
	    NULL, 0,
	    "{\"request\":\"" G1 "\",\"incident\":\"INC-1\",\"runbooks\":[\"orders-of-customer@"
	    "abcd\"],\"reason\":\"customers " HOSTILE_J "\",\"duration_seconds\":600,\"criteria\":"
	    "[{\"check\":\"incident_open\",\"ok\":true,\"message\":\"SEV1 is open\"},{\"check\":"
	    "\"reason\",\"ok\":true,\"message\":\"long enough\"}]}");
	rec(a, "2026-12-01T03:02:00.000Z", "request-approve", "bob", G1, "r3", "request-approve",
	    NULL, "allow", "ok by me", 0, "{\"request\":\"" G1 "\",\"incident\":\"INC-1\"}");
	rec(a, "2026-12-01T03:02:01.000Z", "creds", "alice", G1, "r4", "creds", NULL, "allow", NULL,
	    0, NULL);
	rec(a, "2026-12-01T03:03:00.100Z", "request", "alice", G1, "q1", "Query", "orders", "allow",
	    NULL, 0,
	    "{\"peer\":\"127.0.0.1:1\",\"user_agent\":\"ua " HOSTILE_J "\",\"runbook\":{\"id\":"
	    "\"orders-of-customer\",\"hash\":\"abcdef0123456789\",\"params\":{\"customer\":{\"S\":"
	    "\"CUSTOMER#42\"}}}}");
	rec(a, "2026-12-01T03:03:00.142Z", "response", "alice", G1, "q1", "Query", "orders", NULL,
	    NULL, 200,
	    "{\"outcome\":\"answered\",\"items\":2,\"count\":2,\"scanned_count\":2,\"keys\":[{"
	    "\"pk\":"
	    "{\"S\":\"C#42\"}},{\"pk\":{\"S\":\"C#43\"}}],\"consumed_capacity\":{\"CapacityUnits\":"
	    "0.5,\"TableName\":\"orders\"}}");
	rec(a, "2026-12-01T03:04:00.000Z", "denial", "alice", G1, "q2", "Scan", "orders", "deny",
	    "Scan is not allowed " HOSTILE, 400, "{\"user_agent\":\"" HOSTILE_J "\"}");
	rec(a, "2026-12-01T03:05:00.000Z", "request", "alice", G2, "r5", "request", NULL, "allow",
	    NULL, 0,
	    "{\"request\":\"" G2 "\",\"incident\":\"INC-1\",\"runbooks\":[\"unstick-order@ef\"],"
	    "\"reason\":\"fix it\",\"duration_seconds\":300,\"criteria\":[]}");
	rec(a, "2026-12-01T03:06:00.000Z", "request-solo", "alice", G2, "r6", "request-solo", NULL,
	    "allow", NULL, 0,
	    "{\"request\":\"" G2 "\",\"incident\":\"INC-1\",\"grant\":\"" G2
	    "\",\"grant_expires_at\":\"2026-12-01T03:11:00Z\",\"grant_budget\":{\"read\":3,"
	    "\"write\":1}}");
	rec(a, "2026-12-01T03:07:00.000Z", "request", "alice", G2, "q3", "UpdateItem", "orders",
	    "allow", NULL, 0,
	    "{\"runbook\":{\"id\":\"unstick-order\",\"hash\":\"ef\",\"params\":{}}}");
	rec(a, "2026-12-01T03:07:00.010Z", "response", "alice", G2, "q3", "UpdateItem", "orders",
	    NULL, NULL, 200,
	    "{\"outcome\":\"answered\",\"consumed_capacity\":{\"CapacityUnits\":1.0},"
	    "\"before_image\":{\"pk\":{\"S\":\"C#42\"},\"status\":{\"S\":\"STUCK\"}}}");
	rec(a, "2026-12-01T03:11:30.000Z", "request", "alice", G1, "q4", "Query", "orders", "allow",
	    NULL, 0,
	    "{\"runbook\":{\"id\":\"orders-of-customer\",\"hash\":\"abcd\",\"params\":{}}}");
	rec(a, "2026-12-01T03:11:30.250Z", "response", "alice", G1, "q4", "Query", "orders", NULL,
	    NULL, 200,
	    "{\"outcome\":\"answered\",\"items\":0,\"count\":0,\"consumed_capacity\":[{\""
	    "ReadCapacityUnits\":4.0},{\"WriteCapacityUnits\":0.5}]}");
	rec(a, "2026-12-01T03:20:00.000Z", "alert", "alertmanager", NULL, NULL, "alert", NULL,
	    "allow", NULL, 0,
	    "{\"source\":\"alertmanager\",\"group\":\"g1\",\"incident\":\"INC-1\",\"alerts\":"
	    "[{\"key\":\"k1\",\"name\":\"OrdersStuck\",\"state\":\"resolved\"}]}");
	rec(a, "2026-12-01T03:21:00.000Z", "request", "alice", G2, "q5", "GetItem", "orders",
	    "allow", NULL, 0, "{}");
	rec(a, "2026-12-01T03:21:00.003Z", "response", "alice", G2, "q5", "GetItem", "orders", NULL,
	    NULL, 200, "{\"outcome\":\"answered\",\"items\":1}");
	rec(a, "2026-12-01T03:22:00.000Z", "revoke", "alice", G1, "r7", "revoke", NULL, "allow",
	    NULL, 0, NULL);
	rec(a, "2026-12-01T03:23:00.000Z", "request", "alice", G2, "q6", "GetItem", "orders",
	    "allow", NULL, 0, "{}");
	chain_and_sign(a);
	return a;
}

static report *build(json_t *recs, double budget)
{
	report_opts o;
	report *r = NULL;
	bg_err e;

	report_opts_init(&o);
	o.incident = "INC-1";
	o.keys = (const sigkey *const *)&key;
	o.nkeys = 1;
	o.budget = budget;
	o.generated_at = "2026-12-01T04:00:00Z";
	assert_int_equal(report_build(recs, &o, &r, &e), 0);
	return r;
}

static json_t *at(json_t *m, const char *arr, size_t i)
{
	json_t *v = json_array_get(json_object_get(m, arr), i);

	assert_non_null(v);
	return v;
}

static const char *s_of(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	assert_non_null(s);
	return s;
}

static json_int_t i_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void test_model(void **state)
{
	json_t *recs = incident_records(), *m, *q, *x, *inc, *v;
	report *r;
	size_t i, n_anom;
	bool seen[8] = {false};
	static const char *const kinds[] = {"solo",        "denial",         "budget_exhausted",
	                                    "near_expiry", "after_resolved", "no_response"};

	(void)state;
	r = build(recs, 5.0);
	m = report_model(r);
	inc = json_object_get(m, "incident");
	assert_string_equal(s_of(inc, "id"), "INC-1");
	assert_string_equal(s_of(inc, "title"), "orders " HOSTILE);
	assert_int_equal(i_of(inc, "severity"), 1);
	assert_string_equal(s_of(inc, "opened_at"), "2026-12-01T03:00:01.000Z");
	assert_string_equal(s_of(inc, "opened_by"), "alice");
	assert_string_equal(s_of(inc, "alerts_resolved_at"), "2026-12-01T03:20:00.000Z");
	/* every record but the responses (folded into their queries) is on the timeline */
	assert_int_equal(json_array_size(json_object_get(m, "timeline")), 19 - 4);
	assert_int_equal(i_of(at(m, "timeline", 0), "seq"), 1);
	assert_non_null(
	    strstr(s_of(at(m, "timeline", 0), "text"), "OrdersStuck " HOSTILE " firing"));
	/* the requests */
	assert_int_equal(json_array_size(json_object_get(m, "requests")), 2);
	q = at(m, "requests", 0);
	assert_string_equal(s_of(q, "id"), G1);
	assert_int_equal(i_of(q, "seq"), 3);
	assert_string_equal(s_of(q, "requester"), "alice");
	assert_string_equal(s_of(q, "reason"), "customers " HOSTILE);
	assert_int_equal(i_of(q, "duration_seconds"), 600);
	assert_int_equal(json_array_size(json_object_get(q, "criteria")), 2);
	assert_true(json_is_true(json_object_get(q, "mfa")));
	x = json_array_get(json_object_get(q, "approvals"), 0);
	assert_string_equal(s_of(x, "actor"), "bob");
	assert_string_equal(s_of(x, "decision"), "approve");
	assert_string_equal(s_of(x, "reason"), "ok by me");
	assert_string_equal(s_of(q, "granted_at"), "2026-12-01T03:02:00.000Z");
	assert_string_equal(s_of(q, "expires_at"), "2026-12-01T03:12:00Z");
	assert_string_equal(s_of(q, "revoked_at"), "2026-12-01T03:22:00.000Z");
	assert_string_equal(s_of(q, "state"), "revoked");
	assert_true(json_is_false(json_object_get(q, "solo")));
	/* an approval written before records named their grant: its start is inferred */
	assert_true(json_is_true(json_object_get(q, "grant_inferred")));
	q = at(m, "requests", 1);
	assert_string_equal(s_of(q, "id"), G2);
	assert_true(json_is_true(json_object_get(q, "solo")));
	assert_string_equal(s_of(q, "state"), "approved");
	/* the solo record names the grant and its end */
	assert_true(json_is_false(json_object_get(q, "grant_inferred")));
	assert_string_equal(s_of(q, "granted_at"), "2026-12-01T03:06:00.000Z");
	assert_string_equal(s_of(q, "expires_at"), "2026-12-01T03:11:00Z");
	/* the queries, joined to their responses */
	assert_int_equal(json_array_size(json_object_get(m, "queries")), 5);
	q = at(m, "queries", 0);
	assert_int_equal(i_of(q, "seq"), 6);
	assert_int_equal(i_of(q, "response_seq"), 7);
	assert_string_equal(s_of(q, "op"), "Query");
	assert_string_equal(s_of(q, "tables"), "orders");
	assert_string_equal(s_of(q, "grant"), G1);
	assert_string_equal(s_of(json_object_get(q, "runbook"), "id"), "orders-of-customer");
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_object_get(json_object_get(json_object_get(q, "runbook"), "params"),
	                        "customer"),
	        "S")),
	    "CUSTOMER#42");
	assert_int_equal(i_of(q, "items"), 2);
	assert_int_equal(i_of(q, "count"), 2);
	assert_int_equal(json_array_size(json_object_get(q, "keys")), 2);
	assert_true(json_real_value(json_object_get(q, "consumed_capacity")) == 0.5);
	assert_int_equal(i_of(q, "latency_ms"), 42);
	assert_string_equal(s_of(q, "user_agent"), "ua " HOSTILE);
	q = at(m, "queries", 2); /* a batch-style capacity list: summed */
	assert_true(json_real_value(json_object_get(q, "consumed_capacity")) == 4.5);
	assert_int_equal(i_of(q, "latency_ms"), 250);
	assert_true(json_is_true(json_object_get(q, "near_expiry")));
	q = at(m, "queries", 4);
	assert_true(json_is_null(json_object_get(q, "response_seq")));
	/* denials, writes, capacity */
	assert_int_equal(json_array_size(json_object_get(m, "denials")), 1);
	x = at(m, "denials", 0);
	assert_int_equal(i_of(x, "seq"), 8);
	assert_string_equal(s_of(x, "reason"), "Scan is not allowed " HOSTILE);
	assert_int_equal(json_array_size(json_object_get(m, "writes")), 1);
	x = at(m, "writes", 0);
	/* The response record's seq: the one that holds the before-image, which undo takes. */
	assert_int_equal(i_of(x, "seq"), 12);
	assert_string_equal(s_of(x, "undo"), "breakglass undo 12 --grant " G2);
	assert_non_null(json_object_get(json_object_get(x, "before_image"), "status"));
	assert_true(json_real_value(json_object_get(json_object_get(m, "capacity"), "total")) ==
	            6.0);
	assert_true(json_real_value(json_object_get(json_object_get(m, "capacity"), "budget")) ==
	            5.0); /* --budget wins over what the trail says */
	assert_int_equal(json_array_size(json_object_get(m, "capacity_points")), 3);
	/* the anomalies */
	n_anom = json_array_size(json_object_get(m, "anomalies"));
	for (i = 0; i < n_anom; i++) {
		const char *k = s_of(at(m, "anomalies", i), "kind");
		size_t j;
		for (j = 0; j < sizeof(kinds) / sizeof(kinds[0]); j++)
			if (strcmp(k, kinds[j]) == 0)
				seen[j] = true;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		assert_true(seen[i]);
	/* the verification */
	v = json_object_get(m, "verification");
	assert_true(json_is_true(json_object_get(v, "ok")));
	assert_int_equal(i_of(v, "records"), 20);
	assert_int_equal(i_of(v, "signed_seq"), 19);
	assert_int_equal(i_of(v, "first_checkpoint"), 20);
	report_free(r);
	json_decref(recs);
}

static char *render(report *r, int (*fn)(const report *, bg_buf *))
{
	bg_buf b;

	bg_buf_init(&b, BG_MAX_REPORT_BYTES);
	assert_int_equal(fn(r, &b), 0);
	return bg_buf_steal(&b);
}

static void test_renderers(void **state)
{
	json_t *recs = incident_records(), *back;
	report *r = build(recs, 5.0);
	char *md = render(r, report_md), *html = render(r, report_html),
	     *js = render(r, report_json);
	static const char *const everywhere[] = {
	    G1, G2, "orders-of-customer", "unstick-order", "bob", "breakglass undo 12 --grant " G2};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(everywhere) / sizeof(everywhere[0]); i++) {
		assert_non_null(strstr(md, everywhere[i]));
		assert_non_null(strstr(html, everywhere[i]));
		assert_non_null(strstr(js, everywhere[i]));
	}
	/* the sections */
	assert_non_null(strstr(md, "\n## Timeline"));
	assert_non_null(strstr(md, "\n## Writes, their before-images and undo commands"));
	assert_non_null(strstr(md, "\n## Learnings (to fill in)"));
	assert_non_null(strstr(html, "<h2 id=\"anomalies\">"));
	assert_non_null(strstr(html, "@media print"));
	/* escaping: nothing an attacker wrote is markup */
	assert_null(strstr(html, "<script"));
	assert_null(strstr(md, "<script"));
	assert_non_null(
	    strstr(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"));
	assert_non_null(strstr(md, "&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; 'q'"));
	assert_null(strstr(html, "src=\"http"));
	assert_null(strstr(html, "href=\"http"));
	/* the json format is the model */
	back = json_loads(js, 0, NULL);
	assert_non_null(back);
	assert_true(json_equal(back, report_model(r)));
	json_decref(back);
	free(md);
	free(html);
	free(js);
	report_free(r);
	json_decref(recs);
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (s = strstr(s, needle); s != NULL; s = strstr(s + 1, needle))
		n++;
	return n;
}

static void test_svg(void **state)
{
	json_t *recs = incident_records();
	report *r = build(recs, 5.0);
	char *svg = render(r, report_svg);
	const char *p;
	int depth = 0;

	(void)state;
	assert_true(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
	assert_int_equal(count(svg, "<svg"), 1);
	assert_int_equal(count(svg, "</svg>"), 1);
	assert_int_equal(count(svg, "<polyline"), 1);
	assert_int_equal(count(svg, "stroke-dasharray"), 1); /* the budget */
	assert_int_equal(count(svg, "<text"), count(svg, "</text>"));
	/* tags balance: every element opened is closed or self-closed, in order */
	for (p = svg; (p = strchr(p, '<')) != NULL; p++) {
		const char *end = strchr(p, '>');
		assert_non_null(end);
		if (p[1] == '/')
			depth--;
		else if (end[-1] != '/')
			depth++;
		assert_true(depth >= 0);
	}
	assert_int_equal(depth, 0);
	free(svg);
	report_free(r);
	json_decref(recs);
	/* no budget, no capacity: no dashed line, a sentence instead of a curve */
	recs = json_array();
	r = build(recs, -1);
	svg = render(r, report_svg);
	assert_int_equal(count(svg, "stroke-dasharray"), 0);
	assert_non_null(strstr(svg, "no consumed capacity was recorded"));
	free(svg);
	report_free(r);
	json_decref(recs);
}

/* Without --budget, the incident's budget is its grants' as recorded with the approvals
 * (guardrails.budget): here G2's, read 3 + write 1. */
static void test_budget_from_trail(void **state)
{
	json_t *recs = incident_records();
	report *r;

	(void)state;
	r = build(recs, -1);
	assert_true(json_real_value(json_object_get(json_object_get(report_model(r), "capacity"),
	                                            "budget")) == 4.0);
	report_free(r);
	json_decref(recs);
}

static void test_tampered(void **state)
{
	json_t *recs = incident_records(), *v;
	report *r;

	(void)state;
	/* the denial's reason softened after the fact */
	assert_int_equal(
	    json_object_set_new(json_array_get(recs, 7), "reason", json_string("nothing to see")),
	    0);
	r = build(recs, -1);
	v = json_object_get(report_model(r), "verification");
	assert_true(json_is_false(json_object_get(v, "ok")));
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(v, "problems"), 0), "kind")),
	                    "edited");
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_array_get(json_object_get(report_model(r), "anomalies"),
	                       json_array_size(json_object_get(report_model(r), "anomalies")) - 1),
	        "kind")),
	    "audit_broken");
	report_free(r);
	json_decref(recs);
}

static void test_bad_input(void **state)
{
	json_t *junk =
	    json_loads("[1, \"x\", {}, {\"seq\":\"a\"}, {\"seq\":1,\"kind\":\"response\"},"
	               "{\"seq\":2,\"kind\":\"request\",\"op\":\"request\"},"
	               "{\"seq\":3,\"kind\":\"request-solo\",\"detail\":5}]",
	               0, NULL);
	report_opts o;
	report *r = NULL;
	bg_err e;
	char *md;

	(void)state;
	report_opts_init(&o);
	assert_int_equal(report_build(junk, &o, &r, &e), BG_EINVAL); /* no incident */
	o.incident = "INC-1";
	assert_int_equal(report_build(json_object_get(junk, "x"), &o, &r, &e), BG_EINVAL);
	assert_int_equal(report_build(junk, &o, &r, &e), 0);
	md = render(r, report_md);
	assert_non_null(strstr(md, "Not verified: no public key given."));
	free(md);
	report_free(r);
	json_decref(junk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_model),     cmocka_unit_test(test_renderers),
	    cmocka_unit_test(test_svg),       cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_bad_input), cmocka_unit_test(test_budget_from_trail),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
