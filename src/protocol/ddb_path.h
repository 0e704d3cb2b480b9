/*
 * ddb_path.h - a path of attribute names into a DynamoDB item (`card.last4`: the attribute
 * last4 inside the map attribute card), as a runbook's `mask:` writes it.
 *
 * A subset of DynamoDB's document paths: map steps only, no list indexes and no quoting,
 * so a path is plain enough to review and to check against tables.yaml. The runbook reader
 * parses it (runbook/) and the masking walks it (policy/mask.h); it lives here, below
 * both, because it describes DynamoDB's item shape and not either use of it.
 */
#ifndef BG_PROTOCOL_DDB_PATH_H
#define BG_PROTOCOL_DDB_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"

/* One parsed path: the text as written and where each attribute name lies in it. */
typedef struct ddb_path {
	char text[BG_MAX_MASK_PATH + 1];
	uint16_t off[BG_MAX_MASK_DEPTH];
	uint16_t len[BG_MAX_MASK_DEPTH];
	size_t depth; /* attribute names in the path, 1 to BG_MAX_MASK_DEPTH */
} ddb_path;

/*
 * Parses text (len bytes, not NUL-terminated) into *out: 1 to BG_MAX_MASK_DEPTH names of
 * 1 to BG_MAX_MASK_SEGMENT characters of A-Z a-z 0-9 _ -, joined by single dots, at most
 * BG_MAX_MASK_PATH bytes in all. Returns 0, or BG_EINVAL with a message saying what is
 * wrong (quoting at most 64 bytes of the text).
 */
int ddb_path_parse(const char *text, size_t len, ddb_path *out, bg_err *e) BG_MUST_CHECK;

/* The i-th attribute name of p (len bytes into *n, not NUL-terminated). */
const char *ddb_path_segment(const ddb_path *p, size_t i, size_t *n);

#endif
