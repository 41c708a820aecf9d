"""Python hosts behind the C vtables: data crosses correctly, a Python
exception raised in a callback comes back out of the library call that
triggered it, and a callback calling back into its scheduler gets
BusyError instead of a deadlock."""

import gc

import pytest
from conftest import Cluster, of_type

import jobq


def test_deploy_request_carries_the_run(make_scheduler, clock):
    cluster = Cluster(clock, {"ns": {}})
    s = make_scheduler(cluster)
    s.define_job("etl", "ns", domain="finance", priority="high",
                 request={"cpu": "2", "memory": "8Gi", "pods": 3,
                          "storage": "10Gi"}, payload=b"\x00manifest\xff")
    run = s.submit("etl", run_name="etl-2026-11-29")
    s.tick()
    [req] = cluster.deployed
    assert (req.run_id, req.run_name, req.job, req.domain, req.namespace,
            req.priority, req.flow, req.attempt) == \
        (run, "etl-2026-11-29", "etl", "finance", "ns", "high", "priority", 1)
    assert req.request == jobq.Resources(2000, 8 * 1024**3, 3, 10 * 1024**3)
    assert req.payload == b"\x00manifest\xff"


def test_events_arrive_in_order_with_fields(make_scheduler, clock, events):
    clock.ms = 7000
    s = make_scheduler(Cluster(clock, {"ns": {}}))
    s.define_job("j", "ns", domain="d")
    run = s.submit("j", run_name="r")
    s.tick()
    assert [(e.type, e.run) for e in events] == [("submitted", run),
                                                 ("deployed", run)]
    assert all((e.job, e.domain, e.namespace, e.run_name, e.time) ==
               ("j", "d", "ns", "r", 7000) for e in events)


def test_probe_and_clock_may_be_objects(make_scheduler):
    class Probe:
        def read_quota(self, namespace):
            return {"cpu": "1"}, {"cpu": "1"}

    class Clock:
        def now_ms(self):
            return 123_000

    s = make_scheduler(probe=Probe(), clock=Clock())
    s.define_job("j", "ns", request={"cpu": "100m"})
    run = s.submit("j")
    s.tick()
    info = s.run(run)
    assert info.submitted_at == 123_000
    assert (info.blocked.resource, info.blocked.available) == ("cpu", 0)


def test_probe_returning_none_skips_the_namespace(make_scheduler):
    answers = [None, ({}, {})]
    s = make_scheduler(probe=lambda ns: answers.pop(0))
    s.define_job("j", "ns")
    run = s.submit("j")
    assert s.tick(now=1).probe_errors == 1
    assert s.run(run).state == "queued"
    assert s.tick(now=2).deployed == 1


def test_probe_exception_is_reraised_from_tick(make_scheduler):
    def probe(namespace):
        raise KeyError(f"no quota for {namespace}")

    s = make_scheduler(probe=probe)
    s.define_job("j", "ns")
    run = s.submit("j")
    with pytest.raises(KeyError, match="no quota for ns") as info:
        s.tick(now=1)
    assert "during jobq_tick" in info.value.__notes__[0]
    # The library saw a failing probe: the run waits, nothing is lost.
    assert s.run(run).state == "queued"
    # The exception is raised once, not again by the next call.
    assert s.run(run).state == "queued"


def test_deployer_exception_is_reraised_and_run_retried(make_scheduler, clock,
                                                        events):
    class Broken:
        def deploy(self, req):
            raise RuntimeError("bug in the deployer")

    s = make_scheduler(deployer=Broken())
    s.define_job("j", "ns")
    run = s.submit("j")
    with pytest.raises(RuntimeError, match="bug in the deployer"):
        s.tick()
    [retry] = of_type(events, "deploy_retry")
    assert retry.run == run
    assert retry.detail == ("RuntimeError in a Python callback: "
                            "bug in the deployer")
    assert s.run(run).state == "queued"


def test_deploy_error_is_not_reraised(make_scheduler, clock):
    class Refusing:
        def deploy(self, req):
            raise jobq.DeployError("namespace is terminating")

    s = make_scheduler(deployer=Refusing())
    s.define_job("j", "ns")
    run = s.submit("j")
    s.tick()  # no exception: an ordinary failure, retried by the library
    assert s.run(run).deploy_attempts == 1


def test_event_sink_exception_is_reraised_after_the_call_took_effect(
        make_scheduler):
    def sink(event):
        raise ValueError(f"sink rejects {event.type}")

    s = make_scheduler(on_event=sink)
    s.define_job("j", "ns")
    with pytest.raises(ValueError, match="sink rejects submitted"):
        s.submit("j")
    assert s.run(1).state == "queued"  # the submit itself happened


def test_clock_exception_is_reraised(make_scheduler):
    def clock():
        raise OSError("clock source unavailable")

    s = make_scheduler(clock=clock)
    with pytest.raises(OSError, match="clock source unavailable"):
        s.tick()


def test_bad_poll_answer_is_reraised(make_scheduler, clock):
    class Odd:
        def deploy(self, req):
            return None

        def poll(self, run_id):
            return "exploded"

    s = make_scheduler(deployer=Odd())
    s.define_job("j", "ns")
    run = s.submit("j")
    s.tick()
    with pytest.raises(ValueError):
        s.tick()
    assert s.run(run).state == "running"  # an unknown answer changes nothing


def test_reentrant_call_from_callback_raises_busy(make_scheduler):
    seen = []

    def sink(event):
        try:
            holder[0].run(event.run)
        except jobq.BusyError as exc:
            seen.append(exc)

    holder = [None]
    s = holder[0] = make_scheduler(on_event=sink)
    s.define_job("j", "ns")
    run = s.submit("j")
    assert len(seen) == 1
    assert seen[0].code == jobq.errors.EBUSY
    assert "re-entrant" in str(seen[0])
    assert s.run(run).state == "queued"  # the handle is still usable


def test_uncaught_busy_error_propagates_out_of_the_outer_call(make_scheduler):
    holder = []
    s = make_scheduler(on_event=lambda event: holder[0].tick())
    holder.append(s)
    s.define_job("j", "ns")
    with pytest.raises(jobq.BusyError):
        s.submit("j")


def test_close_from_callback_is_refused(make_scheduler):
    holder = []
    errors_seen = []

    def sink(event):
        try:
            holder[0].close()
        except jobq.BusyError as exc:
            errors_seen.append(exc)

    s = make_scheduler(on_event=sink)
    holder.append(s)
    s.define_job("j", "ns")
    s.submit("j")
    assert len(errors_seen) == 1 and not s.closed
    s.close()
    assert s.closed


def test_callbacks_stay_alive_with_no_other_reference(make_scheduler, clock):
    calls = []

    def make_probe():
        return lambda ns: calls.append(ns) or ({}, {})

    # Nothing but the Scheduler refers to the lambda or its cffi callback.
    s = make_scheduler(probe=make_probe(), clock=lambda: 5)
    gc.collect()
    s.define_job("j", "ns")
    s.submit("j")
    assert s.tick().deployed == 1
    assert calls == ["ns"]


def test_bad_probe_answer_surfaces_as_the_parse_error(make_scheduler):
    s = make_scheduler(probe=lambda ns: ({"memory": "512m"}, {}))
    s.define_job("j", "ns")
    run = s.submit("j")
    with pytest.raises(jobq.ParseError, match="512Mi"):
        s.tick(now=1)
    assert s.run(run).state == "queued"
