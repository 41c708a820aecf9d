/*
 * libjobq metrics: the scheduler's state and history in the Prometheus text
 * exposition format 0.0.4, for a host to serve on /metrics (the
 * jobq-exporter example does exactly that).
 *
 * The metric names, types and labels are a contract (SPEC section 5):
 *
 *   jobq_queue_length{namespace,priority}                      gauge
 *   jobq_queue_head_blocked{namespace,priority,reason}         gauge, 0 or 1
 *   jobq_runs_total{namespace,domain,priority,outcome}         counter
 *   jobq_wait_seconds{namespace,priority}                      histogram
 *   jobq_head_timeouts_total{namespace,priority,action}        counter
 *   jobq_allocated_{cpu_cores,memory_bytes,pods,storage_bytes}
 *       {namespace,domain,priority,job}                        gauge
 *   jobq_quota_{cpu_cores,memory_bytes,pods,storage_bytes}
 *       {namespace,kind}                                       gauge
 *   jobq_cycle_duration_seconds                                histogram
 *
 * Counters and histograms accumulate from the events of this handle since
 * jobq_open() (a restart resets them, which Prometheus's rate() expects).
 * Gauges are read from the scheduler's state when the text is rendered.
 * No label carries a run id or run name, so the number of series grows
 * with namespaces, domains and jobs, never with runs.
 *
 * Details a reader of the numbers needs:
 *   - jobq_queue_head_blocked has one series per reason (cpu, memory, pods,
 *     storage, stale_quota) for every queue; at most one of them is 1: the
 *     first insufficient dimension of the head the last time it was
 *     considered, or stale_quota when it fitted but the cluster refused it
 *     (it then waits out its backoff, SPEC 2.5).
 *   - jobq_runs_total outcomes are deployed, finished, failed, cancelled
 *     and rescheduled; every (namespace, domain) seen in an event has all
 *     five outcomes for both priorities, starting at 0.
 *   - jobq_wait_seconds observes the wait of every deployment (submission
 *     to deployment), legacy runs included; buckets run from 1 s to 7 days.
 *   - jobq_head_timeouts_total counts action="retry" (the head got another
 *     head-timeout period) and action="cancel" (it was cancelled).
 *   - jobq_allocated_* sums the requests of deployed runs, legacy included;
 *     every defined job has a series at its default priority, 0 when
 *     nothing of it runs.
 *   - jobq_quota_* shows the probe's last reading for a namespace (taken
 *     when the namespace last had a queue head to admit): kind="hard" is
 *     the limit, kind="used" is the reading plus what this library deployed
 *     since. A dimension without a limit (JOBQ_UNLIMITED) has no "hard"
 *     series; a namespace never probed, or whose last probe failed, has
 *     no quota series at all.
 *   - jobq_cycle_duration_seconds is the wall time of each jobq_tick(),
 *     measured with the monotonic clock.
 * Series are sorted (namespace, then domain, priority, job...), so the same
 * state renders to the same text.
 */
#ifndef JOBQ_METRICS_H
#define JOBQ_METRICS_H

#include <stddef.h>

#include "jobq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The Content-Type to serve the text with. */
#define JOBQ_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Render every metric. *out_text receives a NUL-terminated string to free
 * with jobq_free(); *out_len (out_len may be NULL) its length without the
 * NUL. Safe to call from any thread while others use the handle (an HTTP
 * server thread scraping while the host ticks). */
JOBQ_API int jobq_metrics_render(jobq_scheduler *s, char **out_text,
                                 size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* JOBQ_METRICS_H */
