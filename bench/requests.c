/*
 * Live control benchmarks (include/jobq/client.h): requests written by
 * other processes and applied by a scheduling process.
 *
 *   bench-requests latency [--requests N] [--tick-ms T] [FILE]
 *       A scheduling process ticks every T ms (default 1000); another
 *       process, 20 threads with a client handle each, writes N (default
 *       1000) submit requests, one after the other per thread at random
 *       moments (0..T ms after the previous outcome), each waited for. Latency of a request =
 *       from its commit (the call returned) to the requester seeing its
 *       outcome, on the requester's monotonic clock (the waiting client
 *       polls PRAGMA data_version every 1..10 ms). Reports p50/p90/p99/max
 *       and how many took longer than one tick.
 *
 *   bench-requests throughput [--requests N] [--tick-ms T] [--wait]
 *                  [--normal] [FILE]
 *       4 client processes each write N (default 500) single-run submit
 *       requests as fast as they can (FULL durability unless --normal;
 *       enqueue-only unless --wait, which waits for each outcome); the
 *       scheduling process ticks every T ms (default 10). Reports runs/s:
 *       all runs, from the first request written to the last one applied.
 *
 *   bench-requests idle [--cycles N] [FILE]
 *       One process: a scheduler on FILE with a client handle open, a
 *       request applied, then N (default 1000) idle cycles between two
 *       marker writes to /dev/null ("idle-start", "idle-end"), so that
 *       `strace -f -e trace=fsync,fdatasync,pwrite64,write` shows what the
 *       idle cycles wrote and fsync'd (bench/idle-fsyncs.sh counts it).
 *
 * The scheduling process is a fork of this one (dry-run deployer, no
 * quota). FILE defaults to a new temporary database.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jobq/jobq.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void die(const char *what, jobq_scheduler *s, int rc)
{
    char msg[512] = "";
    if (s)
        jobq_errmsg(s, msg, sizeof msg);
    fprintf(stderr, "bench-requests: %s: %s (%s)\n", what, jobq_errname(rc),
            msg);
    exit(1);
}

/* The scheduling process: create the database with one job, then tick
 * every tick_ms until killed. Writes "ready" to the pipe once open. */
static pid_t start_scheduler(const char *path, long tick_ms)
{
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(fds[0]);
        jobq_options opts = JOBQ_OPTIONS_INIT;
        opts.db_path = path;
        opts.durability = JOBQ_DURABILITY_NORMAL;
        jobq_scheduler *s = NULL;
        char err[256];
        int rc = jobq_open(&s, &opts, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "bench-requests: %s\n", err);
            _exit(1);
        }
        jobq_job_def def = JOBQ_JOB_DEF_INIT;
        def.name = "etl";
        def.ns = "analytics";
        if ((rc = jobq_job_define(s, &def)) != 0)
            die("define", s, rc);
        if (write(fds[1], "r", 1) != 1)
            _exit(1);
        for (;;) {
            double started = now_s();
            if ((rc = jobq_tick(s, JOBQ_TIME_NOW, NULL)) != 0)
                die("tick", s, rc);
            long left = tick_ms - (long)((now_s() - started) * 1000);
            if (left > 0)
                sleep_ms(left);
        }
    }
    close(fds[1]);
    char c;
    if (read(fds[0], &c, 1) != 1) {
        fprintf(stderr, "bench-requests: the scheduler did not start\n");
        exit(1);
    }
    close(fds[0]);
    return pid;
}

static jobq_scheduler *client(const char *path, int64_t wait_ms,
                              jobq_durability durability)
{
    jobq_client_opts opts = JOBQ_CLIENT_OPTS_INIT;
    opts.wait_timeout_ms = wait_ms;
    opts.durability = durability;
    opts.busy_timeout_ms = 60000;
    jobq_scheduler *c = NULL;
    char err[256];
    int rc = jobq_open_client(&c, path, &opts, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "bench-requests: %s\n", err);
        exit(1);
    }
    return c;
}

static int compare(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* One requester thread of the latency bench: its own client handle,
 * requests one after the other at random moments. */
typedef struct requester {
    pthread_t thread;
    const char *path;
    int n;
    long tick_ms;
    unsigned seed;
    int64_t *lat; /* n entries: ms from the request durable to its outcome
                     seen by the requester */
} requester;

static void *request_loop(void *arg)
{
    requester *r = arg;
    jobq_scheduler *c = client(r->path, 0, JOBQ_DURABILITY_FULL);
    for (int i = 0; i < r->n; i++) {
        /* Uniform over a tick: arrivals fall anywhere between cycles
         * (waiting less would line them up just after each cycle). */
        sleep_ms(rand_r(&r->seed) % r->tick_ms);
        jobq_request_id id = 0;
        int rc = jobq_run_submit(c, NULL, "etl", NULL);
        double written = now_s();
        if (rc != 0 || (rc = jobq_request_last(c, &id)) != 0)
            die("submit", c, rc);
        jobq_request_info info = JOBQ_REQUEST_INFO_INIT;
        if ((rc = jobq_request_wait(c, &info, id, 60000)) != 0 ||
            info.status != 0)
            die("wait", c, rc ? rc : info.status);
        r->lat[i] = (int64_t)((now_s() - written) * 1000);
    }
    jobq_close(c);
    return NULL;
}

static int latency(const char *path, int n, long tick_ms)
{
    enum { THREADS = 20 };
    pid_t sched = start_scheduler(path, tick_ms);
    int64_t *lat = calloc((size_t)n, sizeof *lat);
    requester r[THREADS];
    for (int t = 0; t < THREADS; t++) {
        r[t] = (requester){.path = path, .n = n / THREADS, .tick_ms = tick_ms,
                           .seed = 42u + (unsigned)t,
                           .lat = lat + t * (n / THREADS)};
        pthread_create(&r[t].thread, NULL, request_loop, &r[t]);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(r[t].thread, NULL);
    n = THREADS * (n / THREADS);
    int late = 0;
    for (int i = 0; i < n; i++)
        late += lat[i] > tick_ms;
    qsort(lat, (size_t)n, sizeof *lat, compare);
    printf("latency: %d requests from %d threads of another process, tick "
           "%ld ms: p50 %" PRId64 " ms, p90 %" PRId64 " ms, p99 %" PRId64
           " ms, max %" PRId64 " ms; %d took longer than one tick\n", n,
           THREADS, tick_ms, lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100],
           lat[n - 1], late);
    kill(sched, SIGKILL);
    waitpid(sched, NULL, 0);
    free(lat);
    return 0;
}

static int throughput(const char *path, int n, long tick_ms, bool wait,
                      jobq_durability durability)
{
    enum { CLIENTS = 4 };
    pid_t sched = start_scheduler(path, tick_ms);
    double started = now_s();
    int64_t started_wall = now_ms();
    pid_t kids[CLIENTS];
    for (int k = 0; k < CLIENTS; k++) {
        if ((kids[k] = fork()) == 0) {
            jobq_scheduler *c = client(path, wait ? 60000 : 0, durability);
            for (int i = 0; i < n; i++) {
                jobq_run_id id = 0;
                int rc = jobq_run_submit(c, &id, "etl", NULL);
                if (rc != 0)
                    die("submit", c, rc);
            }
            jobq_close(c);
            _exit(0);
        }
    }
    for (int k = 0; k < CLIENTS; k++) {
        int status = 0;
        waitpid(kids[k], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return 1;
    }
    double written = now_s() - started;
    /* Wait until the last request is applied. */
    jobq_scheduler *c = client(path, 0, durability);
    jobq_request_id *ids = NULL;
    size_t count = 0;
    int rc = jobq_request_list(c, &ids, &count, 1);
    if (rc != 0 || count == 0)
        die("list", c, rc);
    jobq_request_info info = JOBQ_REQUEST_INFO_INIT;
    for (size_t i = 0; i < count; i++)
        if ((rc = jobq_request_wait(c, &info, ids[i], 120000)) != 0)
            die("wait", c, rc);
    jobq_free(ids);
    double total = now_s() - started;
    (void)started_wall;
    printf("throughput: 4 processes x %d requests (%s, %s), tick %ld ms: "
           "written in %.2f s, all applied after %.2f s: %.0f runs/s\n", n,
           wait ? "each waits for its outcome" : "enqueue-only",
           durability == JOBQ_DURABILITY_FULL ? "FULL" : "NORMAL", tick_ms,
           written, total, CLIENTS * n / total);
    jobq_close(c);
    kill(sched, SIGKILL);
    waitpid(sched, NULL, 0);
    return 0;
}

static int idle(const char *path, int cycles)
{
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = path;
    jobq_scheduler *s = NULL;
    char err[256];
    int rc = jobq_open(&s, &opts, err, sizeof err);
    if (rc != 0)
        die("open", NULL, rc);
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = "etl";
    def.ns = "analytics";
    if ((rc = jobq_job_define(s, &def)) != 0)
        die("define", s, rc);
    jobq_scheduler *c = client(path, 0, JOBQ_DURABILITY_FULL);
    if ((rc = jobq_run_submit(c, NULL, "etl", NULL)) != 0)
        die("submit", c, rc);
    for (int i = 0; i < 2; i++)
        if ((rc = jobq_tick(s, JOBQ_TIME_NOW, NULL)) != 0)
            die("tick", s, rc);
    FILE *null = fopen("/dev/null", "w");
    setvbuf(null, NULL, _IONBF, 0);
    fputs("idle-start", null);
    for (int i = 0; i < cycles; i++)
        if ((rc = jobq_tick(s, JOBQ_TIME_NOW, NULL)) != 0)
            die("tick", s, rc);
    fputs("idle-end", null);
    fclose(null);
    printf("idle: %d cycles\n", cycles);
    jobq_close(c);
    jobq_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    bool is_idle = false;
    if (argc > 1 && strcmp(argv[1], "idle") == 0)
        argv[1] = "throughput", is_idle = true;
    if (argc < 2 || (strcmp(argv[1], "latency") && strcmp(argv[1],
                                                          "throughput"))) {
        fprintf(stderr, "usage: bench-requests latency|throughput "
                "[--requests N] [--tick-ms T] [--wait] [--normal] [FILE]\n"
                "       bench-requests idle [--cycles N] [FILE]\n");
        return 2;
    }
    bool is_latency = strcmp(argv[1], "latency") == 0;
    int n = is_latency ? 1000 : 500;
    long tick_ms = is_latency ? 1000 : 10;
    bool wait = false;
    jobq_durability durability = JOBQ_DURABILITY_FULL;
    const char *file = NULL;
    for (int i = 2; i < argc; i++) {
        if ((strcmp(argv[i], "--requests") == 0 ||
             strcmp(argv[i], "--cycles") == 0) && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--tick-ms") == 0 && i + 1 < argc)
            tick_ms = atol(argv[++i]);
        else if (strcmp(argv[i], "--wait") == 0)
            wait = true;
        else if (strcmp(argv[i], "--normal") == 0)
            durability = JOBQ_DURABILITY_NORMAL;
        else
            file = argv[i];
    }
    char dir[] = "/tmp/jobq-bench-requests-XXXXXX", path[128];
    if (!file) {
        if (!mkdtemp(dir))
            return 1;
        snprintf(path, sizeof path, "%s/jobq.db", dir);
        file = path;
    }
    if (is_idle && n == 500)
        n = 1000;
    int rc = is_idle      ? idle(file, n)
             : is_latency ? latency(file, n, tick_ms)
                          : throughput(file, n, tick_ms, wait, durability);
    if (file == path) {
        char cmd[200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            return 1;
    }
    return rc;
}
