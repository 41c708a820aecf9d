/* Intrusive run lists; see queue.h. */
#include "queue.h"

#include <stddef.h>

#include "core.h"

void jq_list_push_back(jq_list *list, jq_run *run)
{
    run->prev = list->last;
    run->next = NULL;
    if (list->last)
        list->last->next = run;
    else
        list->first = run;
    list->last = run;
    list->length++;
}

void jq_list_remove(jq_list *list, jq_run *run)
{
    if (run->prev)
        run->prev->next = run->next;
    else
        list->first = run->next;
    if (run->next)
        run->next->prev = run->prev;
    else
        list->last = run->prev;
    run->prev = run->next = NULL;
    list->length--;
}

void jq_list_insert_by_seq(jq_list *list, jq_run *run)
{
    jq_run *after = NULL;
    jq_run *before = list->first;
    while (before && before->id < run->id) {
        after = before;
        before = before->next;
    }
    run->prev = after;
    run->next = before;
    if (after)
        after->next = run;
    else
        list->first = run;
    if (before)
        before->prev = run;
    else
        list->last = run;
    list->length++;
}

uint64_t jq_list_position(const jq_list *list, const jq_run *run)
{
    /* From both ends at once: a run near either end (the head, or one just
     * submitted) is found at once, and no walk is longer than half. */
    const jq_run *forward = list->first, *backward = list->last;
    for (uint64_t steps = 0; forward && backward; steps++) {
        if (forward == run)
            return steps;
        if (backward == run)
            return list->length - 1 - steps;
        forward = forward->next;
        backward = backward->prev;
    }
    return list->length;
}
