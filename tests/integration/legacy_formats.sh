#!/usr/bin/env bash
# Message sets of magic 0 and 1 (Produce v0-2, Fetch v0-3), converted to and from
# RecordBatch v2: a hand-built wire round trip read back by every old Fetch version
# and by kcat, hostile sets under tests/guard.py (legacy_formats.py), then Debian's
# kafka-go, which speaks only these versions: Writer, and a group Reader that commits
# and resumes after a restart (legacy_kafkago/).
. "$(dirname "$0")/../lib.sh"
brookd_start || { fail "legacy_formats: brookd starts"; exit 1; }
tool "legacy_formats.py" timeout 600 python3 "$ROOT/tests/integration/legacy_formats.py" \
    "$BROKER" "$BROOKD_PID" "$BROOKD_LOG"
brookd_stop
check "legacy_formats: brookd stops cleanly afterwards" [ $? -eq 0 ]
