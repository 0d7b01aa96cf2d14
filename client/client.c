/*
 * client.c - the client object and its loop.
 *
 * brook_poll() is the whole engine: refresh the clock, run every module's timers
 * and pumps (metadata, producer, consumer, group), write what they queued, wait in
 * epoll for sockets (no longer than the earliest timer any module asked for), hand
 * socket events to their connections, and run the pumps again so that answers
 * turn into the next requests without another wait. Modules never block and never
 * keep timers of their own: each pump states when it next wants to run with
 * client_wake_at(), and anything that makes work for the loop sets c->dirty.
 *
 * The epoll set is the client's public file descriptor, so an application's event
 * loop can watch it (it polls readable when any socket has an event) and call
 * brook_poll(c, 0) when it fires or when brook_client_timeout() elapses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "client/private.h"
#include "lib/clock.h"

#define MAX_EVENTS 64

uint64_t client_rand(struct brook_client *c)
{
    uint64_t x = c->rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Split "host:port", "[v6]:port" or "host" (port 9092) into its parts. */
static int parse_hostport(const char *s, size_t n, char *host, size_t hostcap, int *port)
{
    const char *colon = NULL, *h = s;
    size_t hl;
    if (n && s[0] == '[') {
        const char *end = memchr(s, ']', n);
        if (!end)
            return BROOK_ERR_CONFIG;
        h = s + 1;
        hl = (size_t)(end - h);
        if (end + 1 < s + n) {
            if (end[1] != ':')
                return BROOK_ERR_CONFIG;
            colon = end + 1;
        }
    } else {
        for (size_t i = n; i-- > 0;)
            if (s[i] == ':') {
                colon = s + i;
                break;
            }
        hl = colon ? (size_t)(colon - s) : n;
    }
    if (hl == 0 || hl >= hostcap)
        return BROOK_ERR_CONFIG;
    memcpy(host, h, hl);
    host[hl] = 0;
    *port = 9092;
    if (colon) {
        long p = 0;
        const char *d = colon + 1, *end = s + n;
        if (d == end)
            return BROOK_ERR_CONFIG;
        for (; d < end; d++) {
            if (*d < '0' || *d > '9' || (p = p * 10 + (*d - '0')) > 65535)
                return BROOK_ERR_CONFIG;
        }
        if (p == 0)
            return BROOK_ERR_CONFIG;
        *port = (int)p;
    }
    return 0;
}

static int add_bootstrap(struct brook_client *c, const char *list)
{
    const char *p = list;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        for (; n && (*p == ' ' || *p == '\t'); n--)
            p++;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n) {
            char host[256];
            int port, rc = parse_hostport(p, n, host, sizeof host, &port);
            if (rc)
                return rc;
            if (!conn_new(c, -1 - c->n_bootstrap, host, port))
                return -ENOMEM;
            c->n_bootstrap++;
        }
        p = end ? end + 1 : NULL;
    }
    return c->n_bootstrap ? 0 : BROOK_ERR_CONFIG;
}

int brook_client_new(const struct brook_conf *conf, struct brook_client **out)
{
    *out = NULL;
    if (!conf)
        return -EINVAL;
    struct brook_client *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->epfd = -1;
    int rc = conf_copy(&c->conf, &conf->v);
    if (rc) {
        free(c);
        return rc;
    }
    if (getrandom(&c->rng, sizeof c->rng, 0) != sizeof c->rng || !c->rng)
        c->rng = (uint64_t)clock_mono_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    c->now = clock_mono_ms();
    c->wake = NEVER;
    if ((c->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = add_bootstrap(c, c->conf.bootstrap)) || (rc = md_init(c)) ||
        (rc = client_tls_init(c)))
        goto fail;
    if (SEC_USES_SASL(c->conf.security) && (!c->conf.sasl_username || !c->conf.sasl_password)) {
        rc = BROOK_ERR_CONFIG; /* sasl_* needs sasl.username and sasl.password */
        goto fail;
    }
    *out = c;
    return 0;
fail:
    brook_client_free(c);
    return rc;
}

void brook_client_free(struct brook_client *c)
{
    if (!c)
        return;
    c->freeing = true;
    for (struct conn *k = c->conns; k; k = k->next)
        if (k->state != CONN_DOWN || k->queue)
            conn_fail(k, -ECANCELED);
    conn_run_all(c, c->now); /* deferred callbacks */
    grp_free(c);
    cons_free(c);
    prod_free(c);
    conn_run_all(c, c->now);
    txn_free(c);
    md_free(c);
    sync_free_all(c);
    while (c->conns) {
        struct conn *k = c->conns;
        c->conns = k->next;
        conn_free(k);
    }
    if (c->epfd >= 0)
        close(c->epfd);
    client_tls_free(c);
    conf_release(&c->conf);
    free(c->admin_msg);
    free(c);
}

int brook_client_fd(const struct brook_client *c)
{
    return c->epfd;
}

int brook_client_timeout(const struct brook_client *c)
{
    if (c->dirty || c->deferred)
        return 0;
    if (c->wake == NEVER)
        return -1;
    int64_t left = c->wake - clock_mono_ms();
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

void client_work(struct brook_client *c)
{
    c->now = clock_mono_ms();
    c->wake = NEVER;
    c->dirty = false;
    conn_run_all(c, c->now);
    md_run(c);
    prod_run(c);
    grp_run(c);
    cons_run(c);
    conn_run_all(c, c->now);
}

int brook_poll(struct brook_client *c, int timeout_ms)
{
    int start = c->callbacks;
    client_work(c);
    int wait = timeout_ms;
    if (c->callbacks != start || c->dirty || c->deferred) {
        wait = 0;
    } else if (c->wake != NEVER) {
        int64_t left = c->wake - clock_mono_ms();
        if (left < 0)
            left = 0;
        if (wait < 0 || left < wait)
            wait = left > INT32_MAX ? INT32_MAX : (int)left;
    }
    struct epoll_event ev[MAX_EVENTS];
    int n = epoll_wait(c->epfd, ev, MAX_EVENTS, wait);
    if (n < 0 && errno != EINTR)
        return -errno;
    c->now = clock_mono_ms();
    for (int i = 0; i < n; i++)
        conn_io(ev[i].data.ptr, ev[i].events);
    client_work(c);
    return c->callbacks - start;
}
