/*
 * test_client_versions.c - libbrook picks, per request, the newest version both it
 * and the broker speak, and says so clearly when there is none.
 *
 * A small broker runs in a thread on a loopback port: it answers ApiVersions with
 * the ranges a test gives it, and Metadata, ListOffsets, Fetch (one topic "t", one
 * partition, one record), InitProducerId, Produce, FindCoordinator, DescribeGroups
 * and OffsetFetch (one Empty group) at whatever version it is asked, through the
 * codecs in proto/. It notes the version of every request, so a test can check
 * what the client chose: Kafka 4.0's newest (Fetch 17 naming topics by id,
 * Metadata 12, ListOffsets 10, FindCoordinator 6 and OffsetFetch 9 with their
 * batches, Produce 11, InitProducerId 5) when offered, the older shapes when not, and
 * BROOK_ERR_VERSION when the ranges do not meet.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/brook.h"
#include "lib/writer.h"
#include "proto/kafka.h"
#include "proto/kafka_errors.h"
#include "proto/record.h"

#define MAX_CONNS   8
#define FRAME_MAX   (1u << 20)
#define POLL_MS     50
#define API_KEYS    80
#define RECORD_TEXT "one record"

static const uint8_t topic_id[16] = {0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
                                     0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab};

struct fake {
    int lfd, port;
    pthread_t thread;
    atomic_bool stop;
    const struct kafka_api_versions_resp_api_key *ranges;
    int n_ranges;
    int coord_port; /* where FindCoordinator sends clients (node 7) */
    bool groups;    /* answers DescribeGroups and OffsetFetch */
    /* written by the broker thread, read by the test after pthread_join */
    int16_t used[API_KEYS]; /* the newest version each api was asked at, -1 none */
    int fetch_by_wrong_id;  /* Fetch v13+ requests naming an id that is not t's */
};

/* Read exactly n bytes (the peer is a well-behaved client); false on EOF/error. */
static bool read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = read(fd, p, n);
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static bool write_full(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static void answer_api_versions(struct fake *f, struct kafka_api_versions_resp *r)
{
    r->api_keys = (struct kafka_api_versions_resp_api_key *)f->ranges;
    r->n_api_keys = f->n_ranges;
}

static void answer_metadata(struct fake *f, struct arena *a, const struct kafka_metadata_req *q,
                            struct kafka_metadata_resp *r)
{
    static int32_t replicas[] = {0};
    r->brokers = arena_calloc(a, 1, sizeof *r->brokers);
    r->brokers[0] = (struct kafka_metadata_resp_broker){
        .node_id = 0, .host = KSTR("127.0.0.1"), .port = f->port, .rack = KSTR_NULL};
    r->n_brokers = 1;
    r->cluster_id = KSTR("fake");
    r->controller_id = 0;
    int32_t n = q->n_topics < 0 ? 1 : q->n_topics;
    r->topics = arena_calloc(a, (size_t)n + 1, sizeof *r->topics);
    for (int32_t i = 0; i < n; i++) {
        struct kafka_metadata_resp_topic *t = &r->topics[r->n_topics++];
        kafka_init(&kafka_metadata_resp_topic_desc, t);
        t->name = q->n_topics < 0 ? KSTR("t") : q->topics[i].name;
        if (!kstr_eq(t->name, "t")) {
            t->error_code = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        memcpy(t->topic_id, topic_id, 16);
        t->partitions = arena_calloc(a, 1, sizeof *t->partitions);
        kafka_init(&kafka_metadata_resp_partition_desc, t->partitions);
        t->partitions[0].replica_nodes = t->partitions[0].isr_nodes = replicas;
        t->partitions[0].n_replica_nodes = t->partitions[0].n_isr_nodes = 1;
        t->n_partitions = 1;
    }
}

static void answer_list_offsets(struct arena *a, const struct kafka_list_offsets_req *q,
                                struct kafka_list_offsets_resp *r)
{
    r->topics = arena_calloc(a, (size_t)q->n_topics + 1, sizeof *r->topics);
    r->n_topics = q->n_topics;
    for (int32_t i = 0; i < q->n_topics; i++) {
        r->topics[i].name = q->topics[i].name;
        int32_t n = q->topics[i].n_partitions;
        r->topics[i].partitions = arena_calloc(a, (size_t)n + 1, sizeof *r->topics[i].partitions);
        r->topics[i].n_partitions = n;
        for (int32_t k = 0; k < n; k++) {
            struct kafka_list_offsets_resp_partition *p = &r->topics[i].partitions[k];
            kafka_init(&kafka_list_offsets_resp_partition_desc, p);
            p->partition_index = q->topics[i].partitions[k].partition_index;
            p->offset = q->topics[i].partitions[k].timestamp == -1 ? 1 : 0;
        }
    }
}

/* Every batch is stored at offset 0 (the tests produce one record). */
static void answer_produce(struct arena *a, const struct kafka_produce_req *q,
                           struct kafka_produce_resp *r)
{
    r->responses = arena_calloc(a, (size_t)q->n_topic_data + 1, sizeof *r->responses);
    r->n_responses = q->n_topic_data;
    for (int32_t i = 0; i < q->n_topic_data; i++) {
        int32_t n = q->topic_data[i].n_partition_data;
        r->responses[i].name = q->topic_data[i].name;
        r->responses[i].partition_responses =
            arena_calloc(a, (size_t)n + 1, sizeof *r->responses[i].partition_responses);
        r->responses[i].n_partition_responses = n;
        for (int32_t k = 0; k < n; k++) {
            struct kafka_produce_resp_partition *p = &r->responses[i].partition_responses[k];
            kafka_init(&kafka_produce_resp_partition_desc, p);
            p->index = q->topic_data[i].partition_data[k].index;
        }
    }
}

/* The coordinator of any group is this broker, named as the version asks. */
static void answer_find_coordinator(struct fake *f, struct arena *a, int16_t v,
                                    const struct kafka_find_coordinator_req *q,
                                    struct kafka_find_coordinator_resp *r)
{
    if (v < 4) {
        r->node_id = 7;
        r->host = KSTR("127.0.0.1");
        r->port = f->coord_port;
        return;
    }
    r->coordinators = arena_calloc(a, (size_t)q->n_coordinator_keys + 1, sizeof *r->coordinators);
    r->n_coordinators = q->n_coordinator_keys;
    for (int32_t i = 0; i < q->n_coordinator_keys; i++)
        r->coordinators[i] =
            (struct kafka_find_coordinator_resp_coordinator){.key = q->coordinator_keys[i],
                                                             .node_id = 7,
                                                             .host = KSTR("127.0.0.1"),
                                                             .port = f->coord_port};
}

/* Every group has committed offset 1 on t/0, told in the version's shape. */
static void answer_offset_fetch(struct arena *a, int16_t v, const struct kafka_offset_fetch_req *q,
                                struct kafka_offset_fetch_resp *r)
{
    static const struct kafka_offset_fetch_resp_partition old = {0, 1, -1, {"", 0}, 0};
    static const struct kafka_offset_fetch_resp_partitions new = {0, 1, -1, {"", 0}, 0};
    if (v < 8) {
        r->topics = arena_calloc(a, 1, sizeof *r->topics);
        r->topics[0] = (struct kafka_offset_fetch_resp_topic){
            KSTR("t"), (struct kafka_offset_fetch_resp_partition *)&old, 1};
        r->n_topics = 1;
        return;
    }
    r->groups = arena_calloc(a, (size_t)q->n_groups + 1, sizeof *r->groups);
    r->n_groups = q->n_groups;
    for (int32_t i = 0; i < q->n_groups; i++) {
        struct kafka_offset_fetch_resp_topics *t = arena_calloc(a, 1, sizeof *t);
        *t = (struct kafka_offset_fetch_resp_topics){
            KSTR("t"), (struct kafka_offset_fetch_resp_partitions *)&new, 1};
        r->groups[i] = (struct kafka_offset_fetch_resp_group){q->groups[i].group_id, t, 1, 0};
    }
}

/* Every group asked about is Empty. */
static void answer_describe_groups(struct arena *a, const struct kafka_describe_groups_req *q,
                                   struct kafka_describe_groups_resp *r)
{
    r->groups = arena_calloc(a, (size_t)q->n_groups + 1, sizeof *r->groups);
    r->n_groups = q->n_groups;
    for (int32_t i = 0; i < q->n_groups; i++) {
        kafka_init(&kafka_describe_groups_resp_group_desc, &r->groups[i]);
        r->groups[i].group_id = q->groups[i];
        r->groups[i].group_state = KSTR("Empty");
        r->groups[i].protocol_type = KSTR("consumer");
    }
}

/* One batch of one record at offset 0, or nothing past it. */
static void answer_fetch(struct fake *f, struct arena *a, int16_t v,
                         const struct kafka_fetch_req *q, struct kafka_fetch_resp *r,
                         struct writer *batch)
{
    r->responses = arena_calloc(a, (size_t)q->n_topics + 1, sizeof *r->responses);
    r->n_responses = q->n_topics;
    for (int32_t i = 0; i < q->n_topics; i++) {
        const struct kafka_fetch_req_topic *qt = &q->topics[i];
        struct kafka_fetch_resp_topic *t = &r->responses[i];
        t->topic = qt->topic;
        memcpy(t->topic_id, qt->topic_id, 16);
        bool known = v >= 13 ? !memcmp(qt->topic_id, topic_id, 16) : kstr_eq(qt->topic, "t");
        f->fetch_by_wrong_id += v >= 13 && !known;
        t->partitions = arena_calloc(a, (size_t)qt->n_partitions + 1, sizeof *t->partitions);
        t->n_partitions = qt->n_partitions;
        for (int32_t k = 0; k < qt->n_partitions; k++) {
            struct kafka_fetch_resp_partition *p = &t->partitions[k];
            kafka_init(&kafka_fetch_resp_partition_desc, p);
            p->partition_index = qt->partitions[k].partition;
            p->high_watermark = p->last_stable_offset = 1;
            p->log_start_offset = 0;
            p->error_code = known ? 0 : (v >= 13 ? KAFKA_UNKNOWN_TOPIC_ID : 3);
            bool first = known && qt->partitions[k].fetch_offset == 0;
            p->records = (struct krecords){first ? batch->buf : NULL,
                                           first ? (int64_t)batch->len : 0, -1, 0};
        }
    }
}

/* Answer one request frame; false to drop the connection. */
static bool serve_frame(struct fake *f, int fd, const uint8_t *frame, size_t len,
                        struct writer *batch)
{
    struct reader rd;
    struct kafka_request_header h;
    struct arena a;
    void *q = NULL;
    reader_init(&rd, frame, len);
    arena_init(&a, 16u << 20);
    bool ok = kafka_request_header_decode(&rd, &h) == 0 &&
              kafka_request_decode(h.api_key, h.api_version, &rd, &a, &q) == 0 && h.api_key >= 0 &&
              h.api_key < API_KEYS;
    const struct kafka_api *api = ok ? kafka_api_find(h.api_key) : NULL;
    void *resp = api ? arena_alloc(&a, api->response->size) : NULL;
    if (resp) {
        kafka_init(api->response, resp);
        if (h.api_version > f->used[h.api_key])
            f->used[h.api_key] = h.api_version;
        if (h.api_key == KAFKA_API_API_VERSIONS)
            answer_api_versions(f, resp);
        else if (h.api_key == KAFKA_API_METADATA)
            answer_metadata(f, &a, q, resp);
        else if (h.api_key == KAFKA_API_LIST_OFFSETS)
            answer_list_offsets(&a, q, resp);
        else if (h.api_key == KAFKA_API_FETCH)
            answer_fetch(f, &a, h.api_version, q, resp, batch);
        else if (h.api_key == KAFKA_API_PRODUCE)
            answer_produce(&a, q, resp);
        else if (h.api_key == KAFKA_API_INIT_PRODUCER_ID)
            ((struct kafka_init_producer_id_resp *)resp)->producer_id = 1000;
        else if (h.api_key == KAFKA_API_FIND_COORDINATOR)
            answer_find_coordinator(f, &a, h.api_version, q, resp);
        else if (h.api_key == KAFKA_API_DESCRIBE_GROUPS && f->groups)
            answer_describe_groups(&a, q, resp);
        else if (h.api_key == KAFKA_API_OFFSET_FETCH && f->groups)
            answer_offset_fetch(&a, h.api_version, q, resp);
        else
            resp = NULL; /* not part of these tests */
    }
    struct kafka_out out;
    kafka_out_init(&out, 64u << 20);
    ok = resp &&
         kafka_response_encode(h.api_key, h.api_version, h.correlation_id, resp, &out) == 0 &&
         out.n_splices == 0 && write_full(fd, out.w.buf, out.w.len);
    kafka_out_release(&out);
    arena_release(&a);
    return ok;
}

static bool serve_conn(struct fake *f, int fd, uint8_t *buf, struct writer *batch)
{
    uint8_t head[4];
    if (!read_full(fd, head, 4))
        return false;
    uint32_t size = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | head[2] << 8 | head[3];
    return size <= FRAME_MAX && read_full(fd, buf, size) && serve_frame(f, fd, buf, size, batch);
}

static void *fake_run(void *arg)
{
    struct fake *f = arg;
    struct pollfd p[MAX_CONNS + 1] = {{.fd = f->lfd, .events = POLLIN}};
    int n = 1;
    uint8_t *buf = malloc(FRAME_MAX);
    struct writer batch;
    struct batch_builder b;
    writer_init(&batch, 1u << 20);
    batch_builder_init(&b, CODEC_NONE, 1u << 20);
    assert_int_equal(batch_builder_add(&b, 1700000000000LL, "k", 1, RECORD_TEXT,
                                       (int32_t)strlen(RECORD_TEXT), NULL, 0),
                     0);
    assert_int_equal(batch_builder_finish(&b, -1, &batch), 0);
    batch_builder_release(&b);
    while (!atomic_load(&f->stop) && buf) {
        if (poll(p, (nfds_t)n, POLL_MS) <= 0)
            continue;
        if ((p[0].revents & POLLIN) && n <= MAX_CONNS) {
            int fd = accept(f->lfd, NULL, NULL);
            if (fd >= 0)
                p[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
        }
        for (int i = 1; i < n; i++)
            if (p[i].revents && !serve_conn(f, p[i].fd, buf, &batch)) {
                close(p[i].fd);
                p[i--] = p[--n];
            }
    }
    for (int i = 1; i < n; i++)
        close(p[i].fd);
    writer_release(&batch);
    free(buf);
    return NULL;
}

/* Start a broker answering ApiVersions with ranges; groups: it also answers the
 * group APIs; coord_port: where it says group coordinators are. */
static void fake_start(struct fake *f, const struct kafka_api_versions_resp_api_key *ranges, int n,
                       bool groups, int coord_port)
{
    memset(f, 0, sizeof *f);
    f->groups = groups;
    f->coord_port = coord_port;
    memset(f->used, 0xff, sizeof f->used); /* -1: never asked */
    f->ranges = ranges;
    f->n_ranges = n;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->lfd, 8), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &sl), 0);
    f->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
}

static void fake_stop(struct fake *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    close(f->lfd);
}

static struct brook_client *client_for(const struct fake *f)
{
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", f->port);
    struct brook_conf *conf = brook_conf_new();
    assert_non_null(conf);
    assert_int_equal(brook_conf_set(conf, "bootstrap.servers", addr), 0);
    assert_int_equal(brook_conf_set(conf, "request.timeout.ms", "5000"), 0);
    struct brook_client *c;
    assert_int_equal(brook_client_new(conf, &c), 0);
    brook_conf_free(conf);
    return c;
}

/* Assign t/0 from the beginning and read its one record. */
static void consume_one(struct brook_client *c)
{
    static const int32_t parts[] = {0};
    struct brook_offset start = {BROOK_OFFSET_BEGINNING, 0};
    assert_int_equal(brook_assign(c, "t", parts, 1, &start), 0);
    const struct brook_message *m = NULL;
    int rc = brook_consume(c, &m, 10000); /* 1: a message */
    if (rc < 0)
        print_message("consume: %s\n", brook_strerror(rc));
    assert_int_equal(rc, 1);
    assert_non_null(m);
    assert_int_equal(m->offset, 0);
    assert_int_equal(m->value_len, strlen(RECORD_TEXT));
    assert_memory_equal(m->value, RECORD_TEXT, m->value_len);
}

/* Offered everything Kafka 4.0 has, the client takes its newest: Fetch by topic id. */
static void test_newest_versions(void **state)
{
    static const struct kafka_api_versions_resp_api_key ranges[] = {
        {KAFKA_API_FETCH, 4, 17},
        {KAFKA_API_LIST_OFFSETS, 1, 10},
        {KAFKA_API_METADATA, 0, 12},
        {KAFKA_API_API_VERSIONS, 0, 4},
    };
    struct fake f;
    fake_start(&f, ranges, 4, false, 0);
    struct brook_client *c = client_for(&f);
    consume_one(c);
    brook_client_free(c);
    fake_stop(&f);
    assert_int_equal(f.used[KAFKA_API_METADATA], 12);
    assert_int_equal(f.used[KAFKA_API_LIST_OFFSETS], 10);
    assert_int_equal(f.used[KAFKA_API_FETCH], 17);
    assert_int_equal(f.fetch_by_wrong_id, 0);
}

/* The producer too: Produce 11, InitProducerId 5 (an idempotent producer). */
static void test_newest_produce(void **state)
{
    static const struct kafka_api_versions_resp_api_key ranges[] = {
        {KAFKA_API_PRODUCE, 0, 11},
        {KAFKA_API_METADATA, 0, 12},
        {KAFKA_API_API_VERSIONS, 0, 4},
        {KAFKA_API_INIT_PRODUCER_ID, 0, 5},
    };
    struct fake f;
    fake_start(&f, ranges, 4, false, 0);
    struct brook_client *c = client_for(&f);
    struct brook_record r = BROOK_RECORD_INIT;
    r.topic = "t";
    r.value = RECORD_TEXT;
    r.value_len = strlen(RECORD_TEXT);
    struct brook_delivery d;
    int rc = brook_produce_sync(c, &r, 10000, &d);
    if (rc)
        print_message("produce: %s\n", brook_strerror(rc));
    assert_int_equal(rc, 0);
    assert_int_equal(d.offset, 0);
    brook_client_free(c);
    fake_stop(&f);
    assert_int_equal(f.used[KAFKA_API_PRODUCE], 11);
    assert_int_equal(f.used[KAFKA_API_INIT_PRODUCER_ID], 5);
}

/* A broker whose Metadata predates topic ids (v9) gets Fetch by name (v12) even
 * though it offers more; and each api meets the broker's maximum, not the client's. */
static void test_older_broker(void **state)
{
    static const struct kafka_api_versions_resp_api_key ranges[] = {
        {KAFKA_API_FETCH, 4, 15},
        {KAFKA_API_LIST_OFFSETS, 1, 5},
        {KAFKA_API_METADATA, 0, 9},
        {KAFKA_API_API_VERSIONS, 0, 3},
    };
    struct fake f;
    fake_start(&f, ranges, 4, false, 0);
    struct brook_client *c = client_for(&f);
    consume_one(c);
    brook_client_free(c);
    fake_stop(&f);
    assert_int_equal(f.used[KAFKA_API_METADATA], 9);
    assert_int_equal(f.used[KAFKA_API_LIST_OFFSETS], 5);
    assert_int_equal(f.used[KAFKA_API_FETCH], 12);
}

/* FindCoordinator from v4 and OffsetFetch from v8 batch groups: the client asks
 * for its one group in the batch and reads the batch's entry; before, the
 * answer's top level. */
static void describe_group_at(int16_t find_max, int16_t fetch_max)
{
    const struct kafka_api_versions_resp_api_key ranges[] = {
        {KAFKA_API_FIND_COORDINATOR, 0, find_max}, {KAFKA_API_DESCRIBE_GROUPS, 0, 5},
        {KAFKA_API_OFFSET_FETCH, 0, fetch_max},    {KAFKA_API_METADATA, 0, 12},
        {KAFKA_API_LIST_OFFSETS, 1, 10},           {KAFKA_API_API_VERSIONS, 0, 4},
    };
    struct fake f, coord; /* the group's coordinator is another broker, node 7 */
    fake_start(&coord, ranges, 6, true, 0);
    fake_start(&f, ranges, 6, false, coord.port);
    struct brook_client *c = client_for(&f);
    struct brook_group_info *g = NULL;
    int rc = brook_group_describe(c, "g", 5000, &g);
    if (rc)
        print_message("describe: %s\n", brook_strerror(rc));
    assert_int_equal(rc, 0);
    assert_string_equal(g->group_id, "g");
    assert_string_equal(g->state, "Empty");
    assert_int_equal(g->n_offsets, 1);
    assert_string_equal(g->offsets[0].topic, "t");
    assert_int_equal(g->offsets[0].committed, 1);
    brook_group_info_free(g);
    brook_client_free(c);
    fake_stop(&f);
    fake_stop(&coord);
    assert_int_equal(f.used[KAFKA_API_FIND_COORDINATOR], find_max);
    assert_int_equal(f.used[KAFKA_API_DESCRIBE_GROUPS], -1);
    assert_int_equal(coord.used[KAFKA_API_DESCRIBE_GROUPS], 5);
    assert_int_equal(coord.used[KAFKA_API_OFFSET_FETCH], fetch_max);
}

static void test_group_apis_batched(void **state)
{
    describe_group_at(6, 9);
    describe_group_at(3, 7);
}

/* No common version: the call fails with BROOK_ERR_VERSION, and nothing of that api
 * is ever sent. */
static void test_no_common_version(void **state)
{
    static const struct kafka_api_versions_resp_api_key ranges[] = {
        {KAFKA_API_METADATA, 13, 14}, /* newer than any the client speaks */
        {KAFKA_API_API_VERSIONS, 0, 4},
    };
    struct fake f;
    fake_start(&f, ranges, 2, false, 0);
    struct brook_client *c = client_for(&f);
    struct brook_metadata *md = NULL;
    int rc = brook_metadata_get(c, NULL, 0, false, 5000, &md);
    assert_int_equal(rc, BROOK_ERR_VERSION);
    assert_string_equal(brook_strerror(rc), "the broker supports no version of a needed request");
    brook_client_free(c);
    fake_stop(&f);
    assert_int_equal(f.used[KAFKA_API_METADATA], -1);
    assert_int_equal(f.used[KAFKA_API_API_VERSIONS], 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newest_versions),   cmocka_unit_test(test_newest_produce),
        cmocka_unit_test(test_older_broker),      cmocka_unit_test(test_group_apis_batched),
        cmocka_unit_test(test_no_common_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
