"""Python hosts behind the C vtables: the probe, deployer, clock and event
sink a Scheduler was given, wrapped as cffi callbacks.

Two rules from the pygit2 pattern shape this module:

- The cffi callback objects (and the vtable structs that point at them)
  must live as long as the C handle, or C calls freed trampolines. A
  HostAdapter owns all of them; the Scheduler owns the adapter and drops it
  only after jobq_close().
- A Python exception must not unwind through C. A callback that raises
  stores the exception here, returns an error code to the library (what it
  does with it is the library's documented behaviour for a failing host:
  a probe error skips the namespace this cycle, a deploy error is retried),
  and the Scheduler re-raises it when the library call returns.

Expected host failures are not bugs and are not re-raised: a deployer
raises DeployError (or returns QUOTA_REJECTED), a probe returns None when it
cannot read a quota.

The adapter holds no reference to its Scheduler, so there is no reference
cycle and a Scheduler dropped without close() is freed promptly by __del__.
"""

from collections.abc import Callable
from typing import Any, Optional, Protocol, Union

from ._ffi import (CLOCK_VERSION, DEPLOYER_VERSION, EVENT_SINK_VERSION,
                   PROBE_VERSION, UNLIMITED,
                   ffi)
from .errors import EUSER
from .records import (POLL_STATUSES, QUOTA_REJECTED, DeployRequest, Event,
                      Resources, ResourcesLike, TimeLike, to_ms)

# What a Scheduler's hosts may be (see Scheduler's docstring).
QuotaReading = Optional[tuple[ResourcesLike, ResourcesLike]]
"""(hard, used), or None when the quota cannot be read."""


class QuotaReader(Protocol):
    def read_quota(self, namespace: str) -> QuotaReading: ...


Probe = Union[Callable[[str], QuotaReading], QuotaReader]


class Deployer(Protocol):
    """deploy() is required; cancel(run_id) and poll(run_id) -> status or
    (status, message) are optional methods."""

    def deploy(self, req: DeployRequest) -> Optional[int]: ...


class ClockObject(Protocol):
    def now_ms(self) -> int: ...


Clock = Union[Callable[[], TimeLike], ClockObject]
"""A callable returning the time (int ms or a datetime), or an object
with now_ms()."""

EventHandler = Callable[[Event], object]


class DeployError(Exception):
    """Raised by a deployer's deploy(), cancel() or poll() for an ordinary
    failure (the cluster said no). Its message goes to the library, which
    retries the deployment or fails the run; it is not re-raised."""


def _copy_message(msg: Any, cap: int, text: object) -> None:
    """Copy text into the library's message buffer (always terminated)."""
    data = str(text).encode(errors="replace")[:max(cap - 1, 0)]
    ffi.memmove(msg, data, len(data))
    msg[len(data)] = b"\0"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__} in a Python callback: {exc}"


class HostAdapter:
    """Owns the vtables and callbacks for one Scheduler."""

    def __init__(self, probe: Optional[Probe] = None,
                 deployer: Optional[Deployer] = None,
                 clock: Optional[Clock] = None,
                 on_event: Optional[EventHandler] = None) -> None:
        # The first exception a callback raised.
        self.pending: Optional[BaseException] = None
        self._keep: list[Any] = []  # cffi objects C points into
        self._probe = probe
        self._deployer = deployer
        self._clock = clock
        self._on_event = on_event
        self.probe = self._make_probe() if probe is not None else ffi.NULL
        self.deployer = (self._make_deployer() if deployer is not None
                         else ffi.NULL)
        self.clock = self._make_clock() if clock is not None else ffi.NULL
        self.events = (self._vtable("jobq_event_sink", EVENT_SINK_VERSION,
                                    on_event=self._callback(
                                        "void(*)(void *, const jobq_event *)",
                                        self._event))
                       if on_event is not None else ffi.NULL)

    def take_pending(self) -> Optional[BaseException]:
        """The stored callback exception, cleared (None if there is none)."""
        exc, self.pending = self.pending, None
        return exc

    def _store(self, exc: BaseException) -> None:
        # Keep the first: later failures in the same call are usually
        # consequences of it.
        if self.pending is None:
            self.pending = exc

    def _callback(self, ctype: str, fn: Callable[..., Any]) -> Any:
        cb = ffi.callback(ctype, fn)
        self._keep.append(cb)
        return cb

    def _vtable(self, ctype: str, version: int, **methods: Any) -> Any:
        table = ffi.new(ctype + " *")
        table.version = version
        table.ctx = ffi.NULL
        for name, cb in methods.items():
            setattr(table, name, cb)
        self._keep.append(table)
        return table

    # ----------------------------------------------------------- clock

    def _make_clock(self) -> Any:
        return self._vtable("jobq_clock", CLOCK_VERSION,
                            now_ms=self._callback("jobq_time_ms(*)(void *)",
                                                  self._now))

    def _now(self, ctx: Any) -> int:
        try:
            clock = self._clock
            if callable(clock):
                now = clock()
                if isinstance(now, float):  # time.time() * 1000
                    return int(now)
                return to_ms(now, "clock()")
            assert clock is not None
            return int(clock.now_ms())
        except BaseException as exc:  # noqa: B902 - must not reach C
            self._store(exc)
            return 0  # the library has no error path for a clock

    # ----------------------------------------------------------- probe

    def _make_probe(self) -> Any:
        return self._vtable("jobq_probe", PROBE_VERSION,
                            read_quota=self._callback(
                                "int(*)(void *, const char *, jobq_resources *,"
                                " jobq_resources *)", self._read_quota))

    def _read_quota(self, ctx: Any, ns: Any, hard: Any, used: Any) -> int:
        try:
            probe = self._probe
            assert probe is not None
            name = ffi.string(ns).decode()
            got = probe(name) if callable(probe) else probe.read_quota(name)
            if got is None:
                return -1  # quota unknown: the namespace sits this cycle out
            got_hard, got_used = got
            Resources.of(got_hard, default=UNLIMITED).to_c(hard)
            Resources.of(got_used).to_c(used)
            return 0
        except BaseException as exc:
            self._store(exc)
            return -1

    # -------------------------------------------------------- deployer

    def _make_deployer(self) -> Any:
        d = self._deployer
        methods = {"deploy": self._callback(
            "int(*)(void *, const jobq_deploy_request *, char *, size_t)",
            self._deploy)}
        # cancel and poll are optional in C: leave them NULL when the Python
        # deployer does not have them, so the library falls back (a NULL
        # poll means the host reports completions with report()).
        if hasattr(d, "cancel"):
            methods["cancel"] = self._callback(
                "int(*)(void *, jobq_run_id, char *, size_t)", self._cancel)
        if hasattr(d, "poll"):
            methods["poll"] = self._callback(
                "int(*)(void *, jobq_run_id, jobq_poll_status *, char *, size_t)",
                self._poll)
        return self._vtable("jobq_deployer", DEPLOYER_VERSION, **methods)

    def _deploy(self, ctx: Any, req: Any, msg: Any, cap: int) -> int:
        try:
            assert self._deployer is not None
            result: object = self._deployer.deploy(DeployRequest.from_c(req))
            if result is None or result == 0:
                return 0
            if result == QUOTA_REJECTED or result == "quota_rejected":
                return QUOTA_REJECTED
            raise ValueError(f"deploy() returned {result!r}; expected None "
                             "or jobq.QUOTA_REJECTED")
        except DeployError as exc:
            _copy_message(msg, cap, exc)
            return -1
        except BaseException as exc:
            self._store(exc)
            _copy_message(msg, cap, _describe(exc))
            return EUSER

    def _cancel(self, ctx: Any, run_id: int, msg: Any, cap: int) -> int:
        try:
            getattr(self._deployer, "cancel")(int(run_id))
            return 0
        except DeployError as exc:
            _copy_message(msg, cap, exc)
            return -1
        except BaseException as exc:
            self._store(exc)
            _copy_message(msg, cap, _describe(exc))
            return EUSER

    def _poll(self, ctx: Any, run_id: int, status: Any, msg: Any,
              cap: int) -> int:
        try:
            result = getattr(self._deployer, "poll")(int(run_id))
            text = ""
            if isinstance(result, tuple):
                result, text = result
            status[0] = POLL_STATUSES.index(result or "running")
            _copy_message(msg, cap, text or "")
            return 0
        except DeployError as exc:
            _copy_message(msg, cap, exc)
            return -1  # unknown for now: the library asks again next cycle
        except BaseException as exc:
            self._store(exc)
            return EUSER

    # ----------------------------------------------------------- events

    def _event(self, payload: Any, event: Any) -> None:
        try:
            assert self._on_event is not None
            self._on_event(Event.from_c(event))
        except BaseException as exc:
            self._store(exc)  # events have no error path; re-raised later
