/*
 * ops_file.c - the file callbacks: open, read, write, flush, release, poll.
 *
 * Every file is opened with direct_io, so the kernel keeps no page cache of it:
 *   - stream files (topic, data, follow) render positions that can come to mean
 *     "the next live byte" after retention or compaction, per reader (stream.c),
 *     which cached pages could not follow; and they grow all the time, so cached
 *     pages would need invalidating after every append;
 *   - records has no knowable size (st_size 0): only direct_io reads past it;
 *   - follow blocks at its end, which only a read that reaches the daemon can do;
 *   - segment files are already in the store's page cache: caching them twice
 *     buys nothing, and compaction may replace one under the same name.
 * Reads still come in big requests: st_blksize is 1 MiB, so cat reads 1 MiB at a
 * time and each READ carries that much. The writeback cache stays off (fs.c):
 * with it the kernel re-sends whole pages and lines would be appended twice.
 *
 * Opening for writing is allowed for the topic file and data only, with
 * O_APPEND, without O_TRUNC - except in CREATE of a brand-new topic, where the
 * file is empty, so `echo x > new` just works. Everything else is EPERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "fs/private.h"

static struct fs *fs_of(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

static struct fs_handle *handle_of(struct fuse_file_info *fi)
{
    return (struct fs_handle *)(uintptr_t)fi->fh;
}

/* Whether flags may open n: EPERM for writing where the log cannot be written,
 * EACCES where the mount's principal may not (access.c). */
static int open_allowed(struct fs *fs, const struct fs_node *n, int flags, bool fresh)
{
    bool wr = (flags & O_ACCMODE) != O_RDONLY;
    bool rd = (flags & O_ACCMODE) != O_WRONLY;
    if (n->kind == FS_ROOT || n->kind == FS_PDIR)
        return -EISDIR;
    if (wr && fs->opt.read_only)
        return -EROFS;
    if (wr && !fs_node_writable(fs, n))
        return -EPERM;
    if (!fresh && ((wr && !(flags & O_APPEND)) || (flags & O_TRUNC)))
        return -EPERM;
    /* then the ACLs: READ to read, WRITE to append (EACCES) */
    int rc = rd ? fs_access_topic(fs, AUTH_OP_READ, n->topic->name) : 0;
    return rc ? rc : wr ? fs_access_topic(fs, AUTH_OP_WRITE, n->topic->name) : 0;
}

/* The longest line a handle on ref may hold: what the backend allows in one
 * append, and no longer than the whole budget. */
static size_t line_max(struct fs *fs, const struct fs_ref *ref)
{
    struct fs_btopic_info info;
    fs_ref_info(ref, &info);
    return info.line_max < fs->partial.max ? info.line_max : fs->partial.max;
}

void fs_handle_free(struct fs_handle *h)
{
    if (!h)
        return;
    if (h->stream)
        h->ref.b->ops->reader_close(h->stream);
    if (h->records)
        h->ref.b->ops->reader_close(h->records);
    fs_lines_release(&h->lines);
    free(h->durable);
    fs_ref_put(&h->ref);
    /* A follow read answered under h->mu (at shutdown, on EINTR) lets the kernel
     * send RELEASE before that worker has left the mutex: wait until it has. */
    pthread_mutex_lock(&h->mu);
    pthread_mutex_unlock(&h->mu);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

int fs_handle_open(struct fs *fs, struct fs_node *n, int flags, bool fresh, struct fs_handle **out)
{
    int rc = open_allowed(fs, n, flags, fresh);
    struct fs_handle *h = rc ? NULL : calloc(1, sizeof *h);
    if (rc || !h)
        return rc ? rc : -ENOMEM;
    pthread_mutex_init(&h->mu, NULL);
    h->node = n;
    h->writer = (flags & O_ACCMODE) != O_RDONLY;
    if ((rc = fs_node_resolve(fs, n, &h->ref)))
        goto err_handle;
    struct fs_btopic_info info;
    fs_ref_info(&h->ref, &info);
    bool stream = n->kind == FS_TOPIC || n->kind == FS_DATA || n->kind == FS_FOLLOW;
    if (stream && !info.json)
        rc = fs->b.ops->reader_open(fs->b.be, h->ref.t, n->partition, false, &n->topic->cache,
                                    &h->stream);
    else if (stream || n->kind == FS_RECORDS) /* a JSON topic's files read as records */
        rc = fs->b.ops->reader_open(fs->b.be, h->ref.t, n->partition, true, &n->topic->cache,
                                    &h->records);
    if (!rc && h->stream && n->kind == FS_FOLLOW && fs->b.ops->reader_follow)
        rc = fs->b.ops->reader_follow(h->stream); /* a consumer group's position */
    if (rc)
        goto err_handle;
    fs_lines_init(&h->lines, line_max(fs, &h->ref), &fs->partial);
    fs_open_add(fs, &h->open, false);
    *out = h;
    return 0;
err_handle:
    fs_handle_free(h);
    return rc;
}

void fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    struct fs_node *n = fs_node_find(fs, ino);
    struct fs_handle *h = NULL;
    int rc = n ? fs_handle_open(fs, n, fi->flags, false, &h) : -ENOENT;
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uintptr_t)h;
    fi->direct_io = 1;
    if (fuse_reply_open(req, fi)) { /* interrupted: no RELEASE will come */
        fs_open_del(fs, &h->open);
        fs_handle_free(h);
    }
}

/* Answer a read with n bytes of buf, or the error n. */
static void reply_read(fuse_req_t req, const uint8_t *buf, ssize_t n)
{
    if (n < 0)
        fuse_reply_err(req, fs_errno((int)n));
    else
        fuse_reply_buf(req, (const char *)buf, (size_t)n);
}

/* follow: a read at the end parks until data comes (notify.c). */
static void read_follow(struct fs *fs, struct fs_handle *h, fuse_req_t req, uint8_t *buf,
                        size_t size, off_t off, int flags)
{
    ssize_t n;
    pthread_mutex_lock(&h->mu);
    while ((n = h->ref.b->ops->reader_read(h->stream, off, buf, size)) == 0 &&
           !(flags & O_NONBLOCK))
        if (fs_notify_park(fs, h, req, size, off)) {
            pthread_mutex_unlock(&h->mu);
            return;
        }
    pthread_mutex_unlock(&h->mu);
    reply_read(req, buf, n == 0 ? -EAGAIN : n);
}

static ssize_t read_segment(struct fs_handle *h, uint8_t *buf, size_t size, off_t off)
{
    const struct fs_backend *b = h->ref.b;
    if (!b->ops->segment_pread)
        return -ENOENT;
    ssize_t n = b->ops->segment_pread(b->be, h->ref.t, h->ref.partition, h->node->base,
                                      h->node->kind - FS_SEG_LOG, buf, size, off);
    return n == -ENOENT ? -ESTALE : n; /* retention removed it while open */
}

void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct fs_handle *h = handle_of(fi);
    uint8_t *buf = malloc(size ? size : 1);
    ssize_t n = -EBADF;
    (void)ino;
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    if (h->node->kind == FS_FOLLOW && h->stream) {
        read_follow(fs_of(req), h, req, buf, size, off, fi->flags);
        free(buf);
        return;
    }
    pthread_mutex_lock(&h->mu);
    if (h->stream)
        n = h->ref.b->ops->reader_read(h->stream, off, buf, size);
    else if (h->records)
        n = h->ref.b->ops->reader_read(h->records, off, buf, size);
    else if (h->node->kind >= FS_SEG_LOG)
        n = read_segment(h, buf, size, off);
    pthread_mutex_unlock(&h->mu);
    reply_read(req, buf, n);
    free(buf);
}

void fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                 struct fuse_file_info *fi)
{
    struct fs_handle *h = handle_of(fi);
    (void)ino, (void)off; /* always appended at the true end */
    ssize_t n = h->writer ? fs_write(fs_of(req), h, (const uint8_t *)buf, size) : -EBADF;
    if (n < 0)
        fuse_reply_err(req, fs_errno((int)n));
    else
        fuse_reply_write(req, (size_t)n);
}

void fs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs_handle *h = handle_of(fi);
    (void)ino;
    if (h->writer)
        fs_write_flush(fs_of(req), h, req); /* replies once durable */
    else
        fuse_reply_err(req, 0);
}

void fs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    (void)datasync;
    fs_op_flush(req, ino, fi);
}

void fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    struct fs_handle *h = handle_of(fi);
    (void)ino;
    if (h->writer)
        fs_write_rest(fs, h); /* a last line without newline */
    fs_notify_unpoll(fs, h);
    fs_open_del(fs, &h->open);
    fs_handle_free(h);
    fuse_reply_err(req, 0);
}

void fs_op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
                struct fuse_pollhandle *ph)
{
    struct fs_handle *h = handle_of(fi);
    (void)ino;
    if (h->stream) {
        fs_notify_poll(fs_of(req), h, req, ph);
        return;
    }
    if (ph)
        fuse_pollhandle_destroy(ph);
    fuse_reply_poll(req, POLLIN | POLLRDNORM | (h->writer ? POLLOUT | POLLWRNORM : 0));
}
