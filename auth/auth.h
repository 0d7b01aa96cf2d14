/*
 * auth.h - who a peer is, and what it may do: the credential store (SCRAM's
 * derived keys, cred.c) and Kafka's access control lists (acl.c, authorize.c).
 *
 * auth/ sits on the store (it keeps its files in the data directory) and below
 * every front end: the Kafka listeners (broker/), the console and the FUSE view
 * ask the same questions of the same objects, so a user and an ACL mean the
 * same thing on each of them.
 *
 * Principals are Kafka's strings, "User:alice"; a peer that has not
 * authenticated is AUTH_ANONYMOUS. Every function is safe to call from any
 * thread: each object has its own lock, held only inside these calls.
 */
#ifndef BROOK_AUTH_AUTH_H
#define BROOK_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/scram.h"

#define AUTH_PRINCIPAL_MAX 256 /* "User:" and a name, with its NUL */
#define AUTH_USER_MAX      128 /* a user name's bytes, without the NUL */
#define AUTH_ANONYMOUS     "User:ANONYMOUS"

/* ---- credentials (cred.c) -------------------------------------------------------- */

#define AUTH_CREDS_MAX_USERS 10000 /* users the store holds */

/* What is stored of one user's password for one mechanism (RFC 5802): never the
 * password, only the salt, the iteration count and the two derived keys. */
struct auth_scram_cred {
    enum scram_mech mech;
    int32_t iterations;
    uint8_t salt[SCRAM_SALT_MAX];
    size_t salt_len;
    uint8_t stored_key[SCRAM_KEY_MAX];
    uint8_t server_key[SCRAM_KEY_MAX];
};

struct auth_creds;

/* The store kept in dir (the data directory): created empty if absent. Every
 * change is durable when the call returns, and a crash at any point leaves either
 * the old or the new file, never a mix. */
int auth_creds_open(const char *dir, struct auth_creds **out);
void auth_creds_close(struct auth_creds *cs);

/* user's credential for mech into *out: 0, or -ENOENT. */
int auth_creds_get(struct auth_creds *cs, const char *user, enum scram_mech mech,
                   struct auth_scram_cred *out);
/* Set (insert or replace) user's credential; -EINVAL for a bad name or iteration
 * count, -ENOSPC beyond AUTH_CREDS_MAX_USERS. */
int auth_creds_set(struct auth_creds *cs, const char *user, const struct auth_scram_cred *cred);
/* The same from a password: a fresh random salt, then the derived keys. */
int auth_creds_set_password(struct auth_creds *cs, const char *user, enum scram_mech mech,
                            const char *password, size_t password_len, int32_t iterations);
/* Remove user's credential for mech: 0, or -ENOENT. */
int auth_creds_delete(struct auth_creds *cs, const char *user, enum scram_mech mech);
/* Call fn for each stored credential, users in name order; stops at fn's nonzero. */
int auth_creds_each(struct auth_creds *cs,
                    int (*fn)(const char *user, enum scram_mech mech, int32_t iterations,
                              void *arg),
                    void *arg);
/* Whether password is user's (any mechanism that holds it): PLAIN and the
 * console's login. Takes as long for an unknown user as for a known one. */
bool auth_creds_check_password(struct auth_creds *cs, const char *user, const char *password,
                               size_t password_len);

/* ---- access control lists (acl.c) ------------------------------------------------ */

/* Kafka's codes, as CreateAcls / DescribeAcls / DeleteAcls carry them. */
enum auth_resource {
    AUTH_RES_UNKNOWN = 0,
    AUTH_RES_ANY = 1, /* filters only */
    AUTH_RES_TOPIC = 2,
    AUTH_RES_GROUP = 3,
    AUTH_RES_CLUSTER = 4, /* one resource, named "kafka-cluster" */
    AUTH_RES_TRANSACTIONAL_ID = 5,
    AUTH_RES_DELEGATION_TOKEN = 6,
    AUTH_RES_USER = 7,
};
enum auth_pattern {
    AUTH_PAT_UNKNOWN = 0,
    AUTH_PAT_ANY = 1,   /* filters only */
    AUTH_PAT_MATCH = 2, /* filters only: what would apply to the named resource */
    AUTH_PAT_LITERAL = 3,
    AUTH_PAT_PREFIXED = 4,
};
enum auth_op {
    AUTH_OP_UNKNOWN = 0,
    AUTH_OP_ANY = 1, /* filters only */
    AUTH_OP_ALL = 2,
    AUTH_OP_READ = 3,
    AUTH_OP_WRITE = 4,
    AUTH_OP_CREATE = 5,
    AUTH_OP_DELETE = 6,
    AUTH_OP_ALTER = 7,
    AUTH_OP_DESCRIBE = 8,
    AUTH_OP_CLUSTER_ACTION = 9,
    AUTH_OP_DESCRIBE_CONFIGS = 10,
    AUTH_OP_ALTER_CONFIGS = 11,
    AUTH_OP_IDEMPOTENT_WRITE = 12,
    AUTH_OP_CREATE_TOKENS = 13,
    AUTH_OP_DESCRIBE_TOKENS = 14,
};
enum auth_perm {
    AUTH_PERM_UNKNOWN = 0,
    AUTH_PERM_ANY = 1, /* filters only */
    AUTH_PERM_DENY = 2,
    AUTH_PERM_ALLOW = 3,
};
#define AUTH_CLUSTER_NAME "kafka-cluster"
#define AUTH_ACLS_MAX     100000 /* bindings the store holds */

/* One binding, or a filter (NULL strings match anything). */
struct auth_acl {
    enum auth_resource resource_type;
    const char *resource_name;
    enum auth_pattern pattern_type;
    const char *principal; /* "User:alice", or "User:*" */
    const char *host;      /* an IP address, or "*" */
    enum auth_op operation;
    enum auth_perm permission;
};

struct auth_acls;

/* The bindings kept in dir (the data directory), durable and crash-safe as the
 * credentials are. */
int auth_acls_open(const char *dir, struct auth_acls **out);
void auth_acls_close(struct auth_acls *as);

/* Add a binding (a no-op if it exists): 0, or -EINVAL with a one-line reason in
 * *why (static text) for a binding Kafka would refuse. */
int auth_acls_create(struct auth_acls *as, const struct auth_acl *acl, const char **why);
/* The same for n bindings with one durable write (CreateAcls): rcs[i] and whys[i]
 * say each one's fate (0, -EINVAL or -ENOSPC); returns 0, or the negative errno
 * of a write that failed, when none of them was added. */
int auth_acls_create_many(struct auth_acls *as, const struct auth_acl *acls, size_t n, int *rcs,
                          const char **whys);
/* Call fn for each binding filter matches (DescribeAcls); stops at fn's nonzero. */
int auth_acls_each(struct auth_acls *as, const struct auth_acl *filter,
                   int (*fn)(const struct auth_acl *acl, void *arg), void *arg);
/* Remove every binding filter matches, calling fn for each before it goes
 * (DeleteAcls); durable on return. -EINVAL with *why for a bad filter. */
int auth_acls_delete(struct auth_acls *as, const struct auth_acl *filter,
                     void (*fn)(const struct auth_acl *acl, void *arg), void *arg,
                     const char **why);
/* How many bindings there are. */
size_t auth_acls_count(struct auth_acls *as);

/* ---- the decision (authorize.c) -------------------------------------------------- */

/* The authorizer's settings: authorizer.class.name set (enabled), super.users,
 * allow.everyone.if.no.acl.found. Disabled, everything is allowed. */
struct auth_policy {
    bool enabled;
    bool allow_if_no_acl;
    const char *const *super_users; /* principals, NULL-ended; may be NULL */
};

/* Kafka's rule: super users may do anything; a DENY binding that applies beats any
 * ALLOW; DESCRIBE is implied by READ, WRITE, DELETE or ALTER, DESCRIBE_CONFIGS by
 * ALTER_CONFIGS; ALL allows every operation; with no binding on the resource at
 * all, allow_if_no_acl decides. host is the peer's address. */
bool auth_authorize(struct auth_acls *as, const struct auth_policy *pol, const char *principal,
                    const char *host, enum auth_op op, enum auth_resource type, const char *name);
/* Whether principal may do op on at least one resource of type, as Kafka's
 * authorizeByResourceType answers (InitProducerId without a transactional id
 * asks it of WRITE on topics): an ALLOW binding that applies to principal and
 * host on a resource where no DENY overrides it. */
bool auth_authorize_any(struct auth_acls *as, const struct auth_policy *pol, const char *principal,
                        const char *host, enum auth_op op, enum auth_resource type);

#endif
