/*
 * inode.c - names <-> inode numbers, and what a node's attributes are.
 *
 * Inode numbers are handed out from a counter the first time a name is looked
 * up or listed, and kept in two hash tables: by number (every callback starts
 * there) and by what the node stands for - (topic, kind, partition, segment base).
 * A topic is identified by name and id, so a topic deleted and created again
 * under the same name gets new inodes and the kernel never mixes the two.
 *
 * A node lives as long as what it names: numbers never change while mounted, as
 * tools that compare st_ino (tail --follow=name, find) expect. Nodes of a deleted
 * topic, or of a segment retention removed, are freed once the kernel has
 * forgotten them (lookup count 0); a topic deleted over TCP is noticed by the
 * notifier's sweep (fs_nodes_sweep), one deleted here at once.
 *
 * Names in the root: <topic> (file) and <topic>-<N> (directory) for each of its
 * partitions; the backend refuses topic names that would collide with a partition
 * directory, so a name is looked up as a topic first, then as "<topic>-<N>".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/private.h"
#include "lib/clock.h"
#include "lib/grow.h"

#define NAME_MAX_LEN 256 /* longest name the view produces, with room to spare */

static const char *const seg_ext[] = {".log", ".index", ".timeindex"};

static size_t hash_ino(uint64_t ino, size_t nbuckets)
{
    return (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> 17) & (nbuckets - 1);
}

static size_t hash_key(const struct fs_tnode *tn, enum fs_kind kind, int32_t partition,
                       int64_t base, size_t nbuckets)
{
    uint64_t h = (uint64_t)(uintptr_t)tn * 0x9e3779b97f4a7c15ULL;
    h ^= ((uint64_t)kind << 56) ^ ((uint64_t)(uint32_t)partition << 24) ^ (uint64_t)base;
    h *= 0xff51afd7ed558ccdULL;
    return (size_t)(h >> 20) & (nbuckets - 1);
}

int fs_nodes_init(struct fs *fs)
{
    fs->nbuckets = 64;
    fs->by_ino = calloc(fs->nbuckets, sizeof *fs->by_ino);
    fs->by_key = calloc(fs->nbuckets, sizeof *fs->by_key);
    fs->next_ino = FUSE_ROOT_ID + 1;
    fs->root = (struct fs_node){.ino = FUSE_ROOT_ID, .kind = FS_ROOT, .partition = -1, .base = -1};
    return fs->by_ino && fs->by_key ? 0 : -ENOMEM;
}

static void tnode_free(struct fs *fs, struct fs_tnode *tn)
{
    if (tn->cache)
        fs->b.ops->cache_free(tn->cache);
    free(tn->seg_max);
    free(tn->name);
    free(tn);
}

void fs_nodes_release(struct fs *fs)
{
    for (size_t i = 0; fs->by_ino && i < fs->nbuckets; i++)
        for (struct fs_node *n = fs->by_ino[i], *next; n; n = next) {
            next = n->ino_next;
            free(n);
        }
    for (struct fs_tnode *tn = fs->tnodes, *next; tn; tn = next) {
        next = tn->next;
        tnode_free(fs, tn);
    }
    free(fs->by_ino);
    free(fs->by_key);
}

/* ---- the tables (fs.mu held) ---- */

static void rehash(struct fs *fs)
{
    size_t nb = fs->nbuckets * 2;
    struct fs_node **bi = calloc(nb, sizeof *bi), **bk = calloc(nb, sizeof *bk);
    if (!bi || !bk) { /* keep the old tables: longer chains, still correct */
        free(bi);
        free(bk);
        return;
    }
    for (size_t i = 0; i < fs->nbuckets; i++)
        for (struct fs_node *n = fs->by_ino[i], *next; n; n = next) {
            next = n->ino_next;
            size_t h = hash_ino(n->ino, nb);
            n->ino_next = bi[h];
            bi[h] = n;
            h = hash_key(n->topic, n->kind, n->partition, n->base, nb);
            n->key_next = bk[h];
            bk[h] = n;
        }
    free(fs->by_ino);
    free(fs->by_key);
    fs->by_ino = bi;
    fs->by_key = bk;
    fs->nbuckets = nb;
}

/* The node for a key if it exists (fs.mu held). */
static struct fs_node *node_find_key(struct fs *fs, struct fs_tnode *tn, enum fs_kind kind,
                                     int32_t partition, int64_t base)
{
    size_t h = hash_key(tn, kind, partition, base, fs->nbuckets);
    for (struct fs_node *n = fs->by_key[h]; n; n = n->key_next)
        if (n->topic == tn && n->kind == kind && n->partition == partition && n->base == base)
            return n;
    return NULL;
}

/* Remember the newest segment of a partition the view has a node for: appends
 * change its size. */
static void note_segment(struct fs_tnode *tn, int32_t partition, int64_t base)
{
    if (partition >= tn->nseg_max) {
        int64_t *v = realloc(tn->seg_max, (size_t)(partition + 1) * sizeof *v);
        if (!v)
            return; /* its size then refreshes when the attributes time out */
        for (int32_t i = tn->nseg_max; i <= partition; i++)
            v[i] = -1;
        tn->seg_max = v;
        tn->nseg_max = partition + 1;
    }
    if (base > tn->seg_max[partition])
        tn->seg_max[partition] = base;
}

static struct fs_node *node_get(struct fs *fs, struct fs_tnode *tn, enum fs_kind kind,
                                int32_t partition, int64_t base)
{
    struct fs_node *n = node_find_key(fs, tn, kind, partition, base);
    if (n)
        return n;
    if (!(n = calloc(1, sizeof *n)))
        return NULL;
    size_t h = hash_key(tn, kind, partition, base, fs->nbuckets);
    *n = (struct fs_node){
        .ino = fs->next_ino++, .kind = kind, .topic = tn, .partition = partition, .base = base};
    n->key_next = fs->by_key[h];
    fs->by_key[h] = n;
    h = hash_ino(n->ino, fs->nbuckets);
    n->ino_next = fs->by_ino[h];
    fs->by_ino[h] = n;
    n->topic_next = tn->head;
    tn->head = n;
    tn->nodes++;
    if (kind >= FS_SEG_LOG)
        note_segment(tn, partition, base);
    if (++fs->nnodes > fs->nbuckets * 2)
        rehash(fs);
    return n;
}

static void unchain(struct fs_node **head, struct fs_node *n, size_t link)
{
    for (struct fs_node **pp = head; *pp; pp = (struct fs_node **)((char *)*pp + link))
        if (*pp == n) {
            *pp = *(struct fs_node **)((char *)n + link);
            return;
        }
}

static void node_free(struct fs *fs, struct fs_node *n)
{
    struct fs_tnode *tn = n->topic;
    unchain(&fs->by_ino[hash_ino(n->ino, fs->nbuckets)], n, offsetof(struct fs_node, ino_next));
    unchain(&fs->by_key[hash_key(tn, n->kind, n->partition, n->base, fs->nbuckets)], n,
            offsetof(struct fs_node, key_next));
    unchain(&tn->head, n, offsetof(struct fs_node, topic_next));
    fs->nnodes--;
    tn->nodes--;
    free(n);
}

/* Free the unreferenced nodes of gone topics, and such topics without nodes. */
static void collect(struct fs *fs)
{
    for (struct fs_tnode **pp = &fs->tnodes; *pp;) {
        struct fs_tnode *tn = *pp;
        for (struct fs_node *n = tn->head, *next; tn->gone && n; n = next) {
            next = n->topic_next;
            if (n->nlookup == 0)
                node_free(fs, n);
        }
        if (tn->gone && tn->nodes == 0) {
            *pp = tn->next;
            tnode_free(fs, tn);
        } else {
            pp = &tn->next;
        }
    }
}

/* The tnode of a live topic, created on first sight. */
static struct fs_tnode *tnode_get(struct fs *fs, struct fs_btopic *t)
{
    struct fs_btopic_info info;
    fs->b.ops->topic_info(fs->b.be, t, &info);
    const char *name = info.name;
    const uint8_t *id = info.id;
    for (struct fs_tnode *tn = fs->tnodes; tn; tn = tn->next)
        if (!tn->gone && !strcmp(tn->name, name) && !memcmp(tn->id, id, sizeof tn->id))
            return tn;
    struct fs_tnode *tn = calloc(1, sizeof *tn);
    if (!tn || !(tn->name = strdup(name))) {
        free(tn);
        return NULL;
    }
    memcpy(tn->id, id, sizeof tn->id);
    tn->next = fs->tnodes;
    fs->tnodes = tn;
    return tn;
}

/* The node for (t, kind, partition, base), with one more kernel reference when
 * ref. NULL when out of memory. */
static struct fs_node *node_for(struct fs *fs, struct fs_btopic *t, enum fs_kind kind,
                                int32_t partition, int64_t base, bool ref)
{
    pthread_mutex_lock(&fs->mu);
    struct fs_tnode *tn = tnode_get(fs, t);
    struct fs_node *n = tn ? node_get(fs, tn, kind, partition, base) : NULL;
    if (n && ref)
        n->nlookup++;
    pthread_mutex_unlock(&fs->mu);
    return n;
}

struct fs_node *fs_node_find(struct fs *fs, uint64_t ino)
{
    if (ino == FUSE_ROOT_ID)
        return &fs->root;
    pthread_mutex_lock(&fs->mu);
    struct fs_node *n = fs->by_ino[hash_ino(ino, fs->nbuckets)];
    while (n && n->ino != ino)
        n = n->ino_next;
    pthread_mutex_unlock(&fs->mu);
    return n;
}

void fs_node_forget(struct fs *fs, struct fs_node *n, uint64_t count)
{
    if (n->kind == FS_ROOT)
        return;
    pthread_mutex_lock(&fs->mu);
    n->nlookup = n->nlookup > count ? n->nlookup - count : 0;
    if (n->nlookup == 0 && n->topic->gone)
        collect(fs);
    pthread_mutex_unlock(&fs->mu);
}

/* ---- names ---- */

bool fs_pdir_parse(const char *name, size_t *tlen, int32_t *partition)
{
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || !dash[1] || strlen(dash + 1) > 9 || (dash[1] == '0' && dash[2]))
        return false;
    int32_t v = 0;
    for (const char *p = dash + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    *tlen = (size_t)(dash - name);
    *partition = v;
    return true;
}

bool fs_segment_name_parse(const char *name, int64_t *base, enum fs_kind *kind)
{
    int64_t v = 0;
    for (int i = 0; i < FS_SEGMENT_NAME; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - (name[i] - '0')) / 10)
            return false;
        v = v * 10 + (name[i] - '0');
    }
    for (int k = 0; k < 3; k++)
        if (!strcmp(name + FS_SEGMENT_NAME, seg_ext[k])) {
            *base = v;
            *kind = (enum fs_kind)(FS_SEG_LOG + k);
            return true;
        }
    return false;
}

/* The segment of base in ref's partition: 0 or -ENOENT (also when the backend
 * shows no segment files). */
static int segment_info(const struct fs_ref *ref, int64_t base, struct fs_bsegment *out)
{
    struct fs_bsegment *v;
    size_t n;
    if (!ref->b->ops->segments)
        return -ENOENT;
    int rc = ref->b->ops->segments(ref->b->be, ref->t, ref->partition, &v, &n);
    if (rc)
        return rc;
    rc = -ENOENT;
    for (size_t i = 0; i < n; i++)
        if (v[i].base == base) {
            *out = v[i];
            rc = 0;
        }
    free(v);
    return rc;
}

/* Partitions of t now. */
static int32_t partition_count(struct fs *fs, struct fs_btopic *t)
{
    struct fs_btopic_info info;
    fs->b.ops->topic_info(fs->b.be, t, &info);
    return info.partitions;
}

static int lookup_root(struct fs *fs, const char *name, struct fs_node **out)
{
    size_t tlen;
    int32_t partition;
    struct fs_btopic *t = fs->b.ops->topic_get(fs->b.be, name);
    if (t) {
        *out = node_for(fs, t, FS_TOPIC, -1, -1, true);
        fs->b.ops->topic_put(fs->b.be, t);
        return *out ? 0 : -ENOMEM;
    }
    char topic[NAME_MAX_LEN];
    if (!fs_pdir_parse(name, &tlen, &partition) || tlen >= sizeof topic)
        return -ENOENT;
    memcpy(topic, name, tlen);
    topic[tlen] = '\0';
    if (!(t = fs->b.ops->topic_get(fs->b.be, topic)))
        return -ENOENT;
    int rc = -ENOENT;
    if (partition < partition_count(fs, t)) {
        *out = node_for(fs, t, FS_PDIR, partition, -1, true);
        rc = *out ? 0 : -ENOMEM;
    }
    fs->b.ops->topic_put(fs->b.be, t);
    return rc;
}

static int lookup_pdir(struct fs *fs, struct fs_node *dir, const char *name, struct fs_node **out)
{
    static const char *const fixed[] = {"data", "follow", "records"};
    struct fs_ref ref;
    struct fs_bsegment si;
    enum fs_kind kind = FS_ROOT;
    int64_t base = -1;
    int rc = fs_node_resolve(fs, dir, &ref);
    if (rc)
        return rc;
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, fixed[i]))
            kind = (enum fs_kind)(FS_DATA + i);
    if (kind == FS_ROOT && fs_segment_name_parse(name, &base, &kind))
        rc = segment_info(&ref, base, &si);
    else if (kind == FS_ROOT)
        rc = -ENOENT;
    if (!rc) {
        *out = node_for(fs, ref.t, kind, dir->partition, base, true);
        rc = *out ? 0 : -ENOMEM;
    }
    fs_ref_put(&ref);
    return rc;
}

int fs_node_lookup(struct fs *fs, struct fs_node *dir, const char *name, struct fs_node **out)
{
    if (strlen(name) >= NAME_MAX_LEN)
        return -ENAMETOOLONG;
    if (dir->kind == FS_ROOT)
        return lookup_root(fs, name, out);
    if (dir->kind == FS_PDIR)
        return lookup_pdir(fs, dir, name, out);
    return -ENOTDIR;
}

int fs_node_resolve(struct fs *fs, const struct fs_node *n, struct fs_ref *ref)
{
    *ref = (struct fs_ref){.b = &fs->b, .t = NULL, .partition = n->partition};
    if (n->kind == FS_ROOT)
        return 0;
    struct fs_btopic_info info;
    struct fs_btopic *t = fs->b.ops->topic_get(fs->b.be, n->topic->name);
    if (t)
        fs->b.ops->topic_info(fs->b.be, t, &info);
    if (!t || memcmp(info.id, n->topic->id, sizeof n->topic->id) ||
        n->partition >= info.partitions) {
        if (t)
            fs->b.ops->topic_put(fs->b.be, t);
        return -ENOENT;
    }
    ref->t = t;
    return 0;
}

void fs_ref_put(struct fs_ref *ref)
{
    if (ref->t)
        ref->b->ops->topic_put(ref->b->be, ref->t);
    ref->t = NULL;
}

void fs_ref_info(const struct fs_ref *ref, struct fs_btopic_info *out)
{
    ref->b->ops->topic_info(ref->b->be, ref->t, out);
}

bool fs_node_internal(const struct fs *fs, const struct fs_node *n)
{
    return n->topic && fs->b.ops->name_internal(n->topic->name);
}

bool fs_node_writable(const struct fs *fs, const struct fs_node *n)
{
    return (n->kind == FS_TOPIC || n->kind == FS_DATA) && !fs_node_internal(fs, n) &&
           !fs->opt.read_only;
}

/* ---- attributes ---- */

static void set_times(struct stat *st, int64_t ms)
{
    st->st_mtim.tv_sec = ms / 1000;
    st->st_mtim.tv_nsec = (ms % 1000) * 1000000;
    st->st_atim = st->st_ctim = st->st_mtim;
}

/* Mode, size and mtime of a node whose topic is resolved in ref. */
static int stat_kind(struct fs *fs, const struct fs_node *n, const struct fs_ref *ref,
                     struct stat *st)
{
    const struct fs_backend_ops *ops = fs->b.ops;
    struct fs_bsegment si;
    int64_t mtime = fs->start_ms;
    int rc = 0;
    switch (n->kind) {
    case FS_ROOT: st->st_mode = S_IFDIR | 0755; break;
    case FS_TOPIC:
        st->st_mode = S_IFREG | (fs_node_writable(fs, n) ? 0644 : 0444);
        st->st_size = ops->stream_size(fs->b.be, ref->t, -1);
        mtime = 0;
        for (int32_t i = 0; i < partition_count(fs, ref->t); i++) {
            int64_t ms = ops->last_append_ms(fs->b.be, ref->t, i);
            mtime = ms > mtime ? ms : mtime;
        }
        break;
    case FS_PDIR: st->st_mode = S_IFDIR | 0755; break;
    case FS_DATA:
    case FS_FOLLOW:
        st->st_mode = S_IFREG | (fs_node_writable(fs, n) ? 0644 : 0444);
        st->st_size = ops->stream_size(fs->b.be, ref->t, n->partition);
        break;
    case FS_RECORDS: st->st_mode = S_IFREG | 0444; break;
    case FS_SEG_LOG:
    case FS_SEG_INDEX:
    case FS_SEG_TIMEINDEX:
        st->st_mode = S_IFREG | 0444;
        if (!(rc = segment_info(ref, n->base, &si)))
            st->st_size = si.size[n->kind - FS_SEG_LOG];
        break;
    }
    if (ref->partition >= 0)
        mtime = ops->last_append_ms(fs->b.be, ref->t, ref->partition);
    set_times(st, mtime > 0 ? mtime : fs->start_ms); /* never appended to: mount time */
    return rc;
}

int fs_node_stat(struct fs *fs, const struct fs_node *n, struct stat *st)
{
    struct fs_ref ref;
    int rc = fs_node_resolve(fs, n, &ref);
    if (rc)
        return rc;
    memset(st, 0, sizeof *st);
    st->st_ino = n->ino;
    st->st_uid = fs->uid;
    st->st_gid = fs->gid;
    st->st_blksize = FS_BLKSIZE;
    rc = stat_kind(fs, n, &ref, st);
    st->st_nlink = S_ISDIR(st->st_mode) ? 2 : 1;
    st->st_blocks = (st->st_size + 511) / 512;
    fs_ref_put(&ref);
    return rc;
}

/* ---- directory listings ---- */

void fs_dir_free(struct fs_dirlist *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].name);
    free(d->v);
    free(d);
}

static int dir_add(struct fs_dirlist *d, const char *name, const struct fs_node *n, mode_t mode)
{
    if (!n)
        return -ENOMEM;
    if (ARRAY_GROW(d->v, d->cap, d->n + 1))
        return -ENOMEM;
    if (!(d->v[d->n].name = strdup(name)))
        return -ENOMEM;
    d->v[d->n].ino = n->ino;
    d->v[d->n++].mode = mode;
    return 0;
}

static int list_topic(struct fs *fs, struct fs_dirlist *d, struct fs_btopic *t)
{
    struct fs_btopic_info info;
    fs->b.ops->topic_info(fs->b.be, t, &info);
    const char *name = info.name;
    char pdir[NAME_MAX_LEN];
    int rc = dir_add(d, name, node_for(fs, t, FS_TOPIC, -1, -1, false), S_IFREG);
    for (int32_t i = 0; !rc && i < info.partitions; i++) {
        snprintf(pdir, sizeof pdir, "%s-%d", name, i);
        rc = dir_add(d, pdir, node_for(fs, t, FS_PDIR, i, -1, false), S_IFDIR);
    }
    return rc;
}

static int list_root(struct fs *fs, struct fs_dirlist *d)
{
    char **names = fs->b.ops->topic_names(fs->b.be);
    if (!names)
        return -ENOMEM;
    int rc = 0;
    for (char **name = names; !rc && *name; name++) {
        /* deleted since the list was taken, or hidden by the ACLs: leave it out */
        struct fs_btopic *t =
            fs_access_visible(fs, *name) ? fs->b.ops->topic_get(fs->b.be, *name) : NULL;
        if (t) {
            rc = list_topic(fs, d, t);
            fs->b.ops->topic_put(fs->b.be, t);
        }
    }
    free(names);
    return rc;
}

static int list_pdir(struct fs *fs, struct fs_dirlist *d, const struct fs_ref *ref)
{
    static const char *const fixed[] = {"data", "follow", "records"};
    int32_t part = ref->partition;
    struct fs_bsegment *v;
    size_t n;
    int rc = 0;
    for (int i = 0; !rc && i < 3; i++)
        rc = dir_add(d, fixed[i], node_for(fs, ref->t, FS_DATA + i, part, -1, false), S_IFREG);
    if (rc || !fs->b.ops->segments)
        return rc;
    if ((rc = fs->b.ops->segments(fs->b.be, ref->t, part, &v, &n)))
        return rc;
    for (size_t i = 0; !rc && i < n * 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "%020lld%s", (long long)v[i / 3].base, seg_ext[i % 3]);
        rc = dir_add(d, name,
                     node_for(fs, ref->t, FS_SEG_LOG + (int)(i % 3), part, v[i / 3].base, false),
                     S_IFREG);
    }
    free(v);
    return rc;
}

int fs_dir_list(struct fs *fs, struct fs_node *dir, struct fs_dirlist **out)
{
    struct fs_ref ref;
    struct fs_dirlist *d = calloc(1, sizeof *d);
    int rc = d ? fs_node_resolve(fs, dir, &ref) : -ENOMEM;
    if (rc)
        goto err_list;
    rc = dir_add(d, ".", dir, S_IFDIR);
    if (!rc)
        rc = dir_add(d, "..", &fs->root, S_IFDIR);
    if (!rc)
        rc = dir->kind == FS_ROOT ? list_root(fs, d) : list_pdir(fs, d, &ref);
    fs_ref_put(&ref);
    if (rc)
        goto err_list;
    *out = d;
    return 0;
err_list:
    fs_dir_free(d);
    return rc;
}

/* ---- deleted topics and segments ---- */

/* Mark tn gone; put the names the kernel may cache for it into names. */
static size_t tnode_gone(struct fs_tnode *tn, char **names, size_t max)
{
    size_t k = 0;
    tn->gone = true;
    if (k < max && (names[k] = strdup(tn->name)))
        k++;
    for (struct fs_node *n = tn->head; n; n = n->topic_next) {
        if (n->kind != FS_PDIR || k >= max)
            continue;
        char buf[NAME_MAX_LEN];
        snprintf(buf, sizeof buf, "%s-%d", tn->name, n->partition);
        if ((names[k] = strdup(buf)))
            k++;
    }
    return k;
}

/* Whether the backend's topic of tn's name is tn's topic (same id). */
static bool topic_same(struct fs *fs, const struct fs_tnode *tn)
{
    struct fs_btopic_info info;
    struct fs_btopic *t = fs->b.ops->topic_get(fs->b.be, tn->name);
    if (!t)
        return false;
    fs->b.ops->topic_info(fs->b.be, t, &info);
    bool same = !memcmp(info.id, tn->id, sizeof tn->id);
    fs->b.ops->topic_put(fs->b.be, t);
    return same;
}

size_t fs_topic_gone(struct fs *fs, const char *name, char **names, size_t max)
{
    size_t k = 0;
    pthread_mutex_lock(&fs->mu);
    for (struct fs_tnode *tn = fs->tnodes; tn; tn = tn->next)
        if (!tn->gone && !strcmp(tn->name, name)) {
            bool same = topic_same(fs, tn);
            if (!same) /* not when a topic of that name exists again */
                k += tnode_gone(tn, names + k, max - k);
        }
    collect(fs);
    pthread_mutex_unlock(&fs->mu);
    return k;
}

/* Free segment nodes nobody references whose segment is gone (retention,
 * compaction). Nodes are listed newest first, so those of one partition mostly
 * come together: its segment list is fetched once per run of them. */
static void sweep_segments(struct fs *fs, struct fs_tnode *tn, struct fs_btopic *t)
{
    struct fs_bsegment *v = NULL;
    size_t nv = 0;
    int32_t have = -1; /* partition v belongs to */
    if (!fs->b.ops->segments)
        return;
    int32_t parts = partition_count(fs, t);
    for (struct fs_node *n = tn->head, *next; n; n = next) {
        next = n->topic_next;
        if (n->nlookup || n->kind < FS_SEG_LOG || n->partition >= parts)
            continue;
        if (have != n->partition) {
            free(v);
            have = fs->b.ops->segments(fs->b.be, t, n->partition, &v, &nv) ? -1 : n->partition;
            if (have < 0)
                break;
        }
        size_t lo = 0, hi = nv; /* sorted by base */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (v[mid].base < n->base)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == nv || v[lo].base != n->base)
            node_free(fs, n);
    }
    free(v);
}

size_t fs_nodes_sweep(struct fs *fs, char **names, size_t max)
{
    size_t k = 0;
    pthread_mutex_lock(&fs->mu);
    for (struct fs_tnode *tn = fs->tnodes; tn; tn = tn->next) {
        if (tn->gone)
            continue;
        struct fs_btopic *t = fs->b.ops->topic_get(fs->b.be, tn->name);
        struct fs_btopic_info info;
        if (t)
            fs->b.ops->topic_info(fs->b.be, t, &info);
        if (t && !memcmp(info.id, tn->id, sizeof tn->id))
            sweep_segments(fs, tn, t);
        else
            k += tnode_gone(tn, names + k, max - k);
        if (t)
            fs->b.ops->topic_put(fs->b.be, t);
    }
    collect(fs);
    pthread_mutex_unlock(&fs->mu);
    return k;
}

/* The files of tn an append to partition changes: the topic file, the partition
 * directory, data and follow, and the newest segment's three files. */
static size_t affected_of(struct fs *fs, struct fs_tnode *tn, int32_t partition, uint64_t *v)
{
    size_t k = 0;
    int64_t seg = partition < tn->nseg_max ? tn->seg_max[partition] : -1;
    struct fs_node *n[] = {
        node_find_key(fs, tn, FS_TOPIC, -1, -1),
        node_find_key(fs, tn, FS_PDIR, partition, -1),
        node_find_key(fs, tn, FS_DATA, partition, -1),
        node_find_key(fs, tn, FS_FOLLOW, partition, -1),
        node_find_key(fs, tn, FS_SEG_LOG, partition, seg),
        node_find_key(fs, tn, FS_SEG_INDEX, partition, seg),
        node_find_key(fs, tn, FS_SEG_TIMEINDEX, partition, seg),
    };
    for (size_t i = 0; i < sizeof n / sizeof *n; i++)
        if (n[i])
            v[k++] = n[i]->ino;
    return k;
}

size_t fs_nodes_affected(struct fs *fs, const char *topic, int32_t partition, uint64_t **inos)
{
    size_t k = 0;
    pthread_mutex_lock(&fs->mu);
    uint64_t *v = malloc((topic ? 7 : fs->nnodes + 1) * sizeof *v);
    for (struct fs_tnode *tn = fs->tnodes; v && tn; tn = tn->next) {
        if (tn->gone || (topic && strcmp(tn->name, topic)))
            continue;
        if (topic) {
            k = affected_of(fs, tn, partition, v);
            break;
        }
        for (struct fs_node *n = tn->head; n; n = n->topic_next)
            if (n->kind != FS_RECORDS)
                v[k++] = n->ino;
    }
    pthread_mutex_unlock(&fs->mu);
    *inos = v;
    return k;
}
