/*
 * Unit tests for crd_rules.c: what the Spark operator's v1beta2 CRD
 * refuses is found at load with the JSON path, and fields it does not know
 * (the API server would prune them) are listed.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "crd_rules.h"
#include "test_util.h"

#define VALID "\"type\":\"Scala\",\"sparkVersion\":\"3.5.0\"," \
              "\"mainApplicationFile\":\"local:///a.jar\""

static char unknown_paths[512];

static void collect(void *ctx, const char *path)
{
    (void)ctx;
    snprintf(unknown_paths + strlen(unknown_paths),
             sizeof unknown_paths - strlen(unknown_paths), "%s;", path);
}

/* 0, or -1 with the message in err. */
static int check(const char *json, char *err, size_t cap)
{
    cJSON *manifest = cJSON_Parse(json);
    ck_assert_msg(manifest != NULL, "bad test JSON: %s", json);
    unknown_paths[0] = '\0';
    int rc = crd_validate(manifest, err, cap, collect, NULL);
    cJSON_Delete(manifest);
    return rc;
}

static void refused(const char *json, const char *message)
{
    char err[300] = "";
    ck_assert_int_eq(check(json, err, sizeof err), -1);
    ck_assert_msg(strstr(err, message) != NULL, "\"%s\" not in \"%s\"",
                  message, err);
}

START_TEST(a_valid_manifest_passes)
{
    char err[300] = "";
    ck_assert_int_eq(check("{\"spec\":{" VALID ",\"driver\":{\"cores\":1},"
                           "\"executor\":{\"instances\":2,\"cores\":3},"
                           "\"memoryOverheadFactor\":\"0.2\",\"sparkConf\":"
                           "{\"spark.a\":\"1\"}}}", err, sizeof err), 0);
    ck_assert_str_eq(unknown_paths, "");
}
END_TEST

START_TEST(what_the_crd_refuses)
{
    refused("{}", "spec: Required value");
    refused("{\"spec\":{\"type\":\"Scala\",\"mainApplicationFile\":\"x\","
            "\"driver\":{},\"executor\":{}}}", "spec.sparkVersion: Required");
    refused("{\"spec\":{" VALID ",\"executor\":{}}}", "spec.driver: Required");
    refused("{\"spec\":{\"type\":\"python\",\"sparkVersion\":\"3\","
            "\"mainApplicationFile\":\"x\",\"driver\":{},\"executor\":{}}}",
            "spec.type: Unsupported value \"python\": supported values: "
            "Java, Python, Scala, R");
    refused("{\"spec\":{" VALID ",\"driver\":{},\"executor\":{\"instances\":0}}}",
            "spec.executor.instances: 0 is less than the minimum 1");
    refused("{\"spec\":{" VALID ",\"driver\":{\"cores\":0.5},\"executor\":{}}}",
            "spec.driver.cores: must be an integer");
    refused("{\"spec\":{" VALID ",\"memoryOverheadFactor\":0.2,\"driver\":{},"
            "\"executor\":{}}}", "spec.memoryOverheadFactor: must be a string");
    refused("{\"spec\":{" VALID ",\"sparkConf\":{\"spark.x\":1},\"driver\":{},"
            "\"executor\":{}}}", "spec.sparkConf: must be an object of strings");
}
END_TEST

START_TEST(unknown_fields_are_listed)
{
    char err[300] = "";
    ck_assert_int_eq(check("{\"spec\":{" VALID ",\"priorityClassName\":\"x\","
                           "\"driver\":{\"resources\":{},\"priorityClassName\":"
                           "\"p\"},\"executor\":{\"coresRequest\":\"1\"}},"
                           "\"extra\":1}", err, sizeof err), 0);
    ck_assert_str_eq(unknown_paths, "extra;spec.priorityClassName;"
                                    "spec.driver.resources;"
                                    "spec.executor.coresRequest;");
}
END_TEST

START_TEST(dns_1035_names)
{
    ck_assert(crd_is_dns1035_label("jobq-0a1b2c-17-etl"));
    ck_assert(!crd_is_dns1035_label("1jobq"));
    ck_assert(!crd_is_dns1035_label("jobq-"));
    ck_assert(!crd_is_dns1035_label("Jobq"));
    ck_assert(!crd_is_dns1035_label(""));
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *suite = suite_create("crd_rules");
    TCase *tc = tcase_create("crd_rules");
    tcase_add_test(tc, a_valid_manifest_passes);
    tcase_add_test(tc, what_the_crd_refuses);
    tcase_add_test(tc, unknown_fields_are_listed);
    tcase_add_test(tc, dns_1035_names);
    suite_add_tcase(suite, tc);
    return suite;
}
