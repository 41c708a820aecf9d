/*
 * libFuzzer target: damaged database files (issue 8). A real jobq database
 * (jobs in three namespaces, queued, blocked, running, finished, failed and
 * cancelled runs with their events, a stored configuration) is built once
 * per process; each input damages a copy of it and the copy goes through
 * everything jobqctl's read commands call, read-only and read-write:
 * jobq_open_read_only / jobq_open, jobq_quarantine_list, jobq_run_list
 * (with filters), jobq_run_get, jobq_run_explain, jobq_run_search,
 * jobq_metrics_render, jobq_config_dump, jobq_property_get; read-write also
 * a tick and a submit.
 *
 * Input: byte 0 is the mode.
 *   even: the rest is applied to the real database as 4-byte operations
 *         [op, a, b, c], op % 5 choosing:
 *           0  flip: xor the byte at offset (a,b,c) with c|1
 *           1  truncate to (a,b)/65536 of the file
 *           2  an odd row: odd_sql[a % N] with a, b and c as numbers
 *              (SQL operations run first, on the intact file)
 *           3  set header byte a % 100 to b
 *           4  set byte b,c of page a to 0xff
 *   odd:  the rest is the database file itself.
 *
 * Checked (abort on failure): every open either succeeds with a usable
 * handle or fails with a message naming the path; every call returns 0 or
 * a documented JOBQ_* code; JSON answers parse; the metrics are valid UTF-8
 * with no control characters but newlines. ASan/UBSan/LSan catch the rest.
 *
 * tests/fuzz/damage_test.c drives the same function with seeded random
 * damage in the default test suite; scripts/fuzz.sh database runs it
 * under libFuzzer.
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_database.h"
#include "jobq/jobq.h"
#include "jobq/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

static char dir[64];
static char path[128];
static uint8_t *base;
static size_t base_len;
fuzz_db_stats fuzz_db_counts;

/* ----------------------------------------------------- the real database */

static jobq_time_ms virtual_now;

static jobq_time_ms clock_now(void *ctx)
{
    return virtual_now;
}

static int quota(void *ctx, const char *ns, jobq_resources *hard,
                 jobq_resources *used)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        hard->amount[d] = JOBQ_UNLIMITED;
        used->amount[d] = 0;
    }
    if (strcmp(ns, "capped") == 0)
        hard->amount[JOBQ_RESOURCE_CPU] = 2000;
    return 0;
}

static void remove_files(void)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal",
                                           "-lock"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

static void define(jobq_scheduler *s, const char *name, const char *ns,
                   jobq_priority p, jobq_flow flow, int64_t cpu)
{
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = name;
    def.domain = "data";
    def.ns = ns;
    def.priority = p;
    def.flow = flow;
    def.request.amount[JOBQ_RESOURCE_CPU] = cpu;
    def.request.amount[JOBQ_RESOURCE_MEMORY] = 1 << 20;
    def.request.amount[JOBQ_RESOURCE_PODS] = 1;
    def.payload = "{\"kind\":\"SparkApplication\"}";
    def.payload_len = strlen(def.payload);
    CHECK(jobq_job_define(s, &def) == 0);
}

static jobq_run_id submit(jobq_scheduler *s, const char *job, const char *name,
                          const char *key)
{
    jobq_submit_opts o = JOBQ_SUBMIT_OPTS_INIT;
    o.run_name = name;
    o.idempotency_key = key;
    jobq_run_id id = 0;
    CHECK(jobq_run_submit(s, &id, job, &o) == 0);
    return id;
}

static void build_base(void)
{
    snprintf(dir, sizeof dir, "/tmp/jobq-fuzz-db-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/jobq.db", dir);
    atexit(fuzz_database_cleanup);
    jobq_clock clock = {JOBQ_CLOCK_VERSION, NULL, clock_now};
    jobq_probe probe = {JOBQ_PROBE_VERSION, NULL, quota};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = path;
    opts.clock = &clock;
    opts.probe = &probe;
    opts.durability = JOBQ_DURABILITY_NORMAL;
    opts.config_json = "{\"services\": {\"jobOrchestrator\": {\"settings\":"
                       " {\"batchSize\": 3}}}}";
    virtual_now = 1000;
    jobq_scheduler *s = NULL;
    char err[512];
    CHECK(jobq_open(&s, &opts, err, sizeof err) == 0);
    define(s, "nightly-etl", "analytics", JOBQ_PRIORITY_HIGH,
           JOBQ_FLOW_PRIORITY, 1000);
    define(s, "model-train", "ml", JOBQ_PRIORITY_NORMAL, JOBQ_FLOW_PRIORITY,
           500);
    define(s, "giant", "capped", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY, 8000);
    define(s, "old-report", "analytics", JOBQ_PRIORITY_NORMAL, JOBQ_FLOW_LEGACY,
           100);
    jobq_run_id ids[16];
    int n = 0;
    for (int i = 0; i < 4; i++) {
        char name[32], key[32];
        snprintf(name, sizeof name, "etl-%d", i);
        snprintf(key, sizeof key, "key-%d", i);
        ids[n++] = submit(s, "nightly-etl", name, key);
        snprintf(name, sizeof name, "train-%d", i);
        ids[n++] = submit(s, "model-train", name, NULL);
    }
    ids[n++] = submit(s, "giant", "too-big", NULL);
    ids[n++] = submit(s, "old-report", "legacy-1", NULL);
    virtual_now += 1000;
    CHECK(jobq_tick(s, JOBQ_TIME_NOW, NULL) == 0);
    jobq_run_report(s, ids[0], JOBQ_RUN_FINISHED, "done");
    jobq_run_report(s, ids[1], JOBQ_RUN_FAILED, "exit code 1");
    jobq_run_cancel(s, ids[n - 3], "not needed");
    virtual_now += 1000;
    CHECK(jobq_tick(s, JOBQ_TIME_NOW, NULL) == 0);
    CHECK(jobq_property_set(s, "job-orchestrator.queue.head-retry-count",
                            "2") == 0);
    jobq_close(s);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    base_len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    base = malloc(base_len);
    CHECK(base && fread(base, 1, base_len, f) == base_len);
    fclose(f);
    remove_files();
}

/* ------------------------------------------------------------- damaging */

/* Odd rows: what a bug, a hand edit or a half-applied change could leave.
 * $A, $B, $C are the operation's a, b and c. */
static const char *const odd_sql[] = {
    "UPDATE runs SET state = $B - 128 WHERE id = $C % 12 + 1",
    "UPDATE runs SET priority = $B WHERE id = $C % 12 + 1",
    "UPDATE runs SET flow = $B WHERE id = $C % 12 + 1",
    "UPDATE runs SET job_id = $B - 3 WHERE id = $C % 12 + 1",
    "UPDATE runs SET ns_id = $B - 3 WHERE id = $C % 12 + 1",
    "DELETE FROM jobs WHERE id = $B % 5",
    "DELETE FROM namespaces WHERE id = $B % 4",
    "UPDATE jobs SET ns_id = $B - 2 WHERE id = $C % 5",
    "UPDATE jobs SET priority = $B, flow = $C",
    "UPDATE jobs SET cpu = -$B WHERE id = $C % 5",
    "UPDATE jobs SET payload = $B WHERE id = $C % 5",
    "UPDATE runs SET name = CAST(X'FF1B5B324A' AS TEXT) || $B WHERE id = "
    "$C % 12 + 1",
    "UPDATE namespaces SET id = $B - 100 WHERE id = $C % 4",
    "UPDATE queues SET resource = $B - 100, priority = $C",
    "UPDATE scheduler SET config = '{\"services\": {\"jobOrchestrator\": "
    "{\"settings\": {\"batchSize\": $B}}}}'",
    "UPDATE scheduler SET config = 'garbage $B'",
    "DELETE FROM scheduler",
    "PRAGMA user_version = $B - 128",
    "PRAGMA application_id = $B",
    "UPDATE runs SET id = -$B WHERE id = $C % 12 + 1",
    "INSERT INTO runs (id, job_id, ns_id, name, priority, flow, state, cpu, "
    "memory, pods, storage, submitted_at, deployed_at, ended_at, "
    "retries_used, deploy_attempts) VALUES (100 + $A, $B % 7, $C % 5, "
    "'odd', 0, 0, $C % 7, 1, 0, 0, 0, 0, -1, -1, 0, 0)",
    "UPDATE events SET type = $B - 100, resource = $C - 100",
    "UPDATE runs SET retries_used = 100000 * $B WHERE id = $C % 12 + 1",
    "UPDATE runs SET cpu = $B * 1e30 WHERE id = $C % 12 + 1",
    "DROP INDEX runs_live",
    "INSERT INTO run_text (run_text) VALUES ('delete-all')",
    "UPDATE runs SET submitted_at = -$B * 100000000000000000 WHERE id = "
    "$C % 12 + 1",
    "UPDATE queues SET blocked = 1, blocked_since = -$B * "
    "1000000000000000000",
    "UPDATE namespaces SET wrr_high = 9223372036854775807, wrr_normal = "
    "-$B",
    "UPDATE jobs SET name = name || char($B % 32) WHERE id = $C % 5",
    "UPDATE namespaces SET name = upper(name) || char($B) WHERE id = "
    "$C % 4",
    "UPDATE runs SET name = zeroblob($B * 4) WHERE id = $C % 12 + 1",
    "UPDATE runs SET reason = NULL, detail = x'00ff' WHERE state >= 3",
    "DELETE FROM sqlite_sequence",
};
#define ODD_SQL (sizeof odd_sql / sizeof odd_sql[0])

/* The template with $A, $B and $C replaced by abc[0..2]. */
static void expand(char *out, size_t cap, const char *template,
                   const uint8_t *abc)
{
    size_t n = 0;
    for (const char *p = template; *p && n + 4 < cap; p++) {
        if (p[0] == '$' && p[1] >= 'A' && p[1] <= 'C') {
            n += (size_t)snprintf(out + n, cap - n, "%u",
                                  (unsigned)abc[p[1] - 'A']);
            p++;
        } else
            out[n++] = *p;
    }
    out[n] = '\0';
}

static void apply_sql(const uint8_t *ops, size_t n)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        sqlite3_close(db);
        return;
    }
    for (size_t i = 0; i + 4 <= n; i += 4) {
        if (ops[i] % 5 != 2)
            continue;
        char sql[512];
        expand(sql, sizeof sql, odd_sql[ops[i + 1] % ODD_SQL], ops + i + 1);
        sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    /* Into the main file: the bytes are damaged next. */
    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    sqlite3_close(db);
}

static uint8_t *read_file(size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_file(const uint8_t *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(data, 1, n, f) == n);
    fclose(f);
}

static void damage(const uint8_t *ops, size_t n)
{
    remove_files();
    write_file(base, base_len);
    bool any_sql = false;
    for (size_t i = 0; i + 4 <= n; i += 4)
        any_sql |= ops[i] % 5 == 2;
    if (any_sql)
        apply_sql(ops, n);
    size_t len = 0;
    uint8_t *img = read_file(&len);
    CHECK(img != NULL);
    for (size_t i = 0; i + 4 <= n && len > 0; i += 4) {
        unsigned a = ops[i + 1], b = ops[i + 2], c = ops[i + 3];
        switch (ops[i] % 5) {
        case 0:
            img[((a << 16) | (b << 8) | c) % len] ^= (uint8_t)(c | 1);
            break;
        case 1:
            len = (size_t)(((uint64_t)((a << 8) | b) * len) / 65536);
            break;
        case 3:
            if (len > a % 100)
                img[a % 100] = (uint8_t)b;
            break;
        case 4: {
            size_t at = (size_t)(a % ((len + 4095) / 4096)) * 4096 +
                        (((b << 8) | c) % 4096);
            if (at < len)
                img[at] = 0xff;
            break;
        }
        default:
            break;
        }
    }
    remove_files();
    write_file(img, len);
    free(img);
}

/* ------------------------------------------------------------ exercising */

static void check_status(int rc)
{
    CHECK(rc <= 0 && rc >= JOBQ_ERROR);
}

static void check_json(int rc, char *json)
{
    check_status(rc);
    if (rc == 0) {
        CHECK(json != NULL);
        cJSON *doc = cJSON_Parse(json);
        CHECK(doc != NULL);
        cJSON_Delete(doc);
    }
    jobq_free(json);
}

/* The metrics: valid UTF-8, no control characters but line ends. */
static void check_metrics(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        unsigned char b = *p;
        CHECK(b == '\n' || (b >= 0x20 && b != 0x7f));
        size_t len = b < 0x80                 ? 1
                     : b >= 0xc2 && b <= 0xdf ? 2
                     : b >= 0xe0 && b <= 0xef ? 3
                     : b >= 0xf0 && b <= 0xf4 ? 4
                                              : 0;
        CHECK(len > 0);
        for (size_t i = 1; i < len; i++)
            CHECK((p[i] & 0xc0) == 0x80);
        p += len;
    }
}

static void exercise(jobq_scheduler *s, bool writable)
{
    char *json = NULL;
    int rc = jobq_quarantine_list(s, &json);
    CHECK(rc == 0 || rc == JOBQ_ENOMEM);
    if (rc == 0) {
        cJSON *doc = cJSON_Parse(json);
        CHECK(doc != NULL);
        if (cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "count")) > 0)
            fuzz_db_counts.quarantined++;
        cJSON_Delete(doc);
    }
    jobq_free(json);
    jobq_run_id *ids = NULL;
    size_t count = 0;
    rc = jobq_run_list(s, &ids, &count, NULL);
    check_status(rc);
    int listed = rc;
    for (size_t i = 0; listed == 0 && i < count && i < 40; i++) {
        jobq_run_info info;
        jobq_run_info_init(&info, JOBQ_RUN_INFO_VERSION);
        int got = jobq_run_get(s, &info, ids[i]);
        check_status(got);
        if (got == 0) {
            CHECK(jobq_run_state_name(info.state) != NULL);
            CHECK(memchr(info.job, '\0', sizeof info.job) != NULL);
            CHECK(memchr(info.ns, '\0', sizeof info.ns) != NULL);
        }
        json = NULL;
        rc = jobq_run_explain(s, &json, ids[i]);
        check_json(rc, json);
    }
    jobq_free(ids);
    jobq_run_filter f = JOBQ_RUN_FILTER_INIT;
    f.ns = "analytics";
    f.state = JOBQ_RUN_QUEUED;
    f.limit = 5;
    ids = NULL;
    check_status(jobq_run_list(s, &ids, &count, &f));
    jobq_free(ids);
    static const char *const texts[] = {"etl", "e", "%_\\", "\"tr"};
    for (size_t i = 0; i < 4; i++) {
        ids = NULL;
        check_status(jobq_run_search(s, &ids, &count, texts[i], 10));
        jobq_free(ids);
    }
    char *text = NULL;
    rc = jobq_metrics_render(s, &text, NULL);
    check_status(rc);
    if (rc == 0)
        check_metrics(text);
    jobq_free(text);
    json = NULL;
    rc = jobq_config_dump(s, &json);
    check_json(rc, json);
    char value[64];
    check_status(jobq_property_get(s,
                                   "job-orchestrator.queue.head-retry-"
                                   "count",
                                   value, sizeof value));
    if (!writable)
        return;
    check_status(jobq_tick(s, JOBQ_TIME_NOW, NULL));
    jobq_run_id id = 0;
    check_status(jobq_run_submit(s, &id, "nightly-etl", NULL));
    check_status(jobq_tick(s, JOBQ_TIME_NOW, NULL));
}

static void open_and_exercise(bool read_only)
{
    jobq_scheduler *s = NULL;
    char err[512] = "";
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = path;
    opts.durability = JOBQ_DURABILITY_NORMAL;
    int rc = read_only ? jobq_open_read_only(&s, path, err, sizeof err)
                       : jobq_open(&s, &opts, err, sizeof err);
    check_status(rc);
    if (rc != 0) {
        CHECK(s == NULL);
        if (!strstr(err, path))
            fprintf(stderr, "message without the path: %s\n", err);
        CHECK(strstr(err, path) != NULL);
        if (getenv("FUZZ_DB_VERBOSE"))
            fprintf(stderr, "refused: %s\n", err);
        fuzz_db_counts.refused++;
        return;
    }
    CHECK(s != NULL);
    fuzz_db_counts.opened++;
    exercise(s, !read_only);
    jobq_close(s);
}

int fuzz_database(const uint8_t *data, size_t size)
{
    if (!base)
        build_base();
    if (size == 0)
        return 0;
    if (data[0] % 2 == 0) {
        damage(data + 1, size - 1);
    } else {
        remove_files();
        write_file(data + 1, size - 1);
    }
    fuzz_db_counts.inputs++;
    open_and_exercise(true);
    open_and_exercise(false);
    /* Read-only again, after the read-write open repaired what it could. */
    open_and_exercise(true);
    remove_files();
    return 0;
}

void fuzz_database_cleanup(void)
{
    remove_files();
    if (dir[0])
        rmdir(dir);
    free(base);
    base = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_database(data, size);
}
