/*
 * mask.h - hiding a runbook's masked attributes in a DynamoDB answer, without I/O.
 *
 * A runbook lists attribute paths (`mask: [email, card.last4]`): a path is attribute
 * names joined by '.', each step after the first inside the map (`{"M": ...}`) the previous
 * one names. In every item of an answer (GetItem's Item, Query's and Scan's Items, a
 * write's Attributes, BatchGetItem's Responses, the Item a ConditionalCheckFailedException
 * carries) the value at each path, whatever its type, is replaced by the string
 * {"S": "***masked***"}, or with a key {"S": "***masked:0123456789abcdef***"}: the first
 * 16 hex digits of HMAC-SHA256(key, the value's canonical JSON), so equal values show
 * equal markers and can be correlated without being revealed. A path that is absent from
 * an item, or that runs through something other than a map (a list, a scalar), leaves the
 * item as it is. Keys (LastEvaluatedKey, UnprocessedKeys) are never touched: a runbook may
 * not mask a key attribute (lint).
 *
 * The path type and its parser live in protocol/ddb_path.h, below runbook/ which reads
 * them from a runbook file: a runbook may not depend on policy/.
 *
 * The gateway derives the key from its master key (keyring "mask-hash"), so hashes are
 * stable across restarts and gateways sharing a store, and cannot be recomputed by anyone
 * reading the answer or the audit trail.
 */
#ifndef BG_POLICY_MASK_H
#define BG_POLICY_MASK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"
#include "protocol/ddb_path.h"

/* The marker without a hash, and the hashed one's prefix and suffix. */
#define MASK_MARKER        "***masked***"
#define MASK_MARKER_PREFIX "***masked:"
#define MASK_MARKER_SUFFIX "***"
/* Bytes of the key mask_answer takes (a keyring derivation). */
#define MASK_KEY_LEN 32

/*
 * Masks one item (a map of attribute name to attribute value, as in an answer's Items) in
 * place: every value present at one of the n paths is replaced by a marker, hashed when key
 * (MASK_KEY_LEN bytes) is not NULL. counts, when not NULL, has n entries and each is
 * increased by the values masked at that path; *masked (when not NULL) is increased by the
 * total. Returns 0, or BG_ENOMEM / BG_EIO (the hash failed) with e set: the item may then
 * be half masked and must not be released.
 */
int mask_item(json_t *item, const ddb_path *paths, size_t n, const uint8_t *key, size_t *counts,
              size_t *masked, bg_err *e) BG_MUST_CHECK;

/*
 * Masks every item of a DynamoDB answer doc in place: Item, Items, Attributes and each
 * table's list in Responses (members of other shapes are ignored). counts and masked as
 * for mask_item. Returns 0, or an error as mask_item (the answer must then be withheld).
 */
int mask_answer(json_t *doc, const ddb_path *paths, size_t n, const uint8_t *key, size_t *counts,
                size_t *masked, bg_err *e) BG_MUST_CHECK;

#endif
