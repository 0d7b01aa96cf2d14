/*
 * tls.c - OpenSSL contexts from parsed settings (tls.h), and the two questions
 * asked of a finished handshake: who the peer is (its certificate's DN) and what
 * principal that DN maps to (Kafka's ssl.principal.mapping.rules).
 *
 * Key material is read through memory BIOs or file BIOs alike, so a file and
 * inline PEM text take the same path; the key's password is handed to the PEM
 * reader directly rather than through a callback, so the context keeps no copy
 * of it once built.
 *
 * Cipher suites are given as Kafka gives them, in IANA names
 * ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"): TLS 1.3 suites go to
 * SSL_CTX_set_ciphersuites, the others are translated to OpenSSL's names
 * (OPENSSL_cipher_name) for SSL_CTX_set_cipher_list; an OpenSSL name passes as is.
 *
 * Kernel TLS is asked for (SSL_OP_ENABLE_KTLS) where OpenSSL has it; it takes
 * effect only when the kernel offers it and the cipher suits it, and otherwise
 * OpenSSL encrypts in user space as usual.
 *
 * Mapping rules follow Kafka's syntax: "RULE:pattern/replacement/[LU]" and
 * "DEFAULT", separated by commas. Patterns are POSIX extended regular
 * expressions rather than Java's: lazy quantifiers ("*?", "+?") are read as
 * greedy ones, which gives the same answer for the usual one-attribute captures.
 * A rule applies only when its pattern matches the whole DN, as Java's matches().
 */
#include "lib/tls.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define TLS_RULES_MAX   64  /* mapping rules in one setting */
#define TLS_PATTERN_MAX 512 /* bytes of one rule's pattern or replacement */

/* err gets "what: OpenSSL's reason" (the last queued error), and the queue is emptied. */
static void tls_err(char *err, size_t size, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char reason[256] = "";
    if (e)
        ERR_error_string_n(e, reason, sizeof reason);
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    snprintf(err, size, "%s%s%s", what, e ? ": " : "", r ? r : reason);
    ERR_clear_error();
}

static BIO *tls_bio_open(const char *file, const char *pem)
{
    return file ? BIO_new_file(file, "r") : BIO_new_mem_buf(pem, -1);
}

/* Versions from "TLSv1.2,TLSv1.3": the lowest and highest named (1.2 and 1.3 only). */
static int tls_set_protocols(SSL_CTX *ctx, const char *list, char *err, size_t size)
{
    int lo = 0, hi = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list ? list : "TLSv1.2,TLSv1.3");
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        int v;
        if (!strcmp(t, "TLSv1.2"))
            v = TLS1_2_VERSION;
        else if (!strcmp(t, "TLSv1.3"))
            v = TLS1_3_VERSION;
        else {
            snprintf(err, size, "ssl.enabled.protocols: %s is not offered (TLSv1.2, TLSv1.3)", t);
            return -EINVAL;
        }
        lo = !lo || v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    if (!lo) {
        snprintf(err, size, "ssl.enabled.protocols names no protocol");
        return -EINVAL;
    }
    SSL_CTX_set_min_proto_version(ctx, lo);
    SSL_CTX_set_max_proto_version(ctx, hi);
    return 0;
}

/* Kafka's ssl.cipher.suites (IANA names, or OpenSSL's) split between TLS 1.3 and
 * older suites; NULL or empty keeps OpenSSL's defaults. */
static int tls_set_ciphers(SSL_CTX *ctx, const char *list, char *err, size_t size)
{
    if (!list || !*list)
        return 0;
    char buf[2048], v13[1024] = "", v12[1024] = "";
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        bool is13 = !strncmp(t, "TLS_AES_", 8) || !strncmp(t, "TLS_CHACHA20_", 13);
        const char *name = is13 ? t : OPENSSL_cipher_name(t);
        if (!strcmp(name, "(NONE)"))
            name = t; /* not an IANA name: OpenSSL's own, perhaps */
        char *dst = is13 ? v13 : v12;
        size_t used = strlen(dst);
        snprintf(dst + used, sizeof v13 - used, "%s%s", used ? ":" : "", name);
    }
    if (*v13 && !SSL_CTX_set_ciphersuites(ctx, v13)) {
        tls_err(err, size, "ssl.cipher.suites: no TLS 1.3 suite known");
        return -EINVAL;
    }
    if (*v12 && !SSL_CTX_set_cipher_list(ctx, v12)) {
        tls_err(err, size, "ssl.cipher.suites: no TLS 1.2 suite known");
        return -EINVAL;
    }
    if (!*v12) /* only TLS 1.3 suites named: offer no older one */
        SSL_CTX_set_cipher_list(ctx, "");
    return 0;
}

/* The certificate chain (leaf first) from a PEM file or text. */
static int tls_load_chain(SSL_CTX *ctx, const struct tls_settings *s, char *err, size_t size)
{
    BIO *bio = tls_bio_open(s->cert_file, s->cert_pem);
    X509 *leaf = bio ? PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL) : NULL;
    int rc = -EINVAL;
    if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1) {
        tls_err(err, size,
                s->cert_file ? "cannot read the certificate file"
                             : "cannot read the certificate PEM");
        goto out;
    }
    SSL_CTX_clear_chain_certs(ctx);
    X509 *ca;
    while ((ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
        if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
            X509_free(ca);
            tls_err(err, size, "cannot add a chain certificate");
            goto out;
        }
    ERR_clear_error(); /* the end of the file reads as an error */
    rc = 0;
out:
    X509_free(leaf);
    BIO_free(bio);
    return rc;
}

static int tls_load_key(SSL_CTX *ctx, const struct tls_settings *s, char *err, size_t size)
{
    const char *file = s->key_file, *pem = s->key_pem;
    if (!file && !pem) { /* Kafka's keystore.location holds the key with the chain */
        file = s->cert_file;
        pem = s->cert_pem;
    }
    BIO *bio = tls_bio_open(file, pem);
    /* a NULL callback with a password: OpenSSL takes it as the passphrase itself */
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL,
                                                  (void *)(s->key_password ? s->key_password : ""))
                        : NULL;
    BIO_free(bio);
    int rc = 0;
    if (!key || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
        tls_err(err, size, "cannot read the private key (wrong ssl.key.password?)");
        rc = -EINVAL;
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        tls_err(err, size, "the private key does not belong to the certificate");
        rc = -EINVAL;
    }
    EVP_PKEY_free(key);
    return rc;
}

/* Trusted CAs from a PEM file or text; *n gets how many. */
static int tls_load_cas(SSL_CTX *ctx, const struct tls_settings *s, int *n, char *err, size_t size)
{
    BIO *bio = tls_bio_open(s->ca_file, s->ca_pem);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
    X509 *ca;
    *n = 0;
    while (bio && names && (ca = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        X509_STORE_add_cert(store, ca);
        X509_NAME *nm = X509_NAME_dup(X509_get_subject_name(ca));
        if (nm && !sk_X509_NAME_push(names, nm))
            X509_NAME_free(nm);
        X509_free(ca);
        (*n)++;
    }
    BIO_free(bio);
    if (!*n) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        tls_err(err, size, "no CA certificate in the trust store");
        return -EINVAL;
    }
    ERR_clear_error();
    SSL_CTX_set_client_CA_list(ctx, names); /* the CAs a client certificate may come from */
    return 0;
}

/* What both ends share: protocols, ciphers, kernel TLS. */
static SSL_CTX *tls_ctx_base(const SSL_METHOD *m, const struct tls_settings *s, char *err,
                             size_t size)
{
    SSL_CTX *ctx = SSL_CTX_new(m);
    if (!ctx) {
        tls_err(err, size, "cannot create a TLS context");
        return NULL;
    }
#ifdef SSL_OP_ENABLE_KTLS
    SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
#endif
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    if (tls_set_protocols(ctx, s->protocols, err, size) ||
        tls_set_ciphers(ctx, s->ciphers, err, size)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL_CTX *tls_server_ctx_new(const struct tls_settings *s, char *err, size_t err_size)
{
    if (!s->cert_file && !s->cert_pem) {
        snprintf(err, err_size,
                 "no certificate: set ssl.keystore.location or "
                 "ssl.keystore.certificate.chain");
        return NULL;
    }
    SSL_CTX *ctx = tls_ctx_base(TLS_server_method(), s, err, err_size);
    if (!ctx)
        return NULL;
    int ncas = 0;
    if (tls_load_chain(ctx, s, err, err_size) || tls_load_key(ctx, s, err, err_size) ||
        ((s->ca_file || s->ca_pem) && tls_load_cas(ctx, s, &ncas, err, err_size)))
        goto fail;
    if (s->client_auth != TLS_CLIENT_AUTH_NONE && !ncas) {
        snprintf(err, err_size,
                 "ssl.client.auth needs a trust store (ssl.truststore.location "
                 "or ssl.truststore.certificates)");
        goto fail;
    }
    int mode = SSL_VERIFY_NONE;
    if (s->client_auth == TLS_CLIENT_AUTH_REQUESTED)
        mode = SSL_VERIFY_PEER;
    else if (s->client_auth == TLS_CLIENT_AUTH_REQUIRED)
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, NULL);
    /* a renegotiation a client starts costs the server a handshake each time,
     * for nothing TLS 1.3 or a new connection would not give */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    /* resumed sessions carry the verified client certificate; they need an id context */
    static const unsigned char sid[] = "brook";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *tls_client_ctx_new(const struct tls_settings *s, char *err, size_t err_size)
{
    SSL_CTX *ctx = tls_ctx_base(TLS_client_method(), s, err, err_size);
    if (!ctx)
        return NULL;
    int ncas = 0;
    if ((s->cert_file || s->cert_pem) &&
        (tls_load_chain(ctx, s, err, err_size) || tls_load_key(ctx, s, err, err_size)))
        goto fail;
    if (s->ca_file || s->ca_pem) {
        if (tls_load_cas(ctx, s, &ncas, err, err_size))
            goto fail;
    } else if (s->verify_peer && SSL_CTX_set_default_verify_paths(ctx) != 1) {
        tls_err(err, err_size, "cannot load the system's CA certificates");
        goto fail;
    }
    SSL_CTX_set_verify(ctx, s->verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (s->verify_peer && s->verify_host &&
        X509_VERIFY_PARAM_set1_host(SSL_CTX_get0_param(ctx), s->verify_host, 0) != 1) {
        tls_err(err, err_size, "cannot set the host name to verify");
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

void tls_ctx_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx); /* live SSL objects hold their own reference */
}

int tls_peer_dn(SSL *ssl, char *out, size_t size)
{
    X509 *cert = SSL_get0_peer_certificate(ssl);
    if (!cert || SSL_get_verify_result(ssl) != X509_V_OK)
        return -ENOENT;
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return -ENOMEM;
    /* RFC 2253 with UTF-8 kept as such, as Java's X500Principal.getName() gives it */
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
                       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char *p;
    long n = BIO_get_mem_data(bio, &p);
    int rc = n >= 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
    if (!rc) {
        memcpy(out, p, (size_t)n);
        out[n] = 0;
    }
    BIO_free(bio);
    return rc;
}

/* One rule's field up to an unescaped '/': into out with "\/" unescaped. Returns
 * the position after the '/', or NULL. */
static const char *tls_rule_field(const char *p, char *out, size_t size)
{
    size_t n = 0;
    for (; *p && *p != '/'; p++) {
        if (*p == '\\' && p[1] == '/')
            p++;
        if (n + 1 >= size)
            return NULL;
        out[n++] = *p;
    }
    out[n] = 0;
    return *p == '/' ? p + 1 : NULL;
}

/* Java's lazy quantifiers have no POSIX form: read them as greedy. */
static void tls_rule_pattern(char *pat)
{
    char *w = pat;
    for (char *r = pat; *r; r++) {
        *w++ = *r;
        if (*r == '\\' && r[1])
            *w++ = *++r;
        else if ((*r == '*' || *r == '+' || *r == '}') && r[1] == '?')
            r++;
    }
    *w = 0;
}

/* The replacement with $1..$9 filled from the match, cased by flag ('L', 'U' or 0). */
static int tls_rule_apply(const char *dn, const regmatch_t *m, const char *repl, char flag,
                          char *out, size_t size)
{
    size_t n = 0;
    for (const char *r = repl; *r; r++) {
        const char *src = r;
        size_t len = 1;
        if (*r == '$' && r[1] >= '0' && r[1] <= '9') {
            const regmatch_t *g = &m[r[1] - '0'];
            src = g->rm_so >= 0 ? dn + g->rm_so : "";
            len = g->rm_so >= 0 ? (size_t)(g->rm_eo - g->rm_so) : 0;
            r++;
        } else if (*r == '\\' && r[1]) {
            src = ++r;
        }
        if (n + len >= size)
            return -ENAMETOOLONG;
        memcpy(out + n, src, len);
        n += len;
    }
    out[n] = 0;
    for (char *c = out; flag && *c; c++)
        *c = (char)(flag == 'L' ? tolower((unsigned char)*c) : toupper((unsigned char)*c));
    return 0;
}

/* Whether pattern matches all of dn; m gets the groups. -EINVAL for a bad pattern. */
static int tls_rule_match(const char *pattern, const char *dn, regmatch_t m[10])
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED))
        return -EINVAL;
    int hit =
        regexec(&re, dn, 10, m, 0) == 0 && m[0].rm_so == 0 && (size_t)m[0].rm_eo == strlen(dn);
    regfree(&re);
    return hit;
}

int tls_principal_map(const char *rules, const char *dn, char *out, size_t size)
{
    const char *p = rules ? rules : "DEFAULT";
    for (int i = 0; i < TLS_RULES_MAX; i++) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            return -ENOENT;
        if (!strncmp(p, "DEFAULT", 7)) {
            if ((size_t)snprintf(out, size, "%s", dn) >= size)
                return -ENAMETOOLONG;
            return 0;
        }
        char pat[TLS_PATTERN_MAX], repl[TLS_PATTERN_MAX];
        if (strncmp(p, "RULE:", 5) || !(p = tls_rule_field(p + 5, pat, sizeof pat)) ||
            !(p = tls_rule_field(p, repl, sizeof repl)))
            return -EINVAL;
        char flag = *p == 'L' || *p == 'U' ? *p++ : 0;
        tls_rule_pattern(pat);
        regmatch_t m[10];
        int hit = tls_rule_match(pat, dn, m);
        if (hit < 0)
            return hit;
        if (hit)
            return tls_rule_apply(dn, m, repl, flag, out, size);
    }
    return -EINVAL;
}
