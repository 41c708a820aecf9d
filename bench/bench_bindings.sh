#!/bin/sh
# Submit, batch submit and tick rates from C, Python and Go on the same
# workload (bench/bindings.c describes it), one after the other in one run,
# each the median of 3; prints them side by side with each binding's rate
# as a share of C's.
#
#   bench/bench_bindings.sh BUILDDIR [RUNS]     (RUNS default 20000)
#
# Python and Go are skipped when their toolchain is missing. Go builds
# offline (GOPROXY=off) with its cache under BUILDDIR.
set -eu
build=$(cd "$1" && pwd)
runs=${2:-20000}
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/jobq-bench.XXXXXX")
trap 'rm -rf "$out"' EXIT

"$build/bench/bench-bindings" "$runs" >"$out/c"
if /usr/bin/python3 -c 'import cffi' 2>/dev/null; then
    JOBQ_LIBRARY="$build/lib/libjobq.so.0" /usr/bin/python3 \
        "$here/bindings.py" "$runs" >"$out/python"
fi
if command -v go >/dev/null; then
    (cd "$here/bindings-go" &&
        PKG_CONFIG_PATH="$build/bindings/go" GOFLAGS=-mod=mod GOPROXY=off \
        GOTOOLCHAIN=local GOCACHE="$build/bindings/go/gocache" \
        GOPATH="$build/bindings/go/gopath" CGO_ENABLED=1 \
        go build -o "$out/bench-go" . ) &&
        LD_LIBRARY_PATH="$build/lib" "$out/bench-go" "$runs" >"$out/go"
fi

rate() { # rate LANG NAME
    [ -f "$out/$1" ] && awk -v n="$2" '$1 == n { print $2 }' "$out/$1"
}
echo "libjobq bindings benchmark: $runs runs, median of 3 (ops/s)"
printf '%-9s %12s %12s %7s %12s %7s\n' "" C Python "% of C" Go "% of C"
for name in submit batch onebatch tick; do
    c=$(rate c "$name")
    py=$(rate python "$name" || true)
    go=$(rate go "$name" || true)
    printf '%-9s %12s %12s %7s %12s %7s\n' "$name" "$c" "${py:--}" \
        "$( [ -n "$py" ] && awk -v a="$py" -v b="$c" 'BEGIN { printf "%.0f%%", 100 * a / b }')" \
        "${go:--}" \
        "$( [ -n "$go" ] && awk -v a="$go" -v b="$c" 'BEGIN { printf "%.0f%%", 100 * a / b }')"
done
