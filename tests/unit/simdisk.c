/*
 * simdisk.c - see simdisk.h for the contract.
 *
 * One lock (disk.mu) guards the whole model; a wrapper of a modelled path holds it
 * across both the real call and the model's update, so the model and the real
 * files change together even when the flusher and the test write at once. Pending
 * operations keep their bytes, which is what lets a power failure replay any
 * prefix of them.
 */
#include "tests/unit/simdisk.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/sysio.h"

/* ---- growable byte buffers ---- */

struct buf {
    uint8_t *p;
    size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t n)
{
    if (n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < n)
        cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p)
        abort();
    b->cap = cap;
}

/* Set the length, zero-filling when it grows. */
static void buf_resize(struct buf *b, size_t len)
{
    buf_reserve(b, len);
    if (len > b->len)
        memset(b->p + b->len, 0, len - b->len);
    b->len = len;
}

static void buf_put(struct buf *b, size_t off, const void *data, size_t n)
{
    if (!n)
        return;
    if (off + n > b->len)
        buf_resize(b, off + n);
    memcpy(b->p + off, data, n);
}

static void buf_assign(struct buf *dst, const struct buf *src)
{
    buf_reserve(dst, src->len);
    if (src->len)
        memcpy(dst->p, src->p, src->len);
    dst->len = src->len;
}

static void buf_free(struct buf *b)
{
    free(b->p);
    *b = (struct buf){0};
}

/* ---- the model of the disk ---- */

/* A write (data, len at off) or a truncation (to off) not yet made durable. */
struct sd_op {
    bool trunc;
    size_t off, len;
    uint8_t *data;
};

/* One inode. */
struct sd_file {
    struct buf dur;    /* content as of the last fsync/fdatasync */
    struct buf cur;    /* content now (what the real file holds) */
    struct sd_op *ops; /* pending since dur */
    size_t nops, cap;
    ino_t ino;         /* the real inode while it is live, else 0 */
    struct buf *after; /* scratch: content after the power failure */
};

/* A name in a namespace: a file, or a directory when f is NULL. */
struct sd_ent {
    char *name; /* relative to the data directory */
    struct sd_file *f;
};

struct sd_ns {
    struct sd_ent *v;
    size_t n, cap;
};

enum { NS_CREATE, NS_UNLINK, NS_RENAME, NS_MKDIR, NS_RMDIR };

struct sd_nsop {
    int kind;
    char *a, *b;       /* names (b for renames) */
    struct sd_file *f; /* the file a create made */
    bool forced;       /* made durable by a directory fsync */
};

static struct {
    pthread_mutex_t mu;
    char root[4096];
    size_t rootlen;
    struct sd_file **files;
    size_t nfiles, capfiles;
    struct sd_ns cur, dur;
    struct sd_nsop *nsops;
    size_t nnsops, capnsops;
    long calls, crash_at;
    bool dead;
    struct tu_rng rng;
    char crash_op[256];
    const char *crash_name; /* die at the first mutating call on this name instead */
    bool hold;              /* syncs from other threads (the flusher) wait */
    pthread_t main;         /* the thread running the test */
    pthread_cond_t cond;    /* hold was lifted or the machine died */
} disk = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* What the crashes since the last simdisk_report_clear did; what does not fit is
 * dropped, the rest stays NUL-terminated. */
static char report[16384];
static size_t report_len;

void simdisk_note(const char *fmt, ...)
{
    if (report_len >= sizeof report - 2)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(report + report_len, sizeof report - report_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        report_len +=
            (size_t)n < sizeof report - report_len ? (size_t)n : sizeof report - report_len - 1;
}

const char *simdisk_report(void)
{
    return report;
}

void simdisk_report_clear(void)
{
    report_len = 0;
    report[0] = 0;
}

/* The name of path inside the data directory, or NULL when it is outside. */
static const char *rel_of(const char *path)
{
    if (strncmp(path, disk.root, disk.rootlen))
        return NULL;
    if (path[disk.rootlen] == 0)
        return "";
    return path[disk.rootlen] == '/' ? path + disk.rootlen + 1 : NULL;
}

/* The directory part of a relative name ("" for the data directory). */
static void parent_of(const char *name, char *out, size_t size)
{
    const char *slash = strrchr(name, '/');
    snprintf(out, size, "%.*s", slash ? (int)(slash - name) : 0, name);
}

static ssize_t ns_find(const struct sd_ns *ns, const char *name)
{
    for (size_t i = 0; i < ns->n; i++)
        if (!strcmp(ns->v[i].name, name))
            return (ssize_t)i;
    return -1;
}

static bool ns_is_dir(const struct sd_ns *ns, const char *name)
{
    if (!*name)
        return true;
    ssize_t i = ns_find(ns, name);
    return i >= 0 && !ns->v[i].f;
}

static void ns_set(struct sd_ns *ns, const char *name, struct sd_file *f)
{
    ssize_t i = ns_find(ns, name);
    if (i >= 0) {
        ns->v[i].f = f;
        return;
    }
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? ns->cap * 2 : 32;
        ns->v = realloc(ns->v, ns->cap * sizeof *ns->v);
        if (!ns->v)
            abort();
    }
    ns->v[ns->n++] = (struct sd_ent){tu_xstrdup(name), f};
}

/* Remove name and everything below it. */
static void ns_del_tree(struct sd_ns *ns, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < ns->n;) {
        const char *e = ns->v[i].name;
        if (!strcmp(e, name) || (!strncmp(e, name, len) && e[len] == '/')) {
            free(ns->v[i].name);
            ns->v[i] = ns->v[--ns->n];
        } else {
            i++;
        }
    }
}

/* rename(a, b): b (and anything below it) is replaced, a and its children move. */
static void ns_move(struct sd_ns *ns, const char *a, const char *b)
{
    if (!strcmp(a, b))
        return;
    ns_del_tree(ns, b);
    size_t la = strlen(a);
    for (size_t i = 0; i < ns->n; i++) {
        char *e = ns->v[i].name;
        if (!strcmp(e, a) || (!strncmp(e, a, la) && e[la] == '/')) {
            size_t n = strlen(b) + strlen(e + la) + 1;
            char *moved = tu_xmalloc(n);
            snprintf(moved, n, "%s%s", b, e + la);
            free(e);
            ns->v[i].name = moved;
        }
    }
}

static void ns_free(struct sd_ns *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i].name);
    free(ns->v);
    *ns = (struct sd_ns){0};
}

static void ns_copy(struct sd_ns *dst, const struct sd_ns *src)
{
    ns_free(dst);
    for (size_t i = 0; i < src->n; i++)
        ns_set(dst, src->v[i].name, src->v[i].f);
}

static struct sd_file *file_new(ino_t ino)
{
    struct sd_file *f = calloc(1, sizeof *f);
    if (!f)
        abort();
    f->ino = ino;
    if (disk.nfiles == disk.capfiles) {
        disk.capfiles = disk.capfiles ? disk.capfiles * 2 : 64;
        disk.files = realloc(disk.files, disk.capfiles * sizeof *disk.files);
        if (!disk.files)
            abort();
    }
    for (size_t i = 0; i < disk.nfiles; i++) /* an inode number is reused */
        if (disk.files[i]->ino == ino)
            disk.files[i]->ino = 0;
    disk.files[disk.nfiles++] = f;
    return f;
}

static void file_clear_ops(struct sd_file *f)
{
    for (size_t i = 0; i < f->nops; i++)
        free(f->ops[i].data);
    f->nops = 0;
}

static void file_free(struct sd_file *f)
{
    file_clear_ops(f);
    free(f->ops);
    buf_free(&f->dur);
    buf_free(&f->cur);
    if (f->after) {
        buf_free(f->after);
        free(f->after);
    }
    free(f);
}

static struct sd_file *file_by_fd(int fd)
{
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode))
        return NULL;
    for (size_t i = 0; i < disk.nfiles; i++)
        if (disk.files[i]->ino == st.st_ino)
            return disk.files[i];
    return NULL;
}

static void file_add_op(struct sd_file *f, bool trunc, size_t off, const void *data, size_t len)
{
    if (f->nops == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->ops = realloc(f->ops, f->cap * sizeof *f->ops);
        if (!f->ops)
            abort();
    }
    struct sd_op *op = &f->ops[f->nops++];
    *op = (struct sd_op){.trunc = trunc, .off = off, .len = len};
    if (!trunc) {
        op->data = tu_xmalloc(len);
        memcpy(op->data, data, len);
        buf_put(&f->cur, off, data, len);
    } else {
        buf_resize(&f->cur, off);
    }
}

static void nsop_add(int kind, const char *a, const char *b, struct sd_file *f)
{
    if (disk.nnsops == disk.capnsops) {
        disk.capnsops = disk.capnsops ? disk.capnsops * 2 : 64;
        disk.nsops = realloc(disk.nsops, disk.capnsops * sizeof *disk.nsops);
        if (!disk.nsops)
            abort();
    }
    disk.nsops[disk.nnsops++] =
        (struct sd_nsop){kind, tu_xstrdup(a), b ? tu_xstrdup(b) : NULL, f, false};
}

/* A name of f now (for reports), "" when it has none. Lock held. */
static const char *file_name(const struct sd_file *f)
{
    for (size_t i = 0; i < disk.cur.n; i++)
        if (disk.cur.v[i].f == f)
            return disk.cur.v[i].name;
    return "";
}

/* Count one mutating call; true when the machine is (now) dead. Lock held. */
static bool crash_point(const char *what, const char *name)
{
    if (!disk.dead &&
        (++disk.calls >= disk.crash_at || (disk.crash_name && !strcmp(disk.crash_name, name)))) {
        disk.dead = true;
        pthread_cond_broadcast(&disk.cond);
        snprintf(disk.crash_op, sizeof disk.crash_op, "%s %s (call %ld)", what, name, disk.calls);
    }
    return disk.dead;
}

/* ---- the wrappers ---- */

/* The whole content of path, read past the seam. */
static void read_real(const char *path, struct buf *out)
{
    int fd = sysio_real.open(path, O_RDONLY, 0);
    if (fd < 0)
        return;
    uint8_t chunk[4096];
    ssize_t n;
    while ((n = pread(fd, chunk, sizeof chunk, (off_t)out->len)) > 0)
        buf_put(out, out->len, chunk, (size_t)n);
    close(fd);
}

static int sd_open(const char *path, int flags, mode_t mode)
{
    const char *name = rel_of(path);
    if (!name)
        return sysio_real.open(path, flags, mode);
    pthread_mutex_lock(&disk.mu);
    struct stat st;
    bool existed = lstat(path, &st) == 0;
    bool mutates = (flags & O_TRUNC) || ((flags & O_CREAT) && !existed);
    if (mutates && crash_point("open", name)) {
        pthread_mutex_unlock(&disk.mu);
        errno = EIO;
        return -1;
    }
    int fd = sysio_real.open(path, flags, mode);
    if (fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode)) {
        ssize_t i = ns_find(&disk.cur, name);
        struct sd_file *f = i >= 0 ? disk.cur.v[i].f : NULL;
        if (!f) { /* created now (or made outside the seam: take it as durable) */
            f = file_new(st.st_ino);
            if (existed) {
                read_real(path, &f->cur);
                buf_assign(&f->dur, &f->cur);
                ns_set(&disk.dur, name, f);
            } else {
                nsop_add(NS_CREATE, name, NULL, f);
            }
            ns_set(&disk.cur, name, f);
        }
        f->ino = st.st_ino;
        if ((flags & O_TRUNC) && f->cur.len)
            file_add_op(f, true, 0, NULL, 0);
    }
    pthread_mutex_unlock(&disk.mu);
    return fd;
}

static ssize_t sd_pwrite(int fd, const void *data, size_t n, off_t off)
{
    pthread_mutex_lock(&disk.mu);
    struct sd_file *f = file_by_fd(fd);
    if (!f) {
        pthread_mutex_unlock(&disk.mu);
        return sysio_real.pwrite(fd, data, n, off);
    }
    bool was_dead = disk.dead;
    if (crash_point("pwrite", file_name(f))) {
        if (!was_dead && n > 1) { /* the power went out in the middle of it */
            size_t part = (size_t)tu_rng_below(&disk.rng, n);
            ssize_t w = part ? sysio_real.pwrite(fd, data, part, off) : 0;
            if (w > 0)
                file_add_op(f, false, (size_t)off, data, (size_t)w);
        }
        pthread_mutex_unlock(&disk.mu);
        errno = EIO;
        return -1;
    }
    ssize_t w = sysio_real.pwrite(fd, data, n, off);
    if (w > 0)
        file_add_op(f, false, (size_t)off, data, (size_t)w);
    pthread_mutex_unlock(&disk.mu);
    return w;
}

static int sd_ftruncate(int fd, off_t len)
{
    pthread_mutex_lock(&disk.mu);
    struct sd_file *f = file_by_fd(fd);
    if (f && crash_point("ftruncate", file_name(f))) {
        pthread_mutex_unlock(&disk.mu);
        errno = EIO;
        return -1;
    }
    int rc = sysio_real.ftruncate(fd, len);
    if (!rc && f)
        file_add_op(f, true, (size_t)len, NULL, 0);
    pthread_mutex_unlock(&disk.mu);
    return rc;
}

/* Make a directory's pending operations durable. Lock held. */
static void force_dir(const char *dname)
{
    char pa[4096], pb[4096];
    for (size_t i = 0; i < disk.nnsops; i++) {
        struct sd_nsop *op = &disk.nsops[i];
        parent_of(op->a, pa, sizeof pa);
        if (op->b)
            parent_of(op->b, pb, sizeof pb);
        if (!strcmp(pa, dname) || (op->b && !strcmp(pb, dname)))
            op->forced = true;
    }
}

static int sd_sync(int fd)
{
    struct stat st;
    if (fstat(fd, &st))
        return -1;
    pthread_mutex_lock(&disk.mu);
    while (disk.hold && !disk.dead && !pthread_equal(pthread_self(), disk.main))
        pthread_cond_wait(&disk.cond, &disk.mu);
    int rc = 0;
    if (S_ISDIR(st.st_mode)) {
        char link[64], path[4096];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, path, sizeof path - 1);
        path[n > 0 ? n : 0] = 0;
        const char *name = n > 0 ? rel_of(path) : NULL;
        if (name && crash_point("fsync dir", name))
            rc = -1;
        else if (name)
            force_dir(name);
    } else {
        struct sd_file *f = file_by_fd(fd);
        if (f && crash_point("fsync", file_name(f))) {
            rc = -1;
        } else if (f) {
            buf_assign(&f->dur, &f->cur);
            file_clear_ops(f);
        }
    }
    pthread_mutex_unlock(&disk.mu);
    if (rc)
        errno = EIO;
    return rc;
}

/* Every file's content and every namespace operation durable, as syncfs() makes
 * the whole file system's. */
static int sd_syncfs(int fd)
{
    (void)fd;
    pthread_mutex_lock(&disk.mu);
    while (disk.hold && !disk.dead && !pthread_equal(pthread_self(), disk.main))
        pthread_cond_wait(&disk.cond, &disk.mu);
    int rc = crash_point("syncfs", ".") ? -1 : 0;
    for (size_t i = 0; !rc && i < disk.nfiles; i++) {
        buf_assign(&disk.files[i]->dur, &disk.files[i]->cur);
        file_clear_ops(disk.files[i]);
    }
    for (size_t i = 0; !rc && i < disk.nnsops; i++)
        disk.nsops[i].forced = true;
    pthread_mutex_unlock(&disk.mu);
    if (rc)
        errno = EIO;
    return rc;
}

static int sd_rename(const char *from, const char *to)
{
    const char *a = rel_of(from), *b = rel_of(to);
    if (!a || !b)
        return sysio_real.rename(from, to);
    pthread_mutex_lock(&disk.mu);
    int rc = -1;
    if (crash_point("rename", a)) {
        errno = EIO;
    } else if (!(rc = sysio_real.rename(from, to))) {
        ns_move(&disk.cur, a, b);
        nsop_add(NS_RENAME, a, b, NULL);
    }
    pthread_mutex_unlock(&disk.mu);
    return rc;
}

static int sd_unlink(const char *path)
{
    const char *name = rel_of(path);
    if (!name)
        return sysio_real.unlink(path);
    pthread_mutex_lock(&disk.mu);
    int rc = -1;
    if (crash_point("unlink", name)) {
        errno = EIO;
    } else if (!(rc = sysio_real.unlink(path))) {
        ns_del_tree(&disk.cur, name);
        nsop_add(NS_UNLINK, name, NULL, NULL);
    }
    pthread_mutex_unlock(&disk.mu);
    return rc;
}

static int sd_mkdir(const char *path, mode_t mode)
{
    const char *name = rel_of(path);
    if (!name || !*name)
        return sysio_real.mkdir(path, mode);
    pthread_mutex_lock(&disk.mu);
    int rc = -1;
    struct stat st;
    if (!lstat(path, &st)) {
        errno = EEXIST; /* what mkdir says, dead or alive */
    } else if (crash_point("mkdir", name)) {
        errno = EIO;
    } else if (!(rc = sysio_real.mkdir(path, mode))) {
        ns_set(&disk.cur, name, NULL);
        nsop_add(NS_MKDIR, name, NULL, NULL);
    }
    pthread_mutex_unlock(&disk.mu);
    return rc;
}

static int sd_rmdir(const char *path)
{
    const char *name = rel_of(path);
    if (!name)
        return sysio_real.rmdir(path);
    pthread_mutex_lock(&disk.mu);
    int rc = -1;
    if (crash_point("rmdir", name)) {
        errno = EIO;
    } else if (!(rc = sysio_real.rmdir(path))) {
        ns_del_tree(&disk.cur, name);
        nsop_add(NS_RMDIR, name, NULL, NULL);
    }
    pthread_mutex_unlock(&disk.mu);
    return rc;
}

void simdisk_install(void)
{
    sysio.open = sd_open;
    sysio.pwrite = sd_pwrite;
    sysio.ftruncate = sd_ftruncate;
    sysio.fdatasync = sd_sync;
    sysio.fsync = sd_sync;
    sysio.rename = sd_rename;
    sysio.unlink = sd_unlink;
    sysio.mkdir = sd_mkdir;
    sysio.rmdir = sd_rmdir;
    sysio.syncfs = sd_syncfs;
}

void simdisk_arm(long after)
{
    pthread_mutex_lock(&disk.mu);
    disk.dead = false;
    disk.calls = 0;
    disk.crash_at = after;
    disk.crash_name = NULL;
    disk.crash_op[0] = 0;
    pthread_mutex_unlock(&disk.mu);
}

void simdisk_arm_name(const char *name)
{
    simdisk_arm(SIMDISK_NEVER);
    pthread_mutex_lock(&disk.mu);
    disk.crash_name = name;
    pthread_mutex_unlock(&disk.mu);
}

void simdisk_hold(bool on)
{
    pthread_mutex_lock(&disk.mu);
    disk.hold = on;
    disk.main = pthread_self();
    pthread_cond_broadcast(&disk.cond);
    pthread_mutex_unlock(&disk.mu);
}

long simdisk_calls(void)
{
    pthread_mutex_lock(&disk.mu);
    long n = disk.calls;
    pthread_mutex_unlock(&disk.mu);
    return n;
}

bool simdisk_dead(void)
{
    pthread_mutex_lock(&disk.mu);
    bool d = disk.dead;
    pthread_mutex_unlock(&disk.mu);
    return d;
}

void simdisk_kill(void)
{
    pthread_mutex_lock(&disk.mu);
    if (!disk.dead)
        snprintf(disk.crash_op, sizeof disk.crash_op, "after the workload (call %ld)", disk.calls);
    disk.dead = true;
    pthread_cond_broadcast(&disk.cond);
    pthread_mutex_unlock(&disk.mu);
}

void simdisk_seed(uint64_t seed)
{
    pthread_mutex_lock(&disk.mu);
    tu_rng_seed(&disk.rng, seed);
    pthread_mutex_unlock(&disk.mu);
}

/* Written under the lock when the machine dies and left alone until the next
 * simdisk_arm: stable to read while the machine is dead. */
const char *simdisk_crash_op(void)
{
    return disk.crash_op;
}

void simdisk_reset(const char *root)
{
    for (size_t i = 0; i < disk.nfiles; i++)
        file_free(disk.files[i]);
    disk.nfiles = 0;
    for (size_t i = 0; i < disk.nnsops; i++) {
        free(disk.nsops[i].a);
        free(disk.nsops[i].b);
    }
    disk.nnsops = 0;
    ns_free(&disk.cur);
    ns_free(&disk.dur);
    if (root) {
        snprintf(disk.root, sizeof disk.root, "%s", root);
        disk.rootlen = strlen(disk.root);
    }
}

/* ---- the power failure ---- */

/* The bytes pending operations touched, and the largest size the file had. */
static uint8_t *dirty_map(const struct sd_file *f, size_t *span)
{
    size_t len = f->dur.len, max = len;
    for (size_t i = 0; i < f->nops; i++) {
        const struct sd_op *op = &f->ops[i];
        len = op->trunc ? op->off : (op->off + op->len > len ? op->off + op->len : len);
        if (len > max)
            max = len;
    }
    uint8_t *d = calloc(max + 1, 1);
    if (!d)
        abort();
    len = f->dur.len;
    for (size_t i = 0; i < f->nops; i++) {
        const struct sd_op *op = &f->ops[i];
        size_t from = op->trunc ? (op->off < len ? op->off : len) : op->off;
        size_t to = op->trunc ? (op->off > len ? op->off : len) : op->off + op->len;
        memset(d + from, 1, to - from);
        len = op->trunc ? op->off : (to > len ? to : len);
    }
    if (max > f->dur.len)
        memset(d + f->dur.len, 1, max - f->dur.len);
    *span = max;
    return d;
}

static void apply_op(struct buf *b, const struct sd_op *op, size_t limit)
{
    if (op->trunc)
        buf_resize(b, op->off);
    else
        buf_put(b, op->off, op->data, op->len < limit ? op->len : limit);
}

/* What one file holds after the power failure: its durable content and some of
 * its pending writes. */
static void torn_content(struct sd_file *f, const char *name, struct tu_rng *r, struct buf *out)
{
    buf_assign(out, &f->dur);
    if (!f->nops || !r)
        return;
    uint64_t mode = tu_rng_below(r, 10);
    if (mode < 2) { /* all or nothing */
        bool all = tu_rng_below(r, 2);
        if (all)
            buf_assign(out, &f->cur);
        simdisk_note("  %s: %zu pending ops %s (%zu -> %zu bytes)\n", name, f->nops,
                     all ? "all kept" : "all lost", f->dur.len, out->len);
        return;
    }
    if (mode < 6) { /* in order, up to a torn write, maybe with flipped bytes */
        size_t k = (size_t)tu_rng_below(r, f->nops + 1);
        for (size_t i = 0; i < k; i++)
            apply_op(out, &f->ops[i], SIZE_MAX);
        size_t torn = 0;
        if (k < f->nops && !f->ops[k].trunc) {
            torn = (size_t)tu_rng_below(r, f->ops[k].len);
            apply_op(out, &f->ops[k], torn);
        }
        int flips = 0;
        if (k && tu_rng_below(r, 3) == 0) {
            const struct sd_op *op = &f->ops[tu_rng_below(r, k)];
            if (!op->trunc && op->len && op->off < out->len) {
                size_t at = op->off + (size_t)tu_rng_below(r, op->len);
                if (at < out->len) {
                    out->p[at] ^= (uint8_t)(1 + tu_rng_below(r, 255));
                    flips++;
                }
            }
        }
        simdisk_note(
            "  %s: %zu of %zu ops kept, next torn at %zu, %d byte(s) flipped (%zu -> %zu)\n", name,
            k, f->nops, torn, flips, f->dur.len, out->len);
        return;
    }
    /* sector or page at a time: each old, new, zeroed or garbage; size from anywhere */
    size_t span;
    uint8_t *dirty = dirty_map(f, &span);
    size_t gran = tu_rng_below(r, 2) ? 512 : 4096, len;
    switch (tu_rng_below(r, 4)) {
    case 0: len = f->dur.len; break;
    case 1: len = f->cur.len; break;
    case 2: {
        struct buf tmp = {0};
        buf_assign(&tmp, &f->dur);
        size_t k = (size_t)tu_rng_below(r, f->nops + 1);
        for (size_t i = 0; i < k; i++)
            apply_op(&tmp, &f->ops[i], SIZE_MAX);
        len = tmp.len;
        buf_free(&tmp);
        break;
    }
    default: len = (size_t)tu_rng_below(r, span + 1); break;
    }
    size_t floor = f->dur.len; /* durable bytes no pending op touched stay */
    while (floor > 0 && dirty[floor - 1])
        floor--;
    if (len < floor)
        len = floor;
    buf_resize(out, len);
    int counts[4] = {0};
    for (size_t blk = 0; blk * gran < len; blk++) {
        size_t from = blk * gran, to = from + gran < len ? from + gran : len;
        bool any = false;
        for (size_t i = from; i < to && !any; i++)
            any = i < span && dirty[i];
        if (!any)
            continue;
        uint64_t c = tu_rng_below(r, 20), pick = c < 11 ? 0 : c < 16 ? 1 : c < 19 ? 2 : 3;
        counts[pick]++;
        for (size_t i = from; i < to; i++) {
            if (i >= span || !dirty[i])
                continue;
            uint8_t v = 0;
            if (pick == 0)
                v = i < f->cur.len ? f->cur.p[i] : 0;
            else if (pick == 1)
                v = i < f->dur.len ? f->dur.p[i] : 0;
            else if (pick == 3)
                v = (uint8_t)tu_rng_next(r);
            out->p[i] = v;
        }
    }
    free(dirty);
    simdisk_note("  %s: %zu-byte blocks, new %d old %d zero %d garbage %d (%zu -> %zu, now %zu)\n",
                 name, gran, counts[0], counts[1], counts[2], counts[3], f->dur.len, len,
                 f->cur.len);
}

static void apply_nsop(struct sd_ns *ns, const struct sd_nsop *op)
{
    char parent[4096];
    parent_of(op->kind == NS_RENAME ? op->b : op->a, parent, sizeof parent);
    switch (op->kind) {
    case NS_CREATE:
        if (ns_is_dir(ns, parent))
            ns_set(ns, op->a, op->f);
        break;
    case NS_MKDIR:
        if (ns_is_dir(ns, parent) && ns_find(ns, op->a) < 0)
            ns_set(ns, op->a, NULL);
        break;
    case NS_RENAME:
        if (ns_find(ns, op->a) >= 0 && ns_is_dir(ns, parent))
            ns_move(ns, op->a, op->b);
        break;
    case NS_UNLINK:
    case NS_RMDIR: ns_del_tree(ns, op->a); break;
    }
}

static int cmp_ent_depth(const void *x, const void *y)
{
    const struct sd_ent *a = x, *b = y;
    size_t la = strlen(a->name), lb = strlen(b->name);
    return (la > lb) - (la < lb);
}

/* The power fails: rebuild the data directory from what the disk would hold,
 * then take all of it as durable (it is what a reboot reads back). With r NULL,
 * nothing that was not made durable survives. */
void simdisk_power_fail(struct tu_rng *r)
{
    pthread_mutex_lock(&disk.mu);
    size_t n = disk.nnsops;
    uint64_t c = r ? tu_rng_below(r, 10) : 3;
    size_t keep = c < 3 ? n : c < 6 ? 0 : (size_t)tu_rng_below(r, n + 1);
    size_t forced = 0;
    struct sd_ns ns = {0};
    ns_copy(&ns, &disk.dur);
    for (size_t i = 0; i < n; i++) {
        forced += i >= keep && disk.nsops[i].forced;
        if (i < keep || disk.nsops[i].forced)
            apply_nsop(&ns, &disk.nsops[i]);
    }
    simdisk_note("power failure at %s: %zu namespace ops pending, first %zu kept plus %zu forced\n",
                 disk.crash_op, n, keep, forced);
    if (getenv("BROOK_POWERLOSS_VERBOSE"))
        for (size_t i = 0; i < n; i++)
            simdisk_note("   op %zu %d %s %s%s\n", i, disk.nsops[i].kind, disk.nsops[i].a,
                         disk.nsops[i].b ? disk.nsops[i].b : "",
                         disk.nsops[i].forced ? " forced" : "");
    if (ns.n)
        qsort(ns.v, ns.n, sizeof *ns.v, cmp_ent_depth);
    tu_rmrf(disk.root);
    if (mkdir(disk.root, 0755))
        abort();
    for (size_t i = 0; i < ns.n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", disk.root, ns.v[i].name);
        struct sd_file *f = ns.v[i].f;
        if (!f) {
            if (mkdir(path, 0755))
                abort();
            continue;
        }
        if (!f->after) {
            f->after = calloc(1, sizeof *f->after);
            if (!f->after)
                abort();
            torn_content(f, ns.v[i].name, r, f->after);
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 ||
            (f->after->len && pwrite(fd, f->after->p, f->after->len, 0) != (ssize_t)f->after->len))
            abort();
        close(fd);
    }
    /* the new disk: every file durable as it now is */
    struct sd_ns fresh = {0};
    struct sd_file **old = disk.files;
    size_t nold = disk.nfiles;
    disk.files = NULL;
    disk.nfiles = disk.capfiles = 0;
    for (size_t i = 0; i < ns.n; i++) {
        struct sd_file *f = NULL;
        if (ns.v[i].f) {
            char path[8192];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", disk.root, ns.v[i].name);
            if (stat(path, &st))
                abort();
            f = file_new(st.st_ino);
            buf_assign(&f->cur, ns.v[i].f->after);
            buf_assign(&f->dur, &f->cur);
        }
        ns_set(&fresh, ns.v[i].name, f);
    }
    for (size_t i = 0; i < nold; i++)
        file_free(old[i]);
    free(old);
    for (size_t i = 0; i < disk.nnsops; i++) {
        free(disk.nsops[i].a);
        free(disk.nsops[i].b);
    }
    disk.nnsops = 0;
    ns_free(&ns);
    ns_copy(&disk.cur, &fresh);
    ns_copy(&disk.dur, &fresh);
    ns_free(&fresh);
    pthread_mutex_unlock(&disk.mu);
}
