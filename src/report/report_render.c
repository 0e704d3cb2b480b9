/*
 * report_render.c - what every renderer of the report needs: escaping for HTML and
 * markdown, values as cell text, and the json format (the model as it is).
 *
 * Records carry strings an attacker chose (an alert's title from a webhook, a reason, a
 * client's user agent): nothing from the model reaches a document unescaped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "report/report_internal.h"

int report_html_esc(bg_buf *out, const char *s)
{
	const char *p, *start;
	int rc = 0;

	if (s == NULL)
		return 0;
	for (p = start = s; *p != '\0' && rc == 0; p++) {
		const char *rep = NULL;
		switch (*p) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		rc = bg_buf_add(out, start, (size_t)(p - start));
		if (rc == 0)
			rc = bg_buf_adds(out, rep);
		start = p + 1;
	}
	return rc != 0 ? rc : bg_buf_add(out, start, (size_t)(p - start));
}

int report_md_esc(bg_buf *out, const char *s)
{
	const char *p;
	int rc = 0;

	if (s == NULL)
		return 0;
	for (p = s; *p != '\0' && rc == 0; p++) {
		switch (*p) {
		case '&':
			rc = bg_buf_adds(out, "&amp;");
			break;
		case '<':
			rc = bg_buf_adds(out, "&lt;");
			break;
		case '>':
			rc = bg_buf_adds(out, "&gt;");
			break;
		case '\n':
		case '\r':
		case '\t':
			rc = bg_buf_addc(out, ' ');
			break;
		case '\\':
		case '`':
		case '*':
		case '_':
		case '[':
		case ']':
		case '|':
		case '#':
			rc = bg_buf_addc(out, '\\');
			if (rc == 0)
				rc = bg_buf_addc(out, *p);
			break;
		default:
			rc = bg_buf_addc(out, *p);
		}
	}
	return rc;
}

/* v as plain text into a new string (NULL when out of memory). */
static char *value_text(json_t *v)
{
	char num[64];

	if (v == NULL || json_is_null(v))
		return strdup("-");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%.2f", json_real_value(v));
		return strdup(num);
	}
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

int rep_html_value(bg_buf *out, json_t *v)
{
	char *t = value_text(v);
	int rc = t == NULL ? BG_ENOMEM : report_html_esc(out, t);

	free(t);
	return rc;
}

int rep_md_value(bg_buf *out, json_t *v)
{
	char *t = value_text(v);
	int rc = t == NULL ? BG_ENOMEM : report_md_esc(out, t);

	free(t);
	return rc;
}

static int dump_cb(const char *buf, size_t n, void *arg)
{
	return bg_buf_add(arg, buf, n) == 0 ? 0 : -1;
}

int report_json(const report *r, bg_buf *out)
{
	if (json_dump_callback(report_model(r), dump_cb, out, JSON_INDENT(1) | JSON_SORT_KEYS) != 0)
		return out->failed ? BG_ELIMIT : BG_ENOMEM;
	return bg_buf_addc(out, '\n');
}
