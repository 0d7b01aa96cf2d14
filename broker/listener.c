/*
 * listener.c - the listeners' configuration in Kafka's form: each listener's
 * security protocol (listener.security.protocol.map), its advertised address
 * (advertised.listeners, by listener name), its TLS settings (ssl.*, or
 * listener.name.<name>.ssl.* for one listener), and the keys brook refuses.
 *
 * A key brook does not implement must stop brookd at start with its reason,
 * never be ignored: a broker that silently listens in plaintext when asked for
 * TLS is worse than one that does not start. broker_config_refusals() holds
 * those keys and the values accepted for each; a key brook does not know at all
 * is only warned about (broker_config_unknown), as before.
 *
 * Every string handed out here is borrowed from the configuration's props and
 * lives as long as the configuration.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/config.h"
#include "lib/props.h"
#include "lib/tls.h"

#define LISTENER_PREFIX "listener.name."

static char errbuf[512];

static int listener_err(const char **err, const char *fmt, const char *a, const char *b)
{
    snprintf(errbuf, sizeof errbuf, fmt, a, b);
    *err = errbuf;
    return -1;
}

/* Kafka spells the prefix with the listener's name in lower case. */
static void listener_key(const struct listen_addr *l, const char *key, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "%s", LISTENER_PREFIX);
    for (const char *s = l->name; *s && n + 1 < size; s++)
        out[n++] = (char)tolower((unsigned char)*s);
    snprintf(out + n, size - n, ".%s", key);
}

/* The listener-prefixed value alone. */
static const char *listener_get_own(const struct broker_config *c, const struct listen_addr *l,
                                    const char *key)
{
    char full[256];
    listener_key(l, key, full, sizeof full);
    return props_get(c->props, full);
}

const char *listener_get(const struct broker_config *c, const struct listen_addr *l,
                         const char *key)
{
    const char *v = listener_get_own(c, l, key);
    return v ? v : props_get(c->props, key);
}

/* The protocol the map gives name, from "NAME:PROTO,..." (NULL: Kafka's default map,
 * where the four protocol names map to themselves). */
static int listener_map_find(const char *map, const char *name, enum broker_security *out)
{
    if (!map)
        return broker_security_parse(name, strlen(name), out) ? -ENOENT : 0;
    size_t nl = strlen(name);
    for (const char *p = map; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *colon = strchr(p, ':'), *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        if (!colon || colon > end)
            return *p ? -EINVAL : -ENOENT;
        if ((size_t)(colon - p) == nl && !strncasecmp(p, name, nl))
            return broker_security_parse(colon + 1, (size_t)(end - colon - 1), out);
        p = end;
    }
    return -ENOENT;
}

static int listener_resolve(struct broker_config *c, const char **err)
{
    const char *map = props_get(c->props, "listener.security.protocol.map");
    for (int i = 0; i < c->n_listeners; i++) {
        struct listen_addr *l = &c->listeners[i];
        for (int j = 0; j < i; j++)
            if (!strcasecmp(c->listeners[j].name, l->name))
                return listener_err(err, "listeners: the name %s is given twice%s", l->name, "");
        int rc = listener_map_find(map, l->name, &l->security);
        if (rc == -ENOENT)
            return listener_err(err,
                                "listener %s has no security protocol: add %s:PROTOCOL to "
                                "listener.security.protocol.map",
                                l->name, l->name);
        if (rc)
            return listener_err(err, "invalid listener.security.protocol.map: %s%s", map, "");
    }
    return 0;
}

/* advertised.listeners: "NAME://host:port,..." by listener name; an entry without a
 * name is the first listener's (as -l gives one). */
static int listener_advertised(struct broker_config *c, const char **err)
{
    const char *v = props_get(c->props, "advertised.listeners");
    if (!v)
        return 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", v);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        struct listen_addr a;
        bool named = strstr(tok, "://") != NULL;
        if (listen_addr_parse(tok, &a))
            return listener_err(err, "invalid advertised.listeners: %s%s", v, "");
        int i = 0;
        while (named && i < c->n_listeners && strcasecmp(c->listeners[i].name, a.name))
            i++;
        if (i == c->n_listeners)
            return listener_err(err, "advertised.listeners names %s, which is not in listeners%s",
                                a.name, "");
        c->advertised[i] = a;
        c->advertised_set[i] = true;
    }
    return 0;
}

/*
 * The keys brook refuses, and the values it accepts for them (NULL: none — the key
 * has no meaning here at all). `list`: the value is a comma-separated list, each
 * item checked. Rows for other modules' keys (sasl.*, authorizer.*) belong here too.
 */
struct refusal {
    const char *key;
    const char *accepted; /* "|A|B|" (case-insensitive), or NULL */
    bool list;
    const char *reason;
};

static const struct refusal refusals[] = {
    {"ssl.keystore.type", "|PEM|", false,
     "brook reads PEM key material only (convert a JKS or PKCS12 store with keytool and "
     "openssl)"},
    {"ssl.truststore.type", "|PEM|", false, "brook reads PEM trust stores only"},
    {"ssl.keystore.password", NULL, false,
     "a PEM key store has no store password; encrypt the key and set ssl.key.password"},
    {"ssl.truststore.password", NULL, false, "a PEM trust store has no password"},
    {"ssl.client.auth", "|none|requested|required|", false,
     "ssl.client.auth is none, requested or required"},
    {"ssl.protocol", "|TLS|TLSv1.2|TLSv1.3|", false,
     "brook speaks TLSv1.2 and TLSv1.3 (choose with ssl.enabled.protocols)"},
    {"ssl.enabled.protocols", "|TLSv1.2|TLSv1.3|", true, "brook offers TLSv1.2 and TLSv1.3 only"},
    {"ssl.provider", NULL, false, "Java security providers do not apply: brook uses OpenSSL"},
    {"ssl.engine.factory.class", NULL, false,
     "Java SSL engine factories do not apply: brook uses OpenSSL"},
    {"security.inter.broker.protocol", "|PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL|", false,
     "a security protocol name"},
    {NULL, NULL, false, NULL},
};

static bool refusal_accepts(const struct refusal *r, const char *v)
{
    if (!r->accepted)
        return false;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", v);
    char *save = NULL;
    int n = 0;
    for (char *t = strtok_r(buf, r->list ? ", " : "", &save); t;
         t = strtok_r(NULL, r->list ? ", " : "", &save), n++) {
        char item[128];
        snprintf(item, sizeof item, "|%s|", t);
        if (!strcasestr(r->accepted, item) || strchr(t, '|'))
            return false;
    }
    return n > 0;
}

/* The refusal row for key, or for key with a listener prefix before it. */
static const struct refusal *refusal_find(const char *key)
{
    if (!strncmp(key, LISTENER_PREFIX, strlen(LISTENER_PREFIX))) {
        const char *dot = strchr(key + strlen(LISTENER_PREFIX), '.');
        key = dot ? dot + 1 : key;
    }
    for (const struct refusal *r = refusals; r->key; r++)
        if (!strcmp(r->key, key))
            return r;
    return NULL;
}

int broker_config_refusals(const struct broker_config *c, const char **err)
{
    const char *k, *v;
    for (size_t i = 0; props_at(c->props, i, &k, &v); i++) {
        const struct refusal *r = refusal_find(k);
        if (r && !refusal_accepts(r, v)) {
            snprintf(errbuf, sizeof errbuf, "%s=%.200s is not supported: %s", k, v, r->reason);
            *err = errbuf;
            return -1;
        }
    }
    return 0;
}

bool broker_config_listener_key(const char *key)
{
    if (strncmp(key, LISTENER_PREFIX, strlen(LISTENER_PREFIX)))
        return false;
    const char *dot = strchr(key + strlen(LISTENER_PREFIX), '.');
    return dot && (!strncmp(dot + 1, "ssl.", 4) || !strncmp(dot + 1, "sasl.", 5));
}

int broker_config_listeners(struct broker_config *c, const char **err)
{
    if (listener_resolve(c, err) || listener_advertised(c, err) || broker_config_refusals(c, err))
        return -1;
    return 0;
}

static bool listener_loopback(const char *h)
{
    return !strncmp(h, "127.", 4) || !strcmp(h, "::1") || !strcasecmp(h, "localhost");
}

const char *listener_exposure(const struct listen_addr *l, const char *bound)
{
    if (listener_loopback(bound))
        return NULL;
    switch (l->security) {
    case SEC_PLAINTEXT:
        return "is PLAINTEXT and reachable from other machines: anyone who can connect may "
               "create and delete topics, produce, read every record and reset offsets, and "
               "the traffic is not encrypted";
    case SEC_SSL:
        return "is SSL without SASL and reachable from other machines: the traffic is "
               "encrypted, but clients without a certificate act as User:ANONYMOUS (set "
               "ssl.client.auth=required, or use SASL_SSL)";
    case SEC_SASL_PLAINTEXT:
        return "is SASL_PLAINTEXT and reachable from other machines: clients authenticate, "
               "but the traffic (records, and PLAIN passwords) is not encrypted";
    case SEC_SASL_SSL: break;
    }
    return NULL;
}

int listener_tls_settings(const struct broker_config *c, const struct listen_addr *l,
                          struct tls_settings *s, const char **rules)
{
    memset(s, 0, sizeof *s);
    /* a listener that names its own key material, in either form, takes none of the
     * broker-wide one: a file and inline PEM are alternatives */
    bool own = listener_get_own(c, l, "ssl.keystore.location") ||
               listener_get_own(c, l, "ssl.keystore.certificate.chain");
    const char *(*get)(const struct broker_config *, const struct listen_addr *, const char *) =
        own ? listener_get_own : listener_get;
    s->cert_file = get(c, l, "ssl.keystore.location");
    s->cert_pem = get(c, l, "ssl.keystore.certificate.chain");
    s->key_pem = get(c, l, "ssl.keystore.key");
    s->key_password = listener_get(c, l, "ssl.key.password");
    s->ca_file = listener_get(c, l, "ssl.truststore.location");
    s->ca_pem = listener_get(c, l, "ssl.truststore.certificates");
    s->protocols = listener_get(c, l, "ssl.enabled.protocols");
    s->ciphers = listener_get(c, l, "ssl.cipher.suites");
    const char *auth = listener_get(c, l, "ssl.client.auth");
    s->client_auth = !auth || !strcasecmp(auth, "none") ? TLS_CLIENT_AUTH_NONE
                     : !strcasecmp(auth, "requested")   ? TLS_CLIENT_AUTH_REQUESTED
                                                        : TLS_CLIENT_AUTH_REQUIRED;
    *rules = listener_get(c, l, "ssl.principal.mapping.rules");
    if (s->cert_file && s->cert_pem)
        return -EINVAL;
    return 0;
}
