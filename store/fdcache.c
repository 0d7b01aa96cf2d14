/*
 * fdcache.c - segment files opened on demand, at most a store-wide number at once.
 *
 * A partition may have any number of segments, but the process has a fixed number
 * of descriptors (RLIMIT_NOFILE) that connections, the console and the store share.
 * So a segment's .log is open only while it is used or while it is among the most
 * recently used: each segment has a descriptor slot (fd, -1 when closed) and a pin
 * count, both under the cache's one mutex. Users pin the segment, use its fd, and
 * unpin it; an unpinned open segment goes to the tail of an LRU list, and whenever
 * more than `cap` segment files are open the least recently used unpinned ones are
 * closed. A pinned descriptor is never closed under its user; a closed one is
 * opened again at the next pin. Readers that keep a descriptor beyond the call (a
 * Fetch response sent with sendfile) get a dup, which is theirs to close.
 *
 * The cap is log.max.open.files, or by default a quarter of RLIMIT_NOFILE after the
 * reserve (store_fd_reserve()) that the broker keeps free of connections: the
 * store's transient descriptors (dups, index and checkpoint files, directory syncs)
 * come from that reserve. When an open or dup in the store fails with EMFILE or
 * ENFILE all the same, unpinned segment files are closed (the highest-numbered
 * first, see fdcache_evict()) and the call retried, so descriptors the cache merely
 * keeps never make an append, a flush or a topic creation fail. A reader's dup does
 * not evict: it would only trade a cached file for a descriptor a Fetch answer
 * holds; a read refused for want of one is asked again.
 *
 * A segment freed while pinned (retention under a flush) is freed by its last
 * unpin. Closing a .log with unsynced data is safe: the flusher syncs it through a
 * descriptor it gets later, and the kernel reports a writeback error to such a
 * descriptor when nobody has seen it yet.
 *
 * Lock order: the cache mutex is innermost; it is taken under segs_mu and
 * append_mu, and nothing else is taken while it is held. open(2) runs without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/sysio.h"
#include "store/private.h"

#define FD_RESERVE_MIN   16 /* descriptors kept free of connections, at least */
#define FD_RESERVE_MAX   256
#define FD_CACHE_MIN     8 /* segment files the cache keeps, at least */
#define FD_CACHE_DEFAULT 4 /* by default, 1/4 of what the reserve leaves */

size_t store_fd_reserve(size_t limit)
{
    size_t reserve = limit / 16;
    return reserve < FD_RESERVE_MIN   ? FD_RESERVE_MIN
           : reserve > FD_RESERVE_MAX ? FD_RESERVE_MAX
                                      : reserve;
}

/* Whether fd lies within `reserves` reserves of the limit. */
static bool fd_within(int fd, rlim_t reserves)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
        return false;
    return (rlim_t)fd + reserves * store_fd_reserve((size_t)rl.rlim_cur) >= rl.rlim_cur;
}

bool store_fd_scarce(int fd)
{
    return fd_within(fd, 1);
}

bool store_fd_held_too_many(int fd)
{
    return fd_within(fd, 2);
}

size_t fdcache_default_cap(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 24)
        rl.rlim_cur = 1 << 24;
    size_t limit = (size_t)rl.rlim_cur, reserve = store_fd_reserve(limit);
    size_t cap = limit > reserve ? (limit - reserve) / FD_CACHE_DEFAULT : 0;
    return cap < FD_CACHE_MIN ? FD_CACHE_MIN : cap;
}

void fdcache_init(struct fdcache *c, size_t cap)
{
    pthread_mutex_init(&c->mu, NULL);
    c->head = c->tail = NULL;
    c->open = 0;
    c->cap = cap ? cap : fdcache_default_cap();
    c->evictions = 0;
}

void fdcache_destroy(struct fdcache *c)
{
    pthread_mutex_destroy(&c->mu);
}

static void lru_remove(struct fdcache *c, struct segment *seg)
{
    if (!seg->in_lru)
        return;
    if (seg->lru_prev)
        seg->lru_prev->lru_next = seg->lru_next;
    else
        c->head = seg->lru_next;
    if (seg->lru_next)
        seg->lru_next->lru_prev = seg->lru_prev;
    else
        c->tail = seg->lru_prev;
    seg->lru_prev = seg->lru_next = NULL;
    seg->in_lru = false;
}

static void lru_append(struct fdcache *c, struct segment *seg)
{
    seg->lru_prev = c->tail;
    seg->lru_next = NULL;
    if (c->tail)
        c->tail->lru_next = seg;
    else
        c->head = seg;
    c->tail = seg;
    seg->in_lru = true;
}

/* Close an open, unpinned file (mu held). The close runs under mu: it is quick for
 * a file with no pending I/O of its own. */
static void close_file(struct fdcache *c, struct segment *seg)
{
    lru_remove(c, seg);
    sysio.close(seg->fd);
    seg->fd = -1;
    c->open--;
    c->evictions++;
}

static void trim(struct fdcache *c)
{
    while (c->open > c->cap && c->head)
        close_file(c, c->head); /* the least recently used */
}

bool fdcache_evict(struct fdcache *c)
{
    if (!c)
        return false;
    /* Out of descriptors, any close frees one; the highest-numbered goes, so that
     * free descriptors stay at the top of the table. The reserve checks read a
     * descriptor's number as the count in use below it (the kernel hands out the
     * lowest free one): a hole low in the table would let a connection in there. */
    pthread_mutex_lock(&c->mu);
    struct segment *top = NULL;
    for (struct segment *seg = c->head; seg; seg = seg->lru_next)
        if (!top || seg->fd > top->fd)
            top = seg;
    if (top)
        close_file(c, top);
    pthread_mutex_unlock(&c->mu);
    return top != NULL;
}

static bool out_of_fds(int err)
{
    return err == EMFILE || err == ENFILE;
}

int fdcache_open_path(struct fdcache *c, const char *path, int flags, mode_t mode)
{
    for (;;) {
        int fd = sysio.open(path, flags | O_CLOEXEC, mode);
        if (fd >= 0)
            return fd;
        if (!out_of_fds(errno) || !fdcache_evict(c))
            return -errno;
    }
}

int fdcache_dup_fd(struct fdcache *c, int fd)
{
    for (;;) {
        int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (d >= 0)
            return d;
        if (!out_of_fds(errno) || !fdcache_evict(c))
            return -errno;
    }
}

void fdcache_adopt(struct segment *seg, struct fdcache *c, const char *dir, int fd)
{
    seg->cache = c;
    seg->dir = dir;
    seg->fd = fd;
    seg->pins = 1;
    pthread_mutex_lock(&c->mu);
    c->open++;
    pthread_mutex_unlock(&c->mu);
}

int fdcache_pin(struct segment *seg)
{
    struct fdcache *c = seg->cache;
    pthread_mutex_lock(&c->mu);
    seg->pins++;
    if (seg->fd >= 0) {
        lru_remove(c, seg);
        int fd = seg->fd;
        pthread_mutex_unlock(&c->mu);
        return fd;
    }
    pthread_mutex_unlock(&c->mu);
    /* closed: open it again, outside the lock (a pin keeps the slot ours to fill) */
    char path[4096];
    int fd = segment_path(path, sizeof path, seg->dir, seg->base, ".log");
    if (!fd)
        fd = fdcache_open_path(c, path, O_RDWR, 0);
    pthread_mutex_lock(&c->mu);
    if (fd < 0) {
        seg->pins--;
        if (!seg->pins && seg->fd >= 0)
            lru_append(c, seg);
    } else if (seg->fd >= 0) { /* another pinner opened it meanwhile */
        sysio.close(fd);
        fd = seg->fd;
    } else {
        seg->fd = fd;
        c->open++;
        trim(c);
    }
    pthread_mutex_unlock(&c->mu);
    return fd;
}

void fdcache_unpin(struct segment *seg)
{
    struct fdcache *c = seg->cache;
    pthread_mutex_lock(&c->mu);
    bool gone = --seg->pins == 0 && seg->doomed;
    if (gone && seg->fd >= 0) {
        sysio.close(seg->fd);
        seg->fd = -1;
        c->open--;
    } else if (!seg->pins && seg->fd >= 0 && !seg->keep_open) {
        lru_append(c, seg);
        trim(c);
    }
    pthread_mutex_unlock(&c->mu);
    if (gone) /* segment_free() ran while this pin held it */
        segment_free_memory(seg);
}

int fdcache_dup(struct segment *seg, bool may_evict)
{
    int fd = fdcache_pin(seg);
    if (fd < 0)
        return fd;
    int d = may_evict ? fdcache_dup_fd(seg->cache, fd) : fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d < 0 && !may_evict)
        d = -errno;
    fdcache_unpin(seg);
    return d;
}

bool fdcache_forget(struct segment *seg)
{
    struct fdcache *c = seg->cache;
    if (!c) {
        if (seg->fd >= 0)
            sysio.close(seg->fd);
        seg->fd = -1;
        return true;
    }
    pthread_mutex_lock(&c->mu);
    lru_remove(c, seg);
    bool now = seg->pins == 0;
    if (!now) {
        seg->doomed = true; /* the last unpin closes it and frees the segment */
    } else if (seg->fd >= 0) {
        sysio.close(seg->fd);
        seg->fd = -1;
        c->open--;
    }
    pthread_mutex_unlock(&c->mu);
    return now;
}

void fdcache_stats(struct fdcache *c, size_t *open, size_t *evictions)
{
    pthread_mutex_lock(&c->mu);
    *open = c->open;
    *evictions = c->evictions;
    pthread_mutex_unlock(&c->mu);
}
