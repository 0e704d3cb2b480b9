/*
 * undo.c - the service layer's `breakglass undo` (service.h, svc_undo): put back the item
 * a write found, from the before-image on its response record.
 *
 * The rules: only the write's own grant, while live, or an admin; only a write whose
 * response record holds an unmasked before-image; once; and only over the item exactly as
 * the write left it. The last is checked twice: here (the item now, read consistently,
 * compared with what the write left, so a refusal can show the difference) and by
 * DynamoDB itself (the restore's condition), so a change in between makes the restore
 * fail rather than be overwritten. The restore is a write like any other: its request is
 * recorded durably before it is sent, its answer after.
 *
 * Undos are made one at a time on this gateway (the API worker may run several): the
 * "already undone" check and the restore must not interleave. Another gateway sharing
 * the store could still race; DynamoDB's condition then refuses the second restore.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/limits.h"
#include "protocol/ddb_undo.h"
#include "workflow/service.h"

static pthread_mutex_t undo_lock = PTHREAD_MUTEX_INITIALIZER;

/* What an undo works from: the write's two records and what they say. */
typedef struct undo_ctx {
	const svc *s;
	svc_caller *c;
	const svc_ddb *ddb;
	json_t *req, *resp; /* the write's request and response records */
	int64_t resp_seq;   /* the write's response record: what "undo-N" names */
	const char *op;     /* PutItem, UpdateItem, DeleteItem */
	const char *table;
	const char *grant_id;
	json_t *key; /* borrowed or owned (key_owned) */
	bool key_owned;
	json_t *before; /* borrowed: null or the item */
	char rid[32];   /* "undo-N" */
} undo_ctx;

static int keep_first(void *ctx, json_t *rec)
{
	*(json_t **)ctx = json_incref(rec);
	return 1;
}

/* The request and response records of request_id into u (the first of each). */
typedef struct pair {
	json_t *req, *resp;
} pair;

static int keep_pair(void *ctx, json_t *rec)
{
	pair *p = ctx;
	const char *kind = json_string_value(json_object_get(rec, "kind"));

	if (kind != NULL && strcmp(kind, "request") == 0 && p->req == NULL)
		p->req = json_incref(rec);
	else if (kind != NULL && strcmp(kind, "response") == 0 && p->resp == NULL)
		p->resp = json_incref(rec);
	return 0;
}

/* An earlier undo that DynamoDB carried out: a response with status 200 under "undo-N". */
static int find_done(void *ctx, json_t *rec)
{
	const char *kind = json_string_value(json_object_get(rec, "kind"));

	if (kind != NULL && strcmp(kind, "response") == 0 &&
	    json_integer_value(json_object_get(rec, "status")) == 200) {
		*(int64_t *)ctx = json_integer_value(json_object_get(rec, "seq"));
		return 1;
	}
	return 0;
}

static json_t *detail(json_t *rec)
{
	return json_object_get(rec, "detail");
}

/* Finds the write's records from seq (either of them). */
static int find_write(undo_ctx *u, int64_t seq, bg_err *e)
{
	json_t *rec = NULL;
	pair p = {NULL, NULL};
	const char *kind, *rid;
	int rc;

	if (seq < 1)
		return bg_err_set(e, BG_EINVAL, "an audit sequence number is 1 or more");
	rc = audit_read(u->s->audit, seq - 1, 1, keep_first, &rec, e);
	if (rc == 0 && (rec == NULL || json_integer_value(json_object_get(rec, "seq")) != seq))
		rc = bg_err_set(e, BG_ENOTFOUND, "there is no audit record %" PRId64, seq);
	kind = json_string_value(json_object_get(rec, "kind"));
	rid = json_string_value(json_object_get(rec, "request_id"));
	if (rc == 0 && (kind == NULL || rid == NULL ||
	                (strcmp(kind, "request") != 0 && strcmp(kind, "response") != 0)))
		rc = bg_err_set(e, BG_EINVAL,
		                "audit record %" PRId64
		                " is a%s %s record, not a write's request or "
		                "response",
		                seq, kind != NULL && strchr("aeiou", kind[0]) ? "n" : "",
		                kind != NULL ? kind : "?");
	if (rc == 0)
		rc = audit_read_request(u->s->audit, rid, BG_MAX_AUDIT_RELATED, keep_pair, &p, e);
	json_decref(rec);
	if (rc == 0 && (p.req == NULL || p.resp == NULL))
		rc = bg_err_set(e, BG_EINVAL,
		                "audit record %" PRId64 " has no %s record: the write never ran",
		                seq, p.req == NULL ? "request" : "response");
	if (rc != 0) {
		json_decref(p.req);
		json_decref(p.resp);
		return rc;
	}
	u->req = p.req;
	u->resp = p.resp;
	u->resp_seq = json_integer_value(json_object_get(p.resp, "seq"));
	u->op = json_string_value(json_object_get(p.req, "op"));
	u->table = json_string_value(json_object_get(p.req, "tables"));
	u->grant_id = json_string_value(json_object_get(p.req, "grant_id"));
	snprintf(u->rid, sizeof(u->rid), "undo-%" PRId64, u->resp_seq);
	return 0;
}

/* The one refusal a caller who is not an admin gets for a record that is not a write of
 * a grant of theirs, whatever the record is: nothing about others' grants leaks. */
static int not_yours(int64_t seq, bg_err *e)
{
	return bg_err_set(e, BG_EDENIED,
	                  "audit record %" PRId64 " is not a write of that grant of yours; "
	                  "only the grant's user (while it is live) or an admin may undo a write",
	                  seq);
}

/* Who may undo it: an admin, or the grant's user while the grant is live. */
static int may_undo(undo_ctx *u, const char *grant, bg_err *e)
{
	store_grant g;
	int rc;

	if (u->grant_id == NULL)
		return bg_err_set(e, BG_EINVAL, "the write's record names no grant");
	if (svc_has_role(u->c, USER_ROLE_ADMIN)) {
		if (grant != NULL && strcmp(grant, u->grant_id) != 0)
			return bg_err_set(e, BG_EDENIED,
			                  "audit record %" PRId64
			                  " is a write of grant %s, not of %s",
			                  u->resp_seq, u->grant_id, grant);
		return 0;
	}
	if (grant == NULL)
		return bg_err_set(e, BG_EINVAL,
		                  "--grant is required: the grant the write ran under");
	/* Anyone else learns nothing of other grants' writes (whose, which grant). */
	if (strcmp(grant, u->grant_id) != 0)
		return not_yours(u->resp_seq, e);
	rc = svc_grant_get(u->s, u->c, grant, &g, e);
	if (rc != 0 || strcmp(g.user, u->c->user.name) != 0)
		return rc == BG_ENOMEM ? rc : not_yours(u->resp_seq, e);
	if (grant_status(&g, bg_now()) != GRANT_ACTIVE)
		return bg_err_set(e, BG_EDENIED,
		                  "grant %s is no longer live; an admin can still undo its writes",
		                  g.id);
	return 0;
}

/* What the write's records must say for an undo to be possible. */
static int undoable(undo_ctx *u, bg_err *e)
{
	json_t *d = detail(u->resp);
	const char *missing = json_string_value(json_object_get(d, "before_image_missing"));
	int64_t done = 0;
	int rc;

	if (u->op == NULL || (strcmp(u->op, "PutItem") != 0 && strcmp(u->op, "UpdateItem") != 0 &&
	                      strcmp(u->op, "DeleteItem") != 0))
		return bg_err_set(e, BG_EINVAL,
		                  "audit record %" PRId64 " is a %s, not a PutItem, UpdateItem or "
		                  "DeleteItem: nothing to undo",
		                  u->resp_seq, u->op != NULL ? u->op : "request");
	if (json_integer_value(json_object_get(u->resp, "status")) != 200)
		return bg_err_set(
		    e, BG_EINVAL,
		    "the write of record %" PRId64 " did not succeed (HTTP %" JSON_INTEGER_FORMAT
		    "): nothing to undo",
		    u->resp_seq, json_integer_value(json_object_get(u->resp, "status")));
	if (u->table == NULL || strchr(u->table, ',') != NULL)
		return bg_err_set(e, BG_EINVAL, "the write's record names no single table");
	u->before = json_object_get(d, "before_image");
	if (u->before == NULL)
		return bg_err_set(e, BG_EDENIED,
		                  "the write of record %" PRId64 " has no before-image%s%s",
		                  u->resp_seq, missing != NULL ? ": " : " on its record",
		                  missing != NULL ? missing : "");
	if (json_is_true(json_object_get(d, "before_image_masked")))
		return bg_err_set(
		    e, BG_EDENIED,
		    "the before-image of record %" PRId64 " has values the runbook masks, "
		    "which the trail does not hold, so undo cannot restore them; restore "
		    "the item from a backup",
		    u->resp_seq);
	rc = audit_read_request(u->s->audit, u->rid, BG_MAX_AUDIT_RELATED, find_done, &done, e);
	if (rc != 0)
		return rc;
	if (done > 0)
		return bg_err_set(e, BG_EEXISTS,
		                  "the write of record %" PRId64
		                  " was undone already (record %" PRId64 ")",
		                  u->resp_seq, done);
	return 0;
}

/* The item's key: the record's, or (a PutItem whose table the runbook folder does not
 * declare) the table's key schema asked of DynamoDB, applied to the item written. */
static int item_key(undo_ctx *u, const json_t *after, bg_err *e)
{
	json_t *body, *answer = NULL, *ks, *k, *key;
	long status = 0;
	bool sent = false;
	char why[256];
	size_t i;
	int rc;

	u->key = json_object_get(detail(u->resp), "key");
	if (u->key == NULL)
		u->key = json_object_get(json_object_get(detail(u->req), "body"), "Key");
	if (u->key != NULL)
		return 0;
	body = json_pack("{s:s}", "TableName", u->table);
	if (body == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	rc = u->ddb->call(u->ddb->ctx, "DescribeTable", body, &status, &answer, &sent, why,
	                  sizeof(why));
	json_decref(body);
	if (rc != 0 || status != 200) {
		json_decref(answer);
		return bg_err_set(e, BG_EUPSTREAM, "DescribeTable %s: %s", u->table,
		                  rc != 0 ? why : "refused");
	}
	ks = json_object_get(json_object_get(answer, "Table"), "KeySchema");
	key = json_object();
	for (i = 0; key != NULL && i < json_array_size(ks); i++) {
		const char *name =
		    json_string_value(json_object_get(json_array_get(ks, i), "AttributeName"));
		k = name != NULL ? json_object_get(after, name) : NULL;
		if (k == NULL || json_object_set(key, name, k) != 0) {
			json_decref(key);
			key = NULL;
		}
	}
	json_decref(answer);
	if (key == NULL || json_object_size(key) == 0) {
		json_decref(key);
		return bg_err_set(e, BG_EINVAL, "the item's key could not be found");
	}
	u->key = key;
	u->key_owned = true;
	return 0;
}

/* The item as it is now (NULL: none), read consistently. */
static int read_now(undo_ctx *u, json_t **now, bg_err *e)
{
	json_t *body =
	    json_pack("{s:s,s:O,s:b}", "TableName", u->table, "Key", u->key, "ConsistentRead", 1);
	json_t *answer = NULL;
	long status = 0;
	bool sent = false;
	char why[256];
	int rc;

	*now = NULL;
	if (body == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	rc = u->ddb->call(u->ddb->ctx, "GetItem", body, &status, &answer, &sent, why, sizeof(why));
	json_decref(body);
	if (rc != 0)
		return bg_err_set(e, BG_EUPSTREAM, "reading the item now: %s; nothing was restored",
		                  why);
	if (status != 200) {
		const char *m = json_string_value(json_object_get(answer, "message"));
		bg_err_set(e, BG_EUPSTREAM,
		           "reading the item now: DynamoDB answered HTTP %ld%s%s; nothing was "
		           "restored",
		           status, m != NULL ? ": " : "", m != NULL ? m : "");
		json_decref(answer);
		return BG_EUPSTREAM;
	}
	*now = json_incref(json_object_get(answer, "Item"));
	json_decref(answer);
	return 0;
}

/* An undo's record: by the caller, under the write's grant, on its table. */
static void undo_record(const undo_ctx *u, audit_record *rec, const char *kind, const char *op,
                        const char *decision)
{
	memset(rec, 0, sizeof(*rec));
	rec->kind = kind;
	rec->actor = u->c->user.name;
	rec->grant_id = u->grant_id;
	rec->op = op;
	rec->tables = u->table;
	rec->decision = decision;
}

/* A refusal, once the write is known, goes on the record (kind "undo", "deny"). */
/* A difference (ddb_undo_diff) without its values: each attribute with "left" and "now"
 * replaced by whether it was there ("present"/"absent"; "changed" when both are). */
static void names_only(json_t *diff)
{
	json_t *x;
	size_t i;

	json_array_foreach(diff, i, x)
	{
		bool l = !json_is_null(json_object_get(x, "left"));
		bool n = !json_is_null(json_object_get(x, "now"));
		json_object_set_new(x, "left", json_string(l ? "present" : "absent"));
		json_object_set_new(x, "now",
		                    json_string(n ? (l ? "changed" : "present") : "absent"));
	}
}

static void record_refusal(undo_ctx *u, const bg_err *why, json_t *difference)
{
	json_t *copy = difference != NULL ? json_deep_copy(difference) : NULL;
	json_t *d;

	/* The trail never holds the item's values now (they may be masked for the runbook). */
	if (copy != NULL)
		names_only(copy);
	d = json_pack("{s:I,s:o?}", "undo_of", (json_int_t)u->resp_seq, "difference", copy);
	audit_record rec;
	bg_err e;

	undo_record(u, &rec, "undo", u->op, "deny");
	rec.reason = why->msg;
	rec.detail = d;
	if (audit_append(u->s->audit, &rec, NULL, &e) != 0)
		fprintf(stderr, "breakglass: a refused undo was not recorded: %s\n", e.msg);
	json_decref(d);
}

/* The restore: recorded, sent, its answer recorded. */
static int restore(undo_ctx *u, const json_t *after, json_t **out, bg_err *e)
{
	json_t *body = NULL, *answer = NULL, *d = NULL;
	const char *op = NULL, *msg;
	audit_record rec;
	int64_t req_seq = 0, resp_seq = 0;
	long status = 0;
	bool sent = false;
	char why[256] = "";
	int rc, call_rc;

	rc = ddb_undo_restore(u->table, u->key, json_is_null(u->before) ? NULL : u->before, after,
	                      &op, &body, e);
	if (rc != 0)
		return rc;
	undo_record(u, &rec, "request", op, "allow");
	rec.request_id = u->rid;
	d = json_pack("{s:O,s:I,s:s}", "body", body, "undo_of", (json_int_t)u->resp_seq, "via",
	              "breakglass undo");
	rec.detail = d;
	if (d == NULL)
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	else if (audit_append(u->s->audit, &rec, &req_seq, e) != 0)
		rc = bg_err_set(e, BG_EAUDIT,
		                "the undo could not be recorded, so it was not sent: %s", e->msg);
	json_decref(d);
	d = NULL;
	if (rc != 0)
		goto done;
	call_rc = u->ddb->call(u->ddb->ctx, op, body, &status, &answer, &sent, why, sizeof(why));
	rec.kind = "response";
	rec.decision = NULL;
	rec.status = call_rc == 0 ? (int)status : 0;
	rec.reason = call_rc == 0 ? NULL : why;
	d = json_pack("{s:s,s:I}", "outcome",
	              call_rc == 0 ? "answered"
	              : sent       ? "unknown"
	                           : "not_sent",
	              "undo_of", (json_int_t)u->resp_seq);
	if (d != NULL && call_rc == 0 && status != 200)
		json_object_set(d, "error", answer != NULL ? answer : json_null());
	rec.detail = d;
	if (d == NULL || audit_append(u->s->audit, &rec, &resp_seq, e) != 0) {
		/* Fail closed: the restore ran (or may have), but its outcome is not on the
		 * record, so it is not reported as done. */
		rc = bg_err_set(e, BG_EAUDIT,
		                "the restore %s, but its answer could not be recorded; check the "
		                "item before trying again",
		                call_rc == 0 ? "was answered" : "may have run");
		goto done;
	}
	if (call_rc != 0) {
		rc = bg_err_set(e, BG_EUPSTREAM, "the restore %s: %s",
		                sent ? "may have run" : "was not sent", why);
		goto done;
	}
	if (status != 200) {
		const char *type = json_string_value(json_object_get(answer, "__type"));
		msg = json_string_value(json_object_get(answer, "message"));
		if (type != NULL && strstr(type, "ConditionalCheckFailed") != NULL)
			rc = bg_err_set(
			    e, BG_EEXISTS,
			    "the item changed between the check and the restore; nothing "
			    "was restored (run undo again to see the difference)");
		else
			rc =
			    bg_err_set(e, BG_EDENIED, "DynamoDB refused the restore (HTTP %ld)%s%s",
			               status, msg != NULL ? ": " : "", msg != NULL ? msg : "");
		goto done;
	}
	/* The restored item's values only to an admin: a runbook may hide attributes of the
	 * item (mask, projection) from the responder who ran it. */
	*out = json_pack("{s:I,s:s,s:s,s:O,s:O?,s:I,s:I}", "undo_of", (json_int_t)u->resp_seq, "op",
	                 op, "table", u->table, "key", u->key, "restored",
	                 svc_has_role(u->c, USER_ROLE_ADMIN) ? u->before : NULL, "request_seq",
	                 (json_int_t)req_seq, "response_seq", (json_int_t)resp_seq);
	if (*out == NULL)
		rc = bg_err_set(e, BG_ENOMEM,
		                "the item was restored, but the answer could not be built");
done:
	json_decref(d);
	json_decref(answer);
	json_decref(body);
	return rc;
}

static int undo_locked(undo_ctx *u, int64_t seq, const char *grant, json_t **out, bg_err *e)
{
	json_t *after = NULL, *now = NULL, *diff = NULL;
	int rc;

	if ((rc = find_write(u, seq, e)) != 0)
		return rc == BG_ENOMEM || svc_has_role(u->c, USER_ROLE_ADMIN) ? rc
		                                                              : not_yours(seq, e);
	if ((rc = may_undo(u, grant, e)) != 0)
		goto refused;
	if ((rc = undoable(u, e)) != 0)
		goto refused;
	rc = ddb_undo_after(u->op, json_object_get(detail(u->req), "body"),
	                    json_is_null(u->before) ? NULL : u->before, &after, e);
	if (rc != 0) {
		char why[sizeof(e->msg)];
		snprintf(why, sizeof(why), "%s", e->msg);
		if (rc == BG_EINVAL)
			bg_err_set(e, BG_EDENIED, "undo cannot tell what the write left: %.180s",
			           why);
		rc = rc == BG_ENOMEM ? rc : BG_EDENIED;
		goto refused;
	}
	if (ddb_undo_item_equal(json_is_null(u->before) ? NULL : u->before, after)) {
		rc = bg_err_set(e, BG_EINVAL,
		                "the write of record %" PRId64 " left the item as it found it: "
		                "nothing to undo",
		                u->resp_seq);
		goto refused;
	}
	if ((rc = item_key(u, after != NULL ? after : u->before, e)) != 0)
		goto refused;
	if ((rc = read_now(u, &now, e)) != 0)
		goto refused;
	if (!ddb_undo_item_equal(after, now)) {
		diff = ddb_undo_diff(after, now);
		/* The values now were read with the gateway's own identity, past any mask or
		 * projection of the runbook: only an admin sees them; the responder and the
		 * trail get which attributes differ and how (names_only). */
		if (diff != NULL && !svc_has_role(u->c, USER_ROLE_ADMIN))
			names_only(diff);
		rc = bg_err_set(e, BG_EEXISTS,
		                "the item changed since the write of record %" PRId64
		                " (%zu attribute%s differ from what it left); nothing was restored",
		                u->resp_seq, json_array_size(diff),
		                json_array_size(diff) == 1 ? "" : "s");
		*out =
		    json_pack("{s:I,s:O?}", "undo_of", (json_int_t)u->resp_seq, "difference", diff);
		goto refused;
	}
	rc = restore(u, after, out, e);
	goto done;
refused:
	record_refusal(u, e, diff);
done:
	json_decref(after);
	json_decref(now);
	json_decref(diff);
	return rc;
}

int svc_undo(const svc *s, svc_caller *c, int64_t seq, const char *grant, const svc_ddb *ddb,
             json_t **out, bg_err *e)
{
	undo_ctx u;
	int rc;

	*out = NULL;
	memset(&u, 0, sizeof(u));
	u.s = s;
	u.c = c;
	u.ddb = ddb;
	if (ddb == NULL)
		return bg_err_set(e, BG_EUPSTREAM, "this gateway reaches no DynamoDB");
	pthread_mutex_lock(&undo_lock);
	rc = undo_locked(&u, seq, grant, out, e);
	pthread_mutex_unlock(&undo_lock);
	if (u.key_owned)
		json_decref(u.key);
	json_decref(u.req);
	json_decref(u.resp);
	return rc;
}
