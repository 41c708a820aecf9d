#!/usr/bin/python3
"""jobq-exporter --store: a database served read-only, its gauges checked
against the state store-writer left in it, promtool's verdict, the numbers
following a writer that holds the database open, a store that disappears
and comes back, and the refusals.

    exporter_store_test.py JOBQ-EXPORTER STORE-WRITER JOBQ-SIM SCENARIO.json
"""
import os
import re
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Children, Tap, http, need_program,  # noqa: E402
                     start_exporter_args, wait_for)

EXPORTER, WRITER, SIM, SCENARIO = sys.argv[1:5]
REFRESH_MS = "100"
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def run_cli(*args):
    return subprocess.run([EXPORTER, *args], capture_output=True, text=True,
                          timeout=10)


def exits_with(status, args, words):
    def check():
        r = run_cli("--port", "0", *args)
        assert r.returncode == status, \
            f"exit {r.returncode}, stderr {r.stderr!r}"
        assert r.stdout == "", f"stdout {r.stdout!r}"
        for word in words:
            assert word in r.stderr, f"{word!r} not in {r.stderr!r}"
    return check


def samples(text):
    """{(name, frozenset of (label, value)): value} of every sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def scrape(base):
    status, _, body = http("GET", base + "/metrics")
    assert status == 200, status
    return body.decode()


def value(text, name, **labels):
    key = (name, frozenset(labels.items()))
    found = samples(text)
    assert key in found, f"no sample {name}{labels}"
    return found[key]


def queue_length(base, ns, priority):
    return value(scrape(base), "jobq_queue_length", namespace=ns,
                 priority=priority)


def promtool_accepts(promtool, base):
    r = subprocess.run([promtool, "check", "metrics"],
                       input=scrape(base).encode(), capture_output=True,
                       timeout=30)
    problems = (r.stdout + r.stderr).decode().strip()
    assert r.returncode == 0 and not problems, problems


def gauges_match_the_store(base):
    text = scrape(base)
    for (ns, prio), n in {("analytics", "high"): 1,
                          ("analytics", "normal"): 3,
                          ("ml-team", "high"): 3,
                          ("ml-team", "normal"): 0}.items():
        got = value(text, "jobq_queue_length", namespace=ns, priority=prio)
        assert got == n, (ns, prio, got, n)
    blocked = {(dict(labels)["namespace"], dict(labels)["priority"],
                dict(labels)["reason"])
               for (name, labels), v in samples(text).items()
               if name == "jobq_queue_head_blocked" and v == 1}
    assert blocked == {("analytics", "high", "cpu"),
                       ("analytics", "normal", "memory")}, blocked
    labels = dict(namespace="analytics", domain="warehouse",
                  priority="high", job="etl")
    assert value(text, "jobq_allocated_cpu_cores", **labels) == 3
    assert value(text, "jobq_allocated_memory_bytes", **labels) == 2 ** 30
    assert value(text, "jobq_allocated_pods", **labels) == 1
    assert value(text, "jobq_allocated_cpu_cores", namespace="ml-team",
                 domain="ml", priority="high", job="train") == 0


def counters_are_empty(base):
    """What the README promises: counters and histograms stay empty, quota
    gauges are absent (nothing of them is in the file)."""
    found = samples(scrape(base))
    names = {name for name, _ in found}
    for absent in ("jobq_runs_total", "jobq_head_timeouts_total",
                   "jobq_wait_seconds_count", "jobq_quota_cpu_cores"):
        assert absent not in names, absent
    assert found[("jobq_cycle_duration_seconds_count", frozenset())] == 0


def healthz_is(base, status):
    got, _, _ = http("GET", base + "/healthz")
    return got == status


def healthy(base):
    status, _, body = http("GET", base + "/healthz")
    assert status == 200 and body == b"ok\n", (status, body)


def follows_a_live_writer(children, db, base):
    """A writer holds the database open (and its lock) and submits two more
    runs: the exporter picks them up at a refresh, without the writer
    closing."""
    writer = children.start([WRITER, db, "--more", "2", "--hold"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        line = writer.stdout.readline()
        assert line == "ready\n", (line, writer.poll())
        wait_for(lambda: queue_length(base, "analytics", "normal") == 5, 10,
                 "analytics/normal to reach 5 queued runs")
        assert writer.poll() is None, "the writer is not holding the file"
        assert healthz_is(base, 200)
    finally:
        writer.stdin.close()
        assert writer.wait(timeout=10) == 0, writer.returncode


def survives_a_missing_store(children, db, base):
    """The file goes away: the last snapshot is still served, /healthz says
    503 and the log says why; the file comes back: /healthz is ok again."""
    away = db + ".away"
    os.rename(db, away)
    try:
        wait_for(lambda: healthz_is(base, 503), 10, "/healthz 503")
        assert queue_length(base, "analytics", "normal") == 5
    finally:
        os.rename(away, db)
    wait_for(lambda: healthz_is(base, 200), 10, "/healthz 200 again")
    with open(os.path.join(children.tmp, "store.log")) as f:
        log = f.read()
    assert "cannot re-read the store" in log and "JOBQ_ENOTFOUND" in log, log
    assert log.count("cannot re-read") == 1, f"repeated messages: {log}"
    assert "readable again" in log, log


def serves_a_sim_database(children, promtool):
    """jobq-sim --db runs the scenario to its end: every queue is empty,
    every namespace of the scenario is there."""
    db = os.path.join(children.tmp, "sim.db")
    with open(os.devnull, "w") as out:
        subprocess.run([SIM, "--db", db, SCENARIO], stdout=out, check=True,
                       timeout=60)
    proc, base = start_exporter_args(children, EXPORTER, "--store", db,
                                     log_name="sim.log")
    promtool_accepts(promtool, base)
    lengths = {dict(labels)["namespace"]: v
               for (name, labels), v in samples(scrape(base)).items()
               if name == "jobq_queue_length"}
    assert lengths and set(lengths.values()) == {0}, lengths
    with open(os.path.join(children.tmp, "sim.log")) as f:
        assert "re-read every 5000 ms" in f.read()  # the default
    assert children.stop(proc, timeout=5) == 0


def stops_on_sigterm(children, proc):
    started = time.monotonic()
    assert children.stop(proc, timeout=5) == 0, proc.returncode
    assert time.monotonic() - started < 3, "slow to stop"


def main():
    promtool = need_program("/usr/bin/promtool")
    tap = Tap()
    with Children("jobq-exporter-store-test-") as children:
        tmp = children.tmp
        db = os.path.join(tmp, "jobq.db")
        subprocess.run([WRITER, db], check=True, timeout=30)

        for args, words in [
                (["--store", db, "--scenario", SCENARIO],
                 ["mutually exclusive"]),
                (["--scenario", SCENARIO, "--store", db],
                 ["mutually exclusive"]),
                (["--store", db, "--speed", "10"],
                 ["--speed only applies to --scenario"]),
                (["--store", db, "--at-end", "loop"], ["--at-end"]),
                (["--store", db, "--events"], ["--events"]),
                (["--scenario", SCENARIO, "--refresh-ms", "100"],
                 ["--refresh-ms only applies to --store"]),
                (["--store", db, "--refresh-ms", "10"], ["--refresh-ms"]),
                (["--store", db, "--refresh-ms", "99.5"], ["--refresh-ms"]),
                (["--store"], ["needs a value"])]:
            shown = " ".join(args).replace(tmp, "TMP").replace(
                os.path.dirname(SCENARIO), "examples/scenarios")
            tap.check(f"refuses {shown} "
                      "(exit 2)", exits_with(2, args, words))

        empty = os.path.join(tmp, "empty.db")
        open(empty, "w").close()
        text = os.path.join(tmp, "text.db")
        with open(text, "w") as f:
            f.write("this is not a database\n" * 100)
        other = os.path.join(tmp, "other.db")
        with sqlite3.connect(other) as conn:
            conn.execute("CREATE TABLE t (x)")
        conn.close()
        for what, path, words in [
                ("a missing file", os.path.join(tmp, "nope.db"),
                 ["nope.db", "No such file"]),
                ("an empty file", empty, ["not a jobq database"]),
                ("a text file", text, ["not a jobq database"]),
                ("another application's SQLite file", other,
                 ["not a jobq database"]),
                ("a directory", tmp, ["not a jobq database"])]:
            tap.check(f"{what} is an error (exit 1)",
                      exits_with(1, ["--store", path], words))

        proc, base = start_exporter_args(children, EXPORTER, "--store", db,
                                         "--refresh-ms", REFRESH_MS,
                                         log_name="store.log")
        tap.check("promtool check metrics finds no problem",
                  promtool_accepts, promtool, base)
        tap.check("queue lengths, blocked heads and allocations are the "
                  "store's", gauges_match_the_store, base)
        tap.check("counters and histograms are empty, quota absent",
                  counters_are_empty, base)
        tap.check("/healthz answers ok", healthy, base)
        tap.check("follows a writer that holds the database open",
                  follows_a_live_writer, children, db, base)
        tap.check("promtool still finds no problem after a refresh",
                  promtool_accepts, promtool, base)
        tap.check("a store that disappears: last snapshot served, /healthz "
                  "503, then 200 when it is back",
                  survives_a_missing_store, children, db, base)
        tap.check("stops cleanly on SIGTERM", stops_on_sigterm, children,
                  proc)
        tap.check("serves a jobq-sim --db database",
                  serves_a_sim_database, children, promtool)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
