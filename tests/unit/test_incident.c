/*
 * test_incident.c - the service layer's incidents (workflow/incident.h) on a real store
 * and audit log: opened by hand and resolved, each with its record; and alert deliveries,
 * which open one incident per group, record each alert's change of state once, raise the
 * severity but never lower it, and change nothing when the same delivery or the same
 * states come again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include "svc_fixture.h"

#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "store/keyring.h"
#include "store/store.h"
#include "workflow/incident.h"
#include "workflow/user.h"

static char dir[64];
static svc sv;

static int setup(void **state)
{
	if (ut_svc_open(dir, sizeof(dir), "test-incident", &sv) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	return ut_svc_close(dir, &sv);
}

static void new_caller(const char *name, unsigned role, svc_caller *c)
{
	ut_svc_caller(&sv, name, role, c);
}

static int last_cb(void *ctx, json_t *rec)
{
	json_t **last = ctx;

	json_decref(*last);
	*last = json_incref(rec);
	return 0;
}

/* The newest audit record (the caller decrefs). */
static json_t *newest(void)
{
	json_t *rec = NULL;
	bg_err e;

	assert_int_equal(audit_read(sv.audit, 0, 0, last_cb, &rec, &e), 0);
	assert_non_null(rec);
	return rec;
}

static int64_t records(void)
{
	json_t *rec = newest();
	int64_t seq = json_integer_value(json_object_get(rec, "seq"));

	json_decref(rec);
	return seq;
}

static int count_events(void *ctx, const store_incident_event *ev)
{
	(*(int *)ctx)++;
	return 0;
}

static int events_of(const char *id)
{
	int n = 0;
	bg_err e;

	assert_int_equal(store_incident_event_list(sv.st, id, count_events, &n, &e), 0);
	return n;
}

static void test_open_and_resolve(void **state)
{
	svc_caller c;
	store_incident in, got;
	svc_incident_input inp = {"INC-4711", 1, "orders API returns 500", "orders"};
	json_t *rec, *j;
	bg_err e;

	(void)state;
	new_caller("ron", USER_ROLE_RESPONDER, &c);
	assert_int_equal(svc_incident_open(&sv, &c, &inp, &in, &e), 0);
	rec = newest();
	assert_string_equal(json_string_value(json_object_get(rec, "kind")), "incident-open");
	assert_string_equal(json_string_value(json_object_get(rec, "actor")), "ron");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(rec, "detail"), "incident")),
	    "INC-4711");
	json_decref(rec);
	assert_int_equal(svc_incident_open(&sv, &c, &inp, &in, &e), BG_EEXISTS);

	inp.id = "INC 1";
	assert_int_equal(svc_incident_open(&sv, &c, &inp, &in, &e), BG_EINVAL);
	inp.id = "INC-1";
	inp.severity = 0;
	assert_int_equal(svc_incident_open(&sv, &c, &inp, &in, &e), BG_EINVAL);
	inp.severity = 2;
	inp.title = "line\x1b[2J";
	assert_int_equal(svc_incident_open(&sv, &c, &inp, &in, &e), BG_EINVAL);

	assert_int_equal(svc_incident_resolve(&sv, &c, "INC-4711", "rolled back", &got, &e), 0);
	assert_false(got.open);
	assert_string_equal(got.resolved_by, "ron");
	assert_int_equal(svc_incident_resolve(&sv, &c, "INC-4711", NULL, &got, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "resolved already"));
	assert_int_equal(svc_incident_resolve(&sv, &c, "INC-0", NULL, &got, &e), BG_ENOTFOUND);
	assert_int_equal(svc_incident_get(&sv, &c, "INC-4711", &got, &e), 0);
	assert_int_equal(svc_incident_json(&sv, &got, true, &j, &e), 0);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "resolved");
	assert_int_equal(json_array_size(json_object_get(j, "events")), 2); /* opened, resolved */
	json_decref(j);
}

static void test_alerts(void **state)
{
	svc_alert items[2] = {
	    {"fp-1", "DynamoDBThrottling", "orders is throttled", true, 1700000000, 0},
	    {"fp-2", "DynamoDBErrors", "5xx from orders", true, 1700000060, 0},
	};
	svc_alerts in = {"alertmanager", "{}:{alertname=\"DynamoDB\"}",
	                 NULL,           "DynamoDB is unwell",
	                 "orders",       2,
	                 items,          1};
	svc_alerts_outcome out;
	char id[BG_MAX_INCIDENT_ID + 1], first[BG_MAX_INCIDENT_ID + 1];
	store_incident inc;
	int64_t n;
	json_t *rec;
	bg_err e;

	(void)state;
	/* Resolved alerts of a group nobody knows: nothing to do. */
	items[0].firing = false;
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(out, SVC_ALERTS_IGNORED);
	items[0].firing = true;

	/* The first firing alert opens the group's incident. */
	n = records();
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(out, SVC_ALERTS_OPENED);
	assert_int_equal(strncmp(id, "am-", 3), 0);
	assert_int_equal(strlen(id), 13);
	snprintf(first, sizeof(first), "%s", id);
	assert_int_equal(records(), n + 1);
	rec = newest();
	assert_string_equal(json_string_value(json_object_get(rec, "kind")), "alert");
	assert_string_equal(json_string_value(json_object_get(rec, "actor")), "alertmanager");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(rec, "detail"), "incident")), id);
	json_decref(rec);
	assert_int_equal(store_incident_get(sv.st, id, &inc, &e), 0);
	assert_int_equal(inc.severity, 2);
	assert_int_equal(inc.firing, 1);
	assert_string_equal(inc.service, "orders");
	assert_true(inc.last_firing_at > 0);
	assert_int_equal(events_of(id), 2); /* opened, alert-firing */

	/* The same states again: nothing changes, nothing is recorded. */
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(out, SVC_ALERTS_UNCHANGED);
	assert_int_equal(records(), n + 1);

	/* A second alert, more severe: the same incident, raised to SEV1. */
	in.n = 2;
	in.severity = 1;
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(out, SVC_ALERTS_UPDATED);
	assert_string_equal(id, first);
	assert_int_equal(store_incident_get(sv.st, id, &inc, &e), 0);
	assert_int_equal(inc.severity, 1);
	assert_int_equal(inc.firing, 2);
	/* A later, milder delivery never lowers it. */
	in.severity = 4;
	items[1].firing = false;
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(store_incident_get(sv.st, id, &inc, &e), 0);
	assert_int_equal(inc.severity, 1);
	assert_int_equal(inc.firing, 1);
	assert_int_equal(inc.alerts_resolved_at, 0);

	/* Deliveries with ids: the second of the same id changes nothing, whatever it says. */
	in.delivery = "delivery-1";
	items[0].firing = false;
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(out, SVC_ALERTS_UPDATED);
	assert_int_equal(store_incident_get(sv.st, first, &inc, &e), 0);
	assert_int_equal(inc.firing, 0);
	assert_true(inc.alerts_resolved_at > 0); /* shown, and close is suggested */
	assert_true(inc.open);                   /* never closed by an alert */
	items[0].firing = true;
	n = records();
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(out, SVC_ALERTS_DUPLICATE);
	assert_int_equal(records(), n);
	assert_int_equal(store_incident_get(sv.st, first, &inc, &e), 0);
	assert_int_equal(inc.firing, 0);

	/* Once the incident is resolved, the group's next firing opens a new one. */
	{
		svc_caller c;
		new_caller("rita", USER_ROLE_RESPONDER, &c);
		assert_int_equal(svc_incident_resolve(&sv, &c, first, NULL, &inc, &e), 0);
	}
	in.delivery = NULL;
	in.severity = 0; /* not stated: the default applies */
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(out, SVC_ALERTS_OPENED);
	assert_string_not_equal(id, first);
	assert_int_equal(store_incident_get(sv.st, id, &inc, &e), 0);
	assert_int_equal(inc.severity, 3);

	/* Text from outside is cleaned, not refused. */
	items[0].summary = "bad\x1b[31mcolour\n";
	items[0].key = "fp-9";
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(out, SVC_ALERTS_UPDATED);
	in.group = "";
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), BG_EINVAL);
}

/* A delivery with an id is remembered even when it changes nothing (its state is known,
 * or it only resolves a group with no incident): the same id again is a duplicate, never
 * applied later, when the state has moved on (a replayed generic delivery is refused). */
static void test_unchanged_delivery_remembered(void **state)
{
	svc_alert item = {"fp-r", "ReplicaLag", "replica behind", true, 1700000000, 0};
	svc_alerts in = {"generic", "replica-lag", "d-ignored", "Replica lag", "orders", 2, &item,
	                 1};
	svc_alerts_outcome out;
	char id[BG_MAX_INCIDENT_ID + 1], first[BG_MAX_INCIDENT_ID + 1];
	store_incident inc;
	json_t *rec;
	int64_t n;
	bg_err e;

	(void)state;
	/* Only resolved, no incident: ignored, but the id is remembered and recorded. */
	item.firing = false;
	n = records();
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(out, SVC_ALERTS_IGNORED);
	assert_int_equal(records(), n + 1);
	rec = newest();
	assert_string_equal(json_string_value(json_object_get(rec, "kind")), "alert");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(rec, "detail"), "outcome")),
	    "ignored");
	json_decref(rec);
	item.firing = true;
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(out, SVC_ALERTS_DUPLICATE);
	assert_int_equal(records(), n + 1);

	/* It fires (a new id): opened. The same state under another id: unchanged, remembered. */
	in.delivery = "d-open";
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(out, SVC_ALERTS_OPENED);
	snprintf(first, sizeof(first), "%s", id);
	in.delivery = "d-same";
	n = records();
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(out, SVC_ALERTS_UNCHANGED);
	assert_string_equal(id, first);
	assert_int_equal(records(), n + 1);
	rec = newest();
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(rec, "detail"), "outcome")),
	    "unchanged");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(rec, "detail"), "incident")), first);
	json_decref(rec);

	/* The alert resolves; "d-same" (firing) comes again: a duplicate, it stays resolved. */
	in.delivery = "d-resolve";
	item.firing = false;
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(out, SVC_ALERTS_UPDATED);
	in.delivery = "d-same";
	item.firing = true;
	n = records();
	assert_int_equal(svc_incident_alerts(&sv, &in, 3, &out, id, &e), 0);
	assert_int_equal(out, SVC_ALERTS_DUPLICATE);
	assert_int_equal(records(), n);
	assert_int_equal(store_incident_get(sv.st, first, &inc, &e), 0);
	assert_int_equal(inc.firing, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_and_resolve),
	    cmocka_unit_test(test_alerts),
	    cmocka_unit_test(test_unchanged_delivery_remembered),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
