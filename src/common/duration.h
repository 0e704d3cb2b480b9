/*
 * duration.h - strict parsing and printing of durations: grant lifetimes ("90s", "15m",
 * "1h30m") and the gateway's timeouts ("500ms", "10s", "2m").
 *
 * A break-glass grant's lifetime is typed by a tired human at night, so the grammar is
 * deliberately narrow: one or more <digits><unit> groups, units h, m, s (and ms where
 * allowed), each at most once and in that order, no spaces, no signs, no bare numbers
 * (is "15" minutes or seconds?).
 * Anything else is a usage error rather than a guess.
 */
#ifndef BG_DURATION_H
#define BG_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Parses s into *out seconds, which must be in 1..max. Returns 0, or BG_EINVAL (malformed
 * or zero) or BG_ELIMIT (above max) with a reason in e; *out is untouched on failure. */
int bg_duration_parse(const char *s, int64_t max, int64_t *out, bg_err *e) BG_MUST_CHECK;

/* The same grammar with a first unit "d" (days: "7d", "1d12h"), into *out seconds in
 * 1..max. For schedules and deadlines, which are counted in days. */
int bg_duration_parse_days(const char *s, int64_t max, int64_t *out, bg_err *e) BG_MUST_CHECK;

/* The same grammar with a last unit "ms" ("1s500ms", "250ms"), into *out milliseconds in
 * 1..max_ms. For the gateway's timeouts. */
int bg_duration_parse_ms(const char *s, int64_t max_ms, int64_t *out, bg_err *e) BG_MUST_CHECK;

/* Writes secs as "1h30m", "15m", "45s", "0s" into out (size n, at least 24 bytes). */
void bg_duration_format(int64_t secs, char *out, size_t n);

#endif
