#!/usr/bin/env bash
# txn_loop.sh - the crash loop's transactional phase: brookd is killed with SIGKILL
# at random moments while librdkafka transactional producers (tests/crash/txn_crash.c)
# commit and abort transactions; at the end, under read_committed, 0 committed records
# are lost, 0 aborted records are visible, a transaction whose end the producer never
# heard is all there or not at all, and no transaction is left open past its timeout.
#
#   tests/crash/txn_loop.sh                 the short run of `make test` (10 cycles)
#   CYCLES=100 tests/crash/txn_loop.sh      the long run (`make crash` runs it too)
#
# Knobs: CYCLES, CRASH_SEED (replays the same kill moments), TXN_PRODUCERS.
# Kill moments are 0.2-3 s apart, drawn from the printed seed: the delay between kills
# is the point of the test, not a synchronisation. brookd comes back on the same port,
# so the producers keep their librdkafka instances and reconnect by themselves; one
# that hits a fatal error (fenced by the coordinator's recovery) starts over with the
# same transactional.id, as an application would.
. "$(dirname "$0")/../lib.sh"
TXN=$ROOT/$BUILD/tests/crash/txn_crash
CYCLES=${CYCLES:-10}
SEED=${CRASH_SEED:-$(($(date +%s%N) % 2147483648))}
PRODUCERS=${TXN_PRODUCERS:-2}
TOPIC=crash-txn
LOGS=$T/logs
mkdir -p "$LOGS"
ARGS=(-o log.segment.bytes=1048576 -o log.flush.offset.checkpoint.interval.ms=1000)
PROD=

stop_child() { # SIGTERM the program a timeout wrapper runs
    local kid
    kid=$(pgrep -P "$1")
    kill -TERM "${kid:-$1}" 2>/dev/null
}

echo "# seed $SEED (CRASH_SEED=$SEED replays these kill moments), $CYCLES cycles," \
    "$PRODUCERS transactional producers"
RANDOM=$SEED
brookd_start "${ARGS[@]}" || { fail "txn crash loop: brookd starts"; exit 1; }
timeout -k 10 "$((CYCLES * 4 + 300))" "$TXN" produce "$BROKER" "$TOPIC" "$LOGS" -n "$PRODUCERS" \
    >"$T/produce.out" 2>"$T/produce.err" &
PROD=$!
cycles=0
for ((c = 1; c <= CYCLES; c++)); do
    ms=$((200 + (RANDOM * 32768 + RANDOM) % 2801))
    sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
    kill -0 "$PROD" 2>/dev/null || break
    brookd_kill
    if ! brookd_start -l "$BROKER" "${ARGS[@]}"; then
        fail "txn crash loop: brookd comes back after kill -9 number $c"
        tail -n 20 "$BROOKD_LOG" | sed 's/^/# /'
        exit 1
    fi
    cycles=$c
done
check "txn crash loop: the producers ran through all $CYCLES kills ($cycles)" [ "$cycles" = "$CYCLES" ]
stop_child "$PROD"
wait "$PROD"
rc=$?
PROD=
cat "$T/produce.out"
check "txn crash loop: the transactional producers stop and report" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -n 20 "$T/produce.err" | sed 's/^/# /'

# once more after the last outcome: kill -9, restart, check
brookd_kill
brookd_start -l "$BROKER" "${ARGS[@]}" || { fail "txn crash loop: brookd comes back"; exit 1; }
tool "txn crash loop check" timeout -k 10 300 "$TXN" check "$BROKER" "$TOPIC" "$LOGS"
brookd_stop
check "txn crash loop: SIGTERM then stops brookd cleanly" [ $? -eq 0 ]
cat "$T"/brookd.*.log | grep -E '\] (WARN|ERROR) ' | sort | uniq -c | sort -rn | head -n 10 \
    >"$T/warnings"
check "txn crash loop: brookd logged no warning or error over $BROOKD_STARTS starts" \
    [ ! -s "$T/warnings" ]
sed 's/^/# /' "$T/warnings"
