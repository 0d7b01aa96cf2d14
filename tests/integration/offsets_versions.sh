#!/usr/bin/env bash
# Committed offsets and coordinator lookup at every version brookd advertises
# (OffsetCommit/OffsetFetch v0-9, FindCoordinator v0-6, OffsetDelete v0), from
# hand-built frames: tests/integration/offsets_versions.py. The commits are read
# back after a restart; a commit's own retention expires on a second brookd.
. "$(dirname "$0")/../lib.sh"
PYO="timeout 120 python3 $ROOT/tests/integration/offsets_versions.py"
export OV_EXPECT=$T/expect

brookd_start -o group.initial.rebalance.delay.ms=0 || { fail "offsets: brookd starts"; exit 1; }
tool "offsets_versions.py main" $PYO main "$BROKER"
brookd_stop
check "offsets: brookd stops cleanly" [ $? -eq 0 ]
brookd_start || { fail "offsets: brookd restarts"; exit 1; }
tool "offsets_versions.py restart" $PYO restart "$BROKER"
brookd_stop

DATA=$T/expiry
brookd_start -o offsets.retention.check.interval.ms=500 || { fail "offsets: brookd starts"; exit 1; }
tool "offsets_versions.py expiry-commit" $PYO expiry-commit "$BROKER"
check "offsets: brookd logs the expiry of the offset with a retention of its own" \
    wait_for_line "$BROOKD_LOG" 20 'expired 1 committed offsets'
tool "offsets_versions.py expiry-check" $PYO expiry-check "$BROKER"
brookd_stop
check "offsets: brookd stops cleanly after expiring offsets" [ $? -eq 0 ]
