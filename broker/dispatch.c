/*
 * dispatch.c - from a frame to a handler.
 *
 * A frame's header names the API and version. Unknown APIs and versions brook
 * does not offer (h_api_versions.c) close the connection, as Kafka does, with one
 * exception: an ApiVersions request of a version brook does not know is answered
 * in v0 with UNSUPPORTED_VERSION and the list of versions it does support, so
 * that newer clients can pick one. A body that does not decode (truncated, hostile counts,
 * overlong varints) also closes the connection; nothing is allocated beyond what
 * the frame could hold, since the arena's limit is a multiple of the frame size.
 *
 * Each request gets its struct pending here, in arrival order, with a response
 * arena and encoder whose hard limits back up the handlers' own estimates
 * (response.c). Which versions clients are offered is h_api_versions.c's table.
 *
 * On a SASL_* listener the gate (h_sasl.c) comes first: before authentication only
 * ApiVersions, SaslHandshake and SaslAuthenticate pass, anything else closes the
 * connection as Kafka closes it; after a v0 SaslHandshake the frames are bare SASL
 * tokens with no request header, and go to h_sasl.c whole.
 *
 * Network threads: the coordinators (groups, consumer groups, offsets, transactions
 * and the producer ids, which transactional Produce checks against) live on loop 0
 * (private.h). A request for one of them that arrives on another loop is copied
 * out of the socket's buffer, decoded there (a bad one closes the connection on
 * its own loop, as always) and posted to loop 0 whole, with the arena its body was
 * decoded into. While any is away, only more coordinator requests follow it
 * (dispatch_follows: a request of another kind waits until they are back), so
 * the connection's requests start in the order they came. Every
 * other handler touches only the store, immutable settings and state behind its
 * own lock, and runs on the connection's loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "broker/txn.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xalloc.h"

static const handler_fn handlers[KAFKA_API_DESCRIBE_TOPIC_PARTITIONS + 1] = {
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
    [KAFKA_API_DESCRIBE_ACLS] = handle_describe_acls,
    [KAFKA_API_CREATE_ACLS] = handle_create_acls,
    [KAFKA_API_DELETE_ACLS] = handle_delete_acls,
    [KAFKA_API_DESCRIBE_CONFIGS] = handle_describe_configs,
    [KAFKA_API_ALTER_CONFIGS] = handle_alter_configs,
    [KAFKA_API_SASL_AUTHENTICATE] = handle_sasl_authenticate,
    [KAFKA_API_CREATE_PARTITIONS] = handle_create_partitions,
    [KAFKA_API_DELETE_GROUPS] = handle_delete_groups,
    [KAFKA_API_OFFSET_DELETE] = handle_offset_delete,
    [KAFKA_API_CONSUMER_GROUP_HEARTBEAT] = handle_consumer_group_heartbeat,
    [KAFKA_API_CONSUMER_GROUP_DESCRIBE] = handle_consumer_group_describe,
    [KAFKA_API_INCREMENTAL_ALTER_CONFIGS] = handle_incremental_alter_configs,
    [KAFKA_API_OFFSET_FOR_LEADER_EPOCH] = handle_offset_for_leader_epoch,
    [KAFKA_API_DESCRIBE_LOG_DIRS] = handle_describe_log_dirs,
    [KAFKA_API_ELECT_LEADERS] = handle_elect_leaders,
    [KAFKA_API_LIST_PARTITION_REASSIGNMENTS] = handle_list_partition_reassignments,
    [KAFKA_API_DESCRIBE_CLUSTER] = handle_describe_cluster,
    [KAFKA_API_DESCRIBE_PRODUCERS] = handle_describe_producers,
    [KAFKA_API_DESCRIBE_TOPIC_PARTITIONS] = handle_describe_topic_partitions,
    [KAFKA_API_ADD_PARTITIONS_TO_TXN] = handle_add_partitions_to_txn,
    [KAFKA_API_ADD_OFFSETS_TO_TXN] = handle_add_offsets_to_txn,
    [KAFKA_API_END_TXN] = handle_end_txn,
    [KAFKA_API_TXN_OFFSET_COMMIT] = handle_txn_offset_commit,
    [KAFKA_API_DESCRIBE_TRANSACTIONS] = handle_describe_transactions,
    [KAFKA_API_LIST_TRANSACTIONS] = handle_list_transactions,
    [KAFKA_API_DESCRIBE_USER_SCRAM_CREDENTIALS] = handle_describe_user_scram_credentials,
    [KAFKA_API_ALTER_USER_SCRAM_CREDENTIALS] = handle_alter_user_scram_credentials,
};

/* The handler of key at version: message sets (magic 0 and 1) are converted apart. */
static handler_fn handler_for(int16_t key, int16_t version)
{
    if (key == KAFKA_API_PRODUCE && version < 3)
        return handle_produce_legacy;
    if (key == KAFKA_API_FETCH && version < 4)
        return handle_fetch_legacy;
    return handlers[key];
}

/* A request on its way to loop 0: its frame and decoded body travel with it. */
struct dispatch_handoff {
    struct dispatch_handoff *next; /* first: server.c links posted requests by it */
    struct request rq;
    struct arena tmp;
    handler_fn fn;
    uint8_t frame[]; /* the frame, copied out of the socket's buffer */
};

/* Whether h's request works on coordinator state (loop 0's). Produce does only
 * when transactional: r is at its body, whose first field is transactional_id. */
static bool dispatch_on_coordinator(const struct kafka_request_header *h, struct reader r)
{
    switch (h->api_key) {
    case KAFKA_API_OFFSET_COMMIT:
    case KAFKA_API_OFFSET_FETCH:
    case KAFKA_API_OFFSET_DELETE:
    case KAFKA_API_JOIN_GROUP:
    case KAFKA_API_HEARTBEAT:
    case KAFKA_API_LEAVE_GROUP:
    case KAFKA_API_SYNC_GROUP:
    case KAFKA_API_DESCRIBE_GROUPS:
    case KAFKA_API_LIST_GROUPS:
    case KAFKA_API_DELETE_GROUPS:
    case KAFKA_API_CONSUMER_GROUP_HEARTBEAT:
    case KAFKA_API_CONSUMER_GROUP_DESCRIBE:
    case KAFKA_API_INIT_PRODUCER_ID:
    case KAFKA_API_ADD_PARTITIONS_TO_TXN:
    case KAFKA_API_ADD_OFFSETS_TO_TXN:
    case KAFKA_API_END_TXN:
    case KAFKA_API_TXN_OFFSET_COMMIT:
    case KAFKA_API_DESCRIBE_TRANSACTIONS:
    case KAFKA_API_LIST_TRANSACTIONS: return true;
    case KAFKA_API_PRODUCE:
        if (h->api_version < 3)
            return false;
        if (h->api_version >= 9) /* compact nullable string: 0 is null */
            return reader_uvarint(&r) != 0 && reader_ok(&r);
        return (int16_t)reader_be16(&r) >= 0 && reader_ok(&r);
    default: return false;
    }
}

/* Queue a new pending on c, in order. */
static struct pending *pending_new(struct conn *c, const struct kafka_request_header *h)
{
    struct pending *pd = xcalloc(1, sizeof *pd);
    pd->c = c;
    pd->api_key = h->api_key;
    pd->api_version = h->api_version;
    pd->correlation_id = h->correlation_id;
    pd->started_ns = clock_mono_ns();
    /* handlers keep within RESPONSE_MAX_BYTES by estimate; twice that is the margin
     * for an estimate that is off, and the encoder's limit the last word */
    arena_init(&pd->arena, 2 * RESPONSE_MAX_BYTES);
    kafka_out_init(&pd->out, RESPONSE_MAX_BYTES);
    pd->home = c->loop;
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

/* A bare SASL token (after a v0 SaslHandshake) takes its place in the response
 * order like any request. */
static void dispatch_sasl_token(struct conn *c, const uint8_t *frame, size_t len)
{
    struct kafka_request_header h = {.api_key = KAFKA_API_SASL_AUTHENTICATE};
    sasl_raw_token(c, pending_new(c, &h), frame, len);
}

bool dispatch_follows(struct conn *c, const uint8_t *frame, size_t len)
{
    struct reader r;
    struct kafka_request_header h;
    if (c->closing || sasl_raw_expected(c))
        return false;
    reader_init(&r, frame, len);
    return kafka_request_header_decode(&r, &h) == 0 && dispatch_on_coordinator(&h, r);
}

/* Loop 0: run a request another loop posted. */
void dispatch_handoff_run(struct dispatch_handoff *ho)
{
    ho->fn(&ho->rq);
    dispatch_handoff_drop(ho);
}

void dispatch_handoff_drop(struct dispatch_handoff *ho)
{
    arena_release(&ho->tmp);
    free(ho);
}

/* Decode a coordinator request from a copy of its frame and post it to loop 0;
 * c reads nothing more until its answer is back. */
static void dispatch_to_coordinator(struct conn *c, const uint8_t *frame, size_t len)
{
    struct dispatch_handoff *ho = xmalloc(sizeof *ho + len);
    memcpy(ho->frame, frame, len);
    struct reader r;
    struct kafka_request_header h;
    reader_init(&r, ho->frame, len);
    kafka_request_header_decode(&r, &h); /* decoded once already: its strings now in the copy */
    size_t limit = len * 16 + (64u << 10);
    arena_init(&ho->tmp, limit < (512u << 20) ? limit : (512u << 20));
    void *body = NULL;
    int rc = kafka_request_decode(h.api_key, h.api_version, &r, &ho->tmp, &body);
    if (rc) {
        log_warn("brook.network", "closing %s: %s request (api %d v%d, %zu bytes) does not decode",
                 c->peer, kafka_api_find(h.api_key)->name, h.api_key, h.api_version, len);
        metrics_request(&c->b->metrics, h.api_key, true);
        dispatch_handoff_drop(ho);
        conn_close(c, "bad request");
        return;
    }
    ho->fn = handler_for(h.api_key, h.api_version);
    ho->rq = (struct request){
        .c = c,
        .hdr = h,
        .version = h.api_version,
        .body = body,
        .tmp = &ho->tmp,
        .frame = ho->frame,
        .frame_len = len,
    };
    ho->rq.pd = pending_new(c, &h);
    ho->rq.pd->home = &c->b->loops[0];
    metrics_request(&c->b->metrics, h.api_key, false);
    c->away++;
    net_loop_post(c->b, ho);
}

void dispatch_request(struct conn *c, uint8_t *frame, size_t len)
{
    struct reader r;
    struct kafka_request_header h;
    if (c->closing) /* a failed authentication: nothing more is served */
        return;
    if (sasl_raw_expected(c)) {
        dispatch_sasl_token(c, frame, len);
        return;
    }
    reader_init(&r, frame, len);
    if (kafka_request_header_decode(&r, &h)) {
        log_warn_every("brook.network", "closing %s: malformed request header", c->peer);
        metrics_request(&c->b->metrics, -1, true);
        conn_close(c, "malformed request header"); /* no response can be correlated */
        return;
    }
    if (!sasl_gate(c, h.api_key)) /* SASL listeners: only ApiVersions and SASL before auth */
        return;
    const struct kafka_api *api = kafka_api_find(h.api_key);
    const struct api_range *offered = api_advertised(h.api_key);
    bool known = api && offered && h.api_key >= 0 &&
                 h.api_key < (int)(sizeof handlers / sizeof *handlers) && handlers[h.api_key];
    if (known && h.api_key == KAFKA_API_API_VERSIONS && h.api_version > offered->max) {
        api_versions_unsupported(c, &h);
        return;
    }
    known = known && h.api_version >= offered->min && h.api_version <= offered->max;
    if (known && c->loop->id && dispatch_on_coordinator(&h, r)) {
        dispatch_to_coordinator(c, frame, len);
        return;
    }
    struct arena tmp;
    size_t limit = len * 16 + (64u << 10);
    arena_init(&tmp, limit < (512u << 20) ? limit : (512u << 20));
    void *body = NULL;
    int rc = known ? kafka_request_decode(h.api_key, h.api_version, &r, &tmp, &body) : -ENOTSUP;
    if (rc) {
        log_warn_every("brook.network", "closing %s: %s request (api %d v%d, %zu bytes) %s",
                       c->peer, api ? api->name : "unknown", h.api_key, h.api_version, len,
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
    handler_for(h.api_key, h.api_version)(&rq);
    arena_release(&tmp);
}
