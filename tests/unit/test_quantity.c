/*
 * Unit tests for Kubernetes quantity parsing and formatting (lib/quantity.c).
 *
 * Mostly tables: quantities that parse (every suffix, fractions, exponents,
 * cpu rounding up, the INT64_MAX boundary), quantities that are refused
 * (with the status and a piece of the message), and amounts that format.
 * Then properties over many values: format then parse gives the amount
 * back, and random quantities agree with an independent 128-bit reference.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "quantity.h"
#include "test_util.h"

#define CPU JOBQ_RESOURCE_CPU
#define MEMORY JOBQ_RESOURCE_MEMORY
#define PODS JOBQ_RESOURCE_PODS
#define STORAGE JOBQ_RESOURCE_STORAGE

/* 2^63 - 1 written in binary units, exactly. */
#define MAX_IN_EI "7.999999999999999999132638262011596452794037759304046630859375Ei"
#define MAX_IN_PI "8191.99999999999999911182158029987476766109466552734375Pi"
#define MAX_IN_GI "8589934591.999999999068677425384521484375Gi"
/* 2^-60 Ei: exactly one byte. */
#define ONE_IN_EI "0.000000000000000000867361737988403547205962240695953369140625Ei"

/* --------------------------------------------------------- parse: valid */

typedef struct valid_case {
    const char *text;
    jobq_resource_kind kind;
    int64_t expected;
} valid_case;

static const valid_case valid_cases[] = {
    /* cpu: cores in, millicores out */
    {"0", CPU, 0},
    {"1", CPU, 1000},
    {"2", CPU, 2000},
    {"+1", CPU, 1000},
    {"-0", CPU, 0},
    {"0.5", CPU, 500},
    {".5", CPU, 500},
    {"1.", CPU, 1000},
    {"1.5", CPU, 1500},
    {"500m", CPU, 500},
    {"512m", CPU, 512},
    {"1500m", CPU, 1500},
    {"1m", CPU, 1},
    {"0m", CPU, 0},
    {"1000000u", CPU, 1000},
    {"1k", CPU, 1000000},
    {"1M", CPU, INT64_C(1000000000)},
    {"1G", CPU, INT64_C(1000000000000)},
    {"1T", CPU, INT64_C(1000000000000000)},
    {"1P", CPU, INT64_C(1000000000000000000)},
    {"1e3", CPU, 1000000},
    {"1E3", CPU, 1000000},
    {"1e-3", CPU, 1},
    {"25e-2", CPU, 250},
    {"1Ki", CPU, 1024000},
    {"0.5Ki", CPU, 512000},
    {"1Mi", CPU, INT64_C(1048576000)},
    {"1Gi", CPU, INT64_C(1073741824000)},
    {"000000000001", CPU, 1000},
    {"100000000000000000000e-20", CPU, 1000},
    {"9223372036854775807m", CPU, INT64_MAX},
    {"9223372036854775.807", CPU, INT64_MAX},
    /* cpu: below a millicore rounds up */
    {"0.0001", CPU, 1},
    {"0.000000001", CPU, 1},
    {"1n", CPU, 1},
    {"1u", CPU, 1},
    {"999999n", CPU, 1},
    {"1000000n", CPU, 1},
    {"1000001n", CPU, 2},
    {"1.5m", CPU, 2},
    {"1.5e-3", CPU, 2},
    {"1e-4", CPU, 1},
    {"1e-999999999", CPU, 1},
    {"1.000000000000000000000000001", CPU, 1001},
    {"0.1Ki", CPU, 102400},
    {"0.0001Ki", CPU, 103}, /* 102.4 millicores */
    {"9223372036854775806.5m", CPU, INT64_MAX},
    /* memory: bytes */
    {"0", MEMORY, 0},
    {"1", MEMORY, 1},
    {"1.0", MEMORY, 1},
    {"1k", MEMORY, 1000},
    {"1M", MEMORY, 1000000},
    {"1G", MEMORY, INT64_C(1000000000)},
    {"1T", MEMORY, INT64_C(1000000000000)},
    {"1P", MEMORY, INT64_C(1000000000000000)},
    {"1E", MEMORY, INT64_C(1000000000000000000)},
    {"9.223372036854775807E", MEMORY, INT64_MAX},
    {"1Ki", MEMORY, 1024},
    {"1Mi", MEMORY, INT64_C(1048576)},
    {"1Gi", MEMORY, INT64_C(1073741824)},
    {"1Ti", MEMORY, INT64_C(1099511627776)},
    {"1Pi", MEMORY, INT64_C(1125899906842624)},
    {"1Ei", MEMORY, INT64_C(1152921504606846976)},
    {"7Ei", MEMORY, INT64_C(8070450532247928832)},
    {"0.5Ei", MEMORY, INT64_C(576460752303423488)},
    {"8191Pi", MEMORY, INT64_C(9222246136947933184)},
    {"0.5Ki", MEMORY, 512},
    {"1.5Gi", MEMORY, INT64_C(1610612736)},
    {"512Mi", MEMORY, INT64_C(536870912)},
    {"2Gi", MEMORY, INT64_C(2147483648)},
    {"32Gi", MEMORY, INT64_C(34359738368)},
    {"256Gi", MEMORY, INT64_C(274877906944)},
    {"1e3", MEMORY, 1000},
    {"1E3", MEMORY, 1000},
    {"1e+3", MEMORY, 1000},
    {"1e0", MEMORY, 1},
    {"120e-1", MEMORY, 12},
    {"1.5e3", MEMORY, 1500},
    {"0e999999999", MEMORY, 0},
    {"0.0e-999999999", MEMORY, 0},
    {"9223372036854775807", MEMORY, INT64_MAX},
    {"09223372036854775807", MEMORY, INT64_MAX},
    {"9223372036854775807.000", MEMORY, INT64_MAX},
    {MAX_IN_EI, MEMORY, INT64_MAX},
    {MAX_IN_PI, MEMORY, INT64_MAX},
    {MAX_IN_GI, MEMORY, INT64_MAX},
    {ONE_IN_EI, MEMORY, 1},
    {"unlimited", MEMORY, JOBQ_UNLIMITED},
    /* pods: a count */
    {"0", PODS, 0},
    {"1", PODS, 1},
    {"110", PODS, 110},
    {"1k", PODS, 1000},
    {"1Ki", PODS, 1024},
    {"1e2", PODS, 100},
    {"unlimited", PODS, JOBQ_UNLIMITED},
    /* storage: bytes */
    {"0", STORAGE, 0},
    {"1Ti", STORAGE, INT64_C(1099511627776)},
    {"100Gi", STORAGE, INT64_C(107374182400)},
    {"1T", STORAGE, INT64_C(1000000000000)},
    {"unlimited", STORAGE, JOBQ_UNLIMITED},
    {"unlimited", CPU, JOBQ_UNLIMITED},
};

#define VALID_COUNT ((int)(sizeof valid_cases / sizeof valid_cases[0]))

START_TEST(parse_valid)
{
    const valid_case *c = &valid_cases[_i];
    int64_t value = -12345;
    char err[256] = "stale";
    int status = jq_quantity_parse(&value, c->text, c->kind, err, sizeof err);
    ck_assert_msg(status == JOBQ_OK, "%s \"%s\": status %d: %s",
                  jobq_resource_name(c->kind), c->text, status, err);
    ck_assert_msg(value == c->expected, "%s \"%s\": got %" PRId64
                  ", expected %" PRId64, jobq_resource_name(c->kind),
                  c->text, value, c->expected);
    ck_assert_str_eq(err, ""); /* success clears the message */
}
END_TEST

/* ------------------------------------------------------- parse: refused */

typedef struct invalid_case {
    const char *text;
    jobq_resource_kind kind;
    int status;
    const char *message; /* must occur in the message */
} invalid_case;

static const invalid_case invalid_cases[] = {
    /* sub-unit suffixes on bytes and pods, even when they add up to a
     * whole number: "1000m" of memory is a Spark-style MiB, not one byte */
    {"1000m", MEMORY, JOBQ_EPARSE, "\"1000m\" is not a whole number of bytes (did you mean 1000Mi?)"},
    {"0m", STORAGE, JOBQ_EPARSE, "did you mean 0Mi?"},
    {"1000000u", MEMORY, JOBQ_EPARSE, "the 'u' suffix counts fractions of one"},
    {"1000000000n", STORAGE, JOBQ_EPARSE, "the 'n' suffix counts fractions of one"},
    {"2000m", PODS, JOBQ_EPARSE, "is not a whole number of pods"},
    /* malformed */
    {"", MEMORY, JOBQ_EPARSE, "\"\" is not a quantity: it is empty"},
    {" ", MEMORY, JOBQ_EPARSE, "\" \" is not a quantity: it contains white space"},
    {" 1", CPU, JOBQ_EPARSE, "white space"},
    {"1 ", CPU, JOBQ_EPARSE, "white space"},
    {"1 Gi", MEMORY, JOBQ_EPARSE, "white space"},
    {"1Gi\n", MEMORY, JOBQ_EPARSE, "\"1Gi\\x0a\" is not a quantity: it contains white space"},
    {"abc", MEMORY, JOBQ_EPARSE, "\"abc\" is not a quantity: expected a number such as 500m"},
    {"-", CPU, JOBQ_EPARSE, "expected a number"},
    {"+", CPU, JOBQ_EPARSE, "expected a number"},
    {".", CPU, JOBQ_EPARSE, "expected a number"},
    {"-.", CPU, JOBQ_EPARSE, "expected a number"},
    {"--1", CPU, JOBQ_EPARSE, "expected a number"},
    {"+-1", CPU, JOBQ_EPARSE, "expected a number"},
    {"unlimitedx", MEMORY, JOBQ_EPARSE, "expected a number"},
    {"Unlimited", MEMORY, JOBQ_EPARSE, "expected a number"},
    {"Ki", MEMORY, JOBQ_EPARSE, "\"Ki\" is not a quantity: a number must come before the unit"},
    {"m", CPU, JOBQ_EPARSE, "a number must come before the unit"},
    {"E", CPU, JOBQ_EPARSE, "a number must come before the unit"},
    {"e3", CPU, JOBQ_EPARSE, "expected a number"},
    {"1.2.3", MEMORY, JOBQ_EPARSE, "\"1.2.3\" is not a quantity: it has more than one decimal point"},
    {"1..2", MEMORY, JOBQ_EPARSE, "more than one decimal point"},
    {"1Gi.5", MEMORY, JOBQ_EPARSE, "unexpected '.' at character 4"},
    {"1Gi2", MEMORY, JOBQ_EPARSE, "unexpected '2' at character 4"},
    {"1,5", CPU, JOBQ_EPARSE, "unexpected ',' at character 2"},
    {"1\xff", CPU, JOBQ_EPARSE, "\"1\\xff\" is not a quantity: unexpected '\\xff' at character 2"},
    {"1\"", CPU, JOBQ_EPARSE, "\"1\\\"\" is not a quantity"},
    {"1x", CPU, JOBQ_EPARSE, "unknown unit \"x\" (units: n u m k M G T P E Ki Mi Gi Ti Pi Ei"},
    {"1KiB", MEMORY, JOBQ_EPARSE, "unknown unit \"KiB\""},
    {"1Gb", MEMORY, JOBQ_EPARSE, "\"1Gb\" is not a quantity: unknown unit \"Gb\" (did you mean 1Gi?)"},
    {"2g", MEMORY, JOBQ_EPARSE, "(did you mean 2Gi?)"},
    {"1.5GB", MEMORY, JOBQ_EPARSE, "(did you mean 1.5Gi?)"},
    {"4mb", STORAGE, JOBQ_EPARSE, "(did you mean 4Mi?)"},
    {"2g", CPU, JOBQ_EPARSE, "unknown unit \"g\" (units: "},
    {"1K", MEMORY, JOBQ_EPARSE, "(did you mean 1Ki?)"},
    {"1ki", MEMORY, JOBQ_EPARSE, "(did you mean 1Ki?)"},
    {"1EB", MEMORY, JOBQ_EPARSE, "(did you mean 1Ei?)"},
    {"1e", MEMORY, JOBQ_EPARSE, "\"1e\" is not a quantity: the exponent has no digits"},
    {"1e+", MEMORY, JOBQ_EPARSE, "malformed exponent"},
    {"1e-", MEMORY, JOBQ_EPARSE, "malformed exponent"},
    {"1e3x", MEMORY, JOBQ_EPARSE, "malformed exponent"},
    {"1e3.5", MEMORY, JOBQ_EPARSE, "malformed exponent"},
    {"1e+-3", MEMORY, JOBQ_EPARSE, "malformed exponent"},
    {"0x10", MEMORY, JOBQ_EPARSE, "unexpected '1' at character 3"},
    /* negative */
    {"-1", MEMORY, JOBQ_EPARSE, "\"-1\" must not be negative"},
    {"-1", CPU, JOBQ_EPARSE, "\"-1\" must not be negative"},
    {"-0.001", CPU, JOBQ_EPARSE, "must not be negative"},
    {"-1n", CPU, JOBQ_EPARSE, "must not be negative"},
    {"-1e999", MEMORY, JOBQ_EPARSE, "must not be negative"},
    {"-2Gi", STORAGE, JOBQ_EPARSE, "must not be negative"},
    /* not whole */
    {"512m", MEMORY, JOBQ_EPARSE, "\"512m\" is not a whole number of bytes (did you mean 512Mi?)"},
    {"512m", STORAGE, JOBQ_EPARSE, "\"512m\" is not a whole number of bytes (did you mean 512Mi?)"},
    {"1.5m", MEMORY, JOBQ_EPARSE, "(did you mean 1.5Mi?)"},
    {"1.5", MEMORY, JOBQ_EPARSE, "\"1.5\" is not a whole number of bytes"},
    {"1.5", PODS, JOBQ_EPARSE, "\"1.5\" is not a whole number of pods"},
    {"1500m", PODS, JOBQ_EPARSE, "\"1500m\" is not a whole number of pods"},
    {"0.001Ki", MEMORY, JOBQ_EPARSE, "not a whole number of bytes"},
    {"1n", MEMORY, JOBQ_EPARSE, "not a whole number of bytes"},
    {"12e-1", MEMORY, JOBQ_EPARSE, "not a whole number of bytes"},
    {"1e-999999999", MEMORY, JOBQ_EPARSE, "not a whole number of bytes"},
    {"1.000000000000000000000000001", PODS, JOBQ_EPARSE, "not a whole number of pods"},
    {"7.9999999999999999991326382620115964527940377593040466308593751Ei", MEMORY, JOBQ_EPARSE, "not a whole number of bytes"},
    /* too large */
    {"9223372036854775808", MEMORY, JOBQ_ERANGE, "\"9223372036854775808\" is too large (more than 9223372036854775807 bytes)"},
    {"9223372036854775808", PODS, JOBQ_ERANGE, "(more than 9223372036854775807 pods)"},
    {"9223372036854775807", CPU, JOBQ_ERANGE, "(more than 9223372036854775807 millicores)"},
    {"9223372036854775808m", CPU, JOBQ_ERANGE, "too large"},
    {"9223372036854775.8071", CPU, JOBQ_ERANGE, "too large"},
    {"9223372036854775807.0001m", CPU, JOBQ_ERANGE, "too large"},
    {"8Ei", MEMORY, JOBQ_ERANGE, "\"8Ei\" is too large"},
    {"8192Pi", STORAGE, JOBQ_ERANGE, "too large"},
    {"10E", MEMORY, JOBQ_ERANGE, "too large"},
    {"1e19", MEMORY, JOBQ_ERANGE, "too large"},
    {"1e999999999", MEMORY, JOBQ_ERANGE, "\"1e999999999\" is too large"},
    {"1e99999999999999999999999999999", MEMORY, JOBQ_ERANGE, "too large"},
    {"100000000000000000000000000000000000000000", PODS, JOBQ_ERANGE, "too large"},
    {MAX_IN_EI, CPU, JOBQ_ERANGE, "too large"},
    {"1Ei", CPU, JOBQ_ERANGE, "too large"},
    /* a long value is shown shortened */
    {"123456789012345678901234567890123456789012345678901234567890x", CPU,
     JOBQ_EPARSE, "\"123456789012345678901234567890123456789012345678...\" is not a quantity"},
};

#define INVALID_COUNT ((int)(sizeof invalid_cases / sizeof invalid_cases[0]))

START_TEST(parse_invalid)
{
    const invalid_case *c = &invalid_cases[_i];
    int64_t value = -12345;
    char err[512] = "";
    int status = jq_quantity_parse(&value, c->text, c->kind, err, sizeof err);
    ck_assert_msg(status == c->status, "%s \"%s\": status %d, expected %d (%s)",
                  jobq_resource_name(c->kind), c->text, status, c->status,
                  err);
    ck_assert_msg(value == -12345, "\"%s\": output written on failure",
                  c->text);
    ck_assert_msg(strstr(err, c->message) != NULL,
                  "\"%s\": message [%s] lacks [%s]", c->text, err,
                  c->message);
    /* The message starts with the value in quotes, never a field name. */
    ck_assert_msg(err[0] == '"', "\"%s\": message [%s]", c->text, err);
}
END_TEST

/* Plain values appear in their messages exactly, in quotes. */
START_TEST(message_quotes_value)
{
    static const char *texts[] = {"512m", "1.5", "-3", "8Ei", "1e999999999",
                                  "12abc", "1.2.3", "Gi"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        for (int kind = 0; kind < JOBQ_RESOURCE_COUNT; kind++) {
            int64_t value;
            char err[256];
            char quoted[64];
            int status = jq_quantity_parse(&value, texts[i],
                                           (jobq_resource_kind)kind, err,
                                           sizeof err);
            if (status == JOBQ_OK)
                continue; /* "512m" and "1.5" are fine cpu */
            snprintf(quoted, sizeof quoted, "\"%s\"", texts[i]);
            ck_assert_msg(strncmp(err, quoted, strlen(quoted)) == 0,
                          "[%s] does not start with %s", err, quoted);
            if (kind != PODS) /* "pods" is also the unit of pods */
                ck_assert_ptr_null(strstr(err, jobq_resource_name(
                                                   (jobq_resource_kind)kind)));
        }
    }
}
END_TEST

START_TEST(null_and_bad_arguments)
{
    int64_t value = 7;
    char err[128];
    ck_assert_int_eq(jq_quantity_parse(NULL, "1", CPU, err, sizeof err),
                     JOBQ_EINVAL);
    ck_assert_str_ne(err, "");
    ck_assert_int_eq(jq_quantity_parse(&value, NULL, CPU, err, sizeof err),
                     JOBQ_EINVAL);
    ck_assert_str_ne(err, "");
    ck_assert_int_eq(jq_quantity_parse(&value, "1", JOBQ_RESOURCE_COUNT, err,
                                       sizeof err),
                     JOBQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unknown resource kind 4"));
    ck_assert_int_eq(jq_quantity_parse(&value, "1", (jobq_resource_kind)-1,
                                       err, sizeof err),
                     JOBQ_EINVAL);
    ck_assert_int_eq(value, 7);
    ck_assert_int_eq(jq_quantity_parse(&value, "1", CPU, NULL, 0), JOBQ_OK);
    ck_assert_int_eq(value, 1000);
    ck_assert_int_eq(jq_quantity_parse(&value, "x", CPU, NULL, 99),
                     JOBQ_EPARSE);
}
END_TEST

START_TEST(small_error_buffers)
{
    int64_t value;
    char err[8];
    memset(err, 'x', sizeof err);
    ck_assert_int_eq(jq_quantity_parse(&value, "512m", MEMORY, err, 1),
                     JOBQ_EPARSE);
    ck_assert_str_eq(err, "");
    memset(err, 'x', sizeof err);
    ck_assert_int_eq(jq_quantity_parse(&value, "512m", MEMORY, err, 5),
                     JOBQ_EPARSE);
    ck_assert_str_eq(err, "\"512");
    ck_assert_int_eq(err[5], 'x'); /* nothing written past err_cap */
    memset(err, 'x', sizeof err);
    ck_assert_int_eq(jq_quantity_parse(&value, "512m", MEMORY, err, 7),
                     JOBQ_EPARSE);
    ck_assert_str_eq(err, "\"512m\"");
    memset(err, 'x', sizeof err);
    ck_assert_int_eq(jq_quantity_parse(&value, "512m", MEMORY, err, 0),
                     JOBQ_EPARSE);
    ck_assert_int_eq(err[0], 'x');
    ck_assert_int_eq(jq_quantity_parse(&value, NULL, MEMORY, err, 4),
                     JOBQ_EINVAL);
    ck_assert_uint_eq(strlen(err), 3);
}
END_TEST

START_TEST(public_wrappers)
{
    int64_t value = 0;
    char err[128];
    ck_assert_int_eq(jobq_quantity_parse(&value, "2Gi", MEMORY, err,
                                         sizeof err),
                     JOBQ_OK);
    ck_assert_int_eq(value, INT64_C(2147483648));
    ck_assert_int_eq(jobq_quantity_parse(&value, "512m", MEMORY, err,
                                         sizeof err),
                     JOBQ_EPARSE);
    ck_assert_str_eq(err,
                     "\"512m\" is not a whole number of bytes (did you mean "
                     "512Mi?)");
    char buf[32];
    ck_assert_int_eq(jobq_quantity_format(buf, sizeof buf, 1536, CPU), 5);
    ck_assert_str_eq(buf, "1536m");
    ck_assert_int_eq(jobq_quantity_format(buf, sizeof buf, 0, 9),
                     JOBQ_EINVAL);
}
END_TEST

START_TEST(resource_names)
{
    ck_assert_str_eq(jobq_resource_name(CPU), "cpu");
    ck_assert_str_eq(jobq_resource_name(MEMORY), "memory");
    ck_assert_str_eq(jobq_resource_name(PODS), "pods");
    ck_assert_str_eq(jobq_resource_name(STORAGE), "storage");
    ck_assert_ptr_null(jobq_resource_name(JOBQ_RESOURCE_COUNT));
    ck_assert_ptr_null(jobq_resource_name((jobq_resource_kind)-1));
    ck_assert_ptr_null(jobq_resource_name((jobq_resource_kind)1000));
}
END_TEST

/* --------------------------------------------------------------- format */

typedef struct format_case {
    int64_t amount;
    jobq_resource_kind kind;
    const char *expected;
} format_case;

static const format_case format_cases[] = {
    {0, CPU, "0"},
    {1, CPU, "1m"},
    {500, CPU, "500m"},
    {1000, CPU, "1"},
    {1500, CPU, "1500m"},
    {8000, CPU, "8"},
    {64000, CPU, "64"},
    {-500, CPU, "-500m"},
    {-2000, CPU, "-2"},
    {INT64_MAX, CPU, "unlimited"},
    {INT64_MAX - 807, CPU, "9223372036854775"},
    {INT64_MIN, CPU, "-9223372036854775808m"},
    {0, MEMORY, "0"},
    {1, MEMORY, "1"},
    {1000, MEMORY, "1000"},
    {1024, MEMORY, "1Ki"},
    {1536, MEMORY, "1536"},
    {INT64_C(1000000000), MEMORY, "1000000000"},
    {INT64_C(536870912), MEMORY, "512Mi"},
    {INT64_C(1610612736), MEMORY, "1536Mi"},
    {INT64_C(34359738368), MEMORY, "32Gi"},
    {INT64_C(1099511627776), MEMORY, "1Ti"},
    {INT64_C(1125899906842624), MEMORY, "1Pi"},
    {INT64_C(1152921504606846976), MEMORY, "1Ei"},
    {INT64_C(4611686018427387904), MEMORY, "4Ei"},
    {INT64_C(9222246136947933184), MEMORY, "8191Pi"},
    {INT64_MAX - 1, MEMORY, "9223372036854775806"},
    {INT64_MAX, MEMORY, "unlimited"},
    {-1024, MEMORY, "-1Ki"},
    {INT64_MIN, MEMORY, "-8Ei"},
    {INT64_C(1099511627776), STORAGE, "1Ti"},
    {INT64_C(107374182400), STORAGE, "100Gi"},
    {INT64_MAX, STORAGE, "unlimited"},
    {0, PODS, "0"},
    {110, PODS, "110"},
    {1024, PODS, "1024"},
    {INT64_MAX, PODS, "unlimited"},
};

#define FORMAT_COUNT ((int)(sizeof format_cases / sizeof format_cases[0]))

START_TEST(format_table)
{
    const format_case *c = &format_cases[_i];
    char buf[64];
    int length = jq_quantity_format(buf, sizeof buf, c->amount, c->kind);
    ck_assert_str_eq(buf, c->expected);
    ck_assert_int_eq(length, (int)strlen(c->expected));
}
END_TEST

START_TEST(format_like_snprintf)
{
    char buf[8];
    memset(buf, 'x', sizeof buf);
    int64_t amount = INT64_C(1610612736); /* "1536Mi" */
    ck_assert_int_eq(jq_quantity_format(buf, 4, amount, MEMORY), 6);
    ck_assert_str_eq(buf, "153");
    ck_assert_int_eq(buf[4], 'x');
    ck_assert_int_eq(jq_quantity_format(buf, 1, amount, MEMORY), 6);
    ck_assert_str_eq(buf, "");
    ck_assert_int_eq(jq_quantity_format(NULL, 0, amount, MEMORY), 6);
    ck_assert_int_eq(jq_quantity_format(NULL, 0, INT64_MAX, CPU), 9);
    ck_assert_int_eq(jq_quantity_format(NULL, 5, amount, MEMORY),
                     JOBQ_EINVAL);
    ck_assert_int_eq(jq_quantity_format(buf, sizeof buf, 1,
                                        JOBQ_RESOURCE_COUNT),
                     JOBQ_EINVAL);
    ck_assert_int_eq(jq_quantity_format(buf, sizeof buf, 1,
                                        (jobq_resource_kind)-1),
                     JOBQ_EINVAL);
}
END_TEST

/* ----------------------------------------------------------- properties */

/* xorshift64*: a fixed seed, so failures reproduce. */
static uint64_t random_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t random_next(void)
{
    random_state ^= random_state >> 12;
    random_state ^= random_state << 25;
    random_state ^= random_state >> 27;
    return random_state * UINT64_C(2685821657736338717);
}

/* A non-negative amount of any magnitude, often with round factors. */
static int64_t random_amount(void)
{
    uint64_t r = random_next();
    int64_t amount = (int64_t)(random_next() >> 1 >> (r % 63));
    switch ((r >> 8) % 4) {
    case 0:
        return amount;
    case 1: /* a multiple of a binary unit */
        return (int64_t)((uint64_t)amount >> 10 * (1 + (r >> 16) % 6)
                         << 10 * (1 + (r >> 16) % 6));
    case 2: /* whole cores */
        return amount / 1000 * 1000;
    default: /* small */
        return (int64_t)((r >> 16) % 100000);
    }
}

static void assert_round_trip(int64_t amount, jobq_resource_kind kind)
{
    char buf[64];
    char err[256];
    int64_t back = -1;
    int length = jq_quantity_format(buf, sizeof buf, amount, kind);
    ck_assert_int_gt(length, 0);
    ck_assert_int_lt(length, (int)sizeof buf);
    int status = jq_quantity_parse(&back, buf, kind, err, sizeof err);
    ck_assert_msg(status == JOBQ_OK && back == amount,
                  "%s %" PRId64 " -> \"%s\" -> %" PRId64 " (%s)",
                  jobq_resource_name(kind), amount, buf, back, err);
}

START_TEST(round_trip_chosen)
{
    static const int64_t amounts[] = {
        0, 1, 2, 999, 1000, 1001, 1023, 1024, 1025, 1536, 500, 1500, 64000,
        INT64_C(1048576), INT64_C(1610612736), INT64_C(34359738368),
        INT64_C(1152921504606846976), INT64_C(4611686018427387904),
        INT64_C(9222246136947933184), INT64_C(1000000000000000000),
        INT64_MAX - 1, INT64_MAX - 807, INT64_MAX};
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++)
        for (int kind = 0; kind < JOBQ_RESOURCE_COUNT; kind++)
            assert_round_trip(amounts[i], (jobq_resource_kind)kind);
}
END_TEST

START_TEST(round_trip_random)
{
    for (int i = 0; i < 20000; i++)
        assert_round_trip(random_amount(),
                          (jobq_resource_kind)(i % JOBQ_RESOURCE_COUNT));
}
END_TEST

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 wide;

static wide wide_power(unsigned base, unsigned exponent)
{
    wide result = 1;
    while (exponent-- > 0)
        result *= base;
    return result;
}

/* A random quantity and what it must parse to, computed with 128-bit
 * integers: mantissa < 10^15, units up to 2^60 or 10^18, times 1000 for
 * cpu, stays below 2^127. */
typedef struct oracle_case {
    char text[96];
    int status;
    int64_t expected;
} oracle_case;

static const char *const suffixes[] = {"",   "n",  "u",  "m",  "k",  "M",
                                       "G",  "T",  "P",  "E",  "Ki", "Mi",
                                       "Gi", "Ti", "Pi", "Ei"};
static const int shifts[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 20, 30, 40, 50, 60};
static const int exponents[] = {0, -9, -6, -3, 3, 6, 9, 12, 15, 18, 0, 0, 0, 0, 0, 0};

static oracle_case oracle_make(jobq_resource_kind kind)
{
    oracle_case c;
    uint64_t whole = random_next() % (UINT64_C(1) << (random_next() % 30));
    unsigned fraction_digits = (unsigned)(random_next() % 7);
    uint64_t fraction = random_next() % (uint64_t)wide_power(10, fraction_digits);
    bool negative = random_next() % 8 == 0;
    unsigned pick = (unsigned)(random_next() % 20);
    int shift = 0;
    int exponent;
    char suffix[8];
    if (pick < 16) {
        shift = shifts[pick];
        exponent = exponents[pick];
        snprintf(suffix, sizeof suffix, "%s", suffixes[pick]);
    } else {
        exponent = (int)(random_next() % 37) - 18;
        snprintf(suffix, sizeof suffix, "%c%d", "eE"[pick % 2], exponent);
    }
    if (fraction_digits > 0)
        snprintf(c.text, sizeof c.text, "%s%" PRIu64 ".%0*" PRIu64 "%s",
                 negative ? "-" : "", whole, (int)fraction_digits, fraction,
                 suffix);
    else
        snprintf(c.text, sizeof c.text, "%s%" PRIu64 "%s",
                 negative ? "-" : "", whole, suffix);

    wide numerator = ((wide)whole * wide_power(10, fraction_digits) + fraction)
                     << shift;
    wide denominator = wide_power(10, fraction_digits);
    if (exponent > 0)
        numerator *= wide_power(10, (unsigned)exponent);
    else
        denominator *= wide_power(10, (unsigned)-exponent);
    if (kind == CPU)
        numerator *= 1000;
    wide quotient = numerator / denominator;
    bool inexact = numerator % denominator != 0;
    c.status = JOBQ_OK;
    bool sub_unit_suffix = pick < 16 && exponents[pick] < 0;
    if (sub_unit_suffix && kind != CPU)
        c.status = JOBQ_EPARSE; /* n, u, m never apply to bytes or pods */
    else if (negative && numerator != 0)
        c.status = JOBQ_EPARSE;
    else if (quotient > (wide)INT64_MAX)
        c.status = JOBQ_ERANGE;
    else if (inexact && kind != CPU)
        c.status = JOBQ_EPARSE;
    else if (inexact && quotient == (wide)INT64_MAX)
        c.status = JOBQ_ERANGE;
    else
        c.expected = (int64_t)quotient + (inexact ? 1 : 0);
    return c;
}

START_TEST(oracle_random)
{
    for (int i = 0; i < 50000; i++) {
        jobq_resource_kind kind = (jobq_resource_kind)(i % JOBQ_RESOURCE_COUNT);
        oracle_case c = oracle_make(kind);
        int64_t value = -1;
        char err[256];
        int status = jq_quantity_parse(&value, c.text, kind, err, sizeof err);
        ck_assert_msg(status == c.status, "%s \"%s\": status %d, expected %d (%s)",
                      jobq_resource_name(kind), c.text, status, c.status, err);
        if (status == JOBQ_OK)
            ck_assert_msg(value == c.expected,
                          "%s \"%s\": %" PRId64 ", expected %" PRId64,
                          jobq_resource_name(kind), c.text, value, c.expected);
    }
}
END_TEST
#endif

/* memory, storage and pods read every quantity the same way, and cpu is
 * the same amount times 1000 (rounded up) when it fits. */
START_TEST(kinds_agree)
{
    static const char *texts[] = {"1", "1.5", "512m", "2Gi", "1e3", "7Ei",
                                  "0.5Ki", "1000m", "3k", "1e-3", "12345678901"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int64_t memory = -1, storage = -1, pods = -1, cpu = -1;
        int m = jq_quantity_parse(&memory, texts[i], MEMORY, NULL, 0);
        int s = jq_quantity_parse(&storage, texts[i], STORAGE, NULL, 0);
        int p = jq_quantity_parse(&pods, texts[i], PODS, NULL, 0);
        int c = jq_quantity_parse(&cpu, texts[i], CPU, NULL, 0);
        ck_assert_int_eq(m, s);
        ck_assert_int_eq(m, p);
        ck_assert_int_eq(memory, storage);
        ck_assert_int_eq(memory, pods);
        if (m == JOBQ_OK && memory <= INT64_MAX / 1000) {
            ck_assert_int_eq(c, JOBQ_OK);
            ck_assert_int_eq(cpu, memory * 1000);
        }
    }
}
END_TEST

/* Huge inputs cost one pass and give the right answer. */
START_TEST(long_inputs)
{
    enum { LENGTH = 200000 };
    static char text[LENGTH + 8];
    int64_t value = -1;
    memset(text, '0', LENGTH);
    strcpy(text + LENGTH, "1Ki");
    ck_assert_int_eq(jq_quantity_parse(&value, text, MEMORY, NULL, 0), JOBQ_OK);
    ck_assert_int_eq(value, 1024);
    text[0] = '1';
    ck_assert_int_eq(jq_quantity_parse(&value, text, MEMORY, NULL, 0),
                     JOBQ_ERANGE);
    memset(text, '0', LENGTH);
    text[1] = '.';
    strcpy(text + LENGTH, "1");
    ck_assert_int_eq(jq_quantity_parse(&value, text, MEMORY, NULL, 0),
                     JOBQ_EPARSE);
    ck_assert_int_eq(jq_quantity_parse(&value, text, CPU, NULL, 0), JOBQ_OK);
    ck_assert_int_eq(value, 1);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *s = suite_create("quantity");
    TCase *parse = tcase_create("parse");
    tcase_add_loop_test(parse, parse_valid, 0, VALID_COUNT);
    tcase_add_loop_test(parse, parse_invalid, 0, INVALID_COUNT);
    tcase_add_test(parse, message_quotes_value);
    tcase_add_test(parse, null_and_bad_arguments);
    tcase_add_test(parse, small_error_buffers);
    tcase_add_test(parse, public_wrappers);
    tcase_add_test(parse, resource_names);
    suite_add_tcase(s, parse);

    TCase *format = tcase_create("format");
    tcase_add_loop_test(format, format_table, 0, FORMAT_COUNT);
    tcase_add_test(format, format_like_snprintf);
    suite_add_tcase(s, format);

    TCase *properties = tcase_create("properties");
    tcase_add_test(properties, round_trip_chosen);
    tcase_add_test(properties, round_trip_random);
#ifdef __SIZEOF_INT128__
    tcase_add_test(properties, oracle_random);
#endif
    tcase_add_test(properties, kinds_agree);
    tcase_add_test(properties, long_inputs);
    suite_add_tcase(s, properties);
    return s;
}
