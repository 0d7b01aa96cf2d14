/*
 * store.h - brook's log: topics, partitions, segments, durability, recovery,
 * retention and compaction. The one public header of store/.
 *
 * On disk it is Kafka's layout (docs/log-format.md): <dir>/<topic>-<partition>/
 * holds segments <20-digit base offset>.log with RecordBatch v2 bytes as a client
 * sent them (baseOffset rewritten; LogAppendTime stamped and the codec changed
 * where the topic asks for it), a sparse .index and a .timeindex.
 * Topic metadata (name, partition count, id, config overrides) lives in
 * <dir>/.topics/<topic id>.properties, and <dir>/.topics/<topic id>.journal records
 * the order in which batches were appended across the topic's partitions.
 *
 * Concurrency: every function may be called from any thread. Appends to one
 * partition are serialised (order is preserved per partition); reads never take
 * the append lock beyond copying a few published fields, so readers never block
 * writers. Topic and partition handles stay valid while a topic reference is held
 * (store_topic_get / store_topic_put), even if the topic is deleted meanwhile.
 *
 * Durability: with log.flush.interval.ms unset (the default) a flusher thread does
 * group commit - one fdatasync per dirty file covers every append that arrived
 * while the previous one ran - and store_partition_when_durable() reports when an
 * append is on disk. With an interval set, data is flushed at most that often (the
 * first append after an idle interval at once) and appends count as durable at
 * once (the documented loss window). After an fdatasync error
 * a partition accepts and acknowledges nothing more until restart.
 *
 * Errors are negative errno values, or the STORE_E* codes below (outside errno's
 * range), with store_strerror().
 */
#ifndef BROOK_STORE_STORE_H
#define BROOK_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/conftab.h"

struct props;
struct store;
struct store_topic;
struct store_partition;

enum {
    STORE_EINVALID_TOPIC = -2001,      /* name breaks Kafka's rules */
    STORE_EINVALID_PARTITIONS = -2002, /* partition count out of range */
    STORE_EINVALID_CONFIG = -2003,     /* unknown key or bad value */
    STORE_EDUPLICATE_SEQ = -2004,      /* idempotent batch already appended */
    STORE_EOUT_OF_ORDER_SEQ = -2005,   /* idempotent batch with a gap in sequence */
    STORE_EPRODUCER_FENCED = -2006,    /* stale producer epoch */
    STORE_EDELETE_DISABLED = -2007,    /* delete.topic.enable=false */
    STORE_EFAILED = -2008,             /* partition stopped after an fsync error */
    STORE_EINVALID_RECORD = -2009,     /* a batch Kafka refuses from a producer */
    STORE_EINVALID_TIMESTAMP = -2010,  /* a record outside the topic's timestamp bounds */
    STORE_ETOPIC_ID_MISMATCH = -2011,  /* a partition.metadata names another topic */
};

/* A message for any error this module returns (errno or STORE_E*). */
const char *store_strerror(int err);

/* ---- configuration ---- */

enum cleanup_policy { CLEANUP_DELETE = 1, CLEANUP_COMPACT = 2 }; /* bit set */

/* Per-topic settings: the store defaults overridden by the topic's own config. */
struct topic_config {
    int64_t retention_ms;          /* retention.ms, -1 = forever */
    int64_t retention_bytes;       /* retention.bytes per partition, -1 = unlimited */
    int64_t segment_bytes;         /* segment.bytes */
    int64_t segment_ms;            /* segment.ms (roll by age) */
    int64_t max_message_bytes;     /* max.message.bytes: largest batch */
    int64_t delete_retention_ms;   /* delete.retention.ms: tombstone lifetime */
    int64_t min_compaction_lag_ms; /* min.compaction.lag.ms */
    double min_cleanable_ratio;    /* min.cleanable.dirty.ratio */
    int cleanup_policy;            /* cleanup.policy as CLEANUP_* bits */
    int64_t index_interval_bytes;  /* index.interval.bytes */
    int64_t segment_index_bytes;   /* segment.index.bytes: a segment is rolled when its
                                      offset index would pass this size */
    int64_t segment_jitter_ms;     /* segment.jitter.ms: most taken off segment.ms */
    int64_t max_compaction_lag_ms; /* max.compaction.lag.ms: dirty records older than
                                      this are compacted whatever the dirty ratio */
    int64_t file_delete_delay_ms;  /* file.delete.delay.ms: removed segments linger */
    int64_t ts_before_max_ms;      /* message.timestamp.before.max.ms */
    int64_t ts_after_max_ms;       /* message.timestamp.after.max.ms */
    int64_t min_insync_replicas;   /* min.insync.replicas: above 1, acks=all fails */
    int timestamp_type;            /* message.timestamp.type: TIMESTAMP_* */
    int compression;               /* compression.type: TOPIC_COMPRESSION_PRODUCER or a codec */
};

enum { TIMESTAMP_CREATE = 0, TIMESTAMP_LOG_APPEND = 1 };
#define TOPIC_COMPRESSION_PRODUCER (-1) /* keep what the producer sent */

struct store_config {
    const char *dir;                /* log.dirs (one directory) */
    int32_t num_partitions;         /* num.partitions for new topics */
    int64_t flush_interval_ms;      /* log.flush.interval.ms; -1 = group commit before ack */
    int64_t retention_check_ms;     /* log.retention.check.interval.ms */
    int64_t checkpoint_interval_ms; /* log.flush.offset.checkpoint.interval.ms */
    bool delete_topic_enable;       /* delete.topic.enable */
    bool cleaner_enable;            /* log.cleaner.enable */
    int64_t max_open_files;         /* log.max.open.files: segment files kept open; 0 = auto */
    struct topic_config topic;      /* defaults for every topic */
};

/* The floor of segment.bytes and log.segment.bytes (Kafka's, 1 MiB). Tests that need
 * small segments use internal.segment.bytes (a topic key, as in Kafka) or its
 * broker default log.internal.segment.bytes, which go down to 1 KiB and which
 * DescribeConfigs does not list. */
#define STORE_SEGMENT_BYTES_MIN (1 << 20)

/* Descriptors out of a limit of `limit` that connections must leave free for the
 * store's transient use (dups for reads, flushes, index and checkpoint files):
 * 1/16 of it, at least 16 and at most 256. */
size_t store_fd_reserve(size_t limit);

/* Whether descriptor fd lies in that reserve (the kernel hands out the lowest free
 * number, so every one below fd is in use): whoever holds on to descriptors - a
 * connection, a Fetch response waiting to be sent - should take no more. */
bool store_fd_scarce(int fd);

/* Whether a descriptor to be held until a peer reads it (a Fetch answer's) lies in
 * the reserve or in as much again below it: such answers stop there, so that what
 * they hold leaves the reserve whole for the log's own brief use. */
bool store_fd_held_too_many(int fd);

/* Kafka's defaults (segment 1 GiB, retention 7 days, group commit, ...). */
void store_config_defaults(struct store_config *c);

/*
 * Fill c from broker properties (server.properties names: log.dirs,
 * num.partitions, log.segment.bytes, log.roll.ms / log.roll.hours,
 * log.retention.ms / .minutes / .hours, log.retention.bytes, log.flush.interval.ms,
 * log.cleanup.policy, message.max.bytes, ...). Keys it does not know are ignored.
 * On a bad value returns STORE_EINVALID_CONFIG and points *bad_key at the key.
 * c->dir points into p: keep p alive while c is used.
 */
int store_config_from_props(struct store_config *c, const struct props *p, const char **bad_key);

/*
 * Validate topic-level overrides (retention.ms, segment.bytes, cleanup.policy, ...)
 * against Kafka's names and ranges and apply them on top of base. Returns 0,
 * or STORE_EINVALID_CONFIG with *bad_key set.
 */
int topic_config_apply(struct topic_config *tc, const struct props *overrides,
                       const char **bad_key);

/* The broker-level keys the store reads (log.*, num.partitions, ...), and the
 * topic-level keys brook understands, each with its broker synonyms (for
 * DescribeConfigs and the console); both end with a NULL name.
 * internal.segment.bytes is accepted too but listed nowhere. */
extern const struct conf_key store_config_table[];
extern const struct conf_key topic_config_table[];
/* Whether the len bytes at key name a topic-level config brook accepts: one of
 * topic_config_table or internal.segment.bytes. */
bool topic_config_known(const char *key, size_t len);

/* Render one topic config value as Kafka would show it; returns buf. */
const char *topic_config_value(const struct topic_config *tc, const char *key, char *buf,
                               size_t size);

/* ---- the store ---- */

/*
 * Open (creating if needed) the log in c->dir: load topics, recover partitions
 * that were not shut down cleanly (scan from the last recovery point, truncate at
 * the first invalid batch, rebuild indexes), finish or discard interrupted
 * compactions, then start the flusher and the maintenance thread. The config is
 * copied. Returns 0 with *out set, or an error.
 */
int store_open(const struct store_config *c, struct store **out);

/* The pid of the process holding dir's lock (store_open's -EBUSY), or 0 when it
 * is not known. */
long store_lock_holder(const char *dir);

/* Flush everything, write the clean-shutdown marker (not after a flush failed:
 * then the next start recovers as after a crash), stop threads, free. */
void store_close(struct store *s);

/* Like a crash for tests: stop threads and free without flushing or writing the
 * clean-shutdown marker (data already written stays in the files). */
void store_abandon(struct store *s);

/* The configuration the store runs with. Its .topic is the defaults it opened
 * with: the ones in force, which store_set_topic_defaults() changes, come from
 * store_topic_defaults(). */
const struct store_config *store_get_config(const struct store *s);

/* What store_open found and repaired, for the daemon to report. After a clean
 * shutdown nothing is scanned; after a crash the segments past each partition's
 * recovery point are. */
struct store_recovery {
    bool clean;               /* the previous run wrote its clean-shutdown marker */
    int32_t partitions;       /* partitions loaded */
    int32_t segments_scanned; /* segments whose every batch was validated */
    int64_t bytes_scanned;    /* bytes in those segments */
    int64_t bytes_cut;        /* torn or corrupt tail bytes truncated away */
    int32_t segments_removed; /* segments after a cut or a hole, deleted */
    int64_t journal_dropped;  /* journal entries cut (torn, or their batch is gone) */
    int64_t journal_rebuilt;  /* journal entries rebuilt from the partitions */
    int64_t duration_ms;      /* how long store_open took */
};

/* Copy the report of the store's opening into out. */
void store_recovery_info(const struct store *s, struct store_recovery *out);

/* ---- topics ---- */

/* Whether name follows Kafka's rules: [A-Za-z0-9._-], 1..249 chars, not "." or "..". */
bool store_topic_name_valid(const char *name, size_t len);

/*
 * Create a topic with `partitions` partitions (<= 0: num.partitions) and config
 * overrides (may be NULL). Besides Kafka's name rules, a name may not collide with
 * a partition directory name: "x-3" is refused while topic "x" has a partition 3,
 * and "x" is refused while a topic "x-3" exists and "x" would get a partition 3.
 * Returns 0, -EEXIST, STORE_EINVALID_TOPIC, STORE_EINVALID_PARTITIONS,
 * STORE_EINVALID_CONFIG (with *bad_key when non-NULL), or an I/O error.
 */
int store_topic_create(struct store *s, const char *name, int32_t partitions,
                       const struct props *config, const char **bad_key);

/* One topic of store_topics_create(): what to create, and its result. */
struct store_topic_new {
    const char *name;
    int32_t partitions;         /* <= 0: num.partitions */
    const struct props *config; /* overrides, or NULL */
    const char *bad_key;        /* out: the key STORE_EINVALID_CONFIG is about */
    int rc;                     /* out: as store_topic_create() returns */
};

/*
 * Create n topics as n store_topic_create() calls would, each with its own result
 * in v[i].rc, but with a constant number of syncs for all of them (a few syncs of
 * the log directory's file system instead of several fsyncs per topic and
 * partition), for CreateTopics requests of thousands of topics. Returns 0, or
 * -ENOMEM before anything was tried.
 */
int store_topics_create(struct store *s, struct store_topic_new *v, size_t n);

/* Delete a topic and its data. -ENOENT, STORE_EDELETE_DISABLED, or an I/O error. */
int store_topic_delete(struct store *s, const char *name);

/* Grow a topic to `total` partitions (CreatePartitions). -ENOENT,
 * STORE_EINVALID_PARTITIONS if not larger, -EEXIST on a name collision. */
int store_topic_add_partitions(struct store *s, const char *name, int32_t total);

/* A counted reference to a topic, or NULL if there is none. Release with
 * store_topic_put(). */
struct store_topic *store_topic_get(struct store *s, const char *name);
/* The topic with this 16-byte id (a reference, as store_topic_get), or NULL. */
struct store_topic *store_topic_get_id(struct store *s, const uint8_t id[16]);
void store_topic_put(struct store_topic *t);
/* Another reference to a topic already held; returns t. */
struct store_topic *store_topic_ref(struct store_topic *t);

/* Names of all topics, sorted: a NULL-terminated array in one allocation the
 * caller frees with free(). Internal topics (leading "__") included. NULL on OOM. */
char **store_topic_names(struct store *s);

const char *store_topic_name(const struct store_topic *t);
/* Whether name is an internal topic (leading "__", like __consumer_offsets): the
 * broker's own, which neither the console nor the mount changes. */
bool store_topic_name_internal(const char *name);
int32_t store_topic_partition_count(const struct store_topic *t);
/* The topic's 16-byte id (a random UUID chosen at creation). */
const uint8_t *store_topic_id(const struct store_topic *t);
/* A copy of the effective config (defaults + overrides): AlterConfigs may change
 * it at any time, so the store hands out copies, never pointers. */
void store_topic_config_get(const struct store_topic *t, struct topic_config *out);
/* A copy of the overrides alone, which the caller frees with props_free(); NULL on
 * OOM. */
struct props *store_topic_overrides_copy(const struct store_topic *t);
/* Whether the topic's min.insync.replicas is met by the one replica there is: a
 * Produce with acks=all to a topic asking for more gets NOT_ENOUGH_REPLICAS. */
bool store_topic_in_sync(const struct store_topic *t);
/* A copy of the defaults every topic starts from. */
void store_topic_defaults(struct store *s, struct topic_config *out);

/*
 * Check a topic's overrides as store_topic_create() does: on top of the current
 * defaults, into *out when not NULL. 0 or STORE_EINVALID_CONFIG with *bad_key
 * pointing into overrides.
 */
int store_topic_config_check(struct store *s, const struct props *overrides,
                             struct topic_config *out, const char **bad_key);

/*
 * Replace topic name's overrides with `overrides` (copied): checked as at
 * creation, written to the topic's metadata file, then in force for the next
 * append, roll, retention pass and compaction. With validate_only, only checked.
 * 0, -ENOENT, STORE_EINVALID_CONFIG (*bad_key set) or an I/O error, after which
 * the old overrides stay in force.
 */
int store_topic_alter_config(struct store *s, const char *name, const struct props *overrides,
                             bool validate_only, const char **bad_key);

/* Change the defaults (the broker's dynamic log.* keys): every topic's config is
 * recomputed from them and its overrides. 0 or -ENOMEM. */
int store_set_topic_defaults(struct store *s, const struct topic_config *defaults);
/* Partition i, or NULL when out of range. Valid while the topic reference is held. */
struct store_partition *store_topic_partition(struct store_topic *t, int32_t i);
/* Partition i for store_partition_info(), _high_watermark() and _last_stable()
 * alone (listings, metrics, file sizes in the mount): as
 * store_topic_partition(), except that one never used since its topic was created
 * stays closed, with the figures of an empty log: opening it would make its
 * directory and files, three fsyncs, for every partition listed. */
struct store_partition *store_topic_partition_figures(struct store_topic *t, int32_t i);

/* ---- partitions: append ---- */

struct store_append {
    int64_t base_offset;      /* offset assigned to the batch's first record */
    int64_t last_offset;      /* offset of its last record */
    int64_t log_start_offset; /* the partition's log start after the append */
    int64_t log_append_time;  /* the broker's stamp (LogAppendTime topics), else -1 */
};

/*
 * Append one RecordBatch v2 of len bytes. The batch is validated first (framing,
 * CRC, records; at most max.message.bytes; record timestamps within
 * message.timestamp.before/after.max.ms), rebuilt with the topic's codec when its
 * compression.type asks for another, then its baseOffset (and for LogAppendTime
 * its maxTimestamp, attributes and CRC) is rewritten IN PLACE in the caller's buffer
 * (or in the rebuilt copy) and it is written as is. Several batches in one
 * buffer are appended in order with one call each. Idempotent batches (producer id
 * >= 0) are checked against the producer's last sequence numbers: a duplicate of
 * one of the last five batches returns STORE_EDUPLICATE_SEQ with *res set to the
 * original offsets; a gap returns STORE_EOUT_OF_ORDER_SEQ.
 *
 * The data is visible to readers when this returns; whether it is durable is
 * asked with store_partition_when_durable(res->last_offset + 1, ...).
 * Errors: -EBADMSG (corrupt), -ENOTSUP (magic/codec), -EMSGSIZE (past
 * max.message.bytes, or past the 64 MiB batch_limits_default that reading back needs),
 * STORE_EINVALID_TIMESTAMP, STORE_EINVALID_RECORD (what Kafka refuses from a producer: a control
 * batch, no records, a record count other than lastOffsetDelta + 1, a producer id without a
 * sequence, a null key on a compacted topic), -ENOSPC/-EIO (nothing of the batch
 * is visible), STORE_EFAILED, STORE_E*SEQ.
 */
int store_partition_append(struct store_partition *p, uint8_t *batch, size_t len,
                           struct store_append *res);

typedef void (*store_done_fn)(void *arg, int rc);

/*
 * Ask to be told when everything before `end_offset` is durable. Returns 1 if it
 * already is (fn is not called), 0 if fn will be called once it is - from the
 * flusher thread, with rc 0, or an error such as -EIO if the flush failed - or a
 * negative error (fn not called) if the partition has failed.
 */
int store_partition_when_durable(struct store_partition *p, int64_t end_offset, store_done_fn fn,
                                 void *arg);

/* Block until everything before end_offset is durable. 0 or the flush error. */
int store_partition_sync(struct store_partition *p, int64_t end_offset);

/* ---- transactions ---- */

/* Transactional data batches (attribute 0x10, producer id >= 0) are accepted by
 * store_partition_append; the first one of producer P on a partition opens P's
 * transaction there at the batch's base offset. */

/*
 * End producer_id's transaction on p: append Kafka's control batch (attributes
 * 0x30, the producer's id and epoch, base sequence -1, one record whose key is
 * int16 version 0 + int16 type (0 ABORT, 1 COMMIT) and whose value is int16
 * version 0 + int32 coordinator_epoch), record an ABORT in the active segment's
 * .txnindex, advance the last stable offset. Returns once the marker is durable
 * (blocks on fsync: call it off the event loop). Writes the marker even when the
 * producer has no open transaction on p (as Kafka). *offset: the marker's offset.
 * Errors: STORE_EPRODUCER_FENCED (an epoch below the partition's for that
 * producer), -EINVAL (a negative id or epoch), and those of an append.
 */
int store_partition_end_txn(struct store_partition *p, int64_t producer_id, int16_t producer_epoch,
                            bool commit, int32_t coordinator_epoch, int64_t *offset);

/* The last stable offset: the first offset of the oldest open transaction on p,
 * or the high watermark when none is open (never below the log start). */
int64_t store_partition_last_stable(struct store_partition *p);

struct store_aborted_txn {
    int64_t producer_id;
    int64_t first_offset;
};

/* The aborted transactions whose data intersects [from, upto): up to max into out,
 * *n set to how many; 0 or a negative errno. From the .txnindex entries. */
int store_partition_aborted_txns(struct store_partition *p, int64_t from, int64_t upto,
                                 struct store_aborted_txn *out, size_t max, size_t *n);

/* ---- partitions: read ---- */

/* A run of whole batches in one segment file. fd is a dup() the caller owns and
 * must close (or hand to something that closes it); the bytes stay readable
 * through it even if the segment is deleted or compacted meanwhile. */
struct store_slice {
    int fd;               /* -1 when len == 0 */
    int64_t pos;          /* file position of the first batch */
    int64_t len;          /* bytes of whole batches */
    int64_t first_offset; /* base offset of the first batch */
    int64_t next_offset;  /* offset after the last batch in the slice */
};

/*
 * Batches from the one containing `offset`, up to max_bytes - but always at least
 * one whole batch when there is one, however large (as Kafka's Fetch). Stops at a
 * segment end; call again from next_offset for more. At the high watermark len is
 * 0. Returns 0, or -ERANGE when offset is below the log start or above the high
 * watermark, or an I/O error. For sending the bytes on as they are (Fetch); whoever
 * looks inside the batches walks them with a store_cursor (below).
 */
int store_partition_read(struct store_partition *p, int64_t offset, size_t max_bytes,
                         struct store_slice *out);

/* Shorten a slice of p to its whole batches whose last offset is below end (a
 * read_committed Fetch stops at the last stable offset), reading batch headers
 * from the offset index's last entry before end; len 0 (fd closed) when none is.
 * 0 or an I/O error (then len is 0 too). */
int store_slice_limit(struct store_partition *p, struct store_slice *sl, int64_t end);

/* Close the slice's fd (if any). */
void store_slice_release(struct store_slice *sl);

/*
 * A cursor walks a partition's batches in offset order: it reads runs of whole
 * batches with store_partition_read() into one buffer it keeps (grown as needed, up
 * to the largest batch the store accepts) and hands them out one at a time. Every
 * reader of record bytes goes through it.
 *
 * Retention may move the log start while a cursor walks. By default a read that
 * would start below it continues at the new log start (and `from` moves up with it,
 * so records below it are not shown); with STORE_CURSOR_STRICT it fails with -ERANGE
 * instead, for readers that must know a batch is gone. The walk ends at the high
 * watermark, or before the first batch whose base offset reaches `end`.
 *
 * The fields are the cursor's own; callers may read `p`, `from` and `next`.
 */
enum { STORE_CURSOR_STRICT = 1 };
/* store_cursor_open flag: a read_committed view - stops before the first batch at
 * or past the last stable offset, skips control batches and the batches of aborted
 * transactions. */
#define STORE_CURSOR_COMMITTED 2

#define STORE_CURSOR_READ (1u << 20) /* default bytes asked of the store per read */

struct store_cursor {
    struct store_partition *p;
    int flags;
    int64_t from;      /* records below it are before the walk */
    int64_t end;       /* batches with a base offset at or past it are not handed out */
    int64_t next;      /* offset the read after the buffered batches starts at */
    size_t read_bytes; /* bytes asked of the store per read */
    uint8_t *buf;      /* batches read; [pos, len) not handed out yet */
    size_t cap, len, pos;
};

/* A batch handed out by a cursor: borrowed, valid until the cursor's next call. */
struct store_batch {
    const uint8_t *data; /* the whole batch, framing included */
    size_t len;
    int64_t base_offset;
    int64_t last_offset;
};

/* Start a walk at the batch holding offset `from` (flags: STORE_CURSOR_*). Allocates
 * nothing until the first read; end with store_cursor_close(). */
void store_cursor_open(struct store_cursor *c, struct store_partition *p, int64_t from, int flags);

/* Stop before the first batch whose base offset is >= end (default: no bound but
 * the high watermark), and ask the store for read_bytes per read (0: keep). */
void store_cursor_limit(struct store_cursor *c, int64_t end, size_t read_bytes);

/* Continue at the batch holding `from` in p (the same partition or another one),
 * dropping what is buffered; the buffer and the end bound are kept. */
void store_cursor_seek(struct store_cursor *c, struct store_partition *p, int64_t from);

/*
 * The next batch into *b: 1, or 0 at the end (high watermark or end bound). Errors:
 * -ERANGE when the walk is below the log start and the cursor is strict, or above
 * the high watermark; -EBADMSG when the bytes do not frame as batches (a further
 * call continues after the damaged run of one segment, or ends the walk when the
 * damage is where the run would start); -EIO (also for a segment that ends early);
 * -ENOMEM.
 */
int store_cursor_next(struct store_cursor *c, struct store_batch *b);

/* Free the buffer; the cursor may be opened again. */
void store_cursor_close(struct store_cursor *c);

struct store_partition_info {
    int32_t index;            /* partition number */
    int64_t log_start_offset; /* first offset still kept */
    int64_t high_watermark;   /* next offset to be assigned */
    int64_t durable_offset;   /* everything below is on disk */
    int64_t size_bytes;       /* bytes in all segments */
    int32_t segments;         /* number of segment files */
    int64_t last_append_ms;   /* wall time of the last append, or the newest
                                 segment's mtime after a restart */
};

void store_partition_info(struct store_partition *p, struct store_partition_info *info);
int64_t store_partition_high_watermark(struct store_partition *p);
int64_t store_partition_log_start(struct store_partition *p);
int32_t store_partition_index(const struct store_partition *p);
struct store_topic *store_partition_topic(struct store_partition *p);

/*
 * The first offset whose record timestamp is >= ts (Kafka's ListOffsets by time),
 * with that record's timestamp. Returns 0, or -ENOENT when no record is that late.
 */
int store_partition_offset_for_time(struct store_partition *p, int64_t ts, int64_t *offset,
                                    int64_t *timestamp);

/* Move the log start to `offset` (DeleteRecords); offset -1 means the high
 * watermark. Whole segments below it are deleted. -ERANGE if above the high
 * watermark. Returns the new log start in *low. */
int store_partition_delete_records(struct store_partition *p, int64_t offset, int64_t *low);

/* One idempotent producer a partition keeps state for (DescribeProducers). */
struct store_producer_info {
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t last_sequence;    /* of its newest batch, -1 when none is kept */
    int64_t last_offset;      /* offset of that batch's last record, -1 when none */
    int64_t txn_first_offset; /* -1: no open transaction */
};

/* Copy up to max of p's producers into out (in the order the state keeps them);
 * returns how many p has, which may exceed max: ask again with a larger out. At
 * most 100 000 per partition. */
size_t store_partition_producers(struct store_partition *p, struct store_producer_info *out,
                                 size_t max);

/* ---- append notifications ---- */

/* Called after every append, from the appending thread, with no store lock held.
 * Must be quick: wake someone, don't work. */
typedef void (*store_append_fn)(void *arg, struct store_partition *p, int64_t high_watermark);

/* Register a listener; returns 0 or -ENOMEM. Remove before arg dies. */
int store_listen(struct store *s, store_append_fn fn, void *arg);
void store_unlisten(struct store *s, store_append_fn fn, void *arg);

/* ---- the topic journal: append order across partitions ---- */

/* One entry per appended batch, in append order, with running totals, so a reader
 * can map a byte position of "all values, newline-terminated, in append order" to
 * a batch (the FUSE topic file). */
struct store_journal_entry {
    int32_t partition;
    int32_t records; /* records in the batch (0 for control batches) */
    int64_t base_offset;
    int64_t records_before;      /* records (in all partitions) appended before this batch */
    int64_t values_before;       /* value bytes (in all partitions) appended before it */
    int64_t value_bytes;         /* value bytes in this batch */
    int64_t part_records_before; /* the same two totals within its partition */
    int64_t part_values_before;
};

/* Entries [first, first + n) of the topic's journal, copied into out; returns how
 * many were copied (0 past the end) or an error. *total gets the number of entries
 * ever appended (including trimmed ones); *first_kept the index of the first entry
 * still stored. */
int store_journal_read(struct store_topic *t, int64_t first, struct store_journal_entry *out,
                       size_t n, int64_t *total, int64_t *first_kept);

/* Running totals of the journal: records and value bytes appended to the topic, and
 * to one partition (partition < 0: the whole topic), ever. */
void store_journal_totals(struct store_topic *t, int32_t partition, int64_t *records,
                          int64_t *value_bytes);

/* ---- segment files (read-only views for the FUSE layer) ---- */

enum store_file { STORE_FILE_LOG, STORE_FILE_INDEX, STORE_FILE_TIMEINDEX };

struct store_segment_info {
    int64_t base;          /* base offset: the file name */
    int64_t size[3];       /* bytes of the .log, .index and .timeindex */
    int64_t next_offset;   /* offset after its last batch */
    int64_t max_timestamp; /* -1 when empty */
};

/* The partition's segments in order, in a malloc'd array the caller frees. */
int store_partition_segments(struct store_partition *p, struct store_segment_info **out, size_t *n);

/* Read up to n bytes at off of one segment file as it is now (the indexes of the
 * active segment as kept in memory). Returns bytes read (0 at the end), -ENOENT
 * when the segment is gone, or an error. */
ssize_t store_partition_segment_pread(struct store_partition *p, int64_t base,
                                      enum store_file which, void *buf, size_t n, int64_t off);

/* ---- maintenance (run by the store's thread; callable by tests) ---- */

/* Apply retention (time and size) to every partition now. Returns segments deleted. */
int store_run_retention(struct store *s);

/* Run the cleaner on every compacted partition that needs it, now. Returns the
 * number of partitions cleaned, or an error. */
int store_run_compaction(struct store *s);

/* Clean one partition now regardless of its dirty ratio (tests, admin). Like the
 * cleaner, it works only on closed segments that are durable. */
int store_partition_compact(struct store_partition *p);

#endif
