/*
 * libjobq live control: operate a running scheduler from other processes.
 *
 * The database file is the meeting point. One process schedules (a handle
 * from jobq_open() with a db_path: it holds the file's writer lock and is
 * the only one that decides); any number of other processes open *client
 * handles* on the same file with jobq_open_client(). A client handle is an
 * ordinary jobq_scheduler, with these differences:
 *
 *   - The mutating calls (jobq_run_submit, jobq_run_submit_batch,
 *     jobq_run_cancel, jobq_property_set, jobq_configure, jobq_job_define,
 *     jobq_job_set_flow, jobq_migrate_to_legacy) do not change the state
 *     themselves: each writes a *request* to the database (one transaction,
 *     durable per the client's durability mode when the call returns; the
 *     arguments are stored as data, never as SQL). By default the call then
 *     waits for the scheduling process to apply it and returns its outcome
 *     exactly as the local call would: the run id in *out_id, the ids of a
 *     batch, the count of jobq_migrate_to_legacy, the status code, and the
 *     message through jobq_errmsg().
 *       With a wait timeout of 0 the call only enqueues: it returns 0 once
 *     the request is durable, output ids are set to 0, and
 *     jobq_request_last() gives the request id to wait for later. If the
 *     wait times out, the call returns JOBQ_ETIMEDOUT; the request stays
 *     queued and will still be applied (look it up with jobq_request_last()
 *     and jobq_request_wait() / jobq_request_get()).
 *   - The reads (jobq_run_get, jobq_run_list, jobq_run_search,
 *     jobq_run_explain, jobq_property_get, jobq_config_dump,
 *     jobq_metrics_render...) read the database as jobq_open_read_only()
 *     does; the handle reloads its view when another process committed
 *     since its last call (a constant-cost PRAGMA data_version check).
 *   - jobq_tick, jobq_run_report and jobq_cleanup are refused
 *     (JOBQ_ESTATE): only the scheduling process decides.
 *   - It takes no writer lock; any number of clients may be open, with or
 *     without a scheduling process.
 *
 * The scheduling process applies the requests that are waiting at the
 * start of every jobq_tick(), in the order they were committed, each in
 * the same transaction as its effects, and records every outcome (the run
 * id or ids, a count, or the error code and message). A cycle with no new
 * request costs one PRAGMA data_version and writes nothing. Requests
 * written while no scheduler runs wait in the file and are applied, in
 * order, by the first cycle of the next one.
 *
 * How a host learns that a request is waiting: it need not. Requests are
 * applied by the next cycle, so a host that ticks every T seconds (as it
 * must anyway while runs are queued or running) applies them within T;
 * jobq_next_deadline() does not change. A host that wants a faster answer
 * without ticking faster may call jobq_requests_pending() (constant cost)
 * in its wait loop and tick early when it says yes.
 *
 * Access: whoever can write the database file controls the scheduler.
 * libjobq creates the file (and its -wal, -shm and -lock companions) with
 * mode 0600; keep it that way, or grant write access deliberately.
 *
 * Idempotency keys work across processes: a submit with a key already used
 * (by any process, before or after the request was written) returns the
 * first run's id.
 */
#ifndef JOBQ_CLIENT_H
#define JOBQ_CLIENT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Wait timeouts: 0 = enqueue only, do not wait; this = wait forever. */
#define JOBQ_WAIT_FOREVER (-1)

#define JOBQ_CLIENT_OPTS_VERSION 1

typedef struct jobq_client_opts {
    unsigned version; /* JOBQ_CLIENT_OPTS_VERSION */
    /* How the request rows are committed (see jobq_durability): FULL, the
     * default, fsyncs each request before the call returns. */
    jobq_durability durability;
    /* How long a mutating call waits for its outcome, in ms: 0 = enqueue
     * only, JOBQ_WAIT_FOREVER = no limit. Default 60000. */
    int64_t wait_timeout_ms;
    /* How long a write waits for the scheduler's transaction to end before
     * failing with JOBQ_EBUSY (SQLite busy_timeout), in ms; 0 = 5000. */
    int busy_timeout_ms;
} jobq_client_opts;

#define JOBQ_CLIENT_OPTS_INIT {JOBQ_CLIENT_OPTS_VERSION, JOBQ_DURABILITY_FULL, \
                               60000, 0}
JOBQ_API int jobq_client_opts_init(jobq_client_opts *opts, unsigned version);

/* Open a client handle on the database at `db_path` (opts may be NULL for
 * the defaults). The file must exist and carry a schema with requests
 * (open it once with jobq_open() of this version): JOBQ_ENOTFOUND if it
 * does not exist, JOBQ_EVERSION for an older or newer schema, other
 * errors as jobq_open_read_only(). Close with jobq_close(). */
JOBQ_API int jobq_open_client(jobq_scheduler **out, const char *db_path,
                              const jobq_client_opts *opts, char *err,
                              size_t err_cap);

/* True for a handle from jobq_open_client(). */
JOBQ_API int jobq_is_client(jobq_scheduler *s, bool *out);

/* ---------------------------------------------------------------- requests */

/* Durable request id: assigned in commit order, never reused. */
typedef int64_t jobq_request_id;

typedef enum jobq_request_kind {
    JOBQ_REQUEST_SUBMIT = 0,
    JOBQ_REQUEST_SUBMIT_BATCH = 1,
    JOBQ_REQUEST_CANCEL = 2,
    JOBQ_REQUEST_PROPERTY_SET = 3,
    JOBQ_REQUEST_CONFIGURE = 4,
    JOBQ_REQUEST_JOB_DEFINE = 5,
    JOBQ_REQUEST_JOB_SET_FLOW = 6,
    JOBQ_REQUEST_MIGRATE_TO_LEGACY = 7
} jobq_request_kind;

/* "submit", "submit_batch", "cancel", "property_set", "configure",
 * "job_define", "job_set_flow", "migrate_to_legacy"; NULL if unknown. */
JOBQ_API const char *jobq_request_kind_name(jobq_request_kind kind);

typedef enum jobq_request_state {
    JOBQ_REQUEST_PENDING = 0, /* written, not yet applied */
    JOBQ_REQUEST_APPLIED = 1, /* applied; status 0 */
    JOBQ_REQUEST_REFUSED = 2  /* applied with an error; status < 0 */
} jobq_request_state;

/* "pending", "applied", "refused"; NULL if unknown. */
JOBQ_API const char *jobq_request_state_name(jobq_request_state state);

#define JOBQ_REQUEST_INFO_VERSION 1

/* One request and its outcome, copied out. */
typedef struct jobq_request_info {
    unsigned version; /* set by the caller: JOBQ_REQUEST_INFO_VERSION */
    jobq_request_id id;
    jobq_request_kind kind;
    jobq_request_state state;
    jobq_time_ms created_at; /* the requester's wall clock, Unix ms */
    jobq_time_ms applied_at; /* the scheduler's clock; -1 while pending */
    int status;              /* the outcome: 0 or a jobq_status */
    /* SUBMIT: the run (also for a repeated idempotency key); CANCEL: the
     * run cancelled; SUBMIT_BATCH: the first run; 0 otherwise. */
    jobq_run_id run_id;
    /* SUBMIT_BATCH: runs submitted; MIGRATE_TO_LEGACY: runs moved. */
    uint64_t count;
    /* What was asked, for humans ("nightly-etl key=k1", "run 42",
     * "job-orchestrator.queue.head-timeout-seconds=600"). */
    char summary[256];
    /* The outcome's message ("" when it succeeded). */
    char message[512];
} jobq_request_info;

#define JOBQ_REQUEST_INFO_INIT {JOBQ_REQUEST_INFO_VERSION, 0, 0, 0, 0, -1, 0, \
                                0, 0, "", ""}
JOBQ_API int jobq_request_info_init(jobq_request_info *info, unsigned version);

/* The id of the request the last mutating call on this client handle
 * wrote (whether it waited or not). JOBQ_ENOTFOUND if none yet. */
JOBQ_API int jobq_request_last(jobq_scheduler *s, jobq_request_id *out);

/* Look a request up (any handle with a database). JOBQ_ENOTFOUND if there
 * is no such request. */
JOBQ_API int jobq_request_get(jobq_scheduler *s, jobq_request_info *info,
                              jobq_request_id id);

/* Wait up to timeout_ms (JOBQ_WAIT_FOREVER: no limit; 0: just look) for
 * request `id` to be applied. Returns 0 once it has an outcome (which is
 * in info->status and info->message), JOBQ_ETIMEDOUT if it is still
 * pending (info filled as it stands), JOBQ_ENOTFOUND if unknown. */
JOBQ_API int jobq_request_wait(jobq_scheduler *s, jobq_request_info *info,
                               jobq_request_id id, int64_t timeout_ms);

/* The run ids a SUBMIT or SUBMIT_BATCH request produced, in input order
 * (a refused batch: those submitted before the refusal). *out_ids is
 * allocated (free with jobq_free(); NULL when *out_count is 0). */
JOBQ_API int jobq_request_runs(jobq_scheduler *s, jobq_run_id **out_ids,
                               size_t *out_count, jobq_request_id id);

/* Request ids in ascending (commit) order: every pending one, and of the
 * others the `recent` newest (0: all of them). Free with jobq_free(). */
JOBQ_API int jobq_request_list(jobq_scheduler *s, jobq_request_id **out_ids,
                               size_t *out_count, size_t recent);

/* On a scheduling handle: whether requests may be waiting (another process
 * committed to the database since the last cycle). Constant cost; a host
 * may call it between ticks and tick early. Always false without a
 * database; on a client handle, whether any request is pending. */
JOBQ_API int jobq_requests_pending(jobq_scheduler *s, bool *out);

#ifdef __cplusplus
}
#endif

#endif /* JOBQ_CLIENT_H */
