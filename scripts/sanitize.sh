#!/usr/bin/env bash
# The sanitizer setups (issue 8). Each builds libjobq and its tests in a
# build directory of its own and runs tests there; any sanitizer report
# fails the run (halt_on_error).
#
#   scripts/sanitize.sh asan      ASan+UBSan build (build-asan): the whole
#                                 suite, then the Python and Go binding
#                                 tests against that library (below)
#   scripts/sanitize.sh tsan      TSan build (build-tsan): the threads,
#                                 deploy-outside-the-lock, group-commit
#                                 and crash tests
#   scripts/sanitize.sh ci        ASan+UBSan build: the unit, store and
#                                 fuzz suites only (what scripts/test.sh
#                                 runs, to keep CI short)
#   scripts/sanitize.sh [all]     asan, then tsan
#
# Bindings under ASan: a Python interpreter or Go test binary is not built
# with ASan, so libasan is preloaded (LD_PRELOAD, the runtime must come
# first) and leak detection is off for them (the interpreter's own
# allocations are not ours to judge; the library's leaks are caught by the
# C suites). Go's race detector is a TSan runtime that cannot share a
# process with ASan, so the Go tests run without -race there
# (JOBQ_GO_RACE=0); they run with -race in the ordinary suite.
#
# The crash test's writer is killed after a random 5..80 ms; under the
# sanitizers the writer runs many times slower, so the window is stretched
# (JOBQ_CRASH_TIME_SCALE: 10 under ASan, 20 under TSan), and meson's
# timeouts are multiplied by 4.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
asan_dir=${ASAN_BUILDDIR:-build-asan}
tsan_dir=${TSAN_BUILDDIR:-build-tsan}

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# Check's per-test timeout (4 s) is for an uninstrumented build.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}

# Warnings are not errors here: the sanitizers change what GCC can prove
# (format-truncation false positives); the ordinary build (scripts/test.sh)
# keeps -Werror.
setup() { # DIR SANITIZERS
    if [ -d "$1" ]; then
        meson setup --reconfigure "$1" -Dwerror=false -Db_sanitize="$2" \
            -Db_lundef=false >/dev/null
    else
        meson setup "$1" -Dwerror=false -Db_sanitize="$2" \
            -Db_lundef=false >/dev/null
    fi
    meson compile -C "$1" >/dev/null
}

status=0
run_asan() { # SUITE ARGS...
    setup "$asan_dir" address,undefined
    JOBQ_CRASH_TIME_SCALE=${JOBQ_CRASH_TIME_SCALE:-10} \
        meson test -C "$asan_dir" --print-errorlogs --num-processes 2 \
        --timeout-multiplier 4 "$@" || status=1
}

asan_bindings() {
    local libasan
    libasan=$(${CC:-cc} -print-file-name=libasan.so)
    # The suites again, under their own log name, with libasan preloaded.
    # pytest -s: a sanitizer report ends the process at once, and pytest's
    # captured output would be lost with it.
    LD_PRELOAD=$libasan ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 \
        JOBQ_GO_RACE=0 PYTEST_ADDOPTS=-s \
        meson test -C "$asan_dir" --print-errorlogs --num-processes 1 \
        --timeout-multiplier 4 --suite bindings --logbase testlog-bindings ||
        status=1
}

run_tsan() {
    setup "$tsan_dir" thread
    JOBQ_CRASH_TIME_SCALE=20 meson test -C "$tsan_dir" --print-errorlogs \
        --num-processes 2 --timeout-multiplier 4 threads unlock store_group crash ||
        status=1
}

case $mode in
    ci) run_asan --suite unit --suite store --suite fuzz ;;
    asan) run_asan --no-suite bindings; asan_bindings ;;
    tsan) run_tsan ;;
    all) run_asan --no-suite bindings; asan_bindings; run_tsan ;;
    *) echo "usage: scripts/sanitize.sh [asan|tsan|ci|all]" >&2; exit 2 ;;
esac
exit $status
