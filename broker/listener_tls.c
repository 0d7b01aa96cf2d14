/*
 * listener_tls.c - TLS on the SSL and SASL_SSL listeners: one OpenSSL context per
 * listener, connections as libevent's OpenSSL bufferevents, the principal a client
 * certificate names, and what a failed handshake is logged as.
 *
 * Contexts are built at start, where a bad key or certificate stops brookd with
 * the reason, and rebuilt on SIGHUP: a connection holds a reference to the
 * context it was accepted with (SSL_new), so swapping the listener's context
 * drops no connection and the next accept takes the new certificates. A reload
 * that fails keeps the old context and says why. Reloads and accepts both run on
 * loop 0, which makes each connection's SSL object there and hands it with the
 * descriptor to the network thread that serves it (server.c): the contexts are
 * never read by another thread while a reload swaps them.
 *
 * A handshake that fails because the peer spoke plain Kafka (or HTTP) to a TLS
 * listener is told apart from other TLS errors by OpenSSL's reason, so the log
 * says what the client got wrong instead of a bare "wrong version number".
 *
 * Each connection is an OpenSSL filter over a socket bufferevent. libevent 2.1
 * reads a socket 4 KiB at a time, one loop pass each; the socket side's input
 * therefore reads ahead (tls_read_ahead: what the socket holds, up to
 * TLS_IO_MAX) as soon as libevent adds to it, so OpenSSL decrypts in large
 * pieces. Its output holds at most TLS_OUT_HIGH of ciphertext: beyond it what
 * waits stays unencrypted in the filter's output, which the connection's
 * backpressure (server.c) counts.
 *
 * Record data: the output of an OpenSSL bufferevent is not drained to a socket,
 * so libevent maps the file segments a Fetch adds (mmap) and OpenSSL encrypts
 * straight from the page cache, with no read into a buffer first. Kernel TLS is
 * requested (lib/tls.c) for kernels that have it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "broker/private.h"
#include "lib/log.h"
#include "lib/tls.h"

/* What one read or write of a TLS connection may take: libevent's default (16 KiB)
 * would cost an event-loop round per TLS record on large Fetch responses. */
#define TLS_IO_MAX   (256 << 10)
#define TLS_OUT_HIGH (1 << 20)   /* ciphertext waiting for the socket, at most */
#define TLS_OUT_LOW  (256 << 10) /* ... and below which more is encrypted */

static SSL_CTX *listener_tls_ctx(struct broker *b, int i, char *err, size_t size)
{
    struct tls_settings s;
    const struct listen_addr *l = &b->cfg->listeners[i];
    if (listener_tls_settings(b->cfg, l, &s, &b->tls_rules[i])) {
        snprintf(err, size,
                 "give ssl.keystore.location or ssl.keystore.certificate.chain, "
                 "not both");
        return NULL;
    }
    if (!s.cert_file && !s.cert_pem) {
        snprintf(err, size,
                 "no certificate: set ssl.keystore.location (or "
                 "listener.name.%s.ssl.keystore.location)",
                 l->name);
        return NULL;
    }
    char probe[8];
    if (tls_principal_map(b->tls_rules[i], "", probe, sizeof probe) == -EINVAL) {
        snprintf(err, size, "invalid ssl.principal.mapping.rules");
        return NULL;
    }
    return tls_server_ctx_new(&s, err, size);
}

int listener_tls_start(struct broker *b)
{
    for (int i = 0; i < b->cfg->n_listeners; i++) {
        const struct listen_addr *l = &b->cfg->listeners[i];
        if (!broker_security_tls(l->security))
            continue;
        char err[512];
        if (!(b->tls_ctx[i] = listener_tls_ctx(b, i, err, sizeof err))) {
            log_error("brook.network", "listener %s (%s): %s", l->name,
                      broker_security_name(l->security), err);
            return -EINVAL;
        }
    }
    return 0;
}

void listener_tls_reload(struct broker *b)
{
    for (int i = 0; i < b->cfg->n_listeners; i++) {
        if (!b->tls_ctx[i])
            continue;
        char err[512];
        SSL_CTX *ctx = listener_tls_ctx(b, i, err, sizeof err);
        if (!ctx) {
            log_error("brook.network",
                      "listener %s: certificates not reloaded, keeping the old: %s",
                      b->cfg->listeners[i].name, err);
            continue;
        }
        tls_ctx_free(b->tls_ctx[i]); /* live connections keep their reference */
        b->tls_ctx[i] = ctx;
        log_info("brook.network", "listener %s: certificates reloaded", b->cfg->listeners[i].name);
    }
}

void listener_tls_stop(struct broker *b)
{
    for (int i = 0; i < BROKER_MAX_LISTENERS; i++) {
        tls_ctx_free(b->tls_ctx[i]);
        b->tls_ctx[i] = NULL;
    }
}

/* Called as libevent's read adds ciphertext (at most 4 KiB at a time) to the
 * socket bufferevent's input: read what else the socket holds, up to TLS_IO_MAX,
 * into the same input, before OpenSSL is asked to decrypt any of it. */
static void tls_read_ahead(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    static _Thread_local bool inside; /* our own add calls us again (on this loop) */
    int fd = (int)(intptr_t)arg, ready = 0;
    if (inside || info->n_added == 0 || ioctl(fd, FIONREAD, &ready) < 0 || ready <= 0)
        return;
    size_t want = ready < TLS_IO_MAX ? (size_t)ready : TLS_IO_MAX;
    inside = true;
    evbuffer_read_fd(in, fd, want); /* an error or the end: libevent's next read */
    inside = false;
}

SSL *listener_tls_ssl_new(struct broker *b, int i)
{
    return SSL_new(b->tls_ctx[i]); /* holds its own reference to the context */
}

struct bufferevent *listener_tls_bev_new(struct event_base *base, SSL *ssl, int fd)
{
    struct bufferevent *sock = ssl ? bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
    if (!sock) {
        SSL_free(ssl);
        return NULL;
    }
    /* OpenSSL reads through the socket bufferevent's input, which takes what the
     * socket holds in large reads, rather than from the socket itself (a header,
     * then a body: two system calls per 16 KiB record) */
    evbuffer_add_cb(bufferevent_get_input(sock), tls_read_ahead, (void *)(intptr_t)fd);
    bufferevent_set_max_single_write(sock, TLS_IO_MAX);
    /* OpenSSL stops encrypting into the socket's output at the high mark, so what
     * waits for a slow reader stays in the TLS bufferevent's output, where the
     * connection's backpressure (CONN_OUT_HIGH_WATER) sees it; without the mark
     * every answer would be encrypted into memory at once */
    bufferevent_setwatermark(sock, EV_WRITE, TLS_OUT_LOW, TLS_OUT_HIGH);
    struct bufferevent *bev = bufferevent_openssl_filter_new(
        base, sock, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        /* only out of memory; libevent 2.1 has then freed the SSL object and the
         * socket's bufferevent, or not, depending on where it failed: neither can
         * be freed or closed safely here, and the daemon's policy is to stop */
        log_error("brook.network", "out of memory for a TLS connection");
        abort();
    }
    /* a client that closes without close_notify has still sent whole requests */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    bufferevent_set_max_single_read(bev, TLS_IO_MAX);
    bufferevent_set_max_single_write(bev, TLS_IO_MAX);
    return bev;
}

int listener_tls_connected(struct conn *c)
{
    c->tls_ready = true;
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    char dn[512], name[AUTH_PRINCIPAL_MAX - 8];
    int idx = (int)(c->lst - c->b->cfg->listeners);
    /* SASL_SSL: the SASL exchange names the principal, not the certificate */
    if (c->lst->security != SEC_SSL || tls_peer_dn(ssl, dn, sizeof dn)) {
        log_debug("brook.network", "TLS from %s on %s: %s, %s", c->peer, c->lst->name,
                  SSL_get_version(ssl), c->principal);
        return 0;
    }
    int rc = tls_principal_map(c->b->tls_rules[idx], dn, name, sizeof name);
    if (rc) {
        log_warn_every("brook.network",
                       "closing %s: its certificate's DN %s matches no "
                       "ssl.principal.mapping.rules",
                       c->peer, dn);
        return rc;
    }
    snprintf(c->principal, sizeof c->principal, "User:%s", name);
    log_debug("brook.network", "TLS from %s on %s: %s, %s", c->peer, c->lst->name,
              SSL_get_version(ssl), c->principal);
    return 0;
}

void listener_tls_failed(struct conn *c)
{
    /* libevent keeps SSL_get_error()'s code and then OpenSSL's queue, and hands
     * them back last first: the first with a library is OpenSSL's last reason */
    unsigned long e, last = 0;
    while ((e = bufferevent_get_openssl_error(c->bev)))
        if (!last && ERR_GET_LIB(e))
            last = e;
    int reason = ERR_GET_REASON(last);
    if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST ||
        reason == SSL_R_HTTPS_PROXY_REQUEST)
        log_warn_every("brook.network",
                       "closing %s: it sent plaintext to TLS listener %s (%s); the client "
                       "needs security.protocol=%s",
                       c->peer, c->lst->name, broker_security_name(c->lst->security),
                       broker_security_name(c->lst->security));
    else if (last)
        log_warn_every("brook.network", "closing %s: TLS handshake on listener %s failed: %s",
                       c->peer, c->lst->name, ERR_reason_error_string(last));
    else
        log_debug("brook.network", "closing %s: closed during the TLS handshake", c->peer);
}
