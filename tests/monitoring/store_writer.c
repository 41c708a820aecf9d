/*
 * A small scheduler host that leaves a database in a known, non-trivial
 * state for the jobq-exporter --store test (jobq-sim runs every scenario to
 * its end, so its databases have nothing queued).
 *
 *   store-writer DB            define the jobs, submit, tick once
 *   store-writer DB --more N   open again, submit N more "report" runs
 *   ... --hold                 then print "ready" and keep the database
 *                              open (holding the writer lock) until
 *                              standard input is closed
 *
 * The state after the first form (cpu in cores):
 *
 *   analytics (quota: 4 cpu, 64Gi memory)
 *     high:   etl #1 (3 cpu) deployed, running; etl #2 (3 cpu) queued,
 *             its head blocked on cpu (needs 3, 1 left)
 *     normal: giant (1 cpu, 100Gi) blocked on memory, 2 report runs behind
 *   ml-team (its probe fails: nothing is admitted, nothing is blocked)
 *     high:   3 train runs queued
 *
 * Exit status 0, or 1 with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobq/jobq.h"

#define GIB (1024LL * 1024 * 1024)

static jobq_resources analytics_used;

static int read_quota(void *ctx, const char *ns, jobq_resources *hard,
                      jobq_resources *used)
{
    if (strcmp(ns, "analytics") != 0)
        return -1; /* ml-team: the quota cannot be read */
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        hard->amount[d] = JOBQ_UNLIMITED;
    hard->amount[JOBQ_RESOURCE_CPU] = 4000;
    hard->amount[JOBQ_RESOURCE_MEMORY] = 64 * GIB;
    *used = analytics_used;
    return 0;
}

static int deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                  size_t cap)
{
    if (strcmp(req->ns, "analytics") == 0)
        for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
            analytics_used.amount[d] += req->request.amount[d];
    return 0; /* launched; no poll: the runs stay running */
}

static int fail(jobq_scheduler *s, const char *what, int rc)
{
    char msg[512] = "";
    if (s)
        jobq_errmsg(s, msg, sizeof msg);
    fprintf(stderr, "store-writer: %s: %s (%s)\n", what, msg,
            jobq_errname(rc));
    jobq_close(s);
    return 1;
}

static int define(jobq_scheduler *s, const char *name, const char *domain,
                  const char *ns, jobq_priority priority, int64_t cpu_milli,
                  int64_t memory)
{
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = name;
    def.domain = domain;
    def.ns = ns;
    def.priority = priority;
    def.request.amount[JOBQ_RESOURCE_CPU] = cpu_milli;
    def.request.amount[JOBQ_RESOURCE_MEMORY] = memory;
    def.request.amount[JOBQ_RESOURCE_PODS] = 1;
    return jobq_job_define(s, &def);
}

static int submit(jobq_scheduler *s, const char *job, int count)
{
    for (int i = 0; i < count; i++) {
        int rc = jobq_run_submit(s, NULL, job, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

static int first_state(jobq_scheduler *s)
{
    int rc = define(s, "etl", "warehouse", "analytics", JOBQ_PRIORITY_HIGH,
                    3000, GIB);
    if (!rc)
        rc = define(s, "giant", "warehouse", "analytics",
                    JOBQ_PRIORITY_NORMAL, 1000, 100 * GIB);
    if (!rc)
        rc = define(s, "report", "bi", "analytics", JOBQ_PRIORITY_NORMAL,
                    1000, GIB);
    if (!rc)
        rc = define(s, "train", "ml", "ml-team", JOBQ_PRIORITY_HIGH, 2000,
                    4 * GIB);
    if (!rc)
        rc = submit(s, "etl", 2);
    if (!rc)
        rc = submit(s, "giant", 1);
    if (!rc)
        rc = submit(s, "report", 2);
    if (!rc)
        rc = submit(s, "train", 3);
    if (!rc)
        rc = jobq_tick(s, JOBQ_TIME_NOW, NULL);
    return rc;
}

int main(int argc, char **argv)
{
    int more = -1;
    bool hold = false;
    if (argc < 2) {
        fputs("usage: store-writer DB [--more N] [--hold]\n", stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--more") == 0 && i + 1 < argc)
            more = atoi(argv[++i]);
        else if (strcmp(argv[i], "--hold") == 0)
            hold = true;
        else {
            fprintf(stderr, "store-writer: unexpected %s\n", argv[i]);
            return 2;
        }
    }
    jobq_probe probe = {JOBQ_PROBE_VERSION, NULL, read_quota};
    jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, NULL, deploy, NULL,
                              NULL};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = argv[1];
    opts.probe = &probe;
    opts.deployer = &deployer;
    opts.durability = JOBQ_DURABILITY_NORMAL;
    jobq_scheduler *s = NULL;
    char err[512] = "";
    int rc = jobq_open(&s, &opts, err, sizeof err);
    if (rc) {
        fprintf(stderr, "store-writer: %s (%s)\n", err, jobq_errname(rc));
        return 1;
    }
    rc = more < 0 ? first_state(s) : submit(s, "report", more);
    if (rc)
        return fail(s, more < 0 ? "first state" : "more", rc);
    if (hold) {
        puts("ready");
        fflush(stdout);
        while (getchar() != EOF)
            ;
    }
    jobq_close(s);
    return 0;
}
