/*
 * runbook_test.c - `breakglass runbook test [ID] [--endpoint URL]`: every test of every
 * template (or of one), each against a fresh table in a local DynamoDB loaded from the
 * test's fixtures.
 *
 * Without --endpoint a private dynalite (localddb.h) is started on a free loopback port
 * and stopped at the end. A read template's test counts (and compares) the items of every page up
 * to max_pages; a write template's counts 1 when the write happened and 0 when its condition
 * refused it, and compares the item's state afterwards.
 */
#include "cli/runbook_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ddb_client.h"
#include "cli/localddb.h"
#include "common/limits.h"
#include "runbook/runbook.h"

/* --- one test ------------------------------------------------------------------------ */

typedef struct tester {
	cli_ddb *db;
	const runbook_set *set;
	const char *dir;
	json_t *results; /* --json: [{runbook, test, ok, message}] */
	int passed, failed;
} tester;

/* The items a read returns over its pages, or for a write 1 item or 0 (condition). */
static int run_template(tester *t, const runbook *r, const json_t *avs, json_t *got, int64_t *count,
                        bg_err *e)
{
	json_t *req = NULL, *ans = NULL, *prev = NULL, *items, *it;
	const json_t *start = NULL; /* in prev, the page before */
	const char *op = r->op->name;
	bool write = (r->op->flags & DDB_F_WRITE) != 0;
	int64_t page, pages = r->max_pages > 0 ? r->max_pages : 1;
	size_t i;
	int rc = 0;

	*count = 0;
	for (page = 0; page < pages; page++) {
		rc = runbook_render(r, avs, start, &req, e);
		json_decref(prev); /* the render holds what it needs of start */
		prev = NULL;
		if (rc != 0)
			break;
		rc = cli_ddb_call(t->db, op, req, &ans, e);
		json_decref(req);
		if (write) {
			const char *type = json_string_value(json_object_get(ans, "__type"));
			if (rc == BG_EDENIED && type != NULL &&
			    strstr(type, "ConditionalCheckFailedException") != NULL)
				rc = 0; /* the condition refused it: count 0 */
			else if (rc == 0)
				*count = 1;
			break;
		}
		if (rc != 0)
			break;
		if (strcmp(op, "GetItem") == 0 && (it = json_object_get(ans, "Item")) != NULL)
			json_array_append(got, it);
		items = strcmp(op, "BatchGetItem") == 0
		            ? json_object_get(json_object_get(ans, "Responses"), r->table)
		            : json_object_get(ans, "Items");
		json_array_foreach(items, i, it) json_array_append(got, it);
		start = json_object_get(ans, "LastEvaluatedKey");
		prev = ans;
		ans = NULL;
		if (start == NULL)
			break;
	}
	json_decref(prev);
	json_decref(ans);
	if (!write && rc == 0)
		*count = (int64_t)json_array_size(got);
	return rc;
}

/* For a write: the item's state after it, by the template's key. */
static int item_after(tester *t, const runbook *r, const json_t *avs, json_t *got, bg_err *e)
{
	json_t *key = json_object(), *req, *ans = NULL, *v, *val;
	const char *attr;
	int rc;

	json_object_foreach(r->key != NULL ? r->key : r->item, attr, v)
	{
		const char *ph = json_string_value(v);
		val = json_object_get(r->values, ph);
		if (val == NULL)
			val = json_object_get(avs, ph + 1);
		if (r->key == NULL && runbook_set_table(t->set, r->table) != NULL) {
			const runbook_table *tb = runbook_set_table(t->set, r->table);
			if (strcmp(attr, tb->keys.pk) != 0 && strcmp(attr, tb->keys.sk) != 0)
				continue;
		}
		json_object_set(key, attr, val);
	}
	req = json_pack("{s:s,s:o,s:b}", "TableName", r->table, "Key", key, "ConsistentRead", 1);
	rc = cli_ddb_call(t->db, "GetItem", req, &ans, e);
	json_decref(req);
	if (rc == 0 && json_object_get(ans, "Item") != NULL)
		json_array_append(got, json_object_get(ans, "Item"));
	json_decref(ans);
	return rc;
}

static bool av_equal(const json_t *a, const json_t *b);

/* Two DynamoDB numbers as values: DynamoDB answers "19.9" for a stored "19.90". */
static bool num_equal(const json_t *a, const json_t *b)
{
	const char *x = json_string_value(a), *y = json_string_value(b);

	return x != NULL && y != NULL && strtold(x, NULL) == strtold(y, NULL);
}

/* Sets (SS, NS, BS): the same members in any order. */
static bool set_equal(const json_t *a, const json_t *b, bool numbers)
{
	size_t i, j;
	json_t *x, *y;

	if (!json_is_array(a) || !json_is_array(b) || json_array_size(a) != json_array_size(b))
		return false;
	json_array_foreach(a, i, x)
	{
		bool found = false;
		json_array_foreach(b, j, y) found =
		    found || (numbers ? num_equal(x, y) : json_equal(x, y));
		if (!found)
			return false;
	}
	return true;
}

/* Items (maps of attribute values) or attribute values, as DynamoDB means them. */
static bool av_equal(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(a) || !json_is_object(b) || json_object_size(a) != json_object_size(b))
		return json_equal(a, b);
	json_object_foreach((json_t *)a, k, v)
	{
		const json_t *w = json_object_get(b, k);
		bool same;
		if (w == NULL)
			return false;
		if (strcmp(k, "N") == 0)
			same = num_equal(v, w);
		else if (strcmp(k, "NS") == 0 || strcmp(k, "SS") == 0 || strcmp(k, "BS") == 0)
			same = set_equal(v, w, k[0] == 'N');
		else if (strcmp(k, "L") == 0) {
			same = json_is_array(v) && json_is_array(w) &&
			       json_array_size(v) == json_array_size(w);
			for (i = 0; same && i < json_array_size(v); i++)
				same = av_equal(json_array_get(v, i), json_array_get(w, i));
		} else
			same = av_equal(v, w);
		if (!same)
			return false;
	}
	return true;
}

/* Every expected item is among got, and as many as expected. */
static bool items_match(const json_t *want, const json_t *got, char *why, size_t cap)
{
	size_t i, j;
	json_t *w, *g;

	if (json_array_size(want) != json_array_size(got)) {
		snprintf(why, cap, "%zu items, expected %zu", json_array_size(got),
		         json_array_size(want));
		return false;
	}
	json_array_foreach(want, i, w)
	{
		bool found = false;
		json_array_foreach(got, j, g) found = found || av_equal(w, g);
		if (!found) {
			char *ws = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
			char *gs =
			    json_dumps(json_array_get(got, 0), JSON_COMPACT | JSON_SORT_KEYS);
			snprintf(why, cap,
			         "expected item %zu (%.200s) is not among the items returned (the "
			         "first: %.200s)",
			         i + 1, ws != NULL ? ws : "?", gs != NULL ? gs : "none");
			free(ws);
			free(gs);
			return false;
		}
	}
	return true;
}

static void report(tester *t, const runbook *r, const runbook_test *rt, bool ok, const char *msg)
{
	if (ok)
		t->passed++;
	else
		t->failed++;
	if (t->results != NULL) {
		json_array_append_new(t->results,
		                      json_pack("{s:s,s:s,s:b,s:s}", "runbook", r->id, "test",
		                                rt->name, "ok", ok, "message", msg));
		return;
	}
	if (ok)
		printf("PASS %s: %s\n", r->id, rt->name);
	else
		printf("FAIL %s: %s: %s\n", r->id, rt->name, msg);
	fflush(stdout);
}

static void run_test(tester *t, const runbook *r, const runbook_test *rt)
{
	const runbook_table *tb = runbook_set_table(t->set, r->table);
	json_t *avs = NULL, *got = json_array();
	char why[600] = "";
	int64_t count = 0;
	bg_err e;
	bool ok = false;

	if (tb == NULL || got == NULL) {
		report(t, r, rt, false, "table not declared");
		json_decref(got);
		return;
	}
	if (localddb_fresh_table(t->db, tb, &e) != 0 ||
	    localddb_load_fixtures(t->db, t->dir, rt->fixtures, r->table, &e) != 0 ||
	    runbook_bind(r, rt->params, &avs, &e) != 0 ||
	    run_template(t, r, avs, got, &count, &e) != 0) {
		snprintf(why, sizeof(why), "%s", e.msg);
	} else if ((r->op->flags & DDB_F_WRITE) != 0 && rt->expect_items != NULL &&
	           (json_array_clear(got), item_after(t, r, avs, got, &e)) != 0) {
		snprintf(why, sizeof(why), "reading the item afterwards: %s", e.msg);
	} else if (rt->expect_count >= 0 && count != rt->expect_count) {
		snprintf(why, sizeof(why), "%s %lld, expected %lld",
		         (r->op->flags & DDB_F_WRITE) ? "wrote" : "got", (long long)count,
		         (long long)rt->expect_count);
	} else if (rt->expect_items != NULL &&
	           !items_match(rt->expect_items, got, why, sizeof(why))) {
		/* why is set */
	} else {
		ok = true;
	}
	report(t, r, rt, ok, why);
	json_decref(avs);
	json_decref(got);
}

int cli_runbook_test(const cli_ctx *ctx, const char *dir, const char *id, const char *endpoint)
{
	runbook_diags d = {NULL, 0};
	runbook_set *s = NULL;
	char url[64];
	pid_t pid = 0;
	tester t;
	bg_err e;
	size_t i, j, ntests = 0;
	int rc;

	memset(&t, 0, sizeof(t));
	rc = runbook_set_load(dir, &s, &d, &e);
	if (rc != 0) {
		if (d.n > 0)
			fprintf(stderr, "breakglass: %s/%s:%u: %s\n", dir, d.items[0].file,
			        d.items[0].line, d.items[0].msg);
		runbook_diags_free(&d);
		runbook_set_free(s);
		return cli_fail(rc == BG_EINVAL      ? CLI_EXIT_REFUSED
		                : rc == BG_ENOTFOUND ? CLI_EXIT_USAGE
		                                     : CLI_EXIT_LOCAL,
		                rc == BG_EINVAL ? "lint" : NULL, "%s", e.msg);
	}
	if (id != NULL && runbook_set_find(s, id) == NULL) {
		runbook_set_free(s);
		return cli_fail(CLI_EXIT_REFUSED, "not_found", "no runbook %s in %s", id, dir);
	}
	if (endpoint == NULL) {
		if (localddb_start(&pid, url, sizeof(url), &e) != 0) {
			runbook_set_free(s);
			return cli_fail(CLI_EXIT_LOCAL, NULL, "%s", e.msg);
		}
		endpoint = url;
	}
	t.set = s;
	t.dir = dir;
	t.results = ctx->json ? json_array() : NULL;
	rc = cli_ddb_new(endpoint, "us-east-1", "breakglass-runbook-test",
	                 "breakglass-runbook-test", NULL, &t.db, &e);
	if (rc == 0 && pid > 0)
		rc = localddb_wait_ready(t.db, &e);
	if (rc != 0) {
		localddb_stop(pid);
		runbook_set_free(s);
		json_decref(t.results);
		return cli_fail(CLI_EXIT_LOCAL, NULL, "%s", e.msg);
	}
	for (i = 0; i < runbook_set_count(s); i++) {
		const runbook *r = runbook_set_at(s, i);
		if (id != NULL && strcmp(r->id, id) != 0)
			continue;
		for (j = 0; j < r->n_tests; j++, ntests++)
			run_test(&t, r, &r->tests[j]);
	}
	cli_ddb_free(t.db);
	localddb_stop(pid);
	if (ctx->json) {
		json_t *o = json_pack("{s:o,s:i,s:i}", "tests", t.results, "passed", t.passed,
		                      "failed", t.failed);
		rc = o != NULL ? cli_emit_json(o) : cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		json_decref(o);
	} else {
		printf("%d passed, %d failed\n", t.passed, t.failed);
		rc = CLI_EXIT_OK;
	}
	runbook_set_free(s);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (t.failed > 0 || ntests == 0) {
		if (ntests == 0)
			fprintf(stderr, "breakglass: no tests to run\n");
		return CLI_EXIT_REFUSED;
	}
	return CLI_EXIT_OK;
}
