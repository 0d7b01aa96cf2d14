/*
 * private.h - libbrook's insides, shared by the client files and the unit tests.
 *
 * The client is a set of small state machines driven by one loop (client.c):
 *
 *   conn.c             one connection per broker: connect, ApiVersions, a queue
 *                      of requests waiting for the connection, requests in flight
 *                      matched to responses by correlation id, timeouts,
 *                      reconnect backoff; the table of api versions the client sends
 *   metadata.c         brokers, topics, partition leaders; refreshes on demand
 *   producer.c         partitioner, per-partition batches, Produce requests, retries
 *   consumer.c         assignment, where each partition starts, the consumer's loop
 *   consumer_fetch.c   pipelined fetches, buffered records handed out
 *   consumer_commit.c  offset commits
 *   group.c            consumer group membership (classic rebalance protocol)
 *   assign.c           range and roundrobin assignors, ConsumerProtocol encoding
 *   admin.c            topics and groups administration
 *   blocking.c         blocking calls built on brook_poll()
 *   conf.c             configuration and error strings
 *   format.c           kcat-style text and JSON rendering, offset specifications
 *
 * Names: in client/ `c` is always the client (struct brook_client) and `k` one of
 * its connections (struct conn), since most functions here hold both; brookd has
 * no client object, so in broker/ `c` is the connection.
 *
 * Re-entrancy rule: conn_send() only queues and encodes; every request callback
 * runs from the loop (conn_run_all() or a socket event), never from inside
 * conn_send(), so a module may send while it walks its own structures.
 */
#ifndef BROOK_CLIENT_PRIVATE_H
#define BROOK_CLIENT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client/brook.h"
#include "lib/arena.h"
#include "lib/hmap.h"
#include "lib/writer.h"
#include "proto/kafka.h"
#include "proto/record.h"

#define RESP_ARENA_LIMIT (256u << 20) /* decoded structs of one response */
#define MAX_FRAME        (1u << 30)   /* largest response we accept */
#define OUT_MAX          ((size_t)1 << 31)
#define API_SLOTS        128 /* api keys we can record versions for */
#define NEVER            INT64_MAX

/* ---- configuration (conf.c) ---- */

enum partitioner { PART_MURMUR2_RANDOM, PART_MURMUR2 };

/* security.protocol: whether connections speak TLS, and whether they authenticate
 * with SASL after ApiVersions. */
enum client_security { SEC_PLAINTEXT = 0, SEC_SSL = 1, SEC_SASL_PLAINTEXT = 2, SEC_SASL_SSL = 3 };
#define SEC_USES_TLS(s)  ((s) == SEC_SSL || (s) == SEC_SASL_SSL)
#define SEC_USES_SASL(s) ((s) == SEC_SASL_PLAINTEXT || (s) == SEC_SASL_SSL)

/* sasl.mechanism */
enum client_sasl_mech { SASL_PLAIN = 0, SASL_SCRAM_SHA_256 = 1, SASL_SCRAM_SHA_512 = 2 };

struct client_conf {
    char *bootstrap;             /* bootstrap.servers */
    char *client_id;             /* client.id */
    int32_t request_timeout_ms;  /* request.timeout.ms */
    int32_t connect_timeout_ms;  /* socket.connection.setup.timeout.ms */
    int32_t backoff_ms;          /* reconnect.backoff.ms */
    int32_t backoff_max_ms;      /* reconnect.backoff.max.ms */
    int32_t metadata_max_age_ms; /* metadata.max.age.ms */
    int32_t retry_backoff_ms;    /* retry.backoff.ms */
    int16_t acks;                /* acks: -1, 0, 1 */
    int32_t linger_ms;           /* linger.ms */
    int32_t batch_size;          /* batch.size */
    int32_t max_request_size;    /* max.request.size */
    int codec;                   /* compression.type, enum codec */
    int32_t retries;             /* retries */
    int32_t delivery_timeout_ms; /* delivery.timeout.ms */
    bool idempotence;            /* enable.idempotence */
    int64_t buffer_memory;       /* buffer.memory */
    int32_t max_in_flight;       /* max.in.flight.requests.per.connection */
    int partitioner;             /* partitioner */
    bool auto_create;            /* allow.auto.create.topics (producer) */
    char *group_id;              /* group.id */
    int32_t session_timeout_ms;  /* session.timeout.ms */
    int32_t heartbeat_ms;        /* heartbeat.interval.ms */
    int32_t max_poll_ms;         /* max.poll.interval.ms: the rebalance timeout */
    char *assignors;             /* partition.assignment.strategy */
    bool auto_commit;            /* enable.auto.commit */
    int32_t auto_commit_ms;      /* auto.commit.interval.ms */
    int auto_reset;              /* auto.offset.reset: BEGINNING, END, or 0 = none */
    int32_t fetch_min_bytes;     /* fetch.min.bytes */
    int32_t fetch_max_wait_ms;   /* fetch.max.wait.ms */
    int32_t fetch_max_bytes;     /* fetch.max.bytes */
    int32_t part_fetch_bytes;    /* max.partition.fetch.bytes */
    int64_t queued_max_bytes;    /* queued.max.messages.kbytes * 1024 */
    bool check_crcs;             /* check.crcs */
    int8_t isolation;            /* isolation.level: 0 uncommitted, 1 committed */
    char *txn_id;                /* transactional.id: NULL, not transactional */
    int32_t txn_timeout_ms;      /* transaction.timeout.ms */
    int security;                /* security.protocol, enum client_security */
    char *ssl_ca_location;       /* ssl.ca.location: a PEM file of trusted CAs */
    char *ssl_ca_pem;            /* ssl.ca.pem: the same as text */
    char *ssl_cert_location;     /* ssl.certificate.location: this client's chain */
    char *ssl_cert_pem;          /* ssl.certificate.pem */
    char *ssl_key_location;      /* ssl.key.location */
    char *ssl_key_pem;           /* ssl.key.pem */
    char *ssl_key_password;      /* ssl.key.password (wiped when freed) */
    char *ssl_ciphers;           /* ssl.cipher.suites */
    char *ssl_protocols;         /* ssl.enabled.protocols */
    bool ssl_verify;             /* enable.ssl.certificate.verification */
    int ssl_endpoint_check;      /* ssl.endpoint.identification.algorithm: 1 https, 0 none */
    int sasl_mech;               /* sasl.mechanism(s), enum client_sasl_mech */
    char *sasl_username;         /* sasl.username */
    char *sasl_password;         /* sasl.password (wiped when freed) */
    brook_delivery_cb *dr_cb;
    void *dr_arg;
    brook_rebalance_cb *rb_cb;
    void *rb_arg;
    brook_offset_reset_cb *reset_cb;
    void *reset_arg;
};

struct brook_conf {
    struct client_conf v;
};

/* Deep copy (strings duplicated). 0 or -ENOMEM. */
int conf_copy(struct client_conf *dst, const struct client_conf *src);
void conf_release(struct client_conf *cf);

/* ---- requests and responses (conn.c) ---- */

struct brook_client;
struct conn;
struct req;

/* A decoded response. frame holds the bytes the body's views point into. */
struct resp {
    uint8_t *frame; /* owned */
    size_t len;
    struct arena arena; /* owns body and its arrays */
    void *body;         /* struct kafka_<api>_resp */
    int32_t broker;     /* node id of the connection it came from */
    struct conn *conn;  /* that connection */
    int16_t version;    /* the version it was decoded at */
};

/* Called once per request: err < 0 (connection failure, timeout, a response that
 * does not decode, no usable version) with rs NULL, or 0 with the response. The
 * callback may take rs over with resp_take(). */
typedef void req_cb(struct brook_client *c, struct req *rq, int err, struct resp *rs);

struct req {
    int16_t key;        /* enum kafka_api_key */
    int16_t vmin, vmax; /* versions this request can be encoded at */
    int16_t version;    /* chosen when encoded */
    int32_t corr;       /* correlation id */
    void *body;         /* struct kafka_<api>_req, from arena */
    struct arena arena; /* the body and whatever it points to */
    req_cb *cb;
    void *arg;
    int64_t extra_ms; /* added to request.timeout.ms (long polls, joins) */
    int64_t deadline; /* monotonic ms */
    bool noreply;     /* acks=0 Produce: no response comes */
    int fail_err;     /* deferred completion: the error (0: a noreply request sent) */
    struct conn *conn;
    struct req *next;
};

/* The versions the client sends an api at. */
struct req_range {
    int16_t key; /* enum kafka_api_key */
    int16_t vmin, vmax;
};

/* The client's range for api key (conn.c holds every one), or NULL for an api it
 * never sends. */
const struct req_range *req_range(int16_t key);

/* A request for api key at the versions req_range() gives (a caller may narrow
 * rq->vmin..vmax), its body allocated zeroed and set to the schema's defaults. NULL
 * when out of memory or for an api without a range. */
struct req *req_new(int16_t key, req_cb *cb, void *arg);
void req_free(struct req *rq);

/* Copy a C string into the request's arena as a kstr; {NULL,-1} for NULL. Sets
 * *err to -ENOMEM on failure. */
struct kstr req_str(struct req *rq, const char *s, int *err);

/* Take over a response from a callback: returns a heap copy that the caller frees
 * with resp_free(); rs is left empty. NULL when out of memory. */
struct resp *resp_take(struct resp *rs);
void resp_free(struct resp *rs);

/* ---- connections (conn.c) ---- */

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_HANDSHAKE, CONN_READY };

/* The steps of CONN_HANDSHAKE: TLS (with security.protocol ssl or sasl_ssl), then
 * ApiVersions, then SASL (with sasl_*). */
enum conn_phase { PHASE_TLS, PHASE_VERSIONS, PHASE_SASL };

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
struct sasl_state;

struct conn {
    struct brook_client *c;
    int32_t node; /* broker node id, or negative for a bootstrap address */
    char *host;
    int port;
    int fd; /* -1 when down */
    enum conn_state state;
    int last_err;                       /* why it last went down, 0 if never */
    int failures;                       /* consecutive failed connection attempts */
    int64_t failed_at;                  /* when it last went down (monotonic ms) */
    struct addrinfo *addrs, *addr_next; /* resolved addresses while connecting */
    int64_t retry_at;                   /* no reconnect before this (monotonic ms) */
    int64_t conn_deadline;              /* connect + handshake must finish by then */
    bool epollout;                      /* EPOLLOUT is in the interest set */
    struct kafka_out out;               /* encoded requests not yet written */
    size_t out_off;                     /* bytes of out already written */
    uint8_t *rbuf;                      /* bytes read, not yet a whole frame */
    size_t rlen, rcap;
    struct req *inflight, *inflight_tail; /* sent, awaiting responses, in order */
    int n_inflight;
    struct req *queue, *queue_tail; /* waiting for the connection to be ready */
    int n_queue;
    int32_t next_corr;
    int16_t vmin[API_SLOTS], vmax[API_SLOTS]; /* the broker's versions, -1 if none */
    bool fetching;                            /* consumer: a Fetch is in flight */
    bool producing_blocked;                   /* producer: out is over its mark */
    enum conn_phase phase;                    /* the step of CONN_HANDSHAKE */
    SSL *ssl;                                 /* the TLS session, NULL in plaintext */
    bool tls_wants_write;                     /* TLS waits for the socket to be writable */
    struct sasl_state *sasl;                  /* an authentication under way, or NULL */
    bool reauth_due;   /* KIP-368: authenticate again once nothing is in flight */
    int64_t reauth_at; /* when to (monotonic ms), 0: the session does not expire */
    struct conn *next;
};

/* A connection to host:port for node (not connected until a request needs it). */
struct conn *conn_new(struct brook_client *c, int32_t node, const char *host, int port);
void conn_free(struct conn *k);

/* Queue rq on k: encoded at once when k is ready, else when it becomes ready
 * (connecting if needed). Never runs callbacks. */
void conn_send(struct conn *k, struct req *rq);

/* Whether k can take a request of api key now: ready, and its versions overlap
 * the client's range for key. */
bool conn_supports(const struct conn *k, int16_t key);
/* Whether the versions ApiVersions gave for key overlap the client's, in any state. */
bool conn_speaks(const struct conn *k, int16_t key);

/* Bytes queued for writing on k. */
size_t conn_pending_out(const struct conn *k);

/* Remove a not-yet-answered request's callback (its answer is then dropped). */
void req_orphan(struct req *rq);

/* Timeouts, reconnects, deferred failures, writes for every connection. */
void conn_run_all(struct brook_client *c, int64_t now);

/* An epoll event for k. */
void conn_io(struct conn *k, uint32_t events);

/* Find the connection for a node id (NULL if none). */
struct conn *conn_find_node(struct brook_client *c, int32_t node);

/* Close k and fail what it carries with err. */
void conn_fail(struct conn *k, int err);

/* The handshake's own requests (SaslHandshake, SaslAuthenticate): encoded and
 * written at once, ahead of whatever waits in the queue. */
void conn_send_handshake(struct conn *k, struct req *rq);

/* The handshake is complete: k takes requests, the queue is sent. */
void conn_set_ready(struct conn *k);

/* ---- TLS (tls.c) ---- */

/* c->ssl_ctx from the ssl.* settings when security.protocol asks for TLS:
 * 0, or BROOK_ERR_TLS_CONFIG. */
int client_tls_init(struct brook_client *c);
void client_tls_free(struct brook_client *c);

/* A TLS session on k's connected socket, checking the broker's name (k->host)
 * when ssl.endpoint.identification.algorithm is https: 0 or an error. */
int conn_tls_start(struct conn *k);
/* Drive the TLS handshake: 0 when done, -EAGAIN to wait for the socket (see
 * k->tls_wants_write), BROOK_ERR_TLS when it failed. */
int conn_tls_handshake(struct conn *k);
/* Read / write through TLS: bytes moved (> 0), 0 at the peer's close (read),
 * -EAGAIN to wait for the socket, or another negative error. */
ssize_t conn_tls_read(struct conn *k, void *buf, size_t n);
ssize_t conn_tls_write(struct conn *k, const void *buf, size_t n);
/* Whether TLS holds read bytes not yet handed out (the socket may be empty). */
bool conn_tls_pending(const struct conn *k);
void conn_tls_free(struct conn *k);

/* ---- SASL (sasl.c) ---- */

/* Authenticate k as sasl.username (SaslHandshake, then SaslAuthenticate rounds);
 * k becomes ready when the broker accepts, or fails with the broker's error. */
void conn_sasl_start(struct conn *k);
void conn_sasl_free(struct conn *k);

/* ---- the client (client.c) ---- */

struct metadata;
struct producer;
struct consumer;
struct group;
struct txn;

struct sync_wait; /* blocking.c */

struct brook_client {
    struct client_conf conf;
    int epfd;
    struct conn *conns;
    int32_t n_bootstrap;
    struct metadata *md;
    struct producer *prod;
    struct consumer *cons;
    struct group *grp;
    struct txn *txn;        /* transactional.id's state, NULL until brook_txn_init() */
    char *admin_msg;        /* the broker's error_message of the last admin call, or NULL */
    int64_t now;            /* monotonic ms, refreshed each loop turn */
    int64_t wake;           /* the earliest timer, NEVER if none */
    bool dirty;             /* work to do at once */
    int callbacks;          /* user callbacks run so far */
    int last_conn_err;      /* the latest connection failure */
    uint64_t rng;           /* xorshift state */
    struct req *deferred;   /* failed before sending; callbacks run from the loop */
    struct sync_wait *sync; /* brook_produce_sync() calls awaiting reports */
    SSL_CTX *ssl_ctx;       /* security.protocol ssl / sasl_ssl: every connection's */
    bool freeing;
};

/* Ask the loop to run again at t (monotonic ms). */
static inline void client_wake_at(struct brook_client *c, int64_t t)
{
    if (t < c->wake)
        c->wake = t;
}

/* A random 64-bit number. */
uint64_t client_rand(struct brook_client *c);

/* Run the loop once: timers, pumps, writes (no waiting). */
void client_work(struct brook_client *c);

/* Fail rq with err from the loop (not now). */
void client_defer_fail(struct brook_client *c, struct req *rq, int err);

/* A Kafka error code as a libbrook error (0 stays 0). */
static inline int kerr(int16_t code)
{
    return code ? brook_err_kafka(code) : 0;
}

/* ---- metadata (metadata.c) ---- */

struct md_part {
    int32_t id;
    int16_t err;
    int32_t leader; /* node id, -1 unknown */
};

struct md_topic {
    char *name;
    uint8_t id[16];    /* the topic id (Metadata v10+); all zero while unknown */
    int16_t err;       /* topic-level error of the last answer */
    bool known;        /* an answer has covered this topic */
    bool auto_create;  /* the producer wants it: ask brokers to create it */
    bool create_asked; /* a request has asked brokers to create it */
    int32_t n_parts;
    struct md_part *parts;
};

int md_init(struct brook_client *c);
void md_free(struct brook_client *c);

/* Make sure topic is tracked and (soon) known; auto_create asks brokers to create it.
 * Returns the entry (maybe not known yet) or NULL when out of memory. */
/* Keep the broker's error_message of an admin answer (NULL or empty: none), for
 * brook_error_message(). */
void admin_note(struct brook_client *c, struct kstr msg);

struct md_topic *md_want(struct brook_client *c, const char *topic, bool auto_create);

/* The entry for topic, or NULL if not tracked. */
struct md_topic *md_topic(struct brook_client *c, const char *topic);

/* Ask for fresh metadata soon (leader moved, partitions changed). */
void md_refresh(struct brook_client *c);

/* The connection to partition's leader, or NULL (then a refresh is asked for). */
struct conn *md_leader(struct brook_client *c, const struct md_topic *t, int32_t partition);

/* The connection to node id (made on demand from the broker list), or NULL. */
struct conn *md_broker_conn(struct brook_client *c, int32_t node);

/* A connection for requests any broker can answer: a ready one if possible, else
 * one that is connecting or may connect now; skip is a connection to avoid (or
 * NULL). NULL when every one is backing off. */
struct conn *md_any_conn(struct brook_client *c, const struct conn *skip);

/* Take in a Metadata response (from any request). */
void md_apply(struct brook_client *c, const struct kafka_metadata_resp *r);

/* Incremented whenever an answer changes partitions or leaders. */
uint64_t md_version(const struct brook_client *c);

/* The controller's node id from the last answer, or -1. */
int32_t md_controller(const struct brook_client *c);

/* Whether any metadata answer has arrived yet. */
bool md_ready(const struct brook_client *c);

/* Known broker node ids; returns how many were written (at most max). */
size_t md_brokers(const struct brook_client *c, int32_t *ids, size_t max);

void md_run(struct brook_client *c);

/* ---- producer (producer.c) ---- */

void prod_run(struct brook_client *c);
void prod_free(struct brook_client *c);
size_t prod_outstanding(const struct brook_client *c);
void prod_flush_now(struct brook_client *c);

/* For transactions: take the coordinator's producer id and epoch (-1: none yet);
 * whether any batch is in flight; fail every record not in flight with err. */
void prod_set_pid(struct brook_client *c, int64_t pid, int16_t epoch);
bool prod_inflight(const struct brook_client *c);
void prod_cancel_unsent(struct brook_client *c, int err);

/* ---- transactions (txn.c) ---- */

/* The transaction's generation (never 0) when partition part of topic is part of
 * the open transaction and may send; else 0, and the partition is queued for the
 * next AddPartitionsToTxn. */
uint64_t txn_part_ready(struct brook_client *c, const char *topic, int32_t part);

/* Send AddPartitionsToTxn for the partitions waiting to be added. */
void txn_run(struct brook_client *c);

/* A record of the transaction failed with err: it can only abort now. */
void txn_fail(struct brook_client *c, int err);

/* 0 when brook_produce() may queue a record now, else why not. */
int txn_may_produce(struct brook_client *c);

void txn_free(struct brook_client *c);

/* ---- consumer (consumer.c) and group (group.c) ---- */

void cons_run(struct brook_client *c);
void cons_free(struct brook_client *c);

/* Replace the assignment with these partitions (from the group); their start
 * positions come from committed offsets, else start. 0 or -ENOMEM. */
int cons_set_assignment(struct brook_client *c, const struct brook_tp *tps, size_t n);

/* Drop every partition (buffered records included). */
void cons_clear_assignment(struct brook_client *c);

/* The current assignment (borrowed topic names) into a malloc'd array. */
int cons_assignment(const struct brook_client *c, struct brook_tp **out, size_t *n);

/* Queue a commit of every position that moved; 0 or BROOK_ERR_STATE. */
int cons_commit_start(struct brook_client *c);

/* Whether a commit is in flight or queued. */
bool cons_commit_busy(const struct brook_client *c);

/* The first commit error since the last call (then cleared). */
int cons_commit_error(struct brook_client *c);

/* Whether every position was committed. */
bool cons_all_committed(const struct brook_client *c);

/* Report a consumer-level error through brook_consumer_next(). */
void cons_report(struct brook_client *c, int err);

/* ---- read_committed filtering (txn_filter.c) ---- */

/* One partition's share of one Fetch answer: the aborted transactions it lists
 * and those the walk has reached and not yet seen end. */
struct txn_filter {
    bool active;                                       /* read_committed */
    struct kafka_fetch_resp_aborted_transaction *list; /* sorted by first offset */
    size_t n, next;                                    /* next: first not yet started */
    int64_t *pids;                                     /* producers mid-abort */
    size_t n_pids, cap;
};

/* A filter for an answer listing n aborted transactions (copied); when committed
 * is false it only drops control batches. 0 or -ENOMEM. */
int txn_filter_init(struct txn_filter *f, bool committed,
                    const struct kafka_fetch_resp_aborted_transaction *list, int32_t n);
void txn_filter_release(struct txn_filter *f);

/* Whether the batch h (its bytes p, len), the next in offset order, is hidden:
 * 1 skip it, 0 show it, -ENOMEM. */
int txn_filter_skip(struct txn_filter *f, const struct batch_header *h, const uint8_t *p,
                    size_t len);

/* ---- the consumer's insides (consumer.c, consumer_fetch.c, consumer_commit.c) ---- */

#define CONS_ERRQ 16 /* errors brook_consumer_next() can still report */

/* A partition's life, described in consumer.c. */
enum cp_state { CP_COMMITTED, CP_RESOLVE, CP_WAITING, CP_ACTIVE, CP_FAILED };

/* A Fetch response shared by the chunks of every partition it carried. */
struct fbuf {
    struct resp *rs; /* owned; freed with the last reference */
    int refs;
};

/* One partition's records within a shared response, not yet handed out. */
struct fchunk {
    struct fchunk *next;
    struct fbuf *fb;       /* holds a reference */
    const uint8_t *p;      /* whole batches inside fb's frame */
    size_t len, off;       /* off: the next batch to iterate */
    struct txn_filter txn; /* what read_committed hides of it */
};

struct cpart {
    char *topic;
    int32_t id;
    struct md_topic *md;
    enum cp_state state;
    struct brook_offset start; /* RESOLVE: where to go */
    int64_t pos;               /* next offset to hand out */
    int64_t fetch_pos;         /* next offset to fetch */
    int64_t hw;                /* high watermark of the last answer, -1 unknown */
    int64_t end;               /* where reading ends: hw, or the last stable offset
                                * under read_committed */
    int64_t committed;         /* last offset committed, -1 none */
    int64_t retry_at;          /* no request for it before this (monotonic ms) */
    bool fetching;             /* in a Fetch in flight */
    bool fetched;              /* a Fetch has answered since the position was set */
    int32_t broker;            /* node id of the broker that served the last fetch */
    struct fchunk *chunks, *tail;
    size_t buffered;      /* bytes of its chunks */
    struct batch_iter it; /* the batch being handed out, when in_batch */
    bool in_batch;
};

/* brook_assign() waiting for its topic's metadata. */
struct pending_assign {
    struct pending_assign *next;
    struct md_topic *md;
    int32_t *ids; /* NULL: every partition */
    size_t n;
    struct brook_offset start;
};

struct consumer {
    struct cpart **parts;
    size_t n, cap;
    struct pending_assign *pending;
    size_t cursor;             /* the partition brook_consumer_next() tries first */
    struct brook_message msg;  /* the message handed out last */
    struct brook_header *hdrs; /* its headers */
    size_t hdr_cap;
    size_t buffered;           /* bytes of every partition's chunks */
    uint64_t epoch;            /* bumped whenever the assignment changes */
    bool group_mode;           /* subscribed */
    struct brook_offset start; /* start where nothing is committed (kind 0: fail) */
    struct brook_offset reset; /* auto.offset.reset: where an out-of-range position goes */
    bool commit_want;          /* positions moved: commit when none is in flight */
    struct req *commit_req;    /* the OffsetCommit in flight */
    int commit_err;            /* the first commit error not yet collected */
    int64_t next_auto_commit;  /* monotonic ms */
    struct req *offsets_req;   /* the OffsetFetch in flight */
    int errq[CONS_ERRQ];
    int n_err;
};

/* A request's view of the partitions it covers. */
struct preqs {
    uint64_t epoch; /* the assignment it was made under */
    struct conn *k;
    size_t n;
    struct cpart **p;
    int64_t *off; /* commits: the offsets sent */
};

/* Give rq a preqs for up to n partitions on k (with room for offsets when offs),
 * allocated in rq's arena and set as rq->arg. 0 or -ENOMEM. */
int cons_preqs_init(struct req *rq, struct consumer *cs, struct conn *k, size_t n, bool offs);

/* The partition of pr named by an answer, or NULL. */
/* OffsetFetch from v8 asks for groups in a batch and answers per group. The
 * client fills and reads the one-group shape of v0-7; mirror copies a request's
 * group and topics into the batch of one, flatten turns a v8+ answer's single
 * group back into the v0-7 fields. 0, -ENOMEM, or BROOK_ERR_PROTOCOL for an
 * answer without exactly one group. */
int cons_offsets_mirror(struct req *rq);
int cons_offsets_flatten(struct resp *rs);
struct cpart *cons_preqs_find(struct preqs *pr, struct kstr topic, int32_t id);

/* p stops with err, reported once through brook_consumer_next(). */
void cons_part_fail(struct brook_client *c, struct cpart *p, int err);

/* Try p again after retry.backoff.ms, with fresh metadata when refresh. */
void cons_part_retry(struct brook_client *c, struct cpart *p, bool refresh);

/* Whether a partition error means its leader may have moved (refresh metadata). */
bool cons_leader_error(int16_t code);

/* Drop p's buffered records (consumer_fetch.c). */
void cons_part_drop_data(struct consumer *cs, struct cpart *p);

/* Send a Fetch to every leader without one in flight (consumer_fetch.c). */
void cons_run_fetch(struct brook_client *c);

/* Send an OffsetCommit when positions moved and none is in flight; runs the
 * auto-commit timer (consumer_commit.c). */
void cons_run_commit(struct brook_client *c);

struct group_identity {
    const char *group_id;
    const char *member_id;
    int32_t generation; /* -1 outside a generation */
};

int grp_init(struct brook_client *c, const char *const *topics, size_t n);
void grp_run(struct brook_client *c);
void grp_free(struct brook_client *c);

/* The coordinator's connection, or NULL while it is being found. */
struct conn *grp_coordinator(struct brook_client *c);

/* What a FindCoordinator answer says of the one key it was asked about: its
 * top-level fields before v4, its single batched entry from v4 (none is
 * COORDINATOR_NOT_AVAILABLE). */
struct coord_answer {
    int16_t error_code;
    int32_t node_id;
    struct kstr host;
    int32_t port;
};
struct coord_answer grp_coord_answer(const struct resp *rs);
/* Ask a FindCoordinator request about the group key (both version shapes). */
int grp_coord_ask(struct req *rq, const char *key);

/* Who commits: the member and generation when joined, else a simple commit. */
void grp_identity(struct brook_client *c, struct group_identity *id);

/* The coordinator moved or a commit said the generation is gone. */
void grp_on_commit_error(struct brook_client *c, int16_t code);

/* Whether the group has a stable assignment (always true without subscription). */
bool grp_stable(const struct brook_client *c);

/* Start leaving: returns true once the group is left (or was never joined). */
bool grp_leave(struct brook_client *c);

/* ---- assignors (assign.c) ---- */

struct assign_topic {
    const char *name;
    int32_t partitions;
};

struct assign_member {
    const char *id;            /* member id */
    const char *const *topics; /* subscription */
    size_t n_topics;
    struct brook_tp *tps; /* out: assigned partitions (malloc'd; topic borrowed) */
    size_t n_tps, cap_tps;
};

/* Run the named assignor ("range" or "roundrobin") over members (any order) and
 * topics (partition counts). Fills each member's tps. 0, -EINVAL for an unknown
 * assignor, -ENOMEM. */
int assign_run(const char *name, struct assign_member *m, size_t n, const struct assign_topic *t,
               size_t nt);

/* Free the tps arrays assign_run() made. */
void assign_members_release(struct assign_member *m, size_t n);

/* ConsumerProtocolSubscription (version 0) of topics. */
int assign_encode_subscription(const char *const *topics, size_t n, struct writer *w);

/* Decode a subscription (any version): topic names as views into p, from arena a. */
int assign_decode_subscription(const uint8_t *p, size_t len, struct arena *a, struct kstr **topics,
                               size_t *n);

/* ConsumerProtocolAssignment (version 0) of tps. */
int assign_encode_assignment(const struct brook_tp *tps, size_t n, struct writer *w);

/* Decode an assignment (any version) into tps from arena a (topics NUL-terminated
 * copies in a). */
int assign_decode_assignment(const uint8_t *p, size_t len, struct arena *a, struct brook_tp **tps,
                             size_t *n);

/* ---- blocking helpers (blocking.c) ---- */

/* Send rq to k (or to any broker when k is NULL, trying others when connections
 * fail) and run the loop until it is answered or deadline (monotonic ms) passes.
 * 0 with *out (free with resp_free()), or an error; rq is consumed either way. */
int client_call(struct brook_client *c, struct conn *k, struct req *rq, int64_t deadline,
                struct resp **out);
/* The same for a request whose filling may have failed: built is that error (0:
 * rq is whole and is sent). rq is consumed either way. */
int client_call_built(struct brook_client *c, struct conn *k, struct req *rq, int built,
                      int64_t deadline, struct resp **out);

/* The deadline timeout_ms from now (negative: none). */
int64_t client_deadline(struct brook_client *c, int timeout_ms);

/* Run the loop until done(arg) or deadline; 0 or -ETIMEDOUT. */
int client_wait(struct brook_client *c, bool (*done)(struct brook_client *c, void *arg), void *arg,
                int64_t deadline);

/* Whether a delivery report belongs to a brook_produce_sync() call (then it is
 * consumed). */
bool sync_delivery(struct brook_client *c, const struct brook_delivery *d);

/* Free the records of brook_produce_sync() calls (client teardown). */
void sync_free_all(struct brook_client *c);

/* ---- results (admin.c) ---- */

/* A result block: an arena whose first allocation is the public struct. */
void *result_new(size_t size, struct arena **a);
void result_free(void *pub);

#endif
