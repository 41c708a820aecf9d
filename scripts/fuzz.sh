#!/usr/bin/env bash
# Coverage-guided fuzzing of one target with libFuzzer (needs clang and
# libclang-rt-14-dev).
#   scripts/fuzz.sh quantity|config|scenario|database [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
target=$1 seconds=${2:-60}
case $target in
    quantity) sources="lib/quantity.c" ;;
    config) sources="lib/config.c" ;;
    scenario) sources="examples/sim/scenario.c examples/sim/index.c lib/quantity.c lib/errors.c -Iexamples/sim" ;;
    # Damaged database files through the whole library (issue 8).
    database) sources="lib/*.c lib/core/*.c lib/store/*.c -Ilib/core -Itests/fuzz -lsqlite3 -lpthread -lm" ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
out=$(mktemp -d)
clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -D_POSIX_C_SOURCE=200809L -DJOBQ_BUILDING_LIBRARY -Iinclude -Ilib \
    "tests/fuzz/fuzz_$target.c" $sources $(pkg-config --cflags --libs libcjson) \
    -o "$out/fuzz_$target"
# Fuzz in a scratch corpus seeded from the committed one; crashes are
# written to the current directory. Add a crash input to the committed
# corpus (as regression-*.json or similar) once it is fixed.
mkdir -p "$out/corpus"
cp "tests/fuzz/corpus/$target"/* "$out/corpus/"
"$out/fuzz_$target" -max_total_time="$seconds" "$out/corpus"
echo "scratch corpus left in $out/corpus"
