/*
 * producer.c - idempotent producer state per partition.
 *
 * For every producer id the partition remembers the epoch and its last five
 * batches (first/last sequence, first/last offset), as Kafka does: a retried batch
 * that matches one of them is a duplicate and is answered with the offsets it got
 * the first time; a batch whose first sequence is not the last one plus one is out
 * of order; a lower epoch is fenced.
 *
 * The state is saved to <partition>/producer.snapshot at each checkpoint together
 * with the offset it covers, and rebuilt at start by replaying the batch headers
 * after that offset (or the whole log when the snapshot is missing or ahead of it:
 * then a new snapshot replaces it at once). A partition without idempotent
 * producers gets a snapshot too, an empty one: it still says how far the log has
 * been replayed, so that start-up time does not grow with the log. A checkpoint
 * rewrites a snapshot only when the partition has grown.
 *
 * Snapshot format (big-endian): "BRPT" | covered offset i64 | count u32 | entries:
 * pid i64, epoch i16, open transaction's first offset i64 (-1: none), n u8, then
 * n x (first seq i32, last seq i32, first offset i64, last offset i64) | CRC-32C
 * u32 of everything before it. A "BRPS" snapshot (written before transactions) is
 * the same without the transaction field, and is read as having none open.
 * Transactional batches and markers change the state too (txn.c): the snapshot
 * records which transactions are open, and replay applies markers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crc32c.h"
#include "lib/fileio.h"
#include "lib/grow.h"
#include "lib/reader.h"
#include "lib/writer.h"
#include "proto/record.h"
#include "store/private.h"

#define MAX_PRODUCERS 100000

static struct producer_state *find(struct store_partition *p, int64_t pid)
{
    for (size_t i = 0; i < p->n_producers; i++)
        if (p->producers[i].pid == pid)
            return &p->producers[i];
    return NULL;
}

static int32_t next_seq(int32_t seq)
{
    return seq == INT32_MAX ? 0 : seq + 1;
}

int producer_check(struct store_partition *p, const struct batch_header *h,
                   struct store_append *dup)
{
    struct producer_state *st = find(p, h->producer_id);
    if (!st && (h->attributes & BATCH_ATTR_TRANSACTIONAL)) {
        /* its transaction must be remembered once written: make room first */
        if (p->n_producers >= MAX_PRODUCERS)
            return -ENOSPC;
        return ARRAY_GROW(p->producers, p->cap_producers, p->n_producers + 1);
    }
    if (!st)
        return 0; /* a producer we have no state for starts where it says */
    if (h->producer_epoch < st->epoch)
        return STORE_EPRODUCER_FENCED;
    if (h->producer_epoch > st->epoch)
        return h->base_sequence == 0 ? 0 : STORE_EOUT_OF_ORDER_SEQ;
    int32_t last_seq = (int32_t)(((int64_t)h->base_sequence + h->last_offset_delta) % 2147483648LL);
    for (int i = 0; i < st->n; i++)
        if (st->b[i].first_seq == h->base_sequence && st->b[i].last_seq == last_seq) {
            dup->base_offset = st->b[i].first_offset;
            dup->last_offset = st->b[i].last_offset;
            dup->log_start_offset = LOAD(p->log_start);
            dup->log_append_time = -1;
            return STORE_EDUPLICATE_SEQ;
        }
    if (st->n && h->base_sequence != next_seq(st->b[0].last_seq))
        return STORE_EOUT_OF_ORDER_SEQ;
    return 0;
}

int producer_record(struct store_partition *p, const struct batch_header *h, int64_t base,
                    int64_t last)
{
    struct producer_state *st = find(p, h->producer_id);
    if (!st) {
        if (p->n_producers >= MAX_PRODUCERS)
            return -ENOSPC;
        if (ARRAY_GROW(p->producers, p->cap_producers, p->n_producers + 1))
            return -ENOMEM;
        st = &p->producers[p->n_producers++];
        memset(st, 0, sizeof *st);
        st->pid = h->producer_id;
        st->epoch = h->producer_epoch;
        st->txn_first = -1;
    }
    if (h->producer_epoch != st->epoch) {
        st->epoch = h->producer_epoch;
        st->n = 0;
    }
    memmove(&st->b[1], &st->b[0], (PRODUCER_BATCHES - 1) * sizeof st->b[0]);
    st->b[0] = (struct producer_batch){
        .first_seq = h->base_sequence,
        .last_seq = (int32_t)(((int64_t)h->base_sequence + (last - base)) % 2147483648LL),
        .first_offset = base,
        .last_offset = last,
    };
    if (st->n < PRODUCER_BATCHES)
        st->n++;
    txn_data_apply(p, st, h, base);
    p->producers_at = last + 1;
    return 0;
}

size_t store_partition_producers(struct store_partition *p, struct store_producer_info *out,
                                 size_t max)
{
    pthread_mutex_lock(&p->append_mu);
    size_t n = p->n_producers;
    for (size_t i = 0; i < n && i < max; i++) {
        const struct producer_state *st = &p->producers[i];
        out[i] = (struct store_producer_info){st->pid, st->epoch, -1, -1, st->txn_first};
        if (st->n > 0) {
            out[i].last_sequence = st->b[0].last_seq;
            out[i].last_offset = st->b[0].last_offset;
        }
    }
    pthread_mutex_unlock(&p->append_mu);
    return n;
}

void producer_clear(struct store_partition *p)
{
    free(p->producers);
    p->producers = NULL;
    p->n_producers = p->cap_producers = 0;
}

static int snapshot_path(char *buf, size_t size, const struct store_partition *p)
{
    int n = snprintf(buf, size, "%s/producer.snapshot", p->dir);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int producer_snapshot_save(struct store_partition *p)
{
    struct writer w;
    pthread_mutex_lock(&p->append_mu);
    int64_t hw = LOAD(p->hw);
    if (hw == p->snapshot_at) { /* nothing appended since: the one on disk is current */
        pthread_mutex_unlock(&p->append_mu);
        return 0;
    }
    int64_t since = p->snapshot_at > 0 ? p->snapshot_at : 0;
    writer_init(&w, 64u << 20);
    writer_bytes(&w, "BRPT", 4);
    writer_be64(&w, (uint64_t)hw);
    writer_be32(&w, (uint32_t)p->n_producers);
    for (size_t i = 0; i < p->n_producers; i++) {
        const struct producer_state *st = &p->producers[i];
        writer_be64(&w, (uint64_t)st->pid);
        writer_be16(&w, (uint16_t)st->epoch);
        writer_be64(&w, (uint64_t)st->txn_first);
        writer_u8(&w, (uint8_t)st->n);
        for (int k = 0; k < st->n; k++) {
            writer_be32(&w, (uint32_t)st->b[k].first_seq);
            writer_be32(&w, (uint32_t)st->b[k].last_seq);
            writer_be64(&w, (uint64_t)st->b[k].first_offset);
            writer_be64(&w, (uint64_t)st->b[k].last_offset);
        }
    }
    pthread_mutex_unlock(&p->append_mu);
    writer_be32(&w, w.err ? 0 : crc32c(0, w.buf, w.len));
    char path[4096];
    int rc = w.err ? w.err : snapshot_path(path, sizeof path, p);
    /* Recovery trusts the .txnindex files below the snapshot's offset: the entries
     * of the markers it newly covers are made durable first. An ABORT's own sync
     * (store_partition_end_txn) may not have run yet, its entry only written. */
    if (!rc)
        rc = txn_index_sync_range(p, since, hw);
    if (!rc)
        rc = file_write_atomic(path, w.buf, w.len);
    writer_release(&w);
    if (!rc) {
        pthread_mutex_lock(&p->append_mu);
        if (p->snapshot_at < hw)
            p->snapshot_at = hw;
        pthread_mutex_unlock(&p->append_mu);
    }
    return rc;
}

/* Parse a snapshot into p's state; returns the covered offset or a negative error. */
static int64_t snapshot_parse(struct store_partition *p, const uint8_t *data, size_t len)
{
    bool txn = len >= 4 && !memcmp(data, "BRPT", 4); /* BRPS: before transactions */
    if (len < 20 || (!txn && memcmp(data, "BRPS", 4)))
        return -EBADMSG;
    struct reader crc_r;
    reader_init(&crc_r, data + len - 4, 4);
    if (reader_be32(&crc_r) != crc32c(0, data, len - 4))
        return -EBADMSG;
    struct reader r;
    reader_init(&r, data + 4, len - 8);
    int64_t covered = (int64_t)reader_be64(&r);
    uint32_t n = reader_be32(&r);
    if (n > MAX_PRODUCERS || n > reader_left(&r) / 11)
        return -EBADMSG;
    p->producers = calloc(n ? n : 1, sizeof *p->producers);
    if (!p->producers)
        return -ENOMEM;
    p->cap_producers = n ? n : 1;
    for (uint32_t i = 0; i < n && reader_ok(&r); i++) {
        struct producer_state *st = &p->producers[p->n_producers++];
        st->pid = (int64_t)reader_be64(&r);
        st->epoch = (int16_t)reader_be16(&r);
        st->txn_first = txn ? (int64_t)reader_be64(&r) : -1;
        if (st->txn_first < -1 || st->txn_first >= covered)
            reader_fail(&r, -EBADMSG);
        st->n = reader_u8(&r);
        if (st->n > PRODUCER_BATCHES)
            reader_fail(&r, -EBADMSG);
        for (int k = 0; k < st->n && reader_ok(&r); k++) {
            st->b[k].first_seq = (int32_t)reader_be32(&r);
            st->b[k].last_seq = (int32_t)reader_be32(&r);
            st->b[k].first_offset = (int64_t)reader_be64(&r);
            st->b[k].last_offset = (int64_t)reader_be64(&r);
        }
    }
    if (!reader_ok(&r)) {
        producer_clear(p);
        return -EBADMSG;
    }
    return covered;
}

/* Replay the headers of every batch from offset `from` into the state. */
static int replay(struct store_partition *p, int64_t from)
{
    struct store_cursor cur;
    struct store_batch b;
    int rc;
    store_cursor_open(&cur, p, from, 0);
    while ((rc = store_cursor_next(&cur, &b)) == 1) {
        struct batch_header h;
        if ((rc = batch_header_parse(b.data, b.len, &h)))
            break;
        if (h.producer_id < 0 || h.base_offset < from)
            continue;
        if (h.attributes & BATCH_ATTR_CONTROL) {
            int type = txn_marker_type(b.data, b.len);
            if (type >= 0 && (rc = txn_marker_apply(p, &h, type == 1, h.base_offset, -1)))
                break;
        } else {
            (void)producer_record(p, &h, h.base_offset, h.base_offset + h.last_offset_delta);
        }
    }
    store_cursor_close(&cur);
    return rc;
}

int producer_snapshot_load(struct store_partition *p)
{
    char path[4096];
    char *data = NULL;
    size_t len;
    int rc = snapshot_path(path, sizeof path, p);
    if (rc)
        return rc;
    int64_t covered = 0;
    bool stale = false;
    int got = file_read_all(path, 64u << 20, &data, &len);
    if (got == 0) {
        covered = snapshot_parse(p, (const uint8_t *)data, len);
        free(data);
        if (covered == -ENOMEM)
            return -ENOMEM;
        if (covered < 0 || covered > LOAD(p->hw)) { /* unusable: rebuild it all */
            producer_clear(p);
            covered = 0;
            stale = true;
        } else {
            p->snapshot_at = covered;
        }
    } else if (got == -ENOENT && LOAD(p->hw) == 0) {
        p->snapshot_at = 0; /* an empty log: no file says what a snapshot would */
    }
    /* The transaction index: what lies past the snapshot is replayed with it, and
     * an index that does not parse is rebuilt with everything from the log start. */
    rc = txn_index_load(p);
    if (rc == -EBADMSG) {
        producer_clear(p);
        covered = 0;
        stale = true;
    } else if (rc) {
        return rc;
    }
    /* entries a file holds past the snapshot may name markers the log lost: the
     * files are rewritten from memory then, even with nothing to replay, so that
     * no such entry is read back once a later snapshot covers its offset */
    bool dropped = txn_entries_cut(p, covered, true) > 0;
    txn_entries_cut(p, LOAD(p->log_start), false);
    p->producers_at = covered;
    rc = replay(p, covered);
    txn_publish_first(p);
    if (!rc && (stale || dropped || covered < LOAD(p->hw)))
        rc = txn_index_rewrite(p, covered);
    /* A snapshot ahead of the log describes batches a crash took away. Replace it now:
     * once appends carry the log past its offset again it would look valid, and
     * its state would answer retries of lost batches as duplicates. */
    if (!rc && stale)
        rc = producer_snapshot_save(p);
    return rc;
}
