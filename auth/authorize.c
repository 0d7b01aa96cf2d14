/*
 * authorize.c - the decision: may this principal, from this host, do this
 * operation on this resource?
 *
 * Kafka's rules, in order: with the authorizer off everything is allowed; a
 * super user may do anything; a DENY binding that applies (its pattern covers
 * the resource, its principal is the peer's or "User:*", its host the peer's or
 * "*", its operation the one asked or ALL) refuses; an ALLOW binding that applies
 * permits, where ALLOW on READ, WRITE, DELETE or ALTER also permits DESCRIBE and
 * ALLOW on ALTER_CONFIGS permits DESCRIBE_CONFIGS; otherwise, when no binding at
 * all names the resource, allow.everyone.if.no.acl.found decides, and when some
 * do, the answer is no.
 */
#include <string.h>

#include "auth/acl_private.h"

struct decision {
    const char *principal, *host;
    enum auth_op op;
    bool any;     /* some binding applies to the resource at all */
    bool allowed; /* an ALLOW binding applies to the request */
    bool denied;  /* a DENY binding does */
};

static bool authz_principal_matches(const char *bound, const char *principal)
{
    return !strcmp(bound, "User:*") ? !strncmp(principal, "User:", 5) : !strcmp(bound, principal);
}

/* Whether a binding's operation covers op (implications hold for ALLOW only). */
static bool authz_op_covers(enum auth_op bound, enum auth_perm perm, enum auth_op op)
{
    if (bound == op || bound == AUTH_OP_ALL)
        return true;
    if (perm != AUTH_PERM_ALLOW)
        return false;
    if (op == AUTH_OP_DESCRIBE)
        return bound == AUTH_OP_READ || bound == AUTH_OP_WRITE || bound == AUTH_OP_DELETE ||
               bound == AUTH_OP_ALTER;
    return op == AUTH_OP_DESCRIBE_CONFIGS && bound == AUTH_OP_ALTER_CONFIGS;
}

static int authz_weigh(const struct auth_acl *a, void *arg)
{
    struct decision *d = arg;
    d->any = true;
    if (!authz_principal_matches(a->principal, d->principal) ||
        (strcmp(a->host, "*") && strcmp(a->host, d->host)) ||
        !authz_op_covers(a->operation, a->permission, d->op))
        return 0;
    if (a->permission == AUTH_PERM_DENY) {
        d->denied = true;
        return 1; /* nothing can overturn a DENY */
    }
    d->allowed = true;
    return 0;
}

static bool authz_super(const struct auth_policy *pol, const char *principal)
{
    for (const char *const *s = pol->super_users; s && *s; s++)
        if (!strcmp(*s, principal))
            return true;
    return false;
}

/* The decision with the set locked. */
static bool authz_decide(struct auth_acls *as, const struct auth_policy *pol, const char *principal,
                         const char *host, enum auth_op op, enum auth_resource type,
                         const char *name)
{
    struct decision d = {principal, host ? host : "", op, false, false, false};
    acl_each_applying(as, type, name, authz_weigh, &d);
    if (d.denied)
        return false;
    return d.allowed || (!d.any && pol->allow_if_no_acl);
}

bool auth_authorize(struct auth_acls *as, const struct auth_policy *pol, const char *principal,
                    const char *host, enum auth_op op, enum auth_resource type, const char *name)
{
    if (!pol->enabled || authz_super(pol, principal))
        return true;
    if (!as)
        return pol->allow_if_no_acl;
    acl_lock(as);
    bool ok = authz_decide(as, pol, principal, host, op, type, name ? name : "");
    acl_unlock(as);
    return ok;
}

struct any_search {
    struct auth_acls *as;
    const struct auth_policy *pol;
    struct decision d;
    enum auth_resource type;
    bool found;
};

/* An ALLOW binding for the principal: does it survive the DENY bindings on its
 * own name? (Held under the lock by auth_acls_each's caller: authz_decide is
 * called from inside the walk, which holds it.) */
static int authz_any_try(const struct auth_acl *a, void *arg)
{
    struct any_search *s = arg;
    s->d.any = true;
    if (a->permission != AUTH_PERM_ALLOW ||
        !authz_principal_matches(a->principal, s->d.principal) ||
        (strcmp(a->host, "*") && strcmp(a->host, s->d.host)) ||
        !authz_op_covers(a->operation, a->permission, s->d.op))
        return 0;
    struct decision d = {s->d.principal, s->d.host, s->d.op, false, false, false};
    acl_each_applying(s->as, s->type, a->resource_name, authz_weigh, &d);
    s->found = !d.denied;
    return s->found;
}

bool auth_authorize_any(struct auth_acls *as, const struct auth_policy *pol, const char *principal,
                        const char *host, enum auth_op op, enum auth_resource type)
{
    if (!pol->enabled || authz_super(pol, principal))
        return true;
    if (!as)
        return pol->allow_if_no_acl;
    struct any_search s = {
        as, pol, {principal, host ? host : "", op, false, false, false}, type, false};
    acl_lock(as);
    struct auth_acl all = {type, NULL, AUTH_PAT_ANY, NULL, NULL, AUTH_OP_ANY, AUTH_PERM_ANY};
    acl_each_filtered(as, &all, authz_any_try, &s);
    acl_unlock(as);
    return s.found || (!s.d.any && pol->allow_if_no_acl);
}
