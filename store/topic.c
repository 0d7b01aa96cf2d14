/*
 * topic.c - the topic table: create, delete, grow, look up, load at start.
 *
 * A topic's metadata is <dir>/.topics/<topic id>.properties: brook.name,
 * brook.partitions, brook.topic.id and the config overrides, replaced atomically.
 * Files are named by the topic's id, not its name, so that every name Kafka allows
 * (up to 249 characters) fits in a file name with its suffixes. Partition
 * directories without metadata (a Kafka log dir, say) are adopted at start.
 * Deletion first renames each partition directory to .delete-<id>-<n>, as Kafka
 * renames to a "-delete" name, so a crash half-way never resurrects a partly
 * deleted topic; such leftovers are removed at the next start.
 *
 * Topics are reference counted: a handle from store_topic_get() stays valid after
 * deletion until it is put back, so appends and reads in flight finish safely.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/grow.h"
#include "lib/props.h"
#include "lib/sysio.h"
#include "store/private.h"

#define FDS_PER_RETRY 16 /* cached files closed before a creation is tried again */

#define MAX_PARTITIONS 100000

bool store_topic_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > 249)
        return false;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool store_topic_name_internal(const char *name)
{
    return name[0] == '_' && name[1] == '_';
}

static void id_hex(const uint8_t id[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

int topic_meta_path(char *buf, size_t size, const struct store_topic *t, const char *ext)
{
    char id[33];
    id_hex(t->id, id);
    int n = snprintf(buf, size, "%s/" TOPICS_DIR "/%s%s", t->store->dir, id, ext);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void topic_ref(struct store_topic *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

static void topic_free(struct store_topic *t)
{
    int32_t n = t->nparts;
    for (int32_t i = 0; i < n; i++)
        partition_free(t->parts[i]);
    free(t->parts);
    for (size_t i = 0; i < t->n_retired; i++)
        free(t->retired[i]);
    free(t->retired);
    journal_close(t);
    props_free(t->overrides);
    pthread_mutex_destroy(&t->journal_mu);
    pthread_mutex_destroy(&t->config_mu);
    free(t->name);
    free(t);
}

struct store_topic *store_topic_ref(struct store_topic *t)
{
    topic_ref(t);
    return t;
}

void store_topic_put(struct store_topic *t)
{
    if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        topic_free(t);
}

static struct store_topic *topic_new(struct store *s, const char *name)
{
    struct store_topic *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(name)) || !(t->overrides = props_new())) {
        if (t)
            free(t->name);
        free(t);
        return NULL;
    }
    t->store = s;
    t->refs = 1; /* the table's */
    t->journal_fd = -1;
    store_topic_defaults(s, &t->config);
    pthread_mutex_init(&t->journal_mu, NULL);
    pthread_mutex_init(&t->config_mu, NULL);
    return t;
}

const char *store_topic_name(const struct store_topic *t)
{
    return t->name;
}

int32_t store_topic_partition_count(const struct store_topic *t)
{
    return LOAD(((struct store_topic *)t)->nparts);
}

const uint8_t *store_topic_id(const struct store_topic *t)
{
    return t->id;
}

void store_topic_config_get(const struct store_topic *t, struct topic_config *out)
{
    struct store_topic *mt = (struct store_topic *)t; /* the lock, not the config */
    pthread_mutex_lock(&mt->config_mu);
    *out = t->config;
    pthread_mutex_unlock(&mt->config_mu);
}

bool store_topic_in_sync(const struct store_topic *t)
{
    struct topic_config tc;
    store_topic_config_get(t, &tc);
    return tc.min_insync_replicas <= 1;
}

void store_topic_defaults(struct store *s, struct topic_config *out)
{
    pthread_mutex_lock(&s->config_mu);
    *out = s->config.topic;
    pthread_mutex_unlock(&s->config_mu);
}

/* A copy of the overrides; NULL on OOM. config_mu held. */
static struct props *overrides_dup(const struct props *from)
{
    struct props *p = props_new();
    const char *k, *v;
    for (size_t i = 0; p && props_at(from, i, &k, &v); i++)
        if (props_set(p, k, v)) {
            props_free(p);
            return NULL;
        }
    return p;
}

struct props *store_topic_overrides_copy(const struct store_topic *t)
{
    struct store_topic *mt = (struct store_topic *)t;
    pthread_mutex_lock(&mt->config_mu);
    struct props *p = overrides_dup(t->overrides);
    pthread_mutex_unlock(&mt->config_mu);
    return p;
}

struct store_partition *store_topic_partition(struct store_topic *t, int32_t i)
{
    int32_t n = LOAD(t->nparts);
    if (i < 0 || i >= n)
        return NULL;
    struct store_partition **v = LOAD(t->parts);
    return partition_open(v[i]) ? NULL : v[i];
}

struct store_partition *store_topic_partition_figures(struct store_topic *t, int32_t i)
{
    int32_t n = LOAD(t->nparts);
    if (i < 0 || i >= n)
        return NULL;
    struct store_partition **v = LOAD(t->parts);
    return partition_unmade(v[i]) ? v[i] : store_topic_partition(t, i);
}

struct store_partition *topic_partition_opened(struct store_topic *t, int32_t i)
{
    int32_t n = LOAD(t->nparts);
    if (i < 0 || i >= n)
        return NULL;
    struct store_partition **v = LOAD(t->parts);
    return LOAD(v[i]->opened) ? v[i] : NULL;
}

/* Index of name in the sorted table, or where it would go (*found false). */
static size_t topic_find(struct store *s, const char *name, bool *found)
{
    size_t lo = 0, hi = s->ntopics;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->topics[mid]->name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

struct store_topic *store_topic_get(struct store *s, const char *name)
{
    pthread_rwlock_rdlock(&s->topics_lock);
    bool found;
    size_t i = topic_find(s, name, &found);
    struct store_topic *t = found ? s->topics[i] : NULL;
    if (t)
        topic_ref(t);
    pthread_rwlock_unlock(&s->topics_lock);
    return t;
}

struct store_topic *store_topic_get_id(struct store *s, const uint8_t id[16])
{
    pthread_rwlock_rdlock(&s->topics_lock);
    struct store_topic *t = hmap_get(&s->topics_by_id, id, 16);
    if (t)
        topic_ref(t);
    pthread_rwlock_unlock(&s->topics_lock);
    return t;
}

int64_t topic_partition_suffix(const char *name, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) || name[pl] != '-')
        return -1;
    const char *d = name + pl + 1;
    if (!*d || (d[0] == '0' && d[1]) || strlen(d) > 9)
        return -1;
    int64_t n = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9')
            return -1;
        n = n * 10 + (*d - '0');
    }
    return n;
}

/*
 * Would a topic `name` with partitions [from, to) clash with a partition directory
 * name of another topic, or give a partition directory named like another topic?
 * (The FUSE view shows topics and partition directories side by side.)
 */
static bool name_collides(struct store *s, const char *name, int32_t from, int32_t to)
{
    for (size_t i = 0; i < s->ntopics; i++) {
        const struct store_topic *e = s->topics[i];
        if (!strcmp(e->name, name))
            continue;
        int64_t k = topic_partition_suffix(name, e->name);
        if (from == 0 && k >= 0 && k < store_topic_partition_count(e))
            return true;
        k = topic_partition_suffix(e->name, name);
        if (k >= from && k < to)
            return true;
    }
    return false;
}

/* The metadata file's pairs from t's fields, in *out. */
static int topic_meta_props(struct store_topic *t, struct props **out)
{
    struct props *p = props_new();
    if (!p)
        return -ENOMEM;
    char buf[64];
    int rc = 0;
    rc |= props_set(p, "brook.name", t->name);
    snprintf(buf, sizeof buf, "%d", t->nparts);
    rc |= props_set(p, "brook.partitions", buf);
    id_hex(t->id, buf);
    rc |= props_set(p, "brook.topic.id", buf);
    if (t->adopted)
        rc |= props_set(p, "brook.adopted", "true");
    const char *k, *v;
    pthread_mutex_lock(&t->config_mu);
    for (size_t i = 0; props_at(t->overrides, i, &k, &v); i++)
        rc |= props_set(p, k, v);
    pthread_mutex_unlock(&t->config_mu);
    if (rc) {
        props_free(p);
        return -ENOMEM;
    }
    *out = p;
    return 0;
}

/* Write the metadata file from t's fields. */
static int topic_meta_write(struct store_topic *t)
{
    struct props *p;
    char path[4096];
    int rc = topic_meta_props(t, &p);
    if (rc)
        return rc;
    rc = topic_meta_path(path, sizeof path, t, ".properties");
    if (!rc)
        rc = props_save(p, path);
    props_free(p);
    return rc;
}

static int parts_grow(struct store_topic *t, int32_t total)
{
    struct store_partition **v = calloc((size_t)total, sizeof *v);
    if (!v)
        return -ENOMEM;
    if (t->nparts)
        memcpy(v, t->parts, (size_t)t->nparts * sizeof *v);
    if (t->parts) {
        if (ARRAY_GROW(t->retired, t->cap_retired, t->n_retired + 1)) {
            free(v);
            return -ENOMEM;
        }
        t->retired[t->n_retired++] = t->parts;
    }
    STORE(t->parts, v);
    return 0;
}

/* Insert t into the table (topics_lock held for writing). */
static int table_insert(struct store *s, struct store_topic *t)
{
    bool found;
    size_t i = topic_find(s, t->name, &found);
    if (found)
        return -EEXIST;
    if (ARRAY_GROW(s->topics, s->cap_topics, s->ntopics + 1) ||
        hmap_put(&s->topics_by_id, t->id, sizeof t->id, t))
        return -ENOMEM;
    memmove(s->topics + i + 1, s->topics + i, (s->ntopics - i) * sizeof *s->topics);
    s->topics[i] = t;
    s->ntopics++;
    return 0;
}

/*
 * A new topic's partitions, closed: no directory or file is made for them now. The
 * first use opens each as one left closed by a clean stop is opened, making its
 * directory and first segment then (partition_fill), and the journal is made with
 * its first entry. So a topic costs one durable file when created, whatever its
 * partitions; its metadata alone makes it survive a crash, since recovery makes
 * the directories of the partitions it names.
 */
static int parts_new_closed(struct store_topic *t)
{
    for (int32_t i = 0; i < t->nparts; i++) {
        int rc = partition_lazy(t, i, 0, 0, -1, &t->parts[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* Creators of topics and partitions take turns (store_topic_create). */
static pthread_mutex_t create_mu = PTHREAD_MUTEX_INITIALIZER;

static int topic_create_once(struct store *s, const char *name, int32_t partitions,
                             const struct props *config, const char **bad_key);

int store_topic_create(struct store *s, const char *name, int32_t partitions,
                       const struct props *config, const char **bad_key)
{
    /* A creation opens its metadata file and the directory to sync. Out of
     * descriptors, it undoes itself; then files the segment cache merely keeps are
     * closed, FDS_PER_RETRY at a time, and it runs again, until it succeeds or
     * nothing is left to close. */
    for (;;) {
        int rc = topic_create_once(s, name, partitions, config, bad_key);
        if (rc != -EMFILE && rc != -ENFILE)
            return rc;
        size_t k = 0;
        while (k < FDS_PER_RETRY && fdcache_evict(&s->fds))
            k++;
        if (!k)
            return rc;
    }
}

static int topic_create_once(struct store *s, const char *name, int32_t partitions,
                             const struct props *config, const char **bad_key)
{
    if (!store_topic_name_valid(name, strlen(name)))
        return STORE_EINVALID_TOPIC;
    if (partitions <= 0)
        partitions = s->config.num_partitions;
    if (partitions > MAX_PARTITIONS)
        return STORE_EINVALID_PARTITIONS;
    int rc = store_topic_config_check(s, config, NULL, bad_key);
    if (rc)
        return rc;

    /* Creating thousands of partitions takes seconds: it runs outside topics_lock,
     * so that readers (every produce and fetch) are not held up, with creators
     * taking turns instead; the name is checked once, and nobody else can take it
     * before the topic is inserted. */
    pthread_mutex_lock(&create_mu);
    pthread_rwlock_rdlock(&s->topics_lock);
    bool found;
    topic_find(s, name, &found);
    bool taken = found || name_collides(s, name, 0, partitions);
    pthread_rwlock_unlock(&s->topics_lock);
    struct store_topic *t = taken ? NULL : topic_new(s, name);
    if (!t) {
        pthread_mutex_unlock(&create_mu);
        return taken ? -EEXIST : -ENOMEM;
    }
    /* the defaults in force now (store_set_topic_defaults takes create_mu too) */
    rc = store_topic_config_check(s, config, &t->config, bad_key);
    const char *k, *v;
    for (size_t i = 0; config && props_at(config, i, &k, &v) && !rc; i++)
        rc = props_set(t->overrides, k, v);
    if (getrandom(t->id, sizeof t->id, 0) != sizeof t->id)
        rc = rc ? rc : -EIO;
    t->id[6] = (uint8_t)((t->id[6] & 0x0f) | 0x40); /* a version-4 UUID */
    t->id[8] = (uint8_t)((t->id[8] & 0x3f) | 0x80);
    if (!rc)
        rc = parts_grow(t, partitions);
    t->nparts = partitions;
    if (!rc)
        rc = parts_new_closed(t);
    if (!rc)
        rc = topic_meta_write(t);
    if (!rc) {
        pthread_rwlock_wrlock(&s->topics_lock);
        rc = table_insert(s, t);
        pthread_rwlock_unlock(&s->topics_lock);
    }
    if (rc) {
        /* undo: nothing of a half-created topic may survive (still under create_mu, so
         * no other creator can have taken the name meanwhile) */
        char path[4096];
        if (!topic_meta_path(path, sizeof path, t, ".properties"))
            sysio.unlink(path);
        pthread_mutex_unlock(&create_mu);
        store_topic_put(t);
        return rc;
    }
    pthread_mutex_unlock(&create_mu);
    /* checkpoints naming the new partitions: recovery then knows that nothing was
     * cleaned in them yet (best effort: without them it only checks less) */
    (void)store_checkpoints_write(s);
    return 0;
}

/* ---- many topics at once (store_topics_create) ---- */

/* Whether a topic `b` with partitions [from, to) clashes with topic `a` of a_parts
 * partitions: the same name, or one's partition directory named like the other. */
static bool pair_collides(const char *a, int32_t a_parts, const char *b, int32_t from, int32_t to)
{
    if (!strcmp(a, b))
        return true;
    int64_t k = topic_partition_suffix(b, a);
    if (from == 0 && k >= 0 && k < a_parts)
        return true;
    k = topic_partition_suffix(a, b);
    return k >= from && k < to;
}

/* Remove what a batch made of t (create_mu held, t not in the table) and drop it. */
static void batch_undo(struct store_topic *t)
{
    char path[4096];
    static const char *const exts[] = {".properties.tmp", ".properties"};
    for (size_t i = 0; i < sizeof exts / sizeof *exts; i++)
        if (!topic_meta_path(path, sizeof path, t, exts[i]))
            sysio.unlink(path);
    store_topic_put(t);
}

/* Check one request against the table and the batch's earlier topics (got[0..i)),
 * and write its metadata to <id>.properties.tmp, unsynced. */
static int batch_prepare(struct store *s, struct store_topic_new *v, struct store_topic **got,
                         size_t i)
{
    int32_t parts = v->partitions > 0 ? v->partitions : s->config.num_partitions;
    if (!store_topic_name_valid(v->name, strlen(v->name)))
        return STORE_EINVALID_TOPIC;
    if (parts > MAX_PARTITIONS)
        return STORE_EINVALID_PARTITIONS;
    int rc = store_topic_config_check(s, v->config, NULL, &v->bad_key);
    if (rc)
        return rc;
    pthread_rwlock_rdlock(&s->topics_lock);
    bool taken;
    topic_find(s, v->name, &taken);
    taken = taken || name_collides(s, v->name, 0, parts);
    pthread_rwlock_unlock(&s->topics_lock);
    for (size_t j = 0; j < i && !taken; j++)
        taken = got[j] && pair_collides(got[j]->name, got[j]->nparts, v->name, 0, parts);
    if (taken)
        return -EEXIST;
    struct store_topic *t = topic_new(s, v->name);
    if (!t)
        return -ENOMEM;
    /* the defaults in force now (store_set_topic_defaults takes create_mu too) */
    rc = store_topic_config_check(s, v->config, &t->config, &v->bad_key);
    const char *k, *val;
    for (size_t n = 0; v->config && props_at(v->config, n, &k, &val) && !rc; n++)
        rc = props_set(t->overrides, k, val);
    if (!rc && getrandom(t->id, sizeof t->id, 0) != sizeof t->id)
        rc = -EIO;
    t->id[6] = (uint8_t)((t->id[6] & 0x0f) | 0x40); /* a version-4 UUID */
    t->id[8] = (uint8_t)((t->id[8] & 0x3f) | 0x80);
    if (!rc && !(rc = parts_grow(t, parts)))
        t->nparts = parts;
    if (!rc)
        rc = parts_new_closed(t);
    struct props *meta = NULL;
    char *text = NULL, path[4096];
    size_t len = 0;
    if (!rc)
        rc = topic_meta_props(t, &meta);
    if (!rc)
        rc = props_format(meta, &text, &len);
    if (!rc)
        rc = topic_meta_path(path, sizeof path, t, ".properties.tmp");
    int fd = rc ? -1 : sysio.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!rc && fd < 0)
        rc = -errno;
    if (!rc)
        rc = file_pwrite_all(fd, text, len, 0);
    if (fd >= 0)
        sysio.close(fd);
    props_free(meta);
    free(text);
    if (rc) {
        batch_undo(t);
        return rc;
    }
    got[i] = t;
    return 0;
}

/* The metadata file in place (the temporary one is durable by now). */
static int batch_publish(struct store_topic *t)
{
    char tmp[4096], path[4096];
    int rc = topic_meta_path(tmp, sizeof tmp, t, ".properties.tmp");
    if (!rc)
        rc = topic_meta_path(path, sizeof path, t, ".properties");
    if (!rc && sysio.rename(tmp, path))
        rc = -errno;
    return rc;
}

/* The temporary metadata files durable: a sync of the log directory's whole file
 * system, one wait for all of them instead of one per file. */
static int batch_sync(struct store *s)
{
    return sysio.syncfs(s->lock_fd) ? -errno : 0;
}

/* The renames into place durable: they are all in the one directory. */
static int batch_sync_names(struct store *s)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/" TOPICS_DIR, s->dir) >= (int)sizeof path)
        return -ENAMETOOLONG;
    return dir_fsync(path, 1);
}

/* The step's error for every topic still in the batch, undone. */
static void batch_fail(struct store_topic_new *v, struct store_topic **got, size_t n, int rc)
{
    for (size_t i = 0; i < n; i++)
        if (got[i]) {
            v[i].rc = rc;
            batch_undo(got[i]);
            got[i] = NULL;
        }
}

/*
 * Each topic is made as store_topic_create makes it (its metadata file, partitions
 * closed), in the same order of durability, but a step at a time for all of them:
 * metadata written to temporary files, one sync of the file system, renamed into
 * place, one fsync of their directory. Only then are the topics inserted, so
 * nothing is served from a topic that a power failure could take back; a crash
 * before that leaves topics that start-up completes, as after a crash in
 * store_topic_create.
 */
int store_topics_create(struct store *s, struct store_topic_new *v, size_t n)
{
    if (n == 1) { /* one topic: its own fsyncs, not the whole file system's */
        v[0].rc = store_topic_create(s, v[0].name, v[0].partitions, v[0].config, &v[0].bad_key);
        return 0;
    }
    struct store_topic **got = calloc(n ? n : 1, sizeof *got);
    if (!got)
        return -ENOMEM;
    pthread_mutex_lock(&create_mu);
    size_t made = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].bad_key = NULL;
        v[i].rc = batch_prepare(s, &v[i], got, i);
        made += v[i].rc == 0;
    }
    int rc = made ? batch_sync(s) : 0;
    for (size_t i = 0; i < n && !rc; i++)
        if (got[i] && (v[i].rc = batch_publish(got[i]))) {
            batch_undo(got[i]);
            got[i] = NULL;
        }
    if (!rc && made)
        rc = batch_sync_names(s);
    if (rc)
        batch_fail(v, got, n, rc);
    pthread_rwlock_wrlock(&s->topics_lock);
    for (size_t i = 0; i < n; i++)
        if (got[i] && (v[i].rc = table_insert(s, got[i]))) {
            pthread_rwlock_unlock(&s->topics_lock);
            batch_undo(got[i]); /* (only out of memory: the names were checked) */
            pthread_rwlock_wrlock(&s->topics_lock);
            got[i] = NULL;
        }
    pthread_rwlock_unlock(&s->topics_lock);
    pthread_mutex_unlock(&create_mu);
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any = any || got[i];
    free(got);
    if (any)
        (void)store_checkpoints_write(s);
    return 0;
}

int store_topic_add_partitions(struct store *s, const char *name, int32_t total)
{
    pthread_mutex_lock(&create_mu); /* a topic being created may own the new names */
    pthread_rwlock_wrlock(&s->topics_lock);
    bool found;
    size_t i = topic_find(s, name, &found);
    int rc = 0;
    if (!found) {
        rc = -ENOENT;
        goto out;
    }
    struct store_topic *t = s->topics[i];
    int32_t old = t->nparts;
    if (total <= old || total > MAX_PARTITIONS) {
        rc = STORE_EINVALID_PARTITIONS;
        goto out;
    }
    if (name_collides(s, name, old, total)) {
        rc = -EEXIST;
        goto out;
    }
    if ((rc = parts_grow(t, total)))
        goto out;
    int32_t made = old;
    for (; made < total && !rc; made++)
        rc = partition_create(t, made, &t->parts[made]);
    if (rc)
        made--;
    if (!rc) /* the new partition directories' entries */
        rc = dir_fsync(s->dir, 1);
    STORE(t->nparts, made);
    int mrc = topic_meta_write(t);
    rc = rc ? rc : mrc;
out:
    pthread_rwlock_unlock(&s->topics_lock);
    pthread_mutex_unlock(&create_mu);
    if (!rc)
        (void)store_checkpoints_write(s); /* as after store_topic_create */
    return rc;
}

int store_topic_config_check(struct store *s, const struct props *overrides,
                             struct topic_config *out, const char **bad_key)
{
    struct topic_config tc;
    store_topic_defaults(s, &tc);
    int rc = topic_config_apply(&tc, overrides, bad_key);
    if (!rc && out)
        *out = tc;
    return rc;
}

/* Recompute t's config: its overrides on top of the defaults d. config_mu held. */
static int topic_config_rebuild(struct store_topic *t, const struct topic_config *d)
{
    struct topic_config tc = *d;
    int rc = topic_config_restore(&tc, t->overrides);
    if (!rc)
        t->config = tc;
    return rc;
}

int store_topic_alter_config(struct store *s, const char *name, const struct props *overrides,
                             bool validate_only, const char **bad_key)
{
    struct topic_config tc;
    int rc = store_topic_config_check(s, overrides, &tc, bad_key);
    struct props *mine = NULL, *old = NULL;
    if (rc || validate_only) {
        struct store_topic *t = rc ? NULL : store_topic_get(s, name);
        rc = rc ? rc : t ? 0 : -ENOENT;
        store_topic_put(t);
        return rc;
    }
    pthread_mutex_lock(&create_mu); /* one writer of the metadata file at a time */
    struct store_topic *t = store_topic_get(s, name);
    if (!t) {
        rc = -ENOENT;
        goto out;
    }
    if (!(mine = overrides_dup(overrides))) {
        rc = -ENOMEM;
        goto out;
    }
    pthread_mutex_lock(&t->config_mu);
    struct topic_config was = t->config;
    old = t->overrides;
    t->overrides = mine;
    t->config = tc;
    pthread_mutex_unlock(&t->config_mu);
    if ((rc = topic_meta_write(t))) { /* not persisted: not applied either */
        pthread_mutex_lock(&t->config_mu);
        t->overrides = old;
        t->config = was;
        pthread_mutex_unlock(&t->config_mu);
        old = mine;
    }
    props_free(old);
out:
    pthread_mutex_unlock(&create_mu);
    store_topic_put(t);
    return rc;
}

int store_set_topic_defaults(struct store *s, const struct topic_config *defaults)
{
    size_t n;
    pthread_mutex_lock(&create_mu); /* no topic is created meanwhile with the old ones */
    struct store_topic **topics = topics_get_all(s, &n);
    if (!topics) {
        pthread_mutex_unlock(&create_mu);
        return -ENOMEM;
    }
    pthread_mutex_lock(&s->config_mu);
    s->config.topic = *defaults;
    pthread_mutex_unlock(&s->config_mu);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&topics[i]->config_mu);
        int r = topic_config_rebuild(topics[i], defaults);
        pthread_mutex_unlock(&topics[i]->config_mu);
        rc = rc ? rc : r;
    }
    pthread_mutex_unlock(&create_mu);
    topics_put_all(topics, n);
    return rc;
}

int store_topic_delete(struct store *s, const char *name)
{
    if (!s->config.delete_topic_enable)
        return STORE_EDELETE_DISABLED;
    pthread_rwlock_wrlock(&s->topics_lock);
    bool found;
    size_t i = topic_find(s, name, &found);
    if (!found) {
        pthread_rwlock_unlock(&s->topics_lock);
        return -ENOENT;
    }
    struct store_topic *t = s->topics[i];
    memmove(s->topics + i, s->topics + i + 1, (s->ntopics - i - 1) * sizeof *s->topics);
    s->ntopics--;
    hmap_del(&s->topics_by_id, t->id, sizeof t->id);
    pthread_rwlock_unlock(&s->topics_lock);

    STORE(t->deleted, true);
    int rc = 0;
    char path[4096], gone[4096], id[33];
    id_hex(t->id, id);
    for (int32_t k = 0; k < t->nparts; k++) { /* wait out opens and appends in flight */
        pthread_mutex_lock(&t->parts[k]->open_mu);
        pthread_mutex_unlock(&t->parts[k]->open_mu);
        pthread_mutex_lock(&t->parts[k]->append_mu);
        pthread_mutex_unlock(&t->parts[k]->append_mu);
    }
    for (int32_t k = 0; k < t->nparts && !rc; k++) {
        snprintf(gone, sizeof gone, "%s/.delete-%s-%d", s->dir, id, k);
        if (sysio.rename(t->parts[k]->dir, gone) && errno != ENOENT)
            rc = -errno;
    }
    if (!rc)
        rc = dir_fsync(s->dir, 1);
    if (!rc && !(rc = topic_meta_path(path, sizeof path, t, ".properties")) && sysio.unlink(path) &&
        errno != ENOENT)
        rc = -errno;
    if (!rc && !topic_meta_path(path, sizeof path, t, ".journal"))
        sysio.unlink(path);
    if (!rc)
        rc = dir_fsync(path, 0);
    for (int32_t k = 0; k < t->nparts; k++) {
        snprintf(gone, sizeof gone, "%s/.delete-%s-%d", s->dir, id, k);
        int r = dir_remove_files(gone);
        if (r && !rc)
            rc = r;
    }
    store_topic_put(t);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **store_topic_names(struct store *s)
{
    pthread_rwlock_rdlock(&s->topics_lock);
    size_t n = s->ntopics, bytes = (n + 1) * sizeof(char *);
    for (size_t i = 0; i < n; i++)
        bytes += strlen(s->topics[i]->name) + 1;
    char **v = malloc(bytes);
    if (v) {
        char *str = (char *)(v + n + 1);
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(s->topics[i]->name) + 1;
            memcpy(str, s->topics[i]->name, len);
            v[i] = str;
            str += len;
        }
        v[n] = NULL;
    }
    pthread_rwlock_unlock(&s->topics_lock);
    if (v && n > 1)
        qsort(v, n, sizeof *v, cmp_str);
    return v;
}

struct store_topic **topics_get_all(struct store *s, size_t *n)
{
    pthread_rwlock_rdlock(&s->topics_lock);
    struct store_topic **v = malloc((s->ntopics + 1) * sizeof *v);
    if (v) {
        for (size_t i = 0; i < s->ntopics; i++) {
            v[i] = s->topics[i];
            topic_ref(v[i]);
        }
        *n = s->ntopics;
    }
    pthread_rwlock_unlock(&s->topics_lock);
    return v;
}

void topics_put_all(struct store_topic **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_topic_put(v[i]);
    free(v);
}

/* ---- loading at start ---- */

static int parse_id(const char *hex, uint8_t id[16])
{
    if (!hex || strlen(hex) != 32)
        return -EINVAL;
    for (int i = 0; i < 16; i++) {
        unsigned b;
        if (sscanf(hex + 2 * i, "%2x", &b) != 1)
            return -EINVAL;
        id[i] = (uint8_t)b;
    }
    return 0;
}

/* Load one topic from its metadata file (path), or adopt `name` with `adopt_parts`
 * partitions when it has none (path NULL). */
/* The id of a topic adopted from directories alone: the one the first of its
 * partitions' partition.metadata files names (a Kafka log directory's), else a
 * new one. */
static int topic_adopted_id(struct store *s, struct store_topic *t, int32_t parts)
{
    char dir[4096];
    for (int32_t i = 0; i < parts; i++)
        if (snprintf(dir, sizeof dir, "%s/%s-%d", s->dir, t->name, i) < (int)sizeof dir &&
            !partition_meta_read(dir, t->id))
            return 0;
    return getrandom(t->id, sizeof t->id, 0) == sizeof t->id ? 0 : -EIO;
}

static int topic_load(struct store *s, const char *path, const char *name, int32_t adopt_parts,
                      bool clean)
{
    struct props *meta = props_new();
    if (!meta)
        return -ENOMEM;
    int rc = path ? props_load(meta, path, NULL) : 0;
    if (path && !rc) {
        name = props_get(meta, "brook.name");
        if (!name || !store_topic_name_valid(name, strlen(name)))
            rc = -EBADMSG;
    }
    struct store_topic *t = rc ? NULL : topic_new(s, name);
    if (!rc && !t)
        rc = -ENOMEM;
    if (rc) {
        props_free(meta);
        return rc;
    }
    int64_t parts = adopt_parts;
    if (path) {
        if (props_get_i64(meta, "brook.partitions", 0, 1, MAX_PARTITIONS, &parts) ||
            parse_id(props_get(meta, "brook.topic.id"), t->id))
            rc = -EBADMSG;
        const char *k, *v;
        for (size_t i = 0; !rc && props_at(meta, i, &k, &v); i++)
            if (strncmp(k, "brook.", 6))
                rc = props_set(t->overrides, k, v);
        t->adopted = props_get(meta, "brook.adopted") != NULL;
        if (!rc)
            rc = topic_config_restore(&t->config, t->overrides);
    } else {
        t->adopted = true;
        rc = topic_adopted_id(s, t, adopt_parts);
    }
    props_free(meta);
    if (!rc)
        rc = parts_grow(t, (int32_t)parts);
    if (!rc)
        t->nparts = (int32_t)parts;
    if (!rc && !path)
        rc = topic_meta_write(t);
    bool empty = true; /* every partition known empty without opening it */
    for (int32_t i = 0; i < t->nparts && !rc; i++) {
        int64_t rp = 0, ls = 0, co = -1;
        /* after a clean stop, a partition the checkpoints name is opened at first
         * use (store_topic_partition) or by the opener thread: start-up reads no
         * partition directory; one they do not name is opened now, as after a crash,
         * and so are the internal topics', which the broker reads before serving */
        bool named = !checkpoint_read(s, "recovery-point-offset-checkpoint", t->name, i, &rp);
        bool lazy = clean && named && !store_topic_name_internal(t->name);
        checkpoint_read(s, "log-start-offset-checkpoint", t->name, i, &ls);
        checkpoint_read(s, "cleaner-offset-checkpoint", t->name, i, &co);
        if (!lazy && rp == 0 && ls == 0) { /* never used: no directory, nothing to recover */
            rc = partition_lazy(t, i, 0, 0, co, &t->parts[i]);
            if (!rc && !(lazy = partition_unmade(t->parts[i]))) {
                partition_free(t->parts[i]);
                t->parts[i] = NULL;
            }
        }
        empty = empty && lazy && rp == 0;
        if (lazy) {
            if (!t->parts[i])
                rc = partition_lazy(t, i, rp, ls, co, &t->parts[i]);
            s->recovery.partitions++;
            s->lazy_partitions = true;
            continue;
        }
        rc = partition_load(t, i, clean, rp, ls, co, &t->parts[i]);
        if (!rc)
            t->parts[i]->clean_offset = co > 0 ? co : 0;
    }
    if (rc) {
        t->nparts = 0; /* parts[] may be partly filled */
        for (int32_t i = 0; t->parts && i < (int32_t)parts; i++)
            partition_free(t->parts[i]);
        store_topic_put(t);
        return rc;
    }
    int64_t dropped = 0;
    rc = journal_open(t, &dropped);
    if (!rc && s->loading)
        s->recovery.journal_dropped += dropped;
    /* after a crash, or when entries had to go, the partitions fill the journal in
     * (an empty journal of partitions that are all empty has nothing to take) */
    if (!rc && (!clean || (t->journal_total == 0 && !empty) || dropped))
        rc = journal_reconcile(t);
    if (!rc)
        rc = table_insert(s, t);
    if (rc)
        store_topic_put(t);
    return rc;
}

/* Partition directories "<topic>-<n>" in the log dir: remove "-delete" leftovers and
 * report topics that have directories but no metadata, with their partition count. */
struct orphan {
    char *name;
    int32_t parts;
};

static int scan_log_dir(struct store *s, struct orphan **out, size_t *n)
{
    DIR *d = opendir(s->dir);
    if (!d)
        return -errno;
    struct orphan *v = NULL;
    size_t cnt = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) && !rc) {
        const char *nm = e->d_name;
        if (!strncmp(nm, ".delete-", 8)) {
            snprintf(path, sizeof path, "%s/%s", s->dir, nm);
            rc = dir_remove_files(path);
            continue;
        }
        const char *dash = strrchr(nm, '-');
        if (!dash || dash == nm)
            continue;
        char topic[256];
        if ((size_t)(dash - nm) >= sizeof topic)
            continue;
        memcpy(topic, nm, (size_t)(dash - nm));
        topic[dash - nm] = 0;
        int64_t k = topic_partition_suffix(nm, topic);
        if (k < 0 || !store_topic_name_valid(topic, strlen(topic)))
            continue;
        bool known;
        topic_find(s, topic, &known);
        if (known)
            continue;
        size_t j = 0;
        while (j < cnt && strcmp(v[j].name, topic))
            j++;
        if (j == cnt) {
            if (ARRAY_GROW(v, cap, cnt + 1) || !(v[cnt].name = strdup(topic))) {
                rc = -ENOMEM;
                break;
            }
            v[cnt++].parts = 0;
        }
        if (k + 1 > v[j].parts)
            v[j].parts = (int32_t)(k + 1);
    }
    closedir(d);
    *out = v;
    *n = cnt;
    return rc;
}

int topic_load_all(struct store *s, bool clean)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/" TOPICS_DIR, s->dir);
    /* After a crash the topics on disk may differ from those in the directories:
     * the metadata of a topic being created, or the removal of one being deleted,
     * may not be durable yet. Make what is found durable before anything builds on
     * it (partition directories made for it, records acknowledged in them), or a
     * power failure later takes it back: a topic seen deleted returns, one seen
     * created loses its metadata and comes back adopted, with other partitions. */
    int rc = clean ? 0 : dir_fsync(path, 1);
    if (!rc && !clean)
        rc = dir_fsync(s->dir, 1);
    if (rc)
        return rc;
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    struct dirent *e;
    while ((e = readdir(d)) && !rc) {
        size_t len = strlen(e->d_name);
        if (len != 32 + 11 || strcmp(e->d_name + 32, ".properties"))
            continue;
        char file[4096 + 64];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        rc = topic_load(s, file, NULL, 0, clean);
    }
    closedir(d);
    struct orphan *orphans = NULL;
    size_t n = 0;
    if (!rc)
        rc = scan_log_dir(s, &orphans, &n);
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            rc = topic_load(s, NULL, orphans[i].name, orphans[i].parts, false);
        free(orphans[i].name);
    }
    free(orphans);
    if (!rc && !clean) /* the leftovers of deletions removed above */
        rc = dir_fsync(s->dir, 1);
    return rc;
}
