/*
 * ddb_ops.h - the table of DynamoDB operations (API version 2012-08-10) and of DynamoDB
 * Streams, with what the gateway needs to know about each.
 *
 * The gateway authorizes by operation class and by the tables a request touches, so
 * every operation the service accepts is listed here, not only the ones a runbook uses:
 * an operation missing from this table would be unknown to the policy. For each operation
 * the table records its class flags and where in the request body the tables it touches
 * are named (ddb_request.c reads these rules). Names are matched exactly and
 * case-sensitively, as DynamoDB matches X-Amz-Target.
 */
#ifndef BG_DDB_OPS_H
#define BG_DDB_OPS_H

#include <stdbool.h>
#include <stddef.h>

/* Every operation, DynamoDB first, then DynamoDB Streams. DDB_OP_COUNT is not one. */
typedef enum ddb_op {
	DDB_OP_BATCH_EXECUTE_STATEMENT,
	DDB_OP_BATCH_GET_ITEM,
	DDB_OP_BATCH_WRITE_ITEM,
	DDB_OP_CREATE_BACKUP,
	DDB_OP_CREATE_GLOBAL_TABLE,
	DDB_OP_CREATE_TABLE,
	DDB_OP_DELETE_BACKUP,
	DDB_OP_DELETE_ITEM,
	DDB_OP_DELETE_RESOURCE_POLICY,
	DDB_OP_DELETE_TABLE,
	DDB_OP_DESCRIBE_BACKUP,
	DDB_OP_DESCRIBE_CONTINUOUS_BACKUPS,
	DDB_OP_DESCRIBE_CONTRIBUTOR_INSIGHTS,
	DDB_OP_DESCRIBE_ENDPOINTS,
	DDB_OP_DESCRIBE_EXPORT,
	DDB_OP_DESCRIBE_GLOBAL_TABLE,
	DDB_OP_DESCRIBE_GLOBAL_TABLE_SETTINGS,
	DDB_OP_DESCRIBE_IMPORT,
	DDB_OP_DESCRIBE_KINESIS_STREAMING_DESTINATION,
	DDB_OP_DESCRIBE_LIMITS,
	DDB_OP_DESCRIBE_TABLE,
	DDB_OP_DESCRIBE_TABLE_REPLICA_AUTO_SCALING,
	DDB_OP_DESCRIBE_TIME_TO_LIVE,
	DDB_OP_DISABLE_KINESIS_STREAMING_DESTINATION,
	DDB_OP_ENABLE_KINESIS_STREAMING_DESTINATION,
	DDB_OP_EXECUTE_STATEMENT,
	DDB_OP_EXECUTE_TRANSACTION,
	DDB_OP_EXPORT_TABLE_TO_POINT_IN_TIME,
	DDB_OP_GET_ITEM,
	DDB_OP_GET_RESOURCE_POLICY,
	DDB_OP_IMPORT_TABLE,
	DDB_OP_LIST_BACKUPS,
	DDB_OP_LIST_CONTRIBUTOR_INSIGHTS,
	DDB_OP_LIST_EXPORTS,
	DDB_OP_LIST_GLOBAL_TABLES,
	DDB_OP_LIST_IMPORTS,
	DDB_OP_LIST_TABLES,
	DDB_OP_LIST_TAGS_OF_RESOURCE,
	DDB_OP_PUT_ITEM,
	DDB_OP_PUT_RESOURCE_POLICY,
	DDB_OP_QUERY,
	DDB_OP_RESTORE_TABLE_FROM_BACKUP,
	DDB_OP_RESTORE_TABLE_TO_POINT_IN_TIME,
	DDB_OP_SCAN,
	DDB_OP_TAG_RESOURCE,
	DDB_OP_TRANSACT_GET_ITEMS,
	DDB_OP_TRANSACT_WRITE_ITEMS,
	DDB_OP_UNTAG_RESOURCE,
	DDB_OP_UPDATE_CONTINUOUS_BACKUPS,
	DDB_OP_UPDATE_CONTRIBUTOR_INSIGHTS,
	DDB_OP_UPDATE_GLOBAL_TABLE,
	DDB_OP_UPDATE_GLOBAL_TABLE_SETTINGS,
	DDB_OP_UPDATE_ITEM,
	DDB_OP_UPDATE_KINESIS_STREAMING_DESTINATION,
	DDB_OP_UPDATE_TABLE,
	DDB_OP_UPDATE_TABLE_REPLICA_AUTO_SCALING,
	DDB_OP_UPDATE_TIME_TO_LIVE,
	/* DynamoDB Streams (X-Amz-Target prefix DynamoDBStreams_20120810.) */
	DDB_OP_STREAMS_DESCRIBE_STREAM,
	DDB_OP_STREAMS_GET_RECORDS,
	DDB_OP_STREAMS_GET_SHARD_ITERATOR,
	DDB_OP_STREAMS_LIST_STREAMS,
	DDB_OP_COUNT
} ddb_op;

/* Class flags. An operation may carry several (ExecuteStatement reads or writes). */
enum {
	DDB_F_READ = 1u << 0,        /* returns item data or metadata */
	DDB_F_WRITE = 1u << 1,       /* changes items, tables or account state */
	DDB_F_SCAN = 1u << 2,        /* reads a whole table (Scan, exports) */
	DDB_F_BATCH = 1u << 3,       /* several independent requests in one call */
	DDB_F_TRANSACTION = 1u << 4, /* several requests applied atomically */
	DDB_F_PARTIQL = 1u << 5,     /* tables named inside a PartiQL statement */
	DDB_F_CONTROL = 1u << 6,     /* control plane: tables, backups, settings */
	DDB_F_STREAMS = 1u << 7,     /* DynamoDB Streams endpoint */
	/* The tables touched cannot be read from the request (PartiQL statements, an opaque
	 * shard iterator): a policy that authorizes by table must deny these. */
	DDB_F_OPAQUE = 1u << 8,
	/* Acts on or reveals account-wide state when no table is named (ListTables,
	 * DescribeLimits, ListBackups without TableName, ...). */
	DDB_F_ACCOUNT = 1u << 9,
};

/* Where the tables an operation touches are named. */
typedef enum ddb_table_shape {
	DDB_TABLES_NONE,           /* names no table */
	DDB_TABLES_FIELDS,         /* top-level fields, listed in ddb_op_info.fields */
	DDB_TABLES_REQUEST_ITEMS,  /* the keys of the "RequestItems" map (batch) */
	DDB_TABLES_TRANSACT_ITEMS, /* TransactItems[*].{Get|Put|Update|Delete|ConditionCheck} */
	DDB_TABLES_IMPORT,         /* TableCreationParameters.TableName */
	DDB_TABLES_OPAQUE          /* cannot be determined (see DDB_F_OPAQUE) */
} ddb_table_shape;

/* What a table-bearing field may hold. A table ARN is
 * arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME; sub-resource ARNs continue with
 * /backup/..., /export/..., /import/..., /stream/... or /index/.... */
typedef enum ddb_field_kind {
	DDB_FIELD_NAME,         /* a table name or a table ARN */
	DDB_FIELD_PLAIN_NAME,   /* a table name only (GlobalTableName) */
	DDB_FIELD_TABLE_ARN,    /* a table ARN only (TableArn) */
	DDB_FIELD_RESOURCE_ARN, /* table, index, stream or global-table ARN (ResourceArn) */
	DDB_FIELD_BACKUP_ARN,   /* table/NAME/backup/ID */
	DDB_FIELD_EXPORT_ARN,   /* table/NAME/export/ID */
	DDB_FIELD_IMPORT_ARN,   /* table/NAME/import/ID */
	DDB_FIELD_STREAM_ARN    /* table/NAME/stream/LABEL */
} ddb_field_kind;

/* Whether a field must be present. DDB_NEED_ONE_OF: at least one of the fields so
 * marked must be present (RestoreTableToPointInTime's source). */
typedef enum ddb_field_need {
	DDB_NEED_REQUIRED,
	DDB_NEED_OPTIONAL,
	DDB_NEED_ONE_OF
} ddb_field_need;

typedef struct ddb_table_field {
	const char *key; /* JSON member name; NULL ends the list */
	unsigned char kind;
	unsigned char need;
} ddb_table_field;

#define DDB_MAX_TABLE_FIELDS 3

typedef struct ddb_op_info {
	ddb_op id;
	const char *name; /* as in X-Amz-Target after the prefix, e.g. "GetItem" */
	unsigned flags;   /* DDB_F_* */
	ddb_table_shape shape;
	ddb_table_field fields[DDB_MAX_TABLE_FIELDS]; /* for DDB_TABLES_FIELDS */
	bool index;                                   /* reads a top-level "IndexName" */
} ddb_op_info;

/* The operation named by the len bytes at name (exact, case-sensitive; name need not be
 * NUL-terminated), or NULL. The result points into a static table. */
const ddb_op_info *ddb_op_lookup(const char *name, size_t len);

/* For messages only: the operation whose name equals the len bytes at name ignoring
 * case ("query" -> Query), or NULL. Never for matching requests: DynamoDB is
 * case-sensitive. */
const ddb_op_info *ddb_op_suggest(const char *name, size_t len);

/* The operation with this id, or NULL when op is out of range. */
const ddb_op_info *ddb_op_by_id(ddb_op op);

/* The X-Amz-Target prefix (with the trailing '.') under which op is served:
 * "DynamoDB_20120810." or "DynamoDBStreams_20120810.". */
const char *ddb_op_target_prefix(const ddb_op_info *op);

#define DDB_TARGET_PREFIX         "DynamoDB_20120810."
#define DDB_STREAMS_TARGET_PREFIX "DynamoDBStreams_20120810."

#endif
