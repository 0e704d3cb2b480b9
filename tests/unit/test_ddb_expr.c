/*
 * test_ddb_expr.c - DynamoDB's expression grammars and the structural matcher.
 *
 * The parser decides what a request's expressions mean to the gateway, so it must read
 * them as DynamoDB does (grammar, precedence, reserved words, #names) and refuse what
 * DynamoDB refuses. The matcher decides whether a request is a runbook's query: the
 * escapes (changed comparator, added filter, #name aliasing, wider projection, other
 * values) must each be a difference, and harmless rewrites (spacing, placeholder names,
 * operand order) must not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "protocol/ddb_expr.h"

static bg_err err;

static json_t *J(const char *text)
{
	json_t *j;

	if (text == NULL)
		return NULL;
	j = json_loads(text, 0, NULL);
	if (j == NULL)
		fail_msg("bad test JSON: %s", text);
	return j;
}

/* Parses text (names as JSON text or NULL); returns the status, *out the tree. */
static int parse_n(ddb_expr_kind kind, const char *text, const char *names, ddb_expr **out)
{
	json_t *n = J(names);
	int rc;

	bg_err_clear(&err);
	rc = ddb_expr_parse(kind, text, strlen(text), n, out, &err);
	json_decref(n);
	if (rc != 0)
		assert_null(*out);
	return rc;
}

/* Parses text that must be valid. */
static ddb_expr *ok(ddb_expr_kind kind, const char *text, const char *names)
{
	ddb_expr *x = NULL;

	if (parse_n(kind, text, names, &x) != 0)
		fail_msg("'%s' did not parse: %s", text, err.msg);
	return x;
}

/* Expects text to be refused with code, and a message containing want (if not NULL). */
static void bad(ddb_expr_kind kind, const char *text, const char *names, int code, const char *want)
{
	ddb_expr *x = NULL;
	int rc = parse_n(kind, text, names, &x);

	if (rc != code)
		fail_msg("'%s': status %d, want %d (%s)", text, rc, code, err.msg);
	assert_int_equal(err.code, code);
	if (want != NULL && strstr(err.msg, want) == NULL)
		fail_msg("'%s': message '%s' lacks '%s'", text, err.msg, want);
}

/* The canonical text of a valid expression must be want. */
static void canon(ddb_expr_kind kind, const char *text, const char *names, const char *want)
{
	ddb_expr *x = ok(kind, text, names);
	bg_buf b;

	bg_buf_init(&b, 8192);
	assert_int_equal(ddb_expr_canonical(x, &b, NULL), 0);
	if (strcmp(b.data, want) != 0)
		fail_msg("'%s': canonical '%s', want '%s'", text, b.data, want);
	bg_buf_free(&b);
	ddb_expr_free(x);
}

#define KEY  DDB_EXPR_KEY_CONDITION
#define COND DDB_EXPR_CONDITION
#define FILT DDB_EXPR_FILTER
#define PROJ DDB_EXPR_PROJECTION
#define UPD  DDB_EXPR_UPDATE

/* ---- grammar ---- */

static void test_comparators(void **state)
{
	(void)state;
	canon(COND, "a=:v", NULL, "a = :v");
	canon(COND, "a<>:v", NULL, "a <> :v");
	canon(COND, "a < :v", NULL, "a < :v");
	canon(COND, "a<=:v", NULL, "a <= :v");
	canon(COND, "a>:v", NULL, "a > :v");
	canon(COND, "a >= :v", NULL, "a >= :v");
	canon(COND, "a = b", NULL, "a = b");
	canon(COND, ":v = a", NULL, ":v = a");
	canon(COND, "size(a) > :n", NULL, "size(a) > :n");
	canon(COND, " \t\na\r\n=\t:v  ", NULL, "a = :v");
	bad(COND, "a == :v", NULL, BG_EINVAL, "column 4");
	bad(COND, "a = :v = :w", NULL, BG_EINVAL, "column 8");
	bad(COND, "a != :v", NULL, BG_EINVAL, "column 3: unexpected character '!'");
	bad(COND, "a", NULL, BG_EINVAL, "expected a comparator");
	bad(COND, ":v", NULL, BG_EINVAL, "expected a comparator");
}

static void test_between_in(void **state)
{
	char text[2048];
	size_t i, n;

	(void)state;
	canon(COND, "a BETWEEN :lo AND :hi", NULL, "a BETWEEN :lo AND :hi");
	/* BETWEEN takes the first AND; the second joins conditions. */
	canon(COND, "a between :lo and :hi and b = :c", NULL, "b = :c AND a BETWEEN :lo AND :hi");
	bad(COND, "a BETWEEN :lo OR :hi", NULL, BG_EINVAL, "AND (of BETWEEN");
	canon(COND, "a IN (:x)", NULL, "a IN (:x)");
	canon(COND, "a in (:z,:y , :x)", NULL, "a IN (:x, :y, :z)");
	canon(COND, "a IN (b, :x)", NULL, "a IN (b, :x)");
	bad(COND, "a IN ()", NULL, BG_EINVAL, "column 7");
	bad(COND, "a IN :x", NULL, BG_EINVAL, "'(' after IN");
	bad(COND, "a IN (:x,)", NULL, BG_EINVAL, "column 10");
	/* 100 operands: DynamoDB's limit, allowed; 101 refused. */
	for (n = 100; n <= 101; n++) {
		size_t len = (size_t)snprintf(text, sizeof(text), "a IN (");
		for (i = 0; i < n; i++)
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%s:v%zu",
			                        i ? "," : "", i);
		snprintf(text + len, sizeof(text) - len, ")");
		if (n == 100)
			ddb_expr_free(ok(COND, text, NULL));
		else
			bad(COND, text, NULL, BG_ELIMIT, "IN has more than 100 operands");
	}
}

static void test_precedence(void **state)
{
	(void)state;
	/* NOT > AND > OR. */
	canon(COND, "a = :a OR b = :b AND c = :c", NULL, "a = :a OR b = :b AND c = :c");
	canon(COND, "(a = :a OR b = :b) AND c = :c", NULL, "c = :c AND (a = :a OR b = :b)");
	canon(COND, "a = :a AND b = :b OR c = :c", NULL, "c = :c OR a = :a AND b = :b");
	canon(COND, "NOT a = :a AND b = :b", NULL, "b = :b AND NOT a = :a");
	canon(COND, "NOT (a = :a AND b = :b)", NULL, "NOT (a = :a AND b = :b)");
	canon(COND, "not not a = :a", NULL, "NOT NOT a = :a");
	/* Parentheses that change nothing, and nested ANDs, flatten. */
	canon(COND, "((a = :a))", NULL, "a = :a");
	canon(COND, "(a = :a AND b = :b) AND (c = :c AND d = :d)", NULL,
	      "a = :a AND b = :b AND c = :c AND d = :d");
	canon(COND, "a = :a OR (b = :b OR c = :c)", NULL, "a = :a OR b = :b OR c = :c");
	canon(COND, "(a = :a OR b = :b) AND (c = :c OR d = :d)", NULL,
	      "(a = :a OR b = :b) AND (c = :c OR d = :d)");
	bad(COND, "(a = :a", NULL, BG_EINVAL, "column 8: expected ')'");
	bad(COND, "a = :a)", NULL, BG_EINVAL, "column 7");
	bad(COND, "a = :a AND", NULL, BG_EINVAL, "column 11: expected a condition");
	bad(COND, "a = :a AND OR b = :b", NULL, BG_EINVAL, "column 12");
	bad(COND, "NOT", NULL, BG_EINVAL, "expected a condition");
	bad(COND, "()", NULL, BG_EINVAL, "column 2");
}

static void test_functions(void **state)
{
	(void)state;
	canon(COND, "attribute_exists(a)", NULL, "attribute_exists(a)");
	canon(COND, "attribute_not_exists (a.b)", NULL, "attribute_not_exists(a.b)");
	canon(COND, "attribute_type(a, :t)", NULL, "attribute_type(a, :t)");
	canon(COND, "begins_with(a, :p)", NULL, "begins_with(a, :p)");
	canon(COND, "begins_with(a, b)", NULL, "begins_with(a, b)");
	canon(COND, "contains(a, :v)", NULL, "contains(a, :v)");
	canon(COND, "size(a) BETWEEN :x AND :y", NULL, "size(a) BETWEEN :x AND :y");
	canon(COND, "a IN (size(b), :v)", NULL, "a IN (:v, size(b))");
	canon(COND, "NOT attribute_exists(a) OR contains(b, :v)", NULL,
	      "contains(b, :v) OR NOT attribute_exists(a)");
	/* Function names are case-sensitive. */
	bad(COND, "Begins_with(a, :p)", NULL, BG_EINVAL, "unknown function 'Begins_with'");
	bad(COND, "BEGINS_WITH(a, :p)", NULL, BG_EINVAL, "unknown function");
	bad(COND, "no_such(a)", NULL, BG_EINVAL, "column 1: unknown function 'no_such'");
	/* Arguments. */
	bad(COND, "attribute_type(a, b)", NULL, BG_EINVAL,
	    "expected an expression attribute value");
	bad(COND, "attribute_exists(:v)", NULL, BG_EINVAL, "takes a document path first");
	bad(COND, "attribute_exists(a, b)", NULL, BG_EINVAL, "takes 1 argument");
	bad(COND, "begins_with(a)", NULL, BG_EINVAL, "takes 2 arguments");
	bad(COND, "contains(a, a)", NULL, BG_EINVAL, "two different operands");
	bad(COND, "size(:v) > :n", NULL, BG_EINVAL, "document path");
	/* In the wrong place. */
	bad(COND, "size(a)", NULL, BG_EINVAL, "expected a comparator");
	bad(COND, "if_not_exists(a, :v) = :v", NULL, BG_EINVAL,
	    "function 'if_not_exists' cannot be used in a condition");
	bad(COND, "list_append(a, :v)", NULL, BG_EINVAL, "cannot be used in a condition");
	bad(COND, "a = contains(b, :v)", NULL, BG_EINVAL, "cannot be used as an operand");
	bad(UPD, "SET a = size(b)", NULL, BG_EINVAL, "cannot be used in an update expression");
	/* A function name not followed by '(' is an attribute (when not reserved). */
	canon(COND, "contains = :v", NULL, "contains = :v");
	bad(COND, "size = :v", NULL, BG_EINVAL, "reserved word");
}

static void test_paths(void **state)
{
	ddb_expr *x;
	ddb_expr_path p;
	bg_buf b;
	char text[512];
	size_t i, len;

	(void)state;
	canon(COND, "a.b.c = :v", NULL, "a.b.c = :v");
	canon(COND, "a[0] = :v", NULL, "a[0] = :v");
	canon(COND, "a[1][22].c[3] = :v", NULL, "a[1][22].c[3] = :v");
	canon(COND, "a [ 1 ] . b = :v", NULL, "a[1].b = :v");
	canon(COND, "a[007] = :v", NULL, "a[7] = :v");
	bad(COND, "a[-1] = :v", NULL, BG_EINVAL, "column 3: expected a list index");
	bad(COND, "a[0.4] = :v", NULL, BG_EINVAL, "expected ']'");
	bad(COND, "a[b] = :v", NULL, BG_EINVAL, "expected a list index");
	bad(COND, "a[99999999999] = :v", NULL, BG_ELIMIT, "list index too large");
	bad(COND, "a. = :v", NULL, BG_EINVAL, "expected an attribute name");
	bad(COND, "[0] = :v", NULL, BG_EINVAL, "column 1");
	bad(COND, "1a = :v", NULL, BG_EINVAL, "column 1");
	canon(COND, "_a1_ = :v", NULL, "_a1_ = :v");
	bad(COND, "a-b = :v", NULL, BG_EINVAL, "column 2");

	x = ok(COND, "#a.#b[2] = :v AND a.b = :w", "{\"#a\":\"a.b\",\"#b\":\"c d\"}");
	assert_int_equal(ddb_expr_npaths(x), 2);
	p = ddb_expr_path_at(x, 0);
	assert_int_equal(p.n, 3);
	assert_int_equal(p.elems[0].name_len, 3);
	assert_memory_equal(p.elems[0].name, "a.b", 3);
	assert_memory_equal(p.elems[1].name, "c d", 3);
	assert_null(p.elems[2].name);
	assert_int_equal(p.elems[2].index, 2);
	bg_buf_init(&b, 256);
	assert_int_equal(ddb_expr_path_format(p, &b), 0);
	assert_string_equal(b.data, "\"a.b\".\"c d\"[2]");
	bg_buf_reset(&b);
	assert_int_equal(ddb_expr_path_format(ddb_expr_path_at(x, 1), &b), 0);
	assert_string_equal(b.data, "a.b");
	bg_buf_free(&b);
	assert_int_equal(ddb_expr_path_at(x, 2).n, 0);
	ddb_expr_free(x);

	/* 32 dereferences (33 elements) is DynamoDB's limit. */
	len = (size_t)snprintf(text, sizeof(text), "a");
	for (i = 0; i < 32; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, i % 2 ? ".b" : "[1]");
	snprintf(text + len, sizeof(text) - len, " = :v");
	ddb_expr_free(ok(COND, text, NULL));
	snprintf(text + len, sizeof(text) - len, ".c = :v");
	bad(COND, text, NULL, BG_ELIMIT, "more than 32 dereferences");
	snprintf(text + len, sizeof(text) - len, "[0] = :v");
	bad(COND, text, NULL, BG_ELIMIT, "more than 32 dereferences");
}

static void test_reserved_words(void **state)
{
	ddb_expr *x;

	(void)state;
	bad(COND, "status = :s", NULL, BG_EINVAL,
	    "column 1: attribute name 'status' is a reserved word");
	bad(COND, "Status = :s", NULL, BG_EINVAL, "reserved word");
	bad(COND, "a = :v AND data.x = :w", NULL, BG_EINVAL, "column 12: attribute name 'data'");
	bad(COND, "a.name = :v", NULL, BG_EINVAL, "column 3: attribute name 'name'");
	bad(PROJ, "pk, sk, total", NULL, BG_EINVAL, "column 9: attribute name 'total'");
	bad(UPD, "SET count = count + :one", NULL, BG_EINVAL, "'count' is a reserved word");
	bad(KEY, "year = :y", NULL, BG_EINVAL, "reserved word");
	/* Escaped, they are fine. */
	x = ok(COND, "#s = :s AND #d.x = :w", "{\"#s\":\"status\",\"#d\":\"data\"}");
	assert_int_equal(ddb_expr_nnames(x), 2);
	assert_string_equal(ddb_expr_name(x, 0), "#s");
	assert_string_equal(ddb_expr_name(x, 1), "#d");
	assert_null(ddb_expr_name(x, 2));
	ddb_expr_free(x);
	ddb_expr_free(ok(PROJ, "pk, sk, #t", "{\"#t\":\"total\"}"));
	/* Not reserved: near misses. */
	ddb_expr_free(ok(COND, "statuses = :s AND zones = :z AND abc = :a", NULL));
	/* REMOVE is not reserved, but is a keyword in an update expression. */
	ddb_expr_free(ok(COND, "remove = :v", NULL));
	bad(UPD, "SET remove = :v", NULL, BG_EINVAL, "'REMOVE' is a keyword");
	ddb_expr_free(ok(UPD, "SET #r = :v", "{\"#r\":\"remove\"}"));
}

static void test_keyword_case(void **state)
{
	(void)state;
	canon(COND, "a = :a and b = :b Or not c = :c", NULL, "a = :a AND b = :b OR NOT c = :c");
	canon(COND, "a BeTwEeN :x aNd :y", NULL, "a BETWEEN :x AND :y");
	canon(COND, "a iN (:x)", NULL, "a IN (:x)");
	canon(UPD, "set a = :v remove b add c :n delete d :s", NULL,
	      "SET a = :v REMOVE b ADD c :n DELETE d :s");
	canon(KEY, "pk = :p AnD begins_with(sk, :s)", NULL, "pk = :p AND begins_with(sk, :s)");
	bad(KEY, "pk = :p and BEGINS_with(sk, :s)", NULL, BG_EINVAL, "unknown function");
}

static void test_names(void **state)
{
	ddb_expr *x;

	(void)state;
	bad(COND, "#n = :v", NULL, BG_EINVAL,
	    "column 1: expression attribute name '#n' is not defined in ExpressionAttributeNames");
	bad(COND, "a = :v AND #n = :w", "{\"#m\":\"n\"}", BG_EINVAL,
	    "column 12: expression attribute name '#n'");
	bad(COND, "#n = :v", "{\"#n\":1}", BG_EINVAL, "non-empty string");
	bad(COND, "#n = :v", "{\"#n\":\"\"}", BG_EINVAL, "non-empty string");
	bad(COND, "#n = :v", "[]", BG_EINVAL, "not an object");
	bad(COND, "# = :v", NULL, BG_EINVAL, "column 1: unexpected character '#'");
	bad(COND, "a = :", NULL, BG_EINVAL, "column 5: unexpected character ':'");
	/* A #name may stand for any attribute, reserved or with dots. */
	x = ok(COND, "#n = :v AND #n <> :w AND size(#n) > :v", "{\"#n\":\"a.b\"}");
	assert_int_equal(ddb_expr_nnames(x), 1);
	assert_int_equal(ddb_expr_nvalues(x), 2);
	assert_string_equal(ddb_expr_value(x, 0), ":v");
	assert_string_equal(ddb_expr_value(x, 1), ":w");
	assert_null(ddb_expr_value(x, 2));
	assert_int_equal(ddb_expr_npaths(x), 1);
	assert_int_equal(ddb_expr_path_at(x, 0).n, 1);
	ddb_expr_free(x);
}

static void test_limits(void **state)
{
	char *text;
	size_t i, len;
	ddb_expr *x = NULL;

	(void)state;
	text = malloc(BG_MAX_EXPR_LEN + 2);
	assert_non_null(text);
	/* Exactly 4 KiB parses; one byte more is refused before parsing. */
	memset(text, ' ', BG_MAX_EXPR_LEN + 1);
	memcpy(text, "a = :v", 6);
	assert_int_equal(ddb_expr_parse(COND, text, BG_MAX_EXPR_LEN, NULL, &x, &err), 0);
	ddb_expr_free(x);
	assert_int_equal(ddb_expr_parse(COND, text, BG_MAX_EXPR_LEN + 1, NULL, &x, &err),
	                 BG_ELIMIT);
	assert_null(x);
	assert_non_null(strstr(err.msg, "longer than 4096"));

	/* Nesting: 32 levels of parentheses are fine, 33 are not; NOT counts too. */
	for (len = 0; len < 32; len++)
		text[len] = '(';
	len += (size_t)snprintf(text + len, 16, "a = :v");
	for (i = 0; i < 32; i++)
		text[len++] = ')';
	text[len] = '\0';
	ddb_expr_free(ok(COND, text, NULL));
	len = 0;
	for (i = 0; i < 33; i++)
		len += (size_t)snprintf(text + len, 8, "NOT ");
	snprintf(text + len, 16, "a = :v");
	bad(COND, text, NULL, BG_ELIMIT, "nested more than 32 levels");
	for (len = 0; len < 33; len++)
		text[len] = '(';
	text[len] = '\0';
	bad(COND, text, NULL, BG_ELIMIT, "nested more than 32 levels");

	/* Nodes: 400 terms of three nodes each are more than 1024. */
	len = 0;
	for (i = 0; i < 400 && len < BG_MAX_EXPR_LEN - 16; i++)
		len += (size_t)snprintf(text + len, 16, "%sa=:v", i ? " OR " : "");
	bad(COND, text, NULL, BG_ELIMIT, "more than 1024 operators and operands");

	/* Placeholders: 255 bytes with the prefix. */
	memset(text, 'n', 300);
	text[0] = ':';
	memcpy(text + 255, " = a", 5);
	ddb_expr_free(ok(COND, text, NULL));
	text[255] = 'n';
	memcpy(text + 256, " = a", 5);
	bad(COND, text, NULL, BG_ELIMIT, "longer than 255 bytes");
	text[0] = '#';
	bad(COND, text, NULL, BG_ELIMIT, "longer than 255 bytes");
	free(text);
}

static void test_syntax_errors(void **state)
{
	ddb_expr *x = NULL;

	(void)state;
	bad(COND, "", NULL, BG_EINVAL, "the condition expression is empty");
	bad(FILT, "   ", NULL, BG_EINVAL, "the filter expression is empty");
	bad(PROJ, "", NULL, BG_EINVAL, "is empty");
	bad(UPD, "", NULL, BG_EINVAL, "is empty");
	bad(COND, "a = :v;", NULL, BG_EINVAL, "column 7: unexpected character ';'");
	bad(COND, "a = 'x'", NULL, BG_EINVAL, "column 5: unexpected character");
	bad(COND, "a = 5", NULL, BG_EINVAL, "column 5");
	bad(COND, "a = :v\xc3\xa9", NULL, BG_EINVAL, "column 7: unexpected byte 0xc3");
	assert_int_equal(ddb_expr_parse(COND, "a = :v\0b", 8, NULL, &x, &err), BG_EINVAL);
	assert_non_null(strstr(err.msg, "column 7: unexpected byte 0x00"));
	bad(COND, "a = :v b = :w", NULL, BG_EINVAL, "column 8: expected AND, OR");
	bad(COND, "a = :v ANDb = :w", NULL, BG_EINVAL, "column 8");
	/* Messages quote at most a short piece of the text. */
	bad(COND, "a = :v xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    NULL, BG_EINVAL, "...'");
	assert_true(strlen(err.msg) < 120);
	/* Bad arguments. */
	assert_int_equal(ddb_expr_parse(COND, "a = :v", 6, NULL, NULL, &err), BG_EINVAL);
	assert_int_equal(ddb_expr_parse((ddb_expr_kind)9, "a = :v", 6, NULL, &x, &err), BG_EINVAL);
	assert_int_equal(ddb_expr_parse(COND, "a = :v", 6, NULL, &x, NULL), 0);
	ddb_expr_free(x);
	assert_int_equal(ddb_expr_parse(COND, "a = ", 4, NULL, &x, NULL), BG_EINVAL);
	ddb_expr_free(NULL);
}

static void test_key_condition(void **state)
{
	ddb_expr *x;
	const ddb_expr_key_term *t, *pk, *sk;

	(void)state;
	x = ok(KEY, "pk = :customer", NULL);
	assert_int_equal(ddb_expr_key_nterms(x), 1);
	t = ddb_expr_key_term_at(x, 0);
	assert_int_equal(t->op, DDB_KEY_EQ);
	assert_memory_equal(t->attr, "pk", 2);
	assert_string_equal(t->value, ":customer");
	assert_null(ddb_expr_key_term_at(x, 1));
	assert_int_equal(ddb_expr_key_split(x, "pk", 2, &pk, &sk, &err), 0);
	assert_ptr_equal(pk, t);
	assert_null(sk);
	assert_int_equal(ddb_expr_key_split(x, "sk", 2, &pk, &sk, &err), BG_EINVAL);
	assert_non_null(strstr(err.msg, "partition key 'sk'"));
	ddb_expr_free(x);

	x = ok(KEY, "begins_with(#s, :prefix) AND #p = :customer", "{\"#p\":\"pk\",\"#s\":\"sk\"}");
	assert_int_equal(ddb_expr_key_nterms(x), 2);
	assert_int_equal(ddb_expr_key_term_at(x, 0)->op, DDB_KEY_BEGINS_WITH);
	assert_int_equal(ddb_expr_key_split(x, "pk", 2, &pk, &sk, &err), 0);
	assert_string_equal(pk->value, ":customer");
	assert_int_equal(sk->op, DDB_KEY_BEGINS_WITH);
	assert_memory_equal(sk->attr, "sk", 2);
	assert_string_equal(sk->value, ":prefix");
	assert_string_equal(ddb_key_op_name(sk->op), "begins_with");
	ddb_expr_free(x);

	x = ok(KEY, "(pk = :p) and sk between :a and :b", NULL);
	assert_int_equal(ddb_expr_key_split(x, "pk", 2, &pk, &sk, &err), 0);
	assert_int_equal(sk->op, DDB_KEY_BETWEEN);
	assert_string_equal(sk->value, ":a");
	assert_string_equal(sk->value2, ":b");
	ddb_expr_free(x);
	x = ok(KEY, "pk = :p AND sk = :s", NULL);
	assert_int_equal(ddb_expr_key_split(x, "sk", 2, &pk, &sk, &err), 0);
	assert_memory_equal(sk->attr, "pk", 2);
	ddb_expr_free(x);
	ddb_expr_free(ok(KEY, "pk = :p AND sk < :s", NULL));
	ddb_expr_free(ok(KEY, "pk = :p AND sk <= :s", NULL));
	ddb_expr_free(ok(KEY, "pk = :p AND sk > :s", NULL));
	ddb_expr_free(ok(KEY, "pk = :p AND sk >= :s", NULL));
	x = ok(COND, "a = :v", NULL);
	assert_int_equal(ddb_expr_key_nterms(x), 0);
	assert_int_equal(ddb_expr_key_split(x, "a", 1, &pk, &sk, &err), BG_EINVAL);
	ddb_expr_free(x);

	bad(KEY, "pk = :p OR sk = :s", NULL, BG_EINVAL, "column 1: OR cannot be used in a key");
	bad(KEY, "pk = :p AND sk <> :s", NULL, BG_EINVAL, "column 13: '<>' cannot be used");
	bad(KEY, "pk = :p AND NOT sk = :s", NULL, BG_EINVAL, "NOT cannot be used");
	bad(KEY, "pk = :p AND sk IN (:s)", NULL, BG_EINVAL, "IN cannot be used");
	bad(KEY, "pk = :p AND contains(sk, :s)", NULL, BG_EINVAL, "only begins_with");
	bad(KEY, "pk = :p AND begins_with(sk, othr)", NULL, BG_EINVAL, ":value placeholders");
	bad(KEY, "pk = :p AND sk = :s AND x = :x", NULL, BG_EINVAL,
	    "column 25: a key condition has at most two");
	bad(KEY, "pk = :p AND pk = :q", NULL, BG_EINVAL, "tests one attribute twice");
	bad(KEY, "sk > :s", NULL, BG_EINVAL, "must test the partition key with '='");
	bad(KEY, "pk = sk", NULL, BG_EINVAL, ":value placeholders");
	bad(KEY, ":p = pk", NULL, BG_EINVAL, "compares a key attribute");
	bad(KEY, "size(pk) = :p", NULL, BG_EINVAL, "compares a key attribute");
	bad(KEY, "pk.x = :p", NULL, BG_EINVAL, "column 1: a key condition names top-level");
	bad(KEY, "pk[0] = :p", NULL, BG_EINVAL, "top-level");
}

static void test_projection(void **state)
{
	ddb_expr *x;

	(void)state;
	canon(PROJ, "c, a.b, a.c[1], #s", "{\"#s\":\"status\"}", "a.b, a.c[1], c, #n1");
	x = ok(PROJ, "Title, RelatedItems[0], ProductReviews.FiveStar", NULL);
	assert_int_equal(ddb_expr_npaths(x), 3);
	assert_int_equal(ddb_expr_nvalues(x), 0);
	ddb_expr_free(x);
	bad(PROJ, "a, a", NULL, BG_EINVAL, "column 4: two document paths overlap: a and a");
	bad(PROJ, "a.b, a", NULL, BG_EINVAL, "overlap: a.b and a");
	bad(PROJ, "a[0], a.b", NULL, BG_EINVAL, "conflict");
	bad(PROJ, "#x, a", "{\"#x\":\"a\"}", BG_EINVAL, "overlap");
	ddb_expr_free(ok(PROJ, "a[0], a[1], b.c, b.d", NULL));
	bad(PROJ, "a,", NULL, BG_EINVAL, "column 3: expected an attribute name");
	bad(PROJ, "a b", NULL, BG_EINVAL, "column 3: expected ','");
	bad(PROJ, ":v", NULL, BG_EINVAL, "expected an attribute name");
	bad(PROJ, "size(a)", NULL, BG_EINVAL, "reserved");
	bad(PROJ, "attribute_exists(a)", NULL, BG_EINVAL, "column 17");
}

static void test_update(void **state)
{
	ddb_expr *x;

	(void)state;
	canon(UPD, "SET a = :v", NULL, "SET a = :v");
	canon(UPD, "SET b = b + :one, a = :v", NULL, "SET a = :v, b = b + :one");
	canon(UPD, "SET a = :x + :y - :z", NULL, "SET a = :x + :y - :z");
	canon(UPD, "SET a = if_not_exists(a, :zero) + :one", NULL,
	      "SET a = if_not_exists(a, :zero) + :one");
	canon(UPD, "SET l = list_append(if_not_exists(l, :empty), :new)", NULL,
	      "SET l = list_append(if_not_exists(l, :empty), :new)");
	canon(UPD, "DELETE s :x ADD n :one REMOVE r, q[1] SET a.b = c", NULL,
	      "SET a.b = c REMOVE q[1], r ADD n :one DELETE s :x");
	x = ok(UPD, "SET #s = :new REMOVE #t", "{\"#s\":\"status\",\"#t\":\"ttl\"}");
	assert_int_equal(ddb_expr_npaths(x), 2);
	assert_int_equal(ddb_expr_nvalues(x), 1);
	ddb_expr_free(x);
	bad(UPD, "SET a = :v SET b = :w", NULL, BG_EINVAL, "column 12: SET appears twice");
	bad(UPD, "REMOVE a remove b", NULL, BG_EINVAL, "REMOVE appears twice");
	bad(UPD, "SET a = :v, a = :w", NULL, BG_EINVAL, "overlap");
	bad(UPD, "SET a.b = :v REMOVE a", NULL, BG_EINVAL, "column 21: two document paths overlap");
	bad(UPD, "SET a[0] = :v REMOVE a.b", NULL, BG_EINVAL, "conflict");
	bad(UPD, "ADD n 1", NULL, BG_EINVAL, "ADD takes a path and a :value");
	bad(UPD, "DELETE s t", NULL, BG_EINVAL, "DELETE takes a path and a :value");
	bad(UPD, "SET a :v", NULL, BG_EINVAL, "'=' in a SET action");
	bad(UPD, "SET :v = a", NULL, BG_EINVAL, "expected an attribute name");
	bad(UPD, "SET a = :v,", NULL, BG_EINVAL, "expected an attribute name");
	bad(UPD, "SET a = :v b = :w", NULL, BG_EINVAL,
	    "column 12: expected SET, REMOVE, ADD or DELETE");
	bad(UPD, "UPSERT a = :v", NULL, BG_EINVAL, "column 1: expected SET");
	bad(UPD, "REMOVE a = :v", NULL, BG_EINVAL, "column 10");
	bad(UPD, "SET a = (b)", NULL, BG_EINVAL, "column 9");
	bad(UPD, "SET a = if_not_exists(:v, a)", NULL, BG_EINVAL, "document path first");
	bad(UPD, "SET a = b + ", NULL, BG_EINVAL, "expected an attribute name");
	{
		/* A chain of '+' nests the tree: it counts against the nesting limit. */
		char text[256];
		size_t i, len = (size_t)snprintf(text, sizeof(text), "SET a = b");
		for (i = 0; i < 32; i++)
			len += (size_t)snprintf(text + len, sizeof(text) - len, " + b");
		ddb_expr_free(ok(UPD, text, NULL));
		snprintf(text + len, sizeof(text) - len, " - b");
		bad(UPD, text, NULL, BG_ELIMIT, "nested more than 32 levels");
	}
}

/* ---- matching ---- */

/* Matches template (tk, ttext, tnames, tfixed) against request (rtext, rnames, rvalues):
 * returns the status; b receives bindings. */
static int match_b(ddb_expr_kind kind, const char *ttext, const char *tnames, const char *tfixed,
                   const char *rtext, const char *rnames, const char *rvalues, ddb_expr_bindings *b,
                   unsigned *dist)
{
	ddb_expr *t = ttext ? ok(kind, ttext, tnames) : NULL;
	ddb_expr *r = rtext ? ok(kind, rtext, rnames) : NULL;
	json_t *f = J(tfixed), *v = J(rvalues);
	int rc;

	bg_err_clear(&err);
	rc = ddb_expr_match(t, f, r, v, b, dist, &err);
	if (rc == BG_EDENIED)
		assert_true(err.msg[0] != '\0');
	json_decref(f);
	json_decref(v);
	ddb_expr_free(t);
	ddb_expr_free(r);
	return rc;
}

static int match(ddb_expr_kind kind, const char *ttext, const char *tnames, const char *tfixed,
                 const char *rtext, const char *rnames, const char *rvalues, unsigned *dist)
{
	ddb_expr_bindings b;
	int rc;

	ddb_expr_bindings_init(&b);
	rc = match_b(kind, ttext, tnames, tfixed, rtext, rnames, rvalues, &b, dist);
	ddb_expr_bindings_free(&b);
	return rc;
}

static void same(ddb_expr_kind kind, const char *ttext, const char *tnames, const char *rtext,
                 const char *rnames, const char *rvalues)
{
	unsigned d = 99;
	int rc = match(kind, ttext, tnames, NULL, rtext, rnames, rvalues, &d);

	if (rc != 0)
		fail_msg("'%s' vs '%s': %d (%s)", ttext, rtext, rc, err.msg);
	assert_int_equal(d, 0);
}

static void differ(ddb_expr_kind kind, const char *ttext, const char *tnames, const char *tfixed,
                   const char *rtext, const char *rnames, const char *rvalues, const char *want)
{
	unsigned d = 0;
	int rc = match(kind, ttext, tnames, tfixed, rtext, rnames, rvalues, &d);

	if (rc != BG_EDENIED)
		fail_msg("'%s' vs '%s': %d, want a difference", ttext ? ttext : "(none)",
		         rtext ? rtext : "(none)", rc);
	assert_true(d > 0);
	if (want != NULL && strstr(err.msg, want) == NULL)
		fail_msg("'%s' vs '%s': message '%s' lacks '%s'", ttext ? ttext : "(none)",
		         rtext ? rtext : "(none)", err.msg, want);
}

#define V3 "{\":a\":{\"S\":\"1\"},\":b\":{\"S\":\"2\"},\":c\":{\"S\":\"3\"}}"

static void test_match_equal(void **state)
{
	(void)state;
	/* Spacing, keyword case, placeholder names. */
	same(FILT, "a = :x AND b > :y", NULL, "  a=:a and   b>:b", NULL, V3);
	/* AND and OR operands in any order, nesting flattened. */
	same(FILT, "a = :x AND b > :y AND c < :z", NULL, "c < :c AND (a = :a AND b > :b)", NULL,
	     V3);
	same(FILT, "a = :x OR b > :y", NULL, "b > :b OR a = :a", NULL, V3);
	same(FILT, "(a = :x OR b > :y) AND NOT c = :z", NULL, "NOT c = :c AND (b > :b OR a = :a)",
	     NULL, V3);
	same(FILT, "a IN (:x, :y, :z)", NULL, "a IN (:c, :a, :b)", NULL, V3);
	/* #names resolve: a template's #name and a request's bare name are one attribute. */
	same(FILT, "#s = :x", "{\"#s\":\"phase\"}", "phase = :a", NULL, V3);
	same(FILT, "st = :x", NULL, "#q = :a", "{\"#q\":\"st\"}", V3);
	same(KEY, "pk = :customer AND begins_with(sk, :prefix)", NULL,
	     "begins_with(#k, :b) and #p = :a", "{\"#p\":\"pk\",\"#k\":\"sk\"}", V3);
	same(COND, "attribute_exists(a.b[1]) AND size(c) BETWEEN :x AND :y", NULL,
	     "size(c) between :a and :b and attribute_exists(a.b[1])", NULL, V3);
	same(UPD, "SET a = :x, b = b + :y REMOVE c", NULL, "remove c set b = b + :b, a = :a", NULL,
	     V3);
	/* Both absent. */
	assert_int_equal(match(FILT, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 0);
}

static void test_match_differences(void **state)
{
	unsigned d;

	(void)state;
	differ(FILT, "a = :x", NULL, NULL, "a > :a", NULL, V3,
	       "filter: comparator '>' where the runbook has '='");
	differ(COND, "begins_with(a, :x)", NULL, NULL, "contains(a, :a)", NULL, V3,
	       "condition: function 'contains' where the runbook has 'begins_with'");
	differ(FILT, "a = :x", NULL, NULL, "b = :a", NULL, V3,
	       "filter: attribute 'b' where the runbook has 'a'");
	differ(FILT, "a = :x", NULL, NULL, "a = b", NULL, V3, "'b' where the runbook has ':x'");
	differ(FILT, "a = :x", NULL, NULL, "a = :x AND b = :y", NULL,
	       "{\":x\":{\"S\":\"1\"},\":y\":{\"S\":\"2\"}}",
	       "filter: the request adds the condition 'b = :y'");
	differ(FILT, "a = :x AND b = :y", NULL, NULL, "a = :x", NULL, "{\":x\":{\"S\":\"1\"}}",
	       "filter: the request lacks the runbook's condition 'b = :y'");
	differ(FILT, "a = :x AND b = :y", NULL, NULL, "a = :x OR b = :y", NULL,
	       "{\":x\":{\"S\":\"1\"},\":y\":{\"S\":\"2\"}}", NULL);
	differ(FILT, "a = :x OR b = :y AND c = :z", NULL, NULL, "(a = :a OR b = :b) AND c = :c",
	       NULL, V3, NULL);
	differ(FILT, "NOT a = :x", NULL, NULL, "a = :a", NULL, V3, NULL);
	differ(FILT, "a IN (:x, :y)", NULL, NULL, "a IN (:a, :b, :c)", NULL, V3,
	       "adds the IN operand");
	differ(FILT, "a.b = :x", NULL, NULL, "a.c = :a", NULL, V3, "attribute 'a.c'");
	differ(FILT, "a[0] = :x", NULL, NULL, "a[1] = :a", NULL, V3, "attribute 'a[1]'");
	differ(UPD, "SET a = a + :x", NULL, NULL, "SET a = a - :a", NULL, V3,
	       "update: '-' where the runbook has '+'");
	/* #name aliased onto another attribute. */
	differ(FILT, "#s = :x", "{\"#s\":\"phase\"}", NULL, "#s = :a", "{\"#s\":\"holder\"}", V3,
	       "attribute 'holder' where the runbook has 'phase'");
	differ(KEY, "pk = :p", NULL, NULL, "#pk = :a", "{\"#pk\":\"otherkey\"}", V3,
	       "key condition: attribute 'otherkey'");
	/* A dotted name is one attribute, not a path. */
	differ(FILT, "a.b = :x", NULL, NULL, "#ab = :a", "{\"#ab\":\"a.b\"}", V3,
	       "attribute '\"a.b\"' where the runbook has 'a.b'");
	/* Absent on one side. */
	differ(FILT, NULL, NULL, NULL, "a = :a", NULL, V3,
	       "the request has a filter, the runbook none");
	differ(FILT, "a = :x", NULL, NULL, NULL, NULL, V3,
	       "the runbook has a filter, the request none");
	differ(UPD, NULL, NULL, NULL, "SET a = :a", NULL, V3, "the request has an update");
	/* Different kinds cannot be compared. */
	{
		ddb_expr *t = ok(FILT, "a = :x", NULL), *r = ok(COND, "a = :x", NULL);
		ddb_expr_bindings b;
		ddb_expr_bindings_init(&b);
		assert_int_equal(ddb_expr_match(t, NULL, r, NULL, &b, &d, &err), BG_EINVAL);
		assert_int_equal(ddb_expr_match(t, NULL, t, NULL, NULL, &d, &err), BG_EINVAL);
		ddb_expr_free(t);
		ddb_expr_free(r);
	}
}

static void test_match_values(void **state)
{
	ddb_expr_bindings b;
	ddb_expr *k, *f, *rk, *rf;
	json_t *fixed, *values;
	unsigned d;

	(void)state;
	/* Fixed values must be exactly equal. */
	assert_int_equal(match(COND, "#s = :stuck", "{\"#s\":\"status\"}",
	                       "{\":stuck\":{\"S\":\"STUCK\"}}", "#x = :v", "{\"#x\":\"status\"}",
	                       "{\":v\":{\"S\":\"STUCK\"}}", &d),
	                 0);
	differ(COND, "#s = :stuck", "{\"#s\":\"status\"}", "{\":stuck\":{\"S\":\"STUCK\"}}",
	       "#x = :v", "{\"#x\":\"status\"}", "{\":v\":{\"S\":\"DONE\"}}",
	       "condition: the value of :v differs from the runbook's fixed value for :stuck");
	differ(COND, "a = :n", NULL, "{\":n\":{\"N\":\"1\"}}", "a = :v", NULL,
	       "{\":v\":{\"N\":\"1.0\"}}", "fixed value");
	/* A request value must be defined. */
	differ(COND, "a = :n", NULL, NULL, "a = :v", NULL, "{\":w\":{\"N\":\"1\"}}",
	       ":v is used but not defined");
	differ(COND, "a = :n", NULL, NULL, "a = :v", NULL, NULL, "not defined");
	/* A parameter used twice must take one value. */
	assert_int_equal(match(FILT, "a = :x AND b = :x", NULL, NULL, "a = :p AND b = :q", NULL,
	                       "{\":p\":{\"S\":\"1\"},\":q\":{\"S\":\"1\"}}", &d),
	                 0);
	differ(FILT, "a = :x AND b = :x", NULL, NULL, "a = :p AND b = :q", NULL,
	       "{\":p\":{\"S\":\"1\"},\":q\":{\"S\":\"2\"}}",
	       "filter: the runbook's parameter :x is given two different values");
	/* Distinct parameters may take equal values. */
	assert_int_equal(match(FILT, "a = :x AND b = :y", NULL, NULL, "a = :p AND b = :p", NULL,
	                       "{\":p\":{\"S\":\"1\"}}", &d),
	                 0);
	/* Alike operands pair by value: the search must find the consistent pairing. */
	assert_int_equal(match(FILT, "a = :x AND a = :y AND b = :x", NULL, NULL,
	                       "b = :two AND a = :one AND a = :two", NULL,
	                       "{\":one\":{\"S\":\"1\"},\":two\":{\"S\":\"2\"}}", &d),
	                 0);

	/* Bindings carry across the expressions of one request, and come out. */
	k = ok(KEY, "pk = :customer AND begins_with(sk, :prefix)", NULL);
	f = ok(FILT, "#s = :state AND buyer = :customer", "{\"#s\":\"status\"}");
	rk = ok(KEY, "pk = :c AND begins_with(sk, :p)", NULL);
	rf = ok(FILT, "buyer = :c AND #st = :s", "{\"#st\":\"status\"}");
	fixed = J("{\":state\":{\"S\":\"OPEN\"}}");
	values = J("{\":c\":{\"S\":\"CUSTOMER#42\"},\":p\":{\"S\":\"ORDER#\"},"
	           "\":s\":{\"S\":\"OPEN\"}}");
	ddb_expr_bindings_init(&b);
	assert_int_equal(ddb_expr_match(k, fixed, rk, values, &b, &d, &err), 0);
	assert_int_equal(b.n, 2);
	assert_int_equal(ddb_expr_match(f, fixed, rf, values, &b, &d, &err), 0);
	assert_int_equal(b.n, 2);
	assert_string_equal(
	    json_string_value(json_object_get(ddb_expr_bindings_get(&b, ":customer"), "S")),
	    "CUSTOMER#42");
	assert_string_equal(
	    json_string_value(json_object_get(ddb_expr_bindings_get(&b, ":prefix"), "S")),
	    "ORDER#");
	assert_null(ddb_expr_bindings_get(&b, ":state"));
	assert_null(ddb_expr_bindings_get(&b, ":nope"));
	ddb_expr_bindings_free(&b);
	/* ... so a filter naming another customer than the key condition is a difference,
	 * and a failed match leaves the bindings as they were. */
	json_decref(values);
	values = J("{\":c\":{\"S\":\"CUSTOMER#42\"},\":p\":{\"S\":\"ORDER#\"},"
	           "\":s\":{\"S\":\"OPEN\"},\":o\":{\"S\":\"CUSTOMER#7\"}}");
	ddb_expr_free(rf);
	rf = ok(FILT, "buyer = :o AND #st = :s", "{\"#st\":\"status\"}");
	assert_int_equal(ddb_expr_match(k, fixed, rk, values, &b, &d, &err), 0);
	assert_int_equal(ddb_expr_match(f, fixed, rf, values, &b, &d, &err), BG_EDENIED);
	assert_non_null(strstr(err.msg, ":customer is given two different values"));
	assert_int_equal(b.n, 2);
	ddb_expr_bindings_free(&b);
	assert_int_equal(b.n, 0);
	ddb_expr_bindings_free(&b);
	ddb_expr_bindings_free(NULL);
	json_decref(fixed);
	json_decref(values);
	ddb_expr_free(k);
	ddb_expr_free(f);
	ddb_expr_free(rk);
	ddb_expr_free(rf);
}

static void test_match_projection(void **state)
{
	unsigned d;

	(void)state;
	same(PROJ, "pk, sk, #s, #t", "{\"#s\":\"status\",\"#t\":\"total\"}", "#t, sk, pk, #s",
	     "{\"#s\":\"status\",\"#t\":\"total\"}", NULL);
	/* Narrower is fine: fewer paths, or a path inside one of the runbook's. */
	same(PROJ, "pk, sk, addr", NULL, "sk", NULL, NULL);
	same(PROJ, "pk, sk, addr", NULL, "addr.city, pk", NULL, NULL);
	same(PROJ, "pk, tags", NULL, "tags[3]", NULL, NULL);
	/* Wider is not. */
	differ(PROJ, "pk, sk", NULL, NULL, "pk, sk, email", NULL, NULL,
	       "projection asks for attribute 'email' the runbook does not");
	differ(PROJ, "pk, addr.city", NULL, NULL, "addr", NULL, NULL, "attribute 'addr'");
	differ(PROJ, "pk, #s", "{\"#s\":\"status\"}", NULL, "pk, #s", "{\"#s\":\"secret\"}", NULL,
	       "attribute 'secret'");
	differ(PROJ, "pk", NULL, NULL, NULL, NULL, NULL,
	       "the request has no projection (it would read every attribute)");
	differ(PROJ, NULL, NULL, NULL, "pk", NULL, NULL,
	       "the request has a projection, the runbook none");
	/* Distance counts the paths too many. */
	assert_int_equal(match(PROJ, "a", NULL, NULL, "a, b, c", NULL, NULL, &d), BG_EDENIED);
	assert_int_equal(d, 2);
}

static void test_match_update(void **state)
{
	(void)state;
	same(UPD, "SET #s = :new", "{\"#s\":\"status\"}", "set #x = :v", "{\"#x\":\"status\"}",
	     "{\":v\":{\"S\":\"PENDING\"}}");
	same(UPD, "SET a = :x, b = :y ADD n :z", NULL, "ADD n :c SET b = :b, a = :a", NULL, V3);
	differ(UPD, "SET a = :x", NULL, NULL, "SET b = :a", NULL, V3,
	       "update: attribute 'b' where the runbook has 'a'");
	differ(UPD, "SET a = :x", NULL, NULL, "SET a = :a, b = :b", NULL, V3,
	       "update: the request adds the action 'b = :b'");
	differ(UPD, "SET a = :x, b = :y", NULL, NULL, "SET a = :a", NULL, V3,
	       "update: the request lacks the runbook's action 'b = :y'");
	differ(UPD, "SET a = :x", NULL, NULL, "SET a = :a REMOVE b", NULL, V3,
	       "update: the request adds the clause 'REMOVE b'");
	differ(UPD, "SET a = :x REMOVE b", NULL, NULL, "SET a = :a", NULL, V3,
	       "update: the request lacks the runbook's clause 'REMOVE b'");
	differ(UPD, "SET a = :x", NULL, NULL, "REMOVE a", NULL, V3, NULL);
	differ(UPD, "SET a = :x", NULL, NULL, "SET a = if_not_exists(a, :a)", NULL, V3, NULL);
	differ(UPD, "SET a = list_append(a, :x)", NULL, NULL, "SET a = list_append(:a, a)", NULL,
	       V3, NULL);
	differ(UPD, "ADD n :x", NULL, "{\":x\":{\"N\":\"1\"}}", "ADD n :a", NULL,
	       "{\":a\":{\"N\":\"1000\"}}", "fixed value");
}

static void test_distance_ordering(void **state)
{
	const char *t = "a = :x AND b > :y AND begins_with(c, :z)";
	unsigned d1, d2, d3, d4;

	(void)state;
	/* One comparator changed < one term swapped for another < a whole other filter. */
	assert_int_equal(
	    match(FILT, t, NULL, NULL, "a = :a AND b >= :b AND begins_with(c, :c)", NULL, V3, &d1),
	    BG_EDENIED);
	assert_int_equal(
	    match(FILT, t, NULL, NULL, "a = :a AND b > :b AND contains(c, :c)", NULL, V3, &d2),
	    BG_EDENIED);
	assert_int_equal(match(FILT, t, NULL, NULL,
	                       "a = :a AND b > :b AND begins_with(c, :c) AND d = :a", NULL, V3,
	                       &d3),
	                 BG_EDENIED);
	assert_int_equal(
	    match(FILT, t, NULL, NULL, "x <> :a OR attribute_exists(y)", NULL, V3, &d4),
	    BG_EDENIED);
	assert_int_equal(d1, 1);
	assert_int_equal(d2, 1);
	assert_true(d3 > d1);
	assert_true(d4 > d3);
	/* A missing filter is as far as the runbook's filter is big. */
	assert_int_equal(match(FILT, t, NULL, NULL, NULL, NULL, V3, &d1), BG_EDENIED);
	assert_int_equal(d1, 10);
}

/* Ten alike operands that pair in 10! ways, every one failing at the last operand: the
 * search stops at BG_MAX_EXPR_MATCH_STEPS and the request is refused, never let through. */
static void test_match_budget(void **state)
{
	char t[512], r[512], v[1024];
	size_t tl = 0, rl = 0, vl = 0, i;
	unsigned d;

	(void)state;
	for (i = 0; i < 10; i++) {
		tl += (size_t)snprintf(t + tl, sizeof(t) - tl, "a = :x%zu AND ", i);
		rl += (size_t)snprintf(r + rl, sizeof(r) - rl, "a = :p%zu AND ", i);
		vl += (size_t)snprintf(v + vl, sizeof(v) - vl, "%s\":p%zu\":{\"N\":\"%zu\"}",
		                       i ? "," : "{", i, i);
	}
	snprintf(t + tl, sizeof(t) - tl, "b = :x0");
	snprintf(r + rl, sizeof(r) - rl, "b = :q");
	snprintf(v + vl, sizeof(v) - vl, ",\":q\":{\"N\":\"99\"}}");
	assert_int_equal(match(FILT, t, NULL, NULL, r, NULL, v, &d), BG_EDENIED);
	assert_non_null(strstr(err.msg, "filter: too complex to compare"));
	assert_true(d > 0);
	/* With b's value among the others the same shape matches at once. */
	snprintf(v + vl, sizeof(v) - vl, ",\":q\":{\"N\":\"0\"}}");
	assert_int_equal(match(FILT, t, NULL, NULL, r, NULL, v, &d), 0);
}

static void test_canonical_roundtrip(void **state)
{
	static const struct {
		ddb_expr_kind kind;
		const char *text, *names;
	} cases[] = {
	    {COND, "#s = :v AND (#d.#x[1] > :w OR NOT attribute_exists(#s))",
	     "{\"#s\":\"status\",\"#d\":\"data\",\"#x\":\"a.b\"}"},
	    {FILT, "a IN (:a, :b) OR size(#e) BETWEEN :x AND :y", "{\"#e\":\"e-mail\"}"},
	    {KEY, "#p = :p AND #s BETWEEN :a AND :b", "{\"#p\":\"year\",\"#s\":\"sk\"}"},
	    {PROJ, "#a, b.#a, c[2]", "{\"#a\":\"name\"}"},
	    {UPD, "SET #r = :v, n = if_not_exists(n, :z) + :one REMOVE #t DELETE s :x",
	     "{\"#r\":\"remove\",\"#t\":\"ttl\"}"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ddb_expr *x = ok(cases[i].kind, cases[i].text, cases[i].names), *y = NULL;
		bg_buf b, b2;
		json_t *names = NULL, *names2 = NULL, *values = json_object();
		ddb_expr_bindings bind;
		unsigned d = 9;
		size_t k;

		bg_buf_init(&b, 8192);
		bg_buf_init(&b2, 8192);
		assert_int_equal(ddb_expr_canonical(x, &b, &names), 0);
		assert_non_null(names);
		assert_int_equal(ddb_expr_parse(cases[i].kind, b.data, b.len, names, &y, &err), 0);
		for (k = 0; k < ddb_expr_nvalues(x); k++)
			json_object_set_new(values, ddb_expr_value(x, k),
			                    json_pack("{s:s}", "S", ddb_expr_value(x, k)));
		ddb_expr_bindings_init(&bind);
		if (ddb_expr_match(x, NULL, y, values, &bind, &d, &err) != 0)
			fail_msg("'%s' -> '%s': %s", cases[i].text, b.data, err.msg);
		assert_int_equal(d, 0);
		ddb_expr_bindings_free(&bind);
		/* The canonical text of the re-parsed tree is the same text. */
		assert_int_equal(ddb_expr_canonical(y, &b2, &names2), 0);
		assert_string_equal(b.data, b2.data);
		assert_true(json_equal(names, names2));
		json_decref(names);
		json_decref(names2);
		json_decref(values);
		bg_buf_free(&b);
		bg_buf_free(&b2);
		ddb_expr_free(x);
		ddb_expr_free(y);
	}
	canon(COND, "#a = :v", "{\"#a\":\"status\"}", "#n1 = :v");
	canon(COND, "#a = :v OR #b = :v OR #a = :w", "{\"#a\":\"x y\",\"#b\":\"plain\"}",
	      "plain = :v OR #n1 = :v OR #n1 = :w");
	/* A full buffer is an error, never a cut-short text. */
	{
		ddb_expr *x = ok(COND, "abcdef = :v", NULL);
		bg_buf b;
		bg_buf_init(&b, 4);
		assert_int_equal(ddb_expr_canonical(x, &b, NULL), BG_ELIMIT);
		bg_buf_free(&b);
		assert_int_equal(ddb_expr_canonical(NULL, &b, NULL), BG_EINVAL);
		ddb_expr_free(x);
	}
}

static void test_check_placeholders(void **state)
{
	ddb_expr *k = ok(KEY, "#p = :p", "{\"#p\":\"pk\",\"#s\":\"status\"}");
	ddb_expr *f = ok(FILT, "#s = :s", "{\"#p\":\"pk\",\"#s\":\"status\"}");
	const ddb_expr *xs[3] = {k, NULL, f};
	json_t *names = J("{\"#p\":\"pk\",\"#s\":\"status\"}");
	json_t *values = J("{\":p\":{\"S\":\"1\"},\":s\":{\"S\":\"2\"}}");
	json_t *more = J("{\":p\":{\"S\":\"1\"},\":s\":{\"S\":\"2\"},\":zz\":{\"S\":\"3\"}}");
	json_t *empty = json_object();

	(void)state;
	assert_int_equal(ddb_expr_check_placeholders(xs, 3, names, values, &err), 0);
	/* An unused value or name is refused, as DynamoDB does. */
	assert_int_equal(ddb_expr_check_placeholders(xs, 3, names, more, &err), BG_EINVAL);
	assert_non_null(
	    strstr(err.msg, "ExpressionAttributeValues unused in expressions: keys: {:zz}"));
	assert_int_equal(ddb_expr_check_placeholders(xs, 1, names, values, &err), BG_EINVAL);
	assert_non_null(strstr(err.msg, "ExpressionAttributeNames unused"));
	/* An undefined value is refused. */
	json_object_del(values, ":s");
	assert_int_equal(ddb_expr_check_placeholders(xs, 3, names, values, &err), BG_EINVAL);
	assert_non_null(strstr(err.msg, "attribute value: :s"));
	assert_int_equal(ddb_expr_check_placeholders(xs, 3, names, NULL, &err), BG_EINVAL);
	/* Empty maps are refused. */
	assert_int_equal(ddb_expr_check_placeholders(xs, 3, empty, values, &err), BG_EINVAL);
	assert_non_null(strstr(err.msg, "non-empty"));
	assert_int_equal(ddb_expr_check_placeholders(xs, 3, names, empty, &err), BG_EINVAL);
	/* Names used but absent (parsed with other names). */
	assert_int_equal(ddb_expr_check_placeholders(xs, 3, NULL, more, &err), BG_EINVAL);
	assert_non_null(strstr(err.msg, "attribute name: #p"));
	/* Nothing at all is fine. */
	assert_int_equal(ddb_expr_check_placeholders(NULL, 0, NULL, NULL, &err), 0);
	json_decref(names);
	json_decref(values);
	json_decref(more);
	json_decref(empty);
	ddb_expr_free(k);
	ddb_expr_free(f);
}

/* The issue's own runbook examples parse, and a client's rendering of them matches. */
static void test_issue_examples(void **state)
{
	ddb_expr_bindings b;
	ddb_expr *t, *r;
	json_t *values;
	unsigned d;

	(void)state;
	t = ok(KEY, "pk = :customer AND begins_with(sk, :prefix)", NULL);
	r = ok(KEY, "begins_with(sk, :p) AND pk = :c", NULL);
	values = J("{\":c\":{\"S\":\"CUSTOMER#42\"},\":p\":{\"S\":\"ORDER#\"}}");
	ddb_expr_bindings_init(&b);
	assert_int_equal(ddb_expr_match(t, NULL, r, values, &b, &d, &err), 0);
	ddb_expr_bindings_free(&b);
	json_decref(values);
	ddb_expr_free(t);
	ddb_expr_free(r);
	/* boto3's condition builder writes names as #n0.. and wraps AND in parentheses. */
	same(KEY, "pk = :customer AND begins_with(sk, :prefix)", NULL,
	     "(#n0 = :v0 AND begins_with(#n1, :v1))", "{\"#n0\":\"pk\",\"#n1\":\"sk\"}",
	     "{\":v0\":{\"S\":\"CUSTOMER#42\"},\":v1\":{\"S\":\"ORDER#\"}}");
	/* "total" is a reserved word: the issue's projection needs a #name for it. */
	bad(PROJ, "pk, sk, #status, total", "{\"#status\":\"status\"}", BG_EINVAL,
	    "'total' is a reserved word");
	ddb_expr_free(
	    ok(PROJ, "pk, sk, #status, #total", "{\"#status\":\"status\",\"#total\":\"total\"}"));
	ddb_expr_free(ok(UPD, "SET #status = :new", "{\"#status\":\"status\"}"));
	ddb_expr_free(ok(COND, "#status = :stuck", "{\"#status\":\"status\"}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_comparators),
	    cmocka_unit_test(test_between_in),
	    cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_functions),
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_reserved_words),
	    cmocka_unit_test(test_keyword_case),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_key_condition),
	    cmocka_unit_test(test_projection),
	    cmocka_unit_test(test_update),
	    cmocka_unit_test(test_match_equal),
	    cmocka_unit_test(test_match_differences),
	    cmocka_unit_test(test_match_values),
	    cmocka_unit_test(test_match_projection),
	    cmocka_unit_test(test_match_update),
	    cmocka_unit_test(test_distance_ordering),
	    cmocka_unit_test(test_match_budget),
	    cmocka_unit_test(test_canonical_roundtrip),
	    cmocka_unit_test(test_check_placeholders),
	    cmocka_unit_test(test_issue_examples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
