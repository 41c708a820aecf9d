"""Quantities are parsed and formatted by the library, not re-implemented
in Python: the binding must pass them through exactly."""

import os

import pytest

import jobq


@pytest.mark.parametrize("text,kind,amount", [
    ("500m", "cpu", 500), ("2", "cpu", 2000), ("1.5", "cpu", 1500),
    (2, "cpu", 2000), ("512Mi", "memory", 512 * 1024**2),
    ("2Gi", "memory", 2 * 1024**3), ("1e3", "memory", 1000),
    ("1T", "storage", 10**12), (3, "pods", 3),
    ("unlimited", "cpu", jobq.UNLIMITED),
])
def test_parse(text, kind, amount):
    assert jobq.parse_quantity(text, kind) == amount


def test_format_round_trips():
    assert jobq.format_quantity(500, "cpu") == "500m"
    assert jobq.format_quantity(32 * 1024**3, "memory") == "32Gi"
    r = jobq.Resources.of({"cpu": "6", "memory": "24Gi", "pods": 3})
    assert r == jobq.Resources(6000, 24 * 1024**3, 3, 0)
    assert r.quantities() == {"cpu": "6", "memory": "24Gi", "pods": "3",
                              "storage": "0"}


def test_bad_quantities():
    with pytest.raises(jobq.ParseError, match="512Mi"):
        jobq.parse_quantity("512m", "memory")
    with pytest.raises(jobq.ParseError):
        jobq.parse_quantity("-1", "cpu")
    with pytest.raises(jobq.RangeError):
        jobq.parse_quantity("1e400", "cpu")
    with pytest.raises(jobq.InvalidArgument):
        jobq.parse_quantity(True, "cpu")
    with pytest.raises(jobq.InvalidArgument, match="resource"):
        jobq.parse_quantity("1", "gpu")


def test_version_matches_the_loaded_library():
    major, minor, patch = (int(p) for p in jobq.version().split("."))
    assert jobq.version_number() == major * 10000 + minor * 100 + patch


def test_binding_version_is_its_own_and_the_pyproject_one():
    import tomllib
    root = os.path.join(os.path.dirname(__file__), "..")
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    assert jobq.__version__ == project["version"]
    assert project["requires-python"] == ">=3.11"
