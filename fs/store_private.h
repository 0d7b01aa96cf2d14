/*
 * store_private.h - the store backend of fs/ (store_backend.c, stream.c,
 * records.c): how brookd's own store renders as the view's streams. Shared by
 * those sources and the unit tests only.
 */
#ifndef BROOK_FS_STORE_PRIVATE_H
#define BROOK_FS_STORE_PRIVATE_H

#include "fs/private.h"
#include "store/store.h"

/* The store as a backend of the view (backend.h): ops with be = the returned
 * state, which fs_store_backend_free releases. NULL when out of memory. */
extern const struct fs_backend_ops fs_store_ops;
void *fs_store_backend_new(struct store *s);
void fs_store_backend_free(void *be);

/* ---- stream.c: rendering streams ---- */

struct fs_anchor {
    int64_t pos;  /* stream position where the entry starts */
    int64_t jidx; /* its journal index */
};

/* Per partition: every 64th journal entry (or one each 4096 entries of the
 * whole journal), so a partition position is found by a binary search and a
 * short forward scan. */
struct fs_anchors {
    struct fs_anchor *v;
    size_t n, cap;
    int64_t since; /* entries of the partition since the last anchor */
};

/* A topic's partition anchors, built on first use and extended as it grows. */
struct fs_jindex {
    pthread_mutex_t mu;
    bool built;
    int64_t first_kept; /* journal's first kept entry when built */
    int64_t scanned;    /* entries below this are indexed */
    struct fs_anchors *parts;
    int32_t nparts;
};

void fs_jindex_init(struct fs_jindex *jx);
void fs_jindex_release(struct fs_jindex *jx);

/* A walk through one partition's batches, kept between slots: a reader going
 * forward finds the next slot's batch in what the cursor has buffered. */
struct fs_chunk {
    int32_t partition;       /* -1 when unused */
    struct store_cursor cur; /* opened by the first use */
    struct store_batch at;   /* the batch handed out last, when have */
    bool have;
    uint64_t used; /* last use, for eviction */
};

/* One journal entry seen as a range of stream positions. */
struct fs_slot {
    int64_t jidx;
    struct store_journal_entry e;
    int64_t start, len;
};

/*
 * A reader of a topic file or a partition's data/follow: the stream is every
 * record's value plus "\n", in journal order, at positions derived from the
 * journal's running totals. Positions whose records are gone (retention,
 * compaction) hold nothing: a sequential reader skips them, so the kernel's
 * offset (kpos) may trail the stream position (apos) it stands for.
 */
struct fs_stream {
    struct store_topic *t; /* borrowed: the handle holds a reference */
    struct fs_jindex *jx;  /* the topic's anchors (partition streams) */
    int32_t partition;     /* -1 for the topic file */
    int64_t kpos;          /* kernel offset expected next */
    int64_t apos;          /* stream position it stands for */
    struct store_journal_entry jbuf[FS_JBUF];
    int64_t jfirst; /* journal index of jbuf[0] */
    size_t jn;
    bool have_slot;
    struct fs_slot slot;
    bool iter_live; /* it is inside slot's batch */
    struct batch_iter it;
    int64_t ipos;  /* stream position of the current record's first byte */
    bool rec_live; /* rec is the current record */
    struct record rec;
    struct fs_chunk chunks[FS_CHUNKS];
    uint64_t tick;
};

void fs_stream_init(struct fs_stream *st, struct store_topic *t, int32_t partition,
                    struct fs_jindex *jx);
void fs_stream_release(struct fs_stream *st);

/* The stream's size now: value bytes plus one newline per record, ever. */
int64_t fs_stream_size(struct store_topic *t, int32_t partition);

/* Render up to size bytes at kernel offset off into buf. Returns the bytes
 * rendered (0 at the end of the stream) or a negative errno. */
ssize_t fs_stream_read(struct fs_stream *st, int64_t off, uint8_t *buf, size_t size);

/* Whether a read at off would find nothing yet. */
bool fs_stream_at_end(struct fs_stream *st, int64_t off);

/* ---- records.c: JSON lines of a partition ---- */

struct fs_records {
    struct store_topic *t;     /* borrowed; set: every partition in turn (an internal topic) */
    int32_t part;              /* with t: the partition p is */
    struct store_partition *p; /* borrowed */
    int64_t kpos;              /* kernel offset expected next */
    int64_t next;              /* offset of the next record to render */
    struct writer out;         /* rendered, not yet returned from out_off on */
    size_t out_off;
    struct store_cursor cur; /* the batches to render */
};

void fs_records_init(struct fs_records *r, struct store_partition *p);

/* The records of every partition of t, partition 0 first: the topic file of an
 * internal topic. */
void fs_records_init_topic(struct fs_records *r, struct store_topic *t);
void fs_records_release(struct fs_records *r);

/* Render up to size bytes at kernel offset off. Sequential reads continue where
 * the last ended; any other offset renders from the log start. Returns bytes (0
 * at the end) or a negative errno. */
ssize_t fs_records_read(struct fs_records *r, int64_t off, uint8_t *buf, size_t size);

#endif
