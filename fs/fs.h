/*
 * fs.h - the FUSE view of a log (brookd's store, or a remote cluster through a
 * backend, fs/backend.h): every topic is an append-only file of its
 * record values, one per line, and every partition a directory with its stream,
 * a follow-able copy of it, a JSON rendering and the real segment files
 * (docs/fuse.md). The one public header of fs/.
 *
 * The view runs inside the process that owns the log: fs_start() mounts it over
 * a store (brookd), fs_mount() over any backend (brook mount); either
 * starts its own threads (a small multithreaded FUSE loop and a notifier that
 * tells the kernel about appends); fs_stop() unmounts and joins them. Nothing here
 * touches signals: callers keep SIGTERM/SIGINT for themselves.
 */
#ifndef BROOK_FS_FS_H
#define BROOK_FS_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/auth.h"

struct store;
struct fs;
struct fs_backend;

struct fs_options {
    const char *mountpoint; /* directory to mount on; created when missing */
    int max_threads;        /* most FUSE worker threads (default 8) */
    bool allow_other;       /* let other users in (needs user_allow_other) */
    double timeout_s;       /* attribute and entry cache lifetime (default 3600 s) */
    int stop_grace_ms;      /* how long fs_stop lets open files finish (default 1000) */
    size_t partial_max;     /* bytes all partial lines together may hold (default 64 MiB) */
    bool read_only;         /* refuse every change with EROFS (brook mount --read-only) */
    /* Whether the mount's principal may do op on a topic (type AUTH_RES_TOPIC, name
     * the topic's) or on the cluster; NULL: everything is allowed. Asked from the
     * FUSE threads: it must be thread-safe (auth_authorize is). */
    bool (*may)(void *arg, enum auth_op op, enum auth_resource type, const char *name);
    void *may_arg;
    /* Told of every batch of lines the mount appended to brookd's store (records
     * and batch bytes), from a FUSE thread, so that the daemon counts them with
     * its producers' (fs_start only; NULL: nobody is told). */
    void (*appended)(void *arg, const char *topic, int64_t records, int64_t bytes);
    void *appended_arg;
};

/* Defaults: no mountpoint, 8 threads, owner only, 3600 s timeouts, 1 s grace,
 * 64 MiB of partial lines, no access check. */
void fs_options_defaults(struct fs_options *o);

/*
 * Mount the view of s at o->mountpoint and serve it until fs_stop(). A stale mount
 * left there by a crashed process ("Transport endpoint is not connected") is
 * detached first. Returns once the mount exists: 0 with *out set, or a negative
 * errno (-ENOTDIR, -EIO when libfuse refuses the mount, ...). s must outlive the
 * view; the options are copied.
 */
int fs_start(struct store *s, const struct fs_options *o, struct fs **out);

/*
 * Mount the view of any backend (fs/backend.h), as fs_start() does for the
 * store: the same layout and rules, with whatever the backend can show. b is
 * copied; its state (b->be) must outlive the view and stays the caller's.
 */
int fs_mount(const struct fs_backend *b, const struct fs_options *o, struct fs **out);

/* Take the view down: readers waiting in a follow file get end of file at once,
 * open files get up to stop_grace_ms to be closed, then the session ends and the
 * mount goes (files still open then get ENOTCONN). Joins every thread and frees
 * f. f may be NULL. */
void fs_stop(struct fs *f);

#endif
