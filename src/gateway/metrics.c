/*
 * metrics.c - the gateway's counters and histograms (metrics.h), rendered in the
 * Prometheus text format, version 0.0.4.
 */
#include "gateway/metrics.h"

#include <stdatomic.h>
#include <stdlib.h>

/* Latency buckets, seconds (upper bounds): from half a millisecond (a gateway that adds
 * less is doing well) to 10 s (beyond that a request is stuck, not slow). */
static const double lat_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                    0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NLAT (sizeof(lat_bounds) / sizeof(lat_bounds[0]))

typedef struct histogram {
	atomic_llong buckets[NLAT]; /* not cumulative: one per bound */
	atomic_llong count;
	atomic_llong sum_us;
} histogram;

struct gw_metrics {
	atomic_llong requests[DDB_OP_COUNT + 1][2]; /* [op][allowed] */
	histogram added, upstream;
};

gw_metrics *gw_metrics_new(void)
{
	return calloc(1, sizeof(gw_metrics)); /* zeroed atomics are valid zeros */
}

void gw_metrics_free(gw_metrics *m)
{
	free(m);
}

static void observe(histogram *h, int64_t us)
{
	size_t i;

	if (us < 0)
		us = 0;
	for (i = 0; i < NLAT && (double)us > lat_bounds[i] * 1e6; i++)
		;
	if (i < NLAT)
		atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

void gw_metrics_request(gw_metrics *m, ddb_op op, bool allowed, int64_t total_us,
                        int64_t upstream_us)
{
	if (m == NULL)
		return;
	if ((unsigned)op > DDB_OP_COUNT)
		op = DDB_OP_COUNT;
	atomic_fetch_add_explicit(&m->requests[op][allowed], 1, memory_order_relaxed);
	if (upstream_us >= 0) {
		observe(&m->upstream, upstream_us);
		observe(&m->added, total_us - upstream_us);
	} else {
		observe(&m->added, total_us);
	}
}

static int render_histogram(bg_buf *b, const char *name, const char *help, const histogram *h)
{
	long long cum = 0;
	size_t i;
	int rc = bg_buf_addf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);

	for (i = 0; rc == 0 && i < NLAT; i++) {
		cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
		rc = bg_buf_addf(b, "%s_bucket{le=\"%g\"} %lld\n", name, lat_bounds[i], cum);
	}
	if (rc == 0)
		rc = bg_buf_addf(
		    b, "%s_bucket{le=\"+Inf\"} %lld\n%s_sum %.6f\n%s_count %lld\n", name,
		    (long long)atomic_load_explicit(&h->count, memory_order_relaxed), name,
		    (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6, name,
		    (long long)atomic_load_explicit(&h->count, memory_order_relaxed));
	return rc;
}

static int gauge(bg_buf *b, const char *name, const char *help, long long v)
{
	return bg_buf_addf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help, name, name,
	                   v);
}

int gw_metrics_render(const gw_metrics *m, const gw_metrics_extra *x, bg_buf *b)
{
	static const char req[] = "breakglass_requests_total";
	int rc = bg_buf_addf(b,
	                     "# HELP %s DynamoDB requests answered, by operation and by whether "
	                     "the gateway forwarded them (allow) or refused them (deny).\n"
	                     "# TYPE %s counter\n",
	                     req, req);
	size_t op;
	int d;

	for (op = 0; rc == 0 && op <= DDB_OP_COUNT; op++)
		for (d = 0; rc == 0 && d < 2; d++) {
			long long v =
			    atomic_load_explicit(&m->requests[op][d], memory_order_relaxed);
			const ddb_op_info *info =
			    op < DDB_OP_COUNT ? ddb_op_by_id((ddb_op)op) : NULL;

			if (v > 0)
				rc = bg_buf_addf(b, "%s{operation=\"%s\",decision=\"%s\"} %lld\n",
				                 req, info != NULL ? info->name : "unknown",
				                 d ? "allow" : "deny", v);
		}
	if (rc == 0)
		rc = render_histogram(b, "breakglass_gateway_added_seconds",
		                      "Time the gateway adds to a DynamoDB request: its whole time "
		                      "less the upstream call's (all of it for a refusal).",
		                      &m->added);
	if (rc == 0)
		rc = render_histogram(b, "breakglass_upstream_seconds",
		                      "Time of the upstream DynamoDB call of a forwarded request.",
		                      &m->upstream);
	if (rc == 0 && x != NULL) {
		rc = gauge(b, "breakglass_live_grants", "Grants whose credentials work now.",
		           x->live_grants);
		rc = rc ? rc
		        : gauge(b, "breakglass_pending_requests", "Requests waiting for approval.",
		                x->pending_requests);
		rc = rc ? rc
		        : gauge(b, "breakglass_overdue_reviews",
		                "Post-incident reviews past their deadline and not signed.",
		                x->overdue_reviews);
	}
	if (rc == 0 && x != NULL && x->audit != NULL) {
		const audit_stats *a = x->audit;

		rc = bg_buf_addf(
		    b,
		    "# HELP breakglass_audit_records_total Audit records the committer wrote.\n"
		    "# TYPE breakglass_audit_records_total counter\n"
		    "breakglass_audit_records_total %lld\n"
		    "# HELP breakglass_audit_batches_total Committed audit batches (one durable "
		    "sync each).\n"
		    "# TYPE breakglass_audit_batches_total counter\n"
		    "breakglass_audit_batches_total %lld\n"
		    "# HELP breakglass_audit_failed_batches_total Audit batches that could not be "
		    "made durable (their requests were refused).\n"
		    "# TYPE breakglass_audit_failed_batches_total counter\n"
		    "breakglass_audit_failed_batches_total %lld\n"
		    "# HELP breakglass_audit_max_batch Most records committed in one batch.\n"
		    "# TYPE breakglass_audit_max_batch gauge\n"
		    "breakglass_audit_max_batch %lld\n"
		    "# HELP breakglass_audit_commit_seconds Time of one audit batch's commit, its "
		    "sync included.\n"
		    "# TYPE breakglass_audit_commit_seconds summary\n"
		    "breakglass_audit_commit_seconds_sum %.6f\n"
		    "breakglass_audit_commit_seconds_count %lld\n",
		    (long long)a->records, (long long)a->batches, (long long)a->failed_batches,
		    (long long)a->max_batch, (double)a->commit_us / 1e6,
		    (long long)(a->batches + a->failed_batches));
	}
	return rc;
}
