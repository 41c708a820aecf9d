/*
 * jobq-sim's shared state: the scenario, the mock cluster it drives, and
 * what the output needs to know about each run. cluster.c implements the
 * cluster side (clock, probe, deployer), engine.c the virtual-time loop one
 * step at a time, output.c the event stream and the summary, report.c the
 * HTML report, main.c the command line. The exporter example
 * (examples/exporter) links the same files to run a scenario in real time.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdio.h>

#include <jobq/jobq.h>

#include "scenario.h"
#include "timeline.h"

typedef struct sim_run_state {
    jobq_run_id id;           /* the library's durable id, 0 until submitted */
    jobq_time_ms deployed_at; /* -1 unless running on the mock cluster */
    int stale_left;           /* quota rejections still to hand out */
    int async_left;           /* the same, reported by poll after deploy */
    bool async_refused;       /* accepted, to be refused at the next poll */
    uint64_t deployment;      /* the cluster's deployment number */
    bool queued;              /* waiting in its queue (for the report) */
    char *end_detail;         /* why a cancelled or failed run ended */
} sim_run_state;

typedef struct sim_priority_stats {
    uint64_t submitted, deployed, finished, failed, cancelled, rescheduled;
    uint64_t blocked, head_timeout_retries;
    jobq_time_ms *waits; /* wait of each deployment, ms */
    size_t wait_count, wait_capacity;
} sim_priority_stats;

typedef struct simulation simulation;

/* Called after every step's scheduling cycle (the report samples there). */
typedef void (*sim_step_fn)(simulation *sim, void *payload);

struct simulation {
    sim_scenario sc;
    jobq_scheduler *sched;
    jobq_time_ms now;
    /* The mock cluster. */
    jobq_resources *used; /* per namespace: requests of live runs */
    __int128 *exact_used; /* the same, per namespace x dimension, unclamped */
    jobq_resources *hard; /* per namespace, after quota changes */
    sim_run_state *state; /* per scenario run */
    sim_timeline timeline; /* when each live run ends */
    uint64_t deployments;  /* deployments so far (numbers them) */
    size_t running_count;  /* live runs */
    sim_timeline_entry *due; /* runs ending at this step (scratch) */
    size_t due_capacity;
    jobq_run_id *report_ids; /* their report (scratch) */
    jobq_run_state *report_states;
    size_t report_capacity;
    jobq_run_id first_id; /* ids are first_id + submission position */
    size_t submitted;
    char **job_names;   /* the library job of each scenario run */
    char **owned_job_names; /* each distinct job name once (owned) */
    size_t owned_count;
    size_t next_change; /* the next quota change to apply */
    /* The arrays of one step's batch submit (grown as needed). */
    const char **batch_jobs;
    jobq_submit_opts *batch_opts;
    jobq_run_id *batch_ids;
    size_t batch_capacity;
    uint64_t (*queued)[2]; /* per namespace and priority: runs queued */
    /* Output: the event stream goes to out (NULL: nowhere). */
    const char *program; /* prefix of error messages: "jobq-sim" */
    const char *db_path; /* --db: persist the scheduler there, or NULL */
    jobq_durability durability; /* --durability (with db_path) */
    uint64_t cycles;     /* scheduling cycles run (jobq_tick calls) */
    FILE *out;
    uint64_t events_in_step;
    size_t ended_count;
    sim_priority_stats stats[2];
    const char *error; /* set by a callback that hit an impossible state */
    sim_step_fn after_step;
    void *after_step_payload;
};

/* engine.c: the virtual-time loop of SPEC section 4. */
enum { SIM_FAILED = -1, SIM_DONE = 0, SIM_MORE = 1 };
/* Parse the scenario, set up the mock cluster, open the scheduler and
 * define the jobs; sim->out, sim->program and sim->after_step are set by
 * the caller first. Returns 0, or 1 with a message on stderr. */
int sim_start(simulation *sim, const char *scenario, size_t len);
/* Run the step at sim->now, then move sim->now on to the next step at
 * which anything can happen. SIM_MORE, SIM_DONE when every run has ended,
 * SIM_FAILED with a message on stderr. */
int sim_step(simulation *sim);
/* Free everything sim_start() set up (safe after a failed start). */
void sim_finish(simulation *sim);
/* A whole file ("-" is stdin), malloc'd; NULL with errno set on failure. */
char *sim_read_file(const char *path, size_t *len);

/* cluster.c */
void sim_cluster_vtables(simulation *sim, jobq_clock *clock, jobq_probe *probe,
                         jobq_deployer *deployer);
/* The scenario index of a library run id, or (size_t)-1. */
size_t sim_run_index(const simulation *sim, jobq_run_id id);
/* Earliest time a live run finishes, or JOBQ_NO_DEADLINE. */
jobq_time_ms sim_cluster_next_finish(simulation *sim);
/* Push instead of poll: end the live runs whose time is up at sim->now on
 * the cluster and put them in sim->report_ids/report_states, in the order
 * they were deployed (the order a poll of every run would find them in),
 * for the step's jobq_tick_batch() to report. 0, or -1 (sim->error). */
int sim_cluster_finish_due(simulation *sim, size_t *out_count);

/* output.c */
void sim_on_event(void *payload, const jobq_event *event);
void sim_write_summary(simulation *sim);
void sim_write_text_summary(simulation *sim, FILE *out);
void sim_stats_free(simulation *sim);
/* Sort each priority's waits (before asking for percentiles). */
void sim_sort_waits(simulation *sim);
/* Nearest-rank percentile of sorted waits (100 = max); -1 when none. */
jobq_time_ms sim_wait_percentile(const sim_priority_stats *st, int pct);
/* "1h02m", "45m10s", "12s" for people; "-" for a negative amount. */
void sim_human_duration(char *buf, size_t cap, jobq_time_ms ms);

/* report.c: the --report HTML page. Samples the mock cluster after every
 * step (pass sim_report_sample as after_step with the report as payload). */
typedef struct sim_report sim_report;
sim_report *sim_report_new(const simulation *sim);
void sim_report_sample(simulation *sim, void *report);
/* Write the page; 0, or -1 when out of memory or on a write error. */
int sim_report_write(sim_report *report, simulation *sim, FILE *out);
void sim_report_free(sim_report *report);

#endif
