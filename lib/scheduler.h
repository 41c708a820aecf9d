/*
 * The scheduler handle's private layout, shared by scheduler.c (the public
 * API) and the modules that extend a handle: the durable store glue
 * (sched_persist.c) and the metrics.
 */
#ifndef JQ_SCHEDULER_H
#define JQ_SCHEDULER_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/core.h"
#include "jobq/jobq.h"

struct jq_store;
struct jq_metrics;
struct jq_live;

struct jobq_scheduler {
    pthread_mutex_t lock;
    /* A cycle is running (jobq_tick). It releases the lock while it calls
     * the deployer; calls that would change what it decides wait on
     * cycle_done meanwhile (jq_sched_await_cycle; see scheduler.c). */
    bool cycle_busy;
    unsigned cycle_waiters; /* calls waiting on cycle_done */
    pthread_cond_t cycle_done;
    /* Threads blocked in jq_sched_enter(): a submit that sees others
     * waiting leaves its transaction for them to commit (group commit). */
    atomic_uint waiting;
    jq_core core;
    jobq_clock clock;
    jobq_time_ms wall_at_open, mono_at_open;
    jobq_event_sink events; /* on_event NULL when the host has none */
    struct jq_store *store;     /* NULL without a database */
    struct jq_metrics *metrics; /* counters and histograms (metrics.c) */
    /* Where the mutating call in progress began (jq_sched_writable): a
     * call that fails rolls memory back to it (core/undo.c). */
    jq_txn_mark call_mark;
    struct jq_live *live;       /* live control (live.c); NULL until used */
    char errmsg[512];
};

/* Lock discipline for every public entry point. */
int jq_sched_enter(jobq_scheduler *s, const jobq_scheduler **saved);
int jq_sched_leave(jobq_scheduler *s, const jobq_scheduler *saved, int rc);

/* The shape of every public entry point:
 *     ENTER(s);  ...work, setting rc...  return LEAVE(s, rc);
 * ENTER returns JOBQ_EINVAL for a NULL handle and JOBQ_EBUSY for a call
 * from inside one of the handle's own callbacks. */
#define ENTER(s)                                                               \
    const jobq_scheduler *saved_;                                              \
    do {                                                                       \
        if (!(s))                                                              \
            return JOBQ_EINVAL;                                                \
        int enter_rc_ = jq_sched_enter((s), &saved_);                          \
        if (enter_rc_)                                                         \
            return enter_rc_;                                                  \
    } while (0)

#define LEAVE(s, rc) jq_sched_leave((s), saved_, (rc))
/* Inside ENTER/LEAVE, before the call's transaction begins: wait (lock
 * released) while a cycle on another thread is calling the deployer, if
 * `needed` says the call must (it is asked again after each wait). */
void jq_sched_await_cycle(jobq_scheduler *s,
                          bool (*needed)(const jobq_scheduler *s,
                                         const void *arg),
                          const void *arg);
/* For jq_sched_await_cycle: calls that always wait. */
bool jq_sched_always(const jobq_scheduler *s, const void *arg);
jobq_time_ms jq_sched_now(const jobq_scheduler *s);

/* Persistence glue (sched_persist.c). Without a database these are thin
 * pass-throughs to the core. */
int jq_sched_attach_store(jobq_scheduler *s, const jobq_options *opts,
                          bool read_only, char *err, size_t err_cap);
void jq_sched_detach_store(jobq_scheduler *s);
/* End of a mutating call: the call is a transaction over memory and disk.
 * If rc is 0 and nothing failed, commit (the changes the core announced
 * become durable, then its events are delivered); otherwise roll back, in
 * memory and on disk, to where the call began. Returns rc, or the error
 * of the journal or the commit. */
int jq_sched_write(jobq_scheduler *s, int rc);
/* 0, or JOBQ_ESTATE (with a message) when the database is read-only. Every
 * mutating entry point asks before changing anything, and this is where
 * its transaction begins (a savepoint in memory). */
int jq_sched_writable(jobq_scheduler *s);
/* The core answered JOBQ_ENOTFOUND for run `id`: with a database the run
 * may have ended (terminal runs live on disk only); then JOBQ_ESTATE with
 * "already ended". Returns rc otherwise. */
int jq_sched_check_ended(jobq_scheduler *s, jobq_run_id id, int rc);
int jq_sched_submit(jobq_scheduler *s, jobq_run_id *out_id, const char *job,
                    const jobq_submit_opts *opts);
/* One cycle; `in` (may be NULL) is applied first, in the same transaction
 * (jobq_tick_batch). */
int jq_sched_tick(jobq_scheduler *s, jobq_time_ms now,
                  const jobq_tick_input *in, jobq_tick_stats *st);
/* The work of jobq_run_submit_batch() and jobq_run_report_batch() inside
 * the caller's transaction (checked all or nothing, not committed). */
int jq_sched_submit_all(jobq_scheduler *s, jobq_run_id *out_ids,
                        const char *const *jobs, const jobq_submit_opts *opts,
                        size_t count);
int jq_sched_report_all(jobq_scheduler *s, const jobq_run_id *ids,
                        const jobq_run_state *states,
                        const char *const *details, size_t count);
int jq_sched_run_info(jobq_scheduler *s, jobq_run_info *info, jobq_run_id id);
int jq_sched_save_config(jobq_scheduler *s);
/* submit_check.c: check every run of a batch before submitting any
 * (out_ids, if not NULL, is zeroed on failure). */
int jq_submit_batch_check(jobq_scheduler *s, jobq_run_id *out_ids,
                          const char *const *jobs,
                          const jobq_submit_opts *opts, size_t count);

#endif
