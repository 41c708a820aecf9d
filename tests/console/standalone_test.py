#!/usr/bin/python3
"""jobq-console --db FILE: serves a database another process writes
(store-writer leaves queued, blocked and running runs), read-only while no
client handle can act, follows the writer, refuses bad flags.

    standalone_test.py JOBQ-CONSOLE STORE-WRITER
"""
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "monitoring"))
from harness import Children, Tap, wait_for  # noqa: E402
import console_env as ce  # noqa: E402

CONSOLE, WRITER = sys.argv[1], sys.argv[2]


def start(children, *args):
    log_path = os.path.join(children.tmp, "console.log")
    log = open(log_path, "w")
    proc = children.start([CONSOLE, *args, "--port", "0",
                           "--refresh-ms", "100"],
                          stdout=subprocess.DEVNULL, stderr=log)
    found = {}

    def served():
        with open(log_path) as f:
            m = re.search(r"serving (http://[^/]+)/", f.read())
        if m:
            found["base"] = m.group(1)
        assert proc.poll() is None, open(log_path).read()
        return bool(m)
    wait_for(served, 10, "jobq-console to serve")
    return proc, found["base"]


def overview_of_store(base):
    status, doc = ce.request("GET", base + "/api/v1/overview")
    assert status == 200, doc
    queues = {(q["namespace"], q["priority"]): q for q in doc["queues"]}
    high = queues[("analytics", "high")]
    assert high["head_state"] == "blocked", high
    assert high["head"]["blocked"]["resource"] == "cpu"
    assert high["head"]["blocked"]["requested"]["text"] == "3"
    assert high["head"]["blocked"]["available"]["text"] == "1"
    normal = queues[("analytics", "normal")]
    assert normal["length"] == 3 and normal["head"]["blocked"]["resource"] \
        == "memory", normal
    assert doc["read_only"] is True and doc["read_only_reason"], doc


def actions_refused(base):
    status, doc = ce.request("POST", base + "/api/v1/runs/2/cancel",
                             body={}, headers={"X-Jobq-Token": "x" * 20})
    assert status == 403 and "read-only" in doc["error"], (status, doc)
    _, doc = ce.request("GET", base + "/api/v1/runs/2")
    assert doc["run"]["state"] == "queued"


def pending_without_scheduler(children, db):
    """With a token, an action becomes a durable request; with no
    scheduler running to apply it, the answer is 202 pending."""
    token = os.path.join(children.tmp, "token")
    with open(token, "w") as f:
        f.write(ce.ADMIN_TOKEN + "\n")
    proc, other = start(children, "--db", db, "--token-file", token)
    status, doc = ce.request("POST", other + "/api/v1/runs/5/cancel",
                             body={}, headers={"X-Jobq-Token":
                                               ce.ADMIN_TOKEN}, timeout=30)
    assert status == 202 and doc["pending"] is True, (status, doc)
    _, doc = ce.request("GET", other + "/api/v1/runs/5")
    assert doc["run"]["state"] == "queued", doc["run"]
    children.stop(proc)


def follows_writer(db, base):
    r = subprocess.run([WRITER, db, "--more", "5"], capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr

    def grew():
        _, doc = ce.request("GET", base + "/api/v1/overview")
        q = [q for q in doc["queues"] if q["namespace"] == "analytics" and
             q["priority"] == "normal"][0]
        return q["length"] == 8
    wait_for(grew, 10, "the console to see 5 more runs")


def pages(base):
    for path in ("/", "/queue?namespace=analytics&priority=normal",
                 "/run/2", "/search", "/events", "/settings",
                 "/static/app.js", "/static/app.css"):
        status, text = ce.request("GET", base + path)
        assert status == 200, (path, status)
        assert "http://" not in text and "https://" not in text, path
    status, _ = ce.request("GET", base + "/run/777")
    assert status == 404
    import urllib.request
    with urllib.request.urlopen(base + "/", timeout=10) as resp:
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in \
            csp, csp
        assert resp.headers["X-Frame-Options"] == "DENY"
    status, text = ce.request("GET", base + "/healthz")
    assert status == 200 and text == "ok\n"


def bad_flags(children, db):
    for args, message in ((["--db"], "needs a value"),
                          ([], "--db"),
                          (["--db", db, "--port", "x"], "--port"),
                          (["--db", db, "--listen", "nowhere"], "--listen"),
                          (["--db", db, "--refresh-ms", "1"], "--refresh-ms"),
                          (["--db", db, "--bogus", "1"], "unknown option")):
        r = subprocess.run([CONSOLE, *args], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 2 and message in r.stderr, (args, r)
    short = os.path.join(children.tmp, "short-token")
    with open(short, "w") as f:
        f.write("abc\n")
    for args, message in ((["--db", os.path.join(children.tmp, "none.db")],
                           "cannot open"),
                          (["--db", db, "--token-file", short], "too short")):
        r = subprocess.run([CONSOLE, *args, "--port", "0"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 1 and message in r.stderr, (args, r)


def main():
    tap = Tap()
    with Children("jobq-console-test-") as children:
        db = os.path.join(children.tmp, "jobq.db")
        r = subprocess.run([WRITER, db], capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        _, base = start(children, "--db", db)
        tap.check("the overview of a store names blocked heads and amounts",
                  overview_of_store, base)
        tap.check("actions are refused on a read-only console",
                  actions_refused, base)
        tap.check("it follows the writer", follows_writer, db, base)
        tap.check("an action no scheduler applies is 202 pending",
                  pending_without_scheduler, children, db)
        tap.check("every page and static file, offline; 404 for an unknown "
                  "run", pages, base)
        tap.check("bad flags and files are refused", bad_flags, children, db)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
