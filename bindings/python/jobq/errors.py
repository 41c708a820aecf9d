"""Exceptions: one class per libjobq status code, and check_error(), the one
place where a negative status becomes a Python exception.

The classes also derive from the closest built-in exception (ValueError,
LookupError, MemoryError...) so that callers who do not know libjobq can
still catch them sensibly.
"""

from collections.abc import Callable

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

    code: int = ERROR

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    @property
    def name(self) -> str:
        return str(ffi.string(lib.jobq_errname(self.code)).decode())


class InvalidArgument(JobqError, ValueError):
    """A bad value: the message starts with the argument's name."""
    code = EINVAL


class ArgumentTypeError(InvalidArgument, TypeError):
    """An argument of the wrong type (run("1"), cancel(None)...), refused
    before the library is called. Both a TypeError, as Python code expects
    of a wrong type, and an InvalidArgument (JOBQ_EINVAL), like every other
    refused argument; the message starts with the argument's name."""


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


_BY_CODE: dict[int, type[JobqError]] = {cls.code: cls for cls in (
    InvalidArgument, OutOfMemory, NotFound, AlreadyExists, StateError,
    RangeError, ParseError, StorageError, VersionError, BusyError,
    CallbackError, UnexpectedError)}


def error_for(code: int, message: str | None = None) -> JobqError:
    """The exception for status `code`, with `message` or the library's
    generic description of the code."""
    if not message:
        message = str(ffi.string(lib.jobq_strerror(code)).decode())
    return _BY_CODE.get(code, JobqError)(message, code)


def check_error(code: int,
                message_fn: Callable[[], str] | None = None) -> int:
    """Raise the exception for a negative status; return non-negative ones.

    message_fn, when given, is called only on failure to fetch the detail
    (jobq_errmsg for a handle, or an error buffer for jobq_open)."""
    if code >= 0:
        return code
    message = message_fn() if message_fn else None
    raise error_for(code, message)
