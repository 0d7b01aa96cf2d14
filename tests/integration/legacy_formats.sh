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

# Debian's kafka-go: built offline from /usr/share/gocode
if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/github.com/segmentio/kafka-go ]; then
    fail "legacy_formats: kafka-go (golang-github-segmentio-kafka-go-dev) is installed"
    exit 0
fi
mkdir -p "$T/go/src"
(cd "$ROOT/tests/integration/legacy_kafkago" &&
    GO111MODULE=off GOPATH="$T/go:/usr/share/gocode" GOCACHE="$T/go/cache" GOFLAGS= \
        timeout 300 go build -o "$T/legacy_kafkago" .)
if [ ! -x "$T/legacy_kafkago" ]; then
    fail "legacy_formats: the kafka-go program builds"
    exit 0
fi
brookd_start || { fail "legacy_formats: brookd starts for kafka-go"; exit 1; }
LK="timeout 120 $T/legacy_kafkago"
tool "kafka-go produce" $LK "$BROKER" kgo produce 300
tool "kafka-go consume" $LK "$BROKER" kgo consume g1 0 150
brookd_stop
check "legacy_formats: brookd stops cleanly with a kafka-go group" [ $? -eq 0 ]
brookd_start || { fail "legacy_formats: brookd restarts"; exit 1; }
tool "kafka-go resume" $LK "$BROKER" kgo consume g1 150 150
brookd_stop
