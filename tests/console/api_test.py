#!/usr/bin/python3
"""The console's JSON API on jobq-k8s-host (against fake_apiserver.py):
good answers, and bad inputs (bad ids, bad JSON, unknown fields and
parameters, oversized bodies, wrong methods, missing or wrong tokens)
that must get a 4xx with a JSON error body, never a 5xx or a crash.

    api_test.py JOBQ-K8S-HOST [JOBQ-CONSOLE]

With JOBQ-CONSOLE, also: jobq-console over the host's database acts
through the live-control request path (a client handle) while the host
schedules, and the host applies the requests.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "monitoring"))
from harness import Tap  # noqa: E402
import console_env as ce  # noqa: E402

HOST = sys.argv[1]
CONSOLE = sys.argv[2] if len(sys.argv) > 2 else None
AUTH = {"Authorization": "Bearer " + ce.ADMIN_TOKEN}


def refused(base, method, path, status, body=None, raw=None, headers=None,
            field=None):
    got, doc = ce.request(method, base + path, body=body, raw=raw,
                          headers=headers)
    assert got == status, (method, path, got, doc)
    assert isinstance(doc, dict) and doc.get("error"), (path, doc)
    assert doc["status"] == status, doc
    if field:
        assert doc.get("field") == field, doc


def bad_inputs(base):
    cases = [
        ("GET", "/api/v1/runs/abc", 400, "id"),
        ("GET", "/api/v1/runs/0", 400, "id"),
        ("GET", "/api/v1/runs/-1", 400, "id"),
        ("GET", "/api/v1/runs/99999999999999999999", 400, "id"),
        ("GET", "/api/v1/runs/%00", 400, "id"),
        ("GET", "/api/v1/runs/424242", 404, "id"),
        ("GET", "/api/v1/runs?priority=urgent", 400, "priority"),
        ("GET", "/api/v1/runs?state=sleeping", 400, "state"),
        ("GET", "/api/v1/runs?limit=0", 400, "limit"),
        ("GET", "/api/v1/runs?limit=100000", 400, "limit"),
        ("GET", "/api/v1/runs?offset=-3", 400, "offset"),
        ("GET", "/api/v1/runs?offset=1e3", 400, "offset"),
        ("GET", "/api/v1/runs?colour=red", 400, "colour"),
        ("GET", "/api/v1/search", 400, "q"),
        ("GET", "/api/v1/search?q=", 400, "q"),
        ("GET", "/api/v1/search?q=" + "x" * 300, 400, "q"),
        ("GET", "/api/v1/events?limit=x", 400, "limit"),
        ("GET", "/api/v1/properties/no.such.key", 404, None),
        ("GET", "/api/v1/nothing", 404, None),
        ("DELETE", "/api/v1/runs/1", 405, None),
        ("PUT", "/api/v1/overview", 405, None),
        ("POST", "/api/v1/runs", 405, None),
        ("GET", "/api/v1/runs/1/cancel", 405, None),
        ("POST", "/api/v1/runs/1/explode", 404, None),
        ("GET", "/api/v1/migrate-to-legacy", 405, None),
    ]
    for method, path, status, field in cases:
        refused(base, method, path, status, field=field)


def bad_bodies(base):
    cancel = "/api/v1/runs/2/cancel"
    refused(base, "POST", cancel, 400, raw=b"{not json", headers=AUTH)
    refused(base, "POST", cancel, 400, raw=b"[1,2]", headers=AUTH)
    refused(base, "POST", cancel, 400, raw=b'{"detail": "x"} trailing',
            headers=AUTH)
    refused(base, "POST", cancel, 400, body={"detail": 5}, headers=AUTH,
            field="detail")
    refused(base, "POST", cancel, 400, body={"why": "x"}, headers=AUTH,
            field="why")
    refused(base, "POST", cancel, 400, raw=b'{"detail":"a\x00b"}',
            headers=AUTH)
    refused(base, "POST", cancel, 413, raw=b"x" * 100000, headers=AUTH)
    refused(base, "PUT", "/api/v1/properties/"
            "job-orchestrator.queue.head-timeout-seconds", 400,
            body={"valeu": 5}, headers=AUTH, field="valeu")
    refused(base, "PUT", "/api/v1/properties/"
            "job-orchestrator.queue.head-timeout-seconds", 400,
            body={}, headers=AUTH, field="value")
    refused(base, "POST", "/api/v1/migrate-to-legacy", 400, body={},
            headers=AUTH, field="confirm")
    refused(base, "GET", "/api/v1/overview", 413, raw=b"x" * 10)
    # Chunked, with no Content-Length to refuse it by: read, dropped, 413.
    import http.client
    import json as json_module
    from urllib.parse import urlparse
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("POST", cancel, body=iter([b"x" * 8192] * 16),
                 headers=dict(AUTH, **{"Transfer-Encoding": "chunked"}),
                 encode_chunked=True)
    resp = conn.getresponse()
    doc = json_module.loads(resp.read())
    assert resp.status == 413 and doc["status"] == 413, (resp.status, doc)
    conn.close()
    # The run was not touched by any of that.
    _, doc = ce.request("GET", base + "/api/v1/runs/2")
    assert doc["run"]["state"] == "queued", doc["run"]


def tokens(base):
    cancel = "/api/v1/runs/3/cancel"
    refused(base, "POST", cancel, 401)
    refused(base, "POST", cancel, 401, headers={"Authorization": "Bearer x"})
    refused(base, "POST", cancel, 401,
            headers={"X-Jobq-Token": ce.ADMIN_TOKEN[:-1]})
    refused(base, "POST", cancel, 401,
            headers={"Cookie": "token=" + ce.ADMIN_TOKEN})
    _, doc = ce.request("GET", base + "/api/v1/runs/3")
    assert doc["run"]["state"] == "queued", doc["run"]


def actions(base):
    status, doc = ce.request("POST", base + "/api/v1/runs/3/cancel",
                             body={"detail": "api test"},
                             headers={"X-Jobq-Token": ce.ADMIN_TOKEN})
    assert status == 200, doc
    _, doc = ce.request("GET", base + "/api/v1/runs/3")
    assert doc["run"]["state"] == "cancelled", doc["run"]
    assert doc["run"]["detail"] == "api test", doc["run"]
    refused(base, "POST", "/api/v1/runs/3/cancel", 409, headers=AUTH)
    key = "/api/v1/properties/job-orchestrator.queue.head-retry-count"
    status, doc = ce.request("PUT", base + key, body={"value": 3},
                             headers=AUTH)
    assert status == 200 and doc["value"] == 3, doc
    status, doc = ce.request("GET", base + key)
    assert status == 200 and doc["value"] == 3, doc
    refused(base, "PUT", key, 400, body={"value": "three"}, headers=AUTH,
            field="job-orchestrator.queue.head-retry-count")


def reads(base):
    status, doc = ce.request("GET", base + "/api/v1/overview")
    assert status == 200 and doc["read_only"] is False, doc
    status, doc = ce.request(
        "GET", base + "/api/v1/runs?namespace=ml-team&priority=high"
        "&state=queued&limit=2&offset=1")
    assert status == 200 and doc["order"] == "queue", doc
    assert [r["position"] for r in doc["runs"]] == [1, 2], doc["runs"]
    # Every page of a queue (jobq_queue_runs) agrees with the queue taken
    # from a newest-first listing (ascending ids are queue order), and the
    # overview names the same head.
    q = "/api/v1/runs?namespace=ml-team&priority=high&state=queued"
    _, listed = ce.request("GET", base + "/api/v1/runs?namespace=ml-team"
                           "&state=queued&limit=500")
    order = sorted(r["id"] for r in listed["runs"] if r["priority"] == "high")
    assert len(order) >= 2, listed
    for limit in (1, 2, 3):
        for offset in range(len(order) + 2):
            _, page = ce.request("GET", base + q +
                                 f"&limit={limit}&offset={offset}")
            assert page["total"] == len(order), page
            assert [r["id"] for r in page["runs"]] == \
                order[offset:offset + limit], (offset, limit, page)
            assert [r["position"] for r in page["runs"]] == \
                list(range(offset, min(offset + limit, len(order)))), page
    _, overview = ce.request("GET", base + "/api/v1/overview")
    [queue] = [x for x in overview["queues"]
               if x["namespace"] == "ml-team" and x["priority"] == "high"]
    assert queue["length"] == len(order), queue
    assert queue["head"]["id"] == order[0], queue
    status, doc = ce.request("GET", base + "/api/v1/runs?limit=2")
    assert status == 200 and doc["more"] is True and doc["total"] is None
    ids = [r["id"] for r in doc["runs"]]
    assert len(ids) == 2 and ids[0] > ids[1], ids
    status, doc = ce.request("GET", base + "/api/v1/runs?namespace=ml-team"
                             "&state=queued&limit=500")
    assert doc["more"] is False and doc["total"] == len(doc["runs"]) == 4, doc
    status, doc = ce.request("GET", base + "/api/v1/search?q=trai")
    assert status == 200 and doc["runs"], doc
    assert all(r["job"] == "train" for r in doc["runs"])
    status, doc = ce.request("GET", base + "/api/v1/events")
    assert status == 200 and isinstance(doc["events"], list), doc
    status, doc = ce.request("GET", base + "/api/v1/properties")
    keys = [p["key"] for p in doc["properties"]]
    assert "job-orchestrator.queue.head-timeout-seconds" in keys, keys
    status, text = ce.request("GET", base + "/healthz")
    assert status == 200 and text == "ok\n", (status, text)


def host_uses_client_handle(host):
    assert "own handle" not in host.log(), host.log()[-2000:]


def standalone_acts_through_requests(env, base):
    db = os.path.join(env.dir, "jobq.db")
    token = os.path.join(env.dir, "admin-token")
    proc = subprocess.Popen([CONSOLE, "--db", db, "--port", "0",
                             "--token-file", token],
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        m = re.search(r"serving (http://[^/]+)/", line)
        assert m and "admin token" in line, line
        other = m.group(1)
        status, doc = ce.request("POST", other + "/api/v1/runs/4/cancel",
                                 body={"detail": "from jobq-console"},
                                 headers=AUTH)
        assert status == 200, doc
        _, doc = ce.request("GET", base + "/api/v1/runs/4")
        assert doc["run"]["state"] == "cancelled", doc["run"]
        assert doc["run"]["detail"] == "from jobq-console", doc["run"]
        key = "/api/v1/properties/job-orchestrator.queue.head-retry-count"
        status, doc = ce.request("PUT", other + key, body={"value": -1},
                                 headers=AUTH)
        assert status == 400 and doc["field"] == key.split("/")[-1], doc
        status, doc = ce.request("PUT", other + key, body={"value": 5},
                                 headers=AUTH)
        assert status == 200, doc
        _, doc = ce.request("GET", base + key)
        assert doc["value"] == 5, doc
        refused(other, "POST", "/api/v1/runs/4/cancel", 409, headers=AUTH)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.wait(timeout=10)


def still_serving(base, host):
    assert host.process.poll() is None, host.log()[-2000:]
    status, _ = ce.request("GET", base + "/api/v1/overview")
    assert status == 200


def main():
    tap = Tap()
    env, host, base = ce.start(HOST, small_runs=4)
    try:
        ce.wait_blocked_head(base)
        tap.check("reads answer", reads, base)
        tap.check("bad ids, parameters, paths and methods are 4xx with a "
                  "JSON error", bad_inputs, base)
        tap.check("bad bodies are 4xx with a JSON error", bad_bodies, base)
        tap.check("missing, wrong or cookie tokens are refused", tokens,
                  base)
        tap.check("actions with the token", actions, base)
        tap.check("the host's actions go through a client handle",
                  host_uses_client_handle, host)
        if CONSOLE:
            tap.check("jobq-console acts through the request path while "
                      "the host schedules", standalone_acts_through_requests,
                      env, base)
        tap.check("the host is still serving", still_serving, base, host)
    finally:
        env.close()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
