/*
 * ddb_path.c - parsing an attribute path (see ddb_path.h). Every byte is checked against
 * the name alphabet and every limit from limits.h before the text is kept, and a rejected
 * path leaves *out empty (zeroed), so a caller cannot walk half of one.
 */
#include "protocol/ddb_path.h"

#include <stdbool.h>
#include <string.h>

static bool name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static int parse(const char *text, size_t len, ddb_path *out, bg_err *e);

int ddb_path_parse(const char *text, size_t len, ddb_path *out, bg_err *e)
{
	int rc = parse(text, len, out, e);

	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

static int parse(const char *text, size_t len, ddb_path *out, bg_err *e)
{
	size_t i, start = 0;
	int q = len > 64 ? 64 : (int)len;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return bg_err_set(e, BG_EINVAL, "a mask path is empty");
	if (len > BG_MAX_MASK_PATH)
		return bg_err_set(e, BG_EINVAL, "mask path '%.*s...' is longer than %d bytes", q,
		                  text, BG_MAX_MASK_PATH);
	for (i = 0; i <= len; i++) {
		if (i < len && text[i] != '.') {
			if (!name_char(text[i]))
				return bg_err_set(e, BG_EINVAL,
				                  "mask path '%.*s': attribute names are A-Z a-z "
				                  "0-9 _ - joined by '.'",
				                  q, text);
			continue;
		}
		if (i == start)
			return bg_err_set(
			    e, BG_EINVAL,
			    "mask path '%.*s' has an empty attribute name (a leading, "
			    "trailing or doubled '.')",
			    q, text);
		if (i - start > BG_MAX_MASK_SEGMENT)
			return bg_err_set(e, BG_EINVAL,
			                  "mask path '%.*s': an attribute name is longer than %d "
			                  "bytes",
			                  q, text, BG_MAX_MASK_SEGMENT);
		if (out->depth == BG_MAX_MASK_DEPTH)
			return bg_err_set(e, BG_EINVAL,
			                  "mask path '%.*s' is deeper than %d attribute names", q,
			                  text, BG_MAX_MASK_DEPTH);
		out->off[out->depth] = (uint16_t)start;
		out->len[out->depth] = (uint16_t)(i - start);
		out->depth++;
		start = i + 1;
	}
	memcpy(out->text, text, len);
	out->text[len] = '\0';
	return 0;
}

const char *ddb_path_segment(const ddb_path *p, size_t i, size_t *n)
{
	*n = p->len[i];
	return p->text + p->off[i];
}
