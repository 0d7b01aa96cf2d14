/*
 * users.c - SCRAM users: list, create (or change a password), delete, through
 * DescribeUserScramCredentials and AlterUserScramCredentials.
 *
 * The password never leaves the client: an upsertion carries a fresh random
 * salt, the iteration count, and SaltedPassword = Hi(password, salt, i) (RFC
 * 5802's PBKDF2 with the mechanism's hash), from which the broker derives the
 * keys it keeps. A connection that is not TLS carries that salted password in
 * clear, which is as good as the password for that mechanism: the docs say to
 * manage users over ssl or sasl_ssl.
 *
 * The calls are blocking, like the other admin calls, and go to any broker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "client/private.h"
#include "lib/scram.h"
#include "proto/kafka_errors.h"

#define USER_SALT_LEN 32 /* bytes of fresh salt per credential */

/* ---- list ---- */

static int build_users(const struct kafka_describe_user_scram_credentials_resp *r,
                       struct brook_user_list **out)
{
    struct arena *a;
    struct brook_user_list *l = result_new(sizeof *l, &a);
    if (!l)
        return -ENOMEM;
    struct brook_user_info *v = arena_calloc(a, (size_t)r->n_results + 1, sizeof *v);
    if (!v)
        goto oom;
    for (int32_t i = 0; i < r->n_results; i++) {
        const struct kafka_describe_user_scram_credentials_resp_result *u = &r->results[i];
        if (u->error_code)
            continue; /* a listing of everyone has no per-user errors to show */
        struct brook_user_info *o = &v[l->n_users];
        struct brook_user_credential *cr =
            arena_calloc(a, (size_t)u->n_credential_infos + 1, sizeof *cr);
        if (!(o->name = kstr_dup(a, u->user)) || !cr)
            goto oom;
        for (int32_t j = 0; j < u->n_credential_infos; j++) {
            cr[j].mechanism = scram_mech_name((enum scram_mech)u->credential_infos[j].mechanism);
            cr[j].iterations = u->credential_infos[j].iterations;
        }
        o->credentials = cr;
        o->n_credentials = (size_t)u->n_credential_infos;
        l->n_users++;
    }
    l->users = v;
    *out = l;
    return 0;
oom:
    result_free(l);
    return -ENOMEM;
}

/* DescribeUserScramCredentials for one user (name) or everyone (NULL). */
static int describe_call(struct brook_client *c, const char *name, int64_t deadline,
                         struct resp **rs)
{
    struct req *rq = req_new(KAFKA_API_DESCRIBE_USER_SCRAM_CREDENTIALS, NULL, NULL);
    if (!rq)
        return -ENOMEM;
    struct kafka_describe_user_scram_credentials_req *b = rq->body;
    b->n_users = -1; /* everyone */
    if (name) {
        int err = 0;
        if (!(b->users = arena_calloc(&rq->arena, 1, sizeof *b->users))) {
            req_free(rq);
            return -ENOMEM;
        }
        b->users[0].name = req_str(rq, name, &err);
        b->n_users = 1;
        if (err) {
            req_free(rq);
            return err;
        }
    }
    int rc = client_call(c, NULL, rq, deadline, rs);
    if (rc)
        return rc;
    const struct kafka_describe_user_scram_credentials_resp *r = (*rs)->body;
    if (r->error_code) {
        rc = kerr(r->error_code);
        resp_free(*rs);
        *rs = NULL;
    }
    return rc;
}

int brook_users_list(struct brook_client *c, int timeout_ms, struct brook_user_list **out)
{
    if (!c || !out)
        return -EINVAL;
    struct resp *rs;
    int rc = describe_call(c, NULL, client_deadline(c, timeout_ms), &rs);
    if (rc)
        return rc;
    rc = build_users(rs->body, out);
    resp_free(rs);
    return rc;
}

void brook_user_list_free(struct brook_user_list *l)
{
    result_free(l);
}

/* ---- create and delete ---- */

static int mech_of(const char *name, enum scram_mech *m)
{
    if (!name) {
        *m = SCRAM_SHA_512;
        return 0;
    }
    return scram_mech_parse(name, m) ? -EINVAL : 0;
}

/* One user's result of an AlterUserScramCredentials answer. */
static int alter_result(const struct resp *rs)
{
    const struct kafka_alter_user_scram_credentials_resp *r = rs->body;
    for (int32_t i = 0; i < r->n_results; i++)
        if (r->results[i].error_code)
            return kerr(r->results[i].error_code);
    return r->n_results >= 1 ? 0 : BROOK_ERR_PROTOCOL;
}

/* An upsertion of name's credential for m: fresh salt, SaltedPassword. */
static int fill_upsertion(struct req *rq, const char *name, const char *password, enum scram_mech m,
                          int32_t iterations)
{
    struct kafka_alter_user_scram_credentials_req *b = rq->body;
    struct kafka_alter_user_scram_credentials_req_upsertion *u;
    size_t klen = scram_key_len(m);
    uint8_t *salt = arena_alloc(&rq->arena, USER_SALT_LEN);
    uint8_t *salted = arena_alloc(&rq->arena, klen);
    if (!salt || !salted || !(u = arena_calloc(&rq->arena, 1, sizeof *u)))
        return -ENOMEM;
    if (RAND_bytes(salt, USER_SALT_LEN) != 1)
        return -EIO;
    const EVP_MD *md = m == SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, USER_SALT_LEN, iterations, md,
                          (int)klen, salted) != 1)
        return -EIO;
    int err = 0;
    u->name = req_str(rq, name, &err);
    u->mechanism = (int8_t)m;
    u->iterations = iterations;
    u->salt = (struct kbytes){salt, USER_SALT_LEN};
    u->salted_password = (struct kbytes){salted, (int32_t)klen};
    b->upsertions = u;
    b->n_upsertions = 1;
    return err;
}

int brook_user_create(struct brook_client *c, const char *name, const char *password,
                      const char *mechanism, int32_t iterations, int timeout_ms)
{
    enum scram_mech m;
    if (!c || !name || !*name || !password || mech_of(mechanism, &m))
        return -EINVAL;
    if (iterations == 0)
        iterations = SCRAM_ITER_DEF;
    /* the broker refuses these too; refusing here spares the hashing */
    if (iterations < SCRAM_ITER_MIN || iterations > SCRAM_ITER_MAX)
        return brook_err_kafka(KAFKA_UNACCEPTABLE_CREDENTIAL);
    int64_t deadline = client_deadline(c, timeout_ms);
    struct req *rq = req_new(KAFKA_API_ALTER_USER_SCRAM_CREDENTIALS, NULL, NULL);
    if (!rq)
        return -ENOMEM;
    int rc = fill_upsertion(rq, name, password, m, iterations);
    struct resp *rs;
    if ((rc = client_call_built(c, NULL, rq, rc, deadline, &rs)))
        return rc;
    rc = alter_result(rs);
    resp_free(rs);
    return rc;
}

/* The mechanisms name has a credential for (a bit per enum scram_mech). */
static int user_mechs(struct brook_client *c, const char *name, int64_t deadline, unsigned *mask)
{
    struct resp *rs;
    int rc = describe_call(c, name, deadline, &rs);
    if (rc)
        return rc;
    const struct kafka_describe_user_scram_credentials_resp *r = rs->body;
    *mask = 0;
    rc = r->n_results == 1 ? kerr(r->results[0].error_code) : BROOK_ERR_PROTOCOL;
    for (int32_t j = 0; !rc && j < r->results[0].n_credential_infos; j++) {
        int8_t mech = r->results[0].credential_infos[j].mechanism;
        if (mech == SCRAM_SHA_256 || mech == SCRAM_SHA_512)
            *mask |= 1u << mech;
    }
    resp_free(rs);
    return rc;
}

int brook_user_delete(struct brook_client *c, const char *name, const char *mechanism,
                      int timeout_ms)
{
    enum scram_mech m;
    if (!c || !name || !*name || (mechanism && mech_of(mechanism, &m)))
        return -EINVAL;
    int64_t deadline = client_deadline(c, timeout_ms);
    unsigned mask = mechanism ? 1u << m : 0;
    int rc = mechanism ? 0 : user_mechs(c, name, deadline, &mask);
    if (rc)
        return rc;
    struct req *rq = req_new(KAFKA_API_ALTER_USER_SCRAM_CREDENTIALS, NULL, NULL);
    struct kafka_alter_user_scram_credentials_req *b = rq ? rq->body : NULL;
    if (!rq || !(b->deletions = arena_calloc(&rq->arena, 2, sizeof *b->deletions))) {
        req_free(rq);
        return -ENOMEM;
    }
    for (int mech = SCRAM_SHA_256; mech <= SCRAM_SHA_512; mech++) {
        if (!(mask & (1u << mech)))
            continue;
        b->deletions[b->n_deletions].name = req_str(rq, name, &rc);
        b->deletions[b->n_deletions++].mechanism = (int8_t)mech;
    }
    struct resp *rs;
    if ((rc = client_call_built(c, NULL, rq, rc, deadline, &rs)))
        return rc;
    rc = alter_result(rs);
    resp_free(rs);
    return rc;
}
