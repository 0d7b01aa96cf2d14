/*
 * testutil.h - helpers shared by the unit tests: temporary directories, record
 * batches built from simple specs, allocation that cannot fail, and a seeded
 * random number generator whose sequence a seed reproduces.
 */
#ifndef BROOK_TESTS_TESTUTIL_H
#define BROOK_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/writer.h"

/* A fresh directory under $TMPDIR (or /tmp); aborts the test run on failure.
 * Returns a malloc'd path. */
char *tu_mkdtemp(void);

/* rm -rf path (and free nothing). */
void tu_rmrf(const char *path);

/* Append to out a batch of n records with keys "<key_prefix><i>" (no key when
 * key_prefix is NULL) and values "<value_prefix>-<first + i>", all timestamped ts. */
void tu_batch(struct writer *out, int n, const char *key_prefix, const char *value_prefix,
              int first, int64_t ts);

/* Size of a file, or -1. */
int64_t tu_file_size(const char *path);

/* malloc (of at least one byte) and strdup that abort the test run when memory
 * runs out: a test has no better answer. */
void *tu_xmalloc(size_t n);
char *tu_xstrdup(const char *s);

/* xorshift64*: small, fast, and the same sequence for the same seed on every
 * machine, so a failing run is repeated by its seed. Not for anything secret. */
struct tu_rng {
    uint64_t s;
};

/* Start r's sequence from seed (any value, 0 included). */
void tu_rng_seed(struct tu_rng *r, uint64_t seed);

/* The next 64 random bits. */
uint64_t tu_rng_next(struct tu_rng *r);

/* Uniform in [0, n); 0 when n is 0. */
uint64_t tu_rng_below(struct tu_rng *r, uint64_t n);

#endif
