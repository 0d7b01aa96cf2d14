/*
 * tail.c - live tail: new records of a topic as Server-Sent Events.
 *
 * GET /api/v1/topics/T/tail[?partition=N][&filter=text][&isolation=...] answers
 * 200 with Content-Type text/event-stream and keeps the response open (chunked).
 * It starts at each partition's end and sends every record appended after that -
 * read_committed by default: the end is the last stable offset, and a
 * transaction's records are sent when its COMMIT marker makes them stable (never,
 * when it aborts); with isolation=read_uncommitted as they are appended, marked,
 * and the markers too:
 *
 *   event: record            one per record, in offset order per partition
 *   id: <partition>:<offset>
 *   data: {...}              the record as the messages API shows it
 *
 * first an "event: hello" with the partitions' starting offsets, a ": keepalive"
 * comment every TAIL_KEEPALIVE_S, and "event: end" before the broker closes the
 * stream (topic deleted, broker stopping, or the session it was opened in ended:
 * logout at once, expiry or a deleted user at the next keepalive).
 *
 * Feeding: the store calls the console's listener from whichever thread appended;
 * it activates the console's wake event and tail_pump_all() runs on the loop. A
 * pump sends at most TAIL_PUMP_BYTES per tail and reschedules itself for the
 * rest, and a tail whose viewer has more than TAIL_HIGH_WATER unsent is skipped
 * until its output drains (the records wait in the log, not in memory).
 *
 * Leaving: evhttp does not read from a connection while a request is open, so it
 * would notice a closed viewer only at the next failed write. An EV_CLOSED event
 * on the socket (epoll's RDHUP) notices at once; the tail then ends its response,
 * and evhttp frees the connection when the write fails or the EOF is read. When
 * evhttp drops the connection first (write error, timeout, shutdown) the
 * connection's close callback frees the tail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "console/private.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "proto/record.h"

#define TAIL_KEEPALIVE_S 15
#define TAIL_PUMP_BYTES  (1 << 20) /* log bytes read per tail per pump */
#define TAIL_HIGH_WATER  (4 << 20) /* unsent bytes that pause a tail */

struct tail {
    struct console *con;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct store_topic *t; /* a reference */
    int32_t first, n;      /* the partitions [first, first + n) */
    int64_t *next;         /* per partition: the next offset to send */
    char filter[CONSOLE_MAX_FILTER + 1];
    size_t filter_len;
    bool committed;          /* isolation=read_committed */
    struct event *closed;    /* EV_CLOSED on the viewer's socket, or NULL */
    struct event *keepalive; /* persistent timer */
    struct event *more;      /* a pump that stopped at its budget continues here */
    struct tail *prev, *next_tail;
    struct evbuffer *buf;                /* the next chunk */
    bool paused;                         /* waiting for the viewer to read what was sent */
    char session[CONSOLE_TOKEN_HEX + 1]; /* the session it was opened in, or "" */
};

/* ---- freeing ---- */

static void tail_unlink(struct tail *tl)
{
    struct console *con = tl->con;
    if (tl->prev)
        tl->prev->next_tail = tl->next_tail;
    else
        con->tails = tl->next_tail;
    if (tl->next_tail)
        tl->next_tail->prev = tl->prev;
    con->ntails--;
}

static void tail_free(struct tail *tl)
{
    tail_unlink(tl);
    if (tl->closed)
        event_free(tl->closed);
    event_free(tl->keepalive);
    event_free(tl->more);
    evbuffer_free(tl->buf);
    store_topic_put(tl->t);
    free(tl->next);
    free(tl);
}

/* evhttp is dropping the connection. If it already let go of the request (a
 * write failed, a timeout), the request is ours to free; otherwise evhttp frees
 * it with the connection. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    struct tail *tl = arg;
    if (!evhttp_request_get_connection(tl->req))
        evhttp_request_free(tl->req);
    tail_free(tl);
}

/* End the stream: say why, finish the chunked response, forget the tail. */
static void tail_end(struct tail *tl, const char *why)
{
    if (why && evhttp_request_get_connection(tl->req)) {
        evbuffer_add_printf(tl->buf, "event: end\ndata: {\"reason\":\"%s\"}\n\n", why);
        evhttp_send_reply_chunk(tl->req, tl->buf);
    }
    if (evhttp_request_get_connection(tl->req))
        console_conn_on_close(tl->con, tl->evcon, NULL, NULL);
    evhttp_send_reply_end(tl->req); /* frees a request evhttp let go of */
    tail_free(tl);
}

/* ---- feeding ---- */

static void tail_pump(struct tail *tl);

/* Called by evhttp when everything sent so far has been written. */
static void drained_cb(struct evhttp_connection *evcon, void *arg)
{
    struct tail *tl = arg;
    if (tl->paused) {
        tl->paused = false;
        tail_pump(tl);
    }
}

static void tail_send(struct tail *tl)
{
    if (evbuffer_get_length(tl->buf))
        evhttp_send_reply_chunk_with_cb(tl->req, tl->buf, drained_cb, tl);
}

struct feed {
    struct tail *tl;
    int64_t bytes;
};

static bool feed_cb(void *arg, int32_t partition, const struct record *r,
                    const struct console_mark *m)
{
    struct feed *f = arg;
    struct tail *tl = f->tl;
    if (!console_record_matches(r, tl->filter, tl->filter_len))
        return false;
    json_t *j = console_record_json(partition, r, m);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        xalloc_fail("json", 0);
    evbuffer_add_printf(tl->buf, "event: record\nid: %d:%lld\ndata: %s\n\n", partition,
                        (long long)r->offset, text);
    f->bytes += (int64_t)strlen(text);
    free(text);
    return false;
}

static size_t unsent(struct tail *tl)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(tl->evcon);
    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

/* Whether the tail's topic is still the one in the store (not deleted, not
 * deleted and created again). */
static bool topic_alive(struct tail *tl)
{
    struct store_topic *now = store_topic_get(tl->con->env.store, store_topic_name(tl->t));
    bool same = now == tl->t;
    store_topic_put(now);
    return same;
}

static void tail_pump(struct tail *tl)
{
    if (!topic_alive(tl)) {
        tail_end(tl, "topic deleted");
        return;
    }
    if (unsent(tl) > TAIL_HIGH_WATER) {
        tl->paused = true; /* drained_cb resumes */
        return;
    }
    bool budget_left = true;
    for (int32_t i = 0; i < tl->n && budget_left; i++) {
        struct store_partition *p = store_topic_partition(tl->t, tl->first + i);
        int64_t hw = console_end(p, tl->committed);
        if (tl->next[i] >= hw)
            continue;
        struct feed f = {tl, 0};
        int rc = console_scan(p, tl->next[i], hw, TAIL_PUMP_BYTES, tl->committed, feed_cb, &f,
                              &tl->next[i]);
        if (rc) {
            log_warn_every("brook.console", "live tail of %s-%d stopped: %s",
                           store_topic_name(tl->t), tl->first + i, store_strerror(rc));
            tail_end(tl, "read error");
            return;
        }
        budget_left = tl->next[i] >= hw;
    }
    if (!budget_left)
        event_active(tl->more, EV_TIMEOUT, 0);
    tail_send(tl);
}

size_t tail_unsent_total(struct console *con)
{
    size_t n = 0;
    for (struct tail *tl = con->tails; tl; tl = tl->next_tail)
        n += unsent(tl);
    return n;
}

void tail_pump_all(struct console *con)
{
    for (struct tail *tl = con->tails, *next; tl; tl = next) {
        next = tl->next_tail;
        tail_pump(tl);
    }
}

static void more_cb(evutil_socket_t fd, short what, void *arg)
{
    tail_pump(arg);
}

static void keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
    struct tail *tl = arg;
    if (!console_auth_session_live(tl->con, tl->session)) {
        tail_end(tl, "session ended");
        return;
    }
    evbuffer_add(tl->buf, ": keepalive\n\n", 13);
    tail_send(tl);
}

static void closed_cb(evutil_socket_t fd, short what, void *arg)
{
    tail_end(arg, NULL); /* the viewer left: nobody reads a goodbye */
}

/* ---- opening ---- */

static int tail_args(struct creq *cr, struct tail *tl)
{
    int32_t n = store_topic_partition_count(tl->t);
    int64_t part;
    const char *filter = console_param(cr, "filter"), *all = console_param(cr, "partition");
    if (all && !strcmp(all, "all"))
        part = -1;
    else if (console_param_i64(cr, "partition", -1, 0, n - 1, &part))
        return -EINVAL;
    tl->first = part < 0 ? 0 : (int32_t)part;
    tl->n = part < 0 ? n : 1;
    if (filter && strlen(filter) > CONSOLE_MAX_FILTER) {
        console_reply_error(cr->req, 400, "filter is longer than %d bytes", CONSOLE_MAX_FILTER);
        return -EINVAL;
    }
    if (filter)
        tl->filter_len = (size_t)snprintf(tl->filter, sizeof tl->filter, "%s", filter);
    if (console_isolation(cr, &tl->committed))
        return -EINVAL;
    tl->next = xcalloc((size_t)tl->n, sizeof *tl->next);
    for (int32_t i = 0; i < tl->n; i++)
        tl->next[i] = console_end(store_topic_partition(tl->t, tl->first + i), tl->committed);
    return 0;
}

static void tail_link(struct console *con, struct tail *tl)
{
    tl->next_tail = con->tails;
    if (con->tails)
        con->tails->prev = tl;
    con->tails = tl;
    con->ntails++;
    con->tails_opened++;
}

/* Headers, the retry hint and the hello event. */
static void tail_hello(struct tail *tl)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(tl->req);
    evhttp_add_header(h, "Content-Type", "text/event-stream");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Accel-Buffering", "no");
    evhttp_send_reply_start(tl->req, 200, "OK");
    evbuffer_add_printf(tl->buf,
                        "retry: 3000\nevent: hello\ndata: {\"topic\":\"%s\",\"partitions\":[",
                        store_topic_name(tl->t));
    for (int32_t i = 0; i < tl->n; i++)
        evbuffer_add_printf(tl->buf, "%s{\"partition\":%d,\"next_offset\":%lld}", i ? "," : "",
                            tl->first + i, (long long)tl->next[i]);
    evbuffer_add_printf(tl->buf, "]}\n\n");
    tail_send(tl);
}

/* Watch the socket for the viewer's FIN where the backend can (epoll). */
static void watch_close(struct tail *tl)
{
    struct event_base *base = tl->con->env.base;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(tl->evcon);
    if (!(event_base_get_features(base) & EV_FEATURE_EARLY_CLOSE) || !bev)
        return;
    tl->closed = event_new(base, bufferevent_getfd(bev), EV_CLOSED, closed_cb, tl);
    if (tl->closed)
        event_add(tl->closed, NULL);
}

void tail_open(struct creq *cr)
{
    struct console *con = cr->con;
    if (cr->method == EVHTTP_REQ_HEAD) { /* no stream without a body */
        console_reply_json(cr->req, 200, json_object());
        return;
    }
    if (con->ntails >= CONSOLE_MAX_TAILS) {
        console_reply_error(cr->req, 503, "too many live tails (%d)", CONSOLE_MAX_TAILS);
        return;
    }
    struct tail *tl = xcalloc(1, sizeof *tl);
    tl->con = con;
    tl->req = cr->req;
    tl->evcon = evhttp_request_get_connection(cr->req);
    console_auth_session_id(cr, tl->session);
    if (!(tl->t = api_topic_ref(cr, cr->seg[3], AUTH_OP_READ)) || tail_args(cr, tl)) {
        store_topic_put(tl->t);
        free(tl->next);
        free(tl);
        return;
    }
    tl->buf = evbuffer_new();
    tl->keepalive = event_new(con->env.base, -1, EV_PERSIST, keepalive_cb, tl);
    tl->more = event_new(con->env.base, -1, 0, more_cb, tl);
    if (!tl->buf || !tl->keepalive || !tl->more)
        xalloc_fail("event", 0);
    struct timeval tv = {TAIL_KEEPALIVE_S, 0};
    event_add(tl->keepalive, &tv);
    tail_link(con, tl);
    watch_close(tl);
    console_conn_on_close(con, tl->evcon, on_conn_close, tl);
    tail_hello(tl);
}

/* The loop has stopped, so nothing would send the goodbye: write what is queued
 * now, as far as the socket takes it. A bufferevent keeps the start of its output
 * frozen and thaws it only for its own writes; do the same for this one. */
static void flush_now(struct bufferevent *bev)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    evbuffer_unfreeze(out, 1);
    evbuffer_write(out, bufferevent_getfd(bev));
    evbuffer_freeze(out, 1);
}

void tail_check_sessions(struct console *con)
{
    for (struct tail *tl = con->tails, *next; tl; tl = next) {
        next = tl->next_tail;
        if (!console_auth_session_live(con, tl->session))
            tail_end(tl, "session ended");
    }
}

void tail_close_all(struct console *con)
{
    while (con->tails) {
        struct tail *tl = con->tails;
        struct bufferevent *bev = evhttp_request_get_connection(tl->req)
                                      ? evhttp_connection_get_bufferevent(tl->evcon)
                                      : NULL;
        tail_end(tl, "broker stopping");
        if (bev)
            flush_now(bev);
    }
}
