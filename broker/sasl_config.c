/*
 * sasl_config.c - SASL's settings at start: sasl.enabled.mechanisms,
 * connections.max.reauth.ms, and the users of --add-scram.
 *
 * Mechanisms brook does not offer are refused with a reason, never dropped: a
 * broker told to take GSSAPI that started with SCRAM only would fail its clients
 * in a way that points nowhere near the cause. The default is SCRAM-SHA-256 and
 * SCRAM-SHA-512 (Kafka's default, GSSAPI, is not offered); PLAIN sends the password
 * itself and must be asked for. listener.name.<name>.sasl.enabled.mechanisms sets one
 * listener's, as in Kafka; any other sasl.* key (JAAS and the rest) is refused.
 *
 * --add-scram takes Kafka's syntax (kafka-storage format --add-scram):
 *   'SCRAM-SHA-512=[name=admin,password=secret]'
 *   'SCRAM-SHA-256=[name=alice,iterations=8192,password="a,b"]'
 * A value may be double-quoted to hold ',' or ']'. Giving the same user again is a
 * no-op when the password already matches (so a service unit may always pass it),
 * and replaces the credential when it does not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/sasl.h"
#include "broker/private.h"
#include "lib/conftab.h"
#include "lib/log.h"
#include "lib/props.h"

/* The mechanisms of list (sasl.enabled.mechanisms' syntax) into *out: 0, or -EINVAL
 * after logging why (key names the setting). */
static int sasl_mechs_parse(const char *key, const char *list, unsigned *out)
{
    *out = 0;
    for (const char *p = list ? list : ""; *p;) {
        size_t n = strcspn(p, ","), k = n;
        const char *s = p;
        while (k && (*s == ' ' || *s == '\t'))
            s++, k--;
        while (k && (s[k - 1] == ' ' || s[k - 1] == '\t'))
            k--;
        enum auth_sasl_mech m;
        int rc = k ? auth_sasl_mech_parse(s, k, &m) : 0;
        if (rc == -ENOTSUP) {
            log_error("brook.sasl",
                      "%s: %.*s is not offered by brook (PLAIN, SCRAM-SHA-256 and "
                      "SCRAM-SHA-512 are)",
                      key, (int)k, s);
            return -EINVAL;
        }
        if (rc < 0) {
            log_error("brook.sasl", "%s: unknown mechanism %.*s", key, (int)k, s);
            return -EINVAL;
        }
        if (k)
            *out |= m;
        p += n + (p[n] == ',');
    }
    return 0;
}

/* Strip "listener.name.<name>." and a mechanism's "<mech>." from key: what is left. */
static const char *sasl_key_base(const char *key)
{
    static const char *const mechs[] = {"plain.", "scram-sha-256.", "scram-sha-512.", "gssapi.",
                                        "oauthbearer."};
    if (!strncmp(key, "listener.name.", 14)) {
        const char *dot = strchr(key + 14, '.');
        key = dot ? dot + 1 : key;
    }
    for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
        if (!strncasecmp(key, mechs[i], strlen(mechs[i])))
            return key + strlen(mechs[i]);
    return key;
}

/* SASL settings brook has no use for (JAAS, callback handlers, Kerberos, OAuth) stop
 * the start: a broker that ignored "user_alice=..." in a JAAS line would turn away
 * clients with no hint why. */
static int sasl_refuse_unsupported(const struct props *p)
{
    const char *k, *v;
    for (size_t i = 0; props_at(p, i, &k, &v); i++) {
        const char *base = sasl_key_base(k);
        if (strncmp(base, "sasl.", 5) || !strcmp(base, "sasl.enabled.mechanisms") ||
            !strcmp(k, "sasl.mechanism.inter.broker.protocol"))
            continue;
        log_error("brook.sasl",
                  "%s is not supported: brook keeps SASL users in its own "
                  "credential store (--add-scram, brook user) and has no JAAS, callback "
                  "handler, Kerberos or OAuth settings",
                  k);
        return -EINVAL;
    }
    return 0;
}

int sasl_configure(struct broker *b)
{
    const struct broker_config *cfg = b->cfg;
    const char *def = conf_get_str(broker_config_table, cfg->props, "sasl.enabled.mechanisms");
    unsigned all;
    if (sasl_refuse_unsupported(cfg->props) ||
        sasl_mechs_parse("sasl.enabled.mechanisms", def, &all))
        return -EINVAL;
    for (int i = 0; i < cfg->n_listeners; i++) {
        const struct listen_addr *l = &cfg->listeners[i];
        const char *own = listener_get(cfg, l, "sasl.enabled.mechanisms");
        b->sasl_mechs[i] = all;
        if (own && own != def &&
            sasl_mechs_parse("sasl.enabled.mechanisms", own, &b->sasl_mechs[i]) < 0)
            return -EINVAL;
        if (broker_security_sasl(l->security) && !b->sasl_mechs[i]) {
            log_error("brook.sasl", "listener %s is %s but its sasl.enabled.mechanisms is empty",
                      l->name, broker_security_name(l->security));
            return -EINVAL;
        }
    }
    b->reauth_ms = cfg->reauth_ms;
    return 0;
}

/* One "key=value" of an --add-scram list at *p: the key and value (unquoted) into
 * k and v. 0, or -EINVAL. */
static int scram_spec_pair(const char **p, char *k, size_t ksize, char *v, size_t vsize)
{
    const char *s = *p;
    size_t n = strcspn(s, "=,]");
    if (n == 0 || n >= ksize || s[n] != '=')
        return -EINVAL;
    memcpy(k, s, n);
    k[n] = 0;
    s += n + 1;
    size_t o = 0;
    if (*s == '"') {
        for (s++; *s && *s != '"'; s++) {
            if (*s == '\\' && s[1])
                s++;
            if (o + 1 >= vsize)
                return -EINVAL;
            v[o++] = *s;
        }
        if (*s++ != '"')
            return -EINVAL;
    } else {
        for (; *s && *s != ',' && *s != ']'; s++) {
            if (o + 1 >= vsize)
                return -EINVAL;
            v[o++] = *s;
        }
    }
    v[o] = 0;
    *p = s;
    return 0;
}

struct scram_spec {
    enum scram_mech mech;
    char name[AUTH_USER_MAX + 1];
    char password[1024];
    int32_t iterations;
};

static int scram_spec_parse(const char *spec, struct scram_spec *out, const char **why)
{
    const char *eq = strchr(spec, '=');
    char mech[32], k[32], v[1024];
    memset(out, 0, sizeof *out);
    out->iterations = SCRAM_ITER_DEF;
    *why = "expected MECHANISM=[name=N,password=P]";
    if (!eq || (size_t)(eq - spec) >= sizeof mech || eq[1] != '[')
        return -EINVAL;
    memcpy(mech, spec, (size_t)(eq - spec));
    mech[eq - spec] = 0;
    if (scram_mech_parse(mech, &out->mech) < 0) {
        *why = "the mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512";
        return -EINVAL;
    }
    const char *p = eq + 2;
    for (;;) {
        if (scram_spec_pair(&p, k, sizeof k, v, sizeof v) < 0)
            return -EINVAL;
        if (!strcmp(k, "name")) {
            if (strlen(v) >= sizeof out->name) {
                *why = "the name is longer than 128 bytes";
                return -EINVAL;
            }
            memcpy(out->name, v, strlen(v) + 1);
        } else if (!strcmp(k, "password"))
            memcpy(out->password, v, sizeof v);
        else if (!strcmp(k, "iterations"))
            out->iterations = (int32_t)strtol(v, NULL, 10);
        else {
            *why = "unknown key (name, password and iterations are taken)";
            return -EINVAL;
        }
        if (*p == ']')
            break;
        if (*p++ != ',')
            return -EINVAL;
    }
    if (p[1] != 0)
        return -EINVAL;
    if (!out->name[0] || !out->password[0]) {
        *why = "name and password are both needed";
        return -EINVAL;
    }
    if (out->iterations < SCRAM_ITER_MIN || out->iterations > SCRAM_ITER_MAX) {
        *why = "iterations must be from 4096 to 16384";
        return -EINVAL;
    }
    return 0;
}

/* Whether user already has this password at these iterations for mech. */
static bool scram_spec_current(struct auth_creds *cs, const struct scram_spec *s)
{
    struct auth_scram_cred c;
    uint8_t stored[SCRAM_KEY_MAX];
    if (auth_creds_get(cs, s->name, s->mech, &c) < 0 || c.iterations != s->iterations)
        return false;
    if (scram_derive(s->mech, s->password, strlen(s->password), c.salt, c.salt_len, c.iterations,
                     NULL, stored, NULL) < 0)
        return false;
    return memcmp(stored, c.stored_key, scram_key_len(s->mech)) == 0;
}

int sasl_add_scram(struct auth_creds *cs, const char *spec)
{
    struct scram_spec s;
    const char *why;
    int rc = scram_spec_parse(spec, &s, &why);
    if (rc < 0) {
        log_error("brook.sasl", "--add-scram: %s", why);
        return rc;
    }
    if (scram_spec_current(cs, &s)) {
        log_info("brook.sasl", "--add-scram: user %s (%s) is already set", s.name,
                 scram_mech_name(s.mech));
        rc = 0;
        goto cleanup;
    }
    rc = auth_creds_set_password(cs, s.name, s.mech, s.password, strlen(s.password), s.iterations);
    if (rc < 0)
        log_error("brook.sasl", "--add-scram: cannot store user %s: %s", s.name, strerror(-rc));
    else
        log_info("brook.sasl", "--add-scram: user %s (%s) stored", s.name, scram_mech_name(s.mech));
cleanup:
    explicit_bzero(s.password, sizeof s.password);
    return rc;
}
