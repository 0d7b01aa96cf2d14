#!/usr/bin/env bash
# make install PREFIX=... puts brookd, brook, libbrook (static and shared), brook.h,
# brook.pc, the man pages and the bash completion in place; a small program built
# against the installed libbrook with pkg-config produces through the event-loop
# API, consumes through the blocking one, and links both ways.
. "$(dirname "$0")/../lib.sh"
P=$T/prefix

# build with the flags $BUILD was built with, or make would mix instrumented objects
SAN=
nm "$ROOT/$BUILD/lib.a" 2>/dev/null | grep -q __asan_init && SAN=SANITIZE=address,undefined
timeout -k 10 900 make -C "$ROOT" --no-print-directory BUILD="$BUILD" $SAN PREFIX="$P" install \
    >"$T/make.log" 2>&1
if ! check "make install PREFIX=$P" [ $? -eq 0 ]; then :; fi
[ -x "$P/bin/brook" ] || { tail -20 "$T/make.log"; exit 1; }
for f in bin/brook bin/brookd lib/libbrook.a lib/libbrook.so lib/libbrook.so.0 include/brook.h \
    lib/pkgconfig/brook.pc share/man/man1/brook.1 share/man/man1/brookd.1 \
    share/bash-completion/completions/brook; do
    check "installs $f" [ -e "$P/$f" ]
done
check "the installed brook runs" [ "$("$P/bin/brook" --version)" = "brook 0.1.0" ]
check "the man pages render without warnings" \
    [ -z "$(groff -man -Tutf8 -ww "$P/share/man/man1/brook.1" "$P/share/man/man1/brookd.1" 2>&1 >/dev/null)" ]
check "brook.h includes nothing of brook's insides" [ -z "$(grep '#include "' "$P/include/brook.h")" ]
check "brook.h compiles on its own (C99, pedantic)" \
    cc -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -x c "$P/include/brook.h"
if command -v c++ >/dev/null; then
    check "and as C++" c++ -Wall -Werror -fsyntax-only -x c++ "$P/include/brook.h"
fi

cat >"$T/prog.c" <<'C'
#include <brook.h>
#include <poll.h>
#include <stdio.h>

static int reports;
static long long where = -1;

static void delivered(void *arg, const struct brook_delivery *d)
{
    reports++;
    where = d->err ? -1 : d->offset;
}

int main(int argc, char **argv)
{
    struct brook_conf *conf = brook_conf_new();
    if (!conf || brook_conf_set(conf, "bootstrap.servers", argv[1]) ||
        brook_conf_set(conf, "client.id", "installed-test"))
        return 1;
    brook_conf_set_delivery_cb(conf, delivered, NULL);
    struct brook_client *c;
    int rc = brook_client_new(conf, &c);
    brook_conf_free(conf);
    if (rc) {
        fprintf(stderr, "client: %s\n", brook_strerror(rc));
        return 1;
    }
    /* event-loop style: our poll(2) on the client's fd, brook_poll(c, 0) to work */
    struct brook_record r = BROOK_RECORD_INIT;
    r.topic = "installed";
    r.value = "hello";
    r.value_len = 5;
    if ((rc = brook_produce(c, &r, NULL))) {
        fprintf(stderr, "produce: %s\n", brook_strerror(rc));
        return 1;
    }
    for (int turns = 0; reports == 0 && turns < 10000; turns++) {
        struct pollfd pfd = {brook_client_fd(c), POLLIN, 0};
        int t = brook_client_timeout(c);
        poll(&pfd, 1, t < 0 || t > 100 ? 100 : t);
        brook_poll(c, 0);
    }
    printf("delivered at offset %lld\n", where);
    /* blocking style */
    struct brook_offset start = {BROOK_OFFSET_BEGINNING, 0};
    const struct brook_message *m;
    if ((rc = brook_assign(c, "installed", NULL, 0, &start)) ||
        (rc = brook_consume(c, &m, 10000)) != 1) {
        fprintf(stderr, "consume: %s\n", rc ? brook_strerror(rc) : "nothing");
        return 1;
    }
    printf("read %.*s from %s/%d@%lld\n", (int)m->value_len, (const char *)m->value, m->topic,
           m->partition, (long long)m->offset);
    brook_client_free(c);
    return 0;
}
C
PKG="env PKG_CONFIG_PATH=$P/lib/pkgconfig pkg-config --define-variable=prefix=$P"
check "pkg-config knows brook" $PKG --exists brook
# a sanitized build's library needs the sanitizer runtime in the program too
SAN_SO= SAN_A=
nm -D "$P/lib/libbrook.so" 2>/dev/null | grep -q __asan_init && SAN_SO="-fsanitize=address,undefined"
nm "$P/lib/libbrook.a" 2>/dev/null | grep -q __asan_report && SAN_A="-fsanitize=address,undefined"
cc -std=c99 -Wall -Werror -o "$T/prog" "$T/prog.c" $($PKG --cflags --libs brook) $SAN_SO 2>"$T/cc.err"
check "a program builds against the shared libbrook with pkg-config" [ $? -eq 0 ] || cat "$T/cc.err"
static_libs=$($PKG --static --libs brook | sed "s|-lbrook|$P/lib/libbrook.a|")
cc -std=c99 -Wall -Werror -o "$T/prog-static" "$T/prog.c" $($PKG --cflags brook) $static_libs \
    $SAN_A 2>"$T/cc.err"
check "and against the static one" [ $? -eq 0 ] || cat "$T/cc.err"

brookd_start || { fail "install: brookd starts"; exit 1; }
out=$(LD_LIBRARY_PATH=$P/lib timeout -k 10 60 "$T/prog" "$BROKER")
check "it produces and consumes through brookd" \
    [ "$out" = "$(printf 'delivered at offset 0\nread hello from installed/0@0')" ]
check "it uses the installed shared library" \
    grep -q "$P/lib/libbrook.so" <(LD_LIBRARY_PATH=$P/lib ldd "$T/prog")
out=$(timeout -k 10 60 "$T/prog-static" "$BROKER")
check "the static build works too" [ "$(echo "$out" | tail -1)" = "read hello from installed/0@0" ]
brookd_stop
