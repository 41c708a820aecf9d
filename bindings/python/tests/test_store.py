"""The SQLite store through the binding: db_path, durability, idempotency
keys, state surviving close and reopen, and read-only opens."""

import pytest

import jobq

HEAD_TIMEOUT = "job-orchestrator.queue.head-timeout-seconds"


@pytest.fixture
def db(tmp_path):
    return tmp_path / "jobq.db"


def populate(s):
    s.define_job("nightly-etl", "analytics", request={"cpu": "2"})
    s.define_job("adhoc-report", "analytics", priority="high")
    return [s.submit("nightly-etl", run_name=f"etl-{n}") for n in range(3)] + \
        [s.submit("adhoc-report", run_name="q4-numbers")]


def test_idempotency_key_returns_the_same_run(make_scheduler, db):
    s = make_scheduler(db_path=db)
    s.define_job("nightly-etl", "analytics")
    first = s.submit("nightly-etl", idempotency_key="etl-2026-11-29")
    again = s.submit("nightly-etl", idempotency_key="etl-2026-11-29")
    other = s.submit("nightly-etl", idempotency_key="etl-2026-11-30")
    assert again == first and other != first
    assert s.list_runs() == [first, other]
    s.close()
    # The key is durable: a retry after a restart finds the same run.
    s = make_scheduler(db_path=str(db))
    assert s.submit("nightly-etl", idempotency_key="etl-2026-11-29") == first
    assert s.list_runs() == [first, other]


@pytest.mark.parametrize("durability", ["full", "normal"])
def test_queued_runs_survive_reopen_in_order(make_scheduler, db, durability):
    s = make_scheduler(db_path=db, durability=durability)
    ids = populate(s)
    s.close()

    s = make_scheduler(db_path=db, durability=durability)
    assert s.list_runs(state="queued") == ids
    normal = [s.run(i) for i in ids[:3]]
    assert [r.position for r in normal] == [0, 1, 2]
    assert [r.run_name for r in normal] == ["etl-0", "etl-1", "etl-2"]
    assert normal[0].request.cpu == 2000
    head = s.run(ids[3])
    assert (head.job, head.priority, head.position) == \
        ("adhoc-report", "high", 0)
    # New runs continue after the old ones.
    assert s.submit("nightly-etl") > ids[-1]


def test_runtime_property_survives_reopen(make_scheduler, db):
    s = make_scheduler(db_path=db)
    s.set_property(HEAD_TIMEOUT, 1234)
    s.close()
    # The stored value wins over the systemProperties a host starts with.
    s = make_scheduler(db_path=db, config={"systemProperties": {
        HEAD_TIMEOUT: 99}})
    assert s.get_property(HEAD_TIMEOUT) == 1234


def test_explain_with_a_database_has_the_event_log(make_scheduler, db):
    s = make_scheduler(db_path=db)
    ids = populate(s)
    doc = s.explain(ids[1])
    assert {"run", "state", "job", "namespace", "priority", "flow", "name",
            "submitted_at", "deployed_at", "ended_at", "queue", "blocked",
            "retries", "head_timeout_at", "estimated_start", "estimate_note",
            "events"} <= set(doc)
    assert (doc["run"], doc["state"], doc["name"]) == (ids[1], "queued",
                                                      "etl-1")
    assert doc["queue"] == {"position": 1, "length": 3, "ahead": 1}
    assert [e["event"] for e in doc["events"]] == ["submitted"]


def test_search_with_a_database(make_scheduler, db):
    s = make_scheduler(db_path=db)
    ids = populate(s)
    # The trigram index (3 characters or more) and the LIKE scan (fewer).
    assert s.search("ETL-") == ids[2::-1]
    assert s.search("numbers") == [ids[3]]
    assert s.search("q4") == [ids[3]]
    assert s.search("adhoc") == [ids[3]]            # by job name
    assert s.search("etl", limit=2) == [ids[2], ids[1]]
    assert s.search("zzz") == []


def test_submit_batch_with_a_database(make_scheduler, db):
    s = make_scheduler(db_path=db)
    s.define_job("etl", "analytics")
    ids = s.submit_batch([{"job": "etl", "idempotency_key": "a"},
                          {"job": "etl", "idempotency_key": "b"}])
    assert s.submit_batch([{"job": "etl", "idempotency_key": "b"}]) == ids[1:]
    s.close()
    s = make_scheduler(db_path=db)
    assert s.list_runs() == ids


def test_cleanup_with_a_database(make_scheduler, clock, db):
    s = make_scheduler(db_path=db, config={"services": {"jobOrchestrator": {
        "settings": {"jobRunCleanup": {"retentionPeriod": 60}}}}})
    s.define_job("etl", "analytics")
    ended = [s.submit("etl") for _ in range(3)]
    kept = s.submit("etl")
    for run in ended:
        s.cancel(run)
    clock.advance(61)
    assert s.cleanup(max_runs=2) == 2
    s.close()
    s = make_scheduler(db_path=db)
    assert s.cleanup() == 1
    assert s.list_runs() == [kept]


def test_read_only_sees_the_data_and_refuses_writes(make_scheduler, db):
    s = make_scheduler(db_path=db)
    ids = populate(s)
    s.set_property(HEAD_TIMEOUT, 777)
    s.close()

    with jobq.Scheduler.open_read_only(db) as ro:
        assert ro.read_only and not s.read_only
        assert ro.list_runs() == ids
        assert ro.run(ids[2]).position == 2
        assert ro.search("q4") == [ids[3]]
        assert ro.explain(ids[0])["queue"]["position"] == 0
        assert ro.get_property(HEAD_TIMEOUT) == 777
        assert 'priority="normal"} 3' in ro.metrics()
        writes = [
            lambda: ro.submit("nightly-etl"),
            lambda: ro.submit_batch(["nightly-etl"]),
            lambda: ro.cancel(ids[0]),
            lambda: ro.define_job("new", "analytics"),
            lambda: ro.set_property(HEAD_TIMEOUT, 1),
            lambda: ro.tick(),
            lambda: ro.cleanup(),
            lambda: ro.migrate_to_legacy(),
        ]
        for write in writes:
            with pytest.raises(jobq.StateError, match="read-only"):
                write()
    assert ro.closed

    # Nothing was written: a writer finds the state as it was.
    s = make_scheduler(db_path=db)
    assert s.list_runs(state="queued") == ids
    assert s.get_property(HEAD_TIMEOUT) == 777


def test_read_only_next_to_a_running_writer(make_scheduler, db):
    s = make_scheduler(db_path=db)
    ids = populate(s)
    # One writer at a time, but readers do not lock.
    with pytest.raises(jobq.BusyError):
        jobq.Scheduler(db_path=db)
    with jobq.Scheduler.open_read_only(str(db)) as ro:
        assert ro.list_runs() == ids
    more = s.submit("nightly-etl")
    with jobq.Scheduler.open_read_only(db) as ro:
        assert ro.list_runs()[-1] == more


def test_read_only_open_errors(tmp_path):
    with pytest.raises(jobq.NotFound):
        jobq.Scheduler.open_read_only(tmp_path / "missing.db")
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("hello\n" * 100)
    with pytest.raises(jobq.InvalidArgument):
        jobq.Scheduler.open_read_only(not_a_db)
    with pytest.raises(jobq.InvalidArgument):
        jobq.Scheduler.open_read_only(None)
