/*
 * server.c - the TCP side of brookd on libevent: listeners, connections, framing,
 * response ordering, backpressure, timeouts, and wakeups from other threads.
 *
 * Reading: frames are parsed straight out of the bufferevent's input (int32 size,
 * then the request); a size below 0 or above socket.request.max.bytes closes the
 * connection. libevent 2.1 reads at most 4 KiB per readiness event, so a 1 MB
 * Produce request would cost 256 rounds of epoll_wait, FIONREAD and readv (and as
 * many window updates sent back); when the frame loop stops at a frame that is
 * still short, as much of the rest of it as the socket holds, up to READ_AHEAD_MAX,
 * is read straight into the input and the loop goes on; once per pass, so one
 * connection cannot hold the loop (memory is reserved only for bytes already
 * received, so a size prefix that lies costs nothing).
 *
 * Each request is dispatched at once, so pipelined requests are processed in
 * order; their responses are queued as `pending`s and sent strictly in request
 * order as each becomes ready. Reading stops while a connection has
 * CONN_MAX_PENDING requests in flight or more than CONN_OUT_HIGH_WATER bytes
 * unsent, and resumes below the low-water mark (le-proxy's pattern).
 *
 * Writing: memory parts of a response are copied into the output evbuffer; record
 * data is added as file segments, which libevent sends with sendfile(2).
 *
 * A one-second sweep on each loop closes its connections idle for
 * connections.max.idle.ms and those that leave a request incomplete for
 * request.timeout.ms (slowloris); loop 0's also drives the coordinators' timers.
 *
 * File descriptors: connections may not take the last ones, which the log needs for
 * fetches (each dups its segment), flushes, segment rolls and new topics. A connection
 * accepted while fewer than store_fd_reserve() descriptors (1/16 of RLIMIT_NOFILE,
 * 16 to 256) would be left is closed at once, as one over
 * max.connections is; the client sees the close and retries. The limit is read at each
 * accept, so it follows prlimit(1). When accept() fails for lack of descriptors all
 * the same (the log holds them), the listeners are paused for 100 ms instead of
 * spinning. Each is a log_warn_every() line: a few per 10 s, then a count.
 *
 * libevent's listener accepts until the backlog is empty, so a storm of a thousand
 * connects would hold up every connected client for as long as the thousand accepts
 * take (tens of milliseconds). After ACCEPT_BURST accepts the listeners are paused
 * until the next loop iteration (a zero timeout on the retry timer), which lets the
 * other ready connections run in between.
 *
 * Closing is by flag: conn_close() drops the socket and the connection is freed
 * once its last pending request has completed, outside its own callbacks.
 *
 * Network threads (num.network.threads; the hand-offs are listed in private.h):
 * loop 0 runs on the main thread, loops 1..n-1 each on a thread of their own with
 * their own event base. Loop 0 alone listens and accepts; each accepted descriptor
 * goes to the loop holding the fewest connections (round robin among equals), so
 * max.connections, the descriptor reserve and the accept-burst pause stay in one
 * place. A loop's cross-thread lists (completions, answers from loop 0, accepted
 * descriptors, and on loop 0 requests posted to it) share one mutex and one wake
 * event. With one loop nothing is handed anywhere: every path is the single-loop
 * one. Stopping: loop 0 stops accepting and asks every loop to stop; each answers
 * what it holds and reports when its connections are idle; loop 0 ends when all
 * are (or the drain limit passes) and the threads are joined.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "broker/private.h"
#include "broker/txn.h"
#include "lib/clock.h"
#include "lib/log.h"

#define SWEEP_MS          1000
#define ACCEPT_RETRY_MS   100
#define ACCEPT_BURST      64         /* accepts, then the listeners wait one loop iteration */
#define READ_AHEAD_MAX    (1 << 20)  /* bytes read at once into a frame being assembled */
#define LIBEVENT_READ_MAX 4096       /* what libevent 2.1 reads per readiness event */
#define FRAMES_PER_PASS   8          /* requests decoded per connection before the others' turn */
#define YIELD_INPUT_MAX   (64 << 10) /* input held while yielding, past which reading stops */
#define DRAIN_CHECK_MS    20

static bool conn_yield(struct conn *c);

/* A descriptor loop 0 accepted for another loop. */
struct net_accept {
    struct net_accept *next;
    int fd;
    int li;   /* the listener */
    SSL *ssl; /* TLS listeners: made from the listener's context at accept */
    struct sockaddr_storage sa;
    socklen_t salen;
};

static _Thread_local struct net_loop *net_self; /* the loop this thread runs */

struct net_loop *net_loop_self(void)
{
    return net_self;
}

bool net_loop_owned(struct net_loop *l)
{
    return net_self == l || !atomic_load(&l->running);
}

static void conn_unref(struct conn *c)
{
    if (--c->refs > 0)
        return;
    struct net_loop *l = c->loop;
    sasl_conn_free(c);
    if (c->yield)
        event_free(c->yield);
    if (c->prev)
        c->prev->next = c->next;
    else if (l->conns == c)
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
}

static void pending_free(struct pending *pd)
{
    for (size_t i = 0; i < pd->out.n_splices; i++)
        if (pd->out.splices[i].fd >= 0)
            close(pd->out.splices[i].fd);
    kafka_out_release(&pd->out);
    arena_release(&pd->arena);
    struct conn *c = pd->c;
    free(pd);
    conn_unref(c);
}

void conn_close(struct conn *c, const char *why)
{
    if (!net_loop_owned(c->loop)) {
        /* a handler on loop 0 refusing a request: c's loop closes it when the
         * answer comes back (the pending keeps c alive until then) */
        const char *none = NULL;
        atomic_compare_exchange_strong(&c->close_why, &none, why);
        return;
    }
    if (!c->bev)
        return;
    log_debug("brook.network", "closing connection from %s: %s", c->peer, why);
    bufferevent_free(c->bev);
    c->bev = NULL;
    atomic_fetch_sub(&c->loop->nconns, 1);
    atomic_fetch_sub(&c->b->nconns, 1);
    conn_unref(c); /* the socket's reference */
}

static size_t out_len(struct conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

static void set_paused(struct conn *c, bool pause)
{
    if (!c->bev || c->paused == pause)
        return;
    c->paused = pause;
    if (pause)
        bufferevent_disable(c->bev, EV_READ);
    else
        bufferevent_enable(c->bev, EV_READ);
}

/* Put a ready response on the wire: memory pieces and file segments in order. */
static void send_out(struct conn *c, struct kafka_out *o)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t pos = 0;
    for (size_t i = 0; i < o->n_splices; i++) {
        struct kafka_splice *s = &o->splices[i];
        evbuffer_add(out, o->w.buf + pos, s->pos - pos);
        pos = s->pos;
        struct evbuffer_file_segment *seg =
            evbuffer_file_segment_new(s->fd, s->off, s->len, EVBUF_FS_CLOSE_ON_FREE);
        if (!seg) {
            conn_close(c, "cannot send file data");
            return;
        }
        s->fd = -1; /* the segment owns it now */
        evbuffer_add_file_segment(out, seg, 0, s->len);
        evbuffer_file_segment_free(seg);
    }
    evbuffer_add(out, o->w.buf + pos, o->w.len - pos);
}

static bool tls_unsent(struct conn *c);

/* Send every ready response at the head of the queue. */
static void conn_flush(struct conn *c)
{
    struct pending *pd;
    c->refs++; /* freeing the last pending may otherwise free c under us */
    while ((pd = c->head) && pd->ready) {
        c->head = pd->next;
        if (!c->head)
            c->tail = NULL;
        c->npending--;
        if (c->bev && !pd->noreply)
            send_out(c, &pd->out);
        pending_free(pd);
    }
    if (c->bev && c->paused && !c->admin_busy && c->npending < CONN_MAX_PENDING / 2 &&
        out_len(c) < CONN_OUT_LOW_WATER)
        set_paused(c, false);
    if (c->loop->stopping && !c->head && c->bev && out_len(c) == 0)
        conn_close(c, "shutting down");
    if (c->closing && !c->head && c->bev && out_len(c) == 0 && !tls_unsent(c))
        conn_close(c, "closing after its answer"); /* its last answer is out */
    conn_unref(c);
}

static void conn_flush_event(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (c->bev)
        conn_flush(c);
    conn_unref(c);
}

/* The socket took the last of a TLS connection's ciphertext. A close waiting for
 * that happens on the next loop pass, not from inside the buffer's own callback
 * (closing frees the buffer). */
static void tls_sent_cb(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;
    if (!info->n_deleted || evbuffer_get_length(out) || !c->bev)
        return;
    c->refs++;
    if (event_base_once(c->loop->base, -1, EV_TIMEOUT, conn_flush_event, c,
                        &(struct timeval){0, 0}))
        conn_unref(c); /* out of memory: the sweep closes it */
}

/* Whether OpenSSL has encrypted bytes of c's that the socket has not yet taken:
 * a TLS connection's own output is empty as soon as OpenSSL has read it, and
 * closing then would lose its last answer (a failed authentication's error). The
 * first time it is asked, the socket's output is watched for the moment it is. */
static bool tls_unsent(struct conn *c)
{
    struct bufferevent *sock = bufferevent_get_underlying(c->bev);
    if (!sock || !evbuffer_get_length(bufferevent_get_output(sock)))
        return false;
    if (!c->close_watch) {
        c->close_watch = true;
        evbuffer_add_cb(bufferevent_get_output(sock), tls_sent_cb, c);
    }
    return true;
}

/* Queue pd on l's list (head) under l's mutex and wake l. */
static void loop_push(struct net_loop *l, struct pending **list, struct pending *pd)
{
    pthread_mutex_lock(&l->mu);
    pd->next_done = *list;
    *list = pd;
    pthread_mutex_unlock(&l->mu);
    event_active(l->wake, EV_READ, 0);
}

void pending_finish(struct pending *pd)
{
    struct conn *c = pd->c;
    metrics_latency(&c->b->metrics, pd->api_key, clock_mono_ns() - pd->started_ns);
    if (!pd->noreply && pd->resp) {
        int rc = kafka_response_encode(pd->api_key, pd->api_version, pd->correlation_id, pd->resp,
                                       &pd->out);
        if (rc) {
            log_warn_every("brook.network", "cannot encode %s v%d response: %s",
                           kafka_api_find(pd->api_key)->name, pd->api_version, strerror(-rc));
            conn_close(c, "response encoding failed");
        }
    }
    if (!net_loop_owned(c->loop)) { /* answered on loop 0: c's loop sends it */
        loop_push(c->loop, &c->loop->returned, pd);
        return;
    }
    pd->ready = true;
    conn_flush(c);
}

/* c's loop: an answer from loop 0 is back; c reads again. */
static void pending_returned(struct pending *pd)
{
    struct conn *c = pd->c;
    const char *why = atomic_exchange(&c->close_why, NULL);
    if (why)
        conn_close(c, why);
    if (--c->away == 0)
        conn_resume(c); /* requests that waited for it (pd keeps c alive) */
    pd->ready = true;
    conn_flush(c);
}

void pending_release_wait(struct pending *pd)
{
    if (atomic_fetch_sub(&pd->waits, 1) == 1) {
        if (pd->on_complete)
            pd->on_complete(pd);
        else
            pending_finish(pd);
    }
}

void broker_wake(struct broker *b)
{
    for (int i = 0; i < b->n_loops; i++) {
        struct net_loop *l = &b->loops[i];
        pthread_mutex_lock(&l->mu);
        l->appended = true;
        pthread_mutex_unlock(&l->mu);
        event_active(l->wake, EV_READ, 0);
    }
}

void broker_complete_async(struct broker *b, struct pending *pd)
{
    struct net_loop *l = pd->home ? pd->home : pd->c->loop;
    loop_push(l, &l->completed, pd);
}

void net_loop_post(struct broker *b, struct dispatch_handoff *h)
{
    struct net_loop *l = &b->loops[0];
    pthread_mutex_lock(&l->mu);
    *(struct dispatch_handoff **)h = l->handoffs; /* the first field links them */
    l->handoffs = h;
    pthread_mutex_unlock(&l->mu);
    event_active(l->wake, EV_READ, 0);
}

/* A list pushed newest first, in the order it was pushed. */
static struct pending *pending_list_reverse(struct pending *list)
{
    struct pending *rev = NULL;
    while (list) {
        struct pending *next = list->next_done;
        list->next_done = rev;
        rev = list;
        list = next;
    }
    return rev;
}

static void *link_list_reverse(void *list)
{
    void *rev = NULL;
    while (list) {
        void *next = *(void **)list;
        *(void **)list = rev;
        rev = list;
        list = next;
    }
    return rev;
}

static void conn_new(struct net_loop *l, int fd, int li, SSL *ssl, struct sockaddr *sa,
                     int socklen);
static void loop_stop_here(struct net_loop *l);

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct net_loop *l = arg;
    pthread_mutex_lock(&l->mu);
    struct pending *done = l->completed, *back = l->returned;
    struct net_accept *acc = l->accepted;
    struct dispatch_handoff *posted = l->handoffs;
    bool appended = l->appended, stop = l->stop_asked && !l->stopping;
    l->completed = l->returned = NULL;
    l->accepted = NULL;
    l->handoffs = NULL;
    l->appended = false;
    pthread_mutex_unlock(&l->mu);
    for (struct net_accept *a = link_list_reverse(acc), *next; a; a = next) {
        next = a->next;
        conn_new(l, a->fd, a->li, a->ssl, (struct sockaddr *)&a->sa, (int)a->salen);
        free(a);
    }
    /* the lists are newest first: reversed, completions keep their order */
    for (struct pending *pd = pending_list_reverse(done), *next; pd; pd = next) {
        next = pd->next_done;
        if (pd->on_complete)
            pd->on_complete(pd);
        else
            pending_finish(pd);
    }
    for (struct dispatch_handoff *h = link_list_reverse(posted), *next; h; h = next) {
        next = *(struct dispatch_handoff **)h;
        dispatch_handoff_run(h);
    }
    for (struct pending *pd = pending_list_reverse(back), *next; pd; pd = next) {
        next = pd->next_done;
        pending_returned(pd);
    }
    if (appended) {
        fetch_on_append(l);
        legacy_fetch_on_append(l);
    }
    if (stop)
        loop_stop_here(l);
}

ssize_t evbuffer_read_fd(struct evbuffer *in, int fd, size_t want)
{
    struct evbuffer_iovec v[2];
    int n = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
    struct iovec iov[2];
    size_t room = 0;
    for (int i = 0; i < n; i++) {
        if (v[i].iov_len > want - room)
            v[i].iov_len = want - room;
        iov[i] = (struct iovec){v[i].iov_base, v[i].iov_len};
        room += v[i].iov_len;
    }
    ssize_t got = n > 0 ? readv(fd, iov, n) : -1;
    size_t left = got > 0 ? (size_t)got : 0;
    for (int i = 0; i < n; i++) {
        if (v[i].iov_len > left)
            v[i].iov_len = left;
        left -= v[i].iov_len;
    }
    if (n > 0)
        evbuffer_commit_space(in, v, n);
    return got;
}

/* Read up to `missing` more bytes of the frame c's input ends in, as many as the socket
 * holds, without waiting for another readiness event; true when bytes came in. End
 * of stream and errors are left to libevent's next read. */
static bool read_ahead(struct conn *c, struct evbuffer *in, size_t missing)
{
    int fd = bufferevent_getfd(c->bev), ready = 0;
    if (c->tls) /* the socket holds ciphertext: only OpenSSL may read it */
        return false;
    /* what libevent's own read takes in one go is not worth a second system call;
     * and memory is reserved only for bytes the kernel already holds */
    if (missing <= LIBEVENT_READ_MAX || ioctl(fd, FIONREAD, &ready) < 0 ||
        ready <= LIBEVENT_READ_MAX)
        return false;
    size_t want = missing < (size_t)ready ? missing : (size_t)ready;
    if (want > READ_AHEAD_MAX)
        want = READ_AHEAD_MAX;
    evbuffer_unfreeze(in, 0); /* a bufferevent's input takes data only from libevent's read */
    ssize_t got = evbuffer_read_fd(in, fd, want);
    evbuffer_freeze(in, 0);
    return got > 0;
}

/* A TLS record header (handshake, version 3.x) where a plaintext connection's first
 * request size should be: a client configured for TLS on a plaintext listener. Says
 * so and closes, rather than reading a 369 MB request size. */
static bool conn_speaks_tls(struct conn *c, const uint8_t p[4])
{
    if (c->tls || !c->lst || p[0] != 0x16 || p[1] != 0x03 || p[2] > 0x04)
        return false;
    log_warn_every("brook.network",
                   "closing %s: it began a TLS handshake on plaintext listener %s (%s); the "
                   "client needs security.protocol=%s",
                   c->peer, c->lst->name, broker_security_name(c->lst->security),
                   broker_security_name(c->lst->security));
    conn_close(c, "TLS on a plaintext listener");
    return true;
}

/* Dispatch every whole request in c's input, unless c must wait (backpressure, an
 * admin request on the worker thread, or requests on loop 0 that the next one may
 * not overtake); track when a partial one arrived. */
static void conn_read_frames(struct conn *c)
{
    c->refs++; /* dispatch may close the connection */
    bool read_once = false, yielded = false, held = false;
    int frames = 0;
    while (c->bev) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        if (c->admin_busy || c->npending >= CONN_MAX_PENDING || out_len(c) > CONN_OUT_HIGH_WATER) {
            set_paused(c, true);
            break;
        }
        size_t avail = evbuffer_get_length(in), size;
        uint8_t prefix[4];
        if (avail < 4)
            break;
        evbuffer_copyout(in, prefix, 4);
        if (!c->spoke && conn_speaks_tls(c, prefix))
            break;
        int rc = kafka_frame(prefix, 4, (size_t)c->b->cfg->max_request_bytes, &size);
        if (rc == -EMSGSIZE || rc == -EBADMSG) {
            log_warn_every("brook.network", "closing %s: request size %d out of range", c->peer,
                           (int)((uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 |
                                 (uint32_t)prefix[2] << 8 | prefix[3]));
            conn_close(c, "bad frame size");
            break;
        }
        if (avail < 4 + size) {
            if (!read_once && read_ahead(c, in, 4 + size - avail)) {
                read_once = true;
                continue;
            }
            break;
        }
        if (frames++ == FRAMES_PER_PASS && (yielded = conn_yield(c)))
            break; /* the rest on the next pass, after the other ready connections */
        uint8_t *frame = evbuffer_pullup(in, (ssize_t)(4 + size));
        if (!frame) {
            conn_close(c, "out of memory");
            break;
        }
        if (c->away && !dispatch_follows(c, frame + 4, size)) { /* waits: dispatch.c */
            /* reading goes on up to YIELD_INPUT_MAX, so a peer that sends its last
             * request and closes is seen to close while one of its requests waits on
             * loop 0 (a JoinGroup can wait for minutes) */
            if (evbuffer_get_length(in) > YIELD_INPUT_MAX)
                set_paused(c, true);
            held = true;
            break;
        }
        c->spoke = true;
        dispatch_request(c, frame + 4, size);
        if (c->bev)
            evbuffer_drain(in, 4 + size);
    }
    if (c->bev) {
        /* whole requests held back behind an admin request, behind requests on
         * loop 0, or for the others' turn are not a slow client */
        size_t left = evbuffer_get_length(bufferevent_get_input(c->bev));
        if (!left || c->admin_busy || held || yielded)
            c->partial_since_ms = 0;
        else if (!c->partial_since_ms)
            c->partial_since_ms = c->last_active_ms;
    }
    conn_unref(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    c->last_active_ms = clock_mono_ms();
    conn_read_frames(c);
}

void conn_resume(struct conn *c)
{
    if (c->bev && c->paused && c->npending < CONN_MAX_PENDING / 2 &&
        out_len(c) < CONN_OUT_LOW_WATER)
        set_paused(c, false);
    conn_read_frames(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    c->last_active_ms = clock_mono_ms();
    conn_flush(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) { /* a TLS handshake has finished */
        c->last_active_ms = clock_mono_ms();
        if (listener_tls_connected(c))
            conn_close(c, "no principal for the certificate");
        return;
    }
    if (c->tls && !c->tls_ready && (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
        listener_tls_failed(c);
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        conn_close(c, what & BEV_EVENT_EOF ? "peer closed" : "socket error");
}

/* Whether a connection on descriptor fd eats into the descriptors kept for the log
 * (the store's reserve; the console asks too). */
bool server_fd_reserve_reached(int fd)
{
    return store_fd_scarce(fd);
}

/* Set up a connection on l (its thread) for descriptor fd from listener li; ssl
 * is the TLS listeners' SSL object (owned from here on). */
static void conn_new(struct net_loop *l, int fd, int li, SSL *ssl, struct sockaddr *sa, int socklen)
{
    struct broker *b = l->b;
    struct conn *c = l->stopping ? NULL : calloc(1, sizeof *c);
    struct bufferevent *bev = !c    ? NULL
                              : ssl ? listener_tls_bev_new(l->base, ssl, fd)
                                    : bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        if (!c && ssl)
            SSL_free(ssl);
        free(c);
        close(fd);
        atomic_fetch_sub(&l->nconns, 1);
        atomic_fetch_sub(&b->nconns, 1);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?";
    getnameinfo(sa, (socklen_t)socklen, host, sizeof host, serv, sizeof serv,
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(c->peer, sizeof c->peer, "%s:%s", host, serv);
    snprintf(c->host, sizeof c->host, "%s", host);
    snprintf(c->principal, sizeof c->principal, "%s", AUTH_ANONYMOUS);
    c->b = b;
    c->loop = l;
    c->lst = &b->cfg->listeners[li];
    c->tls = ssl != NULL;
    c->bev = bev;
    c->refs = 1;
    c->last_active_ms = c->accepted_ms = clock_mono_ms();
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    atomic_fetch_add_explicit(&b->metrics.connections_total, 1, memory_order_relaxed);
    bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* The loop a new connection goes to: the fewest connections, round robin among
 * equals (loop 0's counts are read while other loops close theirs: a hint). */
static struct net_loop *loop_pick(struct broker *b)
{
    int best = -1;
    int64_t fewest = INT64_MAX;
    for (int k = 0; k < b->n_loops; k++) {
        int i = (int)((b->next_loop + 1 + (unsigned)k) % (unsigned)b->n_loops);
        int64_t n = atomic_load_explicit(&b->loops[i].nconns, memory_order_relaxed);
        if (n < fewest) {
            fewest = n;
            best = i;
        }
    }
    b->next_loop = (unsigned)best;
    return &b->loops[best];
}

/* Hand fd to loop l's thread; false when out of memory (fd is still the caller's). */
static bool loop_hand(struct net_loop *l, int fd, int li, SSL *ssl, struct sockaddr *sa,
                      int socklen)
{
    struct net_accept *a = calloc(1, sizeof *a);
    if (!a || (size_t)socklen > sizeof a->sa) {
        free(a);
        return false;
    }
    *a = (struct net_accept){.fd = fd, .li = li, .ssl = ssl, .salen = (socklen_t)socklen};
    memcpy(&a->sa, sa, (size_t)socklen);
    pthread_mutex_lock(&l->mu);
    a->next = l->accepted;
    l->accepted = a;
    pthread_mutex_unlock(&l->mu);
    event_active(l->wake, EV_READ, 0);
    return true;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    struct broker *b = arg;
    if (++b->accepts >= ACCEPT_BURST && !b->stopping) { /* let the others have a turn */
        static const struct timeval next_iteration = {0, 0};
        b->accepts = 0;
        for (int i = 0; i < b->n_listeners; i++)
            evconnlistener_disable(b->listeners[i]);
        evtimer_add(b->accept_retry, &next_iteration);
    }
    int64_t open = atomic_load(&b->nconns);
    if (b->stopping || open >= b->cfg->max_connections || server_fd_reserve_reached(fd)) {
        if (!b->stopping && open >= b->cfg->max_connections)
            log_warn_every("brook.network", "refusing connections: max.connections reached");
        else if (!b->stopping)
            log_warn_every("brook.network", "refusing connections: the last file descriptors "
                                            "are kept for the log (RLIMIT_NOFILE)");
        close(fd);
        return;
    }
    int li = 0;
    while (li < b->n_listeners - 1 && b->listeners[li] != l)
        li++;
    SSL *ssl = NULL;
    if (b->tls_ctx[li] && !(ssl = listener_tls_ssl_new(b, li))) {
        close(fd);
        return;
    }
    struct net_loop *to = b->n_loops > 1 ? loop_pick(b) : &b->loops[0];
    /* counted here, so the next accept sees it and max.connections holds at once */
    atomic_fetch_add(&to->nconns, 1);
    atomic_fetch_add(&b->nconns, 1);
    if (to != &b->loops[0] && loop_hand(to, fd, li, ssl, sa, socklen))
        return;
    if (to != &b->loops[0]) { /* out of memory handing it over */
        atomic_fetch_sub(&to->nconns, 1);
        atomic_fetch_add(&b->loops[0].nconns, 1);
    }
    conn_new(&b->loops[0], fd, li, ssl, sa, socklen);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct broker *b = arg;
    int err = EVUTIL_SOCKET_ERROR();
    log_warn_every("brook.network", "accept failed: %s; listeners paused for %d ms at a time",
                   evutil_socket_error_to_string(err), ACCEPT_RETRY_MS);
    for (int i = 0; i < b->n_listeners; i++)
        evconnlistener_disable(b->listeners[i]);
    struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
    evtimer_add(b->accept_retry, &tv);
}

static void accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct broker *b = arg;
    for (int i = 0; i < b->n_listeners && !b->stopping; i++)
        evconnlistener_enable(b->listeners[i]);
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct net_loop *l = arg;
    struct broker *b = l->b;
    int64_t now = clock_mono_ms();
    for (struct conn *c = l->conns, *next; c; c = next) {
        next = c->next;
        if (!c->bev)
            continue;
        const char *sasl_why = NULL;
        if (c->tls && !c->tls_ready && now - c->accepted_ms > b->cfg->tls_handshake_ms) {
            log_warn_every("brook.network", "closing %s: TLS handshake not finished in %lld ms",
                           c->peer, (long long)b->cfg->tls_handshake_ms);
            conn_close(c, "TLS handshake timeout");
        } else if ((sasl_why = sasl_sweep(c, now))) {
            conn_close(c, sasl_why);
        } else if (c->partial_since_ms && now - c->partial_since_ms > b->cfg->request_timeout_ms)
            conn_close(c, "request not completed in time");
        else if (!c->head && now - c->last_active_ms > b->cfg->idle_ms)
            conn_close(c, "idle");
    }
    if (l->id) /* the coordinators live on loop 0 */
        return;
    groups_tick(b, clock_wall_ms());
    cgroups_tick(b, clock_wall_ms());
    txn_tick(b, clock_wall_ms()); /* ends whose markers failed are started again */
}

/* Resolve host:port and start listening; records the bound port. */
static int listen_on(struct broker *b, const struct listen_addr *a)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    char port[16];
    snprintf(port, sizeof port, "%d", a->port);
    const char *host = a->host[0] ? a->host : NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc) {
        log_error("brook.network", "cannot resolve %s: %s", a->host, gai_strerror(rc));
        return -EINVAL;
    }
    struct evconnlistener *l = evconnlistener_new_bind(
        b->base, accept_cb, b, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        1024, res->ai_addr, (int)res->ai_addrlen);
    freeaddrinfo(res);
    if (!l) {
        int err = errno;
        log_error("brook.network", "cannot listen on %s:%d: %s", a->host, a->port, strerror(err));
        return -err;
    }
    evconnlistener_set_error_cb(l, accept_error_cb);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &len);
    char h[NI_MAXHOST], s[NI_MAXSERV];
    getnameinfo((struct sockaddr *)&ss, len, h, sizeof h, s, sizeof s,
                NI_NUMERICHOST | NI_NUMERICSERV);
    int i = b->n_listeners++;
    b->listeners[i] = l;
    b->bound_port[i] = atoi(s);
    snprintf(b->bound_host[i], sizeof b->bound_host[i], "%.255s", h);
    bool v6 = strchr(h, ':') != NULL;
    log_info("brook.network", "listener %s (%s) on %s%s%s:%s", a->name,
             broker_security_name(a->security), v6 ? "[" : "", h, v6 ? "]" : "", s);
    const char *exposed = listener_exposure(a, h);
    if (exposed)
        log_warn("brook.network", "listener %s on %s %s", a->name, h, exposed);
    return 0;
}

/* Listener i's advertised address: advertised.listeners, else as bound. */
static char hostname[256]; /* this machine's name (server_start) */

static void listener_advertised(struct broker *b, int i, const char **host, int *port)
{
    const struct broker_config *c = b->cfg;
    if (c->advertised_set[i]) {
        *host = c->advertised[i].host;
        *port = c->advertised[i].port ? c->advertised[i].port : b->bound_port[i];
        return;
    }
    *host = b->bound_host[i];
    *port = b->bound_port[i];
    if (!strcmp(*host, "0.0.0.0") || !strcmp(*host, "::")) {
        *host = hostname; /* bound to every address: name this machine, which others reach */
    }
}

void broker_advertised(struct broker *b, const char **host, int *port)
{
    listener_advertised(b, 0, host, port);
}

void conn_advertised(const struct conn *c, const char **host, int *port)
{
    int i = c->lst ? (int)(c->lst - c->b->cfg->listeners) : 0;
    listener_advertised(c->b, i < c->b->n_listeners ? i : 0, host, port);
}

/* libevent's own warnings (evhttp's failed accepts and connection set-ups among them)
 * are a peer's doing as often as not, so they are rate-limited like brook's. */
static void libevent_log(int severity, const char *msg)
{
    if (severity >= EVENT_LOG_WARN)
        log_warn_every("brook.libevent", "%s", msg);
    else
        log_debug("brook.libevent", "%s", msg);
}

static void sighup_cb(evutil_socket_t sig, short what, void *arg)
{
    listener_tls_reload(arg);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg);

/* Set up loop l over base (its own unless l is loop 0): wake, sweep and drain events. */
static int loop_init(struct broker *b, struct net_loop *l, int id, struct event_base *base)
{
    l->b = b;
    l->id = id;
    l->base = base;
    pthread_mutex_init(&l->mu, NULL);
    if (!l->base)
        return -ENOMEM;
    l->wake = event_new(l->base, -1, 0, wake_cb, l);
    l->sweep = event_new(l->base, -1, EV_PERSIST, sweep_cb, l);
    l->drain = event_new(l->base, -1, EV_PERSIST, drain_cb, l);
    if (!l->wake || !l->sweep || !l->drain)
        return -ENOMEM;
    struct timeval tv = {SWEEP_MS / 1000, (SWEEP_MS % 1000) * 1000};
    event_add(l->sweep, &tv);
    return 0;
}

static int loops_init(struct broker *b)
{
    int n = (int)b->cfg->network_threads;
    b->loops = calloc((size_t)n, sizeof *b->loops);
    if (!b->loops)
        return -ENOMEM;
    b->n_loops = n;
    net_self = &b->loops[0]; /* the caller's thread runs loop 0 */
    for (int i = 0; i < n; i++) {
        int rc = loop_init(b, &b->loops[i], i, i ? event_base_new() : b->base);
        if (rc)
            return rc;
    }
    return 0;
}

int server_start(struct broker *b)
{
    event_set_log_callback(libevent_log);
    if (gethostname(hostname, sizeof hostname - 1))
        strcpy(hostname, "localhost");
    b->accept_retry = evtimer_new(b->base, accept_retry_cb, b);
    int rc = loops_init(b);
    if (rc || !b->accept_retry)
        return rc ? rc : -ENOMEM;
    if ((rc = listener_tls_start(b)))
        return rc;
    for (int i = 0; i < b->cfg->n_listeners; i++)
        if ((rc = listen_on(b, &b->cfg->listeners[i])))
            return rc;
    b->sig_hup = evsignal_new(b->base, SIGHUP, sighup_cb, b);
    if (!b->sig_hup || event_add(b->sig_hup, NULL))
        return -ENOMEM;
    return 0;
}

static void *loop_thread(void *arg)
{
    struct net_loop *l = arg;
    net_self = l;
    event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

int server_run(struct broker *b)
{
    for (int i = 1; i < b->n_loops; i++) {
        struct net_loop *l = &b->loops[i];
        atomic_store(&l->running, true);
        int rc = pthread_create(&l->thread, NULL, loop_thread, l);
        if (rc) {
            atomic_store(&l->running, false);
            log_error("brook.network", "cannot start network thread %d: %s", i, strerror(rc));
            return -rc;
        }
    }
    if (b->n_loops > 1)
        log_info("brook.network", "%d network threads", b->n_loops);
    return 0;
}

void server_join(struct broker *b)
{
    for (int i = 1; i < b->n_loops; i++) {
        struct net_loop *l = &b->loops[i];
        if (!atomic_load(&l->running))
            continue;
        event_base_loopexit(l->base, NULL);
        pthread_join(l->thread, NULL);
        atomic_store(&l->running, false); /* the caller acts for it from here on */
    }
}

/* Whether a connection of l still has requests in flight. */
static bool loop_busy(struct net_loop *l)
{
    for (struct conn *c = l->conns; c; c = c->next)
        if (c->head)
            return true;
    return false;
}

/* After a stop, every DRAIN_CHECK_MS: publish whether l is still answering. */
static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct net_loop *l = arg;
    atomic_store(&l->busy, loop_busy(l));
}

bool server_busy(struct broker *b)
{
    if (loop_busy(&b->loops[0]))
        return true;
    for (int i = 1; i < b->n_loops; i++)
        if (atomic_load(&b->loops[i].busy))
            return true;
    return false;
}

/* On l's thread: answer parked fetches now with what they have, read nothing more,
 * close each connection once its answers are out. */
static void loop_stop_here(struct net_loop *l)
{
    l->stopping = true;
    fetch_abort_all(l);
    legacy_fetch_abort_all(l);
    for (struct conn *c = l->conns, *next; c; c = next) {
        next = c->next;
        set_paused(c, true);
        c->refs++;
        conn_flush(c);
        conn_unref(c);
    }
    atomic_store(&l->busy, loop_busy(l));
    struct timeval tv = {0, DRAIN_CHECK_MS * 1000};
    event_add(l->drain, &tv);
}

void server_stop_accepting(struct broker *b)
{
    b->stopping = true;
    for (int i = 0; i < b->n_listeners; i++)
        evconnlistener_disable(b->listeners[i]);
    for (int i = 1; i < b->n_loops; i++) {
        struct net_loop *l = &b->loops[i];
        atomic_store(&l->busy, true); /* until it has looked */
        pthread_mutex_lock(&l->mu);
        l->stop_asked = true;
        pthread_mutex_unlock(&l->mu);
        event_active(l->wake, EV_READ, 0);
    }
    loop_stop_here(&b->loops[0]);
}

/* Free l's connections, their pendings and l's lists (its thread has ended). */
static void loop_free(struct net_loop *l)
{
    while (l->conns) {
        struct conn *c = l->conns;
        c->refs++;
        conn_close(c, "shutting down");
        while (c->head) { /* nobody will complete these now */
            struct pending *pd = c->head;
            c->head = pd->next;
            pending_free(pd);
        }
        conn_unref(c);
    }
    for (struct dispatch_handoff *h = l->handoffs, *next; h; h = next) {
        next = *(struct dispatch_handoff **)h;
        dispatch_handoff_drop(h);
    }
    for (struct net_accept *a = l->accepted, *next; a; a = next) {
        next = a->next;
        SSL_free(a->ssl);
        close(a->fd);
        free(a);
    }
    if (l->wake)
        event_free(l->wake);
    if (l->sweep)
        event_free(l->sweep);
    if (l->drain)
        event_free(l->drain);
    if (l->id && l->base)
        event_base_free(l->base);
    pthread_mutex_destroy(&l->mu);
}

void server_free(struct broker *b)
{
    for (int i = 0; i < b->n_loops; i++)
        loop_free(&b->loops[i]);
    free(b->loops);
    b->loops = NULL;
    b->n_loops = 0;
    for (int i = 0; i < b->n_listeners; i++)
        evconnlistener_free(b->listeners[i]);
    if (b->accept_retry)
        event_free(b->accept_retry);
    if (b->sig_hup)
        event_free(b->sig_hup);
    listener_tls_stop(b);
}

static void conn_yield_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (c->bev && !c->loop->stopping) /* stopping: nothing more is read */
        conn_resume(c);
}

/* c has had FRAMES_PER_PASS requests this pass: go on with the rest of its input on
 * the next loop iteration (a zero timeout runs after that iteration's ready
 * sockets), so a connection pipelining thousands of requests delays another's by a
 * few requests' work, not by thousands. While it waits libevent keeps reading, at
 * most 4 KiB per iteration; past YIELD_INPUT_MAX reading pauses until conn_resume.
 * The timer is c's own and goes with it. False when it cannot be set (no memory):
 * the caller goes on. */
static bool conn_yield(struct conn *c)
{
    static const struct timeval next_iteration = {0, 0};
    if (!c->yield && !(c->yield = evtimer_new(c->loop->base, conn_yield_cb, c)))
        return false;
    if (!evtimer_pending(c->yield, NULL) && evtimer_add(c->yield, &next_iteration))
        return false;
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > YIELD_INPUT_MAX)
        set_paused(c, true);
    return true;
}
