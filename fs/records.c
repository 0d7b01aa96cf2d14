/*
 * records.c - <topic>-<N>/records: the partition as JSON lines.
 *
 * One line per record, from the log start to the high watermark at the time of
 * the read: {"offset":..,"timestamp":..,"key":..,"headers":[{"key":..,"value":..}],
 * "value":..} (render.c says how bytes are shown). Control batches are skipped.
 *
 * The file has no size a reader could rely on (JSON lengths are only known by
 * rendering), so it reports st_size 0 and is opened with direct_io: the kernel
 * then asks for data until a read returns 0, which is what cat and jq need.
 * Reads are meant to be sequential: a reader continues from where its last read
 * ended; a read at any other offset renders again from the log start and skips
 * up to that offset.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/private.h"
#include "lib/fileio.h"

#define RECORDS_FETCH (64u << 10) /* batches fetched per step */
#define RECORDS_MAX   (1u << 30)  /* bound on one step's rendering */

void fs_records_init(struct fs_records *r, struct store_partition *p)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->next = -1;
    writer_init(&r->out, RECORDS_MAX);
}

void fs_records_release(struct fs_records *r)
{
    writer_release(&r->out);
    free(r->buf);
}

/* Render the records of the batch at b (len bytes) from offset r->next on. */
static int render_batch(struct fs_records *r, const uint8_t *b, size_t len)
{
    struct batch_iter it;
    struct record rec;
    int rc = batch_iter_init(&it, b, len, NULL, false);
    if (!rc && !(it.h.attributes & BATCH_ATTR_CONTROL)) {
        while ((rc = batch_iter_next(&it, &rec)) == 1)
            if (rec.offset >= r->next && (rc = fs_json_record(&r->out, &rec)))
                break;
    }
    batch_iter_release(&it);
    return rc < 0 ? -EIO : 0;
}

/* Fetch the next run of batches into r->buf: 0, 1 at the high watermark. */
static int fetch(struct fs_records *r, size_t *len, int64_t *next)
{
    struct store_slice sl;
    int rc = -ERANGE;
    for (int tries = 0; tries < 3 && rc == -ERANGE; tries++) {
        int64_t start = store_partition_log_start(r->p);
        if (r->next < start)
            r->next = start; /* retention went past us: continue at the log start */
        rc = store_partition_read(r->p, r->next, RECORDS_FETCH, &sl);
    }
    if (rc)
        return rc == -ERANGE ? 1 : rc;
    if (sl.len == 0)
        return 1;
    if ((size_t)sl.len > r->cap) {
        uint8_t *nb = realloc(r->buf, (size_t)sl.len);
        if (!nb) {
            store_slice_release(&sl);
            return -ENOMEM;
        }
        r->buf = nb;
        r->cap = (size_t)sl.len;
    }
    rc = file_pread_all(sl.fd, r->buf, (size_t)sl.len, sl.pos);
    store_slice_release(&sl);
    *len = (size_t)sl.len;
    *next = sl.next_offset;
    return rc;
}

/* Replace the rendered bytes with the next non-empty step: 0, or 1 at the end. */
static int fill(struct fs_records *r)
{
    writer_reset(&r->out);
    r->out_off = 0;
    while (r->out.len == 0) {
        size_t len, off = 0;
        int64_t next;
        int rc = fetch(r, &len, &next);
        if (rc)
            return rc;
        while (len - off >= BATCH_HEADER_SIZE) {
            struct batch_header h;
            if (batch_header_parse(r->buf + off, len - off, &h) ||
                h.length < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD ||
                (size_t)h.length + BATCH_LOG_OVERHEAD > len - off)
                return -EIO;
            size_t size = BATCH_LOG_OVERHEAD + (size_t)h.length;
            if ((rc = render_batch(r, r->buf + off, size)))
                return rc;
            off += size;
        }
        r->next = next;
    }
    return 0;
}

/* Take up to m rendered bytes (into out unless NULL); fills when empty. Returns
 * the count, 0 at the end, or an error. */
static ssize_t take(struct fs_records *r, uint8_t *out, size_t m)
{
    if (r->out_off == r->out.len) {
        int rc = fill(r);
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
        r->next = -1;
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
