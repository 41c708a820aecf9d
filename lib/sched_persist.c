/*
 * Persistence glue between the scheduler handle and the SQLite store
 * (lib/store/): open and rebuild on jobq_open, one transaction per public
 * call (jq_sched_write commits it), idempotent and batch submits, retention,
 * and the public calls that read durable state (list, search, explain,
 * cleanup). Without a database every function here falls back to the
 * in-memory behaviour of the core.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "versioned.h"
#include "live.h"
#include "scheduler.h"
#include "store/explain.h"
#include "store/store.h"

/* Runs retention deletes per scheduling cycle, and per jobq_cleanup()
 * transaction: bounded so that cleanup never stalls a cycle. */
#define CLEANUP_PER_TICK 500
#define CLEANUP_PER_BATCH 1000

static int store_failed(jobq_scheduler *s, int rc)
{
    return jq_core_fail(&s->core, rc, "%s", jq_store_errmsg(s->store));
}

/* ------------------------------------------------------------ open/close */

/* A database that already holds a configuration keeps it: the host's
 * config_json is applied on top, without its systemProperties (those are
 * run-time state, persisted by jobq_property_set). */
static int merge_stored_config(jobq_scheduler *s, const char *stored,
                               const char *host_json, char *err, size_t cap)
{
    jq_config config;
    jq_config_defaults(&config);
    int rc = jq_config_parse(&config, &config, stored, strlen(stored), err,
                             cap);
    if (rc == 0 && host_json) {
        cJSON *doc = cJSON_Parse(host_json);
        if (!doc)
            return JOBQ_EPARSE;
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "systemProperties");
        rc = jq_config_apply_json(&config, &config, doc, NULL, err, cap);
        cJSON_Delete(doc);
    }
    if (rc == 0)
        s->core.config = config;
    return rc;
}

static int load_state(jobq_scheduler *s, const jobq_options *opts, char *err,
                      size_t cap)
{
    char *stored = NULL;
    int rc = jq_store_snapshot_begin(s->store);
    if (rc == 0)
        rc = jq_store_load_config(s->store, &stored);
    if (rc == 0 && stored)
        rc = merge_stored_config(s, stored, opts->config_json, err, cap);
    bool new_database = rc == 0 && !stored;
    free(stored);
    jq_store_bind(s->store, &s->core);
    if (rc == 0)
        rc = jq_store_load(s->store, &s->core);
    jq_store_snapshot_end(s->store);
    if (rc != 0)
        return rc;
    /* What was loaded is what is on disk: the base of the first
     * transaction. */
    jq_txn_commit(&s->core);
    if (jq_store_read_only(s->store))
        return 0;
    if ((rc = jq_sched_writable(s)) != 0)
        return rc;
    if (new_database || opts->config_json)
        rc = jq_sched_save_config(s);
    /* Before any admission: runs a crash left DEPLOYING. */
    jq_core_settle_deploying(&s->core, jq_sched_now(s));
    return jq_sched_write(s, rc);
}

int jq_sched_attach_store(jobq_scheduler *s, const jobq_options *opts,
                          bool read_only, char *err, size_t err_cap)
{
    if (!opts->db_path)
        return 0;
    int rc = jq_store_open(&s->store, opts->db_path, opts->durability,
                           read_only, err, err_cap);
    if (rc != 0)
        return rc;
    s->core.errmsg[0] = '\0';
    rc = load_state(s, opts, err, err_cap);
    if (rc != 0 && err && err_cap && !err[0])
        snprintf(err, err_cap, "%s", s->core.errmsg[0]
                                         ? s->core.errmsg
                                         : jq_store_errmsg(s->store));
    return rc;
}

void jq_sched_detach_store(jobq_scheduler *s)
{
    if (!s->store)
        return;
    jq_store_close(s->store);
    s->store = NULL;
    memset(&s->core.journal, 0, sizeof s->core.journal);
}

/* ----------------------------------------------------------- transactions */

int jq_sched_writable(jobq_scheduler *s)
{
    if (s->store && jq_store_read_only(s->store))
        return jq_core_fail(&s->core, JOBQ_ESTATE, "the database was opened "
                            "read-only (jobq_open_read_only)");
    if (s->store)
        jq_store_call_start(s->store);
    s->call_mark = jq_txn_mark_now(&s->core);
    return s->core.journal_status;
}

/* Commit the open transaction, memory with it: the pending events are
 * delivered only once the commit succeeded. A failed commit (whose outcome
 * may be unknown, SPEC section 2) rolls memory back to the last commit,
 * group-commit waiters' runs included; they get the error too. */
static int commit_all(jobq_scheduler *s)
{
    int rc = jq_store_commit(s->store);
    if (rc != 0) {
        jq_txn_rollback(&s->core, NULL);
        return store_failed(s, rc);
    }
    jq_txn_commit(&s->core);
    /* Terminal runs live on in the database only. */
    jq_core_evict_ended(&s->core);
    return 0;
}

int jq_sched_write(jobq_scheduler *s, int rc)
{
    jq_core *c = &s->core;
    int journal = c->journal_status;
    if (!s->store || jq_store_read_only(s->store)) {
        if (rc != 0 || journal != 0)
            jq_txn_rollback(c, &s->call_mark);
        else
            jq_txn_commit(c);
        return rc ? rc : journal;
    }
    if (rc == 0 && journal == 0) {
        int commit_rc = commit_all(s);
        return commit_rc;
    }
    if (journal == 0) {
        /* The call failed by itself. Inside a transaction shared with
         * group-commit waiters, undo only this call's rows and commit the
         * waiters' for them; otherwise the whole transaction is this
         * call's. */
        bool shared = jq_store_call_end(s->store, false) ||
                      (jq_store_in_transaction(s->store) &&
                       jq_store_has_waiters(s->store));
        if (shared) {
            jq_txn_rollback(c, &s->call_mark);
            char msg[sizeof c->errmsg];
            snprintf(msg, sizeof msg, "%s", c->errmsg);
            commit_all(s); /* a failure there fails the waiters */
            snprintf(c->errmsg, sizeof c->errmsg, "%s", msg);
            return rc;
        }
    }
    jq_store_rollback(s->store);
    jq_txn_rollback(c, NULL);
    if (!c->errmsg[0])
        store_failed(s, journal);
    return rc ? rc : journal;
}

/* One submit inside the caller's transaction (not committed). */
static int submit_one(jobq_scheduler *s, jobq_run_id *out_id, const char *job,
                      const jobq_submit_opts *opts, jobq_time_ms now)
{
    const char *key = opts ? opts->idempotency_key : NULL;
    if (key && *key) {
        if (!s->store)
            return jq_core_fail(&s->core, JOBQ_EINVAL, "idempotency_key "
                                "needs a database (db_path)");
        jobq_run_id existing = 0;
        int rc = jq_store_find_key(s->store, key, &existing);
        if (rc == 0) {
            if (out_id)
                *out_id = existing;
            return 0;
        }
        if (rc != JOBQ_ENOTFOUND)
            return store_failed(s, rc);
        jq_store_set_submit_key(s->store, key);
    }
    int rc = jq_core_submit(&s->core, now, out_id, job, opts);
    if (s->store)
        jq_store_set_submit_key(s->store, NULL);
    return rc;
}

/* Group commit. A submit that finds other threads waiting for the handle
 * leaves its transaction open for them and waits (lock released) until one
 * of them commits it, so that N concurrent submitters share commits (and
 * fsyncs) instead of paying one each. Every call that writes commits at its
 * end, and the write-ahead barrier commits too; if the waiting threads
 * were only readers, the submit commits itself after GROUP_COMMIT_WAIT_MS.
 * Either way it returns only once its run is durable. */
#define GROUP_COMMIT_WAIT_MS 5

static int commit_with_others(jobq_scheduler *s)
{
    /* Our rows stay in the transaction whoever commits it. */
    jq_store_call_end(s->store, true);
    int rc = jq_store_await_commit(s->store, &s->lock, GROUP_COMMIT_WAIT_MS);
    if (rc == JOBQ_EBUSY) { /* nobody committed in time */
        s->core.journal_status = 0;
        return jq_sched_write(s, 0);
    }
    if (rc != 0)
        return jq_core_fail(&s->core, rc, "the transaction holding this "
                            "submit could not be committed");
    /* Committed. Other calls ran while we waited; a journal failure one
     * of them left behind (a cycle that failed after the commit that
     * included us) is not ours: jq_sched_leave would report it. */
    s->core.journal_status = 0;
    return 0;
}

int jq_sched_submit(jobq_scheduler *s, jobq_run_id *out_id, const char *job,
                    const jobq_submit_opts *opts)
{
    int rc = jq_sched_writable(s);
    if (rc == 0)
        rc = submit_one(s, out_id, job, opts, jq_sched_now(s));
    if (rc == 0 && s->store && s->core.journal_status == 0 &&
        jq_store_in_transaction(s->store) && atomic_load(&s->waiting) > 0)
        return commit_with_others(s);
    return jq_sched_write(s, rc);
}

/* A failed part of a tick's input: its message, prefixed with the part. */
static int input_failed(jobq_scheduler *s, int rc, const char *part)
{
    char msg[sizeof s->core.errmsg];
    snprintf(msg, sizeof msg, "%s", s->core.errmsg);
    return jq_core_fail(&s->core, rc, "%s: %s", part, msg);
}

static int apply_tick_input(jobq_scheduler *s, const jobq_tick_input *in)
{
    int rc = 0;
    if (in->submit_count > 0) {
        rc = jq_sched_submit_all(s, in->submit_ids, in->submit_jobs,
                                 in->submit_opts, in->submit_count);
        if (rc != 0)
            return input_failed(s, rc, "submit");
    }
    if (in->report_count > 0) {
        rc = jq_sched_report_all(s, in->report_ids, in->report_states,
                                 in->report_details, in->report_count);
        if (rc != 0)
            return input_failed(s, rc, "report");
    }
    return 0;
}

int jq_sched_tick(jobq_scheduler *s, jobq_time_ms now,
                  const jobq_tick_input *in, jobq_tick_stats *st)
{
    /* The deployer's poll answers first, with the lock released: nothing
     * of the cycle is written yet (core/cycle.c, "Poll outside the lock"). */
    if (!jq_live_is_client(s) && !(s->store && jq_store_read_only(s->store)))
        jq_core_poll_running(&s->core);
    int rc = jq_live_tick(s, now); /* requests from other processes */
    if (rc == 0)
        rc = jq_sched_writable(s);
    /* The input joins the cycle's transaction: the cycle's first commit
     * (its write-ahead commit, or its only one) makes it durable. */
    if (rc == 0 && in)
        rc = apply_tick_input(s, in);
    if (rc == 0)
        rc = jq_core_tick(&s->core, now, st);
    if (rc == 0 && s->store && s->core.config.cleanup_enabled) {
        uint64_t deleted = 0;
        rc = jq_store_cleanup(s->store,
                              now - s->core.config.retention_period_s * 1000,
                              CLEANUP_PER_TICK, &deleted);
        if (rc != 0)
            store_failed(s, rc);
    }
    return jq_sched_write(s, rc);
}

int jq_sched_run_info(jobq_scheduler *s, jobq_run_info *info, jobq_run_id id)
{
    int rc = jq_core_run_info(&s->core, info, id);
    if (rc == JOBQ_ENOTFOUND && s->store) {
        rc = jq_store_run_info(s->store, &s->core.config, info, id);
        if (rc != 0 && rc != JOBQ_ENOTFOUND)
            return store_failed(s, rc);
    }
    if (rc == JOBQ_ENOTFOUND)
        jq_core_fail(&s->core, rc, "no run with id %" PRIu64, id);
    return rc;
}

int jq_sched_check_ended(jobq_scheduler *s, jobq_run_id id, int rc)
{
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    if (rc != JOBQ_ENOTFOUND || !s->store ||
        jq_store_run_info(s->store, &s->core.config, &info, id) != 0)
        return rc;
    return jq_core_fail(&s->core, JOBQ_ESTATE, "run %" PRIu64 " already "
                        "ended (%s)", id, jobq_run_state_name(info.state));
}

int jq_sched_save_config(jobq_scheduler *s)
{
    if (!s->store || jq_store_read_only(s->store))
        return 0;
    char *json = jq_config_to_json(&s->core.config);
    if (!json)
        return jq_core_fail(&s->core, JOBQ_ENOMEM, "out of memory");
    int rc = jq_store_save_config(s->store, json);
    free(json);
    return rc ? store_failed(s, rc) : 0;
}

/* ------------------------------------------------------------ batch submit */

static int check_submit_opts(jobq_scheduler *s, const jobq_submit_opts *opts,
                             size_t index)
{
    if (!opts || (opts->version >= 1 &&
                  opts->version <= JOBQ_SUBMIT_OPTS_VERSION))
        return 0;
    return jq_core_fail(&s->core, JOBQ_EVERSION, "runs[%zu]: jobq_submit_opts "
                        "version %u is not supported (1..%d)", index,
                        opts->version, JOBQ_SUBMIT_OPTS_VERSION);
}

static int submit_all(jobq_scheduler *s, jobq_run_id *out_ids,
                      const char *const *jobs, const jobq_submit_opts *opts,
                      size_t count)
{
    jobq_time_ms now = jq_sched_now(s);
    for (size_t i = 0; i < count; i++) {
        const jobq_submit_opts *o = opts ? &opts[i] : NULL;
        jobq_run_id id = 0;
        int rc = check_submit_opts(s, o, i);
        if (rc == 0)
            rc = submit_one(s, &id, jobs[i], o, now);
        if (rc != 0) {
            char msg[sizeof s->core.errmsg];
            snprintf(msg, sizeof msg, "%s", s->core.errmsg);
            jq_core_fail(&s->core, rc, "runs[%zu]: %s", i, msg);
            return rc;
        }
        if (out_ids)
            out_ids[i] = id;
    }
    return 0;
}

int jq_sched_submit_all(jobq_scheduler *s, jobq_run_id *out_ids,
                        const char *const *jobs, const jobq_submit_opts *opts,
                        size_t count)
{
    if (count > 0 && !jobs)
        return jq_core_fail(&s->core, JOBQ_EINVAL, "jobs must not be NULL");
    /* All or nothing: check them all first (robust). */
    int rc = jq_submit_batch_check(s, out_ids, jobs, opts, count);
    return rc ? rc : submit_all(s, out_ids, jobs, opts, count);
}

/* A cycle calling the deployer on another thread: a batch with a run that
 * deploys at once waits for it (scheduler.c). */
struct batch_jobs {
    const char *const *jobs;
    size_t count;
};

static bool batch_waits(const jobq_scheduler *s, const void *arg)
{
    const struct batch_jobs *b = arg;
    for (size_t i = 0; b->jobs && i < b->count; i++)
        if (jq_core_submit_waits_for_cycle(&s->core, b->jobs[i]))
            return true;
    return false;
}

JOBQ_API int jobq_run_submit_batch(jobq_scheduler *s, jobq_run_id *out_ids,
                                   const char *const *jobs,
                                   const jobq_submit_opts *opts, size_t count)
{
    JQ_LIVE_DISPATCH(s, jq_client_submit_batch(s, out_ids, jobs, opts, count));
    ENTER(s);
    struct batch_jobs batch = {jobs, count};
    jq_sched_await_cycle(s, batch_waits, &batch);
    int rc = jq_sched_writable(s);
    if (rc == 0)
        rc = jq_sched_submit_all(s, out_ids, jobs, opts, count);
    rc = jq_sched_write(s, rc);
    /* All or none (the transaction rolled back). */
    for (size_t i = 0; rc != 0 && out_ids && i < count; i++)
        out_ids[i] = 0;
    return LEAVE(s, rc);
}

/* ------------------------------------------------------------ list/search */

JOBQ_API int jobq_run_filter_init(jobq_run_filter *filter, unsigned version)
{
    const jobq_run_filter init = JOBQ_RUN_FILTER_INIT;
    return jq_versioned_init(filter, &init, sizeof init, version,
                             JOBQ_RUN_FILTER_VERSION);
}

static int compare_ids(const void *a, const void *b)
{
    jobq_run_id x = *(const jobq_run_id *)a, y = *(const jobq_run_id *)b;
    return x < y ? -1 : x > y;
}

typedef bool (*run_match_fn)(const jq_run *run, const void *arg);

/* Without a database: every run in memory that matches, ascending ids. */
static int scan_memory(jobq_scheduler *s, jobq_run_id **out, size_t *count,
                       run_match_fn match, const void *arg)
{
    const jq_idmap *map = &s->core.runs;
    jobq_run_id *ids = map->count ? malloc(map->count * sizeof *ids) : NULL;
    size_t n = 0;
    if (map->count && !ids)
        return jq_core_fail(&s->core, JOBQ_ENOMEM, "out of memory");
    for (size_t i = 0; i < map->capacity; i++)
        if (map->slots[i] && match(map->slots[i], arg))
            ids[n++] = map->slots[i]->id;
    if (n > 1) /* never qsort(NULL, 0): UBSan (robust, issue 8) */
        qsort(ids, n, sizeof *ids, compare_ids);
    if (n == 0) {
        free(ids);
        ids = NULL;
    }
    *out = ids;
    *count = n;
    return 0;
}

static bool filter_matches(const jq_run *run, const void *arg)
{
    const jobq_run_filter *f = arg;
    return (!f->ns || strcmp(f->ns, run->ns->name) == 0) &&
           (f->priority < 0 || f->priority == run->priority) &&
           (f->state < 0 || f->state == run->state);
}

static void keep_newest(jobq_run_id *ids, size_t *count, size_t limit)
{
    if (limit == 0 || *count <= limit)
        return;
    memmove(ids, ids + (*count - limit), limit * sizeof *ids);
    *count = limit;
}

JOBQ_API int jobq_run_list(jobq_scheduler *s, jobq_run_id **out_ids,
                           size_t *out_count, const jobq_run_filter *filter)
{
    ENTER(s);
    jobq_run_filter all = JOBQ_RUN_FILTER_INIT;
    const jobq_run_filter *f = filter ? filter : &all;
    int rc = 0;
    if (!out_ids || !out_count)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL,
                          "out_ids and out_count must not be NULL");
    else if (f->version < 1 || f->version > JOBQ_RUN_FILTER_VERSION)
        rc = jq_core_fail(&s->core, JOBQ_EVERSION, "jobq_run_filter version "
                          "%u is not supported (1..%d)", f->version,
                          JOBQ_RUN_FILTER_VERSION);
    else if (s->store) {
        rc = jq_store_list(s->store, f, out_ids, out_count);
        if (rc)
            store_failed(s, rc);
    } else if ((rc = scan_memory(s, out_ids, out_count, filter_matches, f)) ==
               0)
        keep_newest(*out_ids, out_count, f->limit);
    return LEAVE(s, rc);
}

/* ASCII case-insensitive strstr (names are matched like SQLite's LIKE). */
static bool contains_ignoring_case(const char *haystack, const char *needle)
{
    if (!haystack)
        return false;
    size_t n = strlen(needle);
    for (; *haystack; haystack++) {
        size_t i = 0;
        while (i < n && haystack[i] &&
               tolower((unsigned char)haystack[i]) ==
                   tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

static bool name_matches(const jq_run *run, const void *arg)
{
    return contains_ignoring_case(run->name, arg) ||
           contains_ignoring_case(run->job->name, arg);
}

static void newest_first(jobq_run_id *ids, size_t *count, size_t limit)
{
    for (size_t i = 0, j = *count; i + 1 < j; i++, j--) {
        jobq_run_id t = ids[i];
        ids[i] = ids[j - 1];
        ids[j - 1] = t;
    }
    if (limit && *count > limit)
        *count = limit;
}

JOBQ_API int jobq_run_search(jobq_scheduler *s, jobq_run_id **out_ids,
                             size_t *out_count, const char *text,
                             size_t limit)
{
    ENTER(s);
    int rc = 0;
    if (!out_ids || !out_count)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL,
                          "out_ids and out_count must not be NULL");
    else if (!text || !*text)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "search text is empty");
    else if (s->store) {
        rc = jq_store_search(s->store, text, limit, out_ids, out_count);
        if (rc)
            store_failed(s, rc);
    } else if ((rc = scan_memory(s, out_ids, out_count, name_matches, text)) ==
               0)
        newest_first(*out_ids, out_count, limit);
    return LEAVE(s, rc);
}

/* ---------------------------------------------------------------- explain */

JOBQ_API int jobq_run_explain(jobq_scheduler *s, char **out_json,
                              jobq_run_id id)
{
    ENTER(s);
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    int rc = 0;
    if (!out_json)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "out_json must not be NULL");
    else if ((rc = jq_sched_run_info(s, &info, id)) == 0) {
        rc = jq_explain(out_json, &s->core, s->store, &info, jq_sched_now(s));
        if (rc)
            jq_core_fail(&s->core, rc, "explaining run %" PRIu64 ": %s", id,
                         s->store ? jq_store_errmsg(s->store)
                                  : "out of memory");
    }
    return LEAVE(s, rc);
}

/* -------------------------------------------------------------- retention */

static int cleanup_store(jobq_scheduler *s, jobq_time_ms cutoff,
                         uint64_t max_runs, uint64_t *total)
{
    for (;;) {
        uint64_t want = CLEANUP_PER_BATCH, deleted = 0;
        if (max_runs && max_runs - *total < want)
            want = max_runs - *total;
        if (want == 0)
            return 0;
        int rc = jq_store_cleanup(s->store, cutoff, want, &deleted);
        if (rc != 0) {
            jq_store_rollback(s->store);
            jq_txn_rollback(&s->core, NULL);
            return store_failed(s, rc);
        }
        if ((rc = commit_all(s)) != 0)
            return rc;
        *total += deleted;
        if (deleted < want)
            return 0;
    }
}

JOBQ_API int jobq_cleanup(jobq_scheduler *s, uint64_t max_runs,
                          uint64_t *out_deleted)
{
    ENTER(s);
    uint64_t total = 0;
    jobq_time_ms cutoff =
        jq_sched_now(s) - s->core.config.retention_period_s * 1000;
    int rc = jq_sched_writable(s);
    if (rc == 0 && s->store)
        rc = cleanup_store(s, cutoff, max_runs, &total);
    else if (rc == 0)
        total = jq_core_forget_ended(&s->core, cutoff,
                                     max_runs ? max_runs : UINT64_MAX);
    if (!s->store)
        rc = jq_sched_write(s, rc);
    /* With a store each batch is a transaction of its own: those that
     * committed before a failure stay deleted, and are counted. */
    if (out_deleted)
        *out_deleted = rc == 0 || s->store ? total : 0;
    return LEAVE(s, rc);
}
