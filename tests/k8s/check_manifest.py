#!/usr/bin/python3
"""Offline check of examples/k8s-host/deploy/jobq-k8s-host.yaml, in place
of `kubectl apply --dry-run=client` (no kubectl here): every document has
the apiVersion, kind and fields its schema requires, the Role grants
exactly what the host uses, the RoleBinding and the Deployment point at the
ServiceAccount and Role that exist, mounts point at volumes that exist, and
the container's flags are flags the host accepts.

With HOST_BINARY, the ConfigMap's jobs.json and config.json are also
loaded by the host itself.

Usage: check_manifest.py MANIFEST MAIN_C [HOST_BINARY]
"""

import os
import re
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # Debian package python3-yaml
    print("skip - python3-yaml is not installed")
    sys.exit(77)

API_VERSIONS = {"ServiceAccount": "v1", "ConfigMap": "v1",
                "PersistentVolumeClaim": "v1",
                "Role": "rbac.authorization.k8s.io/v1",
                "RoleBinding": "rbac.authorization.k8s.io/v1",
                "Deployment": "apps/v1", "Service": "v1"}
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def by_kind(documents, kind):
    found = [d for d in documents if d["kind"] == kind]
    assert len(found) == 1, "expected one %s, found %d" % (kind, len(found))
    return found[0]


def check_metadata(documents):
    namespaces = set()
    for document in documents:
        kind = document.get("kind")
        assert kind in API_VERSIONS, "unexpected kind %r" % kind
        assert document.get("apiVersion") == API_VERSIONS[kind], document
        metadata = document.get("metadata") or {}
        assert DNS_SUBDOMAIN.match(metadata.get("name", "")), metadata
        namespaces.add(metadata.get("namespace"))
    assert len(namespaces) == 1 and None not in namespaces, namespaces
    return namespaces.pop()


def check_rbac(documents, namespace):
    account = by_kind(documents, "ServiceAccount")["metadata"]["name"]
    role = by_kind(documents, "Role")
    grants = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                grants.setdefault((group, resource), set()).update(
                    rule["verbs"])
    assert grants == {("", "resourcequotas"): {"get", "list"},
                      ("", "pods"): {"get", "list"},
                      ("sparkoperator.k8s.io", "sparkapplications"):
                      {"create", "get", "list", "delete"}}, grants
    binding = by_kind(documents, "RoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io",
                                  "kind": "Role",
                                  "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount",
                                    "name": account,
                                    "namespace": namespace}], binding
    return account


def check_deployment(documents, account, flags):
    deployment = by_kind(documents, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1, "one scheduler per database"
    template = spec["template"]
    labels = template["metadata"]["labels"]
    for key, value in spec["selector"]["matchLabels"].items():
        assert labels.get(key) == value, "selector does not match template"
    pod = template["spec"]
    assert pod["serviceAccountName"] == account, pod["serviceAccountName"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    (container,) = pod["containers"]
    assert container["name"] and container["image"]
    for mount in container["volumeMounts"]:
        assert mount["name"] in volumes, mount
    config = by_kind(documents, "ConfigMap")
    claim = by_kind(documents, "PersistentVolumeClaim")
    assert volumes["config"]["configMap"]["name"] == \
        config["metadata"]["name"]
    assert volumes["state"]["persistentVolumeClaim"]["claimName"] == \
        claim["metadata"]["name"]
    args = container["args"]
    assert "--in-cluster" in args, args
    for arg in args:
        flag = arg[2:].split("=", 1)[0]
        assert arg.startswith("--") and flag in flags, "unknown flag " + arg
    for key in ("config.json", "jobs.json"):
        assert key in config["data"]
        assert "/etc/jobq/" + key in " ".join(args)


def check_service(documents):
    """Metrics and console are reachable only inside the cluster."""
    service = by_kind(documents, "Service")
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP", service
    deployment = by_kind(documents, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for key, value in service["spec"]["selector"].items():
        assert labels.get(key) == value, "service selects no pod"


def main():
    manifest, main_c = sys.argv[1], sys.argv[2]
    with open(manifest) as source:
        documents = [d for d in yaml.safe_load_all(source) if d]
    with open(main_c) as source:
        flags = set(re.findall(r'\{"([a-z-]+)",', source.read()))
    namespace = check_metadata(documents)
    account = check_rbac(documents, namespace)
    check_deployment(documents, account, flags)
    check_service(documents)
    import json
    config = by_kind(documents, "ConfigMap")["data"]
    json.loads(config["config.json"])
    assert isinstance(json.loads(config["jobs.json"]), list)
    if len(sys.argv) > 3:
        check_config_map_loads(sys.argv[3], config)
    print("ok - %d documents" % len(documents))


def check_config_map_loads(host, data):
    """The host accepts the ConfigMap's files: it defines the jobs, applies
    the configuration, finds nothing to do and exits 0. No request is made
    (the server address is never contacted)."""
    with tempfile.TemporaryDirectory() as directory:
        paths = {}
        for key in ("jobs.json", "config.json"):
            paths[key] = os.path.join(directory, key)
            with open(paths[key], "w") as out:
                out.write(data[key])
        kubeconfig = os.path.join(directory, "kubeconfig")
        with open(kubeconfig, "w") as out:
            out.write("current-context: c\n"
                      "clusters: [{name: k, cluster: {server: "
                      "'https://127.0.0.1:9'}}]\n"
                      "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                      "users: [{name: u, user: {token: t}}]\n")
        result = subprocess.run(
            [host, "--kubeconfig", kubeconfig, "--jobs", paths["jobs.json"],
             "--config", paths["config.json"], "--exit-when-idle"],
            capture_output=True, text=True, timeout=30,
            stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stderr


if __name__ == "__main__":
    main()
