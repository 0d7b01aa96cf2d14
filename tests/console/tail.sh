#!/usr/bin/env bash
# Live tail over Server-Sent Events: records produced with kcat arrive as events
# (with the latency measured), filters and partitions apply, the stream is freed
# when the viewer leaves, ends with a reason when the topic is deleted or the
# broker stops, and a viewer that stops reading cannot make the broker buffer
# without bound.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/helpers.bash"
KC="timeout 60 kcat -b"

console_start || { fail "tail: brookd starts with the console"; exit 1; }
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d '{"name":"live","partitions":2}' "$C/api/v1/topics"

tails_open() {
    curl -s "$C/metrics" | awk '$1 == "brook_console_live_tails" { print $2 }'
}

# tail_to FILE QUERY: a background viewer writing the stream to FILE; sets VIEWER
tail_to() {
    curl -sN -D "$1.headers" "$C/api/v1/topics/live/tail${2:+?$2}" >"$1" &
    VIEWER=$!
    wait_until 10 grep -qs '^event: hello' "$1"
}

tail_to "$T/all" ""
check "the tail answers with the hello event" [ $? -eq 0 ]
viewer_all=$VIEWER
check "the tail is text/event-stream" grep -qi '^content-type: text/event-stream' "$T/all.headers"
tail_to "$T/p1" "partition=1&filter=WANTED"
viewer_p1=$VIEWER
printf 'a\tfirst\nb\tthe wanted one\n' | $KC "$BROKER" -P -t live -p 1 -K $'\t'
echo 'zero' | $KC "$BROKER" -P -t live -p 0
wait_until 2 grep -q '"value":"zero"' "$T/all"
check "a record produced with kcat arrives within 2 s" [ $? -eq 0 ]
wait_until 2 grep -q '"value":"first"' "$T/all"
check "records of every partition arrive" [ $? -eq 0 ]
grep -q '^id: 1:1$' "$T/all"
check "events carry partition:offset ids" [ $? -eq 0 ]
wait_until 2 grep -q '"value":"the wanted one"' "$T/p1"
check "a filtered tail of one partition gets the match" [ $? -eq 0 ]
check "a filtered tail gets nothing else" [ "$(grep -c '^event: record' "$T/p1")" = 1 ]
check "two tails are open" [ "$(tails_open)" = 2 ]
kill "$viewer_p1"
wait_until 2 [ "$(tails_open)" = 1 ]
check "a tail is freed as soon as its viewer leaves" [ $? -eq 0 ]

# latency: from a produce call returning to the event arriving, 20 times
lat=$($PY - "$BROKER" "$C" <<'PY'
import http.client, sys, time, urllib.parse
from kafka import KafkaProducer
host, port = urllib.parse.urlparse(sys.argv[2]).netloc.split(':')
conn = http.client.HTTPConnection(host, int(port), timeout=10)
conn.request('GET', '/api/v1/topics/live/tail?partition=0')
resp = conn.getresponse()
p = KafkaProducer(bootstrap_servers=sys.argv[1], acks=1, linger_ms=0)
while not resp.fp.readline().startswith(b'event: hello'):
    pass
samples = []
for i in range(20):
    t0 = time.monotonic()
    p.send('live', value=b'lat-%d' % i, partition=0).get(timeout=10)
    want = b'"value":"lat-%d"' % i
    while want not in resp.fp.readline():
        pass
    samples.append((time.monotonic() - t0) * 1000)
samples.sort()
print('%.1f %.1f' % (samples[10], samples[-1]))
PY
)
echo "# live tail latency, produce call to event received: median/max ${lat/ / / } ms"
[ -n "$lat" ] && [ "${lat%%.*}" -lt 200 ]
check "live tail latency was measured (median under 200 ms)" [ $? = 0 ]

code=$(curl -s -o "$T/body" -w '%{http_code}' "$C/api/v1/topics/nosuch/tail")
check "tailing an unknown topic: 404" [ "$code" = 404 ]
code=$(curl -s -o "$T/body" -w '%{http_code}' "$C/api/v1/topics/live/tail?partition=5")
check "tailing a partition that does not exist: 400" [ "$code" = 400 ]

# a viewer that never reads: the broker stops feeding it instead of buffering
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d '{"name":"big","partitions":1}' "$C/api/v1/topics"
unsent() {
    curl -s "$C/metrics" | awk '$1 == "brook_console_live_tail_unsent_bytes" { print $2 }'
}
exec 4<>/dev/tcp/127.0.0.1/"$CPORT"
printf 'GET /api/v1/topics/big/tail HTTP/1.1\r\nHost: test\r\n\r\n' >&4
$PY -c 'import sys
v = "x" * 20000
for i in range(2000): print("%d %s" % (i, v))' | $KC "$BROKER" -P -t big -p 0
queued=$(unsent)
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$C/healthz")
check "the broker answers while a viewer does not read 40 MB of tail" [ "$code" = 200 ]
check "and queues at most 8 MiB for that viewer ($((queued >> 10)) KiB)" \
    [ "${queued:-99999999}" -le $((8 << 20)) ]
exec 4<&-
wait_until 5 [ "$(tails_open)" = 1 ]
check "the stalled viewer's tail is freed when it disconnects" [ $? -eq 0 ]

# the topic goes away under a tail
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d '{"name":"doomed","partitions":1}' "$C/api/v1/topics"
curl -sN "$C/api/v1/topics/doomed/tail" >"$T/doomed" &
doomed=$!
wait_until 10 grep -qs '^event: hello' "$T/doomed"
curl -s -o /dev/null -X DELETE "$C/api/v1/topics/doomed"
echo x | $KC "$BROKER" -P -t live -p 0 # any append wakes the tails
wait_until 5 grep -q 'topic deleted' "$T/doomed"
check "deleting the topic ends its tails with a reason" [ $? -eq 0 ]
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_until 5 gone "$doomed"
check "and the stream is closed" [ $? -eq 0 ]

brookd_stop
check "brookd stops cleanly with a tail open" [ $? -eq 0 ]
check "the open tail was told the broker is stopping" grep -q 'broker stopping' "$T/all"
wait_until 5 gone "$viewer_all"
check "and its stream was closed" [ $? -eq 0 ]
