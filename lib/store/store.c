/*
 * Opening the store: create the file with mode 0600, take the writer lock,
 * recognise (or refuse) the database, migrate its schema forward, choose
 * WAL and the durability level; plus the statement cache and transactions
 * the other store files build on. See store.h.
 */
#define _DEFAULT_SOURCE /* flock */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Forward migrations: migrations[v] takes a database from schema version v
 * to v + 1. Version 0 is an empty database. Append a step for every schema
 * change and bump JQ_STORE_SCHEMA_VERSION; never edit a published step. */
static const char *const migrations[JQ_STORE_SCHEMA_VERSION] = {
    /* 0 -> 1: the first schema. */
    "CREATE TABLE scheduler ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  ns_turn INTEGER NOT NULL DEFAULT 0,"
    "  config TEXT);"
    "INSERT INTO scheduler (id) VALUES (1);"
    /* id = the core's round-robin index + 1 */
    "CREATE TABLE namespaces ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  wrr_high INTEGER NOT NULL DEFAULT 0,"
    "  wrr_normal INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE queues ("
    "  ns_id INTEGER NOT NULL,"
    "  priority INTEGER NOT NULL,"
    "  blocked INTEGER NOT NULL,"
    "  resource INTEGER NOT NULL,"
    "  requested INTEGER NOT NULL,"
    "  available INTEGER NOT NULL,"
    "  blocked_since INTEGER NOT NULL,"
    "  retry_at INTEGER NOT NULL,"
    "  PRIMARY KEY (ns_id, priority)) WITHOUT ROWID;"
    "CREATE TABLE jobs ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  domain TEXT NOT NULL,"
    "  ns_id INTEGER NOT NULL,"
    "  priority INTEGER NOT NULL,"
    "  flow INTEGER NOT NULL,"
    "  cpu INTEGER NOT NULL, memory INTEGER NOT NULL,"
    "  pods INTEGER NOT NULL, storage INTEGER NOT NULL,"
    "  payload BLOB);"
    /* id: the durable run id, assigned in submission order and kept when
     * a run is rescheduled, so it is also the run's FIFO position.
     * AUTOINCREMENT: sqlite_sequence remembers the largest id ever
     * inserted, so ids of deleted runs are never handed out again. */
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job_id INTEGER NOT NULL,"
    "  ns_id INTEGER NOT NULL,"
    "  name TEXT,"
    "  idempotency_key TEXT UNIQUE,"
    "  priority INTEGER NOT NULL,"
    "  flow INTEGER NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  cpu INTEGER NOT NULL, memory INTEGER NOT NULL,"
    "  pods INTEGER NOT NULL, storage INTEGER NOT NULL,"
    "  submitted_at INTEGER NOT NULL,"
    "  deployed_at INTEGER NOT NULL,"
    "  ended_at INTEGER NOT NULL,"
    "  retries_used INTEGER NOT NULL,"
    "  deploy_attempts INTEGER NOT NULL,"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  detail TEXT);"
    "CREATE INDEX runs_live ON runs (id) WHERE state < 3;"
    "CREATE INDEX runs_ended ON runs (ended_at) WHERE state >= 3;"
    "CREATE INDEX runs_job ON runs (job_id);"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL,"
    "  type INTEGER NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  resource INTEGER, requested INTEGER, available INTEGER,"
    "  wait_ms INTEGER, retry INTEGER,"
    "  reason TEXT, detail TEXT);"
    "CREATE INDEX events_run ON events (run_id);"
    "CREATE INDEX events_deployed ON events (time) WHERE type = 2;"
    /* Substring search: trigram indexes over the names (content tables,
     * kept in step by triggers; names never change). */
    "CREATE VIRTUAL TABLE run_names USING fts5(name, content='runs',"
    "  content_rowid='id', tokenize='trigram');"
    "CREATE TRIGGER runs_name_insert AFTER INSERT ON runs"
    "  WHEN new.name IS NOT NULL BEGIN"
    "  INSERT INTO run_names (rowid, name) VALUES (new.id, new.name); END;"
    "CREATE TRIGGER runs_name_delete AFTER DELETE ON runs"
    "  WHEN old.name IS NOT NULL BEGIN"
    "  INSERT INTO run_names (run_names, rowid, name)"
    "  VALUES ('delete', old.id, old.name); END;"
    "CREATE VIRTUAL TABLE job_names USING fts5(name, content='jobs',"
    "  content_rowid='id', tokenize='trigram');"
    "CREATE TRIGGER jobs_name_insert AFTER INSERT ON jobs BEGIN"
    "  INSERT INTO job_names (rowid, name) VALUES (new.id, new.name); END;",
    /* 1 -> 2: the refusal streak of a queue's head (SPEC 2.5 stale quota
     * backoff): how many refusals in a row, of which run, its head-timeout
     * timer's start and the cluster's last refusal. */
    "ALTER TABLE queues ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE queues ADD COLUMN refused_run INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE queues ADD COLUMN refused_since INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE queues ADD COLUMN refusal TEXT NOT NULL DEFAULT '';",
    /* 2 -> 3: live control (lib/store/requests.c). Requests other
     * processes write for the scheduling process, applied in id (= commit)
     * order; applied_at stays NULL until the outcome is recorded. The body
     * is a JSON document of the call's arguments, read as data only. */
    "CREATE TABLE requests ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  kind INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  summary TEXT NOT NULL DEFAULT '',"
    "  body TEXT NOT NULL,"
    "  payload BLOB,"
    "  applied_at INTEGER,"
    "  status INTEGER,"
    "  run_id INTEGER,"
    "  count INTEGER,"
    "  run_ids TEXT,"
    "  message TEXT);"
    "CREATE INDEX requests_pending ON requests (id) WHERE applied_at IS NULL;",
    /* 3 -> 4: leaner rows (issue 11). Events are clustered by run: the
     * table's own key (run_id, seq) replaces the separate events_run
     * index, so logging an event writes one B-tree instead of two, and a
     * run's log is read (explain) and deleted (retention) as one range.
     * seq numbers a run's events in the order they were logged. The run
     * name index keeps no per-row sizes (columnsize=0: nothing ranks by
     * them), which saves one row per named run. */
    "CREATE TABLE events_v2 ("
    "  run_id INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  type INTEGER NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  resource INTEGER, requested INTEGER, available INTEGER,"
    "  wait_ms INTEGER, retry INTEGER,"
    "  reason TEXT, detail TEXT,"
    "  PRIMARY KEY (run_id, seq)) WITHOUT ROWID;"
    "INSERT INTO events_v2 SELECT run_id,"
    "  row_number() OVER (PARTITION BY run_id ORDER BY id) - 1, type, time,"
    "  resource, requested, available, wait_ms, retry, reason, detail"
    "  FROM events;"
    "DROP TABLE events;"
    "ALTER TABLE events_v2 RENAME TO events;"
    "CREATE INDEX events_deployed ON events (time) WHERE type = 2;"
    "DROP TRIGGER runs_name_insert;"
    "DROP TRIGGER runs_name_delete;"
    "DROP TABLE run_names;"
    "CREATE VIRTUAL TABLE run_names USING fts5(name, content='runs',"
    "  content_rowid='id', tokenize='trigram', columnsize=0);"
    "INSERT INTO run_names (run_names) VALUES ('rebuild');"
    "CREATE TRIGGER runs_name_insert AFTER INSERT ON runs"
    "  WHEN new.name IS NOT NULL BEGIN"
    "  INSERT INTO run_names (rowid, name) VALUES (new.id, new.name); END;"
    "CREATE TRIGGER runs_name_delete AFTER DELETE ON runs"
    "  WHEN old.name IS NOT NULL BEGIN"
    "  INSERT INTO run_names (run_names, rowid, name)"
    "  VALUES ('delete', old.id, old.name); END;",
    /* 4 -> 5 (issue 11): search's index is written in bulk. Indexing each
     * name as its run was inserted cost a new FTS5 segment (and its
     * merges) per small transaction: a third of a durable replay's time;
     * and the runs_job index that served search by job name took a page
     * per job a commit touched. Now one contentless trigram index,
     * run_text, holds each run's name and its job's name (separated by
     * char(1), which no search text contains, so no match spans both).
     * Runs up to names_indexed are in it; the commit that finds enough
     * runs above the mark indexes them at once (index_names() below) and
     * search scans the few above it by LIKE. Only indexed runs may be
     * deleted from the index: FTS5 takes a 'delete' of a row it never saw,
     * or with other text, as corruption (job names never change, and jobs
     * are never deleted). */
    "ALTER TABLE scheduler ADD COLUMN names_indexed INTEGER NOT NULL"
    "  DEFAULT 0;"
    "DROP TRIGGER runs_name_insert;"
    "DROP TRIGGER runs_name_delete;"
    "DROP TRIGGER jobs_name_insert;"
    "DROP TABLE run_names;"
    "DROP TABLE job_names;"
    "DROP INDEX runs_job;"
    "CREATE VIRTUAL TABLE run_text USING fts5(text, content='',"
    "  tokenize='trigram', columnsize=0);"
    "INSERT INTO run_text (rowid, text) SELECT r.id,"
    "  coalesce(r.name, '') || char(1) || j.name"
    "  FROM runs r JOIN jobs j ON j.id = r.job_id;"
    "UPDATE scheduler SET names_indexed ="
    "  (SELECT coalesce(max(id), 0) FROM runs);"
    "CREATE TRIGGER runs_text_delete AFTER DELETE ON runs"
    "  WHEN old.id <= (SELECT names_indexed FROM scheduler WHERE id = 1)"
    "  BEGIN INSERT INTO run_text (run_text, rowid, text) VALUES ('delete',"
    "  old.id, coalesce(old.name, '') || char(1) ||"
    "  (SELECT name FROM jobs WHERE id = old.job_id)); END;"
    /* Also (issue 11): the events a run row already says are no longer
     * written as rows: 'submitted' (runs.submitted_at) and the terminal
     * one, 'finished', 'failed' or 'cancelled' (state, ended_at, reason,
     * detail). They were two thirds of the event rows and most of the
     * pages a commit wrote to the events table. event_log is every
     * run's whole log, as it always was: those two read from the run
     * row, where a file written before this version does not have them
     * as rows already. Event types and run states are jobq.h's. */
    "CREATE VIEW event_log AS"
    "  SELECT id AS run_id, -1 AS seq, 0 AS type, submitted_at AS time,"
    "    NULL AS resource, NULL AS requested, NULL AS available,"
    "    NULL AS wait_ms, NULL AS retry, NULL AS reason, NULL AS detail"
    "  FROM runs r WHERE NOT EXISTS (SELECT 1 FROM events e"
    "    WHERE e.run_id = r.id AND e.type = 0)"
    "  UNION ALL SELECT run_id, seq, type, time, resource, requested,"
    "    available, wait_ms, retry, reason, detail FROM events"
    "  UNION ALL SELECT id, 4611686018427387904,"
    "    CASE state WHEN 3 THEN 6 WHEN 4 THEN 7 ELSE 5 END, ended_at,"
    "    NULL, NULL, NULL, NULL, NULL, nullif(reason, ''), detail"
    "  FROM runs r WHERE state >= 3 AND NOT EXISTS (SELECT 1 FROM events e"
    "    WHERE e.run_id = r.id AND e.type IN (5, 6, 7));",
    /* 5 -> 6 (issue 11): fewer pages per commit, measured by table.
     * - runs is rebuilt without AUTOINCREMENT, whose sqlite_sequence row
     *   was rewritten by every commit that submitted a run; the largest id
     *   ever handed out is scheduler.run_id_floor, raised before runs are
     *   deleted (journal.c), so ids are still never reused.
     * - The idempotency key's unique index holds only runs that have a
     *   key: the UNIQUE column constraint indexed every run's NULL.
     * - runs_live and runs_ended are keyed on ended_at (-1 until a run
     *   ends), not state: an UPDATE rewrites the entries of every partial
     *   index whose condition names a column it sets, so with state in
     *   the condition each deploy rewrote the run's runs_live entry.
     *   Updates of live runs no longer set ended_at (STMT_RUN_UPDATE).
     * - The 'deployed' event is no longer a row either: the run row has
     *   deployed_at, and wait_ms = deployed_at - submitted_at. A
     *   deployment that is undone (the cluster refused the run after
     *   all) is written as a row when it is undone, before deployed_at
     *   is cleared (STMT_DEPLOYED_KEEP), so event_log still has every
     *   deployment. The rows migrated here that the run row now says are
     *   dropped: a run's last row when it is its current deployment. */
    "DROP VIEW event_log;"
    "DROP TRIGGER runs_text_delete;"
    "ALTER TABLE scheduler ADD COLUMN run_id_floor INTEGER NOT NULL"
    "  DEFAULT 0;"
    "UPDATE scheduler SET run_id_floor = max("
    "  coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'runs'), 0),"
    "  coalesce((SELECT max(id) FROM runs), 0));"
    "CREATE TABLE runs_v6 ("
    "  id INTEGER PRIMARY KEY,"
    "  job_id INTEGER NOT NULL,"
    "  ns_id INTEGER NOT NULL,"
    "  name TEXT,"
    "  idempotency_key TEXT,"
    "  priority INTEGER NOT NULL,"
    "  flow INTEGER NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  cpu INTEGER NOT NULL, memory INTEGER NOT NULL,"
    "  pods INTEGER NOT NULL, storage INTEGER NOT NULL,"
    "  submitted_at INTEGER NOT NULL,"
    "  deployed_at INTEGER NOT NULL,"
    "  ended_at INTEGER NOT NULL,"
    "  retries_used INTEGER NOT NULL,"
    "  deploy_attempts INTEGER NOT NULL,"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  detail TEXT);"
    "INSERT INTO runs_v6 SELECT id, job_id, ns_id, name, idempotency_key,"
    "  priority, flow, state, cpu, memory, pods, storage, submitted_at,"
    "  deployed_at, CASE WHEN state >= 3 THEN max(ended_at, 0) ELSE -1 END,"
    "  retries_used, deploy_attempts, reason, detail FROM runs;"
    "DROP TABLE runs;"
    "ALTER TABLE runs_v6 RENAME TO runs;"
    "CREATE UNIQUE INDEX runs_key ON runs (idempotency_key)"
    "  WHERE idempotency_key IS NOT NULL;"
    "CREATE INDEX runs_live ON runs (id) WHERE ended_at < 0;"
    "CREATE INDEX runs_ended ON runs (ended_at) WHERE ended_at >= 0;"
    "CREATE TRIGGER runs_text_delete AFTER DELETE ON runs"
    "  WHEN old.id <= (SELECT names_indexed FROM scheduler WHERE id = 1)"
    "  BEGIN INSERT INTO run_text (run_text, rowid, text) VALUES ('delete',"
    "  old.id, coalesce(old.name, '') || char(1) ||"
    "  (SELECT name FROM jobs WHERE id = old.job_id)); END;"
    "DELETE FROM events WHERE type = 2"
    "  AND seq = (SELECT max(seq) FROM events e"
    "    WHERE e.run_id = events.run_id)"
    "  AND time = (SELECT deployed_at FROM runs r"
    "    WHERE r.id = events.run_id);"
    /* Every run's whole log, as before: the rows, plus what the run row
     * says (submitted; its current deployment; how it ended). Files
     * older than version 5 have the first and the last as rows. */
    "CREATE VIEW event_log AS"
    "  SELECT id AS run_id, -1 AS seq, 0 AS type, submitted_at AS time,"
    "    NULL AS resource, NULL AS requested, NULL AS available,"
    "    NULL AS wait_ms, NULL AS retry, NULL AS reason, NULL AS detail"
    "  FROM runs r WHERE NOT EXISTS (SELECT 1 FROM events e"
    "    WHERE e.run_id = r.id AND e.type = 0)"
    "  UNION ALL SELECT run_id, seq, type, time, resource, requested,"
    "    available, wait_ms, retry, reason, detail FROM events"
    "  UNION ALL SELECT id, 4611686018427387903, 2, deployed_at, NULL,"
    "    NULL, NULL, deployed_at - submitted_at, NULL, NULL, NULL"
    "  FROM runs r WHERE deployed_at >= 0 AND NOT EXISTS (SELECT 1"
    "    FROM events e WHERE e.run_id = r.id AND e.type IN (5, 6, 7))"
    "  UNION ALL SELECT id, 4611686018427387904,"
    "    CASE state WHEN 3 THEN 6 WHEN 4 THEN 7 ELSE 5 END, ended_at,"
    "    NULL, NULL, NULL, NULL, NULL, nullif(reason, ''), detail"
    "  FROM runs r WHERE state >= 3 AND NOT EXISTS (SELECT 1 FROM events e"
    "    WHERE e.run_id = r.id AND e.type IN (5, 6, 7));",
};

static const char *const statement_sql[STMT_COUNT] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_JOB_INSERT] =
        "INSERT INTO jobs (name, domain, ns_id, priority, flow, cpu, memory,"
        " pods, storage, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
        " ?10)",
    [STMT_JOB_UPDATE] =
        "UPDATE jobs SET domain = ?2, ns_id = ?3, priority = ?4, flow = ?5,"
        " cpu = ?6, memory = ?7, pods = ?8, storage = ?9,"
        " payload = CASE WHEN ?11 THEN ?10 ELSE payload END WHERE id = ?1",
    [STMT_JOB_PAYLOAD] = "SELECT payload FROM jobs WHERE id = ?1",
    [STMT_RUN_INSERT] =
        "INSERT INTO runs (id, job_id, ns_id, name, idempotency_key,"
        " priority, flow, state, cpu, memory, pods, storage, submitted_at,"
        " deployed_at, ended_at, retries_used, deploy_attempts, reason,"
        " detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
        " ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    /* A live run: ended_at stays -1, and is not set, so that runs_live
     * and runs_ended are left alone (migration 5 -> 6). */
    [STMT_RUN_UPDATE] =
        "UPDATE runs SET flow = ?2, state = ?3, deployed_at = ?4,"
        " retries_used = ?6, deploy_attempts = ?7,"
        " reason = ?8, detail = ?9 WHERE id = ?1",
    [STMT_RUN_END] =
        "UPDATE runs SET flow = ?2, state = ?3, deployed_at = ?4,"
        " ended_at = ?5, retries_used = ?6, deploy_attempts = ?7,"
        " reason = ?8, detail = ?9 WHERE id = ?1",
    /* A deployment being undone: its event becomes a row (event_log). */
    [STMT_DEPLOYED_KEEP] =
        "INSERT INTO events (run_id, seq, type, time, wait_ms)"
        " SELECT id, (SELECT coalesce(max(seq) + 1, 0) FROM events"
        " WHERE run_id = ?1), 2, deployed_at, deployed_at - submitted_at"
        " FROM runs WHERE id = ?1 AND deployed_at >= 0 AND ?2 < 0",
    [STMT_RUN_DELETE] = "DELETE FROM runs WHERE id = ?1",
    /* Before runs are deleted: the largest id ever used outlives them. */
    [STMT_ID_FLOOR] =
        "UPDATE scheduler SET run_id_floor = (SELECT max(id) FROM runs)"
        " WHERE id = 1 AND run_id_floor < (SELECT max(id) FROM runs)",
    [STMT_EVENT_INSERT] =
        "INSERT INTO events (run_id, seq, type, time, resource, requested,"
        " available, wait_ms, retry, reason, detail) VALUES (?1,"
        " (SELECT coalesce(max(seq) + 1, 0) FROM events WHERE run_id = ?1),"
        " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [STMT_EVENTS_DELETE] = "DELETE FROM events WHERE run_id = ?1",
    [STMT_NS_UPSERT] =
        "INSERT INTO namespaces (id, name, wrr_high, wrr_normal)"
        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET"
        " wrr_high = excluded.wrr_high, wrr_normal = excluded.wrr_normal",
    [STMT_QUEUE_UPSERT] =
        "INSERT OR REPLACE INTO queues (ns_id, priority, blocked, resource,"
        " requested, available, blocked_since, retry_at, refusals,"
        " refused_run, refused_since, refusal)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [STMT_TURN_UPDATE] = "UPDATE scheduler SET ns_turn = ?1 WHERE id = 1",
    [STMT_CONFIG_UPDATE] = "UPDATE scheduler SET config = ?1 WHERE id = 1",
    [STMT_CONFIG_SELECT] = "SELECT config, ns_turn FROM scheduler WHERE id = 1",
    [STMT_KEY_SELECT] = "SELECT id FROM runs WHERE idempotency_key = ?1",
    [STMT_RUN_SELECT] =
        "SELECT r.id, r.state, r.name, j.name, j.domain, n.name, r.priority,"
        " r.flow, r.cpu, r.memory, r.pods, r.storage, r.submitted_at,"
        " r.deployed_at, r.ended_at, r.retries_used, r.deploy_attempts,"
        " r.reason, r.detail FROM runs r JOIN jobs j ON j.id = r.job_id"
        " JOIN namespaces n ON n.id = r.ns_id WHERE r.id = ?1",
    [STMT_EVENTS_SELECT] =
        "SELECT type, time, resource, requested, available, wait_ms, retry,"
        " reason, detail FROM event_log WHERE run_id = ?1 ORDER BY seq",
    /* event_log's deployments since ?3, by the indexes: live runs, runs
     * that ended since, and undone deployments (rows). */
    [STMT_DEPLOY_RATE] =
        "SELECT count(*), min(t) FROM ("
        " SELECT r.deployed_at AS t FROM runs r"
        " WHERE r.ended_at < 0 AND r.deployed_at >= max(?3, 0)"
        " AND r.ns_id = (SELECT id FROM namespaces WHERE name = ?1)"
        " AND r.priority = ?2 AND r.flow = 0"
        " UNION ALL SELECT r.deployed_at FROM runs r"
        " WHERE r.ended_at >= 0 AND r.ended_at >= ?3"
        " AND r.deployed_at >= max(?3, 0)"
        " AND r.ns_id = (SELECT id FROM namespaces WHERE name = ?1)"
        " AND r.priority = ?2 AND r.flow = 0 AND NOT EXISTS (SELECT 1"
        " FROM events e WHERE e.run_id = r.id AND e.type IN (5, 6, 7))"
        " UNION ALL SELECT e.time FROM events e JOIN runs r"
        " ON r.id = e.run_id WHERE e.type = 2 AND e.time >= ?3"
        " AND r.ns_id = (SELECT id FROM namespaces WHERE name = ?1)"
        " AND r.priority = ?2 AND r.flow = 0)",
    [STMT_CLEANUP_SELECT] =
        "SELECT id FROM runs WHERE ended_at >= 0 AND ended_at < ?1"
        " ORDER BY ended_at LIMIT ?2",
    [STMT_ENDED_FLOOR] =
        "SELECT coalesce(min(ended_at), 9223372036854775807) FROM runs"
        " WHERE ended_at >= 0 AND ended_at >= ?1",
    [STMT_LIST] =
        "SELECT id FROM (SELECT r.id FROM runs r"
        " JOIN namespaces n ON n.id = r.ns_id"
        " WHERE (?1 IS NULL OR n.name = ?1) AND (?2 < 0 OR r.priority = ?2)"
        " AND (?3 < 0 OR r.state = ?3) ORDER BY r.id DESC LIMIT ?4)"
        " ORDER BY id",
    [STMT_SEARCH_FTS] =
        "SELECT rowid FROM run_text WHERE run_text MATCH ?1"
        " UNION SELECT r.id FROM runs r JOIN jobs j ON j.id = r.job_id"
        " WHERE r.id > (SELECT names_indexed FROM scheduler WHERE id = 1)"
        " AND (r.name LIKE ?3 ESCAPE '\\' OR j.name LIKE ?3 ESCAPE '\\')"
        " ORDER BY 1 DESC LIMIT ?2",
    [STMT_SEARCH_LIKE] =
        "SELECT r.id FROM runs r JOIN jobs j ON j.id = r.job_id"
        " WHERE r.name LIKE ?1 ESCAPE '\\' OR j.name LIKE ?1 ESCAPE '\\'"
        " ORDER BY r.id DESC LIMIT ?2",
    [STMT_NAMES_INDEXED] = "SELECT names_indexed FROM scheduler WHERE id = 1",
    [STMT_NAMES_INDEX] =
        "INSERT INTO run_text (rowid, text) SELECT r.id,"
        " coalesce(r.name, '') || char(1) || j.name"
        " FROM runs r JOIN jobs j ON j.id = r.job_id WHERE r.id > ?1"
        " ORDER BY r.id",
    [STMT_NAMES_MARK] =
        "UPDATE scheduler SET names_indexed ="
        " (SELECT coalesce(max(id), 0) FROM runs) WHERE id = 1"
        " RETURNING names_indexed",
};

/* ------------------------------------------------------------- helpers */

static int set_error(jq_store *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_error(jq_store *st, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->errmsg, sizeof st->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

int jq_store_sql_error(jq_store *st, const char *what)
{
    int code = sqlite3_errcode(st->db);
    snprintf(st->errmsg, sizeof st->errmsg, "%s: %s: %s",
             st->path ? st->path : "database", what, sqlite3_errmsg(st->db));
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return JOBQ_EBUSY;
    return JOBQ_EIO;
}

sqlite3_stmt *jq_store_stmt(jq_store *st, jq_stmt_id id)
{
    sqlite3_stmt *stmt = st->stmt[id];
    if (stmt) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        return stmt;
    }
    if (sqlite3_prepare_v3(st->db, statement_sql[id], -1,
                           SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) {
        jq_store_sql_error(st, "preparing a statement");
        return NULL;
    }
    st->stmt[id] = stmt;
    return stmt;
}

int jq_store_exec(jq_store *st, sqlite3_stmt *stmt, const char *what)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    return jq_store_sql_error(st, what);
}

int jq_store_exec_one(jq_store *st, sqlite3_stmt *stmt, const char *what)
{
    int rc = jq_store_exec(st, stmt, what);
    if (rc == 0 && sqlite3_changes(st->db) != 1)
        return set_error(st, JOBQ_EIO, "database: %s: expected to change one "
                         "row, changed %d", what, sqlite3_changes(st->db));
    return rc;
}

int jq_store_bind_text(sqlite3_stmt *stmt, int index, const char *text,
                       bool empty_is_null)
{
    if (!text || (empty_is_null && !*text))
        return sqlite3_bind_null(stmt, index);
    return sqlite3_bind_text(stmt, index, text, -1, SQLITE_STATIC);
}

const char *jq_store_errmsg(const jq_store *st)
{
    return st->errmsg;
}

bool jq_store_read_only(const jq_store *st)
{
    return st->read_only;
}

const char *jq_store_path(const jq_store *st)
{
    return st->path ? st->path : "database";
}

/* ---------------------------------------------------------- transactions */

static int exec_savepoint(jq_store *st)
{
    if (sqlite3_exec(st->db, "SAVEPOINT jq_call", NULL, NULL, NULL) ==
        SQLITE_OK)
        return 0;
    return jq_store_sql_error(st, "taking a savepoint");
}

/* Caches of what is on disk follow a rollback: what we believed written
 * may not be. Namespace and turn rows are written again at the next
 * commit; runs the rollback removed are inserted (not updated) again; job
 * row ids are read back. */
static void forget_unwritten(jq_store *st)
{
    st->ended_floor = INT64_MIN;
    st->saved_ns_count = 0;
    st->turn_known = false;
    st->names_known = false;
    free(st->submit_key);
    st->submit_key = NULL;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(id), 0) FROM runs",
                           -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        st->max_saved_id = (jobq_run_id)sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    for (size_t i = 0; i < st->job_rows.capacity; i++) {
        jq_job_row *row = st->job_rows.slots[i];
        if (row) {
            free(row->name);
            free(row);
        }
    }
    jq_strmap_free(&st->job_rows);
    /* If this fails, unknown jobs are inserted again and the UNIQUE name
     * refuses it: the call fails rather than writing a wrong row id. */
    stmt = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT id, name FROM jobs", -1, &stmt,
                           NULL) == SQLITE_OK)
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(stmt, 1);
            if (name && jq_store_remember_job(st, name,
                                              sqlite3_column_int64(stmt, 0)))
                break;
        }
    sqlite3_finalize(stmt);
}

void jq_store_call_start(jq_store *st)
{
    st->call_savepoint = false;
}

bool jq_store_has_waiters(const jq_store *st)
{
    return st->waiters != NULL;
}

bool jq_store_call_end(jq_store *st, bool keep)
{
    if (!st->call_savepoint)
        return false;
    st->call_savepoint = false;
    if (keep) {
        sqlite3_exec(st->db, "RELEASE jq_call", NULL, NULL, NULL);
        return true;
    }
    if (sqlite3_exec(st->db, "ROLLBACK TO jq_call; RELEASE jq_call", NULL,
                     NULL, NULL) != SQLITE_OK ||
        sqlite3_get_autocommit(st->db)) {
        /* The whole transaction is gone: the caller rolls back all. */
        jq_store_rollback(st);
        return false;
    }
    forget_unwritten(st);
    return true;
}

int jq_store_begin(jq_store *st)
{
    if (st->in_transaction) {
        /* SQLite rolls a transaction back by itself after some errors (a
         * full disk, an I/O error): never write on in autocommit mode. */
        if (sqlite3_get_autocommit(st->db))
            return set_error(st, JOBQ_EIO, "database: the transaction was "
                             "rolled back after an earlier error");
        if (!st->waiters || st->call_savepoint)
            return 0;
        int rc = exec_savepoint(st);
        if (rc == 0)
            st->call_savepoint = true;
        return rc;
    }
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_BEGIN);
    if (!stmt)
        return JOBQ_EIO;
    int rc = jq_store_exec(st, stmt, "beginning a transaction");
    if (rc == 0)
        st->in_transaction = true;
    return rc;
}

bool jq_store_in_transaction(const jq_store *st)
{
    return st->in_transaction;
}

/* Tell the submitters waiting on this transaction how it ended. */
static void release_waiters(jq_store *st, int result)
{
    for (jq_commit_waiter *w = st->waiters; w; w = w->next) {
        w->done = true;
        w->result = result;
    }
    st->waiters = NULL;
    pthread_cond_broadcast(&st->committed);
}

int jq_store_await_commit(jq_store *st, pthread_mutex_t *lock,
                          int max_wait_ms)
{
    jq_commit_waiter me = {.next = st->waiters};
    st->waiters = &me;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += (long)max_wait_ms * 1000000L;
    deadline.tv_sec += deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    while (!me.done)
        if (pthread_cond_timedwait(&st->committed, lock, &deadline) != 0)
            break;
    if (me.done)
        return me.result;
    /* Nobody came: leave the list; the caller commits (for all). */
    for (jq_commit_waiter **p = &st->waiters; *p; p = &(*p)->next)
        if (*p == &me) {
            *p = me.next;
            break;
        }
    return JOBQ_EBUSY;
}

/* Runs a commit lets accumulate above names_indexed before it indexes
 * their names: enough that FTS5 writes one segment for many names, few
 * enough that search's LIKE scan of the rest stays short. */
#define NAMES_INDEX_BATCH 2048

/* Index the names of the runs above the watermark once there are enough
 * of them (see migration 4 -> 5), inside the transaction being
 * committed. */
static int index_names(jq_store *st)
{
    sqlite3_stmt *stmt;
    if (!st->names_known) {
        if (!(stmt = jq_store_stmt(st, STMT_NAMES_INDEXED)))
            return JOBQ_EIO;
        int rc = sqlite3_step(stmt);
        st->names_indexed =
            rc == SQLITE_ROW ? (jobq_run_id)sqlite3_column_int64(stmt, 0) : 0;
        sqlite3_reset(stmt);
        if (rc != SQLITE_ROW)
            return set_error(st, JOBQ_EIO, "reading the name index's mark: "
                             "%s", sqlite3_errmsg(st->db));
        st->names_known = true;
    }
    if (st->max_saved_id < st->names_indexed + NAMES_INDEX_BATCH)
        return 0;
    if (!(stmt = jq_store_stmt(st, STMT_NAMES_INDEX)))
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)st->names_indexed);
    int rc = jq_store_exec(st, stmt, "indexing run names");
    if (rc == 0 && !(stmt = jq_store_stmt(st, STMT_NAMES_MARK)))
        rc = JOBQ_EIO;
    if (rc == 0) {
        int step = sqlite3_step(stmt);
        jobq_run_id mark = step == SQLITE_ROW
                               ? (jobq_run_id)sqlite3_column_int64(stmt, 0)
                               : 0;
        while (step == SQLITE_ROW)
            step = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (step != SQLITE_DONE)
            return set_error(st, JOBQ_EIO, "marking the name index: %s",
                             sqlite3_errmsg(st->db));
        /* Known only once this commits: a rollback forgets it. */
        st->names_indexed = mark;
    }
    return rc;
}

int jq_store_commit(jq_store *st)
{
    if (st->read_only)
        return 0;
    int rc = jq_store_flush_state(st);
    if (rc == 0 && st->in_transaction)
        rc = index_names(st);
    if (rc != 0 || !st->in_transaction) {
        if (rc != 0)
            jq_store_rollback(st);
        return rc;
    }
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_COMMIT);
    rc = stmt ? jq_store_exec(st, stmt, "committing") : JOBQ_EIO;
    if (rc != 0) {
        jq_store_rollback(st);
        return rc;
    }
    st->in_transaction = false;
    st->call_savepoint = false;
    st->commits++;
    release_waiters(st, 0);
    return 0;
}

void jq_store_rollback(jq_store *st)
{
    if (!st->in_transaction)
        return;
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_ROLLBACK);
    if (stmt)
        sqlite3_step(stmt), sqlite3_reset(stmt);
    st->in_transaction = false;
    st->call_savepoint = false;
    release_waiters(st, JOBQ_EIO);
    forget_unwritten(st);
}

/* ------------------------------------------------------------ open/close */

static int exec_sql(jq_store *st, const char *sql, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    int code = sqlite3_errcode(st->db);
    snprintf(st->errmsg, sizeof st->errmsg, "%s: %s: %s", jq_store_path(st),
             what, msg ? msg : sqlite3_errmsg(st->db));
    sqlite3_free(msg);
    return code == SQLITE_BUSY ? JOBQ_EBUSY : JOBQ_EIO;
}

static int pragma_int(jq_store *st, const char *sql, int64_t *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        *out = sqlite3_column_int64(stmt, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_OK)
        return 0;
    if (rc == SQLITE_NOTADB)
        return JOBQ_EINVAL;
    return jq_store_sql_error(st, "reading the database header");
}

/* Create the file ourselves so that it gets mode 0600 whatever the umask
 * (SQLite gives the -wal and -shm files the database file's mode). Only a
 * file that does not exist yet is opened here: closing a descriptor of a
 * file SQLite has open in this process would drop SQLite's own locks. */
static int create_file(jq_store *st, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0)
        return 0;
    if (errno != ENOENT || st->read_only)
        return set_error(st, errno == ENOENT ? JOBQ_ENOTFOUND : JOBQ_EIO,
                         "%s: %s", path, strerror(errno));
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST)
        return set_error(st, JOBQ_EIO, "%s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return 0;
}

/* The writer lock: an exclusive flock on "<path>-lock" (a file of its own,
 * for the reason above), held until the store is closed. */
static int take_writer_lock(jq_store *st, const char *path)
{
    size_t n = strlen(path) + sizeof "-lock";
    char *lock_path = malloc(n);
    if (!lock_path)
        return JOBQ_ENOMEM;
    snprintf(lock_path, n, "%s-lock", path);
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int rc = 0;
    if (fd < 0)
        rc = set_error(st, JOBQ_EIO, "%s: %s", lock_path, strerror(errno));
    else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        bool busy = errno == EWOULDBLOCK;
        rc = set_error(st, busy ? JOBQ_EBUSY : JOBQ_EIO, "%s: %s", path,
                       busy ? "the database is in use by another scheduler "
                              "(one writer at a time; open it read-only to "
                              "inspect it)"
                            : strerror(errno));
        close(fd);
    } else
        st->lock_fd = fd;
    free(lock_path);
    return rc;
}

static int open_file(jq_store *st, const char *path)
{
    int rc = st->read_only ? 0 : take_writer_lock(st, path);
    return rc ? rc : create_file(st, path);
}

static int count_tables(jq_store *st, int64_t *tables)
{
    return pragma_int(st, "SELECT count(*) FROM sqlite_schema", tables);
}

/* A jobq database whose header says schema version 0 or less although it
 * holds tables: the header was damaged (or set by hand). If every table of
 * the current schema is there, take the file as the current version (and
 * say so in the quarantine list; a read-write open repairs the header);
 * otherwise refuse: guessing a migration path could destroy data. */
static int recover_version(jq_store *st, const char *path, int64_t *version)
{
    int64_t found = 0;
    /* The current schema's tables, and what later migrations added to
     * older ones (keep this in step with the last migration). */
    int rc = pragma_int(st, "SELECT (SELECT count(*) FROM sqlite_schema "
                        "WHERE type = 'table' AND name IN ('scheduler', "
                        "'namespaces', 'queues', 'jobs', 'runs', 'events', "
                        "'requests')) + (SELECT count(*) FROM "
                        "pragma_table_info('queues') WHERE name = "
                        "'refusal') + (SELECT count(*) FROM "
                        "pragma_table_info('events') WHERE name = 'seq') + "
                        "(SELECT count(*) FROM pragma_table_info("
                        "'scheduler') WHERE name IN ('names_indexed', "
                        "'run_id_floor'))",
                        &found);
    if (rc == JOBQ_EINVAL)
        rc = set_error(st, JOBQ_EINVAL, "%s: not a jobq database", path);
    if (rc != 0)
        return rc;
    if (found != 11)
        return set_error(st, JOBQ_EINVAL, "%s: schema version %lld is not "
                         "valid and the tables are not those of version %d: "
                         "refusing to guess", path, (long long)*version,
                         JQ_STORE_SCHEMA_VERSION);
    jq_store_quarantine(st, "schema", *version, "schema version %lld is not "
                        "valid; the tables are those of version %d, taken "
                        "as such", (long long)*version,
                        JQ_STORE_SCHEMA_VERSION);
    st->repair_version = !st->read_only;
    *version = JQ_STORE_SCHEMA_VERSION;
    return 0;
}

/* Recognise the file: a new (empty) database gets the schema; a jobq
 * database of an older schema is migrated; anything else is refused. */
static int check_identity(jq_store *st, const char *path, int64_t *version)
{
    int64_t app_id = 0, tables = 0;
    int rc = pragma_int(st, "PRAGMA application_id", &app_id);
    if (rc == 0)
        rc = pragma_int(st, "PRAGMA user_version", version);
    if (rc == 0)
        rc = count_tables(st, &tables);
    if (rc == JOBQ_EINVAL)
        return set_error(st, JOBQ_EINVAL, "%s: not a jobq database (not an "
                         "SQLite database at all)", path);
    if (rc != 0)
        return rc;
    if (app_id == JQ_STORE_APPLICATION_ID && tables > 0 && *version <= 0)
        return recover_version(st, path, version);
    if (app_id == 0 && tables == 0 && *version != 0)
        return set_error(st, JOBQ_EINVAL, "%s: not a jobq database (an "
                         "empty database with schema version %lld)", path,
                         (long long)*version);
    if (app_id == JQ_STORE_APPLICATION_ID || (app_id == 0 && tables == 0)) {
        if (*version > JQ_STORE_SCHEMA_VERSION) {
            snprintf(st->errmsg, sizeof st->errmsg,
                     "%s: the database has schema version %lld, newer than "
                     "this libjobq supports (%d): upgrade libjobq",
                     path, (long long)*version, JQ_STORE_SCHEMA_VERSION);
            return JOBQ_EVERSION;
        }
        return 0;
    }
    return set_error(st, JOBQ_EINVAL, "%s: not a jobq database (an SQLite "
                     "database of another application)", path);
}

static int migrate(jq_store *st, const char *path, int64_t version)
{
    if (version < 0 || version > JQ_STORE_SCHEMA_VERSION)
        return set_error(st, JOBQ_EINVAL, "%s: schema version %lld is not "
                         "valid", path, (long long)version);
    if (version == JQ_STORE_SCHEMA_VERSION && st->repair_version) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d",
                 JQ_STORE_SCHEMA_VERSION);
        return exec_sql(st, sql, "repairing the schema version");
    }
    if (version == JQ_STORE_SCHEMA_VERSION)
        return 0;
    if (st->read_only) {
        snprintf(st->errmsg, sizeof st->errmsg,
                 "%s: the database has schema version %lld and needs "
                 "migrating to %d: open it read-write once", path,
                 (long long)version, JQ_STORE_SCHEMA_VERSION);
        return JOBQ_EVERSION;
    }
    int rc = exec_sql(st, "BEGIN IMMEDIATE", "migrating");
    for (int64_t v = version; rc == 0 && v < JQ_STORE_SCHEMA_VERSION; v++)
        rc = exec_sql(st, migrations[v], "migrating the schema");
    if (rc == 0) {
        char sql[128];
        snprintf(sql, sizeof sql, "PRAGMA application_id = %d; "
                 "PRAGMA user_version = %d; COMMIT",
                 JQ_STORE_APPLICATION_ID, JQ_STORE_SCHEMA_VERSION);
        rc = exec_sql(st, sql, "migrating");
    }
    if (rc != 0)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* A read-write open must be able to write: SQLite quietly opens a file it
 * may not write (permissions, a read-only mount) read-only, and the first
 * write would fail much later. Check now, and really write (a no-op
 * update), so that a directory where the WAL cannot be created fails here
 * too, with the path in the message. */
static int set_durability(jq_store *st, jobq_durability durability)
{
    return exec_sql(st, durability == JOBQ_DURABILITY_NORMAL
                            ? "PRAGMA synchronous = NORMAL"
                            : "PRAGMA synchronous = FULL",
                    "setting durability");
}

static int check_writable(jq_store *st, const char *path,
                          jobq_durability durability)
{
    if (st->read_only)
        return 0;
    if (sqlite3_db_readonly(st->db, "main") == 1)
        return set_error(st, JOBQ_EIO, "%s: the file cannot be written "
                         "(permissions or a read-only file system): open "
                         "it read-only to inspect it", path);
    /* The probe changes nothing: no need to pay an fsync for it. */
    char *msg = NULL;
    if (sqlite3_exec(st->db, "PRAGMA synchronous = OFF; BEGIN IMMEDIATE; "
                     "UPDATE scheduler SET ns_turn = ns_turn WHERE id = 1; "
                     "COMMIT", NULL, NULL, &msg) == SQLITE_OK)
        return set_durability(st, durability);
    int code = sqlite3_errcode(st->db);
    set_error(st, code == SQLITE_BUSY ? JOBQ_EBUSY : JOBQ_EIO, "%s: the "
              "database cannot be written: %s", path,
              msg ? msg : sqlite3_errmsg(st->db));
    sqlite3_free(msg);
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return code == SQLITE_BUSY ? JOBQ_EBUSY : JOBQ_EIO;
}

static int configure_connection(jq_store *st, jobq_durability durability)
{
    sqlite3_busy_timeout(st->db, 5000);
    if (st->read_only)
        return 0;
    int rc = exec_sql(st, "PRAGMA journal_mode = WAL", "enabling WAL");
    return rc ? rc : set_durability(st, durability);
}

static const char *job_row_key(const void *value)
{
    return ((const jq_job_row *)value)->name;
}

int jq_store_open(jq_store **out, const char *path, jobq_durability durability,
                  bool read_only, char *err, size_t err_cap)
{
    *out = NULL;
    jq_store *st = calloc(1, sizeof *st);
    if (!st)
        return JOBQ_ENOMEM;
    st->lock_fd = -1;
    st->read_only = read_only;
    pthread_cond_init(&st->committed, NULL);
    jq_strmap_init(&st->job_rows, job_row_key);
    if (!(st->path = strdup(path))) {
        jq_store_close(st);
        return JOBQ_ENOMEM;
    }
    bool memory = strcmp(path, ":memory:") == 0;
    int rc = memory ? 0 : open_file(st, path);
    int flags = read_only ? SQLITE_OPEN_READONLY
                          : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (rc == 0 && sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX,
                                   NULL) != SQLITE_OK)
        rc = jq_store_sql_error(st, "opening");
    if (rc == 0 && !read_only && sqlite3_db_readonly(st->db, "main") == 1)
        rc = check_writable(st, path, durability);
    int64_t version = 0;
    if (rc == 0)
        rc = check_identity(st, path, &version);
    if (rc == 0)
        rc = configure_connection(st, durability);
    if (rc == 0)
        rc = migrate(st, path, version);
    if (rc == 0 && !memory)
        rc = check_writable(st, path, durability);
    if (rc != 0) {
        if (err && err_cap)
            snprintf(err, err_cap, "%s", st->errmsg);
        jq_store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void jq_store_close(jq_store *st)
{
    if (!st)
        return;
    jq_store_rollback(st);
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db);
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    for (size_t i = 0; i < st->job_rows.capacity; i++) {
        jq_job_row *row = st->job_rows.slots[i];
        if (row) {
            free(row->name);
            free(row);
        }
    }
    jq_strmap_free(&st->job_rows);
    free(st->saved_ns);
    free(st->submit_key);
    jq_store_quarantine_clear(st);
    free(st->path);
    pthread_cond_destroy(&st->committed);
    free(st);
}
