/*
 * Private to lib/store/: the store handle, its cached prepared statements
 * and the helpers its files share (store.c opens and migrates, journal.c
 * writes the core's changes, load.c rebuilds memory, query.c answers).
 */
#ifndef JQ_STORE_INTERNAL_H
#define JQ_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "store.h"

/* Every statement the store runs, prepared on first use and cached. */
typedef enum jq_stmt_id {
    STMT_BEGIN,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_JOB_INSERT,
    STMT_JOB_UPDATE,
    STMT_JOB_PAYLOAD,
    STMT_RUN_INSERT,
    STMT_RUN_UPDATE,
    STMT_RUN_END,
    STMT_DEPLOYED_KEEP,
    STMT_RUN_DELETE,
    STMT_ID_FLOOR,
    STMT_EVENT_INSERT,
    STMT_EVENTS_DELETE,
    STMT_NS_UPSERT,
    STMT_QUEUE_UPSERT,
    STMT_TURN_UPDATE,
    STMT_CONFIG_UPDATE,
    STMT_CONFIG_SELECT,
    STMT_KEY_SELECT,
    STMT_RUN_SELECT,
    STMT_EVENTS_SELECT,
    STMT_DEPLOY_RATE,
    STMT_CLEANUP_SELECT,
    STMT_ENDED_FLOOR,
    STMT_LIST,
    STMT_SEARCH_FTS,
    STMT_SEARCH_LIKE,
    STMT_NAMES_INDEXED,
    STMT_NAMES_INDEX,
    STMT_NAMES_MARK,
    STMT_COUNT
} jq_stmt_id;

/* What was last written for one namespace, to write only what changed. */
typedef struct jq_ns_snapshot {
    int64_t wrr[JQ_PRIORITIES];
    bool blocked[JQ_PRIORITIES];
    uint8_t resource[JQ_PRIORITIES];
    int64_t requested[JQ_PRIORITIES];
    int64_t available[JQ_PRIORITIES];
    jobq_time_ms since[JQ_PRIORITIES];
    jobq_time_ms retry_at[JQ_PRIORITIES];
    /* The refusal streak (SPEC 2.5), see jq_queue. */
    uint32_t refusals[JQ_PRIORITIES];
    jobq_run_id refused_run[JQ_PRIORITIES];
    jobq_time_ms refused_since[JQ_PRIORITIES];
    char refusal[JQ_PRIORITIES][sizeof ((jq_queue *)0)->head_refusal];
} jq_ns_snapshot;

/* A submitter waiting for someone else's commit to include its run. */
typedef struct jq_commit_waiter {
    struct jq_commit_waiter *next;
    bool done;
    int result; /* of the commit that ended its transaction */
} jq_commit_waiter;

/* Job row ids by job name. */
typedef struct jq_job_row {
    char *name;
    int64_t id;
} jq_job_row;

struct jq_store {
    sqlite3 *db;
    char *path;   /* as given to jq_store_open; every message names it */
    int lock_fd; /* holds the writer lock; -1 for read-only or :memory: */
    bool read_only;
    bool in_transaction;
    bool repair_version; /* the header's schema version was damaged */
    sqlite3_stmt *stmt[STMT_COUNT];
    jq_core *core;
    jq_strmap job_rows; /* jq_job_row by name */
    jq_ns_snapshot *saved_ns;
    size_t saved_ns_count;
    uint64_t saved_turn;
    bool turn_known;
    jobq_run_id max_saved_id; /* runs above it are not in the table yet */
    /* No run in the file ended before it (INT64_MIN: not known), so a
     * retention cleanup with a cutoff up to it need not ask the file:
     * each cycle asked, for 3% of a durable replay. Set by a cleanup to
     * the earliest end left, lowered by each run written ended, forgotten
     * by a rollback. */
    jobq_time_ms ended_floor;
    jobq_run_id names_indexed; /* runs up to it are in run_text */
    bool names_known;          /* names_indexed was read since the last
                                  rollback */
    char *submit_key;         /* idempotency key of the next insert */
    jq_commit_waiter *waiters; /* in the open transaction */
    /* The current call holds the SQL savepoint "jq_call": it writes into a
     * transaction that also holds group-commit waiters' runs, so that its
     * failure undoes only its own rows. */
    bool call_savepoint;
    pthread_cond_t committed;  /* broadcast when a transaction ends */
    uint64_t commits;          /* transactions committed (for tests) */
    /* Rows the last load could not take (quarantine.c). */
    jq_quarantine_row *quarantine;
    size_t quarantine_count; /* all of them */
    size_t quarantine_kept;  /* the first JQ_QUARANTINE_KEPT, with reasons */
    struct {
        char table[16];
        size_t count;
    } quarantine_tables[8]; /* count per table */
    int64_t *quarantined_runs; /* every quarantined run id, ascending */
    size_t quarantined_run_count, quarantined_run_cap;
    char errmsg[512];
};

/* A cached statement, reset and with bindings cleared; NULL on error (the
 * message is in st->errmsg). */
sqlite3_stmt *jq_store_stmt(jq_store *st, jq_stmt_id id);
/* Record the connection's last error as the store's message and return
 * JOBQ_EIO (or JOBQ_EBUSY when the database is locked). */
int jq_store_sql_error(jq_store *st, const char *what);
/* Step a statement that returns no rows; 0 or an error code. */
int jq_store_exec(jq_store *st, sqlite3_stmt *stmt, const char *what);
/* The same for an UPDATE of a row that must exist: JOBQ_EIO unless it
 * changed exactly one row (memory and file would disagree otherwise). */
int jq_store_exec_one(jq_store *st, sqlite3_stmt *stmt, const char *what);
/* Open a transaction if none is open. */
int jq_store_begin(jq_store *st);
/* Bind text, NULL for NULL or "" when empty_is_null. */
int jq_store_bind_text(sqlite3_stmt *stmt, int index, const char *text,
                       bool empty_is_null);

/* quarantine.c: record a row the load could not take (kept in the file,
 * skipped in memory). Returns 0 or JOBQ_ENOMEM. */
int jq_store_quarantine(jq_store *st, const char *table, int64_t row,
                        const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void jq_store_quarantine_clear(jq_store *st);
/* Whether run `id` was quarantined; its reason (or "") in *reason. */
bool jq_store_run_quarantined(const jq_store *st, int64_t id,
                              const char **reason);

/* journal.c: the row id of a job (inserting nothing); 0 if unknown. */
int64_t jq_store_job_row(const jq_store *st, const char *name);
int jq_store_remember_job(jq_store *st, const char *name, int64_t id);
/* Write the namespace, queue-head and turn state that changed. */
int jq_store_flush_state(jq_store *st);
/* Take the core's current state as already written (after loading). */
int jq_store_mark_saved(jq_store *st);

#endif
