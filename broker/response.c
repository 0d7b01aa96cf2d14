/*
 * response.c - what every handler shares to build its answer: sizing it before
 * the work, allocating it in the request's arena, error codes, and the two ways
 * a request ends (answered, or refused by closing the connection).
 *
 * Responses are bounded before the work: a small request can ask for a large
 * answer (one topic name repeated a million times, every config of every topic).
 * Each handler estimates its response's size from the request's counts with
 * response_bytes()/response_fits() and answers with Kafka's error, or refuses the
 * request, when it would pass RESPONSE_MAX_BYTES. The arena and the encoder carry
 * hard limits as well (dispatch.c), so a wrong estimate ends in a closed
 * connection, never in a broker that has run out of memory.
 *
 * Entries a request repeats are found by sorting indexes to them
 * (request_duplicates_mark), so that Metadata can answer a name once however
 * often it is asked for, and DescribeConfigs can refuse a resource named twice,
 * as Kafka does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/log.h"
#include "lib/xalloc.h"

int16_t kafka_error_from(int err)
{
    switch (err) {
    case 0: return KAFKA_NONE;
    case -ENOENT: return KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
    case -ERANGE: return KAFKA_OFFSET_OUT_OF_RANGE;
    case -EBADMSG:
    case -ENOTSUP: return KAFKA_CORRUPT_MESSAGE;
    case -EMSGSIZE: return KAFKA_MESSAGE_TOO_LARGE;
    case -ENOSPC:
    case -EIO:
    case -EROFS:
    case -EDQUOT:
    case STORE_EFAILED: return KAFKA_KAFKA_STORAGE_ERROR;
    case STORE_EINVALID_TOPIC: return KAFKA_INVALID_TOPIC_EXCEPTION;
    case STORE_EINVALID_PARTITIONS: return KAFKA_INVALID_PARTITIONS;
    case STORE_EINVALID_CONFIG: return KAFKA_INVALID_CONFIG;
    case -EEXIST: return KAFKA_TOPIC_ALREADY_EXISTS;
    case STORE_EDUPLICATE_SEQ: return KAFKA_NONE;
    case STORE_EOUT_OF_ORDER_SEQ: return KAFKA_OUT_OF_ORDER_SEQUENCE_NUMBER;
    case STORE_EPRODUCER_FENCED: return KAFKA_INVALID_PRODUCER_EPOCH;
    case STORE_EDELETE_DISABLED: return KAFKA_TOPIC_DELETION_DISABLED;
    case STORE_EINVALID_RECORD: return KAFKA_INVALID_RECORD;
    case STORE_EINVALID_TIMESTAMP: return KAFKA_INVALID_TIMESTAMP;
    default: return KAFKA_UNKNOWN_SERVER_ERROR;
    }
}

uint64_t response_bytes(uint64_t n, size_t size)
{
    const uint64_t align = 16, cap = UINT64_MAX / 4; /* saturate far from wrapping */
    if (size && n > cap / size)
        return cap;
    return (n * size + align - 1) / align * align + align;
}

uint64_t response_string_bytes(int64_t len)
{
    return response_bytes(len > 0 ? (uint64_t)len + 1 : 1, 1);
}

bool response_fits(const struct request *rq, uint64_t bytes)
{
    size_t used = rq->pd->arena.used;
    return used <= RESPONSE_MAX_BYTES && bytes <= RESPONSE_MAX_BYTES - used;
}

void *pending_calloc(struct pending *pd, size_t n, size_t size)
{
    void *p = arena_calloc(&pd->arena, n ? n : 1, size);
    if (!p)
        xalloc_fail("arena", n * size); /* the limit was checked before */
    return p;
}

void *response_new(struct request *rq)
{
    const struct kafka_api *api = kafka_api_find(rq->hdr.api_key);
    void *resp = pending_calloc(rq->pd, 1, api->response->size);
    kafka_init(api->response, resp);
    return resp;
}

char *pd_strdup(struct pending *pd, struct kstr s)
{
    char *r = arena_strndup(&pd->arena, s.p ? s.p : "", s.len > 0 ? (size_t)s.len : 0);
    if (!r)
        xalloc_fail("arena", s.len > 0 ? (size_t)s.len : 0);
    return r;
}

void request_respond(struct request *rq, void *resp)
{
    rq->pd->resp = resp;
    pending_finish(rq->pd);
}

void request_refuse(struct request *rq, const char *why)
{
    const struct kafka_api *api = kafka_api_find(rq->hdr.api_key);
    log_warn_every("brook.network", "closing %s: %s v%d request refused: %s", rq->c->peer,
                   api ? api->name : "unknown", rq->version, why);
    metrics_request(&rq->c->b->metrics, rq->hdr.api_key, true);
    rq->pd->noreply = true;
    rq->pd->resp = NULL;
    conn_close(rq->c, why);
    pending_finish(rq->pd);
}

struct dup_sort {
    int (*cmp)(const void *ctx, int32_t a, int32_t b); /* order of entries a and b */
    const void *ctx;
};

static int dup_order(const void *pa, const void *pb, void *arg)
{
    const struct dup_sort *ds = arg;
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    int c = ds->cmp(ds->ctx, a, b);
    return c ? c : (a > b) - (a < b); /* equal entries in request order */
}

/* Sorting indexes costs 4 bytes per entry and no allocation per key, so a request
 * of millions of names is checked in little memory. */
void request_duplicates_mark(int32_t n, int (*cmp)(const void *, int32_t, int32_t), const void *ctx,
                             uint8_t *mark)
{
    int32_t *idx = xmalloc(sizeof *idx * (size_t)(n > 0 ? n : 1));
    for (int32_t i = 0; i < n; i++)
        idx[i] = i;
    struct dup_sort ds = {cmp, ctx};
    qsort_r(idx, (size_t)n, sizeof *idx, dup_order, &ds);
    for (int32_t i = 1; i < n; i++) {
        if (cmp(ctx, idx[i - 1], idx[i]))
            continue;
        mark[idx[i]] |= REQUEST_DUP_LATER | REQUEST_DUP_ANY;
        mark[idx[i - 1]] |= REQUEST_DUP_ANY;
    }
    free(idx);
}
