/*
 * hmap.h - a hash map from byte-string keys to pointers.
 *
 * Open addressing with linear probing and tombstones; keys are copied in, values
 * are the caller's. Not thread-safe: callers lock around it.
 */
#ifndef BROOK_LIB_HMAP_H
#define BROOK_LIB_HMAP_H

#include <stdbool.h>
#include <stddef.h>

struct hmap_slot;

struct hmap {
    struct hmap_slot *slots;
    size_t cap;  /* power of two, or 0 */
    size_t n;    /* live entries */
    size_t used; /* live + deleted slots */
};

void hmap_init(struct hmap *m);
/* Free the table and the key copies (not the values). */
void hmap_release(struct hmap *m);

/* The value for key, or NULL. */
void *hmap_get(const struct hmap *m, const void *key, size_t len);

/* Set key to value (value may not be NULL). 0 or -ENOMEM. */
int hmap_put(struct hmap *m, const void *key, size_t len, void *value);

/* Remove key; returns its value, or NULL if absent. */
void *hmap_del(struct hmap *m, const void *key, size_t len);

/* Iterate: pass *pos = 0 first; returns false at the end. */
bool hmap_next(const struct hmap *m, size_t *pos, const void **key, size_t *len, void **value);

#endif
