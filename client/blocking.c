/*
 * blocking.c - the blocking API: calls that run brook_poll() until they are done.
 *
 * Every blocking call is a condition and a deadline: it runs the same loop an
 * event-loop application would, so producing, consuming and heartbeats carry on
 * while a script waits for an admin answer. A request that outlives its caller's
 * deadline is orphaned (its answer, if any, is dropped), never left pointing at
 * the caller's stack.
 *
 * "No broker reachable" is decided, not waited out: once every connection the
 * client knows has failed since the call began, the call returns
 * BROOK_ERR_NO_BROKERS at once instead of retrying until its deadline.
 */
#include <errno.h>
#include <stdlib.h>

#include "client/private.h"
#include "lib/clock.h"

int64_t client_deadline(struct brook_client *c, int timeout_ms)
{
    return timeout_ms < 0 ? NEVER : clock_mono_ms() + timeout_ms;
}

/* Milliseconds to wait in one poll: up to the deadline. */
static int slice(int64_t deadline)
{
    if (deadline == NEVER)
        return 1000;
    int64_t left = deadline - clock_mono_ms();
    return left <= 0 ? 0 : left > 1000 ? 1000 : (int)left;
}

int client_wait(struct brook_client *c, bool (*done)(struct brook_client *c, void *arg), void *arg,
                int64_t deadline)
{
    for (;;) {
        if (done(c, arg))
            return 0;
        if (clock_mono_ms() >= deadline)
            return -ETIMEDOUT;
        int rc = brook_poll(c, slice(deadline));
        if (rc < 0)
            return rc;
    }
}

/* Whether every connection has failed since t0 (and none is up). */
static bool all_failed_since(const struct brook_client *c, int64_t t0)
{
    for (const struct conn *k = c->conns; k; k = k->next)
        if (k->state != CONN_DOWN || k->failed_at < t0 || !k->last_err)
            return false;
    return c->conns != NULL;
}

struct ready_wait {
    int64_t t0;
    struct conn *k;
    int err;
};

static bool conn_ready(struct brook_client *c, void *arg)
{
    struct ready_wait *w = arg;
    for (struct conn *k = c->conns; k; k = k->next)
        if (k->state == CONN_READY) {
            w->k = k;
            return true;
        }
    if (all_failed_since(c, w->t0)) {
        w->err = BROOK_ERR_NO_BROKERS;
        return true;
    }
    md_refresh(c); /* makes the metadata pump open a connection */
    return false;
}

/* Wait for a ready connection to any broker. */
static int ready_conn(struct brook_client *c, int64_t deadline, struct conn **out)
{
    struct ready_wait w = {.t0 = clock_mono_ms()};
    c->now = w.t0;
    int rc = client_wait(c, conn_ready, &w, deadline);
    if (rc)
        return rc;
    *out = w.k;
    return w.err;
}

struct call {
    bool done;
    int err;
    struct resp *rs;
};

static void call_done(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct call *cl = rq->arg;
    cl->done = true;
    cl->err = err;
    if (!err && !(cl->rs = resp_take(rs)))
        cl->err = -ENOMEM;
}

static bool call_finished(struct brook_client *c, void *arg)
{
    return ((struct call *)arg)->done;
}

int client_call_built(struct brook_client *c, struct conn *k, struct req *rq, int built,
                      int64_t deadline, struct resp **out)
{
    if (built) {
        *out = NULL;
        req_free(rq);
        return built;
    }
    return client_call(c, k, rq, deadline, out);
}

int client_call(struct brook_client *c, struct conn *k, struct req *rq, int64_t deadline,
                struct resp **out)
{
    *out = NULL;
    int rc = 0;
    if (!k && (rc = ready_conn(c, deadline, &k))) {
        req_free(rq);
        return rc;
    }
    struct call cl = {0};
    rq->cb = call_done;
    rq->arg = &cl;
    conn_send(k, rq);
    rc = client_wait(c, call_finished, &cl, deadline);
    if (rc) {
        req_orphan(rq); /* still queued or in flight: forget its answer */
        return rc;
    }
    if (cl.err)
        return cl.err;
    *out = cl.rs;
    return 0;
}

/* ---- brook_client_connect ---- */

struct connect_wait {
    int64_t t0;
};

static bool connected(struct brook_client *c, void *arg)
{
    struct connect_wait *w = arg;
    if (md_ready(c))
        return true;
    if (all_failed_since(c, w->t0))
        return true;
    md_refresh(c);
    return false;
}

int brook_client_connect(struct brook_client *c, int timeout_ms, int *why)
{
    struct connect_wait w = {clock_mono_ms()};
    c->now = w.t0;
    if (why)
        *why = 0;
    int rc = client_wait(c, connected, &w, client_deadline(c, timeout_ms));
    if (rc == 0 && !md_ready(c))
        rc = BROOK_ERR_NO_BROKERS;
    if (rc && why)
        *why = c->last_conn_err;
    return rc;
}

/* ---- producing ---- */

/* A brook_produce_sync() in progress; heap-allocated so that a report arriving
 * after the caller gave up lands here, not on a dead stack frame. */
struct sync_wait {
    bool done;
    bool abandoned; /* the caller timed out: free on the report */
    struct brook_delivery d;
    struct sync_wait *next;
};

static void sync_unlink(struct brook_client *c, struct sync_wait *w)
{
    for (struct sync_wait **pp = &c->sync; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            return;
        }
}

bool sync_delivery(struct brook_client *c, const struct brook_delivery *d)
{
    struct sync_wait *w = c->sync;
    while (w && d->opaque != w)
        w = w->next;
    if (!w)
        return false;
    if (w->abandoned) {
        sync_unlink(c, w);
        free(w);
        return true;
    }
    w->done = true;
    w->d = *d;
    w->d.topic = NULL;
    w->d.opaque = NULL;
    return true;
}

void sync_free_all(struct brook_client *c)
{
    while (c->sync) {
        struct sync_wait *w = c->sync;
        c->sync = w->next;
        free(w);
    }
}

static bool sync_done(struct brook_client *c, void *arg)
{
    return ((struct sync_wait *)arg)->done;
}

int brook_produce_sync(struct brook_client *c, const struct brook_record *r, int timeout_ms,
                       struct brook_delivery *d)
{
    struct sync_wait *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    int rc = brook_produce(c, r, w);
    if (rc) {
        free(w);
        return rc;
    }
    w->next = c->sync;
    c->sync = w;
    prod_flush_now(c);
    rc = client_wait(c, sync_done, w, client_deadline(c, timeout_ms));
    if (rc) {
        w->abandoned = true;
        return rc;
    }
    sync_unlink(c, w);
    if (d)
        *d = w->d;
    rc = w->d.err;
    free(w);
    return rc;
}

static bool nothing_outstanding(struct brook_client *c, void *arg)
{
    if (prod_outstanding(c) == 0)
        return true;
    prod_flush_now(c);
    return false;
}

int brook_flush(struct brook_client *c, int timeout_ms)
{
    return client_wait(c, nothing_outstanding, NULL, client_deadline(c, timeout_ms));
}

size_t brook_outstanding(const struct brook_client *c)
{
    return prod_outstanding(c);
}

/* ---- consuming ---- */

int brook_consume(struct brook_client *c, const struct brook_message **m, int timeout_ms)
{
    int64_t deadline = client_deadline(c, timeout_ms);
    for (;;) {
        int rc = brook_consumer_next(c, m);
        if (rc)
            return rc;
        if (clock_mono_ms() >= deadline)
            return 0;
        if ((rc = brook_poll(c, slice(deadline))) < 0)
            return rc;
    }
}
