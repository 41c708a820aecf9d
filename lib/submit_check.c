/*
 * A batch submit checks every run before it submits any: a batch whose
 * run i names an unknown job, or carries a bad name, request, priority or
 * struct version, is refused as a whole (the message names runs[i]) and
 * nothing is submitted. (Failures past this point, such as the storage
 * failing, are rolled back by the call's transaction.) jobqctl submit of
 * an array relies on it: all runs or none.
 */
#include <stdio.h>

#include "names.h"
#include "scheduler.h"

static int check_one(jobq_scheduler *s, const char *job,
                     const jobq_submit_opts *o, size_t i)
{
    jq_core *c = &s->core;
    char err[256];
    if (o && (o->version < 1 || o->version > JOBQ_SUBMIT_OPTS_VERSION))
        return jq_core_fail(c, JOBQ_EVERSION,
                            "runs[%zu]: jobq_submit_opts "
                            "version %u is not supported (1..%d)",
                            i, o->version, JOBQ_SUBMIT_OPTS_VERSION);
    if (!job || !jq_core_job(c, job))
        return jq_core_fail(c, JOBQ_ENOTFOUND,
                            "runs[%zu]: no job named "
                            "\"%s\"",
                            i, job ? job : "(null)");
    if (!o)
        return 0;
    if (jq_name_check("run name", o->run_name, JOBQ_NAME_MAX, false, err,
                      sizeof err) != 0)
        return jq_core_fail(c, JOBQ_EINVAL, "runs[%zu]: %s", i, err);
    if (o->priority != JOBQ_PRIORITY_DEFAULT &&
        o->priority != JOBQ_PRIORITY_HIGH &&
        o->priority != JOBQ_PRIORITY_NORMAL)
        return jq_core_fail(c, JOBQ_EINVAL,
                            "runs[%zu]: priority: %d is not "
                            "high (0), normal (1) or default (-1)",
                            i, o->priority);
    for (int d = 0; o->request && d < JOBQ_RESOURCE_COUNT; d++)
        if (o->request->amount[d] < 0 ||
            o->request->amount[d] == JOBQ_UNLIMITED)
            return jq_core_fail(c, JOBQ_EINVAL,
                                "runs[%zu]: request.%s is "
                                "out of range",
                                i, jobq_resource_name((jobq_resource_kind)d));
    return 0;
}

int jq_submit_batch_check(jobq_scheduler *s, jobq_run_id *out_ids,
                          const char *const *jobs, const jobq_submit_opts *opts,
                          size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int rc = check_one(s, jobs[i], opts ? &opts[i] : NULL, i);
        if (rc != 0) {
            for (size_t j = 0; out_ids && j < count; j++)
                out_ids[j] = 0;
            return rc;
        }
    }
    return 0;
}
