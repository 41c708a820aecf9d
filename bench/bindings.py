"""The bindings benchmark, Python side: bench/bindings.c's workload through
the Python binding (see there). Prints the medians of 3, "name wall-rate
cpu-rate" per line, in operations per second of wall and CPU time.

    python3 bench/bindings.py [RUNS]      (JOBQ_LIBRARY picks the library)
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bindings",
                                "python"))
import jobq  # noqa: E402

NAMESPACES = 8
JOBS = [f"job-{j // 2}-{j % 2}" for j in range(NAMESPACES * 2)]
BATCH = 1000
TICKS = 200
REPEAT = 3
UNLIMITED = jobq.Resources(*(jobq.UNLIMITED,) * 4)
NOTHING = jobq.Resources()


class Deployer:
    def deploy(self, req):
        return None


def open_scheduler():
    s = jobq.Scheduler(probe=lambda ns: (UNLIMITED, NOTHING),
                       deployer=Deployer(),
                       config={"services": {"jobOrchestrator": {
                           "settings": {"batchSize": 20}}}})
    for j, name in enumerate(JOBS):
        s.define_job(name, f"ns-{j // 2}",
                     priority=("high", "normal")[j % 2],
                     request={"cpu": "1"})
    return s


class Stopwatch:
    """Wall and process CPU time since it was made."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def rates(self, ops):
        return (ops / (time.perf_counter() - self.wall),
                ops / (time.process_time() - self.cpu))


def submit_rate(runs):
    with open_scheduler() as s:
        jobs = JOBS * (runs // len(JOBS) + 1)
        t0 = Stopwatch()
        for i in range(runs):
            s.submit(jobs[i])
        return t0.rates(runs)


def batch_submit(s, runs):
    jobs = JOBS * (runs // len(JOBS) + 1)
    t0 = Stopwatch()
    for done in range(0, runs, BATCH):
        s.submit_batch(jobs[done:min(done + BATCH, runs)])
    return t0.rates(runs)


def batch_rate(runs):
    with open_scheduler() as s:
        return batch_submit(s, runs)


def tick_rate(runs):
    with open_scheduler() as s:
        batch_submit(s, runs)
        now = 1000
        s.tick(now)
        t0 = Stopwatch()
        for _ in range(TICKS):
            now += 1000
            if s.tick(now).deployed != 20:
                raise SystemExit("a tick did not deploy 20 runs")
        return t0.rates(TICKS)


def one_batch_rate(runs):
    with open_scheduler() as s:
        jobs = (JOBS * (runs // len(JOBS) + 1))[:runs]
        t0 = Stopwatch()
        s.submit_batch(jobs)
        return t0.rates(runs)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    for name, measure in (("submit", submit_rate), ("batch", batch_rate),
                          ("tick", tick_rate), ("onebatch", one_batch_rate)):
        got = [measure(runs) for _ in range(REPEAT)]
        wall = statistics.median(r[0] for r in got)
        cpu = statistics.median(r[1] for r in got)
        print(f"{name} {wall:.0f} {cpu:.0f}")


if __name__ == "__main__":
    main()
