/*
 * metrics.h - what the gateway counts for GET /metrics (issue 11, point 6): DynamoDB
 * requests by operation and decision, and latency histograms of the time the gateway
 * adds and of the upstream call.
 *
 * Lock-free (relaxed atomics): the event loops count on the request path at the cost of
 * a few atomic adds; a scrape reads a moment's snapshot, not a consistent cut (Prometheus
 * expects nothing more). The text rendering is metrics_render(), with the audit's and
 * the store's figures the caller passes in.
 */
#ifndef BG_GATEWAY_METRICS_H
#define BG_GATEWAY_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "protocol/ddb_ops.h"

typedef struct gw_metrics gw_metrics;

/* NULL when out of memory. */
gw_metrics *gw_metrics_new(void);
void gw_metrics_free(gw_metrics *m);

/* One DynamoDB request answered: its operation (DDB_OP_COUNT when none could be read),
 * whether it was forwarded (allow) or refused by the gateway (deny), the whole time from
 * its headers to its answer and, when forwarded, the upstream call's time (microseconds;
 * upstream_us < 0: not forwarded). Thread-safe. */
void gw_metrics_request(gw_metrics *m, ddb_op op, bool allowed, int64_t total_us,
                        int64_t upstream_us);

/* What the scrape adds from elsewhere: gauges read at scrape time. */
typedef struct gw_metrics_extra {
	int64_t live_grants, pending_requests, overdue_reviews;
	const audit_stats *audit;
} gw_metrics_extra;

/* Appends the gateway's families (HELP, TYPE and samples) to b. 0 or BG_E* (b's limit). */
int gw_metrics_render(const gw_metrics *m, const gw_metrics_extra *x, bg_buf *b) BG_MUST_CHECK;

#endif
