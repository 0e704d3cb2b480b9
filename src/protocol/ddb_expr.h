/*
 * ddb_expr.h - DynamoDB's expression grammars (key condition, condition and filter,
 * projection, update), parsed into trees and compared by structure.
 *
 * A runbook grant lets a client run only the runbook's own query, so the gateway must
 * decide whether the expressions a request carries are the template's expressions with
 * other spacing, keyword case and placeholder names: text comparison is both too strict
 * (clients format differently) and too loose ("#n" may stand for another attribute).
 * This module parses each grammar as the DynamoDB Developer Guide documents it (keywords
 * case-insensitive, function names case-sensitive, reserved words refused unless written
 * as #name, #names resolved through ExpressionAttributeNames, :values kept symbolic) and
 * compares the resolved trees. It is pure: no I/O, no global state.
 *
 * Where the guide and DynamoDB's observed behaviour differ the parser accepts what
 * DynamoDB accepts: '_' in bare attribute names, whitespace between any tokens, and
 * chained '+'/'-' in SET (the quota page counts two operators in "a = :x + :y + :z").
 * Like DynamoDB it refuses overlapping or conflicting document paths in one projection
 * or update expression, and a clause keyword given twice.
 */
#ifndef BG_DDB_EXPR_H
#define BG_DDB_EXPR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

typedef enum ddb_expr_kind {
	DDB_EXPR_KEY_CONDITION, /* KeyConditionExpression */
	DDB_EXPR_CONDITION,     /* ConditionExpression */
	DDB_EXPR_FILTER,        /* FilterExpression: the condition grammar, "filter" in messages */
	DDB_EXPR_PROJECTION,    /* ProjectionExpression */
	DDB_EXPR_UPDATE         /* UpdateExpression */
} ddb_expr_kind;

/* A parsed expression: an opaque tree that owns all its memory (names are copied out of
 * the ExpressionAttributeNames given to the parser). */
typedef struct ddb_expr ddb_expr;

/* Parses len bytes at text (not NUL-terminated; only read during the call) as an
 * expression of the given kind. names is the ExpressionAttributeNames object (or NULL):
 * every #name used must be defined there as a non-empty string. Returns 0 and sets *out
 * to a tree the caller frees with ddb_expr_free(); otherwise sets *out to NULL and returns
 * BG_EINVAL (syntax, undefined #name, reserved word, overlapping paths; e->msg starts with
 * "column N: " where N is the 1-based byte offset of the fault), BG_ELIMIT (a limit from
 * limits.h: length, nesting, nodes, IN operands, path depth, placeholder length) or
 * BG_ENOMEM. Messages quote at most a short, sanitised piece of the text. */
int ddb_expr_parse(ddb_expr_kind kind, const char *text, size_t len, const json_t *names,
                   ddb_expr **out, bg_err *e) BG_MUST_CHECK;

/* ddb_expr_parse for a runbook template's own text: a reserved word may name an attribute
 * there ("total", "status"), since the gateway sends the template in canonical form
 * (ddb_expr_canonical), which writes such names as #placeholders. Clients' expressions
 * are parsed with ddb_expr_parse, as DynamoDB would. */
int ddb_expr_parse_template(ddb_expr_kind kind, const char *text, size_t len, const json_t *names,
                            ddb_expr **out, bg_err *e) BG_MUST_CHECK;

/* Frees x (NULL is fine). */
void ddb_expr_free(ddb_expr *x);

/* The kind x (not NULL) was parsed as. */
ddb_expr_kind ddb_expr_kind_of(const ddb_expr *x);

/* "key condition", "condition", "filter", "projection" or "update". */
const char *ddb_expr_kind_name(ddb_expr_kind kind);

/* ---- What a runbook linter needs. Strings are owned by x. ---- */

/* The distinct :value placeholders used, in order of first use (":customer"). */
size_t ddb_expr_nvalues(const ddb_expr *x);
const char *ddb_expr_value(const ddb_expr *x, size_t i);

/* The distinct #name placeholders used, in order of first use ("#status"). */
size_t ddb_expr_nnames(const ddb_expr *x);
const char *ddb_expr_name(const ddb_expr *x, size_t i);

/* One element of a document path: an attribute or map key (name, name_len bytes, which
 * may hold any UTF-8 a #name stood for) or, when name is NULL, a list index. */
typedef struct ddb_expr_elem {
	const char *name;
	size_t name_len;
	uint32_t index;
} ddb_expr_elem;

/* A document path with #names resolved: n elements (1 <= n <= BG_MAX_EXPR_PATH_DEPTH+1). */
typedef struct ddb_expr_path {
	const ddb_expr_elem *elems;
	size_t n;
} ddb_expr_path;

/* The distinct document paths the expression names (read or written), in order of first
 * use. An out-of-range i gives an empty path (n == 0). */
size_t ddb_expr_npaths(const ddb_expr *x);
ddb_expr_path ddb_expr_path_at(const ddb_expr *x, size_t i);

/* Appends p in expression form ("a.b[2]"; a name that is not a plain word is written
 * in double quotes, control bytes as '?'). Returns 0 or the bg_buf error. */
int ddb_expr_path_format(ddb_expr_path p, bg_buf *out) BG_MUST_CHECK;

/* One action of an update expression, for whoever must compute its effect (undo). */
typedef enum ddb_update_clause {
	DDB_UPD_SET,
	DDB_UPD_REMOVE,
	DDB_UPD_ADD,
	DDB_UPD_DELETE
} ddb_update_clause;

typedef enum ddb_update_operand {
	DDB_UPD_NONE,          /* REMOVE: no operand */
	DDB_UPD_VALUE,         /* SET p = :v (or ADD/DELETE's :v) */
	DDB_UPD_PATH,          /* SET p = q */
	DDB_UPD_IF_NOT_EXISTS, /* SET p = if_not_exists(q, :v) */
	DDB_UPD_OTHER          /* arithmetic, list_append, other forms of if_not_exists */
} ddb_update_operand;

typedef struct ddb_expr_update_action {
	ddb_update_clause clause;
	ddb_expr_path target;
	ddb_update_operand value_kind;
	const char *value; /* ":v" for VALUE and IF_NOT_EXISTS */
	ddb_expr_path src; /* q for PATH and IF_NOT_EXISTS */
} ddb_expr_update_action;

/* The actions of an update expression (0 for other kinds), clause by clause; each fills
 * *out (strings and paths owned by x) and returns true, false when i is out of range. */
size_t ddb_expr_update_nactions(const ddb_expr *x);
bool ddb_expr_update_action_at(const ddb_expr *x, size_t i, ddb_expr_update_action *out);

/* A key condition's terms. */
typedef enum ddb_key_op {
	DDB_KEY_EQ,
	DDB_KEY_LT,
	DDB_KEY_LE,
	DDB_KEY_GT,
	DDB_KEY_GE,
	DDB_KEY_BETWEEN,
	DDB_KEY_BEGINS_WITH
} ddb_key_op;

/* One term of a key condition: attr (a top-level attribute, #name resolved) compared with
 * the placeholder value (and value2, BETWEEN's upper bound; NULL otherwise). */
typedef struct ddb_expr_key_term {
	const char *attr;
	size_t attr_len;
	ddb_key_op op;
	const char *value;
	const char *value2;
} ddb_expr_key_term;

/* "=", "<", "<=", ">", ">=", "BETWEEN" or "begins_with". */
const char *ddb_key_op_name(ddb_key_op op);

/* A key condition's terms as written (one or two: the parser has checked that one is an
 * equality and that two name different attributes); 0 for other kinds. */
size_t ddb_expr_key_nterms(const ddb_expr *x);
const ddb_expr_key_term *ddb_expr_key_term_at(const ddb_expr *x, size_t i);

/* Splits a key condition by the table's (or index's) partition key attribute pk: *part
 * is its equality term, *sort the other term or NULL. Returns 0, or BG_EINVAL with a
 * message when pk is not tested for equality or the other term is not a sort key test
 * (two equalities on non-pk attributes). */
int ddb_expr_key_split(const ddb_expr *x, const char *pk, size_t pk_len,
                       const ddb_expr_key_term **part, const ddb_expr_key_term **sort,
                       bg_err *e) BG_MUST_CHECK;

/* ---- Matching a request against a template ---- */

/* A template placeholder bound to the request's attribute value (a reference is held). */
typedef struct ddb_expr_binding {
	char *name; /* the template's ":param" */
	json_t *value;
} ddb_expr_binding;

typedef struct ddb_expr_bindings {
	ddb_expr_binding *v;
	size_t n, cap;
} ddb_expr_bindings;

/* An empty set of bindings. */
void ddb_expr_bindings_init(ddb_expr_bindings *b);

/* Releases every binding (and the values' references); b is empty afterwards. */
void ddb_expr_bindings_free(ddb_expr_bindings *b);

/* The value bound to the template placeholder name (":customer"), borrowed; or NULL. */
const json_t *ddb_expr_bindings_get(const ddb_expr_bindings *b, const char *name);

/*
 * Compares the template expression t with the request's expression r (either may be
 * NULL: the expression is absent; both must be of one kind otherwise, else BG_EINVAL).
 *
 * They are equal when their trees are equal with #names resolved (so "#n" standing for
 * another attribute is a difference), whatever the spacing, keyword case and placeholder
 * names, and whatever the order of the operands of AND, of OR and of an IN list (AND and
 * OR nest flat: "(a AND b) AND c" is "a AND b AND c"). An update's clauses and actions
 * compare as sets. A projection r matches when each of its paths is one of t's or lies
 * inside one (narrower is fine, wider is not).
 *
 * Values: a template placeholder defined in t_fixed (JSON object ":name" -> attribute
 * value) must meet a request placeholder whose value in r_values is exactly equal (the
 * same JSON; "1.0" is not "1"); any other template placeholder is a parameter and is bound
 * to the request's value. b carries bindings in and out: call with the same b for every
 * expression of one request so that a parameter used in two expressions (or twice in one)
 * must take one value. A request placeholder missing from r_values is a difference.
 *
 * Returns 0 (match: *distance 0, new bindings added to b); BG_EDENIED with e->msg naming
 * the first difference for a responder ("filter: comparator '>' where the runbook has
 * '='", "projection asks for attribute 'email' the runbook does not") and *distance, a
 * rough count of differing nodes for ranking runbooks by closeness (b is then as it was);
 * or BG_EINVAL / BG_ENOMEM. distance and e may be NULL. r's messages quote names from the
 * request, sanitised and shortened, never attribute values.
 */
int ddb_expr_match(const ddb_expr *t, const json_t *t_fixed, const ddb_expr *r,
                   const json_t *r_values, ddb_expr_bindings *b, unsigned *distance,
                   bg_err *e) BG_MUST_CHECK;

/*
 * Appends x's canonical text: keywords upper-case, single spaces, minimal parentheses,
 * AND/OR/IN operands, projection paths and update actions in one sorted order, clauses as
 * SET, REMOVE, ADD, DELETE. Names that are plain non-reserved words are written bare,
 * others as placeholders #n1, #n2, ... which *names (if not NULL) receives as a new JSON
 * object for ExpressionAttributeNames (NULL when none is needed). The text parses again
 * (with *names) to a tree that matches x; equal trees give equal text, so it serves for
 * hashing. Returns 0, BG_ELIMIT when out is full (or could not grow), BG_ENOMEM, or
 * BG_EINVAL for a NULL x. On failure out may hold part of the text: use it only after 0.
 */
int ddb_expr_canonical(const ddb_expr *x, bg_buf *out, json_t **names) BG_MUST_CHECK;

/* ddb_expr_canonical for one of several expressions of a request: placeholders go into
 * names (an object the caller owns and passes to each), reusing the one already issued
 * for the same attribute and taking the next free #nK otherwise, so the expressions can
 * share one ExpressionAttributeNames. */
int ddb_expr_canonical_into(const ddb_expr *x, bg_buf *out, json_t *names) BG_MUST_CHECK;

/*
 * DynamoDB's rules on one request's placeholders, for its n expressions xs (NULL entries
 * are skipped) and its ExpressionAttributeNames / ExpressionAttributeValues (NULL when
 * absent): each, when present, is a non-empty JSON object; every :value used is defined;
 * and every name and value defined is used by some expression (DynamoDB refuses unused
 * ones, and the gateway must not forward what it did not match). Returns 0, or BG_EINVAL
 * with a message naming the first offending placeholder.
 */
int ddb_expr_check_placeholders(const ddb_expr *const *xs, size_t n, const json_t *names,
                                const json_t *values, bg_err *e) BG_MUST_CHECK;

#endif
