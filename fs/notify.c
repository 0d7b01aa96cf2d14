/*
 * notify.c - telling the kernel and waiting readers that something changed.
 *
 * The backend calls fs_notify_append() after every append it learns of: the
 * store from the appending thread (a Kafka produce or a FUSE write), the remote
 * backend from its watcher's long-poll fetches. It only records "(topic, partition)
 * changed" in a deduplicated queue and wakes the notifier thread, which then, in
 * this order (so that a parked read's answer waits for nothing else):
 *
 *   - serves parked `follow` reads: a read at the end of a follow file is not
 *     answered until there is data; the request is parked here and answered by
 *     this thread, so it holds no FUSE worker while it waits;
 *   - wakes poll()/epoll waiters (fuse_lowlevel_notify_poll);
 *   - invalidates the cached attributes of the files whose size changed
 *     (fuse_lowlevel_notify_inval_inode with a negative offset: attributes only;
 *     no stream keeps page cache, see ops_file.c). Attribute timeouts are long,
 *     so `tail -f`, which polls fstat(), sees the new size at its next poll and
 *     the daemon is not flooded with GETATTRs in between.
 *
 * Notifications are sent from this thread only, never from a request handler:
 * the kernel may need a worker to make progress while it processes one.
 *
 * A parked read ends three ways: data (answered with it), the topic being
 * deleted (answered with end of file), or an interrupt - Ctrl-C on the reader
 * makes the kernel send INTERRUPT, libfuse calls on_interrupt(), which moves the
 * request to a list this thread answers with EINTR (answering inside the
 * callback is not safe: libfuse may free the request under it).
 *
 * Once a second the thread also sweeps for topics deleted over TCP, so the
 * kernel drops their cached names and their nodes can be freed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/private.h"
#include "lib/clock.h"

struct fs_parked {
    fuse_req_t req;
    struct fs_handle *h;
    size_t size;
    off_t off;
    bool serving;     /* the notifier is rendering for it */
    bool interrupted; /* INTERRUPT came while serving */
    uint64_t pass;    /* the notifier's last pass that looked at it */
    struct fs_parked *next;
};

/* ---- the queue (any thread) ---- */

static void enqueue(struct fs *fs, const char *topic, int32_t partition)
{
    struct fs_notifier *nt = &fs->nt;
    pthread_mutex_lock(&nt->mu);
    size_t i = 0;
    while (i < nt->nq && (nt->q[i].partition != partition || strcmp(nt->q[i].topic, topic)))
        i++;
    if (i == nt->nq) {
        if (nt->nq < FS_EVENTS) {
            snprintf(nt->q[i].topic, sizeof nt->q[i].topic, "%s", topic);
            nt->q[i].partition = partition;
            nt->nq++;
        } else {
            nt->overflow = true;
        }
    }
    pthread_cond_signal(&nt->cond);
    pthread_mutex_unlock(&nt->mu);
}

void fs_notify_append(void *arg, const char *topic, int32_t partition)
{
    enqueue(arg, topic, partition);
}

void fs_notify_gone(struct fs *fs, const char *topic)
{
    enqueue(fs, topic, -1);
}

/* Whether h reads the stream an event for (topic, partition) changes; topic
 * NULL matches everything. */
static bool handle_matches(const struct fs_handle *h, const char *topic, int32_t partition)
{
    const struct fs_node *n = h->node;
    return !topic || (!strcmp(n->topic->name, topic) &&
                      (partition < 0 || n->partition < 0 || n->partition == partition));
}

/* ---- poll ---- */

void fs_notify_poll(struct fs *fs, struct fs_handle *h, fuse_req_t req, struct fuse_pollhandle *ph)
{
    unsigned ev = h->writer ? POLLOUT | POLLWRNORM : 0;
    pthread_mutex_lock(&h->mu);
    pthread_mutex_lock(&fs->nt.mu);
    if (!h->ref.b->ops->reader_at_end(h->stream, -1)) {
        ev |= POLLIN | POLLRDNORM;
    } else if (ph) {
        struct fuse_pollhandle *old = h->ph;
        h->ph = ph;
        ph = old;
        if (!h->polling) {
            h->poll_next = fs->nt.pollers;
            fs->nt.pollers = h;
            h->polling = true;
        }
    }
    pthread_mutex_unlock(&fs->nt.mu);
    pthread_mutex_unlock(&h->mu);
    if (ph)
        fuse_pollhandle_destroy(ph);
    fuse_reply_poll(req, ev);
}

/* Take h off the pollers list; returns its poll handle. nt.mu held. */
static struct fuse_pollhandle *unpoll_locked(struct fs_notifier *nt, struct fs_handle *h)
{
    for (struct fs_handle **pp = &nt->pollers; h->polling && *pp; pp = &(*pp)->poll_next)
        if (*pp == h) {
            *pp = h->poll_next;
            h->polling = false;
            break;
        }
    struct fuse_pollhandle *ph = h->ph;
    h->ph = NULL;
    return ph;
}

void fs_notify_unpoll(struct fs *fs, struct fs_handle *h)
{
    pthread_mutex_lock(&fs->nt.mu);
    struct fuse_pollhandle *ph = unpoll_locked(&fs->nt, h);
    pthread_mutex_unlock(&fs->nt.mu);
    if (ph)
        fuse_pollhandle_destroy(ph);
}

static void wake_pollers(struct fs *fs, const char *topic, int32_t partition)
{
    struct fuse_pollhandle *v[64];
    size_t n;
    do { /* in rounds of 64, never notifying with the lock held */
        n = 0;
        pthread_mutex_lock(&fs->nt.mu);
        for (struct fs_handle *h = fs->nt.pollers, *next; h && n < 64; h = next) {
            next = h->poll_next;
            if (handle_matches(h, topic, partition))
                v[n++] = unpoll_locked(&fs->nt, h);
        }
        pthread_mutex_unlock(&fs->nt.mu);
        for (size_t i = 0; i < n; i++) {
            fuse_lowlevel_notify_poll(v[i]);
            fuse_pollhandle_destroy(v[i]);
        }
    } while (n == 64);
}

/* ---- parked reads ---- */

static void on_interrupt(fuse_req_t req, void *arg)
{
    struct fs_notifier *nt = &((struct fs *)arg)->nt;
    pthread_mutex_lock(&nt->mu);
    for (struct fs_parked **pp = &nt->parked; *pp; pp = &(*pp)->next) {
        struct fs_parked *e = *pp;
        if (e->req != req)
            continue;
        if (e->serving) {
            e->interrupted = true;
        } else {
            *pp = e->next;
            e->next = nt->intr;
            nt->intr = e;
            pthread_cond_signal(&nt->cond);
        }
        break;
    }
    pthread_mutex_unlock(&nt->mu);
}

int fs_notify_park(struct fs *fs, struct fs_handle *h, fuse_req_t req, size_t size, off_t off)
{
    struct fs_parked *e = calloc(1, sizeof *e);
    if (!e) {
        fuse_reply_err(req, ENOMEM);
        return 1;
    }
    *e = (struct fs_parked){.req = req, .h = h, .size = size, .off = off};
    fuse_req_interrupt_func(req, on_interrupt, fs); /* before anyone can answer req */
    pthread_mutex_lock(&fs->nt.mu);
    if (fs->nt.closing) { /* shutting down: end of file instead of waiting */
        pthread_mutex_unlock(&fs->nt.mu);
        free(e);
        fuse_reply_buf(req, NULL, 0);
        return 1;
    }
    if (fuse_req_interrupted(req) || !h->ref.b->ops->reader_at_end(h->stream, off)) {
        pthread_mutex_unlock(&fs->nt.mu);
        free(e);
        if (!fuse_req_interrupted(req))
            return 0; /* data arrived meanwhile: read again */
        fuse_reply_err(req, EINTR);
        return 1;
    }
    e->next = fs->nt.parked;
    fs->nt.parked = e;
    pthread_mutex_unlock(&fs->nt.mu);
    return 1;
}

/* Try to answer one parked read (marked serving): with data when there is some,
 * with end of file when its topic is gone. */
static void serve_one(struct fs *fs, struct fs_parked *e, bool gone)
{
    uint8_t *buf = gone ? NULL : malloc(e->size ? e->size : 1);
    ssize_t n = buf || gone ? 0 : -ENOMEM;
    if (buf) {
        pthread_mutex_lock(&e->h->mu);
        n = e->h->ref.b->ops->reader_read(e->h->stream, e->off, buf, e->size);
        pthread_mutex_unlock(&e->h->mu);
    }
    bool done = gone || n != 0;
    pthread_mutex_lock(&fs->nt.mu);
    if (!done && e->interrupted) {
        done = true;
        n = -EINTR;
    } else if (!done && fs->nt.closing) {
        done = true; /* end of file */
    }
    for (struct fs_parked **pp = &fs->nt.parked; done && *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    e->serving = false;
    pthread_mutex_unlock(&fs->nt.mu);
    if (done && n < 0)
        fuse_reply_err(e->req, (int)-n);
    else if (done)
        fuse_reply_buf(e->req, (const char *)buf, (size_t)n);
    if (done)
        free(e);
    free(buf);
}

/* Whether the parked read e should be looked at: for an append to (topic,
 * partition), or (gone) because its topic was deleted. nt.mu held. */
static bool parked_matches(struct fs *fs, const struct fs_parked *e, const char *topic,
                           int32_t partition, bool gone)
{
    if (e->serving || e->pass == fs->nt.pass)
        return false;
    if (!gone)
        return handle_matches(e->h, topic, partition);
    pthread_mutex_lock(&fs->mu);
    bool match = e->h->node->topic->gone;
    pthread_mutex_unlock(&fs->mu);
    return match;
}

/* Serve the parked reads an event concerns, in rounds of 64 taken under the
 * lock and served without it; a pass number keeps a read that found no data
 * (and stays parked) from being taken twice. Notifier thread only. */
static void serve_parked(struct fs *fs, const char *topic, int32_t partition, bool gone)
{
    struct fs_parked *v[64];
    size_t n;
    uint64_t pass = ++fs->nt.pass;
    do {
        n = 0;
        pthread_mutex_lock(&fs->nt.mu);
        for (struct fs_parked *e = fs->nt.parked; e && n < 64; e = e->next)
            if (parked_matches(fs, e, topic, partition, gone)) {
                e->serving = true;
                e->pass = pass;
                v[n++] = e;
            }
        pthread_mutex_unlock(&fs->nt.mu);
        for (size_t i = 0; i < n; i++)
            serve_one(fs, v[i], gone);
    } while (n == 64);
}

static void answer_interrupted(struct fs_parked *e)
{
    while (e) {
        struct fs_parked *next = e->next;
        fuse_reply_err(e->req, EINTR);
        free(e);
        e = next;
    }
}

/* ---- the thread ---- */

static void invalidate(struct fs *fs, const char *topic, int32_t partition)
{
    uint64_t *inos = NULL;
    size_t n = fs_nodes_affected(fs, topic, partition, &inos);
    for (size_t i = 0; i < n; i++)
        fuse_lowlevel_notify_inval_inode(fs->se, inos[i], -1, 0);
    free(inos);
}

static void drop_names(struct fs *fs, char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fuse_lowlevel_notify_inval_entry(fs->se, FUSE_ROOT_ID, names[i], strlen(names[i]));
        free(names[i]);
    }
}

static void on_gone(struct fs *fs, const char *topic, char **names)
{
    drop_names(fs, names, fs_topic_gone(fs, topic, names, FS_GONE_NAMES));
    serve_parked(fs, NULL, -1, true);
    wake_pollers(fs, topic, -1);
}

static void on_event(struct fs *fs, const struct fs_event *ev, char **names)
{
    if (ev->partition < 0) {
        on_gone(fs, ev->topic, names);
        return;
    }
    /* the waiting readers first: a parked read's answer is one write to the kernel,
     * and the invalidations (one per file that shows the partition: four or more)
     * are only for attribute caches, which nobody waits on */
    serve_parked(fs, ev->topic, ev->partition, false);
    wake_pollers(fs, ev->topic, ev->partition);
    invalidate(fs, ev->topic, ev->partition);
}

static void sweep(struct fs *fs, char **names)
{
    size_t n = fs_nodes_sweep(fs, names, FS_GONE_NAMES);
    drop_names(fs, names, n);
    if (n)
        serve_parked(fs, NULL, -1, true);
}

/* Wait for work or the next sweep; nt.mu held. */
static void wait_work(struct fs_notifier *nt)
{
    if (nt->nq || nt->overflow || nt->intr || nt->stopping)
        return;
    int64_t due = nt->last_sweep_ms + FS_SWEEP_MS;
    struct timespec ts = {.tv_sec = due / 1000, .tv_nsec = (due % 1000) * 1000000};
    pthread_cond_timedwait(&nt->cond, &nt->mu, &ts);
}

static void *notifier_main(void *arg)
{
    struct fs *fs = arg;
    struct fs_notifier *nt = &fs->nt;
    struct fs_event *ev = nt->batch;
    char **names = nt->names;
    pthread_mutex_lock(&nt->mu);
    while (!nt->stopping) {
        wait_work(nt);
        size_t n = nt->nq;
        memcpy(ev, nt->q, n * sizeof *ev);
        bool all = nt->overflow, due = clock_mono_ms() >= nt->last_sweep_ms + FS_SWEEP_MS;
        struct fs_parked *intr = nt->intr;
        nt->nq = 0;
        nt->overflow = false;
        nt->intr = NULL;
        if (due)
            nt->last_sweep_ms = clock_mono_ms();
        pthread_mutex_unlock(&nt->mu);
        answer_interrupted(intr);
        for (size_t i = 0; i < n; i++)
            on_event(fs, &ev[i], names);
        if (all) {
            invalidate(fs, NULL, -1);
            wake_pollers(fs, NULL, -1);
            serve_parked(fs, NULL, -1, false);
        }
        if (due)
            sweep(fs, names);
        pthread_mutex_lock(&nt->mu);
    }
    pthread_mutex_unlock(&nt->mu);
    return NULL;
}

int fs_notify_start(struct fs *fs)
{
    struct fs_notifier *nt = &fs->nt;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&nt->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&nt->mu, NULL);
    nt->last_sweep_ms = clock_mono_ms();
    int rc = fs->b.ops->listen(fs->b.be, fs_notify_append, fs);
    if (rc)
        return rc;
    if ((rc = fs_thread_start(&nt->thread, notifier_main, fs))) {
        fs->b.ops->unlisten(fs->b.be, fs_notify_append, fs);
        return rc;
    }
    nt->started = true;
    return 0;
}

void fs_notify_close(struct fs *fs)
{
    struct fs_notifier *nt = &fs->nt;
    struct fs_parked *done = NULL;
    pthread_mutex_lock(&nt->mu);
    nt->closing = true;
    for (struct fs_parked **pp = &nt->parked; *pp;) {
        struct fs_parked *e = *pp;
        if (e->serving) { /* serve_one() answers it, seeing closing */
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        e->next = done;
        done = e;
    }
    pthread_mutex_unlock(&nt->mu);
    while (done) {
        struct fs_parked *next = done->next;
        fuse_reply_buf(done->req, NULL, 0); /* end of file: we are going away */
        free(done);
        done = next;
    }
    wake_pollers(fs, NULL, -1);
}

void fs_notify_stop(struct fs *fs)
{
    struct fs_notifier *nt = &fs->nt;
    if (!nt->started)
        return;
    fs->b.ops->unlisten(fs->b.be, fs_notify_append, fs);
    pthread_mutex_lock(&nt->mu);
    nt->stopping = true;
    pthread_cond_signal(&nt->cond);
    pthread_mutex_unlock(&nt->mu);
    pthread_join(nt->thread, NULL);
    nt->started = false;
    for (struct fs_parked *e = nt->intr, *next; e; e = next) {
        next = e->next;
        fuse_reply_none(e->req);
        free(e);
    }
    for (struct fs_parked *e = nt->parked, *next; e; e = next) {
        next = e->next;
        fuse_reply_none(e->req);
        free(e);
    }
    nt->intr = nt->parked = NULL;
    while (nt->pollers)
        fs_notify_unpoll(fs, nt->pollers);
    pthread_cond_destroy(&nt->cond);
    pthread_mutex_destroy(&nt->mu);
}
