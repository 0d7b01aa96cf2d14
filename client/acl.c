/*
 * acl.c - ACL administration: CreateAcls, DescribeAcls and DeleteAcls as
 * blocking calls, each one request to any broker (every broker answers them in
 * Kafka; brook is one).
 *
 * Requests go at v1 or later (conn.c's ranges): v1 brought pattern types, so a
 * broker without prefixed ACLs is never sent a filter it would read as literal.
 * The results are one block each (admin.c's result_new), strings copied into it.
 */
#include <errno.h>
#include <string.h>

#include "client/private.h"
#include "proto/kafka_errors.h"

static char *acl_strdup(struct arena *a, struct kstr s)
{
    return kstr_is_null(s) ? NULL : arena_strndup(a, s.p ? s.p : "", (size_t)s.len);
}

int brook_acl_create(struct brook_client *c, const struct brook_acl *acl, int timeout_ms)
{
    if (!acl || !acl->resource_name || !acl->principal || !acl->host)
        return -EINVAL;
    int64_t deadline = client_deadline(c, timeout_ms);
    struct req *rq = req_new(KAFKA_API_CREATE_ACLS, NULL, NULL);
    if (!rq)
        return -ENOMEM;
    struct kafka_create_acls_req *b = rq->body;
    int err = 0;
    struct kafka_create_acls_req_acl_creation *cr = arena_calloc(&rq->arena, 1, sizeof *cr);
    if (!cr) {
        req_free(rq);
        return -ENOMEM;
    }
    *cr = (struct kafka_create_acls_req_acl_creation){
        acl->resource_type,
        req_str(rq, acl->resource_name, &err),
        acl->pattern_type,
        req_str(rq, acl->principal, &err),
        req_str(rq, acl->host, &err),
        acl->operation,
        acl->permission,
    };
    b->creations = cr;
    b->n_creations = 1;
    struct resp *rs;
    int rc = client_call_built(c, NULL, rq, err, deadline, &rs);
    if (rc)
        return rc;
    const struct kafka_create_acls_resp *r = rs->body;
    rc = r->n_results == 1 ? kerr(r->results[0].error_code) : BROOK_ERR_PROTOCOL;
    resp_free(rs);
    return rc;
}

/* The filter's fields as both filter requests carry them. */
#define ACL_FILTER_FIELDS(rq, f, err)                                                              \
    (f)->resource_type, req_str(rq, (f)->resource_name, err), (f)->pattern_type,                   \
        req_str(rq, (f)->principal, err), req_str(rq, (f)->host, err), (f)->operation,             \
        (f)->permission

int brook_acl_describe(struct brook_client *c, const struct brook_acl *filter, int timeout_ms,
                       struct brook_acl_list **out)
{
    int64_t deadline = client_deadline(c, timeout_ms);
    struct req *rq = req_new(KAFKA_API_DESCRIBE_ACLS, NULL, NULL);
    if (!rq)
        return -ENOMEM;
    int err = 0;
    *(struct kafka_describe_acls_req *)rq->body =
        (struct kafka_describe_acls_req){ACL_FILTER_FIELDS(rq, filter, &err)};
    struct resp *rs;
    int rc = client_call_built(c, NULL, rq, err, deadline, &rs);
    if (rc)
        return rc;
    const struct kafka_describe_acls_resp *r = rs->body;
    if ((rc = kerr(r->error_code))) {
        resp_free(rs);
        return rc;
    }
    size_t n = 0;
    for (int32_t i = 0; i < r->n_resources; i++)
        n += (size_t)(r->resources[i].n_acls > 0 ? r->resources[i].n_acls : 0);
    struct arena *a;
    struct brook_acl_list *l = result_new(sizeof *l, &a);
    struct brook_acl *v = l ? arena_calloc(a, n + 1, sizeof *v) : NULL;
    for (int32_t i = 0; v && i < r->n_resources; i++) {
        const struct kafka_describe_acls_resp_resource *res = &r->resources[i];
        for (int32_t k = 0; k < res->n_acls; k++)
            v[l->n_acls++] = (struct brook_acl){
                res->resource_type,
                acl_strdup(a, res->resource_name),
                res->pattern_type,
                acl_strdup(a, res->acls[k].principal),
                acl_strdup(a, res->acls[k].host),
                res->acls[k].operation,
                res->acls[k].permission_type,
            };
    }
    resp_free(rs);
    if (!v) {
        result_free(l);
        return -ENOMEM;
    }
    l->acls = v;
    *out = l;
    return 0;
}

int brook_acl_delete(struct brook_client *c, const struct brook_acl *filter, int timeout_ms,
                     struct brook_acl_list **out)
{
    int64_t deadline = client_deadline(c, timeout_ms);
    struct req *rq = req_new(KAFKA_API_DELETE_ACLS, NULL, NULL);
    if (!rq)
        return -ENOMEM;
    struct kafka_delete_acls_req *b = rq->body;
    int err = 0;
    struct kafka_delete_acls_req_filter *f = arena_calloc(&rq->arena, 1, sizeof *f);
    if (!f) {
        req_free(rq);
        return -ENOMEM;
    }
    *f = (struct kafka_delete_acls_req_filter){ACL_FILTER_FIELDS(rq, filter, &err)};
    b->filters = f;
    b->n_filters = 1;
    struct resp *rs;
    int rc = client_call_built(c, NULL, rq, err, deadline, &rs);
    if (rc)
        return rc;
    const struct kafka_delete_acls_resp *r = rs->body;
    const struct kafka_delete_acls_resp_filter_result *fr =
        r->n_filter_results == 1 ? &r->filter_results[0] : NULL;
    rc = fr ? kerr(fr->error_code) : BROOK_ERR_PROTOCOL;
    struct arena *a = NULL;
    struct brook_acl_list *l = !rc && out ? result_new(sizeof *l, &a) : NULL;
    struct brook_acl *v = l ? arena_calloc(a, (size_t)fr->n_matching_acls + 1, sizeof *v) : NULL;
    for (int32_t i = 0; v && i < fr->n_matching_acls; i++) {
        const struct kafka_delete_acls_resp_matching_acl *m = &fr->matching_acls[i];
        v[l->n_acls++] = (struct brook_acl){
            m->resource_type,       acl_strdup(a, m->resource_name),
            m->pattern_type,        acl_strdup(a, m->principal),
            acl_strdup(a, m->host), m->operation,
            m->permission_type,
        };
    }
    resp_free(rs);
    if (!rc && out && !v) {
        result_free(l);
        return -ENOMEM;
    }
    if (l) {
        l->acls = v;
        *out = l;
    }
    return rc;
}

void brook_acl_list_free(struct brook_acl_list *l)
{
    result_free(l);
}
