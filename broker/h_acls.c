/*
 * h_acls.c - DescribeAcls, CreateAcls and DeleteAcls over auth/acl.c.
 *
 * As Kafka: with no authorizer configured each answers SECURITY_DISABLED;
 * describing needs DESCRIBE on the cluster, creating and deleting ALTER on it
 * (CLUSTER_AUTHORIZATION_FAILED otherwise). A binding Kafka would refuse gets
 * INVALID_REQUEST with Kafka's reason, and so does a string holding a NUL byte,
 * which could not be stored as the peer sent it.
 *
 * Creating and deleting rewrite the ACL file with fsyncs, so they run on the
 * admin thread (admin.c) like topic administration, never on the event loop;
 * that thread is also the only writer, so what a DeleteAcls filter is counted
 * to match before the deletion is what it then deletes.
 *
 * Responses are bounded like every other (response.c): a DescribeAcls whose
 * answer would pass RESPONSE_MAX_BYTES is refused, and a DeleteAcls filter whose
 * matches would pass it is answered INVALID_REQUEST and deletes nothing (Kafka
 * has no bound, hence no error for this; narrowing the filter is the way out).
 */
#include <errno.h>
#include <string.h>

#include "broker/private.h"
#include "lib/xalloc.h"

static bool acls_kstr_has_nul(struct kstr s)
{
    return s.len > 0 && memchr(s.p, 0, (size_t)s.len);
}

/* A filter from the request's fields: a null string matches anything. NULL when
 * a string holds a NUL byte (answered INVALID_REQUEST). */
static const char *acls_filter(struct pending *pd, struct auth_acl *f, int8_t type,
                               struct kstr name, int8_t pattern, struct kstr principal,
                               struct kstr host, int8_t op, int8_t perm)
{
    if (acls_kstr_has_nul(name) || acls_kstr_has_nul(principal) || acls_kstr_has_nul(host))
        return "a filter string holds a NUL byte";
    *f = (struct auth_acl){
        .resource_type = (enum auth_resource)type,
        .resource_name = kstr_is_null(name) ? NULL : pd_strdup(pd, name),
        .pattern_type = (enum auth_pattern)pattern,
        .principal = kstr_is_null(principal) ? NULL : pd_strdup(pd, principal),
        .host = kstr_is_null(host) ? NULL : pd_strdup(pd, host),
        .operation = (enum auth_op)op,
        .permission = (enum auth_perm)perm,
    };
    if (type < AUTH_RES_ANY || type > AUTH_RES_USER || pattern < AUTH_PAT_ANY ||
        pattern > AUTH_PAT_PREFIXED || op < AUTH_OP_ANY || op > AUTH_OP_DESCRIBE_TOKENS ||
        perm < AUTH_PERM_ANY || perm > AUTH_PERM_ALLOW)
        return "the filter has an unknown resource type, pattern, operation or permission";
    return NULL;
}

/* The error every ACL request gets before its work: SECURITY_DISABLED or
 * CLUSTER_AUTHORIZATION_FAILED, or KAFKA_NONE. */
static int16_t acls_gate(struct request *rq, enum auth_op op)
{
    if (!rq->c->b->policy.enabled)
        return KAFKA_SECURITY_DISABLED;
    return request_allowed(rq, op, AUTH_RES_CLUSTER, NULL) ? KAFKA_NONE
                                                           : KAFKA_CLUSTER_AUTHORIZATION_FAILED;
}

static uint64_t acls_binding_bytes(const struct auth_acl *a)
{
    return response_bytes(1, sizeof(struct kafka_delete_acls_resp_matching_acl)) +
           response_string_bytes((int64_t)strlen(a->resource_name)) +
           response_string_bytes((int64_t)strlen(a->principal)) +
           response_string_bytes((int64_t)strlen(a->host));
}

/* ---- DescribeAcls ----------------------------------------------------------------- */

struct describe_walk {
    struct pending *pd;
    struct kafka_describe_acls_resp *resp;
    int32_t cap;
    uint64_t bytes; /* of the response so far */
    bool too_big;
};

static struct kafka_describe_acls_resp_resource *describe_resource(struct describe_walk *w,
                                                                   const struct auth_acl *a)
{
    struct kafka_describe_acls_resp *resp = w->resp;
    struct kafka_describe_acls_resp_resource *last =
        resp->n_resources ? &resp->resources[resp->n_resources - 1] : NULL;
    /* acl.c hands out one resource's bindings together: group consecutive ones */
    if (last && last->resource_type == (int8_t)a->resource_type &&
        last->pattern_type == (int8_t)a->pattern_type &&
        last->resource_name.len == (int32_t)strlen(a->resource_name) &&
        !memcmp(last->resource_name.p, a->resource_name, (size_t)last->resource_name.len))
        return last;
    if (resp->n_resources == w->cap) {
        int32_t cap = w->cap ? 2 * w->cap : 16;
        void *grown = PENDING_NEW(w->pd, struct kafka_describe_acls_resp_resource, cap);
        if (w->cap) /* (memcpy from NULL is undefined, even of 0 bytes) */
            memcpy(grown, resp->resources, (size_t)w->cap * sizeof *resp->resources);
        resp->resources = grown;
        w->bytes += response_bytes((uint64_t)cap, sizeof *resp->resources);
        w->cap = cap;
    }
    last = &resp->resources[resp->n_resources++];
    *last = (struct kafka_describe_acls_resp_resource){
        .resource_type = (int8_t)a->resource_type,
        .resource_name = kstr_from(pd_strdup(w->pd, kstr_from(a->resource_name))),
        .pattern_type = (int8_t)a->pattern_type,
    };
    return last;
}

static int describe_one(const struct auth_acl *a, void *arg)
{
    struct describe_walk *w = arg;
    w->bytes += acls_binding_bytes(a);
    /* (the arrays' growth is counted as it happens; the whole set, at most 32 MiB
     * of lines, always fits: this stops only a set grown past what acl.c allows) */
    if (w->bytes > RESPONSE_MAX_BYTES) {
        w->too_big = true;
        return 1;
    }
    struct kafka_describe_acls_resp_resource *r = describe_resource(w, a);
    /* entries of one resource grow by doubling, like the resources */
    int32_t n = r->n_acls;
    if (!(n & (n - 1))) {
        int32_t cap = n ? 2 * n : 1;
        void *grown = PENDING_NEW(w->pd, struct kafka_describe_acls_resp_acl_description, cap);
        if (n)
            memcpy(grown, r->acls, (size_t)n * sizeof *r->acls);
        r->acls = grown;
        w->bytes += response_bytes((uint64_t)cap, sizeof *r->acls);
    }
    r->acls[r->n_acls++] = (struct kafka_describe_acls_resp_acl_description){
        .principal = kstr_from(pd_strdup(w->pd, kstr_from(a->principal))),
        .host = kstr_from(pd_strdup(w->pd, kstr_from(a->host))),
        .operation = (int8_t)a->operation,
        .permission_type = (int8_t)a->permission,
    };
    return 0;
}

void handle_describe_acls(struct request *rq)
{
    struct kafka_describe_acls_req *req = rq->body;
    struct kafka_describe_acls_resp *resp = response_new(rq);
    struct auth_acl f;
    const char *why = NULL;
    if ((resp->error_code = acls_gate(rq, AUTH_OP_DESCRIBE)))
        goto out;
    why = acls_filter(rq->pd, &f, req->resource_type_filter, req->resource_name_filter,
                      req->pattern_type_filter, req->principal_filter, req->host_filter,
                      req->operation, req->permission_type);
    if (why) {
        resp->error_code = KAFKA_INVALID_REQUEST;
        resp->error_message = kstr_from(why);
        goto out;
    }
    struct describe_walk w = {rq->pd, resp, 0, 0, false};
    auth_acls_each(rq->c->b->acls, &f, describe_one, &w);
    if (w.too_big) {
        request_refuse(rq, "the DescribeAcls response would pass the response limit");
        return;
    }
out:
    request_respond(rq, resp);
}

/* ---- CreateAcls ------------------------------------------------------------------- */

struct create_job {
    struct auth_acl *acls; /* n of them; entries with a result already set are skipped */
    int32_t n;
};

static void create_acls_run(struct broker *b, struct pending *pd, void *ctx)
{
    struct create_job *job = ctx;
    struct kafka_create_acls_resp *resp = pd->resp;
    int *rcs = xcalloc((size_t)job->n + 1, sizeof *rcs);
    const char **whys = xcalloc((size_t)job->n + 1, sizeof *whys);
    /* the ones already answered (a NUL byte, refused) are passed as invalid */
    int rc = auth_acls_create_many(b->acls, job->acls, (size_t)job->n, rcs, whys);
    for (int32_t i = 0; i < job->n; i++) {
        struct kafka_create_acls_resp_acl_creation_result *out = &resp->results[i];
        if (out->error_code)
            continue;
        if (rc) {
            out->error_code = kafka_error_from(rc);
            out->error_message = KSTR("the ACL file could not be written");
        } else if (rcs[i]) {
            out->error_code = rcs[i] == -ENOSPC ? KAFKA_POLICY_VIOLATION : KAFKA_INVALID_REQUEST;
            out->error_message = kstr_from(whys[i]);
        }
    }
    if (rc)
        log_error("brook.authz", "cannot write the ACL file: %s", strerror(-rc));
    free(rcs);
    free(whys);
}

void handle_create_acls(struct request *rq)
{
    struct pending *pd = rq->pd;
    struct kafka_create_acls_req *req = rq->body;
    uint64_t bytes = response_bytes((uint64_t)req->n_creations,
                                    sizeof(struct kafka_create_acls_resp_acl_creation_result) +
                                        sizeof(struct auth_acl));
    for (int32_t i = 0; i < req->n_creations; i++)
        bytes += response_string_bytes(req->creations[i].resource_name.len) +
                 response_string_bytes(req->creations[i].principal.len) +
                 response_string_bytes(req->creations[i].host.len);
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the CreateAcls request is larger than a response may be");
        return;
    }
    struct kafka_create_acls_resp *resp = response_new(rq);
    resp->n_results = req->n_creations;
    resp->results =
        PENDING_NEW(pd, struct kafka_create_acls_resp_acl_creation_result, req->n_creations);
    int16_t gate = acls_gate(rq, AUTH_OP_ALTER);
    struct create_job *job = PENDING_NEW(pd, struct create_job, 1);
    job->acls = PENDING_NEW(pd, struct auth_acl, req->n_creations);
    job->n = req->n_creations;
    for (int32_t i = 0; i < req->n_creations; i++) {
        const struct kafka_create_acls_req_acl_creation *c = &req->creations[i];
        if ((resp->results[i].error_code = gate))
            continue;
        if (acls_kstr_has_nul(c->resource_name) || acls_kstr_has_nul(c->principal) ||
            acls_kstr_has_nul(c->host)) {
            resp->results[i].error_code = KAFKA_INVALID_REQUEST;
            resp->results[i].error_message = KSTR("a string holds a NUL byte");
            continue; /* job->acls[i] stays zero: invalid, so never created */
        }
        job->acls[i] = (struct auth_acl){
            (enum auth_resource)c->resource_type,
            pd_strdup(pd, c->resource_name),
            (enum auth_pattern)c->resource_pattern_type,
            pd_strdup(pd, c->principal),
            pd_strdup(pd, c->host),
            (enum auth_op)c->operation,
            (enum auth_perm)c->permission_type,
        };
    }
    pd->resp = resp;
    if (gate || !req->n_creations) {
        request_respond(rq, resp);
        return;
    }
    admin_submit(rq, create_acls_run, job);
}

/* ---- DeleteAcls ------------------------------------------------------------------- */

struct delete_job {
    struct auth_acl *filters; /* n of them */
    int32_t n;
};

static int delete_count(const struct auth_acl *a, void *arg)
{
    struct kafka_delete_acls_resp_filter_result *out = arg;
    out->n_matching_acls++;
    return 0;
}

static int delete_bytes(const struct auth_acl *a, void *arg)
{
    *(uint64_t *)arg += acls_binding_bytes(a);
    return *(uint64_t *)arg > RESPONSE_MAX_BYTES;
}

struct delete_fill {
    struct pending *pd;
    struct kafka_delete_acls_resp_filter_result *out;
};

static void delete_one(const struct auth_acl *a, void *arg)
{
    struct delete_fill *d = arg;
    struct kafka_delete_acls_resp_filter_result *out = d->out;
    out->matching_acls[out->n_matching_acls++] = (struct kafka_delete_acls_resp_matching_acl){
        .resource_type = (int8_t)a->resource_type,
        .resource_name = kstr_from(pd_strdup(d->pd, kstr_from(a->resource_name))),
        .pattern_type = (int8_t)a->pattern_type,
        .principal = kstr_from(pd_strdup(d->pd, kstr_from(a->principal))),
        .host = kstr_from(pd_strdup(d->pd, kstr_from(a->host))),
        .operation = (int8_t)a->operation,
        .permission_type = (int8_t)a->permission,
    };
}

static void delete_acls_run(struct broker *b, struct pending *pd, void *ctx)
{
    struct delete_job *job = ctx;
    struct kafka_delete_acls_resp *resp = pd->resp;
    uint64_t bytes = 0; /* of every filter's matches so far */
    for (int32_t i = 0; i < job->n; i++) {
        struct kafka_delete_acls_resp_filter_result *out = &resp->filter_results[i];
        if (out->error_code)
            continue;
        if (auth_acls_each(b->acls, &job->filters[i], delete_bytes, &bytes)) {
            out->error_code = KAFKA_INVALID_REQUEST;
            out->error_message = KSTR("the filter matches more ACLs than a response can carry");
            continue;
        }
        auth_acls_each(b->acls, &job->filters[i], delete_count, out);
        out->matching_acls =
            PENDING_NEW(pd, struct kafka_delete_acls_resp_matching_acl, out->n_matching_acls);
        out->n_matching_acls = 0;
        struct delete_fill fill = {pd, out};
        const char *why = NULL;
        int rc = auth_acls_delete(b->acls, &job->filters[i], delete_one, &fill, &why);
        if (rc) {
            out->error_code = rc == -EINVAL ? KAFKA_INVALID_REQUEST : kafka_error_from(rc);
            out->error_message = kstr_from(why ? why : "the ACL file could not be written");
            out->n_matching_acls = 0;
        }
    }
}

void handle_delete_acls(struct request *rq)
{
    struct pending *pd = rq->pd;
    struct kafka_delete_acls_req *req = rq->body;
    uint64_t bytes = response_bytes((uint64_t)req->n_filters,
                                    sizeof(struct kafka_delete_acls_resp_filter_result) +
                                        sizeof(struct auth_acl));
    for (int32_t i = 0; i < req->n_filters; i++)
        bytes += response_string_bytes(req->filters[i].resource_name_filter.len) +
                 response_string_bytes(req->filters[i].principal_filter.len) +
                 response_string_bytes(req->filters[i].host_filter.len);
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the DeleteAcls request is larger than a response may be");
        return;
    }
    struct kafka_delete_acls_resp *resp = response_new(rq);
    resp->n_filter_results = req->n_filters;
    resp->filter_results =
        PENDING_NEW(pd, struct kafka_delete_acls_resp_filter_result, req->n_filters);
    int16_t gate = acls_gate(rq, AUTH_OP_ALTER);
    struct delete_job *job = PENDING_NEW(pd, struct delete_job, 1);
    job->filters = PENDING_NEW(pd, struct auth_acl, req->n_filters);
    job->n = req->n_filters;
    for (int32_t i = 0; i < req->n_filters; i++) {
        const struct kafka_delete_acls_req_filter *f = &req->filters[i];
        struct kafka_delete_acls_resp_filter_result *out = &resp->filter_results[i];
        if ((out->error_code = gate))
            continue;
        const char *why =
            acls_filter(pd, &job->filters[i], f->resource_type_filter, f->resource_name_filter,
                        f->pattern_type_filter, f->principal_filter, f->host_filter, f->operation,
                        f->permission_type);
        if (why) {
            out->error_code = KAFKA_INVALID_REQUEST;
            out->error_message = kstr_from(why);
        }
    }
    pd->resp = resp;
    if (gate || !req->n_filters) {
        request_respond(rq, resp);
        return;
    }
    admin_submit(rq, delete_acls_run, job);
}
