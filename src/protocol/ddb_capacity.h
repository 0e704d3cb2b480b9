/*
 * ddb_capacity.h - the capacity units a DynamoDB answer says a request consumed
 * (issue 10, "Capacity budget"): which operations can report them, and what an answer's
 * ConsumedCapacity adds up to, split into read and write units.
 *
 * Pure: no I/O. The pipeline asks DynamoDB for ReturnConsumedCapacity TOTAL on every
 * operation that takes it, charges what comes back to the grant (gateway/spend.h), and
 * the report draws it.
 */
#ifndef BG_PROTOCOL_DDB_CAPACITY_H
#define BG_PROTOCOL_DDB_CAPACITY_H

#include <jansson.h>
#include <stdbool.h>

#include "protocol/ddb_ops.h"

typedef struct ddb_units {
	double read;
	double write;
} ddb_units;

/* True when op takes ReturnConsumedCapacity (the item and PartiQL operations). */
bool ddb_op_reports_capacity(const ddb_op_info *op);

/* True when op is charged to the write budget: it changes items. PartiQL statements, which
 * may read or write, count as writes (the gateway cannot tell them apart without parsing
 * the statement, and the write budget is the one that guards data). */
bool ddb_op_charges_write(const ddb_op_info *op);

/* The units of a ConsumedCapacity value (one object, or a list of them from a batch or a
 * transaction): ReadCapacityUnits and WriteCapacityUnits where DynamoDB splits them, else
 * CapacityUnits, counted as writes when op is charged to the write budget and as reads
 * otherwise. Non-numbers and negative numbers count as nothing. */
ddb_units ddb_capacity_units(const json_t *cc, const ddb_op_info *op);

/* The total of a ConsumedCapacity value, read and write together (what the report draws). */
double ddb_capacity_total(const json_t *cc);

#endif
