#define _DEFAULT_SOURCE /* usleep */
/*
 * Live control through the database (include/jobq/client.h): client
 * handles write requests, the scheduling handle applies them at the start
 * of a cycle. The client and the scheduler are separate connections here
 * (one process); the cross-process versions are the crash test, the
 * bindings' tests and tests/k8s/test_live_control.py.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_fixture.h"
#include "test_util.h"

#define SHARE "job-orchestrator.queue.high.scheduling-share-percentage"
#define TIMEOUT "job-orchestrator.queue.head-timeout-seconds"

static jobq_scheduler *client(int64_t wait_ms)
{
    jobq_client_opts opts = JOBQ_CLIENT_OPTS_INIT;
    opts.wait_timeout_ms = wait_ms;
    opts.durability = JOBQ_DURABILITY_NORMAL;
    jobq_scheduler *c = NULL;
    char err[256] = "";
    int rc = jobq_open_client(&c, fx.path, &opts, err, sizeof err);
    ck_assert_msg(rc == 0, "jobq_open_client: %s (%s)", jobq_errname(rc), err);
    return c;
}

static jobq_request_id last_request(jobq_scheduler *c)
{
    jobq_request_id id = 0;
    ck_assert_int_eq(jobq_request_last(c, &id), 0);
    ck_assert_int_gt(id, 0);
    return id;
}

static jobq_request_info outcome(jobq_scheduler *h, jobq_request_id id)
{
    jobq_request_info info = JOBQ_REQUEST_INFO_INIT;
    ck_assert_int_eq(jobq_request_get(h, &info, id), 0);
    return info;
}

static void tick(jobq_scheduler *s)
{
    fx.now += 1000;
    ck_assert_int_eq(jobq_tick(s, JOBQ_TIME_NOW, NULL), 0);
}

static jobq_request_id enqueue_submit(jobq_scheduler *c, const char *job,
                                      const char *key)
{
    jobq_submit_opts so = JOBQ_SUBMIT_OPTS_INIT;
    so.idempotency_key = key;
    jobq_run_id id = 99;
    ck_assert_int_eq(jobq_run_submit(c, &id, job, &so), 0);
    ck_assert_uint_eq(id, 0); /* enqueue only: no outcome yet */
    return last_request(c);
}

static jobq_scheduler *scheduler_with_job(void)
{
    jobq_scheduler *s = fx_open(NULL);
    fx_define(s, "etl", "analytics", JOBQ_PRIORITY_NORMAL, 1000);
    return s;
}

START_TEST(applied_in_commit_order_with_outcomes)
{
    jobq_scheduler *s = scheduler_with_job();
    jobq_scheduler *c = client(0);
    jobq_request_id r1 = enqueue_submit(c, "etl", NULL);
    jobq_request_id r2 = enqueue_submit(c, "etl", "k1");
    ck_assert_int_eq(jobq_property_set(c, TIMEOUT, "600"), 0);
    jobq_request_id r3 = last_request(c);
    jobq_request_id r4 = enqueue_submit(c, "etl", NULL);
    ck_assert_int_lt(r1, r2);
    ck_assert_int_lt(r3, r4);
    /* Nothing is applied before the scheduler's cycle. */
    ck_assert_int_eq(outcome(c, r1).state, JOBQ_REQUEST_PENDING);
    bool pending = false;
    ck_assert_int_eq(jobq_requests_pending(s, &pending), 0);
    ck_assert(pending);
    tick(s);
    jobq_request_info i1 = outcome(c, r1), i2 = outcome(c, r2),
                      i3 = outcome(c, r3), i4 = outcome(c, r4);
    ck_assert_int_eq(i1.state, JOBQ_REQUEST_APPLIED);
    ck_assert_int_eq(i1.status, 0);
    ck_assert_str_eq(i1.message, "");
    ck_assert_int_eq(i1.kind, JOBQ_REQUEST_SUBMIT);
    ck_assert_int_eq(i3.kind, JOBQ_REQUEST_PROPERTY_SET);
    ck_assert_str_eq(i3.summary, TIMEOUT "=600");
    /* Applied in order: run ids follow request ids. */
    ck_assert_uint_lt(i1.run_id, i2.run_id);
    ck_assert_uint_lt(i2.run_id, i4.run_id);
    ck_assert_int_ge(i1.applied_at, 0);
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(jobq_run_get(s, &info, i2.run_id), 0);
    ck_assert_str_eq(info.job, "etl");
    char buf[32];
    ck_assert_int_eq(jobq_property_get(s, TIMEOUT, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "600");
    /* The client's reads see the scheduler's commits. */
    ck_assert_int_eq(jobq_run_get(c, &info, i4.run_id), 0);
    ck_assert_int_eq(jobq_property_get(c, TIMEOUT, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "600");
    jobq_run_id *ids = NULL;
    size_t n = 0;
    ck_assert_int_eq(jobq_request_runs(c, &ids, &n, r2), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ids[0], i2.run_id);
    jobq_free(ids);
    jobq_request_id *reqs = NULL;
    ck_assert_int_eq(jobq_request_list(c, &reqs, &n, 2), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(reqs[0], r3);
    ck_assert_int_eq(reqs[1], r4);
    jobq_free(reqs);
    ck_assert_int_eq(jobq_requests_pending(s, &pending), 0);
    ck_assert(!pending);
    jobq_close(c);
    jobq_close(s);
}
END_TEST

START_TEST(refusals_are_clean)
{
    jobq_scheduler *s = scheduler_with_job();
    jobq_run_id ended = fx_submit(s, "etl", NULL);
    ck_assert_int_eq(jobq_run_cancel(s, ended, NULL), 0);
    fx_submit(s, "etl", NULL); /* a queued run */
    jobq_scheduler *c = client(0);
    enqueue_submit(c, "no-such-job", NULL);
    jobq_request_id unknown = last_request(c);
    ck_assert_int_eq(jobq_property_set(c, SHARE, "150"), 0);
    jobq_request_id range = last_request(c);
    ck_assert_int_eq(jobq_run_cancel(c, ended, "again"), 0);
    jobq_request_id cancel = last_request(c);
    ck_assert_int_eq(jobq_property_set(c, "features.jobOrchestrator.enabled",
                                       "false"), 0);
    jobq_request_id disable = last_request(c);
    ck_assert_int_eq(jobq_configure(c, "{\"systemProperties\": {\"" TIMEOUT
                                       "\": 60, \"" SHARE "\": -1}}"), 0);
    jobq_request_id config = last_request(c);
    tick(s);
    jobq_request_info i = outcome(c, unknown);
    ck_assert_int_eq(i.state, JOBQ_REQUEST_REFUSED);
    ck_assert_int_eq(i.status, JOBQ_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(i.message, "no-such-job"));
    i = outcome(c, range);
    ck_assert_int_eq(i.status, JOBQ_ERANGE);
    ck_assert_ptr_nonnull(strstr(i.message, "scheduling-share-percentage"));
    i = outcome(c, cancel);
    ck_assert_int_eq(i.status, JOBQ_ESTATE);
    ck_assert_ptr_nonnull(strstr(i.message, "already ended"));
    i = outcome(c, disable);
    ck_assert_int_eq(i.status, JOBQ_ESTATE);
    ck_assert_ptr_nonnull(strstr(i.message, "migrate"));
    i = outcome(c, config);
    ck_assert_int_ne(i.status, 0);
    /* Nothing half-applied: the timeout of the refused document too. */
    char buf[32];
    ck_assert_int_eq(jobq_property_get(s, TIMEOUT, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "3600");
    ck_assert_int_eq(jobq_property_get(s, SHARE, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "90");
    ck_assert_int_eq(jobq_property_get(s, "features.jobOrchestrator.enabled",
                                       buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "true");
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM runs"), 2);
    jobq_close(c);
    jobq_close(s);
}
END_TEST

START_TEST(queued_while_no_scheduler_runs)
{
    jobq_scheduler *s = scheduler_with_job();
    jobq_close(s);
    jobq_scheduler *c = client(0);
    jobq_request_id r[5];
    for (int i = 0; i < 5; i++)
        r[i] = enqueue_submit(c, "etl", NULL);
    ck_assert_int_eq(jobq_migrate_to_legacy(c, NULL), 0);
    jobq_request_id migrate = last_request(c);
    bool pending = false;
    ck_assert_int_eq(jobq_requests_pending(c, &pending), 0);
    ck_assert(pending);
    s = fx_open(NULL);
    tick(s);
    jobq_run_id prev = 0;
    for (int i = 0; i < 5; i++) {
        jobq_request_info info = outcome(c, r[i]);
        ck_assert_int_eq(info.status, 0);
        ck_assert_uint_gt(info.run_id, prev);
        prev = info.run_id;
    }
    /* The migration came after the submits: it moved all five. */
    jobq_request_info m = outcome(c, migrate);
    ck_assert_int_eq(m.status, 0);
    ck_assert_uint_eq(m.count, 5);
    ck_assert_uint_eq(fx.deploy_count, 5);
    ck_assert_int_eq(jobq_requests_pending(c, &pending), 0);
    ck_assert(!pending);
    jobq_close(c);
    jobq_close(s);
}
END_TEST

static void file_state(const char *suffix, struct stat *sb)
{
    char path[160];
    snprintf(path, sizeof path, "%s%s", fx.path, suffix);
    ck_assert_int_eq(stat(path, sb), 0);
}

START_TEST(idle_cycles_write_nothing)
{
    jobq_scheduler *s = scheduler_with_job();
    jobq_scheduler *c = client(0);
    enqueue_submit(c, "etl", NULL);
    tick(s);
    tick(s);
    struct stat db0, wal0, db1, wal1;
    file_state("", &db0);
    file_state("-wal", &wal0);
    long changes0 = fx_sql_int("SELECT count(*) FROM requests");
    usleep(20000); /* so that any write would show in the mtime */
    for (int i = 0; i < 1000; i++) {
        /* The client reads in between: reads commit nothing. */
        if (i % 100 == 0) {
            jobq_run_id *ids = NULL;
            size_t n = 0;
            ck_assert_int_eq(jobq_run_list(c, &ids, &n, NULL), 0);
            jobq_free(ids);
        }
        tick(s);
    }
    file_state("", &db1);
    file_state("-wal", &wal1);
    ck_assert_int_eq(db1.st_size, db0.st_size);
    ck_assert_int_eq(wal1.st_size, wal0.st_size);
    ck_assert(db1.st_mtim.tv_sec == db0.st_mtim.tv_sec &&
              db1.st_mtim.tv_nsec == db0.st_mtim.tv_nsec);
    ck_assert(wal1.st_mtim.tv_sec == wal0.st_mtim.tv_sec &&
              wal1.st_mtim.tv_nsec == wal0.st_mtim.tv_nsec);
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM requests"), changes0);
    /* And a request after the idle stretch is still seen. */
    jobq_request_id r = enqueue_submit(c, "etl", NULL);
    tick(s);
    ck_assert_int_eq(outcome(c, r).state, JOBQ_REQUEST_APPLIED);
    jobq_close(c);
    jobq_close(s);
}
END_TEST

START_TEST(idempotency_keys_across_clients)
{
    jobq_scheduler *s = scheduler_with_job();
    jobq_scheduler *a = client(0), *b = client(0);
    jobq_run_id local = 0;
    jobq_submit_opts so = JOBQ_SUBMIT_OPTS_INIT;
    so.idempotency_key = "local-key";
    ck_assert_int_eq(jobq_run_submit(s, &local, "etl", &so), 0);
    jobq_request_id r1 = enqueue_submit(a, "etl", "shared");
    jobq_request_id r2 = enqueue_submit(b, "etl", "shared");
    jobq_request_id r3 = enqueue_submit(b, "etl", "local-key");
    tick(s);
    jobq_request_id r4 = enqueue_submit(a, "etl", "shared");
    tick(s);
    ck_assert_uint_eq(outcome(a, r1).run_id, outcome(a, r2).run_id);
    ck_assert_uint_eq(outcome(a, r1).run_id, outcome(b, r4).run_id);
    ck_assert_uint_eq(outcome(a, r3).run_id, local);
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM runs"), 2);
    jobq_close(a);
    jobq_close(b);
    jobq_close(s);
}
END_TEST

/* A scheduler ticking in another thread, as a host would. */
static atomic_bool ticking;
static void *ticker(void *arg)
{
    jobq_scheduler *s = arg;
    while (atomic_load(&ticking)) {
        jobq_tick(s, JOBQ_TIME_NOW, NULL);
        usleep(2000);
    }
    return NULL;
}

START_TEST(waiting_calls_return_the_outcome)
{
    jobq_scheduler *s = scheduler_with_job();
    jobq_scheduler *c = client(10000);
    atomic_store(&ticking, true);
    pthread_t t;
    pthread_create(&t, NULL, ticker, s);
    jobq_run_id id = 0;
    ck_assert_int_eq(jobq_run_submit(c, &id, "etl", NULL), 0);
    ck_assert_uint_gt(id, 0);
    ck_assert_int_eq(jobq_run_submit(c, &id, "nope", NULL), JOBQ_ENOTFOUND);
    char msg[256];
    jobq_errmsg(c, msg, sizeof msg);
    ck_assert_ptr_nonnull(strstr(msg, "nope"));
    /* A batch refused at index 2: the first two stay submitted. */
    const char *jobs[] = {"etl", "etl", "nope", "etl"};
    jobq_run_id ids[4] = {9, 9, 9, 9};
    ck_assert_int_eq(jobq_run_submit_batch(c, ids, jobs, NULL, 4),
                     JOBQ_ENOTFOUND);
    ck_assert_uint_gt(ids[0], 0);
    ck_assert_uint_eq(ids[1], ids[0] + 1);
    ck_assert_uint_eq(ids[2], 0);
    ck_assert_uint_eq(ids[3], 0);
    jobq_errmsg(c, msg, sizeof msg);
    ck_assert_ptr_nonnull(strstr(msg, "runs[2]"));
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = "legacy-job";
    def.ns = "analytics";
    def.flow = JOBQ_FLOW_PRIORITY;
    def.payload = "manifest";
    def.payload_len = 8;
    ck_assert_int_eq(jobq_job_define(c, &def), 0);
    ck_assert_int_eq(jobq_job_set_flow(c, "legacy-job", JOBQ_FLOW_LEGACY), 0);
    ck_assert_int_eq(jobq_run_submit(c, &id, "legacy-job", NULL), 0);
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(jobq_run_get(c, &info, id), 0);
    ck_assert_int_eq(info.flow, JOBQ_FLOW_LEGACY);
    ck_assert_int_ne(info.state, JOBQ_RUN_QUEUED);
    ck_assert_int_eq(jobq_run_cancel(c, id, "from a client"), 0);
    ck_assert_int_eq(jobq_run_get(c, &info, id), 0);
    ck_assert_int_eq(info.state, JOBQ_RUN_CANCELLED);
    uint64_t moved = 99;
    ck_assert_int_eq(jobq_migrate_to_legacy(c, &moved), 0);
    ck_assert_uint_eq(moved, 0); /* the ticker already deployed the rest */
    atomic_store(&ticking, false);
    pthread_join(t, NULL);
    jobq_close(c);
    jobq_close(s);
}
END_TEST

START_TEST(timeouts_and_refused_ticks)
{
    jobq_scheduler *s = scheduler_with_job();
    jobq_scheduler *c = client(50);
    jobq_run_id id = 7;
    ck_assert_int_eq(jobq_run_submit(c, &id, "etl", NULL), JOBQ_ETIMEDOUT);
    ck_assert_uint_eq(id, 0);
    jobq_request_id r = last_request(c);
    jobq_request_info info = JOBQ_REQUEST_INFO_INIT;
    ck_assert_int_eq(jobq_request_wait(c, &info, r, 20), JOBQ_ETIMEDOUT);
    ck_assert_int_eq(info.state, JOBQ_REQUEST_PENDING);
    ck_assert_int_eq(jobq_tick(c, JOBQ_TIME_NOW, NULL), JOBQ_ESTATE);
    tick(s);
    ck_assert_int_eq(jobq_request_wait(c, &info, r, 1000), 0);
    ck_assert_int_eq(info.state, JOBQ_REQUEST_APPLIED);
    ck_assert_uint_gt(info.run_id, 0);
    ck_assert_int_eq(jobq_request_get(c, &info, 12345), JOBQ_ENOTFOUND);
    bool is_client = false;
    ck_assert_int_eq(jobq_is_client(c, &is_client), 0);
    ck_assert(is_client);
    ck_assert_int_eq(jobq_is_client(s, &is_client), 0);
    ck_assert(!is_client);
    ck_assert_int_eq(jobq_cleanup(c, 0, NULL), JOBQ_ESTATE);
    jobq_close(c);
    jobq_close(s);
}
END_TEST

START_TEST(client_open_refusals)
{
    jobq_scheduler *c = (jobq_scheduler *)1;
    char err[256];
    ck_assert_int_eq(jobq_open_client(&c, fx.path, NULL, err, sizeof err),
                     JOBQ_ENOTFOUND);
    ck_assert_ptr_null(c);
    jobq_scheduler *s = scheduler_with_job();
    jobq_close(s);
    fx_sql("PRAGMA user_version = 1");
    ck_assert_int_eq(jobq_open_client(&c, fx.path, NULL, err, sizeof err),
                     JOBQ_EVERSION);
    ck_assert_ptr_nonnull(strstr(err, "schema"));
    jobq_client_opts bad = JOBQ_CLIENT_OPTS_INIT;
    bad.version = 99;
    ck_assert_int_eq(jobq_open_client(&c, fx.path, &bad, err, sizeof err),
                     JOBQ_EVERSION);
    ck_assert_int_eq(jobq_open_client(&c, ":memory:", NULL, err, sizeof err),
                     JOBQ_EINVAL);
    ck_assert_int_eq(jobq_client_opts_init(&bad, 1), 0);
    ck_assert_int_eq(bad.wait_timeout_ms, 60000);
    ck_assert_str_eq(jobq_request_kind_name(JOBQ_REQUEST_MIGRATE_TO_LEGACY),
                     "migrate_to_legacy");
    ck_assert_str_eq(jobq_request_state_name(JOBQ_REQUEST_REFUSED), "refused");
    ck_assert_str_eq(jobq_errname(JOBQ_ETIMEDOUT), "JOBQ_ETIMEDOUT");
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *suite = suite_create("store_requests");
    TCase *tc = tcase_create("requests");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, applied_in_commit_order_with_outcomes);
    tcase_add_test(tc, refusals_are_clean);
    tcase_add_test(tc, queued_while_no_scheduler_runs);
    tcase_add_test(tc, idle_cycles_write_nothing);
    tcase_add_test(tc, idempotency_keys_across_clients);
    tcase_add_test(tc, waiting_calls_return_the_outcome);
    tcase_add_test(tc, timeouts_and_refused_ticks);
    tcase_add_test(tc, client_open_refusals);
    suite_add_tcase(suite, tc);
    return suite;
}
