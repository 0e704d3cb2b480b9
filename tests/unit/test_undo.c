/*
 * test_undo.c - the service layer's undo (workflow/undo.c, svc_undo) on a real store and
 * audit log, with DynamoDB played by a fake table of one item: the grant's user undoes a
 * write (the before-image put back under a condition, the restore's request and response
 * on the record), once; another responder may not; an admin may, without naming the
 * grant; a change since the write refuses with the difference and sends nothing; a change
 * between the check and the restore is DynamoDB's refusal; a masked or missing
 * before-image, a failed write and a record that is not a write are refused; a PutItem
 * that created the item is undone by a DeleteItem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "unit_util.h"

#include "svc_fixture.h"

#include "common/clock.h"

static char dir[128];
static svc sv;
static svc_caller adm, rob, eve;
static store_grant grant;

/* The fake DynamoDB: one item (NULL: none), what was called, and whether the next write
 * fails its condition. */
static struct {
	json_t *item;
	int gets, writes;
	char last_op[32];
	json_t *last_body;
	bool fail_condition;
} F;

static int fake_call(void *ctx, const char *op, const json_t *body, long *status, json_t **answer,
                     bool *sent, char *why, size_t n)
{
	(void)ctx;
	(void)why;
	(void)n;
	*sent = true;
	*status = 200;
	snprintf(F.last_op, sizeof(F.last_op), "%s", op);
	json_decref(F.last_body);
	F.last_body = json_deep_copy(body);
	if (strcmp(op, "GetItem") == 0) {
		F.gets++;
		*answer = F.item != NULL ? json_pack("{s:O}", "Item", F.item) : json_object();
		return 0;
	}
	F.writes++;
	if (F.fail_condition) {
		*status = 400;
		*answer =
		    json_pack("{s:s,s:s}", "__type",
		              "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
		              "message", "The conditional request failed");
		return 0;
	}
	json_decref(F.item);
	F.item = strcmp(op, "PutItem") == 0 ? json_deep_copy(json_object_get(body, "Item")) : NULL;
	*answer = json_object();
	return 0;
}

static const svc_ddb ddb = {fake_call, NULL};

static json_t *J(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);

	assert_non_null(v);
	return v;
}

static const char key[] = "{\"pk\":{\"S\":\"C#42\"},\"sk\":{\"S\":\"O#1\"}}";
static const char stuck[] =
    "{\"pk\":{\"S\":\"C#42\"},\"sk\":{\"S\":\"O#1\"},\"status\":{\"S\":\"STUCK\"},\"total\":{\"N\":"
    "\"19.90\"}}";
static const char pending[] =
    "{\"pk\":{\"S\":\"C#42\"},\"sk\":{\"S\":\"O#1\"},\"status\":{\"S\":\"PENDING\"},\"total\":{"
    "\"N\":\"19.9\"}}";

/* A write as the pipeline records it: its request (body) and response (status, detail);
 * returns the response's seq, *req_seq the request's. */
static int64_t write_records(const char *rid, const char *op, const char *body, int status,
                             const char *resp_detail, int64_t *req_seq)
{
	audit_record rec;
	json_t *d = json_pack("{s:o}", "body", J(body));
	int64_t seq = 0;
	bg_err e;

	memset(&rec, 0, sizeof(rec));
	rec.kind = "request";
	rec.actor = "rob";
	rec.grant_id = grant.id;
	rec.request_id = rid;
	rec.op = op;
	rec.tables = "orders";
	rec.decision = "allow";
	rec.detail = d;
	assert_int_equal(audit_append(sv.audit, &rec, req_seq, &e), 0);
	json_decref(d);
	d = J(resp_detail);
	rec.kind = "response";
	rec.decision = NULL;
	rec.status = status;
	rec.detail = d;
	assert_int_equal(audit_append(sv.audit, &rec, &seq, &e), 0);
	json_decref(d);
	return seq;
}

static const char update[] =
    "{\"TableName\":\"orders\",\"Key\":{\"pk\":{\"S\":\"C#42\"},\"sk\":{\"S\":\"O#1\"}},"
    "\"UpdateExpression\":\"SET #s = :new\",\"ConditionExpression\":\"#s = :stuck\","
    "\"ExpressionAttributeNames\":{\"#s\":\"status\"},\"ExpressionAttributeValues\":{\":new\":"
    "{\"S\":\"PENDING\"},\":stuck\":{\"S\":\"STUCK\"}}}";

static int64_t an_update(const char *rid, int64_t *req_seq)
{
	char detail[1024];

	snprintf(detail, sizeof(detail),
	         "{\"outcome\":\"answered\",\"before_image\":%s,\"key\":%s}", stuck, key);
	json_decref(F.item);
	F.item = J(pending); /* the write happened: the item is what it left */
	return write_records(rid, "UpdateItem", update, 200, detail, req_seq);
}

/* The newest record (the read stops at the first). */
static int keep_first(void *ctx, json_t *rec)
{
	*(json_t **)ctx = json_incref(rec);
	return 1;
}

static json_t *newest(void)
{
	json_t *rec = NULL;
	bg_err e;

	assert_int_equal(audit_read_back(sv.audit, 0, 1, keep_first, &rec, &e), 0);
	return rec;
}

static int setup(void **state)
{
	static const char *const tables[] = {"orders"}, *const ops[] = {"UpdateItem", "PutItem"};
	svc_grant_input in;
	bg_err e;

	(void)state;
	if (ut_svc_open(dir, sizeof(dir), "undo", &sv) != 0)
		return -1;
	ut_svc_caller(&sv, "ada", USER_ROLE_ADMIN, &adm);
	ut_svc_caller(&sv, "rob", USER_ROLE_RESPONDER, &rob);
	ut_svc_caller(&sv, "eve", USER_ROLE_RESPONDER, &eve);
	memset(&in, 0, sizeof(in));
	in.user = "rob";
	in.tables = tables;
	in.n_tables = 1;
	in.ops = ops;
	in.n_ops = 2;
	in.duration_seconds = 900;
	in.reason = "INC-9: stuck orders";
	return svc_grant_create(&sv, &adm, &in, &grant, NULL, &e) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(F.item);
	json_decref(F.last_body);
	return ut_svc_close(dir, &sv);
}

static void test_undo_by_grantee_once(void **state)
{
	int64_t req_seq, seq = an_update("w1", &req_seq);
	json_t *out = NULL, *rec, *want;
	bg_err e;

	(void)state;
	/* Another responder: not their grant. Nothing is read or written. */
	F.gets = F.writes = 0;
	assert_int_equal(svc_undo(&sv, &eve, seq, grant.id, &ddb, &out, &e), BG_EDENIED);
	/* ...told nothing about whose write it is. */
	assert_non_null(strstr(e.msg, "is not a write of that grant of yours"));
	assert_null(strstr(e.msg, "rob"));
	assert_null(out);
	assert_int_equal(F.gets + F.writes, 0);
	rec = newest();
	assert_string_equal(json_string_value(json_object_get(rec, "kind")), "undo");
	assert_string_equal(json_string_value(json_object_get(rec, "decision")), "deny");
	json_decref(rec);
	/* Another grant named: refused. */
	assert_int_equal(svc_undo(&sv, &rob, seq, "bg-AAAAAAAAAA", &ddb, &out, &e), BG_EDENIED);
	/* The grantee, by the request's seq: the before-image is put back. */
	assert_int_equal(svc_undo(&sv, &rob, req_seq, grant.id, &ddb, &out, &e), 0);
	assert_string_equal(F.last_op, "PutItem");
	want = J(stuck);
	assert_true(json_equal(F.item, want));
	assert_string_equal(json_string_value(json_object_get(F.last_body, "ConditionExpression")),
	                    "#u0 = :u0 AND #u1 = :u1 AND #u2 = :u2 AND #u3 = :u3");
	json_decref(want);
	assert_int_equal(json_integer_value(json_object_get(out, "undo_of")), seq);
	assert_int_equal(json_integer_value(json_object_get(out, "response_seq")),
	                 json_integer_value(json_object_get(out, "request_seq")) + 1);
	json_decref(out);
	out = NULL;
	rec = newest();
	assert_string_equal(json_string_value(json_object_get(rec, "kind")), "response");
	assert_int_equal(json_integer_value(json_object_get(rec, "status")), 200);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(rec, "detail"), "undo_of")), seq);
	json_decref(rec);
	/* Once. */
	F.writes = 0;
	assert_int_equal(svc_undo(&sv, &rob, seq, grant.id, &ddb, &out, &e), BG_EEXISTS);
	assert_non_null(strstr(e.msg, "undone already"));
	assert_int_equal(F.writes, 0);
}

static void test_changed_since(void **state)
{
	int64_t seq = an_update("w2", NULL);
	json_t *out = NULL, *d, *now;
	bg_err e;

	(void)state;
	json_decref(F.item);
	now = J(pending);
	json_object_set_new(now, "status", json_pack("{s:s}", "S", "SHIPPED"));
	F.item = now;
	F.writes = 0;
	assert_int_equal(svc_undo(&sv, &rob, seq, grant.id, &ddb, &out, &e), BG_EEXISTS);
	assert_non_null(strstr(e.msg, "changed since"));
	assert_int_equal(F.writes, 0);
	/* The grantee sees which attributes differ, not the values now (read past the
	 * runbook's mask and projection); the trail the same. */
	d = json_array_get(json_object_get(out, "difference"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "attribute")), "status");
	assert_string_equal(json_string_value(json_object_get(d, "left")), "present");
	assert_string_equal(json_string_value(json_object_get(d, "now")), "changed");
	{
		json_t *rec = newest();
		char *txt = json_dumps(rec, 0);
		assert_non_null(txt);
		assert_string_equal(json_string_value(json_object_get(rec, "kind")), "undo");
		assert_null(strstr(txt, "SHIPPED"));
		free(txt);
		json_decref(rec);
	}
	json_decref(out);
	out = NULL;
	/* An admin sees the values. */
	assert_int_equal(svc_undo(&sv, &adm, seq, NULL, &ddb, &out, &e), BG_EEXISTS);
	d = json_array_get(json_object_get(out, "difference"), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "left"), "S")),
	                    "PENDING");
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "now"), "S")),
	                    "SHIPPED");
	json_decref(out);
	out = NULL;
	/* Changed between the check and the restore: DynamoDB's condition refuses. */
	seq = an_update("w3", NULL);
	F.fail_condition = true;
	assert_int_equal(svc_undo(&sv, &rob, seq, grant.id, &ddb, &out, &e), BG_EEXISTS);
	assert_non_null(strstr(e.msg, "between the check and the restore"));
	F.fail_condition = false;
	assert_null(out);
	/* ...and that was no undo: it can be tried again. */
	assert_int_equal(svc_undo(&sv, &rob, seq, grant.id, &ddb, &out, &e), 0);
	json_decref(out);
}

static void test_admin_and_refusals(void **state)
{
	int64_t seq = an_update("w4", NULL);
	char detail[1024];
	json_t *out = NULL;
	bg_err e;

	(void)state;
	/* An admin, without naming the grant. */
	assert_int_equal(svc_undo(&sv, &adm, seq, NULL, &ddb, &out, &e), 0);
	json_decref(out);
	out = NULL;
	/* Masked before-image. */
	snprintf(detail, sizeof(detail),
	         "{\"outcome\":\"answered\",\"before_image\":%s,\"key\":%s,"
	         "\"before_image_masked\":true}",
	         stuck, key);
	seq = write_records("w5", "UpdateItem", update, 200, detail, NULL);
	assert_int_equal(svc_undo(&sv, &rob, seq, grant.id, &ddb, &out, &e), BG_EDENIED);
	assert_non_null(strstr(e.msg, "masks"));
	/* No before-image. */
	seq = write_records("w6", "UpdateItem", update, 200,
	                    "{\"outcome\":\"answered\",\"before_image_missing\":\"the client asked "
	                    "for ReturnValues ALL_NEW\"}",
	                    NULL);
	assert_int_equal(svc_undo(&sv, &rob, seq, grant.id, &ddb, &out, &e), BG_EDENIED);
	assert_non_null(strstr(e.msg, "ALL_NEW"));
	/* A write that failed. */
	seq = write_records("w7", "UpdateItem", update, 400, "{\"outcome\":\"answered\"}", NULL);
	assert_int_equal(svc_undo(&sv, &rob, seq, grant.id, &ddb, &out, &e), BG_EINVAL);
	/* Not a write's record; no record at all: an admin is told which, anyone else gets
	 * the one refusal that says nothing about the record. */
	assert_int_equal(svc_undo(&sv, &adm, 1, NULL, &ddb, &out, &e), BG_EINVAL);
	assert_int_equal(svc_undo(&sv, &adm, 999999, NULL, &ddb, &out, &e), BG_ENOTFOUND);
	assert_int_equal(svc_undo(&sv, &adm, 0, NULL, &ddb, &out, &e), BG_EINVAL);
	assert_int_equal(svc_undo(&sv, &rob, 1, grant.id, &ddb, &out, &e), BG_EDENIED);
	assert_int_equal(svc_undo(&sv, &rob, 999999, grant.id, &ddb, &out, &e), BG_EDENIED);
	assert_non_null(strstr(e.msg, "is not a write of that grant of yours"));
	/* The grantee must name the grant. */
	seq = an_update("w8", NULL);
	assert_int_equal(svc_undo(&sv, &rob, seq, NULL, &ddb, &out, &e), BG_EINVAL);
	assert_null(out);
}

static void test_put_that_created(void **state)
{
	static const char put[] = "{\"TableName\":\"orders\",\"Item\":{\"pk\":{\"S\":\"C#42\"},"
	                          "\"sk\":{\"S\":\"O#1\"},\"status\":{\"S\":\"NEW\"}},"
	                          "\"ConditionExpression\":\"attribute_not_exists(pk)\"}";
	char detail[512];
	int64_t seq;
	json_t *out = NULL, *body = J(put);
	bg_err e;

	(void)state;
	snprintf(detail, sizeof(detail),
	         "{\"outcome\":\"answered\",\"before_image\":null,\"key\":%s}", key);
	seq = write_records("w9", "PutItem", put, 200, detail, NULL);
	json_decref(F.item);
	F.item = json_deep_copy(json_object_get(body, "Item"));
	json_decref(body);
	assert_int_equal(svc_undo(&sv, &rob, seq, grant.id, &ddb, &out, &e), 0);
	assert_string_equal(F.last_op, "DeleteItem");
	assert_null(F.item);
	assert_true(json_is_null(json_object_get(out, "restored")));
	json_decref(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_undo_by_grantee_once),
	    cmocka_unit_test(test_changed_since),
	    cmocka_unit_test(test_admin_and_refusals),
	    cmocka_unit_test(test_put_that_created),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
