/*
 * partition.c - one partition: append, read, durability waits, time lookups.
 *
 * Append path (append_mu held throughout, so appends to a partition are ordered):
 * validate the batch outside the lock, check idempotence, roll if the active
 * segment is full or old, rewrite baseOffset, pwrite at the segment's end, write
 * its journal entry (on failure of either, ftruncate back so nothing partial
 * stays), then publish the new size, index entries and high watermark under
 * segs_mu, commit the journal entry, mark the partition dirty for the flusher,
 * and tell the listeners.
 *
 * Read path: under segs_mu only long enough to find the segment, its published
 * size and an index hint, and to dup() its fd; the header scan that finds batch
 * boundaries runs on the duplicate without any lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/fileio.h"
#include "lib/grow.h"
#include "lib/log.h"
#include "lib/sysio.h"
#include "proto/record.h"
#include "store/private.h"

#define MAX_EXTEND_SCAN 64 /* headers read to fill a read past the index hint */

static struct store_partition *partition_new(struct store_topic *t, int32_t index)
{
    struct store_partition *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s-%d", t->store->dir, t->name, index) >=
            (int)sizeof path ||
        !(p->dir = strdup(path))) {
        free(p);
        return NULL;
    }
    p->topic = t;
    p->index = index;
    p->snapshot_at = -1;
    p->txn_first = INT64_MAX;
    pthread_mutex_init(&p->open_mu, NULL);
    pthread_mutex_init(&p->append_mu, NULL);
    pthread_mutex_init(&p->sync_mu, NULL);
    pthread_mutex_init(&p->segs_mu, NULL);
    pthread_mutex_init(&p->wait_mu, NULL);
    pthread_cond_init(&p->wait_cond, NULL);
    return p;
}

void partition_free(struct store_partition *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nsegs; i++)
        segment_free(p->segs[i]);
    struct waiter *w = p->waiters;
    while (w) { /* nobody is left to call; the store is going away */
        struct waiter *next = w->next;
        free(w);
        w = next;
    }
    free(p->unsynced);
    free(p->segs);
    producer_clear(p);
    txn_entries_free(p);
    pthread_mutex_destroy(&p->open_mu);
    pthread_mutex_destroy(&p->append_mu);
    pthread_mutex_destroy(&p->sync_mu);
    pthread_mutex_destroy(&p->segs_mu);
    pthread_mutex_destroy(&p->wait_mu);
    pthread_cond_destroy(&p->wait_cond);
    free(p->dir);
    free(p);
}

static int segs_push(struct store_partition *p, struct segment *seg)
{
    if (ARRAY_GROW(p->segs, p->cap_segs, p->nsegs + 1))
        return -ENOMEM;
    p->segs[p->nsegs++] = seg;
    return 0;
}

/* The active segment. Callers hold segs_mu, or append_mu with no other thread able
 * to change the list (only appenders, under append_mu, add segments; retention and
 * the cleaner remove others under segs_mu, so use active_locked() there). */
static struct segment *active(struct store_partition *p)
{
    return p->segs[p->nsegs - 1];
}

static struct segment *active_locked(struct store_partition *p)
{
    pthread_mutex_lock(&p->segs_mu);
    struct segment *seg = active(p);
    pthread_mutex_unlock(&p->segs_mu);
    return seg;
}

/* A partition made by CreatePartitions, its files synced. The caller syncs the log
 * directory once all the new partitions are made (one fsync per request, not one
 * per partition). */
int partition_create(struct store_topic *t, int32_t index, struct store_partition **out)
{
    struct store_partition *p = partition_new(t, index);
    if (!p)
        return -ENOMEM;
    /* an empty log has no producers: no snapshot file says just that */
    p->snapshot_at = 0;
    p->opened = true;
    struct segment *seg = NULL;
    /* the log directory exists (store_open made it): one mkdir, not one per
     * component of the path, which dir_make would try */
    int rc = sysio.mkdir(p->dir, 0755) && errno != EEXIST ? -errno : 0;
    if (!rc)
        rc = partition_meta_create(p->dir, t->id);
    if (!rc)
        rc = segment_create(&t->store->fds, p->dir, 0, &seg);
    if (!rc && (rc = segs_push(p, seg)))
        segment_free(seg);
    if (!rc)
        rc = dir_fsync(p->dir, 1);
    if (rc) {
        partition_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Base offsets of the .log files in dir, sorted. */
static int list_segments(const char *dir, int64_t **out, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int64_t *v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        int64_t base;
        if (!segment_name_parse(e->d_name, ".log", &base))
            continue;
        if ((rc = ARRAY_GROW(v, cap, cnt + 1)))
            break;
        v[cnt++] = base;
    }
    closedir(d);
    if (rc) {
        free(v);
        return rc;
    }
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_i64);
    *out = v;
    *n = cnt;
    return 0;
}

/*
 * After a crash, make what recovery kept durable before anything is acknowledged on
 * top of it. If only the process died, the segments past the recovery point may
 * hold written but never synced batches, and their directory entries (a segment
 * created by a roll, segments removed after a hole) may not be on disk either: a
 * power failure later would take them away from under records acknowledged since.
 */
static int sync_segment(struct segment *seg)
{
    int fd = fdcache_pin(seg);
    if (fd < 0)
        return fd;
    int rc = sysio.fdatasync(fd) ? -errno : 0;
    fdcache_unpin(seg);
    return rc;
}

static int sync_recovered(struct store_partition *p, size_t first_scanned)
{
    int rc = 0;
    for (size_t i = first_scanned; i < p->nsegs && !rc; i++)
        rc = sync_segment(p->segs[i]);
    if (!rc && first_scanned >= p->nsegs)
        rc = sync_segment(active(p));
    return rc ? rc : dir_fsync(p->dir, 1);
}

/* When the active segment's file was last written, for last_append_ms. */
static int64_t active_mtime_ms(struct store_partition *p)
{
    struct stat st;
    int fd = fdcache_pin(active(p));
    if (fd < 0)
        return 0;
    int64_t ms =
        fstat(fd, &st) ? 0 : (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    fdcache_unpin(active(p));
    return ms;
}

/* Open p's directory: its segments (scanning those past the recovery point after a
 * crash), offsets and producer state. */
static int partition_fill(struct store_partition *p, bool clean, bool lazy, int64_t recovery_point,
                          int64_t log_start, int64_t clean_offset)
{
    struct store_topic *t = p->topic;
    int64_t *bases = NULL;
    size_t n = 0;
    /* A partition's directory is made at its first use (parts_new_closed), and a
     * crash while an older brook created a topic could leave its metadata without
     * one: made here, with its partition.metadata synced, the names in it and its
     * own name are made durable once, after its first segment (below). */
    struct stat dst;
    bool missing = stat(p->dir, &dst) != 0;
    int rc = dir_make(p->dir);
    if (!rc) /* a directory left by another topic of this name is not this one's */
        rc = missing ? partition_meta_create(p->dir, t->id) : partition_meta_check(p->dir, t->id);
    if (!rc)
        rc = compact_recover_dir(p->dir);
    if (!rc)
        rc = segment_reap_leftovers(p->dir); /* file.delete.delay.ms cut short by a stop */
    if (!rc)
        rc = list_segments(p->dir, &bases, &n);
    if (rc)
        goto err;
    /* a copy: a lazy open runs while the broker may change the topic's config */
    struct topic_config tc;
    store_topic_config_get(t, &tc);
    bool cut = false;                /* a torn segment ends the log: later ones are removed */
    size_t first_scanned = SIZE_MAX; /* segments from here on were past the recovery point */
    /* while the store opens, what recovery does is reported (store_recovery_info);
     * a lazy partition was counted when it was registered (topic_load) */
    struct store_recovery *rec = t->store->loading && !lazy ? &t->store->recovery : NULL;
    struct store_recovery ignored = {0};
    if (!rec)
        rec = &ignored;
    rec->partitions++;
    for (size_t i = 0; i < n; i++) {
        if (cut) {
            if ((rc = segment_remove_files(p->dir, bases[i])))
                goto err;
            rec->segments_removed++;
            continue;
        }
        bool scan = !clean && (i + 1 == n || bases[i + 1] > recovery_point);
        if (scan && first_scanned == SIZE_MAX)
            first_scanned = p->nsegs;
        struct segment *seg;
        struct segment_repair rep;
        /* Compaction leaves gaps in offsets, but only in what was durable: below
         * the cleaner checkpoint and the recovery point, which the cleaner writes
         * before it swaps anything in (and which cover the gaps an earlier recovery
         * accepted). Past both, offsets follow on, so a damaged baseOffset (it is
         * outside the CRC) or a lost tail is found there as in any other topic. A
         * log without a cleaner checkpoint gets the benefit of the doubt. */
        int flags = (tc.cleanup_policy & CLEANUP_COMPACT ? SEG_GAPS : 0) |
                    (t->adopted ? SEG_NO_INDEX : SEG_EPOCH);
        int64_t gaps_below = clean_offset < 0 || t->adopted  ? INT64_MAX
                             : clean_offset > recovery_point ? clean_offset
                                                             : recovery_point;
        rc = segment_open(&t->store->fds, p->dir, bases[i], scan, flags, gaps_below,
                          tc.index_interval_bytes, &seg, &rep);
        if (rc)
            goto err;
        rec->segments_scanned += rep.scanned > 0;
        rec->bytes_scanned += rep.scanned;
        rec->bytes_cut += rep.cut;
        if ((rc = segs_push(p, seg))) {
            segment_free(seg);
            goto err;
        }
        /* A segment that ends before the next one begins lost its unsynced tail while
         * a later segment kept some of its own: the log ends at the hole, as at a torn
         * batch (nothing past it was ever durable, so nothing past it was acknowledged). */
        cut = rep.cut > 0 || (i + 1 < n && seg->next_offset < bases[i + 1] &&
                              (!(flags & SEG_GAPS) || bases[i + 1] > gaps_below));
    }
    if (p->nsegs == 0) {
        struct segment *seg;
        int64_t base = log_start > 0 ? log_start : 0;
        if ((rc = segment_create(&t->store->fds, p->dir, base, &seg)))
            goto err;
        if ((rc = segs_push(p, seg))) {
            segment_free(seg);
            goto err;
        }
        if ((rc = dir_fsync(p->dir, 1)))
            goto err;
    }
    if (missing && (rc = dir_fsync(p->dir, 0)))
        goto err;
    free(bases);
    bases = NULL;

    int64_t size = 0;
    for (size_t i = 0; i < p->nsegs; i++)
        size += p->segs[i]->size;
    p->size_bytes = size;
    p->hw = active(p)->next_offset;
    int64_t first = p->segs[0]->base;
    p->log_start = log_start > first ? log_start : first;
    if (p->log_start > p->hw)
        p->log_start = p->hw;
    p->durable = p->hw;
    p->last_append_ms = active_mtime_ms(p);
    if (!clean && (rc = sync_recovered(p, first_scanned)))
        goto err;
    if ((rc = producer_snapshot_load(p)))
        goto err;
    return 0;
err:
    free(bases);
    return rc;
}

int partition_load(struct store_topic *t, int32_t index, bool clean, int64_t recovery_point,
                   int64_t log_start, int64_t clean_offset, struct store_partition **out)
{
    struct store_partition *p = partition_new(t, index);
    if (!p)
        return -ENOMEM;
    int rc = partition_fill(p, clean, false, recovery_point, log_start, clean_offset);
    if (rc) {
        partition_free(p);
        return rc;
    }
    p->opened = true;
    *out = p;
    return 0;
}

int partition_lazy(struct store_topic *t, int32_t index, int64_t recovery_point, int64_t log_start,
                   int64_t clean_offset, struct store_partition **out)
{
    struct store_partition *p = partition_new(t, index);
    if (!p)
        return -ENOMEM;
    /* what the checkpoint writer writes back while the partition stays closed:
     * after a clean stop the recovery point is the end of the log */
    p->lazy_rp = recovery_point;
    p->durable = recovery_point;
    p->hw = recovery_point;
    p->log_start = log_start;
    p->lazy_co = clean_offset;
    p->clean_offset = clean_offset > 0 ? clean_offset : 0;
    *out = p;
    return 0;
}

bool partition_unmade(const struct store_partition *p)
{
    struct stat st;
    return !LOAD(((struct store_partition *)p)->opened) && stat(p->dir, &st) && errno == ENOENT;
}

/* Forget what a failed partition_fill() kept. */
static void partition_unfill(struct store_partition *p)
{
    for (size_t i = 0; i < p->nsegs; i++)
        segment_free(p->segs[i]);
    p->nsegs = 0;
    producer_clear(p);
    txn_entries_free(p);
}

/*
 * Opening touches only p's own directory, as it would have at start. It runs under
 * open_mu, which store_topic_delete() also takes (after marking the topic deleted)
 * before it renames the directory away: an open never races a deletion, and none
 * starts after it (it would make the directory again).
 */
int partition_open(struct store_partition *p)
{
    if (LOAD(p->opened))
        return 0;
    pthread_mutex_lock(&p->open_mu);
    int rc = 0;
    if (LOAD(p->opened))
        goto out;
    if (LOAD(p->topic->deleted)) {
        rc = -ENOENT;
        goto out;
    }
    for (;;) { /* out of descriptors: close files the cache merely keeps, try again */
        rc = partition_fill(p, true, true, p->lazy_rp, LOAD(p->log_start), p->lazy_co);
        if ((rc != -EMFILE && rc != -ENFILE) || !fdcache_evict(&p->topic->store->fds))
            break;
        partition_unfill(p);
    }
    if (!rc) {
        STORE(p->clean_offset, p->lazy_co > 0 ? p->lazy_co : 0);
        STORE(p->opened, true);
    } else {
        partition_unfill(p); /* try again at the next use */
        if (!p->open_failed) /* once, not at every request that touches it */
            log_error("brook.store", "cannot open partition %s: %s", p->dir, store_strerror(rc));
        p->open_failed = true;
    }
out:
    pthread_mutex_unlock(&p->open_mu);
    return rc;
}

/* Close the active segment and start a new one at the high watermark. Caller holds
 * append_mu. The old segment's indexes are written now; the flusher syncs it. */
int partition_roll(struct store_partition *p, int64_t now_ms)
{
    struct segment *old = active_locked(p), *seg;
    int rc = segment_write_indexes(p->dir, old);
    if (rc)
        return rc;
    if ((rc = segment_create(old->cache, p->dir, LOAD(p->hw), &seg)))
        return rc;
    pthread_mutex_lock(&p->segs_mu);
    rc = segs_push(p, seg);
    if (!rc && (rc = ARRAY_GROW(p->unsynced, p->cap_unsynced, p->n_unsynced + 1)))
        p->nsegs--;
    if (!rc) {
        p->unsynced[p->n_unsynced++] = old->base; /* the flusher syncs it by name */
        p->dir_unsynced = true;
    }
    pthread_mutex_unlock(&p->segs_mu);
    if (rc) {
        segment_remove_files(p->dir, seg->base);
        segment_free(seg);
    }
    (void)now_ms;
    return rc;
}

/* The part of the roll age taken off for this segment: below segment.jitter.ms and
 * below the age itself (as Kafka draws it), fixed per segment but different across
 * partitions (FNV-1a of directory and base), so segments created together do not
 * all roll together. */
static int64_t roll_jitter(const struct store_partition *p, const struct segment *seg,
                           int64_t jitter_ms, int64_t age_ms)
{
    if (age_ms < jitter_ms)
        jitter_ms = age_ms;
    if (jitter_ms <= 0)
        return 0;
    uint64_t h = 14695981039346656037ULL;
    for (const char *c = p->dir; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211ULL;
    h = (h ^ (uint64_t)seg->base) * 1099511628211ULL;
    return (int64_t)(h % (uint64_t)jitter_ms);
}

/* Whether the next batch starts a new segment: size, age (less its jitter), a full
 * offset or time index (segment.index.bytes), or offsets past a 32-bit delta. On a
 * compacted topic the age is at most max.compaction.lag.ms, as in Kafka: only closed
 * segments are cleaned, so the lag could not be kept otherwise. The index arrays
 * are the appender's own (append_mu held), so no segs_mu is needed. */
static bool needs_roll(struct store_partition *p, const struct topic_config *tc,
                       const struct batch_header *h, size_t len, int64_t now)
{
    struct segment *seg = active_locked(p);
    if (seg->size == 0)
        return false;
    int64_t age = tc->segment_ms;
    if ((tc->cleanup_policy & CLEANUP_COMPACT) && tc->max_compaction_lag_ms < age)
        age = tc->max_compaction_lag_ms;
    age -= roll_jitter(p, seg, tc->segment_jitter_ms, age);
    return seg->size + (int64_t)len > tc->segment_bytes || now - seg->created_ms > age ||
           (int64_t)(seg->n_idx + 1) * INDEX_ENTRY_SIZE > tc->segment_index_bytes ||
           (int64_t)(seg->n_tidx + 1) * TIME_ENTRY_SIZE > tc->segment_index_bytes ||
           LOAD(p->hw) + h->last_offset_delta - seg->base > INT32_MAX;
}

/* Write a checked batch at the high watermark (append_mu held): roll if due, stamp
 * it for LogAppendTime, write it, journal it, publish it. For a control batch
 * marker_seg is in: 1 COMMIT, 0 ABORT; out: the base of the segment it went to. */
static int partition_write(struct store_partition *p, const struct topic_config *tc, uint8_t *batch,
                           size_t len, struct batch_header *h, const struct batch_stats *st,
                           struct store_append *res, int64_t *marker_seg)
{
    struct store_topic *t = p->topic;
    int rc;
    if (LOAD(t->deleted))
        return -ENOENT;
    if (LOAD(p->failed))
        return STORE_EFAILED;
    bool marker = h->attributes & BATCH_ATTR_CONTROL;
    if (marker)
        rc = txn_marker_check(p, h);
    else
        rc = h->producer_id >= 0 ? producer_check(p, h, res) : 0;
    if (rc)
        return rc;
    int64_t now = clock_wall_ms();
    if (needs_roll(p, tc, h, len, now) && (rc = partition_roll(p, now)))
        return rc;
    if (tc->timestamp_type == TIMESTAMP_LOG_APPEND) {
        ingest_stamp_append_time(batch, len, now);
        h->max_timestamp = now;
    }

    struct segment *seg = active_locked(p);
    int64_t base = LOAD(p->hw), pos = seg->size;
    int64_t last = base + h->last_offset_delta;
    batch_set_base_offset(batch, base);
    batch_set_leader_epoch(batch, STORE_LEADER_EPOCH);
    int fd = fdcache_pin(seg);
    if (fd < 0)
        return fd;
    if ((rc = file_pwrite_all(fd, batch, len, pos))) {
        (void)sysio.ftruncate(fd, pos); /* leave nothing partial behind */
        fdcache_unpin(seg);
        return rc;
    }
    struct store_journal_entry je;
    if ((rc = journal_begin(t, p->index, base, st->records, st->value_bytes, &je))) {
        (void)sysio.ftruncate(fd, pos); /* a batch the journal misses is not shown */
        fdcache_unpin(seg);
        return rc;
    }
    fdcache_unpin(seg);
    pthread_mutex_lock(&p->segs_mu);
    /* the batch is in the log and the journal: an index entry that found no memory
     * only makes lookups scan from an earlier one, so it cannot fail the append */
    (void)segment_note_batch(seg, pos, base, h->max_timestamp, (int64_t)len,
                             tc->index_interval_bytes);
    seg->size = pos + (int64_t)len;
    seg->next_offset = last + 1;
    pthread_mutex_unlock(&p->segs_mu);
    /* the producer's state first: a transaction it opens holds the last stable
     * offset back before readers can see the batch */
    if (marker)
        rc = txn_marker_apply(p, h, *marker_seg == 1, base, seg->base);
    else if (h->producer_id >= 0)
        (void)producer_record(p, h, base, last);
    STORE(p->hw, last + 1);
    atomic_fetch_add_explicit(&p->size_bytes, (int64_t)len, memory_order_relaxed);
    STORE(p->last_append_ms, now);
    journal_commit(t, &je);
    if (rc) /* the marker is in the log, its index entry is not: stop, recovery redoes it */
        partition_fail(p, rc);
    res->base_offset = base;
    res->last_offset = last;
    res->log_start_offset = LOAD(p->log_start);
    res->log_append_time = tc->timestamp_type == TIMESTAMP_LOG_APPEND ? now : -1;
    if (marker)
        *marker_seg = seg->base;
    return rc ? STORE_EFAILED : 0;
}

/* Kafka's rules for a producer's batch: not a control batch; records, one per
 * offset of its range (deltas 0..n-1, so a client cannot make the log skip
 * offsets); a sequence when it names a producer; keys on a compacted topic. */
static int producer_batch_check(const struct topic_config *tc, const struct batch_header *h,
                                const struct batch_stats *st)
{
    if (h->attributes & BATCH_ATTR_CONTROL)
        return STORE_EINVALID_RECORD; /* only a transaction coordinator writes these */
    if (h->records_count <= 0 || h->records_count != (int64_t)h->last_offset_delta + 1 ||
        (h->producer_id >= 0 && h->base_sequence < 0))
        return STORE_EINVALID_RECORD;
    if ((tc->cleanup_policy & CLEANUP_COMPACT) && st->null_keys)
        return STORE_EINVALID_RECORD;
    return 0;
}

int store_partition_append(struct store_partition *p, uint8_t *batch, size_t len,
                           struct store_append *res)
{
    struct topic_config tc;
    struct batch_limits lim = batch_limits_default;
    struct batch_header h;
    struct batch_stats st;
    struct writer rebuilt;
    int rc;

    store_topic_config_get(p->topic, &tc);
    res->log_append_time = -1;
    if ((int64_t)len > tc.max_message_bytes || len > lim.max_batch)
        return -EMSGSIZE; /* readers and recovery refuse batches past lim.max_batch */
    lim.max_batch = len;
    if ((rc = batch_validate(batch, len, &lim, false, &h, &st)) ||
        (rc = producer_batch_check(&tc, &h, &st)) ||
        (rc = ingest_check_timestamps(batch, len, &tc, clock_wall_ms())))
        return rc;
    /* compression.type: rebuilt outside the lock, checked again for size after */
    writer_init(&rebuilt, batch_limits_default.max_batch);
    if ((rc = ingest_recompress(batch, len, tc.compression, &rebuilt)) == 1) {
        batch = rebuilt.buf;
        len = rebuilt.len;
        rc = (int64_t)len > tc.max_message_bytes ? -EMSGSIZE : batch_header_parse(batch, len, &h);
    }
    if (rc)
        goto out;
    pthread_mutex_lock(&p->append_mu);
    rc = partition_write(p, &tc, batch, len, &h, &st, res, NULL);
    pthread_mutex_unlock(&p->append_mu);
    if (rc == 0) {
        flush_mark_dirty(p);
        store_notify_append(p->topic->store, p, res->last_offset + 1);
    }
out:
    writer_release(&rebuilt);
    return rc;
}

int partition_append_marker(struct store_partition *p, uint8_t *batch, size_t len, bool commit,
                            struct store_append *res, int64_t *seg_base)
{
    struct topic_config tc;
    struct batch_header h;
    static const struct batch_stats none; /* a control batch has no records to count */
    store_topic_config_get(p->topic, &tc);
    tc.timestamp_type = TIMESTAMP_CREATE; /* the marker's own time, as Kafka's */
    int rc = batch_header_parse(batch, len, &h);
    if (rc)
        return rc;
    *seg_base = commit; /* in: the marker's type; out: its segment */
    pthread_mutex_lock(&p->append_mu);
    rc = partition_write(p, &tc, batch, len, &h, &none, res, seg_base);
    pthread_mutex_unlock(&p->append_mu);
    if (rc == 0) {
        flush_mark_dirty(p);
        store_notify_append(p->topic->store, p, res->last_offset + 1);
    }
    return rc;
}

/* ---- durability ---- */

static bool lazy(const struct store_partition *p)
{
    return p->topic->store->config.flush_interval_ms > 0;
}

int store_partition_when_durable(struct store_partition *p, int64_t end_offset, store_done_fn fn,
                                 void *arg)
{
    if (lazy(p))
        return LOAD(p->failed) ? STORE_EFAILED : 1;
    pthread_mutex_lock(&p->wait_mu);
    int rc;
    if (p->failed) {
        rc = STORE_EFAILED;
    } else if (p->durable >= end_offset) {
        rc = 1;
    } else {
        struct waiter *w = malloc(sizeof *w);
        if (!w) {
            rc = -ENOMEM;
        } else {
            *w = (struct waiter){end_offset, fn, arg, NULL};
            struct waiter **tail = &p->waiters; /* keep FIFO order for callers */
            while (*tail)
                tail = &(*tail)->next;
            *tail = w;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&p->wait_mu);
    /* No flush_mark_dirty here: the append that wrote end_offset put p on the dirty
     * list, and a round syncs through the high watermark it finds. Marking again
     * while that round's fdatasync runs (the flusher often takes the list between
     * the append and this call) cost a second round with nothing new to sync: 1.28
     * segment fdatasyncs per acks=all produce instead of 1.04 at 1000 produces/s. */
    return rc;
}

int store_partition_sync(struct store_partition *p, int64_t end_offset)
{
    if (lazy(p))
        return LOAD(p->failed) ? STORE_EFAILED : 0;
    flush_mark_dirty(p);
    pthread_mutex_lock(&p->wait_mu);
    while (!p->failed && p->durable < end_offset)
        pthread_cond_wait(&p->wait_cond, &p->wait_mu);
    int rc = p->failed ? STORE_EFAILED : 0;
    pthread_mutex_unlock(&p->wait_mu);
    return rc;
}

/* Detach the waiters that are satisfied (all of them after a failure) and call
 * them without holding the lock. */
void partition_complete_waiters(struct store_partition *p)
{
    pthread_mutex_lock(&p->wait_mu);
    struct waiter *done = NULL, **tail = &done, **w = &p->waiters;
    int failed = p->failed;
    while (*w) {
        if (failed || (*w)->end_offset <= p->durable) {
            struct waiter *x = *w;
            *w = x->next;
            x->next = NULL;
            *tail = x;
            tail = &x->next;
        } else {
            w = &(*w)->next;
        }
    }
    pthread_cond_broadcast(&p->wait_cond);
    pthread_mutex_unlock(&p->wait_mu);
    while (done) {
        struct waiter *next = done->next;
        done->fn(done->arg, failed ? failed : 0);
        free(done);
        done = next;
    }
}

void partition_fail(struct store_partition *p, int err)
{
    (void)err;
    STORE(p->topic->store->io_failed, true);
    pthread_mutex_lock(&p->wait_mu);
    if (!p->failed)
        p->failed = STORE_EFAILED;
    pthread_mutex_unlock(&p->wait_mu);
    partition_complete_waiters(p);
}

/* ---- reads ---- */

void store_slice_release(struct store_slice *sl)
{
    if (sl->fd >= 0)
        close(sl->fd);
    sl->fd = -1;
}

/* Index of the segment holding offset (the last with base <= offset). segs_mu held. */
static size_t find_segment(const struct store_partition *p, int64_t offset)
{
    size_t lo = 0, hi = p->nsegs;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->segs[mid]->base <= offset)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/*
 * Locate `offset` under segs_mu: the segment that holds it (skipping segments that
 * compaction emptied or ended early), a start position from the index, the
 * published size, and an index boundary near start + max_bytes. Returns a dup of
 * the segment's fd, -1 with *rc = 0 at the end of the log, or -1 with *rc set.
 */
struct read_plan {
    int64_t start, limit, seg_next, hint_pos, hint_off;
};

static int read_locate(struct store_partition *p, int64_t offset, size_t max_bytes,
                       struct read_plan *rp, int *rc)
{
    *rc = 0;
    pthread_mutex_lock(&p->segs_mu);
    int64_t hw = LOAD(p->hw), ls = LOAD(p->log_start);
    if (offset < ls || offset > hw) {
        pthread_mutex_unlock(&p->segs_mu);
        *rc = -ERANGE;
        return -1;
    }
    size_t i = find_segment(p, offset);
    while (i < p->nsegs && (p->segs[i]->size == 0 || p->segs[i]->next_offset <= offset))
        i++;
    if (offset == hw || i == p->nsegs) {
        pthread_mutex_unlock(&p->segs_mu);
        return -1;
    }
    struct segment *seg = p->segs[i];
    rp->start = segment_index_lookup(seg, offset > seg->base ? offset : seg->base);
    rp->limit = seg->size;
    rp->seg_next = seg->next_offset;
    rp->hint_pos = rp->hint_off = -1;
    for (size_t lo = 0, hi = seg->n_idx; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;
        if ((int64_t)seg->idx[mid].pos <= rp->start + (int64_t)max_bytes) {
            rp->hint_pos = seg->idx[mid].pos;
            rp->hint_off = seg->base + seg->idx[mid].rel;
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    int fd = fdcache_dup(seg, false);
    pthread_mutex_unlock(&p->segs_mu);
    if (fd < 0) {
        *rc = fd;
        return -1;
    }
    return fd;
}

int store_partition_read(struct store_partition *p, int64_t offset, size_t max_bytes,
                         struct store_slice *out)
{
    *out = (struct store_slice){.fd = -1, .first_offset = offset, .next_offset = offset};
    struct read_plan rp;
    struct batch_header h;
    int rc, fd;
    for (;;) {
        if ((fd = read_locate(p, offset, max_bytes, &rp, &rc)) < 0)
            return rc;
        int64_t pos = rp.start;
        while ((rc = segment_read_header(fd, pos, rp.limit, &h)) == 0 &&
               h.base_offset + h.last_offset_delta < offset)
            pos += BATCH_LOG_OVERHEAD + h.length;
        if (rc == 0) {
            rp.start = pos;
            break;
        }
        close(fd);
        if (rc != -ENODATA)
            return rc;
        offset = rp.seg_next; /* nothing at or after offset here: try the next segment */
    }
    int64_t pos = rp.start;
    out->fd = fd;
    out->pos = pos;
    out->first_offset = h.base_offset;
    if (rp.limit - pos <= (int64_t)max_bytes) {
        out->len = rp.limit - pos;
        out->next_offset = rp.seg_next;
        return 0;
    }
    int64_t end = pos + BATCH_LOG_OVERHEAD + h.length; /* at least one whole batch */
    int64_t next = h.base_offset + h.last_offset_delta + 1;
    if (rp.hint_pos > end && rp.hint_pos - pos <= (int64_t)max_bytes) {
        end = rp.hint_pos;
        next = rp.hint_off;
    }
    for (int k = 0; k < MAX_EXTEND_SCAN; k++) {
        if (segment_read_header(fd, end, rp.limit, &h))
            break;
        int64_t size = BATCH_LOG_OVERHEAD + h.length;
        if (end + size - pos > (int64_t)max_bytes)
            break;
        end += size;
        next = h.base_offset + h.last_offset_delta + 1;
    }
    out->len = end - pos;
    out->next_offset = next;
    return 0;
}

/* Where the walk in store_slice_limit() may start: the last index entry inside the
 * slice whose batch begins below end, as (position, offset); the slice's start when
 * there is none. The slice may read a file compaction has replaced since: the
 * caller checks that a batch with that offset starts there. */
static void slice_limit_hint(struct store_partition *p, const struct store_slice *sl, int64_t end,
                             int64_t *pos, int64_t *offset)
{
    *pos = sl->pos;
    *offset = sl->first_offset;
    pthread_mutex_lock(&p->segs_mu);
    size_t i = p->nsegs ? find_segment(p, sl->first_offset) : 0;
    const struct segment *seg = p->nsegs ? p->segs[i] : NULL;
    for (size_t lo = 0, hi = seg ? seg->n_idx : 0; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t at = seg->idx[mid].pos, off = seg->base + seg->idx[mid].rel;
        if (off < end && at < sl->pos + sl->len) {
            if (at >= sl->pos && off >= sl->first_offset) {
                *pos = at;
                *offset = off;
            }
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    pthread_mutex_unlock(&p->segs_mu);
}

int store_slice_limit(struct store_partition *p, struct store_slice *sl, int64_t end)
{
    if (sl->len == 0 || sl->next_offset <= end)
        return 0;
    struct batch_header h;
    int64_t stop = sl->pos + sl->len, pos, hint;
    slice_limit_hint(p, sl, end, &pos, &hint);
    int rc = segment_read_header(sl->fd, pos, stop, &h);
    if (rc || h.base_offset != hint)
        pos = sl->pos; /* not this file's batch boundary: walk from the start */
    int64_t next = sl->first_offset;
    if (pos > sl->pos) /* batches before the hint all end below it */
        next = hint;
    rc = 0;
    while (pos < stop && (rc = segment_read_header(sl->fd, pos, stop, &h)) == 0 &&
           h.base_offset + h.last_offset_delta < end) {
        pos += BATCH_LOG_OVERHEAD + h.length;
        next = h.base_offset + h.last_offset_delta + 1;
    }
    if (pos < stop && rc && rc != -ENODATA) {
        store_slice_release(sl);
        sl->len = 0;
        return rc;
    }
    sl->len = pos - sl->pos;
    sl->next_offset = next;
    if (sl->len == 0)
        store_slice_release(sl);
    return 0;
}

/* ---- info ---- */

void store_partition_info(struct store_partition *p, struct store_partition_info *info)
{
    info->index = p->index;
    info->log_start_offset = LOAD(p->log_start);
    info->high_watermark = LOAD(p->hw);
    info->durable_offset = lazy(p) ? info->high_watermark : LOAD(p->durable);
    info->size_bytes = LOAD(p->size_bytes);
    pthread_mutex_lock(&p->segs_mu);
    info->segments = (int32_t)p->nsegs;
    pthread_mutex_unlock(&p->segs_mu);
    info->last_append_ms = LOAD(p->last_append_ms);
}

int64_t store_partition_high_watermark(struct store_partition *p)
{
    return LOAD(p->hw);
}

int64_t store_partition_log_start(struct store_partition *p)
{
    return LOAD(p->log_start);
}

int32_t store_partition_index(const struct store_partition *p)
{
    return p->index;
}

struct store_topic *store_partition_topic(struct store_partition *p)
{
    return p->topic;
}

/* ---- segment files ---- */

int store_partition_segments(struct store_partition *p, struct store_segment_info **out, size_t *n)
{
    pthread_mutex_lock(&p->segs_mu);
    struct store_segment_info *v = malloc((p->nsegs ? p->nsegs : 1) * sizeof *v);
    if (v) {
        for (size_t i = 0; i < p->nsegs; i++) {
            const struct segment *seg = p->segs[i];
            v[i] = (struct store_segment_info){
                .base = seg->base,
                .size = {seg->size, (int64_t)seg->n_idx * INDEX_ENTRY_SIZE,
                         (int64_t)seg->n_tidx * TIME_ENTRY_SIZE},
                .next_offset = seg->next_offset,
                .max_timestamp = seg->max_ts,
            };
        }
        *n = p->nsegs;
    }
    pthread_mutex_unlock(&p->segs_mu);
    *out = v;
    return v ? 0 : -ENOMEM;
}

ssize_t store_partition_segment_pread(struct store_partition *p, int64_t base,
                                      enum store_file which, void *buf, size_t n, int64_t off)
{
    if (off < 0)
        return -EINVAL;
    pthread_mutex_lock(&p->segs_mu);
    size_t i = find_segment(p, base);
    if (!p->nsegs || p->segs[i]->base != base) {
        pthread_mutex_unlock(&p->segs_mu);
        return -ENOENT;
    }
    struct segment *seg = p->segs[i];
    if (which != STORE_FILE_LOG) {
        size_t k = segment_index_copy(seg, which == STORE_FILE_TIMEINDEX, buf, n, off);
        pthread_mutex_unlock(&p->segs_mu);
        return (ssize_t)k;
    }
    int64_t size = seg->size;
    if (off >= size) {
        pthread_mutex_unlock(&p->segs_mu);
        return 0;
    }
    int fd = fdcache_dup(seg, false);
    pthread_mutex_unlock(&p->segs_mu);
    if (fd < 0)
        return fd;
    if ((int64_t)n > size - off)
        n = (size_t)(size - off);
    int rc = file_pread_all(fd, buf, n, off);
    close(fd);
    return rc ? rc : (ssize_t)n;
}

/* ---- lookups by time ---- */

/* The first record with timestamp >= ts in the batch at pos (of size bytes). */
static int record_at_time(int fd, int64_t pos, int64_t size, int64_t ts, int64_t *offset,
                          int64_t *timestamp)
{
    uint8_t *buf = malloc((size_t)size);
    if (!buf)
        return -ENOMEM;
    struct batch_iter it;
    struct record r;
    int rc = file_pread_all(fd, buf, (size_t)size, pos);
    if (rc)
        goto out_buf;
    rc = batch_iter_init(&it, buf, (size_t)size, &batch_limits_default, false);
    while (rc == 0 && (rc = batch_iter_next(&it, &r)) == 1) {
        if (r.timestamp >= ts) {
            *offset = r.offset;
            *timestamp = r.timestamp;
            rc = 0;
            break;
        }
        rc = 0;
    }
    if (rc == 0 && *offset < 0)
        rc = -ENOENT;
    batch_iter_release(&it);
out_buf:
    free(buf);
    return rc;
}

int store_partition_offset_for_time(struct store_partition *p, int64_t ts, int64_t *offset,
                                    int64_t *timestamp)
{
    *offset = -1;
    pthread_mutex_lock(&p->segs_mu);
    size_t i = 0;
    while (i < p->nsegs && p->segs[i]->max_ts < ts)
        i++;
    if (i == p->nsegs) {
        pthread_mutex_unlock(&p->segs_mu);
        return -ENOENT;
    }
    struct segment *seg = p->segs[i];
    int64_t start = 0;
    for (size_t k = 0; k < seg->n_tidx && seg->tidx[k].ts < ts; k++)
        start = segment_index_lookup(seg, seg->base + seg->tidx[k].rel);
    int64_t limit = seg->size;
    int fd = fdcache_dup(seg, false);
    pthread_mutex_unlock(&p->segs_mu);
    if (fd < 0)
        return fd;
    int rc;
    struct batch_header h;
    for (int64_t pos = start;; pos += BATCH_LOG_OVERHEAD + h.length) {
        if ((rc = segment_read_header(fd, pos, limit, &h)))
            break;
        if (h.max_timestamp >= ts) {
            rc = record_at_time(fd, pos, BATCH_LOG_OVERHEAD + h.length, ts, offset, timestamp);
            break;
        }
    }
    close(fd);
    if (rc == 0 && *offset < LOAD(p->log_start))
        *offset = LOAD(p->log_start);
    return rc == -ENODATA ? -ENOENT : rc;
}

/* ---- deleting from the front ---- */

int partition_delete_segments_below(struct store_partition *p, int64_t offset)
{
    pthread_mutex_lock(&p->segs_mu);
    size_t k = 0;
    while (k + 1 < p->nsegs && p->segs[k]->next_offset <= offset)
        k++;
    struct segment **gone = NULL;
    if (k) {
        gone = malloc(k * sizeof *gone);
        if (!gone) {
            pthread_mutex_unlock(&p->segs_mu);
            return -ENOMEM;
        }
        memcpy(gone, p->segs, k * sizeof *gone);
        memmove(p->segs, p->segs + k, (p->nsegs - k) * sizeof *p->segs);
        p->nsegs -= k;
        int64_t first = p->segs[0]->base;
        if (LOAD(p->log_start) < first)
            STORE(p->log_start, first);
    }
    pthread_mutex_unlock(&p->segs_mu);
    txn_entries_cut(p, LOAD(p->log_start), false); /* no read starts below it */
    int rc = 0;
    struct topic_config tc;
    store_topic_config_get(p->topic, &tc);
    for (size_t i = 0; i < k; i++) {
        atomic_fetch_sub_explicit(&p->size_bytes, gone[i]->size, memory_order_relaxed);
        int r =
            store_retire_segment(p->topic->store, p->dir, gone[i]->base, tc.file_delete_delay_ms);
        if (r && !rc)
            rc = r;
        segment_free(gone[i]);
    }
    free(gone);
    return rc < 0 ? rc : (int)k;
}

int store_partition_delete_records(struct store_partition *p, int64_t offset, int64_t *low)
{
    pthread_mutex_lock(&p->append_mu);
    int64_t hw = LOAD(p->hw);
    if (offset == -1)
        offset = hw;
    if (offset < 0 || offset > hw) {
        pthread_mutex_unlock(&p->append_mu);
        return -ERANGE;
    }
    bool moved = offset > LOAD(p->log_start);
    if (moved)
        STORE(p->log_start, offset);
    *low = LOAD(p->log_start);
    pthread_mutex_unlock(&p->append_mu);
    if (!moved) /* nothing changed: no segment to drop, no checkpoint to write */
        return 0;
    int rc = partition_delete_segments_below(p, offset);
    int crc = store_checkpoints_write(p->topic->store);
    return rc < 0 ? rc : crc;
}
