#!/usr/bin/env bash
# KIP-848 consumer groups (tests/integration/kip848.py): three members read while
# records keep coming, one leaves and one joins, no record is lost or read twice;
# then the protocol's refusals; then a restart, after which members rejoin.
. "$(dirname "$0")/../lib.sh"
PYK="timeout 300 python3 $ROOT/tests/integration/kip848.py"

brookd_start || { fail "kip848: brookd starts"; exit 1; }
tool "kip848.py main" $PYK main "$BROKER"
tool "kip848.py refusals" $PYK refusals "$BROKER"
tool "kip848.py hostile" $PYK hostile "$BROKER" "$BROOKD_PID" "$BROOKD_LOG"
brookd_stop
check "kip848: brookd stops cleanly" [ $? -eq 0 ]
brookd_start || { fail "kip848: brookd restarts"; exit 1; }
tool "kip848.py restart" $PYK restart "$BROKER"
brookd_stop
brookd_start -o group.consumer.session.timeout.ms=1500 || { fail "kip848: brookd starts"; exit 1; }
tool "kip848.py timeout" $PYK timeout "$BROKER"
brookd_stop
