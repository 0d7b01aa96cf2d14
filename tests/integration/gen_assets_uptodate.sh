#!/usr/bin/env bash
# gen_assets_uptodate.sh - the committed broker/console_assets.c is exactly what
# scripts/gen_assets.py makes from broker/web/ (and is clang-format clean).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
name="console assets up to date"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok=1
if ! /usr/bin/python3 scripts/gen_assets.py --out "$tmp" >"$tmp/log" 2>&1; then
    cat "$tmp/log"
    ok=0
fi
f=console_assets.c
if [ "$ok" = 1 ] && ! diff -u "broker/$f" "$tmp/$f" >"$tmp/diff"; then
    head -40 "$tmp/diff"
    echo "broker/$f differs from scripts/gen_assets.py's output: run it and commit"
    ok=0
elif [ "$ok" = 1 ] && command -v clang-format >/dev/null &&
    ! clang-format --style=file "broker/$f" | cmp -s - "broker/$f"; then
    echo "broker/$f is not laid out as clang-format would: fix scripts/gen_assets.py"
    ok=0
fi
if [ "$ok" = 1 ]; then
    echo "ok - $name"
else
    echo "not ok - $name"
fi
