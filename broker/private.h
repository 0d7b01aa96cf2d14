/*
 * private.h - brookd's internals, shared by the broker/ sources only.
 *
 * Threads. brookd runs num.network.threads event loops (struct net_loop, server.c).
 * Loop 0 is the main thread's: it owns the listeners, the signals, the console,
 * the group coordinators (group.c, cgroup.c), the transaction coordinator (h_txn.c,
 * txn.c) and the producer ids. Every loop, loop 0 included, owns the connections
 * accepted onto it, their parked fetches (h_fetch.c, h_legacy.c), its own fetch
 * session cache, its sweep of idle and slow connections, and a wake event. A
 * connection never moves: everything touching its socket, its queue of pendings or
 * its flags runs on its loop's thread.
 *
 * Hand-offs, all through a loop's mutex-guarded lists and its wake event:
 *  - accept: loop 0 accepts, picks the loop with the fewest connections and hands it
 *    the descriptor (and, for TLS, the SSL object made from the listener's current
 *    context); with one loop, or when loop 0 is picked, nothing is handed.
 *  - coordinator requests (dispatch.c lists them): a connection on loop k > 0 copies
 *    the frame, decodes it and posts the request to loop 0 (in order: pipelined
 *    commits stay pipelined); while any is away, a request of another kind waits
 *    until all are back (conn.away), so each connection's requests still start in
 *    the order they came and loop 0 never reads a connection field its loop is
 *    changing (a reauthentication's principal). Loop 0 runs the handler; the
 *    encoded answer goes back to loop k's list (pending_finish does it from any
 *    loop). On loop 0 nothing is handed.
 *  - completions from other threads (the store's flusher, the admin worker) go to the
 *    loop that runs the pending's handler (pd->home), which answers as above.
 *  - appends wake every loop (broker_wake), each checking its own parked fetches.
 * Other threads (the flusher, FUSE writers, the admin worker) touch the store, which
 * is thread-safe, and hand results back as above. Shared broker state read from
 * every loop is immutable after start (cfg), behind its own mutex (metrics, ACLs,
 * the dynamic configs, SCRAM credentials) or atomic (connection counts).
 *
 * A request becomes a `struct pending` queued on its connection in arrival order.
 * Handlers finish it at once (most requests) or later (acks waiting for the
 * flusher, long-poll fetches, JoinGroup/SyncGroup waiting for the group); responses
 * leave strictly in request order. A connection whose socket has gone stays
 * allocated until its last pending request is done (refs), then is freed from the
 * loop, never from inside its own callbacks.
 *
 * server.c reads frames, dispatch.c decodes each and calls its handler; handlers
 * live one file per API family (h_metadata.c, h_produce.c, h_fetch.c with
 * fetch_session.c's session cache, h_topics.c, h_configs.c, h_alter_configs.c,
 * h_groups.c over group.c's state machine, h_consumer_group.c over cgroup.c's,
 * h_offsets.c, h_find_coordinator.c, h_sasl.c, h_cluster.c, h_partitions.c,
 * h_describe_topics.c, h_api_versions.c with the
 * table of advertised versions) and answer through
 * response.c, which also bounds every response before it is built.
 */
#ifndef BROOK_BROKER_PRIVATE_H
#define BROOK_BROKER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth/auth.h"
#include "broker/config.h"
#include "broker/deadline.h"
#include "lib/arena.h"
#include "lib/conftab.h"
#include "lib/hmap.h"
#include "proto/kafka.h"
#include "proto/kafka_errors.h"
#include "store/store.h"

struct event_base;
struct event;
struct bufferevent;
struct evbuffer;
struct evconnlistener;
struct broker;
struct groups;
struct cgroups;
struct fs;
struct console_env;
struct txn_coord;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

/*
 * The largest response brook builds for one request: the bytes its structs and
 * strings take in the request's arena, which is more than they take on the wire
 * (so the encoded response, record data sent from files aside, is smaller still).
 * A handler adds up, from the request's counts and before doing any work, what
 * its response would take (response_estimate_*), and when that passes this limit
 * answers with Kafka's error for the case where there is one, else refuses the
 * request (request_refuse). Kafka has no such key: its responses are bounded only
 * by the heap. 95 MiB is just below librdkafka's default receive.message.max.bytes
 * (100 000 000), the smallest limit among common clients, so whatever brook sends
 * can be received; it holds Metadata for over a million partitions and ListGroups
 * for 98 000 group ids of 700 bytes. The encoded response is held to it too.
 */
#define RESPONSE_MAX_BYTES ((size_t)95 << 20)

#define CONN_MAX_PENDING    128        /* stop reading beyond this many in flight */
#define CONN_OUT_HIGH_WATER (16 << 20) /* stop reading while this much is unsent */
#define CONN_OUT_LOW_WATER  (4 << 20)

struct net_loop;

struct conn {
    struct broker *b;
    struct net_loop *loop;    /* the loop that owns it (never changes) */
    struct bufferevent *bev;  /* NULL once the socket is closed */
    struct conn *prev, *next; /* all connections */
    struct pending *head, *tail;
    int npending;
    int refs;                 /* pendings alive + the socket */
    bool paused;              /* reading stopped for backpressure */
    struct event *yield;      /* the next pass over the rest of its input (server.c) */
    int64_t last_active_ms;   /* monotonic: last byte read or written */
    int64_t partial_since_ms; /* monotonic: a partial request arrived; 0 if none */
    bool admin_busy;          /* a request of c's runs on the admin thread: read no more */
    int away; /* its requests on loop 0 (dispatch.c): only more of those may follow */
    const char *_Atomic close_why;      /* loop 0 asked to close it (conn_close off its loop) */
    char peer[64];                      /* "host:port" for log lines */
    char host[64];                      /* the peer's address alone, as ACLs name hosts */
    char principal[AUTH_PRINCIPAL_MAX]; /* AUTH_ANONYMOUS until TLS or SASL names the peer */
    uint64_t fetch_owner;          /* fetch sessions: this connection's key, 0 until it opens one */
    const struct listen_addr *lst; /* the listener it came in on (name, security protocol) */
    bool tls;                      /* over TLS (SSL, SASL_SSL listeners) */
    bool tls_ready;                /* the TLS handshake has finished */
    bool spoke;                    /* a whole request has come in */
    int64_t accepted_ms;           /* monotonic: when accepted (the handshake timeout) */
    /* h_sasl.c: authentication on a SASL_* listener */
    struct auth_sasl *sasl;  /* the exchange under way, NULL between exchanges */
    uint8_t sasl_state;      /* enum sasl_state (h_sasl.c) */
    uint8_t sasl_mech;       /* the mechanism of the session (enum auth_sasl_mech) */
    bool authenticated;      /* a SASL exchange succeeded (and the session has not ended) */
    bool closing;            /* answer what is queued, read nothing more, then close */
    bool close_watch;        /* closing waits for the socket to take the last TLS ciphertext */
    int64_t sasl_started_ms; /* monotonic: when the exchange under way began */
    int64_t session_end_ms;  /* monotonic: KIP-368's end of the session; 0 none */
};

/* One request's slot in its connection's response order. */
struct pending {
    struct conn *c;
    struct pending *next;      /* in the connection's order */
    struct pending *next_done; /* on a loop's cross-thread completion list */
    struct net_loop *home;     /* the loop running its handler and on_complete */
    int16_t api_key, api_version;
    int32_t correlation_id;
    struct arena arena;                      /* the response struct and anything it points to */
    void *resp;                              /* response struct to encode when complete */
    struct kafka_out out;                    /* the encoded response */
    bool ready;                              /* out may be sent when it reaches the head */
    bool noreply;                            /* acks=0 produce: nothing is sent */
    _Atomic int waits;                       /* outstanding asynchronous parts */
    void (*on_complete)(struct pending *pd); /* home loop, when waits reaches 0 */
    void *ctx;                               /* handler state for on_complete */
    int64_t started_ns;                      /* for request metrics */
};

/* A request in the making, as handlers see it. */
struct request {
    struct conn *c;
    struct pending *pd;
    struct kafka_request_header hdr;
    int16_t version;
    void *body;        /* decoded request struct (in tmp) */
    struct arena *tmp; /* freed when dispatch returns */
    uint8_t *frame;    /* the frame bytes (mutable: produce rewrites offsets) */
    size_t frame_len;
};

typedef void (*handler_fn)(struct request *rq);

/* Request counters per API, and per-topic byte/message counters (for /metrics). */
struct topic_metrics {
    char name[256];
    int64_t messages_in, bytes_in, bytes_out, messages_out;
    struct topic_metrics *next;
};

/* Request latency: the upper bounds (microseconds) of the histogram's buckets,
 * the last of which (+Inf) has none. */
#define METRICS_LATENCY_BUCKETS 20
extern const int64_t metrics_latency_le_us[METRICS_LATENCY_BUCKETS - 1];

struct metrics {
    pthread_mutex_t mu;
    int64_t requests[64]; /* by api key (< 64) */
    int64_t request_errors[64];
    _Atomic int64_t connections_total; /* read by the console without mu */
    struct topic_metrics *topics;      /* every topic counted, newest first */
    struct hmap by_name;               /* name -> its struct topic_metrics */
    /* latency by api key, updated without mu (any network thread): the count per
     * bucket (not cumulative) and the sum in nanoseconds */
    _Atomic int64_t latency[64][METRICS_LATENCY_BUCKETS];
    _Atomic int64_t latency_sum_ns[64];
};

/* ---- fetch_session.c: the fetch session cache (KIP-227) ---- */
#define FETCH_SESSION_EVICT_MS   120000     /* idle this long, a session may be evicted */
#define FETCH_SESSION_MAX_PARTS  50000      /* partitions one session holds */
#define FETCH_SESSIONS_PER_OWNER 8          /* sessions one connection holds */
#define FETCH_SESSIONS_MAX_BYTES (64 << 20) /* memory of all sessions together */

struct fetch_session_part {
    int32_t topic; /* index into the session's topics */
    int32_t partition;
    int64_t fetch_offset;   /* as the client last sent it */
    int32_t max_bytes;      /* partition_max_bytes, as last sent */
    int64_t high_watermark; /* as last answered; -1: answer it next time */
    int64_t log_start;      /* as last answered */
    int32_t prev, next;     /* answer order; -1 at the ends */
};

struct fetch_session_topic {
    uint8_t id[16]; /* the key in a session of Fetch v13+ */
    char *name;     /* the key before v13 (owned); NULL in an id session */
};

struct fetch_session {
    int32_t id;
    int32_t epoch; /* the epoch the next incremental fetch must carry */
    bool by_id;    /* created by Fetch v13+: topics are named by id */
    bool cached;   /* still in the cache (else freed when refs reaches 0) */
    int refs;      /* parked fetches holding it */
    void *waiter;  /* h_fetch.c's parked incremental fetch on it, or NULL */
    uint64_t owner;
    int64_t created_ms, used_ms;
    struct fetch_session_topic *topics;
    int32_t n_topics, cap_topics;
    struct fetch_session_part *parts; /* dense; order through prev/next */
    int32_t n_parts, cap_parts;
    int32_t head, tail;
    int32_t *pindex, *tindex; /* open addressing: index + 1, 0 empty */
    size_t pindex_cap, tindex_cap;
    size_t name_bytes;
};

struct fetch_sessions {
    struct fetch_session **all; /* n of them, unordered */
    int n, slots;
    size_t bytes, max_bytes;
    uint64_t rng; /* session ids */
};

/* An empty cache of at most `slots` sessions (0: no sessions) within max_bytes. */
void fetch_sessions_init(struct fetch_sessions *c, int slots, size_t max_bytes, uint64_t seed);
/* Free every session (none may be held by a fetch). */
void fetch_sessions_release(struct fetch_sessions *c);
/* A new empty session for a full fetch of `parts` partitions from owner (a
 * connection), evicting as Kafka's cache does; 0, or -ENOSPC when it does not fit
 * (answer session id 0). */
int fetch_sessions_create(struct fetch_sessions *c, uint64_t owner, bool by_id, int32_t parts,
                          int64_t now_ms, struct fetch_session **out);
/* The session an incremental fetch names: KAFKA_NONE with *out, or
 * FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH, FETCH_SESSION_TOPIC_ID_ERROR. */
int16_t fetch_sessions_find(struct fetch_sessions *c, int32_t id, int32_t epoch, bool by_id,
                            int64_t now_ms, struct fetch_session **out);
/* Close session id (a full fetch naming it does); a fetch holding it keeps it. */
void fetch_sessions_remove(struct fetch_sessions *c, int32_t id);
/* Drop a parked fetch's reference (s may be NULL). */
void fetch_session_put(struct fetch_session *s);
/* Add a partition (topic by id or name, as the session is keyed) or update its
 * offset and limit. 0, or -E2BIG when the session or the cache passes its bound
 * (close the session). */
int fetch_session_set(struct fetch_sessions *c, struct fetch_session *s, const uint8_t id[16],
                      struct kstr name, int32_t partition, int64_t fetch_offset, int32_t max_bytes);
/* Forget a partition (forgotten_topics_data); unknown ones are ignored. */
void fetch_session_forget(struct fetch_sessions *c, struct fetch_session *s, const uint8_t id[16],
                          struct kstr name, int32_t partition);
/* The index of a topic / partition in s, or -1. */
int32_t fetch_session_topic_find(const struct fetch_session *s, const uint8_t id[16],
                                 struct kstr name);
int32_t fetch_session_part_find(const struct fetch_session *s, int32_t topic, int32_t partition);
/* Move parts[i] to the end of the answer order. */
void fetch_session_move_last(struct fetch_session *s, int32_t i);
/* Kafka's rule for an incremental answer: whether this partition's answer (error,
 * high watermark, log start, records) must be sent; records the answer as sent. */
bool fetch_session_part_changed(struct fetch_session_part *p, int16_t error, int64_t hw,
                                int64_t log_start, bool has_records);
void fetch_session_next_epoch(struct fetch_session *s);

struct fetch_wait;
struct legacy_wait;
struct net_accept;
struct dispatch_handoff;

/* One network event loop (server.c); see the threading notes at the top. Fields
 * without a mark belong to the loop's own thread. */
struct net_loop {
    struct broker *b;
    int id;                            /* 0: the main loop */
    struct event_base *base;           /* loop 0: b->base */
    pthread_t thread;                  /* loops 1..n-1 */
    _Atomic bool running;              /* its thread runs (false: whoever holds it may act) */
    struct conn *conns;                /* the connections it owns */
    _Atomic int64_t nconns;            /* their sockets open (read by loop 0 at accept) */
    struct event *wake;                /* cross-thread wakeups */
    struct event *sweep;               /* idle and slow connections */
    struct event *drain;               /* after a stop: whether anything is still in flight */
    bool stopping;                     /* answer what is queued, accept and park nothing */
    _Atomic bool busy;                 /* after a stop: a connection still has requests */
    pthread_mutex_t mu;                /* guards the lists below */
    struct pending *completed;         /* asynchronous parts done, handler side (mu) */
    struct pending *returned;          /* answered on loop 0, to send (mu) */
    struct net_accept *accepted;       /* descriptors handed over by loop 0 (mu) */
    struct dispatch_handoff *handoffs; /* loop 0: requests posted to it (mu) */
    bool appended;                     /* data was appended somewhere (mu) */
    bool stop_asked;                   /* loop 0 asked it to stop (mu) */
    struct fetch_wait *parked;         /* long-poll fetches */
    struct legacy_wait *legacy_parked; /* long-poll fetches of v0-3 (h_legacy.c) */
    struct fetch_sessions sessions;    /* KIP-227; set up by the first Fetch v7+ */
    bool sessions_ready;
};

struct broker {
    struct broker_config *cfg;
    struct store *store;
    struct event_base *base;
    struct evconnlistener *listeners[BROKER_MAX_LISTENERS];
    int bound_port[BROKER_MAX_LISTENERS];
    char bound_host[BROKER_MAX_LISTENERS][256];
    int n_listeners;
    SSL_CTX *tls_ctx[BROKER_MAX_LISTENERS];      /* SSL, SASL_SSL: new connections take it */
    const char *tls_rules[BROKER_MAX_LISTENERS]; /* ssl.principal.mapping.rules (borrowed) */
    struct event *sig_hup;                       /* rebuilds the TLS contexts */
    struct event *accept_retry;                  /* re-enables listeners after EMFILE or a burst */
    int accepts;                                 /* since the listeners last paused for a burst */
    struct event *sig_term, *sig_int;
    struct net_loop *loops; /* num.network.threads of them; loops[0] runs on b->base */
    int n_loops;
    unsigned next_loop;            /* loop 0: where the last accept went (round robin on ties) */
    _Atomic int64_t nconns;        /* open connections of every loop (max.connections) */
    bool stopping;                 /* loop 0: shutting down */
    _Atomic uint64_t fetch_owners; /* keys handed to connections (conn.fetch_owner) */
    struct groups *groups;
    struct cgroups *cgroups;             /* KIP-848 consumer groups (h_consumer_group.c) */
    struct deadline_timer cgroups_timer; /* armed for their next deadline */
    struct metrics metrics;
    int64_t next_producer_id; /* InitProducerId: the next id handed out */
    struct txn_coord *txn;    /* the transaction coordinator (h_txn.c) */
    struct fs *fs;
    struct auth_creds *creds; /* SCRAM credentials in the data directory */
    int64_t reauth_ms;        /* connections.max.reauth.ms; 0: sessions do not end */
    /* sasl.enabled.mechanisms of each listener (enum auth_sasl_mech bits) */
    unsigned sasl_mechs[BROKER_MAX_LISTENERS];

    /* admin.c: the worker for topic administration */
    pthread_t admin;
    bool admin_started;
    pthread_mutex_t admin_mu;
    pthread_cond_t admin_cond;
    struct admin_job *admin_head, *admin_tail; /* queued, oldest first (admin_mu) */
    bool admin_stopping;                       /* admin_stop() was called (admin_mu) */

    /* authz.c: ACLs and the authorizer's settings */
    struct auth_acls *acls;
    struct auth_policy policy;
    char **super_users;         /* policy.super_users' strings, owned */
    const char *fuse_principal; /* fuse.principal (cfg's string), NULL when not set */

    /* h_alter_configs.c: the dynamic broker keys (dynamic_mu), over server.properties */
    pthread_mutex_t dynamic_mu;
    struct props *dynamic;
};

/* ---- evthread.c ---- */
/* Make libevent thread-safe with pthreads (before the event base is created). */
int broker_use_threads(void);

/* ---- admin.c ---- */
struct admin_job;
/* Work of an admin request, run on the admin thread: fill in pd->resp (allocating
 * from pd->arena) from ctx. */
typedef void (*admin_fn)(struct broker *b, struct pending *pd, void *ctx);
int admin_start(struct broker *b);
/* Finish what is queued, then stop the thread (after the event loop has ended). */
void admin_stop(struct broker *b);
/* Run fn(b, rq->pd, ctx) on the admin thread, then send pd->resp; rq's connection
 * reads no further request until then. ctx must outlive the job (pd->arena). */
void admin_submit(struct request *rq, admin_fn fn, void *ctx);
/* Run run(arg) on the admin thread, queued behind the admin requests before it;
 * run reports back to the loop by itself. 0, or -ESRCH when the thread is not
 * running (the caller does the work itself). */
typedef void (*admin_run_fn)(void *arg);
int admin_post(struct broker *b, admin_run_fn run, void *arg);

/* ---- server.c ---- */
/* The loops (num.network.threads) and the listeners; the loop threads start with
 * server_run. */
int server_start(struct broker *b);
/* Start loops 1..n-1 on their threads (loop 0 is the caller's to dispatch): 0 or -errno. */
int server_run(struct broker *b);
/* After loop 0 has ended: end the other loops and join their threads. */
void server_join(struct broker *b);
/* Whether any loop's connections still have requests in flight (loop 0, stopping). */
bool server_busy(struct broker *b);
/* The loop the calling thread runs, or NULL (the flusher, the admin worker, ...). */
struct net_loop *net_loop_self(void);
/* Whether the calling thread may act for l: it runs l, or l's thread has ended. */
bool net_loop_owned(struct net_loop *l);
/* Post a decoded coordinator request to loop 0 (dispatch.c's hand-off). */
void net_loop_post(struct broker *b, struct dispatch_handoff *h);
/* dispatch.c: run a request posted to loop 0, then free it; or free it unrun (its
 * pending goes with its connection). */
void dispatch_handoff_run(struct dispatch_handoff *h);
void dispatch_handoff_drop(struct dispatch_handoff *h);
/* Drop c's socket; queued responses are discarded as they complete. Safe inside
 * c's own callbacks: the connection is freed only when its last reference goes. */
void conn_close(struct conn *c, const char *why);
/* Go on with the requests c sent while it had to wait (loop thread). */
void conn_resume(struct conn *c);
void server_stop_accepting(struct broker *b);
/* Whether a connection accepted on descriptor fd would eat into the descriptors kept
 * for the log (RLIMIT_NOFILE / 16, within [16, 256]); such a connection is closed. */
bool server_fd_reserve_reached(int fd);
/* Read up to want bytes the socket fd already holds straight into in (one readv,
 * no readiness wait; libevent's own read takes 4 KiB at a time): what readv
 * returned. in must not be frozen. */
ssize_t evbuffer_read_fd(struct evbuffer *in, int fd, size_t want);
void server_free(struct broker *b);
/* Wake every loop from any thread: data was appended (parked fetches look again). */
void broker_wake(struct broker *b);
/* Queue a completed pending from any thread (its waits reached 0) for its home loop. */
void broker_complete_async(struct broker *b, struct pending *pd);
/* Encode pd->resp (on its home loop), mark it ready and send what can be sent; on
 * another loop than the connection's, the encoded answer is handed to that loop. */
void pending_finish(struct pending *pd);
/* Drop a waiting part; when the last goes, finish (home loop). */
void pending_release_wait(struct pending *pd);
/* listener_tls.c: the SSL and SASL_SSL listeners' contexts, built at start
 * (-EINVAL after logging why) and rebuilt on SIGHUP (connections keep theirs); a
 * new connection's SSL object from listener i's context (loop 0, at accept, so a
 * reload never races it; NULL: out of memory) and its bufferevent on the base of
 * the loop that takes it (owns ssl, also on failure); the handshake's end (sets the principal
 * on SSL listeners; negative: close); and a failed handshake's log line. */
int listener_tls_start(struct broker *b);
void listener_tls_reload(struct broker *b);
void listener_tls_stop(struct broker *b);
SSL *listener_tls_ssl_new(struct broker *b, int i);
struct bufferevent *listener_tls_bev_new(struct event_base *base, SSL *ssl, int fd);
int listener_tls_connected(struct conn *c);
void listener_tls_failed(struct conn *c);
/* The host and port clients should connect to. */
void broker_advertised(struct broker *b, const char **host, int *port);
/* The address clients are told for the listener c came in on (Metadata, FindCoordinator). */
void conn_advertised(const struct conn *c, const char **host, int *port);

/* ---- dispatch.c ---- */
void dispatch_request(struct conn *c, uint8_t *frame, size_t len);
/* While c has requests away on loop 0: whether the request in frame may be
 * dispatched now (another coordinator request); else it waits until they are back. */
bool dispatch_follows(struct conn *c, const uint8_t *frame, size_t len);

/* ---- h_sasl.c: the authentication gate ---- */
/* Whether c may be served api_key now; if not, c is closed (a request before
 * authentication on a SASL listener, or after the session ended). */
bool sasl_gate(struct conn *c, int16_t api_key);
/* Whether c's next frame is a bare SASL token (after a v0 SaslHandshake), and its
 * handling: the answer goes out as pd's bytes, in order. */
bool sasl_raw_expected(const struct conn *c);
void sasl_raw_token(struct conn *c, struct pending *pd, const uint8_t *p, size_t len);
/* Why c must close now (authentication too slow, session ended), or NULL. */
const char *sasl_sweep(struct conn *c, int64_t now_ms);
void sasl_conn_free(struct conn *c);
/* ---- sasl_config.c ---- */
/* sasl.enabled.mechanisms and connections.max.reauth.ms into b: 0, or -EINVAL
 * after logging why. */
int sasl_configure(struct broker *b);
/* One --add-scram 'SCRAM-SHA-512=[name=N,password=P]' into cs: 0, or -errno after
 * logging why. */
int sasl_add_scram(struct auth_creds *cs, const char *spec);

/* ---- response.c: what every handler uses to answer ---- */
/* Reply to rq now with resp (allocated in rq->pd->arena). */
void request_respond(struct request *rq, void *resp);
/* Answer rq by closing its connection, as Kafka does for a request it cannot
 * answer (its response would pass a limit): one rate-limited warning names why.
 * Use only when Kafka has no error code for the case. rq is finished. */
void request_refuse(struct request *rq, const char *why);
/* Bytes that n structs of size each take in a response arena (with the
 * allocation's rounding), and a string of len bytes copied into it. Saturating:
 * sums of them never wrap. */
uint64_t response_bytes(uint64_t n, size_t size);
uint64_t response_string_bytes(int64_t len);
/* Whether a response that needs `bytes` more of rq's arena stays within
 * RESPONSE_MAX_BYTES. Handlers ask before the work that would fill it. */
bool response_fits(const struct request *rq, uint64_t bytes);
/* Allocate n zeroed structs of size each from pd's arena: the caller checked
 * response_fits() first, so only a failed malloc can make this fail (abort). */
void *pending_calloc(struct pending *pd, size_t n, size_t size);
#define PENDING_NEW(pd, type, n) ((type *)pending_calloc((pd), (size_t)(n), sizeof(type)))
/* Allocate a zero-initialised response struct for rq's api/version. */
void *response_new(struct request *rq);
/* A NUL-terminated copy of s in the pending's arena ("" for null). */
char *pd_strdup(struct pending *pd, struct kstr s);
/* Kafka error code for a store/errno error. */
int16_t kafka_error_from(int err);
/* Mark in mark[] (n bytes, zeroed by the caller) the entries 0..n-1 of a request
 * that equal others by cmp (an order of entries a and b, over ctx): REQUEST_DUP_LATER
 * on each entry equal to an earlier one, REQUEST_DUP_ANY on every entry that has an
 * equal. Takes 4 bytes per entry of the heap (abort when there is none). */
#define REQUEST_DUP_LATER 1
#define REQUEST_DUP_ANY   2
void request_duplicates_mark(int32_t n, int (*cmp)(const void *ctx, int32_t a, int32_t b),
                             const void *ctx, uint8_t *mark);

/* ---- h_api_versions.c ---- */
/* The API versions brook advertises (ApiVersions), in key order. */
extern const struct api_range {
    int16_t key, min, max;
    const char *note; /* where brook's answer departs from Kafka's, or NULL */
} advertised_apis[];
extern const int n_advertised_apis;
/* The advertised range of an API, or NULL when brook does not offer it. */
const struct api_range *api_advertised(int16_t key);

/* ---- handlers: one h_*.c file per API family, called by dispatch.c ---- */
void handle_api_versions(struct request *rq); /* h_api_versions.c */
void handle_metadata(struct request *rq);     /* h_metadata.c */
void handle_produce(struct request *rq);      /* h_produce.c */
/* One partition of a Produce, answered into out (h_produce.c, h_legacy.c). */
typedef void (*produce_partition_fn)(struct request *rq, struct store_topic *t, int16_t topic_err,
                                     const struct kafka_produce_req_partition *in,
                                     struct kafka_produce_resp_partition *out, int16_t acks);
/* Both Produce handlers: bound the answer, then fn for each partition; answered
 * once every wait is done. */
void produce_request(struct request *rq, produce_partition_fn fn);
/* After an append with acks != 0: the answer waits until p is durable below end
 * (an error then lands in out). */
void produce_wait_durable(struct request *rq, struct store_partition *p, int64_t end,
                          struct kafka_produce_resp_partition *out);
void handle_init_producer_id(struct request *rq);  /* h_produce.c */
void handle_fetch(struct request *rq);             /* h_fetch.c */
void handle_list_offsets(struct request *rq);      /* h_fetch.c */
void handle_create_topics(struct request *rq);     /* h_topics.c */
void handle_delete_topics(struct request *rq);     /* h_topics.c */
void handle_create_partitions(struct request *rq); /* h_topics.c */
void handle_delete_records(struct request *rq);    /* h_topics.c */
void handle_describe_acls(struct request *rq);     /* h_acls.c */
void handle_create_acls(struct request *rq);       /* h_acls.c */
void handle_delete_acls(struct request *rq);       /* h_acls.c */
void handle_describe_configs(struct request *rq);  /* h_configs.c */
void handle_alter_configs(struct request *rq);     /* h_alter_configs.c */
void handle_incremental_alter_configs(struct request *rq);

/* ---- h_alter_configs.c: the dynamic broker keys ---- */
/* Read <log.dirs>/.broker.properties and apply it over server.properties (after
 * store_open). 0, or an error already logged (an invalid file stops the start). */
int broker_dynamic_load(struct broker *b);
void broker_dynamic_free(struct broker *b);
/* A copy of the dynamic keys in force (the caller frees it). */
struct props *broker_dynamic_copy(struct broker *b);
void handle_sasl_handshake(struct request *rq);    /* h_sasl.c */
void handle_sasl_authenticate(struct request *rq); /* h_sasl.c */
void handle_find_coordinator(struct request *rq);  /* h_find_coordinator.c */
void handle_join_group(struct request *rq);        /* h_groups.c */
void handle_sync_group(struct request *rq);        /* h_groups.c */
void handle_heartbeat(struct request *rq);         /* h_groups.c */
void handle_leave_group(struct request *rq);       /* h_groups.c */
void handle_list_groups(struct request *rq);       /* h_groups.c */
void handle_describe_groups(struct request *rq);   /* h_groups.c */
void handle_delete_groups(struct request *rq);     /* h_groups.c */
void handle_offset_commit(struct request *rq);     /* h_offsets.c */
void handle_offset_fetch(struct request *rq);      /* h_offsets.c */
void handle_offset_delete(struct request *rq);     /* h_offsets.c */
/* h_consumer_group.c: KIP-848 consumer groups */
void handle_consumer_group_heartbeat(struct request *rq);
void handle_consumer_group_describe(struct request *rq);

/* the single-node admin APIs */
void handle_describe_cluster(struct request *rq);             /* h_cluster.c */
void handle_describe_log_dirs(struct request *rq);            /* h_cluster.c */
void handle_offset_for_leader_epoch(struct request *rq);      /* h_partitions.c */
void handle_elect_leaders(struct request *rq);                /* h_partitions.c */
void handle_list_partition_reassignments(struct request *rq); /* h_partitions.c */
void handle_describe_producers(struct request *rq);           /* h_partitions.c */
void handle_describe_topic_partitions(struct request *rq);    /* h_describe_topics.c */

/* SCRAM users (h_scram.c) */
void handle_describe_user_scram_credentials(struct request *rq);
void handle_alter_user_scram_credentials(struct request *rq);

/* ---- h_produce.c: a new producer id, unique across restarts ---- */
int64_t broker_producer_id_new(struct broker *b);

/* ---- h_fetch.c ---- */
void fetch_on_append(struct net_loop *l);
void fetch_abort_all(struct net_loop *l);

/* ---- h_legacy.c: Produce v0-2 and Fetch v0-3 (message sets of magic 0 and 1) ---- */
void handle_produce_legacy(struct request *rq);
void handle_fetch_legacy(struct request *rq);
void legacy_fetch_on_append(struct net_loop *l);
void legacy_fetch_abort_all(struct net_loop *l);

/* ---- h_metadata.c: topics by name ---- */
/* Get a topic, creating it when auto-creation is on and create is set. Returns a
 * reference or NULL with *err set to a Kafka error code. */
struct store_topic *broker_topic(struct broker *b, struct kstr name, bool create, int16_t *err);
/* Copy a topic name into buf as a C string; false if it cannot be one. */
bool broker_topic_cstr(struct kstr name, char buf[256]);
/* The compacted one-partition topic a coordinator keeps its state in, created if
 * missing (a reference in *out); STORE_EINVALID_CONFIG, logged under module, when
 * it exists but is not compacted. 0 or an error. */
int broker_state_topic_open(struct broker *b, const char *name, const char *module,
                            struct store_topic **out);
/* The authorized-operations bit fields Kafka gives without an authorizer: every
 * operation a topic, or the cluster, supports (brook has no ACLs). */
extern const int32_t broker_topic_operations, broker_cluster_operations;

/* ---- the groups: h_groups.c (start, timers, views), h_offsets.c ---- */
int groups_open(struct broker *b);
void groups_close(struct broker *b);
void groups_tick(struct broker *b, int64_t now_ms);
/* KIP-848 consumer groups (h_consumer_group.c): in memory, beside the classic ones. */
int cgroups_open(struct broker *b);
void cgroups_close(struct broker *b);
void cgroups_tick(struct broker *b, int64_t now_ms);
/* Committed offset of group/topic/partition, or -1. */
int64_t groups_committed(struct broker *b, const char *group, const char *topic, int32_t part);

/* Read-only views for the console. Strings are borrowed: valid during the call
 * (or until the loop next runs group code, for groups_describe's *out). */
struct group_info {
    const char *id, *state; /* state as Kafka names it: "Stable", "Empty", ... */
    const char *protocol_type, *protocol, *leader; /* "" when none */
    int32_t generation;
    int nmembers;
};
struct group_member_info {
    const char *id, *instance_id; /* instance_id NULL unless static */
    const char *client_id, *client_host;
    int32_t session_ms;
    const uint8_t *assignment; /* the leader's assignment while Stable, else NULL */
    int32_t assignment_len;
};
typedef void (*groups_group_fn)(void *arg, const struct group_info *g);
typedef void (*groups_member_fn)(void *arg, const struct group_member_info *m);
typedef void (*groups_offset_fn)(void *arg, const char *group, const char *topic, int32_t partition,
                                 int64_t offset, const char *metadata, int64_t commit_ms);
/* Call fn for every group. */
void groups_foreach(struct broker *b, groups_group_fn fn, void *arg);
/* Describe one group into *out and call fn (may be NULL) for each member; -ENOENT. */
int groups_describe(struct broker *b, const char *id, struct group_info *out, groups_member_fn fn,
                    void *arg);
/* The same views of KIP-848 consumer groups (h_consumer_group.c): protocol type
 * "consumer", the assignor as protocol, the group epoch as generation. */
void cgroups_foreach(struct broker *b, groups_group_fn fn, void *arg);
int cgroups_describe(struct broker *b, const char *id, struct group_info *out, groups_member_fn fn,
                     void *arg);
/* Call fn for each committed offset of group (NULL: of every group). */
void groups_foreach_offset(struct broker *b, const char *group, groups_offset_fn fn, void *arg);
/*
 * Set the committed offsets of n partitions of topic for a group that has no
 * members (creating the group if unknown), as OffsetCommit outside a generation
 * does. Returns as store_partition_when_durable() for the commit record: 1 when
 * already durable, 0 when done(arg, rc) will be called from the flusher, or a
 * negative error: -EBUSY while the group has members, -EINVAL, or a store error.
 */
int groups_reset_offsets(struct broker *b, const char *group, const char *topic,
                         const int32_t *partitions, const int64_t *offsets, int n,
                         store_done_fn done, void *arg);

/* ---- authz.c: the authorizer ---- */
extern const struct conf_key authz_config_table[]; /* authorizer.class.name, super.users, ... */
/* The settings from b->cfg and the ACLs from the data directory: 0, or -errno with
 * a one-line reason in *err (an authorizer brook does not have, a damaged file). */
int authz_open(struct broker *b, const char **err);
void authz_close(struct broker *b);
/* fs_options.may for the mount: b (arg) decides as fuse.principal, from 127.0.0.1. */
bool authz_fuse_may(void *arg, enum auth_op op, enum auth_resource type, const char *name);
/* Whether rq's peer (principal, host) may do op on the resource; always true with
 * the authorizer off. name is ignored for the cluster. */
bool request_allowed(struct request *rq, enum auth_op op, enum auth_resource type,
                     const char *name);
bool request_allowed_kstr(struct request *rq, enum auth_op op, enum auth_resource type,
                          struct kstr name);
/* The operations of mask (bit 1 << op) rq's peer may do on the resource, as the
 * *_authorized_operations fields carry them (h_metadata.c). */
int32_t request_allowed_operations(struct request *rq, int32_t mask, enum auth_resource type,
                                   const char *name);
/* Whether rq's peer may do op (DESCRIBE_CONFIGS, ALTER_CONFIGS) on a config
 * resource: the topic for a topic, the cluster for the broker (h_configs.c). */
bool config_allowed(struct request *rq, int8_t type, struct kstr name, enum auth_op op);
/* Whether rq's peer may do op on some resource of type (auth_authorize_any). */
bool request_allowed_any(struct request *rq, enum auth_op op, enum auth_resource type);

/* ---- h_alter_configs.c, h_topics.c, h_groups.c, h_offsets.c: the console's writes ---- */
/* One operation of IncrementalAlterConfigs: op 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT. */
struct alter_op {
    const char *key, *value; /* value NULL when sent null */
    int8_t op;
};
/* Alter topic's config as IncrementalAlterConfigs does (admin thread): the Kafka
 * error code, with its message in why. */
int16_t alter_topic_configs(struct broker *b, const char *topic, const struct alter_op *ops,
                            int32_t n, bool validate_only, char *why, size_t whysize);
/* Grow topic to count partitions as CreatePartitions does (admin thread): the
 * Kafka error code, *msg its message (a literal) or NULL. */
int16_t topics_add_partitions(struct broker *b, struct kstr topic, int32_t count,
                              bool validate_only, const char **msg);
/* Delete a group and its offsets as DeleteGroups does (loop thread, authorizer
 * not asked): the Kafka error code (NON_EMPTY_GROUP while it has members). */
int16_t groups_delete_one(struct broker *b, struct kstr id);
/*
 * Delete group's committed offsets of topic as OffsetDelete does (loop thread,
 * authorizer not asked): *err is the Kafka error and *n the offsets deleted; returns
 * as store_partition_when_durable() for the tombstones (1 when nothing is to wait
 * for), or a negative errno when they could not be written (nothing changed).
 */
int groups_delete_offsets(struct broker *b, const char *group, const char *topic, int16_t *err,
                          int *n, store_done_fn done, void *arg);

/* ---- views.c: what the console (console/console.h) is lent ---- */
/* Fill *env for b's console; false when console.listeners is off. */
bool broker_console_env(struct broker *b, struct console_env *env);

/* ---- metrics.c ---- */
void metrics_init(struct metrics *m);
void metrics_release(struct metrics *m);
void metrics_request(struct metrics *m, int16_t key, bool error);
void metrics_topic(struct metrics *m, const char *topic, int64_t msgs_in, int64_t bytes_in,
                   int64_t msgs_out, int64_t bytes_out);
/* A request of api key took ns from its arrival until its response was ready.
 * Lock-free: any thread may call it. */
void metrics_latency(struct metrics *m, int16_t key, int64_t ns);
/* The counters of topic (under m->mu), or NULL when it was never counted. */
struct topic_metrics *metrics_topic_find(struct metrics *m, const char *topic);

#endif
