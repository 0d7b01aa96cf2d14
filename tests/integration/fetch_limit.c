/*
 * fetch_limit.c - a librdkafka consumer with fetch.max.bytes=1000000 reads partitions
 * of 800 KiB batches (KIP-74).
 *
 * librdkafka refuses a response larger than receive.message.max.bytes, and needs
 * that to be at least fetch.max.bytes + 512: with both at their smallest workable
 * values a broker that gives every partition one whole batch sends ~3.3 MB, the
 * consumer rejects it and loops without progress. Kafka's rule - only the first
 * non-empty partition of a response may pass the limits - lets it read everything.
 *
 * The producer writes BATCHES messages of 800 KiB into each of PARTITIONS partitions
 * (each its own batch: batch.size is below two of them), the consumer assigns every
 * partition from the start and must see each message once, byte for byte, within
 * a deadline.
 *
 * usage: fetch_limit HOST:PORT TOPIC
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tests/rdk.h"

#define PARTITIONS 4
#define BATCHES    3
#define VALUE_LEN  (800 * 1024)

static int failures;

static void check(bool good, const char *name)
{
    printf("%s - %s\n", good ? "ok" : "not ok", name);
    fflush(stdout);
    failures += !good;
}

/* The value of message i of partition p: a byte pattern both sides compute. */
static void value_fill(uint8_t *v, int p, int i)
{
    for (size_t k = 0; k < VALUE_LEN; k++)
        v[k] = (uint8_t)(p * 37 + i * 11 + k * 7);
}

static int produce_all(const char *broker, const char *topic, uint8_t *v)
{
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER,
                                  rdk_conf(broker, "batch.size", "1000000", "linger.ms", "5",
                                           "message.max.bytes", "1000000", NULL),
                                  err, sizeof err);
    if (!rk) {
        fprintf(stderr, "producer: %s\n", err);
        return -1;
    }
    int bad = 0;
    for (int p = 0; p < PARTITIONS; p++)
        for (int i = 0; i < BATCHES; i++) {
            value_fill(v, p, i);
            bad += rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(p),
                                     RD_KAFKA_V_VALUE(v, VALUE_LEN),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) != 0;
        }
    bad += rd_kafka_flush(rk, 60000) != 0;
    rd_kafka_destroy(rk);
    return bad ? -1 : 0;
}

/* Read until every message was seen or the deadline passes; returns messages read. */
static int consume_all(const char *broker, const char *topic, uint8_t *want, int *errors)
{
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER,
                                  rdk_conf(broker, "group.id", "fetch-limit", "fetch.max.bytes",
                                           "1000000", "receive.message.max.bytes", "1000512",
                                           "enable.auto.commit", "false", NULL),
                                  err, sizeof err);
    if (!rk) {
        fprintf(stderr, "consumer: %s\n", err);
        return -1;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(PARTITIONS);
    for (int p = 0; p < PARTITIONS; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    bool seen[PARTITIONS][BATCHES] = {{false}};
    int read = 0;
    time_t deadline = time(NULL) + 60;
    while (read < PARTITIONS * BATCHES && time(NULL) < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                fprintf(stderr, "# consumer error: %s\n", rd_kafka_message_errstr(m));
                ++*errors;
            }
        } else if (m->partition >= 0 && m->partition < PARTITIONS && m->offset >= 0 &&
                   m->offset < BATCHES && !seen[m->partition][m->offset]) {
            value_fill(want, m->partition, (int)m->offset);
            if (m->len == VALUE_LEN && memcmp(m->payload, want, VALUE_LEN) == 0) {
                seen[m->partition][m->offset] = true;
                read++;
            }
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return read;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fetch_limit HOST:PORT TOPIC\n");
        return 2;
    }
    static uint8_t value[VALUE_LEN];
    check(rdk_create_topic(argv[1], argv[2], PARTITIONS) == 0, "fetch_limit: the topic exists");
    check(produce_all(argv[1], argv[2], value) == 0,
          "fetch_limit: 12 messages of 800 KiB are produced into 4 partitions");
    int errors = 0;
    int read = consume_all(argv[1], argv[2], value, &errors);
    printf("# read %d of %d messages, %d consumer errors\n", read, PARTITIONS * BATCHES, errors);
    check(read == PARTITIONS * BATCHES,
          "fetch_limit: a consumer with fetch.max.bytes=1000000 and receive.message.max.bytes="
          "1000512 reads every 800 KiB message byte for byte");
    check(errors == 0, "fetch_limit: the consumer sees no error (no response was too large)");
    return failures ? 1 : 0;
}
