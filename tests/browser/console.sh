#!/usr/bin/env bash
# Browser tests of the web console (suite "browser"): brookd on ephemeral ports,
# data seeded with kcat, then tests/browser/console.test.js drives Debian's
# chromium through playwright-core - once against the normal broker, once against
# a read-only one, and once against a broker with a FUSE mount when this machine
# can mount one. The screenshots it takes of every page at 1 280 and 390 px go to
# docs/console/ - each only when that file is missing or BROOK_UPDATE_SCREENSHOT=1
# (so that test runs leave the tree alone).
. "$(dirname "$0")/lib.bash"
GROUP_COMMITTED={}
TS_B=0

browser_need "browser tests"

# node_test MODE: run the browser checks; their ok/not ok lines are this suite's
node_test() {
    MODE=$1 PY=$PY CONSOLE_URL=$C BROKER=$BROKER TS_B=$TS_B GROUP_COMMITTED=$GROUP_COMMITTED \
        SHOTS=$T/shots DOCS_SHOTS=$ROOT/docs/console FUSE_APPEND=${FUSE_APPEND:-} PATH="$ROOT/$BUILD:$PATH" \
        browser_run 300 "browser run ($1)" console.test.js
}

seed() {
    req POST /api/v1/topics '{"name":"orders","partitions":3}'
    for p in 0 1 2; do
        for i in $(seq 1 $((5 - 2 * p + p / 2))); do
            echo "order-$p-$i	{\"id\":$i,\"item\":\"widget\",\"customer\":{\"name\":\"Ada\",\"tier\":\"gold\"}}"
        done | $KC "$BROKER" -P -t orders -p $p -K $'\t' -H source=web -H trace=t$p
    done
    req POST /api/v1/topics '{"name":"events","partitions":1}'
    printf 'event-a-%d\n' 1 2 3 4 5 | $KC "$BROKER" -P -t events -p 0
    TS_B=$(date +%s%3N)
    while [ "$(date +%s%3N)" -le "$TS_B" ]; do :; done
    TS_B=$((TS_B + 1))
    printf 'event-b-%d\n' 1 2 3 | $KC "$BROKER" -P -t events -p 0
    echo 'the NeEdLe record' | $KC "$BROKER" -P -t events -p 0
    printf '\000\001\002\377\376 and then some text' >"$T/bin"
    req POST /api/v1/topics '{"name":"bin","partitions":1}'
    $KC "$BROKER" -P -t bin -p 0 "$T/bin"
    # a binary key and a binary header on a text value: one rendering for all three
    $PY - "$BROKER" <<'PY'
import sys
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1])
p.send('bin', key=b'\x01\x02key', value=b'text value', headers=[('raw', b'\x00\xffhdr')], partition=0)
p.flush()
PY
    # enough records to page through: m-0 .. m-119 at offsets 0 .. 119
    req POST /api/v1/topics '{"name":"many","partitions":1}'
    seq -f 'm-%g' 0 119 | $KC "$BROKER" -P -t many -p 0
    # transactions: one aborted (offsets 0-1, marker 2), one committed (3, marker 4)
    req POST /api/v1/topics '{"name":"txtopic","partitions":1}'
    timeout 60 "$ROOT/$BUILD/tests/integration/txn_client" "$BROKER" txtopic abort 2 browser >/dev/null
    timeout 60 "$ROOT/$BUILD/tests/integration/txn_client" "$BROKER" txtopic commit 1 browser >/dev/null
    # a consumer group that read part of orders and committed
    $KC "$BROKER" -C -G lagtest -c 4 -q -X auto.offset.reset=earliest orders >/dev/null 2>&1
    GROUP_COMMITTED=$($PY - "$BROKER" <<'PY'
import json, sys
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers=sys.argv[1], group_id='lagtest', enable_auto_commit=False)
tps = [TopicPartition('orders', p) for p in range(3)]
print(json.dumps({str(tp.partition): c.committed(tp) for tp in tps if c.committed(tp) is not None}))
c.close()
PY
)
}

# A running member of group "idle" that never commits: its lag is unknown, not 0.
# It stays for the main browser run (node_test's bound is 300 s).
idle_consumer() {
    member_start orders idle 300
    wait_until 30 idle_stable || fail "browser: group idle becomes Stable with one member"
}
idle_stable() {
    req GET /api/v1/groups/idle
    [ "$STATUS" = 200 ] && [ "$(jget 'd["state"]')" = Stable ] && [ "$(jget 'len(d["offsets"])')" = 3 ]
}

console_start || { fail "browser: brookd starts with the console"; exit 1; }
seed
idle_consumer
node_test main
member_stop
for f in "$T"/shots/*.png; do # taken only where docs/console/ lacks one, or all when updating
    [ -s "$f" ] || continue
    if [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
        mkdir -p "$ROOT/docs/console" && cp "$f" "$ROOT/docs/console/"
    else
        fail "browser: $(basename "$f") is a PNG"
    fi
done
brookd_stop
check "brookd stops cleanly after the browser session" [ $? -eq 0 ]

console_start -o console.read.only=true || { fail "browser: brookd restarts read-only"; exit 1; }
node_test readonly
brookd_stop

# With users and ACLs: alice is a super user, bob may read orders only (the
# harness administers as User:ANONYMOUS over the plaintext listener).
console_start_users || { fail "browser: brookd restarts with users and ACLs"; exit 1; }
acl_allow bob READ TOPIC orders || fail "browser: an ACL lets bob read orders"
node_test login
brookd_stop

# The FUSE view: brookd mounts inside a private mount namespace, and the line is
# appended from inside that namespace (nsenter); the browser only needs the port.
fuse_check() {
    local name="a line appended with echo >> through the FUSE mount appears in the live tail"
    if fuse_start "$name"; then
        req POST /api/v1/topics '{"name":"fusetopic","partitions":1}'
        FUSE_APPEND="nsenter -t $FUSE_PID -m sh -c 'echo appended-through-fuse >> $FUSE_MNT/fusetopic'"
        node_test fuse
    fi
    fuse_stop
}
fuse_check
