/*
 * Unit tests for lib/config.c: the configuration document of SPEC section 3.
 *
 * The table below is the test's own statement of the contract (paths,
 * defaults, ranges), written independently of the library's table.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jobq/errors.h"
#include "test_util.h"

#define SHARE "job-orchestrator.queue.high.scheduling-share-percentage"
#define TIMEOUT "job-orchestrator.queue.head-timeout-seconds"
#define RETRY "job-orchestrator.queue.head-retry-count"

typedef struct tkey {
    const char *key;  /* canonical key for set/get */
    const char *path; /* the key path in the document, as messages show it */
    const char *doc;  /* a document setting just this key to "@" */
    bool is_bool;
    int64_t def, min, max;
    size_t off;
} tkey;

#define F(field) offsetof(jq_config, field)

static const tkey K[] = {
    {"features.jobOrchestrator.enabled", "features.jobOrchestrator.enabled",
     "{\"features\":{\"jobOrchestrator\":{\"enabled\":@}}}", true, 1, 0, 1,
     F(enabled)},
    {"services.jobOrchestrator.settings.batchSize",
     "services.jobOrchestrator.settings.batchSize",
     "{\"services\":{\"jobOrchestrator\":{\"settings\":{\"batchSize\":@}}}}",
     false, 20, 1, 1000000, F(batch_size)},
    {"services.jobOrchestrator.settings.jobRunCleanup.enabled",
     "services.jobOrchestrator.settings.jobRunCleanup.enabled",
     "{\"services\":{\"jobOrchestrator\":{\"settings\":{\"jobRunCleanup\":"
     "{\"enabled\":@}}}}}",
     true, 1, 0, 1, F(cleanup_enabled)},
    {"services.jobOrchestrator.settings.jobRunCleanup.retentionPeriod",
     "services.jobOrchestrator.settings.jobRunCleanup.retentionPeriod",
     "{\"services\":{\"jobOrchestrator\":{\"settings\":{\"jobRunCleanup\":"
     "{\"retentionPeriod\":@}}}}}",
     false, 2592000, 0, 2147483647, F(retention_period_s)},
    {SHARE, "systemProperties." SHARE,
     "{\"systemProperties\":{\"" SHARE "\":@}}", false, 90, 0, 100,
     F(high_share_pct)},
    {TIMEOUT, "systemProperties." TIMEOUT,
     "{\"systemProperties\":{\"" TIMEOUT "\":@}}", false, 3600, 1, 2147483647,
     F(head_timeout_s)},
    {RETRY, "systemProperties." RETRY,
     "{\"systemProperties\":{\"" RETRY "\":@}}", false, 0, 0, 1000000,
     F(head_retry_count)},
};
#define NK ((int)(sizeof K / sizeof K[0]))

static const char DEFAULT_JSON[] =
    "{\"features\":{\"jobOrchestrator\":{\"enabled\":true}},"
    "\"services\":{\"jobOrchestrator\":{\"settings\":{\"batchSize\":20,"
    "\"jobRunCleanup\":{\"enabled\":true,\"retentionPeriod\":2592000}}}},"
    "\"systemProperties\":{\"" SHARE "\":90,\"" TIMEOUT "\":3600,\"" RETRY
    "\":0}}";

static char err[512];

/* ------------------------------------------------------------ helpers */

static int64_t field(const jq_config *c, const tkey *k)
{
    const char *p = (const char *)c + k->off;
    return k->is_bool ? *(const bool *)p : *(const int64_t *)p;
}

static void set_field(jq_config *c, const tkey *k, int64_t v)
{
    char *p = (char *)c + k->off;
    if (k->is_bool)
        *(bool *)p = v != 0;
    else
        *(int64_t *)p = v;
}

static bool cfg_eq(const jq_config *a, const jq_config *b)
{
    for (int i = 0; i < NK; i++)
        if (field(a, &K[i]) != field(b, &K[i]))
            return false;
    return true;
}

/* A base that differs from the defaults in every key. */
static jq_config odd_base(void)
{
    jq_config c;
    jq_config_defaults(&c);
    c.enabled = false;
    c.batch_size = 7;
    c.cleanup_enabled = false;
    c.retention_period_s = 123;
    c.high_share_pct = 33;
    c.head_timeout_s = 45;
    c.head_retry_count = 6;
    return c;
}

/* k->doc with "@" replaced by value. */
static char *doc_with(const tkey *k, const char *value)
{
    static char buf[1024];
    const char *at = strchr(k->doc, '@');
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - k->doc), k->doc, value,
             at + 1);
    return buf;
}

static int parse(jq_config *out, const jq_config *base, const char *json)
{
    memset(err, 'X', sizeof err);
    return jq_config_parse(out, base, json, strlen(json), err, sizeof err);
}

/* Parse json on top of odd_base(); expect rc and, on failure, base intact
 * and the message to be exactly `msg` (or to start with it if `prefix`). */
static void expect(const char *json, int rc, const char *msg, bool prefix)
{
    jq_config base = odd_base(), out = odd_base();
    out.batch_size = 999;
    int got = parse(&out, &base, json);
    ck_assert_msg(got == rc, "%s: rc %d, want %d (%s)", json, got, rc, err);
    if (rc == 0)
        return;
    ck_assert_int_eq(out.batch_size, 999); /* out untouched */
    jq_config ob = odd_base();
    ck_assert(cfg_eq(&base, &ob));
    ck_assert_ptr_null(strchr(err, '\n'));
    if (msg == NULL)
        return;
    if (prefix)
        ck_assert_msg(strncmp(err, msg, strlen(msg)) == 0,
                      "%s: message '%s' does not start with '%s'", json, err,
                      msg);
    else
        ck_assert_str_eq(err, msg);
}

static char *fmt_i64(int64_t v)
{
    static char bufs[4][32];
    static int n;
    char *b = bufs[n++ % 4];
    snprintf(b, 32, "%" PRId64, v);
    return b;
}

/* The JSON text of value v of key k. */
static const char *value_text(const tkey *k, int64_t v)
{
    return k->is_bool ? (v ? "true" : "false") : fmt_i64(v);
}

/* ------------------------------------------------------------ defaults */

START_TEST(test_defaults)
{
    jq_config c;
    memset(&c, 0x5a, sizeof c);
    jq_config_defaults(&c);
    ck_assert(c.enabled);
    ck_assert_int_eq(c.batch_size, 20);
    ck_assert(c.cleanup_enabled);
    ck_assert_int_eq(c.retention_period_s, 2592000);
    ck_assert_int_eq(c.high_share_pct, 90);
    ck_assert_int_eq(c.head_timeout_s, 3600);
    ck_assert_int_eq(c.head_retry_count, 0);
    for (int i = 0; i < NK; i++)
        ck_assert_int_eq(field(&c, &K[i]), K[i].def);
    char *json = jq_config_to_json(&c);
    ck_assert_ptr_nonnull(json);
    ck_assert_str_eq(json, DEFAULT_JSON);
    free(json);
}
END_TEST

START_TEST(test_spec_document)
{
    /* The SPEC's own document, pretty-printed, on top of another base. */
    static const char spec[] =
        "{\n"
        "  \"features\": { \"jobOrchestrator\": { \"enabled\": true } },\n"
        "  \"services\": { \"jobOrchestrator\": { \"settings\": {\n"
        "      \"batchSize\": 20,\n"
        "      \"jobRunCleanup\": { \"enabled\": true, \"retentionPeriod\": "
        "2592000 } } } },\n"
        "  \"systemProperties\": {\n"
        "    \"" SHARE "\": 90,\n"
        "    \"" TIMEOUT "\": 3600,\n"
        "    \"" RETRY "\": 0 }\n"
        "}\n";
    jq_config base = odd_base(), out, def;
    jq_config_defaults(&def);
    ck_assert_int_eq(parse(&out, &base, spec), 0);
    ck_assert(cfg_eq(&out, &def));
}
END_TEST

START_TEST(test_full_document)
{
    static const char doc[] =
        "{\"systemProperties\":{\"" RETRY "\":5,\"" SHARE "\":70,\"" TIMEOUT
        "\":60},"
        "\"services\":{\"jobOrchestrator\":{\"settings\":{\"jobRunCleanup\":"
        "{\"retentionPeriod\":86400,\"enabled\":false},\"batchSize\":3}}},"
        "\"features\":{\"jobOrchestrator\":{\"enabled\":false}}}";
    jq_config c;
    jq_config_defaults(&c);
    ck_assert_int_eq(parse(&c, &c, doc), 0);
    ck_assert(!c.enabled);
    ck_assert_int_eq(c.batch_size, 3);
    ck_assert(!c.cleanup_enabled);
    ck_assert_int_eq(c.retention_period_s, 86400);
    ck_assert_int_eq(c.high_share_pct, 70);
    ck_assert_int_eq(c.head_timeout_s, 60);
    ck_assert_int_eq(c.head_retry_count, 5);
    ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(test_empty_subsets)
{
    static const char *const docs[] = {
        "{}",
        " \t\r\n{ }\n ",
        "{\"features\":{}}",
        "{\"features\":{\"jobOrchestrator\":{}}}",
        "{\"services\":{\"jobOrchestrator\":{\"settings\":{}}}}",
        ("{\"services\":{\"jobOrchestrator\":{\"settings\":{\"jobRunCleanup\":"
         "{}}}}}"),
        "{\"systemProperties\":{}}",
    };
    jq_config base = odd_base();
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        jq_config out;
        jq_config_defaults(&out);
        ck_assert_msg(parse(&out, &base, docs[i]) == 0, "%s: %s", docs[i],
                      err);
        ck_assert(cfg_eq(&out, &base));
    }
}
END_TEST

/* One key in a document changes that field only. */
START_TEST(test_subset_one_key)
{
    const tkey *k = &K[_i];
    jq_config base = odd_base(), out, want = odd_base();
    int64_t v = k->is_bool ? 1 : k->max;
    set_field(&want, k, v);
    const char *doc = doc_with(k, k->is_bool ? "true" : fmt_i64(v));
    ck_assert_msg(parse(&out, &base, doc) == 0, "%s: %s", doc, err);
    ck_assert(cfg_eq(&out, &want));
}
END_TEST

/* ---------------------------------------------------------- validation */

START_TEST(test_range_boundaries)
{
    const tkey *k = &K[_i];
    char msg[256];
    jq_config base = odd_base(), out;
    if (k->is_bool)
        return;
    int64_t ok[] = {k->min, k->max, k->min + 1, k->max - 1};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(parse(&out, &base, doc_with(k, fmt_i64(ok[i]))), 0);
        ck_assert_int_eq(field(&out, k), ok[i]);
    }
    int64_t bad[] = {k->min - 1, k->max + 1};
    for (size_t i = 0; i < 2; i++) {
        snprintf(msg, sizeof msg, "%s: %" PRId64 " is out of range (%" PRId64
                 "..%" PRId64 ")", k->path, bad[i], k->min, k->max);
        expect(doc_with(k, fmt_i64(bad[i])), JOBQ_ERANGE, msg, false);
    }
    /* Far out, and values a careless double->int conversion mishandles. */
    static const char *const far[] = {
        "1e300", "-1e300", "1e999", "-1e999", "9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616",
        "4294967296", "4294967316", "-4294967296"};
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
        snprintf(msg, sizeof msg, "%s: ", k->path);
        expect(doc_with(k, far[i]), JOBQ_ERANGE, msg, true);
        ck_assert_ptr_nonnull(strstr(err, "is out of range"));
    }
}
END_TEST

START_TEST(test_whole_numbers)
{
    jq_config base = odd_base(), out;
    ck_assert_int_eq(parse(&out, &base, doc_with(&K[1], "20.0")), 0);
    ck_assert_int_eq(out.batch_size, 20);
    ck_assert_int_eq(parse(&out, &base, doc_with(&K[1], "2e1")), 0);
    ck_assert_int_eq(out.batch_size, 20);
    ck_assert_int_eq(parse(&out, &base, doc_with(&K[4], "1E2")), 0);
    ck_assert_int_eq(out.high_share_pct, 100);
    ck_assert_int_eq(parse(&out, &base, doc_with(&K[6], "-0")), 0);
    ck_assert_int_eq(out.head_retry_count, 0);
    ck_assert_int_eq(parse(&out, &base, doc_with(&K[3], "2147483647.0")), 0);
    ck_assert_int_eq(out.retention_period_s, 2147483647);

    expect(doc_with(&K[1], "20.5"), JOBQ_EINVAL,
           "services.jobOrchestrator.settings.batchSize: expected an integer "
           "in 1..1000000, got 20.5",
           false);
    expect(doc_with(&K[6], "0.5"), JOBQ_EINVAL,
           "systemProperties." RETRY ": expected an integer in 0..1000000, "
           "got 0.5",
           false);
    expect(doc_with(&K[5], "1e-1"), JOBQ_EINVAL,
           "systemProperties." TIMEOUT ": expected an integer", true);
    /* Not whole although it rounds into range; shown without rounding. */
    expect(doc_with(&K[4], "100.000001"), JOBQ_EINVAL, NULL, false);
    expect(doc_with(&K[1], "1000000.0000000001"), JOBQ_EINVAL,
           "services.jobOrchestrator.settings.batchSize: expected an integer "
           "in 1..1000000, got 1000000.0000000001",
           false);
    expect(doc_with(&K[5], "1e999"), JOBQ_ERANGE,
           "systemProperties." TIMEOUT ": inf is out of range (1..2147483647)",
           false);
    expect(doc_with(&K[4], "-0.5"), JOBQ_EINVAL, NULL, false);
}
END_TEST

START_TEST(test_wrong_types)
{
    const tkey *k = &K[_i];
    static const char *const not_int[] = {
        "\"20\"", "true", "false", "null", "[]", "[20]", "{}", "{\"a\":1}",
        "\"\""};
    static const char *const not_bool[] = {
        "1", "0", "\"true\"", "null", "[]", "[true]", "{}", "1.0", "\"\""};
    const char *const *bad = k->is_bool ? not_bool : not_int;
    char msg[256];
    snprintf(msg, sizeof msg, "%s: expected %s", k->path,
             k->is_bool ? "a boolean (true or false), got "
                        : "an integer in ");
    for (size_t i = 0; i < 9; i++)
        expect(doc_with(k, bad[i]), JOBQ_EINVAL, msg, true);
}
END_TEST

START_TEST(test_type_message)
{
    expect(doc_with(&K[1], "\"20\""), JOBQ_EINVAL,
           "services.jobOrchestrator.settings.batchSize: expected an integer "
           "in 1..1000000, got a string",
           false);
    expect(doc_with(&K[0], "1"), JOBQ_EINVAL,
           "features.jobOrchestrator.enabled: expected a boolean (true or "
           "false), got a number",
           false);
    expect(doc_with(&K[2], "[]"), JOBQ_EINVAL,
           "services.jobOrchestrator.settings.jobRunCleanup.enabled: expected "
           "a boolean (true or false), got an array",
           false);
    expect(doc_with(&K[4], "{}"), JOBQ_EINVAL,
           "systemProperties." SHARE ": expected an integer in 0..100, got an "
           "object",
           false);
    expect(doc_with(&K[5], "null"), JOBQ_EINVAL,
           "systemProperties." TIMEOUT ": expected an integer in 1..2147483647, "
           "got null",
           false);
}
END_TEST

START_TEST(test_unknown_keys)
{
    static const struct {
        const char *doc, *msg;
    } cases[] = {
        {"{\"foo\":1}",
         "foo: unknown key (expected: features, services, systemProperties)"},
        {"{\"features\":{\"foo\":{}}}",
         "features.foo: unknown key (expected: jobOrchestrator)"},
        {"{\"features\":{\"jobOrchestrator\":{\"foo\":true}}}",
         "features.jobOrchestrator.foo: unknown key (expected: enabled)"},
        {"{\"services\":{\"foo\":1}}",
         "services.foo: unknown key (expected: jobOrchestrator)"},
        {"{\"services\":{\"jobOrchestrator\":{\"enabled\":true}}}",
         "services.jobOrchestrator.enabled: unknown key (expected: settings)"},
        {"{\"services\":{\"jobOrchestrator\":{\"settings\":{\"foo\":1}}}}",
         "services.jobOrchestrator.settings.foo: unknown key (expected: "
         "batchSize, jobRunCleanup)"},
        {"{\"services\":{\"jobOrchestrator\":{\"settings\":{\"jobRunCleanup\":"
         "{\"retention\":1}}}}}",
         "services.jobOrchestrator.settings.jobRunCleanup.retention: unknown "
         "key (expected: enabled, retentionPeriod)"},
        {"{\"systemProperties\":{\"job-orchestrator.queue.foo\":1}}",
         "systemProperties.job-orchestrator.queue.foo: unknown key (expected: " SHARE
         ", " TIMEOUT ", " RETRY ")"},
        /* cJSON_GetObjectItem would match these case-insensitively. */
        {"{\"Features\":{}}",
         "Features: unknown key (expected: features, services, "
         "systemProperties)"},
        {"{\"services\":{\"jobOrchestrator\":{\"settings\":{\"batchsize\":1}}}"
         "}",
         "services.jobOrchestrator.settings.batchsize: unknown key (expected: "
         "batchSize, jobRunCleanup)"},
        /* The dotted form belongs to set/get, not to the document. */
        {"{\"features.jobOrchestrator.enabled\":true}",
         "features.jobOrchestrator.enabled: unknown key (expected: features, "
         "services, systemProperties)"},
        {"{\"\":1}", ": unknown key (expected: features, services, "
                     "systemProperties)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect(cases[i].doc, JOBQ_EINVAL, cases[i].msg, false);
}
END_TEST

START_TEST(test_unknown_key_escaped)
{
    /* Control characters and non-ASCII in a key never break the line. */
    expect("{\"a\\nb\\u00e9\\\\\":1}", JOBQ_EINVAL,
           "a\\x0Ab\\xC3\\xA9\\x5C: unknown key", true);
    /* Long keys are cut. */
    char doc[600];
    char key[400];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    snprintf(doc, sizeof doc, "{\"%s\":1}", key);
    expect(doc, JOBQ_EINVAL, NULL, false);
    ck_assert_ptr_nonnull(strstr(err, "k...: unknown key"));
    ck_assert_uint_lt(strlen(err), 200);
}
END_TEST

START_TEST(test_non_objects)
{
    static const struct {
        const char *doc, *msg;
    } cases[] = {
        {"{\"features\":1}", "features: expected an object, got a number"},
        {"{\"features\":{\"jobOrchestrator\":[]}}",
         "features.jobOrchestrator: expected an object, got an array"},
        {"{\"features\":{\"jobOrchestrator\":true}}",
         "features.jobOrchestrator: expected an object, got a boolean"},
        {"{\"services\":null}", "services: expected an object, got null"},
        {"{\"services\":{\"jobOrchestrator\":\"x\"}}",
         "services.jobOrchestrator: expected an object, got a string"},
        {"{\"services\":{\"jobOrchestrator\":{\"settings\":true}}}",
         "services.jobOrchestrator.settings: expected an object, got a "
         "boolean"},
        {"{\"services\":{\"jobOrchestrator\":{\"settings\":{\"jobRunCleanup\":"
         "[{}]}}}}",
         "services.jobOrchestrator.settings.jobRunCleanup: expected an object, "
         "got an array"},
        {"{\"systemProperties\":\"x\"}",
         "systemProperties: expected an object, got a string"},
        {"{\"systemProperties\":[]}",
         "systemProperties: expected an object, got an array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect(cases[i].doc, JOBQ_EINVAL, cases[i].msg, false);
}
END_TEST

START_TEST(test_malformed)
{
    static const char *const bad_json[] = {
        "",    " ",      "{",          "}",          "{\"features\":}",
        "{,}", "{\"a\"}", "{\"a\":1,}", "{} x",       "{}{}",
        "nul", "{'features':{}}",      "{\"features\":{}",
        "\xef\xbb", "{\"a\":1e}", "{\"a\":\"\\x\"}",
    };
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++)
        expect(bad_json[i], JOBQ_EPARSE, "invalid JSON at line 1, column ",
               true);
    static const struct {
        const char *doc, *msg;
    } not_obj[] = {
        {"[]", "the document is not a JSON object (got an array)"},
        {"[{}]", "the document is not a JSON object (got an array)"},
        {"42", "the document is not a JSON object (got a number)"},
        {"\"x\"", "the document is not a JSON object (got a string)"},
        {"null", "the document is not a JSON object (got null)"},
        {" true ", "the document is not a JSON object (got a boolean)"},
    };
    for (size_t i = 0; i < sizeof not_obj / sizeof not_obj[0]; i++)
        expect(not_obj[i].doc, JOBQ_EPARSE, not_obj[i].msg, false);
}
END_TEST

START_TEST(test_malformed_position)
{
    expect("{}x", JOBQ_EPARSE, "invalid JSON at line 1, column 3 (byte 2)",
           false);
    expect("{\n  \"features\": {},\n  \"services\": ]\n}", JOBQ_EPARSE,
           "invalid JSON at line 3, column 15 (byte 34)", false);
}
END_TEST

START_TEST(test_length_bounded)
{
    jq_config base = odd_base(), out;
    /* Only len bytes count: the rest of the buffer is not read. */
    static const char text[] = "{}garbage";
    ck_assert_int_eq(jq_config_parse(&out, &base, text, 2, err, sizeof err),
                     0);
    ck_assert_int_eq(jq_config_parse(&out, &base, text, 3, err, sizeof err),
                     JOBQ_EPARSE);
    /* Not NUL-terminated at all. */
    char *exact = malloc(2);
    memcpy(exact, "{}", 2);
    ck_assert_int_eq(jq_config_parse(&out, &base, exact, 2, err, sizeof err),
                     0);
    free(exact);
    /* A NUL inside the length is not the end of the document. */
    ck_assert_int_eq(jq_config_parse(&out, &base, "{}\0x", 4, err, sizeof err),
                     JOBQ_EPARSE);
    /* No text. */
    ck_assert_int_eq(jq_config_parse(&out, &base, NULL, 0, err, sizeof err),
                     JOBQ_EPARSE);
    ck_assert_int_eq(jq_config_parse(&out, &base, NULL, 5, err, sizeof err),
                     JOBQ_EINVAL);
}
END_TEST

START_TEST(test_duplicates)
{
    static const struct {
        const char *doc, *msg;
    } cases[] = {
        {"{\"features\":{},\"features\":{}}", "features: duplicate key"},
        {"{\"systemProperties\":{},\"features\":{},\"systemProperties\":{}}",
         "systemProperties: duplicate key"},
        {"{\"features\":{\"jobOrchestrator\":{\"enabled\":true,\"enabled\":"
         "false}}}",
         "features.jobOrchestrator.enabled: duplicate key"},
        {"{\"services\":{\"jobOrchestrator\":{\"settings\":{\"batchSize\":1,"
         "\"jobRunCleanup\":{},\"batchSize\":1}}}}",
         "services.jobOrchestrator.settings.batchSize: duplicate key"},
        {"{\"services\":{\"jobOrchestrator\":{\"settings\":{\"jobRunCleanup\":"
         "{},\"jobRunCleanup\":{}}}}}",
         "services.jobOrchestrator.settings.jobRunCleanup: duplicate key"},
        {"{\"systemProperties\":{\"" RETRY "\":1,\"" RETRY "\":2}}",
         "systemProperties." RETRY ": duplicate key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect(cases[i].doc, JOBQ_EINVAL, cases[i].msg, false);
}
END_TEST

START_TEST(test_nothing_half_applied)
{
    /* The good key comes first; the bad one must not leave it applied. */
    static const char *const docs[] = {
        "{\"features\":{\"jobOrchestrator\":{\"enabled\":true}},"
        "\"services\":{\"jobOrchestrator\":{\"settings\":{\"batchSize\":0}}}}",
        "{\"systemProperties\":{\"" SHARE "\":50,\"" RETRY "\":\"1\"}}",
        "{\"systemProperties\":{\"" SHARE "\":50},\"foo\":1}",
        "{\"systemProperties\":{\"" SHARE "\":50,\"" SHARE "\":50}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        jq_config base = odd_base(), out = odd_base(), ob = odd_base();
        out.head_retry_count = 77;
        ck_assert_int_ne(parse(&out, &base, docs[i]), 0);
        ck_assert(cfg_eq(&base, &ob));
        ck_assert_int_eq(out.high_share_pct, 33);
        ck_assert_int_eq(out.head_retry_count, 77);
        /* out aliasing base */
        ck_assert_int_ne(parse(&base, &base, docs[i]), 0);
        ck_assert(cfg_eq(&base, &ob));
    }
}
END_TEST

/* ------------------------------------------------------- apply_json */

START_TEST(test_path_prefix)
{
    jq_config base = odd_base(), out;
    cJSON *doc = cJSON_Parse("{\"systemProperties\":{\"" RETRY "\":-1}}");
    ck_assert_int_eq(
        jq_config_apply_json(&out, &base, doc, "config", err, sizeof err),
        JOBQ_ERANGE);
    ck_assert_str_eq(err, "config.systemProperties." RETRY
                          ": -1 is out of range (0..1000000)");
    ck_assert_int_eq(
        jq_config_apply_json(&out, &base, doc, NULL, err, sizeof err),
        JOBQ_ERANGE);
    ck_assert_str_eq(err, "systemProperties." RETRY
                          ": -1 is out of range (0..1000000)");
    ck_assert_int_eq(jq_config_apply_json(&out, &base, doc, "", err, sizeof err),
                     JOBQ_ERANGE);
    ck_assert_str_eq(err, "systemProperties." RETRY
                          ": -1 is out of range (0..1000000)");
    cJSON_Delete(doc);

    doc = cJSON_Parse("{\"feature\":{}}");
    ck_assert_int_eq(
        jq_config_apply_json(&out, &base, doc, "config", err, sizeof err),
        JOBQ_EINVAL);
    ck_assert_str_eq(err, "config.feature: unknown key (expected: features, "
                          "services, systemProperties)");
    cJSON_Delete(doc);

    doc = cJSON_Parse("{\"features\":{\"jobOrchestrator\":{\"enabled\":0}}}");
    ck_assert_int_eq(
        jq_config_apply_json(&out, &base, doc, "scenario.config", err,
                             sizeof err),
        JOBQ_EINVAL);
    ck_assert_str_eq(err, "scenario.config.features.jobOrchestrator.enabled: "
                          "expected a boolean (true or false), got a number");
    cJSON_Delete(doc);
}
END_TEST

START_TEST(test_apply_json_non_object)
{
    jq_config base = odd_base(), out = odd_base();
    cJSON *doc = cJSON_Parse("[]");
    ck_assert_int_eq(
        jq_config_apply_json(&out, &base, doc, "config", err, sizeof err),
        JOBQ_EINVAL);
    ck_assert_str_eq(err, "config: expected an object, got an array");
    ck_assert_int_eq(
        jq_config_apply_json(&out, &base, NULL, "config", err, sizeof err),
        JOBQ_EINVAL);
    ck_assert_str_eq(err, "config: expected an object, got nothing");
    cJSON_Delete(doc);

    doc = cJSON_Parse("{\"systemProperties\":{\"" SHARE "\":10}}");
    ck_assert_int_eq(
        jq_config_apply_json(&out, &base, doc, "config", err, sizeof err), 0);
    ck_assert_int_eq(out.high_share_pct, 10);
    ck_assert_int_eq(out.batch_size, base.batch_size);
    cJSON_Delete(doc);
}
END_TEST

/* ------------------------------------------------------------ set/get */

START_TEST(test_set_get_roundtrip)
{
    const tkey *k = &K[_i];
    char buf[64];
    jq_config c = odd_base();
    const char *values[4];
    int n = 0;
    if (k->is_bool) {
        values[n++] = "true";
        values[n++] = "false";
    } else {
        values[n++] = fmt_i64(k->min);
        values[n++] = fmt_i64(k->max);
        values[n++] = fmt_i64(k->def);
    }
    for (int i = 0; i < n; i++) {
        jq_config before = c;
        ck_assert_msg(jq_config_set(&c, &c, k->key, values[i], err,
                                    sizeof err) == 0,
                      "%s=%s: %s", k->key, values[i], err);
        ck_assert_int_eq(jq_config_get(&c, k->key, buf, sizeof buf),
                         (int)strlen(values[i]));
        ck_assert_str_eq(buf, values[i]);
        /* Only that field changed. */
        set_field(&before, k, field(&c, k));
        ck_assert(cfg_eq(&before, &c));
        /* The dotted document path is accepted too. */
        ck_assert_int_eq(jq_config_get(&c, k->path, buf, sizeof buf),
                         (int)strlen(values[i]));
        ck_assert_str_eq(buf, values[i]);
        ck_assert_int_eq(
            jq_config_set(&c, &c, k->path, values[i], err, sizeof err), 0);
    }
}
END_TEST

START_TEST(test_set_value_text)
{
    jq_config base = odd_base(), out;
    ck_assert_int_eq(jq_config_set(&out, &base, SHARE, " 90 ", err, sizeof err),
                     0);
    ck_assert_int_eq(out.high_share_pct, 90);
    ck_assert_int_eq(
        jq_config_set(&out, &base, "systemProperties." SHARE, "\n75\t", err,
                      sizeof err),
        0);
    ck_assert_int_eq(out.high_share_pct, 75);
    ck_assert_int_eq(jq_config_set(&out, &base, TIMEOUT, "6e1", err, sizeof err),
                     0);
    ck_assert_int_eq(out.head_timeout_s, 60);
    ck_assert_int_eq(
        jq_config_set(&out, &base, "features.jobOrchestrator.enabled", "true",
                      err, sizeof err),
        0);
    ck_assert(out.enabled);
}
END_TEST

START_TEST(test_set_errors)
{
    jq_config base = odd_base(), out = odd_base(), ob = odd_base();
    out.batch_size = 999;

    ck_assert_int_eq(jq_config_set(&out, &base, SHARE, "101", err, sizeof err),
                     JOBQ_ERANGE);
    ck_assert_str_eq(err, SHARE ": 101 is out of range (0..100)");
    ck_assert_int_eq(jq_config_set(&out, &base, "systemProperties." SHARE,
                                   "-1", err, sizeof err),
                     JOBQ_ERANGE);
    ck_assert_str_eq(err,
                     "systemProperties." SHARE ": -1 is out of range (0..100)");
    ck_assert_int_eq(jq_config_set(&out, &base, SHARE, "\"90\"", err,
                                   sizeof err),
                     JOBQ_EINVAL);
    ck_assert_str_eq(err, SHARE ": expected an integer in 0..100, got a string");
    ck_assert_int_eq(jq_config_set(&out, &base,
                                   "services.jobOrchestrator.settings.batchSize",
                                   "20.5", err, sizeof err),
                     JOBQ_EINVAL);
    ck_assert_int_eq(jq_config_set(&out, &base,
                                   "features.jobOrchestrator.enabled", "1",
                                   err, sizeof err),
                     JOBQ_EINVAL);
    ck_assert_str_eq(err, "features.jobOrchestrator.enabled: expected a "
                          "boolean (true or false), got a number");

    static const char *const not_json[] = {"", " ", "9 0", "abc", "90x",
                                           "tru", "{", "'1'"};
    for (size_t i = 0; i < sizeof not_json / sizeof not_json[0]; i++) {
        ck_assert_int_eq(
            jq_config_set(&out, &base, RETRY, not_json[i], err, sizeof err),
            JOBQ_EPARSE);
        ck_assert_msg(strncmp(err, RETRY ": invalid JSON at ",
                              strlen(RETRY ": invalid JSON at ")) == 0,
                      "%s", err);
    }
    ck_assert_int_eq(jq_config_set(&out, &base, RETRY, "9 0", err, sizeof err),
                     JOBQ_EPARSE);
    ck_assert_str_eq(err, RETRY ": invalid JSON at line 1, column 3 (byte 2)");
    ck_assert_int_eq(jq_config_set(&out, &base, RETRY, NULL, err, sizeof err),
                     JOBQ_EINVAL);
    ck_assert_int_eq(jq_config_set(NULL, &base, RETRY, "1", err, sizeof err),
                     JOBQ_EINVAL);

    ck_assert_int_eq(out.batch_size, 999);
    ck_assert(cfg_eq(&base, &ob));
}
END_TEST

START_TEST(test_set_unknown_key)
{
    jq_config base = odd_base(), out = odd_base();
    static const char *const unknown[] = {
        "batchSize",
        "systemProperties",
        "job-orchestrator.queue.high",
        "features.jobOrchestrator",
        "features.jobOrchestrator.enabled.",
        "Features.jobOrchestrator.enabled",
        "systemProperties." RETRY "x",
        "services.jobOrchestrator.settings.jobRunCleanup",
        "",
    };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ck_assert_int_eq(
            jq_config_set(&out, &base, unknown[i], "1", err, sizeof err),
            JOBQ_ENOTFOUND);
        ck_assert_int_eq(jq_config_get(&base, unknown[i], NULL, 0),
                         JOBQ_ENOTFOUND);
    }
    ck_assert_int_eq(jq_config_set(&out, &base, NULL, "1", err, sizeof err),
                     JOBQ_ENOTFOUND);
    ck_assert_int_eq(jq_config_set(&out, &base, "x\ny", "1", err, sizeof err),
                     JOBQ_ENOTFOUND);
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert(strncmp(err, "unknown configuration key 'x\\x0Ay'", 34) == 0);
    /* The message lists every valid key. */
    for (int i = 0; i < NK; i++)
        ck_assert_ptr_nonnull(strstr(err, K[i].key));
}
END_TEST

START_TEST(test_get_snprintf)
{
    jq_config c;
    jq_config_defaults(&c);
    char buf[8];
    ck_assert_int_eq(jq_config_get(&c, TIMEOUT, NULL, 0), 4);
    memset(buf, 'X', sizeof buf);
    ck_assert_int_eq(jq_config_get(&c, TIMEOUT, buf, 3), 4);
    ck_assert_str_eq(buf, "36");
    ck_assert_int_eq(jq_config_get(&c, "features.jobOrchestrator.enabled", buf,
                                   sizeof buf),
                     4);
    ck_assert_str_eq(buf, "true");
    c.cleanup_enabled = false;
    ck_assert_int_eq(
        jq_config_get(&c, "services.jobOrchestrator.settings.jobRunCleanup."
                          "enabled",
                      buf, sizeof buf),
        5);
    ck_assert_str_eq(buf, "false");
    ck_assert_int_eq(jq_config_get(&c, NULL, buf, sizeof buf), JOBQ_ENOTFOUND);
}
END_TEST

START_TEST(test_keys_list)
{
    int n = 0;
    while (jq_config_keys[n] != NULL)
        n++;
    ck_assert_int_eq(n, NK);
    char buf[64];
    jq_config c = odd_base();
    for (int i = 0; i < NK; i++) {
        ck_assert_str_eq(jq_config_keys[i], K[i].key);
        ck_assert_int_gt(jq_config_get(&c, jq_config_keys[i], buf, sizeof buf),
                         0);
        ck_assert_str_eq(buf, value_text(&K[i], field(&c, &K[i])));
    }
}
END_TEST

/* ------------------------------------------------------------ to_json */

static void roundtrip(const jq_config *c)
{
    char *json = jq_config_to_json(c);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_null(strchr(json, ' '));
    ck_assert_ptr_null(strchr(json, '\n'));
    jq_config base = odd_base(), out;
    ck_assert_msg(parse(&out, &base, json) == 0, "%s: %s", json, err);
    ck_assert(cfg_eq(&out, c));
    /* Complete: applying it to any base gives the same value. */
    jq_config def;
    jq_config_defaults(&def);
    ck_assert_int_eq(parse(&out, &def, json), 0);
    ck_assert(cfg_eq(&out, c));
    free(json);
}

START_TEST(test_to_json_roundtrip)
{
    jq_config c;
    jq_config_defaults(&c);
    roundtrip(&c);
    c = odd_base();
    roundtrip(&c);
    for (int i = 0; i < NK; i++)
        set_field(&c, &K[i], K[i].min);
    roundtrip(&c);
    for (int i = 0; i < NK; i++)
        set_field(&c, &K[i], K[i].max);
    roundtrip(&c);
    ck_assert_ptr_null(jq_config_to_json(NULL));
}
END_TEST

START_TEST(test_to_json_shape)
{
    jq_config c = odd_base();
    char *json = jq_config_to_json(&c);
    ck_assert_str_eq(
        json,
        "{\"features\":{\"jobOrchestrator\":{\"enabled\":false}},"
        "\"services\":{\"jobOrchestrator\":{\"settings\":{\"batchSize\":7,"
        "\"jobRunCleanup\":{\"enabled\":false,\"retentionPeriod\":123}}}},"
        "\"systemProperties\":{\"" SHARE "\":33,\"" TIMEOUT "\":45,\"" RETRY
        "\":6}}");
    free(json);
}
END_TEST

/* ----------------------------------------------------------- messages */

START_TEST(test_message_bounds)
{
    static const char doc[] =
        "{\"services\":{\"jobOrchestrator\":{\"settings\":{\"batchSize\":0}}}}";
    const char *full =
        "services.jobOrchestrator.settings.batchSize: 0 is out of range "
        "(1..1000000)";
    jq_config base = odd_base(), out;
    /* No message buffer at all. */
    ck_assert_int_eq(jq_config_parse(&out, &base, doc, strlen(doc), NULL, 0),
                     JOBQ_ERANGE);
    ck_assert_int_eq(jq_config_parse(&out, &base, doc, strlen(doc), NULL, 64),
                     JOBQ_ERANGE);
    ck_assert_int_eq(jq_config_set(&out, &base, "nope", "1", NULL, 0),
                     JOBQ_ENOTFOUND);
    for (size_t cap = 0; cap <= strlen(full) + 2; cap++) {
        char *buf = malloc(cap > 0 ? cap : 1); /* ASan catches overruns */
        if (cap > 0)
            memset(buf, 'X', cap);
        ck_assert_int_eq(jq_config_parse(&out, &base, doc, strlen(doc), buf,
                                         cap),
                         JOBQ_ERANGE);
        if (cap > 0) {
            size_t n = 0;
            while (n < cap && buf[n] != '\0')
                n++;
            ck_assert_uint_lt(n, cap);
            ck_assert_uint_eq(n, cap - 1 < strlen(full) ? cap - 1
                                                        : strlen(full));
            ck_assert(strncmp(buf, full, n) == 0);
        }
        free(buf);
    }
    /* Success clears the message. */
    strcpy(err, "stale");
    ck_assert_int_eq(jq_config_parse(&out, &base, "{}", 2, err, sizeof err),
                     0);
    ck_assert_str_eq(err, "");
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_spec_document);
    tcase_add_test(tc, test_full_document);
    tcase_add_test(tc, test_empty_subsets);
    tcase_add_loop_test(tc, test_subset_one_key, 0, NK);
    tcase_add_loop_test(tc, test_range_boundaries, 0, NK);
    tcase_add_test(tc, test_whole_numbers);
    tcase_add_loop_test(tc, test_wrong_types, 0, NK);
    tcase_add_test(tc, test_type_message);
    tcase_add_test(tc, test_unknown_keys);
    tcase_add_test(tc, test_unknown_key_escaped);
    tcase_add_test(tc, test_non_objects);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_malformed_position);
    tcase_add_test(tc, test_length_bounded);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_nothing_half_applied);
    tcase_add_test(tc, test_message_bounds);
    suite_add_tcase(s, tc);

    tc = tcase_create("apply_json");
    tcase_add_test(tc, test_path_prefix);
    tcase_add_test(tc, test_apply_json_non_object);
    suite_add_tcase(s, tc);

    tc = tcase_create("set_get");
    tcase_add_loop_test(tc, test_set_get_roundtrip, 0, NK);
    tcase_add_test(tc, test_set_value_text);
    tcase_add_test(tc, test_set_errors);
    tcase_add_test(tc, test_set_unknown_key);
    tcase_add_test(tc, test_get_snprintf);
    tcase_add_test(tc, test_keys_list);
    suite_add_tcase(s, tc);

    tc = tcase_create("to_json");
    tcase_add_test(tc, test_to_json_roundtrip);
    tcase_add_test(tc, test_to_json_shape);
    suite_add_tcase(s, tc);
    return s;
}
