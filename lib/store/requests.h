/*
 * The requests table (live control, include/jobq/client.h): the SQL side.
 *
 * A jq_reqdb is a connection to the requests table. A client process owns
 * one (jq_reqdb_open: read-write, no writer lock, no schema change); the
 * scheduling process borrows its store's connection (jq_reqdb_borrow) so
 * that outcomes are written in the store's open transaction, together with
 * the effects of the requests. Every statement binds its parameters: the
 * request bodies are data, never SQL.
 */
#ifndef JQ_STORE_REQUESTS_H
#define JQ_STORE_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobq/jobq.h"
#include "store.h"

typedef struct jq_reqdb jq_reqdb;

/* One pending request, as read for applying (body and payload malloc'd). */
typedef struct jq_request_row {
    jobq_request_id id;
    int kind;
    char *body;
    void *payload;
    size_t payload_len;
} jq_request_row;

/* The outcome the scheduler records. */
typedef struct jq_request_outcome {
    jobq_time_ms applied_at;
    int status;
    jobq_run_id run_id;
    uint64_t count;
    const char *run_ids; /* "1,2,3" or NULL */
    const char *message; /* NULL or "" when it succeeded */
} jq_request_outcome;

/* A client's own connection. Errors: JOBQ_ENOTFOUND (no file), JOBQ_EINVAL
 * (not a jobq database), JOBQ_EVERSION (another schema), JOBQ_EIO. */
int jq_reqdb_open(jq_reqdb **out, const char *path, jobq_durability durability,
                  int busy_timeout_ms, char *err, size_t err_cap);
/* The store's connection, for the scheduling process (or a read-only
 * handle: then only reads). Close before closing the store. */
int jq_reqdb_borrow(jq_reqdb **out, jq_store *st);
void jq_reqdb_close(jq_reqdb *r);
const char *jq_reqdb_errmsg(const jq_reqdb *r);

/* A mark of what other connections committed: it differs from the last
 * one read on this connection once another connection committed, and
 * is opaque otherwise (SQLite: PRAGMA data_version; another store would
 * use a commit counter). Cheap: live control reads it every cycle to
 * skip the requests table when nothing came. */
int jq_reqdb_change_mark(jq_reqdb *r, int64_t *out);

/* Write one request (one transaction of its own). */
int jq_reqdb_insert(jq_reqdb *r, jobq_request_id *out, int kind,
                    jobq_time_ms created_at, const char *summary,
                    const char *body, const void *payload, size_t payload_len);

/* At most `max` pending requests, in id order (*out malloc'd). */
int jq_reqdb_pending(jq_reqdb *r, jq_request_row **out, size_t *count,
                     size_t max);
void jq_reqdb_rows_free(jq_request_row *rows, size_t count);
/* Whether any request is pending. */
int jq_reqdb_any_pending(jq_reqdb *r, bool *out);

/* Record an outcome in the store's transaction (borrowed connections). */
int jq_reqdb_record(jq_reqdb *r, jobq_request_id id,
                    const jq_request_outcome *outcome);

/* Retention: delete at most `max` applied requests older than `cutoff`
 * (applied_at), in the store's transaction. */
int jq_reqdb_cleanup(jq_reqdb *r, jobq_time_ms cutoff, int max);

int jq_reqdb_get(jq_reqdb *r, jobq_request_info *info, jobq_request_id id);
/* The stored run ids text ("1,2,3", *out malloc'd, NULL when none). */
int jq_reqdb_run_ids(jq_reqdb *r, jobq_request_id id, char **out);
int jq_reqdb_list(jq_reqdb *r, size_t recent, jobq_request_id **out,
                  size_t *count);

#endif
