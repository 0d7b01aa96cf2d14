#!/usr/bin/env bash
# basic.sh - the FUSE view's layout and reading: topics appear with touch and go
# with rm, lines appended with echo >> come back in order, sizes and mtimes make
# sense, records is JSON lines, segment files are the real bytes, df works.
. "$(dirname "$0")/lib.bash"
fuse_setup "$@"

D=$T/data M=$T/mnt N=100
mkdir -p "$M"
if ! daemon_start "$D" "$M" -o num.partitions=3; then
    not_ok "fuse basic: daemon starts"
    exit 1
fi

check "touch creates a topic with num.partitions" \
    t sh -c "touch '$M/orders' && [ -f '$M/orders' ] && [ -d '$M/orders-0' ] &&
             [ -d '$M/orders-2' ] && [ ! -e '$M/orders-3' ]"
check "ls shows the topic and its partition directories" \
    t sh -c "[ \"\$(ls '$M' | grep -v '^__' | tr '\n' ' ')\" = 'orders orders-0 orders-1 orders-2 ' ]"
check "a partition directory holds data, follow, records and the segment files" \
    t sh -c "[ \"\$(ls '$M/orders-0' | tr '\n' ' ')\" = '00000000000000000000.index 00000000000000000000.log 00000000000000000000.timeindex data follow records ' ]"

ok_lines=1
for i in $(seq "$N"); do
    t sh -c "echo line-$i >> '$M/orders'" || ok_lines=0
done
check "echo >> of $N lines succeeds" [ "$ok_lines" = 1 ]
check "cat of the topic shows exactly those $N lines in order" \
    cmp -s <(seq -f 'line-%g' 1 "$N") <(t cat "$M/orders")
check "the partitions' data files hold the same lines, each in order" \
    t sh -c "for p in 0 1 2; do cat '$M/orders-'\$p/data | sort -t- -k2 -n -c || exit 1; done &&
             [ \"\$(cat '$M'/orders-*/data | sort | md5sum)\" = \"\$(cat '$M/orders' | sort | md5sum)\" ]"
check "the default partitioner spread the lines over every partition" \
    t sh -c "[ -s '$M/orders-0/data' ] && [ -s '$M/orders-1/data' ] && [ -s '$M/orders-2/data' ]"

size_before=$(t stat -c %s "$M/orders")
t sh -c "echo 12345 >> '$M/orders'"
size_after=$(t stat -c %s "$M/orders")
check "st_size is the live size and grows with each append ($size_before -> $size_after)" \
    [ "$size_after" = $((size_before + 6)) -a "$size_before" = "$(seq -f 'line-%g' 1 "$N" | wc -c)" ]
check "st_size of the topic equals the bytes cat reads" \
    [ "$(t cat "$M/orders" | wc -c)" = "$size_after" ]
mtime=$(t stat -c %Y "$M/orders")
check "the topic's mtime is its last append" [ $(($(date +%s) - mtime)) -le 60 ]
check "ls -l shows the partition data sizes" \
    t sh -c "[ \$(stat -c %s '$M/orders-0/data') = \$(cat '$M/orders-0/data' | wc -c) ]"

t sh -c "printf 'caf\303\251\n' >> '$M/orders-1/data'"
t sh -c "printf '\377\376bin\n' >> '$M/orders-1/data'"
out=$(probe jsonl "$M/orders-1/records")
check "records parses as JSON lines, non-UTF-8 values base64 with a marker ($out)" \
    [ "$out" = "$(($(t cat "$M/orders-1/data" | wc -l))) {\"base64\": \"//5iaW4=\"}" ]
check "records shows UTF-8 values as strings" \
    t sh -c "jq -r 'select(.value | type == \"string\") | .value' '$M/orders-1/records' | grep -qx 'café'"
check "records has offsets 0.. in order" \
    t sh -c "jq -r .offset '$M/orders-2/records' | awk '\$1 != NR - 1 { exit 1 }'"

seg=00000000000000000000
check "the segment .log equals the bytes on disk" \
    t cmp "$M/orders-0/$seg.log" "$D/orders-0/$seg.log"
check "the .index and .timeindex are readable, as large as stat says" \
    t sh -c "[ \$(cat '$M/orders-0/$seg.index' | wc -c) = \$(stat -c %s '$M/orders-0/$seg.index') ] &&
             [ \$(cat '$M/orders-0/$seg.timeindex' | wc -c) = \$(stat -c %s '$M/orders-0/$seg.timeindex') ] &&
             [ \$(stat -c %s '$M/orders-0/$seg.timeindex') -gt 0 ]"
check "df and stat -f report the data directory's file system" \
    t sh -c "df '$M' >/dev/null && [ \"\$(stat -f -c %b '$M')\" = \"\$(stat -f -c %b '$D')\" ]"
check "inode numbers are stable while mounted" \
    t sh -c "a=\$(stat -c %i '$M/orders-1/data'); ls -R '$M' >/dev/null; [ \$(stat -c %i '$M/orders-1/data') = \$a ]"

t touch "$M/second"
# the kernel drops the cached partition directory names when the notifier tells it
check "rm deletes a topic: its file, directories and data go" \
    t sh -c "rm '$M/orders' && [ ! -e '$M/orders' ] && [ ! -e '$D/orders-0' ] &&
             [ \"\$(ls '$M' | grep -v '^__')\" = \"\$(printf 'second\nsecond-0\nsecond-1\nsecond-2')\" ]"
check "the deleted topic's partition directories disappear" \
    wait_for 5 sh -c "[ ! -e '$M/orders-0' ] && [ ! -e '$M/orders-2' ]"
check "a topic created again under the same name starts empty" \
    t sh -c "touch '$M/orders' && [ \$(stat -c %s '$M/orders') = 0 ] && [ -z \"\$(cat '$M/orders-0/data')\" ]"

check "SIGTERM unmounts cleanly and the daemon exits 0" daemon_stop
check "nothing is left mounted" not_mounted "$M"
