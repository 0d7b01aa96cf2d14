/*
 * ops_node.c - the namespace callbacks: lookup, attributes, creating and
 * deleting topics, listings, statfs, access.
 *
 * Each callback maps the inode to a node (inode.c), makes one backend call and
 * replies. The namespace is the backend's: a topic exists here exactly when the
 * store (or the remote cluster) has it, so `touch` (CREATE or MKNOD) creates a topic with
 * num.partitions and `rm` (UNLINK) deletes one. Everything a topic log cannot do - rename, links,
 * directories, truncation, chmod - fails with EPERM, the errno of an operation the
 * file's nature forbids (what `chattr +a` gives on ext4). Times may be "set"
 * (touch does it) but are ignored: a file's mtime is its last append.
 *
 * Internal topics ("__" names, the backend's name_internal) behave like files with
 * `chattr +i`: they can be read, and every change - create, unlink, append, even
 * setting times - fails with EPERM. The broker keeps its own state there (the
 * committed offsets), and DeleteTopics and the console refuse to change it too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs/private.h"

static struct fs *fs_of(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

/* The entry reply for n, whose lookup count was taken by fs_node_lookup. */
static int entry_of(struct fs *fs, struct fs_node *n, struct fuse_entry_param *e)
{
    memset(e, 0, sizeof *e);
    int rc = fs_node_stat(fs, n, &e->attr);
    if (rc) {
        fs_node_forget(fs, n, 1);
        return rc;
    }
    e->ino = n->ino;
    e->attr_timeout = e->entry_timeout = fs->opt.timeout_s;
    return 0;
}

void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fs *fs = fs_of(req);
    struct fs_node *dir = fs_node_find(fs, parent), *n;
    struct fuse_entry_param e;
    int rc = dir ? fs_node_lookup(fs, dir, name, &n) : -ENOENT;
    if (!rc && parent == FUSE_ROOT_ID &&
        (rc = fs_access_topic(fs, AUTH_OP_DESCRIBE, n->topic->name)))
        fs_node_forget(fs, n, 1);
    if (!rc)
        rc = entry_of(fs, n, &e);
    if (rc)
        fuse_reply_err(req, -rc);
    else if (fuse_reply_entry(req, &e))
        fs_node_forget(fs, n, 1); /* the kernel never got it */
}

void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    struct fs *fs = fs_of(req);
    struct fs_node *n = fs_node_find(fs, ino);
    if (n)
        fs_node_forget(fs, n, nlookup);
    fuse_reply_none(req);
}

void fs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    struct fs *fs = fs_of(req);
    for (size_t i = 0; i < count; i++) {
        struct fs_node *n = fs_node_find(fs, forgets[i].ino);
        if (n)
            fs_node_forget(fs, n, forgets[i].nlookup);
    }
    fuse_reply_none(req);
}

void fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    struct fs_node *n = fs_node_find(fs, ino);
    struct stat st;
    int rc = n ? fs_node_stat(fs, n, &st) : -ENOENT;
    (void)fi;
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, fs->opt.timeout_s);
}

void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                   struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    struct fs_node *n = fs_node_find(fs, ino);
    struct stat st;
    int rc = n ? fs_node_stat(fs, n, &st) : -ENOENT;
    (void)fi;
    if (!rc && (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
        rc = -EPERM;
    if (!rc && to_set && fs_node_internal(fs, n))
        rc = -EPERM; /* immutable, times included */
    if (!rc && (to_set & FUSE_SET_ATTR_SIZE) && attr->st_size != st.st_size)
        rc = -EPERM; /* truncation: the log only grows */
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, fs->opt.timeout_s);
}

/* Create topic name in the root (num.partitions, default config) and look it up. */
static int topic_create(struct fs *fs, fuse_ino_t parent, const char *name, struct fs_node **out)
{
    if (fs->opt.read_only)
        return -EROFS;
    if (parent != FUSE_ROOT_ID)
        return -EPERM; /* partition directories hold a fixed set of files */
    if (fs->b.ops->name_internal(name))
        return -EPERM; /* only the broker makes its own topics */
    int rc = fs_access_create(fs, name);
    if (rc)
        return rc;
    rc = fs->b.ops->topic_create(fs->b.be, name);
    if (rc)
        return -fs_errno(rc);
    return fs_node_lookup(fs, &fs->root, name, out);
}

void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
    struct fs *fs = fs_of(req);
    struct fs_node *n;
    struct fuse_entry_param e;
    int rc = S_ISREG(mode) ? topic_create(fs, parent, name, &n) : -EPERM;
    (void)rdev;
    if (!rc)
        rc = entry_of(fs, n, &e);
    if (rc)
        fuse_reply_err(req, -rc);
    else if (fuse_reply_entry(req, &e))
        fs_node_forget(fs, n, 1);
}

void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                  struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    struct fs_node *n;
    struct fs_handle *h = NULL;
    struct fuse_entry_param e;
    int rc = S_ISREG(mode) ? topic_create(fs, parent, name, &n) : -EPERM;
    bool fresh = rc == 0;
    if (rc == -EEXIST && !(fi->flags & O_EXCL) && parent == FUSE_ROOT_ID &&
        fs_node_lookup(fs, &fs->root, name, &n) == 0)
        rc = 0; /* created meanwhile (not a collision with a partition dir): open it */
    if (!rc && (rc = entry_of(fs, n, &e)) == 0 &&
        (rc = fs_handle_open(fs, n, fi->flags, fresh, &h)))
        fs_node_forget(fs, n, 1);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uintptr_t)h;
    fi->direct_io = 1;
    if (fuse_reply_create(req, &e, fi)) {
        fs_open_del(fs, &h->open);
        fs_handle_free(h);
        fs_node_forget(fs, n, 1);
    }
}

void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fs *fs = fs_of(req);
    int rc = fs->opt.read_only                                          ? -EROFS
             : parent != FUSE_ROOT_ID || fs->b.ops->name_internal(name) ? -EPERM
             : fs_access_topic(fs, AUTH_OP_DELETE, name)                ? -EACCES
                                                         : fs->b.ops->topic_delete(fs->b.be, name);
    if (rc == 0)
        fs_notify_gone(fs, name); /* the partition directories' names go too */
    fuse_reply_err(req, rc ? fs_errno(rc) : 0);
}

void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    (void)parent, (void)name, (void)mode;
    fuse_reply_err(req, EPERM); /* partition directories come with their topic */
}

void fs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    (void)parent, (void)name;
    fuse_reply_err(req, EPERM);
}

void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    (void)link, (void)parent, (void)name;
    fuse_reply_err(req, EPERM);
}

void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                  const char *newname, unsigned int flags)
{
    (void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
    fuse_reply_err(req, EPERM); /* Kafka topics cannot be renamed either */
}

void fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    (void)ino, (void)newparent, (void)newname;
    fuse_reply_err(req, EPERM);
}

void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    struct fs_node *n = fs_node_find(fs, ino);
    struct fs_dirlist *d = NULL;
    int rc = !n ? -ENOENT : n->kind == FS_ROOT || n->kind == FS_PDIR ? 0 : -ENOTDIR;
    if (!rc)
        rc = fs_dir_list(fs, n, &d);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uintptr_t)d;
    fs_open_add(fs, &d->open, true);
    if (fuse_reply_open(req, fi)) {
        fs_open_del(fs, &d->open);
        fs_dir_free(d);
    }
}

void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    struct fs_dirlist *d = (struct fs_dirlist *)(uintptr_t)fi->fh;
    char *buf = malloc(size ? size : 1);
    size_t used = 0;
    (void)ino;
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    for (size_t i = off > 0 ? (size_t)off : 0; i < d->n; i++) {
        struct stat st = {.st_ino = d->v[i].ino, .st_mode = d->v[i].mode};
        size_t k = fuse_add_direntry(req, buf + used, size - used, d->v[i].name, &st, (off_t)i + 1);
        if (k > size - used)
            break;
        used += k;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
}

void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs_dirlist *d = (struct fs_dirlist *)(uintptr_t)fi->fh;
    (void)ino;
    fs_open_del(fs_of(req), &d->open);
    fs_dir_free(d);
    fuse_reply_err(req, 0);
}

void fs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct fs *fs = fs_of(req);
    struct statvfs sv;
    (void)ino;
    int rc = fs->b.ops->statfs(fs->b.be, &sv);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_statfs(req, &sv); /* the data's file system, as the backend sees it */
}

void fs_op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    struct fs *fs = fs_of(req);
    struct fs_node *n = fs_node_find(fs, ino);
    struct fs_ref ref;
    int rc = n ? fs_node_resolve(fs, n, &ref) : -ENOENT;
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    fs_ref_put(&ref);
    bool dir = n->kind == FS_ROOT || n->kind == FS_PDIR;
    if (((mask & W_OK) && !dir && !fs_node_writable(fs, n)) || ((mask & X_OK) && !dir))
        rc = -EACCES;
    else if (!rc && n->kind != FS_ROOT && (mask & R_OK))
        rc = fs_access_topic(fs, dir ? AUTH_OP_DESCRIBE : AUTH_OP_READ, n->topic->name);
    if (!rc && !dir && (mask & W_OK))
        rc = fs_access_topic(fs, AUTH_OP_WRITE, n->topic->name);
    fuse_reply_err(req, -rc);
}
