/*
 * ddb_capacity.c - capacity units from DynamoDB's answers (see ddb_capacity.h).
 */
#include "protocol/ddb_capacity.h"

bool ddb_op_reports_capacity(const ddb_op_info *op)
{
	if (op == NULL)
		return false;
	switch (op->id) {
	case DDB_OP_GET_ITEM:
	case DDB_OP_PUT_ITEM:
	case DDB_OP_UPDATE_ITEM:
	case DDB_OP_DELETE_ITEM:
	case DDB_OP_QUERY:
	case DDB_OP_SCAN:
	case DDB_OP_BATCH_GET_ITEM:
	case DDB_OP_BATCH_WRITE_ITEM:
	case DDB_OP_TRANSACT_GET_ITEMS:
	case DDB_OP_TRANSACT_WRITE_ITEMS:
	case DDB_OP_EXECUTE_STATEMENT:
	case DDB_OP_BATCH_EXECUTE_STATEMENT:
	case DDB_OP_EXECUTE_TRANSACTION:
		return true;
	default:
		return false;
	}
}

bool ddb_op_charges_write(const ddb_op_info *op)
{
	return op != NULL && (op->flags & DDB_F_WRITE) != 0;
}

/* A number at o[k] that counts: finite and not negative (a hostile or broken upstream
 * must not refund a budget). */
static double units_at(const json_t *o, const char *k, bool *found)
{
	const json_t *v = json_object_get(o, k);
	double d;

	if (!json_is_number(v))
		return 0;
	*found = true;
	d = json_number_value(v);
	return d > 0 && d < 1e15 ? d : 0;
}

static void add_units(const json_t *cc, bool write, ddb_units *u)
{
	const json_t *v;
	bool split = false, whole = false; /* present */
	double r, w, c;
	size_t i;

	if (json_is_array(cc)) {
		json_array_foreach(cc, i, v) add_units(v, write, u);
		return;
	}
	if (!json_is_object(cc))
		return;
	r = units_at(cc, "ReadCapacityUnits", &split);
	w = units_at(cc, "WriteCapacityUnits", &split);
	c = units_at(cc, "CapacityUnits", &whole);
	u->read += r;
	u->write += w;
	/* CapacityUnits is the whole; what the split does not account for is the op's. */
	if (whole && c > r + w)
		*(write ? &u->write : &u->read) += c - r - w;
}

ddb_units ddb_capacity_units(const json_t *cc, const ddb_op_info *op)
{
	ddb_units u = {0, 0};

	add_units(cc, ddb_op_charges_write(op), &u);
	return u;
}

double ddb_capacity_total(const json_t *cc)
{
	ddb_units u = {0, 0};

	add_units(cc, false, &u);
	return u.read + u.write;
}
