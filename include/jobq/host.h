/*
 * libjobq host interfaces: the clock, the resource probe and the deployer.
 *
 * The scheduler owns no threads and does no I/O of its own against the
 * cluster. Everything it needs to know about the outside world comes through
 * these three vtables, which the host fills in and passes in jobq_options.
 * That is what lets the same policy core run against Kubernetes, a mock
 * cluster in a simulator, or a unit test's fake.
 *
 * Versioning (the sqlite3_vfs rule): every vtable starts with `version`.
 * Methods are grouped by the version that added them and are only ever
 * appended. The library calls a method added in version N only when
 * `version >= N` and the pointer is non-NULL, and falls back otherwise.
 * A version of 0 or one newer than the library knows is rejected by
 * jobq_open() with JOBQ_EVERSION.
 *
 * Re-entrancy: a callback (clock, probe, deployer, event sink) must not
 * call back into its own scheduler handle: such a call is detected and
 * fails with JOBQ_EBUSY, whether or not the callback runs with the lock
 * held. Any other thread may call anything at any time. Callbacks run on
 * the thread that called into the library, and with the handle's lock
 * held (other threads wait until they return), with one exception:
 *
 *   `deploy` for the runs a scheduling cycle admits from the queues, and
 *   `poll` for the deployed runs (asked at the start of the cycle, before
 *   it changes anything), are called WITHOUT the lock, on the thread
 *   running jobq_tick(), in admission order and in deployment order.
 *   Meanwhile other threads can submit, cancel, report, query, list,
 *   explain and render metrics. A run submitted while the cycle deploys is
 *   left to the next cycle; cancelling a run being deployed
 *   (DEPLOYING) fails with JOBQ_ESTATE; the runs being deployed are still
 *   counted at the head of their queues until the cycle ends. Calls that
 *   could change what the cycle decides wait until it ends: another
 *   jobq_tick() (one cycle at a time), jobq_job_define(),
 *   jobq_job_set_flow(), jobq_configure(), jobq_property_set(),
 *   jobq_migrate_to_legacy(), a submit that deploys at once (legacy flow,
 *   or the feature disabled) and a cancel of the first queued run of a
 *   queue.
 *
 * So a deployer's `deploy` or `poll` may run while another thread's call
 * runs another callback: the deployer's `cancel` (jobq_run_cancel of a
 * running run), the event sink, the clock. They never overlap each other
 * or the probe (all are called by the one cycle running). A host whose
 * callbacks share state must guard it (a host that calls the library
 * from one thread only is unaffected). Every poll of a cycle comes before
 * every deploy of it; a run deployed during the cycle (a live request's
 * legacy deploy) is polled from the next cycle on. The probe and the
 * deploy of legacy runs are still called with the lock held; keep them
 * short or make them hand work to another thread.
 *
 * Transactions: every public call and every scheduling cycle is a
 * transaction over memory and the database. A call that fails changes
 * nothing beyond its last commit point, and the library commits (makes
 * durable, per the durability mode) a run's DEPLOYING record before it
 * calls `deploy` for it. So `deploy` is called only for a run whose record
 * is committed; if a later commit of the same cycle fails, that run stays
 * DEPLOYING and the next cycle settles it through `poll`, exactly as after
 * a restart. Events reach the event sink only after the commit that makes
 * the change they report durable, in the order they happened, still with
 * the lock held and on the thread that made the call (or, for a submit
 * that group-committed, on the thread whose commit included it). A cycle
 * commits before it calls `deploy` and again after: the events of other
 * threads' calls made meanwhile come between its own, in commit order
 * (their `time` may then be later than that of the cycle's `deployed`
 * events that follow).
 */
#ifndef JOBQ_HOST_H
#define JOBQ_HOST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Resource dimensions, always in this order (it is also the order in which
 * a blocked head reports the first insufficient dimension). */
typedef enum jobq_resource_kind {
    JOBQ_RESOURCE_CPU = 0,     /* millicores */
    JOBQ_RESOURCE_MEMORY = 1,  /* bytes */
    JOBQ_RESOURCE_PODS = 2,    /* count */
    JOBQ_RESOURCE_STORAGE = 3, /* bytes */
    JOBQ_RESOURCE_COUNT = 4
} jobq_resource_kind;

/* A value of JOBQ_UNLIMITED in a quota's `hard` means "no limit on this
 * dimension" (the namespace has no ResourceQuota that constrains it). */
#define JOBQ_UNLIMITED INT64_MAX

/* Four amounts indexed by jobq_resource_kind. A fixed-size value type: it
 * will not grow, because the four dimensions are part of the contract. */
typedef struct jobq_resources {
    int64_t amount[JOBQ_RESOURCE_COUNT];
} jobq_resources;

/* Milliseconds. The default clock returns Unix-epoch milliseconds that
 * never go backwards during the life of a handle. */
typedef int64_t jobq_time_ms;

/* A run's durable id, assigned at submission, never reused. 0 is never a
 * valid id. */
typedef uint64_t jobq_run_id;

typedef enum jobq_priority {
    JOBQ_PRIORITY_HIGH = 0,
    JOBQ_PRIORITY_NORMAL = 1
} jobq_priority;

typedef enum jobq_flow {
    JOBQ_FLOW_PRIORITY = 0, /* queued, resource-aware, WRR between priorities */
    JOBQ_FLOW_LEGACY = 1    /* bypass: deployed at once, no resource check */
} jobq_flow;

/* ------------------------------------------------------------------ clock */

#define JOBQ_CLOCK_VERSION 1

typedef struct jobq_clock {
    unsigned version; /* JOBQ_CLOCK_VERSION */
    void *ctx;        /* passed back to every method */
    /* v1: the current time in milliseconds. */
    jobq_time_ms (*now_ms)(void *ctx);
} jobq_clock;

/* ------------------------------------------------------------------ probe */

#define JOBQ_PROBE_VERSION 1

typedef struct jobq_probe {
    unsigned version; /* JOBQ_PROBE_VERSION */
    void *ctx;
    /* v1: fill `hard` (the quota limits; JOBQ_UNLIMITED where none) and
     * `used` (what is consumed right now, everything the host already
     * deployed included) for namespace `ns`. Return 0, or a negative value
     * when the quota cannot be read: the namespace then admits nothing in
     * this cycle and is asked again in the next. Called at most once per
     * namespace per scheduling cycle. */
    int (*read_quota)(void *ctx, const char *ns, jobq_resources *hard,
                      jobq_resources *used);
} jobq_probe;

/* --------------------------------------------------------------- deployer */

#define JOBQ_DEPLOYER_VERSION 1

/* Returned by jobq_deployer.deploy when the cluster refused the run because
 * it would exceed a quota (Kubernetes: 403 "exceeded quota"). The run goes
 * back to the head of its queue and is retried in a later cycle. */
#define JOBQ_DEPLOY_QUOTA_REJECTED 1
/* Returned by jobq_deployer.deploy when the cluster refused the run for
 * good (Kubernetes: 422 Invalid, or another permanent 4xx): retrying the
 * same request cannot succeed. The run fails at once with the deployer's
 * message (reason deploy_error), without the retries a transient error
 * gets, so its queue is not held up. */
#define JOBQ_DEPLOY_REFUSED 2

/* What a deployment looks like from the deployer's side. Strings and the
 * payload are borrowed for the duration of the call only. */
typedef struct jobq_deploy_request {
    unsigned version;   /* 1; fields are only ever appended */
    jobq_run_id run_id; /* durable: use it to make deploy idempotent */
    const char *run_name; /* may be "" */
    const char *job;
    const char *domain;
    const char *ns;
    jobq_priority priority;
    jobq_flow flow;
    jobq_resources request;
    const void *payload; /* the job's opaque payload, may be NULL */
    size_t payload_len;
    unsigned attempt; /* 1 for the first deploy attempt of this run */
} jobq_deploy_request;

/* What jobq_deployer.poll reports about a deployed run. */
typedef enum jobq_poll_status {
    JOBQ_POLL_RUNNING = 0,  /* still running (or still starting) */
    JOBQ_POLL_FINISHED = 1, /* completed successfully */
    JOBQ_POLL_FAILED = 2,   /* failed; put the cause in `msg` */
    JOBQ_POLL_GONE = 3,     /* the deployment no longer exists */
    JOBQ_POLL_QUOTA_REJECTED = 4 /* the cluster refused it on quota after
                                    accepting it (asynchronous rejection) */
} jobq_poll_status;

typedef struct jobq_deployer {
    unsigned version; /* JOBQ_DEPLOYER_VERSION */
    void *ctx;
    /* v1: launch the run. Return 0 when launched, JOBQ_DEPLOY_QUOTA_REJECTED
     * on a quota rejection, JOBQ_DEPLOY_REFUSED on a permanent refusal, or a
     * negative value on any other (transient) failure with a message in msg (msg_cap bytes, always NUL-terminated by the library).
     * Must be idempotent per run_id: after a crash the library may deploy a
     * run again whose earlier attempt it cannot prove did not happen. */
    int (*deploy)(void *ctx, const jobq_deploy_request *req, char *msg,
                  size_t msg_cap);
    /* v1, optional: stop a deployed run (jobq_run_cancel on a running run).
     * Return 0 or negative with a message. */
    int (*cancel)(void *ctx, jobq_run_id run_id, char *msg, size_t msg_cap);
    /* v1, optional: report the state of a deployed run. When NULL the host
     * reports completions itself with jobq_run_report(). Called for every
     * deployed run once per scheduling cycle, in deployment order. */
    int (*poll)(void *ctx, jobq_run_id run_id, jobq_poll_status *status,
                char *msg, size_t msg_cap);
} jobq_deployer;

#ifdef __cplusplus
}
#endif

#endif /* JOBQ_HOST_H */
