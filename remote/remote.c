/*
 * remote.c - a remote cluster as the view's backend: clients, topics, appends,
 * durability and the watcher.
 *
 * libbrook clients are single-threaded, and the view calls from many threads,
 * so every client here has one owner: the admin client (metadata, create,
 * delete) is shared under admin_mu; the producer belongs to its own thread,
 * which polls it, and writers queue records under pmu; the watcher thread owns
 * its consumer; each topic's indexer is used under the topic's imu (index.c);
 * each reader owns its fetchers (read.c).
 *
 * Topics: the cluster's topic list is read at most once a second (and at once
 * when a name is not known, at most five times a second). A topic seen for the
 * first time - or again after it was gone - gets a new id, so the view gives
 * it new inodes.
 *
 * Appends: every complete line is one record (null key) queued on the
 * idempotent producer with acks=all, to the partition the view chose. A queued
 * line counts as stored for write(); close() waits (when_durable) until the
 * cluster acknowledged every line queued through that file. A record the
 * cluster refuses for good (delivery.timeout.ms passed, a fatal error) makes
 * the next close() that waits for it, on that partition, fail with EIO - the
 * failure is reported once, and logged.
 *
 * The watcher: one read_committed consumer assigned from the end of every topic
 * the view has looked at, long-polling. When a fetch brings records of a
 * partition, the watcher syncs that topic's index and then tells the view,
 * which invalidates sizes and wakes follow readers and poll()ers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "remote/private.h"

#define LIST_MISS_MS   200 /* a lookup of an unknown name refreshes the list at most this often */
#define LINE_MAX_BYTES ((1 << 20) - 512) /* Kafka's default message.max.bytes, less framing */
#define WATCH_BATCH    1024              /* records the watcher takes before syncing */

/* ---- clients ---- */

/* A client as rt_client makes it, with a delivery callback (the producer). */
static int client_make(struct remote *r, const char *const *extra, brook_delivery_cb *cb,
                       struct brook_client **out)
{
    struct brook_conf *conf = brook_conf_new();
    int rc = conf ? brook_conf_set(conf, "bootstrap.servers", r->brokers) : -ENOMEM;
    if (!rc) /* a metadata request must never bring a topic back: rm means gone */
        rc = brook_conf_set(conf, "allow.auto.create.topics", "false");
    for (size_t i = 0; !rc && extra && extra[i]; i += 2)
        rc = brook_conf_set(conf, extra[i], extra[i + 1]);
    for (size_t i = 0; !rc && i < r->opt.n_conf; i++) { /* the user's settings win */
        char key[256];
        const char *eq = strchr(r->conf[i], '=');
        size_t kl = eq ? (size_t)(eq - r->conf[i]) : sizeof key;
        if (kl >= sizeof key)
            rc = BROOK_ERR_CONFIG;
        else {
            snprintf(key, sizeof key, "%.*s", (int)kl, r->conf[i]);
            rc = brook_conf_set(conf, key, eq + 1);
        }
    }
    if (!rc && cb)
        brook_conf_set_delivery_cb(conf, cb, r);
    if (!rc)
        rc = brook_client_new(conf, out);
    brook_conf_free(conf);
    return rc;
}

const char *const rt_fetch_conf[] = {"isolation.level",
                                     "read_committed",
                                     "auto.offset.reset",
                                     "earliest",
                                     "enable.auto.commit",
                                     "false",
                                     "fetch.max.wait.ms",
                                     "100",
                                     NULL};

int rt_client(struct remote *r, const char *const *extra, struct brook_client **out)
{
    return client_make(r, extra, NULL, out);
}

int rt_errno(int err)
{
    switch (brook_err_kafka_code(err)) {
    case 0: break;
    case 3: return -ENOENT;    /* UNKNOWN_TOPIC_OR_PARTITION */
    case 7: return -ETIMEDOUT; /* REQUEST_TIMED_OUT */
    case 10: return -EFBIG;    /* MESSAGE_TOO_LARGE */
    case 17: return -EINVAL;   /* INVALID_TOPIC_EXCEPTION */
    case 29: return -EACCES;   /* TOPIC_AUTHORIZATION_FAILED */
    case 36: return -EEXIST;   /* TOPIC_ALREADY_EXISTS */
    case 37:                   /* INVALID_PARTITIONS */
    case 38: return -EINVAL;   /* INVALID_REPLICATION_FACTOR */
    case 41: return -EPERM;    /* NOT_CONTROLLER: no, but the cluster refused */
    case 73: return -EPERM;    /* TOPIC_DELETION_DISABLED */
    default: return -EIO;
    }
    if (err == -EMSGSIZE)
        return -EFBIG;
    return err < 0 && err > -4096 ? err : -EIO;
}

/* ---- topics ---- */

void rt_topic_hold(struct fs_btopic *t)
{
    atomic_fetch_add(&t->refs, 1);
}

void rt_topic_drop(struct fs_btopic *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    brook_client_free(t->ic);
    rt_index_free(t);
    pthread_mutex_destroy(&t->mu);
    pthread_mutex_destroy(&t->imu);
    free(t->name);
    free(t);
}

static struct fs_btopic *topic_new(struct remote *r, const struct brook_topic_info *ti)
{
    struct fs_btopic *t = calloc(1, sizeof *t);
    int32_t n = (int32_t)ti->n_partitions;
    if (!t || !(t->name = strdup(ti->name)) ||
        !(t->parts = calloc((size_t)n + 1, sizeof *t->parts))) {
        if (t)
            free(t->name);
        free(t);
        return NULL;
    }
    t->r = r;
    t->refs = 1; /* the table's */
    t->nparts = n;
    uint32_t gen = ++r->generation;
    memcpy(t->id, "brook-remote", 12);
    memcpy(t->id + 12, &gen, sizeof gen);
    pthread_mutex_init(&t->mu, NULL);
    pthread_mutex_init(&t->imu, NULL);
    rt_index_load(t);
    return t;
}

/* Replace the table with the cluster's list (r->mu held by the caller after the
 * metadata call). */
static void table_update(struct remote *r, const struct brook_metadata *md)
{
    struct fs_btopic **pp = &r->topics;
    while (*pp) { /* drop the topics the cluster no longer has */
        struct fs_btopic *t = *pp;
        bool found = false;
        for (size_t i = 0; i < md->n_topics && !found; i++)
            found = !md->topics[i].err && !strcmp(md->topics[i].name, t->name);
        if (found) {
            pp = &t->next;
            continue;
        }
        *pp = t->next;
        t->gone = true;
        rt_topic_drop(t);
    }
    for (size_t i = 0; i < md->n_topics; i++) {
        const struct brook_topic_info *ti = &md->topics[i];
        struct fs_btopic *t = r->topics;
        while (t && strcmp(t->name, ti->name))
            t = t->next;
        if (t || ti->err || !(t = topic_new(r, ti)))
            continue;
        t->next = r->topics;
        r->topics = t;
    }
}

/* Read the cluster's topic list when the last one is older than max_age_ms. */
static int table_refresh(struct remote *r, int64_t max_age_ms)
{
    struct brook_metadata *md;
    pthread_mutex_lock(&r->mu);
    bool fresh = clock_mono_ms() - r->listed_ms < max_age_ms;
    pthread_mutex_unlock(&r->mu);
    if (fresh)
        return 0;
    pthread_mutex_lock(&r->admin_mu);
    int rc = brook_metadata_get(r->admin, NULL, 0, false, r->opt.timeout_ms, &md);
    pthread_mutex_unlock(&r->admin_mu);
    if (rc) {
        log_warn_every("brook.mount", "Cannot list the cluster's topics: %s", brook_strerror(rc));
        return rt_errno(rc);
    }
    pthread_mutex_lock(&r->mu);
    table_update(r, md);
    r->listed_ms = clock_mono_ms();
    pthread_mutex_unlock(&r->mu);
    brook_metadata_free(md);
    return 0;
}

static struct fs_btopic *table_find(struct remote *r, const char *name)
{
    pthread_mutex_lock(&r->mu);
    struct fs_btopic *t = r->topics;
    while (t && strcmp(t->name, name))
        t = t->next;
    if (t) {
        rt_topic_hold(t);
        t->watch = true;
    }
    pthread_mutex_unlock(&r->mu);
    return t;
}

static char **rt_topic_names(void *be)
{
    struct remote *r = be;
    table_refresh(r, RT_MD_MS); /* on failure: the names known */
    pthread_mutex_lock(&r->mu);
    size_t n = 0, bytes = 0;
    for (struct fs_btopic *t = r->topics; t; t = t->next, n++)
        bytes += strlen(t->name) + 1;
    char **v = malloc((n + 1) * sizeof *v + bytes);
    char *s = v ? (char *)(v + n + 1) : NULL;
    size_t i = 0;
    for (struct fs_btopic *t = r->topics; v && t; t = t->next) {
        v[i++] = s;
        s = stpcpy(s, t->name) + 1;
    }
    if (v)
        v[i] = NULL;
    pthread_mutex_unlock(&r->mu);
    return v;
}

static struct fs_btopic *rt_topic_get(void *be, const char *name)
{
    struct remote *r = be;
    table_refresh(r, RT_MD_MS);
    struct fs_btopic *t = table_find(r, name);
    if (!t && table_refresh(r, LIST_MISS_MS) == 0)
        t = table_find(r, name); /* created meanwhile by someone else */
    return t;
}

static void rt_topic_put(void *be, struct fs_btopic *t)
{
    (void)be;
    rt_topic_drop(t);
}

static bool rt_name_internal(const char *name)
{
    return name[0] == '_' && name[1] == '_';
}

static void rt_topic_info(void *be, struct fs_btopic *t, struct fs_btopic_info *out)
{
    (void)be;
    out->name = t->name;
    memcpy(out->id, t->id, sizeof out->id);
    out->partitions = t->nparts;
    out->line_max = LINE_MAX_BYTES;
    out->internal = rt_name_internal(t->name);
    out->json = false; /* a cluster's values are shown as they are */
}

static int rt_topic_create(void *be, const char *name)
{
    struct remote *r = be;
    pthread_mutex_lock(&r->admin_mu);
    int rc = brook_topic_create(r->admin, name, -1, -1, NULL, r->opt.timeout_ms);
    pthread_mutex_unlock(&r->admin_mu);
    if (rc)
        return rt_errno(rc);
    return table_refresh(r, 0);
}

static int rt_topic_delete(void *be, const char *name)
{
    struct remote *r = be;
    pthread_mutex_lock(&r->admin_mu);
    int rc = brook_topic_delete(r->admin, name, r->opt.timeout_ms);
    pthread_mutex_unlock(&r->admin_mu);
    if (rc)
        return rt_errno(rc);
    return table_refresh(r, 0);
}

static int rt_statfs(void *be, struct statvfs *sv)
{
    struct remote *r = be;
    return statvfs(r->cache_dir ? r->cache_dir : "/", sv) ? -errno : 0;
}

/* ---- attributes ---- */

static int64_t rt_stream_size(void *be, struct fs_btopic *t, int32_t partition)
{
    (void)be;
    if (!t->synced)
        rt_sync(t, -1); /* the first look at a topic: index it to its end */
    pthread_mutex_lock(&t->mu);
    int64_t n = rt_size(t, partition);
    pthread_mutex_unlock(&t->mu);
    return n;
}

static int64_t rt_last_append_ms(void *be, struct fs_btopic *t, int32_t partition)
{
    (void)be;
    pthread_mutex_lock(&t->mu);
    int64_t ms = partition >= 0 && partition < t->nparts ? t->parts[partition].last_ms : 0;
    pthread_mutex_unlock(&t->mu);
    return ms;
}

static void rt_cache_free(void *cache)
{
    (void)cache; /* the remote backend keeps its state in its topics */
}

/* ---- appends ---- */

struct fs_bwriter {
    struct remote *r;
    struct fs_btopic *t;
    int32_t partition;
    int64_t last; /* number of the last record it queued */
    size_t lines;
};

static void wake_producer(struct remote *r)
{
    char c = 1;
    ssize_t rc = write(r->wake[1], &c, 1);
    (void)rc; /* full: the thread is being woken already */
}

static int rt_writer_open(void *be, struct fs_btopic *t, int32_t partition, struct fs_bwriter **out)
{
    struct fs_bwriter *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    if (partition < 0 || partition >= t->nparts) {
        free(w);
        return -ENOENT;
    }
    w->r = be;
    w->t = t;
    w->partition = partition;
    *out = w;
    return 0;
}

/* Queue one record; waits (bounded by the delivery timeout the producer
 * enforces) while the producer's buffer is full. */
static int rt_writer_add(struct fs_bwriter *w, const uint8_t *line, size_t len, bool *flushed)
{
    struct remote *r = w->r;
    struct brook_record rec = BROOK_RECORD_INIT;
    rec.topic = w->t->name;
    rec.partition = w->partition;
    rec.value = line;
    rec.value_len = len;
    *flushed = w->lines > 0; /* the lines before are queued: stored for write() */
    int64_t deadline = clock_mono_ms() + r->opt.timeout_ms;
    int rc;
    for (;;) {
        pthread_mutex_lock(&r->pmu);
        rt_topic_hold(w->t); /* for the delivery report */
        rc = brook_produce(r->prod, &rec, w->t);
        if (rc == 0)
            w->last = ++w->t->parts[w->partition].queued;
        pthread_mutex_unlock(&r->pmu);
        if (rc)
            rt_topic_drop(w->t);
        if (rc != -ENOBUFS || clock_mono_ms() > deadline)
            break;
        wake_producer(r);
        struct timespec ts = {0, 2000000}; /* back off while the producer drains */
        nanosleep(&ts, NULL);
    }
    if (rc)
        return rc == -ENOBUFS ? -EIO : rt_errno(rc);
    w->lines++;
    wake_producer(r);
    return 0;
}

static int rt_writer_flush(struct fs_bwriter *w)
{
    wake_producer(w->r);
    return 0;
}

static void rt_writer_close(struct fs_bwriter *w, int64_t *token)
{
    *token = w->last;
    free(w);
}

/* The outcome for a waiter whose records are all reported: -EIO once for a
 * failure among them. pmu held. */
static int waiter_result(struct fs_btopic *t, int32_t p, int64_t token)
{
    struct rt_part *pp = &t->parts[p];
    if (pp->failed && pp->failed <= token) {
        pp->failed = 0;
        return -EIO;
    }
    return 0;
}

static int rt_when_durable(void *be, struct fs_btopic *t, int32_t partition, int64_t token,
                           fs_backend_done *done, void *arg)
{
    struct remote *r = be;
    if (partition < 0 || partition >= t->nparts)
        return -ENOENT;
    pthread_mutex_lock(&r->pmu);
    if (t->parts[partition].acked >= token) {
        int rc = waiter_result(t, partition, token);
        pthread_mutex_unlock(&r->pmu);
        return rc ? rc : 1;
    }
    struct rt_waiter *wt = malloc(sizeof *wt);
    if (!wt) {
        pthread_mutex_unlock(&r->pmu);
        return -ENOMEM;
    }
    rt_topic_hold(t);
    *wt = (struct rt_waiter){t, partition, token, done, arg, r->waiters};
    r->waiters = wt;
    pthread_mutex_unlock(&r->pmu);
    wake_producer(r);
    return 0;
}

static void on_delivery(void *arg, const struct brook_delivery *d)
{
    struct fs_btopic *t = d->opaque;
    (void)arg;
    if (!t)
        return;
    if (d->partition >= 0 && d->partition < t->nparts) {
        struct rt_part *pp = &t->parts[d->partition];
        pp->acked++;
        if (d->err) {
            pp->failed = pp->acked;
            log_warn("brook.mount", "A line appended to %s-%d was not delivered: %s", t->name,
                     d->partition, brook_strerror(d->err));
        }
    }
    rt_topic_drop(t);
}

/* Take the waiters whose records are all reported; their results in rc. pmu held. */
static struct rt_waiter *ready_waiters(struct remote *r, bool all)
{
    struct rt_waiter *ready = NULL;
    for (struct rt_waiter **pp = &r->waiters; *pp;) {
        struct rt_waiter *w = *pp;
        if (all || w->t->parts[w->partition].acked >= w->token) {
            *pp = w->next;
            w->next = ready;
            ready = w;
        } else {
            pp = &w->next;
        }
    }
    for (struct rt_waiter *w = ready; w; w = w->next)
        w->token = all && w->t->parts[w->partition].acked < w->token
                       ? -EIO
                       : waiter_result(w->t, w->partition, w->token);
    return ready;
}

static void fire(struct rt_waiter *w)
{
    while (w) {
        struct rt_waiter *next = w->next;
        w->done(w->arg, (int)w->token);
        rt_topic_drop(w->t);
        free(w);
        w = next;
    }
}

static void *producer_main(void *arg)
{
    struct remote *r = arg;
    while (!atomic_load(&r->stopping)) {
        pthread_mutex_lock(&r->pmu);
        int to = brook_client_timeout(r->prod);
        int fd = brook_client_fd(r->prod);
        pthread_mutex_unlock(&r->pmu);
        struct pollfd pf[2] = {{fd, POLLIN, 0}, {r->wake[0], POLLIN, 0}};
        poll(pf, 2, to < 0 || to > 100 ? 100 : to);
        char buf[256];
        while (read(r->wake[0], buf, sizeof buf) > 0)
            ;
        pthread_mutex_lock(&r->pmu);
        brook_poll(r->prod, 0);
        struct rt_waiter *ready = ready_waiters(r, false);
        pthread_mutex_unlock(&r->pmu);
        fire(ready);
    }
    return NULL;
}

/* ---- the watcher ---- */

struct dirty {
    char topic[256];
    int32_t partition;
};

/* Assign the topics the view looked at and indexed since the last call, each
 * partition from where its index ends: whatever comes after the index is news,
 * even what came while the watcher was not yet there. */
static void watch_new(struct remote *r, struct brook_client *c)
{
    struct fs_btopic *v[64];
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (struct fs_btopic *t = r->topics; t && n < 64; t = t->next)
        if (t->watch && !t->watched && t->synced) {
            rt_topic_hold(t);
            v[n++] = t;
            t->watched = true;
        }
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        struct fs_btopic *t = v[i];
        for (int32_t p = 0; p < t->nparts; p++) {
            pthread_mutex_lock(&t->mu);
            struct brook_offset at = {BROOK_OFFSET_AT, t->parts[p].indexed};
            pthread_mutex_unlock(&t->mu);
            brook_assign(c, t->name, &p, 1, &at);
        }
        rt_topic_drop(t);
    }
}

static void notify(struct remote *r, const struct dirty *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool first = true; /* sync each topic once */
        for (size_t j = 0; j < i && first; j++)
            first = strcmp(v[j].topic, v[i].topic) != 0;
        struct fs_btopic *t = first ? table_find(r, v[i].topic) : NULL;
        if (t) {
            rt_sync(t, -1);
            rt_topic_drop(t);
        }
    }
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n && r->cb; i++)
        r->cb(r->cb_arg, v[i].topic, v[i].partition);
    pthread_mutex_unlock(&r->mu);
}

static void *watcher_main(void *arg)
{
    static const char *const extra[] = {"isolation.level",
                                        "read_committed",
                                        "auto.offset.reset",
                                        "latest",
                                        "enable.auto.commit",
                                        "false",
                                        "fetch.max.wait.ms",
                                        "200",
                                        NULL};
    struct remote *r = arg;
    struct brook_client *c = NULL;
    static struct dirty v[64];
    size_t n = 0;
    if (rt_client(r, extra, &c))
        return NULL;
    while (!atomic_load(&r->stopping)) {
        watch_new(r, c);
        const struct brook_message *m;
        int got = brook_consume(c, &m, 100);
        for (int k = 0; got == 1 && k < WATCH_BATCH; k++) {
            size_t i = 0;
            while (i < n && (v[i].partition != m->partition || strcmp(v[i].topic, m->topic)))
                i++;
            if (i == n && n < 64 && strlen(m->topic) < sizeof v[i].topic) {
                snprintf(v[i].topic, sizeof v[i].topic, "%s", m->topic);
                v[n++].partition = m->partition;
            }
            got = brook_consumer_next(c, &m);
        }
        if (n && got != 1) {
            notify(r, v, n);
            n = 0;
        }
    }
    brook_client_free(c);
    return NULL;
}

static int rt_listen(void *be, fs_backend_listener *cb, void *arg)
{
    struct remote *r = be;
    pthread_mutex_lock(&r->mu);
    r->cb = cb;
    r->cb_arg = arg;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

static void rt_unlisten(void *be, fs_backend_listener *cb, void *arg)
{
    struct remote *r = be;
    (void)cb, (void)arg;
    pthread_mutex_lock(&r->mu);
    r->cb = NULL;
    pthread_mutex_unlock(&r->mu);
}

static const struct fs_backend_ops rt_ops = {
    .topic_names = rt_topic_names,
    .topic_get = rt_topic_get,
    .topic_put = rt_topic_put,
    .topic_info = rt_topic_info,
    .name_internal = rt_name_internal,
    .topic_create = rt_topic_create,
    .topic_delete = rt_topic_delete,
    .statfs = rt_statfs,
    .stream_size = rt_stream_size,
    .last_append_ms = rt_last_append_ms,
    .reader_open = rt_reader_open,
    .reader_read = rt_reader_read,
    .reader_at_end = rt_reader_at_end,
    .reader_close = rt_reader_close,
    .reader_follow = rt_reader_follow,
    .cache_free = rt_cache_free,
    .writer_open = rt_writer_open,
    .writer_add = rt_writer_add,
    .writer_flush = rt_writer_flush,
    .writer_close = rt_writer_close,
    .when_durable = rt_when_durable,
    .segments = NULL, /* the segment files are the cluster's */
    .segment_pread = NULL,
    .listen = rt_listen,
    .unlisten = rt_unlisten,
};

/* ---- open and close ---- */

static int mkdirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0700) && errno != EEXIST)
                return -errno;
            *p = '/';
        }
    return mkdir(buf, 0700) && errno != EEXIST ? -errno : 0;
}

static void remote_free(struct remote *r)
{
    atomic_store(&r->stopping, true);
    if (r->wthread_started)
        pthread_join(r->wthread, NULL);
    rt_group_stop(r); /* the readers are closed: what they took is committed */
    if (r->prod) {
        pthread_mutex_lock(&r->pmu);
        brook_flush(r->prod, r->opt.timeout_ms);
        pthread_mutex_unlock(&r->pmu);
    }
    if (r->pthread_started) {
        wake_producer(r);
        pthread_join(r->pthread, NULL);
    }
    fire(ready_waiters(r, true));
    brook_client_free(r->prod);
    brook_client_free(r->admin);
    while (r->topics) {
        struct fs_btopic *t = r->topics;
        r->topics = t->next;
        rt_topic_drop(t);
    }
    for (size_t i = 0; r->conf && i < r->opt.n_conf; i++)
        free(r->conf[i]);
    free(r->conf);
    free(r->brokers);
    free(r->cache_dir);
    free(r->group);
    if (r->wake[0] >= 0)
        close(r->wake[0]);
    if (r->wake[1] >= 0)
        close(r->wake[1]);
    pthread_mutex_destroy(&r->admin_mu);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->pmu);
    free(r);
}

static int producer_start(struct remote *r)
{
    /* linger 0: a close() waits for its lines, so holding them back only adds to
     * every echo; lines queued while a request is in flight still batch */
    static const char *const extra[] = {"enable.idempotence", "true", "acks", "all",
                                        "linger.ms",          "0",    NULL};
    return client_make(r, extra, on_delivery, &r->prod);
}

/* Signals stay with the caller. */
int rt_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -rc;
}

static struct remote *remote_new(const struct remote_options *o)
{
    struct remote *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->opt = *o;
    r->wake[0] = r->wake[1] = -1;
    pthread_mutex_init(&r->admin_mu, NULL);
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->pmu, NULL);
    r->brokers = strdup(o->brokers);
    r->cache_dir = o->cache_dir ? strdup(o->cache_dir) : NULL;
    r->group = o->group ? strdup(o->group) : NULL;
    r->conf = calloc(o->n_conf + 1, sizeof *r->conf);
    bool ok = r->brokers && r->conf && (!o->cache_dir || r->cache_dir) && (!o->group || r->group);
    r->fetch_wait_ms = 100;
    for (size_t i = 0; ok && i < o->n_conf; i++) {
        ok = (r->conf[i] = strdup(o->conf[i])) != NULL;
        if (ok && !strncmp(o->conf[i], "fetch.max.wait.ms=", 18))
            r->fetch_wait_ms = atoi(o->conf[i] + 18);
        if (ok && !strncmp(o->conf[i], "auto.offset.reset=", 18)) { /* librdkafka's names */
            const char *v = o->conf[i] + 18;
            r->reset_earliest =
                !strcmp(v, "earliest") || !strcmp(v, "smallest") || !strcmp(v, "beginning");
        }
    }
    if (!ok) {
        remote_free(r);
        return NULL;
    }
    return r;
}

int remote_open(const struct remote_options *o, struct fs_backend *b, char *why, size_t n)
{
    struct remote *r = remote_new(o);
    int rc = r ? 0 : -ENOMEM, cause = 0;
    if (!rc && r->cache_dir && (rc = mkdirs(r->cache_dir)))
        snprintf(why, n, "cannot create the cache directory %s: %s", r->cache_dir, strerror(-rc));
    if (!rc && (rc = rt_client(r, NULL, &r->admin)))
        snprintf(why, n, "bad client settings: %s", brook_strerror(rc));
    if (!rc && (rc = brook_client_connect(r->admin, o->timeout_ms, &cause)))
        snprintf(why, n, "cannot reach a broker at %s: %s", o->brokers,
                 brook_strerror(cause ? cause : rc));
    if (!rc && (rc = producer_start(r)))
        snprintf(why, n, "cannot start the producer: %s", brook_strerror(rc));
    if (!rc && pipe2(r->wake, O_NONBLOCK | O_CLOEXEC))
        rc = -errno;
    if (!rc && !(rc = rt_thread_start(&r->pthread, producer_main, r)))
        r->pthread_started = true;
    if (!rc && !(rc = rt_thread_start(&r->wthread, watcher_main, r)))
        r->wthread_started = true;
    if (!rc && (rc = rt_group_start(r)))
        snprintf(why, n, "cannot start the group's committer: %s", strerror(-rc));
    if (rc) {
        if (!*why)
            snprintf(why, n, "%s", rc == -ENOMEM ? "out of memory" : strerror(-rc));
        if (r)
            remote_free(r);
        return rc;
    }
    rt_cache_trim(r);
    b->ops = &rt_ops;
    b->be = r;
    return 0;
}

void remote_close(struct fs_backend *b)
{
    if (b && b->be)
        remote_free(b->be);
}
