#!/usr/bin/env bash
# The console's JSON API with curl against a live brookd: the page and health,
# topics, messages (offset, timestamp, newest, filter), produce (read back with
# kcat), consumer groups with lag and offset resets, and every error case -
# unknown topic, bad offset, bad JSON, oversize body, wrong method - each answered
# with a 4xx and a JSON error while the broker keeps serving.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/helpers.bash"
KC="timeout 60 kcat -b"

console_start || { fail "console: brookd starts with --console 127.0.0.1:0"; exit 1; }
check "the ready line names the console's real port" [ "${CPORT:-0}" -gt 0 ]

# ---- the page and health ----
req GET /healthz
[ "$STATUS" = 200 ] && grep -qx ok "$T/body"
check "/healthz answers 200 ok" [ $? = 0 ]
req GET /
[ "$STATUS" = 200 ] && grep -q 'data-testid="produce-dialog"' "$T/body"
check "/ serves the page" [ $? = 0 ]
ctype=$(curl -s -o /dev/null -w '%{content_type}' "$C/app.js")
check "app.js is served as JavaScript" [ "$ctype" = "text/javascript; charset=utf-8" ]
etag=$(curl -s -D - -o /dev/null "$C/app.css" | sed -n 's/^ETag: //Ip' | tr -d '\r')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$C/app.css")
[ -n "$etag" ] && [ "$code" = 304 ]
check "assets carry an ETag and answer 304 when it matches" [ $? = 0 ]
req GET /no/such/thing
check "an unknown path is a 404 with a JSON error" is_error 404
req PUT /api/v1/topics '{}'
check "a wrong method is a 405 with a JSON error" is_error 405
code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$C/api/v1/../../etc/passwd")
check "dot segments are refused" [ "${code:0:1}" = 4 ]

# ---- topics ----
req POST /api/v1/topics '{"name":"orders","partitions":3,"config":{"retention.ms":"86400000"}}'
[ "$STATUS" = 201 ] && [ "$(jget 'd["partition_count"]')" = 3 ]
check "POST /api/v1/topics creates a topic (201)" [ $? = 0 ]
req GET /api/v1/topics/orders
check "topic config marks the overridden value" \
    [ "$(jget '[c["overridden"] for c in d["config"] if c["name"] == "retention.ms"][0]')" = True ]
check "topic config marks defaults as not overridden" \
    [ "$(jget '[c["overridden"] for c in d["config"] if c["name"] == "segment.bytes"][0]')" = False ]
req POST /api/v1/topics '{"name":"orders","partitions":1}'
check "creating an existing topic is a 409" is_error 409
req POST /api/v1/topics '{"name":"bad name!","partitions":1}'
check "an invalid topic name is a 400" is_error 400
req POST /api/v1/topics '{"name":"p0","partitions":0}'
check "zero partitions is a 400" is_error 400
req POST /api/v1/topics '{"name":"cfg","config":{"no.such.key":"1"}}'
is_error 400 && grep -q no.such.key "$T/body"
check "an unknown config key is a 400 naming it" [ $? = 0 ]
req POST /api/v1/topics '{"name": "x", '
check "bad JSON is a 400" is_error 400
req POST /api/v1/topics '[1, 2]'
check "a JSON body that is not an object is a 400" is_error 400
req POST /api/v1/topics '{"name":"x"}' text/plain
check "a body that is not application/json is a 415" is_error 415
head -c $((2 << 20)) /dev/zero | tr '\0' 'a' >"$T/big"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$T/big" "$C/api/v1/topics")
check "an oversize body is a 413, refused by its declared length before it is read" [ "$STATUS" = 413 ]
head -c $((9 << 20)) /dev/zero >"$T/huge"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$T/huge" "$C/api/v1/topics")
check "a body past evhttp's own limit is refused (413)" [ "$STATUS" = 413 ]

# ---- messages ----
for p in 0 1 2; do
    for i in $(seq 1 $((p + 4))); do echo "k$p-$i	{\"p\":$p,\"i\":$i}"; done |
        $KC "$BROKER" -P -t orders -p $p -K $'\t' -H src=kcat
done
printf 'needle-key\tplain value\nother\tthe NeEdLe in a haystack\n' |
    $KC "$BROKER" -P -t orders -p 1 -K $'\t'
echo 'hdr-only' | $KC "$BROKER" -P -t orders -p 2 -H "trace=find-ME-here"
req GET /api/v1/topics
check "the topic list counts messages (4 + 7 + 7 = 18)" \
    [ "$(jget '[t["messages"] for t in d["topics"] if t["name"] == "orders"][0]')" = 18 ]
req GET "/api/v1/topics/orders/messages?partition=0&offset=2&limit=2"
check "seek by offset starts at that offset" \
    [ "$(jget '[m["offset"] for m in d["messages"]]')" = "[2, 3]" ]
[ "$(jget 'd["partitions"][0]["next_offset"]')" = 4 ] && [ "$(jget 'd["more"]')" = False ]
check "seek by offset gives the next offset" [ $? = 0 ]
req GET "/api/v1/topics/orders/messages?offsets=0:1,2:5&limit=10"
check "offsets=P:O,... continues per partition" \
    [ "$(jget 'sorted((m["partition"], m["offset"]) for m in d["messages"])')" = "[(0, 1), (0, 2), (0, 3), (2, 5), (2, 6)]" ]
req GET "/api/v1/topics/orders/messages?partition=1&limit=3"
check "newest N gives the last N, newest first" \
    [ "$(jget '[m["offset"] for m in d["messages"]]')" = "[6, 5, 4]" ]
[ "$(jget 'd["partitions"][0]["prev_offset"]')" = 4 ] && [ "$(jget 'd["older"]')" = True ]
check "newest N gives prev_offset, where the next older page ends" [ $? = 0 ]
req GET "/api/v1/topics/orders/messages?before=1:4&limit=3"
[ "$(jget '[m["offset"] for m in d["messages"]]')" = "[3, 2, 1]" ] &&
    [ "$(jget 'd["partitions"][0]["prev_offset"]')" = 1 ] && [ "$(jget 'd["older"]')" = True ]
check "before=P:O gives the newest records below O, newest first" [ $? = 0 ]
req GET "/api/v1/topics/orders/messages?before=1:1&limit=3"
[ "$(jget '[m["offset"] for m in d["messages"]]')" = "[0]" ] && [ "$(jget 'd["older"]')" = False ]
check "before= reaches the log start, and then says there is nothing older" [ $? = 0 ]
req GET "/api/v1/topics/orders/messages?filter=nEeDlE"
check "the filter is case-insensitive over keys and values" \
    [ "$(jget 'sorted(m["offset"] for m in d["messages"])')" = "[5, 6]" ]
req GET "/api/v1/topics/orders/messages?filter=FIND-me"
check "the filter covers header values" \
    [ "$(jget '[(m["partition"], m["value"]) for m in d["messages"]]')" = "[(2, 'hdr-only')]" ]
req GET "/api/v1/topics/orders/messages?partition=0&offset=0&limit=1"
check "records carry key, value and headers as text" \
    [ "$(jget '(d["messages"][0]["key"], d["messages"][0]["headers"][0]["value"])')" = "('k0-1', 'kcat')" ]
seq 1 3 | $KC "$BROKER" -P -t times -p 0
ts=$(date +%s%3N)
while [ "$(date +%s%3N)" -le "$ts" ]; do :; done
ts=$((ts + 1))
seq 4 6 | $KC "$BROKER" -P -t times -p 0
req GET "/api/v1/topics/times/messages?timestamp=$ts"
check "seek by timestamp lands on the first later record" \
    [ "$(jget '[m["value"] for m in d["messages"]]')" = "['4', '5', '6']" ]
printf '\000\001\002\377binary' >"$T/bin"
$KC "$BROKER" -P -t times -p 0 "$T/bin"
req GET "/api/v1/topics/times/messages?partition=0&offset=6"
check "a binary value comes as base64" \
    [ "$(jget '(d["messages"][0]["value_encoding"], d["messages"][0]["value"])')" = "('base64', 'AAEC/2JpbmFyeQ==')" ]

# large records: cut in the answer, and an answer cut at its size continues exactly
$PY -c 'for i in range(60): print("%02d" % i + "v" * 299998)' | $KC "$BROKER" -P -t large -p 0
req GET "/api/v1/topics/large/messages?offset=0&limit=100"
first=$(jget 'len(d["messages"])')
next=$(jget 'd["partitions"][0]["next_offset"]')
[ "$first" -lt 60 ] && [ "$(jget 'd["more"]')" = True ] && [ "$next" = "$first" ]
check "an answer over 16 MiB stops early, and next_offset follows its last record" [ $? = 0 ]
[ "$(jget 'd["messages"][0]["truncated"]')" = True ] &&
    [ "$(jget 'd["messages"][0]["value_size"]')" = 300000 ] &&
    [ "$(jget 'len(d["messages"][0]["value"])')" = 262144 ]
check "values over 256 KiB are cut, with their full size" [ $? = 0 ]
seen=$first
while [ "$(jget 'd["more"]')" = True ]; do
    req GET "/api/v1/topics/large/messages?offsets=0:$next&limit=100"
    [ "$(jget 'd["messages"][0]["offset"]')" = "$next" ] || break
    seen=$((seen + $(jget 'len(d["messages"])')))
    next=$(jget 'd["partitions"][0]["next_offset"]')
done
check "continuing with offsets=0:next_offset returns every record once" [ "$seen/$next" = 60/60 ]

req GET /api/v1/topics/nosuch/messages
check "messages of an unknown topic: 404" is_error 404
req GET "/api/v1/topics/bad%20name/messages"
check "an invalid topic name in the path: 400" is_error 400
req GET "/api/v1/topics/orders/messages?offset=abc"
check "a non-numeric offset: 400" is_error 400
req GET "/api/v1/topics/orders/messages?offset=-1"
check "a negative offset: 400" is_error 400
req GET "/api/v1/topics/orders/messages?partition=0&offset=99"
check "an offset past the end of a partition: 400" is_error 400
req GET "/api/v1/topics/orders/messages?partition=7"
check "an unknown partition: 404" is_error 404
req GET "/api/v1/topics/orders/messages?limit=0"
check "limit 0: 400" is_error 400
req GET "/api/v1/topics/orders/messages?limit=100000"
check "a limit over the maximum: 400" is_error 400
req GET "/api/v1/topics/orders/messages?offset=1&timestamp=1"
check "offset and timestamp together: 400" is_error 400
req GET "/api/v1/topics/orders/messages?offsets=0:x"
check "malformed offsets: 400" is_error 400
req GET "/api/v1/topics/orders/messages?offsets=0:1&before=0:3"
check "offsets and before together: 400" is_error 400
req GET "/api/v1/topics/orders/messages?before=9:1"
check "before names an unknown partition: 400" is_error 400
req GET "/api/v1/topics/orders/messages?filter=$(head -c 400 /dev/zero | tr '\0' x)"
check "an overlong filter: 400" is_error 400

# ---- produce ----
req POST /api/v1/topics/orders/messages \
    '{"partition":1,"key":"api-key","value":{"hello":"world"},"headers":[{"key":"h1","value":"v1"}]}'
part=$(jget 'd["partition"]')
off=$(jget 'd["offset"]')
[ "$STATUS" = 200 ] &&
    [ "$part" = 1 ] && [ "$off" = 7 ]
check "produce answers partition and offset" [ $? = 0 ]
got=$($KC "$BROKER" -C -t orders -p "$part" -o "$off" -c 1 -e -q -f '%k|%s|%h')
check "kcat reads the produced record at that offset" [ "$got" = 'api-key|{"hello":"world"}|h1=v1' ]
req POST /api/v1/topics/orders/messages '{"key":"user-42","value":"x"}'
want=$($PY -c 'from kafka.partitioner.default import murmur2
print((murmur2(b"user-42") & 0x7fffffff) % 3)')
check "partition auto hashes the key with murmur2 as Kafka does" \
    [ "$(jget 'd["partition"]')" = "$want" ]
parts=""
for i in 1 2 3; do
    req POST /api/v1/topics/orders/messages '{"value":"no key"}'
    parts="$parts$(jget 'd["partition"]')"
done
check "records without a key go round-robin" \
    [ "$(echo "$parts" | grep -o . | sort -u | wc -l)" = 3 ]
req POST /api/v1/topics/times/messages '{"partition":0,"value":"AP8A/w==","value_encoding":"base64"}'
off=$(jget 'd["offset"]')
$KC "$BROKER" -C -t times -p 0 -o "$off" -c 1 -e -q -f '%s' >"$T/bin.out"
check "a base64 value is stored as its bytes" \
    [ "$(od -An -tx1 "$T/bin.out" | tr -d ' \n')" = 00ff00ff ]
req POST /api/v1/topics/orders/messages '{"value":"x","value_encoding":"base64"}'
check "a value that is not base64: 400" is_error 400
req POST /api/v1/topics/orders/messages '{"partition":3,"value":"x"}'
check "produce to a partition that does not exist: 400" is_error 400
req POST /api/v1/topics/orders/messages '{"value":"x","headers":"nope"}'
check "headers that are not a list: 400" is_error 400
req POST /api/v1/topics/nosuch/messages '{"value":"x"}'
check "produce to an unknown topic: 404" is_error 404
req POST /api/v1/topics '{"name":"small","config":{"max.message.bytes":"1000"}}'
req POST /api/v1/topics/small/messages "{\"value\":\"$(head -c 3000 /dev/zero | tr '\0' v)\"}"
check "a record over max.message.bytes: 413" is_error 413
req POST /api/v1/topics '{"name":"compacted","config":{"cleanup.policy":"compact"}}'
req POST /api/v1/topics/compacted/messages '{"value":"no key"}'
check "a record without a key on a compacted topic: 400" is_error 400

# ---- consumer groups ----
$KC "$BROKER" -C -G lagging -c 5 -q -X auto.offset.reset=earliest orders >/dev/null 2>&1
lag=$($PY - "$BROKER" <<'PY'
import sys
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers=sys.argv[1], group_id='lagging', enable_auto_commit=False)
tps = [TopicPartition('orders', p) for p in range(3)]
end = c.end_offsets(tps)
print(sum(end[tp] - c.committed(tp) for tp in tps if c.committed(tp) is not None))
c.close()
PY
)
req GET /api/v1/groups
check "the group list shows the group's lag (end minus committed)" \
    [ "$(jget '[g["lag"] for g in d["groups"] if g["group"] == "lagging"][0]')" = "$lag" ]
req GET /api/v1/groups/lagging
[ "$(jget 'all(o["lag"] == o["end_offset"] - o["committed"] for o in d["offsets"])')" = True ] &&
    [ "$(jget 'd["lag"]')" = "$lag" ] && [ "$(jget 'd["state"]')" = Empty ]
check "the group shows end, committed and lag per partition" [ $? = 0 ]
req GET /api/v1/groups/nosuch
check "an unknown group: 404" is_error 404

# a member in the group: resets are refused until it leaves
member_start orders lagging
req POST /api/v1/groups/lagging/offsets '{"topic":"orders","to":"earliest"}'
check "resetting offsets of a group with members: 409" is_error 409
member_stop
req POST /api/v1/groups/lagging/offsets '{"topic":"orders","to":"earliest"}'
[ "$STATUS" = 200 ] && [ "$(jget '[o["offset"] for o in d["offsets"]]')" = "[0, 0, 0]" ]
check "resetting offsets of an empty group to earliest" [ $? = 0 ]
req POST /api/v1/groups/lagging/offsets '{"topic":"orders","partitions":[1],"to":"offset","offset":2}'
committed=$($PY - "$BROKER" <<'PY'
import sys
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers=sys.argv[1], group_id='lagging', enable_auto_commit=False)
print([c.committed(TopicPartition('orders', p)) for p in range(3)])
c.close()
PY
)
check "a Kafka client sees the reset offsets" [ "$committed" = "[0, 2, 0]" ]
req POST /api/v1/groups/lagging/offsets '{"topic":"orders","to":"sideways"}'
check "an unknown reset strategy: 400" is_error 400
req POST /api/v1/groups/lagging/offsets '{"topic":"nosuch","to":"earliest"}'
check "resetting offsets of an unknown topic: 404" is_error 404
req POST /api/v1/groups/lagging/offsets '{"topic":"orders","partitions":[9],"to":"earliest"}'
check "resetting a partition that does not exist: 400" is_error 400

# ---- broker ----
req GET /api/v1/broker
[ "$(jget 'd["listeners"][0]')" = "$BROKER" ] &&
    [ "$(jget '[c["value"] for c in d["config"] if c["name"] == "log.dirs"][0]')" = "$DATA" ]
check "the broker view shows its config and listeners" [ $? = 0 ]

# ---- hostile input ----
exec 3<>/dev/tcp/127.0.0.1/"$CPORT"
printf 'GARBAGE\r\n\r\n' >&3
timeout 5 cat <&3 >"$T/garbage" 2>/dev/null
exec 3<&-
check "a malformed request line gets a 400" grep -q '^HTTP/1.[01] 400' "$T/garbage"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 100000 /dev/zero | tr '\0' y)" "$C/healthz")
check "oversize headers are refused" [ "${code:0:1}" = 4 ] || [ "$code" = 000 ]
req GET "/api/v1/topics/%00evil/messages"
check "a NUL in the path: 400" is_error 400

# ---- delete ----
req DELETE /api/v1/topics/__consumer_offsets
check "deleting an internal topic: 400" is_error 400
req DELETE /api/v1/topics/nosuch
check "deleting an unknown topic: 404" is_error 404
req DELETE /api/v1/topics/small
check "DELETE removes a topic" [ "$STATUS" = 200 ]
req GET /api/v1/topics/small
check "a deleted topic is gone (404)" is_error 404

req GET /healthz
check "the broker still serves after every bad request" [ "$STATUS" = 200 ]
brookd_stop
check "brookd stops cleanly with the console on" [ $? -eq 0 ]
! grep -qE 'Sanitizer|runtime error' "$BROOKD_LOG"
check "no sanitizer report in the log" [ $? = 0 ]

# ---- read-only ----
console_start -o console.read.only=true || { fail "console: brookd restarts read-only"; exit 1; }
req GET /api/v1/broker
check "read-only is reported by the broker view" [ "$(jget 'd["read_only"]')" = True ]
req POST /api/v1/topics '{"name":"ro","partitions":1}'
check "read-only: creating a topic is a 403" is_error 403
req POST /api/v1/topics/orders/messages '{"value":"x"}'
check "read-only: producing is a 403" is_error 403
req DELETE /api/v1/topics/orders
check "read-only: deleting a topic is a 403" is_error 403
req POST /api/v1/groups/lagging/offsets '{"topic":"orders","to":"earliest"}'
check "read-only: resetting offsets is a 403" is_error 403
req GET "/api/v1/topics/orders/messages?partition=1&offset=7"
[ "$STATUS" = 200 ] && [ "$(jget 'd["messages"][0]["key"]')" = api-key ]
check "read-only: reading still works" [ $? = 0 ]
brookd_stop
check "brookd stops cleanly in read-only mode" [ $? -eq 0 ]
