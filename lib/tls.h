/*
 * tls.h - OpenSSL contexts for brook's three TLS endpoints (the Kafka
 * listeners, the console, and the client library), built from settings already
 * parsed out of each one's configuration keys (Kafka's ssl.* for the broker,
 * console.ssl.* for the console, librdkafka's ssl.* for the client).
 *
 * Key material is PEM only, from files or inline text. A context is immutable
 * once built; reloading certificates (SIGHUP) builds a new one, and connections
 * keep the context they were accepted with, so none is dropped.
 */
#ifndef BROOK_LIB_TLS_H
#define BROOK_LIB_TLS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

enum tls_client_auth {
    TLS_CLIENT_AUTH_NONE = 0,
    TLS_CLIENT_AUTH_REQUESTED,
    TLS_CLIENT_AUTH_REQUIRED,
};

struct tls_settings {
    /* this end's certificate chain and key: a file, or PEM text (one of the two) */
    const char *cert_file, *cert_pem;
    const char *key_file, *key_pem;
    const char *key_password; /* NULL: the key is not encrypted */
    /* the peers' trusted CAs: a file, or PEM text; NULL both: none (server) or
     * the system's (client) */
    const char *ca_file, *ca_pem;
    enum tls_client_auth client_auth; /* server only */
    bool verify_peer;                 /* client only: check the server's certificate */
    const char *verify_host;          /* client only: the name to check it against, or NULL */
    const char *protocols;            /* "TLSv1.2,TLSv1.3"; NULL: both */
    const char *ciphers;              /* Kafka's ssl.cipher.suites; NULL: OpenSSL's defaults */
};

/* A context for accepting (server) or connecting (client), or NULL with a
 * one-line reason in err. */
SSL_CTX *tls_server_ctx_new(const struct tls_settings *s, char *err, size_t err_size);
SSL_CTX *tls_client_ctx_new(const struct tls_settings *s, char *err, size_t err_size);
void tls_ctx_free(SSL_CTX *ctx);

/* The peer certificate's subject as an RFC 2253 distinguished name
 * ("CN=alice,OU=eng,O=example"): 0, or -ENOENT without a verified certificate. */
int tls_peer_dn(SSL *ssl, char *out, size_t size);

/* Kafka's ssl.principal.mapping.rules applied to a distinguished name: the
 * first rule that matches gives the name ("User:" is not added); DEFAULT gives
 * the whole DN. 0, -ENOENT when no rule matches, -EINVAL for bad rules. */
int tls_principal_map(const char *rules, const char *dn, char *out, size_t size);

#endif
