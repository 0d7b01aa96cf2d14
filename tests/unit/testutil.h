/*
 * testutil.h - helpers shared by the unit tests: temporary directories and
 * record batches built from simple specs.
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

#endif
