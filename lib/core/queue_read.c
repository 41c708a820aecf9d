/*
 * Reading one queue in order without walking it from the head: the queues
 * are doubly linked with a count, so the run at any offset is reached from
 * the nearer end. A page of a queue then costs the walk to its first run
 * plus its own length, and each run's position is known from the walk
 * (jq_core_run_info_at) instead of being searched for again.
 */
#include "core.h"

const jq_run *jq_queue_run_at(const jq_queue *q, uint64_t offset)
{
    uint64_t length = q->runs.length;
    if (offset >= length)
        return NULL;
    const jq_run *run;
    if (offset <= (length - 1) / 2) {
        run = q->runs.first;
        for (uint64_t i = 0; i < offset; i++)
            run = run->next;
    } else {
        run = q->runs.last;
        for (uint64_t i = length - 1; i > offset; i--)
            run = run->prev;
    }
    return run;
}
