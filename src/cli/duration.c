/*
 * duration.c - grant durations for the CLI (see duration.h for the grammar and why it
 * is strict).
 */
#include "cli/duration.h"

#include <stdio.h>

int cli_duration_parse(const char *s, int64_t max, int64_t *out, bg_err *e)
{
	static const struct {
		char unit;
		int64_t secs;
	} units[] = {{'h', 3600}, {'m', 60}, {'s', 1}};
	/* Cap each number well below overflow: 12 hours is the longest grant, and no
	 * sensible input has more digits than this. */
	const int64_t num_cap = 1000000000;
	int64_t total = 0, num;
	size_t next_unit = 0, k;
	const char *p = s;

	if (s == NULL || s[0] == '\0')
		return bg_err_set(e, BG_EINVAL, "empty duration (use e.g. 90s, 15m, 1h30m)");
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return bg_err_set(e, BG_EINVAL,
			                  "bad duration \"%s\" (use e.g. 90s, 15m, 1h30m)", s);
		num = 0;
		while (*p >= '0' && *p <= '9') {
			num = num * 10 + (*p - '0');
			if (num > num_cap)
				return bg_err_set(e, BG_ELIMIT, "duration \"%s\" is too long", s);
			p++;
		}
		for (k = next_unit; k < sizeof(units) / sizeof(units[0]); k++) {
			if (units[k].unit == *p)
				break;
		}
		if (k == sizeof(units) / sizeof(units[0]))
			return bg_err_set(
			    e, BG_EINVAL,
			    "bad duration \"%s\": each number needs a unit h, m or s, "
			    "in that order, each once",
			    s);
		total += num * units[k].secs;
		if (total > num_cap)
			return bg_err_set(e, BG_ELIMIT, "duration \"%s\" is too long", s);
		next_unit = k + 1;
		p++;
	}
	if (total == 0)
		return bg_err_set(e, BG_EINVAL, "duration \"%s\" is zero", s);
	if (total > max)
		return bg_err_set(e, BG_ELIMIT, "duration \"%s\" is longer than the maximum %lld s",
		                  s, (long long)max);
	*out = total;
	return 0;
}

void cli_duration_format(int64_t secs, char *out, size_t n)
{
	int64_t h, m, s;
	int len = 0;

	if (n == 0)
		return;
	out[0] = '\0';
	if (secs <= 0) {
		snprintf(out, n, "0s");
		return;
	}
	h = secs / 3600;
	m = (secs % 3600) / 60;
	s = secs % 60;
	if (h > 0)
		len += snprintf(out + len, n - (size_t)len, "%lldh", (long long)h);
	if (m > 0 && (size_t)len < n)
		len += snprintf(out + len, n - (size_t)len, "%lldm", (long long)m);
	if (s > 0 && (size_t)len < n)
		snprintf(out + len, n - (size_t)len, "%llds", (long long)s);
}
