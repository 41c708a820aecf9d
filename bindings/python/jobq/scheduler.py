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

Arguments are checked before C sees them, each error naming the argument:
a wrong type raises ArgumentTypeError (a TypeError and an InvalidArgument),
a bad value InvalidArgument.

Adding a function: declare it in _ffi.CDEF, then write a method that
builds the C arguments and calls self._call("jobq_...", args...) — nothing
else needs to change (see _run_ids() for functions returning id arrays).
"""

import json
import os
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Optional, Union

from ._ffi import (ANY, JOB_DEF_VERSION, NO_DEADLINE, OPTIONS_VERSION,
                   PRIORITY_DEFAULT, RUN_FILTER_VERSION, RUN_INFO_VERSION,
                   SUBMIT_OPTS_VERSION, TICK_INPUT_VERSION,
                   TICK_STATS_VERSION, TIME_NOW, ffi, lib)
from ._host import Clock, Deployer, EventHandler, HostAdapter, Probe
from .errors import (EBUSY, ArgumentTypeError, BusyError, InvalidArgument,
                     JobqError, RangeError, StateError, check_error, error_for)
from .records import (FLOWS, PRIORITIES, STATES, Resources, ResourcesLike,
                      RunInfo, TickStats, TimeLike, enum_value, to_datetime,
                      to_ms)

DURABILITIES = ("full", "normal")
_ERR_CAP = 1024
_RUN_ID_MAX = 2**64 - 1

# What submit() takes besides the job, and so what a submit_batch() item
# may hold besides "job".
SUBMIT_OPTIONS = ("run_name", "request", "priority", "idempotency_key")

Json = Any
"""A JSON value, as json.loads returns it."""

PathLike = Union[str, "os.PathLike[str]"]

BatchItem = Union[str, Mapping[str, Any]]
"""A submit_batch() item: a job name, or {"job": ..., **submit options}."""

# C types looked up once: ffi.new("...") parses its type string per call.
_RUN_ID_P = ffi.typeof("jobq_run_id *")
_CHARS = ffi.typeof("char[]")
_NAME_CACHE_MAX = 4096  # job names kept as C strings per scheduler


def _cstr(value: object, what: str, optional: bool = False) -> Any:
    """A Python str as a NUL-terminated C string kept alive by the caller.
    Embedded NULs are refused: C would silently cut the name there."""
    if value is None and optional:
        return ffi.NULL
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{what}: expected a str"
                                f"{' or None' if optional else ''}, "
                                f"got {value!r}")
    data = value.encode()
    if b"\0" in data:
        raise InvalidArgument(f"{what}: must not contain a NUL character")
    return ffi.new(_CHARS, data)


def _path(value: object, what: str) -> Any:
    """A db path: str or os.PathLike (pathlib.Path), as a C string."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
        if isinstance(value, bytes):
            value = os.fsdecode(value)
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{what}: expected a str or a path, got "
                                f"{value!r}")
    return _cstr(value, what)


def _limit(value: object, what: str = "limit") -> int:
    """None (no limit) as 0; otherwise a positive int."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{what}: expected a positive int or None, "
                                f"got {value!r}")
    if value < 1:
        raise InvalidArgument(f"{what}: expected a positive int or None, "
                              f"got {value!r}")
    return value


def _run_id(value: object, what: str = "run_id") -> int:
    """A run id as the C API's uint64. 0 passes: the library answers that
    there is no such run, as for any unknown id."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{what}: expected an int run id, got "
                                f"{value!r}")
    if not 0 <= value <= _RUN_ID_MAX:
        raise InvalidArgument(f"{what}: {value} is not a run id (ids are "
                              f"1 .. 2**64-1)")
    return value


def _json_text(value: object, what: str) -> str:
    """value as JSON text; ArgumentTypeError naming `what` if it has no
    JSON form."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(f"{what}: the value cannot be sent as JSON: "
                                f"{exc}") from exc


def _fill_submit_opts(opts: Any, keep: list[Any],
                      options: Mapping[str, Any]) -> None:
    """Initialise a jobq_submit_opts from submit()'s keyword arguments
    (keys of SUBMIT_OPTIONS; others are ignored, the caller checks); the
    C strings and buffers it points to are appended to `keep`."""
    check_error(lib.jobq_submit_opts_init(opts, SUBMIT_OPTS_VERSION))
    names = [_cstr(options.get("run_name"), "run_name", optional=True),
             _cstr(options.get("idempotency_key"), "idempotency_key",
                   optional=True)]
    keep.extend(names)
    opts.run_name, opts.idempotency_key = names
    request = options.get("request")
    if request is not None:
        keep.append(ffi.new("jobq_resources *"))
        Resources.of(request).to_c(keep[-1])
        opts.request = keep[-1]
    priority = options.get("priority")
    opts.priority = (PRIORITY_DEFAULT if priority is None
                     else enum_value(PRIORITIES, priority, "priority"))


def _with_prefix(exc: JobqError, prefix: str) -> JobqError:
    """The same kind of exception, its message prefixed ("runs[2]: ...")."""
    return type(exc)(f"{prefix}{exc.message}", exc.code)


def _listed(items: Any, what: str, expected: str) -> list[Any]:
    """The items of a batch argument, which must be a list-like (a string
    or a dict is refused, not taken item by item)."""
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(
            items, Iterable):
        raise ArgumentTypeError(f"{what}: expected {expected}, got {items!r}")
    return list(items)


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
    clock:    callable() -> Unix-epoch milliseconds or a datetime, or an
              object with now_ms().
    on_event: callable(Event), called for every event, in order. If it
              raises during submit(), the run is submitted all the same:
              the exception is raised from submit() with the run's id as
              its `run_id` attribute (and a note saying so).
    config:   a dict or JSON text (SPEC section 3, any subset).
    db_path:  SQLite file for durable state (None: in memory); a str or
              a pathlib.Path.
    durability: 'full' (fsync every commit) or 'normal'.

    Scheduler.open_read_only(db_path) opens a database for inspection
    only (no hosts, nothing written; writes raise StateError).
    """

    _handle: Any                 # jobq_scheduler *, None once closed
    _lock: Any                   # threading.RLock
    _depth: int
    _host: HostAdapter
    _read_only: bool
    _job_names: dict[str, Any]   # job name -> its C string (submit's)
    _status: Optional[int]       # of the last _call (under the lock)

    def __init__(self, probe: Optional[Probe] = None,
                 deployer: Optional[Deployer] = None,
                 clock: Optional[Clock] = None,
                 on_event: Optional[EventHandler] = None,
                 config: Union[Mapping[str, Json], str, None] = None,
                 db_path: Optional[PathLike] = None,
                 durability: str = "full") -> None:
        self._setup(HostAdapter(probe, deployer, clock, on_event))

        opts = ffi.new("jobq_options *")
        check_error(lib.jobq_options_init(opts, OPTIONS_VERSION))
        opts.clock = self._host.clock
        opts.probe = self._host.probe
        opts.deployer = self._host.deployer
        opts.events = self._host.events
        if isinstance(config, Mapping):
            config = _json_text(dict(config), "config")
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
        check_error(rc, lambda: str(ffi.string(err).decode()))
        self._handle = out[0]

    def _setup(self, host: HostAdapter, read_only: bool = False) -> None:
        self._handle = None
        self._lock = threading.RLock()
        self._depth = 0  # library calls in progress on the lock's thread
        self._host = host
        self._read_only = read_only
        self._job_names = {}
        self._status = None

    @classmethod
    def open_read_only(cls, db_path: PathLike) -> "Scheduler":
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
        check_error(rc, lambda: str(ffi.string(err).decode()))
        self._handle = out[0]
        return self

    @property
    def read_only(self) -> bool:
        """True for a scheduler opened with open_read_only()."""
        return self._read_only

    # ------------------------------------------------------------ lifetime

    def close(self) -> None:
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
    def closed(self) -> bool:
        return self._handle is None

    def __enter__(self) -> "Scheduler":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        # Only reached when nothing (no callback in progress) refers to us.
        handle = getattr(self, "_handle", None)
        if handle is not None:
            self._handle = None
            try:
                lib.jobq_close(handle)
            except Exception:  # interpreter shutdown: lib may be gone
                pass

    # ------------------------------------------------------------- calling

    def _call(self, name: str, *args: Any) -> int:
        """Call lib.<name>(handle, *args); raise on failure. See the module
        doc. The status is left in self._status (None: not called) for a
        caller that holds the lock across _call and its except clause: a
        callback's exception with a status >= 0 means the call went through
        (see submit())."""
        fn = getattr(lib, name)
        with self._lock:
            self._status = None
            if self._handle is None:
                raise StateError("the scheduler is closed")
            self._depth += 1
            try:
                rc = fn(self._handle, *args)
                message = self._message(rc) if rc < 0 else None
            finally:
                self._depth -= 1
            self._status = rc
            # Only the outermost call re-raises: a re-entrant call made from
            # a callback must not steal an exception stored by an earlier
            # callback of the call that is still running.
            if self._host.pending is not None and self._depth == 0:
                pending = self._host.take_pending()
                assert pending is not None
                pending.add_note(f"raised in a libjobq callback during {name}")
                raise pending
            if rc < 0:
                raise error_for(rc, message)
            return int(rc)

    def _message(self, rc: int) -> str:
        if rc == EBUSY:
            # The lock is held by this very thread (we are inside one of its
            # callbacks); jobq_errmsg would wait for it forever.
            return ("re-entrant call: a callback called back into the "
                    "scheduler that is calling it")
        buf = ffi.new("char[]", _ERR_CAP)
        lib.jobq_errmsg(self._handle, buf, _ERR_CAP)
        return str(ffi.string(buf).decode(errors="replace"))

    # ---------------------------------------------------------------- jobs

    def define_job(self, name: str, namespace: str, priority: str = "normal",
                   flow: str = "priority", request: ResourcesLike = None,
                   payload: Optional[bytes] = None,
                   domain: Optional[str] = None) -> str:
        """Create or update a job; returns its name (what submit() takes).
        request: {'cpu': '2', 'memory': '8Gi', 'pods': 3, 'storage': '0'}."""
        resources = Resources.of(request)
        if payload is not None and not isinstance(payload, (bytes, bytearray)):
            raise ArgumentTypeError(f"payload: expected bytes, got "
                                    f"{payload!r}")
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

    def set_job_flow(self, job: str, flow: str) -> None:
        """Move one job to the 'legacy' or 'priority' flow."""
        self._call("jobq_job_set_flow", _cstr(job, "job"),
                   enum_value(FLOWS, flow, "flow"))

    # ---------------------------------------------------------------- runs

    def submit(self, job: str, run_name: Optional[str] = None,
               request: ResourcesLike = None, priority: Optional[str] = None,
               idempotency_key: Optional[str] = None) -> int:
        """Submit a run of `job`; returns its durable id. With a database,
        a second submit with the same idempotency_key returns the first
        run's id instead of creating another run.

        If a callback (on_event) raises during the call, the run is
        submitted all the same: that exception is raised, carrying the id
        as its `run_id` attribute."""
        # Job names repeat: their C strings are kept (the fast path of a
        # host submitting many runs of few jobs).
        job_c = self._job_name(job)
        keep: list[Any] = []
        if (run_name is None and request is None and priority is None
                and idempotency_key is None):
            opts = ffi.NULL  # the defaults: no struct to build
        else:
            opts = ffi.new("jobq_submit_opts *")
            _fill_submit_opts(opts, keep, {
                "run_name": run_name, "request": request,
                "priority": priority, "idempotency_key": idempotency_key})
        out = ffi.new(_RUN_ID_P)
        with self._lock:  # for self._status: see _call()
            try:
                self._call("jobq_run_submit", out, job_c, opts)
            except BaseException as exc:
                if self._status is not None and self._status >= 0:
                    setattr(exc, "run_id", int(out[0]))
                    exc.add_note(f"run {int(out[0])} was submitted (the "
                                 f"exception's run_id)")
                raise
        return int(out[0])

    def _job_name(self, job: object) -> Any:
        """job as a C string. Job names repeat: their C strings are kept
        (the fast path of a host submitting many runs of few jobs)."""
        if not isinstance(job, str):
            return _cstr(job, "job")  # raises ArgumentTypeError
        job_c = self._job_names.get(job)
        if job_c is None:
            job_c = _cstr(job, "job")
            if len(self._job_names) >= _NAME_CACHE_MAX:
                self._job_names.clear()
            self._job_names[job] = job_c
        return job_c

    def _batch_arrays(self, runs: Iterable[BatchItem],
                      what: str) -> tuple[Any, Any, int, list[Any]]:
        """The C arrays of a batch of submit_batch() items: (jobs, opts,
        count, objects to keep alive while they are used)."""
        items = _listed(runs, what, "a list of job names or dicts")
        count = len(items)
        jobs = ffi.new("const char *[]", max(count, 1))
        opts = ffi.new("jobq_submit_opts[]", max(count, 1))
        keep: list[Any] = []
        default = ffi.new("jobq_submit_opts *")
        check_error(lib.jobq_submit_opts_init(default, SUBMIT_OPTS_VERSION))
        for i, item in enumerate(items):
            try:
                if isinstance(item, str):  # the common case: a copy
                    opts[i] = default[0]
                    jobs[i] = self._job_name(item)
                    continue
                jobs[i] = self._batch_item(item, opts + i, keep)
            except JobqError as exc:
                error = _with_prefix(exc, f"{what}[{i}]: ")
                setattr(error, "submitted", [])
                raise error from None
        return jobs, opts, count, keep

    @staticmethod
    def _ended_arrays(ended: Iterable[Any],
                      what: str) -> tuple[Any, Any, Any, int, list[Any]]:
        """The C arrays of report_batch() items (run_id, state) or
        (run_id, state, detail): (ids, states, details, count, keep)."""
        items = _listed(ended, what,
                        "a list of (run_id, state[, detail]) tuples")
        count = len(items)
        ids = ffi.new("jobq_run_id[]", max(count, 1))
        states = ffi.new("jobq_run_state[]", max(count, 1))
        details = ffi.new("const char *[]", max(count, 1))
        keep: list[Any] = []
        for i, item in enumerate(items):
            if not isinstance(item, tuple) or len(item) not in (2, 3):
                raise ArgumentTypeError(f"{what}[{i}]: expected (run_id, "
                                        f"state[, detail]), got {item!r}")
            try:
                ids[i] = _run_id(item[0])
                states[i] = enum_value(STATES, item[1], "state")
                if len(item) == 3 and item[2] is not None:
                    keep.append(_cstr(item[2], "detail"))
                    details[i] = keep[-1]
            except JobqError as exc:
                raise _with_prefix(exc, f"{what}[{i}]: ") from None
        return ids, states, details, count, keep

    def submit_batch(self, runs: Iterable[BatchItem]) -> list[int]:
        """Submit several runs in one transaction (one fsync with a
        database); returns their ids in order. Each item is a job name, or
        a dict with "job" and any of submit()'s keyword arguments
        ({"job": "etl", "run_name": "etl-42", "priority": "high"}).

        All or none: if one fails, no run of the batch is submitted; the
        exception names its index ("runs[2]: ...") and its `submitted`
        attribute is empty (it holds every id when the batch went through
        and only a callback raised). An item
        of the wrong type or with an unknown key raises ArgumentTypeError
        before anything is submitted."""
        jobs, opts, count, _keep = self._batch_arrays(runs, "runs")
        out = ffi.new("jobq_run_id[]", max(count, 1))
        try:
            self._call("jobq_run_submit_batch", out, jobs, opts, count)
        except BaseException as exc:
            # out_ids[i..] are 0 from the failed run on (all are set when
            # the call went through and a callback raised).
            done = []
            for i in range(count):
                if out[i] == 0:
                    break
                done.append(int(out[i]))
            setattr(exc, "submitted", done)
            raise
        return [int(out[i]) for i in range(count)]

    @staticmethod
    def _batch_item(item: object, opts: Any, keep: list[Any]) -> Any:
        """Fill opts from one submit_batch() item; its job as a C string."""
        if isinstance(item, str):
            job: object = item
            options: Mapping[str, Any] = {}
        elif isinstance(item, Mapping):
            unknown = sorted((k for k in item
                              if k != "job" and k not in SUBMIT_OPTIONS),
                             key=repr)
            if unknown:
                raise ArgumentTypeError(
                    f"unknown key {unknown[0]!r} (the keys are job, "
                    f"{', '.join(SUBMIT_OPTIONS)})")
            if "job" not in item:
                raise InvalidArgument('no "job"')
            job, options = item["job"], item
        else:
            raise ArgumentTypeError(f"expected a job name or a dict, got "
                                    f"{item!r}")
        _fill_submit_opts(opts, keep, options)
        keep.append(_cstr(job, "job"))
        return keep[-1]

    def cancel(self, run_id: int, detail: Optional[str] = None) -> None:
        """Cancel a queued or running run; StateError if it already ended."""
        self._call("jobq_run_cancel", _run_id(run_id),
                   _cstr(detail, "detail", optional=True))

    def report(self, run_id: int, state: str,
               detail: Optional[str] = None) -> None:
        """Report a deployed run 'finished' or 'failed' (for deployers
        without poll)."""
        self._call("jobq_run_report", _run_id(run_id),
                   enum_value(STATES, state, "state"),
                   _cstr(detail, "detail", optional=True))

    def report_batch(self, ended: Iterable[Any]) -> None:
        """Report several deployed runs ended in one transaction (one
        fsync with a database): items (run_id, state) or (run_id, state,
        detail), state 'finished' or 'failed'. All or nothing: a bad item
        changes nothing and the error names it ("runs[1]: ...")."""
        ids, states, details, count, _keep = self._ended_arrays(ended,
                                                                "runs")
        if count:
            self._call("jobq_run_report_batch", ids, states, details, count)

    def tick_batch(self, now: Optional[TimeLike] = None,
                   submit: Iterable[BatchItem] = (),
                   ended: Iterable[Any] = ()) -> tuple[TickStats, list[int]]:
        """tick() with the host's news in the cycle's own transaction
        (jobq_tick_batch): the runs of `submit` (items as submit_batch()
        takes them) are submitted, the runs of `ended` (as report_batch()
        takes them) reported, then the cycle runs; no commit of their own.
        Returns the cycle's TickStats and the new runs' ids. All or
        nothing for the input: a bad item fails the call ("submit:
        runs[i]: ..." or "report: runs[i]: ...") before the cycle runs.
        If the call fails, the exception's `submitted` attribute holds the
        new ids when the input took effect anyway (the failure came after
        the commit that made it durable), else []."""
        now_ms = TIME_NOW if now is None else to_ms(now, "now")
        jobs, opts, count, _keep = self._batch_arrays(submit, "submit: runs")
        ids, states, details, ended_count, _keep2 = self._ended_arrays(
            ended, "report: runs")
        out = ffi.new("jobq_run_id[]", max(count, 1))
        tin = ffi.new("jobq_tick_input *")
        tin.version = TICK_INPUT_VERSION
        tin.submit_count = count
        tin.submit_jobs = jobs
        tin.submit_opts = opts
        tin.submit_ids = out
        tin.report_count = ended_count
        tin.report_ids = ids
        tin.report_states = states
        tin.report_details = details
        stats = ffi.new("jobq_tick_stats *")
        stats.version = TICK_STATS_VERSION
        try:
            self._call("jobq_tick_batch", now_ms, tin, stats)
        except BaseException as exc:
            setattr(exc, "submitted",
                    [int(out[i]) for i in range(count)] if count and out[0]
                    else [])
            raise
        return TickStats.from_c(stats), [int(out[i]) for i in range(count)]

    def run(self, run_id: int) -> RunInfo:
        """A RunInfo snapshot of run `run_id`; NotFound if unknown."""
        run_id = _run_id(run_id)
        info = ffi.new("jobq_run_info *")
        check_error(lib.jobq_run_info_init(info, RUN_INFO_VERSION))
        self._call("jobq_run_get", info, run_id)
        return RunInfo.from_c(info)

    def _run_ids(self, name: str, *args: Any) -> list[int]:
        """Call a function that hands back a jobq_free'd array of run ids
        (out_ids, out_count, *args) and return them as a list."""
        out = ffi.new("jobq_run_id **")
        count = ffi.new("size_t *")
        self._call(name, out, count, *args)
        try:
            return ([int(i) for i in ffi.unpack(out[0], count[0])]
                    if count[0] else [])
        finally:
            lib.jobq_free(out[0])  # NULL-safe

    def list_runs(self, namespace: Optional[str] = None,
                  priority: Optional[str] = None,
                  state: Union[str, Iterable[str], None] = None,
                  limit: Optional[int] = None) -> list[int]:
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
        if isinstance(state, Mapping) or not isinstance(state, Iterable):
            raise ArgumentTypeError(f"state: expected a state name or a "
                                    f"collection of them, got {state!r}")
        states = [enum_value(STATES, one, "state") for one in state]
        # Several states: one query each, merged; the newest `limit` of
        # each query include the newest `limit` of the union.
        found: set[int] = set()
        for one in states:
            filt.state = one
            found.update(self._run_ids("jobq_run_list", filt))
        ids = sorted(found)
        return ids[-filt.limit:] if filt.limit else ids

    def search(self, text: str, limit: Optional[int] = None) -> list[int]:
        """The ids of the runs whose run name or job name contains `text`
        (case-insensitive), newest first, at most `limit`."""
        text_c = _cstr(text, "text")
        if not text:
            raise InvalidArgument("text: the search text is empty")
        return self._run_ids("jobq_run_search", text_c, _limit(limit))

    def explain(self, run_id: int) -> dict[str, Json]:
        """Why the run is where it is, as a dict: "run", "state", "job",
        "namespace", "priority", "flow", "name", the times, "queue"
        (position, length, ahead) for a queued run, "blocked", "retries",
        "head_timeout_at", "estimated_start" with "estimate_note", and
        "events" (with a database). See jobq_run_explain() in jobq.h."""
        out = ffi.new("char **")
        self._call("jobq_run_explain", out, _run_id(run_id))
        try:
            doc: dict[str, Json] = json.loads(ffi.string(out[0]).decode())
            return doc
        finally:
            lib.jobq_free(out[0])

    def cleanup(self, max_runs: Optional[int] = None) -> int:
        """Retention now: delete the terminal runs (and their events) that
        ended more than retentionPeriod seconds ago, at most max_runs (None:
        all of them), whether or not jobRunCleanup is enabled. Returns how
        many were deleted."""
        out = ffi.new("uint64_t *")
        self._call("jobq_cleanup", _limit(max_runs, "max_runs"), out)
        return int(out[0])

    # ---------------------------------------------------------- scheduling

    def tick(self, now: Optional[TimeLike] = None) -> TickStats:
        """Run one scheduling cycle at `now` (Unix-epoch milliseconds or a
        datetime; None = the scheduler's clock) and return what it did as
        TickStats."""
        now_ms = TIME_NOW if now is None else to_ms(now, "now")
        stats = ffi.new("jobq_tick_stats *")
        stats.version = TICK_STATS_VERSION
        self._call("jobq_tick", now_ms, stats)
        return TickStats.from_c(stats)

    def next_deadline(self) -> Optional[int]:
        """When the next time-driven action is due (ms), or None."""
        out = ffi.new("jobq_time_ms *")
        self._call("jobq_next_deadline", out)
        return None if out[0] == NO_DEADLINE else int(out[0])

    def next_deadline_time(self) -> Optional[datetime]:
        """next_deadline() as a datetime (UTC), or None."""
        ms = self.next_deadline()
        return None if ms is None else to_datetime(ms)

    # ------------------------------------------------------- configuration

    def configure(self, document: Union[Mapping[str, Json], str]) -> None:
        """Apply a configuration document (dict or JSON text), all or
        nothing."""
        if isinstance(document, Mapping):
            document = _json_text(dict(document), "document")
        self._call("jobq_configure", _cstr(document, "document"))

    def set_property(self, key: str, value: Json) -> None:
        """Set one property; value is a Python value (90, True), sent as
        JSON."""
        key_c = _cstr(key, "key")
        self._call("jobq_property_set", key_c,
                   _cstr(_json_text(value, key), "value"))

    def get_property(self, key: str) -> Json:
        """One property's value as a Python value; NotFound if unknown."""
        key_c = _cstr(key, "key")
        cap = 128
        while True:
            buf = ffi.new("char[]", cap)
            try:
                self._call("jobq_property_get", key_c, buf, cap)
                return json.loads(ffi.string(buf).decode())
            except RangeError:
                if cap >= 1 << 20:
                    raise
                cap *= 16  # a longer value than any today: grow and retry

    def config(self) -> dict[str, Json]:
        """The whole effective configuration as a dict."""
        out = ffi.new("char **")
        self._call("jobq_config_dump", out)
        try:
            doc: dict[str, Json] = json.loads(ffi.string(out[0]).decode())
            return doc
        finally:
            lib.jobq_free(out[0])

    def metrics(self) -> str:
        """Every metric in the Prometheus text exposition format 0.0.4
        (serve it with jobq.METRICS_CONTENT_TYPE)."""
        out = ffi.new("char **")
        length = ffi.new("size_t *")
        self._call("jobq_metrics_render", out, length)
        try:
            return str(ffi.unpack(out[0], length[0]).decode())
        finally:
            lib.jobq_free(out[0])

    def migrate_to_legacy(self) -> int:
        """Flip every job to the legacy flow and deploy the queued runs;
        returns how many runs moved."""
        out = ffi.new("uint64_t *")
        self._call("jobq_migrate_to_legacy", out)
        return int(out[0])
