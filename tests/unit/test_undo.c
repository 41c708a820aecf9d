/*
 * The undo log's savepoints (lib/core/undo.c), at the level of the core's
 * memory: a rollback restores every namespace as the savepoint found it,
 * including the queues' refusal texts, which the savepoint's copy leaves
 * out and the code that changes them records itself.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/core_internal.h"
#include "test_util.h"

static jq_core core;

static void setup(void)
{
    ck_assert_int_eq(jq_core_init(&core, NULL, NULL, NULL, NULL), 0);
}

static void teardown(void)
{
    jq_core_destroy(&core);
}

START_TEST(rollback_restores_namespaces_and_refusal_texts)
{
    jq_namespace *a = jq_core_namespace(&core, "a", true);
    jq_namespace *b = jq_core_namespace(&core, "b", true);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    jq_txn_commit(&core);
    snprintf(b->queue[1].head_refusal, sizeof b->queue[1].head_refusal,
             "%s", "kept from before");
    a->hard.amount[JOBQ_RESOURCE_CPU] = 4000;
    /* A head for each queue that gets refused (a streak needs one). */
    jq_run run = {.id = 5};
    a->queue[0].runs.first = &run;
    b->queue[1].runs.first = &run;
    jq_namespace before_a = *a, before_b = *b;

    jq_txn_mark mark = jq_txn_mark_now(&core);
    a->hard.amount[JOBQ_RESOURCE_CPU] = 1;
    a->queue[0].head_refusals = 3;
    a->queue[1].ineligible_cycle = 77;
    b->allocated.amount[JOBQ_RESOURCE_PODS] = 9;
    jq_note_refusal(&core, &a->queue[0], &run, 1000, false, "quota!");
    jq_note_refusal(&core, &b->queue[1], &run, 1000, false, "again");
    ck_assert_str_eq(a->queue[0].head_refusal, "quota!");
    ck_assert_str_eq(b->queue[1].head_refusal, "again");
    jq_txn_rollback(&core, &mark);

    ck_assert_int_eq(memcmp(a, &before_a, sizeof *a), 0);
    ck_assert_str_eq(b->queue[1].head_refusal, "kept from before");
    ck_assert_int_eq(b->allocated.amount[JOBQ_RESOURCE_PODS], 0);
    ck_assert_int_eq(memcmp(b, &before_b, sizeof *b), 0);
    a->queue[0].runs.first = b->queue[1].runs.first = NULL;
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *s = suite_create("undo");
    TCase *tc = tcase_create("undo");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rollback_restores_namespaces_and_refusal_texts);
    suite_add_tcase(s, tc);
    return s;
}
