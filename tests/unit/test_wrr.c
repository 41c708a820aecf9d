/* Smooth weighted round robin: ratios, spreading, eligibility, charging. */
#include <check.h>
#include <stdlib.h>

#include "core/wrr.h"
#include "test_util.h"

static int gcd(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Serve `n` slots with both queues eligible; returns how many went high and
 * checks the +-1 per window property along the way. */
static int serve_both(int share, int n)
{
    jq_wrr wrr = {{0, 0}};
    int64_t weight[2] = {share, 100 - share};
    bool eligible[2] = {true, true};
    int window = 100 / gcd(share, 100);
    int high = 0;
    for (int i = 1; i <= n; i++) {
        int pick = jq_wrr_choose(&wrr, weight, eligible);
        ck_assert_int_ge(pick, 0);
        jq_wrr_charge(&wrr, weight, eligible, pick);
        if (pick == 0)
            high++;
        /* Over any prefix, high's count stays within 1 of its exact share. */
        double exact = (double)i * share / 100.0;
        ck_assert_msg(high >= exact - 1.0 && high <= exact + 1.0,
                      "share %d: after %d picks high=%d, exact %.2f", share, i,
                      high, exact);
        if (i % window == 0)
            ck_assert_int_eq(high, i / window * (share / gcd(share, 100)));
    }
    return high;
}

START_TEST(ratio_for_every_share)
{
    for (int share = 0; share <= 100; share++) {
        int high = serve_both(share, 1000);
        ck_assert_int_eq(high, share * 10);
    }
}
END_TEST

START_TEST(default_share_spreads_normal_evenly)
{
    /* 90/10: exactly one normal pick in every window of ten. */
    jq_wrr wrr = {{0, 0}};
    int64_t weight[2] = {90, 10};
    bool eligible[2] = {true, true};
    for (int window = 0; window < 50; window++) {
        int normal = 0;
        for (int i = 0; i < 10; i++) {
            int pick = jq_wrr_choose(&wrr, weight, eligible);
            jq_wrr_charge(&wrr, weight, eligible, pick);
            normal += pick == 1;
        }
        ck_assert_int_eq(normal, 1);
    }
}
END_TEST

START_TEST(choose_does_not_modify_state)
{
    jq_wrr wrr = {{7, -7}};
    int64_t weight[2] = {90, 10};
    bool eligible[2] = {true, true};
    ck_assert_int_eq(jq_wrr_choose(&wrr, weight, eligible), 0);
    ck_assert_int_eq(wrr.current[0], 7);
    ck_assert_int_eq(wrr.current[1], -7);
}
END_TEST

START_TEST(single_eligible_gets_every_slot_and_keeps_state)
{
    jq_wrr wrr = {{0, 0}};
    int64_t weight[2] = {100, 0};
    bool only_normal[2] = {false, true};
    for (int i = 0; i < 20; i++) {
        int pick = jq_wrr_choose(&wrr, weight, only_normal);
        ck_assert_int_eq(pick, 1);
        jq_wrr_charge(&wrr, weight, only_normal, pick);
    }
    /* Serving the only eligible queue leaves the other's credit alone. */
    ck_assert_int_eq(wrr.current[0], 0);
    ck_assert_int_eq(wrr.current[1], 0);
}
END_TEST

START_TEST(none_eligible)
{
    jq_wrr wrr = {{0, 0}};
    int64_t weight[2] = {90, 10};
    bool none[2] = {false, false};
    ck_assert_int_eq(jq_wrr_choose(&wrr, weight, none), -1);
}
END_TEST

START_TEST(zero_share_is_served_only_alone)
{
    jq_wrr wrr = {{0, 0}};
    int64_t weight[2] = {0, 100};
    bool both[2] = {true, true};
    for (int i = 0; i < 100; i++) {
        int pick = jq_wrr_choose(&wrr, weight, both);
        ck_assert_int_eq(pick, 1);
        jq_wrr_charge(&wrr, weight, both, pick);
    }
    bool only_high[2] = {true, false};
    ck_assert_int_eq(jq_wrr_choose(&wrr, weight, only_high), 0);
}
END_TEST

START_TEST(ties_go_to_high)
{
    jq_wrr wrr = {{0, 0}};
    int64_t weight[2] = {50, 50};
    bool both[2] = {true, true};
    ck_assert_int_eq(jq_wrr_choose(&wrr, weight, both), 0);
}
END_TEST

START_TEST(state_stays_bounded_with_changing_eligibility)
{
    jq_wrr wrr = {{0, 0}};
    int64_t weight[2] = {90, 10};
    srand(7);
    for (int i = 0; i < 100000; i++) {
        bool eligible[2] = {rand() % 3 != 0, rand() % 3 != 0};
        int pick = jq_wrr_choose(&wrr, weight, eligible);
        if (pick >= 0)
            jq_wrr_charge(&wrr, weight, eligible, pick);
        ck_assert_int_eq(wrr.current[0] + wrr.current[1], 0);
        ck_assert(llabs(wrr.current[0]) <= 100);
    }
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *s = suite_create("wrr");
    TCase *tc = tcase_create("wrr");
    tcase_add_test(tc, ratio_for_every_share);
    tcase_add_test(tc, default_share_spreads_normal_evenly);
    tcase_add_test(tc, choose_does_not_modify_state);
    tcase_add_test(tc, single_eligible_gets_every_slot_and_keeps_state);
    tcase_add_test(tc, none_eligible);
    tcase_add_test(tc, zero_share_is_served_only_alone);
    tcase_add_test(tc, ties_go_to_high);
    tcase_add_test(tc, state_stays_bounded_with_changing_eligibility);
    suite_add_tcase(s, tc);
    return s;
}
