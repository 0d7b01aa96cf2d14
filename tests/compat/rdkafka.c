/*
 * rdkafka.c - brookd against the librdkafka C API (the library behind kcat,
 * confluent-kafka-python and most non-Java clients).
 *
 *   rdkafka codecs BROKER            each codec: produce keyed records with binary
 *                                    values and headers, consume them back byte-exact
 *   rdkafka group BROKER TOPIC FILE  a consumer group of two that a third joins and
 *                                    one leaves, over a 6-partition topic: every
 *                                    record read exactly once; committed offsets to FILE
 *   rdkafka committed BROKER TOPIC FILE   the committed offsets equal FILE's
 *
 * Prints "ok - ..." / "not ok - ..." lines; exits 1 on any failure. Every loop is
 * bounded in time.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "lib/clock.h"
#include "tests/rdk.h"
#include "tests/tap.h"

#define GROUP       "compat-group"
#define GROUP_N     30000
#define PARTITIONS  6
#define DEADLINE_MS 90000

/* The value of record i: binary, of a length that varies, from a fixed generator. */
static size_t value_of(int i, uint8_t *buf)
{
    uint32_t x = (uint32_t)i * 2654435761u + 12345;
    size_t len = x % 1500;
    for (size_t k = 0; k < len; k++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[k] = (uint8_t)x;
    }
    return len;
}

static int delivered, delivery_errors;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err)
        delivery_errors++;
    else
        delivered++;
}

/* Produce n records "k<i>" -> value_of(i) with two headers, with codec. */
static int produce(const char *broker, const char *topic, int n, const char *codec, int partition)
{
    char err[512];
    rd_kafka_conf_t *conf = rdk_conf(broker, "compression.codec", codec, "acks", "all", "linger.ms",
                                     "5", "enable.idempotence", "true", NULL);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    static uint8_t buf[2048];
    delivered = delivery_errors = 0;
    for (int i = 0; i < n; i++) {
        char key[32], idx[16];
        snprintf(key, sizeof key, "k%d", i);
        snprintf(idx, sizeof idx, "%d", i);
        size_t len = value_of(i, buf);
        rd_kafka_resp_err_t e;
        do {
            e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic),
                RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
                RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(buf, len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_HEADER("idx", idx, (ssize_t)strlen(idx)),
                RD_KAFKA_V_HEADER("codec", codec, (ssize_t)strlen(codec)), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(rk, 10);
        } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    rd_kafka_destroy(rk);
    return delivered == n && delivery_errors == 0 ? 0 : -1;
}

/* The record id in a key "k<i>" (keys are not NUL-terminated); -1 if malformed. */
static int key_id(const rd_kafka_message_t *m)
{
    char buf[16];
    if (!m->key || m->key_len < 2 || m->key_len >= sizeof buf || *(const char *)m->key != 'k')
        return -1;
    memcpy(buf, (const char *)m->key + 1, m->key_len - 1);
    buf[m->key_len - 1] = 0;
    return atoi(buf);
}

/* Check one consumed message against what produce() sent. */
static bool message_matches(const rd_kafka_message_t *m, const char *codec, int *idx)
{
    static uint8_t buf[2048];
    int i = key_id(m);
    *idx = i;
    if (i < 0)
        return false;
    size_t len = value_of(i, buf);
    rd_kafka_headers_t *hdrs = NULL;
    const void *hv;
    size_t hl;
    char want[16];
    snprintf(want, sizeof want, "%d", i);
    *idx = i;
    return m->len == len && (len == 0 || !memcmp(m->payload, buf, len)) &&
           !rd_kafka_message_headers(m, &hdrs) &&
           !rd_kafka_header_get_last(hdrs, "idx", &hv, &hl) && hl == strlen(want) &&
           !memcmp(hv, want, hl) && !rd_kafka_header_get_last(hdrs, "codec", &hv, &hl) &&
           hl == strlen(codec) && !memcmp(hv, codec, hl);
}

static void test_codecs(const char *broker)
{
    static const char *codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    const int n = 2000;
    for (size_t c = 0; c < 5; c++) {
        char topic[64], err[512];
        snprintf(topic, sizeof topic, "codec-%s", codecs[c]);
        rdk_create_topic(broker, topic, 3);
        result(produce(broker, topic, n, codecs[c], -1) == 0,
               "librdkafka produces %d records compressed with %s", n, codecs[c]);
        rd_kafka_t *rk = rd_kafka_new(
            RD_KAFKA_CONSUMER,
            rdk_conf(broker, "group.id", "codec-check", "enable.partition.eof", "true", NULL), err,
            sizeof err);
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(3);
        for (int p = 0; p < 3; p++)
            rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        char *seen = calloc((size_t)n, 1);
        int got = 0, bad = 0, eofs = 0;
        int64_t end = clock_mono_ms() + DEADLINE_MS;
        while (eofs < 3 && clock_mono_ms() < end) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
            if (!m)
                continue;
            int idx = -1;
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                eofs++;
            else if (m->err)
                bad++;
            else if (message_matches(m, codecs[c], &idx) && idx < n && !seen[idx]++)
                got++;
            else if (bad++ < 3)
                fprintf(stderr, "mismatch: record %d (%zu bytes) at %d/%lld\n", idx, m->len,
                        (int)m->partition, (long long)m->offset);
            rd_kafka_message_destroy(m);
        }
        result(got == n && bad == 0, "librdkafka reads the %s records back byte-exact (%d/%d)",
               codecs[c], got, n);
        free(seen);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
}

/* ---- the consumer group ---- */

struct member {
    rd_kafka_t *rk;
    int consumed;
    int rebalances;
};

static unsigned char *seen; /* per record id: times consumed */

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct member *m = opaque;
    m->rebalances++;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
    } else {
        rd_kafka_commit(rk, NULL, 0); /* what we processed is committed before we let go */
        rd_kafka_assign(rk, NULL);
    }
}

static void member_start(struct member *m, const char *broker, const char *topic)
{
    char err[512];
    rd_kafka_conf_t *conf =
        rdk_conf(broker, "group.id", GROUP, "enable.auto.commit", "false", "auto.offset.reset",
                 "earliest", "session.timeout.ms", "6000", "heartbeat.interval.ms", "200",
                 "partition.assignment.strategy", "range,roundrobin", NULL);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, m);
    m->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    rd_kafka_poll_set_consumer(m->rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(m->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
}

/* Poll m once; count what it reads; commit every 500 records. */
static void member_poll(struct member *m)
{
    rd_kafka_message_t *msg = rd_kafka_consumer_poll(m->rk, 5);
    if (!msg)
        return;
    if (!msg->err) {
        int i = key_id(msg);
        if (i >= 0 && i < GROUP_N) {
            seen[i]++;
            if (++m->consumed % 500 == 0)
                rd_kafka_commit(m->rk, NULL, 0);
        }
    }
    rd_kafka_message_destroy(msg);
}

static void member_stop(struct member *m)
{
    rd_kafka_commit(m->rk, NULL, 0);
    rd_kafka_consumer_close(m->rk); /* revokes, which commits too */
    rd_kafka_destroy(m->rk);
    m->rk = NULL;
}

static int total_seen(void)
{
    int n = 0;
    for (int i = 0; i < GROUP_N; i++)
        n += seen[i] > 0;
    return n;
}

static void write_committed(const char *broker, const char *topic, const char *file)
{
    char err[512];
    rd_kafka_t *rk =
        rd_kafka_new(RD_KAFKA_CONSUMER, rdk_conf(broker, "group.id", GROUP, NULL), err, sizeof err);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(PARTITIONS);
    for (int p = 0; p < PARTITIONS; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p);
    rd_kafka_resp_err_t e = rd_kafka_committed(rk, parts, 30000);
    FILE *f = fopen(file, "w");
    int64_t sum = 0;
    for (int p = 0; f && p < PARTITIONS; p++) {
        fprintf(f, "%d %lld\n", p, (long long)parts->elems[p].offset);
        sum += parts->elems[p].offset;
    }
    if (f)
        fclose(f);
    result(!e && sum == GROUP_N, "the group's committed offsets cover all %d records (%lld)",
           GROUP_N, (long long)sum);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(rk);
}

static void test_group(const char *broker, const char *topic, const char *file)
{
    result(rdk_create_topic(broker, topic, PARTITIONS) == 0,
           "CreateTopics makes a %d-partition topic", PARTITIONS);
    result(produce(broker, topic, GROUP_N, "lz4", -1) == 0, "%d records produced", GROUP_N);
    seen = calloc(GROUP_N, 1);
    struct member m[3] = {0};
    member_start(&m[0], broker, topic);
    member_start(&m[1], broker, topic);
    int64_t end = clock_mono_ms() + DEADLINE_MS;
    bool third = false, left = false;
    while (total_seen() < GROUP_N && clock_mono_ms() < end) {
        for (int i = 0; i < 3; i++)
            if (m[i].rk)
                member_poll(&m[i]);
        if (!third && total_seen() >= GROUP_N / 3) {
            member_start(&m[2], broker, topic); /* a third member joins */
            third = true;
        }
        if (third && !left && m[2].consumed > 0 && total_seen() >= 2 * GROUP_N / 3) {
            member_stop(&m[0]); /* and the first one leaves */
            left = true;
        }
    }
    for (int i = 0; i < 3; i++)
        if (m[i].rk)
            member_stop(&m[i]);
    int dups = 0;
    for (int i = 0; i < GROUP_N; i++)
        dups += seen[i] > 1;
    result(third && left, "a third member joined (read %d) and the first left (read %d)",
           m[2].consumed, m[0].consumed);
    result(m[1].rebalances >= 4, "the surviving member saw the rebalances (%d callbacks)",
           m[1].rebalances);
    result(total_seen() == GROUP_N, "no record lost across the rebalances (%d of %d)", total_seen(),
           GROUP_N);
    result(dups == 0, "no record read twice across the rebalances (%d duplicates)", dups);
    free(seen);
    write_committed(broker, topic, file);
}

static void test_committed(const char *broker, const char *topic, const char *file)
{
    char err[512];
    rd_kafka_t *rk =
        rd_kafka_new(RD_KAFKA_CONSUMER, rdk_conf(broker, "group.id", GROUP, NULL), err, sizeof err);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(PARTITIONS);
    for (int p = 0; p < PARTITIONS; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p);
    rd_kafka_resp_err_t e = rd_kafka_committed(rk, parts, 30000);
    FILE *f = fopen(file, "r");
    int same = 0, p;
    long long off;
    while (f && fscanf(f, "%d %lld", &p, &off) == 2)
        same += p >= 0 && p < PARTITIONS && parts->elems[p].offset == off;
    if (f)
        fclose(f);
    result(!e && same == PARTITIONS, "committed offsets survive a broker restart (%d/%d)", same,
           PARTITIONS);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(rk);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "codecs"))
        test_codecs(argv[2]);
    else if (argc >= 5 && !strcmp(argv[1], "group"))
        test_group(argv[2], argv[3], argv[4]);
    else if (argc >= 5 && !strcmp(argv[1], "committed"))
        test_committed(argv[2], argv[3], argv[4]);
    else {
        fprintf(stderr, "usage: rdkafka codecs BROKER | group BROKER TOPIC FILE | committed "
                        "BROKER TOPIC FILE\n");
        return 2;
    }
    return failures ? 1 : 0;
}
