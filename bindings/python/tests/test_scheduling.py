"""The scheduling rules of SPEC section 2, driven from Python through fake
hosts: what the binding must carry across faithfully."""

import pytest
from conftest import Cluster, NoPollDeployer, of_type

import jobq


def test_head_of_line_blocking_and_blocked_reason(make_scheduler, clock, events):
    cluster = Cluster(clock, {"analytics": {"cpu": "8", "memory": "32Gi"}})
    s = make_scheduler(cluster)
    s.define_job("big", "analytics", request={"cpu": "6", "memory": "8Gi"})
    s.define_job("small", "analytics", request={"cpu": "1", "memory": "1Gi"})
    first = s.submit("big")
    second = s.submit("big")
    behind = s.submit("small")

    stats = s.tick()

    assert (stats.deployed, stats.blocked, stats.queued) == (1, 1, 2)
    assert s.run(first).state == "running"
    head = s.run(second)
    assert head.state == "queued" and head.position == 0
    assert head.blocked == jobq.Blocked("cpu", 6000, 2000, clock.ms)
    # The small run would fit in the 2 cores left, yet it waits behind the
    # blocked head: nothing overtakes a head.
    assert s.run(behind).position == 1 and s.run(behind).blocked is None
    assert [r.run_id for r in cluster.deployed] == [first]
    [blocked] = of_type(events, "blocked")
    assert (blocked.run, blocked.resource, blocked.requested,
            blocked.available) == (second, "cpu", 6000, 2000)


def test_blocked_reports_first_short_dimension_in_order(make_scheduler, clock):
    # Short on memory and pods, not cpu: memory comes first in the order
    # cpu, memory, pods, storage.
    cluster = Cluster(clock, {"ns": {"cpu": "10", "memory": "1Gi", "pods": 1}})
    s = make_scheduler(cluster)
    s.define_job("j", "ns", request={"cpu": "1", "memory": "2Gi", "pods": 2})
    run = s.submit("j")
    s.tick()
    assert s.run(run).blocked.resource == "memory"
    assert s.run(run).blocked.requested == 2 * 1024**3
    assert s.run(run).blocked.available == 1024**3


def test_namespaces_are_isolated(make_scheduler, clock):
    cluster = Cluster(clock, {"a": {"cpu": "1"}, "b": {"cpu": "4"}})
    s = make_scheduler(cluster)
    s.define_job("ja", "a", request={"cpu": "2"})
    s.define_job("jb", "b", request={"cpu": "2"})
    blocked = s.submit("ja")
    other = s.submit("jb")
    s.tick()
    assert s.run(blocked).blocked.resource == "cpu"
    assert s.run(other).state == "running"


def test_runs_end_through_poll_and_free_quota(make_scheduler, clock, events):
    cluster = Cluster(clock, {"ns": {"cpu": "2"}}, duration_s=60)
    s = make_scheduler(cluster)
    s.define_job("j", "ns", request={"cpu": "2"})
    first, second = s.submit("j"), s.submit("j")
    s.tick()
    assert s.run(second).blocked is not None
    clock.advance(60)
    stats = s.tick()
    assert stats.finished == 1 and stats.deployed == 1
    done = s.run(first)
    assert done.state == "finished" and done.detail == "done"
    assert done.ended_at == clock.ms
    assert s.run(second).state == "running"
    assert s.run(second).deployed_at - s.run(second).submitted_at == 60_000
    assert of_type(events, "deployed")[-1].wait_ms == 60_000


def test_report_ends_runs_without_poll(make_scheduler, clock):
    cluster = Cluster(clock, {"ns": {"cpu": "2"}})
    s = make_scheduler(cluster, deployer=NoPollDeployer(cluster))
    s.define_job("j", "ns", request={"cpu": "2"})
    first, second = s.submit("j"), s.submit("j")
    s.tick()
    cluster.finish(first)
    s.report(first, "failed", "OOMKilled")
    clock.advance(1)
    s.tick()
    assert (s.run(first).state, s.run(first).detail) == ("failed", "OOMKilled")
    assert s.run(second).state == "running"


def test_weighted_round_robin_share_over_many_cycles(make_scheduler, clock):
    # Unlimited quota, one deployment per cycle, both queues kept non-empty:
    # high must get exactly its share of every window of 10 deployments.
    cluster = Cluster(clock, {"ns": {}})
    s = make_scheduler(cluster, config={
        "services": {"jobOrchestrator": {"settings": {"batchSize": 1}}},
        "systemProperties": {
            "job-orchestrator.queue.high.scheduling-share-percentage": 70}})
    s.define_job("hi", "ns", priority="high")
    s.define_job("lo", "ns", priority="normal")
    for _ in range(200):
        s.submit("hi")
        s.submit("lo")
    for _ in range(200):
        s.tick()
        clock.advance(1)
    priorities = [r.priority for r in cluster.deployed]
    assert len(priorities) == 200
    assert priorities.count("high") == 140
    for start in range(0, 200, 10):
        window = priorities[start:start + 10]
        assert abs(window.count("high") - 7) <= 1, (start, window)


def test_priority_override_at_submit(make_scheduler, clock):
    cluster = Cluster(clock, {"ns": {}})
    s = make_scheduler(cluster)
    s.define_job("j", "ns", priority="normal")
    run = s.submit("j", run_name="urgent-backfill", priority="high",
                   request={"cpu": "500m"})
    info = s.run(run)
    assert (info.priority, info.run_name, info.request.cpu) == \
        ("high", "urgent-backfill", 500)


def test_head_timeout_retries_then_cancels(make_scheduler, clock, events):
    cluster = Cluster(clock, {"ns": {"cpu": "1"}})
    s = make_scheduler(cluster, config={"systemProperties": {
        "job-orchestrator.queue.head-timeout-seconds": 60,
        "job-orchestrator.queue.head-retry-count": 1}})
    s.define_job("huge", "ns", request={"cpu": "4"})
    s.define_job("tiny", "ns", request={"cpu": "1"})
    stuck = s.submit("huge")
    next_up = s.submit("tiny")
    s.tick()
    assert s.next_deadline() == 60_000
    assert s.run(stuck).head_timeout_at == 60_000

    clock.advance(60)
    assert s.tick().timeouts_retried == 1
    assert of_type(events, "head_timeout_retry")[0].retry == 1
    assert s.run(stuck).retries_used == 1 and s.run(stuck).retries_left == 0

    clock.advance(60)
    assert s.tick().timeouts_cancelled == 1
    gone = s.run(stuck)
    assert (gone.state, gone.reason) == ("cancelled", "head_timeout")
    assert "cpu" in gone.detail
    [cancelled] = of_type(events, "cancelled")
    assert cancelled.run == stuck and cancelled.reason == "head_timeout"
    # The next run became head and, fitting, was deployed.
    assert s.run(next_up).state == "running"


def test_stale_quota_puts_run_back_at_head(make_scheduler, clock, events):
    cluster = Cluster(clock, {"ns": {"cpu": "8"}})
    s = make_scheduler(cluster)
    s.define_job("j", "ns", request={"cpu": "1"})
    rejected = s.submit("j")
    behind = s.submit("j")
    cluster.reject_quota[rejected] = 1

    stats = s.tick()

    assert stats.rescheduled == 1 and stats.deployed == 0
    assert s.run(rejected).state == "queued" and s.run(rejected).position == 0
    # The queue sat out the rest of the cycle: the run behind did not move.
    assert s.run(behind).state == "queued"
    [event] = of_type(events, "rescheduled")
    assert (event.run, event.reason) == (rejected, "stale_quota")

    clock.advance(1)
    s.tick()
    assert [r.run_id for r in cluster.deployed] == [rejected, behind]


def test_deploy_error_is_retried_with_the_deployers_message(make_scheduler,
                                                             clock, events):
    cluster = Cluster(clock, {"ns": {}})
    s = make_scheduler(cluster)
    s.define_job("j", "ns")
    run = s.submit("j")
    cluster.fail_deploy[run] = 1
    s.tick()
    [retry] = of_type(events, "deploy_retry")
    assert retry.detail == "admission webhook said no" and retry.retry == 1
    assert s.next_deadline() > clock.ms
    clock.ms = s.next_deadline()
    s.tick()
    assert s.run(run).state == "running" and s.run(run).deploy_attempts == 2


def test_legacy_flow_bypasses_queue_and_quota(make_scheduler, clock):
    cluster = Cluster(clock, {"ns": {"cpu": "0"}})
    s = make_scheduler(cluster)
    s.define_job("old", "ns", flow="legacy", request={"cpu": "4"},
                 payload=b"apiVersion: sparkoperator.k8s.io/v1beta2")
    run = s.submit("old")
    # Deployed inside submit(), no tick, no resource check.
    info = s.run(run)
    assert (info.state, info.flow) == ("running", "legacy")
    assert cluster.deployed[0].payload == b"apiVersion: sparkoperator.k8s.io/v1beta2"


def test_migrate_to_legacy_moves_queued_runs(make_scheduler, clock, events):
    cluster = Cluster(clock, {"ns": {"cpu": "1"}})
    s = make_scheduler(cluster)
    s.define_job("j", "ns", request={"cpu": "2"})
    runs = [s.submit("j") for _ in range(3)]
    s.tick()
    assert all(s.run(r).state == "queued" for r in runs)

    assert s.migrate_to_legacy() == 3

    assert all(s.run(r).state == "running" and s.run(r).flow == "legacy"
               for r in runs)
    s.set_property("features.jobOrchestrator.enabled", False)
    assert s.get_property("features.jobOrchestrator.enabled") is False


def test_set_job_flow_to_legacy_deploys_its_queue(make_scheduler, clock):
    cluster = Cluster(clock, {"ns": {"cpu": "0"}})
    s = make_scheduler(cluster)
    s.define_job("j", "ns", request={"cpu": "1"})
    run = s.submit("j")
    s.set_job_flow("j", "legacy")
    assert s.run(run).state == "running"


def test_cancel_queued_run_records_detail(make_scheduler, clock, events):
    cluster = Cluster(clock, {"ns": {"cpu": "0"}})
    s = make_scheduler(cluster)
    s.define_job("j", "ns", request={"cpu": "1"})
    run = s.submit("j")
    s.cancel(run, "superseded by a newer run")
    info = s.run(run)
    assert info.state == "cancelled" and info.terminal
    assert info.detail == "superseded by a newer run"
    assert of_type(events, "cancelled")[0].run == run


def test_cancel_running_run_goes_through_deployer(make_scheduler, clock):
    cluster = Cluster(clock, {"ns": {}})
    s = make_scheduler(cluster)
    s.define_job("j", "ns")
    run = s.submit("j")
    s.tick()
    s.cancel(run)
    assert cluster.cancelled == [run]
    assert s.run(run).state == "cancelled"


def test_tick_with_explicit_time_and_no_hosts(make_scheduler):
    # No probe: unlimited; no deployer: dry run, marked deployed.
    s = jobq.Scheduler()
    try:
        s.define_job("j", "ns", request={"cpu": "1000"})
        run = s.submit("j")
        stats = s.tick(now=s.run(run).submitted_at + 5)
        assert stats.deployed == 1 and s.run(run).state == "running"
    finally:
        s.close()


def test_tick_batch_submits_and_reports_with_the_cycle(make_scheduler, clock,
                                                       events):
    cluster = Cluster(clock, {"ns": {}})
    s = make_scheduler(cluster)
    s.define_job("j", "ns")
    first = s.submit("j")
    s.tick()
    events.clear()
    stats, ids = s.tick_batch(submit=["j", {"job": "j", "run_name": "x"}],
                              ended=[(first, "failed", "OOMKilled")])
    assert len(ids) == 2 and ids[0] > first
    assert s.run(ids[1]).run_name == "x"
    assert stats.deployed == 2
    assert s.run(first).state == "failed"
    assert s.run(first).detail == "OOMKilled"
    # The submits' events, the report's, then the cycle's.
    assert [(e.type, e.run) for e in events] == [
        ("submitted", ids[0]), ("submitted", ids[1]), ("failed", first),
        ("deployed", ids[0]), ("deployed", ids[1])]


def test_tick_batch_bad_item_changes_nothing(make_scheduler, clock):
    cluster = Cluster(clock, {"ns": {}})
    s = make_scheduler(cluster)
    s.define_job("j", "ns")
    first = s.submit("j")
    s.tick()
    with pytest.raises(jobq.InvalidArgument) as info:
        s.tick_batch(submit=["j"], ended=[(first, "queued")])
    assert "report: runs[0]" in str(info.value)
    assert info.value.submitted == []
    with pytest.raises(jobq.NotFound) as info:
        s.tick_batch(submit=["j", "nope"])
    assert "submit: runs[1]" in str(info.value)
    assert s.run(first).state == "running"
    assert s.list_runs() == [first]
    with pytest.raises(jobq.ArgumentTypeError):
        s.tick_batch(ended=[first])


def test_report_batch_all_or_nothing(make_scheduler, clock):
    cluster = Cluster(clock, {"ns": {}})
    s = make_scheduler(cluster)
    s.define_job("j", "ns")
    a, b = s.submit("j"), s.submit("j")
    s.tick()
    with pytest.raises(jobq.JobqError) as info:
        s.report_batch([(a, "finished"), (b, "finished"), (a, "failed")])
    assert "twice" in str(info.value)
    assert s.run(a).state == "running"
    s.report_batch([(a, "finished"), (b, "failed", "lost")])
    assert s.run(a).state == "finished" and s.run(b).detail == "lost"
