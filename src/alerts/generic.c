/*
 * generic.c - breakglass's own alert webhook format and its signature (see generic.h).
 */
#include "alerts/generic.h"

#include <string.h>

#include "common/buf.h"

/* Unix seconds have 10 digits until 2286; 12 leave room and keep the sum below overflow. */
#define TS_MAX_DIGITS 12

int generic_verify(const char *timestamp, size_t ts_n, const char *signature, size_t sig_n,
                   const void *body, size_t body_n, const char *const *secrets, size_t n_secrets,
                   int64_t now, int64_t *sent_at, bg_err *e)
{
	char prefix[TS_MAX_DIGITS + 1];
	bg_cur c = bg_cur_make(timestamp, ts_n);
	uint64_t ts;
	int rc;

	*sent_at = 0;
	if (timestamp == NULL || ts_n == 0)
		return bg_err_set(e, BG_EAUTH, "X-Breakglass-Timestamp is missing");
	if (ts_n > TS_MAX_DIGITS || bg_cur_uint(&c, UINT64_MAX, &ts) != 0 || !bg_cur_eof(&c))
		return bg_err_set(e, BG_EINVAL, "X-Breakglass-Timestamp is not Unix seconds");
	memcpy(prefix, timestamp, ts_n);
	prefix[ts_n] = '.';
	rc = alert_hmac_check(signature, sig_n, "X-Breakglass-Signature", secrets, n_secrets,
	                      prefix, ts_n + 1, body, body_n, e);
	if (rc != 0)
		return rc;
	if ((int64_t)ts > now + BG_HOOK_MAX_SKEW_SECONDS ||
	    (int64_t)ts < now - BG_HOOK_MAX_SKEW_SECONDS)
		return bg_err_set(
		    e, BG_EEXPIRED, "X-Breakglass-Timestamp is %s than %d seconds from our clock",
		    (int64_t)ts > now ? "ahead more" : "behind more", BG_HOOK_MAX_SKEW_SECONDS);
	*sent_at = (int64_t)ts;
	return 0;
}

/* Refuses members of o not in the NULL-terminated list known (nor starting with "x-"). */
static int known_keys(json_t *o, const char *const *known, const char *where, bg_err *e)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(o, k, v)
	{
		if (strncmp(k, "x-", 2) == 0)
			continue;
		for (i = 0; known[i] != NULL && strcmp(k, known[i]) != 0; i++)
			;
		if (known[i] == NULL)
			return bg_err_set(e, BG_EINVAL, "%s: unknown key \"%.64s\"", where, k);
	}
	return 0;
}

static int severity_of(json_t *root, int *sev, bg_err *e)
{
	json_t *v = json_object_get(root, "severity");

	*sev = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 5)
		*sev = (int)json_integer_value(v);
	else if (json_is_string(v))
		*sev = alert_severity_parse(json_string_value(v));
	if (*sev == 0)
		return bg_err_set(e, BG_EINVAL,
		                  "\"severity\" is not critical, error, warning, info or 1-5");
	return 0;
}

static int parse_alerts(json_t *alerts, alert_batch *b, bg_err *e)
{
	static const char *const keys[] = {"name",      "status",  "summary",
	                                   "starts_at", "ends_at", NULL};
	const char *name, *summary;
	size_t i, j, name_n, summary_n;

	if (json_array_size(alerts) == 0)
		return bg_err_set(e, BG_EINVAL, "\"alerts\" is empty");
	if (json_array_size(alerts) > BG_MAX_HOOK_ALERTS)
		return bg_err_set(e, BG_ELIMIT, "more than %d alerts", BG_MAX_HOOK_ALERTS);
	for (i = 0; i < json_array_size(alerts); i++) {
		json_t *a = json_array_get(alerts, i);
		alert_item *it = &b->items[i];
		if (!json_is_object(a))
			return bg_err_set(e, BG_EINVAL, "an alert is not an object");
		if (known_keys(a, keys, "an alert", e) != 0 ||
		    alert_json_status(a, &it->firing, e) != 0 ||
		    alert_json_str(a, "name", true, &name, &name_n, e) != 0 ||
		    alert_copy_id(it->key, sizeof(it->key), "an alert's name", name, name_n, e) !=
		        0 ||
		    alert_json_str(a, "summary", false, &summary, &summary_n, e) != 0 ||
		    alert_json_time(a, "starts_at", &it->starts_at, e) != 0 ||
		    alert_json_time(a, "ends_at", &it->ends_at, e) != 0)
			return BG_EINVAL;
		for (j = 0; j < i; j++)
			if (strcmp(b->items[j].key, it->key) == 0)
				return bg_err_set(e, BG_EINVAL, "alert \"%.64s\" is listed twice",
				                  it->key);
		alert_copy_text(it->name, sizeof(it->name), name, name_n);
		alert_copy_text(it->summary, sizeof(it->summary), summary, summary_n);
		b->n = i + 1;
	}
	return 0;
}

int generic_parse(const char *body, size_t n, alert_batch *out, bg_err *e)
{
	static const char *const keys[] = {"id",       "group",   "status", "title",
	                                   "severity", "service", "alerts", NULL};
	json_t *root = NULL, *alerts;
	const char *id, *group, *title, *service;
	size_t id_n, group_n, title_n, service_n;
	bool firing;
	int rc;

	rc = alert_parse_begin(out, ALERT_GENERIC, body, n, "the webhook body", &root, e);
	if (rc != 0)
		return rc;
	rc = BG_EINVAL;
	if (known_keys(root, keys, "the webhook body", e) != 0 ||
	    alert_json_str(root, "id", true, &id, &id_n, e) != 0 ||
	    alert_copy_id(out->delivery, sizeof(out->delivery), "\"id\"", id, id_n, e) != 0 ||
	    alert_json_str(root, "group", true, &group, &group_n, e) != 0 ||
	    alert_copy_id(out->group, sizeof(out->group), "\"group\"", group, group_n, e) != 0 ||
	    alert_json_status(root, &firing, e) != 0 ||
	    alert_json_str(root, "title", true, &title, &title_n, e) != 0 ||
	    alert_json_str(root, "service", false, &service, &service_n, e) != 0 ||
	    severity_of(root, &out->severity, e) != 0 ||
	    alert_json_arr(root, "alerts", &alerts, e) != 0)
		goto fail;
	alert_copy_text(out->title, sizeof(out->title), title, title_n);
	alert_copy_text(out->service, sizeof(out->service), service, service_n);
	if (alerts != NULL) {
		rc = parse_alerts(alerts, out, e);
		if (rc != 0)
			goto fail;
		rc = BG_EINVAL;
	} else {
		alert_item *it = &out->items[0];
		if (group_n < sizeof(it->key))
			memcpy(it->key, out->group, group_n + 1);
		else
			alert_hashed_id(it->key, group, group_n);
		alert_copy_text(it->name, sizeof(it->name), title, title_n);
		it->firing = firing;
		out->n = 1;
	}
	alert_batch_finish(out);
	if (out->firing != firing) {
		bg_err_set(e, BG_EINVAL, "\"status\" is %s but %s", firing ? "firing" : "resolved",
		           firing ? "no alert fires" : "an alert fires");
		goto fail;
	}
	rc = 0;
fail:
	json_decref(root);
	return rc;
}
