/*
 * The crash test's outside submitter: a process that submits runs through
 * the database (a client handle, jobq_open_client) while crash-writer, the
 * scheduling process, is killed with SIGKILL again and again.
 *
 *   crash-submitter DIR ID
 *
 * Each submit (a run with idempotency key "s<ID>-<n>", now and then a batch
 * of several) is written as a request, enqueue-only: jobq_run_submit
 * returns once the request is durable (FULL durability). Only then is it
 * acknowledged, one fsync'd line per request in DIR/requests-<ID>.log:
 *
 *   "R <first n> <count> <request id>"
 *
 * The checker (crash_test.c) holds the scheduler to every acknowledged
 * request: still pending with no run of its keys, or applied once with
 * its outcome recorded. Runs until killed; waits for the database to
 * exist first (the writer creates it).
 */
#define _GNU_SOURCE /* prctl */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "jobq/jobq.h"

static void pause_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* The next n after the last acknowledged one (a restart continues). */
static uint64_t next_number(const char *log_path)
{
    FILE *f = fopen(log_path, "r");
    char line[128];
    unsigned long long first, count, id, next = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "R %llu %llu %llu", &first, &count, &id) == 3 &&
            first + count > next)
            next = first + count;
    if (f)
        fclose(f);
    return next;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: crash-submitter DIR ID\n");
        return 2;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        return 7;
    int me = atoi(argv[2]);
    srand((unsigned)me * 7919u + (unsigned)time(NULL));
    char db[512], log_path[512];
    snprintf(db, sizeof db, "%s/jobq.db", argv[1]);
    snprintf(log_path, sizeof log_path, "%s/requests-%d.log", argv[1], me);
    uint64_t n = next_number(log_path);
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                      0600);
    if (log_fd < 0)
        return 3;
    jobq_client_opts opts = JOBQ_CLIENT_OPTS_INIT;
    opts.wait_timeout_ms = 0; /* enqueue only: the scheduler dies a lot */
    opts.busy_timeout_ms = 30000;
    jobq_scheduler *c = NULL;
    char err[256];
    /* The writer creates the file (and its schema) on its first run. */
    while (jobq_open_client(&c, db, &opts, err, sizeof err) != 0)
        pause_ms(10);
    static const char *const jobs[] = {"job-0", "job-1", "job-2",
                                       "job-3", "job-4", "job-5"};
    for (;;) {
        size_t count = rand() % 8 == 0 ? 1 + (size_t)(rand() % 5) : 1;
        const char *names[5];
        jobq_submit_opts so[5];
        char keys[5][40];
        for (size_t i = 0; i < count; i++) {
            names[i] = jobs[rand() % 6];
            jobq_submit_opts_init(&so[i], JOBQ_SUBMIT_OPTS_VERSION);
            snprintf(keys[i], sizeof keys[i], "s%d-%" PRIu64, me, n + i);
            so[i].idempotency_key = keys[i];
            so[i].run_name = keys[i];
        }
        int rc = count == 1 ? jobq_run_submit(c, NULL, names[0], &so[0])
                            : jobq_run_submit_batch(c, NULL, names, so, count);
        jobq_request_id id = 0;
        if (rc != 0 || jobq_request_last(c, &id) != 0) {
            jobq_errmsg(c, err, sizeof err);
            fprintf(stderr, "crash-submitter %d: %s\n", me, err);
            /* Not acknowledged (say, busy for too long); its keys are
             * not used again, in case it was written after all. */
            n += count;
            pause_ms(5);
            continue;
        }
        char line[128];
        int len = snprintf(line, sizeof line, "R %" PRIu64 " %zu %" PRId64
                           "\n", n, count, id);
        if (write(log_fd, line, (size_t)len) != len || fsync(log_fd) != 0)
            return 3;
        n += count;
        pause_ms(5 + rand() % 20); /* leave the writer room to work */
    }
}
