/*
 * config.c - store and topic configuration: Kafka's key names, defaults, ranges.
 *
 * Broker-level keys (log.segment.bytes, log.retention.hours, ...) set the defaults
 * every topic starts from; topic-level keys (segment.bytes, retention.ms, ...) are
 * validated here and applied on top. Time settings given in hours or minutes are
 * overridden by the more precise key, as in Kafka (ms > minutes > hours).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/props.h"
#include "store/private.h"

#define HOUR_MS                     (3600LL * 1000)
#define INTERNAL_SEGMENT_KEY        "internal.segment.bytes" /* Kafka's, for tests */
#define INTERNAL_SEGMENT_MIN        1024
#define STORE_SEGMENT_BYTES_MIN_STR "1048576" /* STORE_SEGMENT_BYTES_MIN */
#define DAY_MS                      (24 * HOUR_MS)

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
    default: break;
    }
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}

void store_config_defaults(struct store_config *c)
{
    memset(c, 0, sizeof *c);
    c->dir = "./brook-data";
    c->num_partitions = 1;
    c->flush_interval_ms = -1;
    c->retention_check_ms = 300000;
    c->checkpoint_interval_ms = 60000;
    c->delete_topic_enable = true;
    c->cleaner_enable = true;
    c->topic = (struct topic_config){
        .retention_ms = 7 * DAY_MS,
        .retention_bytes = -1,
        .segment_bytes = 1LL << 30,
        .segment_ms = 7 * DAY_MS,
        .max_message_bytes = 1048588,
        .delete_retention_ms = DAY_MS,
        .min_compaction_lag_ms = 0,
        .min_cleanable_ratio = 0.5,
        .cleanup_policy = CLEANUP_DELETE,
        .index_interval_bytes = 4096,
    };
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

/* A time setting that may be given in ms, minutes or hours; the finest wins. */
static int get_time(const struct props *p, const char *ms_key, const char *min_key,
                    const char *hours_key, int64_t def, int64_t *out, const char **bad)
{
    int64_t v;
    if (hours_key && props_get(p, hours_key)) {
        if (props_get_i64(p, hours_key, 0, -1, INT32_MAX, &v))
            return *bad = hours_key, -EINVAL;
        def = v < 0 ? -1 : v * HOUR_MS;
    }
    if (min_key && props_get(p, min_key)) {
        if (props_get_i64(p, min_key, 0, -1, INT32_MAX, &v))
            return *bad = min_key, -EINVAL;
        def = v < 0 ? -1 : v * 60000;
    }
    if (props_get_i64(p, ms_key, def, -1, INT64_MAX, out))
        return *bad = ms_key, -EINVAL;
    return 0;
}

int store_config_from_props(struct store_config *c, const struct props *p, const char **bad_key)
{
    const char *bad = NULL;
    int64_t v;
    bool b;
    struct topic_config *t = &c->topic;

    const char *dir = props_get(p, "log.dirs");
    if (!dir)
        dir = props_get(p, "log.dir");
    if (dir) {
        if (!*dir || strchr(dir, ',')) /* one directory only */
            return *bad_key = props_get(p, "log.dirs") ? "log.dirs" : "log.dir",
                   STORE_EINVALID_CONFIG;
        c->dir = dir;
    }
    if (props_get_i64(p, "num.partitions", c->num_partitions, 1, 100000, &v))
        return *bad_key = "num.partitions", STORE_EINVALID_CONFIG;
    c->num_partitions = (int32_t)v;
    if (props_get_i64(p, "log.flush.interval.ms", c->flush_interval_ms, -1, INT32_MAX, &v))
        return *bad_key = "log.flush.interval.ms", STORE_EINVALID_CONFIG;
    c->flush_interval_ms = v > 0 ? v : -1;
    if (props_get_i64(p, "log.retention.check.interval.ms", c->retention_check_ms, 1, INT32_MAX,
                      &c->retention_check_ms))
        return *bad_key = "log.retention.check.interval.ms", STORE_EINVALID_CONFIG;
    if (props_get_i64(p, "log.flush.offset.checkpoint.interval.ms", c->checkpoint_interval_ms, 1,
                      INT32_MAX, &c->checkpoint_interval_ms))
        return *bad_key = "log.flush.offset.checkpoint.interval.ms", STORE_EINVALID_CONFIG;
    if (props_get_bool(p, "delete.topic.enable", c->delete_topic_enable, &b))
        return *bad_key = "delete.topic.enable", STORE_EINVALID_CONFIG;
    c->delete_topic_enable = b;
    if (props_get_bool(p, "log.cleaner.enable", c->cleaner_enable, &b))
        return *bad_key = "log.cleaner.enable", STORE_EINVALID_CONFIG;
    c->cleaner_enable = b;

    if (get_time(p, "log.retention.ms", "log.retention.minutes", "log.retention.hours",
                 t->retention_ms, &t->retention_ms, &bad) ||
        get_time(p, "log.roll.ms", NULL, "log.roll.hours", t->segment_ms, &t->segment_ms, &bad) ||
        get_time(p, "log.cleaner.delete.retention.ms", NULL, NULL, t->delete_retention_ms,
                 &t->delete_retention_ms, &bad) ||
        get_time(p, "log.cleaner.min.compaction.lag.ms", NULL, NULL, t->min_compaction_lag_ms,
                 &t->min_compaction_lag_ms, &bad))
        return *bad_key = bad, STORE_EINVALID_CONFIG;
    if (t->segment_ms < 1)
        return *bad_key = "log.roll.ms", STORE_EINVALID_CONFIG;
    if (props_get_i64(p, "log.retention.bytes", t->retention_bytes, -1, INT64_MAX,
                      &t->retention_bytes))
        return *bad_key = "log.retention.bytes", STORE_EINVALID_CONFIG;
    if (props_get_i64(p, "log.segment.bytes", t->segment_bytes, STORE_SEGMENT_BYTES_MIN, INT32_MAX,
                      &t->segment_bytes))
        return *bad_key = "log.segment.bytes", STORE_EINVALID_CONFIG;
    if (props_get_i64(p, "log.internal.segment.bytes", t->segment_bytes, INTERNAL_SEGMENT_MIN,
                      INT32_MAX, &t->segment_bytes))
        return *bad_key = "log.internal.segment.bytes", STORE_EINVALID_CONFIG;
    if (props_get_i64(p, "log.max.open.files", c->max_open_files, 0, INT32_MAX, &c->max_open_files))
        return *bad_key = "log.max.open.files", STORE_EINVALID_CONFIG;
    if (props_get_i64(p, "message.max.bytes", t->max_message_bytes, 64, INT32_MAX,
                      &t->max_message_bytes))
        return *bad_key = "message.max.bytes", STORE_EINVALID_CONFIG;
    if (props_get_i64(p, "log.index.interval.bytes", t->index_interval_bytes, 0, INT32_MAX,
                      &t->index_interval_bytes))
        return *bad_key = "log.index.interval.bytes", STORE_EINVALID_CONFIG;
    const char *s = props_get(p, "log.cleanup.policy");
    if (s && parse_cleanup(s, &t->cleanup_policy))
        return *bad_key = "log.cleanup.policy", STORE_EINVALID_CONFIG;
    s = props_get(p, "log.cleaner.min.cleanable.ratio");
    if (s && parse_ratio(s, &t->min_cleanable_ratio))
        return *bad_key = "log.cleaner.min.cleanable.ratio", STORE_EINVALID_CONFIG;
    return 0;
}

const char *const topic_config_keys[] = {
    "cleanup.policy",
    "compression.type",
    "delete.retention.ms",
    "index.interval.bytes",
    "max.message.bytes",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.ms",
    NULL,
};

bool topic_config_known(const char *key, size_t len)
{
    if (len == strlen(INTERNAL_SEGMENT_KEY) && !memcmp(key, INTERNAL_SEGMENT_KEY, len))
        return true;
    for (size_t i = 0; topic_config_keys[i]; i++)
        if (len == strlen(topic_config_keys[i]) && !memcmp(topic_config_keys[i], key, len))
            return true;
    return false;
}

static const char *const compression_types[] = {"producer", "uncompressed", "gzip", "snappy",
                                                "lz4",      "zstd",         NULL};

/* Apply one override; -EINVAL when the value is unacceptable. */
static int apply_one(struct topic_config *tc, const char *k, const char *v)
{
    struct props *one = props_new();
    if (!one)
        return -ENOMEM;
    int rc = props_set(one, k, v);
    int64_t x;
    if (rc)
        goto out;
    rc = -EINVAL;
    if (!strcmp(k, "cleanup.policy")) {
        rc = parse_cleanup(v, &tc->cleanup_policy);
    } else if (!strcmp(k, "min.cleanable.dirty.ratio")) {
        rc = parse_ratio(v, &tc->min_cleanable_ratio);
    } else if (!strcmp(k, "compression.type")) {
        for (size_t i = 0; compression_types[i]; i++)
            if (!strcmp(v, compression_types[i]))
                rc = 0;
    } else if (!strcmp(k, "message.timestamp.type")) {
        rc = strcmp(v, "CreateTime") ? -EINVAL : 0; /* brook keeps CreateTime */
    } else if (!strcmp(k, "min.insync.replicas")) {
        rc = props_get_i64(one, k, 1, 1, 1, &x); /* one broker: one replica */
    } else {
        struct {
            const char *key;
            int64_t *field;
            int64_t min;
        } ints[] = {
            {"retention.ms", &tc->retention_ms, -1},
            {"retention.bytes", &tc->retention_bytes, -1},
            {"segment.bytes", &tc->segment_bytes, STORE_SEGMENT_BYTES_MIN},
            {INTERNAL_SEGMENT_KEY, &tc->segment_bytes, INTERNAL_SEGMENT_MIN},
            {"segment.ms", &tc->segment_ms, 1},
            {"max.message.bytes", &tc->max_message_bytes, 64},
            {"delete.retention.ms", &tc->delete_retention_ms, 0},
            {"min.compaction.lag.ms", &tc->min_compaction_lag_ms, 0},
            {"index.interval.bytes", &tc->index_interval_bytes, 0},
        };
        for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
            if (!strcmp(k, ints[i].key)) {
                int64_t max = ints[i].field == &tc->segment_bytes || !strcmp(k, "max.message.bytes")
                                  ? INT32_MAX
                                  : INT64_MAX;
                rc = props_get_i64(one, k, 0, ints[i].min, max, ints[i].field);
            }
    }
out:
    props_free(one);
    return rc;
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
    struct {
        const char *key;
        int64_t v;
    } ints[] = {
        {"retention.ms", tc->retention_ms},
        {"retention.bytes", tc->retention_bytes},
        {"segment.bytes", tc->segment_bytes},
        {"segment.ms", tc->segment_ms},
        {"max.message.bytes", tc->max_message_bytes},
        {"delete.retention.ms", tc->delete_retention_ms},
        {"min.compaction.lag.ms", tc->min_compaction_lag_ms},
        {"index.interval.bytes", tc->index_interval_bytes},
        {"min.insync.replicas", 1},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        if (!strcmp(key, ints[i].key)) {
            snprintf(buf, size, "%lld", (long long)ints[i].v);
            return buf;
        }
    if (!strcmp(key, "cleanup.policy")) {
        int c = tc->cleanup_policy;
        snprintf(buf, size, "%s",
                 c == (CLEANUP_COMPACT | CLEANUP_DELETE) ? "compact,delete"
                 : c == CLEANUP_COMPACT                  ? "compact"
                                                         : "delete");
    } else if (!strcmp(key, "min.cleanable.dirty.ratio")) {
        snprintf(buf, size, "%g", tc->min_cleanable_ratio);
    } else if (!strcmp(key, "compression.type")) {
        snprintf(buf, size, "producer");
    } else if (!strcmp(key, "message.timestamp.type")) {
        snprintf(buf, size, "CreateTime");
    } else {
        snprintf(buf, size, "%s", "");
    }
    return buf;
}
