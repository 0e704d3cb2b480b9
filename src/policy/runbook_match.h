/*
 * runbook_match.h - is this request one of the grant's runbooks? The decision a runbook
 * grant stands on, made without I/O: the request's body against each runbook the grant
 * pinned, as the gateway holds it now.
 *
 * A request is allowed only if it *is* one of the templates with valid parameters:
 * same operation, table and index; expressions equal in structure (protocol/ddb_expr:
 * spacing, placeholder names and operand order do not matter, a changed comparator or
 * function, an added filter, a wider projection, a #name aliased onto another attribute
 * do); every parameter bound to a value that passes its rules; keys and items naming
 * exactly the template's attributes; no parameter the template does not use (legacy
 * KeyConditions, QueryFilter, AttributesToGet, Expected, ...); Limit, Select,
 * ConsistentRead, segments and ReturnValues within what the template allows. A runbook
 * edited since the grant (its content hash differs from the pinned one) matches nothing.
 *
 * The gateway may tighten a request (add the template's Limit when it has none) and never
 * widens one. Paging is counted by the caller, with the page key given here.
 */
#ifndef BG_POLICY_RUNBOOK_MATCH_H
#define BG_POLICY_RUNBOOK_MATCH_H

#include <jansson.h>
#include <stdbool.h>

#include "protocol/ddb_ops.h"
#include "runbook/runbook.h"
#include "store/store.h"

typedef struct rb_decision {
	const runbook *rb; /* allowed: the runbook it is (owned by the set) */
	json_t *params;    /* allowed: {name: attribute value} as bound */
	json_t *forward;   /* allowed and tightened: the body to send instead; else NULL */
	bool continuation; /* the request carries ExclusiveStartKey: a next page */
	char page_key[65]; /* hex SHA-256 of grant, runbook and parameters: counts pages */
	char why[1024];    /* denied: what differed, and which runbook came closest */
} rb_decision;

/*
 * Matches body (the request's parsed JSON) of operation op against the runbooks grant g
 * pinned, looked up in set. Returns 0 with d filled (rb_decision_free after), BG_EDENIED
 * with d->why, or BG_ENOMEM.
 */
int rb_match(const runbook_set *set, const store_grant *g, const ddb_op_info *op,
             const json_t *body, rb_decision *d) BG_MUST_CHECK;

void rb_decision_free(rb_decision *d);

#endif
