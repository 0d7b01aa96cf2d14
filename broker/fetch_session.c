/*
 * fetch_session.c - the fetch session cache (KIP-227, Fetch v7+).
 *
 * A consumer that fetches the same partitions again and again may open a session:
 * a full fetch with epoch 0 creates one, holding each partition's fetch offset and
 * partition_max_bytes and what its last answer said (high watermark, log start).
 * Later "incremental" fetches name only what changed - new partitions, new offsets,
 * partitions to forget - and are answered only for the partitions with records or
 * whose state changed since the last answer. h_fetch.c decides that with
 * fetch_session_part_changed(); this file keeps the sessions.
 *
 * A session keeps its partitions in answer order: a doubly linked list through the
 * dense parts[] array (Kafka answers in that order and moves a partition that
 * returned records to the end, so that no partition starves behind others under a
 * byte limit). Two open-addressing tables find a partition by (topic, partition)
 * and a topic by its key - its 16-byte id in a session of Fetch v13+, else its
 * name - so each request costs time in proportion to what it names, not to the
 * session's size.
 *
 * Bounds, because every quantity here is chosen by peers: at most `slots` sessions
 * (max.incremental.fetch.session.cache.slots), FETCH_SESSION_MAX_PARTS partitions in
 * one, FETCH_SESSIONS_PER_OWNER per connection, and FETCH_SESSIONS_MAX_BYTES of
 * memory for all of them. A new session that does not fit evicts, as Kafka's cache
 * does: first a session idle for FETCH_SESSION_EVICT_MS, else the smallest session
 * if the new one is larger; otherwise it is not created and the client goes on
 * with full fetches (session id 0), which is always correct. A connection past its
 * own count replaces its least recently used session. A session that would grow
 * past its bounds is closed: the client sees FETCH_SESSION_ID_NOT_FOUND and starts
 * over with a full fetch.
 *
 * Everything runs on the loop thread. A parked fetch holds a reference (refs) so
 * that eviction never frees a session under it; an evicted session is only
 * unlinked from the cache.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/xalloc.h"

#define EMPTY_SLOT 0 /* table entries hold index + 1 */

static uint32_t hash_bytes(const void *p, size_t n, uint32_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static uint32_t part_hash(int32_t topic, int32_t partition)
{
    uint32_t h = hash_bytes(&topic, sizeof topic, 2166136261u);
    return hash_bytes(&partition, sizeof partition, h);
}

static uint32_t topic_hash(const struct fetch_session *s, const uint8_t id[16], struct kstr name)
{
    if (s->by_id)
        return hash_bytes(id, 16, 2166136261u);
    return hash_bytes(name.p ? name.p : "", name.len > 0 ? (size_t)name.len : 0, 2166136261u);
}

static bool topic_is(const struct fetch_session *s, const struct fetch_session_topic *t,
                     const uint8_t id[16], struct kstr name)
{
    if (s->by_id)
        return memcmp(t->id, id, 16) == 0;
    return name.len >= 0 && (size_t)name.len == strlen(t->name) &&
           memcmp(t->name, name.p ? name.p : "", (size_t)name.len) == 0;
}

/* Memory a session holds, for the cache's byte bound. */
static size_t session_bytes(const struct fetch_session *s)
{
    return sizeof *s + (size_t)s->cap_parts * sizeof *s->parts +
           (size_t)s->cap_topics * sizeof *s->topics + s->name_bytes +
           (s->pindex_cap + s->tindex_cap) * sizeof(int32_t);
}

/* Rebuild the partition table with room for twice the partitions. */
static void session_reindex_parts(struct fetch_session *s)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)s->cap_parts)
        cap *= 2;
    free(s->pindex);
    s->pindex = xcalloc(cap, sizeof *s->pindex);
    s->pindex_cap = cap;
    for (int32_t i = 0; i < s->n_parts; i++) {
        size_t at = part_hash(s->parts[i].topic, s->parts[i].partition) & (cap - 1);
        while (s->pindex[at] != EMPTY_SLOT)
            at = (at + 1) & (cap - 1);
        s->pindex[at] = i + 1;
    }
}

static void session_reindex_topics(struct fetch_session *s)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)s->cap_topics)
        cap *= 2;
    free(s->tindex);
    s->tindex = xcalloc(cap, sizeof *s->tindex);
    s->tindex_cap = cap;
    for (int32_t i = 0; i < s->n_topics; i++) {
        const struct fetch_session_topic *t = &s->topics[i];
        size_t at = topic_hash(s, t->id, kstr_from(t->name)) & (cap - 1);
        while (s->tindex[at] != EMPTY_SLOT)
            at = (at + 1) & (cap - 1);
        s->tindex[at] = i + 1;
    }
}

int32_t fetch_session_topic_find(const struct fetch_session *s, const uint8_t id[16],
                                 struct kstr name)
{
    if (!s->tindex_cap)
        return -1;
    size_t at = topic_hash(s, id, name) & (s->tindex_cap - 1);
    for (; s->tindex[at] != EMPTY_SLOT; at = (at + 1) & (s->tindex_cap - 1))
        if (topic_is(s, &s->topics[s->tindex[at] - 1], id, name))
            return s->tindex[at] - 1;
    return -1;
}

int32_t fetch_session_part_find(const struct fetch_session *s, int32_t topic, int32_t partition)
{
    if (!s->pindex_cap || topic < 0)
        return -1;
    size_t at = part_hash(topic, partition) & (s->pindex_cap - 1);
    for (; s->pindex[at] != EMPTY_SLOT; at = (at + 1) & (s->pindex_cap - 1)) {
        const struct fetch_session_part *p = &s->parts[s->pindex[at] - 1];
        if (p->topic == topic && p->partition == partition)
            return s->pindex[at] - 1;
    }
    return -1;
}

/* The topic's index, added when new. */
static int32_t session_topic_add(struct fetch_session *s, const uint8_t id[16], struct kstr name)
{
    int32_t i = fetch_session_topic_find(s, id, name);
    if (i >= 0)
        return i;
    if (s->n_topics == s->cap_topics) {
        s->cap_topics = s->cap_topics ? 2 * s->cap_topics : 4;
        s->topics = xrealloc(s->topics, (size_t)s->cap_topics * sizeof *s->topics);
        session_reindex_topics(s);
    }
    struct fetch_session_topic *t = &s->topics[s->n_topics];
    memset(t, 0, sizeof *t);
    if (s->by_id) {
        memcpy(t->id, id, 16);
    } else {
        size_t n = name.len > 0 ? (size_t)name.len : 0;
        t->name = xmalloc(n + 1);
        memcpy(t->name, name.p ? name.p : "", n);
        t->name[n] = 0;
        s->name_bytes += n + 1;
    }
    size_t at = topic_hash(s, id, name) & (s->tindex_cap - 1);
    while (s->tindex[at] != EMPTY_SLOT)
        at = (at + 1) & (s->tindex_cap - 1);
    s->tindex[at] = ++s->n_topics;
    return s->n_topics - 1;
}

static void order_unlink(struct fetch_session *s, int32_t i)
{
    struct fetch_session_part *p = &s->parts[i];
    if (p->prev >= 0)
        s->parts[p->prev].next = p->next;
    else
        s->head = p->next;
    if (p->next >= 0)
        s->parts[p->next].prev = p->prev;
    else
        s->tail = p->prev;
    p->prev = p->next = -1;
}

static void order_append(struct fetch_session *s, int32_t i)
{
    struct fetch_session_part *p = &s->parts[i];
    p->prev = s->tail;
    p->next = -1;
    if (s->tail >= 0)
        s->parts[s->tail].next = i;
    else
        s->head = i;
    s->tail = i;
}

void fetch_session_move_last(struct fetch_session *s, int32_t i)
{
    if (s->tail == i)
        return;
    order_unlink(s, i);
    order_append(s, i);
}

int fetch_session_set(struct fetch_sessions *c, struct fetch_session *s, const uint8_t id[16],
                      struct kstr name, int32_t partition, int64_t fetch_offset, int32_t max_bytes)
{
    int32_t topic = fetch_session_topic_find(s, id, name);
    int32_t i = fetch_session_part_find(s, topic, partition);
    if (i >= 0) {
        s->parts[i].fetch_offset = fetch_offset;
        s->parts[i].max_bytes = max_bytes;
        return 0;
    }
    if (s->n_parts >= FETCH_SESSION_MAX_PARTS)
        return -E2BIG;
    size_t before = session_bytes(s);
    topic = session_topic_add(s, id, name);
    if (s->n_parts == s->cap_parts) {
        s->cap_parts = s->cap_parts ? 2 * s->cap_parts : 8;
        s->parts = xrealloc(s->parts, (size_t)s->cap_parts * sizeof *s->parts);
        session_reindex_parts(s);
    }
    i = s->n_parts++;
    s->parts[i] = (struct fetch_session_part){.topic = topic,
                                              .partition = partition,
                                              .fetch_offset = fetch_offset,
                                              .max_bytes = max_bytes,
                                              .high_watermark = -1,
                                              .log_start = -1,
                                              .prev = -1,
                                              .next = -1};
    size_t at = part_hash(topic, partition) & (s->pindex_cap - 1);
    while (s->pindex[at] != EMPTY_SLOT)
        at = (at + 1) & (s->pindex_cap - 1);
    s->pindex[at] = i + 1;
    order_append(s, i);
    if (s->cached)
        c->bytes += session_bytes(s) - before;
    return c->bytes > c->max_bytes ? -E2BIG : 0;
}

/* Drop the topics no partition names any more (so that adding and forgetting many
 * topics cannot grow a session), renumbering the partitions' topic indexes. */
static void session_compact_topics(struct fetch_session *s)
{
    int32_t *map = xmalloc((size_t)s->n_topics * sizeof *map);
    for (int32_t t = 0; t < s->n_topics; t++)
        map[t] = -1;
    for (int32_t i = 0; i < s->n_parts; i++)
        map[s->parts[i].topic] = 0;
    int32_t n = 0;
    for (int32_t t = 0; t < s->n_topics; t++) {
        if (map[t] < 0) {
            if (s->topics[t].name)
                s->name_bytes -= strlen(s->topics[t].name) + 1;
            free(s->topics[t].name);
            continue;
        }
        map[t] = n;
        s->topics[n++] = s->topics[t];
    }
    s->n_topics = n;
    for (int32_t i = 0; i < s->n_parts; i++)
        s->parts[i].topic = map[s->parts[i].topic];
    free(map);
    session_reindex_topics(s);
    session_reindex_parts(s);
}

void fetch_session_forget(struct fetch_sessions *c, struct fetch_session *s, const uint8_t id[16],
                          struct kstr name, int32_t partition)
{
    int32_t i = fetch_session_part_find(s, fetch_session_topic_find(s, id, name), partition);
    if (i < 0)
        return;
    size_t before = session_bytes(s);
    order_unlink(s, i);
    int32_t last = --s->n_parts;
    if (i != last) { /* keep parts[] dense: the last partition takes the hole */
        s->parts[i] = s->parts[last];
        struct fetch_session_part *p = &s->parts[i];
        if (p->prev >= 0)
            s->parts[p->prev].next = i;
        else
            s->head = i;
        if (p->next >= 0)
            s->parts[p->next].prev = i;
        else
            s->tail = i;
    }
    if (s->n_topics > s->n_parts + 64)
        session_compact_topics(s);
    else
        session_reindex_parts(s);
    if (s->cached)
        c->bytes -= before - session_bytes(s);
}

bool fetch_session_part_changed(struct fetch_session_part *p, int16_t error, int64_t hw,
                                int64_t log_start, bool has_records)
{
    bool changed =
        has_records || error != KAFKA_NONE || p->high_watermark != hw || p->log_start != log_start;
    p->high_watermark = error != KAFKA_NONE ? -1 : hw; /* an error is answered again once gone */
    p->log_start = log_start;
    return changed;
}

void fetch_session_next_epoch(struct fetch_session *s)
{
    s->epoch = s->epoch == INT32_MAX ? 1 : s->epoch + 1;
}

static void session_free(struct fetch_session *s)
{
    for (int32_t t = 0; t < s->n_topics; t++)
        free(s->topics[t].name);
    free(s->topics);
    free(s->parts);
    free(s->pindex);
    free(s->tindex);
    free(s);
}

/* Take s out of the cache; it is freed once no fetch holds it. */
static void cache_unlink(struct fetch_sessions *c, int at)
{
    struct fetch_session *s = c->all[at];
    c->bytes -= session_bytes(s);
    c->all[at] = c->all[--c->n];
    s->cached = false;
    if (s->refs == 0)
        session_free(s);
}

void fetch_session_put(struct fetch_session *s)
{
    if (s && --s->refs == 0 && !s->cached)
        session_free(s);
}

static int cache_find(const struct fetch_sessions *c, int32_t id)
{
    for (int i = 0; i < c->n; i++)
        if (c->all[i]->id == id)
            return i;
    return -1;
}

void fetch_sessions_remove(struct fetch_sessions *c, int32_t id)
{
    int at = cache_find(c, id);
    if (at >= 0)
        cache_unlink(c, at);
}

int16_t fetch_sessions_find(struct fetch_sessions *c, int32_t id, int32_t epoch, bool by_id,
                            int64_t now_ms, struct fetch_session **out)
{
    *out = NULL;
    int at = cache_find(c, id);
    if (at < 0)
        return KAFKA_FETCH_SESSION_ID_NOT_FOUND;
    struct fetch_session *s = c->all[at];
    if (s->epoch != epoch)
        return KAFKA_INVALID_FETCH_SESSION_EPOCH;
    if (s->by_id != by_id)
        return KAFKA_FETCH_SESSION_TOPIC_ID_ERROR; /* ids and names do not mix */
    s->used_ms = now_ms;
    *out = s;
    return KAFKA_NONE;
}

/* Room for one more session of `parts` partitions from owner: evict what Kafka's
 * rule allows. */
static bool cache_make_room(struct fetch_sessions *c, uint64_t owner, int32_t parts, size_t bytes,
                            int64_t now_ms)
{
    int mine = 0, my_oldest = -1;
    for (int i = 0; i < c->n; i++) {
        if (c->all[i]->owner != owner)
            continue;
        mine++;
        if (my_oldest < 0 || c->all[i]->used_ms < c->all[my_oldest]->used_ms)
            my_oldest = i;
    }
    if (mine >= FETCH_SESSIONS_PER_OWNER)
        cache_unlink(c, my_oldest);
    while (c->n > 0 && (c->n >= c->slots || c->bytes + bytes > c->max_bytes)) {
        int stale = -1, smallest = -1;
        for (int i = 0; i < c->n; i++) {
            const struct fetch_session *s = c->all[i];
            if (now_ms - s->used_ms > FETCH_SESSION_EVICT_MS &&
                (stale < 0 || s->used_ms < c->all[stale]->used_ms))
                stale = i;
            if (smallest < 0 || s->n_parts < c->all[smallest]->n_parts)
                smallest = i;
        }
        if (stale >= 0)
            cache_unlink(c, stale);
        else if (c->all[smallest]->n_parts < parts)
            cache_unlink(c, smallest);
        else
            return false;
    }
    return c->n < c->slots && c->bytes + bytes <= c->max_bytes;
}

/* A random positive id no session has. */
static int32_t cache_new_id(struct fetch_sessions *c)
{
    for (;;) {
        c->rng = c->rng * 6364136223846793005ull + 1442695040888963407ull;
        int32_t id = (int32_t)((c->rng >> 33) & 0x7fffffff);
        if (id != 0 && cache_find(c, id) < 0)
            return id;
    }
}

int fetch_sessions_create(struct fetch_sessions *c, uint64_t owner, bool by_id, int32_t parts,
                          int64_t now_ms, struct fetch_session **out)
{
    *out = NULL;
    if (c->slots <= 0 || parts <= 0 || parts > FETCH_SESSION_MAX_PARTS)
        return -ENOSPC;
    /* what the partitions will take at least: a part and two table entries each */
    size_t bytes = sizeof(struct fetch_session) +
                   (size_t)parts * (sizeof(struct fetch_session_part) + 4 * sizeof(int32_t));
    if (!cache_make_room(c, owner, parts, bytes, now_ms))
        return -ENOSPC;
    if (!c->all)
        c->all = xcalloc((size_t)c->slots, sizeof *c->all);
    struct fetch_session *s = xcalloc(1, sizeof *s);
    s->id = cache_new_id(c);
    s->epoch = 1; /* the epoch of the first incremental fetch */
    s->by_id = by_id;
    s->owner = owner;
    s->created_ms = s->used_ms = now_ms;
    s->head = s->tail = -1;
    session_reindex_topics(s);
    session_reindex_parts(s);
    s->cached = true;
    c->all[c->n++] = s;
    c->bytes += session_bytes(s);
    *out = s;
    return 0;
}

void fetch_sessions_init(struct fetch_sessions *c, int slots, size_t max_bytes, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->slots = slots;
    c->max_bytes = max_bytes;
    c->rng = seed | 1;
}

void fetch_sessions_release(struct fetch_sessions *c)
{
    while (c->n > 0)
        cache_unlink(c, c->n - 1);
    free(c->all);
    c->all = NULL;
}
