#!/usr/bin/env bash
# How fast jobq-sim replays the two real job logs in shared/traces (Parallel
# Workloads Archive): wall time (and the CPU time of that run: on a shared
# machine the wall time depends on the load), median of RUNS runs, and
# peak RSS.
#   bench/bench_sim.sh BUILDDIR [RUNS]   (JOBQ_TRACES=DIR: where the logs are)
set -euo pipefail
build=$1 runs=${2:-3}
src=$(cd "$(dirname "$0")/.." && pwd)
traces=${JOBQ_TRACES:-"$src/../shared/traces"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for log in NASA-iPSC-1993-3.1-cln.swf.gz LCG-2005-1.swf.gz; do
    [ -f "$traces/$log" ] || { echo "skip $log (not found)"; continue; }
    /usr/bin/python3 "$src/examples/traces/swf2scenario.py" "$traces/$log" \
        --capacity 0.8 > "$tmp/s.json"
    times=()
    for _ in $(seq "$runs"); do
        /usr/bin/time -f '%e %M %U %S' -o "$tmp/t" "$build/examples/sim/jobq-sim" \
            "$tmp/s.json" > "$tmp/out.jsonl"
        times+=("$(cat "$tmp/t")")
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
    read -r wall rss user sys <<< "$median"
    cpu=$(awk "BEGIN { print $user + $sys }")
    jobs=$(grep -o '"id":' "$tmp/s.json" | wc -l)
    events=$(($(wc -l < "$tmp/out.jsonl") - 1))
    echo "$log: $jobs runs, $events events, median $wall s wall ($cpu s CPU), peak RSS $rss KiB"
done
