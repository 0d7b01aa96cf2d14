/*
 * kafka_errors.c - names and retriability of Kafka error codes.
 *
 * A table indexed by code + 1 (codes run from -1 upwards without gaps); each entry
 * is built from the enum constant itself, so a name cannot drift from its number.
 */
#include "proto/kafka_errors.h"

#include <stddef.h>

struct error_info {
    const char *name; /* Kafka's name, without the KAFKA_ prefix */
    bool retriable;   /* Kafka's RetriableException family */
};

#define E(name, retriable) [KAFKA_##name + 1] = {#name, retriable}

static const struct error_info errors[] = {
    E(UNKNOWN_SERVER_ERROR, false),
    E(NONE, false),
    E(OFFSET_OUT_OF_RANGE, false),
    E(CORRUPT_MESSAGE, true),
    E(UNKNOWN_TOPIC_OR_PARTITION, true),
    E(INVALID_FETCH_SIZE, false),
    E(LEADER_NOT_AVAILABLE, true),
    E(NOT_LEADER_OR_FOLLOWER, true),
    E(REQUEST_TIMED_OUT, true),
    E(BROKER_NOT_AVAILABLE, false),
    E(REPLICA_NOT_AVAILABLE, true),
    E(MESSAGE_TOO_LARGE, false),
    E(STALE_CONTROLLER_EPOCH, false),
    E(OFFSET_METADATA_TOO_LARGE, false),
    E(NETWORK_EXCEPTION, true),
    E(COORDINATOR_LOAD_IN_PROGRESS, true),
    E(COORDINATOR_NOT_AVAILABLE, true),
    E(NOT_COORDINATOR, true),
    E(INVALID_TOPIC_EXCEPTION, false),
    E(RECORD_LIST_TOO_LARGE, false),
    E(NOT_ENOUGH_REPLICAS, true),
    E(NOT_ENOUGH_REPLICAS_AFTER_APPEND, true),
    E(INVALID_REQUIRED_ACKS, false),
    E(ILLEGAL_GENERATION, false),
    E(INCONSISTENT_GROUP_PROTOCOL, false),
    E(INVALID_GROUP_ID, false),
    E(UNKNOWN_MEMBER_ID, false),
    E(INVALID_SESSION_TIMEOUT, false),
    E(REBALANCE_IN_PROGRESS, false),
    E(INVALID_COMMIT_OFFSET_SIZE, false),
    E(TOPIC_AUTHORIZATION_FAILED, false),
    E(GROUP_AUTHORIZATION_FAILED, false),
    E(CLUSTER_AUTHORIZATION_FAILED, false),
    E(INVALID_TIMESTAMP, false),
    E(UNSUPPORTED_SASL_MECHANISM, false),
    E(ILLEGAL_SASL_STATE, false),
    E(UNSUPPORTED_VERSION, false),
    E(TOPIC_ALREADY_EXISTS, false),
    E(INVALID_PARTITIONS, false),
    E(INVALID_REPLICATION_FACTOR, false),
    E(INVALID_REPLICA_ASSIGNMENT, false),
    E(INVALID_CONFIG, false),
    E(NOT_CONTROLLER, true),
    E(INVALID_REQUEST, false),
    E(UNSUPPORTED_FOR_MESSAGE_FORMAT, false),
    E(POLICY_VIOLATION, false),
    E(OUT_OF_ORDER_SEQUENCE_NUMBER, false),
    E(DUPLICATE_SEQUENCE_NUMBER, false),
    E(INVALID_PRODUCER_EPOCH, false),
    E(INVALID_TXN_STATE, false),
    E(INVALID_PRODUCER_ID_MAPPING, false),
    E(INVALID_TRANSACTION_TIMEOUT, false),
    E(CONCURRENT_TRANSACTIONS, false),
    E(TRANSACTION_COORDINATOR_FENCED, false),
    E(TRANSACTIONAL_ID_AUTHORIZATION_FAILED, false),
    E(SECURITY_DISABLED, false),
    E(OPERATION_NOT_ATTEMPTED, false),
    E(KAFKA_STORAGE_ERROR, true),
    E(LOG_DIR_NOT_FOUND, false),
    E(SASL_AUTHENTICATION_FAILED, false),
    E(UNKNOWN_PRODUCER_ID, false),
    E(REASSIGNMENT_IN_PROGRESS, false),
    E(DELEGATION_TOKEN_AUTH_DISABLED, false),
    E(DELEGATION_TOKEN_NOT_FOUND, false),
    E(DELEGATION_TOKEN_OWNER_MISMATCH, false),
    E(DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, false),
    E(DELEGATION_TOKEN_AUTHORIZATION_FAILED, false),
    E(DELEGATION_TOKEN_EXPIRED, false),
    E(INVALID_PRINCIPAL_TYPE, false),
    E(NON_EMPTY_GROUP, false),
    E(GROUP_ID_NOT_FOUND, false),
    E(FETCH_SESSION_ID_NOT_FOUND, true),
    E(INVALID_FETCH_SESSION_EPOCH, true),
    E(LISTENER_NOT_FOUND, true),
    E(TOPIC_DELETION_DISABLED, false),
    E(FENCED_LEADER_EPOCH, true),
    E(UNKNOWN_LEADER_EPOCH, true),
    E(UNSUPPORTED_COMPRESSION_TYPE, false),
    E(STALE_BROKER_EPOCH, false),
    E(OFFSET_NOT_AVAILABLE, true),
    E(MEMBER_ID_REQUIRED, false),
    E(PREFERRED_LEADER_NOT_AVAILABLE, true),
    E(GROUP_MAX_SIZE_REACHED, false),
    E(FENCED_INSTANCE_ID, false),
    E(ELIGIBLE_LEADERS_NOT_AVAILABLE, true),
    E(ELECTION_NOT_NEEDED, true),
    E(NO_REASSIGNMENT_IN_PROGRESS, false),
    E(GROUP_SUBSCRIBED_TO_TOPIC, false),
    E(INVALID_RECORD, false),
    E(UNSTABLE_OFFSET_COMMIT, true),
    E(THROTTLING_QUOTA_EXCEEDED, true),
    E(PRODUCER_FENCED, false),
    E(RESOURCE_NOT_FOUND, false),
    E(DUPLICATE_RESOURCE, false),
    E(UNACCEPTABLE_CREDENTIAL, false),
    E(INCONSISTENT_VOTER_SET, false),
    E(INVALID_UPDATE_VERSION, false),
    E(FEATURE_UPDATE_FAILED, false),
    E(PRINCIPAL_DESERIALIZATION_FAILURE, false),
    E(SNAPSHOT_NOT_FOUND, false),
    E(POSITION_OUT_OF_RANGE, false),
    E(UNKNOWN_TOPIC_ID, true),
    E(DUPLICATE_BROKER_REGISTRATION, false),
    E(BROKER_ID_NOT_REGISTERED, false),
    E(INCONSISTENT_TOPIC_ID, true),
    E(INCONSISTENT_CLUSTER_ID, false),
    E(TRANSACTIONAL_ID_NOT_FOUND, false),
    E(FETCH_SESSION_TOPIC_ID_ERROR, true),
    E(INELIGIBLE_REPLICA, false),
    E(NEW_LEADER_ELECTED, false),
    E(OFFSET_MOVED_TO_TIERED_STORAGE, false),
    E(FENCED_MEMBER_EPOCH, false),
    E(UNRELEASED_INSTANCE_ID, false),
    E(UNSUPPORTED_ASSIGNOR, false),
    E(STALE_MEMBER_EPOCH, false),
    E(MISMATCHED_ENDPOINT_TYPE, false),
    E(UNSUPPORTED_ENDPOINT_TYPE, false),
    E(UNKNOWN_CONTROLLER_ID, false),
};

static const struct error_info *lookup(int16_t code)
{
    size_t i = (size_t)(code + 1);
    if (code < -1 || i >= sizeof errors / sizeof errors[0] || !errors[i].name)
        return NULL;
    return &errors[i];
}

const char *kafka_error_name(int16_t code)
{
    const struct error_info *e = lookup(code);
    return e ? e->name : "UNKNOWN";
}

bool kafka_error_retriable(int16_t code)
{
    const struct error_info *e = lookup(code);
    return e && e->retriable;
}
