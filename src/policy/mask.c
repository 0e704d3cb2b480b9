/*
 * mask.c - masking a runbook's attributes in an answer (see mask.h).
 *
 * The walk follows a path only through maps ({"M": {...}} with nothing beside "M"), so a
 * value of an unexpected shape is left alone rather than guessed at; what it replaces is
 * always a whole attribute value, so no part of the plain value survives beside the marker.
 */
#include "policy/mask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/buf.h"

/* The marker that replaces av: plain, or with the keyed hash of av's canonical JSON. */
static json_t *marker(const json_t *av, const uint8_t *key, bg_err *e)
{
	char text[sizeof(MASK_MARKER_PREFIX) + 64 + sizeof(MASK_MARKER_SUFFIX)];
	uint8_t h[BG_SHA256_LEN];
	char hex[65];
	char *canon;
	json_t *m;
	int rc;

	if (key == NULL) {
		m = json_pack("{s:s}", "S", MASK_MARKER);
		if (m == NULL)
			bg_err_set(e, BG_ENOMEM, "out of memory while masking");
		return m;
	}
	canon = json_dumps(av, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (canon == NULL) {
		bg_err_set(e, BG_ENOMEM, "out of memory while masking");
		return NULL;
	}
	rc = bg_hmac_sha256_raw(key, MASK_KEY_LEN, canon, strlen(canon), h);
	free(canon);
	if (rc != 0) {
		bg_err_set(e, BG_EIO, "the masking hash could not be computed");
		return NULL;
	}
	bg_hex(h, sizeof(h), hex);
	snprintf(text, sizeof(text), "%s%.*s%s", MASK_MARKER_PREFIX, BG_MASK_HASH_HEX, hex,
	         MASK_MARKER_SUFFIX);
	m = json_pack("{s:s}", "S", text);
	if (m == NULL)
		bg_err_set(e, BG_ENOMEM, "out of memory while masking");
	return m;
}

/* Masks the value at p's names from the depth-th on inside map (attribute name to
 * attribute value). 1 when one was masked, 0 when the path is not there, or an error. */
static int mask_at(json_t *map, const ddb_path *p, size_t depth, const uint8_t *key, bg_err *e)
{
	size_t n;
	const char *name = ddb_path_segment(p, depth, &n);
	json_t *av = json_object_getn(map, name, n), *inner, *m;

	if (!json_is_object(av))
		return 0;
	if (depth + 1 < p->depth) {
		inner = json_object_get(av, "M");
		if (!json_is_object(inner) || json_object_size(av) != 1)
			return 0;
		return mask_at(inner, p, depth + 1, key, e);
	}
	if ((m = marker(av, key, e)) == NULL)
		return e != NULL ? e->code : BG_ENOMEM;
	if (json_object_setn_new(map, name, n, m) != 0)
		return bg_err_set(e, BG_ENOMEM, "out of memory while masking");
	return 1;
}

int mask_item(json_t *item, const ddb_path *paths, size_t n, const uint8_t *key, size_t *counts,
              size_t *masked, bg_err *e)
{
	size_t i;
	int rc;

	if (!json_is_object(item))
		return 0;
	for (i = 0; i < n; i++) {
		rc = mask_at(item, &paths[i], 0, key, e);
		if (rc < 0)
			return rc;
		if (counts != NULL)
			counts[i] += (size_t)rc;
		if (masked != NULL)
			*masked += (size_t)rc;
	}
	return 0;
}

static int mask_list(json_t *items, const ddb_path *paths, size_t n, const uint8_t *key,
                     size_t *counts, size_t *masked, bg_err *e)
{
	size_t i;
	int rc;

	for (i = 0; i < json_array_size(items); i++) {
		rc = mask_item(json_array_get(items, i), paths, n, key, counts, masked, e);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int mask_answer(json_t *doc, const ddb_path *paths, size_t n, const uint8_t *key, size_t *counts,
                size_t *masked, bg_err *e)
{
	const char *table;
	json_t *v;
	int rc;

	if (!json_is_object(doc) || n == 0)
		return 0;
	if ((rc = mask_item(json_object_get(doc, "Item"), paths, n, key, counts, masked, e)) != 0 ||
	    (rc = mask_item(json_object_get(doc, "Attributes"), paths, n, key, counts, masked,
	                    e)) != 0 ||
	    (rc = mask_list(json_object_get(doc, "Items"), paths, n, key, counts, masked, e)) != 0)
		return rc;
	json_object_foreach(json_object_get(doc, "Responses"), table, v)
	{
		if ((rc = mask_list(v, paths, n, key, counts, masked, e)) != 0)
			return rc;
	}
	return 0;
}
