/*
 * spend.c - the grants' consumed capacity (see spend.h): a chained hash table of
 * SPEND_BUCKETS heads under one mutex. An entry is never dropped while the gateway runs:
 * a budget must not be forgotten to make room (entries are small, and only grants that
 * made a request have one).
 */
#include "gateway/spend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"

#define SPEND_BUCKETS 1024

typedef struct rb_spend {
	char id[BG_MAX_RUNBOOK_ID + 1];
	ddb_units u;
	ddb_units held; /* for requests in flight (gw_spend_admit) */
} rb_spend;

typedef struct entry {
	struct entry *next;
	char id[STORE_ID_MAX];
	ddb_units total;
	ddb_units held; /* for requests in flight (gw_spend_admit) */
	size_t n_rb;
	rb_spend rb[BG_MAX_GRANT_RUNBOOKS];
} entry;

struct gw_spend {
	pthread_mutex_t mu;
	entry *heads[SPEND_BUCKETS];
};

gw_spend *gw_spend_new(void)
{
	gw_spend *s = calloc(1, sizeof(*s));

	if (s != NULL && pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

void gw_spend_free(gw_spend *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < SPEND_BUCKETS; i++)
		while (s->heads[i] != NULL) {
			entry *e = s->heads[i];
			s->heads[i] = e->next;
			free(e);
		}
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static entry **head_of(gw_spend *s, const char *id)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const char *p;

	for (p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &s->heads[h % SPEND_BUCKETS];
}

/* id's entry, made (zeroed) when create and missing; NULL when missing or out of memory. */
static entry *find(gw_spend *s, const char *id, bool create)
{
	entry **head = head_of(s, id), *e;

	for (e = *head; e != NULL; e = e->next)
		if (strcmp(e->id, id) == 0)
			return e;
	if (!create || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->next = *head;
	*head = e;
	return e;
}

/* The runbook's slot in e, made when missing; NULL when e has every slot taken (a grant
 * names at most BG_MAX_GRANT_RUNBOOKS runbooks, so only a record from elsewhere). */
static rb_spend *rb_of(entry *e, const char *runbook, bool create)
{
	size_t i;

	for (i = 0; i < e->n_rb; i++)
		if (strcmp(e->rb[i].id, runbook) == 0)
			return &e->rb[i];
	if (!create || e->n_rb == BG_MAX_GRANT_RUNBOOKS)
		return NULL;
	snprintf(e->rb[e->n_rb].id, sizeof(e->rb[0].id), "%s", runbook);
	return &e->rb[e->n_rb++];
}

static void add(entry *e, const char *runbook, const ddb_units *u)
{
	rb_spend *r;

	e->total.read += u->read;
	e->total.write += u->write;
	if (runbook != NULL && runbook[0] != '\0' && (r = rb_of(e, runbook, true)) != NULL) {
		r->u.read += u->read;
		r->u.write += u->write;
	}
}

int gw_spend_charge(gw_spend *s, const char *grant_id, const char *runbook, const ddb_units *u)
{
	entry *e;

	if (s == NULL || grant_id == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	if ((e = find(s, grant_id, true)) != NULL)
		add(e, runbook, u);
	pthread_mutex_unlock(&s->mu);
	return e != NULL ? 0 : BG_ENOMEM;
}

int gw_spend_admit(gw_spend *s, const char *grant_id, const char *runbook,
                   const budget_limits *glim, const budget_limits *rblim, const ddb_op_info *op,
                   const ddb_units *hold, const char *grant_who, const char *runbook_who, bg_err *e)
{
	ddb_units zero = {0, 0};
	entry *en;
	rb_spend *r = NULL;
	int rc;

	if (s == NULL) /* nothing kept: nothing spent */
		return budget_check(grant_who, "the policy's guardrails.budget", glim, &zero, op,
		                    e) != 0
		           ? BG_EDENIED
		           : budget_check(runbook_who, "the runbook's budget", rblim, &zero, op, e);
	pthread_mutex_lock(&s->mu);
	en = find(s, grant_id, true);
	if (en != NULL && runbook != NULL && runbook[0] != '\0')
		r = rb_of(en, runbook, true);
	if (en == NULL)
		rc = bg_err_set(e, BG_ENOMEM, "breakglass: out of memory");
	else if ((rc = budget_check_held(grant_who, "the policy's guardrails.budget", glim,
	                                 &en->total, &en->held, op, e)) != 0)
		;
	else if (r != NULL && (rc = budget_check_held(runbook_who, "the runbook's budget", rblim,
	                                              &r->u, &r->held, op, e)) != 0)
		;
	else {
		en->held.read += hold->read;
		en->held.write += hold->write;
		if (r != NULL) {
			r->held.read += hold->read;
			r->held.write += hold->write;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void unhold(ddb_units *h, const ddb_units *by)
{
	h->read = h->read > by->read ? h->read - by->read : 0;
	h->write = h->write > by->write ? h->write - by->write : 0;
}

void gw_spend_settle(gw_spend *s, const char *grant_id, const char *runbook, const ddb_units *hold,
                     const ddb_units *used)
{
	entry *en;
	rb_spend *r;

	if (s == NULL || grant_id == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	if ((en = find(s, grant_id, false)) != NULL) {
		unhold(&en->held, hold);
		if (runbook != NULL && (r = rb_of(en, runbook, false)) != NULL)
			unhold(&r->held, hold);
		if (used != NULL)
			add(en, runbook, used);
	}
	pthread_mutex_unlock(&s->mu);
}

void gw_spend_get(gw_spend *s, const char *grant_id, const char *runbook, ddb_units *grant,
                  ddb_units *rb)
{
	entry *e;
	rb_spend *r;

	*grant = (ddb_units){0, 0};
	if (rb != NULL)
		*rb = (ddb_units){0, 0};
	if (s == NULL || grant_id == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	if ((e = find(s, grant_id, false)) != NULL) {
		*grant = e->total;
		if (rb != NULL && runbook != NULL && (r = rb_of(e, runbook, false)) != NULL)
			*rb = r->u;
	}
	pthread_mutex_unlock(&s->mu);
}

static json_t *units_json(const ddb_units *u)
{
	return json_pack("{s:f,s:f}", "read", u->read, "write", u->write);
}

json_t *gw_spend_json(gw_spend *s, const char *grant_id)
{
	json_t *o = NULL, *rbs = json_object();
	ddb_units total = {0, 0};
	entry *e;
	size_t i;

	if (rbs == NULL)
		return NULL;
	if (s != NULL) {
		pthread_mutex_lock(&s->mu);
		if ((e = find(s, grant_id, false)) != NULL) {
			total = e->total;
			for (i = 0; i < e->n_rb; i++)
				json_object_set_new(rbs, e->rb[i].id, units_json(&e->rb[i].u));
		}
		pthread_mutex_unlock(&s->mu);
	}
	o = json_pack("{s:f,s:f,s:o}", "read", total.read, "write", total.write, "runbooks", rbs);
	return o;
}

/* One of the store's running totals into e (runbook NULL: outside runbooks). */
static int load_total(void *ctx, const char *runbook, double read, double write, bg_err *err)
{
	entry *e = ctx;
	ddb_units u = {read, write};

	(void)err;
	add(e, runbook, &u);
	return 0;
}

int gw_spend_load(gw_spend *s, store *st, const char *grant_id, bg_err *e)
{
	entry fresh, *cur;
	int rc;

	memset(&fresh, 0, sizeof(fresh));
	rc = store_spend_list(st, grant_id, load_total, &fresh, e);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&s->mu);
	if ((cur = find(s, grant_id, true)) != NULL) {
		fresh.next = cur->next;
		snprintf(fresh.id, sizeof(fresh.id), "%s", grant_id);
		*cur = fresh;
	}
	pthread_mutex_unlock(&s->mu);
	return cur != NULL ? 0 : bg_err_set(e, BG_ENOMEM, "out of memory");
}
