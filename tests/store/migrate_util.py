"""What the schema migration tests (migrate_v*_test.py JOBQCTL FIXTURE.sql)
share: their arguments, TAP output, jobqctl, and a database made from a
fixture's SQL dump."""
import sqlite3
import subprocess
import sys

CTL, FIXTURE = sys.argv[1], sys.argv[2]
_count = 0


def check(cond, name):
    global _count
    _count += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (_count, name))


def plan():
    """The TAP plan line, after the last check."""
    print("1..%d" % _count)


def ctl(db, *args, stdin=None):
    p = subprocess.run([CTL, "--db", db] + list(args), capture_output=True,
                       text=True, timeout=60, input=stdin)
    return p.returncode, p.stdout, p.stderr


def load_fixture(db):
    """The fixture's dump as the database file db."""
    con = sqlite3.connect(db)
    with open(FIXTURE) as f:
        con.executescript(f.read())
    con.close()  # the dump wrote the schema directly: read it afresh


def migrate(db, version=6):
    """A read-write open (jobqctl set-property) migrates the file to the
    current schema version: both checked; a connection to it after."""
    code, _, err = ctl(db, "set-property",
                       "job-orchestrator.queue.head-timeout-seconds", "1800")
    check(code == 0, "a read-write open migrates (%s)" % err.strip())
    con = sqlite3.connect(db)
    check(con.execute("PRAGMA user_version").fetchone()[0] == version,
          "schema version %d" % version)
    return con
