/*
 * Unit tests for names.c: SparkApplication names derived from run ids are
 * deterministic, valid DNS-1123 labels of at most 63 characters.
 */
#include <check.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "names.h"
#include "test_util.h"

static const char *name_of(const char *prefix, jobq_run_id id, const char *job)
{
    static char out[K8S_NAME_MAX + 1];
    ck_assert_int_eq(k8s_app_name(out, sizeof out, prefix, id, job), 0);
    ck_assert_msg(k8s_is_dns_label(out), "\"%s\" is not a DNS label", out);
    return out;
}

START_TEST(plain_job_names_are_kept)
{
    ck_assert_str_eq(name_of("jobq", 42, "nightly-etl"), "jobq-42-nightly-etl");
    ck_assert_str_eq(name_of("jobq-3fa9c1", 1, "a"), "jobq-3fa9c1-1-a");
}
END_TEST

START_TEST(other_characters_collapse_into_one_dash)
{
    ck_assert_str_eq(name_of("jobq", 7, "Nightly_ETL  job!!"),
                     "jobq-7-nightly-etl-job");
    ck_assert_str_eq(name_of("jobq", 7, "--a..b--"), "jobq-7-a-b");
    ck_assert_str_eq(name_of("jobq", 7, "ünïcode"), "jobq-7-n-code");
}
END_TEST

START_TEST(nothing_left_of_the_job_gives_prefix_and_id)
{
    ck_assert_str_eq(name_of("jobq", 5, "___"), "jobq-5");
    ck_assert_str_eq(name_of("jobq", 5, ""), "jobq-5");
}
END_TEST

START_TEST(long_names_are_cut_to_63_without_a_trailing_dash)
{
    char job[300];
    memset(job, 'x', sizeof job - 1);
    job[sizeof job - 1] = '\0';
    const char *name = name_of("jobq", 123456, job);
    ck_assert_uint_eq(strlen(name), K8S_NAME_MAX);
    ck_assert(strncmp(name, "jobq-123456-xxx", 15) == 0);
    /* A cut that would land right after a separator drops it: "jobq-1-"
     * is 7 bytes, 55 x's make 62, and the "-" before "yy" would be the
     * 63rd byte with no room for a character after it. */
    char dashed[80];
    snprintf(dashed, sizeof dashed, "%.*s-yy", 55, job);
    name = name_of("jobq", 1, dashed);
    ck_assert_uint_eq(strlen(name), 62);
    ck_assert(name[strlen(name) - 1] == 'x');
    ck_assert_uint_le(strlen(name), K8S_NAME_MAX);
}
END_TEST

START_TEST(the_largest_id_fits)
{
    const char *name = name_of("jobq-ffffff", UINT64_MAX, "some-long-job-name-here");
    ck_assert(strncmp(name, "jobq-ffffff-18446744073709551615-", 33) == 0);
    ck_assert_uint_le(strlen(name), K8S_NAME_MAX);
}
END_TEST

START_TEST(same_input_same_name)
{
    char a[K8S_NAME_MAX + 1], b[K8S_NAME_MAX + 1];
    ck_assert_int_eq(k8s_app_name(a, sizeof a, "jobq", 99, "My Job"), 0);
    ck_assert_int_eq(k8s_app_name(b, sizeof b, "jobq", 99, "My Job"), 0);
    ck_assert_str_eq(a, b);
    ck_assert_int_eq(k8s_app_name(b, sizeof b, "jobq", 100, "My Job"), 0);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(random_job_names_always_give_valid_labels)
{
    srand(12345);
    for (int round = 0; round < 2000; round++) {
        char job[200];
        size_t length = (size_t)(rand() % 199);
        for (size_t i = 0; i < length; i++)
            job[i] = (char)(1 + rand() % 255);
        job[length] = '\0';
        name_of("jobq", (jobq_run_id)rand() + 1, job);
    }
}
END_TEST

START_TEST(bad_prefixes_are_refused)
{
    char out[K8S_NAME_MAX + 1];
    ck_assert_int_eq(k8s_app_name(out, sizeof out, "", 1, "a"), JOBQ_EINVAL);
    ck_assert_int_eq(k8s_app_name(out, sizeof out, "Jobq", 1, "a"), JOBQ_EINVAL);
    ck_assert_int_eq(k8s_app_name(out, sizeof out, "1jobq", 1, "a"), JOBQ_EINVAL);
    ck_assert_int_eq(k8s_app_name(out, sizeof out, "jobq-", 1, "a"), JOBQ_EINVAL);
    ck_assert_int_eq(k8s_app_name(out, sizeof out,
                                  "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghx",
                                  1, "a"), JOBQ_EINVAL);
    ck_assert_int_eq(k8s_app_name(out, 10, "jobq", 1, "a"), JOBQ_EINVAL);
}
END_TEST

START_TEST(dns_label_check)
{
    ck_assert(k8s_is_dns_label("a"));
    ck_assert(k8s_is_dns_label("a-1"));
    ck_assert(!k8s_is_dns_label(""));
    ck_assert(!k8s_is_dns_label("-a"));
    ck_assert(!k8s_is_dns_label("a-"));
    ck_assert(!k8s_is_dns_label("A"));
    ck_assert(!k8s_is_dns_label("a.b"));
    char long_name[65];
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    ck_assert(!k8s_is_dns_label(long_name));
    long_name[63] = '\0';
    ck_assert(k8s_is_dns_label(long_name));
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *suite = suite_create("names");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, plain_job_names_are_kept);
    tcase_add_test(tc, other_characters_collapse_into_one_dash);
    tcase_add_test(tc, nothing_left_of_the_job_gives_prefix_and_id);
    tcase_add_test(tc, long_names_are_cut_to_63_without_a_trailing_dash);
    tcase_add_test(tc, the_largest_id_fits);
    tcase_add_test(tc, same_input_same_name);
    tcase_add_test(tc, random_job_names_always_give_valid_labels);
    tcase_add_test(tc, bad_prefixes_are_refused);
    tcase_add_test(tc, dns_label_check);
    suite_add_tcase(suite, tc);
    return suite;
}
