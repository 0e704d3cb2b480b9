/*
 * test_ddb_request.c - the DynamoDB operation table and request parser.
 *
 * The parser decides which tables the gateway checks against a grant, so most tests
 * here are smuggling attempts: a table hidden where DynamoDB would read it, or bytes the
 * gateway and DynamoDB could read differently. Each must be found or refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "protocol/ddb_request.h"

#define T(op)  "DynamoDB_20120810." op
#define ST(op) "DynamoDBStreams_20120810." op
#define ARN    "arn:aws:dynamodb:us-east-1:123456789012:table/"

static ddb_request *req;
static bg_err err;

static int teardown(void **state)
{
	(void)state;
	ddb_request_free(req);
	req = NULL;
	return 0;
}

/* Parses body under target; NUL-terminated arguments for brevity. */
static int parse(const char *target, const char *body)
{
	ddb_request_free(req);
	req = NULL;
	bg_err_clear(&err);
	return ddb_request_parse(target, target ? strlen(target) : 0, body, body ? strlen(body) : 0,
	                         &req, &err);
}

static int parse_n(const char *target, const char *body, size_t len)
{
	ddb_request_free(req);
	req = NULL;
	bg_err_clear(&err);
	return ddb_request_parse(target, strlen(target), body, len, &req, &err);
}

/* Expects status; on failure also that no request came back and a message was set. */
static void expect(int got, int want)
{
	if (got != want)
		fail_msg("status %d, want %d (%s)", got, want, err.msg);
	if (want == DDB_OK) {
		assert_non_null(req);
	} else {
		assert_null(req);
		assert_true(err.msg[0] != '\0');
	}
}

/* Expects exactly the tables listed (NULL-terminated), in order. */
static void expect_tables(const char *first, ...)
{
	va_list ap;
	const char *t;
	size_t i = 0;

	va_start(ap, first);
	for (t = first; t != NULL; t = va_arg(ap, const char *), i++) {
		if (i >= ddb_request_ntables(req))
			fail_msg("missing table %s", t);
		assert_string_equal(ddb_request_table(req, i), t);
	}
	va_end(ap);
	assert_int_equal(ddb_request_ntables(req), i);
	assert_null(ddb_request_table(req, i));
}

/* ---- the operation table ---- */

static const char *const all_ddb_ops[] = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
    "ExecuteStatement",
    "BatchExecuteStatement",
    "ExecuteTransaction",
    "CreateTable",
    "DeleteTable",
    "DescribeTable",
    "UpdateTable",
    "ListTables",
    "DescribeLimits",
    "DescribeEndpoints",
    "TagResource",
    "UntagResource",
    "ListTagsOfResource",
    "UpdateTimeToLive",
    "DescribeTimeToLive",
    "CreateBackup",
    "DeleteBackup",
    "DescribeBackup",
    "ListBackups",
    "RestoreTableFromBackup",
    "RestoreTableToPointInTime",
    "DescribeContinuousBackups",
    "UpdateContinuousBackups",
    "CreateGlobalTable",
    "UpdateGlobalTable",
    "DescribeGlobalTable",
    "ListGlobalTables",
    "DescribeGlobalTableSettings",
    "UpdateGlobalTableSettings",
    "DescribeContributorInsights",
    "UpdateContributorInsights",
    "ListContributorInsights",
    "ExportTableToPointInTime",
    "DescribeExport",
    "ListExports",
    "ImportTable",
    "DescribeImport",
    "ListImports",
    "DescribeKinesisStreamingDestination",
    "EnableKinesisStreamingDestination",
    "DisableKinesisStreamingDestination",
    "UpdateKinesisStreamingDestination",
    "DescribeTableReplicaAutoScaling",
    "UpdateTableReplicaAutoScaling",
    "GetResourcePolicy",
    "PutResourcePolicy",
    "DeleteResourcePolicy",
    NULL,
};
static const char *const all_streams_ops[] = {"ListStreams", "DescribeStream", "GetShardIterator",
                                              "GetRecords", NULL};

static void test_op_table_complete(void **state)
{
	size_t i, j, n = 0;

	(void)state;
	for (i = 0; all_ddb_ops[i] != NULL; i++, n++) {
		const ddb_op_info *op = ddb_op_lookup(all_ddb_ops[i], strlen(all_ddb_ops[i]));
		if (op == NULL)
			fail_msg("missing %s", all_ddb_ops[i]);
		assert_int_equal(op->flags & DDB_F_STREAMS, 0);
		assert_string_equal(ddb_op_target_prefix(op), "DynamoDB_20120810.");
	}
	for (i = 0; all_streams_ops[i] != NULL; i++, n++) {
		const ddb_op_info *op =
		    ddb_op_lookup(all_streams_ops[i], strlen(all_streams_ops[i]));
		assert_non_null(op);
		assert_int_not_equal(op->flags & DDB_F_STREAMS, 0);
		assert_string_equal(ddb_op_target_prefix(op), "DynamoDBStreams_20120810.");
	}
	assert_int_equal(n, DDB_OP_COUNT);
	assert_int_equal(n, 61);
	for (i = 0; i < DDB_OP_COUNT; i++) {
		const ddb_op_info *op = ddb_op_by_id((ddb_op)i);
		assert_non_null(op);
		assert_int_equal(op->id, i);
		assert_ptr_equal(ddb_op_lookup(op->name, strlen(op->name)), op);
		assert_true(op->flags & (DDB_F_READ | DDB_F_WRITE));
		for (j = 0; j < i; j++)
			assert_string_not_equal(ddb_op_by_id((ddb_op)j)->name, op->name);
		/* Table rules are consistent with the shape. */
		if (op->shape == DDB_TABLES_FIELDS)
			assert_non_null(op->fields[0].key);
		else
			assert_null(op->fields[0].key);
		assert_int_equal(op->shape == DDB_TABLES_OPAQUE, (op->flags & DDB_F_OPAQUE) != 0);
		if (op->flags & DDB_F_PARTIQL)
			assert_int_not_equal(op->flags & DDB_F_OPAQUE, 0);
	}
	assert_null(ddb_op_by_id(DDB_OP_COUNT));
	assert_null(ddb_op_by_id((ddb_op)-1));
}

static void test_op_lookup_exact(void **state)
{
	(void)state;
	assert_non_null(ddb_op_lookup("GetItem", 7));
	assert_null(ddb_op_lookup("getitem", 7));
	assert_null(ddb_op_lookup("GETITEM", 7));
	assert_null(ddb_op_lookup("getItem", 7));
	assert_null(ddb_op_lookup("GetItem", 6));
	assert_null(ddb_op_lookup("GetItemX", 8));
	assert_null(ddb_op_lookup("GetItem ", 8));
	assert_null(ddb_op_lookup("GetItem\0", 8));
	assert_null(ddb_op_lookup("", 0));
	assert_null(ddb_op_lookup(NULL, 0));
	/* Not NUL-terminated: only len bytes count. */
	assert_non_null(ddb_op_lookup("QueryXYZ", 5));
}

static void test_op_classes(void **state)
{
	static const struct {
		const char *name;
		unsigned want, not_want;
	} cases[] = {
	    {"GetItem", DDB_F_READ, DDB_F_WRITE | DDB_F_SCAN | DDB_F_CONTROL},
	    {"PutItem", DDB_F_WRITE, DDB_F_READ | DDB_F_CONTROL},
	    {"Query", DDB_F_READ, DDB_F_SCAN | DDB_F_WRITE},
	    {"Scan", DDB_F_READ | DDB_F_SCAN, DDB_F_WRITE},
	    {"BatchGetItem", DDB_F_READ | DDB_F_BATCH, DDB_F_WRITE},
	    {"BatchWriteItem", DDB_F_WRITE | DDB_F_BATCH, DDB_F_READ},
	    {"TransactGetItems", DDB_F_READ | DDB_F_TRANSACTION, DDB_F_WRITE},
	    {"TransactWriteItems", DDB_F_WRITE | DDB_F_TRANSACTION, 0},
	    {"ExecuteStatement", DDB_F_PARTIQL | DDB_F_OPAQUE | DDB_F_READ | DDB_F_WRITE, 0},
	    {"BatchExecuteStatement", DDB_F_PARTIQL | DDB_F_BATCH | DDB_F_OPAQUE, 0},
	    {"ExecuteTransaction", DDB_F_PARTIQL | DDB_F_TRANSACTION | DDB_F_OPAQUE, 0},
	    {"CreateTable", DDB_F_CONTROL | DDB_F_WRITE, DDB_F_STREAMS},
	    {"DescribeTable", DDB_F_CONTROL | DDB_F_READ, DDB_F_WRITE},
	    {"ListTables", DDB_F_CONTROL | DDB_F_ACCOUNT, DDB_F_WRITE},
	    {"ExportTableToPointInTime", DDB_F_CONTROL | DDB_F_SCAN | DDB_F_READ, 0},
	    {"GetRecords", DDB_F_STREAMS | DDB_F_READ | DDB_F_OPAQUE, DDB_F_WRITE},
	    {"DescribeStream", DDB_F_STREAMS | DDB_F_READ, DDB_F_OPAQUE},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const ddb_op_info *op = ddb_op_lookup(cases[i].name, strlen(cases[i].name));
		assert_non_null(op);
		assert_int_equal(op->flags & cases[i].want, cases[i].want);
		assert_int_equal(op->flags & cases[i].not_want, 0);
	}
}

/* ---- every operation, with a realistic minimal body ---- */

static void test_every_op_tables(void **state)
{
	/* target, body, then the tables expected (up to two). */
	static const char *const cases[][4] = {
	    {T("GetItem"), "{\"TableName\":\"orders\",\"Key\":{\"pk\":{\"S\":\"1\"}}}", "orders"},
	    {T("PutItem"), "{\"TableName\":\"orders\",\"Item\":{\"pk\":{\"S\":\"1\"}}}", "orders"},
	    {T("UpdateItem"),
	     "{\"TableName\":\"orders\",\"Key\":{},\"UpdateExpression\":\"SET a=:a\"}", "orders"},
	    {T("DeleteItem"), "{\"TableName\":\"orders\",\"Key\":{}}", "orders"},
	    {T("Query"), "{\"TableName\":\"orders\",\"KeyConditionExpression\":\"pk=:p\"}",
	     "orders"},
	    {T("Scan"), "{\"TableName\":\"orders\"}", "orders"},
	    {T("BatchGetItem"), "{\"RequestItems\":{\"a_1\":{\"Keys\":[]},\"b-2\":{\"Keys\":[]}}}",
	     "a_1", "b-2"},
	    {T("BatchWriteItem"), "{\"RequestItems\":{\"a.1\":[],\"b.2\":[]}}", "a.1", "b.2"},
	    {T("TransactGetItems"),
	     "{\"TransactItems\":[{\"Get\":{\"TableName\":\"aaa\",\"Key\":{}}}]}", "aaa"},
	    {T("TransactWriteItems"),
	     "{\"TransactItems\":[{\"Put\":{\"TableName\":\"aaa\",\"Item\":{}}},"
	     "{\"ConditionCheck\":{\"TableName\":\"bbb\",\"Key\":{},"
	     "\"ConditionExpression\":\"x\"}}]}",
	     "aaa", "bbb"},
	    {T("ExecuteStatement"), "{\"Statement\":\"SELECT * FROM secret\"}"},
	    {T("BatchExecuteStatement"), "{\"Statements\":[{\"Statement\":\"SELECT 1\"}]}"},
	    {T("ExecuteTransaction"), "{\"TransactStatements\":[]}"},
	    {T("CreateTable"), "{\"TableName\":\"newt\",\"KeySchema\":[]}", "newt"},
	    {T("DeleteTable"), "{\"TableName\":\"oldt\"}", "oldt"},
	    {T("DescribeTable"), "{\"TableName\":\"desc\"}", "desc"},
	    {T("UpdateTable"), "{\"TableName\":\"upd\"}", "upd"},
	    {T("ListTables"), "{\"ExclusiveStartTableName\":\"zzz\",\"Limit\":10}"},
	    {T("DescribeLimits"), "{}"},
	    {T("DescribeEndpoints"), "{}"},
	    {T("TagResource"), "{\"ResourceArn\":\"" ARN "tagged\",\"Tags\":[]}", "tagged"},
	    {T("UntagResource"), "{\"ResourceArn\":\"" ARN "tagged/index/byDate\",\"TagKeys\":[]}",
	     "tagged"},
	    {T("ListTagsOfResource"), "{\"ResourceArn\":\"" ARN "tagged\"}", "tagged"},
	    {T("UpdateTimeToLive"), "{\"TableName\":\"ttl\",\"TimeToLiveSpecification\":{}}",
	     "ttl"},
	    {T("DescribeTimeToLive"), "{\"TableName\":\"ttl\"}", "ttl"},
	    {T("CreateBackup"), "{\"TableName\":\"bak\",\"BackupName\":\"b1\"}", "bak"},
	    {T("DeleteBackup"), "{\"BackupArn\":\"" ARN "bak/backup/01489602797149-73d8d5bc\"}",
	     "bak"},
	    {T("DescribeBackup"), "{\"BackupArn\":\"" ARN "bak/backup/01489602797149-73d8d5bc\"}",
	     "bak"},
	    {T("ListBackups"), "{}"},
	    {T("ListBackups"), "{\"TableName\":\"bak\"}", "bak"},
	    {T("RestoreTableFromBackup"),
	     "{\"BackupArn\":\"" ARN "src/backup/01489602797149-73d8d5bc\","
	     "\"TargetTableName\":\"dst\"}",
	     "src", "dst"},
	    {T("RestoreTableToPointInTime"),
	     "{\"SourceTableName\":\"src\",\"TargetTableName\":\"dst\"}", "src", "dst"},
	    {T("RestoreTableToPointInTime"),
	     "{\"SourceTableArn\":\"" ARN "src\",\"TargetTableName\":\"dst\"}", "src", "dst"},
	    {T("DescribeContinuousBackups"), "{\"TableName\":\"pitr\"}", "pitr"},
	    {T("UpdateContinuousBackups"), "{\"TableName\":\"pitr\"}", "pitr"},
	    {T("CreateGlobalTable"), "{\"GlobalTableName\":\"glob\",\"ReplicationGroup\":[]}",
	     "glob"},
	    {T("UpdateGlobalTable"), "{\"GlobalTableName\":\"glob\"}", "glob"},
	    {T("DescribeGlobalTable"), "{\"GlobalTableName\":\"glob\"}", "glob"},
	    {T("ListGlobalTables"), "{}"},
	    {T("DescribeGlobalTableSettings"), "{\"GlobalTableName\":\"glob\"}", "glob"},
	    {T("UpdateGlobalTableSettings"), "{\"GlobalTableName\":\"glob\"}", "glob"},
	    {T("DescribeContributorInsights"), "{\"TableName\":\"ci1\",\"IndexName\":\"gsi\"}",
	     "ci1"},
	    {T("UpdateContributorInsights"),
	     "{\"TableName\":\"ci1\",\"ContributorInsightsAction\":\"ENABLE\"}", "ci1"},
	    {T("ListContributorInsights"), "{}"},
	    {T("ExportTableToPointInTime"), "{\"TableArn\":\"" ARN "exp\",\"S3Bucket\":\"b\"}",
	     "exp"},
	    {T("DescribeExport"), "{\"ExportArn\":\"" ARN "exp/export/01234567890123-a1b2c3d4\"}",
	     "exp"},
	    {T("ListExports"), "{\"TableArn\":\"" ARN "exp\"}", "exp"},
	    {T("ImportTable"),
	     "{\"S3BucketSource\":{},\"InputFormat\":\"CSV\",\"TableCreationParameters\":"
	     "{\"TableName\":\"imp\",\"KeySchema\":[]}}",
	     "imp"},
	    {T("DescribeImport"), "{\"ImportArn\":\"" ARN "imp/import/01234567890123-a1b2c3d4\"}",
	     "imp"},
	    {T("ListImports"), "{}"},
	    {T("DescribeKinesisStreamingDestination"), "{\"TableName\":\"kin\"}", "kin"},
	    {T("EnableKinesisStreamingDestination"), "{\"TableName\":\"kin\",\"StreamArn\":\"x\"}",
	     "kin"},
	    {T("DisableKinesisStreamingDestination"), "{\"TableName\":\"kin\"}", "kin"},
	    {T("UpdateKinesisStreamingDestination"), "{\"TableName\":\"kin\"}", "kin"},
	    {T("DescribeTableReplicaAutoScaling"), "{\"TableName\":\"ras\"}", "ras"},
	    {T("UpdateTableReplicaAutoScaling"), "{\"TableName\":\"ras\"}", "ras"},
	    {T("GetResourcePolicy"), "{\"ResourceArn\":\"" ARN "pol\"}", "pol"},
	    {T("PutResourcePolicy"),
	     "{\"ResourceArn\":\"" ARN "pol/stream/2024-01-01T00:00:00.000\","
	     "\"Policy\":\"{}\"}",
	     "pol"},
	    {T("DeleteResourcePolicy"), "{\"ResourceArn\":\"" ARN "pol\"}", "pol"},
	    {ST("ListStreams"), "{}"},
	    {ST("ListStreams"), "{\"TableName\":\"str\"}", "str"},
	    {ST("DescribeStream"), "{\"StreamArn\":\"" ARN "str/stream/2024-01-01T00:00:00.000\"}",
	     "str"},
	    {ST("GetShardIterator"),
	     "{\"StreamArn\":\"" ARN "str/stream/2024-01-01T00:00:00.000\",\"ShardId\":\"s\","
	     "\"ShardIteratorType\":\"LATEST\"}",
	     "str"},
	    {ST("GetRecords"), "{\"ShardIterator\":\"opaque\"}"},
	};
	bool seen[DDB_OP_COUNT] = {false};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = parse(cases[i][0], cases[i][1]);
		if (st != DDB_OK)
			fail_msg("%s: status %d: %s", cases[i][0], st, err.msg);
		seen[ddb_request_op(req)->id] = true;
		assert_string_equal(ddb_request_op(req)->name, strchr(cases[i][0], '.') + 1);
		if (cases[i][3])
			expect_tables(cases[i][2], cases[i][3], NULL);
		else if (cases[i][2])
			expect_tables(cases[i][2], NULL);
		else
			expect_tables(NULL);
		assert_true(json_is_object(ddb_request_json(req)));
	}
	for (i = 0; i < DDB_OP_COUNT; i++)
		if (!seen[i])
			fail_msg("no case for %s", ddb_op_by_id((ddb_op)i)->name);
}

/* Operations that require a table refuse a body without one. */
static void test_required_tables(void **state)
{
	static const char *const ops[] = {"GetItem",
	                                  "PutItem",
	                                  "Query",
	                                  "Scan",
	                                  "BatchGetItem",
	                                  "BatchWriteItem",
	                                  "TransactGetItems",
	                                  "TransactWriteItems",
	                                  "CreateTable",
	                                  "DescribeTable",
	                                  "TagResource",
	                                  "DescribeBackup",
	                                  "RestoreTableFromBackup",
	                                  "RestoreTableToPointInTime",
	                                  "CreateGlobalTable",
	                                  "ExportTableToPointInTime",
	                                  "ImportTable",
	                                  "DescribeImport",
	                                  "DescribeExport",
	                                  "GetResourcePolicy",
	                                  NULL};
	char target[128];
	size_t i;

	(void)state;
	for (i = 0; ops[i] != NULL; i++) {
		snprintf(target, sizeof(target), "DynamoDB_20120810.%s", ops[i]);
		expect(parse(target, "{}"), DDB_E_VALIDATION);
	}
	expect(parse(ST("DescribeStream"), "{}"), DDB_E_VALIDATION);
	expect(parse(ST("GetShardIterator"), "{}"), DDB_E_VALIDATION);
}

static void test_validation_message_wording(void **state)
{
	(void)state;
	expect(parse(T("GetItem"), "{\"Key\":{}}"), DDB_E_VALIDATION);
	assert_string_equal(err.msg,
	                    "1 validation error detected: Value null at 'tableName' failed "
	                    "to satisfy constraint: Member must not be null");
	assert_int_equal(err.code, BG_EINVAL);
	/* JSON null is absent, as at DynamoDB. */
	expect(parse(T("GetItem"), "{\"TableName\":null}"), DDB_E_VALIDATION);
	assert_non_null(strstr(err.msg, "Value null at 'tableName'"));
	expect(parse(T("TransactWriteItems"),
	             "{\"TransactItems\":[{\"Put\":{\"TableName\":\"aaa\"}},{\"Update\":{}}]}"),
	       DDB_E_VALIDATION);
	assert_non_null(strstr(err.msg, "'transactItems.2.member.update.tableName'"));
}

/* ---- index ---- */

static void test_index(void **state)
{
	(void)state;
	expect(parse(T("Query"), "{\"TableName\":\"orders\",\"IndexName\":\"by-date\"}"), DDB_OK);
	assert_string_equal(ddb_request_index(req), "by-date");
	expect(parse(T("Scan"), "{\"TableName\":\"orders\",\"IndexName\":\"gsi_1\"}"), DDB_OK);
	assert_string_equal(ddb_request_index(req), "gsi_1");
	expect(parse(T("Query"), "{\"TableName\":\"orders\"}"), DDB_OK);
	assert_null(ddb_request_index(req));
	expect(parse(T("Query"), "{\"TableName\":\"orders\",\"IndexName\":null}"), DDB_OK);
	assert_null(ddb_request_index(req));
	expect(parse(T("Query"), "{\"TableName\":\"orders\",\"IndexName\":\"x\"}"),
	       DDB_E_VALIDATION);
	expect(parse(T("Query"), "{\"TableName\":\"orders\",\"IndexName\":7}"), DDB_E_VALIDATION);
	expect(parse(T("Query"), "{\"TableName\":\"orders\",\"IndexName\":[\"abc\"]}"),
	       DDB_E_VALIDATION);
	expect(parse(T("Query"), "{\"TableName\":\"orders\",\"IndexName\":\"" ARN "orders\"}"),
	       DDB_E_VALIDATION);
	/* GetItem reads no index. */
	expect(parse(T("GetItem"), "{\"TableName\":\"orders\",\"IndexName\":\"gsi\"}"), DDB_OK);
	assert_null(ddb_request_index(req));
}

/* ---- batches and transactions ---- */

static void test_batch_shapes(void **state)
{
	char *body;
	size_t i, off;

	(void)state;
	expect(parse(T("BatchGetItem"), "{\"RequestItems\":[]}"), DDB_E_VALIDATION);
	expect(parse(T("BatchGetItem"), "{\"RequestItems\":\"orders\"}"), DDB_E_VALIDATION);
	expect(parse(T("BatchGetItem"), "{\"RequestItems\":{}}"), DDB_E_VALIDATION);
	expect(parse(T("BatchGetItem"), "{\"RequestItems\":null}"), DDB_E_VALIDATION);
	expect(parse(T("BatchGetItem"), "{\"RequestItems\":{\"orders\":[]}}"), DDB_E_VALIDATION);
	expect(parse(T("BatchWriteItem"), "{\"RequestItems\":{\"orders\":{}}}"), DDB_E_VALIDATION);
	expect(parse(T("BatchWriteItem"), "{\"RequestItems\":{\"orders\":null}}"),
	       DDB_E_VALIDATION);
	expect(parse(T("BatchWriteItem"), "{\"RequestItems\":{\"o\":[]}}"), DDB_E_VALIDATION);
	expect(parse(T("BatchWriteItem"), "{\"RequestItems\":{\"bad name\":[]}}"),
	       DDB_E_VALIDATION);
	/* Table ARNs are valid RequestItems keys. */
	expect(
	    parse(T("BatchWriteItem"), "{\"RequestItems\":{\"" ARN "orders\":[],\"orders\":[]}}"),
	    DDB_OK);
	expect_tables("orders", "orders", NULL);
	assert_string_equal(ddb_request_table_arn(req, 0), ARN "orders");
	assert_null(ddb_request_table_arn(req, 1));

	/* BG_MAX_REQUEST_TABLES tables pass, one more does not. */
	body = malloc(64 * (BG_MAX_REQUEST_TABLES + 2));
	assert_non_null(body);
	for (i = 0; i <= BG_MAX_REQUEST_TABLES; i++) {
		size_t j;
		off = (size_t)snprintf(body, 64, "{\"RequestItems\":{");
		for (j = 0; j < i + 1; j++)
			off += (size_t)snprintf(body + off, 64, "%s\"t%05zu\":[]", j ? "," : "", j);
		snprintf(body + off, 64, "}}");
		if (i + 1 <= BG_MAX_REQUEST_TABLES) {
			if (i + 1 == BG_MAX_REQUEST_TABLES) {
				expect(parse(T("BatchWriteItem"), body), DDB_OK);
				assert_int_equal(ddb_request_ntables(req), BG_MAX_REQUEST_TABLES);
			}
		} else {
			expect(parse(T("BatchWriteItem"), body), DDB_E_VALIDATION);
		}
	}
	free(body);
}

static void test_transact_shapes(void **state)
{
	char *body;
	size_t i, off;

	(void)state;
	/* Every action's table is found, ConditionCheck included; repeats count once. */
	expect(parse(T("TransactWriteItems"),
	             "{\"TransactItems\":["
	             "{\"ConditionCheck\":{\"TableName\":\"hidden\",\"Key\":{},"
	             "\"ConditionExpression\":\"attribute_exists(pk)\"}},"
	             "{\"Put\":{\"TableName\":\"allowed\",\"Item\":{}}},"
	             "{\"Update\":{\"TableName\":\"allowed\",\"Key\":{}}},"
	             "{\"Delete\":{\"TableName\":\"third\",\"Key\":{}}}]}"),
	       DDB_OK);
	expect_tables("hidden", "allowed", "third", NULL);

	/* Two actions in one item, even with one null. */
	expect(parse(T("TransactWriteItems"),
	             "{\"TransactItems\":[{\"Put\":{\"TableName\":\"allowed\"},"
	             "\"Delete\":{\"TableName\":\"other\"}}]}"),
	       DDB_E_VALIDATION);
	expect(parse(T("TransactWriteItems"),
	             "{\"TransactItems\":[{\"Put\":null,\"Delete\":{\"TableName\":\"other\"}}]}"),
	       DDB_E_VALIDATION);
	/* No action, or the wrong family. */
	expect(parse(T("TransactWriteItems"), "{\"TransactItems\":[{}]}"), DDB_E_VALIDATION);
	expect(parse(T("TransactWriteItems"),
	             "{\"TransactItems\":[{\"Get\":{\"TableName\":\"aaa\"}}]}"),
	       DDB_E_VALIDATION);
	expect(
	    parse(T("TransactGetItems"), "{\"TransactItems\":[{\"Put\":{\"TableName\":\"aaa\"}}]}"),
	    DDB_E_VALIDATION);
	expect(parse(T("TransactGetItems"), "{\"TransactItems\":[{\"Get\":{\"TableName\":\"aaa\"},"
	                                    "\"ConditionCheck\":{\"TableName\":\"bbb\"}}]}"),
	       DDB_E_VALIDATION);
	/* Wrong types. */
	expect(parse(T("TransactWriteItems"), "{\"TransactItems\":{}}"), DDB_E_VALIDATION);
	expect(parse(T("TransactWriteItems"), "{\"TransactItems\":[]}"), DDB_E_VALIDATION);
	expect(parse(T("TransactWriteItems"), "{\"TransactItems\":[[]]}"), DDB_E_VALIDATION);
	expect(parse(T("TransactWriteItems"), "{\"TransactItems\":[\"Put\"]}"), DDB_E_VALIDATION);
	expect(parse(T("TransactWriteItems"), "{\"TransactItems\":[{\"Put\":[]}]}"),
	       DDB_E_VALIDATION);
	expect(parse(T("TransactWriteItems"), "{\"TransactItems\":[{\"Put\":{\"TableName\":1}}]}"),
	       DDB_E_VALIDATION);
	expect(parse(T("TransactWriteItems"), "{\"TransactItems\":[{\"Put\":{}}]}"),
	       DDB_E_VALIDATION);
	/* Case variants of actions and of TableName inside one. */
	expect(parse(T("TransactWriteItems"),
	             "{\"TransactItems\":[{\"Put\":{\"TableName\":\"aaa\"},"
	             "\"put\":{\"TableName\":\"bbb\"}}]}"),
	       DDB_E_VALIDATION);
	expect(parse(T("TransactWriteItems"), "{\"TransactItems\":[{\"Put\":{\"TableName\":\"aaa\","
	                                      "\"tableName\":\"bbb\"}}]}"),
	       DDB_E_VALIDATION);
	expect(parse(T("TransactWriteItems"),
	             "{\"TransactItems\":[{\"Put\":{\"TableName\":\"aaa\"},"
	             "\"ConditionChec\\u212a\":{\"TableName\":\"bbb\"}}]}"),
	       DDB_E_VALIDATION);

	/* 100 items pass, 101 do not. */
	body = malloc(64 * 102);
	assert_non_null(body);
	for (i = 100; i <= 101; i++) {
		size_t j;
		off = (size_t)snprintf(body, 64, "{\"TransactItems\":[");
		for (j = 0; j < i; j++)
			off += (size_t)snprintf(body + off, 64,
			                        "%s{\"Get\":{\"TableName\":\"t%03zu\"}}",
			                        j ? "," : "", j);
		snprintf(body + off, 64, "]}");
		expect(parse(T("TransactGetItems"), body), i == 100 ? DDB_OK : DDB_E_VALIDATION);
	}
	free(body);
}

/* ---- table names and ARNs ---- */

static void test_table_names(void **state)
{
	static const char *const bad[] = {
	    "{\"TableName\":\"ab\"}",
	    "{\"TableName\":\"\"}",
	    "{\"TableName\":\"a b c\"}",
	    "{\"TableName\":\"tab/le\"}",
	    "{\"TableName\":\"t\\u00e9ble\"}",
	    "{\"TableName\":\"orders,other\"}",
	    "{\"TableName\":\"orders*\"}",
	    "{\"TableName\":1}",
	    "{\"TableName\":true}",
	    "{\"TableName\":{\"S\":\"orders\"}}",
	    "{\"TableName\":[\"orders\"]}",
	    "{\"TableName\":\"arn:aws:dynamodb:us-east-1:123456789012:table/ab\"}",
	    "{\"TableName\":\"arn:aws:dynamodb:us-east-1:12345678901:table/orders\"}",
	    "{\"TableName\":\"arn:aws:dynamodb:us-east-1:1234567890123:table/orders\"}",
	    "{\"TableName\":\"arn:aws:dynamodb::123456789012:table/orders\"}",
	    "{\"TableName\":\"arn:aws:dynamodb:us-east-1:123456789012:table/\"}",
	    "{\"TableName\":\"arn:aws:dynamodb:us-east-1:123456789012:table/orders/\"}",
	    "{\"TableName\":\"arn:aws:dynamodb:us-east-1:123456789012:table/orders/index/gsi\"}",
	    "{\"TableName\":\"arn:aws:dynamodb:us-east-1:123456789012:global-table/orders\"}",
	    "{\"TableName\":\"arn:aws:s3:us-east-1:123456789012:table/orders\"}",
	    "{\"TableName\":\"arn:aws:dynamodb:us-east-1:123456789012:tablex/orders\"}",
	    "{\"TableName\":\"ARN:aws:dynamodb:us-east-1:123456789012:table/orders\"}",
	    "{\"TableName\":\"arn:AWS:dynamodb:us-east-1:123456789012:table/orders\"}",
	    "{\"TableName\":\"arn:aws:dynamodb:us-east-1:123456789012:table/orders \"}",
	};
	char body[600];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = parse(T("GetItem"), bad[i]);
		if (st != DDB_E_VALIDATION)
			fail_msg("accepted %s", bad[i]);
		expect(st, DDB_E_VALIDATION);
	}
	/* Length limits: 3 and 255 pass, 256 fails. */
	expect(parse(T("GetItem"), "{\"TableName\":\"abc\"}"), DDB_OK);
	snprintf(body, sizeof(body), "{\"TableName\":\"%0255d\"}", 0);
	expect(parse(T("GetItem"), body), DDB_OK);
	assert_int_equal(strlen(ddb_request_table(req, 0)), 255);
	snprintf(body, sizeof(body), "{\"TableName\":\"%0256d\"}", 0);
	expect(parse(T("GetItem"), body), DDB_E_VALIDATION);
	/* GlobalTableName takes a name only. */
	expect(parse(T("DescribeGlobalTable"), "{\"GlobalTableName\":\"" ARN "glob\"}"),
	       DDB_E_VALIDATION);
	/* Sub-resource ARNs must be of the right kind. */
	expect(parse(T("DescribeBackup"), "{\"BackupArn\":\"" ARN "bak\"}"), DDB_E_VALIDATION);
	expect(parse(T("DescribeBackup"), "{\"BackupArn\":\"" ARN "bak/export/x\"}"),
	       DDB_E_VALIDATION);
	expect(parse(T("DescribeBackup"), "{\"BackupArn\":\"" ARN "bak/backup/\"}"),
	       DDB_E_VALIDATION);
	expect(parse(T("DescribeBackup"), "{\"BackupArn\":\"" ARN "bak/backup/a,b\"}"),
	       DDB_E_VALIDATION);
	expect(parse(T("ExportTableToPointInTime"), "{\"TableArn\":\"exp\"}"), DDB_E_VALIDATION);
	expect(parse(T("TagResource"), "{\"ResourceArn\":\"" ARN "t01/backup/x\"}"),
	       DDB_E_VALIDATION);
	expect(parse(T("TagResource"),
	             "{\"ResourceArn\":\"arn:aws:dynamodb::123456789012:global-table/glob\"}"),
	       DDB_OK);
	expect_tables("glob", NULL);
	expect(parse(T("RestoreTableToPointInTime"), "{\"TargetTableName\":\"dst\"}"),
	       DDB_E_VALIDATION);
	assert_non_null(strstr(err.msg, "SourceTableArn or SourceTableName"));
}

static void test_table_arn(void **state)
{
	bg_buf b;

	(void)state;
	expect(parse(T("GetItem"), "{\"TableName\":\"" ARN "orders\"}"), DDB_OK);
	expect_tables("orders", NULL);
	assert_string_equal(ddb_request_table_arn(req, 0), ARN "orders");
	assert_true(ddb_request_has_arn(req));
	assert_true(ddb_request_arns_match(req, "aws", "us-east-1", "123456789012"));
	assert_false(ddb_request_arns_match(req, "aws", "us-east-1", "999999999999"));
	assert_false(ddb_request_arns_match(req, "aws", "eu-west-1", "123456789012"));
	assert_false(ddb_request_arns_match(req, "aws-cn", "us-east-1", "123456789012"));
	assert_false(ddb_request_arns_match(req, "aws", "us-east-1", "12345678901"));
	assert_false(ddb_request_arns_match(req, NULL, NULL, NULL));

	/* Another account's table of the same name is a different table. */
	expect(parse(T("TransactGetItems"),
	             "{\"TransactItems\":[{\"Get\":{\"TableName\":\"orders\"}},"
	             "{\"Get\":{\"TableName\":\"arn:aws:dynamodb:us-east-1:999999999999:table/"
	             "orders\"}},{\"Get\":{\"TableName\":\"orders\"}}]}"),
	       DDB_OK);
	expect_tables("orders", "orders", NULL);
	assert_false(ddb_request_arns_match(req, "aws", "us-east-1", "123456789012"));
	bg_buf_init(&b, 4096);
	assert_int_equal(ddb_request_tables_joined(req, &b), 0);
	assert_string_equal(b.data, "orders,arn:aws:dynamodb:us-east-1:999999999999:table/orders");
	bg_buf_free(&b);

	/* No ARN: matches trivially. */
	expect(parse(T("GetItem"), "{\"TableName\":\"orders\"}"), DDB_OK);
	assert_false(ddb_request_has_arn(req));
	assert_null(ddb_request_table_arn(req, 0));
	assert_null(ddb_request_table_arn(req, 1));
	assert_true(ddb_request_arns_match(req, NULL, NULL, NULL));

	/* Other partitions parse. */
	expect(parse(T("GetItem"),
	             "{\"TableName\":\"arn:aws-us-gov:dynamodb:us-gov-west-1:123456789012:table/"
	             "orders\"}"),
	       DDB_OK);
	assert_true(ddb_request_arns_match(req, "aws-us-gov", "us-gov-west-1", "123456789012"));
}

static void test_tables_joined(void **state)
{
	bg_buf b;

	(void)state;
	bg_buf_init(&b, 4096);
	expect(parse(T("BatchGetItem"), "{\"RequestItems\":{\"zeta\":{},\"alpha\":{}}}"), DDB_OK);
	assert_int_equal(ddb_request_tables_joined(req, &b), 0);
	assert_string_equal(b.data, "zeta,alpha");
	bg_buf_reset(&b);
	expect(parse(T("ListTables"), "{}"), DDB_OK);
	assert_int_equal(ddb_request_tables_joined(req, &b), 0);
	assert_int_equal(b.len, 0);
	bg_buf_free(&b);
	bg_buf_init(&b, 3);
	expect(parse(T("GetItem"), "{\"TableName\":\"orders\"}"), DDB_OK);
	assert_int_equal(ddb_request_tables_joined(req, &b), BG_ELIMIT);
	bg_buf_free(&b);
}

/* ---- smuggling through the JSON itself ---- */

static void test_duplicate_keys(void **state)
{
	(void)state;
	expect(parse(T("GetItem"), "{\"TableName\":\"allowed\",\"TableName\":\"secret\"}"),
	       DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "{\"TableName\":\"allowed\",\"Table\\u004eame\":\"secret\"}"),
	       DDB_E_SERIALIZATION);
	expect(parse(T("BatchGetItem"),
	             "{\"RequestItems\":{\"allowed\":{},\"allowed\":{\"Keys\":[]}}}"),
	       DDB_E_SERIALIZATION);
	expect(parse(T("TransactWriteItems"),
	             "{\"TransactItems\":[{\"Put\":{\"TableName\":\"allowed\","
	             "\"TableName\":\"secret\"}}]}"),
	       DDB_E_SERIALIZATION);
	/* Deep inside an item, where the gateway does not look for tables. */
	expect(parse(T("PutItem"),
	             "{\"TableName\":\"allowed\",\"Item\":{\"a\":{\"M\":{\"x\":{\"S\":"
	             "\"1\"},\"x\":{\"S\":\"2\"}}}}}"),
	       DDB_E_SERIALIZATION);
	assert_int_equal(err.code, BG_EINVAL);
}

static void test_case_variants(void **state)
{
	(void)state;
	expect(parse(T("GetItem"), "{\"TableName\":\"allowed\",\"tableName\":\"secret\"}"),
	       DDB_E_VALIDATION);
	expect(parse(T("GetItem"), "{\"TableName\":\"allowed\",\"TABLENAME\":\"secret\"}"),
	       DDB_E_VALIDATION);
	expect(parse(T("GetItem"), "{\"tablename\":\"secret\"}"), DDB_E_VALIDATION);
	expect(parse(T("Query"), "{\"TableName\":\"allowed\",\"\\u0131ndexName\":\"gsi\"}"),
	       DDB_E_VALIDATION);
	expect(parse(T("BatchGetItem"), "{\"RequestItems\":{\"aaa\":{}},\"requestItems\":{}}"),
	       DDB_E_VALIDATION);
	/* A member of another operation, but still refused: cheap and uniform. */
	expect(parse(T("GetItem"), "{\"TableName\":\"allowed\",\"transactitems\":[]}"),
	       DDB_E_VALIDATION);
	/* Unrelated unknown members are DynamoDB's business. */
	expect(parse(T("GetItem"), "{\"TableName\":\"allowed\",\"TableNameX\":\"secret\"}"),
	       DDB_OK);
	expect(parse(T("ImportTable"), "{\"TableCreationParameters\":{\"TableName\":\"imp\","
	                               "\"TABLEname\":\"secret\"}}"),
	       DDB_E_VALIDATION);
}

/* {"TableName":"abc","X":[[[...]]]}: the object plus n arrays, n + 1 levels in all. */
static char *nested_body(size_t n)
{
	static const char head[] = "{\"TableName\":\"abc\",\"X\":";
	size_t i, off = sizeof(head) - 1;
	char *b = malloc(off + 2 * n + 2);

	assert_non_null(b);
	memcpy(b, head, off);
	for (i = 0; i < n; i++)
		b[off++] = '[';
	for (i = 0; i < n; i++)
		b[off++] = ']';
	memcpy(b + off, "}", 2);
	return b;
}

static void test_depth_limit(void **state)
{
	char *b;
	char s[256];

	(void)state;
	b = nested_body(BG_MAX_JSON_DEPTH - 1);
	expect(parse(T("GetItem"), b), DDB_OK);
	free(b);
	b = nested_body(BG_MAX_JSON_DEPTH);
	expect(parse(T("GetItem"), b), DDB_E_VALIDATION);
	assert_string_equal(err.msg, "Nesting Levels have exceeded supported limits");
	free(b);
	/* Far beyond jansson's own limit: refused before jansson recurses. */
	b = nested_body(100000);
	expect(parse(T("GetItem"), b), DDB_E_VALIDATION);
	free(b);
	/* Brackets inside strings, and escaped quotes, do not count. */
	b = malloc(4 * BG_MAX_JSON_DEPTH + 64);
	assert_non_null(b);
	memcpy(b, "{\"TableName\":\"abc\",\"X\":\"\\\"", 26);
	memset(b + 26, '[', 2 * BG_MAX_JSON_DEPTH);
	memcpy(b + 26 + 2 * BG_MAX_JSON_DEPTH, "\"}", 3);
	expect(parse(T("GetItem"), b), DDB_OK);
	free(b);
	snprintf(s, sizeof(s), "{\"TableName\":\"abc\",\"X\":\"\\\\\",\"Y\":[[]]}");
	expect(parse(T("GetItem"), s), DDB_OK);
}

static void test_not_an_object(void **state)
{
	(void)state;
	expect(parse(T("GetItem"), "[{\"TableName\":\"abc\"}]"), DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "[]"), DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "\"TableName\""), DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "42"), DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "null"), DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "true"), DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "{"), DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "{'TableName':'abc'}"), DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "{\"TableName\":\"abc\",}"), DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "{\"TableName\":\"abc\" /* c */}"), DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "\xef\xbb\xbf{\"TableName\":\"abc\"}"), DDB_E_SERIALIZATION);
}

static void test_empty_body(void **state)
{
	(void)state;
	expect(parse(T("ListTables"), ""), DDB_E_SERIALIZATION);
	expect(parse(T("ListTables"), NULL), DDB_E_SERIALIZATION);
	expect(parse(T("ListTables"), " "), DDB_E_SERIALIZATION);
	expect(parse(T("ListTables"), "{}"), DDB_OK);
	expect(parse(T("ListTables"), " \r\n\t{}\n"), DDB_OK);
}

static void test_trailing_garbage(void **state)
{
	(void)state;
	expect(parse(T("GetItem"), "{\"TableName\":\"abc\"}x"), DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "{\"TableName\":\"abc\"}{\"TableName\":\"secret\"}"),
	       DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "{\"TableName\":\"abc\"}]"), DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "{\"TableName\":\"abc\"}\n"), DDB_OK);
}

static void test_nul_bytes(void **state)
{
	static const char after[] = "{\"TableName\":\"abc\"}\0{\"TableName\":\"secret\"}";
	static const char inside[] = "{\"TableName\":\"abc\0secret\"}";
	static const char key[] = "{\"TableName\0\":\"abc\"}";

	(void)state;
	expect(parse_n(T("GetItem"), after, sizeof(after) - 1), DDB_E_SERIALIZATION);
	expect(parse_n(T("GetItem"), inside, sizeof(inside) - 1), DDB_E_SERIALIZATION);
	expect(parse_n(T("GetItem"), key, sizeof(key) - 1), DDB_E_SERIALIZATION);
	/* Escaped NULs too: jansson refuses them without JSON_ALLOW_NUL. */
	expect(parse(T("GetItem"), "{\"TableName\":\"abc\\u0000secret\"}"), DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "{\"TableName\\u0000x\":\"abc\"}"), DDB_E_SERIALIZATION);
	/* Only len bytes are read: a body need not be NUL-terminated. */
	expect(parse_n(T("GetItem"), "{\"TableName\":\"abc\"}GARBAGE", 19), DDB_OK);
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	expect(parse(T("GetItem"), "{\"TableName\":\"abc\",\"X\":\"\xff\"}"), DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "{\"TableName\":\"abc\",\"X\":\"\xc0\xaf\"}"),
	       DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "{\"TableName\":\"abc\",\"X\":\"\xed\xa0\x80\"}"),
	       DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "{\"TableName\":\"abc\",\"X\":\"\\ud800\"}"),
	       DDB_E_SERIALIZATION);
	expect(parse(T("GetItem"), "{\"TableName\":\"abc\",\"\xe2\x82\":1}"), DDB_E_SERIALIZATION);
	/* Valid multi-byte text is fine. */
	expect(parse(T("GetItem"), "{\"TableName\":\"abc\",\"X\":\"\xc3\xa9\xe2\x82\xac\"}"),
	       DDB_OK);
}

static void test_huge_body(void **state)
{
	char *b = malloc(BG_MAX_REQUEST_BODY + 1);

	(void)state;
	assert_non_null(b);
	memset(b, ' ', BG_MAX_REQUEST_BODY + 1);
	b[0] = '{';
	b[BG_MAX_REQUEST_BODY - 1] = '}';
	expect(parse_n(T("ListTables"), b, BG_MAX_REQUEST_BODY), DDB_OK);
	b[BG_MAX_REQUEST_BODY - 1] = ' ';
	b[BG_MAX_REQUEST_BODY] = '}';
	expect(parse_n(T("ListTables"), b, BG_MAX_REQUEST_BODY + 1), DDB_E_TOO_LARGE);
	assert_int_equal(err.code, BG_ELIMIT);
	assert_int_equal(ddb_request_error_kind(DDB_E_TOO_LARGE), DDB_ERR_TOO_LARGE);
	free(b);
}

/* ---- the target header ---- */

static void test_targets(void **state)
{
	static const char *const bad[] = {
	    "DynamoDB_20111205.GetItem",
	    "dynamodb_20120810.GetItem",
	    "DynamoDB_20120810GetItem",
	    "DynamoDB_20120810.",
	    "DynamoDB_20120810..GetItem",
	    "DynamoDB_20120810.getItem",
	    "DynamoDB_20120810.getitem",
	    "DynamoDB_20120810.GETITEM",
	    "DynamoDB_20120810.GetItem ",
	    " DynamoDB_20120810.GetItem",
	    "DynamoDB_20120810.GetItem.GetItem",
	    "DynamoDB_20120810.ListStreams",
	    "DynamoDB_20120810.GetRecords",
	    "DynamoDBStreams_20120810.GetItem",
	    "DynamoDBStreams_20120810.DescribeTable",
	    "DynamoDBStreams_20120810.",
	    "GetItem",
	    "",
	};
	static const char nul_target[] = "DynamoDB_20120810.GetItem\0";
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = parse(bad[i], "{\"TableName\":\"abc\"}");
		if (st != DDB_E_UNKNOWN_OPERATION)
			fail_msg("accepted target '%s'", bad[i]);
		expect(st, DDB_E_UNKNOWN_OPERATION);
	}
	expect(parse(NULL, "{}"), DDB_E_UNKNOWN_OPERATION);
	assert_int_equal(ddb_request_parse(nul_target, sizeof(nul_target) - 1, "{}", 2, &req, &err),
	                 DDB_E_UNKNOWN_OPERATION);
	/* Only target_len bytes are read. */
	assert_int_equal(ddb_request_parse("DynamoDB_20120810.ScanXYZ", 22,
	                                   "{\"TableName\":\"abc\"}", 19, &req, &err),
	                 DDB_OK);
	assert_int_equal(ddb_request_op(req)->id, DDB_OP_SCAN);
	expect(parse(ST("GetRecords"), "{\"ShardIterator\":\"x\"}"), DDB_OK);
	assert_int_equal(ddb_request_op(req)->id, DDB_OP_STREAMS_GET_RECORDS);
	assert_int_equal(ddb_request_ntables(req), 0);
}

static void test_error_kinds(void **state)
{
	(void)state;
	assert_int_equal(ddb_request_error_kind(DDB_E_UNKNOWN_OPERATION),
	                 DDB_ERR_UNKNOWN_OPERATION);
	assert_int_equal(ddb_request_error_kind(DDB_E_SERIALIZATION), DDB_ERR_SERIALIZATION);
	assert_int_equal(ddb_request_error_kind(DDB_E_VALIDATION), DDB_ERR_VALIDATION);
	assert_int_equal(ddb_request_error_kind(DDB_E_TOO_LARGE), DDB_ERR_TOO_LARGE);
	assert_int_equal(ddb_request_error_kind(DDB_E_INTERNAL), DDB_ERR_INTERNAL);
	assert_int_equal(ddb_request_error_kind(12345), DDB_ERR_INTERNAL);
}

/* A failed parse's message makes a valid error body and never quotes the request. */
static void test_messages_are_safe(void **state)
{
	static const char *const bodies[] = {
	    "{\"TableName\":\"<script>\\\"x\"}",
	    "{\"TableName\":\"arn:aws:dynamodb:us-east-1:123456789012:table/\\n<evil>\"}",
	    "{\"TableName\":\"SECRET-TOKEN\",\"TableName\":\"SECRET-TOKEN\"}",
	    "{\"RequestItems\":{\"SECRET TOKEN\":[]}}",
	};
	static const char *const targets[] = {T("GetItem"), T("GetItem"), T("GetItem"),
	                                      T("BatchWriteItem")};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		int st = parse(targets[i], bodies[i]);
		bg_buf b;
		json_t *j;
		assert_int_not_equal(st, DDB_OK);
		assert_null(strstr(err.msg, "SECRET"));
		assert_null(strstr(err.msg, "evil"));
		assert_null(strstr(err.msg, "script"));
		bg_buf_init(&b, 4096);
		assert_int_equal(ddb_error_body(ddb_request_error_kind(st), err.msg, &b), 0);
		j = json_loadb(b.data, b.len, 0, NULL);
		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(j, "__type")),
		                    ddb_error_type(ddb_request_error_kind(st)));
		json_decref(j);
		bg_buf_free(&b);
	}
}

static void test_free_null_and_accessors(void **state)
{
	(void)state;
	ddb_request_free(NULL);
	assert_null(ddb_request_op(NULL));
	assert_int_equal(ddb_request_ntables(NULL), 0);
	assert_null(ddb_request_table(NULL, 0));
	assert_null(ddb_request_index(NULL));
	assert_null(ddb_request_json(NULL));
	assert_int_equal(ddb_request_parse(T("ListTables"), 28, "{}", 2, NULL, NULL),
	                 DDB_E_INTERNAL);
	/* e may be NULL. */
	assert_int_equal(ddb_request_parse("x", 1, "{}", 2, &req, NULL), DDB_E_UNKNOWN_OPERATION);
	assert_null(req);
}

#define TEST(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_op_table_complete),
	    TEST(test_op_lookup_exact),
	    TEST(test_op_classes),
	    TEST(test_every_op_tables),
	    TEST(test_required_tables),
	    TEST(test_validation_message_wording),
	    TEST(test_index),
	    TEST(test_batch_shapes),
	    TEST(test_transact_shapes),
	    TEST(test_table_names),
	    TEST(test_table_arn),
	    TEST(test_tables_joined),
	    TEST(test_duplicate_keys),
	    TEST(test_case_variants),
	    TEST(test_depth_limit),
	    TEST(test_not_an_object),
	    TEST(test_empty_body),
	    TEST(test_trailing_garbage),
	    TEST(test_nul_bytes),
	    TEST(test_invalid_utf8),
	    TEST(test_huge_body),
	    TEST(test_targets),
	    TEST(test_error_kinds),
	    TEST(test_messages_are_safe),
	    TEST(test_free_null_and_accessors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
