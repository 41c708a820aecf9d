#!/usr/bin/python3
"""Live control end to end: jobq-k8s-host runs against the fake API server
while other processes operate it through its database with jobqctl.

Usage: test_live_control.py HOST_BINARY JOBQCTL_BINARY

- four concurrent workers run jobqctl processes that submit 200 runs with
  idempotency keys, 20 of the keys submitted a second time by another
  worker: every key yields one run;
- jobqctl cancels 10 queued and 5 running runs: cancelled events, the
  running ones' SparkApplications deleted, `jobqctl show` says cancelled;
- jobqctl changes head-timeout-seconds and the share percentage;
- jobqctl migrates to legacy while runs are queued: every queued run is
  deployed through the legacy flow at once;
- the SparkApplications created match the runs deployed, one each.

The host admits one run per cycle (batchSize 1) on a roomy quota, so runs
stay queued for a while without any quota refusal. Exit 0 pass, 1 fail.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from k8s_harness import Env, spark_manifest  # noqa: E402

TIMEOUT = "job-orchestrator.queue.head-timeout-seconds"
SHARE = "job-orchestrator.queue.high.scheduling-share-percentage"
JOBS = ("etl-high", "etl-normal")


def of(host, event):
    return [e for e in host.events if e["event"] == event]


class Ctl:
    def __init__(self, binary, db):
        self.binary, self.db = binary, db

    def __call__(self, *args, stdin=None, check=True):
        p = subprocess.run([self.binary, "--db", self.db, "--json"] +
                           list(args), input=stdin, capture_output=True,
                           text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError("jobqctl %s: exit %d: %s" %
                                 (" ".join(args), p.returncode, p.stderr))
        return json.loads(p.stdout) if p.stdout.strip() else None


def plan_submissions():
    """Four workers, each 5 jobqctl processes of 11 runs: 50 keys of its
    own and 5 repeats of keys another worker also submits."""
    workers = []
    for w in range(4):
        own = ["key-%03d" % (w * 50 + i) for i in range(50)]
        other = (w + 1) % 4
        repeats = ["key-%03d" % (other * 50 + i) for i in range(5)]
        keys = own + repeats
        batches = [keys[i:i + 11] for i in range(0, len(keys), 11)]
        workers.append(batches)
    return workers


def spec(key):
    number = int(key.split("-")[1])
    return {"job": JOBS[number % 2], "name": "run-" + key,
            "idempotency_key": key}


def submit_concurrently(ctl, workers):
    """Returns {key: set of run ids the submissions of that key got}."""
    got, errors, lock = {}, [], threading.Lock()

    def work(batches):
        try:
            for batch in batches:
                ids = ctl("submit", "-", stdin=json.dumps(
                    [spec(k) for k in batch]))
                assert len(ids) == len(batch), ids
                with lock:
                    for key, run in zip(batch, ids):
                        got.setdefault(key, set()).add(run)
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(b,)) for b in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return got


def live_control(env, ctl_binary):
    env.set_quota("analytics", {"pods": "2000", "requests.cpu": "2000",
                                "requests.memory": "4000Gi"})
    jobs = env.write_jobs([
        {"name": "etl-high", "namespace": "analytics", "priority": "high",
         "manifest": spark_manifest(instances=1, run_ms=600000)},
        {"name": "etl-normal", "namespace": "analytics",
         "manifest": spark_manifest(instances=1, run_ms=600000)}])
    config = os.path.join(env.dir, "config.json")
    with open(config, "w") as out:
        json.dump({"services": {"jobOrchestrator": {"settings": {
            "batchSize": 1}}}}, out)
    db = os.path.join(env.dir, "state.db")
    host = env.start_host(["--jobs", jobs, "--db", db, "--config", config],
                          tick_ms=250)
    ctl = Ctl(ctl_binary, db)

    def opened():
        return os.path.exists(db) and subprocess.run(
            [ctl_binary, "--db", db, "stats"], capture_output=True
        ).returncode == 0
    env.wait_for(opened, 20, "the host to open its database")

    # ---- 200 runs from four concurrent submitters, 20 keys twice
    got = submit_concurrently(ctl, plan_submissions())
    assert len(got) == 200, len(got)
    repeated = [k for k, ids in got.items() if len(ids) > 1]
    assert not repeated, "keys with more than one run: %s" % repeated
    run_of = {k: next(iter(ids)) for k, ids in got.items()}
    assert len(set(run_of.values())) == 200
    listed = ctl("list", "--all")
    assert sorted(r["id"] for r in listed) == sorted(run_of.values())
    submitted = {e["run"] for e in of(host, "submitted")}
    env.wait_for(lambda: {e["run"] for e in of(host, "submitted")} >=
                 set(run_of.values()), 10, "200 submitted events")
    assert len(of(host, "submitted")) == 200, len(of(host, "submitted"))

    # ---- cancel 5 running and 10 queued runs
    env.wait_for(lambda: len(of(host, "deployed")) >= 6, 30,
                 "six runs running")
    running = [e["run"] for e in of(host, "deployed")][:5]
    queued = [r["id"] for r in ctl("list", "--state", "queued", "--all")]
    queued = queued[-10:]  # the tail: far from being deployed meanwhile
    for run in running + queued:
        assert ctl("cancel", str(run), "--reason", "live test") == {
            "cancelled": run}
    cancelled = {e["run"]: e for e in of(host, "cancelled")}
    env.wait_for(lambda: {e["run"] for e in of(host, "cancelled")} ==
                 set(running + queued), 10, "15 cancelled events")
    for run in running + queued:
        shown = ctl("show", str(run))
        assert shown["state"] == "cancelled", shown
    state = env.state()
    deleted = [r["path"] for r in state["requests"]
               if r["method"] == "DELETE"]
    for run in running:
        assert [p for p in deleted if re.search(r"/jobq-(?:[0-9a-f]+-)?%d-" % run, p)], \
            (run, deleted)
    assert len(deleted) == 5, deleted
    assert ctl("cancel", str(running[0]), check=False) is None  # refused

    # ---- properties on the live scheduler
    assert ctl("set-property", TIMEOUT, "7200") == {TIMEOUT: 7200}
    assert ctl("set-property", SHARE, "70") == {SHARE: 70}
    assert ctl("get-property", TIMEOUT) in (7200, {TIMEOUT: 7200})
    refused = subprocess.run([ctl_binary, "--db", db, "set-property", SHARE,
                              "170"], capture_output=True, text=True)
    assert refused.returncode == 1 and SHARE in refused.stderr, refused
    config_now = ctl("get-property")
    assert config_now["systemProperties"][SHARE] == 70, config_now
    assert config_now["systemProperties"][TIMEOUT] == 7200, config_now

    # ---- migrate to legacy while runs are queued
    queued_now = len(ctl("list", "--state", "queued", "--all"))
    assert queued_now > 50, queued_now
    moved = ctl("migrate-to-legacy")["moved"]
    assert moved >= queued_now - 5, (moved, queued_now)  # a tick may deploy
    assert ctl("list", "--state", "queued", "--all") == []
    legacy = [e for e in of(host, "deployed") if e["flow"] == "legacy"]
    env.wait_for(lambda: len([e for e in of(host, "deployed")
                              if e["flow"] == "legacy"]) == moved, 10,
                 "the legacy deployments' events")

    # ---- every request has its outcome
    requests = ctl("requests", "--all")
    assert all(r["state"] != "pending" for r in requests), requests
    kinds = {}
    for r in requests:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    assert kinds["submit_batch"] == 20, kinds
    assert kinds["cancel"] == 16 and kinds["property_set"] == 3, kinds
    assert kinds["migrate_to_legacy"] == 1, kinds
    assert [r for r in requests if r["state"] == "refused"] and all(
        r["kind"] in ("cancel", "property_set") for r in requests
        if r["state"] == "refused")

    # ---- SparkApplications created match the runs deployed
    deployed = [e["run"] for e in of(host, "deployed")]
    assert len(deployed) == len(set(deployed)), "a run deployed twice"
    assert len(deployed) == 200 - len(queued), len(deployed)
    state = env.state()
    created = {}
    for key, count in state["creates"].items():
        assert count == 1, (key, count)
        run = int(re.search(r"/jobq-(?:[0-9a-f]+-)?(\d+)-", key).group(1))
        created[run] = created.get(run, 0) + 1
    assert sorted(created) == sorted(deployed), (
        set(created) ^ set(deployed))
    assert not state["over_quota"]
    for run, peak in state["peak_per_run"].items():
        assert peak == 1, (run, peak)
    for run in deployed[:3] + deployed[-3:]:
        assert ctl("show", str(run))["state"] in ("running", "cancelled")

    host.kill(signal.SIGTERM)
    assert host.process.returncode == 0, host.log()[-2000:]
    print("live control: 200 runs from 4 submitters (20 keys repeated), "
          "15 cancelled, 2 properties, %d migrated" % moved)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: test_live_control.py HOST JOBQCTL\n")
        return 2
    env = Env(sys.argv[1])
    status = 0
    try:
        live_control(env, os.path.abspath(sys.argv[2]))
        print("ok - live_control")
    except Exception:
        traceback.print_exc()
        for host in env.hosts:
            sys.stderr.write("--- %s\n%s" % (host.stderr_path,
                                             host.log()[-4000:]))
        status = 1
    finally:
        try:
            env.close()
        except AssertionError as error:
            sys.stderr.write("%s\n" % error)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
