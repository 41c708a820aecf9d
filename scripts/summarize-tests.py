#!/usr/bin/python3
"""Print one closing line for a meson test log: "tests: N passed, N failed".

Each Check executable speaks TAP, so its subtests are counted one by one;
a test without TAP output counts as one.
"""
import json
import re
import sys

passed = failed = skipped = 0
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        test = json.loads(line)
        out = test.get("stdout") or ""
        oks = len(re.findall(r"^ok \d+", out, re.M))
        not_oks = len(re.findall(r"^not ok \d+", out, re.M))
        if oks or not_oks:
            passed += oks
            failed += not_oks
            if test["result"] not in ("OK", "EXPECTEDFAIL") and not not_oks:
                failed += 1  # crashed or timed out after its last subtest
        elif test["result"] in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif test["result"] == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
