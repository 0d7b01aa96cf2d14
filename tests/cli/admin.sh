#!/usr/bin/env bash
# Topic and group administration, metadata, brokers from $BROOK_BROKERS, and the
# bash completion.
. "$(dirname "$0")/../lib.sh"
BROOK=$ROOT/$BUILD/brook
BR="timeout -k 10 60 $BROOK"

# SIGTERM the program a `timeout` wrapper ($1) runs, not the wrapper: timeout
# follows the signal with SIGCONT, which can cancel the stop LeakSanitizer's
# exit-time check waits for, leaving an ASan build spinning.
stop_child() {
    local kid
    kid=$(pgrep -P "$1")
    kill -TERM "${kid:-$1}" 2>/dev/null
}

brookd_start || { fail "admin: brookd starts"; exit 1; }

out=$($BR -b "$BROKER" topic create orders -p 3 -c retention.ms=3600000)
check "topic create" [ "$out" = "Created topic orders." ]
$BR -b "$BROKER" topic create orders -p 3 2>"$T/err"
check "creating it again fails with one line" [ $? -eq 1 ] && [ "$(cat "$T/err")" = "brook: topic 'orders' already exists" ]
export BROOK_BROKERS=$BROKER
check "brokers come from BROOK_BROKERS" [ "$($BR topic list)" = "$(printf 'orders\t3\t1')" ]
for p in 0 1 2; do seq 1 10 | $BR produce orders -p $p; done
check "topic list -a shows internal topics too" \
    [ "$($BR topic list -a | cut -f1 | tr '\n' ,)" = "__consumer_offsets,__transaction_state,orders," ]
check "topic describe: a row per partition with offsets" \
    [ "$($BR topic describe orders | awk -F'\t' '{s += $7} END {print NR, s}')" = "3 30" ]
check "topic describe names leader, replicas and ISR" \
    [ "$($BR topic describe orders | cut -f3-6 | sort -u)" = "$(printf '0\t0\t0\t0')" ]
$BR metadata >"$T/md.txt"
check "metadata names the broker as controller" grep -q "broker 0 at 127.0.0.1:$PORT (controller)" "$T/md.txt"
check "metadata lists the topic's partitions" grep -q 'topic "orders" with 3 partitions' "$T/md.txt"
BROOK_BROKERS=127.0.0.1:1 $BR -b "$BROKER" --timeout 3000 topic list >/dev/null
check "-b wins over BROOK_BROKERS" [ $? -eq 0 ]
BROOK_BROKERS=127.0.0.1:1 $BR topic list -b "$BROKER" >/dev/null
check "-b given after the command works too" [ $? -eq 0 ]

# a group: committed offsets, lag, seek, delete
$BR consume orders -g audit -c 10 >/dev/null
$BR group describe audit >"$T/g.txt"
check "group describe: Kafka's columns, one row per partition" [ "$(wc -l <"$T/g.txt")" = 3 ]
check "committed 10 in all, lag 20" \
    [ "$(awk -F'\t' '{c += $4; l += $6} END {print c, l}' "$T/g.txt")" = "10 20" ]
check "group list" [ "$($BR group list)" = "$(printf 'audit\tEmpty\t0\tclassic')" ]
$BR group seek audit -o end -t orders >/dev/null
check "group seek to the end leaves no lag" \
    [ "$($BR group describe audit | awk -F'\t' '{l += $6} END {print l}')" = 0 ]
$BR group seek audit -o -2 -t orders -p 1 >"$T/seek.txt"
check "group seek one partition to two before its end" \
    [ "$(cut -f3,4 "$T/seek.txt")" = "$(printf '1\t8')" ]
$BR group seek audit -o @-1h >"$T/seek.txt"
check "group seek -o @-1h goes back to the start" [ "$(cut -f4 "$T/seek.txt" | tr '\n' ,)" = "0,0,0," ]
timeout -k 10 60 "$BROOK" consume orders -g audit >/dev/null &
C=$!
for ((i = 0; i < 100; i++)); do # poll, at most 10 s
    [ "$($BR group list | cut -f3)" = 1 ] && break
    sleep 0.1
done
$BR group seek audit -o beginning 2>"$T/err"
check "seeking a group with members is refused" [ $? -eq 1 ] && grep -q "active members" "$T/err"
stop_child $C
wait $C
check "group delete" [ "$($BR group delete audit)" = "Deleted group audit." ]
$BR group describe audit 2>"$T/err"
check "and the group is gone" [ $? -eq 1 ] && grep -q "group 'audit' does not exist" "$T/err"
check "topic delete" [ "$($BR topic delete orders)" = "Deleted topic orders." ]
check "and the topic is gone" [ -z "$($BR topic list)" ]

# completion: commands, options and topic names
. "$ROOT/client/completion.bash"
$BR topic create clicks >/dev/null
complete_words() { # the words typed so far, the last one being completed
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    PATH=$ROOT/$BUILD:$PATH _brook
    echo "${COMPREPLY[*]}"
}
check "completion: commands" [ "$(complete_words brook co)" = consume ]
check "completion: subcommands" [ "$(complete_words brook group s)" = seek ]
check "completion: user subcommands" [ "$(complete_words brook user c)" = create ]
check "completion: --mechanism words" \
    [ "$(complete_words brook user create bob --mechanism SCRAM-SHA-2)" = SCRAM-SHA-256 ]
check "completion: options" [ "$(complete_words brook consume -)" = "-g -p -o -c -e -f -J --isolation -b -X -F --timeout --help --version" ]
check "completion: topic names from the broker" [ "$(complete_words brook consume cl)" = clicks ]
check "completion: codecs" [ "$(complete_words brook produce x -z z)" = zstd ]

brookd_stop
