/*
 * sasl.c - the client's side of SASL: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.
 *
 * After ApiVersions, a connection with security.protocol sasl_plaintext or
 * sasl_ssl sends SaslHandshake v1 naming sasl.mechanism, then the mechanism's
 * messages, each in a SaslAuthenticate request (never the raw frames of
 * SaslHandshake v0). PLAIN is one message, "\0user\0password". SCRAM (RFC 5802)
 * is three: client-first with a fresh nonce; client-final with the proof
 * derived from the broker's salt and iteration count (lib/scram.h parses the
 * broker's messages, and bounds the count before any hashing); then the
 * broker's signature is checked, so a broker that does not know the password's
 * keys cannot pass as the real one (BROOK_ERR_SASL).
 *
 * The broker's refusal is the connection's error (SASL_AUTHENTICATION_FAILED,
 * UNSUPPORTED_SASL_MECHANISM), which fails what the connection carried and
 * reaches the caller as any connection error does. A session lifetime in the
 * answer (SaslAuthenticate v1+, KIP-368) schedules re-authentication at 85 to 95
 * per cent of it, as Kafka's Java client does (earlier when that leaves too little
 * room for a long poll in flight), so that the broker never has to close the
 * connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "client/private.h"
#include "lib/scram.h"
#include "proto/kafka_errors.h"

#define NONCE_LEN        32
#define REAUTH_MARGIN_MS 250 /* for the exchange's round trips and key derivation */

enum sasl_step { STEP_HANDSHAKE, STEP_PLAIN, STEP_SCRAM_FIRST, STEP_SCRAM_FINAL };

struct sasl_state {
    enum sasl_step step;
    enum scram_mech mech;
    char nonce[NONCE_LEN + 1];
    char first_bare[SCRAM_MSG_MAX]; /* client-first-message-bare, for AuthMessage */
    size_t first_bare_len;
    uint8_t server_sig[SCRAM_KEY_MAX]; /* what the broker's final message must carry */
};

void conn_sasl_free(struct conn *k)
{
    if (k->sasl)
        OPENSSL_clear_free(k->sasl, sizeof *k->sasl);
    k->sasl = NULL;
}

static const char *mech_name(int m)
{
    return m == SASL_SCRAM_SHA_256   ? "SCRAM-SHA-256"
           : m == SASL_SCRAM_SHA_512 ? "SCRAM-SHA-512"
                                     : "PLAIN";
}

static void sasl_fail(struct conn *k, int err)
{
    conn_sasl_free(k);
    conn_fail(k, err);
}

static void on_authenticate(struct brook_client *c, struct req *rq, int err, struct resp *rs);

/* Send bytes in a SaslAuthenticate request. */
static void send_auth_bytes(struct conn *k, const void *p, size_t n)
{
    struct req *rq = req_new(KAFKA_API_SASL_AUTHENTICATE, on_authenticate, NULL);
    void *copy = rq ? arena_alloc(&rq->arena, n ? n : 1) : NULL;
    if (!copy) {
        req_free(rq);
        sasl_fail(k, -ENOMEM);
        return;
    }
    memcpy(copy, p, n);
    struct kafka_sasl_authenticate_req *b = rq->body;
    b->auth_bytes = (struct kbytes){copy, (int32_t)n};
    conn_send_handshake(k, rq);
}

/* ---- PLAIN ---- */

static void plain_send(struct conn *k)
{
    const struct client_conf *cf = &k->c->conf;
    size_t ul = strlen(cf->sasl_username), pl = strlen(cf->sasl_password);
    size_t n = ul + pl + 2;
    char *msg = malloc(n);
    if (!msg) {
        sasl_fail(k, -ENOMEM);
        return;
    }
    msg[0] = 0; /* no authorization id: act as the user authenticated */
    memcpy(msg + 1, cf->sasl_username, ul);
    msg[1 + ul] = 0;
    memcpy(msg + 2 + ul, cf->sasl_password, pl);
    k->sasl->step = STEP_PLAIN;
    send_auth_bytes(k, msg, n);
    OPENSSL_clear_free(msg, n);
}

/* ---- SCRAM ---- */

/* "n=" and the user name with ',' and '=' escaped as RFC 5802's saslname. */
static int scram_put_user(char *out, size_t size, const char *user)
{
    size_t o = 0;
    for (const char *p = user; *p; p++) {
        const char *rep = *p == ',' ? "=2C" : *p == '=' ? "=3D" : NULL;
        size_t n = rep ? 3 : 1;
        if (o + n >= size)
            return -EINVAL;
        memcpy(out + o, rep ? rep : p, n);
        o += n;
    }
    out[o] = 0;
    return (int)o;
}

static void scram_send_first(struct conn *k)
{
    struct sasl_state *s = k->sasl;
    char user[SCRAM_MSG_MAX / 2];
    char msg[SCRAM_MSG_MAX];
    if (scram_put_user(user, sizeof user, k->c->conf.sasl_username) < 0 ||
        scram_nonce(s->nonce, NONCE_LEN)) {
        sasl_fail(k, BROOK_ERR_CONFIG);
        return;
    }
    int n = snprintf(s->first_bare, sizeof s->first_bare, "n=%s,r=%s", user, s->nonce);
    if (n < 0 || (size_t)n >= sizeof s->first_bare) {
        sasl_fail(k, BROOK_ERR_CONFIG);
        return;
    }
    s->first_bare_len = (size_t)n;
    n = snprintf(msg, sizeof msg, "n,,%s", s->first_bare); /* no channel binding, no authzid */
    s->step = STEP_SCRAM_FIRST;
    send_auth_bytes(k, msg, (size_t)n);
}

/* The client-final-message for the broker's server-first (RFC 5802 section 3):
 * ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage); keeps the broker's
 * expected signature HMAC(ServerKey, AuthMessage). 0 or -EINVAL / -ENOMEM. */
static int scram_final(struct conn *k, const struct kbytes *in, char *out, size_t out_size,
                       size_t *out_len)
{
    struct sasl_state *s = k->sasl;
    const struct client_conf *cf = &k->c->conf;
    size_t klen = scram_key_len(s->mech);
    if (in->len < 0 || in->len > SCRAM_MSG_MAX) /* bounded before anything is allocated */
        return -EINVAL;
    char *buf = malloc((size_t)in->len + 1);
    char *auth = malloc(3 * SCRAM_MSG_MAX);
    uint8_t client_key[SCRAM_KEY_MAX], stored_key[SCRAM_KEY_MAX], server_key[SCRAM_KEY_MAX];
    uint8_t sig[SCRAM_KEY_MAX], proof[SCRAM_KEY_MAX];
    struct scram_server_first sf;
    int rc = -ENOMEM;
    if (!buf || !auth)
        goto out;
    rc = -EINVAL;
    /* the broker's nonce must extend ours, or this is not an answer to our first */
    if (scram_parse_server_first(in->p, (size_t)in->len, buf, &sf) ||
        strncmp(sf.nonce, s->nonce, NONCE_LEN) || strlen(sf.nonce) <= NONCE_LEN)
        goto out;
    if (scram_derive(s->mech, cf->sasl_password, strlen(cf->sasl_password), sf.salt, sf.salt_len,
                     sf.iterations, client_key, stored_key, server_key))
        goto out;
    int wn = snprintf(out, out_size, "c=biws,r=%s", sf.nonce);
    int an = snprintf(auth, 3 * SCRAM_MSG_MAX, "%.*s,%.*s,%s", (int)s->first_bare_len,
                      s->first_bare, (int)in->len, in->p, out);
    if (wn < 0 || (size_t)wn >= out_size || an < 0 || an >= 3 * SCRAM_MSG_MAX)
        goto out;
    if (scram_hmac(s->mech, stored_key, klen, auth, (size_t)an, sig) ||
        scram_hmac(s->mech, server_key, klen, auth, (size_t)an, s->server_sig))
        goto out;
    for (size_t i = 0; i < klen; i++)
        proof[i] = client_key[i] ^ sig[i];
    size_t b64 = 4 * ((klen + 2) / 3);
    if ((size_t)wn + 3 + b64 + 1 > out_size)
        goto out;
    memcpy(out + wn, ",p=", 3);
    EVP_EncodeBlock((unsigned char *)out + wn + 3, proof, (int)klen);
    *out_len = (size_t)wn + 3 + b64;
    rc = 0;
out:
    OPENSSL_cleanse(client_key, sizeof client_key);
    OPENSSL_cleanse(stored_key, sizeof stored_key);
    OPENSSL_cleanse(server_key, sizeof server_key);
    free(buf);
    free(auth);
    return rc;
}

static void scram_send_final(struct conn *k, const struct kbytes *server_first)
{
    char msg[SCRAM_MSG_MAX];
    size_t n = 0;
    int rc = scram_final(k, server_first, msg, sizeof msg, &n);
    if (rc) {
        sasl_fail(k, rc == -ENOMEM ? rc : BROOK_ERR_PROTOCOL);
        return;
    }
    k->sasl->step = STEP_SCRAM_FINAL;
    send_auth_bytes(k, msg, n);
}

/* The broker's server-final: its signature must be the one we computed. */
static int scram_verify(struct conn *k, const struct kbytes *in)
{
    uint8_t sig[SCRAM_KEY_MAX];
    size_t sig_len = 0;
    if (in->len < 0 || in->len > SCRAM_MSG_MAX)
        return BROOK_ERR_PROTOCOL;
    char *buf = malloc((size_t)in->len + 1);
    if (!buf)
        return -ENOMEM;
    int rc = scram_parse_server_final(in->p, (size_t)in->len, buf, sig, &sig_len);
    free(buf);
    if (rc == -EACCES)
        return brook_err_kafka(KAFKA_SASL_AUTHENTICATION_FAILED);
    if (rc || sig_len != scram_key_len(k->sasl->mech) ||
        CRYPTO_memcmp(sig, k->sasl->server_sig, sig_len))
        return BROOK_ERR_SASL;
    return 0;
}

/* ---- the exchange ---- */

/* When to re-authenticate in a session of lifetime ms: at 85 to 95 per cent of it,
 * but early enough that a long-poll Fetch in flight (which the exchange waits
 * for) and the exchange's round trips still end inside it. */
static int64_t reauth_delay(struct brook_client *c, int64_t lifetime)
{
    int64_t at = lifetime * (85 + (int64_t)(client_rand(c) % 11)) / 100;
    int64_t latest = lifetime - c->conf.fetch_max_wait_ms - REAUTH_MARGIN_MS;
    if (at > latest)
        at = latest > lifetime / 2 ? latest : lifetime / 2;
    return at > 0 ? at : 1;
}

/* The broker accepted: schedule re-authentication within the session's lifetime. */
static void sasl_done(struct conn *k, int64_t lifetime_ms)
{
    struct brook_client *c = k->c;
    conn_sasl_free(k);
    k->reauth_at = lifetime_ms > 0 ? c->now + reauth_delay(c, lifetime_ms) : 0;
    conn_set_ready(k);
}

static void on_authenticate(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct conn *k = rq->conn;
    if (err || !k->sasl)
        return; /* the connection has failed already */
    const struct kafka_sasl_authenticate_resp *r = rs->body;
    if (r->error_code) {
        sasl_fail(k, kerr(r->error_code));
        return;
    }
    int64_t lifetime = rs->version >= 1 ? r->session_lifetime_ms : 0;
    switch (k->sasl->step) {
    case STEP_SCRAM_FIRST: scram_send_final(k, &r->auth_bytes); return;
    case STEP_SCRAM_FINAL:
        if ((err = scram_verify(k, &r->auth_bytes))) {
            sasl_fail(k, err);
            return;
        }
        sasl_done(k, lifetime);
        return;
    case STEP_PLAIN: sasl_done(k, lifetime); return;
    case STEP_HANDSHAKE: sasl_fail(k, BROOK_ERR_PROTOCOL); return;
    }
}

static void on_handshake(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct conn *k = rq->conn;
    if (err || !k->sasl)
        return;
    const struct kafka_sasl_handshake_resp *r = rs->body;
    if (r->error_code) {
        sasl_fail(k, kerr(r->error_code));
        return;
    }
    if (c->conf.sasl_mech == SASL_PLAIN)
        plain_send(k);
    else
        scram_send_first(k);
}

void conn_sasl_start(struct conn *k)
{
    struct brook_client *c = k->c;
    const struct client_conf *cf = &c->conf;
    k->phase = PHASE_SASL;
    if (!cf->sasl_username || !cf->sasl_password) {
        conn_fail(k, BROOK_ERR_CONFIG);
        return;
    }
    if (!conn_speaks(k, KAFKA_API_SASL_HANDSHAKE) || !conn_speaks(k, KAFKA_API_SASL_AUTHENTICATE)) {
        conn_fail(k, BROOK_ERR_VERSION);
        return;
    }
    conn_sasl_free(k);
    if (!(k->sasl = calloc(1, sizeof *k->sasl))) {
        conn_fail(k, -ENOMEM);
        return;
    }
    k->sasl->step = STEP_HANDSHAKE;
    k->sasl->mech = cf->sasl_mech == SASL_SCRAM_SHA_512 ? SCRAM_SHA_512 : SCRAM_SHA_256;
    struct req *rq = req_new(KAFKA_API_SASL_HANDSHAKE, on_handshake, NULL);
    int rc = 0;
    if (rq)
        ((struct kafka_sasl_handshake_req *)rq->body)->mechanism =
            req_str(rq, mech_name(cf->sasl_mech), &rc);
    if (!rq || rc) {
        req_free(rq);
        sasl_fail(k, -ENOMEM);
        return;
    }
    conn_send_handshake(k, rq);
}
