/*
 * cred.c - the SCRAM credential store: for each user and mechanism, the salt, the
 * iteration count and the two keys RFC 5802 derives (StoredKey, ServerKey). The
 * password itself is never kept, so a copy of the file does not let anyone log in
 * with PLAIN, and SCRAM's proof cannot be replayed from it.
 *
 * In memory the credentials are one array sorted by (user, mechanism), searched by
 * bisection; AUTH_CREDS_MAX_USERS bounds it (two mechanisms per user at most). On
 * disk they are one text file in the data directory, rewritten whole on every change
 * by file_write_atomic (temporary file, fsync, rename, fsync of the directory), so a
 * crash leaves the old file or the new one. Changes are rare (an administrator's),
 * and a few hundred bytes per user keep the whole rewrite cheap. The format:
 *
 *   brook-scram-credentials 1
 *   <mechanism> <iterations> <salt hex> <StoredKey hex> <ServerKey hex> <user hex>
 *   ...
 *   crc32c <8 hex digits: the CRC-32C of every byte before this line>
 *
 * Names are hex-encoded so that any byte a SCRAM user name may hold (',' '=' ' ')
 * survives. A file that does not parse, or whose checksum is wrong, is refused with
 * -EBADMSG and left alone: the broker does not start with fewer users than it had.
 *
 * One mutex guards the array; the key derivations of auth_creds_set_password and
 * auth_creds_check_password run outside it, on copies.
 */
#include "auth/auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "lib/crc32c.h"
#include "lib/fileio.h"
#include "lib/grow.h"

#define CREDS_FILE   ".scram-credentials"
#define CREDS_HEADER "brook-scram-credentials 1\n"
#define CREDS_SALT   32 /* bytes of fresh salt for a password */

struct cred_entry {
    char user[AUTH_USER_MAX + 1];
    struct auth_scram_cred cred;
};

struct auth_creds {
    pthread_mutex_t lock;
    char *path;
    struct cred_entry *v; /* sorted by (user, mech) */
    size_t n, cap;
};

/* A user name the store accepts: 1..AUTH_USER_MAX bytes, no control characters. */
static bool creds_user_valid(const char *user)
{
    size_t n = strnlen(user, AUTH_USER_MAX + 1);
    if (n == 0 || n > AUTH_USER_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)user[i] < 0x20 || user[i] == 0x7f)
            return false;
    return true;
}

static bool creds_cred_valid(const struct auth_scram_cred *c)
{
    return (c->mech == SCRAM_SHA_256 || c->mech == SCRAM_SHA_512) &&
           c->iterations >= SCRAM_ITER_MIN && c->iterations <= SCRAM_ITER_MAX && c->salt_len >= 1 &&
           c->salt_len <= SCRAM_SALT_MAX;
}

static int entry_cmp(const char *user, enum scram_mech mech, const struct cred_entry *e)
{
    int c = strcmp(user, e->user);
    return c ? c : (int)mech - (int)e->cred.mech;
}

/* Where (user, mech) is, or would go: *found says which. */
static size_t creds_find(const struct auth_creds *cs, const char *user, enum scram_mech mech,
                         bool *found)
{
    size_t lo = 0, hi = cs->n;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = entry_cmp(user, mech, &cs->v[mid]);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static size_t creds_user_count(const struct auth_creds *cs)
{
    size_t users = 0;
    for (size_t i = 0; i < cs->n; i++)
        users += i == 0 || strcmp(cs->v[i].user, cs->v[i - 1].user) != 0;
    return users;
}

/* ---- the file ------------------------------------------------------------------------ */

static void hex_put(char **o, const void *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        *(*o)++ = digits[b[i] >> 4];
        *(*o)++ = digits[b[i] & 15];
    }
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The hex field at *p, up to term, into out (exactly want bytes, or 1..want when
 * want_any): the byte count, or -EBADMSG. */
static int hex_get(const char **p, const char *end, uint8_t *out, size_t want, bool want_any,
                   char term)
{
    const char *s = *p;
    size_t n = 0;
    while (s + 1 < end && s[0] != term) {
        int hi = hex_val(s[0]), lo = hex_val(s[1]);
        if (hi < 0 || lo < 0 || n >= want)
            return -EBADMSG;
        out[n++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    if (s >= end || *s != term || n == 0 || (!want_any && n != want))
        return -EBADMSG;
    *p = s + 1;
    return (int)n;
}

/* Write every entry out, durably. Called with the lock held. */
static int creds_save(struct auth_creds *cs)
{
    /* per entry: a mechanism name, 5 digits, four hex fields, separators */
    size_t per = 14 + 6 + 2 * (SCRAM_SALT_MAX + 2 * SCRAM_KEY_MAX + AUTH_USER_MAX) + 6;
    size_t cap = sizeof CREDS_HEADER + cs->n * per + 32;
    char *buf = malloc(cap), *o = buf;
    int rc;
    if (!buf)
        return -ENOMEM;
    o += sprintf(o, "%s", CREDS_HEADER);
    for (size_t i = 0; i < cs->n; i++) {
        const struct cred_entry *e = &cs->v[i];
        size_t kl = scram_key_len(e->cred.mech);
        o += sprintf(o, "%s %d ", scram_mech_name(e->cred.mech), (int)e->cred.iterations);
        hex_put(&o, e->cred.salt, e->cred.salt_len);
        *o++ = ' ';
        hex_put(&o, e->cred.stored_key, kl);
        *o++ = ' ';
        hex_put(&o, e->cred.server_key, kl);
        *o++ = ' ';
        hex_put(&o, e->user, strlen(e->user));
        *o++ = '\n';
    }
    o += sprintf(o, "crc32c %08x\n", (unsigned)crc32c(0, buf, (size_t)(o - buf)));
    rc = file_write_atomic(cs->path, buf, (size_t)(o - buf));
    OPENSSL_cleanse(buf, cap);
    free(buf);
    return rc;
}

/* One entry line at *p into *e: 0, or -EBADMSG. */
static int creds_parse_line(const char **p, const char *end, struct cred_entry *e)
{
    const char *s = *p, *sp = memchr(s, ' ', (size_t)(end - s));
    char name[16], num[8];
    uint8_t user[AUTH_USER_MAX];
    int n;

    memset(e, 0, sizeof *e);
    if (!sp || (size_t)(sp - s) >= sizeof name)
        return -EBADMSG;
    memcpy(name, s, (size_t)(sp - s));
    name[sp - s] = 0;
    if (scram_mech_parse(name, &e->cred.mech) < 0)
        return -EBADMSG;
    s = sp + 1;
    sp = memchr(s, ' ', (size_t)(end - s));
    if (!sp || sp == s || (size_t)(sp - s) >= sizeof num)
        return -EBADMSG;
    memcpy(num, s, (size_t)(sp - s));
    num[sp - s] = 0;
    e->cred.iterations = (int32_t)strtol(num, NULL, 10);
    s = sp + 1;
    size_t kl = scram_key_len(e->cred.mech);
    if ((n = hex_get(&s, end, e->cred.salt, SCRAM_SALT_MAX, true, ' ')) < 0)
        return -EBADMSG;
    e->cred.salt_len = (size_t)n;
    if (hex_get(&s, end, e->cred.stored_key, kl, false, ' ') < 0 ||
        hex_get(&s, end, e->cred.server_key, kl, false, ' ') < 0 ||
        (n = hex_get(&s, end, user, AUTH_USER_MAX, true, '\n')) < 0)
        return -EBADMSG;
    memcpy(e->user, user, (size_t)n);
    e->user[n] = 0;
    if (!creds_user_valid(e->user) || !creds_cred_valid(&e->cred))
        return -EBADMSG;
    *p = s;
    return 0;
}

/* Read the file (absent: an empty store). */
static int creds_load(struct auth_creds *cs)
{
    char *buf = NULL;
    size_t len = 0;
    unsigned want = 0;
    int rc = file_read_all(cs->path, 64u << 20, &buf, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    rc = -EBADMSG;
    const char *p = buf, *end = buf + len;
    const char *tail = len >= 16 ? end - 16 : NULL; /* "crc32c xxxxxxxx\n" */
    if (!tail || memcmp(p, CREDS_HEADER, sizeof CREDS_HEADER - 1) ||
        sscanf(tail, "crc32c %8x\n", &want) != 1 || end[-1] != '\n' ||
        crc32c(0, buf, (size_t)(tail - buf)) != want)
        goto cleanup;
    p += sizeof CREDS_HEADER - 1;
    while (p < tail) {
        struct cred_entry e;
        bool found;
        if (creds_parse_line(&p, tail, &e) < 0)
            goto cleanup;
        size_t at = creds_find(cs, e.user, e.cred.mech, &found);
        if (found || at != cs->n || cs->n >= 2 * AUTH_CREDS_MAX_USERS) /* sorted, unique */
            goto cleanup;
        if (ARRAY_GROW(cs->v, cs->cap, cs->n + 1) < 0) {
            rc = -ENOMEM;
            goto cleanup;
        }
        cs->v[cs->n++] = e;
    }
    rc = 0;
cleanup:
    if (buf)
        OPENSSL_cleanse(buf, len);
    free(buf);
    return rc;
}

/* ---- the interface --------------------------------------------------------------------- */

int auth_creds_open(const char *dir, struct auth_creds **out)
{
    struct auth_creds *cs = calloc(1, sizeof *cs);
    int rc;
    if (!cs)
        return -ENOMEM;
    pthread_mutex_init(&cs->lock, NULL);
    if (asprintf(&cs->path, "%s/%s", dir, CREDS_FILE) < 0) {
        cs->path = NULL;
        rc = -ENOMEM;
        goto fail;
    }
    if ((rc = creds_load(cs)) < 0)
        goto fail;
    *out = cs;
    return 0;
fail:
    auth_creds_close(cs);
    return rc;
}

void auth_creds_close(struct auth_creds *cs)
{
    if (!cs)
        return;
    if (cs->v)
        OPENSSL_cleanse(cs->v, cs->cap * sizeof *cs->v);
    free(cs->v);
    free(cs->path);
    pthread_mutex_destroy(&cs->lock);
    free(cs);
}

int auth_creds_get(struct auth_creds *cs, const char *user, enum scram_mech mech,
                   struct auth_scram_cred *out)
{
    bool found;
    pthread_mutex_lock(&cs->lock);
    size_t at = creds_find(cs, user, mech, &found);
    if (found)
        *out = cs->v[at].cred;
    pthread_mutex_unlock(&cs->lock);
    return found ? 0 : -ENOENT;
}

int auth_creds_set(struct auth_creds *cs, const char *user, const struct auth_scram_cred *cred)
{
    bool found;
    int rc = 0;
    if (!creds_user_valid(user) || !creds_cred_valid(cred))
        return -EINVAL;
    pthread_mutex_lock(&cs->lock);
    size_t at = creds_find(cs, user, cred->mech, &found);
    if (found) {
        struct auth_scram_cred old = cs->v[at].cred;
        cs->v[at].cred = *cred;
        if ((rc = creds_save(cs)) < 0)
            cs->v[at].cred = old; /* memory says what the disk says */
        goto out;
    }
    bool user_known = (at > 0 && !strcmp(cs->v[at - 1].user, user)) ||
                      (at < cs->n && !strcmp(cs->v[at].user, user));
    if (!user_known && creds_user_count(cs) >= AUTH_CREDS_MAX_USERS) {
        rc = -ENOSPC;
        goto out;
    }
    if ((rc = ARRAY_GROW(cs->v, cs->cap, cs->n + 1)) < 0)
        goto out;
    memmove(&cs->v[at + 1], &cs->v[at], (cs->n - at) * sizeof *cs->v);
    memset(&cs->v[at], 0, sizeof cs->v[at]);
    strcpy(cs->v[at].user, user);
    cs->v[at].cred = *cred;
    cs->n++;
    if ((rc = creds_save(cs)) < 0) {
        memmove(&cs->v[at], &cs->v[at + 1], (cs->n - at - 1) * sizeof *cs->v);
        cs->n--;
    }
out:
    pthread_mutex_unlock(&cs->lock);
    return rc;
}

int auth_creds_set_password(struct auth_creds *cs, const char *user, enum scram_mech mech,
                            const char *password, size_t password_len, int32_t iterations)
{
    struct auth_scram_cred c = {.mech = mech, .iterations = iterations, .salt_len = CREDS_SALT};
    int rc;
    if (!creds_user_valid(user) || !creds_cred_valid(&c))
        return -EINVAL;
    if (RAND_bytes(c.salt, CREDS_SALT) != 1)
        return -EIO;
    rc = scram_derive(mech, password, password_len, c.salt, c.salt_len, iterations, NULL,
                      c.stored_key, c.server_key);
    if (rc == 0)
        rc = auth_creds_set(cs, user, &c);
    OPENSSL_cleanse(&c, sizeof c);
    return rc;
}

int auth_creds_delete(struct auth_creds *cs, const char *user, enum scram_mech mech)
{
    bool found;
    int rc = -ENOENT;
    pthread_mutex_lock(&cs->lock);
    size_t at = creds_find(cs, user, mech, &found);
    if (found) {
        struct cred_entry gone = cs->v[at];
        memmove(&cs->v[at], &cs->v[at + 1], (cs->n - at - 1) * sizeof *cs->v);
        cs->n--;
        if ((rc = creds_save(cs)) < 0) { /* put it back: the file still has it */
            memmove(&cs->v[at + 1], &cs->v[at], (cs->n - at) * sizeof *cs->v);
            cs->v[at] = gone;
            cs->n++;
        }
        OPENSSL_cleanse(&gone, sizeof gone);
    }
    pthread_mutex_unlock(&cs->lock);
    return rc;
}

/* fn runs without the lock (it may call back into the store): on a snapshot of the
 * names, mechanisms and counts. */
int auth_creds_each(struct auth_creds *cs,
                    int (*fn)(const char *user, enum scram_mech mech, int32_t iterations,
                              void *arg),
                    void *arg)
{
    struct cred_entry *snap;
    size_t n;
    int rc = 0;
    pthread_mutex_lock(&cs->lock);
    n = cs->n;
    snap = malloc((n ? n : 1) * sizeof *snap);
    if (snap)
        for (size_t i = 0; i < n; i++) {
            memcpy(snap[i].user, cs->v[i].user, sizeof snap[i].user);
            snap[i].cred.mech = cs->v[i].cred.mech;
            snap[i].cred.iterations = cs->v[i].cred.iterations;
        }
    pthread_mutex_unlock(&cs->lock);
    if (!snap)
        return -ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fn(snap[i].user, snap[i].cred.mech, snap[i].cred.iterations, arg);
    free(snap);
    return rc;
}

/* Whether password derives c's StoredKey. */
static bool creds_password_matches(const struct auth_scram_cred *c, const char *password,
                                   size_t password_len)
{
    uint8_t stored[SCRAM_KEY_MAX];
    if (scram_derive(c->mech, password, password_len, c->salt, c->salt_len, c->iterations, NULL,
                     stored, NULL) < 0)
        return false;
    bool ok = CRYPTO_memcmp(stored, c->stored_key, scram_key_len(c->mech)) == 0;
    OPENSSL_cleanse(stored, sizeof stored);
    return ok;
}

bool auth_creds_check_password(struct auth_creds *cs, const char *user, const char *password,
                               size_t password_len)
{
    static const enum scram_mech order[] = {SCRAM_SHA_512, SCRAM_SHA_256};
    struct auth_scram_cred c;
    bool any = false, ok = false;
    for (int i = 0; i < 2 && !ok; i++) {
        if (auth_creds_get(cs, user, order[i], &c) < 0)
            continue;
        any = true;
        ok = creds_password_matches(&c, password, password_len);
    }
    if (!any) {
        /* the same work as for a user who exists, so timing does not tell */
        struct auth_scram_cred dummy = {
            .mech = SCRAM_SHA_512, .iterations = SCRAM_ITER_DEF, .salt_len = CREDS_SALT};
        creds_password_matches(&dummy, password, password_len);
    }
    OPENSSL_cleanse(&c, sizeof c);
    return ok;
}
