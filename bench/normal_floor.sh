#!/usr/bin/env bash
# How close to the in-memory replay can a SQLite store get with NORMAL
# durability? Issue 11 asks for 2x. This builds the library once more with
# bench/experiments/normal-floor.patch, which takes work away from the
# store behind environment variables (never in a real build), and replays
# the issue's 100,000-run scenario with each cut, interleaved, median of
# RUNS, next to the memory replay:
#   - as is: jobq-sim --db --durability normal;
#   - no file I/O: journal in memory, no syncs, an exclusive lock (not
#     crash-safe: the SQL work alone);
#   - append only: every update of a run (deploy, outcome, end) appended
#     to a log table instead, never folded back and never read: less than
#     any correct log-structured layout would write;
#   - append only, without the name index (search would find nothing);
#   - one row per commit: a commit's run updates as one text row (the
#     least a log-structured layout could write per commit), with and
#     without the name index.
# Each variant must still print what the memory replay prints. The patch
# is made against the store as of the commit that last changed it: when
# lib/store changes, git apply may refuse it; refresh it then.
#   bench/normal_floor.sh [RUNS [N]]
set -euo pipefail
runs=${1:-5} n=${2:-100000}
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
cleanup() {
    git -C "$src" worktree remove --force "$tmp/tree" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
git -C "$src" worktree add --detach -q "$tmp/tree" HEAD
git -C "$tmp/tree" apply "$src/bench/experiments/normal-floor.patch"
meson setup --buildtype=debugoptimized "$tmp/build" "$tmp/tree" > /dev/null
ninja -C "$tmp/build" examples/sim/jobq-sim > /dev/null
sim="$tmp/build/examples/sim/jobq-sim"
/usr/bin/python3 "$src/bench/gen_scenario.py" --runs "$n" > "$tmp/big.json"

names=(memory "as is" "no file I/O" "append only" "append, no name index"
       "one row per commit" "one row, no name index")
# shell words for env(1), one string per variant
envs=("" ""
      "XP_SQL='PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=MEMORY'"
      "XP_LOG=1" "XP_LOG=1 XP_NONAMES=1" "XP_BLOB=1" "XP_BLOB=1 XP_NONAMES=1")
"$sim" "$tmp/big.json" > "$tmp/reference"
declare -A times
for _ in $(seq "$runs"); do
    for i in "${!names[@]}"; do
        rm -f "$tmp"/db "$tmp"/db-*
        args=("$tmp/big.json")
        # shellcheck disable=SC2034 # used by the eval below
        [ "$i" -gt 0 ] && args=(--db "$tmp/db" --durability normal "$tmp/big.json")
        t0=$(date +%s.%N)
        eval "env ${envs[$i]} \"\$sim\" \"\${args[@]}\"" > "$tmp/out"
        t1=$(date +%s.%N)
        cmp -s "$tmp/out" "$tmp/reference" || echo "!! ${names[$i]}: output differs"
        times[$i]+="$(awk "BEGIN { print $t1 - $t0 }") "
    done
done
median() { tr ' ' '\n' | grep . | sort -n | sed -n "$(( (runs + 1) / 2 ))p"; }
echo "machine: $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1 /proc/loadavg)"
echo "scenario: $n runs (bench/gen_scenario.py), NORMAL, median of $runs, interleaved"
mem=$(echo "${times[0]}" | median)
printf '%-24s %8s %10s\n' variant "wall s" "x memory"
for i in "${!names[@]}"; do
    t=$(echo "${times[$i]}" | median)
    printf '%-24s %8.2f %10.2f\n' "${names[$i]}" "$t" "$(awk "BEGIN { print $t / $mem }")"
done
