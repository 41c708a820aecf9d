"""Client: operate a running scheduler from another process.

A Client is a Scheduler opened with jobq_open_client() on the database file
a scheduling process (a host: jobq-k8s-host, a Python Scheduler with
db_path...) runs on. Its mutating methods (submit, submit_batch, cancel,
set_property, configure, define_job, set_job_flow, migrate_to_legacy) write
a request to the database; the scheduling process applies it at its next
cycle and the call returns the outcome exactly as a local call would (the
run id, the error as an exception). Its reads (run, list_runs, search,
explain, config, metrics) read the database. tick() is refused.

    with jobq.Client("/var/lib/jobq/jobq.db") as c:
        run_id = c.submit("nightly-etl", idempotency_key="2026-12-02")

wait_timeout (seconds) bounds how long a call waits for its outcome; on
expiry it raises TimedOut, whose request_id names the request (it stays
queued and is still applied: c.wait(request_id) later). wait_timeout=0
only enqueues: calls return None/0 ids and c.last_request says what to wait
for. Whoever can write the database file controls the scheduler.

The declarations of the client functions live here (not in _ffi.CDEF), in
an FFI that includes the main one, so that types are shared.
"""

from dataclasses import dataclass

from cffi import FFI

from . import _ffi
from .errors import JobqError, StateError, check_error
from .scheduler import _ERR_CAP, DURABILITIES, Scheduler, _path
from .records import enum_value

ETIMEDOUT = -13
WAIT_FOREVER = -1
CLIENT_OPTS_VERSION = 1
REQUEST_INFO_VERSION = 1

ffi = FFI()
ffi.include(_ffi.ffi)
ffi.cdef(r"""
typedef int64_t jobq_request_id;
typedef struct jobq_client_opts {
    unsigned version;
    jobq_durability durability;
    int64_t wait_timeout_ms;
    int busy_timeout_ms;
} jobq_client_opts;
typedef struct jobq_request_info {
    unsigned version;
    jobq_request_id id;
    int kind;
    int state;
    jobq_time_ms created_at;
    jobq_time_ms applied_at;
    int status;
    jobq_run_id run_id;
    uint64_t count;
    char summary[256];
    char message[512];
} jobq_request_info;
int jobq_client_opts_init(jobq_client_opts *opts, unsigned version);
int jobq_open_client(jobq_scheduler **out, const char *db_path,
                     const jobq_client_opts *opts, char *err, size_t err_cap);
int jobq_is_client(jobq_scheduler *s, bool *out);
const char *jobq_request_kind_name(int kind);
const char *jobq_request_state_name(int state);
int jobq_request_info_init(jobq_request_info *info, unsigned version);
int jobq_request_last(jobq_scheduler *s, jobq_request_id *out);
int jobq_request_get(jobq_scheduler *s, jobq_request_info *info,
                     jobq_request_id id);
int jobq_request_wait(jobq_scheduler *s, jobq_request_info *info,
                      jobq_request_id id, int64_t timeout_ms);
int jobq_request_runs(jobq_scheduler *s, jobq_run_id **out_ids,
                      size_t *out_count, jobq_request_id id);
int jobq_request_list(jobq_scheduler *s, jobq_request_id **out_ids,
                      size_t *out_count, size_t recent);
int jobq_requests_pending(jobq_scheduler *s, bool *out);
void jobq_free(void *ptr);
""")
lib = ffi.dlopen(_ffi.library_path)


class TimedOut(JobqError, TimeoutError):
    """No scheduler applied the request in time. It stays queued and will
    be applied; request_id says which one to wait for."""
    code = ETIMEDOUT
    request_id = None


@dataclass(frozen=True)
class RequestInfo:
    """One request and its outcome (jobq_request_info)."""
    id: int
    kind: str         # submit, submit_batch, cancel, property_set, ...
    state: str        # pending, applied, refused
    created_at: int   # requester's wall clock, Unix ms
    applied_at: int   # the scheduler's clock; None while pending
    status: int       # 0 or a negative status code
    run_id: int       # submit: the run; cancel: the run; batch: the first
    count: int        # batch: runs submitted; migrate: runs moved
    summary: str
    message: str

    @classmethod
    def from_c(cls, info):
        pending = info.state == 0
        return cls(id=int(info.id),
                   kind=ffi.string(lib.jobq_request_kind_name(info.kind))
                   .decode(),
                   state=ffi.string(lib.jobq_request_state_name(info.state))
                   .decode(),
                   created_at=int(info.created_at),
                   applied_at=None if pending else int(info.applied_at),
                   status=int(info.status), run_id=int(info.run_id),
                   count=int(info.count),
                   summary=ffi.string(info.summary).decode(errors="replace"),
                   message=ffi.string(info.message).decode(errors="replace"))


def _ms(seconds):
    if seconds is None:
        return WAIT_FOREVER
    if seconds < 0:
        raise ValueError("timeout: expected seconds >= 0 or None")
    return int(seconds * 1000)


class Client(Scheduler):
    """A client handle on the database at db_path (see the module doc).

    wait_timeout: seconds a mutating call waits for its outcome (None: no
    limit, 0: enqueue only). durability: 'full' (fsync each request) or
    'normal'. busy_timeout: seconds a write waits for the scheduler's
    transaction (None: the library's 5 s)."""

    def __init__(self, db_path, wait_timeout=60.0, durability="full",
                 busy_timeout=None):
        from ._host import HostAdapter
        self._setup(HostAdapter(), read_only=False)
        opts = ffi.new("jobq_client_opts *")
        check_error(lib.jobq_client_opts_init(opts, CLIENT_OPTS_VERSION))
        opts.wait_timeout_ms = _ms(wait_timeout)
        opts.durability = enum_value(DURABILITIES, durability, "durability")
        if busy_timeout is not None:
            opts.busy_timeout_ms = max(1, int(busy_timeout * 1000))
        out = ffi.new("jobq_scheduler **")
        err = ffi.new("char[]", _ERR_CAP)
        rc = lib.jobq_open_client(out, _path(db_path, "db_path"), opts, err,
                                  _ERR_CAP)
        check_error(rc, lambda: ffi.string(err).decode())
        self._handle = out[0]

    def _call(self, name, *args):
        try:
            return super()._call(name, *args)
        except JobqError as exc:
            if exc.code != ETIMEDOUT:
                raise
            timed_out = TimedOut(exc.message, ETIMEDOUT)
            timed_out.request_id = self._last_or_none()
            raise timed_out from None

    def _client_call(self, fn, *args):
        with self._lock:
            if self._handle is None:
                raise StateError("the client is closed")
            rc = fn(self._handle, *args)
            if rc < 0:
                message = self._message(rc)
                if rc == ETIMEDOUT:
                    exc = TimedOut(message, rc)
                    exc.request_id = args[1] if len(args) > 1 else None
                    raise exc
                check_error(rc, lambda: message)
            return rc

    def _last_or_none(self):
        out = ffi.new("jobq_request_id *")
        with self._lock:
            if self._handle is None:
                return None
            return int(out[0]) if lib.jobq_request_last(
                self._handle, out) == 0 else None

    @property
    def last_request(self):
        """The id of the request the last mutating call wrote, or None."""
        return self._last_or_none()

    def request(self, request_id):
        """The request's state and outcome (RequestInfo); NotFound."""
        info = ffi.new("jobq_request_info *")
        check_error(lib.jobq_request_info_init(info, REQUEST_INFO_VERSION))
        self._client_call(lib.jobq_request_get, info, request_id)
        return RequestInfo.from_c(info)

    def wait(self, request_id, timeout=None):
        """Wait for the request's outcome (timeout in seconds, None: no
        limit); returns its RequestInfo, raises TimedOut."""
        info = ffi.new("jobq_request_info *")
        check_error(lib.jobq_request_info_init(info, REQUEST_INFO_VERSION))
        self._client_call(lib.jobq_request_wait, info, request_id,
                          _ms(timeout))
        return RequestInfo.from_c(info)

    def request_runs(self, request_id):
        """The run ids a submit or batch request produced, in order."""
        ids = ffi.new("jobq_run_id **")
        count = ffi.new("size_t *")
        self._client_call(lib.jobq_request_runs, ids, count, request_id)
        try:
            return [int(ids[0][i]) for i in range(count[0])]
        finally:
            lib.jobq_free(ids[0])

    def requests(self, recent=20):
        """Pending requests and the `recent` newest others (0: all), oldest
        first, as RequestInfo."""
        ids = ffi.new("jobq_request_id **")
        count = ffi.new("size_t *")
        self._client_call(lib.jobq_request_list, ids, count, recent)
        try:
            found = [int(ids[0][i]) for i in range(count[0])]
        finally:
            lib.jobq_free(ids[0])
        return [self.request(i) for i in found]

    def pending(self):
        """Whether any request is still waiting for the scheduler."""
        out = ffi.new("bool *")
        self._client_call(lib.jobq_requests_pending, out)
        return bool(out[0])
