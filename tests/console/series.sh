#!/usr/bin/env bash
# The series API (/api/v1/series/...): clear errors for bad names and
# parameters, and the budget that bounds its memory - 65 busy topics get series
# for 64, the 65th is told why not, and the memory used stays under the bound
# the index states. About 8 s.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/helpers.bash"

console_start || { fail "series: brookd starts with the console"; exit 1; }

req GET /api/v1/series/topics/nope
check "series of an unknown topic: 404" is_error 404
req GET '/api/v1/series/topics/bad%20name'
check "series of an invalid topic name: 400" is_error 400
req GET /api/v1/series/groups/nobody
check "series of an unknown group: 404" is_error 404
req GET '/api/v1/series/broker?since=yesterday'
check "since that is not a number: 400" is_error 400
req GET '/api/v1/series/broker?last=3601'
check "last beyond the hour kept: 400" is_error 400
req GET /api/v1/series/broker?last=5
check "the broker's series answer with times and values aligned" \
    [ "$STATUS:$(jget 'len(d["t"]) == len(d["series"]["requests"]) <= 5')" = 200:True ]

# 66 topics; one record into each of the first 65
for i in $(seq -w 1 66); do
    req POST /api/v1/topics "{\"name\":\"b$i\",\"partitions\":1}"
done
$PY - "$BROKER" <<'PY' || fail "series: one record into each of 65 topics"
import sys
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1], linger_ms=5)
for f in [p.send("b%02d" % i, b"x", partition=0) for i in range(1, 66)]:
    f.get(timeout=30)
p.close()
PY
tracked() {
    req GET /api/v1/series
    [ "$(jget 'len(d["topics"]["tracked"])')" = 64 ]
}
wait_until 10 tracked
check "65 busy topics: series for 64 of them (the budget)" [ $? -eq 0 ]
check "the memory the series use stays under the bound the index states" \
    [ "$(jget 'd["memory_bytes"] <= d["memory_bound_bytes"] and d["topics"]["budget"] == 64')" = True ]
req GET /api/v1/series/topics/b66
check "a 66th topic asked for while all 64 are busy: tracked false, with the reason" \
    [ "$STATUS:$(jget 'd["tracked"] is False and "64 topics" in d["reason"]')" = 200:True ]

brookd_stop
check "brookd stops cleanly" [ $? -eq 0 ]
