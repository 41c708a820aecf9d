/*
 * jobq_run_report_batch(): many finished runs in one call, one commit, all
 * or nothing. The fixture: a virtual clock, unlimited quota, a deployer
 * without poll (the host reports), an event log, and a database file so
 * that the single commit and the persisted outcome can be checked.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobq/jobq.h"
#include "scheduler.h"
#include "store/store_internal.h"
#include "test_util.h"

typedef struct fixture {
    jobq_scheduler *s;
    jobq_time_ms now;
    char path[64];
    jobq_event_type types[64];
    jobq_run_id runs[64];
    int nevents;
} fixture;

static fixture *F;

static jobq_time_ms fake_now(void *ctx)
{
    return ((fixture *)ctx)->now;
}

static int fake_deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                       size_t cap)
{
    (void)ctx, (void)req, (void)msg, (void)cap;
    return 0;
}

static void on_event(void *ctx, const jobq_event *ev)
{
    fixture *f = ctx;
    if (f->nevents < 64) {
        f->types[f->nevents] = ev->type;
        f->runs[f->nevents++] = ev->run;
    }
}

static void open_db(void)
{
    jobq_clock clock = {JOBQ_CLOCK_VERSION, F, fake_now};
    jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, F, fake_deploy, NULL,
                              NULL};
    jobq_event_sink sink = {JOBQ_EVENT_SINK_VERSION, F, on_event};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.clock = &clock;
    opts.deployer = &deployer;
    opts.events = &sink;
    opts.db_path = F->path;
    char err[256];
    ck_assert_msg(jobq_open(&F->s, &opts, err, sizeof err) == 0, "%s", err);
}

/* Three runs of one job, deployed by a first cycle. */
static void setup(jobq_run_id ids[3])
{
    F = calloc(1, sizeof *F);
    tu_db_path(F->path, sizeof F->path, "report-batch");
    open_db();
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = "j";
    def.ns = "ns";
    ck_assert_int_eq(jobq_job_define(F->s, &def), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(jobq_run_submit(F->s, &ids[i], "j", NULL), 0);
    ck_assert_int_eq(jobq_tick(F->s, JOBQ_TIME_NOW, NULL), 0);
    F->nevents = 0;
    F->now = 5000;
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


START_TEST(reports_every_run_in_one_commit)
{
    jobq_run_id ids[3];
    setup(ids);
    uint64_t commits = F->s->store->commits;
    jobq_run_id order[3] = {ids[2], ids[0], ids[1]};
    jobq_run_state states[3] = {JOBQ_RUN_FINISHED, JOBQ_RUN_FAILED,
                                JOBQ_RUN_FINISHED};
    const char *details[3] = {NULL, "OOMKilled", ""};
    ck_assert_int_eq(jobq_run_report_batch(F->s, order, states, details, 3), 0);
    ck_assert_uint_eq(F->s->store->commits, commits + 1);
    /* Events in array order, at the call's time. */
    ck_assert_int_eq(F->nevents, 3);
    ck_assert_uint_eq(F->runs[0], ids[2]);
    ck_assert_int_eq(F->types[0], JOBQ_EVENT_FINISHED);
    ck_assert_uint_eq(F->runs[1], ids[0]);
    ck_assert_int_eq(F->types[1], JOBQ_EVENT_FAILED);
    ck_assert_uint_eq(F->runs[2], ids[1]);
    jobq_run_info a = tu_run_info(F->s, ids[0]);
    ck_assert_int_eq(a.state, JOBQ_RUN_FAILED);
    ck_assert_str_eq(a.detail, "OOMKilled");
    ck_assert_int_eq(a.ended_at, 5000);
    /* Durable: a reopened handle sees the same outcome. */
    jobq_close(F->s);
    open_db();
    ck_assert_int_eq(tu_run_info(F->s, ids[0]).state, JOBQ_RUN_FAILED);
    ck_assert_int_eq(tu_run_info(F->s, ids[1]).state, JOBQ_RUN_FINISHED);
    ck_assert_int_eq(tu_run_info(F->s, ids[2]).state, JOBQ_RUN_FINISHED);
}
END_TEST

/* One bad entry anywhere: nothing changes, the message names it. */
static void refused(jobq_run_id *list, jobq_run_state *states, size_t n,
                    int code, const char *fragment)
{
    uint64_t commits = F->s->store->commits;
    F->nevents = 0;
    ck_assert_int_eq(jobq_run_report_batch(F->s, list, states, NULL, n), code);
    char msg[512];
    jobq_errmsg(F->s, msg, sizeof msg);
    ck_assert_msg(strstr(msg, fragment), "message \"%s\" lacks \"%s\"", msg,
                  fragment);
    ck_assert_int_eq(F->nevents, 0);
    ck_assert_uint_eq(F->s->store->commits, commits);
}

START_TEST(a_bad_entry_changes_nothing)
{
    jobq_run_id ids[3];
    setup(ids);
    jobq_run_state fin[3] = {JOBQ_RUN_FINISHED, JOBQ_RUN_FINISHED,
                             JOBQ_RUN_FINISHED};
    jobq_run_id twice[3] = {ids[0], ids[1], ids[0]};
    refused(twice, fin, 3, JOBQ_EINVAL, "reported twice");
    jobq_run_id unknown[2] = {ids[0], 999};
    refused(unknown, fin, 2, JOBQ_ENOTFOUND, "runs[1]");
    jobq_run_state bad[2] = {JOBQ_RUN_FINISHED, JOBQ_RUN_QUEUED};
    refused(ids, bad, 2, JOBQ_EINVAL, "runs[1]");
    /* A run that already ended (on disk only by now). */
    ck_assert_int_eq(jobq_run_report(F->s, ids[2], JOBQ_RUN_FINISHED, NULL), 0);
    refused(ids, fin, 3, JOBQ_ESTATE, "runs[2]");
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(tu_run_info(F->s, ids[i]).state, JOBQ_RUN_RUNNING);
    ck_assert_int_eq(jobq_run_report_batch(F->s, NULL, NULL, NULL, 0), 0);
    ck_assert_int_eq(jobq_run_report_batch(F->s, NULL, fin, NULL, 1),
                     JOBQ_EINVAL);
    ck_assert_int_eq(jobq_run_report_batch(NULL, ids, fin, NULL, 1),
                     JOBQ_EINVAL);
}
END_TEST

START_TEST(a_queued_run_is_refused)
{
    jobq_run_id ids[3], queued;
    setup(ids);
    ck_assert_int_eq(jobq_run_submit(F->s, &queued, "j", NULL), 0);
    jobq_run_id list[2] = {ids[0], queued};
    jobq_run_state fin[2] = {JOBQ_RUN_FINISHED, JOBQ_RUN_FINISHED};
    refused(list, fin, 2, JOBQ_ESTATE, "not running");
    ck_assert_int_eq(tu_run_info(F->s, ids[0]).state, JOBQ_RUN_RUNNING);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *s = suite_create("report_batch");
    TCase *tc = tcase_create("report_batch");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, reports_every_run_in_one_commit);
    tcase_add_test(tc, a_bad_entry_changes_nothing);
    tcase_add_test(tc, a_queued_run_is_refused);
    suite_add_tcase(s, tc);
    return s;
}
