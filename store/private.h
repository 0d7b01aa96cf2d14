/*
 * private.h - the store's internal structures, shared by the store/ sources only.
 *
 * Locking, from outermost to innermost (never take an outer lock while holding an
 * inner one):
 *
 *   store.checkpoint_mu one writer of checkpoints and producer snapshots
 *   store.topics_lock   (rwlock) the topic table
 *   partition.append_mu serialises appenders and rolls; held across the write
 *   partition.sync_mu   one flush of the partition at a time; held across its syncs
 *   topic.journal_mu    the topic's journal file
 *   partition.segs_mu   the segment list and each segment's published size/index;
 *                       held only for memory operations, never for I/O
 *   partition.wait_mu   durability waiters and the durable offset
 *   store.config_mu     the topic defaults, held only to copy or replace them
 *   topic.config_mu     a topic's config and overrides, held only to copy them
 *   store.flush_mu      the flusher's dirty list
 *   store.fds.mu        the segment descriptor cache (fdcache.c); innermost
 *
 * The high watermark, log start and durable offsets are also published with
 * atomic stores so that info queries need no lock at all. Every field read on one
 * thread and written on another without a common lock has an _Atomic type; LOAD and
 * STORE below give such a field acquire/release order where a plain access would be
 * sequentially consistent.
 */
#ifndef BROOK_STORE_PRIVATE_H
#define BROOK_STORE_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/hmap.h"
#include "lib/props.h"
#include "store/store.h"

#define SEGMENT_NAME_LEN    20 /* digits of a base offset in a file name */
#define INDEX_ENTRY_SIZE    8  /* .index: relative offset u32, position u32 */
#define TIME_ENTRY_SIZE     12 /* .timeindex: timestamp i64, relative offset u32 */
#define JOURNAL_ENTRY_SIZE  64
#define JOURNAL_HEADER_SIZE 16
#define CLEAN_SHUTDOWN_FILE ".brook_cleanshutdown"
#define TOPICS_DIR          ".topics"
#define STORE_LEADER_EPOCH  0 /* one broker, never a new leader: every batch says 0 */

/* .index entry: the batch starting at `pos` has base offset `base + rel`. */
struct index_entry {
    uint32_t rel;
    uint32_t pos;
};

/* .timeindex entry: batches up to the one with base offset `base + rel` have
 * timestamps <= ts (ts is the largest seen so far). */
struct time_entry {
    int64_t ts;
    uint32_t rel;
};

struct fdcache;

struct segment {
    int64_t base;          /* base offset, the file name */
    struct fdcache *cache; /* the store's descriptor cache */
    const char *dir;       /* the partition's directory (outlives the segment) */
    /* the .log, read-write, or -1 while closed: use it only pinned (fdcache_pin) */
    int fd;         /* (cache mu) */
    int pins;       /* users of fd right now (cache mu) */
    bool doomed;    /* freed while pinned: the last unpin frees it (cache mu) */
    bool keep_open; /* never closed by the cache: its name is not yet its own */
    struct segment *lru_prev, *lru_next; /* open and unpinned (cache mu) */
    bool in_lru;
    int64_t size;        /* bytes of whole batches, published under segs_mu */
    int64_t next_offset; /* offset after the last batch */
    int64_t max_ts;      /* largest batch maxTimestamp, -1 when empty */
    int64_t created_ms;  /* wall time the segment got its first batch */
    int64_t indexed_at;  /* size when the last index entry was added */
    struct index_entry *idx;
    size_t n_idx, cap_idx;
    struct time_entry *tidx;
    size_t n_tidx, cap_tidx;
    bool index_dirty; /* in-memory index differs from the files */
};

/* An appended-but-not-yet-durable point someone waits for. */
struct waiter {
    int64_t end_offset;
    store_done_fn fn;
    void *arg;
    struct waiter *next;
};

/* Idempotent producer state: the last five batches of one producer id. */
#define PRODUCER_BATCHES 5
struct producer_batch {
    int32_t first_seq, last_seq;
    int64_t first_offset, last_offset;
};
struct producer_state {
    int64_t pid;
    int16_t epoch;
    int n;             /* batches remembered (<= 5) */
    int64_t txn_first; /* first offset of its open transaction here, -1: none (txn.c) */
    struct producer_batch b[PRODUCER_BATCHES]; /* b[0] newest */
};

/* An aborted transaction, as a .txnindex entry says it (txn.c). */
struct txn_aborted {
    int64_t pid;
    int64_t first; /* its first offset on the partition */
    int64_t last;  /* its ABORT marker's offset */
    int64_t lso;   /* the last stable offset once it was aborted */
};

struct store_partition {
    struct store_topic *topic;
    int32_t index;
    char *dir; /* <log dir>/<topic>-<index> */

    /* Opened lazily after a clean shutdown (partition_open): until then only the
     * fields above and the checkpoint offsets below are set, and nothing but
     * partition_open and the checkpoint writer may look at the rest. */
    pthread_mutex_t open_mu;
    _Atomic bool opened;
    bool open_failed;         /* said so in the log already (open_mu) */
    int64_t lazy_rp, lazy_co; /* recovery point and cleaner offset from the checkpoints */

    pthread_mutex_t append_mu;
    pthread_mutex_t sync_mu; /* one flush of this partition at a time (flush.c) */
    pthread_mutex_t segs_mu;
    struct segment **segs; /* by base offset; the last one is active */
    size_t nsegs, cap_segs;

    _Atomic int64_t hw; /* next offset */
    _Atomic int64_t log_start;
    _Atomic int64_t size_bytes;
    _Atomic int64_t last_append_ms;

    /* durability (wait_mu) */
    pthread_mutex_t wait_mu;
    pthread_cond_t wait_cond;
    _Atomic int64_t durable; /* everything below is on disk */
    _Atomic int failed;      /* the flush error that stopped it */
    struct waiter *waiters;
    /* base offsets of rolled segments (and the directory) awaiting fdatasync (segs_mu):
     * not descriptors, so that any number of rolls between two flushes holds none */
    int64_t *unsynced;
    size_t n_unsynced, cap_unsynced;
    bool dir_unsynced; /* a file was created in dir (segs_mu) */

    /* flusher bookkeeping (store.flush_mu) */
    bool in_dirty;
    struct store_partition *next_dirty; /* on the pending list */
    struct store_partition *next_round; /* in the round being flushed (flusher only) */

    /* producer state (append_mu) */
    struct producer_state *producers;
    size_t n_producers, cap_producers;
    int64_t producers_at; /* producer state reflects batches below this */
    int64_t snapshot_at;  /* high watermark the snapshot on disk covers (-1: unknown) */

    /* transactions (txn.c): the smallest first offset of an open transaction,
     * INT64_MAX when none is open (written under append_mu, read without it) */
    _Atomic int64_t txn_first;
    /* the .txnindex entries of every segment, in marker order (segs_mu) */
    struct txn_aborted *aborted;
    size_t n_aborted, cap_aborted;

    /* compaction */
    _Atomic int64_t clean_offset; /* first dirty offset (cleaner checkpoint), only grows */

    /* journal totals for this partition (topic.journal_mu) */
    int64_t jrecords, jvalues;
};

struct store_topic {
    struct store *store;
    char *name;
    uint8_t id[16];
    _Atomic int refs;
    _Atomic bool deleted;
    /* config (config_mu): AlterConfigs replaces both while appenders, the cleaner
     * and retention read them; readers copy what they need under the lock */
    pthread_mutex_t config_mu;
    struct props *overrides; /* config overrides as given */
    bool adopted;            /* found without metadata: not written by brook */
    struct topic_config config;

    struct store_partition **_Atomic parts; /* published array; grows by replacement */
    _Atomic int32_t nparts;
    struct store_partition ***retired; /* old arrays, freed with the topic */
    size_t n_retired, cap_retired;

    /* journal (journal_mu) */
    pthread_mutex_t journal_mu;
    int journal_fd;          /* -1: no journal file yet (made with the first entry) */
    bool journal_new;        /* made since its directory was last synced */
    int64_t journal_first;   /* index of the first entry kept in the file */
    int64_t journal_total;   /* entries ever appended */
    int64_t journal_records; /* running totals after the last entry */
    int64_t journal_values;
    _Atomic bool journal_unsynced; /* read by the flusher without journal_mu */
    bool journal_queued;           /* on the flusher's list of journals to sync (flusher) */
};

/* Open segment files, most recently used last (fdcache.c). */
struct fdcache {
    pthread_mutex_t mu;
    struct segment *head, *tail; /* open and unpinned; head is closed first */
    size_t open;                 /* segment files open, pinned or not */
    size_t cap;                  /* more open than this: unpinned ones are closed */
    size_t evictions;            /* files closed to stay under cap or to free one */
};

struct listener {
    store_append_fn fn;
    void *arg;
};

struct store {
    struct store_config config; /* config.topic: the defaults, under config_mu */
    pthread_mutex_t config_mu;
    char *dir;

    pthread_rwlock_t topics_lock;
    struct store_topic **topics; /* sorted by name */
    size_t ntopics, cap_topics;
    struct hmap topics_by_id; /* 16-byte topic id -> the same topics */

    pthread_rwlock_t listen_lock;
    struct listener *listeners;
    size_t nlisteners, cap_listeners;

    /* flusher */
    pthread_mutex_t flush_mu;
    pthread_cond_t flush_cond;
    struct store_partition *dirty; /* partitions with unsynced appends */
    /* journals written by past rounds, synced once appends pause (flusher only) */
    struct store_topic **journals;
    size_t n_journals, cap_journals;
    int64_t journals_since_ms; /* monotonic: the oldest of them was queued */
    bool stopping;
    pthread_t flusher;
    bool flusher_started;

    /* maintenance thread */
    pthread_mutex_t maint_mu;
    pthread_cond_t maint_cond;
    pthread_t maint;
    bool maint_started;
    struct fdcache fds; /* segment files open at once */
    /* segments renamed *.deleted, unlinked when due (retention.c, retired_mu) */
    pthread_mutex_t retired_mu;
    struct retired_segment *retired;
    size_t n_retired, cap_retired;
    pthread_mutex_t checkpoint_mu; /* serialises checkpoint and snapshot writes */
    int lock_fd;                   /* flock on <dir>/.lock */
    _Atomic bool io_failed;        /* a flush failed: the next start recovers */
    bool lazy_partitions;          /* some were left closed at start: run the opener */
    pthread_t opener;
    bool opener_started;
    _Atomic bool opener_stop;
    struct checkpoints *loading;    /* checkpoint files, only while opening */
    struct store_recovery recovery; /* what opening found (filled while loading) */
};

struct writer;

/* ---- ingest.c: the topic's rules for a producer's batch ---- */

/* With CreateTime: STORE_EINVALID_TIMESTAMP when a record's timestamp lies outside
 * message.timestamp.before/after.max.ms of now; else 0 (also for LogAppendTime). */
int ingest_check_timestamps(const uint8_t *batch, size_t len, const struct topic_config *tc,
                            int64_t now);
/* Rebuild a validated batch with `codec` (a compression.type value) into out when
 * its own codec differs: 1 rebuilt, 0 nothing to do, or an error. */
int ingest_recompress(const uint8_t *batch, size_t len, int codec, struct writer *out);
/* Mark the batch log-append-time with maxTimestamp now, and recompute its CRC. */
void ingest_stamp_append_time(uint8_t *batch, size_t len, int64_t now);

/* ---- retention.c: removed segments, kept file.delete.delay.ms ---- */

struct retired_segment {
    char *dir;    /* the partition directory (a copy: the topic may go first) */
    int64_t base; /* its base offset */
    int64_t due;  /* monotonic ms at which its files are unlinked */
};

/* Remove a segment's files now (delay <= 0) or rename them and unlink them
 * delay_ms later. 0 or an errno. */
int store_retire_segment(struct store *s, const char *dir, int64_t base, int64_t delay_ms);
/* Unlink the retired segments due by now (monotonic ms); the next due time, or
 * INT64_MAX when none waits. */
int64_t store_reap_retired(struct store *s, int64_t now);
/* Forget what is still waiting (store_close: the next start unlinks it). */
void store_retired_free(struct store *s);

/* ---- fdcache.c ---- */
/* The default cap: a quarter of RLIMIT_NOFILE after store_fd_reserve(). */
size_t fdcache_default_cap(void);
void fdcache_init(struct fdcache *c, size_t cap); /* cap 0: the default */
void fdcache_destroy(struct fdcache *c);
/* Give a new segment its freshly opened fd, pinned once (fdcache_unpin() when set up). */
void fdcache_adopt(struct segment *seg, struct fdcache *c, const char *dir, int fd);
/* The segment's fd, opened again if it was closed, and kept open until
 * fdcache_unpin(); or a negative errno. */
int fdcache_pin(struct segment *seg);
void fdcache_unpin(struct segment *seg);
/* A duplicate of the segment's fd that the caller owns, or a negative errno; with
 * may_evict, cached files are closed to make room when descriptors run out. */
int fdcache_dup(struct segment *seg, bool may_evict);
/* Close the segment's fd for good (segment_free): true, or false while a pin holds
 * it - then the last fdcache_unpin() closes it and frees the segment. */
bool fdcache_forget(struct segment *seg);
/* Close the unpinned file with the highest descriptor; false when there is none. */
bool fdcache_evict(struct fdcache *c);
/* open(2) / dup that close cached files and retry when descriptors run out. Return
 * the descriptor (O_CLOEXEC) or a negative errno. c may be NULL. */
int fdcache_open_path(struct fdcache *c, const char *path, int flags, mode_t mode);
int fdcache_dup_fd(struct fdcache *c, int fd);
void fdcache_stats(struct fdcache *c, size_t *open, size_t *evictions);

/* ---- segment.c ---- */
int segment_path(char *buf, size_t size, const char *dir, int64_t base, const char *ext);
/* Whether name is exactly what segment_path() makes of a base offset and ext (20
 * digits, then ext); sets *base. Anything else in a partition directory - a sign, a
 * space, fewer or more digits - names no segment. */
bool segment_name_parse(const char *name, const char *ext, int64_t *base);
int segment_create(struct fdcache *c, const char *dir, int64_t base, struct segment **out);
/* Open an existing segment; when scan, validate every batch (CRC), truncate at the
 * first bad one and rebuild the indexes; else trust the files and load indexes. */
/* segment_open flags */
#define SEG_GAPS     1 /* offsets may jump between batches, up to gaps_below (compaction) */
#define SEG_EPOCH    2 /* batches must carry STORE_LEADER_EPOCH (brook wrote them) */
#define SEG_NO_INDEX 4 /* ignore existing index files (adopted from elsewhere) */
/* What segment_open did to a segment: bytes validated batch by batch, bytes cut. */
struct segment_repair {
    int64_t scanned;
    int64_t cut;
};
int segment_open(struct fdcache *c, const char *dir, int64_t base, bool scan, int flags,
                 int64_t gaps_below, int64_t index_interval, struct segment **out,
                 struct segment_repair *rep);
/* Free a segment no longer listed in its partition; a pinned one is freed by its
 * last fdcache_unpin(). */
void segment_free(struct segment *seg);
void segment_free_memory(struct segment *seg); /* what segment_free() frees, fd aside */
int segment_write_indexes(const char *dir, struct segment *seg);
/* Copy bytes [off, off + n) of the encoded .index (or .timeindex) from memory. */
size_t segment_index_copy(const struct segment *seg, bool time, void *buf, size_t n, int64_t off);
int segment_remove_files(const char *dir, int64_t base);
/* file.delete.delay.ms: a removed segment's files are first renamed to
 * <name>.deleted (segment_retire_files), unlinked once the delay has passed
 * (segment_reap_files); segment_reap_leftovers unlinks those a stop left behind. */
#define SEGMENT_DELETED ".deleted"
int segment_retire_files(const char *dir, int64_t base);
int segment_reap_files(const char *dir, int64_t base);
int segment_reap_leftovers(const char *dir);
/* How segment.c grows its index arrays: realloc, or a failing one in tests. */
extern void *(*segment_realloc)(void *p, size_t n);
/* Record a batch at pos: the segment's max_ts and creation time always, and index
 * entries where due; -ENOMEM when an entry could not be added (the index is sparse:
 * lookups then scan from an earlier entry). Caller holds segs_mu or owns seg. */
int segment_note_batch(struct segment *seg, int64_t pos, int64_t base_offset, int64_t max_ts,
                       int64_t batch_size, int64_t index_interval);
/* Largest index position whose batch starts at or before offset. */
int64_t segment_index_lookup(const struct segment *seg, int64_t offset);
/* Read the batch header at pos of fd; 0, -ENODATA at/after end, or error. */
struct batch_header;
int segment_read_header(int fd, int64_t pos, int64_t limit, struct batch_header *h);

/* ---- partition.c ---- */
/* clean_offset: the cleaner checkpoint, or -1 when there is none. Gaps in offsets
 * (compacted topics) must end at or below it or the recovery point; without a
 * cleaner checkpoint they may be anywhere, as in a log written elsewhere. */
int partition_load(struct store_topic *t, int32_t index, bool clean, int64_t recovery_point,
                   int64_t log_start, int64_t clean_offset, struct store_partition **out);
int partition_create(struct store_topic *t, int32_t index, struct store_partition **out);
/* A partition of a cleanly stopped store, to be opened at first use: its checkpoint
 * offsets are kept (and written back by checkpoints while it stays closed). */
int partition_lazy(struct store_topic *t, int32_t index, int64_t recovery_point, int64_t log_start,
                   int64_t clean_offset, struct store_partition **out);
/* Whether a closed partition has no directory yet: one never used since its topic
 * was created (nothing to recover, retain or clean in it). */
bool partition_unmade(const struct store_partition *p);
/* Open a lazy partition now (no-op when open): 0, -ENOENT once its topic is
 * deleted, or the error opening it met. */
int partition_open(struct store_partition *p);
/* The partition at i if it is open, else NULL: for the store's own sweeps
 * (flush at close, retention, the cleaner), which leave closed ones alone. */
struct store_partition *topic_partition_opened(struct store_topic *t, int32_t i);

/* ---- partition_meta.c: Kafka's partition.metadata (the topic id of a directory) ---- */
/* Write dir/partition.metadata naming id (atomically). 0 or -errno. */
int partition_meta_write(const char *dir, const uint8_t id[16]);
/* The same in a partition directory just made, whose creator syncs the directory
 * itself afterwards: the file's bytes are synced, the directory is not. */
int partition_meta_create(const char *dir, const uint8_t id[16]);
/* The id dir/partition.metadata names: 0, -ENOENT, -EBADMSG when it does not parse. */
int partition_meta_read(const char *dir, uint8_t id[16]);
/* At load: 0 when the file names id (written when missing or unreadable), or
 * STORE_ETOPIC_ID_MISMATCH when it names another topic's id. */
int partition_meta_check(const char *dir, const uint8_t id[16]);
void partition_free(struct store_partition *p);
int partition_roll(struct store_partition *p, int64_t now_ms);
void partition_fail(struct store_partition *p, int err);
void partition_complete_waiters(struct store_partition *p);
int partition_delete_segments_below(struct store_partition *p, int64_t offset);

/* ---- producer.c ---- */
int producer_check(struct store_partition *p, const struct batch_header *h,
                   struct store_append *dup);
int producer_record(struct store_partition *p, const struct batch_header *h, int64_t base,
                    int64_t last);
int producer_snapshot_save(struct store_partition *p);
int producer_snapshot_load(struct store_partition *p);
void producer_clear(struct store_partition *p);

/* Append a control batch built by txn.c (EndTransactionMarker) through the write
 * path: checked against the producer's epoch, applied to its transaction, and, for
 * an ABORT, indexed; *seg_base names the segment whose .txnindex got the entry. */
int partition_append_marker(struct store_partition *p, uint8_t *batch, size_t len, bool commit,
                            struct store_append *res, int64_t *seg_base);

/* ---- txn.c ---- */
struct writer;
void txn_publish_first(struct store_partition *p);
void txn_data_apply(struct store_partition *p, struct producer_state *st,
                    const struct batch_header *h, int64_t base);
int txn_marker_check(struct store_partition *p, const struct batch_header *h);
int txn_marker_apply(struct store_partition *p, const struct batch_header *h, bool commit,
                     int64_t offset, int64_t seg_base);
int txn_marker_type(const uint8_t *batch, size_t len);
int txn_marker_build(int64_t pid, int16_t epoch, bool commit, int32_t coordinator_epoch,
                     int64_t now, struct writer *out);
/* Whether the batch of producer pid at offset belongs to an aborted transaction. */
bool txn_aborted_at(struct store_partition *p, int64_t pid, int64_t offset);
size_t txn_entries_cut(struct store_partition *p, int64_t offset, bool above);
void txn_entries_free(struct store_partition *p);
int txn_index_load(struct store_partition *p);
int txn_index_write(struct store_partition *p, int64_t base, int64_t end);
int txn_index_rewrite(struct store_partition *p, int64_t from);
int txn_index_sync_range(struct store_partition *p, int64_t from, int64_t upto);

/* ---- flush.c ---- */
void flush_mark_dirty(struct store_partition *p);
/* Sync p's unsynced files now from the caller's thread (a transaction marker under
 * log.flush.interval.ms). 0 or the error (the partition has failed then). */
int flush_partition_now(struct store_partition *p);
void *flush_thread(void *arg);
int flush_all(struct store *s);

/* ---- journal.c ---- */
#define JOURNAL_CHUNK 1024 /* entries read with one pread when the journal is scanned */
/* Open the topic's journal, if it has one yet, and load its totals; torn or corrupt entries
 * at its end are cut off and counted in *dropped (reconcile then refills them). */
int journal_open(struct store_topic *t, int64_t *dropped);
/* Write the entry of a batch written but not yet published, and hold journal_mu:
 * 0 with the lock held (journal_commit() after publishing), or an error with the
 * lock released and nothing in the journal. */
int journal_begin(struct store_topic *t, int32_t partition, int64_t base_offset, int32_t records,
                  int64_t value_bytes, struct store_journal_entry *e);
/* Make the entry part of the journal and release journal_mu. */
void journal_commit(struct store_topic *t, const struct store_journal_entry *e);
int journal_reconcile(struct store_topic *t);
int journal_sync(struct store_topic *t);
int journal_trim(struct store_topic *t);
void journal_close(struct store_topic *t);

/* ---- config.c ---- */
/* topic_config_apply() for overrides stored by an earlier version: a segment.bytes
 * below today's floor is read as the floor rather than refused. */
int topic_config_restore(struct topic_config *tc, const struct props *overrides);

/* ---- topic.c ---- */
int topic_load_all(struct store *s, bool clean);
void topic_ref(struct store_topic *t);
int topic_meta_path(char *buf, size_t size, const struct store_topic *t, const char *ext);
/* If name is "<prefix>-<n>" with n a canonical decimal (no sign, no leading zeros,
 * at most 9 digits), return n; else -1. */
int64_t topic_partition_suffix(const char *name, const char *prefix);

/* ---- store.c ---- */
void store_notify_append(struct store *s, struct store_partition *p, int64_t hw);
int store_checkpoints_write(struct store *s);
int checkpoint_read(struct store *s, const char *file, const char *topic, int32_t partition,
                    int64_t *out);
/* Snapshot of topics with a reference each; free with topics_put_all(). */
struct store_topic **topics_get_all(struct store *s, size_t *n);
void topics_put_all(struct store_topic **v, size_t n);

/* ---- compact.c / retention.c ---- */
int partition_apply_retention(struct store_partition *p, int64_t now_ms);
int partition_compact(struct store_partition *p, bool force, int64_t now_ms);
int compact_recover_dir(const char *dir);

/* acquire/release access to the _Atomic fields above */
#define LOAD(x)     atomic_load_explicit(&(x), memory_order_acquire)
#define STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_release)

#endif
