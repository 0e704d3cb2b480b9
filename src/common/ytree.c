/*
 * ytree.c - a strict YAML reader (see ytree.h), built on libyaml's
 * event API: each event becomes a node or closes one, so nothing libyaml would resolve
 * behind our back (aliases, merge keys) can reach the tree.
 *
 * All nodes and scalar texts of a document live in one arena freed at once; the limits
 * (BG_MAX_YAML_FILE, BG_MAX_YAML_NODES, BG_MAX_YAML_DEPTH) bound both memory and the
 * recursion of everyone who walks the tree.
 */
#include "common/ytree.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/limits.h"

struct ytree {
	ytree_node *root;
	ytree_node *nodes; /* arena: n_nodes used */
	size_t n_nodes;
	char **texts; /* scalar copies, freed with the tree */
	size_t n_texts;
	ytree_node ***lists; /* kids arrays, freed with the tree */
	size_t n_lists;
};

/* A node being filled: its kids grow here until its end event. */
typedef struct open_node {
	ytree_node *node;
	ytree_node **kids;
	size_t n, cap;
} open_node;

static int node_new(ytree *t, ytree_kind kind, const yaml_mark_t *m, ytree_node **out,
                    const char *name, bg_err *e)
{
	ytree_node *x;

	if (t->n_nodes >= BG_MAX_YAML_NODES)
		return bg_err_set(e, BG_EINVAL, "%s:%zu: more than %d YAML nodes", name,
		                  m->line + 1, BG_MAX_YAML_NODES);
	x = &t->nodes[t->n_nodes++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->line = (unsigned)m->line + 1;
	*out = x;
	return 0;
}

static int kid_add(open_node *o, ytree_node *kid, bg_err *e)
{
	ytree_node **k;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 8;
		k = realloc(o->kids, cap * sizeof(*k));
		if (k == NULL)
			return bg_err_set(e, BG_ENOMEM, "out of memory");
		o->kids = k;
		o->cap = cap;
	}
	o->kids[o->n++] = kid;
	return 0;
}

/* A map key must be a plain or quoted scalar not seen before in this map. */
static int map_key_check(const open_node *o, const ytree_node *kid, const char *name, bg_err *e)
{
	size_t i;

	if (o->node->kind != YTREE_MAP || o->n % 2 != 0)
		return 0;
	if (kid->kind != YTREE_SCALAR)
		return bg_err_set(e, BG_EINVAL, "%s:%u: a key must be a plain word, not %s", name,
		                  kid->line, ytree_kind_name(kid->kind));
	for (i = 0; i < o->n; i += 2) {
		if (strcmp(o->kids[i]->text, kid->text) == 0)
			return bg_err_set(e, BG_EINVAL,
			                  "%s:%u: key '%s' given twice (first on line %u)", name,
			                  kid->line, kid->text, o->kids[i]->line);
	}
	return 0;
}

/* Closes the innermost open node: its kids move into the tree. */
static int close_node(ytree *t, open_node *o, bg_err *e)
{
	ytree_node ***l = realloc(t->lists, (t->n_lists + 1) * sizeof(*l));

	if (l == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	t->lists = l;
	t->lists[t->n_lists++] = o->kids;
	o->node->kids = o->kids;
	o->node->n = o->n;
	o->kids = NULL;
	return 0;
}

static int scalar_new(ytree *t, const yaml_event_t *ev, ytree_node **out, const char *name,
                      bg_err *e)
{
	size_t len = ev->data.scalar.length;
	char *s, **texts;
	int rc;

	size_t i;

	/* Control characters have no business in these files, and could hide text from a
	 * reviewer's terminal or smuggle markers into what is rendered from them (a shell
	 * command line). Tabs and line breaks (block scalars) are fine. */
	for (i = 0; i < len; i++) {
		unsigned char ch = ev->data.scalar.value[i];
		if ((ch < 0x20 && ch != '\t' && ch != '\n') || ch == 0x7f)
			return bg_err_set(e, BG_EINVAL,
			                  "%s:%zu: a value holds a control character (0x%02x)",
			                  name, ev->start_mark.line + 1, ch);
	}
	rc = node_new(t, YTREE_SCALAR, &ev->start_mark, out, name, e);
	if (rc != 0)
		return rc;
	texts = realloc(t->texts, (t->n_texts + 1) * sizeof(*texts));
	if (texts == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	t->texts = texts;
	s = malloc(len + 1);
	if (s == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	memcpy(s, ev->data.scalar.value, len);
	s[len] = '\0';
	t->texts[t->n_texts++] = s;
	(*out)->text = s;
	(*out)->len = len;
	(*out)->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	return 0;
}

/* Anchors and tags are refused wherever they appear. */
static int event_check(const yaml_event_t *ev, const char *name, bg_err *e)
{
	const yaml_char_t *anchor = NULL, *tag = NULL;
	size_t line = ev->start_mark.line + 1;

	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return bg_err_set(e, BG_EINVAL,
		                  "%s:%zu: aliases (*name) are not allowed: write the value out",
		                  name, line);
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	default:
		return 0;
	}
	if (anchor != NULL)
		return bg_err_set(e, BG_EINVAL, "%s:%zu: anchors (&name) are not allowed", name,
		                  line);
	if (tag != NULL)
		return bg_err_set(e, BG_EINVAL, "%s:%zu: tags (!name) are not allowed", name, line);
	return 0;
}

int ytree_parse(const char *text, size_t len, const char *name, ytree **out, bg_err *e)
{
	open_node stack[BG_MAX_YAML_DEPTH + 1];
	yaml_parser_t p;
	yaml_event_t ev;
	ytree *t;
	ytree_node *x;
	size_t depth = 0, docs = 0, i;
	int rc = 0, done = 0;

	*out = NULL;
	if (len > BG_MAX_RUNBOOK_FILE)
		return bg_err_set(e, BG_EINVAL, "%s: larger than %u bytes", name,
		                  BG_MAX_RUNBOOK_FILE);
	t = calloc(1, sizeof(*t));
	if (t == NULL || (t->nodes = calloc(BG_MAX_YAML_NODES, sizeof(*t->nodes))) == NULL) {
		free(t);
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	if (!yaml_parser_initialize(&p)) {
		ytree_free(t);
		return bg_err_set(e, BG_ENOMEM, "cannot initialise the YAML parser");
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	memset(stack, 0, sizeof(stack));
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = bg_err_set(e, BG_EINVAL, "%s:%zu: %s", name, p.problem_mark.line + 1,
			                p.problem != NULL ? p.problem : "not valid YAML");
			break;
		}
		rc = event_check(&ev, name, e);
		x = NULL;
		if (rc == 0) {
			switch (ev.type) {
			case YAML_DOCUMENT_START_EVENT:
				if (++docs > 1)
					rc = bg_err_set(e, BG_EINVAL,
					                "%s:%zu: one YAML document per file", name,
					                ev.start_mark.line + 1);
				break;
			case YAML_SCALAR_EVENT:
				rc = scalar_new(t, &ev, &x, name, e);
				break;
			case YAML_MAPPING_START_EVENT:
			case YAML_SEQUENCE_START_EVENT:
				if (depth >= BG_MAX_YAML_DEPTH) {
					rc = bg_err_set(e, BG_EINVAL,
					                "%s:%zu: nested deeper than %d", name,
					                ev.start_mark.line + 1, BG_MAX_YAML_DEPTH);
					break;
				}
				rc = node_new(
				    t, ev.type == YAML_MAPPING_START_EVENT ? YTREE_MAP : YTREE_SEQ,
				    &ev.start_mark, &x, name, e);
				break;
			case YAML_MAPPING_END_EVENT:
			case YAML_SEQUENCE_END_EVENT:
				rc = close_node(t, &stack[--depth], e);
				break;
			case YAML_STREAM_END_EVENT:
				done = 1;
				break;
			default:
				break;
			}
		}
		/* A new node joins its parent (or becomes the root), then, if it has kids,
		 * opens. */
		if (rc == 0 && x != NULL) {
			if (depth == 0) {
				t->root = x;
			} else {
				rc = map_key_check(&stack[depth - 1], x, name, e);
				if (rc == 0)
					rc = kid_add(&stack[depth - 1], x, e);
			}
			if (rc == 0 && x->kind != YTREE_SCALAR)
				stack[depth++] = (open_node){x, NULL, 0, 0};
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	for (i = 0; i < depth; i++)
		free(stack[i].kids);
	if (rc == 0 && t->root == NULL) {
		/* An empty file is an empty mapping. */
		static const yaml_mark_t top = {0, 0, 0};
		rc = node_new(t, YTREE_MAP, &top, &t->root, name, e);
	}
	if (rc != 0) {
		ytree_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void ytree_free(ytree *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n_texts; i++)
		free(t->texts[i]);
	for (i = 0; i < t->n_lists; i++)
		free(t->lists[i]);
	free(t->texts);
	free(t->lists);
	free(t->nodes);
	free(t);
}

const ytree_node *ytree_root(const ytree *t)
{
	return t->root;
}

const ytree_node *ytree_get(const ytree_node *m, const char *key)
{
	size_t i;

	if (m == NULL || m->kind != YTREE_MAP)
		return NULL;
	for (i = 0; i + 1 < m->n; i += 2) {
		if (strcmp(m->kids[i]->text, key) == 0)
			return m->kids[i + 1];
	}
	return NULL;
}

size_t ytree_map_size(const ytree_node *m)
{
	return m != NULL && m->kind == YTREE_MAP ? m->n / 2 : 0;
}

const ytree_node *ytree_map_key(const ytree_node *m, size_t i)
{
	return m->kids[2 * i];
}

const ytree_node *ytree_map_value(const ytree_node *m, size_t i)
{
	return m->kids[2 * i + 1];
}

const char *ytree_kind_name(ytree_kind k)
{
	switch (k) {
	case YTREE_MAP:
		return "a mapping";
	case YTREE_SEQ:
		return "a list";
	default:
		return "a single value";
	}
}
