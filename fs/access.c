/*
 * access.c - the mount under ACLs: it acts as one principal (fuse.principal),
 * and each operation asks what Kafka's request for it would ask.
 *
 * Listing the root shows only the topics the principal may DESCRIBE, as
 * Metadata lists them; looking a topic up without DESCRIBE is EACCES, as
 * Metadata's TOPIC_AUTHORIZATION_FAILED for a named topic; opening for reading
 * needs READ, for writing WRITE (both for O_RDWR); creating a topic needs CREATE
 * on the cluster or the topic, deleting it DELETE. The question goes through
 * fs_options.may, which brookd answers with auth_authorize: fs/ itself links
 * nothing of auth/, so a view without ACLs needs none.
 *
 * Decisions are made at each call, so a changed ACL applies to the next open;
 * a directory entry the kernel already holds stays valid until its cache
 * lifetime ends, but opening it asks again.
 */
#include <errno.h>

#include "fs/private.h"

int fs_access_topic(struct fs *fs, enum auth_op op, const char *topic)
{
    if (!fs->opt.may || fs->opt.may(fs->opt.may_arg, op, AUTH_RES_TOPIC, topic))
        return 0;
    return -EACCES;
}

int fs_access_create(struct fs *fs, const char *topic)
{
    if (!fs->opt.may || fs->opt.may(fs->opt.may_arg, AUTH_OP_CREATE, AUTH_RES_CLUSTER, NULL))
        return 0;
    return fs_access_topic(fs, AUTH_OP_CREATE, topic);
}

bool fs_access_visible(struct fs *fs, const char *topic)
{
    return fs_access_topic(fs, AUTH_OP_DESCRIBE, topic) == 0;
}
