/*
 * Names at the boundary (lib/names.c): UTF-8 decoding (overlong forms,
 * surrogates, truncated sequences), control characters, DNS labels, the
 * error messages (field, byte offset and value), and the public entry
 * points that call the checks (jobq_job_define, jobq_run_submit and the
 * batch, which refuses the whole batch).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "jobq/jobq.h"
#include "names.h"
#include "test_util.h"

static int name_ok(const char *name)
{
    char err[256];
    return jq_name_check("job name", name, JOBQ_NAME_MAX, true, err,
                         sizeof err) == 0;
}

START_TEST(utf8_is_decoded_strictly)
{
    uint32_t cp = 0;
    ck_assert_uint_eq(jq_utf8_decode((const unsigned char *)"A", 1, &cp), 1);
    ck_assert_uint_eq(cp, 'A');
    ck_assert_uint_eq(jq_utf8_decode((const unsigned char *)"\xc3\xa9", 2, &cp),
                      2);
    ck_assert_uint_eq(cp, 0xe9);
    ck_assert_uint_eq(
        jq_utf8_decode((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
    ck_assert_uint_eq(cp, 0x1f600);
    static const char *const bad[] = {
        "\x80",             /* a lone continuation byte */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xf5\x80\x80\x80",
        "\xff",
        "\xc3",     /* truncated */
        "\xe2\x82", /* truncated */
        "\xc3\x28", /* bad continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(jq_utf8_decode((const unsigned char *)bad[i],
                                     strlen(bad[i]), &cp) == 0,
                      "bad sequence %zu accepted", i);
}
END_TEST

START_TEST(names_refuse_controls_and_bad_utf8)
{
    ck_assert(name_ok("nightly-etl"));
    ck_assert(name_ok("Nightly ETL (\xc3\xa9t\xc3\xa9) 'quoted' \"x\" \\"));
    ck_assert(name_ok("'; DROP TABLE runs;--")); /* bound parameters */
    ck_assert(name_ok("line\xe2\x80\xa8sep"));   /* U+2028 is not C0/C1 */
    ck_assert(!name_ok("tab\there"));
    ck_assert(!name_ok("esc\x1b[2J"));
    ck_assert(!name_ok("del\x7f"));
    ck_assert(!name_ok("c1\xc2\x85")); /* U+0085 NEL */
    ck_assert(!name_ok("bad\xff"));
    ck_assert(!name_ok(""));
    char err[256];
    ck_assert_int_eq(
        jq_name_check("run name", "ab\x1b", 253, false, err, sizeof err),
        JOBQ_EINVAL);
    ck_assert_str_eq(err, "run name: byte 2 (0x1b) is a control character");
    ck_assert_int_eq(
        jq_name_check("domain", "d\xc3(", 253, false, err, sizeof err),
        JOBQ_EINVAL);
    ck_assert_str_eq(err, "domain: byte 1 (0xc3) is not valid UTF-8");
    /* Optional names may be NULL or empty. */
    ck_assert_int_eq(
        jq_name_check("run name", NULL, 253, false, err, sizeof err), 0);
    ck_assert_int_eq(jq_name_check("run name", "", 253, false, err, sizeof err),
                     0);
    char longest[JOBQ_NAME_MAX + 2];
    memset(longest, 'x', sizeof longest);
    longest[JOBQ_NAME_MAX] = '\0';
    ck_assert(name_ok(longest));
    longest[JOBQ_NAME_MAX] = 'x';
    longest[JOBQ_NAME_MAX + 1] = '\0';
    ck_assert(!name_ok(longest));
}
END_TEST

static int ns_ok(const char *ns)
{
    return jq_namespace_check("namespace", ns, NULL, 0) == 0;
}

START_TEST(namespaces_are_dns_labels)
{
    ck_assert(ns_ok("analytics"));
    ck_assert(ns_ok("ml-team-2"));
    ck_assert(ns_ok("a"));
    ck_assert(ns_ok("0"));
    ck_assert(!ns_ok(""));
    ck_assert(!ns_ok(NULL));
    ck_assert(!ns_ok("Analytics"));
    ck_assert(!ns_ok("-a"));
    ck_assert(!ns_ok("a-"));
    ck_assert(!ns_ok("a_b"));
    ck_assert(!ns_ok("a.b"));
    ck_assert(!ns_ok("a b"));
    ck_assert(!ns_ok("caf\xc3\xa9"));
    char label[JOBQ_NS_MAX + 2];
    memset(label, 'a', sizeof label);
    label[JOBQ_NS_MAX] = '\0';
    ck_assert(ns_ok(label));
    label[JOBQ_NS_MAX] = 'a';
    label[JOBQ_NS_MAX + 1] = '\0';
    ck_assert(!ns_ok(label));
    char err[256];
    ck_assert_int_eq(jq_namespace_check("namespace", "team_a", err, sizeof err),
                     JOBQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "namespace: byte 4 ('_', 0x5f)"));
    jq_namespace_check("namespace", "x-", err, sizeof err);
    ck_assert_ptr_nonnull(strstr(err, "byte 1 ('-', 0x2d)"));
    ck_assert_ptr_nonnull(strstr(err, "starts and ends"));
}
END_TEST

START_TEST(repair_replaces_only_invalid_bytes)
{
    char *fixed = jq_utf8_repair("ok \xc3\xa9 \xff\xc3(");
    ck_assert_str_eq(fixed, "ok \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd(");
    free(fixed);
}
END_TEST

/* The public entry points call the checks. */
START_TEST(entry_points_refuse_bad_names)
{
    jobq_scheduler *s = NULL;
    jobq_options opts = JOBQ_OPTIONS_INIT;
    ck_assert_int_eq(jobq_open(&s, &opts, NULL, 0), 0);
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = "etl";
    def.ns = "Analytics";
    char msg[256];
    ck_assert_int_eq(jobq_job_define(s, &def), JOBQ_EINVAL);
    jobq_errmsg(s, msg, sizeof msg);
    ck_assert_ptr_nonnull(strstr(msg, "namespace: byte 0 ('A', 0x41)"));
    def.ns = "analytics";
    def.domain = "dom\n";
    ck_assert_int_eq(jobq_job_define(s, &def), JOBQ_EINVAL);
    jobq_errmsg(s, msg, sizeof msg);
    ck_assert_str_eq(msg, "domain: byte 3 (0x0a) is a control character");
    def.domain = NULL;
    def.name = "etl\xff";
    ck_assert_int_eq(jobq_job_define(s, &def), JOBQ_EINVAL);
    def.name = "etl";
    ck_assert_int_eq(jobq_job_define(s, &def), 0);
    jobq_submit_opts o = JOBQ_SUBMIT_OPTS_INIT;
    o.run_name = "r\x1b";
    ck_assert_int_eq(jobq_run_submit(s, NULL, "etl", &o), JOBQ_EINVAL);
    /* A batch with one bad name submits nothing and names the index. */
    jobq_submit_opts batch[3] = {JOBQ_SUBMIT_OPTS_INIT, JOBQ_SUBMIT_OPTS_INIT,
                                 JOBQ_SUBMIT_OPTS_INIT};
    batch[2].run_name = "r\x1b";
    const char *jobs[3] = {"etl", "etl", "etl"};
    jobq_run_id ids[3] = {7, 7, 7};
    ck_assert_int_eq(jobq_run_submit_batch(s, ids, jobs, batch, 3),
                     JOBQ_EINVAL);
    jobq_errmsg(s, msg, sizeof msg);
    ck_assert_ptr_nonnull(strstr(msg, "runs[2]: run name: byte 1 (0x1b)"));
    ck_assert_uint_eq(ids[0] + ids[1] + ids[2], 0);
    jobq_tick_stats st = JOBQ_TICK_STATS_INIT;
    ck_assert_int_eq(jobq_tick(s, 1000, &st), 0);
    ck_assert_uint_eq(st.deployed + st.queued, 0);
    jobs[1] = "nope";
    batch[2].run_name = NULL;
    ck_assert_int_eq(jobq_run_submit_batch(s, ids, jobs, batch, 3),
                     JOBQ_ENOTFOUND);
    jobq_errmsg(s, msg, sizeof msg);
    ck_assert_ptr_nonnull(strstr(msg, "runs[1]"));
    ck_assert_int_eq(jobq_tick(s, 2000, &st), 0);
    ck_assert_uint_eq(st.deployed + st.queued, 0);
    jobq_close(s);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *suite = suite_create("names");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, utf8_is_decoded_strictly);
    tcase_add_test(tc, names_refuse_controls_and_bad_utf8);
    tcase_add_test(tc, namespaces_are_dns_labels);
    tcase_add_test(tc, repair_replaces_only_invalid_bytes);
    tcase_add_test(tc, entry_points_refuse_bad_names);
    suite_add_tcase(suite, tc);
    return suite;
}
