#!/usr/bin/env bash
# bench/threads.sh - brookd with 1 and with 2 network threads (num.network.threads),
# in one run on one machine: throughput with 1, 8 and 64 producers, one consumer's
# rate, and brookd's CPU time per MB moved (utime + stime from /proc/PID/stat, so a
# second thread that only adds overhead shows up even where it cannot add speed).
#
# Design
# - Each thread count gets a fresh brookd (lazy flush, so the disk is not the
#   limit), pinned to BROOKD_CPUS; the load generators (bench/kafka_bench, one
#   librdkafka client and connection per producer) are pinned to LOAD_CPUS. By
#   default brookd gets the upper half of the CPUs and the load the lower half, as
#   in bench/run; on a 2-CPU machine that is one CPU each, where a second network
#   thread can only cost - BROOKD_CPUS=0-1 LOAD_CPUS=0-1 shares both instead.
# - Every producer count writes N records of 1 KiB (acks=1) to a topic of 8
#   partitions of its own; the consumer then reads the 1-producer topic back.
# - A brookd that does not know num.network.threads says so in its log (an
#   unknown key is ignored: it runs one loop); the run goes on and the report marks
#   those rows "(key unknown: 1 loop)".
# - Every command runs under `timeout`; every wait is bounded.
#
# Environment: BUILD (build), THREADS ("1 2"), PRODUCERS ("1 8 64"), N (200000),
# BROOKD_CPUS, LOAD_CPUS, BENCH_DIR (scratch data; default $BUILD).
# Output: one line per run: threads, clients, msg/s, MB/s, brookd CPU ms per MB.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
BROOKD=$ROOT/$BUILD/brookd
KB=$ROOT/$BUILD/bench/kafka_bench
THREADS=${THREADS:-1 2}
PRODUCERS=${PRODUCERS:-1 8 64}
N=${N:-200000}
SIZE=1024
NCPU=$(nproc)
if ((NCPU >= 2)); then
    BROOKD_CPUS=${BROOKD_CPUS:-$((NCPU / 2))-$((NCPU - 1))}
    LOAD_CPUS=${LOAD_CPUS:-0-$((NCPU / 2 - 1))}
else
    BROOKD_CPUS=${BROOKD_CPUS:-0} LOAD_CPUS=${LOAD_CPUS:-0}
fi
WORK=$(mktemp -d "${BENCH_DIR:-$ROOT/$BUILD}/threads-XXXXXX")
PID=
cleanup() {
    [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

for f in "$BROOKD" "$KB"; do
    [ -x "$f" ] || { echo "threads.sh: $f is missing (make bench-build)" >&2; exit 2; }
done

# brookd's CPU time so far, in milliseconds (utime + stime, fields 14 and 15)
cpu_ms() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / hz }' \
        "/proc/$1/stat"
}

start() { # THREADS
    local log=$WORK/brookd.$1.log i
    taskset -c "$BROOKD_CPUS" "$BROOKD" -d "$WORK/data.$1" -l 127.0.0.1:0 --console off \
        -o log.flush.interval.ms=1000 -o num.network.threads="$1" >"$log" 2>&1 &
    PID=$!
    for ((i = 0; i < 1000; i++)); do
        grep -q 'brookd ready' "$log" 2>/dev/null && break
        kill -0 "$PID" 2>/dev/null || { echo "brookd did not start: $(tail -2 "$log")" >&2; return 1; }
        sleep 0.02
    done
    BROKER=127.0.0.1:$(grep -oE 'kafka on 127\.0\.0\.1:[0-9]+' "$log" | head -1 | cut -d: -f2)
    NOTE=
    grep -q 'unknown configuration keys.*num.network.threads' "$log" && NOTE="(key unknown: 1 loop)"
    return 0
}

stop() {
    kill -TERM "$PID" 2>/dev/null
    timeout 30 tail --pid="$PID" -f /dev/null 2>/dev/null || kill -KILL "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
    PID=
}

# row THREADS WHAT CLIENTS CMD...: run CMD (kafka_bench) and print its rate beside
# brookd's CPU time per MB of payload
row() {
    local threads=$1 what=$2 clients=$3 out before after
    shift 3
    before=$(cpu_ms "$PID")
    out=$(timeout 600 taskset -c "$LOAD_CPUS" "$@") || { printf '%-8s %-8s %8s  failed\n' "$threads" "$what" "$clients"; return 1; }
    after=$(cpu_ms "$PID")
    awk -v t="$threads" -v w="$what" -v c="$clients" -v b="$before" -v a="$after" \
        -v mb="$(awk -v n="$N" -v s="$SIZE" 'BEGIN { print n * s / 1e6 }')" -v note="$NOTE" '
        $1 == "msgs_per_s" { m = $2 } $1 == "mb_per_s" { r = $2 }
        END { printf "%-8s %-8s %8s %12.0f %9.1f %14.2f  %s\n", t, w, c, m, r, (a - b) / mb, note }' <<<"$out"
}

echo "# brookd on CPUs $BROOKD_CPUS, load on CPUs $LOAD_CPUS ($NCPU CPUs); $N records of $SIZE bytes per run, acks=1, lazy flush"
printf '%-8s %-8s %8s %12s %9s %14s\n' threads run clients msg/s MB/s cpu_ms_per_MB
for t in $THREADS; do
    start "$t" || continue
    for p in $PRODUCERS; do
        "$KB" create -b "$BROKER" -t "p$p" -p 8 >/dev/null || continue
        row "$t" produce "$p" "$KB" produce -b "$BROKER" -t "p$p" -s "$SIZE" -n "$N" -a 1 -P "$p" -p 8
    done
    row "$t" consume 1 "$KB" consume -b "$BROKER" -t "p1" -n "$N" -p 8 -P 1
    stop
done
