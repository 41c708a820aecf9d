/*
 * libFuzzer target for lib/config.c.
 *
 * Input: the first byte picks the size of the error buffer (0..99, 0 meaning
 * none, allocated to the exact size so ASan sees any overrun); the rest is
 *   - a configuration document for jq_config_parse, and
 *   - split at its first '=' into a key and a JSON value for jq_config_set
 *     and jq_config_get (a one-character key "0".."6" stands for
 *     jq_config_keys[0..6] so that values get explored for every key).
 * Checked: only the documented status codes; on failure the output is
 * untouched and the message is one non-empty line of printable ASCII within
 * the buffer; on success every value is in range, the message is empty,
 * applying the document again is idempotent, and to_json -> parse and
 * get -> set round-trip to the same value. ASan/LSan catch leaks and
 * overruns, UBSan bad conversions.
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -fno-sanitize-recover=undefined -DJOBQ_BUILDING_LIBRARY -Iinclude -Ilib \
 *     tests/fuzz/fuzz_config.c lib/config.c \
 *     $(pkg-config --cflags --libs libcjson) -o fuzz_config
 *   ./fuzz_config -max_total_time=60 CORPUS_DIR
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jobq/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

static bool cfg_eq(const jq_config *a, const jq_config *b)
{
    return a->enabled == b->enabled && a->batch_size == b->batch_size &&
           a->cleanup_enabled == b->cleanup_enabled &&
           a->retention_period_s == b->retention_period_s &&
           a->high_share_pct == b->high_share_pct &&
           a->head_timeout_s == b->head_timeout_s &&
           a->head_retry_count == b->head_retry_count;
}

/* A base unlike the defaults, so that "untouched" is observable. */
static jq_config sentinel(void)
{
    jq_config c = {false, 7, false, 123, 33, 45, 6};
    return c;
}

static void check_ranges(const jq_config *c)
{
    CHECK(c->batch_size >= 1 && c->batch_size <= 1000000);
    CHECK(c->retention_period_s >= 0 && c->retention_period_s <= 2147483647);
    CHECK(c->high_share_pct >= 0 && c->high_share_pct <= 100);
    CHECK(c->head_timeout_s >= 1 && c->head_timeout_s <= 2147483647);
    CHECK(c->head_retry_count >= 0 && c->head_retry_count <= 1000000);
}

static void check_message(int rc, const char *err, size_t cap)
{
    if (cap == 0)
        return;
    size_t n = 0;
    while (n < cap && err[n] != '\0') {
        CHECK(err[n] >= 0x20 && err[n] < 0x7f); /* one printable line */
        n++;
    }
    CHECK(n < cap); /* NUL-terminated inside the buffer */
    CHECK(rc == 0 ? n == 0 : (n > 0 || cap == 1));
}

static void check_roundtrip(const jq_config *c)
{
    char *json = jq_config_to_json(c);
    CHECK(json != NULL);
    jq_config base = sentinel(), back;
    CHECK(jq_config_parse(&back, &base, json, strlen(json), NULL, 0) == 0);
    CHECK(cfg_eq(&back, c));
    free(json);

    back = sentinel();
    for (size_t i = 0; jq_config_keys[i] != NULL; i++) {
        char text[32];
        int n = jq_config_get(c, jq_config_keys[i], text, sizeof text);
        CHECK(n > 0 && (size_t)n < sizeof text);
        CHECK(jq_config_set(&back, &back, jq_config_keys[i], text, NULL, 0) ==
              0);
    }
    CHECK(cfg_eq(&back, c));
}

static char *alloc_err(size_t cap)
{
    return cap > 0 ? malloc(cap) : NULL;
}

static void fuzz_parse(const char *text, size_t len, size_t cap)
{
    jq_config base = sentinel(), out = sentinel(), again;
    char *err = alloc_err(cap);
    out.batch_size = -5; /* never a valid value: proves out untouched */
    int rc = jq_config_parse(&out, &base, text, len, err, cap);
    CHECK(rc == 0 || rc == JOBQ_EINVAL || rc == JOBQ_ERANGE ||
          rc == JOBQ_EPARSE);
    check_message(rc, err, cap);
    if (rc != 0) {
        CHECK(out.batch_size == -5);
    } else {
        check_ranges(&out);
        check_roundtrip(&out);
        CHECK(jq_config_parse(&again, &out, text, len, NULL, 0) == 0);
        CHECK(cfg_eq(&again, &out));
    }
    /* In place. */
    jq_config inplace = sentinel();
    CHECK(jq_config_parse(&inplace, &inplace, text, len, NULL, 0) == rc);
    if (rc == 0)
        CHECK(cfg_eq(&inplace, &out));
    else
        CHECK(cfg_eq(&inplace, &base));
    free(err);
}

static void fuzz_set(const char *key, const char *value, size_t cap)
{
    jq_config base = sentinel(), out = sentinel();
    char *err = alloc_err(cap);
    out.batch_size = -5;
    if (key[0] >= '0' && key[0] <= '6' && key[1] == '\0')
        key = jq_config_keys[key[0] - '0'];
    int rc = jq_config_set(&out, &base, key, value, err, cap);
    CHECK(rc == 0 || rc == JOBQ_EINVAL || rc == JOBQ_ERANGE ||
          rc == JOBQ_EPARSE || rc == JOBQ_ENOTFOUND);
    check_message(rc, err, cap);
    if (rc != 0) {
        CHECK(out.batch_size == -5);
    } else {
        check_ranges(&out);
        char text[32];
        CHECK(jq_config_get(&out, key, text, sizeof text) > 0);
        jq_config back = sentinel();
        CHECK(jq_config_set(&back, &back, key, text, NULL, 0) == 0);
        CHECK(cfg_eq(&back, &out));
    }
    int n = jq_config_get(&base, key, NULL, 0);
    CHECK(rc == JOBQ_ENOTFOUND ? n == JOBQ_ENOTFOUND : n > 0);
    free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t cap = data[0] % 100;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    fuzz_parse(text, len, cap);

    /* key=value, as NUL-terminated strings (an embedded NUL ends them). */
    const char *eq = memchr(text, '=', len);
    if (eq == NULL)
        return 0;
    size_t klen = (size_t)(eq - text), vlen = len - klen - 1;
    char *key = malloc(klen + 1), *value = malloc(vlen + 1);
    CHECK(key != NULL && value != NULL);
    memcpy(key, text, klen);
    key[klen] = '\0';
    memcpy(value, eq + 1, vlen);
    value[vlen] = '\0';
    fuzz_set(key, value, cap);
    free(key);
    free(value);
    return 0;
}
