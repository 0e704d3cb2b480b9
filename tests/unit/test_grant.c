/*
 * test_grant.c - grants: minting validates what it is given and derives the same
 * credentials every time (and different ones per grant), and grant_check lets through
 * exactly the granted operations on the granted tables, refusing every way around it
 * that the request parser can see (batch and transaction items naming other tables,
 * PartiQL, opaque shard iterators, tables named by ARN, table-less requests).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workflow/grant.h"

static char keypath[64];
static keyring *kr;

static int setup(void **state)
{
	int fd;
	bg_err e;

	snprintf(keypath, sizeof(keypath), "/tmp/bg-test-grant-XXXXXX");
	fd = mkstemp(keypath);
	if (fd < 0)
		return -1;
	close(fd);
	unlink(keypath);
	return keyring_load(keypath, true, &kr, &e);
}

static int teardown(void **state)
{
	keyring_free(kr);
	return unlink(keypath);
}

static void make_grant(store_grant *g, const char *tables, const char *ops)
{
	char buf[512], *p, *save = NULL;

	memset(g, 0, sizeof(*g));
	snprintf(g->user, sizeof(g->user), "oncall");
	snprintf(g->created_by, sizeof(g->created_by), "admin");
	snprintf(g->kind, sizeof(g->kind), "direct");
	snprintf(buf, sizeof(buf), "%s", tables);
	for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
		snprintf(g->tables[g->n_tables++], sizeof(g->tables[0]), "%s", p);
	snprintf(buf, sizeof(buf), "%s", ops);
	save = NULL;
	for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
		snprintf(g->ops[g->n_ops++], sizeof(g->ops[0]), "%s", p);
	g->expires_at = 2000000000 + 900;
}

static void test_mint(void **state)
{
	store_grant a, b;
	grant_creds ca, ca2, cb;
	bg_err e;

	make_grant(&a, "Orders", "Query,GetItem");
	make_grant(&b, "Orders", "Query");
	assert_int_equal(grant_mint(kr, &a, 2000000000, &e), 0);
	assert_int_equal(grant_mint(kr, &b, 2000000000, &e), 0);
	assert_int_equal(strlen(a.id), 13);
	assert_memory_equal(a.id, "bg-", 3);
	assert_int_equal(strlen(a.access_key_id), 20);
	assert_memory_equal(a.access_key_id, "BGIA", 4);
	assert_string_not_equal(a.id, b.id);
	assert_string_not_equal(a.access_key_id, b.access_key_id);

	grant_credentials(kr, &a, &ca);
	grant_credentials(kr, &a, &ca2);
	grant_credentials(kr, &b, &cb);
	assert_memory_equal(&ca, &ca2, sizeof(ca));
	assert_string_not_equal(ca.secret_access_key, cb.secret_access_key);
	assert_string_not_equal(ca.session_token, cb.session_token);
	assert_int_equal(strlen(ca.secret_access_key), GRANT_SECRET_LEN);
	{
		uint8_t h[32];
		bg_sha256(ca.session_token, strlen(ca.session_token), h);
		assert_memory_equal(h, a.session_token_hash, 32);
	}
}

static void test_mint_refuses(void **state)
{
	store_grant g;
	bg_err e;

	make_grant(&g, "Orders", "Scan,ExecuteStatement");
	assert_int_equal(grant_mint(kr, &g, 2000000000, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "ExecuteStatement"));
	make_grant(&g, "Orders", "GetRecords");
	assert_int_equal(grant_mint(kr, &g, 2000000000, &e), BG_EINVAL);
	make_grant(&g, "Orders", "Frobnicate");
	assert_int_equal(grant_mint(kr, &g, 2000000000, &e), BG_EINVAL);
	make_grant(&g, "Or ders", "Query");
	assert_int_equal(grant_mint(kr, &g, 2000000000, &e), BG_EINVAL);
	make_grant(&g, "Orders", "Query");
	g.expires_at = 2000000000 + BG_MAX_GRANT_SECONDS + 1;
	assert_int_equal(grant_mint(kr, &g, 2000000000, &e), BG_EINVAL);
	g.expires_at = 2000000000;
	assert_int_equal(grant_mint(kr, &g, 2000000000, &e), BG_EINVAL);
	assert_int_equal(grant_op_valid("Query", &e), 0);
}

static void test_status(void **state)
{
	store_grant g;

	make_grant(&g, "Orders", "Query");
	g.expires_at = 100;
	assert_int_equal(grant_status(&g, 99), GRANT_ACTIVE);
	assert_int_equal(grant_status(&g, 100), GRANT_EXPIRED);
	g.revoked_at = 50;
	assert_int_equal(grant_status(&g, 99), GRANT_REVOKED);
	assert_string_equal(grant_state_name(GRANT_REVOKED), "revoked");
}

/* Parses target+body and checks it against g; returns grant_check's result. */
static int check(const store_grant *g, const char *op, const char *body)
{
	char target[128];
	ddb_request *r = NULL;
	bg_err e;
	int rc;

	snprintf(target, sizeof(target), "%s%s",
	         strncmp(op, "Streams.", 8) == 0 ? "DynamoDBStreams_20120810."
	                                         : "DynamoDB_20120810.",
	         strncmp(op, "Streams.", 8) == 0 ? op + 8 : op);
	rc = ddb_request_parse(target, strlen(target), body, strlen(body), &r, &e);
	assert_int_equal(rc, DDB_OK);
	rc = grant_check(g, r, &e);
	ddb_request_free(r);
	return rc;
}

static void test_check(void **state)
{
	store_grant g;

	make_grant(&g, "Orders,Customers", "Query,GetItem,BatchGetItem,TransactWriteItems");
	assert_int_equal(check(&g, "Query", "{\"TableName\":\"Orders\"}"), 0);
	assert_int_equal(check(&g, "GetItem", "{\"TableName\":\"Customers\",\"Key\":{}}"), 0);
	assert_int_equal(check(&g, "Scan", "{\"TableName\":\"Orders\"}"), BG_EDENIED);
	assert_int_equal(check(&g, "Query", "{\"TableName\":\"Secrets\"}"), BG_EDENIED);
	assert_int_equal(check(&g, "Query", "{\"TableName\":\"orders\"}"), BG_EDENIED);
	assert_int_equal(check(&g, "BatchGetItem",
	                       "{\"RequestItems\":{\"Orders\":{\"Keys\":[{}]},"
	                       "\"Customers\":{\"Keys\":[{}]}}}"),
	                 0);
	assert_int_equal(check(&g, "BatchGetItem",
	                       "{\"RequestItems\":{\"Orders\":{\"Keys\":[{}]},"
	                       "\"Secrets\":{\"Keys\":[{}]}}}"),
	                 BG_EDENIED);
	/* A ConditionCheck on another table inside a granted transaction. */
	assert_int_equal(
	    check(&g, "TransactWriteItems",
	          "{\"TransactItems\":[{\"Put\":{\"TableName\":\"Orders\",\"Item\":{}}},"
	          "{\"ConditionCheck\":{\"TableName\":\"Secrets\",\"Key\":{},"
	          "\"ConditionExpression\":\"a\"}}]}"),
	    BG_EDENIED);
	/* Another account's table of the same name, by ARN. */
	assert_int_equal(check(&g, "Query",
	                       "{\"TableName\":\"arn:aws:dynamodb:us-east-1:999999999999:table/"
	                       "Orders\"}"),
	                 BG_EDENIED);
}

static void test_check_tableless(void **state)
{
	store_grant g;

	make_grant(&g, "Orders", "Query,ListTables");
	assert_int_equal(check(&g, "ListTables", "{}"), 0);
	assert_int_equal(check(&g, "ExecuteStatement", "{\"Statement\":\"SELECT * FROM Orders\"}"),
	                 BG_EDENIED);
	/* Even if a grant row somehow names them, opaque operations never pass. */
	snprintf(g.ops[g.n_ops++], sizeof(g.ops[0]), "GetRecords");
	assert_int_equal(check(&g, "Streams.GetRecords", "{\"ShardIterator\":\"abc\"}"),
	                 BG_EDENIED);
	snprintf(g.ops[g.n_ops++], sizeof(g.ops[0]), "ExecuteStatement");
	assert_int_equal(check(&g, "ExecuteStatement", "{\"Statement\":\"SELECT * FROM Orders\"}"),
	                 BG_EDENIED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mint),
	    cmocka_unit_test(test_mint_refuses),
	    cmocka_unit_test(test_status),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_check_tableless),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
