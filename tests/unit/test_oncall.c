/*
 * test_oncall.c - the on-call schedule: who holds a rotation across hand-overs (the exact
 * second of a hand-over belongs to the next member), before the start, through an
 * override (which cuts the turn it falls into, before and after), several rotations at
 * once; and each mistake in the file refused with its line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "policy/oncall.h"

static const char schedule[] =
    "# times are UTC (RFC 3339); a rotation hands over every `shift`\n"
    "rotations:\n"
    "  - name: dynamodb-primary\n"
    "    start: 2026-01-05T09:00:00Z\n"
    "    shift: 7d\n"
    "    members: [alice, bob, carol]\n"
    "  - name: dynamodb-secondary\n"
    "    start: 2026-01-05T09:00:00Z\n"
    "    shift: 12h\n"
    "    members: [erin, frank]\n"
    "overrides:\n"
    "  - {user: dave, from: 2026-12-24T00:00:00Z, until: 2026-12-27T00:00:00Z, "
    "rotation: dynamodb-primary}\n";

static int64_t T(const char *s)
{
	int64_t t = 0;

	assert_int_equal(bg_rfc3339_parse(s, strlen(s), &t), 0);
	return t;
}

static oncall *load(const char *text, bg_err *e)
{
	oncall *o = NULL;

	if (oncall_parse(text, strlen(text), "oncall.yaml", &o, e) != 0)
		return NULL;
	return o;
}

/* The holder of rotation i at when, and the span. */
static void holds(const oncall *o, size_t i, const char *when, const char *user, const char *from,
                  const char *until, bool override)
{
	oncall_shift s;

	assert_int_equal(oncall_rotation_who(o, i, T(when), &s), 0);
	assert_string_equal(s.user, user);
	assert_string_equal(s.rotation, oncall_rotation_name(o, i));
	assert_int_equal(s.from, T(from));
	assert_int_equal(s.until, T(until));
	assert_int_equal(s.override, override);
}

static void test_rotation(void **state)
{
	oncall_shift s[4];
	oncall *o;
	size_t i;
	bg_err e;

	(void)state;
	o = load(schedule, &e);
	if (o == NULL)
		fail_msg("%s", e.msg);
	assert_int_equal(oncall_rotation_count(o), 2);
	assert_true(oncall_rotation_find(o, "dynamodb-secondary", &i));
	assert_int_equal(i, 1);
	assert_false(oncall_rotation_find(o, "nope", &i));
	assert_null(oncall_rotation_name(o, 2));

	/* Before the start: nobody. */
	assert_int_equal(oncall_rotation_who(o, 0, T("2026-01-05T08:59:59Z"), &s[0]), BG_ENOTFOUND);
	assert_false(oncall_is_on_call(o, "alice", T("2026-01-05T08:59:59Z")));
	assert_int_equal(oncall_who(o, T("2026-01-01T00:00:00Z"), s, 4), 0);
	/* The first shift, and the hand-overs: the second of a hand-over is the next one's. */
	holds(o, 0, "2026-01-05T09:00:00Z", "alice", "2026-01-05T09:00:00Z", "2026-01-12T09:00:00Z",
	      false);
	holds(o, 0, "2026-01-12T08:59:59Z", "alice", "2026-01-05T09:00:00Z", "2026-01-12T09:00:00Z",
	      false);
	holds(o, 0, "2026-01-12T09:00:00Z", "bob", "2026-01-12T09:00:00Z", "2026-01-19T09:00:00Z",
	      false);
	holds(o, 0, "2026-01-19T09:00:00Z", "carol", "2026-01-19T09:00:00Z", "2026-01-26T09:00:00Z",
	      false);
	holds(o, 0, "2026-01-26T09:00:00Z", "alice", "2026-01-26T09:00:00Z", "2026-02-02T09:00:00Z",
	      false);
	/* Week 48 (from 2026-11-30) is 47 turns on: 47 mod 3 = 2, carol; then alice. */
	holds(o, 0, "2026-12-03T12:00:00Z", "carol", "2026-11-30T09:00:00Z", "2026-12-07T09:00:00Z",
	      false);
	holds(o, 1, "2026-01-05T21:00:00Z", "frank", "2026-01-05T21:00:00Z", "2026-01-06T09:00:00Z",
	      false);
	holds(o, 1, "2026-01-06T09:00:00Z", "erin", "2026-01-06T09:00:00Z", "2026-01-06T21:00:00Z",
	      false);
	/* Both rotations at once. */
	assert_int_equal(oncall_who(o, T("2026-01-05T21:00:00Z"), s, 4), 2);
	assert_string_equal(s[0].user, "alice");
	assert_string_equal(s[1].user, "frank");
	assert_int_equal(oncall_who(o, T("2026-01-05T21:00:00Z"), s, 1), 2); /* counts past cap */
	assert_true(oncall_is_on_call(o, "frank", T("2026-01-05T21:00:00Z")));
	assert_true(oncall_is_on_call(o, "alice", T("2026-01-05T21:00:00Z")));
	assert_false(oncall_is_on_call(o, "bob", T("2026-01-05T21:00:00Z")));
	assert_false(oncall_is_on_call(o, "Alice", T("2026-01-05T21:00:00Z")));
	oncall_free(o);
	oncall_free(NULL);
}

static void test_overrides(void **state)
{
	oncall *o;
	bg_err e;

	(void)state;
	o = load(schedule, &e);
	assert_non_null(o);
	/* The week of 2026-12-21 is 50 turns on: 50 mod 3 = 2, carol. Dave takes the 24th to
	 * the 27th: carol's turn is cut on both sides of it. */
	holds(o, 0, "2026-12-22T10:00:00Z", "carol", "2026-12-21T09:00:00Z", "2026-12-24T00:00:00Z",
	      false);
	holds(o, 0, "2026-12-24T00:00:00Z", "dave", "2026-12-24T00:00:00Z", "2026-12-27T00:00:00Z",
	      true);
	holds(o, 0, "2026-12-26T23:59:59Z", "dave", "2026-12-24T00:00:00Z", "2026-12-27T00:00:00Z",
	      true);
	holds(o, 0, "2026-12-27T00:00:00Z", "carol", "2026-12-27T00:00:00Z", "2026-12-28T09:00:00Z",
	      false);
	assert_true(oncall_is_on_call(o, "dave", T("2026-12-25T12:00:00Z")));
	assert_false(oncall_is_on_call(o, "carol", T("2026-12-25T12:00:00Z")));
	/* The other rotation is untouched. */
	assert_true(oncall_is_on_call(o, "erin", T("2026-12-25T12:00:00Z")) ||
	            oncall_is_on_call(o, "frank", T("2026-12-25T12:00:00Z")));
	assert_false(oncall_is_on_call(o, "dave", T("2026-12-27T00:00:00Z")));
	oncall_free(o);

	/* An override before the rotation starts still gives it to someone. */
	o = load("rotations:\n"
	         "  - {name: r, start: 2026-02-01T00:00:00Z, shift: 1d, members: [a]}\n"
	         "overrides:\n"
	         "  - {user: z, rotation: r, from: 2026-01-31T00:00:00Z, until: "
	         "2026-02-01T06:00:00Z}\n",
	         &e);
	if (o == NULL)
		fail_msg("%s", e.msg);
	holds(o, 0, "2026-01-31T12:00:00Z", "z", "2026-01-31T00:00:00Z", "2026-02-01T06:00:00Z",
	      true);
	holds(o, 0, "2026-02-01T06:00:00Z", "a", "2026-02-01T06:00:00Z", "2026-02-02T00:00:00Z",
	      false);
	assert_false(oncall_is_on_call(o, "z", T("2026-01-30T12:00:00Z")));
	oncall_free(o);
}

/* text must be refused on line with want in the message. */
static void refused(const char *text, unsigned line, const char *want)
{
	char prefix[64];
	oncall *o = NULL;
	bg_err e;

	if (oncall_parse(text, strlen(text), "oncall.yaml", &o, &e) == 0) {
		oncall_free(o);
		fail_msg("accepted: %s", text);
	}
	snprintf(prefix, sizeof(prefix), "oncall.yaml:%u: ", line);
	if (strncmp(e.msg, prefix, strlen(prefix)) != 0 || strstr(e.msg, want) == NULL)
		fail_msg("want \"%s%s\", got \"%s\"", prefix, want, e.msg);
}

static void test_errors(void **state)
{
	const char *rot = "rotations:\n  - {name: r, start: 2026-01-01T00:00:00Z, shift: 1d, "
	                  "members: [a, b]}\n";
	char text[1024];

	(void)state;
	refused("", 1, "rotations must be a list of 1 to 64");
	refused("rotations: []\n", 1, "rotations must be a list");
	refused("rotations:\n  - name: r\n    start: 2026-01-01T00:00:00Z\n    shift: 1d\n"
	        "    members: [a]\n    timezone: Europe/Paris\n",
	        6, "unknown key 'timezone' in a rotation");
	refused("rotations:\n  - {name: r, start: 2026-01-01T00:00:00+01:00, shift: 1d, "
	        "members: [a]}\n",
	        2, "start '2026-01-01T00:00:00+01:00' is not an RFC 3339 UTC time");
	refused("rotations:\n  - {name: r, start: 2026-01-01, shift: 1d, members: [a]}\n", 2,
	        "not an RFC 3339");
	refused("rotations:\n  - {name: r, start: 2026-01-01T00:00:00Z, shift: 7, members: [a]}\n",
	        2, "shift: bad duration");
	refused("rotations:\n  - {name: r, start: 2026-01-01T00:00:00Z, shift: 93d, "
	        "members: [a]}\n",
	        2, "shift: duration");
	refused("rotations:\n  - {name: r, start: 2026-01-01T00:00:00Z, shift: 1d, members: []}\n",
	        2, "members must be a list of 1 to 64 user names");
	refused("rotations:\n  - name: r\n    start: 2026-01-01T00:00:00Z\n    shift: 1d\n"
	        "    members:\n      - alice\n      - \"bob smith\"\n",
	        7, "member 'bob smith'");
	refused("rotations:\n  - {start: 2026-01-01T00:00:00Z, shift: 1d, members: [a]}\n", 2,
	        "a rotation needs name");
	refused("rotations:\n  - {name: r, shift: 1d, members: [a]}\n", 2, "r needs start");
	refused("rotations:\n  - {name: r, start: 2026-01-01T00:00:00Z, shift: 1d, members: [a]}\n"
	        "  - {name: r, start: 2026-01-01T00:00:00Z, shift: 1d, members: [b]}\n",
	        3, "rotation r is defined twice (first on line 2)");
	snprintf(text, sizeof(text),
	         "%soverrides:\n  - {user: c, rotation: s, from: 2026-01-02T00:00:00Z, "
	         "until: 2026-01-03T00:00:00Z}\n",
	         rot);
	refused(text, 4, "no rotation called 's'");
	snprintf(text, sizeof(text),
	         "%soverrides:\n  - {user: c, rotation: r, from: 2026-01-03T00:00:00Z, "
	         "until: 2026-01-03T00:00:00Z}\n",
	         rot);
	refused(text, 4, "until must be after from");
	snprintf(text, sizeof(text),
	         "%soverrides:\n"
	         "  - {user: c, rotation: r, from: 2026-01-02T00:00:00Z, until: "
	         "2026-01-04T00:00:00Z}\n"
	         "  - {user: d, rotation: r, from: 2026-01-03T00:00:00Z, until: "
	         "2026-01-05T00:00:00Z}\n",
	         rot);
	refused(text, 5, "override overlaps the one on line 4 in rotation r");
	snprintf(text, sizeof(text),
	         "%soverrides:\n  - {user: c, from: 2026-01-02T00:00:00Z, until: "
	         "2026-01-03T00:00:00Z}\n",
	         rot);
	refused(text, 4, "an override needs rotation");
	refused("rotations:\n  - {name: r, start: &s 2026-01-01T00:00:00Z, shift: 1d, "
	        "members: [a]}\n",
	        2, "anchors");
	refused("rotation: []\n", 1, "unknown key 'rotation' in the schedule");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rotation),
	    cmocka_unit_test(test_overrides),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
