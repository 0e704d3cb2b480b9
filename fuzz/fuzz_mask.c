/*
 * fuzz_mask.c - libFuzzer target for attribute paths (protocol/ddb_path) and masking
 * (policy/mask). The input is a first line of comma-separated paths, then an answer in
 * JSON. Any bytes give either a path or BG_EINVAL (leaving the path empty), never a crash,
 * leak or read past the input; a parsed path's names cover its text exactly. Masking any
 * answer succeeds, masks exactly the values the paths reach (counted by a walk of this
 * file's own), leaves a marker at each of them (plain, or of the hashed form), and a
 * second pass finds the same places; keys (LastEvaluatedKey) are never touched.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "policy/mask.h"

static const uint8_t key[MASK_KEY_LEN] = {0x6b, 0x65, 0x79};

/* The attribute value p reaches in item, following only maps, or NULL. */
static json_t *reach(json_t *item, const ddb_path *p)
{
	json_t *m = item, *av = NULL;
	size_t i, n;
	const char *s;

	for (i = 0; i < p->depth; i++) {
		if (!json_is_object(m))
			return NULL;
		s = ddb_path_segment(p, i, &n);
		av = json_object_getn(m, s, n);
		if (!json_is_object(av))
			return NULL;
		if (i + 1 < p->depth) {
			if (json_object_size(av) != 1)
				return NULL;
			m = json_object_get(av, "M");
		}
	}
	return av;
}

static bool is_marker(const json_t *av, bool hashed)
{
	const char *s = json_string_value(json_object_get(av, "S"));
	size_t n = strlen(MASK_MARKER_PREFIX);

	if (json_object_size(av) != 1 || s == NULL)
		return false;
	if (!hashed)
		return strcmp(s, MASK_MARKER) == 0;
	return strlen(s) == n + BG_MASK_HASH_HEX + strlen(MASK_MARKER_SUFFIX) &&
	       strncmp(s, MASK_MARKER_PREFIX, n) == 0 &&
	       strcmp(s + n + BG_MASK_HASH_HEX, MASK_MARKER_SUFFIX) == 0;
}

/* Every item of the answer, as mask_answer finds them. */
static size_t items_of(json_t *doc, json_t **out, size_t cap)
{
	json_t *v, *lists[64];
	size_t n = 0, nl = 0, i, j;
	const char *t;

	if (json_is_object(json_object_get(doc, "Item")) && n < cap)
		out[n++] = json_object_get(doc, "Item");
	if (json_is_object(json_object_get(doc, "Attributes")) && n < cap)
		out[n++] = json_object_get(doc, "Attributes");
	lists[nl++] = json_object_get(doc, "Items");
	json_object_foreach(json_object_get(doc, "Responses"), t, v) if (nl < 64) lists[nl++] = v;
	for (i = 0; i < nl; i++)
		for (j = 0; j < json_array_size(lists[i]) && n < cap; j++)
			if (json_is_object(json_array_get(lists[i], j)))
				out[n++] = json_array_get(lists[i], j);
	return n;
}

static void check_mask(json_t *doc, const ddb_path *paths, size_t np, bool hashed)
{
	json_t *items[256], *lek = json_deep_copy(json_object_get(doc, "LastEvaluatedKey"));
	size_t counts[BG_MAX_MASK_PATHS] = {0}, total = 0, reached = 0, n, i, j;
	bg_err e;

	n = items_of(doc, items, 256);
	if (n == 256) { /* more items than this walk keeps: checked only for safety */
		CHECK(mask_answer(doc, paths, np, hashed ? key : NULL, counts, &total, &e) == 0);
		json_decref(lek);
		return;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < np; j++)
			reached += reach(items[i], &paths[j]) != NULL;
	CHECK(mask_answer(doc, paths, np, hashed ? key : NULL, counts, &total, &e) == 0);
	/* Paths may not overlap in a runbook, but here they may: a masked outer value hides
	 * an inner path, so the total is at most what was reachable. */
	CHECK(total <= reached);
	for (j = 0, i = 0; j < np; j++)
		i += counts[j];
	CHECK(i == total);
	for (i = 0; i < n; i++)
		for (j = 0; j < np; j++) {
			json_t *av = reach(items[i], &paths[j]);
			CHECK(av == NULL || is_marker(av, hashed));
		}
	CHECK(lek == NULL || json_equal(lek, json_object_get(doc, "LastEvaluatedKey")));
	json_decref(lek);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t head = nl != NULL ? (size_t)(nl - text) : size, start = 0, i, k, np = 0;
	ddb_path paths[BG_MAX_MASK_PATHS];
	json_t *doc, *copy;
	bg_err e;

	for (i = 0; i <= head && np < BG_MAX_MASK_PATHS; i++) {
		if (i < head && text[i] != ',')
			continue;
		if (ddb_path_parse(text + start, i - start, &paths[np], &e) == 0) {
			ddb_path *p = &paths[np];
			size_t len = 0, n;
			CHECK(p->depth >= 1 && p->depth <= BG_MAX_MASK_DEPTH);
			CHECK(strlen(p->text) == i - start);
			CHECK(memcmp(p->text, text + start, i - start) == 0);
			for (k = 0; k < p->depth; k++) {
				const char *s = ddb_path_segment(p, k, &n);
				CHECK(n >= 1 && n <= BG_MAX_MASK_SEGMENT);
				CHECK(s == p->text + len);
				len += n + 1;
			}
			CHECK(len - 1 == i - start);
			np++;
		} else {
			CHECK(e.code == BG_EINVAL);
			CHECK(paths[np].depth == 0);
		}
		start = i + 1;
	}
	if (nl == NULL)
		return 0;
	doc = json_loadb(nl + 1, size - head - 1, 0, NULL);
	if (doc == NULL)
		return 0;
	copy = json_deep_copy(doc);
	check_mask(doc, paths, np, false);
	if (copy != NULL)
		check_mask(copy, paths, np, true);
	json_decref(copy);
	json_decref(doc);
	return 0;
}
