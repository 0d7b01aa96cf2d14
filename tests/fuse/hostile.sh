#!/usr/bin/env bash
# hostile.sh - a shell user on the mount cannot take brookd's state or memory.
#
# Internal topics: rm, touch and >> on __consumer_offsets (and creating another
# "__" name) fail with EPERM, reading still works, committed offsets survive and
# OffsetCommit keeps working, and a restart keeps a compacted offsets topic; a
# brookd finding a __consumer_offsets that is not compacted refuses to start.
#
# Partial lines: with fuse.partial.max.bytes=16 MiB, a 200 MiB line without a
# newline, on a topic whose max.message.bytes is 2 GiB, fails with EFBIG and
# brookd's RSS stays bounded; two handles together past the budget get ENOBUFS,
# and the refused one stores nothing; a line past the largest batch the store can
# read back fails with EFBIG even under a larger budget. After each, `records`
# and the console still read the topic.
. "$(dirname "$0")/lib.bash"
fuse_setup "$@"

D=$T/data M=$T/mnt
mkdir -p "$M"
BROOK=$BUILD/brook
OFFSETS=__consumer_offsets

hostile() {
    timeout -k 5 "${CMD_TIMEOUT:-120}" "$PY" tests/fuse/hostile.py "$@"
}

expect() { # expect ERRNO NAME probe-args...
    local want=$1 name=$2 got
    shift 2
    got=$(probe "$@")
    if [ "$got" = "$want" ]; then ok "$name: $want"; else not_ok "$name: want $want, got $got"; fi
}

same() { # same NAME WANT GOT
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: want '$2', got '$3'"; fi
}

# start [ARGS]: brookd with the console on a free port; sets PID and CONSOLE
start() {
    daemon_start "$D" "$M" --console 127.0.0.1:0 "$@" || return 1
    PID=$(pgrep -P "$HPID")
    CONSOLE=$(grep -oE 'console on http://127\.0\.0\.1:[0-9]+' "$T/harness.log" | tail -1 |
        cut -d' ' -f3)
}

http_status() {
    t curl -s -o /dev/null -w '%{http_code}' "$CONSOLE$1"
}

# the properties file of the offsets topic (its metadata in the data directory)
offsets_props() {
    grep -l "^brook.name=$OFFSETS\$" "$D"/.topics/*.properties
}

if ! start -o fuse.partial.max.bytes=16777216; then
    not_ok "fuse hostile: daemon starts"
    exit 1
fi

# ---- internal topics ----

t touch "$M/t"
t sh -c "echo one >> '$M/t'"
same "OffsetCommit before any attack" 0 "$(hostile commit "$BROKER" g t 42)"
expect EPERM "rm $OFFSETS" errno unlink "$M/$OFFSETS"
expect EPERM "open $OFFSETS for appending" errno open "$M/$OFFSETS" wronly,append
expect EPERM "open $OFFSETS-0/data for appending" errno open "$M/$OFFSETS-0/data" wronly,append
expect EPERM "touch-style open of $OFFSETS" errno open "$M/$OFFSETS" wronly,creat,nonblock
expect EPERM "create another internal topic" errno open "$M/__mine" wronly,creat,append
expect EPERM "mknod another internal topic" errno mknod "$M/__mine"
check "the shell's rm says Operation not permitted" \
    t sh -c "rm -f '$M/$OFFSETS' 2>&1 | grep -q 'Operation not permitted'"
check "touch (times only) is refused too" \
    t sh -c "touch '$M/$OFFSETS' 2>&1 | grep -q 'Operation not permitted'"
check "the shell's >> says Operation not permitted" \
    t sh -c "(echo x >> '$M/$OFFSETS') 2>&1 | grep -q 'Operation not permitted'"
check "no __mine was created" t sh -c "[ ! -e '$M/__mine' ] && ! ls '$D' | grep -q __mine"
same "$OFFSETS shows read-only" 444 "$(t stat -c %a "$M/$OFFSETS")"
check "$OFFSETS can still be read (one commit record)" \
    t sh -c "[ \$(wc -l < '$M/$OFFSETS-0/records') -ge 1 ]"
same "the committed offset survived" "42 0" "$(hostile fetch "$BROKER" g t)"
same "OffsetCommit still works" 0 "$(hostile commit "$BROKER" g t 43)"
same "OffsetFetch sees it" "43 0" "$(hostile fetch "$BROKER" g t)"

# ---- partial lines ----

t "$BROOK" -b "$BROKER" topic create big -p 4 -c max.message.bytes=2147483647 >/dev/null
wait_for 10 test -e "$M/big"
out=$(hostile guarded "$BROKER" "$PID" "$T/harness.log" "$M/big-0/data" 200)
grep -E '^(ok|not ok) - ' <<<"$out"
grep -q '^not ok - ' <<<"$out" && FAILED=$((FAILED + 1))
read -r _ res mib growth <<<"$(grep '^RESULT ' <<<"$out")"
same "a 200 MiB line without newline over a 16 MiB budget fails" EFBIG "$res"
check "it failed by the budget (after $mib MiB)" [ "${mib:-99}" -le 16 ]
check "brookd's RSS grew by $growth MiB <= 64 MiB" [ "${growth:-999}" -le 64 ]
t sh -c "echo after >> '$M/big-0/data'"
check "the topic takes lines afterwards" t sh -c "t=\$(tail -n 1 '$M/big-0/data'); [ \"\$t\" = after ]"

read -r res_a res_b mib_b <<<"$(hostile two "$M/big-1/data" "$M/big-2/data" 10)"
same "handle A holds 10 MiB without newline" OK "$res_a"
same "handle B passing the shared budget gets" ENOBUFS "$res_b"
check "B was refused before its 10 MiB (after $mib_b)" [ "${mib_b:-99}" -lt 10 ]
wait_for 10 sh -c "[ \$(stat -c %s '$M/big-1/data') -gt 0 ]"
same "A's line was stored whole when its newline came" $((10 * 1048576 + 1)) \
    "$(t stat -c %s "$M/big-1/data")"
same "B, closed after the refusal, stored nothing cut short" 0 "$(t stat -c %s "$M/big-2/data")"
read -r res mib growth <<<"$(hostile two "$M/big-3/data" "$M/big-3/data" 4)"
same "the budget came back after both closed" "OK OK" "$res $mib"

check "records reads the topic" t sh -c "cat '$M'/big-*/records | grep -q '\"value\":\"after\"'"
same "the console lists topics" 200 "$(http_status /api/v1/topics)"
same "the console reads big's messages" 200 "$(http_status /api/v1/topics/big/messages)"

# ---- restart: the offsets topic stays compacted ----

daemon_stop
check "the offsets topic is still compacted on disk" \
    grep -qx 'cleanup.policy=compact' "$(offsets_props)"
if ! start -o fuse.partial.max.bytes=268435456; then
    not_ok "fuse hostile: daemon restarts"
    exit 1
fi
same "the committed offset survived a restart" "43 0" "$(hostile fetch "$BROKER" g t)"
# every handle was released before the stop: had the refused lines been kept,
# they would be records now
same "nothing of the refused 200 MiB line was ever stored" 6 "$(t stat -c %s "$M/big-0/data")"
same "nor of B's refused line" 0 "$(t stat -c %s "$M/big-2/data")"

# a line longer than the largest batch the store reads back (64 MiB), with a
# budget that would hold it: refused, so records and the console keep working
read -r res mib growth <<<"$(hostile partial "$PID" "$M/big-0/data" 80)"
same "an 80 MiB line fails under a 256 MiB budget" EFBIG "$res"
check "it failed at the batch limit (after $mib MiB)" [ "${mib:-99}" -le 64 ]
same "a producer's 70 MiB batch gets MESSAGE_TOO_LARGE" 10 "$(hostile produce "$BROKER" big 70)"
t sh -c "echo end >> '$M/big-0/data'"
same "records reads the partition after it, line for line" "$(t wc -l <"$M/big-0/data")" \
    "$(t cat "$M/big-0/records" | wc -l)"
check "and the last record is the line after it" \
    t sh -c "tail -n 1 '$M/big-0/records' | grep -q '\"value\":\"end\"'"
same "the console reads big's messages after it" 200 "$(http_status /api/v1/topics/big/messages)"
daemon_stop

# ---- a __consumer_offsets that is not compacted is never adopted ----

# as the old mount's `rm` and `>>` left it: made with the defaults (delete)
props=$(offsets_props)
sed -i '/^cleanup.policy=/d' "$props"
if start; then
    not_ok "brookd refuses to start with a $OFFSETS that is not compacted"
else
    check "brookd refuses to start with a $OFFSETS that is not compacted" \
        grep -q "$OFFSETS is not compacted" "$T/harness.log"
fi
HPID=
# the repair docs/operations.md gives
sed -i '/^cleanup.policy=/d' "$props" && echo cleanup.policy=compact >>"$props"
if start; then
    same "after the documented repair it starts with the offsets kept" "43 0" \
        "$(hostile fetch "$BROKER" g t)"
    daemon_stop
else
    not_ok "after the documented repair it starts"
fi
exit $((FAILED > 0))
