#!/usr/bin/env bash
# tests/fuzz/short.sh - the short fuzz run of make test.
#
# Every fuzz target (tests/fuzz/run) for FUZZ_SHORT_SECONDS (30, the least the
# reliability work asks for) from the committed seeds into a fresh corpus, five at a
# time (FUZZ_JOBS; on two cores each gets two fifths of one, which keeps make test
# within its budget as targets and suites are added), after every committed regression input
# has run once through its target. One
# "ok"/"not ok" line per target and step, with the executions as "#" lines; a crash,
# leak, timeout or broken invariant is "not ok" and its input is kept in
# $BUILD/fuzz/artifacts. Skipped when the targets are not built (no clang).
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
if [ ! -x "$BUILD/fuzz/frame" ]; then
    echo "skip - fuzz: no fuzz targets in $BUILD/fuzz (make fuzz-build needs clang)"
    exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/brook-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
FUZZ_JOBS=${FUZZ_JOBS:-5} FUZZ_SECONDS=${FUZZ_SHORT_SECONDS:-30} FUZZ_WORK=$work tests/fuzz/run
