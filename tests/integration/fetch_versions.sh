#!/usr/bin/env bash
# Fetch v4-17 with sessions and KIP-74's size rule, ListOffsets v1-10, Produce v3-11 and
# InitProducerId v0-5 in hand-built frames (tests/integration/fetch_versions.py).
. "$(dirname "$0")/../lib.sh"
brookd_start || { fail "fetch_versions: brookd starts"; exit 1; }
tool "fetch_versions.py" timeout 300 python3 "$ROOT/tests/integration/fetch_versions.py" \
    "$BROKER" "$DATA"
brookd_stop
check "fetch_versions: brookd stops cleanly afterwards" [ $? -eq 0 ]
