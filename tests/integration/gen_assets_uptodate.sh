#!/usr/bin/env bash
# gen_assets_uptodate.sh - the committed console/assets.c is exactly what
# scripts/gen_assets.py makes from console/web/ (and is clang-format clean).
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
f=assets.c
if [ "$ok" = 1 ] && ! diff -u "console/$f" "$tmp/$f" >"$tmp/diff"; then
    head -40 "$tmp/diff"
    echo "console/$f differs from scripts/gen_assets.py's output: run it and commit"
    ok=0
elif [ "$ok" = 1 ] && command -v clang-format >/dev/null &&
    ! clang-format --style=file "console/$f" | cmp -s - "console/$f"; then
    echo "console/$f is not laid out as clang-format would: fix scripts/gen_assets.py"
    ok=0
fi
if [ "$ok" = 1 ]; then
    echo "ok - $name"
else
    echo "not ok - $name"
fi
