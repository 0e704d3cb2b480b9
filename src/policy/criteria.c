/*
 * criteria.c - the trigger criteria and approval decisions (see criteria.h; each check's
 * semantics and messages are in docs/policy.md).
 */
#include "policy/criteria.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/duration.h"

/* Appends to a message, cut at its size. */
static void say(criteria_result *r, const char *fmt, ...) BG_PRINTF(2, 3);
static void say(criteria_result *r, const char *fmt, ...)
{
	size_t len = strlen(r->message);
	va_list ap;

	if (len + 1 >= sizeof(r->message))
		return;
	va_start(ap, fmt);
	vsnprintf(r->message + len, sizeof(r->message) - len, fmt, ap);
	va_end(ap);
}

/* "2026-12-08 09:00 UTC" */
static void when(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(out, n, "(time out of range)");
}

/* Requester text quoted for a message: at most BG_MAX_QUOTED bytes, anything but printable
 * ASCII shown as '?', so a ticket cannot bring control characters into a terminal or log. */
static void quoted(const char *s, char *out, size_t n)
{
	size_t i, len = strlen(s), max = len > BG_MAX_QUOTED ? BG_MAX_QUOTED : len;

	for (i = 0; i < max && i + 4 < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (max < len && i + 4 < n) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

/* Characters in s (UTF-8 code points), spaces at either end not counted. */
static size_t text_length(const char *s)
{
	const char *end;
	size_t n = 0;

	if (s == NULL)
		return 0;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	for (; s < end; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n;
}

static const char *incident_name(const criteria_input *in)
{
	return in->incident_id != NULL ? in->incident_id : "(unnamed)";
}

/* --- the checks ---------------------------------------------------------------------- */

static void incident_open(const policy_criterion *c, const criteria_input *in, criteria_result *r)
{
	const char *id = incident_name(in);

	if (!in->incident_exists) {
		say(r, "no incident; the policy needs an open incident of SEV%d or more severe",
		    c->max_severity);
	} else if (!in->incident_open) {
		say(r, "incident %s is resolved; the policy needs an open one", id);
	} else if (in->incident_severity < 1 || in->incident_severity > 5) {
		say(r,
		    "incident %s has no valid severity (%d); the policy needs SEV%d or more "
		    "severe",
		    id, in->incident_severity, c->max_severity);
	} else if (in->incident_severity > c->max_severity) {
		say(r, "incident %s is SEV%d; the policy needs SEV%d or more severe", id,
		    in->incident_severity, c->max_severity);
	} else {
		r->ok = true;
		say(r, "incident %s is open at SEV%d (SEV%d or more severe needed)", id,
		    in->incident_severity, c->max_severity);
	}
}

static void alert_firing_within(const policy_criterion *c, const criteria_input *in,
                                criteria_result *r)
{
	char window[24], ago[24];
	int64_t age = in->now - in->last_alert_at;

	bg_duration_format(c->window_seconds, window, sizeof(window));
	if (!in->incident_exists) {
		say(r, "no incident, so no alert; the policy needs one firing within %s", window);
		return;
	}
	if (in->alert_firing_now) {
		r->ok = true;
		say(r, "an alert of incident %s is firing now", incident_name(in));
		return;
	}
	if (in->last_alert_at <= 0) {
		say(r, "no alert has fired for incident %s; the policy needs one within %s",
		    incident_name(in), window);
		return;
	}
	if (age < 0) /* a clock ahead of ours: it fired "now" */
		age = 0;
	bg_duration_format(age, ago, sizeof(ago));
	if (age <= c->window_seconds) {
		r->ok = true;
		say(r, "the last alert of incident %s fired %s ago (within %s)", incident_name(in),
		    ago, window);
	} else {
		say(r, "the last alert of incident %s fired %s ago; the policy needs one within %s",
		    incident_name(in), ago, window);
	}
}

/* "bob is, until 2026-12-08 09:00 UTC" (alone) or "bob until ..." (in a list). */
static void holder(criteria_result *r, const oncall_shift *s, bool alone)
{
	char until[40];

	when(s->until, until, sizeof(until));
	say(r, "%s%s%s until %s", s->user, s->override ? " (override)" : "", alone ? " is," : "",
	    until);
}

static void requester_on_call(const policy_criterion *c, const criteria_input *in,
                              criteria_result *r)
{
	const char *who = in->requester != NULL ? in->requester : "(nobody)";
	oncall_shift s[BG_MAX_ONCALL_ROTATIONS];
	char until[40];
	size_t i, n, rot = 0;

	if (in->schedule == NULL) {
		say(r, "the on-call schedule (%s) is not loaded, so %s cannot be shown on call",
		    c->schedule_file, who);
		return;
	}
	if (c->rotation != NULL && !oncall_rotation_find(in->schedule, c->rotation, &rot)) {
		say(r, "the on-call schedule has no rotation %s", c->rotation);
		return;
	}
	if (c->rotation != NULL)
		n = oncall_rotation_who(in->schedule, rot, in->now, &s[0]) == 0 ? 1 : 0;
	else
		n = oncall_who(in->schedule, in->now, s, BG_MAX_ONCALL_ROTATIONS);
	for (i = 0; i < n && in->requester != NULL; i++) {
		if (strcmp(s[i].user, in->requester) == 0) {
			r->ok = true;
			when(s[i].until, until, sizeof(until));
			say(r, "%s is on call in %s until %s", who, s[i].rotation, until);
			return;
		}
	}
	if (n == 0) {
		say(r, "%s is not on call: nobody is on call%s%s now", who,
		    c->rotation != NULL ? " in " : "", c->rotation != NULL ? c->rotation : "");
		return;
	}
	if (n == 1) {
		say(r, "%s is not on call in %s now (", who, s[0].rotation);
		holder(r, &s[0], true);
		say(r, ")");
		return;
	}
	say(r, "%s is not on call now (", who);
	for (i = 0; i < n; i++) {
		say(r, "%s%s: ", i > 0 ? "; " : "", s[i].rotation);
		holder(r, &s[i], false);
	}
	say(r, ")");
}

static void reason(const policy_criterion *c, const criteria_input *in, criteria_result *r)
{
	size_t n = text_length(in->reason);

	r->ok = n >= (size_t)c->min_length;
	if (r->ok)
		say(r, "reason is %zu characters (at least %lld needed)", n,
		    (long long)c->min_length);
	else
		say(r, "reason is %zu characters; at least %lld needed", n,
		    (long long)c->min_length);
}

static void ticket(const policy_criterion *c, const criteria_input *in, criteria_result *r)
{
	char q[BG_MAX_QUOTED + 8];

	if (in->ticket == NULL || in->ticket[0] == '\0') {
		say(r, "no ticket given; it must match %s", c->pattern);
		return;
	}
	quoted(in->ticket, q, sizeof(q));
	r->ok = strlen(in->ticket) <= BG_MAX_REASON && regexec(&c->re, in->ticket, 0, NULL, 0) == 0;
	say(r, "ticket \"%s\" %s %s", q, r->ok ? "matches" : "does not match", c->pattern);
}

static bool has_service(const criteria_runbook *rb, const char *service)
{
	size_t i;

	for (i = 0; i < rb->n_services; i++) {
		if (strcmp(rb->services[i], service) == 0)
			return true;
	}
	return false;
}

static void runbook_allowed(const policy_criterion *c, const criteria_input *in, criteria_result *r)
{
	const char *svc = in->incident_service;
	size_t i, j, bad = 0;

	(void)c;
	if (!in->incident_exists) {
		say(r, "no incident, so no service the runbooks could be allowed for");
		return;
	}
	if (svc == NULL || svc[0] == '\0') {
		say(r, "incident %s names no service; runbook_allowed_for_service needs one",
		    incident_name(in));
		return;
	}
	if (in->n_runbooks == 0) {
		say(r, "the request names no runbook");
		return;
	}
	for (i = 0; i < in->n_runbooks; i++) {
		const criteria_runbook *rb = &in->runbooks[i];
		if (has_service(rb, svc))
			continue;
		say(r, "%s", bad++ > 0 ? "; " : "");
		if (rb->n_services == 0) {
			say(r, "runbook %s lists no services, so it is allowed for no incident",
			    rb->id);
			continue;
		}
		say(r, "runbook %s is not allowed for service %s (it is for ", rb->id, svc);
		for (j = 0; j < rb->n_services; j++)
			say(r, "%s%s", j > 0 ? ", " : "", rb->services[j]);
		say(r, ")");
	}
	if (bad > 0)
		return;
	r->ok = true;
	say(r, "%s allowed for service %s",
	    in->n_runbooks == 1 ? "the runbook is" : "every runbook is", svc);
}

static void max_duration(const policy_criterion *c, const criteria_input *in, criteria_result *r)
{
	char want[24], max[24];

	bg_duration_format(in->duration_seconds, want, sizeof(want));
	bg_duration_format(c->max_seconds, max, sizeof(max));
	if (in->duration_seconds <= 0) {
		say(r, "no duration requested; at most %s allowed", max);
		return;
	}
	r->ok = in->duration_seconds <= c->max_seconds;
	if (r->ok)
		say(r, "requested %s (at most %s)", want, max);
	else
		say(r, "requested %s; the policy allows at most %s", want, max);
}

int criteria_eval(const policy *p, const criteria_input *in, criteria_result *out, size_t *n)
{
	typedef void (*check_fn)(const policy_criterion *, const criteria_input *,
	                         criteria_result *);
	static const check_fn fns[POLICY_N_CHECKS] = {
	    [POLICY_INCIDENT_OPEN] = incident_open,
	    [POLICY_ALERT_FIRING_WITHIN] = alert_firing_within,
	    [POLICY_REQUESTER_ON_CALL] = requester_on_call,
	    [POLICY_REASON] = reason,
	    [POLICY_TICKET] = ticket,
	    [POLICY_RUNBOOK_ALLOWED_FOR_SERVICE] = runbook_allowed,
	    [POLICY_MAX_DURATION] = max_duration};
	size_t i, count = policy_criteria_count(p);
	bool all = true;

	for (i = 0; i < count; i++) {
		const policy_criterion *c = policy_criterion_at(p, i);
		criteria_result *r = &out[i];
		memset(r, 0, sizeof(*r));
		r->check = c->check;
		r->name = c->name;
		fns[c->check](c, in, r);
		all = all && r->ok;
	}
	*n = count;
	return all ? 0 : BG_EDENIED;
}

json_t *criteria_results_to_json(const criteria_result *r, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++) {
		json_t *o = json_pack("{s:s, s:b, s:s}", "check", r[i].name, "ok", r[i].ok,
		                      "message", r[i].message);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

void criteria_failures(const criteria_result *r, size_t n, char *out, size_t cap)
{
	size_t i, len = 0;
	int w;

	if (cap == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < n && len < cap; i++) {
		if (r[i].ok)
			continue;
		w = snprintf(out + len, cap - len, "%s%s: %s", len > 0 ? "; " : "", r[i].name,
		             r[i].message);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

/* --- approval ------------------------------------------------------------------------ */

approval_state approval_decide(const policy *p, const approval_request *r)
{
	const policy_approval *a = policy_get_approval(p);

	if (r->denied)
		return APPROVAL_DENIED;
	if (r->approvals >= (unsigned)a->approvers)
		return APPROVAL_APPROVED;
	if (r->now - r->created_at >= a->pending_expires)
		return APPROVAL_EXPIRED;
	return APPROVAL_PENDING;
}

const char *approval_state_name(approval_state s)
{
	static const char *const names[] = {"pending", "approved", "denied", "expired"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

bool approval_solo_allowed(const policy *p, const approval_request *r, char *why, size_t n)
{
	const policy_approval *a = policy_get_approval(p);
	approval_state s = approval_decide(p, r);
	char d[24], left[24];
	int64_t waited = r->now - r->created_at;

	if (n > 0)
		why[0] = '\0';
	if (a->solo_after <= 0) {
		snprintf(why, n,
		         "the policy forbids solo break-glass (approval.solo_after is not "
		         "set)");
		return false;
	}
	if (s != APPROVAL_PENDING) {
		snprintf(why, n,
		         "the request is %s, not pending: solo is for a request nobody "
		         "answered",
		         approval_state_name(s));
		return false;
	}
	if (waited < a->solo_after) {
		bg_duration_format(a->solo_after, d, sizeof(d));
		bg_duration_format(a->solo_after - (waited > 0 ? waited : 0), left, sizeof(left));
		snprintf(why, n,
		         "solo break-glass is allowed %s after the request without an answer: wait "
		         "%s more",
		         d, left);
		return false;
	}
	return true;
}
