#!/usr/bin/env bash
# kafka_capture.sh - capture real Kafka client traffic for the codec tests.
#
#   tests/tools/kafka_capture.sh [OUTDIR]      (default: a new temp dir, printed)
#
# Builds librdkafka's mock cluster (../shared/tools/mockkafka.c) into a temp dir,
# puts tests/tools/kafka_capture.py in front of it and runs kcat (metadata,
# produce with each codec, consume, group consume, offset query, idempotence,
# SASL) and kafka-python (tests/tools/kafka_python_clients.py) through the proxy.
# Frames land in OUTDIR/{plain,flex,encoded} as <seq>-<api>-v<ver>-req.bin /
# -resp.bin (see the passes below); tests/tools/kafka_select.py picks the ones
# committed under tests/data/kafka/.
# Everything is loopback with port 0, and every step runs under timeout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mock_src=${MOCKKAFKA_SRC:-$here/../../../shared/tools/mockkafka.c}
out=${1:-$(mktemp -d)}
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$out"

# shellcheck disable=SC2046 # pkg-config prints several words
gcc -O2 -o "$work/mockkafka" "$mock_src" $(pkg-config --cflags --libs rdkafka)
"$work/mockkafka" 300 >"$work/mock.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/mock.out" ] && break; sleep 0.1; done
upstream=$(head -1 "$work/mock.out")

# start_proxy DIR [--advertise K:V ...]: a capture proxy in front of the mock; sets $b
start_proxy() {
    local dir=$1
    shift
    : >"$work/proxy.out"
    /usr/bin/python3 "$here/kafka_capture.py" --upstream "$upstream" --out "$dir" \
        --seconds 100 "$@" >"$work/proxy.out" &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$work/proxy.out" ] && break; sleep 0.1; done
    b=127.0.0.1:$(head -1 "$work/proxy.out")
}
k() { timeout "${KT:-20}" kcat -b "$b" -X client.id=capture-kcat "$@" || true; }

# pass 1: plain, both directions answered by the mock (its versions stop short of
# the flexible ones except InitProducerId)
start_proxy "$out/plain"
t=capture-topic
k -L
k -L -J -t "$t"
for codec in none gzip snappy lz4 zstd; do
    printf 'k1:%s one\nk2:%s two\n' "$codec" "$codec" | k -P -t "$t" -p 0 -K: -z "$codec"
done
echo 'with header' | k -P -t "$t" -p 1 -H h1=v1 -H h2=v2
echo 'idempotent' | k -P -t "$t" -p 2 -X enable.idempotence=true
k -C -t "$t" -p 0 -o beginning -e -q
k -C -t "$t" -o -2 -e -q -f '%t %p %o %k %s\n'
k -G capture-group-kcat "$t" -o beginning -e -q
k -Q -t "$t:0:0" -t "$t:1:-1"
timeout 60 /usr/bin/python3 "$here/kafka_python_clients.py" "$b" capture-py capture-group-py || true

# pass 2: the proxy advertises flexible versions of the apis librdkafka 2.0.2 would
# use at a flexible version, so it sends those requests; the mock answers
# InitProducerId v2 and drops the connection on the others
adv=()
for kv in 8:8 9:7 11:6 12:4 13:4 14:4 17:1 22:2 36:2; do adv+=(--advertise "$kv"); done
start_proxy "$out/flex" "${adv[@]}"
KT=8
echo 'idempotent' | k -P -t "$t" -p 0 -X enable.idempotence=true
k -G capture-group-flex "$t" -o beginning -e -q
k -L -X security.protocol=sasl_plaintext -X sasl.mechanisms=PLAIN \
    -X sasl.username=user -X sasl.password=secret

# pass 3: no broker; kafka-python serializes its admin and SASL requests (the mock
# has none of those apis) exactly as it would send them
timeout 60 /usr/bin/python3 "$here/kafka_python_clients.py" --encode "$out/encoded"
echo "$out"
