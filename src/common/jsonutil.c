/*
 * jsonutil.c - see jsonutil.h.
 */
#include "common/jsonutil.h"

#include "common/clock.h"

bool bg_json_set(json_t *o, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(o, key, v) == 0;
}

bool bg_json_set_time(json_t *o, const char *key, int64_t t, bool zero_null)
{
	char ts[BG_RFC3339_SIZE];

	if (t == 0 && zero_null)
		return bg_json_set(o, key, json_null());
	bg_rfc3339(t, ts);
	return bg_json_set(o, key, json_string(ts));
}
