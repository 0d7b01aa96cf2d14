/*
 * console.c - the console's HTTP server: listener, routing, replies, the static
 * page, /healthz, and the hand-back of durability callbacks to the loop.
 *
 * evhttp runs on the event loop the console is lent (env.base) on its own
 * listener (console.listeners). Every request goes through one generic callback that
 * splits the path into percent-decoded segments and looks it up in a small
 * table; a path that exists with another method gets 405, a write route in
 * read-only mode gets 403, anything else 404 - always with a JSON error body.
 * Before any of that answers, auth.c's gate asks who is there (each route says
 * whether it needs a session, a session or HTTP basic, or nothing): 401 without
 * a login when one is required, 403 for a write without the CSRF token.
 *
 * Bodies: evhttp refuses one over CONSOLE_MAX_BODY (its own 413, from the
 * declared length, before reading it), and write requests must say Content-Type:
 * application/json - which a cross-site HTML form cannot, so a page elsewhere
 * cannot make a visitor's browser write. A request whose Host is not this
 * console's gets 403 before anything else (DNS rebinding; conn.c).
 *
 * Connections: conn.c caps them, gives each request a whole-request
 * deadline, and rests the listener when accept() fails.
 *
 * Admin work: creating and deleting topics and finding the offsets of a reset
 * can take seconds; console_offload() hands it to env.admin_post (the broker's
 * admin thread, in line with the Kafka API's admin requests), and the answer
 * comes back through the same hand-back as a durability wait.
 *
 * HEAD is answered as GET with the body left out and its length given
 * (console_send); every answer goes through it.
 *
 * Durability: a produced record or a reset offset is answered only once it is
 * durable. The store's flusher reports that from its own thread; the callback
 * only queues a `console_wait` under `mu` and activates `wake`, and the loop
 * runs the continuation. console_stop() waits for callbacks still to come
 * before freeing anything they touch.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "console/private.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define STOP_WAIT_S 10 /* console_stop waits this long for durability callbacks */

struct console_wait {
    struct console *con;
    console_durable_fn fn;
    void *arg;
    int rc;
    struct console_wait *next;
};

/* ---- replies ---- */

static void common_headers(struct evhttp_request *req, const char *type)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Cache-Control", "no-store");
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Error" : "Internal Server Error";
    }
}

void console_send(struct evhttp_request *req, int status, struct evbuffer *body)
{
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        /* evhttp would send the body and leave the length out (libevent 2.1) */
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        char len[32];
        snprintf(len, sizeof len, "%zu", body ? evbuffer_get_length(body) : 0);
        evhttp_remove_header(h, "Content-Length");
        if (status != 304)
            evhttp_add_header(h, "Content-Length", len);
        if (body)
            evbuffer_drain(body, evbuffer_get_length(body));
        body = NULL;
    }
    evhttp_send_reply(req, status, reason(status), body);
}

static void free_text(const void *data, size_t len, void *arg)
{
    free((void *)(uintptr_t)data);
}

void console_reply_json(struct evhttp_request *req, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    struct evbuffer *out = evbuffer_new();
    if (!out || !text)
        xalloc_fail("response", 0);
    evbuffer_add_reference(out, text, strlen(text), free_text, NULL);
    evbuffer_add(out, "\n", 1);
    common_headers(req, "application/json");
    console_send(req, status, out);
    evbuffer_free(out);
}

void console_reply_error(struct evhttp_request *req, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *body = json_object();
    json_t *m = json_string(msg);
    json_object_set_new(body, "error", m ? m : json_string("invalid text in the request"));
    json_object_set_new(body, "status", json_integer(status));
    console_reply_json(req, status, body);
}

/* ---- parameters and bodies ---- */

json_t *console_str(const char *s)
{
    json_t *j = json_string(s ? s : "");
    return j ? j : json_string("");
}

bool console_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

const char *console_param(struct creq *cr, const char *name)
{
    return evhttp_find_header(&cr->query, name);
}

int console_param_i64(struct creq *cr, const char *name, int64_t def, int64_t min, int64_t max,
                      int64_t *out)
{
    const char *s = console_param(cr, name);
    *out = def;
    if (!s)
        return 0;
    if (!console_parse_i64(s, out) || *out < min || *out > max) {
        console_reply_error(cr->req, 400, "%s must be an integer from %lld to %lld", name,
                            (long long)min, (long long)max);
        return -EINVAL;
    }
    return 0;
}

int console_body(struct creq *cr, json_t **out)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(cr->req);
    const char *type = evhttp_find_header(h, "Content-Type");
    struct evbuffer *in = evhttp_request_get_input_buffer(cr->req);
    size_t len = evbuffer_get_length(in);
    *out = NULL;
    if (len > CONSOLE_MAX_BODY) {
        console_reply_error(cr->req, 413, "the body is %zu bytes; the limit is %d", len,
                            CONSOLE_MAX_BODY);
        return -EMSGSIZE;
    }
    if (!type || strncasecmp(type, "application/json", 16) ||
        (type[16] && type[16] != ';' && type[16] != ' ')) {
        console_reply_error(cr->req, 415, "send the body as Content-Type: application/json");
        return -EINVAL;
    }
    json_error_t err;
    const char *p = len ? (const char *)evbuffer_pullup(in, (ssize_t)len) : "";
    json_t *j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &err);
    if (!j || !json_is_object(j)) {
        if (j)
            console_reply_error(cr->req, 400, "the body must be a JSON object");
        else
            console_reply_error(cr->req, 400, "bad JSON at line %d column %d: %s", err.line,
                                err.column, err.text);
        json_decref(j);
        return -EINVAL;
    }
    *out = j;
    return 0;
}

/* ---- durability waits ---- */

struct console_wait *console_wait_new(struct console *con, console_durable_fn fn, void *arg)
{
    struct console_wait *w = xcalloc(1, sizeof *w);
    *w = (struct console_wait){con, fn, arg, 0, NULL};
    pthread_mutex_lock(&con->mu);
    con->outstanding++;
    pthread_mutex_unlock(&con->mu);
    return w;
}

/* Any thread (the flusher): queue w for the loop. The event is activated under
 * the lock so that console_stop cannot free it in between. */
void console_wait_durable(void *wait, int rc)
{
    struct console_wait *w = wait;
    struct console *con = w->con;
    w->rc = rc;
    pthread_mutex_lock(&con->mu);
    w->next = con->done;
    con->done = w;
    con->outstanding--;
    pthread_cond_broadcast(&con->idle);
    event_active(con->wake, EV_READ, 0);
    pthread_mutex_unlock(&con->mu);
}

void console_wait_cancel(struct console_wait *w)
{
    struct console *con = w->con;
    pthread_mutex_lock(&con->mu);
    con->outstanding--;
    pthread_cond_broadcast(&con->idle);
    pthread_mutex_unlock(&con->mu);
    free(w);
}

struct console_answer *console_answer_new(struct evhttp_request *req, json_t *answer,
                                          const char *written)
{
    struct console_answer *a = xcalloc(1, sizeof *a);
    *a = (struct console_answer){req, answer, written};
    return a;
}

void console_answer_drop(struct console_answer *a)
{
    json_decref(a->answer);
    free(a);
}

void console_answer_durable(struct console *con, void *arg, int rc)
{
    struct console_answer *a = arg;
    if (rc == -ECANCELED)
        console_reply_error(a->req, 503, "the broker is shutting down");
    else if (rc)
        console_reply_error(a->req, 500, "%s were written but flushing failed: %s", a->written,
                            store_strerror(rc));
    else
        console_reply_json(a->req, 200, json_incref(a->answer));
    console_answer_drop(a);
}

int console_when_durable(struct console *con, struct store_partition *p, int64_t end,
                         console_durable_fn fn, void *arg)
{
    struct console_wait *w = console_wait_new(con, fn, arg);
    int rc = store_partition_when_durable(p, end, console_wait_durable, w);
    if (rc == 0)
        return 0;
    console_wait_cancel(w);
    if (rc < 0)
        return rc;
    fn(con, arg, 0); /* already durable */
    return 0;
}

/* ---- work on the admin thread ---- */

struct offload {
    console_work_fn work;
    struct console_wait *w;
    void *arg;
};

static void offload_run(void *arg)
{
    struct offload *o = arg;
    int rc = o->work(o->arg);
    console_wait_durable(o->w, rc);
    free(o);
}

void console_offload(struct console *con, console_work_fn work, console_durable_fn done, void *arg)
{
    struct offload *o = xcalloc(1, sizeof *o);
    *o = (struct offload){work, console_wait_new(con, done, arg), arg};
    if (con->env.admin_post(con->env.ctx, offload_run, o))
        offload_run(o); /* no admin thread (a test harness): do it here */
}

/* Take the finished waits, oldest first. */
static struct console_wait *take_done(struct console *con, bool *appended)
{
    pthread_mutex_lock(&con->mu);
    struct console_wait *list = con->done, *rev = NULL;
    con->done = NULL;
    *appended = con->appended;
    con->appended = false;
    pthread_mutex_unlock(&con->mu);
    while (list) {
        struct console_wait *next = list->next;
        list->next = rev;
        rev = list;
        list = next;
    }
    return rev;
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct console *con = arg;
    bool appended;
    for (struct console_wait *w = take_done(con, &appended), *next; w; w = next) {
        next = w->next;
        w->fn(con, w->arg, w->rc);
        free(w);
    }
    if (appended)
        tail_pump_all(con);
}

/* Any thread, after an append: live tails have something new. */
static void on_append(void *arg, struct store_partition *p, int64_t hw)
{
    struct console *con = arg;
    pthread_mutex_lock(&con->mu);
    con->appended = true;
    event_active(con->wake, EV_READ, 0);
    pthread_mutex_unlock(&con->mu);
}

/* ---- the page and health ---- */

static void serve_asset(struct creq *cr, const struct console_asset *a)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(cr->req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(cr->req);
    const char *inm = evhttp_find_header(in, "If-None-Match");
    evhttp_add_header(h, "Content-Type", a->type);
    evhttp_add_header(h, "ETag", a->etag);
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                      "frame-ancestors 'none'");
    if (inm && !strcmp(inm, a->etag)) {
        console_send(cr->req, 304, NULL);
        return;
    }
    struct evbuffer *out = evbuffer_new();
    if (!out)
        xalloc_fail("evbuffer", 0);
    evbuffer_add_reference(out, a->data, a->len, NULL, NULL);
    console_send(cr->req, 200, out);
    evbuffer_free(out);
}

static void page(struct creq *cr)
{
    const char *path = cr->nseg ? cr->seg[0] : "index.html";
    for (size_t i = 0; i < console_n_assets; i++)
        if (!strcmp(console_assets[i].path + 1, path)) {
            serve_asset(cr, &console_assets[i]);
            return;
        }
    console_reply_error(cr->req, 404, "no such page: /%s", path);
}

static void healthz(struct creq *cr)
{
    struct evbuffer *out = evbuffer_new();
    if (!out)
        xalloc_fail("evbuffer", 0);
    evbuffer_add(out, "ok\n", 3);
    common_headers(cr->req, "text/plain; charset=utf-8");
    console_send(cr->req, 200, out);
    evbuffer_free(out);
}

/* ---- routing ---- */

#define GET  EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST
#define DEL  EVHTTP_REQ_DELETE

/* Patterns are path segments; "*" matches any one segment. */
static const struct route {
    int method;
    const char *pattern[6];
    bool write; /* refused in read-only mode */
    enum console_access access;
    void (*fn)(struct creq *cr);
} routes[] = {
    {GET, {"healthz"}, false, ACCESS_OPEN, healthz},
    {GET, {"metrics"}, false, ACCESS_SCRAPE, console_metrics_serve},
    {POST, {"api", "v1", "login"}, false, ACCESS_OPEN, api_login},
    {GET, {"api", "v1", "session"}, false, ACCESS_OPEN, api_session},
    {POST, {"api", "v1", "logout"}, false, ACCESS_USER, api_logout},
    {GET, {"api", "v1", "broker"}, false, ACCESS_USER, api_broker},
    {GET, {"api", "v1", "topics"}, false, ACCESS_USER, api_topics},
    {POST, {"api", "v1", "topics"}, true, ACCESS_USER, api_topic_create},
    {GET, {"api", "v1", "topics", "*"}, false, ACCESS_USER, api_topic},
    {DEL, {"api", "v1", "topics", "*"}, true, ACCESS_USER, api_topic_delete},
    {GET, {"api", "v1", "topics", "*", "messages"}, false, ACCESS_USER, api_messages},
    {POST, {"api", "v1", "topics", "*", "messages"}, true, ACCESS_USER, api_produce},
    {GET, {"api", "v1", "topics", "*", "tail"}, false, ACCESS_USER, tail_open},
    {GET, {"api", "v1", "groups"}, false, ACCESS_USER, api_groups},
    {GET, {"api", "v1", "groups", "*"}, false, ACCESS_USER, api_group},
    {POST, {"api", "v1", "groups", "*", "offsets"}, true, ACCESS_USER, api_group_reset},
    {POST, {"api", "v1", "topics", "*", "config"}, true, ACCESS_USER, api_topic_config},
    {POST, {"api", "v1", "topics", "*", "partitions"}, true, ACCESS_USER, api_topic_partitions},
    {POST, {"api", "v1", "topics", "*", "delete-records"}, true, ACCESS_USER, api_records_delete},
    {DEL, {"api", "v1", "groups", "*"}, true, ACCESS_USER, api_group_delete},
    {DEL, {"api", "v1", "groups", "*", "offsets", "*"}, true, ACCESS_USER, api_offsets_delete},
    {GET, {"api", "v1", "series"}, false, ACCESS_USER, api_series_index},
    {GET, {"api", "v1", "series", "broker"}, false, ACCESS_USER, api_series_broker},
    {GET, {"api", "v1", "series", "topics"}, false, ACCESS_USER, api_series_topics},
    {GET, {"api", "v1", "series", "topics", "*"}, false, ACCESS_USER, api_series_topic},
    {GET, {"api", "v1", "series", "groups"}, false, ACCESS_USER, api_series_groups},
    {GET, {"api", "v1", "series", "groups", "*"}, false, ACCESS_USER, api_series_group},
};

static bool route_matches(const struct route *r, const struct creq *cr)
{
    int n = 0;
    while (n < 6 && r->pattern[n])
        n++;
    if (n != cr->nseg)
        return false;
    for (int i = 0; i < n; i++)
        if (strcmp(r->pattern[i], "*") && strcmp(r->pattern[i], cr->seg[i]))
            return false;
    return true;
}

static void dispatch(struct creq *cr)
{
    bool path_known = false;
    int method = cr->method == EVHTTP_REQ_HEAD ? EVHTTP_REQ_GET : cr->method;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct route *r = &routes[i];
        if (!route_matches(r, cr))
            continue;
        path_known = true;
        if (r->method != method)
            continue;
        if (!console_auth_admit(cr, r->access, r->fn))
            return;
        if (r->write && cr->con->read_only) {
            console_reply_error(cr->req, 403, "the console is read-only (console.read.only)");
            return;
        }
        r->fn(cr);
        return;
    }
    /* a 405 tells that the path exists: only to whom may use the API */
    if (path_known && console_auth_admit(cr, ACCESS_USER, NULL))
        console_reply_error(cr->req, 405, "method not allowed here");
    else if (path_known)
        return;
    else if (cr->nseg <= 1 && method == EVHTTP_REQ_GET)
        page(cr);
    else
        console_reply_error(cr->req, 404, "not found");
}

/* Split the request path into decoded segments; false if it is malformed. */
static bool split_path(struct creq *cr, const char *path)
{
    const char *p = path && *path ? path : "/";
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (cr->nseg == 8)
            return false;
        char *raw = strndup(p, n);
        size_t dlen = 0;
        char *seg = raw ? evhttp_uridecode(raw, 0, &dlen) : NULL;
        free(raw);
        if (!seg)
            xalloc_fail("uri", 0);
        cr->seg[cr->nseg++] = seg;
        if (dlen != strlen(seg) || !strcmp(seg, "..") || !strcmp(seg, "."))
            return false; /* NUL bytes or dot segments */
        p += n;
    }
    return true;
}

static void request_cb(struct evhttp_request *req, void *arg)
{
    struct console *con = arg;
    struct creq cr = {.con = con, .req = req, .method = (int)evhttp_request_get_command(req)};
    cr.query.tqh_first = NULL; /* TAILQ_INIT, which libevent's headers leave out */
    cr.query.tqh_last = &cr.query.tqh_first;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
    con->http_requests++;
    console_conn_request_begins(con, req);
    if (!console_host_allowed(con, host))
        console_reply_error(
            req, 403, "Host %.100s is not this console's; name it in console.allowed.hosts", host);
    else if (!uri || !split_path(&cr, evhttp_uri_get_path(uri)) ||
             (query && evhttp_parse_query_str(query, &cr.query)))
        console_reply_error(req, 400, "malformed request path or query");
    else
        dispatch(&cr);
    evhttp_clear_headers(&cr.query);
    for (int i = 0; i < cr.nseg; i++)
        free(cr.seg[i]);
}

/* ---- start and stop ---- */

static int bind_listener(struct console *con, const char *host, int port)
{
    struct evhttp_bound_socket *s =
        evhttp_bind_socket_with_handle(con->http, host[0] ? host : "0.0.0.0", (ev_uint16_t)port);
    if (!s) {
        int err = errno ? errno : EADDRINUSE;
        log_error("brook.console", "cannot listen on %s:%d: %s", host, port, strerror(err));
        return -err;
    }
    snprintf(con->cfg_host, sizeof con->cfg_host, "%s", host);
    if (console_conn_start(con, s))
        return -ENOMEM;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char h[NI_MAXHOST], serv[NI_MAXSERV];
    if (getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &len) ||
        getnameinfo((struct sockaddr *)&ss, len, h, sizeof h, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV))
        return -EINVAL;
    snprintf(con->host, sizeof con->host, "%.255s", h);
    con->port = atoi(serv);
    return 0;
}

static void console_free(struct console *con)
{
    if (con->http)
        evhttp_free(con->http); /* closes every connection */
    console_conn_stop(con);
    series_stop(con);
    console_auth_free(con);
    console_tls_free(con);
    if (con->wake)
        event_free(con->wake);
    pthread_cond_destroy(&con->idle);
    pthread_mutex_destroy(&con->mu);
    free(con);
}

int console_start(const struct console_env *env, struct console **out)
{
    *out = NULL;
    struct console *con = calloc(1, sizeof *con);
    if (!con)
        return -ENOMEM;
    con->env = *env;
    con->read_only = env->read_only;
    pthread_mutex_init(&con->mu, NULL);
    pthread_cond_init(&con->idle, NULL);
    con->wake = event_new(env->base, -1, 0, wake_cb, con);
    con->http = evhttp_new(env->base);
    int rc = !con->wake || !con->http ? -ENOMEM : console_conn_config(con, env->props);
    if (!rc)
        rc = console_auth_config(con, env->props);
    if (!rc)
        rc = console_tls_config(con, env->props);
    if (!rc)
        rc = bind_listener(con, env->listen_host, env->listen_port);
    if (!rc)
        rc = series_start(con);
    if (!rc && store_listen(env->store, on_append, con))
        rc = -ENOMEM;
    if (rc) {
        console_free(con);
        return rc;
    }
    evhttp_set_allowed_methods(con->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                              EVHTTP_REQ_DELETE | EVHTTP_REQ_PUT |
                                              EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    evhttp_set_max_body_size(con->http, CONSOLE_MAX_BODY);
    evhttp_set_max_headers_size(con->http, CONSOLE_MAX_HEADERS);
    evhttp_set_timeout(con->http, CONSOLE_TIMEOUT_S);
    evhttp_set_gencb(con->http, request_cb, con);
    *out = con;
    log_info("brook.console", "console on %s://%s:%d/%s%s", con->tls ? "https" : "http", con->host,
             con->port, con->read_only ? " (read-only)" : "",
             console_auth_required(con) ? " (login)" : "");
    console_auth_announce(con);
    return 0;
}

void console_stop(struct console *con)
{
    if (!con)
        return;
    store_unlisten(con->env.store, on_append, con);
    tail_close_all(con);
    /* callbacks still to come write into con: wait for them (the flusher runs) */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += STOP_WAIT_S;
    pthread_mutex_lock(&con->mu);
    while (con->outstanding > 0 &&
           pthread_cond_timedwait(&con->idle, &con->mu, &until) != ETIMEDOUT)
        ;
    int left = con->outstanding;
    pthread_mutex_unlock(&con->mu);
    if (left) {
        log_error("brook.console", "%d durability callbacks never came; not freeing", left);
        return;
    }
    bool appended;
    for (struct console_wait *w = take_done(con, &appended), *next; w; w = next) {
        next = w->next;
        w->fn(con, w->arg, -ECANCELED); /* the loop has stopped: nobody is answered */
        free(w);
    }
    console_free(con);
}

const char *console_address(struct console *con)
{
    static char buf[CONSOLE_ADDR_MAX];
    if (!con)
        return NULL;
    bool v6 = strchr(con->host, ':') != NULL;
    snprintf(buf, sizeof buf, "%s%s%s:%d", v6 ? "[" : "", con->host, v6 ? "]" : "", con->port);
    return buf;
}
