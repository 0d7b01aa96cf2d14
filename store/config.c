/*
 * config.c - store and topic configuration: Kafka's key names, defaults, ranges.
 *
 * Broker-level keys (log.segment.bytes, log.retention.hours, ...) set the defaults
 * every topic starts from; topic-level keys (segment.bytes, retention.ms, ...) are
 * validated here and applied on top. Time settings given in hours or minutes are
 * overridden by the more precise key, as in Kafka (ms > minutes > hours).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/conftab.h"
#include "lib/props.h"
#include "proto/record.h"
#include "store/private.h"

#define HOUR_MS                     (3600LL * 1000)
#define INTERNAL_SEGMENT_KEY        "internal.segment.bytes" /* Kafka's, for tests */
#define INTERNAL_SEGMENT_MIN        1024
#define STORE_SEGMENT_BYTES_MIN_STR "1048576" /* STORE_SEGMENT_BYTES_MIN */

const char *store_strerror(int err)
{
    switch (err) {
    case STORE_EINVALID_TOPIC:
        return "invalid topic name: use 1 to 249 of [A-Za-z0-9._-], not '.' or '..'";
    case STORE_EINVALID_PARTITIONS: return "invalid number of partitions";
    case STORE_EINVALID_CONFIG: return "invalid configuration";
    case STORE_EDUPLICATE_SEQ: return "duplicate batch from an idempotent producer";
    case STORE_EOUT_OF_ORDER_SEQ: return "out-of-order sequence number";
    case STORE_EPRODUCER_FENCED: return "producer epoch is stale";
    case STORE_EDELETE_DISABLED: return "topic deletion is disabled (delete.topic.enable)";
    case STORE_EFAILED: return "partition stopped after a storage error";
    case STORE_EINVALID_RECORD: return "record rejected (compacted topics need keys)";
    case STORE_EINVALID_TIMESTAMP:
        return "a record's timestamp is outside the topic's message.timestamp bounds";
    case STORE_ETOPIC_ID_MISMATCH: return "a partition.metadata names another topic id";
    default: break;
    }
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}

#define I32 INT32_MAX
#define I64 INT64_MAX

/* Every broker-level key the store reads; the topic keys follow. A key without a
 * default (NULL) is read only when given. */
const struct conf_key store_config_table[] = {
    {"log.dirs",
     CONF_STRING,
     "./brook-data",
     0,
     0,
     "The directory holding every topic's data (one directory).",
     false,
     {NULL}},
    {"log.dir", CONF_STRING, NULL, 0, 0, "Used when log.dirs is not given.", false, {NULL}},
    {"num.partitions",
     CONF_INT,
     "1",
     1,
     100000,
     "Partitions of a topic created without a count (also by auto-creation).",
     false,
     {NULL}},
    {"log.flush.interval.ms",
     CONF_LONG,
     "-1",
     -1,
     I32,
     "-1 or 0: an acknowledged record is on disk (group commit); set: flushed this often, and "
     "a crash may lose up to this much.",
     false,
     {NULL}},
    {"log.retention.check.interval.ms",
     CONF_LONG,
     "300000",
     1,
     I32,
     "How often segments past their retention are looked for.",
     false,
     {NULL}},
    {"log.flush.offset.checkpoint.interval.ms",
     CONF_LONG,
     "60000",
     1,
     I32,
     "How often recovery checkpoints are written.",
     false,
     {NULL}},
    {"delete.topic.enable",
     CONF_BOOLEAN,
     "true",
     0,
     0,
     "Whether topics may be deleted.",
     false,
     {NULL}},
    {"log.cleaner.enable",
     CONF_BOOLEAN,
     "true",
     0,
     0,
     "Whether compacted topics are compacted.",
     false,
     {NULL}},
    {"log.retention.ms",
     CONF_LONG,
     NULL,
     -1,
     I64,
     "Default retention.ms: whole segments older than this are deleted; -1: forever. Wins "
     "over the minutes and hours keys.",
     true,
     {NULL}},
    {"log.retention.minutes",
     CONF_INT,
     NULL,
     -1,
     I32,
     "Default retention in minutes, when log.retention.ms is not given.",
     true,
     {NULL}},
    {"log.retention.hours",
     CONF_INT,
     "168",
     -1,
     I32,
     "Default retention in hours, when neither the ms nor the minutes key is given.",
     true,
     {NULL}},
    {"log.roll.ms",
     CONF_LONG,
     NULL,
     1,
     I64,
     "Default segment.ms: a segment older than this is rolled. Wins over log.roll.hours.",
     true,
     {NULL}},
    {"log.roll.hours",
     CONF_INT,
     "168",
     1,
     I32,
     "Default segment age in hours, when log.roll.ms is not given.",
     true,
     {NULL}},
    {"log.cleaner.delete.retention.ms",
     CONF_LONG,
     "86400000",
     -1,
     I64,
     "Default delete.retention.ms: how long a compacted topic keeps tombstones.",
     true,
     {NULL}},
    {"log.cleaner.min.compaction.lag.ms",
     CONF_LONG,
     "0",
     -1,
     I64,
     "Default min.compaction.lag.ms: records younger than this are not compacted.",
     true,
     {NULL}},
    {"log.retention.bytes",
     CONF_LONG,
     "-1",
     -1,
     I64,
     "Default retention.bytes: whole segments are deleted past this size of a partition; -1: no "
     "limit.",
     true,
     {NULL}},
    {"log.segment.bytes",
     CONF_INT,
     "1073741824",
     STORE_SEGMENT_BYTES_MIN,
     I32,
     "Default segment.bytes: a segment is rolled at this size; at least 1 MiB, as in Kafka.",
     true,
     {NULL}},
    {"log.internal.segment.bytes",
     CONF_INT,
     NULL,
     INTERNAL_SEGMENT_MIN,
     I32,
     "For tests: a segment size below the floor of log.segment.bytes, which it overrides.",
     false,
     {NULL}},
    {"log.max.open.files",
     CONF_INT,
     "0",
     0,
     I32,
     "Segment files kept open at once; 0: a quarter of what the descriptor reserve leaves of "
     "ulimit -n (see Descriptors).",
     false,
     {NULL}},
    {"message.max.bytes",
     CONF_INT,
     "1048588",
     64,
     I32,
     "Default max.message.bytes: the largest record batch accepted.",
     true,
     {NULL}},
    {"log.index.interval.bytes",
     CONF_INT,
     "4096",
     0,
     I32,
     "Default index.interval.bytes: log bytes between offset index entries.",
     true,
     {NULL}},
    {"log.cleanup.policy",
     CONF_LIST,
     "delete",
     0,
     0,
     "Default cleanup.policy: delete, compact, or compact,delete.",
     true,
     {NULL}},
    {"log.cleaner.min.cleanable.ratio",
     CONF_DOUBLE,
     "0.5",
     0,
     1,
     "Default min.cleanable.dirty.ratio: the share of a log not yet compacted that starts a "
     "compaction.",
     true,
     {NULL}},
    {"log.cleaner.max.compaction.lag.ms",
     CONF_LONG,
     "9223372036854775807",
     1,
     I64,
     "Default max.compaction.lag.ms: dirty records older than this are compacted whatever the "
     "dirty ratio.",
     true,
     {NULL}},
    {"log.roll.jitter.ms",
     CONF_LONG,
     NULL,
     0,
     I64,
     "Default segment.jitter.ms. Wins over log.roll.jitter.hours.",
     true,
     {NULL}},
    {"log.roll.jitter.hours",
     CONF_INT,
     "0",
     0,
     I32,
     "Default segment jitter in hours, when log.roll.jitter.ms is not given.",
     true,
     {NULL}},
    {"log.segment.delete.delay.ms",
     CONF_LONG,
     "60000",
     0,
     I64,
     "Default file.delete.delay.ms: how long a removed segment's files stay on disk.",
     true,
     {NULL}},
    {"log.index.size.max.bytes",
     CONF_INT,
     "10485760",
     4,
     I32,
     "Default segment.index.bytes: the largest offset index of a segment.",
     true,
     {NULL}},
    {"log.message.timestamp.type",
     CONF_STRING,
     "CreateTime",
     0,
     0,
     "Default message.timestamp.type: CreateTime or LogAppendTime.",
     true,
     {NULL}},
    {"log.message.timestamp.before.max.ms",
     CONF_LONG,
     "9223372036854775807",
     0,
     I64,
     "Default message.timestamp.before.max.ms.",
     true,
     {NULL}},
    {"log.message.timestamp.after.max.ms",
     CONF_LONG,
     "9223372036854775807",
     0,
     I64,
     "Default message.timestamp.after.max.ms.",
     true,
     {NULL}},
    {"compression.type",
     CONF_STRING,
     "producer",
     0,
     0,
     "Default compression.type of topics.",
     true,
     {NULL}},
    {"min.insync.replicas",
     CONF_INT,
     "1",
     1,
     I32,
     "Default min.insync.replicas of topics.",
     true,
     {NULL}},
    {NULL, 0, NULL, 0, 0, NULL, false, {NULL}},
};

/* Every topic key of Kafka 4: those with a meaning on one broker, implemented, and
 * the replication and tiered-storage keys accepted as the no-ops they are here. The
 * keys with a broker synonym take their default from it; the others from here. */
const struct conf_key topic_config_table[] = {
    {"cleanup.policy",
     CONF_LIST,
     NULL,
     0,
     0,
     "delete: drop old segments; compact: keep the last record of each key; or both.",
     true,
     {"log.cleanup.policy"}},
    {"compression.gzip.level",
     CONF_INT,
     "-1",
     -1,
     9,
     "Accepted: brook compresses gzip at zlib's default level.",
     true,
     {NULL}},
    {"compression.lz4.level",
     CONF_INT,
     "9",
     1,
     17,
     "Accepted: brook compresses lz4 at liblz4's default level.",
     true,
     {NULL}},
    {"compression.type",
     CONF_STRING,
     NULL,
     0,
     0,
     "producer: batches are stored as the producer compressed them; uncompressed, gzip, "
     "snappy, lz4 or zstd: the broker recompresses batches that differ.",
     true,
     {"compression.type"}},
    {"compression.zstd.level",
     CONF_INT,
     "3",
     -131072,
     22,
     "Accepted: brook compresses zstd at libzstd's default level.",
     true,
     {NULL}},
    {"delete.retention.ms",
     CONF_LONG,
     NULL,
     0,
     I64,
     "How long a compacted topic keeps tombstones.",
     true,
     {"log.cleaner.delete.retention.ms"}},
    {"file.delete.delay.ms",
     CONF_LONG,
     NULL,
     0,
     I64,
     "How long the files of a segment removed by retention or DeleteRecords stay on disk (renamed "
     "*.deleted); compaction replaces files at once.",
     true,
     {"log.segment.delete.delay.ms"}},
    {"flush.messages",
     CONF_LONG,
     "9223372036854775807",
     1,
     I64,
     "Accepted: brook syncs by log.flush.interval.ms (by default before every acknowledgement).",
     true,
     {NULL}},
    {"flush.ms",
     CONF_LONG,
     "9223372036854775807",
     0,
     I64,
     "Accepted: brook syncs by log.flush.interval.ms (by default before every acknowledgement).",
     true,
     {NULL}},
    {"follower.replication.throttled.replicas",
     CONF_LIST,
     "",
     0,
     0,
     "Accepted: one broker has no followers to throttle.",
     true,
     {NULL}},
    {"index.interval.bytes",
     CONF_INT,
     NULL,
     0,
     I32,
     "Log bytes between offset index entries.",
     true,
     {"log.index.interval.bytes"}},
    {"leader.replication.throttled.replicas",
     CONF_LIST,
     "",
     0,
     0,
     "Accepted: one broker replicates to no one.",
     true,
     {NULL}},
    {"local.retention.bytes",
     CONF_LONG,
     "-2",
     -2,
     I64,
     "Accepted: without tiered storage every byte is local (retention.bytes applies).",
     true,
     {NULL}},
    {"local.retention.ms",
     CONF_LONG,
     "-2",
     -2,
     I64,
     "Accepted: without tiered storage every byte is local (retention.ms applies).",
     true,
     {NULL}},
    {"max.compaction.lag.ms",
     CONF_LONG,
     NULL,
     1,
     I64,
     "Dirty records older than this are compacted, however low the dirty ratio.",
     true,
     {"log.cleaner.max.compaction.lag.ms"}},
    {"max.message.bytes",
     CONF_INT,
     NULL,
     64,
     I32,
     "The largest record batch accepted (after the broker's recompression).",
     true,
     {"message.max.bytes"}},
    {"message.downconversion.enable",
     CONF_BOOLEAN,
     "true",
     0,
     0,
     "Accepted: brook serves record batch v2 only and never converts.",
     true,
     {NULL}},
    {"message.timestamp.after.max.ms",
     CONF_LONG,
     NULL,
     0,
     I64,
     "With CreateTime, a batch with a record this far ahead of the broker's clock is refused "
     "(INVALID_TIMESTAMP).",
     true,
     {"log.message.timestamp.after.max.ms"}},
    {"message.timestamp.before.max.ms",
     CONF_LONG,
     NULL,
     0,
     I64,
     "With CreateTime, a batch with a record this far behind the broker's clock is refused "
     "(INVALID_TIMESTAMP).",
     true,
     {"log.message.timestamp.before.max.ms"}},
    {"message.timestamp.type",
     CONF_STRING,
     NULL,
     0,
     0,
     "CreateTime: records keep the producer's timestamps; LogAppendTime: the broker stamps "
     "each batch with its clock when appending it.",
     true,
     {"log.message.timestamp.type"}},
    {"min.cleanable.dirty.ratio",
     CONF_DOUBLE,
     NULL,
     0,
     1,
     "The share of a log not yet compacted that starts a compaction.",
     true,
     {"log.cleaner.min.cleanable.ratio"}},
    {"min.compaction.lag.ms",
     CONF_LONG,
     NULL,
     0,
     I64,
     "Records younger than this are not compacted.",
     true,
     {"log.cleaner.min.compaction.lag.ms"}},
    {"min.insync.replicas",
     CONF_INT,
     NULL,
     1,
     I32,
     "As in Kafka on one broker: above 1, a Produce with acks=all gets NOT_ENOUGH_REPLICAS.",
     true,
     {"min.insync.replicas"}},
    {"preallocate",
     CONF_BOOLEAN,
     "false",
     0,
     0,
     "Accepted: brook's segments grow as they are written.",
     true,
     {NULL}},
    {"remote.log.copy.disable",
     CONF_BOOLEAN,
     "false",
     0,
     0,
     "Accepted: brook has no tiered storage.",
     true,
     {NULL}},
    {"remote.log.delete.on.disable",
     CONF_BOOLEAN,
     "false",
     0,
     0,
     "Accepted: brook has no tiered storage.",
     true,
     {NULL}},
    {"remote.storage.enable",
     CONF_BOOLEAN,
     "false",
     0,
     0,
     "Only false: brook has no tiered storage (true gets INVALID_CONFIG, as in Kafka without "
     "a remote log manager).",
     true,
     {NULL}},
    {"retention.bytes",
     CONF_LONG,
     NULL,
     -1,
     I64,
     "The most a partition keeps; -1: no limit.",
     true,
     {"log.retention.bytes"}},
    {"retention.ms",
     CONF_LONG,
     NULL,
     -1,
     I64,
     "How long records are kept; -1: forever.",
     true,
     {"log.retention.ms", "log.retention.minutes", "log.retention.hours"}},
    {"segment.bytes",
     CONF_INT,
     NULL,
     STORE_SEGMENT_BYTES_MIN,
     I32,
     "A segment is rolled at this size.",
     true,
     {"log.segment.bytes"}},
    {"segment.index.bytes",
     CONF_INT,
     NULL,
     4,
     I32,
     "A segment is rolled when its offset index would pass this size (8 bytes an entry).",
     true,
     {"log.index.size.max.bytes"}},
    {"segment.jitter.ms",
     CONF_LONG,
     NULL,
     0,
     I64,
     "The most taken off segment.ms, at random per segment, so segments do not all roll at "
     "once.",
     true,
     {"log.roll.jitter.ms", "log.roll.jitter.hours"}},
    {"segment.ms",
     CONF_LONG,
     NULL,
     1,
     I64,
     "A segment older than this is rolled.",
     true,
     {"log.roll.ms", "log.roll.hours"}},
    {"unclean.leader.election.enable",
     CONF_BOOLEAN,
     "false",
     0,
     0,
     "Accepted: the one broker is always the leader.",
     true,
     {NULL}},
    {NULL, 0, NULL, 0, 0, NULL, false, {NULL}},
};

void store_config_defaults(struct store_config *c)
{
    const char *bad;
    /* the table's defaults; tests/unit checks that each of them parses */
    if (store_config_from_props(c, NULL, &bad))
        abort();
}

/* Parse "delete", "compact", "compact,delete" (either order) into CLEANUP_* bits. */
static int parse_cleanup(const char *v, int *out)
{
    int bits = 0;
    char buf[64];
    if (snprintf(buf, sizeof buf, "%s", v) >= (int)sizeof buf)
        return -EINVAL;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (!strcmp(tok, "delete"))
            bits |= CLEANUP_DELETE;
        else if (!strcmp(tok, "compact"))
            bits |= CLEANUP_COMPACT;
        else
            return -EINVAL;
    }
    if (!bits)
        return -EINVAL;
    *out = bits;
    return 0;
}

static int parse_ratio(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || d < 0 || d > 1)
        return -EINVAL;
    *out = d;
    return 0;
}

static int parse_timestamp_type(const char *v, int *out)
{
    if (!strcmp(v, "CreateTime"))
        *out = TIMESTAMP_CREATE;
    else if (!strcmp(v, "LogAppendTime"))
        *out = TIMESTAMP_LOG_APPEND;
    else
        return -EINVAL;
    return 0;
}

/* Kafka's names: producer, uncompressed, or a codec. */
static int parse_compression(const char *v, int *out)
{
    enum codec c;
    if (!strcmp(v, "producer"))
        *out = TOPIC_COMPRESSION_PRODUCER;
    else if (!strcmp(v, "uncompressed"))
        *out = CODEC_NONE;
    else if (strcmp(v, "none") && !codec_parse(v, &c)) /* "none" is the producer's word */
        *out = (int)c;
    else
        return -EINVAL;
    return 0;
}

/* The throttled-replicas lists: empty, "*", or partition:broker pairs. */
static int parse_throttled(const char *v)
{
    if (!*v || !strcmp(v, "*"))
        return 0;
    for (const char *q = v; *q;) {
        char *end;
        errno = 0;
        long part = strtol(q, &end, 10);
        if (errno || end == q || part < 0 || *end != ':')
            return -EINVAL;
        q = end + 1;
        long broker = strtol(q, &end, 10);
        if (errno || end == q || broker < 0 || (*end && *end != ','))
            return -EINVAL;
        q = *end ? end + 1 : end;
        while (*q == ' ')
            q++;
    }
    return 0;
}

static const char *given(const struct props *p, const char *key)
{
    return p ? props_get(p, key) : NULL;
}

static int get_i64(const struct props *p, const char *key, int64_t *out, const char **bad)
{
    if (conf_get_i64(store_config_table, p, key, out))
        return *bad = key, STORE_EINVALID_CONFIG;
    return 0;
}

/* A time setting that may be given in ms, minutes or hours; the finest wins, and
 * the ms key's own default (when it has one) applies when none is given. */
static int get_time(const struct props *p, const char *ms_key, const char *min_key,
                    const char *hours_key, int64_t *out, const char **bad)
{
    int64_t hours = 0, minutes = 0;
    /* every key given is checked, even one a finer key overrides */
    if ((hours_key && get_i64(p, hours_key, &hours, bad)) ||
        (min_key && given(p, min_key) && get_i64(p, min_key, &minutes, bad)))
        return STORE_EINVALID_CONFIG;
    if (given(p, ms_key) || !hours_key)
        return get_i64(p, ms_key, out, bad);
    if (min_key && given(p, min_key))
        *out = minutes < 0 ? -1 : minutes * 60000;
    else
        *out = hours < 0 ? -1 : hours * HOUR_MS;
    return 0;
}

static int store_keys_from_props(struct store_config *c, const struct props *p, const char **bad)
{
    int64_t v;
    c->dir = given(p, "log.dirs") ? given(p, "log.dirs")
                                  : conf_get_str(store_config_table, p, "log.dir");
    if (!c->dir)
        c->dir = conf_get_str(store_config_table, NULL, "log.dirs");
    if (!*c->dir || strchr(c->dir, ',')) /* one directory only */
        return *bad = given(p, "log.dirs") ? "log.dirs" : "log.dir", STORE_EINVALID_CONFIG;
    if (get_i64(p, "num.partitions", &v, bad))
        return STORE_EINVALID_CONFIG;
    c->num_partitions = (int32_t)v;
    if (get_i64(p, "log.flush.interval.ms", &v, bad))
        return STORE_EINVALID_CONFIG;
    c->flush_interval_ms = v > 0 ? v : -1;
    if (get_i64(p, "log.retention.check.interval.ms", &c->retention_check_ms, bad) ||
        get_i64(p, "log.flush.offset.checkpoint.interval.ms", &c->checkpoint_interval_ms, bad) ||
        get_i64(p, "log.max.open.files", &c->max_open_files, bad))
        return STORE_EINVALID_CONFIG;
    if (conf_get_bool(store_config_table, p, "delete.topic.enable", &c->delete_topic_enable))
        return *bad = "delete.topic.enable", STORE_EINVALID_CONFIG;
    if (conf_get_bool(store_config_table, p, "log.cleaner.enable", &c->cleaner_enable))
        return *bad = "log.cleaner.enable", STORE_EINVALID_CONFIG;
    return 0;
}

/* The broker keys that give every topic its defaults. */
static int topic_defaults_from_props(struct topic_config *t, const struct props *p,
                                     const char **bad)
{
    if (get_time(p, "log.retention.ms", "log.retention.minutes", "log.retention.hours",
                 &t->retention_ms, bad) ||
        get_time(p, "log.roll.ms", NULL, "log.roll.hours", &t->segment_ms, bad) ||
        get_time(p, "log.cleaner.delete.retention.ms", NULL, NULL, &t->delete_retention_ms, bad) ||
        get_time(p, "log.cleaner.min.compaction.lag.ms", NULL, NULL, &t->min_compaction_lag_ms,
                 bad) ||
        get_i64(p, "log.retention.bytes", &t->retention_bytes, bad) ||
        get_i64(p, "log.segment.bytes", &t->segment_bytes, bad) ||
        get_i64(p, "message.max.bytes", &t->max_message_bytes, bad) ||
        get_i64(p, "log.index.interval.bytes", &t->index_interval_bytes, bad) ||
        get_time(p, "log.roll.jitter.ms", NULL, "log.roll.jitter.hours", &t->segment_jitter_ms,
                 bad) ||
        get_i64(p, "log.cleaner.max.compaction.lag.ms", &t->max_compaction_lag_ms, bad) ||
        get_i64(p, "log.segment.delete.delay.ms", &t->file_delete_delay_ms, bad) ||
        get_i64(p, "log.index.size.max.bytes", &t->segment_index_bytes, bad) ||
        get_i64(p, "log.message.timestamp.before.max.ms", &t->ts_before_max_ms, bad) ||
        get_i64(p, "log.message.timestamp.after.max.ms", &t->ts_after_max_ms, bad) ||
        get_i64(p, "min.insync.replicas", &t->min_insync_replicas, bad))
        return STORE_EINVALID_CONFIG;
    if (parse_timestamp_type(conf_get_str(store_config_table, p, "log.message.timestamp.type"),
                             &t->timestamp_type))
        return *bad = "log.message.timestamp.type", STORE_EINVALID_CONFIG;
    if (parse_compression(conf_get_str(store_config_table, p, "compression.type"), &t->compression))
        return *bad = "compression.type", STORE_EINVALID_CONFIG;
    if (given(p, "log.internal.segment.bytes") &&
        get_i64(p, "log.internal.segment.bytes", &t->segment_bytes, bad))
        return STORE_EINVALID_CONFIG;
    if (parse_cleanup(conf_get_str(store_config_table, p, "log.cleanup.policy"),
                      &t->cleanup_policy))
        return *bad = "log.cleanup.policy", STORE_EINVALID_CONFIG;
    if (parse_ratio(conf_get_str(store_config_table, p, "log.cleaner.min.cleanable.ratio"),
                    &t->min_cleanable_ratio))
        return *bad = "log.cleaner.min.cleanable.ratio", STORE_EINVALID_CONFIG;
    return 0;
}

int store_config_from_props(struct store_config *c, const struct props *p, const char **bad_key)
{
    const char *bad = NULL;
    memset(c, 0, sizeof *c);
    if (store_keys_from_props(c, p, &bad) || topic_defaults_from_props(&c->topic, p, &bad)) {
        *bad_key = bad;
        return STORE_EINVALID_CONFIG;
    }
    return 0;
}

bool topic_config_known(const char *key, size_t len)
{
    if (len == strlen(INTERNAL_SEGMENT_KEY) && !memcmp(key, INTERNAL_SEGMENT_KEY, len))
        return true;
    for (const struct conf_key *k = topic_config_table; k->name; k++)
        if (len == strlen(k->name) && !memcmp(k->name, key, len))
            return true;
    return false;
}

/* The numeric topic keys and their fields. */
static const struct {
    const char *key;
    size_t off;
} int_fields[] = {
    {"retention.ms", offsetof(struct topic_config, retention_ms)},
    {"retention.bytes", offsetof(struct topic_config, retention_bytes)},
    {"segment.bytes", offsetof(struct topic_config, segment_bytes)},
    {"segment.ms", offsetof(struct topic_config, segment_ms)},
    {"max.message.bytes", offsetof(struct topic_config, max_message_bytes)},
    {"delete.retention.ms", offsetof(struct topic_config, delete_retention_ms)},
    {"min.compaction.lag.ms", offsetof(struct topic_config, min_compaction_lag_ms)},
    {"index.interval.bytes", offsetof(struct topic_config, index_interval_bytes)},
    {"segment.index.bytes", offsetof(struct topic_config, segment_index_bytes)},
    {"segment.jitter.ms", offsetof(struct topic_config, segment_jitter_ms)},
    {"max.compaction.lag.ms", offsetof(struct topic_config, max_compaction_lag_ms)},
    {"file.delete.delay.ms", offsetof(struct topic_config, file_delete_delay_ms)},
    {"message.timestamp.before.max.ms", offsetof(struct topic_config, ts_before_max_ms)},
    {"message.timestamp.after.max.ms", offsetof(struct topic_config, ts_after_max_ms)},
    {"min.insync.replicas", offsetof(struct topic_config, min_insync_replicas)},
};

static int64_t *int_field(struct topic_config *tc, const char *key)
{
    for (size_t i = 0; i < sizeof int_fields / sizeof *int_fields; i++)
        if (!strcmp(key, int_fields[i].key))
            return (int64_t *)((char *)tc + int_fields[i].off);
    return NULL;
}

/* A key without a field of its own: checked by its type and range. */
static int check_typed(const struct conf_key *ck, const struct props *one, const char *v)
{
    int64_t x;
    bool b;
    switch (ck->type) {
    case CONF_BOOLEAN:
        if (props_get_bool(one, ck->name, false, &b))
            return -EINVAL;
        /* tiered storage cannot be turned on: there is no remote log to copy to */
        return !strcmp(ck->name, "remote.storage.enable") && b ? -EINVAL : 0;
    case CONF_INT:
    case CONF_LONG: return props_get_i64(one, ck->name, 0, ck->min, ck->max, &x);
    case CONF_LIST: return parse_throttled(v);
    default: return -EINVAL;
    }
}

/* Apply one override; -EINVAL when the value is unacceptable. */
static int apply_one(struct topic_config *tc, const char *k, const char *v)
{
    const struct conf_key *ck = conf_find(topic_config_table, k);
    struct props *one = props_new();
    if (!one)
        return -ENOMEM;
    int rc = props_set(one, k, v);
    int64_t *field = int_field(tc, k);
    if (rc)
        goto out;
    if (!strcmp(k, INTERNAL_SEGMENT_KEY)) /* the range of its broker default */
        rc = props_get_i64(one, k, 0, INTERNAL_SEGMENT_MIN, INT32_MAX, &tc->segment_bytes);
    else if (!ck)
        rc = -EINVAL;
    else if (!strcmp(k, "cleanup.policy"))
        rc = parse_cleanup(v, &tc->cleanup_policy);
    else if (!strcmp(k, "min.cleanable.dirty.ratio"))
        rc = parse_ratio(v, &tc->min_cleanable_ratio);
    else if (!strcmp(k, "compression.type"))
        rc = parse_compression(v, &tc->compression);
    else if (!strcmp(k, "message.timestamp.type"))
        rc = parse_timestamp_type(v, &tc->timestamp_type);
    else if (field)
        rc = props_get_i64(one, k, 0, ck->min, ck->max, field);
    else
        rc = check_typed(ck, one, v);
out:
    props_free(one);
    return rc ? -EINVAL : 0;
}

int topic_config_apply(struct topic_config *tc, const struct props *overrides, const char **bad_key)
{
    const char *k, *v;
    for (size_t i = 0; overrides && props_at(overrides, i, &k, &v); i++) {
        if (!topic_config_known(k, strlen(k)) || apply_one(tc, k, v)) {
            if (bad_key)
                *bad_key = k;
            return STORE_EINVALID_CONFIG;
        }
    }
    /* as in Kafka, the internal key wins over segment.bytes, whatever the order */
    v = overrides ? props_get(overrides, INTERNAL_SEGMENT_KEY) : NULL;
    return v ? apply_one(tc, INTERNAL_SEGMENT_KEY, v) : 0;
}

int topic_config_restore(struct topic_config *tc, const struct props *overrides)
{
    /* a topic created before the floor keeps its data and its other settings; its
     * new segments are rolled at the floor */
    const char *v = overrides ? props_get(overrides, "segment.bytes") : NULL;
    struct props *fixed = NULL;
    int64_t x;
    if (v && !props_get_i64(overrides, "segment.bytes", 0, 0, INT32_MAX, &x) &&
        x < STORE_SEGMENT_BYTES_MIN) {
        const char *k, *val;
        int rc = (fixed = props_new()) ? 0 : -ENOMEM;
        for (size_t i = 0; !rc && props_at(overrides, i, &k, &val); i++)
            rc =
                props_set(fixed, k, strcmp(k, "segment.bytes") ? val : STORE_SEGMENT_BYTES_MIN_STR);
        if (rc) {
            props_free(fixed);
            return rc;
        }
        overrides = fixed;
    }
    int rc = topic_config_apply(tc, overrides, NULL);
    props_free(fixed);
    return rc;
}

const char *topic_config_value(const struct topic_config *tc, const char *key, char *buf,
                               size_t size)
{
    const int64_t *field = int_field((struct topic_config *)tc, key);
    const struct conf_key *ck = conf_find(topic_config_table, key);
    int c = tc->cleanup_policy;
    if (field)
        snprintf(buf, size, "%lld", (long long)*field);
    else if (!strcmp(key, "cleanup.policy"))
        snprintf(buf, size, "%s",
                 c == (CLEANUP_COMPACT | CLEANUP_DELETE) ? "compact,delete"
                 : c == CLEANUP_COMPACT                  ? "compact"
                                                         : "delete");
    else if (!strcmp(key, "min.cleanable.dirty.ratio"))
        snprintf(buf, size, "%g", tc->min_cleanable_ratio);
    else if (!strcmp(key, "compression.type"))
        snprintf(buf, size, "%s",
                 tc->compression == TOPIC_COMPRESSION_PRODUCER ? "producer"
                 : tc->compression == CODEC_NONE               ? "uncompressed"
                                                               : codec_name(tc->compression));
    else if (!strcmp(key, "message.timestamp.type"))
        snprintf(buf, size, "%s",
                 tc->timestamp_type == TIMESTAMP_LOG_APPEND ? "LogAppendTime" : "CreateTime");
    else /* a key accepted without effect: its default */
        snprintf(buf, size, "%s", ck && ck->def ? ck->def : "");
    return buf;
}
