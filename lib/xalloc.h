/*
 * xalloc.h - the daemon's out-of-memory policy: log one line and abort.
 *
 * brookd keeps its state in memory it cannot give back half-built, and a broker that
 * cannot allocate a few bytes has nothing safe left to do; so its modules (broker/,
 * console/, fs/) allocate through these, which never return NULL. They are for true
 * allocation failures only: a size a peer chose is bounded, and refused with an
 * error, before it reaches them. Library code (lib, proto, store, client) returns
 * -ENOMEM instead and never includes this header.
 */
#ifndef BROOK_LIB_XALLOC_H
#define BROOK_LIB_XALLOC_H

#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "lib/log.h"

/* Never returns: says which allocation failed (n bytes, 0 when a library allocated
 * and did not say), then aborts for a core file. */
__attribute__((noreturn)) static inline void xalloc_fail(const char *what, size_t n)
{
    if (n)
        log_write(LOG_ERROR, "brook.alloc", "out of memory: %s of %zu bytes", what, n);
    else
        log_write(LOG_ERROR, "brook.alloc", "out of memory: %s", what);
    abort();
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        xalloc_fail("malloc", n);
    return p;
}

static inline void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        xalloc_fail("calloc", n * size);
    return p;
}

static inline void *xrealloc(void *p, size_t n)
{
    void *r = realloc(p, n ? n : 1);
    if (!r)
        xalloc_fail("realloc", n);
    return r;
}

static inline void *xmemdup(const void *p, size_t n)
{
    void *r = xmalloc(n);
    if (n)
        memcpy(r, p, n);
    return r;
}

/* A copy of s; NULL copies as "" so callers can keep optional strings. */
static inline char *xstrdup(const char *s)
{
    return xmemdup(s ? s : "", strlen(s ? s : "") + 1);
}

/* A NUL-terminated copy of the n bytes at s (NULL: n is taken as 0). */
static inline char *xstrndup(const char *s, size_t n)
{
    if (!s)
        n = 0;
    char *r = xmalloc(n + 1);
    memcpy(r, s ? s : "", n);
    r[n] = 0;
    return r;
}

/* ARRAY_GROW under the daemon's policy. */
#define XARRAY_GROW(p, cap, need)                                                                  \
    do {                                                                                           \
        if (ARRAY_GROW(p, cap, need))                                                              \
            xalloc_fail("array", (size_t)(need) * sizeof *(p));                                    \
    } while (0)

#endif
