/*
 * index.c - byte positions of a remote topic's streams, and the offsets that
 * hold them.
 *
 * A Kafka cluster knows offsets, not bytes, and keeps no order across
 * partitions. The view needs both: the topic file interleaves partitions at
 * positions that never change, and data/follow of a partition are byte streams.
 * So each topic gets an index of entries, one per run of records of one
 * partition as the indexer met them: offsets [first, end), their bytes (values
 * plus newlines), and where they start in the topic file (tpos) and in the
 * partition's stream (ppos). The topic file's order is the order the indexer
 * met the runs in - stable for as long as the index is kept.
 *
 * Built lazily: rt_sync() reads new records with a read_committed consumer (the
 * indexer) until the stream holds the bytes a reader asked for, or up to the
 * cluster's end. The watcher syncs when a long-poll fetch sees a partition grow
 * and only then tells the view, so sizes are current by the time `tail -f`
 * looks.
 *
 * On disk: <cache>/<hash of the brokers>-<topic>.idx, a header (magic, the
 * entry number of the first record) and the entries, appended as they are
 * made (the last one rewritten in place while it grows). Loaded at the first
 * use of the topic, so positions survive a remount. An index that claims
 * offsets the cluster does not have (the topic was deleted and created again)
 * is thrown away.
 *
 * Log start: retention deletes records at the cluster's pace. Each sync drops
 * the entries that end at or below the log start (the file is rewritten); their
 * positions stay taken, so a reader there continues at the first live byte
 * after them - no repeats, no gaps in what exists. Records a reader finds gone
 * inside an entry shorten it the same way (read.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "remote/private.h"

#define HEADER_BYTES 64

/* ---- the file ---- */

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static void index_path(const struct fs_btopic *t, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%016llx-%s.idx", t->r->cache_dir, (unsigned long long)fnv(t->r->brokers),
             t->name);
}

static int write_header(int fd, int64_t base)
{
    uint8_t h[HEADER_BYTES] = {0};
    memcpy(h, RT_MAGIC, 8);
    memcpy(h + 8, &base, sizeof base);
    return pwrite(fd, h, sizeof h, 0) == (ssize_t)sizeof h ? 0 : -EIO;
}

/* Write entry number num (the index file holds them from t->base on). */
static void write_entry(struct fs_btopic *t, int64_t num)
{
    if (t->fd < 0)
        return;
    const struct rt_entry *e = &t->ent[num - t->base];
    off_t at = HEADER_BYTES + (off_t)(num - t->base) * (off_t)sizeof *e;
    if (pwrite(t->fd, e, sizeof *e, at) != (ssize_t)sizeof *e) {
        log_warn("brook.mount", "Index of %s: cannot write, going on without the cache: %s",
                 t->name, strerror(errno));
        close(t->fd);
        t->fd = -1;
    }
}

/* Rewrite the file from the entries in memory (after a trim). */
static void rewrite(struct fs_btopic *t)
{
    if (t->fd < 0)
        return;
    if (ftruncate(t->fd, HEADER_BYTES) || write_header(t->fd, t->base)) {
        close(t->fd);
        t->fd = -1;
        return;
    }
    for (size_t i = 0; i < t->n; i++)
        write_entry(t, t->base + (int64_t)i);
}

/* ---- the index in memory (t->mu) ---- */

static struct rt_part *part_of(struct fs_btopic *t, int32_t p)
{
    return p >= 0 && p < t->nparts ? &t->parts[p] : NULL;
}

static int add_entry(struct fs_btopic *t, const struct rt_entry *e)
{
    struct rt_part *pp = part_of(t, e->partition);
    if (!pp)
        return -EINVAL;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct rt_entry *v = realloc(t->ent, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        t->ent = v;
        t->cap = cap;
    }
    if (pp->n == pp->cap) {
        size_t cap = pp->cap ? pp->cap * 2 : 16;
        int64_t *v = realloc(pp->ents, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        pp->ents = v;
        pp->cap = cap;
    }
    int64_t num = t->base + (int64_t)t->n;
    t->ent[t->n++] = *e;
    pp->ents[pp->n++] = num;
    t->tbytes = e->tpos + e->bytes;
    pp->pbytes = e->ppos + e->bytes;
    if (e->end > pp->indexed)
        pp->indexed = e->end;
    return 0;
}

/* Forget the first k entries; positions stay as they were. */
static void drop_first(struct fs_btopic *t, size_t k)
{
    memmove(t->ent, t->ent + k, (t->n - k) * sizeof *t->ent);
    t->n -= k;
    t->base += (int64_t)k;
    for (int32_t p = 0; p < t->nparts; p++) {
        struct rt_part *pp = &t->parts[p];
        size_t j = 0;
        while (j < pp->n && pp->ents[j] < t->base)
            j++;
        memmove(pp->ents, pp->ents + j, (pp->n - j) * sizeof *pp->ents);
        pp->n -= j;
    }
}

/* Forget entries that end at or below each partition's log start. Only a
 * prefix of the list can go (the order is kept). */
static bool trim_below(struct fs_btopic *t, const int64_t *log_start)
{
    size_t k = 0;
    while (k < t->n && t->ent[k].end <= log_start[t->ent[k].partition])
        k++;
    if (k)
        drop_first(t, k);
    return k > 0;
}

/* Keep one topic's index under half the cache's bound (and its memory with
 * it): past that, the older half of its entries goes. Their bytes then read as
 * gone, as after retention. t->mu held. */
static void bound_index(struct fs_btopic *t)
{
    size_t max = (size_t)(t->r->opt.cache_max_bytes / 2 / (int64_t)sizeof *t->ent);
    if (max < RT_MIN_ENTRIES)
        max = RT_MIN_ENTRIES;
    if (t->n <= max)
        return;
    log_info("brook.mount", "Index of %s passed its bound (%zu entries): the oldest %zu go",
             t->name, max, t->n - max / 2);
    drop_first(t, t->n - max / 2);
    rewrite(t);
}

static void reset_index(struct fs_btopic *t)
{
    t->n = 0;
    t->base = 0;
    t->tbytes = 0;
    for (int32_t p = 0; p < t->nparts; p++) {
        t->parts[p].n = 0;
        t->parts[p].indexed = 0;
        t->parts[p].pbytes = 0;
    }
}

void rt_index_load(struct fs_btopic *t)
{
    char path[4096];
    uint8_t h[HEADER_BYTES];
    struct rt_entry e;
    t->fd = -1;
    if (!t->r->cache_dir)
        return;
    index_path(t, path, sizeof path);
    t->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (t->fd < 0) {
        log_warn("brook.mount", "Cannot open the index %s: %s", path, strerror(errno));
        return;
    }
    bool ok = pread(t->fd, h, sizeof h, 0) == (ssize_t)sizeof h && !memcmp(h, RT_MAGIC, 8);
    if (ok) {
        memcpy(&t->base, h + 8, sizeof t->base);
        for (off_t at = HEADER_BYTES; pread(t->fd, &e, sizeof e, at) == (ssize_t)sizeof e;
             at += (off_t)sizeof e)
            if (e.partition < 0 || e.partition >= t->nparts || add_entry(t, &e)) {
                ok = false; /* a partition count that shrank: not this topic */
                break;
            }
    }
    if (!ok) {
        reset_index(t);
        rewrite(t);
    }
}

void rt_index_free(struct fs_btopic *t)
{
    if (t->fd >= 0)
        close(t->fd);
    for (int32_t p = 0; p < t->nparts; p++)
        free(t->parts[p].ents);
    free(t->parts);
    free(t->ent);
}

int64_t rt_size(struct fs_btopic *t, int32_t partition)
{
    struct rt_part *pp = part_of(t, partition);
    return partition < 0 ? t->tbytes : pp ? pp->pbytes : 0;
}

static int64_t start_of(const struct rt_entry *e, int32_t partition)
{
    return partition < 0 ? e->tpos : e->ppos;
}

int rt_find(struct fs_btopic *t, int32_t partition, int64_t pos, struct rt_entry *e, int64_t *num)
{
    struct rt_part *pp = part_of(t, partition);
    size_t n = partition < 0 ? t->n : pp ? pp->n : 0;
    size_t lo = 0, hi = n; /* first entry ending after pos */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t k = partition < 0 ? t->base + (int64_t)mid : pp->ents[mid];
        const struct rt_entry *m = &t->ent[k - t->base];
        if (start_of(m, partition) + m->bytes <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == n)
        return 0;
    *num = partition < 0 ? t->base + (int64_t)lo : pp->ents[lo];
    *e = t->ent[*num - t->base];
    return 1;
}

/* ---- syncing with the cluster ---- */

/* Log start and end of each partition (n of them): 0 or an error; -ENOENT
 * when the topic is gone. */
static int log_bounds(struct fs_btopic *t, int64_t *start, int64_t *end)
{
    struct remote *r = t->r;
    struct brook_metadata *md;
    const char *name = t->name;
    pthread_mutex_lock(&r->admin_mu);
    int rc = brook_metadata_get(r->admin, &name, 1, true, r->opt.timeout_ms, &md);
    pthread_mutex_unlock(&r->admin_mu);
    if (rc)
        return rt_errno(rc);
    rc = md->n_topics == 1 && !md->topics[0].err ? 0 : -ENOENT;
    for (int32_t p = 0; !rc && p < t->nparts; p++) {
        start[p] = 0;
        end[p] = 0;
        for (size_t i = 0; i < md->topics[0].n_partitions; i++)
            if (md->topics[0].partitions[i].id == p) {
                start[p] = md->topics[0].partitions[i].log_start;
                end[p] = md->topics[0].partitions[i].log_end;
            }
    }
    brook_metadata_free(md);
    return rc;
}

/* A fresh indexer reading every partition from where its index ends. */
static int indexer_open(struct fs_btopic *t)
{
    if (t->ic)
        return 0;
    int rc = rt_client(t->r, rt_fetch_conf, &t->ic);
    for (int32_t p = 0; !rc && p < t->nparts; p++) {
        pthread_mutex_lock(&t->mu);
        struct brook_offset at = {BROOK_OFFSET_AT, t->parts[p].indexed};
        pthread_mutex_unlock(&t->mu);
        rc = brook_assign(t->ic, t->name, &p, 1, &at);
    }
    if (rc && t->ic) {
        brook_client_free(t->ic);
        t->ic = NULL;
    }
    return rc ? rt_errno(rc) : 0;
}

static void indexer_close(struct fs_btopic *t)
{
    brook_client_free(t->ic);
    t->ic = NULL;
}

/* Add record m to the index: it extends the last entry when that is of the same
 * partition, ends where m's run continues and is not full; else it starts a new
 * one. t->mu held. */
static int index_record(struct fs_btopic *t, const struct brook_message *m)
{
    struct rt_part *pp = part_of(t, m->partition);
    if (!pp || m->offset < pp->indexed)
        return 0; /* a partition added since, or already indexed */
    int64_t len = (int64_t)m->value_len + 1;
    struct rt_entry *last = t->n ? &t->ent[t->n - 1] : NULL;
    pp->last_ms = m->timestamp > 0 ? m->timestamp : clock_wall_ms();
    if (last && last->partition == m->partition && last->end == pp->indexed &&
        last->bytes < RT_ENTRY_BYTES) {
        last->end = m->offset + 1;
        last->bytes += len;
        t->tbytes += len;
        pp->pbytes += len;
        pp->indexed = last->end;
        write_entry(t, t->base + (int64_t)t->n - 1);
        return 0;
    }
    struct rt_entry e = {.partition = m->partition,
                         .first = pp->indexed,
                         .end = m->offset + 1,
                         .bytes = len,
                         .tpos = t->tbytes,
                         .ppos = pp->pbytes};
    int rc = add_entry(t, &e);
    if (!rc)
        write_entry(t, t->base + (int64_t)t->n - 1);
    return rc;
}

/* Note positions the indexer moved past without records (transaction markers,
 * aborted batches): nothing to show there. */
static void note_positions(struct fs_btopic *t)
{
    struct brook_tp *tps;
    size_t n;
    if (brook_assignment(t->ic, &tps, &n))
        return;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < n; i++) {
        struct rt_part *pp = part_of(t, tps[i].partition);
        if (pp && tps[i].offset > pp->indexed) {
            struct rt_entry *last = t->n ? &t->ent[t->n - 1] : NULL;
            if (last && last->partition == tps[i].partition && last->end == pp->indexed) {
                last->end = tps[i].offset;
                write_entry(t, t->base + (int64_t)t->n - 1);
            }
            pp->indexed = tps[i].offset;
        }
    }
    pthread_mutex_unlock(&t->mu);
    brook_tps_free(tps, n);
}

/* Whether the index holds want_to bytes, or reaches every partition's end that
 * is known (*unknown: some end is not). */
static bool caught_up(struct fs_btopic *t, const int64_t *end, int64_t want_to, bool *unknown)
{
    bool done = true;
    *unknown = false;
    pthread_mutex_lock(&t->mu);
    for (int32_t p = 0; p < t->nparts; p++) {
        *unknown = *unknown || end[p] < 0;
        done = done && (end[p] < 0 || t->parts[p].indexed >= end[p]);
    }
    if (want_to >= 0 && t->tbytes >= want_to) {
        done = true;
        *unknown = false;
    }
    pthread_mutex_unlock(&t->mu);
    return done;
}

/*
 * Read records until the index holds want_to bytes or reaches the ends the
 * cluster told, or the indexer says it is at the end by a fetch made after the
 * sync began (needed where an end is unknown - some clusters answer ListOffsets
 * with errors - and where an open transaction holds a read_committed reader
 * before the end), or nothing came for RT_IDLE_MS.
 */
static int index_more(struct fs_btopic *t, const int64_t *end, int64_t want_to)
{
    int64_t began = clock_mono_ms(), idle_since = began;
    int64_t fresh_after = began + t->r->fetch_wait_ms + 20; /* fetches in flight are done */
    bool unknown;
    int rc = indexer_open(t);
    while (!rc && !(caught_up(t, end, want_to, &unknown) && !unknown)) {
        const struct brook_message *m;
        int got = brook_consume(t->ic, &m, 50);
        if (got < 0) { /* a partition stopped (a leader moved, say): start again */
            log_info("brook.mount", "Indexing %s: %s; starting again", t->name,
                     brook_strerror(got));
            indexer_close(t);
            if (clock_mono_ms() - idle_since > RT_IDLE_MS) {
                rc = rt_errno(got);
                break;
            }
            rc = indexer_open(t);
            continue;
        }
        if (got == 1) {
            pthread_mutex_lock(&t->mu);
            rc = index_record(t, m);
            pthread_mutex_unlock(&t->mu);
            idle_since = clock_mono_ms();
            continue;
        }
        note_positions(t);
        if (brook_consumer_at_end(t->ic) && clock_mono_ms() >= fresh_after)
            break;
        if (clock_mono_ms() - idle_since > RT_IDLE_MS) {
            rc = brook_consumer_at_end(t->ic) ? 0 : -ETIMEDOUT;
            break;
        }
    }
    /* a fresh indexer each time: one kept idle between syncs would come back
     * with stale leaders and a stale "at the end" */
    indexer_close(t);
    return rc;
}

int rt_sync(struct fs_btopic *t, int64_t want)
{
    int32_t n = t->nparts;
    int64_t *start = calloc((size_t)n + 1, sizeof *start);
    int64_t *end = calloc((size_t)n + 1, sizeof *end);
    int rc = start && end ? 0 : -ENOMEM;
    pthread_mutex_lock(&t->imu);
    if (!rc)
        rc = log_bounds(t, start, end);
    if (!rc) {
        pthread_mutex_lock(&t->mu);
        bool stale = false;
        for (int32_t p = 0; p < n; p++)
            stale = stale || (end[p] >= 0 && t->parts[p].indexed > end[p]);
        if (stale) { /* offsets the cluster never had: another topic of that name */
            log_info("brook.mount", "Index of %s does not match the cluster: rebuilt", t->name);
            reset_index(t);
            rewrite(t);
        } else if (trim_below(t, start)) {
            rewrite(t);
        }
        for (int32_t p = 0; p < n; p++)
            if (start[p] > t->parts[p].log_start)
                t->parts[p].log_start = start[p];
        int64_t want_to = want >= 0 ? t->tbytes + want : -1;
        pthread_mutex_unlock(&t->mu);
        if (stale)
            indexer_close(t);
        rc = index_more(t, end, want_to);
        if (!rc && want < 0)
            t->synced = true;
        pthread_mutex_lock(&t->mu);
        bound_index(t);
        pthread_mutex_unlock(&t->mu);
    }
    pthread_mutex_unlock(&t->imu);
    free(start);
    free(end);
    return rc;
}

/* ---- the cache directory's bound ---- */

struct cached {
    char name[512];
    off_t size;
    time_t mtime;
};

static int by_mtime(const void *a, const void *b)
{
    const struct cached *x = a, *y = b;
    return (x->mtime > y->mtime) - (x->mtime < y->mtime);
}

void rt_cache_trim(struct remote *r)
{
    DIR *d = r->cache_dir ? opendir(r->cache_dir) : NULL;
    struct cached *v = NULL;
    size_t n = 0, cap = 0;
    int64_t total = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        struct stat st;
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".idx") || len >= sizeof v->name ||
            fstatat(dirfd(d), de->d_name, &st, 0))
            continue;
        if (n == cap) {
            struct cached *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        memcpy(v[n].name, de->d_name, len + 1);
        v[n].size = st.st_size;
        v[n++].mtime = st.st_mtime;
        total += st.st_size;
    }
    if (n)
        qsort(v, n, sizeof *v, by_mtime);
    for (size_t i = 0; d && i < n && total > r->opt.cache_max_bytes; i++)
        if (unlinkat(dirfd(d), v[i].name, 0) == 0)
            total -= v[i].size;
    if (d)
        closedir(d);
    free(v);
}
