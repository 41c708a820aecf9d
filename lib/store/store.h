/*
 * The SQLite store: the only part of libjobq that knows SQL.
 *
 * It follows the policy core rather than leading it: the core announces
 * every durable change through its jq_journal, which the store implements
 * (jq_store_bind), and the store writes those changes in the open
 * transaction. sched_persist.c decides when a transaction ends (one per
 * public call; the core's write-ahead barrier commits early so that
 * DEPLOYING records are durable before the deployer is called: once per
 * cycle for all the runs it deploys, lib/core/cycle.c).
 *
 * On open the store creates or migrates the schema, and jq_store_load
 * rebuilds the core's memory (jobs without payloads, live runs in FIFO
 * order, WRR state, queue head state, the namespace turn pointer) from it.
 * Terminal runs stay on disk only; the query functions answer for them.
 *
 * Every statement uses bound parameters; statements are prepared once and
 * cached. Errors come back as JOBQ_* codes with a message in
 * jq_store_errmsg().
 */
#ifndef JQ_STORE_H
#define JQ_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "jobq/jobq.h"

/* The schema version this library writes (PRAGMA user_version), and the
 * application id that marks a SQLite file as a jobq database. */
#define JQ_STORE_SCHEMA_VERSION 6
#define JQ_STORE_APPLICATION_ID 0x4a6f6251 /* "JobQ" */

typedef struct jq_store jq_store;

/* A row that could not be loaded (a run of an unknown job, a state or enum
 * out of range, an undecodable configuration...). It stays in the file
 * untouched, is left out of memory, and is reported (jobq_quarantine_list,
 * jobq_store_quarantined_rows): a damaged row never makes the whole file
 * unopenable. */
typedef struct jq_quarantine_row {
    char table[16];
    int64_t row;
    char reason[200];
} jq_quarantine_row;

/* Reasons are kept for this many rows; beyond that only counted. */
#define JQ_QUARANTINE_KEPT 1000

/* Open (creating if needed, mode 0600) and check or migrate the database
 * at `path` (":memory:" allowed). A read-write open takes an exclusive
 * advisory lock on the file: a second writer gets JOBQ_EBUSY. Errors:
 * JOBQ_EINVAL (not a jobq database), JOBQ_EVERSION (newer schema, or a
 * read-only open of an older one), JOBQ_EBUSY, JOBQ_EIO; message in err. */
int jq_store_open(jq_store **out, const char *path, jobq_durability durability,
                  bool read_only, char *err, size_t err_cap);
void jq_store_close(jq_store *st);
const char *jq_store_errmsg(const jq_store *st);
bool jq_store_read_only(const jq_store *st);
const char *jq_store_path(const jq_store *st);

/* Quarantined rows of the last load: how many in all, and the i-th of the
 * first JQ_QUARANTINE_KEPT (NULL past them). */
size_t jq_store_quarantine_count(const jq_store *st);
const jq_quarantine_row *jq_store_quarantine_get(const jq_store *st,
                                                 size_t i);
/* How many quarantined rows come from `table` (NULL: all). */
size_t jq_store_quarantine_count_in(const jq_store *st, const char *table);

/* Point the core's journal at the store (nothing in read-only mode). */
void jq_store_bind(jq_store *st, jq_core *c);

/* Rebuild the core's memory from the database. `*config_json` receives the
 * stored configuration document (malloc'd) or NULL for a new database. */
int jq_store_load_config(jq_store *st, char **config_json);
int jq_store_load(jq_store *st, jq_core *c);
/* Bracket the loading so that it reads one consistent snapshot (a
 * read-only open may race a running writer). */
int jq_store_snapshot_begin(jq_store *st);
void jq_store_snapshot_end(jq_store *st);

/* Transactions: changes go into a transaction begun lazily by the first
 * write. Commit writes the queue and WRR state that changed, then commits;
 * both are no-ops when no transaction is open. */
int jq_store_commit(jq_store *st);
void jq_store_rollback(jq_store *st);
bool jq_store_in_transaction(const jq_store *st);
/* Calls sharing a transaction (group commit): a call that writes into a
 * transaction that holds other callers' changes first takes a savepoint.
 * jq_store_call_start() begins a call; jq_store_call_end() keeps (RELEASE)
 * or undoes (ROLLBACK TO) what the call wrote since its savepoint, and
 * returns whether it had one. */
void jq_store_call_start(jq_store *st);
bool jq_store_call_end(jq_store *st, bool keep);
/* Whether submitters are waiting for the open transaction to commit. */
bool jq_store_has_waiters(const jq_store *st);

/* Group commit: wait, releasing `lock` (held by the caller), until the
 * open transaction is committed by another caller, or for at most
 * `max_wait_ms`. Returns 0 when committed, the commit's error, or
 * JOBQ_EBUSY if nobody committed in time (the caller commits itself). */
int jq_store_await_commit(jq_store *st, pthread_mutex_t *lock,
                          int max_wait_ms);

int jq_store_save_config(jq_store *st, const char *json);

/* The next run inserted (the next submit) gets this idempotency key. */
void jq_store_set_submit_key(jq_store *st, const char *key);
/* The run submitted with `key`: 0 and *id, or JOBQ_ENOTFOUND. */
int jq_store_find_key(jq_store *st, const char *key, jobq_run_id *id);

/* Queries. */
int jq_store_run_info(jq_store *st, const jq_config *config,
                      jobq_run_info *info, jobq_run_id id);
/* Events of a run, oldest first, as a cJSON array (struct cJSON *). */
int jq_store_run_events(jq_store *st, void *json_array, jobq_run_id id);
/* Deployments out of (ns, priority) since `since`: count and the earliest
 * time among them. */
int jq_store_deploy_rate(jq_store *st, const char *ns, int priority,
                         jobq_time_ms since, uint64_t *count,
                         jobq_time_ms *first);
int jq_store_list(jq_store *st, const jobq_run_filter *filter,
                  jobq_run_id **out, size_t *count);
int jq_store_search(jq_store *st, const char *text, size_t limit,
                    jobq_run_id **out, size_t *count);
/* Retention: delete at most `max_runs` terminal runs that ended before
 * `cutoff`, and their events, in the open transaction. */
int jq_store_cleanup(jq_store *st, jobq_time_ms cutoff, uint64_t max_runs,
                     uint64_t *deleted);

#endif
