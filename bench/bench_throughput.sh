#!/usr/bin/env bash
# Durable throughput of jobq-sim on the scenario of issue 11
# (bench/gen_scenario.py: N runs, 4 namespaces, batchSize 200, 1 s ticks,
# runs of 1-30 s and 1-4 cpu), in memory and with --db in both durability
# modes: wall time, median of RUNS, and the ratio to the in-memory replay.
# Then the system calls a smaller replay (SMALL runs) makes under strace:
# fdatasync/fsync and pwrite64, per run and per scheduling cycle. With
# bench-naive built, the naive SQLite queue (bench/naive.c) on the same
# scenario and libjobq's ratio to it.
#   bench/bench_throughput.sh BUILDDIR [RUNS [N [SMALL]]]
set -euo pipefail
build=$(cd "$1" && pwd) runs=${2:-3} n=${3:-100000} small=${4:-10000}
src=$(cd "$(dirname "$0")/.." && pwd)
sim="$build/examples/sim/jobq-sim"
naive="$build/bench/bench-naive"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$src/bench/gen_scenario.py" --runs "$n" > "$tmp/big.json"
/usr/bin/python3 "$src/bench/gen_scenario.py" --runs "$small" > "$tmp/small.json"

calc() { awk "BEGIN { print $* }"; }

# median wall seconds of RUNS runs of "$@" (a fresh database each time)
median() {
    local times=()
    for _ in $(seq "$runs"); do
        rm -f "$tmp"/db "$tmp"/db-*
        local t0 t1
        t0=$(date +%s.%N)
        "$@" > "$tmp/out" 2>/dev/null
        t1=$(date +%s.%N)
        times+=("$(calc "$t1 - $t0")")
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

echo "machine: $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1 /proc/loadavg)"
echo "scenario: $n runs (bench/gen_scenario.py), median of $runs"
printf '%-28s %10s %12s %10s\n' "replay" "wall s" "runs/s" "x memory"
mem=$(median "$sim" "$tmp/big.json")
cp "$tmp/out" "$tmp/reference"
row() { printf '%-28s %10.2f %12.0f %10.1f\n' "$1" "$2" "$(calc "$n / $2")" "$(calc "$2 / $mem")"; }
row "jobq-sim (memory)" "$mem"
declare -A wall
for mode in full normal; do
    wall[$mode]=$(median "$sim" --db "$tmp/db" --durability "$mode" "$tmp/big.json")
    cmp -s "$tmp/out" "$tmp/reference" || echo "!! output with --durability $mode differs from memory"
    row "jobq-sim --db ($mode)" "${wall[$mode]}"
done
if [ -x "$naive" ]; then
    # The same policy gives the same outcome: jobq-sim's totals in the
    # naive queue's format.
    totals=$(/usr/bin/python3 -c '
import json, sys
d = f = b = w = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    ev = e.get("event")
    if ev == "deployed":
        d += 1; w += round(e["wait_s"] * 1000)
    elif ev == "finished":
        f += 1
    elif ev == "blocked":
        b += 1
print("{\"naive\":{\"deployed\":%d,\"finished\":%d,\"blocked\":%d,\"wait_ms_sum\":%d}}" % (d, f, b, w))
' "$tmp/reference")
    for mode in full normal; do
        t=$(median "$naive" --db "$tmp/db" --durability "$mode" "$tmp/big.json")
        [ "$(cat "$tmp/out")" = "$totals" ] || echo "!! naive ($mode) differs from jobq-sim: $(cat "$tmp/out") vs $totals"
        row "naive SQLite queue ($mode)" "$t"
        printf '%-28s %10s %12s %10.1f\n' "  libjobq faster by" "" "" "$(calc "$t / ${wall[$mode]}")"
    done
fi

command -v strace > /dev/null || { echo "strace not installed: no system-call counts"; exit 0; }
echo
echo "system calls, $small runs (strace -f -c)"
printf '%-28s %8s %10s %10s %10s %10s\n' "replay" "cycles" "fsyncs" "per run" "per cycle" "pwrites/run"
syscalls() { # label, command...
    local label=$1; shift
    rm -f "$tmp"/db "$tmp"/db-*
    strace -f -c -e trace=fdatasync,fsync,pwrite64 -o "$tmp/strace" "$@" > /dev/null 2> "$tmp/err"
    local fs pw cycles
    fs=$(awk '$NF=="fdatasync"||$NF=="fsync"{s+=$4} END{print s+0}' "$tmp/strace")
    pw=$(awk '$NF=="pwrite64"{s+=$4} END{print s+0}' "$tmp/strace")
    cycles=$(grep -o '[0-9]* scheduling cycles' "$tmp/err" | cut -d' ' -f1 || true)
    printf '%-28s %8s %10d %10.2f %10s %10.1f\n' "$label" "${cycles:--}" "$fs" \
        "$(calc "$fs / $small")" \
        "$([ -n "$cycles" ] && printf '%.2f' "$(calc "$fs / $cycles")" || echo -)" \
        "$(calc "$pw / $small")"
}
for mode in full normal; do
    syscalls "jobq-sim --db ($mode)" "$sim" --text --db "$tmp/db" --durability "$mode" "$tmp/small.json"
done
if [ -x "$naive" ]; then
    for mode in full normal; do
        syscalls "naive ($mode)" "$naive" --text --db "$tmp/db" --durability "$mode" "$tmp/small.json"
    done
fi
