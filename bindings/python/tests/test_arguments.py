"""The bad-argument table of issue 13: a wrong type raises TypeError (as
jobq.ArgumentTypeError, also an InvalidArgument), a bad value the library's
InvalidArgument, each naming the argument and no internal name; the id of
a committed run is never lost; times come and go as datetime too."""

from datetime import datetime, timedelta, timezone

import pytest

import jobq

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def s():
    with jobq.Scheduler(clock=lambda: 1000) as sched:
        sched.define_job("j", "ns")
        yield sched


# (call, expected exception, text the message must contain)
BAD_ARGUMENTS = [
    (lambda s: s.run("1"), TypeError, "run_id: expected an int run id, got '1'"),
    (lambda s: s.run(1.0), TypeError, "run_id"),
    (lambda s: s.run(True), TypeError, "run_id"),
    (lambda s: s.run(-1), jobq.InvalidArgument, "run_id: -1 is not a run id"),
    (lambda s: s.run(2**64), jobq.InvalidArgument, "run_id: 18446744073709551616"),
    (lambda s: s.cancel(None), TypeError, "run_id: expected an int run id, got None"),
    (lambda s: s.cancel(-5), jobq.InvalidArgument, "run_id: -5"),
    (lambda s: s.cancel(1, detail=3), TypeError, "detail: expected a str or None"),
    (lambda s: s.report("x", "finished"), TypeError, "run_id"),
    (lambda s: s.report(1, "done"), jobq.InvalidArgument, "state: 'done' is not one of"),
    (lambda s: s.report(1, 3), TypeError, "state: expected a str"),
    (lambda s: s.explain(None), TypeError, "run_id"),
    (lambda s: s.submit(None), TypeError, "job: expected a str, got None"),
    (lambda s: s.submit(b"j"), TypeError, "job: expected a str"),
    (lambda s: s.submit("j\0x"), jobq.InvalidArgument, "job: must not contain a NUL"),
    (lambda s: s.submit("j", priority="urgent"), jobq.InvalidArgument,
     "priority: 'urgent' is not one of high, normal"),
    (lambda s: s.submit("j", priority=1), TypeError, "priority: expected a str"),
    (lambda s: s.submit("j", run_name=7), TypeError, "run_name: expected a str"),
    (lambda s: s.submit("j", request="2 cpus"), TypeError, "resources:"),
    (lambda s: s.submit("j", request={"gpu": "1"}), jobq.InvalidArgument,
     "unknown dimension 'gpu'"),
    (lambda s: s.submit_batch(["j", {"job": "j", "bogus": 1}]), TypeError,
     "runs[1]: unknown key 'bogus' (the keys are job, run_name, request, "
     "priority, idempotency_key)"),
    (lambda s: s.submit_batch([{"run_name": "x"}]), jobq.InvalidArgument,
     'runs[0]: no "job"'),
    (lambda s: s.submit_batch(["j", 42]), TypeError,
     "runs[1]: expected a job name or a dict, got 42"),
    (lambda s: s.submit_batch([{"job": "j", "priority": "top"}]),
     jobq.InvalidArgument, "runs[0]: priority: 'top' is not one of"),
    (lambda s: s.submit_batch("j"), TypeError, "runs: expected a list"),
    (lambda s: s.define_job("k", "ns", priority=7), TypeError, "priority: expected a str"),
    (lambda s: s.define_job("k", "ns", flow="fast"), jobq.InvalidArgument, "flow: 'fast'"),
    (lambda s: s.define_job("k", None), TypeError, "namespace: expected a str"),
    (lambda s: s.define_job("k", "ns", payload="text"), TypeError, "payload: expected bytes"),
    (lambda s: s.set_job_flow("j", None), TypeError, "flow: expected a str"),
    (lambda s: s.list_runs(priority=5), TypeError, "priority: expected a str"),
    (lambda s: s.list_runs(priority="low"), jobq.InvalidArgument, "priority: 'low'"),
    (lambda s: s.list_runs(state=["queued", "lost"]), jobq.InvalidArgument, "state: 'lost'"),
    (lambda s: s.list_runs(state=99), TypeError, "state: expected a state name"),
    (lambda s: s.list_runs(limit=0), jobq.InvalidArgument, "limit: expected a positive int"),
    (lambda s: s.list_runs(limit="10"), TypeError, "limit: expected a positive int"),
    (lambda s: s.search(None), TypeError, "text: expected a str"),
    (lambda s: s.search(""), jobq.InvalidArgument, "text: the search text is empty"),
    (lambda s: s.cleanup(max_runs=-1), jobq.InvalidArgument, "max_runs"),
    (lambda s: s.tick(now="soon"), TypeError, "now: expected a datetime or int"),
    (lambda s: s.set_property("k", lambda: 1), TypeError,
     "k: the value cannot be sent as JSON"),
    (lambda s: s.get_property(None), TypeError, "key: expected a str"),
    (lambda s: s.configure(42), TypeError, "document: expected a str"),
    (lambda s: jobq.Scheduler(durability="sometimes"), jobq.InvalidArgument,
     "durability: 'sometimes'"),
    (lambda s: jobq.Scheduler(db_path=3), TypeError, "db_path: expected a str or a path"),
    (lambda s: jobq.parse_quantity(None, "cpu"), TypeError, "cpu: None is not a quantity"),
    (lambda s: jobq.parse_quantity("1", "gpu"), jobq.InvalidArgument, "resource: 'gpu'"),
]


@pytest.mark.parametrize("call,expected,says", BAD_ARGUMENTS)
def test_bad_argument(s, call, expected, says):
    with pytest.raises(expected) as info:
        call(s)
    exc = info.value
    # One family: every refusal is a JobqError with the EINVAL code, and a
    # wrong type is both a TypeError and an InvalidArgument.
    assert isinstance(exc, jobq.InvalidArgument)
    assert exc.code == jobq.InvalidArgument.code and exc.name == "JOBQ_EINVAL"
    assert isinstance(exc, TypeError) == (expected is TypeError)
    assert says in str(exc)
    assert "_fill" not in str(exc) and "cffi" not in str(exc)


def test_unknown_keyword_of_submit_is_pythons_own_type_error(s):
    with pytest.raises(TypeError, match=r"submit\(\) got an unexpected "
                                        r"keyword argument 'bogus'"):
        s.submit("j", bogus=1)


def test_refused_batch_submits_nothing(s):
    with pytest.raises(TypeError) as info:
        s.submit_batch(["j", "j", {"job": "j", "bogus": 1}])
    assert info.value.submitted == []
    assert s.list_runs() == []


def test_run_zero_is_not_found_like_any_unknown_id(s):
    with pytest.raises(jobq.NotFound, match="no run with id 0"):
        s.run(0)


# -------------------------------------------------- the run id is not lost

class Boom(Exception):
    pass


def raise_on(kind):
    def on_event(event):
        if event.type == kind:
            raise Boom(f"{kind} handler failed")
    return on_event


def test_submit_keeps_the_run_id_when_on_event_raises():
    with jobq.Scheduler(clock=lambda: 1000,
                        on_event=raise_on("submitted")) as s:
        s.define_job("j", "ns")
        with pytest.raises(Boom) as info:
            s.submit("j", run_name="nightly")
        run_id = info.value.run_id
        assert s.run(run_id).state == "queued"      # committed
        assert s.run(run_id).run_name == "nightly"
        assert s.list_runs() == [run_id]
        assert any(f"run {run_id} was submitted" in note
                   for note in info.value.__notes__)


def test_submit_keeps_the_run_id_with_a_database(tmp_path):
    with jobq.Scheduler(db_path=tmp_path / "q.db",
                        on_event=raise_on("submitted")) as s:
        s.define_job("j", "ns")
        with pytest.raises(Boom) as info:
            s.submit("j", idempotency_key="k1")
        run_id = info.value.run_id
    with jobq.Scheduler(db_path=tmp_path / "q.db") as s:
        assert s.submit("j", idempotency_key="k1") == run_id  # durable


def test_a_failed_submit_has_no_run_id():
    with jobq.Scheduler(clock=lambda: 1000,
                        on_event=raise_on("submitted")) as s:
        with pytest.raises(jobq.NotFound) as info:
            s.submit("nope")
        assert not hasattr(info.value, "run_id")


def test_submit_batch_keeps_every_id_when_on_event_raises():
    with jobq.Scheduler(clock=lambda: 1000,
                        on_event=raise_on("submitted")) as s:
        s.define_job("j", "ns")
        with pytest.raises(Boom) as info:
            s.submit_batch(["j", "j", "j"])
        assert len(info.value.submitted) == 3
        assert s.list_runs() == info.value.submitted


# ------------------------------------------------------------------- time

def test_datetimes_in_and_out():
    now = {"t": T0}
    events = []
    with jobq.Scheduler(clock=lambda: now["t"], on_event=events.append) as s:
        s.define_job("j", "ns")
        run_id = s.submit("j")
        now["t"] = T0 + timedelta(seconds=90)
        s.tick(now["t"])
        info = s.run(run_id)
        assert info.submitted == T0 and info.submitted_at == jobq.to_ms(T0, "t")
        assert info.deployed == T0 + timedelta(seconds=90)
        assert info.ended is None and info.deployed_at is not None
        deployed = [e for e in events if e.type == "deployed"][0]
        assert deployed.wait == timedelta(seconds=90)
        assert deployed.at == info.deployed
        deadline = s.next_deadline_time()
        assert deadline is None or deadline == jobq.to_datetime(s.next_deadline())
        s.tick(int(jobq.to_ms(now["t"], "now")) + 1000)  # int ms still work


def test_time_conversions_are_exact():
    t = datetime(2026, 11, 29, 2, 0, 0, 123000, tzinfo=timezone.utc)
    assert jobq.to_ms(t, "t") == 1795917600123
    assert jobq.to_datetime(1795917600123) == t
    assert jobq.to_ms(1234, "t") == 1234
    naive = datetime(2026, 11, 29, 2, 0)
    assert jobq.to_ms(naive, "t") == round(naive.timestamp() * 1000)


def test_run_id_kept_through_a_subclass_wrapping_call():
    # jobq.Client (the live-control client) wraps _call(name, *args).
    class Wrapped(jobq.Scheduler):
        def _call(self, name, *args):
            return super()._call(name, *args)

    with Wrapped(clock=lambda: 1000, on_event=raise_on("submitted")) as s:
        s.define_job("j", "ns")
        with pytest.raises(Boom) as info:
            s.submit("j")
        assert s.run(info.value.run_id).state == "queued"
