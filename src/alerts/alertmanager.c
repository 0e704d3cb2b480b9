/*
 * alertmanager.c - Alertmanager's webhook payload, version 4 (see alertmanager.h).
 */
#include "alerts/alertmanager.h"

#include <stdlib.h>
#include <string.h>

/* The string label name of labels (NULL when absent). */
static int label(json_t *labels, const char *name, const char **v, size_t *n, bg_err *e)
{
	*v = NULL;
	if (n != NULL)
		*n = 0;
	if (labels == NULL)
		return 0;
	return alert_json_str(labels, name, false, v, n, e);
}

static int parse_alert(json_t *a, alert_item *it, int *severity, bg_err *e)
{
	json_t *labels, *ann;
	const char *fp, *name, *summary, *sev;
	size_t fp_n, name_n, summary_n;
	char *canon;

	if (!json_is_object(a))
		return bg_err_set(e, BG_EINVAL, "an alert is not an object");
	if (alert_json_status(a, &it->firing, e) != 0 ||
	    alert_json_obj(a, "labels", &labels, e) != 0 ||
	    alert_json_obj(a, "annotations", &ann, e) != 0 ||
	    alert_json_str(a, "fingerprint", false, &fp, &fp_n, e) != 0 ||
	    label(labels, "alertname", &name, &name_n, e) != 0 ||
	    label(labels, "severity", &sev, NULL, e) != 0 ||
	    label(ann, "summary", &summary, &summary_n, e) != 0)
		return BG_EINVAL;
	if (labels == NULL)
		return bg_err_set(e, BG_EINVAL, "an alert has no labels");
	if (summary == NULL && label(ann, "description", &summary, &summary_n, e) != 0)
		return BG_EINVAL;
	if (fp != NULL && fp_n > 0) {
		if (alert_copy_id(it->key, sizeof(it->key), "fingerprint", fp, fp_n, e) != 0)
			return BG_EINVAL;
	} else {
		canon = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
		if (canon == NULL)
			return bg_err_set(e, BG_ENOMEM, "out of memory");
		alert_hashed_id(it->key, canon, strlen(canon));
		free(canon);
	}
	alert_copy_text(it->name, sizeof(it->name), name, name_n);
	alert_copy_text(it->summary, sizeof(it->summary), summary, summary_n);
	if (alert_json_time(a, "startsAt", &it->starts_at, e) != 0 ||
	    alert_json_time(a, "endsAt", &it->ends_at, e) != 0)
		return BG_EINVAL;
	if (it->firing)
		it->ends_at = 0;
	*severity = alert_severity_parse(sev);
	return 0;
}

/* Keeps the alerts of the wanted status, while there is room. */
static int take_alerts(json_t *alerts, bool want_firing, alert_batch *b, int *most_severe,
                       bg_err *e)
{
	alert_item item;
	size_t i;
	int sev = 0;

	for (i = 0; i < json_array_size(alerts); i++) {
		memset(&item, 0, sizeof(item));
		if (parse_alert(json_array_get(alerts, i), &item, &sev, e) != 0)
			return BG_EINVAL;
		if (item.firing != want_firing)
			continue;
		if (sev > 0 && (*most_severe == 0 || sev < *most_severe))
			*most_severe = sev;
		if (b->n == BG_MAX_HOOK_ALERTS) {
			b->truncated++;
			continue;
		}
		b->items[b->n++] = item;
	}
	return 0;
}

int alertmanager_parse(const char *body, size_t n, alert_batch *out, bg_err *e)
{
	json_t *root = NULL, *alerts, *common, *group_labels, *common_ann, *trunc;
	const char *version, *key, *sev, *svc, *title;
	size_t key_n, svc_n = 0, title_n = 0;
	int rc, most_severe = 0;
	bool firing;

	rc = alert_parse_begin(out, ALERT_ALERTMANAGER, body, n, "the Alertmanager payload", &root,
	                       e);
	if (rc != 0)
		return rc;
	rc = BG_EINVAL;
	if (alert_json_str(root, "version", true, &version, NULL, e) != 0)
		goto fail;
	if (strcmp(version, "4") != 0) {
		bg_err_set(e, BG_EINVAL, "payload version %.16s is not 4", version);
		goto fail;
	}
	if (alert_json_str(root, "groupKey", true, &key, &key_n, e) != 0 ||
	    alert_json_status(root, &firing, e) != 0 ||
	    alert_json_arr(root, "alerts", &alerts, e) != 0 ||
	    alert_json_obj(root, "commonLabels", &common, e) != 0 ||
	    alert_json_obj(root, "groupLabels", &group_labels, e) != 0 ||
	    alert_json_obj(root, "commonAnnotations", &common_ann, e) != 0)
		goto fail;
	if (alerts == NULL || json_array_size(alerts) == 0) {
		bg_err_set(e, BG_EINVAL, "the payload holds no alerts");
		goto fail;
	}
	(void)firing; /* the alerts decide; the group's status need only be well-formed */
	if (key_n >= sizeof(out->group))
		alert_hashed_id(out->group, key, key_n);
	else if (alert_copy_id(out->group, sizeof(out->group), "groupKey", key, key_n, e) != 0) {
		goto fail;
	}
	trunc = json_object_get(root, "truncatedAlerts");
	if (trunc != NULL && (!json_is_integer(trunc) || json_integer_value(trunc) < 0)) {
		bg_err_set(e, BG_EINVAL, "\"truncatedAlerts\" is not a count");
		goto fail;
	}
	if (trunc != NULL)
		out->truncated = (size_t)json_integer_value(trunc);
	if (take_alerts(alerts, true, out, &most_severe, e) != 0 ||
	    take_alerts(alerts, false, out, &most_severe, e) != 0)
		goto fail;
	alert_batch_finish(out);

	if (label(common, "severity", &sev, NULL, e) != 0 ||
	    label(common, "service", &svc, &svc_n, e) != 0 ||
	    (svc == NULL && label(group_labels, "service", &svc, &svc_n, e) != 0) ||
	    label(common_ann, "summary", &title, &title_n, e) != 0 ||
	    (title == NULL && label(common, "alertname", &title, &title_n, e) != 0) ||
	    (title == NULL && label(group_labels, "alertname", &title, &title_n, e) != 0))
		goto fail;
	out->severity = alert_severity_parse(sev);
	if (out->severity == 0)
		out->severity = most_severe;
	alert_copy_text(out->service, sizeof(out->service), svc, svc_n);
	if (title != NULL)
		alert_copy_text(out->title, sizeof(out->title), title, title_n);
	else
		alert_copy_text(out->title, sizeof(out->title), out->items[0].name,
		                strlen(out->items[0].name));
	rc = 0;
fail:
	json_decref(root);
	return rc;
}
