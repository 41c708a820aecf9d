/*
 * The requests table: see requests.h. Statements are prepared per use:
 * they run only when a request is written, applied or looked up, never in
 * an idle cycle (which costs one PRAGMA data_version).
 *
 * Taking turns. SQLite has one write lock and no queue: a waiter polls,
 * and clients writing back to back (each holding the lock through its
 * fsync) can starve the scheduler's transaction until its busy timeout
 * fails the cycle. So the scheduling process waits with a busy handler of
 * its own that polls every millisecond and, while it waits, touches
 * "<db>-turn"; a client about to write first looks at that file and, if it
 * was touched in the last TURN_FRESH_MS, lets the scheduler go first. A
 * stale file (a scheduler that died waiting) is ignored after that long.
 */
#include "requests.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"

/* Turn taking (see above). */
#define TURN_FRESH_MS 5      /* a touch this recent means "scheduler waits" */
#define TURN_TOUCH_MS 1      /* how often a waiting scheduler touches */
#define TURN_CLIENT_MAX_MS 2000 /* a client defers at most this long */
#define SCHEDULER_BUSY_MS 5000  /* the store's busy timeout, kept */

struct jq_reqdb {
    sqlite3 *db;
    jq_store *store; /* borrowed connection: the store's; NULL when owned */
    char *turn_path; /* "<db>-turn"; NULL for :memory: */
    /* The scheduler's current busy episode. */
    struct timespec busy_since, touched;
    char errmsg[512];
};

static int64_t elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - since->tv_sec) * 1000 +
           (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void nap_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static char *turn_path_of(sqlite3 *db)
{
    const char *path = sqlite3_db_filename(db, "main");
    if (!path || !*path)
        return NULL;
    size_t n = strlen(path) + sizeof "-turn";
    char *turn = malloc(n);
    if (turn)
        snprintf(turn, n, "%s-turn", path);
    return turn;
}

/* The scheduling connection's busy handler: poll every millisecond for up
 * to SCHEDULER_BUSY_MS, telling clients to hold back meanwhile. */
static int scheduler_busy(void *arg, int count)
{
    jq_reqdb *r = arg;
    if (count == 0) {
        clock_gettime(CLOCK_MONOTONIC, &r->busy_since);
        r->touched.tv_sec = 0;
    }
    if (elapsed_ms(&r->busy_since) >= SCHEDULER_BUSY_MS)
        return 0;
    if (r->turn_path && (r->touched.tv_sec == 0 ||
                         elapsed_ms(&r->touched) >= TURN_TOUCH_MS)) {
        int fd = open(r->turn_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0) {
            futimens(fd, NULL);
            close(fd);
        }
        clock_gettime(CLOCK_MONOTONIC, &r->touched);
    }
    nap_ms(1);
    return 1;
}

/* A client about to write: let a waiting scheduler go first. */
static void defer_to_scheduler(jq_reqdb *r)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (r->turn_path && elapsed_ms(&start) < TURN_CLIENT_MAX_MS) {
        struct stat sb;
        struct timespec now;
        if (stat(r->turn_path, &sb) != 0)
            return;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t age = (int64_t)(now.tv_sec - sb.st_mtim.tv_sec) * 1000 +
                      (now.tv_nsec - sb.st_mtim.tv_nsec) / 1000000;
        if (age < 0 || age >= TURN_FRESH_MS)
            return;
        nap_ms(2);
    }
}

static int fail(jq_reqdb *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(jq_reqdb *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

static int sql_fail(jq_reqdb *r, const char *what)
{
    int code = sqlite3_errcode(r->db);
    fail(r, JOBQ_EIO, "database: %s: %s", what, sqlite3_errmsg(r->db));
    return code == SQLITE_BUSY || code == SQLITE_LOCKED ? JOBQ_EBUSY
                                                         : JOBQ_EIO;
}

static sqlite3_stmt *prepare(jq_reqdb *r, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(r->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        sql_fail(r, "preparing a requests statement");
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

/* `array` with room for element n (its capacity *cap doubles, from
 * `first`): the same or a moved array, or NULL when out of memory (the
 * old array is kept). */
static void *grow(void *array, size_t n, size_t *cap, size_t size,
                  size_t first)
{
    if (n < *cap)
        return array;
    size_t ncap = *cap ? *cap * 2 : first;
    void *grown = realloc(array, ncap * size);
    if (grown)
        *cap = ncap;
    return grown;
}

static int query_int(jq_reqdb *r, const char *sql, int64_t *out)
{
    sqlite3_stmt *stmt = prepare(r, sql);
    if (!stmt)
        return JOBQ_EIO;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_NOTADB)
        return fail(r, JOBQ_EINVAL, "not a jobq database");
    return sql_fail(r, "reading");
}

/* --------------------------------------------------------------- open */

static int check_schema(jq_reqdb *r, const char *path)
{
    int64_t app_id = 0, version = 0;
    int rc = query_int(r, "PRAGMA application_id", &app_id);
    if (rc == JOBQ_EINVAL)
        return fail(r, rc, "%s: not a jobq database (not an SQLite database "
                    "at all)", path);
    if (rc == 0)
        rc = query_int(r, "PRAGMA user_version", &version);
    if (rc != 0)
        return rc;
    if (app_id != JQ_STORE_APPLICATION_ID)
        return fail(r, JOBQ_EINVAL, "%s: not a jobq database", path);
    if (version > JQ_STORE_SCHEMA_VERSION)
        return fail(r, JOBQ_EVERSION, "%s: the database has schema version "
                    "%lld, newer than this libjobq supports (%d): upgrade "
                    "libjobq", path, (long long)version,
                    JQ_STORE_SCHEMA_VERSION);
    if (version < JQ_STORE_SCHEMA_VERSION)
        return fail(r, JOBQ_EVERSION, "%s: the database has schema version "
                    "%lld and takes no requests yet: open it once with a "
                    "scheduler of this libjobq (schema %d)", path,
                    (long long)version, JQ_STORE_SCHEMA_VERSION);
    return 0;
}

int jq_reqdb_open(jq_reqdb **out, const char *path, jobq_durability durability,
                  int busy_timeout_ms, char *err, size_t err_cap)
{
    *out = NULL;
    jq_reqdb *r = calloc(1, sizeof *r);
    if (!r)
        return JOBQ_ENOMEM;
    struct stat sb;
    int rc = 0;
    if (stat(path, &sb) != 0)
        rc = fail(r, JOBQ_ENOTFOUND, "%s: no such database", path);
    /* No SQLITE_OPEN_CREATE: a client never creates the database. */
    else if (sqlite3_open_v2(path, &r->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                             NULL) != SQLITE_OK)
        rc = sql_fail(r, "opening");
    if (rc == 0) {
        sqlite3_busy_timeout(r->db, busy_timeout_ms > 0 ? busy_timeout_ms
                                                        : 5000);
        rc = check_schema(r, path);
    }
    if (rc == 0)
        r->turn_path = turn_path_of(r->db);
    if (rc == 0 &&
        sqlite3_exec(r->db, durability == JOBQ_DURABILITY_NORMAL
                                ? "PRAGMA synchronous = NORMAL"
                                : "PRAGMA synchronous = FULL",
                     NULL, NULL, NULL) != SQLITE_OK)
        rc = sql_fail(r, "setting durability");
    if (rc != 0) {
        if (err && err_cap)
            snprintf(err, err_cap, "%s", r->errmsg);
        jq_reqdb_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

int jq_reqdb_borrow(jq_reqdb **out, jq_store *st)
{
    jq_reqdb *r = calloc(1, sizeof *r);
    if (!r)
        return JOBQ_ENOMEM;
    r->db = st->db;
    r->store = st;
    if (!st->read_only) {
        r->turn_path = turn_path_of(st->db);
        sqlite3_busy_handler(st->db, scheduler_busy, r);
    }
    *out = r;
    return 0;
}

void jq_reqdb_close(jq_reqdb *r)
{
    if (!r)
        return;
    if (!r->store)
        sqlite3_close(r->db);
    else if (!r->store->read_only) /* back to the store's own setting */
        sqlite3_busy_timeout(r->db, SCHEDULER_BUSY_MS);
    free(r->turn_path);
    free(r);
}

const char *jq_reqdb_errmsg(const jq_reqdb *r)
{
    return r->errmsg;
}

int jq_reqdb_change_mark(jq_reqdb *r, int64_t *out)
{
    return query_int(r, "PRAGMA data_version", out);
}

/* ------------------------------------------------------------- writing */

static int bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
    return text ? sqlite3_bind_text(stmt, index, text, -1, SQLITE_STATIC)
                : sqlite3_bind_null(stmt, index);
}

int jq_reqdb_insert(jq_reqdb *r, jobq_request_id *out, int kind,
                    jobq_time_ms created_at, const char *summary,
                    const char *body, const void *payload, size_t payload_len)
{
    defer_to_scheduler(r);
    sqlite3_stmt *stmt = prepare(
        r, "INSERT INTO requests (kind, created_at, summary, body, payload)"
           " VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int(stmt, 1, kind);
    sqlite3_bind_int64(stmt, 2, created_at);
    bind_text(stmt, 3, summary ? summary : "");
    bind_text(stmt, 4, body);
    if (payload && payload_len)
        sqlite3_bind_blob64(stmt, 5, payload, payload_len, SQLITE_STATIC);
    int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0
                                               : sql_fail(r, "writing a "
                                                          "request");
    /* AUTOINCREMENT under SQLite's single writer: ids follow commit
     * order, which is the order the scheduler applies them in. */
    if (rc == 0)
        *out = sqlite3_last_insert_rowid(r->db);
    sqlite3_finalize(stmt);
    return rc;
}

/* A handle borrowed from the scheduling process's store (jq_reqdb_borrow)
 * writes outcomes and cleanup in the store's transaction, committed with
 * the rest of the cycle. */
static int join_store_transaction(jq_reqdb *r)
{
    if (!r->store)
        return 0;
    int rc = jq_store_begin(r->store);
    return rc ? fail(r, rc, "%s", jq_store_errmsg(r->store)) : 0;
}

int jq_reqdb_record(jq_reqdb *r, jobq_request_id id,
                    const jq_request_outcome *o)
{
    int begun = join_store_transaction(r);
    if (begun != 0)
        return begun;
    sqlite3_stmt *stmt = prepare(
        r, "UPDATE requests SET applied_at = ?2, status = ?3, run_id = ?4,"
           " count = ?5, run_ids = ?6, message = ?7"
           " WHERE id = ?1 AND applied_at IS NULL");
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, o->applied_at);
    sqlite3_bind_int(stmt, 3, o->status);
    sqlite3_bind_int64(stmt, 4, (sqlite3_int64)o->run_id);
    sqlite3_bind_int64(stmt, 5, (sqlite3_int64)o->count);
    bind_text(stmt, 6, o->run_ids);
    bind_text(stmt, 7, o->message ? o->message : "");
    int rc = sqlite3_step(stmt) == SQLITE_DONE
                 ? 0
                 : sql_fail(r, "recording a request's outcome");
    if (rc == 0 && sqlite3_changes(r->db) != 1)
        rc = fail(r, JOBQ_EIO, "request %lld was already applied",
                  (long long)id);
    sqlite3_finalize(stmt);
    return rc;
}

int jq_reqdb_cleanup(jq_reqdb *r, jobq_time_ms cutoff, int max)
{
    int begun = join_store_transaction(r);
    if (begun != 0)
        return begun;
    /* Ids follow commit order and so, nearly, applied_at: the scan stops
     * at the first young one. */
    sqlite3_stmt *stmt = prepare(
        r, "DELETE FROM requests WHERE id IN (SELECT id FROM requests"
           " WHERE applied_at IS NOT NULL AND applied_at < ?1"
           " ORDER BY id LIMIT ?2)");
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, cutoff);
    sqlite3_bind_int(stmt, 2, max);
    int rc = sqlite3_step(stmt) == SQLITE_DONE
                 ? 0
                 : sql_fail(r, "deleting old requests");
    sqlite3_finalize(stmt);
    return rc;
}

/* ------------------------------------------------------------- reading */

static char *column_dup(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text ? strdup((const char *)text) : NULL;
}

void jq_reqdb_rows_free(jq_request_row *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++) {
        free(rows[i].body);
        free(rows[i].payload);
    }
    free(rows);
}

int jq_reqdb_pending(jq_reqdb *r, jq_request_row **out, size_t *count,
                     size_t max)
{
    *out = NULL;
    *count = 0;
    sqlite3_stmt *stmt = prepare(
        r, "SELECT id, kind, body, payload FROM requests"
           " WHERE applied_at IS NULL ORDER BY id LIMIT ?1");
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)max);
    jq_request_row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc = 0, step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        jq_request_row *grown = grow(rows, n, &cap, sizeof *rows, 16);
        if (!grown) {
            rc = fail(r, JOBQ_ENOMEM, "out of memory");
            break;
        }
        rows = grown;
        jq_request_row *row = &rows[n++];
        memset(row, 0, sizeof *row);
        row->id = sqlite3_column_int64(stmt, 0);
        row->kind = sqlite3_column_int(stmt, 1);
        row->body = column_dup(stmt, 2);
        int len = sqlite3_column_bytes(stmt, 3);
        if (len > 0 && (row->payload = malloc((size_t)len)))
            memcpy(row->payload, sqlite3_column_blob(stmt, 3), (size_t)len);
        row->payload_len = row->payload ? (size_t)len : 0;
        if (!row->body || (len > 0 && !row->payload)) {
            rc = fail(r, JOBQ_ENOMEM, "out of memory");
            break;
        }
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sql_fail(r, "reading pending requests");
    sqlite3_finalize(stmt);
    if (rc != 0) {
        jq_reqdb_rows_free(rows, n);
        return rc;
    }
    *out = rows;
    *count = n;
    return 0;
}

int jq_reqdb_any_pending(jq_reqdb *r, bool *out)
{
    int64_t any = 0;
    int rc = query_int(r, "SELECT EXISTS (SELECT 1 FROM requests"
                          " WHERE applied_at IS NULL)", &any);
    *out = rc == 0 && any;
    return rc;
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    snprintf(dst, cap, "%s", text ? (const char *)text : "");
}

int jq_reqdb_get(jq_reqdb *r, jobq_request_info *info, jobq_request_id id)
{
    sqlite3_stmt *stmt = prepare(
        r, "SELECT kind, created_at, applied_at, status, run_id, count,"
           " summary, message FROM requests WHERE id = ?1");
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, id);
    int step = sqlite3_step(stmt), rc = 0;
    if (step == SQLITE_ROW) {
        info->id = id;
        info->kind = (jobq_request_kind)sqlite3_column_int(stmt, 0);
        info->created_at = sqlite3_column_int64(stmt, 1);
        bool pending = sqlite3_column_type(stmt, 2) == SQLITE_NULL;
        info->applied_at = pending ? -1 : sqlite3_column_int64(stmt, 2);
        info->status = sqlite3_column_int(stmt, 3);
        info->state = pending ? JOBQ_REQUEST_PENDING
                      : info->status == 0 ? JOBQ_REQUEST_APPLIED
                                          : JOBQ_REQUEST_REFUSED;
        info->run_id = (jobq_run_id)sqlite3_column_int64(stmt, 4);
        info->count = (uint64_t)sqlite3_column_int64(stmt, 5);
        copy_text(info->summary, sizeof info->summary, stmt, 6);
        copy_text(info->message, sizeof info->message, stmt, 7);
    } else if (step == SQLITE_DONE)
        rc = fail(r, JOBQ_ENOTFOUND, "no request with id %lld",
                  (long long)id);
    else
        rc = sql_fail(r, "reading a request");
    sqlite3_finalize(stmt);
    return rc;
}

int jq_reqdb_run_ids(jq_reqdb *r, jobq_request_id id, char **out)
{
    *out = NULL;
    sqlite3_stmt *stmt =
        prepare(r, "SELECT run_ids FROM requests WHERE id = ?1");
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, id);
    int step = sqlite3_step(stmt), rc = 0;
    if (step == SQLITE_ROW) {
        if (sqlite3_column_type(stmt, 0) != SQLITE_NULL &&
            !(*out = column_dup(stmt, 0)))
            rc = fail(r, JOBQ_ENOMEM, "out of memory");
    } else if (step == SQLITE_DONE)
        rc = fail(r, JOBQ_ENOTFOUND, "no request with id %lld",
                  (long long)id);
    else
        rc = sql_fail(r, "reading a request");
    sqlite3_finalize(stmt);
    return rc;
}

int jq_reqdb_list(jq_reqdb *r, size_t recent, jobq_request_id **out,
                  size_t *count)
{
    *out = NULL;
    *count = 0;
    sqlite3_stmt *stmt = prepare(
        r, "SELECT id FROM requests WHERE applied_at IS NULL"
           " UNION SELECT id FROM (SELECT id FROM requests"
           "  WHERE applied_at IS NOT NULL ORDER BY id DESC LIMIT ?1)"
           " ORDER BY id");
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, recent ? (sqlite3_int64)recent : -1);
    jobq_request_id *ids = NULL;
    size_t n = 0, cap = 0;
    int rc = 0, step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        jobq_request_id *grown = grow(ids, n, &cap, sizeof *ids, 64);
        if (!grown) {
            rc = fail(r, JOBQ_ENOMEM, "out of memory");
            break;
        }
        ids = grown;
        ids[n++] = sqlite3_column_int64(stmt, 0);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sql_fail(r, "listing requests");
    sqlite3_finalize(stmt);
    if (rc != 0 || n == 0) {
        free(ids);
        ids = NULL;
    }
    *out = ids;
    *count = rc == 0 ? n : 0;
    return rc;
}
