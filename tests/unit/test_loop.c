/*
 * test_loop.c - the event loop's posted tasks: a task posted from another thread runs on
 * the loop's thread whether the loop is asleep in epoll_wait or still awake when it is
 * posted (the eventfd is written only for a loop that may be asleep), and tasks run in
 * the order posted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "net/loop.h"

#define ROUNDS 200

struct poster;

struct task {
	net_task t;
	struct poster *p;
	int idx;
};

struct poster {
	net_loop *loop;
	struct task tasks[ROUNDS];
	atomic_int ran;   /* tasks run so far, by the loop's thread */
	int order_errors; /* tasks that ran out of order */
	long pause_ns;    /* between posts: lets the loop fall asleep, or not */
};

static void task_fn(void *arg)
{
	struct task *t = arg;
	int n = atomic_load(&t->p->ran);

	if (t->idx != n)
		t->p->order_errors++;
	atomic_store(&t->p->ran, n + 1);
}

static void *poster_main(void *arg)
{
	struct poster *p = arg;
	struct timespec ts = {0, 0};
	int i;

	for (i = 0; i < ROUNDS; i++) {
		ts.tv_nsec = p->pause_ns * (i % 3); /* a mix of back-to-back and spaced posts */
		if (ts.tv_nsec)
			nanosleep(&ts, NULL);
		p->tasks[i].p = p;
		p->tasks[i].idx = i;
		p->tasks[i].t.fn = task_fn;
		p->tasks[i].t.arg = &p->tasks[i];
		net_loop_post(p->loop, &p->tasks[i].t);
	}
	return NULL;
}

static void run_posts(long pause_ns)
{
	static struct poster p;
	pthread_t t;
	bg_err e;

	memset(&p, 0, sizeof(p));
	p.pause_ns = pause_ns;
	assert_int_equal(net_loop_new(&p.loop, &e), 0);
	assert_int_equal(pthread_create(&t, NULL, poster_main, &p), 0);
	/* Each turn may wait a minute (no timers are armed): only a wake-up or a task found
	 * before sleeping ends it sooner, so a lost wake-up shows as a run that takes
	 * minutes (the next turn then finds the task); there is no timed assertion. */
	while (atomic_load(&p.ran) < ROUNDS)
		assert_int_equal(net_loop_run_once(p.loop, 60000), 0);
	pthread_join(t, NULL);
	assert_int_equal(p.order_errors, 0);
	net_loop_free(p.loop);
}

static void test_posts_back_to_back(void **state)
{
	run_posts(0);
}

static void test_posts_to_a_sleeping_loop(void **state)
{
	run_posts(200000); /* 0.2 ms: the loop is asleep for most posts */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_posts_back_to_back),
	    cmocka_unit_test(test_posts_to_a_sleeping_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
