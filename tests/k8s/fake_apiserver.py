#!/usr/bin/python3
"""A protocol-faithful Kubernetes API server double for the k8s host tests.

It speaks HTTPS on 127.0.0.1 (certificate made at test time), demands a
bearer token or a client certificate signed by the test CA (401 Status
otherwise), and serves just what jobq-k8s-host uses:

  GET    /api/v1/namespaces/NS/resourcequotas            ResourceQuotaList
  GET    /api/v1/namespaces/NS/pods[?labelSelector=...]  PodList
  POST   /apis/sparkoperator.k8s.io/v1beta2/namespaces/NS/sparkapplications
  GET    .../sparkapplications[?labelSelector=k=v,...]    SparkApplicationList
  GET    .../sparkapplications/NAME
  DELETE .../sparkapplications/NAME

with the real error bodies (kind Status, reason NotFound / AlreadyExists /
Forbidden / Invalid / InternalError / TooManyRequests, code), quota
admission on create (403 "exceeded quota: QUOTA, requested: ..., used: ...,
limited: ..."), or, per namespace, asynchronous quota failure by the
simulated Spark operator (SUBMISSION_FAILED with the same message), or the
operator's validating webhook with quota enforcement (403 "... denied the
request: failed to validate resource quota").

Created SparkApplications are validated against the v1beta2 CRD schema
(crd_v1beta2_schema.json, from kubeflow/spark-operator): 422 Invalid with
the causes; fields the schema does not know are pruned and named in
Warning headers. Each application's pods start late (the driver at submit,
executors executor_delay_ms later), each admitted by quota as Kubernetes
does (scopes, scopeSelector, limits.*, count/pods); a refused pod is
recorded in pod_refusals (a driver refusal fails the submission).
ResourceQuota status.used is what the live pods take plus any "external"
usage a test injects (stale_status leaves the external part out of the
status, as a lagging quota controller would).

The simulated operator moves each application "" -> SUBMITTED -> RUNNING ->
COMPLETED on a timer (per app: annotations jobq-test/submit-ms, run-ms and
outcome=FAILED; defaults from /_test/config).

Test-only control endpoints (no auth), JSON in and out:
  GET  /_test/state      apps, pods, create/delete counts, request log,
                         peaks, pod refusals, peak used per quota key
  GET  /_test/summary    the same without the request log
  POST /_test/quota      {"namespace","name","hard":{...},"scopes":[...],
                          "scopeSelector":{...}}   (hard null: delete)
  POST /_test/external   {"namespace","used":{key: qty},"on_next_create":bool,
                          "release_after_ms":N}
  POST /_test/faults     {"faults":[{method,path,action,code,ms,commit,count,
                          retry_after}]} or {"clear":true}
  POST /_test/config     {"submit_ms","run_ms","executor_delay_ms",
                          "quota_mode":{NS:"sync"|"async"},
                          "webhook":{NS:bool},"stale_status":{NS:bool}}
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
PODS_RE = re.compile(r"^/api/v1/namespaces/([^/]+)/pods$")
QUOTA_RE = re.compile(r"^/api/v1/namespaces/([^/]+)/resourcequotas$")
APPS_RE = re.compile(r"^/apis/sparkoperator\.k8s\.io/v1beta2/namespaces/"
                     r"([^/]+)/sparkapplications(?:/([^/]+))?$")
# The operator's webhook wants DNS-1035 application names (a Service is
# named after them).
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
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
    if key in ("requests.cpu", "cpu", "limits.cpu"):
        return "cpu"
    if key in ("requests.memory", "memory", "limits.memory"):
        return "memory"
    if key in ("pods", "count/pods"):
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


def cpu_millis(text):
    return int((parse_quantity(str(text)) * 1000).to_integral_value(
        rounding=decimal.ROUND_CEILING))


def pod_shapes(spec):
    """[(role, count, pod)] of a SparkApplication spec, pod = {"cpu",
    "limits.cpu" (None: no limit), "memory", "priorityClassName"}: an
    independent rendering of Spark's pod sizing (memory + max(factor x
    memory, 384 MiB); 0.1 JVM, 0.4 Python/R; spec fields over sparkConf,
    sparkConf's spark.kubernetes.memoryOverheadFactor over the spec's)."""
    conf = spec.get("sparkConf") or {}
    non_jvm = spec.get("type") in ("Python", "R")
    kube_factor = conf.get("spark.kubernetes.memoryOverheadFactor",
                           spec.get("memoryOverheadFactor"))
    kube_factor = float(kube_factor) if kube_factor is not None else (
        0.4 if non_jvm else 0.1)

    def pod(role):
        pod_spec = spec.get(role) or {}

        def get(field, key):
            if field and field in pod_spec:
                return pod_spec[field]
            return conf.get(key)
        memory = spark_bytes(get("memory", "spark.%s.memory" % role) or "1g")
        factor = float(get(None, "spark.%s.memoryOverheadFactor" % role) or
                       kube_factor)
        minimum = spark_bytes(get(None, "spark.%s.minMemoryOverhead" % role)
                              or "384m")
        overhead = get("memoryOverhead", "spark.%s.memoryOverhead" % role)
        overhead = spark_bytes(overhead) if overhead is not None else max(
            int(factor * (memory // MIB)) * MIB, minimum)
        request = get("coreRequest", "spark.kubernetes.%s.request.cores" % role)
        cpu = cpu_millis(request) if request is not None else int(round(
            float(get("cores", "spark.%s.cores" % role) or 1) * 1000))
        limit = get("coreLimit", "spark.kubernetes.%s.limit.cores" % role)
        return {"cpu": cpu, "limits.cpu": cpu_millis(limit) if limit
                is not None else None, "memory": memory + overhead,
                "priorityClassName": pod_spec.get("priorityClassName", "")}
    dynamic = spec.get("dynamicAllocation") or {}
    if dynamic.get("enabled"):
        executors = int(dynamic["maxExecutors"])
    else:
        executors = int((spec.get("executor") or {}).get(
            "instances", conf.get("spark.executor.instances", 2)))
    return [("driver", 1, pod("driver")), ("executor", executors,
                                            pod("executor"))]


def app_demand(spec):
    """{cpu (milli), memory (bytes), pods} requested by an application."""
    total = {"cpu": 0, "memory": 0, "pods": 0, "storage": 0}
    for _, count, pod in pod_shapes(spec):
        total["cpu"] += count * pod["cpu"]
        total["memory"] += count * pod["memory"]
        total["pods"] += count
    return total


KEY_OF = {"requests.cpu": "cpu", "cpu": "cpu", "limits.cpu": "limits.cpu",
          "requests.memory": "memory", "memory": "memory",
          "limits.memory": "memory", "pods": "pods", "count/pods": "pods",
          "requests.storage": "storage"}


def pod_amount(key, pod, count=1):
    """What `count` pods charge to a quota key; None for a missing limit."""
    kind = KEY_OF.get(key)
    if kind == "pods":
        return count
    if kind == "storage" or kind is None:
        return 0
    if pod[kind] is None:
        return None
    return count * pod[kind]


def scope_matches(quota, pod):
    """Kubernetes' scope rules for a Spark pod (NotBestEffort,
    NotTerminating, PriorityClass = its priorityClassName)."""
    spec = quota.get("spec", {})
    requirements = [(s, "Exists", []) for s in spec.get("scopes", [])]
    for expression in (spec.get("scopeSelector") or {}).get(
            "matchExpressions", []):
        requirements.append((expression["scopeName"],
                             expression.get("operator", "Exists"),
                             expression.get("values", [])))
    for scope, operator, values in requirements:
        if scope == "PriorityClass":
            name = pod["priorityClassName"]
            if operator == "Exists":
                ok = bool(name)
            elif operator == "In":
                ok = name in values
            elif operator == "NotIn":
                ok = name not in values
            else:
                ok = False
        else:
            exists = scope in ("NotBestEffort", "NotTerminating")
            ok = exists if operator == "Exists" else not exists
        if not ok:
            return False
    return True

# ---------------------------------------------------------------- state


with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "crd_v1beta2_schema.json")) as schema_file:
    CRD = json.load(schema_file)["schema"]

JSON_TYPES = {"string": str, "boolean": bool, "object": dict, "array": list}


def crd_errors(app):
    """What the API server's structural-schema validation of the
    SparkApplication CRD (v1beta2) says: [{"reason","message","field"}]."""
    errors = []

    def walk(node, schema, path):
        kind = schema.get("type")
        if schema.get("x-kubernetes-int-or-string"):
            return
        if kind == "integer":
            if isinstance(node, bool) or not (
                    isinstance(node, int) or (isinstance(node, float) and
                                              node.is_integer())):
                errors.append({"reason": "FieldValueTypeInvalid", "field":
                               path, "message": "Invalid value: %s: %s in "
                               "body must be of type integer: \"%s\"" % (
                                   json.dumps(node), path,
                                   type(node).__name__)})
                return
            if "minimum" in schema and node < schema["minimum"]:
                errors.append({"reason": "FieldValueInvalid", "field": path,
                               "message": "Invalid value: %s: %s in body "
                               "should be greater than or equal to %s" % (
                                   json.dumps(node), path,
                                   schema["minimum"])})
            return
        if kind == "number":
            if isinstance(node, bool) or not isinstance(node, (int, float)):
                errors.append({"reason": "FieldValueTypeInvalid", "field":
                               path, "message": "must be of type number"})
            return
        if kind in JSON_TYPES and not isinstance(node, JSON_TYPES[kind]):
            errors.append({"reason": "FieldValueTypeInvalid", "field": path,
                           "message": "Invalid value: \"%s\": %s in body "
                           "must be of type %s: \"%s\"" % (
                               type(node).__name__, path, kind,
                               type(node).__name__)})
            return
        if "enum" in schema and node not in schema["enum"]:
            errors.append({"reason": "FieldValueNotSupported", "field": path,
                           "message": "Unsupported value: %s: supported "
                           "values: %s" % (json.dumps(node), ", ".join(
                               '"%s"' % v for v in schema["enum"]))})
        if kind == "object":
            for required in schema.get("required", []):
                if required not in node:
                    errors.append({"reason": "FieldValueRequired",
                                   "field": "%s.%s" % (path, required),
                                   "message": "Required value"})
            properties = schema.get("properties", {})
            for key, value in node.items():
                if key in properties:
                    walk(value, properties[key], "%s.%s" % (path, key))
                elif isinstance(schema.get("additionalProperties"), dict):
                    walk(value, schema["additionalProperties"],
                         "%s[%s]" % (path, key))
        elif kind == "array" and isinstance(schema.get("items"), dict):
            for index, value in enumerate(node):
                walk(value, schema["items"], "%s[%d]" % (path, index))

    spec = app.get("spec")
    if not isinstance(spec, dict):
        return [{"reason": "FieldValueRequired", "field": "spec",
                 "message": "Required value"}]
    walk(spec, CRD["properties"]["spec"], "spec")
    return errors


def prune_unknown(app):
    """Drop (as the API server does) the fields the schema does not know;
    return their paths."""
    pruned = []

    def walk(node, schema, path):
        if not isinstance(node, dict) or schema.get(
                "x-kubernetes-preserve-unknown-fields"):
            return
        properties = schema.get("properties")
        if properties is None:
            return
        for key in list(node):
            if key in properties:
                walk(node[key], properties[key], "%s.%s" % (path, key))
            elif not isinstance(schema.get("additionalProperties"), dict):
                pruned.append("%s.%s" % (path, key))
                del node[key]
    walk(app.get("spec"), CRD["properties"]["spec"], "spec")
    return pruned


def selector(query):
    wanted = {}
    for term in (query.get("labelSelector") or [""])[0].split(","):
        if "=" in term:
            key, value = term.split("=", 1)
            wanted[key.rstrip("=")] = value
    return wanted


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
        self.pods = {}            # (ns, pod name) -> pod object
        self.app_lists = {}       # ns -> LISTs of SparkApplications
        self.pod_refusals = []    # pods Kubernetes refused on quota
        self.executor_delay_ms = None  # default: submit_ms
        self.webhook = {}         # ns -> operator webhook quota check on
        self.stale_status = {}    # ns -> status.used leaves out external
        self.peak_used = {}       # "ns/quota/key" -> highest used seen

    # -------------------------------------------------------- usage
    def quota_used(self, ns, quota, exclude=None, whole_apps=False):
        """{key: amount} this quota is charged now: the live pods it applies
        to (or, with whole_apps, every pod the live applications will have)
        plus injected external usage."""
        used = {key: 0 for key in quota["hard"]}
        for key in used:
            dimension = dimension_of(key) or (
                "cpu" if key == "limits.cpu" else "memory"
                if key == "limits.memory" else "pods"
                if key == "count/pods" else None)
            used[key] += self.external.get(ns, {}).get(dimension, 0)
        if whole_apps:
            for (app_ns, name), app in self.apps.items():
                if app_ns != ns or name == exclude or app["status"][
                        "applicationState"]["state"] in TERMINAL:
                    continue
                for _, count, pod in pod_shapes(app["spec"]):
                    self.charge(quota, used, pod, count)
        else:
            for (pod_ns, _), pod in self.pods.items():
                if pod_ns == ns and pod["status"]["phase"] in ("Pending",
                                                              "Running"):
                    self.charge(quota, used, pod["_shape"], 1)
        return used

    @staticmethod
    def charge(quota, used, pod, count):
        if not scope_matches({"spec": quota}, pod):
            return
        for key in used:
            amount = pod_amount(key, pod, count)
            used[key] += amount if amount is not None else 0

    def violation(self, ns, pods, exclude=None, whole_apps=False,
                  unscoped_only=False):
        """The quota message if admitting `pods` ([(count, pod)]) exceeds a
        quota."""
        for quota_name, quota in sorted(self.quotas.get(ns, {}).items()):
            if unscoped_only and (quota.get("scopes") or
                                  quota.get("scopeSelector")):
                continue
            used = self.quota_used(ns, quota, exclude, whole_apps)
            requested, over, limited = [], [], []
            for key, hard_text in sorted(quota["hard"].items()):
                if key not in KEY_OF:
                    continue
                demand = 0
                for count, pod in pods:
                    if scope_matches({"spec": quota}, pod):
                        amount = pod_amount(key, pod, count)
                        if amount is None:
                            return ("forbidden: failed quota: %s: must specify "
                                    "%s" % (quota_name, key))
                        demand += amount
                hard = base_amount(key, hard_text)
                if demand and used[key] + demand > hard:
                    requested.append("%s=%s" % (key, format_amount(key,
                                                                   demand)))
                    over.append("%s=%s" % (key, format_amount(key,
                                                              used[key])))
                    limited.append("%s=%s" % (key, hard_text))
            if requested:
                return ("exceeded quota: %s, requested: %s, used: %s, "
                        "limited: %s" % (quota_name, ",".join(requested),
                                         ",".join(over), ",".join(limited)))
        return None

    def quota_violation(self, ns, name, spec, exclude=None):
        pods = [(count, pod) for _, count, pod in pod_shapes(spec)]
        return self.violation(ns, pods, exclude)

    def quota_object(self, ns, name, quota):
        used = self.quota_used(ns, quota)
        if self.stale_status.get(ns):  # a quota controller that lags
            for key in used:
                dimension = dimension_of(key) or (
                    "cpu" if key == "limits.cpu" else "memory"
                    if key == "limits.memory" else "pods")
                used[key] -= self.external.get(ns, {}).get(dimension, 0)
        spec = {"hard": dict(quota["hard"])}
        for extra in ("scopes", "scopeSelector"):
            if quota.get(extra):
                spec[extra] = quota[extra]
        return {"apiVersion": "v1", "kind": "ResourceQuota",
                "metadata": {"name": name, "namespace": ns,
                             "resourceVersion": str(self.version)},
                "spec": spec,
                "status": {"hard": dict(quota["hard"]),
                           "used": {key: format_amount(key, amount)
                                    for key, amount in used.items()
                                    if key in KEY_OF}}}

    def start_pod(self, ns, app, role, index, shape):
        """Admit one pod as the quota admission plugin would; False if
        refused (recorded: the host admitted more than fits)."""
        name = app["metadata"]["name"]
        message = self.violation(ns, [(1, shape)])
        if message:
            self.pod_refusals.append({"pod": "%s/%s-%s-%d" % (ns, name, role,
                                                             index),
                                      "message": message, "t": time.time()})
            return message
        labels = dict(app["metadata"].get("labels", {}))
        labels.update({"spark-role": role,
                       "sparkoperator.k8s.io/app-name": name})
        pod_name = "%s-%s" % (name, role) if role == "driver" else \
            "%s-exec-%d" % (name, index)
        resources = {"requests": {"cpu": "%dm" % shape["cpu"],
                                  "memory": str(shape["memory"])},
                     "limits": {"memory": str(shape["memory"])}}
        if shape["limits.cpu"] is not None:
            resources["limits"]["cpu"] = "%dm" % shape["limits.cpu"]
        self.pods[(ns, pod_name)] = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod_name, "namespace": ns, "labels": labels},
            "spec": {"priorityClassName": shape["priorityClassName"],
                     "containers": [{"name": "spark-kubernetes-" + role,
                                     "resources": resources}]},
            "status": {"phase": "Running"}, "_shape": shape,
            "_app": name}
        self.version += 1
        self.record_used(ns)
        return None

    def record_used(self, ns):
        for quota_name, quota in self.quotas.get(ns, {}).items():
            used = self.quota_used(ns, quota)
            for key, amount in used.items():
                if key not in KEY_OF:
                    continue
                peak = "%s/%s/%s" % (ns, quota_name, key)
                self.peak_used[peak] = max(self.peak_used.get(peak, 0), amount)
                if amount > base_amount(key, quota["hard"][key]) and \
                        not self.external.get(ns):
                    self.over_quota.append(peak)

    def end_pods(self, ns, name, phase="Succeeded"):
        for key, pod in list(self.pods.items()):
            if key[0] == ns and pod["_app"] == name:
                pod["status"]["phase"] = phase

    def drop_pods(self, ns, name):
        for key, pod in list(self.pods.items()):
            if key[0] == ns and pod["_app"] == name:
                del self.pods[key]

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
        ns, name = key
        times = self.timeline[key]
        state = app["status"]["applicationState"]
        annotations = app["metadata"].get("annotations", {})
        submit_ms = int(annotations.get("jobq-test/submit-ms", self.submit_ms))
        run_ms = int(annotations.get("jobq-test/run-ms", self.run_ms))
        delay_ms = int(annotations.get(
            "jobq-test/executor-delay-ms", self.executor_delay_ms
            if self.executor_delay_ms is not None else submit_ms))
        elapsed = (now - times["created"]) * 1000
        if state["state"] == "" and elapsed >= submit_ms:
            self.submit(key, app, state)
            if state["state"] == "SUBMITTED":
                times["driver"] = now
        elif state["state"] in ("SUBMITTED", "RUNNING"):
            (_, _, driver), (_, executors, executor) = pod_shapes(app["spec"])
            started = times.setdefault("executors", 0)
            if elapsed >= submit_ms + delay_ms and started < executors:
                for index in range(started + 1, executors + 1):
                    if self.start_pod(ns, app, "executor", index, executor):
                        break  # refused: Spark asks again later
                    times["executors"] = index
                if times["executors"] == executors:
                    times["all_started"] = now
            if state["state"] == "SUBMITTED" and elapsed >= 2 * submit_ms:
                state["state"] = "RUNNING"
            ready = times.get("all_started")
            if state["state"] == "RUNNING" and ready and \
                    (now - ready) * 1000 >= run_ms:
                if annotations.get("jobq-test/outcome") == "FAILED":
                    state["state"] = "FAILED"
                    state["errorMessage"] = ("driver container failed with "
                                             "ExitCode: 1, Reason: Error")
                else:
                    state["state"] = "COMPLETED"
                app["status"]["terminationTime"] = now_rfc3339()
                self.end_pods(ns, name)
                self.version += 1

    def submit(self, key, app, state):
        ns, name = key
        app["status"]["submissionAttempts"] = 1
        app["status"]["lastSubmissionAttemptTime"] = now_rfc3339()
        self.version += 1
        message = None
        if self.quota_mode.get(ns) == "async":
            message = self.quota_violation(ns, name, app["spec"],
                                           exclude=name)
        if not message:  # the driver pod itself meets quota admission
            (_, _, driver), _ = pod_shapes(app["spec"])
            message = self.start_pod(ns, app, "driver", 0, driver)
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
        match = PODS_RE.match(path)
        if match and method == "GET":
            return self.list_pods(match.group(1), parse_qs(query))
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
        causes = crd_errors(app)
        if causes:
            return 422, status_body(
                422, "Invalid", 'SparkApplication.sparkoperator.k8s.io "%s" '
                "is invalid: %s" % (name, ", ".join(
                    "%s: %s" % (c["field"], c["message"]) for c in causes)),
                dict(app_details(name), causes=causes)), None
        unknown = prune_unknown(app)
        headers = {"Warning": ", ".join(
            '299 - "unknown field \\"%s\\""' % path
            for path in unknown)} if unknown else None
        with CLUSTER.lock:
            if (ns, name) in CLUSTER.apps:
                return 409, status_body(
                    409, "AlreadyExists", 'sparkapplications.sparkoperator.'
                    'k8s.io "%s" already exists' % name,
                    app_details(name)), None
            CLUSTER.apply_pending_external(ns)
            if CLUSTER.webhook.get(ns):
                # The operator's validating webhook with quota enforcement:
                # status.used (the pods so far) + the whole application,
                # scoped quotas skipped, its own wording.
                pods = [(count, pod) for _, count, pod in
                        pod_shapes(app["spec"])]
                message = CLUSTER.violation(ns, pods, unscoped_only=True)
                if message:
                    quota_name = re.sub(r"^.*quota: ([^,:]+)[,:].*$", r"\1",
                                        message)
                    if True:
                        return 403, status_body(
                            403, "Forbidden", 'admission webhook "validate-'
                            "sparkoperator-k8s-io-v1beta2-sparkapplication."
                            'sparkoperator.k8s.io" denied the request: failed '
                            'to validate resource quota "%s/%s"' % (
                                ns, quota_name)), None
            if CLUSTER.quota_mode.get(ns, "sync") == "sync":
                message = CLUSTER.quota_violation(ns, name, app["spec"])
                if message:
                    return 403, status_body(
                        403, "Forbidden", 'sparkapplications "%s" is '
                        "forbidden: %s" % (name, message),
                        app_details(name)), None
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
            CLUSTER.record_peaks(ns)
            return 201, json.loads(json.dumps(app)), headers

    def list_apps(self, ns, query):
        wanted = selector(query)
        with CLUSTER.lock:
            CLUSTER.app_lists[ns] = CLUSTER.app_lists.get(ns, 0) + 1
            items = [json.loads(json.dumps(app)) for (app_ns, _), app in
                     sorted(CLUSTER.apps.items()) if app_ns == ns and
                     all(app["metadata"].get("labels", {}).get(k) == v
                         for k, v in wanted.items())]
            return 200, {"apiVersion": "sparkoperator.k8s.io/v1beta2",
                         "kind": "SparkApplicationList",
                         "metadata": {"resourceVersion":
                                      str(CLUSTER.version)},
                         "items": items}, None

    def list_pods(self, ns, query):
        wanted = selector(query)
        with CLUSTER.lock:
            items = []
            for (pod_ns, _), pod in sorted(CLUSTER.pods.items()):
                if pod_ns == ns and all(pod["metadata"]["labels"].get(k) == v
                                        for k, v in wanted.items()):
                    items.append({k: v for k, v in pod.items()
                                  if not k.startswith("_")})
            return 200, {"apiVersion": "v1", "kind": "PodList",
                         "metadata": {"resourceVersion":
                                      str(CLUSTER.version)},
                         "items": json.loads(json.dumps(items))}, None

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
            CLUSTER.drop_pods(ns, name)
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
            if path == "/_test/summary":  # state without the request log
                state = self.state()
                state["request_count"] = len(state.pop("requests"))
                return self.send_json(200, state)
            if path == "/_test/quota":
                quotas = CLUSTER.quotas.setdefault(request["namespace"], {})
                if request.get("hard") is None:
                    quotas.pop(request["name"], None)
                else:
                    quotas[request["name"]] = {
                        "hard": request["hard"],
                        "scopes": request.get("scopes") or [],
                        "scopeSelector": request.get("scopeSelector")}
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
                CLUSTER.webhook.update(request.get("webhook", {}))
                CLUSTER.stale_status.update(request.get("stale_status", {}))
                if "executor_delay_ms" in request:
                    CLUSTER.executor_delay_ms = request["executor_delay_ms"]
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
                "pod_refusals": CLUSTER.pod_refusals,
                "peak_used": CLUSTER.peak_used,
                "app_lists": CLUSTER.app_lists,
                "pods": [{k: v for k, v in pod.items()
                          if not k.startswith("_")}
                         for pod in CLUSTER.pods.values()],
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
