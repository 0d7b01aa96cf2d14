/*
 * h_api_versions.c - ApiVersions, and the one table of what brook advertises.
 *
 * The table is what brook tells clients about versions: a client picks, per API,
 * the highest version both sides know, so a range here must be one the codecs
 * (proto/kafka.schema) decode and the handlers answer. The codecs may know more
 * versions than a handler answers: dispatch.c routes only the versions in this
 * table, so it alone decides what clients are offered and what brook serves.
 *
 * An ApiVersions request of a version brook cannot decode is still answered, in
 * v0 with UNSUPPORTED_VERSION and this table, so that a newer client can retry
 * with a version brook has (dispatch.c sends such requests here).
 */
#include "broker/private.h"

/* Produce v0-2 and Fetch v0-3 carry message sets of magic 0 and 1, which Kafka 4
 * no longer takes; brook converts them (h_legacy.c). Advertising Produce from 0 also
 * keeps librdkafka's compression on. */
const struct api_range advertised_apis[] = {
    {KAFKA_API_PRODUCE, 0, 11, "v0-2 are converted from message format 0/1 (Kafka 4 has no v0-2)"},
    {KAFKA_API_FETCH, 0, 17,
     "v0-3 get down-converted message sets without headers (Kafka 4 has no v0-3)"},
    {KAFKA_API_LIST_OFFSETS, 0, 10,
     "v0 answers one offset, however many are asked for (Kafka 4 has no v0)"},
    {KAFKA_API_METADATA, 0, 12, NULL},
    {KAFKA_API_OFFSET_COMMIT, 0, 9, "v0-1 too (Kafka 4 starts at 2), stored like the others"},
    {KAFKA_API_OFFSET_FETCH, 0, 9, "v0 too (Kafka 4 starts at 1), from the same store"},
    {KAFKA_API_FIND_COORDINATOR, 0, 6, "an empty group id gets INVALID_REQUEST"},
    {KAFKA_API_JOIN_GROUP, 0, 9,
     "an empty group.instance.id or one with a NUL byte: INVALID_GROUP_ID"},
    {KAFKA_API_HEARTBEAT, 0, 4, NULL},
    {KAFKA_API_LEAVE_GROUP, 0, 5, NULL},
    {KAFKA_API_SYNC_GROUP, 0, 5, NULL},
    {KAFKA_API_DESCRIBE_GROUPS, 0, 5, NULL},
    {KAFKA_API_LIST_GROUPS, 0, 5, NULL},
    {KAFKA_API_SASL_HANDSHAKE, 0, 1, "PLAIN, SCRAM-SHA-256/512 (sasl.enabled.mechanisms)"},
    {KAFKA_API_API_VERSIONS, 0, 4, NULL},
    {KAFKA_API_CREATE_TOPICS, 0, 7,
     "v5+ lists the topic configs brook knows, not all of Kafka's; a validate_only answer "
     "has a zero topic id (Kafka's is random and never used)"},
    {KAFKA_API_DELETE_TOPICS, 0, 6, NULL},
    {KAFKA_API_DELETE_RECORDS, 0, 2, NULL},
    {KAFKA_API_INIT_PRODUCER_ID, 0, 5, NULL},
    {KAFKA_API_OFFSET_FOR_LEADER_EPOCH, 0, 4, "one leader epoch, 0, per partition"},
    {KAFKA_API_ADD_PARTITIONS_TO_TXN, 0, 5,
     "v4+ batches are accepted from any client (Kafka: brokers only, CLUSTER_ACTION)"},
    {KAFKA_API_ADD_OFFSETS_TO_TXN, 0, 4, NULL},
    {KAFKA_API_END_TXN, 0, 4, "v5 (an epoch bump per transaction, KIP-890 part 2) is not offered"},
    {KAFKA_API_TXN_OFFSET_COMMIT, 0, 4,
     "the generation and member id (v3+) are not checked against the group"},
    {KAFKA_API_DESCRIBE_ACLS, 0, 3,
     "an answer that would pass the response limit is refused (the connection closed)"},
    {KAFKA_API_CREATE_ACLS, 0, 3,
     "at most 100 000 bindings in 32 MiB of file: beyond, POLICY_VIOLATION"},
    {KAFKA_API_DELETE_ACLS, 0, 3,
     "a filter matching more than a response carries: INVALID_REQUEST, nothing deleted"},
    {KAFKA_API_DESCRIBE_CONFIGS, 0, 4, NULL},
    {KAFKA_API_ALTER_CONFIGS, 0, 2, NULL},
    {KAFKA_API_DESCRIBE_LOG_DIRS, 0, 4, "one log directory; offset_lag always 0"},
    {KAFKA_API_SASL_AUTHENTICATE, 0, 2, NULL},
    {KAFKA_API_CREATE_PARTITIONS, 0, 3, NULL},
    {KAFKA_API_DELETE_GROUPS, 0, 2, NULL},
    {KAFKA_API_ELECT_LEADERS, 0, 2, "single node: ELECTION_NOT_NEEDED per partition"},
    {KAFKA_API_INCREMENTAL_ALTER_CONFIGS, 0, 1, NULL},
    {KAFKA_API_LIST_PARTITION_REASSIGNMENTS, 0, 0, "single node: never a reassignment"},
    {KAFKA_API_OFFSET_DELETE, 0, 0, NULL},
    {KAFKA_API_DESCRIBE_USER_SCRAM_CREDENTIALS, 0, 0, NULL},
    {KAFKA_API_ALTER_USER_SCRAM_CREDENTIALS, 0, 0,
     "at most 100 changes per request (each is durable on its own): more is INVALID_REQUEST"},
    {KAFKA_API_DESCRIBE_CLUSTER, 0, 1, NULL},
    {KAFKA_API_DESCRIBE_PRODUCERS, 0, 0,
     "last_timestamp and coordinator_epoch -1 (not kept); one topic entry per request "
     "entry"},
    {KAFKA_API_DESCRIBE_TRANSACTIONS, 0, 0, NULL},
    {KAFKA_API_LIST_TRANSACTIONS, 0, 1, NULL},
    {KAFKA_API_CONSUMER_GROUP_HEARTBEAT, 0, 1,
     "v1 regexes are POSIX extended, without {m,n} (Kafka: RE2/J); Kafka 4.0 marks v1 unstable"},
    {KAFKA_API_CONSUMER_GROUP_DESCRIBE, 0, 0, NULL},
    {KAFKA_API_DESCRIBE_TOPIC_PARTITIONS, 0, 0, NULL},
};
const int n_advertised_apis = sizeof advertised_apis / sizeof *advertised_apis;

const struct api_range *api_advertised(int16_t key)
{
    for (int i = 0; i < n_advertised_apis; i++)
        if (advertised_apis[i].key == key)
            return &advertised_apis[i];
    return NULL;
}

void handle_api_versions(struct request *rq)
{
    struct pending *pd = rq->pd;
    struct kafka_api_versions_resp *resp = response_new(rq);
    resp->api_keys = PENDING_NEW(pd, struct kafka_api_versions_resp_api_key, n_advertised_apis);
    resp->n_api_keys = n_advertised_apis;
    for (int i = 0; i < n_advertised_apis; i++)
        resp->api_keys[i] = (struct kafka_api_versions_resp_api_key){
            advertised_apis[i].key, advertised_apis[i].min, advertised_apis[i].max};
    /* a version brook cannot decode is answered in v0 with the versions it has */
    if (rq->hdr.api_version > api_advertised(KAFKA_API_API_VERSIONS)->max)
        resp->error_code = KAFKA_UNSUPPORTED_VERSION;
    request_respond(rq, resp);
}
