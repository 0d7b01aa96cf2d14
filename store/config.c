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

#include "lib/conftab.h"
#include "lib/props.h"
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
    {NULL, 0, NULL, 0, 0, NULL, false, {NULL}},
};

/* The keys a topic may set; their defaults are the broker keys named as synonyms. */
const struct conf_key topic_config_table[] = {
    {"cleanup.policy",
     CONF_LIST,
     NULL,
     0,
     0,
     "delete: drop old segments; compact: keep the last record of each key; or both.",
     true,
     {"log.cleanup.policy"}},
    {"compression.type",
     CONF_STRING,
     "producer",
     0,
     0,
     "Accepted for compatibility; batches are stored as the producer compressed them.",
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
    {"index.interval.bytes",
     CONF_INT,
     NULL,
     0,
     I32,
     "Log bytes between offset index entries.",
     true,
     {"log.index.interval.bytes"}},
    {"max.message.bytes",
     CONF_INT,
     NULL,
     64,
     I32,
     "The largest record batch accepted.",
     true,
     {"message.max.bytes"}},
    {"message.timestamp.type",
     CONF_STRING,
     "CreateTime",
     0,
     0,
     "Only CreateTime: records keep the producer's timestamps.",
     true,
     {NULL}},
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
     "1",
     1,
     1,
     "Always 1: brook is a single broker.",
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
    {"segment.ms",
     CONF_LONG,
     NULL,
     1,
     I64,
     "A segment older than this is rolled.",
     true,
     {"log.roll.ms", "log.roll.hours"}},
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
        get_i64(p, "log.index.interval.bytes", &t->index_interval_bytes, bad))
        return STORE_EINVALID_CONFIG;
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
        const struct conf_key *ck = conf_find(topic_config_table, k); /* one broker: one replica */
        rc = props_get_i64(one, k, 1, ck->min, ck->max, &x);
    } else {
        struct {
            const char *key;
            int64_t *field;
        } ints[] = {
            {"retention.ms", &tc->retention_ms},
            {"retention.bytes", &tc->retention_bytes},
            {"segment.bytes", &tc->segment_bytes},
            {"segment.ms", &tc->segment_ms},
            {"max.message.bytes", &tc->max_message_bytes},
            {"delete.retention.ms", &tc->delete_retention_ms},
            {"min.compaction.lag.ms", &tc->min_compaction_lag_ms},
            {"index.interval.bytes", &tc->index_interval_bytes},
        };
        if (!strcmp(k, INTERNAL_SEGMENT_KEY)) /* the range of its broker default */
            rc = props_get_i64(one, k, 0, INTERNAL_SEGMENT_MIN, INT32_MAX, &tc->segment_bytes);
        for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
            if (!strcmp(k, ints[i].key)) {
                const struct conf_key *ck = conf_find(topic_config_table, k);
                rc = props_get_i64(one, k, 0, ck->min, ck->max, ints[i].field);
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
