/*
 * sink.h - copies of the audit trail outside the store: JSON lines files, syslog and
 * CloudWatch Logs (docs/audit.md, "Sinks").
 *
 * The store is the trail and the sinks' backlog at once: each sink has a cursor, the
 * highest sequence number its destination has accepted, and a thread of its own that
 * reads the records after it from the store and hands them to the sink's transport in
 * order. Nothing is lost across a restart, because nothing is taken out of the store.
 *
 *  - A *required* sink gates the gateway: the audit committer waits, after each batch,
 *    until every required sink has accepted the batch; if one cannot, the batch's callers
 *    get an error and refuse the requests the records describe (fail closed). The records
 *    stay in the store and reach the sink once it is back.
 *  - A *best-effort* sink never holds anything up: on failure it retries with backoff
 *    (BG_SINK_RETRY_*), its lag is shown by `breakglass status` and the metrics.
 *
 * Delivery is at least once: a best-effort sink's cursor is saved at most every
 * BG_SINK_CURSOR_SAVE_MS, so after a crash a few records may be sent again. Each line
 * carries its seq, so a reader drops repeats; the JSON lines transport reads its own
 * file's last seq and sends none twice.
 *
 * A transport (sink_jsonl.c, sink_syslog.c, sink_cloudwatch.c) implements sink_ops. It is
 * called from its sink's thread only, one call at a time, so it needs no lock.
 */
#ifndef BG_AUDIT_SINK_H
#define BG_AUDIT_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef enum sink_type { SINK_JSONL, SINK_SYSLOG, SINK_CLOUDWATCH } sink_type;

/* One configured sink (the config file's audit.sinks entries, docs/audit.md). Strings
 * are owned by whoever built the struct; the sink copies what it keeps. */
typedef struct sink_conf {
	sink_type type;
	bool required;
	/* jsonl */
	const char *path;  /* absolute (the config's relative paths are resolved by then) */
	int64_t max_bytes; /* rotate once the file would pass this; 0: never */
	/* syslog: "udp://HOST:PORT", "tcp://HOST:PORT", "unix:/PATH", "relp://HOST:PORT" */
	const char *address;
	/* cloudwatch */
	const char *log_group;
	const char *log_stream;
	const char *region;
	const char *endpoint; /* NULL: https://logs.REGION.amazonaws.com, or
	                         AWS_ENDPOINT_URL_LOGS when set (tests) */
	void *creds;          /* the gateway's identity (signing/credchain.h, a credchain *),
	                         borrowed */
} sink_conf;

/* One record as a transport receives it. */
typedef struct sink_rec {
	int64_t seq;
	int64_t ts_ms;    /* the record's time, milliseconds since the epoch */
	const char *kind; /* "request", "response", "checkpoint", ... */
	const char *line; /* the record as one line of compact JSON, exactly as `audit export`
	                     writes it (so a sink's copy verifies with `audit verify --file`);
	                     no newline, not NUL-terminated within len */
	size_t len;
} sink_rec;

typedef struct sink_ops {
	const char *type; /* "jsonl", "syslog", "cloudwatch" */

	/* Creates the transport for c (no I/O that can block long: connections are made by
	 * deliver). Returns 0 and *self, or an error naming what in c is wrong. */
	int (*open)(const sink_conf *c, void **self, bg_err *e);

	/* Hands recs[0..n) (n >= 1, seqs increasing) to the destination. Returns 0 once the
	 * destination has accepted every one of them in the transport's strongest sense (the
	 * file written and fdatasync'd, RELP acknowledged, PutLogEvents answered 200, a
	 * datagram sent). On failure returns an error (e says why, never a secret) and sets
	 * *accepted to how many of the first records were accepted before it (0 when
	 * unknown); the caller retries the rest later. Must not block longer than
	 * BG_SINK_IO_TIMEOUT_MS per network round trip. */
	int (*deliver)(void *self, const sink_rec *recs, size_t n, size_t *accepted, bg_err *e);

	/* Optional (NULL): the highest seq the destination is known to hold already, 0 when
	 * none or unknown, or -1 with e set when it cannot be read. Called once before the
	 * first delivery; a higher value than the saved cursor wins. */
	int64_t (*resume)(void *self, bg_err *e);

	/* Closes connections and frees self. Accepts NULL. */
	void (*close)(void *self);
} sink_ops;

extern const sink_ops sink_jsonl_ops;
extern const sink_ops sink_syslog_ops;
extern const sink_ops sink_cloudwatch_ops;

#endif
