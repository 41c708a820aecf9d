/*
 * jobq_tick_batch(): the host's arrivals and ended runs applied in the
 * cycle's own transaction. Checked: they share the cycle's commits (one
 * before the deploy calls, which already holds them, one after), their
 * events come first and in order, a refused entry changes nothing and
 * runs no cycle, a failure before the first commit leaves no trace (the
 * ids are zeroed), and NULL input is jobq_tick().
 *
 * The fixture: a database file, a virtual clock, unlimited quota, a
 * deployer with poll (so a cycle writes its whole plan ahead) that reads
 * the file through its own connection at every call.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobq/jobq.h"
#include "scheduler.h"
#include "store/store_internal.h"
#include "test_util.h"

#define MAX_CALLS 16
#define MAX_EVENTS 64

typedef struct fixture {
    jobq_scheduler *s;
    jobq_time_ms now;
    char path[64];
    jobq_run_id calls[MAX_CALLS];
    uint64_t commits_at_call[MAX_CALLS];
    int queued_on_disk[MAX_CALLS];   /* QUEUED rows at each deploy call */
    int finished_on_disk[MAX_CALLS]; /* FINISHED rows at each deploy call */
    int ncalls;
    jobq_event_type types[MAX_EVENTS];
    jobq_run_id runs[MAX_EVENTS];
    int nevents;
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
    (void)msg, (void)cap;
    ck_assert_int_lt(f->ncalls, MAX_CALLS);
    f->calls[f->ncalls] = req->run_id;
    f->commits_at_call[f->ncalls] = f->s->store->commits;
    f->queued_on_disk[f->ncalls] = count_state(JOBQ_RUN_QUEUED);
    f->finished_on_disk[f->ncalls] = count_state(JOBQ_RUN_FINISHED);
    f->ncalls++;
    return 0;
}

static int fake_poll(void *ctx, jobq_run_id id, jobq_poll_status *status,
                     char *msg, size_t cap)
{
    (void)ctx, (void)id, (void)msg, (void)cap;
    *status = JOBQ_POLL_RUNNING;
    return 0;
}

static void on_event(void *ctx, const jobq_event *ev)
{
    fixture *f = ctx;
    if (f->nevents < MAX_EVENTS) {
        f->types[f->nevents] = ev->type;
        f->runs[f->nevents++] = ev->run;
    }
}

static void open_db(void)
{
    jobq_clock clock = {JOBQ_CLOCK_VERSION, F, fake_now};
    jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, F, fake_deploy, NULL,
                              fake_poll};
    jobq_event_sink sink = {JOBQ_EVENT_SINK_VERSION, F, on_event};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.clock = &clock;
    opts.deployer = &deployer;
    opts.events = &sink;
    opts.db_path = F->path;
    char err[256];
    ck_assert_msg(jobq_open(&F->s, &opts, err, sizeof err) == 0, "%s", err);
}

/* Three runs of job "j", deployed by a first cycle at t=1000. */
static void setup(void)
{
    F = calloc(1, sizeof *F);
    tu_db_path(F->path, sizeof F->path, "tick-batch");
    F->now = 1000;
    open_db();
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = "j";
    def.ns = "ns";
    ck_assert_int_eq(jobq_job_define(F->s, &def), 0);
    const char *jobs[3] = {"j", "j", "j"};
    jobq_run_id ids[3];
    ck_assert_int_eq(jobq_run_submit_batch(F->s, ids, jobs, NULL, 3), 0);
    ck_assert_int_eq(jobq_tick(F->s, F->now, NULL), 0);
    ck_assert_int_eq(count_state(JOBQ_RUN_RUNNING), 3);
    F->nevents = 0;
    F->ncalls = 0;
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


START_TEST(input_shares_the_cycles_commits)
{
    setup();
    const char *jobs[2] = {"j", "j"};
    jobq_run_id new_ids[2] = {0, 0};
    jobq_run_id ended[3] = {3, 1, 2};
    jobq_run_state states[3] = {JOBQ_RUN_FINISHED, JOBQ_RUN_FAILED,
                                JOBQ_RUN_FINISHED};
    const char *details[3] = {NULL, "OOMKilled", NULL};
    jobq_tick_input in = JOBQ_TICK_INPUT_INIT;
    in.submit_count = 2;
    in.submit_jobs = jobs;
    in.submit_ids = new_ids;
    in.report_count = 3;
    in.report_ids = ended;
    in.report_states = states;
    in.report_details = details;
    uint64_t before = F->s->store->commits;
    jobq_tick_stats st = JOBQ_TICK_STATS_INIT;
    ck_assert_int_eq(jobq_tick_batch(F->s, F->now, &in, &st), 0);
    ck_assert_uint_eq(new_ids[0], 4);
    ck_assert_uint_eq(new_ids[1], 5);
    ck_assert_uint_eq(st.deployed, 2);
    /* Both deploy calls came after one commit that held the input: the
     * ended runs are ended on disk, the new runs exist (DEPLOYING). */
    ck_assert_int_eq(F->ncalls, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_eq(F->calls[i], new_ids[i]);
        ck_assert_uint_eq(F->commits_at_call[i], before + 1);
        ck_assert_int_eq(F->finished_on_disk[i], 2);
        ck_assert_int_eq(F->queued_on_disk[i], 0);
    }
    ck_assert_uint_eq(F->s->store->commits, before + 2);
    /* Events: the submits', the reports' (in array order), the cycle's. */
    jobq_event_type want[7] = {JOBQ_EVENT_SUBMITTED, JOBQ_EVENT_SUBMITTED,
                               JOBQ_EVENT_FINISHED,  JOBQ_EVENT_FAILED,
                               JOBQ_EVENT_FINISHED,  JOBQ_EVENT_DEPLOYED,
                               JOBQ_EVENT_DEPLOYED};
    jobq_run_id want_runs[7] = {4, 5, 3, 1, 2, 4, 5};
    ck_assert_int_eq(F->nevents, 7);
    for (int i = 0; i < 7; i++) {
        ck_assert_int_eq(F->types[i], want[i]);
        ck_assert_uint_eq(F->runs[i], want_runs[i]);
    }
    ck_assert_str_eq(tu_run_info(F->s, 1).detail, "OOMKilled");
    /* Durable: a reopened handle sees it all. */
    jobq_close(F->s);
    open_db();
    ck_assert_int_eq(tu_run_info(F->s, 1).state, JOBQ_RUN_FAILED);
    ck_assert_int_eq(tu_run_info(F->s, 3).state, JOBQ_RUN_FINISHED);
    ck_assert_int_eq(tu_run_info(F->s, 5).state, JOBQ_RUN_RUNNING);
}
END_TEST

/* A cycle that deploys nothing commits once, input included. */
START_TEST(a_quiet_cycle_commits_once)
{
    setup();
    jobq_run_id ended[1] = {2};
    jobq_run_state states[1] = {JOBQ_RUN_FINISHED};
    jobq_tick_input in = JOBQ_TICK_INPUT_INIT;
    in.report_count = 1;
    in.report_ids = ended;
    in.report_states = states;
    uint64_t before = F->s->store->commits;
    ck_assert_int_eq(jobq_tick_batch(F->s, F->now, &in, NULL), 0);
    ck_assert_uint_eq(F->s->store->commits, before + 1);
    ck_assert_int_eq(count_state(JOBQ_RUN_FINISHED), 1);
    ck_assert_int_eq(F->nevents, 1);
    /* Empty input, NULL input: jobq_tick(), an idle cycle commits nothing. */
    jobq_tick_input empty = JOBQ_TICK_INPUT_INIT;
    F->now += 1000;
    ck_assert_int_eq(jobq_tick_batch(F->s, F->now, &empty, NULL), 0);
    F->now += 1000;
    ck_assert_int_eq(jobq_tick_batch(F->s, F->now, NULL, NULL), 0);
    ck_assert_uint_eq(F->s->store->commits, before + 1);
}
END_TEST

static void refused(const jobq_tick_input *in, int code, const char *fragment)
{
    uint64_t commits = F->s->store->commits;
    F->nevents = 0;
    F->ncalls = 0;
    ck_assert_int_eq(jobq_tick_batch(F->s, F->now, in, NULL), code);
    char msg[512];
    jobq_errmsg(F->s, msg, sizeof msg);
    ck_assert_msg(strstr(msg, fragment), "message \"%s\" lacks \"%s\"", msg,
                  fragment);
    ck_assert_int_eq(F->nevents, 0);
    ck_assert_int_eq(F->ncalls, 0); /* no cycle ran */
    ck_assert_uint_eq(F->s->store->commits, commits);
    for (size_t i = 0; in->submit_ids && i < in->submit_count; i++)
        ck_assert_uint_eq(in->submit_ids[i], 0);
}

/* One bad entry, in either part: nothing changes and no cycle runs (the
 * queued run stays queued though it would fit). */
START_TEST(a_bad_entry_changes_nothing)
{
    setup();
    jobq_run_id queued;
    ck_assert_int_eq(jobq_run_submit(F->s, &queued, "j", NULL), 0);
    const char *jobs[2] = {"j", "no-such-job"};
    jobq_run_id new_ids[2] = {7, 7};
    jobq_run_id ended[2] = {1, 2};
    jobq_run_state states[2] = {JOBQ_RUN_FINISHED, JOBQ_RUN_QUEUED};
    jobq_tick_input in = JOBQ_TICK_INPUT_INIT;
    in.submit_count = 2;
    in.submit_jobs = jobs;
    in.submit_ids = new_ids;
    refused(&in, JOBQ_ENOTFOUND, "submit: runs[1]");
    jobs[1] = "j";
    in.report_count = 2;
    in.report_ids = ended;
    in.report_states = states;
    new_ids[0] = new_ids[1] = 7;
    refused(&in, JOBQ_EINVAL, "report: runs[1]");
    ended[1] = queued; /* queued, not running */
    states[1] = JOBQ_RUN_FINISHED;
    refused(&in, JOBQ_ESTATE, "report: runs[1]");
    ck_assert_int_eq(tu_run_info(F->s, 1).state, JOBQ_RUN_RUNNING);
    ck_assert_int_eq(tu_run_info(F->s, queued).state, JOBQ_RUN_QUEUED);
    jobq_tick_input init;
    ck_assert_int_eq(jobq_tick_input_init(&init, JOBQ_TICK_INPUT_VERSION), 0);
    ck_assert_int_eq(init.version, JOBQ_TICK_INPUT_VERSION);
    ck_assert_uint_eq(init.submit_count + init.report_count, 0);
    ck_assert_int_eq(jobq_tick_input_init(&init, 0), JOBQ_EVERSION);
    ck_assert_int_eq(jobq_tick_input_init(NULL, 1), JOBQ_EINVAL);
    jobq_tick_input bad_version = JOBQ_TICK_INPUT_INIT;
    bad_version.version = JOBQ_TICK_INPUT_VERSION + 1;
    ck_assert_int_eq(jobq_tick_batch(F->s, F->now, &bad_version, NULL),
                     JOBQ_EVERSION);
    /* The same input, fixed, goes through. */
    ended[1] = 2;
    ck_assert_int_eq(jobq_tick_batch(F->s, F->now, &in, NULL), 0);
    ck_assert_uint_ne(new_ids[0], 0);
    ck_assert_int_eq(tu_run_info(F->s, new_ids[1]).state, JOBQ_RUN_RUNNING);
}
END_TEST

/* The cycle itself fails before its first commit (time going backwards):
 * the input is rolled back with it and the ids say so. */
START_TEST(a_failed_cycle_takes_the_input_with_it)
{
    setup();
    const char *jobs[1] = {"j"};
    jobq_run_id new_ids[1] = {0};
    jobq_run_id ended[1] = {1};
    jobq_run_state states[1] = {JOBQ_RUN_FINISHED};
    jobq_tick_input in = JOBQ_TICK_INPUT_INIT;
    in.submit_count = 1;
    in.submit_jobs = jobs;
    in.submit_ids = new_ids;
    in.report_count = 1;
    in.report_ids = ended;
    in.report_states = states;
    uint64_t before = F->s->store->commits;
    ck_assert_int_eq(jobq_tick_batch(F->s, 10, &in, NULL), JOBQ_EINVAL);
    char msg[512];
    jobq_errmsg(F->s, msg, sizeof msg);
    ck_assert_msg(strstr(msg, "backwards") || strstr(msg, "before"),
                  "message \"%s\" is not the cycle's", msg);
    ck_assert_uint_eq(new_ids[0], 0);
    ck_assert_uint_eq(F->s->store->commits, before);
    ck_assert_int_eq(tu_run_info(F->s, 1).state, JOBQ_RUN_RUNNING);
    ck_assert_int_eq(count_state(JOBQ_RUN_QUEUED) +
                         count_state(JOBQ_RUN_DEPLOYING),
                     0);
    ck_assert_int_eq(F->nevents, 0);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *s = suite_create("tick_batch");
    TCase *tc = tcase_create("tick_batch");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, input_shares_the_cycles_commits);
    tcase_add_test(tc, a_quiet_cycle_commits_once);
    tcase_add_test(tc, a_bad_entry_changes_nothing);
    tcase_add_test(tc, a_failed_cycle_takes_the_input_with_it);
    suite_add_tcase(s, tc);
    return s;
}
