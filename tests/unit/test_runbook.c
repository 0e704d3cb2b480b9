/*
 * test_runbook.c - runbook files: the issue's examples load as written; the content hash
 * ignores formatting and tests but not a change of meaning; every schema problem is
 * reported with its file and line (and all of them, not just the first); strict YAML
 * (anchors, aliases, duplicate keys); parameter values checked by type, pattern, enum,
 * range and length; a template renders to the request that runs it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include <stdio.h>
#include <string.h>

#include "runbook/runbook.h"

static char dir[64];

static const char tables_yaml[] =
    "# tables.yaml\n"
    "orders:\n"
    "  partition_key: {pk: S}\n"
    "  sort_key: {sk: S}\n"
    "  indexes:\n"
    "    by-status: {partition_key: {status: S}, sort_key: {sk: S}}\n";

static const char query_yaml[] =
    "id: orders-of-customer\n"
    "title: Orders of one customer\n"
    "when: A customer reports missing or stuck orders.\n"
    "table: orders\n"
    "operation: Query\n"
    "key_condition: \"pk = :customer AND begins_with(sk, :prefix)\"\n"
    "projection: \"pk, sk, #status, total\"\n"
    "names: {\"#status\": status}\n"
    "params:\n"
    "  customer: {type: S, pattern: \"^CUSTOMER#[0-9]{1,12}$\"}\n"
    "  prefix: {type: S, enum: [\"ORDER#\", \"RETURN#\"], default: \"ORDER#\"}\n"
    "limit: 25\n"
    "max_pages: 4\n"
    "tests:\n"
    "  - name: the three stuck orders of customer 42\n"
    "    fixtures: fixtures/orders.json      # items loaded into a fresh table\n"
    "    params: {customer: \"CUSTOMER#42\"}\n"
    "    expect: {count: 3}\n";

static const char update_yaml[] = "id: unstick-order\n"
                                  "title: Move one stuck order back to PENDING\n"
                                  "when: An order is stuck in STUCK after the payment provider "
                                  "recovered.\n"
                                  "table: orders\n"
                                  "operation: UpdateItem\n"
                                  "key: {pk: \":customer\", sk: \":order\"}\n"
                                  "update: \"SET #status = :new\"\n"
                                  "condition: \"#status = :stuck\"\n"
                                  "names: {\"#status\": status}\n"
                                  "values: {\":stuck\": {S: STUCK}}\n"
                                  "params:\n"
                                  "  customer: {type: S, pattern: \"^CUSTOMER#[0-9]{1,12}$\"}\n"
                                  "  order: {type: S, pattern: \"^ORDER#[0-9]{1,12}$\"}\n"
                                  "  new: {type: S, enum: [PENDING, CANCELLED]}\n";

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	if (ut_tmpdir(dir, sizeof(dir), "runbook") != 0)
		return -1;
	write_file("tables.yaml", tables_yaml);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return ut_rm_tree(dir);
}

/* Parses text against the tables of a folder holding only tables.yaml; returns the
 * template or NULL with the problems in *d. */
static runbook *parse(const char *text, runbook_diags *d)
{
	runbook_diags td = {NULL, 0};
	runbook_set *s = NULL;
	runbook *r = NULL;
	bg_err e;

	assert_int_equal(runbook_set_load(dir, &s, &td, &e), 0);
	runbook_diags_free(&td);
	if (runbook_parse(text, strlen(text), "t.yaml", s, &r, d) != 0)
		r = NULL;
	runbook_set_free(s);
	return r;
}

/* True when some problem is on line (0: any line) and contains text. */
static bool has_problem(const runbook_diags *d, unsigned line, const char *text)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		if ((line == 0 || d->items[i].line == line) &&
		    strstr(d->items[i].msg, text) != NULL)
			return true;
	}
	return false;
}

static void test_examples_load(void **state)
{
	runbook_diags d = {NULL, 0};
	runbook_set *s = NULL;
	const runbook *r;
	bg_err e;

	(void)state;
	write_file("orders-of-customer.yaml", query_yaml);
	write_file("unstick-order.yaml", update_yaml);
	assert_int_equal(runbook_set_load(dir, &s, &d, &e), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(runbook_set_count(s), 2);
	r = runbook_set_find(s, "orders-of-customer");
	assert_non_null(r);
	assert_string_equal(r->op->name, "Query");
	assert_string_equal(r->table, "orders");
	assert_int_equal(r->limit, 25);
	assert_int_equal(r->max_pages, 4);
	assert_int_equal(r->n_params, 2);
	assert_string_equal(r->params[1].default_text, "ORDER#");
	assert_int_equal(r->n_tests, 1);
	assert_int_equal(r->tests[0].expect_count, 3);
	assert_int_equal(strlen(r->hash), 64);
	r = runbook_set_find(s, "unstick-order");
	assert_non_null(r);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r->values, ":stuck"), "S")), "STUCK");
	assert_string_equal(json_string_value(json_object_get(r->key, "sk")), ":order");
	assert_non_null(runbook_set_table(s, "orders"));
	assert_int_equal(runbook_set_table(s, "orders")->n_indexes, 1);
	runbook_set_free(s);
}

static void test_hash(void **state)
{
	runbook_diags d = {NULL, 0};
	runbook *a, *b, *c;
	char *reformatted, *narrower, *retest;
	size_t n = strlen(query_yaml);

	(void)state;
	a = parse(query_yaml, &d);
	assert_non_null(a);
	/* Comments, quoting and key order do not matter... */
	reformatted = malloc(n + 64);
	snprintf(reformatted, n + 64, "# a comment\nmax_pages: 4\n%s", query_yaml);
	*strstr(reformatted + 20, "max_pages: 4\n") = '#';
	b = parse(reformatted, &d);
	assert_non_null(b);
	assert_string_equal(a->hash, b->hash);
	/* ...nor do the tests... */
	retest = strdup(query_yaml);
	*strstr(retest, "{count: 3}") = ' ';
	memcpy(strstr(retest, " count: 3}"), "{count: 4}", 10);
	runbook_free(b);
	b = parse(retest, &d);
	assert_non_null(b);
	assert_string_equal(a->hash, b->hash);
	/* ...but what the template allows does. */
	narrower = strdup(query_yaml);
	memcpy(strstr(narrower, "limit: 25"), "limit: 26", 9);
	c = parse(narrower, &d);
	assert_non_null(c);
	assert_string_not_equal(a->hash, c->hash);
	assert_int_equal(d.n, 0);
	runbook_free(a);
	runbook_free(b);
	runbook_free(c);
	free(reformatted);
	free(narrower);
	free(retest);
}

static void test_problems_with_lines(void **state)
{
	runbook_diags d = {NULL, 0};
	const char *bad = "id: Bad_Id\n"                                /* 1 */
	                  "title: t\n"                                  /* 2 */
	                  "when: w\n"                                   /* 3 */
	                  "table: customers\n"                          /* 4 */
	                  "operation: Query\n"                          /* 5 */
	                  "key_condition: \"pk = :c AND sk = :nope\"\n" /* 6 */
	                  "filter: \"#x = :c\"\n"                       /* 7 */
	                  "params:\n"                                   /* 8 */
	                  "  c: {type: S, pattren: \"^a$\"}\n"          /* 9 */
	                  "  d: {type: Q}\n"                            /* 10 */
	                  "limit: 5000\n"                               /* 11 */
	                  "condition: \"a = :c\"\n";                    /* 12 */

	(void)state;
	assert_null(parse(bad, &d));
	assert_true(has_problem(&d, 1, "id 'Bad_Id'"));
	assert_true(has_problem(&d, 0, "customers is not declared in tables.yaml"));
	assert_true(has_problem(&d, 6, ":nope is bound to nothing"));
	assert_true(has_problem(&d, 7, "#x is bound to nothing"));
	assert_true(has_problem(&d, 9, "unknown key 'pattren'"));
	assert_true(has_problem(&d, 8, "needs a pattern or an enum") ||
	            has_problem(&d, 9, "needs a pattern"));
	assert_true(has_problem(&d, 10, "needs a type"));
	assert_true(has_problem(&d, 11, "limit must be a whole number from 1 to 1000"));
	assert_true(has_problem(&d, 12, "condition is not used by Query"));
	assert_true(d.n >= 9);
	runbook_diags_free(&d);

	/* Unknown top-level key, missing required fields, a write without a condition. */
	assert_null(parse("id: x\ntable: orders\noperation: DeleteItem\n"
	                  "key: {pk: \":p\", sk: \":s\"}\nextra: 1\n"
	                  "params: {p: {type: S, enum: [a]}, s: {type: S, enum: [b]}}\n",
	                  &d));
	assert_true(has_problem(&d, 5, "unknown key 'extra'"));
	assert_true(has_problem(&d, 0, "title is required"));
	assert_true(has_problem(&d, 0, "when is required"));
	assert_true(has_problem(&d, 0, "DeleteItem needs a condition"));
	runbook_diags_free(&d);

	/* A key that is not the table's, an index tables.yaml does not know, Scan unbounded. */
	assert_null(parse("id: x\ntitle: t\nwhen: w\ntable: orders\noperation: GetItem\n"
	                  "key: {pk: \":p\", other: \":s\"}\n"
	                  "params: {p: {type: S, enum: [a]}, s: {type: S, enum: [b]}}\n",
	                  &d));
	assert_true(has_problem(&d, 0, "must give the sort key sk"));
	assert_true(has_problem(&d, 0, "other is not part of the table's key"));
	runbook_diags_free(&d);
	assert_null(parse("id: x\ntitle: t\nwhen: w\ntable: orders\noperation: Query\n"
	                  "index: by-nothing\nkey_condition: \"pk = :p\"\nlimit: 5\n"
	                  "params: {p: {type: S, enum: [a]}}\n",
	                  &d));
	assert_true(has_problem(&d, 0, "index by-nothing of table orders is not declared"));
	runbook_diags_free(&d);
	assert_null(
	    parse("id: x\ntitle: t\nwhen: w\ntable: orders\noperation: Scan\nlimit: 5\n", &d));
	assert_true(has_problem(&d, 0, "Scan needs max_pages and total_segments"));
	runbook_diags_free(&d);

	/* Unused names and values are DynamoDB errors: caught here. */
	assert_null(
	    parse("id: x\ntitle: t\nwhen: w\ntable: orders\noperation: Query\n"
	          "key_condition: \"pk = :p\"\nlimit: 5\nnames: {\"#n\": a}\n"
	          "values: {\":v\": {S: x}}\nparams: {p: {type: S, enum: [a]}, q: {type: N}}\n",
	          &d));
	assert_true(has_problem(&d, 0, "names: #n is never used"));
	assert_true(has_problem(&d, 0, "values: :v is never used"));
	assert_true(has_problem(&d, 0, "parameter q is never used"));
	runbook_diags_free(&d);
}

/* services: the services a runbook is for (the policy's runbook_allowed_for_service);
 * optional, so a runbook without it loads as before and names none. */
static void test_services(void **state)
{
	runbook_diags d = {NULL, 0};
	const char *const *sv;
	char text[4096];
	runbook *r, *plain;
	size_t n = 99;

	(void)state;
	plain = parse(query_yaml, &d);
	assert_non_null(plain);
	assert_null(runbook_services(plain, &n));
	assert_int_equal(n, 0);
	snprintf(text, sizeof(text), "%sservices: [orders, billing-api]\n", query_yaml);
	r = parse(text, &d);
	assert_int_equal(d.n, 0);
	assert_non_null(r);
	sv = runbook_services(r, &n);
	assert_int_equal(n, 2);
	assert_string_equal(sv[0], "orders");
	assert_string_equal(sv[1], "billing-api");
	/* The list is part of what the template is: it changes the hash. */
	assert_string_not_equal(r->hash, plain->hash);
	runbook_free(r);
	runbook_free(plain);

	snprintf(text, sizeof(text), "%sservices: orders\n", query_yaml);
	assert_null(parse(text, &d));
	assert_true(has_problem(&d, 19, "services must be a list of 1 to 32 service names"));
	runbook_diags_free(&d);
	snprintf(text, sizeof(text), "%sservices: []\n", query_yaml);
	assert_null(parse(text, &d));
	assert_true(has_problem(&d, 19, "services must be a list"));
	runbook_diags_free(&d);
	snprintf(text, sizeof(text), "%sservices:\n  - orders\n  - \"has space\"\n  - orders\n",
	         query_yaml);
	assert_null(parse(text, &d));
	assert_true(has_problem(&d, 21, "service 'has space'"));
	assert_true(has_problem(&d, 22, "service orders is listed twice"));
	runbook_diags_free(&d);
}

static void test_strict_yaml(void **state)
{
	runbook_diags d = {NULL, 0};

	(void)state;
	assert_null(parse("id: a\nid: b\n", &d));
	assert_true(has_problem(&d, 2, "key 'id' given twice (first on line 1)"));
	runbook_diags_free(&d);
	assert_null(parse("base: &b {type: S}\nother: *b\n", &d));
	assert_true(has_problem(&d, 1, "anchors"));
	runbook_diags_free(&d);
	assert_null(parse("id: !!str x\n", &d));
	assert_true(has_problem(&d, 1, "tags"));
	runbook_diags_free(&d);
	assert_null(parse("id: [unclosed\n", &d));
	assert_true(d.n == 1);
	runbook_diags_free(&d);
	assert_null(parse("- a\n- b\n", &d));
	assert_true(has_problem(&d, 0, "a runbook is a mapping"));
	runbook_diags_free(&d);
	/* A control character could hide text from a reviewer, or a marker from the shell line
	 * `runbook show` prints. */
	assert_null(parse("id: x\ntitle: \"a\\x01b\"\n", &d));
	assert_true(has_problem(&d, 2, "control character (0x01)"));
	runbook_diags_free(&d);
	assert_null(parse("a: 1\n---\nb: 2\n", &d));
	assert_true(has_problem(&d, 0, "one YAML document per file"));
	runbook_diags_free(&d);
}

static void check(const runbook_param *p, const char *type, const char *v, bool ok)
{
	json_t *av = json_pack("{s:s}", type, v);
	bg_err e;

	assert_int_equal(runbook_param_check(p, av, &e) == 0, ok);
	json_decref(av);
}

static void test_param_values(void **state)
{
	runbook_diags d = {NULL, 0};
	runbook *r;
	const runbook_param *p;
	json_t *av = NULL, *texts, *avs = NULL;
	bg_err e;

	(void)state;
	r = parse("id: p\ntitle: t\nwhen: w\ntable: orders\noperation: GetItem\n"
	          "key: {pk: \":c\", sk: \":n\"}\nprojection: \"#a, #b\"\n"
	          "names: {\"#a\": a, \"#b\": b}\n"
	          "params:\n"
	          "  c: {type: S, pattern: \"CUSTOMER#[0-9]{1,3}\", max_length: 12}\n"
	          "  n: {type: N, min: 1, max: 100}\n",
	          &d);
	assert_int_equal(d.n, 0);
	assert_non_null(r);
	p = runbook_param_find(r, "c");
	check(p, "S", "CUSTOMER#42", true);
	check(p, "S", "CUSTOMER#4200", false);  /* pattern: 1-3 digits */
	check(p, "S", "xCUSTOMER#42", false);   /* anchored although written without ^ */
	check(p, "S", "CUSTOMER#42\nx", false); /* anchored at the end too */
	check(p, "N", "42", false);             /* wrong type */
	p = runbook_param_find(r, "n");
	check(p, "N", "1", true);
	check(p, "N", "100", true);
	check(p, "N", "1e2", true);
	check(p, "N", "100.5", false);
	check(p, "N", "0", false);
	check(p, "N", "12abc", false);
	check(p, "N", "", false);
	assert_int_equal(runbook_param_value(p, "7", &av, &e), 0);
	assert_string_equal(json_string_value(json_object_get(av, "N")), "7");
	json_decref(av);
	assert_int_equal(runbook_param_value(p, NULL, &av, &e), BG_EINVAL); /* required */
	assert_non_null(strstr(e.msg, "required"));

	/* Binding and rendering: the key substituted, the names the expressions use. */
	texts = json_pack("{s:s,s:s}", "c", "CUSTOMER#7", "n", "3");
	assert_int_equal(runbook_bind(r, texts, &avs, &e), 0);
	{
		json_t *req = NULL;
		assert_int_equal(runbook_render(r, avs, NULL, &req, &e), 0);
		assert_string_equal(json_string_value(json_object_get(req, "TableName")), "orders");
		assert_string_equal(json_string_value(json_object_get(
		                        json_object_get(json_object_get(req, "Key"), "pk"), "S")),
		                    "CUSTOMER#7");
		assert_string_equal(json_string_value(json_object_get(
		                        json_object_get(json_object_get(req, "Key"), "sk"), "N")),
		                    "3");
		/* Expressions go out in canonical form: plain names bare, so no names here. */
		assert_string_equal(json_string_value(json_object_get(req, "ProjectionExpression")),
		                    "a, b");
		assert_null(json_object_get(req, "ExpressionAttributeNames"));
		/* No expression uses a value: none is sent (DynamoDB refuses unused ones). */
		assert_null(json_object_get(req, "ExpressionAttributeValues"));
		json_decref(req);
	}
	json_decref(avs);
	json_decref(texts);
	texts = json_pack("{s:s,s:s}", "c", "CUSTOMER#7", "zz", "3");
	assert_int_equal(runbook_bind(r, texts, &avs, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "no parameter zz"));
	json_decref(texts);
	runbook_free(r);

	/* A default must pass its own rules. */
	assert_null(parse("id: p\ntitle: t\nwhen: w\ntable: orders\noperation: GetItem\n"
	                  "key: {pk: \":c\", sk: \":c\"}\n"
	                  "params: {c: {type: S, enum: [a, b], default: z}}\n",
	                  &d));
	assert_true(has_problem(&d, 0, "the default does not pass"));
	runbook_diags_free(&d);
}

static void test_folder(void **state)
{
	runbook_diags d = {NULL, 0};
	runbook_set *s = NULL;
	bg_err e;

	(void)state;
	write_file("a.yaml", query_yaml);
	write_file("b.yaml", query_yaml); /* the same id twice */
	write_file("c.yaml", "id: [\n");
	write_file("notes.txt", "not a runbook");
	assert_int_equal(runbook_set_load(dir, &s, &d, &e), BG_EINVAL);
	assert_non_null(s);
	assert_int_equal(runbook_set_count(s), 1); /* the good one still loads */
	assert_true(has_problem(&d, 0, "id orders-of-customer is already used by a.yaml"));
	assert_int_equal(d.n, 2);
	runbook_diags_free(&d);
	runbook_set_free(s);
	assert_int_equal(runbook_set_load("/nonexistent/runbooks", &s, &d, &e), BG_ENOTFOUND);
}

/* mask and mask_hash: read, described, covered by the hash; every problem with its line:
 * a malformed path, a duplicate, overlapping paths, a key attribute of the table or of
 * the runbook's index, mask_hash without mask, wrong types. */
static void test_mask(void **state)
{
	runbook_diags d = {NULL, 0};
	runbook *plain, *r, *hashed;
	json_t *desc;
	char text[2048];

	(void)state;
	plain = parse(query_yaml, &d);
	assert_non_null(plain);
	assert_int_equal(plain->n_mask, 0);
	desc = runbook_describe(plain);
	assert_null(json_object_get(desc, "mask"));
	json_decref(desc);

	snprintf(text, sizeof(text), "%smask: [email, card.last4]\n", query_yaml);
	r = parse(text, &d);
	assert_int_equal(d.n, 0);
	assert_non_null(r);
	assert_int_equal(r->n_mask, 2);
	assert_string_equal(r->mask[0].text, "email");
	assert_string_equal(r->mask[1].text, "card.last4");
	assert_int_equal(r->mask[1].depth, 2);
	assert_false(r->mask_hash);
	assert_string_not_equal(plain->hash, r->hash);
	desc = runbook_describe(r);
	assert_string_equal(json_string_value(json_array_get(json_object_get(desc, "mask"), 1)),
	                    "card.last4");
	assert_true(json_is_false(json_object_get(desc, "mask_hash")));
	json_decref(desc);

	snprintf(text, sizeof(text), "%smask: [email, card.last4]\nmask_hash: true\n", query_yaml);
	hashed = parse(text, &d);
	assert_int_equal(d.n, 0);
	assert_non_null(hashed);
	assert_true(hashed->mask_hash);
	assert_string_not_equal(r->hash, hashed->hash);
	runbook_free(plain);
	runbook_free(r);
	runbook_free(hashed);

	/* Problems, each on its line (query_yaml has 18 lines). */
	snprintf(text, sizeof(text),
	         "%smask: [email, \"a..b\", email, card, card.last4, pk, sk.x]\n"
	         "mask_hash: maybe\n",
	         query_yaml);
	assert_null(parse(text, &d));
	assert_true(has_problem(&d, 19, "empty attribute name"));
	assert_true(has_problem(&d, 19, "mask path email is listed twice"));
	assert_true(has_problem(&d, 19, "mask paths card and card.last4 overlap"));
	assert_true(has_problem(&d, 19, "pk is a key attribute of table orders"));
	assert_true(has_problem(&d, 19, "sk is a key attribute of table orders"));
	assert_true(has_problem(&d, 20, "mask_hash"));
	runbook_diags_free(&d);

	snprintf(text, sizeof(text), "%smask: email\n", query_yaml);
	assert_null(parse(text, &d));
	assert_true(has_problem(&d, 19, "mask must be a list of 1 to"));
	runbook_diags_free(&d);
	snprintf(text, sizeof(text), "%smask: []\n", query_yaml);
	assert_null(parse(text, &d));
	assert_true(has_problem(&d, 19, "mask must be a list"));
	runbook_diags_free(&d);
	snprintf(text, sizeof(text), "%smask_hash: true\n", query_yaml);
	assert_null(parse(text, &d));
	assert_true(has_problem(&d, 19, "mask_hash is set but mask lists no attribute"));
	runbook_diags_free(&d);

	/* The index's key (status) for a runbook that reads the index. */
	snprintf(text, sizeof(text),
	         "id: by-status\ntitle: t\nwhen: w\ntable: orders\noperation: Query\n"
	         "index: by-status\nkey_condition: \"#s = :s\"\nnames: {\"#s\": status}\n"
	         "params: {s: {type: S}}\nlimit: 5\nmask: [status, email]\n");
	assert_null(parse(text, &d));
	assert_true(has_problem(&d, 11, "status is a key attribute of index by-status"));
	runbook_diags_free(&d);
	/* The index key on a runbook that reads the table is maskable. */
	snprintf(text, sizeof(text), "%smask: [status]\n", query_yaml);
	r = parse(text, &d);
	assert_int_equal(d.n, 0);
	assert_non_null(r);
	runbook_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_examples_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_problems_with_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strict_yaml, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_services, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_param_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_folder, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mask, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
