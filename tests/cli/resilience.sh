#!/usr/bin/env bash
# The broker dies (kill -9) in the middle of a large `brook produce` and comes back
# on the same port: the producer reconnects and retries, and with idempotence the
# log holds every line exactly once, in order. A consumer rides out a restart too.
. "$(dirname "$0")/../lib.sh"
BROOK=$ROOT/$BUILD/brook
BR="timeout -k 10 300 $BROOK"

# SIGTERM the program a `timeout` wrapper ($1) runs, not the wrapper: timeout
# follows the signal with SIGCONT, which can cancel the stop LeakSanitizer's
# exit-time check waits for, leaving an ASan build spinning.
stop_child() {
    local kid
    kid=$(pgrep -P "$1")
    kill -TERM "${kid:-$1}" 2>/dev/null
}

brookd_start || { fail "resilience: brookd starts"; exit 1; }
export BROOK_BROKERS=$BROKER
seq 1 ${RS_LINES:-1500000} >"$T/in.txt"
$BR topic create rs -p 1 >/dev/null

$BR produce rs <"$T/in.txt" 2>"$T/prod.err" &
P=$!
written() { [ "$($BR topic describe rs 2>/dev/null | cut -f7)" -gt 0 ] 2>/dev/null; }
for ((i = 0; i < 300; i++)); do # poll until records arrive, at most 30 s
    written && break
    sleep 0.1
done
brookd_kill
brookd_start -l "$BROKER"
check "brookd comes back on the same port" [ $? -eq 0 ]
wait $P
check "brook produce finishes successfully across the crash" [ $? -eq 0 ] && [ ! -s "$T/prod.err" ]
$BR consume rs -e >"$T/out.txt"
check "every line is in the log exactly once, in order" cmp -s "$T/in.txt" "$T/out.txt"

# a consumer keeps going when the broker restarts under it
timeout -k 10 120 "$BROOK" consume rs -o end >"$T/tail.txt" 2>"$T/tail.err" &
C=$!
for ((i = 0; i < 100; i++)); do # until the consumer is reading: it prints a marker
    echo marker | $BR produce rs
    [ -s "$T/tail.txt" ] && break
    sleep 0.2
done
brookd_stop
brookd_start -l "$BROKER"
seq 1 100 | $BR produce rs
got() { [ "$(grep -vc marker "$T/tail.txt")" -ge 100 ]; }
for ((i = 0; i < 300; i++)); do # poll, at most 30 s
    got && break
    sleep 0.1
done
stop_child $C
wait $C
check "a consumer reconnects after a restart and reads what follows" \
    cmp -s <(grep -v marker "$T/tail.txt") <(seq 1 100)
check "and says nothing about it" [ ! -s "$T/tail.err" ]
brookd_stop
