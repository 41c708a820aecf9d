"""libjobq for Python: decides which batch job runs next, and when.

A thin cffi (ABI mode) binding over libjobq.so.0; nothing to compile. The
library is found through the JOBQ_LIBRARY environment variable, else the
build tree of the source checkout the package is part of, else the system's
dynamic linker (after `meson install` and ldconfig).

    import jobq

    with jobq.Scheduler(probe=my_probe, deployer=my_deployer) as s:
        s.define_job("nightly-etl", "analytics", priority="high",
                     request={"cpu": "6", "memory": "24Gi", "pods": 3})
        run_id = s.submit("nightly-etl")
        s.tick()
        print(s.run(run_id).state)
"""

from ._ffi import METRICS_CONTENT_TYPE, UNLIMITED, ffi, lib, library_path
from ._host import (Clock, Deployer, DeployError, EventHandler, Probe,
                    QuotaReading)
from ._version import __version__
from .errors import (AlreadyExists, ArgumentTypeError, BusyError,
                     CallbackError, InvalidArgument, JobqError, NotFound,
                     OutOfMemory, ParseError, RangeError, StateError,
                     StorageError, UnexpectedError, VersionError, check_error)
from .records import (QUOTA_REJECTED, RESOURCES, Blocked, DeployRequest,
                      Event, Resources, ResourcesLike, RunInfo, TickStats,
                      TimeLike, format_quantity, parse_quantity, to_datetime,
                      to_ms)
from .scheduler import BatchItem, Scheduler
from .client import Client, RequestInfo, TimedOut

__all__ = [
    "AlreadyExists", "ArgumentTypeError", "BatchItem", "Blocked", "BusyError",
    "CallbackError", "check_error", "Client", "Clock", "Deployer", "DeployError",
    "DeployRequest", "Event", "EventHandler", "format_quantity",
    "InvalidArgument", "JobqError", "library_path", "METRICS_CONTENT_TYPE",
    "NotFound", "OutOfMemory", "parse_quantity", "ParseError", "Probe",
    "QUOTA_REJECTED", "QuotaReading", "RangeError", "RequestInfo", "Resources", "RESOURCES",
    "ResourcesLike", "RunInfo", "Scheduler", "StateError", "StorageError",
    "TickStats", "TimedOut", "TimeLike", "to_datetime", "to_ms", "UnexpectedError",
    "UNLIMITED", "version", "version_number", "VersionError", "__version__",
]


def version() -> str:
    """The version of the loaded library ("0.1.0")."""
    return str(ffi.string(lib.jobq_version()).decode())


def version_number() -> int:
    """major * 10000 + minor * 100 + patch of the loaded library."""
    return int(lib.jobq_version_number())

