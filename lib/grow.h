/*
 * grow.h - room for one more item in a heap array, the one way brook grows them.
 *
 * Every growable array is a pointer plus a capacity (in items) beside a count the
 * caller keeps. array_grow() makes the capacity at least need, doubling from 16 so
 * a run of appends costs amortised constant time, and checks every multiplication
 * for overflow. It is library code: a failure is -ENOMEM and leaves the array as it
 * was, so the caller decides (the daemon's policy lives in xalloc.h).
 */
#ifndef BROOK_LIB_GROW_H
#define BROOK_LIB_GROW_H

#include <stddef.h>

/* Make *cap >= need for items of elem bytes at *items: 0, or -ENOMEM (the array and
 * *cap unchanged) when memory runs out or the size would overflow. */
int array_grow(void **items, size_t *cap, size_t need, size_t elem);

/* array_grow through the given reallocator (store's tests fail it on purpose). */
int array_grow_using(void *(*re)(void *, size_t), void **items, size_t *cap, size_t need,
                     size_t elem);

/* array_grow for an array variable p and its size_t capacity variable cap. */
#define ARRAY_GROW(p, cap, need) array_grow((void **)&(p), &(cap), (need), sizeof *(p))

#endif
