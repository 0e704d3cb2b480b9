/*
 * fuzz_ddb_expr.c - libFuzzer target for the DynamoDB expression parser and matcher.
 *
 * Input: one selector byte (kind = selector % 5), then expression text. A 0xff byte in
 * the text splits it into a template and a request of that kind. Names come from a fixed
 * ExpressionAttributeNames object (reserved words, dotted and empty names among them);
 * values are made up for every placeholder used.
 *
 * Promises checked: a refusal is BG_EINVAL/BG_ELIMIT with a message and no tree; a parsed
 * tree reports sane placeholders, paths and key terms, passes DynamoDB's placeholder rules
 * with exactly what it uses, matches itself at distance 0 (also with every value fixed),
 * and its canonical text parses again to a tree that matches it both ways and prints the
 * same. A template and a request either match at distance 0 or differ with a message and a
 * positive distance, binding nothing; equal canonical forms match; and a match is sound:
 * with each placeholder renamed after its value, both canonical texts are the same.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/limits.h"
#include "protocol/ddb_expr.h"

static json_t *names_all;

static const char names_text[] = "{\"#a\":\"a\",\"#b\":\"b.c\",\"#s\":\"status\",\"#e\":\"\","
                                 "\"#n\":\"x y\",\"#r\":\"remove\",\"#1\":\"1\",\"#k\":\"pk\","
                                 "\"#q\":\"\\u00e9\\u0001\"}";

/* A value for every placeholder x uses: {"S": placeholder} or, with same, one value. */
static json_t *values_for(const ddb_expr *x, json_t *into, int same)
{
	size_t i;

	for (i = 0; i < ddb_expr_nvalues(x); i++)
		json_object_set_new(into, ddb_expr_value(x, i),
		                    json_pack("{s:s}", "S", same ? "v" : ddb_expr_value(x, i)));
	return into;
}

static ddb_expr *parse(ddb_expr_kind kind, const uint8_t *p, size_t n, const json_t *names)
{
	ddb_expr *x = (ddb_expr *)1;
	bg_err e = {0, ""};
	/* An exact-size copy, so ASan sees any read past the end. */
	char *text = malloc(n ? n : 1);
	int rc;

	if (text == NULL)
		return NULL;
	memcpy(text, p, n);
	rc = ddb_expr_parse(kind, text, n, names, &x, &e);
	free(text);
	if (rc != 0) {
		CHECK(x == NULL);
		CHECK(rc == BG_EINVAL || rc == BG_ELIMIT || rc == BG_ENOMEM);
		CHECK(e.code == rc && e.msg[0] != '\0');
		return NULL;
	}
	CHECK(x != NULL);
	return x;
}

static void check_tree(const ddb_expr *x, ddb_expr_kind kind)
{
	size_t i;
	bg_buf b;

	CHECK(ddb_expr_kind_of(x) == kind);
	for (i = 0; i < ddb_expr_nvalues(x); i++)
		CHECK(ddb_expr_value(x, i)[0] == ':');
	CHECK(ddb_expr_value(x, i) == NULL);
	for (i = 0; i < ddb_expr_nnames(x); i++) {
		const json_t *v = json_object_get(names_all, ddb_expr_name(x, i));
		CHECK(v != NULL && json_string_length(v) > 0);
	}
	/* ":a = :b" names no attribute; the other grammars always do. */
	CHECK(ddb_expr_npaths(x) > 0 || kind == DDB_EXPR_CONDITION || kind == DDB_EXPR_FILTER);
	bg_buf_init(&b, 1u << 20);
	for (i = 0; i < ddb_expr_npaths(x); i++) {
		ddb_expr_path p = ddb_expr_path_at(x, i);
		CHECK(p.n >= 1 && p.n <= BG_MAX_EXPR_PATH_DEPTH + 1);
		CHECK(p.elems[0].name != NULL);
		CHECK(ddb_expr_path_format(p, &b) == 0);
	}
	bg_buf_free(&b);
	if (kind == DDB_EXPR_KEY_CONDITION) {
		const ddb_expr_key_term *pk, *sk;
		const ddb_expr_key_term *t0 = ddb_expr_key_term_at(x, 0);
		size_t n = ddb_expr_key_nterms(x);
		bg_err e;
		CHECK(n == 1 || n == 2);
		CHECK(ddb_expr_key_term_at(x, n) == NULL);
		for (i = 0; i < n; i++) {
			const ddb_expr_key_term *t = ddb_expr_key_term_at(x, i);
			CHECK(t->attr_len > 0 && t->value != NULL && t->value[0] == ':');
			CHECK((t->value2 != NULL) == (t->op == DDB_KEY_BETWEEN));
		}
		if (t0->op == DDB_KEY_EQ) {
			CHECK(ddb_expr_key_split(x, t0->attr, t0->attr_len, &pk, &sk, &e) == 0);
			CHECK(pk == t0 && (sk != NULL) == (n == 2));
		}
	} else {
		CHECK(ddb_expr_key_nterms(x) == 0);
	}
}

/* x against itself, and against the re-parse of its canonical text. */
static void check_self(const ddb_expr *x, ddb_expr_kind kind)
{
	json_t *values = values_for(x, json_object(), 0), *one = values_for(x, json_object(), 1);
	json_t *used = json_object(), *cnames = NULL, *cnames2 = NULL;
	const ddb_expr *xs[1] = {x};
	ddb_expr_bindings b;
	ddb_expr *y;
	unsigned d = 7;
	bg_err e;
	bg_buf c, c2;
	size_t i;

	ddb_expr_bindings_init(&b);
	CHECK(ddb_expr_match(x, NULL, x, values, &b, &d, &e) == 0 && d == 0);
	ddb_expr_bindings_free(&b);
	CHECK(ddb_expr_match(x, one, x, one, &b, &d, &e) == 0 && d == 0);
	CHECK(b.n == 0);
	ddb_expr_bindings_free(&b);
	CHECK(ddb_expr_match(x, values, x, values, &b, &d, &e) == 0 && d == 0);
	ddb_expr_bindings_free(&b);

	for (i = 0; i < ddb_expr_nnames(x); i++)
		json_object_set(used, ddb_expr_name(x, i),
		                json_object_get(names_all, ddb_expr_name(x, i)));
	CHECK(ddb_expr_check_placeholders(xs, 1, json_object_size(used) ? used : NULL,
	                                  json_object_size(values) ? values : NULL, &e) == 0);

	bg_buf_init(&c, 1u << 20);
	bg_buf_init(&c2, 1u << 20);
	CHECK(ddb_expr_canonical(x, &c, &cnames) == 0);
	if (c.len <= BG_MAX_EXPR_LEN) {
		CHECK(ddb_expr_parse(kind, c.data, c.len, cnames, &y, &e) == 0);
		ddb_expr_bindings_init(&b);
		CHECK(ddb_expr_match(x, NULL, y, values, &b, &d, &e) == 0 && d == 0);
		ddb_expr_bindings_free(&b);
		CHECK(ddb_expr_match(y, NULL, x, values, &b, &d, &e) == 0 && d == 0);
		ddb_expr_bindings_free(&b);
		CHECK(ddb_expr_canonical(y, &c2, &cnames2) == 0);
		CHECK(c.len == c2.len && memcmp(c.data, c2.data, c.len) == 0);
		CHECK((cnames == NULL && cnames2 == NULL) || json_equal(cnames, cnames2));
		ddb_expr_free(y);
	}
	json_decref(cnames);
	json_decref(cnames2);
	bg_buf_free(&c);
	bg_buf_free(&c2);
	json_decref(used);
	json_decref(values);
	json_decref(one);
}

/* The canonical text of x with every :placeholder replaced by :vN, N the index of its
 * value's JSON text in ids (values: lookup(placeholder)). 0, or -1 when it cannot be made
 * (too long to parse again). Soundness oracle: two trees the matcher calls equal must give
 * the same text, since equal values then get equal names and sort alike. */
static int by_value(const ddb_expr *x, const ddb_expr_bindings *b, const json_t *values,
                    json_t *ids, bg_buf *out)
{
	json_t *names = NULL;
	ddb_expr *y = NULL;
	bg_buf c, sub;
	bg_err e;
	size_t i;
	int rc = -1;

	bg_buf_init(&c, 1u << 20);
	bg_buf_init(&sub, 1u << 20);
	CHECK(ddb_expr_canonical(x, &c, &names) == 0);
	for (i = 0; i < c.len;) {
		size_t j = i + 1;
		const json_t *v;
		char *key, *text;
		if (c.data[i] != ':') {
			CHECK(bg_buf_addc(&sub, c.data[i++]) == 0);
			continue;
		}
		while (j < c.len && c.data[j] != ' ' && c.data[j] != ',' && c.data[j] != ')')
			j++;
		key = strndup(c.data + i, j - i);
		CHECK(key != NULL);
		v = b != NULL ? ddb_expr_bindings_get(b, key) : json_object_get(values, key);
		CHECK(v != NULL);
		text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		CHECK(text != NULL);
		if (json_object_get(ids, text) == NULL)
			json_object_set_new(ids, text,
			                    json_integer((json_int_t)json_object_size(ids)));
		CHECK(bg_buf_addf(&sub, ":v%lld",
		                  (long long)json_integer_value(json_object_get(ids, text))) == 0);
		free(text);
		free(key);
		i = j;
	}
	if (sub.len <= BG_MAX_EXPR_LEN) {
		CHECK(ddb_expr_parse(ddb_expr_kind_of(x), sub.data ? sub.data : "", sub.len, names,
		                     &y, &e) == 0);
		CHECK(ddb_expr_canonical(y, out, NULL) == 0);
		ddb_expr_free(y);
		rc = 0;
	}
	json_decref(names);
	bg_buf_free(&c);
	bg_buf_free(&sub);
	return rc;
}

/* A template against a request. */
static void check_pair(const ddb_expr *t, const ddb_expr *r)
{
	json_t *values = values_for(r, json_object(), 0), *tn = NULL, *rn = NULL;
	ddb_expr_bindings b;
	bg_buf ct, cr;
	unsigned d = 7;
	bg_err e = {0, ""};
	int rc;

	ddb_expr_bindings_init(&b);
	rc = ddb_expr_match(t, NULL, r, values, &b, &d, &e);
	if (rc == 0) {
		CHECK(d == 0);
		if (ddb_expr_kind_of(t) != DDB_EXPR_PROJECTION) {
			json_t *ids = json_object();
			bg_buf vt, vr;
			bg_buf_init(&vt, 1u << 20);
			bg_buf_init(&vr, 1u << 20);
			if (by_value(t, &b, NULL, ids, &vt) == 0 &&
			    by_value(r, NULL, values, ids, &vr) == 0)
				CHECK(vt.len == vr.len && memcmp(vt.data, vr.data, vt.len) == 0);
			bg_buf_free(&vt);
			bg_buf_free(&vr);
			json_decref(ids);
		}
	} else {
		CHECK(rc == BG_EDENIED && d > 0 && e.msg[0] != '\0' && b.n == 0);
	}
	ddb_expr_bindings_free(&b);

	bg_buf_init(&ct, 1u << 20);
	bg_buf_init(&cr, 1u << 20);
	CHECK(ddb_expr_canonical(t, &ct, &tn) == 0);
	CHECK(ddb_expr_canonical(r, &cr, &rn) == 0);
	if (ct.len == cr.len && memcmp(ct.data, cr.data, ct.len) == 0 &&
	    ((tn == NULL && rn == NULL) || (tn != NULL && rn != NULL && json_equal(tn, rn))))
		CHECK(rc == 0);
	json_decref(tn);
	json_decref(rn);
	bg_buf_free(&ct);
	bg_buf_free(&cr);
	json_decref(values);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ddb_expr_kind kind;
	const uint8_t *sep;
	ddb_expr *t, *r;

	if (names_all == NULL) {
		names_all = json_loads(names_text, 0, NULL);
		CHECK(names_all != NULL);
	}
	if (size < 1)
		return 0;
	kind = (ddb_expr_kind)(data[0] % 5);
	data++;
	size--;
	sep = memchr(data, 0xff, size);
	if (sep == NULL) {
		t = parse(kind, data, size, names_all);
		if (t != NULL) {
			check_tree(t, kind);
			check_self(t, kind);
		}
		ddb_expr_free(t);
		return 0;
	}
	t = parse(kind, data, (size_t)(sep - data), names_all);
	r = parse(kind, sep + 1, size - (size_t)(sep - data) - 1, names_all);
	if (t != NULL && r != NULL)
		check_pair(t, r);
	ddb_expr_free(t);
	ddb_expr_free(r);
	return 0;
}
