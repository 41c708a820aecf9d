"""The hand-written cffi declarations (jobq/_ffi.py) against the real
headers: every struct's size and field offsets, and the macro values ABI
mode cannot read, as printed by abi_layout.c compiled from the headers.

Versioned structs only ever grow at the end (SPEC section 6), and the
binding passes the version it declares, so a header that appended fields
the binding does not know yet is compatible: that gives a warning, not a
failure. A moved field, a changed type or a shrunk struct fails."""

import json
import os
import re
import subprocess
import warnings

import pytest

import jobq
from jobq import _ffi
from jobq._ffi import ffi

HERE = os.path.dirname(os.path.abspath(__file__))


def _layout_program():
    explicit = os.environ.get("JOBQ_ABI_LAYOUT")
    if explicit:
        return explicit
    guess = os.path.join(HERE, "..", "..", "..", "build", "bindings",
                         "python", "jobq-abi-layout")
    return guess if os.path.exists(guess) else None


@pytest.fixture(scope="module")
def layout():
    program = _layout_program()
    if program is None:
        pytest.skip("jobq-abi-layout not built (run through meson test)")
    return json.loads(subprocess.check_output([program]))


STRUCTS = ["jobq_resources", "jobq_clock", "jobq_probe", "jobq_event_sink",
           "jobq_deploy_request",
           "jobq_deployer", "jobq_event", "jobq_options", "jobq_job_def",
           "jobq_submit_opts", "jobq_run_info", "jobq_run_filter",
           "jobq_tick_stats"]


# A fixed-size value type (host.h: "it will not grow").
FIXED = {"jobq_resources"}


@pytest.mark.parametrize("name", STRUCTS)
def test_struct_layout_matches_the_headers(layout, name):
    c = layout[name]
    declared = [field for field, _ in ffi.typeof(name).fields]
    assert declared == list(c["fields"]), "field list or order differs"
    for field, offset in c["fields"].items():
        assert ffi.offsetof(name, field) == offset, field
    if name in FIXED:
        assert ffi.sizeof(name) == c["size"]
    else:
        assert ffi.sizeof(name) <= c["size"]
        if ffi.sizeof(name) < c["size"]:
            warnings.warn(f"{name} has fields appended in the headers that "
                          "jobq/_ffi.py does not declare yet")


def test_constants_match_the_headers(layout):
    c = layout["constants"]
    assert _ffi.UNLIMITED == c["JOBQ_UNLIMITED"] == jobq.UNLIMITED
    assert _ffi.TIME_NOW == c["JOBQ_TIME_NOW"]
    assert _ffi.NO_DEADLINE == c["JOBQ_NO_DEADLINE"]
    assert _ffi.PRIORITY_DEFAULT == c["JOBQ_PRIORITY_DEFAULT"]
    assert _ffi.DEPLOY_QUOTA_REJECTED == c["JOBQ_DEPLOY_QUOTA_REJECTED"]
    assert _ffi.ANY == c["JOBQ_ANY"]
    assert _ffi.METRICS_CONTENT_TYPE == c["JOBQ_METRICS_CONTENT_TYPE"] == \
        jobq.METRICS_CONTENT_TYPE
    for name in ("OPTIONS", "CLOCK", "PROBE", "DEPLOYER", "JOB_DEF",
                 "SUBMIT_OPTS", "RUN_INFO", "RUN_FILTER", "TICK_STATS",
                 "TICK_INPUT"):
        # The binding may speak an older version of a struct, never a newer.
        ours, theirs = getattr(_ffi, name + "_VERSION"), c[f"JOBQ_{name}_VERSION"]
        assert ours <= theirs, name
        if ours < theirs:
            warnings.warn(f"JOBQ_{name}_VERSION is {theirs}; the binding "
                          f"declares version {ours}")
    # The fixed-size name buffers in jobq_run_info.
    assert ffi.sizeof(ffi.typeof("jobq_run_info").fields[3][1].type) == \
        c["JOBQ_NAME_MAX"] + 1
    assert ffi.sizeof(ffi.typeof("jobq_run_info").fields[6][1].type) == \
        c["JOBQ_NS_MAX"] + 1


def test_every_declared_function_is_exported():
    # dlopen binds lazily: touch each name so that a declaration the
    # library does not export fails here, not in the middle of a user's call.
    names = sorted(set(re.findall(r"[\s*](jobq_\w+)\(", _ffi.CDEF)))
    assert {"jobq_open", "jobq_tick", "jobq_close"} <= set(names)
    for name in names:
        assert getattr(_ffi.lib, name) is not None
