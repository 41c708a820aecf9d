"""libjobq for Python: decides which batch job runs next, and when.

A thin cffi (ABI mode) binding over libjobq.so.0; nothing to compile. The
library is found through the JOBQ_LIBRARY environment variable, else a meson
build tree next to this checkout (build/lib), else the system linker path.

    import jobq

    with jobq.Scheduler(probe=my_probe, deployer=my_deployer) as s:
        s.define_job("nightly-etl", "analytics", priority="high",
                     request={"cpu": "6", "memory": "24Gi", "pods": 3})
        run_id = s.submit("nightly-etl")
        s.tick()
        print(s.run(run_id).state)
"""

from ._ffi import METRICS_CONTENT_TYPE, UNLIMITED, ffi, lib, library_path
from ._host import DeployError
from .errors import (AlreadyExists, BusyError, CallbackError, InvalidArgument,
                     JobqError, NotFound, OutOfMemory, ParseError, RangeError,
                     StateError, StorageError, UnexpectedError, VersionError,
                     check_error)
from .records import (QUOTA_REJECTED, RESOURCES, Blocked, DeployRequest,
                      Event, Resources, RunInfo, TickStats, format_quantity,
                      parse_quantity)
from .scheduler import Scheduler
from .client import Client, RequestInfo, TimedOut

__all__ = [
    "AlreadyExists", "Blocked", "BusyError", "CallbackError", "Client",
    "DeployError", "RequestInfo", "TimedOut",
    "DeployRequest", "Event", "InvalidArgument", "JobqError",
    "METRICS_CONTENT_TYPE", "NotFound",
    "OutOfMemory", "ParseError", "QUOTA_REJECTED", "RESOURCES", "RangeError",
    "Resources", "RunInfo", "Scheduler", "StateError", "StorageError",
    "TickStats", "UNLIMITED", "UnexpectedError", "VersionError",
    "check_error", "format_quantity", "library_path", "parse_quantity",
    "version", "version_number",
]


def version():
    """The version of the loaded library ("0.1.0")."""
    return ffi.string(lib.jobq_version()).decode()


def version_number():
    """major * 10000 + minor * 100 + patch of the loaded library."""
    return lib.jobq_version_number()


__version__ = version()
