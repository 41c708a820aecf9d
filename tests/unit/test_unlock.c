/*
 * Deploying outside the lock (issue 11, lib/core/cycle.c "Deploying
 * outside the lock", lib/scheduler.c): a cycle calls the deployer with the
 * handle's lock released, so other threads can submit, cancel, query and
 * render metrics meanwhile; what could change the cycle's decisions waits
 * for it (or is refused: a run being deployed cannot be cancelled); a
 * callback still cannot call back into its own scheduler.
 *
 * No wall-clock assertion: the deployer blocks on a gate, the test thread
 * waits until a deploy call is inside it, does its calls, then opens the
 * gate. Where a call is expected to wait for the cycle, the order of what
 * happened (the fixture's log) is checked, never a duration.
 */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobq/jobq.h"
#include "test_util.h"

#define LOG_MAX 256
/* Log entries: a deploy call is +id, a `deployed` event -id, other
 * markers below. */
#define MARK_PROPERTY_SET 1000001

typedef struct fixture {
    jobq_scheduler *s;
    char path[64]; /* "" without a database */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    jobq_run_id block_on; /* deploy of this run waits for the gate */
    jobq_run_id refuse;   /* refused on quota */
    jobq_run_id poll_block_on; /* poll of this run waits for the gate, then
                                  answers FINISHED */
    bool entered, open;
    int active, max_active; /* deploy calls in progress at once */
    long log[LOG_MAX];
    int nlog;
    int reentrant_rc[3];
    char reentrant_msg[256];
    bool reenter;
} fixture;

static void log_entry(fixture *f, long entry)
{
    pthread_mutex_lock(&f->mu);
    ck_assert_int_lt(f->nlog, LOG_MAX);
    f->log[f->nlog++] = entry;
    pthread_mutex_unlock(&f->mu);
}

static jobq_time_ms fixed_now(void *ctx)
{
    (void)ctx;
    return 1000;
}

static int gated_deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                        size_t cap)
{
    fixture *f = ctx;
    if (f->reenter) {
        jobq_run_id id = 0;
        f->reentrant_rc[0] = jobq_run_submit(f->s, &id, "hi", NULL);
        f->reentrant_rc[1] = jobq_tick(f->s, JOBQ_TIME_NOW, NULL);
        f->reentrant_rc[2] = jobq_run_cancel(f->s, req->run_id, NULL);
        jobq_errmsg(f->s, f->reentrant_msg, sizeof f->reentrant_msg);
    }
    pthread_mutex_lock(&f->mu);
    ck_assert_int_lt(f->nlog, LOG_MAX);
    f->log[f->nlog++] = (long)req->run_id;
    if (++f->active > f->max_active)
        f->max_active = f->active;
    if (req->run_id == f->block_on && !f->open) {
        f->entered = true;
        pthread_cond_broadcast(&f->cv);
        while (!f->open)
            pthread_cond_wait(&f->cv, &f->mu);
    }
    f->active--;
    pthread_mutex_unlock(&f->mu);
    if (req->run_id == f->refuse) {
        snprintf(msg, cap, "exceeded quota: test");
        return JOBQ_DEPLOY_QUOTA_REJECTED;
    }
    return 0;
}

static int running_poll(void *ctx, jobq_run_id id, jobq_poll_status *status,
                        char *msg, size_t cap)
{
    fixture *f = ctx;
    *status = JOBQ_POLL_RUNNING;
    pthread_mutex_lock(&f->mu);
    if (id == f->poll_block_on && !f->open) {
        f->entered = true;
        pthread_cond_broadcast(&f->cv);
        while (!f->open)
            pthread_cond_wait(&f->cv, &f->mu);
    }
    if (id == f->poll_block_on) {
        snprintf(msg, cap, "done (test)");
        *status = JOBQ_POLL_FINISHED;
    }
    pthread_mutex_unlock(&f->mu);
    return 0;
}

#define MARK_FINISHED 2000000

static void on_event(void *ctx, const jobq_event *ev)
{
    if (ev->type == JOBQ_EVENT_DEPLOYED)
        log_entry(ctx, -(long)ev->run);
    if (ev->type == JOBQ_EVENT_FINISHED)
        log_entry(ctx, MARK_FINISHED + (long)ev->run);
}

/* batchSize `batch`, strict priority, jobs "hi" (high) and "lo" (normal)
 * in namespace "ns", "other" in "ns2"; with a database when `db`. */
static fixture *open_fixture(int batch, bool db)
{
    fixture *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (db) {
        tu_db_path(f->path, sizeof f->path, "unlock");
    }
    jobq_clock clock = {JOBQ_CLOCK_VERSION, f, fixed_now};
    jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, f, gated_deploy, NULL,
                              running_poll};
    jobq_event_sink events = {JOBQ_EVENT_SINK_VERSION, f, on_event};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.clock = &clock;
    opts.deployer = &deployer;
    opts.events = &events;
    opts.db_path = db ? f->path : NULL;
    char config[512];
    snprintf(config, sizeof config,
             "{\"services\":{\"jobOrchestrator\":{\"settings\":{"
             "\"batchSize\":%d}}},\"systemProperties\":{"
             "\"job-orchestrator.queue.high.scheduling-share-percentage\":"
             "100}}",
             batch);
    opts.config_json = config;
    char err[256];
    ck_assert_msg(jobq_open(&f->s, &opts, err, sizeof err) == 0, "%s", err);
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = "hi";
    def.ns = "ns";
    def.priority = JOBQ_PRIORITY_HIGH;
    ck_assert_int_eq(jobq_job_define(f->s, &def), 0);
    def.name = "lo";
    def.priority = JOBQ_PRIORITY_NORMAL;
    ck_assert_int_eq(jobq_job_define(f->s, &def), 0);
    def.name = "other";
    def.ns = "ns2";
    ck_assert_int_eq(jobq_job_define(f->s, &def), 0);
    def.name = "old";
    def.flow = JOBQ_FLOW_LEGACY;
    ck_assert_int_eq(jobq_job_define(f->s, &def), 0);
    return f;
}

static void close_fixture(fixture *f)
{
    jobq_close(f->s);
    if (f->path[0])
        tu_db_remove(f->path);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static jobq_run_id submit(fixture *f, const char *job)
{
    jobq_run_id id = 0;
    ck_assert_int_eq(jobq_run_submit(f->s, &id, job, NULL), 0);
    return id;
}

static jobq_run_state state_of(fixture *f, jobq_run_id id)
{
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(jobq_run_get(f->s, &info, id), 0);
    return info.state;
}

/* The ticking thread, and the handshakes with the gate. */
typedef struct ticker {
    pthread_t thread;
    fixture *f;
    int rc;
} ticker;

static void *tick_thread(void *arg)
{
    ticker *t = arg;
    t->rc = jobq_tick(t->f->s, JOBQ_TIME_NOW, NULL);
    return NULL;
}

static void start_tick(ticker *t, fixture *f)
{
    t->f = f;
    t->rc = -12345;
    ck_assert_int_eq(pthread_create(&t->thread, NULL, tick_thread, t), 0);
}

static void wait_entered(fixture *f)
{
    pthread_mutex_lock(&f->mu);
    while (!f->entered)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

static void open_gate(fixture *f)
{
    pthread_mutex_lock(&f->mu);
    f->open = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* A moment for another thread to reach its wait: never asserted on. */
static void pause_briefly(void)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static int log_index(fixture *f, long entry)
{
    for (int i = 0; i < f->nlog; i++)
        if (f->log[i] == entry)
            return i;
    return -1;
}

static int deployed_events(fixture *f)
{
    int n = 0;
    for (int i = 0; i < f->nlog; i++)
        n += f->log[i] < 0;
    return n;
}

/* ------------------------------------------------------------------ tests */

static void calls_while_deploy_blocks(bool db)
{
    fixture *f = open_fixture(2, db);
    jobq_run_id r1 = submit(f, "hi"), r2 = submit(f, "hi");
    jobq_run_id r3 = submit(f, "hi"), r4 = submit(f, "hi");
    f->block_on = r1;
    ticker t;
    start_tick(&t, f);
    wait_entered(f);

    /* The deployer is inside deploy(r1), the cycle's plan is r1, r2. */
    jobq_run_id late = submit(f, "lo");
    ck_assert_int_eq(jobq_run_cancel(f->s, r4, "not needed"), 0);
    ck_assert_int_eq(jobq_run_cancel(f->s, r1, NULL), JOBQ_ESTATE);
    ck_assert_int_eq(jobq_run_cancel(f->s, r2, NULL), JOBQ_ESTATE);
    ck_assert_int_eq(state_of(f, r1), JOBQ_RUN_DEPLOYING);
    ck_assert_int_eq(state_of(f, r3), JOBQ_RUN_QUEUED);
    jobq_queue_info *queues = NULL;
    size_t nq = 0;
    ck_assert_int_eq(
        jobq_queues(f->s, JOBQ_QUEUE_INFO_VERSION, &queues, &nq), 0);
    ck_assert_uint_ge(nq, 2);
    jobq_free(queues);
    char *text = NULL;
    ck_assert_int_eq(jobq_metrics_render(f->s, &text, NULL), 0);
    ck_assert_ptr_nonnull(strstr(text, "jobq_queue_length"));
    jobq_free(text);
    jobq_run_id *ids = NULL;
    size_t nids = 0;
    ck_assert_int_eq(jobq_run_list(f->s, &ids, &nids, NULL), 0);
    ck_assert_uint_eq(nids, 5);
    jobq_free(ids);
    ck_assert_int_eq(deployed_events(f), 0); /* nothing reported yet */

    open_gate(f);
    pthread_join(t.thread, NULL);
    ck_assert_int_eq(t.rc, 0);
    ck_assert_int_eq(state_of(f, r1), JOBQ_RUN_RUNNING);
    ck_assert_int_eq(state_of(f, r2), JOBQ_RUN_RUNNING);
    ck_assert_int_eq(state_of(f, r3), JOBQ_RUN_QUEUED);
    ck_assert_int_eq(state_of(f, r4), JOBQ_RUN_CANCELLED);
    ck_assert_int_eq(state_of(f, late), JOBQ_RUN_QUEUED);
    ck_assert_int_eq(deployed_events(f), 2);
    ck_assert_int_eq(f->max_active, 1);
    close_fixture(f);
}

START_TEST(other_threads_proceed_while_deploy_blocks)
{
    calls_while_deploy_blocks(true);
}
END_TEST

START_TEST(other_threads_proceed_without_a_database)
{
    calls_while_deploy_blocks(false);
}
END_TEST

/* A run submitted while the cycle deploys, to an empty queue (a head the
 * plan never saw) or behind the last run the plan takes from a queue, is
 * left to the next cycle. */
START_TEST(late_submits_wait_for_the_next_cycle)
{
    fixture *f = open_fixture(20, true);
    jobq_run_id r1 = submit(f, "hi");
    f->block_on = r1;
    ticker t;
    start_tick(&t, f);
    wait_entered(f);
    jobq_run_id to_empty = submit(f, "lo");
    jobq_run_id behind = submit(f, "hi");
    jobq_run_id other_ns = submit(f, "other");
    open_gate(f);
    pthread_join(t.thread, NULL);
    ck_assert_int_eq(t.rc, 0);
    ck_assert_int_eq(f->nlog, 2); /* deploy r1, its event */
    ck_assert_int_eq(f->log[0], (long)r1);
    ck_assert_int_eq(state_of(f, to_empty), JOBQ_RUN_QUEUED);
    ck_assert_int_eq(state_of(f, behind), JOBQ_RUN_QUEUED);
    ck_assert_int_eq(state_of(f, other_ns), JOBQ_RUN_QUEUED);

    ck_assert_int_eq(jobq_tick(f->s, JOBQ_TIME_NOW, NULL), 0);
    ck_assert_int_eq(state_of(f, to_empty), JOBQ_RUN_RUNNING);
    ck_assert_int_eq(state_of(f, behind), JOBQ_RUN_RUNNING);
    ck_assert_int_eq(state_of(f, other_ns), JOBQ_RUN_RUNNING);
    /* Namespaces take turns from where the first cycle left: ns2, then
     * ns (strict priority: high, then normal). */
    ck_assert_int_eq(f->log[2], (long)other_ns);
    ck_assert_int_eq(f->log[3], (long)behind);
    ck_assert_int_eq(f->log[4], (long)to_empty);
    close_fixture(f);
}
END_TEST

START_TEST(deploy_calling_its_own_scheduler_is_busy)
{
    fixture *f = open_fixture(20, true);
    jobq_run_id r1 = submit(f, "hi");
    f->reenter = true;
    ck_assert_int_eq(jobq_tick(f->s, JOBQ_TIME_NOW, NULL), 0);
    ck_assert_int_eq(f->reentrant_rc[0], JOBQ_EBUSY);
    ck_assert_int_eq(f->reentrant_rc[1], JOBQ_EBUSY);
    ck_assert_int_eq(f->reentrant_rc[2], JOBQ_EBUSY);
    ck_assert_ptr_nonnull(strstr(f->reentrant_msg, "re-entrant"));
    ck_assert_int_eq(state_of(f, r1), JOBQ_RUN_RUNNING);
    /* Nothing was submitted from inside. */
    jobq_run_id *ids = NULL;
    size_t nids = 0;
    ck_assert_int_eq(jobq_run_list(f->s, &ids, &nids, NULL), 0);
    ck_assert_uint_eq(nids, 1);
    jobq_free(ids);
    close_fixture(f);
}
END_TEST

/* The events of one cycle over runs 1..last and the deploy calls, in
 * order: what a refusal in the middle of a plan leads to. */
typedef struct outcome {
    long log[LOG_MAX];
    int n;
    jobq_run_state states[16];
} outcome;

static void refusal_cycle(outcome *out, bool concurrent)
{
    fixture *f = open_fixture(20, true);
    jobq_run_id hi[5], lo[2];
    for (int i = 0; i < 5; i++)
        hi[i] = submit(f, "hi");
    for (int i = 0; i < 2; i++)
        lo[i] = submit(f, "lo");
    jobq_run_id last = lo[1];
    /* Plan: hi[0..4] then lo[0..1]; hi[2] is refused: hi[3], hi[4] are
     * void and the queue sits out, the re-plan deploys lo[0], lo[1]. */
    f->refuse = hi[2];
    ticker t;
    if (concurrent) {
        f->block_on = hi[0];
        start_tick(&t, f);
        wait_entered(f);
        submit(f, "hi");
        submit(f, "lo");
        submit(f, "other"); /* an empty queue */
        open_gate(f);
        pthread_join(t.thread, NULL);
        ck_assert_int_eq(t.rc, 0);
    } else
        ck_assert_int_eq(jobq_tick(f->s, JOBQ_TIME_NOW, NULL), 0);
    out->n = 0;
    for (int i = 0; i < f->nlog; i++)
        if (labs(f->log[i]) <= (long)last)
            out->log[out->n++] = f->log[i];
    for (jobq_run_id id = 1; id <= last; id++)
        out->states[id] = state_of(f, id);
    ck_assert_int_eq(out->states[hi[2]], JOBQ_RUN_QUEUED);
    ck_assert_int_eq(out->states[lo[1]], JOBQ_RUN_RUNNING);
    if (concurrent) /* the late runs: all still queued */
        for (jobq_run_id id = last + 1; id <= last + 3; id++)
            ck_assert_int_eq(state_of(f, id), JOBQ_RUN_QUEUED);
    close_fixture(f);
}

START_TEST(refusal_with_concurrent_submits_same_outcome)
{
    static outcome alone, with_others;
    refusal_cycle(&alone, false);
    refusal_cycle(&with_others, true);
    ck_assert_int_eq(alone.n, with_others.n);
    for (int i = 0; i < alone.n; i++)
        ck_assert_int_eq(alone.log[i], with_others.log[i]);
    for (int id = 1; id <= 7; id++)
        ck_assert_int_eq(alone.states[id], with_others.states[id]);
    /* deploys hi1 hi2 hi3(refused), events, deploys lo1 lo2, events */
    ck_assert_int_eq(alone.n, 9);
}
END_TEST

/* A second jobq_tick waits for the running cycle to end: its deploy calls
 * come after the first cycle's events, never alongside its calls. */
START_TEST(two_ticks_one_cycle_at_a_time)
{
    fixture *f = open_fixture(2, true);
    jobq_run_id r[4];
    for (int i = 0; i < 4; i++)
        r[i] = submit(f, "hi");
    f->block_on = r[0];
    ticker a, b;
    start_tick(&a, f);
    wait_entered(f);
    start_tick(&b, f);
    pause_briefly(); /* lets b reach its wait; the order holds anyway */
    open_gate(f);
    pthread_join(a.thread, NULL);
    pthread_join(b.thread, NULL);
    ck_assert_int_eq(a.rc, 0);
    ck_assert_int_eq(b.rc, 0);
    long expected[] = {(long)r[0], (long)r[1], -(long)r[0], -(long)r[1],
                       (long)r[2], (long)r[3], -(long)r[2], -(long)r[3]};
    ck_assert_int_eq(f->nlog, 8);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(f->log[i], expected[i]);
    ck_assert_int_eq(f->max_active, 1);
    close_fixture(f);
}
END_TEST

/* Calls that could change the cycle's decisions wait for it to end. */
typedef struct waiter {
    pthread_t thread;
    fixture *f;
    int what;
    jobq_run_id id;
    int rc;
} waiter;

static void *waiter_thread(void *arg)
{
    waiter *w = arg;
    switch (w->what) {
    case 0:
        w->rc = jobq_property_set(
            w->f->s, "job-orchestrator.queue.high.scheduling-share-percentage",
            "50");
        break;
    case 1:
        w->rc = jobq_run_cancel(w->f->s, w->id, NULL);
        break;
    default:
        w->rc = jobq_run_submit(w->f->s, &w->id, "old", NULL);
        break;
    }
    log_entry(w->f, MARK_PROPERTY_SET + w->what);
    return NULL;
}

START_TEST(changes_to_the_plan_wait_for_the_cycle)
{
    fixture *f = open_fixture(2, true);
    jobq_run_id r1 = submit(f, "hi");
    submit(f, "hi");
    jobq_run_id frontier = submit(f, "hi");
    f->block_on = r1;
    ticker t;
    start_tick(&t, f);
    wait_entered(f);
    waiter w[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (waiter){.f = f, .what = i, .id = frontier};
        ck_assert_int_eq(pthread_create(&w[i].thread, NULL, waiter_thread,
                                        &w[i]),
                         0);
    }
    pause_briefly(); /* lets them reach their wait */
    open_gate(f);
    pthread_join(t.thread, NULL);
    for (int i = 0; i < 3; i++) {
        pthread_join(w[i].thread, NULL);
        ck_assert_int_eq(w[i].rc, 0);
    }
    ck_assert_int_eq(t.rc, 0);
    int event = log_index(f, -(long)r1);
    ck_assert_int_ge(event, 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_gt(log_index(f, MARK_PROPERTY_SET + i), event);
    ck_assert_int_eq(state_of(f, frontier), JOBQ_RUN_CANCELLED);
    ck_assert_int_eq(state_of(f, w[2].id), JOBQ_RUN_RUNNING); /* legacy */
    close_fixture(f);
}
END_TEST

/* The cycle asks `poll` about the deployed runs before it changes
 * anything, with the lock released too: other threads go on meanwhile, and
 * a run cancelled then is not ended a second time by the poll's answer. */
START_TEST(poll_runs_without_the_lock)
{
    fixture *f = open_fixture(20, true);
    jobq_run_id r1 = submit(f, "hi"), r2 = submit(f, "hi");
    ck_assert_int_eq(jobq_tick(f->s, JOBQ_TIME_NOW, NULL), 0);
    ck_assert_int_eq(state_of(f, r1), JOBQ_RUN_RUNNING);
    f->poll_block_on = r1;
    ticker t;
    start_tick(&t, f);
    wait_entered(f);
    jobq_run_id late = submit(f, "hi");
    ck_assert_int_eq(jobq_run_cancel(f->s, r1, "stop"), 0);
    ck_assert_int_eq(state_of(f, r2), JOBQ_RUN_RUNNING);
    char *text = NULL;
    ck_assert_int_eq(jobq_metrics_render(f->s, &text, NULL), 0);
    jobq_free(text);
    open_gate(f);
    pthread_join(t.thread, NULL);
    ck_assert_int_eq(t.rc, 0);
    ck_assert_int_eq(state_of(f, r1), JOBQ_RUN_CANCELLED);
    ck_assert_int_eq(log_index(f, MARK_FINISHED + (long)r1), -1);
    /* Submitted before the cycle began (its polls come first): admitted. */
    ck_assert_int_eq(state_of(f, late), JOBQ_RUN_RUNNING);
    close_fixture(f);
}
END_TEST

/* An answer other than running, taken before the cycle, is applied by it
 * as before: the run ends with the deployer's message. */
START_TEST(poll_answer_is_applied)
{
    fixture *f = open_fixture(20, true);
    jobq_run_id r1 = submit(f, "hi");
    ck_assert_int_eq(jobq_tick(f->s, JOBQ_TIME_NOW, NULL), 0);
    f->poll_block_on = r1;
    f->open = true;
    ck_assert_int_eq(jobq_tick(f->s, JOBQ_TIME_NOW, NULL), 0);
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(jobq_run_get(f->s, &info, r1), 0);
    ck_assert_int_eq(info.state, JOBQ_RUN_FINISHED);
    ck_assert_str_eq(info.detail, "done (test)");
    ck_assert_int_ge(log_index(f, MARK_FINISHED + (long)r1), 0);
    close_fixture(f);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *s = suite_create("unlock");
    TCase *tc = tcase_create("unlock");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, other_threads_proceed_while_deploy_blocks);
    tcase_add_test(tc, other_threads_proceed_without_a_database);
    tcase_add_test(tc, late_submits_wait_for_the_next_cycle);
    tcase_add_test(tc, deploy_calling_its_own_scheduler_is_busy);
    tcase_add_test(tc, refusal_with_concurrent_submits_same_outcome);
    tcase_add_test(tc, two_ticks_one_cycle_at_a_time);
    tcase_add_test(tc, changes_to_the_plan_wait_for_the_cycle);
    tcase_add_test(tc, poll_runs_without_the_lock);
    tcase_add_test(tc, poll_answer_is_applied);
    suite_add_tcase(s, tc);
    return s;
}
