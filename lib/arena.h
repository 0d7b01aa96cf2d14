/*
 * arena.h - a bump allocator for data that dies together (one decoded request,
 * one response being built).
 *
 * Allocations come from chunks; nothing is freed individually; arena_release()
 * frees everything. A hard limit on the total keeps a hostile peer from making a
 * request decoder allocate more than the limit, whatever counts it sends.
 */
#ifndef BROOK_LIB_ARENA_H
#define BROOK_LIB_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head; /* newest chunk; older ones chained behind */
    size_t used;              /* bytes handed out, all chunks */
    size_t limit;             /* arena_alloc fails past this total */
};

/* An empty arena that will hand out at most limit bytes in all. */
void arena_init(struct arena *a, size_t limit);

/* Free every chunk; the arena is empty and reusable afterwards. */
void arena_release(struct arena *a);

/* n bytes aligned for any type, zeroed; NULL when out of memory or past the limit. */
void *arena_alloc(struct arena *a, size_t n);

/* n * size bytes with overflow checking; NULL as arena_alloc. */
void *arena_calloc(struct arena *a, size_t n, size_t size);

/* A NUL-terminated copy of n bytes at p; NULL as arena_alloc. */
char *arena_strndup(struct arena *a, const char *p, size_t n);

#endif
