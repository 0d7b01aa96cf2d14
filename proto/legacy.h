/*
 * legacy.h - the message sets of magic 0 and 1, converted to and from RecordBatch v2.
 *
 * Before RecordBatch v2, Produce v0-2 and Fetch v0-3 carried a "message set": messages
 * one after another, each
 *
 *   size  field
 *      8  offset         absolute; in a compressed wrapper's inner set of magic 1,
 *                        relative (0, 1, 2, ...) and the wrapper holds the last one
 *      4  message_size   bytes after this field
 *      4  crc            CRC-32 (IEEE) of everything from magic to the end
 *      1  magic          0 or 1
 *      1  attributes     bits 0-2 codec; bit 3 (magic 1) log-append time
 *      8  timestamp      magic 1 only
 *    4+n  key            int32 length, -1 for null
 *    4+n  value          int32 length, -1 for null; for a wrapper (codec != 0) the
 *                        compressed bytes of an inner message set
 *
 * brook stores only v2 batches. A produced message set becomes ONE v2 batch (producer
 * id -1, sequence -1, create-time timestamps, -1 for magic 0 which has none) of every
 * message in it, wrappers unpacked, compressed again with the first wrapper's codec.
 * A fetched v2 batch becomes one uncompressed message per record, headers dropped.
 *
 * Up-conversion reads peer bytes, so it is bounded before it works: every message
 * must fit in the bytes received, and all the decompressed inner sets of one request
 * together, like the batch built, may take at most the caller's max_bytes (the
 * topic's max.message.bytes). Errors:
 *   -EBADMSG  corrupt: truncated, a length that does not fit, a bad CRC, a wrapper
 *             whose inner set does not decompress or is empty (Kafka: CORRUPT_MESSAGE)
 *   -EPROTO   well-formed but refused as Kafka refuses it: a wrapper inside a wrapper,
 *             inner magic other than the wrapper's, magic-1 inner offsets other than
 *             0, 1, 2, ..., or an empty set (Kafka: INVALID_RECORD)
 *   -ENOTSUP  magic above 1 (a v2 batch is not a message set), or a codec that
 *             message sets never had (zstd and up)
 *   -EMSGSIZE the batch or the decompressed sets would pass max_bytes
 *   -ENOMEM
 */
#ifndef BROOK_PROTO_LEGACY_H
#define BROOK_PROTO_LEGACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/writer.h"

#define LEGACY_MAGIC0_OVERHEAD 26 /* offset, size, crc, magic, attributes, two lengths */
#define LEGACY_MAGIC1_OVERHEAD 34 /* the same and the timestamp */
#define LEGACY_ATTR_CODEC_MASK 0x07
#define LEGACY_ATTR_LOG_APPEND 0x08 /* magic 1: the timestamp is the broker's */

/* Bytes a message of magic 0 or 1 takes with its offset and size fields; key_len and
 * value_len -1 mean null. */
size_t legacy_message_size(int8_t magic, int32_t key_len, int32_t value_len);

/*
 * Convert the message set of len bytes at p into one v2 batch appended to out (base
 * offset 0, for the store to assign). The batch and the decompressed inner sets are
 * held to max_bytes each. *count (may be NULL) gets the records. 0 or an error above;
 * on error out is left as it was.
 */
int legacy_upconvert(const uint8_t *p, size_t len, size_t max_bytes, struct writer *out,
                     int32_t *count);

/* A down-conversion in progress: messages appended to out, within limit bytes. */
struct legacy_down {
    struct writer *out; /* messages are appended here */
    size_t start;       /* out->len when the conversion began */
    size_t limit;       /* bytes of messages at most (but see the first_* flags) */
    int8_t magic;       /* 0 or 1 */
    bool first_whole;   /* a first message larger than limit is sent whole (KIP-74) */
    bool first_partial; /* ... or cut at limit, as Kafka did for Fetch v0-2, so that
                           the client learns its fetch size is too small */
    int64_t from;       /* records below it are skipped */
    int64_t next;       /* offset after the last record converted or skipped */
    int32_t messages;   /* messages appended */
};

/* Start converting to magic (0 or 1) into out, records from offset `from`. */
void legacy_down_init(struct legacy_down *d, struct writer *out, int8_t magic, int64_t from,
                      size_t limit);

/*
 * Append the records of the v2 batch of len bytes at p (one whole batch, as the store
 * hands them out) from d->from on, one uncompressed message each with its absolute
 * offset. Control batches are skipped. Returns 0 when the whole batch was taken, 1
 * when out is full (the message that did not fit is not taken: d->next names it),
 * or an error of batch_iter (-EBADMSG, -ENOTSUP, -EMSGSIZE, -ENOMEM); on error the
 * messages appended before stay.
 */
int legacy_down_batch(struct legacy_down *d, const uint8_t *p, size_t len);

#endif
