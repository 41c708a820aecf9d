"""Handle lifetime and threads: close() is idempotent, a dropped Scheduler
is freed at once (no reference cycle keeps it), a closed one refuses calls,
and several Python threads can share one Scheduler."""

import gc
import threading
import weakref

import pytest

import jobq


def test_close_is_idempotent_and_context_manager_closes():
    with jobq.Scheduler() as s:
        assert not s.closed
    assert s.closed
    s.close()
    s.close()
    assert s.closed


def test_closed_scheduler_refuses_calls():
    s = jobq.Scheduler()
    s.close()
    with pytest.raises(jobq.StateError, match="closed"):
        s.tick()
    with pytest.raises(jobq.StateError):
        s.define_job("j", "ns")


def test_dropped_scheduler_is_freed_without_gc():
    # Callbacks close over a host object, never over the Scheduler, so
    # reference counting alone frees it (and __del__ closes the handle).
    gc.disable()
    try:
        s = jobq.Scheduler(probe=lambda ns: ({}, {}), clock=lambda: 1,
                           on_event=lambda e: None,
                           deployer=type("D", (), {"deploy": lambda self, r: None})())
        s.define_job("j", "ns")
        s.submit("j")
        ref = weakref.ref(s)
        del s
        assert ref() is None
    finally:
        gc.enable()


def test_many_open_close_cycles():
    for i in range(200):
        with jobq.Scheduler(clock=lambda: 0, config={"systemProperties": {
                "job-orchestrator.queue.head-retry-count": i}}) as s:
            s.define_job("j", "ns")
            s.submit("j")
            assert s.get_property("job-orchestrator.queue.head-retry-count") == i


def test_threads_share_a_scheduler_and_get_their_own_errors():
    now = [0]
    lock = threading.Lock()

    def clock():
        with lock:
            now[0] += 1
            return now[0]

    with jobq.Scheduler(clock=clock) as s:
        s.define_job("j", "ns")
        submitted = []
        wrong = []

        def worker(n):
            for i in range(200):
                submitted.append(s.submit("j"))
                s.tick()
                # Each thread asks for a run only it knows is missing: the
                # message it gets must name its own id, even while other
                # threads fail too.
                missing = 10**9 + n * 1000 + i
                try:
                    s.run(missing)
                except jobq.NotFound as exc:
                    if str(exc) != f"no run with id {missing}":
                        wrong.append(str(exc))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert wrong == []
        assert len(set(submitted)) == 800
        s.tick()
        assert all(s.run(r).state == "running" for r in submitted)
