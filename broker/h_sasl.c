/*
 * h_sasl.c - SaslHandshake and SaslAuthenticate, and the gate that keeps an
 * unauthenticated peer on a SASL_* listener to those two and ApiVersions.
 *
 * A connection on a SASL listener moves through:
 *
 *   NEED_HANDSHAKE --SaslHandshake v1--> NEED_AUTHENTICATE --SaslAuthenticate...--> (done)
 *                  --SaslHandshake v0--> RAW: the next frames are bare SASL tokens
 *
 * and is authenticated when auth/sasl.c says the exchange succeeded; it then carries
 * the principal "User:<name>". Anything else before that - another API, a handshake
 * out of turn, a failed exchange - is answered where Kafka answers (with
 * ILLEGAL_SASL_STATE, UNSUPPORTED_SASL_MECHANISM or SASL_AUTHENTICATION_FAILED) and
 * the connection closes once the answer is out: one attempt per connection, so a
 * guesser pays a TCP connection per password.
 *
 * The exchange is bounded: each message by SCRAM_MSG_MAX, its steps by the
 * mechanism (auth/sasl.c refuses a message past the end), and its time by
 * SASL_AUTH_TIMEOUT_MS from the accept (the TLS handshake included).
 *
 * PLAIN's check derives the user's keys again (about 10 ms of PBKDF2): it runs on the
 * admin thread, so that many login attempts at once delay topic administration, not
 * every client's produce and fetch. SCRAM's steps are a few hashes and run in place.
 *
 * KIP-368: with connections.max.reauth.ms set, a successful SaslAuthenticate v1+
 * tells the client its session's lifetime; the client authenticates again on the
 * same connection before it ends (same mechanism, same principal), and a connection
 * whose session has ended is closed, at its next request or at the next sweep.
 *
 * On a listener without SASL both requests are answered with ILLEGAL_SASL_STATE, as
 * Kafka answers them there.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "auth/sasl.h"
#include "broker/private.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define SASL_AUTH_TIMEOUT_MS 10000 /* from connecting to authenticated */

enum sasl_state {
    SASL_NEED_HANDSHAKE = 0,
    SASL_NEED_AUTHENTICATE, /* a v1 handshake chose the mechanism */
    SASL_RAW,               /* a v0 handshake: tokens come as bare frames */
};

static bool conn_sasl(const struct conn *c)
{
    return c->lst && broker_security_sasl(c->lst->security);
}

/* Answer what is queued, then close: nothing more is read from c. */
static void sasl_close_after_reply(struct conn *c)
{
    c->closing = true;
    if (c->bev)
        bufferevent_disable(c->bev, EV_READ);
}

static void sasl_reset(struct conn *c)
{
    auth_sasl_free(c->sasl);
    c->sasl = NULL;
    c->sasl_state = SASL_NEED_HANDSHAKE;
}

void sasl_conn_free(struct conn *c)
{
    auth_sasl_free(c->sasl);
    c->sasl = NULL;
}

/* The mechanisms c's listener offers (enum auth_sasl_mech bits). */
static unsigned conn_mechs(const struct conn *c)
{
    ptrdiff_t i = c->lst ? c->lst - c->b->cfg->listeners : -1;
    return i >= 0 && i < BROKER_MAX_LISTENERS ? c->b->sasl_mechs[i] : 0;
}

/* The enabled mechanisms' names, for SaslHandshake's answer. */
static void sasl_list_mechanisms(struct request *rq, struct kafka_sasl_handshake_resp *resp)
{
    static const enum auth_sasl_mech all[] = {AUTH_SASL_PLAIN, AUTH_SASL_SCRAM_SHA_256,
                                              AUTH_SASL_SCRAM_SHA_512};
    resp->mechanisms = pending_calloc(rq->pd, 3, sizeof *resp->mechanisms);
    for (int i = 0; i < 3; i++)
        if (conn_mechs(rq->c) & all[i])
            resp->mechanisms[resp->n_mechanisms++] = kstr_from(auth_sasl_mech_name(all[i]));
}

static int16_t sasl_handshake_check(struct request *rq, enum auth_sasl_mech *mech)
{
    struct conn *c = rq->c;
    const struct kafka_sasl_handshake_req *req = rq->body;
    const char *m = req->mechanism.p ? req->mechanism.p : "";
    size_t n = req->mechanism.len > 0 ? (size_t)req->mechanism.len : 0;
    if (c->sasl_state != SASL_NEED_HANDSHAKE)
        return KAFKA_ILLEGAL_SASL_STATE;
    if (auth_sasl_mech_parse(m, n, mech) < 0 || !(conn_mechs(c) & *mech)) {
        char shown[65]; /* the peer's bytes, printable only, for the log */
        size_t k = n < 64 ? n : 64;
        for (size_t i = 0; i < k; i++)
            shown[i] = m[i] >= 0x20 && m[i] < 0x7f ? m[i] : '?';
        shown[k] = 0;
        log_warn_every("brook.sasl", "closing %s: SASL mechanism %s is not enabled", c->peer,
                       shown);
        return KAFKA_UNSUPPORTED_SASL_MECHANISM;
    }
    /* KIP-368: a session is renewed with its own mechanism, by SaslAuthenticate */
    if (c->authenticated && (rq->version < 1 || *mech != c->sasl_mech))
        return KAFKA_ILLEGAL_SASL_STATE;
    return KAFKA_NONE;
}

void handle_sasl_handshake(struct request *rq)
{
    struct conn *c = rq->c;
    struct kafka_sasl_handshake_resp *resp = response_new(rq);
    enum auth_sasl_mech mech;
    if (!conn_sasl(c)) { /* as Kafka: the error, no mechanisms */
        resp->error_code = KAFKA_ILLEGAL_SASL_STATE;
        request_respond(rq, resp);
        return;
    }
    sasl_list_mechanisms(rq, resp);
    resp->error_code = sasl_handshake_check(rq, &mech);
    if (resp->error_code == KAFKA_NONE) {
        c->sasl = auth_sasl_new(c->b->creds, mech);
        if (!c->sasl)
            xalloc_fail("sasl", sizeof(void *));
        c->sasl_state = rq->version == 0 ? SASL_RAW : SASL_NEED_AUTHENTICATE;
        c->sasl_started_ms = clock_mono_ms();
        if (!c->authenticated)
            c->sasl_mech = (uint8_t)mech;
    } else {
        sasl_close_after_reply(c);
    }
    request_respond(rq, resp);
}

/* The exchange succeeded as user: the connection is that principal's, for a session
 * of connections.max.reauth.ms. 0, or -EPERM when a re-authentication names another
 * principal (Kafka refuses that too). */
static int sasl_succeeded(struct conn *c, const char *user)
{
    char principal[AUTH_PRINCIPAL_MAX];
    snprintf(principal, sizeof principal, "User:%s", user);
    if (c->authenticated && strcmp(principal, c->principal))
        return -EPERM;
    if (!c->authenticated)
        log_info("brook.sasl", "%s authenticated as %s (%s)", c->peer, principal,
                 auth_sasl_mech_name(c->sasl_mech));
    else
        log_debug("brook.sasl", "%s re-authenticated as %s", c->peer, principal);
    memcpy(c->principal, principal, sizeof principal);
    c->authenticated = true;
    c->session_end_ms = c->b->reauth_ms ? clock_mono_ms() + c->b->reauth_ms : 0;
    c->sasl_started_ms = 0;
    return 0;
}

static void sasl_failed(struct conn *c, const char *why)
{
    log_warn_every("brook.sasl", "closing %s: authentication failed (%s): %s", c->peer,
                   auth_sasl_mech_name(c->sasl_mech), why);
    metrics_request(&c->b->metrics, KAFKA_API_SASL_AUTHENTICATE, true);
    sasl_reset(c);
    sasl_close_after_reply(c);
}

/* One step of an exchange: the client's message (in the pending's arena), and
 * what the engine answered. */
struct sasl_step {
    struct auth_sasl *s;
    const uint8_t *in;
    size_t len;
    struct kafka_sasl_authenticate_resp *resp; /* NULL: a bare token (after a v0 handshake) */
    int rc;
    const uint8_t *out;
    size_t out_len;
    const char *why;
};

static void sasl_step_run_now(struct sasl_step *st)
{
    st->rc = auth_sasl_step(st->s, st->in, st->len, &st->out, &st->out_len, &st->why);
}

/* The step's outcome, on the loop thread, into pd: a SaslAuthenticate answer, or a
 * bare token; a failed bare token closes the connection (v0 has no way to say why). */
static void sasl_step_apply(struct conn *c, struct pending *pd, struct sasl_step *st)
{
    int rc = st->rc;
    const char *why = st->why;
    if (rc == 0 && sasl_succeeded(c, auth_sasl_user(st->s)) < 0) {
        why = "Authentication failed: a re-authentication cannot change the principal";
        rc = -EACCES;
    }
    if (rc < 0) {
        sasl_failed(c, why);
        if (st->resp) {
            st->resp->error_code = KAFKA_SASL_AUTHENTICATION_FAILED;
            st->resp->error_message = kstr_from(why);
            pd->resp = st->resp;
        } else {
            pd->noreply = true;
            conn_close(c, "authentication failed");
        }
        return;
    }
    if (st->resp) {
        uint8_t *copy = pending_calloc(pd, st->out_len, 1);
        memcpy(copy, st->out, st->out_len);
        st->resp->auth_bytes = (struct kbytes){copy, (int32_t)st->out_len};
        st->resp->session_lifetime_ms = rc == 0 ? c->b->reauth_ms : 0;
        pd->resp = st->resp;
    } else {
        metrics_request(&c->b->metrics, KAFKA_API_SASL_AUTHENTICATE, false);
        writer_be32(&pd->out.w, (uint32_t)st->out_len);
        writer_bytes(&pd->out.w, st->out, st->out_len);
    }
    if (rc == 0)
        sasl_reset(c);
}

/* The admin thread: PLAIN's one key derivation (about 10 ms) runs there, off the
 * event loop, so that a crowd of login attempts cannot stall every other client. */
static void sasl_step_run(struct broker *b, struct pending *pd, void *ctx)
{
    sasl_step_run_now(ctx);
}

static void sasl_step_done(struct pending *pd)
{
    struct conn *c = pd->c;
    c->admin_busy = false;
    sasl_step_apply(c, pd, pd->ctx);
    conn_resume(c);
    pending_finish(pd);
}

/* Take the step: at once (SCRAM: a few hashes), or on the admin thread (PLAIN). */
static void sasl_step_start(struct request *rq, struct sasl_step *st)
{
    struct conn *c = rq->c;
    st->s = c->sasl;
    if (c->sasl_mech == AUTH_SASL_PLAIN && st->len <= SCRAM_MSG_MAX) {
        admin_submit(rq, sasl_step_run, st);
        rq->pd->on_complete = sasl_step_done;
        rq->pd->ctx = st;
        return;
    }
    sasl_step_run_now(st);
    sasl_step_apply(c, rq->pd, st);
    pending_finish(rq->pd);
}

void handle_sasl_authenticate(struct request *rq)
{
    struct conn *c = rq->c;
    const struct kafka_sasl_authenticate_req *req = rq->body;
    struct kafka_sasl_authenticate_resp *resp = response_new(rq);

    if (!conn_sasl(c) || c->sasl_state != SASL_NEED_AUTHENTICATE) {
        resp->error_code = KAFKA_ILLEGAL_SASL_STATE;
        resp->error_message = KSTR("SaslAuthenticate without a SaslHandshake v1 before it");
        if (conn_sasl(c))
            sasl_close_after_reply(c);
        request_respond(rq, resp);
        return;
    }
    struct sasl_step *st = PENDING_NEW(rq->pd, struct sasl_step, 1);
    size_t n = req->auth_bytes.len > 0 ? (size_t)req->auth_bytes.len : 0;
    st->resp = resp;
    st->len = n;
    if (n <= SCRAM_MSG_MAX) { /* longer ones fail at once; the copy must outlive rq */
        uint8_t *in = pending_calloc(rq->pd, n, 1);
        memcpy(in, req->auth_bytes.p, n);
        st->in = in;
    }
    sasl_step_start(rq, st);
}

bool sasl_raw_expected(const struct conn *c)
{
    return c->sasl_state == SASL_RAW;
}

/* A bare token after a v0 handshake: answered with a bare token, or (as Kafka does
 * when there is no way to say why) by closing the connection. */
void sasl_raw_token(struct conn *c, struct pending *pd, const uint8_t *p, size_t len)
{
    struct request rq = {.c = c, .pd = pd};
    struct sasl_step *st = PENDING_NEW(pd, struct sasl_step, 1);
    st->len = len;
    if (len <= SCRAM_MSG_MAX) {
        uint8_t *in = pending_calloc(pd, len, 1);
        memcpy(in, p, len);
        st->in = in;
    }
    sasl_step_start(&rq, st);
}

bool sasl_gate(struct conn *c, int16_t api_key)
{
    if (!conn_sasl(c) || api_key == KAFKA_API_API_VERSIONS || api_key == KAFKA_API_SASL_HANDSHAKE ||
        api_key == KAFKA_API_SASL_AUTHENTICATE)
        return true;
    if (!c->authenticated) {
        log_warn_every("brook.sasl", "closing %s: api %d before SASL authentication", c->peer,
                       api_key);
        conn_close(c, "request before authentication");
        return false;
    }
    if (c->session_end_ms && clock_mono_ms() >= c->session_end_ms) {
        log_info("brook.sasl", "closing %s: its session (connections.max.reauth.ms) has ended",
                 c->peer);
        conn_close(c, "session ended");
        return false;
    }
    return true;
}

const char *sasl_sweep(struct conn *c, int64_t now_ms)
{
    if (!conn_sasl(c))
        return NULL;
    /* a refused peer that does not read its answer does not keep the connection */
    if (c->closing && now_ms - c->last_active_ms > SASL_AUTH_TIMEOUT_MS)
        return "answer after a failed authentication not taken";
    if (c->authenticated && c->session_end_ms && now_ms >= c->session_end_ms)
        return "session ended without re-authentication";
    if (c->authenticated && !c->sasl)
        return NULL;
    /* the first exchange counts from the accept, a re-authentication from its handshake */
    int64_t since = c->authenticated ? c->sasl_started_ms : c->accepted_ms;
    if (now_ms - since > SASL_AUTH_TIMEOUT_MS)
        return "SASL authentication not completed in time";
    return NULL;
}
