/*
 * compact.c - the cleaner: log compaction for cleanup.policy=compact topics.
 *
 * The log-structured merge of brook. For a partition whose dirty part (closed
 * segments past the cleaner checkpoint) is at least min.cleanable.dirty.ratio of
 * its closed bytes:
 *
 *  1. Map: read the dirty segments and remember, per key, the newest offset
 *     (keys are hashed to 128 bits, as Kafka hashes them with MD5).
 *  2. Rewrite: every closed segment, from the log start, is copied batch by batch
 *     keeping only records that are the newest for their key; tombstones older
 *     than delete.retention.ms go too. A batch keeps its base offset, offset span
 *     and producer fields; a batch with nothing left is dropped. Consecutive
 *     segments are merged while the sum of their sizes fits in segment.bytes and
 *     their offsets span at most INT32_MAX (what an index entry can express).
 *  3. Checkpoint (store_checkpoints_write): the cleaner checkpoint moves past the
 *     segments rewritten below, before any of them is swapped in, so that every
 *     gap in offsets on disk lies below it (recovery allows gaps only there).
 *  4. Swap, crash-safely, per group of segments whose first base is X:
 *       write X.log.cleaned, fdatasync;  rename it to X.log.swap, fsync the dir
 *       (the commit point); swap the segments in memory; remove X's indexes and the
 *       group's other segments; rename X.log.swap to X.log; fsync; write indexes.
 *     At start, compact_recover_dir() deletes *.cleaned and completes any *.swap.
 *
 * Transactions (txn.c): a marker is kept while its transaction has data left, and
 * after that until delete.retention.ms has passed (Kafka's rule); data of an
 * aborted transaction is removed; data of a transaction not yet decided, or aborted, never enters
 * the map, so it never makes the cleaner drop an older record of its key. The group's .txnindex
 * entries are written to X.txnindex before the commit point.
 *
 * Only closed segments that are durable are touched (a record is dropped only for a
 * newer one already on disk), and the in-memory swap is one short critical
 * section, so appends and reads never wait for the cleaner. Readers that hold a
 * slice of an old segment keep reading it through their duplicated descriptor.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/fileio.h"
#include "lib/grow.h"
#include "lib/sysio.h"
#include "lib/writer.h"
#include "proto/record.h"
#include "store/private.h"

#define MAP_MAX_ENTRIES (4u << 20) /* 96 MiB of map at most */
#define OUT_FLUSH       (1u << 20)

/* ---- the offset map: 128-bit key hash -> newest offset ---- */

struct map_slot {
    uint64_t h1, h2; /* h1 == 0 && h2 == 0 marks an empty slot */
    int64_t offset;
};

struct offset_map {
    struct map_slot *slots;
    size_t cap, n;
    struct store_partition *p; /* whose transactions decide what is mapped */
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t hash64(const uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v = 0;
        for (int k = 0; k < 8; k++)
            v |= (uint64_t)p[i + (size_t)k] << (8 * k);
        h = mix64(h ^ mix64(v + seed));
    }
    uint64_t tail = 0;
    for (int k = 0; i < n; i++, k++)
        tail |= (uint64_t)p[i] << (8 * k);
    return mix64(h ^ mix64(tail ^ 0x5bd1e9955bd1e995ULL));
}

static void key_hash(const uint8_t *key, size_t n, uint64_t *h1, uint64_t *h2)
{
    *h1 = hash64(key, n, 0x243f6a8885a308d3ULL);
    *h2 = hash64(key, n, 0x13198a2e03707344ULL) | 1; /* never both zero */
}

static struct map_slot *map_slot(struct offset_map *m, uint64_t h1, uint64_t h2)
{
    size_t i = (size_t)h1 & (m->cap - 1);
    while (m->slots[i].h2 && (m->slots[i].h1 != h1 || m->slots[i].h2 != h2))
        i = (i + 1) & (m->cap - 1);
    return &m->slots[i];
}

static int map_put(struct offset_map *m, uint64_t h1, uint64_t h2, int64_t offset)
{
    if (2 * (m->n + 1) > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        struct map_slot *old = m->slots;
        size_t oldcap = m->cap;
        m->slots = calloc(cap, sizeof *m->slots);
        if (!m->slots) {
            m->slots = old;
            return -ENOMEM;
        }
        m->cap = cap;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].h2)
                *map_slot(m, old[i].h1, old[i].h2) = old[i];
        free(old);
    }
    struct map_slot *s = map_slot(m, h1, h2);
    if (!s->h2)
        m->n++;
    *s = (struct map_slot){h1, h2, offset};
    return 0;
}

static int64_t map_get(struct offset_map *m, const uint8_t *key, size_t n)
{
    uint64_t h1, h2;
    key_hash(key, n, &h1, &h2);
    struct map_slot *s = map_slot(m, h1, h2);
    return s->h2 ? s->offset : -1;
}

/* ---- a private copy of the closed segments' state ---- */

struct seg_view {
    int64_t base, size, next_offset, max_ts;
    int64_t first_ts;      /* largest timestamp of its first batch */
    const char *dir;       /* the partition's */
    struct fdcache *cache; /* for the descriptor each_batch() opens */
};

static void views_free(struct seg_view *v, size_t n)
{
    (void)n;
    free(v);
}

/*
 * Closed segments that are older than min.compaction.lag.ms and durable, in order.
 * A record may only be dropped for a newer one of its key that is on disk: the
 * groups are swapped one by one, and a power failure between two swaps would
 * otherwise leave neither the old record (cleaned away) nor the newer one (in a
 * rolled segment the flusher had not synced yet).
 */
static int views_take(struct store_partition *p, const struct topic_config *tc, int64_t now,
                      struct seg_view **out, size_t *n)
{
    int64_t durable = LOAD(p->durable);
    pthread_mutex_lock(&p->segs_mu);
    size_t cnt = p->nsegs - 1;
    struct seg_view *v = calloc(cnt ? cnt : 1, sizeof *v);
    int rc = v ? 0 : -ENOMEM;
    size_t k = 0;
    for (; !rc && k < cnt; k++) {
        const struct segment *seg = p->segs[k];
        if (seg->max_ts > now - tc->min_compaction_lag_ms || seg->next_offset > durable)
            break;
        v[k] = (struct seg_view){seg->base,
                                 seg->size,
                                 seg->next_offset,
                                 seg->max_ts,
                                 seg->n_tidx ? seg->tidx[0].ts : seg->max_ts,
                                 p->dir,
                                 seg->cache};
    }
    pthread_mutex_unlock(&p->segs_mu);
    if (rc) {
        views_free(v, k);
        return rc;
    }
    *out = v;
    *n = k;
    return 0;
}

/* Call fn for each whole batch of a segment view, read in large chunks. */
typedef int (*batch_fn)(void *arg, uint8_t *batch, size_t len, const struct batch_header *h);

static int each_batch(const struct seg_view *sv, batch_fn fn, void *arg)
{
    uint8_t *buf = NULL;
    size_t cap = 0;
    char path[4096];
    /* a descriptor of its own, one segment at a time: views hold none, so a cleaning
     * of thousands of segments needs no more descriptors than one of two */
    int rc = segment_path(path, sizeof path, sv->dir, sv->base, ".log");
    int fd = rc ? rc : fdcache_open_path(sv->cache, path, O_RDONLY, 0);
    if (fd < 0)
        return fd == -ENOENT ? -ESTALE : fd; /* removed under us (DeleteRecords) */
    for (int64_t pos = 0; pos < sv->size && !rc;) {
        size_t want = (size_t)(sv->size - pos < OUT_FLUSH ? sv->size - pos : OUT_FLUSH);
        struct batch_header h;
        uint8_t head[BATCH_HEADER_SIZE];
        if ((rc = file_pread_all(fd, head, sizeof head, pos)) ||
            (rc = batch_header_parse(head, sizeof head, &h)))
            break;
        size_t size = BATCH_LOG_OVERHEAD + (size_t)h.length;
        if (size < BATCH_HEADER_SIZE || (int64_t)size > sv->size - pos) {
            rc = -EBADMSG;
            break;
        }
        if (want < size)
            want = size;
        if (want > cap) {
            uint8_t *nb = realloc(buf, want);
            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            buf = nb;
            cap = want;
        }
        if ((rc = file_pread_all(fd, buf, want, pos)))
            break;
        size_t off = 0; /* every whole batch in the chunk */
        while (!rc && off + BATCH_HEADER_SIZE <= want) {
            if ((rc = batch_header_parse(buf + off, want - off, &h)))
                break;
            size = BATCH_LOG_OVERHEAD + (size_t)h.length;
            if (size < BATCH_HEADER_SIZE || off + size > want)
                break;
            rc = fn(arg, buf + off, size, &h);
            off += size;
        }
        pos += (int64_t)off;
        if (!off && !rc)
            rc = -EBADMSG;
    }
    sysio.close(fd);
    free(buf);
    return rc;
}

/* ---- step 1: build the map ---- */

/* Whether a transactional batch is known committed: below the last stable offset
 * and not in an aborted transaction. */
static bool txn_committed(struct store_partition *p, const struct batch_header *h)
{
    return h->base_offset + h->last_offset_delta < store_partition_last_stable(p) &&
           !txn_aborted_at(p, h->producer_id, h->base_offset);
}

/* Whether a batch is aborted transactional data, which the cleaner removes (its
 * marker and index entry stay, so nothing is shown differently). */
static bool txn_aborted_data(struct store_partition *p, const struct batch_header *h)
{
    return (h->attributes & (BATCH_ATTR_TRANSACTIONAL | BATCH_ATTR_CONTROL)) ==
               BATCH_ATTR_TRANSACTIONAL &&
           h->base_offset + h->last_offset_delta < store_partition_last_stable(p) &&
           txn_aborted_at(p, h->producer_id, h->base_offset);
}

static int map_batch(void *arg, uint8_t *batch, size_t len, const struct batch_header *h)
{
    struct offset_map *m = arg;
    if (h->attributes & BATCH_ATTR_CONTROL)
        return 0;
    /* data of a transaction not decided yet, or aborted, supersedes nothing */
    if ((h->attributes & BATCH_ATTR_TRANSACTIONAL) && !txn_committed(m->p, h))
        return 0;
    struct batch_iter it;
    struct record r;
    int rc = batch_iter_init(&it, batch, len, &batch_limits_default, false);
    while (!rc && (rc = batch_iter_next(&it, &r)) == 1) {
        rc = 0;
        if (r.key_len < 0)
            continue;
        uint64_t h1, h2;
        key_hash(r.key, (size_t)r.key_len, &h1, &h2);
        rc = map_put(m, h1, h2, r.offset);
    }
    batch_iter_release(&it);
    return rc;
}

/* ---- step 2: rewrite a group of segments into one .cleaned file ---- */

struct cleaner {
    struct offset_map *map;
    struct store_partition *p;
    struct hmap txn_data;      /* producer id -> (any): its transaction has data kept */
    int64_t tombstone_horizon; /* tombstones older than this are dropped */
    int fd;                    /* the .cleaned file */
    struct writer out;         /* pending bytes not yet written */
    int64_t written;           /* bytes written to fd */
    struct segment *seg;       /* the new segment being indexed */
    int64_t index_interval;
    struct record_header *hdrs;
    size_t cap_hdrs;
};

static int out_flush(struct cleaner *c)
{
    if (!c->out.len)
        return c->out.err;
    int rc = c->out.err ? c->out.err : file_pwrite_all(c->fd, c->out.buf, c->out.len, c->written);
    c->written += (int64_t)c->out.len;
    writer_reset(&c->out);
    return rc;
}

static int out_batch(struct cleaner *c, const uint8_t *batch, size_t len,
                     const struct batch_header *h)
{
    int64_t pos = c->written + (int64_t)c->out.len;
    int rc = segment_note_batch(c->seg, pos, h->base_offset, h->max_timestamp, (int64_t)len,
                                c->index_interval);
    if (rc)
        return rc;
    writer_bytes(&c->out, batch, len);
    c->seg->size = pos + (int64_t)len;
    c->seg->next_offset = h->base_offset + h->last_offset_delta + 1;
    return c->out.len >= OUT_FLUSH ? out_flush(c) : c->out.err;
}

static bool keep_record(struct cleaner *c, const struct record *r)
{
    if (r->key_len >= 0 && map_get(c->map, r->key, (size_t)r->key_len) > r->offset)
        return false; /* a newer record has this key */
    if (r->value_len < 0 && r->timestamp < c->tombstone_horizon)
        return false; /* an expired tombstone */
    return true;
}

static int collect_headers(struct cleaner *c, const struct record *r)
{
    if ((size_t)r->headers_count > c->cap_hdrs) {
        struct record_header *v = realloc(c->hdrs, (size_t)r->headers_count * sizeof *v);
        if (!v)
            return -ENOMEM;
        c->hdrs = v;
        c->cap_hdrs = (size_t)r->headers_count;
    }
    struct reader hr = r->headers;
    for (int32_t i = 0; i < r->headers_count; i++)
        if (record_header_next(&hr, &c->hdrs[i]) != 1)
            return -EBADMSG;
    return 0;
}

/* Rebuild a batch from its kept records, same base offset and span. */
static int rebuild(struct cleaner *c, const uint8_t *batch, size_t len,
                   const struct batch_header *h, int32_t kept)
{
    struct batch_builder b;
    struct batch_iter it;
    struct record r;
    struct writer w;
    size_t max = batch_limits_default.max_decompressed + 4096;
    batch_builder_init(&b, (enum codec)(h->attributes & BATCH_ATTR_CODEC_MASK), max);
    b.producer_id = h->producer_id;
    b.producer_epoch = h->producer_epoch;
    b.base_sequence = h->base_sequence;
    b.attributes = (int16_t)(h->attributes & ~BATCH_ATTR_CODEC_MASK);
    writer_init(&w, max + BATCH_HEADER_SIZE);
    int rc = batch_iter_init(&it, batch, len, &batch_limits_default, false);
    while (!rc && (rc = batch_iter_next(&it, &r)) == 1) {
        rc = 0;
        if (!keep_record(c, &r))
            continue;
        if (!(rc = collect_headers(c, &r)))
            rc = batch_builder_add_at(&b, (int32_t)(r.offset - h->base_offset), r.timestamp, r.key,
                                      r.key_len, r.value, r.value_len, c->hdrs, r.headers_count);
    }
    if (!rc && kept > 0)
        rc = batch_builder_finish(&b, h->last_offset_delta, &w);
    if (!rc && kept > 0) {
        struct batch_header nh;
        batch_set_base_offset(w.buf, h->base_offset);
        batch_set_leader_epoch(w.buf, STORE_LEADER_EPOCH);
        rc = batch_header_parse(w.buf, w.len, &nh);
        if (!rc)
            rc = out_batch(c, w.buf, w.len, &nh);
    }
    batch_iter_release(&it);
    batch_builder_release(&b);
    writer_release(&w);
    return rc;
}

/* Kafka's rule for a marker: kept while its transaction has data left in the log
 * (a batch of its producer kept since the producer's previous marker: the cleaner
 * walks the closed segments from the log start, in order), or while it is younger
 * than delete.retention.ms; then it goes, since it decides nothing any more. */
static bool marker_kept(struct cleaner *c, const struct batch_header *h)
{
    bool data = hmap_del(&c->txn_data, &h->producer_id, sizeof h->producer_id) != NULL;
    return data || h->max_timestamp >= c->tombstone_horizon;
}

static int clean_batch(void *arg, uint8_t *batch, size_t len, const struct batch_header *h)
{
    struct cleaner *c = arg;
    if (h->attributes & BATCH_ATTR_CONTROL)
        return marker_kept(c, h) ? out_batch(c, batch, len, h) : 0;
    if (txn_aborted_data(c->p, h))
        return 0;
    struct batch_iter it;
    struct record r;
    int32_t total = 0, kept = 0;
    int rc = batch_iter_init(&it, batch, len, &batch_limits_default, false);
    while (!rc && (rc = batch_iter_next(&it, &r)) == 1) {
        rc = 0;
        total++;
        kept += keep_record(c, &r);
    }
    batch_iter_release(&it);
    if (rc || kept == 0)
        return rc;
    if ((h->attributes & BATCH_ATTR_TRANSACTIONAL) &&
        (rc = hmap_put(&c->txn_data, &h->producer_id, sizeof h->producer_id, c)))
        return rc; /* its transaction has data left: its marker stays */
    if (kept == total)
        return out_batch(c, batch, len, h);
    return rebuild(c, batch, len, h, kept);
}

/* ---- step 3: swap ---- */

/* Replace the in-memory segments with bases in [first, last] by seg. */
static int swap_in_memory(struct store_partition *p, int64_t first, int64_t last,
                          struct segment *seg)
{
    pthread_mutex_lock(&p->segs_mu);
    size_t i = 0;
    while (i < p->nsegs && p->segs[i]->base < first)
        i++;
    size_t j = i;
    while (j + 1 < p->nsegs && p->segs[j]->base <= last) /* never the active one */
        j++;
    if (i == p->nsegs || p->segs[i]->base != first || j == i) {
        pthread_mutex_unlock(&p->segs_mu);
        return -ESTALE; /* the segments changed under us (DeleteRecords) */
    }
    int64_t old_size = 0;
    for (size_t k = i; k < j; k++) {
        old_size += p->segs[k]->size;
        segment_free(p->segs[k]);
    }
    p->segs[i] = seg;
    memmove(p->segs + i + 1, p->segs + j, (p->nsegs - j) * sizeof *p->segs);
    p->nsegs -= j - i - 1;
    atomic_fetch_add_explicit(&p->size_bytes, seg->size - old_size, memory_order_relaxed);
    pthread_mutex_unlock(&p->segs_mu);
    return 0;
}

static int unlink_ext(const char *dir, int64_t base, const char *ext)
{
    char path[4096];
    int rc = segment_path(path, sizeof path, dir, base, ext);
    if (!rc && sysio.unlink(path) && errno != ENOENT)
        rc = -errno;
    return rc;
}

/* Finish a committed swap on disk: X.log.swap replaces X.log and the segments it
 * covered. `others` are the bases of those other segments. */
static int swap_on_disk(const char *dir, int64_t base, const int64_t *others, size_t n)
{
    char from[4096], to[4096];
    int rc = unlink_ext(dir, base, ".index");
    if (!rc)
        rc = unlink_ext(dir, base, ".timeindex");
    for (size_t i = 0; i < n && !rc; i++)
        rc = segment_remove_files(dir, others[i]);
    if (!rc)
        rc = segment_path(from, sizeof from, dir, base, ".log.swap");
    if (!rc)
        rc = segment_path(to, sizeof to, dir, base, ".log");
    if (!rc && sysio.rename(from, to))
        rc = -errno;
    if (!rc)
        rc = dir_fsync(dir, 1);
    return rc;
}

/* Clean segments v[0..n) into one new segment and swap it in. */
static int clean_group(struct store_partition *p, struct cleaner *c, const struct seg_view *v,
                       size_t n)
{
    char cleaned[4096], swap[4096];
    int rc = segment_path(cleaned, sizeof cleaned, p->dir, v[0].base, ".log.cleaned");
    if (!rc)
        rc = segment_path(swap, sizeof swap, p->dir, v[0].base, ".log.swap");
    if (rc)
        return rc;
    c->fd = fdcache_open_path(&p->topic->store->fds, cleaned, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (c->fd < 0)
        return c->fd;
    c->written = 0;
    writer_reset(&c->out);
    c->seg = calloc(1, sizeof *c->seg);
    if (!c->seg) {
        rc = -ENOMEM;
        goto err_file;
    }
    *c->seg = (struct segment){
        .base = v[0].base, .fd = -1, .next_offset = v[0].base, .max_ts = -1, .created_ms = -1};
    for (size_t i = 0; i < n && !rc; i++)
        rc = each_batch(&v[i], clean_batch, c);
    if (!rc)
        rc = out_flush(c);
    if (!rc && sysio.fdatasync(c->fd))
        rc = -errno;
    /* the group's aborted transactions in X.txnindex before the commit point: a
     * crash before it leaves duplicates of the others' entries, which loading drops */
    if (!rc)
        rc = txn_index_write(p, v[0].base, v[n - 1].next_offset);
    if (!rc && sysio.rename(cleaned, swap))
        rc = -errno;
    if (rc)
        goto err_file;
    /* committed: from here a crash completes the swap at the next start */
    if ((rc = dir_fsync(p->dir, 1)))
        goto err_seg; /* the .swap stays; the next start finishes it */
    /* pinned until the file has its final name: closed before, it would be opened
     * again by a name that still holds the old first segment */
    fdcache_adopt(c->seg, &p->topic->store->fds, p->dir, c->fd);
    c->fd = -1;
    struct segment *seg = c->seg;
    c->seg = NULL;
    if ((rc = swap_in_memory(p, v[0].base, v[n - 1].base, seg))) {
        fdcache_unpin(seg);
        segment_free(seg);
        return rc;
    }
    int64_t *others = malloc((n ? n : 1) * sizeof *others);
    if (!others)
        return -ENOMEM;
    for (size_t i = 1; i < n; i++)
        others[i - 1] = v[i].base;
    rc = swap_on_disk(p->dir, v[0].base, others, n - 1);
    free(others);
    if (rc) /* it stays open until the next start finishes the swap */
        seg->keep_open = true;
    fdcache_unpin(seg);
    if (!rc)
        rc = segment_write_indexes(p->dir, seg);
    return rc;
err_file:
    sysio.close(c->fd);
    c->fd = -1;
    sysio.unlink(cleaned);
err_seg:
    if (c->fd >= 0)
        sysio.close(c->fd);
    c->fd = -1;
    segment_free(c->seg);
    c->seg = NULL;
    return rc;
}

/* Whether the log is due for cleaning: dirty bytes at least min.cleanable.dirty.ratio
 * of the total, or (max.compaction.lag.ms) its oldest dirty batch older than the lag,
 * however little is dirty - Kafka's two conditions. */
static bool compaction_due(const struct store_partition *p, const struct topic_config *tc,
                           const struct seg_view *v, size_t n, int64_t now)
{
    int64_t total = 0, dirty = 0, first_dirty_ts = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        total += v[i].size;
        if (v[i].next_offset > LOAD(((struct store_partition *)p)->clean_offset)) {
            dirty += v[i].size;
            if (v[i].first_ts >= 0 && v[i].first_ts < first_dirty_ts)
                first_dirty_ts = v[i].first_ts;
        }
    }
    if (!dirty)
        return false;
    bool overdue = first_dirty_ts != INT64_MAX && now - tc->max_compaction_lag_ms > first_dirty_ts;
    return overdue || (double)dirty >= tc->min_cleanable_ratio * (double)total;
}

int partition_compact(struct store_partition *p, bool force, int64_t now)
{
    struct topic_config tcv;
    const struct topic_config *tc = &tcv;
    store_topic_config_get(p->topic, &tcv);
    if (!(tc->cleanup_policy & CLEANUP_COMPACT) || LOAD(p->topic->deleted))
        return 0;
    struct seg_view *v;
    size_t n;
    int rc = views_take(p, tc, now, &v, &n);
    if (rc)
        return rc;
    bool any_dirty = false;
    for (size_t i = 0; i < n; i++)
        any_dirty |= v[i].next_offset > LOAD(p->clean_offset);
    if (!n || !any_dirty || (!force && !compaction_due(p, tc, v, n, now))) {
        views_free(v, n);
        return 0;
    }
    struct offset_map map = {.p = p};
    size_t mapped = 0; /* segments fully in the map */
    for (size_t i = 0; i < n && !rc; i++) {
        if (v[i].next_offset <= LOAD(p->clean_offset)) {
            mapped = i + 1;
            continue;
        }
        if (map.n > MAP_MAX_ENTRIES)
            break; /* clean what is mapped now, the rest next time */
        rc = each_batch(&v[i], map_batch, &map);
        if (!rc)
            mapped = i + 1;
    }
    struct cleaner c = {
        .map = &map,
        .p = p,
        .tombstone_horizon = now - tc->delete_retention_ms,
        .fd = -1,
        .index_interval = tc->index_interval_bytes,
    };
    hmap_init(&c.txn_data);
    writer_init(&c.out, 2 * OUT_FLUSH + (size_t)tc->max_message_bytes * 2);
    if (!rc && mapped) {
        /* Checkpoint first: the cleaner checkpoint then covers every gap the swaps
         * below make, and recovery may insist that offsets follow on past it. */
        if (v[mapped - 1].next_offset > LOAD(p->clean_offset))
            STORE(p->clean_offset, v[mapped - 1].next_offset);
        rc = store_checkpoints_write(p->topic->store);
    }
    for (size_t i = 0; i < mapped && !rc;) {
        size_t j = i + 1;
        int64_t sum = v[i].size;
        /* one segment's offsets must stay within INT32_MAX of its base (the index) */
        while (j < mapped && sum + v[j].size <= tc->segment_bytes &&
               v[j].next_offset - 1 - v[i].base <= INT32_MAX)
            sum += v[j++].size;
        rc = clean_group(p, &c, v + i, j - i);
        i = j;
    }
    writer_release(&c.out);
    hmap_release(&c.txn_data);
    free(c.hdrs);
    free(map.slots);
    views_free(v, n);
    return rc ? rc : mapped > 0;
}

int store_partition_compact(struct store_partition *p)
{
    int rc = partition_compact(p, true, clock_wall_ms());
    if (rc >= 0)
        (void)store_checkpoints_write(p->topic->store);
    return rc;
}

int store_run_compaction(struct store *s)
{
    if (!s->config.cleaner_enable)
        return 0;
    size_t n;
    struct store_topic **topics = topics_get_all(s, &n);
    if (!topics)
        return -ENOMEM;
    int cleaned = 0, err = 0;
    int64_t now = clock_wall_ms();
    for (size_t i = 0; i < n; i++)
        for (int32_t k = 0; k < store_topic_partition_count(topics[i]); k++) {
            struct store_partition *p = topic_partition_opened(topics[i], k); /* as retention */
            int rc = p ? partition_compact(p, false, now) : 0;
            if (rc < 0 && !err)
                err = rc;
            cleaned += rc > 0;
        }
    topics_put_all(topics, n);
    if (cleaned)
        (void)store_checkpoints_write(s);
    return err ? err : cleaned;
}

/* ---- recovery of interrupted cleanings ---- */

/* The offset after the last whole batch in the file at path (header scan). */
static int swap_end(const char *path, int64_t base, int64_t *end)
{
    int fd = sysio.open(path, O_RDONLY, 0);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) ? -errno : 0;
    *end = base;
    struct batch_header h;
    for (int64_t pos = 0; !rc && pos < st.st_size; pos += BATCH_LOG_OVERHEAD + h.length) {
        if (segment_read_header(fd, pos, st.st_size, &h))
            break;
        *end = h.base_offset + h.last_offset_delta + 1;
    }
    sysio.close(fd);
    return rc;
}

int compact_recover_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int rc = 0;
    struct dirent *e;
    int64_t swaps[64];
    size_t nswaps = 0;
    char path[4096];
    while ((e = readdir(d)) && !rc) {
        const char *nm = e->d_name;
        int64_t base;
        if (segment_name_parse(nm, ".log.cleaned", &base)) {
            snprintf(path, sizeof path, "%s/%s", dir, nm);
            if (sysio.unlink(path) && errno != ENOENT)
                rc = -errno;
        } else if (nswaps < 64 && segment_name_parse(nm, ".log.swap", &swaps[nswaps])) {
            nswaps++;
        }
    }
    closedir(d);
    for (size_t i = 0; i < nswaps && !rc; i++) {
        int64_t end = swaps[i];
        if ((rc = segment_path(path, sizeof path, dir, swaps[i], ".log.swap")) ||
            (rc = swap_end(path, swaps[i], &end)))
            break;
        /* the segments the swap replaces: bases in (swap, end) */
        int64_t *others = NULL;
        size_t n = 0, cap = 0;
        d = opendir(dir);
        while (d && (e = readdir(d))) {
            int64_t b;
            if (!segment_name_parse(e->d_name, ".log", &b))
                continue;
            if (b > swaps[i] && b < end) {
                if ((rc = ARRAY_GROW(others, cap, n + 1)))
                    break;
                others[n++] = b;
            }
        }
        if (d)
            closedir(d);
        if (!rc)
            rc = swap_on_disk(dir, swaps[i], others, n);
        free(others);
    }
    return rc;
}
