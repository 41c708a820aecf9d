/* Intrusive run lists and the lookup tables of the policy core. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "test_util.h"

static jq_run *make_runs(size_t n)
{
    jq_run *runs = calloc(n, sizeof *runs);
    for (size_t i = 0; i < n; i++) {
        runs[i].id = i + 1;
    }
    return runs;
}

static void assert_order(const jq_list *list, const uint64_t *ids, size_t n)
{
    ck_assert_uint_eq(list->length, n);
    const jq_run *r = list->first;
    const jq_run *prev = NULL;
    for (size_t i = 0; i < n; i++, prev = r, r = r->next) {
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_eq(r->id, ids[i]);
        ck_assert_ptr_eq(r->prev, prev);
    }
    ck_assert_ptr_null(r);
    ck_assert_ptr_eq(list->last, prev);
}

START_TEST(fifo_push_and_remove)
{
    jq_run *runs = make_runs(5);
    jq_list list = {0};
    for (int i = 0; i < 5; i++)
        jq_list_push_back(&list, &runs[i]);
    assert_order(&list, (uint64_t[]){1, 2, 3, 4, 5}, 5);
    jq_list_remove(&list, &runs[2]); /* middle */
    assert_order(&list, (uint64_t[]){1, 2, 4, 5}, 4);
    jq_list_remove(&list, &runs[0]); /* head */
    assert_order(&list, (uint64_t[]){2, 4, 5}, 3);
    jq_list_remove(&list, &runs[4]); /* tail */
    assert_order(&list, (uint64_t[]){2, 4}, 2);
    jq_list_remove(&list, &runs[1]);
    jq_list_remove(&list, &runs[3]);
    ck_assert_ptr_null(list.first);
    ck_assert_ptr_null(list.last);
    ck_assert_uint_eq(list.length, 0);
    free(runs);
}
END_TEST

START_TEST(insert_by_seq_restores_original_position)
{
    jq_run *runs = make_runs(4);
    jq_list list = {0};
    for (int i = 1; i < 4; i++)
        jq_list_push_back(&list, &runs[i]);
    jq_list_insert_by_seq(&list, &runs[0]); /* back to the head */
    assert_order(&list, (uint64_t[]){1, 2, 3, 4}, 4);
    jq_list_remove(&list, &runs[2]);
    jq_list_insert_by_seq(&list, &runs[2]); /* back to the middle */
    assert_order(&list, (uint64_t[]){1, 2, 3, 4}, 4);
    jq_list_remove(&list, &runs[3]);
    jq_list_insert_by_seq(&list, &runs[3]); /* back to the tail */
    assert_order(&list, (uint64_t[]){1, 2, 3, 4}, 4);
    jq_list empty = {0};
    jq_list_insert_by_seq(&empty, &runs[0]);
    ck_assert_ptr_eq(empty.first, &runs[0]);
    ck_assert_ptr_eq(empty.last, &runs[0]);
    free(runs);
}
END_TEST

START_TEST(position_counts_from_head)
{
    jq_run *runs = make_runs(6);
    jq_list list = {0};
    for (int i = 0; i < 6; i++)
        jq_list_push_back(&list, &runs[i]);
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(jq_list_position(&list, &runs[i]), (uint64_t)i);
    jq_list_remove(&list, &runs[0]);
    ck_assert_uint_eq(jq_list_position(&list, &runs[5]), 4);
    free(runs);
}
END_TEST

START_TEST(idmap_put_get_remove_many)
{
    enum { N = 20000 };
    jq_run *runs = make_runs(N);
    jq_idmap map = {0};
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(jq_idmap_put(&map, &runs[i]), 0);
    ck_assert_uint_eq(map.count, N);
    ck_assert(map.count * 10 <= map.capacity * 7);
    for (int i = 0; i < N; i++)
        ck_assert_ptr_eq(jq_idmap_get(&map, runs[i].id), &runs[i]);
    ck_assert_ptr_null(jq_idmap_get(&map, N + 1));
    ck_assert_ptr_null(jq_idmap_get(&map, 0));
    /* Remove every third run; the others must all still be found (this
     * exercises backward-shift deletion across probe chains). */
    for (int i = 0; i < N; i += 3)
        jq_idmap_remove(&map, runs[i].id);
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0)
            ck_assert_ptr_null(jq_idmap_get(&map, runs[i].id));
        else
            ck_assert_ptr_eq(jq_idmap_get(&map, runs[i].id), &runs[i]);
    }
    jq_idmap_remove(&map, 999999); /* absent: no effect */
    ck_assert_uint_eq(map.count, N - (N + 2) / 3);
    jq_idmap_free(&map);
    free(runs);
}
END_TEST

START_TEST(idmap_random_against_model)
{
    enum { N = 4000 };
    jq_run *runs = make_runs(N);
    bool present[N] = {false};
    jq_idmap map = {0};
    srand(42);
    for (int step = 0; step < 200000; step++) {
        int i = rand() % N;
        if (present[i]) {
            jq_idmap_remove(&map, runs[i].id);
            present[i] = false;
        } else {
            ck_assert_int_eq(jq_idmap_put(&map, &runs[i]), 0);
            present[i] = true;
        }
        int probe = rand() % N;
        ck_assert_ptr_eq(jq_idmap_get(&map, runs[probe].id),
                         present[probe] ? &runs[probe] : NULL);
    }
    jq_idmap_free(&map);
    free(runs);
}
END_TEST

typedef struct named {
    char name[16];
} named;

static const char *named_key(const void *value)
{
    return ((const named *)value)->name;
}

START_TEST(strmap_put_get)
{
    enum { N = 500 };
    named *items = calloc(N, sizeof *items);
    jq_strmap map;
    jq_strmap_init(&map, named_key);
    for (int i = 0; i < N; i++) {
        snprintf(items[i].name, sizeof items[i].name, "ns-%d", i);
        ck_assert_int_eq(jq_strmap_put(&map, &items[i]), 0);
    }
    for (int i = 0; i < N; i++)
        ck_assert_ptr_eq(jq_strmap_get(&map, items[i].name), &items[i]);
    ck_assert_ptr_null(jq_strmap_get(&map, "ns-"));
    ck_assert_ptr_null(jq_strmap_get(&map, "absent"));
    jq_strmap_free(&map);
    ck_assert_ptr_null(jq_strmap_get(&map, "ns-1"));
    free(items);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *s = suite_create("queue");
    TCase *tc = tcase_create("queue");
    tcase_add_test(tc, fifo_push_and_remove);
    tcase_add_test(tc, insert_by_seq_restores_original_position);
    tcase_add_test(tc, position_counts_from_head);
    tcase_add_test(tc, idmap_put_get_remove_many);
    tcase_add_test(tc, idmap_random_against_model);
    tcase_add_test(tc, strmap_put_get);
    suite_add_tcase(s, tc);
    return s;
}
