/*
 * policyfile.c - the gateway's policy (policyfile.h): the file, what it names, and the
 * adapter through which the workflow evaluates the trigger criteria.
 */
#include "gateway/policyfile.h"

#include <libgen.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/fileio.h"
#include "policy/criteria.h"
#include "runbook/runbook.h"

struct gw_policy {
	policy *pol;      /* NULL: no policy file */
	oncall *schedule; /* requester_on_call's schedule, or NULL */
	gw_runbooks *runbooks;
	char dir[BG_MAX_PATH]; /* the policy file's folder: its paths are relative to it */
	svc_policy svc;
	gw_hook_secrets hooks;
	gw_notify_target notify[BG_MAX_NOTIFY_TARGETS];
	size_t n_notify;
	/* owned copies, wiped when freed: the webhooks' and the notify targets' */
	char *secrets[2 * BG_MAX_HOOK_SECRETS + 1 + BG_MAX_NOTIFY_TARGETS];
	size_t n_secrets;
	char ca_file[BG_MAX_PATH];
	char sha256[65]; /* of the bytes parsed; "" without a policy file */
};

/* path resolved against the policy's folder (unless absolute), into out. */
static int resolve(const gw_policy *p, const char *path, char *out, size_t n, bg_err *e)
{
	int w =
	    path[0] == '/' ? snprintf(out, n, "%s", path) : snprintf(out, n, "%s/%s", p->dir, path);

	return w < 0 || (size_t)w >= n ? bg_err_set(e, BG_EINVAL, "%s: path too long", path) : 0;
}

/* The policy file's line that names path, for messages. */
static unsigned line_of(const gw_policy *p, const char *path)
{
	const policy_file *f;
	size_t i, n;

	f = policy_files(p->pol, &n);
	for (i = 0; i < n; i++)
		if (strcmp(f[i].path, path) == 0)
			return f[i].line;
	return 0;
}

/* Reads the secret file path (relative to the policy): one line, surrounding white space
 * dropped, not empty. *out is an owned copy, wiped when the policy is freed. */
static int read_secret(gw_policy *p, const char *name, const char *path, const char **out,
                       bg_err *e)
{
	char full[BG_MAX_PATH], *text = NULL, *s;
	size_t len, size;
	struct stat st;
	bg_err fe;
	int rc = resolve(p, path, full, sizeof(full), e);

	if (rc != 0)
		return rc;
	/* A secret others can read is not a secret: refused, as the TLS key is. */
	if (stat(full, &st) == 0 && (st.st_mode & 077) != 0)
		return bg_err_set(e, BG_EINVAL,
		                  "%s:%u: %s: group or others may read it (chmod 600 it)", name,
		                  line_of(p, path), path);
	rc = bg_read_file(full, BG_MAX_HOOK_SECRET, &text, &len, &fe);
	if (rc != 0)
		return bg_err_set(e, BG_EINVAL, "%s:%u: %s", name, line_of(p, path), fe.msg);
	size = len;
	s = text;
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' ||
	                   s[len - 1] == '\t'))
		s[--len] = '\0';
	while (*s == ' ' || *s == '\t')
		s++, len--;
	if (len == 0 || strchr(s, '\n') != NULL || strlen(s) != len) {
		OPENSSL_cleanse(text, size); /* all of it: a NUL inside must not stop the wipe */
		free(text);
		return bg_err_set(e, BG_EINVAL,
		                  "%s:%u: %s: a secret file holds one line, not empty", name,
		                  line_of(p, path), path);
	}
	memmove(text, s, len + 1);
	p->secrets[p->n_secrets++] = text;
	*out = text;
	return 0;
}

static int read_secrets(gw_policy *p, const char *name, const policy_list *files, const char **out,
                        size_t *n, bg_err *e)
{
	size_t i;
	int rc = 0;

	*n = 0;
	if (files->n > BG_MAX_HOOK_SECRETS)
		return bg_err_set(e, BG_EINVAL, "%s: at most %d secret files per webhook", name,
		                  BG_MAX_HOOK_SECRETS);
	for (i = 0; rc == 0 && i < files->n; i++) {
		rc = read_secret(p, name, files->items[i], &out[i], e);
		if (rc == 0)
			(*n)++;
	}
	return rc;
}

/* The notify targets, each json target's secret read like the webhooks' secrets. */
static int load_notify(gw_policy *p, const char *name, bg_err *e)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < policy_notify_count(p->pol) && i < BG_MAX_NOTIFY_TARGETS; i++) {
		const policy_notify *pn = policy_notify_at(p->pol, i);
		gw_notify_target *t = &p->notify[i];
		t->name = pn->name;
		t->url = pn->url;
		t->format = pn->format;
		t->events = pn->events;
		if (pn->secret_file != NULL)
			rc = read_secret(p, name, pn->secret_file, &t->secret, e);
		if (rc == 0)
			p->n_notify++;
	}
	return rc;
}

static int load_schedule(gw_policy *p, const char *name, bg_err *e)
{
	const policy_criterion *c = policy_criterion_find(p->pol, POLICY_REQUESTER_ON_CALL);
	char full[BG_MAX_PATH], *text = NULL;
	size_t len;
	bg_err fe;
	int rc;

	if (c == NULL)
		return 0;
	rc = resolve(p, c->schedule_file, full, sizeof(full), e);
	if (rc != 0)
		return rc;
	rc = bg_read_file(full, BG_MAX_ONCALL_FILE, &text, &len, &fe);
	if (rc != 0)
		return bg_err_set(e, BG_EINVAL, "%s:%u: %s", name, c->line, fe.msg);
	rc = oncall_parse(text, len, full, &p->schedule, e);
	free(text);
	return rc;
}

/* svc_policy's evaluator: the facts the workflow gathered, the runbooks' services from the
 * loaded folder, the on-call schedule; criteria_eval decides. */
static int evaluate(void *ctx, const svc_criteria_facts *f, json_t **results, bool *ok, bg_err *e)
{
	const gw_policy *p = ctx;
	criteria_runbook rbs[BG_MAX_GRANT_RUNBOOKS];
	criteria_result out[POLICY_N_CHECKS];
	gw_rb_snapshot *snap = p->runbooks ? gw_runbooks_acquire(p->runbooks) : NULL;
	const runbook_set *set = snap ? gw_rb_set(snap) : NULL;
	criteria_input in;
	size_t i, n = 0;

	memset(&in, 0, sizeof(in));
	memset(rbs, 0, sizeof(rbs));
	for (i = 0; i < f->n_runbooks && i < BG_MAX_GRANT_RUNBOOKS; i++) {
		const runbook *rb = set ? runbook_set_find(set, f->runbooks[i]) : NULL;
		rbs[i].id = f->runbooks[i];
		rbs[i].services = rb ? runbook_services(rb, &rbs[i].n_services) : NULL;
	}
	in.incident_exists = f->incident != NULL;
	if (f->incident != NULL) {
		in.incident_id = f->incident->id;
		in.incident_open = f->incident->open;
		in.incident_severity = (int)f->incident->severity;
		in.incident_service = f->incident->service[0] ? f->incident->service : NULL;
		in.last_alert_at = f->incident->last_firing_at;
		in.alert_firing_now = f->incident->firing > 0;
	}
	in.requester = f->requester->name;
	in.schedule = p->schedule;
	in.reason = f->reason;
	in.ticket = f->ticket;
	in.runbooks = rbs;
	in.n_runbooks = i;
	in.duration_seconds = f->duration_seconds;
	in.now = f->now;
	*ok = criteria_eval(p->pol, &in, out, &n) == 0;
	*results = criteria_results_to_json(out, n);
	if (snap != NULL)
		gw_runbooks_release(snap);
	return *results != NULL ? 0 : bg_err_set(e, BG_ENOMEM, "out of memory");
}

int gw_policy_load(const char *path, gw_runbooks *runbooks, gw_policy **out, bg_err *e)
{
	gw_policy *p = calloc(1, sizeof(*p));
	const policy_approval *ap;
	const policy_alerts *al;
	char *text = NULL, copy[BG_MAX_PATH];
	size_t len;
	int rc;

	*out = NULL;
	if (p == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	p->runbooks = runbooks;
	p->svc = svc_policy_default;
	p->hooks.sns_default_severity = 3;
	if (path == NULL || path[0] == '\0') {
		*out = p;
		return 0;
	}
	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(p->dir, sizeof(p->dir), "%s", dirname(copy));
	rc = bg_read_file(path, BG_MAX_POLICY_FILE, &text, &len, e);
	if (rc == 0) {
		uint8_t h[32];

		bg_sha256(text, len, h);
		bg_hex(h, sizeof(h), p->sha256);
		rc = policy_parse(text, len, path, &p->pol, e);
	}
	free(text);
	if (rc == 0)
		rc = load_schedule(p, path, e);
	if (rc != 0)
		goto fail;
	ap = policy_get_approval(p->pol);
	p->svc.approvers = ap->approvers;
	p->svc.pending_seconds = ap->pending_expires;
	p->svc.solo_after = ap->solo_after > 0 ? ap->solo_after : -1;
	p->svc.direct_grants_denied = policy_get_direct_grants(p->pol) == POLICY_DIRECT_DENY;
	p->svc.review_seconds = policy_review_deadline(p->pol);
	{
		const budget_limits *b = policy_grant_budget(p->pol);
		p->svc.budget_read = b != NULL ? b->read : -1;
		p->svc.budget_write = b != NULL ? b->write : -1;
	}
	p->svc.evaluate = evaluate;
	p->svc.ctx = p;
	al = policy_get_alerts(p->pol);
	if (al->alertmanager_token_file != NULL)
		rc = read_secret(p, path, al->alertmanager_token_file, &p->hooks.alertmanager_token,
		                 e);
	if (rc == 0)
		rc = read_secrets(p, path, &al->pagerduty_secret_files, p->hooks.pagerduty,
		                  &p->hooks.n_pagerduty, e);
	if (rc == 0)
		rc = read_secrets(p, path, &al->generic_secret_files, p->hooks.generic,
		                  &p->hooks.n_generic, e);
	if (rc == 0)
		rc = load_notify(p, path, e);
	if (rc == 0 && al->sns_ca_file != NULL) {
		rc = resolve(p, al->sns_ca_file, p->ca_file, sizeof(p->ca_file), e);
		p->hooks.sns_ca_file = p->ca_file;
	}
	if (rc != 0)
		goto fail;
	p->hooks.sns_topics = al->sns_topic_arns.items;
	p->hooks.n_sns_topics = al->sns_topic_arns.n;
	p->hooks.sns_cert_hosts = al->sns_cert_hosts.items;
	p->hooks.n_sns_cert_hosts = al->sns_cert_hosts.n;
	p->hooks.sns_default_severity = al->sns_default_severity;
	*out = p;
	return 0;
fail:
	gw_policy_free(p);
	return rc;
}

void gw_policy_free(gw_policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_secrets; i++) {
		OPENSSL_cleanse(p->secrets[i], strlen(p->secrets[i]));
		free(p->secrets[i]);
	}
	oncall_free(p->schedule);
	policy_free(p->pol);
	free(p);
}

const svc_policy *gw_policy_svc(const gw_policy *p)
{
	return &p->svc;
}

const gw_hook_secrets *gw_policy_hooks(const gw_policy *p)
{
	return &p->hooks;
}

const gw_notify_target *gw_policy_notify(const gw_policy *p, size_t *n)
{
	*n = p->n_notify;
	return p->notify;
}

const policy *gw_policy_rules(const gw_policy *p)
{
	return p->pol;
}

const char *gw_policy_sha256(const gw_policy *p)
{
	return p != NULL && p->sha256[0] != '\0' ? p->sha256 : NULL;
}
