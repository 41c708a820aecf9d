/*
 * Read-only questions the store answers from disk: a run that is no longer
 * in memory (terminal runs), a run's event log, listing with filters,
 * substring search (FTS5 trigram, LIKE for short texts), idempotency keys
 * and the recent deployment rate that explain's estimate is based on.
 */
#include "store_internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jq_store_find_key(jq_store *st, const char *key, jobq_run_id *id)
{
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_KEY_SELECT);
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(stmt);
    int rc = JOBQ_ENOTFOUND;
    if (step == SQLITE_ROW) {
        *id = (jobq_run_id)sqlite3_column_int64(stmt, 0);
        rc = 0;
    } else if (step != SQLITE_DONE)
        rc = jq_store_sql_error(st, "looking up an idempotency key");
    sqlite3_reset(stmt);
    return rc;
}

static void copy_column(char *dst, size_t cap, sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    snprintf(dst, cap, "%s", text ? (const char *)text : "");
}

/* A row read from disk that cannot be shown as a run (terminal rows are
 * not validated by the load): why, or NULL. */
static const char *row_problem(sqlite3_stmt *stmt)
{
    if (sqlite3_column_int64(stmt, 0) <= 0)
        return "run id out of range";
    if ((uint64_t)sqlite3_column_int64(stmt, 1) > JOBQ_RUN_CANCELLED)
        return "state out of range";
    if ((uint64_t)sqlite3_column_int64(stmt, 6) > JOBQ_PRIORITY_NORMAL)
        return "priority out of range";
    if ((uint64_t)sqlite3_column_int64(stmt, 7) > JOBQ_FLOW_LEGACY)
        return "flow out of range";
    return NULL;
}

static void fill_info(jobq_run_info *info, const jq_config *config,
                      sqlite3_stmt *stmt)
{
    unsigned version = info->version;
    memset(info, 0, sizeof *info);
    info->version = version;
    info->id = (jobq_run_id)sqlite3_column_int64(stmt, 0);
    info->state = (jobq_run_state)sqlite3_column_int(stmt, 1);
    copy_column(info->run_name, sizeof info->run_name, stmt, 2);
    copy_column(info->job, sizeof info->job, stmt, 3);
    copy_column(info->domain, sizeof info->domain, stmt, 4);
    copy_column(info->ns, sizeof info->ns, stmt, 5);
    info->priority = (jobq_priority)sqlite3_column_int(stmt, 6);
    info->flow = (jobq_flow)sqlite3_column_int(stmt, 7);
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        info->request.amount[d] = sqlite3_column_int64(stmt, 8 + d);
    info->submitted_at = sqlite3_column_int64(stmt, 12);
    info->deployed_at = sqlite3_column_int64(stmt, 13);
    info->ended_at = sqlite3_column_int64(stmt, 14);
    info->head_timeout_at = -1;
    info->retries_used = (unsigned)sqlite3_column_int(stmt, 15);
    int64_t left = config->head_retry_count - info->retries_used;
    info->retries_left = left > 0 ? (unsigned)left : 0;
    info->deploy_attempts = (unsigned)sqlite3_column_int(stmt, 16);
    copy_column(info->reason, sizeof info->reason, stmt, 17);
    copy_column(info->detail, sizeof info->detail, stmt, 18);
}

int jq_store_run_info(jq_store *st, const jq_config *config,
                      jobq_run_info *info, jobq_run_id id)
{
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_RUN_SELECT);
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, (int64_t)id);
    const char *why = NULL;
    if (jq_store_run_quarantined(st, (int64_t)id, &why)) {
        snprintf(st->errmsg, sizeof st->errmsg, "%s: run %llu is "
                 "quarantined: %s", jq_store_path(st),
                 (unsigned long long)id, why);
        return JOBQ_EIO;
    }
    int step = sqlite3_step(stmt);
    int rc = JOBQ_ENOTFOUND;
    if (step == SQLITE_ROW && (why = row_problem(stmt)) != NULL) {
        snprintf(st->errmsg, sizeof st->errmsg, "%s: run %llu: the row is "
                 "damaged (%s)", jq_store_path(st), (unsigned long long)id,
                 why);
        rc = JOBQ_EIO;
    } else if (step == SQLITE_ROW) {
        fill_info(info, config, stmt);
        rc = 0;
    } else if (step != SQLITE_DONE)
        rc = jq_store_sql_error(st, "reading a run");
    sqlite3_reset(stmt);
    return rc;
}

static cJSON *event_json(sqlite3_stmt *stmt)
{
    cJSON *ev = cJSON_CreateObject();
    if (!ev)
        return NULL;
    jobq_event_type type = (jobq_event_type)sqlite3_column_int(stmt, 0);
    const char *name = jobq_event_name(type);
    cJSON_AddStringToObject(ev, "event", name ? name : "unknown");
    cJSON_AddNumberToObject(ev, "time", (double)sqlite3_column_int64(stmt, 1));
    if (sqlite3_column_type(stmt, 2) != SQLITE_NULL) {
        const char *res = jobq_resource_name(
            (jobq_resource_kind)sqlite3_column_int(stmt, 2));
        cJSON_AddStringToObject(ev, "resource", res ? res : "unknown");
        cJSON_AddNumberToObject(ev, "requested",
                                (double)sqlite3_column_int64(stmt, 3));
        cJSON_AddNumberToObject(ev, "available",
                                (double)sqlite3_column_int64(stmt, 4));
    }
    if (sqlite3_column_type(stmt, 5) != SQLITE_NULL)
        cJSON_AddNumberToObject(ev, "wait_ms",
                                (double)sqlite3_column_int64(stmt, 5));
    if (sqlite3_column_type(stmt, 6) != SQLITE_NULL)
        cJSON_AddNumberToObject(ev, "retry", sqlite3_column_int(stmt, 6));
    const char *reason = (const char *)sqlite3_column_text(stmt, 7);
    const char *detail = (const char *)sqlite3_column_text(stmt, 8);
    if (reason)
        cJSON_AddStringToObject(ev, "reason", reason);
    if (detail)
        cJSON_AddStringToObject(ev, "detail", detail);
    return ev;
}

int jq_store_run_events(jq_store *st, void *json_array, jobq_run_id id)
{
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_EVENTS_SELECT);
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_int64(stmt, 1, (int64_t)id);
    int step, rc = 0;
    while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        cJSON *ev = event_json(stmt);
        if (!ev || !cJSON_AddItemToArray(json_array, ev))
            rc = JOBQ_ENOMEM;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = jq_store_sql_error(st, "reading events");
    sqlite3_reset(stmt);
    return rc;
}

int jq_store_deploy_rate(jq_store *st, const char *ns, int priority,
                         jobq_time_ms since, uint64_t *count,
                         jobq_time_ms *first)
{
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_DEPLOY_RATE);
    if (!stmt)
        return JOBQ_EIO;
    sqlite3_bind_text(stmt, 1, ns, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, priority);
    sqlite3_bind_int64(stmt, 3, since);
    int rc = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        *count = (uint64_t)sqlite3_column_int64(stmt, 0);
        *first = sqlite3_column_int64(stmt, 1);
    } else
        rc = jq_store_sql_error(st, "reading the deployment rate");
    sqlite3_reset(stmt);
    return rc;
}

/* Collect the first column of every row into a malloc'd id array. */
static int collect_ids(jq_store *st, sqlite3_stmt *stmt, jobq_run_id **out,
                       size_t *count)
{
    size_t n = 0, capacity = 0;
    jobq_run_id *ids = NULL;
    int step, rc = 0;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            jobq_run_id *grown = realloc(ids, capacity * sizeof *grown);
            if (!grown) {
                rc = JOBQ_ENOMEM;
                break;
            }
            ids = grown;
        }
        int64_t id = sqlite3_column_int64(stmt, 0);
        /* Quarantined runs are reported by jobq_quarantine_list. */
        if (!jq_store_run_quarantined(st, id, NULL))
            ids[n++] = (jobq_run_id)id;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = jq_store_sql_error(st, "listing runs");
    sqlite3_reset(stmt);
    if (rc != 0 || n == 0) {
        free(ids);
        ids = NULL;
        n = 0;
    }
    *out = ids;
    *count = n;
    return rc;
}

static int64_t sql_limit(size_t limit)
{
    return limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit;
}

int jq_store_list(jq_store *st, const jobq_run_filter *filter,
                  jobq_run_id **out, size_t *count)
{
    sqlite3_stmt *stmt = jq_store_stmt(st, STMT_LIST);
    if (!stmt)
        return JOBQ_EIO;
    jq_store_bind_text(stmt, 1, filter->ns, false);
    sqlite3_bind_int(stmt, 2, filter->priority);
    sqlite3_bind_int(stmt, 3, filter->state);
    sqlite3_bind_int64(stmt, 4, sql_limit(filter->limit));
    return collect_ids(st, stmt, out, count);
}

/* Characters (not bytes) in a UTF-8 string: the trigram tokenizer needs at
 * least three to match anything. */
static size_t utf8_length(const char *text)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
}

/* text as one FTS5 phrase: "..." with inner quotes doubled. */
static char *fts_phrase(const char *text)
{
    size_t n = strlen(text);
    char *out = malloc(2 * n + 3), *p = out;
    if (!out)
        return NULL;
    *p++ = '"';
    for (const char *s = text; *s; s++) {
        if (*s == '"')
            *p++ = '"';
        *p++ = *s;
    }
    *p++ = '"';
    *p = '\0';
    return out;
}

/* %text% for LIKE, with %, _ and the escape character escaped. */
static char *like_pattern(const char *text)
{
    size_t n = strlen(text);
    char *out = malloc(2 * n + 3), *p = out;
    if (!out)
        return NULL;
    *p++ = '%';
    for (const char *s = text; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    *p++ = '%';
    *p = '\0';
    return out;
}

int jq_store_search(jq_store *st, const char *text, size_t limit,
                    jobq_run_id **out, size_t *count)
{
    bool short_text = utf8_length(text) < 3;
    char *pattern = short_text ? like_pattern(text) : fts_phrase(text);
    /* Runs above the name index's mark are matched by LIKE (store.c,
     * migration 4 -> 5). */
    char *like = short_text ? NULL : like_pattern(text);
    if (!pattern || (!short_text && !like)) {
        free(pattern);
        free(like);
        return JOBQ_ENOMEM;
    }
    sqlite3_stmt *stmt = jq_store_stmt(st, short_text ? STMT_SEARCH_LIKE
                                                      : STMT_SEARCH_FTS);
    int rc = JOBQ_EIO;
    if (stmt) {
        sqlite3_bind_text(stmt, 1, pattern, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, sql_limit(limit));
        if (like)
            sqlite3_bind_text(stmt, 3, like, -1, SQLITE_STATIC);
        rc = collect_ids(st, stmt, out, count);
    }
    free(pattern);
    free(like);
    return rc;
}
