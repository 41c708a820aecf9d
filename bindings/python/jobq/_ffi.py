"""The C declarations libjobq exports, and the loaded shared library.

This is cffi's ABI mode: nothing is compiled when the package is installed,
the declarations below are matched against libjobq.so.0 at run time. They are
a hand copy of include/jobq/{jobq,host,errors,metrics}.h and must follow those
headers exactly (same field order, same types); tests/test_abi.py compares
every struct size and field offset with what a C compiler computes from the
real headers, so a drift fails the tests instead of corrupting memory.

To bind a new public function: add its prototype (and any new struct) to
CDEF, then wrap it in scheduler.py (see the "Adding a function" note there).
"""

import ctypes.util
import os
from typing import Any

from cffi import FFI

# Only what the binding calls. Enums are declared with their values because
# ABI mode cannot read them from the headers.
CDEF = r"""
typedef int64_t jobq_time_ms;
typedef uint64_t jobq_run_id;

typedef enum jobq_resource_kind {
    JOBQ_RESOURCE_CPU = 0, JOBQ_RESOURCE_MEMORY = 1, JOBQ_RESOURCE_PODS = 2,
    JOBQ_RESOURCE_STORAGE = 3, JOBQ_RESOURCE_COUNT = 4
} jobq_resource_kind;

typedef struct jobq_resources { int64_t amount[4]; } jobq_resources;

typedef enum jobq_priority { JOBQ_PRIORITY_HIGH = 0, JOBQ_PRIORITY_NORMAL = 1 } jobq_priority;
typedef enum jobq_flow { JOBQ_FLOW_PRIORITY = 0, JOBQ_FLOW_LEGACY = 1 } jobq_flow;

typedef struct jobq_clock {
    unsigned version;
    void *ctx;
    jobq_time_ms (*now_ms)(void *ctx);
} jobq_clock;

typedef struct jobq_probe {
    unsigned version;
    void *ctx;
    int (*read_quota)(void *ctx, const char *ns, jobq_resources *hard,
                      jobq_resources *used);
} jobq_probe;

typedef struct jobq_deploy_request {
    unsigned version;
    jobq_run_id run_id;
    const char *run_name;
    const char *job;
    const char *domain;
    const char *ns;
    jobq_priority priority;
    jobq_flow flow;
    jobq_resources request;
    const void *payload;
    size_t payload_len;
    unsigned attempt;
} jobq_deploy_request;

typedef enum jobq_poll_status {
    JOBQ_POLL_RUNNING = 0, JOBQ_POLL_FINISHED = 1, JOBQ_POLL_FAILED = 2,
    JOBQ_POLL_GONE = 3, JOBQ_POLL_QUOTA_REJECTED = 4
} jobq_poll_status;

typedef struct jobq_deployer {
    unsigned version;
    void *ctx;
    int (*deploy)(void *ctx, const jobq_deploy_request *req, char *msg,
                  size_t msg_cap);
    int (*cancel)(void *ctx, jobq_run_id run_id, char *msg, size_t msg_cap);
    int (*poll)(void *ctx, jobq_run_id run_id, jobq_poll_status *status,
                char *msg, size_t msg_cap);
} jobq_deployer;

typedef enum jobq_event_type {
    JOBQ_EVENT_SUBMITTED = 0, JOBQ_EVENT_BLOCKED = 1, JOBQ_EVENT_DEPLOYED = 2,
    JOBQ_EVENT_RESCHEDULED = 3, JOBQ_EVENT_HEAD_TIMEOUT_RETRY = 4,
    JOBQ_EVENT_CANCELLED = 5, JOBQ_EVENT_FINISHED = 6, JOBQ_EVENT_FAILED = 7,
    JOBQ_EVENT_DEPLOY_RETRY = 8
} jobq_event_type;

typedef struct jobq_event {
    unsigned version;
    jobq_event_type type;
    jobq_time_ms time;
    jobq_run_id run;
    const char *run_name;
    const char *job;
    const char *domain;
    const char *ns;
    jobq_priority priority;
    jobq_flow flow;
    jobq_resource_kind resource;
    int64_t requested;
    int64_t available;
    jobq_time_ms wait_ms;
    unsigned retry;
    const char *reason;
    const char *detail;
} jobq_event;

typedef struct jobq_event_sink {
    unsigned version;
    void *ctx;
    void (*on_event)(void *ctx, const jobq_event *event);
} jobq_event_sink;

typedef enum jobq_durability { JOBQ_DURABILITY_FULL = 0, JOBQ_DURABILITY_NORMAL = 1 } jobq_durability;

typedef struct jobq_options {
    unsigned version;
    const jobq_clock *clock;
    const jobq_probe *probe;
    const jobq_deployer *deployer;
    const jobq_event_sink *events;
    const char *config_json;
    const char *db_path;
    jobq_durability durability;
} jobq_options;

typedef struct jobq_scheduler jobq_scheduler;

typedef struct jobq_job_def {
    unsigned version;
    const char *name;
    const char *domain;
    const char *ns;
    jobq_priority priority;
    jobq_flow flow;
    jobq_resources request;
    const void *payload;
    size_t payload_len;
} jobq_job_def;

typedef enum jobq_run_state {
    JOBQ_RUN_QUEUED = 0, JOBQ_RUN_DEPLOYING = 1, JOBQ_RUN_RUNNING = 2,
    JOBQ_RUN_FINISHED = 3, JOBQ_RUN_FAILED = 4, JOBQ_RUN_CANCELLED = 5
} jobq_run_state;

typedef struct jobq_submit_opts {
    unsigned version;
    const char *run_name;
    const char *idempotency_key;
    const jobq_resources *request;
    int priority;
} jobq_submit_opts;

typedef struct jobq_run_info {
    unsigned version;
    jobq_run_id id;
    jobq_run_state state;
    char run_name[254];
    char job[254];
    char domain[254];
    char ns[64];
    jobq_priority priority;
    jobq_flow flow;
    jobq_resources request;
    jobq_time_ms submitted_at;
    jobq_time_ms deployed_at;
    jobq_time_ms ended_at;
    uint64_t queue_position;
    bool blocked;
    jobq_resource_kind blocked_resource;
    int64_t blocked_requested;
    int64_t blocked_available;
    jobq_time_ms blocked_since;
    jobq_time_ms head_timeout_at;
    unsigned retries_used;
    unsigned retries_left;
    unsigned deploy_attempts;
    char reason[32];
    char detail[512];
} jobq_run_info;

typedef struct jobq_run_filter {
    unsigned version;
    const char *ns;
    int priority;
    int state;
    size_t limit;
} jobq_run_filter;

typedef struct jobq_tick_stats {
    unsigned version;
    unsigned finished;
    unsigned failed;
    unsigned deployed;
    unsigned blocked;
    unsigned rescheduled;
    unsigned timeouts_retried;
    unsigned timeouts_cancelled;
    unsigned probe_errors;
    uint64_t queued;
    uint64_t running;
} jobq_tick_stats;

typedef struct jobq_tick_input {
    unsigned version;
    size_t submit_count;
    const char *const *submit_jobs;
    const jobq_submit_opts *submit_opts;
    jobq_run_id *submit_ids;
    size_t report_count;
    const jobq_run_id *report_ids;
    const jobq_run_state *report_states;
    const char *const *report_details;
} jobq_tick_input;

const char *jobq_version(void);
int jobq_version_number(void);
const char *jobq_strerror(int status);
const char *jobq_errname(int status);

int jobq_quantity_parse(int64_t *out, const char *text, jobq_resource_kind kind,
                        char *err, size_t err_cap);
int jobq_quantity_format(char *buf, size_t cap, int64_t amount,
                         jobq_resource_kind kind);
const char *jobq_resource_name(jobq_resource_kind kind);
const char *jobq_event_name(jobq_event_type type);
const char *jobq_run_state_name(jobq_run_state state);

int jobq_options_init(jobq_options *opts, unsigned version);
int jobq_open(jobq_scheduler **out, const jobq_options *opts, char *err,
              size_t err_cap);
int jobq_open_read_only(jobq_scheduler **out, const char *db_path, char *err,
                        size_t err_cap);
void jobq_close(jobq_scheduler *s);
int jobq_errmsg(jobq_scheduler *s, char *buf, size_t cap);

int jobq_job_def_init(jobq_job_def *def, unsigned version);
int jobq_job_define(jobq_scheduler *s, const jobq_job_def *def);
int jobq_job_set_flow(jobq_scheduler *s, const char *job, jobq_flow flow);

int jobq_submit_opts_init(jobq_submit_opts *opts, unsigned version);
int jobq_run_submit(jobq_scheduler *s, jobq_run_id *out_id, const char *job,
                    const jobq_submit_opts *opts);
int jobq_run_submit_batch(jobq_scheduler *s, jobq_run_id *out_ids,
                          const char *const *jobs, const jobq_submit_opts *opts,
                          size_t count);
int jobq_run_cancel(jobq_scheduler *s, jobq_run_id id, const char *detail);
int jobq_run_report(jobq_scheduler *s, jobq_run_id id, jobq_run_state state,
                    const char *detail);
int jobq_run_info_init(jobq_run_info *info, unsigned version);
int jobq_run_get(jobq_scheduler *s, jobq_run_info *info, jobq_run_id id);
int jobq_run_filter_init(jobq_run_filter *filter, unsigned version);
int jobq_run_list(jobq_scheduler *s, jobq_run_id **out_ids, size_t *out_count,
                  const jobq_run_filter *filter);
int jobq_run_search(jobq_scheduler *s, jobq_run_id **out_ids, size_t *out_count,
                    const char *text, size_t limit);
int jobq_run_explain(jobq_scheduler *s, char **out_json, jobq_run_id id);
int jobq_cleanup(jobq_scheduler *s, uint64_t max_runs, uint64_t *out_deleted);

int jobq_tick(jobq_scheduler *s, jobq_time_ms now, jobq_tick_stats *stats);
int jobq_tick_batch(jobq_scheduler *s, jobq_time_ms now,
                    const jobq_tick_input *input, jobq_tick_stats *stats);
int jobq_run_report_batch(jobq_scheduler *s, const jobq_run_id *ids,
                          const jobq_run_state *states,
                          const char *const *details, size_t count);
int jobq_next_deadline(jobq_scheduler *s, jobq_time_ms *out);

int jobq_configure(jobq_scheduler *s, const char *json);
int jobq_property_set(jobq_scheduler *s, const char *key, const char *value);
int jobq_property_get(jobq_scheduler *s, const char *key, char *buf, size_t cap);
int jobq_config_dump(jobq_scheduler *s, char **out_json);
int jobq_migrate_to_legacy(jobq_scheduler *s, uint64_t *out_moved);
void jobq_free(void *ptr);

int jobq_metrics_render(jobq_scheduler *s, char **out_text, size_t *out_len);
"""

# Versions of the structs and vtables this declaration matches.
OPTIONS_VERSION = 1
CLOCK_VERSION = 1
PROBE_VERSION = 1
DEPLOYER_VERSION = 1
EVENT_SINK_VERSION = 1
JOB_DEF_VERSION = 1
SUBMIT_OPTS_VERSION = 1
RUN_INFO_VERSION = 1
RUN_FILTER_VERSION = 1
TICK_STATS_VERSION = 1
TICK_INPUT_VERSION = 1

# Macros ABI mode cannot see (they are not plain integer literals in C).
INT64_MAX = 2**63 - 1
UNLIMITED = INT64_MAX        # JOBQ_UNLIMITED
TIME_NOW = -(2**63)          # JOBQ_TIME_NOW
NO_DEADLINE = INT64_MAX      # JOBQ_NO_DEADLINE
PRIORITY_DEFAULT = -1        # JOBQ_PRIORITY_DEFAULT
ANY = -1                     # JOBQ_ANY (jobq_run_filter)
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEPLOY_QUOTA_REJECTED = 1    # JOBQ_DEPLOY_QUOTA_REJECTED

SONAME = "libjobq.so.0"

ffi = FFI()
ffi.cdef(CDEF)


def _checkout_build_tree() -> str | None:
    """build/lib/libjobq.so.0 of the source checkout this package is part
    of, when it is one: the package sits in bindings/python/jobq of a tree
    that has the library's headers and meson.build. A copied or installed
    package is not in a checkout and never looks around its directory."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", "..", ".."))
    markers = (os.path.join(root, "include", "jobq", "jobq.h"),
               os.path.join(root, "meson.build"),
               os.path.join(root, "bindings", "python", "pyproject.toml"))
    if not all(os.path.exists(m) for m in markers):
        return None
    return os.path.join(root, "build", "lib", SONAME)


def _candidates() -> list[str]:
    """Where to look for the library, most specific first:

    1. JOBQ_LIBRARY, a path to libjobq.so.0 (or a directory holding it):
       nothing else is tried;
    2. the build tree of the source checkout this package is part of;
    3. the system: the SONAME through the dynamic linker (ld.so.cache after
       `meson install` and ldconfig, LD_LIBRARY_PATH), then whatever
       ctypes.util.find_library finds."""
    explicit = os.environ.get("JOBQ_LIBRARY")
    if explicit:
        if os.path.isdir(explicit):
            explicit = os.path.join(explicit, SONAME)
        return [explicit]
    found = []
    build = _checkout_build_tree()
    if build is not None and os.path.exists(build):
        found.append(build)
    found.append(SONAME)
    system = ctypes.util.find_library("jobq")
    if system and system != SONAME and system.endswith(".so.0"):
        found.append(system)
    return found


def _load() -> tuple[Any, str]:
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            errors.append(f"{path}: no such file")
            continue
        try:
            return ffi.dlopen(path), path
        except OSError as exc:
            errors.append(f"{path}: {exc}")
    raise ImportError(f"cannot load libjobq: install it (meson install, then "
                      f"ldconfig) or set JOBQ_LIBRARY to the path of {SONAME}"
                      f"; tried " + "; ".join(errors))


lib: Any
library_path: str
lib, library_path = _load()
"""The loaded library (cffi; every declaration of CDEF), and where it was
found (a path, or the SONAME when the dynamic linker found it)."""
