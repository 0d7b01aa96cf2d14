/*
 * auth.c - who is asking the console, and what they may do: the login (the
 * broker's own users, auth_creds_check_password), sessions held in a cookie, the
 * CSRF token every write carries, HTTP basic for /metrics scrapes, and the ACL
 * questions the handlers ask with the caller's principal.
 *
 * console.auth: `login` asks every API request for a session; `none` serves
 * everyone as User:ANONYMOUS and is refused on an address other than loopback.
 * Left unset, the console asks for a login on an address other than loopback,
 * and on loopback as soon as the credential store holds a user (looked at per
 * request, so the first `brook user create` closes the console without a restart).
 *
 * Sessions: a login makes one, named by 32 random bytes in the cookie
 * brook_session (HttpOnly, so page scripts cannot read it; SameSite=Strict, so
 * another site's page cannot send it; Secure under TLS). Each session has a
 * second random value, the CSRF token, which the page learns from the login or
 * GET /api/v1/session answer and sends back in X-CSRF-Token on every request that
 * is not GET or HEAD; a request without it, or with another, gets 403 before its
 * handler runs. The cookie alone therefore cannot write, even from a browser
 * that ignores SameSite. Sessions live console.session.ms from the login, end at
 * logout or when their user is deleted, and there are at most
 * CONSOLE_MAX_SESSIONS: a login beyond that ends the oldest.
 *
 * Checking a password derives SCRAM's keys (thousands of hash rounds), too slow
 * for the event loop that also serves Kafka clients: it runs on the admin thread
 * (console_offload), and at most CONSOLE_MAX_LOGINS run at once; more get 429.
 * /metrics takes a session or an Authorization: Basic header, checked the same
 * way, so a scraper needs no cookie.
 *
 * ACLs: a session's principal is "User:<name>", asked through auth_authorize with
 * the peer's address as the host, exactly as a Kafka client of that user would
 * be; handlers call console_may (filtering lists) or console_require (403).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "auth/auth.h"
#include "console/private.h"
#include "lib/clock.h"
#include "lib/conftab.h"
#include "lib/log.h"
#include "lib/props.h"
#include "lib/xalloc.h"

#define COOKIE_NAME      "brook_session"
#define MAX_PASSWORD     1024 /* bytes of a password the login takes */
#define BASIC_HEADER_MAX 2048 /* bytes of an Authorization header */

struct console_session {
    char token[CONSOLE_TOKEN_HEX + 1]; /* "" when the slot is free */
    char csrf[CONSOLE_TOKEN_HEX + 1];
    char user[AUTH_USER_MAX + 1];
    int64_t created_ms, expires_ms; /* monotonic */
};

/* ---- configuration ---- */

static bool host_is_loopback(const char *h)
{
    return !strncmp(h, "127.", 4) || !strcmp(h, "::1") || !strcasecmp(h, "localhost");
}

int console_auth_config(struct console *con, const struct props *p)
{
    const char *mode = props_get(p, "console.auth");
    const char *host = con->env.listen_host;
    bool loopback = host_is_loopback(host);
    if (!mode)
        con->auth = loopback ? CONSOLE_AUTH_AUTO : CONSOLE_AUTH_LOGIN;
    else if (!strcmp(mode, "login"))
        con->auth = CONSOLE_AUTH_LOGIN;
    else if (!strcmp(mode, "none"))
        con->auth = CONSOLE_AUTH_NONE;
    else {
        log_error("brook.console", "invalid value for console.auth: %s (none or login)", mode);
        return -EINVAL;
    }
    if (con->auth == CONSOLE_AUTH_NONE && !loopback) {
        log_error("brook.console",
                  "console.auth=none is refused on %s: anyone who reaches it could read and "
                  "change everything; use a loopback address or console.auth=login",
                  host[0] ? host : "every address");
        return -EINVAL;
    }
    if (conf_get_i64(console_config_table, p, "console.session.ms", &con->session_ms)) {
        log_error("brook.console", "invalid value for console.session.ms: %s",
                  props_get(p, "console.session.ms"));
        return -EINVAL;
    }
    con->sessions = xcalloc(CONSOLE_MAX_SESSIONS, sizeof *con->sessions);
    return 0;
}

void console_auth_free(struct console *con)
{
    if (con->sessions)
        OPENSSL_cleanse(con->sessions, CONSOLE_MAX_SESSIONS * sizeof *con->sessions);
    free(con->sessions);
    con->sessions = NULL;
}

static int any_user(const char *user, enum scram_mech mech, int32_t iterations, void *arg)
{
    return 1;
}

bool console_auth_required(struct console *con)
{
    switch (con->auth) {
    case CONSOLE_AUTH_LOGIN: return true;
    case CONSOLE_AUTH_NONE: return false;
    default: return con->env.creds && auth_creds_each(con->env.creds, any_user, NULL) == 1;
    }
}

bool console_auth_any_user(struct console *con)
{
    return con->env.creds && auth_creds_each(con->env.creds, any_user, NULL) == 1;
}

/* ---- tokens and sessions ---- */

static int token_new(char *out)
{
    uint8_t raw[CONSOLE_TOKEN_HEX / 2];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return -EIO;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

static bool token_equal(const char *a, const char *b)
{
    return strlen(b) == CONSOLE_TOKEN_HEX && a[0] && !CRYPTO_memcmp(a, b, CONSOLE_TOKEN_HEX);
}

static void session_end(struct console_session *s)
{
    OPENSSL_cleanse(s, sizeof *s);
}

/* Whether user still has a credential (a deleted user's sessions end). */
static bool user_exists(struct console *con, const char *user)
{
    struct auth_scram_cred c;
    return con->env.creds && (!auth_creds_get(con->env.creds, user, SCRAM_SHA_512, &c) ||
                              !auth_creds_get(con->env.creds, user, SCRAM_SHA_256, &c));
}

/* A free slot, else the one that expires first. */
static struct console_session *session_slot(struct console *con)
{
    struct console_session *oldest = &con->sessions[0];
    int64_t now = clock_mono_ms();
    for (int i = 0; i < CONSOLE_MAX_SESSIONS; i++) {
        struct console_session *s = &con->sessions[i];
        if (!s->token[0] || s->expires_ms <= now)
            return s;
        if (s->expires_ms < oldest->expires_ms)
            oldest = s;
    }
    log_warn_every("brook.console",
                   "%d console sessions are open; a login ended the one closest to its end",
                   CONSOLE_MAX_SESSIONS);
    return oldest;
}

static struct console_session *session_new(struct console *con, const char *user)
{
    struct console_session *s = session_slot(con);
    session_end(s);
    if (token_new(s->token) || token_new(s->csrf)) {
        session_end(s);
        return NULL;
    }
    snprintf(s->user, sizeof s->user, "%s", user);
    s->created_ms = clock_mono_ms();
    s->expires_ms = s->created_ms + con->session_ms;
    return s;
}

/* The value of the session cookie in a Cookie header, or NULL. */
static const char *cookie_token(const char *cookies, char *out)
{
    const size_t nlen = strlen(COOKIE_NAME);
    for (const char *p = cookies; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        size_t n = strcspn(p, ";");
        if (n == nlen + 1 + CONSOLE_TOKEN_HEX && !strncmp(p, COOKIE_NAME "=", nlen + 1)) {
            memcpy(out, p + nlen + 1, CONSOLE_TOKEN_HEX);
            out[CONSOLE_TOKEN_HEX] = 0;
            return out;
        }
        p += n;
    }
    return NULL;
}

/* The live session named tok, or NULL (ending it when it has expired or its user
 * is gone). */
static struct console_session *session_find(struct console *con, const char *tok)
{
    int64_t now = clock_mono_ms();
    for (int i = 0; i < CONSOLE_MAX_SESSIONS; i++) {
        struct console_session *s = &con->sessions[i];
        if (!token_equal(s->token, tok))
            continue;
        if (s->expires_ms <= now || !user_exists(con, s->user)) {
            session_end(s);
            return NULL;
        }
        return s;
    }
    return NULL;
}

/* The live session the request's cookie names, or NULL. */
static struct console_session *session_of(struct console *con, struct evhttp_request *req)
{
    char tok[CONSOLE_TOKEN_HEX + 1];
    const char *c = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");
    return cookie_token(c, tok) ? session_find(con, tok) : NULL;
}

void console_auth_session_id(const struct creq *cr, char *out)
{
    snprintf(out, CONSOLE_TOKEN_HEX + 1, "%s", cr->session ? cr->session->token : "");
}

bool console_auth_session_live(struct console *con, const char *id)
{
    return id[0] ? session_find(con, id) != NULL : !console_auth_required(con);
}

static void set_cookie(struct console *con, struct evhttp_request *req, const char *token,
                       int64_t max_age_s)
{
    char v[256];
    snprintf(v, sizeof v, COOKIE_NAME "=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
             token, (long long)max_age_s, con->tls ? "; Secure" : "");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", v);
}

/* ---- the peer and the principal ---- */

static void peer_of(struct evhttp_request *req, char *out, size_t size)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    char *addr = NULL;
    ev_uint16_t port = 0;
    if (evcon)
        evhttp_connection_get_peer(evcon, &addr, &port);
    snprintf(out, size, "%s", addr ? addr : "");
}

static void principal_set(struct creq *cr, const char *user)
{
    if (user)
        snprintf(cr->principal, sizeof cr->principal, "User:%s", user);
    else
        snprintf(cr->principal, sizeof cr->principal, "%s", AUTH_ANONYMOUS);
}

/* ---- checking a password on the admin thread ---- */

struct login_job {
    struct console *con;
    struct evhttp_request *req;
    char user[AUTH_USER_MAX + 1];
    char password[MAX_PASSWORD + 1];
    size_t password_len;
    bool ok;
    void (*then)(struct creq *cr); /* basic auth: the handler to run; NULL: a login */
};

/* Admin thread. */
static int login_work(void *arg)
{
    struct login_job *j = arg;
    j->ok = j->con->env.creds &&
            auth_creds_check_password(j->con->env.creds, j->user, j->password, j->password_len);
    OPENSSL_cleanse(j->password, sizeof j->password);
    return 0;
}

static void unauthorized(struct console *con, struct evhttp_request *req, bool basic,
                         const char *msg)
{
    if (basic)
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Basic realm=\"brook\", charset=\"UTF-8\"");
    console_reply_error(req, 401, "%s", msg);
}

static void session_answer(struct console *con, struct evhttp_request *req,
                           const struct console_session *s, int status)
{
    json_t *o = json_object();
    json_object_set_new(o, "auth", console_str(console_auth_required(con) ? "login" : "none"));
    if (s) {
        json_object_set_new(o, "user", console_str(s->user));
        json_object_set_new(o, "csrf", console_str(s->csrf));
        json_object_set_new(o, "expires_in_ms", json_integer(s->expires_ms - clock_mono_ms()));
    } else {
        json_object_set_new(o, "user", json_null());
    }
    console_reply_json(req, status, o);
}

/* The user name as the log shows it: a peer chose it, so no control characters. */
static const char *printable(const char *user, char *out, size_t size)
{
    size_t i = 0;
    for (; user[i] && i + 1 < size; i++)
        out[i] = user[i] >= 0x20 && user[i] < 0x7f ? user[i] : '?';
    out[i] = 0;
    return out;
}

/* Loop thread: the password was checked. */
static void login_done(struct console *con, void *arg, int rc)
{
    struct login_job *j = arg;
    char peer[CONSOLE_PEER_MAX], shown[AUTH_USER_MAX + 1];
    con->logins_inflight--;
    OPENSSL_cleanse(j->password, sizeof j->password); /* login_work may not have run */
    peer_of(j->req, peer, sizeof peer);
    if (rc == -ECANCELED) {
        console_reply_error(j->req, 503, "the broker is shutting down");
    } else if (!j->ok) {
        con->logins_failed++;
        log_warn_every("brook.console", "failed console login for %s from %s",
                       printable(j->user, shown, sizeof shown), peer);
        unauthorized(con, j->req, j->then != NULL, "wrong user name or password");
    } else if (j->then) {
        con->logins_ok++;
        struct creq cr = {.con = con, .req = j->req, .method = EVHTTP_REQ_GET};
        cr.query.tqh_first = NULL;
        cr.query.tqh_last = &cr.query.tqh_first;
        principal_set(&cr, j->user);
        snprintf(cr.peer, sizeof cr.peer, "%s", peer);
        j->then(&cr);
    } else {
        struct console_session *s = session_new(con, j->user);
        if (!s) {
            console_reply_error(j->req, 500, "cannot make a session: no random bytes");
        } else {
            con->logins_ok++;
            log_info("brook.console", "console login: %s from %s",
                     printable(j->user, shown, sizeof shown), peer);
            set_cookie(con, j->req, s->token, con->session_ms / 1000);
            session_answer(con, j->req, s, 200);
        }
    }
    free(j);
}

/* Start checking user's password: false after answering (429: too many at once). */
static bool login_start(struct console *con, struct evhttp_request *req, const char *user,
                        size_t user_len, const char *password, size_t password_len,
                        void (*then)(struct creq *cr))
{
    if (!user_len || user_len > AUTH_USER_MAX || memchr(user, 0, user_len) ||
        password_len > MAX_PASSWORD) {
        unauthorized(con, req, then != NULL, "wrong user name or password");
        return false;
    }
    if (con->logins_inflight >= CONSOLE_MAX_LOGINS) {
        console_reply_error(req, 429, "%d logins are being checked; try again", CONSOLE_MAX_LOGINS);
        return false;
    }
    struct login_job *j = xcalloc(1, sizeof *j);
    j->con = con;
    j->req = req;
    j->then = then;
    memcpy(j->user, user, user_len);
    memcpy(j->password, password, password_len);
    j->password_len = password_len;
    con->logins_inflight++;
    console_offload(con, login_work, login_done, j);
    return true;
}

/* ---- the endpoints ---- */

void api_login(struct creq *cr)
{
    json_t *body;
    if (console_body(cr, &body))
        return;
    json_t *u = json_object_get(body, "user"), *pw = json_object_get(body, "password");
    if (!json_is_string(u) || !json_is_string(pw))
        console_reply_error(cr->req, 400, "send {\"user\": ..., \"password\": ...}");
    else
        login_start(cr->con, cr->req, json_string_value(u), json_string_length(u),
                    json_string_value(pw), json_string_length(pw), NULL);
    json_decref(body);
}

void api_session(struct creq *cr)
{
    struct console *con = cr->con;
    if (!console_auth_required(con)) {
        json_t *o = json_object();
        json_object_set_new(o, "auth", console_str("none"));
        json_object_set_new(o, "user", json_null());
        console_reply_json(cr->req, 200, o);
        return;
    }
    struct console_session *s = session_of(con, cr->req);
    session_answer(con, cr->req, s, s ? 200 : 401);
}

void api_logout(struct creq *cr)
{
    if (cr->session)
        session_end(cr->session);
    tail_check_sessions(cr->con); /* its live tails end now, not at their next keepalive */
    set_cookie(cr->con, cr->req, "", 0);
    json_t *o = json_object();
    json_object_set_new(o, "logged_out", json_true());
    console_reply_json(cr->req, 200, o);
}

/* ---- the gate ---- */

/* An Authorization: Basic header: false after answering when it is malformed. */
static bool basic_start(struct creq *cr, const char *hdr, void (*then)(struct creq *cr))
{
    size_t n = strlen(hdr), len = 0;
    if (n > BASIC_HEADER_MAX || strncasecmp(hdr, "Basic ", 6)) {
        unauthorized(cr->con, cr->req, true, "use HTTP basic authentication");
        return false;
    }
    uint8_t *raw = console_base64_decode(hdr + 6, n - 6, &len);
    const char *colon = raw ? memchr(raw, ':', len) : NULL;
    bool ok = false;
    if (!colon)
        unauthorized(cr->con, cr->req, true, "malformed basic credentials");
    else
        ok = login_start(cr->con, cr->req, (const char *)raw, (size_t)(colon - (char *)raw),
                         colon + 1, len - (size_t)(colon + 1 - (char *)raw), then);
    if (raw)
        OPENSSL_cleanse(raw, len);
    free(raw);
    return ok;
}

/* A request other than GET or HEAD must carry the session's CSRF token. */
static bool csrf_ok(struct creq *cr)
{
    if (cr->method == EVHTTP_REQ_GET || cr->method == EVHTTP_REQ_HEAD)
        return true;
    const char *t = evhttp_find_header(evhttp_request_get_input_headers(cr->req), "X-CSRF-Token");
    return t && token_equal(cr->session->csrf, t);
}

bool console_auth_admit(struct creq *cr, enum console_access access, void (*then)(struct creq *cr))
{
    struct console *con = cr->con;
    peer_of(cr->req, cr->peer, sizeof cr->peer);
    principal_set(cr, NULL);
    if (access == ACCESS_OPEN || !console_auth_required(con))
        return true;
    cr->session = session_of(con, cr->req);
    if (cr->session) {
        if (!csrf_ok(cr)) {
            console_reply_error(cr->req, 403,
                                "this request needs the session's X-CSRF-Token header");
            return false;
        }
        principal_set(cr, cr->session->user);
        return true;
    }
    const char *basic =
        evhttp_find_header(evhttp_request_get_input_headers(cr->req), "Authorization");
    if (access == ACCESS_SCRAPE && basic) {
        basic_start(cr, basic, then);
        return false; /* then() runs once the password is checked */
    }
    unauthorized(con, cr->req, access == ACCESS_SCRAPE, "log in first (POST /api/v1/login)");
    return false;
}

/* ---- ACLs ---- */

static const char *op_name(enum auth_op op)
{
    switch (op) {
    case AUTH_OP_READ: return "Read";
    case AUTH_OP_WRITE: return "Write";
    case AUTH_OP_CREATE: return "Create";
    case AUTH_OP_DELETE: return "Delete";
    case AUTH_OP_ALTER: return "Alter";
    case AUTH_OP_DESCRIBE: return "Describe";
    case AUTH_OP_DESCRIBE_CONFIGS: return "DescribeConfigs";
    case AUTH_OP_ALTER_CONFIGS: return "AlterConfigs";
    default: return "use";
    }
}

static const char *res_name(enum auth_resource type)
{
    switch (type) {
    case AUTH_RES_TOPIC: return "topic";
    case AUTH_RES_GROUP: return "group";
    case AUTH_RES_CLUSTER: return "the cluster";
    default: return "resource";
    }
}

bool console_may(const struct creq *cr, enum auth_op op, enum auth_resource type, const char *name)
{
    const struct console_env *env = &cr->con->env;
    if (!env->policy || !env->policy->enabled)
        return true;
    if (!env->acls)
        return env->policy->allow_if_no_acl;
    return auth_authorize(env->acls, env->policy, cr->principal, cr->peer, op, type,
                          type == AUTH_RES_CLUSTER ? AUTH_CLUSTER_NAME : name);
}

bool console_require(struct creq *cr, enum auth_op op, enum auth_resource type, const char *name)
{
    if (console_may(cr, op, type, name))
        return true;
    console_reply_error(cr->req, 403, "%s may not %s %s%s%.255s (no ACL allows it)", cr->principal,
                        op_name(op), res_name(type), type == AUTH_RES_CLUSTER ? "" : " ",
                        type == AUTH_RES_CLUSTER ? "" : name);
    return false;
}

/* ---- start: what is exposed ---- */

void console_auth_announce(struct console *con)
{
    const char *h = con->cfg_host;
    if (host_is_loopback(h))
        return;
    if (!con->tls)
        log_warn("brook.console",
                 "the console on %s:%d is plain HTTP on an address other than loopback: user "
                 "names, passwords and session cookies cross the network unencrypted; set "
                 "console.ssl.keystore.location",
                 h[0] ? h : "0.0.0.0", con->port);
    if (!console_auth_any_user(con))
        log_warn("brook.console",
                 "the console asks for a login and no user exists yet: nobody can use it "
                 "until one is added (brookd --add-scram, or brook user create)");
}
