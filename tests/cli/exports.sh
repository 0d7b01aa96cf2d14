#!/usr/bin/env bash
# libbrook.so exports exactly the functions brook.h declares: no more (the library's
# insides, such as log_write or hmap_put, would clash with an application's own
# symbols) and no fewer (a function declared without BROOK_API would be missing).
# The declared set comes from the compiler (gcc -aux-info lists every prototype with
# its file and line), not from the BROOK_API marker, so a forgotten marker shows.
. "$(dirname "$0")/../lib.sh"
SO=$ROOT/$BUILD/libbrook.so
HDR=$ROOT/client/brook.h

if ! command -v gcc >/dev/null || ! command -v nm >/dev/null; then
    echo "skip - libbrook exports: needs gcc and nm"
    exit 0
fi
if ! check "libbrook.so is built" [ -f "$SO" ]; then
    exit 1
fi

# "/* client/brook.h:85:NC */ extern struct brook_conf *brook_conf_new (void);": N is a
# prototype, C a declaration (F would be a definition: the static inline helpers).
gcc -std=gnu11 -I"$ROOT" -fsyntax-only -aux-info "$T/aux" -x c "$HDR" 2>"$T/cc.err"
check "brook.h compiles for the declaration list" [ $? -eq 0 ] || cat "$T/cc.err"
grep -F "$HDR:" "$T/aux" | grep ':NC \*/ extern ' |
    sed 's|^/\*[^*]*\*/ ||; s/ (.*//; s/^.*[^A-Za-z0-9_]//' | sort -u >"$T/declared"
nm -D --defined-only "$SO" | awk '{print $NF}' | sort -u >"$T/exported"

n_declared=$(wc -l <"$T/declared")
check "brook.h declares functions ($n_declared)" [ "$n_declared" -gt 0 ]
extra=$(comm -13 "$T/declared" "$T/exported" | tr '\n' ' ')
missing=$(comm -23 "$T/declared" "$T/exported" | tr '\n' ' ')
if [ -z "$extra" ]; then
    ok "libbrook.so exports nothing brook.h does not declare"
else
    fail "libbrook.so exports nothing brook.h does not declare" \
        "$(comm -13 "$T/declared" "$T/exported" | wc -l) extra: ${extra:0:300}"
fi
check "libbrook.so exports every function brook.h declares${missing:+ (missing: $missing)}" \
    [ -z "$missing" ]
