#!/usr/bin/env bash
# everyday.sh - the mount as a new user meets it:
#   - a second brookd asked to mount over the first one's live mount refuses, and
#     the first one's mount keeps working
#   - cat of an internal topic (__consumer_offsets) shows JSON text, never control
#     bytes, and so do its data and follow files
#   - long topic names: 220, 245 and 249 characters (Kafka's limit) are created,
#     written, read and deleted through the CLI and through the mount
. "$(dirname "$0")/lib.bash"
fuse_setup "$@"

D=$T/data M=$T/mnt
mkdir -p "$M"
BROOK=$BUILD/brook
if ! daemon_start "$D" "$M"; then
    not_ok "fuse everyday: daemon starts"
    exit 1
fi

# ---- a second brookd over a live mount ----
# (without the check it mounts and runs: the timeout ends it with 124)
timeout -k 5 20 "$BUILD/brookd" -d "$T/data2" -m "$M" -l 127.0.0.1:0 --console off \
    >"$T/second.out" 2>&1
rc=$?
check "a second brookd mounting over a live mount exits at once with status 1 ($rc)" [ "$rc" -eq 1 ]
check "... and says a file system is mounted there already" \
    grep -q "cannot mount topics at $M: a file system is mounted there already" "$T/second.out"
t touch "$M/still"
check "the first brookd's mount still works" \
    t sh -c "echo alive >> '$M/still' && [ \"\$(cat '$M/still')\" = alive ]"
check "only one mount is at $M" \
    [ "$(awk -v m="$M" '$5 == m' /proc/self/mountinfo | wc -l)" -eq 1 ]

# ---- internal topics read as text ----
t sh -c "echo 1 >> '$M/still'"
t "$BROOK" -b "$BROKER" consume still -g readers -e >/dev/null 2>&1
for f in __consumer_offsets __consumer_offsets-0/data; do
    t cat "$M/$f" >"$T/internal" 2>&1
    check "cat $f shows no control bytes" \
        [ "$(tr -d '\n\t' <"$T/internal" | LC_ALL=C tr -d '[:print:]' | wc -c)" -eq 0 ]
    check "cat $f is JSON lines, one per commit" \
        t sh -c "jq -e -s 'length >= 1 and all(has(\"offset\") and has(\"key\") and has(\"value\"))' '$T/internal' >/dev/null"
done
timeout 5 cat "$M/__consumer_offsets-0/follow" >"$T/follow"
rc=$?
check "the follow file of an internal topic ends at its end ($rc), as JSON" \
    t sh -c "[ $rc -eq 0 ] && jq -e -s 'length >= 1 and all(has(\"offset\"))' '$T/follow' >/dev/null"

# ---- long names ----
for len in 220 245 249; do
    name=$(printf 'n%.0s' $(seq "$len"))
    check "a $len-character name is created through the CLI" \
        t sh -c "'$BROOK' -b $BROKER topic create $name -p 2 >/dev/null"
    check "... written and read back through the mount" \
        t sh -c "echo x$len >> '$M/$name' && grep -qx x$len '$M/$name' && [ -d '$M/$name-1' ]"
    check "... and deleted through the mount" t rm "$M/$name"
    check "... and is gone" t sh -c "! '$BROOK' -b '$BROKER' topic describe '$name' 2>/dev/null"
    check "a $len-character name is created through the mount" t touch "$M/$name"
    check "... and deleted through the CLI" t sh -c "'$BROOK' -b $BROKER topic delete $name >/dev/null"
done
daemon_stop
check "brookd's mount is gone after it stops" not_mounted "$M"
exit 0
