/*
 * ingest.c - what the broker does to a producer's batch before appending it, as
 * the topic's configuration asks (Kafka's LogValidator rules for v2 batches):
 *
 *   - with message.timestamp.type=CreateTime, every record's timestamp must lie
 *     within message.timestamp.before.max.ms behind and .after.max.ms ahead of the
 *     broker's clock, or the whole batch is refused (INVALID_TIMESTAMP);
 *   - with a compression.type other than "producer", a batch compressed otherwise
 *     is rebuilt with the topic's codec, keeping offsets, timestamps, keys, values,
 *     headers and the producer's id, epoch and sequence;
 *   - with LogAppendTime, the batch's maxTimestamp becomes the broker's clock at
 *     append and attribute bit 3 says so; consumers then read that time for every
 *     record. baseTimestamp and the records are left alone, as Kafka leaves them,
 *     and the CRC is recomputed since it covers both.
 *
 * The first two run before the partition's append lock is taken (they may cost a
 * decompression); the stamp runs under it, so that append times never go back
 * within a partition.
 */
#include <errno.h>
#include <stdlib.h>

#include "lib/crc32c.h"
#include "proto/record.h"
#include "store/private.h"

/* Whether ts is more than `before` behind now or `after` ahead of it (unsigned
 * differences: neither side may overflow, whatever a producer sent). */
static bool timestamp_out_of_range(int64_t ts, int64_t now, int64_t before, int64_t after)
{
    if (ts < now)
        return (uint64_t)now - (uint64_t)ts > (uint64_t)before;
    return (uint64_t)ts - (uint64_t)now > (uint64_t)after;
}

int ingest_check_timestamps(const uint8_t *batch, size_t len, const struct topic_config *tc,
                            int64_t now)
{
    const int64_t none = INT64_MAX;
    if (tc->timestamp_type != TIMESTAMP_CREATE ||
        (tc->ts_before_max_ms == none && tc->ts_after_max_ms == none))
        return 0;
    struct batch_iter it;
    struct record r;
    int rc = batch_iter_init(&it, batch, len, &batch_limits_default, false);
    while (!rc && (rc = batch_iter_next(&it, &r)) == 1) {
        rc = 0;
        if (r.timestamp != -1 && /* -1: no timestamp, which Kafka lets through */
            timestamp_out_of_range(r.timestamp, now, tc->ts_before_max_ms, tc->ts_after_max_ms))
            rc = STORE_EINVALID_TIMESTAMP;
    }
    batch_iter_release(&it);
    return rc;
}

/* The headers of r into *hdrs (grown to fit; they cannot outnumber r's bytes). */
static int headers_collect(const struct record *r, struct record_header **hdrs, size_t *cap)
{
    if ((size_t)r->headers_count > *cap) {
        struct record_header *n = realloc(*hdrs, (size_t)r->headers_count * sizeof *n);
        if (!n)
            return -ENOMEM;
        *hdrs = n;
        *cap = (size_t)r->headers_count;
    }
    struct reader rd = r->headers;
    for (int32_t i = 0; i < r->headers_count; i++)
        if (record_header_next(&rd, &(*hdrs)[i]) != 1)
            return -EBADMSG;
    return 0;
}

int ingest_recompress(const uint8_t *batch, size_t len, int codec, struct writer *out)
{
    struct batch_header h;
    int rc = batch_header_parse(batch, len, &h);
    if (rc || codec == TOPIC_COMPRESSION_PRODUCER ||
        (h.attributes & BATCH_ATTR_CODEC_MASK) == codec)
        return rc;
    struct batch_builder b;
    struct batch_iter it;
    struct record r;
    struct record_header *hdrs = NULL;
    size_t cap = 0;
    batch_builder_init(&b, (enum codec)codec, batch_limits_default.max_decompressed);
    b.producer_id = h.producer_id;
    b.producer_epoch = h.producer_epoch;
    b.base_sequence = h.base_sequence;
    b.attributes = (int16_t)(h.attributes & BATCH_ATTR_TRANSACTIONAL);
    rc = batch_iter_init(&it, batch, len, &batch_limits_default, false);
    while (!rc && (rc = batch_iter_next(&it, &r)) == 1) {
        rc = headers_collect(&r, &hdrs, &cap);
        if (!rc)
            rc = batch_builder_add_at(&b, (int32_t)(r.offset - h.base_offset), r.timestamp, r.key,
                                      r.key_len, r.value, r.value_len, hdrs, r.headers_count);
    }
    if (!rc)
        rc = batch_builder_finish(&b, h.last_offset_delta, out);
    batch_iter_release(&it);
    batch_builder_release(&b);
    free(hdrs);
    return rc ? rc : 1;
}

void ingest_stamp_append_time(uint8_t *batch, size_t len, int64_t now)
{
    struct writer w;
    uint16_t attrs =
        (uint16_t)(((unsigned)batch[BATCH_OFF_ATTRIBUTES] << 8) | batch[BATCH_OFF_ATTRIBUTES + 1]);
    writer_init_fixed(&w, batch + BATCH_OFF_ATTRIBUTES, 2);
    writer_be16(&w, (uint16_t)(attrs | BATCH_ATTR_LOG_APPEND_TIME));
    writer_init_fixed(&w, batch + BATCH_OFF_MAX_TIMESTAMP, 8);
    writer_be64(&w, (uint64_t)now);
    writer_init_fixed(&w, batch + BATCH_OFF_CRC, 4);
    writer_be32(&w, crc32c(0, batch + BATCH_OFF_ATTRIBUTES, len - BATCH_OFF_ATTRIBUTES));
}
