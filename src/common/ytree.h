/*
 * ytree.h - a YAML document as a small tree with line numbers, read strictly: for the
 * files that decide what the gateway does (runbook templates, the serve config), where a
 * construct a reviewer can misread has no place.
 *
 * libyaml does the YAML; this module decides what of YAML those files may use and keeps
 * where everything came from, so every error can name its file and line. Refused, with the
 * line: anchors and aliases (a value defined in one place and used in another is exactly
 * what a reviewer misses), tags, control characters in a value, a key given twice, a key that is
 * not a plain scalar, more than one document, and anything beyond the size and depth limits
 * (limits.h). A scalar remembers whether it was plain (`true`, `25`) or quoted (`"true"`), so a
 * schema can tell a boolean from a string.
 */
#ifndef BG_COMMON_YTREE_H
#define BG_COMMON_YTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef enum ytree_kind { YTREE_SCALAR, YTREE_MAP, YTREE_SEQ } ytree_kind;

typedef struct ytree_node ytree_node;
struct ytree_node {
	ytree_kind kind;
	unsigned line;     /* 1-based */
	const char *text;  /* scalars: the value, NUL-terminated (no NUL inside) */
	size_t len;        /* scalars: strlen(text) */
	bool plain;        /* scalars: written without quotes */
	ytree_node **kids; /* maps: key, value, key, value...; sequences: the items */
	size_t n;          /* entries in kids */
};

typedef struct ytree ytree;

/* Parses len bytes of YAML (one document; an empty document is an empty map; at most
 * BG_MAX_YAML_FILE bytes). name is the file's name for messages. Returns 0 with *out (ytree_free),
 * or BG_EINVAL with "NAME:LINE: what" in e, or BG_ENOMEM. */
int ytree_parse(const char *text, size_t len, const char *name, ytree **out,
                bg_err *e) BG_MUST_CHECK;

void ytree_free(ytree *t);

/* The document's root node (a map, sequence or scalar). */
const ytree_node *ytree_root(const ytree *t);

/* In map m, the value of key (NULL when absent or m is not a map). */
const ytree_node *ytree_get(const ytree_node *m, const char *key);

/* Map entries: the i-th key and value (i < ytree_map_size). */
size_t ytree_map_size(const ytree_node *m);
const ytree_node *ytree_map_key(const ytree_node *m, size_t i);
const ytree_node *ytree_map_value(const ytree_node *m, size_t i);

/* The kind in words ("a mapping", "a list", "a scalar"), for messages. */
const char *ytree_kind_name(ytree_kind k);

#endif
