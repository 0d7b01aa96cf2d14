/*
 * testutil.c - see testutil.h.
 */
#define _XOPEN_SOURCE 700
#include "tests/unit/testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/record.h"

char *tu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char *path = malloc(4096);
    if (!path)
        abort();
    snprintf(path, 4096, "%s/brook-test-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        abort();
    }
    return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmrf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_batch(struct writer *out, int n, const char *key_prefix, const char *value_prefix,
              int first, int64_t ts)
{
    struct batch_builder b;
    batch_builder_init(&b, CODEC_NONE, 64u << 20);
    for (int i = 0; i < n; i++) {
        char key[64], value[256];
        int kl = key_prefix ? snprintf(key, sizeof key, "%s%d", key_prefix, i) : -1;
        int vl = snprintf(value, sizeof value, "%s-%d", value_prefix, first + i);
        if (batch_builder_add(&b, ts, key_prefix ? key : NULL, kl, value, vl, NULL, 0))
            abort();
    }
    if (batch_builder_finish(&b, -1, out))
        abort();
    batch_builder_release(&b);
}

int64_t tu_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) ? -1 : (int64_t)st.st_size;
}

void *tu_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

char *tu_xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

uint64_t tu_rng_next(struct tu_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dULL;
}

uint64_t tu_rng_below(struct tu_rng *r, uint64_t n)
{
    return n ? tu_rng_next(r) % n : 0;
}

void tu_rng_seed(struct tu_rng *r, uint64_t seed)
{
    r->s = seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
    if (!r->s) /* xorshift stays at 0 forever */
        r->s = 1;
    for (int i = 0; i < 4; i++) /* mix close seeds apart */
        tu_rng_next(r);
}
