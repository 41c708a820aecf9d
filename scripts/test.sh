#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings
# as errors, runs every test, and ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
builddir=${BUILDDIR:-build}
# Reconfigure an existing build directory (say, one scripts/demo.sh made
# before the test packages were installed): meson looks for the optional
# tools (go, pytest, promtool, chromium...) when it configures.
if [ -d "$builddir" ]; then
    meson setup --reconfigure "$builddir" -Dwerror=true >/dev/null
else
    meson setup "$builddir" -Dwerror=true >/dev/null
fi
meson compile -C "$builddir" >/dev/null
status=0
# Check's per-test timeout (4 s) assumes an idle machine; a shared CI
# runner is not always one.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}
meson test -C "$builddir" --print-errorlogs --num-processes 2 "$@" || status=$?
# The unit tests once more under valgrind's memcheck: any leak or invalid
# access fails them.
meson test -C "$builddir" --setup valgrind --suite unit --print-errorlogs \
    --num-processes 2 || status=$?
# The unit, store and fuzz suites under ASan+UBSan (issue 8; the whole
# suite, the bindings and TSan: scripts/sanitize.sh). JOBQ_SANITIZE=0 skips.
asan_log=
if [ "${JOBQ_SANITIZE:-1}" != 0 ]; then
    CK_TIMEOUT_MULTIPLIER=10 ASAN_BUILDDIR=${ASAN_BUILDDIR:-build-asan} \
        scripts/sanitize.sh ci ||
        status=$?
    asan_log=${ASAN_BUILDDIR:-build-asan}/meson-logs/testlog.json
fi
/usr/bin/python3 scripts/summarize-tests.py \
    "$builddir/meson-logs/testlog.json" "$builddir/meson-logs/testlog-valgrind.json" \
    $asan_log
exit $status
