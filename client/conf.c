/*
 * conf.c - configuration by Kafka property name, and error strings.
 *
 * Every key is one row of a table: its name, a type (integer with bounds, boolean,
 * string, or an enumeration of words) and where the parsed value lives in struct
 * client_conf. brook_conf_set() validates against the row at once, so a bad value
 * is reported where it is set, not later when the client uses it. The defaults are
 * the rows' default strings, parsed the same way.
 *
 * Error strings: errno values through strerror_r's table (strerror() is not
 * thread-safe, so the common ones are spelled out here), brook's own codes, and
 * Kafka's codes with a sentence for the ones users meet and Kafka's name for the
 * rest. All of them are static strings.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "client/private.h"
#include "proto/kafka_errors.h"

enum conf_type { T_INT, T_BOOL, T_STR, T_ENUM };

struct conf_row {
    const char *name;
    enum conf_type type;
    size_t off; /* offsetof in struct client_conf */
    int width;  /* integers: 1, 2, 4 or 8 bytes */
    int64_t min, max;
    const char *def;          /* default, parsed like a user value */
    const char *const *words; /* T_ENUM: accepted words, NULL-terminated */
    const int *values;        /* T_ENUM: the value of each word */
};

static const char *const acks_words[] = {"all", "-1", "0", "1", NULL};
static const int acks_values[] = {-1, -1, 0, 1};
static const char *const codec_words[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};
static const int codec_values[] = {CODEC_NONE, CODEC_GZIP, CODEC_SNAPPY, CODEC_LZ4, CODEC_ZSTD};
static const char *const part_words[] = {"murmur2_random", "murmur2", NULL};
static const int part_values[] = {PART_MURMUR2_RANDOM, PART_MURMUR2};
static const char *const reset_words[] = {"earliest", "beginning", "smallest", "latest",
                                          "end",      "largest",   "none",     NULL};
static const int reset_values[] = {BROOK_OFFSET_BEGINNING,
                                   BROOK_OFFSET_BEGINNING,
                                   BROOK_OFFSET_BEGINNING,
                                   BROOK_OFFSET_END,
                                   BROOK_OFFSET_END,
                                   BROOK_OFFSET_END,
                                   0};
static const char *const sec_words[] = {"plaintext", "PLAINTEXT",      "ssl",
                                        "SSL",       "sasl_plaintext", "SASL_PLAINTEXT",
                                        "sasl_ssl",  "SASL_SSL",       NULL};
static const int sec_values[] = {SEC_PLAINTEXT, SEC_PLAINTEXT,      SEC_SSL,
                                 SEC_SSL,       SEC_SASL_PLAINTEXT, SEC_SASL_PLAINTEXT,
                                 SEC_SASL_SSL,  SEC_SASL_SSL};
static const char *const endpoint_words[] = {"https", "none", NULL};
static const int endpoint_values[] = {1, 0};
/* GSSAPI and OAUTHBEARER are librdkafka's too, but libbrook has neither: refused */
static const char *const mech_words[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", NULL};
static const int mech_values[] = {SASL_PLAIN, SASL_SCRAM_SHA_256, SASL_SCRAM_SHA_512};
static const char *const iso_words[] = {"read_uncommitted", "read_committed", NULL};
static const int iso_values[] = {0, 1};

#define F(field) offsetof(struct client_conf, field), (int)sizeof(((struct client_conf *)0)->field)
#define INT(name, field, min, max, def)                                                            \
    {                                                                                              \
        name, T_INT, F(field), min, max, def, NULL, NULL                                           \
    }
#define BOOL(name, field, def)                                                                     \
    {                                                                                              \
        name, T_BOOL, F(field), 0, 1, def, NULL, NULL                                              \
    }
#define STR(name, field, def)                                                                      \
    {                                                                                              \
        name, T_STR, F(field), 0, 0, def, NULL, NULL                                               \
    }
#define ENUM(name, field, def, w, v)                                                               \
    {                                                                                              \
        name, T_ENUM, F(field), 0, 0, def, w, v                                                    \
    }

static const struct conf_row rows[] = {
    STR("bootstrap.servers", bootstrap, "localhost:9092"),
    STR("client.id", client_id, "brook"),
    INT("request.timeout.ms", request_timeout_ms, 1, INT32_MAX, "30000"),
    INT("socket.connection.setup.timeout.ms", connect_timeout_ms, 1, INT32_MAX, "10000"),
    INT("reconnect.backoff.ms", backoff_ms, 0, INT32_MAX, "100"),
    INT("reconnect.backoff.max.ms", backoff_max_ms, 0, INT32_MAX, "10000"),
    INT("metadata.max.age.ms", metadata_max_age_ms, 1, INT32_MAX, "300000"),
    INT("retry.backoff.ms", retry_backoff_ms, 1, INT32_MAX, "100"),
    ENUM("acks", acks, "all", acks_words, acks_values),
    INT("linger.ms", linger_ms, 0, 900000, "5"),
    INT("batch.size", batch_size, 1, INT32_MAX, "1048576"),
    INT("max.request.size", max_request_size, 1024, 1 << 30, "1048576"),
    ENUM("compression.type", codec, "none", codec_words, codec_values),
    INT("retries", retries, 0, INT32_MAX, "2147483647"),
    INT("delivery.timeout.ms", delivery_timeout_ms, 1, INT32_MAX, "120000"),
    BOOL("enable.idempotence", idempotence, "true"),
    INT("buffer.memory", buffer_memory, 1024, INT64_MAX, "33554432"),
    INT("max.in.flight.requests.per.connection", max_in_flight, 1, 1000000, "5"),
    ENUM("partitioner", partitioner, "murmur2_random", part_words, part_values),
    BOOL("allow.auto.create.topics", auto_create, "true"),
    STR("group.id", group_id, NULL),
    INT("session.timeout.ms", session_timeout_ms, 1, INT32_MAX, "45000"),
    INT("heartbeat.interval.ms", heartbeat_ms, 1, INT32_MAX, "3000"),
    INT("max.poll.interval.ms", max_poll_ms, 1, INT32_MAX, "300000"),
    STR("partition.assignment.strategy", assignors, "range,roundrobin"),
    BOOL("enable.auto.commit", auto_commit, "true"),
    INT("auto.commit.interval.ms", auto_commit_ms, 1, INT32_MAX, "5000"),
    ENUM("auto.offset.reset", auto_reset, "latest", reset_words, reset_values),
    INT("fetch.min.bytes", fetch_min_bytes, 1, INT32_MAX, "1"),
    INT("fetch.max.wait.ms", fetch_max_wait_ms, 0, INT32_MAX, "500"),
    INT("fetch.max.bytes", fetch_max_bytes, 1, INT32_MAX, "52428800"),
    INT("max.partition.fetch.bytes", part_fetch_bytes, 1, INT32_MAX, "1048576"),
    INT("queued.max.messages.kbytes", queued_max_bytes, 1, INT64_MAX / 1024, "65536"),
    BOOL("check.crcs", check_crcs, "true"),
    ENUM("isolation.level", isolation, "read_uncommitted", iso_words, iso_values),
    STR("transactional.id", txn_id, NULL),
    INT("transaction.timeout.ms", txn_timeout_ms, 1, INT32_MAX, "60000"),
    ENUM("security.protocol", security, "plaintext", sec_words, sec_values),
    STR("ssl.ca.location", ssl_ca_location, NULL),
    STR("ssl.ca.pem", ssl_ca_pem, NULL),
    STR("ssl.certificate.location", ssl_cert_location, NULL),
    STR("ssl.certificate.pem", ssl_cert_pem, NULL),
    STR("ssl.key.location", ssl_key_location, NULL),
    STR("ssl.key.pem", ssl_key_pem, NULL),
    STR("ssl.key.password", ssl_key_password, NULL),
    STR("ssl.cipher.suites", ssl_ciphers, NULL),
    STR("ssl.enabled.protocols", ssl_protocols, NULL),
    BOOL("enable.ssl.certificate.verification", ssl_verify, "true"),
    ENUM("ssl.endpoint.identification.algorithm", ssl_endpoint_check, "https", endpoint_words,
         endpoint_values),
    ENUM("sasl.mechanism", sasl_mech, "PLAIN", mech_words, mech_values),
    ENUM("sasl.mechanisms", sasl_mech, "PLAIN", mech_words, mech_values),
    STR("sasl.username", sasl_username, NULL),
    STR("sasl.password", sasl_password, NULL),
};

static void store_int(void *p, int width, int64_t v)
{
    switch (width) {
    case 1: *(int8_t *)p = (int8_t)v; break;
    case 2: *(int16_t *)p = (int16_t)v; break;
    case 4: *(int32_t *)p = (int32_t)v; break;
    default: *(int64_t *)p = v; break;
    }
}

static int parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return BROOK_ERR_CONFIG;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "1")) {
        *out = true;
        return 0;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0")) {
        *out = false;
        return 0;
    }
    return BROOK_ERR_CONFIG;
}

/* Whether a string key holds a secret, wiped before its memory is freed. */
static bool conf_secret(const struct conf_row *row)
{
    return !strcmp(row->name, "sasl.password") || !strcmp(row->name, "ssl.key.password") ||
           !strcmp(row->name, "ssl.key.pem");
}

static void conf_str_free(const struct conf_row *row, char *s)
{
    if (s && conf_secret(row))
        explicit_bzero(s, strlen(s));
    free(s);
}

static int set_row(struct client_conf *cf, const struct conf_row *row, const char *value)
{
    void *p = (char *)cf + row->off;
    int64_t v;
    bool b;
    switch (row->type) {
    case T_INT:
        if (!value || parse_int(value, row->min, row->max, &v))
            return BROOK_ERR_CONFIG;
        if (!strcmp(row->name, "queued.max.messages.kbytes"))
            v *= 1024;
        store_int(p, row->width, v);
        return 0;
    case T_BOOL:
        if (!value || parse_bool(value, &b))
            return BROOK_ERR_CONFIG;
        *(bool *)p = b;
        return 0;
    case T_ENUM:
        for (size_t i = 0; value && row->words[i]; i++)
            if (!strcmp(value, row->words[i])) {
                store_int(p, row->width, row->values[i]);
                return 0;
            }
        return BROOK_ERR_CONFIG;
    case T_STR: {
        char *copy = NULL;
        if (value && !(copy = strdup(value)))
            return -ENOMEM;
        conf_str_free(row, *(char **)p);
        *(char **)p = copy;
        return 0;
    }
    }
    return BROOK_ERR_CONFIG;
}

struct brook_conf *brook_conf_new(void)
{
    struct brook_conf *conf = calloc(1, sizeof *conf);
    if (!conf)
        return NULL;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (set_row(&conf->v, &rows[i], rows[i].def) == -ENOMEM) {
            brook_conf_free(conf);
            return NULL;
        }
    return conf;
}

int brook_conf_set(struct brook_conf *conf, const char *key, const char *value)
{
    if (!conf || !key)
        return -EINVAL;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (!strcmp(key, rows[i].name))
            return set_row(&conf->v, &rows[i], value);
    return -ENOENT; /* apart from a bad value, so a caller can say which it was */
}

void brook_conf_set_delivery_cb(struct brook_conf *conf, brook_delivery_cb *cb, void *arg)
{
    conf->v.dr_cb = cb;
    conf->v.dr_arg = arg;
}

void brook_conf_set_rebalance_cb(struct brook_conf *conf, brook_rebalance_cb *cb, void *arg)
{
    conf->v.rb_cb = cb;
    conf->v.rb_arg = arg;
}

void brook_conf_set_offset_reset_cb(struct brook_conf *conf, brook_offset_reset_cb *cb, void *arg)
{
    conf->v.reset_cb = cb;
    conf->v.reset_arg = arg;
}

void conf_release(struct client_conf *cf)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].type == T_STR) {
            char **p = (char **)((char *)cf + rows[i].off);
            conf_str_free(&rows[i], *p);
            *p = NULL;
        }
}

void brook_conf_free(struct brook_conf *conf)
{
    if (!conf)
        return;
    conf_release(&conf->v);
    free(conf);
}

int conf_copy(struct client_conf *dst, const struct client_conf *src)
{
    *dst = *src;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].type != T_STR)
            continue;
        char **p = (char **)((char *)dst + rows[i].off);
        if (*p && !(*p = strdup(*p))) {
            for (size_t k = i + 1; k < sizeof rows / sizeof rows[0]; k++)
                if (rows[k].type == T_STR)
                    *(char **)((char *)dst + rows[k].off) = NULL;
            conf_release(dst);
            return -ENOMEM;
        }
    }
    return 0;
}

/* ---- error strings ---- */

static const char *brook_own_error(int err)
{
    switch (err) {
    case BROOK_ERR_NO_BROKERS: return "no broker could be reached";
    case BROOK_ERR_CONFIG: return "unknown configuration key or bad value";
    case BROOK_ERR_PROTOCOL: return "the broker's answer could not be understood";
    case BROOK_ERR_NOT_KAFKA:
        return "that port answered in HTTP, not the Kafka protocol (a web console's port?)";
    case BROOK_ERR_VERSION: return "the broker supports no version of a needed request";
    case BROOK_ERR_STATE: return "not valid in the client's current state";
    case BROOK_ERR_GROUP_ACTIVE: return "the group has active members";
    case BROOK_ERR_FORMAT: return "bad format or offset specification";
    case BROOK_ERR_FENCED:
        return "fenced: a newer producer with the same transactional.id took over";
    case BROOK_ERR_TXN_ABORTED: return "the transaction was aborted";
    case BROOK_ERR_TLS_CONFIG:
        return "the TLS settings could not be loaded (ssl.ca.*, ssl.certificate.*, ssl.key.*, "
               "ssl.enabled.protocols or ssl.cipher.suites)";
    case BROOK_ERR_TLS:
        return "TLS handshake failed (certificate not trusted, name mismatch, or not a TLS port)";
    case BROOK_ERR_SASL: return "SASL authentication failed: the broker's proof did not verify";
    }
    return NULL;
}

static const char *kafka_error_text(int code)
{
    switch (code) {
    case KAFKA_OFFSET_OUT_OF_RANGE: return "offset out of range";
    case KAFKA_CORRUPT_MESSAGE: return "corrupt message";
    case KAFKA_UNKNOWN_TOPIC_OR_PARTITION: return "unknown topic or partition";
    case KAFKA_LEADER_NOT_AVAILABLE: return "leader not available";
    case KAFKA_NOT_LEADER_OR_FOLLOWER: return "not the leader of the partition";
    case KAFKA_REQUEST_TIMED_OUT: return "request timed out on the broker";
    case KAFKA_MESSAGE_TOO_LARGE: return "message too large for the broker";
    case KAFKA_COORDINATOR_NOT_AVAILABLE: return "group coordinator not available";
    case KAFKA_NOT_COORDINATOR: return "not the group coordinator";
    case KAFKA_INVALID_TOPIC_EXCEPTION: return "invalid topic name";
    case KAFKA_ILLEGAL_GENERATION: return "illegal group generation";
    case KAFKA_INCONSISTENT_GROUP_PROTOCOL: return "no assignor in common with the group";
    case KAFKA_INVALID_GROUP_ID: return "invalid group id";
    case KAFKA_UNKNOWN_MEMBER_ID: return "unknown group member";
    case KAFKA_INVALID_SESSION_TIMEOUT: return "session timeout outside the broker's range";
    case KAFKA_REBALANCE_IN_PROGRESS: return "group rebalance in progress";
    case KAFKA_TOPIC_AUTHORIZATION_FAILED: return "not authorized to access the topic";
    case KAFKA_GROUP_AUTHORIZATION_FAILED: return "not authorized to access the group";
    case KAFKA_UNSUPPORTED_VERSION: return "unsupported request version";
    case KAFKA_TOPIC_ALREADY_EXISTS: return "topic already exists";
    case KAFKA_INVALID_PARTITIONS: return "invalid number of partitions";
    case KAFKA_INVALID_REPLICATION_FACTOR: return "invalid replication factor";
    case KAFKA_INVALID_CONFIG: return "invalid topic configuration";
    case KAFKA_INVALID_REQUEST: return "invalid request";
    case KAFKA_NON_EMPTY_GROUP: return "the group is not empty";
    case KAFKA_GROUP_ID_NOT_FOUND: return "group not found";
    case KAFKA_TOPIC_DELETION_DISABLED: return "topic deletion is disabled on the broker";
    case KAFKA_UNKNOWN_SERVER_ERROR: return "unknown server error";
    case KAFKA_CLUSTER_AUTHORIZATION_FAILED: return "not authorized for the cluster";
    case KAFKA_UNSUPPORTED_SASL_MECHANISM:
        return "the broker does not enable this SASL mechanism (sasl.mechanism)";
    case KAFKA_ILLEGAL_SASL_STATE: return "illegal SASL state";
    case KAFKA_SASL_AUTHENTICATION_FAILED: return "SASL authentication failed";
    case KAFKA_RESOURCE_NOT_FOUND: return "no such user or credential";
    case KAFKA_DUPLICATE_RESOURCE: return "the same user or credential twice in one request";
    case KAFKA_UNACCEPTABLE_CREDENTIAL: return "unacceptable credential";
    }
    return NULL;
}

static const char *errno_text(int e)
{
    switch (e) {
    case ENOMEM: return "out of memory";
    case ETIMEDOUT: return "timed out";
    case ECONNREFUSED: return "connection refused";
    case ECONNRESET: return "connection reset by peer";
    case EPIPE: return "connection closed by peer";
    case EHOSTUNREACH: return "no route to host";
    case ENETUNREACH: return "network unreachable";
    case ENOBUFS: return "producer queue full";
    case EMSGSIZE: return "message too large";
    case EINVAL: return "invalid argument";
    case ECANCELED: return "cancelled";
    case ENXIO: return "cannot resolve host name";
    case EBADMSG: return "malformed data";
    case ENOTSUP: return "not supported";
    case EAGAIN: return "try again";
    }
    return NULL;
}

const char *brook_strerror(int err)
{
    if (err == 0)
        return "success";
    const char *s = brook_own_error(err);
    if (s)
        return s;
    if (err <= -BROOK_ERR_KAFKA_BASE + 1 && err > -BROOK_ERR_KAFKA_BASE - 1000) {
        int code = brook_err_kafka_code(err);
        s = kafka_error_text(code);
        return s ? s : kafka_error_name((int16_t)code);
    }
    s = err < 0 ? errno_text(-err) : NULL;
    return s ? s : "unknown error";
}
