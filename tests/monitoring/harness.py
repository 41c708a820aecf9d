"""Shared helpers for the monitoring tests (exporter, dashboard, report).

Standard library only: these scripts run under Debian's /usr/bin/python3.
Each test script prints TAP (one "ok N - name" line per check) so that
meson shows every check as a subtest, cleans up its temporary directory
and child processes even when a check fails, and bounds every wait.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request



class Tap:
    """Runs named checks, prints TAP, remembers failures."""

    def __init__(self):
        self.count = 0
        self.failed = 0

    def check(self, name, fn, *args):
        self.count += 1
        try:
            fn(*args)
            print(f"ok {self.count} - {name}", flush=True)
            return True
        except Exception as exc:  # a failed check must not stop the others
            self.failed += 1
            print(f"not ok {self.count} - {name}", flush=True)
            for line in traceback.format_exception(exc):
                for part in line.rstrip().splitlines():
                    print(f"# {part}", flush=True)
            return False

    def finish(self):
        print(f"1..{self.count}", flush=True)
        return 1 if self.failed else 0


def need_program(path_or_name):
    """The program's path, or exit 77 (skipped) with a reason."""
    found = shutil.which(path_or_name)
    if not found:
        print(f"1..0 # SKIP {path_or_name} is not installed "
              "(scripts/deps.sh test installs it)", flush=True)
        sys.exit(0)
    return found


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Children:
    """Child processes and a temporary directory, all cleaned up on exit."""

    def __init__(self, prefix):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.procs = []

    def start(self, argv, **kwargs):
        proc = subprocess.Popen(argv, **kwargs)
        self.procs.append(proc)
        return proc

    def stop(self, proc, timeout=10):
        """SIGTERM, then SIGKILL; returns the exit status."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def close(self):
        for proc in self.procs:
            self.stop(proc)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def start_exporter(children, exporter, scenario, *extra):
    """Start jobq-exporter on a free port; returns (process, base URL)."""
    return start_exporter_args(children, exporter, "--scenario", scenario,
                               *extra)


def start_exporter_args(children, exporter, *args, log_name="exporter.log"):
    """Start jobq-exporter with these arguments and --port 0; its standard
    error goes to children.tmp/log_name. Returns (process, base URL)."""
    log_path = os.path.join(children.tmp, log_name)
    log = open(log_path, "w")
    proc = children.start([exporter, *args, "--port", "0"],
                          stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(log_path) as f:
            m = re.search(r"serving (http://[^/]+)/metrics", f.read())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    with open(log_path) as f:
        raise RuntimeError(f"jobq-exporter did not start: {f.read()}")


def http(method, url, timeout=10):
    """(status, headers, body) of one request; HTTP errors are answers."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
