/*
 * brook.h - libbrook, a C client for brook and other Kafka-protocol brokers.
 *
 * One struct brook_client does everything: it bootstraps from a list of brokers,
 * keeps the cluster's metadata, holds one connection per broker and multiplexes
 * every request over it (many in flight, matched by correlation id), and on top of
 * that produces, consumes (assigned partitions or a consumer group) and runs admin
 * operations. It is single-threaded: nothing happens behind the caller's back.
 *
 * Two ways to drive it:
 *   - an event loop: watch brook_client_fd() for readability and wake after
 *     brook_client_timeout() milliseconds; then call brook_poll(c, 0), which does
 *     the I/O and timers that are due and runs delivery and rebalance callbacks;
 *   - blocking calls for scripts: brook_produce_sync(), brook_flush(),
 *     brook_consume(), brook_client_connect() and every admin function wait (up to
 *     their timeout) by running brook_poll() themselves.
 * A client must be used by one thread at a time. Callbacks run inside brook_poll()
 * (or a blocking call) and may call the non-blocking functions (brook_produce(),
 * brook_commit() with wait false) but no blocking ones. Host names are resolved
 * with getaddrinfo(), which may block.
 *
 * Errors: functions return 0 (or a count) on success and a negative code on
 * failure: -errno values (-ENOMEM when memory runs out, -ETIMEDOUT, -ECONNREFUSED,
 * -EINVAL for bad arguments, ...), brook's own codes below, and Kafka's error codes
 * as brook_err_kafka(code). brook_strerror() describes any of them. The library
 * never prints and never exits.
 *
 * Memory: the client copies what it is given (records, names, configuration);
 * what it hands out is borrowed and valid for the time each function states, or is
 * a result the caller frees with the matching _free function.
 */
#ifndef BROOK_CLIENT_BROOK_H
#define BROOK_CLIENT_BROOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the library's functions: libbrook.so is built with hidden visibility, so
 * only what is declared here is exported and its insides (log_write, hmap_*, ...)
 * cannot clash with an application's own symbols. */
#if defined(__GNUC__) && __GNUC__ >= 4
#define BROOK_API __attribute__((visibility("default")))
#else
#define BROOK_API
#endif

/* ---- errors ------------------------------------------------------------------------- */

/* brook's own error codes, outside errno's range. */
enum brook_error {
    BROOK_ERR_NO_BROKERS = -5001,   /* no bootstrap or known broker could be reached */
    BROOK_ERR_CONFIG = -5002,       /* unknown configuration key or bad value */
    BROOK_ERR_PROTOCOL = -5003,     /* a broker's answer could not be understood */
    BROOK_ERR_VERSION = -5004,      /* the broker supports no version of an api we need */
    BROOK_ERR_STATE = -5005,        /* not valid now (e.g. commit without a group) */
    BROOK_ERR_GROUP_ACTIVE = -5006, /* the group has members; stop them first */
    BROOK_ERR_FORMAT = -5007,       /* a bad format string or offset specification */
    BROOK_ERR_FENCED = -5008,       /* a newer producer with our transactional.id took over */
    BROOK_ERR_TXN_ABORTED = -5009,  /* a record's transaction was aborted before it was sent */
    BROOK_ERR_TLS_CONFIG = -5010,   /* the ssl.* settings could not be loaded */
    BROOK_ERR_TLS = -5011,          /* a TLS handshake failed */
    BROOK_ERR_SASL = -5012,         /* the broker failed SCRAM's proof of knowing the password */
    BROOK_ERR_NOT_KAFKA = -5013,    /* the server answered in HTTP: a web port, not Kafka's */
};

/* Kafka error code k (as in Kafka's protocol guide) as a libbrook error. */
#define BROOK_ERR_KAFKA_BASE 10000
static inline int brook_err_kafka(int k)
{
    return -(BROOK_ERR_KAFKA_BASE + k);
}

/* The Kafka error code inside err, or 0 when err is not a Kafka error. */
static inline int brook_err_kafka_code(int err)
{
    if (err > -BROOK_ERR_KAFKA_BASE + 1 || err <= -BROOK_ERR_KAFKA_BASE - 1000)
        return 0;
    return -err - BROOK_ERR_KAFKA_BASE;
}

/* A static, human-readable description of any libbrook error (or of 0). */
BROOK_API const char *brook_strerror(int err);

/* ---- configuration ---------------------------------------------------------------------- */

/*
 * Configuration uses Kafka's property names (docs/cli.md lists them all), e.g.
 * bootstrap.servers, client.id, acks, linger.ms, batch.size, compression.type,
 * enable.idempotence, group.id, auto.offset.reset, enable.auto.commit,
 * session.timeout.ms, partition.assignment.strategy, fetch.max.wait.ms.
 */
struct brook_conf;

/* A configuration with every default; NULL when out of memory. */
BROOK_API struct brook_conf *brook_conf_new(void);

/* Set key to value (copied). 0, -ENOENT for an unknown key, BROOK_ERR_CONFIG for a
 * value out of range, -ENOMEM. */
BROOK_API int brook_conf_set(struct brook_conf *conf, const char *key, const char *value);

BROOK_API void brook_conf_free(struct brook_conf *conf);

struct brook_delivery;
struct brook_tp;

/* Called once per produced record, in produce order per partition. */
typedef void brook_delivery_cb(void *arg, const struct brook_delivery *d);

enum brook_rebalance_event {
    BROOK_REBALANCE_ASSIGN = 1, /* these partitions are now ours */
    BROOK_REBALANCE_REVOKE = 2, /* these are about to be taken away: commit now */
};

/* Called when a consumer group assigns or revokes partitions. */
typedef void brook_rebalance_cb(void *arg, int event, const struct brook_tp *parts, size_t n);

/*
 * Called when a broker says a consumer's position is out of range: tp->offset is
 * the position asked for, log_start and log_end the partition's valid range (-1
 * when the broker did not say), and to what happens next by auto.offset.reset:
 * BROOK_OFFSET_BEGINNING or BROOK_OFFSET_END (the consumer moves there), or 0
 * ("none": the partition fails with offset out of range).
 */
typedef void brook_offset_reset_cb(void *arg, const struct brook_tp *tp, int64_t log_start,
                                   int64_t log_end, int to);

/* Set the delivery report, rebalance and offset reset callbacks (NULL: none). */
BROOK_API void brook_conf_set_delivery_cb(struct brook_conf *conf, brook_delivery_cb *cb,
                                          void *arg);
BROOK_API void brook_conf_set_rebalance_cb(struct brook_conf *conf, brook_rebalance_cb *cb,
                                           void *arg);
BROOK_API void brook_conf_set_offset_reset_cb(struct brook_conf *conf, brook_offset_reset_cb *cb,
                                              void *arg);

/* ---- the client --------------------------------------------------------------------- */

struct brook_client;

/* Create a client from conf (which the caller still owns and frees). Connects
 * lazily. 0, BROOK_ERR_CONFIG (no usable bootstrap.servers), -ENOMEM, or -errno when
 * the event loop cannot be set up. */
BROOK_API int brook_client_new(const struct brook_conf *conf, struct brook_client **out);

/*
 * Free the client and everything it owns, closing connections at once: records not
 * yet delivered get a delivery report with -ECANCELED, a group membership is simply
 * dropped (the broker times it out). Call brook_flush() and brook_consumer_close()
 * first for a clean end. NULL is a no-op.
 */
BROOK_API void brook_client_free(struct brook_client *c);

/* Block until the cluster's metadata has been read from a broker, to fail early
 * and clearly. 0, BROOK_ERR_NO_BROKERS (the last connection error is in *why when
 * why is not NULL), -ETIMEDOUT. */
BROOK_API int brook_client_connect(struct brook_client *c, int timeout_ms, int *why);

/* The file descriptor to watch for readability in an event loop (an epoll set of
 * the client's sockets). Owned by the client. */
BROOK_API int brook_client_fd(const struct brook_client *c);

/* Milliseconds until brook_poll() has timer work to do: 0 when it has work now,
 * -1 when it has none at all. */
BROOK_API int brook_client_timeout(const struct brook_client *c);

/*
 * Do the client's work: I/O that is ready, timers that are due, requests that can
 * go out, and the callbacks that result. Waits up to timeout_ms (0: not at all,
 * -1: until something happens) when there is nothing to do at once. Returns the
 * number of callbacks run (0 or more) or a negative error of the event loop itself.
 */
BROOK_API int brook_poll(struct brook_client *c, int timeout_ms);

/* ---- producing -------------------------------------------------------------------------- */

#define BROOK_PARTITION_ANY (-1) /* let the partitioner choose */

/* A record header: a name and a value. In produced records value NULL is a null
 * value; in consumed ones key and value point into the message. */
struct brook_header {
    const char *key; /* not NUL-terminated */
    size_t key_len;
    const void *value; /* NULL: null */
    size_t value_len;
};

/*
 * A record to produce. A NULL key or value is null (a null value is a tombstone);
 * a non-NULL one of length 0 is empty. Keyed records go to
 * murmur2(key) % partitions (as Java's default partitioner and librdkafka's
 * murmur2_random), keyless ones stick to a random partition until its batch is
 * sent. Start from BROOK_RECORD_INIT so that partition is BROOK_PARTITION_ANY.
 */
struct brook_record {
    const char *topic; /* NUL-terminated */
    int32_t partition; /* a partition, or BROOK_PARTITION_ANY */
    const void *key;   /* NULL: null key */
    size_t key_len;
    const void *value; /* NULL: null value */
    size_t value_len;
    const struct brook_header *headers;
    size_t n_headers;
    int64_t timestamp; /* milliseconds since the epoch; 0: now */
};
#define BROOK_RECORD_INIT                                                                          \
    {                                                                                              \
        .partition = BROOK_PARTITION_ANY                                                           \
    }

/* A delivery report: where a record landed, or why it did not. */
struct brook_delivery {
    const char *topic; /* borrowed for the callback's duration */
    int32_t partition; /* -1 if no partition was chosen */
    int64_t offset;    /* -1 if unknown (an error, or acks=0) */
    int64_t timestamp; /* the record's timestamp */
    int err;           /* 0 or why the record was not delivered */
    void *opaque;      /* what brook_produce() was given */
};

/*
 * Queue a record for sending (copied at once). It is batched per partition and
 * sent when its batch reaches batch.size or has waited linger.ms (or on
 * brook_flush()); its delivery report comes through the callback. Returns 0;
 * -ENOBUFS when buffer.memory is used up (poll, then try again); -EMSGSIZE when the
 * record alone exceeds max.request.size; -EINVAL for a bad record; -ENOMEM.
 */
BROOK_API int brook_produce(struct brook_client *c, const struct brook_record *r, void *opaque);

/* Produce one record and wait for its delivery report (up to timeout_ms): returns
 * the report's err, and fills *d (if not NULL; d->topic is then NULL). */
BROOK_API int brook_produce_sync(struct brook_client *c, const struct brook_record *r,
                                 int timeout_ms, struct brook_delivery *d);

/* Send every queued record now and wait until all have their delivery reports.
 * 0, or -ETIMEDOUT with records still outstanding. */
BROOK_API int brook_flush(struct brook_client *c, int timeout_ms);

/* Records queued or in flight, not yet reported. */
BROOK_API size_t brook_outstanding(const struct brook_client *c);

/* ---- transactions ------------------------------------------------------------------------- */

/*
 * A client with transactional.id set produces in transactions (Kafka's KIP-98):
 * every record produced between brook_txn_begin() and brook_txn_commit() becomes
 * visible to read_committed consumers all together, or, after brook_txn_abort(),
 * never. brook_produce() outside a transaction is BROOK_ERR_STATE. Idempotence is
 * implied (acks=all). transaction.timeout.ms bounds how long a transaction may
 * stay open before the coordinator aborts it.
 *
 * Errors: Kafka's codes as brook_err_kafka(code), and two of brook's:
 * BROOK_ERR_FENCED - another producer with the same transactional.id has
 * initialised since (or this one was timed out and replaced): nothing more can
 * succeed, free the client; BROOK_ERR_STATE - the call does not fit the state
 * (e.g. commit with no transaction). Any other error of a transaction's records,
 * offsets or commit leaves it abortable: brook_txn_abort(), then begin again.
 * Every call blocks for up to timeout_ms (-ETIMEDOUT; the call may be repeated).
 */

/* Find the transaction coordinator, take the producer id and epoch for
 * transactional.id (fencing older producers with it, and letting the coordinator
 * finish or abort what they left open). Once per client, before anything else.
 * BROOK_ERR_CONFIG unless acks is all. */
BROOK_API int brook_txn_init(struct brook_client *c, int timeout_ms);

/* Start a transaction (no request is sent until the first record or offsets). */
BROOK_API int brook_txn_begin(struct brook_client *c);

/* Add a consumer group's offsets to the transaction: for each of the n entries,
 * the next offset to read of topic/partition (one past the last processed). They
 * are committed for group_id exactly when the transaction commits. */
BROOK_API int brook_txn_send_offsets(struct brook_client *c, const struct brook_tp *offsets,
                                     size_t n, const char *group_id, int timeout_ms);

/* Send every record produced in the transaction, then commit it. On an error
 * other than -ETIMEDOUT the transaction is abortable (or fenced). */
BROOK_API int brook_txn_commit(struct brook_client *c, int timeout_ms);

/* Abort the transaction: records not yet sent get delivery reports with
 * BROOK_ERR_TXN_ABORTED, those sent are never shown to read_committed readers. */
BROOK_API int brook_txn_abort(struct brook_client *c, int timeout_ms);

/* ---- consuming ---------------------------------------------------------------------------- */

/* Where to start reading a partition. */
enum brook_offset_kind {
    BROOK_OFFSET_BEGINNING = 1, /* the oldest record */
    BROOK_OFFSET_END,           /* after the newest record: only new ones */
    BROOK_OFFSET_AT,            /* value is an absolute offset */
    BROOK_OFFSET_FROM_END,      /* value records before the end */
    BROOK_OFFSET_FROM_START,    /* value records after the beginning */
    BROOK_OFFSET_TIME,          /* the first record at or after value (ms since the epoch) */
};

struct brook_offset {
    int kind; /* enum brook_offset_kind */
    int64_t value;
};

/*
 * Parse an offset specification: "beginning", "end", "N" (absolute), "-N" (N
 * before the end), "+N" (N after the beginning), "@T" where T is milliseconds since
 * the epoch, an ISO 8601 UTC time "YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z]", or "-D" / "+D"
 * relative to now with D a number and a unit of ms, s, m, h or d ("@-1h").
 * now_ms is the current time for relative times. 0 or BROOK_ERR_FORMAT.
 */
BROOK_API int brook_offset_parse(const char *s, int64_t now_ms, struct brook_offset *out);

/* A topic partition and an offset. */
struct brook_tp {
    const char *topic;
    int32_t partition;
    int64_t offset; /* meaning depends on the call; -1 when none */
};

/* A consumed record. Everything is borrowed: valid until the next call that
 * returns a message, brook_poll(), or a change of assignment. */
struct brook_message {
    const char *topic; /* NUL-terminated */
    int32_t partition;
    int64_t offset;
    int64_t timestamp;
    bool log_append_time; /* the broker set timestamp (else the producer did) */
    const void *key;      /* NULL: null key */
    size_t key_len;
    const void *value; /* NULL: null value */
    size_t value_len;
    const struct brook_header *headers;
    size_t n_headers;
    int64_t high_watermark; /* the partition's end when this was fetched */
    int32_t broker;         /* node id of the broker that served it */
};

/*
 * Read partitions without a group: topic's partitions listed in parts (n of them),
 * or all of them when n is 0, each from start. Adds to what is already assigned.
 * The topic's metadata is looked up asynchronously; an unknown topic shows up as an
 * error from brook_consumer_next(). 0, -EINVAL, -ENOMEM, BROOK_ERR_STATE (the
 * client has subscribed to a group).
 */
BROOK_API int brook_assign(struct brook_client *c, const char *topic, const int32_t *parts,
                           size_t n, const struct brook_offset *start);

/*
 * Join the consumer group group.id and read the topics given, with the assignors
 * of partition.assignment.strategy (Kafka's "consumer" protocol, so the group may
 * mix libbrook, librdkafka and Java members). Partitions without a committed offset
 * start at start (NULL: auto.offset.reset); a position out of range always moves
 * by auto.offset.reset. 0, BROOK_ERR_STATE (no group.id, or
 * partitions were assigned by hand), -EINVAL, -ENOMEM.
 */
BROOK_API int brook_subscribe(struct brook_client *c, const char *const *topics, size_t n,
                              const struct brook_offset *start);

/*
 * The next fetched record without waiting: 1 with *m set, 0 when none is ready
 * (poll and try again), or a negative error that stopped a partition (an unknown
 * topic, a fatal group error); errors are reported once.
 */
BROOK_API int brook_consumer_next(struct brook_client *c, const struct brook_message **m);

/* As brook_consumer_next(), but polls for up to timeout_ms while nothing is ready:
 * 1, 0 on timeout, or an error. */
BROOK_API int brook_consume(struct brook_client *c, const struct brook_message **m, int timeout_ms);

/*
 * Commit the position of every assigned partition (one past the last record
 * returned) to the group. With wait false the commit is queued (many calls
 * coalesce into one request in flight at a time) and 0 is returned; with wait true
 * the call returns once everything returned so far is committed, or the error.
 * BROOK_ERR_STATE without group.id.
 */
BROOK_API int brook_commit(struct brook_client *c, bool wait, int timeout_ms);

/* Whether every assigned partition has been read to its end as of the latest fetch
 * (false until the assignment is known and every partition fetched once). */
BROOK_API bool brook_consumer_at_end(const struct brook_client *c);

/* The partitions assigned now, with their positions (copied into a result the
 * caller frees with brook_tps_free()). 0 or -ENOMEM. */
BROOK_API int brook_assignment(const struct brook_client *c, struct brook_tp **out, size_t *n);
BROOK_API void brook_tps_free(struct brook_tp *tps, size_t n);

/* Stop consuming: commit positions if enable.auto.commit, wait for commits in
 * flight, leave the group. 0 or the first error. */
BROOK_API int brook_consumer_close(struct brook_client *c, int timeout_ms);

/* ---- admin ------------------------------------------------------------------------------ */

struct brook_broker_info {
    int32_t id;
    const char *host;
    int32_t port;
    const char *rack; /* NULL if none */
};

struct brook_partition_info {
    int32_t id;
    int err; /* 0 or the broker's error for this partition */
    int32_t leader;
    const int32_t *replicas;
    size_t n_replicas;
    const int32_t *isr;
    size_t n_isr;
    int64_t log_start; /* -1 unless offsets were asked for */
    int64_t log_end;   /* -1 unless offsets were asked for */
};

struct brook_topic_info {
    const char *name;
    int err; /* 0 or e.g. brook_err_kafka(3), unknown topic */
    bool internal;
    const struct brook_partition_info *partitions;
    size_t n_partitions;
};

struct brook_metadata {
    const char *cluster_id; /* NULL if the broker did not say */
    int32_t controller_id;
    int32_t orig_broker_id;       /* the broker that answered */
    const char *orig_broker_name; /* its host:port */
    const struct brook_broker_info *brokers;
    size_t n_brokers;
    const struct brook_topic_info *topics;
    size_t n_topics;
};

/*
 * Read the cluster's metadata for the n topics named (all topics when n is 0,
 * internal ones included), without creating any. With offsets, also read each
 * partition's log start and end offsets. 0 with *out set (free it with
 * brook_metadata_free()), or an error.
 */
BROOK_API int brook_metadata_get(struct brook_client *c, const char *const *topics, size_t n,
                                 bool offsets, int timeout_ms, struct brook_metadata **out);
BROOK_API void brook_metadata_free(struct brook_metadata *md);

/* Create a topic: partitions and replication -1 take the broker's defaults; configs
 * is NULL or a NULL-terminated list of "key=value". 0, brook_err_kafka(36) when it
 * exists, another error. */
BROOK_API int brook_topic_create(struct brook_client *c, const char *name, int32_t partitions,
                                 int16_t replication, const char *const *configs, int timeout_ms);
/* Create n topics alike in one request (a broker creates them together, far faster
 * than one by one): results[i] gets what brook_topic_create() would return for
 * names[i]. Returns 0 when the broker answered (see results), else the error that
 * kept it from answering. */
BROOK_API int brook_topics_create(struct brook_client *c, const char *const *names, size_t n,
                                  int32_t partitions, int16_t replication,
                                  const char *const *configs, int timeout_ms, int *results);

/* Delete a topic. 0, brook_err_kafka(3) when there is none, another error. */
BROOK_API int brook_topic_delete(struct brook_client *c, const char *name, int timeout_ms);

/* The broker's own words (the answer's error_message) about the last topic create
 * or delete, or NULL when it gave none; valid until the next such call. */
BROOK_API const char *brook_error_message(const struct brook_client *c);

struct brook_group_listing {
    const char *group_id;
    const char *protocol_type; /* "consumer" for consumer groups */
    const char *group_type;    /* "classic" or "consumer" (KIP-848); "classic" from brokers
                                * without ListGroups v5, which have no other kind */
};

struct brook_group_list {
    const struct brook_group_listing *groups;
    size_t n_groups;
};

/* List the groups every broker coordinates. 0 with *out set, or an error. */
BROOK_API int brook_groups_list(struct brook_client *c, int timeout_ms,
                                struct brook_group_list **out);
BROOK_API void brook_group_list_free(struct brook_group_list *l);

struct brook_member_info {
    const char *member_id;
    const char *client_id;
    const char *client_host;
    const struct brook_tp *assignment; /* decoded when the group speaks "consumer" */
    size_t n_assignment;
};

/* A committed offset and how far behind the log's end it is. */
struct brook_group_offset {
    const char *topic;
    int32_t partition;
    int64_t committed;     /* -1: nothing committed */
    int64_t log_end;       /* -1: unknown */
    int64_t lag;           /* log_end - committed, or -1 */
    const char *member_id; /* the member assigned this partition, or NULL */
};

struct brook_group_info {
    const char *group_id;
    const char *state; /* "Empty", "Stable", "PreparingRebalance", "Dead", ... */
    const char *protocol_type;
    const char *protocol; /* the chosen assignor */
    const struct brook_member_info *members;
    size_t n_members;
    const struct brook_group_offset *offsets; /* sorted by topic and partition */
    size_t n_offsets;
};

/* Describe a group: state, members, committed offsets with lag. 0 with *out set,
 * or an error (a group nobody knows is "Dead" with no members, as in Kafka). */
BROOK_API int brook_group_describe(struct brook_client *c, const char *group, int timeout_ms,
                                   struct brook_group_info **out);
BROOK_API void brook_group_info_free(struct brook_group_info *g);

/*
 * Move a group's committed offsets: for topic's partition (every partition when
 * partition is -1) to the offset to (resolved against each partition's log).
 * The group must have no members (BROOK_ERR_GROUP_ACTIVE otherwise): the commit is
 * made outside any generation. 0 or an error.
 */
BROOK_API int brook_group_seek(struct brook_client *c, const char *group, const char *topic,
                               int32_t partition, const struct brook_offset *to, int timeout_ms);

/* Delete a group with no members and its committed offsets. 0 or an error
 * (brook_err_kafka(68) while it has members). */
BROOK_API int brook_group_delete(struct brook_client *c, const char *group, int timeout_ms);

/* ---- SCRAM users ------------------------------------------------------------------------- */

struct brook_user_credential {
    const char *mechanism; /* "SCRAM-SHA-256" or "SCRAM-SHA-512" */
    int32_t iterations;
};

struct brook_user_info {
    const char *name;
    const struct brook_user_credential *credentials;
    size_t n_credentials;
};

struct brook_user_list {
    const struct brook_user_info *users; /* in name order */
    size_t n_users;
};

/* The users with SCRAM credentials (never their keys). 0 with *out set, or an error. */
BROOK_API int brook_users_list(struct brook_client *c, int timeout_ms,
                               struct brook_user_list **out);
BROOK_API void brook_user_list_free(struct brook_user_list *l);

/*
 * Create user name, or set a new password, for mechanism ("SCRAM-SHA-256", or
 * "SCRAM-SHA-512" when NULL) with iterations rounds (0: 8192; Kafka accepts
 * 4096..16384). Only a salted hash of the password is sent: manage users over a
 * TLS connection all the same, since that hash lets its holder log in. 0,
 * -EINVAL for a bad argument, brook_err_kafka(93) for an unacceptable credential,
 * another error.
 */
BROOK_API int brook_user_create(struct brook_client *c, const char *name, const char *password,
                                const char *mechanism, int32_t iterations, int timeout_ms);

/* Delete user name's credential for mechanism, or every credential when it is
 * NULL. 0, brook_err_kafka(91) when there is none, another error. */
BROOK_API int brook_user_delete(struct brook_client *c, const char *name, const char *mechanism,
                                int timeout_ms);
/* ---- ACLs (CreateAcls, DescribeAcls, DeleteAcls) ------------------------------------------ */

/* One binding, or a filter. The codes are Kafka's: resource type 2 topic, 3 group,
 * 4 cluster (named "kafka-cluster"), 5 transactional id, 1 any (filters); pattern
 * 3 literal, 4 prefixed, 1 any and 2 match (filters); operation 2 all, 3 read,
 * 4 write, 5 create, 6 delete, 7 alter, 8 describe, 9 cluster action, 10 describe
 * configs, 11 alter configs, 12 idempotent write, 1 any (filters); permission
 * 2 deny, 3 allow, 1 any (filters). A NULL string in a filter matches anything. */
struct brook_acl {
    int8_t resource_type;
    const char *resource_name;
    int8_t pattern_type;
    const char *principal; /* "User:alice", or "User:*" */
    const char *host;      /* a peer's address, or "*" */
    int8_t operation;
    int8_t permission;
};

struct brook_acl_list {
    const struct brook_acl *acls;
    size_t n_acls;
};

/* Create one binding. 0, or an error (brook_err_kafka(31) without ALTER on the
 * cluster, brook_err_kafka(54) when the broker has no authorizer, (42) for a
 * binding it refuses; brook_strerror names them). */
BROOK_API int brook_acl_create(struct brook_client *c, const struct brook_acl *acl, int timeout_ms);
/* The bindings filter matches. 0 with *out set, or an error. */
BROOK_API int brook_acl_describe(struct brook_client *c, const struct brook_acl *filter,
                                 int timeout_ms, struct brook_acl_list **out);
/* Delete the bindings filter matches; *out (may be NULL) lists them. 0 or an error. */
BROOK_API int brook_acl_delete(struct brook_client *c, const struct brook_acl *filter,
                               int timeout_ms, struct brook_acl_list **out);
BROOK_API void brook_acl_list_free(struct brook_acl_list *l);

/* ---- rendering messages as text (what the brook CLI prints) ------------------------------ */

/* A growable output buffer; free(buf->p) when done. Start it zeroed. */
struct brook_buf {
    char *p;
    size_t len;
    size_t cap;
};

struct brook_format;

/*
 * Parse a kcat-style format: text with the tokens %t topic, %p partition, %o
 * offset, %k key, %K key length (-1 null), %s value, %S value length (-1 null),
 * %T timestamp, %h headers ("k=v,k2=v2", a null value printed as NULL), %% a
 * percent sign; and the escapes \n \r \t, \xHH and \NNN (a decimal, or octal with a
 * leading 0, byte value). 0 with *out set, BROOK_ERR_FORMAT (with *bad_at, when not
 * NULL, the offset of the offending character), -ENOMEM.
 */
BROOK_API int brook_format_new(const char *spec, struct brook_format **out, size_t *bad_at);
BROOK_API void brook_format_free(struct brook_format *f);

/* Append m rendered with f to buf. 0 or -ENOMEM. */
BROOK_API int brook_format_render(const struct brook_format *f, const struct brook_message *m,
                                  struct brook_buf *buf);

/* Append m as kcat -J prints it: one JSON object (topic, partition, offset,
 * tstype, ts, broker, headers when there are any, key, payload) and a newline.
 * 0 or -ENOMEM. */
BROOK_API int brook_json_render(const struct brook_message *m, struct brook_buf *buf);

#ifdef __cplusplus
}
#endif

#endif
