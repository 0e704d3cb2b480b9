/*
 * validate.c - naming and range rules (see validate.h).
 */
#include "common/validate.h"

#include <string.h>

#include "common/limits.h"

bool bg_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* n bytes at s, n in [min, max], all name characters. */
static bool name_span(const char *s, size_t n, size_t min, size_t max)
{
	size_t i;

	if (s == NULL || n < min || n > max)
		return false;
	for (i = 0; i < n; i++)
		if (!bg_name_char((unsigned char)s[i]))
			return false;
	return true;
}

bool bg_valid_table_name(const char *s, size_t n)
{
	return name_span(s, n, 3, BG_MAX_TABLE_NAME);
}

bool bg_valid_id(const char *s, size_t max)
{
	/* strnlen stops one past max, so a longer string is refused without reading it all. */
	return s != NULL && name_span(s, strnlen(s, max + 1), 1, max);
}

_Static_assert(BG_MAX_USER_NAME == 64, "BG_USER_NAME_RULE names the limit: update it");

bool bg_valid_user_name(const char *s)
{
	return bg_valid_id(s, BG_MAX_USER_NAME);
}

bool bg_valid_op_name(const char *s, size_t n)
{
	size_t i;

	if (s == NULL || n == 0 || n > BG_MAX_OP_NAME || s[0] < 'A' || s[0] > 'Z')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
			return false;
	return true;
}

bool bg_valid_grant_seconds(int64_t secs)
{
	return secs >= 1 && secs <= BG_MAX_GRANT_SECONDS;
}
