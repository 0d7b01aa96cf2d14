#!/usr/bin/env bash
# The series API (/api/v1/series/...): clear errors for bad names and
# parameters, and the budget that bounds its memory - 65 busy topics get series
# for 64, the 65th is told why not, and the memory used stays under the bound
# the index states; with a login and ACLs, a user sees the series of what it may
# describe only; records in and out counted. About 10 s.
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

# records out: 40 records produced and fetched back show as 40 in and 40 out (the
# per-second rates summed over the samples, each a second apart)
req POST /api/v1/topics '{"name":"rc","partitions":1}'
seq 1 40 | timeout 60 kcat -b "$BROKER" -P -t rc -p 0
timeout 60 kcat -b "$BROKER" -C -t rc -e -q >/dev/null
counted() {
    req GET '/api/v1/series/topics/rc?last=60'
    [ "$(jget 'all(abs(sum(v or 0 for v in d["series"][k]) - 40) <= 4 for k in ("produce_records", "consume_records"))')" = True ]
}
wait_until 15 counted
check "records in and out: 40 produced and 40 fetched read back from the topic's series" [ $? -eq 0 ]

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

# ---- with users and ACLs: bob may read c1 only, alice is a super user ----
JAR=$T/jar
areq() {
    local args=(-s -o "$T/body" -w '%{http_code}' --max-time 20 -b "$JAR" -c "$JAR" "$C$1")
    STATUS=$(curl "${args[@]}")
}
login() {
    rm -f "$JAR"
    STATUS=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 -c "$JAR" -X POST \
        -H 'Content-Type: application/json' -d "{\"user\":\"$1\",\"password\":\"$2\"}" \
        "$C/api/v1/login")
}
console_start_users || { fail "series: brookd restarts with users and ACLs"; exit 1; }
$PY - "$BROKER" <<'PY'
import sys
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
a = KafkaAdminClient(bootstrap_servers=sys.argv[1])
a.create_topics([NewTopic("c1", 1, 1), NewTopic("c2", 1, 1)])
p = KafkaProducer(bootstrap_servers=sys.argv[1])
for t in ("c1", "c2"):
    p.send(t, b"x", partition=0).get(timeout=30)
p.close()
PY
[ $? = 0 ] && acl_allow bob READ TOPIC c1 || fail "series: topics c1 and c2 with a record each, bob may read c1"
rm -f "$JAR"
areq /api/v1/series
check "no series without a login: 401" [ "$STATUS" = 401 ]
login alice alice-secret
both() {
    areq /api/v1/series/topics
    [ "$(jget 'sorted(d["topics"])')" = "['c1', 'c2']" ]
}
wait_until 10 both
check "alice (a super user) sees the series of c1 and c2, both produced to" [ $? -eq 0 ]
areq /api/v1/series/broker
check "alice reads the broker's series" [ "$STATUS" = 200 ]
login bob bob-secret
areq /api/v1/series/topics
check "bob's list of topic series has c1 and not c2" [ "$(jget 'sorted(d["topics"])')" = "['c1']" ]
areq /api/v1/series/topics/c1
check "bob reads the series of c1, which he may describe" [ "$STATUS" = 200 ]
areq /api/v1/series/topics/c2
check "bob is refused the series of c2: 403" [ "$STATUS:$(jget 'd["status"]')" = 403:403 ]
areq /api/v1/series/broker
check "bob is refused the broker's series (Describe on the cluster): 403" [ "$STATUS" = 403 ]
brookd_stop
check "brookd with ACLs stops cleanly" [ $? -eq 0 ]
