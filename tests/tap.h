/*
 * tap.h - the result lines of the test programs that tests/run reads: "ok - NAME"
 * or "not ok - NAME", one per check, flushed at once so that a crash or a timeout
 * later on still leaves every earlier line. A program includes this once, calls
 * result() for each check and exits non-zero when `failures` is not 0.
 */
#ifndef BROOK_TESTS_TAP_H
#define BROOK_TESTS_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int failures; /* checks that failed so far */

/* Print one check's line: "ok - " or "not ok - ", then the printf-formatted name. */
static inline __attribute__((format(printf, 2, 3))) void result(bool good, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s - ", good ? "ok" : "not ok");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    failures += !good;
}

#endif
