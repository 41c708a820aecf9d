#!/usr/bin/python3
"""The Grafana dashboard, unchanged, against jobq-k8s-host itself: the host
runs against fake_apiserver.py (runs deploy, finish, a head blocks and
times out), a real Prometheus scrapes its /metrics every second, and every
PromQL expression of the dashboard must return data, the counters and
histograms included (jobq-exporter --store cannot show those).

    host_dashboard_test.py JOBQ-K8S-HOST DASHBOARD.json
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HOST, DASHBOARD = sys.argv[1], sys.argv[2]
# dashboard_test.py reads its own arguments when imported.
sys.argv = [sys.argv[0], "unused-exporter", "unused-scenario", DASHBOARD]
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "console"))
import dashboard_test as dt  # noqa: E402
from harness import Children, Tap, http, need_program, wait_for  # noqa: E402
import console_env as ce  # noqa: E402


def promtool_accepts(base):
    import subprocess
    status, _, body = http("GET", base + "/metrics")
    assert status == 200
    r = subprocess.run(["promtool", "check", "metrics"], input=body,
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    for family in ("jobq_queue_length", "jobq_queue_head_blocked",
                   "jobq_runs_total", "jobq_wait_seconds_bucket",
                   "jobq_head_timeouts_total", "jobq_allocated_cpu_cores",
                   "jobq_quota_cpu_cores", "jobq_cycle_duration_seconds"):
        assert family.encode() in body, family


def main():
    prometheus = need_program("/usr/bin/prometheus")
    need_program("promtool")
    tap = Tap()
    board, queries, variables = dt.dashboard_queries(DASHBOARD)
    # The ml-team head times out every 2 s (2 retries, then cancelled).
    env, host, base = ce.start(HOST, small_runs=60, head_timeout=2)
    try:
        with Children("jobq-host-dashboard-") as children:
            tap.check("promtool accepts the host's /metrics, every SPEC 5 "
                      "family present", promtool_accepts, base)
            _, prom = dt.start_prometheus(children, prometheus,
                                          base[len("http://"):])
            started = time.monotonic()
            wait_for(dt.enough_scrapes(prom, 8), 40, "8 successful scrapes")
            print(f"# 8 scrapes after {time.monotonic() - started:.1f} s",
                  flush=True)
            tap.check("the scrape target is up", dt.returns_data, prom,
                      'up{job="jobq"} == 1')
            for variable in variables:
                tap.check(f"variable ${variable['name']}",
                          dt.label_values_query, prom, variable)
            for title, expr in queries:
                tap.check(f"{title}: {expr}", dt.returns_data, prom, expr)
            tap.check("wait percentiles are numbers, not NaN",
                      dt.wait_percentiles_are_numbers, prom)
    finally:
        env.close()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
