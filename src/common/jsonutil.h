/*
 * jsonutil.h - the two steps every JSON answer is built from (jansson): set a member that
 * may have failed to allocate, and set a time as RFC 3339 text. Shared so that every
 * answer spells times the same way.
 */
#ifndef BG_JSONUTIL_H
#define BG_JSONUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Sets o[key] = v, taking v's reference; false when v is NULL (an allocation failed) or
 * the set fails. */
bool bg_json_set(json_t *o, const char *key, json_t *v);

/* Sets o[key] to t (Unix seconds) as RFC 3339 UTC text, or to null when t is 0 and
 * zero_null is true. */
bool bg_json_set_time(json_t *o, const char *key, int64_t t, bool zero_null);

#endif
