#!/usr/bin/python3
"""The Grafana dashboard against a real Prometheus: start jobq-exporter on a
scenario and a Prometheus server (Debian's package) on 127.0.0.1 with a
temporary config and data directory, let it scrape every second, then
evaluate every PromQL expression of the dashboard through the HTTP API and
require each to return data. Everything started here is stopped here.

    dashboard_test.py JOBQ-EXPORTER SCENARIO.json DASHBOARD.json
"""
import json
import math
import os
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Children, Tap, free_port, http, need_program,  # noqa: E402
                     start_exporter, wait_for)

EXPORTER, SCENARIO, DASHBOARD = sys.argv[1], sys.argv[2], sys.argv[3]
# What Grafana would put in place of the dashboard's variables: every
# namespace ("All" has allValue .*), and a rate window that holds several
# one-second scrapes.
VARIABLES = {"$namespace": ".*", "$__rate_interval": "1m",
             "${DS_PROMETHEUS}": ""}


def dashboard_queries(path):
    """(panel title, expr) for every target of every panel, rows included,
    and the label_values() queries of the template variables."""
    with open(path) as f:
        board = json.load(f)
    found = []

    def walk(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    found.append((panel.get("title", "?"), target["expr"]))
            walk(panel.get("panels", []))

    walk(board["panels"])
    variables = [v for v in board.get("templating", {}).get("list", [])
                 if v.get("type") == "query"]
    return board, found, variables


def substitute(expr):
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unknown variable in {expr}"
    return expr


def start_prometheus(children, prometheus, target):
    port = free_port()
    config = os.path.join(children.tmp, "prometheus.yml")
    with open(config, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: jobq
    metrics_path: /metrics
    static_configs:
      - targets: ['{target}']
""")
    log = open(os.path.join(children.tmp, "prometheus.log"), "w")
    proc = children.start([
        prometheus, f"--config.file={config}",
        f"--storage.tsdb.path={os.path.join(children.tmp, 'data')}",
        f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def ready():
        if proc.poll() is not None:
            with open(log.name) as f:
                raise RuntimeError(f"prometheus exited: {f.read()[-2000:]}")
        try:
            return http("GET", base + "/-/ready", timeout=2)[0] == 200
        except OSError:
            return False

    wait_for(ready, 30, "Prometheus to be ready")
    return proc, base


def query(base, expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, _, body = http("GET", url)
    answer = json.loads(body)
    assert status == 200 and answer["status"] == "success", (status, body)
    return answer["data"]["result"]


def enough_scrapes(base, wanted):
    def check():
        result = query(base, 'sum_over_time(up{job="jobq"}[1m])')
        return result and float(result[0]["value"][1]) >= wanted
    return check


def returns_data(base, expr):
    result = query(base, substitute(expr))
    assert result, f"no data for {substitute(expr)}"
    return result


def label_values_query(base, variable):
    definition = variable["definition"]
    metric, label = definition[len("label_values("):-1].split(",")
    url = base + f"/api/v1/label/{label.strip()}/values?" + \
        urllib.parse.urlencode({"match[]": metric.strip()})
    status, _, body = http("GET", url)
    values = json.loads(body)["data"]
    assert status == 200 and values, f"{definition} gave {values}"
    print(f"# {definition} -> {values}", flush=True)


def wait_percentiles_are_numbers(base):
    expr = ('histogram_quantile(0.5, sum by (priority, le) '
            '(rate(jobq_wait_seconds_bucket[1m])))')
    values = [float(r["value"][1]) for r in query(base, expr)]
    assert any(math.isfinite(v) for v in values), values


def has_queries(queries):
    assert len(queries) >= 10, f"only {len(queries)} queries"


def main():
    prometheus = need_program("/usr/bin/prometheus")
    tap = Tap()
    board, queries, variables = dashboard_queries(DASHBOARD)
    tap.check("the dashboard has queries", has_queries, queries)
    with Children("jobq-dashboard-test-") as children:
        # The scenario lasts 19170 virtual seconds: about 13 s at 1500x.
        _, exporter_base = start_exporter(children, EXPORTER, SCENARIO,
                                          "--speed", "1500")
        target = exporter_base[len("http://"):]
        _, base = start_prometheus(children, prometheus, target)
        started = time.monotonic()
        wait_for(enough_scrapes(base, 8), 40, "8 successful scrapes")
        print(f"# 8 scrapes after {time.monotonic() - started:.1f} s",
              flush=True)
        tap.check("the scrape target is up", returns_data, base,
                  'up{job="jobq"} == 1')
        for variable in variables:
            tap.check(f"variable ${variable['name']}: "
                      f"{variable['definition']}", label_values_query, base,
                      variable)
        for title, expr in queries:
            tap.check(f"{title}: {expr}", returns_data, base, expr)
        tap.check("wait percentiles are numbers, not NaN",
                  wait_percentiles_are_numbers, base)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
