#!/usr/bin/env bash
# Hostile input to the group coordinator and committed offsets, each case while a
# control client keeps producing and fetching (tests/integration/groups_hostile.py);
# then the same data after a restart, and offsets retention on a second brookd.
. "$(dirname "$0")/../lib.sh"
case $BUILD in */san | san) export GROUPS_SANITIZED=1 ;; esac # bounds x3 (ASan's redzones)
PYG="timeout 600 python3 $ROOT/tests/integration/groups_hostile.py"

phase() { # phase NAME: run one phase of groups_hostile.py against the running brookd
    tool "groups_hostile.py $1" $PYG "$1" "$BROKER" "$BROOKD_PID" "$BROOKD_LOG"
}

brookd_start -o socket.request.max.bytes=104857600 || { fail "groups: brookd starts"; exit 1; }
phase main
brookd_stop
check "groups: brookd stops cleanly after the hostile cases" [ $? -eq 0 ]
brookd_start -o socket.request.max.bytes=104857600 || { fail "groups: brookd restarts"; exit 1; }
phase restart
brookd_stop

# retention: one minute (Kafka's smallest), checked every half second
DATA=$T/retention
RET=(-o offsets.retention.minutes=1 -o offsets.retention.check.interval.ms=500
    -o brook.groups.max=2)
brookd_start "${RET[@]}" || { fail "groups: brookd starts with offsets.retention.minutes=1"; exit 1; }
phase retention
brookd_stop
brookd_start "${RET[@]}" || { fail "groups: brookd restarts after expiry"; exit 1; }
phase retention-restart
brookd_stop
check "groups: brookd stops cleanly after expiring offsets" [ $? -eq 0 ]
