#!/usr/bin/env bash
# restart.sh - the view across daemon lifetimes and log maintenance: after kill -9
# a restart cleans the stale mount and every line whose close() returned is there;
# byte positions are the same after a clean restart; after retention deletes old
# segments the files keep their size and positions, and readers continue at the
# first live byte without repeats or gaps.
. "$(dirname "$0")/lib.bash"
fuse_setup "$@"

D=$T/data M=$T/mnt
mkdir -p "$M"
if ! daemon_start "$D" "$M" -o num.partitions=2; then
    not_ok "fuse restart: daemon starts"
    exit 1
fi
t touch "$M/acked"

# a writer appends k-1, k-2, ... and notes each line whose close() returned
(
    for i in $(seq 100000); do
        timeout 10 sh -c "echo k-$i >> '$M/acked'" 2>/dev/null || exit 0
        echo "$i" >>"$T/acked.list"
    done
) &
writer=$!
wait_for 30 sh -c "[ \$(cat '$T/acked.list' 2>/dev/null | wc -l) -ge 300 ]"
daemon_kill9
wait "$writer"
check "after kill -9 the mount is stale (ENOTCONN)" \
    t sh -c "stat '$M' 2>&1 | grep -q 'not connected'"
if ! daemon_start "$D" "$M" -o num.partitions=2; then
    not_ok "a restart cleans the stale mount and mounts again"
    exit 1
fi
ok "a restart cleans the stale mount and mounts again"
n=$(wc -l <"$T/acked.list")
check "all $n lines whose close() returned before kill -9 are there" \
    t bash -c "[ -z \"\$(sed 's/^k-//' '$M/acked' | sort | comm -13 - <(sort '$T/acked.list'))\" ]"
check "nothing but whole lines k-N" t sh -c "! grep -vxE 'k-[0-9]+' '$M/acked'"

t cat "$M/acked" >"$T/before"
size=$(t stat -c %s "$M/acked")
check "SIGTERM unmounts cleanly" daemon_stop
daemon_start "$D" "$M" -o num.partitions=2
check "after a clean restart the topic file is byte-identical" t cmp "$T/before" "$M/acked"
check "...and as large" [ "$(t stat -c %s "$M/acked")" = "$size" ]
check "...and reads at any offset give the same bytes" \
    t sh -c "for off in 1 7 100 1000 \$(($size - 3)); do
                 [ \"\$(tail -c +\$off '$M/acked' | md5sum)\" = \"\$(tail -c +\$off '$T/before' | md5sum)\" ] || exit 1
             done"
check "...and so is each partition's data file" \
    t bash -c "cat '$M/acked-0/data' '$M/acked-1/data' | sort | cmp -s - <(sort '$T/before')"
daemon_stop

# retention: 1 KiB segments, at most 4 KiB per partition, checked every 100 ms
all_lines() {
    seq -f 'early-%g' 1 20
    awk 'BEGIN { for (i = 0; i < 3000; i++) { s = ""; for (k = 0; k < i % 50; k++) s = s "x"
                                             print "w0-" i "-" s } }'
}
# retention is done when the oldest closed segment may no longer go
retention_done() {
    local sizes total first
    [ ! -e "$D/ret-0/00000000000000000000.log" ] || return 1
    sizes=$(ls "$D/ret-0/"*.log 2>/dev/null | sort | xargs stat -c %s 2>/dev/null)
    total=$(echo "$sizes" | awk '{ s += $1 } END { print s }')
    first=$(echo "$sizes" | head -n 1)
    [ "$(echo "$sizes" | wc -l)" -eq 1 ] || [ $((total - first)) -lt 4096 ]
}
daemon_start "$D" "$M" -o num.partitions=1 -o log.internal.segment.bytes=1024 -o log.retention.bytes=4096 \
    -o log.retention.check.interval.ms=100
t touch "$M/ret"
for i in $(seq 20); do t sh -c "echo early-$i >> '$M/ret'"; done
# a reader positioned in data that retention will delete: it reads 30 bytes, 3000
# more batches (one per line: enough for the journal to drop old entries too) are
# appended, retention runs, then it reads on (all in one bash, under timeout)
t bash -c "$(declare -f wait_for retention_done); D='$D'
    exec 8<'$M/ret' && head -c 30 <&8 >'$T/ret.head' &&
    $PY tests/fuse/probe.py writers '$M/ret-0/data' 1 3000 >'$T/writers.out' &&
    wait_for 20 retention_done && echo done >'$T/retention.out' && cat <&8 >'$T/ret.rest'"
check "3000 more lines, each its own batch" [ "$(cat "$T/writers.out")" = OK ]
check "retention deleted old segments" [ "$(cat "$T/retention.out")" = done ]
expected=$(all_lines | wc -c)
check "the topic file's size still counts every byte ever appended ($expected)" \
    [ "$(t stat -c %s "$M/ret")" = "$expected" ]
t cat "$M/ret" >"$T/ret.live"
first=$(head -n 1 "$T/ret.live")
check "cat gives the live lines, from a whole line ($first) to the last, none missing" \
    t sh -c "$(declare -f all_lines); all_lines | sed -n '/^$first\$/,\$p' | cmp -s - '$T/ret.live'"
# it stopped inside early-4: it gets the rest of that line, then the first live one
check "a reader positioned in deleted data continues at the first live byte" \
    cmp -s <(cat "$T/ret.head" "$T/ret.rest") <(seq -f 'early-%g' 1 4; cat "$T/ret.live")
check "tail -n 2 still works" \
    [ "$(t tail -n 2 "$M/ret" | tr '\n' ' ')" = "$(all_lines | tail -n 2 | tr '\n' ' ')" ]
check "reading the partition's data file gives the same live lines" t cmp "$M/ret-0/data" "$T/ret.live"
check "a read at an offset inside the live data gives the bytes at that position" \
    [ "$(t tail -c 1000 "$M/ret" | md5sum)" = "$(all_lines | tail -c 1000 | md5sum)" ]
check "records starts at the log start" \
    t sh -c "[ \"\$(head -n 1 '$M/ret-0/records' | jq -r .value)\" = '$first' ]"
check "SIGTERM unmounts cleanly" daemon_stop
