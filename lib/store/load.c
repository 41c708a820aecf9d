/*
 * Reopening: rebuild the core's memory from the database, before any
 * admission. Order matters: namespaces first (in their round-robin order,
 * so a namespace's row id is its index + 1), then jobs (without payloads),
 * then the live runs in id order, which is FIFO order (so each joins the
 * tail of its queue in O(1)), then the queue-head and WRR state and the turn pointer. Terminal
 * runs are not loaded; the queries in query.c read them from disk.
 *
 * This is the path the 1,000,000-run reopen benchmark measures: one
 * indexed scan, one allocation per run, no per-row SQL beyond the step.
 */
#include "store_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Times are milliseconds; the core subtracts them from "now". A value
 * beyond +-2^53 ms (285,000 years), or not an integer, is damage: taking
 * it would overflow that arithmetic. */
#define TIME_LIMIT (INT64_C(1) << 53)

static bool time_ok(sqlite3_stmt *stmt, int col)
{
    int64_t t = sqlite3_column_int64(stmt, col);
    return sqlite3_column_type(stmt, col) == SQLITE_INTEGER &&
           t > -TIME_LIMIT && t < TIME_LIMIT;
}

/* WRR currents stay within a few times the total weight (100); anything
 * far beyond is damage (and would overflow the WRR sums). */
#define WRR_LIMIT (INT64_C(1) << 40)

/* A placeholder holds the round-robin index of a namespace row that cannot
 * be loaded (a namespace's row id is its index + 1, so the indexes after it
 * must not shift). Its name is not a DNS label, so no real namespace can
 * ever be given it; nothing refers to it once its rows are quarantined. */
static jq_namespace *placeholder_namespace(jq_core *c, int64_t id)
{
    char name[48];
    snprintf(name, sizeof name, "#quarantined-%lld", (long long)id);
    return jq_core_namespace(c, name, true);
}

static int load_namespaces(jq_store *st, jq_core *c)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(st->db, "SELECT id, name, wrr_high, "
                                "wrr_normal FROM namespaces ORDER BY id",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return jq_store_sql_error(st, "loading namespaces");
    int err = 0;
    while (err == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(stmt, 0);
        const char *name = (const char *)sqlite3_column_text(stmt, 1);
        int64_t expected = (int64_t)c->ns_count + 1;
        if (id != expected) {
            /* A hole or a stray id: the rows after it keep their ids, so
             * this one cannot be given an index; its runs follow it. */
            err = jq_store_quarantine(st, "namespaces", id, "row id %lld is "
                                      "out of sequence (expected %lld)",
                                      (long long)id, (long long)expected);
            continue;
        }
        const char *problem = NULL;
        if (!name || !*name)
            problem = "no name";
        else if (sqlite3_column_bytes(stmt, 1) > JOBQ_NS_MAX ||
                 (int)strlen(name) != sqlite3_column_bytes(stmt, 1))
            problem = "name longer than a namespace name may be";
        else if (name[0] == '#' || jq_core_namespace(c, name, false))
            problem = "duplicate name";
        jq_namespace *ns = problem ? placeholder_namespace(c, id)
                                   : jq_core_namespace(c, name, true);
        if (!ns) {
            err = JOBQ_ENOMEM;
            break;
        }
        if (problem) {
            err = jq_store_quarantine(st, "namespaces", id, "%s", problem);
            continue;
        }
        int64_t high = sqlite3_column_int64(stmt, 2);
        int64_t normal = sqlite3_column_int64(stmt, 3);
        if (high <= -WRR_LIMIT || high >= WRR_LIMIT ||
            normal <= -WRR_LIMIT || normal >= WRR_LIMIT) {
            /* The namespace itself is fine: keep it, restart its WRR. */
            err = jq_store_quarantine(st, "namespaces", id, "WRR state out "
                                      "of range (%lld, %lld): restarted at "
                                      "0", (long long)high,
                                      (long long)normal);
            high = normal = 0;
        }
        ns->wrr.current[JOBQ_PRIORITY_HIGH] = high;
        ns->wrr.current[JOBQ_PRIORITY_NORMAL] = normal;
    }
    sqlite3_finalize(stmt);
    if (err)
        return err;
    return rc == SQLITE_DONE ? 0 : jq_store_sql_error(st, "loading namespaces");
}

static jq_namespace *namespace_by_row(jq_core *c, int64_t id)
{
    jq_namespace *ns = id >= 1 && (uint64_t)id <= c->ns_count
                           ? c->ns_order[id - 1]
                           : NULL;
    return ns && ns->name[0] != '#' ? ns : NULL;
}

static int load_queues(jq_store *st, jq_core *c)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT ns_id, priority, blocked, "
                           "resource, requested, available, blocked_since, "
                           "retry_at, refusals, refused_run, refused_since, "
                           "refusal FROM queues", -1, &stmt,
                           NULL) != SQLITE_OK)
        return jq_store_sql_error(st, "loading queues");
    int rc, err = 0;
    while (err == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t ns_id = sqlite3_column_int64(stmt, 0);
        jq_namespace *ns = namespace_by_row(c, ns_id);
        int p = sqlite3_column_int(stmt, 1);
        int resource = sqlite3_column_int(stmt, 3);
        if (!ns || p < 0 || p >= JQ_PRIORITIES || resource < 0 ||
            resource >= JOBQ_RESOURCE_COUNT || !time_ok(stmt, 6) ||
            !time_ok(stmt, 7)) {
            err = jq_store_quarantine(st, "queues", ns_id * JQ_PRIORITIES + p,
                                      "queue state of namespace row %lld, "
                                      "priority %d: %s", (long long)ns_id, p,
                                      !ns ? "unknown namespace"
                                          : "priority, resource or times out "
                                            "of range");
            continue;
        }
        jq_queue *q = &ns->queue[p];
        /* The blocked state belongs to the head it was recorded for; the
         * head after reopen is the same run (nothing moves while closed). */
        q->head_blocked = sqlite3_column_int(stmt, 2) && q->runs.first;
        q->head_resource = (uint8_t)resource;
        q->head_requested = sqlite3_column_int64(stmt, 4);
        q->head_available = sqlite3_column_int64(stmt, 5);
        q->head_blocked_since = sqlite3_column_int64(stmt, 6);
        q->head_retry_at = sqlite3_column_int64(stmt, 7);
        /* The refusal streak (SPEC 2.5) is kept by run id: it applies only
         * while that run is the head. */
        int64_t refusals = sqlite3_column_int64(stmt, 8);
        q->head_refusals = refusals > 0 && refusals <= UINT32_MAX
                               ? (uint32_t)refusals
                               : 0;
        q->head_refused_run = (jobq_run_id)sqlite3_column_int64(stmt, 9);
        q->head_refused_since = sqlite3_column_int64(stmt, 10);
        const char *refusal = (const char *)sqlite3_column_text(stmt, 11);
        snprintf(q->head_refusal, sizeof q->head_refusal, "%s",
                 refusal ? refusal : "");
    }
    sqlite3_finalize(stmt);
    if (err)
        return err;
    return rc == SQLITE_DONE ? 0 : jq_store_sql_error(st, "loading queues");
}

/* Columns of the job scan. */
enum { J_ID, J_NAME, J_DOMAIN, J_NS, J_PRIORITY, J_FLOW, J_CPU,
       J_PAYLOAD_LEN = J_CPU + JOBQ_RESOURCE_COUNT, J_PAYLOAD_TYPE };
/* J_PAYLOAD_TYPE: 1 when the payload column holds a number. */

static bool request_ok(sqlite3_stmt *stmt, int first)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        if (sqlite3_column_type(stmt, first + d) != SQLITE_INTEGER)
            return false;
        int64_t v = sqlite3_column_int64(stmt, first + d);
        if (v < 0 || v == JOBQ_UNLIMITED)
            return false;
    }
    return true;
}

/* Why a job row cannot be loaded, or NULL. */
static const char *job_problem(jq_core *c, sqlite3_stmt *stmt)
{
    const char *name = (const char *)sqlite3_column_text(stmt, J_NAME);
    if (!name || !*name || (int)strlen(name) != sqlite3_column_bytes(stmt,
                                                                      J_NAME))
        return "no name, or a name with a NUL byte";
    if (jq_core_job(c, name))
        return "duplicate name";
    if (!namespace_by_row(c, sqlite3_column_int64(stmt, J_NS)))
        return "unknown or quarantined namespace";
    if ((uint64_t)sqlite3_column_int64(stmt, J_PRIORITY) > 1)
        return "priority out of range";
    if ((uint64_t)sqlite3_column_int64(stmt, J_FLOW) > 1)
        return "flow out of range";
    if (!request_ok(stmt, J_CPU))
        return "resource request out of range";
    if (sqlite3_column_int(stmt, J_PAYLOAD_TYPE))
        return "payload is a number, not a blob";
    return NULL;
}

static int load_one_job(jq_store *st, jq_core *c, sqlite3_stmt *stmt,
                        jq_job **out)
{
    int64_t id = sqlite3_column_int64(stmt, J_ID);
    const char *name = (const char *)sqlite3_column_text(stmt, J_NAME);
    const char *domain = (const char *)sqlite3_column_text(stmt, J_DOMAIN);
    jq_namespace *ns = namespace_by_row(c, sqlite3_column_int64(stmt, J_NS));
    *out = NULL;
    const char *problem = job_problem(c, stmt);
    if (problem) {
        /* Remember the row under its name all the same: defining the job
         * again then rewrites this row instead of colliding with it. */
        int rc = jq_store_quarantine(st, "jobs", id, "%s", problem);
        if (rc == 0 && name && strcmp(problem, "duplicate name") != 0 &&
            jq_store_job_row(st, name) == 0)
            rc = jq_store_remember_job(st, name, id);
        return rc;
    }
    jq_job *job = calloc(1, sizeof *job);
    if (!job || !(job->name = strdup(name)) ||
        !(job->domain = strdup(domain ? domain : "")) ||
        jq_strmap_put(&c->jobs, job) != 0) {
        if (job) {
            free(job->name);
            free(job->domain);
        }
        free(job);
        return JOBQ_ENOMEM;
    }
    job->ns = ns;
    job->priority = (uint8_t)sqlite3_column_int(stmt, J_PRIORITY);
    job->flow = (uint8_t)sqlite3_column_int(stmt, J_FLOW);
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        job->request.amount[d] = sqlite3_column_int64(stmt, J_CPU + d);
    job->payload_len = (size_t)sqlite3_column_int64(stmt, J_PAYLOAD_LEN);
    *out = job;
    return jq_store_remember_job(st, name, id);
}

/* Jobs by row id, for the run scan: ascending ids (the scan's order), so
 * a binary search finds a run's job whatever the ids are. */
typedef struct job_by_row {
    int64_t id;
    jq_job *job;
} job_by_row;

static int load_jobs(jq_store *st, jq_core *c, job_by_row **out,
                     size_t *count)
{
    sqlite3_stmt *stmt = NULL;
    size_t capacity = 0;
    *out = NULL;
    *count = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT id, name, domain, ns_id, "
                           "priority, flow, cpu, memory, pods, storage, "
                           "length(payload), typeof(payload) IN "
                           "('integer', 'real') FROM jobs "
                           "ORDER BY id", -1, &stmt, NULL) != SQLITE_OK)
        return jq_store_sql_error(st, "loading jobs");
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        jq_job *job = NULL;
        rc = load_one_job(st, c, stmt, &job);
        if (rc != 0 || !job)
            continue;
        if (*count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            job_by_row *grown = realloc(*out, capacity * sizeof *grown);
            if (!grown) {
                rc = JOBQ_ENOMEM;
                break;
            }
            *out = grown;
        }
        (*out)[(*count)++] = (job_by_row){sqlite3_column_int64(stmt, J_ID),
                                          job};
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = jq_store_sql_error(st, "loading jobs");
    sqlite3_finalize(stmt);
    return rc;
}

static jq_job *job_by_id(const job_by_row *jobs, size_t count, int64_t id)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (jobs[mid].id == id)
            return jobs[mid].job;
        if (jobs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Columns of the live-run scan. */
enum { R_ID, R_JOB, R_NS, R_NAME, R_PRIORITY, R_FLOW, R_STATE, R_CPU,
       R_SUBMITTED = R_CPU + JOBQ_RESOURCE_COUNT, R_DEPLOYED, R_RETRIES,
       R_ATTEMPTS };

/* Why a live run row cannot be loaded, or NULL. */
static const char *run_problem(jq_core *c, sqlite3_stmt *stmt,
                               const job_by_row *jobs, size_t job_count)
{
    int64_t id = sqlite3_column_int64(stmt, R_ID);
    int64_t state = sqlite3_column_int64(stmt, R_STATE);
    if (id <= 0)
        return "run id out of range";
    if (!job_by_id(jobs, job_count, sqlite3_column_int64(stmt, R_JOB)))
        return "its job is unknown or quarantined (a job definition that "
               "never committed?)";
    if (!namespace_by_row(c, sqlite3_column_int64(stmt, R_NS)))
        return "unknown or quarantined namespace";
    if (state < JOBQ_RUN_QUEUED || state > JOBQ_RUN_RUNNING)
        return "state out of range";
    if ((uint64_t)sqlite3_column_int64(stmt, R_PRIORITY) > 1)
        return "priority out of range";
    if ((uint64_t)sqlite3_column_int64(stmt, R_FLOW) > 1)
        return "flow out of range";
    if (!request_ok(stmt, R_CPU))
        return "resource request out of range";
    if (!time_ok(stmt, R_SUBMITTED) || !time_ok(stmt, R_DEPLOYED))
        return "times out of range";
    if ((uint64_t)sqlite3_column_int64(stmt, R_RETRIES) > UINT16_MAX ||
        (uint64_t)sqlite3_column_int64(stmt, R_ATTEMPTS) > UINT16_MAX)
        return "retry counts out of range";
    if (jq_idmap_get(&c->runs, (jobq_run_id)id))
        return "duplicate run id";
    return NULL;
}

static jq_run *run_from_row(jq_core *c, sqlite3_stmt *stmt,
                            const job_by_row *jobs, size_t job_count)
{
    jq_run *run =
        jq_run_alloc((const char *)sqlite3_column_text(stmt, R_NAME));
    if (!run)
        return NULL;
    run->id = (jobq_run_id)sqlite3_column_int64(stmt, R_ID);
    run->job = job_by_id(jobs, job_count, sqlite3_column_int64(stmt, R_JOB));
    run->ns = namespace_by_row(c, sqlite3_column_int64(stmt, R_NS));
    run->priority = (uint8_t)sqlite3_column_int(stmt, R_PRIORITY);
    run->flow = (uint8_t)sqlite3_column_int(stmt, R_FLOW);
    run->state = (uint8_t)sqlite3_column_int(stmt, R_STATE);
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        run->request.amount[d] = sqlite3_column_int64(stmt, R_CPU + d);
    run->submitted_at = sqlite3_column_int64(stmt, R_SUBMITTED);
    run->deployed_at = sqlite3_column_int64(stmt, R_DEPLOYED);
    run->ended_at = -1;
    run->retries_used = (uint16_t)sqlite3_column_int(stmt, R_RETRIES);
    run->deploy_attempts = (uint16_t)sqlite3_column_int(stmt, R_ATTEMPTS);
    return run;
}

static int64_t query_int(jq_store *st, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int64_t value = 0;
    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

static int load_runs(jq_store *st, jq_core *c, const job_by_row *jobs,
                     size_t job_count)
{
    sqlite3_stmt *stmt = NULL;
    int64_t live = query_int(st, "SELECT count(*) FROM runs "
                                  "WHERE ended_at < 0 AND state < 3");
    if (live > 0 && jq_idmap_reserve(&c->runs, (size_t)live) != 0)
        return JOBQ_ENOMEM;
    /* Without the runs_live index (a damaged schema) a full scan does. */
    static const char *const scans[] = {"INDEXED BY runs_live", ""};
    for (int i = 0; i < 2 && !stmt; i++) {
        char sql[320];
        snprintf(sql, sizeof sql, "SELECT id, job_id, ns_id, name, "
                 "priority, flow, state, cpu, memory, pods, storage, "
                 "submitted_at, deployed_at, retries_used, deploy_attempts "
                 "FROM runs %s WHERE ended_at < 0 AND state < 3 "
                 "ORDER BY id", scans[i]);
        if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK &&
            i == 1)
            return jq_store_sql_error(st, "loading runs");
    }
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *problem = run_problem(c, stmt, jobs, job_count);
        if (problem) {
            rc = jq_store_quarantine(st, "runs", sqlite3_column_int64(stmt, 0),
                                     "%s", problem);
            continue;
        }
        jq_run *run = run_from_row(c, stmt, jobs, job_count);
        if (!run)
            rc = JOBQ_ENOMEM;
        else if ((rc = jq_core_restore_run(c, run)) != 0)
            free(run);
    }
    if (rc == JOBQ_ENOMEM)
        snprintf(st->errmsg, sizeof st->errmsg, "%s: out of memory loading "
                 "runs", jq_store_path(st));
    else if (rc == 0 && step != SQLITE_DONE)
        rc = jq_store_sql_error(st, "loading runs");
    sqlite3_finalize(stmt);
    return rc;
}

/* Ids are never reused: the next id is past every id ever inserted
 * (run_id_floor keeps the largest when runs are deleted, journal.c). */
static void restore_counters(jq_store *st, jq_core *c)
{
    int64_t max_id = query_int(st, "SELECT max(coalesce((SELECT run_id_floor"
                                   " FROM scheduler WHERE id = 1), 0),"
                                   " coalesce((SELECT max(id) FROM runs), 0))");
    if ((uint64_t)max_id >= c->next_id)
        c->next_id = (uint64_t)max_id + 1;
    st->max_saved_id = (jobq_run_id)max_id;
    st->ended_floor = INT64_MIN; /* the first cleanup finds out */
}

int jq_store_snapshot_begin(jq_store *st)
{
    if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return jq_store_sql_error(st, "reading a snapshot");
    return 0;
}

void jq_store_snapshot_end(jq_store *st)
{
    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
}

/* The stored configuration. One that does not parse (damaged, or written
 * by hand) is quarantined: the defaults apply, and the text stays in the
 * file unless the host configures the scheduler again. A missing scheduler
 * row is put back (read-write) so that later updates have a row to hit. */
int jq_store_load_config(jq_store *st, char **config_json)
{
    *config_json = NULL;
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_CONFIG_SELECT);
    if (!stmt)
        return JOBQ_EIO;
    int rc = 0, step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        const char *json = (const char *)sqlite3_column_text(stmt, 0);
        int64_t turn = sqlite3_column_int64(stmt, 1);
        st->saved_turn = turn >= 0 ? (uint64_t)turn : 0;
        st->turn_known = true;
        char why[256] = "";
        jq_config parsed, defaults;
        jq_config_defaults(&defaults);
        if (json && jq_config_parse(&parsed, &defaults, json, strlen(json),
                                    why, sizeof why) != 0) {
            rc = jq_store_quarantine(st, "scheduler", 1, "configuration: %s",
                                     why);
            json = "{}";
        }
        if (rc == 0 && json && !(*config_json = strdup(json)))
            rc = JOBQ_ENOMEM;
    } else if (step == SQLITE_DONE) {
        rc = jq_store_quarantine(st, "scheduler", 1, "the scheduler row is "
                                 "missing: defaults apply");
        if (rc == 0 && !st->read_only &&
            sqlite3_exec(st->db, "INSERT OR IGNORE INTO scheduler (id) "
                         "VALUES (1)", NULL, NULL, NULL) != SQLITE_OK)
            rc = jq_store_sql_error(st, "restoring the scheduler row");
    } else
        rc = jq_store_sql_error(st, "loading the configuration");
    sqlite3_reset(stmt);
    return rc;
}

int jq_store_load(jq_store *st, jq_core *c)
{
    job_by_row *jobs = NULL;
    size_t job_count = 0;
    int rc = load_namespaces(st, c);
    if (rc == 0)
        rc = load_jobs(st, c, &jobs, &job_count);
    if (rc == 0)
        rc = load_runs(st, c, jobs, job_count);
    free(jobs);
    if (rc == 0)
        rc = load_queues(st, c);
    if (rc != 0)
        return rc;
    restore_counters(st, c);
    c->ns_turn = c->ns_count ? st->saved_turn % c->ns_count : 0;
    /* What is in memory now is what is on disk. */
    st->core = c;
    return jq_store_mark_saved(st);
}
