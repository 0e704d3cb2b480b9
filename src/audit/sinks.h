/*
 * sinks.h - the audit sinks at work: one thread per configured sink copies the trail
 * from the store to its transport (audit/sink.h), after the sink's cursor, in order; the
 * required ones gate the audit committer (audit_set_gate), so a request whose record a
 * required sink has not taken is refused.
 *
 * Why a thread per sink reading the store, rather than the committer writing to each:
 * the store already is a durable backlog, so a best-effort sink that is down costs
 * nothing but its lag, a restart resumes from the saved cursor, records appended by the
 * service layer's own transactions (audit_append_tx) reach the sinks like the rest, and
 * a slow destination never slows the store.
 */
#ifndef BG_AUDIT_SINKS_H
#define BG_AUDIT_SINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "audit/sink.h"
#include "common/err.h"
#include "store/store.h"

typedef struct audit_sinks audit_sinks;

/* Opens a transport for each of the n entries of confs (BG_MAX_SINKS at most), reads
 * each one's cursor (the saved one, or what its destination says it holds, whichever is
 * higher; a destination ahead of the store is refused: it holds another trail), starts
 * their threads and sets the gate on a (each batch announced; the required sinks hold it). Returns
 * 0 with *out (audit_sinks_free), or an error naming the sink. st and a are borrowed. */
int audit_sinks_start(audit_log *a, store *st, const sink_conf *confs, size_t n, audit_sinks **out,
                      bg_err *e) BG_MUST_CHECK;

/* Clears the gate, lets each thread finish its delivery, saves the cursors and frees
 * everything. Accepts NULL. Call before audit_free(). */
void audit_sinks_free(audit_sinks *s);

/* One sink's state, for status and metrics (no secret). */
typedef struct audit_sink_state {
	char name[BG_MAX_PATH + 32]; /* "jsonl:/var/lib/breakglass/audit.jsonl", ... */
	const char *type;            /* "jsonl", "syslog", "cloudwatch" */
	bool required;
	bool up;              /* its last delivery (or none yet) succeeded */
	int64_t delivered;    /* the highest seq its destination has accepted */
	int64_t failures;     /* failed deliveries since start */
	int64_t last_ok;      /* Unix seconds of the last success, 0: none */
	char last_error[256]; /* the last failure, "" when up */
} audit_sink_state;

/* Fills out[0..cap) with the sinks' states; returns how many sinks there are. Accepts a
 * NULL s (none). */
size_t audit_sinks_state(audit_sinks *s, audit_sink_state *out, size_t cap);

/* The name a sink's cursor is kept under (and status shows): TYPE:DESTINATION. */
int audit_sinks_name(const sink_conf *c, char *out, size_t cap, bg_err *e) BG_MUST_CHECK;

#endif
