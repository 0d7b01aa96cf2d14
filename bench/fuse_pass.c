/*
 * fuse_pass.c - a trivial passthrough FUSE filesystem: the yardstick for the cost
 * that FUSE itself adds, so brook's FUSE figures can be read as "brook's view
 * costs this much more than any FUSE filesystem would".
 *
 *   fuse_pass SRCDIR MOUNTPOINT
 *
 * It shows the regular files directly inside SRCDIR (no subdirectories, no
 * listing) and passes open, read, write and release straight to them: read is
 * pread() into a buffer answered with fuse_reply_buf (brook's view also renders
 * into a buffer), write goes to an O_APPEND descriptor the way `echo >>` opens
 * it. It runs with the settings brook's view uses where they matter: the
 * low-level API, libfuse's multithreaded loop (8 workers at most), writeback
 * cache off; attributes and entries are cached for 1 s, and the kernel's page
 * cache is dropped at each open, so every `cat` reaches this process.
 *
 * It stays in the foreground; SIGTERM/SIGINT unmount and end it (exit 0). Inode
 * numbers index a small table of names, filled by LOOKUP and never shrunk: the
 * benchmark touches a handful of files.
 */
#define FUSE_USE_VERSION 34
#include <dirent.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.h"

#define MAX_NODES 64
#define TIMEOUT_S 1.0

static int src_fd;             /* the source directory */
static char *names[MAX_NODES]; /* inode i + 2 is names[i] */
static int n_names;            /* names used */
static pthread_mutex_t names_mu = PTHREAD_MUTEX_INITIALIZER;

/* The inode for name, adding it if new; 0 when the table is full. */
static fuse_ino_t ino_of(const char *name)
{
    fuse_ino_t ino = 0;
    pthread_mutex_lock(&names_mu);
    for (int i = 0; i < n_names && !ino; i++)
        if (!strcmp(names[i], name))
            ino = (fuse_ino_t)i + 2;
    if (!ino && n_names < MAX_NODES && (names[n_names] = strdup(name)))
        ino = (fuse_ino_t)n_names++ + 2;
    pthread_mutex_unlock(&names_mu);
    return ino;
}

/* The name of a file inode, or NULL for the root and unknown numbers. */
static const char *name_of(fuse_ino_t ino)
{
    pthread_mutex_lock(&names_mu);
    const char *n = ino >= 2 && ino < (fuse_ino_t)n_names + 2 ? names[ino - 2] : NULL;
    pthread_mutex_unlock(&names_mu);
    return n;
}

/* stat of inode ino with st_ino set to it. 0 or -errno. */
static int stat_of(fuse_ino_t ino, struct stat *st)
{
    const char *name = name_of(ino);
    int rc = name ? fstatat(src_fd, name, st, AT_SYMLINK_NOFOLLOW) : fstat(src_fd, st);
    if (rc)
        return -errno;
    if (ino != FUSE_ROOT_ID && !S_ISREG(st->st_mode))
        return -ENOENT;
    st->st_ino = ino;
    return 0;
}

static void pass_init(void *userdata, struct fuse_conn_info *conn)
{
    conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
}

static void pass_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fuse_entry_param e = {.attr_timeout = TIMEOUT_S, .entry_timeout = TIMEOUT_S};
    fuse_ino_t ino = parent == FUSE_ROOT_ID && !strchr(name, '/') ? ino_of(name) : 0;
    int rc = ino ? stat_of(ino, &e.attr) : -ENOENT;
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    e.ino = ino;
    fuse_reply_entry(req, &e);
}

static void pass_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct stat st;
    int rc = stat_of(ino, &st);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, TIMEOUT_S);
}

static void pass_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    const char *name = name_of(ino);
    int fd = name ? openat(src_fd, name, fi->flags & ~(O_CREAT | O_NOFOLLOW)) : -1;
    if (fd < 0) {
        fuse_reply_err(req, name ? errno : EISDIR);
        return;
    }
    fi->fh = (uint64_t)fd;
    fi->keep_cache = 0;
    fuse_reply_open(req, fi);
}

static void pass_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
    char *buf = malloc(size ? size : 1);
    ssize_t n = buf ? pread((int)fi->fh, buf, size, off) : -1;
    if (n < 0)
        fuse_reply_err(req, buf ? errno : ENOMEM);
    else
        fuse_reply_buf(req, buf, (size_t)n);
    free(buf);
}

static void pass_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    bool append = fi->flags & O_APPEND;
    ssize_t n = append ? write((int)fi->fh, buf, size) : pwrite((int)fi->fh, buf, size, off);
    if (n < 0)
        fuse_reply_err(req, errno);
    else
        fuse_reply_write(req, (size_t)n);
}

static void pass_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    fuse_reply_err(req, 0);
}

static void pass_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    close((int)fi->fh);
    fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops pass_ops = {
    .init = pass_init,
    .lookup = pass_lookup,
    .getattr = pass_getattr,
    .open = pass_open,
    .read = pass_read,
    .write = pass_write,
    .flush = pass_flush,
    .release = pass_release,
};

/* Mount, serve until a signal, unmount. 0 or -1. */
static int serve(struct fuse_args *args, const char *mnt)
{
    int rc = -1;
    struct fuse_session *se = fuse_session_new(args, &pass_ops, sizeof pass_ops, NULL);
    if (!se)
        return -1;
    if (fuse_set_signal_handlers(se))
        goto out_session;
    if (fuse_session_mount(se, mnt))
        goto out_signals;
    struct fuse_loop_config *cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, 8);
    rc = fuse_session_loop_mt(se, cfg) < 0 ? -1 : 0;
    fuse_loop_cfg_destroy(cfg);
    fuse_session_unmount(se);
out_signals:
    fuse_remove_signal_handlers(se);
out_session:
    fuse_session_destroy(se);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fuse_pass SRCDIR MOUNTPOINT\n");
        return 2;
    }
    src_fd = open(argv[1], O_RDONLY | O_DIRECTORY);
    if (src_fd < 0) {
        perror(argv[1]);
        return 1;
    }
    char opt[] = "-o", fsname[] = "fsname=brook-bench-pass";
    char *fargv[] = {argv[0], opt, fsname, NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
    int rc = serve(&args, argv[2]);
    fuse_opt_free_args(&args);
    close(src_fd);
    return rc ? 1 : 0;
}
