/*
 * store.c - opening and closing the log, checkpoints, listeners, maintenance.
 *
 * Start: lock the directory (one broker per log dir), note whether the previous
 * run shut down cleanly (<dir>/.brook_cleanshutdown) and remove the marker, read
 * the checkpoint files, load every topic (recovering the segments past each
 * partition's recovery point when the shutdown was not clean), then start the
 * flusher and the maintenance thread.
 *
 * Checkpoint files use Kafka's names and text format ("0", a count, then one
 * "topic partition offset" line each) and are replaced atomically:
 *   recovery-point-offset-checkpoint  everything below is known durable
 *   log-start-offset-checkpoint       first offset kept (DeleteRecords, retention)
 *   cleaner-offset-checkpoint         first offset not yet compacted
 *
 * The maintenance thread applies retention every log.retention.check.interval.ms,
 * runs the cleaner, and writes checkpoints and producer snapshots every
 * log.flush.offset.checkpoint.interval.ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/fileio.h"
#include "lib/grow.h"
#include "lib/sysio.h"
#include "lib/writer.h"
#include "store/private.h"

#define CLEANER_BACKOFF_MS 15000

static const char *const checkpoint_files[] = {
    "recovery-point-offset-checkpoint",
    "log-start-offset-checkpoint",
    "cleaner-offset-checkpoint",
};

/* ---- reading checkpoints (at start only) ---- */

struct cp_entry {
    char *topic;
    int32_t partition;
    int64_t offset;
};

struct checkpoints {
    struct cp_entry *e[3];
    size_t n[3], cap[3];
};

static void checkpoints_free(struct checkpoints *cp)
{
    if (!cp)
        return;
    for (int f = 0; f < 3; f++) {
        for (size_t i = 0; i < cp->n[f]; i++)
            free(cp->e[f][i].topic);
        free(cp->e[f]);
    }
    free(cp);
}

static int cp_cmp(const void *a, const void *b)
{
    const struct cp_entry *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Parse one checkpoint file; a missing or malformed file gives no entries. */
static void checkpoint_parse(struct store *s, int f, struct checkpoints *cp)
{
    char path[4096], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", s->dir, checkpoint_files[f]);
    if (file_read_all(path, 64u << 20, &text, &len))
        return;
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    long long version = -1, count = -1;
    if (line)
        version = atoll(line);
    if ((line = strtok_r(NULL, "\n", &save)))
        count = atoll(line);
    if (version != 0 || count < 0) {
        free(text);
        return;
    }
    while ((line = strtok_r(NULL, "\n", &save))) {
        char topic[256];
        int part;
        long long off;
        if (sscanf(line, "%255s %d %lld", topic, &part, &off) != 3)
            continue;
        if (ARRAY_GROW(cp->e[f], cp->cap[f], cp->n[f] + 1))
            break;
        struct cp_entry *v = cp->e[f];
        v[cp->n[f]] = (struct cp_entry){strdup(topic), part, off};
        if (v[cp->n[f]].topic)
            cp->n[f]++;
    }
    free(text);
    /* sorted, so that each of the store's partitions finds its line in log time */
    if (cp->n[f])
        qsort(cp->e[f], cp->n[f], sizeof *cp->e[f], cp_cmp);
}

int checkpoint_read(struct store *s, const char *file, const char *topic, int32_t partition,
                    int64_t *out)
{
    struct checkpoints *cp = s->loading;
    struct cp_entry key = {(char *)topic, partition, 0};
    for (int f = 0; cp && f < 3; f++) {
        if (strcmp(file, checkpoint_files[f]))
            continue;
        /* a file that names a partition twice gives one of its lines (as before: any) */
        const struct cp_entry *e =
            cp->n[f] ? bsearch(&key, cp->e[f], cp->n[f], sizeof *cp->e[f], cp_cmp) : NULL;
        if (e) {
            *out = e->offset;
            return 0;
        }
    }
    return -ENOENT;
}

/* ---- writing checkpoints ---- */

static void cp_line(struct writer *w, const char *topic, int32_t partition, int64_t offset)
{
    char line[512];
    int n = snprintf(line, sizeof line, "%s %d %" PRId64 "\n", topic, partition, offset);
    writer_bytes(w, line, (size_t)n);
}

int store_checkpoints_write(struct store *s)
{
    /* one writer at a time, from gathering the offsets to the last rename: the
     * files share their temporary names, and a writer that gathered earlier must
     * not replace newer offsets with older ones (the cleaner counts on its
     * checkpoint never going back); producer snapshots are written under it too */
    pthread_mutex_lock(&s->checkpoint_mu);
    size_t n;
    struct store_topic **topics = topics_get_all(s, &n);
    if (!topics) {
        pthread_mutex_unlock(&s->checkpoint_mu);
        return -ENOMEM;
    }
    struct writer w[3];
    size_t count = 0;
    for (int f = 0; f < 3; f++)
        writer_init(&w[f], 256u << 20);
    for (size_t i = 0; i < n; i++)
        count += (size_t)store_topic_partition_count(topics[i]);
    for (int f = 0; f < 3; f++) {
        char head[32];
        int len = snprintf(head, sizeof head, "0\n%zu\n", count);
        writer_bytes(&w[f], head, (size_t)len);
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct store_topic *t = topics[i];
        for (int32_t k = 0; k < store_topic_partition_count(t); k++) {
            /* a closed partition writes back what it was loaded with */
            struct store_partition *p = LOAD(t->parts)[k];
            cp_line(&w[0], t->name, k, LOAD(p->durable));
            cp_line(&w[1], t->name, k, LOAD(p->log_start));
            cp_line(&w[2], t->name, k, LOAD(p->clean_offset));
            int r = LOAD(t->deleted) || !LOAD(p->opened) ? 0 : producer_snapshot_save(p);
            rc = rc ? rc : r;
        }
    }
    topics_put_all(topics, n);
    for (int f = 0; f < 3; f++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", s->dir, checkpoint_files[f]);
        int r = w[f].err ? w[f].err : file_write_atomic(path, w[f].buf, w[f].len);
        rc = rc ? rc : r;
        writer_release(&w[f]);
    }
    pthread_mutex_unlock(&s->checkpoint_mu);
    return rc;
}

/* ---- listeners ---- */

int store_listen(struct store *s, store_append_fn fn, void *arg)
{
    pthread_rwlock_wrlock(&s->listen_lock);
    int rc = ARRAY_GROW(s->listeners, s->cap_listeners, s->nlisteners + 1);
    if (!rc)
        s->listeners[s->nlisteners++] = (struct listener){fn, arg};
    pthread_rwlock_unlock(&s->listen_lock);
    return rc;
}

void store_unlisten(struct store *s, store_append_fn fn, void *arg)
{
    pthread_rwlock_wrlock(&s->listen_lock);
    for (size_t i = 0; i < s->nlisteners; i++)
        if (s->listeners[i].fn == fn && s->listeners[i].arg == arg) {
            memmove(s->listeners + i, s->listeners + i + 1,
                    (s->nlisteners - i - 1) * sizeof *s->listeners);
            s->nlisteners--;
            break;
        }
    pthread_rwlock_unlock(&s->listen_lock);
}

void store_notify_append(struct store *s, struct store_partition *p, int64_t hw)
{
    pthread_rwlock_rdlock(&s->listen_lock);
    for (size_t i = 0; i < s->nlisteners; i++)
        s->listeners[i].fn(s->listeners[i].arg, p, hw);
    pthread_rwlock_unlock(&s->listen_lock);
}

/* ---- maintenance thread ---- */

static void *maint_thread(void *arg)
{
    struct store *s = arg;
    int64_t now = clock_mono_ms();
    int64_t next_ret = now + s->config.retention_check_ms;
    int64_t next_cp = now + s->config.checkpoint_interval_ms;
    int64_t next_clean = now + CLEANER_BACKOFF_MS;
    pthread_mutex_lock(&s->maint_mu);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->maint_mu);
        int64_t next_reap = store_reap_retired(s, clock_mono_ms());
        pthread_mutex_lock(&s->maint_mu);
        if (s->stopping)
            break;
        int64_t next = next_ret < next_cp ? next_ret : next_cp;
        if (next_clean < next)
            next = next_clean;
        if (next_reap < next)
            next = next_reap;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t wait = next - clock_mono_ms();
        if (wait > 0) {
            int64_t ns = ts.tv_nsec + (wait % 1000) * 1000000;
            ts.tv_sec += wait / 1000 + ns / 1000000000;
            ts.tv_nsec = ns % 1000000000;
            pthread_cond_timedwait(&s->maint_cond, &s->maint_mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&s->maint_mu);
        now = clock_mono_ms();
        if (now >= next_ret) {
            (void)store_run_retention(s);
            next_ret = now + s->config.retention_check_ms;
        }
        if (now >= next_clean) {
            (void)store_run_compaction(s);
            next_clean = now + CLEANER_BACKOFF_MS;
        }
        if (now >= next_cp) {
            (void)store_checkpoints_write(s);
            next_cp = now + s->config.checkpoint_interval_ms;
        }
        pthread_mutex_lock(&s->maint_mu);
    }
    pthread_mutex_unlock(&s->maint_mu);
    return NULL;
}

/* ---- the opener: partitions left closed at start, opened in the background ---- */

/* Start-up opens no partition of a cleanly stopped store; clients open the ones they
 * use. This thread opens the rest soon after, one at a time, so that retention and
 * the cleaner (which pass closed partitions by) reach every partition as before,
 * and a damaged one is reported now rather than at its first use. */
static void *opener_thread(void *arg)
{
    struct store *s = arg;
    size_t n;
    struct store_topic **topics = topics_get_all(s, &n);
    for (size_t i = 0; topics && i < n && !LOAD(s->opener_stop); i++)
        for (int32_t k = 0; k < store_topic_partition_count(topics[i]); k++) {
            if (LOAD(s->opener_stop))
                break;
            struct store_partition *p = LOAD(topics[i]->parts)[k];
            if (!partition_unmade(p))                      /* one never used stays without files */
                (void)store_topic_partition(topics[i], k); /* logs what it cannot open */
        }
    if (topics)
        topics_put_all(topics, n);
    return NULL;
}

/* ---- open / close ---- */

const struct store_config *store_get_config(const struct store *s)
{
    return &s->config;
}

void store_recovery_info(const struct store *s, struct store_recovery *out)
{
    *out = s->recovery;
}

static void store_free(struct store *s)
{
    for (size_t i = 0; i < s->ntopics; i++)
        store_topic_put(s->topics[i]);
    free(s->topics);
    hmap_release(&s->topics_by_id);
    free(s->listeners);
    free(s->journals); /* emptied by the flusher's last journals_sync() */
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    pthread_rwlock_destroy(&s->topics_lock);
    pthread_mutex_destroy(&s->config_mu);
    store_retired_free(s);
    pthread_mutex_destroy(&s->retired_mu);
    pthread_rwlock_destroy(&s->listen_lock);
    pthread_mutex_destroy(&s->flush_mu);
    pthread_cond_destroy(&s->flush_cond);
    pthread_mutex_destroy(&s->maint_mu);
    pthread_cond_destroy(&s->maint_cond);
    pthread_mutex_destroy(&s->checkpoint_mu);
    fdcache_destroy(&s->fds); /* after the topics: their segments leave it first */
    free(s->dir);
    free(s);
}

static int lock_dir(struct store *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/.lock", s->dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->lock_fd < 0)
        return -errno;
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB))
        return errno == EWOULDBLOCK ? -EBUSY : -errno;
    /* the holder's pid, for the message a second brookd gives (store_lock_holder) */
    char pid[24];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(s->lock_fd, 0) == 0)
        (void)!pwrite(s->lock_fd, pid, (size_t)n, 0);
    return 0;
}

long store_lock_holder(const char *dir)
{
    char path[4096], buf[24] = {0};
    snprintf(path, sizeof path, "%s/.lock", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    char *end;
    long pid = n > 0 ? strtol(buf, &end, 10) : 0;
    return n > 0 && end != buf && *end == '\n' && pid > 0 ? pid : 0;
}

int store_open(const struct store_config *c, struct store **out)
{
    int64_t started = clock_mono_ms();
    struct store *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->config = *c;
    s->lock_fd = -1;
    pthread_rwlock_init(&s->topics_lock, NULL);
    pthread_mutex_init(&s->config_mu, NULL);
    pthread_mutex_init(&s->retired_mu, NULL);
    hmap_init(&s->topics_by_id);
    pthread_rwlock_init(&s->listen_lock, NULL);
    pthread_mutex_init(&s->flush_mu, NULL);
    pthread_cond_init(&s->flush_cond, NULL);
    pthread_mutex_init(&s->maint_mu, NULL);
    pthread_cond_init(&s->maint_cond, NULL);
    pthread_mutex_init(&s->checkpoint_mu, NULL);
    fdcache_init(&s->fds, c->max_open_files > 0 ? (size_t)c->max_open_files : 0);
    int rc = -ENOMEM;
    if (!(s->dir = strdup(c->dir)))
        goto err;
    s->config.dir = s->dir;
    char path[4096];
    if ((rc = dir_make(s->dir)) || (rc = lock_dir(s)))
        goto err;
    snprintf(path, sizeof path, "%s/" TOPICS_DIR, s->dir);
    if ((rc = dir_make(path)))
        goto err;
    snprintf(path, sizeof path, "%s/" CLEAN_SHUTDOWN_FILE, s->dir);
    bool clean = access(path, F_OK) == 0;
    s->recovery.clean = clean;
    if (!(s->loading = calloc(1, sizeof *s->loading))) {
        rc = -ENOMEM;
        goto err;
    }
    for (int f = 0; f < 3; f++)
        checkpoint_parse(s, f, s->loading);
    rc = topic_load_all(s, clean);
    checkpoints_free(s->loading);
    s->loading = NULL;
    if (rc)
        goto err;
    /* from now on a crash must be seen as one */
    if (clean && (sysio.unlink(path) || (rc = dir_fsync(s->dir, 1)))) {
        rc = rc ? rc : -errno;
        goto err;
    }
    if (pthread_create(&s->flusher, NULL, flush_thread, s)) {
        rc = -EAGAIN;
        goto err;
    }
    s->flusher_started = true;
    if (pthread_create(&s->maint, NULL, maint_thread, s)) {
        rc = -EAGAIN;
        goto err;
    }
    s->maint_started = true;
    if (s->lazy_partitions && pthread_create(&s->opener, NULL, opener_thread, s) == 0)
        s->opener_started = true; /* without it, partitions open at first use only */
    s->recovery.duration_ms = clock_mono_ms() - started;
    *out = s;
    return 0;
err:
    store_abandon(s);
    return rc;
}

static void stop_threads(struct store *s)
{
    STORE(s->opener_stop, true);
    if (s->opener_started)
        pthread_join(s->opener, NULL);
    s->opener_started = false;
    pthread_mutex_lock(&s->maint_mu);
    pthread_mutex_lock(&s->flush_mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->flush_cond);
    pthread_mutex_unlock(&s->flush_mu);
    pthread_cond_broadcast(&s->maint_cond);
    pthread_mutex_unlock(&s->maint_mu);
    if (s->maint_started)
        pthread_join(s->maint, NULL);
    if (s->flusher_started)
        pthread_join(s->flusher, NULL);
    s->maint_started = s->flusher_started = false;
}

void store_abandon(struct store *s)
{
    if (!s)
        return;
    stop_threads(s);
    /* partitions may still be on the dirty list if the flusher never ran */
    pthread_mutex_lock(&s->flush_mu);
    struct store_partition *p = s->dirty;
    s->dirty = NULL;
    pthread_mutex_unlock(&s->flush_mu);
    while (p) {
        struct store_partition *next = p->next_dirty;
        p->in_dirty = false;
        store_topic_put(p->topic);
        p = next;
    }
    checkpoints_free(s->loading);
    store_free(s);
}

void store_close(struct store *s)
{
    if (!s)
        return;
    stop_threads(s);
    size_t n;
    struct store_topic **topics = topics_get_all(s, &n);
    int rc = topics ? 0 : -ENOMEM;
    for (size_t i = 0; i < n; i++)
        for (int32_t k = 0; k < store_topic_partition_count(topics[i]); k++) {
            struct store_partition *p = topic_partition_opened(topics[i], k);
            struct segment *seg = p ? p->segs[p->nsegs - 1] : NULL;
            int r = seg && seg->index_dirty ? segment_write_indexes(p->dir, seg) : 0;
            rc = rc ? rc : r;
        }
    if (topics)
        topics_put_all(topics, n);
    int r = flush_all(s);
    rc = rc ? rc : r;
    r = store_checkpoints_write(s);
    rc = rc ? rc : r;
    if (!rc && !LOAD(s->io_failed)) { /* after a failed flush, recover at the next start */
        char path[4096];
        snprintf(path, sizeof path, "%s/" CLEAN_SHUTDOWN_FILE, s->dir);
        (void)file_write_atomic(path, "", 0);
    }
    store_free(s);
}
