/*
 * backend.h - what the FUSE view needs from a log, so the one view (fs/) can show
 * brookd's own store or a remote Kafka-protocol cluster.
 *
 * The view owns the namespace (inode numbers, nodes, listings), the line
 * assembly of writers, the partitioner's choice for topic files, the FUSE
 * session and the notifier thread. A backend owns everything about the data:
 * which topics exist, how a stream of values renders at a byte position, how
 * lines are appended and when they are durable, and it tells the view when a
 * partition grew. Two implementations: the store (fs/store_backend.c, inside
 * brookd) and a remote cluster over libbrook (remote/, in the brook CLI).
 *
 * Opaque types: each backend defines struct fs_btopic (a counted reference to a
 * live topic), struct fs_breader (an open stream or records reader) and struct
 * fs_bwriter (the lines of one write() on their way to one partition). Errors
 * are negative errnos, or store codes that fs_errno() maps.
 *
 * Threads: every call may come from any FUSE worker or the notifier thread at
 * once, except that one reader or writer is used by one thread at a time (the
 * view holds its handle's mutex). The listener may be called from any thread
 * but must not call back into the view beyond queueing (fs_notify_append does).
 */
#ifndef BROOK_FS_BACKEND_H
#define BROOK_FS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <sys/types.h>

struct fs_btopic;
struct fs_breader;
struct fs_bwriter;

/* What the view needs to know of a topic to name and open its files. */
struct fs_btopic_info {
    const char *name;   /* borrowed from the topic reference */
    uint8_t id[16];     /* a topic deleted and created again gets another id */
    int32_t partitions; /* partition count now */
    size_t line_max;    /* longest line one append may carry */
    bool internal;      /* read-only to the view (names starting with "__") */
    bool json;          /* its topic file, data and follow read as records' JSON lines
                         * (binary values, such as brookd's internal topics') */
};

/* One segment of a partition, for backends that have files to show. */
struct fs_bsegment {
    int64_t base;
    int64_t size[3]; /* .log, .index, .timeindex */
};

/* Called by the backend after a partition of a topic grew. */
typedef void fs_backend_listener(void *arg, const char *topic, int32_t partition);

/* Called once lines are durable (0) or failed for good (an error). */
typedef void fs_backend_done(void *arg, int rc);

struct fs_backend_ops {
    /* ---- namespace ---- */
    /* Names of every topic, NULL-terminated, in one malloc'd block the caller
     * frees with free(); NULL when out of memory. */
    char **(*topic_names)(void *be);
    /* A counted reference to the live topic name, or NULL when there is none. */
    struct fs_btopic *(*topic_get)(void *be, const char *name);
    void (*topic_put)(void *be, struct fs_btopic *t);
    void (*topic_info)(void *be, struct fs_btopic *t, struct fs_btopic_info *out);
    /* Whether name is an internal topic (the view refuses to change those). */
    bool (*name_internal)(const char *name);
    /* Create name with the cluster's defaults; delete it. 0 or an error (-EEXIST,
     * -EINVAL for a bad name, -EPERM when deleting is disabled). */
    int (*topic_create)(void *be, const char *name);
    int (*topic_delete)(void *be, const char *name);
    /* Space of the file system that holds the data (statfs). */
    int (*statfs)(void *be, struct statvfs *sv);

    /* ---- attributes ---- */
    /* Bytes of the stream of the topic (partition -1) or of one partition. */
    int64_t (*stream_size)(void *be, struct fs_btopic *t, int32_t partition);
    /* Time of the last append to a partition (ms since the epoch), 0 unknown. */
    int64_t (*last_append_ms)(void *be, struct fs_btopic *t, int32_t partition);

    /* ---- reading ---- */
    /* Open a reader of the stream of the topic (partition -1) or a partition, or
     * (records) of a partition's JSON lines - or, for a json topic, of every
     * partition's in turn (partition -1). *cache is one pointer per view
     * topic the backend may fill for its own per-topic state; cache_free frees
     * it when the view forgets the topic. */
    int (*reader_open)(void *be, struct fs_btopic *t, int32_t partition, bool records, void **cache,
                       struct fs_breader **out);
    /* Up to size bytes at the kernel's offset off: bytes, 0 at the end, or an
     * error. Sequential readers continue without repeats or gaps. */
    ssize_t (*reader_read)(struct fs_breader *r, int64_t off, uint8_t *buf, size_t size);
    /* Whether a read at off would find nothing yet; off -1 means where the last
     * read ended. */
    bool (*reader_at_end)(struct fs_breader *r, int64_t off);
    void (*reader_close)(struct fs_breader *r);
    /* Called once after reader_open for a follow file (NULL when the backend has
     * nothing to add): a backend reading for a consumer group moves the reader's
     * kernel offset 0 to the group's position. 0 or an error (the open fails). */
    int (*reader_follow)(struct fs_breader *r);
    void (*cache_free)(void *cache);

    /* ---- writing ---- */
    /* Start appending one write()'s lines to partition. */
    int (*writer_open)(void *be, struct fs_btopic *t, int32_t partition, struct fs_bwriter **out);
    /* Add one line; *flushed says every line added before it is now stored. */
    int (*writer_add)(struct fs_bwriter *w, const uint8_t *line, size_t len, bool *flushed);
    /* Store what was added. 0 or an error. */
    int (*writer_flush)(struct fs_bwriter *w);
    /* Free w; *token (when > 0) names what it stored, for when_durable. */
    void (*writer_close)(struct fs_bwriter *w, int64_t *token);
    /* Call done once everything up to token of partition is durable: returns 0
     * (done will be called), 1 (durable already; done is not called) or an error
     * (done is not called). */
    int (*when_durable)(void *be, struct fs_btopic *t, int32_t partition, int64_t token,
                        fs_backend_done *done, void *arg);

    /* ---- segment files (NULL when the backend has none) ---- */
    /* The segments of a partition, sorted by base, in a malloc'd *v. */
    int (*segments)(void *be, struct fs_btopic *t, int32_t partition, struct fs_bsegment **v,
                    size_t *n);
    /* Read file kind (0 .log, 1 .index, 2 .timeindex) of segment base; -ENOENT
     * when the segment is gone. */
    ssize_t (*segment_pread)(void *be, struct fs_btopic *t, int32_t partition, int64_t base,
                             int kind, uint8_t *buf, size_t size, int64_t off);

    /* ---- growth ---- */
    int (*listen)(void *be, fs_backend_listener *cb, void *arg);
    void (*unlisten)(void *be, fs_backend_listener *cb, void *arg);
};

/* For backends that render records as the records file does (render.c): bytes
 * as JSON - null when p is NULL (len < 0), a string when UTF-8, else
 * {"base64":"..."}. */
struct writer;
void fs_json_bytes(struct writer *w, const uint8_t *p, int32_t len);

/* A backend: its operations and its state. */
struct fs_backend {
    const struct fs_backend_ops *ops;
    void *be;
};

#endif
