/*
 * flush.c - the flusher: group commit.
 *
 * Appenders put their partition on a dirty list and signal. The flusher takes the
 * whole list at once, and for each partition notes the high watermark, then
 * fdatasyncs the segments rolled since the last round, the directory if a file
 * was created in it, and the active segment. Every append that arrived while the
 * previous round's fdatasync ran is covered by this round's, so many producers
 * share one disk flush. Durability waiters are completed after their round.
 *
 * Topic journals (journal.c) are synced apart from the rounds: a round queues the
 * journals its partitions wrote, and the flusher syncs them once appends pause for
 * JOURNAL_IDLE_MS, or JOURNAL_LAG_MS after the oldest was queued under steady load.
 * Synced after each round instead, a journal's fdatasync sat between an append
 * arriving and the round that makes it durable: two disk syncs on an acks=all
 * produce's path instead of one. A journal is not what an acknowledgement promises
 * (records are in the partitions; after a crash the journal is reconciled with
 * them), only the cross-partition order of the last entries before a power loss.
 *
 * In lazy mode (log.flush.interval.ms > 0) the same rounds run at most once per
 * interval - at once for the first append after an idle interval - and nobody waits
 * for them, except a transaction marker, whose writer syncs the
 * partition itself (flush_partition_now) before it answers.
 *
 * A failed fdatasync stops the partition for good (STORE_EFAILED): after such an
 * error the kernel may have dropped the dirty pages, so nothing written since the
 * last successful flush can be vouched for. For the same reason the store is not
 * marked as shut down cleanly after any failed flush (of a partition or a topic
 * journal): the next start checks what is on disk as after a crash. Running out
 * of file descriptors (to dup the segment or open its directory) is different -
 * nothing was tried - so the partition stays dirty and the round is retried every
 * 10 ms until one is free.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/fileio.h"
#include "lib/grow.h"
#include "lib/sysio.h"
#include "store/private.h"

#define RETRY_NS        10000000 /* between rounds while file descriptors run out */
#define CLOSE_RETRIES   100      /* rounds store_close() tries before giving up */
#define JOURNAL_IDLE_MS 2        /* appends paused this long: sync the queued journals */
#define JOURNAL_LAG_MS  1000     /* at the latest this long after the oldest was queued */

static void nap(void)
{
    struct timespec ts = {0, RETRY_NS}; /* until a file descriptor is free */
    nanosleep(&ts, NULL);
}

void flush_mark_dirty(struct store_partition *p)
{
    struct store *s = p->topic->store;
    bool wake = false;
    pthread_mutex_lock(&s->flush_mu);
    if (!p->in_dirty) {
        p->in_dirty = true;
        p->next_dirty = s->dirty;
        s->dirty = p;
        topic_ref(p->topic); /* keep it alive until the round is done */
        /* lazy: only the first dirty partition can find the flusher idle */
        wake = s->config.flush_interval_ms <= 0 || !p->next_dirty;
    }
    pthread_mutex_unlock(&s->flush_mu);
    /* after unlocking: woken under the lock, the flusher would at once block on it
     * again (the flusher reads s->dirty under the lock, so no wake-up is lost) */
    if (wake)
        pthread_cond_signal(&s->flush_cond);
}

/* Running out of file descriptors is not a failed flush: nothing was tried. */
static bool out_of_fds(int err)
{
    return err == -EMFILE || err == -ENFILE;
}

/* fdatasync the rolled segment with base offset `base`, through a descriptor of its
 * own. A segment that is gone (retention, DeleteRecords, or a cleaning, which syncs
 * what it writes) needs nothing. */
static int sync_rolled(struct store_partition *p, int64_t base)
{
    pthread_mutex_lock(&p->segs_mu);
    int fd = -ENOENT;
    for (size_t i = 0; i < p->nsegs; i++) /* rolled ones are at the end: search back */
        if (p->segs[p->nsegs - 1 - i]->base == base) {
            fd = fdcache_dup(p->segs[p->nsegs - 1 - i], true);
            break;
        }
    pthread_mutex_unlock(&p->segs_mu);
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return fd;
    int rc = sysio.fdatasync(fd) ? -errno : 0;
    sysio.close(fd);
    return rc;
}

/* Put rolled segments not yet synced back on the partition's list. */
static void requeue_rolled(struct store_partition *p, const int64_t *bases, size_t n)
{
    pthread_mutex_lock(&p->segs_mu);
    /* without memory they stay unsynced until the next roll's round syncs the
     * directory; the active segment is synced at close */
    if (!ARRAY_GROW(p->unsynced, p->cap_unsynced, p->n_unsynced + n)) {
        int64_t *v = p->unsynced;
        memmove(v + n, v, p->n_unsynced * sizeof *v);
        memcpy(v, bases, n * sizeof *v);
        p->n_unsynced += n;
    }
    p->dir_unsynced = true;
    pthread_mutex_unlock(&p->segs_mu);
}

/* Sync one partition's unsynced files; returns 0, -EAGAIN when it could not even
 * try (no file descriptor to spare: the partition stays dirty for a later round), or
 * the first sync error (the partition has failed). */
static int flush_partition_locked(struct store_partition *p)
{
    pthread_mutex_lock(&p->segs_mu);
    /* synced through its own fd, pinned: no descriptor more (a roll, then retention,
     * may drop it meanwhile: the pin keeps it until unpinned) */
    struct segment *act = p->segs[p->nsegs - 1];
    int active_fd = fdcache_pin(act);
    if (active_fd < 0 && out_of_fds(active_fd)) {
        pthread_mutex_unlock(&p->segs_mu);
        return -EAGAIN;
    }
    int64_t target = LOAD(p->hw);
    int64_t *rolled = p->unsynced;
    size_t n_rolled = p->n_unsynced;
    bool dir = p->dir_unsynced;
    p->unsynced = NULL;
    p->n_unsynced = p->cap_unsynced = 0;
    p->dir_unsynced = false;
    pthread_mutex_unlock(&p->segs_mu);

    int rc = active_fd < 0 ? active_fd : 0;
    size_t i = 0;
    for (; i < n_rolled && !rc; i++)
        rc = sync_rolled(p, rolled[i]);
    if (out_of_fds(rc)) { /* not tried: those left wait for the next round */
        requeue_rolled(p, rolled + i - 1, n_rolled - i + 1);
        free(rolled);
        fdcache_unpin(act);
        return -EAGAIN;
    }
    free(rolled);
    if (!rc && dir)
        while (out_of_fds(rc = dir_fsync(p->dir, 1)) && fdcache_evict(&p->topic->store->fds))
            ;
    if (out_of_fds(rc)) {
        pthread_mutex_lock(&p->segs_mu);
        p->dir_unsynced = true; /* the rolled segments are synced; the directory is not */
        pthread_mutex_unlock(&p->segs_mu);
        fdcache_unpin(act);
        return -EAGAIN;
    }
    if (!rc && sysio.fdatasync(active_fd))
        rc = -errno;
    if (active_fd >= 0)
        fdcache_unpin(act);
    if (rc) {
        partition_fail(p, rc);
        return rc;
    }
    pthread_mutex_lock(&p->wait_mu);
    if (target > p->durable)
        p->durable = target;
    pthread_mutex_unlock(&p->wait_mu);
    return 0;
}

/* One sync of a partition at a time (sync_mu): a second one would find the rolled
 * segments taken by the first and could declare them durable before the first had
 * synced them. */
static int flush_partition(struct store_partition *p)
{
    pthread_mutex_lock(&p->sync_mu);
    int rc = flush_partition_locked(p);
    pthread_mutex_unlock(&p->sync_mu);
    return rc;
}

int flush_partition_now(struct store_partition *p)
{
    int rc;
    for (int i = 0; (rc = flush_partition(p)) == -EAGAIN && i < CLOSE_RETRIES; i++)
        nap();
    partition_complete_waiters(p);
    return rc == -EAGAIN ? -EMFILE : rc;
}

/* Take the dirty list (flush_mu held) and relink it through next_round, so that
 * appenders may put a partition on the next dirty list while this round runs.
 * NULL when empty. */
static struct store_partition *take_dirty(struct store *s)
{
    struct store_partition *list = s->dirty;
    s->dirty = NULL;
    for (struct store_partition *p = list; p; p = p->next_dirty) {
        p->in_dirty = false;
        p->next_round = p->next_dirty;
    }
    return list;
}

/* Queue t's journal for journals_sync(), once (flusher only). On no memory it is
 * synced at once, as before the queue. */
static void journal_queue(struct store *s, struct store_topic *t)
{
    if (t->journal_queued)
        return;
    if (ARRAY_GROW(s->journals, s->cap_journals, s->n_journals + 1)) {
        if (journal_sync(t))
            STORE(s->io_failed, true);
        return;
    }
    if (!s->n_journals)
        s->journals_since_ms = clock_mono_ms();
    topic_ref(t);
    t->journal_queued = true;
    s->journals[s->n_journals++] = t;
}

/* Sync every queued journal and let its topic go (flusher only). */
static void journals_sync(struct store *s)
{
    for (size_t i = 0; i < s->n_journals; i++) {
        struct store_topic *t = s->journals[i];
        t->journal_queued = false;
        if (LOAD(t->journal_unsynced) && journal_sync(t))
            STORE(s->io_failed, true);
        store_topic_put(t);
    }
    s->n_journals = 0;
}

/* One round over a taken list: sync, complete waiters, queue journals. Returns 0,
 * the first error, or -EAGAIN when a partition must be tried again (it is back on
 * the dirty list). */
static int flush_round(struct store_partition *list)
{
    int rc = 0;
    bool retry = false;
    for (struct store_partition *p = list; p; p = p->next_round) {
        int r = LOAD(p->failed) ? 0 : flush_partition(p);
        if (r == -EAGAIN) {
            retry = true;
            flush_mark_dirty(p);
        } else if (r && !rc) {
            rc = r;
        }
    }
    for (struct store_partition *p = list; p; p = p->next_round)
        partition_complete_waiters(p);
    for (struct store_partition *p = list; p; p = p->next_round)
        if (LOAD(p->topic->journal_unsynced))
            journal_queue(p->topic->store, p->topic);
    while (list) {
        struct store_partition *next = list->next_round;
        store_topic_put(list->topic);
        list = next;
    }
    return retry ? -EAGAIN : rc;
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

/* Group commit: wait for dirty partitions (flush_mu held). Queued journals are
 * synced once no append has come for JOURNAL_IDLE_MS, so that their fdatasync does
 * not stand in front of a round somebody waits for. */
static void wait_dirty(struct store *s)
{
    while (!s->stopping && !s->dirty) {
        if (!s->n_journals) {
            pthread_cond_wait(&s->flush_cond, &s->flush_mu);
            continue;
        }
        struct timespec ts;
        deadline_after(&ts, JOURNAL_IDLE_MS);
        if (pthread_cond_timedwait(&s->flush_cond, &s->flush_mu, &ts) == ETIMEDOUT && !s->dirty) {
            pthread_mutex_unlock(&s->flush_mu);
            journals_sync(s);
            pthread_mutex_lock(&s->flush_mu);
        }
    }
}

/* Lazy mode: wait until something is dirty and an interval has passed since the
 * last round began (flush_mu held). A flusher idle for a whole interval syncs the
 * first append at once instead of up to an interval later, and one with nothing to
 * do sleeps instead of waking every interval. */
static void wait_interval(struct store *s, int64_t last_ms, int64_t interval)
{
    while (!s->stopping) {
        if (!s->dirty) {
            pthread_cond_wait(&s->flush_cond, &s->flush_mu);
            continue;
        }
        int64_t left = last_ms + interval - clock_mono_ms();
        if (left <= 0)
            return;
        struct timespec ts;
        deadline_after(&ts, left);
        pthread_cond_timedwait(&s->flush_cond, &s->flush_mu, &ts);
    }
}

void *flush_thread(void *arg)
{
    struct store *s = arg;
    int64_t interval = s->config.flush_interval_ms, last_ms = 0;
    pthread_mutex_lock(&s->flush_mu);
    for (;;) {
        if (interval > 0) {
            wait_interval(s, last_ms, interval);
            last_ms = clock_mono_ms();
        } else {
            wait_dirty(s);
        }
        struct store_partition *list = take_dirty(s);
        bool stop = s->stopping;
        pthread_mutex_unlock(&s->flush_mu);
        int rc = list ? flush_round(list) : 0;
        if (rc == -EAGAIN)
            nap();
        if (interval > 0 ||
            (s->n_journals && clock_mono_ms() - s->journals_since_ms >= JOURNAL_LAG_MS))
            journals_sync(s); /* lazy: nobody waits for a round anyway */
        pthread_mutex_lock(&s->flush_mu);
        /* stopping: store_close() flushes what is left itself, with its own bound */
        if (stop && (!s->dirty || rc == -EAGAIN))
            break;
    }
    pthread_mutex_unlock(&s->flush_mu);
    journals_sync(s);
    return NULL;
}

/* Whether a flush of p could make anything more durable: a closed partition, or one
 * whose appends are all synced (no rolled segment, no directory entry waiting), has
 * nothing for it, and a stop need not spend an fdatasync on each of thousands. */
static bool has_unsynced(struct store_partition *p)
{
    if (!p)
        return false;
    pthread_mutex_lock(&p->segs_mu);
    bool pending = p->n_unsynced > 0 || p->dir_unsynced;
    pthread_mutex_unlock(&p->segs_mu);
    pthread_mutex_lock(&p->wait_mu);
    pending = pending || p->durable < LOAD(p->hw);
    pthread_mutex_unlock(&p->wait_mu);
    return pending;
}

int flush_all(struct store *s)
{
    size_t n;
    struct store_topic **topics = topics_get_all(s, &n);
    if (!topics)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        for (int32_t k = 0; k < store_topic_partition_count(topics[i]); k++)
            if (has_unsynced(topic_partition_opened(topics[i], k)))
                flush_mark_dirty(topic_partition_opened(topics[i], k));
    topics_put_all(topics, n);
    int rc = 0;
    for (int i = 0; i <= CLOSE_RETRIES; i++) {
        pthread_mutex_lock(&s->flush_mu);
        struct store_partition *list = take_dirty(s);
        pthread_mutex_unlock(&s->flush_mu);
        if (!list || (rc = flush_round(list)) != -EAGAIN)
            break;
        nap();
    }
    journals_sync(s);
    if (rc == -EAGAIN) { /* still no file descriptor: give up, unflushed */
        pthread_mutex_lock(&s->flush_mu);
        struct store_partition *list = take_dirty(s);
        pthread_mutex_unlock(&s->flush_mu);
        while (list) {
            struct store_partition *next = list->next_round;
            store_topic_put(list->topic);
            list = next;
        }
    }
    return rc;
}
