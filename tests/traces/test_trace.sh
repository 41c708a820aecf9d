#!/usr/bin/env bash
# A real workload through the simulator: the first jobs of a Parallel
# Workloads Archive log, converted by examples/traces/swf2scenario.py, must
# simulate to completion with every run accounted for, twice identically.
#   test_trace.sh JOBQ_SIM SRCDIR LOG [LIMIT]
set -euo pipefail
sim=$1 src=$2 log=$3 limit=${4:-3000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$src/examples/traces/swf2scenario.py" "$log" --limit "$limit" \
    --capacity 0.6 > "$tmp/scenario.json"
"$sim" "$tmp/scenario.json" > "$tmp/a.jsonl"
"$sim" "$tmp/scenario.json" > "$tmp/b.jsonl"
cmp -s "$tmp/a.jsonl" "$tmp/b.jsonl" || { echo "not deterministic"; exit 1; }
/usr/bin/python3 - "$tmp/a.jsonl" "$limit" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
summary = json.loads(lines[-1])["summary"]
events = [json.loads(l) for l in lines[:-1]]
runs = int(sys.argv[2])
submitted = sum(e["event"] == "submitted" for e in events)
ended = {}
for e in events:
    if e["event"] in ("finished", "failed", "cancelled"):
        assert e["run"] not in ended, f"{e['run']} ended twice"
        ended[e["run"]] = e["event"]
assert summary["runs"] == runs, summary
assert submitted == runs and len(ended) == runs, (submitted, len(ended))
for p in ("high", "normal"):
    s = summary[p]
    assert s["submitted"] == s["finished"] + s["failed"] + s["cancelled"], s
print(f"ok: {runs} runs, {len(events)} events, "
      f"{sum(v == 'cancelled' for v in ended.values())} cancelled")
PY
