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
