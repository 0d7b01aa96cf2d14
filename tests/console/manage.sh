#!/usr/bin/env bash
# The console's management API with curl against a live brookd, each effect read
# back with a Kafka client (kcat, kafka-python): a topic's configuration (a bad
# value refused with the message the Kafka API gives), partitions added, records
# deleted below an offset, a group's offsets reset with a preview first (earliest,
# a time, shifted by N, per partition), its offsets of a topic deleted, the group
# deleted - and the refusals: members active (409 NON_EMPTY_GROUP), read-only mode,
# no CSRF token, and a user whose ACLs do not allow the operation (403).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/helpers.bash"
KC="timeout 60 kcat -b"

# kafka-python: run the snippet with the broker as B; prints what it prints
kpy() { timeout 60 $PY -c "import sys
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, ConfigResource, ConfigResourceType
B = sys.argv[1]
$1" "$BROKER"; }
committed() {
    kpy "c = KafkaConsumer(bootstrap_servers=B, group_id='$1', enable_auto_commit=False)
print([c.committed(TopicPartition('$2', p)) for p in range($3)])
c.close()"
}
topic_config() {
    kpy "a = KafkaAdminClient(bootstrap_servers=B)
r = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, '$1')])[0]
print(dict((e[0], e[1]) for e in r.resources[0][4])['$2'])
a.close()"
}

console_start || { fail "console manage: brookd starts with --console"; exit 1; }
req POST /api/v1/topics '{"name":"mt","partitions":2}'
check "a topic to manage is created" [ "$STATUS" = 201 ]
seq 1 10 | $KC "$BROKER" -P -t mt -p 0
seq 1 10 | $KC "$BROKER" -P -t mt -p 1

# ---- a topic's configuration ----
req POST /api/v1/topics/mt/config '{"configs":[{"name":"retention.ms","value":"3600000"},{"name":"max.message.bytes","value":500000}]}'
[ "$STATUS" = 200 ] && [ "$(jget 'd["altered"]')" = 2 ]
check "POST /api/v1/topics/T/config sets two keys" [ $? = 0 ]
check "a Kafka client reads the new retention.ms back (DescribeConfigs)" \
    [ "$(topic_config mt retention.ms)" = 3600000 ]
req POST /api/v1/topics/mt/config '{"configs":[{"name":"retention.ms","value":"soon"}]}'
console_msg=$(jget 'd["error"]')
is_error 400 && [ "$(jget 'd["kafka_error"]')" = INVALID_CONFIG ]
check "an invalid value is a 400 INVALID_CONFIG" [ $? = 0 ]
kafka_msg=$(kpy "from kafka.admin import ConfigResource as R
a = KafkaAdminClient(bootstrap_servers=B)
r = a.alter_configs([R(ConfigResourceType.TOPIC, 'mt', configs={'retention.ms': 'soon'})])
print(r.resources[0][1])
a.close()")
[ -n "$console_msg" ] && [ "$console_msg" = "$kafka_msg" ]
check "... with the message the Kafka API gives ($console_msg)" [ $? = 0 ]
check "... and nothing was applied" [ "$(topic_config mt retention.ms)" = 3600000 ]
req POST /api/v1/topics/mt/config '{"configs":[{"name":"no.such.key","value":"1"}]}'
is_error 400 && [ "$(jget 'd["error"]')" = "unknown config: no.such.key" ]
check "an unknown key is refused, named" [ $? = 0 ]
req POST /api/v1/topics/__consumer_offsets/config '{"configs":[{"name":"cleanup.policy","value":"delete"}]}'
check "__consumer_offsets cannot stop being compacted (400)" is_error 400
req POST /api/v1/topics/mt/config '{"configs":[{"name":"retention.ms","op":"delete"}]}'
[ "$STATUS" = 200 ] && [ "$(topic_config mt retention.ms)" = 604800000 ]
check "op delete puts a key back to its default" [ $? = 0 ]
req POST /api/v1/topics/mt/config '{"configs":[{"name":"retention.ms","op":"sideways"}]}'
check "an unknown op: 400" is_error 400
req POST /api/v1/topics/nosuch/config '{"configs":[{"name":"retention.ms","value":"1"}]}'
check "the config of an unknown topic: 404" is_error 404

# ---- partitions ----
req POST /api/v1/topics/mt/partitions '{"count":4}'
[ "$STATUS" = 200 ] && [ "$(jget 'd["partition_count"]')" = 4 ]
check "POST /api/v1/topics/T/partitions grows the topic" [ $? = 0 ]
n=$($KC "$BROKER" -L -t mt 2>/dev/null | grep -c 'partition [0-9]*, leader')
check "kcat sees 4 partitions" [ "$n" = 4 ]
req POST /api/v1/topics/mt/partitions '{"count":3}'
is_error 400 && [ "$(jget 'd["kafka_error"]')" = INVALID_PARTITIONS ]
check "fewer partitions than now: 400 INVALID_PARTITIONS" [ $? = 0 ]

# ---- deleting records ----
req POST /api/v1/topics/mt/delete-records '{"partitions":[{"partition":0,"offset":4}]}'
[ "$STATUS" = 200 ] && [ "$(jget 'd["partitions"][0]["low_watermark"]')" = 4 ]
check "POST /api/v1/topics/T/delete-records moves the log start" [ $? = 0 ]
first=$($KC "$BROKER" -C -t mt -p 0 -o beginning -c 1 -e -f '%o' 2>/dev/null)
check "kcat's first record of partition 0 is now offset 4" [ "$first" = 4 ]
req POST /api/v1/topics/mt/delete-records '{"partitions":[{"partition":0,"offset":99}]}'
is_error 400 && [ "$(jget 'd["kafka_error"]')" = OFFSET_OUT_OF_RANGE ]
check "an offset past the end: 400 OFFSET_OUT_OF_RANGE" [ $? = 0 ]
req POST /api/v1/topics/mt/delete-records '{"partitions":[{"partition":7,"offset":1}]}'
check "a partition that does not exist: 400" is_error 400

# ---- a group: reset with preview, offsets deleted, group deleted ----
$KC "$BROKER" -C -G g1 -c 16 -q -X auto.offset.reset=earliest mt >/dev/null 2>&1
check "the group has committed the ends" [ "$(committed g1 mt 2)" = "[10, 10]" ]
req POST /api/v1/groups/g1/offsets '{"topic":"mt","to":"earliest","dry_run":true}'
[ "$STATUS" = 200 ] && [ "$(jget '[(o["committed"], o["offset"], o["lag"]) for o in d["offsets"][:2]]')" = "[(10, 4, 6), (10, 0, 10)]" ]
check "a preview shows committed, new offset and the lag after, per partition" [ $? = 0 ]
check "... and commits nothing" [ "$(committed g1 mt 2)" = "[10, 10]" ]
req POST /api/v1/groups/g1/offsets '{"topic":"mt","to":"offset","partitions":[{"partition":0,"offset":6},{"partition":1,"offset":10}]}'
check "offsets given per partition (what the page applies after a preview): a Kafka client reads them" \
    [ "$(committed g1 mt 2)" = "[6, 10]" ]
req POST /api/v1/groups/g1/offsets '{"topic":"mt","to":"earliest","partitions":[{"partition":0,"offset":6}]}'
check "offsets per partition with another target: 400" is_error 400
req POST /api/v1/groups/g1/offsets '{"topic":"mt","partitions":[1],"to":"shift","by":-3}'
[ "$STATUS" = 200 ] && [ "$(committed g1 mt 2)" = "[6, 7]" ]
check "shift by -3 on partition 1: a Kafka client reads 7" [ $? = 0 ]
req POST /api/v1/groups/g1/offsets '{"topic":"mt","partitions":[0,1],"to":"timestamp","time":"@2000-01-01T00:00:00Z","dry_run":true}'
check "a time in brook consume's @ syntax: before every record, the log start" \
    [ "$(jget '[o["offset"] for o in d["offsets"]]')" = "[4, 0]" ]
req POST /api/v1/groups/g1/offsets '{"topic":"mt","partitions":[0],"to":"timestamp","time":"@+1h","dry_run":true}'
check "a time after every record: the end" [ "$(jget '[o["offset"] for o in d["offsets"]]')" = "[10]" ]
req POST /api/v1/groups/g1/offsets '{"topic":"mt","to":"timestamp","time":"@yesterday"}'
check "a time that does not parse: 400" is_error 400
req POST /api/v1/groups/g1/offsets '{"topic":"mt","partitions":[2],"to":"shift","by":1}'
check "shifting a partition without a commit: 400" is_error 400

# a member: every group write is refused while it is there
member_start mt g1
req POST /api/v1/groups/g1/offsets '{"topic":"mt","to":"earliest","dry_run":true}'
is_error 409 && [ "$(jget 'd["kafka_error"]')" = NON_EMPTY_GROUP ]
check "a reset (even its preview) with members active: 409 NON_EMPTY_GROUP" [ $? = 0 ]
req DELETE /api/v1/groups/g1
is_error 409 && [ "$(jget 'd["kafka_error"]')" = NON_EMPTY_GROUP ]
check "deleting a group with members: 409 NON_EMPTY_GROUP" [ $? = 0 ]
req DELETE /api/v1/groups/g1/offsets/mt
is_error 409 && [ "$(jget 'd["kafka_error"]')" = GROUP_SUBSCRIBED_TO_TOPIC ]
check "deleting offsets of a topic its members read: 409 GROUP_SUBSCRIBED_TO_TOPIC" [ $? = 0 ]
member_stop
check "... and the offsets are unchanged" [ "$(committed g1 mt 2)" = "[6, 7]" ]
req DELETE /api/v1/groups/g1/offsets/mt
[ "$STATUS" = 200 ] && [ "$(jget 'd["deleted"]')" = 2 ]
check "DELETE /api/v1/groups/G/offsets/T once the group is empty" [ $? = 0 ]
check "a Kafka client finds no committed offsets" [ "$(committed g1 mt 2)" = "[None, None]" ]
$KC "$BROKER" -C -G g2 -c 6 -q -X auto.offset.reset=earliest mt >/dev/null 2>&1
req DELETE /api/v1/groups/g2
check "DELETE /api/v1/groups/G deletes an empty group" [ "$STATUS" = 200 ]
groups=$(kpy "a = KafkaAdminClient(bootstrap_servers=B)
print(sorted(g[0] for g in a.list_consumer_groups()))
a.close()")
check "a Kafka client no longer lists it (ListGroups: $groups)" [ "${groups/g2/}" = "$groups" ]
req DELETE /api/v1/groups/g2
is_error 404 && [ "$(jget 'd["kafka_error"]')" = GROUP_ID_NOT_FOUND ]
check "deleting it again: 404 GROUP_ID_NOT_FOUND" [ $? = 0 ]
brookd_stop
check "brookd stops cleanly after the management writes" [ $? -eq 0 ]

# ---- read-only ----
console_start -o console.read.only=true || { fail "console manage: brookd restarts read-only"; exit 1; }
bad=
for w in "POST /api/v1/topics/mt/config {\"configs\":[{\"name\":\"retention.ms\",\"value\":\"1\"}]}" \
    'POST /api/v1/topics/mt/partitions {"count":9}' \
    'POST /api/v1/topics/mt/delete-records {"partitions":[{"partition":1,"offset":-1}]}' \
    'POST /api/v1/groups/g1/offsets {"topic":"mt","to":"earliest","dry_run":true}' \
    'DELETE /api/v1/groups/g1 {}' 'DELETE /api/v1/groups/g1/offsets/mt {}'; do
    set -f
    set -- $w
    set +f
    req "$1" "$2" "$3"
    is_error 403 || bad="$bad $1:$2:$STATUS"
done
check "read-only: every management write is a 403${bad:+ ($bad)}" [ -z "$bad" ]
n=$($KC "$BROKER" -L -t mt 2>/dev/null | grep -c 'partition [0-9]*, leader')
first=$($KC "$BROKER" -C -t mt -p 1 -o beginning -c 1 -e -f '%o' 2>/dev/null)
check "... and nothing changed (4 partitions, partition 1 starts at 0)" [ "$n/$first" = 4/0 ]
brookd_stop
check "brookd stops cleanly (read-only)" [ $? -eq 0 ]

# ---- a user without the permissions ----
JAR=$T/jar
areq() {
    local args=(-s -o "$T/body" -w '%{http_code}' --max-time 20 -b "$JAR" -c "$JAR" -X "$1" "$C$2")
    [ $# -ge 3 ] && args+=(-H "Content-Type: application/json" --data-binary "$3")
    [ -n "${4:-}" ] && args+=(-H "X-CSRF-Token: $4")
    STATUS=$(curl "${args[@]}")
}
console_start --add-scram 'SCRAM-SHA-256=[name=bob,password=bob-secret]' \
    -o authorizer.class.name=brook -o 'super.users=User:ANONYMOUS' \
    -o allow.everyone.if.no.acl.found=false ||
    { fail "console manage: brookd restarts with ACLs"; exit 1; }
acl_allow bob READ TOPIC mt DESCRIBE GROUP g1 >/dev/null 2>&1
check "ACLs let bob read mt and describe g1" [ $? = 0 ]
areq POST /api/v1/login '{"user":"bob","password":"bob-secret"}'
CSRF=$(jget 'd["csrf"]')
areq POST /api/v1/topics/mt/partitions '{"count":9}'
check "a management write without the CSRF token: 403" is_error 403
bad=
for w in "POST /api/v1/topics/mt/config {\"configs\":[{\"name\":\"retention.ms\",\"value\":\"1\"}]} AlterConfigs" \
    'POST /api/v1/topics/mt/partitions {"count":9} Alter' \
    'POST /api/v1/topics/mt/delete-records {"partitions":[{"partition":1,"offset":-1}]} Delete' \
    'POST /api/v1/groups/g1/offsets {"topic":"mt","to":"earliest"} Read' \
    'DELETE /api/v1/groups/g1 {} Delete' 'DELETE /api/v1/groups/g1/offsets/mt {} Delete'; do
    set -f
    set -- $w
    set +f
    areq "$1" "$2" "$3" "$CSRF"
    is_error 403 && grep -q "User:bob may not $4" "$T/body" || bad="$bad $1:$2:$STATUS"
done
check "bob, without the ACL each needs, gets 403 for every management write${bad:+ ($bad)}" \
    [ -z "$bad" ]
n=$($KC "$BROKER" -L -t mt 2>/dev/null | grep -c 'partition [0-9]*, leader')
[ "$n" = 4 ] && [ "$(committed g1 mt 2)" = "[None, None]" ]
check "... and nothing changed" [ $? = 0 ]
brookd_stop
check "brookd stops cleanly (ACLs)" [ $? -eq 0 ]
