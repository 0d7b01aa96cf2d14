#!/usr/bin/env bash
# readme.sh - README.md's "Using it" blocks, run as they are written, in order,
# against a fresh data directory, each command's result checked.
#
# The commands are read from README.md itself (every ```sh block between "## Using
# it" and the next "## " heading); only the addresses differ: `make run` becomes
# the brookd that scripts/run starts (--mount ./mnt, data in ./brook-data) on free
# ports, 127.0.0.1:9092 and :8080 become those ports, and brook finds the broker
# through $BROOK_BROKERS. The commands run in a scratch directory where `build`
# links to this build. Every README command must have a check here, and every
# check a README command: a change to either side that the other does not follow
# fails the test.
. "$(dirname "$0")/lib.bash"
fuse_setup "$@"

W=$T/w
mkdir -p "$W"
ln -s "$(pwd)/$BUILD" "$W/build"

awk '/^## Using it/ { on = 1; next } /^## / { on = 0 }
     on && /^```sh/ { code = 1; next } on && /^```/ { code = 0; next }
     on && code' README.md >"$T/commands"
check "README's Using it section has commands" [ -s "$T/commands" ]

# run CMD: in the scratch directory, the README's addresses swapped for ours
run() {
    local cmd=${1//127.0.0.1:9092/$BROKER}
    cmd=${cmd//http:\/\/127.0.0.1:8080/$CONSOLE}
    (cd "$W" && BROOK_BROKERS=$BROKER timeout -k 5 30 bash -c "$cmd") >"$T/out" 2>"$T/err"
}

# bg CMD UNTIL: a command that runs until Ctrl-C; it runs until UNTIL (a shell
# condition on $T/out) holds, at most 10 s, then gets SIGINT as from Ctrl-C
bg() {
    local cmd=$1 until=$2 pid
    (cd "$W" && exec timeout -k 5 30 bash -c "$cmd") >"$T/out" 2>"$T/err" &
    pid=$!
    wait_for 10 sh -c "$until"
    local met=$?
    kill -INT "$pid" 2>/dev/null # timeout passes it on
    wait "$pid" 2>/dev/null
    return $met
}

out_has() { grep -qxF -- "$1" "$T/out"; }

# one function per README command; its name is looked up by the command's text
declare -A CHECK=(
    ["make run"]=c_make_run
    ["build/brook topic create orders -p 3"]=c_create
    ["echo hello | kcat -b 127.0.0.1:9092 -P -t orders"]=c_kcat_produce
    ["kcat -b 127.0.0.1:9092 -C -t orders -e"]=c_kcat_consume
    ["kcat -b 127.0.0.1:9092 -L"]=c_kcat_list
    ['echo "from the shell" >> mnt/orders']=c_append
    ["cat mnt/orders"]=c_cat
    ["tail -f -s 0.1 mnt/orders"]=c_tail
    ["cat mnt/orders-0/follow"]=c_follow
    ["jq . mnt/orders-0/records"]=c_jq
    ["touch mnt/invoices; rm mnt/invoices"]=c_touch_rm
    ["printf 'alice:1\\nbob:2\\ncarol:3\\ndave:4\\nerin:5\\n' | build/brook produce orders -K :"]=c_produce
    ["build/brook consume orders -g billing -o beginning -e -f '%p %o %k %s\\n'"]=c_consume
    ["build/brook group describe billing"]=c_describe
    ["build/brook -b kafka1:9092,kafka2:9092 mount ~/kafka"]=c_mount
    ['tail -f ~/kafka/orders & echo "from the shell" >> ~/kafka/orders']=c_mount_tail
)

c_make_run() {
    check "make run: scripts/run starts brookd with --mount ./mnt" \
        grep -q 'mount=(--mount ./mnt)' scripts/run
    make -n --no-print-directory run ARGS='-o num.partitions=3' >"$T/make.n" 2>/dev/null
    check "make run ARGS=...: the flags reach scripts/run, which passes them to brookd" \
        sh -c "grep -qx 'scripts/run -o num.partitions=3' '$T/make.n' &&
               grep -qF '\"\$@\"' scripts/run"
    if ! daemon_start "$W/brook-data" "$W/mnt" --console 127.0.0.1:0; then
        not_ok "make run: brookd starts"
        exit 1
    fi
    CONSOLE=http://$(grep -oE 'console on 127\.0\.0\.1:[0-9]+' "$T/harness.log" | tail -1 |
        cut -d' ' -f3)
    check "make run: the data is in ./brook-data, the topics at ./mnt" \
        sh -c "[ -d '$W/brook-data' ] && awk -v m='$W/mnt' '\$5 == m' /proc/self/mountinfo | grep -q fuse"
}
# brook mount runs in the foreground until the tail check ends it with Ctrl-C;
# ~ is the scratch directory and the two brokers ours
c_mount() {
    local cmd=${1//kafka1:9092,kafka2:9092/$BROKER}
    (cd "$W" && HOME=$W exec timeout -k 5 60 bash -c "$cmd") >"$T/mount.out" 2>"$T/mount.err" &
    MOUNT_PID=$!
    check "$1: mounts the cluster at ~/kafka" \
        wait_for 10 sh -c "awk -v m='$W/kafka' '\$5 == m' /proc/self/mountinfo | grep -q fuse"
}
c_mount_tail() {
    check "$1: tail shows the line appended through brook mount" \
        bg "HOME='$W'; $1; wait" "[ \$(grep -cx 'from the shell' '$T/out') -ge 2 ]"
    kill -INT "$MOUNT_PID" 2>/dev/null # Ctrl-C, passed on by timeout
    wait "$MOUNT_PID"
    local rc=$?
    check "... and Ctrl-C ends brook mount ($rc) and unmounts ~/kafka" \
        sh -c "[ $rc -eq 0 ] && ! awk -v m='$W/kafka' '\$5 == m' /proc/self/mountinfo | grep -q ."
}
c_create() { run "$1"; check "$1: says so" out_has "Created topic orders."; }
c_kcat_produce() { check "$1: succeeds" run "$1"; }
c_kcat_consume() { run "$1"; check "$1: prints hello" out_has hello; }
c_kcat_list() { run "$1"; check "$1: orders has 3 partitions" grep -q 'topic "orders" with 3 partitions' "$T/out"; }
c_append() { check "$1: succeeds" run "$1"; }
c_cat() {
    run "$1"; check "$1: both records" \
        test "$(sort "$T/out" | tr '\n' '|')" = "from the shell|hello|"
}
c_tail() {
    check "$1: shows both records until Ctrl-C" \
        bg "$1" "grep -qx hello '$T/out' && grep -qx 'from the shell' '$T/out'"
}
c_follow() {
    local want
    want=$(cat "$W/mnt/orders-0/data")
    check "$1: shows partition 0's records until Ctrl-C" \
        bg "$1" "[ \"\$(cat '$T/out')\" = '$want' ]"
}
c_jq() {
    run "$1"; check "$1: one JSON record per line of partition 0" \
        test "$(jq -s length "$T/out")" = "$(wc -l <"$W/mnt/orders-0/data")"
}
c_touch_rm() {
    run "$1"; check "$1: leaves no topic invoices" \
        sh -c "[ ! -e '$W/mnt/invoices' ] && ! '$W/build/brook' -b $BROKER topic list | grep -q '^invoices'"
}
c_produce() { check "$1: succeeds" run "$1"; }
c_consume() {
    run "$1"
    check "$1: prints the five keyed records" \
        test "$(grep -cE '^[0-2] [0-9]+ (alice 1|bob 2|carol 3|dave 4|erin 5)$' "$T/out")" = 5
    check "$1: from all three partitions" \
        test "$(cut -d' ' -f1 "$T/out" | sort -u | tr -d '\n')" = 012
}
c_describe() {
    run "$1"
    check "$1: three partitions, no lag" \
        test "$(awk -F'\t' '$1 == "billing" && $2 == "orders" && $6 == 0' "$T/out" | wc -l)" = 3
}

declare -A SEEN=()
while IFS= read -r line; do
    cmd=$(sed -E 's/[[:space:]]+#.*$//' <<<"$line")
    [ -n "$cmd" ] || continue
    SEEN[$cmd]=1
    if [ -z "${CHECK[$cmd]:-}" ]; then
        not_ok "README command has a check here: $cmd"
        continue
    fi
    "${CHECK[$cmd]}" "$cmd"
done <"$T/commands"
for cmd in "${!CHECK[@]}"; do
    [ -n "${SEEN[$cmd]:-}" ] || not_ok "a check here has its command in README: $cmd"
done
daemon_stop
check "brookd stops cleanly (Ctrl-C's SIGTERM twin)" [ $? -eq 0 ]
exit 0
