/*
 * scram.c - SCRAM-SHA-256/512 (RFC 5802, RFC 7677): key derivation and the four
 * messages' grammar.
 *
 * The parsers walk a message attribute by attribute ("x=value" separated by ','),
 * each in the order RFC 5802 section 7 fixes, and refuse anything the grammar does
 * not allow rather than guess: a mandatory extension ("m="), channel binding
 * ("p=", brook offers no -PLUS mechanism), a saslname with a bare '=', base64 that
 * is not canonical, an iteration count outside Kafka's bounds. The bounds come
 * first: a message longer than SCRAM_MSG_MAX is refused before it is read, and an
 * iteration count is checked before any hashing, so a peer cannot buy work.
 *
 * Strings are copied into the caller's buffer and NUL-terminated there; the two
 * spans the AuthMessage needs whole (client-first-message-bare and
 * client-final-message-without-proof) point into the message itself.
 */
#include "lib/scram.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static const EVP_MD *scram_md(enum scram_mech m)
{
    switch (m) {
    case SCRAM_SHA_256: return EVP_sha256();
    case SCRAM_SHA_512: return EVP_sha512();
    }
    return NULL;
}

int scram_mech_parse(const char *name, enum scram_mech *out)
{
    if (!strcmp(name, "SCRAM-SHA-256"))
        *out = SCRAM_SHA_256;
    else if (!strcmp(name, "SCRAM-SHA-512"))
        *out = SCRAM_SHA_512;
    else
        return -EINVAL;
    return 0;
}

const char *scram_mech_name(enum scram_mech m)
{
    return m == SCRAM_SHA_512 ? "SCRAM-SHA-512" : m == SCRAM_SHA_256 ? "SCRAM-SHA-256" : "?";
}

size_t scram_key_len(enum scram_mech m)
{
    return m == SCRAM_SHA_512 ? 64 : 32;
}

int scram_hmac(enum scram_mech m, const uint8_t *key, size_t key_len, const void *msg,
               size_t msg_len, uint8_t *out)
{
    const EVP_MD *md = scram_md(m);
    unsigned int n = 0;
    if (!md || key_len > 0x7fffffff)
        return -EINVAL;
    if (!HMAC(md, key, (int)key_len, msg, msg_len, out, &n) || n != scram_key_len(m))
        return -EINVAL;
    return 0;
}

int scram_hash(enum scram_mech m, const void *msg, size_t msg_len, uint8_t *out)
{
    const EVP_MD *md = scram_md(m);
    unsigned int n = 0;
    if (!md || !EVP_Digest(msg, msg_len, out, &n, md, NULL) || n != scram_key_len(m))
        return -EINVAL;
    return 0;
}

/* Iterations below 1 mean nothing and above the maximum are work a peer could ask
 * for; the derivation refuses both (the parsers hold the tighter Kafka minimum). */
int scram_derive(enum scram_mech m, const char *password, size_t password_len, const uint8_t *salt,
                 size_t salt_len, int32_t iterations, uint8_t *client_key, uint8_t *stored_key,
                 uint8_t *server_key)
{
    const EVP_MD *md = scram_md(m);
    size_t kl = scram_key_len(m);
    uint8_t salted[SCRAM_KEY_MAX], ck[SCRAM_KEY_MAX];
    int rc = -EINVAL;

    if (!md || iterations < 1 || iterations > SCRAM_ITER_MAX || salt_len > SCRAM_SALT_MAX ||
        password_len > SCRAM_MSG_MAX)
        return -EINVAL;
    if (!PKCS5_PBKDF2_HMAC(password, (int)password_len, salt, (int)salt_len, iterations, md,
                           (int)kl, salted))
        goto cleanup;
    if (scram_hmac(m, salted, kl, "Client Key", 10, ck) < 0)
        goto cleanup;
    if (client_key)
        memcpy(client_key, ck, kl);
    if (stored_key && scram_hash(m, ck, kl, stored_key) < 0)
        goto cleanup;
    if (server_key && scram_hmac(m, salted, kl, "Server Key", 10, server_key) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    OPENSSL_cleanse(salted, sizeof salted);
    OPENSSL_cleanse(ck, sizeof ck);
    return rc;
}

/* Printable ASCII but ',' (RFC 5802's nonce), drawn without bias: 64 symbols. */
static const char nonce_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int scram_nonce(char *out, size_t len)
{
    uint8_t raw[SCRAM_NONCE_MAX];
    if (len == 0 || len > SCRAM_NONCE_MAX)
        return -EINVAL;
    if (RAND_bytes(raw, (int)len) != 1)
        return -EIO;
    for (size_t i = 0; i < len; i++)
        out[i] = nonce_chars[raw[i] & 63];
    out[len] = 0;
    return 0;
}

/* ---- base64, strict ------------------------------------------------------------------ */

static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode s[0, n) into out (at most cap bytes): the length, or -EINVAL for anything
 * but canonical padded base64 (length a multiple of 4, '=' only at the end, unused
 * bits zero) or more than cap bytes. */
static int b64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
    size_t o = 0;
    if (n == 0 || n % 4)
        return -EINVAL;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            uint8_t c = (uint8_t)s[i + k];
            if (c == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad || (v[k] = b64_value(c)) < 0)
                return -EINVAL;
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
            return -EINVAL;
        if (o + 3 - (size_t)pad > cap)
            return -EINVAL;
        out[o++] = (uint8_t)(w >> 16);
        if (pad < 2)
            out[o++] = (uint8_t)(w >> 8);
        if (pad < 1)
            out[o++] = (uint8_t)w;
    }
    return (int)o;
}

/* ---- the attribute walk ------------------------------------------------------------ */

/* A cursor over one message: attributes are "a=value" up to the next ','. */
struct scan {
    const char *p;
    size_t len, off;
};

/* The next attribute, if its letter is want: its value in (*v, *vn). */
static bool scan_attr(struct scan *s, char want, const char **v, size_t *vn)
{
    if (s->off + 2 > s->len || s->p[s->off] != want || s->p[s->off + 1] != '=')
        return false;
    size_t start = s->off + 2, end = start;
    while (end < s->len && s->p[end] != ',')
        end++;
    *v = s->p + start;
    *vn = end - start;
    s->off = end;
    return true;
}

/* Past the ',' between attributes; false at the end of the message. */
static bool scan_comma(struct scan *s)
{
    if (s->off >= s->len || s->p[s->off] != ',')
        return false;
    s->off++;
    return true;
}

static bool scan_done(const struct scan *s)
{
    return s->off == s->len;
}

/* An attribute letter as RFC 5802 writes them: ALPHA. */
static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A nonce: printable ASCII but ',' (which the walk already stops at), 1..cap bytes. */
static int nonce_copy(const char *v, size_t n, size_t cap, char **buf, const char **out)
{
    if (n == 0 || n > cap)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x21 || v[i] > 0x7e)
            return -EINVAL;
    memcpy(*buf, v, n);
    (*buf)[n] = 0;
    *out = *buf;
    *buf += n + 1;
    return 0;
}

/* A saslname: "=2C" is ',', "=3D" is '=', any other '=' (or a NUL) is an error. */
static int saslname_copy(const char *v, size_t n, char **buf, const char **out)
{
    char *d = *buf;
    size_t o = 0;
    if (n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == 0)
            return -EINVAL;
        if (v[i] != '=') {
            d[o++] = v[i];
            continue;
        }
        if (i + 2 >= n)
            return -EINVAL;
        if (v[i + 1] == '2' && v[i + 2] == 'C')
            d[o++] = ',';
        else if (v[i + 1] == '3' && v[i + 2] == 'D')
            d[o++] = '=';
        else
            return -EINVAL;
        i += 2;
    }
    d[o] = 0;
    *out = d;
    *buf += o + 1;
    return 0;
}

/* Extensions after the mandatory attributes: ",x=value" each, x a letter run (Kafka's
 * "tokenauth=true" is one). Sets *token_auth when that one says true. */
static int scan_extensions(struct scan *s, int *token_auth)
{
    while (scan_comma(s)) {
        size_t k = s->off;
        while (k < s->len && is_alpha(s->p[k]))
            k++;
        if (k == s->off || k >= s->len || s->p[k] != '=')
            return -EINVAL;
        size_t end = k + 1;
        while (end < s->len && s->p[end] != ',')
            end++;
        if (token_auth && k - s->off == 9 && !memcmp(s->p + s->off, "tokenauth", 9))
            *token_auth = end - k - 1 == 4 && !memcmp(s->p + k + 1, "true", 4);
        s->off = end;
    }
    return scan_done(s) ? 0 : -EINVAL;
}

/* A decimal iteration count within Kafka's bounds, no sign or leading zero. */
static int iterations_parse(const char *v, size_t n, int32_t *out)
{
    int64_t x = 0;
    if (n == 0 || n > 6 || v[0] == '0')
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -EINVAL;
        x = x * 10 + (v[i] - '0');
    }
    if (x < SCRAM_ITER_MIN || x > SCRAM_ITER_MAX)
        return -EINVAL;
    *out = (int32_t)x;
    return 0;
}

/* ---- the four messages -------------------------------------------------------------- */

/* gs2-header: ("n" / "y") "," [ "a=" saslname ] ",". "p=" (channel binding that
 * brook would have to honour) is refused. The authzid, if any, into *authzid. */
static int gs2_parse(struct scan *s, char **buf, const char **authzid)
{
    const char *v;
    size_t vn;
    *authzid = NULL;
    if (s->len < 3 || (s->p[0] != 'n' && s->p[0] != 'y') || s->p[1] != ',')
        return -EINVAL;
    s->off = 2;
    if (scan_attr(s, 'a', &v, &vn) && saslname_copy(v, vn, buf, authzid) < 0)
        return -EINVAL;
    return scan_comma(s) ? 0 : -EINVAL;
}

int scram_parse_client_first(const void *msg, size_t len, char *buf, struct scram_client_first *out)
{
    struct scan s = {msg, len, 0};
    const char *v, *authzid;
    size_t vn;

    memset(out, 0, sizeof *out);
    if (len > SCRAM_MSG_MAX || gs2_parse(&s, &buf, &authzid) < 0)
        return -EINVAL;
    out->bare = s.p + s.off;
    out->bare_len = len - s.off;
    /* "m=" would be a mandatory extension brook does not know */
    if (!scan_attr(&s, 'n', &v, &vn) || saslname_copy(v, vn, &buf, &out->user) < 0)
        return -EINVAL;
    /* an authorization id other than the user is a request to act as someone else */
    if (authzid && strcmp(authzid, out->user))
        return -EINVAL;
    if (!scan_comma(&s) || !scan_attr(&s, 'r', &v, &vn) ||
        nonce_copy(v, vn, SCRAM_NONCE_MAX, &buf, &out->nonce) < 0)
        return -EINVAL;
    return scan_extensions(&s, &out->token_auth);
}

int scram_parse_server_first(const void *msg, size_t len, char *buf, struct scram_server_first *out)
{
    struct scan s = {msg, len, 0};
    const char *v;
    size_t vn;
    int n;

    memset(out, 0, sizeof *out);
    if (len > SCRAM_MSG_MAX)
        return -EINVAL;
    /* the combined nonce: the client's and the server's */
    if (!scan_attr(&s, 'r', &v, &vn) || nonce_copy(v, vn, 2 * SCRAM_NONCE_MAX, &buf, &out->nonce))
        return -EINVAL;
    if (!scan_comma(&s) || !scan_attr(&s, 's', &v, &vn))
        return -EINVAL;
    if ((n = b64_decode(v, vn, out->salt, SCRAM_SALT_MAX)) < 0)
        return -EINVAL;
    out->salt_len = (size_t)n;
    if (!scan_comma(&s) || !scan_attr(&s, 'i', &v, &vn) ||
        iterations_parse(v, vn, &out->iterations) < 0)
        return -EINVAL;
    return scan_extensions(&s, NULL);
}

/* c=: the base64 of a gs2-header without channel binding ("biws" is "n,,"). */
static int cbind_check(const char *v, size_t vn)
{
    uint8_t hdr[SCRAM_MSG_MAX];
    char tmp[SCRAM_MSG_MAX + 1];
    const char *authzid;
    char *t = tmp;
    int n = b64_decode(v, vn, hdr, sizeof hdr);
    if (n < 3 || hdr[n - 1] != ',')
        return -EINVAL;
    struct scan s = {(const char *)hdr, (size_t)n, 0};
    if (gs2_parse(&s, &t, &authzid) < 0 || !scan_done(&s))
        return -EINVAL;
    return 0;
}

int scram_parse_client_final(const void *msg, size_t len, char *buf, struct scram_client_final *out)
{
    struct scan s = {msg, len, 0};
    const char *v;
    size_t vn;
    int n;

    memset(out, 0, sizeof *out);
    if (len > SCRAM_MSG_MAX)
        return -EINVAL;
    if (!scan_attr(&s, 'c', &v, &vn) || cbind_check(v, vn) < 0)
        return -EINVAL;
    if (!scan_comma(&s) || !scan_attr(&s, 'r', &v, &vn) ||
        nonce_copy(v, vn, 2 * SCRAM_NONCE_MAX, &buf, &out->nonce) < 0)
        return -EINVAL;
    /* extensions, then ",p=proof" last */
    while (scan_comma(&s)) {
        if (scan_attr(&s, 'p', &v, &vn)) {
            if (!scan_done(&s))
                return -EINVAL;
            out->without_proof = s.p;
            out->without_proof_len = (size_t)(v - 3 - s.p);
            if ((n = b64_decode(v, vn, out->proof, SCRAM_KEY_MAX)) < 0)
                return -EINVAL;
            out->proof_len = (size_t)n;
            return 0;
        }
        size_t k = s.off;
        while (k < s.len && is_alpha(s.p[k]))
            k++;
        if (k == s.off || k >= s.len || s.p[k] != '=')
            return -EINVAL;
        while (k < s.len && s.p[k] != ',')
            k++;
        s.off = k;
    }
    return -EINVAL; /* no proof */
}

int scram_parse_server_final(const void *msg, size_t len, char *buf, uint8_t *sig, size_t *sig_len)
{
    struct scan s = {msg, len, 0};
    const char *v;
    size_t vn;
    int n;

    *sig_len = 0;
    if (len > SCRAM_MSG_MAX)
        return -EINVAL;
    if (scan_attr(&s, 'e', &v, &vn)) {
        memcpy(buf, v, vn);
        buf[vn] = 0;
        return -EACCES;
    }
    if (!scan_attr(&s, 'v', &v, &vn) || (n = b64_decode(v, vn, sig, SCRAM_KEY_MAX)) < 0)
        return -EINVAL;
    *sig_len = (size_t)n;
    return scan_extensions(&s, NULL);
}
