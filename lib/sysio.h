/*
 * sysio.h - the fault-injection seam for file-system calls.
 *
 * Every system call the store makes on its data files goes through the table
 * `sysio`, so a test can replace individual entries (write, fdatasync, ...) to
 * return ENOSPC or EIO, drop writes, or count calls - the way SQLite routes its
 * VFS through aSyscall[]. Production code never changes the table.
 *
 * The entries have the libc signatures and conventions (-1 and errno on failure).
 */
#ifndef BROOK_LIB_SYSIO_H
#define BROOK_LIB_SYSIO_H

#include <sys/types.h>

struct sysio_ops {
    int (*open)(const char *path, int flags, mode_t mode);
    int (*close)(int fd);
    ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
    ssize_t (*pread)(int fd, void *buf, size_t n, off_t off);
    int (*fdatasync)(int fd);
    int (*fsync)(int fd);
    int (*ftruncate)(int fd, off_t len);
    int (*rename)(const char *from, const char *to);
    int (*unlink)(const char *path);
    int (*mkdir)(const char *path, mode_t mode);
    int (*rmdir)(const char *path);
    int (*syncfs)(int fd); /* everything written on fd's file system durable */
};

/* The table in use; tests may overwrite entries and must restore them. */
extern struct sysio_ops sysio;

/* The real calls, for restoring and for wrappers that inject only sometimes. */
extern const struct sysio_ops sysio_real;

#endif
