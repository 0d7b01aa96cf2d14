/*
 * txn.c - transactions on one partition: open transactions, COMMIT/ABORT markers,
 * the last stable offset and the per-segment transaction index.
 *
 * A transactional batch (attribute 0x10) opens its producer's transaction on the
 * partition at the batch's base offset, unless one is open already; the open
 * transaction lives in the producer's state (producer_state.txn_first, kept with
 * the idempotence state and saved in its snapshot). The smallest first offset of
 * the open transactions is published in p->txn_first, so that readers find the
 * last stable offset (LSO) without a lock: min(txn_first, high watermark), never
 * below the log start.
 *
 * store_partition_end_txn() appends Kafka's control batch (EndTransactionMarker)
 * through the ordinary write path and closes the transaction. An ABORT is also an
 * entry of the .txnindex of the segment that holds the marker, in Kafka's format
 * (34 bytes, big-endian): version i16 (0) | producer id i64 | first offset i64 |
 * last offset i64 (the marker's) | last stable offset i64 (after the abort). Every
 * entry of every segment is also kept in memory, in marker order, in p->aborted
 * (segs_mu), as the .index entries are: reads never touch the files.
 *
 * Recovery: the .txnindex files are loaded with the segments; the entries past the
 * producer snapshot's offset are dropped and found again by replaying the batches
 * after it (producer.c), and the files of the segments replayed are rewritten from
 * memory. A file that does not parse (torn, a wrong version, an entry of zeroes or
 * out of marker order) makes the whole log be replayed from its start, which
 * rebuilds every entry and the producers' state. Because the files below the
 * snapshot's offset are trusted, an entry is synced before its ABORT is
 * acknowledged and before any snapshot covers its marker.
 * A missing file means no abort in that segment, as in Kafka.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/fileio.h"
#include "lib/grow.h"
#include "lib/reader.h"
#include "lib/sysio.h"
#include "lib/writer.h"
#include "proto/record.h"
#include "store/private.h"

#define TXN_ENTRY_SIZE   34
#define TXN_MARKER_BYTES 128 /* a control batch: 61-byte header and one small record */

/* ---- the last stable offset ---- */

/* Publish the smallest first offset of the open transactions (append_mu held). */
void txn_publish_first(struct store_partition *p)
{
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < p->n_producers; i++)
        if (p->producers[i].txn_first >= 0 && p->producers[i].txn_first < first)
            first = p->producers[i].txn_first;
    STORE(p->txn_first, first);
}

int64_t store_partition_last_stable(struct store_partition *p)
{
    /* the high watermark first: an appender publishes a transaction's first offset
     * before the watermark that shows its batch, so whoever sees the batch in hw
     * sees the open transaction too */
    int64_t hw = LOAD(p->hw);
    int64_t first = LOAD(p->txn_first), start = LOAD(p->log_start);
    int64_t lso = first < hw ? first : hw;
    return lso < start ? start : lso;
}

/* The LSO a completed transaction leaves (Kafka's): the first offset of the oldest
 * other open transaction, or the offset after the marker. append_mu held. */
static int64_t txn_lso_after(struct store_partition *p, int64_t pid, int64_t marker)
{
    int64_t lso = marker + 1;
    for (size_t i = 0; i < p->n_producers; i++) {
        const struct producer_state *st = &p->producers[i];
        if (st->pid != pid && st->txn_first >= 0 && st->txn_first < lso)
            lso = st->txn_first;
    }
    return lso;
}

/* ---- the in-memory index ---- */

static int txn_entry_add(struct store_partition *p, const struct txn_aborted *e)
{
    pthread_mutex_lock(&p->segs_mu);
    int rc = ARRAY_GROW(p->aborted, p->cap_aborted, p->n_aborted + 1);
    if (!rc) {
        size_t i = p->n_aborted; /* keep marker order, dropping a replayed duplicate */
        while (i > 0 && p->aborted[i - 1].last > e->last)
            i--;
        if (i > 0 && p->aborted[i - 1].last == e->last) {
            p->aborted[i - 1] = *e;
        } else {
            memmove(&p->aborted[i + 1], &p->aborted[i], (p->n_aborted - i) * sizeof *e);
            p->aborted[i] = *e;
            p->n_aborted++;
        }
    }
    pthread_mutex_unlock(&p->segs_mu);
    return rc;
}

/* First entry whose marker is at or after offset. segs_mu held. */
static size_t txn_entry_find(const struct store_partition *p, int64_t offset)
{
    size_t lo = 0, hi = p->n_aborted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->aborted[mid].last < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Drop the entries whose marker is below offset (retention) or, with above, at or
 * past it (recovery replays those); returns how many went. */
size_t txn_entries_cut(struct store_partition *p, int64_t offset, bool above)
{
    pthread_mutex_lock(&p->segs_mu);
    size_t i = txn_entry_find(p, offset), dropped = above ? p->n_aborted - i : i;
    if (above) {
        p->n_aborted = i;
    } else if (i) {
        memmove(p->aborted, p->aborted + i, (p->n_aborted - i) * sizeof *p->aborted);
        p->n_aborted -= i;
    }
    pthread_mutex_unlock(&p->segs_mu);
    return dropped;
}

void txn_entries_free(struct store_partition *p)
{
    free(p->aborted);
    p->aborted = NULL;
    p->n_aborted = p->cap_aborted = 0;
}

int store_partition_aborted_txns(struct store_partition *p, int64_t from, int64_t upto,
                                 struct store_aborted_txn *out, size_t max, size_t *n)
{
    *n = 0;
    if (from >= upto)
        return 0;
    pthread_mutex_lock(&p->segs_mu);
    /* Entries are in marker order and an entry's LSO is at most the first offset of
     * every transaction still open then: past one whose LSO reaches upto, none can
     * have data below upto (Kafka's stopping rule). */
    for (size_t i = txn_entry_find(p, from); i < p->n_aborted && *n < max; i++) {
        const struct txn_aborted *e = &p->aborted[i];
        if (e->first < upto)
            out[(*n)++] = (struct store_aborted_txn){e->pid, e->first};
        if (e->lso >= upto)
            break;
    }
    pthread_mutex_unlock(&p->segs_mu);
    return 0;
}

bool txn_aborted_at(struct store_partition *p, int64_t pid, int64_t offset)
{
    bool aborted = false;
    pthread_mutex_lock(&p->segs_mu);
    for (size_t i = txn_entry_find(p, offset); i < p->n_aborted; i++) {
        const struct txn_aborted *e = &p->aborted[i];
        if (e->pid == pid && e->first <= offset) {
            aborted = true;
            break;
        }
        if (e->lso > offset)
            break; /* the same rule: no later entry was open at offset */
    }
    pthread_mutex_unlock(&p->segs_mu);
    return aborted;
}

/* ---- the .txnindex files ---- */

static void txn_entry_encode(struct writer *w, const struct txn_aborted *e)
{
    writer_be16(w, 0);
    writer_be64(w, (uint64_t)e->pid);
    writer_be64(w, (uint64_t)e->first);
    writer_be64(w, (uint64_t)e->last);
    writer_be64(w, (uint64_t)e->lso);
}

/* Append one entry to the .txnindex of the segment at base (append_mu held). The
 * caller syncs it with txn_index_sync(). */
static int txn_index_append(struct store_partition *p, int64_t base, const struct txn_aborted *e)
{
    char path[4096];
    uint8_t buf[TXN_ENTRY_SIZE];
    struct writer w;
    writer_init_fixed(&w, buf, sizeof buf);
    txn_entry_encode(&w, e);
    int rc = segment_path(path, sizeof path, p->dir, base, ".txnindex");
    if (rc)
        return rc;
    int fd = fdcache_open_path(&p->topic->store->fds, path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0)
        return fd;
    off_t end = lseek(fd, 0, SEEK_END);
    /* a torn tail (a crash mid-write) is overwritten: whole entries only */
    if (end < 0)
        rc = -errno;
    else
        rc = file_pwrite_all(fd, buf, sizeof buf, end - end % TXN_ENTRY_SIZE);
    sysio.close(fd);
    return rc;
}

/* Make the .txnindex of segment base durable: its content, then its directory
 * entry (the first append created it). A file that is gone (retention or the
 * cleaner removed its segment since) holds nothing left to keep. */
static int txn_index_sync(struct store_partition *p, int64_t base)
{
    char path[4096];
    int rc = segment_path(path, sizeof path, p->dir, base, ".txnindex");
    if (rc)
        return rc;
    int fd = fdcache_open_path(&p->topic->store->fds, path, O_RDONLY, 0);
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return fd;
    rc = sysio.fdatasync(fd) ? -errno : 0;
    sysio.close(fd);
    return rc ? rc : dir_fsync(p->dir, 1);
}

/* Make durable the .txnindex files holding entries whose markers lie in
 * [from, upto): a producer snapshot covering upto is written only after them, as
 * recovery trusts the files below the snapshot's offset without replaying. */
int txn_index_sync_range(struct store_partition *p, int64_t from, int64_t upto)
{
    int rc = 0;
    while (!rc && from < upto) {
        int64_t base = -1, end = INT64_MAX; /* the segment of the next entry */
        pthread_mutex_lock(&p->segs_mu);
        size_t i = txn_entry_find(p, from);
        int64_t last = i < p->n_aborted ? p->aborted[i].last : INT64_MAX;
        for (size_t k = 0; last < upto && k < p->nsegs && p->segs[k]->base <= last; k++) {
            base = p->segs[k]->base;
            end = k + 1 < p->nsegs ? p->segs[k + 1]->base : INT64_MAX;
        }
        pthread_mutex_unlock(&p->segs_mu);
        if (base < 0)
            break; /* no entry left in the range, or its segment is gone */
        rc = txn_index_sync(p, base);
        from = end;
    }
    return rc;
}

/* Write the .txnindex of a segment holding offsets [base, end) from memory, or
 * remove it when no entry falls there. */
int txn_index_write(struct store_partition *p, int64_t base, int64_t end)
{
    char path[4096];
    struct writer w;
    int rc = segment_path(path, sizeof path, p->dir, base, ".txnindex");
    if (rc)
        return rc;
    writer_init(&w, SIZE_MAX);
    pthread_mutex_lock(&p->segs_mu);
    for (size_t i = txn_entry_find(p, base); i < p->n_aborted && p->aborted[i].last < end; i++)
        txn_entry_encode(&w, &p->aborted[i]);
    pthread_mutex_unlock(&p->segs_mu);
    if (w.err)
        rc = w.err;
    else if (w.len)
        rc = file_write_atomic(path, w.buf, w.len);
    else if (!access(path, F_OK) && sysio.unlink(path) && errno != ENOENT)
        rc = -errno;
    writer_release(&w);
    return rc;
}

/* Rewrite the .txnindex of every segment holding offsets at or past from. */
int txn_index_rewrite(struct store_partition *p, int64_t from)
{
    int rc = 0;
    for (size_t i = 0; i < p->nsegs && !rc; i++) {
        int64_t end = i + 1 < p->nsegs ? p->segs[i + 1]->base : INT64_MAX;
        if (end > from)
            rc = txn_index_write(p, p->segs[i]->base, end);
    }
    return rc;
}

/* Load segment base's .txnindex into memory: 0 (also when there is none),
 * -EBADMSG when it does not parse, or an error. */
static int txn_index_load_one(struct store_partition *p, int64_t base)
{
    char path[4096];
    char *data = NULL;
    size_t len;
    int rc = segment_path(path, sizeof path, p->dir, base, ".txnindex");
    if (rc)
        return rc;
    rc = file_read_all(path, 256u << 20, &data, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc == -EFBIG ? -EBADMSG : rc;
    if (len % TXN_ENTRY_SIZE)
        rc = -EBADMSG;
    struct reader r;
    reader_init(&r, data, len);
    int64_t prev = -1;
    for (size_t i = 0; !rc && i < len / TXN_ENTRY_SIZE; i++) {
        int16_t version = (int16_t)reader_be16(&r);
        struct txn_aborted e;
        e.pid = (int64_t)reader_be64(&r);
        e.first = (int64_t)reader_be64(&r);
        e.last = (int64_t)reader_be64(&r);
        e.lso = (int64_t)reader_be64(&r);
        /* The LSO may lie below first (another transaction was open before it),
         * never past the offset after the marker, and never at the marker itself
         * (no transaction starts at a marker): that rule refuses an entry of
         * zeroes, what a power failure leaves of an append not yet synced. A file
         * is appended in marker order, so an entry not past the one before it is
         * such a leftover too (or a stale entry of a marker the log lost). */
        if (version != 0 || e.pid < 0 || e.first < 0 || e.first > e.last || e.last < base ||
            e.lso < 0 || e.lso > e.last + 1 || e.lso == e.last || e.last <= prev)
            rc = -EBADMSG;
        else
            rc = txn_entry_add(p, &e);
        prev = e.last;
    }
    free(data);
    return rc;
}

int txn_index_load(struct store_partition *p)
{
    int rc = 0;
    for (size_t i = 0; i < p->nsegs && !rc; i++)
        rc = txn_index_load_one(p, p->segs[i]->base);
    if (rc)
        txn_entries_free(p);
    return rc;
}

/* ---- markers ---- */

/* Read a control batch's type: 0 ABORT, 1 COMMIT, or a negative errno. */
int txn_marker_type(const uint8_t *batch, size_t len)
{
    struct batch_iter it;
    struct record r = {0};
    int rc = batch_iter_init(&it, batch, len, &batch_limits_default, false);
    if (!rc)
        rc = batch_iter_next(&it, &r) == 1 ? 0 : -EBADMSG;
    if (!rc) {
        struct reader k;
        reader_init(&k, r.key, r.key_len > 0 ? (size_t)r.key_len : 0);
        int16_t version = (int16_t)reader_be16(&k);
        int16_t type = (int16_t)reader_be16(&k);
        rc = !reader_ok(&k) || version != 0 || (type != 0 && type != 1) ? -EBADMSG : type;
    }
    batch_iter_release(&it);
    return rc;
}

/* Kafka's EndTransactionMarker control batch into out. */
int txn_marker_build(int64_t pid, int16_t epoch, bool commit, int32_t coordinator_epoch,
                     int64_t now, struct writer *out)
{
    uint8_t key[4], value[6];
    struct writer k, v;
    writer_init_fixed(&k, key, sizeof key);
    writer_be16(&k, 0);              /* ControlRecordType version */
    writer_be16(&k, commit ? 1 : 0); /* type: 0 ABORT, 1 COMMIT */
    writer_init_fixed(&v, value, sizeof value);
    writer_be16(&v, 0); /* EndTransactionMarker version */
    writer_be32(&v, (uint32_t)coordinator_epoch);
    struct batch_builder b;
    batch_builder_init(&b, CODEC_NONE, TXN_MARKER_BYTES);
    b.attributes = BATCH_ATTR_TRANSACTIONAL | BATCH_ATTR_CONTROL;
    b.producer_id = pid;
    b.producer_epoch = epoch;
    b.base_sequence = -1;
    int rc = batch_builder_add(&b, now, key, sizeof key, value, sizeof value, NULL, 0);
    if (!rc)
        rc = batch_builder_finish(&b, 0, out);
    batch_builder_release(&b);
    return rc;
}

/* A marker's checks before it is written (append_mu held): a producer epoch below
 * the one the partition knows is fenced, as Kafka answers a stale marker. */
int txn_marker_check(struct store_partition *p, const struct batch_header *h)
{
    for (size_t i = 0; i < p->n_producers; i++)
        if (p->producers[i].pid == h->producer_id)
            return h->producer_epoch < p->producers[i].epoch ? STORE_EPRODUCER_FENCED : 0;
    return ARRAY_GROW(p->producers, p->cap_producers, p->n_producers + 1);
}

/*
 * Apply a marker at `offset` (append_mu held; the batch is in the log): the
 * producer's transaction ends, its epoch becomes the marker's, and an ABORT gets
 * its index entry, in memory and - with seg_base >= 0 - in that segment's file.
 */
int txn_marker_apply(struct store_partition *p, const struct batch_header *h, bool commit,
                     int64_t offset, int64_t seg_base)
{
    struct producer_state *st = NULL;
    for (size_t i = 0; i < p->n_producers && !st; i++)
        if (p->producers[i].pid == h->producer_id)
            st = &p->producers[i];
    if (!st) { /* room was made by txn_marker_check() (or replay tolerates a miss) */
        if (ARRAY_GROW(p->producers, p->cap_producers, p->n_producers + 1))
            return -ENOMEM;
        st = &p->producers[p->n_producers++];
        *st = (struct producer_state){
            .pid = h->producer_id, .epoch = h->producer_epoch, .txn_first = -1};
    }
    if (h->producer_epoch != st->epoch) {
        st->epoch = h->producer_epoch;
        st->n = 0; /* a new epoch starts its sequences at 0 */
    }
    struct txn_aborted e = {h->producer_id, st->txn_first >= 0 ? st->txn_first : offset, offset,
                            txn_lso_after(p, h->producer_id, offset)};
    st->txn_first = -1;
    p->producers_at = offset + 1;
    int rc = 0;
    if (!commit) {
        rc = txn_entry_add(p, &e);
        if (!rc && seg_base >= 0)
            rc = txn_index_append(p, seg_base, &e);
    }
    txn_publish_first(p);
    return rc;
}

/* Open the producer's transaction at base if none is (append_mu held). */
void txn_data_apply(struct store_partition *p, struct producer_state *st,
                    const struct batch_header *h, int64_t base)
{
    if (!(h->attributes & BATCH_ATTR_TRANSACTIONAL) || st->txn_first >= 0)
        return;
    st->txn_first = base;
    if (base < LOAD(p->txn_first))
        STORE(p->txn_first, base);
}

int store_partition_end_txn(struct store_partition *p, int64_t producer_id, int16_t producer_epoch,
                            bool commit, int32_t coordinator_epoch, int64_t *offset)
{
    struct writer w;
    struct store_append res;
    int64_t seg_base = -1;
    if (producer_id < 0 || producer_epoch < 0)
        return -EINVAL;
    writer_init(&w, TXN_MARKER_BYTES + BATCH_HEADER_SIZE);
    int rc = txn_marker_build(producer_id, producer_epoch, commit, coordinator_epoch,
                              clock_wall_ms(), &w);
    if (!rc)
        rc = partition_append_marker(p, w.buf, w.len, commit, &res, &seg_base);
    writer_release(&w);
    if (rc)
        return rc;
    /* durable before the coordinator answers EndTxn: the index entry, then the log */
    if (!commit && (rc = txn_index_sync(p, seg_base))) {
        partition_fail(p, rc);
        return STORE_EFAILED;
    }
    rc = p->topic->store->config.flush_interval_ms > 0
             ? flush_partition_now(p) /* the log is a prefix: all of it */
             : store_partition_sync(p, res.last_offset + 1);
    if (!rc)
        *offset = res.base_offset;
    return rc;
}
