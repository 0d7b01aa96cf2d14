#!/usr/bin/env bash
# bench/mount.sh - `brook mount` beside what a user compares it with, in one run:
#
#   cat      `cat` of a topic of 1 KiB records through `brook mount` (the first
#            cat indexes the topic, the second reads with the index on disk)
#            beside `kcat -C -e` of the same topic; goal: mount >= 0.5x kcat
#   echo     an `echo x >> topic` loop through `brook mount` (each close waits
#            for the cluster's acknowledgement) beside the same loop on brookd's
#            own mount (each close waits for the fdatasync)
#
# The cluster is one brookd on loopback (port 0), its own mount beside it. Runs
# inside a private mount namespace when root; every command under timeout.
#
#   BUILD=build  SIZE_MB=1024 (the topic)  LINES=500 (the echo loops)
#   bench/mount.sh   prints "KEY VALUE" lines and a summary
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
SIZE_MB=${SIZE_MB:-1024}
LINES=${LINES:-500}
if [ -z "${BROOK_BENCH_NS:-}" ] && [ "$(id -u)" = 0 ]; then
    exec env BROOK_BENCH_NS=1 unshare -m --propagation private bash "$0" "$@"
fi
W=$(realpath "$(mktemp -d "${BENCH_DIR:-$BUILD}/mount-bench.XXXXXX")")
BPID= MPID=
cleanup() {
    [ -n "$MPID" ] && kill -TERM "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null
    [ -n "$BPID" ] && kill -TERM "$BPID" 2>/dev/null && wait "$BPID" 2>/dev/null
    grep -o " $W/[^ ]*" /proc/self/mountinfo | while read -r m; do umount -l "$m"; done
    rm -rf "$W"
}
trap cleanup EXIT
mounted() { awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }
wait_for() { # SECONDS CMD...
    local i
    for ((i = 0; i < $1 * 20; i++)); do
        "${@:2}" && return 0
        sleep 0.05
    done
    return 1
}
secs() { # CMD...: wall seconds of CMD
    local t0 t1
    t0=$(date +%s.%N)
    "$@" || return 1
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

mkdir -p "$W/data" "$W/own" "$W/remote"
timeout 3600 "$BUILD/brookd" -d "$W/data" -l 127.0.0.1:0 -m "$W/own" --console off \
    2>"$W/brookd.log" &
BPID=$!
wait_for 30 grep -q 'brookd ready' "$W/brookd.log" || { echo "skipped: brookd did not start"; exit 0; }
B=127.0.0.1:$(grep -oE 'kafka on 127\.0\.0\.1:[0-9]+' "$W/brookd.log" | head -1 | cut -d: -f2)
timeout 60 "$BUILD/brook" -b "$B" topic create big -p 1 >/dev/null
# SIZE_MB MiB of 1 KiB records (1023 bytes + the newline the stream adds)
/usr/bin/python3 -c '
import sys
line = b"x" * 1023 + b"\n"  # 8 digits replace the first 8: 1024 bytes
n = int(sys.argv[1]) * 1024
w = sys.stdout.buffer
for i in range(n):
    w.write(b"%08d" % (i % 10**8) + line[8:])
' "$SIZE_MB" | timeout 1800 kcat -P -b "$B" -t big -X linger.ms=20 -X batch.size=1000000 \
    -X queue.buffering.max.kbytes=1048576
bytes=$((SIZE_MB * 1024 * 1024))

kcat_s=$(secs sh -c "timeout 1800 kcat -C -b '$B' -t big -e -q -f '%s\n' >/dev/null")
timeout 3600 "$BUILD/brook" -b "$B" mount "$W/remote" --cache-dir "$W/cache" 2>"$W/mount.log" &
MPID=$!
wait_for 30 mounted "$W/remote" || { echo "skipped: brook mount did not start"; exit 0; }
cold_s=$(secs sh -c "timeout 1800 cat '$W/remote/big' | wc -c >'$W/count'")
[ "$(cat "$W/count")" = "$bytes" ] || echo "# WRONG: cat through the mount gave $(cat "$W/count") bytes"
warm_s=$(secs sh -c "timeout 1800 cat '$W/remote/big' >/dev/null")
echo "topic_bytes $bytes"
echo "kcat_C_s $kcat_s"
echo "mount_cat_first_s $cold_s"
echo "mount_cat_indexed_s $warm_s"

timeout 60 "$BUILD/brook" -b "$B" topic create lines -p 1 >/dev/null
wait_for 10 test -e "$W/own/lines"
own_s=$(secs sh -c "for i in \$(seq $LINES); do echo x >> '$W/own/lines' || exit 1; done")
wait_for 10 test -e "$W/remote/lines"
rem_s=$(secs sh -c "for i in \$(seq $LINES); do echo x >> '$W/remote/lines' || exit 1; done")
echo "echo_own_lines_per_s $(awk -v n="$LINES" -v s="$own_s" 'BEGIN { printf "%.0f", n / s }')"
echo "echo_mount_lines_per_s $(awk -v n="$LINES" -v s="$rem_s" 'BEGIN { printf "%.0f", n / s }')"
awk -v k="$kcat_s" -v c="$cold_s" -v w="$warm_s" -v b="$bytes" 'BEGIN {
    printf "# cat through brook mount: %.0f MB/s first (indexing), %.0f MB/s indexed; kcat -C -e %.0f MB/s\n",
        b / c / 1e6, b / w / 1e6, b / k / 1e6
    printf "# mount / kcat: %.2fx first, %.2fx indexed (goal >= 0.5x)\n", k / c, k / w }'
