#!/usr/bin/env bash
# The transaction coordinator on the wire (tests/integration/txn_coord.py): the
# whole transactional sequence, commit and abort, fencing, the timeout abort;
# then a SIGKILL with one transaction Ongoing and one in PrepareCommit, which
# the restart aborts and commits; then librdkafka's transactional producer;
# then an idle transactional id expires and stays forgotten after a restart.
. "$(dirname "$0")/../lib.sh"
PYT="timeout 120 python3 $ROOT/tests/integration/txn_coord.py"
STATE=$T/txn_state.json

brookd_start || { fail "txn_coord: brookd starts"; exit 1; }
tool "txn_coord.py main" $PYT main "$BROKER" "$STATE"
tool "txn_coord.py crash" $PYT crash "$BROKER" "$STATE"
brookd_kill
brookd_start || { fail "txn_coord: brookd restarts after SIGKILL"; exit 1; }
check "txn_coord: the restart finishes the transactions left open" \
    grep -q "2 transactions finished after the restart" "$BROOKD_LOG"
tool "txn_coord.py restart" $PYT restart "$BROKER" "$STATE"
if /usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null; then
    tool "txn_rdkafka.py" timeout 120 /usr/bin/python3 "$ROOT/tests/integration/txn_rdkafka.py" "$BROKER"
else
    echo "ok - txn_coord: librdkafka smoke # skip python3-confluent-kafka is not installed"
fi
brookd_stop
check "txn_coord: brookd stops cleanly" [ $? -eq 0 ]

DATA=$T/expiry
brookd_start -o transactional.id.expiration.ms=500 || { fail "txn_coord: brookd starts"; exit 1; }
tool "txn_coord.py expiry" $PYT expiry "$BROKER" "$STATE"
brookd_stop
brookd_start -o transactional.id.expiration.ms=3600000 || { fail "txn_coord: brookd restarts"; exit 1; }
tool "txn_coord.py expired" $PYT expired "$BROKER" "$STATE"
brookd_stop
check "txn_coord: brookd stops cleanly after expiring ids" [ $? -eq 0 ]
