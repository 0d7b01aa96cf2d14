#!/usr/bin/env bash
# gen_kafka_uptodate.sh - the committed proto/kafka_msgs.[ch] are exactly what
# scripts/gen_kafka.py makes from proto/kafka.schema (and are clang-format clean).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
name="kafka codegen up to date"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok=1
if ! /usr/bin/python3 scripts/gen_kafka.py --out "$tmp" >"$tmp/log" 2>&1; then
    cat "$tmp/log"
    ok=0
fi
for f in kafka_msgs.h kafka_msgs.c; do
    [ "$ok" = 1 ] || break
    if ! diff -u "proto/$f" "$tmp/$f"; then
        echo "proto/$f differs from scripts/gen_kafka.py's output: run it and commit"
        ok=0
    elif command -v clang-format >/dev/null &&
        ! clang-format --style=file "proto/$f" | cmp -s - "proto/$f"; then
        echo "proto/$f is not laid out as clang-format would: fix scripts/gen_kafka.py"
        ok=0
    fi
done
if [ "$ok" = 1 ]; then
    echo "ok - $name"
else
    echo "not ok - $name"
fi
