"""Where the package finds libjobq.so.0 (jobq/_ffi.py): JOBQ_LIBRARY (a
file or a directory), the build tree of the checkout it is part of, the
system's dynamic linker. A copy of the package outside a checkout never
looks around its own directory. Each case imports jobq in a fresh
interpreter."""

import os
import shutil
import subprocess
import sys

import pytest

import jobq

PACKAGE = os.path.dirname(os.path.abspath(jobq.__file__))
LIBRARY = os.path.realpath(jobq.library_path)


def load(cwd, path_entry, **env_changes):
    """(returncode, output) of importing jobq from path_entry in a fresh
    interpreter with the environment changed (None removes a variable)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("JOBQ_LIBRARY", "LD_LIBRARY_PATH", "PYTHONPATH")}
    for key, value in env_changes.items():
        if value is not None:
            env[key] = value
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import jobq; "
            "print(jobq.library_path); print(jobq.__file__)")
    done = subprocess.run([sys.executable, "-c", code, path_entry], cwd=cwd,
                          env=env, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def copied(tmp_path):
    """The package copied to a directory that is not a checkout, with a
    decoy build tree three directories up that must not be used."""
    site = tmp_path / "a" / "b" / "site"
    shutil.copytree(PACKAGE, site / "jobq")
    decoy = tmp_path / "build" / "lib"
    decoy.mkdir(parents=True)
    (decoy / "libjobq.so.0").write_text("not a library")
    return site


def test_explicit_file_and_directory(copied, tmp_path):
    rc, out = load(tmp_path, str(copied), JOBQ_LIBRARY=LIBRARY)
    assert rc == 0 and out.split("\n")[0] == LIBRARY, out
    rc, out = load(tmp_path, str(copied),
                   JOBQ_LIBRARY=os.path.dirname(LIBRARY))
    assert rc == 0 and out.split("\n")[0].startswith(
        os.path.dirname(LIBRARY)), out


def test_explicit_means_nothing_else(copied, tmp_path):
    rc, out = load(tmp_path, str(copied),
                   JOBQ_LIBRARY=str(tmp_path / "nowhere.so"),
                   LD_LIBRARY_PATH=os.path.dirname(LIBRARY))
    assert rc != 0 and "nowhere.so: no such file" in out, out


def test_copied_package_uses_the_system_linker(copied, tmp_path):
    # LD_LIBRARY_PATH stands in for an installed, ldconfig'd library.
    rc, out = load(tmp_path, str(copied),
                   LD_LIBRARY_PATH=os.path.dirname(LIBRARY))
    assert rc == 0, out
    assert out.split("\n")[0] == "libjobq.so.0", out
    assert out.split("\n")[1].startswith(str(copied)), out


def test_copied_package_without_a_library_says_how_to_fix_it(copied, tmp_path):
    rc, out = load(tmp_path, str(copied))
    if rc == 0:
        pytest.skip("libjobq is installed on this system")
    assert "ImportError: cannot load libjobq" in out, out
    assert "JOBQ_LIBRARY" in out and "decoy" not in out
    assert str(tmp_path / "build") not in out  # the decoy was never tried


def test_checkout_build_tree_is_found_without_settings(tmp_path):
    checkout = os.path.normpath(os.path.join(PACKAGE, "..", "..", ".."))
    build = os.path.join(checkout, "build", "lib", "libjobq.so.0")
    if not os.path.exists(build):
        pytest.skip("no build/ directory in this checkout")
    rc, out = load(tmp_path, os.path.dirname(PACKAGE))
    assert rc == 0 and out.split("\n")[0] == build, out
