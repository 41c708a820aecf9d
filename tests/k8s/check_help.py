#!/usr/bin/python3
"""jobq-k8s-host's command line: --help documents every flag main.c
accepts, and bad usage exits 2 with a message.

Usage: check_help.py HOST_BINARY MAIN_C
"""

import json
import os
import re
import subprocess
import sys
import tempfile


def flags_in_source(path):
    with open(path) as source:
        text = source.read()
    table = text[text.index("long_options[] = {"):]
    table = table[:table.index("};")]
    return re.findall(r'\{"([a-z-]+)",', table)


def run(binary, *args):
    return subprocess.run([binary] + list(args), capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL,
                          env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})


def check_bad_jobs(binary):
    """A bad job definition stops the host with a message naming the job
    and the field."""
    with tempfile.TemporaryDirectory() as directory:
        kubeconfig = os.path.join(directory, "kubeconfig")
        with open(kubeconfig, "w") as out:
            out.write("current-context: c\n"
                      "clusters: [{name: k, cluster: {server: "
                      "'https://127.0.0.1:9'}}]\n"
                      "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                      "users: [{name: u, user: {token: t}}]\n")
        spec = {"type": "Scala", "sparkVersion": "3.5.0",
                "mainApplicationFile": "local:///app.jar", "driver": {},
                "executor": {"instances": 1}}

        def with_spec(**changes):
            changed = json.loads(json.dumps(spec))
            for path, value in changes.items():
                node = changed
                parts = path.split("__")
                for part in parts[:-1]:
                    node = node[part]
                if value is None:
                    del node[parts[-1]]
                else:
                    node[parts[-1]] = value
            return {"spec": changed}
        good = {"name": "etl", "namespace": "a", "manifest": {"spec": spec}}
        where = 'jobs.json: job "etl" (jobs[0]): '
        cases = (
            (dict(good, manifest=with_spec(driver={"memory": "512Mi"})),
             where + "manifest: spec.driver.memory"),
            (dict(good, priority="urgent"), where + "priority"),
            (dict(good, request={"memory": "512m"}), where + "request.memory"),
            ({"name": "etl", "manifest": {"spec": spec}}, where + "namespace"),
            ({"namespace": "a", "manifest": {}}, "jobs[0]: name: missing"),
            # issue 9.5: misspelled keys, invalid names, duplicates
            (dict(good, namspace="b"), where + "namspace: unknown key"),
            (dict(good, priorty="high"), where + "priorty: unknown key"),
            (dict(good, request={"cpus": "1"}), where + "request.cpus: "
             "unknown key"),
            (dict(good, namespace="Team_A"), where + "namespace: \"Team_A\""),
            (dict(good, name="etl job"), 'job "etl job" (jobs[0]): name: '
             "not a valid label value"),
            ([good, dict(good, namespace="b")], 'job "etl" (jobs[1]): name: '
             "duplicate (also jobs[0])"),
            ({"jobs": [good], "namespaces": {"a": {"allowWithoutQota": True}}},
             "jobs.json: namespaces.a.allowWithoutQota: unknown key"),
            # issue 14.1: what the v1beta2 CRD refuses
            (dict(good, manifest=with_spec(sparkVersion=None)),
             where + "manifest.spec.sparkVersion: Required value"),
            (dict(good, manifest=with_spec(type="python")),
             where + 'manifest.spec.type: Unsupported value "python"'),
            (dict(good, manifest=with_spec(memoryOverheadFactor=0.2)),
             where + "manifest.spec.memoryOverheadFactor: must be a string"),
            (dict(good, manifest=with_spec(executor__instances=0)),
             where + "manifest.spec.executor.instances: 0 is less than the "
             "minimum 1"),
            (dict(good, manifest=with_spec(driver={"cores": 0.5})),
             where + "manifest.spec.driver.cores: must be an integer"),
            (dict(good, manifest=with_spec(mainApplicationFile=None)),
             where + "manifest.spec.mainApplicationFile: Required value"),
            (dict(good, manifest=with_spec(executor=None)),
             where + "manifest.spec.executor: Required value"))
        for job, message in cases:
            jobs = os.path.join(directory, "jobs.json")
            with open(jobs, "w") as out:
                json.dump(job if isinstance(job, (list, dict)) and
                          "jobs" in job or isinstance(job, list) else [job],
                          out)
            result = run(binary, "--kubeconfig", kubeconfig, "--jobs", jobs,
                         "--exit-when-idle")
            assert result.returncode == 1, (job, result)
            assert message in result.stderr, (message, result.stderr)


def main():
    binary, main_c = sys.argv[1], sys.argv[2]
    flags = flags_in_source(main_c)
    assert len(flags) >= 15, flags
    result = run(binary, "--help")
    assert result.returncode == 0, result
    undocumented = [f for f in flags if "--" + f not in result.stdout]
    assert not undocumented, "not in --help: %s" % undocumented
    version = run(binary, "--version")
    assert version.returncode == 0 and "libjobq" in version.stdout, version
    for args, message in ((["--bogus"], "--help"),
                          (["--tick-ms", "0", "--jobs", "x"], "--tick-ms"),
                          (["--retries", "many", "--jobs", "x"], "--retries"),
                          ([], "--jobs"),
                          (["--in-cluster", "--kubeconfig", "k", "--jobs", "x"],
                           "exclude"),
                          (["--jobs", "x", "extra"], "unexpected")):
        result = run(binary, *args)
        assert result.returncode == 2, (args, result)
        assert message in result.stderr, (args, result.stderr)
    missing = run(binary, "--jobs", "x", "--kubeconfig", "/nonexistent/kc")
    assert missing.returncode == 1 and "/nonexistent/kc" in missing.stderr
    check_bad_jobs(binary)
    print("ok - %d flags documented" % len(flags))


if __name__ == "__main__":
    main()
