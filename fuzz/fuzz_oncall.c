/*
 * fuzz_oncall.c - libFuzzer target for the on-call schedule: any bytes give either a
 * schedule or one error "fuzz.yaml:LINE: ...", never a crash, leak or read past the input.
 * A schedule that loads answers at any time, the extremes included, with a holder whose
 * span contains that time, consistently across its three ways of asking.
 */
#include <string.h>

#include "fuzz.h"
#include "policy/oncall.h"

static void ask(const oncall *o, int64_t now)
{
	oncall_shift s[8], one;
	size_t i, n = oncall_who(o, now, s, 8);

	CHECK(n <= oncall_rotation_count(o));
	for (i = 0; i < n && i < 8; i++) {
		CHECK(s[i].user != NULL && s[i].rotation != NULL);
		CHECK(s[i].from <= now && (now < s[i].until || s[i].until == INT64_MAX));
		CHECK(oncall_is_on_call(o, s[i].user, now));
	}
	for (i = 0; i < oncall_rotation_count(o); i++) {
		if (oncall_rotation_who(o, i, now, &one) == 0)
			CHECK(strcmp(one.rotation, oncall_rotation_name(o, i)) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t times[] = {INT64_MIN,  -1,           0,        1767225600, 1798761600,
	                                1830297600, 253402300799, INT64_MAX};
	oncall *o = NULL;
	bg_err e;
	size_t i;

	if (oncall_parse((const char *)data, size, "fuzz.yaml", &o, &e) != 0) {
		CHECK(o == NULL);
		CHECK(e.code == BG_ENOMEM || strncmp(e.msg, "fuzz.yaml:", 10) == 0);
		return 0;
	}
	CHECK(oncall_rotation_count(o) > 0);
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		ask(o, times[i]);
	/* And a time the input chooses (its last 8 bytes). */
	if (size >= 8) {
		int64_t t;
		memcpy(&t, data + size - 8, 8);
		ask(o, t);
	}
	oncall_free(o);
	return 0;
}
