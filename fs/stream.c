/*
 * stream.c - a topic file or partition data file at any byte position.
 *
 * The stream is each record's value followed by "\n". Its positions come from
 * the store's topic journal: one entry per appended batch, in append order, with
 * running totals of records and value bytes for the topic and for the batch's
 * partition. An entry is a "slot": for the topic file it starts at
 * values_before + records_before and is value_bytes + records long; for a
 * partition file the part_* totals give the same within the partition. Totals
 * count from the topic's creation, so positions never move: not across restarts,
 * not when retention deletes segments, not when the journal drops old entries.
 *
 * Finding a position: for the topic file a binary search over the journal (the
 * starts increase with the index). For a partition file the starts of its
 * entries increase too, but other partitions' entries sit in between, so each
 * topic keeps sparse anchors per partition (struct fs_jindex): a binary search
 * over them, then a forward scan of at most a few thousand entries. Sequential
 * reads never search: they take the next entry of the journal (read 64 at a time).
 *
 * Rendering a slot: the batch is found by (partition, base offset) with a store
 * cursor (a few kept per reader, each reading 256 KiB runs; a reader going
 * forward finds the next batch in what its cursor has read), and its records are
 * iterated - decompressed when they were compressed on disk. An iterator stays
 * open between reads, so a reader that stops half-way through a batch continues
 * without decoding it again.
 *
 * Transactions: the stream shows what a read_committed consumer sees. It ends
 * where the first batch not yet stable sits (the first journal entry, in append
 * order, whose base offset is at or past its partition's last stable offset):
 * bytes of an open transaction are simply not there yet, and nothing after them
 * is either, so a reader never gets bytes that a later abort would take back.
 * When the transaction commits the end moves on over its records; when it aborts
 * its slots render as nothing (the chunk cursors are read_committed and step over
 * aborted batches and markers), like compacted records - positions never move.
 *
 * Bytes whose records are gone - segments deleted by retention, records removed
 * by compaction (a compacted batch keeps its slot but renders shorter) - do not
 * exist: a read that starts there begins at the next live byte. The kernel only
 * knows how many bytes it got, so each reader remembers which stream position its
 * next expected offset stands for (kpos -> apos); a sequential reader therefore
 * continues without repeats or gaps, while a read at any other offset maps that
 * offset directly. A reader that stopped in the middle of a record whose batch
 * is deleted meanwhile still gets the rest of that record (it is in hand), so
 * it never sees a torn line; the next record it sees is the first live one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/store_private.h"
#include "lib/grow.h"

#define ANCHOR_EVERY 64   /* entries of a partition between anchors */
#define ANCHOR_SPAN  4096 /* or journal entries, whichever comes first */
#define SEEK_TRIES   3    /* retries when the journal is trimmed under a search */

static int64_t entry_len(const struct store_journal_entry *e)
{
    return e->records > 0 ? e->value_bytes + e->records : 0;
}

static int64_t entry_start(const struct store_journal_entry *e, int32_t partition)
{
    return partition < 0 ? e->values_before + e->records_before
                         : e->part_values_before + e->part_records_before;
}

static void journal_bounds(struct store_topic *t, int64_t *total, int64_t *first)
{
    (void)store_journal_read(t, 0, NULL, 0, total, first);
}

/* Where the journal entries [first, total) of the stream stop being stable: the
 * start of the first one at or past its partition's last stable offset (lso[],
 * read after total was), or INT64_MAX. pending counts the partitions whose entries
 * may still be unstable; the walk goes back from the end until each has shown an
 * entry below its last stable offset. */
static int64_t unstable_start(struct store_topic *t, int32_t partition, int64_t first,
                              int64_t total, const int64_t *lso, bool *pending, int32_t n_parts,
                              int32_t n_pending)
{
    struct store_journal_entry e[128];
    int64_t cut = INT64_MAX;
    for (int64_t hi = total; hi > first && n_pending > 0;) {
        int64_t lo = hi - 128 > first ? hi - 128 : first, t2, f2;
        int k = store_journal_read(t, lo, e, (size_t)(hi - lo), &t2, &f2);
        if (k <= 0)
            break; /* trimmed meanwhile: what was read decides */
        for (int i = k - 1; i >= 0 && n_pending > 0; i--) {
            int32_t q = e[i].partition;
            if ((partition >= 0 && q != partition) || q < 0 || q >= n_parts || !pending[q])
                continue;
            if (e[i].base_offset >= lso[q]) {
                cut = entry_start(&e[i], partition);
            } else {
                pending[q] = false;
                n_pending--;
            }
        }
        hi = lo;
    }
    return cut;
}

int64_t fs_stream_size(struct store_topic *t, int32_t partition)
{
    int64_t records, values, total, first;
    /* the order matters: the size, then the journal's end, then the last stable
     * offsets - a batch is journaled after its transaction holds the last stable
     * offset back, so every entry counted is judged by an offset read after it */
    store_journal_totals(t, partition, &records, &values);
    int64_t size = records + values;
    journal_bounds(t, &total, &first);
    int32_t n = store_topic_partition_count(t), n_pending = 0;
    if (partition >= n)
        return size;
    int64_t *lso = calloc((size_t)n + 1, sizeof *lso);
    bool *pending = calloc((size_t)n + 1, sizeof *pending);
    if (!lso || !pending) {
        free(lso);
        free(pending);
        return 0; /* nothing shown rather than something unstable */
    }
    for (int32_t q = 0; q < n; q++) {
        struct store_partition *p =
            partition < 0 || q == partition ? store_topic_partition_figures(t, q) : NULL;
        lso[q] = p ? store_partition_last_stable(p) : INT64_MAX;
        pending[q] = p && lso[q] < store_partition_high_watermark(p);
        n_pending += pending[q];
    }
    int64_t cut = n_pending ? unstable_start(t, partition, first, total, lso, pending, n, n_pending)
                            : INT64_MAX;
    free(lso);
    free(pending);
    return cut < size ? cut : size;
}

/* ---- partition anchors ---- */

void fs_jindex_init(struct fs_jindex *jx)
{
    memset(jx, 0, sizeof *jx);
    pthread_mutex_init(&jx->mu, NULL);
}

void fs_jindex_release(struct fs_jindex *jx)
{
    for (int32_t i = 0; i < jx->nparts; i++)
        free(jx->parts[i].v);
    free(jx->parts);
    pthread_mutex_destroy(&jx->mu);
}

static int anchors_add(struct fs_jindex *jx, int64_t jidx, const struct store_journal_entry *e)
{
    if (entry_len(e) == 0 || e->partition < 0)
        return 0;
    if (e->partition >= jx->nparts) {
        struct fs_anchors *v = realloc(jx->parts, (size_t)(e->partition + 1) * sizeof *v);
        if (!v)
            return -ENOMEM;
        memset(v + jx->nparts, 0, (size_t)(e->partition + 1 - jx->nparts) * sizeof *v);
        jx->parts = v;
        jx->nparts = e->partition + 1;
    }
    struct fs_anchors *a = &jx->parts[e->partition];
    if (a->n && a->since < ANCHOR_EVERY && jidx - a->v[a->n - 1].jidx < ANCHOR_SPAN) {
        a->since++;
        return 0;
    }
    if (ARRAY_GROW(a->v, a->cap, a->n + 1))
        return -ENOMEM;
    a->v[a->n++] = (struct fs_anchor){entry_start(e, e->partition), jidx};
    a->since = 0;
    return 0;
}

/* Index the journal up to its end; rebuild when it was trimmed. jx->mu held. */
static int jindex_refresh(struct fs_jindex *jx, struct store_topic *t)
{
    int64_t total, first;
    journal_bounds(t, &total, &first);
    if (!jx->built || first != jx->first_kept) {
        for (int32_t i = 0; i < jx->nparts; i++)
            jx->parts[i].n = jx->parts[i].since = 0;
        jx->first_kept = jx->scanned = first;
        jx->built = true;
    }
    struct store_journal_entry e[128];
    while (jx->scanned < total) {
        int k = store_journal_read(t, jx->scanned, e, 128, &total, &first);
        if (k <= 0)
            return k; /* 0: trimmed meanwhile, the next call rebuilds */
        for (int i = 0; i < k; i++) {
            int rc = anchors_add(jx, jx->scanned + i, &e[i]);
            if (rc)
                return rc;
        }
        jx->scanned += k;
    }
    return 0;
}

/* A journal index from which a forward scan finds position a of partition p:
 * 0 with *start set, 1 when p has no entries, or an error. */
static int jindex_find(struct fs_jindex *jx, struct store_topic *t, int32_t p, int64_t a,
                       int64_t *start)
{
    pthread_mutex_lock(&jx->mu);
    int rc = jindex_refresh(jx, t);
    if (rc == 0 && (p >= jx->nparts || jx->parts[p].n == 0))
        rc = 1;
    if (rc == 0) {
        const struct fs_anchors *v = &jx->parts[p];
        size_t lo = 0, hi = v->n;
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (v->v[mid].pos <= a)
                lo = mid;
            else
                hi = mid;
        }
        *start = v->v[lo].jidx;
    }
    pthread_mutex_unlock(&jx->mu);
    return rc;
}

/* ---- journal access ---- */

/* Entry idx through the read-ahead buffer: 0, 1 past the end, -ESTALE when the
 * journal no longer holds it, or an error. */
static int jentry(struct fs_stream *st, int64_t idx, struct store_journal_entry *e)
{
    if (idx >= st->jfirst && idx < st->jfirst + (int64_t)st->jn) {
        *e = st->jbuf[idx - st->jfirst];
        return 0;
    }
    int64_t total, first;
    int k = store_journal_read(st->t, idx, st->jbuf, FS_JBUF, &total, &first);
    if (k < 0)
        return k;
    st->jfirst = idx;
    st->jn = (size_t)k;
    if (k == 0)
        return idx < first ? -ESTALE : 1;
    *e = st->jbuf[0];
    return 0;
}

/* The first entry of this stream from index idx on with bytes after position a
 * becomes the slot. 0, 1 at the end, or an error. */
static int scan_from(struct fs_stream *st, int64_t idx, int64_t a)
{
    struct store_journal_entry e;
    for (;; idx++) {
        int rc = jentry(st, idx, &e);
        if (rc)
            return rc;
        if (st->partition >= 0 && e.partition != st->partition)
            continue;
        int64_t start = entry_start(&e, st->partition), len = entry_len(&e);
        if (len > 0 && start + len > a) {
            st->slot = (struct fs_slot){idx, e, start, len};
            st->have_slot = true;
            return 0;
        }
    }
}

/* The last journal index whose topic position is <= a (or the first kept). */
static int topic_find(struct fs_stream *st, int64_t a, int64_t *start)
{
    int64_t total, first, lo, hi;
    journal_bounds(st->t, &total, &first);
    if (first >= total)
        return 1;
    for (lo = first, hi = total; hi - lo > 1;) {
        int64_t mid = lo + (hi - lo) / 2, t2, f2;
        struct store_journal_entry e;
        int k = store_journal_read(st->t, mid, &e, 1, &t2, &f2);
        if (k < 0)
            return k;
        if (k == 0)
            return -ESTALE;
        if (entry_start(&e, -1) <= a)
            lo = mid;
        else
            hi = mid;
    }
    *start = lo;
    return 0;
}

/* ---- batches ---- */

static void drop_iter(struct fs_stream *st)
{
    if (st->iter_live)
        batch_iter_release(&st->it);
    st->iter_live = st->rec_live = false;
}

/* A chunk of partition q whose walk holds base: at or after its last batch and
 * before what it has read ends. */
static struct fs_chunk *chunk_for(struct fs_stream *st, int32_t q, int64_t base)
{
    for (int i = 0; i < FS_CHUNKS; i++) {
        struct fs_chunk *c = &st->chunks[i];
        if (c->partition == q && c->have && c->at.base_offset <= base && base < c->cur.next)
            return c;
    }
    return NULL;
}

/* Point the least recently used chunk at the batch holding base in partition q. */
static struct fs_chunk *chunk_seek(struct fs_stream *st, struct store_partition *p, int32_t q,
                                   int64_t base)
{
    struct fs_chunk *c = &st->chunks[0];
    for (int i = 1; i < FS_CHUNKS; i++)
        if (st->chunks[i].used < c->used)
            c = &st->chunks[i];
    if (c->partition < 0 && !c->cur.p) {
        store_cursor_open(&c->cur, p, base, STORE_CURSOR_STRICT | STORE_CURSOR_COMMITTED);
        store_cursor_limit(&c->cur, INT64_MAX, FS_CHUNK_BYTES);
    } else {
        store_cursor_seek(&c->cur, p, base);
    }
    c->partition = q;
    c->have = false;
    return c;
}

/* The batch with base offset base in c's walk: 0, 1 when the partition no longer
 * has it, or an error (-EIO when the bytes do not frame). Goes forward from the
 * last batch handed out, so a reader going forward visits each header once. */
static int chunk_batch(struct fs_chunk *c, int64_t base, const uint8_t **p, size_t *len)
{
    if (c->have && c->at.base_offset > base) {
        store_cursor_seek(&c->cur, c->cur.p, base);
        c->have = false;
    }
    int rc = 1;
    while (!(c->have && c->at.base_offset >= base) &&
           (rc = store_cursor_next(&c->cur, &c->at)) == 1)
        c->have = true;
    if (rc != 1) {
        c->have = false;
        return rc == 0 || rc == -ERANGE ? 1 : rc == -EBADMSG ? -EIO : rc;
    }
    if (c->at.base_offset > base)
        return 1;
    *p = c->at.data;
    *len = c->at.len;
    return 0;
}

/* Whether retention deleted the slot's batch since it was fetched. */
static bool slot_deleted(struct fs_stream *st)
{
    struct store_partition *p = store_topic_partition(st->t, st->slot.e.partition);
    return !p || st->slot.e.base_offset < store_partition_log_start(p);
}

/* Open the iterator on the slot's batch: 0, 1 when the batch is gone, or an error. */
static int slot_open(struct fs_stream *st)
{
    const struct store_journal_entry *e = &st->slot.e;
    struct store_partition *p = store_topic_partition(st->t, e->partition);
    if (slot_deleted(st))
        return 1;
    struct fs_chunk *c = chunk_for(st, e->partition, e->base_offset);
    const uint8_t *b;
    size_t blen;
    int rc;
    if (!c)
        c = chunk_seek(st, p, e->partition, e->base_offset);
    c->used = ++st->tick;
    if ((rc = chunk_batch(c, e->base_offset, &b, &blen)))
        return rc;
    if ((rc = batch_iter_init(&st->it, b, blen, NULL, false))) {
        batch_iter_release(&st->it);
        return -EIO;
    }
    st->iter_live = true;
    st->rec_live = false;
    st->ipos = st->slot.start;
    return 0;
}

/* Copy the current record's bytes from stream position a: at most m of them. */
static size_t record_copy(const struct record *r, int64_t k, uint8_t *out, size_t m)
{
    size_t vlen = r->value_len > 0 ? (size_t)r->value_len : 0, done = 0;
    if ((size_t)k < vlen) {
        done = vlen - (size_t)k < m ? vlen - (size_t)k : m;
        memcpy(out, r->value + k, done);
    }
    if (done < m)
        out[done++] = '\n';
    return done;
}

/* Make rec the slot's next record: 1, 0 when the slot has no more live records
 * (compaction left fewer than it had, or retention took the batch - a record
 * already begun is still finished), or -EIO. */
static int record_next(struct fs_stream *st)
{
    if (st->rec_live)
        return 1;
    if (slot_deleted(st))
        return 0;
    int rc = batch_iter_next(&st->it, &st->rec);
    if (rc < 0)
        return -EIO;
    st->rec_live = rc == 1;
    return rc;
}

/* Render the current slot from position *a into buf[*n, size). A slot whose
 * records are gone (wholly or at its end) moves *a to the slot's end. */
static int slot_render(struct fs_stream *st, int64_t *a, uint8_t *buf, size_t size, size_t *n)
{
    int64_t end = st->slot.start + st->slot.len;
    if (!st->iter_live || st->ipos > *a) {
        drop_iter(st);
        int orc = slot_open(st);
        if (orc == 1)
            *a = end; /* the batch is gone */
        if (orc)
            return orc == 1 ? 0 : orc;
    }
    int rc = 1;
    while (*n < size && *a < end && (rc = record_next(st)) == 1) {
        int64_t rlen = (st->rec.value_len > 0 ? st->rec.value_len : 0) + 1;
        if (st->ipos + rlen > end)
            rlen = end - st->ipos; /* never past the slot */
        if (st->ipos + rlen > *a) {
            int64_t k = *a - st->ipos;
            size_t m = (size_t)(rlen - k) < size - *n ? (size_t)(rlen - k) : size - *n;
            m = record_copy(&st->rec, k, buf + *n, m);
            *n += m;
            *a += (int64_t)m;
            if (*a < st->ipos + rlen)
                break; /* buf is full inside the record */
        }
        st->ipos += rlen;
        st->rec_live = false;
    }
    if (rc < 0)
        return rc;
    if (rc == 0)
        *a = end;
    if (*a >= end)
        drop_iter(st);
    return 0;
}

/* ---- the stream ---- */

void fs_stream_init(struct fs_stream *st, struct store_topic *t, int32_t partition,
                    struct fs_jindex *jx)
{
    memset(st, 0, sizeof *st);
    st->t = t;
    st->partition = partition;
    st->jx = jx;
    for (int i = 0; i < FS_CHUNKS; i++)
        st->chunks[i].partition = -1;
}

void fs_stream_release(struct fs_stream *st)
{
    drop_iter(st);
    for (int i = 0; i < FS_CHUNKS; i++)
        store_cursor_close(&st->chunks[i].cur);
}

/* Make the slot the first one with bytes at or after a: 0, 1 at the end. */
static int stream_seek(struct fs_stream *st, int64_t a)
{
    drop_iter(st);
    st->have_slot = false;
    int rc = -ESTALE;
    for (int i = 0; i < SEEK_TRIES && rc == -ESTALE; i++) {
        int64_t start = 0;
        rc = st->partition < 0 ? topic_find(st, a, &start)
                               : jindex_find(st->jx, st->t, st->partition, a, &start);
        if (rc == 0)
            rc = scan_from(st, start, a);
    }
    return rc;
}

/* Move to the slot after the current one. */
static int stream_next(struct fs_stream *st)
{
    int64_t a = st->slot.start + st->slot.len;
    drop_iter(st);
    st->have_slot = false;
    int rc = scan_from(st, st->slot.jidx + 1, a);
    return rc == -ESTALE ? stream_seek(st, a) : rc;
}

ssize_t fs_stream_read(struct fs_stream *st, int64_t off, uint8_t *buf, size_t size)
{
    int64_t a = off == st->kpos ? st->apos : off;
    int64_t total = fs_stream_size(st->t, st->partition);
    size_t n = 0;
    int rc = 0;
    while (n < size && a < total) {
        int64_t end = st->slot.start + st->slot.len;
        if (!st->have_slot || a < st->slot.start || a >= end) {
            rc = st->have_slot && a == end ? stream_next(st) : stream_seek(st, a);
            if (rc)
                break;
            if (a < st->slot.start)
                a = st->slot.start; /* the bytes before are gone */
        }
        if ((rc = slot_render(st, &a, buf, size, &n)))
            break;
    }
    if (rc < 0 && n == 0)
        return rc;
    st->kpos = off + (int64_t)n;
    st->apos = a;
    return (ssize_t)n;
}

bool fs_stream_at_end(struct fs_stream *st, int64_t off)
{
    int64_t a = off == st->kpos ? st->apos : off;
    return a >= fs_stream_size(st->t, st->partition);
}
