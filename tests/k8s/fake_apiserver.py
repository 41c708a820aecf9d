#!/usr/bin/python3
"""A protocol-faithful Kubernetes API server double for the k8s host tests.

It speaks HTTPS on 127.0.0.1 (certificate made at test time), demands a
bearer token or a client certificate signed by the test CA (401 Status
otherwise), and serves just what jobq-k8s-host uses:

  GET    /api/v1/namespaces/NS/resourcequotas            ResourceQuotaList
  POST   /apis/sparkoperator.k8s.io/v1beta2/namespaces/NS/sparkapplications
  GET    .../sparkapplications[?labelSelector=k=v,...]    SparkApplicationList
  GET    .../sparkapplications/NAME
  DELETE .../sparkapplications/NAME

with the real error bodies (kind Status, reason NotFound / AlreadyExists /
Forbidden / Invalid / InternalError / TooManyRequests, code), quota
admission on create (403 "exceeded quota: QUOTA, requested: ..., used: ...,
limited: ..."), or, per namespace, asynchronous quota failure by the
simulated Spark operator (SUBMISSION_FAILED with the same message).
ResourceQuota status.used follows the pods, cpu and memory of the live
SparkApplications plus any "external" usage a test injects.

The simulated operator moves each application "" -> SUBMITTED -> RUNNING ->
COMPLETED on a timer (per app: annotations jobq-test/submit-ms, run-ms and
outcome=FAILED; defaults from /_test/config).

Test-only control endpoints (no auth), JSON in and out:
  GET  /_test/state      apps, create/delete counts, request log, peaks
  POST /_test/quota      {"namespace","name","hard":{...}}   (hard null: delete)
  POST /_test/external   {"namespace","used":{key: qty},"on_next_create":bool,
                          "release_after_ms":N}
  POST /_test/faults     {"faults":[{method,path,action,code,ms,commit,count,
                          retry_after}]} or {"clear":true}
  POST /_test/config     {"submit_ms","run_ms","quota_mode":{NS:"sync"|"async"}}
  POST /_test/token      {"token"}: the bearer token accepted from now on
  POST /_test/shutdown

Usage: fake_apiserver.py --cert-dir DIR --token TOKEN --port-file FILE
"""

import argparse
import decimal
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

SPARK_PREFIX = "/apis/sparkoperator.k8s.io/v1beta2/namespaces/"
QUOTA_RE = re.compile(r"^/api/v1/namespaces/([^/]+)/resourcequotas$")
APPS_RE = re.compile(r"^/apis/sparkoperator\.k8s\.io/v1beta2/namespaces/"
                     r"([^/]+)/sparkapplications(?:/([^/]+))?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
TERMINAL = ("COMPLETED", "FAILED", "SUBMISSION_FAILED")
MIB = 1 << 20

# ------------------------------------------------------------ quantities

SUFFIXES = {"": 1, "m": decimal.Decimal("0.001"), "k": 10**3, "M": 10**6,
            "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
            "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50,
            "Ei": 2**60}
QUANTITY_RE = re.compile(r"^([0-9.]+)(e[0-9]+|[a-zA-Z]*)$")


def parse_quantity(text):
    """A Kubernetes quantity as a Decimal in base units."""
    match = QUANTITY_RE.match(str(text))
    if not match:
        raise ValueError("bad quantity %r" % (text,))
    number, suffix = decimal.Decimal(match.group(1)), match.group(2)
    if suffix.startswith("e"):
        return number * (10 ** int(suffix[1:]))
    return number * SUFFIXES[suffix]


def dimension_of(key):
    if key in ("requests.cpu", "cpu"):
        return "cpu"
    if key in ("requests.memory", "memory"):
        return "memory"
    if key == "pods":
        return "pods"
    if key == "requests.storage":
        return "storage"
    return None


def base_amount(key, text):
    """cpu in millicores, everything else in its unit, as an int (ceil)."""
    value = parse_quantity(text)
    if dimension_of(key) == "cpu":
        value *= 1000
    return int(value.to_integral_value(rounding=decimal.ROUND_CEILING))


def format_amount(key, amount):
    if dimension_of(key) == "cpu":
        return str(amount // 1000) if amount % 1000 == 0 else "%dm" % amount
    if dimension_of(key) in ("memory", "storage") and amount:
        for suffix, size in (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40),
                             ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
            if amount % size == 0:
                return "%d%s" % (amount // size, suffix)
    return str(amount)

# ------------------------------------------------------ spark demand


def spark_bytes(text):
    match = re.match(r"^([0-9]+)([a-zA-Z]*)$", str(text))
    units = {"": MIB, "b": 1, "k": 2**10, "kb": 2**10, "m": MIB, "mb": MIB,
             "g": 2**30, "gb": 2**30, "t": 2**40, "tb": 2**40}
    if not match or match.group(2).lower() not in units:
        raise ValueError("bad Spark memory %r" % (text,))
    return int(match.group(1)) * units[match.group(2).lower()]


def app_demand(spec):
    """{cpu (milli), memory (bytes), pods} of a SparkApplication spec: an
    independent rendering of Spark's pod sizing (memory + max(factor x
    memory, 384 MiB); 0.1 JVM, 0.4 Python/R)."""
    factor = 0.4 if spec.get("type") in ("Python", "R") else 0.1
    if "memoryOverheadFactor" in spec:
        factor = float(spec["memoryOverheadFactor"])

    def pod(role):
        pod_spec = spec.get(role) or {}
        memory = spark_bytes(pod_spec.get("memory", "1g"))
        if "memoryOverhead" in pod_spec:
            overhead = spark_bytes(pod_spec["memoryOverhead"])
        else:
            overhead = max(int(factor * (memory // MIB)), 384) * MIB
        if "coreRequest" in pod_spec:
            cpu = base_amount("cpu", pod_spec["coreRequest"])
        else:
            cpu = int(round(float(pod_spec.get("cores", 1)) * 1000))
        return cpu, memory + overhead

    executors = int((spec.get("executor") or {}).get("instances", 1))
    driver_cpu, driver_memory = pod("driver")
    executor_cpu, executor_memory = pod("executor")
    return {"cpu": driver_cpu + executors * executor_cpu,
            "memory": driver_memory + executors * executor_memory,
            "pods": 1 + executors, "storage": 0}

# ---------------------------------------------------------------- state


def status_body(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason,
            "code": code}
    if details:
        body["details"] = details
    return body


def app_details(name):
    return {"name": name, "group": "sparkoperator.k8s.io",
            "kind": "sparkapplications"}


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Cluster:
    def __init__(self):
        self.lock = threading.RLock()
        self.quotas = {}          # ns -> name -> {"hard": {key: text}}
        self.external = {}        # ns -> {dimension: amount}
        self.pending_external = {}  # ns -> (amounts, release_after_ms)
        self.apps = {}            # (ns, name) -> object
        self.timeline = {}        # (ns, name) -> dict of times
        self.creates = {}         # "ns/name" -> successful creates
        self.deletes = {}         # "ns/name" -> successful deletes
        self.requests = []        # the request log
        self.faults = []
        self.quota_mode = {}      # ns -> "sync" | "async"
        self.submit_ms = 100
        self.run_ms = 500
        self.version = 1
        self.peak_live = {}       # ns -> most live apps at once
        self.peak_per_run = {}    # "ns/run-id" -> most objects at once
        self.over_quota = []      # admissions that exceeded a quota

    # -------------------------------------------------------- usage
    def live_usage(self, ns, exclude=None):
        usage = {"cpu": 0, "memory": 0, "pods": 0, "storage": 0}
        for (app_ns, name), app in self.apps.items():
            if app_ns != ns or name == exclude:
                continue
            if app["status"]["applicationState"]["state"] in TERMINAL:
                continue
            for dimension, amount in app_demand(app["spec"]).items():
                usage[dimension] += amount
        for dimension, amount in self.external.get(ns, {}).items():
            usage[dimension] += amount
        return usage

    def quota_violation(self, ns, name, demand, exclude=None):
        """The quota message if admitting `demand` exceeds a quota."""
        usage = self.live_usage(ns, exclude)
        for quota_name, quota in sorted(self.quotas.get(ns, {}).items()):
            requested, used, limited = [], [], []
            for key, hard_text in sorted(quota["hard"].items()):
                dimension = dimension_of(key)
                if dimension is None:
                    continue
                hard = base_amount(key, hard_text)
                if usage[dimension] + demand[dimension] > hard:
                    requested.append("%s=%s" % (key, format_amount(
                        key, demand[dimension])))
                    used.append("%s=%s" % (key, format_amount(
                        key, usage[dimension])))
                    limited.append("%s=%s" % (key, hard_text))
            if requested:
                return ("exceeded quota: %s, requested: %s, used: %s, "
                        "limited: %s" % (quota_name, ",".join(requested),
                                         ",".join(used), ",".join(limited)))
        return None

    def quota_object(self, ns, name, quota):
        usage = self.live_usage(ns)
        used = {}
        for key in quota["hard"]:
            dimension = dimension_of(key)
            if dimension:
                used[key] = format_amount(key, usage[dimension])
        return {"apiVersion": "v1", "kind": "ResourceQuota",
                "metadata": {"name": name, "namespace": ns,
                             "resourceVersion": str(self.version)},
                "spec": {"hard": dict(quota["hard"])},
                "status": {"hard": dict(quota["hard"]), "used": used}}

    def record_peaks(self, ns):
        live = sum(1 for (app_ns, _), app in self.apps.items()
                   if app_ns == ns and
                   app["status"]["applicationState"]["state"] not in TERMINAL)
        self.peak_live[ns] = max(self.peak_live.get(ns, 0), live)
        per_run = {}
        for (app_ns, _), app in self.apps.items():
            run = app["metadata"].get("labels", {}).get("jobq.io/run-id")
            key = "%s/%s" % (app_ns, run)
            per_run[key] = per_run.get(key, 0) + 1
        for key, count in per_run.items():
            self.peak_per_run[key] = max(self.peak_per_run.get(key, 0), count)

    def apply_pending_external(self, ns):
        pending = self.pending_external.pop(ns, None)
        if pending:
            self.set_external(ns, pending[0], pending[1])

    def set_external(self, ns, amounts, release_after_ms):
        self.external[ns] = amounts
        if release_after_ms:
            def release():
                time.sleep(release_after_ms / 1000.0)
                with self.lock:
                    if self.external.get(ns) is amounts:
                        self.external.pop(ns, None)
            threading.Thread(target=release, daemon=True).start()

    # ---------------------------------------------------- operator
    def operator_step(self):
        now = time.monotonic()
        with self.lock:
            for key, app in list(self.apps.items()):
                self.advance(key, app, now)

    def advance(self, key, app, now):
        times = self.timeline[key]
        state = app["status"]["applicationState"]
        annotations = app["metadata"].get("annotations", {})
        submit_ms = int(annotations.get("jobq-test/submit-ms", self.submit_ms))
        run_ms = int(annotations.get("jobq-test/run-ms", self.run_ms))
        elapsed = (now - times["created"]) * 1000
        if state["state"] == "" and elapsed >= submit_ms:
            self.submit(key, app, state)
        elif state["state"] == "SUBMITTED" and elapsed >= 2 * submit_ms:
            state["state"] = "RUNNING"
        elif state["state"] == "RUNNING" and elapsed >= 2 * submit_ms + run_ms:
            if annotations.get("jobq-test/outcome") == "FAILED":
                state["state"] = "FAILED"
                state["errorMessage"] = ("driver container failed with "
                                         "ExitCode: 1, Reason: Error")
            else:
                state["state"] = "COMPLETED"
            app["status"]["terminationTime"] = now_rfc3339()
            self.version += 1

    def submit(self, key, app, state):
        ns, name = key
        app["status"]["submissionAttempts"] = 1
        app["status"]["lastSubmissionAttemptTime"] = now_rfc3339()
        self.version += 1
        if self.quota_mode.get(ns) == "async":
            message = self.quota_violation(ns, name, app_demand(app["spec"]),
                                           exclude=name)
            if message:
                state["state"] = "SUBMISSION_FAILED"
                state["errorMessage"] = (
                    "failed to run spark-submit for SparkApplication %s/%s: "
                    "pods \"%s-driver\" is forbidden: %s" % (ns, name, name,
                                                             message))
                return
        state["state"] = "SUBMITTED"
        app["status"]["driverInfo"] = {"podName": name + "-driver"}


CLUSTER = Cluster()
OPTIONS = None

# ---------------------------------------------------------------- faults


def take_fault(method, path):
    with CLUSTER.lock:
        for fault in CLUSTER.faults:
            if fault.get("count", 1) == 0:
                continue
            if fault.get("method", "*") not in ("*", method):
                continue
            if fault.get("path", "") not in path:
                continue
            if fault.get("count", 1) > 0:
                fault["count"] = fault.get("count", 1) - 1
            return dict(fault)
    return None

# --------------------------------------------------------------- handler


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver/1.0"

    def log_message(self, fmt, *args):
        if os.environ.get("FAKE_APISERVER_DEBUG"):
            sys.stderr.write("fake-apiserver: " + fmt % args + "\n")

    # ------------------------------------------------------ plumbing
    def send_json(self, code, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def authenticated(self):
        header = self.headers.get("Authorization", "")
        if header == "Bearer " + OPTIONS.token:
            return True
        try:
            certificate = self.connection.getpeercert()
        except (AttributeError, ValueError):
            certificate = None
        return bool(certificate)

    def log_request_result(self, method, path, status, fault=None):
        with CLUSTER.lock:
            CLUSTER.requests.append({"method": method, "path": path,
                                     "status": status, "fault": fault,
                                     "t": time.time()})

    # ------------------------------------------------------ dispatch
    def handle_any(self, method):
        url = urlsplit(self.path)
        path = unquote(url.path)
        body = self.read_body()
        if path.startswith("/_test/"):
            return self.control(method, path, body)
        if not self.authenticated():
            self.log_request_result(method, self.path, 401)
            return self.send_json(401, status_body(401, "Unauthorized",
                                                   "Unauthorized"))
        def process():
            return self.api(method, path, url.query, body)
        fault = take_fault(method, self.path)
        if fault:
            return self.apply_fault(method, fault, process)
        code, response, headers = process()
        self.log_request_result(method, self.path, code)
        self.send_json(code, response, headers)

    def apply_fault(self, method, fault, process):
        """Inject a fault. With "commit" the request takes effect first and
        only its answer is lost, late or replaced (a create that happened
        although the client saw an error)."""
        committed = process() if fault.get("commit") else None
        action = fault.get("action", "status")
        if action == "delay":
            if committed:  # logged when it took effect, not when answered
                self.log_request_result(method, self.path, committed[0],
                                        "delay")
            time.sleep(fault.get("ms", 1000) / 1000.0)
            code, response, headers = committed or process()
            if not committed:
                self.log_request_result(method, self.path, code, "delay")
            try:
                self.send_json(code, response, headers)
            except OSError:
                pass
            return
        if action == "drop":
            self.log_request_result(method, self.path, None, "drop")
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        code = fault.get("code", 500)
        reasons = {429: "TooManyRequests", 500: "InternalError",
                   503: "ServiceUnavailable", 504: "Timeout"}
        headers = {}
        if "retry_after" in fault:
            headers["Retry-After"] = str(fault["retry_after"])
        self.log_request_result(method, self.path, code, "status")
        self.send_json(code, status_body(
            code, reasons.get(code, "InternalError"),
            "Internal error occurred: injected fault (%d)" % code), headers)

    def do_GET(self):
        self.handle_any("GET")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_POST(self):
        self.handle_any("POST")

    # --------------------------------------------------------- API
    def api(self, method, path, query, body):
        match = QUOTA_RE.match(path)
        if match and method == "GET":
            return self.list_quotas(match.group(1))
        match = APPS_RE.match(path)
        if match:
            ns, name = match.group(1), match.group(2)
            if method == "POST" and not name:
                return self.create_app(ns, body)
            if method == "GET" and not name:
                return self.list_apps(ns, parse_qs(query))
            if method == "GET":
                return self.get_app(ns, name)
            if method == "DELETE" and name:
                return self.delete_app(ns, name)
            return 405, status_body(405, "MethodNotAllowed",
                                    "the server does not allow this method "
                                    "on the requested resource"), None
        return 404, status_body(404, "NotFound", "the server could not find "
                                "the requested resource"), None

    def list_quotas(self, ns):
        with CLUSTER.lock:
            items = [CLUSTER.quota_object(ns, name, quota) for name, quota in
                     sorted(CLUSTER.quotas.get(ns, {}).items())]
            return 200, {"apiVersion": "v1", "kind": "ResourceQuotaList",
                         "metadata": {"resourceVersion":
                                      str(CLUSTER.version)},
                         "items": items}, None

    def create_app(self, ns, body):
        try:
            app = json.loads(body)
        except ValueError:
            return 400, status_body(400, "BadRequest", "the body is not "
                                    "JSON"), None
        metadata = app.get("metadata") or {}
        name = metadata.get("name", "")
        if (app.get("apiVersion") != "sparkoperator.k8s.io/v1beta2" or
                app.get("kind") != "SparkApplication"):
            return 400, status_body(400, "BadRequest", "wrong apiVersion or "
                                    "kind"), None
        if metadata.get("namespace", ns) != ns:
            return 400, status_body(400, "BadRequest", "the namespace of the "
                                    "provided object does not match the "
                                    "namespace sent on the request"), None
        if not DNS_LABEL.match(name) or len(name) > 63:
            return 422, status_body(
                422, "Invalid", 'SparkApplication.sparkoperator.k8s.io "%s" '
                'is invalid: metadata.name: Invalid value: "%s": a lowercase '
                'RFC 1123 label must consist of lower case alphanumeric '
                "characters or '-'" % (name, name),
                app_details(name)), None
        with CLUSTER.lock:
            if (ns, name) in CLUSTER.apps:
                return 409, status_body(
                    409, "AlreadyExists", 'sparkapplications.sparkoperator.'
                    'k8s.io "%s" already exists' % name,
                    app_details(name)), None
            CLUSTER.apply_pending_external(ns)
            if CLUSTER.quota_mode.get(ns, "sync") == "sync":
                message = CLUSTER.quota_violation(ns, name,
                                                  app_demand(app["spec"]))
                if message:
                    return 403, status_body(
                        403, "Forbidden", 'sparkapplications "%s" is '
                        "forbidden: %s" % (name, message),
                        app_details(name)), None
            elif CLUSTER.quota_violation(ns, name, app_demand(app["spec"])):
                pass  # the operator will fail it (asynchronous quota)
            CLUSTER.version += 1
            metadata.update({"namespace": ns, "uid": str(uuid.uuid4()),
                             "resourceVersion": str(CLUSTER.version),
                             "creationTimestamp": now_rfc3339(),
                             "generation": 1})
            app["metadata"] = metadata
            app["status"] = {"applicationState": {"state": ""}}
            CLUSTER.apps[(ns, name)] = app
            CLUSTER.timeline[(ns, name)] = {"created": time.monotonic()}
            key = "%s/%s" % (ns, name)
            CLUSTER.creates[key] = CLUSTER.creates.get(key, 0) + 1
            if CLUSTER.quota_mode.get(ns, "sync") == "sync" and \
                    CLUSTER.quota_violation(ns, name, {"cpu": 0, "memory": 0,
                                                       "pods": 0,
                                                       "storage": 0}):
                CLUSTER.over_quota.append(key)
            CLUSTER.record_peaks(ns)
            return 201, json.loads(json.dumps(app)), None

    def list_apps(self, ns, query):
        wanted = {}
        for term in (query.get("labelSelector") or [""])[0].split(","):
            if "=" in term:
                key, value = term.split("=", 1)
                wanted[key.rstrip("=")] = value
        with CLUSTER.lock:
            items = [json.loads(json.dumps(app)) for (app_ns, _), app in
                     sorted(CLUSTER.apps.items()) if app_ns == ns and
                     all(app["metadata"].get("labels", {}).get(k) == v
                         for k, v in wanted.items())]
            return 200, {"apiVersion": "sparkoperator.k8s.io/v1beta2",
                         "kind": "SparkApplicationList",
                         "metadata": {"resourceVersion":
                                      str(CLUSTER.version)},
                         "items": items}, None

    def not_found(self, name):
        return 404, status_body(404, "NotFound", 'sparkapplications.'
                                'sparkoperator.k8s.io "%s" not found' % name,
                                app_details(name)), None

    def get_app(self, ns, name):
        with CLUSTER.lock:
            app = CLUSTER.apps.get((ns, name))
            if not app:
                return self.not_found(name)
            return 200, json.loads(json.dumps(app)), None

    def delete_app(self, ns, name):
        with CLUSTER.lock:
            app = CLUSTER.apps.pop((ns, name), None)
            if not app:
                return self.not_found(name)
            CLUSTER.timeline.pop((ns, name), None)
            key = "%s/%s" % (ns, name)
            CLUSTER.deletes[key] = CLUSTER.deletes.get(key, 0) + 1
            CLUSTER.version += 1
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                         "status": "Success",
                         "details": app_details(name)}, None

    # ----------------------------------------------------- control
    def control(self, method, path, body):
        request = json.loads(body or b"{}")
        with CLUSTER.lock:
            if path == "/_test/state":
                return self.send_json(200, self.state())
            if path == "/_test/quota":
                quotas = CLUSTER.quotas.setdefault(request["namespace"], {})
                if request.get("hard") is None:
                    quotas.pop(request["name"], None)
                else:
                    quotas[request["name"]] = {"hard": request["hard"]}
                CLUSTER.version += 1
            elif path == "/_test/external":
                amounts = {dimension_of(k): base_amount(k, v)
                           for k, v in request.get("used", {}).items()}
                release = request.get("release_after_ms", 0)
                if request.get("on_next_create"):
                    CLUSTER.pending_external[request["namespace"]] = (
                        amounts, release)
                else:
                    CLUSTER.set_external(request["namespace"], amounts,
                                         release)
            elif path == "/_test/faults":
                if request.get("clear"):
                    CLUSTER.faults = []
                CLUSTER.faults.extend(request.get("faults", []))
            elif path == "/_test/config":
                CLUSTER.submit_ms = request.get("submit_ms", CLUSTER.submit_ms)
                CLUSTER.run_ms = request.get("run_ms", CLUSTER.run_ms)
                CLUSTER.quota_mode.update(request.get("quota_mode", {}))
            elif path == "/_test/token":
                OPTIONS.token = request["token"]
            elif path == "/_test/shutdown":
                threading.Thread(target=self.server.shutdown,
                                 daemon=True).start()
            else:
                return self.send_json(404, status_body(404, "NotFound",
                                                       "no such control"))
        self.send_json(200, {"ok": True})

    def state(self):
        return {"apps": [json.loads(json.dumps(app)) for app in
                         CLUSTER.apps.values()],
                "creates": CLUSTER.creates, "deletes": CLUSTER.deletes,
                "requests": CLUSTER.requests, "peak_live": CLUSTER.peak_live,
                "peak_per_run": CLUSTER.peak_per_run,
                "over_quota": CLUSTER.over_quota,
                "external": {ns: v for ns, v in CLUSTER.external.items()}}


# ------------------------------------------------------------------- main


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        pass  # a client that hung up (timeouts) is part of the tests


def operator_loop(stop):
    while not stop.is_set():
        CLUSTER.operator_step()
        stop.wait(0.02)


def main():
    global OPTIONS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cert-dir", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--port-file", required=True)
    OPTIONS = parser.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(OPTIONS.cert_dir, "server.crt"),
                            os.path.join(OPTIONS.cert_dir, "server.key"))
    context.load_verify_locations(os.path.join(OPTIONS.cert_dir, "ca.crt"))
    context.verify_mode = ssl.CERT_OPTIONAL
    server = Server(("127.0.0.1", 0), Handler)
    # The handshake happens in each connection's own thread, so a client
    # that never completes it cannot stall the accept loop.
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    stop = threading.Event()
    threading.Thread(target=operator_loop, args=(stop,), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(
        target=server.shutdown, daemon=True).start())
    temporary = OPTIONS.port_file + ".tmp"
    with open(temporary, "w") as out:
        out.write(str(server.server_address[1]))
    os.rename(temporary, OPTIONS.port_file)
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        stop.set()
        server.server_close()


if __name__ == "__main__":
    main()
