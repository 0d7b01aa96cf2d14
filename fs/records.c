/*
 * records.c - <topic>-<N>/records: the partition as JSON lines.
 *
 * One line per record, from the log start to the high watermark at the time of
 * the read: {"offset":..,"timestamp":..,"key":..,"headers":[{"key":..,"value":..}],
 * "value":..} (render.c says how bytes are shown). It is read_committed: it ends
 * before the first batch of a transaction still open, and skips markers and the
 * batches of aborted transactions.
 *
 * The file has no size a reader could rely on (JSON lengths are only known by
 * rendering), so it reports st_size 0 and is opened with direct_io: the kernel
 * then asks for data until a read returns 0, which is what cat and jq need.
 * Reads are meant to be sequential: a reader continues from where its last read
 * ended; a read at any other offset renders again from the log start and skips
 * up to that offset.
 *
 * An internal topic's files (the topic file, data, follow) read as these JSON
 * lines too, the topic file partition after partition: brookd's own records are
 * binary (Kafka's offset-commit and transaction formats), and `cat` on a terminal
 * should show text, not control bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/store_private.h"

#define RECORDS_FETCH (64u << 10) /* batches fetched per step */
#define RECORDS_MAX   (1u << 30)  /* bound on one step's rendering */

void fs_records_init(struct fs_records *r, struct store_partition *p)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->next = -1;
    writer_init(&r->out, RECORDS_MAX);
    store_cursor_open(&r->cur, p, 0, STORE_CURSOR_COMMITTED);
    store_cursor_limit(&r->cur, INT64_MAX, RECORDS_FETCH);
}

void fs_records_init_topic(struct fs_records *r, struct store_topic *t)
{
    fs_records_init(r, store_topic_partition(t, 0));
    r->t = t;
}

void fs_records_release(struct fs_records *r)
{
    writer_release(&r->out);
    store_cursor_close(&r->cur);
}

/* Render the records of batch b from offset `from` on. */
static int render_batch(struct fs_records *r, const struct store_batch *b, int64_t from)
{
    struct batch_iter it;
    struct record rec;
    int rc = batch_iter_init(&it, b->data, b->len, NULL, false);
    if (!rc && !(it.h.attributes & BATCH_ATTR_CONTROL)) {
        while ((rc = batch_iter_next(&it, &rec)) == 1)
            if (rec.offset >= from && (rc = fs_json_record(&r->out, &rec)))
                break;
    }
    batch_iter_release(&it);
    return rc < 0 ? -EIO : 0;
}

/* Replace the rendered bytes with the next non-empty step, about RECORDS_FETCH
 * bytes of batches: 0, or 1 at the end (the high watermark, or retention passing
 * the reader faster than it can follow). */
static int fill(struct fs_records *r)
{
    writer_reset(&r->out);
    r->out_off = 0;
    size_t taken = 0;
    struct store_batch b;
    int rc = 1;
    while ((r->out.len == 0 || taken < RECORDS_FETCH) &&
           (rc = store_cursor_next(&r->cur, &b)) == 1) {
        int64_t from = r->next > r->cur.from ? r->next : r->cur.from;
        if ((rc = render_batch(r, &b, from)))
            return rc;
        r->next = b.last_offset + 1;
        taken += b.len;
    }
    if (rc < 0 && rc != -ERANGE)
        return rc == -EBADMSG ? -EIO : rc;
    return r->out.len ? 0 : 1;
}

/* Read from partition part on (the first, or the next of a topic's). */
static void move_to(struct fs_records *r, int32_t part)
{
    r->part = part;
    if (r->t)
        r->p = store_topic_partition(r->t, part);
    r->next = -1;
    store_cursor_seek(&r->cur, r->p, 0);
}

/* fill(), going on to the topic's next partition at a partition's end. */
static int fill_any(struct fs_records *r)
{
    int rc = fill(r);
    while (rc == 1 && r->t && r->part + 1 < store_topic_partition_count(r->t)) {
        move_to(r, r->part + 1);
        rc = fill(r);
    }
    return rc;
}

/* Take up to m rendered bytes (into out unless NULL); fills when empty. Returns
 * the count, 0 at the end, or an error. */
static ssize_t take(struct fs_records *r, uint8_t *out, size_t m)
{
    if (r->out_off == r->out.len) {
        int rc = fill_any(r);
        if (rc)
            return rc == 1 ? 0 : rc;
    }
    size_t k = r->out.len - r->out_off < m ? r->out.len - r->out_off : m;
    if (out)
        memcpy(out, r->out.buf + r->out_off, k);
    r->out_off += k;
    r->kpos += (int64_t)k;
    return (ssize_t)k;
}

ssize_t fs_records_read(struct fs_records *r, int64_t off, uint8_t *buf, size_t size)
{
    ssize_t k = 0;
    if (off != r->kpos) {
        r->kpos = 0;
        move_to(r, 0);
        writer_reset(&r->out);
        r->out_off = 0;
    }
    while (r->kpos < off)
        if ((k = take(r, NULL, (size_t)(off - r->kpos))) <= 0)
            return k;
    size_t n = 0;
    while (n < size && (k = take(r, buf + n, size - n)) > 0)
        n += (size_t)k;
    return n || k >= 0 ? (ssize_t)n : k;
}
