#!/usr/bin/env bash
# Compares the ABI of the built libjobq with the committed baseline
# (tests/abi/libjobq.abi, written by scripts/update-abi-baseline.sh at each
# release) using libabigail. Added functions are fine; any other change —
# a removed symbol, a changed struct layout or signature — fails: it needs a
# new SONAME and a CHANGELOG entry, then a new baseline.
#   check-abi.sh SRCDIR LIBJOBQ.so
set -euo pipefail
src=$1 lib=$2
command -v abidiff >/dev/null || { echo "abidiff not installed (abigail-tools): skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
abidw --headers-dir "$src/include/jobq" --out-file "$tmp/current.abi" "$lib"
status=0
abidiff --no-added-syms --headers-dir1 "$src/include/jobq" \
    --headers-dir2 "$src/include/jobq" \
    "$src/tests/abi/libjobq.abi" "$tmp/current.abi" > "$tmp/report" || status=$?
# abidiff's exit code is a bit field: 1 error, 2 usage, 4 ABI change,
# 8 incompatible change. A parameter added to a function only sets 4, so any
# bit fails.
if [ "$status" -ne 0 ]; then
    echo "abidiff exit $status: the ABI differs from tests/abi/libjobq.abi"
    cat "$tmp/report"
    exit 1
fi
echo "ok: ABI matches the baseline (added functions allowed)"
