#!/usr/bin/python3
"""Schema migration 1 -> 2 (leaner rows, issue 11) on a real version-1
database (tests/store/fixtures/schema-v1-demo.sql, written by jobq-sim
--db on the demo scenario before the change).

    migrate_v1_test.py JOBQCTL FIXTURE.sql

A read-write open migrates it; afterwards every run's event log is the
same, in the same order, search finds the same runs, jobqctl show, explain
and search work, the events_run index and the run-name size table are gone,
and PRAGMA integrity_check is ok.
"""
import json
import os
import sqlite3
import sys
import tempfile

from migrate_util import check, ctl, load_fixture, migrate, plan


EVENT_COLUMNS = ("type, time, resource, requested, available, wait_ms, "
                 "retry, reason, detail")
SEARCH = ("SELECT rowid FROM run_names WHERE run_names MATCH ?1 UNION "
          "SELECT r.id FROM runs r WHERE r.job_id IN (SELECT rowid FROM "
          "job_names WHERE job_names MATCH ?1) ORDER BY 1 DESC")
# Since version 5: one index of run and job names (all runs indexed by the
# migration).
SEARCH_V5 = ("SELECT rowid FROM run_text WHERE run_text MATCH ?1 "
             "ORDER BY 1 DESC")


def snapshot(con, order, search=SEARCH, log="events"):
    logs = {}
    for (run,) in con.execute("SELECT id FROM runs ORDER BY id"):
        logs[run] = con.execute("SELECT %s FROM %s WHERE run_id = ? "
                                "ORDER BY %s" % (EVENT_COLUMNS, log, order),
                                (run,)).fetchall()
    found = {t: con.execute(search, ('"%s"' % t,)).fetchall()
             for t in ("etl", "nightly", "adhoc", "report", "r12")}
    return logs, found


def main():
    with tempfile.TemporaryDirectory(prefix="jobq-migrate-") as tmp:
        db = os.path.join(tmp, "v1.db")
        load_fixture(db)
        con = sqlite3.connect(db)
        before = snapshot(con, "id")
        con.close()
        check(sum(len(v) for v in before[0].values()) > 100,
              "the fixture has an event log")
        code, _, err = ctl(db, "list")
        check(code == 1 and "open it read-write" in err,
              "a read-only open asks for a read-write one first (%s)"
              % err.strip())
        # Every migration since version 1: the queues' refusal columns
        # (SPEC 2.5), live control's requests, leaner event rows.
        con = migrate(db)
        refusal = {r[1] for r in con.execute("PRAGMA table_info(queues)")}
        check({"refusals", "refused_run", "refused_since",
               "refusal"} <= refusal, "the queues gained the refusal columns")
        check(con.execute("SELECT count(*) FROM requests").fetchone()[0] == 0,
              "an empty requests table")
        # Since version 6 a run's current deployment is read from its row
        # (the event_log view), as its submission and its end since 5.
        after = snapshot(con, "seq", SEARCH_V5, "event_log")
        check(after[0] == before[0], "every run's event log is unchanged, "
              "in order")
        check(after[1] == before[1] and all(after[1].values()),
              "search finds the same runs")
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_schema")}
        check(not names & {"events_run", "run_names", "job_names",
                           "runs_job"},
              "events_run, the old name indexes and runs_job are gone")
        check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok",
              "integrity_check ok")
        con.close()
        run = max(r for r, log in before[0].items() if len(log) >= 3)
        code, out, err = ctl(db, "--json", "show", str(run))
        check(code == 0 and len(json.loads(out).get("events", [])) ==
              len(before[0][run]), "jobqctl show lists the run's events (%s)"
              % err.strip())
        code, out, err = ctl(db, "--json", "explain", str(run))
        check(code == 0 and json.loads(out)["run"] == run,
              "jobqctl explain works (%s)" % err.strip())
        code, out, err = ctl(db, "--json", "search", "etl")
        check(code == 0 and len(json.loads(out)) == len(before[1]["etl"]),
              "jobqctl search works (%s)" % err.strip())
    plan()
    return 0


if __name__ == "__main__":
    sys.exit(main())
