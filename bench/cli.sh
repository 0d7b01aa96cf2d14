#!/usr/bin/env bash
# bench/cli.sh [SIZE] - brook produce against kcat -P on the same input, in one run.
#
# Generates SIZE of text lines (default 1 GiB; suffixes K, M, G), starts a brookd
# of its own on a free port with a temporary data directory, and pipes the same
# file into `kcat -P` and `brook produce` (one topic each, one partition, both
# with their default settings: acks=all, their default batching). Each is run
# ROUNDS times (default 3), alternating, and the best time counts. Prints each
# tool's rate in MB/s and records/s and the ratio brook/kcat (goal: >= 1.0),
# after checking that both topics hold every line.
#
# BUILD selects the binaries (default build); use an optimised, unsanitized build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
BROOK=$ROOT/$BUILD/brook
BROOKD=$ROOT/$BUILD/brookd
ROUNDS=${ROUNDS:-3}

size=${1:-1G}
case $size in
*[kK]) bytes=$((${size%?} * 1024)) ;;
*[mM]) bytes=$((${size%?} * 1024 * 1024)) ;;
*[gG]) bytes=$((${size%?} * 1024 * 1024 * 1024)) ;;
*) bytes=$size ;;
esac
for tool in "$BROOK" "$BROOKD"; do
    [ -x "$tool" ] || { echo "bench/cli.sh: $tool not built (make BUILD=$BUILD)" >&2; exit 1; }
done
command -v kcat >/dev/null || { echo "bench/cli.sh: kcat is not installed" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/brook-bench-XXXXXX")
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT

# lines of 20 to 200 bytes, a counter in each so that no two are alike
python3 - "$bytes" >"$T/input" <<'PY'
import random, sys
random.seed(42)
limit = int(sys.argv[1])
alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_"
pool = [bytes(random.choice(alphabet) for _ in range(random.randint(10, 190))) for _ in range(4096)]
out = sys.stdout.buffer
written, i, chunk = 0, 0, []
while written < limit:
    line = b"%d " % i + pool[i & 4095] + b"\n"
    if written + len(line) > limit:
        break
    chunk.append(line)
    written += len(line)
    i += 1
    if len(chunk) == 65536:
        out.write(b"".join(chunk))
        chunk = []
out.write(b"".join(chunk))
PY
lines=$(wc -l <"$T/input")
mb=$(awk -v b="$(stat -c %s "$T/input")" 'BEGIN {printf "%.1f", b / 1e6}')

"$BROOKD" -d "$T/data" -l 127.0.0.1:0 --console off >"$T/brookd.log" 2>&1 &
PID=$!
for ((i = 0; i < 200; i++)); do # poll, at most 10 s
    grep -q 'brookd ready' "$T/brookd.log" && break
    sleep 0.05
done
BROKER=127.0.0.1:$(grep -oE 'kafka on 127\.0\.0\.1:[0-9]+' "$T/brookd.log" | head -1 | cut -d: -f2)

run() { # NAME TOPIC CMD... ; prints seconds
    local start end
    start=$(date +%s.%N)
    "${@:3}" <"$T/input"
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN {printf "%.3f", e - s}'
}

best_kcat=999999 best_brook=999999
for ((r = 1; r <= ROUNDS; r++)); do
    "$BROOK" -b "$BROKER" topic create "kcat-$r" "brook-$r" -p 1 >/dev/null
    t=$(run kcat "kcat-$r" kcat -b "$BROKER" -P -t "kcat-$r")
    best_kcat=$(awk -v a="$t" -v b="$best_kcat" 'BEGIN {print (a < b) ? a : b}')
    t=$(run brook "brook-$r" "$BROOK" -b "$BROKER" produce "brook-$r")
    best_brook=$(awk -v a="$t" -v b="$best_brook" 'BEGIN {print (a < b) ? a : b}')
    for topic in "kcat-$r" "brook-$r"; do
        got=$("$BROOK" -b "$BROKER" topic describe "$topic" | cut -f7)
        [ "$got" = "$lines" ] || { echo "bench/cli.sh: $topic has $got records, not $lines" >&2; exit 1; }
        "$BROOK" -b "$BROKER" topic delete "$topic" >/dev/null # keep the disk use to one round
    done
done

echo "input: $mb MB, $lines lines; $ROUNDS round(s), best time of each"
awk -v t="$best_kcat" -v mb="$mb" -v n="$lines" \
    'BEGIN {printf "kcat -P:        %7.2f s  %8.1f MB/s  %10.0f records/s\n", t, mb / t, n / t}'
awk -v t="$best_brook" -v mb="$mb" -v n="$lines" \
    'BEGIN {printf "brook produce:  %7.2f s  %8.1f MB/s  %10.0f records/s\n", t, mb / t, n / t}'
awk -v k="$best_kcat" -v b="$best_brook" 'BEGIN {printf "ratio brook/kcat: %.2fx\n", k / b}'
