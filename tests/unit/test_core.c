/*
 * The scheduling rules of SPEC section 2, tested through the public API
 * against a fake cluster: a virtual clock, a probe whose `used` is the sum
 * of the runs the fake deployer launched, and a deployer that can be told
 * to refuse (quota) or fail a run's next attempts.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobq/jobq.h"
#include "test_util.h"

#define MAX_RUNS 1024
#define MAX_EVENTS 4096
#define CORES(n) ((int64_t)(n) * 1000)
#define GIB(n) ((int64_t)(n) << 30)

typedef struct recorded {
    jobq_event_type type;
    jobq_time_ms time;
    jobq_run_id run;
    char job[64];
    char ns[64];
    jobq_priority priority;
    jobq_resource_kind resource;
    int64_t requested, available;
    jobq_time_ms wait_ms;
    unsigned retry;
    char reason[32];
    char detail[256];
} recorded;

typedef struct fake {
    jobq_time_ms now;
    jobq_resources hard[4]; /* namespaces ns0..ns3 */
    bool live[MAX_RUNS];
    jobq_resources request[MAX_RUNS];
    int ns_of[MAX_RUNS];
    jobq_time_ms finish_at[MAX_RUNS]; /* 0 = runs forever */
    jobq_time_ms duration[MAX_RUNS];
    int reject_quota[MAX_RUNS];  /* next N deploys refused on quota */
    int fail_deploy[MAX_RUNS];   /* next N deploys fail */
    bool vanish[MAX_RUNS];
    bool async_reject[MAX_RUNS];
    int deploys[MAX_RUNS];       /* successful deploy calls */
    int cancels[MAX_RUNS];
    int probe_calls;
    bool probe_fails;
    recorded events[MAX_EVENTS];
    int nevents;
    jobq_scheduler *s;
    int reentry_rc;
    bool try_reentry;
} fake;

static fake *F;

static int ns_index(const char *ns)
{
    return ns[2] - '0';
}

static jobq_time_ms fake_now(void *ctx)
{
    return ((fake *)ctx)->now;
}

static int fake_quota(void *ctx, const char *ns, jobq_resources *hard,
                      jobq_resources *used)
{
    fake *f = ctx;
    f->probe_calls++;
    if (f->probe_fails)
        return -1;
    int n = ns_index(ns);
    *hard = f->hard[n];
    memset(used, 0, sizeof *used);
    for (int i = 0; i < MAX_RUNS; i++)
        if (f->live[i] && f->ns_of[i] == n)
            for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
                used->amount[d] += f->request[i].amount[d];
    return 0;
}

static int fake_deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                       size_t cap)
{
    fake *f = ctx;
    int id = (int)req->run_id;
    ck_assert_int_lt(id, MAX_RUNS);
    ck_assert_msg(!f->live[id], "run %d deployed twice", id);
    if (f->reject_quota[id] > 0) {
        f->reject_quota[id]--;
        snprintf(msg, cap, "exceeded quota: q, requested: cpu=1");
        return JOBQ_DEPLOY_QUOTA_REJECTED;
    }
    if (f->fail_deploy[id] > 0) {
        f->fail_deploy[id]--;
        snprintf(msg, cap, "connection refused");
        return -1;
    }
    f->live[id] = true;
    f->deploys[id]++;
    f->request[id] = req->request;
    f->ns_of[id] = ns_index(req->ns);
    f->finish_at[id] = f->duration[id] ? f->now + f->duration[id] : 0;
    return 0;
}

static int fake_cancel(void *ctx, jobq_run_id id, char *msg, size_t cap)
{
    fake *f = ctx;
    f->cancels[id]++;
    f->live[id] = false;
    return 0;
}

static int fake_poll(void *ctx, jobq_run_id id, jobq_poll_status *status,
                     char *msg, size_t cap)
{
    fake *f = ctx;
    if (f->vanish[id]) {
        f->live[id] = false;
        *status = JOBQ_POLL_GONE;
    } else if (f->async_reject[id]) {
        f->async_reject[id] = false;
        f->live[id] = false;
        snprintf(msg, cap, "driver pod refused: exceeded quota");
        *status = JOBQ_POLL_QUOTA_REJECTED;
    } else if (f->finish_at[id] && f->now >= f->finish_at[id]) {
        f->live[id] = false;
        *status = JOBQ_POLL_FINISHED;
    } else {
        *status = JOBQ_POLL_RUNNING;
    }
    return 0;
}

static void record(void *payload, const jobq_event *ev)
{
    fake *f = payload;
    ck_assert_int_lt(f->nevents, MAX_EVENTS);
    recorded *r = &f->events[f->nevents++];
    r->type = ev->type;
    r->time = ev->time;
    r->run = ev->run;
    snprintf(r->job, sizeof r->job, "%s", ev->job);
    snprintf(r->ns, sizeof r->ns, "%s", ev->ns);
    r->priority = ev->priority;
    r->resource = ev->resource;
    r->requested = ev->requested;
    r->available = ev->available;
    r->wait_ms = ev->wait_ms;
    r->retry = ev->retry;
    snprintf(r->reason, sizeof r->reason, "%s", ev->reason);
    snprintf(r->detail, sizeof r->detail, "%s", ev->detail);
    if (f->try_reentry) {
        jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
        f->reentry_rc = jobq_run_get(f->s, &info, ev->run);
        /* The message is readable from the callback, and says why. */
        char msg[256] = "";
        jobq_errmsg(f->s, msg, sizeof msg);
        ck_assert_ptr_nonnull(strstr(msg, "re-entrant"));
    }
}

static const jobq_clock fake_clock = {JOBQ_CLOCK_VERSION, NULL, fake_now};

static jobq_scheduler *open_with(const char *config)
{
    F = calloc(1, sizeof *F);
    for (int n = 0; n < 4; n++)
        for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
            F->hard[n].amount[d] = JOBQ_UNLIMITED;
    jobq_clock clock = fake_clock;
    clock.ctx = F;
    jobq_probe probe = {JOBQ_PROBE_VERSION, F, fake_quota};
    jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, F, fake_deploy,
                              fake_cancel, fake_poll};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.clock = &clock;
    opts.probe = &probe;
    opts.deployer = &deployer;
    jobq_event_sink events = {JOBQ_EVENT_SINK_VERSION, F, record};
    opts.events = &events;
    opts.config_json = config;
    char err[256];
    int rc = jobq_open(&F->s, &opts, err, sizeof err);
    ck_assert_msg(rc == 0, "jobq_open: %s", err);
    return F->s;
}

static void teardown(void)
{
    if (F) {
        jobq_close(F->s);
        free(F);
        F = NULL;
    }
}

static void define(const char *job, const char *ns, jobq_priority priority,
                   jobq_flow flow)
{
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = job;
    def.ns = ns;
    def.domain = "dom";
    def.priority = priority;
    def.flow = flow;
    ck_assert_int_eq(jobq_job_define(F->s, &def), 0);
}

static jobq_run_id submit(const char *job, int64_t cpu, int64_t mem,
                          int64_t pods, int64_t storage)
{
    jobq_resources req = {{cpu, mem, pods, storage}};
    jobq_submit_opts opts = JOBQ_SUBMIT_OPTS_INIT;
    opts.request = &req;
    jobq_run_id id = 0;
    int rc = jobq_run_submit(F->s, &id, job, &opts);
    ck_assert_int_eq(rc, 0);
    return id;
}

static jobq_run_id submit_cpu(const char *job, int cores)
{
    return submit(job, CORES(cores), 0, 0, 0);
}

static jobq_tick_stats tick_at(jobq_time_ms seconds)
{
    F->now = seconds * 1000;
    jobq_tick_stats st = JOBQ_TICK_STATS_INIT;
    ck_assert_int_eq(jobq_tick(F->s, JOBQ_TIME_NOW, &st), 0);
    return st;
}

static jobq_run_state state_of(jobq_run_id id)
{
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(jobq_run_get(F->s, &info, id), 0);
    return info.state;
}

static int count_events(jobq_event_type type, jobq_run_id run)
{
    int n = 0;
    for (int i = 0; i < F->nevents; i++)
        if (F->events[i].type == type && (run == 0 || F->events[i].run == run))
            n++;
    return n;
}

static const recorded *last_event(jobq_event_type type, jobq_run_id run)
{
    for (int i = F->nevents - 1; i >= 0; i--)
        if (F->events[i].type == type && (run == 0 || F->events[i].run == run))
            return &F->events[i];
    return NULL;
}

/* ------------------------------------------------------ head-of-line */

START_TEST(nothing_overtakes_a_blocked_head)
{
    open_with(NULL);
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(10);
    define("etl", "ns0", JOBQ_PRIORITY_NORMAL, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("etl", 8);
    jobq_run_id b = submit_cpu("etl", 4);
    jobq_run_id c = submit_cpu("etl", 1);
    jobq_tick_stats st = tick_at(0);
    ck_assert_int_eq(st.deployed, 1);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_RUNNING);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_QUEUED);
    ck_assert_int_eq(state_of(c), JOBQ_RUN_QUEUED); /* fits, but waits */
    const recorded *blk = last_event(JOBQ_EVENT_BLOCKED, b);
    ck_assert_ptr_nonnull(blk);
    ck_assert_int_eq(blk->resource, JOBQ_RESOURCE_CPU);
    ck_assert_int_eq(blk->requested, CORES(4));
    ck_assert_int_eq(blk->available, CORES(2));
    for (int t = 1; t < 20; t++)
        tick_at(t);
    ck_assert_int_eq(state_of(c), JOBQ_RUN_QUEUED);
    ck_assert_int_eq(count_events(JOBQ_EVENT_BLOCKED, b), 1); /* once */
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(jobq_run_get(F->s, &info, c), 0);
    ck_assert_uint_eq(info.queue_position, 1);
    ck_assert(!info.blocked);
    ck_assert_int_eq(jobq_run_get(F->s, &info, b), 0);
    ck_assert_uint_eq(info.queue_position, 0);
    ck_assert(info.blocked);
    ck_assert_int_eq(info.blocked_resource, JOBQ_RESOURCE_CPU);
    ck_assert_int_eq(info.blocked_since, 0);
    ck_assert_int_eq(info.head_timeout_at, 3600 * 1000);
}
END_TEST

/* Each dimension in turn is the short one; when several are, cpu, memory,
 * pods, storage is the order that names the reason. */
START_TEST(block_reason_is_first_short_dimension)
{
    int short_dim = _i;
    open_with(NULL);
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        F->hard[0].amount[d] = 100;
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    int64_t req[4] = {10, 10, 10, 10};
    for (int d = short_dim; d < JOBQ_RESOURCE_COUNT; d++)
        req[d] = 101; /* this and every later dimension are short */
    jobq_run_id id = submit("j", req[0], req[1], req[2], req[3]);
    tick_at(0);
    const recorded *blk = last_event(JOBQ_EVENT_BLOCKED, id);
    ck_assert_ptr_nonnull(blk);
    ck_assert_int_eq(blk->resource, short_dim);
    ck_assert_int_eq(blk->requested, 101);
    ck_assert_int_eq(blk->available, 100);
}
END_TEST

START_TEST(new_blocked_event_when_reason_changes)
{
    open_with(NULL);
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(4);
    F->hard[0].amount[JOBQ_RESOURCE_MEMORY] = GIB(64);
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id id = submit("j", CORES(8), GIB(32), 0, 0);
    tick_at(0);
    tick_at(1);
    ck_assert_int_eq(count_events(JOBQ_EVENT_BLOCKED, id), 1);
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(16);
    F->hard[0].amount[JOBQ_RESOURCE_MEMORY] = GIB(16);
    tick_at(2);
    ck_assert_int_eq(count_events(JOBQ_EVENT_BLOCKED, id), 2);
    ck_assert_int_eq(last_event(JOBQ_EVENT_BLOCKED, id)->resource,
                     JOBQ_RESOURCE_MEMORY);
    /* The timer did not restart: blocked since 0 on one reason or another. */
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    jobq_run_get(F->s, &info, id);
    ck_assert_int_eq(info.blocked_since, 0);
}
END_TEST

/* ------------------------------------------------------- head timeouts */

START_TEST(head_timeout_without_retries_cancels_at_exact_time)
{
    open_with("{\"systemProperties\":{"
              "\"job-orchestrator.queue.head-timeout-seconds\":60}}");
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(4);
    define("j", "ns0", JOBQ_PRIORITY_NORMAL, JOBQ_FLOW_PRIORITY);
    jobq_run_id big = submit_cpu("j", 8);
    jobq_run_id next = submit_cpu("j", 2);
    tick_at(10); /* blocked since 10 */
    tick_at(69);
    ck_assert_int_eq(state_of(big), JOBQ_RUN_QUEUED);
    jobq_time_ms deadline = 0;
    ck_assert_int_eq(jobq_next_deadline(F->s, &deadline), 0);
    ck_assert_int_eq(deadline, 70 * 1000);
    tick_at(70);
    ck_assert_int_eq(state_of(big), JOBQ_RUN_CANCELLED);
    const recorded *c = last_event(JOBQ_EVENT_CANCELLED, big);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->reason, "head_timeout");
    ck_assert_int_eq(c->time, 70 * 1000);
    ck_assert_ptr_nonnull(strstr(c->detail, "cpu"));
    ck_assert_ptr_nonnull(strstr(c->detail, "requested 8"));
    ck_assert_ptr_nonnull(strstr(c->detail, "available 4"));
    ck_assert_ptr_nonnull(strstr(c->detail, "0 of 0 retries"));
    ck_assert_int_eq(count_events(JOBQ_EVENT_HEAD_TIMEOUT_RETRY, 0), 0);
    /* The next run becomes head and is admitted in the same cycle. */
    ck_assert_int_eq(state_of(next), JOBQ_RUN_RUNNING);
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    jobq_run_get(F->s, &info, big);
    ck_assert_str_eq(info.reason, "head_timeout");
    ck_assert_int_eq(info.ended_at, 70 * 1000);
}
END_TEST

START_TEST(head_timeout_retries_then_cancels)
{
    open_with("{\"systemProperties\":{"
              "\"job-orchestrator.queue.head-timeout-seconds\":100,"
              "\"job-orchestrator.queue.head-retry-count\":2}}");
    F->hard[0].amount[JOBQ_RESOURCE_MEMORY] = GIB(1);
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id id = submit("j", 0, GIB(2), 0, 0);
    for (int t = 0; t <= 400; t++)
        tick_at(t);
    ck_assert_int_eq(count_events(JOBQ_EVENT_HEAD_TIMEOUT_RETRY, id), 2);
    int retries = 0;
    for (int i = 0; i < F->nevents; i++) {
        if (F->events[i].type != JOBQ_EVENT_HEAD_TIMEOUT_RETRY)
            continue;
        retries++;
        ck_assert_uint_eq(F->events[i].retry, (unsigned)retries);
        ck_assert_int_eq(F->events[i].time, retries * 100 * 1000);
    }
    const recorded *c = last_event(JOBQ_EVENT_CANCELLED, id);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->time, 300 * 1000);
    ck_assert_ptr_nonnull(strstr(c->detail, "memory"));
    ck_assert_ptr_nonnull(strstr(c->detail, "2 of 2 retries"));
    ck_assert_int_eq(count_events(JOBQ_EVENT_BLOCKED, id), 1);
}
END_TEST

START_TEST(timer_starts_only_when_new_head_is_found_blocked)
{
    open_with("{\"systemProperties\":{"
              "\"job-orchestrator.queue.head-timeout-seconds\":50}}");
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(4);
    define("j", "ns0", JOBQ_PRIORITY_NORMAL, JOBQ_FLOW_PRIORITY);
    jobq_run_id first = submit_cpu("j", 8);
    jobq_run_id second = submit_cpu("j", 6);
    tick_at(0);
    tick_at(50); /* first cancelled; second found blocked at 50 */
    ck_assert_int_eq(state_of(first), JOBQ_RUN_CANCELLED);
    tick_at(99);
    ck_assert_int_eq(state_of(second), JOBQ_RUN_QUEUED);
    tick_at(100);
    ck_assert_int_eq(state_of(second), JOBQ_RUN_CANCELLED);
}
END_TEST

/* ---------------------------------------------------------------- WRR */

static void fill_both_queues(int per_queue)
{
    define("hi", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    define("lo", "ns0", JOBQ_PRIORITY_NORMAL, JOBQ_FLOW_PRIORITY);
    for (int i = 0; i < per_queue; i++) {
        submit_cpu("hi", 1);
        submit_cpu("lo", 1);
    }
}

static int deployed_high(void)
{
    int n = 0;
    for (int i = 0; i < F->nevents; i++)
        if (F->events[i].type == JOBQ_EVENT_DEPLOYED &&
            F->events[i].priority == JOBQ_PRIORITY_HIGH)
            n++;
    return n;
}

START_TEST(wrr_share_across_cycles)
{
    static const int shares[] = {90, 0, 100, 50, 75, 33};
    int share = shares[_i];
    char config[256];
    snprintf(config, sizeof config,
             "{\"services\":{\"jobOrchestrator\":{\"settings\":{"
             "\"batchSize\":3}}},\"systemProperties\":{"
             "\"job-orchestrator.queue.high.scheduling-share-percentage\":%d}}",
             share);
    open_with(config);
    fill_both_queues(300);
    for (int t = 0; t < 100; t++) /* 300 deployments, both always eligible */
        tick_at(t);
    ck_assert_int_eq(count_events(JOBQ_EVENT_DEPLOYED, 0), 300);
    int high = deployed_high();
    int exact = 300 * share / 100;
    ck_assert_msg(abs(high - exact) <= 1, "share %d: %d high of 300", share,
                  high);
}
END_TEST

START_TEST(wrr_blocked_high_gives_slot_to_normal)
{
    open_with("{\"services\":{\"jobOrchestrator\":{\"settings\":{"
              "\"batchSize\":1}}}}");
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(4);
    define("hi", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    define("lo", "ns0", JOBQ_PRIORITY_NORMAL, JOBQ_FLOW_PRIORITY);
    jobq_run_id h = submit_cpu("hi", 8);
    jobq_run_id l1 = submit_cpu("lo", 1);
    jobq_run_id l2 = submit_cpu("lo", 1);
    tick_at(0);
    ck_assert_int_eq(state_of(h), JOBQ_RUN_QUEUED);
    ck_assert_int_eq(state_of(l1), JOBQ_RUN_RUNNING); /* work conserving */
    tick_at(1);
    ck_assert_int_eq(state_of(l2), JOBQ_RUN_RUNNING);
}
END_TEST

/* -------------------------------------------------- namespaces & batch */

START_TEST(namespaces_are_isolated)
{
    open_with(NULL);
    F->hard[0].amount[JOBQ_RESOURCE_PODS] = 1;
    define("a", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    define("b", "ns1", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id blocked = submit("a", 0, 0, 5, 0);
    jobq_run_id other[5];
    for (int i = 0; i < 5; i++)
        other[i] = submit("b", 0, 0, 5, 0);
    tick_at(0);
    ck_assert_int_eq(state_of(blocked), JOBQ_RUN_QUEUED);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(state_of(other[i]), JOBQ_RUN_RUNNING);
    ck_assert_int_eq(last_event(JOBQ_EVENT_BLOCKED, blocked)->resource,
                     JOBQ_RESOURCE_PODS);
}
END_TEST

START_TEST(batch_cap_and_namespace_turns)
{
    open_with("{\"services\":{\"jobOrchestrator\":{\"settings\":{"
              "\"batchSize\":3}}}}");
    define("a", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    define("b", "ns1", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    for (int i = 0; i < 10; i++) {
        submit_cpu("a", 1);
        submit_cpu("b", 1);
    }
    jobq_tick_stats st = tick_at(0);
    ck_assert_int_eq(st.deployed, 3);
    ck_assert_uint_eq(st.queued, 17);
    /* Turns alternate and the pointer carries over: a b a | b a b | ... */
    const char *expected = "ns0ns1ns0ns1ns0ns1";
    tick_at(1);
    char order[64] = "";
    for (int i = 0; i < F->nevents; i++)
        if (F->events[i].type == JOBQ_EVENT_DEPLOYED)
            strcat(order, F->events[i].ns);
    ck_assert_str_eq(order, expected);
}
END_TEST

START_TEST(batch_never_over_admits)
{
    /* Reservations: three 4-core runs in one cycle into 10 cores. */
    open_with(NULL);
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(10);
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    submit_cpu("j", 4);
    submit_cpu("j", 4);
    jobq_run_id third = submit_cpu("j", 4);
    jobq_tick_stats st = tick_at(0);
    ck_assert_int_eq(st.deployed, 2);
    ck_assert_int_eq(state_of(third), JOBQ_RUN_QUEUED);
    ck_assert_int_eq(last_event(JOBQ_EVENT_BLOCKED, third)->available,
                     CORES(2));
    ck_assert_int_eq(F->probe_calls, 1); /* read once per namespace/cycle */
}
END_TEST

/* ---------------------------------------------------- reconcile & flow */

START_TEST(finished_runs_release_quota)
{
    open_with(NULL);
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(8);
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 8);
    jobq_run_id b = submit_cpu("j", 8);
    F->duration[a] = 30 * 1000;
    tick_at(0);
    tick_at(29);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_QUEUED);
    tick_at(30);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_FINISHED);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_RUNNING);
    ck_assert_int_eq(last_event(JOBQ_EVENT_DEPLOYED, b)->wait_ms, 30 * 1000);
}
END_TEST

START_TEST(vanished_deployment_fails_with_reason)
{
    open_with(NULL);
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 1);
    tick_at(0);
    F->vanish[a] = true;
    tick_at(1);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_FAILED);
    ck_assert_str_eq(last_event(JOBQ_EVENT_FAILED, a)->reason, "vanished");
}
END_TEST

START_TEST(legacy_bypasses_queue_and_quota)
{
    open_with("{\"services\":{\"jobOrchestrator\":{\"settings\":{"
              "\"batchSize\":1}}}}");
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(1);
    define("old", "ns0", JOBQ_PRIORITY_NORMAL, JOBQ_FLOW_LEGACY);
    define("new", "ns0", JOBQ_PRIORITY_NORMAL, JOBQ_FLOW_PRIORITY);
    F->now = 5000;
    jobq_run_id l1 = submit_cpu("old", 4);
    jobq_run_id l2 = submit_cpu("old", 4);
    ck_assert_int_eq(state_of(l1), JOBQ_RUN_RUNNING); /* before any tick */
    ck_assert_int_eq(state_of(l2), JOBQ_RUN_RUNNING);
    const recorded *d = last_event(JOBQ_EVENT_DEPLOYED, l1);
    ck_assert_int_eq(d->time, 5000);
    ck_assert_int_eq(d->wait_ms, 0);
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    jobq_run_get(F->s, &info, l1);
    ck_assert_int_eq(info.flow, JOBQ_FLOW_LEGACY);
    /* Legacy usage counts in the cluster's used. */
    jobq_run_id q = submit_cpu("new", 1);
    tick_at(6);
    ck_assert_int_eq(state_of(q), JOBQ_RUN_QUEUED);
}
END_TEST

START_TEST(disable_refused_while_queued_then_migrate)
{
    open_with(NULL);
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = 0;
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    define("k", "ns0", JOBQ_PRIORITY_NORMAL, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 1);
    jobq_run_id b = submit_cpu("k", 1);
    tick_at(0);
    int rc = jobq_property_set(F->s, "features.jobOrchestrator.enabled",
                               "false");
    ck_assert_int_eq(rc, JOBQ_ESTATE);
    char msg[512];
    jobq_errmsg(F->s, msg, sizeof msg);
    ck_assert_ptr_nonnull(strstr(msg, "migrate"));
    char value[16];
    ck_assert_int_eq(jobq_property_get(F->s, "features.jobOrchestrator.enabled",
                                       value, sizeof value), 0);
    ck_assert_str_eq(value, "true");

    uint64_t moved = 0;
    ck_assert_int_eq(jobq_migrate_to_legacy(F->s, &moved), 0);
    ck_assert_uint_eq(moved, 2);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_RUNNING);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_RUNNING);
    ck_assert_int_eq(jobq_property_set(F->s, "features.jobOrchestrator.enabled",
                                       "false"), 0);
    /* Disabled: every run takes the legacy path, whatever its job says. */
    define("p", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id c = submit_cpu("p", 1);
    ck_assert_int_eq(state_of(c), JOBQ_RUN_RUNNING);
}
END_TEST

START_TEST(job_switched_to_legacy_leaves_queue)
{
    open_with(NULL);
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = 0;
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    define("k", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 1);
    jobq_run_id b = submit_cpu("k", 1);
    tick_at(0);
    ck_assert_int_eq(jobq_job_set_flow(F->s, "k", JOBQ_FLOW_LEGACY), 0);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_RUNNING);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_QUEUED);
    ck_assert_int_eq(jobq_job_set_flow(F->s, "nope", JOBQ_FLOW_LEGACY),
                     JOBQ_ENOTFOUND);
}
END_TEST

/* ------------------------------------------------- stale quota & errors */

START_TEST(stale_quota_reschedules_at_head)
{
    open_with(NULL);
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    define("k", "ns0", JOBQ_PRIORITY_NORMAL, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 1);
    jobq_run_id b = submit_cpu("j", 1);
    jobq_run_id n = submit_cpu("k", 1);
    F->reject_quota[a] = 2;
    jobq_tick_stats st = tick_at(0);
    ck_assert_int_eq(st.rescheduled, 1);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_QUEUED);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_QUEUED); /* queue sat out */
    ck_assert_int_eq(state_of(n), JOBQ_RUN_RUNNING); /* other queue served */
    ck_assert_str_eq(last_event(JOBQ_EVENT_RESCHEDULED, a)->reason,
                     "stale_quota");
    tick_at(1); /* the first refusal's backoff (1 s) is over */
    ck_assert_int_eq(count_events(JOBQ_EVENT_RESCHEDULED, a), 2);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_QUEUED);
    jobq_time_ms deadline;
    jobq_next_deadline(F->s, &deadline);
    ck_assert_int_eq(deadline, 3000); /* the second refusal: 2 s */
    tick_at(2); /* the queue sits out: a is not even tried */
    ck_assert_int_eq(count_events(JOBQ_EVENT_RESCHEDULED, a), 2);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_QUEUED);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_QUEUED);
    tick_at(3);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_RUNNING);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_RUNNING);
    /* a went first: its original position was kept. */
    ck_assert_int_lt(last_event(JOBQ_EVENT_DEPLOYED, a) - F->events,
                     last_event(JOBQ_EVENT_DEPLOYED, b) - F->events);
}
END_TEST

START_TEST(a_refused_head_keeps_its_timer)
{
    open_with("{\"systemProperties\":{"
              "\"job-orchestrator.queue.head-timeout-seconds\":100}}");
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(1);
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 2);
    tick_at(0); /* blocked on cpu since 0 */
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(4);
    F->reject_quota[a] = 1;
    tick_at(50); /* fits, but the cluster refuses it: rescheduled */
    ck_assert_int_eq(count_events(JOBQ_EVENT_RESCHEDULED, a), 1);
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(1);
    tick_at(60); /* blocked again: news (it fitted), but the same timer */
    ck_assert_int_eq(count_events(JOBQ_EVENT_BLOCKED, a), 2);
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    jobq_run_get(F->s, &info, a);
    ck_assert_int_eq(info.head_timeout_at, 100 * 1000);
    tick_at(99);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_QUEUED);
    tick_at(100); /* 100 s after the first block (SPEC 2.5) */
    ck_assert_int_eq(state_of(a), JOBQ_RUN_CANCELLED);
    const recorded *c = last_event(JOBQ_EVENT_CANCELLED, a);
    ck_assert_str_eq(c->reason, "head_timeout");
    /* Short of cpu now, and the cluster's refusal quoted. */
    ck_assert_ptr_nonnull(strstr(c->detail, "on cpu"));
    ck_assert_ptr_nonnull(strstr(c->detail, "exceeded quota: q"));
    ck_assert_ptr_nonnull(strstr(c->detail, "refused by the cluster 1 "));
}
END_TEST

START_TEST(a_head_that_fits_but_fails_to_deploy_is_no_longer_blocked)
{
    /* Only the cluster's refusals count as blocked time: a deploy error
     * after a block ends the block, and the timer starts afresh when the
     * head is next found short. */
    open_with("{\"systemProperties\":{"
              "\"job-orchestrator.queue.head-timeout-seconds\":100}}");
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(1);
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 2);
    tick_at(0);
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(4);
    F->fail_deploy[a] = 1;
    tick_at(50);
    ck_assert_int_eq(count_events(JOBQ_EVENT_DEPLOY_RETRY, a), 1);
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(1);
    tick_at(60);
    ck_assert_int_eq(count_events(JOBQ_EVENT_BLOCKED, a), 2);
    tick_at(100);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_QUEUED);
    tick_at(160);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_CANCELLED);
}
END_TEST

START_TEST(async_quota_rejection_returns_run_to_head)
{
    open_with("{\"services\":{\"jobOrchestrator\":{\"settings\":{"
              "\"batchSize\":1}}}}");
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 1);
    jobq_run_id b = submit_cpu("j", 1);
    tick_at(0);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_RUNNING);
    F->async_reject[a] = true;
    tick_at(1); /* a comes back ahead of b; the queue sits out this cycle */
    ck_assert_int_eq(state_of(a), JOBQ_RUN_QUEUED);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_QUEUED);
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    jobq_run_get(F->s, &info, a);
    ck_assert_uint_eq(info.queue_position, 0);
    tick_at(2);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_RUNNING);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_QUEUED);
}
END_TEST

/* SPEC 2.5: a refusal the cluster reports after the deploy call succeeded
 * (poll: QUOTA_REJECTED) counts like a synchronous one: the streak goes on
 * across the deployments it refuses, the queue backs off 1, 2, 4, 8 s, and
 * the head timer runs from the first refusal. */
START_TEST(async_refusals_back_off_and_time_out)
{
    /* batchSize 1: b would otherwise be deployed in the cycles in which a
     * is out (deployed, not yet refused). */
    open_with("{\"systemProperties\":{"
              "\"job-orchestrator.queue.head-timeout-seconds\":10},"
              "\"services\":{\"jobOrchestrator\":{\"settings\":{"
              "\"batchSize\":1}}}}");
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    define("k", "ns0", JOBQ_PRIORITY_NORMAL, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 1);
    jobq_run_id b = submit_cpu("j", 1);
    /* Deployed at 0, 2, 5, 10; refused at the next cycle each time. */
    static const int deployed_at[] = {0, 2, 5, 10};
    static const int refused_at[] = {1, 3, 6, 11};
    static const jobq_time_ms next_at[] = {2000, 5000, 10000, 19000};
    int round = 0;
    for (int t = 0; t <= 11; t++) {
        tick_at(t);
        if (round < 4 && t == deployed_at[round]) {
            ck_assert_int_eq(state_of(a), JOBQ_RUN_RUNNING);
            F->async_reject[a] = true;
        } else if (round < 4 && t == refused_at[round]) {
            const recorded *r = last_event(JOBQ_EVENT_RESCHEDULED, a);
            ck_assert_int_eq(r->time, t * 1000);
            ck_assert_str_eq(r->reason, "stale_quota");
            ck_assert_uint_eq(r->retry, (unsigned)round + 1);
            ck_assert_ptr_nonnull(strstr(r->detail, "driver pod refused"));
            if (round < 3) {
                ck_assert_int_eq(state_of(a), JOBQ_RUN_QUEUED);
                jobq_time_ms deadline;
                jobq_next_deadline(F->s, &deadline);
                ck_assert_int_eq(deadline, next_at[round]);
            }
            round++;
        } else {
            ck_assert_int_eq(state_of(a), JOBQ_RUN_QUEUED);
        }
        /* Nothing behind the refused head moves. */
        if (t < 11)
            ck_assert_int_eq(state_of(b), JOBQ_RUN_QUEUED);
    }
    /* At 11 the fourth refusal brought it back, and its timer (from the
     * first refusal, at 1) had run 10 s: cancelled, the refusal quoted. */
    ck_assert_int_eq(round, 4);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_CANCELLED);
    const recorded *c = last_event(JOBQ_EVENT_CANCELLED, a);
    ck_assert_int_eq(c->time, 11000);
    ck_assert_ptr_nonnull(strstr(c->detail, "refused by the cluster 4 "));
    ck_assert_ptr_nonnull(strstr(c->detail, "driver pod refused"));
    ck_assert_int_eq(count_events(JOBQ_EVENT_DEPLOYED, a), 4);
    /* The refusal at 11 made the queue sit out that cycle; b, a new head
     * without a streak, is deployed at the next. */
    ck_assert_int_eq(state_of(b), JOBQ_RUN_QUEUED);
    tick_at(12);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_RUNNING);
}
END_TEST

/* Step 2 retries a refused head: the timer restarts, the backoff and the
 * streak stay; the retry event says why (stale_quota, the refusal). */
START_TEST(head_timeout_retry_of_a_refused_head_keeps_the_backoff)
{
    open_with("{\"systemProperties\":{"
              "\"job-orchestrator.queue.head-timeout-seconds\":10,"
              "\"job-orchestrator.queue.head-retry-count\":1}}");
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 1);
    F->reject_quota[a] = 1000;
    for (int t = 0; t <= 10; t++)
        tick_at(t); /* refused at 0, 1, 3, 7 */
    ck_assert_int_eq(count_events(JOBQ_EVENT_RESCHEDULED, a), 4);
    const recorded *r = last_event(JOBQ_EVENT_HEAD_TIMEOUT_RETRY, a);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->time, 10000);
    ck_assert_str_eq(r->reason, "stale_quota");
    ck_assert_ptr_nonnull(strstr(r->detail, "exceeded quota: q"));
    jobq_time_ms deadline;
    jobq_next_deadline(F->s, &deadline);
    ck_assert_int_eq(deadline, 15000); /* the backoff, not the timer (20) */
    for (int t = 11; t <= 19; t++)
        tick_at(t);
    ck_assert_int_eq(count_events(JOBQ_EVENT_RESCHEDULED, a), 5); /* 15 */
    ck_assert_uint_eq(last_event(JOBQ_EVENT_RESCHEDULED, a)->retry, 5);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_QUEUED);
    tick_at(20);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_CANCELLED);
}
END_TEST

/* The backoff ends at the first cycle at or after it; a queue whose head
 * is then found short of a resource does not keep reporting that past
 * time as its deadline (a host sleeping until it would spin). */
START_TEST(next_deadline_forgets_a_passed_backoff)
{
    open_with("{\"systemProperties\":{"
              "\"job-orchestrator.queue.head-timeout-seconds\":100}}");
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 2);
    F->reject_quota[a] = 1;
    tick_at(0);
    jobq_time_ms deadline;
    jobq_next_deadline(F->s, &deadline);
    ck_assert_int_eq(deadline, 1000);
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(1);
    tick_at(1); /* blocked on cpu now */
    ck_assert_int_eq(count_events(JOBQ_EVENT_BLOCKED, a), 1);
    jobq_next_deadline(F->s, &deadline);
    ck_assert_int_eq(deadline, 100 * 1000); /* the timer, from 0 */
    tick_at(100);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_CANCELLED);
    const recorded *c = last_event(JOBQ_EVENT_CANCELLED, a);
    ck_assert_ptr_nonnull(strstr(c->detail, "on cpu"));
    ck_assert_ptr_nonnull(strstr(c->detail, "exceeded quota: q"));
}
END_TEST

START_TEST(deploy_errors_retry_with_backoff_then_fail)
{
    open_with(NULL);
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 1);
    jobq_run_id b = submit_cpu("j", 1);
    F->fail_deploy[a] = 100;
    tick_at(0);
    ck_assert_int_eq(count_events(JOBQ_EVENT_DEPLOY_RETRY, a), 1);
    jobq_time_ms deadline;
    jobq_next_deadline(F->s, &deadline);
    ck_assert_int_eq(deadline, 1000);
    for (int t = 1; t < 200; t++)
        tick_at(t);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_FAILED);
    const recorded *f = last_event(JOBQ_EVENT_FAILED, a);
    ck_assert_str_eq(f->reason, "deploy_error");
    ck_assert_ptr_nonnull(strstr(f->detail, "connection refused"));
    ck_assert_int_eq(count_events(JOBQ_EVENT_DEPLOY_RETRY, a), 4);
    /* Retries at 1, 3, 7, 15 s: the fifth attempt at 15 s fails it. */
    ck_assert_int_eq(f->time, 15 * 1000);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_RUNNING);
}
END_TEST

/* ---------------------------------------------------- cancel & report */

START_TEST(cancel_queued_running_and_ended)
{
    open_with(NULL);
    F->hard[0].amount[JOBQ_RESOURCE_CPU] = CORES(2);
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 2);
    jobq_run_id b = submit_cpu("j", 2);
    jobq_run_id c = submit_cpu("j", 2);
    tick_at(0);
    ck_assert_int_eq(jobq_run_cancel(F->s, c, "no longer needed"), 0);
    ck_assert_str_eq(last_event(JOBQ_EVENT_CANCELLED, c)->detail,
                     "no longer needed");
    ck_assert_int_eq(jobq_run_cancel(F->s, a, NULL), 0);
    ck_assert_int_eq(F->cancels[a], 1);
    ck_assert_str_eq(last_event(JOBQ_EVENT_CANCELLED, a)->reason, "user");
    ck_assert_int_eq(jobq_run_cancel(F->s, a, NULL), JOBQ_ESTATE);
    ck_assert_int_eq(jobq_run_cancel(F->s, 9999, NULL), JOBQ_ENOTFOUND);
    tick_at(1);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_RUNNING);
}
END_TEST

START_TEST(report_finished_and_failed)
{
    open_with(NULL);
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 1);
    jobq_run_id b = submit_cpu("j", 1);
    ck_assert_int_eq(jobq_run_report(F->s, a, JOBQ_RUN_FINISHED, NULL),
                     JOBQ_ESTATE);
    tick_at(0);
    ck_assert_int_eq(jobq_run_report(F->s, a, JOBQ_RUN_FINISHED, NULL), 0);
    ck_assert_int_eq(jobq_run_report(F->s, b, JOBQ_RUN_FAILED, "OOMKilled"),
                     0);
    ck_assert_int_eq(jobq_run_report(F->s, b, JOBQ_RUN_QUEUED, NULL),
                     JOBQ_EINVAL);
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    jobq_run_get(F->s, &info, b);
    ck_assert_int_eq(info.state, JOBQ_RUN_FAILED);
    ck_assert_str_eq(info.detail, "OOMKilled");
}
END_TEST

/* ----------------------------------------------------- API discipline */

START_TEST(reentrant_call_from_callback_is_refused)
{
    open_with(NULL);
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    F->try_reentry = true;
    submit_cpu("j", 1);
    ck_assert_int_eq(F->reentry_rc, JOBQ_EBUSY);
}
END_TEST

START_TEST(time_must_not_go_backwards)
{
    open_with(NULL);
    tick_at(10);
    F->now = 5000;
    ck_assert_int_eq(jobq_tick(F->s, JOBQ_TIME_NOW, NULL), JOBQ_EINVAL);
    char msg[256];
    jobq_errmsg(F->s, msg, sizeof msg);
    ck_assert_ptr_nonnull(strstr(msg, "backwards"));
}
END_TEST

START_TEST(bad_arguments_are_refused_with_messages)
{
    jobq_scheduler *s = NULL;
    char err[256];
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.version = 0;
    ck_assert_int_eq(jobq_open(&s, &opts, err, sizeof err), JOBQ_EVERSION);
    ck_assert_ptr_null(s);
    opts.version = 99;
    ck_assert_int_eq(jobq_open(&s, &opts, err, sizeof err), JOBQ_EVERSION);
    opts.version = JOBQ_OPTIONS_VERSION;
    opts.config_json = "{\"batchSize\": 3}";
    ck_assert_int_eq(jobq_open(&s, &opts, err, sizeof err), JOBQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "batchSize"));
    ck_assert_int_eq(jobq_open(NULL, &opts, err, sizeof err), JOBQ_EINVAL);

    open_with(NULL);
    jobq_run_id id;
    ck_assert_int_eq(jobq_run_submit(F->s, &id, "nope", NULL), JOBQ_ENOTFOUND);
    jobq_errmsg(F->s, err, sizeof err);
    ck_assert_ptr_nonnull(strstr(err, "nope"));
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = "";
    def.ns = "ns0";
    ck_assert_int_eq(jobq_job_define(F->s, &def), JOBQ_EINVAL);
    def.name = "ok";
    def.request.amount[JOBQ_RESOURCE_CPU] = -1;
    ck_assert_int_eq(jobq_job_define(F->s, &def), JOBQ_EINVAL);
    def.request.amount[JOBQ_RESOURCE_CPU] = 1;
    def.priority = (jobq_priority)7;
    ck_assert_int_eq(jobq_job_define(F->s, &def), JOBQ_EINVAL);
    def.priority = JOBQ_PRIORITY_HIGH;
    def.version = 0;
    ck_assert_int_eq(jobq_job_define(F->s, &def), JOBQ_EVERSION);
    ck_assert_int_eq(jobq_property_set(F->s, "job-orchestrator.queue."
                                       "high.scheduling-share-percentage",
                                       "101"), JOBQ_ERANGE);
    jobq_errmsg(F->s, err, sizeof err);
    ck_assert_ptr_nonnull(strstr(err, "scheduling-share-percentage"));
    ck_assert_int_eq(jobq_property_set(F->s, "no.such.key", "1"),
                     JOBQ_ENOTFOUND);
    jobq_run_info info = {.version = 0};
    ck_assert_int_eq(jobq_run_get(F->s, &info, 1), JOBQ_EVERSION);
    info.version = JOBQ_RUN_INFO_VERSION;
    ck_assert_int_eq(jobq_run_get(F->s, &info, 12345), JOBQ_ENOTFOUND);
    ck_assert_str_eq(jobq_errname(JOBQ_ENOTFOUND), "JOBQ_ENOTFOUND");
    ck_assert_str_eq(jobq_strerror(JOBQ_OK), "success");
    ck_assert_str_eq(jobq_strerror(-999), "unknown status code");
    ck_assert_int_eq(jobq_version_number(), JOBQ_VERSION_NUMBER);
    ck_assert_str_eq(jobq_version(), JOBQ_VERSION_STRING);
}
END_TEST

START_TEST(retention_forgets_old_ended_runs)
{
    open_with("{\"services\":{\"jobOrchestrator\":{\"settings\":{"
              "\"jobRunCleanup\":{\"enabled\":true,\"retentionPeriod\":100}"
              "}}}}");
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 1);
    jobq_run_id b = submit_cpu("j", 1);
    tick_at(0);
    jobq_run_report(F->s, a, JOBQ_RUN_FINISHED, NULL);
    tick_at(100);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_FINISHED); /* not older yet */
    tick_at(101);
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(jobq_run_get(F->s, &info, a), JOBQ_ENOTFOUND);
    ck_assert_int_eq(state_of(b), JOBQ_RUN_RUNNING); /* never live ones */
}
END_TEST

START_TEST(probe_failure_admits_nothing_that_cycle)
{
    open_with(NULL);
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id a = submit_cpu("j", 1);
    F->probe_fails = true;
    jobq_tick_stats st = tick_at(0);
    ck_assert_int_eq(st.probe_errors, 1);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_QUEUED);
    F->probe_fails = false;
    tick_at(1);
    ck_assert_int_eq(state_of(a), JOBQ_RUN_RUNNING);
}
END_TEST

/* ------------------------------------------ all or nothing, no database */

/* Test hook of the core (lib/core/undo.h): the Nth allocation fails. */
void jq_core_fail_alloc_after(uint64_t n);

/* Everything the host can see of the handle. */
static char *visible_state(void)
{
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    jobq_run_id *ids = NULL;
    size_t n = 0;
    ck_assert_int_eq(jobq_run_list(F->s, &ids, &n, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
        ck_assert_int_eq(jobq_run_get(F->s, &info, ids[i]), 0);
        len += (size_t)snprintf(out + len, cap - len,
                                "%llu %d %s %s %s %llu %d %u\n",
                                (unsigned long long)info.id, (int)info.state,
                                info.job, info.ns, info.detail,
                                (unsigned long long)info.queue_position,
                                info.blocked, info.deploy_attempts);
        ck_assert_uint_lt(len, cap);
    }
    jobq_free(ids);
    char *text = NULL, *config = NULL;
    size_t text_len = 0;
    ck_assert_int_eq(jobq_metrics_render(F->s, &text, &text_len), 0);
    ck_assert_int_eq(jobq_config_dump(F->s, &config), 0);
    len += (size_t)snprintf(out + len, cap - len, "%s\n%s", config, text);
    ck_assert_uint_lt(len, cap);
    jobq_free(text);
    jobq_free(config);
    return out;
}

START_TEST(failed_batch_submit_changes_nothing_in_memory)
{
    open_with(NULL);
    define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
    jobq_run_id first = submit_cpu("j", 1);
    char *before = visible_state();
    int events = F->nevents;
    const char *jobs[3] = {"j", "j", "no-such-job"};
    jobq_run_id ids[3] = {7, 7, 7};
    ck_assert_int_eq(jobq_run_submit_batch(F->s, ids, jobs, NULL, 3),
                     JOBQ_ENOTFOUND);
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(ids[i], 0);
    char msg[256];
    jobq_errmsg(F->s, msg, sizeof msg);
    ck_assert_ptr_nonnull(strstr(msg, "runs[2]"));
    char *after = visible_state();
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(F->nevents, events); /* not even "submitted" */
    ck_assert_uint_eq(submit_cpu("j", 1), first + 1); /* ids handed out again */
    free(before);
    free(after);
}
END_TEST

/* Every allocation of a call fails in turn: the call either succeeds or
 * leaves everything as it was, publishes nothing, and leaks nothing (the
 * unit tests also run under valgrind). */
START_TEST(allocation_failures_change_nothing)
{
    int op = _i;
    bool succeeded = false;
    for (uint64_t n = 1; n < 200 && !succeeded; n++) {
        open_with(NULL);
        define("j", "ns0", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY);
        define("k", "ns1", JOBQ_PRIORITY_NORMAL, JOBQ_FLOW_PRIORITY);
        jobq_run_id a = submit_cpu("j", 1);
        submit_cpu("k", 1);
        char *before = visible_state();
        int events = F->nevents;
        jq_core_fail_alloc_after(n);
        int rc;
        if (op == 0) { /* a new job in a new namespace, with a payload */
            jobq_job_def def = JOBQ_JOB_DEF_INIT;
            def.name = "fresh";
            def.ns = "ns-new";
            def.domain = "somewhere";
            def.payload = "0123456789";
            def.payload_len = 10;
            rc = jobq_job_define(F->s, &def);
        } else if (op == 1) { /* redefining an existing job */
            jobq_job_def def = JOBQ_JOB_DEF_INIT;
            def.name = "j";
            def.ns = "ns2";
            def.domain = "elsewhere";
            def.payload = "abc";
            def.payload_len = 3;
            rc = jobq_job_define(F->s, &def);
        } else if (op == 2) { /* enough runs to grow the lookup table */
            const char *jobs[80];
            jobq_submit_opts opts[80];
            for (int i = 0; i < 80; i++) {
                jobs[i] = i % 2 ? "j" : "k";
                jobq_submit_opts_init(&opts[i], JOBQ_SUBMIT_OPTS_VERSION);
                opts[i].run_name = "a-run-with-a-name";
            }
            rc = jobq_run_submit_batch(F->s, NULL, jobs, opts, 80);
        } else { /* cancel: a detail string and an event */
            rc = jobq_run_cancel(F->s, a, "no longer needed");
        }
        jq_core_fail_alloc_after(0);
        if (rc == 0) {
            succeeded = true;
        } else {
            ck_assert_int_eq(rc, JOBQ_ENOMEM);
            char *after = visible_state();
            ck_assert_msg(strcmp(before, after) == 0,
                          "allocation %llu: the failed call changed state",
                          (unsigned long long)n);
            ck_assert_int_eq(F->nevents, events);
            free(after);
            /* The handle stays usable. */
            ck_assert_uint_gt(submit_cpu("j", 1), 0);
        }
        free(before);
        teardown();
    }
    ck_assert(succeeded);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, nothing_overtakes_a_blocked_head);
    tcase_add_loop_test(tc, block_reason_is_first_short_dimension, 0, 4);
    tcase_add_test(tc, new_blocked_event_when_reason_changes);
    tcase_add_test(tc, head_timeout_without_retries_cancels_at_exact_time);
    tcase_add_test(tc, head_timeout_retries_then_cancels);
    tcase_add_test(tc, timer_starts_only_when_new_head_is_found_blocked);
    tcase_add_loop_test(tc, wrr_share_across_cycles, 0, 6);
    tcase_add_test(tc, wrr_blocked_high_gives_slot_to_normal);
    tcase_add_test(tc, namespaces_are_isolated);
    tcase_add_test(tc, batch_cap_and_namespace_turns);
    tcase_add_test(tc, batch_never_over_admits);
    tcase_add_test(tc, finished_runs_release_quota);
    tcase_add_test(tc, vanished_deployment_fails_with_reason);
    tcase_add_test(tc, legacy_bypasses_queue_and_quota);
    tcase_add_test(tc, disable_refused_while_queued_then_migrate);
    tcase_add_test(tc, job_switched_to_legacy_leaves_queue);
    tcase_add_test(tc, stale_quota_reschedules_at_head);
    tcase_add_test(tc, a_refused_head_keeps_its_timer);
    tcase_add_test(tc, a_head_that_fits_but_fails_to_deploy_is_no_longer_blocked);
    tcase_add_test(tc, async_quota_rejection_returns_run_to_head);
    tcase_add_test(tc, deploy_errors_retry_with_backoff_then_fail);
    tcase_add_test(tc, async_refusals_back_off_and_time_out);
    tcase_add_test(tc, head_timeout_retry_of_a_refused_head_keeps_the_backoff);
    tcase_add_test(tc, next_deadline_forgets_a_passed_backoff);
    tcase_add_test(tc, cancel_queued_running_and_ended);
    tcase_add_test(tc, report_finished_and_failed);
    tcase_add_test(tc, reentrant_call_from_callback_is_refused);
    tcase_add_test(tc, time_must_not_go_backwards);
    tcase_add_test(tc, bad_arguments_are_refused_with_messages);
    tcase_add_test(tc, retention_forgets_old_ended_runs);
    tcase_add_test(tc, probe_failure_admits_nothing_that_cycle);
    tcase_add_test(tc, failed_batch_submit_changes_nothing_in_memory);
    tcase_add_loop_test(tc, allocation_failures_change_nothing, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}
