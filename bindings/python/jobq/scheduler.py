"""Scheduler: the Pythonic face of one jobq_scheduler handle.

Every library call goes through Scheduler._call(), which

- holds a per-Scheduler re-entrant lock across the call *and* the reading
  of its error message, so that another Python thread's failure cannot
  overwrite the message in between (the library keeps one message per
  handle, not per thread). The lock is re-entrant because callbacks run on
  the calling thread while it holds the lock: a callback calling back in
  takes it again and gets the library's JOBQ_EBUSY as BusyError rather
  than a deadlock;
- re-raises an exception a Python callback raised during the call (see
  _host.py), in preference to whatever status the library returned;
- turns a negative status into an exception (errors.check_error).

Adding a function (say jobq_metrics_render when it lands): declare it in
_ffi.CDEF, then write a method that builds the C arguments and calls
self._call("jobq_...", args...) — nothing else needs to change.
"""

import json
import threading

from ._ffi import (JOB_DEF_VERSION, NO_DEADLINE, OPTIONS_VERSION,
                   PRIORITY_DEFAULT, RUN_INFO_VERSION, SUBMIT_OPTS_VERSION,
                   TICK_STATS_VERSION, TIME_NOW, ffi, lib)
from ._host import HostAdapter
from .errors import (EBUSY, BusyError, InvalidArgument, RangeError,
                     StateError, check_error, error_for)
from .records import (FLOWS, PRIORITIES, STATES, Resources, RunInfo, TickStats,
                    enum_value)

DURABILITIES = ("full", "normal")
_ERR_CAP = 1024


def _cstr(value, what, optional=False):
    """A Python str as a NUL-terminated C string kept alive by the caller.
    Embedded NULs are refused: C would silently cut the name there."""
    if value is None and optional:
        return ffi.NULL
    if not isinstance(value, str):
        raise InvalidArgument(f"{what}: expected a str, got {value!r}")
    data = value.encode()
    if b"\0" in data:
        raise InvalidArgument(f"{what}: must not contain a NUL character")
    return ffi.new("char[]", data)


class Scheduler:
    """A libjobq scheduler. Use as a context manager, or call close().

    probe:    callable(namespace) -> (hard, used) or None when the quota
              cannot be read; hard/used are dicts of Kubernetes quantities
              ({'cpu': '64', 'memory': '256Gi'}) or Resources. A dimension
              missing from hard is unlimited, from used is 0. An object
              with a read_quota(namespace) method works too.
    deployer: object with deploy(DeployRequest) -> None | QUOTA_REJECTED,
              and optionally cancel(run_id) and poll(run_id) -> status
              ('running', 'finished', 'failed', 'gone', 'quota_rejected')
              or (status, message). Raise DeployError for an ordinary
              failure. Without poll, report() ends runs.
    clock:    callable() -> milliseconds, or an object with now_ms().
    on_event: callable(Event), called for every event, in order.
    config:   a dict or JSON text (SPEC section 3, any subset).
    db_path:  SQLite file for durable state (None: in memory).
    """

    def __init__(self, probe=None, deployer=None, clock=None, on_event=None,
                 config=None, db_path=None, durability="full"):
        self._handle = None
        self._lock = threading.RLock()
        self._depth = 0  # library calls in progress on the lock's thread
        self._host = HostAdapter(probe, deployer, clock, on_event)

        opts = ffi.new("jobq_options *")
        check_error(lib.jobq_options_init(opts, OPTIONS_VERSION))
        opts.clock = self._host.clock
        opts.probe = self._host.probe
        opts.deployer = self._host.deployer
        opts.events = self._host.events
        if isinstance(config, dict):
            config = json.dumps(config)
        config_c = _cstr(config, "config", optional=True)
        db_c = _cstr(db_path, "db_path", optional=True)
        opts.config_json = config_c
        opts.db_path = db_c
        opts.durability = enum_value(DURABILITIES, durability, "durability")

        out = ffi.new("jobq_scheduler **")
        err = ffi.new("char[]", _ERR_CAP)
        rc = lib.jobq_open(out, opts, err, _ERR_CAP)
        pending = self._host.take_pending()
        if pending is not None:
            lib.jobq_close(out[0])  # NULL-safe
            raise pending
        check_error(rc, lambda: ffi.string(err).decode())
        self._handle = out[0]

    # ------------------------------------------------------------ lifetime

    def close(self):
        """Free the C handle. Idempotent; refused from inside a callback of
        this scheduler (the library is still using the handle)."""
        with self._lock:
            if self._depth:
                raise BusyError("close() called from a callback of this "
                                "scheduler", EBUSY)
            handle, self._handle = self._handle, None
            if handle is not None:
                lib.jobq_close(handle)

    @property
    def closed(self):
        return self._handle is None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        # Only reached when nothing (no callback in progress) refers to us.
        handle = getattr(self, "_handle", None)
        if handle is not None:
            self._handle = None
            try:
                lib.jobq_close(handle)
            except Exception:  # interpreter shutdown: lib may be gone
                pass

    # ------------------------------------------------------------- calling

    def _call(self, name, *args):
        """Call lib.<name>(handle, *args); raise on failure. See the module
        doc."""
        fn = getattr(lib, name)
        with self._lock:
            if self._handle is None:
                raise StateError("the scheduler is closed")
            self._depth += 1
            try:
                rc = fn(self._handle, *args)
                message = self._message(rc) if rc < 0 else None
            finally:
                self._depth -= 1
            # Only the outermost call re-raises: a re-entrant call made from
            # a callback must not steal an exception stored by an earlier
            # callback of the call that is still running.
            pending = self._host.take_pending() if self._depth == 0 else None
            if pending is not None:
                pending.add_note(f"raised in a libjobq callback during {name}")
                raise pending
            if rc < 0:
                raise error_for(rc, message)
            return rc

    def _message(self, rc):
        if rc == EBUSY:
            # The lock is held by this very thread (we are inside one of its
            # callbacks); jobq_errmsg would wait for it forever.
            return ("re-entrant call: a callback called back into the "
                    "scheduler that is calling it")
        buf = ffi.new("char[]", _ERR_CAP)
        lib.jobq_errmsg(self._handle, buf, _ERR_CAP)
        return ffi.string(buf).decode(errors="replace")

    # ---------------------------------------------------------------- jobs

    def define_job(self, name, namespace, priority="normal", flow="priority",
                   request=None, payload=None, domain=None):
        """Create or update a job; returns its name (what submit() takes).
        request: {'cpu': '2', 'memory': '8Gi', 'pods': 3, 'storage': '0'}."""
        resources = Resources.of(request)
        if payload is not None and not isinstance(payload, (bytes, bytearray)):
            raise InvalidArgument("payload: expected bytes")
        job = ffi.new("jobq_job_def *")
        check_error(lib.jobq_job_def_init(job, JOB_DEF_VERSION))
        keep = [_cstr(name, "name"), _cstr(namespace, "namespace"),
                _cstr(domain, "domain", optional=True)]
        job.name, job.ns, job.domain = keep
        job.priority = enum_value(PRIORITIES, priority, "priority")
        job.flow = enum_value(FLOWS, flow, "flow")
        resources.to_c(job.request)
        if payload:
            keep.append(ffi.new("char[]", bytes(payload)))
            job.payload = keep[-1]
            job.payload_len = len(payload)
        self._call("jobq_job_define", job)
        return name

    def set_job_flow(self, job, flow):
        """Move one job to the 'legacy' or 'priority' flow."""
        self._call("jobq_job_set_flow", _cstr(job, "job"),
                   enum_value(FLOWS, flow, "flow"))

    # ---------------------------------------------------------------- runs

    def submit(self, job, run_name=None, request=None, priority=None,
               idempotency_key=None):
        """Submit a run of `job`; returns its durable id."""
        opts = ffi.new("jobq_submit_opts *")
        check_error(lib.jobq_submit_opts_init(opts, SUBMIT_OPTS_VERSION))
        keep = [_cstr(run_name, "run_name", optional=True),
                _cstr(idempotency_key, "idempotency_key", optional=True)]
        opts.run_name, opts.idempotency_key = keep
        if request is not None:
            keep.append(ffi.new("jobq_resources *"))
            Resources.of(request).to_c(keep[-1])
            opts.request = keep[-1]
        opts.priority = (PRIORITY_DEFAULT if priority is None
                         else enum_value(PRIORITIES, priority, "priority"))
        out = ffi.new("jobq_run_id *")
        self._call("jobq_run_submit", out, _cstr(job, "job"), opts)
        return int(out[0])

    def cancel(self, run_id, detail=None):
        """Cancel a queued or running run; StateError if it already ended."""
        self._call("jobq_run_cancel", run_id,
                   _cstr(detail, "detail", optional=True))

    def report(self, run_id, state, detail=None):
        """Report a deployed run 'finished' or 'failed' (for deployers
        without poll)."""
        self._call("jobq_run_report", run_id,
                   enum_value(STATES, state, "state"),
                   _cstr(detail, "detail", optional=True))

    def run(self, run_id):
        """A RunInfo snapshot of run `run_id`; NotFound if unknown."""
        info = ffi.new("jobq_run_info *")
        check_error(lib.jobq_run_info_init(info, RUN_INFO_VERSION))
        self._call("jobq_run_get", info, run_id)
        return RunInfo.from_c(info)

    # ---------------------------------------------------------- scheduling

    def tick(self, now=None):
        """Run one scheduling cycle at `now` (milliseconds; None = the
        scheduler's clock) and return what it did as TickStats."""
        stats = ffi.new("jobq_tick_stats *")
        stats.version = TICK_STATS_VERSION
        self._call("jobq_tick", TIME_NOW if now is None else now, stats)
        return TickStats.from_c(stats)

    def next_deadline(self):
        """When the next time-driven action is due (ms), or None."""
        out = ffi.new("jobq_time_ms *")
        self._call("jobq_next_deadline", out)
        return None if out[0] == NO_DEADLINE else int(out[0])

    # ------------------------------------------------------- configuration

    def configure(self, document):
        """Apply a configuration document (dict or JSON text), all or
        nothing."""
        if isinstance(document, dict):
            document = json.dumps(document)
        self._call("jobq_configure", _cstr(document, "document"))

    def set_property(self, key, value):
        """Set one property; value is a Python value (90, True), sent as
        JSON."""
        self._call("jobq_property_set", _cstr(key, "key"),
                   _cstr(json.dumps(value), "value"))

    def get_property(self, key):
        """One property's value as a Python value; NotFound if unknown."""
        cap = 128
        while True:
            buf = ffi.new("char[]", cap)
            try:
                self._call("jobq_property_get", _cstr(key, "key"), buf, cap)
                return json.loads(ffi.string(buf).decode())
            except RangeError:
                if cap >= 1 << 20:
                    raise
                cap *= 16  # a longer value than any today: grow and retry

    def config(self):
        """The whole effective configuration as a dict."""
        out = ffi.new("char **")
        self._call("jobq_config_dump", out)
        try:
            return json.loads(ffi.string(out[0]).decode())
        finally:
            lib.jobq_free(out[0])

    def migrate_to_legacy(self):
        """Flip every job to the legacy flow and deploy the queued runs;
        returns how many runs moved."""
        out = ffi.new("uint64_t *")
        self._call("jobq_migrate_to_legacy", out)
        return int(out[0])
