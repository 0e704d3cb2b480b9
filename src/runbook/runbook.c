/*
 * runbook.c - reading one runbook template and checking its parameters' values (see
 * runbook.h). The folder (tables.yaml, every file, hashes, git) is runbook_set.c's.
 *
 * The schema is a table of keys, each with the reader for its value, so an unknown key is
 * refused by construction and every key's rules sit in one place. Readers report problems
 * into the diagnostics and carry on, so one run of lint lists everything wrong in a file;
 * a file with any problem yields no template.
 */
#include "runbook/runbook.h"

#include <ctype.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/validate.h"
#include "common/yschema.h"
#include "runbook/runbook_internal.h"
#include "common/ytree.h"

/* --- diagnostics --------------------------------------------------------------------- */

void runbook_diag_add(runbook_diags *d, const char *file, unsigned line, const char *fmt, ...)
{
	runbook_diag *items;
	char msg[512];
	va_list ap;

	if (d == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	items = realloc(d->items, (d->n + 1) * sizeof(*items));
	if (items == NULL)
		return; /* out of memory: the caller still sees the failure */
	d->items = items;
	items[d->n].file = strdup(file != NULL ? file : "");
	items[d->n].line = line;
	items[d->n].msg = strdup(msg);
	if (items[d->n].file == NULL || items[d->n].msg == NULL) {
		free(items[d->n].file);
		free(items[d->n].msg);
		return;
	}
	d->n++;
}

void runbook_diags_free(runbook_diags *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].msg);
	}
	free(d->items);
	d->items = NULL;
	d->n = 0;
}

/* --- one template -------------------------------------------------------------------- */

/* What is being read: the template, its file, and the problems so far. */
typedef struct reader {
	runbook *r;
	const char *file;
	const runbook_set *tables;
	runbook_diags *d;
	size_t errors;
} reader;

#define PROBLEM(rd, ln, ...)                                                                       \
	do {                                                                                       \
		(rd)->errors++;                                                                    \
		runbook_diag_add((rd)->d, (rd)->file, (ln), __VA_ARGS__);                          \
	} while (0)

/* The yschema readers, their failure turned into a problem at the node's line. */
static const char *want_text(reader *rd, const char *key, const ytree_node *v)
{
	const char *s = NULL;
	bg_err e;

	if (ys_text(v, key, &s, &e) != 0)
		PROBLEM(rd, v->line, "%s", e.msg);
	return s;
}

static char *dup_text(reader *rd, const char *key, const ytree_node *v)
{
	const char *s = want_text(rd, key, v);
	char *c;

	if (s == NULL)
		return NULL;
	c = strdup(s);
	if (c == NULL)
		PROBLEM(rd, v->line, "out of memory");
	return c;
}

static bool want_int(reader *rd, const char *key, const ytree_node *v, int64_t min, int64_t max,
                     int64_t *out)
{
	bg_err e;

	if (ys_int(v, key, min, max, out, &e) == 0)
		return true;
	PROBLEM(rd, v->line, "%s", e.msg);
	return false;
}

static bool want_bool(reader *rd, const char *key, const ytree_node *v, bool *out)
{
	bg_err e;

	if (ys_bool(v, key, out, &e) == 0)
		return true;
	PROBLEM(rd, v->line, "%s", e.msg);
	return false;
}

/* True for a runbook id: 1-64 of a-z 0-9 -, starting with a letter or digit. */
static bool id_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > BG_MAX_RUNBOOK_ID || s[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	}
	return true;
}

/* A parameter or placeholder name: letters, digits, underscore. */
static bool word_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > BG_MAX_RUNBOOK_ID)
		return false;
	for (i = 0; i < n; i++) {
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	}
	return true;
}

/* A YAML node as JSON, scalars as strings: for hashing and fixed values. */
json_t *runbook_node_json(const ytree_node *v)
{
	json_t *o;
	size_t i;

	switch (v->kind) {
	case YTREE_SCALAR:
		return json_stringn(v->text, v->len);
	case YTREE_SEQ:
		o = json_array();
		for (i = 0; o != NULL && i < v->n; i++) {
			if (json_array_append_new(o, runbook_node_json(v->kids[i])) != 0) {
				json_decref(o);
				return NULL;
			}
		}
		return o;
	default:
		o = json_object();
		for (i = 0; o != NULL && i < ytree_map_size(v); i++) {
			json_t *x = runbook_node_json(ytree_map_value(v, i));
			if (x == NULL ||
			    json_object_set_new(o, ytree_map_key(v, i)->text, x) != 0) {
				json_decref(o);
				return NULL;
			}
		}
		return o;
	}
}

/* A DynamoDB attribute value written in YAML ({S: text}, {N: 5}, {BOOL: true}, {NULL:
 * true}, {L: [...]}, {M: {...}}, {SS|NS|BS: [...]}, {B: base64}) as its JSON. */
static json_t *runbook_av_json(reader *rd, const char *what, const ytree_node *v, unsigned depth)
{
	const ytree_node *x;
	const char *t;
	json_t *o = NULL, *inner = NULL;
	size_t i;

	if (v->kind != YTREE_MAP || ytree_map_size(v) != 1 || depth > 8) {
		PROBLEM(rd, v->line, "%s must be a DynamoDB attribute value such as {S: text}",
		        what);
		return NULL;
	}
	t = ytree_map_key(v, 0)->text;
	x = ytree_map_value(v, 0);
	if (strcmp(t, "S") == 0 || strcmp(t, "N") == 0 || strcmp(t, "B") == 0) {
		if (x->kind == YTREE_SCALAR)
			inner = json_stringn(x->text, x->len);
	} else if (strcmp(t, "BOOL") == 0 || strcmp(t, "NULL") == 0) {
		bool b;
		if (want_bool(rd, what, x, &b) && (b || t[0] == 'B'))
			inner = json_boolean(b);
		else
			return NULL;
	} else if (strcmp(t, "SS") == 0 || strcmp(t, "NS") == 0 || strcmp(t, "BS") == 0) {
		if (x->kind == YTREE_SEQ && x->n > 0) {
			inner = json_array();
			for (i = 0; inner != NULL && i < x->n; i++) {
				if (x->kids[i]->kind != YTREE_SCALAR ||
				    json_array_append_new(
				        inner, json_stringn(x->kids[i]->text, x->kids[i]->len)) !=
				        0) {
					json_decref(inner);
					inner = NULL;
				}
			}
		}
	} else if (strcmp(t, "L") == 0) {
		if (x->kind == YTREE_SEQ) {
			inner = json_array();
			for (i = 0; inner != NULL && i < x->n; i++) {
				json_t *el = runbook_av_json(rd, what, x->kids[i], depth + 1);
				if (el == NULL || json_array_append_new(inner, el) != 0) {
					json_decref(inner);
					return NULL;
				}
			}
		}
	} else if (strcmp(t, "M") == 0) {
		if (x->kind == YTREE_MAP) {
			inner = json_object();
			for (i = 0; inner != NULL && i < ytree_map_size(x); i++) {
				json_t *el =
				    runbook_av_json(rd, what, ytree_map_value(x, i), depth + 1);
				if (el == NULL || json_object_set_new(
				                      inner, ytree_map_key(x, i)->text, el) != 0) {
					json_decref(inner);
					return NULL;
				}
			}
		}
	} else {
		PROBLEM(rd, v->line,
		        "%s: unknown attribute type %s (S, N, B, BOOL, NULL, L, M, SS, NS, BS)",
		        what, t);
		return NULL;
	}
	if (inner == NULL) {
		PROBLEM(rd, x->line, "%s: not a valid %s value", what, t);
		return NULL;
	}
	o = json_object();
	if (o == NULL || json_object_set_new(o, t, inner) != 0) {
		json_decref(o);
		PROBLEM(rd, v->line, "out of memory");
		return NULL;
	}
	return o;
}

/* --- parameters ---------------------------------------------------------------------- */

static bool type_parse(const char *s, runbook_type *t)
{
	static const char *const names[] = {"S", "N", "B", "BOOL"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*t = (runbook_type)i;
			return true;
		}
	}
	return false;
}

static const char *type_name(runbook_type t)
{
	static const char *const names[] = {"S", "N", "B", "BOOL"};
	return names[t];
}

static void param_read(reader *rd, runbook_param *p, const ytree_node *v)
{
	static const char *const known[] = {"type", "default",    "pattern",     "enum", "min",
	                                    "max",  "max_length", "description", NULL};
	const ytree_node *x;
	size_t i, k;
	int64_t n;
	bg_err e;

	if (v->kind != YTREE_MAP) {
		PROBLEM(rd, v->line, "parameter %s must be a mapping such as {type: S}", p->name);
		return;
	}
	for (i = 0; i < ytree_map_size(v); i++) {
		const char *key = ytree_map_key(v, i)->text;
		for (k = 0; known[k] != NULL && strcmp(known[k], key) != 0; k++)
			;
		if (known[k] == NULL)
			PROBLEM(rd, ytree_map_key(v, i)->line,
			        "parameter %s: unknown key '%s' (type, default, pattern, enum, "
			        "min, max, "
			        "max_length, description)",
			        p->name, key);
	}
	x = ytree_get(v, "type");
	if (x == NULL || x->kind != YTREE_SCALAR || !type_parse(x->text, &p->type)) {
		PROBLEM(rd, x != NULL ? x->line : v->line,
		        "parameter %s needs a type: S, N, B or BOOL", p->name);
		return;
	}
	if ((x = ytree_get(v, "pattern")) != NULL) {
		if (p->type != RUNBOOK_S) {
			PROBLEM(rd, x->line, "parameter %s: pattern is for type S", p->name);
		} else {
			const char *text;
			char what[BG_MAX_RUNBOOK_ID + 32];
			snprintf(what, sizeof(what), "parameter %s: pattern", p->name);
			if (ys_regex(x, what, &p->re, &text, &e) != 0)
				PROBLEM(rd, x->line, "%s", e.msg);
			else if ((p->pattern = strdup(text)) == NULL) {
				regfree(&p->re);
				PROBLEM(rd, x->line, "out of memory");
			}
		}
	}
	if ((x = ytree_get(v, "enum")) != NULL) {
		if (x->kind != YTREE_SEQ || x->n == 0 || x->n > BG_MAX_PARAM_ENUM) {
			PROBLEM(rd, x->line, "parameter %s: enum must be a list of 1 to %d values",
			        p->name, BG_MAX_PARAM_ENUM);
		} else if ((p->enum_values = calloc(x->n, sizeof(char *))) != NULL) {
			for (i = 0; i < x->n; i++) {
				p->enum_values[i] = dup_text(rd, "enum value", x->kids[i]);
				if (p->enum_values[i] == NULL)
					break;
			}
			p->n_enum = i;
		}
	}
	if ((x = ytree_get(v, "min")) != NULL || (x = ytree_get(v, "max")) != NULL) {
		const char *which[] = {"min", "max"};
		for (k = 0; k < 2; k++) {
			const ytree_node *m = ytree_get(v, which[k]);
			char *end = NULL;
			long double d;
			if (m == NULL)
				continue;
			if (p->type != RUNBOOK_N) {
				PROBLEM(rd, m->line, "parameter %s: %s is for type N", p->name,
				        which[k]);
				continue;
			}
			d = m->kind == YTREE_SCALAR ? strtold(m->text, &end) : 0;
			if (m->kind != YTREE_SCALAR || end == m->text || *end != '\0' ||
			    !isfinite(d)) {
				PROBLEM(rd, m->line, "parameter %s: %s must be a number", p->name,
				        which[k]);
				continue;
			}
			if (k == 0) {
				p->has_min = true;
				p->min = d;
			} else {
				p->has_max = true;
				p->max = d;
			}
		}
		if (p->has_min && p->has_max && p->min > p->max)
			PROBLEM(rd, x->line, "parameter %s: min is larger than max", p->name);
	}
	if ((x = ytree_get(v, "max_length")) != NULL) {
		if (p->type != RUNBOOK_S && p->type != RUNBOOK_B)
			PROBLEM(rd, x->line, "parameter %s: max_length is for types S and B",
			        p->name);
		else if (want_int(rd, "max_length", x, 1, 400 * 1024, &n))
			p->max_length = (size_t)n;
	}
	if ((x = ytree_get(v, "default")) != NULL) {
		json_t *av = NULL;
		p->default_text = dup_text(rd, "default", x);
		/* The default must itself pass the checks. */
		if (p->default_text != NULL &&
		    runbook_param_value(p, p->default_text, &av, &e) != 0)
			PROBLEM(rd, x->line, "parameter %s: the default does not pass: %s", p->name,
			        e.msg);
		json_decref(av);
	}
	if (p->type == RUNBOOK_S && p->pattern == NULL && p->n_enum == 0)
		PROBLEM(rd, v->line,
		        "parameter %s: an S parameter needs a pattern or an enum (an unconstrained "
		        "string is a way around the template)",
		        p->name);
}

static void params_read(reader *rd, const ytree_node *v)
{
	size_t i;

	if (v->kind != YTREE_MAP) {
		PROBLEM(rd, v->line, "params must be a mapping of parameter names");
		return;
	}
	if (ytree_map_size(v) > BG_MAX_RUNBOOK_PARAMS) {
		PROBLEM(rd, v->line, "at most %d params", BG_MAX_RUNBOOK_PARAMS);
		return;
	}
	for (i = 0; i < ytree_map_size(v); i++) {
		const ytree_node *k = ytree_map_key(v, i);
		runbook_param *p = &rd->r->params[rd->r->n_params];
		if (!word_ok(k->text, k->len)) {
			PROBLEM(rd, k->line, "parameter name '%s': letters, digits and _ only",
			        k->text);
			continue;
		}
		memcpy(p->name, k->text, k->len + 1);
		p->line = k->line;
		rd->r->n_params++;
		param_read(rd, p, ytree_map_value(v, i));
	}
}

/* --- the fields ---------------------------------------------------------------------- */

/* Operations a template may use. */
static const char *const ops_allowed[] = {"GetItem",    "Query",      "BatchGetItem", "PutItem",
                                          "UpdateItem", "DeleteItem", "Scan",         NULL};

static bool is_write(const runbook *r)
{
	return r->op != NULL && (r->op->flags & DDB_F_WRITE) != 0;
}

static void read_text_field(reader *rd, runbook_text *t, const char *key, const ytree_node *v)
{
	t->text = dup_text(rd, key, v);
	t->line = v->line;
}

/* {attr: ":placeholder"} for key and item. */
static json_t *read_attr_map(reader *rd, const char *key, const ytree_node *v)
{
	json_t *o;
	size_t i;

	if (v->kind != YTREE_MAP || ytree_map_size(v) == 0) {
		PROBLEM(rd, v->line,
		        "%s must map attribute names to placeholders, e.g. {pk: \":customer\"}",
		        key);
		return NULL;
	}
	o = json_object();
	for (i = 0; o != NULL && i < ytree_map_size(v); i++) {
		const ytree_node *a = ytree_map_key(v, i), *p = ytree_map_value(v, i);
		if (p->kind != YTREE_SCALAR || p->text[0] != ':' ||
		    !word_ok(p->text + 1, p->len - 1)) {
			PROBLEM(rd, p->line, "%s.%s must be a placeholder such as \":customer\"",
			        key, a->text);
			continue;
		}
		if (json_object_set_new(o, a->text, json_string(p->text)) != 0)
			PROBLEM(rd, p->line, "out of memory");
	}
	return o;
}

/* names ({"#x": attribute}) and values ({":x": attribute value}): a map of placeholders
 * (sigil '#' or ':') into the template's object. */
static void read_placeholders(reader *rd, const ytree_node *v, char sigil, json_t *into)
{
	const char *what = sigil == '#' ? "names" : "values";
	json_t *x;
	size_t i;

	if (v->kind != YTREE_MAP) {
		PROBLEM(rd, v->line, "%s must map %cplaceholders to %s", what, sigil,
		        sigil == '#' ? "attribute names" : "attribute values");
		return;
	}
	for (i = 0; i < ytree_map_size(v); i++) {
		const ytree_node *k = ytree_map_key(v, i), *a = ytree_map_value(v, i);
		if (k->text[0] != sigil || !word_ok(k->text + 1, k->len - 1)) {
			PROBLEM(rd, k->line, "%s: '%s' must be a %cplaceholder", what, k->text,
			        sigil);
			continue;
		}
		if (sigil == ':') {
			x = runbook_av_json(rd, k->text, a, 0);
		} else if (a->kind != YTREE_SCALAR || a->len == 0) {
			PROBLEM(rd, a->line, "names: %s must name an attribute", k->text);
			continue;
		} else {
			x = json_string(a->text);
		}
		if (x != NULL && json_object_set_new(into, k->text, x) != 0)
			PROBLEM(rd, a->line, "out of memory");
	}
}

static void read_tests(reader *rd, const ytree_node *v)
{
	runbook *r = rd->r;
	size_t i, j;

	if (v->kind != YTREE_SEQ) {
		PROBLEM(rd, v->line, "tests must be a list");
		return;
	}
	r->tests = calloc(v->n > 0 ? v->n : 1, sizeof(*r->tests));
	if (r->tests == NULL) {
		PROBLEM(rd, v->line, "out of memory");
		return;
	}
	for (i = 0; i < v->n; i++) {
		const ytree_node *t = v->kids[i], *x;
		runbook_test *rt = &r->tests[r->n_tests++];
		rt->expect_count = -1;
		rt->line = t->line;
		if (t->kind != YTREE_MAP) {
			PROBLEM(rd, t->line,
			        "a test must be a mapping {name, fixtures, params, expect}");
			continue;
		}
		for (j = 0; j < ytree_map_size(t); j++) {
			const char *k = ytree_map_key(t, j)->text;
			if (strcmp(k, "name") != 0 && strcmp(k, "fixtures") != 0 &&
			    strcmp(k, "params") != 0 && strcmp(k, "expect") != 0)
				PROBLEM(rd, ytree_map_key(t, j)->line,
				        "test: unknown key '%s' (name, fixtures, params, expect)",
				        k);
		}
		x = ytree_get(t, "name");
		rt->name = x != NULL ? dup_text(rd, "test name", x) : NULL;
		if (x == NULL)
			PROBLEM(rd, t->line, "a test needs a name");
		if ((x = ytree_get(t, "fixtures")) != NULL) {
			rt->fixtures = dup_text(rd, "fixtures", x);
			if (rt->fixtures != NULL &&
			    (rt->fixtures[0] == '/' || strstr(rt->fixtures, "..") != NULL))
				PROBLEM(rd, x->line,
				        "fixtures must be a path inside the runbook folder");
		}
		x = ytree_get(t, "params");
		if (x != NULL && x->kind != YTREE_MAP)
			PROBLEM(rd, x->line, "test params must be a mapping {name: value}");
		else if (x != NULL)
			rt->params = runbook_node_json(x);
		else
			rt->params = json_object();
		if (x != NULL) {
			for (j = 0; j < ytree_map_size(x); j++) {
				if (ytree_map_value(x, j)->kind != YTREE_SCALAR)
					PROBLEM(rd, ytree_map_value(x, j)->line,
					        "test params: %s must be a single value",
					        ytree_map_key(x, j)->text);
			}
		}
		x = ytree_get(t, "expect");
		if (x == NULL || x->kind != YTREE_MAP) {
			PROBLEM(rd, x != NULL ? x->line : t->line,
			        "a test needs expect: {count: N} and/or {items: [...]}");
			continue;
		}
		for (j = 0; j < ytree_map_size(x); j++) {
			const ytree_node *k = ytree_map_key(x, j), *val = ytree_map_value(x, j);
			if (strcmp(k->text, "count") == 0) {
				(void)want_int(rd, "expect.count", val, 0, BG_MAX_FIXTURE_ITEMS,
				               &rt->expect_count);
			} else if (strcmp(k->text, "items") == 0 && val->kind == YTREE_SEQ) {
				size_t m;
				rt->expect_items = json_array();
				for (m = 0; rt->expect_items != NULL && m < val->n; m++) {
					const ytree_node *it = val->kids[m];
					json_t *item = json_object();
					size_t a;
					for (a = 0; item != NULL && a < ytree_map_size(it); a++) {
						json_t *av = runbook_av_json(
						    rd, "expect.items", ytree_map_value(it, a), 0);
						if (av != NULL)
							json_object_set_new(
							    item, ytree_map_key(it, a)->text, av);
					}
					if (it->kind != YTREE_MAP)
						PROBLEM(rd, it->line,
						        "expect.items: an item is a mapping");
					json_array_append_new(rt->expect_items, item);
				}
			} else {
				PROBLEM(rd, k->line, "expect: %s is not known (count, items)",
				        k->text);
			}
		}
	}
}

/* A string from a fixed set. */
static char *read_choice(reader *rd, const char *key, const ytree_node *v,
                         const char *const *choices)
{
	const char *s = want_text(rd, key, v);
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; choices[i] != NULL; i++) {
		if (strcmp(s, choices[i]) == 0)
			return strdup(s);
	}
	PROBLEM(rd, v->line, "%s: '%s' is not one of the allowed values", key, s);
	return NULL;
}

static void read_return_values(reader *rd, const ytree_node *v)
{
	static const char *const rv[] = {"ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW", NULL};
	runbook *r = rd->r;
	size_t i, n = v->kind == YTREE_SEQ ? v->n : 1;

	r->return_values = calloc(n, sizeof(char *));
	if (r->return_values == NULL)
		return;
	for (i = 0; i < n; i++) {
		const ytree_node *x = v->kind == YTREE_SEQ ? v->kids[i] : v;
		char *s = read_choice(rd, "return_values", x, rv);
		if (s != NULL)
			r->return_values[r->n_return_values++] = s;
	}
}

/* services: [name, ...]: the services whose incidents this runbook is for (the policy's
 * runbook_allowed_for_service check). */
static void read_services(reader *rd, const ytree_node *v)
{
	runbook *r = rd->r;
	size_t i, j;

	if (v->kind != YTREE_SEQ || v->n == 0 || v->n > BG_MAX_RUNBOOK_SERVICES) {
		PROBLEM(rd, v->line, "services must be a list of 1 to %d service names",
		        BG_MAX_RUNBOOK_SERVICES);
		return;
	}
	r->services = calloc(v->n, sizeof(char *));
	if (r->services == NULL) {
		PROBLEM(rd, v->line, "out of memory");
		return;
	}
	for (i = 0; i < v->n; i++) {
		const ytree_node *x = v->kids[i];
		const char *s = want_text(rd, "a service", x);
		if (s == NULL)
			continue;
		if (!bg_valid_id(s, BG_MAX_SERVICE_NAME)) {
			PROBLEM(rd, x->line, "service '%.64s': 1 to %d of A-Z a-z 0-9 . _ -", s,
			        BG_MAX_SERVICE_NAME);
			continue;
		}
		for (j = 0; j < r->n_services && strcmp(r->services[j], s) != 0; j++)
			;
		if (j < r->n_services) {
			PROBLEM(rd, x->line, "service %s is listed twice", s);
			continue;
		}
		if ((r->services[r->n_services] = strdup(s)) == NULL) {
			PROBLEM(rd, x->line, "out of memory");
			return;
		}
		r->n_services++;
	}
}

/* budget: {read: N, write: N}: capacity units, either or both. */
static void read_budget(reader *rd, const ytree_node *v)
{
	static const char *const names[] = {"read", "write"};
	double *slot[] = {&rd->r->budget_read, &rd->r->budget_write};
	const ytree_node *x;
	char key[16];
	int64_t n;
	size_t i, found = 0;

	if (v->kind != YTREE_MAP) {
		PROBLEM(rd, v->line,
		        "budget is a mapping: {read: UNITS, write: UNITS} (capacity units)");
		return;
	}
	for (i = 0; i + 1 < v->n; i += 2) {
		const char *k = v->kids[i]->text;
		if (strcmp(k, "read") != 0 && strcmp(k, "write") != 0)
			PROBLEM(rd, v->kids[i]->line,
			        "budget.%s: unknown key; budget takes read and write", k);
	}
	for (i = 0; i < 2; i++) {
		if ((x = ytree_get(v, names[i])) == NULL)
			continue;
		snprintf(key, sizeof(key), "budget.%s", names[i]);
		found++;
		if (want_int(rd, key, x, 1, BG_MAX_BUDGET_UNITS, &n))
			*slot[i] = (double)n;
	}
	if (found == 0)
		PROBLEM(rd, v->line, "budget names no read or write units");
}

/* mask: [path, ...]: the attributes whose values answers and the audit hide. A path
 * inside another one (card.last4 beside card) is refused: the outer one already hides
 * it, and the inner one would never match, which a reviewer should not have to work out. */
static void read_mask(reader *rd, const ytree_node *v)
{
	runbook *r = rd->r;
	size_t i, j, k;
	bg_err e;

	if (v->kind != YTREE_SEQ || v->n == 0 || v->n > BG_MAX_MASK_PATHS) {
		PROBLEM(rd, v->line,
		        "mask must be a list of 1 to %d attribute paths (e.g. [email, card.last4])",
		        BG_MAX_MASK_PATHS);
		return;
	}
	r->mask = calloc(v->n, sizeof(*r->mask));
	if (r->mask == NULL) {
		PROBLEM(rd, v->line, "out of memory");
		return;
	}
	for (i = 0; i < v->n; i++) {
		const ytree_node *x = v->kids[i];
		const char *s = want_text(rd, "a mask path", x);
		ddb_path *p = &r->mask[r->n_mask];
		if (s == NULL)
			continue;
		if (ddb_path_parse(s, strlen(s), p, &e) != 0) {
			PROBLEM(rd, x->line, "%s", e.msg);
			continue;
		}
		for (j = 0; j < r->n_mask; j++) {
			const ddb_path *q = &r->mask[j];
			size_t n = p->depth < q->depth ? p->depth : q->depth;
			for (k = 0; k < n; k++) {
				size_t a, b;
				const char *pa = ddb_path_segment(p, k, &a),
				           *qb = ddb_path_segment(q, k, &b);
				if (a != b || memcmp(pa, qb, a) != 0)
					break;
			}
			if (k == n)
				break;
		}
		if (j < r->n_mask) {
			if (p->depth == r->mask[j].depth)
				PROBLEM(rd, x->line, "mask path %s is listed twice", p->text);
			else
				PROBLEM(rd, x->line,
				        "mask paths %s and %s overlap: the shorter one hides the "
				        "other whole; keep one",
				        r->mask[j].text, p->text);
			continue;
		}
		r->n_mask++;
	}
}

/* Reads key k's value v into the template. */
static void read_field(reader *rd, const ytree_node *k, const ytree_node *v)
{
	static const char *const selects[] = {"ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "COUNT",
	                                      NULL};
	runbook *r = rd->r;
	const char *key = k->text, *s;
	bool b;

	if (strcmp(key, "id") == 0) {
		s = want_text(rd, key, v);
		if (s != NULL && !id_ok(s))
			PROBLEM(rd, v->line, "id '%s': 1 to %d of a-z 0-9 - (a grant names it)", s,
			        BG_MAX_RUNBOOK_ID);
		else if (s != NULL)
			memcpy(r->id, s, strlen(s) + 1);
	} else if (strcmp(key, "title") == 0) {
		r->title = dup_text(rd, key, v);
	} else if (strcmp(key, "when") == 0) {
		r->when = dup_text(rd, key, v);
	} else if (strcmp(key, "description") == 0 || strcmp(key, "owner") == 0) {
		(void)want_text(rd, key, v); /* for people only */
	} else if (strcmp(key, "table") == 0) {
		s = want_text(rd, key, v);
		if (s != NULL && !bg_valid_table_name(s, strlen(s)))
			PROBLEM(rd, v->line, "table '%s' is not a DynamoDB table name", s);
		else if (s != NULL)
			memcpy(r->table, s, strlen(s) + 1);
	} else if (strcmp(key, "operation") == 0) {
		size_t i;
		s = want_text(rd, key, v);
		for (i = 0; s != NULL && ops_allowed[i] != NULL; i++) {
			if (strcmp(s, ops_allowed[i]) == 0)
				r->op = ddb_op_lookup(s, strlen(s));
		}
		if (s != NULL && r->op == NULL)
			PROBLEM(rd, v->line,
			        "operation '%s': one of GetItem, Query, BatchGetItem, PutItem, "
			        "UpdateItem, DeleteItem, Scan",
			        s);
	} else if (strcmp(key, "index") == 0) {
		r->index = dup_text(rd, key, v);
	} else if (strcmp(key, "key_condition") == 0) {
		read_text_field(rd, &r->key_condition, key, v);
	} else if (strcmp(key, "projection") == 0) {
		read_text_field(rd, &r->projection, key, v);
	} else if (strcmp(key, "filter") == 0) {
		read_text_field(rd, &r->filter, key, v);
	} else if (strcmp(key, "condition") == 0) {
		read_text_field(rd, &r->condition, key, v);
	} else if (strcmp(key, "update") == 0) {
		read_text_field(rd, &r->update, key, v);
	} else if (strcmp(key, "names") == 0) {
		read_placeholders(rd, v, '#', r->names);
	} else if (strcmp(key, "values") == 0) {
		read_placeholders(rd, v, ':', r->values);
	} else if (strcmp(key, "key") == 0) {
		r->key = read_attr_map(rd, key, v);
	} else if (strcmp(key, "item") == 0) {
		r->item = read_attr_map(rd, key, v);
	} else if (strcmp(key, "params") == 0) {
		params_read(rd, v);
	} else if (strcmp(key, "limit") == 0) {
		(void)want_int(rd, key, v, 1, BG_MAX_RUNBOOK_LIMIT, &r->limit);
	} else if (strcmp(key, "max_pages") == 0) {
		(void)want_int(rd, key, v, 1, BG_MAX_RUNBOOK_PAGES, &r->max_pages);
	} else if (strcmp(key, "total_segments") == 0) {
		(void)want_int(rd, key, v, 1, 1000000, &r->total_segments);
	} else if (strcmp(key, "consistent_read") == 0) {
		if (want_bool(rd, key, v, &b))
			r->consistent_read = b ? 1 : 0;
	} else if (strcmp(key, "scan_forward") == 0) {
		if (want_bool(rd, key, v, &b))
			r->scan_forward = b ? 1 : 0;
	} else if (strcmp(key, "select") == 0) {
		r->select = read_choice(rd, key, v, selects);
	} else if (strcmp(key, "return_values") == 0) {
		read_return_values(rd, v);
	} else if (strcmp(key, "tests") == 0) {
		read_tests(rd, v);
	} else if (strcmp(key, "services") == 0) {
		read_services(rd, v);
	} else if (strcmp(key, "mask") == 0) {
		read_mask(rd, v);
	} else if (strcmp(key, "mask_hash") == 0) {
		if (want_bool(rd, key, v, &b))
			r->mask_hash = b;
	} else if (strcmp(key, "budget") == 0) {
		read_budget(rd, v);
	} else if (strcmp(key, "max_response_bytes") == 0) {
		(void)want_int(rd, key, v, 1, BG_MAX_RESPONSE_BODY, &r->max_response_bytes);
	} else {
		PROBLEM(rd, k->line,
		        "unknown key '%s' (a misspelt key would silently drop a restriction); "
		        "see docs/runbooks.md for the keys",
		        key);
	}
}

/* --- rules across fields ------------------------------------------------------------- */

/* Which fields each operation uses: a field given to an operation that ignores it would
 * look like a restriction and be none. */
enum {
	F_KEYCOND = 1,
	F_PROJ = 2,
	F_FILTER = 4,
	F_COND = 8,
	F_UPDATE = 16,
	F_KEY = 32,
	F_ITEM = 64,
	F_LIMIT = 128,
	F_PAGES = 256,
	F_SEGMENTS = 512,
	F_INDEX = 1024,
	F_RETURN = 2048,
	F_CONSISTENT = 4096,
	F_SELECT = 8192,
	F_FORWARD = 16384
};

static unsigned op_fields(const char *op)
{
	if (strcmp(op, "GetItem") == 0)
		return F_KEY | F_PROJ | F_CONSISTENT;
	if (strcmp(op, "BatchGetItem") == 0)
		return F_KEY | F_PROJ | F_CONSISTENT | F_LIMIT;
	if (strcmp(op, "Query") == 0)
		return F_KEYCOND | F_PROJ | F_FILTER | F_LIMIT | F_PAGES | F_INDEX | F_CONSISTENT |
		       F_SELECT | F_FORWARD;
	if (strcmp(op, "Scan") == 0)
		return F_PROJ | F_FILTER | F_LIMIT | F_PAGES | F_SEGMENTS | F_INDEX | F_CONSISTENT |
		       F_SELECT;
	if (strcmp(op, "PutItem") == 0)
		return F_ITEM | F_COND | F_RETURN;
	if (strcmp(op, "UpdateItem") == 0)
		return F_KEY | F_UPDATE | F_COND | F_RETURN;
	return F_KEY | F_COND | F_RETURN; /* DeleteItem */
}

/* Every ":name" in text (outside nothing: DynamoDB expressions have no string literals). */
static void placeholders_each(const char *text, void (*fn)(void *ctx, const char *ph, size_t n),
                              void *ctx)
{
	const char *p = text;
	size_t n;

	while (text != NULL && (p = strpbrk(p, ":#")) != NULL) {
		n = 1;
		while (isalnum((unsigned char)p[n]) || p[n] == '_')
			n++;
		if (n > 1)
			fn(ctx, p, n);
		p += n;
	}
}

typedef struct ph_ctx {
	reader *rd;
	unsigned line;
	json_t *used; /* {":x": true, "#y": true} */
} ph_ctx;

/* A placeholder in an expression must be defined: :x by params or values, #y by names. */
static void ph_check(void *arg, const char *ph, size_t n)
{
	ph_ctx *c = arg;
	const runbook *r = c->rd->r;
	char name[BG_MAX_RUNBOOK_ID + 2];
	bool ok;

	if (n >= sizeof(name)) {
		PROBLEM(c->rd, c->line, "placeholder %.*s is too long", (int)(n > 80 ? 80 : n), ph);
		return;
	}
	memcpy(name, ph, n);
	name[n] = '\0';
	json_object_set_new(c->used, name, json_true());
	if (name[0] == '#')
		ok = json_object_get(r->names, name) != NULL;
	else
		ok = json_object_get(r->values, name) != NULL ||
		     runbook_param_find(r, name + 1) != NULL;
	if (!ok)
		PROBLEM(c->rd, c->line, "%s is bound to nothing: define it in %s", name,
		        name[0] == '#' ? "names" : "params or values");
}

static void key_schema_check(reader *rd, const json_t *map, const char *what,
                             const runbook_keys *keys, bool exact, unsigned line)
{
	const char *attr;
	json_t *v;

	if (map == NULL)
		return;
	if (json_object_get(map, keys->pk) == NULL)
		PROBLEM(rd, line, "%s must give the partition key %s", what, keys->pk);
	if (keys->sk[0] != '\0' && json_object_get(map, keys->sk) == NULL)
		PROBLEM(rd, line, "%s must give the sort key %s", what, keys->sk);
	if (!exact)
		return;
	json_object_foreach((json_t *)map, attr, v)
	{
		if (strcmp(attr, keys->pk) != 0 && strcmp(attr, keys->sk) != 0)
			PROBLEM(rd, line, "%s: %s is not part of the table's key", what, attr);
	}
}

/* Parses each expression as DynamoDB's grammar has it, and checks the key condition
 * against the table's (or index's) keys: the partition key by equality, the sort key (if
 * any) by a sort key condition. */
static void parse_expressions(reader *rd, const runbook_table *t)
{
	runbook *r = rd->r;
	static const struct {
		size_t off;
		ddb_expr_kind kind;
		const char *key;
	} fields[] = {{offsetof(runbook, key_condition), DDB_EXPR_KEY_CONDITION, "key_condition"},
	              {offsetof(runbook, projection), DDB_EXPR_PROJECTION, "projection"},
	              {offsetof(runbook, filter), DDB_EXPR_FILTER, "filter"},
	              {offsetof(runbook, condition), DDB_EXPR_CONDITION, "condition"},
	              {offsetof(runbook, update), DDB_EXPR_UPDATE, "update"}};
	const ddb_expr_key_term *part, *sort;
	const runbook_keys *keys = t != NULL ? &t->keys : NULL;
	size_t i;
	bg_err e;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		runbook_text *f = (runbook_text *)((char *)r + fields[i].off);
		if (f->text == NULL)
			continue;
		if (ddb_expr_parse_template(fields[i].kind, f->text, strlen(f->text), r->names,
		                            &f->x, &e) != 0)
			PROBLEM(rd, f->line, "%s: %s", fields[i].key, e.msg);
	}
	if (r->key_condition.x == NULL || t == NULL)
		return;
	if (r->index != NULL) {
		for (i = 0; i < t->n_indexes && strcmp(t->index_names[i], r->index) != 0; i++)
			;
		keys = i < t->n_indexes ? &t->index_keys[i] : NULL;
	}
	if (keys == NULL)
		return;
	if (ddb_expr_key_split(r->key_condition.x, keys->pk, strlen(keys->pk), &part, &sort, &e) !=
	    0)
		PROBLEM(rd, r->key_condition.line, "key_condition: %s (the partition key is %s)",
		        e.msg, keys->pk);
	else if (sort != NULL && (keys->sk[0] == '\0' || sort->attr_len != strlen(keys->sk) ||
	                          memcmp(sort->attr, keys->sk, sort->attr_len) != 0))
		PROBLEM(rd, r->key_condition.line, "key_condition: %.*s is not the sort key (%s%s)",
		        (int)sort->attr_len, sort->attr,
		        keys->sk[0] != '\0' ? "it is " : "there is none", keys->sk);
}

/* A masked key attribute would break what keys are for: LastEvaluatedKey is passed back
 * to page on (the gateway also compares it with the last page's), and the response record
 * names the items a responder saw by their keys. So mask may not name a key attribute of
 * the table, nor of the index the runbook reads (its keys are in LastEvaluatedKey too). */
static void mask_key_check(reader *rd, const ytree_node *root, const runbook_table *t)
{
	const runbook *r = rd->r;
	const runbook_keys *ks[2] = {&t->keys, NULL};
	const ytree_node *m = ytree_get(root, "mask");
	size_t i, j, n;
	const char *first;

	if (r->index != NULL) {
		for (i = 0; i < t->n_indexes && strcmp(t->index_names[i], r->index) != 0; i++)
			;
		if (i < t->n_indexes)
			ks[1] = &t->index_keys[i];
	}
	for (i = 0; i < r->n_mask; i++) {
		first = ddb_path_segment(&r->mask[i], 0, &n);
		for (j = 0; j < 2 && ks[j] != NULL; j++) {
			const char *pk = ks[j]->pk, *sk = ks[j]->sk;
			bool is_pk = strlen(pk) == n && memcmp(pk, first, n) == 0;
			bool is_sk = sk[0] != '\0' && strlen(sk) == n && memcmp(sk, first, n) == 0;
			if (!is_pk && !is_sk)
				continue;
			PROBLEM(
			    rd, m != NULL ? m->line : 0,
			    "mask path %s: %.*s is a key attribute of %s %s (LastEvaluatedKey "
			    "and the audit's item keys need it unmasked); keys cannot be masked",
			    r->mask[i].text, (int)n, first, j == 0 ? "table" : "index",
			    j == 0 ? t->name : r->index);
			break;
		}
	}
}

static void cross_check(reader *rd, const ytree_node *root)
{
	runbook *r = rd->r;
	const runbook_table *t = NULL;
	unsigned f, line = root->line;
	ph_ctx pc = {rd, 0, json_object()};
	const runbook_text *texts[] = {&r->key_condition, &r->projection, &r->filter, &r->condition,
	                               &r->update};
	static const struct {
		unsigned flag;
		const char *key;
	} fields[] = {{F_KEYCOND, "key_condition"},
	              {F_PROJ, "projection"},
	              {F_FILTER, "filter"},
	              {F_COND, "condition"},
	              {F_UPDATE, "update"},
	              {F_KEY, "key"},
	              {F_ITEM, "item"},
	              {F_LIMIT, "limit"},
	              {F_PAGES, "max_pages"},
	              {F_SEGMENTS, "total_segments"},
	              {F_INDEX, "index"},
	              {F_RETURN, "return_values"},
	              {F_CONSISTENT, "consistent_read"},
	              {F_SELECT, "select"}};
	const char *name;
	json_t *v;
	size_t i;

	if (pc.used == NULL)
		return;
	if (r->id[0] == '\0' && ytree_get(root, "id") == NULL)
		PROBLEM(rd, line, "id is required");
	if (r->title == NULL && ytree_get(root, "title") == NULL)
		PROBLEM(rd, line, "title is required");
	if (r->when == NULL && ytree_get(root, "when") == NULL)
		PROBLEM(rd, line, "when is required: the situation this runbook is for");
	if (r->table[0] == '\0' && ytree_get(root, "table") == NULL)
		PROBLEM(rd, line, "table is required");
	if (r->op == NULL) {
		if (ytree_get(root, "operation") == NULL)
			PROBLEM(rd, line, "operation is required");
		json_decref(pc.used);
		return;
	}
	/* Fields the operation does not use, and those it needs. */
	f = op_fields(r->op->name);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const ytree_node *x = ytree_get(root, fields[i].key);
		if (x != NULL && (f & fields[i].flag) == 0)
			PROBLEM(rd, x->line, "%s is not used by %s: remove it", fields[i].key,
			        r->op->name);
	}
	if ((f & F_KEYCOND) && r->key_condition.text == NULL)
		PROBLEM(rd, line, "%s needs key_condition", r->op->name);
	if ((f & F_KEY) && r->key == NULL && ytree_get(root, "key") == NULL)
		PROBLEM(rd, line, "%s needs key: {attribute: \":placeholder\"}", r->op->name);
	if ((f & F_ITEM) && r->item == NULL && ytree_get(root, "item") == NULL)
		PROBLEM(rd, line, "%s needs item: {attribute: \":placeholder\"}", r->op->name);
	if (strcmp(r->op->name, "UpdateItem") == 0 && r->update.text == NULL)
		PROBLEM(rd, line, "UpdateItem needs update");
	if (is_write(r) && r->condition.text == NULL)
		PROBLEM(
		    rd, line,
		    "%s needs a condition: a break-glass write must say what it expects to find",
		    r->op->name);
	for (i = 0; is_write(r) && i < r->n_return_values; i++)
		if (strcmp(r->return_values[i], "ALL_OLD") != 0)
			PROBLEM(rd, ytree_get(root, "return_values")->line,
			        "return_values: %s cannot be allowed: the gateway asks for ALL_OLD "
			        "to record the item's before-image (safe writes), and a write gets "
			        "one ReturnValues",
			        r->return_values[i]);
	if ((f & F_LIMIT) && r->limit == 0)
		PROBLEM(rd, line, "%s needs limit: the most items one page may return",
		        r->op->name);
	if (strcmp(r->op->name, "Scan") == 0 && (r->max_pages == 0 || r->total_segments == 0))
		PROBLEM(rd, line,
		        "Scan needs max_pages and total_segments: a scan must be bounded");
	if ((f & F_PAGES) && r->max_pages == 0)
		r->max_pages = 1;

	/* The table and index exist in tables.yaml, and keys are the table's keys. */
	if (rd->tables != NULL && r->table[0] != '\0') {
		t = runbook_set_table(rd->tables, r->table);
		if (t == NULL)
			PROBLEM(rd, line, "table %s is not declared in tables.yaml", r->table);
	}
	if (t != NULL && r->index != NULL) {
		for (i = 0; i < t->n_indexes && strcmp(t->index_names[i], r->index) != 0; i++)
			;
		if (i == t->n_indexes)
			PROBLEM(rd, line, "index %s of table %s is not declared in tables.yaml",
			        r->index, r->table);
	}
	if (r->max_response_bytes > 0 && is_write(r))
		PROBLEM(rd, ytree_get(root, "max_response_bytes")->line,
		        "max_response_bytes caps what a read returns; a write's answer is not "
		        "withheld once the write is done");
	if (ytree_get(root, "mask_hash") != NULL && ytree_get(root, "mask") == NULL)
		PROBLEM(rd, ytree_get(root, "mask_hash")->line,
		        "mask_hash is set but mask lists no attribute to mask");
	if (t != NULL)
		mask_key_check(rd, root, t);
	if (t != NULL) {
		key_schema_check(rd, r->key, "key", &t->keys, true, line);
		key_schema_check(rd, r->item, "item", &t->keys, false, line);
	}

	/* Every placeholder used is defined, and every definition is used. */
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		pc.line = texts[i]->line;
		placeholders_each(texts[i]->text, ph_check, &pc);
	}
	pc.line = line;
	if (r->key != NULL) {
		json_object_foreach(r->key, name, v)
		    ph_check(&pc, json_string_value(v), json_string_length(v));
	}
	if (r->item != NULL) {
		json_object_foreach(r->item, name, v)
		    ph_check(&pc, json_string_value(v), json_string_length(v));
	}
	json_object_foreach(r->names, name, v)
	{
		if (json_object_get(pc.used, name) == NULL)
			PROBLEM(rd, line, "names: %s is never used (DynamoDB refuses unused names)",
			        name);
	}
	json_object_foreach(r->values, name, v)
	{
		if (json_object_get(pc.used, name) == NULL)
			PROBLEM(rd, line, "values: %s is never used", name);
	}
	for (i = 0; i < r->n_params; i++) {
		char ph[BG_MAX_RUNBOOK_ID + 2];
		snprintf(ph, sizeof(ph), ":%s", r->params[i].name);
		if (json_object_get(pc.used, ph) == NULL)
			PROBLEM(rd, r->params[i].line, "parameter %s is never used",
			        r->params[i].name);
		if (json_object_get(r->values, ph) != NULL)
			PROBLEM(rd, r->params[i].line, "%s is both a parameter and a fixed value",
			        ph);
	}
	parse_expressions(rd, t);

	/* Test parameters name parameters, and every required one is given. */
	for (i = 0; i < r->n_tests; i++) {
		const runbook_test *rt = &r->tests[i];
		size_t j;
		if (rt->params == NULL)
			continue;
		json_object_foreach(rt->params, name, v)
		{
			if (runbook_param_find(r, name) == NULL)
				PROBLEM(rd, rt->line, "test '%s': no parameter %s",
				        rt->name ? rt->name : "", name);
		}
		for (j = 0; j < r->n_params; j++) {
			if (r->params[j].default_text == NULL &&
			    json_object_get(rt->params, r->params[j].name) == NULL)
				PROBLEM(rd, rt->line, "test '%s': parameter %s is required",
				        rt->name ? rt->name : "", r->params[j].name);
		}
	}
	json_decref(pc.used);
}

/* SHA-256 over the template's fields as canonical JSON, tests left out. */
static int hash_template(runbook *r, const ytree_node *root)
{
	uint8_t h[BG_SHA256_LEN];
	json_t *j = runbook_node_json(root);
	char *s;

	if (j == NULL)
		return BG_ENOMEM;
	json_object_del(j, "tests");
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(j);
	if (s == NULL)
		return BG_ENOMEM;
	bg_sha256(s, strlen(s), h);
	free(s);
	bg_hex(h, sizeof(h), r->hash);
	return 0;
}

int runbook_parse(const char *text, size_t len, const char *name, const runbook_set *tables,
                  runbook **out, runbook_diags *d)
{
	const ytree_node *root;
	ytree *t = NULL;
	runbook *r;
	reader rd;
	bg_err e;
	size_t i;

	*out = NULL;
	if (ytree_parse(text, len, name, &t, &e) != 0) {
		/* e.msg is "NAME:LINE: what"; keep the line as a number. */
		const char *p = e.msg + strlen(name);
		unsigned line = 0;
		if (strncmp(e.msg, name, strlen(name)) == 0 && *p == ':')
			line = (unsigned)strtoul(p + 1, NULL, 10);
		p = strchr(p + (*p == ':'), ':');
		runbook_diag_add(d, name, line, "%s", p != NULL ? p + 2 : e.msg);
		return BG_EINVAL;
	}
	root = ytree_root(t);
	if (root->kind != YTREE_MAP) {
		runbook_diag_add(d, name, root->line,
		                 "a runbook is a mapping of keys (id, title, ...)");
		ytree_free(t);
		return BG_EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		ytree_free(t);
		return BG_ENOMEM;
	}
	r->refs = 1;
	r->consistent_read = -1;
	r->scan_forward = -1;
	r->budget_read = r->budget_write = -1;
	r->names = json_object();
	r->values = json_object();
	r->file = strdup(name);
	rd = (reader){r, name, tables, d, 0};
	if (r->names == NULL || r->values == NULL || r->file == NULL) {
		runbook_free(r);
		ytree_free(t);
		return BG_ENOMEM;
	}
	for (i = 0; i < ytree_map_size(root); i++)
		read_field(&rd, ytree_map_key(root, i), ytree_map_value(root, i));
	cross_check(&rd, root);
	if (rd.errors == 0 && hash_template(r, root) != 0)
		PROBLEM(&rd, 0, "out of memory");
	ytree_free(t);
	if (rd.errors != 0) {
		runbook_free(r);
		return BG_EINVAL;
	}
	*out = r;
	return 0;
}

runbook *runbook_ref(const runbook *r)
{
	runbook *w = (runbook *)r;

	__atomic_add_fetch(&w->refs, 1, __ATOMIC_RELAXED);
	return w;
}

void runbook_free(runbook *r)
{
	size_t i, j;

	if (r == NULL || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free(r->title);
	free(r->when);
	free(r->file);
	free(r->index);
	{
		runbook_text *t[] = {&r->key_condition, &r->projection, &r->filter, &r->condition,
		                     &r->update};
		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			free(t[i]->text);
			ddb_expr_free(t[i]->x);
		}
	}
	json_decref(r->names);
	json_decref(r->values);
	json_decref(r->key);
	json_decref(r->item);
	for (i = 0; i < r->n_params; i++) {
		runbook_param *p = &r->params[i];
		free(p->default_text);
		if (p->pattern != NULL)
			regfree(&p->re);
		free(p->pattern);
		for (j = 0; j < p->n_enum; j++)
			free(p->enum_values[j]);
		free(p->enum_values);
	}
	free(r->select);
	for (i = 0; i < r->n_return_values; i++)
		free(r->return_values[i]);
	free(r->return_values);
	for (i = 0; i < r->n_tests; i++) {
		free(r->tests[i].name);
		free(r->tests[i].fixtures);
		json_decref(r->tests[i].params);
		json_decref(r->tests[i].expect_items);
	}
	free(r->tests);
	for (i = 0; i < r->n_services; i++)
		free(r->services[i]);
	free(r->services);
	free(r->mask);
	free(r);
}

const char *const *runbook_services(const runbook *r, size_t *n)
{
	*n = r->n_services;
	return (const char *const *)r->services;
}

const runbook_param *runbook_param_find(const runbook *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_params; i++) {
		if (strcmp(r->params[i].name, name) == 0)
			return &r->params[i];
	}
	return NULL;
}

/* --- parameter values ---------------------------------------------------------------- */

/* DynamoDB's number: an optional sign, digits with an optional fraction, an optional
 * exponent; at most 38 significant digits. */
static bool number_ok(const char *s)
{
	size_t digits = 0;
	const char *p = s;
	bool dot = false;

	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
		return false;
	bool seen = false; /* leading zeros are not significant */

	for (; isdigit((unsigned char)*p) || (*p == '.' && !dot); p++) {
		if (*p == '.') {
			dot = true;
			continue;
		}
		if (*p != '0' || seen) {
			seen = true;
			digits++;
		}
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0' && digits <= 38;
}

int runbook_param_check(const runbook_param *p, const json_t *av, bg_err *e)
{
	const char *want = type_name(p->type), *s;
	json_t *v = json_object_get(av, want);
	size_t i, n;

	if (!json_is_object(av) || json_object_size(av) != 1 || v == NULL)
		return bg_err_set(e, BG_EINVAL, "parameter %s must be of type %s", p->name, want);
	if (p->type == RUNBOOK_BOOL) {
		if (!json_is_boolean(v))
			return bg_err_set(e, BG_EINVAL, "parameter %s must be true or false",
			                  p->name);
		return 0;
	}
	if (!json_is_string(v))
		return bg_err_set(e, BG_EINVAL, "parameter %s must be of type %s", p->name, want);
	s = json_string_value(v);
	n = json_string_length(v);
	if (strlen(s) != n)
		return bg_err_set(e, BG_EINVAL, "parameter %s holds a NUL character", p->name);
	if (p->type == RUNBOOK_N) {
		long double d;
		if (!number_ok(s))
			return bg_err_set(e, BG_EINVAL, "parameter %s must be a number", p->name);
		d = strtold(s, NULL);
		if ((p->has_min && d < p->min) || (p->has_max && d > p->max))
			return bg_err_set(e, BG_EINVAL, "parameter %s must be from %Lg to %Lg",
			                  p->name, p->has_min ? p->min : -HUGE_VALL,
			                  p->has_max ? p->max : HUGE_VALL);
	}
	if (p->type == RUNBOOK_B) {
		unsigned char buf[3 * 1024];
		int len;
		if (n == 0 || n % 4 != 0 || n > 4 * (sizeof(buf) / 3))
			return bg_err_set(e, BG_EINVAL, "parameter %s must be base64", p->name);
		len = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n);
		if (len < 0)
			return bg_err_set(e, BG_EINVAL, "parameter %s must be base64", p->name);
		len -= (s[n - 1] == '=') + (s[n - 2] == '=');
		if (p->max_length > 0 && (size_t)len > p->max_length)
			return bg_err_set(e, BG_EINVAL, "parameter %s is longer than %zu bytes",
			                  p->name, p->max_length);
	}
	if (p->type == RUNBOOK_S && p->max_length > 0 && n > p->max_length)
		return bg_err_set(e, BG_EINVAL, "parameter %s is longer than %zu bytes", p->name,
		                  p->max_length);
	if (p->type == RUNBOOK_S && n == 0)
		return bg_err_set(e, BG_EINVAL, "parameter %s is empty", p->name);
	if (p->n_enum > 0) {
		for (i = 0; i < p->n_enum && strcmp(p->enum_values[i], s) != 0; i++)
			;
		if (i == p->n_enum)
			return bg_err_set(
			    e, BG_EINVAL, "parameter %s must be one of its %zu values (%s%s)",
			    p->name, p->n_enum, p->enum_values[0], p->n_enum > 1 ? ", ..." : "");
	}
	if (p->pattern != NULL && regexec(&p->re, s, 0, NULL, 0) != 0)
		return bg_err_set(e, BG_EINVAL, "parameter %s must match %s", p->name, p->pattern);
	return 0;
}

int runbook_param_value(const runbook_param *p, const char *text, json_t **out, bg_err *e)
{
	json_t *v, *av;
	int rc;

	*out = NULL;
	if (text == NULL)
		text = p->default_text;
	if (text == NULL)
		return bg_err_set(e, BG_EINVAL, "parameter %s is required", p->name);
	if (p->type == RUNBOOK_BOOL) {
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
			return bg_err_set(e, BG_EINVAL, "parameter %s must be true or false",
			                  p->name);
		v = json_boolean(text[0] == 't');
	} else {
		v = json_string(text);
	}
	if (v == NULL)
		return bg_err_set(e, BG_EINVAL, "parameter %s is not valid UTF-8", p->name);
	av = json_object();
	if (av == NULL || json_object_set_new(av, type_name(p->type), v) != 0) {
		json_decref(av);
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	rc = runbook_param_check(p, av, e);
	if (rc != 0) {
		json_decref(av);
		return rc;
	}
	*out = av;
	return 0;
}
