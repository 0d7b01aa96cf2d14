#!/usr/bin/env bash
# The FUSE view and Kafka clients over the same store: lines echoed into a topic
# file come out of kcat in order, records produced with kcat come out of cat,
# `tail -f` and `follow` see records produced over TCP promptly, and FUSE writers
# and Kafka producers on one partition interleave without tearing a record.
. "$(dirname "$0")/lib.bash"
fuse_setup "$@"
D=$T/data
M=$T/mnt
KC="timeout 60 kcat"
if ! daemon_start "$D" "$M" -o num.partitions=1; then
    not_ok "fuse kafka: brookd starts with a mount"
    exit 1
fi

# echo >> a topic file, then kcat reads exactly those lines in order
t touch "$M/echoes"
for i in $(seq 1 300); do echo "line-$i" >>"$M/echoes" || break; done
$KC -b "$BROKER" -C -t echoes -e -q -f '%s\n' >"$T/echoes.out"
seq 1 300 | sed 's/^/line-/' >"$T/echoes.want"
check "300 lines echoed into a topic file come out of kcat -C in order" \
    cmp -s "$T/echoes.want" "$T/echoes.out"

# kcat -P, then cat of the topic file
seq 1 1000 | $KC -b "$BROKER" -P -t fromkafka
t cat "$M/fromkafka" >"$T/fromkafka.out"
check "1000 records produced with kcat -P show in cat of the topic file" \
    cmp -s "$T/fromkafka.out" <(seq 1 1000)

# tail -f -s 0.1 sees a record produced over TCP within 200 ms
t touch "$M/tailed"
read -r p50 p99 mx < <(probe_kafka tail "$BROKER" tailed "$M/tailed" 10)
echo "# tail -f -s 0.1 latency over TCP: p50 ${p50:-?} ms, max ${mx:-?} ms"
check "tail -f -s 0.1 shows a record produced over TCP within 200 ms (p50 ${p50:-?} ms)" \
    awk -v v="${p50:-1e9}" 'BEGIN { exit !(v < 200) }'

# cat follow streams a record produced over TCP within 5 ms
t touch "$M/followed"
read -r p50 p99 mx < <(probe_kafka follow "$BROKER" followed "$M/followed-0/follow" 200)
echo "# follow latency over TCP: p50 ${p50:-?} ms, p99 ${p99:-?} ms, max ${mx:-?} ms"
check "cat follow streams a record produced over TCP within 5 ms (p50 ${p50:-?} ms)" \
    awk -v v="${p50:-1e9}" 'BEGIN { exit !(v < 5) }'
timeout 30 cat "$M/followed-0/follow" >/dev/null &
cpid=$!
wait_for 5 grep -q "followed-0/follow" /proc/$cpid/cmdline
start=$(now)
kill -INT $cpid
wait $cpid
check "SIGINT ends cat follow promptly ($(elapsed "$start" "$(now)") s)" \
    awk -v a="$start" -v b="$(now)" 'BEGIN { exit !(b - a < 2) }'

# 4 FUSE writers and 4 Kafka producers on one partition at once
t touch "$M/mixed"
N=400
pids=()
for w in 1 2 3 4; do
    probe_kafka write "$M/mixed-0/data" "fw$w" $N &
    pids+=($!)
    seq 0 $((N - 1)) | sed "s/^/kp$w-/" | $KC -b "$BROKER" -P -t mixed -p 0 -X linger.ms=1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
t cat "$M/mixed-0/data" >"$T/mixed.fuse"
$KC -b "$BROKER" -C -t mixed -p 0 -e -q -f '%s\n' >"$T/mixed.kafka"
check "8 writers' $((8 * N)) records all arrive" [ "$(wc -l <"$T/mixed.fuse")" = $((8 * N)) ]
check "no torn records" bash -c "! grep -qvE '^(fw|kp)[1-4]-[0-9]+$' '$T/mixed.fuse'"
in_order=yes
for w in fw1 fw2 fw3 fw4 kp1 kp2 kp3 kp4; do
    grep "^$w-" "$T/mixed.fuse" | cut -d- -f2 | cmp -s - <(seq 0 $((N - 1))) || in_order=no
done
check "every writer's sequence is intact and in order" [ "$in_order" = yes ]
check "the partition's data file equals the values of a Kafka fetch" \
    cmp -s "$T/mixed.fuse" "$T/mixed.kafka"

check "brookd stops cleanly and unmounts" daemon_stop
exit 0
