#!/usr/bin/env bash
# Every JOBQ_API function declared in include/jobq/ must be listed in the
# linker version script, and the shared library must export exactly those
# symbols and nothing else (libinput's map-file test, in shell).
#   check-exports.sh SRCDIR LIBJOBQ.so
set -euo pipefail
src=$1 lib=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat "$src"/include/jobq/*.h | tr '\n' ' ' | grep -o 'JOBQ_API [^;(]*(' |
    grep -o 'jobq_[a-z0-9_]*($' | tr -d '(' | sort -u > "$tmp/declared"
grep -o '^ *jobq_[a-z0-9_]*;' "$src/lib/libjobq.map" | tr -d ' ;' | sort -u > "$tmp/mapped"
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRW]$/ {print $3}' | sed 's/@.*//' |
    sort -u > "$tmp/exported"

status=0
if ! diff -u "$tmp/declared" "$tmp/mapped" > "$tmp/d1"; then
    echo "declared JOBQ_API functions (-) and libjobq.map (+) differ:"; cat "$tmp/d1"; status=1
fi
if ! diff -u "$tmp/mapped" "$tmp/exported" > "$tmp/d2"; then
    echo "libjobq.map (-) and the exported symbols (+) differ:"; cat "$tmp/d2"; status=1
fi
if grep -v '^jobq_' "$tmp/exported"; then
    echo "symbols outside the jobq_ namespace are exported"; status=1
fi
n=$(wc -l < "$tmp/exported")
[ "$status" -eq 0 ] && echo "ok: $n exported symbols, all declared JOBQ_API and listed in the map"
exit $status
