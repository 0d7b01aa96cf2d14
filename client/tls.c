/*
 * tls.c - TLS on the client's own sockets, with OpenSSL.
 *
 * The client owns its I/O (one epoll set, non-blocking sockets), so TLS is an
 * SSL object on each connection's socket rather than a filtering layer: conn.c
 * calls conn_tls_read()/conn_tls_write() where it would call recv()/send(). One
 * context per client is built by lib/tls.c from librdkafka's keys
 * (ssl.ca.location / ssl.ca.pem, ssl.certificate.*, ssl.key.*,
 * enable.ssl.certificate.verification); each connection then names the broker
 * it expects (SNI, and the host or address its certificate must carry when
 * ssl.endpoint.identification.algorithm is https, librdkafka's default).
 *
 * Non-blocking TLS can want the opposite direction of what was asked (a write
 * that must first read, a read that must write): tls_wants_write tells conn.c
 * whether to wait for writability; otherwise it waits for readability, which it
 * always watches. Buffers may move between retries (the output buffer grows as
 * requests are queued), which SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER allows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client/private.h"
#include "lib/tls.h"

int client_tls_init(struct brook_client *c)
{
    const struct client_conf *cf = &c->conf;
    if (!SEC_USES_TLS(cf->security))
        return 0;
    struct tls_settings s = {
        .cert_file = cf->ssl_cert_location,
        .cert_pem = cf->ssl_cert_pem,
        .key_file = cf->ssl_key_location,
        .key_pem = cf->ssl_key_pem,
        .key_password = cf->ssl_key_password,
        .ca_file = cf->ssl_ca_location,
        .ca_pem = cf->ssl_ca_pem,
        .verify_peer = cf->ssl_verify,
        .verify_host = NULL, /* per connection: conn_tls_start() */
        .protocols = cf->ssl_protocols,
        .ciphers = cf->ssl_ciphers,
    };
    char err[256];
    c->ssl_ctx = tls_client_ctx_new(&s, err, sizeof err);
    if (!c->ssl_ctx)
        return BROOK_ERR_TLS_CONFIG;
    SSL_CTX_set_mode(c->ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                     SSL_MODE_RELEASE_BUFFERS);
    return 0;
}

void client_tls_free(struct brook_client *c)
{
    if (c->ssl_ctx)
        tls_ctx_free(c->ssl_ctx);
    c->ssl_ctx = NULL;
}

/* The name the broker's certificate must carry: an IP address is matched against
 * the certificate's IP entries, a host name against its DNS names (and sent as
 * SNI, which takes no addresses). */
static int tls_expect_peer(struct conn *k)
{
    unsigned char addr[16];
    bool is_ip = inet_pton(AF_INET, k->host, addr) == 1 || inet_pton(AF_INET6, k->host, addr) == 1;
    if (!is_ip && !SSL_set_tlsext_host_name(k->ssl, k->host))
        return BROOK_ERR_TLS;
    if (!k->c->conf.ssl_verify || !k->c->conf.ssl_endpoint_check)
        return 0;
    X509_VERIFY_PARAM *vp = SSL_get0_param(k->ssl);
    int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, k->host) : SSL_set1_host(k->ssl, k->host);
    return ok ? 0 : BROOK_ERR_TLS;
}

int conn_tls_start(struct conn *k)
{
    k->tls_wants_write = false;
    if (!(k->ssl = SSL_new(k->c->ssl_ctx)))
        return -ENOMEM;
    int rc = tls_expect_peer(k);
    if (!rc && !SSL_set_fd(k->ssl, k->fd))
        rc = BROOK_ERR_TLS;
    if (!rc)
        SSL_set_connect_state(k->ssl);
    if (rc)
        conn_tls_free(k);
    return rc;
}

/* What an SSL call's result means for a non-blocking caller: -EAGAIN (with
 * k->tls_wants_write set), 0 for a clean close, or an error. */
static int tls_result(struct conn *k, int ret, int fail)
{
    int e = SSL_get_error(k->ssl, ret);
    k->tls_wants_write = e == SSL_ERROR_WANT_WRITE;
    switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN: return 0;
    case SSL_ERROR_SYSCALL: {
        int saved = errno;
        ERR_clear_error();
        if (saved == EAGAIN || saved == EINTR)
            return -EAGAIN;
        return saved ? -saved : -EPIPE; /* 0: the peer closed without close_notify */
    }
    default: ERR_clear_error(); return fail;
    }
}

int conn_tls_handshake(struct conn *k)
{
    int ret = SSL_do_handshake(k->ssl);
    if (ret == 1) {
        k->tls_wants_write = false;
        return 0;
    }
    int rc = tls_result(k, ret, BROOK_ERR_TLS);
    return rc == -EAGAIN ? rc : BROOK_ERR_TLS; /* a close mid-handshake is a failure too */
}

ssize_t conn_tls_read(struct conn *k, void *buf, size_t n)
{
    size_t got = 0;
    if (SSL_read_ex(k->ssl, buf, n, &got) == 1)
        return (ssize_t)got;
    return tls_result(k, 0, -EPROTO);
}

ssize_t conn_tls_write(struct conn *k, const void *buf, size_t n)
{
    size_t put = 0;
    if (SSL_write_ex(k->ssl, buf, n, &put) == 1)
        return (ssize_t)put;
    int rc = tls_result(k, 0, -EPROTO);
    return rc == 0 ? -EPIPE : rc;
}

bool conn_tls_pending(const struct conn *k)
{
    return k->ssl && SSL_has_pending(k->ssl);
}

void conn_tls_free(struct conn *k)
{
    if (!k->ssl)
        return;
    SSL_free(k->ssl); /* no close_notify: the socket is closed right after */
    k->ssl = NULL;
    k->tls_wants_write = false;
}
