#!/bin/sh
# Runs the Go binding's tests for meson: run-go-test.sh GO MODULE_DIR.
# The environment (set by meson.build) points cgo's pkg-config at the build
# tree and GOPATH/GOCACHE into the build directory. Prints go test's output,
# then one TAP line per top-level test so that scripts/summarize-tests.py
# counts Go tests one by one. Fails if no test ran at all.
set -eu
go=$1
cd "$2/jobq"
mkdir -p "$GOPATH" "$GOCACHE"

# The race detector checks the concurrency tests for real; it exists only
# on some platforms.
# on some platforms. JOBQ_GO_RACE=0 turns it off: scripts/sanitize.sh runs
# these tests against an ASan build of libjobq, and Go's race runtime (TSan)
# cannot share a process with ASan.
race=
case "$("$go" env GOOS)/$("$go" env GOARCH)" in
    linux/amd64 | linux/arm64) race=-race ;;
esac
[ "${JOBQ_GO_RACE:-1}" = 0 ] && race=

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
"$go" test $race -count=1 -v ./... >"$log" 2>&1 || status=$?
cat "$log"

n=0
tap=$(grep -E '^--- (PASS|FAIL|SKIP): ' "$log" | while read -r _ result name _; do
    n=$((n + 1))
    case $result in
        PASS:) echo "ok $n - $name" ;;
        SKIP:) echo "ok $n - $name # SKIP" ;;
        *) echo "not ok $n - $name" ;;
    esac
done)
count=$(printf '%s\n' "$tap" | grep -c '^ok\|^not ok' || true)
echo "1..$count"
[ -n "$tap" ] && printf '%s\n' "$tap"
if [ "$count" -eq 0 ] && [ "$status" -eq 0 ]; then
    echo "run-go-test.sh: go test ran no test" >&2
    exit 1
fi
exit "$status"
