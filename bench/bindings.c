/*
 * The bindings benchmark, C side: the workload that bench/bindings.py and
 * bench/bindings-go/main.go repeat through the Python and Go bindings, so
 * that bench/bench_bindings.sh can put the three side by side.
 *
 *   bench-bindings [RUNS]      (default 20000)
 *
 * Workload (in memory, 8 namespaces x 2 priorities = 16 jobs, unlimited
 * quota, batchSize 20, a no-op deployer; every host is a callback):
 *   submit  RUNS single submissions with default options;
 *   batch   RUNS submissions in batches of 1000 (a fresh scheduler);
 *   tick    200 scheduling cycles over the batch's queues, each probing
 *           the 8 namespaces and deploying 20 runs, 1 s apart;
 *   onebatch  RUNS submissions in a single batch (its cost must be linear
 *           in its size: this is batch's rate at batch size RUNS).
 * Each is measured 3 times (fresh schedulers); prints the medians, one
 * "name wall-rate cpu-rate" line each, in operations per second of wall
 * time and of the process's CPU time (the steadier figure on a shared,
 * loaded machine).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <jobq/jobq.h>

#define NAMESPACES 8
#define JOBS (NAMESPACES * 2)
#define BATCH 1000
#define TICKS 200
#define REPEAT 3

static char job_names[JOBS][32];

static int read_quota(void *ctx, const char *ns, jobq_resources *hard,
                      jobq_resources *used)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        hard->amount[d] = JOBQ_UNLIMITED;
        used->amount[d] = 0;
    }
    return 0;
}

static int deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                  size_t cap)
{
    return 0;
}

static double seconds_of(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A stopwatch on both clocks: wall and the process's CPU time. */
typedef struct {
    double wall, cpu;
} stopwatch;

static stopwatch started(void)
{
    return (stopwatch){seconds_of(CLOCK_MONOTONIC),
                       seconds_of(CLOCK_PROCESS_CPUTIME_ID)};
}

/* ops per second since sw, on both clocks. */
static stopwatch rates(stopwatch sw, double ops)
{
    return (stopwatch){ops / (seconds_of(CLOCK_MONOTONIC) - sw.wall),
                       ops / (seconds_of(CLOCK_PROCESS_CPUTIME_ID) - sw.cpu)};
}

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", what, jobq_strerror(rc));
        exit(1);
    }
}

static jobq_scheduler *open_scheduler(void)
{
    static const jobq_probe probe = {JOBQ_PROBE_VERSION, NULL, read_quota};
    static const jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, NULL, deploy,
                                           NULL, NULL};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.probe = &probe;
    opts.deployer = &deployer;
    opts.config_json = "{\"services\":{\"jobOrchestrator\":{\"settings\":"
                       "{\"batchSize\":20}}}}";
    jobq_scheduler *s = NULL;
    char err[256];
    if (jobq_open(&s, &opts, err, sizeof err) != 0) {
        fprintf(stderr, "jobq_open: %s\n", err);
        exit(1);
    }
    for (int j = 0; j < JOBS; j++) {
        char ns[16];
        snprintf(ns, sizeof ns, "ns-%d", j / 2);
        jobq_job_def def = JOBQ_JOB_DEF_INIT;
        def.name = job_names[j];
        def.ns = ns;
        def.priority = (jobq_priority)(j % 2);
        def.request.amount[JOBQ_RESOURCE_CPU] = 1000;
        check(jobq_job_define(s, &def), "jobq_job_define");
    }
    return s;
}

static stopwatch submit_rate(long runs)
{
    jobq_scheduler *s = open_scheduler();
    stopwatch t0 = started();
    for (long i = 0; i < runs; i++) {
        jobq_run_id id;
        check(jobq_run_submit(s, &id, job_names[i % JOBS], NULL), "submit");
    }
    stopwatch rate = rates(t0, (double)runs);
    jobq_close(s);
    return rate;
}

/* Fills s with runs in batches; returns the rate. */
static stopwatch batch_submit(jobq_scheduler *s, long runs)
{
    static const char *jobs[BATCH];
    static jobq_submit_opts opts[BATCH];
    static jobq_run_id ids[BATCH];
    stopwatch t0 = started();
    for (long done = 0; done < runs; done += BATCH) {
        size_t n = runs - done < BATCH ? (size_t)(runs - done) : BATCH;
        for (size_t i = 0; i < n; i++) {
            jobs[i] = job_names[(done + i) % JOBS];
            opts[i] = (jobq_submit_opts)JOBQ_SUBMIT_OPTS_INIT;
        }
        check(jobq_run_submit_batch(s, ids, jobs, opts, n), "batch");
    }
    return rates(t0, (double)runs);
}

static stopwatch one_batch_rate(long runs)
{
    jobq_scheduler *s = open_scheduler();
    const char **jobs = calloc((size_t)runs, sizeof *jobs);
    jobq_submit_opts *opts = calloc((size_t)runs, sizeof *opts);
    jobq_run_id *ids = calloc((size_t)runs, sizeof *ids);
    if (!jobs || !opts || !ids)
        exit(1);
    stopwatch t0 = started();
    for (long i = 0; i < runs; i++) {
        jobs[i] = job_names[i % JOBS];
        opts[i] = (jobq_submit_opts)JOBQ_SUBMIT_OPTS_INIT;
    }
    check(jobq_run_submit_batch(s, ids, jobs, opts, (size_t)runs), "batch");
    stopwatch rate = rates(t0, (double)runs);
    free(jobs);
    free(opts);
    free(ids);
    jobq_close(s);
    return rate;
}

static stopwatch batch_rate(long runs)
{
    jobq_scheduler *s = open_scheduler();
    stopwatch rate = batch_submit(s, runs);
    jobq_close(s);
    return rate;
}

static stopwatch tick_rate(long runs)
{
    jobq_scheduler *s = open_scheduler();
    batch_submit(s, runs);
    jobq_time_ms now = 1000;
    jobq_tick_stats st = JOBQ_TICK_STATS_INIT;
    check(jobq_tick(s, now, &st), "tick"); /* first cycle: set-up */
    stopwatch t0 = started();
    for (int t = 0; t < TICKS; t++) {
        now += 1000;
        check(jobq_tick(s, now, &st), "tick");
        if (st.deployed != 20) {
            fprintf(stderr, "tick %d deployed %u runs, expected 20\n", t,
                    st.deployed);
            exit(1);
        }
    }
    stopwatch rate = rates(t0, TICKS);
    jobq_close(s);
    return rate;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Prints "name wall cpu": the median of REPEAT measures on each clock. */
static void report(const char *name, stopwatch (*measure)(long), long runs)
{
    double wall[REPEAT], cpu[REPEAT];
    for (int i = 0; i < REPEAT; i++) {
        stopwatch r = measure(runs);
        wall[i] = r.wall;
        cpu[i] = r.cpu;
    }
    qsort(wall, REPEAT, sizeof wall[0], compare_double);
    qsort(cpu, REPEAT, sizeof cpu[0], compare_double);
    printf("%s %.0f %.0f\n", name, wall[REPEAT / 2], cpu[REPEAT / 2]);
}

int main(int argc, char **argv)
{
    long runs = argc > 1 ? atol(argv[1]) : 20000;
    if (runs < (long)TICKS * 20 + 20) {
        fprintf(stderr, "bench-bindings: need at least %d runs\n", TICKS * 20 + 20);
        return 2;
    }
    for (int j = 0; j < JOBS; j++)
        snprintf(job_names[j], sizeof job_names[j], "job-%d-%d", j / 2, j % 2);
    report("submit", submit_rate, runs);
    report("batch", batch_rate, runs);
    report("tick", tick_rate, runs);
    report("onebatch", one_batch_rate, runs);
    return 0;
}
