/*
 * The public read API over the queues (jobq_queue_runs, jobq_queues): a
 * page of one queue in order and the list of queues with their length and
 * head, both read from memory (queued runs always live there, on every
 * handle; ENTER refreshes a client handle's view first) without walking a
 * queue per run. Read-only: nothing here changes the scheduler.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"

/* The size of a jobq_run_info as of `version`: the stride of the caller's
 * array. Every known version so far has the current layout. */
static size_t run_info_size(unsigned version)
{
    return version == 1 ? sizeof(jobq_run_info) : 0;
}

static size_t queue_info_size(unsigned version)
{
    return version == 1 ? sizeof(jobq_queue_info) : 0;
}

static bool valid_priority(jobq_priority priority)
{
    return (int)priority >= 0 && (int)priority < JQ_PRIORITIES;
}

static int read_page(jobq_scheduler *s, const char *ns, jobq_priority priority,
                     uint64_t offset, jobq_run_info *out, size_t capacity,
                     size_t *out_count, uint64_t *out_total)
{
    jq_core *c = &s->core;
    if (!ns)
        return jq_core_fail(c, JOBQ_EINVAL, "ns must not be NULL");
    if (capacity && !out)
        return jq_core_fail(c, JOBQ_EINVAL,
                            "out must not be NULL when capacity is not 0");
    if (!valid_priority(priority))
        return jq_core_fail(c, JOBQ_EINVAL, "priority %d is not a priority",
                            (int)priority);
    size_t stride = 0;
    if (capacity) {
        if (!(stride = run_info_size(out[0].version)))
            return jq_core_fail(c, JOBQ_EVERSION,
                                "jobq_run_info version %u is not supported "
                                "(1..%d)",
                                out[0].version, JOBQ_RUN_INFO_VERSION);
    }
    jq_namespace *n = jq_core_namespace(c, ns, false);
    if (!n)
        return jq_core_fail(c, JOBQ_ENOTFOUND, "no queue in namespace '%s'",
                            ns);
    const jq_queue *q = &n->queue[priority];
    if (out_total)
        *out_total = q->runs.length;
    size_t count = 0;
    const jq_run *run = capacity ? jq_queue_run_at(q, offset) : NULL;
    for (; run && count < capacity; run = run->next, count++) {
        jobq_run_info *info = (jobq_run_info *)((char *)out + count * stride);
        jq_core_run_info_at(c, info, run, offset + count);
    }
    if (out_count)
        *out_count = count;
    return 0;
}

JOBQ_API int jobq_queue_runs(jobq_scheduler *s, const char *ns,
                             jobq_priority priority, uint64_t offset,
                             jobq_run_info *out, size_t capacity,
                             size_t *out_count, uint64_t *out_total)
{
    ENTER(s);
    if (out_count)
        *out_count = 0;
    if (out_total)
        *out_total = 0;
    int rc =
        read_page(s, ns, priority, offset, out, capacity, out_count, out_total);
    return LEAVE(s, rc);
}

static int list_queues(jobq_scheduler *s, unsigned version,
                       jobq_queue_info **out, size_t *out_count)
{
    jq_core *c = &s->core;
    if (!out || !out_count)
        return jq_core_fail(c, JOBQ_EINVAL,
                            "out and out_count must not be NULL");
    size_t stride = queue_info_size(version);
    if (!stride)
        return jq_core_fail(c, JOBQ_EVERSION,
                            "jobq_queue_info version %u "
                            "is not supported (1..%d)",
                            version, JOBQ_QUEUE_INFO_VERSION);
    size_t count = c->ns_count * JQ_PRIORITIES;
    if (count == 0)
        return 0;
    char *array = calloc(count, stride);
    if (!array)
        return jq_core_fail(c, JOBQ_ENOMEM, "out of memory listing queues");
    size_t i = 0;
    for (size_t k = 0; k < c->ns_count; k++) {
        const jq_namespace *n = c->ns_order[k];
        for (int p = 0; p < JQ_PRIORITIES; p++, i++) {
            jobq_queue_info *info = (jobq_queue_info *)(array + i * stride);
            const jq_list *runs = &n->queue[p].runs;
            info->version = version;
            snprintf(info->ns, sizeof info->ns, "%s", n->name);
            info->priority = (jobq_priority)p;
            info->length = runs->length;
            info->head = runs->first ? runs->first->id : 0;
        }
    }
    *out = (jobq_queue_info *)array;
    *out_count = count;
    return 0;
}

JOBQ_API int jobq_queues(jobq_scheduler *s, unsigned version,
                         jobq_queue_info **out, size_t *out_count)
{
    ENTER(s);
    if (out)
        *out = NULL;
    if (out_count)
        *out_count = 0;
    int rc = list_queues(s, version, out, out_count);
    return LEAVE(s, rc);
}
