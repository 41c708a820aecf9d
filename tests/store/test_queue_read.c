/*
 * The queue read API: jobq_queue_runs (a page of one queue in order, each
 * run's position from the walk) and jobq_queues (every queue, its length and
 * head). Pages reached from either end must equal what a full listing and
 * jobq_run_get's own position search say; bad arguments are refused; the
 * calls work on read-only and client handles of the same file.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_fixture.h"
#include "test_util.h"

#define RUNS 41

static jobq_scheduler *s;
static jobq_run_id ids[RUNS];

static void setup(void)
{
    fx_setup();
    s = fx_open(NULL);
    fx_define(s, "etl", "analytics", JOBQ_PRIORITY_NORMAL, 1000);
    fx_define(s, "urgent", "analytics", JOBQ_PRIORITY_HIGH, 1000);
    fx_define(s, "train", "ml", JOBQ_PRIORITY_NORMAL, 1000);
    char name[32];
    for (int i = 0; i < RUNS; i++) {
        snprintf(name, sizeof name, "etl-%d", i);
        ids[i] = fx_submit(s, "etl", name);
    }
    fx_submit(s, "train", "train-0"); /* another queue, interleaved ids */
}

static void teardown(void)
{
    jobq_close(s);
    fx_teardown();
}

static void init_infos(jobq_run_info *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(jobq_run_info_init(&out[i], JOBQ_RUN_INFO_VERSION), 0);
}

/* Every page of analytics/normal, of every size up to the queue's length,
 * from every offset, equals the queue read one run at a time with
 * jobq_run_get (whose position is found by its own search). */
static void check_all_pages(jobq_scheduler *h, const jobq_run_id *order,
                            size_t length)
{
    jobq_run_info expect[RUNS], got[RUNS + 2];
    for (size_t i = 0; i < length; i++) {
        init_infos(&expect[i], 1);
        ck_assert_int_eq(jobq_run_get(h, &expect[i], order[i]), 0);
        ck_assert_uint_eq(expect[i].queue_position, i);
    }
    for (size_t cap = 1; cap <= length + 2; cap += 3) {
        for (uint64_t off = 0; off <= length + 1; off++) {
            init_infos(got, cap);
            size_t count = 99;
            uint64_t total = 99;
            ck_assert_int_eq(jobq_queue_runs(h, "analytics",
                                             JOBQ_PRIORITY_NORMAL, off, got,
                                             cap, &count, &total),
                             0);
            ck_assert_uint_eq(total, length);
            size_t want = off >= length        ? 0
                          : length - off < cap ? length - off
                                               : cap;
            ck_assert_uint_eq(count, want);
            for (size_t i = 0; i < count; i++) {
                ck_assert_uint_eq(got[i].id, order[off + i]);
                ck_assert_uint_eq(got[i].queue_position, off + i);
                ck_assert_int_eq(got[i].state, JOBQ_RUN_QUEUED);
                ck_assert_str_eq(got[i].run_name, expect[off + i].run_name);
                ck_assert_int_eq(
                    memcmp(&got[i], &expect[off + i], sizeof got[i]), 0);
            }
        }
    }
}

START_TEST(pages_from_either_end_equal_a_full_walk)
{
    check_all_pages(s, ids, RUNS);
}
END_TEST

START_TEST(pages_follow_removals_from_the_middle)
{
    /* Cancel every third run: the queue closes up, positions shift. */
    jobq_run_id left[RUNS];
    size_t n = 0;
    for (int i = 0; i < RUNS; i++) {
        if (i % 3 == 1)
            ck_assert_int_eq(jobq_run_cancel(s, ids[i], "test"), 0);
        else
            left[n++] = ids[i];
    }
    check_all_pages(s, left, n);
}
END_TEST

START_TEST(empty_queue_and_length_only)
{
    jobq_run_info info[2];
    init_infos(info, 2);
    size_t count = 99;
    uint64_t total = 99;
    /* analytics/high exists (the job is defined) but nothing is queued. */
    ck_assert_int_eq(jobq_queue_runs(s, "analytics", JOBQ_PRIORITY_HIGH, 0,
                                     info, 2, &count, &total),
                     0);
    ck_assert_uint_eq(count, 0);
    ck_assert_uint_eq(total, 0);
    /* The length alone: no array. */
    ck_assert_int_eq(jobq_queue_runs(s, "analytics", JOBQ_PRIORITY_NORMAL, 0,
                                     NULL, 0, &count, &total),
                     0);
    ck_assert_uint_eq(count, 0);
    ck_assert_uint_eq(total, RUNS);
    /* Far past the end: nothing, but the length. */
    ck_assert_int_eq(jobq_queue_runs(s, "analytics", JOBQ_PRIORITY_NORMAL,
                                     UINT64_MAX, info, 2, &count, &total),
                     0);
    ck_assert_uint_eq(count, 0);
    ck_assert_uint_eq(total, RUNS);
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
    jobq_run_info info[1];
    init_infos(info, 1);
    size_t count = 0;
    uint64_t total = 0;
    ck_assert_int_eq(jobq_queue_runs(NULL, "analytics", JOBQ_PRIORITY_NORMAL, 0,
                                     info, 1, &count, &total),
                     JOBQ_EINVAL);
    ck_assert_int_eq(jobq_queue_runs(s, NULL, JOBQ_PRIORITY_NORMAL, 0, info, 1,
                                     &count, &total),
                     JOBQ_EINVAL);
    ck_assert_int_eq(jobq_queue_runs(s, "analytics", (jobq_priority)7, 0, info,
                                     1, &count, &total),
                     JOBQ_EINVAL);
    ck_assert_int_eq(jobq_queue_runs(s, "analytics", (jobq_priority)-1, 0, info,
                                     1, &count, &total),
                     JOBQ_EINVAL);
    ck_assert_int_eq(jobq_queue_runs(s, "analytics", JOBQ_PRIORITY_NORMAL, 0,
                                     NULL, 1, &count, &total),
                     JOBQ_EINVAL);
    ck_assert_int_eq(jobq_queue_runs(s, "nowhere", JOBQ_PRIORITY_NORMAL, 0,
                                     info, 1, &count, &total),
                     JOBQ_ENOTFOUND);
    char msg[256];
    ck_assert_int_gt(jobq_errmsg(s, msg, sizeof msg), 0);
    ck_assert_ptr_nonnull(strstr(msg, "nowhere"));
    info[0].version = 0;
    ck_assert_int_eq(jobq_queue_runs(s, "analytics", JOBQ_PRIORITY_NORMAL, 0,
                                     info, 1, &count, &total),
                     JOBQ_EVERSION);
    info[0].version = JOBQ_RUN_INFO_VERSION + 1;
    ck_assert_int_eq(jobq_queue_runs(s, "analytics", JOBQ_PRIORITY_NORMAL, 0,
                                     info, 1, &count, &total),
                     JOBQ_EVERSION);

    jobq_queue_info *queues = NULL;
    ck_assert_int_eq(jobq_queues(s, JOBQ_QUEUE_INFO_VERSION, NULL, &count),
                     JOBQ_EINVAL);
    ck_assert_int_eq(jobq_queues(s, JOBQ_QUEUE_INFO_VERSION, &queues, NULL),
                     JOBQ_EINVAL);
    ck_assert_int_eq(jobq_queues(s, 0, &queues, &count), JOBQ_EVERSION);
    ck_assert_int_eq(
        jobq_queues(s, JOBQ_QUEUE_INFO_VERSION + 1, &queues, &count),
        JOBQ_EVERSION);
    ck_assert_ptr_null(queues);
    ck_assert_int_eq(
        jobq_queues(NULL, JOBQ_QUEUE_INFO_VERSION, &queues, &count),
        JOBQ_EINVAL);
}
END_TEST

static void check_queues(jobq_scheduler *h, jobq_run_id analytics_head,
                         uint64_t analytics_length)
{
    jobq_queue_info *q = NULL;
    size_t count = 0;
    ck_assert_int_eq(jobq_queues(h, JOBQ_QUEUE_INFO_VERSION, &q, &count), 0);
    /* Two namespaces, two priorities each, high first. */
    ck_assert_uint_eq(count, 4);
    size_t found = 0;
    for (size_t i = 0; i < count; i++) {
        ck_assert_uint_eq(q[i].version, JOBQ_QUEUE_INFO_VERSION);
        ck_assert_int_eq(q[i].priority, i % 2 == 0 ? JOBQ_PRIORITY_HIGH
                                                   : JOBQ_PRIORITY_NORMAL);
        if (strcmp(q[i].ns, "analytics") == 0 &&
            q[i].priority == JOBQ_PRIORITY_NORMAL) {
            ck_assert_uint_eq(q[i].length, analytics_length);
            ck_assert_uint_eq(q[i].head, analytics_head);
            found++;
        } else if (strcmp(q[i].ns, "ml") == 0 &&
                   q[i].priority == JOBQ_PRIORITY_NORMAL) {
            ck_assert_uint_eq(q[i].length, 1);
            ck_assert_uint_ne(q[i].head, 0);
            found++;
        } else {
            ck_assert_uint_eq(q[i].length, 0);
            ck_assert_uint_eq(q[i].head, 0);
        }
    }
    ck_assert_uint_eq(found, 2);
    jobq_free(q);
}

START_TEST(queues_list_lengths_and_heads)
{
    check_queues(s, ids[0], RUNS);
    ck_assert_int_eq(jobq_run_cancel(s, ids[0], "test"), 0);
    check_queues(s, ids[1], RUNS - 1);
}
END_TEST

START_TEST(queues_of_an_empty_scheduler)
{
    jobq_close(s);
    fx_teardown();
    fx_setup();
    s = fx_open(NULL);
    jobq_queue_info *q = (jobq_queue_info *)1;
    size_t count = 99;
    ck_assert_int_eq(jobq_queues(s, JOBQ_QUEUE_INFO_VERSION, &q, &count), 0);
    ck_assert_uint_eq(count, 0);
    ck_assert_ptr_null(q);
}
END_TEST

START_TEST(read_only_and_client_handles)
{
    jobq_scheduler *ro = NULL, *client = NULL;
    char err[512] = "";
    ck_assert_int_eq(fx_try_open(&ro, NULL, true, false, err, sizeof err), 0);
    check_all_pages(ro, ids, RUNS);
    check_queues(ro, ids[0], RUNS);
    jobq_close(ro);

    ck_assert_int_eq(jobq_open_client(&client, fx.path, NULL, err, sizeof err),
                     0);
    check_all_pages(client, ids, RUNS);
    check_queues(client, ids[0], RUNS);
    /* The client's view follows the writer's changes. */
    ck_assert_int_eq(jobq_run_cancel(s, ids[0], "test"), 0);
    check_all_pages(client, ids + 1, RUNS - 1);
    check_queues(client, ids[1], RUNS - 1);
    jobq_close(client);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *suite = suite_create("queue_read");
    TCase *tc = tcase_create("queue_read");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, pages_from_either_end_equal_a_full_walk);
    tcase_add_test(tc, pages_follow_removals_from_the_middle);
    tcase_add_test(tc, empty_queue_and_length_only);
    tcase_add_test(tc, bad_arguments_are_refused);
    tcase_add_test(tc, queues_list_lengths_and_heads);
    tcase_add_test(tc, queues_of_an_empty_scheduler);
    tcase_add_test(tc, read_only_and_client_handles);
    suite_add_tcase(suite, tc);
    return suite;
}
