/*
 * libFuzzer target for Kubernetes quantity parsing (lib/quantity.c).
 *
 * The input, NUL-terminated, is parsed for every resource kind. Whatever it
 * is, parsing must not crash and must answer OK, EPARSE or ERANGE with a
 * NUL-terminated message that starts with the value in quotes. On success
 * the amount is not negative and formats to text that parses back to the
 * same amount; memory, storage and pods agree, and cpu is 1000 times the
 * bytes when that fits. The first 8 bytes, read as an amount, must also
 * format within snprintf's rules and round-trip.
 *
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -DJOBQ_BUILDING_LIBRARY -Iinclude -Ilib \
 *       lib/quantity.c tests/fuzz/fuzz_quantity.c -o fuzz_quantity
 *   ./fuzz_quantity -max_total_time=60
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool condition)
{
    if (!condition)
        abort();
}

/* A refusal's message starts with the value in quotes. */
static void check_message(const char *err, size_t cap)
{
    check(cap < 2 || err[0] == '"');
}

static void check_round_trip(int64_t amount, jobq_resource_kind kind)
{
    char text[64];
    int length = jq_quantity_format(text, sizeof text, amount, kind);
    check(length > 0 && (size_t)length < sizeof text);
    check(strlen(text) == (size_t)length);
    check(jq_quantity_format(NULL, 0, amount, kind) == length);
    int64_t back = -1;
    check(jq_quantity_parse(&back, text, kind, NULL, 0) == JOBQ_OK);
    check(back == amount);
}

/* Parse for one kind; returns the status, the amount in *out. */
static int parse_checked(int64_t *out, const char *text,
                         jobq_resource_kind kind, size_t err_cap)
{
    char err[300];
    memset(err, 'x', sizeof err);
    int status = jq_quantity_parse(out, text, kind, err, err_cap);
    check(status == JOBQ_OK || status == JOBQ_EPARSE ||
          status == JOBQ_ERANGE);
    check(err_cap == 0 || memchr(err, '\0', err_cap) != NULL);
    check(err_cap >= sizeof err || err[err_cap] == 'x');
    if (status != JOBQ_OK) {
        check_message(err, err_cap);
        return status;
    }
    check(err_cap == 0 || err[0] == '\0');
    check(*out >= 0);
    check_round_trip(*out, kind);
    return status;
}

static void check_format(const uint8_t *data, size_t size)
{
    if (size < 8)
        return;
    uint64_t bits;
    memcpy(&bits, data, sizeof bits);
    int64_t amount = (int64_t)(bits >> 1);
    for (int kind = 0; kind < JOBQ_RESOURCE_COUNT; kind++) {
        check_round_trip(amount, (jobq_resource_kind)kind);
        char small[4];
        int length = jq_quantity_format(small, sizeof small, (int64_t)bits,
                                        (jobq_resource_kind)kind);
        check(length > 0 && strlen(small) == (length < 4 ? (size_t)length : 3));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* Vary the message buffer size with the input. */
    size_t err_cap = size > 0 ? (size_t)(data[0] * 7 % 301) : 300;

    int64_t amount[JOBQ_RESOURCE_COUNT];
    int status[JOBQ_RESOURCE_COUNT];
    for (int kind = 0; kind < JOBQ_RESOURCE_COUNT; kind++)
        status[kind] = parse_checked(&amount[kind], text,
                                     (jobq_resource_kind)kind, err_cap);

    const int memory = JOBQ_RESOURCE_MEMORY;
    check(status[memory] == status[JOBQ_RESOURCE_STORAGE]);
    check(status[memory] == status[JOBQ_RESOURCE_PODS]);
    if (status[memory] == JOBQ_OK) {
        check(amount[memory] == amount[JOBQ_RESOURCE_STORAGE]);
        check(amount[memory] == amount[JOBQ_RESOURCE_PODS]);
        if (amount[memory] <= INT64_MAX / 1000 &&
            amount[memory] != JOBQ_UNLIMITED) {
            check(status[JOBQ_RESOURCE_CPU] == JOBQ_OK);
            check(amount[JOBQ_RESOURCE_CPU] == amount[memory] * 1000);
        }
    }
    check_format(data, size);
    free(text);
    return 0;
}
