#!/usr/bin/env bash
# fuse_faults.sh - a full disk and a failing disk under writers of the FUSE mount.
#
# faultd (tests/crash/faultd.c, brookd behind the store's fault seam) mounts the
# topics; `echo >>` and a probe that checks write() and close() append lines:
#   - ENOSPC or EIO on write (of a segment or of the topic journal): write() fails
#     with that errno, the shell says so,
#     nothing of the line is stored, and appends work again once the fault clears;
#   - EIO on fdatasync: the write is taken but close() fails with EIO, and from then
#     on that partition takes nothing, even after the fault clears, while another
#     topic works; after a restart it takes lines again and keeps the earlier ones.
# Runs inside a private mount namespace (tests/fuse/lib.bash), or says why it skips.
FUSE_DAEMON=${BUILD:-build}/tests/crash/faultd # the daemon lib.bash starts
export FUSE_DAEMON
. "$(dirname "$0")/../fuse/lib.bash"
fuse_setup "$@"

export BROOK_FAULTS=$T/faults
D=$T/data M=$T/mnt
mkdir -p "$M"
faults() { printf '%s\n' "$@" >"$T/faults.new" && mv "$T/faults.new" "$BROOK_FAULTS"; }
clear_faults() { rm -f "$BROOK_FAULTS"; }
fp() { t "$PY" tests/crash/faults.py "$@"; }
expect() { # NAME WANT GOT
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: want '$2', got '$3'"; fi
}
lines() { t cat "$1" | tr '\n' ' ' | sed 's/ $//'; }

if ! daemon_start "$D" "$M" -o num.partitions=1; then
    not_ok "fuse faults: faultd mounts the topics"
    exit 1
fi
t touch "$M/fz" "$M/fy"
expect "append before the fault" OK "$(fp append "$M/fz" 'a\n')"

for err in ENOSPC EIO; do
    faults "pwrite $err /fz-0/"
    expect "$err on write: write() fails with $err" "write:$err" "$(fp append "$M/fz" 'lost\n')"
    want=$([ $err = ENOSPC ] && echo 'No space left on device' || echo 'Input/output error')
    check "$err on write: bash's echo >> fails and says '$want'" \
        t bash -c "! echo lost >> '$M/fz' 2>'$T/echo.err' && grep -q '$want' '$T/echo.err'"
    expect "$err on write: nothing of the lines is stored" \
        "$([ $err = ENOSPC ] && echo a || echo 'a b-ENOSPC')" "$(lines "$M/fz")"
    expect "$err on write: the segment holds whole batches only" \
        "$([ $err = ENOSPC ] && echo 1 || echo 2)" "$(fp segcheck "$D/fz-0")"
    clear_faults
    expect "$err on write: appends work once the fault clears" OK \
        "$(fp append "$M/fz" "b-$err\\n")"
done
expect "the lines appended between the faults are there" "a b-ENOSPC b-EIO" "$(lines "$M/fz")"
faults "pwrite ENOSPC .journal"
expect "ENOSPC on the journal: write() fails with ENOSPC" write:ENOSPC \
    "$(fp append "$M/fz" 'lost\n')"
clear_faults
expect "ENOSPC on the journal: the line is not stored, in the view or the log" \
    "a b-ENOSPC b-EIO 3" "$(lines "$M/fz") $(fp segcheck "$D/fz-0")"

faults "fdatasync EIO /fz-0/"
expect "fdatasync EIO: close() fails with EIO" close:EIO "$(fp append "$M/fz" 'unsure\n')"
clear_faults
got=$(fp append "$M/fz" 'refused\n')
check "fdatasync EIO: the partition takes nothing more after the fault clears ($got)" \
    eval '[ "$got" = write:EIO ] || [ "$got" = close:EIO ]'
expect "fdatasync EIO: another topic takes lines" OK "$(fp append "$M/fy" 'y\n')"
got=$(lines "$M/fz")
check "fdatasync EIO: reads keep working, with every line acknowledged before" \
    eval '[ "${got#a b-ENOSPC b-EIO}" != "$got" ]'
check "fdatasync EIO: the refused line is not stored" eval '! grep -q refused <<<"$got"'

check "fdatasync EIO: faultd stops cleanly" daemon_stop
if ! daemon_start "$D" "$M" -o num.partitions=1; then
    not_ok "fuse faults: faultd mounts the topics again"
    exit 1
fi
expect "after a restart the partition takes lines again" OK "$(fp append "$M/fz" 'after\n')"
got=$(lines "$M/fz")
check "after a restart the earlier lines are there, the new one last" \
    eval '[ "${got#a b-ENOSPC b-EIO}" != "$got" ] && [ "${got##* }" = after ]'
daemon_stop
[ "$FAILED" = 0 ]
