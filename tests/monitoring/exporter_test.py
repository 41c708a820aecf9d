#!/usr/bin/python3
"""jobq-exporter as an operator meets it: its command line, its HTTP
endpoints, promtool's verdict on /metrics, a burst of concurrent scrapes,
and a clean stop on SIGTERM.

    exporter_test.py JOBQ-EXPORTER SCENARIO.json
"""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Children, Tap, http, need_program, start_exporter  # noqa: E402

EXPORTER, SCENARIO = sys.argv[1], sys.argv[2]
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def run_cli(*args):
    return subprocess.run([EXPORTER, *args], capture_output=True, text=True,
                          timeout=10)


def refused(args, words):
    def check():
        r = run_cli(*args)
        assert r.returncode == 2, f"exit {r.returncode}, stderr {r.stderr!r}"
        assert r.stdout == "", f"stdout {r.stdout!r}"
        for word in words:
            assert word in r.stderr, f"{word!r} not in {r.stderr!r}"
    return check


def help_works():
    r = run_cli("--help")
    assert r.returncode == 0
    for word in ("--scenario", "--speed", "--listen", "--port", "/metrics"):
        assert word in r.stdout, word


def missing_scenario_file():
    r = run_cli("--scenario", "/nonexistent/scenario.json")
    assert r.returncode == 1 and "cannot read" in r.stderr, r.stderr


def bad_scenario(tmp):
    path = os.path.join(tmp, "bad.json")
    with open(path, "w") as f:
        f.write('{"namespaces": {}, "runs": [{"id": "x"}]}')
    r = run_cli("--scenario", path, "--port", "0")
    assert r.returncode == 1, r.returncode
    assert "runs[" in r.stderr, r.stderr


def metrics_served(base):
    status, headers, body = http("GET", base + "/metrics")
    assert status == 200, status
    assert headers["Content-Type"] == CONTENT_TYPE, headers["Content-Type"]
    text = body.decode()
    for family in ("jobq_queue_length", "jobq_runs_total",
                   "jobq_wait_seconds", "jobq_cycle_duration_seconds"):
        assert f"# TYPE {family} " in text, family


def promtool_accepts(promtool, base):
    for _ in range(3):  # three scrapes at different moments of the run
        _, _, body = http("GET", base + "/metrics")
        r = subprocess.run([promtool, "check", "metrics"], input=body,
                           capture_output=True, timeout=30)
        problems = (r.stdout + r.stderr).decode().strip()
        assert r.returncode == 0 and not problems, problems
        time.sleep(0.5)


def healthz(base):
    status, _, body = http("GET", base + "/healthz")
    assert status == 200 and body == b"ok\n", (status, body)


def unknown_path_is_404(base):
    for path in ("/", "/metric", "/metrics/x", "/../etc/passwd"):
        status, _, _ = http("GET", base + path)
        assert status == 404, (path, status)


def other_methods_are_405(base):
    for method in ("POST", "PUT", "DELETE"):
        status, headers, _ = http(method, base + "/metrics")
        assert status == 405, (method, status)
        assert headers["Allow"] == "GET, HEAD", headers["Allow"]
    status, _, body = http("HEAD", base + "/metrics")
    assert status == 200 and body == b"", (status, body)


def burst(base, threads=20, each=10):
    results = []
    lock = threading.Lock()

    def scrape():
        for _ in range(each):
            try:
                status, _, body = http("GET", base + "/metrics", timeout=20)
                good = status == 200 and body.endswith(b"\n") and \
                    b"# TYPE jobq_cycle_duration_seconds histogram" in body
            except Exception as exc:  # count it, report below
                good = repr(exc)
            with lock:
                results.append(good)

    workers = [threading.Thread(target=scrape) for _ in range(threads)]
    started = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    elapsed = time.monotonic() - started
    bad = [r for r in results if r is not True]
    assert len(results) == threads * each, len(results)
    assert not bad, f"{len(bad)} bad answers, e.g. {bad[:3]}"
    print(f"# {len(results)} scrapes from {threads} threads in "
          f"{elapsed:.2f} s", flush=True)


def still_up(proc, base):
    assert proc.poll() is None, "the exporter exited"
    healthz(base)


def stops_on_sigterm(children, proc):
    started = time.monotonic()
    status = children.stop(proc, timeout=5)
    assert status == 0, status
    assert time.monotonic() - started < 3, "slow to stop"


def main():
    promtool = need_program("/usr/bin/promtool")
    tap = Tap()
    for args, words in [
            (["--bogus"], ["unknown option --bogus", "--help"]),
            ([], ["--scenario"]),
            (["--scenario", SCENARIO, "--speed", "fast"], ["--speed", "fast"]),
            (["--scenario", SCENARIO, "--speed", "0"], ["--speed"]),
            (["--scenario", SCENARIO, "--port", "65536"], ["--port"]),
            (["--scenario", SCENARIO, "--port", "80.5"], ["--port"]),
            (["--scenario", SCENARIO, "--listen", "localhost:1"], ["--listen"]),
            (["--scenario", SCENARIO, "--at-end", "never"], ["--at-end"]),
            (["--scenario"], ["needs a value"]),
            (["--scenario", SCENARIO, "--store", "jobq.db"],
             ["mutually exclusive"]),
            (["--scenario", SCENARIO, "extra"], ["unexpected argument"])]:
        tap.check(f"refuses {' '.join(args) or 'no arguments'}",
                  refused(args, words))
    tap.check("--help", help_works)
    tap.check("a missing scenario file is an error", missing_scenario_file)
    with Children("jobq-exporter-test-") as children:
        tap.check("a bad scenario is an error naming the field", bad_scenario,
                  children.tmp)
        proc, base = start_exporter(children, EXPORTER, SCENARIO,
                                    "--speed", "2000", "--at-end", "loop")
        tap.check("/metrics answers with the 0.0.4 content type",
                  metrics_served, base)
        tap.check("promtool check metrics finds no problem",
                  promtool_accepts, promtool, base)
        tap.check("/healthz answers ok", healthz, base)
        tap.check("unknown paths are 404", unknown_path_is_404, base)
        tap.check("methods other than GET and HEAD are 405",
                  other_methods_are_405, base)
        tap.check("200 concurrent scrapes from 20 threads all answered",
                  burst, base)
        tap.check("still up after the burst", still_up, proc, base)
        tap.check("stops cleanly on SIGTERM", stops_on_sigterm, children,
                  proc)
        # The scenario restarts about every 0.1 s: scrapes race the swap of
        # one simulation for the next.
        proc, base = start_exporter(children, EXPORTER, SCENARIO,
                                    "--speed", "200000", "--at-end", "loop")
        tap.check("scrapes while the scenario loops fast all answered",
                  burst, base)
        tap.check("still up while looping", still_up, proc, base)
        tap.check("stops cleanly while looping", stops_on_sigterm, children,
                  proc)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
