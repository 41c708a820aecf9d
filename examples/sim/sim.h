/*
 * jobq-sim's shared state: the scenario, the mock cluster it drives, and
 * what the output needs to know about each run. cluster.c implements the
 * cluster side (clock, probe, deployer), output.c the event stream and the
 * summary, main.c the command line and the virtual-time loop.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdio.h>

#include <jobq/jobq.h>

#include "scenario.h"

typedef struct sim_run_state {
    jobq_run_id id;           /* the library's durable id, 0 until submitted */
    jobq_time_ms deployed_at; /* -1 unless running on the mock cluster */
    int stale_left;           /* quota rejections still to hand out */
    size_t running_slot;      /* index in sim.running while deployed */
    char *end_detail;         /* why a cancelled or failed run ended */
} sim_run_state;

typedef struct sim_priority_stats {
    uint64_t submitted, deployed, finished, failed, cancelled, rescheduled;
    uint64_t blocked, head_timeout_retries;
    jobq_time_ms *waits; /* wait of each deployment, ms */
    size_t wait_count, wait_capacity;
} sim_priority_stats;

typedef struct simulation {
    sim_scenario sc;
    jobq_scheduler *sched;
    jobq_time_ms now;
    /* The mock cluster. */
    jobq_resources *used; /* per namespace: requests of live runs */
    jobq_resources *hard; /* per namespace, after quota changes */
    sim_run_state *state; /* per scenario run */
    size_t *running;      /* scenario indexes of live runs */
    size_t running_count;
    jobq_run_id first_id; /* ids are first_id + submission position */
    size_t submitted;
    /* Output. */
    FILE *out;
    uint64_t events_in_step;
    size_t ended_count;
    sim_priority_stats stats[2];
    const char *error; /* set by a callback that hit an impossible state */
} simulation;

/* cluster.c */
void sim_cluster_vtables(simulation *sim, jobq_clock *clock, jobq_probe *probe,
                         jobq_deployer *deployer);
/* The scenario index of a library run id, or (size_t)-1. */
size_t sim_run_index(const simulation *sim, jobq_run_id id);
/* Earliest time a live run finishes, or JOBQ_NO_DEADLINE. */
jobq_time_ms sim_cluster_next_finish(const simulation *sim);

/* output.c */
void sim_on_event(void *payload, const jobq_event *event);
void sim_write_summary(simulation *sim);
void sim_write_text_summary(simulation *sim, FILE *out);
void sim_stats_free(simulation *sim);

#endif
