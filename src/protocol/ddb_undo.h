/*
 * ddb_undo.h - what `breakglass undo` computes about a single-item write, without I/O:
 * the item the write left, whether the item now is still that one (and where not, the
 * difference attribute by attribute), and the request that restores the item's
 * before-image only while the item still holds what the write left.
 *
 * Items are DynamoDB's attribute-value JSON ({"pk": {"S": "..."}, ...}); NULL stands for
 * "no item". Equality is DynamoDB's: numbers by value ("19.90" is "19.9"), sets as sets
 * (order does not matter), lists in order, maps by key.
 */
#ifndef BG_DDB_UNDO_H
#define BG_DDB_UNDO_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

/* The item write op ("PutItem", "UpdateItem" or "DeleteItem", with its request body)
 * left, given the item before it (NULL: there was none). PutItem: its Item. DeleteItem:
 * none. UpdateItem: its UpdateExpression evaluated on the before-image (or on the Key,
 * for an item the update created), as DynamoDB does (every operand read from the item as
 * it was): SET p = :v, SET p = q, SET p = if_not_exists(q, :v), REMOVE p, for paths of
 * attribute and map-key names. Anything else (ADD, DELETE, arithmetic, list_append, list
 * elements, the legacy AttributeUpdates) is BG_EDENIED with a message saying what;
 * a malformed body BG_EINVAL. Returns 0 with *after a new item or NULL (no item). */
int ddb_undo_after(const char *op, const json_t *body, const json_t *before, json_t **after,
                   bg_err *e) BG_MUST_CHECK;

/* Whether an update expression (text, with names) is one ddb_undo_after computes: 0, or
 * BG_EDENIED / BG_EINVAL with the reason (for `runbook lint`). */
int ddb_undo_update_check(const char *text, const json_t *names, bg_err *e) BG_MUST_CHECK;

/* True when attribute values a and b are equal as DynamoDB compares them. */
bool ddb_undo_value_equal(const json_t *a, const json_t *b);

/* True when items a and b (either NULL: no item) are equal. */
bool ddb_undo_item_equal(const json_t *a, const json_t *b);

/* The attributes where items left and now differ (either NULL: no item), as a new array
 * of {"attribute": name, "left": value or null, "now": value or null}, by attribute name;
 * empty when they are equal. NULL when out of memory. */
json_t *ddb_undo_diff(const json_t *left, const json_t *now);

/* The request that puts back before (NULL: delete the item) in table, conditioned on the
 * item still holding after (NULL: no item): every attribute of after equal to its value,
 * every attribute of before that after lacks absent, or, with no after, no item at all.
 * key is the item's primary key. *op gets "PutItem" or "DeleteItem" (static) and *body a
 * new request body. BG_EINVAL when before and after are both NULL (nothing to put back),
 * BG_ELIMIT over BG_MAX_UNDO_ATTRS attributes, BG_ENOMEM. */
int ddb_undo_restore(const char *table, const json_t *key, const json_t *before,
                     const json_t *after, const char **op, json_t **body, bg_err *e) BG_MUST_CHECK;

#endif
