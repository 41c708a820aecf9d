"""Fakes shared by the tests: a virtual clock and a fake cluster that plays
both the probe (quota per namespace, `used` = what it runs) and the
deployer (launches, optional quota rejections and failures, completions by
duration). Nothing here talks to Kubernetes; hours pass in microseconds."""

import os
import sys

import pytest

# Import the package from this checkout, not an installed copy.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jobq  # noqa: E402


class Clock:
    """Virtual milliseconds; the scheduler reads them through clock=."""

    def __init__(self):
        self.ms = 0

    def __call__(self):
        return self.ms

    def advance(self, seconds):
        self.ms += int(seconds * 1000)
        return self.ms


class Cluster:
    """A fake cluster. quotas: {namespace: {'cpu': '8', ...}}. A run is
    live from deploy() until poll() sees its duration elapsed (or report()
    is used, for a deployer built with poll=False)."""

    def __init__(self, clock, quotas, duration_s=None):
        self.clock = clock
        self.quotas = {ns: jobq.Resources.of(q, default=jobq.UNLIMITED)
                       for ns, q in quotas.items()}
        self.duration_ms = None if duration_s is None else duration_s * 1000
        self.live = {}            # run_id -> (DeployRequest, deployed at)
        self.deployed = []        # DeployRequests in deployment order
        self.reject_quota = {}    # run_id -> how many deploys to refuse
        self.fail_deploy = {}     # run_id -> how many deploys to fail
        self.cancelled = []

    # probe
    def read_quota(self, namespace):
        used = [0, 0, 0, 0]
        for req, _ in self.live.values():
            if req.namespace == namespace:
                for i, kind in enumerate(jobq.RESOURCES):
                    used[i] += getattr(req.request, kind)
        return self.quotas[namespace], jobq.Resources(*used)

    # deployer
    def deploy(self, req):
        if self.reject_quota.get(req.run_id, 0) > 0:
            self.reject_quota[req.run_id] -= 1
            return jobq.QUOTA_REJECTED
        if self.fail_deploy.get(req.run_id, 0) > 0:
            self.fail_deploy[req.run_id] -= 1
            raise jobq.DeployError("admission webhook said no")
        self.live[req.run_id] = (req, self.clock.ms)
        self.deployed.append(req)
        return None

    def cancel(self, run_id):
        self.cancelled.append(run_id)
        self.live.pop(run_id, None)

    def poll(self, run_id):
        req, at = self.live[run_id]
        if self.duration_ms is not None and self.clock.ms - at >= self.duration_ms:
            del self.live[run_id]
            return "finished", "done"
        return "running"

    def finish(self, run_id):
        """For hosts that report completions themselves."""
        del self.live[run_id]


class NoPollDeployer:
    """The cluster's deploy/cancel without poll: the host calls report()."""

    def __init__(self, cluster):
        self.cluster = cluster

    def deploy(self, req):
        return self.cluster.deploy(req)

    def cancel(self, run_id):
        return self.cluster.cancel(run_id)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def events():
    return []


@pytest.fixture
def make_scheduler(clock, events):
    """make_scheduler(cluster=None, **kwargs) -> an open Scheduler wired to
    the clock, the cluster (probe and deployer) and the events list; every
    one is closed (and checked closed) at the end of the test."""
    opened = []

    def make(cluster=None, **kwargs):
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("on_event", events.append)
        if cluster is not None:
            kwargs.setdefault("probe", cluster.read_quota)
            kwargs.setdefault("deployer", cluster)
        s = jobq.Scheduler(**kwargs)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()
        assert s.closed


def of_type(events, kind):
    return [e for e in events if e.type == kind]


# ---------------------------------------------------------------- TAP lines
# Under meson (JOBQ_TAP=1) the run ends with one TAP line per test so that
# scripts/summarize-tests.py counts Python tests one by one, like the Check
# suites, instead of counting the whole pytest run as a single test.

_tap_results = []


def pytest_runtest_logreport(report):
    if os.environ.get("JOBQ_TAP") != "1":
        return
    if report.when == "call" or (report.when != "call" and not report.passed):
        _tap_results.append((report.nodeid, report.outcome))


def pytest_terminal_summary(terminalreporter):
    if os.environ.get("JOBQ_TAP") != "1":
        return
    seen = {}
    for nodeid, outcome in _tap_results:
        # A failing teardown after a passing call makes the test fail.
        if seen.get(nodeid) in (None, "passed"):
            seen[nodeid] = outcome
    terminalreporter.write_line(f"1..{len(seen)}")
    for n, (nodeid, outcome) in enumerate(seen.items(), 1):
        status = {"passed": "ok", "skipped": "ok"}.get(outcome, "not ok")
        skip = " # SKIP" if outcome == "skipped" else ""
        terminalreporter.write_line(f"{status} {n} - {nodeid}{skip}")
