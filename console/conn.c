/*
 * conn.c - the console's connections: how many it holds, how long one may
 * take to send a request, which Host a request may name, and what a failing
 * accept() does. evhttp 2.1 leaves all four to its user.
 *
 * Knowing each connection: evhttp accepts by itself and offers no hook there, but
 * it asks us for each new connection's bufferevent (evhttp_set_bevcb). We make it,
 * keep a reference to it, and activate an event that runs once evhttp has finished
 * setting the connection up (before any of its I/O can run: the socket was only
 * just added to the loop). That event finds the evhttp_connection as the
 * bufferevent's callback argument and takes its close callback, which from then on
 * tells us when the connection goes. A connection over console.max.connections, or
 * one whose descriptor would eat into the reserve the log needs
 * (env.fd_reserve_reached), is freed right there: the peer sees the close, as
 * a Kafka client over max.connections does.
 *
 * The request deadline: evhttp's own timeout restarts with every byte, so a peer
 * sending one byte every few seconds would hold a connection (and up to a body's
 * worth of memory) for ever. Each connection has one timer, armed when it is
 * accepted and again when an answer has been written, and disarmed when a whole
 * request has arrived (the router is called): console.request.timeout.ms covers
 * everything from the previous answer (or the accept) to the end of the next
 * request, idle keep-alive time included. When it fires the connection is freed.
 * Requests being answered (a durability wait, the admin thread, a live tail) run
 * without it; a viewer that stops reading an answer meets evhttp's own timeout.
 *
 * accept() failing (EMFILE, ENFILE, ENOBUFS) would leave the listening socket
 * readable, and libevent would call accept() again at once, for ever: the console
 * listener is disabled for CONSOLE_ACCEPT_RETRY_MS instead, as the Kafka
 * listeners are, and the failure logged with log_warn_every().
 *
 * The Host rule (DNS rebinding): a page on a name its owner points at 127.0.0.1
 * is same-origin with that name, so a browser would let it call the API; the
 * Host header it sends still names the attacker's domain. A request is served
 * only when its Host (less any port) is localhost, the address the console is
 * bound to (and 127.0.0.1 or [::1] when that is a loopback or the wildcard
 * address), any IP literal when bound to the wildcard address (an address cannot
 * be rebound), the name given in console.listeners, or a name in
 * console.allowed.hosts ("*" allows any). A request without Host (HTTP/1.0
 * tools) is served; browsers always send one.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "console/private.h"
#include "lib/conftab.h"
#include "lib/log.h"
#include "lib/props.h"
#include "lib/xalloc.h"

struct console_conn {
    struct console *con;
    struct bufferevent *bev;         /* ours until adopted (a reference) */
    struct evhttp_connection *evcon; /* NULL until adopted */
    struct event *timer;             /* adoption (once), then the request deadline */
    bool counted;                    /* admitted: counts against console.max.connections */
    console_close_fn on_close;       /* a live tail's, or NULL */
    void *close_arg;
    struct console_conn *prev, *next; /* con->conns */
    struct bufferevent *bev_http;     /* evhttp's callbacks, while the first bytes are */
    bufferevent_data_cb http_readcb;  /* checked (conn_check_first_bytes) */
    bufferevent_data_cb http_writecb;
    bufferevent_event_cb http_eventcb;
};

static struct console *listening; /* the console whose listener may fail (one per process) */

/* ---- the list ---- */

static void conn_unlink(struct console_conn *cc)
{
    struct console *con = cc->con;
    if (cc->prev)
        cc->prev->next = cc->next;
    else
        con->conns = cc->next;
    if (cc->next)
        cc->next->prev = cc->prev;
    if (cc->counted)
        con->nconns--;
    event_free(cc->timer);
    free(cc);
}

static struct console_conn *conn_find(struct console *con, struct evhttp_connection *evcon)
{
    for (struct console_conn *cc = con->conns; cc && evcon; cc = cc->next)
        if (cc->evcon == evcon)
            return cc;
    return NULL;
}

/* evhttp is dropping the connection (closed, failed, timed out, or freed by us). */
static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct console_conn *cc = arg;
    if (cc->on_close)
        cc->on_close(evcon, cc->close_arg);
    conn_unlink(cc);
}

static void deadline_arm(struct console_conn *cc)
{
    int64_t ms = cc->con->request_timeout_ms;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(cc->timer, &tv);
}

/* ---- admission ---- */

static void deadline_passed(struct console_conn *cc)
{
    struct console *con = cc->con;
    con->deadline_closed++;
    log_debug("brook.console", "closing a connection: no whole request within %lld ms",
              (long long)con->request_timeout_ms);
    evhttp_connection_free(cc->evcon); /* conn_closed frees cc */
}

/* Whether the new connection may stay; logs why not. */
static bool conn_admit(struct console *con, struct console_conn *cc)
{
    if (con->nconns >= con->max_conns) {
        log_warn_every("brook.console",
                       "refusing console connections: %d open "
                       "(console.max.connections)",
                       con->max_conns);
        return false;
    }
    if (con->env.fd_reserve_reached(bufferevent_getfd(cc->bev))) {
        log_warn_every("brook.console", "refusing console connections: the last file "
                                        "descriptors are kept for the log (RLIMIT_NOFILE)");
        return false;
    }
    return true;
}

/* The first bytes of a connection: an HTTP request starts with a method (letters,
 * maybe after an empty line). Anything else, a Kafka client pointed at the console's
 * port most likely, is answered 400 at once and closed, rather than left waiting
 * for a request line that never comes; the client can then say what it reached.
 * Until the first bytes arrive our callbacks stand in front of evhttp's. */
static void first_restore(struct console_conn *cc)
{
    bufferevent_setcb(cc->bev_http, cc->http_readcb, cc->http_writecb, cc->http_eventcb, cc->evcon);
}

static void first_read_cb(struct bufferevent *bev, void *arg)
{
    static const char answer[] = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                                 "Content-Length: 0\r\n\r\n";
    struct console_conn *cc = arg;
    unsigned char first = 0;
    if (evbuffer_copyout(bufferevent_get_input(bev), &first, 1) != 1)
        return;
    first_restore(cc);
    if (isalpha(first) || first == '\r' || first == '\n') {
        cc->http_readcb(bev, cc->evcon);
        return;
    }
    log_debug("brook.console", "closing a connection that does not speak HTTP");
    (void)!send(bufferevent_getfd(bev), answer, sizeof answer - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    evhttp_connection_free(cc->evcon); /* conn_closed frees cc */
}

static void first_write_cb(struct bufferevent *bev, void *arg)
{
    struct console_conn *cc = arg;
    first_restore(cc);
    if (cc->http_writecb)
        cc->http_writecb(bev, cc->evcon);
}

static void first_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct console_conn *cc = arg;
    first_restore(cc);
    if (cc->http_eventcb)
        cc->http_eventcb(bev, what, cc->evcon);
}

/* Put our callbacks in front of evhttp's until the first bytes have come. */
static void conn_check_first_bytes(struct console_conn *cc, struct bufferevent *bev)
{
    void *cbarg = NULL;
    bufferevent_getcb(bev, &cc->http_readcb, &cc->http_writecb, &cc->http_eventcb, &cbarg);
    if (!cc->http_readcb || cbarg != cc->evcon)
        return;
    cc->bev_http = bev;
    bufferevent_setcb(bev, first_read_cb, first_write_cb, first_event_cb, cc);
}

/* Runs once evhttp has set the connection up: adopt it, or refuse it. */
static void conn_adopt(struct console_conn *cc)
{
    struct console *con = cc->con;
    bufferevent_event_cb eventcb = NULL;
    void *cbarg = NULL;
    bufferevent_getcb(cc->bev, NULL, NULL, &eventcb, &cbarg);
    struct evhttp_connection *evcon = cbarg;
    if (!eventcb || !evcon || evhttp_connection_get_bufferevent(evcon) != cc->bev) {
        bufferevent_decref(cc->bev); /* evhttp gave it up already (its setup failed) */
        conn_unlink(cc);
        return;
    }
    bufferevent_decref(cc->bev); /* evhttp holds its own */
    cc->evcon = evcon;
    evhttp_connection_set_closecb(evcon, conn_closed, cc);
    if (!conn_admit(con, cc)) {
        con->refused++;
        evhttp_connection_free(evcon); /* conn_closed frees cc */
        return;
    }
    cc->counted = true;
    con->nconns++;
    deadline_arm(cc);
    conn_check_first_bytes(cc, evhttp_connection_get_bufferevent(evcon));
}

/* The connection's one timer: first its adoption, then its deadline. */
static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct console_conn *cc = arg;
    if (cc->evcon)
        deadline_passed(cc);
    else
        conn_adopt(cc);
}

/* evhttp_set_bevcb: a connection was accepted; make its bufferevent. */
static struct bufferevent *conn_new_bev(struct event_base *base, void *arg)
{
    struct console *con = arg;
    struct console_conn *cc = calloc(1, sizeof *cc);
    struct bufferevent *bev = con->ssl_ctx
                                  ? console_tls_bev(con, base)
                                  : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    struct event *timer = event_new(base, -1, 0, timer_cb, cc);
    if (!cc || !bev || !timer)
        xalloc_fail("connection", 0);
    *cc = (struct console_conn){.con = con, .bev = bev, .timer = timer, .next = con->conns};
    bufferevent_incref(bev);
    if (con->conns)
        con->conns->prev = cc;
    con->conns = cc;
    event_active(timer, EV_TIMEOUT, 0);
    return bev;
}

/* ---- what the router and the senders call ---- */

/* evhttp wrote the whole answer and keeps the connection (cc lives as long). */
static void answered_cb(struct evhttp_request *req, void *arg)
{
    deadline_arm(arg);
}

void console_conn_request_begins(struct console *con, struct evhttp_request *req)
{
    struct console_conn *cc = conn_find(con, evhttp_request_get_connection(req));
    if (!cc)
        return;
    evtimer_del(cc->timer);
    evhttp_request_set_on_complete_cb(req, answered_cb, cc);
}

void console_conn_on_close(struct console *con, struct evhttp_connection *evcon,
                           console_close_fn fn, void *arg)
{
    struct console_conn *cc = conn_find(con, evcon);
    if (!cc) { /* not adopted (cannot happen while a request is served): evhttp's own */
        evhttp_connection_set_closecb(evcon, fn, arg);
        return;
    }
    cc->on_close = fn;
    cc->close_arg = arg;
}

/* ---- accept back-off ---- */

static void accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct console *con = arg;
    evconnlistener_enable(con->listener);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct console *con = listening;
    int err = EVUTIL_SOCKET_ERROR();
    log_warn_every("brook.console", "accept failed: %s; the console listener pauses for %d ms",
                   evutil_socket_error_to_string(err), CONSOLE_ACCEPT_RETRY_MS);
    if (!con || con->listener != l)
        return;
    evconnlistener_disable(l);
    struct timeval tv = {0, CONSOLE_ACCEPT_RETRY_MS * 1000};
    evtimer_add(con->accept_retry, &tv);
}

/* ---- Host ---- */

static bool host_is_ip(const char *name, bool v6)
{
    unsigned char addr[16];
    return inet_pton(v6 ? AF_INET6 : AF_INET, name, addr) == 1;
}

static bool addr_is_wildcard(const char *h)
{
    return !*h || !strcmp(h, "0.0.0.0") || !strcmp(h, "::");
}

static bool addr_is_loopback(const char *h)
{
    return !strncmp(h, "127.", 4) || !strcmp(h, "::1");
}

/* Split a Host header into its name (lower case, without brackets or port); false
 * when it is malformed. */
static bool host_name(const char *host, char *name, size_t size, bool *v6)
{
    const char *end, *port;
    *v6 = host[0] == '[';
    if (*v6) {
        end = strchr(host, ']');
        if (!end)
            return false;
        port = end + 1;
        host++;
    } else {
        end = strchr(host, ':');
        port = end ? end : host + strlen(host);
        end = port;
    }
    if (*port == ':')
        port++;
    else if (*port)
        return false;
    for (const char *p = port; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    size_t n = (size_t)(end - host);
    if (!n || n >= size)
        return false;
    for (size_t i = 0; i < n; i++)
        name[i] = (char)tolower((unsigned char)host[i]);
    name[n] = 0;
    return true;
}

bool console_host_allowed(struct console *con, const char *host)
{
    char name[CONSOLE_HOST_MAX + 1];
    bool v6;
    if (!host)
        return true;
    if (!host_name(host, name, sizeof name, &v6))
        return false;
    if (!strcmp(name, "localhost") || !strcasecmp(name, con->host) ||
        (con->cfg_host[0] && !strcasecmp(name, con->cfg_host)))
        return true;
    bool wildcard = addr_is_wildcard(con->host);
    if ((wildcard || addr_is_loopback(con->host)) &&
        (!strcmp(name, "127.0.0.1") || !strcmp(name, "::1")))
        return true;
    if (wildcard && host_is_ip(name, v6))
        return true;
    for (int i = 0; i < con->n_allowed; i++)
        if (!strcmp(con->allowed[i], "*") || !strcmp(con->allowed[i], name))
            return true;
    return false;
}

/* ---- configuration, start and stop ---- */

/* console.allowed.hosts: comma-separated names (a port is ignored), or "*". */
static int parse_allowed(struct console *con, const char *list)
{
    char buf[CONSOLE_MAX_ALLOWED * (CONSOLE_HOST_MAX + 2)];
    if (strlen(list) >= sizeof buf)
        return -EINVAL;
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t n = strlen(tok);
        while (n && tok[n - 1] == ' ')
            tok[--n] = 0;
        bool v6;
        if (!n)
            continue;
        if (con->n_allowed == CONSOLE_MAX_ALLOWED)
            return -EINVAL;
        char *name = con->allowed[con->n_allowed];
        if (!strcmp(tok, "*"))
            strcpy(name, "*");
        else if (!host_name(tok, name, CONSOLE_HOST_MAX + 1, &v6))
            return -EINVAL;
        con->n_allowed++;
    }
    return 0;
}

const struct conf_key console_config_table[] = {
    {"console.max.connections",
     CONF_INT,
     "128",
     1,
     65536,
     "Console connections held at once; more are closed at accept.",
     false,
     {NULL}},
    {"console.request.timeout.ms",
     CONF_INT,
     "30000",
     100,
     86400000,
     "How long a console connection may take to send a whole request, idle time included.",
     false,
     {NULL}},
    {"console.allowed.hosts",
     CONF_LIST,
     NULL,
     0,
     0,
     "More Host names the console answers to, comma-separated (a port is ignored); *: any. See "
     "console.md, The Host rule.",
     false,
     {NULL}},
    {"console.auth",
     CONF_STRING,
     NULL,
     0,
     0,
     "login: every API request needs a session (a user of the credential store); none: no "
     "login, refused on an address other than loopback. Unset: login on such an address, and "
     "on loopback as soon as any user exists.",
     false,
     {NULL}},
    {"console.session.ms",
     CONF_LONG,
     "28800000",
     60000,
     2592000000,
     "How long a console login lasts.",
     false,
     {NULL}},
    {"console.ssl.keystore.type",
     CONF_STRING,
     "PEM",
     0,
     0,
     "The console's key material format: PEM only.",
     false,
     {NULL}},
    {"console.ssl.keystore.location",
     CONF_STRING,
     NULL,
     0,
     0,
     "A PEM file with the console's private key and certificate chain: the console speaks HTTPS.",
     false,
     {NULL}},
    {"console.ssl.keystore.certificate.chain",
     CONF_STRING,
     NULL,
     0,
     0,
     "The console's certificate chain as PEM text (with console.ssl.keystore.key).",
     false,
     {NULL}},
    {"console.ssl.keystore.key",
     CONF_STRING,
     NULL,
     0,
     0,
     "The console's private key as PEM text.",
     false,
     {NULL}},
    {"console.ssl.key.password",
     CONF_STRING,
     NULL,
     0,
     0,
     "The password of the console's private key, when it is encrypted.",
     false,
     {NULL}},
    {"console.ssl.enabled.protocols",
     CONF_LIST,
     "TLSv1.2,TLSv1.3",
     0,
     0,
     "TLS versions the console accepts.",
     false,
     {NULL}},
    {"console.ssl.cipher.suites",
     CONF_LIST,
     NULL,
     0,
     0,
     "Cipher suites the console accepts (OpenSSL names); unset: OpenSSL's defaults.",
     false,
     {NULL}},
    {NULL, 0, NULL, 0, 0, NULL, false, {NULL}},
};

int console_conn_config(struct console *con, const struct props *p)
{
    int64_t v;
    const char *bad = NULL;
    if (conf_get_i64(console_config_table, p, "console.max.connections", &v))
        bad = "console.max.connections";
    con->max_conns = (int)v;
    if (!bad && conf_get_i64(console_config_table, p, "console.request.timeout.ms",
                             &con->request_timeout_ms))
        bad = "console.request.timeout.ms";
    const char *hosts = props_get(p, "console.allowed.hosts");
    if (!bad && hosts && parse_allowed(con, hosts))
        bad = "console.allowed.hosts";
    if (bad) {
        log_error("brook.console", "invalid value for %s: %s", bad, props_get(p, bad));
        return -EINVAL;
    }
    return 0;
}

int console_conn_start(struct console *con, struct evhttp_bound_socket *s)
{
    con->listener = evhttp_bound_socket_get_listener(s);
    con->accept_retry = evtimer_new(con->env.base, accept_retry_cb, con);
    if (!con->listener || !con->accept_retry)
        return -ENOMEM;
    listening = con;
    evconnlistener_set_error_cb(con->listener, accept_error_cb);
    evhttp_set_bevcb(con->http, conn_new_bev, con);
    return 0;
}

void console_conn_stop(struct console *con)
{
    if (listening == con)
        listening = NULL;
    if (con->accept_retry)
        event_free(con->accept_retry);
    con->accept_retry = NULL;
    /* evhttp_free has closed every adopted connection; what is left was never adopted */
    while (con->conns) {
        struct console_conn *cc = con->conns;
        if (!cc->evcon)
            bufferevent_decref(cc->bev);
        conn_unlink(cc);
    }
}
