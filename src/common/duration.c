/*
 * duration.c - strict durations (see duration.h for the grammar and why it is strict).
 */
#include "common/duration.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The grammar, in milliseconds; allow_days admits the d unit (before h), allow_ms the ms
 * unit (after s). */
static int parse(const char *s, bool allow_days, bool allow_ms, int64_t max_ms, int64_t *out,
                 bg_err *e)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
	/* Cap each number, and the total in seconds, well below overflow: 12 hours is the
	 * longest grant, and no sensible input has more digits than this. */
	const int64_t num_cap = 1000000000, total_cap = num_cap * 1000;
	const char *hint = allow_ms     ? "use e.g. 500ms, 10s, 2m"
	                   : allow_days ? "use e.g. 7d, 24h, 15m"
	                                : "use e.g. 90s, 15m, 1h30m";
	size_t n_units = allow_ms ? 5 : 4, first_unit = allow_days ? 0 : 1, next_unit = first_unit,
	       k;
	int64_t total = 0, num;
	const char *p = s;

	if (s == NULL || s[0] == '\0')
		return bg_err_set(e, BG_EINVAL, "empty duration (%s)", hint);
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return bg_err_set(e, BG_EINVAL, "bad duration \"%s\" (%s)", s, hint);
		num = 0;
		while (*p >= '0' && *p <= '9') {
			num = num * 10 + (*p - '0');
			if (num > num_cap)
				return bg_err_set(e, BG_ELIMIT, "duration \"%s\" is too long", s);
			p++;
		}
		/* The longest unit that matches here ("ms" before "m"), in order. */
		for (k = n_units; k-- > next_unit;)
			if (strncmp(p, units[k].unit, strlen(units[k].unit)) == 0 &&
			    (p[strlen(units[k].unit)] < 'a' || p[strlen(units[k].unit)] > 'z'))
				break;
		if (k == (size_t)-1 || k < next_unit)
			return bg_err_set(e, BG_EINVAL,
			                  "bad duration \"%s\": each number needs a unit %s, "
			                  "in that order, each once",
			                  s,
			                  allow_ms     ? "h, m, s or ms"
			                  : allow_days ? "d, h, m or s"
			                               : "h, m or s");
		total += num * units[k].ms;
		if (total > total_cap)
			return bg_err_set(e, BG_ELIMIT, "duration \"%s\" is too long", s);
		next_unit = k + 1;
		p += strlen(units[k].unit);
	}
	if (total == 0)
		return bg_err_set(e, BG_EINVAL, "duration \"%s\" is zero", s);
	if (total > max_ms)
		return bg_err_set(e, BG_ELIMIT,
		                  "duration \"%s\" is longer than the maximum %lld ms", s,
		                  (long long)max_ms);
	*out = total;
	return 0;
}

int bg_duration_parse(const char *s, int64_t max, int64_t *out, bg_err *e)
{
	int64_t ms = 0;
	int rc = parse(s, false, false, max > INT64_MAX / 1000 ? INT64_MAX : max * 1000, &ms, e);

	if (rc == 0)
		*out = ms / 1000;
	return rc;
}

int bg_duration_parse_days(const char *s, int64_t max, int64_t *out, bg_err *e)
{
	int64_t ms = 0;
	int rc = parse(s, true, false, max > INT64_MAX / 1000 ? INT64_MAX : max * 1000, &ms, e);

	if (rc == 0)
		*out = ms / 1000;
	return rc;
}

int bg_duration_parse_ms(const char *s, int64_t max_ms, int64_t *out, bg_err *e)
{
	return parse(s, false, true, max_ms, out, e);
}

void bg_duration_format(int64_t secs, char *out, size_t n)
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
