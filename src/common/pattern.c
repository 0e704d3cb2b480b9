/*
 * pattern.c - see pattern.h. The check walks the ERE once, knowing just enough of its
 * grammar (escapes, bracket expressions, groups, the four repetition operators) to tell
 * what each operator applies to.
 */
#include "common/pattern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"

/* The end of the bracket expression starting at p[0] == '[' (the index of its ']'), or 0
 * when it is not closed. */
static size_t bracket_end(const char *p, size_t n)
{
	size_t i = 1;

	if (i < n && p[i] == '^')
		i++;
	if (i < n && p[i] == ']') /* a leading ']' is a member */
		i++;
	for (; i < n; i++) {
		if (p[i] == '[' && i + 1 < n &&
		    (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
			const char *close = strstr(p + i + 2, p[i + 1] == ':'   ? ":]"
			                                      : p[i + 1] == '.' ? ".]"
			                                                        : "=]");
			if (close == NULL || (size_t)(close - p) >= n)
				return 0;
			i = (size_t)(close - p) + 1;
		} else if (p[i] == ']') {
			return i;
		}
	}
	return 0;
}

/* Reads a bound "{m}", "{m,}" or "{m,n}" at p[0] == '{'; its length, or 0 when it is not
 * one. *max gets its largest count (m, or n; 0 for "{m,}", which has none). */
static size_t bound_read(const char *p, size_t n, long *max)
{
	size_t i = 1;
	long m = -1, k = -1;

	while (i < n && p[i] >= '0' && p[i] <= '9' && i < 6)
		m = (m < 0 ? 0 : m * 10) + (p[i++] - '0');
	if (m < 0)
		return 0;
	*max = m;
	if (i < n && p[i] == ',') {
		i++;
		while (i < n && p[i] >= '0' && p[i] <= '9' && i < 12)
			k = (k < 0 ? 0 : k * 10) + (p[i++] - '0');
		*max = k < 0 ? 0 : k;
	}
	return i < n && p[i] == '}' ? i + 1 : 0;
}

static int refuse(bg_err *e, const char *why)
{
	return bg_err_set(e, BG_EINVAL, "pattern refused: %s", why);
}

static int pattern_check(const char *p, bg_err *e)
{
	size_t n = strlen(p), i, len;
	int depth = 0;
	long max;
	/* What the next repetition operator would apply to: nothing (start, '|', '('), an
	 * atom, a closed group, or another repetition. */
	enum { NOTHING, ATOM, GROUP, REPEAT } prev = NOTHING;

	if (n > BG_MAX_PATTERN)
		return bg_err_set(e, BG_EINVAL, "pattern refused: longer than %d bytes",
		                  BG_MAX_PATTERN);
	for (i = 0; i < n; i++) {
		switch (p[i]) {
		case '\\':
			if (i + 1 == n)
				return refuse(e, "it ends with a backslash");
			i++;
			prev = ATOM;
			break;
		case '[':
			len = bracket_end(p + i, n - i);
			if (len == 0)
				return refuse(e, "a bracket expression is not closed");
			i += len;
			prev = ATOM;
			break;
		case '(':
			if (++depth > BG_MAX_PATTERN_DEPTH)
				return bg_err_set(e, BG_EINVAL,
				                  "pattern refused: groups nested deeper than %d",
				                  BG_MAX_PATTERN_DEPTH);
			prev = NOTHING;
			break;
		case ')':
			if (depth == 0)
				return refuse(e, "a ')' closes no group");
			depth--;
			prev = GROUP;
			break;
		case '|':
			prev = NOTHING;
			break;
		case '*':
		case '+':
		case '?':
			if (prev == REPEAT)
				return refuse(e,
				              "a repetition of a repetition (such as a++ or a*?)");
			prev = REPEAT;
			break;
		case '{':
			len = bound_read(p + i, n - i, &max);
			if (len == 0) {
				prev = ATOM; /* a literal '{' */
				break;
			}
			if (prev == REPEAT)
				return refuse(e, "a repetition of a repetition (such as a+{2})");
			if (prev == GROUP)
				return refuse(
				    e, "a bound {m,n} on a group: repeat a single character or "
				       "bracket expression instead");
			if (max > 255)
				return refuse(e, "a bound above 255");
			i += len - 1;
			prev = REPEAT;
			break;
		default:
			prev = ATOM;
		}
	}
	return 0;
}

int bg_pattern_compile(regex_t *re, const char *pattern, bool whole, bg_err *e)
{
	char buf[BG_MAX_PATTERN + 8], why[128];
	int rc = pattern_check(pattern, e);

	if (rc != 0)
		return rc;
	snprintf(buf, sizeof(buf), whole ? "^(%s)$" : "%s", pattern);
	rc = regcomp(re, buf, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, re, why, sizeof(why));
		return bg_err_set(e, BG_EINVAL, "not a valid POSIX ERE: %s", why);
	}
	return 0;
}
