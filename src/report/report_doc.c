/*
 * report_doc.c - the report's document, written once for markdown and HTML.
 *
 * The sections are the same in both formats (docs/report.md), so they are written once
 * against a tiny writer (headings, paragraphs, lists, tables) that knows each format's
 * syntax and escaping; report_md() and report_html() differ only in the frame (the HTML
 * head with its inline CSS, the SVG chart). Every string from the model goes through the
 * writer's escaping: cells, list items and headings alike.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "report/report.h"
#include "report/report_internal.h"

typedef struct writer {
	bg_buf *out;
	bool html;
	int rc;
} writer;

static void raw(writer *w, const char *s)
{
	if (w->rc == 0)
		w->rc = bg_buf_adds(w->out, s);
}

static void text(writer *w, const char *s)
{
	if (w->rc == 0)
		w->rc = w->html ? report_html_esc(w->out, s) : report_md_esc(w->out, s);
}

static void value(writer *w, json_t *v)
{
	if (w->rc == 0)
		w->rc = w->html ? rep_html_value(w->out, v) : rep_md_value(w->out, v);
}

/* printf into a small buffer, then escaped (numbers and texts the model holds). */
static void textf(writer *w, const char *fmt, ...) BG_PRINTF(2, 3);
static void textf(writer *w, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	text(w, line);
}

static void heading(writer *w, int level, const char *id, const char *title)
{
	char tag[64];

	if (w->html) {
		if (id != NULL)
			snprintf(tag, sizeof(tag), "<h%d id=\"%s\">", level, id);
		else
			snprintf(tag, sizeof(tag), "<h%d>", level);
		raw(w, tag);
		text(w, title);
		snprintf(tag, sizeof(tag), "</h%d>\n", level);
		raw(w, tag);
	} else {
		raw(w, level == 1 ? "\n# " : level == 2 ? "\n## " : "\n### ");
		text(w, title);
		raw(w, "\n\n");
	}
}

/* HTML: "<tag>" or "<tag class=\"cls\">" (cls is the renderer's own, never a record's);
 * markdown: md. */
static void open_tag(writer *w, const char *tag, const char *cls, const char *md)
{
	if (!w->html) {
		raw(w, md);
		return;
	}
	raw(w, "<");
	raw(w, tag);
	if (cls != NULL) {
		raw(w, " class=\"");
		raw(w, cls);
		raw(w, "\"");
	}
	raw(w, ">");
}

static void para_begin(writer *w, const char *cls)
{
	open_tag(w, "p", cls, "");
}

static void para_end(writer *w)
{
	raw(w, w->html ? "</p>\n" : "\n\n");
}

static void list_begin(writer *w)
{
	raw(w, w->html ? "<ul>\n" : "");
}

static void item_begin(writer *w, const char *cls)
{
	open_tag(w, "li", cls, "- ");
}

static void item_end(writer *w)
{
	raw(w, w->html ? "</li>\n" : "\n");
}

static void list_end(writer *w)
{
	raw(w, w->html ? "</ul>\n" : "\n");
}

static void table_begin(writer *w, const char *const *cols, size_t n)
{
	size_t i;

	raw(w, w->html ? "<div class=\"scroll\"><table>\n<thead><tr>" : "|");
	for (i = 0; i < n; i++) {
		raw(w, w->html ? "<th>" : " ");
		text(w, cols[i]);
		raw(w, w->html ? "</th>" : " |");
	}
	raw(w, w->html ? "</tr></thead>\n<tbody>\n" : "\n|");
	for (i = 0; !w->html && i < n; i++)
		raw(w, " --- |");
	if (!w->html)
		raw(w, "\n");
}

static void row_begin(writer *w, const char *cls)
{
	open_tag(w, "tr", cls, "|");
}

static void cell_begin(writer *w)
{
	raw(w, w->html ? "<td>" : " ");
}

static void cell_end(writer *w)
{
	raw(w, w->html ? "</td>" : " |");
}

static void cell(writer *w, json_t *v)
{
	cell_begin(w);
	value(w, v);
	cell_end(w);
}

static void cell_s(writer *w, const char *s)
{
	cell_begin(w);
	text(w, s != NULL ? s : "-");
	cell_end(w);
}

static void row_end(writer *w)
{
	raw(w, w->html ? "</tr>\n" : "\n");
}

static void table_end(writer *w)
{
	raw(w, w->html ? "</tbody></table></div>\n" : "\n");
}

static const char *txt_or(const char *s, const char *dflt)
{
	return s != NULL ? s : dflt;
}

static void summary(writer *w, json_t *m)
{
	json_t *inc = json_object_get(m, "incident"), *counts = json_object_get(m, "counts");
	json_t *cap = json_object_get(m, "capacity"), *v = json_object_get(m, "verification");

	list_begin(w);
	item_begin(w, NULL);
	textf(w, "Incident %s: SEV%lld, %s", txt_or(rep_str(inc, "id"), "?"),
	      (long long)json_integer_value(json_object_get(inc, "severity")),
	      txt_or(rep_str(inc, "title"), "(no title recorded)"));
	item_end(w);
	item_begin(w, NULL);
	textf(w, "Opened %s by %s; alerts resolved %s; incident resolved %s by %s",
	      txt_or(rep_str(inc, "opened_at"), "-"), txt_or(rep_str(inc, "opened_by"), "-"),
	      txt_or(rep_str(inc, "alerts_resolved_at"), "-"),
	      txt_or(rep_str(inc, "resolved_at"), "-"), txt_or(rep_str(inc, "resolved_by"), "-"));
	item_end(w);
	item_begin(w, NULL);
	textf(w, "%lld records (seq %lld to %lld), %lld queries, %lld denials, %lld anomalies",
	      (long long)json_integer_value(json_object_get(counts, "records")),
	      (long long)json_integer_value(json_object_get(counts, "first_seq")),
	      (long long)json_integer_value(json_object_get(counts, "last_seq")),
	      (long long)json_integer_value(json_object_get(counts, "queries")),
	      (long long)json_integer_value(json_object_get(counts, "denials")),
	      (long long)json_integer_value(json_object_get(counts, "anomalies")));
	item_end(w);
	item_begin(w, NULL);
	if (json_is_number(json_object_get(cap, "budget")))
		textf(w, "Consumed capacity %.2f units of a budget of %.2f",
		      json_number_value(json_object_get(cap, "total")),
		      json_number_value(json_object_get(cap, "budget")));
	else
		textf(w, "Consumed capacity %.2f units (no budget recorded)",
		      json_number_value(json_object_get(cap, "total")));
	item_end(w);
	item_begin(w, json_is_true(json_object_get(v, "ok")) ? "ok" : "bad");
	if (!json_is_true(json_object_get(v, "done")))
		textf(w, "Audit trail NOT verified: %s", txt_or(rep_str(v, "why"), "?"));
	else
		textf(w, "Audit trail %s",
		      json_is_true(json_object_get(v, "ok")) ? "verified" : "BROKEN");
	item_end(w);
	list_end(w);
}

static void anomalies(writer *w, json_t *m)
{
	json_t *as = json_object_get(m, "anomalies"), *a;
	size_t i;

	heading(w, 2, "anomalies", "Anomalies");
	if (json_array_size(as) == 0) {
		para_begin(w, NULL);
		text(w, "None found.");
		para_end(w);
		return;
	}
	list_begin(w);
	json_array_foreach(as, i, a)
	{
		item_begin(w, "anomaly");
		if (w->html)
			raw(w, "<strong>");
		text(w, txt_or(rep_str(a, "kind"), "?"));
		raw(w, w->html ? "</strong>" : ":");
		if (json_is_integer(json_object_get(a, "seq")))
			textf(w, " (seq %lld)",
			      (long long)json_integer_value(json_object_get(a, "seq")));
		text(w, ": ");
		text(w, txt_or(rep_str(a, "message"), ""));
		item_end(w);
	}
	list_end(w);
}

static void timeline(writer *w, json_t *m)
{
	static const char *const cols[] = {"time", "seq", "who", "event"};
	json_t *tl = json_object_get(m, "timeline"), *t;
	size_t i;

	heading(w, 2, "timeline", "Timeline");
	table_begin(w, cols, 4);
	json_array_foreach(tl, i, t)
	{
		bool deny = rep_is_deny(t);
		row_begin(w, deny ? "deny" : NULL);
		cell(w, json_object_get(t, "ts"));
		cell(w, json_object_get(t, "seq"));
		cell(w, json_object_get(t, "actor"));
		cell(w, json_object_get(t, "text"));
		row_end(w);
	}
	table_end(w);
}

static void requests(writer *w, json_t *m)
{
	json_t *rs = json_object_get(m, "requests"), *r, *c, *a;
	size_t i, j;

	heading(w, 2, "requests", "Requests, criteria, approvals and grants");
	if (json_array_size(rs) == 0) {
		para_begin(w, NULL);
		text(w, "No access request is on the record.");
		para_end(w);
	}
	json_array_foreach(rs, i, r)
	{
		heading(w, 3, NULL, txt_or(rep_str(r, "id"), "?"));
		list_begin(w);
		item_begin(w, NULL);
		textf(w, "Requested %s by %s for %lld s: ", txt_or(rep_str(r, "ts"), "?"),
		      txt_or(rep_str(r, "requester"), "?"),
		      (long long)json_integer_value(json_object_get(r, "duration_seconds")));
		text(w, txt_or(rep_str(r, "reason"), ""));
		item_end(w);
		item_begin(w, NULL);
		text(w, "Runbooks: ");
		value(w, json_object_get(r, "runbooks"));
		item_end(w);
		item_begin(w, NULL);
		text(w, json_is_true(json_object_get(r, "mfa")) ? "MFA: TOTP step-up verified"
		                                                : "MFA: none (refused before it)");
		item_end(w);
		json_array_foreach(json_object_get(r, "criteria"), j, c)
		{
			bool ok = json_is_true(json_object_get(c, "ok"));
			item_begin(w, ok ? "ok" : "bad");
			textf(w, "Criterion %s: %s", txt_or(rep_str(c, "check"), "?"),
			      ok ? "held" : "FAILED");
			if (rep_str(c, "message") != NULL) {
				text(w, " (");
				text(w, rep_str(c, "message"));
				text(w, ")");
			}
			item_end(w);
		}
		if (json_array_size(json_object_get(r, "criteria")) == 0) {
			item_begin(w, NULL);
			text(w, "Criteria: none configured");
			item_end(w);
		}
		json_array_foreach(json_object_get(r, "approvals"), j, a)
		{
			item_begin(w, NULL);
			textf(w, "%s by %s at %s", txt_or(rep_str(a, "decision"), "?"),
			      txt_or(rep_str(a, "actor"), "?"), txt_or(rep_str(a, "ts"), "?"));
			if (rep_str(a, "reason") != NULL) {
				text(w, ": ");
				text(w, rep_str(a, "reason"));
			}
			item_end(w);
		}
		item_begin(w, json_is_true(json_object_get(r, "solo")) ? "bad" : NULL);
		textf(w, "State %s%s; grant from %s to %s; revoked %s by %s",
		      txt_or(rep_str(r, "state"), "?"),
		      json_is_true(json_object_get(r, "solo")) ? " (SOLO BREAK-GLASS)" : "",
		      txt_or(rep_str(r, "granted_at"), "-"), txt_or(rep_str(r, "expires_at"), "-"),
		      txt_or(rep_str(r, "revoked_at"), "-"), txt_or(rep_str(r, "revoked_by"), "-"));
		item_end(w);
		if (rep_str(r, "refusal") != NULL) {
			item_begin(w, "bad");
			text(w, "Refused: ");
			text(w, rep_str(r, "refusal"));
			item_end(w);
		}
		list_end(w);
	}
}

static void queries(writer *w, json_t *m)
{
	static const char *const cols[] = {"seq",   "time",    "who",        "operation",
	                                   "table", "runbook", "parameters", "items",
	                                   "count", "keys",    "capacity",   "latency ms"};
	json_t *qs = json_object_get(m, "queries"), *q, *rb;
	char hash[80];
	size_t i;

	heading(w, 2, "queries", "Queries");
	if (json_array_size(qs) == 0) {
		para_begin(w, NULL);
		text(w, "No query reached DynamoDB.");
		para_end(w);
		return;
	}
	table_begin(w, cols, 12);
	json_array_foreach(qs, i, q)
	{
		rb = json_object_get(q, "runbook");
		row_begin(w, json_is_true(json_object_get(q, "near_expiry")) ? "warn" : NULL);
		cell(w, json_object_get(q, "seq"));
		cell(w, json_object_get(q, "ts"));
		cell(w, json_object_get(q, "actor"));
		cell(w, json_object_get(q, "op"));
		cell(w, json_object_get(q, "tables"));
		if (json_is_object(rb)) {
			snprintf(hash, sizeof(hash), "%s@%.12s", txt_or(rep_str(rb, "id"), "?"),
			         txt_or(rep_str(rb, "hash"), "?"));
			cell_s(w, hash);
			cell(w, json_object_get(rb, "params"));
		} else {
			cell_s(w, "(none: a table grant)");
			cell_s(w, "-");
		}
		cell(w, json_object_get(q, "items"));
		cell(w, json_object_get(q, "count"));
		cell(w, json_object_get(q, "keys"));
		cell(w, json_object_get(q, "consumed_capacity"));
		cell(w, json_object_get(q, "latency_ms"));
		row_end(w);
	}
	table_end(w);
}

static void denials(writer *w, json_t *m)
{
	static const char *const cols[] = {"seq", "time", "who", "kind", "operation", "reason"};
	json_t *ds = json_object_get(m, "denials"), *d;
	size_t i;

	heading(w, 2, "denials", "Denials");
	if (json_array_size(ds) == 0) {
		para_begin(w, NULL);
		text(w, "None.");
		para_end(w);
		return;
	}
	table_begin(w, cols, 6);
	json_array_foreach(ds, i, d)
	{
		row_begin(w, "deny");
		cell(w, json_object_get(d, "seq"));
		cell(w, json_object_get(d, "ts"));
		cell(w, json_object_get(d, "actor"));
		cell(w, json_object_get(d, "kind"));
		cell(w, json_object_get(d, "op"));
		cell(w, json_object_get(d, "reason"));
		row_end(w);
	}
	table_end(w);
}

static void writes(writer *w, json_t *m)
{
	static const char *const cols[] = {"seq",   "time",         "operation",
	                                   "table", "before-image", "undo"};
	json_t *ws = json_object_get(m, "writes"), *x;
	size_t i;

	if (json_array_size(ws) == 0)
		return; /* shown only when records carry before-images */
	heading(w, 2, "writes", "Writes, their before-images and undo commands");
	table_begin(w, cols, 6);
	json_array_foreach(ws, i, x)
	{
		row_begin(w, NULL);
		cell(w, json_object_get(x, "seq"));
		cell(w, json_object_get(x, "ts"));
		cell(w, json_object_get(x, "op"));
		cell(w, json_object_get(x, "tables"));
		cell(w, json_object_get(x, "before_image"));
		cell(w, json_object_get(x, "undo"));
		row_end(w);
	}
	table_end(w);
}

static void capacity(writer *w, const report *r, json_t *m)
{
	json_t *cap = json_object_get(m, "capacity");

	heading(w, 2, "capacity", "Consumed capacity");
	if (w->html && w->rc == 0)
		w->rc = report_svg(r, w->out);
	para_begin(w, NULL);
	textf(w, "%.2f capacity units over %zu responses that reported it",
	      json_number_value(json_object_get(cap, "total")),
	      json_array_size(json_object_get(m, "capacity_points")));
	if (json_is_number(json_object_get(cap, "budget")))
		textf(w, "; budget %.2f", json_number_value(json_object_get(cap, "budget")));
	text(w, ".");
	para_end(w);
}

static void verification(writer *w, json_t *m)
{
	json_t *v = json_object_get(m, "verification"), *p;
	size_t i;

	heading(w, 2, "verification", "Audit verification");
	para_begin(w, json_is_true(json_object_get(v, "ok")) ? "ok" : "bad");
	if (!json_is_true(json_object_get(v, "done"))) {
		textf(w, "Not verified: %s.", txt_or(rep_str(v, "why"), "?"));
		para_end(w);
		return;
	}
	textf(w,
	      "%s: %lld records (seq %lld to %lld; %lld redacted, not the incident's), %lld "
	      "checkpoints (seq %lld to %lld), signed through seq %lld%s.",
	      json_is_true(json_object_get(v, "ok")) ? "Whole" : "BROKEN",
	      (long long)json_integer_value(json_object_get(v, "records")),
	      (long long)json_integer_value(json_object_get(v, "first_seq")),
	      (long long)json_integer_value(json_object_get(v, "last_seq")),
	      (long long)json_integer_value(json_object_get(v, "redacted")),
	      (long long)json_integer_value(json_object_get(v, "checkpoints")),
	      (long long)json_integer_value(json_object_get(v, "first_checkpoint")),
	      (long long)json_integer_value(json_object_get(v, "last_checkpoint")),
	      (long long)json_integer_value(json_object_get(v, "signed_seq")),
	      json_is_true(json_object_get(v, "partial")) ? " (a partial range)" : "");
	para_end(w);
	if (json_array_size(json_object_get(v, "problems")) == 0)
		return;
	list_begin(w);
	json_array_foreach(json_object_get(v, "problems"), i, p)
	{
		item_begin(w, "bad");
		textf(w, "seq %lld: %s: %s",
		      (long long)json_integer_value(json_object_get(p, "seq")),
		      txt_or(rep_str(p, "kind"), "?"), txt_or(rep_str(p, "message"), ""));
		item_end(w);
	}
	list_end(w);
}

static void learnings(writer *w)
{
	static const char *const prompts[] = {
	    "What happened, in two sentences?",
	    "How long from the alert to the first useful query, and what slowed it?",
	    "Was each query needed? Which runbook was missing or too narrow?",
	    "What do the denials and anomalies above say about the runbooks or the policy?",
	    "What changes (runbooks, alerts, capacity, policy), by whom, by when?",
	};
	size_t i;

	heading(w, 2, "learnings", "Learnings (to fill in)");
	list_begin(w);
	for (i = 0; i < sizeof(prompts) / sizeof(prompts[0]); i++) {
		item_begin(w, NULL);
		text(w, prompts[i]);
		item_end(w);
	}
	list_end(w);
}

static int document(const report *r, bg_buf *out, bool html)
{
	writer w = {out, html, 0};
	json_t *m = report_model(r);
	char title[256];

	snprintf(title, sizeof(title), "Post-incident report: %s",
	         txt_or(rep_str(m, "incident_id"), "?"));
	heading(&w, 1, "top", title);
	if (rep_str(m, "generated_at") != NULL) {
		para_begin(&w, "meta");
		text(&w, "Built from the audit trail alone at ");
		text(&w, rep_str(m, "generated_at"));
		text(&w, ".");
		para_end(&w);
	}
	summary(&w, m);
	anomalies(&w, m);
	timeline(&w, m);
	requests(&w, m);
	queries(&w, m);
	denials(&w, m);
	writes(&w, m);
	capacity(&w, r, m);
	verification(&w, m);
	learnings(&w);
	return out->failed != 0 ? out->failed : w.rc;
}

int report_md(const report *r, bg_buf *out)
{
	return document(r, out, false);
}

/* Inline: the file is read offline, on a phone (the tables scroll sideways in their own
 * box, the text wraps) and on paper (no scrolling boxes, rows kept whole). */
static const char css[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;"
    "padding:12px;max-width:1100px;color:#1f2328;background:#fff}"
    "h1{font-size:1.4em;word-break:break-word}h2{font-size:1.15em;margin-top:1.6em;"
    "border-bottom:1px solid #d0d7de}h3{font-size:1em}"
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}"
    "table{border-collapse:collapse;font-size:13px;min-width:100%}"
    "th,td{border:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top;"
    "word-break:break-word;max-width:28em}"
    "th{background:#f6f8fa;white-space:nowrap}tr.deny td{background:#ffebe9}tr.warn "
    "td{background:#fff8c5}"
    ".ok{color:#1a7f37}.bad{color:#d1242f;font-weight:600}.anomaly{color:#9a6700}"
    ".meta{color:#59636e;font-size:.9em}svg.chart{width:100%;max-width:640px;height:auto}"
    "@media (max-width:600px){body{font-size:14px;padding:8px}th,td{font-size:12px}}"
    "@media print{body{max-width:none;padding:0;font-size:11px}.scroll{overflow:visible}"
    "table{font-size:9px}tr,li{page-break-inside:avoid}h2{page-break-after:avoid}"
    "a{color:inherit;text-decoration:none}}";

int report_html(const report *r, bg_buf *out)
{
	json_t *m = report_model(r);
	int rc;

	rc = bg_buf_adds(out,
	                 "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	                 "<meta name=\"viewport\" content=\"width=device-width, "
	                 "initial-scale=1\">\n<title>Post-incident report: ");
	if (rc == 0)
		rc = report_html_esc(out, txt_or(rep_str(m, "incident_id"), "?"));
	if (rc == 0)
		rc = bg_buf_addf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
	if (rc == 0)
		rc = document(r, out, true);
	if (rc == 0)
		rc = bg_buf_adds(out, "</body>\n</html>\n");
	return rc;
}
