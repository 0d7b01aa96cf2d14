/*
 * private.h - remote/'s internal structures, shared by its sources and tests.
 *
 *   remote.c  clients, the namespace (metadata), creating and deleting topics,
 *             the producer and its durability waits, the watcher, the ops table
 *   index.c   the per-topic index: byte positions -> offsets, on disk, synced
 *             with the cluster (log start and end)
 *   read.c    readers of streams and records files
 *   group.c   the consumer group of follow files: committed offsets, commits
 *
 * Locking, outermost first: topic.imu (one sync at a time), remote.admin_mu,
 * topic.mu (the index), remote.mu (the topic table, the listener), remote.pmu
 * (the producer), remote.gmu (group commits: taken alone). Every libbrook client is used under one
 * mutex or by one thread.
 */
#ifndef BROOK_REMOTE_PRIVATE_H
#define BROOK_REMOTE_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/brook.h"
#include "fs/backend.h"
#include "remote/remote.h"

#define RT_ENTRY_BYTES (1 << 20) /* an index entry covers at most this many stream bytes */
#define RT_MD_MS       1000      /* topic list refreshed at most this often */
#define RT_IDLE_MS     2000      /* a sync gives up after this long without progress */
#define RT_MAGIC       "BROOKIX1"
#define RT_FETCHERS    4    /* partitions a reader reads at once (topic files) */
#define RT_MIN_ENTRIES 4096 /* a topic's index may always hold this many entries */

/* One index entry: a run of offsets [first, end) of one partition whose values
 * (plus one newline each) are bytes long and start at tpos in the topic file
 * and ppos in the partition's stream. Stored as is in the index file. */
struct rt_entry {
    int32_t partition;
    int32_t unused;
    int64_t first, end;
    int64_t bytes;
    int64_t tpos, ppos;
};

struct rt_part {
    int64_t indexed;   /* offsets below this are indexed */
    int64_t pbytes;    /* the partition stream's size so far */
    int64_t last_ms;   /* last time the index grew here (mtime) */
    int64_t log_start; /* the cluster's log start at the last sync */
    int64_t *ents;     /* entry numbers of this partition, ascending */
    size_t n, cap;
    /* producer state (remote.pmu) */
    int64_t queued; /* records queued to it through the view */
    int64_t acked;  /* of those, delivery reports received (in order) */
    int64_t failed; /* the newest failed record's number, not yet reported */
};

struct fs_btopic {
    struct remote *r;
    _Atomic int refs;
    char *name;
    uint8_t id[16];
    int32_t nparts;
    bool gone;    /* no longer in the cluster (remote.mu) */
    bool watch;   /* the view looked at it: the watcher should follow it (remote.mu) */
    bool watched; /* the watcher has it (remote.mu) */

    pthread_mutex_t imu;     /* one sync at a time */
    struct brook_client *ic; /* the indexer, assigned from each partition's indexed */
    _Atomic bool synced;     /* one full sync done */

    pthread_mutex_t mu;   /* the index below */
    struct rt_entry *ent; /* entries base .. base+n-1 */
    size_t n, cap;
    int64_t base;   /* number of ent[0] */
    int64_t tbytes; /* the topic file's size so far */
    struct rt_part *parts;
    int fd; /* the index file, -1 when the cache is off */
    struct fs_btopic *next;
};

/* A durability wait of one handle (remote.pmu). */
struct rt_waiter {
    struct fs_btopic *t;
    int32_t partition;
    int64_t token;
    fs_backend_done *done;
    void *arg;
    struct rt_waiter *next;
};

struct remote {
    struct remote_options opt;
    int fetch_wait_ms; /* fetch.max.wait.ms of the indexers and readers */
    char **conf;       /* copies of opt.conf */
    char *brokers, *cache_dir;
    char *group;         /* --group: follow files start at its offsets and commit to it */
    bool reset_earliest; /* auto.offset.reset of the group, when it has no offset */

    pthread_mutex_t admin_mu;
    struct brook_client *admin;

    pthread_mutex_t mu;
    struct fs_btopic *topics;
    int64_t listed_ms;
    uint32_t generation; /* makes topic ids: a topic seen again gets a new one */
    fs_backend_listener *cb;
    void *cb_arg;

    pthread_mutex_t pmu;
    struct brook_client *prod;
    struct rt_waiter *waiters;
    int wake[2]; /* the producer thread's wake-up pipe */
    pthread_t pthread;
    bool pthread_started;

    /* --group: follow readers' slots and the committer (group.c) */
    pthread_mutex_t gmu;
    pthread_cond_t gcond; /* a slot stopped being busy; the committer's wake-up */
    struct rt_gslot *gslots;
    pthread_t gthread;
    bool gthread_started, gready;

    pthread_t wthread; /* the watcher */
    bool wthread_started;
    _Atomic bool stopping;
};

/* ---- remote.c ---- */

/* A new client with the user's settings plus extra ("key", "value", ...,
 * NULL). 0 or an error. */
int rt_client(struct remote *r, const char *const *extra, struct brook_client **out);
/* The extra settings of every client that reads records (indexers, readers):
 * read_committed, from the log start, no commits, prompt long polls. */
extern const char *const rt_fetch_conf[];
/* Hold / drop a topic reference. */
void rt_topic_hold(struct fs_btopic *t);
void rt_topic_drop(struct fs_btopic *t);
/* Start a thread with every signal blocked. 0 or an error. */
int rt_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);
/* Errors of libbrook as the view's errnos (negative). */
int rt_errno(int err);

/* ---- index.c ---- */

/* Load t's index from the cache directory (a missing or foreign file is an
 * empty index). */
void rt_index_load(struct fs_btopic *t);
void rt_index_free(struct fs_btopic *t);
/* Bring t's index up to the cluster's end (at most want bytes past what is
 * indexed when want >= 0, else all): log start corrections, then new records.
 * 0 or an error (the index keeps what it had). */
int rt_sync(struct fs_btopic *t, int64_t want);
/* The size of the topic (partition -1) or partition stream so far (t.mu). */
int64_t rt_size(struct fs_btopic *t, int32_t partition);
/* The entry holding position pos of the stream, or the first one after it:
 * 1 with *e and *num set, 0 when pos is at or past the end (t.mu). */
int rt_find(struct fs_btopic *t, int32_t partition, int64_t pos, struct rt_entry *e, int64_t *num);
/* Keep the cache directory under its bound: drop the oldest index files. */
void rt_cache_trim(struct remote *r);

/* ---- group.c ---- */

/* The offset r's group committed for topic's partition: 0 with *off set (-1
 * when nothing is committed), or an error. */
int rt_group_committed(struct remote *r, const char *topic, int32_t partition, int64_t *off);
/* A follow reader of partition joins the commits (committed: where it began,
 * -1 when nothing was committed); it says what it took with rt_group_took and
 * leaves (committing what is left) when closed. */
struct rt_gslot;
int rt_group_join(struct remote *r, struct fs_btopic *t, int32_t partition, int64_t committed,
                  struct rt_gslot **out);
void rt_group_took(struct remote *r, struct rt_gslot *s, int64_t offset);
void rt_group_leave(struct remote *r, struct rt_gslot *s);
/* Start the committer (when r has a group); stop it and free what is left. */
int rt_group_start(struct remote *r);
void rt_group_stop(struct remote *r);

/* ---- read.c ---- */

int rt_reader_open(void *be, struct fs_btopic *t, int32_t partition, bool records, void **cache,
                   struct fs_breader **out);
ssize_t rt_reader_read(struct fs_breader *rd, int64_t off, uint8_t *buf, size_t size);
bool rt_reader_at_end(struct fs_breader *rd, int64_t off);
void rt_reader_close(struct fs_breader *rd);
int rt_reader_follow(struct fs_breader *rd);

#endif
