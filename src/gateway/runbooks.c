/*
 * runbooks.c - the gateway's runbook snapshots (see runbooks.h).
 */
#include "gateway/runbooks.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gw_rb_snapshot {
	int refs;
	runbook_set *set;
};

/* A page key and how many pages it has read. */
typedef struct page_count {
	char key[65];
	char lek[65];     /* the LastEvaluatedKey a page returned; "" when none */
	int64_t lek_page; /* the number of the page that returned it */
	int64_t pages;
	uint64_t used; /* for eviction: the clock below when last touched */
} page_count;

struct gw_runbooks {
	pthread_mutex_t mu;
	char *dir; /* NULL: no folder */
	gw_rb_snapshot *cur;
	page_count *pages; /* BG_MAX_PAGE_KEYS, under mu */
	size_t n_pages;
	uint64_t clock;
};

static void log_problems(const char *dir, const runbook_diags *d, const char *what)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		fprintf(stderr, "breakglass: runbooks: %s/%s:%u: %s (%s)\n", dir, d->items[i].file,
		        d->items[i].line, d->items[i].msg, what);
}

static gw_rb_snapshot *snap_new(runbook_set *set)
{
	gw_rb_snapshot *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->refs = 1;
	s->set = set;
	return s;
}

int gw_runbooks_new(const char *dir, gw_runbooks **out, bg_err *e)
{
	runbook_diags d = {NULL, 0};
	runbook_set *set = NULL;
	gw_runbooks *r;
	int rc = 0;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->pages = calloc(BG_MAX_PAGE_KEYS, sizeof(*r->pages))) == NULL ||
	    pthread_mutex_init(&r->mu, NULL) != 0) {
		if (r != NULL)
			free(r->pages);
		free(r);
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	if (dir != NULL && dir[0] != '\0') {
		r->dir = strdup(dir);
		rc = r->dir != NULL ? runbook_set_load(dir, &set, &d, e) : BG_ENOMEM;
		if (rc == BG_EINVAL && set != NULL) {
			log_problems(dir, &d, "left out");
			rc = 0;
		}
	}
	runbook_diags_free(&d);
	if (rc == 0 && set == NULL && (dir == NULL || dir[0] == '\0'))
		set = runbook_set_new_empty();
	if (rc == 0 && (set == NULL || (r->cur = snap_new(set)) == NULL))
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	if (rc != 0) {
		if (rc != BG_ENOMEM && e->msg[0] != '\0') {
			char why[sizeof(e->msg)];
			snprintf(why, sizeof(why), "%s", e->msg);
			bg_err_set(e, rc, "runbooks: %s", why);
		}
		runbook_set_free(set);
		gw_runbooks_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void gw_runbooks_release(gw_rb_snapshot *s)
{
	if (s != NULL && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		runbook_set_free(s->set);
		free(s);
	}
}

void gw_runbooks_free(gw_runbooks *r)
{
	if (r == NULL)
		return;
	gw_runbooks_release(r->cur);
	free(r->pages);
	pthread_mutex_destroy(&r->mu);
	free(r->dir);
	free(r);
}

gw_rb_snapshot *gw_runbooks_acquire(gw_runbooks *r)
{
	gw_rb_snapshot *s;

	pthread_mutex_lock(&r->mu);
	s = r->cur;
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&r->mu);
	return s;
}

const runbook_set *gw_rb_set(const gw_rb_snapshot *s)
{
	return s->set;
}

size_t gw_runbooks_reload(gw_runbooks *r)
{
	runbook_diags d = {NULL, 0};
	runbook_set *set = NULL;
	gw_rb_snapshot *old, *fresh;
	size_t i, problems;
	bg_err e;
	int rc;

	if (r->dir == NULL)
		return 0;
	rc = runbook_set_load(r->dir, &set, &d, &e);
	if (set == NULL) {
		/* Nothing usable (the folder is gone, tables.yaml broken): keep all. */
		fprintf(stderr,
		        "breakglass: runbooks: reload of %s refused, the previous "
		        "runbooks stay in force: %s\n",
		        r->dir, e.msg);
		log_problems(r->dir, &d, "refused");
		problems = d.n > 0 ? d.n : 1;
		runbook_diags_free(&d);
		return problems;
	}
	old = gw_runbooks_acquire(r);
	for (i = 0; rc == BG_EINVAL && i < d.n; i++) {
		if (runbook_set_keep(set, old->set, d.items[i].file))
			fprintf(stderr,
			        "breakglass: runbooks: %s/%s refused, its previous version "
			        "stays in force\n",
			        r->dir, d.items[i].file);
	}
	log_problems(r->dir, &d, "refused");
	problems = d.n;
	runbook_diags_free(&d);
	fresh = snap_new(set);
	if (fresh == NULL) {
		runbook_set_free(set);
		gw_runbooks_release(old);
		return problems + 1;
	}
	pthread_mutex_lock(&r->mu);
	r->cur = fresh;
	pthread_mutex_unlock(&r->mu);
	gw_runbooks_release(old); /* ours */
	gw_runbooks_release(old); /* the registry's */
	fprintf(stderr, "breakglass: runbooks: %zu loaded from %s\n", runbook_set_count(set),
	        r->dir);
	return problems;
}

/* The entry for key, made (evicting the least recently used) if make. Under r->mu. */
static page_count *page_find(gw_runbooks *r, const char *key, bool make)
{
	size_t i, oldest = 0;
	page_count *pc;

	for (i = 0; i < r->n_pages; i++) {
		if (strcmp(r->pages[i].key, key) == 0)
			return &r->pages[i];
		if (r->pages[i].used < r->pages[oldest].used)
			oldest = i;
	}
	if (!make)
		return NULL;
	pc = r->n_pages < BG_MAX_PAGE_KEYS ? &r->pages[r->n_pages++] : &r->pages[oldest];
	memset(pc, 0, sizeof(*pc));
	snprintf(pc->key, sizeof(pc->key), "%s", key);
	return pc;
}

int64_t gw_runbooks_page(gw_runbooks *r, const char *key, const char *esk, int64_t max_pages)
{
	page_count *pc;
	int64_t n = 0;

	pthread_mutex_lock(&r->mu);
	r->clock++;
	pc = page_find(r, key, esk == NULL);
	if (esk == NULL) {
		n = 1;
	} else if (pc != NULL && pc->lek[0] != '\0' && strcmp(pc->lek, esk) == 0 &&
	           pc->lek_page < max_pages) {
		/* The page after the one that returned this key: counted from that page, not
		 * from whatever else ran since, so overlapping requests cannot reset it. */
		n = pc->lek_page + 1;
		pc->lek[0] = '\0'; /* each LastEvaluatedKey continues once */
	}
	if (n > 0) {
		pc->pages = n;
		pc->used = r->clock;
	}
	pthread_mutex_unlock(&r->mu);
	return n;
}

void gw_runbooks_page_answered(gw_runbooks *r, const char *key, const char *lek, int64_t page)
{
	page_count *pc;

	pthread_mutex_lock(&r->mu);
	pc = page_find(r, key, false);
	if (pc != NULL && lek != NULL) {
		snprintf(pc->lek, sizeof(pc->lek), "%s", lek);
		pc->lek_page = page;
	}
	pthread_mutex_unlock(&r->mu);
}

int gw_runbooks_pin(void *ctx, const char *id, char table[BG_MAX_TABLE_NAME + 1],
                    char op[STORE_OP_MAX], char hash[65])
{
	gw_rb_snapshot *s = gw_runbooks_acquire(ctx);
	const runbook *rb = runbook_set_find(s->set, id);
	int rc = BG_ENOTFOUND;

	if (rb != NULL) {
		snprintf(table, BG_MAX_TABLE_NAME + 1, "%s", rb->table);
		snprintf(op, STORE_OP_MAX, "%s", rb->op->name);
		memcpy(hash, rb->hash, 65);
		rc = 0;
	}
	gw_runbooks_release(s);
	return rc;
}

json_t *gw_runbooks_describe(void *ctx, const char *id)
{
	gw_rb_snapshot *s = gw_runbooks_acquire(ctx);
	const runbook *rb = runbook_set_find(s->set, id);
	json_t *out = rb != NULL ? runbook_describe(rb) : NULL;

	gw_runbooks_release(s);
	return out;
}
