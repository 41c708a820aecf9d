/*
 * jobq_run_report_batch(): push instead of poll for many runs at once. A
 * host that learns of finished runs in bulk (a Kubernetes watch delivers
 * them in bursts) reports them in one call, which is one transaction and,
 * with a database, one commit, instead of one commit per run.
 *
 * All or nothing: every entry is checked before any run is changed (a
 * known, running run, a finished/failed state, no id twice), so a bad
 * entry changes nothing. Each accepted entry then goes through the same
 * core transition as jobq_run_report().
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtable.h"
#include "scheduler.h"

static int compare_ids(const void *a, const void *b)
{
    jobq_run_id x = *(const jobq_run_id *)a, y = *(const jobq_run_id *)b;
    return x < y ? -1 : x > y;
}

/* The first id that appears twice, or 0. */
static int find_duplicate(jobq_scheduler *s, const jobq_run_id *ids,
                          size_t count, jobq_run_id *dup)
{
    *dup = 0;
    if (count < 2)
        return 0;
    jobq_run_id *sorted = malloc(count * sizeof *sorted);
    if (!sorted)
        return jq_core_fail(&s->core, JOBQ_ENOMEM, "out of memory");
    memcpy(sorted, ids, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, compare_ids);
    for (size_t i = 1; i < count && !*dup; i++)
        if (sorted[i] == sorted[i - 1])
            *dup = sorted[i];
    free(sorted);
    return 0;
}

static int check_entry(jobq_scheduler *s, jobq_run_id id, jobq_run_state state,
                       size_t i)
{
    if (state != JOBQ_RUN_FINISHED && state != JOBQ_RUN_FAILED)
        return jq_core_fail(&s->core, JOBQ_EINVAL,
                            "runs[%zu]: a run can be "
                            "reported finished or failed, not %s",
                            i, jobq_run_state_name(state));
    const jq_run *run = jq_idmap_get(&s->core.runs, id);
    if (!run) {
        int rc = jq_sched_check_ended(s, id, JOBQ_ENOTFOUND);
        char msg[sizeof s->core.errmsg];
        snprintf(msg, sizeof msg, "%s", s->core.errmsg);
        if (rc == JOBQ_ENOTFOUND)
            snprintf(msg, sizeof msg, "no run with id %" PRIu64, id);
        return jq_core_fail(&s->core, rc, "runs[%zu]: %s", i, msg);
    }
    if (run->state != JOBQ_RUN_RUNNING)
        return jq_core_fail(&s->core, JOBQ_ESTATE,
                            "runs[%zu]: run %" PRIu64 " is %s, not running", i,
                            id,
                            jobq_run_state_name((jobq_run_state)run->state));
    return 0;
}

int jq_sched_report_all(jobq_scheduler *s, const jobq_run_id *ids,
                        const jobq_run_state *states,
                        const char *const *details, size_t count)
{
    if (count > 0 && (!ids || !states))
        return jq_core_fail(&s->core, JOBQ_EINVAL,
                            "ids and states must not be NULL");
    jobq_run_id dup;
    int rc = find_duplicate(s, ids, count, &dup);
    if (rc == 0 && dup)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL,
                          "run %" PRIu64 " is "
                          "reported twice",
                          dup);
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = check_entry(s, ids[i], states[i], i);
    jobq_time_ms now = rc == 0 ? jq_sched_now(s) : 0;
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = jq_core_report(&s->core, now, ids[i], states[i],
                            details ? details[i] : NULL);
    return rc;
}

JOBQ_API int jobq_run_report_batch(jobq_scheduler *s, const jobq_run_id *ids,
                                   const jobq_run_state *states,
                                   const char *const *details, size_t count)
{
    ENTER(s);
    int rc = jq_sched_writable(s);
    if (rc == 0 && count > 0)
        rc = jq_sched_write(s, jq_sched_report_all(s, ids, states, details,
                                                   count));
    return LEAVE(s, rc);
}
