/*
 * Unit tests for quota.c: several ResourceQuotas in one namespace, the most
 * restrictive remaining amount winning per dimension, dimensions no quota
 * limits reported as unlimited; scopes and scopeSelector as Kubernetes
 * applies them to Spark's pods; limits.* quotas; pending pods counted.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "quota.h"
#include "test_util.h"

#define GIB (INT64_C(1) << 30)

static int aggregate(const char *json, jobq_resources *hard,
                     jobq_resources *used, char *err, size_t cap)
{
    cJSON *list = cJSON_Parse(json);
    ck_assert_ptr_nonnull(list);
    int rc = quota_aggregate(list, hard, used, err, cap);
    cJSON_Delete(list);
    return rc;
}

static void aggregate_ok(const char *json, jobq_resources *hard,
                         jobq_resources *used)
{
    char err[256] = "";
    int rc = aggregate(json, hard, used, err, sizeof err);
    ck_assert_msg(rc == 0, "quota_aggregate: %s", err);
}

START_TEST(one_quota_and_an_unlimited_dimension)
{
    jobq_resources hard, used;
    aggregate_ok("{\"kind\":\"ResourceQuotaList\",\"items\":[{\"metadata\":"
                 "{\"name\":\"compute\"},\"status\":{\"hard\":{\"requests.cpu"
                 "\":\"64\",\"requests.memory\":\"256Gi\",\"pods\":\"100\"},"
                 "\"used\":{\"requests.cpu\":\"1500m\",\"requests.memory\":"
                 "\"3Gi\",\"pods\":\"2\"}}}]}", &hard, &used);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_CPU], 64000);
    ck_assert_int_eq(used.amount[JOBQ_RESOURCE_CPU], 1500);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_MEMORY], 256 * GIB);
    ck_assert_int_eq(used.amount[JOBQ_RESOURCE_MEMORY], 3 * GIB);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_PODS], 100);
    ck_assert_int_eq(used.amount[JOBQ_RESOURCE_PODS], 2);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_STORAGE], JOBQ_UNLIMITED);
    ck_assert_int_eq(used.amount[JOBQ_RESOURCE_STORAGE], 0);
}
END_TEST

START_TEST(most_restrictive_remaining_wins_per_dimension)
{
    /* cpu: A leaves 10-2 = 8, B leaves 6-3 = 3 -> B (6, 3).
     * memory: A leaves 64Gi, B ("memory" key) leaves 2Gi -> B.
     * pods: only A -> A. storage: only B. */
    jobq_resources hard, used;
    aggregate_ok("{\"items\":["
                 "{\"metadata\":{\"name\":\"a\"},\"status\":{"
                 "\"hard\":{\"requests.cpu\":\"10\",\"requests.memory\":"
                 "\"64Gi\",\"pods\":\"20\"},\"used\":{\"requests.cpu\":\"2\","
                 "\"requests.memory\":\"0\",\"pods\":\"4\"}}},"
                 "{\"metadata\":{\"name\":\"b\"},\"status\":{"
                 "\"hard\":{\"cpu\":\"6\",\"memory\":\"32Gi\","
                 "\"requests.storage\":\"1Ti\"},\"used\":{\"cpu\":\"3\","
                 "\"memory\":\"30Gi\",\"requests.storage\":\"100Gi\"}}}]}",
                 &hard, &used);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_CPU], 6000);
    ck_assert_int_eq(used.amount[JOBQ_RESOURCE_CPU], 3000);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_MEMORY], 32 * GIB);
    ck_assert_int_eq(used.amount[JOBQ_RESOURCE_MEMORY], 30 * GIB);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_PODS], 20);
    ck_assert_int_eq(used.amount[JOBQ_RESOURCE_PODS], 4);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_STORAGE], 1024 * GIB);
    ck_assert_int_eq(used.amount[JOBQ_RESOURCE_STORAGE], 100 * GIB);
}
END_TEST

START_TEST(a_bigger_hard_limit_can_still_be_the_tighter_one)
{
    /* Remaining, not hard, decides: A hard 100 used 99 (1 left) beats
     * B hard 10 used 0 (10 left). */
    jobq_resources hard, used;
    aggregate_ok("{\"items\":[{\"metadata\":{\"name\":\"a\"},\"status\":{"
                 "\"hard\":{\"pods\":\"100\"},\"used\":{\"pods\":\"99\"}}},"
                 "{\"metadata\":{\"name\":\"b\"},\"status\":{"
                 "\"hard\":{\"pods\":\"10\"},\"used\":{\"pods\":\"0\"}}}]}",
                 &hard, &used);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_PODS], 100);
    ck_assert_int_eq(used.amount[JOBQ_RESOURCE_PODS], 99);
}
END_TEST

START_TEST(requests_and_plain_keys_in_one_quota)
{
    jobq_resources hard, used;
    aggregate_ok("{\"items\":[{\"metadata\":{\"name\":\"q\"},\"status\":{"
                 "\"hard\":{\"requests.cpu\":\"8\",\"cpu\":\"4\"},"
                 "\"used\":{\"requests.cpu\":\"1\",\"cpu\":\"1\"}}}]}",
                 &hard, &used);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_CPU], 4000);
    ck_assert_int_eq(used.amount[JOBQ_RESOURCE_CPU], 1000);
}
END_TEST

START_TEST(no_quota_means_unlimited)
{
    jobq_resources hard, used;
    aggregate_ok("{\"kind\":\"ResourceQuotaList\",\"items\":[]}", &hard,
                 &used);
    for (int kind = 0; kind < JOBQ_RESOURCE_COUNT; kind++) {
        ck_assert_int_eq(hard.amount[kind], JOBQ_UNLIMITED);
        ck_assert_int_eq(used.amount[kind], 0);
    }
    /* Quotas on other things (object counts) limit none of the four. */
    aggregate_ok("{\"items\":[{\"metadata\":{\"name\":\"counts\"},\"status\":"
                 "{\"hard\":{\"count/configmaps\":\"10\",\"count/secrets\":\"4\"},"
                 "\"used\":{\"count/configmaps\":\"1\"}}}]}", &hard, &used);
    for (int kind = 0; kind < JOBQ_RESOURCE_COUNT; kind++)
        ck_assert_int_eq(hard.amount[kind], JOBQ_UNLIMITED);
}
END_TEST

START_TEST(a_new_quota_without_status_uses_spec_hard)
{
    jobq_resources hard, used;
    aggregate_ok("{\"items\":[{\"metadata\":{\"name\":\"new\"},\"spec\":{"
                 "\"hard\":{\"requests.memory\":\"1536Mi\"}}}]}", &hard, &used);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_MEMORY], 1536 * (INT64_C(1) << 20));
    ck_assert_int_eq(used.amount[JOBQ_RESOURCE_MEMORY], 0);
}
END_TEST

START_TEST(used_above_hard_after_a_quota_cut)
{
    /* Someone lowered hard below used: remaining is negative and wins. */
    jobq_resources hard, used;
    aggregate_ok("{\"items\":[{\"metadata\":{\"name\":\"a\"},\"status\":{"
                 "\"hard\":{\"requests.cpu\":\"4\"},\"used\":{\"requests.cpu\":"
                 "\"6\"}}},{\"metadata\":{\"name\":\"b\"},\"status\":{\"hard\":"
                 "{\"requests.cpu\":\"1\"},\"used\":{\"requests.cpu\":\"0\"}}}]}",
                 &hard, &used);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_CPU], 4000);
    ck_assert_int_eq(used.amount[JOBQ_RESOURCE_CPU], 6000);
}
END_TEST

START_TEST(a_bad_quantity_is_an_error_naming_quota_and_key)
{
    jobq_resources hard, used;
    char err[256] = "";
    ck_assert_int_eq(aggregate("{\"items\":[{\"metadata\":{\"name\":\"broken\"},"
                               "\"status\":{\"hard\":{\"requests.memory\":"
                               "\"lots\"}}}]}", &hard, &used, err, sizeof err),
                     JOBQ_EPARSE);
    ck_assert_msg(strstr(err, "broken") && strstr(err, "requests.memory"), "%s",
                  err);
    ck_assert_int_eq(aggregate("{\"items\":[{\"metadata\":{\"name\":\"n\"},"
                               "\"status\":{\"hard\":{\"pods\":10}}}]}", &hard,
                               &used, err, sizeof err), JOBQ_EPARSE);
    ck_assert_int_eq(aggregate("{\"items\":{}}", &hard, &used, err,
                               sizeof err), JOBQ_EPARSE);
}
END_TEST

/* A Spark pod: cpu request/limit in millicores, memory in MiB. */
static spark_pod pod(int64_t cpu, int64_t limit, int64_t mib,
                     const char *priority_class)
{
    spark_pod p = {cpu, limit, mib << 20, ""};
    snprintf(p.priority_class, sizeof p.priority_class, "%s", priority_class);
    return p;
}

static bool applies(const char *quota_json, spark_pod p)
{
    cJSON *quota = cJSON_Parse(quota_json);
    ck_assert_ptr_nonnull(quota);
    bool result = quota_applies(quota, &p);
    cJSON_Delete(quota);
    return result;
}

START_TEST(scopes_as_kubernetes_applies_them_to_spark_pods)
{
    spark_pod plain = pod(1000, SPARK_NO_LIMIT, 1024, "");
    spark_pod gold = pod(1000, SPARK_NO_LIMIT, 1024, "gold");
    ck_assert(applies("{\"spec\":{}}", plain));
    /* Spark pods request cpu and memory and set no deadline. */
    ck_assert(!applies("{\"spec\":{\"scopes\":[\"BestEffort\"]}}", plain));
    ck_assert(applies("{\"spec\":{\"scopes\":[\"NotBestEffort\"]}}", plain));
    ck_assert(!applies("{\"spec\":{\"scopes\":[\"Terminating\"]}}", plain));
    ck_assert(applies("{\"spec\":{\"scopes\":[\"NotTerminating\"]}}", plain));
    /* Several scopes: all must match. */
    ck_assert(!applies("{\"spec\":{\"scopes\":[\"NotTerminating\","
                       "\"BestEffort\"]}}", plain));
    /* PriorityClass: in scopes means "has one"; selectors In/NotIn. */
    ck_assert(!applies("{\"spec\":{\"scopes\":[\"PriorityClass\"]}}", plain));
    ck_assert(applies("{\"spec\":{\"scopes\":[\"PriorityClass\"]}}", gold));
    const char *in_gold = "{\"spec\":{\"scopeSelector\":{\"matchExpressions\":"
                          "[{\"scopeName\":\"PriorityClass\",\"operator\":"
                          "\"In\",\"values\":[\"gold\"]}]}}}";
    const char *not_in_gold = "{\"spec\":{\"scopeSelector\":{\"matchExpressions"
                              "\":[{\"scopeName\":\"PriorityClass\",\"operator"
                              "\":\"NotIn\",\"values\":[\"gold\"]}]}}}";
    ck_assert(!applies(in_gold, plain));
    ck_assert(applies(in_gold, gold));
    ck_assert(applies(not_in_gold, plain));
    ck_assert(!applies(not_in_gold, gold));
    ck_assert(!applies("{\"spec\":{\"scopeSelector\":{\"matchExpressions\":"
                       "[{\"scopeName\":\"BestEffort\",\"operator\":"
                       "\"Exists\"}]}}}", plain));
}
END_TEST

START_TEST(scoped_quotas_that_miss_spark_pods_do_not_count)
{
    /* issue 14.3: BestEffort pods:0, PriorityClass requests.cpu:1 and
     * Terminating pods:0 do not apply to a job without a priority class. */
    const char *json =
        "{\"items\":["
        "{\"metadata\":{\"name\":\"be\"},\"spec\":{\"hard\":{\"pods\":\"0\"},"
        "\"scopes\":[\"BestEffort\"]}},"
        "{\"metadata\":{\"name\":\"term\"},\"spec\":{\"hard\":{\"pods\":\"0\"},"
        "\"scopes\":[\"Terminating\"]}},"
        "{\"metadata\":{\"name\":\"gold\"},\"spec\":{\"hard\":{\"requests.cpu\":"
        "\"1\"},\"scopeSelector\":{\"matchExpressions\":[{\"scopeName\":"
        "\"PriorityClass\",\"operator\":\"In\",\"values\":[\"gold\"]}]}}},"
        "{\"metadata\":{\"name\":\"all\"},\"spec\":{\"hard\":{\"pods\":\"10\"},"
        "\"scopes\":[\"NotBestEffort\"]}}]}";
    cJSON *list = cJSON_Parse(json);
    spark_pod pods[2] = {pod(1000, SPARK_NO_LIMIT, 896, ""),
                         pod(1000, SPARK_NO_LIMIT, 896, "")};
    jobq_resources hard, used;
    char err[256] = "";
    ck_assert_int_eq(quota_fold(list, pods, 2, NULL, 0, &hard, &used, err,
                                sizeof err), 0);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_PODS], 10);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_CPU], JOBQ_UNLIMITED);
    /* The gold quota applies once every job's pods are gold. */
    snprintf(pods[0].priority_class, sizeof pods[0].priority_class, "gold");
    snprintf(pods[1].priority_class, sizeof pods[1].priority_class, "gold");
    ck_assert_int_eq(quota_fold(list, pods, 2, NULL, 0, &hard, &used, err,
                                sizeof err), 0);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_CPU], 1000);
    cJSON_Delete(list);
}
END_TEST

START_TEST(limits_and_pending_pods)
{
    /* limits.memory 2Gi: a 3 x 896 MiB application does not fit, one of
     * 2 x 896 MiB does; pending pods (not in `used` yet) count. */
    cJSON *list = cJSON_Parse(
        "{\"items\":[{\"metadata\":{\"name\":\"mem\"},\"status\":{\"hard\":"
        "{\"limits.memory\":\"2Gi\",\"count/pods\":\"4\"},\"used\":"
        "{\"limits.memory\":\"0\",\"count/pods\":\"0\"}}}]}");
    spark_shape big = {pod(1000, SPARK_NO_LIMIT, 896, ""),
                       pod(1000, SPARK_NO_LIMIT, 896, ""), 2};
    spark_shape small = big;
    small.executors = 1;
    char msg[400] = "";
    ck_assert_int_eq(quota_admit(list, &big, NULL, 0, msg, sizeof msg), 1);
    ck_assert_msg(strstr(msg, "exceeded quota: mem, requested: "
                              "limits.memory=2688Mi") != NULL, "%s", msg);
    ck_assert_int_eq(quota_admit(list, &small, NULL, 0, msg, sizeof msg), 0);
    pod_group pending = {pod(1000, SPARK_NO_LIMIT, 896, ""), 1};
    ck_assert_int_eq(quota_admit(list, &small, &pending, 1, msg, sizeof msg),
                     1);
    jobq_resources hard, used;
    ck_assert_int_eq(quota_fold(list, NULL, 0, &pending, 1, &hard, &used, msg,
                                sizeof msg), 0);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_MEMORY], 2 * GIB);
    ck_assert_int_eq(used.amount[JOBQ_RESOURCE_MEMORY], INT64_C(896) << 20);
    ck_assert_int_eq(hard.amount[JOBQ_RESOURCE_PODS], 4);
    ck_assert_int_eq(used.amount[JOBQ_RESOURCE_PODS], 1);
    cJSON_Delete(list);
    /* limits.cpu: a pod without a cpu limit can never be admitted. */
    list = cJSON_Parse("{\"items\":[{\"metadata\":{\"name\":\"lim\"},"
                       "\"spec\":{\"hard\":{\"limits.cpu\":\"8\"}}}]}");
    ck_assert(quota_needs_limit(list, &small, msg, sizeof msg));
    ck_assert_msg(strstr(msg, "coreLimit") != NULL, "%s", msg);
    small.driver.cpu_limit = small.executor.cpu_limit = 3000;
    ck_assert(!quota_needs_limit(list, &small, msg, sizeof msg));
    ck_assert_int_eq(quota_admit(list, &small, NULL, 0, msg, sizeof msg), 0);
    small.executors = 2; /* 3 pods x 3 cores > 8 */
    ck_assert_int_eq(quota_admit(list, &small, NULL, 0, msg, sizeof msg), 1);
    cJSON_Delete(list);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *suite = suite_create("quota");
    TCase *tc = tcase_create("aggregate");
    tcase_add_test(tc, one_quota_and_an_unlimited_dimension);
    tcase_add_test(tc, most_restrictive_remaining_wins_per_dimension);
    tcase_add_test(tc, a_bigger_hard_limit_can_still_be_the_tighter_one);
    tcase_add_test(tc, requests_and_plain_keys_in_one_quota);
    tcase_add_test(tc, no_quota_means_unlimited);
    tcase_add_test(tc, a_new_quota_without_status_uses_spec_hard);
    tcase_add_test(tc, used_above_hard_after_a_quota_cut);
    tcase_add_test(tc, a_bad_quantity_is_an_error_naming_quota_and_key);
    tcase_add_test(tc, scopes_as_kubernetes_applies_them_to_spark_pods);
    tcase_add_test(tc, scoped_quotas_that_miss_spark_pods_do_not_count);
    tcase_add_test(tc, limits_and_pending_pods);
    suite_add_tcase(suite, tc);
    return suite;
}
