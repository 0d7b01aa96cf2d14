/*
 * record.h - Kafka RecordBatch v2 (magic 2): parse, validate, iterate, build.
 *
 * A batch on the wire and on disk is the same bytes (docs/log-format.md):
 *
 *   off  size  field                 off  size  field
 *     0     8  baseOffset             35     8  maxTimestamp
 *     8     4  batchLength            43     8  producerId
 *    12     4  partitionLeaderEpoch   51     2  producerEpoch
 *    16     1  magic (2)              53     4  baseSequence
 *    17     4  crc (CRC-32C)          57     4  recordsCount
 *    21     2  attributes             61     -  records (maybe compressed)
 *    23     4  lastOffsetDelta
 *    27     8  baseTimestamp
 *
 * batchLength counts the bytes after itself (the batch is 12 + batchLength bytes);
 * the CRC covers attributes..end, so the broker may rewrite baseOffset and
 * partitionLeaderEpoch without recomputing it.
 *
 * Everything here works on borrowed bytes. Decompression writes into a buffer the
 * iterator owns, bounded by batch_limits.max_decompressed (no decompression bombs).
 * Errors are negative errno values:
 *   -EBADMSG  malformed: short, bad length, bad CRC, records that do not parse,
 *             counts or offset deltas that disagree with the header
 *   -ENOTSUP  magic other than 2, or an unknown compression codec
 *   -EMSGSIZE larger than a limit (batch size, decompressed size, record count)
 *   -ENOMEM   out of memory
 */
#ifndef BROOK_PROTO_RECORD_H
#define BROOK_PROTO_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/reader.h"
#include "lib/writer.h"

#define BATCH_HEADER_SIZE  61 /* through recordsCount */
#define BATCH_LOG_OVERHEAD 12 /* baseOffset + batchLength */
#define BATCH_MAGIC        2

/* Byte offsets of the header fields. */
#define BATCH_OFF_BASE_OFFSET       0
#define BATCH_OFF_LENGTH            8
#define BATCH_OFF_LEADER_EPOCH      12
#define BATCH_OFF_MAGIC             16
#define BATCH_OFF_CRC               17
#define BATCH_OFF_ATTRIBUTES        21
#define BATCH_OFF_LAST_OFFSET_DELTA 23
#define BATCH_OFF_BASE_TIMESTAMP    27
#define BATCH_OFF_MAX_TIMESTAMP     35
#define BATCH_OFF_PRODUCER_ID       43
#define BATCH_OFF_PRODUCER_EPOCH    51
#define BATCH_OFF_BASE_SEQUENCE     53
#define BATCH_OFF_RECORDS_COUNT     57

/* attributes */
#define BATCH_ATTR_CODEC_MASK      0x07
#define BATCH_ATTR_LOG_APPEND_TIME 0x08
#define BATCH_ATTR_TRANSACTIONAL   0x10
#define BATCH_ATTR_CONTROL         0x20
#define BATCH_ATTR_DELETE_HORIZON  0x40

enum codec {
    CODEC_NONE = 0,
    CODEC_GZIP = 1,
    CODEC_SNAPPY = 2,
    CODEC_LZ4 = 3,
    CODEC_ZSTD = 4,
};

/* "none", "gzip", "snappy", "lz4", "zstd"; NULL for others. */
const char *codec_name(int codec);
/* Parse a codec name (as above); -EINVAL if unknown. */
int codec_parse(const char *name, enum codec *out);

struct batch_header {
    int64_t base_offset;
    int32_t length; /* batchLength: bytes after this field */
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t records_count;
};

struct batch_limits {
    size_t max_batch;        /* largest whole batch accepted (bytes) */
    size_t max_decompressed; /* largest decompressed records section */
    int32_t max_records;     /* most records in one batch */
};

/* Defaults: 64 MiB batches, 256 MiB decompressed, 4 Mi records. */
extern const struct batch_limits batch_limits_default;

/* What validation learned about a batch's records. */
struct batch_stats {
    int32_t records;     /* records actually present */
    int64_t value_bytes; /* sum of value lengths (null values count 0) */
    int64_t key_bytes;   /* sum of key lengths */
    int32_t null_values; /* tombstones */
    int32_t null_keys;   /* records without a key */
};

/* Parse the 61-byte header at p (len available); no CRC check. 0, -EBADMSG if
 * short, -ENOTSUP if magic != 2. */
int batch_header_parse(const uint8_t *p, size_t len, struct batch_header *h);

/*
 * Framing for a run of concatenated batches: how many bytes the batch at p takes.
 * Returns 0 with *size = 12 + batchLength; -EAGAIN when fewer than 17 bytes (or
 * fewer than *size bytes, *size then set) are available; -EBADMSG if batchLength is
 * below the header size; -ENOTSUP if magic != 2; -EMSGSIZE if *size would exceed max.
 * Errors come before -EAGAIN, so a bad length is reported without waiting for it.
 */
int batch_frame(const uint8_t *p, size_t avail, size_t max, size_t *size);

/* Check the CRC of a whole batch (len == its size). */
bool batch_crc_ok(const uint8_t *p, size_t len);

/*
 * Full validation of one whole batch of exactly len bytes: header, magic, length
 * == len, CRC, and every record (decompressed when needed) parsed to the end with
 * offset deltas strictly increasing, within [0, lastOffsetDelta], the last one equal
 * to lastOffsetDelta unless records were removed by compaction (allow_gaps), and a
 * count equal to recordsCount. lim NULL means batch_limits_default. h and st may be
 * NULL; they are filled only on success.
 */
int batch_validate(const uint8_t *p, size_t len, const struct batch_limits *lim, bool allow_gaps,
                   struct batch_header *h, struct batch_stats *st);

/* Rewrite fields the CRC does not cover. */
void batch_set_base_offset(uint8_t *p, int64_t base_offset);
void batch_set_leader_epoch(uint8_t *p, int32_t epoch);

/* Read a big-endian field out of a batch (helpers for callers that hold raw bytes). */
int64_t batch_get_base_offset(const uint8_t *p);

/* ---- iterating records ---- */

struct record {
    int64_t offset;    /* baseOffset + offsetDelta */
    int64_t timestamp; /* baseTimestamp + timestampDelta (or maxTimestamp for
                          log-append-time batches) */
    int8_t attributes;
    const uint8_t *key; /* NULL when key_len < 0 */
    int32_t key_len;    /* -1 for a null key */
    const uint8_t *value;
    int32_t value_len; /* -1 for a null value (tombstone) */
    int32_t headers_count;
    struct reader headers; /* the headers' bytes; walk with record_header_next() */
};

struct record_header {
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value; /* NULL when value_len < 0 */
    int32_t value_len;
};

struct batch_iter {
    struct batch_header h;
    struct reader rd;      /* over the (decompressed) records */
    struct writer scratch; /* decompressed records, owned */
    int32_t remaining;     /* records left per the header */
    int err;               /* sticky error */
};

/*
 * Start iterating the batch of len bytes at p (the batch must stay alive while the
 * iterator and the records it returns are used; for compressed batches the records
 * point into the iterator's scratch buffer instead). Checks header and framing,
 * and the CRC when check_crc. lim NULL means batch_limits_default. Returns 0 or an
 * error; release the iterator either way.
 */
int batch_iter_init(struct batch_iter *it, const uint8_t *p, size_t len,
                    const struct batch_limits *lim, bool check_crc);

/* The next record: 1 with *r set, 0 at the end, or a negative error (also when the
 * records run out before recordsCount, or bytes follow the last one). Sticky. */
int batch_iter_next(struct batch_iter *it, struct record *r);

void batch_iter_release(struct batch_iter *it);

/* The next header from r->headers: 1 with *h set, 0 at the end, negative on error. */
int record_header_next(struct reader *headers, struct record_header *h);

/* ---- building batches ---- */

struct batch_builder {
    struct writer records; /* uncompressed records so far */
    enum codec codec;
    int64_t base_timestamp; /* timestamp of the first record */
    int64_t max_timestamp;
    int32_t count;
    int16_t attributes;     /* extra attribute bits (e.g. BATCH_ATTR_CONTROL) */
    int64_t producer_id;    /* -1 unless idempotent */
    int16_t producer_epoch; /* -1 unless idempotent */
    int32_t base_sequence;  /* -1 unless idempotent */
    int32_t leader_epoch;   /* -1 by default */
    int32_t last_delta;     /* private: offset delta of the newest record, -1 if none */
};

/* Start a batch compressed with codec; records may total at most max bytes
 * (uncompressed). */
void batch_builder_init(struct batch_builder *b, enum codec codec, size_t max);
void batch_builder_release(struct batch_builder *b);

/* Add one record; key_len/value_len -1 mean null (header keys may not be null).
 * Offset deltas are 0, 1, 2, ... (one past the previous record's). The bytes are
 * copied. Returns 0; -EMSGSIZE when the batch would exceed its maximum (the builder
 * is unchanged and still usable); -EINVAL for a length below -1 or a NULL pointer
 * with a positive length. */
int batch_builder_add(struct batch_builder *b, int64_t timestamp, const void *key, int32_t key_len,
                      const void *value, int32_t value_len, const struct record_header *headers,
                      int32_t headers_count);

/* Add a record keeping its offset delta (compaction rewrites batches with gaps).
 * Deltas must increase strictly (-EINVAL otherwise). */
int batch_builder_add_at(struct batch_builder *b, int32_t offset_delta, int64_t timestamp,
                         const void *key, int32_t key_len, const void *value, int32_t value_len,
                         const struct record_header *headers, int32_t headers_count);

/* Bytes the records take so far, uncompressed (for batch.size decisions). */
size_t batch_builder_size(const struct batch_builder *b);

/*
 * Append the finished batch (header with base offset 0, CRC, compressed records) to
 * out. last_offset_delta < 0 means "count - 1" (or the last delta used with _add_at;
 * 0 for an empty batch); one below the last delta used is -EINVAL. baseTimestamp is
 * the first record's timestamp, maxTimestamp the largest (-1 for both when empty).
 * Returns 0 or an error (-EMSGSIZE when out would pass its maximum); on error out is
 * left as it was. The builder keeps its records and settings either way;
 * batch_builder_reset() empties it for the next batch, keeping codec, attributes,
 * producer fields and leader epoch.
 */
int batch_builder_finish(struct batch_builder *b, int32_t last_offset_delta, struct writer *out);
void batch_builder_reset(struct batch_builder *b);

/* ---- compression codecs (also used directly by tests and the client) ---- */

/* Compress n bytes at in with codec, appending to out. Snappy output uses the
 * xerial framing Java clients expect; lz4 the LZ4 frame format (64 KiB independent
 * blocks); zstd one frame with content size and checksum. 0, -ENOTSUP for an unknown
 * codec, -EMSGSIZE past out's maximum, -ENOMEM; on error out is left as it was. */
int codec_compress(enum codec codec, const void *in, size_t n, struct writer *out);

/* Decompress n bytes at in, appending at most max_out bytes to out (-EMSGSIZE when
 * the data would expand past that, or past out's maximum; decoding stops there).
 * Snappy accepts raw and xerial-framed input; gzip also zlib and concatenated members.
 * 0, -EBADMSG for corrupt or truncated input, -ENOTSUP for an unknown codec, -ENOMEM;
 * on error out is left as it was. */
int codec_decompress(enum codec codec, const void *in, size_t n, size_t max_out,
                     struct writer *out);

#endif
