/*
 * store_backend.c - brookd's own store as the view's backend (backend.h).
 *
 * A thin adapter: topics are store topics (the reference is the store's own
 * counted reference), streams render through stream.c and records.c, appends
 * are batches built here and appended with store_partition_append, durability
 * is the store's flusher calling back, growth is store_listen. The per-topic
 * cache the view keeps for us holds the topic's partition anchors (struct
 * fs_jindex), so every reader of a topic shares them.
 *
 * brookd's internal topics ("__" names) hold binary values (Kafka's offset-commit
 * and transaction formats): they are json topics (backend.h), whose topic file,
 * data and follow read as records.c's JSON lines and have no knowable size.
 *
 * fs_start() mounts the view over a store with this backend; the view frees the
 * adapter at fs_stop().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/store_private.h"
#include "lib/clock.h"

struct store_backend {
    struct store *s;
    pthread_mutex_t mu; /* the listener */
    fs_backend_listener *cb;
    void *arg;
    /* fs_options.appended, for the daemon's counters */
    void (*appended)(void *arg, const char *topic, int64_t records, int64_t bytes);
    void *appended_arg;
};

static struct store_topic *topic_of(struct fs_btopic *t)
{
    return (struct store_topic *)t;
}

static struct store *store_of(void *be)
{
    return ((struct store_backend *)be)->s;
}

/* ---- namespace ---- */

static char **sb_topic_names(void *be)
{
    return store_topic_names(store_of(be));
}

static struct fs_btopic *sb_topic_get(void *be, const char *name)
{
    return (struct fs_btopic *)store_topic_get(store_of(be), name);
}

static void sb_topic_put(void *be, struct fs_btopic *t)
{
    (void)be;
    store_topic_put(topic_of(t));
}

/* The longest line one batch of both max.message.bytes and the largest batch
 * the store's readers accept can hold (a client may set the topic's limit to
 * 2 GiB). */
static size_t topic_line_max(struct store_topic *t)
{
    struct topic_config tc;
    store_topic_config_get(t, &tc);
    int64_t batch = tc.max_message_bytes;
    if (batch > (int64_t)batch_limits_default.max_batch)
        batch = (int64_t)batch_limits_default.max_batch;
    return fs_line_max(batch);
}

static void sb_topic_info(void *be, struct fs_btopic *bt, struct fs_btopic_info *out)
{
    struct store_topic *t = topic_of(bt);
    (void)be;
    out->name = store_topic_name(t);
    memcpy(out->id, store_topic_id(t), sizeof out->id);
    out->partitions = store_topic_partition_count(t);
    out->line_max = topic_line_max(t);
    out->internal = store_topic_name_internal(out->name);
    out->json = out->internal;
}

static int sb_topic_create(void *be, const char *name)
{
    return store_topic_create(store_of(be), name, 0, NULL, NULL);
}

static int sb_topic_delete(void *be, const char *name)
{
    return store_topic_delete(store_of(be), name);
}

static int sb_statfs(void *be, struct statvfs *sv)
{
    return statvfs(store_get_config(store_of(be))->dir, sv) ? -errno : 0;
}

/* ---- attributes ---- */

static int64_t sb_stream_size(void *be, struct fs_btopic *t, int32_t partition)
{
    (void)be;
    if (store_topic_name_internal(store_topic_name(topic_of(t))))
        return 0; /* read as JSON lines (records.c): no knowable size */
    return fs_stream_size(topic_of(t), partition);
}

static int64_t sb_last_append_ms(void *be, struct fs_btopic *t, int32_t partition)
{
    struct store_partition *p = store_topic_partition_figures(topic_of(t), partition);
    struct store_partition_info info;
    (void)be;
    if (!p)
        return 0;
    store_partition_info(p, &info);
    return info.last_append_ms;
}

/* ---- reading ---- */

struct fs_breader {
    bool records;
    struct fs_stream st;
    struct fs_records rec;
};

/* The topic's anchors, created by the first reader; two first readers at once
 * race with a compare-and-swap and the loser frees its copy. */
static struct fs_jindex *jindex_of(void **cache)
{
    struct fs_jindex *jx = __atomic_load_n((struct fs_jindex **)cache, __ATOMIC_ACQUIRE);
    if (jx)
        return jx;
    struct fs_jindex *mine = malloc(sizeof *mine);
    if (!mine)
        return NULL;
    fs_jindex_init(mine);
    if (__atomic_compare_exchange_n((struct fs_jindex **)cache, &jx, mine, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return mine;
    fs_jindex_release(mine);
    free(mine);
    return jx;
}

static void sb_cache_free(void *cache)
{
    fs_jindex_release(cache);
    free(cache);
}

static int sb_reader_open(void *be, struct fs_btopic *bt, int32_t partition, bool records,
                          void **cache, struct fs_breader **out)
{
    struct store_topic *t = topic_of(bt);
    struct fs_breader *r = calloc(1, sizeof *r);
    struct fs_jindex *jx = records ? NULL : jindex_of(cache);
    struct store_partition *p = partition >= 0 ? store_topic_partition(t, partition) : NULL;
    (void)be;
    if (!r || (!records && !jx)) {
        free(r);
        return -ENOMEM;
    }
    r->records = records;
    if (records && !(partition < 0 ? store_topic_partition(t, 0) : p)) {
        free(r); /* one the store could not open */
        return -ENOENT;
    }
    if (records && partition < 0) /* every partition in turn: a json topic's file */
        fs_records_init_topic(&r->rec, t);
    else if (records)
        fs_records_init(&r->rec, p);
    else
        fs_stream_init(&r->st, t, partition, jx);
    *out = r;
    return 0;
}

static ssize_t sb_reader_read(struct fs_breader *r, int64_t off, uint8_t *buf, size_t size)
{
    return r->records ? fs_records_read(&r->rec, off, buf, size)
                      : fs_stream_read(&r->st, off, buf, size);
}

static bool sb_reader_at_end(struct fs_breader *r, int64_t off)
{
    return r->records || fs_stream_at_end(&r->st, off < 0 ? r->st.kpos : off);
}

static void sb_reader_close(struct fs_breader *r)
{
    if (r->records)
        fs_records_release(&r->rec);
    else
        fs_stream_release(&r->st);
    free(r);
}

/* ---- writing: batches into the store ---- */

struct fs_bwriter {
    struct store_backend *sb;
    struct store_partition *p;
    int64_t ts;  /* CreateTime of every record of the write */
    int64_t end; /* offset after the last batch stored */
    struct batch_builder b;
    struct writer w;
};

static int sb_writer_open(void *be, struct fs_btopic *bt, int32_t partition,
                          struct fs_bwriter **out)
{
    struct store_topic *t = topic_of(bt);
    struct topic_config tc;
    struct store_partition *p = store_topic_partition(t, partition);
    if (!p)
        return -ENOENT;
    struct fs_bwriter *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    store_topic_config_get(t, &tc);
    int64_t max = tc.max_message_bytes;
    a->sb = be;
    a->p = p;
    a->ts = clock_wall_ms();
    batch_builder_init(&a->b, CODEC_NONE, max > BATCH_HEADER_SIZE ? max - BATCH_HEADER_SIZE : 0);
    writer_init(&a->w, (size_t)max + 64);
    *out = a;
    return 0;
}

static int sb_writer_flush(struct fs_bwriter *a)
{
    if (a->b.count == 0)
        return 0;
    writer_reset(&a->w);
    struct store_append res = {0};
    int rc = batch_builder_finish(&a->b, -1, &a->w);
    if (!rc)
        rc = store_partition_append(a->p, a->w.buf, a->w.len, &res);
    batch_builder_reset(&a->b);
    if (!rc && res.last_offset + 1 > a->end)
        a->end = res.last_offset + 1;
    if (!rc && a->sb->appended)
        a->sb->appended(a->sb->appended_arg, store_topic_name(store_partition_topic(a->p)),
                        res.last_offset - res.base_offset + 1, (int64_t)a->w.len);
    return rc;
}

/* A full batch is appended first (*flushed then). */
static int sb_writer_add(struct fs_bwriter *a, const uint8_t *line, size_t len, bool *flushed)
{
    *flushed = false;
    int rc = batch_builder_add(&a->b, a->ts, NULL, -1, line, (int32_t)len, NULL, 0);
    if (rc == -EMSGSIZE && a->b.count > 0) {
        if ((rc = sb_writer_flush(a)))
            return rc;
        *flushed = true;
        rc = batch_builder_add(&a->b, a->ts, NULL, -1, line, (int32_t)len, NULL, 0);
    }
    return rc;
}

static void sb_writer_close(struct fs_bwriter *a, int64_t *token)
{
    *token = a->end;
    batch_builder_release(&a->b);
    writer_release(&a->w);
    free(a);
}

static int sb_when_durable(void *be, struct fs_btopic *t, int32_t partition, int64_t token,
                           fs_backend_done *done, void *arg)
{
    struct store_partition *p = store_topic_partition(topic_of(t), partition);
    (void)be;
    return p ? store_partition_when_durable(p, token, done, arg) : -ENOENT;
}

/* ---- segment files ---- */

static int sb_segments(void *be, struct fs_btopic *t, int32_t partition, struct fs_bsegment **v,
                       size_t *n)
{
    struct store_partition *p = store_topic_partition(topic_of(t), partition);
    struct store_segment_info *si;
    (void)be;
    if (!p)
        return -ENOENT;
    int rc = store_partition_segments(p, &si, n);
    if (rc)
        return rc;
    if (!(*v = calloc(*n ? *n : 1, sizeof **v))) {
        free(si);
        return -ENOMEM;
    }
    for (size_t i = 0; i < *n; i++) {
        (*v)[i].base = si[i].base;
        memcpy((*v)[i].size, si[i].size, sizeof si[i].size);
    }
    free(si);
    return 0;
}

static ssize_t sb_segment_pread(void *be, struct fs_btopic *t, int32_t partition, int64_t base,
                                int kind, uint8_t *buf, size_t size, int64_t off)
{
    struct store_partition *p = store_topic_partition(topic_of(t), partition);
    (void)be;
    if (!p)
        return -ENOENT;
    return store_partition_segment_pread(p, base, (enum store_file)kind, buf, size, off);
}

/* ---- growth ---- */

static void on_append(void *arg, struct store_partition *p, int64_t hw)
{
    struct store_backend *sb = arg;
    (void)hw;
    pthread_mutex_lock(&sb->mu);
    if (sb->cb)
        sb->cb(sb->arg, store_topic_name(store_partition_topic(p)), store_partition_index(p));
    pthread_mutex_unlock(&sb->mu);
}

static int sb_listen(void *be, fs_backend_listener *cb, void *arg)
{
    struct store_backend *sb = be;
    pthread_mutex_lock(&sb->mu);
    sb->cb = cb;
    sb->arg = arg;
    pthread_mutex_unlock(&sb->mu);
    return store_listen(sb->s, on_append, sb);
}

static void sb_unlisten(void *be, fs_backend_listener *cb, void *arg)
{
    struct store_backend *sb = be;
    (void)cb, (void)arg;
    store_unlisten(sb->s, on_append, sb);
    pthread_mutex_lock(&sb->mu);
    sb->cb = NULL;
    pthread_mutex_unlock(&sb->mu);
}

const struct fs_backend_ops fs_store_ops = {
    .topic_names = sb_topic_names,
    .topic_get = sb_topic_get,
    .topic_put = sb_topic_put,
    .topic_info = sb_topic_info,
    .name_internal = store_topic_name_internal,
    .topic_create = sb_topic_create,
    .topic_delete = sb_topic_delete,
    .statfs = sb_statfs,
    .stream_size = sb_stream_size,
    .last_append_ms = sb_last_append_ms,
    .reader_open = sb_reader_open,
    .reader_read = sb_reader_read,
    .reader_at_end = sb_reader_at_end,
    .reader_close = sb_reader_close,
    .cache_free = sb_cache_free,
    .writer_open = sb_writer_open,
    .writer_add = sb_writer_add,
    .writer_flush = sb_writer_flush,
    .writer_close = sb_writer_close,
    .when_durable = sb_when_durable,
    .segments = sb_segments,
    .segment_pread = sb_segment_pread,
    .listen = sb_listen,
    .unlisten = sb_unlisten,
};

void *fs_store_backend_new(struct store *s)
{
    struct store_backend *sb = calloc(1, sizeof *sb);
    if (!sb)
        return NULL;
    sb->s = s;
    pthread_mutex_init(&sb->mu, NULL);
    return sb;
}

void fs_store_backend_free(void *be)
{
    struct store_backend *sb = be;
    if (!sb)
        return;
    pthread_mutex_destroy(&sb->mu);
    free(sb);
}

int fs_start(struct store *s, const struct fs_options *o, struct fs **out)
{
    struct fs_backend b = {.ops = &fs_store_ops, .be = fs_store_backend_new(s)};
    if (!b.be)
        return -ENOMEM;
    struct store_backend *sb = b.be;
    sb->appended = o->appended;
    sb->appended_arg = o->appended_arg;
    int rc = fs_mount(&b, o, out);
    if (rc) {
        fs_store_backend_free(b.be);
        return rc;
    }
    (*out)->b_free = fs_store_backend_free;
    return 0;
}
