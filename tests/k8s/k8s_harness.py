"""Test harness for the k8s host end-to-end tests.

An Env makes a throw-away directory with a CA, a server certificate for
127.0.0.1 and a client certificate (openssl CLI), starts fake_apiserver.py
on an ephemeral port of 127.0.0.1, writes a kubeconfig for it, and runs
jobq-k8s-host against it, collecting its JSON event lines. close() stops
everything, checks that the bearer token never appeared in the host's
output, and removes the directory.
"""

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
TOKEN = "test-token-6f1d9a2b7c"  # must never show up in the host's output


def run(*command, **kwargs):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, **kwargs)


def make_certificates(directory):
    """ca.crt/key, server.crt/key (SAN IP:127.0.0.1), client.crt/key."""
    def path(name):
        return os.path.join(directory, name)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        "-keyout", path("ca.key"), "-out", path("ca.crt"), "-days", "2",
        "-subj", "/CN=jobq-test-ca")
    with open(path("san.ext"), "w") as out:
        out.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, subject, extension in (("server", "/CN=127.0.0.1", True),
                                     ("client", "/CN=jobq-client/O=test",
                                      False)):
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes",
            "-keyout", path(name + ".key"), "-out", path(name + ".csr"),
            "-subj", subject)
        command = ["openssl", "x509", "-req", "-in", path(name + ".csr"),
                   "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
                   "-CAcreateserial", "-out", path(name + ".crt"), "-days",
                   "2"]
        if extension:
            command += ["-extfile", path("san.ext")]
        run(*command)


class Host:
    """One running jobq-k8s-host process and the events it printed."""

    def __init__(self, env, args, environment=None):
        self.env = env
        self.events = []
        self.stderr_path = os.path.join(env.dir, "host-%d.log" %
                                        len(env.hosts))
        self.stdout_lines = []
        self.stderr_file = open(self.stderr_path, "w")
        # JOBQ_K8S_HOST_WRAPPER, e.g. "valgrind --leak-check=full
        # --error-exitcode=99", runs the host under a checker.
        wrapper = os.environ.get("JOBQ_K8S_HOST_WRAPPER", "").split()
        self.process = subprocess.Popen(
            wrapper + [env.host_binary] + args, stdout=subprocess.PIPE,
            stderr=self.stderr_file, stdin=subprocess.DEVNULL, text=True,
            env=environment or env.host_environment)
        self.reader = threading.Thread(target=self.read_events, daemon=True)
        self.reader.start()

    def read_events(self):
        for line in self.process.stdout:
            self.stdout_lines.append(line)
            try:
                self.events.append(json.loads(line))
            except ValueError:
                pass

    def wait(self, timeout):
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return code

    def kill(self, sig=signal.SIGKILL):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=10)
        self.reader.join(timeout=5)

    def log(self):
        with open(self.stderr_path) as log:
            return log.read()

    def stdout(self):
        return "".join(self.stdout_lines)


class Env:
    def __init__(self, host_binary):
        self.host_binary = os.path.abspath(host_binary)
        self.dir = tempfile.mkdtemp(prefix="jobq-k8s-e2e-")
        self.hosts = []
        self.server = None
        make_certificates(self.dir)
        self.host_environment = {k: v for k, v in os.environ.items()
                                 if not k.startswith("KUBERNETES_")}
        self.host_environment.pop("KUBECONFIG", None)
        self.start_server()
        self.kubeconfig = self.write_kubeconfig("kubeconfig", token=TOKEN)
        self.spool = os.path.join(self.dir, "spool")
        os.mkdir(self.spool)

    # ------------------------------------------------------- server
    def start_server(self):
        port_file = os.path.join(self.dir, "port")
        self.server_log = open(os.path.join(self.dir, "server.log"), "w")
        self.server = subprocess.Popen(
            [PYTHON, os.path.join(HERE, "fake_apiserver.py"), "--cert-dir",
             self.dir, "--token", TOKEN, "--port-file", port_file],
            stdout=self.server_log, stderr=self.server_log,
            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not os.path.exists(port_file):
            if self.server.poll() is not None or time.monotonic() > deadline:
                self.server.kill()  # it may be hung: not ours to leave
                self.server.wait()
                raise RuntimeError("the fake API server did not start")
            time.sleep(0.02)
        with open(port_file) as port:
            self.port = int(port.read())
        self.url = "https://127.0.0.1:%d" % self.port
        self.tls = ssl.create_default_context(
            cafile=os.path.join(self.dir, "ca.crt"))

    def control(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data,
                                         method="POST" if data else "GET")
        with urllib.request.urlopen(request, context=self.tls,
                                    timeout=10) as response:
            return json.loads(response.read())

    def state(self):
        return self.control("/_test/state")

    def set_quota(self, ns, hard, name="compute"):
        self.control("/_test/quota", {"namespace": ns, "name": name,
                                      "hard": hard})

    def configure(self, **settings):
        self.control("/_test/config", settings)

    def add_faults(self, *faults):
        self.control("/_test/faults", {"faults": list(faults)})

    def clear_faults(self):
        self.control("/_test/faults", {"clear": True})

    def external_usage(self, ns, used, on_next_create=False,
                       release_after_ms=0):
        self.control("/_test/external", {
            "namespace": ns, "used": used, "on_next_create": on_next_create,
            "release_after_ms": release_after_ms})

    # ---------------------------------------------------------- host
    def write_kubeconfig(self, name, token=None, client_cert=False,
                         ca=True, server=None):
        lines = ["apiVersion: v1", "kind: Config", "current-context: test",
                 "clusters:", "- name: fake", "  cluster:",
                 "    server: %s" % (server or self.url)]
        if ca:
            lines.append("    certificate-authority: ca.crt")
        lines += ["contexts:", "- name: test", "  context:",
                  "    cluster: fake", "    user: tester",
                  "    namespace: default", "users:", "- name: tester",
                  "  user:"]
        if token:
            lines.append("    token: %s" % token)
        if client_cert:
            lines += ["    client-certificate: client.crt",
                      "    client-key: client.key"]
        if not token and not client_cert:
            lines.append("    {}")
        path = os.path.join(self.dir, name)
        with open(path, "w") as out:
            out.write("\n".join(lines) + "\n")
        return path

    def write_jobs(self, jobs, name="jobs.json"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as out:
            json.dump(jobs, out)
        return path

    def start_host(self, args, kubeconfig=None, tick_ms=50, environment=None):
        base = ["--kubeconfig", kubeconfig or self.kubeconfig,
                "--tick-ms", str(tick_ms)]
        if kubeconfig is False:
            base = ["--tick-ms", str(tick_ms)]
        host = Host(self, base + args, environment)
        self.hosts.append(host)
        return host

    def submit_file(self, name, request):
        temporary = os.path.join(self.spool, "." + name + ".tmp")
        with open(temporary, "w") as out:
            json.dump(request, out)
        os.rename(temporary, os.path.join(self.spool, name + ".json"))

    # ------------------------------------------------------- waiting
    @staticmethod
    def wait_for(predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError("timed out after %ss waiting for %s" %
                             (timeout, what))

    # ------------------------------------------------------ cleanup
    def close(self):
        leaks = []
        for host in self.hosts:
            host.kill()
            host.stderr_file.close()
            if TOKEN in host.log() or TOKEN in host.stdout():
                leaks.append(host.stderr_path)
        if self.server and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self.server_log.close()
        if os.environ.get("JOBQ_KEEP_E2E_DIR"):
            sys.stderr.write("kept %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if leaks:
            raise AssertionError("the bearer token appeared in %s" % leaks)


def spark_manifest(ns=None, instances=1, cores=1, memory="512m",
                   run_ms=None, submit_ms=None, outcome=None, kind="Scala"):
    """A small SparkApplication manifest. With the defaults each pod is
    512m + 384m overhead = 896 MiB, 1 core."""
    annotations = {}
    if run_ms is not None:
        annotations["jobq-test/run-ms"] = str(run_ms)
    if submit_ms is not None:
        annotations["jobq-test/submit-ms"] = str(submit_ms)
    if outcome:
        annotations["jobq-test/outcome"] = outcome
    manifest = {"apiVersion": "sparkoperator.k8s.io/v1beta2",
                "kind": "SparkApplication",
                "metadata": {"annotations": annotations,
                             "labels": {"team": "data"}},
                "spec": {"type": kind, "mode": "cluster",
                         "image": "spark:3.5.0",
                         "mainApplicationFile": "local:///opt/app.jar",
                         "sparkVersion": "3.5.0",
                         "driver": {"cores": cores, "memory": memory},
                         "executor": {"cores": cores, "instances": instances,
                                      "memory": memory}}}
    if ns:
        manifest["metadata"]["namespace"] = ns
    return manifest
