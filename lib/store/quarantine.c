/*
 * Quarantine: the rows a load could not take. Opening must never fail for
 * good because one row is damaged (a run of a job whose definition never
 * committed, a state out of range...): such a row is left in the file as
 * it is, left out of memory, and listed here with the reason, so that
 * jobqctl and the metrics can report it. The list is rebuilt by every load
 * (it describes the file as this handle found it); nothing is written.
 */
#include "store_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void count_table(jq_store *st, const char *table)
{
    size_t n = sizeof st->quarantine_tables / sizeof st->quarantine_tables[0];
    for (size_t i = 0; i < n; i++) {
        if (!st->quarantine_tables[i].table[0])
            snprintf(st->quarantine_tables[i].table,
                     sizeof st->quarantine_tables[i].table, "%s", table);
        if (strcmp(st->quarantine_tables[i].table, table) == 0) {
            st->quarantine_tables[i].count++;
            return;
        }
    }
}

/* Runs are quarantined in ascending id order (the load scans them so). */
static int remember_run(jq_store *st, int64_t id)
{
    if (st->quarantined_run_count == st->quarantined_run_cap) {
        size_t cap = st->quarantined_run_cap ? st->quarantined_run_cap * 2 : 64;
        int64_t *grown = realloc(st->quarantined_runs, cap * sizeof *grown);
        if (!grown)
            return JOBQ_ENOMEM;
        st->quarantined_runs = grown;
        st->quarantined_run_cap = cap;
    }
    st->quarantined_runs[st->quarantined_run_count++] = id;
    return 0;
}

int jq_store_quarantine(jq_store *st, const char *table, int64_t row,
                        const char *fmt, ...)
{
    st->quarantine_count++;
    count_table(st, table);
    if (strcmp(table, "runs") == 0 && remember_run(st, row) != 0)
        return JOBQ_ENOMEM;
    if (st->quarantine_kept == JQ_QUARANTINE_KEPT)
        return 0;
    if (st->quarantine_kept % 64 == 0) {
        jq_quarantine_row *grown =
            realloc(st->quarantine, (st->quarantine_kept + 64) * sizeof *grown);
        if (!grown)
            return JOBQ_ENOMEM;
        st->quarantine = grown;
    }
    jq_quarantine_row *q = &st->quarantine[st->quarantine_kept++];
    memset(q, 0, sizeof *q);
    snprintf(q->table, sizeof q->table, "%s", table);
    q->row = row;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->reason, sizeof q->reason, fmt, ap);
    va_end(ap);
    return 0;
}

void jq_store_quarantine_clear(jq_store *st)
{
    free(st->quarantine);
    st->quarantine = NULL;
    st->quarantine_count = st->quarantine_kept = 0;
    free(st->quarantined_runs);
    st->quarantined_runs = NULL;
    st->quarantined_run_count = st->quarantined_run_cap = 0;
    memset(st->quarantine_tables, 0, sizeof st->quarantine_tables);
}

size_t jq_store_quarantine_count(const jq_store *st)
{
    return st ? st->quarantine_count : 0;
}

const jq_quarantine_row *jq_store_quarantine_get(const jq_store *st, size_t i)
{
    return st && i < st->quarantine_kept ? &st->quarantine[i] : NULL;
}

size_t jq_store_quarantine_count_in(const jq_store *st, const char *table)
{
    if (!st)
        return 0;
    if (!table)
        return st->quarantine_count;
    size_t n = sizeof st->quarantine_tables / sizeof st->quarantine_tables[0];
    for (size_t i = 0; i < n; i++)
        if (strcmp(st->quarantine_tables[i].table, table) == 0)
            return st->quarantine_tables[i].count;
    return 0;
}

bool jq_store_run_quarantined(const jq_store *st, int64_t id,
                              const char **reason)
{
    size_t lo = 0, hi = st->quarantined_run_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st->quarantined_runs[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == st->quarantined_run_count || st->quarantined_runs[lo] != id)
        return false;
    if (reason) {
        *reason = "";
        for (size_t i = 0; i < st->quarantine_kept; i++)
            if (st->quarantine[i].row == id &&
                strcmp(st->quarantine[i].table, "runs") == 0)
                *reason = st->quarantine[i].reason;
    }
    return true;
}
