#!/usr/bin/python3
"""Soak run of jobq-k8s-host against tests/k8s/fake_apiserver.py (issue 9).

Usage: bench/k8s_soak.py BUILD_DIR [--runs N] [--seed S] [--kill-every SECS]
                          [--pause-every SECS]

Two namespaces, N runs (default 2,000) of jobs of several sizes submitted
through the spool, the host with --db, killed with SIGKILL at random moments
(every --kill-every seconds on average) and restarted, the API server paused
(SIGSTOP/SIGCONT, 0.3 to 3 s) at random moments. Pods start late (driver
after 40 ms, executors 150 ms later), so quota `used` lags. At the end:

  - every run ended (finished, or failed/cancelled with a reason), as the
    database says (jobqctl list --all --json);
  - no application was created twice, none existed twice for one run;
  - no application is left over (no orphan);
  - the fake API server never recorded `used` above `hard` and refused no
    pod on quota (the host never admitted more than fits).

Exit status 0 when all hold, 1 otherwise; the figures go to stdout. Not part
of the default test suite (it takes minutes); bench/README.md has results.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "k8s"))
from k8s_harness import Env, spark_manifest  # noqa: E402

NAMESPACES = ("team-a", "team-b")
# name, executors, cores, run ms, priority
JOBS = (("tiny", 1, 1, 60, "normal"), ("small", 2, 1, 120, "normal"),
        ("wide", 4, 1, 100, "high"), ("fat", 2, 2, 150, "normal"))


def write_jobs(env):
    jobs = []
    for ns in NAMESPACES:
        for name, executors, cores, run_ms, priority in JOBS:
            jobs.append({"name": "%s-%s" % (ns, name), "namespace": ns,
                         "priority": priority,
                         "manifest": spark_manifest(instances=executors,
                                                    cores=cores,
                                                    run_ms=run_ms)})
    return env.write_jobs(jobs)


def submit_all(env, runs, rng):
    names = ["%s-%s" % (ns, job[0]) for ns in NAMESPACES for job in JOBS]
    for i in range(runs):
        env.submit_file("r%05d" % i, {"job": rng.choice(names),
                                      "run_name": "soak-%05d" % i})


def db_runs(build, db):
    result = subprocess.run(
        [os.path.join(build, "examples", "jobqctl", "jobqctl"), "--db", db,
         "--json", "list", "--all"], capture_output=True, text=True,
        timeout=120)
    if result.returncode != 0:
        raise RuntimeError("jobqctl: %s" % result.stderr)
    data = json.loads(result.stdout)
    return data["runs"] if isinstance(data, dict) else data


def db_open_runs(build, db):
    """Runs not ended yet, as a read-only look at the database says."""
    result = subprocess.run(
        [os.path.join(build, "examples", "jobqctl", "jobqctl"), "--db", db,
         "--json", "stats"], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        return None
    runs = json.loads(result.stdout)["runs"]
    return runs["queued"] + runs["deploying"] + runs["running"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build")
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kill-every", type=float, default=8.0)
    parser.add_argument("--pause-every", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=3600)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    binary = os.path.join(options.build, "examples", "k8s-host",
                          "jobq-k8s-host")
    env = Env(binary)
    ok = False
    try:
        env.configure(submit_ms=40, executor_delay_ms=150)
        for ns in NAMESPACES:
            env.set_quota(ns, {"requests.cpu": "10", "requests.memory":
                               "24Gi", "pods": "14"})
        jobs = write_jobs(env)
        submit_all(env, options.runs, rng)
        db = os.path.join(env.dir, "soak.db")
        args = ["--jobs", jobs, "--db", db, "--spool", env.spool,
                "--request-timeout-ms", "1000", "--retries", "2", "--quiet"]
        started = time.monotonic()
        kills = pauses = 0
        paused_for = 0.0
        host = env.start_host(args, tick_ms=100)
        next_kill = started + rng.expovariate(1 / options.kill_every)
        next_pause = started + rng.expovariate(1 / options.pause_every)
        while time.monotonic() - started < options.timeout:
            time.sleep(0.1)
            now = time.monotonic()
            if now >= next_kill:
                host.kill(signal.SIGKILL)
                kills += 1
                host = env.start_host(args, tick_ms=100)
                next_kill = now + rng.expovariate(1 / options.kill_every)
            if now >= next_pause:
                length = rng.uniform(0.3, 3.0)
                env.server.send_signal(signal.SIGSTOP)
                time.sleep(length)
                env.server.send_signal(signal.SIGCONT)
                pauses += 1
                paused_for += length
                next_pause = time.monotonic() + rng.expovariate(
                    1 / options.pause_every)
            if os.listdir(env.spool):
                continue
            summary = env.control("/_test/summary")
            if not summary["apps"] and sum(summary["creates"].values()) and \
                    db_open_runs(options.build, db) == 0:
                # Nothing in the cluster; let a last life confirm idle.
                host.kill(signal.SIGTERM)
                last = env.start_host(args + ["--exit-when-idle"],
                                      tick_ms=100)
                if last.wait(120) == 0:
                    break
                host = last
        elapsed = time.monotonic() - started
        summary = env.control("/_test/summary")
        runs = db_runs(options.build, db)
        states = {}
        for run in runs:
            states[run["state"]] = states.get(run["state"], 0) + 1
        unended = [r for r in runs if r["state"] not in
                   ("finished", "failed", "cancelled")]
        no_reason = [r for r in runs if r["state"] in ("failed", "cancelled")
                     and not (r.get("reason") or r.get("detail"))]
        twice = {k: v for k, v in summary["creates"].items() if v > 1}
        at_once = {k: v for k, v in summary["peak_per_run"].items() if v > 1}
        worst = summary["peak_used"]
        figures = {
            "runs": len(runs), "states": states, "seconds": round(elapsed, 1),
            "host_kills": kills, "server_pauses": pauses,
            "paused_seconds": round(paused_for, 1),
            "applications_created": sum(summary["creates"].values()),
            "created_twice": twice, "two_at_once": at_once,
            "left_over": len(summary["apps"]),
            "pod_refusals": len(summary["pod_refusals"]),
            "over_quota_instants": len(summary["over_quota"]),
            "peak_used": worst, "api_requests": summary["request_count"]}
        print(json.dumps(figures, indent=2, sort_keys=True))
        ok = (len(runs) == options.runs and not unended and not no_reason and
              not twice and not at_once and not summary["apps"] and
              not summary["pod_refusals"] and not summary["over_quota"])
        if not ok:
            print("FAILED: unended=%d no_reason=%d" % (len(unended),
                                                      len(no_reason)))
    finally:
        if env.server.poll() is None:
            env.server.send_signal(signal.SIGCONT)
        env.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
