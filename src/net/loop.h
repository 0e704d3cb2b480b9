/*
 * loop.h - one event loop per thread: epoll readiness, timers and tasks posted from
 * other threads.
 *
 * The gateway runs a small, fixed number of these (one per core). A connection, an
 * upstream transfer or an audit wait never blocks the thread: each registers what it
 * waits for (a file descriptor, a deadline, a completion posted by another thread) and
 * returns to the loop, which calls it back. Everything a loop owns is touched only on
 * its own thread; net_loop_post() and net_loop_stop() are the only thread-safe calls.
 *
 * Posted tasks wake the loop through one eventfd, written only when the loop's queue
 * goes from empty to non-empty, so a burst of completions (an audit batch) costs the
 * loop one wake-up, not one per task.
 */
#ifndef BG_NET_LOOP_H
#define BG_NET_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

typedef struct net_loop net_loop;

/* A file descriptor's callback. Embed one in the object that owns the descriptor; the
 * loop keeps a pointer to it while the descriptor is registered. */
typedef struct net_watch {
	void (*fn)(void *arg, uint32_t events); /* events: EPOLLIN, EPOLLOUT, EPOLLERR, ... */
	void *arg;
} net_watch;

/* A deadline. Embed one in its owner; arm and disarm freely (disarming an unarmed
 * timer is a no-op). The callback runs on the loop's thread, once per arming. */
typedef struct net_timer {
	int64_t due_ms;
	size_t slot; /* index in the loop's heap + 1; 0 while not armed */
	void (*fn)(void *arg);
	void *arg;
} net_timer;

/* A unit of work handed to a loop from any thread. The poster owns the storage and
 * must keep it alive until fn has run (fn may free it). */
typedef struct net_task {
	struct net_task *next;
	void (*fn)(void *arg);
	void *arg;
} net_task;

/* Creates a loop (its epoll set and wake-up eventfd). */
int net_loop_new(net_loop **out, bg_err *e) BG_MUST_CHECK;

/* Closes the loop's own descriptors. The loop must not be running. Accepts NULL. */
void net_loop_free(net_loop *l);

/* Registers, changes or removes interest in fd. events are EPOLL* flags. */
int net_loop_add(net_loop *l, int fd, uint32_t events, net_watch *w) BG_MUST_CHECK;
int net_loop_mod(net_loop *l, int fd, uint32_t events, net_watch *w) BG_MUST_CHECK;
void net_loop_del(net_loop *l, int fd);

/* Arms t to fire after ms milliseconds (re-arming moves it); disarms it. */
int net_timer_arm(net_loop *l, net_timer *t, int64_t ms) BG_MUST_CHECK;
void net_timer_disarm(net_loop *l, net_timer *t);
/* Queues t to run on l's thread. Thread-safe. */
void net_loop_post(net_loop *l, net_task *t);

/* Queues t to run on l's own thread after the events of the current wake-up have been
 * handled, in the order queued: for freeing an object that a later event of the same
 * batch may still name, or for handing on together what those events produced. Loop
 * thread only. */
void net_loop_defer(net_loop *l, net_task *t);

/* Runs callbacks until net_loop_stop(). Returns 0, or BG_EIO if epoll failed. */
int net_loop_run(net_loop *l);

/* One wake-up: waits up to timeout_ms (0: not at all) for events, runs what is due.
 * For tests and fuzzing, which drive a loop step by step. */
int net_loop_run_once(net_loop *l, int timeout_ms);

/* Runs the tasks posted so far, and nothing else (no events, no timers): for a loop that
 * has stopped, whose owner collects the last completions posted to it. */
void net_loop_run_posted(net_loop *l);

/* Makes net_loop_run() return after the callbacks in progress. Thread-safe. */
void net_loop_stop(net_loop *l);

/* The loop's clock: CLOCK_MONOTONIC in milliseconds, read once per wake-up. */
int64_t net_loop_now(const net_loop *l);

#endif
