/*
 * The crash test's victim: a scheduler host that submits runs and ticks as
 * fast as it can against a real database file until it is killed with
 * SIGKILL (by crash_test.c, at a random moment).
 *
 *   crash-writer DIR SEED [--drain]
 *
 * With --drain it only opens the database and ticks until no request from
 * the outside submitters (crash_submitter.c) is pending, then exits 0: the
 * harness runs it once at the end, after the submitters were stopped.
 *
 * It keeps two append-only logs next to the database, each line written
 * with one write() on an O_APPEND descriptor and fsync'd before going on:
 *
 *   DIR/acks.log     "A <key> <id>": submit with idempotency key k<key>
 *                    returned run <id> (the submit was acknowledged)
 *   DIR/deploys.log  "D <id> <namespace> <priority>": the deployer was asked
 *                    to launch run <id>. The deployer does not deduplicate:
 *                    a second deploy of the same run would show here.
 *
 * Odd seeds run with JOBQ_DURABILITY_NORMAL, even ones with FULL: a process
 * crash must lose nothing either way (NORMAL only risks the last commits on
 * power loss), and NORMAL's faster commits put more kills inside SQLite's
 * own work rather than in fsync waits.
 *
 * On start it reads deploys.log to know what "exists in the cluster" (poll
 * answers GONE for anything else, so a run a crash left DEPLOYING before
 * the deploy call goes back to its queue), and acks.log to continue with
 * the next key. It resubmits the key after the last acknowledged one: if
 * that submit committed before the kill, the idempotency key must return
 * the same run rather than create a second.
 */
#define _GNU_SOURCE /* prctl */
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobq/jobq.h"

#define MAX_DEPLOYED 1000000

static char *deployed;     /* deployed[id] != 0: launched */
static int deploys_fd = -1;
static int acks_fd = -1;

static void append_line(int fd, const char *line)
{
    size_t n = strlen(line);
    if (write(fd, line, n) != (ssize_t)n || fsync(fd) != 0) {
        perror("crash-writer: log");
        exit(3);
    }
}

static int deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                  size_t cap)
{
    char line[128];
    snprintf(line, sizeof line, "D %" PRIu64 " %s %d\n", req->run_id,
             req->ns, (int)req->priority);
    append_line(deploys_fd, line);
    if (req->run_id < MAX_DEPLOYED)
        deployed[req->run_id] = 1;
    return 0;
}

static int poll_run(void *ctx, jobq_run_id id, jobq_poll_status *status,
                    char *msg, size_t cap)
{
    if (id >= MAX_DEPLOYED || !deployed[id])
        *status = JOBQ_POLL_GONE;
    else
        *status = rand() % 3 == 0 ? JOBQ_POLL_FINISHED : JOBQ_POLL_RUNNING;
    return 0;
}

static int open_log(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(path);
        exit(3);
    }
    return fd;
}

/* The deploys so far, and the first key not acknowledged yet. */
static uint64_t read_history(const char *dir)
{
    char path[512], line[256];
    snprintf(path, sizeof path, "%s/deploys.log", dir);
    FILE *f = fopen(path, "r");
    unsigned long long id, key, last_key = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "D %llu", &id) == 1 && id < MAX_DEPLOYED)
            deployed[id] = 1;
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s/acks.log", dir);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "A %llu %llu", &key, &id) == 2 && key > last_key)
            last_key = key;
    if (f)
        fclose(f);
    return last_key + 1;
}

static void define_jobs(jobq_scheduler *s)
{
    for (int i = 0; i < 6; i++) {
        char name[16], ns[16];
        snprintf(name, sizeof name, "job-%d", i);
        snprintf(ns, sizeof ns, "ns-%d", i / 2);
        jobq_job_def def = JOBQ_JOB_DEF_INIT;
        def.name = name;
        def.ns = ns;
        def.priority = i % 2 ? JOBQ_PRIORITY_NORMAL : JOBQ_PRIORITY_HIGH;
        def.request.amount[JOBQ_RESOURCE_CPU] = 500;
        def.payload = "payload";
        def.payload_len = 7;
        if (jobq_job_define(s, &def) != 0)
            exit(4);
    }
}

static void acknowledge(uint64_t key, jobq_run_id id)
{
    char line[96];
    snprintf(line, sizeof line, "A %" PRIu64 " %" PRIu64 "\n", key, id);
    append_line(acks_fd, line);
}

/* Submit keys [*key, *key + count) in one batch, then acknowledge them;
 * with_cycle: in a cycle's transaction (jobq_tick_batch). */
static void submit(jobq_scheduler *s, uint64_t *key, size_t count,
                   bool with_cycle)
{
    const char *jobs[8];
    jobq_submit_opts opts[8];
    char keys[8][32];
    jobq_run_id ids[8];
    for (size_t i = 0; i < count; i++) {
        jobs[i] = (const char *[]){"job-0", "job-1", "job-2", "job-3",
                                   "job-4", "job-5"}[rand() % 6];
        jobq_submit_opts_init(&opts[i], JOBQ_SUBMIT_OPTS_VERSION);
        snprintf(keys[i], sizeof keys[i], "k%" PRIu64, *key + i);
        opts[i].idempotency_key = keys[i];
        opts[i].run_name = keys[i];
    }
    int rc;
    if (with_cycle) {
        jobq_tick_input in = JOBQ_TICK_INPUT_INIT;
        in.submit_count = count;
        in.submit_jobs = jobs;
        in.submit_opts = opts;
        in.submit_ids = ids;
        rc = jobq_tick_batch(s, JOBQ_TIME_NOW, &in, NULL);
    } else
        rc = count == 1 ? jobq_run_submit(s, &ids[0], jobs[0], &opts[0])
                        : jobq_run_submit_batch(s, ids, jobs, opts, count);
    if (rc != 0)
        exit(5);
    for (size_t i = 0; i < count; i++)
        acknowledge(*key + i, ids[i]);
    *key += count;
}

int main(int argc, char **argv)
{
    bool drain = argc == 4 && strcmp(argv[3], "--drain") == 0;
    if (argc != 3 && !drain) {
        fprintf(stderr, "usage: crash-writer DIR SEED [--drain]\n");
        return 2;
    }
    /* Never outlive the harness (it may itself be interrupted). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        return 7;
    unsigned seed = (unsigned)strtoul(argv[2], NULL, 10);
    srand(seed);
    deployed = calloc(MAX_DEPLOYED, 1);
    if (!deployed)
        return 3;
    uint64_t key = read_history(argv[1]);
    deploys_fd = open_log(argv[1], "deploys.log");
    acks_fd = open_log(argv[1], "acks.log");
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/jobq.db", argv[1]);
    jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, NULL, deploy, NULL,
                              poll_run};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = path;
    opts.deployer = &deployer;
    opts.durability = seed % 2 ? JOBQ_DURABILITY_NORMAL : JOBQ_DURABILITY_FULL;
    opts.config_json = "{\"services\":{\"jobOrchestrator\":{\"settings\":"
                       "{\"batchSize\":4}}}}";
    jobq_scheduler *s = NULL;
    if (jobq_open(&s, &opts, err, sizeof err) != 0) {
        fprintf(stderr, "crash-writer: %s\n", err);
        return 1;
    }
    define_jobs(s);
    for (int i = 0; drain && i < 100000; i++) {
        bool pending = true;
        if (jobq_tick(s, JOBQ_TIME_NOW, NULL) != 0 ||
            jobq_requests_pending(s, &pending) != 0)
            return 6;
        if (!pending) {
            jobq_close(s);
            return 0;
        }
    }
    if (drain)
        return 8;
    for (;;) {
        int dice = rand() % 10;
        if (dice < 5)
            submit(s, &key, 1, false);
        else if (dice < 6)
            submit(s, &key, 1 + (size_t)(rand() % 8), rand() % 2);
        else if (jobq_tick(s, JOBQ_TIME_NOW, NULL) != 0)
            return 6;
    }
}
