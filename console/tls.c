/*
 * tls.c - HTTPS for the console (console.ssl.*): the context built from the same
 * PEM keys the Kafka listeners take (lib/tls.h), and one TLS bufferevent per
 * connection handed to evhttp in place of a plain one (conn.c asks here).
 *
 * The console's keys are Kafka's ssl.* names under console.: keystore.type (PEM
 * only: anything else is refused at start with the reason), keystore.location or
 * keystore.certificate.chain with keystore.key, key.password, enabled.protocols
 * and cipher.suites. Without a keystore the console speaks plain HTTP (and says
 * so at start when that is exposed, auth.c). The context is built once at start;
 * a handshake that stalls is ended by the connection's request deadline, which
 * runs from the accept.
 */
#include <errno.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>

#include "console/private.h"
#include "lib/conftab.h"
#include "lib/log.h"
#include "lib/props.h"
#include "lib/tls.h"

static const char *key(const struct props *p, const char *name)
{
    return conf_get_str(console_config_table, p, name);
}

int console_tls_config(struct console *con, const struct props *p)
{
    const char *type = key(p, "console.ssl.keystore.type");
    struct tls_settings s = {
        .cert_file = key(p, "console.ssl.keystore.location"),
        .key_file = key(p, "console.ssl.keystore.location"),
        .cert_pem = key(p, "console.ssl.keystore.certificate.chain"),
        .key_pem = key(p, "console.ssl.keystore.key"),
        .key_password = key(p, "console.ssl.key.password"),
        .protocols = key(p, "console.ssl.enabled.protocols"),
        .ciphers = key(p, "console.ssl.cipher.suites"),
    };
    if (!s.cert_file && !s.cert_pem)
        return 0; /* plain HTTP */
    if (strcasecmp(type, "PEM")) {
        log_error("brook.console",
                  "console.ssl.keystore.type=%s is not supported: brook reads "
                  "PEM key material only",
                  type);
        return -EINVAL;
    }
    if (s.cert_file && s.cert_pem) {
        log_error("brook.console", "give console.ssl.keystore.location or "
                                   "console.ssl.keystore.certificate.chain, not both");
        return -EINVAL;
    }
    if (!!s.cert_pem != !!s.key_pem) {
        log_error("brook.console", "console.ssl.keystore.certificate.chain and "
                                   "console.ssl.keystore.key go together");
        return -EINVAL;
    }
    char err[256];
    con->ssl_ctx = tls_server_ctx_new(&s, err, sizeof err);
    if (!con->ssl_ctx) {
        log_error("brook.console", "console.ssl: %s", err);
        return -EINVAL;
    }
    con->tls = true;
    return 0;
}

void console_tls_free(struct console *con)
{
    if (con->ssl_ctx)
        tls_ctx_free(con->ssl_ctx);
    con->ssl_ctx = NULL;
}

struct bufferevent *console_tls_bev(struct console *con, struct event_base *base)
{
    SSL *ssl = SSL_new(con->ssl_ctx);
    if (!ssl)
        return NULL;
    /* evhttp gives the socket later (bufferevent_setfd); the handshake starts then */
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    /* browsers and curl often close without close_notify: not an error worth a log */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}
