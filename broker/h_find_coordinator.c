/*
 * h_find_coordinator.c - FindCoordinator: which node coordinates a group or a
 * transactional id.
 *
 * brook is one node, so every answer names it: for groups (key type 0) and for
 * transactional ids (key type 1), as Kafka names the leader of the partition of
 * __consumer_offsets or __transaction_state the key hashes to. Clients look a
 * transaction coordinator up before they use it, so it is answered even where
 * transactions are not served yet. A key Kafka would refuse gets its error: an
 * empty group id or an unknown key type (share groups included) INVALID_REQUEST.
 *
 * v4+ batch the keys: each is answered in its own entry. A peer can name many
 * keys in one frame, and each entry of the answer carries the host, so the
 * answer's size is counted before it is built (refused past the response limit).
 */
#include <string.h>

#include "broker/private.h"

/* Response bytes of one v4+ entry besides its key, host and message (fields,
 * tags). */
#define COORDINATOR_ENTRY_BYTES 24

/* The error a key gets (KAFKA_NONE: this node coordinates it) and why. */
static int16_t coordinator_check(int16_t version, int8_t key_type, struct kstr key,
                                 struct kstr *why)
{
    *why = KSTR_NULL;
    if (key_type == 0 && key.len <= 0) {
        *why = KSTR("a group id must not be empty");
        return KAFKA_INVALID_REQUEST;
    }
    if (key_type == 2 && version >= 6) {
        *why = KSTR("brook has no share groups");
        return KAFKA_COORDINATOR_NOT_AVAILABLE;
    }
    if (key_type != 0 && key_type != 1) {
        *why = KSTR("brook coordinates groups (0) and transactional ids (1)");
        return KAFKA_INVALID_REQUEST;
    }
    return KAFKA_NONE;
}

/* coordinator_check, then Kafka's DESCRIBE on the group or transactional id. */
static int16_t coordinator_error(struct request *rq, int8_t key_type, struct kstr key,
                                 struct kstr *why)
{
    int16_t err = coordinator_check(rq->version, key_type, key, why);
    if (!err && key_type == 0 && !request_allowed_kstr(rq, AUTH_OP_DESCRIBE, AUTH_RES_GROUP, key))
        err = KAFKA_GROUP_AUTHORIZATION_FAILED;
    if (!err && key_type == 1 &&
        !request_allowed_kstr(rq, AUTH_OP_DESCRIBE, AUTH_RES_TRANSACTIONAL_ID, key))
        err = KAFKA_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    return err;
}

/* v0-3: one key, answered at the top level. */
static void coordinator_one(struct request *rq, struct kafka_find_coordinator_req *req,
                            struct kafka_find_coordinator_resp *r, const char *host, int port)
{
    struct broker *b = rq->c->b;
    r->error_code = coordinator_error(rq, req->key_type, req->key, &r->error_message);
    bool ok = r->error_code == KAFKA_NONE;
    r->node_id = ok ? b->cfg->node_id : -1;
    r->host = ok ? kstr_from(host) : KSTR("");
    r->port = ok ? port : -1;
}

/* The arena and wire bytes of a v4+ answer. */
static uint64_t coordinator_bytes(int16_t version, const struct kafka_find_coordinator_req *req,
                                  size_t host_len)
{
    uint64_t bytes = response_bytes((uint64_t)req->n_coordinator_keys,
                                    sizeof(struct kafka_find_coordinator_resp_coordinator));
    for (int32_t i = 0; i < req->n_coordinator_keys; i++) {
        struct kstr key = req->coordinator_keys[i], why;
        bool ok = coordinator_check(version, req->key_type, key, &why) == KAFKA_NONE;
        bytes += (uint64_t)(key.len > 0 ? key.len : 0) + (ok ? host_len : 0) +
                 (uint64_t)(why.len > 0 ? why.len : 0) + COORDINATOR_ENTRY_BYTES;
    }
    return bytes;
}

void handle_find_coordinator(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_find_coordinator_req *req = rq->body;
    const char *host;
    int port;
    conn_advertised(rq->c, &host, &port);
    if (rq->version >= 4 && !response_fits(rq, coordinator_bytes(rq->version, req, strlen(host)))) {
        request_refuse(rq, "the FindCoordinator response would pass the response limit");
        return;
    }
    struct kafka_find_coordinator_resp *r = response_new(rq);
    if (rq->version < 4) {
        coordinator_one(rq, req, r, host, port);
        request_respond(rq, r);
        return;
    }
    /* the entries borrow the request's keys: the answer is encoded before it returns */
    r->coordinators = PENDING_NEW(rq->pd, struct kafka_find_coordinator_resp_coordinator,
                                  req->n_coordinator_keys);
    r->n_coordinators = req->n_coordinator_keys;
    for (int32_t i = 0; i < req->n_coordinator_keys; i++) {
        struct kafka_find_coordinator_resp_coordinator *c = &r->coordinators[i];
        c->key = req->coordinator_keys[i];
        c->error_code = coordinator_error(rq, req->key_type, c->key, &c->error_message);
        bool ok = c->error_code == KAFKA_NONE;
        c->node_id = ok ? b->cfg->node_id : -1;
        c->host = ok ? kstr_from(host) : KSTR("");
        c->port = ok ? port : -1;
    }
    request_respond(rq, r);
}
