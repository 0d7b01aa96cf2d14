/*
 * faultd.c - brookd whose file-system calls a test can make fail while it runs.
 *
 * This is brookd's own main (broker/main.c, compiled as brookd_main) behind the
 * store's fault seam (lib/sysio.h): before brookd starts, every entry of the sysio
 * table is replaced by a wrapper that consults a control file and either fails
 * the call with an errno or passes it on to the real one.
 *
 * The control file is named by $BROOK_FAULTS (no variable: no faults ever). It
 * holds one rule per line; blank lines and lines starting with '#' are ignored:
 *
 *     CALL ERRNO [MATCH]
 *
 *   CALL   open, pwrite, pread, fdatasync, fsync, ftruncate, rename, unlink, mkdir
 *          or rmdir
 *   ERRNO  ENOSPC, EIO, EDQUOT, EROFS, EFBIG, EACCES, EMFILE or ENFILE
 *   MATCH  fail only calls on paths that contain MATCH; for calls on a descriptor,
 *          the path it names now (/proc/self/fd). Without it, every path.
 *
 * for example "pwrite ENOSPC .log" (a full disk under the segments) or
 * "fdatasync EIO orders-0/" (one partition's disk fails a flush). A missing or
 * empty file clears every fault. A pwrite that is to fail writes half of its
 * bytes first and returns that short count, as a filling disk does; the call for
 * the rest then writes half again, down to one byte, which fails.
 *
 * Every wrapped call stat()s the file and reloads it when its inode, size or
 * modification time changed, so a rule holds for every call that starts after
 * the file was replaced. Replace it atomically (write a temporary file, rename it
 * over the control file) so that no call reads half a rule set. Each injected
 * failure is logged to stderr as "faultd: CALL PATH: ERRNO" (at most 100 lines
 * per rule set), so a test can tell that its fault really hit.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/sysio.h"

int brookd_main(int argc, char **argv);

enum call {
    C_OPEN,
    C_PWRITE,
    C_PREAD,
    C_FDATASYNC,
    C_FSYNC,
    C_FTRUNCATE,
    C_RENAME,
    C_UNLINK,
    C_MKDIR,
    C_RMDIR,
    C_COUNT
};

static const char *const call_names[C_COUNT] = {
    "open",      "pwrite", "pread",  "fdatasync", "fsync",
    "ftruncate", "rename", "unlink", "mkdir",     "rmdir",
};

static const struct {
    const char *name;
    int err;
} errnos[] = {
    {"ENOSPC", ENOSPC}, {"EIO", EIO},       {"EDQUOT", EDQUOT}, {"EROFS", EROFS},
    {"EFBIG", EFBIG},   {"EACCES", EACCES}, {"EMFILE", EMFILE}, {"ENFILE", ENFILE},
};

#define MAX_RULES  32
#define MAX_LOGGED 100

struct rule {
    enum call call;
    int err;
    char match[256]; /* "" matches every path */
};

static struct {
    pthread_mutex_t mu;
    const char *path; /* the control file, or NULL */
    struct stat seen; /* the file as last loaded (st_ino 0: none) */
    struct rule rules[MAX_RULES];
    int n;
    int logged; /* failures logged for this rule set */
} ctl = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const char *errno_name(int err)
{
    for (size_t i = 0; i < sizeof errnos / sizeof *errnos; i++)
        if (errnos[i].err == err)
            return errnos[i].name;
    return "?";
}

/* Parse one line into r; 0, 1 for a line with no rule, or -1 when it is bad. */
static int parse_rule(char *line, struct rule *r)
{
    char *save = NULL, *call = strtok_r(line, " \t\r\n", &save);
    if (!call || call[0] == '#')
        return 1;
    char *err = strtok_r(NULL, " \t\r\n", &save), *match = strtok_r(NULL, " \t\r\n", &save);
    int c = 0;
    while (c < C_COUNT && strcmp(call_names[c], call))
        c++;
    size_t e = 0;
    while (err && e < sizeof errnos / sizeof *errnos && strcmp(errnos[e].name, err))
        e++;
    if (c == C_COUNT || !err || e == sizeof errnos / sizeof *errnos ||
        (match && strlen(match) >= sizeof r->match) || strtok_r(NULL, " \t\r\n", &save))
        return -1;
    *r = (struct rule){(enum call)c, errnos[e].err, ""};
    if (match)
        snprintf(r->match, sizeof r->match, "%s", match);
    return 0;
}

/* Reload the rules if the control file changed; ctl.mu held. Reads go straight to
 * libc, never through the seam. */
static void reload(void)
{
    struct stat st;
    if (stat(ctl.path, &st))
        memset(&st, 0, sizeof st);
    if (st.st_ino == ctl.seen.st_ino && st.st_size == ctl.seen.st_size &&
        st.st_mtim.tv_sec == ctl.seen.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == ctl.seen.st_mtim.tv_nsec)
        return;
    ctl.seen = st;
    ctl.n = 0;
    ctl.logged = 0;
    FILE *f = st.st_ino ? fopen(ctl.path, "re") : NULL;
    if (!f) {
        fprintf(stderr, "faultd: no faults\n");
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char copy[512];
        snprintf(copy, sizeof copy, "%s", line);
        struct rule r;
        int rc = parse_rule(line, &r);
        if (rc < 0)
            fprintf(stderr, "faultd: ignoring a bad rule: %s", copy);
        else if (rc == 0 && ctl.n < MAX_RULES)
            ctl.rules[ctl.n++] = r;
    }
    fclose(f);
    fprintf(stderr, "faultd: %d rule(s) in force\n", ctl.n);
}

/* The errno this call on path must fail with, or 0 to let it through. */
static int fault_for(enum call c, const char *path)
{
    if (!ctl.path)
        return 0;
    pthread_mutex_lock(&ctl.mu);
    reload();
    int err = 0;
    for (int i = 0; i < ctl.n && !err; i++)
        if (ctl.rules[i].call == c && (!ctl.rules[i].match[0] || strstr(path, ctl.rules[i].match)))
            err = ctl.rules[i].err;
    if (err && ctl.logged < MAX_LOGGED) {
        ctl.logged++;
        fprintf(stderr, "faultd: %s %s: %s\n", call_names[c], path, errno_name(err));
    }
    pthread_mutex_unlock(&ctl.mu);
    return err;
}

/* The path a descriptor names now, in buf. */
static const char *fd_path(int fd, char *buf, size_t size)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buf, size - 1);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

#define FAIL_IF(call, path)                                                                        \
    do {                                                                                           \
        int err_ = fault_for(call, path);                                                          \
        if (err_) {                                                                                \
            errno = err_;                                                                          \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static int f_open(const char *path, int flags, mode_t mode)
{
    FAIL_IF(C_OPEN, path);
    return sysio_real.open(path, flags, mode);
}

static int f_close(int fd)
{
    return sysio_real.close(fd);
}

static ssize_t f_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    char path[4096];
    int err = fault_for(C_PWRITE, fd_path(fd, path, sizeof path));
    if (!err)
        return sysio_real.pwrite(fd, buf, n, off);
    if (n > 1) /* a filling disk takes part of it first */
        return sysio_real.pwrite(fd, buf, n / 2, off);
    errno = err;
    return -1;
}

static ssize_t f_pread(int fd, void *buf, size_t n, off_t off)
{
    char path[4096];
    FAIL_IF(C_PREAD, fd_path(fd, path, sizeof path));
    return sysio_real.pread(fd, buf, n, off);
}

static int f_fdatasync(int fd)
{
    char path[4096];
    FAIL_IF(C_FDATASYNC, fd_path(fd, path, sizeof path));
    return sysio_real.fdatasync(fd);
}

static int f_fsync(int fd)
{
    char path[4096];
    FAIL_IF(C_FSYNC, fd_path(fd, path, sizeof path));
    return sysio_real.fsync(fd);
}

static int f_ftruncate(int fd, off_t len)
{
    char path[4096];
    FAIL_IF(C_FTRUNCATE, fd_path(fd, path, sizeof path));
    return sysio_real.ftruncate(fd, len);
}

static int f_rename(const char *from, const char *to)
{
    FAIL_IF(C_RENAME, from);
    return sysio_real.rename(from, to);
}

static int f_unlink(const char *path)
{
    FAIL_IF(C_UNLINK, path);
    return sysio_real.unlink(path);
}

static int f_mkdir(const char *path, mode_t mode)
{
    FAIL_IF(C_MKDIR, path);
    return sysio_real.mkdir(path, mode);
}

static int f_rmdir(const char *path)
{
    FAIL_IF(C_RMDIR, path);
    return sysio_real.rmdir(path);
}

int main(int argc, char **argv)
{
    const char *path = getenv("BROOK_FAULTS");
    ctl.path = path && *path ? path : NULL;
    sysio = (struct sysio_ops){
        .open = f_open,
        .close = f_close,
        .pwrite = f_pwrite,
        .pread = f_pread,
        .fdatasync = f_fdatasync,
        .fsync = f_fsync,
        .ftruncate = f_ftruncate,
        .rename = f_rename,
        .unlink = f_unlink,
        .mkdir = f_mkdir,
        .rmdir = f_rmdir,
    };
    return brookd_main(argc, argv);
}
