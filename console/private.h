/*
 * private.h - what the console's sources (the .c files of console/) share;
 * nothing else includes it. The program that starts the console sees
 * console/console.h.
 *
 * The console is an evhttp server on the event loop it is lent (env.base), so
 * every handler runs on the loop thread and may call the store and the functions
 * of its environment directly. Two things arrive from other threads and are
 * handed back through one event (`wake`): durability callbacks of produced
 * records and offset resets (the store's flusher), and append notifications for
 * live tails (whichever thread appended). Both only take `mu`, note what happened
 * and activate the event.
 *
 * Handlers answer through the helpers below: JSON bodies with
 * console_reply_json(), errors as {"error": "...", "status": N} with
 * console_reply_error(). A handler either answers before it returns or keeps the
 * request (a durability wait, a live tail) and answers it later on the loop thread.
 */
#ifndef BROOK_CONSOLE_PRIVATE_H
#define BROOK_CONSOLE_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "auth/auth.h"
#include "console/console.h"

struct evhttp;
struct evhttp_request;
struct event;
struct record;
struct console_wait;
struct tail;
struct console_conn;
struct evhttp_connection;
struct evbuffer;
struct evhttp_bound_socket;
struct evconnlistener;
struct bufferevent;
struct props;

/* Request bodies: the largest the API takes (a produced record of the default
 * max.message.bytes, as the page sends it); evhttp refuses a larger one with 413
 * before reading it. */
#define CONSOLE_MAX_BODY        (1 << 20)
#define CONSOLE_MAX_HEADERS     (32 << 10)
#define CONSOLE_TIMEOUT_S       60  /* a viewer that stops reading what it is sent */
#define CONSOLE_ACCEPT_RETRY_MS 100 /* the listener rests after accept() fails */
#define CONSOLE_MAX_ALLOWED     32  /* names in console.allowed.hosts */
#define CONSOLE_HOST_MAX        253 /* a DNS name */
#define CONSOLE_MAX_TAILS       64  /* live tails open at once */
#define CONSOLE_MAX_FILTER      256 /* bytes of a text filter */
#define CONSOLE_MAX_LIMIT       1000
#define CONSOLE_SHOW_BYTES      (256 << 10) /* longer keys and values are cut in answers */
#define CONSOLE_SCAN_RECORDS    200000      /* records one filtered search may examine */
#define CONSOLE_SCAN_BYTES      (256 << 20) /* bytes one search may read */
#define CONSOLE_MAX_SESSIONS    1024        /* logged-in sessions held at once */
#define CONSOLE_MAX_LOGINS      8           /* passwords being checked at once (admin thread) */
#define CONSOLE_TOKEN_HEX       64          /* a session id or CSRF token: 32 random bytes in hex */
#define CONSOLE_PEER_MAX        64          /* a peer's numeric address */

/* console.auth, as resolved at start (auth.c). */
enum console_auth {
    CONSOLE_AUTH_AUTO,  /* unset, on loopback: a login once any user exists */
    CONSOLE_AUTH_NONE,  /* console.auth=none (loopback only) */
    CONSOLE_AUTH_LOGIN, /* console.auth=login, or unset on another address */
};

/* Who may reach a route (auth.c's gate). */
enum console_access {
    ACCESS_OPEN,   /* anyone: the page's files, /healthz, the login itself */
    ACCESS_USER,   /* a session, when a login is required */
    ACCESS_SCRAPE, /* a session or HTTP basic (/metrics) */
};
struct console_session;

/* A file of the page, compiled in by scripts/gen_assets.py (assets.c). */
struct console_asset {
    const char *path; /* "/app.js" */
    const char *type; /* Content-Type */
    const char *etag; /* quoted, from the content's hash */
    const char *data; /* the bytes (a string literal; len excludes its NUL) */
    size_t len;
};
extern const struct console_asset console_assets[];
extern const size_t console_n_assets;

struct console {
    struct console_env env; /* what the console is lent */
    struct evhttp *http;
    char host[256];     /* bound address, numeric */
    char cfg_host[256]; /* the host as console.listeners names it ("" for any) */
    int port;           /* bound port (the real one when 0 was asked for) */
    bool read_only;     /* console.read.only: write endpoints answer 403 */
    struct event *wake;

    /* auth.c: login, sessions; tls.c: console.ssl.* */
    enum console_auth auth;
    struct console_session *sessions; /* CONSOLE_MAX_SESSIONS slots */
    int64_t session_ms;               /* console.session.ms */
    int logins_inflight;              /* passwords being checked */
    int64_t logins_ok, logins_failed; /* for /metrics */
    bool tls;                         /* console.ssl.*: HTTPS */
    struct ssl_ctx_st *ssl_ctx;       /* when tls */

    /* conn.c: connections, deadline, Host rule, accept back-off */
    struct evconnlistener *listener;
    struct event *accept_retry; /* re-enables the listener after accept() failed */
    struct console_conn *conns; /* every connection evhttp holds */
    int nconns;                 /* admitted ones */
    int max_conns;              /* console.max.connections */
    int64_t request_timeout_ms; /* console.request.timeout.ms */
    char allowed[CONSOLE_MAX_ALLOWED][CONSOLE_HOST_MAX + 1]; /* console.allowed.hosts */
    int n_allowed;
    int64_t refused;         /* connections refused (cap or descriptors), for /metrics */
    int64_t deadline_closed; /* connections closed at the request deadline */

    pthread_mutex_t mu;
    pthread_cond_t idle;       /* signalled when outstanding drops */
    struct console_wait *done; /* durability waits that finished (mu), newest first */
    int outstanding;           /* durability callbacks still to come (mu) */
    bool appended;             /* something was appended since the last wake (mu) */

    struct series *series; /* series.c: the charts' samples */
    struct tail *tails;    /* open live tails */
    int ntails;
    uint32_t round_robin;  /* partition for the next record without a key */
    int64_t http_requests; /* answered, for /metrics */
    int64_t tails_opened;
};

/* One API request being handled: the request, its method, its decoded path
 * segments and query. Valid until the handler returns; a handler that keeps the
 * request keeps only `req`. */
struct creq {
    struct console *con;
    struct evhttp_request *req;
    int method;             /* enum evhttp_cmd_type */
    char *seg[8];           /* decoded path segments (owned by the router) */
    int nseg;               /* segments in seg */
    struct evkeyvalq query; /* decoded query parameters */
    /* who asks (auth.c): "User:<name>", or User:ANONYMOUS without a login */
    char principal[AUTH_PRINCIPAL_MAX];
    char peer[CONSOLE_PEER_MAX];     /* the peer's address, the ACLs' host */
    struct console_session *session; /* NULL without one */
};

/* ---- console.c: replies, parameters, durability waits ---- */

/* Send an answer (body may be NULL; it is emptied). A HEAD request gets the same
 * status and headers, with the Content-Length of the body it does not get. */
void console_send(struct evhttp_request *req, int status, struct evbuffer *body);
/* Answer with status and a JSON body (taken: the reference is consumed). */
void console_reply_json(struct evhttp_request *req, int status, json_t *body);
/* Answer with status and {"error": message, "status": status}. */
void console_reply_error(struct evhttp_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A query parameter, or NULL when absent. Borrowed from cr->query. */
const char *console_param(struct creq *cr, const char *name);
/*
 * An integer query parameter within [min, max]: 0 with *out set (to def when
 * absent), or -EINVAL after answering 400.
 */
int console_param_i64(struct creq *cr, const char *name, int64_t def, int64_t min, int64_t max,
                      int64_t *out);
/*
 * The request body as a JSON object: 0 with *out set (a new reference), or a
 * negative errno after answering 413 (too large), 415 (not application/json) or
 * 400 (not a JSON object).
 */
int console_body(struct creq *cr, json_t **out);
/* Parse a whole decimal integer; false on anything else. */
bool console_parse_i64(const char *s, int64_t *out);
/* A JSON string of s ("" for NULL, or when s is not valid UTF-8). */
json_t *console_str(const char *s);

/*
 * Wait for durability: `fn` runs on the loop thread once the flusher reports
 * everything before `end` durable on p (or at once when it already is), with the
 * flush result. `arg` is the caller's and must stay valid until then. Returns 0,
 * or the store's error when p cannot take writes (fn is not called).
 */
typedef void (*console_durable_fn)(struct console *con, void *arg, int rc);
int console_when_durable(struct console *con, struct store_partition *p, int64_t end,
                         console_durable_fn fn, void *arg);
/* The same for waits that are registered elsewhere (group offset resets): returns
 * the callback to hand to a store_done_fn user and its argument, counting it as
 * outstanding. Call console_wait_cancel() if it will never be called. */
struct console_wait *console_wait_new(struct console *con, console_durable_fn fn, void *arg);
void console_wait_durable(void *wait, int rc);
void console_wait_cancel(struct console_wait *w);
/* A JSON answer held until what it reports is durable: console_answer_durable is
 * the console_durable_fn that sends it (200; 503 when the broker stops first; 500
 * naming `written` when the flush fails) and frees it. console_answer_drop frees
 * one whose wait will never complete. */
struct console_answer {
    struct evhttp_request *req;
    json_t *answer;      /* owned */
    const char *written; /* "the offsets", "the tombstones" */
};
struct console_answer *console_answer_new(struct evhttp_request *req, json_t *answer,
                                          const char *written);
void console_answer_durable(struct console *con, void *arg, int rc);
void console_answer_drop(struct console_answer *a);

/*
 * Run work(arg) on the admin thread (topic administration, anything that may take
 * long), then done(con, arg, its result) on the loop thread - with -ECANCELED
 * instead when the broker stopped meanwhile. arg is the caller's until done.
 */
typedef int (*console_work_fn)(void *arg);
void console_offload(struct console *con, console_work_fn work, console_durable_fn done, void *arg);

/* ---- the JSON API: each answers the request ---- */
/* api.c: broker, topics, produce */
void api_broker(struct creq *cr);
void api_topics(struct creq *cr);
void api_topic_create(struct creq *cr);
void api_topic(struct creq *cr);
void api_topic_delete(struct creq *cr);
void api_produce(struct creq *cr);
/* A topic named by a path segment that cr's principal may op, or NULL after
 * answering 400/403/404. */
struct store_topic *api_topic_ref(struct creq *cr, const char *name, enum auth_op op);
/* messages.c */
void api_messages(struct creq *cr);
/* groups.c */
void api_groups(struct creq *cr);
void api_group(struct creq *cr);
void api_group_reset(struct creq *cr);
/* manage.c: topic configuration, partitions, records; deleting groups and offsets */
void api_topic_config(struct creq *cr);
void api_topic_partitions(struct creq *cr);
void api_records_delete(struct creq *cr);
void api_group_delete(struct creq *cr);
void api_offsets_delete(struct creq *cr);
/* Answer a Kafka error: {"error": msg (or the error's name), "kafka_error": its
 * name, "status": N}, with 400, 403, 404, 409 or 500 as the error says. */
void console_reply_kafka(struct evhttp_request *req, int16_t code, const char *msg);

/* ---- records.c: reading partitions, records as JSON ---- */

/* What a record is to transactions, in a read_uncommitted scan (a committed scan
 * shows only TXN_NONE and TXN_COMMITTED records, and marks them TXN_NONE). */
enum console_txn {
    TXN_NONE,          /* not transactional, or not asked */
    TXN_COMMITTED,     /* of a committed transaction */
    TXN_ABORTED,       /* of an aborted transaction */
    TXN_OPEN,          /* of a transaction still open */
    TXN_MARKER_COMMIT, /* a COMMIT marker (the control record) */
    TXN_MARKER_ABORT,  /* an ABORT marker */
};

/* A record's transaction: its state and its batch's producer id. */
struct console_mark {
    enum console_txn txn;
    int64_t producer_id;
};

/* Called for each record in offset order; return true to stop early. */
typedef bool (*scan_fn)(void *arg, int32_t partition, const struct record *r,
                        const struct console_mark *m);

/* The most aborted transactions one read_uncommitted scan looks at: a scan over
 * more ends early, at the first offset of the one past this (*next says where). */
#define CONSOLE_MAX_ABORTED 65536

/*
 * Visit the records of p with offsets in [from, end), reading at most max_bytes of
 * batches - or one batch, when the first is larger (the fetch-size rule of KIP-74,
 * so that a walk always moves on). committed: as a read_committed consumer, ending
 * at the last stable offset and skipping markers and aborted transactions; else
 * every record and the markers too, each with its enum console_txn. *next gets the
 * offset after the last record visited (or where reading stopped). Returns 0, or
 * a store error.
 */
int console_scan(struct store_partition *p, int64_t from, int64_t end, int64_t max_bytes,
                 bool committed, scan_fn fn, void *arg, int64_t *next);
/* Where a read ends: the high watermark, or the last stable offset when
 * committed. */
int64_t console_end(struct store_partition *p, bool committed);
/* The isolation=read_committed|read_uncommitted parameter (default committed):
 * 0, or -EINVAL after answering 400. */
int console_isolation(struct creq *cr, bool *committed);
/* The record as the API shows it (a new reference); a mark other than TXN_NONE
 * adds "txn": "committed" | "aborted" | "open" and "producer_id", or for markers
 * "control": "commit" | "abort" with the producer id and no key or value. */
json_t *console_record_json(int32_t partition, const struct record *r,
                            const struct console_mark *m);
/* Whether needle (ASCII case-insensitive) occurs in the key, value, or a header
 * key or value of r. An empty needle matches everything. */
bool console_record_matches(const struct record *r, const char *needle, size_t len);
/* Decode base64 (standard alphabet, padding optional): a malloc'd buffer, or NULL
 * when s is not base64. */
uint8_t *console_base64_decode(const char *s, size_t len, size_t *out_len);

/* ---- conn.c: connections, deadline, Host rule, accept back-off ---- */

/* Read console.max.connections, console.request.timeout.ms, console.allowed.hosts;
 * 0, or -EINVAL after logging the bad value. */
int console_conn_config(struct console *con, const struct props *p);
/* Take over the accept side of con->http bound on s. 0 or -ENOMEM. */
int console_conn_start(struct console *con, struct evhttp_bound_socket *s);
/* After evhttp_free: free what is left. */
void console_conn_stop(struct console *con);
/* Whether a request naming host (its Host header, NULL when absent) is served. */
bool console_host_allowed(struct console *con, const char *host);
/* A whole request arrived on req's connection: its deadline stops until the
 * answer has been written, then starts again for the next request. */
void console_conn_request_begins(struct console *con, struct evhttp_request *req);
/* Call fn(evcon, arg) when evcon goes (NULL: nothing); evhttp has one close
 * callback per connection, and the console's bookkeeping holds it. */
typedef void (*console_close_fn)(struct evhttp_connection *evcon, void *arg);
void console_conn_on_close(struct console *con, struct evhttp_connection *evcon,
                           console_close_fn fn, void *arg);

/* ---- tail.c: live tail over Server-Sent Events ---- */
void tail_open(struct creq *cr);
/* New records may be there: feed every open tail (loop thread). */
void tail_pump_all(struct console *con);
/* End every tail (console_stop). */
void tail_close_all(struct console *con);
/* End the tails whose session has ended (logout, expiry, user deleted). */
void tail_check_sessions(struct console *con);
/* Bytes queued for viewers and not yet taken by their sockets, over all tails. */
size_t tail_unsent_total(struct console *con);

/* ---- auth.c: login, sessions, CSRF, ACLs ---- */

/* Read console.auth and console.session.ms (refusing none on an address other
 * than loopback); 0, or -EINVAL after logging why. */
int console_auth_config(struct console *con, const struct props *p);
void console_auth_free(struct console *con);
/* Whether API requests need a session now. */
bool console_auth_required(struct console *con);
/* Whether the credential store holds any user. */
bool console_auth_any_user(struct console *con);
/* Log at start what the console exposes on an address other than loopback. */
void console_auth_announce(struct console *con);
/*
 * The gate, before a route's handler: sets cr->principal, cr->peer and
 * cr->session. true: run the handler now. false: answered (401 without a
 * session, 403 without the CSRF token on a write), or - HTTP basic on an
 * ACCESS_SCRAPE route - then(cr) runs once the password is checked.
 */
bool console_auth_admit(struct creq *cr, enum console_access access, void (*then)(struct creq *cr));
/* Whether cr's principal may do op on the resource (true when ACLs are off). */
bool console_may(const struct creq *cr, enum auth_op op, enum auth_resource type, const char *name);
/* The same, answering 403 when not. */
bool console_require(struct creq *cr, enum auth_op op, enum auth_resource type, const char *name);
/* The request's session id into out (CONSOLE_TOKEN_HEX + 1 bytes; "" without
 * one), for what outlives the request (a live tail). */
void console_auth_session_id(const struct creq *cr, char *out);
/* Whether what was opened under session id may go on: the session is live (for
 * "": no login is required now). */
bool console_auth_session_live(struct console *con, const char *id);
/* POST /api/v1/login, GET /api/v1/session, POST /api/v1/logout */
void api_login(struct creq *cr);
void api_session(struct creq *cr);
void api_logout(struct creq *cr);

/* ---- tls.c: console.ssl.* ---- */

/* Build the HTTPS context when console.ssl.keystore.* is given; 0, or -EINVAL
 * after logging why. */
int console_tls_config(struct console *con, const struct props *p);
void console_tls_free(struct console *con);
/* A TLS bufferevent (server side, socket not yet set) for a new connection. */
struct bufferevent *console_tls_bev(struct console *con, struct event_base *base);

/* ---- metrics.c: Prometheus text ---- */
void console_metrics_serve(struct creq *cr);

/* ---- series.c: the broker's figures each second, the last hour of them ---- */

/* Start sampling on the console's loop (con->series); 0 or -ENOMEM. */
int series_start(struct console *con);
void series_stop(struct console *con);
/* GET /api/v1/series, /series/broker, /series/topics, /series/topics/T,
 * /series/groups, /series/groups/G */
void api_series_index(struct creq *cr);
void api_series_broker(struct creq *cr);
void api_series_topics(struct creq *cr);
void api_series_topic(struct creq *cr);
void api_series_groups(struct creq *cr);
void api_series_group(struct creq *cr);

#endif
