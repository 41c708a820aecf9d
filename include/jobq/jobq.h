/*
 * libjobq: decides which batch job runs next, and when.
 *
 * This is the whole public API. Anything not declared here (or in the
 * sibling headers it includes) is private and may change at any time.
 *
 * The model, in brief (the full contract is SPEC.md section 2):
 *
 *   - A *job* is a definition: name, domain, namespace, priority (high or
 *     normal), flow (priority or legacy), a default resource request and an
 *     opaque payload for the deployer.
 *   - A *run* is one execution request of a job. It gets a durable id at
 *     submission and waits in the FIFO queue of its (namespace, priority).
 *   - jobq_tick() runs one scheduling cycle: reconcile finished runs, apply
 *     head timeouts, then admit queue heads that fit the namespace quota,
 *     choosing between the high and normal queue of a namespace by smooth
 *     weighted round robin and taking namespaces in turn. Only a queue's
 *     head is ever considered: nothing overtakes a blocked head.
 *
 * The host owns the loop. Call jobq_tick() periodically (every few seconds
 * is typical) and whenever something changed; jobq_next_deadline() says
 * when the next time-driven action (a head timeout, a deploy retry) is due,
 * like libuv's uv_backend_timeout().
 *
 * Conventions (libgit2's): output parameters come first; a function handing
 * back `T **out` gives ownership (pair it with the matching _free/_close);
 * strings passed in are copied, never retained. Every function returns 0 on
 * success or a negative jobq_status; jobq_errmsg() then has the detail.
 *
 * Threads: a scheduler handle may be used from any number of threads; calls
 * are serialised by an internal lock, which a scheduling cycle releases
 * while it calls the deployer for the runs it admits. See host.h for the
 * re-entrancy rule that applies inside callbacks and for the calls that
 * wait for a cycle to end.
 */
#ifndef JOBQ_JOBQ_H
#define JOBQ_JOBQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(JOBQ_BUILDING_LIBRARY) && defined(__GNUC__)
#define JOBQ_API __attribute__((visibility("default")))
#else
#define JOBQ_API
#endif

/* ---------------------------------------------------------------- version */

#define JOBQ_VERSION_MAJOR 0
#define JOBQ_VERSION_MINOR 1
#define JOBQ_VERSION_PATCH 0
#define JOBQ_VERSION_STRING "0.1.0"
#define JOBQ_VERSION_NUMBER                                                    \
    (JOBQ_VERSION_MAJOR * 10000 + JOBQ_VERSION_MINOR * 100 + JOBQ_VERSION_PATCH)

/* The version of the library actually loaded, to detect a header/library
 * mismatch at run time (compare with JOBQ_VERSION_NUMBER). */
JOBQ_API const char *jobq_version(void);
JOBQ_API int jobq_version_number(void);

/* ----------------------------------------------------------------- errors */

/* A static description of a status code; never NULL. */
JOBQ_API const char *jobq_strerror(int status);
/* The symbolic name of a status code ("JOBQ_EINVAL"); never NULL. */
JOBQ_API const char *jobq_errname(int status);

/* ------------------------------------------------------------ quantities */

/* Parse a Kubernetes quantity ("500m", "2", "1.5", "512Mi", "2Gi", "1e3",
 * "1T") into the base unit of `kind`: cpu in millicores (sub-millicore
 * amounts round up, as the Kubernetes API server does), memory and storage
 * in bytes, pods as a count. Amounts that are not whole bytes or whole pods
 * are refused with JOBQ_EPARSE, not rounded: a Spark-style "512m" (meaning
 * MiB to Spark, 0.512 bytes to Kubernetes) is an error, and so is any milli,
 * micro or nano suffix on memory, storage or pods ("1000m" of memory would
 * be one byte to Kubernetes; nobody means that). Negative amounts are
 * JOBQ_EPARSE, amounts above INT64_MAX are JOBQ_ERANGE. "unlimited" parses
 * as JOBQ_UNLIMITED. When err is not NULL it receives a message (err_cap
 * bytes, NUL-terminated) that quotes the value but names no field. */
JOBQ_API int jobq_quantity_parse(int64_t *out, const char *text,
                                 jobq_resource_kind kind, char *err,
                                 size_t err_cap);

/* Format an amount in the shortest exact Kubernetes notation ("500m", "8",
 * "32Gi", "1500"); JOBQ_UNLIMITED formats as "unlimited". Returns the length
 * that was (or would have been) written, like snprintf, or a negative
 * status. */
JOBQ_API int jobq_quantity_format(char *buf, size_t cap, int64_t amount,
                                  jobq_resource_kind kind);

/* "cpu", "memory", "pods", "storage"; NULL for an unknown kind. */
JOBQ_API const char *jobq_resource_name(jobq_resource_kind kind);

/* ------------------------------------------------------------------ events */

typedef enum jobq_event_type {
    JOBQ_EVENT_SUBMITTED = 0,
    JOBQ_EVENT_BLOCKED = 1,     /* the head does not fit: see resource */
    JOBQ_EVENT_DEPLOYED = 2,    /* see wait_ms, flow */
    JOBQ_EVENT_RESCHEDULED = 3, /* back to its queue head; reason */
    JOBQ_EVENT_HEAD_TIMEOUT_RETRY = 4, /* see retry */
    JOBQ_EVENT_CANCELLED = 5,   /* see reason, detail */
    JOBQ_EVENT_FINISHED = 6,
    JOBQ_EVENT_FAILED = 7,      /* see detail */
    JOBQ_EVENT_DEPLOY_RETRY = 8 /* a deploy error that will be retried */
} jobq_event_type;

/* "submitted", "blocked", "deployed", "rescheduled", "head_timeout_retry",
 * "cancelled", "finished", "failed", "deploy_retry"; NULL if unknown. */
JOBQ_API const char *jobq_event_name(jobq_event_type type);

/* One thing that happened to one run. Every pointer is borrowed for the
 * duration of the callback only. */
typedef struct jobq_event {
    unsigned version; /* 1; fields are only ever appended */
    jobq_event_type type;
    jobq_time_ms time; /* the cycle's (or the call's) time */
    jobq_run_id run;
    const char *run_name; /* "" when the run was submitted without one */
    const char *job;
    const char *domain;
    const char *ns;
    jobq_priority priority;
    jobq_flow flow;
    /* BLOCKED: the first insufficient dimension and its amounts. */
    jobq_resource_kind resource;
    int64_t requested;
    int64_t available;
    /* DEPLOYED: time from submission to deployment. */
    jobq_time_ms wait_ms;
    /* HEAD_TIMEOUT_RETRY: 1-based retry number; DEPLOY_RETRY: attempt;
     * RESCHEDULED (stale_quota): the refusal's number in the head's streak
     * of refusals in a row (1-based; 0 when it did not come back as the
     * head). */
    unsigned retry;
    /* RESCHEDULED, CANCELLED, FAILED: a short machine-readable reason
     * ("stale_quota", "head_timeout", "user", "deploy_error", "vanished",
     * "migrated"...); HEAD_TIMEOUT_RETRY: "stale_quota" when the head is
     * blocked because the cluster refused it (then `resource` and the
     * amounts mean nothing), "" when it is short of `resource`; "" otherwise. */
    const char *reason;
    /* CANCELLED, FAILED, FINISHED: a sentence for humans, "" if none;
     * RESCHEDULED, HEAD_TIMEOUT_RETRY (stale_quota): the cluster's refusal. */
    const char *detail;
} jobq_event;

/* The event sink: a vtable like the clock, probe and deployer (host.h),
 * versioned by the same rules. */
#define JOBQ_EVENT_SINK_VERSION 1

typedef struct jobq_event_sink {
    unsigned version; /* JOBQ_EVENT_SINK_VERSION */
    void *ctx;
    /* v1: called for every event, in commit order, while the scheduler
     * lock is held (see the re-entrancy rule in host.h: it may run while
     * a cycle's `deploy` runs on another thread), and only once the change
     * the event reports is committed: durable per the durability mode
     * (FULL: fsync'd). A call or cycle that fails delivers no event for
     * what it rolled back; when a commit's fsync fails, its events are not
     * delivered even though a later open may find the commit (SPEC
     * section 2). */
    void (*on_event)(void *ctx, const jobq_event *event);
} jobq_event_sink;

/* ---------------------------------------------------------------- options */

typedef enum jobq_durability {
    /* PRAGMA synchronous=FULL: every commit (every mutating call, and the
     * write-ahead record before each deploy) is fsync'd before the call
     * returns. An acknowledged submit survives a process crash, an OS crash
     * and power loss. Costs one fsync per call (use the batch submit). */
    JOBQ_DURABILITY_FULL = 0,
    /* PRAGMA synchronous=NORMAL: the write-ahead log is fsync'd at
     * checkpoints only. Survives a process crash (SIGKILL, OOM kill) with
     * nothing lost; on power loss or an OS crash the last commits before
     * the failure may be lost: an acknowledged submit may disappear, and a
     * run the deployer launched may be found QUEUED again (the deployer's
     * idempotency per run id is then what prevents a double launch). The
     * database itself stays consistent. */
    JOBQ_DURABILITY_NORMAL = 1
} jobq_durability;

#define JOBQ_OPTIONS_VERSION 1

typedef struct jobq_options {
    unsigned version; /* JOBQ_OPTIONS_VERSION */
    /* Host interfaces, copied at open. NULL clock = the real clock. A NULL
     * probe means every namespace is unlimited; a NULL deployer means runs
     * are marked deployed without anything being launched (dry run). */
    const jobq_clock *clock;
    const jobq_probe *probe;
    const jobq_deployer *deployer;
    /* Where events go, copied at open; NULL for nowhere. */
    const jobq_event_sink *events;
    /* A configuration document (SPEC section 3, any subset) applied on top
     * of the defaults; NULL for defaults. With a database that already
     * holds a configuration, it is applied on top of the stored one and its
     * "systemProperties" are ignored: properties set at run time (and
     * persisted) win over the ones a host was started with. */
    const char *config_json;
    /* SQLite database file for durable state (created with mode 0600;
     * ":memory:" for a private in-memory database); NULL keeps everything
     * in memory only. See "Persistence" below. */
    const char *db_path;
    jobq_durability durability;
} jobq_options;

#define JOBQ_OPTIONS_INIT {JOBQ_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, \
                           NULL, JOBQ_DURABILITY_FULL}
JOBQ_API int jobq_options_init(jobq_options *opts, unsigned version);

/* -------------------------------------------------------------- scheduler */

typedef struct jobq_scheduler jobq_scheduler;

/* Open a scheduler. On failure *out is NULL; when err is not NULL it gets
 * a message (there is no handle yet to ask).
 *
 * Persistence. With opts->db_path the scheduler keeps its state in that
 * SQLite file (WAL mode) and rebuilds it on open before anything else
 * happens: jobs, queued runs in their FIFO order, running runs, the WRR
 * state of every namespace, the blocked state of queue heads (a head
 * timeout keeps counting across a restart), the namespace turn pointer and
 * the configuration. Terminal runs stay on disk (jobq_run_get still finds
 * them) until retention deletes them. Job payloads stay on disk and are
 * read when a run is deployed.
 *
 * Every mutating call is one transaction, committed before it returns; a
 * run is recorded DEPLOYING (and committed) before the deployer is called:
 * a cycle commits all its planned deployments at once, then their outcomes
 * (one run at a time for a deployer without poll).
 * Runs found DEPLOYING on open (a crash came in between) are settled
 * through the deployer before any admission: its poll decides (RUNNING,
 * FINISHED, FAILED: recorded as such; GONE: the run goes back to its
 * original place at the head of its queue, or a legacy run is deployed
 * again); a deployer without poll is taken to have launched it (RUNNING);
 * without a deployer the run stays DEPLOYING until a host with one opens
 * the database.
 *
 * One process writes a database at a time: a read-write open takes an
 * exclusive lock on the file and a second one fails with JOBQ_EBUSY
 * (jobq_open_read_only() does not lock). Errors from the database:
 * JOBQ_EINVAL for a file that is not a jobq database, JOBQ_EVERSION for a
 * database written by a newer libjobq (older schemas are migrated forward),
 * JOBQ_EIO for I/O errors. */
JOBQ_API int jobq_open(jobq_scheduler **out, const jobq_options *opts,
                       char *err, size_t err_cap);
/* Open the database at `db_path` read-only, to inspect it while another
 * process may be running a scheduler on it (jobqctl's list, show, explain,
 * search...). The state is loaded as jobq_open() loads it, from one
 * consistent snapshot, with the real clock, no probe and no deployer;
 * nothing is reconciled or written, and every call that would change
 * something fails with JOBQ_ESTATE. Errors as jobq_open(), and
 * JOBQ_ENOTFOUND if the file does not exist. */
JOBQ_API int jobq_open_read_only(jobq_scheduler **out, const char *db_path,
                                 char *err, size_t err_cap);

/* Close and free; NULL is a no-op. Queued runs persist if a db is open. */
JOBQ_API void jobq_close(jobq_scheduler *s);

/* The message for the most recent failure of a call on this handle made by
 * the calling thread... or any thread: it is per handle, copied into buf
 * (cap bytes, NUL-terminated). Returns the full message length. */
JOBQ_API int jobq_errmsg(jobq_scheduler *s, char *buf, size_t cap);

/* ------------------------------------------------------------------- jobs */

/* Names. Job, run and domain names are UTF-8 without control characters
 * (C0, DEL, C1), at most JOBQ_NAME_MAX bytes; a namespace is a DNS label as
 * Kubernetes requires (RFC 1123): 1..JOBQ_NS_MAX bytes of lowercase
 * letters, digits and '-', starting and ending with a letter or digit.
 * Anything else is refused with JOBQ_EINVAL and a message naming the field
 * and the offending byte ("namespace: byte 0 ('A', 0x41) is not allowed
 * ..."). Names already in a database written before these rules are
 * loaded as they are; output that shows names escapes them. */
#define JOBQ_NAME_MAX 253 /* longest job, run or domain name, in bytes */
#define JOBQ_NS_MAX 63    /* longest namespace name (a DNS label) */

#define JOBQ_JOB_DEF_VERSION 1

typedef struct jobq_job_def {
    unsigned version; /* JOBQ_JOB_DEF_VERSION */
    const char *name;   /* unique; 1..JOBQ_NAME_MAX bytes */
    const char *domain; /* NULL or "" allowed */
    const char *ns;     /* 1..JOBQ_NS_MAX bytes */
    jobq_priority priority;
    jobq_flow flow;
    jobq_resources request; /* default request of its runs */
    const void *payload;    /* copied; may be NULL */
    size_t payload_len;
} jobq_job_def;

#define JOBQ_JOB_DEF_INIT {JOBQ_JOB_DEF_VERSION, NULL, NULL, NULL, \
                           JOBQ_PRIORITY_NORMAL, JOBQ_FLOW_PRIORITY, {{0}}, NULL, 0}
JOBQ_API int jobq_job_def_init(jobq_job_def *def, unsigned version);

/* Create a job, or update the one with that name. Runs already submitted
 * keep the namespace, priority and request they were submitted with. If the
 * update switches the flow to legacy, the job's queued runs leave their
 * queues and are deployed at once through the legacy path. */
JOBQ_API int jobq_job_define(jobq_scheduler *s, const jobq_job_def *def);

/* Switch one job's flow (the per-job opt-in/opt-out of the seed). */
JOBQ_API int jobq_job_set_flow(jobq_scheduler *s, const char *job,
                               jobq_flow flow);

/* ------------------------------------------------------------------- runs */

typedef enum jobq_run_state {
    JOBQ_RUN_QUEUED = 0,
    JOBQ_RUN_DEPLOYING = 1, /* persisted; the deployer is being called */
    JOBQ_RUN_RUNNING = 2,
    JOBQ_RUN_FINISHED = 3,  /* terminal */
    JOBQ_RUN_FAILED = 4,    /* terminal */
    JOBQ_RUN_CANCELLED = 5  /* terminal */
} jobq_run_state;

/* "queued", "deploying", "running", "finished", "failed", "cancelled". */
JOBQ_API const char *jobq_run_state_name(jobq_run_state state);

#define JOBQ_SUBMIT_OPTS_VERSION 1
#define JOBQ_PRIORITY_DEFAULT (-1)

typedef struct jobq_submit_opts {
    unsigned version;     /* JOBQ_SUBMIT_OPTS_VERSION */
    const char *run_name; /* optional, searchable; NULL or "" for none */
    /* Optional: a second submit with the same key returns the first run's
     * id instead of creating another run (needs a database). */
    const char *idempotency_key;
    /* Optional: overrides the job's default request. */
    const jobq_resources *request;
    /* JOBQ_PRIORITY_DEFAULT, or a jobq_priority overriding the job's. */
    int priority;
} jobq_submit_opts;

#define JOBQ_SUBMIT_OPTS_INIT {JOBQ_SUBMIT_OPTS_VERSION, NULL, NULL, NULL, \
                               JOBQ_PRIORITY_DEFAULT}
JOBQ_API int jobq_submit_opts_init(jobq_submit_opts *opts, unsigned version);

/* Submit a run of `job` (opts may be NULL). The run joins the tail of its
 * queue, or, on the legacy flow or while the feature is disabled, is
 * deployed at once. *out_id (may be NULL) receives its durable id. */
JOBQ_API int jobq_run_submit(jobq_scheduler *s, jobq_run_id *out_id,
                             const char *job, const jobq_submit_opts *opts);

/* Submit `count` runs in one transaction (one fsync for all of them with a
 * database): run i is of job jobs[i] with options opts[i] (opts may be
 * NULL for defaults everywhere). out_ids (may be NULL) receives the ids.
 * Runs are submitted in order, all or none: if run i fails (an unknown
 * job, a bad name, request, priority or struct version), nothing is
 * submitted, out_ids[0..count-1] are set to 0 and the message names index
 * i ("runs[i]: ...").
 *
 * Concurrent single submits are also group-committed: while other threads
 * wait for the handle, a submit leaves its transaction open for the next
 * caller and waits until a later commit has made it durable, so N
 * concurrent submitters share fsyncs instead of paying one each. */
JOBQ_API int jobq_run_submit_batch(jobq_scheduler *s, jobq_run_id *out_ids,
                                   const char *const *jobs,
                                   const jobq_submit_opts *opts, size_t count);

/* Cancel a queued or running run (a running one through the deployer's
 * cancel). `detail` (may be NULL) is recorded as the reason text.
 * JOBQ_ESTATE if the run already ended. */
JOBQ_API int jobq_run_cancel(jobq_scheduler *s, jobq_run_id id,
                             const char *detail);

/* For hosts whose deployer has no poll method: report that a deployed run
 * finished (state JOBQ_RUN_FINISHED) or failed (JOBQ_RUN_FAILED). Takes
 * effect immediately; its resources are no longer counted as reserved. */
JOBQ_API int jobq_run_report(jobq_scheduler *s, jobq_run_id id,
                             jobq_run_state state, const char *detail);

/* jobq_run_report() for `count` runs in one call: run ids[i] ended in
 * states[i] (JOBQ_RUN_FINISHED or JOBQ_RUN_FAILED) with details[i] (details
 * may be NULL, and so may any details[i]). One transaction, so one commit
 * (and with JOBQ_DURABILITY_FULL one fsync) for all of them: a host that
 * learns of many finished runs at once (a watch) reports them together.
 * All or nothing: if any entry is refused (JOBQ_EINVAL for a bad state or
 * an id given twice, JOBQ_ENOTFOUND for an unknown run, JOBQ_ESTATE for one
 * not running or already ended), no run changes and the message names the
 * index. The runs end in array order (their events come in that order). */
JOBQ_API int jobq_run_report_batch(jobq_scheduler *s, const jobq_run_id *ids,
                                   const jobq_run_state *states,
                                   const char *const *details, size_t count);

#define JOBQ_RUN_INFO_VERSION 1

/* A snapshot of one run, copied out (no borrowed pointers). */
typedef struct jobq_run_info {
    unsigned version; /* set by the caller: JOBQ_RUN_INFO_VERSION */
    jobq_run_id id;
    jobq_run_state state;
    char run_name[JOBQ_NAME_MAX + 1];
    char job[JOBQ_NAME_MAX + 1];
    char domain[JOBQ_NAME_MAX + 1];
    char ns[JOBQ_NS_MAX + 1];
    jobq_priority priority;
    jobq_flow flow;
    jobq_resources request;
    jobq_time_ms submitted_at;
    jobq_time_ms deployed_at;  /* -1 until deployed */
    jobq_time_ms ended_at;     /* -1 until terminal */
    /* QUEUED: 0 for the head of its queue, 1 for the next... */
    uint64_t queue_position;
    /* QUEUED heads found not to fit: */
    bool blocked;
    jobq_resource_kind blocked_resource;
    int64_t blocked_requested;
    int64_t blocked_available;
    jobq_time_ms blocked_since;
    jobq_time_ms head_timeout_at; /* when the head timeout fires, or -1 */
    unsigned retries_used;        /* head-timeout retries */
    unsigned retries_left;
    unsigned deploy_attempts;
    /* Terminal runs: machine reason and human detail. */
    char reason[32];
    char detail[512];
} jobq_run_info;

JOBQ_API int jobq_run_info_init(jobq_run_info *info, unsigned version);
/* Fill *info (its version set by the caller) for run `id`.
 * JOBQ_ENOTFOUND if no such run is known. With a database, runs that ended
 * are read from disk (until retention deletes them). */
JOBQ_API int jobq_run_get(jobq_scheduler *s, jobq_run_info *info,
                          jobq_run_id id);

#define JOBQ_RUN_FILTER_VERSION 1
#define JOBQ_ANY (-1)

/* Which runs jobq_run_list() returns. */
typedef struct jobq_run_filter {
    unsigned version; /* JOBQ_RUN_FILTER_VERSION */
    const char *ns;   /* NULL for any namespace */
    int priority;     /* a jobq_priority, or JOBQ_ANY */
    int state;        /* a jobq_run_state, or JOBQ_ANY */
    size_t limit;     /* at most this many (the newest); 0 for no limit */
} jobq_run_filter;

#define JOBQ_RUN_FILTER_INIT {JOBQ_RUN_FILTER_VERSION, NULL, JOBQ_ANY, \
                              JOBQ_ANY, 0}
JOBQ_API int jobq_run_filter_init(jobq_run_filter *filter, unsigned version);

/* The ids of the runs matching `filter` (NULL: every run), in ascending id
 * (submission) order, terminal runs kept on disk included. *out_ids is
 * allocated (free with jobq_free(); NULL when *out_count is 0). */
JOBQ_API int jobq_run_list(jobq_scheduler *s, jobq_run_id **out_ids,
                           size_t *out_count, const jobq_run_filter *filter);

/* Partial, case-insensitive substring search over run names and job names:
 * the ids of runs whose name, or whose job's name, contains `text`, newest
 * first, at most `limit` (0: no limit). With a database this uses SQLite
 * FTS5's trigram index for texts of 3 characters or more and a LIKE scan
 * for shorter ones; without one, a scan of the runs in memory. Free
 * *out_ids with jobq_free(). JOBQ_EINVAL for an empty text. */
JOBQ_API int jobq_run_search(jobq_scheduler *s, jobq_run_id **out_ids,
                             size_t *out_count, const char *text,
                             size_t limit);

/* Why is this run where it is? *out_json (free with jobq_free()) receives
 * one JSON object:
 *
 *   "run", "state", "job", "namespace", "priority", "flow", "name",
 *   "submitted_at", "deployed_at", "ended_at" (ms, null when not yet),
 *   "reason", "detail"              terminal runs
 *   "queue": {"position", "length", "ahead"}   QUEUED runs (0 = head)
 *   "blocked": {"resource", "requested", "available", "since"} or null:
 *                                   what stops the head of its queue (for
 *                                   a run behind it: its queue's head)
 *   "retries": {"used", "left"}     head-timeout retries
 *   "head_timeout_at"               ms when the head timeout fires, or null
 *   "refused": {"times", "last", "since", "head_run", "next_attempt_at",
 *              "text"} or null: the head of its queue was refused by the
 *                                   cluster `times` times in a row (SPEC 2.5
 *                                   stale quota); `last` quotes the latest
 *                                   refusal, `since` is when its head timer
 *                                   started, `text` reads "refused 3 times
 *                                   by the cluster, next attempt in 4 s"
 *   "estimated_start": {"at", "basis"} or null, with "estimate_note"
 *   "events": [...]                 the run's event log (with a database)
 *
 * The estimated start is derived only for a QUEUED run, from the rate at
 * which its queue deployed runs over the last hour (from the event log):
 * at = now + (position + 1) / rate. It is null, with a note saying why,
 * without a database, when the queue deployed nothing in that hour, or
 * when its head is blocked and nothing is running in the namespace that
 * could free resources. It is an extrapolation, not a promise. */
JOBQ_API int jobq_run_explain(jobq_scheduler *s, char **out_json,
                              jobq_run_id id);

/* One page of one queue, in queue order: the runs at 0-based positions
 * offset .. offset + capacity - 1 of the (ns, priority) queue, written to
 * out[0..*out_count-1] (their queue_position is their offset), and the
 * queue's length to *out_total (either out pointer may be NULL when not
 * wanted; out may be NULL when capacity is 0, to read the length only).
 * Set the version of each element (jobq_run_info_init); out[0]'s version
 * decides the array's element size. The page is reached from the nearer
 * end of the queue: the cost is O(min(offset, length - offset) + capacity),
 * not a walk per run, so any page of a queue of a million runs is cheap.
 * An offset at or past the end gives *out_count 0. JOBQ_ENOTFOUND for a
 * namespace that has no queue yet, JOBQ_EINVAL for a bad priority or a
 * NULL ns or out. Works on every handle (read-only and client ones too). */
JOBQ_API int jobq_queue_runs(jobq_scheduler *s, const char *ns,
                             jobq_priority priority, uint64_t offset,
                             jobq_run_info *out, size_t capacity,
                             size_t *out_count, uint64_t *out_total);

#define JOBQ_QUEUE_INFO_VERSION 1

/* One (namespace, priority) queue, as jobq_queues() lists it. */
typedef struct jobq_queue_info {
    unsigned version; /* JOBQ_QUEUE_INFO_VERSION */
    char ns[JOBQ_NS_MAX + 1];
    jobq_priority priority;
    uint64_t length; /* queued runs */
    jobq_run_id head; /* the run at position 0; 0 when the queue is empty */
} jobq_queue_info;

/* Every queue the scheduler knows: for each namespace (in round-robin
 * order) its queues of every priority, high first, empty ones included.
 * *out (free with jobq_free(); NULL when *out_count is 0) is an array of
 * *out_count elements of the struct as of `version` (pass
 * JOBQ_QUEUE_INFO_VERSION). O(queues): no queue is walked. The head's
 * state (blocked, timeout) is one jobq_run_get() of `head` away. */
JOBQ_API int jobq_queues(jobq_scheduler *s, unsigned version,
                         jobq_queue_info **out, size_t *out_count);

/* Rows of the database that could not be loaded. Opening never fails
 * because of one damaged row (a run of a job whose definition never
 * committed, a state or priority out of range, a configuration that does
 * not parse...): such a row stays in the file untouched, is left out of
 * memory (queries that read the file may still list it) and is reported
 * here and in the jobq_store_quarantined_rows metric. *out_json (free with
 * jobq_free()) receives {"count": N, "rows": [{"table", "row", "reason"},
 * ...]} (reasons for the first 1000 rows; count is exact). Without a
 * database: {"count": 0, "rows": []}. A file that is not a jobq database,
 * or of a newer schema, is still refused by the open. */
JOBQ_API int jobq_quarantine_list(jobq_scheduler *s, char **out_json);

/* Retention now: delete terminal runs (and their events) that ended more
 * than retentionPeriod seconds ago, at most `max_runs` (0: all of them) in
 * batches of 1000, each batch one transaction. This ignores
 * jobRunCleanup.enabled: it is an explicit request. (When cleanup is
 * enabled, every jobq_tick() also deletes at most 500 such runs.)
 * *out_deleted (may be NULL) receives how many were deleted, also on
 * failure: the batches committed before the one that failed stay
 * deleted. */
JOBQ_API int jobq_cleanup(jobq_scheduler *s, uint64_t max_runs,
                          uint64_t *out_deleted);

/* ------------------------------------------------------------- scheduling */

/* Pass as `now` to use the scheduler's clock. */
#define JOBQ_TIME_NOW INT64_MIN
/* jobq_next_deadline() when nothing time-driven is pending. */
#define JOBQ_NO_DEADLINE INT64_MAX

#define JOBQ_TICK_STATS_VERSION 1

typedef struct jobq_tick_stats {
    unsigned version; /* set by the caller */
    unsigned finished;    /* runs reconciled as finished */
    unsigned failed;      /* runs that failed (reconcile or deploy) */
    unsigned deployed;    /* through the queues in this cycle */
    unsigned blocked;     /* queue heads found not to fit */
    unsigned rescheduled; /* stale-quota rejections */
    unsigned timeouts_retried;
    unsigned timeouts_cancelled;
    unsigned probe_errors;
    uint64_t queued; /* runs left queued after the cycle */
    uint64_t running; /* runs deployed and not yet ended */
} jobq_tick_stats;

#define JOBQ_TICK_STATS_INIT {JOBQ_TICK_STATS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/* Run one scheduling cycle at `now` (or JOBQ_TIME_NOW). `stats` may be
 * NULL. Time must not go backwards between cycles (JOBQ_EINVAL). */
JOBQ_API int jobq_tick(jobq_scheduler *s, jobq_time_ms now,
                       jobq_tick_stats *stats);

/* What a host learned since its last cycle, for jobq_tick_batch(): runs to
 * submit and runs that ended. Fields are only ever appended (version). */
#define JOBQ_TICK_INPUT_VERSION 1

typedef struct jobq_tick_input {
    unsigned version; /* set by the caller: JOBQ_TICK_INPUT_VERSION */
    /* Submitted first, as by jobq_run_submit_batch(submit_ids, submit_jobs,
     * submit_opts, submit_count); submit_opts and submit_ids may be NULL. */
    size_t submit_count;
    const char *const *submit_jobs;
    const jobq_submit_opts *submit_opts;
    jobq_run_id *submit_ids;
    /* Then reported, as by jobq_run_report_batch(report_ids, report_states,
     * report_details, report_count); report_details may be NULL. */
    size_t report_count;
    const jobq_run_id *report_ids;
    const jobq_run_state *report_states;
    const char *const *report_details;
} jobq_tick_input;

#define JOBQ_TICK_INPUT_INIT \
    {JOBQ_TICK_INPUT_VERSION, 0, NULL, NULL, NULL, 0, NULL, NULL, NULL}
JOBQ_API int jobq_tick_input_init(jobq_tick_input *input, unsigned version);

/* jobq_tick() with the host's news in the cycle's own transaction: submit
 * input's runs, report its ended runs, then run the cycle, so that a host
 * which learns of arrivals and endings in bursts pays no commit (and with
 * JOBQ_DURABILITY_FULL no fsync) of its own for them. `input` may be NULL
 * (then this is jobq_tick()).
 *
 * The entries are checked as the two batch calls check them, all before
 * anything changes: a refused one fails the call (the message names it:
 * "submit: runs[i]: ..." or "report: runs[i]: ..."), nothing changes and no
 * cycle runs. The input becomes durable with the cycle's first commit,
 * which comes before any deploy call (the write-ahead commit of the
 * cycle's deployments, or the cycle's only commit); its events are
 * delivered then, before the cycle's: the submits', then the reports'.
 * If the call fails, submit_ids (when given) say whether the input took
 * effect: all 0 if it did not; the new runs' ids if the failure came after
 * the commit that made the input durable (its reports then took effect
 * too). */
JOBQ_API int jobq_tick_batch(jobq_scheduler *s, jobq_time_ms now,
                             const jobq_tick_input *input,
                             jobq_tick_stats *stats);

/* The earliest time at which a cycle has time-driven work (a head timeout
 * expiring, a deploy retry becoming due, the end of the backoff of a queue
 * whose head the cluster refused), or JOBQ_NO_DEADLINE. A backoff that
 * ended before the last cycle is no longer reported. A host
 * should also tick when quota may have freed up (a run ended) and
 * periodically while runs are queued. */
JOBQ_API int jobq_next_deadline(jobq_scheduler *s, jobq_time_ms *out);

/* -------------------------------------------------- configuration & flow */

/* Apply a configuration document (SPEC section 3, any subset) on top of the
 * current configuration. All or nothing: on error nothing changes and the
 * message names the key path and the allowed range. Disabling the feature
 * while runs are queued is refused (JOBQ_ESTATE): migrate first. */
JOBQ_API int jobq_configure(jobq_scheduler *s, const char *json);

/* Set one property by key: a system property such as
 * "job-orchestrator.queue.head-timeout-seconds", or a settings path such as
 * "services.jobOrchestrator.settings.batchSize" or
 * "features.jobOrchestrator.enabled". `value` is JSON text ("90", "true").
 * Persisted when a database is open. */
JOBQ_API int jobq_property_set(jobq_scheduler *s, const char *key,
                               const char *value);
/* Copy a property's value as JSON text into buf. Returns 0, or
 * JOBQ_ENOTFOUND for an unknown key, JOBQ_ERANGE if buf is too small. */
JOBQ_API int jobq_property_get(jobq_scheduler *s, const char *key, char *buf,
                               size_t cap);
/* The whole effective configuration as a JSON document; free with
 * jobq_free(). */
JOBQ_API int jobq_config_dump(jobq_scheduler *s, char **out_json);

/* Migrate to legacy: flip every job's flow to legacy and deploy every
 * queued run through the legacy path. *out_moved (may be NULL) receives how
 * many runs moved. */
JOBQ_API int jobq_migrate_to_legacy(jobq_scheduler *s, uint64_t *out_moved);

/* Free memory the library handed out (jobq_config_dump...). */
JOBQ_API void jobq_free(void *ptr);

#ifdef __cplusplus
}
#endif

#include "metrics.h"
#include "client.h"

#endif /* JOBQ_JOBQ_H */
