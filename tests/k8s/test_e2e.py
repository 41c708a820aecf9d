#!/usr/bin/python3
"""End-to-end tests of jobq-k8s-host against fake_apiserver.py.

Usage: test_e2e.py HOST_BINARY SCENARIO

Each scenario starts its own API server (HTTPS on 127.0.0.1, a certificate
made for the test), runs the real host binary against it, asserts on the
host's JSON events and on the server's record of what happened, and cleans
up. Exit status 0 pass, 1 fail, 77 skip.
"""

import json
import os
import re
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from k8s_harness import Env, TOKEN, spark_manifest  # noqa: E402

SCENARIOS = {}


def scenario(function):
    SCENARIOS[function.__name__] = function
    return function


def of(host, event, job=None):
    return [e for e in host.events if e["event"] == event and
            (job is None or e["job"] == job)]


def apps_of(state, ns=None):
    return [a for a in state["apps"] if ns is None or
            a["metadata"]["namespace"] == ns]


def posts(state):
    return [r for r in state["requests"] if r["method"] == "POST"]


def assert_no_duplicates(state):
    """At most one object per run ever existed at once, and no create was
    let past a quota."""
    for run, peak in state["peak_per_run"].items():
        assert peak == 1, "run %s had %d SparkApplications at once" % (
            run, peak)
    assert not state["over_quota"], state["over_quota"]


def finish(host, timeout=60):
    code = host.wait(timeout)
    assert code == 0, "host exited %s:\n%s" % (code, host.log()[-3000:])

# ------------------------------------------------------------ scheduling


@scenario
def priorities(env):
    """Only one application fits at a time (3 pods of a 3-pod quota); with
    the default 90% share the high queue is served first, then normal."""
    env.set_quota("analytics", {"pods": "3", "requests.cpu": "16",
                                "requests.memory": "32Gi"})
    jobs = env.write_jobs([
        {"name": "report-high", "namespace": "analytics", "priority": "high",
         "manifest": spark_manifest(instances=2, run_ms=300)},
        {"name": "batch-normal", "namespace": "analytics",
         "manifest": spark_manifest(instances=2, run_ms=300)}])
    host = env.start_host(["--jobs", jobs, "--submit", "batch-normal",
                           "--submit", "batch-normal", "--submit",
                           "report-high", "--submit", "report-high",
                           "--exit-when-idle"])
    finish(host)
    order = [e["job"] for e in of(host, "deployed")]
    assert order == ["report-high", "report-high", "batch-normal",
                     "batch-normal"], order
    assert len(of(host, "finished")) == 4
    blocked = of(host, "blocked")
    assert blocked and all(e["reason"] == "pods" for e in blocked), blocked
    state = env.state()
    assert state["peak_live"]["analytics"] == 1, state["peak_live"]
    assert len(state["creates"]) == 4
    assert not apps_of(state), "finished applications are cleaned up"
    assert all(n == 1 for n in state["creates"].values()), state["creates"]
    assert_no_duplicates(state)


@scenario
def head_of_line_blocking(env):
    """A head that does not fit blocks its queue (nothing behind it is
    created, although it would fit) and does not delay another namespace;
    raising the quota releases it, in order."""
    env.set_quota("alpha", {"requests.cpu": "4"})
    env.set_quota("beta", {"requests.cpu": "4"})
    jobs = env.write_jobs([
        {"name": "big", "namespace": "alpha",
         "manifest": spark_manifest(instances=2, cores=2, run_ms=300)},
        {"name": "small", "namespace": "alpha",
         "manifest": spark_manifest(instances=1, run_ms=300)},
        {"name": "other", "namespace": "beta",
         "manifest": spark_manifest(instances=1, run_ms=300)}])
    host = env.start_host(["--jobs", jobs, "--submit", "big", "--submit",
                           "small", "--submit", "other"])
    env.wait_for(lambda: of(host, "finished", "other"), 20, "beta's run")
    time.sleep(1.0)  # many cycles in which "small" would fit
    blocked = of(host, "blocked", "big")
    assert blocked and blocked[0]["reason"] == "cpu", host.events
    assert blocked[0]["requested"] == "6" and blocked[0]["available"] == "4"
    assert not of(host, "deployed", "small"), "small overtook the head"
    assert not [r for r in posts(env.state()) if "alpha" in r["path"]]
    raised_at = time.time()
    env.set_quota("alpha", {"requests.cpu": "8"})
    env.wait_for(lambda: len(of(host, "finished")) == 3, 20, "alpha's runs")
    order = [e["job"] for e in of(host, "deployed") if e["namespace"] ==
             "alpha"]
    assert order == ["big", "small"], order
    alpha_posts = [r for r in posts(env.state()) if "alpha" in r["path"]]
    assert len(alpha_posts) == 2 and alpha_posts[0]["t"] >= raised_at
    host.kill(signal.SIGTERM)
    assert host.process.returncode == 0
    assert_no_duplicates(env.state())


@scenario
def stale_quota_sync(env):
    """Someone else takes 6 of the 8 cores between the probe and the
    create: the API server answers 403 exceeded quota, the run goes back to
    the head of its queue, and is created once the cores are free again."""
    env.set_quota("analytics", {"requests.cpu": "8"})
    jobs = env.write_jobs([{"name": "etl", "namespace": "analytics",
                            "manifest": spark_manifest(instances=3,
                                                       run_ms=300)}])
    env.external_usage("analytics", {"requests.cpu": "6"},
                       on_next_create=True, release_after_ms=1500)
    host = env.start_host(["--jobs", jobs, "--submit", "etl",
                           "--exit-when-idle"])
    finish(host)
    rescheduled = of(host, "rescheduled")
    assert len(rescheduled) == 1 and \
        rescheduled[0]["reason"] == "stale_quota", host.events
    assert ("exceeded quota: compute, requested: requests.cpu=4, used: "
            "requests.cpu=6, limited: requests.cpu=8") in \
        rescheduled[0]["detail"], rescheduled[0]
    events = [e["event"] for e in host.events]
    assert events.index("rescheduled") < events.index("deployed")
    assert len(of(host, "finished")) == 1
    state = env.state()
    assert [r["status"] for r in posts(state)] == [403, 201], posts(state)
    assert list(state["creates"].values()) == [1]
    assert list(state["deletes"].values()) == [1]  # cleaned up when ended
    assert_no_duplicates(state)


@scenario
def stale_quota_async(env):
    """The create is accepted but the operator's driver pod is refused on
    quota (SUBMISSION_FAILED, "exceeded quota"): the host deletes the
    application, the run is rescheduled and later created again."""
    env.configure(quota_mode={"analytics": "async"})
    env.set_quota("analytics", {"requests.cpu": "8"})
    jobs = env.write_jobs([{"name": "etl", "namespace": "analytics",
                            "manifest": spark_manifest(instances=3,
                                                       run_ms=300)}])
    env.external_usage("analytics", {"requests.cpu": "6"},
                       on_next_create=True, release_after_ms=2000)
    host = env.start_host(["--jobs", jobs, "--submit", "etl",
                           "--exit-when-idle"])
    finish(host)
    events = [e["event"] for e in host.events]
    assert events.count("deployed") == 2, events
    assert of(host, "rescheduled")[0]["reason"] == "stale_quota"
    assert events.index("rescheduled") < events.index("finished")
    state = env.state()
    (name, creates), = state["creates"].items()
    # the refused attempt, then the finished one, deleted once recorded
    assert creates == 2 and state["deletes"][name] == 2, state
    assert not state["apps"]
    assert_no_duplicates(state)

# ---------------------------------------------------------------- restart


def store_available(env, jobs):
    probe = env.start_host(["--jobs", jobs, "--db",
                            os.path.join(env.dir, "probe.db"),
                            "--exit-when-idle"])
    code = probe.wait(30)
    return code == 0


@scenario
def restart_mid_deployment(env):
    """The host is killed after the API server created the application but
    before the host saw the answer. The restarted host creates the same run
    again: 409 AlreadyExists, the object is verified to be this run's, and
    adopted. One SparkApplication, one run, finished."""
    env.set_quota("analytics", {"requests.cpu": "16"})
    jobs = env.write_jobs([{"name": "etl", "namespace": "analytics",
                            "manifest": spark_manifest(run_ms=300)}])
    durable = store_available(env, jobs)
    if durable:
        identity = ["--db", os.path.join(env.dir, "state.db")]
    else:
        # No store yet: a fresh in-memory scheduler given the same submits
        # assigns the same run id; a fixed --instance keeps the name.
        identity = ["--instance", "jobq-restart"]
    env.add_faults({"method": "POST", "path": "sparkapplications",
                    "action": "delay", "ms": 4000, "commit": True,
                    "count": 1})
    first = env.start_host(["--jobs", jobs, "--submit", "etl",
                            "--request-timeout-ms", "10000",
                            "--exit-when-idle"] + identity)
    env.wait_for(lambda: env.state()["apps"], 20, "the create")
    first.kill(signal.SIGKILL)
    assert not of(first, "deployed"), "the host saw the create complete"
    second = env.start_host(["--jobs", jobs, "--exit-when-idle"] + identity +
                            ([] if durable else ["--submit", "etl"]))
    finish(second)
    assert len(of(second, "finished")) == 1, second.events
    state = env.state()
    if durable:
        # The DEPLOYING run is settled on open: its application is found
        # (namespaces are known before the database is opened) and the run
        # finishes on it; nothing is created again.
        assert [r["status"] for r in posts(state)] == [201], posts(state)
        assert list(state["creates"].values()) == [1], state["creates"]
    else:
        # Without a database nothing proves the first life's application
        # is this run's: the second life never adopts it (issue 14.6).
        assert len(state["creates"]) == 2, state["creates"]
    assert_no_duplicates(state)
    print("restart tested %s" % ("with --db" if durable else
                                 "without a store (replayed submits)"))

# ---------------------------------------------------------- cancellation


@scenario
def cancellation(env):
    """Cancel a queued run (never created) and a running one (its
    SparkApplication is deleted) through the spool; a spooled submission
    runs; SIGTERM stops the host cleanly."""
    env.set_quota("analytics", {"pods": "2"})
    jobs = env.write_jobs([
        {"name": "long", "namespace": "analytics",
         "manifest": spark_manifest(instances=1, run_ms=60000)},
        {"name": "short", "namespace": "analytics",
         "manifest": spark_manifest(instances=1, run_ms=200)}])
    host = env.start_host(["--jobs", jobs, "--spool", env.spool, "--submit",
                           "long", "--submit", "long"])
    env.wait_for(lambda: of(host, "deployed") and of(host, "blocked"), 20,
                 "run 1 deployed, run 2 blocked")
    env.submit_file("cancel-2", {"cancel": 2, "detail": "not needed"})
    env.wait_for(lambda: of(host, "cancelled"), 10, "run 2 cancelled")
    assert of(host, "cancelled")[0]["run"] == 2
    env.submit_file("cancel-1", {"cancel": 1})
    env.wait_for(lambda: len(of(host, "cancelled")) == 2, 10, "run 1")
    env.wait_for(lambda: not env.state()["apps"], 10, "the deletion")
    env.submit_file("third", {"job": "short", "run_name": "third"})
    env.wait_for(lambda: of(host, "finished"), 20, "the spooled run")
    assert of(host, "finished")[0]["run_name"] == "third"
    assert not os.listdir(env.spool), os.listdir(env.spool)
    state = env.state()
    names = [r["path"] for r in state["requests"] if r["method"] == "DELETE"
             and "-short" not in r["path"]]  # short's: cleanup once ended
    assert len(names) == 1 and re.search(r"-1-long$", names[0]), names
    assert not [p for p in posts(state) if "-2-" in json.dumps(p)]
    assert len(posts(state)) == 2  # run 1 and the spooled run
    host.kill(signal.SIGTERM)
    assert host.process.returncode == 0
    assert_no_duplicates(state)

# ----------------------------------------------------------------- faults


@scenario
def transient_faults(env):
    """500s, a create whose response is dropped after it took effect, a
    slow quota read and a 429 with Retry-After: the client retries within
    its budget, every run is created exactly once and finishes."""
    env.set_quota("analytics", {"requests.cpu": "16"})
    jobs = env.write_jobs([
        {"name": "a", "namespace": "analytics",
         "manifest": spark_manifest(run_ms=200)},
        {"name": "b", "namespace": "analytics",
         "manifest": spark_manifest(run_ms=200)}])
    env.add_faults(
        {"method": "POST", "path": "sparkapplications", "action": "status",
         "code": 500, "count": 2},
        {"method": "POST", "path": "sparkapplications", "action": "drop",
         "commit": True, "count": 1},
        {"method": "GET", "path": "resourcequotas", "action": "delay",
         "ms": 1500, "count": 1},
        {"method": "GET", "path": "labelSelector", "action": "status",
         "code": 429, "retry_after": 1, "count": 1})
    host = env.start_host(["--jobs", jobs, "--submit", "a", "--submit", "b",
                           "--retries", "4", "--request-timeout-ms", "1000",
                           "--exit-when-idle", "--verbose"])
    finish(host)
    assert len(of(host, "finished")) == 2, host.events
    assert not of(host, "deploy_retry") and not of(host, "failed")
    state = env.state()
    assert sorted(state["creates"].values()) == [1, 1], state["creates"]
    statuses = [r["status"] for r in posts(state)]
    assert statuses == [500, 500, None, 409, 201], statuses
    requests = state["requests"]
    throttled = [i for i, r in enumerate(requests) if r["status"] == 429]
    assert throttled, "the 429 fault was not hit"
    after = [r for r in requests[throttled[0] + 1:]
             if "labelSelector" in r["path"]]
    assert after[0]["t"] - requests[throttled[0]]["t"] >= 0.9, \
        "Retry-After was not honoured"
    assert "try 2 of 4" in host.log()
    assert_no_duplicates(state)


@scenario
def persistent_faults(env):
    """Every create fails with 500: each deploy attempt makes exactly
    --retries tries, the library retries the deploy with backoff a bounded
    number of times, then fails the run with the server's message. No
    application exists, and the host never spins."""
    env.set_quota("analytics", {"requests.cpu": "16"})
    jobs = env.write_jobs([{"name": "a", "namespace": "analytics",
                            "manifest": spark_manifest()}])
    env.add_faults({"method": "POST", "path": "sparkapplications",
                    "action": "status", "code": 500, "count": -1})
    started = time.monotonic()
    host = env.start_host(["--jobs", jobs, "--submit", "a", "--retries", "2",
                           "--exit-when-idle"], tick_ms=200)
    finish(host, timeout=90)
    elapsed = time.monotonic() - started
    retries = of(host, "deploy_retry")
    failed = of(host, "failed")
    assert len(failed) == 1 and "injected fault" in failed[0]["detail"], \
        host.events
    attempts = len(retries) + 1
    assert [e["retry"] for e in retries] == list(range(1, attempts))
    state = env.state()
    assert len(posts(state)) == attempts * 2, (attempts, len(posts(state)))
    assert not state["apps"] and not state["creates"]
    rate = len(state["requests"]) / elapsed
    assert rate < 3 * (1000 / 200) + 2, "%.1f requests/s" % rate
    print("%d deploy attempts x 2 tries in %.1f s, %.1f requests/s" %
          (attempts, elapsed, rate))

@scenario
def no_busy_loop(env):
    """A deploy retry falls due while the quota can no longer be read (403
    Forbidden, not retried): the host keeps to its tick interval instead of
    hammering the API server."""
    env.set_quota("analytics", {"requests.cpu": "16"})
    jobs = env.write_jobs([{"name": "a", "namespace": "analytics",
                            "manifest": spark_manifest()}])
    env.add_faults({"method": "POST", "path": "sparkapplications",
                    "action": "status", "code": 500, "count": 1})
    host = env.start_host(["--jobs", jobs, "--submit", "a", "--retries",
                           "1"], tick_ms=250)
    env.wait_for(lambda: of(host, "deploy_retry"), 10, "a deploy retry")
    env.add_faults({"method": "GET", "path": "resourcequotas",
                    "action": "status", "code": 403, "count": -1})
    time.sleep(0.3)
    before = len(env.state()["requests"])
    time.sleep(3.0)  # the retry falls due after 1 s
    during = len(env.state()["requests"]) - before
    host.kill(signal.SIGTERM)
    assert host.process.returncode == 0
    assert not of(host, "deployed")
    # One quota read per 250 ms tick: about 12 in 3 s.
    assert during <= 3.0 / 0.25 + 4, "%d requests in 3 s" % during
    print("%d requests in 3 s at a 250 ms tick" % during)


# ------------------------------------------------------------ connection


@scenario
def authentication(env):
    """A wrong token gets 401s and nothing is created; a client
    certificate works; the in-cluster service account works; without the
    CA the server certificate is refused unless TLS verification is
    explicitly disabled (with a warning). The token is never logged."""
    env.set_quota("analytics", {"requests.cpu": "16"})
    jobs = env.write_jobs([{"name": "a", "namespace": "analytics",
                            "manifest": spark_manifest(run_ms=100)}])
    wrong = env.start_host(["--jobs", jobs, "--submit", "a"],
                           kubeconfig=env.write_kubeconfig("bad",
                                                           token="wrong"))
    env.wait_for(lambda: "Unauthorized" in wrong.log(), 10, "a 401")
    time.sleep(0.5)
    wrong.kill(signal.SIGTERM)
    assert not of(wrong, "deployed") and not env.state()["apps"]
    assert any(r["status"] == 401 for r in env.state()["requests"])

    certificate = env.start_host(
        ["--jobs", jobs, "--submit", "a", "--exit-when-idle"],
        kubeconfig=env.write_kubeconfig("cert", client_cert=True))
    finish(certificate)
    assert of(certificate, "finished")

    account = os.path.join(env.dir, "serviceaccount")
    os.mkdir(account)
    for name, text in (("token", TOKEN + "\n"), ("namespace", "analytics"),
                       ("ca.crt", open(os.path.join(env.dir,
                                                    "ca.crt")).read())):
        with open(os.path.join(account, name), "w") as out:
            out.write(text)
    environment = dict(env.host_environment,
                       KUBERNETES_SERVICE_HOST="127.0.0.1",
                       KUBERNETES_SERVICE_PORT=str(env.port))
    no_namespace = env.write_jobs([{"name": "a", "manifest":
                                    spark_manifest(run_ms=100)}], "bare.json")
    in_cluster = env.start_host(
        ["--in-cluster", "--service-account-dir", account, "--jobs",
         no_namespace, "--submit", "a", "--exit-when-idle"],
        kubeconfig=False, environment=environment)
    finish(in_cluster)
    assert of(in_cluster, "finished")[0]["namespace"] == "analytics"

    no_ca = env.write_kubeconfig("no-ca", token=TOKEN, ca=False)
    refused = env.start_host(["--jobs", jobs, "--submit", "a",
                              "--retries", "1"], kubeconfig=no_ca)
    # curl words it "certificate verify failed" when a CA bundle exists and
    # "Problem with the SSL CA cert" on a machine with none: both refuse.
    env.wait_for(lambda: any(word in refused.log().lower()
                             for word in ("certificate", "ca cert")), 10,
                 "a TLS refusal")
    refused.kill(signal.SIGTERM)
    assert not of(refused, "deployed")
    insecure = env.start_host(["--jobs", jobs, "--submit", "a",
                               "--insecure-skip-tls-verify",
                               "--exit-when-idle"], kubeconfig=no_ca)
    finish(insecure)
    assert "DISABLED" in insecure.log() and of(insecure, "finished")


@scenario
def token_rotation(env):
    """In-cluster, the kubelet rotates the service account token file: the
    host picks up the new token without a restart."""
    env.set_quota("analytics", {"requests.cpu": "16"})
    jobs = env.write_jobs([{"name": "a", "namespace": "analytics",
                            "manifest": spark_manifest(run_ms=100)}])
    account = os.path.join(env.dir, "serviceaccount")
    os.mkdir(account)
    with open(os.path.join(account, "token"), "w") as out:
        out.write(TOKEN + "\n")
    with open(os.path.join(account, "ca.crt"), "w") as out:
        out.write(open(os.path.join(env.dir, "ca.crt")).read())
    environment = dict(env.host_environment,
                       KUBERNETES_SERVICE_HOST="127.0.0.1",
                       KUBERNETES_SERVICE_PORT=str(env.port))
    host = env.start_host(["--in-cluster", "--service-account-dir", account,
                           "--jobs", jobs, "--spool", env.spool, "--submit",
                           "a"], kubeconfig=False, environment=environment)
    env.wait_for(lambda: of(host, "finished"), 20, "the first run")
    rotated = TOKEN + "-rotated"
    env.control("/_test/token", {"token": rotated})
    temporary = os.path.join(account, ".token.new")
    with open(temporary, "w") as out:
        out.write(rotated + "\n")
    os.utime(temporary, (time.time() + 5, time.time() + 5))
    os.rename(temporary, os.path.join(account, "token"))
    env.submit_file("second", {"job": "a"})
    env.wait_for(lambda: len(of(host, "finished")) == 2, 20, "the second")
    host.kill(signal.SIGTERM)
    assert host.process.returncode == 0
    assert rotated not in host.log()


@scenario
def fresh_instance_without_db(env):
    """Without --db run ids start again at 1 after a restart; the instance
    suffix is new each start, so run 1 of the second life gets its own
    application instead of adopting the first life's finished one."""
    env.set_quota("analytics", {"requests.cpu": "16"})
    jobs = env.write_jobs([{"name": "a", "namespace": "analytics",
                            "manifest": spark_manifest(run_ms=100)}])
    for _ in range(2):
        host = env.start_host(["--jobs", jobs, "--submit", "a",
                               "--exit-when-idle"])
        finish(host)
        assert of(host, "finished")[0]["run"] == 1
        assert "--db" in host.log()  # the in-memory warning
    state = env.state()
    names = sorted(state["creates"])
    assert len(names) == 2 and names[0] != names[1], names
    assert all(re.search(r"/jobq-[0-9a-f]{6}-1-a$", n) for n in names), names
    assert [r["status"] for r in posts(state)] == [201, 201]


@scenario
def failed_and_vanished(env):
    """A Spark application that fails reports its errorMessage; one deleted
    behind the host's back fails the run as vanished."""
    env.set_quota("analytics", {"requests.cpu": "16"})
    jobs = env.write_jobs([
        {"name": "broken", "namespace": "analytics",
         "manifest": spark_manifest(run_ms=100, outcome="FAILED")},
        {"name": "doomed", "namespace": "analytics",
         "manifest": spark_manifest(run_ms=60000)}])
    host = env.start_host(["--jobs", jobs, "--submit", "broken", "--submit",
                           "doomed", "--exit-when-idle"])
    env.wait_for(lambda: of(host, "failed", "broken"), 20, "the failure")
    assert "ExitCode: 1" in of(host, "failed", "broken")[0]["detail"]
    env.wait_for(lambda: of(host, "deployed", "doomed"), 20, "doomed")
    name = [a["metadata"]["name"] for a in env.state()["apps"]
            if "doomed" in a["metadata"]["name"]][0]
    # Delete it as kubectl would, with the API and the token.
    import urllib.request
    request = urllib.request.Request(
        env.url + "/apis/sparkoperator.k8s.io/v1beta2/namespaces/analytics/"
        "sparkapplications/" + name, method="DELETE",
        headers={"Authorization": "Bearer " + TOKEN})
    urllib.request.urlopen(request, context=env.tls, timeout=10).read()
    finish(host)
    vanished = of(host, "failed", "doomed")
    assert vanished and vanished[0]["reason"] == "vanished", host.events

# ------------------------------------------- issue 14: the real contract


def spec_of(manifest):
    return manifest["spec"]


@scenario
def permanent_refusal_and_warnings(env):
    """14.1/14.2/14.5: a manifest the host's rules let through but the
    CRD's full schema refuses gets 422: the run fails at once with the
    server's message (one POST, no deploy_retry) and the run behind it is
    not held up. Unknown fields are reported at load, pruned by the
    server, and its Warning headers are logged once per job."""
    env.set_quota("analytics", {"requests.cpu": "16"})
    bad = spark_manifest(run_ms=100)
    spec_of(bad)["restartPolicy"] = {"type": "Sometimes"}
    pruned = spark_manifest(run_ms=100)
    spec_of(pruned)["priorityClassName"] = "high"
    spec_of(pruned)["executor"]["coresRequest"] = "500m"
    jobs = env.write_jobs([
        {"name": "bad", "namespace": "analytics", "manifest": bad},
        {"name": "pruned", "namespace": "analytics", "manifest": pruned}])
    host = env.start_host(["--jobs", jobs, "--submit", "bad", "--submit",
                           "pruned", "--submit", "pruned",
                           "--exit-when-idle"])
    finish(host)
    failed = of(host, "failed", "bad")
    assert len(failed) == 1, host.events
    assert "HTTP 422" in failed[0]["detail"] and \
        "spec.restartPolicy.type: Unsupported value" in failed[0]["detail"], \
        failed
    assert not of(host, "deploy_retry"), host.events
    # Refused at deploy time (JOBQ_DEPLOY_REFUSED): never reported deployed.
    assert not of(host, "deployed", "bad"), host.events
    state = env.state()
    bad_posts = [r for r in posts(state) if r["status"] == 422]
    assert len(bad_posts) == 1, posts(state)
    assert len(of(host, "finished", "pruned")) == 2
    log = host.log()
    assert "manifest.spec.priorityClassName is not a field" in log, log
    assert "manifest.spec.executor.coresRequest is not a field" in log, log
    assert log.count("the API server warned") == 1, log
    assert 'unknown field \\"spec.priorityClassName\\"' in log or \
        "unknown field" in log, log


@scenario
def operator_webhook_quota(env):
    """14.5: the Spark operator's webhook (quota enforcement on) denies
    with 403 "failed to validate resource quota": a quota refusal, so the
    run goes back to its queue and is created once there is room."""
    env.configure(webhook={"analytics": True})
    env.set_quota("analytics", {"requests.cpu": "8"})
    jobs = env.write_jobs([{"name": "etl", "namespace": "analytics",
                            "manifest": spark_manifest(instances=3,
                                                       run_ms=200)}])
    env.external_usage("analytics", {"requests.cpu": "6"},
                       on_next_create=True, release_after_ms=1500)
    host = env.start_host(["--jobs", jobs, "--submit", "etl",
                           "--exit-when-idle"])
    finish(host)
    rescheduled = of(host, "rescheduled")
    assert rescheduled and rescheduled[0]["reason"] == "stale_quota", \
        host.events
    assert "failed to validate resource quota" in rescheduled[0]["detail"]
    assert len(of(host, "finished")) == 1 and not of(host, "failed")
    assert_no_duplicates(env.state())


@scenario
def scoped_and_limits_quotas(env):
    """14.3/14.4: quotas whose scopes do not match Spark's pods (BestEffort,
    Terminating, a PriorityClass the job does not use) do not block it; a
    limits.memory quota counts the pods' memory limits; a job without a cpu
    limit where a limits.cpu quota applies is refused at load."""
    env.set_quota("analytics", {"pods": "0"}, name="besteffort")
    env.control("/_test/quota", {"namespace": "analytics", "name":
                                 "besteffort", "hard": {"pods": "0"},
                                 "scopes": ["BestEffort"]})
    env.control("/_test/quota", {"namespace": "analytics", "name":
                                 "terminating", "hard": {"pods": "0"},
                                 "scopes": ["Terminating"]})
    env.control("/_test/quota", {"namespace": "analytics", "name": "gold",
                                 "hard": {"requests.cpu": "1"},
                                 "scopeSelector": {"matchExpressions": [{
                                     "scopeName": "PriorityClass",
                                     "operator": "In",
                                     "values": ["gold"]}]}})
    env.set_quota("analytics", {"limits.memory": "2Gi"}, name="mem")
    small = spark_manifest(instances=1, run_ms=100)    # 2 x 896 MiB
    big = spark_manifest(instances=2, run_ms=100)      # 3 x 896 MiB
    jobs = env.write_jobs([
        {"name": "small", "namespace": "analytics", "manifest": small},
        {"name": "big", "namespace": "analytics", "manifest": big}])
    host = env.start_host(["--jobs", jobs, "--submit", "small", "--submit",
                           "big"])
    env.wait_for(lambda: of(host, "finished", "small"), 20, "small")
    env.wait_for(lambda: of(host, "blocked", "big"), 20, "big blocked")
    blocked = of(host, "blocked", "big")[0]
    assert blocked["reason"] == "memory", blocked
    time.sleep(0.5)
    assert not of(host, "deployed", "big")
    host.kill(signal.SIGTERM)
    state = env.state()
    assert len(state["creates"]) == 1 and not state["pod_refusals"], state[
        "pod_refusals"]
    # limits.cpu applies and the job's pods declare no coreLimit: refused
    env.set_quota("analytics", {"limits.cpu": "8"}, name="cpu-limits")
    refused = env.start_host(["--jobs", jobs, "--exit-when-idle"])
    assert refused.wait(30) == 1
    assert "declare spec.driver.coreLimit" in refused.log() or \
        "coreLimit" in refused.log(), refused.log()
    limited = spark_manifest(instances=1, run_ms=100)
    for role in ("driver", "executor"):
        spec_of(limited)[role]["coreLimit"] = "1"
    jobs = env.write_jobs([{"name": "limited", "namespace": "analytics",
                            "manifest": limited}], "limited.json")
    env.set_quota("analytics", None, name="mem")
    ok = env.start_host(["--jobs", jobs, "--submit", "limited",
                         "--exit-when-idle"])
    finish(ok)
    assert of(ok, "finished"), ok.events


# ------------------------------------------- issue 9: a real cluster


@scenario
def late_pod_usage(env):
    """9.3: quota used grows only as pods start (driver after 100 ms,
    executors 1.5 s later). The host keeps a created application's demand
    reserved until its pods show: never two applications where one fits,
    no pod refused, used never above hard. sparkConf overheads count."""
    env.configure(executor_delay_ms=1500)
    env.set_quota("analytics", {"requests.cpu": "4",
                                "requests.memory": "12Gi"})
    manifest = spark_manifest(instances=2, run_ms=300)  # 3 cpu
    spec_of(manifest)["sparkConf"] = {"spark.executor.memoryOverhead": "4g"}
    jobs = env.write_jobs([{"name": "etl", "namespace": "analytics",
                            "manifest": manifest}])
    host = env.start_host(["--jobs", jobs, "--submit", "etl", "--submit",
                           "etl", "--submit", "etl", "--exit-when-idle"])
    finish(host, timeout=90)
    assert len(of(host, "finished")) == 3, host.events
    state = env.state()
    assert state["peak_live"]["analytics"] == 1, state["peak_live"]
    assert not state["pod_refusals"], state["pod_refusals"]
    assert not state["over_quota"], state["over_quota"]
    assert state["peak_used"]["analytics/compute/requests.cpu"] <= 4000
    # 512m + 384m driver, 2 x (512m + 4g) executors
    assert state["peak_used"]["analytics/compute/requests.memory"] == \
        (896 + 2 * 4608) << 20, state["peak_used"]
    lists = [r for r in state["requests"] if "/pods" in r["path"]]
    assert lists and all("labelSelector=jobq.io%2Fdb-id" in r["path"]
                         for r in lists)


@scenario
def two_hosts_one_namespace(env):
    """9.1/14.6: two hosts with fresh databases (and the default instance
    name) in one namespace: each run finishes on its own application, none
    is adopted or reported from the other's. A host whose database was
    lost does not adopt the old applications either."""
    env.set_quota("analytics", {"requests.cpu": "16"})
    jobs = env.write_jobs([{"name": "small-etl", "namespace": "analytics",
                            "manifest": spark_manifest(run_ms=1500)}])
    a = env.start_host(["--jobs", jobs, "--submit", "small-etl",
                        "--cleanup", "keep", "--exit-when-idle", "--db",
                        os.path.join(env.dir, "a.db")])
    b = env.start_host(["--jobs", jobs, "--submit", "small-etl",
                        "--cleanup", "keep", "--exit-when-idle", "--db",
                        os.path.join(env.dir, "b.db")])
    finish(a)
    finish(b)
    state = env.state()
    names = sorted(state["creates"])
    assert len(names) == 2 and all(n.endswith("-1-small-etl") for n in
                                   names), names
    for host in (a, b):
        (done,) = of(host, "finished")
        mine = [n for n in names if n.split("/")[1] in done["detail"]]
        assert len(mine) == 1, (done, names)
    assert of(a, "finished")[0]["detail"] != of(b, "finished")[0]["detail"]
    owners = {x["metadata"]["labels"]["jobq.io/db-id"] for x in state["apps"]}
    assert len(owners) == 2, owners
    # the database of host a is lost: a new one must not adopt a's apps
    os.remove(os.path.join(env.dir, "a.db"))
    again = env.start_host(["--jobs", jobs, "--submit", "small-etl",
                            "--cleanup", "keep", "--exit-when-idle", "--db",
                            os.path.join(env.dir, "a.db")])
    finish(again)
    assert len(env.state()["creates"]) == 3
    assert not [r for r in posts(env.state()) if r["status"] == 409]


@scenario
def conflict_is_never_adopted(env):
    """9.1: an application that carries the name this host would give run 2
    but is not its own (another database's id, another run's labels) is a
    conflict: reported, not adopted, not deleted, not taken as the run's
    outcome; the run fails at once saying so."""
    env.set_quota("analytics", {"requests.cpu": "16"})
    jobs = env.write_jobs([{"name": "etl", "namespace": "analytics",
                            "manifest": spark_manifest(run_ms=100)}])
    db = os.path.join(env.dir, "state.db")
    first = env.start_host(["--jobs", jobs, "--db", db, "--submit", "etl",
                            "--exit-when-idle"])
    finish(first)
    with open(db + ".k8s-owner") as owner_file:
        owner = owner_file.read().strip()
    name = "jobq-%s-2-etl" % owner[:6]
    foreign = spark_manifest(run_ms=60000)
    foreign["metadata"].update({"name": name, "labels": {
        "jobq.io/run-id": "2", "jobq.io/job": "etl",
        "jobq.io/db-id": "ffffffffffffffff"}})
    import urllib.request
    request = urllib.request.Request(
        env.url + "/apis/sparkoperator.k8s.io/v1beta2/namespaces/analytics/"
        "sparkapplications", data=json.dumps(foreign).encode(),
        method="POST", headers={"Authorization": "Bearer " + TOKEN,
                                "Content-Type": "application/json"})
    urllib.request.urlopen(request, context=env.tls, timeout=10).read()
    second = env.start_host(["--jobs", jobs, "--db", db, "--submit", "etl",
                             "--exit-when-idle"])
    finish(second)
    failed = of(second, "failed")
    assert len(failed) == 1 and failed[0]["run"] == 2, second.events
    assert "conflict" in failed[0]["detail"], failed
    assert not of(second, "finished") and not of(second, "deploy_retry")
    assert "conflict: SparkApplication analytics/%s" % name in second.log()
    state = env.state()
    assert [a["metadata"]["name"] for a in state["apps"]] == [name]
    assert not state["deletes"].get("analytics/" + name)


@scenario
def refusal_loop(env):
    """9.4 / SPEC 2.5: the quota's status lags (it does not show usage the
    admission sees), so the probe keeps saying the head fits and the API
    server keeps refusing it. Refusals back off 1, 2, 4 ... s and the head
    timeout (2 s, no retries) runs from the first refusal: the head is
    cancelled quoting the refusal."""
    env.configure(stale_status={"analytics": True})
    env.set_quota("analytics", {"requests.cpu": "8"})
    env.external_usage("analytics", {"requests.cpu": "6"})
    config = os.path.join(env.dir, "config.json")
    with open(config, "w") as out:
        json.dump({"systemProperties": {
            "job-orchestrator.queue.head-timeout-seconds": 2,
            "job-orchestrator.queue.head-retry-count": 0}}, out)
    jobs = env.write_jobs([{"name": "etl", "namespace": "analytics",
                            "manifest": spark_manifest(instances=3)}])
    host = env.start_host(["--jobs", jobs, "--config", config, "--submit",
                           "etl"])
    time.sleep(6)
    host.kill(signal.SIGTERM)
    refused = [r for r in posts(env.state()) if r["status"] == 403]
    assert len(refused) <= 5, "%d refusals in 6 s" % len(refused)
    cancelled = of(host, "cancelled")
    assert cancelled and cancelled[0]["reason"] == "head_timeout", \
        host.events
    assert "exceeded quota" in cancelled[0]["detail"], cancelled


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthz(port):
    """(status, body) of the host's /healthz."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port,
                                    timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


@scenario
def misconfiguration(env):
    """9.5: a namespace without a ResourceQuota stops the host unless
    allowed; 403 on reads is logged once (not every cycle) with what to
    check, and when it clears."""
    jobs = env.write_jobs([{"name": "a", "namespace": "open",
                            "manifest": spark_manifest(run_ms=100)}])
    refused = env.start_host(["--jobs", jobs, "--submit", "a"])
    assert refused.wait(30) == 1
    assert "namespace open has no ResourceQuota" in refused.log()
    allowed = env.write_jobs({"jobs": [{"name": "a", "namespace": "open",
                                        "manifest": spark_manifest(
                                            run_ms=100)}],
                              "namespaces": {"open": {
                                  "allowWithoutQuota": True}}}, "ok.json")
    ok = env.start_host(["--jobs", allowed, "--submit", "a",
                         "--exit-when-idle"])
    finish(ok)
    assert of(ok, "finished")
    env.set_quota("analytics", {"requests.cpu": "16"})
    jobs = env.write_jobs([{"name": "a", "namespace": "analytics",
                            "request": {"cpu": "32"},
                            "manifest": spark_manifest(run_ms=100)}],
                          "b.json")
    # a head that never fits: its quota is read every cycle
    port = free_port()
    host = env.start_host(["--jobs", jobs, "--submit", "a",
                           "--port", str(port)])
    env.wait_for(lambda: healthz(port)[0] == 200, 20, "/healthz ok")
    env.add_faults({"method": "GET", "path": "resourcequotas",
                    "action": "status", "code": 403, "count": 30})
    env.wait_for(lambda: healthz(port)[0] == 503, 10, "/healthz 503")
    time.sleep(2.5)
    log = host.log()
    assert log.count("HTTP 403") == 1, log
    assert "Role and RoleBinding" in log
    env.wait_for(lambda: "works again" in host.log(), 20, "recovery")
    env.wait_for(lambda: healthz(port)[0] == 200, 20, "/healthz ok again")
    host.kill(signal.SIGTERM)


@scenario
def hung_namespace(env):
    """9.7: every request to one namespace hangs past the request timeout
    (1 s). The other namespace's runs go on: the hung one costs at most one
    timeout per cycle (no retries of a timeout)."""
    env.set_quota("fast", {"requests.cpu": "16"})
    env.set_quota("slow", {"requests.cpu": "16"})
    jobs = env.write_jobs([
        {"name": "f", "namespace": "fast", "manifest":
         spark_manifest(run_ms=100)},
        {"name": "s", "namespace": "slow", "manifest":
         spark_manifest(run_ms=100)}])
    env.add_faults({"path": "/namespaces/slow/", "action": "delay",
                    "ms": 3000, "count": -1})
    host = env.start_host(["--jobs", jobs, "--spool", env.spool,
                           "--request-timeout-ms", "1000", "--submit", "s",
                           "--submit", "f", "--submit", "f", "--submit",
                           "f"], tick_ms=200)
    started = time.monotonic()
    env.wait_for(lambda: len(of(host, "finished", "f")) == 3, 30,
                 "the fast namespace's runs")
    elapsed = time.monotonic() - started
    slow = [r for r in env.state()["requests"] if "/slow/" in r["path"]]
    host.kill(signal.SIGTERM)
    assert not of(host, "deployed", "s")
    # one timed-out request per cycle at most: cycles take >= 1 s now
    assert len(slow) <= elapsed / 1.0 + 2, (len(slow), elapsed)
    print("3 runs in the healthy namespace in %.1f s; %d hung requests" %
          (elapsed, len(slow)))


@scenario
def events_once_after_restarts(env):
    """9.6: with --db the host is killed (-9) again and again while runs
    finish; over all its lives no run's terminal event is printed twice."""
    env.set_quota("analytics", {"requests.cpu": "6"})
    jobs = env.write_jobs([{"name": "etl", "namespace": "analytics",
                            "manifest": spark_manifest(run_ms=150)}])
    db = os.path.join(env.dir, "state.db")
    for i in range(12):
        env.submit_file("r%02d" % i, {"job": "etl"})
    lives = []
    for _ in range(8):
        host = env.start_host(["--jobs", jobs, "--db", db, "--spool",
                               env.spool])
        lives.append(host)
        time.sleep(0.7)
        host.kill(signal.SIGKILL)
    last = env.start_host(["--jobs", jobs, "--db", db, "--spool", env.spool,
                           "--exit-when-idle"])
    lives.append(last)
    finish(last, timeout=60)
    terminal = {}
    for host in lives:
        for e in host.events:
            if e["event"] in ("finished", "failed", "cancelled"):
                terminal.setdefault(e["run"], []).append(e["event"])
    twice = {run: ev for run, ev in terminal.items() if len(ev) > 1}
    assert not twice, twice
    assert_no_duplicates(env.state())
    print("%d runs with a terminal event over %d lives" % (len(terminal),
                                                           len(lives)))


@scenario
def cleanup_modes(env):
    """9.7: ended runs' applications are deleted once recorded (default),
    kept, or given spec.timeToLiveSeconds; lists ask for ours only."""
    env.set_quota("analytics", {"requests.cpu": "16"})
    jobs = env.write_jobs([{"name": "a", "namespace": "analytics",
                            "manifest": spark_manifest(run_ms=100)}])
    host = env.start_host(["--jobs", jobs, "--submit", "a", "--cleanup",
                           "ttl=600", "--exit-when-idle"])
    finish(host)
    (app,) = env.state()["apps"]
    assert app["spec"]["timeToLiveSeconds"] == 600, app["spec"]
    keep = env.start_host(["--jobs", jobs, "--submit", "a", "--cleanup",
                           "keep", "--exit-when-idle"])
    finish(keep)
    assert len(env.state()["apps"]) == 2
    gone = env.start_host(["--jobs", jobs, "--submit", "a",
                           "--exit-when-idle"])
    finish(gone)
    state = env.state()
    assert len(state["apps"]) == 2 and len(state["creates"]) == 3
    lists = [r for r in state["requests"] if r["method"] == "GET" and
             r["path"].endswith("sparkapplications") is False and
             "sparkapplications?" in r["path"]]
    assert lists and all("labelSelector=jobq.io%2Fdb-id%3D" in r["path"]
                         for r in lists), lists[:3]

# ------------------------------------------------------------------ main


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in SCENARIOS:
        sys.stderr.write("usage: test_e2e.py HOST_BINARY {%s}\n" %
                         "|".join(SCENARIOS))
        return 2
    env = Env(sys.argv[1])
    status = 0
    try:
        SCENARIOS[sys.argv[2]](env)
        print("ok - %s" % sys.argv[2])
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
