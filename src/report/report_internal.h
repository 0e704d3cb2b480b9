/*
 * report_internal.h - what the report's builder and renderers share and nobody else
 * needs: reading the model's fields, times in milliseconds, number formatting.
 */
#ifndef BG_REPORT_INTERNAL_H
#define BG_REPORT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

/* o[k] as a C string; NULL when absent or not a string. */
const char *rep_str(json_t *o, const char *k);

/* True when o's "decision" is "deny". */
bool rep_is_deny(json_t *o);

/* An RFC 3339 UTC time with optional milliseconds, in ms since the epoch; 0 if not one. */
int64_t rep_ts_ms(const char *ts);

/* A JSON value as text for a table cell ("-" for null or absent; strings as they are,
 * reals with up to 2 decimals, anything else as compact JSON), escaped for HTML or
 * markdown. */
int rep_html_value(bg_buf *out, json_t *v) BG_MUST_CHECK;
int rep_md_value(bg_buf *out, json_t *v) BG_MUST_CHECK;

#endif
