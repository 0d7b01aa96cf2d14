/*
 * fs.c - mounting the view, running its session, and taking it down.
 *
 * The view uses libfuse's low-level API: callbacks get inode numbers, not paths,
 * which is what a namespace computed from the store needs (inode.c). The session
 * runs libfuse's multithreaded loop in a thread of its own, with a handful of
 * workers: callbacks never wait for long (parked follow reads and durability
 * waits are answered later from other threads), so few are enough.
 *
 * Capabilities: the writeback cache stays off - with it the kernel gathers writes
 * into pages and re-sends whole pages, so lines would be appended twice. Async
 * direct I/O is off too, so a big read reaches us as one request at the
 * reader's offset and a reader's position mapping (stream.c) sees requests in
 * order. O_TRUNC comes with OPEN (atomic_o_trunc) so it can be refused there.
 *
 * Start: a mountpoint that answers ENOTCONN is the stale mount of a process that
 * died; it is detached (umount2 MNT_DETACH as root, `fusermount3 -u -z`
 * otherwise) before mounting again.
 *
 * Stop: readers parked in follow files get end of file, and open files get a
 * moment (stop_grace_ms) to be closed while the session still answers - so a
 * `cat follow` ends cleanly instead of failing its close() with ENOTCONN.
 * libfuse's loop only notices fuse_session_exit() when a worker returns from
 * reading the device, so after setting it a helper thread looks up a name that
 * can never exist, through a descriptor of the mounted root taken just before
 * (holding one all along would make a plain `fusermount3 -u` fail with EBUSY).
 * Once the loop has ended, FLUSH replies still owed by the store's flusher are
 * waited for, and only then is the mount taken away - which also releases the
 * helper if no worker was left to answer it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/private.h"
#include "lib/clock.h"
#include "lib/log.h"

extern char **environ;

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
    (void)userdata;
    conn->want &= ~(unsigned)(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_ASYNC_DIO);
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
        conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
}

const struct fuse_lowlevel_ops fs_ops = {
    .init = fs_init,
    .lookup = fs_op_lookup,
    .forget = fs_op_forget,
    .forget_multi = fs_op_forget_multi,
    .getattr = fs_op_getattr,
    .setattr = fs_op_setattr,
    .mknod = fs_op_mknod,
    .mkdir = fs_op_mkdir,
    .unlink = fs_op_unlink,
    .rmdir = fs_op_rmdir,
    .symlink = fs_op_symlink,
    .rename = fs_op_rename,
    .link = fs_op_link,
    .open = fs_op_open,
    .read = fs_op_read,
    .write = fs_op_write,
    .flush = fs_op_flush,
    .release = fs_op_release,
    .fsync = fs_op_fsync,
    .opendir = fs_op_opendir,
    .readdir = fs_op_readdir,
    .releasedir = fs_op_releasedir,
    .statfs = fs_op_statfs,
    .access = fs_op_access,
    .create = fs_op_create,
    .poll = fs_op_poll,
};

void fs_options_defaults(struct fs_options *o)
{
    *o = (struct fs_options){.mountpoint = NULL,
                             .max_threads = 8,
                             .timeout_s = 3600,
                             .stop_grace_ms = 1000,
                             .partial_max = FS_PARTIAL_MAX};
}

/* Detach whatever is mounted at mp, without waiting for its users. */
static void detach(const char *mp)
{
    if (umount2(mp, MNT_DETACH) == 0)
        return;
    char prog[] = "fusermount3", u[] = "-u", z[] = "-z", q[] = "-q", dd[] = "--";
    char *argv[] = {prog, u, z, q, dd, (char *)mp, NULL};
    pid_t pid;
    if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) == 0)
        waitpid(pid, NULL, 0);
}

/* Whether a file system is mounted at directory mp (st its stat): its device
 * differs from its parent's. */
static bool is_mount_point(const char *mp, const struct stat *st)
{
    char parent[PATH_MAX];
    struct stat pst;
    if (snprintf(parent, sizeof parent, "%s/..", mp) >= (int)sizeof parent)
        return false;
    return stat(parent, &pst) == 0 && pst.st_dev != st->st_dev;
}

/* Make mp a directory we can mount on: detach a stale mount, create it if absent.
 * The test for staleness is statfs, which always reaches the daemon: stat may be
 * answered from the kernel's cache of the root's attributes even when the daemon
 * is dead. A live mount there (another brookd's, most likely) is -EBUSY: mounting over it
 * would hide it from its users while it still runs. */
static int prepare_mountpoint(const char *mp)
{
    struct stat st;
    struct statvfs sv;
    if (statvfs(mp, &sv) && errno == ENOTCONN) {
        log_info("brook.fs", "Cleaning up a stale mount at %s (its daemon died)", mp);
        detach(mp);
    }
    if (stat(mp, &st) == 0)
        return !S_ISDIR(st.st_mode) ? -ENOTDIR : is_mount_point(mp, &st) ? -EBUSY : 0;
    if (errno != ENOENT)
        return -errno;
    return mkdir(mp, 0755) && errno != EEXIST ? -errno : 0;
}

static void *loop_main(void *arg)
{
    struct fs *fs = arg;
    struct fuse_loop_config *cfg = fuse_loop_cfg_create();
    if (!cfg) {
        log_error("brook.fs", "FUSE loop: out of memory");
        return NULL;
    }
    fuse_loop_cfg_set_max_threads(cfg, (unsigned)fs->opt.max_threads);
    int rc = fuse_session_loop_mt(fs->se, cfg);
    fuse_loop_cfg_destroy(cfg);
    if (rc < 0 && rc != -ENODEV)
        log_error("brook.fs", "FUSE loop ended: %s", strerror(-rc));
    return NULL;
}

int fs_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -rc;
}

static int session_mount(struct fs *fs)
{
    char opts[128];
    snprintf(opts, sizeof opts, "fsname=brook,subtype=brook%s",
             fs->opt.allow_other ? ",allow_other" : "");
    char prog[] = "brook", o[] = "-o";
    char *argv[] = {prog, o, opts, NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, argv);
    fs->se = fuse_session_new(&args, &fs_ops, sizeof fs_ops, fs);
    fuse_opt_free_args(&args);
    if (!fs->se)
        return -EIO;
    if (fuse_session_mount(fs->se, fs->mountpoint)) {
        fuse_session_destroy(fs->se);
        fs->se = NULL;
        return -EIO;
    }
    return 0;
}

static struct fs *fs_new(const struct fs_backend *b, const struct fs_options *o)
{
    struct fs *fs = calloc(1, sizeof *fs);
    if (!fs)
        return NULL;
    fs->b = *b;
    fs->opt = *o;
    if (fs->opt.max_threads < 1)
        fs->opt.max_threads = 1;
    fs->partial.max = fs->opt.partial_max;
    fs->root_fd = -1;
    fs->uid = getuid();
    fs->gid = getgid();
    fs->start_ms = clock_wall_ms();
    pthread_mutex_init(&fs->mu, NULL);
    pthread_mutex_init(&fs->flush_mu, NULL);
    pthread_cond_init(&fs->flush_cond, NULL);
    pthread_mutex_init(&fs->open_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&fs->open_cond, &ca);
    pthread_condattr_destroy(&ca);
    fs->opens.prev = fs->opens.next = &fs->opens;
    if (fs_nodes_init(fs)) {
        fs_nodes_release(fs);
        free(fs);
        return NULL;
    }
    return fs;
}

static void fs_free(struct fs *fs)
{
    /* files and directories the kernel never released (open at the end) */
    while (fs->opens.next != &fs->opens) {
        struct fs_open *o = fs->opens.next;
        fs_open_del(fs, o);
        if (o->dir)
            fs_dir_free((struct fs_dirlist *)o);
        else
            fs_handle_free((struct fs_handle *)o);
    }
    fs_nodes_release(fs);
    pthread_mutex_destroy(&fs->mu);
    pthread_mutex_destroy(&fs->flush_mu);
    pthread_cond_destroy(&fs->flush_cond);
    pthread_mutex_destroy(&fs->open_mu);
    pthread_cond_destroy(&fs->open_cond);
    free(fs->mountpoint);
    free(fs);
}

int fs_mount(const struct fs_backend *b, const struct fs_options *o, struct fs **out)
{
    char path[PATH_MAX];
    if (!o->mountpoint || !*o->mountpoint)
        return -EINVAL;
    int rc = prepare_mountpoint(o->mountpoint);
    if (rc)
        return rc;
    struct fs *fs = fs_new(b, o);
    if (!fs)
        return -ENOMEM;
    if (!realpath(o->mountpoint, path) || !(fs->mountpoint = strdup(path))) {
        rc = -errno;
        goto err_free;
    }
    if ((rc = session_mount(fs)))
        goto err_free;
    if ((rc = fs_notify_start(fs)))
        goto err_unmount;
    if ((rc = fs_thread_start(&fs->loop, loop_main, fs)))
        goto err_notify;
    fs->loop_started = true;
    log_info("brook.fs", "Mounted the FUSE view at %s", fs->mountpoint);
    *out = fs;
    return 0;
err_notify:
    fs_notify_stop(fs);
err_unmount:
    fuse_session_unmount(fs->se);
    fuse_session_destroy(fs->se);
err_free:
    fs_free(fs);
    return rc;
}

void fs_open_add(struct fs *fs, struct fs_open *o, bool dir)
{
    o->dir = dir;
    pthread_mutex_lock(&fs->open_mu);
    o->next = &fs->opens;
    o->prev = fs->opens.prev;
    o->prev->next = o;
    fs->opens.prev = o;
    fs->nopen++;
    pthread_mutex_unlock(&fs->open_mu);
}

void fs_open_del(struct fs *fs, struct fs_open *o)
{
    /* o->next is tested under the lock: a neighbour's removal writes it */
    pthread_mutex_lock(&fs->open_mu);
    if (o->next) { /* else never listed */
        o->prev->next = o->next;
        o->next->prev = o->prev;
        o->prev = o->next = NULL;
        if (--fs->nopen == 0)
            pthread_cond_broadcast(&fs->open_cond);
    }
    pthread_mutex_unlock(&fs->open_mu);
}

/* Give open files up to stop_grace_ms to be closed. */
static void wait_closed(struct fs *fs)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + (int64_t)fs->opt.stop_grace_ms * 1000000;
    ts.tv_sec += ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    pthread_mutex_lock(&fs->open_mu);
    while (fs->nopen > 0 && pthread_cond_timedwait(&fs->open_cond, &fs->open_mu, &ts) == 0)
        ;
    pthread_mutex_unlock(&fs->open_mu);
}

/* Look up a name that never exists, so a worker reads one more request, sees the
 * exit flag and ends the loop. Blocks until answered or the connection is gone. */
static void *wake_main(void *arg)
{
    struct fs *fs = arg;
    (void)faccessat(fs->root_fd, FS_STOP_NAME, F_OK, 0);
    return NULL;
}

void fs_stop(struct fs *fs)
{
    pthread_t waker;
    if (!fs)
        return;
    fs_notify_close(fs); /* follow readers get end of file and close */
    wait_closed(fs);
    fs->b.ops->unlisten(fs->b.be, fs_notify_append, fs);
    fs->root_fd = open(fs->mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
    fuse_session_exit(fs->se);
    /* the wake-up may never be answered (the workers can all leave first): send it
     * from a thread that closing the device below releases */
    bool waking = fs->root_fd >= 0 && fs_thread_start(&waker, wake_main, fs) == 0;
    if (fs->loop_started)
        pthread_join(fs->loop, NULL);
    fs_notify_stop(fs);
    pthread_mutex_lock(&fs->flush_mu);
    while (fs->flushes > 0)
        pthread_cond_wait(&fs->flush_cond, &fs->flush_mu);
    pthread_mutex_unlock(&fs->flush_mu);
    fuse_session_unmount(fs->se); /* closes the device: pending requests fail */
    if (waking)
        pthread_join(waker, NULL);
    if (fs->root_fd >= 0)
        close(fs->root_fd);
    fuse_session_destroy(fs->se);
    log_info("brook.fs", "Unmounted %s", fs->mountpoint);
    if (fs->b_free)
        fs->b_free(fs->b.be);
    fs_free(fs);
}
