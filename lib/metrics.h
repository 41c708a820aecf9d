/*
 * The metrics of SPEC section 5, inside the library. A jq_metrics keeps
 * what can only be learnt from events as they pass (counters and
 * histograms); the gauges are read from the policy core at render time, so
 * nothing here is ever out of step with the scheduler's state.
 *
 * The scheduler handle owns one jq_metrics, feeds it every event from
 * forward_event() and every cycle's duration from jobq_tick(), all under
 * the handle's lock. Measurement only: nothing here feeds back into policy.
 */
#ifndef JQ_METRICS_H
#define JQ_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "jobq/jobq.h"

struct jq_metrics;

/* NULL when out of memory. */
struct jq_metrics *jq_metrics_new(void);
void jq_metrics_free(struct jq_metrics *m);

/* Count one event (a NULL m is a no-op). Out of memory loses the event's
 * contribution, never the scheduler's work. */
void jq_metrics_observe_event(struct jq_metrics *m, const jobq_event *event);

/* Observe one scheduling cycle that took `nanoseconds` of wall time. */
void jq_metrics_observe_cycle(struct jq_metrics *m, uint64_t nanoseconds);

/* Render everything as Prometheus text (the caller holds the lock that
 * protects both m and core). Returns 0 or JOBQ_ENOMEM. */
struct jq_store;
/* `store` (may be NULL) adds the jobq_store_quarantined_rows family. */
int jq_metrics_render_text(const struct jq_metrics *m, const jq_core *core,
                           const struct jq_store *store,
                           char **out_text, size_t *out_len);

#endif
