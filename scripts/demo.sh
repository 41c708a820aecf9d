#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, and simulates
# one day of a data platform (examples/scenarios/data-platform-day.json).
# The event stream goes to build/demo-events.jsonl; the summary is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
builddir=${BUILDDIR:-build}
[ -d "$builddir" ] || meson setup "$builddir" >/dev/null
meson compile -C "$builddir" >/dev/null
events="$builddir/demo-events.jsonl"
"$builddir/examples/sim/jobq-sim" --text examples/scenarios/data-platform-day.json > "$events"
echo
echo "$(wc -l < "$events") events written to $events, for example:"
grep -m1 '"event":"blocked"' "$events"
grep -m1 '"event":"cancelled"' "$events"
