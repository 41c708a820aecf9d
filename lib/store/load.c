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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int load_namespaces(jq_store *st, jq_core *c)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(st->db, "SELECT id, name, wrr_high, "
                                "wrr_normal FROM namespaces ORDER BY id",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return jq_store_sql_error(st, "loading namespaces");
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(stmt, 0);
        const char *name = (const char *)sqlite3_column_text(stmt, 1);
        jq_namespace *ns = name ? jq_core_namespace(c, name, true) : NULL;
        if (!ns || (int64_t)ns->index + 1 != id) {
            sqlite3_finalize(stmt);
            snprintf(st->errmsg, sizeof st->errmsg, "database: namespace "
                     "row %lld is out of order", (long long)id);
            return JOBQ_EIO;
        }
        ns->wrr.current[JOBQ_PRIORITY_HIGH] = sqlite3_column_int64(stmt, 2);
        ns->wrr.current[JOBQ_PRIORITY_NORMAL] = sqlite3_column_int64(stmt, 3);
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : jq_store_sql_error(st, "loading namespaces");
}

static jq_namespace *namespace_by_row(jq_core *c, int64_t id)
{
    return id >= 1 && (uint64_t)id <= c->ns_count ? c->ns_order[id - 1] : NULL;
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
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        jq_namespace *ns = namespace_by_row(c, sqlite3_column_int64(stmt, 0));
        int p = sqlite3_column_int(stmt, 1);
        if (!ns || p < 0 || p >= JQ_PRIORITIES)
            continue;
        jq_queue *q = &ns->queue[p];
        /* The blocked state belongs to the head it was recorded for; the
         * head after reopen is the same run (nothing moves while closed). */
        q->head_blocked = sqlite3_column_int(stmt, 2) && q->runs.first;
        q->head_resource = (uint8_t)sqlite3_column_int(stmt, 3);
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
    return rc == SQLITE_DONE ? 0 : jq_store_sql_error(st, "loading queues");
}

static int load_one_job(jq_store *st, jq_core *c, sqlite3_stmt *stmt)
{
    int64_t id = sqlite3_column_int64(stmt, 0);
    const char *name = (const char *)sqlite3_column_text(stmt, 1);
    const char *domain = (const char *)sqlite3_column_text(stmt, 2);
    jq_namespace *ns = namespace_by_row(c, sqlite3_column_int64(stmt, 3));
    if (!name || !ns)
        return JOBQ_EIO;
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
    job->priority = (uint8_t)sqlite3_column_int(stmt, 4);
    job->flow = (uint8_t)sqlite3_column_int(stmt, 5);
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        job->request.amount[d] = sqlite3_column_int64(stmt, 6 + d);
    job->payload_len = (size_t)sqlite3_column_int64(stmt, 10);
    return jq_store_remember_job(st, name, id);
}

/* Jobs by row id, for the run scan. *out[i] is the job of row i. */
static int load_jobs(jq_store *st, jq_core *c, jq_job ***out, int64_t *count)
{
    sqlite3_stmt *stmt = NULL;
    *out = NULL;
    *count = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT id, name, domain, ns_id, "
                           "priority, flow, cpu, memory, pods, storage, "
                           "length(payload) FROM jobs ORDER BY id", -1,
                           &stmt, NULL) != SQLITE_OK)
        return jq_store_sql_error(st, "loading jobs");
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(stmt, 0);
        if (id >= *count) {
            int64_t capacity = id * 2 + 16;
            jq_job **grown = realloc(*out, (size_t)capacity * sizeof *grown);
            if (!grown) {
                rc = JOBQ_ENOMEM;
                break;
            }
            memset(grown + *count, 0,
                   (size_t)(capacity - *count) * sizeof *grown);
            *out = grown;
            *count = capacity;
        }
        rc = load_one_job(st, c, stmt);
        if (rc == 0)
            (*out)[id] = jq_core_job(c, (const char *)
                                     sqlite3_column_text(stmt, 1));
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = jq_store_sql_error(st, "loading jobs");
    sqlite3_finalize(stmt);
    return rc;
}

/* Columns of the live-run scan. */
enum { R_ID, R_JOB, R_NS, R_NAME, R_PRIORITY, R_FLOW, R_STATE, R_CPU,
       R_SUBMITTED = R_CPU + JOBQ_RESOURCE_COUNT, R_DEPLOYED, R_RETRIES,
       R_ATTEMPTS };

static jq_run *run_from_row(jq_core *c, sqlite3_stmt *stmt, jq_job **jobs,
                            int64_t job_count)
{
    int64_t job_id = sqlite3_column_int64(stmt, R_JOB);
    jq_namespace *ns = namespace_by_row(c, sqlite3_column_int64(stmt, R_NS));
    jq_job *job = job_id >= 0 && job_id < job_count ? jobs[job_id] : NULL;
    if (!job || !ns)
        return NULL;
    jq_run *run =
        jq_run_alloc((const char *)sqlite3_column_text(stmt, R_NAME));
    if (!run)
        return NULL;
    run->id = (jobq_run_id)sqlite3_column_int64(stmt, R_ID);
    run->job = job;
    run->ns = ns;
    run->priority = (uint8_t)(sqlite3_column_int(stmt, R_PRIORITY) & 1);
    run->flow = (uint8_t)(sqlite3_column_int(stmt, R_FLOW) & 1);
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

static int load_runs(jq_store *st, jq_core *c, jq_job **jobs,
                     int64_t job_count)
{
    sqlite3_stmt *stmt = NULL;
    int64_t live = query_int(st, "SELECT count(*) FROM runs INDEXED BY "
                                 "runs_live WHERE state < 3");
    if (jq_idmap_reserve(&c->runs, (size_t)live) != 0)
        return JOBQ_ENOMEM;
    if (sqlite3_prepare_v2(st->db, "SELECT id, job_id, ns_id, name, "
                           "priority, flow, state, cpu, memory, pods, "
                           "storage, submitted_at, deployed_at, "
                           "retries_used, deploy_attempts FROM runs "
                           "INDEXED BY runs_live WHERE state < 3 "
                           "ORDER BY id", -1, &stmt, NULL) != SQLITE_OK)
        return jq_store_sql_error(st, "loading runs");
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        jq_run *run = run_from_row(c, stmt, jobs, job_count);
        if (!run) {
            snprintf(st->errmsg, sizeof st->errmsg, "database: run %lld "
                     "could not be loaded (unknown job or namespace, or out "
                     "of memory)", (long long)sqlite3_column_int64(stmt, 0));
            rc = JOBQ_EIO;
        } else if ((rc = jq_core_restore_run(c, run)) != 0) {
            free(run);
        }
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = jq_store_sql_error(st, "loading runs");
    sqlite3_finalize(stmt);
    return rc;
}

/* Ids are never reused: the next id is past every id ever inserted
 * (sqlite_sequence survives deletions). */
static void restore_counters(jq_store *st, jq_core *c)
{
    int64_t max_id = query_int(st, "SELECT max(coalesce((SELECT seq FROM "
                                   "sqlite_sequence WHERE name = 'runs'), 0),"
                                   " coalesce((SELECT max(id) FROM runs), 0))");
    if ((uint64_t)max_id >= c->next_id)
        c->next_id = (uint64_t)max_id + 1;
    st->max_saved_id = (jobq_run_id)max_id;
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

int jq_store_load_config(jq_store *st, char **config_json)
{
    *config_json = NULL;
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_CONFIG_SELECT);
    if (!stmt)
        return JOBQ_EIO;
    int rc = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *json = (const char *)sqlite3_column_text(stmt, 0);
        st->saved_turn = (uint64_t)sqlite3_column_int64(stmt, 1);
        st->turn_known = true;
        if (json && !(*config_json = strdup(json)))
            rc = JOBQ_ENOMEM;
    } else
        rc = jq_store_sql_error(st, "loading the configuration");
    sqlite3_reset(stmt);
    return rc;
}

int jq_store_load(jq_store *st, jq_core *c)
{
    jq_job **jobs = NULL;
    int64_t job_count = 0;
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
