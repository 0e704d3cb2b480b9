/*
 * pattern.h - the regular expressions that files under review may carry (a runbook
 * parameter's `pattern`, the policy's ticket pattern): POSIX EREs (glibc regcomp), but only
 * those that compile in bounded time and memory.
 *
 * glibc's regcomp copies a subexpression for each repetition it expands, so a pattern of a
 * few hundred bytes can ask for gigabytes ("a++++...", "((a{1,255}){1,255}){1,255}"). A
 * pattern that validates an id or a ticket number needs none of that, so these are refused,
 * with a reason: more than BG_MAX_PATTERN bytes; a repetition directly after another ("a++",
 * "a*{2}"); a bound {m,n} on a parenthesised group, or above 255; groups nested deeper than
 * BG_MAX_PATTERN_DEPTH.
 */
#ifndef BG_PATTERN_H
#define BG_PATTERN_H

#include <regex.h>
#include <stdbool.h>

#include "common/err.h"

/* Checks pattern against the rules above and compiles it (REG_EXTENDED | REG_NOSUB), as
 * given or, with whole true, anchored to match the whole string ("^(PATTERN)$"). Returns 0
 * with *re compiled (regfree it), or BG_EINVAL with the reason in e (nothing to free). */
int bg_pattern_compile(regex_t *re, const char *pattern, bool whole, bg_err *e) BG_MUST_CHECK;

#endif
