/*
 * sasl.c - the server side of PLAIN (RFC 4616) and SCRAM (RFC 5802) over the
 * credential store.
 *
 * PLAIN is one message, "authzid NUL user NUL password", checked with
 * auth_creds_check_password (one key derivation: the cost is bounded because a
 * connection gets one attempt). SCRAM is two: client-first (answered with the salt,
 * the iteration count and the server's half of the nonce) and client-final (the
 * proof, answered with the server's signature). The proof is checked as RFC 5802
 * says, H(proof XOR HMAC(StoredKey, AuthMessage)) == StoredKey, so the broker never
 * sees or derives the password.
 *
 * An unknown user is not told so at the first message: it gets a salt that is a
 * keyed hash of its name (the same every time, as a real user's is) and the default
 * iteration count, and fails at the proof like a wrong password. A probe thus
 * learns nothing about which users exist.
 *
 * Every step is bounded before work: a message longer than SCRAM_MSG_MAX, a second
 * message after the end, or a message in the wrong order ends the exchange.
 */
#include "auth/sasl.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define SNONCE_LEN 32 /* the server's half of the nonce */
#define FAKE_KEY   32 /* bytes of the key that salts unknown users */

enum sasl_phase { PHASE_FIRST, PHASE_FINAL, PHASE_DONE };

struct auth_sasl {
    struct auth_creds *cs;
    enum auth_sasl_mech mech;
    enum sasl_phase phase;
    char user[AUTH_USER_MAX + 1];
    struct auth_scram_cred cred;
    bool cred_real; /* false: the stand-in of an unknown user */
    char *bare;     /* client-first-message-bare, for the AuthMessage */
    size_t bare_len;
    char server_first[2 * SCRAM_NONCE_MAX + 2 * SCRAM_SALT_MAX + 32];
    size_t server_first_len;
    char nonce[2 * SCRAM_NONCE_MAX + 1]; /* the client's and the server's */
    uint8_t reply[SCRAM_MSG_MAX];
};

int auth_sasl_mech_parse(const char *name, size_t len, enum auth_sasl_mech *out)
{
    static const struct {
        const char *name;
        int mech; /* 0: known to Kafka, not offered by brook */
    } names[] = {
        {"PLAIN", AUTH_SASL_PLAIN},
        {"SCRAM-SHA-256", AUTH_SASL_SCRAM_SHA_256},
        {"SCRAM-SHA-512", AUTH_SASL_SCRAM_SHA_512},
        {"GSSAPI", 0},
        {"OAUTHBEARER", 0},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) != len || memcmp(names[i].name, name, len))
            continue;
        if (!names[i].mech)
            return -ENOTSUP;
        *out = (enum auth_sasl_mech)names[i].mech;
        return 0;
    }
    return -EINVAL;
}

const char *auth_sasl_mech_name(enum auth_sasl_mech m)
{
    switch (m) {
    case AUTH_SASL_PLAIN: return "PLAIN";
    case AUTH_SASL_SCRAM_SHA_256: return "SCRAM-SHA-256";
    case AUTH_SASL_SCRAM_SHA_512: return "SCRAM-SHA-512";
    }
    return "?";
}

struct auth_sasl *auth_sasl_new(struct auth_creds *cs, enum auth_sasl_mech m)
{
    struct auth_sasl *s = calloc(1, sizeof *s);
    if (s) {
        s->cs = cs;
        s->mech = m;
    }
    return s;
}

void auth_sasl_free(struct auth_sasl *s)
{
    if (!s)
        return;
    if (s->bare)
        OPENSSL_cleanse(s->bare, s->bare_len);
    free(s->bare);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

const char *auth_sasl_user(const struct auth_sasl *s)
{
    return s->user;
}

/* ---- PLAIN ------------------------------------------------------------------------- */

static int plain_step(struct auth_sasl *s, const uint8_t *in, size_t len, const char **why)
{
    const uint8_t *nul1 = memchr(in, 0, len);
    const uint8_t *nul2 = nul1 ? memchr(nul1 + 1, 0, len - (size_t)(nul1 + 1 - in)) : NULL;
    size_t zlen, ulen, plen;
    *why = "Authentication failed: invalid username or password";
    if (!nul1 || !nul2)
        return -EACCES;
    zlen = (size_t)(nul1 - in);
    ulen = (size_t)(nul2 - nul1 - 1);
    plen = len - (size_t)(nul2 + 1 - in);
    if (ulen == 0 || ulen > AUTH_USER_MAX || plen == 0 || memchr(nul2 + 1, 0, plen))
        return -EACCES;
    memcpy(s->user, nul1 + 1, ulen);
    s->user[ulen] = 0;
    if (zlen && (zlen != ulen || memcmp(in, s->user, ulen))) {
        *why = "Authentication failed: the authorization id is not the user";
        return -EACCES;
    }
    if (!auth_creds_check_password(s->cs, s->user, (const char *)(nul2 + 1), plen))
        return -EACCES;
    return 0;
}

/* ---- SCRAM --------------------------------------------------------------------------- */

static enum scram_mech scram_of(enum auth_sasl_mech m)
{
    return m == AUTH_SASL_SCRAM_SHA_512 ? SCRAM_SHA_512 : SCRAM_SHA_256;
}

static uint8_t fake_key[FAKE_KEY];
static pthread_once_t fake_once = PTHREAD_ONCE_INIT;

static void fake_key_init(void)
{
    /* without randomness the stand-in salts are still stable, only predictable: they
     * hide whether a user exists from a probe that does not know brook's source */
    if (RAND_bytes(fake_key, sizeof fake_key) != 1)
        memset(fake_key, 0x5a, sizeof fake_key);
}

/* The stand-in credential of an unknown user: a stable salt, no key that any proof
 * can match. */
static void scram_fake_cred(struct auth_sasl *s)
{
    struct auth_scram_cred *c = &s->cred;
    pthread_once(&fake_once, fake_key_init);
    memset(c, 0, sizeof *c);
    c->mech = scram_of(s->mech);
    c->iterations = SCRAM_ITER_DEF;
    c->salt_len = 32; /* as long as the salts cred.c draws */
    scram_hmac(c->mech, fake_key, sizeof fake_key, s->user, strlen(s->user), c->salt);
    RAND_bytes(c->stored_key, sizeof c->stored_key);
    s->cred_real = false;
}

static int scram_first(struct auth_sasl *s, const uint8_t *in, size_t len, size_t *out_len,
                       const char **why)
{
    char buf[SCRAM_MSG_MAX + 1], snonce[SNONCE_LEN + 1], salt64[2 * SCRAM_SALT_MAX];
    struct scram_client_first cf;
    enum scram_mech m = scram_of(s->mech);

    *why = "Authentication failed: malformed SCRAM client-first-message";
    if (scram_parse_client_first(in, len, buf, &cf) < 0 || strlen(cf.user) > AUTH_USER_MAX)
        return -EACCES;
    if (cf.token_auth) {
        *why = "Authentication failed: delegation tokens are not supported";
        return -EACCES;
    }
    snprintf(s->user, sizeof s->user, "%s", cf.user);
    if (auth_creds_get(s->cs, s->user, m, &s->cred) == 0)
        s->cred_real = true;
    else
        scram_fake_cred(s);
    if (!(s->bare = malloc(cf.bare_len ? cf.bare_len : 1)))
        return -ENOMEM;
    memcpy(s->bare, cf.bare, cf.bare_len);
    s->bare_len = cf.bare_len;
    if (scram_nonce(snonce, SNONCE_LEN) < 0)
        return -EIO;
    snprintf(s->nonce, sizeof s->nonce, "%s%s", cf.nonce, snonce);
    EVP_EncodeBlock((unsigned char *)salt64, s->cred.salt, (int)s->cred.salt_len);
    int n = snprintf(s->server_first, sizeof s->server_first, "r=%s,s=%s,i=%d", s->nonce, salt64,
                     (int)s->cred.iterations);
    if (n < 0 || (size_t)n >= sizeof s->server_first)
        return -EACCES;
    s->server_first_len = (size_t)n;
    memcpy(s->reply, s->server_first, s->server_first_len);
    *out_len = s->server_first_len;
    return 1;
}

/* Whether the client-final's nonce carries the exchange's. RFC 5802 wants them
 * equal; librdkafka sends its own nonce again in front of the server's whole one,
 * and Kafka accepts any nonce that ends with its own, so brook does too (the proof
 * covers the nonce as sent either way). */
static bool scram_nonce_echoed(const char *got, const char *want)
{
    size_t g = strlen(got), w = strlen(want);
    return g >= w && memcmp(got + g - w, want, w) == 0;
}

/* AuthMessage = client-first-message-bare "," server-first-message ","
 * client-final-message-without-proof, into am (SCRAM_MSG_MAX * 3 bytes). */
static size_t scram_auth_message(const struct auth_sasl *s, const struct scram_client_final *f,
                                 char *am)
{
    size_t n = 0;
    memcpy(am + n, s->bare, s->bare_len);
    n += s->bare_len;
    am[n++] = ',';
    memcpy(am + n, s->server_first, s->server_first_len);
    n += s->server_first_len;
    am[n++] = ',';
    memcpy(am + n, f->without_proof, f->without_proof_len);
    return n + f->without_proof_len;
}

static int scram_final(struct auth_sasl *s, const uint8_t *in, size_t len, size_t *out_len,
                       const char **why)
{
    char buf[SCRAM_MSG_MAX + 1], am[3 * SCRAM_MSG_MAX];
    struct scram_client_final f;
    enum scram_mech m = s->cred.mech;
    size_t kl = scram_key_len(m);
    uint8_t sig[SCRAM_KEY_MAX], key[SCRAM_KEY_MAX], h[SCRAM_KEY_MAX];
    int rc = -EACCES;

    *why = "Authentication failed: malformed SCRAM client-final-message";
    if (scram_parse_client_final(in, len, buf, &f) < 0 || !scram_nonce_echoed(f.nonce, s->nonce) ||
        f.proof_len != kl)
        return -EACCES;
    *why = "Authentication failed: invalid username or password";
    size_t amn = scram_auth_message(s, &f, am);
    if (scram_hmac(m, s->cred.stored_key, kl, am, amn, sig) < 0)
        goto cleanup;
    for (size_t i = 0; i < kl; i++)
        key[i] = f.proof[i] ^ sig[i];
    if (scram_hash(m, key, kl, h) < 0 || CRYPTO_memcmp(h, s->cred.stored_key, kl) != 0 ||
        !s->cred_real)
        goto cleanup;
    if (scram_hmac(m, s->cred.server_key, kl, am, amn, sig) < 0)
        goto cleanup;
    memcpy(s->reply, "v=", 2);
    *out_len = 2 + (size_t)EVP_EncodeBlock(s->reply + 2, sig, (int)kl);
    rc = 0;
cleanup:
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

/* ---- the exchange ---------------------------------------------------------------------- */

int auth_sasl_step(struct auth_sasl *s, const void *in, size_t len, const uint8_t **out,
                   size_t *out_len, const char **why)
{
    enum sasl_phase at = s->phase;
    int rc;

    *out = s->reply;
    *out_len = 0;
    s->phase = PHASE_DONE; /* whatever happens, this message is used up */
    if (len > SCRAM_MSG_MAX) {
        *why = "Authentication failed: message too long";
        return -EACCES;
    }
    if (at == PHASE_DONE) {
        *why = "Authentication failed: the exchange has ended";
        return -EACCES;
    }
    if (s->mech == AUTH_SASL_PLAIN)
        return plain_step(s, in, len, why);
    rc = at == PHASE_FIRST ? scram_first(s, in, len, out_len, why)
                           : scram_final(s, in, len, out_len, why);
    if (rc == 1)
        s->phase = PHASE_FINAL;
    if (rc < 0 && rc != -EACCES) {
        *why = "Authentication failed: the broker could not complete the exchange";
        rc = -EACCES;
    }
    return rc;
}
