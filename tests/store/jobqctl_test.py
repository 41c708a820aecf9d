#!/usr/bin/python3
"""End-to-end test of jobqctl on a database written by `jobq-sim --db`.

    jobqctl_test.py JOBQ_SIM JOBQCTL SCENARIO

Runs the simulator with and without --db (the output must not change),
then drives every jobqctl command in both output modes and checks the
answers against the scenario, and checks that bad input is refused with a
clear message and the right exit status (1 error, 2 usage).
"""
import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

SIM, CTL, SCENARIO = sys.argv[1:4]
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def ctl(db, *args, stdin=None, env_db=False):
    env = dict(os.environ)
    env.pop("JOBQ_DB", None)
    argv = [CTL] + list(args)
    if env_db:
        env["JOBQ_DB"] = db
    elif db is not None:
        argv = [CTL, "--db", db] + list(args)
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                       env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr


def ctl_json(db, *args, stdin=None):
    code, out, err = ctl(db, "--json", *args, stdin=stdin)
    check(code == 0, f"jobqctl --json {' '.join(args)} exits 0 ({err})")
    return json.loads(out) if code == 0 else None


def expect_error(db, args, code, text, stdin=None):
    got, out, err = ctl(db, *args, stdin=stdin)
    check(got == code, f"jobqctl {' '.join(args)} exits {code} (got {got})")
    check(text in err, f"jobqctl {' '.join(args)}: stderr mentions "
                       f"{text!r} (got {err.strip()!r})")
    check(out == "", f"jobqctl {' '.join(args)}: nothing on stdout on error")


def simulate(tmp):
    db = os.path.join(tmp, "sim.db")
    plain = subprocess.run([SIM, SCENARIO], capture_output=True, timeout=60)
    with_db = subprocess.run([SIM, "--db", db, SCENARIO], capture_output=True,
                             timeout=60)
    check(plain.returncode == 0 and with_db.returncode == 0, "jobq-sim runs")
    check(plain.stdout == with_db.stdout,
          "jobq-sim output is byte-identical with and without --db")
    again = subprocess.run([SIM, "--db", db, SCENARIO], capture_output=True)
    check(again.returncode == 1 and b"exists" in again.stderr,
          "jobq-sim --db refuses an existing file")
    check(os.stat(db).st_mode & 0o777 == 0o600, "the database has mode 0600")
    return db


def read_commands(db):
    runs = ctl_json(db, "list")
    check(len(runs) == 9, "list --json returns the 9 runs")
    by_name = {r["name"]: r for r in runs}
    check(by_name["giant"]["state"] == "cancelled" and
          by_name["giant"]["reason"] == "head_timeout",
          "the giant run was cancelled by the head timeout")
    code, out, _ = ctl(db, "list")
    check(code == 0 and out.count("\n") == 10 and out.startswith("ID"),
          "list prints a header and 9 rows")
    cancelled = ctl_json(db, "list", "--state", "cancelled")
    check(sorted(r["name"] for r in cancelled) == ["giant", "train-2"],
          "list --state cancelled")
    ml = ctl_json(db, "list", "--namespace", "ml-team")
    check(len(ml) == 4, "list --namespace ml-team")
    high = ctl_json(db, "list", "--priority", "high", "--limit", "2")
    check([r["name"] for r in high] == ["train-1", "train-2"],
          "list --priority high --limit 2 keeps the newest two")
    giant = by_name["giant"]["id"]
    shown = ctl_json(db, "show", str(giant))
    kinds = [e["event"] for e in shown["events"]]
    check(kinds[:2] == ["submitted", "blocked"] and kinds[-1] == "cancelled",
          f"show --json has the event log ({kinds})")
    blocked = shown["events"][1]
    check(blocked.get("resource") == "cpu" and blocked["requested"] == 64000,
          "the blocked event names the resource and the amount")
    code, out, _ = ctl(db, "show", str(giant))
    check(code == 0 and "head_timeout_retry" in out and "cpu=64" in out,
          "show prints the run and its events")
    code, out, _ = ctl(db, "explain", str(giant))
    check(code == 0 and "cancelled" in out and "head_timeout" in out,
          "explain prints why it ended")
    explained = ctl_json(db, "explain", str(giant))
    check(explained["retries"] == {"used": 1, "left": 0},
          "explain --json reports retries used and left")
    names = lambda rows: sorted(r["name"] for r in rows)
    check(names(ctl_json(db, "search", "ETL")) ==
          ["nightly-etl-1", "nightly-etl-2"], "search ETL (trigram)")
    check(names(ctl_json(db, "search", "report")) ==
          ["Report-Builder-A", "behind-giant"],
          "search matches job names case-insensitively")
    check(names(ctl_json(db, "search", "ai")) == ["train-1", "train-2"],
          "search with 2 characters (LIKE)")
    code, out, _ = ctl(db, "search", "no-such-name")
    check(code == 0 and out.strip() == "no runs", "search with no match")
    code, out, _ = ctl(db, "get-property",
                       "job-orchestrator.queue.head-timeout-seconds")
    check(code == 0 and out.strip() == "300", "get-property KEY")
    config = ctl_json(db, "get-property")
    check(config["systemProperties"][
        "job-orchestrator.queue.high.scheduling-share-percentage"] == 75,
          "get-property --json returns the whole configuration")
    stats = ctl_json(db, "stats")
    check(stats["runs"]["finished"] == 7 and stats["runs"]["total"] == 9,
          "stats --json counts runs per state")
    code, out, _ = ctl(db, "stats")
    check(code == 0 and "cancelled" in out, "stats prints a table")
    code, out, _ = ctl(db, "list", env_db=True)
    check(code == 0 and "giant" in out, "JOBQ_DB names the database")


def write_commands(db):
    key = "job-orchestrator.queue.head-timeout-seconds"
    code, out, _ = ctl(db, "set-property", key, "600")
    check(code == 0 and "600" in out, "set-property")
    check(ctl_json(db, "get-property", key) == {key: 600},
          "set-property persisted")
    expect_error(db, ["set-property", key, "abc"], 1, key)
    expect_error(db, ["set-property", "job-orchestrator.queue.high."
                      "scheduling-share-percentage", "150"], 1, "0..100")
    expect_error(db, ["set-property", "no.such.key", "1"], 1, "no.such.key")
    code, out, _ = ctl(db, "submit", stdin='{"job": "nightly-etl", '
                       '"name": "manual-1"}')
    check(code == 0 and out.startswith("submitted run 10"), "submit (stdin)")
    spec = os.path.join(os.path.dirname(db), "spec.json")
    with open(spec, "w") as f:
        json.dump([{"job": "report-builder", "name": "manual-2",
                    "priority": "high", "idempotency_key": "ticket-7"},
                   {"job": "model-train", "cpu": "2", "memory": "4Gi",
                    "pods": 1, "storage": "0"}], f)
    check(ctl_json(db, "submit", spec) == [11, 12], "submit --json FILE")
    check(ctl_json(db, "submit", stdin='{"job": "report-builder", '
                   '"idempotency_key": "ticket-7"}') == [11],
          "submit with a used idempotency key returns the first run")
    explained = ctl_json(db, "explain", "12")
    check(explained["state"] == "queued" and
          explained["queue"]["position"] == 0, "explain a queued run")
    expect_error(db, ["submit"], 1, "no job named",
                 stdin='{"job": "no-such-job"}')
    expect_error(db, ["submit"], 1, "not valid JSON", stdin="{nope")
    # An array is one transaction: all runs or none, the failing one named.
    expect_error(db, ["submit"], 1, "runs[1]",
                 stdin='[{"job": "nightly-etl"}, {"job": "no-such-job"}]')
    expect_error(db, ["show", "13"], 1, "no run with id 13")
    expect_error(db, ["submit"], 1, "memory",
                 stdin='{"job": "nightly-etl", "cpu": "1", "memory": "512m",'
                       ' "pods": 1, "storage": "0"}')
    expect_error(db, ["migrate-to-legacy"], 1, "queued")
    code, out, _ = ctl(db, "cancel", "10", "--reason", "not needed")
    check(code == 0 and "cancelled run 10" in out, "cancel")
    check(ctl_json(db, "show", "10")["detail"] == "not needed",
          "cancel records the reason")
    expect_error(db, ["cancel", "10"], 1, "already ended")
    expect_error(db, ["cancel", "999"], 1, "no run with id 999")
    expect_error(db, ["cancel", "abc"], 2, "positive integer")
    for run in ("11", "12"):
        ctl(db, "cancel", run)
    check(ctl_json(db, "migrate-to-legacy") == {"moved": 0},
          "migrate-to-legacy with nothing queued")
    # The simulated runs ended at virtual times (near 0), long before the
    # retention period; the three cancelled just now are kept.
    deleted = ctl_json(db, "cleanup")["deleted"]
    check(deleted == 9, f"cleanup deletes the old ended runs ({deleted})")
    check([r["id"] for r in ctl_json(db, "list")] == [10, 11, 12],
          "recent runs survive cleanup")


def refusals(tmp, db):
    garbage = os.path.join(tmp, "garbage.db")
    with open(garbage, "w") as f:
        f.write("not a database\n" * 100)
    expect_error(garbage, ["list"], 1, "not a jobq database")
    other = os.path.join(tmp, "other.db")
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    con.commit()
    con.close()
    expect_error(other, ["list"], 1, "not a jobq database")
    newer = os.path.join(tmp, "newer.db")
    shutil.copy(db, newer)
    con = sqlite3.connect(newer)
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    expect_error(newer, ["list"], 1, "newer")
    expect_error(newer, ["cleanup"], 1, "newer")
    expect_error(os.path.join(tmp, "missing.db"), ["list"], 1, "missing.db")
    expect_error(os.path.join(tmp, "missing.db"), ["cleanup"], 1,
                 "missing.db")
    expect_error(None, ["list"], 2, "no database")
    expect_error(db, ["frobnicate"], 2, "unknown command")
    expect_error(db, ["show"], 2, "wrong number of arguments")
    expect_error(db, ["list", "--state", "sleeping"], 2, "--state")
    expect_error(db, ["list", "--bogus", "1"], 2, "unknown option")
    code, out, _ = ctl(db, "--help")
    check(code == 0 and out.startswith("usage: jobqctl"), "--help")


def writer_lock(db):
    """A running scheduler holds the writer lock: writes become requests
    for it (here nobody applies them: the wait times out, the request
    stays queued), reads still work."""
    with open(db + "-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        expect_error(db, ["--timeout", "0.3", "set-property",
                          "job-orchestrator.queue.head-retry-count", "1"], 1,
                     "still pending")
        code, out, err = ctl(db, "--no-wait", "set-property",
                             "job-orchestrator.queue.head-retry-count", "1")
        check(code == 0 and "queued request" in out,
              f"--no-wait queues a request ({out} {err})")
        code, out, err = ctl(db, "requests")
        check(code == 0 and out.count("pending") == 2,
              f"requests lists both as pending ({out} {err})")
        code, _, err = ctl(db, "list")
        check(code == 0, f"list works while a scheduler runs ({err})")


def submit_is_all_or_nothing(tmp, db):
    """issue 8: an array is one transaction; the failing index is named."""
    copy = os.path.join(tmp, "batch.db")
    shutil.copy(db, copy)
    before = [r["id"] for r in ctl_json(copy, "list", "--all")]
    spec = json.dumps([{"job": "nightly-etl", "name": "first"},
                       {"job": "no-such-job", "name": "second"}])
    expect_error(copy, ["submit"], 1, "runs[1]", stdin=spec)
    after = [r["id"] for r in ctl_json(copy, "list", "--all")]
    check(after == before, f"a failed array submits nothing ({after})")
    spec = json.dumps([{"job": "nightly-etl", "name": "ok"},
                       {"job": "nightly-etl", "name": "bad\u001b[2J"}])
    expect_error(copy, ["submit"], 1, "runs[1]: run name: byte 3 (0x1b)",
                 stdin=spec)
    check([r["id"] for r in ctl_json(copy, "list", "--all")] == before,
          "a bad name in an array submits nothing")
    spec = json.dumps([{"job": "nightly-etl"}, {"job": "nightly-etl"}])
    ids = ctl_json(copy, "submit", stdin=spec)
    check(ids is not None and len(ids) == 2, "a good array submits all")


def quarantine_and_escaping(tmp, db):
    """A damaged file still opens; jobqctl reports what was left out, and
    never prints raw control characters or invalid UTF-8."""
    copy = os.path.join(tmp, "damaged.db")
    shutil.copy(db, copy)
    code, out, err = ctl(copy, "quarantine")
    check(code == 0 and "no quarantined rows" in out,
          f"quarantine on a sound file ({out!r} {err!r})")
    con = sqlite3.connect(copy)
    # A run whose job definition never committed, and names written before
    # names were validated: an escape sequence and a byte that is not UTF-8.
    con.execute("INSERT INTO runs (id, job_id, ns_id, name, priority, flow,"
                " state, cpu, memory, pods, storage, submitted_at,"
                " deployed_at, ended_at, retries_used, deploy_attempts)"
                " VALUES (80, 999, 1, 'orphan', 0, 0, 0, 1, 0, 0, 0, 0, -1,"
                " -1, 0, 0)")
    con.execute("UPDATE runs SET name = 'evil' || char(27) || '[2J' ||"
                " CAST(X'FF' AS TEXT) WHERE id = (SELECT min(id) FROM runs)")
    con.commit()
    con.close()
    code, out, err = ctl(copy, "quarantine")
    check(code == 0 and "runs" in out and "80" in out and "job" in out,
          f"quarantine lists the orphan run ({out!r} {err!r})")
    doc = ctl_json(copy, "quarantine")
    check(doc and doc["count"] == 1 and doc["rows"][0]["row"] == 80,
          f"quarantine --json ({doc})")
    stats = ctl_json(copy, "stats")
    check(stats and stats["quarantined"] == 1, "stats --json counts it")
    code, out, _ = ctl(copy, "stats")
    check(code == 0 and "quarantined" in out and "jobqctl quarantine" in out,
          "stats says so")
    p = subprocess.run([CTL, "--db", copy, "list", "--all"],
                       capture_output=True, timeout=60)
    check(p.returncode == 0, "list works on the damaged file")
    check(b"\x1b" not in p.stdout and b"\xff" not in p.stdout,
          "list prints no raw control bytes or invalid UTF-8")
    check(b"evil\\x1b[2J\\xff" in p.stdout,
          f"list shows them escaped ({p.stdout[:300]!r})")
    check(b" 80 " not in p.stdout, "the quarantined run is not listed")
    first = min(r["id"] for r in ctl_json(copy, "list", "--all"))
    p = subprocess.run([CTL, "--db", copy, "show", str(first)],
                       capture_output=True, timeout=60)
    check(p.returncode == 0 and b"\x1b" not in p.stdout and
          b"evil\\x1b" in p.stdout, "show escapes the name")
    p = subprocess.run([CTL, "--db", copy, "--json", "show", str(first)],
                       capture_output=True, timeout=60)
    try:
        shown = json.loads(p.stdout.decode("utf-8"))
        check(shown["name"].startswith("evil\x1b[2J"),
              "show --json keeps the name, valid UTF-8")
    except (ValueError, UnicodeDecodeError) as e:
        check(False, f"show --json is valid UTF-8 JSON ({e})")
    expect_error(copy, ["show", "80"], 1, "quarantined")


def main():
    with tempfile.TemporaryDirectory(prefix="jobqctl-test-") as tmp:
        db = simulate(tmp)
        read_commands(db)
        writer_lock(db)
        write_commands(db)
        refusals(tmp, db)
        submit_is_all_or_nothing(tmp, db)
        quarantine_and_escaping(tmp, db)
    if failures:
        print(f"{len(failures)} checks failed")
        return 1
    print("jobqctl end-to-end: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
