/*
 * runbook_match.c - a request against a grant's runbooks (see runbook_match.h).
 *
 * Each pinned runbook is tried in turn, every check in the same order, and the first
 * difference ends the try with a distance (how far the request is from the template), so
 * a denial can name the runbook that came closest and what differed from it. Nothing the
 * request carries is taken on trust: a member the template does not account for is a
 * difference, whatever it is.
 */
#include "policy/runbook_match.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "protocol/ddb_expr.h"

/* Members of the request each operation may carry; anything else is refused. */
static const char *const members_query[] = {"TableName",
                                            "IndexName",
                                            "KeyConditionExpression",
                                            "FilterExpression",
                                            "ProjectionExpression",
                                            "ExpressionAttributeNames",
                                            "ExpressionAttributeValues",
                                            "Limit",
                                            "ExclusiveStartKey",
                                            "ConsistentRead",
                                            "ScanIndexForward",
                                            "Select",
                                            "ReturnConsumedCapacity",
                                            NULL};
static const char *const members_scan[] = {"TableName",
                                           "IndexName",
                                           "FilterExpression",
                                           "ProjectionExpression",
                                           "ExpressionAttributeNames",
                                           "ExpressionAttributeValues",
                                           "Limit",
                                           "ExclusiveStartKey",
                                           "ConsistentRead",
                                           "Segment",
                                           "TotalSegments",
                                           "Select",
                                           "ReturnConsumedCapacity",
                                           NULL};
static const char *const members_get[] = {"TableName",
                                          "Key",
                                          "ProjectionExpression",
                                          "ExpressionAttributeNames",
                                          "ConsistentRead",
                                          "ReturnConsumedCapacity",
                                          NULL};
static const char *const members_batch[] = {"RequestItems", "ReturnConsumedCapacity", NULL};
static const char *const members_batch_table[] = {
    "Keys", "ProjectionExpression", "ExpressionAttributeNames", "ConsistentRead", NULL};
static const char *const members_write[] = {"TableName",
                                            "Key",
                                            "Item",
                                            "UpdateExpression",
                                            "ConditionExpression",
                                            "ExpressionAttributeNames",
                                            "ExpressionAttributeValues",
                                            "ReturnValues",
                                            "ReturnConsumedCapacity",
                                            "ReturnItemCollectionMetrics",
                                            "ReturnValuesOnConditionCheckFailure",
                                            NULL};

/* Parameters of the old API that expressions replaced: named in the refusal. */
static const char *const legacy[] = {"KeyConditions",       "QueryFilter", "ScanFilter",
                                     "AttributesToGet",     "Expected",    "AttributeUpdates",
                                     "ConditionalOperator", NULL};

/* One try: the runbook, the request's parts, and the first difference. */
typedef struct attempt {
	const runbook *rb;
	const json_t *req;   /* the request (or, for BatchGetItem, its table's entry) */
	const json_t *top;   /* the whole request */
	const json_t *names; /* the request's ExpressionAttributeNames */
	const json_t *values;
	json_t *params; /* {name: value} bound so far */
	ddb_expr_bindings b;
	unsigned distance;
	char why[768];
} attempt;

static bool differ(attempt *a, unsigned distance, const char *fmt, ...) BG_PRINTF(3, 4);

static bool differ(attempt *a, unsigned distance, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
	a->distance += distance;
	return false;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++) {
		if (strcmp(*list, s) == 0)
			return true;
	}
	return false;
}

static bool members_ok(attempt *a, const json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		if (in_list(legacy, key))
			return differ(a, 100,
			              "the request uses the legacy parameter %s; runbooks allow "
			              "expressions only",
			              key);
		if (!in_list(allowed, key))
			return differ(a, 100,
			              "the request has %s, which the runbook does not allow", key);
	}
	return true;
}

/* Binds template placeholder ph (":name") to the request's value v: a fixed value must be
 * equal, a parameter takes it (and keeps it: one parameter, one value). */
static bool bind_value(attempt *a, const char *ph, const json_t *v, const char *where)
{
	const json_t *fixed = json_object_get(a->rb->values, ph), *had;
	const runbook_param *p;
	bg_err e;

	if (fixed != NULL) {
		if (!json_equal(fixed, v))
			return differ(a, 10, "%s: not the runbook's fixed value %s", where, ph);
		return true;
	}
	p = runbook_param_find(a->rb, ph + 1);
	if (p == NULL)
		return differ(a, 10, "%s: the runbook has no parameter %s", where, ph);
	had = json_object_get(a->params, p->name);
	if (had != NULL) {
		if (!json_equal(had, v))
			return differ(a, 10, "parameter %s is given two different values", p->name);
		return true;
	}
	if (runbook_param_check(p, v, &e) != 0)
		return differ(a, 5, "%s", e.msg);
	if (json_object_set(a->params, p->name, (json_t *)v) != 0)
		return differ(a, 100, "out of memory");
	return true;
}

/* A Key or Item: exactly the template's attributes, each value bound. */
static bool attrs_ok(attempt *a, const json_t *want, const json_t *got, const char *what)
{
	const char *attr;
	json_t *ph;
	char where[300];

	if (!json_is_object(got))
		return differ(a, 50, "the request has no %s", what);
	if (json_object_size(got) != json_object_size(want)) {
		json_object_foreach((json_t *)got, attr, ph)
		{
			if (json_object_get(want, attr) == NULL)
				return differ(a, 20,
				              "%s names attribute %s, which the runbook does not",
				              what, attr);
		}
		return differ(a, 20, "%s lacks attributes the runbook names", what);
	}
	json_object_foreach((json_t *)want, attr, ph)
	{
		const json_t *v = json_object_get(got, attr);
		snprintf(where, sizeof(where), "%s.%s", what, attr);
		if (v == NULL)
			return differ(a, 20, "%s lacks attribute %s", what, attr);
		if (!bind_value(a, json_string_value(ph), v, where))
			return false;
	}
	return true;
}

/* The request's expressions: parsed as DynamoDB would, DynamoDB's placeholder rules, then
 * each compared with the template's. */
static bool expressions_ok(attempt *a)
{
	static const struct {
		const char *key;
		ddb_expr_kind kind;
		size_t off;
		bool in_top; /* for BatchGetItem: the member is in the table's entry otherwise */
	} fields[] = {
	    {"KeyConditionExpression", DDB_EXPR_KEY_CONDITION, offsetof(runbook, key_condition),
	     true},
	    {"FilterExpression", DDB_EXPR_FILTER, offsetof(runbook, filter), true},
	    {"ConditionExpression", DDB_EXPR_CONDITION, offsetof(runbook, condition), true},
	    {"UpdateExpression", DDB_EXPR_UPDATE, offsetof(runbook, update), true},
	    {"ProjectionExpression", DDB_EXPR_PROJECTION, offsetof(runbook, projection), false},
	};
	ddb_expr *xs[5] = {NULL};
	const json_t *v;
	unsigned dist;
	size_t i, k;
	bg_err e;
	bool ok = true;

	for (i = 0; ok && i < 5; i++) {
		v = json_object_get(fields[i].in_top ? a->top : a->req, fields[i].key);
		if (v == NULL)
			continue;
		if (!json_is_string(v) ||
		    ddb_expr_parse(fields[i].kind, json_string_value(v), json_string_length(v),
		                   a->names, &xs[i], &e) != 0)
			ok = differ(a, 50, "%s: %s", fields[i].key,
			            json_is_string(v) ? e.msg : "not a string");
	}
	if (ok && ddb_expr_check_placeholders((const ddb_expr *const *)xs, 5, a->names, a->values,
	                                      &e) != 0)
		ok = differ(a, 50, "%s", e.msg);
	for (i = 0; ok && i < 5; i++) {
		const runbook_text *t = (const runbook_text *)((const char *)a->rb + fields[i].off);
		/* No projection in the runbook: every attribute; a request may ask for fewer. */
		if (fields[i].kind == DDB_EXPR_PROJECTION && t->x == NULL)
			continue;
		if (ddb_expr_match(t->x, a->rb->values, xs[i], a->values, &a->b, &dist, &e) != 0)
			ok = differ(a, dist > 0 ? dist : 1, "%s", e.msg);
	}
	/* Parameters bound in expressions pass their rules too. */
	for (k = 0; ok && k < a->b.n; k++) {
		if (json_object_get(a->rb->values, a->b.v[k].name) != NULL)
			continue;
		ok = bind_value(a, a->b.v[k].name, a->b.v[k].value, "expression");
	}
	for (i = 0; i < 5; i++)
		ddb_expr_free(xs[i]);
	return ok;
}

static bool limit_ok(attempt *a, json_t **forward)
{
	const json_t *lim = json_object_get(a->req, "Limit");

	if (lim == NULL) {
		/* Tightened: the template's Limit is added. */
		*forward = json_deep_copy(a->top);
		if (*forward == NULL ||
		    json_object_set_new(*forward, "Limit", json_integer(a->rb->limit)) != 0)
			return differ(a, 100, "out of memory");
		return true;
	}
	if (!json_is_integer(lim) || json_integer_value(lim) < 1)
		return differ(a, 5, "Limit must be a whole number from 1 to %lld",
		              (long long)a->rb->limit);
	if (json_integer_value(lim) > a->rb->limit)
		return differ(a, 5, "Limit %lld is larger than the runbook's %lld",
		              (long long)json_integer_value(lim), (long long)a->rb->limit);
	return true;
}

static bool return_ok(attempt *a, const char *member)
{
	const json_t *rv = json_object_get(a->top, member);
	const char *v = json_string_value(rv);
	size_t i;

	if (rv == NULL || (v != NULL && strcmp(v, "NONE") == 0))
		return true;
	for (i = 0; v != NULL && i < a->rb->n_return_values; i++) {
		if (strcmp(v, a->rb->return_values[i]) == 0)
			return true;
	}
	return differ(a, 5, "%s %s is not allowed by the runbook", member, v != NULL ? v : "?");
}

static bool options_ok(attempt *a)
{
	const runbook *rb = a->rb;
	const json_t *sel = json_object_get(a->req, "Select");
	const json_t *cr = json_object_get(a->req, "ConsistentRead");
	const char *s;

	if (sel != NULL) {
		s = json_string_value(sel);
		if (s == NULL || !(strcmp(s, "COUNT") == 0 ||
		                   (strcmp(s, "SPECIFIC_ATTRIBUTES") == 0 &&
		                    json_object_get(a->req, "ProjectionExpression") != NULL) ||
		                   (rb->select != NULL && strcmp(s, rb->select) == 0)))
			return differ(a, 10, "Select %s is not allowed by the runbook",
			              s != NULL ? s : "?");
	}
	if (rb->consistent_read >= 0 &&
	    (cr != NULL ? json_is_true(cr) : false) != (rb->consistent_read == 1))
		return differ(a, 5, "the runbook reads with ConsistentRead %s",
		              rb->consistent_read ? "true" : "false");
	if (cr != NULL && !json_is_boolean(cr))
		return differ(a, 5, "ConsistentRead must be true or false");
	if (rb->scan_forward >= 0) {
		const json_t *f = json_object_get(a->req, "ScanIndexForward");
		if ((f == NULL ? true : json_is_true(f)) != (rb->scan_forward == 1))
			return differ(a, 5, "the runbook reads %s first (ScanIndexForward %s)",
			              rb->scan_forward ? "oldest" : "newest",
			              rb->scan_forward ? "true" : "false");
	}
	/* ReturnValues, and ReturnValuesOnConditionCheckFailure (which would hand back the
	 * whole item when the condition refuses the write: a read of any key the parameters
	 * allow): NONE, or what the runbook's return_values lists (ALL_OLD for the latter). */
	if (!return_ok(a, "ReturnValues") || !return_ok(a, "ReturnValuesOnConditionCheckFailure"))
		return false;
	if (rb->scan_forward < 0 && json_object_get(a->req, "ScanIndexForward") != NULL &&
	    !json_is_boolean(json_object_get(a->req, "ScanIndexForward")))
		return differ(a, 5, "ScanIndexForward must be true or false");
	if (rb->total_segments > 0) {
		const json_t *ts = json_object_get(a->req, "TotalSegments"),
		             *seg = json_object_get(a->req, "Segment");
		if (!json_is_integer(ts) || json_integer_value(ts) != rb->total_segments ||
		    !json_is_integer(seg) || json_integer_value(seg) < 0 ||
		    json_integer_value(seg) >= rb->total_segments)
			return differ(a, 10,
			              "a scan by this runbook uses TotalSegments %lld and a "
			              "Segment below it",
			              (long long)rb->total_segments);
	}
	return true;
}

/* Tries one runbook; true when the request is it. */
static bool try_runbook(attempt *a, const json_t *body, const ddb_op_info *op, json_t **forward)
{
	const runbook *rb = a->rb;
	const char *op_name = op->name;
	const json_t *table = json_object_get(body, "TableName"), *idx;

	a->top = body;
	a->req = body;
	if (strcmp(rb->op->name, op_name) != 0)
		return differ(a, 1000, "it runs %s, the request is %s", rb->op->name, op_name);
	if (strcmp(op_name, "BatchGetItem") == 0) {
		const json_t *items = json_object_get(body, "RequestItems");
		const json_t *keys;
		size_t i;
		if (!members_ok(a, body, members_batch))
			return false;
		if (!json_is_object(items) || json_object_size(items) != 1 ||
		    (a->req = json_object_get(items, rb->table)) == NULL)
			return differ(a, 500, "a batch by this runbook names table %s and no other",
			              rb->table);
		if (!members_ok(a, a->req, members_batch_table))
			return false;
		keys = json_object_get(a->req, "Keys");
		if (!json_is_array(keys) || json_array_size(keys) == 0 ||
		    (int64_t)json_array_size(keys) > rb->limit)
			return differ(a, 10, "a batch by this runbook reads 1 to %lld keys",
			              (long long)rb->limit);
		for (i = 0; i < json_array_size(keys); i++) {
			/* Each key binds the parameters afresh: one batch, several keys. */
			json_t *keep = a->params;
			a->params = json_object();
			if (a->params == NULL ||
			    !attrs_ok(a, rb->key, json_array_get(keys, i), "Keys")) {
				json_decref(a->params);
				a->params = keep;
				return false;
			}
			json_decref(a->params);
			a->params = keep;
		}
		a->names = json_object_get(a->req, "ExpressionAttributeNames");
		a->values = NULL;
		return expressions_ok(a) && options_ok(a);
	}
	if (!members_ok(a, body,
	                strcmp(op_name, "Query") == 0     ? members_query
	                : strcmp(op_name, "Scan") == 0    ? members_scan
	                : strcmp(op_name, "GetItem") == 0 ? members_get
	                                                  : members_write))
		return false;
	if (!json_is_string(table) || strcmp(json_string_value(table), rb->table) != 0)
		return differ(a, 500, "it reads table %s", rb->table);
	idx = json_object_get(body, "IndexName");
	if ((idx == NULL) != (rb->index == NULL) ||
	    (idx != NULL &&
	     strcmp(json_string_value(idx) ? json_string_value(idx) : "", rb->index) != 0))
		return differ(
		    a, 200, rb->index != NULL ? "it reads index %s" : "it reads the table, not %s",
		    rb->index != NULL
		        ? rb->index
		        : (json_string_value(idx) ? json_string_value(idx) : "an index"));
	a->names = json_object_get(body, "ExpressionAttributeNames");
	a->values = json_object_get(body, "ExpressionAttributeValues");
	if (rb->key != NULL && !attrs_ok(a, rb->key, json_object_get(body, "Key"), "Key"))
		return false;
	if (rb->key == NULL && json_object_get(body, "Key") != NULL)
		return differ(a, 50, "the request has a Key, the runbook none");
	if (rb->item != NULL && !attrs_ok(a, rb->item, json_object_get(body, "Item"), "Item"))
		return false;
	if (rb->item == NULL && json_object_get(body, "Item") != NULL)
		return differ(a, 50, "the request has an Item, the runbook none");
	if (!expressions_ok(a) || !options_ok(a))
		return false;
	if ((strcmp(op_name, "Query") == 0 || strcmp(op_name, "Scan") == 0) &&
	    !limit_ok(a, forward))
		return false;
	return true;
}

/* Grant, runbook, parameters and, for a parallel scan, the segment: each segment pages
 * on its own. */
static void page_key(const store_grant *g, const runbook *rb, const json_t *params,
                     const json_t *body, char out[65])
{
	char *p = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
	const json_t *seg = json_object_get(body, "Segment");
	bg_buf b;
	uint8_t h[BG_SHA256_LEN];

	bg_buf_init(&b, 64 * 1024);
	if (bg_buf_addf(&b, "%s\n%s\n%s\n%s\n%lld", g->id, rb->id, rb->hash, p != NULL ? p : "",
	                json_is_integer(seg) ? (long long)json_integer_value(seg) : -1LL) != 0)
		b.len = 0;
	bg_sha256(b.data != NULL ? b.data : "", b.len, h);
	bg_hex(h, sizeof(h), out);
	bg_buf_free(&b);
	free(p);
}

int rb_match(const runbook_set *set, const store_grant *g, const ddb_op_info *op,
             const json_t *body, rb_decision *d)
{
	const runbook *rb;
	unsigned best = ~0u;
	char best_why[900] = "";
	attempt a;
	size_t i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < g->n_runbooks; i++) {
		json_t *forward = NULL;
		bool ok;
		rb = runbook_set_find(set, g->runbooks[i]);
		memset(&a, 0, sizeof(a));
		if (rb == NULL) {
			snprintf(a.why, sizeof(a.why),
			         "runbook %s is no longer in the gateway's runbook folder",
			         g->runbooks[i]);
			a.distance = 100000;
		} else if (strcmp(rb->hash, g->runbook_hashes[i]) != 0) {
			snprintf(a.why, sizeof(a.why),
			         "runbook %s was changed after the grant (pinned %.12s, now "
			         "%.12s): a new "
			         "grant is needed",
			         rb->id, g->runbook_hashes[i], rb->hash);
			a.distance = 50000;
		} else {
			a.rb = rb;
			a.params = json_object();
			ddb_expr_bindings_init(&a.b);
			ok = a.params != NULL && try_runbook(&a, body, op, &forward);
			ddb_expr_bindings_free(&a.b);
			if (ok) {
				d->rb = rb;
				d->params = a.params;
				d->forward = forward;
				d->continuation =
				    json_object_get(body, "ExclusiveStartKey") != NULL;
				page_key(g, rb, a.params, body, d->page_key);
				return 0;
			}
			json_decref(forward);
			json_decref(a.params);
		}
		if (a.distance < best) {
			best = a.distance;
			if (a.rb != NULL)
				snprintf(best_why, sizeof(best_why), "%s: %s", a.rb->id, a.why);
			else
				snprintf(best_why, sizeof(best_why), "%s", a.why);
		}
	}
	if (g->n_runbooks == 0)
		snprintf(d->why, sizeof(d->why), "the grant names no runbook");
	else
		snprintf(d->why, sizeof(d->why),
		         "the request is none of the grant's runbooks; closest, %s", best_why);
	return BG_EDENIED;
}

void rb_decision_free(rb_decision *d)
{
	json_decref(d->params);
	json_decref(d->forward);
	memset(d, 0, sizeof(*d));
}
