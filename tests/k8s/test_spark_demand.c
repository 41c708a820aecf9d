/*
 * Unit tests for spark_demand.c: the resource demand of a SparkApplication,
 * checked against worked examples computed by hand (see each comment).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "spark_demand.h"
#include "test_util.h"

#define MIB (INT64_C(1) << 20)
#define GIB (INT64_C(1) << 30)

static jobq_resources demand_of(const char *json)
{
    cJSON *app = cJSON_Parse(json);
    ck_assert_ptr_nonnull(app);
    jobq_resources out;
    char err[256] = "";
    int rc = spark_demand(&out, app, err, sizeof err);
    cJSON_Delete(app);
    ck_assert_msg(rc == 0, "spark_demand failed: %s", err);
    return out;
}

static void assert_demand(jobq_resources got, int64_t cpu, int64_t memory,
                          int64_t pods)
{
    ck_assert_int_eq(got.amount[JOBQ_RESOURCE_CPU], cpu);
    ck_assert_int_eq(got.amount[JOBQ_RESOURCE_MEMORY], memory);
    ck_assert_int_eq(got.amount[JOBQ_RESOURCE_PODS], pods);
    ck_assert_int_eq(got.amount[JOBQ_RESOURCE_STORAGE], 0);
}

START_TEST(scala_small_pods_get_the_384_mib_floor)
{
    /* 0.1 x 512 MiB = 51 MiB < 384 MiB, so each pod is 512 + 384 = 896 MiB;
     * driver + 2 executors = 3 pods, 2688 MiB, 3 cores. */
    assert_demand(demand_of("{\"spec\":{\"type\":\"Scala\","
                            "\"driver\":{\"cores\":1,\"memory\":\"512m\"},"
                            "\"executor\":{\"cores\":1,\"instances\":2,"
                            "\"memory\":\"512m\"}}}"),
                  3000, 3 * 896 * MIB, 3);
}
END_TEST

START_TEST(python_uses_factor_0_4)
{
    /* driver 2g: 0.4 x 2048 = 819.2 -> 819 MiB overhead, 2867 MiB pod;
     * executor 4g: 0.4 x 4096 = 1638.4 -> 1638, 5734 MiB pod, x3;
     * total 2867 + 17202 = 20069 MiB. cpu: 500m + 3 x 2 cores = 6500m. */
    assert_demand(demand_of("{\"type\":\"Python\","
                            "\"driver\":{\"coreRequest\":\"500m\","
                            "\"memory\":\"2g\"},"
                            "\"executor\":{\"cores\":2,\"instances\":3,"
                            "\"memory\":\"4g\"}}"),
                  6500, 20069 * MIB, 4);
}
END_TEST

START_TEST(r_uses_factor_0_4_and_java_0_1)
{
    /* R, 1g each: 0.4 x 1024 = 409.6 -> 409 MiB: 1433 MiB per pod. */
    assert_demand(demand_of("{\"type\":\"R\",\"driver\":{\"memory\":\"1g\"},"
                            "\"executor\":{\"instances\":1,\"memory\":\"1g\"}}"),
                  2000, 2 * 1433 * MIB, 2);
    /* Java, 8g: 0.1 x 8192 = 819.2 -> 819 MiB: 9011 MiB per pod. (The
     * CRD's minimum for instances is 1: 0 is refused at load.) */
    assert_demand(demand_of("{\"type\":\"Java\",\"driver\":{\"memory\":\"8g\"},"
                            "\"executor\":{\"instances\":1,\"memory\":\"8g\"}}"),
                  2000, 2 * 9011 * MIB, 2);
}
END_TEST

START_TEST(explicit_memory_overhead_wins_even_below_the_floor)
{
    /* 1g + 256m = 1280 MiB per executor; driver 1g + 384m default. */
    assert_demand(demand_of("{\"driver\":{\"memory\":\"1g\"},"
                            "\"executor\":{\"instances\":4,\"memory\":\"1g\","
                            "\"memoryOverhead\":\"256m\"}}"),
                  5000, 1408 * MIB + 4 * 1280 * MIB, 5);
}
END_TEST

START_TEST(core_request_wins_over_cores)
{
    assert_demand(demand_of("{\"driver\":{\"cores\":4,\"coreRequest\":\"1.5\","
                            "\"memory\":\"1g\"},\"executor\":{\"cores\":3,"
                            "\"coreRequest\":\"250m\",\"instances\":2,"
                            "\"memory\":\"1g\"}}"),
                  1500 + 2 * 250, 3 * 1408 * MIB, 3);
}
END_TEST

START_TEST(operator_defaults_apply_to_missing_fields)
{
    /* cores 1, memory 1g (+384 MiB), and Spark's default of 2 executors
     * (spark.executor.instances). */
    assert_demand(demand_of("{\"spec\":{\"driver\":{},\"executor\":{}}}"),
                  3000, 3 * 1408 * MIB, 3);
}
END_TEST

START_TEST(overhead_factor_from_the_spec)
{
    /* factor 0.2 x 4096 = 819.2 -> 819 MiB; driver: 0.2 x 1024 = 204 <
     * 384, so 1408 MiB. */
    assert_demand(demand_of("{\"type\":\"Python\",\"memoryOverheadFactor\":"
                            "\"0.2\",\"driver\":{\"memory\":\"1g\"},"
                            "\"executor\":{\"instances\":1,\"memory\":\"4g\"}}"),
                  2000, 1408 * MIB + 4915 * MIB, 2);
}
END_TEST

START_TEST(dynamic_allocation_counts_max_executors)
{
    assert_demand(demand_of("{\"dynamicAllocation\":{\"enabled\":true,"
                            "\"maxExecutors\":5},\"driver\":{\"memory\":\"1g\"},"
                            "\"executor\":{\"instances\":1,\"memory\":\"1g\"}}"),
                  6000, 6 * 1408 * MIB, 6);
}
END_TEST

START_TEST(manifest_and_bare_spec_agree)
{
    const char *spec = "{\"driver\":{\"memory\":\"3g\",\"cores\":2},"
                       "\"executor\":{\"instances\":7,\"memory\":\"6g\"}}";
    char manifest[512];
    snprintf(manifest, sizeof manifest,
             "{\"apiVersion\":\"sparkoperator.k8s.io/v1beta2\","
             "\"kind\":\"SparkApplication\",\"spec\":%s}", spec);
    jobq_resources a = demand_of(spec), b = demand_of(manifest);
    ck_assert_mem_eq(&a, &b, sizeof a);
}
END_TEST

START_TEST(spark_memory_units)
{
    static const struct {
        const char *text;
        int64_t bytes;
    } cases[] = {
        {"512m", 512 * MIB}, {"512M", 512 * MIB},    {"2g", 2 * GIB},
        {"2gb", 2 * GIB},    {"1536k", 1536 * 1024}, {"1024", 1024 * MIB},
        {"1t", 1024 * GIB},  {"100b", 100},          {"3MB", 3 * MIB},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t bytes = -1;
        char err[128];
        ck_assert_int_eq(spark_memory_parse(&bytes, cases[i].text, err,
                                            sizeof err), 0);
        ck_assert_msg(bytes == cases[i].bytes, "%s", cases[i].text);
    }
}
END_TEST

START_TEST(spark_memory_refuses_what_spark_refuses)
{
    static const char *const bad[] = {"", "512Mi", "1.5g", "-1g", "g", "12x",
                                      " 1g"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t bytes;
        char err[128] = "";
        ck_assert_msg(spark_memory_parse(&bytes, bad[i], err, sizeof err) ==
                          JOBQ_EPARSE, "accepted \"%s\"", bad[i]);
        ck_assert_msg(err[0] != '\0', "no message for \"%s\"", bad[i]);
    }
    int64_t bytes;
    char err[128];
    ck_assert_int_eq(spark_memory_parse(&bytes, "99999999999999p", err,
                                        sizeof err), JOBQ_ERANGE);
}
END_TEST

START_TEST(spark_512m_is_not_the_kubernetes_512m)
{
    /* The reason spark_memory_parse exists: Kubernetes reads "512m" as
     * 0.512 bytes and the library's parser refuses it for memory. */
    int64_t bytes;
    ck_assert_int_eq(jobq_quantity_parse(&bytes, "512m", JOBQ_RESOURCE_MEMORY,
                                         NULL, 0), JOBQ_EPARSE);
    ck_assert_int_eq(spark_memory_parse(&bytes, "512m", NULL, 0), 0);
    ck_assert_int_eq(bytes, 512 * MIB);
}
END_TEST

START_TEST(spark_conf_overheads_count)
{
    /* The case: spark.executor.memoryOverhead=8g in sparkConf.
     * driver 1g + 384m = 1408 MiB; executors 2g + 8g = 10240 MiB x 2. */
    assert_demand(demand_of("{\"type\":\"Scala\",\"sparkConf\":{"
                            "\"spark.executor.memoryOverhead\":\"8g\"},"
                            "\"driver\":{\"memory\":\"1g\"},"
                            "\"executor\":{\"instances\":2,\"memory\":\"2g\"}}"),
                  3000, 1408 * MIB + 2 * 10240 * MIB, 3);
    /* spark.driver.memoryOverheadFactor 0.5 x 2048 = 1024; executors take
     * spark.kubernetes.memoryOverheadFactor 0.25 x 4096 = 1024 (it wins
     * over spec.memoryOverheadFactor: the operator puts sparkConf later). */
    assert_demand(demand_of("{\"type\":\"Java\",\"memoryOverheadFactor\":\"0.9\","
                            "\"sparkConf\":{\"spark.driver.memoryOverheadFactor\":"
                            "\"0.5\",\"spark.kubernetes.memoryOverheadFactor\":"
                            "\"0.25\"},\"driver\":{\"memory\":\"2g\"},"
                            "\"executor\":{\"instances\":1,\"memory\":\"4g\"}}"),
                  2000, 3072 * MIB + 5120 * MIB, 2);
    /* The spec's own fields win over the same sparkConf keys; sparkConf
     * fills what the spec leaves out (memory, instances, cores). */
    assert_demand(demand_of("{\"sparkConf\":{\"spark.driver.memoryOverhead\":\"2g\","
                            "\"spark.executor.memory\":\"3g\","
                            "\"spark.executor.instances\":\"3\","
                            "\"spark.executor.cores\":\"2\"},"
                            "\"driver\":{\"memory\":\"1g\",\"memoryOverhead\":\"512m\"},"
                            "\"executor\":{}}"),
                  1000 + 3 * 2000, 1536 * MIB + 3 * (3072 + 384) * MIB, 4);
}
END_TEST

START_TEST(limits_and_priority_classes)
{
    cJSON *app = cJSON_Parse("{\"sparkConf\":{\"spark.kubernetes.driver."
                             "limit.cores\":\"2\"},\"driver\":{\"cores\":1,"
                             "\"priorityClassName\":\"batch\"},\"executor\":"
                             "{\"instances\":2,\"coreRequest\":\"500m\","
                             "\"coreLimit\":\"1500m\"}}");
    spark_shape shape;
    char err[256] = "";
    ck_assert_msg(spark_shape_of(&shape, app, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(shape.driver.cpu_request, 1000);
    ck_assert_int_eq(shape.driver.cpu_limit, 2000);
    ck_assert_str_eq(shape.driver.priority_class, "batch");
    ck_assert_int_eq(shape.executor.cpu_request, 500);
    ck_assert_int_eq(shape.executor.cpu_limit, 1500);
    ck_assert_str_eq(shape.executor.priority_class, "");
    ck_assert_int_eq(shape.executors, 2);
    cJSON_Delete(app);
    app = cJSON_Parse("{\"driver\":{},\"executor\":{}}");
    ck_assert_int_eq(spark_shape_of(&shape, app, err, sizeof err), 0);
    ck_assert_int_eq(shape.driver.cpu_limit, SPARK_NO_LIMIT);
    cJSON_Delete(app);
}
END_TEST

START_TEST(errors_name_the_field)
{
    cJSON *app = cJSON_Parse("{\"driver\":{\"memory\":\"1g\"},"
                             "\"executor\":{\"memory\":\"lots\"}}");
    jobq_resources out;
    char err[256] = "";
    ck_assert_int_eq(spark_demand(&out, app, err, sizeof err), JOBQ_EPARSE);
    ck_assert_msg(strstr(err, "spec.executor.memory") != NULL, "%s", err);
    cJSON_Delete(app);
    app = cJSON_Parse("{\"executor\":{\"instances\":-2}}");
    ck_assert_int_eq(spark_demand(&out, app, err, sizeof err), JOBQ_EPARSE);
    ck_assert_msg(strstr(err, "spec.executor.instances") != NULL, "%s", err);
    cJSON_Delete(app);
    app = cJSON_Parse("{\"driver\":{\"coreRequest\":\"lots\"}}");
    ck_assert_int_lt(spark_demand(&out, app, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "spec.driver.coreRequest") != NULL, "%s", err);
    cJSON_Delete(app);
    app = cJSON_Parse("[1]");
    ck_assert_int_eq(spark_demand(&out, app, err, sizeof err), JOBQ_EINVAL);
    cJSON_Delete(app);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *suite = suite_create("spark_demand");
    TCase *tc = tcase_create("demand");
    tcase_add_test(tc, scala_small_pods_get_the_384_mib_floor);
    tcase_add_test(tc, python_uses_factor_0_4);
    tcase_add_test(tc, r_uses_factor_0_4_and_java_0_1);
    tcase_add_test(tc, explicit_memory_overhead_wins_even_below_the_floor);
    tcase_add_test(tc, core_request_wins_over_cores);
    tcase_add_test(tc, operator_defaults_apply_to_missing_fields);
    tcase_add_test(tc, overhead_factor_from_the_spec);
    tcase_add_test(tc, dynamic_allocation_counts_max_executors);
    tcase_add_test(tc, manifest_and_bare_spec_agree);
    tcase_add_test(tc, spark_memory_units);
    tcase_add_test(tc, spark_memory_refuses_what_spark_refuses);
    tcase_add_test(tc, spark_512m_is_not_the_kubernetes_512m);
    tcase_add_test(tc, errors_name_the_field);
    tcase_add_test(tc, spark_conf_overheads_count);
    tcase_add_test(tc, limits_and_priority_classes);
    suite_add_tcase(suite, tc);
    return suite;
}
