/*
 * fileio.c - whole-file helpers; every call goes through sysio so the fault seam
 * covers configuration and marker files as well as segments.
 */
#include "lib/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/sysio.h"

int file_read_all(const char *path, size_t max, char **out, size_t *len)
{
    int fd = sysio.open(path, O_RDONLY, 0);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    char *buf = NULL;
    if (fstat(fd, &st)) {
        rc = -errno;
        goto out_close;
    }
    if ((size_t)st.st_size > max) {
        rc = -EFBIG;
        goto out_close;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = -ENOMEM;
        goto out_close;
    }
    rc = file_pread_all(fd, buf, (size_t)st.st_size, 0);
    if (rc) {
        free(buf);
        goto out_close;
    }
    buf[st.st_size] = 0;
    *out = buf;
    *len = (size_t)st.st_size;
out_close:
    sysio.close(fd);
    return rc;
}

int file_pwrite_all(int fd, const void *p, size_t n, off_t off)
{
    const char *c = p;
    while (n) {
        ssize_t w = sysio.pwrite(fd, c, n, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        c += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

int file_pread_all(int fd, void *p, size_t n, off_t off)
{
    char *c = p;
    while (n) {
        ssize_t r = sysio.pread(fd, c, n, off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -ENODATA;
        c += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

int dir_fsync(const char *path, int is_dir)
{
    char dir[PATH_MAX];
    if (is_dir) {
        if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
            return -ENAMETOOLONG;
    } else {
        const char *slash = strrchr(path, '/');
        if (!slash)
            strcpy(dir, ".");
        else if ((size_t)(slash - path) >= sizeof dir)
            return -ENAMETOOLONG;
        else if (slash == path)
            strcpy(dir, "/");
        else
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    }
    int fd = sysio.open(dir, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return -errno;
    int rc = sysio.fsync(fd) ? -errno : 0;
    sysio.close(fd);
    return rc;
}

int file_write_atomic(const char *path, const void *p, size_t n)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = sysio.open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -errno;
    int rc = file_pwrite_all(fd, p, n, 0);
    if (!rc && sysio.fsync(fd))
        rc = -errno;
    sysio.close(fd);
    if (!rc && sysio.rename(tmp, path))
        rc = -errno;
    if (rc) {
        sysio.unlink(tmp);
        return rc;
    }
    return dir_fsync(path, 0);
}

int dir_make(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -ENAMETOOLONG;
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (sysio.mkdir(buf, 0755) && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    if (sysio.mkdir(buf, 0755) && errno != EEXIST)
        return -errno;
    return 0;
}

int dir_remove_files(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    int rc = 0;
    struct dirent *e;
    char file[PATH_MAX];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (snprintf(file, sizeof file, "%s/%s", path, e->d_name) >= (int)sizeof file) {
            rc = -ENAMETOOLONG;
            continue;
        }
        if (sysio.unlink(file) && errno != ENOENT)
            rc = -errno;
    }
    closedir(d);
    if (!rc && sysio.rmdir(path) && errno != ENOENT)
        rc = -errno;
    return rc;
}
