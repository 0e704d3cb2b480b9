/*
 * pagerduty.c - PagerDuty v3 webhook events and their signatures (see pagerduty.h).
 */
#include "alerts/pagerduty.h"

#include <string.h>

int pagerduty_verify(const char *signature, size_t n, const void *body, size_t body_n,
                     const char *const *secrets, size_t n_secrets, bg_err *e)
{
	return alert_hmac_check(signature, n, "X-PagerDuty-Signature", secrets, n_secrets, NULL, 0,
	                        body, body_n, e);
}

/* The "summary" string of the object member key of o, or NULL. */
static int summary_of(json_t *o, const char *key, const char **s, size_t *n, bg_err *e)
{
	json_t *ref;

	*s = NULL;
	*n = 0;
	if (alert_json_obj(o, key, &ref, e) != 0)
		return BG_EINVAL;
	return ref != NULL ? alert_json_str(ref, "summary", false, s, n, e) : 0;
}

static int parse_incident(json_t *ev, json_t *data, alert_batch *b, bg_err *e)
{
	alert_item *it = &b->items[0];
	const char *id, *title, *status, *urgency, *prio, *svc, *type;
	size_t id_n, title_n, prio_n, svc_n, type_n;
	int64_t occurred;

	if (alert_json_str(data, "id", true, &id, &id_n, e) != 0 ||
	    alert_json_str(data, "title", false, &title, &title_n, e) != 0 ||
	    alert_json_str(data, "status", false, &status, NULL, e) != 0 ||
	    alert_json_str(data, "urgency", false, &urgency, NULL, e) != 0 ||
	    summary_of(data, "priority", &prio, &prio_n, e) != 0 ||
	    summary_of(data, "service", &svc, &svc_n, e) != 0 ||
	    alert_json_str(ev, "event_type", true, &type, &type_n, e) != 0 ||
	    alert_json_time(ev, "occurred_at", &occurred, e) != 0 ||
	    alert_json_time(data, "created_at", &it->starts_at, e) != 0)
		return BG_EINVAL;
	if (alert_copy_id(b->group, sizeof(b->group), "the incident id", id, id_n, e) != 0)
		return BG_EINVAL;
	if (alert_copy_id(it->key, sizeof(it->key), "the incident id", id, id_n, e) != 0)
		return BG_EINVAL;
	if (status == NULL)
		it->firing = strcmp(type, "incident.resolved") != 0;
	else if (strcmp(status, "triggered") == 0 || strcmp(status, "acknowledged") == 0)
		it->firing = true;
	else if (strcmp(status, "resolved") == 0)
		it->firing = false;
	else
		return bg_err_set(e, BG_EINVAL, "incident status %.32s is unknown", status);
	if (!it->firing)
		it->ends_at = occurred;
	b->sent_at = occurred;
	alert_copy_text(it->name, sizeof(it->name), title, title_n);
	alert_copy_text(it->summary, sizeof(it->summary), type, type_n);
	alert_copy_text(b->title, sizeof(b->title), title, title_n);
	alert_copy_text(b->service, sizeof(b->service), svc, svc_n);
	b->severity = alert_severity_parse(prio);
	if (b->severity == 0 && urgency != NULL)
		b->severity = strcmp(urgency, "high") == 0  ? 2
		              : strcmp(urgency, "low") == 0 ? 3
		                                            : 0;
	b->n = 1;
	alert_batch_finish(b);
	return 0;
}

int pagerduty_parse(const char *body, size_t n, alert_batch *out, bg_err *e)
{
	json_t *root = NULL, *ev, *data;
	const char *id, *rtype, *dtype = NULL;
	size_t id_n;
	int rc;

	rc = alert_parse_begin(out, ALERT_PAGERDUTY, body, n, "the PagerDuty event", &root, e);
	if (rc != 0)
		return rc;
	rc = BG_EINVAL;
	if (alert_json_obj(root, "event", &ev, e) != 0)
		goto fail;
	if (ev == NULL) {
		bg_err_set(e, BG_EINVAL, "\"event\" is missing");
		goto fail;
	}
	if (alert_json_str(ev, "id", true, &id, &id_n, e) != 0 ||
	    alert_copy_id(out->delivery, sizeof(out->delivery), "the event id", id, id_n, e) != 0 ||
	    alert_json_str(ev, "resource_type", true, &rtype, NULL, e) != 0 ||
	    alert_json_obj(ev, "data", &data, e) != 0 ||
	    (data != NULL && alert_json_str(data, "type", false, &dtype, NULL, e) != 0))
		goto fail;
	if (strcmp(rtype, "incident") != 0 || data == NULL || dtype == NULL ||
	    strcmp(dtype, "incident") != 0) {
		rc = ALERT_IGNORED;
		goto fail;
	}
	rc = parse_incident(ev, data, out, e);
fail:
	json_decref(root);
	return rc;
}
