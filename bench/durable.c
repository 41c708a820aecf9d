/*
 * bench-durable: the durable-throughput targets of issue 11, on the public
 * API, each as a subcommand (bench/run-all.sh runs them all, under strace
 * for the fsync counts, and prints a table):
 *
 *   bench-durable batch [N [B]]        submit N runs (default 200,000) in
 *                                      batches of B (10,000) with FULL:
 *                                      runs/s (target >= 200,000)
 *   bench-durable concurrent T [N]     T threads submit N runs in all
 *                                      (default 4,000) one at a time with
 *                                      FULL: runs/s; group commit should
 *                                      make fsyncs per run fall as T grows
 *   bench-durable e2e [N]              N runs (default 1,000,000) submit ->
 *                                      admit -> finish with FULL, batches
 *                                      of 10,000 per cycle, the host
 *                                      reporting finished runs (no poll):
 *                                      runs/s (target >= 50,000)
 *   bench-durable latency [SECONDS]    a deployer that sleeps 30 ms per
 *                                      call, batchSize 20, cycles back to
 *                                      back on one thread; another thread
 *                                      submits one run every 2 ms: submit
 *                                      latency p50/p99/max (target p99 <=
 *                                      5 ms)
 *
 * e2e hands each cycle's new and ended runs to jobq_tick_batch();
 * --separate-calls uses jobq_run_submit_batch(), jobq_run_report_batch()
 * and jobq_tick() instead (three transactions a cycle).
 * Each prints one line "name: key=value ...". --normal uses
 * JOBQ_DURABILITY_NORMAL instead of FULL. Databases are temporary files.
 * Wall-clock figures; no assertion (benchmarks never fail on timing).
 */
#define _DEFAULT_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobq/jobq.h"

static jobq_durability durability = JOBQ_DURABILITY_FULL;
/* e2e: submit and report with their own calls, not jobq_tick_batch(). */
static bool separate_calls;
static char db_path[64];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void remove_db(void)
{
    const char *suffix[] = {"", "-wal", "-shm", "-lock"};
    for (int i = 0; i < 4; i++) {
        char p[96];
        snprintf(p, sizeof p, "%s%s", db_path, suffix[i]);
        unlink(p);
    }
}

static void fail(jobq_scheduler *s, const char *what, int rc)
{
    char msg[512] = "";
    if (s)
        jobq_errmsg(s, msg, sizeof msg);
    fprintf(stderr, "bench-durable: %s: %s (%s)\n", what, jobq_strerror(rc),
            msg);
    remove_db();
    exit(1);
}

/* A fresh database with one job "j" in namespace "ns". */
static jobq_scheduler *open_fresh(const jobq_deployer *deployer,
                                  const char *config)
{
    snprintf(db_path, sizeof db_path, "/tmp/jobq-bench-durable-XXXXXX");
    int fd = mkstemp(db_path);
    if (fd < 0)
        exit(1);
    close(fd);
    remove_db();
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = db_path;
    opts.durability = durability;
    opts.deployer = deployer;
    opts.config_json = config;
    jobq_scheduler *s = NULL;
    char err[256];
    int rc = jobq_open(&s, &opts, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "bench-durable: open: %s\n", err);
        exit(1);
    }
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = "j";
    def.ns = "ns";
    def.request.amount[JOBQ_RESOURCE_CPU] = 1000;
    if ((rc = jobq_job_define(s, &def)) != 0)
        fail(s, "define", rc);
    return s;
}

static void close_db(jobq_scheduler *s)
{
    jobq_close(s);
    remove_db();
}

/* ------------------------------------------------------------- batch */

static int bench_batch(size_t n, size_t b)
{
    jobq_scheduler *s = open_fresh(NULL, NULL);
    const char **jobs = malloc(b * sizeof *jobs);
    for (size_t i = 0; i < b; i++)
        jobs[i] = "j";
    double t0 = now_s();
    for (size_t done = 0; done < n; done += b) {
        size_t k = n - done < b ? n - done : b;
        int rc = jobq_run_submit_batch(s, NULL, jobs, NULL, k);
        if (rc != 0)
            fail(s, "submit batch", rc);
    }
    double dt = now_s() - t0;
    printf("batch: runs=%zu batch=%zu seconds=%.3f runs_per_s=%.0f\n", n, b, dt,
           (double)n / dt);
    free(jobs);
    close_db(s);
    return 0;
}

/* -------------------------------------------------------- concurrent */

typedef struct submitter {
    jobq_scheduler *s;
    size_t count;
} submitter;

static void *submit_loop(void *arg)
{
    submitter *w = arg;
    for (size_t i = 0; i < w->count; i++) {
        int rc = jobq_run_submit(w->s, NULL, "j", NULL);
        if (rc != 0)
            fail(w->s, "submit", rc);
    }
    return NULL;
}

static int bench_concurrent(int threads, size_t n)
{
    jobq_scheduler *s = open_fresh(NULL, NULL);
    pthread_t tid[256];
    submitter w[256];
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        w[i] = (submitter){s, n / (size_t)threads};
        pthread_create(&tid[i], NULL, submit_loop, &w[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    double dt = now_s() - t0;
    size_t total = n / (size_t)threads * (size_t)threads;
    printf("concurrent: threads=%d runs=%zu seconds=%.3f runs_per_s=%.0f\n",
           threads, total, dt, (double)total / dt);
    close_db(s);
    return 0;
}

/* --------------------------------------------------------------- e2e */

/* The cluster: runs launched by the last cycle, reported finished before
 * the next one (a host learning of them from a watch). */
typedef struct cluster {
    jobq_run_id *launched;
    size_t count, capacity;
    unsigned sleep_us; /* per deploy call (latency bench) */
} cluster;

static int cluster_deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                          size_t cap)
{
    cluster *c = ctx;
    if (c->sleep_us)
        usleep(c->sleep_us);
    if (c->count == c->capacity) {
        c->capacity = c->capacity ? c->capacity * 2 : 1024;
        c->launched = realloc(c->launched, c->capacity * sizeof *c->launched);
        if (!c->launched) {
            snprintf(msg, cap, "out of memory");
            return -1;
        }
    }
    c->launched[c->count++] = req->run_id;
    return 0;
}

/* The cluster keeps every run it launched until it is reported: a poll
 * can answer for any run (the library writes a cycle's deployments ahead
 * in one commit only for a deployer that can). */
static int cluster_poll(void *ctx, jobq_run_id id, jobq_poll_status *status,
                        char *msg, size_t cap)
{
    (void)ctx, (void)id, (void)msg, (void)cap;
    *status = JOBQ_POLL_RUNNING;
    return 0;
}

static int bench_e2e(size_t n)
{
    enum { PER_CYCLE = 10000 };
    cluster c = {0};
    jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, &c, cluster_deploy, NULL,
                              cluster_poll};
    jobq_scheduler *s = open_fresh(
        &deployer, "{\"services\":{\"jobOrchestrator\":{\"settings\":"
                   "{\"batchSize\":10000}}}}");
    const char **jobs = malloc(PER_CYCLE * sizeof *jobs);
    jobq_run_state *states = malloc(PER_CYCLE * 2 * sizeof *states);
    jobq_run_id *finished = malloc(PER_CYCLE * 2 * sizeof *finished);
    for (size_t i = 0; i < PER_CYCLE; i++)
        jobs[i] = "j";
    for (size_t i = 0; i < PER_CYCLE * 2; i++)
        states[i] = JOBQ_RUN_FINISHED;
    size_t submitted = 0, ended = 0;
    uint64_t cycles = 0;
    double t0 = now_s();
    while (ended < n) {
        size_t k = n - submitted < PER_CYCLE ? n - submitted : PER_CYCLE;
        /* What the last cycle launched has finished by now. */
        size_t m = c.count;
        memcpy(finished, c.launched, m * sizeof *finished);
        c.count = 0;
        int rc;
        if (separate_calls) {
            if (k && (rc = jobq_run_submit_batch(s, NULL, jobs, NULL, k)))
                fail(s, "submit batch", rc);
            if (m &&
                (rc = jobq_run_report_batch(s, finished, states, NULL, m)))
                fail(s, "report", rc);
            rc = jobq_tick(s, JOBQ_TIME_NOW, NULL);
        } else {
            /* The new runs and the ended ones in the cycle's commits. */
            jobq_tick_input in = JOBQ_TICK_INPUT_INIT;
            in.submit_count = k;
            in.submit_jobs = jobs;
            in.report_count = m;
            in.report_ids = finished;
            in.report_states = states;
            rc = jobq_tick_batch(s, JOBQ_TIME_NOW, &in, NULL);
        }
        if (rc != 0)
            fail(s, "tick", rc);
        submitted += k;
        ended += m;
        cycles++;
    }
    double dt = now_s() - t0;
    printf("e2e: runs=%zu cycles=%" PRIu64 " seconds=%.3f runs_per_s=%.0f\n", n,
           cycles, dt, (double)n / dt);
    free(jobs);
    free(states);
    free(finished);
    free(c.launched);
    close_db(s);
    return 0;
}

/* ----------------------------------------------------------- latency */

typedef struct latency_run {
    jobq_scheduler *s;
    atomic_bool stop;
    double *samples;
    size_t count, capacity;
    uint64_t cycles;
} latency_run;

static void *ticker(void *arg)
{
    latency_run *l = arg;
    while (!atomic_load(&l->stop)) {
        int rc = jobq_tick(l->s, JOBQ_TIME_NOW, NULL);
        if (rc != 0)
            fail(l->s, "tick", rc);
        l->cycles++;
    }
    return NULL;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench_latency(double seconds)
{
    cluster c = {.sleep_us = 30000};
    jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, &c, cluster_deploy, NULL,
                              NULL};
    jobq_scheduler *s = open_fresh(
        &deployer, "{\"services\":{\"jobOrchestrator\":{\"settings\":"
                   "{\"batchSize\":20}}}}");
    /* Enough queued work that every cycle deploys a full batch. */
    const char *jobs[1000];
    for (int i = 0; i < 1000; i++)
        jobs[i] = "j";
    for (int i = 0; i < 20; i++)
        if (jobq_run_submit_batch(s, NULL, jobs, NULL, 1000) != 0)
            fail(s, "prefill", -1);
    latency_run l = {.s = s};
    l.capacity = (size_t)(seconds * 1000) + 16;
    l.samples = malloc(l.capacity * sizeof *l.samples);
    pthread_t tid;
    pthread_create(&tid, NULL, ticker, &l);
    double end = now_s() + seconds;
    while (now_s() < end && l.count < l.capacity) {
        double t0 = now_s();
        int rc = jobq_run_submit(s, NULL, "j", NULL);
        if (rc != 0)
            fail(s, "submit", rc);
        l.samples[l.count++] = (now_s() - t0) * 1000.0;
        usleep(2000);
    }
    atomic_store(&l.stop, true);
    pthread_join(tid, NULL);
    qsort(l.samples, l.count, sizeof *l.samples, compare_double);
    size_t p50 = l.count / 2, p99 = (l.count * 99 + 99) / 100 - 1;
    printf("latency: submits=%zu cycles=%" PRIu64 " p50_ms=%.2f "
           "p99_ms=%.2f max_ms=%.2f\n",
           l.count, l.cycles, l.samples[p50],
           l.samples[p99 < l.count ? p99 : l.count - 1],
           l.samples[l.count - 1]);
    free(l.samples);
    free(c.launched);
    close_db(s);
    return 0;
}

int main(int argc, char **argv)
{
    int a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (strcmp(argv[a], "--normal") == 0)
            durability = JOBQ_DURABILITY_NORMAL;
        else if (strcmp(argv[a], "--separate-calls") == 0)
            separate_calls = true;
        else
            break;
    }
    if (a >= argc) {
        fprintf(stderr, "usage: bench-durable [--normal] [--separate-calls] "
                        "batch [N [B]] | "
                        "concurrent T [N] | e2e [N] | latency [SECONDS]\n");
        return 2;
    }
    const char *cmd = argv[a];
    const char *x = a + 1 < argc ? argv[a + 1] : NULL;
    const char *y = a + 2 < argc ? argv[a + 2] : NULL;
    if (strcmp(cmd, "batch") == 0)
        return bench_batch(x ? strtoul(x, NULL, 10) : 200000,
                           y ? strtoul(y, NULL, 10) : 10000);
    if (strcmp(cmd, "concurrent") == 0 && x) {
        int t = atoi(x);
        if (t < 1 || t > 256)
            return 2;
        return bench_concurrent(t, y ? strtoul(y, NULL, 10) : 4000);
    }
    if (strcmp(cmd, "e2e") == 0)
        return bench_e2e(x ? strtoul(x, NULL, 10) : 1000000);
    if (strcmp(cmd, "latency") == 0)
        return bench_latency(x ? atof(x) : 10.0);
    fprintf(stderr, "bench-durable: unknown command %s\n", cmd);
    return 2;
}
