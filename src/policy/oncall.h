/*
 * oncall.h - the on-call schedule named by the policy's requester_on_call check: who holds
 * each rotation at a given moment. Parsed from text (pure: no file, no clock; `now` is a
 * parameter), strictly, through common/ytree, every error naming its line.
 *
 * The file (docs/policy.md has the whole story):
 *
 *   # times are UTC (RFC 3339); a rotation hands over every `shift`
 *   rotations:
 *     - name: dynamodb-primary          # A-Z a-z 0-9 . _ -, unique
 *       start: 2026-01-05T09:00:00Z     # the first member's first shift begins
 *       shift: 7d                       # d, h, m, s: "7d", "12h", "1d12h"
 *       members: [alice, bob, carol]    # in turn: alice, bob, carol, alice, ...
 *   overrides:                          # optional
 *     - {user: dave, rotation: dynamodb-primary,
 *        from: 2026-12-24T00:00:00Z, until: 2026-12-27T00:00:00Z}
 *
 * Shift k (k = 0, 1, ...) runs from start + k * shift to start + (k + 1) * shift and belongs
 * to members[k mod n]. Before start a rotation has nobody (unless an override says so). An
 * override gives the rotation to its user from `from` (included) to `until` (excluded),
 * replacing whoever the turn would have given it; overrides of one rotation may not
 * overlap (which one would win is exactly what a reviewer cannot see). Time zones other than
 * UTC are refused: a schedule is read at night across regions.
 */
#ifndef BG_POLICY_ONCALL_H
#define BG_POLICY_ONCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct oncall oncall;

/* Who holds a rotation, and for which span (as far as the schedule says: the turn's end or
 * the next override's start, whichever comes first). */
typedef struct oncall_shift {
	const char *rotation; /* owned by the schedule */
	const char *user;     /* owned by the schedule */
	int64_t from, until;  /* Unix seconds; from <= now < until */
	bool override;        /* the span is an override */
} oncall_shift;

/* Parses len bytes of schedule YAML; name is the file's name for messages. Returns 0 with
 * *out (oncall_free), or BG_EINVAL with "NAME:LINE: what" in e, or BG_ENOMEM. */
int oncall_parse(const char *text, size_t len, const char *name, oncall **out,
                 bg_err *e) BG_MUST_CHECK;

/* Frees o (NULL is fine). */
void oncall_free(oncall *o);

size_t oncall_rotation_count(const oncall *o);
const char *oncall_rotation_name(const oncall *o, size_t i);
/* The index of the rotation called name into *i; false when there is none. */
bool oncall_rotation_find(const oncall *o, const char *name, size_t *i);

/* Who holds rotation i at now: 0 with *out, or BG_ENOTFOUND when nobody does (before its
 * start, outside any override). */
int oncall_rotation_who(const oncall *o, size_t i, int64_t now, oncall_shift *out) BG_MUST_CHECK;

/* Who is on call at now, one entry per rotation that has someone, in file order: at most cap
 * into out; returns how many there are (which may exceed cap). */
size_t oncall_who(const oncall *o, int64_t now, oncall_shift *out, size_t cap);

/* True when user holds some rotation at now. */
bool oncall_is_on_call(const oncall *o, const char *user, int64_t now);

#endif
