/*
 * Benchmarks of the in-memory scheduler (no database): how submission and a
 * scheduling cycle scale with queue depth, and what a queued run costs in
 * memory. The claim under test is that a cycle's cost does not grow with
 * the depth of the queues: only heads, deployed runs and the runs deployed
 * are touched.
 *
 *   bench_core [MAX_DEPTH]     (default 1000000)
 *
 * Prints one line per depth: submit rate, median cycle time over repeated
 * cycles that each deploy a full batch, and resident memory per queued run.
 * Wall-clock numbers are measurements for the write-up (bench/README.md),
 * never assertions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jobq/jobq.h>

#define NAMESPACES 8
#define CYCLES 101

static jobq_time_ms virtual_now;

static jobq_time_ms clock_now(void *ctx)
{
    return virtual_now;
}

/* Unlimited quota: every head fits, so each cycle deploys a full batch. */
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

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long resident_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static jobq_scheduler *open_scheduler(void)
{
    jobq_clock clock = {JOBQ_CLOCK_VERSION, NULL, clock_now};
    jobq_probe probe = {JOBQ_PROBE_VERSION, NULL, read_quota};
    /* No poll: deployed runs stay deployed, so reconcile costs nothing and
     * the cycle measured is admission over deep queues. */
    jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, NULL, deploy, NULL, NULL};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.clock = &clock;
    opts.probe = &probe;
    opts.deployer = &deployer;
    opts.config_json = "{\"services\":{\"jobOrchestrator\":{\"settings\":"
                       "{\"batchSize\":20,\"jobRunCleanup\":{\"enabled\":false}}}}}";
    jobq_scheduler *s = NULL;
    char err[256];
    if (jobq_open(&s, &opts, err, sizeof err) != 0) {
        fprintf(stderr, "jobq_open: %s\n", err);
        exit(1);
    }
    for (int n = 0; n < NAMESPACES; n++) {
        for (int p = 0; p < 2; p++) {
            char name[32], ns[16];
            snprintf(name, sizeof name, "job-%d-%d", n, p);
            snprintf(ns, sizeof ns, "ns-%d", n);
            jobq_job_def def = JOBQ_JOB_DEF_INIT;
            def.name = name;
            def.ns = ns;
            def.priority = (jobq_priority)p;
            def.request.amount[JOBQ_RESOURCE_CPU] = 1000;
            if (jobq_job_define(s, &def) != 0)
                exit(1);
        }
    }
    return s;
}

static void measure(long depth)
{
    long before = resident_bytes();
    jobq_scheduler *s = open_scheduler();
    double start = seconds_now();
    for (long i = 0; i < depth; i++) {
        char name[32];
        snprintf(name, sizeof name, "job-%ld-%ld", i % NAMESPACES,
                 (i / NAMESPACES) % 2);
        if (jobq_run_submit(s, NULL, name, NULL) != 0)
            exit(1);
    }
    double submit_seconds = seconds_now() - start;
    long after = resident_bytes();

    double cycle[CYCLES];
    for (int c = 0; c < CYCLES; c++) {
        virtual_now += 1000;
        double t0 = seconds_now();
        jobq_tick_stats st = JOBQ_TICK_STATS_INIT;
        jobq_tick(s, JOBQ_TIME_NOW, &st);
        cycle[c] = seconds_now() - t0;
        if (st.deployed != 20 && depth >= 20 * CYCLES) {
            fprintf(stderr, "cycle deployed %u, expected 20\n", st.deployed);
            exit(1);
        }
    }
    qsort(cycle, CYCLES, sizeof cycle[0], compare_double);
    printf("%9ld queued  submit %8.0f runs/s  cycle p50 %7.1f us  p99 %7.1f us"
           "  %5.0f bytes/queued run\n",
           depth, depth / (submit_seconds > 0 ? submit_seconds : 1e-9),
           cycle[CYCLES / 2] * 1e6, cycle[CYCLES * 99 / 100] * 1e6,
           depth ? (double)(after - before) / (double)depth : 0.0);
    jobq_close(s);
}

int main(int argc, char **argv)
{
    long max_depth = argc > 1 ? atol(argv[1]) : 1000000;
    printf("libjobq %s, in-memory scheduler, %d namespaces x 2 priorities, "
           "batch 20\n", jobq_version(), NAMESPACES);
    for (long depth = 1000; depth <= max_depth; depth *= 10)
        measure(depth);
    return 0;
}
