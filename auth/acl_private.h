/*
 * acl_private.h - what authorize.c needs of acl.c beyond auth.h: the bindings
 * that apply to one named resource, walked under the set's lock so that a
 * decision sees one consistent set.
 */
#ifndef BROOK_AUTH_ACL_PRIVATE_H
#define BROOK_AUTH_ACL_PRIVATE_H

#include "auth/auth.h"

void acl_lock(struct auth_acls *as);
void acl_unlock(struct auth_acls *as);

/* Call fn for each binding (held under acl_lock) whose pattern applies to the
 * resource (type, name): literal on name, literal "*", prefixed on a prefix of
 * name. Stops at fn's nonzero and returns it. */
int acl_each_applying(struct auth_acls *as, enum auth_resource type, const char *name,
                      int (*fn)(const struct auth_acl *acl, void *arg), void *arg);

/* auth_acls_each without taking the lock (the caller holds it). */
int acl_each_filtered(struct auth_acls *as, const struct auth_acl *filter,
                      int (*fn)(const struct auth_acl *acl, void *arg), void *arg);

/* Kafka's objection to creating binding a, or NULL; to deleting by filter f, or NULL. */
const char *acl_binding_invalid(const struct auth_acl *a);
const char *acl_filter_invalid(const struct auth_acl *f);

#endif
