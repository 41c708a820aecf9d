/*
 * The undo log's savepoints (lib/core/undo.c), at the level of the core's
 * memory: a rollback restores every namespace as the savepoint found it,
 * including the queues' refusal texts, which the savepoint's copy leaves
 * out and the code that changes them records itself, and the namespaces
 * at rest, which it leaves out too until jq_undo_ns() copies them. The
 * live set (c->ns_live) the cycle's loops visit.
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
    /* A head for each queue that gets refused (a streak needs one), as a
     * submit puts it there: through jq_undo_ns. */
    jq_run run = {.id = 5};
    jq_undo_ns(&core, a);
    jq_undo_ns(&core, b);
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

static bool live(const jq_namespace *ns)
{
    return jq_core_next_live(&core, ns->index) == ns->index;
}

/* A savepoint does not copy a namespace at rest; the first change after
 * it, through jq_undo_ns, does, and a rollback restores it. A commit takes
 * namespaces at rest out of the live set; work puts them back. */
START_TEST(namespaces_at_rest_are_copied_when_they_get_work)
{
    jq_namespace *ns[130];
    for (int i = 0; i < 130; i++) {
        char name[16];
        snprintf(name, sizeof name, "ns-%d", i);
        ns[i] = jq_core_namespace(&core, name, true);
        ck_assert_ptr_nonnull(ns[i]);
        ck_assert(live(ns[i])); /* new: live until a commit finds it idle */
    }
    ns[100]->wrr.current[0] = 42;
    jq_txn_commit(&core);
    for (int i = 0; i < 130; i++)
        ck_assert(!live(ns[i]));
    ck_assert_uint_eq(jq_core_next_live(&core, 0), core.ns_count);

    jq_run run = {.id = 9};
    jq_namespace before = *ns[100];
    jq_txn_mark mark = jq_txn_mark_now(&core);
    jq_undo_ns(&core, ns[100]);
    ck_assert(live(ns[100]));
    ck_assert_uint_eq(jq_core_next_live(&core, 0), 100);
    ck_assert_uint_eq(jq_core_next_live(&core, 101), core.ns_count);
    ns[100]->queue[1].runs.first = &run;
    ns[100]->queue[1].head_blocked = true;
    ns[100]->wrr.current[0] = 7;
    /* Busy now: a second call copies nothing more. */
    size_t len = core.txn.len;
    jq_undo_ns(&core, ns[100]);
    ck_assert_uint_eq(core.txn.len, len);
    jq_txn_rollback(&core, &mark);
    ck_assert_int_eq(memcmp(ns[100], &before, sizeof before), 0);
    /* Still live (a rollback never shrinks the set): the next commit,
     * finding it at rest again, takes it out. */
    ck_assert(live(ns[100]));
    jq_txn_commit(&core);
    ck_assert(!live(ns[100]));

    /* Busy at a commit: stays live. */
    jq_undo_ns(&core, ns[129]);
    ns[129]->queue[0].runs.first = &run;
    jq_txn_commit(&core);
    ck_assert(live(ns[129]));
    ck_assert_uint_eq(jq_core_next_live(&core, 0), 129);
    ns[129]->queue[0].runs.first = NULL;
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *s = suite_create("undo");
    TCase *tc = tcase_create("undo");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rollback_restores_namespaces_and_refusal_texts);
    tcase_add_test(tc, namespaces_at_rest_are_copied_when_they_get_work);
    suite_add_tcase(s, tc);
    return s;
}
