/*
 * The store's side of the core's jq_journal: every durable change the core
 * announces becomes a row written in the open transaction (begun lazily by
 * the first change of a public call). Queue-head and WRR state is not
 * announced change by change; it is compared with what was last written
 * and written when it differs, just before each commit
 * (jq_store_flush_state), so a commit always carries a consistent picture.
 */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- job rows */

int64_t jq_store_job_row(const jq_store *st, const char *name)
{
    const jq_job_row *row = jq_strmap_get(&st->job_rows, name);
    return row ? row->id : 0;
}

int jq_store_remember_job(jq_store *st, const char *name, int64_t id)
{
    jq_job_row *row = calloc(1, sizeof *row);
    if (!row || !(row->name = strdup(name)) ||
        jq_strmap_put(&st->job_rows, row) != 0) {
        if (row)
            free(row->name);
        free(row);
        return JOBQ_ENOMEM;
    }
    row->id = id;
    return 0;
}

static void bind_resources(sqlite3_stmt *stmt, int first,
                           const jobq_resources *r)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        sqlite3_bind_int64(stmt, first + d, r->amount[d]);
}

static int job_saved(void *ctx, const jq_job *job)
{
    jq_store *st = ctx;
    int rc = jq_store_begin(st);
    if (rc)
        return rc;
    int64_t id = jq_store_job_row(st, job->name);
    sqlite3_stmt *stmt = jq_store_stmt(st, id ? STMT_JOB_UPDATE
                                              : STMT_JOB_INSERT);
    if (!stmt)
        return JOBQ_EIO;
    if (id)
        sqlite3_bind_int64(stmt, 1, id);
    else
        sqlite3_bind_text(stmt, 1, job->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, job->domain, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, (int64_t)job->ns->index + 1);
    sqlite3_bind_int(stmt, 4, job->priority);
    sqlite3_bind_int(stmt, 5, job->flow);
    bind_resources(stmt, 6, &job->request);
    /* A NULL payload with a length is "on disk already, unchanged". */
    bool payload_known = job->payload || job->payload_len == 0;
    if (job->payload)
        sqlite3_bind_blob(stmt, 10, job->payload, (int)job->payload_len,
                          SQLITE_STATIC);
    if (id)
        sqlite3_bind_int(stmt, 11, payload_known);
    rc = id ? jq_store_exec_one(st, stmt, "saving a job")
            : jq_store_exec(st, stmt, "saving a job");
    if (rc == 0 && !id)
        rc = jq_store_remember_job(st, job->name,
                                   sqlite3_last_insert_rowid(st->db));
    return rc;
}

/* A run written ended: no run in the file ended before the earlier of
 * its end and the known floor (retention, jq_store_cleanup). */
static void note_ended(jq_store *st, const jq_run *run)
{
    if (run->ended_at >= 0 && run->ended_at < st->ended_floor)
        st->ended_floor = run->ended_at;
}

static int insert_run(jq_store *st, const jq_run *run)
{
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_RUN_INSERT);
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, (int64_t)run->id);
    sqlite3_bind_int64(stmt, 2, jq_store_job_row(st, run->job->name));
    sqlite3_bind_int64(stmt, 3, (int64_t)run->ns->index + 1);
    jq_store_bind_text(stmt, 4, run->name, true);
    jq_store_bind_text(stmt, 5, st->submit_key, true);
    sqlite3_bind_int(stmt, 6, run->priority);
    sqlite3_bind_int(stmt, 7, run->flow);
    sqlite3_bind_int(stmt, 8, run->state);
    bind_resources(stmt, 9, &run->request);
    sqlite3_bind_int64(stmt, 13, run->submitted_at);
    sqlite3_bind_int64(stmt, 14, run->deployed_at);
    sqlite3_bind_int64(stmt, 15, run->ended_at);
    sqlite3_bind_int(stmt, 16, run->retries_used);
    sqlite3_bind_int(stmt, 17, run->deploy_attempts);
    sqlite3_bind_text(stmt, 18, jq_reason_name((jq_reason)run->reason), -1,
                      SQLITE_STATIC);
    jq_store_bind_text(stmt, 19, run->detail, true);
    note_ended(st, run);
    int rc = jq_store_exec(st, stmt, "saving a run");
    free(st->submit_key);
    st->submit_key = NULL;
    if (rc == 0)
        st->max_saved_id = run->id;
    return rc;
}

/* A run going back to its queue may be leaving a deployment (the cluster
 * refused it after all): the deployment's event, which the run row said
 * until now, becomes a row before deployed_at is cleared. */
static int keep_deployed_event(jq_store *st, const jq_run *run)
{
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_DEPLOYED_KEEP);
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, (int64_t)run->id);
    sqlite3_bind_int64(stmt, 2, run->deployed_at);
    return jq_store_exec(st, stmt, "logging an event");
}

static int update_run(jq_store *st, const jq_run *run)
{
    bool ended = run->state >= JOBQ_RUN_FINISHED;
    if (run->state == JOBQ_RUN_QUEUED) {
        int rc = keep_deployed_event(st, run);
        if (rc)
            return rc;
    }
    sqlite3_stmt *stmt = jq_store_stmt(st, ended ? STMT_RUN_END
                                                 : STMT_RUN_UPDATE);
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, (int64_t)run->id);
    sqlite3_bind_int(stmt, 2, run->flow);
    sqlite3_bind_int(stmt, 3, run->state);
    sqlite3_bind_int64(stmt, 4, run->deployed_at);
    if (ended) {
        sqlite3_bind_int64(stmt, 5, run->ended_at);
        note_ended(st, run);
    }
    sqlite3_bind_int(stmt, 6, run->retries_used);
    sqlite3_bind_int(stmt, 7, run->deploy_attempts);
    sqlite3_bind_text(stmt, 8, jq_reason_name((jq_reason)run->reason), -1,
                      SQLITE_STATIC);
    jq_store_bind_text(stmt, 9, run->detail, true);
    return jq_store_exec_one(st, stmt, "saving a run");
}

static int run_saved(void *ctx, const jq_run *run)
{
    jq_store *st = ctx;
    int rc = jq_store_begin(st);
    if (rc)
        return rc;
    /* Ids only grow: a run above the largest saved id is new. */
    return run->id > st->max_saved_id ? insert_run(st, run)
                                      : update_run(st, run);
}

static int delete_by_run(jq_store *st, jq_stmt_id id, jobq_run_id run)
{
    sqlite3_stmt *stmt = jq_store_stmt(st, id);
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, (int64_t)run);
    return jq_store_exec(st, stmt, "deleting a run");
}

/* Ids are never reused (load.c): before runs are deleted, the largest
 * id is kept where deleting it cannot lose it. */
static int keep_id_floor(jq_store *st)
{
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_ID_FLOOR);
    return stmt ? jq_store_exec(st, stmt, "deleting a run") : JOBQ_EIO;
}

static int run_deleted(void *ctx, const jq_run *run)
{
    jq_store *st = ctx;
    int rc = jq_store_begin(st);
    if (rc == 0)
        rc = keep_id_floor(st);
    if (rc == 0)
        rc = delete_by_run(st, STMT_EVENTS_DELETE, run->id);
    if (rc == 0)
        rc = delete_by_run(st, STMT_RUN_DELETE, run->id);
    return rc;
}

int jq_store_cleanup(jq_store *st, jobq_time_ms cutoff, uint64_t max_runs,
                     uint64_t *deleted)
{
    *deleted = 0;
    if (cutoff <= st->ended_floor)
        return 0; /* nothing ended before the cutoff */
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_CLEANUP_SELECT);
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, cutoff);
    sqlite3_bind_int64(stmt, 2, (int64_t)max_runs);
    jobq_run_id *ids = malloc(max_runs * sizeof *ids);
    if (!ids)
        return JOBQ_ENOMEM;
    size_t count = 0;
    int step = SQLITE_ROW;
    while (count < max_runs && (step = sqlite3_step(stmt)) == SQLITE_ROW)
        ids[count++] = (jobq_run_id)sqlite3_column_int64(stmt, 0);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        /* Not "none due": a caller of jobq_cleanup() would take the
         * count for the truth, and a cycle would never say why old runs
         * stay. */
        int rc = jq_store_sql_error(st, "reading the runs due for "
                                        "retention");
        sqlite3_reset(stmt);
        free(ids);
        return rc;
    }
    sqlite3_reset(stmt);
    /* Every run due is in ids: the next is due when the cutoff passes the
     * earliest end left (a rollback of the deletions forgets this). */
    if (count < max_runs && step == SQLITE_DONE &&
        (stmt = jq_store_stmt(st, STMT_ENDED_FLOOR)) != NULL) {
        sqlite3_bind_int64(stmt, 1, cutoff);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            st->ended_floor = sqlite3_column_int64(stmt, 0);
        sqlite3_reset(stmt);
    }
    int rc = 0;
    if (count > 0)
        rc = jq_store_begin(st);
    if (count > 0 && rc == 0)
        rc = keep_id_floor(st);
    for (size_t i = 0; i < count && rc == 0; i++) {
        rc = delete_by_run(st, STMT_EVENTS_DELETE, ids[i]);
        if (rc == 0)
            rc = delete_by_run(st, STMT_RUN_DELETE, ids[i]);
    }
    free(ids);
    if (rc == 0)
        *deleted = count;
    return rc;
}

/* Whether an event is a row of its own: the run row says when a run was
 * submitted and how it ended (the event_log view reads them from there,
 * store.c, migration 4 -> 5). */
static bool event_needs_row(jobq_event_type type)
{
    return type != JOBQ_EVENT_SUBMITTED && type != JOBQ_EVENT_DEPLOYED &&
           type != JOBQ_EVENT_FINISHED && type != JOBQ_EVENT_FAILED &&
           type != JOBQ_EVENT_CANCELLED;
}

static int event_logged(void *ctx, const jobq_event *ev)
{
    jq_store *st = ctx;
    if (!event_needs_row(ev->type))
        return 0;
    int rc = jq_store_begin(st);
    if (rc)
        return rc;
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_EVENT_INSERT);
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, (int64_t)ev->run);
    sqlite3_bind_int(stmt, 2, ev->type);
    sqlite3_bind_int64(stmt, 3, ev->time);
    if (ev->type == JOBQ_EVENT_BLOCKED ||
        ev->type == JOBQ_EVENT_HEAD_TIMEOUT_RETRY) {
        sqlite3_bind_int(stmt, 4, ev->resource);
        sqlite3_bind_int64(stmt, 5, ev->requested);
        sqlite3_bind_int64(stmt, 6, ev->available);
    }
    if (ev->type == JOBQ_EVENT_DEPLOYED)
        sqlite3_bind_int64(stmt, 7, ev->wait_ms);
    if (ev->retry)
        sqlite3_bind_int(stmt, 8, (int)ev->retry);
    jq_store_bind_text(stmt, 9, ev->reason, true);
    jq_store_bind_text(stmt, 10, ev->detail, true);
    return jq_store_exec(st, stmt, "logging an event");
}

static int turn_saved(void *ctx, uint64_t turn)
{
    jq_store *st = ctx;
    if (st->turn_known && st->saved_turn == turn)
        return 0;
    int rc = jq_store_begin(st);
    sqlite3_stmt *stmt = rc ? NULL : jq_store_stmt(st, STMT_TURN_UPDATE);
    if (!stmt)
        return rc ? rc : JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, (int64_t)turn);
    rc = jq_store_exec_one(st, stmt, "saving the namespace turn");
    if (rc == 0) {
        st->saved_turn = turn;
        st->turn_known = true;
    }
    return rc;
}

/* Write-ahead: commit now, so that a DEPLOYING record is durable before
 * the deployer is called; later changes go into a new transaction. */
static int barrier(void *ctx)
{
    return jq_store_commit(ctx);
}

static int load_payload(void *ctx, const jq_job *job, void **out,
                        size_t *out_len)
{
    jq_store *st = ctx;
    *out = NULL;
    *out_len = 0;
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_JOB_PAYLOAD);
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, jq_store_job_row(st, job->name));
    int rc = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        int n = sqlite3_column_bytes(stmt, 0);
        const void *blob = sqlite3_column_blob(stmt, 0);
        if (n > 0 && blob) {
            if ((*out = malloc((size_t)n)))
                memcpy(*out, blob, (size_t)n), *out_len = (size_t)n;
            else
                rc = JOBQ_ENOMEM;
        }
    } else
        rc = jq_store_sql_error(st, "reading a payload");
    sqlite3_reset(stmt);
    return rc;
}

/* --------------------------------------------------- namespace snapshots */

static void snapshot_of(const jq_namespace *ns, jq_ns_snapshot *snap)
{
    memset(snap, 0, sizeof *snap);
    for (int p = 0; p < JQ_PRIORITIES; p++) {
        const jq_queue *q = &ns->queue[p];
        snap->wrr[p] = ns->wrr.current[p];
        snap->blocked[p] = q->head_blocked;
        /* A backoff (deploy error, refusal) and a refusal streak outlive
         * a block, and a streak outlives its run's time at the head (it
         * may come back refused, see jq_queue). */
        snap->retry_at[p] = q->runs.first ? q->head_retry_at : 0;
        if (q->head_refusals > 0) {
            snap->refusals[p] = q->head_refusals;
            snap->refused_run[p] = q->head_refused_run;
            snap->refused_since[p] = q->head_refused_since;
            /* Only up to its end: bytes past it would defeat memcmp. */
            snprintf(snap->refusal[p], sizeof snap->refusal[p], "%s",
                     q->head_refusal);
        }
        if (!q->head_blocked)
            continue;
        snap->resource[p] = q->head_resource;
        snap->requested[p] = q->head_requested;
        snap->available[p] = q->head_available;
        snap->since[p] = q->head_blocked_since;
    }
}

static int save_namespace(jq_store *st, const jq_namespace *ns,
                          const jq_ns_snapshot *snap)
{
    int rc = jq_store_begin(st);
    sqlite3_stmt *stmt = rc ? NULL : jq_store_stmt(st, STMT_NS_UPSERT);
    if (!stmt)
        return rc ? rc : JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, (int64_t)ns->index + 1);
    sqlite3_bind_text(stmt, 2, ns->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, snap->wrr[JOBQ_PRIORITY_HIGH]);
    sqlite3_bind_int64(stmt, 4, snap->wrr[JOBQ_PRIORITY_NORMAL]);
    rc = jq_store_exec(st, stmt, "saving a namespace");
    for (int p = 0; p < JQ_PRIORITIES && rc == 0; p++) {
        if (!(stmt = jq_store_stmt(st, STMT_QUEUE_UPSERT)))
            return JOBQ_EIO;
        sqlite3_bind_int64(stmt, 1, (int64_t)ns->index + 1);
        sqlite3_bind_int(stmt, 2, p);
        sqlite3_bind_int(stmt, 3, snap->blocked[p]);
        sqlite3_bind_int(stmt, 4, snap->resource[p]);
        sqlite3_bind_int64(stmt, 5, snap->requested[p]);
        sqlite3_bind_int64(stmt, 6, snap->available[p]);
        sqlite3_bind_int64(stmt, 7, snap->since[p]);
        sqlite3_bind_int64(stmt, 8, snap->retry_at[p]);
        sqlite3_bind_int64(stmt, 9, snap->refusals[p]);
        sqlite3_bind_int64(stmt, 10, (int64_t)snap->refused_run[p]);
        sqlite3_bind_int64(stmt, 11, snap->refused_since[p]);
        sqlite3_bind_text(stmt, 12, snap->refusal[p], -1, SQLITE_STATIC);
        rc = jq_store_exec(st, stmt, "saving a queue");
    }
    return rc;
}

int jq_store_flush_state(jq_store *st)
{
    jq_core *c = st->core;
    if (!c || st->read_only)
        return 0;
    if (c->ns_count > st->saved_ns_count) {
        jq_ns_snapshot *grown =
            realloc(st->saved_ns, c->ns_count * sizeof *grown);
        if (!grown)
            return JOBQ_ENOMEM;
        st->saved_ns = grown;
    }
    for (size_t i = 0; i < c->ns_count; i++) {
        jq_ns_snapshot now;
        snapshot_of(c->ns_order[i], &now);
        if (i < st->saved_ns_count &&
            memcmp(&now, &st->saved_ns[i], sizeof now) == 0)
            continue;
        int rc = save_namespace(st, c->ns_order[i], &now);
        if (rc)
            return rc;
        st->saved_ns[i] = now;
    }
    if (c->ns_count > st->saved_ns_count)
        st->saved_ns_count = c->ns_count;
    return 0;
}

int jq_store_mark_saved(jq_store *st)
{
    jq_core *c = st->core;
    free(st->saved_ns);
    st->saved_ns = NULL;
    st->saved_ns_count = 0;
    if (c->ns_count == 0)
        return 0;
    if (!(st->saved_ns = calloc(c->ns_count, sizeof *st->saved_ns)))
        return JOBQ_ENOMEM;
    for (size_t i = 0; i < c->ns_count; i++)
        snapshot_of(c->ns_order[i], &st->saved_ns[i]);
    st->saved_ns_count = c->ns_count;
    return 0;
}

/* ------------------------------------------------------------ binding */

void jq_store_bind(jq_store *st, jq_core *c)
{
    st->core = c;
    if (st->read_only)
        return;
    jq_journal j = {
        .ctx = st,
        .job_saved = job_saved,
        .run_saved = run_saved,
        .run_deleted = run_deleted,
        .turn_saved = turn_saved,
        .event = event_logged,
        .barrier = barrier,
        .load_payload = load_payload,
    };
    c->journal = j;
}

void jq_store_set_submit_key(jq_store *st, const char *key)
{
    free(st->submit_key);
    st->submit_key = key && *key ? strdup(key) : NULL;
}

int jq_store_save_config(jq_store *st, const char *json)
{
    int rc = jq_store_begin(st);
    sqlite3_stmt *stmt = rc ? NULL : jq_store_stmt(st, STMT_CONFIG_UPDATE);
    if (!stmt)
        return rc ? rc : JOBQ_EIO;
    sqlite3_bind_text(stmt, 1, json, -1, SQLITE_STATIC);
    return jq_store_exec_one(st, stmt, "saving the configuration");
}
