#!/bin/sh
# Submit, batch submit and tick rates from C, Python and Go on the same
# workload (bench/bindings.c describes it), in one run; prints them side by
# side with each binding's rate as a share of C's, on the wall clock and on
# the process's CPU time (which a loaded, shared machine disturbs less).
# The three programs run in turn, three rounds (so that a change in the
# machine's load hits all three alike); each program reports the median
# of 3 measures, and the table the median of the 3 rounds.
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

python=
if /usr/bin/python3 -c 'import cffi' 2>/dev/null; then
    python=yes
fi
go=
if command -v go >/dev/null &&
    (cd "$here/bindings-go" &&
        PKG_CONFIG_PATH="$build/bindings/go" GOFLAGS=-mod=mod GOPROXY=off \
        GOTOOLCHAIN=local GOCACHE="$build/bindings/go/gocache" \
        GOPATH="$build/bindings/go/gopath" CGO_ENABLED=1 \
        go build -o "$out/bench-go" . ); then
    go=yes
fi
for round in 1 2 3; do
    "$build/bench/bench-bindings" "$runs" >>"$out/c"
    [ -z "$python" ] || JOBQ_LIBRARY="$build/lib/libjobq.so.0" \
        /usr/bin/python3 "$here/bindings.py" "$runs" >>"$out/python"
    [ -z "$go" ] || LD_LIBRARY_PATH="$build/lib" "$out/bench-go" "$runs" \
        >>"$out/go"
done

rate() { # rate LANG NAME COLUMN (2: wall, 3: CPU): the median round
    [ -f "$out/$1" ] && awk -v n="$2" -v c="$3" '$1 == n { print $c }' \
        "$out/$1" | sort -n | sed -n 2p
}
share() { # share RATE C-RATE
    [ -n "$1" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'
}
echo "libjobq bindings benchmark: $runs runs, medians of 3 rounds x 3 (operations/s)"
for column in 2 3; do
    [ "$column" = 2 ] && echo "wall time (load average: $(cut -d' ' -f1-3 /proc/loadavg))" \
                      || echo "process CPU time"
    printf '%-9s %12s %12s %7s %12s %7s\n' "" C Python "% of C" Go "% of C"
    for name in submit batch onebatch tick; do
        c=$(rate c "$name" "$column")
        py=$(rate python "$name" "$column" || true)
        go=$(rate go "$name" "$column" || true)
        printf '%-9s %12s %12s %7s %12s %7s\n' "$name" "$c" "${py:--}" \
            "$(share "$py" "$c")" "${go:--}" "$(share "$go" "$c")"
    done
done
