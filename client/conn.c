/*
 * conn.c - one multiplexed connection per broker.
 *
 * A connection moves DOWN -> CONNECTING -> HANDSHAKE -> READY and back to DOWN on
 * any failure. The handshake is, in order: TLS when security.protocol asks for it
 * (tls.c: the socket's bytes then go through OpenSSL), an ApiVersions request,
 * and SASL when security.protocol asks for it (sasl.c). ApiVersions' answer tells,
 * per api, which versions the broker speaks, and every later request is encoded
 * at the highest version both sides know (the client's range comes with the
 * request, the codec in proto/ handles any version it describes). A SASL session
 * with a lifetime (KIP-368) is renewed on the live connection: when it is due,
 * new requests wait in the queue, and once nothing is in flight the SASL exchange
 * runs again.
 *
 * Requests are sent as soon as they are queued on a ready connection, without
 * waiting for earlier answers: any number are in flight at once, each with its
 * own correlation id. Kafka answers a connection's requests in order, so the
 * answers are matched against the head of the in-flight list, and an answer whose
 * correlation id is not the head's means the stream is lost. Requests queued while
 * the connection is not ready wait (up to their deadline) and are encoded when the
 * handshake completes.
 *
 * Timeouts: connect plus handshake must finish within
 * socket.connection.setup.timeout.ms; the oldest request in flight within
 * request.timeout.ms (plus its own allowance, e.g. a Fetch's long poll). Requests
 * behind it wait for it, since the broker answers in order. A timeout closes the
 * connection, as Kafka clients do, and fails everything it carried. Reconnects
 * back off exponentially (reconnect.backoff.ms .. reconnect.backoff.max.ms, with
 * jitter) and happen only when a request needs the connection.
 *
 * Input is read into one buffer; a small frame is copied out, a large one (a Fetch
 * response) is handed over with the buffer itself, so fetched records are never
 * copied after the read. Output is one growable buffer written as the socket
 * accepts it.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/private.h"
#include "lib/grow.h"
#include "proto/kafka_errors.h"

#define RBUF_MIN  65536
#define BIG_FRAME 65536 /* frames this big keep the read buffer instead of a copy */
#define MAX_READS 16    /* reads per readiness event, for fairness */
#define REQ_ARENA (64u << 20)

/* ---- requests ---- */

/*
 * Every version limit of the client, in one place. A request is encoded at the
 * highest version of its range that the broker also speaks. Each upper end is the
 * last version the schema in proto/ describes (test_client checks that, so a limit
 * can never promise more than the codec knows); a lower end above the schema's says
 * what the client relies on. ApiVersions is the handshake, sent before the broker's
 * versions are known, so it has a single version.
 */
static const struct req_range req_ranges[] = {
    {KAFKA_API_PRODUCE, 3, 11},         /* v3: RecordBatch v2 */
    {KAFKA_API_FETCH, 4, 17},           /* v4: last stable offset; v13+ by topic id */
    {KAFKA_API_LIST_OFFSETS, 1, 10},    /* v1: one offset per partition */
    {KAFKA_API_METADATA, 1, 12},        /* v1: controller id, null for every topic */
    {KAFKA_API_OFFSET_COMMIT, 2, 9},    /* v2: the broker's retention */
    {KAFKA_API_OFFSET_FETCH, 1, 9},     /* v1: offsets kept by Kafka; v8+: a batch of one */
    {KAFKA_API_FIND_COORDINATOR, 0, 6}, /* v4+: one key of the batch (coord_answer) */
    {KAFKA_API_JOIN_GROUP, 0, 9},       /* no static members, so never skip_assignment */
    {KAFKA_API_HEARTBEAT, 0, 4},
    {KAFKA_API_LEAVE_GROUP, 0, 5},
    {KAFKA_API_SYNC_GROUP, 0, 5},
    {KAFKA_API_DESCRIBE_GROUPS, 0, 5},
    {KAFKA_API_LIST_GROUPS, 0, 5},
    {KAFKA_API_API_VERSIONS, 2, 2}, /* the handshake */
    {KAFKA_API_CREATE_TOPICS, 0, 7},
    {KAFKA_API_DELETE_TOPICS, 0, 6}, /* v6: by name, the topic id left zero */
    {KAFKA_API_INIT_PRODUCER_ID, 0, 5},
    {KAFKA_API_DELETE_GROUPS, 0, 2},
    {KAFKA_API_ADD_PARTITIONS_TO_TXN, 0, 3}, /* v4+ is between brokers */
    {KAFKA_API_ADD_OFFSETS_TO_TXN, 0, 4},
    {KAFKA_API_END_TXN, 0, 4}, /* v5 moves the epoch every transaction */
    {KAFKA_API_TXN_OFFSET_COMMIT, 0, 4},
    {KAFKA_API_SASL_HANDSHAKE, 1, 1},    /* v1: SaslAuthenticate frames, not raw ones */
    {KAFKA_API_SASL_AUTHENTICATE, 0, 2}, /* v1: the session's lifetime */
    {KAFKA_API_DESCRIBE_USER_SCRAM_CREDENTIALS, 0, 0},
    {KAFKA_API_ALTER_USER_SCRAM_CREDENTIALS, 0, 0},
    {KAFKA_API_DESCRIBE_ACLS, 1, 3}, /* v1: pattern types (prefixed ACLs) */
    {KAFKA_API_CREATE_ACLS, 1, 3},
    {KAFKA_API_DELETE_ACLS, 1, 3},
};

const struct req_range *req_range(int16_t key)
{
    for (size_t i = 0; i < sizeof req_ranges / sizeof req_ranges[0]; i++)
        if (req_ranges[i].key == key)
            return &req_ranges[i];
    return NULL;
}

struct req *req_new(int16_t key, req_cb *cb, void *arg)
{
    const struct kafka_api *api = kafka_api_find(key);
    const struct req_range *range = req_range(key);
    if (!api || !range)
        return NULL;
    struct req *rq = calloc(1, sizeof *rq);
    if (!rq)
        return NULL;
    arena_init(&rq->arena, REQ_ARENA);
    rq->body = arena_alloc(&rq->arena, api->request->size);
    if (!rq->body) {
        req_free(rq);
        return NULL;
    }
    kafka_init(api->request, rq->body);
    rq->key = key;
    rq->vmin = range->vmin > api->min_version ? range->vmin : api->min_version;
    rq->vmax = range->vmax < api->max_version ? range->vmax : api->max_version;
    rq->cb = cb;
    rq->arg = arg;
    return rq;
}

void req_free(struct req *rq)
{
    if (!rq)
        return;
    arena_release(&rq->arena);
    free(rq);
}

struct kstr req_str(struct req *rq, const char *s, int *err)
{
    if (!s)
        return KSTR_NULL;
    size_t n = strlen(s);
    char *p = arena_strndup(&rq->arena, s, n);
    if (!p) {
        *err = -ENOMEM;
        return KSTR_NULL;
    }
    return (struct kstr){p, (int32_t)n};
}

void req_orphan(struct req *rq)
{
    rq->cb = NULL;
    rq->arg = NULL;
}

struct resp *resp_take(struct resp *rs)
{
    struct resp *copy = malloc(sizeof *copy);
    if (!copy)
        return NULL;
    *copy = *rs;
    rs->frame = NULL;
    rs->body = NULL;
    arena_init(&rs->arena, RESP_ARENA_LIMIT); /* the old chunks now belong to copy */
    return copy;
}

static void resp_release(struct resp *rs)
{
    free(rs->frame);
    rs->frame = NULL;
    arena_release(&rs->arena);
}

void resp_free(struct resp *rs)
{
    if (!rs)
        return;
    resp_release(rs);
    free(rs);
}

/* ---- connection lifecycle ---- */

struct conn *conn_new(struct brook_client *c, int32_t node, const char *host, int port)
{
    struct conn *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    if (!(k->host = strdup(host))) {
        free(k);
        return NULL;
    }
    k->c = c;
    k->node = node;
    k->port = port;
    k->fd = -1;
    kafka_out_init(&k->out, OUT_MAX);
    for (int i = 0; i < API_SLOTS; i++)
        k->vmin[i] = k->vmax[i] = -1;
    struct conn **tail = &c->conns;
    while (*tail)
        tail = &(*tail)->next;
    *tail = k;
    return k;
}

void conn_free(struct conn *k)
{
    conn_tls_free(k);
    conn_sasl_free(k);
    if (k->fd >= 0)
        close(k->fd);
    if (k->addrs)
        freeaddrinfo(k->addrs);
    kafka_out_release(&k->out);
    free(k->rbuf);
    free(k->host);
    free(k);
}

struct conn *conn_find_node(struct brook_client *c, int32_t node)
{
    for (struct conn *k = c->conns; k; k = k->next)
        if (k->node == node)
            return k;
    return NULL;
}

static void run_cb(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    if (rq->cb)
        rq->cb(c, rq, err, rs);
    c->dirty = true;
}

/* Fail every request of a detached list. */
static void fail_list(struct brook_client *c, struct req *list, int err)
{
    while (list) {
        struct req *rq = list;
        list = rq->next;
        rq->next = NULL;
        run_cb(c, rq, err, NULL);
        req_free(rq);
    }
}

static int backoff_ms(struct conn *k)
{
    const struct client_conf *cf = &k->c->conf;
    int shift = k->failures > 16 ? 16 : k->failures - 1;
    int64_t b = (int64_t)cf->backoff_ms << (shift > 0 ? shift : 0);
    if (b > cf->backoff_max_ms)
        b = cf->backoff_max_ms;
    int64_t jitter = b / 5;
    if (jitter > 0)
        b += (int64_t)(client_rand(k->c) % (uint64_t)(2 * jitter + 1)) - jitter;
    return (int)b;
}

static void close_socket(struct conn *k)
{
    conn_tls_free(k);
    conn_sasl_free(k);
    k->reauth_due = false;
    k->reauth_at = 0;
    if (k->fd >= 0) {
        epoll_ctl(k->c->epfd, EPOLL_CTL_DEL, k->fd, NULL);
        close(k->fd);
        k->fd = -1;
    }
    if (k->addrs)
        freeaddrinfo(k->addrs);
    k->addrs = k->addr_next = NULL;
    k->epollout = false;
}

void conn_fail(struct conn *k, int err)
{
    struct brook_client *c = k->c;
    close_socket(k);
    k->state = CONN_DOWN;
    k->last_err = err;
    k->failures++;
    k->failed_at = c->now;
    k->retry_at = c->now + backoff_ms(k);
    c->last_conn_err = err;
    kafka_out_reset(&k->out);
    k->out_off = 0;
    k->rlen = 0;
    k->fetching = false;
    k->producing_blocked = false;
    struct req *inflight = k->inflight, *queue = k->queue;
    k->inflight = k->inflight_tail = k->queue = k->queue_tail = NULL;
    k->n_inflight = k->n_queue = 0;
    fail_list(c, inflight, err);
    fail_list(c, queue, err);
}

/* ---- sending ---- */

static void append(struct req **head, struct req **tail, struct req *rq)
{
    rq->next = NULL;
    if (*tail)
        (*tail)->next = rq;
    else
        *head = rq;
    *tail = rq;
}

void client_defer_fail(struct brook_client *c, struct req *rq, int err)
{
    rq->fail_err = err;
    rq->next = c->deferred;
    c->deferred = rq;
    c->dirty = true;
}

bool conn_supports(const struct conn *k, int16_t key)
{
    return k->state == CONN_READY && conn_speaks(k, key);
}

bool conn_speaks(const struct conn *k, int16_t key)
{
    const struct req_range *range = req_range(key);
    if (!range || key < 0 || key >= API_SLOTS || k->vmax[key] < 0)
        return false;
    int16_t lo = range->vmin > k->vmin[key] ? range->vmin : k->vmin[key];
    int16_t hi = range->vmax < k->vmax[key] ? range->vmax : k->vmax[key];
    return lo <= hi;
}

size_t conn_pending_out(const struct conn *k)
{
    return k->out.w.len - k->out_off;
}

/* Encode rq into k's output (k is ready). */
static void encode(struct conn *k, struct req *rq)
{
    struct brook_client *c = k->c;
    int16_t key = rq->key;
    if (key < 0 || key >= API_SLOTS || k->vmax[key] < 0) {
        client_defer_fail(c, rq, BROOK_ERR_VERSION);
        return;
    }
    int16_t hi = rq->vmax < k->vmax[key] ? rq->vmax : k->vmax[key];
    int16_t lo = rq->vmin > k->vmin[key] ? rq->vmin : k->vmin[key];
    if (hi < lo) {
        client_defer_fail(c, rq, BROOK_ERR_VERSION);
        return;
    }
    rq->version = hi;
    rq->corr = k->next_corr;
    k->next_corr = k->next_corr == INT32_MAX ? 0 : k->next_corr + 1;
    size_t mark = k->out.w.len;
    int rc =
        kafka_request_encode(key, hi, rq->corr, kstr_from(c->conf.client_id), rq->body, &k->out);
    if (rc) {
        k->out.w.len = mark;
        k->out.w.err = 0;
        client_defer_fail(c, rq, rc);
        return;
    }
    rq->deadline = c->now + c->conf.request_timeout_ms + rq->extra_ms;
    if (rq->noreply) {
        client_defer_fail(c, rq, 0); /* done once written; its callback runs from the loop */
        return;
    }
    append(&k->inflight, &k->inflight_tail, rq);
    k->n_inflight++;
}

void conn_send(struct conn *k, struct req *rq)
{
    struct brook_client *c = k->c;
    rq->conn = k;
    c->dirty = true;
    if (k->state == CONN_READY && !k->reauth_due) {
        encode(k, rq);
        return;
    }
    rq->deadline = c->now + c->conf.request_timeout_ms + rq->extra_ms;
    append(&k->queue, &k->queue_tail, rq);
    k->n_queue++;
}

static void set_epollout(struct conn *k, bool on)
{
    if (k->epollout == on || k->fd < 0)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = k};
    epoll_ctl(k->c->epfd, EPOLL_CTL_MOD, k->fd, &ev);
    k->epollout = on;
}

/* Write through TLS or straight to the socket: bytes written, or -errno. */
static ssize_t sock_send(struct conn *k, const void *p, size_t n)
{
    if (k->ssl)
        return conn_tls_write(k, p, n);
    ssize_t w = send(k->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w >= 0)
        return w ? w : -EPIPE;
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

/* Read through TLS or straight from the socket: bytes read, 0 at the peer's
 * close, or -errno. */
static ssize_t sock_recv(struct conn *k, void *p, size_t n)
{
    if (k->ssl)
        return conn_tls_read(k, p, n);
    ssize_t r = recv(k->fd, p, n, MSG_DONTWAIT);
    if (r >= 0)
        return r;
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static void conn_write(struct conn *k)
{
    while (k->out_off < k->out.w.len) {
        ssize_t n = sock_send(k, k->out.w.buf + k->out_off, k->out.w.len - k->out_off);
        if (n > 0) {
            k->out_off += (size_t)n;
        } else if (n == -EINTR) {
            continue;
        } else if (n == -EAGAIN) {
            /* TLS may wait to read first: readability is always watched */
            set_epollout(k, !k->ssl || k->tls_wants_write);
            return;
        } else {
            conn_fail(k, (int)n);
            return;
        }
    }
    kafka_out_reset(&k->out);
    k->out_off = 0;
    set_epollout(k, false);
}

/* ---- connecting and the handshake ---- */

static void on_versions(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct conn *k = rq->conn;
    if (err)
        return; /* the connection has failed already */
    const struct kafka_api_versions_resp *r = rs->body;
    if (r->error_code) {
        conn_fail(k, BROOK_ERR_VERSION);
        return;
    }
    for (int32_t i = 0; i < r->n_api_keys; i++) {
        int16_t key = r->api_keys[i].api_key;
        if (key >= 0 && key < API_SLOTS) {
            k->vmin[key] = r->api_keys[i].min_version;
            k->vmax[key] = r->api_keys[i].max_version;
        }
    }
    if (SEC_USES_SASL(c->conf.security)) {
        conn_sasl_start(k);
        return;
    }
    conn_set_ready(k);
}

void conn_set_ready(struct conn *k)
{
    k->state = CONN_READY;
    k->phase = PHASE_VERSIONS;
    k->reauth_due = false;
    k->failures = 0;
    k->last_err = 0;
    k->c->dirty = true;
    while (k->queue && k->state == CONN_READY) {
        struct req *q = k->queue;
        k->queue = q->next;
        if (!k->queue)
            k->queue_tail = NULL;
        k->n_queue--;
        encode(k, q);
    }
}

void conn_send_handshake(struct conn *k, struct req *rq)
{
    rq->conn = k;
    encode(k, rq);
    conn_write(k);
}

static void start_versions(struct conn *k)
{
    struct brook_client *c = k->c;
    k->phase = PHASE_VERSIONS;
    struct req *rq = req_new(KAFKA_API_API_VERSIONS, on_versions, NULL);
    if (!rq) {
        conn_fail(k, -ENOMEM);
        return;
    }
    rq->conn = k;
    rq->version = rq->vmax;
    rq->corr = k->next_corr++;
    int rc = kafka_request_encode(rq->key, rq->version, rq->corr, kstr_from(c->conf.client_id),
                                  rq->body, &k->out);
    if (rc) {
        req_free(rq);
        conn_fail(k, rc);
        return;
    }
    rq->deadline = k->conn_deadline;
    append(&k->inflight, &k->inflight_tail, rq);
    k->n_inflight++;
    conn_write(k);
}

/* Start a non-blocking connect to the next resolved address; false if none left. */
static bool try_next_addr(struct conn *k, int *err)
{
    while (k->addr_next) {
        struct addrinfo *ai = k->addr_next;
        k->addr_next = ai->ai_next;
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            *err = -errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
            *err = -errno;
            close(fd);
            continue;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = k};
        if (epoll_ctl(k->c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            *err = -errno;
            close(fd);
            continue;
        }
        k->fd = fd;
        k->epollout = true;
        return true;
    }
    return false;
}

static void conn_connect(struct conn *k)
{
    struct brook_client *c = k->c;
    char port[16];
    snprintf(port, sizeof port, "%d", k->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(k->host, port, &hints, &ai) || !ai) {
        conn_fail(k, -ENXIO);
        return;
    }
    k->addrs = k->addr_next = ai;
    k->state = CONN_CONNECTING;
    k->conn_deadline = c->now + c->conf.connect_timeout_ms;
    int err = -ECONNREFUSED;
    if (!try_next_addr(k, &err))
        conn_fail(k, err);
}

/* One step of the TLS handshake; ApiVersions follows when it is done. */
static void tls_step(struct conn *k)
{
    int rc = conn_tls_handshake(k);
    if (rc == -EAGAIN) {
        set_epollout(k, k->tls_wants_write);
        return;
    }
    if (rc) {
        conn_fail(k, rc);
        return;
    }
    set_epollout(k, false);
    start_versions(k);
}

static void start_handshake(struct conn *k)
{
    if (k->addrs)
        freeaddrinfo(k->addrs);
    k->addrs = k->addr_next = NULL;
    k->state = CONN_HANDSHAKE;
    if (!k->c->ssl_ctx) {
        start_versions(k);
        return;
    }
    k->phase = PHASE_TLS;
    int rc = conn_tls_start(k);
    if (rc) {
        conn_fail(k, rc);
        return;
    }
    tls_step(k);
}

/* The socket of a connecting k became writable (or failed). */
static void on_connected(struct conn *k)
{
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (!soerr) {
        start_handshake(k);
        return;
    }
    epoll_ctl(k->c->epfd, EPOLL_CTL_DEL, k->fd, NULL);
    close(k->fd);
    k->fd = -1;
    int err = -soerr;
    if (!try_next_addr(k, &err))
        conn_fail(k, err);
}

/* ---- receiving ---- */

static void on_frame(struct conn *k, uint8_t *frame, size_t total)
{
    struct brook_client *c = k->c;
    struct req *rq = k->inflight;
    struct reader r;
    reader_init(&r, frame + 4, total - 4);
    int32_t corr;
    if (!rq || kafka_response_header_decode(rq->key, rq->version, &r, &corr) || corr != rq->corr) {
        free(frame);
        conn_fail(k, BROOK_ERR_PROTOCOL);
        return;
    }
    k->inflight = rq->next;
    if (!k->inflight)
        k->inflight_tail = NULL;
    k->n_inflight--;
    rq->next = NULL;
    struct resp rs = {
        .frame = frame, .len = total, .broker = k->node, .conn = k, .version = rq->version};
    arena_init(&rs.arena, RESP_ARENA_LIMIT);
    int rc = kafka_response_decode(rq->key, rq->version, &r, &rs.arena, &rs.body);
    if (rc)
        run_cb(c, rq, rc == -ENOMEM ? -ENOMEM : BROOK_ERR_PROTOCOL, NULL);
    else
        run_cb(c, rq, 0, &rs);
    resp_release(&rs);
    req_free(rq);
}

static int grow_rbuf(struct conn *k, size_t want)
{
    if (want <= k->rcap)
        return 0;
    return ARRAY_GROW(k->rbuf, k->rcap, want > RBUF_MIN ? want : RBUF_MIN);
}

/* Cut the whole frame at the start of rbuf off into its own buffer. */
static uint8_t *cut_frame(struct conn *k, size_t total)
{
    size_t rest = k->rlen - total;
    uint8_t *frame;
    if (total >= BIG_FRAME) {
        uint8_t *fresh = malloc(rest > RBUF_MIN ? rest : RBUF_MIN);
        if (!fresh)
            return NULL;
        memcpy(fresh, k->rbuf + total, rest);
        frame = k->rbuf;
        k->rbuf = fresh;
        k->rcap = rest > RBUF_MIN ? rest : RBUF_MIN;
    } else {
        if (!(frame = malloc(total)))
            return NULL;
        memcpy(frame, k->rbuf, total);
        memmove(k->rbuf, k->rbuf + total, rest);
    }
    k->rlen = rest;
    return frame;
}

/* Handle every whole frame in rbuf; make room for the next one. */
static void parse_frames(struct conn *k)
{
    while (k->fd >= 0) {
        size_t size = 0;
        if (k->rlen >= 5 && !memcmp(k->rbuf, "HTTP/", 5)) { /* as a Kafka frame: over 1 GB */
            conn_fail(k, BROOK_ERR_NOT_KAFKA);
            return;
        }
        int rc = kafka_frame(k->rbuf, k->rlen, MAX_FRAME, &size);
        if (rc == -EAGAIN) {
            if (k->rlen >= 4 && grow_rbuf(k, 4 + size))
                conn_fail(k, -ENOMEM);
            return;
        }
        if (rc) {
            conn_fail(k, BROOK_ERR_PROTOCOL);
            return;
        }
        uint8_t *frame = cut_frame(k, 4 + size);
        if (!frame) {
            conn_fail(k, -ENOMEM);
            return;
        }
        on_frame(k, frame, 4 + size);
    }
}

static void conn_read(struct conn *k)
{
    for (int i = 0; i < MAX_READS && k->fd >= 0; i++) {
        if (k->rcap - k->rlen < 4096 && grow_rbuf(k, k->rlen + 4096)) {
            conn_fail(k, -ENOMEM);
            return;
        }
        ssize_t n = sock_recv(k, k->rbuf + k->rlen, k->rcap - k->rlen);
        if (n > 0) {
            k->rlen += (size_t)n;
            parse_frames(k);
        } else if (n == 0) {
            conn_fail(k, -EPIPE);
            return;
        } else if (n == -EINTR) {
            continue;
        } else if (n == -EAGAIN) {
            if (k->tls_wants_write) /* TLS must send first (a key update's answer) */
                set_epollout(k, true);
            return;
        } else {
            conn_fail(k, (int)n);
            return;
        }
    }
    /* TLS may hold decrypted bytes the socket no longer signals: come back */
    if (k->fd >= 0 && conn_tls_pending(k))
        k->c->dirty = true;
}

void conn_io(struct conn *k, uint32_t events)
{
    if (k->fd < 0)
        return;
    if (k->state == CONN_CONNECTING) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            on_connected(k);
        return;
    }
    if (k->state == CONN_HANDSHAKE && k->phase == PHASE_TLS) {
        tls_step(k);
        return;
    }
    /* a TLS read that had to write first goes on once the socket takes bytes */
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ||
        (k->ssl && k->tls_wants_write && (events & EPOLLOUT)))
        conn_read(k);
    /* a TLS write that waited for a read goes on after the read */
    if (k->fd >= 0 && ((events & EPOLLOUT) || (k->ssl && conn_pending_out(k))))
        conn_write(k);
}

/* ---- timers ---- */

/* Fail queued requests whose deadline has passed. */
static void expire_queue(struct conn *k, int64_t now)
{
    struct req **pp = &k->queue, *expired = NULL;
    k->queue_tail = NULL;
    while (*pp) {
        struct req *rq = *pp;
        if (rq->deadline <= now) {
            *pp = rq->next;
            rq->next = expired;
            expired = rq;
            k->n_queue--;
        } else {
            client_wake_at(k->c, rq->deadline);
            k->queue_tail = rq;
            pp = &rq->next;
        }
    }
    fail_list(k->c, expired, -ETIMEDOUT);
}

static void conn_run(struct conn *k, int64_t now)
{
    struct brook_client *c = k->c;
    switch (k->state) {
    case CONN_DOWN:
        if (k->queue)
            expire_queue(k, now);
        if (k->queue && now >= k->retry_at)
            conn_connect(k);
        else if (k->queue)
            client_wake_at(c, k->retry_at);
        break;
    case CONN_CONNECTING:
    case CONN_HANDSHAKE:
        if (k->state == CONN_HANDSHAKE && k->phase != PHASE_TLS && conn_tls_pending(k))
            conn_read(k);
        if (k->fd < 0)
            break;
        if (now >= k->conn_deadline)
            conn_fail(k, -ETIMEDOUT);
        else
            client_wake_at(c, k->conn_deadline);
        break;
    case CONN_READY:
        if (k->inflight && now >= k->inflight->deadline) {
            conn_fail(k, -ETIMEDOUT);
            break;
        }
        if (conn_tls_pending(k))
            conn_read(k);
        if (k->fd < 0)
            break;
        if (k->reauth_at && now >= k->reauth_at) {
            k->reauth_at = 0;
            k->reauth_due = true; /* new requests wait in the queue from now on */
        }
        if (k->reauth_due && !k->inflight && !k->sasl)
            conn_sasl_start(k);
        else if (k->reauth_at)
            client_wake_at(c, k->reauth_at);
        if (k->inflight)
            client_wake_at(c, k->inflight->deadline);
        if (k->out_off < k->out.w.len && !k->epollout)
            conn_write(k);
        break;
    }
}

static void run_deferred(struct brook_client *c)
{
    while (c->deferred) {
        struct req *list = c->deferred;
        c->deferred = NULL;
        while (list) {
            struct req *rq = list;
            list = rq->next;
            rq->next = NULL;
            run_cb(c, rq, rq->fail_err, NULL);
            req_free(rq);
        }
    }
}

void conn_run_all(struct brook_client *c, int64_t now)
{
    for (struct conn *k = c->conns; k; k = k->next)
        conn_run(k, now);
    run_deferred(c);
}
