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
        cases = (
            ({"name": "etl", "namespace": "a", "manifest": {"spec": {
                "driver": {"memory": "512Mi"}}}},
             "jobs[etl].manifest: spec.driver.memory"),
            ({"name": "etl", "namespace": "a", "priority": "urgent",
              "manifest": {"spec": {}}}, "jobs[etl].priority"),
            ({"name": "etl", "namespace": "a", "request": {"memory": "512m"},
              "manifest": {"spec": {}}}, "jobs[etl].request.memory"),
            ({"name": "etl", "manifest": {"spec": {}}}, "jobs[etl].namespace"),
            ({"namespace": "a", "manifest": {}}, "no \"name\""))
        for job, message in cases:
            jobs = os.path.join(directory, "jobs.json")
            with open(jobs, "w") as out:
                json.dump([job], out)
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
