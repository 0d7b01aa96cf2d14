/*
 * hmap.c - open addressing, FNV-1a hashing, growth at 3/4 load (counting
 * tombstones, so deletions never make lookups loop forever).
 */
#include "lib/hmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct hmap_slot {
    char *key; /* NULL: empty; DELETED: a tombstone */
    size_t len;
    uint64_t hash;
    void *value;
};

static char deleted_mark;
#define DELETED (&deleted_mark)

static uint64_t hash(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h ^ (h >> 29);
}

void hmap_init(struct hmap *m)
{
    memset(m, 0, sizeof *m);
}

void hmap_release(struct hmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != DELETED)
            free(m->slots[i].key);
    free(m->slots);
    hmap_init(m);
}

/* The slot holding key, or the empty slot where it would go. */
static struct hmap_slot *find(const struct hmap *m, const void *key, size_t len, uint64_t h)
{
    struct hmap_slot *tomb = NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct hmap_slot *s = &m->slots[i];
        if (!s->key)
            return tomb ? tomb : s;
        if (s->key == DELETED) {
            if (!tomb)
                tomb = s;
        } else if (s->hash == h && s->len == len && !memcmp(s->key, key, len)) {
            return s;
        }
    }
}

void *hmap_get(const struct hmap *m, const void *key, size_t len)
{
    if (!m->n)
        return NULL;
    struct hmap_slot *s = find(m, key, len, hash(key, len));
    return s->key && s->key != DELETED ? s->value : NULL;
}

static int grow(struct hmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    while (m->n * 2 >= cap)
        cap *= 2;
    struct hmap old = *m;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) {
        *m = old;
        return -ENOMEM;
    }
    m->cap = cap;
    m->used = m->n;
    for (size_t i = 0; i < old.cap; i++) {
        struct hmap_slot *s = &old.slots[i];
        if (s->key && s->key != DELETED)
            *find(m, s->key, s->len, s->hash) = *s;
    }
    free(old.slots);
    return 0;
}

int hmap_put(struct hmap *m, const void *key, size_t len, void *value)
{
    if ((m->used + 1) * 4 > m->cap * 3 && grow(m))
        return -ENOMEM;
    uint64_t h = hash(key, len);
    struct hmap_slot *s = find(m, key, len, h);
    if (s->key && s->key != DELETED) {
        s->value = value;
        return 0;
    }
    char *k = malloc(len ? len : 1);
    if (!k)
        return -ENOMEM;
    memcpy(k, key, len);
    if (!s->key)
        m->used++;
    *s = (struct hmap_slot){k, len, h, value};
    m->n++;
    return 0;
}

void *hmap_del(struct hmap *m, const void *key, size_t len)
{
    if (!m->n)
        return NULL;
    struct hmap_slot *s = find(m, key, len, hash(key, len));
    if (!s->key || s->key == DELETED)
        return NULL;
    void *v = s->value;
    free(s->key);
    s->key = DELETED;
    s->value = NULL;
    m->n--;
    return v;
}

bool hmap_next(const struct hmap *m, size_t *pos, const void **key, size_t *len, void **value)
{
    for (; *pos < m->cap; (*pos)++) {
        struct hmap_slot *s = &m->slots[*pos];
        if (s->key && s->key != DELETED) {
            *key = s->key;
            *len = s->len;
            *value = s->value;
            (*pos)++;
            return true;
        }
    }
    return false;
}
