#!/usr/bin/env bash
# read_committed on the wire: transactional produce, EndTxn, then Fetch v4-17 and
# ListOffsets with isolation_level 1 (tests/integration/txn_fetch.py).
. "$(dirname "$0")/../lib.sh"
brookd_start || { fail "txn_fetch: brookd starts"; exit 1; }
tool "txn_fetch.py" timeout 300 python3 "$ROOT/tests/integration/txn_fetch.py" "$BROKER" "$DATA"
brookd_stop
check "txn_fetch: brookd stops cleanly afterwards" [ $? -eq 0 ]
