/*
 * sinks.c - the audit sinks' threads, cursors and gate (sinks.h).
 *
 * Each sink's thread loops: read up to BG_SINK_BATCH records after its cursor from the
 * store (audit_read, the export's JSON), hand them to the transport, move the cursor
 * over what was accepted. With nothing to send it sleeps until the committer's gate
 * announces a batch or BG_SINK_POLL_MS passes (records the service layer commits in its
 * own transactions are found by that poll). After a failure it waits BG_SINK_RETRY_MIN_MS,
 * doubling to BG_SINK_RETRY_MAX_MS, unless the gate needs it (a required sink is tried
 * again at once for each batch: the batch's requests wait on it).
 *
 * The gate (committer thread) waits until every required sink has taken the batch's
 * highest seq; a failure of one during the wait, or BG_SINK_GATE_MS without progress,
 * fails the batch: its callers refuse their requests. One mutex guards every sink's
 * shared state; transports run outside it.
 */
#include "audit/sinks.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/limits.h"

typedef struct slot {
	audit_sinks *owner;
	const sink_ops *ops;
	void *self;
	char name[BG_MAX_PATH + 32];
	bool required;
	pthread_t thread;
	bool started;
	/* Under owner->mu. */
	int64_t acked;    /* the highest seq the destination has accepted */
	int64_t saved;    /* the cursor as last saved in the store */
	int64_t fail_gen; /* failed deliveries: the gate notices a new one */
	int64_t last_ok;  /* Unix seconds */
	int64_t retry_at; /* monotonic ms before which a failed sink waits */
	int64_t backoff;  /* the next wait after a failure */
	bool up;
	bool kick;            /* the gate wants an attempt now, whatever the backoff */
	int64_t rewound_from; /* its saved cursor was past the store's head (0: no) */
	char last_error[256];
} slot;

struct audit_sinks {
	audit_log *a; /* borrowed */
	store *st;    /* borrowed */
	pthread_mutex_t mu;
	pthread_cond_t work;     /* the threads wait here */
	pthread_cond_t progress; /* the gate waits here */
	pthread_condattr_t attr; /* CLOCK_MONOTONIC */
	int64_t head;            /* the highest seq the gate announced */
	bool stop;
	bool gated;
	size_t n;
	slot slots[BG_MAX_SINKS];
};

static void deadline_at(int64_t ms, struct timespec *ts)
{
	ts->tv_sec = ms / 1000;
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
}

static const sink_ops *ops_of(sink_type t)
{
	switch (t) {
	case SINK_JSONL:
		return &sink_jsonl_ops;
	case SINK_SYSLOG:
		return &sink_syslog_ops;
	case SINK_CLOUDWATCH:
		return &sink_cloudwatch_ops;
	}
	return NULL;
}

int audit_sinks_name(const sink_conf *c, char *out, size_t cap, bg_err *e)
{
	int n = -1;

	switch (c->type) {
	case SINK_JSONL:
		n = snprintf(out, cap, "jsonl:%s", c->path != NULL ? c->path : "");
		break;
	case SINK_SYSLOG:
		n = snprintf(out, cap, "syslog:%s", c->address != NULL ? c->address : "");
		break;
	case SINK_CLOUDWATCH:
		n = snprintf(out, cap, "cloudwatch:%s/%s/%s", c->region != NULL ? c->region : "",
		             c->log_group != NULL ? c->log_group : "",
		             c->log_stream != NULL ? c->log_stream : "");
		break;
	}
	if (n < 0 || (size_t)n >= cap)
		return bg_err_set(e, BG_EINVAL, "an audit sink's destination is too long");
	return 0;
}

/* --- reading records ------------------------------------------------------------------- */

typedef struct batch {
	sink_rec recs[BG_SINK_BATCH];
	char *lines[BG_SINK_BATCH];
	char kinds[BG_SINK_BATCH][24];
	size_t n;
	bool failed;
} batch;

/* The record's ts (RFC 3339 with milliseconds) in milliseconds since the epoch. */
static int64_t ts_ms(json_t *rec)
{
	const char *s = json_string_value(json_object_get(rec, "ts"));
	const char *dot;
	int64_t t, ms = 0;
	int i;

	if (s == NULL || bg_rfc3339_parse(s, strlen(s), &t) != 0)
		return bg_now_ms();
	dot = strchr(s, '.');
	for (i = 0; dot != NULL && i < 3; i++)
		ms = ms * 10 + (dot[1 + i] >= '0' && dot[1 + i] <= '9' ? dot[1 + i] - '0' : 0);
	return t * 1000 + ms;
}

static int batch_add(void *ctx, json_t *rec)
{
	batch *b = ctx;
	sink_rec *r = &b->recs[b->n];
	char *line = json_dumps(rec, JSON_COMPACT);

	if (line == NULL) {
		b->failed = true;
		return 1;
	}
	b->lines[b->n] = line;
	snprintf(b->kinds[b->n], sizeof(b->kinds[0]), "%s",
	         json_string_value(json_object_get(rec, "kind")) != NULL
	             ? json_string_value(json_object_get(rec, "kind"))
	             : "");
	r->seq = json_integer_value(json_object_get(rec, "seq"));
	r->ts_ms = ts_ms(rec);
	r->kind = b->kinds[b->n];
	r->line = line;
	r->len = strlen(line);
	b->n++;
	return 0;
}

static void batch_clear(batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->lines[i]);
	b->n = 0;
	b->failed = false;
}

/* --- the threads ----------------------------------------------------------------------- */

static void save_cursor(audit_sinks *s, slot *sl, int64_t seq)
{
	store_tx *tx;
	bg_err e;
	int rc = store_begin(s->st, &tx, &e);

	if (rc == 0) {
		rc = store_sink_cursor_set(tx, sl->name, seq, &e);
		rc = store_end(tx, rc, &e);
	}
	pthread_mutex_lock(&s->mu);
	if (rc == 0 && seq > sl->saved)
		sl->saved = seq;
	pthread_mutex_unlock(&s->mu);
	if (rc != 0)
		fprintf(stderr, "breakglass: audit sink %s: cannot save its cursor: %s\n", sl->name,
		        e.msg);
}

/* Records a delivery's outcome; called with mu held. */
static void note_result(slot *sl, int rc, int64_t upto, const bg_err *e)
{
	if (upto > sl->acked)
		sl->acked = upto;
	if (rc == 0) {
		if (!sl->up)
			fprintf(stderr,
			        "breakglass: audit sink %s: delivering again (at seq %lld)\n",
			        sl->name, (long long)sl->acked);
		sl->up = true;
		sl->last_ok = bg_now();
		sl->last_error[0] = '\0';
		sl->backoff = BG_SINK_RETRY_MIN_MS;
		sl->retry_at = 0;
		return;
	}
	if (sl->up || strcmp(sl->last_error, e->msg) != 0)
		fprintf(stderr, "breakglass: audit sink %s: %s (retrying)\n", sl->name, e->msg);
	sl->up = false;
	sl->fail_gen++;
	snprintf(sl->last_error, sizeof(sl->last_error), "%s", e->msg);
	sl->retry_at = bg_mono_ms() + sl->backoff;
	sl->backoff =
	    sl->backoff * 2 > BG_SINK_RETRY_MAX_MS ? BG_SINK_RETRY_MAX_MS : sl->backoff * 2;
}

static void *sink_main(void *arg)
{
	slot *sl = arg;
	audit_sinks *s = sl->owner;
	batch *b = calloc(1, sizeof(*b));
	int64_t last_save = bg_mono_ms();
	bool idle = false;

	pthread_setname_np(pthread_self(), "bg-sink"); /* top -H, perf, /proc */
	pthread_mutex_lock(&s->mu);
	while (!s->stop && b != NULL) {
		int64_t now = bg_mono_ms(), from, upto;
		struct timespec until;
		size_t accepted = 0;
		bg_err e;
		int rc;

		if (!sl->kick && now < sl->retry_at) {
			deadline_at(sl->retry_at, &until);
			pthread_cond_timedwait(&s->work, &s->mu, &until);
			continue;
		}
		if (idle && !sl->kick && s->head <= sl->acked) {
			deadline_at(now + BG_SINK_POLL_MS, &until);
			pthread_cond_timedwait(&s->work, &s->mu, &until);
			idle = false; /* announced, or time to look */
			continue;
		}
		sl->kick = false;
		from = sl->acked;
		pthread_mutex_unlock(&s->mu);

		bg_err_clear(&e);
		rc = audit_read(s->a, from, BG_SINK_BATCH, batch_add, b, &e);
		if (rc == 0 && b->failed)
			rc = bg_err_set(&e, BG_ENOMEM, "out of memory reading the trail");
		upto = from;
		if (rc == 0 && b->n > 0) {
			rc = sl->ops->deliver(sl->self, b->recs, b->n, &accepted, &e);
			if (rc == 0)
				accepted = b->n;
			if (accepted > b->n)
				accepted = b->n;
			if (accepted > 0)
				upto = b->recs[accepted - 1].seq;
		}
		idle = rc == 0 && b->n < BG_SINK_BATCH; /* caught up */
		batch_clear(b);

		pthread_mutex_lock(&s->mu);
		note_result(sl, rc, upto, &e);
		pthread_cond_broadcast(&s->progress);
		if (sl->acked > sl->saved && bg_mono_ms() - last_save >= BG_SINK_CURSOR_SAVE_MS) {
			int64_t seq = sl->acked;

			pthread_mutex_unlock(&s->mu);
			save_cursor(s, sl, seq);
			last_save = bg_mono_ms();
			pthread_mutex_lock(&s->mu);
		}
	}
	pthread_mutex_unlock(&s->mu);
	free(b);
	return NULL;
}

/* --- the gate -------------------------------------------------------------------------- */

static int gate(void *ctx, int64_t seq, bg_err *e)
{
	audit_sinks *s = ctx;
	int64_t gen[BG_MAX_SINKS], start = bg_mono_ms(), deadline;
	struct timespec until;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	if (seq > s->head)
		s->head = seq;
	for (i = 0; i < s->n; i++) {
		gen[i] = s->slots[i].fail_gen;
		if (s->slots[i].required)
			s->slots[i].kick = true;
	}
	pthread_cond_broadcast(&s->work);
	deadline = start + BG_SINK_GATE_MS;
	deadline_at(deadline, &until);
	for (i = 0; i < s->n && rc == 0; i++) {
		slot *sl = &s->slots[i];

		while (sl->required && sl->acked < seq && rc == 0) {
			if (sl->fail_gen != gen[i])
				rc = bg_err_set(e, BG_EIO,
				                "required audit sink %s cannot take records: %s",
				                sl->name, sl->last_error);
			else if (s->stop)
				rc = bg_err_set(e, BG_EIO, "audit sinks are stopping");
			else if (pthread_cond_timedwait(&s->progress, &s->mu, &until) ==
			             ETIMEDOUT &&
			         sl->acked < seq)
				rc = bg_err_set(
				    e, BG_EIO,
				    "required audit sink %s has not taken record %lld within "
				    "%d s",
				    sl->name, (long long)seq, BG_SINK_GATE_MS / 1000);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Every required sink up (its last delivery succeeded, or none was tried yet). */
static int ready(void *ctx, bg_err *e)
{
	audit_sinks *s = ctx;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->n; i++) {
		if (!s->slots[i].required || s->slots[i].up)
			continue;
		s->slots[i].kick = true; /* try it again now, not at the end of its backoff */
		if (rc == 0)
			rc = bg_err_set(e, BG_EIO, "required audit sink %s cannot take records: %s",
			                s->slots[i].name, s->slots[i].last_error);
	}
	if (rc != 0)
		pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* --- start and stop -------------------------------------------------------------------- */

/* The seq the store's trail ends at (0: empty). */
static int newest(void *ctx, json_t *rec)
{
	*(int64_t *)ctx = json_integer_value(json_object_get(rec, "seq"));
	return 1;
}

static int open_slot(audit_sinks *s, slot *sl, const sink_conf *c, int64_t head, bg_err *e)
{
	int64_t saved = 0, held = 0;
	bg_err why;
	int rc;

	bg_err_clear(&why);
	sl->owner = s;
	sl->required = c->required;
	sl->ops = ops_of(c->type);
	sl->up = true;
	sl->backoff = BG_SINK_RETRY_MIN_MS;
	if (sl->ops == NULL)
		return bg_err_set(e, BG_EINVAL, "unknown audit sink type %d", (int)c->type);
	rc = audit_sinks_name(c, sl->name, sizeof(sl->name), e);
	if (rc == 0 && (rc = sl->ops->open(c, &sl->self, &why)) != 0)
		return bg_err_set(e, rc, "audit sink %s: %s", sl->name, why.msg);
	if (sl->ops->resume != NULL && (held = sl->ops->resume(sl->self, &why)) < 0)
		return bg_err_set(e, why.code != 0 ? why.code : BG_EIO, "audit sink %s: %s",
		                  sl->name, why.msg);
	if (rc == 0)
		rc = store_sink_cursor_get(s->st, sl->name, &saved, e);
	if (rc == 0 && held > head)
		rc =
		    bg_err_set(e, BG_EINVAL,
		               "audit sink %s holds records up to seq %lld but this store's trail "
		               "ends at %lld: it is another trail's copy; point the sink elsewhere",
		               sl->name, (long long)held, (long long)head);
	if (rc == 0 && saved > head) {
		/* The store ends before what this sink was sent: it was replaced, restored from
		 * a backup, or cut short. The sink's copy is the evidence: say so loudly, on
		 * the record too (audit_sinks_start), and go on from the store's head. */
		fprintf(stderr,
		        "breakglass: WARNING: audit sink %s was sent records up to seq %lld but "
		        "this store's trail ends at seq %lld: the store was replaced or cut short; "
		        "compare with the sink's copy (breakglass audit verify --reference)\n",
		        sl->name, (long long)saved, (long long)head);
		sl->rewound_from = saved;
		saved = head;
	}
	sl->acked = saved > held ? saved : held;
	sl->saved = saved;
	return rc;
}

int audit_sinks_start(audit_log *a, store *st, const sink_conf *confs, size_t n, audit_sinks **out,
                      bg_err *e)
{
	audit_sinks *s;
	int64_t head = 0;
	size_t i;
	int rc;

	*out = NULL;
	if (n == 0)
		return 0;
	if (n > BG_MAX_SINKS)
		return bg_err_set(e, BG_EINVAL, "at most %d audit sinks", BG_MAX_SINKS);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	s->a = a;
	s->st = st;
	if (pthread_mutex_init(&s->mu, NULL) != 0 || pthread_condattr_init(&s->attr) != 0 ||
	    pthread_condattr_setclock(&s->attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&s->work, &s->attr) != 0 ||
	    pthread_cond_init(&s->progress, &s->attr) != 0) {
		free(s);
		return bg_err_set(e, BG_ENOMEM, "audit sinks: cannot set up their threads");
	}
	rc = audit_read_back(a, 0, 1, newest, &head, e);
	for (i = 0; rc == 0 && i < n; i++) {
		rc = open_slot(s, &s->slots[i], &confs[i], head, e);
		s->n = i + 1;
	}
	s->head = head;
	for (i = 0; rc == 0 && i < s->n; i++) {
		if (s->slots[i].rewound_from > 0) {
			audit_record r = {
			    .kind = "sink-rewound", .actor = "breakglass", .decision = "deny"};
			json_t *d = json_pack("{s:s,s:I,s:I}", "sink", s->slots[i].name,
			                      "sent_through", (json_int_t)s->slots[i].rewound_from,
			                      "store_head", (json_int_t)head);

			r.reason = "the store's trail ends before what this sink was sent";
			r.detail = d;
			rc = d == NULL ? bg_err_set(e, BG_ENOMEM, "out of memory")
			               : audit_append(a, &r, NULL, e);
			json_decref(d);
		}
	}
	for (i = 0; rc == 0 && i < s->n; i++) {
		if (pthread_create(&s->slots[i].thread, NULL, sink_main, &s->slots[i]) != 0)
			rc = bg_err_set(e, BG_EIO, "audit sinks: cannot start a thread");
		else
			s->slots[i].started = true;
	}
	if (rc != 0) {
		audit_sinks_free(s);
		return rc;
	}
	/* Every batch is announced to the threads; only the required sinks hold it. */
	s->gated = true;
	audit_set_gate(a, gate, ready, s);
	*out = s;
	return 0;
}

void audit_sinks_free(audit_sinks *s)
{
	size_t i;

	if (s == NULL)
		return;
	/* Stop first, so a gate in progress returns at once; then clear it, which waits
	 * until the committer has left it. */
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->work);
	pthread_cond_broadcast(&s->progress);
	pthread_mutex_unlock(&s->mu);
	if (s->gated)
		audit_set_gate(s->a, NULL, NULL, NULL);
	for (i = 0; i < s->n; i++) {
		slot *sl = &s->slots[i];

		if (sl->started)
			pthread_join(sl->thread, NULL);
		if (sl->started && sl->acked > sl->saved)
			save_cursor(s, sl, sl->acked);
		if (sl->ops != NULL)
			sl->ops->close(sl->self);
	}
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->progress);
	pthread_condattr_destroy(&s->attr);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

size_t audit_sinks_state(audit_sinks *s, audit_sink_state *out, size_t cap)
{
	size_t i;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->n && i < cap; i++) {
		const slot *sl = &s->slots[i];
		audit_sink_state *o = &out[i];

		memcpy(o->name, sl->name, sizeof(o->name));
		o->type = sl->ops->type;
		o->required = sl->required;
		o->up = sl->up;
		o->delivered = sl->acked;
		o->failures = sl->fail_gen;
		o->last_ok = sl->last_ok;
		memcpy(o->last_error, sl->last_error, sizeof(o->last_error));
	}
	pthread_mutex_unlock(&s->mu);
	return s->n;
}
