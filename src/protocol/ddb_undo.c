/*
 * ddb_undo.c - the pure side of `breakglass undo` (see ddb_undo.h): the item a write
 * left, comparison and difference of items, and the conditioned restore.
 *
 * An undo must never put back a before-image over a change made since the write, so the
 * gateway compares the item now with what the write left, and then makes DynamoDB check
 * it again atomically (the restore's condition): these functions decide both, and must
 * agree with DynamoDB on what "equal" means, numbers above all ("19.90" = "19.9").
 */
#include "protocol/ddb_undo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/limits.h"
#include "protocol/ddb_expr.h"

/* --- equality ------------------------------------------------------------------------ */

/* A DynamoDB number as sign, significant digits and exponent: the value is
 * 0.DIGITS x 10^exp. False when s is not a number. */
typedef struct num {
	bool neg;
	char digits[64];
	long exp;
} num;

static bool num_parse(const char *s, num *out)
{
	size_t n = 0;
	long exp = 0, e = 0;
	bool seen = false, point = false, lead = true, eneg = false;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return false;
	if (*s == '+' || *s == '-')
		out->neg = *s++ == '-';
	for (; *s != '\0' && *s != 'e' && *s != 'E'; s++) {
		if (*s == '.') {
			if (point)
				return false;
			point = true;
			continue;
		}
		if (!isdigit((unsigned char)*s))
			return false;
		seen = true;
		if (lead && *s == '0') {
			if (point)
				exp--;
			continue;
		}
		lead = false;
		if (n + 1 >= sizeof(out->digits))
			return false; /* DynamoDB keeps 38 digits */
		out->digits[n++] = *s;
		if (!point)
			exp++;
	}
	if (!seen)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			eneg = *s++ == '-';
		if (!isdigit((unsigned char)*s))
			return false;
		for (; isdigit((unsigned char)*s); s++)
			if ((e = e * 10 + (*s - '0')) > 100000)
				return false;
		if (*s != '\0')
			return false;
	}
	while (n > 0 && out->digits[n - 1] == '0')
		n--;
	out->digits[n] = '\0';
	if (n == 0) {
		out->neg = false;
		out->exp = 0;
		return true;
	}
	out->exp = exp + (eneg ? -e : e);
	return true;
}

static bool num_equal(const char *a, const char *b)
{
	num x, y;

	if (!num_parse(a, &x) || !num_parse(b, &y))
		return a != NULL && b != NULL && strcmp(a, b) == 0;
	return x.neg == y.neg && x.exp == y.exp && strcmp(x.digits, y.digits) == 0;
}

/* The one type key of an attribute value, or NULL. */
static const char *av_type(const json_t *v, json_t **inner)
{
	const char *k;
	json_t *x;

	if (!json_is_object(v) || json_object_size(v) != 1)
		return NULL;
	json_object_foreach((json_t *)v, k, x)
	{
		*inner = x;
		return k;
	}
	return NULL;
}

static bool item_equal(const json_t *a, const json_t *b);

/* Every element of set a is in set b (sets hold no duplicates, so with equal sizes the
 * sets are equal). */
static bool set_within(const json_t *a, const json_t *b, bool numbers)
{
	size_t i, j;

	for (i = 0; i < json_array_size(a); i++) {
		const json_t *x = json_array_get(a, i);
		for (j = 0; j < json_array_size(b); j++) {
			const json_t *y = json_array_get(b, j);
			/* Elements that are not strings (never DynamoDB's) compare as JSON. */
			if (numbers && json_is_string(x) && json_is_string(y)
			        ? num_equal(json_string_value(x), json_string_value(y))
			        : json_equal(x, y))
				break;
		}
		if (j == json_array_size(b))
			return false;
	}
	return true;
}

bool ddb_undo_value_equal(const json_t *a, const json_t *b)
{
	json_t *x = NULL, *y = NULL;
	const char *ta = av_type(a, &x), *tb = av_type(b, &y);
	size_t i;

	if (ta == NULL || tb == NULL)
		return json_equal(a, b);
	if (strcmp(ta, tb) != 0)
		return false;
	/* A value whose content is not of its type's JSON shape (never DynamoDB's) compares as
	 * JSON, so that equality stays an equivalence whatever the trail holds. */
	if (json_typeof(x) != json_typeof(y) || (strcmp(ta, "N") == 0 && !json_is_string(x)) ||
	    ((strcmp(ta, "SS") == 0 || strcmp(ta, "BS") == 0 || strcmp(ta, "NS") == 0 ||
	      strcmp(ta, "L") == 0) &&
	     !json_is_array(x)) ||
	    (strcmp(ta, "M") == 0 && !json_is_object(x)))
		return json_equal(x, y);
	if (strcmp(ta, "N") == 0)
		return num_equal(json_string_value(x), json_string_value(y));
	if (strcmp(ta, "SS") == 0 || strcmp(ta, "BS") == 0 || strcmp(ta, "NS") == 0)
		return json_array_size(x) == json_array_size(y) &&
		       set_within(x, y, strcmp(ta, "NS") == 0);
	if (strcmp(ta, "M") == 0)
		return item_equal(x, y);
	if (strcmp(ta, "L") == 0) {
		if (json_array_size(x) != json_array_size(y))
			return false;
		for (i = 0; i < json_array_size(x); i++)
			if (!ddb_undo_value_equal(json_array_get(x, i), json_array_get(y, i)))
				return false;
		return true;
	}
	return json_equal(x, y);
}

static bool item_equal(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *v;

	if (json_object_size(a) != json_object_size(b))
		return false;
	json_object_foreach((json_t *)a, k, v)
	{
		if (!ddb_undo_value_equal(v, json_object_get(b, k)))
			return false;
	}
	return true;
}

bool ddb_undo_item_equal(const json_t *a, const json_t *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return item_equal(a, b);
}

static int diff_add(json_t *out, const char *name, const json_t *left, const json_t *now)
{
	return json_array_append_new(out, json_pack("{s:s,s:O,s:O}", "attribute", name, "left",
	                                            left != NULL ? left : json_null(), "now",
	                                            now != NULL ? now : json_null()));
}

static int by_attribute(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "attribute")),
	              json_string_value(json_object_get(*(json_t *const *)b, "attribute")));
}

json_t *ddb_undo_diff(const json_t *left, const json_t *now)
{
	json_t *out = json_array(), *v, *sorted;
	json_t **v_arr;
	const char *k;
	size_t i, n;

	if (out == NULL)
		return NULL;
	json_object_foreach((json_t *)left, k, v)
	{
		json_t *w = json_object_get(now, k);
		if (!ddb_undo_value_equal(v, w) && diff_add(out, k, v, w) != 0)
			goto fail;
	}
	json_object_foreach((json_t *)now, k, v)
	{
		if (json_object_get(left, k) == NULL && diff_add(out, k, NULL, v) != 0)
			goto fail;
	}
	/* One order, whatever jansson's hash order: a reader compares runs. */
	n = json_array_size(out);
	v_arr = n > 0 ? malloc(n * sizeof(*v_arr)) : NULL;
	if (n > 0 && v_arr == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		v_arr[i] = json_array_get(out, i);
	if (n > 1)
		qsort(v_arr, n, sizeof(*v_arr), by_attribute);
	sorted = json_array();
	for (i = 0; sorted != NULL && i < n; i++)
		if (json_array_append(sorted, v_arr[i]) != 0) {
			json_decref(sorted);
			sorted = NULL;
		}
	free(v_arr);
	json_decref(out);
	return sorted;
fail:
	json_decref(out);
	return NULL;
}

/* --- the item an update left --------------------------------------------------------- */

/* The attribute value at path p in item (a top-level attribute map), or NULL. Only name
 * steps; *list is set when a step is a list index. */
static json_t *path_get(const json_t *item, ddb_expr_path p, bool *list)
{
	const json_t *cur = item;
	json_t *v = NULL, *inner = NULL;
	size_t i;

	for (i = 0; i < p.n; i++) {
		const char *t;

		if (p.elems[i].name == NULL) {
			*list = true;
			return NULL;
		}
		if (i > 0) {
			t = av_type(v, &inner);
			if (t == NULL || strcmp(t, "M") != 0)
				return NULL;
			cur = inner;
		}
		v = json_object_getn(cur, p.elems[i].name, p.elems[i].name_len);
		if (v == NULL)
			return NULL;
	}
	return v;
}

/* The map (an attribute map) that holds p's last step in item, or NULL when a step
 * before it is missing or not a map. */
static json_t *path_parent(json_t *item, ddb_expr_path p)
{
	json_t *cur = item, *v, *inner = NULL;
	const char *t;
	size_t i;

	for (i = 0; i + 1 < p.n; i++) {
		v = json_object_getn(cur, p.elems[i].name, p.elems[i].name_len);
		t = av_type(v, &inner);
		if (t == NULL || strcmp(t, "M") != 0)
			return NULL;
		cur = inner;
	}
	return cur;
}

static bool has_list_step(ddb_expr_path p)
{
	size_t i;

	for (i = 0; i < p.n; i++)
		if (p.elems[i].name == NULL)
			return true;
	return false;
}

/* The value a SET action writes, read from the item as it was (orig). */
static int set_value(const ddb_expr_update_action *a, const json_t *orig, const json_t *values,
                     json_t **out, bg_err *e)
{
	bool list = false;
	json_t *v = NULL;

	switch (a->value_kind) {
	case DDB_UPD_VALUE:
		v = json_object_get(values, a->value);
		break;
	case DDB_UPD_PATH:
	case DDB_UPD_IF_NOT_EXISTS:
		if (has_list_step(a->src))
			return bg_err_set(
			    e, BG_EDENIED,
			    "undo cannot compute an update that reads a list element");
		v = path_get(orig, a->src, &list);
		if (v == NULL && a->value_kind == DDB_UPD_IF_NOT_EXISTS)
			v = json_object_get(values, a->value);
		else if (v == NULL)
			return bg_err_set(e, BG_EINVAL,
			                  "the update reads an attribute the item did not have");
		break;
	default:
		return bg_err_set(e, BG_EDENIED,
		                  "undo cannot compute SET with arithmetic or list_append; only "
		                  "SET path = :value, SET path = path, if_not_exists and REMOVE");
	}
	if (v == NULL)
		return bg_err_set(e, BG_EINVAL,
		                  "the update's %s is not in ExpressionAttributeValues",
		                  a->value != NULL ? a->value : "value");
	*out = v;
	return 0;
}

static int check_action(const ddb_expr_update_action *a, bg_err *e)
{
	if (a->clause == DDB_UPD_ADD || a->clause == DDB_UPD_DELETE)
		return bg_err_set(e, BG_EDENIED,
		                  "undo cannot compute ADD or DELETE clauses; only SET path = "
		                  ":value, SET path = path, if_not_exists and REMOVE");
	if (has_list_step(a->target))
		return bg_err_set(e, BG_EDENIED, "undo cannot compute an update of a list element");
	if (a->clause == DDB_UPD_SET && a->value_kind == DDB_UPD_OTHER)
		return bg_err_set(e, BG_EDENIED,
		                  "undo cannot compute SET with arithmetic or list_append; only "
		                  "SET path = :value, SET path = path, if_not_exists and REMOVE");
	return 0;
}

static int parse_update(const char *text, size_t len, const json_t *names, ddb_expr **x, bg_err *e)
{
	size_t i, n;
	ddb_expr_update_action a;
	int rc = ddb_expr_parse_template(DDB_EXPR_UPDATE, text, len, names, x, e);

	if (rc != 0)
		return rc == BG_ENOMEM ? rc : BG_EINVAL;
	n = ddb_expr_update_nactions(*x);
	for (i = 0; i < n; i++) {
		if (!ddb_expr_update_action_at(*x, i, &a) || (rc = check_action(&a, e)) != 0) {
			ddb_expr_free(*x);
			*x = NULL;
			return rc != 0 ? rc : bg_err_set(e, BG_EINVAL, "a malformed update");
		}
	}
	return 0;
}

int ddb_undo_update_check(const char *text, const json_t *names, bg_err *e)
{
	ddb_expr *x = NULL;
	int rc = parse_update(text, strlen(text), names, &x, e);

	ddb_expr_free(x);
	return rc;
}

static int update_after(const json_t *body, const json_t *before, json_t **after, bg_err *e)
{
	const json_t *ue = json_object_get(body, "UpdateExpression"),
	             *key = json_object_get(body, "Key"),
	             *values = json_object_get(body, "ExpressionAttributeValues");
	ddb_expr *x = NULL;
	json_t *item = NULL, *orig = NULL, *parent, *v = NULL;
	ddb_expr_update_action a;
	size_t i, n;
	int rc;

	if (json_object_get(body, "AttributeUpdates") != NULL)
		return bg_err_set(e, BG_EDENIED,
		                  "undo cannot compute the legacy AttributeUpdates form");
	if (!json_is_string(ue) || !json_is_object(key))
		return bg_err_set(e, BG_EINVAL, "the UpdateItem has no UpdateExpression or Key");
	rc = parse_update(json_string_value(ue), json_string_length(ue),
	                  json_object_get(body, "ExpressionAttributeNames"), &x, e);
	if (rc != 0)
		return rc;
	/* An update of a missing item creates it from its key. */
	orig = before != NULL ? json_deep_copy(before) : json_deep_copy(key);
	item = json_deep_copy(orig);
	if (orig == NULL || item == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto done;
	}
	n = ddb_expr_update_nactions(x);
	for (i = 0; i < n; i++) {
		if (!ddb_expr_update_action_at(x, i, &a)) {
			rc = bg_err_set(e, BG_EINVAL, "a malformed update");
			goto done;
		}
		parent = path_parent(item, a.target);
		if (a.clause == DDB_UPD_REMOVE) {
			if (parent != NULL)
				json_object_deln(parent, a.target.elems[a.target.n - 1].name,
				                 a.target.elems[a.target.n - 1].name_len);
			continue;
		}
		if (parent == NULL) {
			rc =
			    bg_err_set(e, BG_EINVAL,
			               "the update sets a path inside a map the item did not have");
			goto done;
		}
		if ((rc = set_value(&a, orig, values, &v, e)) != 0)
			goto done;
		if (json_object_setn_new(parent, a.target.elems[a.target.n - 1].name,
		                         a.target.elems[a.target.n - 1].name_len,
		                         json_deep_copy(v)) != 0) {
			rc = bg_err_set(e, BG_ENOMEM, "out of memory");
			goto done;
		}
	}
	*after = item;
	item = NULL;
done:
	ddb_expr_free(x);
	json_decref(orig);
	json_decref(item);
	return rc;
}

int ddb_undo_after(const char *op, const json_t *body, const json_t *before, json_t **after,
                   bg_err *e)
{
	*after = NULL;
	if (op != NULL && strcmp(op, "PutItem") == 0) {
		const json_t *item = json_object_get(body, "Item");
		if (!json_is_object(item))
			return bg_err_set(e, BG_EINVAL, "the PutItem has no Item");
		if ((*after = json_deep_copy(item)) == NULL)
			return bg_err_set(e, BG_ENOMEM, "out of memory");
		return 0;
	}
	if (op != NULL && strcmp(op, "DeleteItem") == 0)
		return 0;
	if (op != NULL && strcmp(op, "UpdateItem") == 0)
		return update_after(body, before, after, e);
	return bg_err_set(e, BG_EINVAL, "%s is not a single-item write", op != NULL ? op : "?");
}

/* --- the restore --------------------------------------------------------------------- */

/* Adds "#uN" for attribute name to names, and the term to cond. */
static int term(bg_buf *cond, json_t *names, json_t *values, const char *name, const json_t *value,
                size_t *n)
{
	char ph[24];
	int rc = 0;

	/* DynamoDB has no attribute named "" (nor would it take it in a condition). */
	if (name[0] == '\0')
		return BG_EINVAL;
	snprintf(ph, sizeof(ph), "#u%zu", *n);
	if (json_object_set_new(names, ph, json_string(name)) != 0)
		return BG_ENOMEM;
	if (cond->len > 0)
		rc = bg_buf_adds(cond, " AND ");
	if (rc == 0 && value != NULL) {
		char vp[24];
		snprintf(vp, sizeof(vp), ":u%zu", *n);
		if (json_object_set_new(values, vp, json_deep_copy(value)) != 0)
			return BG_ENOMEM;
		rc = bg_buf_addf(cond, "%s = %s", ph, vp);
	} else if (rc == 0) {
		rc = bg_buf_addf(cond, "attribute_not_exists(%s)", ph);
	}
	(*n)++;
	return rc;
}

int ddb_undo_restore(const char *table, const json_t *key, const json_t *before,
                     const json_t *after, const char **op, json_t **body, bg_err *e)
{
	json_t *names = json_object(), *values = json_object(), *b = NULL, *v;
	const char *k;
	bg_buf cond;
	size_t n = 0;
	int rc = 0;

	*body = NULL;
	*op = before != NULL ? "PutItem" : "DeleteItem";
	bg_buf_init(&cond, BG_MAX_EXPR_LEN);
	if (before == NULL && after == NULL) {
		rc = bg_err_set(e, BG_EINVAL, "the write neither found nor left an item");
		goto done;
	}
	if (!json_is_object(key) || json_object_size(key) == 0) {
		rc = bg_err_set(e, BG_EINVAL, "the item's key is not known");
		goto done;
	}
	if (json_object_size(after) + json_object_size(before) > BG_MAX_UNDO_ATTRS) {
		rc = bg_err_set(e, BG_ELIMIT,
		                "the item has more attributes than an undo's condition can "
		                "name (%d)",
		                BG_MAX_UNDO_ATTRS);
		goto done;
	}
	if (names == NULL || values == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto done;
	}
	if (after == NULL) {
		/* The write left no item: it must still be gone. */
		json_object_foreach((json_t *)key, k, v)
		{
			rc = term(&cond, names, values, k, NULL, &n);
			break;
		}
	} else {
		json_object_foreach((json_t *)after, k, v)
		{
			if ((rc = term(&cond, names, values, k, v, &n)) != 0)
				break;
		}
		json_object_foreach((json_t *)before, k, v)
		{
			if (rc == 0 && json_object_get(after, k) == NULL)
				rc = term(&cond, names, values, k, NULL, &n);
		}
	}
	if (rc == 0 && cond.len == 0)
		rc = BG_EINVAL;
	if (rc != 0) {
		rc = bg_err_set(e,
		                rc == BG_ENOMEM   ? BG_ENOMEM
		                : rc == BG_ELIMIT ? BG_ELIMIT
		                                  : BG_EINVAL,
		                "the restore's condition could not be built%s",
		                rc == BG_EINVAL ? ": an attribute without a name" : "");
		goto done;
	}
	b = json_pack("{s:s,s:O,s:s%,s:O}", "TableName", table, before != NULL ? "Item" : "Key",
	              before != NULL ? before : key, "ConditionExpression", cond.data, cond.len,
	              "ExpressionAttributeNames", names);
	if (b != NULL && json_object_size(values) > 0 &&
	    json_object_set(b, "ExpressionAttributeValues", values) != 0) {
		json_decref(b);
		b = NULL;
	}
	if (b == NULL)
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	*body = b;
done:
	bg_buf_free(&cond);
	json_decref(names);
	json_decref(values);
	return rc;
}
