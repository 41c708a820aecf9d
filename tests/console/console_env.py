"""A jobq-k8s-host with a web console against fake_apiserver.py, in a known
state, for the console and host-metrics tests.

The scenario (quota via the fake API server's ResourceQuotas):
  analytics  cpu 4, memory 32Gi, pods 20, storage 10Gi
    normal:  40 runs of "small" (1 core each, 1.5 s): 4 run at a time, so
             deployments and waits keep coming for ~15 s
  ml-team    cpu 4
    high:    "giant" (6 cores) at the head: blocked on cpu, needs 6, 4
             available; "train" runs queued behind it
The head timeout is long (1 h) unless head_timeout is given.
"""
import os
import re
import sys
import time
import urllib.error
import urllib.request
import json

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "k8s"))
from k8s_harness import Env, spark_manifest  # noqa: E402

ADMIN_TOKEN = "console-admin-token-0123456789"


def start(host_binary, small_runs=40, head_timeout=3600, retries=2,
          extra=()):
    """(env, host, base URL). env.close() stops everything."""
    env = Env(host_binary)
    try:
        env.set_quota("analytics", {"requests.cpu": "4",
                                    "requests.memory": "32Gi",
                                    "pods": "20",
                                    "requests.storage": "10Gi"})
        env.set_quota("ml-team", {"requests.cpu": "4"})
        jobs = env.write_jobs([
            {"name": "small", "namespace": "analytics",
             "manifest": spark_manifest(instances=1, run_ms=1500)},
            {"name": "giant", "namespace": "ml-team", "priority": "high",
             "manifest": spark_manifest(instances=2, cores=2, run_ms=500)},
            {"name": "train", "namespace": "ml-team", "priority": "high",
             "manifest": spark_manifest(instances=1, run_ms=500)}])
        config = os.path.join(env.dir, "config.json")
        with open(config, "w") as out:
            json.dump({"systemProperties": {
                "job-orchestrator.queue.head-timeout-seconds": head_timeout,
                "job-orchestrator.queue.head-retry-count": retries}}, out)
        token = os.path.join(env.dir, "admin-token")
        with open(token, "w") as out:
            out.write(ADMIN_TOKEN + "\n")
        submits = ["--submit", "giant"] + ["--submit", "train"] * 3
        submits += ["--submit", "small"] * small_runs
        host = env.start_host(["--jobs", jobs, "--config", config,
                               "--db", os.path.join(env.dir, "jobq.db"),
                               "--port", "0", "--token-file", token,
                               *submits, *extra], tick_ms=100)
        base = env.wait_for(lambda: served_at(host), 20,
                            "the host's HTTP server")
        return env, host, base
    except BaseException:
        env.close()
        raise


def served_at(host):
    m = re.search(r"serving (http://[^/]+)/metrics", host.log())
    if m:
        return m.group(1)
    if host.process.poll() is not None:
        raise RuntimeError("the host exited:\n" + host.log()[-3000:])
    return None


def request(method, url, body=None, headers=None, raw=None, timeout=10):
    """(status, parsed JSON or text) of one request; HTTP errors are
    answers."""
    data = raw if raw is not None else (
        json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=headers or {})
    if data is not None and "Content-Type" not in (headers or {}):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, text, ctype = resp.status, resp.read(), \
                resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        status, text, ctype = err.code, err.read(), \
            err.headers.get("Content-Type", "")
    if "json" in ctype:
        return status, json.loads(text)
    return status, text.decode("utf-8", "replace")


def wait_blocked_head(base, timeout=20):
    def blocked():
        _, doc = request("GET", base + "/api/v1/overview")
        for q in doc["queues"]:
            if q["namespace"] == "ml-team" and q["head_state"] == "blocked":
                return q
        return None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        q = blocked()
        if q:
            return q
        time.sleep(0.1)
    raise AssertionError("ml-team's head never showed as blocked")
