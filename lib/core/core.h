/*
 * The policy core: queues, weighted round robin, the head state machine and
 * admission, exactly the semantics of SPEC section 2.
 *
 * It is pure logic. It knows nothing of locks, SQLite or HTTP: time comes in
 * as an argument, the cluster is reached only through the host's probe and
 * deployer vtables, and every durable change is announced to an optional
 * journal (the SQLite store implements it) so that the store can follow the
 * core rather than the core knowing about the store. The public API in
 * scheduler.c wraps it with a lock, error messages and configuration.
 *
 * Data layout, chosen so that a cycle's cost does not grow with queue depth:
 * every run sits in exactly one intrusive list (its queue, the list of
 * deployed runs, or the list of ended runs), and a cycle touches only queue
 * heads, deployed runs and the runs it deploys.
 */
#ifndef JQ_CORE_H
#define JQ_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "jobq/jobq.h"
#include "queue.h"
#include "runtable.h"
#include "undo.h"
#include "wrr.h"

#define JQ_PRIORITIES 2

/* How often, and how patiently, a deploy that failed for a reason other
 * than quota is retried before the run is failed. */
#define JQ_DEPLOY_MAX_ATTEMPTS 5
#define JQ_DEPLOY_BACKOFF_FIRST_MS 1000
#define JQ_DEPLOY_BACKOFF_MAX_MS 60000

/* SPEC 2.5: after the n-th quota refusal in a row of the same head, its
 * queue sits out 2^(n-1) s, at most 60 s. */
#define JQ_REFUSAL_BACKOFF_FIRST_MS 1000
#define JQ_REFUSAL_BACKOFF_MAX_MS 60000

/* Why a run ended (or was rescheduled). Stored as a byte in each run. */
typedef enum jq_reason {
    JQ_REASON_NONE = 0,
    JQ_REASON_USER,           /* cancelled by jobq_run_cancel */
    JQ_REASON_HEAD_TIMEOUT,   /* blocked at its queue head too long */
    JQ_REASON_STALE_QUOTA,    /* the cluster refused it on quota */
    JQ_REASON_DEPLOY_ERROR,   /* the deployer kept failing */
    JQ_REASON_VANISHED,       /* its deployment disappeared */
    JQ_REASON_RUN_FAILED,     /* the deployer reported it failed */
    JQ_REASON_QUOTA_REJECTED, /* a legacy run the cluster refused */
    JQ_REASON_COUNT
} jq_reason;

const char *jq_reason_name(jq_reason reason);

typedef struct jq_namespace jq_namespace;

typedef struct jq_job {
    char *name;
    char *domain;
    jq_namespace *ns;
    jobq_resources request;
    void *payload;
    size_t payload_len;
    uint8_t priority;
    uint8_t flow;
} jq_job;

/* One run. Its size is what a queued run costs (the 1,000,000-run reopen
 * budget is 200 bytes a run, lookup table included), so it is kept at 120
 * bytes plus its name, in one allocation (jq_run_alloc). */
typedef struct jq_run {
    /* Durable id, assigned in submission order and kept when the run is
     * rescheduled: it is also the run's FIFO position in its queue. */
    jobq_run_id id;
    struct jq_run *prev, *next;
    jq_job *job;
    jq_namespace *ns; /* snapshot at submission */
    char *detail;     /* why it ended, for humans; NULL if none */
    jobq_resources request;
    jobq_time_ms submitted_at;
    jobq_time_ms deployed_at; /* -1 until deployed */
    jobq_time_ms ended_at;    /* -1 until terminal */
    uint16_t retries_used;    /* head-timeout retries */
    uint16_t deploy_attempts;
    uint8_t state;    /* jobq_run_state */
    uint8_t priority; /* jobq_priority */
    uint8_t flow;     /* jobq_flow it was (or is being) deployed through */
    uint8_t reason;   /* jq_reason */
    char name[];      /* "" when submitted without a name */
} jq_run;

/* A zeroed run carrying `name` (NULL for none); NULL when out of memory.
 * Freed with free(run) after free(run->detail). */
jq_run *jq_run_alloc(const char *name);

/* One (namespace, priority) FIFO and the state of its head. Only a head can
 * be blocked, so the blocked state lives here rather than in every run. */
typedef struct jq_queue {
    jq_list runs;
    bool head_blocked;
    uint8_t head_resource; /* jobq_resource_kind */
    int64_t head_requested;
    int64_t head_available;
    jobq_time_ms head_blocked_since;
    jobq_time_ms head_retry_at; /* deploy or refusal backoff; 0: none */
    uint64_t ineligible_cycle;  /* == core->cycle: skip for this cycle */
    /* Stale quota (SPEC 2.5): the cluster refused run head_refused_run
     * head_refusals times in a row (0: no streak). The streak applies only
     * while that run is the head (jq_head_refused); it survives the run's
     * deployment, because the cluster may still refuse it asynchronously
     * (poll: QUOTA_REJECTED), and ends when the run ends or another head
     * of this queue is refused. A refused head counts as blocked for the
     * head timeout, its timer running since head_refused_since. */
    uint32_t head_refusals;
    jobq_run_id head_refused_run;
    jobq_time_ms head_refused_since;
    char head_refusal[256]; /* the cluster's last refusal, for the detail */
} jq_queue;

/* Does the head of q carry a refusal streak (SPEC 2.5)? Is its head-timeout
 * timer running (found blocked, or refused by the cluster), since when? */
bool jq_head_refused(const jq_queue *q);
bool jq_head_timer(const jq_queue *q, jobq_time_ms *since);

struct jq_namespace {
    char *name;
    size_t index; /* position in the round-robin order */
    jq_queue queue[JQ_PRIORITIES];
    jq_wrr wrr;
    /* The probe's reading in the current cycle, plus what this library
     * deployed since that reading (the probe cannot see it yet). */
    uint64_t probed_cycle;
    int probe_status;
    jobq_resources hard, used, reserved;
    jobq_resources allocated; /* requests of its deployed runs */
    uint64_t undo_saved; /* undo.c: the savepoint that last copied it */
};

/* The next namespace index at or after `from` whose ns_live bit is set,
 * or c->ns_count if none. */
size_t jq_core_next_live(const struct jq_core *c, size_t from);
/* Mark ns_order[index] as possibly busy. */
void jq_core_mark_live(struct jq_core *c, size_t index);

/* The durable side of the core's changes (implemented by the store). Any
 * member may be NULL. A non-zero return marks the journal failed: the public
 * call then fails and is rolled back, in memory (undo.c) and on disk.
 * `barrier` must make everything announced so far durable; the core calls
 * it before deploying (write-ahead: once per cycle for all the runs the
 * cycle plans to deploy, once more after each refused deployment, once
 * per legacy deploy), and it is a commit point of the memory transaction
 * too. */
typedef struct jq_journal {
    void *ctx;
    int (*job_saved)(void *ctx, const jq_job *job);
    int (*run_saved)(void *ctx, const jq_run *run);
    int (*run_deleted)(void *ctx, const jq_run *run);
    int (*ns_saved)(void *ctx, const jq_namespace *ns);
    int (*turn_saved)(void *ctx, uint64_t ns_turn);
    int (*event)(void *ctx, const jobq_event *event);
    int (*barrier)(void *ctx);
    /* Optional: the store keeps payloads on disk. When set, the core drops
     * its in-memory copy once a job is saved and asks for the payload only
     * when a run of the job is deployed; *out is malloc'd (NULL when the
     * payload is empty) and freed by the core. */
    int (*load_payload)(void *ctx, const jq_job *job, void **out,
                        size_t *out_len);
} jq_journal;

typedef void (*jq_emit_fn)(void *ctx, const jobq_event *event);

/* How a cycle lets other threads in while it calls the deployer. relock
 * also begins a new transaction (a savepoint, the store's call start):
 * what other threads committed meanwhile is then behind it. */
typedef struct jq_window {
    void *ctx;
    void (*unlock)(void *ctx);
    void (*relock)(void *ctx);
} jq_window;

typedef struct jq_core {
    jq_config config;
    jobq_probe probe;
    jobq_deployer deployer;
    bool has_probe, has_deployer;
    jq_emit_fn emit;
    void *emit_ctx;
    jq_journal journal;
    int journal_status; /* first journal failure, 0 if none */

    jq_strmap jobs;       /* jq_job by name */
    jq_strmap namespaces; /* jq_namespace by name */
    jq_namespace **ns_order;
    size_t ns_count, ns_capacity;
    /* Bit i set: ns_order[i] may be busy (undo.c). Every namespace with
     * work (queued, deployed, head state) has its bit set; the loops of a
     * cycle visit only those. Set when a namespace is created, restored
     * or made busy (jq_undo_ns), cleared at a commit for the namespaces
     * then at rest. */
    uint64_t *ns_live;
    size_t ns_turn; /* index of the namespace whose turn comes next */

    jq_idmap runs;   /* every known run by id */
    jq_list running; /* deployed runs, in deployment order */
    jq_list ended;   /* terminal runs, in the order they ended */
    uint64_t queued; /* runs in all queues */
    uint64_t next_id;
    uint64_t cycle;
    jobq_time_ms last_tick;

    /* The open transaction over this memory (undo.c). */
    jq_txn txn;

    /* The cycle's write-ahead plan (cycle.c): the runs whose DEPLOYING
     * records one commit made durable, in the order they are deployed, and
     * the probe readings the planning pass took (kept when it is undone). */
    jq_run **plan;
    size_t plan_len, plan_cap;
    struct jq_plan_reading *plan_readings;
    size_t plan_readings_cap;
    /* The deployer's answers for the plan, called in plan order before
     * the real admission loop applies them (cycle.c, "Deploying outside
     * the lock"): the first plan_called runs were called; all but the
     * last of them succeeded, the last answered plan_rc (plan_msg). */
    bool plan_cut; /* the plan stopped short of admission's end */
    size_t plan_called;
    int plan_rc;
    char plan_msg[256];
    /* Runs with this id or above were submitted after the cycle began (on
     * another thread, while the deployer was called): admission leaves
     * them to the next cycle. */
    jobq_run_id admit_watermark;
    /* The answers of `poll` for the deployed runs, asked with the lock
     * released before the cycle began (jq_core_poll_running), in the
     * order of the running list; reconcile applies them. */
    struct jq_polled *polled;
    size_t polled_len, polled_cap;
    bool polled_taken; /* this cycle's polls were asked that way */
    /* The scheduler's lock around the deploy calls of a plan (scheduler.c):
     * unlock before the calls, relock after, on the ticking thread. NULL:
     * the deployer is called without releasing anything (a bare core). */
    jq_window window;

    char errmsg[512];
} jq_core;

/* Set up an empty core with the default configuration. probe/deployer may
 * be NULL (unlimited quota / dry-run deployment). */
int jq_core_init(jq_core *c, const jobq_probe *probe,
                 const jobq_deployer *deployer, jq_emit_fn emit,
                 void *emit_ctx);
void jq_core_destroy(jq_core *c);

/* Set an error message and return code (printf-style). */
int jq_core_fail(jq_core *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replace the configuration. Refuses to disable the feature while runs are
 * queued (JOBQ_ESTATE). Resets WRR state if the share changed. */
int jq_core_set_config(jq_core *c, const jq_config *config);

int jq_core_define_job(jq_core *c, jobq_time_ms now, const jobq_job_def *def);
int jq_core_set_job_flow(jq_core *c, jobq_time_ms now, const char *job,
                         jobq_flow flow);
int jq_core_submit(jq_core *c, jobq_time_ms now, jobq_run_id *out_id,
                   const char *job, const jobq_submit_opts *opts);
int jq_core_cancel(jq_core *c, jobq_time_ms now, jobq_run_id id,
                   const char *detail);
int jq_core_report(jq_core *c, jobq_time_ms now, jobq_run_id id,
                   jobq_run_state state, const char *detail);
int jq_core_tick(jq_core *c, jobq_time_ms now, jobq_tick_stats *stats);
/* Before a cycle, with nothing uncommitted of it yet: ask `poll` about
 * every deployed run with the lock released (c->window), for the cycle's
 * reconcile to apply. Skipped (reconcile polls under the lock) without a
 * window or out of memory. */
void jq_core_poll_running(jq_core *c);
jobq_time_ms jq_core_next_deadline(const jq_core *c);
/* While a cycle calls the deployer with the lock released (scheduler.c),
 * calls that could change what its admission loop decides wait for the
 * cycle to end. These say which: cancelling run `id` when it is the first
 * queued run of its queue (admission may have looked at it), submitting a
 * run of `job` that would deploy at once (legacy flow: its deploy would
 * change the namespace's reserved room). */
bool jq_core_cancel_waits_for_cycle(const jq_core *c, jobq_run_id id);
bool jq_core_submit_waits_for_cycle(const jq_core *c, const char *job);
int jq_core_migrate_to_legacy(jq_core *c, jobq_time_ms now,
                              uint64_t *out_moved);
int jq_core_run_info(const jq_core *c, jobq_run_info *info, jobq_run_id id);
/* The same for a run in hand whose 0-based queue position the caller
 * already knows (a walk along its queue), so that no walk is repeated per
 * run; JQ_POSITION_UNKNOWN: find it (walks the queue). */
#define JQ_POSITION_UNKNOWN UINT64_MAX
void jq_core_run_info_at(const jq_core *c, jobq_run_info *info,
                         const jq_run *run, uint64_t position);
/* Reading one queue in order (queue_read.c): the run at 0-based `offset`
 * of q, reached from the nearer end, O(min(offset, length - offset));
 * NULL past the end. */
const jq_run *jq_queue_run_at(const jq_queue *q, uint64_t offset);
/* Retention: forget at most `max_runs` runs that ended before `cutoff`.
 * Returns how many were removed. */
uint64_t jq_core_forget_ended(jq_core *c, jobq_time_ms cutoff,
                              uint64_t max_runs);

/* Reopening a database (the store calls these before any admission). */

/* Take ownership of a run read back from the database (from
 * jq_run_alloc, links NULL) and put it where its state says: its queue at
 * its id position (QUEUED), the deployed list (DEPLOYING, RUNNING: its
 * request counts as allocated), or the ended list (terminal). Raises
 * next_id past it. JOBQ_ENOMEM on failure (the run is not taken). Call
 * jq_idmap_reserve() first when restoring many. */
int jq_core_restore_run(jq_core *c, jq_run *run);
/* Settle every restored DEPLOYING run through the deployer: a crash came
 * between the write-ahead DEPLOYING record and the RUNNING one. With a poll
 * method the deployer decides (RUNNING: deployed; FINISHED/FAILED: ended;
 * GONE: back to its queue at its original position, or deployed again if it
 * is a legacy run; QUOTA_REJECTED: like GONE for a queued run); without
 * poll the deploy is taken to have happened (RUNNING); without a deployer
 * the run stays DEPLOYING until a host with one opens the database. A poll
 * error leaves it DEPLOYING and it is asked again every cycle. */
void jq_core_settle_deploying(jq_core *c, jobq_time_ms now);
/* Free every run on the ended list without journaling: the store keeps the
 * durable copy and answers for them. */
void jq_core_evict_ended(jq_core *c);

/* Lookups for the store and the metrics. */
jq_namespace *jq_core_namespace(jq_core *c, const char *name, bool create);
jq_job *jq_core_job(const jq_core *c, const char *name);

#endif
