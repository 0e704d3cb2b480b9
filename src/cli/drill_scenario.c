/*
 * drill_scenario.c - reading a drill's scenario file (see drill_scenario.h): the strict
 * YAML tree, every key checked, the first problem reported with its file and line.
 */
#include "cli/drill_scenario.h"

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/fileio.h"
#include "common/validate.h"
#include "common/yschema.h"
#include "common/ytree.h"

drill_scenario *drill_scenario_new(const char *name)
{
	drill_scenario *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->labels = json_pack("{s:s,s:s}", "alertname", DRILL_DEFAULT_ALERTNAME, "severity",
	                      DRILL_DEFAULT_SEVERITY);
	if (s->labels == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void drill_scenario_free(drill_scenario *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_steps; i++)
		json_decref(s->steps[i].params);
	free(s->steps);
	json_decref(s->labels);
	free(s);
}

int drill_scenario_add(drill_scenario *s, const char *id, json_t *params, unsigned line, bg_err *e)
{
	drill_step *n;

	if (s->n_steps >= BG_MAX_DRILL_RUNBOOKS)
		return bg_err_set(e, BG_ELIMIT,
		                  "more than %d runbooks (one request names them all)",
		                  BG_MAX_DRILL_RUNBOOKS);
	n = realloc(s->steps, (s->n_steps + 1) * sizeof(*n));
	if (n == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	s->steps = n;
	n = &s->steps[s->n_steps++];
	memset(n, 0, sizeof(*n));
	snprintf(n->id, sizeof(n->id), "%s", id);
	n->params = json_incref(params);
	n->line = line;
	return 0;
}

/* A label name as Prometheus allows it: [A-Za-z_][A-Za-z0-9_]*, at most 64. */
static bool label_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 64 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/* A map of scalars into a new JSON object of strings (labels, params). */
static int string_map(const ys_file *f, const ytree_node *m, const char *what, size_t max,
                      size_t max_value, bool labels, json_t **out)
{
	json_t *o = json_object();
	size_t i;
	int rc = 0;

	*out = NULL;
	if (o == NULL)
		return bg_err_set(f->e, BG_ENOMEM, "out of memory");
	if (m->kind != YTREE_MAP)
		rc = ys_fail(f, m->line, "%s must be a mapping of names to values, not %s", what,
		             ytree_kind_name(m->kind));
	else if (ytree_map_size(m) > max)
		rc = ys_fail(f, m->line, "%s has more than %zu entries", what, max);
	for (i = 0; rc == 0 && i < ytree_map_size(m); i++) {
		const ytree_node *k = ytree_map_key(m, i), *v = ytree_map_value(m, i);
		const char *text = NULL;
		bg_err why;
		if (labels ? !label_name_ok(k->text, k->len)
		           : !cli_runbook_word(k->text, k->len) && !label_name_ok(k->text, k->len))
			rc = ys_fail(f, k->line, "%s: bad name '%.64s'", what, k->text);
		else if ((rc = ys_at(f, v->line, ys_text(v, k->text, &text, &why), &why)) != 0)
			break;
		else if (strlen(text) > max_value || !bg_valid_text(text, max_value))
			rc = ys_fail(f, v->line, "%s.%s: at most %zu bytes of text on one line",
			             what, k->text, max_value);
		else if (json_object_set_new(o, k->text, json_string(text)) != 0)
			rc = ys_fail(f, v->line, "%s.%s is not UTF-8", what, k->text);
	}
	if (rc != 0) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return 0;
}

static int parse_alert(const ys_file *f, const ytree_node *v, drill_scenario *s)
{
	json_t *labels = NULL;
	const char *key;
	json_t *val;
	int rc = string_map(f, v, "alert", BG_MAX_DRILL_LABELS, BG_MAX_DRILL_LABEL, true, &labels);

	if (rc != 0)
		return rc;
	json_object_foreach(labels, key, val) json_object_set(s->labels, key, val);
	json_decref(labels);
	return 0;
}

static int parse_runbooks(const ys_file *f, const ytree_node *v, drill_scenario *s)
{
	static const char *const known[] = {"id", "params", NULL};
	size_t i, j;
	int rc = 0;

	if (v->kind != YTREE_SEQ)
		return ys_fail(f, v->line, "runbooks must be a list, not %s",
		               ytree_kind_name(v->kind));
	if (v->n == 0)
		return ys_fail(f, v->line, "runbooks is empty: a drill runs at least one");
	for (i = 0; rc == 0 && i < v->n; i++) {
		const ytree_node *it = v->kids[i], *idn, *pn;
		const char *id = NULL;
		json_t *params = NULL;
		bg_err why;
		if (it->kind != YTREE_MAP)
			return ys_fail(f, it->line, "runbooks: each item is {id, params}, not %s",
			               ytree_kind_name(it->kind));
		if ((rc = ys_check_keys(f, it, "a runbook of the scenario", known)) != 0)
			return rc;
		if ((idn = ytree_get(it, "id")) == NULL)
			return ys_fail(f, it->line, "runbooks: an item without id");
		if ((rc = ys_at(f, idn->line, ys_text(idn, "id", &id, &why), &why)) != 0)
			return rc;
		if (!cli_runbook_word(id, strlen(id)))
			return ys_fail(f, idn->line,
			               "runbooks: bad id '%.64s' (1 to 64 of a-z 0-9 -)", id);
		for (j = 0; j < s->n_steps; j++) {
			if (strcmp(s->steps[j].id, id) == 0)
				return ys_fail(f, idn->line,
				               "runbook %s is listed twice (first on line %u): one "
				               "grant runs it with any parameters",
				               id, s->steps[j].line);
		}
		pn = ytree_get(it, "params");
		if (pn != NULL)
			rc = string_map(f, pn, "params", BG_MAX_RUNBOOK_PARAMS, BG_MAX_DRILL_PARAM,
			                false, &params);
		else if ((params = json_object()) == NULL)
			rc = bg_err_set(f->e, BG_ENOMEM, "out of memory");
		if (rc == 0 && (rc = drill_scenario_add(s, id, params, idn->line, &why)) != 0)
			rc = rc == BG_ENOMEM ? bg_err_set(f->e, rc, "%s", why.msg)
			                     : ys_fail(f, idn->line, "runbooks: %s", why.msg);
		json_decref(params);
	}
	return rc;
}

int drill_scenario_parse(const char *text, size_t len, const char *fname, drill_scenario **out,
                         bg_err *e)
{
	static const char *const known[] = {"name", "alert", "runbooks", NULL};
	const ys_file f = {fname, e};
	const ytree_node *root, *v;
	const char *name = NULL;
	drill_scenario *s = NULL;
	ytree *t = NULL;
	bg_err why;
	int rc;

	*out = NULL;
	rc = ytree_parse(text, len, fname, &t, e);
	if (rc != 0)
		return rc;
	root = ytree_root(t);
	if (root->kind != YTREE_MAP) {
		rc = ys_fail(&f, root->line, "a scenario is a mapping (name, alert, runbooks)");
		goto done;
	}
	if ((rc = ys_check_keys(&f, root, "the scenario", known)) != 0)
		goto done;
	if ((v = ytree_get(root, "name")) == NULL) {
		rc = ys_fail(&f, root->line, "the scenario has no name");
		goto done;
	}
	if ((rc = ys_at(&f, v->line, ys_text(v, "name", &name, &why), &why)) != 0)
		goto done;
	if (strlen(name) > BG_MAX_DRILL_NAME || !bg_valid_text(name, BG_MAX_DRILL_NAME)) {
		rc = ys_fail(&f, v->line, "name: at most %d bytes of text on one line",
		             BG_MAX_DRILL_NAME);
		goto done;
	}
	if ((s = drill_scenario_new(name)) == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto done;
	}
	if ((v = ytree_get(root, "alert")) != NULL && (rc = parse_alert(&f, v, s)) != 0)
		goto done;
	if ((v = ytree_get(root, "runbooks")) == NULL) {
		rc = ys_fail(&f, root->line, "the scenario has no runbooks");
		goto done;
	}
	rc = parse_runbooks(&f, v, s);
done:
	ytree_free(t);
	if (rc != 0) {
		drill_scenario_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int drill_scenario_load(const char *path, drill_scenario **out, bg_err *e)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = bg_read_file(path, BG_MAX_YAML_FILE, &text, &len, e);
	if (rc != 0)
		return rc;
	rc = drill_scenario_parse(text, len, path, out, e);
	free(text);
	return rc;
}
