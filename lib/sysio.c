/*
 * sysio.c - the default (real) system-call table, and the table in use, which
 * starts out as a copy of it.
 */
#include "lib/sysio.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int real_open(const char *path, int flags, mode_t mode)
{
    return open(path, flags | O_CLOEXEC, mode);
}

#define REAL_OPS                                                                                   \
    {                                                                                              \
        .open = real_open, .close = close, .pwrite = pwrite, .pread = pread,                       \
        .fdatasync = fdatasync, .fsync = fsync, .ftruncate = ftruncate, .rename = rename,          \
        .unlink = unlink, .mkdir = mkdir, .rmdir = rmdir, .syncfs = syncfs,                        \
    }

const struct sysio_ops sysio_real = REAL_OPS;
struct sysio_ops sysio = REAL_OPS;
