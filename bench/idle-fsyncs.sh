#!/bin/sh
# Counts what 1,000 idle scheduling cycles (a client handle open, no new
# request) write and fsync, with strace:  bench/idle-fsyncs.sh BUILDDIR
set -eu
build=${1:-build}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
strace -f -e trace=fsync,fdatasync,pwrite64,write -o "$log" \
    "$build/bench/bench-requests" idle --cycles 1000 >/dev/null
awk '/idle-start/ {on = 1; next} /idle-end/ {on = 0}
     on && /fsync\(|fdatasync\(/ {f++} on && /pwrite64\(|[^p]write\(/ {w++}
     END {printf "1000 idle cycles: %d fsync/fdatasync, %d writes\n", f, w}' "$log"
