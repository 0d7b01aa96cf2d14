/*
 * authz.c - the authorizer's settings, and the one check every handler makes.
 *
 * authorizer.class.name turns authorization on. brook has one authorizer, its
 * own (auth/authorize.c), which follows Kafka's; it accepts Kafka's class names
 * for it, so that a server.properties written for Kafka starts unchanged, and
 * refuses any other name at start rather than run open while the operator
 * believes a plugin guards it. super.users is Kafka's semicolon-separated list of
 * principals; allow.everyone.if.no.acl.found Kafka's rule for resources no ACL
 * names.
 *
 * Handlers ask request_allowed() with the connection's principal and host. The
 * answer is logged (at debug) only when it is no, with what was refused, once
 * per check: a peer that is refused much is one log line per request, bounded by
 * the log's own rate limit.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "broker/private.h"
#include "lib/conftab.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define AUTHZ_SUPER_USERS_MAX 256

const struct conf_key authz_config_table[] = {
    {"authorizer.class.name",
     CONF_STRING,
     "",
     0,
     0,
     "Turns ACLs on: brook's authorizer, named \"brook\" or by Kafka's class names "
     "(org.apache.kafka.metadata.authorizer.StandardAuthorizer, "
     "kafka.security.authorizer.AclAuthorizer); any other name is refused at start.",
     false,
     {NULL}},
    {"super.users",
     CONF_STRING,
     "",
     0,
     0,
     "Principals that may do anything, semicolon-separated (User:admin;User:ops).",
     false,
     {NULL}},
    {"allow.everyone.if.no.acl.found",
     CONF_BOOLEAN,
     "false",
     0,
     0,
     "With ACLs on, whether a resource no ACL names is open to everyone.",
     false,
     {NULL}},
    {"fuse.principal",
     CONF_STRING,
     "",
     0,
     0,
     "With ACLs on, the principal the mount acts as (User:NAME): it sees and does what "
     "that principal's ACLs allow, else EACCES. Required when both ACLs and the mount are on.",
     false,
     {NULL}},
    {NULL, 0, NULL, 0, 0, NULL, false, {NULL}},
};

static const char *const authz_classes[] = {
    "brook",
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "kafka.security.authorizer.AclAuthorizer",
    "kafka.security.auth.SimpleAclAuthorizer",
    NULL,
};

/* super.users into b->super_users (a NULL-ended array of owned strings). */
static int authz_super_users_parse(struct broker *b, const char *list, const char **err)
{
    static char msg[512];
    char *copy = xstrdup(list), *save = NULL;
    int n = 0, rc = 0;
    b->super_users = xcalloc(AUTHZ_SUPER_USERS_MAX + 1, sizeof *b->super_users);
    for (char *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        tok += strspn(tok, " \t");
        size_t len = strcspn(tok, " \t");
        if (!len)
            continue;
        tok[len] = 0;
        const char *colon = strchr(tok, ':');
        if (!colon || colon == tok || !colon[1] || len >= AUTH_PRINCIPAL_MAX ||
            n == AUTHZ_SUPER_USERS_MAX) {
            snprintf(msg, sizeof msg,
                     "super.users: %.200s is not a principal (TYPE:NAME), or more than %d", tok,
                     AUTHZ_SUPER_USERS_MAX);
            *err = msg;
            rc = -EINVAL;
            break;
        }
        b->super_users[n++] = xstrdup(tok);
    }
    free(copy);
    return rc;
}

/* fuse.principal: a principal, and given whenever ACLs and the mount are both on,
 * so that the mount never runs with more than someone chose to give it. */
static int authz_fuse_principal(struct broker *b, const char **err)
{
    const char *p = conf_get_str(authz_config_table, b->cfg->props, "fuse.principal");
    const char *colon = p ? strchr(p, ':') : NULL;
    b->fuse_principal = p && *p ? p : NULL;
    if (b->fuse_principal &&
        (!colon || colon == p || !colon[1] || strlen(p) >= AUTH_PRINCIPAL_MAX)) {
        *err = "fuse.principal: not a principal (TYPE:NAME, e.g. User:mount)";
        return -EINVAL;
    }
    if (b->policy.enabled && b->cfg->mount && !b->fuse_principal) {
        *err = "with authorizer.class.name and fuse.mount.dir set, fuse.principal must name "
               "the principal the mount acts as (e.g. User:mount)";
        return -EINVAL;
    }
    return 0;
}

int authz_open(struct broker *b, const char **err)
{
    static char msg[512];
    const struct props *p = b->cfg->props;
    const char *cls = conf_get_str(authz_config_table, p, "authorizer.class.name");
    bool known = !cls || !*cls;
    for (int i = 0; !known && authz_classes[i]; i++)
        known = !strcmp(cls, authz_classes[i]);
    if (!known) {
        snprintf(msg, sizeof msg,
                 "authorizer.class.name=%.200s: brook has only its own authorizer "
                 "(\"brook\", or Kafka's StandardAuthorizer / AclAuthorizer names)",
                 cls);
        *err = msg;
        return -EINVAL;
    }
    if (conf_get_bool(authz_config_table, p, "allow.everyone.if.no.acl.found",
                      &b->policy.allow_if_no_acl)) {
        *err = "allow.everyone.if.no.acl.found: not a boolean";
        return -EINVAL;
    }
    if (authz_super_users_parse(b, conf_get_str(authz_config_table, p, "super.users"), err))
        return -EINVAL;
    b->policy.enabled = cls && *cls;
    b->policy.super_users = (const char *const *)b->super_users;
    if (authz_fuse_principal(b, err))
        return -EINVAL;
    int rc = auth_acls_open(b->cfg->store.dir, &b->acls);
    if (rc) {
        snprintf(msg, sizeof msg, "cannot load the ACLs in %.200s: %s", b->cfg->store.dir,
                 rc == -EBADMSG ? "the file is damaged" : strerror(-rc));
        *err = msg;
    }
    return rc;
}

void authz_close(struct broker *b)
{
    auth_acls_close(b->acls);
    b->acls = NULL;
    for (char **s = b->super_users; s && *s; s++)
        free(*s);
    free(b->super_users);
    b->super_users = NULL;
}

static const char *authz_op_name(enum auth_op op)
{
    static const char *const names[] = {
        "UNKNOWN",
        "ANY",
        "ALL",
        "READ",
        "WRITE",
        "CREATE",
        "DELETE",
        "ALTER",
        "DESCRIBE",
        "CLUSTER_ACTION",
        "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS",
        "IDEMPOTENT_WRITE",
        "CREATE_TOKENS",
        "DESCRIBE_TOKENS",
    };
    return op >= 0 && op <= AUTH_OP_DESCRIBE_TOKENS ? names[op] : "?";
}

bool request_allowed(struct request *rq, enum auth_op op, enum auth_resource type, const char *name)
{
    struct broker *b = rq->c->b;
    if (!b->policy.enabled)
        return true;
    bool ok = auth_authorize(b->acls, &b->policy, rq->c->principal, rq->c->host, op, type,
                             type == AUTH_RES_CLUSTER ? AUTH_CLUSTER_NAME : name);
    if (!ok)
        log_debug("brook.authz", "denied %s from %s: %s on %s %s", rq->c->principal, rq->c->host,
                  authz_op_name(op),
                  type == AUTH_RES_TOPIC     ? "topic"
                  : type == AUTH_RES_GROUP   ? "group"
                  : type == AUTH_RES_CLUSTER ? "cluster"
                                             : "transactional id",
                  type == AUTH_RES_CLUSTER ? AUTH_CLUSTER_NAME : name);
    return ok;
}

bool request_allowed_kstr(struct request *rq, enum auth_op op, enum auth_resource type,
                          struct kstr name)
{
    if (!rq->c->b->policy.enabled)
        return true;
    size_t len = name.len > 0 ? (size_t)name.len : 0;
    /* a name with a NUL byte cannot be named by a binding but the wildcard "*":
     * weigh it as the empty name, which only the wildcard matches */
    if (len && memchr(name.p, 0, len))
        len = 0;
    char *buf = xmalloc(len + 1);
    memcpy(buf, len ? name.p : "", len);
    buf[len] = 0;
    bool ok = request_allowed(rq, op, type, buf);
    free(buf);
    return ok;
}

bool request_allowed_any(struct request *rq, enum auth_op op, enum auth_resource type)
{
    struct broker *b = rq->c->b;
    return auth_authorize_any(b->acls, &b->policy, rq->c->principal, rq->c->host, op, type);
}

bool authz_fuse_may(void *arg, enum auth_op op, enum auth_resource type, const char *name)
{
    struct broker *b = arg;
    if (!b->policy.enabled)
        return true;
    /* the mount is a local peer: bindings for 127.0.0.1 (or "*") apply to it */
    return auth_authorize(b->acls, &b->policy, b->fuse_principal, "127.0.0.1", op, type,
                          type == AUTH_RES_CLUSTER ? AUTH_CLUSTER_NAME : name);
}
