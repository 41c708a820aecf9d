/*
 * The public scheduler handle: argument checking, the lock, per-handle
 * error messages, the clock and configuration, around the policy core
 * (core/core.c), which does the actual scheduling.
 *
 * Every public entry point follows the same shape: enter() takes the lock
 * (refusing a re-entrant call from inside one of our own callbacks), the
 * core does the work, leave() records the outcome and releases the lock.
 *
 * Deploying outside the lock (issue 11). A cycle calls the deployer for
 * the runs it planned with the lock released (core/cycle.c, "Deploying
 * outside the lock", through the window hooks below), and asks `poll`
 * about the deployed runs the same way before it begins (cycle.c, "Poll
 * outside the lock"), so that a slow deployer does not hold up the other
 * threads. Meanwhile:
 *
 *   - the ticking thread still counts as inside its scheduler: a callback
 *     calling back into its own handle gets JOBQ_EBUSY, lock or no lock;
 *   - queries (run info, lists, queues, explain, metrics), submits of
 *     priority-flow runs, cancels, reports and cleanup run at once. They
 *     cannot change what the cycle decides: a run submitted now has an id
 *     at or above the cycle's watermark and waits for the next cycle, a
 *     run the cycle deploys is DEPLOYING (cancel: JOBQ_ESTATE), and a
 *     report or cancel of a deployed run changes nothing admission reads;
 *   - calls that could change it wait until the cycle ends (cycle_done):
 *     another jobq_tick (one cycle at a time), job definitions and flow
 *     changes, configuration and properties, migrate to legacy, a submit
 *     that deploys at once (legacy flow, or the feature disabled: its
 *     deploy would take room the cycle counted on), and a cancel of the
 *     first queued run of a queue (admission may have found it blocked).
 */
#include "scheduler.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "versioned.h"
#include "live.h"
#include "metrics.h"

/* The handle whose lock this thread holds, so that a callback calling back
 * into the same handle fails cleanly instead of deadlocking. */
static _Thread_local const jobq_scheduler *held_by_this_thread;
/* ...and whether it released the lock meanwhile to call the deployer (the
 * window below): a callback of ours still, but without the lock. */
static _Thread_local bool lock_released_by_this_thread;

/* The handle's lock, for a thread inside one of its callbacks (it holds
 * the lock, unless the cycle released it to call the deployer). */
static bool lock_for_callback(jobq_scheduler *s)
{
    if (!lock_released_by_this_thread)
        return false;
    pthread_mutex_lock(&s->lock);
    return true;
}

/* Take the lock, counted in s->waiting meanwhile (group commit). */
static void lock_counted(jobq_scheduler *s)
{
    atomic_fetch_add(&s->waiting, 1);
    pthread_mutex_lock(&s->lock);
    atomic_fetch_sub(&s->waiting, 1);
}

/* The start of a call's work, or of its part after other calls ran: no
 * journal failure or message of theirs is this one's. */
static void start_afresh(jobq_scheduler *s)
{
    s->core.journal_status = 0;
    s->core.errmsg[0] = '\0';
}

int jq_sched_enter(jobq_scheduler *s, const jobq_scheduler **saved)
{
    if (held_by_this_thread == s) {
        /* We are inside one of our own callbacks: this thread holds the
         * lock, or released it only to call the deployer. */
        bool locked = lock_for_callback(s);
        snprintf(s->errmsg, sizeof s->errmsg,
                 "re-entrant call from a callback: a probe, deployer, clock "
                 "or event callback must not call back into its scheduler");
        if (locked)
            pthread_mutex_unlock(&s->lock);
        return JOBQ_EBUSY;
    }
    lock_counted(s);
    *saved = held_by_this_thread;
    held_by_this_thread = s;
    start_afresh(s);
    jq_live_refresh(s); /* a client handle's view of the database */
    return 0;
}

int jq_sched_leave(jobq_scheduler *s, const jobq_scheduler *saved, int rc)
{
    if (rc == 0 && s->core.journal_status != 0) {
        rc = JOBQ_EIO;
        if (!s->core.errmsg[0])
            snprintf(s->core.errmsg, sizeof s->core.errmsg,
                     "the database could not record the change");
    }
    if (rc != 0)
        snprintf(s->errmsg, sizeof s->errmsg, "%s",
                 s->core.errmsg[0] ? s->core.errmsg : jobq_strerror(rc));
    held_by_this_thread = saved;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ------------------------------------------------------------------ clock */

static jobq_time_ms monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (jobq_time_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The default clock: wall time read once at open, advanced by the
 * monotonic clock, so persisted times are Unix-epoch milliseconds and yet
 * never jump backwards when the wall clock is adjusted. */
static jobq_time_ms default_clock_now(void *ctx)
{
    const jobq_scheduler *s = ctx;
    return s->wall_at_open + (monotonic_ms() - s->mono_at_open);
}

/* --------------------------------------------- deploying outside the lock */

bool jq_sched_always(const jobq_scheduler *s, const void *arg)
{
    (void)s, (void)arg;
    return true;
}

void jq_sched_await_cycle(jobq_scheduler *s,
                          bool (*needed)(const jobq_scheduler *s,
                                         const void *arg),
                          const void *arg)
{
    if (!s->cycle_busy || !needed(s, arg))
        return;
    /* Counted, so that the next cycle lets us in first (begin_cycle):
     * back-to-back cycles would otherwise starve us. */
    s->cycle_waiters++;
    while (s->cycle_busy && needed(s, arg))
        pthread_cond_wait(&s->cycle_done, &s->lock);
    if (--s->cycle_waiters == 0)
        pthread_cond_broadcast(&s->cycle_done);
    start_afresh(s); /* other calls ran meanwhile */
}

/* One cycle at a time: a jobq_tick waits for the running cycle to end, and
 * for the calls that were waiting for it to go first. */
static void begin_cycle(jobq_scheduler *s)
{
    if (!s->cycle_busy && s->cycle_waiters == 0)
        return;
    while (s->cycle_busy || s->cycle_waiters > 0)
        pthread_cond_wait(&s->cycle_done, &s->lock);
    start_afresh(s);
}

static void end_cycle(jobq_scheduler *s)
{
    s->cycle_busy = false;
    pthread_cond_broadcast(&s->cycle_done);
}

/* The core's window (core.h): the ticking thread lets other threads in
 * while it calls the deployer. held_by_this_thread stays set, so that a
 * callback calling back into this handle still gets JOBQ_EBUSY. */
static void window_unlock(void *ctx)
{
    jobq_scheduler *s = ctx;
    lock_released_by_this_thread = true;
    pthread_mutex_unlock(&s->lock);
}

static void window_relock(void *ctx)
{
    jobq_scheduler *s = ctx;
    lock_counted(s);
    lock_released_by_this_thread = false;
    /* A new transaction for the rest of the cycle: whatever other threads
     * committed (or left for a group commit) meanwhile is behind its
     * savepoint, so that a failure undoes only the cycle's own changes. */
    start_afresh(s);
    (void)jq_sched_writable(s);
}

jobq_time_ms jq_sched_now(const jobq_scheduler *s)
{
    return s->clock.now_ms(s->clock.ctx);
}

static void forward_event(void *ctx, const jobq_event *event)
{
    jobq_scheduler *s = ctx;
    jq_metrics_observe_event(s->metrics, event);
    if (s->events.on_event)
        s->events.on_event(s->events.ctx, event);
}

/* ------------------------------------------------------------ open/close */

static int check_vtable_version(unsigned version, unsigned known,
                                const char *what, char *err, size_t cap)
{
    if (version >= 1 && version <= known)
        return 0;
    if (err && cap)
        snprintf(err, cap, "%s version %u is not supported (1..%u)", what,
                 version, known);
    return JOBQ_EVERSION;
}

static int check_options(const jobq_options *o, char *err, size_t cap)
{
    int rc;
    if ((rc = check_vtable_version(o->version, JOBQ_OPTIONS_VERSION,
                                   "jobq_options", err, cap)))
        return rc;
    if (o->clock && ((rc = check_vtable_version(o->clock->version,
                                                JOBQ_CLOCK_VERSION,
                                                "jobq_clock", err, cap)) ||
                     !o->clock->now_ms)) {
        if (!rc && err && cap)
            snprintf(err, cap, "jobq_clock.now_ms is NULL");
        return rc ? rc : JOBQ_EINVAL;
    }
    if (o->probe && ((rc = check_vtable_version(o->probe->version,
                                                JOBQ_PROBE_VERSION,
                                                "jobq_probe", err, cap))))
        return rc;
    if (o->deployer && ((rc = check_vtable_version(o->deployer->version,
                                                   JOBQ_DEPLOYER_VERSION,
                                                   "jobq_deployer", err, cap))))
        return rc;
    if (o->events && ((rc = check_vtable_version(o->events->version,
                                                 JOBQ_EVENT_SINK_VERSION,
                                                 "jobq_event_sink", err, cap))))
        return rc;
    if (o->durability != JOBQ_DURABILITY_FULL &&
        o->durability != JOBQ_DURABILITY_NORMAL) {
        if (err && cap)
            snprintf(err, cap, "durability %d is not FULL (0) or NORMAL (1)",
                     (int)o->durability);
        return JOBQ_EINVAL;
    }
    return 0;
}

JOBQ_API int jobq_options_init(jobq_options *opts, unsigned version)
{
    const jobq_options init = JOBQ_OPTIONS_INIT;
    return jq_versioned_init(opts, &init, sizeof init, version,
                             JOBQ_OPTIONS_VERSION);
}

static int open_scheduler(jobq_scheduler **out, const jobq_options *opts,
                          bool read_only, char *err, size_t err_cap)
{
    if (err && err_cap)
        err[0] = '\0';
    if (!out || !opts) {
        if (err && err_cap)
            snprintf(err, err_cap, "jobq_open: out and opts must not be NULL");
        return JOBQ_EINVAL;
    }
    *out = NULL;
    int rc = check_options(opts, err, err_cap);
    if (rc)
        return rc;
    jobq_scheduler *s = calloc(1, sizeof *s);
    if (!s)
        return JOBQ_ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cycle_done, NULL);
    if (!(s->metrics = jq_metrics_new())) {
        pthread_cond_destroy(&s->cycle_done);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return JOBQ_ENOMEM;
    }
    struct timespec wall; /* milliseconds: outcomes are compared with other
                           * processes' wall clocks (live.c) */
    clock_gettime(CLOCK_REALTIME, &wall);
    s->wall_at_open = (jobq_time_ms)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
    s->mono_at_open = monotonic_ms();
    if (opts->clock) {
        s->clock = *opts->clock;
    } else {
        s->clock.version = JOBQ_CLOCK_VERSION;
        s->clock.ctx = s;
        s->clock.now_ms = default_clock_now;
    }
    if (opts->events)
        s->events = *opts->events;
    jq_core_init(&s->core, opts->probe, opts->deployer, forward_event, s);
    s->core.window = (jq_window){s, window_unlock, window_relock};

    if (opts->config_json) {
        jq_config config;
        rc = jq_config_parse(&config, &s->core.config, opts->config_json,
                             strlen(opts->config_json), err, err_cap);
        if (rc) {
            jobq_close(s);
            return rc;
        }
        s->core.config = config;
    }
    rc = jq_sched_attach_store(s, opts, read_only, err, err_cap);
    if (rc) {
        jobq_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

JOBQ_API int jobq_open(jobq_scheduler **out, const jobq_options *opts,
                       char *err, size_t err_cap)
{
    return open_scheduler(out, opts, false, err, err_cap);
}

JOBQ_API int jobq_open_read_only(jobq_scheduler **out, const char *db_path,
                                 char *err, size_t err_cap)
{
    if (!db_path) {
        if (out)
            *out = NULL;
        if (err && err_cap)
            snprintf(err, err_cap, "jobq_open_read_only: db_path must not be "
                     "NULL");
        return JOBQ_EINVAL;
    }
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = db_path;
    return open_scheduler(out, &opts, true, err, err_cap);
}

JOBQ_API void jobq_close(jobq_scheduler *s)
{
    if (!s)
        return;
    jq_live_close(s);
    jq_sched_detach_store(s);
    jq_core_destroy(&s->core);
    jq_metrics_free(s->metrics);
    pthread_cond_destroy(&s->cycle_done);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

JOBQ_API int jobq_errmsg(jobq_scheduler *s, char *buf, size_t cap)
{
    if (!s)
        return JOBQ_EINVAL;
    /* Callable from inside a callback too: the lock is then already ours. */
    bool locked = true;
    if (held_by_this_thread == s)
        locked = lock_for_callback(s);
    else
        pthread_mutex_lock(&s->lock);
    int n = snprintf(buf, buf ? cap : 0, "%s", s->errmsg);
    if (locked)
        pthread_mutex_unlock(&s->lock);
    return n;
}

/* ------------------------------------------------------------------- jobs */

JOBQ_API int jobq_job_def_init(jobq_job_def *def, unsigned version)
{
    const jobq_job_def init = JOBQ_JOB_DEF_INIT;
    return jq_versioned_init(def, &init, sizeof init, version,
                             JOBQ_JOB_DEF_VERSION);
}


static int struct_version_error(jobq_scheduler *s, const char *what,
                                unsigned version, unsigned known)
{
    snprintf(s->core.errmsg, sizeof s->core.errmsg,
             "%s version %u is not supported (1..%u)", what, version, known);
    return JOBQ_EVERSION;
}

JOBQ_API int jobq_job_define(jobq_scheduler *s, const jobq_job_def *def)
{
    JQ_LIVE_DISPATCH(s, jq_client_job_define(s, def));
    ENTER(s);
    jq_sched_await_cycle(s, jq_sched_always, NULL);
    int rc;
    if (!def)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "def must not be NULL");
    else if (def->version < 1 || def->version > JOBQ_JOB_DEF_VERSION)
        rc = struct_version_error(s, "jobq_job_def", def->version,
                                  JOBQ_JOB_DEF_VERSION);
    else if ((rc = jq_sched_writable(s)) != 0)
        ;
    else
        rc = jq_sched_write(s, jq_core_define_job(&s->core, jq_sched_now(s),
                                                  def));
    return LEAVE(s, rc);
}

JOBQ_API int jobq_job_set_flow(jobq_scheduler *s, const char *job,
                               jobq_flow flow)
{
    JQ_LIVE_DISPATCH(s, jq_client_job_set_flow(s, job, flow));
    ENTER(s);
    jq_sched_await_cycle(s, jq_sched_always, NULL);
    int rc = jq_sched_writable(s);
    if (rc == 0)
        rc = jq_sched_write(
            s, jq_core_set_job_flow(&s->core, jq_sched_now(s), job, flow));
    return LEAVE(s, rc);
}

/* ------------------------------------------------------------------- runs */

JOBQ_API int jobq_submit_opts_init(jobq_submit_opts *opts, unsigned version)
{
    const jobq_submit_opts init = JOBQ_SUBMIT_OPTS_INIT;
    return jq_versioned_init(opts, &init, sizeof init, version,
                             JOBQ_SUBMIT_OPTS_VERSION);
}

static bool submit_waits(const jobq_scheduler *s, const void *job)
{
    return jq_core_submit_waits_for_cycle(&s->core, job);
}

static bool cancel_waits(const jobq_scheduler *s, const void *id)
{
    return jq_core_cancel_waits_for_cycle(&s->core,
                                          *(const jobq_run_id *)id);
}

JOBQ_API int jobq_run_submit(jobq_scheduler *s, jobq_run_id *out_id,
                             const char *job, const jobq_submit_opts *opts)
{
    JQ_LIVE_DISPATCH(s, jq_client_submit(s, out_id, job, opts));
    ENTER(s);
    jq_sched_await_cycle(s, submit_waits, job);
    int rc;
    if (opts && (opts->version < 1 ||
                 opts->version > JOBQ_SUBMIT_OPTS_VERSION))
        rc = struct_version_error(s, "jobq_submit_opts", opts->version,
                                  JOBQ_SUBMIT_OPTS_VERSION);
    else
        rc = jq_sched_submit(s, out_id, job, opts);
    if (rc != 0 && out_id)
        *out_id = 0; /* nothing was submitted */
    return LEAVE(s, rc);
}

JOBQ_API int jobq_run_cancel(jobq_scheduler *s, jobq_run_id id,
                             const char *detail)
{
    JQ_LIVE_DISPATCH(s, jq_client_cancel(s, id, detail));
    ENTER(s);
    jq_sched_await_cycle(s, cancel_waits, &id);
    int rc = jq_sched_writable(s);
    if (rc == 0)
        rc = jq_sched_write(
            s, jq_sched_check_ended(
                   s, id, jq_core_cancel(&s->core, jq_sched_now(s), id,
                                         detail)));
    return LEAVE(s, rc);
}

JOBQ_API int jobq_run_report(jobq_scheduler *s, jobq_run_id id,
                             jobq_run_state state, const char *detail)
{
    ENTER(s);
    int rc = jq_sched_writable(s);
    if (rc == 0)
        rc = jq_sched_write(
            s, jq_sched_check_ended(
                   s, id, jq_core_report(&s->core, jq_sched_now(s), id, state,
                                         detail)));
    return LEAVE(s, rc);
}

JOBQ_API int jobq_run_info_init(jobq_run_info *info, unsigned version)
{
    const jobq_run_info init = {0};
    return jq_versioned_init(info, &init, sizeof init, version,
                             JOBQ_RUN_INFO_VERSION);
}

JOBQ_API int jobq_run_get(jobq_scheduler *s, jobq_run_info *info,
                          jobq_run_id id)
{
    ENTER(s);
    int rc;
    if (!info)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "info must not be NULL");
    else if (info->version < 1 || info->version > JOBQ_RUN_INFO_VERSION)
        rc = struct_version_error(s, "jobq_run_info", info->version,
                                  JOBQ_RUN_INFO_VERSION);
    else
        rc = jq_sched_run_info(s, info, id);
    return LEAVE(s, rc);
}

/* ------------------------------------------------------------- scheduling */

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One cycle, its wall time observed for jobq_cycle_duration_seconds.
 * Measurement only: the reading never reaches the policy core. */
static int timed_cycle(jobq_scheduler *s, jobq_time_ms now,
                       const jobq_tick_input *input, jobq_tick_stats *stats)
{
    uint64_t started = monotonic_ns();
    int rc = jq_sched_tick(s, now, input, stats);
    jq_metrics_observe_cycle(s->metrics, monotonic_ns() - started);
    return rc;
}

/* After a failed jobq_tick_batch(): did its input take effect (was it in
 * a commit before the failure)? Its first new run then still exists. */
static bool input_took_effect(jobq_scheduler *s, const jobq_tick_input *in)
{
    if (!in->submit_ids || in->submit_ids[0] == 0)
        return false;
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    return jq_sched_run_info(s, &info, in->submit_ids[0]) == 0;
}

static int tick(jobq_scheduler *s, jobq_time_ms now,
                const jobq_tick_input *input, jobq_tick_stats *stats)
{
    begin_cycle(s);
    s->cycle_busy = true;
    jobq_tick_stats local = JOBQ_TICK_STATS_INIT;
    int rc = 0;
    if (stats && (stats->version < 1 ||
                  stats->version > JOBQ_TICK_STATS_VERSION))
        rc = struct_version_error(s, "jobq_tick_stats", stats->version,
                                  JOBQ_TICK_STATS_VERSION);
    if (rc == 0 && input && (input->version < 1 ||
                             input->version > JOBQ_TICK_INPUT_VERSION))
        rc = struct_version_error(s, "jobq_tick_input", input->version,
                                  JOBQ_TICK_INPUT_VERSION);
    if (rc == 0) {
        if (now == JOBQ_TIME_NOW)
            now = jq_sched_now(s);
        rc = timed_cycle(s, now, input, &local);
    }
    if (rc == 0 && stats) {
        unsigned version = stats->version;
        *stats = local;
        stats->version = version;
    }
    if (rc != 0 && input && input->submit_ids && input->submit_count > 0) {
        /* The cycle's error is the one to report, not the lookup's. */
        char msg[sizeof s->core.errmsg];
        snprintf(msg, sizeof msg, "%s", s->core.errmsg);
        if (!input_took_effect(s, input))
            for (size_t i = 0; i < input->submit_count; i++)
                input->submit_ids[i] = 0;
        snprintf(s->core.errmsg, sizeof s->core.errmsg, "%s", msg);
    }
    end_cycle(s);
    return rc;
}

JOBQ_API int jobq_tick(jobq_scheduler *s, jobq_time_ms now,
                       jobq_tick_stats *stats)
{
    ENTER(s);
    return LEAVE(s, tick(s, now, NULL, stats));
}

JOBQ_API int jobq_tick_input_init(jobq_tick_input *input, unsigned version)
{
    const jobq_tick_input init = JOBQ_TICK_INPUT_INIT;
    return jq_versioned_init(input, &init, sizeof init, version,
                             JOBQ_TICK_INPUT_VERSION);
}

JOBQ_API int jobq_tick_batch(jobq_scheduler *s, jobq_time_ms now,
                             const jobq_tick_input *input,
                             jobq_tick_stats *stats)
{
    ENTER(s);
    return LEAVE(s, tick(s, now, input, stats));
}

JOBQ_API int jobq_next_deadline(jobq_scheduler *s, jobq_time_ms *out)
{
    ENTER(s);
    int rc = 0;
    if (!out)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "out must not be NULL");
    else
        *out = jq_core_next_deadline(&s->core);
    return LEAVE(s, rc);
}

/* -------------------------------------------------- configuration & flow */

static int apply_config(jobq_scheduler *s, const jq_config *config)
{
    int rc = jq_sched_writable(s);
    if (rc != 0)
        return rc;
    rc = jq_core_set_config(&s->core, config);
    if (rc == 0)
        rc = jq_sched_save_config(s);
    return jq_sched_write(s, rc);
}

JOBQ_API int jobq_configure(jobq_scheduler *s, const char *json)
{
    JQ_LIVE_DISPATCH(s, jq_client_configure(s, json));
    ENTER(s);
    jq_sched_await_cycle(s, jq_sched_always, NULL);
    jq_config config;
    int rc;
    if (!json)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "json must not be NULL");
    else
        rc = jq_config_parse(&config, &s->core.config, json, strlen(json),
                             s->core.errmsg, sizeof s->core.errmsg);
    if (rc == 0)
        rc = apply_config(s, &config);
    return LEAVE(s, rc);
}

JOBQ_API int jobq_property_set(jobq_scheduler *s, const char *key,
                               const char *value)
{
    JQ_LIVE_DISPATCH(s, jq_client_property_set(s, key, value));
    ENTER(s);
    jq_sched_await_cycle(s, jq_sched_always, NULL);
    jq_config config;
    int rc;
    if (!key || !value)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL,
                          "key and value must not be NULL");
    else
        rc = jq_config_set(&config, &s->core.config, key, value,
                           s->core.errmsg, sizeof s->core.errmsg);
    if (rc == 0)
        rc = apply_config(s, &config);
    return LEAVE(s, rc);
}

JOBQ_API int jobq_property_get(jobq_scheduler *s, const char *key, char *buf,
                               size_t cap)
{
    ENTER(s);
    int rc;
    if (!key || (!buf && cap))
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "key must not be NULL");
    else {
        rc = jq_config_get(&s->core.config, key, buf, cap);
        if (rc == JOBQ_ENOTFOUND)
            jq_core_fail(&s->core, rc, "unknown property \"%s\"", key);
        else if (rc >= 0 && (size_t)rc >= cap)
            rc = jq_core_fail(&s->core, JOBQ_ERANGE, "the value of %s needs "
                              "%d bytes", key, rc + 1);
        else if (rc > 0)
            rc = 0;
    }
    return LEAVE(s, rc);
}

JOBQ_API int jobq_config_dump(jobq_scheduler *s, char **out_json)
{
    ENTER(s);
    int rc = 0;
    if (!out_json)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "out_json must not be NULL");
    else if (!(*out_json = jq_config_to_json(&s->core.config)))
        rc = jq_core_fail(&s->core, JOBQ_ENOMEM, "out of memory");
    return LEAVE(s, rc);
}

JOBQ_API int jobq_migrate_to_legacy(jobq_scheduler *s, uint64_t *out_moved)
{
    JQ_LIVE_DISPATCH(s, jq_client_migrate_to_legacy(s, out_moved));
    ENTER(s);
    jq_sched_await_cycle(s, jq_sched_always, NULL);
    int rc = jq_sched_writable(s);
    if (rc == 0)
        rc = jq_sched_write(s, jq_core_migrate_to_legacy(
                                   &s->core, jq_sched_now(s), out_moved));
    return LEAVE(s, rc);
}

JOBQ_API void jobq_free(void *ptr)
{
    free(ptr);
}
