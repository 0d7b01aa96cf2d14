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

# librdkafka told the broker is old (no ApiVersions): 0.10.0 produces message sets of
# magic 1 (Produce v2) and fetches with Fetch v2; 0.9.0 produces magic 0 (Produce
# v1). Each codec librdkafka has for them; read back by the old and a modern kcat.
KC="timeout 60 kcat -b $BROKER"
for fb in 0.10.0 0.9.0; do
    for z in none gzip snappy lz4; do
        [ $fb = 0.9.0 ] && [ $z = lz4 ] && continue # lz4 came with 0.10
        t=old-$fb-$z
        OLD="-X api.version.request=false -X broker.version.fallback=$fb"
        seq 1 500 | $KC $OLD -z $z -P -t $t
        $KC -C -t $t -e -q -f '%o %s\n' >"$T/new.txt"
        check "kcat as Kafka $fb (codec $z) produces 500 records a modern kcat reads in order" \
            cmp -s "$T/new.txt" <(seq 1 500 | awk '{print NR - 1, $1}')
        if [ $fb = 0.10.0 ]; then # 0.9.0 would list offsets with ListOffsets v0
            $KC $OLD -C -t $t -e -q -f '%o %s\n' >"$T/old.txt"
            check "kcat as Kafka $fb (codec $z) reads them back with Fetch v2" \
                cmp -s "$T/old.txt" "$T/new.txt"
        fi
    done
done

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
