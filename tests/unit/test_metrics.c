/*
 * The Prometheus text of jobq_metrics_render() (SPEC section 5): the
 * families and their order, label escaping, histogram buckets, counters
 * that follow events, gauges that follow the scheduler's state, and series
 * that never multiply with runs. Driven through the public API against a
 * small fake cluster: a virtual clock, a probe with per-namespace quotas
 * and a deployer that launches instantly (completions are reported with
 * jobq_run_report).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobq/jobq.h"
#include "test_util.h"

#define CORES(n) ((int64_t)(n) * 1000)
#define GIB(n) ((int64_t)(n) << 30)
#define SECONDS(n) ((jobq_time_ms)(n) * 1000)

typedef struct cluster {
    jobq_time_ms now;
    jobq_resources hard; /* every namespace gets the same quota */
    jobq_resources used;
    bool probe_fails;
} cluster;

static cluster C;

static jobq_time_ms fake_now(void *ctx)
{
    return ((cluster *)ctx)->now;
}

static int fake_quota(void *ctx, const char *ns, jobq_resources *hard,
                      jobq_resources *used)
{
    cluster *c = ctx;
    if (c->probe_fails)
        return -1;
    *hard = c->hard;
    *used = c->used;
    return 0;
}

static int fake_deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                       size_t cap)
{
    cluster *c = ctx;
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        c->used.amount[d] += req->request.amount[d];
    return 0;
}

static jobq_scheduler *open_scheduler(const char *config_json)
{
    memset(&C, 0, sizeof C);
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        C.hard.amount[d] = JOBQ_UNLIMITED;
    static jobq_clock clock;
    static jobq_probe probe;
    static jobq_deployer deployer;
    clock = (jobq_clock){JOBQ_CLOCK_VERSION, &C, fake_now};
    probe = (jobq_probe){JOBQ_PROBE_VERSION, &C, fake_quota};
    deployer = (jobq_deployer){JOBQ_DEPLOYER_VERSION, &C, fake_deploy, NULL,
                               NULL};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.clock = &clock;
    opts.probe = &probe;
    opts.deployer = &deployer;
    opts.config_json = config_json;
    jobq_scheduler *s = NULL;
    char err[256];
    ck_assert_int_eq(jobq_open(&s, &opts, err, sizeof err), 0);
    return s;
}

static void define_job(jobq_scheduler *s, const char *name, const char *ns,
                       const char *domain, jobq_priority priority,
                       int64_t millicores)
{
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = name;
    def.ns = ns;
    def.domain = domain;
    def.priority = priority;
    def.request.amount[JOBQ_RESOURCE_CPU] = millicores;
    def.request.amount[JOBQ_RESOURCE_MEMORY] = GIB(2);
    def.request.amount[JOBQ_RESOURCE_PODS] = 2;
    ck_assert_int_eq(jobq_job_define(s, &def), 0);
}

static int refusing_deploy(void *ctx, const jobq_deploy_request *req,
                           char *msg, size_t cap)
{
    snprintf(msg, cap, "exceeded quota: compute");
    return JOBQ_DEPLOY_QUOTA_REJECTED;
}

static jobq_run_id submit(jobq_scheduler *s, const char *job,
                          const char *run_name)
{
    jobq_submit_opts opts = JOBQ_SUBMIT_OPTS_INIT;
    opts.run_name = run_name;
    jobq_run_id id = 0;
    ck_assert_int_eq(jobq_run_submit(s, &id, job, &opts), 0);
    return id;
}

static void tick_at(jobq_scheduler *s, jobq_time_ms now)
{
    C.now = now;
    ck_assert_int_eq(jobq_tick(s, now, NULL), 0);
}

static char *render(jobq_scheduler *s)
{
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(jobq_metrics_render(s, &text, &len), 0);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strlen(text), len);
    return text;
}

/* True if `line` is one whole line of text. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p; p = strstr(p + 1, line))
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

/* On failure the rendering goes to stderr: Check's message stays short. */
static void require_line(const char *text, const char *line)
{
    if (has_line(text, line))
        return;
    fprintf(stderr, "--- rendered:\n%s--- missing: %s\n", text, line);
    ck_abort_msg("missing line: %s", line);
}

#define assert_line(text, line) require_line((text), (line))
#define assert_no_line(text, line)                                            \
    ck_assert_msg(!has_line((text), (line)), "unexpected line: %s", (line))

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* ---------------------------------------------------------------- tests */

static const char *const families[][2] = {
    {"jobq_queue_length", "gauge"},
    {"jobq_queue_head_blocked", "gauge"},
    {"jobq_runs_total", "counter"},
    {"jobq_wait_seconds", "histogram"},
    {"jobq_head_timeouts_total", "counter"},
    {"jobq_allocated_cpu_cores", "gauge"},
    {"jobq_allocated_memory_bytes", "gauge"},
    {"jobq_allocated_pods", "gauge"},
    {"jobq_allocated_storage_bytes", "gauge"},
    {"jobq_quota_cpu_cores", "gauge"},
    {"jobq_quota_memory_bytes", "gauge"},
    {"jobq_quota_pods", "gauge"},
    {"jobq_quota_storage_bytes", "gauge"},
    {"jobq_cycle_duration_seconds", "histogram"},
};
#define FAMILY_COUNT (sizeof families / sizeof families[0])

START_TEST(every_family_has_help_and_type_in_order)
{
    jobq_scheduler *s = open_scheduler(NULL);
    char *text = render(s);
    const char *previous = text;
    for (size_t i = 0; i < FAMILY_COUNT; i++) {
        char type[128], help[128];
        snprintf(type, sizeof type, "# TYPE %s %s\n", families[i][0],
                 families[i][1]);
        snprintf(help, sizeof help, "# HELP %s ", families[i][0]);
        const char *at = strstr(text, type);
        ck_assert_msg(at != NULL, "no TYPE line for %s", families[i][0]);
        ck_assert_msg(at >= previous, "%s is out of order", families[i][0]);
        ck_assert_ptr_nonnull(strstr(text, help));
        previous = at;
    }
    /* Exactly these families: no other TYPE line. */
    size_t types = 0;
    for (const char *p = strstr(text, "# TYPE "); p; p = strstr(p + 1, "# TYPE "))
        types++;
    ck_assert_uint_eq(types, FAMILY_COUNT);
    /* No namespace yet: only the cycle histogram has samples. */
    assert_line(text, "jobq_cycle_duration_seconds_count 0");
    ck_assert_ptr_null(strstr(text, "namespace="));
    jobq_free(text);
    jobq_close(s);
}
END_TEST

START_TEST(queue_length_and_blocked_head_follow_the_state)
{
    jobq_scheduler *s = open_scheduler(NULL);
    C.hard.amount[JOBQ_RESOURCE_CPU] = CORES(2);
    define_job(s, "etl", "analytics", "finance", JOBQ_PRIORITY_NORMAL,
               CORES(1));
    for (int i = 0; i < 3; i++)
        submit(s, "etl", NULL);
    char *text = render(s);
    assert_line(text, "jobq_queue_length{namespace=\"analytics\","
                      "priority=\"normal\"} 3");
    assert_line(text, "jobq_queue_length{namespace=\"analytics\","
                      "priority=\"high\"} 0");
    jobq_free(text);

    tick_at(s, SECONDS(1)); /* two fit, the third blocks on cpu */
    text = render(s);
    assert_line(text, "jobq_queue_length{namespace=\"analytics\","
                      "priority=\"normal\"} 1");
    assert_line(text, "jobq_queue_head_blocked{namespace=\"analytics\","
                      "priority=\"normal\",reason=\"cpu\"} 1");
    assert_line(text, "jobq_queue_head_blocked{namespace=\"analytics\","
                      "priority=\"normal\",reason=\"memory\"} 0");
    assert_line(text, "jobq_queue_head_blocked{namespace=\"analytics\","
                      "priority=\"normal\",reason=\"storage\"} 0");
    assert_line(text, "jobq_queue_head_blocked{namespace=\"analytics\","
                      "priority=\"high\",reason=\"cpu\"} 0");
    jobq_free(text);
    jobq_close(s);
}
END_TEST

START_TEST(a_refused_head_shows_as_blocked_on_stale_quota)
{
    jobq_scheduler *s = open_scheduler(NULL);
    jobq_close(s);
    /* The same cluster, with a deployer that always refuses. */
    static jobq_clock clock;
    static jobq_probe probe;
    static jobq_deployer deployer;
    clock = (jobq_clock){JOBQ_CLOCK_VERSION, &C, fake_now};
    probe = (jobq_probe){JOBQ_PROBE_VERSION, &C, fake_quota};
    deployer = (jobq_deployer){JOBQ_DEPLOYER_VERSION, &C, refusing_deploy,
                               NULL, NULL};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.clock = &clock;
    opts.probe = &probe;
    opts.deployer = &deployer;
    char err[256];
    ck_assert_int_eq(jobq_open(&s, &opts, err, sizeof err), 0);
    define_job(s, "etl", "analytics", "finance", JOBQ_PRIORITY_NORMAL, 1000);
    submit(s, "etl", NULL);
    tick_at(s, SECONDS(1));
    char *text = render(s);
    assert_line(text, "jobq_queue_head_blocked{namespace=\"analytics\","
                      "priority=\"normal\",reason=\"stale_quota\"} 1");
    assert_line(text, "jobq_queue_head_blocked{namespace=\"analytics\","
                      "priority=\"normal\",reason=\"cpu\"} 0");
    assert_line(text, "jobq_queue_head_blocked{namespace=\"analytics\","
                      "priority=\"high\",reason=\"stale_quota\"} 0");
    jobq_free(text);
    /* Short of cpu now: that is the reason shown, not both. */
    C.hard.amount[JOBQ_RESOURCE_CPU] = 500;
    tick_at(s, SECONDS(2));
    text = render(s);
    assert_line(text, "jobq_queue_head_blocked{namespace=\"analytics\","
                      "priority=\"normal\",reason=\"stale_quota\"} 0");
    assert_line(text, "jobq_queue_head_blocked{namespace=\"analytics\","
                      "priority=\"normal\",reason=\"cpu\"} 1");
    jobq_free(text);
    jobq_close(s);
}
END_TEST

START_TEST(run_counters_follow_events)
{
    jobq_scheduler *s = open_scheduler(NULL);
    define_job(s, "etl", "analytics", "finance", JOBQ_PRIORITY_HIGH, 500);
    jobq_run_id a = submit(s, "etl", NULL);
    jobq_run_id b = submit(s, "etl", NULL);
    jobq_run_id c = submit(s, "etl", NULL);
    char *text = render(s);
    /* Every outcome of both priorities exists from the first event on. */
    assert_line(text, "jobq_runs_total{namespace=\"analytics\","
                      "domain=\"finance\",priority=\"high\","
                      "outcome=\"deployed\"} 0");
    assert_line(text, "jobq_runs_total{namespace=\"analytics\","
                      "domain=\"finance\",priority=\"normal\","
                      "outcome=\"rescheduled\"} 0");
    jobq_free(text);

    ck_assert_int_eq(jobq_run_cancel(s, c, "not needed"), 0);
    tick_at(s, SECONDS(1));
    ck_assert_int_eq(jobq_run_report(s, a, JOBQ_RUN_FINISHED, NULL), 0);
    ck_assert_int_eq(jobq_run_report(s, b, JOBQ_RUN_FAILED, "oom"), 0);
    text = render(s);
    static const char prefix[] = "jobq_runs_total{namespace=\"analytics\","
                                 "domain=\"finance\",priority=\"high\",";
    char line[256];
    static const char *const expected[][2] = {
        {"deployed", "2"}, {"finished", "1"}, {"failed", "1"},
        {"cancelled", "1"}, {"rescheduled", "0"}};
    for (size_t i = 0; i < 5; i++) {
        snprintf(line, sizeof line, "%soutcome=\"%s\"} %s", prefix,
                 expected[i][0], expected[i][1]);
        assert_line(text, line);
    }
    jobq_free(text);
    jobq_close(s);
}
END_TEST

/* The `le` values of one histogram series, in the order rendered. */
static size_t bucket_bounds(const char *text, const char *series_prefix,
                            char bounds[][16], size_t cap)
{
    size_t n = 0;
    size_t len = strlen(series_prefix);
    for (const char *p = strstr(text, series_prefix); p && n < cap;
         p = strstr(p + 1, series_prefix)) {
        const char *le = strstr(p + len, "le=\"");
        ck_assert_ptr_nonnull(le);
        le += 4;
        size_t k = strcspn(le, "\"");
        ck_assert_uint_lt(k, 16);
        memcpy(bounds[n], le, k);
        bounds[n++][k] = '\0';
    }
    return n;
}

static void assert_increasing_buckets(const char *text, const char *prefix)
{
    char bounds[64][16];
    size_t n = bucket_bounds(text, prefix, bounds, 64);
    ck_assert_uint_ge(n, 2);
    ck_assert_str_eq(bounds[n - 1], "+Inf");
    for (size_t i = 1; i + 1 < n; i++)
        ck_assert_msg(strtod(bounds[i], NULL) > strtod(bounds[i - 1], NULL),
                      "le=%s after le=%s", bounds[i], bounds[i - 1]);
}

START_TEST(wait_histogram_has_increasing_buckets_sum_and_count)
{
    jobq_scheduler *s = open_scheduler(NULL);
    define_job(s, "etl", "analytics", "", JOBQ_PRIORITY_NORMAL, 500);
    C.now = 0;
    submit(s, "etl", NULL);
    submit(s, "etl", NULL);
    tick_at(s, 10500); /* both waited 10.5 s */
    submit(s, "etl", NULL);
    tick_at(s, SECONDS(3 * 86400)); /* this one waited 3 days - 10.5 s */
    char *text = render(s);
    const char *prefix = "jobq_wait_seconds_bucket{namespace=\"analytics\","
                         "priority=\"normal\",";
    assert_increasing_buckets(text, prefix);
    static const char series[] =
        "jobq_wait_seconds_bucket{namespace=\"analytics\",priority=\"normal\",";
    char line[256];
    static const char *const cumulative[][2] = {
        {"1", "0"}, {"5", "0"}, {"15", "2"}, {"86400", "2"},
        {"172800", "2"}, {"604800", "3"}, {"+Inf", "3"}};
    for (size_t i = 0; i < 7; i++) {
        snprintf(line, sizeof line, "%sle=\"%s\"} %s", series,
                 cumulative[i][0], cumulative[i][1]);
        assert_line(text, line);
    }
    /* 10.5 + 10.5 + (259200 - 10.5) seconds, exactly. */
    assert_line(text, "jobq_wait_seconds_sum{namespace=\"analytics\","
                      "priority=\"normal\"} 259210.5");
    assert_line(text, "jobq_wait_seconds_count{namespace=\"analytics\","
                      "priority=\"normal\"} 3");
    assert_line(text, "jobq_wait_seconds_count{namespace=\"analytics\","
                      "priority=\"high\"} 0");
    assert_increasing_buckets(text, "jobq_cycle_duration_seconds_bucket{");
    assert_line(text, "jobq_cycle_duration_seconds_count 2");
    assert_line(text, "jobq_cycle_duration_seconds_bucket{le=\"+Inf\"} 2");
    jobq_free(text);
    jobq_close(s);
}
END_TEST

START_TEST(a_wait_on_a_bucket_bound_counts_in_that_bucket)
{
    jobq_scheduler *s = open_scheduler(NULL);
    define_job(s, "etl", "analytics", "", JOBQ_PRIORITY_HIGH, 500);
    C.now = 0;
    submit(s, "etl", NULL);
    tick_at(s, SECONDS(60)); /* le is "less than or equal" */
    char *text = render(s);
    static const char series[] =
        "jobq_wait_seconds_bucket{namespace=\"analytics\",priority=\"high\",";
    char line[256];
    snprintf(line, sizeof line, "%sle=\"30\"} 0", series);
    assert_line(text, line);
    snprintf(line, sizeof line, "%sle=\"60\"} 1", series);
    assert_line(text, line);
    jobq_free(text);
    jobq_close(s);
}
END_TEST

START_TEST(label_values_are_escaped)
{
    jobq_scheduler *s = open_scheduler(NULL);
    /* Names cannot hold control characters any more (names.c), so the
     * newline escape is tested on a name from an old database, in
     * tests/store/test_damaged.c. */
    define_job(s, "say \"hi\"", "ns-1", "back\\slash",
               JOBQ_PRIORITY_HIGH, 250);
    submit(s, "say \"hi\"", NULL);
    tick_at(s, SECONDS(1));
    char *text = render(s);
    assert_line(text, "jobq_queue_length{namespace=\"ns-1\","
                      "priority=\"high\"} 0");
    assert_line(text, "jobq_allocated_cpu_cores{namespace=\"ns-1\","
                      "domain=\"back\\\\slash\",priority=\"high\","
                      "job=\"say \\\"hi\\\"\"} 0.25");
    /* No raw newline inside a label value: every line is a comment or a
     * sample that starts with the metric prefix. */
    for (const char *line = text; *line;) {
        ck_assert_msg(strncmp(line, "jobq_", 5) == 0 ||
                          strncmp(line, "# ", 2) == 0,
                      "stray line: %.40s", line);
        line = strchr(line, '\n') + 1;
    }
    jobq_free(text);
    jobq_close(s);
}
END_TEST

START_TEST(allocated_gauges_sum_deployed_runs_per_job)
{
    jobq_scheduler *s = open_scheduler(NULL);
    define_job(s, "etl", "analytics", "finance", JOBQ_PRIORITY_NORMAL, 1500);
    define_job(s, "idle", "analytics", "finance", JOBQ_PRIORITY_HIGH, 1000);
    jobq_run_id a = submit(s, "etl", NULL);
    submit(s, "etl", NULL);
    tick_at(s, SECONDS(1));
    char *text = render(s);
    static const char labels_etl[] = "{namespace=\"analytics\","
        "domain=\"finance\",priority=\"normal\",job=\"etl\"}";
    static const char labels_idle[] = "{namespace=\"analytics\","
        "domain=\"finance\",priority=\"high\",job=\"idle\"}";
    char line[256];
    snprintf(line, sizeof line, "jobq_allocated_cpu_cores%s 3", labels_etl);
    assert_line(text, line);
    snprintf(line, sizeof line, "jobq_allocated_memory_bytes%s 4294967296",
             labels_etl);
    assert_line(text, line);
    snprintf(line, sizeof line, "jobq_allocated_pods%s 4", labels_etl);
    assert_line(text, line);
    snprintf(line, sizeof line, "jobq_allocated_storage_bytes%s 0",
             labels_etl);
    assert_line(text, line);
    /* A job with nothing running shows 0, not nothing. */
    snprintf(line, sizeof line, "jobq_allocated_cpu_cores%s 0", labels_idle);
    assert_line(text, line);
    jobq_free(text);

    ck_assert_int_eq(jobq_run_report(s, a, JOBQ_RUN_FINISHED, NULL), 0);
    text = render(s);
    snprintf(line, sizeof line, "jobq_allocated_cpu_cores%s 1.5", labels_etl);
    assert_line(text, line);
    jobq_free(text);
    jobq_close(s);
}
END_TEST

START_TEST(quota_gauges_show_hard_and_used_and_omit_unlimited)
{
    jobq_scheduler *s = open_scheduler(NULL);
    C.hard.amount[JOBQ_RESOURCE_CPU] = CORES(8);
    C.hard.amount[JOBQ_RESOURCE_MEMORY] = GIB(64);
    C.used.amount[JOBQ_RESOURCE_CPU] = 500; /* something else runs there */
    define_job(s, "etl", "analytics", "", JOBQ_PRIORITY_NORMAL, CORES(2));
    define_job(s, "quiet", "elsewhere", "", JOBQ_PRIORITY_NORMAL, CORES(2));
    submit(s, "etl", NULL);
    tick_at(s, SECONDS(1));
    char *text = render(s);
    assert_line(text, "jobq_quota_cpu_cores{namespace=\"analytics\","
                      "kind=\"hard\"} 8");
    /* The probe said 0.5 before the deployment; 2 more were deployed. */
    assert_line(text, "jobq_quota_cpu_cores{namespace=\"analytics\","
                      "kind=\"used\"} 2.5");
    assert_line(text, "jobq_quota_memory_bytes{namespace=\"analytics\","
                      "kind=\"hard\"} 68719476736");
    assert_line(text, "jobq_quota_pods{namespace=\"analytics\","
                      "kind=\"used\"} 2");
    /* Unlimited pods and storage: no hard series. */
    ck_assert_ptr_null(strstr(text, "jobq_quota_pods{namespace=\"analytics\","
                                    "kind=\"hard\"}"));
    ck_assert_ptr_null(strstr(text, "jobq_quota_storage_bytes{namespace="
                                    "\"analytics\",kind=\"hard\"}"));
    /* A namespace with nothing to admit was never probed. */
    ck_assert_ptr_null(strstr(text, "jobq_quota_cpu_cores{namespace="
                                    "\"elsewhere\""));
    jobq_free(text);
    jobq_close(s);
}
END_TEST

START_TEST(a_failed_probe_leaves_no_quota_series)
{
    jobq_scheduler *s = open_scheduler(NULL);
    C.hard.amount[JOBQ_RESOURCE_CPU] = CORES(8);
    C.probe_fails = true;
    define_job(s, "etl", "analytics", "", JOBQ_PRIORITY_NORMAL, CORES(2));
    submit(s, "etl", NULL);
    tick_at(s, SECONDS(1));
    char *text = render(s);
    ck_assert_ptr_null(strstr(text, "jobq_quota_cpu_cores{"));
    assert_line(text, "jobq_queue_length{namespace=\"analytics\","
                      "priority=\"normal\"} 1");
    jobq_free(text);
    C.probe_fails = false;
    tick_at(s, SECONDS(2));
    text = render(s);
    assert_line(text, "jobq_quota_cpu_cores{namespace=\"analytics\","
                      "kind=\"hard\"} 8");
    jobq_free(text);
    jobq_close(s);
}
END_TEST

START_TEST(legacy_runs_are_deployed_with_no_wait)
{
    jobq_scheduler *s = open_scheduler(NULL);
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = "adhoc";
    def.ns = "analytics";
    def.flow = JOBQ_FLOW_LEGACY;
    def.request.amount[JOBQ_RESOURCE_CPU] = CORES(1);
    ck_assert_int_eq(jobq_job_define(s, &def), 0);
    C.now = SECONDS(30);
    submit(s, "adhoc", NULL); /* deployed at once, outside the queues */
    char *text = render(s);
    assert_line(text, "jobq_queue_length{namespace=\"analytics\","
                      "priority=\"normal\"} 0");
    assert_line(text, "jobq_runs_total{namespace=\"analytics\",domain=\"\","
                      "priority=\"normal\",outcome=\"deployed\"} 1");
    assert_line(text, "jobq_wait_seconds_bucket{namespace=\"analytics\","
                      "priority=\"normal\",le=\"1\"} 1");
    assert_line(text, "jobq_allocated_cpu_cores{namespace=\"analytics\","
                      "domain=\"\",priority=\"normal\",job=\"adhoc\"} 1");
    jobq_free(text);
    jobq_close(s);
}
END_TEST

START_TEST(head_timeouts_count_retries_and_cancellations)
{
    jobq_scheduler *s = open_scheduler(
        "{\"systemProperties\":{"
        "\"job-orchestrator.queue.head-timeout-seconds\":60,"
        "\"job-orchestrator.queue.head-retry-count\":1}}");
    C.hard.amount[JOBQ_RESOURCE_CPU] = CORES(1);
    define_job(s, "big", "analytics", "ml", JOBQ_PRIORITY_HIGH, CORES(4));
    submit(s, "big", NULL);
    tick_at(s, 0);          /* blocked */
    tick_at(s, SECONDS(60));  /* retry 1 */
    tick_at(s, SECONDS(120)); /* cancelled */
    char *text = render(s);
    assert_line(text, "jobq_head_timeouts_total{namespace=\"analytics\","
                      "priority=\"high\",action=\"retry\"} 1");
    assert_line(text, "jobq_head_timeouts_total{namespace=\"analytics\","
                      "priority=\"high\",action=\"cancel\"} 1");
    assert_line(text, "jobq_head_timeouts_total{namespace=\"analytics\","
                      "priority=\"normal\",action=\"cancel\"} 0");
    assert_line(text, "jobq_runs_total{namespace=\"analytics\",domain=\"ml\","
                      "priority=\"high\",outcome=\"cancelled\"} 1");
    assert_line(text, "jobq_queue_head_blocked{namespace=\"analytics\","
                      "priority=\"high\",reason=\"cpu\"} 0");
    jobq_free(text);
    jobq_close(s);
}
END_TEST

/* Submit `runs` runs of one job and deploy them; return the rendering. */
static char *render_after_runs(int runs)
{
    jobq_scheduler *s = open_scheduler(
        "{\"services\":{\"jobOrchestrator\":{\"settings\":"
        "{\"batchSize\":1000}}}}");
    define_job(s, "etl", "analytics", "finance", JOBQ_PRIORITY_NORMAL, 100);
    for (int i = 0; i < runs; i++) {
        char name[64];
        snprintf(name, sizeof name, "secret-run-%04d", i);
        submit(s, "etl", name);
    }
    tick_at(s, SECONDS(5));
    char *text = render(s);
    jobq_close(s);
    return text;
}

START_TEST(series_do_not_multiply_with_runs)
{
    char *one = render_after_runs(1);
    char *many = render_after_runs(200);
    ck_assert_uint_eq(count_lines(one), count_lines(many));
    ck_assert_ptr_null(strstr(many, "secret-run"));
    ck_assert_ptr_null(strstr(many, "run=\""));
    ck_assert_ptr_null(strstr(many, "run_id"));
    assert_line(many, "jobq_allocated_cpu_cores{namespace=\"analytics\","
                      "domain=\"finance\",priority=\"normal\",job=\"etl\"} 20");
    jobq_free(one);
    jobq_free(many);
}
END_TEST

START_TEST(series_are_sorted_and_rendering_is_repeatable)
{
    jobq_scheduler *s = open_scheduler(NULL);
    define_job(s, "z-job", "zeta", "", JOBQ_PRIORITY_NORMAL, 100);
    define_job(s, "a-job", "alpha", "", JOBQ_PRIORITY_NORMAL, 100);
    define_job(s, "m-job", "mid", "", JOBQ_PRIORITY_NORMAL, 100);
    submit(s, "z-job", NULL);
    submit(s, "a-job", NULL);
    tick_at(s, SECONDS(1));
    char *first = render(s);
    char *second = render(s);
    ck_assert_str_eq(first, second);
    const char *alpha = strstr(first, "jobq_queue_length{namespace=\"alpha\"");
    const char *mid = strstr(first, "jobq_queue_length{namespace=\"mid\"");
    const char *zeta = strstr(first, "jobq_queue_length{namespace=\"zeta\"");
    ck_assert_ptr_nonnull(alpha);
    ck_assert_ptr_nonnull(mid);
    ck_assert_ptr_nonnull(zeta);
    ck_assert(alpha < mid && mid < zeta);
    alpha = strstr(first, "jobq_runs_total{namespace=\"alpha\"");
    zeta = strstr(first, "jobq_runs_total{namespace=\"zeta\"");
    ck_assert(alpha && zeta && alpha < zeta);
    jobq_free(first);
    jobq_free(second);
    jobq_close(s);
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
    char *text = NULL;
    ck_assert_int_eq(jobq_metrics_render(NULL, &text, NULL), JOBQ_EINVAL);
    jobq_scheduler *s = open_scheduler(NULL);
    ck_assert_int_eq(jobq_metrics_render(s, NULL, NULL), JOBQ_EINVAL);
    char msg[128];
    jobq_errmsg(s, msg, sizeof msg);
    ck_assert_ptr_nonnull(strstr(msg, "out_text"));
    ck_assert_int_eq(jobq_metrics_render(s, &text, NULL), 0); /* no length */
    ck_assert_ptr_nonnull(text);
    jobq_free(text);
    jobq_close(s);
}
END_TEST

static int render_rc_in_callback = 1;
static jobq_scheduler *callback_handle;

static void render_from_callback(void *payload, const jobq_event *event)
{
    char *text = NULL;
    render_rc_in_callback = jobq_metrics_render(callback_handle, &text, NULL);
    jobq_free(text);
}

START_TEST(rendering_inside_a_callback_is_refused)
{
    jobq_options opts = JOBQ_OPTIONS_INIT;
    jobq_event_sink events = {JOBQ_EVENT_SINK_VERSION, NULL,
                              render_from_callback};
    opts.events = &events;
    ck_assert_int_eq(jobq_open(&callback_handle, &opts, NULL, 0), 0);
    define_job(callback_handle, "etl", "analytics", "", JOBQ_PRIORITY_NORMAL,
               100);
    submit(callback_handle, "etl", NULL);
    ck_assert_int_eq(render_rc_in_callback, JOBQ_EBUSY);
    jobq_close(callback_handle);
}
END_TEST

typedef struct scrape_args {
    jobq_scheduler *s;
    int renders;
    int failures;
} scrape_args;

static void *scrape_loop(void *arg)
{
    scrape_args *a = arg;
    for (int i = 0; i < a->renders; i++) {
        char *text = NULL;
        if (jobq_metrics_render(a->s, &text, NULL) != 0 ||
            !strstr(text, "# TYPE jobq_cycle_duration_seconds histogram"))
            a->failures++;
        jobq_free(text);
    }
    return NULL;
}

START_TEST(renders_from_another_thread_while_ticking)
{
    jobq_scheduler *s = open_scheduler(NULL);
    C.hard.amount[JOBQ_RESOURCE_CPU] = CORES(4);
    define_job(s, "etl", "analytics", "", JOBQ_PRIORITY_NORMAL, CORES(1));
    scrape_args args = {s, 300, 0};
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, scrape_loop, &args), 0);
    for (int i = 0; i < 300; i++) {
        jobq_run_id id = submit(s, "etl", NULL);
        tick_at(s, SECONDS(i));
        jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
        if (jobq_run_get(s, &info, id) == 0 &&
            info.state == JOBQ_RUN_RUNNING)
            jobq_run_report(s, id, JOBQ_RUN_FINISHED, NULL);
    }
    pthread_join(thread, NULL);
    ck_assert_int_eq(args.failures, 0);
    char *text = render(s);
    assert_line(text, "jobq_cycle_duration_seconds_count 300");
    jobq_free(text);
    jobq_close(s);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *suite = suite_create("metrics");
    TCase *tc = tcase_create("render");
    tcase_add_test(tc, every_family_has_help_and_type_in_order);
    tcase_add_test(tc, queue_length_and_blocked_head_follow_the_state);
    tcase_add_test(tc, run_counters_follow_events);
    tcase_add_test(tc, wait_histogram_has_increasing_buckets_sum_and_count);
    tcase_add_test(tc, a_wait_on_a_bucket_bound_counts_in_that_bucket);
    tcase_add_test(tc, label_values_are_escaped);
    tcase_add_test(tc, allocated_gauges_sum_deployed_runs_per_job);
    tcase_add_test(tc, quota_gauges_show_hard_and_used_and_omit_unlimited);
    tcase_add_test(tc, a_failed_probe_leaves_no_quota_series);
    tcase_add_test(tc, legacy_runs_are_deployed_with_no_wait);
    tcase_add_test(tc, a_refused_head_shows_as_blocked_on_stale_quota);
    tcase_add_test(tc, head_timeouts_count_retries_and_cancellations);
    tcase_add_test(tc, series_do_not_multiply_with_runs);
    tcase_add_test(tc, series_are_sorted_and_rendering_is_repeatable);
    tcase_add_test(tc, bad_arguments_are_refused);
    tcase_add_test(tc, rendering_inside_a_callback_is_refused);
    tcase_add_test(tc, renders_from_another_thread_while_ticking);
    suite_add_tcase(suite, tc);
    return suite;
}
