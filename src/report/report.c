/*
 * report.c - reads an incident's audit records into the report's model (report.h).
 *
 * One pass over the records, oldest first: each record becomes a timeline entry, and by
 * its kind also part of a request (criteria, approvals, solo, grant, revocation), a
 * query (a DynamoDB "request" record joined to its "response" by request_id: items,
 * capacity, latency), a denial or a write's before-image. A second pass over the
 * queries finds the anomalies that need the whole picture (near a grant's expiry, after
 * the alerts resolved). The same records go through the audit verifier, so the report
 * says whether what it shows is what the gateway signed.
 *
 * The model is a JSON object because the json format prints it as it is and the tests
 * read it field by field; the markdown and HTML renderers walk it.
 */
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/verify.h"
#include "common/clock.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "protocol/ddb_capacity.h"
#include "report/report_internal.h"

struct report {
	json_t *m;
};

void report_opts_init(report_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->budget = -1;
	o->near_expiry = 0.1;
}

json_t *report_model(const report *r)
{
	return r->m;
}

void report_free(report *r)
{
	if (r == NULL)
		return;
	json_decref(r->m);
	free(r);
}

const char *rep_str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

bool rep_is_deny(json_t *o)
{
	const char *d = rep_str(o, "decision");

	return d != NULL && strcmp(d, "deny") == 0;
}

/* "2026-12-01T23:36:34.238Z" in milliseconds since the epoch; 0 when it is not a time. */
int64_t rep_ts_ms(const char *ts)
{
	int64_t t, ms = 0;
	size_t n, i;
	int digits = 0;

	if (ts == NULL)
		return 0;
	n = strlen(ts);
	if (n < 20 || bg_rfc3339_parse(ts, n, &t) != 0)
		return 0;
	if (ts[19] == '.')
		for (i = 20; i < n && ts[i] >= '0' && ts[i] <= '9'; i++)
			if (digits < 3) {
				ms = ms * 10 + (ts[i] - '0');
				digits++;
			}
	while (digits > 0 && digits < 3) {
		ms *= 10;
		digits++;
	}
	return t * 1000 + ms;
}

/* o[k] (null when absent), a new reference. The model shares the input's values rather
 * than copying them (an incident of 10,000 queries would copy 20,000 records' details);
 * nothing here changes a value it did not make, and the caller may free the input. */
static json_t *copy_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return v != NULL ? json_incref(v) : json_null();
}

typedef struct builder {
	const report_opts *o;
	json_t *m, *incident, *timeline, *requests, *queries, *denials, *writes, *anomalies,
	    *points;
	json_t *by_request; /* request id (the grant's id) -> its object in requests */
	json_t *open_q;     /* DynamoDB request_id -> its query, until the response comes */
	json_t *alerts;     /* alert key -> "firing" | "resolved" */
	double cumulative, budget;
	bool over_budget;
	int64_t records, redacted, checkpoints, first_cp, last_cp, first_seq, last_seq;
	int64_t skipped, last_kept;
	averify *v;
	bool oom;
} builder;

/* Appends a new object (taking its reference); false when it could not. */
static bool push(json_t *arr, json_t *o)
{
	return o != NULL && json_array_append_new(arr, o) == 0;
}

static bool anomaly(builder *b, const char *kind, json_t *seq, json_t *msg)
{
	json_t *a = json_pack("{s:s,s:O?,s:o}", "kind", kind, "seq", seq, "message", msg);

	if (msg == NULL) {
		json_decref(a);
		return false;
	}
	return push(b->anomalies, a);
}

static bool timeline(builder *b, json_t *rec, json_t *text)
{
	json_t *t;

	if (text == NULL)
		return false;
	t = json_pack("{s:O?,s:O?,s:s,s:O?,s:O?,s:o}", "seq", json_object_get(rec, "seq"), "ts",
	              json_object_get(rec, "ts"), "kind", rep_str(rec, "kind"), "actor",
	              json_object_get(rec, "actor"), "decision", json_object_get(rec, "decision"),
	              "text", text);
	return push(b->timeline, t);
}

static const char *txt_or(const char *s, const char *dflt)
{
	return s != NULL ? s : dflt;
}

static bool on_incident_open(builder *b, json_t *rec, json_t *d)
{
	json_t *sev = json_object_get(d, "severity");

	if (!bg_json_set(b->incident, "title", copy_of(d, "title")) ||
	    !bg_json_set(b->incident, "severity", copy_of(d, "severity")) ||
	    !bg_json_set(b->incident, "service", copy_of(d, "service")) ||
	    !bg_json_set(b->incident, "source", copy_of(d, "source")) ||
	    !bg_json_set(b->incident, "opened_at", copy_of(rec, "ts")) ||
	    !bg_json_set(b->incident, "opened_by", copy_of(rec, "actor")))
		return false;
	return timeline(
	    b, rec,
	    json_sprintf("incident opened by %s: SEV%lld %s", txt_or(rep_str(rec, "actor"), "?"),
	                 (long long)json_integer_value(sev), txt_or(rep_str(d, "title"), "")));
}

/* An alert delivery: which alerts fired or resolved; when none is firing any more, the
 * alerts resolved (activity after that is an anomaly). */
static bool on_alert(builder *b, json_t *rec, json_t *d)
{
	json_t *alerts = json_object_get(d, "alerts"), *a, *v;
	const char *key, *k;
	bool firing = false;
	size_t i;
	bg_buf txt;
	int bad = 0;

	bg_buf_init(&txt, 4096);
	bad |= bg_buf_addf(&txt, "alert from %s (%s)", txt_or(rep_str(d, "source"), "?"),
	                   txt_or(rep_str(d, "group"), "?"));
	json_array_foreach(alerts, i, a)
	{
		key = rep_str(a, "key");
		if (key == NULL)
			key = txt_or(rep_str(a, "name"), "?");
		if (json_object_set_new(b->alerts, key,
		                        json_string(txt_or(rep_str(a, "state"), "?"))) != 0)
			bad = 1;
		if (i < 8)
			bad |= bg_buf_addf(&txt, "%s %s %s", i == 0 ? ":" : ",",
			                   txt_or(rep_str(a, "name"), key),
			                   txt_or(rep_str(a, "state"), "?"));
	}
	if (json_array_size(alerts) > 8)
		bad |= bg_buf_addf(&txt, " and %zu more", json_array_size(alerts) - 8);
	if (rep_str(d, "outcome") != NULL)
		bad |= bg_buf_addf(&txt, " (%s)", rep_str(d, "outcome"));
	json_object_foreach(b->alerts, k, v) if (strcmp(json_string_value(v), "firing") == 0)
	    firing = true;
	if (json_object_size(b->alerts) > 0) {
		if (firing)
			bad |= !bg_json_set(b->incident, "alerts_resolved_at", json_null());
		else if (json_is_null(json_object_get(b->incident, "alerts_resolved_at")))
			bad |= !bg_json_set(b->incident, "alerts_resolved_at", copy_of(rec, "ts"));
	}
	/* An incident an alert opened has no incident-open record: its first alert opened it,
	 * and that delivery's record says with what title and severity. */
	if (json_is_null(json_object_get(b->incident, "opened_at")))
		bad |= !bg_json_set(b->incident, "opened_at", copy_of(rec, "ts")) ||
		       !bg_json_set(b->incident, "opened_by", copy_of(rec, "actor"));
	if (json_is_true(json_object_get(d, "opened")))
		bad |= !bg_json_set(b->incident, "title", copy_of(d, "title")) ||
		       !bg_json_set(b->incident, "severity", copy_of(d, "severity")) ||
		       !bg_json_set(b->incident, "service", copy_of(d, "service")) ||
		       !bg_json_set(b->incident, "source", copy_of(d, "source"));
	if (!bad && !txt.failed)
		bad |= !timeline(b, rec, json_string(txt.data));
	bg_buf_free(&txt);
	return !bad;
}

/* An access request: its criteria, and (when allowed) the TOTP step-up it passed. */
static bool on_access_request(builder *b, json_t *rec, json_t *d)
{
	const char *id = rep_str(d, "request");
	bool allowed = !rep_is_deny(rec);
	json_t *crit = json_object_get(d, "criteria"), *c, *q;
	size_t i, held = 0;
	json_t *dec = json_string(allowed ? "pending" : "refused");

	json_array_foreach(crit, i, c) if (json_is_true(json_object_get(c, "ok"))) held++;
	q = json_pack(
	    "{s:s?,s:O?,s:O?,s:O?,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:[],s:b,s:n,s:n,s:b,s:n,s:n}", "id",
	    id, "seq", json_object_get(rec, "seq"), "ts", json_object_get(rec, "ts"), "requester",
	    json_object_get(rec, "actor"), "reason", copy_of(d, "reason"), "duration_seconds",
	    copy_of(d, "duration_seconds"), "runbooks", copy_of(d, "runbooks"), "criteria",
	    copy_of(d, "criteria"), "refusal", allowed ? json_null() : copy_of(rec, "reason"),
	    "mfa", allowed, "state", dec, "approvals", "solo", 0, "granted_at", "expires_at",
	    "grant_inferred", 0, "revoked_at", "revoked_by");
	if (q == NULL || !push(b->requests, q))
		return false;
	if (id != NULL && json_object_set(b->by_request, id, q) != 0)
		return false;
	return timeline(
	    b, rec,
	    allowed ? json_sprintf(
	                  "%s requested access (%zu runbook(s), %llds) with TOTP step-up: "
	                  "%s; criteria: %zu of %zu held",
	                  txt_or(rep_str(rec, "actor"), "?"),
	                  json_array_size(json_object_get(d, "runbooks")),
	                  (long long)json_integer_value(json_object_get(d, "duration_seconds")),
	                  txt_or(rep_str(d, "reason"), ""), held, json_array_size(crit))
	            : json_sprintf("request by %s REFUSED: %s", txt_or(rep_str(rec, "actor"), "?"),
	                           txt_or(rep_str(rec, "reason"), "")));
}

/* An approval or solo break-glass of request q. The record names the grant it made and
 * its end (detail.grant, detail.grant_expires_at: the grant of an extension is the
 * first request's); a record without them made none yet (more approvals needed) or was
 * written before records said so: then the last such answer is taken as the grant's
 * start, in the second pass (inferred). */
static bool grant_made(builder *b, json_t *rec, json_t *d, json_t *q, bool solo)
{
	const char *gid = rep_str(d, "grant"), *until = rep_str(d, "grant_expires_at");
	json_t *g = gid != NULL ? json_object_get(b->by_request, gid) : NULL;
	json_t *gb = json_object_get(d, "grant_budget");

	if (solo && !bg_json_set(q, "solo", json_true()))
		return false;
	/* The incident's budget is its grants' together (the policy's guardrails.budget,
	 * recorded with each grant), unless --budget gave one. */
	if (json_is_object(gb) && b->o->budget < 0)
		b->budget = (b->budget < 0 ? 0 : b->budget) +
		            json_number_value(json_object_get(gb, "read")) +
		            json_number_value(json_object_get(gb, "write"));
	if (gid == NULL || until == NULL)
		return bg_json_set(q, "last_yes", copy_of(rec, "ts"));
	if (g == NULL)
		g = q;
	if ((json_is_null(json_object_get(g, "granted_at")) &&
	     !bg_json_set(g, "granted_at", copy_of(rec, "ts"))) ||
	    !bg_json_set(g, "expires_at", json_string(until)) ||
	    !bg_json_set(q, "state", json_string("approved")))
		return false;
	return g == q || bg_json_set(q, "granted_at", copy_of(rec, "ts"));
}

/* An answer to a request (approve, deny, solo): a grant is minted by the approval that
 * completes it, or by solo break-glass; the last such record gives the grant's start. */
static bool on_answer(builder *b, json_t *rec, json_t *d, const char *kind)
{
	const char *id = txt_or(rep_str(d, "request"), rep_str(rec, "grant_id"));
	json_t *q = id != NULL ? json_object_get(b->by_request, id) : NULL;
	bool allowed = !rep_is_deny(rec);
	bool solo = strcmp(kind, "request-solo") == 0,
	     approve = strcmp(kind, "request-approve") == 0;
	const char *who = txt_or(rep_str(rec, "actor"), "?");
	json_t *a;

	if (q != NULL) {
		a = json_pack("{s:O?,s:O?,s:s,s:O?,s:s,s:O?}", "seq", json_object_get(rec, "seq"),
		              "ts", json_object_get(rec, "ts"), "kind", kind, "actor",
		              json_object_get(rec, "actor"), "decision",
		              allowed ? (solo      ? "solo"
		                         : approve ? "approve"
		                                   : "deny")
		                      : "refused",
		              "reason", json_object_get(rec, "reason"));
		if (!push(json_object_get(q, "approvals"), a))
			return false;
		if (allowed && (solo || approve)) {
			if (!grant_made(b, rec, d, q, solo))
				return false;
		} else if (allowed && !bg_json_set(q, "state", json_string("denied"))) {
			return false;
		}
	}
	if (solo && allowed &&
	    !anomaly(b, "solo", json_object_get(rec, "seq"),
	             json_sprintf("solo break-glass: %s granted request %s without an approver",
	                          who, txt_or(id, "?"))))
		return false;
	if (!allowed)
		return timeline(b, rec,
		                json_sprintf("%s by %s on %s REFUSED: %s", kind, who,
		                             txt_or(id, "?"), txt_or(rep_str(rec, "reason"), "")));
	if (solo)
		return timeline(b, rec,
		                json_sprintf("SOLO BREAK-GLASS by %s on %s (TOTP step-up)", who,
		                             txt_or(id, "?")));
	return timeline(b, rec,
	                json_sprintf("%s %s %s with TOTP step-up%s%s", who,
	                             approve ? "approved" : "denied", txt_or(id, "?"),
	                             rep_str(rec, "reason") != NULL ? ": " : "",
	                             txt_or(rep_str(rec, "reason"), "")));
}

static bool on_revoke(builder *b, json_t *rec, const char *kind)
{
	const char *g = rep_str(rec, "grant_id");
	json_t *q = g != NULL ? json_object_get(b->by_request, g) : NULL;
	bool expire = strcmp(kind, "grant-expire") == 0;

	if (q != NULL && json_is_null(json_object_get(q, "revoked_at")) &&
	    (!bg_json_set(q, "revoked_at", copy_of(rec, "ts")) ||
	     !bg_json_set(q, "revoked_by", copy_of(rec, "actor")) ||
	     !bg_json_set(q, "state", json_string(expire ? "expired" : "revoked"))))
		return false;
	return timeline(b, rec,
	                expire ? json_sprintf("grant %s expired", txt_or(g, "?"))
	                       : json_sprintf("%s revoked grant %s",
	                                      txt_or(rep_str(rec, "actor"), "?"), txt_or(g, "?")));
}

/* `breakglass close`: the grants it revoked (listed in its detail, one record for all),
 * and the incident resolved when it was not yet. */
static bool on_close(builder *b, json_t *rec, json_t *d)
{
	json_t *grants = json_object_get(d, "grants"), *g;
	size_t i;

	json_array_foreach(grants, i, g)
	{
		json_t *q = json_string_value(g) != NULL
		                ? json_object_get(b->by_request, json_string_value(g))
		                : NULL;

		if (q != NULL && json_is_null(json_object_get(q, "revoked_at")) &&
		    (!bg_json_set(q, "revoked_at", copy_of(rec, "ts")) ||
		     !bg_json_set(q, "revoked_by", copy_of(rec, "actor")) ||
		     !bg_json_set(q, "state", json_string("revoked"))))
			return false;
	}
	if (json_is_null(json_object_get(b->incident, "resolved_at")) &&
	    (!bg_json_set(b->incident, "resolved_at", copy_of(rec, "ts")) ||
	     !bg_json_set(b->incident, "resolved_by", copy_of(rec, "actor"))))
		return false;
	return timeline(
	    b, rec,
	    json_sprintf("incident closed by %s: %zu grant(s) revoked, review opened%s%s",
	                 txt_or(rep_str(rec, "actor"), "?"), json_array_size(grants),
	                 rep_str(rec, "reason") != NULL ? ": " : "",
	                 txt_or(rep_str(rec, "reason"), "")));
}

/* A DynamoDB request the gateway let through: a query, completed by its response. */
static bool on_query(builder *b, json_t *rec, json_t *d)
{
	const char *rid = rep_str(rec, "request_id");
	json_t *rb = json_object_get(d, "runbook");
	json_t *q = json_pack(
	    "{s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:o,s:o,s:n,s:n,s:n,s:n,s:n,s:n,s:[],s:i,s:n,s:n,"
	    "s:b}",
	    "seq", json_object_get(rec, "seq"), "ts", json_object_get(rec, "ts"), "actor",
	    json_object_get(rec, "actor"), "grant", json_object_get(rec, "grant_id"), "request_id",
	    json_object_get(rec, "request_id"), "op", json_object_get(rec, "op"), "tables",
	    json_object_get(rec, "tables"), "runbook", rb != NULL ? json_incref(rb) : json_null(),
	    "user_agent", copy_of(d, "user_agent"), "response_seq", "status", "outcome", "items",
	    "count", "scanned_count", "keys", "keys_total", 0, "consumed_capacity", "latency_ms",
	    "near_expiry", 0);

	if (q == NULL || !push(b->queries, q))
		return false;
	if (rid != NULL && json_object_set(b->open_q, rid, q) != 0)
		return false;
	return timeline(b, rec,
	                json_sprintf("%s: %s on %s%s%s", txt_or(rep_str(rec, "actor"), "?"),
	                             txt_or(rep_str(rec, "op"), "?"),
	                             txt_or(rep_str(rec, "tables"), "?"),
	                             rb != NULL ? " with runbook " : "",
	                             rb != NULL ? txt_or(rep_str(rb, "id"), "?") : ""));
}

/* A write's response record holds its before-image (docs/audit.md): the report lists it
 * with the command that puts it back, which takes this record's seq. */
static bool on_write(builder *b, json_t *rec, json_t *d)
{
	const char *undo = rep_str(d, "undo");
	json_t *w;

	if (!json_object_get(d, "before_image") ||
	    json_integer_value(json_object_get(rec, "status")) != 200)
		return true;
	w = json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:o,s:o}", "seq", json_object_get(rec, "seq"),
	              "ts", json_object_get(rec, "ts"), "op", json_object_get(rec, "op"), "tables",
	              json_object_get(rec, "tables"), "grant", json_object_get(rec, "grant_id"),
	              "before_image", copy_of(d, "before_image"), "undo",
	              undo != NULL
	                  ? json_string(undo)
	                  : json_sprintf("breakglass undo %lld --grant %s",
	                                 (long long)json_integer_value(json_object_get(rec, "seq")),
	                                 txt_or(rep_str(rec, "grant_id"), "?")));
	return push(b->writes, w);
}

static bool on_response(builder *b, json_t *rec, json_t *d)
{
	const char *rid = rep_str(rec, "request_id");
	json_t *q = rid != NULL ? json_object_get(b->open_q, rid) : NULL;
	json_t *keys = json_object_get(d, "keys"), *k,
	       *cc = json_object_get(d, "consumed_capacity");
	int64_t t0, t1;
	double cu;
	size_t i;

	if (!on_write(b, rec, d))
		return false;
	if (q == NULL) {
		b->skipped++; /* a response to a request not in these records */
		return true;
	}
	t0 = rep_ts_ms(rep_str(q, "ts"));
	t1 = rep_ts_ms(rep_str(rec, "ts"));
	if (!bg_json_set(q, "response_seq", copy_of(rec, "seq")) ||
	    !bg_json_set(q, "status", copy_of(rec, "status")) ||
	    !bg_json_set(q, "outcome", copy_of(d, "outcome")) ||
	    !bg_json_set(q, "items", copy_of(d, "items")) ||
	    !bg_json_set(q, "count", copy_of(d, "count")) ||
	    !bg_json_set(q, "scanned_count", copy_of(d, "scanned_count")) ||
	    !bg_json_set(q, "keys_total", json_integer((json_int_t)json_array_size(keys))) ||
	    (t0 > 0 && t1 >= t0 && !bg_json_set(q, "latency_ms", json_integer(t1 - t0))))
		return false;
	json_array_foreach(keys, i, k)
	{
		if (i >= BG_MAX_REPORT_KEYS)
			break;
		if (json_array_append(json_object_get(q, "keys"), k) != 0)
			return false;
	}
	if (cc != NULL) {
		cu = ddb_capacity_total(cc);
		b->cumulative += cu;
		if (!bg_json_set(q, "consumed_capacity", json_real(cu)) ||
		    !push(b->points,
		          json_pack("{s:O?,s:O?,s:f,s:f}", "seq", json_object_get(rec, "seq"), "ts",
		                    json_object_get(rec, "ts"), "units", cu, "cumulative",
		                    b->cumulative)))
			return false;
		if (b->budget >= 0 && !b->over_budget && b->cumulative > b->budget) {
			b->over_budget = true;
			if (!anomaly(
			        b, "budget_exhausted", json_object_get(rec, "seq"),
			        json_sprintf("consumed capacity %.1f passed the budget of %.1f",
			                     b->cumulative, b->budget)))
				return false;
		}
	}
	return json_object_del(b->open_q, rid) == 0;
}

static bool on_denial(builder *b, json_t *rec)
{
	const char *reason = txt_or(rep_str(rec, "reason"), "");
	const char *kind = txt_or(rep_str(rec, "kind"), "?");
	json_t *dn = json_pack("{s:O?,s:O?,s:s,s:O?,s:O?,s:O?,s:O?,s:s}", "seq",
	                       json_object_get(rec, "seq"), "ts", json_object_get(rec, "ts"),
	                       "kind", kind, "actor", json_object_get(rec, "actor"), "grant",
	                       json_object_get(rec, "grant_id"), "op", json_object_get(rec, "op"),
	                       "tables", json_object_get(rec, "tables"), "reason", reason);

	if (!push(b->denials, dn))
		return false;
	if (!anomaly(b, "denial", json_object_get(rec, "seq"),
	             json_sprintf("%s refused for %s: %s",
	                          strcmp(kind, "denial") == 0 ? "request" : kind,
	                          txt_or(rep_str(rec, "actor"), "?"), reason)))
		return false;
	if (strstr(reason, "budget") != NULL && !b->over_budget) {
		b->over_budget = true;
		if (!anomaly(b, "budget_exhausted", json_object_get(rec, "seq"),
		             json_sprintf("a request was refused for the budget: %s", reason)))
			return false;
	}
	if (strcmp(kind, "denial") == 0)
		return timeline(b, rec,
		                json_sprintf("DENIED %s: %s on %s: %s",
		                             txt_or(rep_str(rec, "actor"), "?"),
		                             txt_or(rep_str(rec, "op"), "?"),
		                             txt_or(rep_str(rec, "tables"), "?"), reason));
	return true;
}

static bool one(builder *b, json_t *rec)
{
	const char *kind = rep_str(rec, "kind"), *op = rep_str(rec, "op");
	json_t *d = json_object_get(rec, "detail"), *seq = json_object_get(rec, "seq");
	bool deny = rep_is_deny(rec);
	json_t *bud = json_object_get(d, "budget");

	if (!json_is_integer(seq) || kind == NULL)
		return true;
	if (b->first_seq == 0)
		b->first_seq = json_integer_value(seq);
	b->last_seq = json_integer_value(seq);
	if (strcmp(kind, "checkpoint") == 0) {
		b->checkpoints++;
		if (b->first_cp == 0)
			b->first_cp = json_integer_value(seq);
		b->last_cp = json_integer_value(seq);
		return true;
	}
	b->records++;
	b->last_kept = json_integer_value(seq);
	if (json_is_number(bud) && b->o->budget < 0)
		b->budget = json_number_value(bud);
	if (strcmp(kind, "incident-open") == 0)
		return on_incident_open(b, rec, d);
	if (strcmp(kind, "incident-resolve") == 0)
		return (deny || (bg_json_set(b->incident, "resolved_at", copy_of(rec, "ts")) &&
		                 bg_json_set(b->incident, "resolved_by", copy_of(rec, "actor")))) &&
		       (!deny || on_denial(b, rec)) &&
		       timeline(b, rec,
		                json_sprintf("incident %s by %s%s%s",
		                             deny ? "resolve REFUSED" : "resolved",
		                             txt_or(rep_str(rec, "actor"), "?"),
		                             rep_str(rec, "reason") != NULL ? ": " : "",
		                             txt_or(rep_str(rec, "reason"), "")));
	if (strcmp(kind, "alert") == 0)
		return on_alert(b, rec, d);
	if (strcmp(kind, "incident-close") == 0)
		return deny ? on_denial(b, rec) && timeline(b, rec, json_string("close REFUSED"))
		            : on_close(b, rec, d);
	if (strcmp(kind, "request") == 0 && op != NULL && strcmp(op, "request") == 0)
		return on_access_request(b, rec, d) && (!deny || on_denial(b, rec));
	if (strcmp(kind, "request-approve") == 0 || strcmp(kind, "request-deny") == 0 ||
	    strcmp(kind, "request-solo") == 0)
		return on_answer(b, rec, d, kind) && (!deny || on_denial(b, rec));
	if (strcmp(kind, "revoke") == 0 || strcmp(kind, "grant-expire") == 0)
		return on_revoke(b, rec, kind) && (!deny || on_denial(b, rec));
	if (strcmp(kind, "request") == 0)
		return on_query(b, rec, d);
	if (strcmp(kind, "response") == 0)
		return on_response(b, rec, d);
	if (strcmp(kind, "denial") == 0 || deny)
		return on_denial(b, rec) &&
		       (strcmp(kind, "denial") == 0 ||
		        timeline(b, rec,
		                 json_sprintf("%s by %s REFUSED: %s", kind,
		                              txt_or(rep_str(rec, "actor"), "?"),
		                              txt_or(rep_str(rec, "reason"), ""))));
	if (strcmp(kind, "creds") == 0)
		return timeline(b, rec,
		                json_sprintf("%s fetched the credentials of grant %s",
		                             txt_or(rep_str(rec, "actor"), "?"),
		                             txt_or(rep_str(rec, "grant_id"), "?")));
	return timeline(b, rec,
	                json_sprintf("%s by %s%s%s", kind, txt_or(rep_str(rec, "actor"), "?"),
	                             rep_str(rec, "reason") != NULL ? ": " : "",
	                             txt_or(rep_str(rec, "reason"), "")));
}

/* The anomalies only the whole picture shows: a query near its grant's end, activity
 * after the alerts resolved (or the incident did), a request with no response. */
static bool second_pass(builder *b)
{
	const char *after = rep_str(b->incident, "alerts_resolved_at");
	const char *resolved = rep_str(b->incident, "resolved_at");
	int64_t quiet = rep_ts_ms(after != NULL ? after : resolved);
	json_t *q, *g;
	size_t i;

	json_array_foreach(b->requests, i, q)
	{
		const char *yes = rep_str(q, "last_yes");
		char when[BG_RFC3339_SIZE];

		if (yes != NULL && json_is_null(json_object_get(q, "granted_at"))) {
			bg_rfc3339(rep_ts_ms(yes) / 1000 +
			               json_integer_value(json_object_get(q, "duration_seconds")),
			           when);
			if (!bg_json_set(q, "granted_at", json_string(yes)) ||
			    !bg_json_set(q, "expires_at", json_string(when)) ||
			    (strcmp(txt_or(rep_str(q, "state"), ""), "pending") == 0 &&
			     !bg_json_set(q, "state", json_string("approved"))) ||
			    !bg_json_set(q, "grant_inferred", json_true()))
				return false;
		}
		if (yes != NULL && json_object_del(q, "last_yes") != 0)
			return false;
	}
	json_array_foreach(b->queries, i, q)
	{
		const char *gid = rep_str(q, "grant");
		int64_t t = rep_ts_ms(rep_str(q, "ts")), s, x;
		json_t *seq = json_object_get(q, "seq");

		g = gid != NULL ? json_object_get(b->by_request, gid) : NULL;
		s = g != NULL ? rep_ts_ms(rep_str(g, "granted_at")) : 0;
		x = g != NULL ? rep_ts_ms(rep_str(g, "expires_at")) : 0;
		if (s > 0 && x > s && t >= x - (int64_t)((double)(x - s) * b->o->near_expiry)) {
			if (!bg_json_set(q, "near_expiry", json_true()) ||
			    !anomaly(b, "near_expiry", seq,
			             json_sprintf("%s at %s, %.0f s before grant %s ends",
			                          txt_or(rep_str(q, "op"), "?"),
			                          txt_or(rep_str(q, "ts"), "?"),
			                          (double)(x - t) / 1000.0, gid)))
				return false;
		}
		if (quiet > 0 && t > quiet &&
		    !anomaly(
		        b, "after_resolved", seq,
		        json_sprintf("%s at %s, after the %s at %s", txt_or(rep_str(q, "op"), "?"),
		                     txt_or(rep_str(q, "ts"), "?"),
		                     after != NULL ? "alerts resolved" : "incident was resolved",
		                     after != NULL ? after : resolved)))
			return false;
		if (json_is_null(json_object_get(q, "response_seq")) &&
		    !anomaly(b, "no_response", seq,
		             json_sprintf("%s at %s has no response record",
		                          txt_or(rep_str(q, "op"), "?"),
		                          txt_or(rep_str(q, "ts"), "?"))))
			return false;
	}
	return true;
}

static bool verification(builder *b)
{
	averify_result res;
	json_t *j;

	if (b->v == NULL)
		return bg_json_set(b->m, "verification",
		                   json_pack("{s:b,s:s}", "done", 0, "why", "no public key given"));
	if (averify_finish(b->v, &res) != 0)
		return false;
	j = averify_result_json(&res);
	if (j == NULL || !bg_json_set(j, "done", json_true()) ||
	    !bg_json_set(j, "first_checkpoint",
	                 b->first_cp ? json_integer(b->first_cp) : json_null()) ||
	    !bg_json_set(j, "last_checkpoint",
	                 b->last_cp ? json_integer(b->last_cp) : json_null())) {
		json_decref(j);
		return false;
	}
	if (!bg_json_set(b->m, "verification", j))
		return false;
	if (!res.ok)
		return anomaly(
		    b, "audit_broken", json_null(),
		    json_sprintf("the audit trail does not verify: %zu problem(s)", res.nproblems));
	if (res.signed_seq < b->last_kept)
		return anomaly(b, "unsigned_tail", json_null(),
		               res.signed_seq > 0
		                   ? json_sprintf("records after seq %lld are not covered by a "
		                                  "signed checkpoint yet",
		                                  (long long)res.signed_seq)
		                   : json_string("no record of the incident is covered by a signed "
		                                 "checkpoint yet: build the report again in a few "
		                                 "seconds"));
	return true;
}

int report_build(json_t *records, const report_opts *o, report **out, bg_err *e)
{
	builder b;
	report *r = NULL;
	json_t *rec;
	size_t i;
	bool ok = true;
	int rc = 0;

	*out = NULL;
	if (o == NULL || o->incident == NULL || !json_is_array(records))
		return bg_err_set(e, BG_EINVAL,
		                  "a report needs an incident id and a list of records");
	if (json_array_size(records) > BG_MAX_REPORT_RECORDS)
		return bg_err_set(e, BG_ELIMIT, "more than %d records: not one incident's",
		                  BG_MAX_REPORT_RECORDS);
	memset(&b, 0, sizeof(b));
	b.o = o;
	b.budget = o->budget;
	b.m = json_pack("{s:s,s:s?,s:{s:s,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n},s:[],s:[],s:[],s:[],"
	                "s:[],s:[],s:[]}",
	                "incident_id", o->incident, "generated_at", o->generated_at, "incident",
	                "id", o->incident, "title", "severity", "service", "source", "opened_at",
	                "opened_by", "resolved_at", "resolved_by", "alerts_resolved_at", "timeline",
	                "requests", "queries", "denials", "writes", "anomalies", "capacity_points");
	b.by_request = json_object();
	b.open_q = json_object();
	b.alerts = json_object();
	if (b.m == NULL || b.by_request == NULL || b.open_q == NULL || b.alerts == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto out;
	}
	b.incident = json_object_get(b.m, "incident");
	b.timeline = json_object_get(b.m, "timeline");
	b.requests = json_object_get(b.m, "requests");
	b.queries = json_object_get(b.m, "queries");
	b.denials = json_object_get(b.m, "denials");
	b.writes = json_object_get(b.m, "writes");
	b.anomalies = json_object_get(b.m, "anomalies");
	b.points = json_object_get(b.m, "capacity_points");
	if (o->nkeys > 0 && averify_new(o->keys, o->nkeys, false, &b.v, e) != 0) {
		rc = BG_ENOMEM;
		goto out;
	}
	json_array_foreach(records, i, rec)
	{
		if (!json_is_object(rec))
			continue;
		if (b.v != NULL && averify_record(b.v, rec) != 0) {
			ok = false;
			break;
		}
		if (json_is_true(json_object_get(rec, "redacted"))) {
			b.redacted++;
			continue;
		}
		if (!one(&b, rec)) {
			ok = false;
			break;
		}
	}
	ok = ok && second_pass(&b) && verification(&b) &&
	     bg_json_set(b.m, "capacity",
	                 json_pack("{s:f,s:o}", "total", b.cumulative, "budget",
	                           b.budget >= 0 ? json_real(b.budget) : json_null())) &&
	     bg_json_set(b.m, "counts",
	                 json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "records",
	                           (json_int_t)b.records, "redacted", (json_int_t)b.redacted,
	                           "checkpoints", (json_int_t)b.checkpoints, "queries",
	                           (json_int_t)json_array_size(b.queries), "denials",
	                           (json_int_t)json_array_size(b.denials), "anomalies",
	                           (json_int_t)json_array_size(b.anomalies), "first_seq",
	                           (json_int_t)b.first_seq, "last_seq", (json_int_t)b.last_seq));
	if (!ok) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto out;
	}
	r->m = b.m;
	b.m = NULL;
	*out = r;
out:
	averify_free(b.v);
	json_decref(b.m);
	json_decref(b.by_request);
	json_decref(b.open_q);
	json_decref(b.alerts);
	return rc;
}
