/*
 * loop.c - epoll, a binary heap of timers and a posted-task queue (see loop.h).
 *
 * A task posted from another thread wakes the loop through its eventfd only if the loop
 * may be asleep in epoll_wait: the loop raises `sleeping` before it looks at the queue
 * one last time and waits, and a poster writes to the eventfd only when it sees the flag
 * up after queueing (both sides fence between the write and the read, so at least one
 * of them sees the other's). A loop that is awake finds the task before it next waits.
 */
#include "net/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/limits.h"

struct net_loop {
	int ep;
	int wake_fd;
	net_watch wake_watch;
	bool stop;
	int64_t now;

	net_timer **heap; /* min-heap by due_ms */
	size_t nheap, capheap;

	pthread_mutex_t mu; /* guards the posted-task queue and stop_requested */
	net_task *qhead, *qtail;
	bool stop_requested;
	atomic_bool sleeping; /* the loop may be in epoll_wait (see the top of this file) */

	net_task *deferred, *deferred_tail; /* loop thread only, run in order */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- timers ---------------------------------------------------------------------------- */

static void heap_set(net_loop *l, size_t i, net_timer *t)
{
	l->heap[i] = t;
	t->slot = i + 1;
}

static void heap_up(net_loop *l, size_t i)
{
	net_timer *t = l->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (l->heap[p]->due_ms <= t->due_ms)
			break;
		heap_set(l, i, l->heap[p]);
		i = p;
	}
	heap_set(l, i, t);
}

static void heap_down(net_loop *l, size_t i)
{
	net_timer *t = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && l->heap[c + 1]->due_ms < l->heap[c]->due_ms)
			c++;
		if (t->due_ms <= l->heap[c]->due_ms)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void net_timer_disarm(net_loop *l, net_timer *t)
{
	size_t i;
	net_timer *last;

	if (t->slot == 0)
		return;
	i = t->slot - 1;
	t->slot = 0;
	last = l->heap[--l->nheap];
	if (last == t)
		return;
	heap_set(l, i, last);
	heap_up(l, i);
	heap_down(l, last->slot - 1);
}

int net_timer_arm(net_loop *l, net_timer *t, int64_t ms)
{
	net_timer_disarm(l, t);
	if (l->nheap == l->capheap) {
		size_t cap = l->capheap ? 2 * l->capheap : 64;
		net_timer **h = realloc(l->heap, cap * sizeof(*h));
		if (h == NULL)
			return BG_ENOMEM;
		l->heap = h;
		l->capheap = cap;
	}
	t->due_ms = l->now + (ms < 0 ? 0 : ms);
	heap_set(l, l->nheap, t);
	l->nheap++;
	heap_up(l, l->nheap - 1);
	return 0;
}

static void run_timers(net_loop *l)
{
	while (l->nheap > 0 && l->heap[0]->due_ms <= l->now) {
		net_timer *t = l->heap[0];
		net_timer_disarm(l, t);
		t->fn(t->arg);
	}
}

/* --- posted tasks ---------------------------------------------------------------------- */

void net_loop_post(net_loop *l, net_task *t)
{
	bool was_empty;
	uint64_t one = 1;

	t->next = NULL;
	pthread_mutex_lock(&l->mu);
	was_empty = l->qhead == NULL;
	if (l->qtail)
		l->qtail->next = t;
	else
		l->qhead = t;
	l->qtail = t;
	pthread_mutex_unlock(&l->mu);
	atomic_thread_fence(memory_order_seq_cst);
	if (was_empty && atomic_load(&l->sleeping))
		(void)!write(l->wake_fd, &one, sizeof(one));
}

void net_loop_stop(net_loop *l)
{
	uint64_t one = 1;

	pthread_mutex_lock(&l->mu);
	l->stop_requested = true;
	pthread_mutex_unlock(&l->mu);
	(void)!write(l->wake_fd, &one, sizeof(one));
}

static void on_wake(void *arg, uint32_t events)
{
	net_loop *l = arg;
	uint64_t v;

	(void)!read(l->wake_fd, &v, sizeof(v));
	net_loop_run_posted(l);
}

void net_loop_run_posted(net_loop *l)
{
	net_task *t, *next;

	pthread_mutex_lock(&l->mu);
	t = l->qhead;
	l->qhead = l->qtail = NULL;
	if (l->stop_requested)
		l->stop = true;
	pthread_mutex_unlock(&l->mu);
	for (; t != NULL; t = next) {
		next = t->next; /* fn may free t */
		t->fn(t->arg);
	}
}

void net_loop_defer(net_loop *l, net_task *t)
{
	t->next = NULL;
	if (l->deferred_tail)
		l->deferred_tail->next = t;
	else
		l->deferred = t;
	l->deferred_tail = t;
}

static void run_deferred(net_loop *l)
{
	while (l->deferred != NULL) {
		net_task *t = l->deferred;
		l->deferred = t->next;
		if (l->deferred == NULL)
			l->deferred_tail = NULL;
		t->fn(t->arg);
	}
}

/* --- the loop -------------------------------------------------------------------------- */

int net_loop_new(net_loop **out, bg_err *e)
{
	net_loop *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (l == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	l->ep = -1;
	l->wake_fd = -1;
	pthread_mutex_init(&l->mu, NULL);
	l->now = mono_ms();
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->ep < 0 || l->wake_fd < 0) {
		int rc = bg_err_set(e, BG_EIO, "cannot create an event loop: %s", strerror(errno));
		net_loop_free(l);
		return rc;
	}
	l->wake_watch.fn = on_wake;
	l->wake_watch.arg = l;
	if (net_loop_add(l, l->wake_fd, EPOLLIN, &l->wake_watch) != 0) {
		int rc =
		    bg_err_set(e, BG_EIO, "cannot watch the loop's eventfd: %s", strerror(errno));
		net_loop_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

void net_loop_free(net_loop *l)
{
	if (l == NULL)
		return;
	run_deferred(l);
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	if (l->ep >= 0)
		close(l->ep);
	free(l->heap);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static int ctl(net_loop *l, int op, int fd, uint32_t events, net_watch *w)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = w;
	return epoll_ctl(l->ep, op, fd, &ev) == 0 ? 0 : BG_EIO;
}

int net_loop_add(net_loop *l, int fd, uint32_t events, net_watch *w)
{
	return ctl(l, EPOLL_CTL_ADD, fd, events, w);
}

int net_loop_mod(net_loop *l, int fd, uint32_t events, net_watch *w)
{
	return ctl(l, EPOLL_CTL_MOD, fd, events, w);
}

void net_loop_del(net_loop *l, int fd)
{
	(void)epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
}

int64_t net_loop_now(const net_loop *l)
{
	return l->now;
}

/* One turn: due timers and deferred tasks, then at most max_wait ms (-1: until the next
 * timer) for events, then their callbacks and deferred tasks. */
static int turn(net_loop *l, int max_wait)
{
	struct epoll_event ev[BG_LOOP_EVENTS];
	int timeout = -1, n, i;

	l->now = mono_ms();
	run_timers(l);
	run_deferred(l);
	if (l->stop)
		return 0;
	if (l->nheap > 0) {
		int64_t d = l->heap[0]->due_ms - l->now;
		timeout = d < 0 ? 0 : d > 60000 ? 60000 : (int)d;
	}
	if (max_wait >= 0 && (timeout < 0 || timeout > max_wait))
		timeout = max_wait;
	if (timeout != 0) {
		atomic_store(&l->sleeping, true);
		atomic_thread_fence(memory_order_seq_cst);
		pthread_mutex_lock(&l->mu);
		if (l->qhead != NULL || l->stop_requested)
			timeout = 0; /* posted meanwhile, maybe without a wake-up */
		pthread_mutex_unlock(&l->mu);
	}
	n = epoll_wait(l->ep, ev, BG_LOOP_EVENTS, timeout);
	atomic_store(&l->sleeping, false);
	if (n < 0)
		return errno == EINTR ? 0 : BG_EIO;
	l->now = mono_ms();
	if (timeout == 0)
		net_loop_run_posted(l); /* no eventfd wake-up may come for these */
	for (i = 0; i < n; i++) {
		net_watch *w = ev[i].data.ptr;
		w->fn(w->arg, ev[i].events);
	}
	run_deferred(l);
	return 0;
}

int net_loop_run_once(net_loop *l, int timeout_ms)
{
	return turn(l, timeout_ms < 0 ? 0 : timeout_ms);
}

int net_loop_run(net_loop *l)
{
	l->stop = false;
	while (!l->stop)
		if (turn(l, -1) != 0)
			return BG_EIO;
	return 0;
}
