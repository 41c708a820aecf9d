"""jobq.Client against a scheduler running in another process (a small
Python host, started with subprocess, ticking every 20 ms on the same
database file)."""

import os
import subprocess
import sys
import textwrap
import time

import pytest

import jobq

HOST = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[2])
    import jobq

    class Deployer:
        def deploy(self, req):
            pass
        def cancel(self, run_id):
            pass

    # One namespace with room for two runs: the rest queue.
    def probe(ns):
        return {"cpu": "2"}, {"cpu": "0"}

    with jobq.Scheduler(probe=probe, deployer=Deployer(),
                        db_path=sys.argv[1], durability="normal") as s:
        s.define_job("etl", "analytics", request={"cpu": "1"})
        print("ready", flush=True)
        while sys.stdin.readline().strip() != "stop":
            pass
""")

TICKER = textwrap.dedent("""
    import sys, threading, time
    sys.path.insert(0, sys.argv[2])
    import jobq

    live = set()  # runs "running" on the fake cluster (never finish)

    class Deployer:
        def deploy(self, req):
            live.add(req.run_id)
        def cancel(self, run_id):
            live.discard(run_id)

    # Room for two runs of 1 cpu: the rest queue.
    def probe(ns):
        return {"cpu": "2"}, {"cpu": str(len(live))}

    stop = threading.Event()
    def wait_for_stop():
        sys.stdin.readline()
        stop.set()
    threading.Thread(target=wait_for_stop, daemon=True).start()
    with jobq.Scheduler(probe=probe, deployer=Deployer(),
                        db_path=sys.argv[1], durability="normal") as s:
        s.define_job("etl", "analytics", request={"cpu": "1"})
        print("ready", flush=True)
        while not stop.is_set():
            s.tick()
            time.sleep(0.02)
""")

PKG = os.path.join(os.path.dirname(__file__), "..")


def start(script, db):
    p = subprocess.Popen([sys.executable, "-c", script, str(db), PKG],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def stop(p):
    p.stdin.write("stop\n")
    p.stdin.flush()
    assert p.wait(timeout=30) == 0


@pytest.fixture
def host(tmp_path):
    db = tmp_path / "jobq.db"
    p = start(TICKER, db)
    yield db
    stop(p)


def test_submit_cancel_and_properties_through_a_running_scheduler(host):
    with jobq.Client(host, wait_timeout=30) as c:
        first = c.submit("etl", idempotency_key="k1")
        again = c.submit("etl", idempotency_key="k1")
        assert first > 0 and again == first
        ids = c.submit_batch(["etl", {"job": "etl", "run_name": "x-1"},
                              "etl"])
        assert ids == sorted(ids) and ids[0] > first
        # Two fit the quota; the third and later ones queue.
        assert c.run(ids[-1]).state == "queued"
        c.cancel(ids[-1], "not needed")
        assert c.run(ids[-1]).state == "cancelled"
        c.set_property("job-orchestrator.queue.head-timeout-seconds", 600)
        assert c.get_property(
            "job-orchestrator.queue.head-timeout-seconds") == 600
        with pytest.raises(jobq.NotFound, match="nope"):
            c.submit("nope")
        with pytest.raises(jobq.RangeError, match="share"):
            c.set_property(
                "job-orchestrator.queue.high.scheduling-share-percentage",
                101)
        with pytest.raises(jobq.StateError, match="already ended"):
            c.cancel(ids[-1])
        with pytest.raises(jobq.StateError):
            c.tick()
        moved = c.migrate_to_legacy()
        assert moved >= 1
        assert all(c.run(i).state != "queued" for i in ids)
        reqs = c.requests(recent=0)
        assert [r.id for r in reqs] == sorted(r.id for r in reqs)
        assert {r.state for r in reqs} == {"applied", "refused"}
        refused = [r for r in reqs if r.state == "refused"]
        assert any("nope" in r.message for r in refused)
        assert not c.pending()


def test_enqueue_only_and_wait_later(host):
    with jobq.Client(host, wait_timeout=0) as c:
        assert c.submit("etl") == 0
        rid = c.last_request
        info = c.wait(rid, timeout=30)
        assert info.state == "applied" and info.kind == "submit"
        assert c.request_runs(rid) == [info.run_id]
        assert c.run(info.run_id).job == "etl"


def test_requests_wait_in_the_file_for_a_scheduler(tmp_path):
    db = tmp_path / "jobq.db"
    p = start(HOST, db)  # a scheduler that never ticks
    try:
        with jobq.Client(db, wait_timeout=0.2) as c:
            with pytest.raises(jobq.TimedOut) as exc:
                c.submit("etl", idempotency_key="late")
            rid = exc.value.request_id
            assert rid and c.request(rid).state == "pending"
            assert c.pending()
    finally:
        stop(p)
    p = start(TICKER, db)  # the next scheduler applies it
    try:
        with jobq.Client(db) as c:
            info = c.wait(rid, timeout=30)
            assert info.state == "applied" and info.run_id > 0
            assert c.submit("etl", idempotency_key="late") == info.run_id
    finally:
        stop(p)


def test_client_needs_an_existing_database(tmp_path):
    with pytest.raises(jobq.NotFound):
        jobq.Client(tmp_path / "missing.db")
