#!/usr/bin/env bash
# The Go clients Debian packages (golang-github-shopify-sarama-dev,
# golang-github-confluentinc-confluent-kafka-go-dev over librdkafka,
# golang-github-segmentio-kafka-go-dev) against brookd, built offline in GOPATH
# mode from /usr/share/gocode. Each client, on a topic of its own with 3
# partitions: produce N records, a group member reads half of them and commits,
# brookd restarts on the same data, a second member reads the rest: nothing lost,
# nothing committed read again, every byte as produced (tests/compat/go/src/
# brookcompat/check says exactly what is asserted).
. "$(dirname "$0")/../lib.sh"
src=$ROOT/tests/compat/go
N=${GO_COMPAT_RECORDS:-600}
BROOK=$ROOT/$BUILD/brook

if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/github.com/Shopify/sarama ]; then
    fail "go clients: golang-go and the Debian Go Kafka packages are installed (scripts/deps)"
    exit 0
fi
# Build once per program; GOCACHE lives in this run's temp dir, so nothing is
# written outside it and the programs share the standard library's build.
export GO111MODULE=off GOFLAGS= GOPATH=$src:/usr/share/gocode GOCACHE=$T/gocache
built=()
for prog in sarama confluent kafkago; do
    start=${EPOCHREALTIME/./}
    if timeout 300 go build -o "$T/$prog" "brookcompat/$prog" >"$T/build-$prog.log" 2>&1; then
        built+=("$prog")
        tenths=$(((${EPOCHREALTIME/./} - start) / 100000))
        ok "go clients: build $prog ($((tenths / 10)).$((tenths % 10)) s)"
    else
        fail "go clients: build $prog" "$(grep -v 'warning\|note:\|cgo-gcc-prolog\|^ \|^In file' "$T/build-$prog.log" | head -3 | tr '\n' ' ')"
    fi
done

brookd_start || { fail "go clients: brookd starts"; exit 1; }

# run_client NAME PROG ARGS...: produce, then the two consume phases with a
# restart between them; the topic and group are named after NAME. A client whose
# producer fails has its group phases run over records written by
# confluent-kafka-go (same bytes), so the consumer's own result is still known.
run_client() {
    local name=$1 prog=$2
    shift 2
    [[ " ${built[*]} " == *" $prog "* ]] || return 0
    local topic=go-$name group=go-$name-group state=$T/$name.state rc
    timeout 30 "$BROOK" -b "$BROKER" topic create "$topic" -p 3 >/dev/null ||
        { fail "go clients: create topic $topic"; return 0; }
    timeout 120 "$T/$prog" "$@" produce "$BROKER" "$topic" "$group" "$N" "$state"
    rc=$?
    if [ $rc -ne 0 ]; then
        fail "$name produce exited with status $rc"
        [[ $prog != confluent && " ${built[*]} " == *" confluent "* ]] || return 0
        echo "# $name: the group phases read records written by confluent-kafka-go"
        timeout 120 "$T/confluent" produce "$BROKER" "$topic" "$group" "$N" "$state" >/dev/null ||
            { fail "$name: confluent-kafka-go fills the topic instead"; return 0; }
    fi
    tool "$name first member" timeout 120 "$T/$prog" "$@" first "$BROKER" "$topic" "$group" "$N" "$state"
    brookd_stop || fail "go clients: brookd stops cleanly after $name"
    brookd_start || { fail "go clients: brookd restarts after $name"; exit 1; }
    tool "$name second member" timeout 120 "$T/$prog" "$@" second "$BROKER" "$topic" "$group" "$N" "$state"
}

run_client sarama-oldest sarama oldest
run_client sarama-newest sarama newest
if [[ " ${built[*]} " == *" sarama "* ]]; then
    tool "sarama unset produce" timeout 60 "$T/sarama" unset produce "$BROKER" go-sarama-unset g "$N" "$T/unset"
    tool "sarama unset read" timeout 60 "$T/sarama" unset read "$BROKER" go-sarama-unset g "$N" "$T/unset"
fi
run_client confluent confluent
run_client kafkago kafkago
brookd_stop
check "go clients: brookd stops cleanly" [ $? -eq 0 ]
