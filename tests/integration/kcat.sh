#!/usr/bin/env bash
# kcat against brookd: a 10 000-record keyed round trip with headers, metadata
# listing, offsets by timestamp, and a consumer group that reads everything once
# and commits.
. "$(dirname "$0")/../lib.sh"
KC="timeout 60 kcat -b"

brookd_start || { fail "kcat: brookd starts"; exit 1; }

# 10 000 records with keys, values of every printable ASCII character, and headers
$PY - >"$T/in.txt" <<'PY'
import random
random.seed(7)
chars = [chr(c) for c in range(32, 127) if chr(c) not in '\t']
for i in range(10000):
    v = ''.join(random.choice(chars) for _ in range(random.randint(0, 300)))
    print(f"key-{i}\t{v}")
PY
$KC "$BROKER" -P -t rt -K $'\t' -H trace=abc -H "h2=x y" <"$T/in.txt"
check "kcat -P of 10000 keyed records succeeds" [ $? -eq 0 ]
$KC "$BROKER" -C -t rt -e -q -f '%k\t%s\n' >"$T/out.txt"
check "kcat -C -e returns the 10000 records byte for byte" cmp -s "$T/in.txt" "$T/out.txt"
$KC "$BROKER" -C -t rt -e -q -c 3 -f '%h|%o\n' >"$T/h.txt"
check "headers round-trip" [ "$(head -1 "$T/h.txt")" = "trace=abc,h2=x y|0" ]

$KC "$BROKER" -L -t rt >"$T/meta.txt" 2>&1
check "kcat -L lists the topic and its partition" \
    grep -q 'topic "rt" with 1 partitions' "$T/meta.txt"
check "kcat -L names this broker as controller" grep -q "at 127.0.0.1:$PORT (controller)" "$T/meta.txt"

# offsets by timestamp: everything produced after T starts at offset 5
seq 1 5 | $KC "$BROKER" -P -t times
ts=$(date +%s%3N)
while [ "$(date +%s%3N)" -le "$ts" ]; do :; done # a millisecond strictly later
ts=$((ts + 1))
seq 6 8 | $KC "$BROKER" -P -t times
q=$($KC "$BROKER" -Q -t "times:0:$ts" 2>&1)
check "kcat -Q finds the first offset at a timestamp" grep -q 'offset 5' <<<"$q"
q=$($KC "$BROKER" -Q -t "times:0:$((ts + 3600000))" 2>&1)
check "kcat -Q past the end gives offset -1" grep -q 'offset -1' <<<"$q"

# a consumer group reads everything once and commits
$KC "$BROKER" -P -t grp -p 0 <<<"$(seq 1 100)"
$KC "$BROKER" -P -t grp -p 0 <<<"$(seq 101 200)"
$KC "$BROKER" -C -G g1 -q -e -f '%s\n' -X auto.offset.reset=earliest grp >"$T/g1.txt" 2>"$T/g1.err"
check "kcat -G reads all 200 records" [ "$(sort -n "$T/g1.txt" | uniq | wc -l)" = 200 ]
check "kcat -G reads each record once" [ "$(wc -l <"$T/g1.txt")" = 200 ]
committed=$($PY - "$BROKER" <<'PY'
import sys
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers=sys.argv[1], group_id='g1', enable_auto_commit=False)
print(c.committed(TopicPartition('grp', 0)))
c.close()
PY
)
check "the group's offsets are committed (kafka-python reads 200)" [ "$committed" = 200 ]
$KC "$BROKER" -C -G g1 -q -e -f '%s\n' grp >"$T/g1b.txt" 2>/dev/null
check "a second run of the group reads nothing new" [ ! -s "$T/g1b.txt" ]

brookd_stop
check "brookd stops cleanly on SIGTERM" [ $? -eq 0 ]
check "the clean-shutdown marker is written" [ -e "$DATA/.brook_cleanshutdown" ]
