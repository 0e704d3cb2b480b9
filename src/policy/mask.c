/*
 * mask.c - masking a runbook's attributes in an answer (see mask.h).
 *
 * The walk follows a path only through maps ({"M": {...}} with nothing beside "M"), so a
 * value of an unexpected shape is left alone rather than guessed at; what it replaces is
 * always a whole attribute value, so no part of the plain value survives beside the marker.
 *
 * The keyed hash is computed with one HMAC context set up per call (the key scheduled
 * once) and restarted for each value: fetching and keying HMAC per value cost 2 us a value
 * (4 ms for a page of a thousand items with two masked attributes), this 0.8 us, most of it
 * the value's canonical JSON. The context is freed (OpenSSL cleanses it) before the call
 * returns, so no key material outlives it.
 */
#include "policy/mask.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/crypto.h"

/* The HMAC of one call: NULL members when the markers carry no hash. */
typedef struct hasher {
	EVP_MAC *mac;
	EVP_MAC_CTX *keyed; /* initialised with the key; restarted per value */
} hasher;

static void hasher_free(hasher *hs)
{
	EVP_MAC_CTX_free(hs->keyed);
	EVP_MAC_free(hs->mac);
	hs->keyed = NULL;
	hs->mac = NULL;
}

static int hasher_init(hasher *hs, const uint8_t *key, bg_err *e)
{
	OSSL_PARAM params[2];

	hs->mac = NULL;
	hs->keyed = NULL;
	if (key == NULL)
		return 0;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	hs->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	hs->keyed = hs->mac != NULL ? EVP_MAC_CTX_new(hs->mac) : NULL;
	if (hs->keyed == NULL || EVP_MAC_init(hs->keyed, key, MASK_KEY_LEN, params) != 1) {
		hasher_free(hs);
		return bg_err_set(e, BG_EIO, "the masking hash could not be set up");
	}
	return 0;
}

/* out = HMAC(key, p): the keyed context restarted with the key it holds (a NULL key to
 * EVP_MAC_init), fed and finished. */
static int hasher_run(const hasher *hs, const void *p, size_t n, uint8_t out[BG_SHA256_LEN])
{
	size_t len = 0;
	int ok = EVP_MAC_init(hs->keyed, NULL, 0, NULL) == 1 &&
	         EVP_MAC_update(hs->keyed, p, n) == 1 &&
	         EVP_MAC_final(hs->keyed, out, &len, BG_SHA256_LEN) == 1 && len == BG_SHA256_LEN;

	return ok ? 0 : BG_EIO;
}

/* The marker that replaces av: plain, or with the keyed hash of av's canonical JSON. */
static json_t *marker(const json_t *av, const hasher *hs, bg_err *e)
{
	char text[sizeof(MASK_MARKER_PREFIX) + 64 + sizeof(MASK_MARKER_SUFFIX)];
	uint8_t h[BG_SHA256_LEN];
	char hex[65];
	char *canon;
	json_t *m;
	int rc;

	if (hs->keyed == NULL) {
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
	rc = hasher_run(hs, canon, strlen(canon), h);
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
static int mask_at(json_t *map, const ddb_path *p, size_t depth, const hasher *hs, bg_err *e)
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
		return mask_at(inner, p, depth + 1, hs, e);
	}
	if ((m = marker(av, hs, e)) == NULL)
		return e != NULL ? e->code : BG_ENOMEM;
	if (json_object_setn_new(map, name, n, m) != 0)
		return bg_err_set(e, BG_ENOMEM, "out of memory while masking");
	return 1;
}

static int item_mask(json_t *item, const ddb_path *paths, size_t n, const hasher *hs,
                     size_t *counts, size_t *masked, bg_err *e)
{
	size_t i;
	int rc;

	if (!json_is_object(item))
		return 0;
	for (i = 0; i < n; i++) {
		rc = mask_at(item, &paths[i], 0, hs, e);
		if (rc < 0)
			return rc;
		if (counts != NULL)
			counts[i] += (size_t)rc;
		if (masked != NULL)
			*masked += (size_t)rc;
	}
	return 0;
}

static int mask_list(json_t *items, const ddb_path *paths, size_t n, const hasher *hs,
                     size_t *counts, size_t *masked, bg_err *e)
{
	size_t i;
	int rc;

	for (i = 0; i < json_array_size(items); i++) {
		rc = item_mask(json_array_get(items, i), paths, n, hs, counts, masked, e);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int mask_item(json_t *item, const ddb_path *paths, size_t n, const uint8_t *key, size_t *counts,
              size_t *masked, bg_err *e)
{
	hasher hs;
	int rc;

	if (!json_is_object(item) || n == 0)
		return 0;
	if ((rc = hasher_init(&hs, key, e)) != 0)
		return rc;
	rc = item_mask(item, paths, n, &hs, counts, masked, e);
	hasher_free(&hs);
	return rc;
}

static int answer_mask(json_t *doc, const ddb_path *paths, size_t n, const hasher *hs,
                       size_t *counts, size_t *masked, bg_err *e)
{
	const char *table;
	json_t *v;
	int rc;

	if ((rc = item_mask(json_object_get(doc, "Item"), paths, n, hs, counts, masked, e)) != 0 ||
	    (rc = item_mask(json_object_get(doc, "Attributes"), paths, n, hs, counts, masked, e)) !=
	        0 ||
	    (rc = mask_list(json_object_get(doc, "Items"), paths, n, hs, counts, masked, e)) != 0)
		return rc;
	json_object_foreach(json_object_get(doc, "Responses"), table, v)
	{
		if ((rc = mask_list(v, paths, n, hs, counts, masked, e)) != 0)
			return rc;
	}
	return 0;
}

int mask_answer(json_t *doc, const ddb_path *paths, size_t n, const uint8_t *key, size_t *counts,
                size_t *masked, bg_err *e)
{
	hasher hs;
	int rc;

	if (!json_is_object(doc) || n == 0)
		return 0;
	if ((rc = hasher_init(&hs, key, e)) != 0)
		return rc;
	rc = answer_mask(doc, paths, n, &hs, counts, masked, e);
	hasher_free(&hs);
	return rc;
}
