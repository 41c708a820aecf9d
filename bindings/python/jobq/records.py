"""The plain-data side of the binding: resources and quantities, and the
dataclasses that C structs are copied into (RunInfo, TickStats, Event,
DeployRequest). Nothing here holds a pointer into C memory: every value is
copied out while the C struct is valid."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Optional, Union

from ._ffi import DEPLOY_QUOTA_REJECTED, ffi, lib
from .errors import ArgumentTypeError, InvalidArgument, check_error

RESOURCES = ("cpu", "memory", "pods", "storage")  # the C order
PRIORITIES = ("high", "normal")                   # jobq_priority values
FLOWS = ("priority", "legacy")                    # jobq_flow values
STATES = ("queued", "deploying", "running", "finished", "failed", "cancelled")
POLL_STATUSES = ("running", "finished", "failed", "gone", "quota_rejected")

# What a deployer's deploy() returns when the cluster refused the run on
# quota (Kubernetes 403 "exceeded quota"): the run goes back to its head.
QUOTA_REJECTED = DEPLOY_QUOTA_REJECTED


def enum_value(names: tuple[str, ...], value: object, what: str) -> int:
    """Index of `value` in `names` ('high' -> 0): ArgumentTypeError if it
    is not a str, InvalidArgument if it is none of them."""
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{what}: expected a str (one of "
                                f"{', '.join(names)}), got {value!r}")
    try:
        return names.index(value)
    except ValueError:
        raise InvalidArgument(
            f"{what}: {value!r} is not one of {', '.join(names)}") from None


# ------------------------------------------------------------------ time
# The C API counts Unix-epoch milliseconds (the default clock's; a host
# clock should follow it). The binding takes and gives both: ints (ms) and
# datetime/timedelta.

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)

TimeLike = Union[int, datetime]
"""A time: Unix-epoch milliseconds, or a datetime (a naive one is local
time, as datetime.timestamp() reads it)."""


def to_datetime(ms: int) -> datetime:
    """Unix-epoch milliseconds as an aware UTC datetime (exact)."""
    return EPOCH + timedelta(milliseconds=ms)


def to_ms(value: object, what: str) -> int:
    """A TimeLike as Unix-epoch milliseconds; ArgumentTypeError naming
    `what` for anything else."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return round(value.timestamp() * 1000)
        return (value - EPOCH) // _MS
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{what}: expected a datetime or int "
                                f"milliseconds, got {value!r}")
    return value


def _optional_time(ms: Optional[int]) -> Optional[datetime]:
    return None if ms is None else to_datetime(ms)


# ------------------------------------------------------------ quantities

def parse_quantity(text: Union[str, int], kind: str) -> int:
    """A Kubernetes quantity ("500m", "2", "8Gi") in the base unit of `kind`:
    cpu in millicores, memory and storage in bytes, pods as a count. An int
    is read as the quantity it prints as (cpu 2 is two cores, 2000m)."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise ArgumentTypeError(f"{kind}: {text!r} is not a quantity string")
    out = ffi.new("int64_t *")
    err = ffi.new("char[]", 256)
    rc = lib.jobq_quantity_parse(out, str(text).encode(),
                                 enum_value(RESOURCES, kind, "resource"),
                                 err, len(err))
    check_error(rc, lambda: f"{kind}: " + str(ffi.string(err).decode()))
    return int(out[0])


def format_quantity(amount: int, kind: str) -> str:
    """The shortest exact Kubernetes notation of a base-unit amount."""
    buf = ffi.new("char[]", 64)
    rc = lib.jobq_quantity_format(buf, len(buf), amount,
                                  enum_value(RESOURCES, kind, "resource"))
    check_error(rc)
    return str(ffi.string(buf).decode())


@dataclass(frozen=True)
class Resources:
    """Amounts in base units: cpu millicores, memory bytes, pods, storage
    bytes. UNLIMITED (2**63-1) in a quota means no limit."""
    cpu: int = 0
    memory: int = 0
    pods: int = 0
    storage: int = 0

    @classmethod
    def of(cls, value: "ResourcesLike", default: int = 0) -> "Resources":
        """A Resources from a Resources, or a dict of Kubernetes quantities
        ({'cpu': '2', 'memory': '8Gi'}); missing dimensions get `default`."""
        if value is None:
            return cls(*(default,) * 4)
        if isinstance(value, Resources):
            return value
        if not isinstance(value, Mapping):
            raise ArgumentTypeError(f"resources: {value!r} is neither a dict "
                                    "nor a Resources")
        unknown = set(value) - set(RESOURCES)
        if unknown:
            raise InvalidArgument(f"resources: unknown dimension "
                                  f"{sorted(unknown)[0]!r} (one of "
                                  f"{', '.join(RESOURCES)})")
        return cls(**{kind: parse_quantity(value[kind], kind)
                      if kind in value else default for kind in RESOURCES})

    @classmethod
    def from_c(cls, c_resources: Any) -> "Resources":
        return cls(*(int(c_resources.amount[i]) for i in range(4)))

    def to_c(self, c_resources: Any) -> None:
        for i, kind in enumerate(RESOURCES):
            c_resources.amount[i] = getattr(self, kind)

    def quantities(self) -> dict[str, str]:
        """{'cpu': '2', 'memory': '8Gi', ...} in Kubernetes notation."""
        return {kind: format_quantity(getattr(self, kind), kind)
                for kind in RESOURCES}


ResourcesLike = Union[Resources, Mapping[str, Union[str, int]], None]
"""What takes resources: a Resources, or Kubernetes quantities by
dimension ({'cpu': '500m', 'memory': '8Gi', 'pods': 3}), or None."""


def _text(c_chars: Any) -> str:
    """A C string (char array or const char *) as str; '' for NULL."""
    if c_chars == ffi.NULL:
        return ""
    return str(ffi.string(c_chars).decode(errors="replace"))


def _time(ms: int) -> Optional[int]:
    """-1 ("not yet") becomes None."""
    return None if ms < 0 else int(ms)


@dataclass(frozen=True)
class Blocked:
    """Why a queue head does not fit: the first insufficient dimension."""
    resource: str
    requested: int
    available: int
    since: int

    @property
    def since_time(self) -> datetime:
        """`since` (ms) as a datetime."""
        return to_datetime(self.since)


@dataclass(frozen=True)
class RunInfo:
    """A snapshot of one run (jobq_run_info)."""
    id: int
    state: str
    run_name: str
    job: str
    domain: str
    namespace: str
    priority: str
    flow: str
    request: Resources
    submitted_at: int
    deployed_at: Optional[int]
    ended_at: Optional[int]
    position: Optional[int]            # 0 = head of its queue; None unless queued
    blocked: Optional[Blocked]         # None unless a queued head that does not fit
    head_timeout_at: Optional[int]
    retries_used: int
    retries_left: int
    deploy_attempts: int
    reason: str                        # terminal runs: machine-readable
    detail: str                        # terminal runs: for people

    @property
    def terminal(self) -> bool:
        return self.state in ("finished", "failed", "cancelled")

    # The times as datetimes (the *_at fields are ms).
    @property
    def submitted(self) -> datetime:
        return to_datetime(self.submitted_at)

    @property
    def deployed(self) -> Optional[datetime]:
        return _optional_time(self.deployed_at)

    @property
    def ended(self) -> Optional[datetime]:
        return _optional_time(self.ended_at)

    @property
    def head_timeout(self) -> Optional[datetime]:
        return _optional_time(self.head_timeout_at)

    @classmethod
    def from_c(cls, info: Any) -> "RunInfo":
        state = STATES[info.state]
        blocked = None
        if info.blocked:
            blocked = Blocked(RESOURCES[info.blocked_resource],
                              int(info.blocked_requested),
                              int(info.blocked_available),
                              int(info.blocked_since))
        return cls(
            id=int(info.id), state=state, run_name=_text(info.run_name),
            job=_text(info.job), domain=_text(info.domain),
            namespace=_text(info.ns), priority=PRIORITIES[info.priority],
            flow=FLOWS[info.flow], request=Resources.from_c(info.request),
            submitted_at=int(info.submitted_at),
            deployed_at=_time(info.deployed_at),
            ended_at=_time(info.ended_at),
            position=int(info.queue_position) if state == "queued" else None,
            blocked=blocked, head_timeout_at=_time(info.head_timeout_at),
            retries_used=info.retries_used, retries_left=info.retries_left,
            deploy_attempts=info.deploy_attempts,
            reason=_text(info.reason), detail=_text(info.detail))


@dataclass(frozen=True)
class TickStats:
    """What one scheduling cycle did (jobq_tick_stats)."""
    finished: int
    failed: int
    deployed: int
    blocked: int
    rescheduled: int
    timeouts_retried: int
    timeouts_cancelled: int
    probe_errors: int
    queued: int
    running: int

    @classmethod
    def from_c(cls, st: Any) -> "TickStats":
        return cls(st.finished, st.failed, st.deployed, st.blocked,
                   st.rescheduled, st.timeouts_retried, st.timeouts_cancelled,
                   st.probe_errors, int(st.queued), int(st.running))


EVENT_TYPES = ("submitted", "blocked", "deployed", "rescheduled",
               "head_timeout_retry", "cancelled", "finished", "failed",
               "deploy_retry")


@dataclass(frozen=True)
class Event:
    """One thing that happened to one run (jobq_event), copied."""
    type: str
    time: int
    run: int
    run_name: str
    job: str
    domain: str
    namespace: str
    priority: str
    flow: str
    resource: Optional[str] = None   # blocked
    requested: int = 0               # blocked
    available: int = 0               # blocked
    wait_ms: int = 0                 # deployed
    retry: int = 0                   # head_timeout_retry, deploy_retry
    reason: str = ""
    detail: str = ""

    @property
    def at(self) -> datetime:
        """`time` (ms) as a datetime."""
        return to_datetime(self.time)

    @property
    def wait(self) -> timedelta:
        """`wait_ms` as a timedelta (deployed events)."""
        return timedelta(milliseconds=self.wait_ms)

    @classmethod
    def from_c(cls, ev: Any) -> "Event":
        kind = ev.type
        name = EVENT_TYPES[kind] if kind < len(EVENT_TYPES) else str(kind)
        return cls(
            type=name, time=int(ev.time), run=int(ev.run),
            run_name=_text(ev.run_name), job=_text(ev.job),
            domain=_text(ev.domain), namespace=_text(ev.ns),
            priority=PRIORITIES[ev.priority], flow=FLOWS[ev.flow],
            resource=RESOURCES[ev.resource] if name == "blocked" else None,
            requested=int(ev.requested), available=int(ev.available),
            wait_ms=int(ev.wait_ms), retry=ev.retry,
            reason=_text(ev.reason), detail=_text(ev.detail))


@dataclass(frozen=True)
class DeployRequest:
    """What a deployer's deploy() is asked to launch (jobq_deploy_request)."""
    run_id: int
    run_name: str
    job: str
    domain: str
    namespace: str
    priority: str
    flow: str
    request: Resources
    payload: bytes = field(repr=False)
    attempt: int

    @classmethod
    def from_c(cls, req: Any) -> "DeployRequest":
        payload = b""
        if req.payload != ffi.NULL and req.payload_len:
            payload = bytes(ffi.buffer(req.payload, req.payload_len))
        return cls(int(req.run_id), _text(req.run_name), _text(req.job),
                   _text(req.domain), _text(req.ns),
                   PRIORITIES[req.priority], FLOWS[req.flow],
                   Resources.from_c(req.request), payload, req.attempt)
