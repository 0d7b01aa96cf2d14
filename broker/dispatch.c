/*
 * dispatch.c - from a frame to a handler, and the answers every API shares.
 *
 * A frame's header names the API and version. Unknown APIs and versions brook
 * cannot decode close the connection, as Kafka does, with one exception: an
 * ApiVersions request of a version brook does not know is answered in v0 with
 * UNSUPPORTED_VERSION and the list of versions it does support, so that newer
 * clients can pick one. A body that does not decode (truncated, hostile counts,
 * overlong varints) also closes the connection; nothing is allocated beyond what
 * the frame could hold, since the arena's limit is a multiple of the frame size.
 *
 * Responses are bounded the same way, but before the work: a small request can
 * ask for a large answer (one topic name repeated a million times, every config of
 * every topic). Each handler estimates its response's size from the request's
 * counts with response_bytes()/response_fits() and answers with Kafka's error, or
 * refuses the request, when it would pass RESPONSE_MAX_BYTES. The arena and the
 * encoder carry hard limits as well, so a wrong estimate ends in a closed
 * connection, never in a broker that has run out of memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/clock.h"
#include "lib/log.h"

/* What brook advertises in ApiVersions (may start below what it serves: Produce
 * v0-2 are answered with UNSUPPORTED_VERSION, and advertising 0 keeps librdkafka's
 * compression on). */
const struct api_range advertised_apis[] = {
    {KAFKA_API_PRODUCE, 0, 7},          {KAFKA_API_FETCH, 4, 11},
    {KAFKA_API_LIST_OFFSETS, 1, 3},     {KAFKA_API_METADATA, 0, 7},
    {KAFKA_API_OFFSET_COMMIT, 2, 7},    {KAFKA_API_OFFSET_FETCH, 1, 5},
    {KAFKA_API_FIND_COORDINATOR, 0, 2}, {KAFKA_API_JOIN_GROUP, 0, 5},
    {KAFKA_API_HEARTBEAT, 0, 3},        {KAFKA_API_LEAVE_GROUP, 0, 3},
    {KAFKA_API_SYNC_GROUP, 0, 3},       {KAFKA_API_DESCRIBE_GROUPS, 0, 4},
    {KAFKA_API_LIST_GROUPS, 0, 2},      {KAFKA_API_API_VERSIONS, 0, 3},
    {KAFKA_API_CREATE_TOPICS, 0, 4},    {KAFKA_API_DELETE_TOPICS, 0, 3},
    {KAFKA_API_DELETE_RECORDS, 0, 1},   {KAFKA_API_INIT_PRODUCER_ID, 0, 1},
    {KAFKA_API_DESCRIBE_CONFIGS, 0, 3}, {KAFKA_API_CREATE_PARTITIONS, 0, 1},
    {KAFKA_API_DELETE_GROUPS, 0, 1},
};
const int n_advertised_apis = sizeof advertised_apis / sizeof *advertised_apis;

static const handler_fn handlers[64] = {
    [KAFKA_API_PRODUCE] = handle_produce,
    [KAFKA_API_FETCH] = handle_fetch,
    [KAFKA_API_LIST_OFFSETS] = handle_list_offsets,
    [KAFKA_API_METADATA] = handle_metadata,
    [KAFKA_API_OFFSET_COMMIT] = handle_offset_commit,
    [KAFKA_API_OFFSET_FETCH] = handle_offset_fetch,
    [KAFKA_API_FIND_COORDINATOR] = handle_find_coordinator,
    [KAFKA_API_JOIN_GROUP] = handle_join_group,
    [KAFKA_API_HEARTBEAT] = handle_heartbeat,
    [KAFKA_API_LEAVE_GROUP] = handle_leave_group,
    [KAFKA_API_SYNC_GROUP] = handle_sync_group,
    [KAFKA_API_DESCRIBE_GROUPS] = handle_describe_groups,
    [KAFKA_API_LIST_GROUPS] = handle_list_groups,
    [KAFKA_API_SASL_HANDSHAKE] = handle_sasl_handshake,
    [KAFKA_API_API_VERSIONS] = handle_api_versions,
    [KAFKA_API_CREATE_TOPICS] = handle_create_topics,
    [KAFKA_API_DELETE_TOPICS] = handle_delete_topics,
    [KAFKA_API_DELETE_RECORDS] = handle_delete_records,
    [KAFKA_API_INIT_PRODUCER_ID] = handle_init_producer_id,
    [KAFKA_API_DESCRIBE_CONFIGS] = handle_describe_configs,
    [KAFKA_API_SASL_AUTHENTICATE] = handle_sasl_authenticate,
    [KAFKA_API_CREATE_PARTITIONS] = handle_create_partitions,
    [KAFKA_API_DELETE_GROUPS] = handle_delete_groups,
};

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
        abort(); /* the daemon's out-of-memory policy (the limit was checked before) */
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
        abort(); /* the daemon's out-of-memory policy */
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

/* Queue a new pending on c, in order. */
static struct pending *pending_new(struct conn *c, const struct kafka_request_header *h)
{
    struct pending *pd = calloc(1, sizeof *pd);
    if (!pd)
        abort();
    pd->c = c;
    pd->api_key = h->api_key;
    pd->api_version = h->api_version;
    pd->correlation_id = h->correlation_id;
    pd->started_ns = clock_mono_ns();
    /* handlers keep within RESPONSE_MAX_BYTES by estimate; twice that is the margin
     * for an estimate that is off, and the encoder's limit the last word */
    arena_init(&pd->arena, 2 * RESPONSE_MAX_BYTES);
    kafka_out_init(&pd->out, RESPONSE_MAX_BYTES);
    c->refs++;
    c->npending++;
    if (c->tail)
        c->tail->next = pd;
    else
        c->head = pd;
    c->tail = pd;
    return pd;
}

/* ApiVersions at a version brook cannot decode: answer v0 with the error. */
static void api_versions_unsupported(struct conn *c, const struct kafka_request_header *h)
{
    struct kafka_request_header v0 = *h;
    v0.api_version = 0;
    struct request rq = {.c = c, .hdr = *h, .version = 0};
    rq.pd = pending_new(c, &v0);
    handle_api_versions(&rq);
}

void dispatch_request(struct conn *c, uint8_t *frame, size_t len)
{
    struct reader r;
    struct kafka_request_header h;
    reader_init(&r, frame, len);
    if (kafka_request_header_decode(&r, &h)) {
        log_warn("brook.network", "closing %s: malformed request header", c->peer);
        metrics_request(&c->b->metrics, -1, true);
        conn_close(c, "malformed request header"); /* no response can be correlated */
        return;
    }
    const struct kafka_api *api = kafka_api_find(h.api_key);
    bool known = api && h.api_key < 64 && handlers[h.api_key];
    if (known && h.api_key == KAFKA_API_API_VERSIONS && h.api_version > api->max_version) {
        api_versions_unsupported(c, &h);
        return;
    }
    struct arena tmp;
    size_t limit = len * 16 + (64u << 10);
    arena_init(&tmp, limit < (512u << 20) ? limit : (512u << 20));
    void *body = NULL;
    int rc = known ? kafka_request_decode(h.api_key, h.api_version, &r, &tmp, &body) : -ENOTSUP;
    if (rc) {
        log_warn("brook.network", "closing %s: %s request (api %d v%d, %zu bytes) %s", c->peer,
                 api ? api->name : "unknown", h.api_key, h.api_version, len,
                 rc == -ENOTSUP ? "is not supported" : "does not decode");
        metrics_request(&c->b->metrics, h.api_key, true);
        arena_release(&tmp);
        conn_close(c, "bad request");
        return;
    }
    struct request rq = {
        .c = c,
        .hdr = h,
        .version = h.api_version,
        .body = body,
        .tmp = &tmp,
        .frame = frame,
        .frame_len = len,
    };
    rq.pd = pending_new(c, &h);
    metrics_request(&c->b->metrics, h.api_key, false);
    handlers[h.api_key](&rq);
    arena_release(&tmp);
}
