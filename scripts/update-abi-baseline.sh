#!/usr/bin/env bash
# Writes tests/abi/libjobq.abi from the current build: run it when cutting a
# release (and after an intended, SONAME-bumped ABI break), then commit it.
#   scripts/update-abi-baseline.sh [BUILDDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
abidw --headers-dir include/jobq --out-file tests/abi/libjobq.abi "$build/lib/libjobq.so"
echo "wrote tests/abi/libjobq.abi"
