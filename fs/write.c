/*
 * write.c - appending through the view: lines in, batches out.
 *
 * Every complete line of a write() becomes one record (null key, the line
 * without its "\n" as value). The lines of one write() go to one partition - the
 * file's own for <topic>-<N>/data, else the topic's round-robin pick for that
 * call (a sticky partitioner: one partition per write() call's batch, the next
 * partition for the next call) - in as few batches as max.message.bytes allows.
 * The write offset is ignored: the backend appends at the true end, whatever the
 * kernel believed the size to be.
 *
 * A partial line stays in its handle (struct fs_lines) until its newline arrives
 * or the file is released; nobody else's records can split it. A line that can
 * never fit a batch (or the budget below) fails the write() that carries it with
 * EFBIG before anything of that write is stored, and the rest of that line is
 * dropped up to its newline.
 *
 * Memory: every handle's line buffer is charged to one budget per mount
 * (fuse.partial.max.bytes), by the bytes allocated, with an atomic counter since
 * handles are written from any FUSE thread. A write whose line the budget cannot
 * hold now fails with ENOBUFS and changes nothing, so it can be retried; a
 * handle closed after such a failure drops its held line rather than store it cut
 * short. Buffers shrink back once their long line is stored.
 * If the store fails half-way through a write, the write reports the bytes of the
 * lines that were stored (a short write) so the writer retries exactly the rest.
 *
 * Durability: each handle remembers, per partition, the backend's token for what
 * it appended (the store's end offset; the remote backend's count of records
 * queued); FLUSH and FSYNC ask the backend to call back when those are durable
 * and answer the kernel from that callback (the store's flusher thread, the
 * remote producer's thread), so a close() waiting holds no FUSE worker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/private.h"
#include "lib/clock.h"
#include "lib/log.h"

/* ---- the budget ---- */

bool fs_budget_charge(struct fs_budget *b, size_t n)
{
    if (!b)
        return true;
    size_t used = atomic_load_explicit(&b->used, memory_order_relaxed);
    do {
        if (used > b->max || n > b->max - used)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&b->used, &used, used + n, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

void fs_budget_release(struct fs_budget *b, size_t n)
{
    if (b && n)
        atomic_fetch_sub_explicit(&b->used, n, memory_order_relaxed);
}

/* ---- the line assembler ---- */

void fs_lines_init(struct fs_lines *l, size_t max, struct fs_budget *budget)
{
    *l = (struct fs_lines){.max = max, .budget = budget};
}

/* Free the buffer and give its bytes back to the budget. */
static void lines_free(struct fs_lines *l)
{
    free(l->buf);
    fs_budget_release(l->budget, l->cap);
    l->buf = NULL;
    l->cap = 0;
}

void fs_lines_release(struct fs_lines *l)
{
    lines_free(l);
    fs_lines_init(l, l->max, l->budget);
}

/* Once a long line is stored, its big buffer goes back to the budget (all of it,
 * or all but FS_LINES_KEEP when a short partial line follows): one long line must
 * not keep other writers' share. */
static void lines_trim(struct fs_lines *l)
{
    if (l->cap <= FS_LINES_KEEP || l->len > FS_LINES_KEEP)
        return;
    if (l->len == 0) {
        lines_free(l);
        return;
    }
    uint8_t *nb = realloc(l->buf, FS_LINES_KEEP);
    if (!nb)
        return; /* keeps the bigger buffer, still charged */
    fs_budget_release(l->budget, l->cap - FS_LINES_KEEP);
    l->buf = nb;
    l->cap = FS_LINES_KEEP;
}

static int lines_reserve(struct fs_lines *l, size_t need)
{
    if (need <= l->cap)
        return 0;
    size_t cap = l->cap ? l->cap * 2 : 256;
    if (cap < need)
        cap = need;
    if (cap > l->max) /* need is at most max (fs_lines_check): bounded */
        cap = l->max;
    if (!fs_budget_charge(l->budget, cap - l->cap)) {
        cap = need; /* no room to grow ahead: try the bare need */
        if (!fs_budget_charge(l->budget, cap - l->cap))
            return -ENOBUFS;
    }
    uint8_t *nb = realloc(l->buf, cap);
    if (!nb) {
        fs_budget_release(l->budget, cap - l->cap);
        return -ENOMEM;
    }
    l->buf = nb;
    l->cap = cap;
    return 0;
}

/* The write carries (part of) an overlong line: drop it and resynchronise at the
 * newline after this write. */
static int lines_overlong(struct fs_lines *l, const uint8_t *in, size_t n)
{
    l->len = 0;
    l->discarding = in[n - 1] != '\n';
    l->refused = false;
    lines_trim(l);
    return -EFBIG;
}

int fs_lines_check(struct fs_lines *l, const uint8_t *in, size_t n)
{
    if (n == 0)
        return 0;
    const uint8_t *nl = memchr(in, '\n', n);
    size_t first = nl ? (size_t)(nl - in) : n;
    if (l->discarding || l->len + first > l->max)
        return lines_overlong(l, in, n);
    size_t tail = nl ? 0 : l->len + n; /* what stays held afterwards */
    for (const uint8_t *p = nl ? nl + 1 : in + n; p < in + n;) {
        const uint8_t *q = memchr(p, '\n', (size_t)(in + n - p));
        size_t len = q ? (size_t)(q - p) : (size_t)(in + n - p);
        if (len > l->max)
            return lines_overlong(l, in, n);
        if (!q)
            tail = len;
        p = q ? q + 1 : in + n;
    }
    size_t join = l->len ? l->len + first : 0; /* a line not joined is used in place */
    int rc = lines_reserve(l, join > tail ? join : tail);
    l->refused = rc != 0; /* a writer that gives up now must not store a cut line */
    return rc;
}

int fs_lines_next(struct fs_lines *l, const uint8_t *in, size_t n, size_t *pos,
                  const uint8_t **line, size_t *len)
{
    if (*pos >= n)
        return 0;
    const uint8_t *nl = memchr(in + *pos, '\n', n - *pos);
    if (!nl)
        return 0;
    size_t piece = (size_t)(nl - in) - *pos;
    if (*pos == 0 && l->len) {
        memcpy(l->buf + l->len, in, piece); /* room reserved by fs_lines_check */
        *line = l->buf;
        *len = l->len + piece;
    } else {
        *line = in + *pos;
        *len = piece;
    }
    *pos = (size_t)(nl - in) + 1;
    return 1;
}

size_t fs_lines_done(struct fs_lines *l, const uint8_t *in, size_t n, size_t stored, bool all)
{
    if (stored > 0)
        l->len = 0; /* the held bytes went out with the first line */
    if (!all) {
        lines_trim(l);
        return stored;
    }
    if (n > stored)
        memcpy(l->buf + l->len, in + stored, n - stored);
    l->len += n - stored;
    lines_trim(l);
    return n;
}

bool fs_lines_take(struct fs_lines *l, const uint8_t **line, size_t *len)
{
    bool any = l->len > 0 && !l->discarding && !l->refused;
    *line = l->buf;
    *len = l->len;
    l->len = 0;
    l->discarding = false;
    l->refused = false;
    return any;
}

/* ---- lines into the backend ---- */

/* The lines of one write() on their way to one partition. */
struct appender {
    struct fs_handle *h;
    const struct fs_backend *b;
    int32_t partition;
    struct fs_bwriter *w;
};

static int32_t pick_partition(struct fs_handle *h)
{
    if (h->node->partition >= 0)
        return h->node->partition;
    struct fs_btopic_info info;
    fs_ref_info(&h->ref, &info);
    uint32_t n = (uint32_t)info.partitions;
    uint32_t rr = atomic_fetch_add_explicit(&h->node->topic->rr, 1, memory_order_relaxed);
    return n ? (int32_t)(rr % n) : 0;
}

static int appender_init(struct appender *a, struct fs_handle *h)
{
    a->h = h;
    a->b = h->ref.b;
    a->partition = pick_partition(h);
    a->w = NULL;
    return a->b->ops->writer_open(a->b->be, h->ref.t, a->partition, &a->w);
}

/* Remember that h must wait for token of partition q at FLUSH. */
static int note_durable(struct fs_handle *h, int32_t q, int64_t token)
{
    if (q >= h->ndurable) {
        int64_t *v = realloc(h->durable, (size_t)(q + 1) * sizeof *v);
        if (!v)
            return -ENOMEM;
        memset(v + h->ndurable, 0, (size_t)(q + 1 - h->ndurable) * sizeof *v);
        h->durable = v;
        h->ndurable = q + 1;
    }
    if (token > h->durable[q])
        h->durable[q] = token;
    return 0;
}

/* Free the writer; what it stored is waited for at the next FLUSH. */
static int appender_release(struct appender *a)
{
    int64_t token = 0;
    if (!a->w)
        return 0;
    a->b->ops->writer_close(a->w, &token);
    a->w = NULL;
    return token > 0 ? note_durable(a->h, a->partition, token) : 0;
}

static int appender_flush(struct appender *a)
{
    return a->b->ops->writer_flush(a->w);
}

/* Add one line; *flushed when the lines before it were stored meanwhile. */
static int appender_add(struct appender *a, const uint8_t *line, size_t len, bool *flushed)
{
    return a->b->ops->writer_add(a->w, line, len, flushed);
}

/* Append the complete lines of in[0, n) through a; returns the bytes of in the
 * stored lines cover in *stored, and 0 or the first error. */
static int append_lines(struct appender *a, const uint8_t *in, size_t n, size_t *stored)
{
    size_t pos = 0, end = 0, len;
    const uint8_t *line;
    int rc = 0;
    *stored = 0;
    while (fs_lines_next(&a->h->lines, in, n, &pos, &line, &len) == 1) {
        bool flushed;
        rc = appender_add(a, line, len, &flushed);
        if (flushed)
            *stored = end;
        if (rc)
            return rc;
        end = pos;
    }
    if ((rc = appender_flush(a)))
        return rc;
    *stored = end;
    return 0;
}

static ssize_t write_locked(struct fs_handle *h, const uint8_t *in, size_t n)
{
    int rc = fs_lines_check(&h->lines, in, n);
    if (rc)
        return rc;
    if (!memchr(in, '\n', n)) /* nothing complete: just hold it */
        return (ssize_t)fs_lines_done(&h->lines, in, n, 0, true);
    struct appender a;
    size_t stored = 0;
    rc = appender_init(&a, h);
    if (!rc)
        rc = append_lines(&a, in, n, &stored);
    int rc2 = appender_release(&a);
    rc = rc ? rc : rc2;
    size_t accepted = fs_lines_done(&h->lines, in, n, stored, rc == 0);
    return accepted ? (ssize_t)accepted : rc;
}

ssize_t fs_write(struct fs *fs, struct fs_handle *h, const uint8_t *in, size_t n)
{
    (void)fs;
    pthread_mutex_lock(&h->mu);
    ssize_t rc = write_locked(h, in, n);
    pthread_mutex_unlock(&h->mu);
    return rc;
}

int fs_write_rest(struct fs *fs, struct fs_handle *h)
{
    const uint8_t *line;
    size_t len;
    bool flushed;
    struct appender a;
    (void)fs;
    pthread_mutex_lock(&h->mu);
    if (h->lines.refused && h->lines.len)
        log_warn_every("brook.fs",
                       "Dropped a line of %s at close: %zu bytes without newline held when its "
                       "last write failed",
                       h->node->topic->name, h->lines.len);
    if (!fs_lines_take(&h->lines, &line, &len)) {
        pthread_mutex_unlock(&h->mu);
        return 0;
    }
    int rc = appender_init(&a, h);
    if (!rc)
        rc = appender_add(&a, line, len, &flushed);
    if (!rc)
        rc = appender_flush(&a);
    int rc2 = appender_release(&a);
    rc = rc ? rc : rc2;
    pthread_mutex_unlock(&h->mu);
    if (rc)
        log_warn("brook.fs", "Dropped the last line (%zu bytes, no newline) written to %s: %s", len,
                 h->node->topic->name, strerror(fs_errno(rc)));
    return rc;
}

/* ---- FLUSH: answer once durable ---- */

struct flush_wait {
    struct fs *fs;
    fuse_req_t req;
    _Atomic int pending; /* callbacks still due, plus one while they are being set up */
    _Atomic int err;     /* first error */
};

static void flush_done(void *arg, int rc)
{
    struct flush_wait *fw = arg;
    int none = 0;
    if (rc)
        atomic_compare_exchange_strong(&fw->err, &none, rc);
    if (atomic_fetch_sub(&fw->pending, 1) != 1)
        return;
    struct fs *fs = fw->fs;
    int err = atomic_load(&fw->err);
    fuse_reply_err(fw->req, err ? fs_errno(err) : 0);
    free(fw);
    pthread_mutex_lock(&fs->flush_mu);
    if (--fs->flushes == 0)
        pthread_cond_broadcast(&fs->flush_cond);
    pthread_mutex_unlock(&fs->flush_mu);
}

void fs_write_flush(struct fs *fs, struct fs_handle *h, fuse_req_t req)
{
    struct flush_wait *fw = malloc(sizeof *fw);
    if (!fw) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    *fw = (struct flush_wait){.fs = fs, .req = req, .pending = 1};
    pthread_mutex_lock(&fs->flush_mu);
    fs->flushes++;
    pthread_mutex_unlock(&fs->flush_mu);
    pthread_mutex_lock(&h->mu);
    const struct fs_backend *b = h->ref.b;
    for (int32_t q = 0; q < h->ndurable; q++) {
        if (!h->durable[q])
            continue;
        atomic_fetch_add(&fw->pending, 1);
        int rc = b->ops->when_durable(b->be, h->ref.t, q, h->durable[q], flush_done, fw);
        if (rc != 0) /* durable already (1), or failed: no callback will come */
            flush_done(fw, rc < 0 ? rc : 0);
        h->durable[q] = 0;
    }
    pthread_mutex_unlock(&h->mu);
    flush_done(fw, 0); /* the set-up's own count */
}
