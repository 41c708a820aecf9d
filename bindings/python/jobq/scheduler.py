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

Adding a function: declare it in _ffi.CDEF, then write a method that
builds the C arguments and calls self._call("jobq_...", args...) — nothing
else needs to change (see _run_ids() for functions returning id arrays).
"""

import json
import os
import threading
from collections.abc import Mapping

from ._ffi import (ANY, JOB_DEF_VERSION, NO_DEADLINE, OPTIONS_VERSION,
                   PRIORITY_DEFAULT, RUN_FILTER_VERSION, RUN_INFO_VERSION,
                   SUBMIT_OPTS_VERSION, TICK_STATS_VERSION, TIME_NOW, ffi, lib)
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


def _path(value, what):
    """A db path: str or os.PathLike (pathlib.Path), as a C string."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
        if isinstance(value, bytes):
            value = os.fsdecode(value)
    return _cstr(value, what)


def _limit(value, what="limit"):
    """None (no limit) as 0; otherwise a positive int."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(f"{what}: expected a positive int or None, "
                              f"got {value!r}")
    return value


def _fill_submit_opts(opts, keep, run_name=None, request=None, priority=None,
                      idempotency_key=None):
    """Initialise a jobq_submit_opts from submit()'s keyword arguments; the
    C strings and buffers it points to are appended to `keep`."""
    check_error(lib.jobq_submit_opts_init(opts, SUBMIT_OPTS_VERSION))
    names = [_cstr(run_name, "run_name", optional=True),
             _cstr(idempotency_key, "idempotency_key", optional=True)]
    keep.extend(names)
    opts.run_name, opts.idempotency_key = names
    if request is not None:
        keep.append(ffi.new("jobq_resources *"))
        Resources.of(request).to_c(keep[-1])
        opts.request = keep[-1]
    opts.priority = (PRIORITY_DEFAULT if priority is None
                     else enum_value(PRIORITIES, priority, "priority"))


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
    db_path:  SQLite file for durable state (None: in memory); a str or
              a pathlib.Path.
    durability: 'full' (fsync every commit) or 'normal'.

    Scheduler.open_read_only(db_path) opens a database for inspection
    only (no hosts, nothing written; writes raise StateError).
    """

    def __init__(self, probe=None, deployer=None, clock=None, on_event=None,
                 config=None, db_path=None, durability="full"):
        self._setup(HostAdapter(probe, deployer, clock, on_event))

        opts = ffi.new("jobq_options *")
        check_error(lib.jobq_options_init(opts, OPTIONS_VERSION))
        opts.clock = self._host.clock
        opts.probe = self._host.probe
        opts.deployer = self._host.deployer
        opts.events = self._host.events
        if isinstance(config, dict):
            config = json.dumps(config)
        config_c = _cstr(config, "config", optional=True)
        db_c = ffi.NULL if db_path is None else _path(db_path, "db_path")
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

    def _setup(self, host, read_only=False):
        self._handle = None
        self._lock = threading.RLock()
        self._depth = 0  # library calls in progress on the lock's thread
        self._host = host
        self._read_only = read_only

    @classmethod
    def open_read_only(cls, db_path):
        """Open the database at db_path read-only, to inspect it while
        another process may be running a scheduler on it: run(), list_runs(),
        search(), explain(), metrics(), config()... work; anything that
        would change something raises StateError. NotFound if the file does
        not exist. Use as a context manager, or call close()."""
        self = cls.__new__(cls)
        self._setup(HostAdapter(), read_only=True)
        db_c = _path(db_path, "db_path")
        out = ffi.new("jobq_scheduler **")
        err = ffi.new("char[]", _ERR_CAP)
        rc = lib.jobq_open_read_only(out, db_c, err, _ERR_CAP)
        check_error(rc, lambda: ffi.string(err).decode())
        self._handle = out[0]
        return self

    @property
    def read_only(self):
        """True for a scheduler opened with open_read_only()."""
        return self._read_only

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
        """Submit a run of `job`; returns its durable id. With a database,
        a second submit with the same idempotency_key returns the first
        run's id instead of creating another run."""
        opts = ffi.new("jobq_submit_opts *")
        keep = []
        _fill_submit_opts(opts, keep, run_name, request, priority,
                          idempotency_key)
        out = ffi.new("jobq_run_id *")
        self._call("jobq_run_submit", out, _cstr(job, "job"), opts)
        return int(out[0])

    def submit_batch(self, runs):
        """Submit several runs in one transaction (one fsync with a
        database); returns their ids in order. Each item is a job name, or
        a dict with "job" and any of submit()'s keyword arguments
        ({"job": "etl", "run_name": "etl-42", "priority": "high"}).

        Runs are submitted in order, all or nothing: if one is refused, none
        is submitted; the exception names its index ("runs[2]: ...") and
        its `submitted` attribute holds the ids of the runs that were
        (none)."""
        runs = list(runs)
        count = len(runs)
        jobs = ffi.new("const char *[]", max(count, 1))
        opts = ffi.new("jobq_submit_opts[]", max(count, 1))
        keep = []
        for i, item in enumerate(runs):
            if isinstance(item, str):
                job, kwargs = item, {}
            elif isinstance(item, Mapping):
                kwargs = dict(item)
                job = kwargs.pop("job", None)
                if job is None:
                    raise InvalidArgument(f"runs[{i}]: no \"job\"")
            else:
                raise InvalidArgument(f"runs[{i}]: expected a job name or a "
                                      f"dict, got {item!r}")
            try:
                _fill_submit_opts(opts + i, keep, **kwargs)
                keep.append(_cstr(job, "job"))
            except TypeError as exc:  # an unknown keyword
                raise InvalidArgument(f"runs[{i}]: {exc}") from None
            except InvalidArgument as exc:
                raise InvalidArgument(f"runs[{i}]: {exc.message}") from None
            jobs[i] = keep[-1]
        out = ffi.new("jobq_run_id[]", max(count, 1))
        try:
            self._call("jobq_run_submit_batch", out, jobs, opts, count)
        except Exception as exc:
            # out_ids[i..] are 0 from the failed run on.
            done = []
            for i in range(count):
                if out[i] == 0:
                    break
                done.append(int(out[i]))
            exc.submitted = done
            raise
        return [int(out[i]) for i in range(count)]

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

    def _run_ids(self, name, *args):
        """Call a function that hands back a jobq_free'd array of run ids
        (out_ids, out_count, *args) and return them as a list."""
        out = ffi.new("jobq_run_id **")
        count = ffi.new("size_t *")
        self._call(name, out, count, *args)
        try:
            return ffi.unpack(out[0], count[0]) if count[0] else []
        finally:
            lib.jobq_free(out[0])  # NULL-safe

    def list_runs(self, namespace=None, priority=None, state=None, limit=None):
        """The ids of the runs matching every given filter, in submission
        (ascending id) order, terminal runs kept on disk included.

        namespace: a name; priority: 'high' or 'normal'; state: a state
        name ('queued', 'running'...) or a collection of them; limit: at
        most this many, the newest. None means any / no limit."""
        filt = ffi.new("jobq_run_filter *")
        check_error(lib.jobq_run_filter_init(filt, RUN_FILTER_VERSION))
        ns_c = _cstr(namespace, "namespace", optional=True)
        filt.ns = ns_c
        filt.priority = (ANY if priority is None
                         else enum_value(PRIORITIES, priority, "priority"))
        filt.limit = _limit(limit)
        if state is None or isinstance(state, str):
            filt.state = ANY if state is None else enum_value(STATES, state,
                                                              "state")
            return self._run_ids("jobq_run_list", filt)
        # Several states: one query each, merged; the newest `limit` of
        # each query include the newest `limit` of the union.
        ids = set()
        for one in state:
            filt.state = enum_value(STATES, one, "state")
            ids.update(self._run_ids("jobq_run_list", filt))
        ids = sorted(ids)
        return ids[-filt.limit:] if filt.limit else ids

    def search(self, text, limit=None):
        """The ids of the runs whose run name or job name contains `text`
        (case-insensitive), newest first, at most `limit`."""
        if not text:
            raise InvalidArgument("search text is empty")
        return self._run_ids("jobq_run_search", _cstr(text, "text"),
                             _limit(limit))

    def explain(self, run_id):
        """Why the run is where it is, as a dict: "run", "state", "job",
        "namespace", "priority", "flow", "name", the times, "queue"
        (position, length, ahead) for a queued run, "blocked", "retries",
        "head_timeout_at", "estimated_start" with "estimate_note", and
        "events" (with a database). See jobq_run_explain() in jobq.h."""
        out = ffi.new("char **")
        self._call("jobq_run_explain", out, run_id)
        try:
            return json.loads(ffi.string(out[0]).decode())
        finally:
            lib.jobq_free(out[0])

    def cleanup(self, max_runs=None):
        """Retention now: delete the terminal runs (and their events) that
        ended more than retentionPeriod seconds ago, at most max_runs (None:
        all of them), whether or not jobRunCleanup is enabled. Returns how
        many were deleted."""
        out = ffi.new("uint64_t *")
        self._call("jobq_cleanup", _limit(max_runs, "max_runs"), out)
        return int(out[0])

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

    def metrics(self):
        """Every metric in the Prometheus text exposition format 0.0.4
        (serve it with jobq.METRICS_CONTENT_TYPE)."""
        out = ffi.new("char **")
        length = ffi.new("size_t *")
        self._call("jobq_metrics_render", out, length)
        try:
            return ffi.unpack(out[0], length[0]).decode()
        finally:
            lib.jobq_free(out[0])

    def migrate_to_legacy(self):
        """Flip every job to the legacy flow and deploy the queued runs;
        returns how many runs moved."""
        out = ffi.new("uint64_t *")
        self._call("jobq_migrate_to_legacy", out)
        return int(out[0])
