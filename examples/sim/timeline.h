/*
 * The mock cluster's own timeline: when each live run ends, as a binary
 * min-heap on (end time, deployment number). The simulator learns which
 * runs finished at a step by popping the heap instead of asking about every
 * live run, and finds the next time anything ends at its top. Entries of
 * runs stopped early (cancelled) stay in the heap and are skipped when they
 * surface: the deployment number tells a live entry from a stale one.
 */
#ifndef SIM_TIMELINE_H
#define SIM_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jobq/jobq.h>

typedef struct sim_timeline_entry {
    jobq_time_ms end;
    uint64_t deployment; /* the cluster's deployment counter at deploy */
    size_t run;          /* scenario index */
} sim_timeline_entry;

typedef struct sim_timeline {
    sim_timeline_entry *heap;
    size_t count, capacity;
} sim_timeline;

/* False on allocation failure (nothing added). */
bool sim_timeline_push(sim_timeline *t, sim_timeline_entry e);
/* The earliest entry, or NULL when empty. */
const sim_timeline_entry *sim_timeline_top(const sim_timeline *t);
void sim_timeline_pop(sim_timeline *t);
void sim_timeline_free(sim_timeline *t);

#endif
