/*
 * clock.h - wall-clock time and its RFC 3339 form.
 *
 * Grants, TOTP and SigV4 all reason in Unix seconds; people read RFC 3339 UTC. There is
 * deliberately no way to fake the clock from outside: a gateway whose notion of time an
 * environment variable could move would let expired credentials live again.
 */
#ifndef BG_CLOCK_H
#define BG_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Seconds since the epoch. */
int64_t bg_now(void);

/* Milliseconds since the epoch. */
int64_t bg_now_ms(void);

/* Milliseconds of a clock that never goes back (CLOCK_MONOTONIC), for intervals. */
int64_t bg_mono_ms(void);
/* The same clock in microseconds, for latencies. */
int64_t bg_mono_us(void);

/* "2026-11-24T03:27:00Z" and a NUL. */
#define BG_RFC3339_SIZE 21

/* Formats t as "2026-11-24T03:27:00Z" into out. */
void bg_rfc3339(int64_t t, char out[BG_RFC3339_SIZE]);

/* Parses an RFC 3339 UTC time as AWS and people write it: YYYY-MM-DDTHH:MM:SS, an optional
 * fraction (dropped), then Z or +00:00 (n bytes, not NUL-terminated). Pure: no clock read.
 * Returns 0 with *t in Unix seconds, or BG_EINVAL. */
int bg_rfc3339_parse(const char *s, size_t n, int64_t *t) BG_MUST_CHECK;

#endif
