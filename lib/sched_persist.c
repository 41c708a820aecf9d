/*
 * Persistence glue between the scheduler handle and the store. Until the
 * SQLite store lands this is the in-memory behaviour: nothing to attach,
 * nothing to commit.
 */
#include <stdio.h>

#include "scheduler.h"

int jq_sched_attach_store(jobq_scheduler *s, const jobq_options *opts,
                          char *err, size_t err_cap)
{
    if (opts->db_path) {
        if (err && err_cap)
            snprintf(err, err_cap, "db_path: this build has no store yet");
        return JOBQ_EINVAL;
    }
    return 0;
}

void jq_sched_detach_store(jobq_scheduler *s)
{
}

int jq_sched_write(jobq_scheduler *s, int rc)
{
    return rc;
}

int jq_sched_submit(jobq_scheduler *s, jobq_run_id *out_id, const char *job,
                    const jobq_submit_opts *opts)
{
    if (opts && opts->idempotency_key && *opts->idempotency_key)
        return jq_core_fail(&s->core, JOBQ_EINVAL,
                            "idempotency_key needs a database (db_path)");
    return jq_sched_write(s, jq_core_submit(&s->core, jq_sched_now(s), out_id,
                                            job, opts));
}

int jq_sched_tick(jobq_scheduler *s, jobq_time_ms now, jobq_tick_stats *st)
{
    return jq_sched_write(s, jq_core_tick(&s->core, now, st));
}

int jq_sched_run_info(jobq_scheduler *s, jobq_run_info *info, jobq_run_id id)
{
    int rc = jq_core_run_info(&s->core, info, id);
    if (rc == JOBQ_ENOTFOUND)
        jq_core_fail(&s->core, rc, "no run with id %llu",
                     (unsigned long long)id);
    return rc;
}

int jq_sched_save_config(jobq_scheduler *s)
{
    return 0;
}
