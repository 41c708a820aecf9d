/*
 * Closing and reopening: queues come back in FIFO order, WRR state and the
 * namespace turn pointer continue where they were, properties and the
 * blocked-head timer survive, runs found DEPLOYING are settled through the
 * deployer, idempotency keys hold, and ids are never reused.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_fixture.h"
#include "test_util.h"

static jobq_scheduler *reopen(jobq_scheduler *s)
{
    jobq_close(s);
    return fx_open(NULL);
}

static uint64_t position_of(jobq_scheduler *s, jobq_run_id id)
{
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(jobq_run_get(s, &info, id), 0);
    ck_assert_int_eq(info.state, JOBQ_RUN_QUEUED);
    return info.queue_position;
}

static jobq_run_state state_of(jobq_scheduler *s, jobq_run_id id)
{
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(jobq_run_get(s, &info, id), 0);
    return info.state;
}

START_TEST(fifo_positions_survive)
{
    jobq_scheduler *s = fx_open(NULL);
    fx_define(s, "etl", "analytics", JOBQ_PRIORITY_NORMAL, 1000);
    jobq_run_id ids[6];
    for (int i = 0; i < 6; i++)
        ids[i] = fx_submit(s, "etl", NULL);
    ck_assert_int_eq(jobq_run_cancel(s, ids[2], "not needed"), 0);
    s = reopen(s);
    uint64_t expected = 0;
    for (int i = 0; i < 6; i++)
        if (i != 2)
            ck_assert_uint_eq(position_of(s, ids[i]), expected++);
    ck_assert_int_eq(state_of(s, ids[2]), JOBQ_RUN_CANCELLED);
    /* And they deploy in that order. */
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    ck_assert_uint_eq(fx.deploy_count, 5);
    ck_assert_uint_eq(fx.deployed[0], ids[0]);
    ck_assert_uint_eq(fx.deployed[1], ids[1]);
    ck_assert_uint_eq(fx.deployed[2], ids[3]);
    ck_assert_uint_eq(fx.deployed[4], ids[5]);
    jobq_close(s);
}
END_TEST

START_TEST(terminal_runs_read_from_disk)
{
    jobq_scheduler *s = fx_open(NULL);
    fx_define(s, "etl", "analytics", JOBQ_PRIORITY_NORMAL, 1000);
    jobq_run_id id = fx_submit(s, "etl", "doomed");
    ck_assert_int_eq(jobq_run_cancel(s, id, "operator said so"), 0);
    for (int round = 0; round < 2; round++) {
        jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
        ck_assert_int_eq(jobq_run_get(s, &info, id), 0);
        ck_assert_int_eq(info.state, JOBQ_RUN_CANCELLED);
        ck_assert_str_eq(info.reason, "user");
        ck_assert_str_eq(info.detail, "operator said so");
        ck_assert_str_eq(info.run_name, "doomed");
        ck_assert_str_eq(info.ns, "analytics");
        ck_assert_int_eq(info.request.amount[JOBQ_RESOURCE_CPU], 1000);
        s = reopen(s);
    }
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(jobq_run_get(s, &info, id + 100), JOBQ_ENOTFOUND);
    /* Off the memory, still known to have ended. */
    ck_assert_int_eq(jobq_run_cancel(s, id, NULL), JOBQ_ESTATE);
    ck_assert_int_eq(jobq_run_report(s, id, JOBQ_RUN_FINISHED, NULL),
                     JOBQ_ESTATE);
    ck_assert_int_eq(jobq_run_cancel(s, id + 100, NULL), JOBQ_ENOTFOUND);
    jobq_close(s);
}
END_TEST

/* Which priority each of `n` single-deployment cycles serves, reopening
 * between cycles when asked. */
static void wrr_sequence(int *out, int n, bool reopen_each)
{
    fx.deploy_count = 0;
    jobq_scheduler *s = fx_open("{\"services\":{\"jobOrchestrator\":{"
                                "\"settings\":{\"batchSize\":1}}},"
                                "\"systemProperties\":{\"job-orchestrator."
                                "queue.high.scheduling-share-percentage\":"
                                "70}}");
    fx_define(s, "hi", "analytics", JOBQ_PRIORITY_HIGH, 1);
    fx_define(s, "lo", "analytics", JOBQ_PRIORITY_NORMAL, 1);
    for (int i = 0; i < n; i++) {
        fx_submit(s, "hi", NULL);
        fx_submit(s, "lo", NULL);
    }
    for (int i = 0; i < n; i++) {
        fx.now += 1000;
        ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
        if (reopen_each)
            s = reopen(s);
    }
    ck_assert_uint_eq(fx.deploy_count, (size_t)n);
    for (int i = 0; i < n; i++)
        out[i] = fx.deployed_priority[i];
    jobq_close(s);
}

START_TEST(wrr_state_survives)
{
    enum { N = 20 };
    int straight[N], reopened[N];
    wrr_sequence(straight, N, false);
    fx_teardown();
    fx_setup();
    wrr_sequence(reopened, N, true);
    int high = 0;
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(straight[i], reopened[i]);
        high += straight[i] == JOBQ_PRIORITY_HIGH;
    }
    ck_assert_int_eq(high, 14); /* 70% of 20 */
}
END_TEST

START_TEST(turn_pointer_survives)
{
    jobq_scheduler *s = fx_open("{\"services\":{\"jobOrchestrator\":{"
                                "\"settings\":{\"batchSize\":1}}}}");
    const char *names[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++)
        fx_define(s, names[i], names[i], JOBQ_PRIORITY_NORMAL, 1);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 3; i++)
            fx_submit(s, names[i], NULL);
    for (int i = 0; i < 7; i++) {
        fx.now += 1000;
        ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
        s = reopen(s);
    }
    ck_assert_uint_eq(fx.deploy_count, 7);
    for (size_t i = 0; i < fx.deploy_count; i++)
        ck_assert_str_eq(fx.deployed_ns[i], names[i % 3]);
    jobq_close(s);
}
END_TEST

START_TEST(properties_survive)
{
    jobq_scheduler *s = fx_open("{\"systemProperties\":{\"job-orchestrator."
                                "queue.head-timeout-seconds\":100}}");
    ck_assert_int_eq(jobq_property_set(s, "job-orchestrator.queue."
                                          "head-timeout-seconds", "77"), 0);
    ck_assert_int_eq(jobq_property_set(s, "services.jobOrchestrator."
                                          "settings.batchSize", "5"), 0);
    jobq_close(s);
    /* The host's systemProperties do not override the persisted ones; its
     * settings do. */
    s = fx_open("{\"systemProperties\":{\"job-orchestrator.queue."
                "head-timeout-seconds\":100},\"services\":{"
                "\"jobOrchestrator\":{\"settings\":{\"batchSize\":9}}}}");
    char buf[32];
    ck_assert_int_eq(jobq_property_get(s, "job-orchestrator.queue."
                                          "head-timeout-seconds", buf,
                                       sizeof buf), 0);
    ck_assert_str_eq(buf, "77");
    ck_assert_int_eq(jobq_property_get(s, "services.jobOrchestrator."
                                          "settings.batchSize", buf,
                                       sizeof buf), 0);
    ck_assert_str_eq(buf, "9");
    jobq_close(s);
    s = fx_open(NULL);
    ck_assert_int_eq(jobq_property_get(s, "services.jobOrchestrator."
                                          "settings.batchSize", buf,
                                       sizeof buf), 0);
    ck_assert_str_eq(buf, "9");
    jobq_close(s);
}
END_TEST

START_TEST(blocked_head_timer_survives)
{
    fx.hard.amount[JOBQ_RESOURCE_CPU] = 500;
    jobq_scheduler *s = fx_open("{\"systemProperties\":{\"job-orchestrator."
                                "queue.head-timeout-seconds\":60}}");
    fx_define(s, "big", "analytics", JOBQ_PRIORITY_NORMAL, 1000);
    jobq_run_id id = fx_submit(s, "big", NULL);
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    jobq_time_ms blocked_at = fx.now;
    s = reopen(s);
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(jobq_run_get(s, &info, id), 0);
    ck_assert(info.blocked);
    ck_assert_int_eq(info.blocked_resource, JOBQ_RESOURCE_CPU);
    ck_assert_int_eq(info.blocked_requested, 1000);
    ck_assert_int_eq(info.blocked_available, 500);
    ck_assert_int_eq(info.blocked_since, blocked_at);
    ck_assert_int_eq(info.head_timeout_at, blocked_at + 60000);
    fx.now = blocked_at + 60000;
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    ck_assert_int_eq(state_of(s, id), JOBQ_RUN_CANCELLED);
    jobq_close(s);
}
END_TEST

static void assert_explains(jobq_scheduler *s, jobq_run_id id,
                            const char *text)
{
    char *json = NULL;
    ck_assert_int_eq(jobq_run_explain(s, &json, id), 0);
    ck_assert_msg(strstr(json, text) != NULL, "no %s in %s", text, json);
    jobq_free(json);
}

/* SPEC 2.5: a head's refusal streak, its backoff and its head-timeout timer
 * survive a restart, and explain reports them. */
START_TEST(refusal_streak_survives)
{
    jobq_scheduler *s = fx_open(NULL);
    fx_define(s, "etl", "analytics", JOBQ_PRIORITY_NORMAL, 1000);
    jobq_run_id a = fx_submit(s, "etl", NULL);
    jobq_run_id b = fx_submit(s, "etl", NULL);
    fx.refuse_quota = 3;
    jobq_time_ms first = fx.now; /* refusals at 1, 2 and 4 s */
    for (jobq_time_ms t = 1000; t <= 4000; t += 1000) {
        fx.now = t;
        ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    }
    ck_assert_int_eq(fx.refuse_quota, 0);
    ck_assert_uint_eq(fx.deploy_count, 0);
    s = reopen(s);
    jobq_time_ms deadline = 0;
    ck_assert_int_eq(jobq_next_deadline(s, &deadline), 0);
    ck_assert_int_eq(deadline, 8000); /* 4 s after the third */
    assert_explains(s, a, "refused 3 times by the cluster, next attempt "
                          "in 4 s");
    assert_explains(s, a, "exceeded quota: compute-resources");
    assert_explains(s, b, "\"refused\":{\"times\":3");
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(jobq_run_get(s, &info, a), 0);
    ck_assert(!info.blocked); /* short of nothing */
    ck_assert_int_eq(info.head_timeout_at, first + 3600 * 1000);
    /* The queue still sits out; the fourth refusal waits 8 s. */
    fx.now = 7000;
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    fx.refuse_quota = 1;
    fx.now = 8000;
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    ck_assert_int_eq(fx.refuse_quota, 0);
    s = reopen(s);
    assert_explains(s, a, "refused 4 times by the cluster, next attempt "
                          "in 8 s");
    fx.now = 16000;
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    ck_assert_uint_eq(fx.deploy_count, 2);
    ck_assert_uint_eq(fx.deployed[0], a);
    assert_explains(s, b, "\"refused\":null");
    jobq_close(s);
}
END_TEST

/* A database in which run `victim` was recorded DEPLOYING and then the
 * process died, with two runs queued behind it. */
static void crash_while_deploying(jobq_run_id ids[3])
{
    jobq_scheduler *s = fx_open(NULL);
    fx_define(s, "etl", "analytics", JOBQ_PRIORITY_NORMAL, 1000);
    for (int i = 0; i < 3; i++)
        ids[i] = fx_submit(s, "etl", NULL);
    jobq_close(s);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE runs SET state = 1, deploy_attempts = "
             "1 WHERE id = %llu", (unsigned long long)ids[0]);
    fx_sql(sql);
}

START_TEST(deploying_found_gone_goes_back_to_head)
{
    jobq_run_id ids[3];
    crash_while_deploying(ids);
    fx.has_poll = true;
    fx.poll_answer = JOBQ_POLL_GONE;
    fx.hard.amount[JOBQ_RESOURCE_CPU] = 0; /* keep everything queued */
    jobq_scheduler *s = fx_open(NULL);
    ck_assert_uint_eq(fx.deploy_count, 0);
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(position_of(s, ids[i]), (uint64_t)i);
    char *json = NULL;
    ck_assert_int_eq(jobq_run_explain(s, &json, ids[0]), 0);
    ck_assert_ptr_nonnull(strstr(json, "\"reason\":\"recovered\""));
    jobq_free(json);
    /* Once there is room it is deployed exactly once, first. */
    fx.hard.amount[JOBQ_RESOURCE_CPU] = JOBQ_UNLIMITED;
    fx.poll_answer = JOBQ_POLL_RUNNING;
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    ck_assert_uint_eq(fx.deploy_count, 3);
    ck_assert_uint_eq(fx.deployed[0], ids[0]);
    jobq_close(s);
}
END_TEST

START_TEST(deploying_found_running_is_running)
{
    jobq_run_id ids[3];
    crash_while_deploying(ids);
    fx.has_poll = true;
    fx.poll_answer = JOBQ_POLL_RUNNING;
    jobq_scheduler *s = fx_open(NULL);
    ck_assert_int_eq(state_of(s, ids[0]), JOBQ_RUN_RUNNING);
    ck_assert_uint_eq(position_of(s, ids[1]), 0);
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    /* Never deployed again. */
    ck_assert_uint_eq(fx.deploy_count, 2);
    ck_assert_uint_eq(fx.deployed[0], ids[1]);
    jobq_close(s);
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM event_log "
                                "WHERE type = 2 AND run_id = 1"), 1);
}
END_TEST

START_TEST(deploying_found_finished_is_finished)
{
    jobq_run_id ids[3];
    crash_while_deploying(ids);
    fx.has_poll = true;
    fx.poll_answer = JOBQ_POLL_FINISHED;
    jobq_scheduler *s = fx_open(NULL);
    ck_assert_int_eq(state_of(s, ids[0]), JOBQ_RUN_FINISHED);
    jobq_close(s);
}
END_TEST

START_TEST(deploying_without_poll_is_taken_as_deployed)
{
    jobq_run_id ids[3];
    crash_while_deploying(ids);
    fx.has_poll = false;
    jobq_scheduler *s = fx_open(NULL);
    ck_assert_int_eq(state_of(s, ids[0]), JOBQ_RUN_RUNNING);
    jobq_close(s);
}
END_TEST

START_TEST(deploying_without_deployer_waits)
{
    jobq_run_id ids[3];
    crash_while_deploying(ids);
    jobq_scheduler *s = NULL;
    ck_assert_int_eq(fx_try_open(&s, NULL, false, false, NULL, 0), 0);
    ck_assert_int_eq(state_of(s, ids[0]), JOBQ_RUN_DEPLOYING);
    jobq_close(s);
    /* The next host with a deployer settles it. */
    fx.has_poll = true;
    fx.poll_answer = JOBQ_POLL_GONE;
    s = fx_open(NULL);
    ck_assert_uint_eq(position_of(s, ids[0]), 0);
    jobq_close(s);
}
END_TEST

START_TEST(legacy_deploying_found_gone_is_deployed_again)
{
    jobq_scheduler *s = fx_open(NULL);
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = "export";
    def.ns = "ml";
    def.flow = JOBQ_FLOW_LEGACY;
    ck_assert_int_eq(jobq_job_define(s, &def), 0);
    jobq_run_id id = fx_submit(s, "export", NULL);
    ck_assert_uint_eq(fx.deploy_count, 1);
    jobq_close(s);
    fx_sql("UPDATE runs SET state = 1");
    fx.has_poll = true;
    fx.poll_answer = JOBQ_POLL_GONE;
    fx.deploy_count = 0;
    s = fx_open(NULL);
    ck_assert_uint_eq(fx.deploy_count, 1);
    ck_assert_uint_eq(fx.deployed[0], id);
    ck_assert_int_eq(state_of(s, id), JOBQ_RUN_RUNNING);
    jobq_close(s);
}
END_TEST

START_TEST(idempotency_key_returns_first_run)
{
    jobq_scheduler *s = fx_open(NULL);
    fx_define(s, "etl", "analytics", JOBQ_PRIORITY_NORMAL, 1000);
    jobq_submit_opts opts = JOBQ_SUBMIT_OPTS_INIT;
    opts.idempotency_key = "order-42";
    jobq_run_id first = 0, again = 0, other = 0;
    ck_assert_int_eq(jobq_run_submit(s, &first, "etl", &opts), 0);
    ck_assert_int_eq(jobq_run_submit(s, &again, "etl", &opts), 0);
    ck_assert_uint_eq(first, again);
    s = reopen(s);
    ck_assert_int_eq(jobq_run_submit(s, &again, "etl", &opts), 0);
    ck_assert_uint_eq(first, again);
    opts.idempotency_key = "order-43";
    ck_assert_int_eq(jobq_run_submit(s, &other, "etl", &opts), 0);
    ck_assert_uint_ne(first, other);
    jobq_close(s);
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM runs"), 2);
}
END_TEST

START_TEST(idempotency_key_needs_database)
{
    jobq_options opts = JOBQ_OPTIONS_INIT;
    jobq_scheduler *s = NULL;
    ck_assert_int_eq(jobq_open(&s, &opts, NULL, 0), 0);
    fx_define(s, "etl", "analytics", JOBQ_PRIORITY_NORMAL, 1000);
    jobq_submit_opts so = JOBQ_SUBMIT_OPTS_INIT;
    so.idempotency_key = "k";
    ck_assert_int_eq(jobq_run_submit(s, NULL, "etl", &so), JOBQ_EINVAL);
    jobq_close(s);
}
END_TEST

START_TEST(ids_are_never_reused)
{
    jobq_scheduler *s = fx_open("{\"services\":{\"jobOrchestrator\":{"
                                "\"settings\":{\"jobRunCleanup\":{"
                                "\"retentionPeriod\":0}}}}}");
    fx_define(s, "etl", "analytics", JOBQ_PRIORITY_NORMAL, 1000);
    jobq_run_id last = 0;
    for (int i = 0; i < 3; i++) {
        last = fx_submit(s, "etl", NULL);
        ck_assert_int_eq(jobq_run_cancel(s, last, NULL), 0);
    }
    fx.now += 1000;
    uint64_t deleted = 0;
    ck_assert_int_eq(jobq_cleanup(s, 0, &deleted), 0);
    ck_assert_uint_eq(deleted, 3);
    s = reopen(s);
    ck_assert_uint_eq(fx_submit(s, "etl", NULL), last + 1);
    jobq_close(s);
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM events WHERE run_id <= "
                                "3"), 0);
}
END_TEST

START_TEST(payload_read_from_disk_at_deploy)
{
    jobq_scheduler *s = fx_open(NULL);
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = "spark";
    def.ns = "analytics";
    def.payload = "kind: SparkApplication";
    def.payload_len = strlen(def.payload);
    ck_assert_int_eq(jobq_job_define(s, &def), 0);
    fx_submit(s, "spark", NULL);
    /* Changing the flow (no payload given) keeps the payload. */
    ck_assert_int_eq(jobq_job_set_flow(s, "spark", JOBQ_FLOW_PRIORITY), 0);
    s = reopen(s);
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    ck_assert_uint_eq(fx.deploy_count, 1);
    ck_assert_uint_eq(fx.payload_len, strlen("kind: SparkApplication"));
    ck_assert_int_eq(memcmp(fx.payload, "kind: SparkApplication",
                            fx.payload_len), 0);
    jobq_close(s);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *suite = suite_create("store_reopen");
    TCase *tc = tcase_create("reopen");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, fifo_positions_survive);
    tcase_add_test(tc, terminal_runs_read_from_disk);
    tcase_add_test(tc, wrr_state_survives);
    tcase_add_test(tc, turn_pointer_survives);
    tcase_add_test(tc, properties_survive);
    tcase_add_test(tc, blocked_head_timer_survives);
    tcase_add_test(tc, deploying_found_gone_goes_back_to_head);
    tcase_add_test(tc, deploying_found_running_is_running);
    tcase_add_test(tc, deploying_found_finished_is_finished);
    tcase_add_test(tc, deploying_without_poll_is_taken_as_deployed);
    tcase_add_test(tc, deploying_without_deployer_waits);
    tcase_add_test(tc, legacy_deploying_found_gone_is_deployed_again);
    tcase_add_test(tc, idempotency_key_returns_first_run);
    tcase_add_test(tc, idempotency_key_needs_database);
    tcase_add_test(tc, ids_are_never_reused);
    tcase_add_test(tc, payload_read_from_disk_at_deploy);
    tcase_add_test(tc, refusal_streak_survives);
    suite_add_tcase(suite, tc);
    return suite;
}
