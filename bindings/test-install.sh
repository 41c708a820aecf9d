#!/bin/sh
# What a user gets from `meson install`: a C program, the Python binding in
# a fresh venv and Go programs, all built outside the checkout against the
# installed library with pkg-config.
#
#   test-install.sh BUILDDIR SRCDIR            (meson test: --suite bindings)
#       installs into a temporary DESTDIR and points pkg-config
#       (PKG_CONFIG_PATH, PKG_CONFIG_SYSROOT_DIR) and the dynamic linker
#       (LD_LIBRARY_PATH) at it: the system is not touched;
#   test-install.sh BUILDDIR SRCDIR --system
#       after a real `sudo meson install -C BUILDDIR`: sets nothing at all,
#       so it checks that pkg-config, ldconfig and the installed Go source
#       are found as they are.
#
# Go runs offline (GOPROXY=off, GOFLAGS=-mod=mod). Prints TAP, one line
# per check; exits non-zero if one fails, 77 (skip) without a C compiler.
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
mode=${3:-destdir}
work=$(mktemp -d "${TMPDIR:-/tmp}/jobq-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GO111MODULE=on \
       CGO_ENABLED=1
unset JOBQ_LIBRARY PYTHONPATH
command -v cc >/dev/null || { echo "1..0 # SKIP no C compiler"; exit 77; }

# TAP: the lines are collected in $work/tap and printed after the plan.
n=0
failed=0
: >"$work/tap"
ok() { n=$((n + 1)); echo "ok $n - $1" >>"$work/tap"; }
not_ok() {
    n=$((n + 1)); failed=1; echo "not ok $n - $1" >>"$work/tap"
    if [ -s "$work/log" ]; then sed 's/^/# /' "$work/log" >>"$work/tap"; fi
}
finish() { echo "1..$n"; cat "$work/tap"; exit $failed; }
check() { # check DESCRIPTION COMMAND...: runs it, output to $work/log
    what=$1; shift
    if "$@" >"$work/log" 2>&1; then ok "$what"; else not_ok "$what"; fi
}
# run_installed COMMAND...: runs a program that uses the installed library
run_installed() { env ${run_env:+"$run_env"} "$@"; }
no_runpath() { [ -f "$1" ] && ! readelf -d "$1" | grep -E 'RUNPATH|RPATH'; }

if [ "$mode" = --system ]; then
    run_env=
    prefix=$(pkg-config --variable=prefix jobq)
    gosrc=$prefix/share/gocode/src/libjobq.org/jobq
else
    meson install -C "$build" --no-rebuild --quiet --destdir "$work/dest" \
        >"$work/log" 2>&1 || { not_ok "meson install --destdir"; finish; }
    ok "meson install --destdir"
    pc=$(find "$work/dest" -name jobq.pc)
    PKG_CONFIG_PATH=$(dirname "$pc")
    PKG_CONFIG_SYSROOT_DIR=$work/dest
    export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
    run_env=LD_LIBRARY_PATH=$(pkg-config --variable=libdir jobq)
    gosrc=$(find "$work/dest" -type d -path '*/gocode/src/libjobq.org/jobq')
fi
libdir=$(pkg-config --variable=libdir jobq)
check "pkg-config finds jobq $(pkg-config --modversion jobq)" \
    pkg-config --exists jobq

# ------------------------------------------------------------------- C
mkdir "$work/c"
cat >"$work/c/hello.c" <<'EOF'
#include <stdio.h>
#include <jobq/jobq.h>

int main(void)
{
    jobq_options opts = JOBQ_OPTIONS_INIT;
    jobq_scheduler *s;
    char err[256];
    if (jobq_open(&s, &opts, err, sizeof err) != 0)
        return 1;
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = "hello";
    def.ns = "ns";
    jobq_run_id id = 0;
    if (jobq_job_define(s, &def) != 0 || jobq_run_submit(s, &id, "hello", NULL))
        return 1;
    printf("libjobq %s run %llu\n", jobq_version(), (unsigned long long)id);
    jobq_close(s);
    return 0;
}
EOF
# shellcheck disable=SC2046
check "C: cc \$(pkg-config --cflags --libs jobq)" \
    cc -std=c11 -Wall -Werror -o "$work/c/hello" "$work/c/hello.c" \
    $(pkg-config --cflags --libs jobq)
check "C: the program runs" run_installed "$work/c/hello"
check "C: libjobq.so.0 resolved from $libdir" \
    sh -c "env $run_env ldd '$work/c/hello' | grep -F 'libjobq.so.0 => $libdir/'"

# -------------------------------------------------------------- Python
py=/usr/bin/python3
if $py -c 'import cffi, setuptools, venv, pip, wheel' 2>/dev/null; then
    # A copy: pip must not write build/ and egg-info into the checkout.
    cp -R "$src/bindings/python" "$work/py-src"
    rm -rf "$work/py-src/build" "$work/py-src/"*.egg-info
    check "Python: venv --system-site-packages" \
        $py -m venv --system-site-packages --without-pip "$work/venv"
    # Debian's pip, seen through the system site-packages, installs into
    # the venv it runs in.
    check "Python: pip install --no-build-isolation --no-index" \
        "$work/venv/bin/python" -m pip install --no-build-isolation \
        --no-index --no-cache-dir --disable-pip-version-check --quiet \
        "$work/py-src"
    cat >"$work/hello.py" <<'EOF'
import sys
import jobq
assert jobq.__file__.startswith(sys.prefix), jobq.__file__
assert jobq.library_path == "libjobq.so.0", jobq.library_path
with jobq.Scheduler() as s:
    s.define_job("hello", "ns")
    run_id: int = s.submit("hello")
    assert s.run(run_id).state == "queued"
print(f"jobq {jobq.__version__} over libjobq {jobq.version()}, run {run_id}")
EOF
    cd "$work"  # outside the checkout
    check "Python: import jobq outside the checkout, library from the system path" \
        run_installed "$work/venv/bin/python" "$work/hello.py"
    check "Python: the installed package is typed (py.typed)" \
        sh -c "ls '$work'/venv/lib/python3*/site-packages/jobq/py.typed"
    if command -v mypy >/dev/null; then
        check "Python: mypy --strict on a user program" \
            mypy --strict --python-executable "$work/venv/bin/python" \
            --cache-dir=/dev/null "$work/hello.py"
    fi
else
    ok "Python # SKIP python3-cffi, -setuptools, -venv, -pip or -wheel missing"
fi

# ------------------------------------------------------------------ Go
if command -v go >/dev/null; then
    # A cache of its own: the check below is about what this cache keeps
    # between a build-tree build and an installed one.
    [ "$mode" = --system ] || export GOCACHE="$work/gocache"
    hello_go() { # hello_go DIR REPLACEMENT: a module outside the checkout
        mkdir -p "$1"
        cat >"$1/go.mod" <<EOF
module example.com/hello

go 1.19

require libjobq.org/jobq v0.1.0

replace libjobq.org/jobq => $2
EOF
        cat >"$1/main.go" <<'EOF'
package main

import (
	"errors"
	"fmt"
	"os"

	"libjobq.org/jobq"
)

func main() {
	s, err := jobq.Open(jobq.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer s.Close()
	if err := s.DefineJob(jobq.JobDef{Name: "hello", Namespace: "ns"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	id, err := s.Submit("hello", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bad := s.DefineJob(jobq.JobDef{Name: "x", Namespace: "ns", Priority: 7})
	if !errors.Is(bad, jobq.ErrInvalid) {
		fmt.Fprintln(os.Stderr, "priority 7 accepted:", bad)
		os.Exit(1)
	}
	fmt.Printf("libjobq %s run %d\n", jobq.Version(), id)
}
EOF
    }
    if [ "$mode" != --system ]; then
        # From a checkout: replace to the source, pkg-config to the build
        # tree (jobq-uninstalled.pc), the library from build/lib.
        hello_go "$work/go-checkout" "$src/bindings/go/jobq"
        check "Go: a program outside the module, replace => checkout, build tree" \
            sh -c "cd '$work/go-checkout' && \
                   env -u PKG_CONFIG_SYSROOT_DIR \
                   PKG_CONFIG_PATH='$build/bindings/go' go build -o hello . && LD_LIBRARY_PATH='$build/lib' ./hello"
    fi
    # Installed: replace => the source meson installed, the installed .pc.
    hello_go "$work/go-installed" "$gosrc"
    check "Go: a program outside the module, replace => installed source" \
        sh -c "cd '$work/go-installed' && go build -o hello ."
    check "Go: it runs on the installed library" \
        run_installed "$work/go-installed/hello"
    check "Go: no RUNPATH into a build tree" no_runpath "$work/go-installed/hello"
    if [ "$mode" != --system ]; then
        # The checkout's package, built before against the build tree, is
        # rebuilt against the installed .pc: no stale rpath from the cache.
        check "Go: a rebuild against the installed .pc drops the build tree's rpath" \
            sh -c "cd '$work/go-checkout' && go build -o hello2 . && \
                   env $run_env ./hello2 && ! readelf -d hello2 | grep -E 'RUNPATH|RPATH'"
    fi
else
    ok "Go # SKIP golang-go missing"
fi

finish
