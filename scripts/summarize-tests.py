#!/usr/bin/python3
"""Print one closing line for meson test logs: "tests: N passed, N failed".

Each Check executable speaks TAP, so its subtests are counted one by one;
a test without TAP output counts as one.
"""
import json
import re
import sys


def count(test):
    """(passed, failed, skipped) for one test record of a meson log."""
    out = test.get("stdout") or ""
    oks = len(re.findall(r"^ok \d+", out, re.M))
    not_oks = len(re.findall(r"^not ok \d+", out, re.M))
    good = test["result"] in ("OK", "EXPECTEDFAIL")
    if oks or not_oks:
        # A crash or timeout after its last subtest still fails the test.
        return oks, not_oks + (0 if good or not_oks else 1), 0
    if good:
        return 1, 0, 0
    if test["result"] == "SKIP":
        return 0, 0, 1
    return 0, 1, 0


totals = [0, 0, 0]
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as log:
        for line in log:
            for i, n in enumerate(count(json.loads(line))):
                totals[i] += n
print(f"tests: {totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
