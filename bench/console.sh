#!/usr/bin/env bash
# bench/console.sh - how long the console takes to become usable on a large broker:
# 10 000 topics and one topic of 1 000 000 records.
#
# Starts a brookd of its own (loopback, port 0, a temporary data directory, the
# console on), creates TOPICS topics (default 10 000) with kafka-python's admin
# client in batches of 1 000, fills topic "big" with RECORDS records (default
# 1 000 000, 3 partitions, ~100-byte values) with kcat, and then drives Debian's
# chromium (playwright-core from tests/browser) through bench/console.js:
#   topics_list_ms     page load to the first page of the topic list drawn and
#                      clickable (the API call included)
#   topics_api_ms      GET /api/v1/topics alone
#   messages_first_ms  page load of the big topic to its newest 50 records drawn
#   messages_older_ms  one click on "Older" to the next 50 drawn
#   messages_oldest_ms a search from the oldest record to its 50 drawn
# each the median of ROUNDS (default 5) runs. Goal (issue 19): < 1 000 ms each.
#
# BUILD selects the binaries (default build); use an unsanitized build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
BROOKD=$ROOT/$BUILD/brookd
TOPICS=${TOPICS:-10000}
RECORDS=${RECORDS:-1000000}
PY=/usr/bin/python3
[ -x "$BROOKD" ] || { echo "bench/console.sh: $BROOKD not built (make BUILD=$BUILD)" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "skipped: /usr/bin/chromium is missing"; exit 0; }
if [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
    (cd "$ROOT/tests/browser" && npm install --no-audit --no-fund --silent >/dev/null 2>&1) ||
        { echo "skipped: cannot install playwright-core in tests/browser"; exit 0; }
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/brook-console-bench-XXXXXX")
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null
        timeout 30 tail --pid="$PID" -f /dev/null || kill -9 "$PID" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT

"$BROOKD" -d "$T/data" -l 127.0.0.1:0 --console 127.0.0.1:0 >"$T/brookd.log" 2>&1 &
PID=$!
for _ in $(seq 200); do grep -qs 'brookd ready' "$T/brookd.log" && break; sleep 0.1; done
grep -qs 'brookd ready' "$T/brookd.log" || { echo "brookd did not start" >&2; cat "$T/brookd.log" >&2; exit 1; }
BROKER=127.0.0.1:$(grep -oE 'kafka on 127\.0\.0\.1:[0-9]+' "$T/brookd.log" | head -1 | cut -d: -f2)
CONSOLE=http://127.0.0.1:$(grep -oE 'console on 127\.0\.0\.1:[0-9]+' "$T/brookd.log" | head -1 | cut -d: -f2)

t0=$(date +%s%3N)
timeout 600 $PY - "$BROKER" "$TOPICS" <<'PY'
import sys
from kafka.admin import KafkaAdminClient, NewTopic
a = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=120000)
n = int(sys.argv[2])
for start in range(0, n, 1000):
    a.create_topics([NewTopic('topic-%05d' % i, 1, 1) for i in range(start, min(n, start + 1000))])
a.create_topics([NewTopic('big', 3, 1)])
a.close()
PY
echo "# created $TOPICS topics in $(($(date +%s%3N) - t0)) ms"
t0=$(date +%s%3N)
$PY -c "
import sys
for i in range($RECORDS):
    sys.stdout.write('{\"n\":%d,\"text\":\"a record of about one hundred bytes for the console benchmark, padded\"}\n' % i)
" | timeout 600 kcat -b "$BROKER" -P -t big -X linger.ms=20 -X batch.num.messages=10000
echo "# produced $RECORDS records in $(($(date +%s%3N) - t0)) ms"

CONSOLE_URL=$CONSOLE ROUNDS=${ROUNDS:-5} BROOK_ROOT=$ROOT timeout 600 node "$ROOT/bench/console.js"
