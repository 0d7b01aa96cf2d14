/*
 * cursor.c - walking a partition's batches: the one reader of record bytes.
 *
 * store_partition_read() names a run of whole batches in one segment (a dup'd
 * descriptor and a range); the cursor reads that run into its buffer with
 * file_pread_all() and hands the batches out one by one, each framed and checked
 * to lie inside what was read. The buffer is kept from read to read and grows
 * only for a run longer than any before, which the store bounds: a run is at most
 * read_bytes, or one batch, and no batch the store accepted exceeds
 * batch_limits_default.max_batch. A longer run is damage, not a reason to allocate.
 *
 * Retention runs beside readers: the log start may pass the cursor between two
 * reads, and even between looking at the log start and reading. So the cursor
 * checks the log start before each read and, when a read still says -ERANGE while
 * the cursor is no longer below the log start, that is the answer (the offset is
 * past the high watermark); otherwise it looks again, a bounded number of times.
 *
 * STORE_CURSOR_COMMITTED (read_committed) looks at each batch's header before
 * handing it out: at or past the last stable offset the walk pauses (the batch stays
 * buffered and is looked at again on the next call); markers and the batches of
 * aborted transactions (txn.c's index) are stepped over.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fileio.h"
#include "proto/record.h"
#include "store/private.h"

#define CURSOR_TRIES 3 /* reads refused as below a log start that keeps moving */

void store_cursor_open(struct store_cursor *c, struct store_partition *p, int64_t from, int flags)
{
    *c = (struct store_cursor){
        .p = p,
        .flags = flags,
        .from = from,
        .end = INT64_MAX,
        .next = from,
        .read_bytes = STORE_CURSOR_READ,
    };
}

void store_cursor_limit(struct store_cursor *c, int64_t end, size_t read_bytes)
{
    c->end = end;
    if (read_bytes)
        c->read_bytes = read_bytes < batch_limits_default.max_batch
                            ? read_bytes
                            : batch_limits_default.max_batch;
}

void store_cursor_seek(struct store_cursor *c, struct store_partition *p, int64_t from)
{
    c->p = p;
    c->from = c->next = from;
    c->pos = c->len = 0;
}

void store_cursor_close(struct store_cursor *c)
{
    free(c->buf);
    c->buf = NULL;
    c->cap = c->len = c->pos = 0;
}

/* Ask the store for the run at c->next, following the log start unless strict. */
static int cursor_locate(struct store_cursor *c, struct store_slice *sl)
{
    int rc = -ERANGE;
    for (int tries = 0; tries < CURSOR_TRIES && rc == -ERANGE; tries++) {
        int64_t start = store_partition_log_start(c->p);
        if (c->next < start) {
            if (c->flags & STORE_CURSOR_STRICT)
                return -ERANGE;
            c->next = start;
            if (c->from < start)
                c->from = start;
        }
        rc = store_partition_read(c->p, c->next, c->read_bytes, sl);
        if (rc == -ERANGE && c->next >= store_partition_log_start(c->p))
            break; /* past the high watermark */
    }
    return rc == -ENOTSUP ? -EBADMSG : rc;
}

static int cursor_reserve(struct store_cursor *c, size_t len)
{
    if (len <= c->cap)
        return 0;
    if (len > batch_limits_default.max_batch && len > c->read_bytes)
        return -EBADMSG;
    uint8_t *nb = realloc(c->buf, len);
    if (!nb)
        return -ENOMEM;
    c->buf = nb;
    c->cap = len;
    return 0;
}

/* Read the next run into the buffer: 1, 0 at the high watermark, or an error. */
static int cursor_fill(struct store_cursor *c)
{
    struct store_slice sl;
    int rc = cursor_locate(c, &sl);
    if (!rc && sl.len == 0)
        rc = 1;
    if (!rc)
        rc = cursor_reserve(c, (size_t)sl.len);
    if (!rc)
        rc = file_pread_all(sl.fd, c->buf, (size_t)sl.len, sl.pos);
    store_slice_release(&sl);
    if (rc == -EBADMSG)
        c->end = c->next; /* damage where the run starts: nothing to go on from */
    if (rc)
        return rc == 1 ? 0 : rc == -ENODATA ? -EIO : rc;
    c->pos = 0;
    c->len = (size_t)sl.len;
    c->next = sl.next_offset > c->next ? sl.next_offset : c->next + 1; /* always forward */
    return 1;
}

/* For a read_committed walk: 0 when the batch is at or past the last stable offset
 * (the walk stops before it and resumes there once it is decided), 2 when it is
 * not shown (a marker, aborted data), 1 when it is. */
static int cursor_committed(struct store_cursor *c, const struct batch_header *h)
{
    if (h->base_offset + h->last_offset_delta >= store_partition_last_stable(c->p))
        return 0;
    if (h->attributes & BATCH_ATTR_CONTROL)
        return 2;
    if ((h->attributes & BATCH_ATTR_TRANSACTIONAL) &&
        txn_aborted_at(c->p, h->producer_id, h->base_offset))
        return 2;
    return 1;
}

int store_cursor_next(struct store_cursor *c, struct store_batch *b)
{
    for (;;) {
        if (c->pos == c->len) {
            if (c->next >= c->end)
                return 0;
            int rc = cursor_fill(c);
            if (rc <= 0)
                return rc;
        }
        const uint8_t *at = c->buf + c->pos;
        size_t avail = c->len - c->pos;
        struct batch_header h;
        if (batch_header_parse(at, avail, &h) ||
            h.length < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD ||
            (size_t)h.length > avail - BATCH_LOG_OVERHEAD) {
            c->pos = c->len; /* no boundary to go on from in this run */
            return -EBADMSG;
        }
        if (h.base_offset >= c->end) {
            c->pos = c->len;
            c->next = c->end;
            return 0;
        }
        int show = c->flags & STORE_CURSOR_COMMITTED ? cursor_committed(c, &h) : 1;
        if (show == 0)
            return 0;
        size_t len = BATCH_LOG_OVERHEAD + (size_t)h.length;
        c->pos += len;
        if (show == 2)
            continue; /* a marker or aborted data: the next batch */
        *b = (struct store_batch){
            .data = at,
            .len = len,
            .base_offset = h.base_offset,
            .last_offset = h.base_offset + h.last_offset_delta,
        };
        return 1;
    }
}
