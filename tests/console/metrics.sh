#!/usr/bin/env bash
# /metrics and /healthz: every scrape parses as Prometheus text (tests/console/
# prom_parse.py, a strict parser of the format), carries the names Kafka dashboards
# query, and its counters move by exactly the number of records produced.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/helpers.bash"
KC="timeout 60 kcat -b"
PARSE="$PY $(dirname "$0")/prom_parse.py"

console_start || { fail "metrics: brookd starts with the console"; exit 1; }

# scrape NAME: fetch /metrics into $T/NAME.prom and parse it into $T/NAME.samples
scrape() {
    SCRAPE_CT=$(curl -s -o "$T/$1.prom" -w '%{content_type}' "$C/metrics")
    $PARSE "$T/$1.prom" >"$T/$1.samples"
}
# value NAME SERIES: the sample's value as an integer (0 when absent)
value() {
    local v
    v=$(SERIES="$2" awk '$1 == ENVIRON["SERIES"] { print $2; exit }' "$T/$1.samples")
    printf '%.0f\n' "${v:-0}"
}
delta() {
    echo $(($(value "$2" "$3") - $(value "$1" "$3")))
}

code=$(curl -s -o /dev/null -w '%{http_code}' "$C/healthz")
check "/healthz answers 200" [ "$code" = 200 ]

scrape s0
check "the first scrape parses as Prometheus text" [ $? -eq 0 ]
check "/metrics is served as text/plain; version=0.0.4" \
    [ "$SCRAPE_CT" = "text/plain; version=0.0.4; charset=utf-8" ]
missing=""
for f in kafka_server_brokertopicmetrics_messagesin_total kafka_server_brokertopicmetrics_bytesin_total \
    kafka_server_brokertopicmetrics_bytesout_total kafka_network_requestmetrics_requests_total \
    kafka_log_log_size kafka_log_log_logendoffset kafka_log_log_logstartoffset \
    kafka_server_replicamanager_partitioncount kafka_controller_kafkacontroller_activecontrollercount \
    process_resident_memory_bytes process_open_fds process_cpu_seconds_total \
    process_start_time_seconds; do
    grep -q "^$f[{ ]" "$T/s0.samples" || missing="$missing $f"
done
check "the Kafka dashboard and process metric names are there${missing:+ (missing:$missing)}" \
    [ -z "$missing" ]

curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d '{"name":"m","partitions":1}' "$C/api/v1/topics"
scrape s1
seq 1 37 | $KC "$BROKER" -P -t m -p 0
scrape s2
check "the scrape after producing parses" [ $? -eq 0 ]
check "messagesin{topic=m} moves by exactly the 37 records produced" \
    [ "$(delta s1 s2 'kafka_server_brokertopicmetrics_messagesin_total{topic="m"}')" = 37 ]
check "the broker-wide messagesin moves by 37 too" \
    [ "$(delta s1 s2 'kafka_server_brokertopicmetrics_messagesin_total{}')" = 37 ]
check "logendoffset{topic=m,partition=0} is 37" \
    [ "$(value s2 'kafka_log_log_logendoffset{partition="0",topic="m"}')" = 37 ]
check "bytesin{topic=m} moves" \
    [ "$(delta s1 s2 'kafka_server_brokertopicmetrics_bytesin_total{topic="m"}')" -gt 0 ]
check "log size{topic=m} grows" [ "$(value s2 'kafka_log_log_size{partition="0",topic="m"}')" -gt 0 ]
check "requests_total{request=Produce} moves" \
    [ "$(delta s1 s2 'kafka_network_requestmetrics_requests_total{request="Produce"}')" -ge 1 ]

curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"value":"one more"}' \
    "$C/api/v1/topics/m/messages"
scrape s3
check "a record produced from the console counts as one message in" \
    [ "$(delta s2 s3 'kafka_server_brokertopicmetrics_messagesin_total{topic="m"}')" = 1 ]

$KC "$BROKER" -C -G mg -c 10 -q -X auto.offset.reset=earliest m >/dev/null 2>&1
committed=$($PY - "$BROKER" <<'PY'
import sys
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers=sys.argv[1], group_id='mg', enable_auto_commit=False)
print(c.committed(TopicPartition('m', 0)))
c.close()
PY
)
scrape s4
check "bytesout{topic=m} moves when a consumer fetches" \
    [ "$(delta s3 s4 'kafka_server_brokertopicmetrics_bytesout_total{topic="m"}')" -gt 0 ]
check "requests_total{request=Fetch} moves" \
    [ "$(delta s3 s4 'kafka_network_requestmetrics_requests_total{request="Fetch"}')" -ge 1 ]
check "kafka_consumergroup_current_offset is what the group committed ($committed)" \
    [ "$(value s4 'kafka_consumergroup_current_offset{consumergroup="mg",partition="0",topic="m"}')" = "$committed" ]
check "kafka_consumergroup_lag is the end offset (38) minus the commit" \
    [ "$(value s4 'kafka_consumergroup_lag{consumergroup="mg",partition="0",topic="m"}')" = $((38 - committed)) ]

# a group id that needs escaping in a label value
$PY - "$BROKER" <<'PY'
import sys
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
c = KafkaConsumer(bootstrap_servers=sys.argv[1], group_id='we"ird\\group', enable_auto_commit=False)
c.commit({TopicPartition('m', 0): OffsetAndMetadata(5, '')})
c.close()
PY
scrape s5
check "label values with quotes and backslashes are escaped (the scrape parses)" [ $? -eq 0 ]
check "the escaped group reads back as its name" \
    [ "$(value s5 'kafka_consumergroup_lag{consumergroup="we\"ird\\group",partition="0",topic="m"}')" = 33 ]

# request latency: one histogram per API that served, cumulative buckets
check "brook_request_duration_seconds has a Produce histogram" \
    [ "$(value s5 'brook_request_duration_seconds_count{api="Produce"}')" -ge 1 ]
check "its +Inf bucket equals its _count" \
    [ "$(value s5 'brook_request_duration_seconds_bucket{api="Produce",le="+Inf"}')" = \
        "$(value s5 'brook_request_duration_seconds_count{api="Produce"}')" ]
$PY - "$T/s5.samples" <<'PY'
import re, sys
buckets = {}
for line in open(sys.argv[1]):
    m = re.match(r'brook_request_duration_seconds_bucket\{api="([^"]+)",le="([^"]+)"\} (\S+)', line)
    if m:
        le = float("inf") if m.group(2) == "+Inf" else float(m.group(2))
        buckets.setdefault(m.group(1), []).append((le, float(m.group(3))))
# the parser's lines are in name order: put each API's buckets in le order
ok = bool(buckets)
for b in buckets.values():
    counts = [v for _, v in sorted(b)]
    ok = ok and len(b) == 20 and sorted(b)[-1][0] == float("inf") and counts == sorted(counts)
sys.exit(0 if ok else 1)
PY
check "every API's buckets rise with le, 20 of them ending at +Inf" [ $? -eq 0 ]
check "brook_consumergroup_lag{mg} is the group's total lag (38 - $committed)" \
    [ "$(value s5 'brook_consumergroup_lag{consumergroup="mg"}')" = $((38 - committed)) ]
check "brook_consumergroup_lag_unknown{mg} is 0: it has committed" \
    [ "$(value s5 'brook_consumergroup_lag_unknown{consumergroup="mg"}')" = 0 ]

# a member that joins and never commits: its lag is unknown, not 0
member_start m nc
scrape s6
check "a group that has committed nothing: brook_consumergroup_lag_unknown is 1" \
    [ "$(value s6 'brook_consumergroup_lag_unknown{consumergroup="nc"}')" = 1 ]
check "... and brook_consumergroup_lag has no sample for it (not 0)" \
    [ -z "$(grep '^brook_consumergroup_lag{consumergroup="nc"}' "$T/s6.samples")" ]
member_stop

now=$(date +%s)
start=$(value s5 'process_start_time_seconds{}')
check "process_start_time_seconds is within the last 10 minutes" \
    [ $((start <= now && start > now - 600)) = 1 ]
check "process_resident_memory_bytes is above 1 MiB" \
    [ "$(value s5 'process_resident_memory_bytes{}')" -gt 1048576 ]
check "process_open_fds counts open descriptors" [ "$(value s5 'process_open_fds{}')" -gt 3 ]

printf 'not a metric line\n' >"$T/bad.prom"
$PARSE "$T/bad.prom" >/dev/null
check "the parser itself rejects malformed text" [ $? -ne 0 ]

brookd_stop
check "brookd stops cleanly" [ $? -eq 0 ]

# Lines appended through the FUSE mount count as messages in, like a producer's:
# brookd mounts inside a private mount namespace and the lines are appended from
# inside it (nsenter).
fuse_counts() {
    local name="lines appended through the mount count in messagesin_total and bytesin_total"
    if fuse_start "$name"; then
        req POST /api/v1/topics '{"name":"fusetopic","partitions":1}'
        scrape f0
        timeout 20 nsenter -t "$FUSE_PID" -m sh -c "printf 'one\ntwo\nthree\n' >> $FUSE_MNT/fusetopic"
        check "three lines append through the mount" [ $? -eq 0 ]
        scrape f1
        check "$name (3 records)" \
            [ "$(delta f0 f1 'kafka_server_brokertopicmetrics_messagesin_total{topic="fusetopic"}')" = 3 ]
        check "bytesin{topic=fusetopic} moves with them" \
            [ "$(delta f0 f1 'kafka_server_brokertopicmetrics_bytesin_total{topic="fusetopic"}')" -gt 0 ]
    fi
    fuse_stop
}
fuse_counts
