#!/usr/bin/env bash
# tests/tsan/run.sh - the ThreadSanitizer suite of make test.
#
# brook's threads (the broker's event loop, the store's flusher and maintenance
# threads, the admin thread, FUSE workers and the notifier) share fields that must
# be _Atomic or reached only under a lock. ThreadSanitizer sees a violation only
# when the racing accesses really happen, so this suite runs programs that drive
# every thread at once, built with -fsanitize=thread into $TSAN_BUILD (make
# tsan-build):
#
#   test_store, test_fs         the store's and the FUSE view's unit tests
#   test_store_txn              transactions: a read_committed reader beside a writer
#   integration/kcat.sh         produce, fetch, groups and commits through kcat
#   integration/hostile.sh      malformed requests beside a control producer
#   cli/admin.sh                topic administration (the admin thread)
#   integration/sasl.sh         SASL logins (PLAIN's check runs on the admin thread)
#   integration/topic_configs.sh  configs altered while appends, retention and reads run
#   console/api.sh              the console's HTTP API
#   fuse/write.sh, follow.sh    appends and followed reads through the mount
#   fuse/remote.sh              brook mount (its producer, watcher and readers)
#                               of a ThreadSanitizer brookd
#   integration/netthreads.sh   connections on four loops; group and transaction
#                               requests handed to loop 0 and back
#
# Every brookd here runs four network threads (BROOKD_ARGS, tests/lib.sh), so the
# scripts above also drive the loops' hand-offs (accepts, coordinator requests,
# completions, wakeups of parked fetches) on as many threads as this machine has.
#
# Each is "ok" only if it passes and ThreadSanitizer reports nothing: the first
# report stops the program (halt_on_error, exit status 66) and is printed here.
# tests/tsan.supp lists the reports suppressed and why (third-party code only).
# Ordinary failures of the reused scripts are theirs to report in their own suites;
# here any of them fails the line too, since a race may show only as a wrong result.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
TSAN_BUILD=${TSAN_BUILD:-build/tsan}
work=$(mktemp -d "${TMPDIR:-/tmp}/brook-tsan-XXXXXX")
trap 'rm -rf "$work"' EXIT

for f in brookd brook tests/test_store tests/test_fs tests/test_store_txn; do
    if [ ! -x "$TSAN_BUILD/$f" ]; then
        echo "not ok - tsan: $TSAN_BUILD/$f is not built (make tsan-build)"
        exit 1
    fi
done

# history_size: longer memory of earlier accesses, so both stacks of a race print
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 history_size=4 \
suppressions=$ROOT/tests/tsan.supp log_path=$work/report"

# run NAME CMD...: CMD's output goes to a file; "ok" when it exits 0, prints no
# "not ok" line and leaves no ThreadSanitizer report behind.
run() {
    local name=$1 out=$work/out rc reports
    shift
    rm -f "$work"/report.*
    timeout -k 10 300 "$@" >"$out" 2>&1
    rc=$?
    reports=$(cat "$work"/report.* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer')
    if [ "$rc" -eq 0 ] && grep -q '^skip - ' "$out" && ! grep -q '^ok' "$out"; then
        grep -h '^skip - ' "$out" # e.g. no /dev/fuse here
        return
    fi
    if [ "$rc" -eq 0 ] && [ "$reports" -eq 0 ] && ! grep -q '^not ok' "$out"; then
        echo "ok - tsan: $name ($(grep -c '^ok\|OK \]' "$out") checks, no report)"
        return
    fi
    echo "not ok - tsan: $name (exit $rc, $reports ThreadSanitizer reports)"
    cat "$work"/report.* 2>/dev/null | sed 's/^/# /'
    grep '^not ok\|FAILED\|ERROR' "$out" | head -20 | sed 's/^/# /'
    grep -m1 -A8 'did not start' "$out" | sed 's/^/# /' # the first failed start's log
}

run "test_store" "$TSAN_BUILD/tests/test_store"
run "test_fs" "$TSAN_BUILD/tests/test_fs"
run "test_store_txn" env BROOK_TXN_CRASH_SEEDS=2 "$TSAN_BUILD/tests/test_store_txn"
export BROOKD_ARGS="-o num.network.threads=4"
for s in integration/kcat integration/hostile cli/admin console/api integration/topic_configs \
    integration/sasl integration/netthreads; do
    run "$s.sh against a ThreadSanitizer brookd" env BUILD="$TSAN_BUILD" bash "tests/$s.sh"
done
for s in write follow; do
    run "fuse/$s.sh against a ThreadSanitizer brookd" \
        env BUILD="$TSAN_BUILD" FUSE_DAEMON="$TSAN_BUILD/brookd" bash "tests/fuse/$s.sh"
done
run "fuse/remote.sh: a ThreadSanitizer brook mount of a ThreadSanitizer brookd" \
    env BUILD="$TSAN_BUILD" bash tests/fuse/remote.sh
exit 0
