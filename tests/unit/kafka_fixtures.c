/*
 * kafka_fixtures.c - hand-written Kafka bodies for the versions of Kafka 4.0 (see
 * kafka_fixtures.h for the notation), written from the message schemas field by
 * field: one entry per API, direction and run of versions that share a shape.
 *
 * Chosen values are not defaults wherever the codec could otherwise drop them
 * (a tagged field equal to its default is not sent), so the bytes must come back
 * exactly: that is what makes a tagged field inside a nested struct, a null
 * string, a null array or an absent nullable struct visible to the test.
 */
#include "tests/unit/kafka_fixtures.h"

#define REQ  true
#define RESP false

const struct kafka_fixture kafka_fixtures[] = {
    /* --- Produce 10-11: per-record errors, the leader hint and node endpoints ---------- */
    {0, REQ, 10, 11,
     "cs:null i16:-1 i32:1000 ca:1 cs:t ca:1 i32:0 cby:5245434f524453 tags:0 tags:0 tags:0",
     "transactional_id=null acks=-1 timeout_ms=1000 topic_data[0].name=t "
     "topic_data[0].partition_data[0].index=0"},
    {0, RESP, 10, 11,
     "ca:1 cs:t ca:1 i32:0 i16:0 i64:42 i64:-1 i64:0 ca:1 i32:3 cs:bad tags:0 cs:null "
     "tags:1 tag:0{ i32:1 i32:7 tags:0 } tags:0 i32:0 "
     "tags:1 tag:0{ ca:1 i32:1 cs:localhost i32:9092 cs:null tags:0 }",
     "responses[0].partition_responses[0].base_offset=42 "
     "responses[0].partition_responses[0].record_errors[0].batch_index=3 "
     "responses[0].partition_responses[0].record_errors[0].batch_index_error_message=bad "
     "responses[0].partition_responses[0].error_message=null "
     "responses[0].partition_responses[0].current_leader.leader_epoch=7 "
     "node_endpoints[0].host=localhost node_endpoints[0].rack=null"},

    /* --- Fetch 12-17: topic ids from 13, replica state from 15, directory ids at 17 ----- */
    {1, REQ, 12, 17,
     "0-14:i32:-1 i32:500 i32:1 i32:1048576 i8:1 i32:7 i32:2 "
     "ca:1 0-12:cs:t 13+:uuid:ab ca:1 i32:0 i32:-1 i64:100 i32:-1 i64:-1 i32:65536 "
     "0-16:tags:0 17+:tags:1 17+:tag:0{ uuid:dd } tags:0 "
     "ca:1 0-12:cs:gone 13+:uuid:cd ca:2 i32:1 i32:2 tags:0 cs:rack1 "
     "0-14:tags:1 15+:tags:2 tag:0{ cs:cluster } 15+:tag:1{ i32:3 i64:9 tags:0 }",
     "0-14:replica_id=-1 max_wait_ms=500 isolation_level=1 session_id=7 session_epoch=2 "
     "0-12:topics[0].topic=t 13+:topics[0].topic_id=uuid:ab "
     "topics[0].partitions[0].fetch_offset=100 topics[0].partitions[0].partition_max_bytes=65536 "
     "17+:topics[0].partitions[0].replica_directory_id=uuid:dd "
     "13+:forgotten_topics_data[0].topic_id=uuid:cd forgotten_topics_data[0].partitions[1]=2 "
     "rack_id=rack1 cluster_id=cluster 15+:replica_state.replica_epoch=9"},
    {1, RESP, 12, 17,
     "i32:0 i16:0 i32:7 ca:1 0-12:cs:t 13+:uuid:ab ca:2 "
     "i32:0 i16:0 i64:10 i64:10 i64:0 ca:1 i64:5 i64:3 tags:0 i32:-1 cby:0102 "
     "tags:1 tag:1{ i32:1 i32:5 tags:0 } "
     "i32:1 i16:6 i64:-1 i64:-1 i64:-1 ca:null i32:-1 cby:null tags:0 "
     "tags:0 0-15:tags:0 16+:tags:1 16+:tag:0{ ca:1 i32:1 cs:h i32:9092 cs:r1 tags:0 }",
     "session_id=7 13+:responses[0].topic_id=uuid:ab 0-12:responses[0].topic=t "
     "responses[0].partitions[0].high_watermark=10 "
     "responses[0].partitions[0].aborted_transactions[0].producer_id=5 "
     "responses[0].partitions[0].current_leader.leader_epoch=5 "
     "responses[0].partitions[1].aborted_transactions=null "
     "responses[0].partitions[1].error_code=6 16+:node_endpoints[0].rack=r1"},

    /* --- ListOffsets 7-10: timeout from 10 --------------------------------------------- */
    {2, REQ, 7, 10,
     "i32:-1 i8:0 ca:1 cs:t ca:1 i32:0 i32:-1 i64:-3 tags:0 tags:0 10+:i32:3000 tags:0",
     "replica_id=-1 topics[0].partitions[0].timestamp=-3 10+:timeout_ms=3000"},
    {2, RESP, 7, 10,
     "i32:0 ca:1 cs:t ca:1 i32:0 i16:0 i64:1700000000000 i64:99 i32:0 tags:0 tags:0 tags:0",
     "topics[0].partitions[0].offset=99 topics[0].partitions[0].timestamp=1700000000000"},

    /* --- Metadata 10-12: topic ids, null names, cluster operations gone at 11 ---------- */
    {3, REQ, 10, 12, "ca:2 uuid:00 cs:t tags:0 uuid:ab cs:null tags:0 i8:1 10:i8:0 i8:1 tags:0",
     "topics[0].name=t topics[1].name=null topics[1].topic_id=uuid:ab "
     "allow_auto_topic_creation=true include_topic_authorized_operations=true"},
    {3, REQ, 10, 12, "ca:null i8:0 10:i8:1 i8:0 tags:0",
     "topics=null allow_auto_topic_creation=false 10:include_cluster_authorized_operations=true"},
    {3, RESP, 10, 12,
     "i32:0 ca:1 i32:1 cs:localhost i32:9092 cs:null tags:0 cs:brook i32:1 "
     "ca:1 i16:0 cs:t uuid:ab i8:0 ca:1 i16:0 i32:0 i32:1 i32:0 ca:1 i32:1 ca:1 i32:1 ca:0 "
     "tags:0 i32:-2147483648 tags:0 10:i32:-2147483648 tags:0",
     "brokers[0].port=9092 cluster_id=brook controller_id=1 topics[0].topic_id=uuid:ab "
     "topics[0].partitions[0].leader_id=1 topics[0].partitions[0].isr_nodes[0]=1 "
     "topics[0].partitions[0].offline_replicas=#0"},

    /* --- OffsetCommit 0-1 (older sarama), 8-9 ------------------------------------------ */
    {8, REQ, 0, 1, "s:g 1:i32:3 1:s:m a:1 s:t a:1 i32:0 i64:-2 1:i64:1700000000000 s:meta",
     "group_id=g 1:generation_id_or_member_epoch=3 1:member_id=m "
     "topics[0].partitions[0].committed_offset=-2 1:topics[0].partitions[0].commit_timestamp="
     "1700000000000 topics[0].partitions[0].committed_metadata=meta"},
    {8, RESP, 0, 1, "a:1 s:t a:2 i32:0 i16:0 i32:1 i16:3", "topics[0].partitions[1].error_code=3"},
    {8, REQ, 8, 9,
     "cs:g i32:5 cs:m cs:null ca:1 cs:t ca:1 i32:0 i64:-2 i32:-1 cs:null tags:0 tags:0 tags:0",
     "generation_id_or_member_epoch=5 group_instance_id=null "
     "topics[0].partitions[0].committed_offset=-2 topics[0].partitions[0].committed_metadata=null"},
    {8, RESP, 8, 9, "i32:0 ca:1 cs:t ca:1 i32:0 i16:0 tags:0 tags:0 tags:0",
     "topics[0].partitions[0].error_code=0"},

    /* --- OffsetFetch 0 and 8-9: many groups per request -------------------------------- */
    {9, REQ, 0, 0, "s:g a:1 s:t a:2 i32:0 i32:1", "group_id=g topics[0].partition_indexes[1]=1"},
    {9, RESP, 0, 0, "a:1 s:t a:1 i32:0 i64:7 s: i16:0",
     "topics[0].partitions[0].committed_offset=7 topics[0].partitions[0].metadata="},
    {9, REQ, 8, 9,
     "ca:2 cs:g1 9+:cs:null 9+:i32:-1 ca:1 cs:t ca:1 i32:0 tags:0 tags:0 "
     "cs:g2 9+:cs:m 9+:i32:4 ca:null tags:0 i8:1 tags:0",
     "groups[0].group_id=g1 groups[0].topics[0].partition_indexes[0]=0 groups[1].topics=null "
     "9+:groups[1].member_id=m 9+:groups[1].member_epoch=4 require_stable=true"},
    {9, RESP, 8, 9,
     "i32:0 ca:1 cs:g1 ca:1 cs:t ca:1 i32:0 i64:7 i32:-1 cs:null i16:0 tags:0 tags:0 i16:0 "
     "tags:0 tags:0",
     "groups[0].topics[0].partitions[0].committed_offset=7 "
     "groups[0].topics[0].partitions[0].metadata=null"},

    /* --- FindCoordinator 4-6: batched keys --------------------------------------------- */
    {10, REQ, 4, 6, "i8:0 ca:2 cs:g1 cs:g2 tags:0", "key_type=0 coordinator_keys[1]=g2"},
    {10, RESP, 4, 6,
     "i32:0 ca:2 cs:g1 i32:1 cs:localhost i32:9092 i16:0 cs:null tags:0 "
     "cs: i32:-1 cs: i32:-1 i16:69 cs:bad tags:0 tags:0",
     "coordinators[0].node_id=1 coordinators[1].error_code=69 coordinators[1].error_message=bad"},

    /* --- JoinGroup 7-9, LeaveGroup 5, SyncGroup 5 -------------------------------------- */
    {11, REQ, 7, 9,
     "cs:g i32:10000 i32:30000 cs: cs:null cs:consumer ca:1 cs:range cby:0001 tags:0 "
     "8+:cs:rejoining tags:0",
     "session_timeout_ms=10000 member_id= protocols[0].name=range protocols[0].metadata=0001 "
     "8+:reason=rejoining"},
    {11, RESP, 7, 9,
     "i32:0 i16:0 i32:1 cs:consumer cs:range cs:m1 9+:i8:1 cs:m1 ca:1 cs:m1 cs:null cby:01 tags:0 "
     "tags:0",
     "generation_id=1 protocol_type=consumer leader=m1 9+:skip_assignment=true "
     "members[0].metadata=01"},
    {13, REQ, 5, 5, "cs:g ca:1 cs:m cs:null cs:done tags:0 tags:0",
     "members[0].member_id=m members[0].reason=done"},
    {13, RESP, 5, 5, "i32:0 i16:0 ca:1 cs:m cs:null i16:25 tags:0 tags:0",
     "members[0].error_code=25"},
    {14, REQ, 5, 5, "cs:g i32:1 cs:m cs:null cs:consumer cs:range ca:1 cs:m cby:00 tags:0 tags:0",
     "protocol_name=range assignments[0].assignment=00"},
    {14, RESP, 5, 5, "i32:0 i16:0 cs:consumer cs:range cby:0102 tags:0",
     "protocol_type=consumer assignment=0102"},

    /* --- ListGroups 4-5: state and type filters ---------------------------------------- */
    {16, REQ, 4, 5, "ca:1 cs:Stable 5+:ca:1 5+:cs:consumer tags:0",
     "states_filter[0]=Stable 5+:types_filter[0]=consumer"},
    {16, RESP, 4, 5, "i32:0 i16:0 ca:1 cs:g cs:consumer cs:Stable 5+:cs:classic tags:0 tags:0",
     "groups[0].group_state=Stable 5+:groups[0].group_type=classic"},

    /* --- ApiVersions 4: the response header stays v0 ----------------------------------- */
    {18, REQ, 4, 4, "cs:brook cs:0.1 tags:0", "client_software_name=brook"},
    {18, RESP, 4, 4,
     "i16:0 ca:1 i16:1 i16:4 i16:17 tags:0 i32:0 "
     "tags:2 tag:1{ i64:3 } tag:2{ ca:1 cs:f i16:1 i16:0 tags:0 }",
     "api_keys[0].max_version=17 finalized_features_epoch=3 "
     "finalized_features[0].max_version_level=1"},

    /* --- CreateTopics 6-7 (topic ids), DeleteTopics 5-6 (by id), InitProducerId 3-5 --- */
    {19, REQ, 6, 7,
     "ca:1 cs:t i32:3 i16:1 ca:0 ca:1 cs:cleanup.policy cs:compact tags:0 tags:0 i32:30000 i8:0 "
     "tags:0",
     "topics[0].num_partitions=3 topics[0].configs[0].value=compact timeout_ms=30000"},
    {19, RESP, 6, 7,
     "i32:0 ca:2 cs:t 7+:uuid:ab i16:0 cs:null i32:3 i16:1 "
     "ca:1 cs:cleanup.policy cs:compact i8:0 i8:5 i8:0 tags:0 tags:1 tag:0{ i16:40 } "
     "cs:u 7+:uuid:00 i16:36 cs:exists i32:-1 i16:-1 ca:null tags:0 tags:0",
     "7+:topics[0].topic_id=uuid:ab topics[0].topic_config_error_code=40 "
     "topics[0].configs[0].config_source=5 topics[1].configs=null topics[1].error_message=exists"},
    {20, REQ, 5, 5, "ca:2 cs:t cs:u i32:1000 tags:0", "topic_names[1]=u timeout_ms=1000"},
    {20, REQ, 6, 6, "ca:2 cs:t uuid:00 tags:0 cs:null uuid:ab tags:0 i32:1000 tags:0",
     "topics[0].name=t topics[1].name=null topics[1].topic_id=uuid:ab"},
    {20, RESP, 5, 6,
     "i32:0 ca:2 cs:t 6+:uuid:ab i16:0 cs:null tags:0 5:cs:u 6+:cs:null 6+:uuid:cd i16:100 "
     "cs:unknown tags:0 tags:0",
     "6+:responses[0].topic_id=uuid:ab 6+:responses[1].name=null responses[1].error_code=100"},
    {22, REQ, 3, 5, "cs:null i32:60000 i64:1000 i16:2 tags:0",
     "transactional_id=null producer_id=1000 producer_epoch=2"},
    {22, RESP, 3, 5, "i32:0 i16:0 i64:1001 i16:0 tags:0", "producer_id=1001"},
    {37, REQ, 3, 3, "ca:1 cs:t i32:6 ca:null tags:0 i32:1000 i8:1 tags:0",
     "topics[0].count=6 topics[0].assignments=null validate_only=true"},
    {37, RESP, 3, 3, "i32:0 ca:1 cs:t i16:37 cs:smaller tags:0 tags:0",
     "results[0].error_code=37 results[0].error_message=smaller"},

    /* --- OffsetForLeaderEpoch 0-4 ------------------------------------------------------ */
    {23, REQ, 0, 3, "3+:i32:-1 a:1 s:t a:1 i32:0 2+:i32:7 i32:5",
     "topics[0].partitions[0].leader_epoch=5 2+:topics[0].partitions[0].current_leader_epoch=7"},
    {23, RESP, 0, 3, "2+:i32:0 a:1 s:t a:1 i16:0 i32:0 1+:i32:5 i64:100",
     "topics[0].partitions[0].end_offset=100 1+:topics[0].partitions[0].leader_epoch=5"},
    {23, REQ, 4, 4, "i32:-1 ca:1 cs:t ca:1 i32:0 i32:7 i32:5 tags:0 tags:0 tags:0",
     "replica_id=-1 topics[0].topic=t"},
    {23, RESP, 4, 4, "i32:0 ca:1 cs:t ca:1 i16:0 i32:0 i32:5 i64:100 tags:0 tags:0 tags:0",
     "topics[0].partitions[0].end_offset=100"},

    /* --- DescribeAcls 0-3, CreateAcls 0-3, DeleteAcls 0-3: the pattern type from v1 ---- */
    {29, REQ, 0, 1, "i8:2 s:null 1+:i8:4 s:User:a s:null i8:1 i8:3",
     "resource_type_filter=2 resource_name_filter=null 0:pattern_type_filter=3 "
     "1:pattern_type_filter=4 principal_filter=User:a host_filter=null permission_type=3"},
    {29, RESP, 0, 1, "i32:0 i16:0 s:null a:1 i8:2 s:orders 1+:i8:3 a:1 s:User:a s:* i8:3 i8:3",
     "resources[0].resource_name=orders resources[0].acls[0].host=* "
     "resources[0].acls[0].operation=3"},
    {29, REQ, 2, 3, "i8:1 cs:ord i8:2 cs:null cs:* i8:4 i8:2 tags:0",
     "resource_name_filter=ord pattern_type_filter=2 host_filter=* operation=4"},
    {29, RESP, 2, 3,
     "i32:0 i16:31 cs:denied ca:1 i8:3 cs:g i8:4 ca:1 cs:User:b cs:* i8:8 i8:2 tags:0 tags:0 "
     "tags:0",
     "error_code=31 error_message=denied resources[0].pattern_type=4 "
     "resources[0].acls[0].permission_type=2"},
    {30, REQ, 0, 1, "a:1 i8:2 s:t 1+:i8:4 s:User:a s:10.0.0.1 i8:4 i8:3",
     "creations[0].resource_name=t 0:creations[0].resource_pattern_type=3 "
     "1:creations[0].resource_pattern_type=4 creations[0].host=10.0.0.1"},
    {30, RESP, 0, 1, "i32:0 a:2 i16:0 s:null i16:42 s:bad", "results[1].error_message=bad"},
    {30, REQ, 2, 3, "ca:1 i8:4 cs:kafka-cluster i8:3 cs:User:a cs:* i8:7 i8:3 tags:0 tags:0",
     "creations[0].resource_type=4 creations[0].operation=7"},
    {30, RESP, 2, 3, "i32:0 ca:1 i16:0 cs:null tags:0 tags:0", "results[0].error_code=0"},
    {31, REQ, 0, 1, "a:1 i8:1 s:null 1+:i8:1 s:null s:null i8:1 i8:1",
     "filters[0].resource_name_filter=null filters[0].principal_filter=null "
     "0:filters[0].pattern_type_filter=3 1:filters[0].pattern_type_filter=1"},
    {31, RESP, 0, 1,
     "i32:0 a:1 i16:0 s:null a:1 i16:0 s:null i8:2 s:t 1+:i8:3 s:User:a s:* i8:3 i8:3",
     "filter_results[0].matching_acls[0].resource_name=t "
     "filter_results[0].matching_acls[0].principal=User:a"},
    {31, REQ, 2, 3, "ca:1 i8:3 cs:g i8:4 cs:User:a cs:null i8:3 i8:3 tags:0 tags:0",
     "filters[0].resource_name_filter=g filters[0].host_filter=null"},
    {31, RESP, 2, 3,
     "i32:0 ca:1 i16:0 cs:null ca:1 i16:0 cs:null i8:3 cs:g i8:4 cs:User:a cs:* i8:3 i8:3 tags:0 "
     "tags:0 tags:0",
     "filter_results[0].matching_acls[0].pattern_type=4"},

    /* --- AlterConfigs 0-2, IncrementalAlterConfigs 0-1 --------------------------------- */
    {33, REQ, 0, 1, "a:1 i8:2 s:t a:2 s:retention.ms s:1000 s:cleanup.policy s:null i8:0",
     "resources[0].resource_type=2 resources[0].configs[1].value=null validate_only=false"},
    {33, RESP, 0, 1, "i32:0 a:1 i16:0 s:null i8:2 s:t", "responses[0].resource_name=t"},
    {33, REQ, 2, 2, "ca:1 i8:4 cs:1 ca:1 cs:log.retention.ms cs:1000 tags:0 tags:0 i8:1 tags:0",
     "resources[0].resource_name=1 validate_only=true"},
    {33, RESP, 2, 2, "i32:0 ca:1 i16:40 cs:bad i8:2 cs:t tags:0 tags:0",
     "responses[0].error_code=40"},
    {44, REQ, 0, 0, "a:1 i8:4 s:1 a:1 s:log.retention.ms i8:0 s:1000 i8:0",
     "resources[0].configs[0].config_operation=0"},
    {44, RESP, 0, 0, "i32:0 a:1 i16:0 s:null i8:4 s:1", "responses[0].resource_type=4"},
    {44, REQ, 1, 1,
     "ca:1 i8:2 cs:t ca:2 cs:retention.ms i8:0 cs:1000 tags:0 cs:cleanup.policy i8:1 cs:null "
     "tags:0 tags:0 i8:0 tags:0",
     "resources[0].configs[1].config_operation=1 resources[0].configs[1].value=null"},
    {44, RESP, 1, 1, "i32:0 ca:1 i16:0 cs:null i8:2 cs:t tags:0 tags:0",
     "responses[0].error_message=null"},

    /* --- DescribeLogDirs 0-4 ----------------------------------------------------------- */
    {35, REQ, 0, 1, "a:1 s:t a:1 i32:0", "topics[0].partitions[0]=0"},
    {35, REQ, 0, 1, "a:null", "topics=null"},
    {35, RESP, 0, 1, "i32:0 a:1 i16:0 s:/data a:1 s:t a:1 i32:0 i64:1024 i64:0 i8:0",
     "results[0].topics[0].partitions[0].partition_size=1024"},
    {35, REQ, 2, 4, "ca:1 cs:t ca:2 i32:0 i32:1 tags:0 tags:0", "topics[0].partitions[1]=1"},
    {35, RESP, 2, 4,
     "i32:0 3+:i16:0 ca:1 i16:0 cs:/data ca:1 cs:t ca:1 i32:0 i64:1024 i64:0 i8:0 tags:0 tags:0 "
     "4+:i64:1000000 4+:i64:500000 tags:0 tags:0",
     "results[0].log_dir=/data 4+:results[0].total_bytes=1000000 "
     "4+:results[0].usable_bytes=500000"},

    /* --- ElectLeaders 0-2, ListPartitionReassignments 0 -------------------------------- */
    {43, REQ, 0, 1, "1:i8:0 a:1 s:t a:1 i32:0 i32:60000", "topic_partitions[0].partitions[0]=0"},
    {43, RESP, 0, 1, "i32:0 1:i16:0 a:1 s:t a:1 i32:0 i16:84 s:null",
     "replica_election_results[0].partition_result[0].error_code=84"},
    {43, REQ, 2, 2, "i8:1 ca:null i32:60000 tags:0", "election_type=1 topic_partitions=null"},
    {43, RESP, 2, 2, "i32:0 i16:0 ca:1 cs:t ca:1 i32:0 i16:84 cs:none tags:0 tags:0 tags:0",
     "replica_election_results[0].partition_result[0].error_message=none"},
    {46, REQ, 0, 0, "i32:60000 ca:null tags:0", "topics=null"},
    {46, REQ, 0, 0, "i32:1000 ca:1 cs:t ca:1 i32:0 tags:0 tags:0",
     "timeout_ms=1000 topics[0].partition_indexes[0]=0"},
    {46, RESP, 0, 0,
     "i32:0 i16:0 cs:null ca:1 cs:t ca:1 i32:0 ca:1 i32:1 ca:0 ca:0 tags:0 tags:0 tags:0",
     "topics[0].partitions[0].replicas[0]=1"},

    /* --- OffsetDelete 0 (never flexible), DescribeCluster 0-1, DescribeProducers 0 ------- */
    {47, REQ, 0, 0, "s:g a:1 s:t a:1 i32:0",
     "group_id=g topics[0].partitions[0].partition_index=0"},
    {47, RESP, 0, 0, "i16:0 i32:0 a:1 s:t a:1 i32:0 i16:86",
     "topics[0].partitions[0].error_code=86"},
    /* --- Describe/AlterUserScramCredentials 0: a null user list, salt and salted hash -- */
    {50, REQ, 0, 0, "ca:null tags:0", "users=null"},
    {50, REQ, 0, 0, "ca:2 cs:alice tags:0 cs:bob tags:0 tags:0", "users[1].name=bob"},
    {50, RESP, 0, 0,
     "i32:0 i16:0 cs:null ca:2 cs:alice i16:0 cs:null ca:2 i8:1 i32:4096 tags:0 "
     "i8:2 i32:8192 tags:0 tags:0 cs:carol i16:91 cs:gone ca:0 tags:0 tags:0",
     "error_message=null results[0].user=alice results[0].credential_infos[1].mechanism=2 "
     "results[0].credential_infos[1].iterations=8192 results[1].error_code=91 "
     "results[1].error_message=gone"},
    {51, REQ, 0, 0,
     "ca:1 cs:bob i8:1 tags:0 ca:1 cs:alice i8:2 i32:8192 cby:0a0b0c cby:01020304 tags:0 tags:0",
     "deletions[0].name=bob deletions[0].mechanism=1 upsertions[0].name=alice "
     "upsertions[0].mechanism=2 upsertions[0].iterations=8192"},
    {51, RESP, 0, 0, "i32:0 ca:2 cs:alice i16:0 cs:null tags:0 cs:bob i16:93 cs:few tags:0 tags:0",
     "results[0].user=alice results[0].error_message=null results[1].error_code=93 "
     "results[1].error_message=few"},
    {60, REQ, 0, 1, "i8:0 1+:i8:2 tags:0", "1+:endpoint_type=2"},
    {60, RESP, 0, 1,
     "i32:0 i16:0 cs:null 1+:i8:2 cs:brook i32:1 ca:1 i32:1 cs:localhost i32:9092 cs:null tags:0 "
     "i32:-2147483648 tags:0",
     "cluster_id=brook brokers[0].host=localhost 1+:endpoint_type=2"},
    {61, REQ, 0, 0, "ca:1 cs:t ca:1 i32:0 tags:0 tags:0", "topics[0].partition_indexes[0]=0"},
    {61, RESP, 0, 0,
     "i32:0 ca:1 cs:t ca:1 i32:0 i16:0 cs:null ca:1 i64:1000 i32:0 i32:41 i64:1700000000000 "
     "i32:-1 i64:-1 tags:0 tags:0 tags:0 tags:0",
     "topics[0].partitions[0].active_producers[0].last_sequence=41"},

    /* --- ConsumerGroupHeartbeat 0-1: the nullable assignment --------------------------- */
    {68, REQ, 0, 1,
     "cs:g cs:m i32:0 cs:null cs:null i32:45000 ca:1 cs:t 1+:cs:null cs:uniform "
     "ca:1 uuid:ab ca:1 i32:0 tags:0 tags:0",
     "member_epoch=0 subscribed_topic_names[0]=t server_assignor=uniform "
     "topic_partitions[0].topic_id=uuid:ab"},
    {68, REQ, 1, 1, "cs:g cs:m i32:3 cs:i1 cs:rack i32:-1 ca:null cs:t.* cs:null ca:null tags:0",
     "subscribed_topic_names=null subscribed_topic_regex=t.* topic_partitions=null"},
    {68, RESP, 0, 1,
     "i32:0 i16:0 cs:null cs:m i32:1 i32:5000 "
     "i8:1 ca:2 uuid:ab ca:2 i32:0 i32:1 tags:0 uuid:cd ca:0 tags:0 tags:0 tags:0",
     "has_assignment=true assignment.topic_partitions[0].partitions[1]=1 "
     "assignment.topic_partitions[1].topic_id=uuid:cd"},
    {68, RESP, 0, 1, "i32:0 i16:0 cs:null cs:m i32:2 i32:5000 i8:-1 tags:0",
     "has_assignment=false member_epoch=2"},

    /* --- ConsumerGroupDescribe 0, DescribeTopicPartitions 0 (nullable cursors) --------- */
    {69, REQ, 0, 0, "ca:1 cs:g i8:0 tags:0", "group_ids[0]=g"},
    {69, RESP, 0, 0,
     "i32:0 ca:1 i16:0 cs:null cs:g cs:Stable i32:3 i32:3 cs:uniform "
     "ca:1 cs:m cs:null cs:null i32:3 cs:c cs:/127.0.0.1 ca:1 cs:t cs:null "
     "ca:1 uuid:ab cs:t ca:1 i32:0 tags:0 tags:0 ca:1 uuid:ab cs:t ca:2 i32:0 i32:1 tags:0 tags:0 "
     "tags:0 i32:-2147483648 tags:0 tags:0",
     "groups[0].group_epoch=3 groups[0].members[0].client_host=/127.0.0.1 "
     "groups[0].members[0].assignment.topic_partitions[0].topic_name=t "
     "groups[0].members[0].target_assignment.topic_partitions[0].partitions[1]=1"},
    {75, REQ, 0, 0, "ca:1 cs:t tags:0 i32:2000 i8:-1 tags:0",
     "has_cursor=false response_partition_limit=2000"},
    {75, REQ, 0, 0, "ca:1 cs:t tags:0 i32:10 i8:1 cs:t i32:5 tags:0 tags:0",
     "has_cursor=true cursor.topic_name=t cursor.partition_index=5"},
    {75, RESP, 0, 0,
     "i32:0 ca:1 i16:0 cs:t uuid:ab i8:0 ca:1 i16:0 i32:0 i32:1 i32:0 ca:1 i32:1 ca:1 i32:1 "
     "ca:null ca:null ca:0 tags:0 i32:-2147483648 tags:0 i8:1 cs:t i32:1 tags:0 tags:0",
     "topics[0].topic_id=uuid:ab topics[0].partitions[0].eligible_leader_replicas=null "
     "has_next_cursor=true next_cursor.partition_index=1"},
    {75, RESP, 0, 0, "i32:0 ca:0 i8:-1 tags:0", "has_next_cursor=false"},
};
const size_t n_kafka_fixtures = sizeof kafka_fixtures / sizeof kafka_fixtures[0];

/* A nullable struct's marker byte is -1 (null) or 1 (present); anything else is an
 * error, not a guess. */
const struct kafka_fixture kafka_bad_fixtures[] = {
    {68, RESP, 0, 1, "i32:0 i16:0 cs:null cs:m i32:2 i32:5000 i8:0 tags:0", NULL},
    {68, RESP, 0, 1, "i32:0 i16:0 cs:null cs:m i32:2 i32:5000 i8:2 ca:0 tags:0 tags:0", NULL},
    {68, RESP, 0, 1, "i32:0 i16:0 cs:null cs:m i32:2 i32:5000 i8:127 ca:0 tags:0 tags:0", NULL},
    {75, REQ, 0, 0, "ca:1 cs:t tags:0 i32:10 i8:0 cs:t i32:5 tags:0 tags:0", NULL},
    {75, RESP, 0, 0, "i32:0 ca:0 i8:-2 tags:0", NULL},
    /* a present struct must be followed by the struct itself */
    {75, RESP, 0, 0, "i32:0 ca:0 i8:1 tags:0", NULL},
};
const size_t n_kafka_bad_fixtures = sizeof kafka_bad_fixtures / sizeof kafka_bad_fixtures[0];
