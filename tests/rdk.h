/*
 * rdk.h - the librdkafka set-up the test programs share: a configuration from
 * key/value pairs, and topics created through the admin API. A program includes
 * this once. Bad configuration is the test's own mistake: it exits with status 2.
 */
#ifndef BROOK_TESTS_RDK_H
#define BROOK_TESTS_RDK_H

#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Set each pair of kv (key, value, ..., NULL) on conf. */
static inline void rdk_conf_set_all(rd_kafka_conf_t *conf, const char *const *kv)
{
    char err[512];
    for (; *kv; kv += 2)
        if (rd_kafka_conf_set(conf, kv[0], kv[1], err, sizeof err) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "%s=%s: %s\n", kv[0], kv[1], err);
            exit(2);
        }
}

/* A configuration for broker with the key/value pairs that follow, ending in NULL. */
static inline rd_kafka_conf_t *rdk_conf(const char *broker, ...)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *bootstrap[] = {"bootstrap.servers", broker, NULL};
    rdk_conf_set_all(conf, bootstrap);
    va_list ap;
    va_start(ap, broker);
    for (const char *k; (k = va_arg(ap, const char *));) {
        const char *pair[] = {k, va_arg(ap, const char *), NULL};
        rdk_conf_set_all(conf, pair);
    }
    va_end(ap);
    return conf;
}

/* Create the n topics of names with `partitions` partitions each through rk, waiting
 * up to 30 s: 0 when each exists afterwards (created now or before), else -1. */
static inline int rdk_create_topics(rd_kafka_t *rk, const char *const *names, int n, int partitions)
{
    char err[512];
    rd_kafka_NewTopic_t *nt[16];
    if (n < 1 || n > 16)
        return -1;
    for (int i = 0; i < n; i++)
        nt[i] = rd_kafka_NewTopic_new(names[i], partitions, 1, err, sizeof err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, (size_t)n, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    int bad = n;
    if (ev) {
        size_t cnt;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        bad = n - (int)cnt;
        for (size_t i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            bad += e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS;
        }
        rd_kafka_event_destroy(ev);
    }
    for (int i = 0; i < n; i++)
        rd_kafka_NewTopic_destroy(nt[i]);
    rd_kafka_queue_destroy(q);
    return bad ? -1 : 0;
}

/* Create topic on broker through a short-lived client: 0 when it exists afterwards. */
static inline int rdk_create_topic(const char *broker, const char *topic, int partitions)
{
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, rdk_conf(broker, NULL), err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        return -1;
    }
    int rc = rdk_create_topics(rk, &topic, 1, partitions);
    rd_kafka_destroy(rk);
    return rc;
}

#endif
