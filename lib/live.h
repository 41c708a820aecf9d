/*
 * Live control glue (include/jobq/client.h): client handles turn the
 * mutating calls into requests in the database; the scheduling process
 * applies them at the start of each cycle. The SQL is in store/requests.c.
 *
 * Hooks into the scheduler (kept small on purpose):
 *   - scheduler.h: `struct jq_live *live` in the handle (NULL until used);
 *   - jq_sched_enter(): jq_live_refresh(s) (a client reloads its view of
 *     the database when another process committed);
 *   - each mutating public entry point: JQ_LIVE_DISPATCH(s, jq_client_...)
 *     before ENTER, handing a client handle's call to this module;
 *   - jq_sched_tick(): jq_live_tick(s, now) first (apply requests, or
 *     refuse the tick on a client handle);
 *   - jobq_close(): jq_live_close(s) before the store is detached.
 */
#ifndef JQ_LIVE_H
#define JQ_LIVE_H

#include "jobq/jobq.h"

struct jq_live;

/* True for a client handle (jobq_open_client). */
bool jq_live_is_client(const jobq_scheduler *s);

#define JQ_LIVE_DISPATCH(s, call)                                              \
    do {                                                                       \
        if (jq_live_is_client(s))                                              \
            return (call);                                                     \
    } while (0)

void jq_live_refresh(jobq_scheduler *s);
int jq_live_tick(jobq_scheduler *s, jobq_time_ms now);
void jq_live_close(jobq_scheduler *s);

/* The mutating calls of a client handle (same contract as the public
 * calls they stand for). */
int jq_client_submit(jobq_scheduler *s, jobq_run_id *out_id, const char *job,
                     const jobq_submit_opts *opts);
int jq_client_submit_batch(jobq_scheduler *s, jobq_run_id *out_ids,
                           const char *const *jobs,
                           const jobq_submit_opts *opts, size_t count);
int jq_client_cancel(jobq_scheduler *s, jobq_run_id id, const char *detail);
int jq_client_property_set(jobq_scheduler *s, const char *key,
                           const char *value);
int jq_client_configure(jobq_scheduler *s, const char *json);
int jq_client_job_define(jobq_scheduler *s, const jobq_job_def *def);
int jq_client_job_set_flow(jobq_scheduler *s, const char *job, jobq_flow flow);
int jq_client_migrate_to_legacy(jobq_scheduler *s, uint64_t *out_moved);

#endif
