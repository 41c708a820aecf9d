#!/usr/bin/python3
"""Schema migration 5 -> 6 (fewer pages per commit, issue 11) on a real
version-5 database (tests/store/fixtures/schema-v5-rescheduled.sql: two
jobs in two namespaces, 15 runs; one finished, one failed, one refused by
the cluster after its deploy call (rescheduled, deployed again), one
cancelled while running, one cancelled while queued, nine running, two
queued; written through the Python binding of the previous version).

    migrate_v5_test.py JOBQCTL FIXTURE.sql

A read-write open migrates it. Afterwards every run's event log (the
event_log view) is the same, in the same order, although a deployment is
now read from the run row: only the undone deployment is still a row;
the runs are the same; runs has no AUTOINCREMENT and run_id_floor keeps
the largest id; the key index holds only keyed runs; a new run gets the
next id; integrity_check is ok.
"""
import os
import sqlite3
import sys
import tempfile

from migrate_util import check, ctl, load_fixture, migrate, plan


LOG = ("SELECT run_id, type, time, resource, requested, available, wait_ms,"
       " retry, reason, detail FROM event_log ORDER BY run_id, seq")
RUNS = ("SELECT id, job_id, ns_id, name, idempotency_key, priority, flow,"
        " state, cpu, memory, pods, storage, submitted_at, deployed_at,"
        " ended_at, retries_used, deploy_attempts, reason, detail FROM runs"
        " ORDER BY id")


def main():
    with tempfile.TemporaryDirectory(prefix="jobq-migrate5-") as tmp:
        db = os.path.join(tmp, "v5.db")
        load_fixture(db)
        con = sqlite3.connect(db)
        log_before = con.execute(LOG).fetchall()
        runs_before = con.execute(RUNS).fetchall()
        deployed_rows = con.execute(
            "SELECT count(*) FROM events WHERE type = 2").fetchone()[0]
        con.close()
        check(deployed_rows == 13, "the fixture has its 13 deployments as "
              "rows (%d)" % deployed_rows)
        con = migrate(db)
        check(con.execute(LOG).fetchall() == log_before,
              "every run's event log is unchanged, in order")
        check(con.execute(RUNS).fetchall() == runs_before,
              "the runs are unchanged")
        check(con.execute("SELECT run_id, time FROM events WHERE type = 2"
                          ).fetchall() == [(3, 1001000)],
              "the one undone deployment is the only 'deployed' row")
        sql = con.execute("SELECT sql FROM sqlite_schema WHERE name = 'runs'"
                          ).fetchone()[0]
        check("AUTOINCREMENT" not in sql.upper(), "runs has no AUTOINCREMENT")
        check(con.execute("SELECT run_id_floor FROM scheduler").fetchone()[0]
              == 15, "run_id_floor is the largest id")
        keyed = con.execute("SELECT count(*) FROM runs INDEXED BY runs_key"
                            " WHERE idempotency_key IS NOT NULL"
                            ).fetchone()[0]
        check(keyed == 0, "no run has a key, and the key index is usable")
        check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok",
              "integrity_check ok")
        con.close()
        code, out, err = ctl(db, "--json", "submit", "-",
                             stdin='{"job": "etl", "idempotency_key": "k1"}')
        check(code == 0 and "16" in out, "a new run gets id 16 (%s %s)"
              % (out.strip(), err.strip()))
        con = sqlite3.connect(db)
        check(con.execute("SELECT count(*) FROM runs INDEXED BY runs_key "
                          "WHERE idempotency_key = 'k1'").fetchone()[0] == 1,
              "its key is in the key index")
        con.close()
    plan()
    return 0


if __name__ == "__main__":
    sys.exit(main())
