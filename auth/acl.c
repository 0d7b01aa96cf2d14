/*
 * acl.c - the ACL bindings: held in memory by resource, kept in one file.
 *
 * Bindings are grouped by their resource pattern (type, pattern type, name): a
 * hash map from that triple to a `struct acl_res` holding the (principal, host,
 * operation, permission) entries on it. Authorizing a literal name is then one
 * look-up for the name, one for the wildcard "*", and one per prefix of the name
 * for prefixed patterns (never more prefixes than the longest prefixed pattern
 * stored), whatever the number of bindings.
 *
 * The file, ".acls" in the data directory, is text: a first line "brook-acls 1",
 * then one binding per line, seven fields separated by single spaces:
 *
 *     TYPE PATTERN OPERATION PERMISSION PRINCIPAL HOST NAME
 *
 * the first four as Kafka's numeric codes, the three strings percent-encoded (any
 * byte outside '!'..'~', and '%' itself, as %XX) so that no field holds a space
 * or a newline. Every change rewrites the whole file through file_write_atomic
 * (temporary file, fsync, rename, directory fsync) before it is applied in
 * memory: a crash leaves the old set or the new one, and a change that could not
 * be made durable is not made at all. A line that does not parse at open is an
 * error (-EBADMSG): brookd refuses to start on a damaged ACL file rather than
 * start with fewer DENY bindings than were written.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/acl_private.h"
#include "lib/fileio.h"
#include "lib/hmap.h"

#define ACL_FILE        ".acls"
#define ACL_FILE_HEADER "brook-acls 1\n"
#define ACL_NAME_MAX    4096 /* bytes of a resource name */
#define ACL_HOST_MAX    64   /* bytes of a host, with its NUL */
/* a line: four codes, three fields each up to three times its bytes once encoded */
#define ACL_LINE_MAX (64 + 3 * (ACL_NAME_MAX + AUTH_PRINCIPAL_MAX + ACL_HOST_MAX))
/* the file's lines together, so whatever is accepted can be read back at start
 * (and held: the strings in memory take no more than their encoded lines) */
#define ACL_BYTES_MAX ((size_t)32 << 20)
#define ACL_FILE_MAX  (ACL_BYTES_MAX + sizeof ACL_FILE_HEADER)

struct acl_entry {
    char *principal, *host; /* owned */
    enum auth_op op;
    enum auth_perm perm;
};

struct acl_res {
    enum auth_resource type;
    enum auth_pattern pattern;
    char *name; /* owned */
    struct acl_entry *e;
    size_t n, cap;
};

struct auth_acls {
    pthread_mutex_t mu;
    char path[PATH_MAX];
    struct hmap res;   /* key: acl_res_key(); value: struct acl_res */
    size_t count;      /* bindings over every resource */
    size_t bytes;      /* their lines in the file, at most ACL_BYTES_MAX */
    size_t prefix_max; /* the longest name of a PREFIXED resource, in bytes */
};

/* ---- validation ----------------------------------------------------------------- */

static bool acl_principal_valid(const char *p)
{
    const char *colon = p ? strchr(p, ':') : NULL;
    return colon && colon > p && colon[1] && strlen(p) < AUTH_PRINCIPAL_MAX;
}

/* Kafka's checks on a binding to create; NULL if it may be created. */
const char *acl_binding_invalid(const struct auth_acl *a)
{
    if (a->resource_type < AUTH_RES_TOPIC || a->resource_type > AUTH_RES_USER)
        return "invalid resource type";
    if (a->pattern_type != AUTH_PAT_LITERAL && a->pattern_type != AUTH_PAT_PREFIXED)
        return "invalid pattern type (LITERAL or PREFIXED)";
    if (a->operation < AUTH_OP_ALL || a->operation > AUTH_OP_DESCRIBE_TOKENS)
        return "invalid operation";
    if (a->permission != AUTH_PERM_ALLOW && a->permission != AUTH_PERM_DENY)
        return "invalid permission type (ALLOW or DENY)";
    if (!a->resource_name || !*a->resource_name)
        return "resource name should not be empty";
    if (strlen(a->resource_name) > ACL_NAME_MAX)
        return "resource name longer than 4096 bytes";
    if (a->resource_type == AUTH_RES_CLUSTER && strcmp(a->resource_name, AUTH_CLUSTER_NAME))
        return "the only valid name for the CLUSTER resource is kafka-cluster";
    if (a->pattern_type == AUTH_PAT_PREFIXED && !strcmp(a->resource_name, "*"))
        return "a PREFIXED pattern cannot be the wildcard *";
    if (!acl_principal_valid(a->principal))
        return "could not parse principal (TYPE:NAME)";
    if (!a->host || !*a->host || strlen(a->host) >= ACL_HOST_MAX)
        return "invalid host";
    return NULL;
}

/* Kafka's checks on a filter to delete by: no UNKNOWN part. */
const char *acl_filter_invalid(const struct auth_acl *f)
{
    if (f->resource_type == AUTH_RES_UNKNOWN || f->resource_type > AUTH_RES_USER)
        return "invalid resource type in filter";
    if (f->pattern_type == AUTH_PAT_UNKNOWN || f->pattern_type > AUTH_PAT_PREFIXED)
        return "invalid pattern type in filter";
    if (f->operation == AUTH_OP_UNKNOWN || f->operation > AUTH_OP_DESCRIBE_TOKENS)
        return "invalid operation in filter";
    if (f->permission == AUTH_PERM_UNKNOWN || f->permission > AUTH_PERM_ALLOW)
        return "invalid permission type in filter";
    return NULL;
}

/* ---- matching ------------------------------------------------------------------- */

/* Whether resource pattern (type, pattern, name) is one filter f selects, as
 * Kafka's ResourcePatternFilter decides. */
static bool acl_res_matches(const struct acl_res *r, const struct auth_acl *f)
{
    if (f->resource_type != AUTH_RES_ANY && f->resource_type != r->type)
        return false;
    if (f->pattern_type != AUTH_PAT_ANY && f->pattern_type != AUTH_PAT_MATCH &&
        f->pattern_type != r->pattern)
        return false;
    if (!f->resource_name)
        return true;
    if (f->pattern_type == AUTH_PAT_ANY || f->pattern_type == r->pattern)
        return !strcmp(f->resource_name, r->name);
    if (r->pattern == AUTH_PAT_LITERAL) /* MATCH: what applies to the named resource */
        return !strcmp(f->resource_name, r->name) || !strcmp(r->name, "*");
    return !strncmp(f->resource_name, r->name, strlen(r->name));
}

static bool acl_entry_matches(const struct acl_entry *e, const struct auth_acl *f)
{
    return (!f->principal || !strcmp(f->principal, e->principal)) &&
           (!f->host || !strcmp(f->host, e->host)) &&
           (f->operation == AUTH_OP_ANY || f->operation == e->op) &&
           (f->permission == AUTH_PERM_ANY || f->permission == e->perm);
}

static struct auth_acl acl_binding(const struct acl_res *r, const struct acl_entry *e)
{
    return (struct auth_acl){r->type, r->name, r->pattern, e->principal, e->host, e->op, e->perm};
}

/* ---- sizes ------------------------------------------------------------------------ */

/* Bytes of s percent-encoded (acl_put_str). */
static size_t acl_encoded_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += (unsigned char)*s > ' ' && (unsigned char)*s <= '~' && *s != '%' ? 1 : 3;
    return n;
}

/* Bytes of a's line in the file, newline included (acl_line_format). */
static size_t acl_line_len(const struct auth_acl *a)
{
    int codes = snprintf(NULL, 0, "%d %d %d %d ", a->resource_type, a->pattern_type, a->operation,
                         a->permission);
    return (size_t)codes + acl_encoded_len(a->principal) + 1 + acl_encoded_len(a->host) + 1 +
           acl_encoded_len(a->resource_name) + 1;
}

/* ---- the map -------------------------------------------------------------------- */

/* The map key of a resource pattern: type, pattern, then the name's bytes. */
static size_t acl_res_key(char *key, enum auth_resource type, enum auth_pattern pattern,
                          const char *name, size_t len)
{
    key[0] = (char)type;
    key[1] = (char)pattern;
    memcpy(key + 2, name, len);
    return len + 2;
}

static struct acl_res *acl_res_find(const struct auth_acls *as, enum auth_resource type,
                                    enum auth_pattern pattern, const char *name, size_t len)
{
    char key[ACL_NAME_MAX + 2];
    if (len > ACL_NAME_MAX)
        return NULL;
    return hmap_get(&as->res, key, acl_res_key(key, type, pattern, name, len));
}

static void acl_res_free(struct acl_res *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->e[i].principal);
        free(r->e[i].host);
    }
    free(r->e);
    free(r->name);
    free(r);
}

static bool acl_res_has(const struct acl_res *r, const struct auth_acl *a)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->e[i].op == a->operation && r->e[i].perm == a->permission &&
            !strcmp(r->e[i].principal, a->principal) && !strcmp(r->e[i].host, a->host))
            return true;
    return false;
}

/* Whether a (valid) binding is already held. */
static bool acl_exists(const struct auth_acls *as, const struct auth_acl *a)
{
    const struct acl_res *r = acl_res_find(as, a->resource_type, a->pattern_type, a->resource_name,
                                           strlen(a->resource_name));
    return r && acl_res_has(r, a);
}

/* Add a valid binding that is not held yet: 0 or -ENOMEM. */
static int acl_insert(struct auth_acls *as, const struct auth_acl *a)
{
    size_t len = strlen(a->resource_name);
    struct acl_res *r = acl_res_find(as, a->resource_type, a->pattern_type, a->resource_name, len);
    /* the entry's parts first: nothing is added to the map unless all exist */
    struct acl_entry e = {strdup(a->principal), strdup(a->host), a->operation, a->permission};
    bool fresh = !r;
    if (!e.principal || !e.host)
        goto fail_entry;
    if (fresh && (!(r = calloc(1, sizeof *r)) || !(r->name = strdup(a->resource_name))))
        goto fail_res;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 4;
        struct acl_entry *grown = realloc(r->e, cap * sizeof *grown);
        if (!grown)
            goto fail_res;
        r->e = grown;
        r->cap = cap;
    }
    if (fresh) {
        char key[ACL_NAME_MAX + 2];
        r->type = a->resource_type;
        r->pattern = a->pattern_type;
        if (hmap_put(&as->res, key, acl_res_key(key, r->type, r->pattern, r->name, len), r))
            goto fail_res;
        if (r->pattern == AUTH_PAT_PREFIXED && len > as->prefix_max)
            as->prefix_max = len;
    }
    r->e[r->n++] = e;
    as->count++;
    as->bytes += acl_line_len(a);
    return 0;
fail_res:
    if (fresh && r) {
        free(r->e);
        free(r->name);
        free(r);
    }
fail_entry:
    free(e.principal);
    free(e.host);
    return -ENOMEM;
}

/* Remove entry i of r, and r itself when it empties: then true (r is freed). */
static bool acl_remove(struct auth_acls *as, struct acl_res *r, size_t i)
{
    struct auth_acl a = acl_binding(r, &r->e[i]);
    as->bytes -= acl_line_len(&a);
    free(r->e[i].principal);
    free(r->e[i].host);
    r->e[i] = r->e[--r->n];
    as->count--;
    if (r->n)
        return false;
    char key[ACL_NAME_MAX + 2];
    hmap_del(&as->res, key, acl_res_key(key, r->type, r->pattern, r->name, strlen(r->name)));
    acl_res_free(r);
    return true;
}

/* ---- the file ------------------------------------------------------------------- */

static int acl_put_str(char *out, size_t size, size_t *len, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int w = ch > ' ' && ch <= '~' && ch != '%'
                    ? snprintf(out + *len, size - *len, "%c", ch)
                    : snprintf(out + *len, size - *len, "%%%02X", ch);
        if (w < 0 || (size_t)w >= size - *len)
            return -ENOSPC;
        *len += (size_t)w;
    }
    return 0;
}

/* One binding's line into out (at least ACL_LINE_MAX bytes); its length. */
static size_t acl_line_format(char *out, const struct auth_acl *a)
{
    size_t len = (size_t)snprintf(out, ACL_LINE_MAX, "%d %d %d %d ", a->resource_type,
                                  a->pattern_type, a->operation, a->permission);
    acl_put_str(out, ACL_LINE_MAX, &len, a->principal);
    out[len++] = ' ';
    acl_put_str(out, ACL_LINE_MAX, &len, a->host);
    out[len++] = ' ';
    acl_put_str(out, ACL_LINE_MAX, &len, a->resource_name);
    out[len++] = '\n';
    return len;
}

/* Room for one more line in *buf (cap bytes, len used): 0 or -ENOMEM. */
static int acl_buf_reserve(char **buf, size_t *cap, size_t len)
{
    if (*cap - len >= ACL_LINE_MAX)
        return 0;
    char *nb = realloc(*buf, 2 * *cap + ACL_LINE_MAX);
    if (!nb)
        return -ENOMEM;
    *buf = nb;
    *cap = 2 * *cap + ACL_LINE_MAX;
    return 0;
}

/* The bindings held, but those skip (may be NULL) says to leave out, as the
 * file's bytes in *out (caller frees). 0 or -ENOMEM. */
static int acl_file_build(const struct auth_acls *as,
                          bool (*skip)(const struct acl_res *, size_t, void *), void *arg,
                          char **out, size_t *out_len)
{
    size_t cap = 1 << 16, len, pos = 0, kl;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    len = (size_t)snprintf(buf, cap, "%s", ACL_FILE_HEADER);
    const void *k;
    void *v;
    while (hmap_next(&as->res, &pos, &k, &kl, &v)) {
        const struct acl_res *r = v;
        for (size_t e = 0; e < r->n; e++) {
            if (skip && skip(r, e, arg))
                continue;
            if (acl_buf_reserve(&buf, &cap, len)) {
                free(buf);
                return -ENOMEM;
            }
            struct auth_acl a = acl_binding(r, &r->e[e]);
            len += acl_line_format(buf + len, &a);
        }
    }
    *out = buf;
    *out_len = len;
    return 0;
}

static int acl_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode a percent-encoded field in place: 0, or -EBADMSG. */
static int acl_field_decode(char *s)
{
    char *w = s;
    for (; *s; s++) {
        if (*s != '%') {
            *w++ = *s;
            continue;
        }
        int hi = acl_hex(s[1]), lo = hi < 0 ? -1 : acl_hex(s[2]);
        if (lo < 0 || (hi == 0 && lo == 0))
            return -EBADMSG;
        *w++ = (char)(hi << 4 | lo);
        s += 2;
    }
    *w = 0;
    return 0;
}

/* Parse one line (NUL-terminated, no newline) into a valid binding whose strings
 * point into line. 0, or -EBADMSG. */
static int acl_line_parse(char *line, struct auth_acl *a)
{
    int type, pattern, op, perm, used = 0;
    if (sscanf(line, "%d %d %d %d %n", &type, &pattern, &op, &perm, &used) != 4 || !used)
        return -EBADMSG;
    char *principal = line + used, *host = strchr(principal, ' ');
    char *name = host ? strchr(host + 1, ' ') : NULL;
    if (!name || strchr(name + 1, ' '))
        return -EBADMSG;
    *host++ = 0;
    *name++ = 0;
    if (acl_field_decode(principal) || acl_field_decode(host) || acl_field_decode(name))
        return -EBADMSG;
    *a = (struct auth_acl){type, name, pattern, principal, host, op, perm};
    return acl_binding_invalid(a) ? -EBADMSG : 0;
}

static int acl_file_load(struct auth_acls *as)
{
    char *buf;
    size_t len;
    int rc = file_read_all(as->path, ACL_FILE_MAX, &buf, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    rc = -EBADMSG;
    if (strncmp(buf, ACL_FILE_HEADER, strlen(ACL_FILE_HEADER)) || strlen(buf) != len ||
        (len && buf[len - 1] != '\n'))
        goto out;
    for (char *line = buf + strlen(ACL_FILE_HEADER), *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        *nl = 0;
        struct auth_acl a;
        if (nl - line > ACL_LINE_MAX || acl_line_parse(line, &a) || as->count >= AUTH_ACLS_MAX)
            goto out;
        if (!acl_exists(as, &a) && (rc = acl_insert(as, &a)))
            goto out;
        rc = -EBADMSG;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

/* Write the set held, less what skip (may be NULL) leaves out. */
static int acl_file_write(struct auth_acls *as,
                          bool (*skip)(const struct acl_res *, size_t, void *), void *arg)
{
    char *buf;
    size_t len;
    int rc = acl_file_build(as, skip, arg, &buf, &len);
    if (rc)
        return rc;
    rc = file_write_atomic(as->path, buf, len);
    free(buf);
    return rc;
}

/* ---- the interface -------------------------------------------------------------- */

int auth_acls_open(const char *dir, struct auth_acls **out)
{
    struct auth_acls *as = calloc(1, sizeof *as);
    if (!as)
        return -ENOMEM;
    if (snprintf(as->path, sizeof as->path, "%s/%s", dir, ACL_FILE) >= (int)sizeof as->path) {
        free(as);
        return -ENAMETOOLONG;
    }
    pthread_mutex_init(&as->mu, NULL);
    hmap_init(&as->res);
    int rc = acl_file_load(as);
    if (rc) {
        auth_acls_close(as);
        return rc;
    }
    *out = as;
    return 0;
}

void auth_acls_close(struct auth_acls *as)
{
    if (!as)
        return;
    size_t pos = 0, kl;
    const void *k;
    void *v;
    while (hmap_next(&as->res, &pos, &k, &kl, &v))
        acl_res_free(v);
    hmap_release(&as->res);
    pthread_mutex_destroy(&as->mu);
    free(as);
}

/* Take back a binding acl_insert added (a write that failed). */
static void acl_unwind(struct auth_acls *as, const struct auth_acl *a)
{
    struct acl_res *r = acl_res_find(as, a->resource_type, a->pattern_type, a->resource_name,
                                     strlen(a->resource_name));
    for (size_t i = r ? r->n : 0; i-- > 0;)
        if (r->e[i].op == a->operation && r->e[i].perm == a->permission &&
            !strcmp(r->e[i].principal, a->principal) && !strcmp(r->e[i].host, a->host)) {
            acl_remove(as, r, i);
            return;
        }
}

int auth_acls_create_many(struct auth_acls *as, const struct auth_acl *acls, size_t n, int *rcs,
                          const char **whys)
{
    /* added in memory first (the map finds duplicates), then written in one go;
     * a write that fails takes them all back */
    bool *added = calloc(n ? n : 1, sizeof *added);
    if (!added)
        return -ENOMEM;
    int rc = 0;
    size_t nadd = 0;
    pthread_mutex_lock(&as->mu);
    for (size_t i = 0; i < n && !rc; i++) {
        whys[i] = acl_binding_invalid(&acls[i]);
        rcs[i] = whys[i] ? -EINVAL : 0;
        if (whys[i] || acl_exists(as, &acls[i]))
            continue;
        if (as->count >= AUTH_ACLS_MAX) {
            rcs[i] = -ENOSPC;
            whys[i] = "the broker holds as many ACL bindings as it may (100000)";
            continue;
        }
        if (as->bytes + acl_line_len(&acls[i]) > ACL_BYTES_MAX) {
            rcs[i] = -ENOSPC;
            whys[i] = "the ACL bindings would pass 32 MiB together";
            continue;
        }
        rc = acl_insert(as, &acls[i]);
        added[i] = !rc;
        nadd += !rc;
    }
    if (!rc && nadd)
        rc = acl_file_write(as, NULL, NULL);
    for (size_t i = 0; rc && i < n; i++)
        if (added[i])
            acl_unwind(as, &acls[i]);
    pthread_mutex_unlock(&as->mu);
    free(added);
    return rc;
}

int auth_acls_create(struct auth_acls *as, const struct auth_acl *acl, const char **why)
{
    int one;
    int rc = auth_acls_create_many(as, acl, 1, &one, why);
    return rc ? rc : one;
}

int auth_acls_each(struct auth_acls *as, const struct auth_acl *filter,
                   int (*fn)(const struct auth_acl *acl, void *arg), void *arg)
{
    pthread_mutex_lock(&as->mu);
    int rc = acl_each_filtered(as, filter, fn, arg);
    pthread_mutex_unlock(&as->mu);
    return rc;
}

static bool acl_skip_matching(const struct acl_res *r, size_t i, void *filter)
{
    return acl_res_matches(r, filter) && acl_entry_matches(&r->e[i], filter);
}

int auth_acls_delete(struct auth_acls *as, const struct auth_acl *filter,
                     void (*fn)(const struct auth_acl *acl, void *arg), void *arg, const char **why)
{
    if ((*why = acl_filter_invalid(filter)))
        return -EINVAL;
    struct auth_acl *f = (struct auth_acl *)filter; /* only read, through skip's void * */
    pthread_mutex_lock(&as->mu);
    int rc = acl_file_write(as, acl_skip_matching, f);
    /* the file no longer has them: drop them here too, from a list of the
     * resources concerned (removing from the map while walking it would skip some) */
    struct acl_res **hit = NULL;
    size_t nhit = 0, pos = 0, kl;
    const void *k;
    void *v;
    if (!rc && !(hit = calloc(as->res.n + 1, sizeof *hit)))
        rc = -ENOMEM;
    while (!rc && hmap_next(&as->res, &pos, &k, &kl, &v))
        if (acl_res_matches(v, filter))
            hit[nhit++] = v;
    for (size_t j = 0; j < nhit; j++) {
        struct acl_res *r = hit[j];
        for (size_t i = r->n; i-- > 0;) {
            if (!acl_entry_matches(&r->e[i], filter))
                continue;
            if (fn) {
                struct auth_acl a = acl_binding(r, &r->e[i]);
                fn(&a, arg);
            }
            if (acl_remove(as, r, i))
                break; /* r is gone with its last entry */
        }
    }
    free(hit);
    pthread_mutex_unlock(&as->mu);
    return rc;
}

size_t auth_acls_count(struct auth_acls *as)
{
    pthread_mutex_lock(&as->mu);
    size_t n = as->count;
    pthread_mutex_unlock(&as->mu);
    return n;
}

/* ---- for authorize.c (held under the lock there) -------------------------------- */

void acl_lock(struct auth_acls *as)
{
    pthread_mutex_lock(&as->mu);
}

void acl_unlock(struct auth_acls *as)
{
    pthread_mutex_unlock(&as->mu);
}

int acl_each_applying(struct auth_acls *as, enum auth_resource type, const char *name,
                      int (*fn)(const struct auth_acl *acl, void *arg), void *arg)
{
    size_t len = strlen(name);
    const struct acl_res *lit = acl_res_find(as, type, AUTH_PAT_LITERAL, name, len);
    const struct acl_res *star =
        strcmp(name, "*") ? acl_res_find(as, type, AUTH_PAT_LITERAL, "*", 1) : NULL;
    int rc = 0;
    const struct acl_res *rs[2] = {lit, star};
    for (int j = 0; j < 2; j++)
        for (size_t i = 0; rs[j] && i < rs[j]->n && !rc; i++) {
            struct auth_acl a = acl_binding(rs[j], &rs[j]->e[i]);
            rc = fn(&a, arg);
        }
    size_t upto = len < as->prefix_max ? len : as->prefix_max;
    for (size_t p = 1; p <= upto && !rc; p++) {
        const struct acl_res *r = acl_res_find(as, type, AUTH_PAT_PREFIXED, name, p);
        for (size_t i = 0; r && i < r->n && !rc; i++) {
            struct auth_acl a = acl_binding(r, &r->e[i]);
            rc = fn(&a, arg);
        }
    }
    return rc;
}

int acl_each_filtered(struct auth_acls *as, const struct auth_acl *filter,
                      int (*fn)(const struct auth_acl *acl, void *arg), void *arg)
{
    int rc = 0;
    size_t pos = 0, kl;
    const void *k;
    void *v;
    while (!rc && hmap_next(&as->res, &pos, &k, &kl, &v)) {
        const struct acl_res *r = v;
        if (!acl_res_matches(r, filter))
            continue;
        for (size_t i = 0; i < r->n && !rc; i++)
            if (acl_entry_matches(&r->e[i], filter)) {
                struct auth_acl a = acl_binding(r, &r->e[i]);
                rc = fn(&a, arg);
            }
    }
    return rc;
}
