/*
 * fileio.h - whole-file helpers built on the sysio seam.
 *
 * Small files (configuration, checkpoints, markers) are replaced crash-safely:
 * write a temporary file, fsync it, rename it over the old one, fsync the
 * directory. After a crash either the old or the new content is there, never a mix.
 */
#ifndef BROOK_LIB_FILEIO_H
#define BROOK_LIB_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Read a whole file of at most max bytes into a new NUL-terminated buffer (caller
 * frees). 0, -EFBIG when larger than max, or -errno. */
int file_read_all(const char *path, size_t max, char **out, size_t *len);

/* Replace path with n bytes atomically (tmp + fsync + rename + dir fsync). */
int file_write_atomic(const char *path, const void *p, size_t n);

/* fsync the directory that contains path (or path itself when is_dir). */
int dir_fsync(const char *path, int is_dir);

/* Write all n bytes at off, retrying short writes and EINTR. 0 or -errno. */
int file_pwrite_all(int fd, const void *p, size_t n, off_t off);

/* Read exactly n bytes at off; -ENODATA if the file ends first. 0 or -errno. */
int file_pread_all(int fd, void *p, size_t n, off_t off);

/* mkdir -p with mode 0755; 0 or -errno. */
int dir_make(const char *path);

/* rm -r of a directory holding only files (a partition directory). 0 or -errno. */
int dir_remove_files(const char *path);

#endif
