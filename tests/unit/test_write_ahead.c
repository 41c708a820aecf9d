/*
 * Write-ahead per cycle (issue 11, lib/core/cycle.c): a cycle makes the
 * DEPLOYING records of all the runs it deploys durable in one commit before
 * the first deploy call, and records the outcomes in one more; a refused
 * deployment voids the rest of the plan, which is planned again from there
 * (one more commit), with exactly the outcome of deploying one at a time
 * (SPEC 2.4, 2.5).
 *
 * The fixture: a database file, a virtual clock, unlimited quota, strict
 * priority (high share 100%) and a deployer that refuses chosen runs on
 * quota and, at every call, reads the file through its own connection:
 * which runs are DEPLOYING there, and how many commits the handle made so
 * far.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobq/jobq.h"
#include "scheduler.h"
#include "store/store_internal.h"
#include "test_util.h"

#define MAX_CALLS 16

typedef struct fixture {
    jobq_scheduler *s;
    jobq_time_ms now;
    char path[64];
    jobq_run_id refuse; /* refused on quota; 0: none */
    bool no_poll;       /* a deployer without poll */
    jobq_run_id calls[MAX_CALLS];
    int deploying_on_disk[MAX_CALLS]; /* DEPLOYING rows at each call */
    uint64_t commits_at_call[MAX_CALLS];
    int ncalls;
} fixture;

static fixture *F;

static jobq_time_ms fake_now(void *ctx)
{
    return ((fixture *)ctx)->now;
}

static int count_state(int state)
{
    return tu_db_count_state(F->path, state);
}

static int fake_deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                       size_t cap)
{
    fixture *f = ctx;
    ck_assert_int_lt(f->ncalls, MAX_CALLS);
    f->calls[f->ncalls] = req->run_id;
    f->deploying_on_disk[f->ncalls] = count_state(JOBQ_RUN_DEPLOYING);
    f->commits_at_call[f->ncalls] = f->s->store->commits;
    f->ncalls++;
    if (req->run_id == f->refuse) {
        snprintf(msg, cap, "exceeded quota: test");
        return JOBQ_DEPLOY_QUOTA_REJECTED;
    }
    return 0;
}

/* The fake cluster answers for every run it was asked to deploy. */
static int fake_poll(void *ctx, jobq_run_id id, jobq_poll_status *status,
                     char *msg, size_t cap)
{
    fixture *f = ctx;
    (void)msg, (void)cap;
    *status = JOBQ_POLL_GONE;
    for (int i = 0; i < f->ncalls; i++)
        if (f->calls[i] == id && id != f->refuse)
            *status = JOBQ_POLL_RUNNING;
    return 0;
}

static void setup_with(bool no_poll);

static void setup(void)
{
    setup_with(false);
}

static void setup_with(bool no_poll)
{
    F = calloc(1, sizeof *F);
    tu_db_path(F->path, sizeof F->path, "write-ahead");
    F->no_poll = no_poll;
    jobq_clock clock = {JOBQ_CLOCK_VERSION, F, fake_now};
    jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, F, fake_deploy, NULL,
                              no_poll ? NULL : fake_poll};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.clock = &clock;
    opts.deployer = &deployer;
    opts.db_path = F->path;
    opts.config_json =
        "{\"services\":{\"jobOrchestrator\":{\"settings\":{"
        "\"batchSize\":10}}},\"systemProperties\":{"
        "\"job-orchestrator.queue.high.scheduling-share-percentage\":100}}";
    char err[256];
    ck_assert_msg(jobq_open(&F->s, &opts, err, sizeof err) == 0, "%s", err);
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = "hi";
    def.ns = "ns";
    def.priority = JOBQ_PRIORITY_HIGH;
    ck_assert_int_eq(jobq_job_define(F->s, &def), 0);
    def.name = "lo";
    def.priority = JOBQ_PRIORITY_NORMAL;
    ck_assert_int_eq(jobq_job_define(F->s, &def), 0);
    F->now = 1000;
}

static void teardown(void)
{
    if (!F)
        return;
    jobq_close(F->s);
    tu_db_remove(F->path);
    free(F);
    F = NULL;
}


/* Five runs, one cycle: one commit before the first deploy call holds all
 * five DEPLOYING records, one after the last records them RUNNING. */
START_TEST(one_commit_before_all_deploys)
{
    setup();
    jobq_run_id ids[5];
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(jobq_run_submit(F->s, &ids[i], "hi", NULL), 0);
    uint64_t before = F->s->store->commits;
    jobq_tick_stats st = JOBQ_TICK_STATS_INIT;
    ck_assert_int_eq(jobq_tick(F->s, F->now, &st), 0);
    ck_assert_uint_eq(st.deployed, 5);
    ck_assert_int_eq(F->ncalls, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_uint_eq(F->calls[i], ids[i]); /* queue order */
        ck_assert_int_eq(F->deploying_on_disk[i], 5);
        ck_assert_uint_eq(F->commits_at_call[i], before + 1);
    }
    ck_assert_uint_eq(F->s->store->commits, before + 2);
    ck_assert_int_eq(count_state(JOBQ_RUN_RUNNING), 5);
    for (int i = 0; i < 5; i++) {
        jobq_run_info info = tu_run_info(F->s, ids[i]);
        ck_assert_int_eq(info.state, JOBQ_RUN_RUNNING);
        ck_assert_uint_eq(info.deploy_attempts, 1);
    }
    /* An idle cycle commits nothing. */
    before = F->s->store->commits;
    ck_assert_int_eq(jobq_tick(F->s, F->now + 1000, NULL), 0);
    ck_assert_uint_eq(F->s->store->commits, before);
}
END_TEST

/* A deployer without poll cannot tell, after a crash, a planned run it
 * was never asked to deploy from one it launched (reopening takes
 * DEPLOYING as deployed): the cycle then writes one run ahead at a time. */
START_TEST(without_poll_one_run_ahead_at_a_time)
{
    setup_with(true);
    jobq_run_id ids[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(jobq_run_submit(F->s, &ids[i], "hi", NULL), 0);
    uint64_t before = F->s->store->commits;
    jobq_tick_stats st = JOBQ_TICK_STATS_INIT;
    ck_assert_int_eq(jobq_tick(F->s, F->now, &st), 0);
    ck_assert_uint_eq(st.deployed, 4);
    ck_assert_int_eq(F->ncalls, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_uint_eq(F->calls[i], ids[i]);
        ck_assert_int_eq(F->deploying_on_disk[i], 1);
        ck_assert_uint_eq(F->commits_at_call[i], before + 1 + (uint64_t)i);
    }
    ck_assert_int_eq(count_state(JOBQ_RUN_RUNNING), 4);
}
END_TEST

/* High a, b, c and normal x, y; strict priority; the cluster refuses b.
 * One at a time: a deployed; b refused (rescheduled, its queue sits out);
 * c never tried (nothing overtakes the head); then x and y. The plan of
 * all five is void after b: c's record goes back to QUEUED, x and y are
 * planned again in one more commit. */
START_TEST(a_refusal_plans_again_from_there)
{
    setup();
    jobq_run_id a, b, c, x, y;
    ck_assert_int_eq(jobq_run_submit(F->s, &a, "hi", NULL), 0);
    ck_assert_int_eq(jobq_run_submit(F->s, &b, "hi", NULL), 0);
    ck_assert_int_eq(jobq_run_submit(F->s, &c, "hi", NULL), 0);
    ck_assert_int_eq(jobq_run_submit(F->s, &x, "lo", NULL), 0);
    ck_assert_int_eq(jobq_run_submit(F->s, &y, "lo", NULL), 0);
    F->refuse = b;
    uint64_t before = F->s->store->commits;
    jobq_tick_stats st = JOBQ_TICK_STATS_INIT;
    ck_assert_int_eq(jobq_tick(F->s, F->now, &st), 0);
    ck_assert_uint_eq(st.deployed, 3);
    ck_assert_uint_eq(st.rescheduled, 1);
    jobq_run_id expect[4] = {a, b, x, y};
    ck_assert_int_eq(F->ncalls, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(F->calls[i], expect[i]);
    /* The first plan: all five DEPLOYING before a's and b's calls. */
    ck_assert_int_eq(F->deploying_on_disk[0], 5);
    ck_assert_uint_eq(F->commits_at_call[0], before + 1);
    ck_assert_uint_eq(F->commits_at_call[1], before + 1);
    /* The second: a RUNNING, b and c QUEUED again, x and y DEPLOYING. */
    ck_assert_int_eq(F->deploying_on_disk[2], 2);
    ck_assert_uint_eq(F->commits_at_call[2], before + 2);
    ck_assert_uint_eq(F->commits_at_call[3], before + 2);
    ck_assert_uint_eq(F->s->store->commits, before + 3);
    /* What one-at-a-time deployment leaves, in memory and on disk. */
    ck_assert_int_eq(count_state(JOBQ_RUN_DEPLOYING), 0);
    ck_assert_int_eq(count_state(JOBQ_RUN_RUNNING), 3);
    ck_assert_int_eq(count_state(JOBQ_RUN_QUEUED), 2);
    jobq_run_info ib = tu_run_info(F->s, b), ic = tu_run_info(F->s, c);
    ck_assert_int_eq(ib.state, JOBQ_RUN_QUEUED);
    ck_assert_uint_eq(ib.deploy_attempts, 0);
    ck_assert_int_eq(ic.state, JOBQ_RUN_QUEUED);
    ck_assert_uint_eq(ic.deploy_attempts, 0);
    ck_assert_int_eq(tu_run_info(F->s, x).state, JOBQ_RUN_RUNNING);
    /* The same after reopening: no run left DEPLOYING, b still first. */
    jobq_close(F->s);
    F->s = NULL;
    jobq_clock clock = {JOBQ_CLOCK_VERSION, F, fake_now};
    jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, F, fake_deploy, NULL,
                              fake_poll};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.clock = &clock;
    opts.deployer = &deployer;
    opts.db_path = F->path;
    char err[256];
    ck_assert_msg(jobq_open(&F->s, &opts, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(tu_run_info(F->s, c).state, JOBQ_RUN_QUEUED);
    F->refuse = 0;
    F->ncalls = 0;
    F->now += 2000; /* past b's backoff */
    ck_assert_int_eq(jobq_tick(F->s, F->now, NULL), 0);
    ck_assert_int_eq(F->ncalls, 2);
    ck_assert_uint_eq(F->calls[0], b);
    ck_assert_uint_eq(F->calls[1], c);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *s = suite_create("write_ahead");
    TCase *tc = tcase_create("write_ahead");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, one_commit_before_all_deploys);
    tcase_add_test(tc, a_refusal_plans_again_from_there);
    tcase_add_test(tc, without_poll_one_run_ahead_at_a_time);
    suite_add_tcase(s, tc);
    return s;
}
