/*
 * yschema.h - reading typed values out of a ytree (common/ytree.h) for the strict files:
 * runbook templates, the policy file, the on-call schedule.
 *
 * Each reader checks one node and either stores its value or fails with BG_EINVAL and a
 * message that names the key but no file or line: the caller places it (at the node's
 * line), so a reader serves both the runbook linter, which collects every problem, and
 * the policy loader, which stops at the first. Messages never quote more than a short
 * prefix of the value.
 */
#ifndef BG_COMMON_YSCHEMA_H
#define BG_COMMON_YSCHEMA_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/ytree.h"

/* A non-empty scalar: *out points into the tree. "KEY must be a single value, not a list",
 * "KEY is empty". */
int ys_text(const ytree_node *v, const char *key, const char **out, bg_err *e) BG_MUST_CHECK;

/* A whole number in [min, max] written plain (`25`, not `"25"`). */
int ys_int(const ytree_node *v, const char *key, int64_t min, int64_t max, int64_t *out,
           bg_err *e) BG_MUST_CHECK;

/* Plain true or false. */
int ys_bool(const ytree_node *v, const char *key, bool *out, bg_err *e) BG_MUST_CHECK;

/* A duration in common/duration.h's grammar with days allowed ("15m", "24h", "7d"), into
 * seconds in 1..max. */
int ys_duration(const ytree_node *v, const char *key, int64_t max, int64_t *out,
                bg_err *e) BG_MUST_CHECK;

/* A POSIX extended regular expression that common/pattern.h accepts, compiled anchored (the whole
 * value must match, whatever the author wrote: "^(PATTERN)$") with REG_EXTENDED | REG_NOSUB into
 * *re, which the caller regfree()s after success only. *text receives the pattern as written. */
int ys_regex(const ytree_node *v, const char *key, regex_t *re, const char **text,
             bg_err *e) BG_MUST_CHECK;

/* In map m, the first key that is not in known (a NULL-terminated list), or NULL. */
const ytree_node *ys_unknown_key(const ytree_node *m, const char *const *known);

/* known (NULL-terminated) as "a, b, c" into out (size n), for "unknown key" messages. */
void ys_known_list(const char *const *known, char *out, size_t n);

/* Checks that m is a map whose keys are all in known: BG_EINVAL with "unknown key 'x' in
 * WHAT (a, b, c)" and *where set to the line of the offending node otherwise. */
int ys_map_keys(const ytree_node *m, const char *what, const char *const *known, unsigned *where,
                bg_err *e) BG_MUST_CHECK;

/* A file being read by a loader that stops at its first problem (the policy, the on-call
 * schedule): its name for messages, and where the problem goes. */
typedef struct ys_file {
	const char *name;
	bg_err *e;
} ys_file;

/* Records "NAME:LINE: what" in f->e; returns BG_EINVAL. */
int ys_fail(const ys_file *f, unsigned line, const char *fmt, ...) BG_PRINTF(3, 4);

/* A reader's result placed at line: 0 when rc is 0; otherwise why's message as "NAME:LINE:
 * ..." in f->e (BG_ENOMEM as it is), and rc. For `return ys_at(f, v->line, ys_int(..., &why),
 * &why);`. */
int ys_at(const ys_file *f, unsigned line, int rc, const bg_err *why);

/* ys_map_keys, its problem placed in f. */
int ys_check_keys(const ys_file *f, const ytree_node *m, const char *what,
                  const char *const *known) BG_MUST_CHECK;

#endif
