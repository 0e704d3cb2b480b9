/*
 * clock.c - wall-clock time (see clock.h).
 */
#include "clock.h"

#include <stdio.h>
#include <time.h>

int64_t bg_now(void)
{
	return (int64_t)time(NULL);
}

int64_t bg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bg_rfc3339(int64_t t, char out[BG_RFC3339_SIZE])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, BG_RFC3339_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, BG_RFC3339_SIZE, "1970-01-01T00:00:00Z");
}
