#!/usr/bin/env bash
# Everyday use, as a new user meets it: each check is a surprise once found by
# following the README, and says what the user should see instead.
#   - consume -o past the end follows auto.offset.reset (default: the end) and warns
#     with the partition's valid range; none stops with the warning
#   - produce -p N checks the partition first and names the real problem, and does
#     not create a topic it then cannot use
#   - the broker's own reason (error_message) follows the CLI's words; -X names an
#     unknown client setting apart from a bad value
#   - brookd warns about misspelled keys with the key meant, and the console does
#     not list them as set
#   - a second brookd on the same data directory names the first one's pid
#   - brook at the console's port says it answered HTTP, at once
#   - brook metadata names the broker that answered; brookd --bogus is one line
. "$(dirname "$0")/../lib.sh"
BROOK=$ROOT/$BUILD/brook
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

run() { # run CMD...: stdout to $T/out, stderr to $T/err, status in RC
    timeout -k 5 30 "$@" >"$T/out" 2>"$T/err" </dev/null
    RC=$?
}
has() { grep -qF -- "$2" "$1"; }
said() { # said NAME WANT_STATUS TEXT: the last run's status and its stderr
    if [ "$RC" -eq "$2" ] && has "$T/err" "$3"; then
        ok "$1"
    else
        fail "$1" "status $RC, stderr: $(head -c 400 "$T/err")"
    fi
}

brookd_start --console 127.0.0.1:0 -o log.retention.hour=1 -o num.partition=3 ||
    { fail "everyday: brookd starts"; exit 1; }
CONSOLE=$(grep -oE 'console on http://127\.0\.0\.1:[0-9]+' "$BROOKD_LOG" | head -1 | cut -d' ' -f3)
B=(-b "$BROKER")

# ---- consume: an offset past the end ----
run "$BROOK" "${B[@]}" topic create payments -p 3
seq 1 30 | timeout 30 "$BROOK" "${B[@]}" produce payments -p 2 >/dev/null 2>&1
run "$BROOK" "${B[@]}" consume payments -p 2 -o 5000 -e
if [ $RC -eq 0 ] && [ ! -s "$T/out" ] &&
    has "$T/err" "offset 5000 is out of range for 'payments' partition 2 (valid offsets 0..30); reading from the end (auto.offset.reset=latest)"; then
    ok "consume -o past the end starts at the end and warns with the valid range"
else
    fail "consume -o past the end starts at the end and warns with the valid range" \
        "status $RC, $(wc -l <"$T/out") records, stderr: $(head -c 300 "$T/err")"
fi
run "$BROOK" "${B[@]}" -X auto.offset.reset=earliest consume payments -p 2 -o 5000 -e
check "-X auto.offset.reset=earliest replays from the start, with the warning" \
    test $RC -eq 0 -a "$(wc -l <"$T/out")" -eq 30 -a "$(grep -c 'reading from the beginning' "$T/err")" -eq 1
run "$BROOK" "${B[@]}" -X auto.offset.reset=none consume payments -p 2 -o 5000 -e
said "-X auto.offset.reset=none stops with the warning" 1 "(valid offsets 0..30); stopping"
run "$BROOK" "${B[@]}" consume payments -g fresh-group -o 5000 -e
check "in a group too: -o past the end moves to the end, with the warning (status $RC)" \
    test $RC -eq 0 -a ! -s "$T/out" -a "$(grep -c 'out of range for .payments. partition' "$T/err")" -eq 3
run "$BROOK" "${B[@]}" consume payments -p 2 -o 10 -e
check "an offset in range reads from there, without a warning" \
    test $RC -eq 0 -a "$(wc -l <"$T/out")" -eq 20 -a ! -s "$T/err"

# ---- produce -p N ----
run sh -c "echo x | exec '$BROOK' -b '$BROKER' produce payments -p 5"
said "produce -p 5 on a 3-partition topic names the partition" 1 \
    "topic 'payments' has 3 partitions (0 to 2): there is no partition 5"
run sh -c "echo x | exec '$BROOK' -b '$BROKER' produce fresh -p 5"
said "produce -p 5 to a new name says to create it first" 1 \
    "topic 'fresh' does not exist, and a new topic's partitions depend on the broker: create it first (brook topic create fresh -p 6)"
run "$BROOK" "${B[@]}" topic list
check "... and has not created it" test $RC -eq 0 -a "$(grep -c '^fresh' "$T/out")" -eq 0
run sh -c "echo x | exec '$BROOK' -b '$BROKER' produce payments -p 1"
check "produce -p 1 on the same topic works" test $RC -eq 0

# ---- the broker's reasons ----
run "$BROOK" "${B[@]}" topic create t3 -c foo.bar=1
said "an unknown topic config names the key" 1 \
    "cannot create topic 't3': invalid topic configuration (broker: unknown topic config key 'foo.bar')"
run "$BROOK" "${B[@]}" topic create t3 -c retention.ms=1000x
said "a bad topic config value names the value and the key" 1 \
    "(broker: invalid value '1000x' for retention.ms)"
run "$BROOK" "${B[@]}" topic create payments-0
said "a name colliding with a partition directory says so" 1 \
    "(broker: name collides with a partition directory)"
run "$BROOK" "${B[@]}" topic create t4 -r 3
said "-r 3 says why" 1 "(broker: replication factor must be 1 on a single broker)"
run "$BROOK" "${B[@]}" -X foo=bar topic list
said "-X with an unknown setting names it" 2 "-X foo=bar: unknown client setting 'foo'"
run "$BROOK" "${B[@]}" -X acks=7 topic list
said "-X with a bad value names the value" 2 "-X acks=7: '7' is not a valid value for acks"

# ---- misspelled brookd keys ----
check "brookd warns about misspelled keys with the key meant" \
    grep -qF "unknown configuration keys, ignored: log.retention.hour (did you mean log.retention.hours?), num.partition (did you mean num.partitions?)" "$BROOKD_LOG"
run curl -s "$CONSOLE/api/v1/broker"
check "the console does not list them as set" \
    test $RC -eq 0 -a "$(grep -c 'num.partitions' "$T/out")" -ge 1 -a "$(grep -c 'num\.partition"' "$T/out")" -eq 0 -a "$(grep -c 'log\.retention\.hour"' "$T/out")" -eq 0

# ---- a second brookd on the same data directory ----
run "$BROOKD" -d "$DATA" -l 127.0.0.1:0 --console off
said "a second brookd names the first one's pid" 1 "another brookd (pid $BROOKD_PID) is using it"

# ---- small things ----
CPORT=${CONSOLE##*:}
start=$(date +%s%N)
run "$BROOK" -b "127.0.0.1:$CPORT" topic list
took=$((($(date +%s%N) - start) / 1000000))
said "brook at the console's port says it answered HTTP" 1 \
    "cannot reach a broker at 127.0.0.1:$CPORT: that port answered in HTTP, not the Kafka protocol"
check "... within 2 s, not after the 10 s timeout ($took ms)" test "$took" -lt 2000
run curl -s -o /dev/null -w '%{http_code}' "$CONSOLE/api/v1/topics"
check "the console still serves HTTP" test "$(cat "$T/out")" = 200
run "$BROOK" -b "localhost:$PORT" metadata # a bootstrap name the broker does not advertise
check "brook metadata names broker 0 as the one that answered" \
    grep -q "^Metadata from broker 0 (localhost:$PORT)" "$T/out"
run "$BROOKD" --bogus
check "brookd --bogus is one line naming the option" \
    test $RC -ne 0 -a "$(wc -l <"$T/err")" -eq 1 -a "$(grep -c "unknown option '--bogus'" "$T/err")" -eq 1
brookd_stop
