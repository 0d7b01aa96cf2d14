#!/usr/bin/env bash
# write.sh - appending through the view: a line split over two write() calls
# stays one record whatever others append meanwhile, a last line without newline
# is stored at close, `cat bigfile >> topic` of 64 MiB comes back byte for byte,
# and concurrent writers on one partition never tear or reorder each other.
. "$(dirname "$0")/lib.bash"
fuse_setup "$@"

D=$T/data M=$T/mnt
mkdir -p "$M"
if ! daemon_start "$D" "$M" -o num.partitions=3; then
    not_ok "fuse write: daemon starts"
    exit 1
fi

t touch "$M/split"
check "a line written in two write() calls, another writer appending between them" \
    [ "$(probe split "$M/split-0/data" "$M/split-0/data")" = OK ]
check "...arrives as one intact record after the other writer's" \
    [ "$(t cat "$M/split-0/data")" = "$(printf 'other\nhalf-1 half-2')" ]
check "...also through the topic file and across partitions" \
    t sh -c "[ \"\$($PY tests/fuse/probe.py split '$M/split' '$M/split-1/data')\" = OK ] &&
             grep -qx 'half-1 half-2' '$M/split-0/data' '$M/split-1/data' '$M/split-2/data'"

t sh -c "printf 'no newline' >> '$M/split-2/data'"
check "a last line without newline is stored when the file is released" \
    wait_for 5 sh -c "[ \"\$(tail -n 1 '$M/split-2/data')\" = 'no newline' ]"
check "an empty write stores nothing" \
    t sh -c "s=\$(stat -c %s '$M/split-2/data'); printf '' >> '$M/split-2/data'; [ \$(stat -c %s '$M/split-2/data') = \$s ]"
check "echo x >> f && cat f: the line is there as soon as close() returns" \
    t sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do echo now-\$i >> '$M/split' && grep -qx now-\$i '$M/split' || exit 1; done"

# 64 MiB of lines: mostly short ones (about a million), some long enough to span
# several of cat's 128 KiB writes
big=$T/big.txt
"$PY" - "$big" <<'EOF'
import random, sys
random.seed(7)
pool = bytes(random.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 ,.") for _ in range(1 << 16))
pool = pool * 8
lens = [0, 5, 20, 40, 60, 80, 120, 300, 1000, 5000, 300000]
weights = [2, 20, 30, 30, 30, 20, 10, 5, 2, 1, 0.01]
out, n = [], 0
with open(sys.argv[1], "wb") as f:
    while n < 64 << 20:
        k = random.choices(lens, weights)[0]
        if k > 100000:
            line = pool[: k % len(pool)] + pool * (k // len(pool))
        else:
            at = random.randrange(len(pool) - k)
            line = pool[at:at + k]
        out.append(line)
        n += len(line) + 1
        if len(out) >= 4096:
            f.write(b"\n".join(out) + b"\n")
            out = []
    if out:
        f.write(b"\n".join(out) + b"\n")
EOF
t touch "$M/big"
t0=$(now)
t sh -c "cat '$big' >> '$M/big'"
t1=$(now)
check "cat of the topic is byte-identical to the 64 MiB file (3 partitions)" t cmp "$big" "$M/big"
t2=$(now)
echo "# 64 MiB: cat >> topic $(elapsed "$t0" "$t1") s, cat topic $(elapsed "$t1" "$t2") s (with cmp)"
check "st_size of the topic is the file's size" [ "$(t stat -c %s "$M/big")" = "$(stat -c %s "$big")" ]
check "its lines were spread over the partitions, one write() call's batch each" \
    t sh -c "[ -s '$M/big-0/data' ] && [ -s '$M/big-1/data' ] && [ -s '$M/big-2/data' ] &&
             [ \$(cat '$M'/big-?/data | wc -c) = \$(stat -c %s '$big') ]"
check "a reader of the partition data files agrees with the records files" \
    t sh -c "[ \"\$(jq -r .value '$M/big-1/records' | md5sum)\" = \"\$(md5sum < '$M/big-1/data')\" ]"
rm -f "$big"

# 4 writers on one partition's data file, each line in two write() calls
t touch "$M/conc"
check "4 concurrent writers of 2000 lines each on conc-0/data" \
    [ "$(probe writers "$M/conc-0/data" 4 2000)" = OK ]
check "every line is whole: no torn or mixed records" \
    t sh -c "[ \$(wc -l < '$M/conc-0/data') = 8000 ] &&
             ! grep -vxE 'w[0-3]-[0-9]+-x*' '$M/conc-0/data'"
check "each writer's lines are all there, in its order" \
    t sh -c "for k in 0 1 2 3; do grep \"^w\$k-\" '$M/conc-0/data' | cut -d- -f2 |
             awk '\$1 != NR - 1 { exit 1 } END { exit NR != 2000 }' || exit 1; done"
check "their padding is intact (line i of a writer has i % 50 x's)" \
    t sh -c "awk -F- '{ if (length(\$3) != \$2 % 50) exit 1 }' '$M/conc-0/data'"
check "the topic file shows the same records (one partition's lines, in order)" \
    t sh -c "cat '$M/conc' | grep '^w' | cmp -s - '$M/conc-0/data'"

check "SIGTERM unmounts cleanly" daemon_stop
