"""Exceptions: one class per libjobq status code, and check_error(), the one
place where a negative status becomes a Python exception.

The classes also derive from the closest built-in exception (ValueError,
LookupError, MemoryError...) so that callers who do not know libjobq can
still catch them sensibly.
"""

from ._ffi import ffi, lib

# Status codes of include/jobq/errors.h (never renumbered, only appended).
OK = 0
EINVAL = -1
ENOMEM = -2
ENOTFOUND = -3
EEXISTS = -4
ESTATE = -5
ERANGE = -6
EPARSE = -7
EIO = -8
EVERSION = -9
EBUSY = -10
EUSER = -11
ERROR = -12


class JobqError(Exception):
    """A libjobq call failed. `code` is the negative status, `name` its
    symbolic name ("JOBQ_ENOTFOUND") and `message` the library's sentence."""

    code = ERROR

    def __init__(self, message, code=None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    @property
    def name(self):
        return ffi.string(lib.jobq_errname(self.code)).decode()


class InvalidArgument(JobqError, ValueError):
    code = EINVAL


class OutOfMemory(JobqError, MemoryError):
    code = ENOMEM


class NotFound(JobqError, LookupError):
    code = ENOTFOUND


class AlreadyExists(JobqError):
    code = EEXISTS


class StateError(JobqError):
    """Not allowed in the current state (a run that already ended, disabling
    the feature while runs are queued, a closed scheduler...)."""
    code = ESTATE


class RangeError(JobqError, ValueError):
    code = ERANGE


class ParseError(JobqError, ValueError):
    code = EPARSE


class StorageError(JobqError, OSError):
    code = EIO


class VersionError(JobqError):
    code = EVERSION


class BusyError(JobqError):
    """A callback called back into the scheduler that is calling it."""
    code = EBUSY


class CallbackError(JobqError):
    code = EUSER


class UnexpectedError(JobqError):
    code = ERROR


_BY_CODE = {cls.code: cls for cls in (
    InvalidArgument, OutOfMemory, NotFound, AlreadyExists, StateError,
    RangeError, ParseError, StorageError, VersionError, BusyError,
    CallbackError, UnexpectedError)}


def error_for(code, message=None):
    """The exception for status `code`, with `message` or the library's
    generic description of the code."""
    if not message:
        message = ffi.string(lib.jobq_strerror(code)).decode()
    return _BY_CODE.get(code, JobqError)(message, code)


def check_error(code, message_fn=None):
    """Raise the exception for a negative status; return non-negative ones.

    message_fn, when given, is called only on failure to fetch the detail
    (jobq_errmsg for a handle, or an error buffer for jobq_open)."""
    if code >= 0:
        return code
    message = message_fn() if message_fn else None
    raise error_for(code, message)
