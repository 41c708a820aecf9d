/*
 * bench-reopen: how long reopening a database with N queued runs takes,
 * and how much memory the rebuilt queues cost per run.
 *
 *   bench-reopen [--runs N] [--repeat R] [--keep] [FILE]
 *
 * Creates FILE (default: a temporary file) with N queued runs (default
 * 1,000,000) spread over 8 namespaces x 2 priorities, each with a run name
 * like a real host's ("nightly-etl-2026-11-29-000123"), unless FILE already
 * holds them. Then reopens it R times (default 5), each time in a fresh
 * child process so that no allocator cache is reused, and reports the
 * median and the range of the open time (jobq_open() to return, the
 * rebuild included) and of the resident-memory growth across jobq_open(),
 * per queued run. Targets (issue 3): under 1 s, under 200 bytes per run.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jobq/jobq.h"

#define NAMESPACES 8
#define BATCH 10000

typedef struct sample {
    double seconds;
    double cpu_seconds; /* user + system: what the open costs, whatever
                           else the machine is running */
    long rss_delta_kb;
    uint64_t queued;
} sample;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
           usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static int fail(jobq_scheduler *s, const char *what)
{
    char msg[512] = "";
    if (s)
        jobq_errmsg(s, msg, sizeof msg);
    fprintf(stderr, "bench-reopen: %s: %s\n", what, msg);
    return 1;
}

static int define_jobs(jobq_scheduler *s, char names[][32])
{
    for (int i = 0; i < NAMESPACES * 2; i++) {
        char ns[32];
        snprintf(names[i], 32, "job-%02d", i);
        snprintf(ns, sizeof ns, "team-%d", i / 2);
        jobq_job_def def = JOBQ_JOB_DEF_INIT;
        def.name = names[i];
        def.ns = ns;
        def.priority = i % 2 ? JOBQ_PRIORITY_NORMAL : JOBQ_PRIORITY_HIGH;
        def.request.amount[JOBQ_RESOURCE_CPU] = 1000;
        def.request.amount[JOBQ_RESOURCE_MEMORY] = (int64_t)4 << 30;
        def.payload = "apiVersion: sparkoperator.k8s.io/v1beta2";
        def.payload_len = strlen(def.payload);
        if (jobq_job_define(s, &def) != 0)
            return -1;
    }
    return 0;
}

static int submit_batch(jobq_scheduler *s, char names[][32], uint64_t first,
                        size_t count)
{
    static const char *jobs[BATCH];
    static jobq_submit_opts opts[BATCH];
    static char run_names[BATCH][40];
    for (size_t i = 0; i < count; i++) {
        uint64_t n = first + i;
        jobs[i] = names[n % (NAMESPACES * 2)];
        jobq_submit_opts_init(&opts[i], JOBQ_SUBMIT_OPTS_VERSION);
        snprintf(run_names[i], sizeof run_names[i],
                 "nightly-etl-2026-11-29-%06llu", (unsigned long long)n);
        opts[i].run_name = run_names[i];
    }
    return jobq_run_submit_batch(s, NULL, jobs, opts, count);
}

static int create(const char *path, uint64_t runs)
{
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = path;
    opts.durability = JOBQ_DURABILITY_NORMAL;
    char err[512];
    jobq_scheduler *s = NULL;
    if (jobq_open(&s, &opts, err, sizeof err) != 0) {
        fprintf(stderr, "bench-reopen: %s\n", err);
        return 1;
    }
    char names[NAMESPACES * 2][32];
    if (define_jobs(s, names) != 0)
        return fail(s, "defining jobs");
    for (uint64_t done = 0; done < runs; done += BATCH) {
        size_t count = runs - done < BATCH ? (size_t)(runs - done) : BATCH;
        if (submit_batch(s, names, done, count) != 0)
            return fail(s, "submitting");
    }
    jobq_close(s);
    return 0;
}

/* In a child: open, measure, report through the pipe. */
static void measure(const char *path, int fd)
{
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = path;
    char err[512];
    jobq_scheduler *s = NULL;
    sample out = {0};
    long before = rss_kb();
    double start = now_seconds(), cpu_start = cpu_seconds();
    if (jobq_open(&s, &opts, err, sizeof err) != 0) {
        fprintf(stderr, "bench-reopen: %s\n", err);
        _exit(1);
    }
    out.seconds = now_seconds() - start;
    out.cpu_seconds = cpu_seconds() - cpu_start;
    out.rss_delta_kb = rss_kb() - before;
    /* How many runs are queued (from the database, after measuring). */
    jobq_run_filter f = JOBQ_RUN_FILTER_INIT;
    f.state = JOBQ_RUN_QUEUED;
    jobq_run_id *ids = NULL;
    size_t count = 0;
    if (jobq_run_list(s, &ids, &count, &f) == 0)
        out.queued = count;
    jobq_free(ids);
    jobq_close(s);
    if (write(fd, &out, sizeof out) != (ssize_t)sizeof out)
        _exit(1);
    _exit(0);
}

static int run_child(const char *path, sample *out)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        measure(path, fds[1]);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], out, sizeof *out);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return n == (ssize_t)sizeof *out && WIFEXITED(status) &&
                   WEXITSTATUS(status) == 0
               ? 0
               : -1;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const sample *samples, int repeat)
{
    double seconds[64], cpu[64], bytes[64];
    for (int i = 0; i < repeat; i++) {
        seconds[i] = samples[i].seconds;
        cpu[i] = samples[i].cpu_seconds;
        bytes[i] = samples[i].rss_delta_kb * 1024.0 / samples[i].queued;
    }
    qsort(seconds, repeat, sizeof *seconds, compare_double);
    qsort(cpu, repeat, sizeof *cpu, compare_double);
    qsort(bytes, repeat, sizeof *bytes, compare_double);
    printf("queued runs:        %llu\n",
           (unsigned long long)samples[0].queued);
    printf("reopen time:        median %.3f s (min %.3f, max %.3f, %d runs)"
           "  target < 1 s\n", seconds[repeat / 2], seconds[0],
           seconds[repeat - 1], repeat);
    printf("reopen CPU time:    median %.3f s (min %.3f, max %.3f)\n",
           cpu[repeat / 2], cpu[0], cpu[repeat - 1]);
    printf("memory per run:     median %.1f bytes (min %.1f, max %.1f)"
           "  target < 200\n", bytes[repeat / 2], bytes[0],
           bytes[repeat - 1]);
}

int main(int argc, char **argv)
{
    uint64_t runs = 1000000;
    int repeat = 5;
    bool keep = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--keep") == 0)
            keep = true;
        else if (argv[i][0] != '-')
            path = argv[i];
        else {
            fprintf(stderr, "usage: bench-reopen [--runs N] [--repeat R] "
                    "[--keep] [FILE]\n");
            return 2;
        }
    }
    if (repeat < 1 || repeat > 64 || runs == 0) {
        fprintf(stderr, "bench-reopen: --repeat 1..64, --runs > 0\n");
        return 2;
    }
    char tmp[] = "/tmp/jobq-bench-reopen-XXXXXX";
    char file[64];
    if (!path) {
        if (!mkdtemp(tmp))
            return 1;
        snprintf(file, sizeof file, "%s/bench.db", tmp);
        path = file;
    }
    if (access(path, F_OK) != 0) {
        double start = now_seconds();
        /* In a child, so that the measurements start from a clean heap. */
        pid_t pid = fork();
        if (pid == 0)
            _exit(create(path, runs));
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            return 1;
        printf("created %s with %llu runs in %.1f s\n", path,
               (unsigned long long)runs, now_seconds() - start);
    }
    sample samples[64];
    for (int i = 0; i < repeat; i++)
        if (run_child(path, &samples[i]) != 0) {
            fprintf(stderr, "bench-reopen: a measurement failed\n");
            return 1;
        }
    report(samples, repeat);
    if (!keep && path == file) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}
