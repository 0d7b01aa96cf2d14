/*
 * grow.c - array_grow: doubling growth with the overflow checks written once.
 */
#include "lib/grow.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

enum { GROW_FIRST = 16 }; /* small arrays are common; 16 items avoid the first few reallocs */

/* The first doubling of cap (16 when empty) that reaches need, or 0 on overflow.
 * Called with cap < need, so a non-empty array at least doubles. */
static size_t grow_capacity(size_t cap, size_t need, size_t elem)
{
    size_t ncap = cap ? cap : GROW_FIRST;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return 0;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem)
        return 0;
    return ncap;
}

int array_grow_using(void *(*re)(void *, size_t), void **items, size_t *cap, size_t need,
                     size_t elem)
{
    if (need <= *cap)
        return 0;
    if (elem == 0)
        return -ENOMEM;
    size_t ncap = grow_capacity(*cap, need, elem);
    if (!ncap)
        return -ENOMEM;
    void *p = re(*items, ncap * elem);
    if (!p)
        return -ENOMEM;
    *items = p;
    *cap = ncap;
    return 0;
}

int array_grow(void **items, size_t *cap, size_t need, size_t elem)
{
    return array_grow_using(realloc, items, cap, need, elem);
}
