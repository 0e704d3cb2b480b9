/*
 * report.h - the post-incident report (issue 11, point 2): built from audit records
 * alone, rendered as markdown, HTML (one self-contained file with an SVG chart) or JSON.
 *
 * Pure: no store, no network, no file. The caller hands over the incident's export (the
 * records of the incident, the records between them redacted, and the checkpoints; what
 * `breakglass audit export --incident ID` writes) as a JSON array, and optionally the
 * audit public key; report_build() reads it into a model (a JSON object, the same one
 * the json format prints, docs/report.md) and the renderers turn the model into text.
 * Every string in the records may come from an attacker (alert titles, reasons, user
 * agents): the renderers escape all of them for their format.
 */
#ifndef BG_REPORT_H
#define BG_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/sigkey.h"
#include "common/buf.h"
#include "common/err.h"

typedef struct report report;

typedef struct report_opts {
	const char *incident; /* the incident's id (required) */
	/* The keys that verify the checkpoints (every key that has signed: a rotation
	 * leaves older checkpoints under the older key); none: the trail is not verified. */
	const sigkey *const *keys;
	size_t nkeys;
	/* The capacity budget of the incident's grants in capacity units; < 0: none known
	 * (a record's detail.budget, when one carries it, is used instead). */
	double budget;
	/* A query within this fraction of its grant's lifetime before the end is "near
	 * expiry" (0.1: the last tenth). */
	double near_expiry;
	const char *generated_at; /* RFC 3339, shown as when the report was made; NULL: omitted */
} report_opts;

/* Defaults: no key, no budget, near_expiry 0.1. */
void report_opts_init(report_opts *o);

/* Builds the model from records (a JSON array of record objects, borrowed; oldest
 * first, as an export has them; anything else in it is skipped). 0, or BG_EINVAL (no
 * incident id, not an array), BG_ELIMIT (more than BG_MAX_REPORT_RECORDS), BG_ENOMEM. */
int report_build(json_t *records, const report_opts *o, report **out, bg_err *e) BG_MUST_CHECK;

/* Frees r. Accepts NULL. */
void report_free(report *r);

/* The model (borrowed; valid until r is freed). */
json_t *report_model(const report *r);

/* Renderers: append the document to out (whose maximum bounds it). 0, or the append's
 * error (BG_ELIMIT, BG_ENOMEM). */
int report_md(const report *r, bg_buf *out) BG_MUST_CHECK;
int report_html(const report *r, bg_buf *out) BG_MUST_CHECK;
int report_json(const report *r, bg_buf *out) BG_MUST_CHECK;
/* The consumed-capacity chart alone: an <svg> element (also inside the HTML). */
int report_svg(const report *r, bg_buf *out) BG_MUST_CHECK;

/* Shared by the renderers (report_internal): text escaped for HTML (& < > " ') and for
 * markdown (also `*_[]|\ and line breaks). */
int report_html_esc(bg_buf *out, const char *s) BG_MUST_CHECK;
int report_md_esc(bg_buf *out, const char *s) BG_MUST_CHECK;

#endif
