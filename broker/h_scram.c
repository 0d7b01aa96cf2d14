/*
 * h_scram.c - SCRAM users over the wire: DescribeUserScramCredentials and
 * AlterUserScramCredentials, over the credential store (auth/cred.c).
 *
 * Describe answers, per user, which mechanisms hold a credential and at what
 * iteration count; never a salt or a key. A null or empty list asks for every
 * user. A user named twice is answered once, DUPLICATE_RESOURCE, and a user
 * without a credential RESOURCE_NOT_FOUND, as Kafka answers them.
 *
 * Alter carries deletions and upsertions; an upsertion brings the salt, the
 * iteration count and the salted password (Hi(password, salt, i)), so the
 * password itself never crosses the wire; the broker derives StoredKey and
 * ServerKey from it and keeps only those. The answer has one result per user:
 * every change to a user is checked first (Kafka's errors: an unknown mechanism
 * UNSUPPORTED_SASL_MECHANISM, a user and mechanism changed twice
 * DUPLICATE_RESOURCE, an iteration count outside 4096..16384 or an empty name
 * UNACCEPTABLE_CREDENTIAL, deleting what does not exist RESOURCE_NOT_FOUND), and a
 * user with any error keeps its credentials untouched. Each change is durable
 * (the store fsyncs), so the changes run on the admin thread, not the loop; and a
 * request holds at most SCRAM_ALTER_MAX changes, because each one rewrites the
 * store's file (Kafka has no such limit; more is INVALID_REQUEST).
 *
 * Entries are grouped by sorting indices by (name, mechanism, position): the
 * runs of one name are one user, adjacent equal mechanisms are the duplicates.
 * That costs n log n, whatever the request repeats.
 *
 * With ACLs on, Describe needs DESCRIBE and Alter ALTER on the cluster, as in
 * Kafka: without it Describe answers CLUSTER_AUTHORIZATION_FAILED for the whole
 * request, and Alter the same for each user, changing nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define SCRAM_ALTER_MAX      100 /* credential changes in one AlterUserScramCredentials */
#define SCRAM_ALTER_MAX_TEXT "100"

/* ---- DescribeUserScramCredentials ---- */

struct described {
    char user[AUTH_USER_MAX + 1];
    enum scram_mech mech;
    int32_t iterations;
};

struct describe_all {
    struct described *v;
    size_t n, cap;
};

static int describe_collect(const char *user, enum scram_mech mech, int32_t iterations, void *arg)
{
    struct describe_all *all = arg;
    if (all->n == all->cap) {
        all->cap = all->cap ? 2 * all->cap : 64;
        all->v = xrealloc(all->v, all->cap * sizeof *all->v);
    }
    struct described *d = &all->v[all->n++];
    snprintf(d->user, sizeof d->user, "%s", user);
    d->mech = mech;
    d->iterations = iterations;
    return 0;
}

/* Every user's credentials, one result per user (the store walks names in order). */
static void describe_every_user(struct request *rq,
                                struct kafka_describe_user_scram_credentials_resp *resp)
{
    struct broker *b = rq->c->b;
    struct describe_all all = {0};
    auth_creds_each(b->creds, describe_collect, &all);
    uint64_t bytes =
        response_bytes(all.n, sizeof *resp->results + sizeof *resp->results->credential_infos);
    for (size_t i = 0; i < all.n; i++)
        bytes += response_string_bytes((int64_t)strlen(all.v[i].user));
    if (!response_fits(rq, bytes)) {
        free(all.v);
        request_refuse(rq, "the DescribeUserScramCredentials response would pass its limit");
        return;
    }
    resp->results =
        PENDING_NEW(rq->pd, struct kafka_describe_user_scram_credentials_resp_result, all.n);
    for (size_t i = 0; i < all.n; i++) {
        struct kafka_describe_user_scram_credentials_resp_result *r =
            &resp->results[resp->n_results];
        if (i == 0 || strcmp(all.v[i].user, all.v[i - 1].user)) {
            resp->n_results++;
            r->user = kstr_from(pd_strdup(rq->pd, kstr_from(all.v[i].user)));
            r->error_message = KSTR_NULL;
            r->credential_infos = PENDING_NEW(
                rq->pd, struct kafka_describe_user_scram_credentials_resp_credential, 2);
        } else {
            r = &resp->results[resp->n_results - 1];
        }
        if (r->n_credential_infos < 2)
            r->credential_infos[r->n_credential_infos++] =
                (struct kafka_describe_user_scram_credentials_resp_credential){
                    (int8_t)all.v[i].mech, all.v[i].iterations};
    }
    free(all.v);
    request_respond(rq, resp);
}

static int describe_name_order(const void *ctx, int32_t a, int32_t b)
{
    const struct kafka_describe_user_scram_credentials_req *req = ctx;
    return kstr_compare(req->users[a].name, req->users[b].name);
}

/* name's credentials into r: RESOURCE_NOT_FOUND when it has none. */
static void describe_one(struct broker *b, struct pending *pd, struct kstr name,
                         struct kafka_describe_user_scram_credentials_resp_result *r)
{
    static const enum scram_mech mechs[] = {SCRAM_SHA_256, SCRAM_SHA_512};
    char user[AUTH_USER_MAX + 1];
    r->credential_infos =
        PENDING_NEW(pd, struct kafka_describe_user_scram_credentials_resp_credential, 2);
    bool named = name.len > 0 && name.len <= AUTH_USER_MAX && !memchr(name.p, 0, (size_t)name.len);
    if (named)
        snprintf(user, sizeof user, "%.*s", (int)name.len, name.p);
    for (size_t m = 0; named && m < sizeof mechs / sizeof mechs[0]; m++) {
        struct auth_scram_cred cred;
        if (auth_creds_get(b->creds, user, mechs[m], &cred) == 0)
            r->credential_infos[r->n_credential_infos++] =
                (struct kafka_describe_user_scram_credentials_resp_credential){(int8_t)mechs[m],
                                                                               cred.iterations};
    }
    if (r->n_credential_infos == 0) {
        r->error_code = KAFKA_RESOURCE_NOT_FOUND;
        r->error_message = KSTR("Attempt to describe a user credential that does not exist");
    }
}

void handle_describe_user_scram_credentials(struct request *rq)
{
    struct pending *pd = rq->pd;
    struct kafka_describe_user_scram_credentials_req *req = rq->body;
    struct kafka_describe_user_scram_credentials_resp *resp = response_new(rq);
    resp->error_message = KSTR_NULL;
    if (!request_allowed(rq, AUTH_OP_DESCRIBE, AUTH_RES_CLUSTER, NULL)) {
        resp->error_code = KAFKA_CLUSTER_AUTHORIZATION_FAILED;
        request_respond(rq, resp);
        return;
    }
    if (req->n_users <= 0) {
        describe_every_user(rq, resp);
        return;
    }
    uint64_t bytes =
        response_bytes((uint64_t)req->n_users,
                       sizeof *resp->results + 2 * sizeof *resp->results->credential_infos);
    for (int32_t i = 0; i < req->n_users; i++)
        bytes += response_string_bytes(req->users[i].name.len);
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the DescribeUserScramCredentials response would pass its limit");
        return;
    }
    uint8_t *mark = xcalloc((size_t)req->n_users + 1, 1);
    request_duplicates_mark(req->n_users, describe_name_order, req, mark);
    resp->results =
        PENDING_NEW(pd, struct kafka_describe_user_scram_credentials_resp_result, req->n_users);
    for (int32_t i = 0; i < req->n_users; i++) {
        if (mark[i] & REQUEST_DUP_LATER)
            continue;
        struct kafka_describe_user_scram_credentials_resp_result *r =
            &resp->results[resp->n_results++];
        r->user = kstr_from(pd_strdup(pd, req->users[i].name));
        r->error_message = KSTR_NULL;
        if (mark[i] & REQUEST_DUP_ANY) {
            r->error_code = KAFKA_DUPLICATE_RESOURCE;
            r->error_message =
                KSTR("Cannot describe SCRAM credentials for the same user twice in a single "
                     "request");
            continue;
        }
        describe_one(rq->c->b, pd, req->users[i].name, r);
    }
    free(mark);
    request_respond(rq, resp);
}

/* ---- AlterUserScramCredentials ---- */

/* One deletion or upsertion, in a form the admin thread can use after the
 * request's frame is gone. */
struct alter_item {
    struct kstr name; /* the request's (sorting) */
    int8_t mech;
    int32_t pos;   /* deletions first, then upsertions */
    bool deletion; /* else an upsertion */
    const struct kafka_alter_user_scram_credentials_req_upsertion *up;
    struct auth_scram_cred cred; /* an upsertion's, derived (admin thread) */
};

/* One user's changes: items[first, first + n) of the sorted array. */
struct alter_user {
    char *name; /* NUL-terminated, in the pending's arena */
    int32_t first, n;
    struct kafka_alter_user_scram_credentials_resp_result *out;
};

struct alter_job {
    struct alter_item *items; /* sorted by (name, mechanism, position) */
    struct alter_user *users;
    int32_t n_users;
};

static int alter_item_order(const void *pa, const void *pb)
{
    const struct alter_item *a = pa, *b = pb;
    int c = kstr_compare(a->name, b->name);
    if (c)
        return c;
    if (a->mech != b->mech)
        return a->mech < b->mech ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static void alter_fail(struct alter_user *u, int16_t code, const char *why)
{
    if (u->out->error_code)
        return; /* the first error found stands */
    u->out->error_code = code;
    u->out->error_message = kstr_from(why);
}

/* The checks that need no store, on one item of user u (loop thread). */
static void alter_check(struct alter_user *u, const struct alter_item *it,
                        const struct alter_item *prev)
{
    enum scram_mech m = (enum scram_mech)it->mech;
    if (it->name.len <= 0) {
        alter_fail(u, KAFKA_UNACCEPTABLE_CREDENTIAL, "Username must not be empty");
        return;
    }
    if (it->name.len > AUTH_USER_MAX || memchr(it->name.p, 0, (size_t)it->name.len)) {
        alter_fail(u, KAFKA_UNACCEPTABLE_CREDENTIAL, "Username is too long or holds a NUL byte");
        return;
    }
    if (m != SCRAM_SHA_256 && m != SCRAM_SHA_512) {
        alter_fail(u, KAFKA_UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism");
        return;
    }
    if (prev && prev->mech == it->mech) {
        alter_fail(u, KAFKA_DUPLICATE_RESOURCE,
                   "A user credential cannot be altered twice in the same request");
        return;
    }
    if (it->deletion)
        return;
    if (it->up->iterations < SCRAM_ITER_MIN)
        alter_fail(u, KAFKA_UNACCEPTABLE_CREDENTIAL, "Too few iterations");
    else if (it->up->iterations > SCRAM_ITER_MAX)
        alter_fail(u, KAFKA_UNACCEPTABLE_CREDENTIAL, "Too many iterations");
    else if (it->up->salt.len <= 0 || it->up->salt.len > SCRAM_SALT_MAX)
        alter_fail(u, KAFKA_UNACCEPTABLE_CREDENTIAL, "The salt must be 1 to 64 bytes");
    else if (it->up->salted_password.len != (int32_t)scram_key_len(m))
        alter_fail(u, KAFKA_UNACCEPTABLE_CREDENTIAL,
                   "The salted password is not as long as the mechanism's hash");
}

/* StoredKey and ServerKey from an upsertion's salted password (RFC 5802):
 * ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey = H(ClientKey),
 * ServerKey = HMAC(SaltedPassword, "Server Key"). Done while the request's bytes
 * are still there; the admin thread gets only the result. */
static int alter_derive(struct alter_item *it)
{
    enum scram_mech m = (enum scram_mech)it->mech;
    size_t klen = scram_key_len(m);
    uint8_t client_key[SCRAM_KEY_MAX];
    struct auth_scram_cred *c = &it->cred;
    memset(c, 0, sizeof *c);
    c->mech = m;
    c->iterations = it->up->iterations;
    c->salt_len = (size_t)it->up->salt.len;
    memcpy(c->salt, it->up->salt.p, c->salt_len);
    const uint8_t *sp = (const uint8_t *)it->up->salted_password.p;
    int rc = scram_hmac(m, sp, klen, "Client Key", 10, client_key);
    if (!rc)
        rc = scram_hash(m, client_key, klen, c->stored_key);
    if (!rc)
        rc = scram_hmac(m, sp, klen, "Server Key", 10, c->server_key);
    return rc;
}

/* Group the request's entries by user and check them (loop thread); a request
 * over SCRAM_ALTER_MAX is only grouped, every user answered INVALID_REQUEST. */
static struct alter_job *alter_plan(struct request *rq,
                                    const struct kafka_alter_user_scram_credentials_req *req,
                                    struct kafka_alter_user_scram_credentials_resp *resp)
{
    bool allowed = request_allowed(rq, AUTH_OP_ALTER, AUTH_RES_CLUSTER, NULL);
    static const char too_many[] =
        "At most " SCRAM_ALTER_MAX_TEXT " credential changes are accepted in one request";
    struct pending *pd = rq->pd;
    int32_t n = req->n_deletions + req->n_upsertions;
    struct alter_job *job = PENDING_NEW(pd, struct alter_job, 1);
    job->items = PENDING_NEW(pd, struct alter_item, n);
    job->users = PENDING_NEW(pd, struct alter_user, n);
    for (int32_t i = 0; i < req->n_deletions; i++)
        job->items[i] = (struct alter_item){
            req->deletions[i].name, req->deletions[i].mechanism, i, true, NULL, {0}};
    for (int32_t i = 0; i < req->n_upsertions; i++)
        job->items[req->n_deletions + i] =
            (struct alter_item){req->upsertions[i].name, req->upsertions[i].mechanism,
                                req->n_deletions + i,    false,
                                &req->upsertions[i],     {0}};
    qsort(job->items, (size_t)n, sizeof *job->items, alter_item_order);
    for (int32_t i = 0; i < n; i++) {
        struct alter_item *it = &job->items[i];
        bool same = i > 0 && kstr_equal(job->items[i - 1].name, it->name);
        if (!same) {
            struct alter_user *u = &job->users[job->n_users++];
            u->name = pd_strdup(pd, it->name);
            u->first = i;
            u->out = &resp->results[resp->n_results++];
            u->out->user = kstr_from(u->name);
            u->out->error_message = KSTR_NULL;
        }
        struct alter_user *u = &job->users[job->n_users - 1];
        u->n++;
        if (!allowed) {
            u->out->error_code = KAFKA_CLUSTER_AUTHORIZATION_FAILED;
            continue;
        }
        if (n > SCRAM_ALTER_MAX) {
            alter_fail(u, KAFKA_INVALID_REQUEST, too_many);
            continue;
        }
        alter_check(u, it, same ? &job->items[i - 1] : NULL);
        if (!u->out->error_code && !it->deletion && alter_derive(it))
            alter_fail(u, KAFKA_UNKNOWN_SERVER_ERROR, "The keys could not be derived");
    }
    return job;
}

/* Whether every deletion of u names a credential that exists (admin thread). */
static bool alter_deletions_exist(struct broker *b, const struct alter_job *job,
                                  const struct alter_user *u)
{
    for (int32_t i = u->first; i < u->first + u->n; i++) {
        struct auth_scram_cred cred;
        const struct alter_item *it = &job->items[i];
        if (it->deletion && auth_creds_get(b->creds, u->name, (enum scram_mech)it->mech, &cred))
            return false;
    }
    return true;
}

static void alter_store_failed(struct alter_user *u, int rc)
{
    if (rc == -ENOSPC)
        alter_fail(u, KAFKA_UNACCEPTABLE_CREDENTIAL, "The broker holds no more users");
    else if (rc == -EINVAL)
        alter_fail(u, KAFKA_UNACCEPTABLE_CREDENTIAL, "Not a valid user name");
    else if (rc == -ENOENT)
        alter_fail(u, KAFKA_RESOURCE_NOT_FOUND,
                   "Attempt to delete a user credential that does not exist");
    else {
        log_warn("scram", "changing the credentials of '%s' failed: %s", u->name, strerror(-rc));
        alter_fail(u, KAFKA_UNKNOWN_SERVER_ERROR, "The credential store could not be written");
    }
}

/* Apply the changes of every user without an error (admin thread). */
static void alter_run(struct broker *b, struct pending *pd, void *ctx)
{
    struct alter_job *job = ctx;
    for (int32_t k = 0; k < job->n_users; k++) {
        struct alter_user *u = &job->users[k];
        if (u->out->error_code)
            continue;
        if (!alter_deletions_exist(b, job, u)) {
            alter_store_failed(u, -ENOENT);
            continue;
        }
        for (int32_t i = u->first; i < u->first + u->n && !u->out->error_code; i++) {
            const struct alter_item *it = &job->items[i];
            int rc = it->deletion ? auth_creds_delete(b->creds, u->name, (enum scram_mech)it->mech)
                                  : auth_creds_set(b->creds, u->name, &it->cred);
            if (rc)
                alter_store_failed(u, rc);
        }
        if (!u->out->error_code)
            log_info("scram", "credentials of '%s' changed", u->name);
    }
}

void handle_alter_user_scram_credentials(struct request *rq)
{
    struct pending *pd = rq->pd;
    struct kafka_alter_user_scram_credentials_req *req = rq->body;
    int64_t n = (int64_t)req->n_deletions + req->n_upsertions;
    uint64_t bytes = response_bytes(
        (uint64_t)n, sizeof(struct alter_item) + sizeof(struct alter_user) +
                         sizeof(struct kafka_alter_user_scram_credentials_resp_result));
    for (int32_t i = 0; i < req->n_deletions; i++)
        bytes += response_string_bytes(req->deletions[i].name.len);
    for (int32_t i = 0; i < req->n_upsertions; i++)
        bytes += response_string_bytes(req->upsertions[i].name.len);
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the AlterUserScramCredentials response would pass its limit");
        return;
    }
    struct kafka_alter_user_scram_credentials_resp *resp = response_new(rq);
    resp->results = PENDING_NEW(pd, struct kafka_alter_user_scram_credentials_resp_result, n);
    struct alter_job *job = alter_plan(rq, req, resp);
    pd->resp = resp;
    admin_submit(rq, alter_run, job);
}
