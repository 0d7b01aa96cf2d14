/*
 * fuzz.h - what every libFuzzer target in tests/fuzz/ shares.
 *
 * A target is one LLVMFuzzerTestOneInput() over one decoder (or loader) of brook,
 * built with ASan+UBSan, so memory errors, undefined behaviour and leaks are found
 * by the sanitizers. What the sanitizers cannot see - a decoder that accepts what it
 * should refuse, two parsers of one format that disagree, an encoding that does not
 * decode to itself - the targets check themselves with FUZZ_CHECK(), which aborts so
 * that libFuzzer reports the input like any crash.
 *
 * Inputs usually start with a few control bytes (a version, a mode, flags) read
 * through a struct reader (lib/reader.h): past the end it reads zeros, so every
 * input, even an empty one, means something.
 */
#ifndef BROOK_TESTS_FUZZ_H
#define BROOK_TESTS_FUZZ_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/reader.h"

/* Stop with a report when an invariant does not hold. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
    } while (0)

static inline void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: invariant does not hold: %s\n", file, line, what);
    abort();
}

/* Die on out-of-memory in the target's own allocations (not the code under test). */
static inline void *fuzz_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* The next *n bytes of r, or as many as are left (*n is cut to that); never NULL,
 * even after a read past the end. */
static inline const uint8_t *fuzz_take(struct reader *r, size_t *n)
{
    if (*n > reader_left(r))
        *n = reader_left(r);
    const uint8_t *p = reader_bytes(r, *n);
    return p ? p : (const uint8_t *)"";
}

/* libFuzzer's entry point, declared for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
