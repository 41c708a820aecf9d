/*
 * Group commit: concurrent submitters share transactions, and every submit
 * that returned is durable (present after reopening), each exactly once.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>

#include "scheduler.h"
#include "store/store_internal.h"
#include "store_fixture.h"
#include "test_util.h"

#define THREADS 8
#define PER_THREAD 60

static jobq_scheduler *shared;
static jobq_run_id ids[THREADS][PER_THREAD];

static void *submitter(void *arg)
{
    jobq_run_id *out = arg;
    for (int i = 0; i < PER_THREAD; i++)
        if (jobq_run_submit(shared, &out[i], "etl", NULL) != 0)
            out[i] = 0;
    return NULL;
}

static int compare_ids(const void *a, const void *b)
{
    jobq_run_id x = *(const jobq_run_id *)a, y = *(const jobq_run_id *)b;
    return x < y ? -1 : x > y;
}

START_TEST(concurrent_submits_share_commits)
{
    shared = fx_open(NULL);
    fx_define(shared, "etl", "analytics", JOBQ_PRIORITY_NORMAL, 1);
    uint64_t commits_before = shared->store->commits;
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_create(&threads[t], NULL, submitter, ids[t]),
                         0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    uint64_t commits = shared->store->commits - commits_before;
    /* Every submit got its own id. */
    qsort(ids, THREADS * PER_THREAD, sizeof ids[0][0], compare_ids);
    const jobq_run_id *flat = &ids[0][0];
    ck_assert_uint_gt(flat[0], 0);
    for (int i = 1; i < THREADS * PER_THREAD; i++)
        ck_assert_uint_gt(flat[i], flat[i - 1]);
    /* Fewer commits than submits: they were grouped. */
    ck_assert_uint_lt(commits, THREADS * PER_THREAD);
    jobq_close(shared);
    /* And every one of them is on disk. */
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM runs"),
                     THREADS * PER_THREAD);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *suite = suite_create("store_group");
    TCase *tc = tcase_create("group");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, concurrent_submits_share_commits);
    suite_add_tcase(suite, tc);
    return suite;
}
