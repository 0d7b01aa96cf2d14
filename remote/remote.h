/*
 * remote.h - a remote Kafka-protocol cluster as a backend of the FUSE view
 * (fs/backend.h), through libbrook: what `brook mount` shows. The one public
 * header of remote/.
 *
 * The cluster has no journal of append order and no byte positions, so this
 * backend keeps its own: an index from byte positions of each stream to the
 * offsets that hold them, built as reads and the watcher advance, kept on local
 * disk under a bounded cache directory and trimmed when the cluster's log start
 * moves (docs/fuse.md, "Remote mode").
 */
#ifndef BROOK_REMOTE_REMOTE_H
#define BROOK_REMOTE_REMOTE_H

#include <stddef.h>
#include <stdint.h>

struct fs_backend;

struct remote_options {
    const char *brokers;     /* bootstrap.servers */
    const char *const *conf; /* client settings, "key=value" each, n_conf of them */
    size_t n_conf;
    const char *cache_dir;   /* where indexes are kept (created when missing) */
    int64_t cache_max_bytes; /* bound on the cache directory's index files */
    int timeout_ms;          /* admin calls and reads that wait for the cluster */
    const char *group;       /* follow files read and commit as this consumer group, or NULL */
};

/* Reach the cluster (metadata once, to fail early and clearly) and fill b with
 * the backend. 0, or an error with a one-line reason in why (size n). */
int remote_open(const struct remote_options *o, struct fs_backend *b, char *why, size_t n);

/* Flush what is queued (up to the delivery timeout), stop the backend's threads
 * and free it. After the view is unmounted. */
void remote_close(struct fs_backend *b);

#endif
