#!/usr/bin/env bash
# Runs the durable-throughput benchmarks of issue 11 and prints one table
# with the targets (bench/README.md records the figures).
#   bench/run-all.sh BUILDDIR
# Knobs (environment): RUNS (median of, 3), SCENARIO_RUNS (100000),
# SMALL (10000: the strace replay), BATCH_RUNS (200000), CONC_RUNS (4000),
# E2E_RUNS (1000000), LATENCY_S (10), SKIP_SIM=1 to leave out the jobq-sim
# replays (bench_throughput.sh, the slow part today).
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
durable="$build/bench/bench-durable"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

value() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

# "runs_per_s runs" of one plain run of bench-durable "$@".
measured() {
    local out
    out=$("$durable" "$@")
    echo "$out" >> "$tmp/log"
    echo "$(echo "$out" | value runs_per_s) $(echo "$out" | value runs)"
}

# fsyncs (fdatasync + fsync) of one more run under strace -f -c: strace
# slows the calls it traces several times over, so rates are never taken
# from this run.
fsyncs_of() {
    if ! command -v strace > /dev/null; then
        echo -
        return
    fi
    strace -f -c -e trace=fdatasync,fsync -o "$tmp/strace" "$durable" "$@" > /dev/null
    awk '$NF=="fdatasync"||$NF=="fsync"{s+=$4} END{print s+0}' "$tmp/strace"
}

# The median (by runs/s) of RUNS plain measurements, then the fsyncs of a
# traced run: "runs_per_s fsyncs runs".
median_of() {
    local rate n
    read -r rate n <<< "$(for _ in $(seq "$runs"); do measured "$@"; done |
        sort -n | sed -n "$(( (runs + 1) / 2 ))p")"
    echo "$rate $(fsyncs_of "$@") $n"
}

per_run() { [ "$1" = - ] && echo - || awk "BEGIN{printf \"%.${3}f\", $1/$2}"; }
row() { printf '%-44s %14s %14s %s\n' "$1" "$2" "$3" "$4"; }
met() { awk "BEGIN { exit !($1) }" && echo met || echo "not met"; }

echo "machine: $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1 /proc/loadavg), $(date -u +%F)"
echo
row "benchmark (median of $runs)" "result" "fsyncs/run" "target"

read -r rate fs n <<< "$(median_of batch "${BATCH_RUNS:-200000}" 10000)"
row "batch submit, FULL, batches of 10,000" "$rate runs/s" "$(per_run "$fs" "$n" 4)" ">= 200,000 runs/s: $(met "$rate >= 200000")"

for t in 1 2 4 8 32; do
    read -r rate fs n <<< "$(median_of concurrent "$t" "${CONC_RUNS:-4000}")"
    row "$t concurrent single submitters, FULL" "$rate runs/s" "$(per_run "$fs" "$n" 3)" "fsyncs shared as threads grow"
done

read -r rate fs n <<< "$(median_of e2e "${E2E_RUNS:-1000000}")"
row "end to end ${E2E_RUNS:-1000000} runs, FULL" "$rate runs/s" "$(per_run "$fs" "$n" 3)" ">= 50,000 runs/s: $(met "$rate >= 50000")"

lat=$("$durable" latency "${LATENCY_S:-10}")
echo "$lat" >> "$tmp/log"
p99=$(echo "$lat" | value p99_ms)
row "submit p99, deployer 30 ms x 20 per cycle" "$p99 ms" "-" "<= 5 ms: $(met "$p99 <= 5")"
echo
echo "raw:"
sed 's/^/  /' "$tmp/log"

if [ -z "${SKIP_SIM:-}" ]; then
    echo
    "$src/bench/bench_throughput.sh" "$build" "$runs" "${SCENARIO_RUNS:-100000}" "${SMALL:-10000}"
fi
