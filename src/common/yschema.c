/*
 * yschema.c - typed values from a ytree (see yschema.h).
 */
#include "common/yschema.h"

#include "common/pattern.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"

int ys_text(const ytree_node *v, const char *key, const char **out, bg_err *e)
{
	if (v->kind != YTREE_SCALAR)
		return bg_err_set(e, BG_EINVAL, "%s must be a single value, not %s", key,
		                  ytree_kind_name(v->kind));
	if (v->len == 0)
		return bg_err_set(e, BG_EINVAL, "%s is empty", key);
	*out = v->text;
	return 0;
}

int ys_int(const ytree_node *v, const char *key, int64_t min, int64_t max, int64_t *out, bg_err *e)
{
	char *end = NULL;
	long long x;

	if (v->kind != YTREE_SCALAR || !v->plain || v->len == 0 ||
	    !isdigit((unsigned char)v->text[0]))
		goto bad;
	errno = 0;
	x = strtoll(v->text, &end, 10);
	if (errno != 0 || *end != '\0' || x < min || x > max)
		goto bad;
	*out = x;
	return 0;
bad:
	return bg_err_set(e, BG_EINVAL, "%s must be a whole number from %lld to %lld", key,
	                  (long long)min, (long long)max);
}

int ys_bool(const ytree_node *v, const char *key, bool *out, bg_err *e)
{
	if (v->kind == YTREE_SCALAR && v->plain &&
	    (strcmp(v->text, "true") == 0 || strcmp(v->text, "false") == 0)) {
		*out = v->text[0] == 't';
		return 0;
	}
	return bg_err_set(e, BG_EINVAL, "%s must be true or false", key);
}

int ys_duration(const ytree_node *v, const char *key, int64_t max, int64_t *out, bg_err *e)
{
	const char *s;
	bg_err why;
	int rc = ys_text(v, key, &s, e);

	if (rc != 0)
		return rc;
	if (bg_duration_parse_days(s, max, out, &why) != 0)
		return bg_err_set(e, BG_EINVAL, "%s: %s", key, why.msg);
	return 0;
}

int ys_regex(const ytree_node *v, const char *key, regex_t *re, const char **text, bg_err *e)
{
	const char *s;
	bg_err pe;
	int rc = ys_text(v, key, &s, e);

	if (rc != 0)
		return rc;
	/* Anchored (the whole value must match, whatever the author wrote), and only a
	 * pattern that compiles in bounded memory (common/pattern.h). */
	rc = bg_pattern_compile(re, s, true, &pe);
	if (rc != 0)
		return bg_err_set(e, rc, "%s: %s", key, pe.msg);
	*text = s;
	return 0;
}

const ytree_node *ys_unknown_key(const ytree_node *m, const char *const *known)
{
	size_t i, k;

	for (i = 0; i < ytree_map_size(m); i++) {
		const ytree_node *key = ytree_map_key(m, i);
		for (k = 0; known[k] != NULL && strcmp(known[k], key->text) != 0; k++)
			;
		if (known[k] == NULL)
			return key;
	}
	return NULL;
}

void ys_known_list(const char *const *known, char *out, size_t n)
{
	size_t k, len = 0;

	if (n == 0)
		return;
	out[0] = '\0';
	for (k = 0; known[k] != NULL && len < n; k++) {
		int w = snprintf(out + len, n - len, "%s%s", k > 0 ? ", " : "", known[k]);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

int ys_map_keys(const ytree_node *m, const char *what, const char *const *known, unsigned *where,
                bg_err *e)
{
	const ytree_node *bad;
	char list[256];

	*where = m->line;
	if (m->kind != YTREE_MAP)
		return bg_err_set(e, BG_EINVAL, "%s must be a mapping, not %s", what,
		                  ytree_kind_name(m->kind));
	bad = ys_unknown_key(m, known);
	if (bad == NULL)
		return 0;
	*where = bad->line;
	ys_known_list(known, list, sizeof(list));
	return bg_err_set(e, BG_EINVAL, "unknown key '%.40s' in %s (%s)", bad->text, what, list);
}

int ys_fail(const ys_file *f, unsigned line, const char *fmt, ...)
{
	char msg[sizeof(f->e->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return bg_err_set(f->e, BG_EINVAL, "%s:%u: %s", f->name, line, msg);
}

int ys_at(const ys_file *f, unsigned line, int rc, const bg_err *why)
{
	if (rc == 0)
		return 0;
	if (rc == BG_ENOMEM)
		return bg_err_set(f->e, BG_ENOMEM, "out of memory");
	ys_fail(f, line, "%s", why->msg);
	return rc;
}

int ys_check_keys(const ys_file *f, const ytree_node *m, const char *what, const char *const *known)
{
	unsigned line;
	bg_err why;
	int rc = ys_map_keys(m, what, known, &line, &why);

	return ys_at(f, line, rc, &why);
}
