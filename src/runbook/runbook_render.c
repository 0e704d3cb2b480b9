/*
 * runbook_render.c - from a template and parameter values to the DynamoDB request that
 * runs it (runbook.h: runbook_bind, runbook_render) and to the equivalent AWS CLI command
 * line (runbook_aws_command).
 *
 * `breakglass run` sends what this renders through the gateway, where the matcher must
 * recognise it as the template; `runbook test` sends it to a local dynalite. Placeholders
 * in key and item maps are substituted in place; only those in expressions go into
 * ExpressionAttributeValues, since DynamoDB refuses a value no expression uses.
 */
#include "runbook/runbook.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "common/buf.h"

int runbook_bind(const runbook *r, const json_t *texts, json_t **out, bg_err *e)
{
	json_t *avs = json_object(), *av;
	const char *name;
	json_t *v;
	size_t i;
	int rc;

	*out = NULL;
	if (avs == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	json_object_foreach((json_t *)texts, name, v)
	{
		if (runbook_param_find(r, name) == NULL) {
			json_decref(avs);
			return bg_err_set(e, BG_EINVAL, "runbook %s has no parameter %s", r->id,
			                  name);
		}
		if (!json_is_string(v)) {
			json_decref(avs);
			return bg_err_set(e, BG_EINVAL, "parameter %s must be given as text", name);
		}
	}
	for (i = 0; i < r->n_params; i++) {
		v = json_object_get(texts, r->params[i].name);
		rc = runbook_param_value(&r->params[i], v != NULL ? json_string_value(v) : NULL,
		                         &av, e);
		if (rc == 0 && json_object_set_new(avs, r->params[i].name, av) != 0)
			rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		if (rc != 0) {
			json_decref(avs);
			return rc;
		}
	}
	*out = avs;
	return 0;
}

/* The value of placeholder ph (":name"): a fixed value or a parameter's. */
static json_t *ph_value(const runbook *r, const json_t *avs, const char *ph)
{
	json_t *v = json_object_get(r->values, ph);

	return v != NULL ? v : json_object_get(avs, ph + 1);
}

/* {attr: ":ph"} with each placeholder replaced by its value. */
static json_t *subst_map(const runbook *r, const json_t *avs, const json_t *map, bg_err *e)
{
	json_t *o = json_object(), *v, *val;
	const char *attr;

	if (o == NULL)
		return NULL;
	json_object_foreach((json_t *)map, attr, v)
	{
		val = ph_value(r, avs, json_string_value(v));
		if (val == NULL || json_object_set(o, attr, val) != 0) {
			json_decref(o);
			bg_err_set(e, BG_EINVAL, "placeholder %s has no value",
			           json_string_value(v));
			return NULL;
		}
	}
	return o;
}

/* The expression fields of a template and their request keys, in request order. */
static const struct {
	size_t off;
	const char *key;  /* in the DynamoDB request */
	const char *name; /* in runbook_describe() */
} expr_fields[] = {{offsetof(runbook, key_condition), "KeyConditionExpression", "key_condition"},
                   {offsetof(runbook, projection), "ProjectionExpression", "projection"},
                   {offsetof(runbook, filter), "FilterExpression", "filter"},
                   {offsetof(runbook, condition), "ConditionExpression", "condition"},
                   {offsetof(runbook, update), "UpdateExpression", "update"}};
#define N_EXPR_FIELDS (sizeof(expr_fields) / sizeof(expr_fields[0]))

static const runbook_text *expr_field(const runbook *r, size_t i)
{
	return (const runbook_text *)((const char *)r + expr_fields[i].off);
}

/* Field i's expression in canonical form (its #placeholders issued into names), as a new
 * JSON string; NULL when out of memory or past the expression limit. */
static json_t *canonical_text(const runbook_text *f, json_t *names)
{
	json_t *out = NULL;
	bg_buf text;

	bg_buf_init(&text, BG_MAX_EXPR_LEN + 1);
	if (ddb_expr_canonical_into(f->x, &text, names) == 0)
		out = json_stringn(text.data, text.len);
	bg_buf_free(&text);
	return out;
}

/* Sets each expression the template has, in canonical form (reserved words and names
 * that are not plain words as #placeholders, sharing one ExpressionAttributeNames), and
 * the :values they use. Expressions go into req; the projection (and, for BatchGetItem,
 * the names) into inner. */
static int set_expressions(const runbook *r, const json_t *avs, json_t *req, json_t *inner,
                           bg_err *e)
{
	json_t *names = json_object(), *values = json_object(), *v;
	size_t i, k;
	int rc = names == NULL || values == NULL ? BG_ENOMEM : 0;

	for (i = 0; rc == 0 && i < N_EXPR_FIELDS; i++) {
		const runbook_text *f = expr_field(r, i);
		if (f->x == NULL)
			continue;
		v = canonical_text(f, names);
		rc = v == NULL || json_object_set_new(i == 1 ? inner : req, expr_fields[i].key, v)
		         ? BG_ENOMEM
		         : 0;
		for (k = 0; rc == 0 && k < ddb_expr_nvalues(f->x); k++) {
			const char *ph = ddb_expr_value(f->x, k);
			v = ph_value(r, avs, ph);
			if (v == NULL)
				rc = bg_err_set(e, BG_EINVAL, "placeholder %s has no value", ph);
			else if (json_object_set(values, ph, v) != 0)
				rc = BG_ENOMEM;
		}
	}
	if (rc == 0 && json_object_size(names) > 0)
		rc = json_object_set(inner, "ExpressionAttributeNames", names) ? BG_ENOMEM : 0;
	if (rc == 0 && json_object_size(values) > 0)
		rc = json_object_set(req, "ExpressionAttributeValues", values) ? BG_ENOMEM : 0;
	json_decref(names);
	json_decref(values);
	if (rc == BG_ENOMEM || rc == BG_ELIMIT)
		bg_err_set(e, rc, "cannot render runbook %s", r->id);
	return rc;
}

int runbook_render(const runbook *r, const json_t *avs, const json_t *start_key, json_t **out,
                   bg_err *e)
{
	json_t *req = json_object(), *key = NULL, *inner;
	const char *op = r->op->name;
	int rc = 0;

	*out = NULL;
	if (req == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	if (r->key != NULL && (key = subst_map(r, avs, r->key, e)) == NULL) {
		json_decref(req);
		return BG_EINVAL;
	}
	/* BatchGetItem names its table and keys one level down. */
	inner = req;
	if (strcmp(op, "BatchGetItem") == 0) {
		rc = json_object_set_new(req, "RequestItems",
		                         json_pack("{s:{s:[O]}}", r->table, "Keys", key));
		inner = json_object_get(json_object_get(req, "RequestItems"), r->table);
		if (inner == NULL)
			rc = -1;
	} else {
		rc = json_object_set_new(req, "TableName", json_string(r->table));
		if (rc == 0 && key != NULL)
			rc = json_object_set(req, "Key", key);
	}
	if (rc == 0 && r->index != NULL)
		rc = json_object_set_new(req, "IndexName", json_string(r->index));
	if (rc == 0 && r->item != NULL) {
		json_t *item = subst_map(r, avs, r->item, e);
		if (item == NULL) {
			json_decref(key);
			json_decref(req);
			return BG_EINVAL;
		}
		rc = json_object_set_new(req, "Item", item);
	}
	if (rc == 0 && (strcmp(op, "Query") == 0 || strcmp(op, "Scan") == 0))
		rc = json_object_set_new(req, "Limit", json_integer(r->limit));
	if (rc == 0 && r->scan_forward >= 0)
		rc = json_object_set_new(req, "ScanIndexForward", json_boolean(r->scan_forward));
	if (rc == 0 && r->consistent_read >= 0)
		rc = json_object_set_new(inner, "ConsistentRead", json_boolean(r->consistent_read));
	if (rc == 0 && r->total_segments > 0)
		rc = json_object_set_new(req, "TotalSegments", json_integer(r->total_segments)) ||
		     json_object_set_new(req, "Segment", json_integer(0));
	if (rc == 0 && start_key != NULL)
		rc = json_object_set(req, "ExclusiveStartKey", (json_t *)start_key);
	json_decref(key);
	if (rc != 0) {
		json_decref(req);
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	rc = set_expressions(r, avs, req, inner, e);
	if (rc != 0) {
		json_decref(req);
		return rc;
	}
	*out = req;
	return 0;
}

/* --- the AWS CLI equivalent ---------------------------------------------------------- */

/* Appends s single-quoted for a POSIX shell. */
static int add_sq(bg_buf *b, const char *s)
{
	int rc = bg_buf_addc(b, '\'');

	for (; rc == 0 && *s != '\0'; s++)
		rc = *s == '\'' ? bg_buf_adds(b, "'\\''") : bg_buf_addc(b, *s);
	return rc == 0 ? bg_buf_addc(b, '\'') : rc;
}

/* The CLI's kebab-case command for an operation: GetItem -> get-item. */
static int add_kebab(bg_buf *b, const char *op)
{
	int rc = 0;
	size_t i;

	for (i = 0; rc == 0 && op[i] != '\0'; i++) {
		if (isupper((unsigned char)op[i]) && i > 0)
			rc = bg_buf_addc(b, '-');
		if (rc == 0)
			rc = bg_buf_addc(b, (char)tolower((unsigned char)op[i]));
	}
	return rc;
}

/* A JSON value for the shell: parameters become "$name" (inside double quotes, so the
 * JSON's own quotes are escaped); the rest is literal. */
static int add_json_with_vars(bg_buf *b, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	const char *p;
	int rc;

	if (s == NULL)
		return BG_ENOMEM;
	rc = bg_buf_addc(b, '"');
	for (p = s; rc == 0 && *p != '\0'; p++) {
		/* Parameter markers were rendered as "\u0001name\u0002": a shell variable. */
		if (p[0] == '\\' && strncmp(p, "\\u0001", 6) == 0) {
			const char *end = strstr(p, "\\u0002");
			if (end == NULL)
				break;
			rc = bg_buf_adds(b, "${") || bg_buf_add(b, p + 6, (size_t)(end - p - 6)) ||
			     bg_buf_addc(b, '}');
			p = end + 5;
			continue;
		}
		if (*p == '"' || *p == '\\' || *p == '$' || *p == '`')
			rc = bg_buf_addc(b, '\\');
		if (rc == 0)
			rc = bg_buf_addc(b, *p);
	}
	free(s);
	return rc == 0 ? bg_buf_addc(b, '"') : rc;
}

int runbook_aws_command(const runbook *r, bg_buf *b)
{
	json_t *avs = json_object(), *req = NULL;
	bg_err e;
	size_t i;
	int rc = 0;

	if (avs == NULL)
		return BG_ENOMEM;
	/* Each parameter as a shell variable, defaults filled in, the rule as a comment. */
	for (i = 0; rc == 0 && i < r->n_params; i++) {
		const runbook_param *p = &r->params[i];
		char marker[BG_MAX_RUNBOOK_ID + 3];
		json_t *av = json_object();
		snprintf(marker, sizeof(marker), "\x01%s\x02", p->name);
		rc = av == NULL ||
		     json_object_set_new(av,
		                         p->type == RUNBOOK_N      ? "N"
		                         : p->type == RUNBOOK_B    ? "B"
		                         : p->type == RUNBOOK_BOOL ? "BOOL"
		                                                   : "S",
		                         json_string(marker)) ||
		     json_object_set_new(avs, p->name, av);
		if (rc == 0)
			rc = bg_buf_addf(b, "%s=", p->name) ||
			     add_sq(b, p->default_text != NULL ? p->default_text : "") ||
			     bg_buf_addf(b, "  # %s%s%s%s\n",
			                 p->default_text != NULL ? "" : "required; ",
			                 p->pattern != NULL ? "must match " : "",
			                 p->pattern != NULL ? p->pattern : "",
			                 p->n_enum > 0 ? "one of its enum values" : "");
	}
	if (rc == 0)
		rc = runbook_render(r, avs, NULL, &req, &e);
	json_decref(avs);
	if (rc != 0)
		return rc;
	rc = bg_buf_adds(b, "aws dynamodb ") || add_kebab(b, r->op->name);
	{
		static const struct {
			const char *key, *flag;
		} flags[] = {{"TableName", "--table-name"},
		             {"IndexName", "--index-name"},
		             {"Key", "--key"},
		             {"Item", "--item"},
		             {"RequestItems", "--request-items"},
		             {"KeyConditionExpression", "--key-condition-expression"},
		             {"FilterExpression", "--filter-expression"},
		             {"ProjectionExpression", "--projection-expression"},
		             {"UpdateExpression", "--update-expression"},
		             {"ConditionExpression", "--condition-expression"},
		             {"ExpressionAttributeNames", "--expression-attribute-names"},
		             {"ExpressionAttributeValues", "--expression-attribute-values"},
		             {"Limit", "--page-size"},
		             {"TotalSegments", "--total-segments"},
		             {"Segment", "--segment"}};
		for (i = 0; rc == 0 && i < sizeof(flags) / sizeof(flags[0]); i++) {
			json_t *v = json_object_get(req, flags[i].key);
			if (v == NULL)
				continue;
			rc = bg_buf_addf(b, " \\\n  %s ", flags[i].flag);
			if (rc == 0 && json_is_string(v))
				rc = add_sq(b, json_string_value(v));
			else if (rc == 0 && json_is_integer(v))
				rc = bg_buf_addf(b, "%lld", (long long)json_integer_value(v));
			else if (rc == 0)
				rc = add_json_with_vars(b, v);
		}
		/* The CLI pages on its own: --max-items stops it where the template does. */
		if (rc == 0 && json_object_get(req, "Limit") != NULL)
			rc = bg_buf_addf(
			    b, " \\\n  --max-items %lld",
			    (long long)(r->limit * (r->max_pages > 0 ? r->max_pages : 1)));
		if (rc == 0 && json_is_false(json_object_get(req, "ScanIndexForward")))
			rc = bg_buf_adds(b, " \\\n  --no-scan-index-forward");
		if (rc == 0 && json_is_true(json_object_get(req, "ConsistentRead")))
			rc = bg_buf_adds(b, " \\\n  --consistent-read");
	}
	if (rc == 0)
		rc = bg_buf_addc(b, '\n');
	json_decref(req);
	return rc != 0 ? BG_ENOMEM : 0;
}

/* --- what an approver reads ---------------------------------------------------------- */

static const char *type_name(runbook_type t)
{
	return t == RUNBOOK_N ? "N" : t == RUNBOOK_B ? "B" : t == RUNBOOK_BOOL ? "BOOL" : "S";
}

json_t *runbook_describe(const runbook *r)
{
	json_t *o = json_object(), *names = json_object(), *params = json_array(), *p;
	bg_buf cmd;
	size_t i;
	bool ok = o != NULL && names != NULL && params != NULL;

	bg_buf_init(&cmd, BG_MAX_RUNBOOK_FILE);
	ok = ok && json_object_set_new(o, "id", json_string(r->id)) == 0 &&
	     json_object_set_new(o, "hash", json_string(r->hash)) == 0 &&
	     json_object_set_new(o, "title", json_string(r->title ? r->title : "")) == 0 &&
	     json_object_set_new(o, "operation", json_string(r->op->name)) == 0 &&
	     json_object_set_new(o, "table", json_string(r->table)) == 0 &&
	     (r->index == NULL || json_object_set_new(o, "index", json_string(r->index)) == 0);
	for (i = 0; ok && i < N_EXPR_FIELDS; i++)
		if (expr_field(r, i)->x != NULL)
			ok = json_object_set_new(o, expr_fields[i].name,
			                         canonical_text(expr_field(r, i), names)) == 0;
	if (ok && json_object_size(names) > 0)
		ok = json_object_set(o, "expression_attribute_names", names) == 0;
	if (ok && r->limit > 0)
		ok = json_object_set_new(o, "limit", json_integer(r->limit)) == 0 &&
		     json_object_set_new(o, "max_pages", json_integer(r->max_pages)) == 0;
	for (i = 0; ok && i < r->n_params; i++) {
		const runbook_param *rp = &r->params[i];
		p = json_pack("{s:s,s:s,s:b}", "name", rp->name, "type", type_name(rp->type),
		              "required", rp->default_text == NULL);
		ok =
		    p != NULL && (rp->pattern == NULL ||
		                  json_object_set_new(p, "pattern", json_string(rp->pattern)) == 0);
		ok = json_array_append_new(params, p) == 0 && ok;
	}
	if (ok && r->n_mask > 0) {
		json_t *m = json_array();
		ok = m != NULL && json_object_set_new(o, "mask", m) == 0 &&
		     json_object_set_new(o, "mask_hash", json_boolean(r->mask_hash)) == 0;
		for (i = 0; ok && i < r->n_mask; i++)
			ok = json_array_append_new(m, json_string(r->mask[i].text)) == 0;
	}
	if (ok && r->budget_read >= 0)
		ok = json_object_set_new(o, "budget_read", json_real(r->budget_read)) == 0;
	if (ok && r->budget_write >= 0)
		ok = json_object_set_new(o, "budget_write", json_real(r->budget_write)) == 0;
	if (ok && r->max_response_bytes > 0)
		ok = json_object_set_new(o, "max_response_bytes",
		                         json_integer(r->max_response_bytes)) == 0;
	ok = ok && json_object_set(o, "parameters", params) == 0 &&
	     runbook_aws_command(r, &cmd) == 0 &&
	     json_object_set_new(o, "command", json_stringn(cmd.data, cmd.len)) == 0;
	bg_buf_free(&cmd);
	json_decref(names);
	json_decref(params);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
