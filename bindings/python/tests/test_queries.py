"""The query and maintenance calls: metrics, explain, search, list_runs,
submit_batch and cleanup, in memory (the database versions are in
test_store.py)."""

import pytest

import jobq
from conftest import Cluster, NoPollDeployer


@pytest.fixture
def sched(make_scheduler):
    s = make_scheduler()
    s.define_job("nightly-etl", "analytics", request={"cpu": "2"})
    s.define_job("adhoc-report", "analytics", priority="high")
    s.define_job("train", "ml")
    return s


def test_metrics_is_prometheus_text(sched):
    sched.submit("nightly-etl")
    sched.submit("nightly-etl")
    text = sched.metrics()
    assert isinstance(text, str) and text.endswith("\n")
    assert "# TYPE jobq_queue_length gauge" in text
    assert ('jobq_queue_length{namespace="analytics",priority="normal"} 2'
            in text.splitlines())
    assert jobq.METRICS_CONTENT_TYPE.startswith("text/plain; version=0.0.4")


def test_explain_a_queued_run(sched):
    first = sched.submit("nightly-etl", run_name="etl-1")
    second = sched.submit("nightly-etl", run_name="etl-2")
    doc = sched.explain(second)
    assert {"run", "state", "job", "namespace", "priority", "flow", "name",
            "submitted_at", "deployed_at", "ended_at", "queue", "blocked",
            "retries", "head_timeout_at", "estimated_start",
            "estimate_note"} <= set(doc)
    assert doc["run"] == second and doc["state"] == "queued"
    assert doc["job"] == "nightly-etl" and doc["name"] == "etl-2"
    assert doc["namespace"] == "analytics" and doc["priority"] == "normal"
    assert doc["queue"] == {"position": 1, "length": 2, "ahead": 1}
    assert doc["deployed_at"] is None and doc["blocked"] is None
    # No database: no event log, and no estimate (with the reason why).
    assert "events" not in doc
    assert doc["estimated_start"] is None and "database" in doc["estimate_note"]
    assert sched.explain(first)["queue"]["position"] == 0


def test_explain_a_blocked_head_and_unknown_run(make_scheduler, clock):
    cluster = Cluster(clock, {"analytics": {"cpu": "1"}})
    s = make_scheduler(cluster)
    s.define_job("big", "analytics", request={"cpu": "2"})
    run = s.submit("big")
    s.tick()
    blocked = s.explain(run)["blocked"]
    assert blocked["resource"] == "cpu"
    assert blocked["requested"] == 2000 and blocked["available"] == 1000
    with pytest.raises(jobq.NotFound, match="12345"):
        s.explain(12345)


def test_search_by_substring(sched):
    etl = sched.submit("nightly-etl", run_name="Etl-2026-11-29")
    report = sched.submit("adhoc-report", run_name="q4 numbers")
    train = sched.submit("train", run_name="resnet-etl-features")
    # Run names and job names, case-insensitively, newest first.
    assert sched.search("ETL") == [train, etl]
    assert sched.search("report") == [report]
    assert sched.search("numb") == [report]
    assert sched.search("et", limit=1) == [train]
    assert sched.search("no such thing") == []
    with pytest.raises(jobq.InvalidArgument):
        sched.search("")
    with pytest.raises(jobq.InvalidArgument):
        sched.search("etl", limit=0)


def test_list_runs_filters(make_scheduler, clock):
    cluster = Cluster(clock, {"analytics": {}, "ml": {}})
    s = make_scheduler(cluster, deployer=NoPollDeployer(cluster))
    s.define_job("etl", "analytics")
    s.define_job("adhoc", "analytics", priority="high")
    s.define_job("train", "ml")
    ids = [s.submit(j) for j in ("etl", "adhoc", "train", "etl")]
    assert s.list_runs() == ids
    assert s.list_runs(namespace="ml") == [ids[2]]
    assert s.list_runs(namespace="analytics", priority="normal") == \
        [ids[0], ids[3]]
    assert s.list_runs(priority="high") == [ids[1]]
    assert s.list_runs(limit=2) == ids[2:]            # the newest
    s.cancel(ids[3])
    assert s.list_runs(state="cancelled") == [ids[3]]
    assert s.list_runs(state="queued") == ids[:3]
    assert s.list_runs(state=("queued", "cancelled"), limit=2) == \
        [ids[2], ids[3]]
    assert s.list_runs(namespace="nowhere") == []
    with pytest.raises(jobq.InvalidArgument, match="state"):
        s.list_runs(state="sleeping")
    with pytest.raises(jobq.InvalidArgument, match="priority"):
        s.list_runs(priority="urgent")


def test_submit_batch(sched):
    ids = sched.submit_batch([
        "nightly-etl",
        {"job": "adhoc-report", "run_name": "q4"},
        {"job": "train", "priority": "high", "request": {"cpu": "4"}},
    ])
    assert len(ids) == 3 and ids == sorted(ids)
    assert [sched.run(i).job for i in ids] == ["nightly-etl", "adhoc-report",
                                               "train"]
    assert sched.run(ids[1]).run_name == "q4"
    third = sched.run(ids[2])
    assert third.priority == "high" and third.request.cpu == 4000
    assert sched.submit_batch([]) == []


def test_submit_batch_is_all_or_nothing(sched):
    with pytest.raises(jobq.NotFound, match=r"runs\[1\]") as caught:
        sched.submit_batch(["nightly-etl", "no-such-job", "train"])
    # All or none: not even the run before the failing one is submitted.
    assert caught.value.submitted == []
    assert sched.list_runs() == []


def test_submit_batch_refuses_bad_items_before_calling(sched):
    with pytest.raises(jobq.InvalidArgument, match=r"runs\[1\]"):
        sched.submit_batch(["train", {"run_name": "no job"}])
    with pytest.raises(jobq.InvalidArgument, match=r"runs\[0\].*colour"):
        sched.submit_batch([{"job": "train", "colour": "red"}])
    with pytest.raises(jobq.InvalidArgument, match=r"runs\[0\]"):
        sched.submit_batch([42])
    with pytest.raises(jobq.InvalidArgument, match=r"runs\[0\].*priority"):
        sched.submit_batch([{"job": "train", "priority": "urgent"}])
    assert sched.list_runs() == []


def test_cleanup_deletes_old_terminal_runs(make_scheduler, clock):
    cluster = Cluster(clock, {"ns": {}})
    s = make_scheduler(cluster, deployer=NoPollDeployer(cluster), config={
        "services": {"jobOrchestrator": {"settings": {"jobRunCleanup": {
            "enabled": False, "retentionPeriod": 60}}}}})
    s.define_job("job", "ns")
    ids = [s.submit("job") for _ in range(3)]
    s.tick()
    for i in ids:
        cluster.finish(i)
        s.report(i, "finished")
    queued = s.submit("job")
    assert s.cleanup() == 0                     # not old enough yet
    clock.advance(61)
    assert s.cleanup(max_runs=1) == 1
    assert s.cleanup() == 2
    for i in ids:
        with pytest.raises(jobq.NotFound):
            s.run(i)
    assert s.list_runs() == [queued]            # never a live run
    with pytest.raises(jobq.InvalidArgument):
        s.cleanup(max_runs=0)
