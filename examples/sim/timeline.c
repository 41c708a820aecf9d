/* The end-time heap of the mock cluster's live runs; see timeline.h. */
#include "timeline.h"

#include <stdlib.h>

static bool before(const sim_timeline_entry *a, const sim_timeline_entry *b)
{
    return a->end < b->end ||
           (a->end == b->end && a->deployment < b->deployment);
}

bool sim_timeline_push(sim_timeline *t, sim_timeline_entry e)
{
    if (t->count == t->capacity) {
        size_t cap = t->capacity ? t->capacity * 2 : 256;
        sim_timeline_entry *bigger = realloc(t->heap, cap * sizeof *bigger);
        if (!bigger)
            return false;
        t->heap = bigger;
        t->capacity = cap;
    }
    size_t i = t->count++;
    while (i > 0 && before(&e, &t->heap[(i - 1) / 2])) {
        t->heap[i] = t->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    t->heap[i] = e;
    return true;
}

const sim_timeline_entry *sim_timeline_top(const sim_timeline *t)
{
    return t->count ? &t->heap[0] : NULL;
}

void sim_timeline_pop(sim_timeline *t)
{
    if (t->count == 0)
        return;
    sim_timeline_entry last = t->heap[--t->count];
    size_t i = 0, n = t->count;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && before(&t->heap[child + 1], &t->heap[child]))
            child++;
        if (!before(&t->heap[child], &last))
            break;
        t->heap[i] = t->heap[child];
        i = child;
    }
    if (n)
        t->heap[i] = last;
}

void sim_timeline_free(sim_timeline *t)
{
    free(t->heap);
    t->heap = NULL;
    t->count = t->capacity = 0;
}
