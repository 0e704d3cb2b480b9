/*
 * policy.c - reading the policy file (see policy.h and docs/policy.md).
 *
 * One reader per section, each checking its keys against a list, so an unknown key is
 * refused by construction. The first problem stops the parse: a policy is loaded at start
 * and a wrong one must be fixed, not half-applied. Every string kept is a copy the policy
 * owns (the tree is freed before policy_parse returns).
 */
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/validate.h"
#include "common/yschema.h"
#include "common/ytree.h"

/* Files a policy can name: the schedule, the CA, Alertmanager's token, and up to
 * BG_MAX_POLICY_LIST secret files for each of PagerDuty and the generic webhook, one per
 * notify target. */
#define MAX_FILES (3 + 2 * BG_MAX_POLICY_LIST + BG_MAX_NOTIFY_TARGETS)

struct policy {
	char *name;
	policy_criterion crit[POLICY_N_CHECKS];
	size_t n_crit;
	policy_approval approval;
	policy_alerts alerts;
	policy_direct_grants direct;
	rl_rate rate;         /* per_second 0: none */
	budget_limits budget; /* each grant's capacity budget; -1: none */
	int64_t review_deadline;
	policy_notify notify[BG_MAX_NOTIFY_TARGETS];
	size_t n_notify;
	policy_file files[MAX_FILES];
	size_t n_files;
	/* The lists' storage. */
	const char *pd_secrets[BG_MAX_POLICY_LIST], *generic_secrets[BG_MAX_POLICY_LIST];
	const char *sns_topics[BG_MAX_POLICY_LIST], *sns_hosts[BG_MAX_POLICY_LIST];
	char **strings; /* every copy made, freed together */
	size_t n_strings;
};

/* NULL-ended for ys_known_list. */
static const char *const check_names[POLICY_N_CHECKS + 1] = {
    "incident_open", "alert_firing_within",         "requester_on_call", "reason",
    "ticket",        "runbook_allowed_for_service", "max_duration",      NULL};

static const char *const event_names[] = {"request", "approval", "denial",   "solo",  "revocation",
                                          "expiry",  "grant",    "incident", "close", "review"};

const char *policy_check_name(policy_check c)
{
	return (unsigned)c < POLICY_N_CHECKS ? check_names[c] : "unknown";
}

const char *policy_event_name(unsigned ev)
{
	size_t i;

	for (i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++) {
		if (ev == 1u << i)
			return event_names[i];
	}
	return NULL;
}

/* --- reading ------------------------------------------------------------------------- */

typedef struct pctx {
	policy *p;
	ys_file f;
	bg_err *e;
} pctx;

#define fail(c, line, ...) ys_fail(&(c)->f, (line), __VA_ARGS__)

static int keys(pctx *c, const ytree_node *m, const char *what, const char *const *known)
{
	return ys_check_keys(&c->f, m, what, known);
}

/* A copy of s the policy owns, into *out. */
static int keep(pctx *c, const char *s, const char **out)
{
	char **l = realloc(c->p->strings, (c->p->n_strings + 1) * sizeof(*l));
	char *d;

	if (l == NULL)
		return bg_err_set(c->e, BG_ENOMEM, "out of memory");
	c->p->strings = l;
	if ((d = strdup(s)) == NULL)
		return bg_err_set(c->e, BG_ENOMEM, "out of memory");
	l[c->p->n_strings++] = d;
	*out = d;
	return 0;
}

static int str(pctx *c, const ytree_node *v, const char *key, size_t max, const char **out)
{
	const char *s;
	bg_err why;
	int rc = ys_at(&c->f, v->line, ys_text(v, key, &s, &why), &why);

	if (rc != 0)
		return rc;
	if (v->len > max)
		return fail(c, v->line, "%s is longer than %zu characters", key, max);
	return keep(c, s, out);
}

static int integer(pctx *c, const ytree_node *v, const char *key, int64_t min, int64_t max,
                   int64_t *out)
{
	bg_err why;

	return ys_at(&c->f, v->line, ys_int(v, key, min, max, out, &why), &why);
}

static int duration(pctx *c, const ytree_node *v, const char *key, int64_t max, int64_t *out)
{
	bg_err why;

	return ys_at(&c->f, v->line, ys_duration(v, key, max, out, &why), &why);
}

/* A path the caller will read: kept as written and listed in policy_files(). */
static int path(pctx *c, const ytree_node *v, const char *key, const char **out)
{
	policy_file *f;
	int rc = str(c, v, key, BG_MAX_PATH, out);

	if (rc != 0)
		return rc;
	if (c->p->n_files == MAX_FILES)
		return fail(c, v->line, "too many files named");
	f = &c->p->files[c->p->n_files];
	f->path = *out;
	f->line = v->line;
	rc = keep(c, key, &f->key);
	if (rc == 0)
		c->p->n_files++;
	return rc;
}

/* What a list item must be; returns a reason when it is not. */
typedef const char *(*item_check)(const char *s);

/* A list of 1..BG_MAX_POLICY_LIST distinct items into slots, each a path (check NULL) or a
 * value passing check. */
static int list(pctx *c, const ytree_node *v, const char *key, item_check check, size_t max_len,
                const char **slots, policy_list *out)
{
	size_t i, j;
	int rc;

	if (v->kind != YTREE_SEQ || v->n == 0 || v->n > BG_MAX_POLICY_LIST)
		return fail(c, v->line, "%s must be a list of 1 to %d values", key,
		            BG_MAX_POLICY_LIST);
	for (i = 0; i < v->n; i++) {
		const ytree_node *x = v->kids[i];
		const char *why;
		rc =
		    check == NULL ? path(c, x, key, &slots[i]) : str(c, x, key, max_len, &slots[i]);
		if (rc != 0)
			return rc;
		if (check != NULL && (why = check(slots[i])) != NULL)
			return fail(c, x->line, "%s: '%.80s' %s", key, slots[i], why);
		for (j = 0; j < i; j++) {
			if (strcmp(slots[j], slots[i]) == 0)
				return fail(c, x->line, "%s: '%.80s' is listed twice", key,
				            slots[i]);
		}
	}
	out->items = slots;
	out->n = v->n;
	return 0;
}

/* --- criteria ------------------------------------------------------------------------ */

static int criterion_read(pctx *c, const ytree_node *item)
{
	static const char *const p_incident[] = {"max_severity", NULL};
	static const char *const p_minutes[] = {"minutes", NULL};
	static const char *const p_oncall[] = {"schedule_file", "rotation", NULL};
	static const char *const p_reason[] = {"min_length", NULL};
	static const char *const p_ticket[] = {"pattern", NULL};
	static const char *const *const params[POLICY_N_CHECKS] = {
	    p_incident, p_minutes, p_oncall, p_reason, p_ticket, NULL, p_minutes};
	static const char *const required[POLICY_N_CHECKS] = {
	    "max_severity", "minutes", "schedule_file", "min_length", "pattern", NULL, "minutes"};
	policy *p = c->p;
	policy_criterion *cr;
	const ytree_node *k, *v, *x;
	char what[64], all[256];
	size_t i;
	int64_t n;
	bool on;
	int rc;

	if (item->kind != YTREE_MAP || ytree_map_size(item) != 1)
		return fail(c, item->line,
		            "a criterion is one check and its parameters, e.g. "
		            "- reason: {min_length: 20}");
	k = ytree_map_key(item, 0);
	v = ytree_map_value(item, 0);
	for (i = 0; i < POLICY_N_CHECKS && strcmp(check_names[i], k->text) != 0; i++)
		;
	if (i == POLICY_N_CHECKS) {
		ys_known_list(check_names, all, sizeof(all));
		return fail(c, k->line, "unknown check '%.40s' (%s)", k->text, all);
	}
	for (size_t j = 0; j < p->n_crit; j++) {
		if (p->crit[j].check == (policy_check)i)
			return fail(c, k->line, "check %s is listed twice (first on line %u)",
			            k->text, p->crit[j].line);
	}
	cr = &p->crit[p->n_crit];
	memset(cr, 0, sizeof(*cr));
	cr->check = (policy_check)i;
	cr->name = check_names[i];
	cr->line = k->line;
	if (cr->check == POLICY_RUNBOOK_ALLOWED_FOR_SERVICE) {
		bg_err why;
		if ((rc = ys_at(&c->f, v->line, ys_bool(v, cr->name, &on, &why), &why)) != 0)
			return rc;
		if (!on)
			return fail(c, v->line,
			            "%s takes true; remove the entry to leave the check out",
			            cr->name);
		p->n_crit++;
		return 0;
	}
	snprintf(what, sizeof(what), "check %s", cr->name);
	if (v->kind != YTREE_MAP)
		return fail(c, v->line, "%s takes parameters {%s: ...}, not %s", cr->name,
		            required[i], ytree_kind_name(v->kind));
	if ((rc = keys(c, v, what, params[i])) != 0)
		return rc;
	if ((x = ytree_get(v, required[i])) == NULL)
		return fail(c, v->line, "%s needs %s", cr->name, required[i]);
	snprintf(what, sizeof(what), "%s.%s", cr->name, required[i]);
	switch (cr->check) {
	case POLICY_INCIDENT_OPEN:
		rc = integer(c, x, what, 1, 5, &n);
		cr->max_severity = (int)n;
		break;
	case POLICY_ALERT_FIRING_WITHIN:
		rc = integer(c, x, what, 1, BG_MAX_ALERT_WINDOW_MINUTES, &n);
		cr->window_seconds = n * 60;
		break;
	case POLICY_REQUESTER_ON_CALL:
		rc = path(c, x, what, &cr->schedule_file);
		if (rc == 0 && (x = ytree_get(v, "rotation")) != NULL)
			rc = str(c, x, "requester_on_call.rotation", BG_MAX_NOTIFY_NAME,
			         &cr->rotation);
		break;
	case POLICY_REASON:
		rc = integer(c, x, what, 1, BG_MAX_REASON, &cr->min_length);
		break;
	case POLICY_TICKET: {
		bg_err why;
		const char *re_text;
		if (x->len > BG_MAX_QUOTED * 4)
			return fail(c, x->line, "%s is longer than %d characters", what,
			            BG_MAX_QUOTED * 4);
		rc = ys_at(&c->f, x->line, ys_regex(x, what, &cr->re, &re_text, &why), &why);
		if (rc != 0)
			return rc;
		cr->pattern = ""; /* from here on policy_free regfree()s it */
		p->n_crit++;
		return keep(c, re_text, &cr->pattern);
	}
	case POLICY_MAX_DURATION:
		rc = integer(c, x, what, 1, BG_MAX_GRANT_SECONDS / 60, &n);
		cr->max_seconds = n * 60;
		break;
	default:
		rc = fail(c, k->line, "internal: check %s has no reader", cr->name);
	}
	if (rc == 0)
		p->n_crit++;
	return rc;
}

static int criteria_read(pctx *c, const ytree_node *v)
{
	size_t i;
	int rc;

	if (v->kind != YTREE_SEQ)
		return fail(c, v->line,
		            "criteria must be a list of checks, e.g. "
		            "- reason: {min_length: 20}");
	for (i = 0; i < v->n; i++) {
		if ((rc = criterion_read(c, v->kids[i])) != 0)
			return rc;
	}
	return 0;
}

/* --- approval, review, direct grants ------------------------------------------------- */

static int approval_read(pctx *c, const ytree_node *v)
{
	static const char *const known[] = {"approvers", "pending_expires", "solo_after", NULL};
	policy_approval *a = &c->p->approval;
	const ytree_node *x;
	int64_t n;
	int rc;

	if ((rc = keys(c, v, "approval", known)) != 0)
		return rc;
	if ((x = ytree_get(v, "approvers")) != NULL) {
		if ((rc = integer(c, x, "approval.approvers", 1, BG_MAX_APPROVERS, &n)) != 0)
			return rc;
		a->approvers = (int)n;
	}
	if ((x = ytree_get(v, "pending_expires")) != NULL &&
	    (rc = duration(c, x, "approval.pending_expires", BG_MAX_PENDING_SECONDS,
	                   &a->pending_expires)) != 0)
		return rc;
	if ((x = ytree_get(v, "solo_after")) != NULL) {
		if ((rc = duration(c, x, "approval.solo_after", BG_MAX_PENDING_SECONDS,
		                   &a->solo_after)) != 0)
			return rc;
		if (a->solo_after >= a->pending_expires)
			return fail(
			    c, x->line,
			    "approval.solo_after (%s) must be shorter than pending_expires: "
			    "the request expires before solo would be allowed",
			    x->text);
	}
	return 0;
}

static int review_read(pctx *c, const ytree_node *v)
{
	static const char *const known[] = {"deadline", NULL};
	const ytree_node *x;
	int rc;

	if ((rc = keys(c, v, "review", known)) != 0)
		return rc;
	if ((x = ytree_get(v, "deadline")) != NULL)
		return duration(c, x, "review.deadline", BG_MAX_REVIEW_SECONDS,
		                &c->p->review_deadline);
	return 0;
}

/* guardrails.budget: {read: UNITS, write: UNITS}, either or both. */
static int budget_read(pctx *c, const ytree_node *b)
{
	static const char *const known[] = {"read", "write", NULL};
	const ytree_node *x;
	int64_t n;
	bg_err why;
	int rc;

	if ((rc = keys(c, b, "guardrails.budget", known)) != 0)
		return rc;
	if (ytree_get(b, "read") == NULL && ytree_get(b, "write") == NULL)
		return fail(c, b->line, "guardrails.budget names no read or write units");
	if ((x = ytree_get(b, "read")) != NULL) {
		rc = ys_at(&c->f, x->line,
		           ys_int(x, "guardrails.budget.read", 1, BG_MAX_BUDGET_UNITS, &n, &why),
		           &why);
		if (rc != 0)
			return rc;
		c->p->budget.read = (double)n;
	}
	if ((x = ytree_get(b, "write")) != NULL) {
		rc = ys_at(&c->f, x->line,
		           ys_int(x, "guardrails.budget.write", 1, BG_MAX_BUDGET_UNITS, &n, &why),
		           &why);
		if (rc != 0)
			return rc;
		c->p->budget.write = (double)n;
	}
	return 0;
}

/* guardrails: {rate: {per_second: N, burst: M}, budget: {read: R, write: W}} */
static int guardrails_read(pctx *c, const ytree_node *v)
{
	static const char *const known[] = {"rate", "budget", NULL};
	static const char *const rate_known[] = {"per_second", "burst", NULL};
	const ytree_node *r, *x;
	bg_err why;
	int rc;

	if ((rc = keys(c, v, "guardrails", known)) != 0)
		return rc;
	if ((r = ytree_get(v, "budget")) != NULL && (rc = budget_read(c, r)) != 0)
		return rc;
	if ((r = ytree_get(v, "rate")) == NULL)
		return 0;
	if ((rc = keys(c, r, "guardrails.rate", rate_known)) != 0)
		return rc;
	if ((x = ytree_get(r, "per_second")) == NULL)
		return fail(c, r->line, "guardrails.rate needs per_second (requests a second)");
	rc = ys_at(
	    &c->f, x->line,
	    ys_int(x, "guardrails.rate.per_second", 1, BG_MAX_RATE, &c->p->rate.per_second, &why),
	    &why);
	c->p->rate.burst = c->p->rate.per_second;
	if (rc == 0 && (x = ytree_get(r, "burst")) != NULL)
		rc = ys_at(
		    &c->f, x->line,
		    ys_int(x, "guardrails.rate.burst", 1, BG_MAX_RATE, &c->p->rate.burst, &why),
		    &why);
	return rc;
}

static int direct_read(pctx *c, const ytree_node *v)
{
	const char *s;
	bg_err why;
	int rc = ys_at(&c->f, v->line, ys_text(v, "direct_grants", &s, &why), &why);

	if (rc != 0)
		return rc;
	if (strcmp(s, "allow") == 0)
		c->p->direct = POLICY_DIRECT_ALLOW;
	else if (strcmp(s, "deny") == 0)
		c->p->direct = POLICY_DIRECT_DENY;
	else
		return fail(c, v->line, "direct_grants is deny or allow, not '%.40s'", s);
	return 0;
}

/* --- alerts -------------------------------------------------------------------------- */

/* secret_file or secret_files (a list, for rotation: any of them verifies), exactly one. */
static int secrets_read(pctx *c, const ytree_node *v, const char *what, const char **slots,
                        policy_list *out)
{
	static const char *const known[] = {"secret_file", "secret_files", NULL};
	const ytree_node *one, *many;
	char key[64];
	int rc;

	if ((rc = keys(c, v, what, known)) != 0)
		return rc;
	one = ytree_get(v, "secret_file");
	many = ytree_get(v, "secret_files");
	if ((one == NULL) == (many == NULL))
		return fail(c, v->line, "%s needs secret_file or secret_files (one of them)", what);
	if (one != NULL) {
		snprintf(key, sizeof(key), "%s.secret_file", what);
		if ((rc = path(c, one, key, &slots[0])) != 0)
			return rc;
		out->items = slots;
		out->n = 1;
		return 0;
	}
	snprintf(key, sizeof(key), "%s.secret_files", what);
	return list(c, many, key, NULL, 0, slots, out);
}

/* arn:PARTITION:sns:REGION:ACCOUNT:NAME, the account twelve digits. */
static const char *topic_arn_check(const char *s)
{
	const char *part[6];
	size_t i, n = 0;
	const char *q = s;

	part[n++] = q;
	while ((q = strchr(q, ':')) != NULL && n < 6)
		part[n++] = ++q;
	if (n != 6 || strchr(part[5], ':') != NULL || strncmp(s, "arn:", 4) != 0 ||
	    strncmp(part[2], "sns:", 4) != 0 || part[2] == part[1] + 1 || part[4] == part[3] + 1 ||
	    *part[5] == '\0')
		return "is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)";
	for (i = 0; i < 12; i++) {
		if (part[4][i] < '0' || part[4][i] > '9')
			return "has no 12-digit account id";
	}
	if (part[4][12] != ':')
		return "has no 12-digit account id";
	return NULL;
}

/* host[:port]: a DNS name or IPv4 address, an optional port 1-65535. */
static const char *hostport_check(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t i, host = colon != NULL ? (size_t)(colon - s) : strlen(s);

	if (host == 0 || host > 253)
		return "is not host[:port]";
	for (i = 0; i < host; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'))
			return "is not host[:port] (letters, digits, '.', '-' in the host)";
	}
	if (colon != NULL) {
		long port = 0;
		const char *d = colon + 1;
		if (*d == '\0' || strlen(d) > 5)
			return "has no valid port";
		for (; *d != '\0'; d++) {
			if (*d < '0' || *d > '9')
				return "has no valid port";
			port = port * 10 + (*d - '0');
		}
		if (port < 1 || port > 65535)
			return "has no valid port";
	}
	return NULL;
}

static int sns_read(pctx *c, const ytree_node *v)
{
	static const char *const known[] = {"topic_arns", "cert_hosts", "ca_file",
	                                    "default_severity", NULL};
	policy *p = c->p;
	policy_alerts *a = &p->alerts;
	const ytree_node *x;
	int64_t n;
	int rc;

	if ((rc = keys(c, v, "alerts.sns", known)) != 0)
		return rc;
	if ((x = ytree_get(v, "topic_arns")) == NULL)
		return fail(c, v->line, "alerts.sns needs topic_arns: the topics accepted");
	if ((rc = list(c, x, "alerts.sns.topic_arns", topic_arn_check, BG_MAX_TOPIC_ARN,
	               p->sns_topics, &a->sns_topic_arns)) != 0)
		return rc;
	if ((x = ytree_get(v, "cert_hosts")) != NULL &&
	    (rc = list(c, x, "alerts.sns.cert_hosts", hostport_check, BG_MAX_HOSTPORT, p->sns_hosts,
	               &a->sns_cert_hosts)) != 0)
		return rc;
	if ((x = ytree_get(v, "ca_file")) != NULL &&
	    (rc = path(c, x, "alerts.sns.ca_file", &a->sns_ca_file)) != 0)
		return rc;
	if ((x = ytree_get(v, "default_severity")) != NULL) {
		if ((rc = integer(c, x, "alerts.sns.default_severity", 1, 5, &n)) != 0)
			return rc;
		a->sns_default_severity = (int)n;
	}
	return 0;
}

static int alerts_read(pctx *c, const ytree_node *v)
{
	static const char *const known[] = {"alertmanager", "pagerduty", "sns", "generic", NULL};
	static const char *const am_known[] = {"bearer_token_file", NULL};
	policy *p = c->p;
	const ytree_node *x, *f;
	int rc;

	if ((rc = keys(c, v, "alerts", known)) != 0)
		return rc;
	if ((x = ytree_get(v, "alertmanager")) != NULL) {
		if ((rc = keys(c, x, "alerts.alertmanager", am_known)) != 0)
			return rc;
		if ((f = ytree_get(x, "bearer_token_file")) == NULL)
			return fail(c, x->line, "alerts.alertmanager needs bearer_token_file");
		if ((rc = path(c, f, "alerts.alertmanager.bearer_token_file",
		               &p->alerts.alertmanager_token_file)) != 0)
			return rc;
	}
	if ((x = ytree_get(v, "pagerduty")) != NULL &&
	    (rc = secrets_read(c, x, "alerts.pagerduty", p->pd_secrets,
	                       &p->alerts.pagerduty_secret_files)) != 0)
		return rc;
	if ((x = ytree_get(v, "sns")) != NULL && (rc = sns_read(c, x)) != 0)
		return rc;
	if ((x = ytree_get(v, "generic")) != NULL &&
	    (rc = secrets_read(c, x, "alerts.generic", p->generic_secrets,
	                       &p->alerts.generic_secret_files)) != 0)
		return rc;
	return 0;
}

/* --- notify -------------------------------------------------------------------------- */

static int url_check(pctx *c, const ytree_node *v, const char *s)
{
	size_t i, skip = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;

	if (skip == 0)
		return fail(c, v->line, "notify url must start with https:// or http://");
	if (s[skip] == '\0' || s[skip] == '/')
		return fail(c, v->line, "notify url has no host");
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return fail(c, v->line,
			            "notify url holds a space or a character outside ASCII: "
			            "percent-encode it");
	}
	return 0;
}

static int events_read(pctx *c, const ytree_node *v, unsigned *out)
{
	size_t i, k;

	if (v->kind != YTREE_SEQ || v->n == 0)
		return fail(c, v->line,
		            "notify events must be a list of events (omit it for all of them)");
	*out = 0;
	for (i = 0; i < v->n; i++) {
		const ytree_node *x = v->kids[i];
		const char *s;
		bg_err why;
		int rc = ys_at(&c->f, x->line, ys_text(x, "an event", &s, &why), &why);
		if (rc != 0)
			return rc;
		for (k = 0; k < sizeof(event_names) / sizeof(event_names[0]) &&
		            strcmp(event_names[k], s) != 0;
		     k++)
			;
		if (k == sizeof(event_names) / sizeof(event_names[0]))
			return fail(c, x->line,
			            "unknown event '%.40s' (request, approval, denial, solo, "
			            "revocation, expiry, grant, incident)",
			            s);
		if (*out & (1u << k))
			return fail(c, x->line, "event %s is listed twice", s);
		*out |= 1u << k;
	}
	return 0;
}

static int notify_target_read(pctx *c, const ytree_node *v)
{
	static const char *const known[] = {"name", "url", "format", "secret_file", "events", NULL};
	policy *p = c->p;
	policy_notify *t = &p->notify[p->n_notify];
	const ytree_node *x;
	const char *s;
	char key[BG_MAX_NOTIFY_NAME + 32];
	size_t i;
	int rc;

	if ((rc = keys(c, v, "a notify target", known)) != 0)
		return rc;
	memset(t, 0, sizeof(*t));
	t->line = v->line;
	t->events = POLICY_EV_ALL;
	if ((x = ytree_get(v, "name")) == NULL)
		return fail(c, v->line, "a notify target needs a name");
	if ((rc = str(c, x, "notify name", BG_MAX_NOTIFY_NAME, &t->name)) != 0)
		return rc;
	if (!bg_valid_id(t->name, BG_MAX_NOTIFY_NAME))
		return fail(c, x->line, "notify name '%s': 1 to %d of A-Z a-z 0-9 . _ -", t->name,
		            BG_MAX_NOTIFY_NAME);
	for (i = 0; i < p->n_notify; i++) {
		if (strcmp(p->notify[i].name, t->name) == 0)
			return fail(c, x->line, "notify name %s is used twice (first on line %u)",
			            t->name, p->notify[i].line);
	}
	if ((x = ytree_get(v, "url")) == NULL)
		return fail(c, v->line, "notify %s needs a url", t->name);
	if ((rc = str(c, x, "notify url", BG_MAX_URL, &t->url)) != 0 ||
	    (rc = url_check(c, x, t->url)) != 0)
		return rc;
	if ((x = ytree_get(v, "format")) == NULL)
		return fail(c, v->line, "notify %s needs a format: slack or json", t->name);
	if ((rc = str(c, x, "notify format", 16, &s)) != 0)
		return rc;
	if (strcmp(s, "slack") == 0)
		t->format = POLICY_NOTIFY_SLACK;
	else if (strcmp(s, "json") == 0)
		t->format = POLICY_NOTIFY_JSON;
	else
		return fail(c, x->line, "notify format is slack or json, not '%.40s'", s);
	x = ytree_get(v, "secret_file");
	if (t->format == POLICY_NOTIFY_JSON && x == NULL)
		return fail(c, v->line,
		            "notify %s: format json needs secret_file (the HMAC key that signs "
		            "the body)",
		            t->name);
	if (t->format == POLICY_NOTIFY_SLACK && x != NULL)
		return fail(c, x->line,
		            "notify %s: a slack body is not signed; secret_file is for format json",
		            t->name);
	snprintf(key, sizeof(key), "notify[%s].secret_file", t->name);
	if (x != NULL && (rc = path(c, x, key, &t->secret_file)) != 0)
		return rc;
	if ((x = ytree_get(v, "events")) != NULL && (rc = events_read(c, x, &t->events)) != 0)
		return rc;
	p->n_notify++;
	return 0;
}

static int notify_read(pctx *c, const ytree_node *v)
{
	size_t i;
	int rc;

	if (v->kind != YTREE_SEQ || v->n > BG_MAX_NOTIFY_TARGETS)
		return fail(c, v->line, "notify must be a list of at most %d targets",
		            BG_MAX_NOTIFY_TARGETS);
	for (i = 0; i < v->n; i++) {
		if ((rc = notify_target_read(c, v->kids[i])) != 0)
			return rc;
	}
	return 0;
}

/* --- the file ------------------------------------------------------------------------ */

/* Files in the order the file names them (stable: a flow list's items share a line). */
static void files_sort(policy *p)
{
	size_t i, j;

	for (i = 1; i < p->n_files; i++) {
		policy_file f = p->files[i];
		for (j = i; j > 0 && p->files[j - 1].line > f.line; j--)
			p->files[j] = p->files[j - 1];
		p->files[j] = f;
	}
}

int policy_parse(const char *text, size_t len, const char *name, policy **out, bg_err *e)
{
	static const char *const known[] = {"criteria", "approval", "alerts",     "direct_grants",
	                                    "review",   "notify",   "guardrails", NULL};
	static const struct {
		const char *key;
		int (*read)(pctx *, const ytree_node *);
	} sections[] = {{"criteria", criteria_read},    {"approval", approval_read},
	                {"alerts", alerts_read},        {"direct_grants", direct_read},
	                {"review", review_read},        {"notify", notify_read},
	                {"guardrails", guardrails_read}};
	const ytree_node *root, *x;
	ytree *t = NULL;
	policy *p;
	pctx c;
	size_t i;
	int rc;

	*out = NULL;
	rc = ytree_parse(text, len, name, &t, e);
	if (rc != 0)
		return rc;
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->name = strdup(name)) == NULL) {
		free(p);
		ytree_free(t);
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	p->approval.approvers = 1;
	p->approval.pending_expires = 15 * 60;
	p->alerts.sns_default_severity = 3;
	p->direct = POLICY_DIRECT_ALLOW;
	p->review_deadline = 24 * 3600;
	p->budget = BUDGET_NONE;
	c = (pctx){p, {name, e}, e};
	root = ytree_root(t);
	if (root->kind == YTREE_SCALAR && root->len == 0)
		goto done; /* an empty file: every default */
	if (root->kind != YTREE_MAP) {
		rc = fail(&c, root->line,
		          "a policy is a mapping of sections (criteria, approval, "
		          "alerts, ...)");
		goto done;
	}
	if ((rc = keys(&c, root, "the policy", known)) != 0)
		goto done;
	for (i = 0; rc == 0 && i < sizeof(sections) / sizeof(sections[0]); i++) {
		if ((x = ytree_get(root, sections[i].key)) != NULL)
			rc = sections[i].read(&c, x);
	}
done:
	ytree_free(t);
	files_sort(p);
	if (rc != 0) {
		policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void policy_free(policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_crit; i++) {
		if (p->crit[i].check == POLICY_TICKET && p->crit[i].pattern != NULL)
			regfree(&p->crit[i].re);
	}
	for (i = 0; i < p->n_strings; i++)
		free(p->strings[i]);
	free(p->strings);
	free(p->name);
	free(p);
}

const char *policy_name(const policy *p)
{
	return p->name;
}

size_t policy_criteria_count(const policy *p)
{
	return p->n_crit;
}

const policy_criterion *policy_criterion_at(const policy *p, size_t i)
{
	return i < p->n_crit ? &p->crit[i] : NULL;
}

const policy_criterion *policy_criterion_find(const policy *p, policy_check c)
{
	size_t i;

	for (i = 0; i < p->n_crit; i++) {
		if (p->crit[i].check == c)
			return &p->crit[i];
	}
	return NULL;
}

const policy_approval *policy_get_approval(const policy *p)
{
	return &p->approval;
}

const policy_alerts *policy_get_alerts(const policy *p)
{
	return &p->alerts;
}

policy_direct_grants policy_get_direct_grants(const policy *p)
{
	return p->direct;
}

const rl_rate *policy_grant_rate(const policy *p)
{
	return p != NULL && p->rate.per_second > 0 ? &p->rate : NULL;
}

const budget_limits *policy_grant_budget(const policy *p)
{
	return p != NULL && budget_set(&p->budget) ? &p->budget : NULL;
}

int64_t policy_review_deadline(const policy *p)
{
	return p->review_deadline;
}

size_t policy_notify_count(const policy *p)
{
	return p->n_notify;
}

const policy_notify *policy_notify_at(const policy *p, size_t i)
{
	return i < p->n_notify ? &p->notify[i] : NULL;
}

const policy_file *policy_files(const policy *p, size_t *n)
{
	*n = p->n_files;
	return p->files;
}
