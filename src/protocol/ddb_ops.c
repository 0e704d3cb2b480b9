/*
 * ddb_ops.c - the operation table (see ddb_ops.h).
 *
 * One row per operation, indexed by ddb_op so ddb_op_by_id() is a bounds check and a
 * load. The rows were checked against the DynamoDB API Reference action list
 * (docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Operations.html) and the
 * members each action's request takes. When AWS adds an operation it must be added here
 * before the gateway can see it; until then it is an UnknownOperation and denied.
 */
#include "protocol/ddb_ops.h"

#include <string.h>
#include <strings.h>

#define R DDB_F_READ
#define W DDB_F_WRITE
#define C DDB_F_CONTROL

#define F(key, kind, need)                                                                         \
	{                                                                                          \
		key, DDB_FIELD_##kind, DDB_NEED_##need                                             \
	}
#define TABLE_NAME F("TableName", NAME, REQUIRED)

/* Operations that name their tables in top-level fields. */
#define OPF(id, name, flags, ...)                                                                  \
	[DDB_OP_##id] = {DDB_OP_##id, name, flags, DDB_TABLES_FIELDS, {__VA_ARGS__}, false}
/* ... and also read a top-level IndexName. */
#define OPFI(id, name, flags, ...)                                                                 \
	[DDB_OP_##id] = {DDB_OP_##id, name, flags, DDB_TABLES_FIELDS, {__VA_ARGS__}, true}
/* Operations with another shape. */
#define OPS(id, name, flags, shape) [DDB_OP_##id] = {DDB_OP_##id, name, flags, shape, {{0}}, false}

static const ddb_op_info ops[DDB_OP_COUNT] = {
    /* Data plane. */
    OPF(GET_ITEM, "GetItem", R, TABLE_NAME),
    OPF(PUT_ITEM, "PutItem", W, TABLE_NAME),
    OPF(UPDATE_ITEM, "UpdateItem", W, TABLE_NAME),
    OPF(DELETE_ITEM, "DeleteItem", W, TABLE_NAME),
    OPFI(QUERY, "Query", R, TABLE_NAME),
    OPFI(SCAN, "Scan", R | DDB_F_SCAN, TABLE_NAME),
    OPS(BATCH_GET_ITEM, "BatchGetItem", R | DDB_F_BATCH, DDB_TABLES_REQUEST_ITEMS),
    OPS(BATCH_WRITE_ITEM, "BatchWriteItem", W | DDB_F_BATCH, DDB_TABLES_REQUEST_ITEMS),
    OPS(TRANSACT_GET_ITEMS, "TransactGetItems", R | DDB_F_TRANSACTION, DDB_TABLES_TRANSACT_ITEMS),
    OPS(TRANSACT_WRITE_ITEMS, "TransactWriteItems", W | DDB_F_TRANSACTION,
        DDB_TABLES_TRANSACT_ITEMS),
    OPS(EXECUTE_STATEMENT, "ExecuteStatement", R | W | DDB_F_PARTIQL | DDB_F_OPAQUE,
        DDB_TABLES_OPAQUE),
    OPS(BATCH_EXECUTE_STATEMENT, "BatchExecuteStatement",
        R | W | DDB_F_PARTIQL | DDB_F_BATCH | DDB_F_OPAQUE, DDB_TABLES_OPAQUE),
    OPS(EXECUTE_TRANSACTION, "ExecuteTransaction",
        R | W | DDB_F_PARTIQL | DDB_F_TRANSACTION | DDB_F_OPAQUE, DDB_TABLES_OPAQUE),

    /* Tables. */
    OPF(CREATE_TABLE, "CreateTable", W | C, TABLE_NAME),
    OPF(DELETE_TABLE, "DeleteTable", W | C, TABLE_NAME),
    OPF(DESCRIBE_TABLE, "DescribeTable", R | C, TABLE_NAME),
    OPF(UPDATE_TABLE, "UpdateTable", W | C, TABLE_NAME),
    OPS(LIST_TABLES, "ListTables", R | C | DDB_F_ACCOUNT, DDB_TABLES_NONE),
    OPS(DESCRIBE_LIMITS, "DescribeLimits", R | C | DDB_F_ACCOUNT, DDB_TABLES_NONE),
    OPS(DESCRIBE_ENDPOINTS, "DescribeEndpoints", R | C | DDB_F_ACCOUNT, DDB_TABLES_NONE),

    /* Tags and resource policies: ResourceArn names a table, index or stream. */
    OPF(TAG_RESOURCE, "TagResource", W | C, F("ResourceArn", RESOURCE_ARN, REQUIRED)),
    OPF(UNTAG_RESOURCE, "UntagResource", W | C, F("ResourceArn", RESOURCE_ARN, REQUIRED)),
    OPF(LIST_TAGS_OF_RESOURCE, "ListTagsOfResource", R | C,
        F("ResourceArn", RESOURCE_ARN, REQUIRED)),
    OPF(GET_RESOURCE_POLICY, "GetResourcePolicy", R | C, F("ResourceArn", RESOURCE_ARN, REQUIRED)),
    OPF(PUT_RESOURCE_POLICY, "PutResourcePolicy", W | C, F("ResourceArn", RESOURCE_ARN, REQUIRED)),
    OPF(DELETE_RESOURCE_POLICY, "DeleteResourcePolicy", W | C,
        F("ResourceArn", RESOURCE_ARN, REQUIRED)),

    /* Time to live. */
    OPF(UPDATE_TIME_TO_LIVE, "UpdateTimeToLive", W | C, TABLE_NAME),
    OPF(DESCRIBE_TIME_TO_LIVE, "DescribeTimeToLive", R | C, TABLE_NAME),

    /* Backups: a backup ARN is table/NAME/backup/ID, so its table is known. */
    OPF(CREATE_BACKUP, "CreateBackup", W | C, TABLE_NAME),
    OPF(DELETE_BACKUP, "DeleteBackup", W | C, F("BackupArn", BACKUP_ARN, REQUIRED)),
    OPF(DESCRIBE_BACKUP, "DescribeBackup", R | C, F("BackupArn", BACKUP_ARN, REQUIRED)),
    OPF(LIST_BACKUPS, "ListBackups", R | C | DDB_F_ACCOUNT, F("TableName", NAME, OPTIONAL)),
    OPF(RESTORE_TABLE_FROM_BACKUP, "RestoreTableFromBackup", W | C,
        F("BackupArn", BACKUP_ARN, REQUIRED), F("TargetTableName", NAME, REQUIRED)),
    OPF(RESTORE_TABLE_TO_POINT_IN_TIME, "RestoreTableToPointInTime", W | C,
        F("SourceTableArn", TABLE_ARN, ONE_OF), F("SourceTableName", NAME, ONE_OF),
        F("TargetTableName", NAME, REQUIRED)),
    OPF(DESCRIBE_CONTINUOUS_BACKUPS, "DescribeContinuousBackups", R | C, TABLE_NAME),
    OPF(UPDATE_CONTINUOUS_BACKUPS, "UpdateContinuousBackups", W | C, TABLE_NAME),

    /* Global tables (version 2017): the global table name is the table name. */
    OPF(CREATE_GLOBAL_TABLE, "CreateGlobalTable", W | C,
        F("GlobalTableName", PLAIN_NAME, REQUIRED)),
    OPF(UPDATE_GLOBAL_TABLE, "UpdateGlobalTable", W | C,
        F("GlobalTableName", PLAIN_NAME, REQUIRED)),
    OPF(DESCRIBE_GLOBAL_TABLE, "DescribeGlobalTable", R | C,
        F("GlobalTableName", PLAIN_NAME, REQUIRED)),
    OPS(LIST_GLOBAL_TABLES, "ListGlobalTables", R | C | DDB_F_ACCOUNT, DDB_TABLES_NONE),
    OPF(DESCRIBE_GLOBAL_TABLE_SETTINGS, "DescribeGlobalTableSettings", R | C,
        F("GlobalTableName", PLAIN_NAME, REQUIRED)),
    OPF(UPDATE_GLOBAL_TABLE_SETTINGS, "UpdateGlobalTableSettings", W | C,
        F("GlobalTableName", PLAIN_NAME, REQUIRED)),

    /* Contributor Insights: per table, optionally per index. */
    OPFI(DESCRIBE_CONTRIBUTOR_INSIGHTS, "DescribeContributorInsights", R | C, TABLE_NAME),
    OPFI(UPDATE_CONTRIBUTOR_INSIGHTS, "UpdateContributorInsights", W | C, TABLE_NAME),
    OPF(LIST_CONTRIBUTOR_INSIGHTS, "ListContributorInsights", R | C | DDB_F_ACCOUNT,
        F("TableName", NAME, OPTIONAL)),

    /* Exports read a whole table into S3; imports create a table. */
    OPF(EXPORT_TABLE_TO_POINT_IN_TIME, "ExportTableToPointInTime", R | W | DDB_F_SCAN | C,
        F("TableArn", TABLE_ARN, REQUIRED)),
    OPF(DESCRIBE_EXPORT, "DescribeExport", R | C, F("ExportArn", EXPORT_ARN, REQUIRED)),
    OPF(LIST_EXPORTS, "ListExports", R | C | DDB_F_ACCOUNT, F("TableArn", TABLE_ARN, OPTIONAL)),
    OPS(IMPORT_TABLE, "ImportTable", W | C, DDB_TABLES_IMPORT),
    OPF(DESCRIBE_IMPORT, "DescribeImport", R | C, F("ImportArn", IMPORT_ARN, REQUIRED)),
    OPF(LIST_IMPORTS, "ListImports", R | C | DDB_F_ACCOUNT, F("TableArn", TABLE_ARN, OPTIONAL)),

    /* Kinesis Data Streams destinations. */
    OPF(DESCRIBE_KINESIS_STREAMING_DESTINATION, "DescribeKinesisStreamingDestination", R | C,
        TABLE_NAME),
    OPF(ENABLE_KINESIS_STREAMING_DESTINATION, "EnableKinesisStreamingDestination", W | C,
        TABLE_NAME),
    OPF(DISABLE_KINESIS_STREAMING_DESTINATION, "DisableKinesisStreamingDestination", W | C,
        TABLE_NAME),
    OPF(UPDATE_KINESIS_STREAMING_DESTINATION, "UpdateKinesisStreamingDestination", W | C,
        TABLE_NAME),

    /* Replica auto scaling (global tables version 2019). */
    OPF(DESCRIBE_TABLE_REPLICA_AUTO_SCALING, "DescribeTableReplicaAutoScaling", R | C, TABLE_NAME),
    OPF(UPDATE_TABLE_REPLICA_AUTO_SCALING, "UpdateTableReplicaAutoScaling", W | C, TABLE_NAME),

    /* DynamoDB Streams. A shard iterator is opaque: GetRecords names no table. */
    OPF(STREAMS_LIST_STREAMS, "ListStreams", R | DDB_F_STREAMS | DDB_F_ACCOUNT,
        F("TableName", NAME, OPTIONAL)),
    OPF(STREAMS_DESCRIBE_STREAM, "DescribeStream", R | DDB_F_STREAMS,
        F("StreamArn", STREAM_ARN, REQUIRED)),
    OPF(STREAMS_GET_SHARD_ITERATOR, "GetShardIterator", R | DDB_F_STREAMS,
        F("StreamArn", STREAM_ARN, REQUIRED)),
    OPS(STREAMS_GET_RECORDS, "GetRecords", R | DDB_F_STREAMS | DDB_F_OPAQUE, DDB_TABLES_OPAQUE),
};

/* The operation whose name has len bytes equal to name's under cmp. (strncmp is exact
 * even when name holds a NUL: the table's name of that length has none.) */
static const ddb_op_info *find(const char *name, size_t len,
                               int (*cmp)(const char *, const char *, size_t))
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < DDB_OP_COUNT; i++) {
		const char *n = ops[i].name;
		if (n != NULL && strlen(n) == len && cmp(n, name, len) == 0)
			return &ops[i];
	}
	return NULL;
}

const ddb_op_info *ddb_op_lookup(const char *name, size_t len)
{
	return find(name, len, strncmp);
}

const ddb_op_info *ddb_op_suggest(const char *name, size_t len)
{
	return find(name, len, strncasecmp);
}

const ddb_op_info *ddb_op_by_id(ddb_op op)
{
	if ((unsigned)op >= DDB_OP_COUNT || ops[op].name == NULL)
		return NULL;
	return &ops[op];
}

const char *ddb_op_target_prefix(const ddb_op_info *op)
{
	return op != NULL && (op->flags & DDB_F_STREAMS) ? DDB_STREAMS_TARGET_PREFIX
	                                                 : DDB_TARGET_PREFIX;
}
