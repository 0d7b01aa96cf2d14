#!/usr/bin/env bash
# Two `brook consume -g G` processes share a 6-partition topic: they split it, the
# group rebalances when one exits in the middle of the stream, and together they
# print every record exactly once (auto-commit off: each commits what it has
# written, before a rebalance takes partitions away and when it leaves).
. "$(dirname "$0")/../lib.sh"
BROOK=$ROOT/$BUILD/brook
BR="timeout -k 10 120 $BROOK"

# SIGTERM the program a `timeout` wrapper ($1) runs, not the wrapper: timeout
# follows the signal with SIGCONT, which can cancel the stop LeakSanitizer's
# exit-time check waits for, leaving an ASan build spinning.
stop_child() {
    local kid
    kid=$(pgrep -P "$1")
    kill -TERM "${kid:-$1}" 2>/dev/null
}

# Poll "$@" until it succeeds, for at most $1 seconds.
wait_until() {
    local end=$((SECONDS + $1))
    shift
    while ((SECONDS < end)); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

# Distinct members holding partitions of g6, and how many partitions they hold.
members() { $BR group describe G 2>/dev/null | awk -F'\t' '$7 != "-" {print $7}' | sort -u | wc -l; }
assigned() { $BR group describe G 2>/dev/null | awk -F'\t' '$7 != "-"' | wc -l; }
two_members() { [ "$(members)" = 2 ] && [ "$(assigned)" = 6 ]; }
one_member() { [ "$(members)" = 1 ] && [ "$(assigned)" = 6 ]; }
lines() { cat "$T/a.out" "$T/b.out" | wc -l; }
all_read() { [ "$(lines)" -ge 6000 ]; }

brookd_start || { fail "group: brookd starts"; exit 1; }
export BROOK_BROKERS=$BROKER
$BR topic create g6 -p 6 >/dev/null

timeout -k 10 120 "$BROOK" consume g6 -g G -c 1500 >"$T/a.out" 2>"$T/a.err" &
A=$!
timeout -k 10 120 "$BROOK" consume g6 -g G >"$T/b.out" 2>"$T/b.err" &
B=$!
wait_until 60 two_members
check "two consumers split the six partitions" [ $? -eq 0 ]

# 60 batches of 100 keyed records; A stops after 1500 records, mid-stream
(for ((i = 0; i < 60; i++)); do
    seq $((i * 100 + 1)) $((i * 100 + 100)) | awk '{print "k" $1 "\t" $1}' |
        $BR produce g6 -K '\t' || exit 1
done) &
P=$!
timeout -k 10 60 tail --pid=$A -f /dev/null
wait $A
check "the first consumer stops after -c 1500 and exits 0" [ $? -eq 0 ]
check "it printed exactly 1500 records" [ "$(wc -l <"$T/a.out")" = 1500 ]
wait $P
check "the producer wrote 6000 records" [ $? -eq 0 ]
wait_until 60 one_member
check "the group rebalances: the other consumer takes all six partitions" [ $? -eq 0 ]
wait_until 60 all_read
check "between them they read 6000 lines" [ "$(lines)" = 6000 ]
stop_child $B
wait $B
check "the second consumer leaves cleanly on SIGTERM" [ $? -eq 0 ]
check "nothing on stderr" [ ! -s "$T/a.err" ] && [ ! -s "$T/b.err" ]
sort -n "$T/a.out" "$T/b.out" >"$T/all.txt"
check "every record was read exactly once" cmp -s "$T/all.txt" <(seq 1 6000)
check "both consumers read some" [ -s "$T/b.out" ] && [ "$(wc -l <"$T/b.out")" = 4500 ]
$BR group describe G >"$T/desc.txt"
check "the committed offsets cover everything: lag 0 on all partitions" \
    [ "$(awk -F'\t' '$6 == 0' "$T/desc.txt" | wc -l)" = 6 ]
check "and sum to 6000" [ "$(awk -F'\t' '{s += $4} END {print s}' "$T/desc.txt")" = 6000 ]
check "the group is empty now" [ "$($BR group list | awk -F'\t' '$1 == "G" {print $2, $3}')" = "Empty 0" ]

# a fresh consumer of the group reads nothing more; a reset makes it read all again
check "a new member finds nothing left" [ -z "$($BR consume g6 -g G -e)" ]
$BR group seek G -o beginning >/dev/null
check "group seek -o beginning" [ $? -eq 0 ]
check "and the group reads all 6000 again" [ "$($BR consume g6 -g G -e | wc -l)" = 6000 ]

# a mixed group: brook and librdkafka (kcat -G) agree on Kafka's consumer protocol
for strategy in range roundrobin; do
    topic=mixed-$strategy group=mix-$strategy
    $BR topic create $topic -p 6 >/dev/null
    timeout -k 10 120 kcat -b "$BROKER" -G $group -X partition.assignment.strategy=$strategy \
        -X auto.offset.reset=earliest -q -f '%s\n' $topic >"$T/k.out" 2>"$T/k.err" &
    K=$!
    timeout -k 10 120 "$BROOK" -X partition.assignment.strategy=$strategy consume $topic -g $group \
        >"$T/b.out" 2>"$T/b.err" &
    B=$!
    mixed() { # kcat's member (client id rdkafka) and brook's each hold three partitions
        [ "$($BR group describe $group 2>/dev/null | cut -f9 | sort | uniq -c | tr -s ' ')" = \
            "$(printf ' 3 brook\n 3 rdkafka')" ]
    }
    wait_until 60 mixed
    check "brook and kcat -G share a group ($strategy)" [ $? -eq 0 ]
    seq 1 600 | awk '{print "k" $1 "\t" $1}' | $BR produce $topic -K '\t'
    read_all() { # all six partitions committed, none lagging
        [ "$($BR group describe $group | awk -F'\t' '$4 != "-" && $6 == 0' | wc -l)" = 6 ]
    }
    wait_until 60 read_all
    stop_child $K
    stop_child $B
    wait $K $B
    check "together they read each record once ($strategy)" \
        cmp -s <(sort -n "$T/k.out" "$T/b.out") <(seq 1 600)
    check "both took part ($strategy)" [ -s "$T/k.out" ] && [ -s "$T/b.out" ]
done

brookd_stop
