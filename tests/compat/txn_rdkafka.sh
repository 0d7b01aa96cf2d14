#!/usr/bin/env bash
# librdkafka's transactional API against brookd (tests/compat/txn_rdkafka.c): commit
# and abort over 3 partitions of 2 topics with a consumer group's offsets, what
# read_committed and read_uncommitted consumers see, fencing by a second producer of
# the same transactional.id, and the coordinator aborting a transaction that outlives
# its timeout. After a restart the committed records read the same.
. "$(dirname "$0")/../lib.sh"
RDK=$ROOT/$BUILD/tests/compat/txn_rdkafka

brookd_start || { fail "txn_rdkafka: brookd starts"; exit 1; }
tool "txn_rdkafka basic" timeout 300 "$RDK" basic "$BROKER"
tool "txn_rdkafka fence" timeout 120 "$RDK" fence "$BROKER"
tool "txn_rdkafka timeout" timeout 180 "$RDK" timeout "$BROKER"
brookd_stop
check "txn_rdkafka: brookd stops cleanly" [ $? -eq 0 ]
