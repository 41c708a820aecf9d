/*
 * The fault-injection test (issue 8): a mixed workload against a database
 * whose storage fails. The SQLite VFS wrapper in fault_vfs.c makes the Nth
 * write, fsync or truncate fail; for every N of the workload, and for each
 * mode (the fault once, from then on, a full disk), this checks:
 *
 *   - a call that failed left no visible change (every run, the
 *     configuration, the metrics text, before and after, compared as text)
 *     and caused no event; it caused no deploy either, unless it was a
 *     cycle that passed a write-ahead commit point first (then the runs it
 *     launched are DEPLOYING, exactly as the file says);
 *   - after every call, memory agrees with the file: a read-only handle
 *     opened on it shows the same runs and configuration;
 *   - every event delivered to the sink is in the file's event log, in
 *     the same order, and the other way round;
 *   - afterwards the file opens again (with the real VFS), passes
 *     PRAGMA integrity_check, holds every acknowledged run (unless
 *     retention deleted it after it ended), and the reopened handle shows
 *     what the last one showed;
 *   - across everything, including the reopened handle's cycles, no run is
 *     deployed twice.
 *
 * The group-commit part runs concurrent submitters twice: alone, and with
 * a thread running cycles back to back meanwhile, whose deploy calls are
 * made with the handle's lock released (issue 11): the submits then land
 * between a cycle's write-ahead commit and its own, and either may fail.
 *
 * When an fsync fails, the commit may still surface when the file is next
 * opened (SPEC section 2); the comparisons that would see it are then
 * skipped, the others hold.
 *
 *   fault-test [--long] [--verbose] [--group-only]  (or JOBQ_FAULT_LONG=1)
 *
 * The default run covers every N of a short workload; the long one repeats
 * the workload's middle part to cover thousands of N. It prints
 * "fault: N covered ..." and exits 1 on any inconsistency.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fault_vfs.h"
#include "jobq/jobq.h"
#include "jobq/metrics.h"

#define MAX_RUNS 4096
#define MAX_EVENTS 65536

/* ----------------------------------------------------------- the world */

/* The fake cluster and the test's record of what the library said; it
 * outlives the handles (a reopened handle talks to the same cluster). */
static struct {
    jobq_time_ms now;
    int tick;
    int deploy_calls;
    int deployed[MAX_RUNS];      /* accepted deploys of each run */
    int deployed_tick[MAX_RUNS]; /* when */
    int64_t cpu[MAX_RUNS];
    bool ended_event[MAX_RUNS]; /* a terminal event was delivered */
    bool acked[MAX_RUNS];       /* a call returned this id with 0 */
    jobq_run_id max_id;
    struct {
        jobq_run_id run;
        int type;
    } events[MAX_EVENTS];
    int nevents;
    int twice; /* runs deployed a second time */
} W;

static bool verbose;
/* Compare memory with the file after every call (1), or after failed
 * calls and every Nth one (the long run: the comparison dominates). */
static int check_every = 1;
static int inconsistencies;
static char context[128]; /* which N and mode, for messages */

static void inconsistent(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void inconsistent(const char *fmt, ...)
{
    inconsistencies++;
    if (inconsistencies > 20)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "INCONSISTENT (%s): ", context);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static jobq_time_ms clock_now(void *ctx)
{
    (void)ctx;
    return W.now;
}

/* W.max_id is raised by the event sink (lock held) and by deploy, which a
 * cycle calls with the handle's lock released (group workload's ticker). */
static pthread_mutex_t max_id_mu = PTHREAD_MUTEX_INITIALIZER;

static void raise_max_id(jobq_run_id id)
{
    pthread_mutex_lock(&max_id_mu);
    if (id > W.max_id)
        W.max_id = id;
    pthread_mutex_unlock(&max_id_mu);
}

/* The group workload's ticker is on: deploy lingers a little, so that
 * submits come while it is called. */
static bool deploy_lingers;

static bool still_running(jobq_run_id id)
{
    return W.deployed[id] && W.tick - W.deployed_tick[id] < 2;
}

/* team-a has 3 cpu; team-b no quota. */
static int read_quota(void *ctx, const char *ns, jobq_resources *hard,
                      jobq_resources *used)
{
    (void)ctx;
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        hard->amount[d] = JOBQ_UNLIMITED;
        used->amount[d] = 0;
    }
    if (strcmp(ns, "team-a") == 0) {
        hard->amount[JOBQ_RESOURCE_CPU] = 3000;
        for (jobq_run_id id = 1; id <= W.max_id && id < MAX_RUNS; id++)
            if (still_running(id))
                used->amount[JOBQ_RESOURCE_CPU] += W.cpu[id];
    }
    return 0;
}

/* Every fifth call is refused on quota (stale quota); a second launch of
 * a run is recorded as the worst inconsistency there is. */
static int deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                  size_t cap)
{
    (void)ctx;
    W.deploy_calls++;
    if (req->run_id >= MAX_RUNS)
        return -1;
    if (W.deploy_calls % 5 == 0) {
        snprintf(msg, cap, "exceeded quota (fake)");
        return JOBQ_DEPLOY_QUOTA_REJECTED;
    }
    if (W.deployed[req->run_id]++) {
        W.twice++;
        inconsistent("run %" PRIu64 " deployed twice", req->run_id);
    }
    W.deployed_tick[req->run_id] = W.tick;
    W.cpu[req->run_id] = req->request.amount[JOBQ_RESOURCE_CPU];
    raise_max_id(req->run_id);
    if (deploy_lingers) {
        struct timespec ts = {0, 200 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int poll_run(void *ctx, jobq_run_id id, jobq_poll_status *status,
                    char *msg, size_t cap)
{
    (void)ctx;
    (void)msg;
    (void)cap;
    if (id >= MAX_RUNS || !W.deployed[id])
        *status = JOBQ_POLL_GONE;
    else
        *status = still_running(id) ? JOBQ_POLL_RUNNING : JOBQ_POLL_FINISHED;
    return 0;
}

static void on_event(void *ctx, const jobq_event *ev)
{
    (void)ctx;
    if (W.nevents < MAX_EVENTS) {
        W.events[W.nevents].run = ev->run;
        W.events[W.nevents].type = (int)ev->type;
        W.nevents++;
    }
    if (ev->run < MAX_RUNS &&
        (ev->type == JOBQ_EVENT_FINISHED || ev->type == JOBQ_EVENT_FAILED ||
         ev->type == JOBQ_EVENT_CANCELLED))
        W.ended_event[ev->run] = true;
    raise_max_id(ev->run);
}

static jobq_scheduler *open_handle(const char *path, char *err, size_t cap)
{
    jobq_clock clock = {JOBQ_CLOCK_VERSION, NULL, clock_now};
    jobq_probe probe = {JOBQ_PROBE_VERSION, NULL, read_quota};
    jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, NULL, deploy, NULL,
                              poll_run};
    jobq_event_sink sink = {JOBQ_EVENT_SINK_VERSION, NULL, on_event};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = path;
    opts.clock = &clock;
    opts.probe = &probe;
    opts.deployer = &deployer;
    opts.events = &sink;
    opts.config_json = "{\"services\":{\"jobOrchestrator\":{\"settings\":"
                       "{\"batchSize\":4}}}}";
    jobq_scheduler *s = NULL;
    if (jobq_open(&s, &opts, err, cap) != 0)
        return NULL;
    return s;
}

/* ----------------------------------------------------------- the dumps */

typedef struct text {
    char *data;
    size_t len, cap;
} text;

static void add(text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = vsnprintf(t->data ? t->data + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (size_t)n + 256;
        t->data = realloc(t->data, t->cap);
        if (!t->data)
            abort();
    }
}

/* Everything a host can see: every run (and the ids around them), the
 * configuration, and (with_metrics) the metrics text without the cycle
 * timings. */
static char *dump(jobq_scheduler *s, bool with_metrics)
{
    text t = {0};
    add(&t, "%s", "");
    for (jobq_run_id id = 1; id <= W.max_id + 3; id++) {
        jobq_run_info i = {.version = JOBQ_RUN_INFO_VERSION};
        int rc = jobq_run_get(s, &i, id);
        if (rc != 0) {
            add(&t, "%" PRIu64 " rc=%d\n", id, rc);
            continue;
        }
        add(&t,
            "%" PRIu64 " %s name=%s job=%s ns=%s p=%d f=%d cpu=%" PRId64
            " sub=%" PRId64 " dep=%" PRId64 " end=%" PRId64 " pos=%" PRIu64
            " blk=%d/%d/%" PRId64 "/%" PRId64 "/%" PRId64 " to=%" PRId64
            " retries=%u/%u attempts=%u reason=%s detail=%s\n",
            id, jobq_run_state_name(i.state), i.run_name, i.job, i.ns,
            (int)i.priority, (int)i.flow, i.request.amount[0], i.submitted_at,
            i.deployed_at, i.ended_at, i.queue_position, i.blocked,
            (int)i.blocked_resource, i.blocked_requested, i.blocked_available,
            i.blocked_since, i.head_timeout_at, i.retries_used, i.retries_left,
            i.deploy_attempts, i.reason, i.detail);
    }
    char *config = NULL;
    if (jobq_config_dump(s, &config) == 0) {
        add(&t, "config %s\n", config);
        jobq_free(config);
    }
    char *metrics = NULL;
    size_t len = 0;
    if (with_metrics && jobq_metrics_render(s, &metrics, &len) == 0) {
        for (char *line = strtok(metrics, "\n"); line;
             line = strtok(NULL, "\n"))
            if (!strstr(line, "cycle_duration"))
                add(&t, "%s\n", line);
        jobq_free(metrics);
    }
    return t.data;
}

/* Report a difference between two dumps, with the first differing line. */
static void compare(const char *what, const char *a, const char *b)
{
    if (strcmp(a, b) == 0)
        return;
    inconsistent("%s", what);
    if (inconsistencies > 20)
        return;
    size_t i = 0;
    while (a[i] && a[i] == b[i])
        i++;
    while (i > 0 && a[i - 1] != '\n')
        i--;
    fprintf(stderr, "  %.*s\n  vs\n  %.*s\n", (int)strcspn(a + i, "\n"), a + i,
            (int)strcspn(b + i, "\n"), b + i);
}

/* Memory agrees with the file: what a read-only handle loads from it. */
static void check_against_file(jobq_scheduler *s, const char *path,
                               const char *label)
{
    jobq_scheduler *ro = NULL;
    char err[256];
    if (jobq_open_read_only(&ro, path, err, sizeof err) != 0) {
        inconsistent("%s: read-only open failed: %s", label, err);
        return;
    }
    char *mine = dump(s, false), *file = dump(ro, false);
    char what[160];
    snprintf(what, sizeof what, "%s: memory and file disagree", label);
    compare(what, mine, file);
    free(mine);
    free(file);
    jobq_close(ro);
}

/* ------------------------------------------------------------ workload */

static int define(jobq_scheduler *s, const char *name, const char *ns,
                  jobq_priority priority, jobq_flow flow, int64_t cpu,
                  const char *payload)
{
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = name;
    def.ns = ns;
    def.priority = priority;
    def.flow = flow;
    def.request.amount[JOBQ_RESOURCE_CPU] = cpu;
    def.payload = payload;
    def.payload_len = strlen(payload);
    return jobq_job_define(s, &def);
}

static void acknowledge(jobq_run_id id)
{
    if (id > 0 && id < MAX_RUNS)
        W.acked[id] = true;
    if (id > W.max_id)
        W.max_id = id;
}

static int submit(jobq_scheduler *s, const char *job, const char *name,
                  const char *key)
{
    jobq_submit_opts opts = JOBQ_SUBMIT_OPTS_INIT;
    opts.run_name = name;
    opts.idempotency_key = key;
    jobq_run_id id = 0;
    int rc = jobq_run_submit(s, &id, job, &opts);
    if (rc == 0)
        acknowledge(id);
    return rc;
}

static int batch(jobq_scheduler *s, const char *const *jobs, size_t n)
{
    jobq_run_id ids[8] = {0};
    int rc = jobq_run_submit_batch(s, ids, jobs, NULL, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        acknowledge(ids[i]);
    return rc;
}

static int tick(jobq_scheduler *s)
{
    W.tick++;
    return jobq_tick(s, W.now, NULL);
}

/* The newest run in `state`, or 0. */
static jobq_run_id newest(jobq_scheduler *s, jobq_run_state state);

/* A cycle with arrivals and an ended run in its transaction. Its new runs
 * are acknowledged when it succeeds, and also when it fails after the
 * commit that made them durable: then it leaves their ids set (jq.h). */
static int tick_with_input(jobq_scheduler *s, const char *name)
{
    static const char *const jobs[] = {"etl", "train"};
    jobq_submit_opts opts[2] = {JOBQ_SUBMIT_OPTS_INIT, JOBQ_SUBMIT_OPTS_INIT};
    opts[0].run_name = name;
    jobq_run_id ids[2] = {0, 0};
    jobq_run_id ended = newest(s, JOBQ_RUN_RUNNING);
    jobq_run_state state = JOBQ_RUN_FAILED;
    jobq_tick_input in = JOBQ_TICK_INPUT_INIT;
    in.submit_count = 2;
    in.submit_jobs = jobs;
    in.submit_opts = opts;
    in.submit_ids = ids;
    in.report_count = ended ? 1 : 0;
    in.report_ids = &ended;
    in.report_states = &state;
    W.tick++;
    int rc = jobq_tick_batch(s, W.now, &in, NULL);
    for (int i = 0; i < 2; i++)
        acknowledge(ids[i]);
    return rc;
}

static jobq_run_id newest(jobq_scheduler *s, jobq_run_state state)
{
    jobq_run_filter f = JOBQ_RUN_FILTER_INIT;
    f.state = (int)state;
    jobq_run_id *ids = NULL;
    size_t n = 0;
    jobq_run_id id = 0;
    if (jobq_run_list(s, &ids, &n, &f) == 0 && n > 0)
        id = ids[n - 1];
    jobq_free(ids);
    return id;
}

/* Step `i` of the workload; `round` varies names in the repeated part.
 * Returns the call's result (-1000 past the end). */
static int step(jobq_scheduler *s, int i, int round)
{
    char name[32], key[32];
    snprintf(name, sizeof name, "r%d-%d", round, i);
    snprintf(key, sizeof key, "k%d", round);
    static const char *const mixed[] = {"etl", "train", "etl", "legacy"};
    static const char *const bad[] = {"train", "train", "no-such-job"};
    switch (i) {
    case 0:
        return define(s, "etl", "team-a", JOBQ_PRIORITY_HIGH,
                      JOBQ_FLOW_PRIORITY, 1000, "etl-v1");
    case 1:
        return define(s, "train", "team-b", JOBQ_PRIORITY_NORMAL,
                      JOBQ_FLOW_PRIORITY, 500, "train-v1");
    case 2:
        return define(s, "legacy", "team-a", JOBQ_PRIORITY_NORMAL,
                      JOBQ_FLOW_LEGACY, 100, "legacy-v1");
    case 3:
        return submit(s, "etl", name, NULL);
    case 4:
        return submit(s, "train", name, key);
    case 5:
        return batch(s, mixed, 4);
    case 6:
        return tick(s);
    case 7:
        return submit(s, "etl", name, NULL);
    case 8: {
        jobq_run_id id = newest(s, JOBQ_RUN_QUEUED);
        return id ? jobq_run_cancel(s, id, "changed my mind") : 0;
    }
    case 9:
        return jobq_property_set(
            s, "job-orchestrator.queue.high.scheduling-share-percentage",
            round % 2 ? "60" : "70");
    case 10:
        return tick(s);
    case 11:
        return batch(s, bad, 3); /* fails: all or nothing */
    case 12:
        return define(s, "etl", "team-a", JOBQ_PRIORITY_HIGH,
                      JOBQ_FLOW_PRIORITY, 700 + round, "etl-v2");
    case 13:
        return tick(s);
    case 14:
        return jobq_job_set_flow(
            s, "train", round % 2 ? JOBQ_FLOW_PRIORITY : JOBQ_FLOW_LEGACY);
    case 15:
        return submit(s, "train", name, key); /* same key again */
    case 16:
        return tick(s);
    case 17:
        return jobq_property_set(s,
                                 "services.jobOrchestrator.settings."
                                 "jobRunCleanup.retentionPeriod",
                                 "3");
    case 18:
        return tick(s);
    case 19: {
        uint64_t deleted = 0;
        return jobq_cleanup(s, 0, &deleted);
    }
    case 20: {
        jobq_run_id id = newest(s, JOBQ_RUN_RUNNING);
        return id ? jobq_run_report(s, id, JOBQ_RUN_FINISHED, "reported") : 0;
    }
    case 21:
        return tick_with_input(s, name);
    case 22:
        return tick(s);
    default:
        return -1000;
    }
}

/* ------------------------------------------------------------- checks */

/* One event: its run, type and position (delivery order, or the file's
 * per-run sequence number). */
typedef struct logged_event {
    jobq_run_id run;
    int type;
    int64_t order;
} logged_event;

static int by_run_then_order(const void *a, const void *b)
{
    const logged_event *x = a, *y = b;
    if (x->run != y->run)
        return x->run < y->run ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* The file's event log is exactly what the sink saw (runs retention
 * deleted left out of both). The file orders events per run (key run_id,
 * seq), so each run's log is compared with the events delivered for that
 * run, in delivery order. Not exact (a commit whose fsync failed may have
 * reached the file without being reported): each run's delivered events
 * must still be the start of its log in the file. */
static void check_events(const char *path, bool exact)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        inconsistent("cannot open the file to read its events");
        sqlite3_close(db);
        return;
    }
    static logged_event file[MAX_EVENTS * 2], seen[MAX_EVENTS];
    size_t nfile = 0, nseen = 0;
    sqlite3_stmt *stmt = NULL;
    /* event_log: the rows, and the events the run rows say (store.c). */
    if (sqlite3_prepare_v2(db, "SELECT e.run_id, e.type, e.seq FROM "
                           "event_log e JOIN runs r ON r.id = e.run_id", -1,
                           &stmt,
                           NULL) != SQLITE_OK)
        inconsistent("cannot read the event log: %s", sqlite3_errmsg(db));
    while (stmt && sqlite3_step(stmt) == SQLITE_ROW &&
           nfile < sizeof file / sizeof *file)
        file[nfile++] = (logged_event){
            (jobq_run_id)sqlite3_column_int64(stmt, 0),
            sqlite3_column_int(stmt, 1), sqlite3_column_int64(stmt, 2)};
    sqlite3_finalize(stmt);
    sqlite3_stmt *exists = NULL;
    sqlite3_prepare_v2(db, "SELECT 1 FROM runs WHERE id = ?1", -1, &exists,
                       NULL);
    for (int i = 0; i < W.nevents; i++) {
        sqlite3_reset(exists);
        sqlite3_bind_int64(exists, 1, (int64_t)W.events[i].run);
        if (sqlite3_step(exists) == SQLITE_ROW) /* not deleted by retention */
            seen[nseen++] = (logged_event){W.events[i].run,
                                           W.events[i].type, i};
    }
    sqlite3_finalize(exists);
    sqlite3_close(db);
    qsort(file, nfile, sizeof *file, by_run_then_order);
    qsort(seen, nseen, sizeof *seen, by_run_then_order);
    size_t f = 0, d = 0;
    while (f < nfile || d < nseen) {
        jobq_run_id run = f < nfile && (d >= nseen || file[f].run <= seen[d].run)
                              ? file[f].run
                              : seen[d].run;
        size_t f_end = f, d_end = d;
        while (f_end < nfile && file[f_end].run == run)
            f_end++;
        while (d_end < nseen && seen[d_end].run == run)
            d_end++;
        size_t n_file = f_end - f, n_seen = d_end - d;
        bool same = n_seen <= n_file && (!exact || n_seen == n_file);
        for (size_t k = 0; same && k < n_seen; k++)
            same = file[f + k].type == seen[d + k].type;
        if (!same) {
            inconsistent("run %" PRIu64 ": the sink saw %zu event(s), the "
                         "file logs %zu, %s", run, n_seen, n_file,
                         n_seen > n_file ? "some delivered events are not "
                                           "in the file"
                                         : "not the same ones in order");
            return;
        }
        f = f_end;
        d = d_end;
    }
}

static void check_integrity(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    const char *answer = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL) ==
            SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        answer = (const char *)sqlite3_column_text(stmt, 0);
    if (!answer || strcmp(answer, "ok") != 0)
        inconsistent("integrity_check: %s", answer ? answer : "failed");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

typedef struct totals {
    long long runs, failed_calls, failed_ticks_after_deploy, sync_faults;
} totals;

/* One run of the workload with the fault at operation n (0: none). Returns
 * how many operations the workload performed. */
static long long run_workload(const char *dir, long long n, fault_mode mode,
                              int rounds, totals *tot)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fault.db", dir);
    memset(&W, 0, sizeof W);
    W.now = 1700000000000;
    char err[256];
    jobq_scheduler *s = open_handle(path, err, sizeof err);
    if (!s) {
        inconsistent("open failed: %s", err);
        return 0;
    }
    fault_arm(n, n ? mode : FAULT_COUNT);
    char *last = NULL;
    int steps = 3 + 20 * rounds;
    for (int k = 0; k < steps; k++) {
        int i = k < 3 ? k : 3 + (k - 3) % 20;
        int round = k < 3 ? 0 : (k - 3) / 20;
        W.now += 1000;
        char *before = dump(s, true);
        int events_before = W.nevents, deploys_before = W.deploy_calls;
        int rc = step(s, i, round);
        char *after = dump(s, true);
        char label[96];
        snprintf(label, sizeof label, "step %d (%d of round %d), rc %d", k, i,
                 round, rc);
        if (rc != 0) {
            tot->failed_calls++;
            if (W.deploy_calls == deploys_before) {
                char what[160];
                snprintf(what, sizeof what,
                         "%s: the failed call changed what is visible", label);
                compare(what, before, after);
                if (W.nevents != events_before)
                    inconsistent("%s: the failed call delivered %d events",
                                 label, W.nevents - events_before);
            } else {
                tot->failed_ticks_after_deploy++;
            }
        }
        if (rc != 0 || k % check_every == 0 || k == steps - 1)
            check_against_file(s, path, label);
        free(before);
        free(last);
        last = after;
    }
    long long ops = fault.counter;
    bool sync_fault = fault.fired && fault.first_kind == FAULT_SYNC;
    if (sync_fault)
        tot->sync_faults++;
    char *live = dump(s, false);
    jobq_close(s);
    fault_disarm();

    /* The file afterwards, with the real VFS behaviour. */
    check_events(path, !sync_fault);
    check_integrity(path);
    jobq_scheduler *ro = NULL;
    if (jobq_open_read_only(&ro, path, err, sizeof err) != 0) {
        inconsistent("the file does not open read-only: %s", err);
    } else {
        char *file = dump(ro, false);
        if (!sync_fault)
            compare("reopened file differs from the last handle", live, file);
        jobq_close(ro);
        free(file);
    }
    s = open_handle(path, err, sizeof err);
    if (!s) {
        inconsistent("the file does not open again: %s", err);
    } else {
        for (jobq_run_id id = 1; id < MAX_RUNS && id <= W.max_id; id++) {
            jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
            if (W.acked[id] && !W.ended_event[id] &&
                jobq_run_get(s, &info, id) != 0)
                inconsistent("acknowledged run %" PRIu64 " is missing after "
                             "reopen",
                             id);
        }
        for (int t = 0; t < 4; t++) {
            W.now += 1000;
            if (tick(s) != 0)
                inconsistent("a cycle after reopen failed");
        }
        jobq_close(s);
    }
    free(live);
    free(last);
    unlink(path);
    char side[600];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-lock", path);
    unlink(side);
    tot->runs++;
    return ops;
}

/* ------------------------------------------------ group commit, faulted */

/* Concurrent single submitters share transactions (group commit): when a
 * shared commit fails, every submit in it must fail and leave nothing; a
 * submit that returned 0 must be there. */
#define G_THREADS 4
#define G_MAX_PER 25
static int G_PER = 5; /* submits per thread; 25 in the long run */

static struct {
    jobq_scheduler *s;
    pthread_mutex_t mu;
    jobq_run_id acked[G_THREADS * G_MAX_PER];
    int nacked, failed;
    bool submitters_done; /* atomic access */
} G = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Cycles back to back until the submitters are done; a cycle may fail
 * (the fault), the next one goes on. */
static void *group_ticker(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&G.submitters_done, __ATOMIC_ACQUIRE))
        (void)jobq_tick(G.s, W.now, NULL);
    return NULL;
}

static void *group_submitter(void *arg)
{
    (void)arg;
    for (int i = 0; i < G_PER; i++) {
        jobq_run_id id = 0;
        int rc = jobq_run_submit(G.s, &id, "etl", NULL);
        pthread_mutex_lock(&G.mu);
        if (rc == 0)
            G.acked[G.nacked++] = id;
        else
            G.failed++;
        pthread_mutex_unlock(&G.mu);
    }
    return NULL;
}

static int compare_ids(const void *a, const void *b)
{
    jobq_run_id x = *(const jobq_run_id *)a, y = *(const jobq_run_id *)b;
    return x < y ? -1 : x > y;
}

/* The ids the handle lists equal the acknowledged ones (subset: only the
 * ones acknowledged must be there). */
static void check_ids(jobq_scheduler *s, bool subset, const char *label)
{
    jobq_run_id *ids = NULL;
    size_t n = 0;
    if (jobq_run_list(s, &ids, &n, NULL) != 0) {
        inconsistent("%s: cannot list runs", label);
        return;
    }
    qsort(G.acked, (size_t)G.nacked, sizeof *G.acked, compare_ids);
    size_t j = 0;
    for (int i = 0; i < G.nacked; i++) {
        while (j < n && ids[j] < G.acked[i])
            j++;
        if (j == n || ids[j] != G.acked[i]) {
            inconsistent("%s: acknowledged run %" PRIu64 " is missing", label,
                         G.acked[i]);
            break;
        }
    }
    if (!subset && n != (size_t)G.nacked)
        inconsistent("%s: %zu runs, %d acknowledged", label, n, G.nacked);
    jobq_free(ids);
}

static long long group_workload(const char *dir, long long n, fault_mode mode,
                                bool ticking, totals *tot)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/group.db", dir);
    memset(&W, 0, sizeof W);
    W.now = 1700000000000;
    G.nacked = G.failed = 0;
    G.s = open_handle(path, err, sizeof err);
    if (!G.s) {
        inconsistent("open failed: %s", err);
        return 0;
    }
    define(G.s, "etl", "team-a", JOBQ_PRIORITY_HIGH, JOBQ_FLOW_PRIORITY, 1000,
           "etl-v1");
    fault_arm(n, n ? mode : FAULT_COUNT);
    pthread_t threads[G_THREADS], ticker;
    __atomic_store_n(&G.submitters_done, false, __ATOMIC_RELEASE);
    deploy_lingers = ticking;
    if (ticking)
        pthread_create(&ticker, NULL, group_ticker, NULL);
    for (int i = 0; i < G_THREADS; i++)
        pthread_create(&threads[i], NULL, group_submitter, NULL);
    for (int i = 0; i < G_THREADS; i++)
        pthread_join(threads[i], NULL);
    __atomic_store_n(&G.submitters_done, true, __ATOMIC_RELEASE);
    if (ticking)
        pthread_join(ticker, NULL);
    deploy_lingers = false;
    long long ops = fault.counter;
    bool sync_fault = fault.fired && fault.first_kind == FAULT_SYNC;
    tot->failed_calls += G.failed;
    W.max_id = 0;
    for (int i = 0; i < G.nacked; i++)
        if (G.acked[i] > W.max_id)
            W.max_id = G.acked[i];
    W.max_id += G.failed; /* ids a rolled-back submit used */
    check_ids(G.s, false, "group commit, live handle");
    check_against_file(G.s, path, "group commit");
    /* Each acknowledged run's "submitted" event was delivered once, and
     * no other. */
    int submitted = 0;
    for (int i = 0; i < W.nevents; i++)
        if (W.events[i].type == JOBQ_EVENT_SUBMITTED)
            submitted++;
    if (submitted != G.nacked)
        inconsistent("group commit: %d submitted events for %d acknowledged "
                     "runs",
                     submitted, G.nacked);
    jobq_close(G.s);
    fault_disarm();
    check_integrity(path);
    jobq_scheduler *ro = NULL;
    if (jobq_open_read_only(&ro, path, err, sizeof err) != 0) {
        inconsistent("group commit: the file does not open: %s", err);
    } else {
        check_ids(ro, sync_fault, "group commit, reopened");
        jobq_close(ro);
    }
    unlink(path);
    char side[600];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-lock", path);
    unlink(side);
    tot->runs++;
    return ops;
}

int main(int argc, char **argv)
{
    bool group_only = false;
    bool longer = getenv("JOBQ_FAULT_LONG") &&
                  strcmp(getenv("JOBQ_FAULT_LONG"), "0") != 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--long") == 0)
            longer = true;
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = true;
        else if (strcmp(argv[i], "--group-only") == 0)
            group_only = true;
    }
    if (fault_vfs_install() != SQLITE_OK) {
        fprintf(stderr, "fault-test: cannot install the VFS\n");
        return 2;
    }
    /* tmpfs when there is one: the test is about failed syncs, not slow
     * ones. */
    char dir[] = "/dev/shm/jobq-fault-XXXXXX";
    if (access("/dev/shm", W_OK) != 0)
        memcpy(dir, "/tmp/jobq-fault-XXXXXX", sizeof "/tmp/jobq-fault-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    int rounds = longer ? 2 : 1;
    if (longer) {
        G_PER = G_MAX_PER;
        check_every = 5;
    }
    totals tot = {0};
    snprintf(context, sizeof context, "no fault");
    long long ops =
        group_only ? 0 : run_workload(dir, 0, FAULT_COUNT, rounds, &tot);
    if (inconsistencies) {
        fprintf(stderr, "fault-test: inconsistent without any fault\n");
        return 1;
    }
    static const struct {
        fault_mode mode;
        const char *name;
    } modes[] = {{FAULT_ONCE, "once"},
                 {FAULT_STICKY, "from then on"},
                 {FAULT_FULL, "disk full"}};
    long long covered = 0;
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
        for (long long n = 1; n <= ops; n++) {
            snprintf(context, sizeof context, "fault at operation %lld, %s", n,
                     modes[m].name);
            run_workload(dir, n, modes[m].mode, rounds, &tot);
            covered++;
            if (verbose && n % 100 == 0)
                fprintf(stderr,
                        "%s: %lld faults injected, %d "
                        "inconsistencies\n",
                        context, fault.injected, inconsistencies);
        }
    }
    /* Group commit, alone and with cycles deploying meanwhile: the
     * operation count varies with thread timing. */
    long long group_ops = 0, group_covered = 0;
    for (int ticking = 0; ticking < 2; ticking++) {
        const char *with = ticking ? ", cycles meanwhile" : "";
        snprintf(context, sizeof context, "group commit%s, no fault", with);
        long long ops_here =
            group_workload(dir, 0, FAULT_COUNT, ticking, &tot);
        if (ops_here > group_ops)
            group_ops = ops_here;
        for (size_t m = 0; m < 2; m++) {
            for (long long n = 1; n <= ops_here; n++) {
                snprintf(context, sizeof context,
                         "group commit%s, fault at operation %lld, %s", with,
                         n, modes[m].name);
                group_workload(dir, n, modes[m].mode, ticking, &tot);
                group_covered++;
            }
        }
    }
    rmdir(dir);
    printf("fault: N covered: %lld (1..%lld, in %zu modes: once, from then "
           "on, disk full)\n",
           covered, ops, sizeof modes / sizeof *modes);
    printf("fault: group commit (%d threads x %d submits, alone and with "
           "cycles meanwhile): N covered %lld (1..%lld, once and from then "
           "on)\n",
           G_THREADS, G_PER, group_covered, group_ops);
    printf("fault: faults injected %lld, failed calls %lld (of which cycles "
           "that had deployed before failing %lld), runs whose first fault "
           "hit an fsync %lld\n",
           fault.injected, tot.failed_calls, tot.failed_ticks_after_deploy,
           tot.sync_faults);
    printf("fault: inconsistencies %d, runs deployed twice %s\n",
           inconsistencies, inconsistencies ? "see above" : "0");
    return inconsistencies ? 1 : 0;
}
