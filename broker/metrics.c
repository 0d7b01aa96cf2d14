/*
 * metrics.c - counters for /metrics: requests per API, messages and bytes in
 * and out per topic, and each API's request latency as a histogram.
 *
 * The counts per API and per topic are updated under one mutex (the updates are
 * short, and a topic is found through a hash map, so a broker of 10 000 topics
 * pays no more per produce than one of ten). Latency is counted without it, in
 * atomics: the network threads record every request's, and a relaxed add per
 * request is cheaper than a lock they would share. A reader may see a bucket
 * counted and the sum not yet; the console derives _count from the buckets, so
 * the histogram it shows is always consistent in itself.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"

/* 10 us to 10 s, three buckets a decade: a loopback Metadata falls in the first
 * few, a Fetch waiting its fetch.max.wait.ms near 0.5 s. */
const int64_t metrics_latency_le_us[METRICS_LATENCY_BUCKETS - 1] = {
    10,    25,    50,     100,    250,    500,     1000,    2500,    5000,     10000,
    25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

void metrics_init(struct metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    hmap_init(&m->by_name);
}

void metrics_release(struct metrics *m)
{
    while (m->topics) {
        struct topic_metrics *t = m->topics;
        m->topics = t->next;
        free(t);
    }
    hmap_release(&m->by_name);
    pthread_mutex_destroy(&m->mu);
}

void metrics_request(struct metrics *m, int16_t key, bool error)
{
    if (key < 0 || key >= 64)
        key = 63; /* unknown APIs share the last slot */
    pthread_mutex_lock(&m->mu);
    m->requests[key]++;
    if (error)
        m->request_errors[key]++;
    pthread_mutex_unlock(&m->mu);
}

void metrics_latency(struct metrics *m, int16_t key, int64_t ns)
{
    if (key < 0 || key >= 64)
        key = 63;
    int64_t us = ns / 1000;
    int b = 0;
    while (b < METRICS_LATENCY_BUCKETS - 1 && us > metrics_latency_le_us[b])
        b++;
    atomic_fetch_add_explicit(&m->latency[key][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_sum_ns[key], ns > 0 ? ns : 0, memory_order_relaxed);
}

struct topic_metrics *metrics_topic_find(struct metrics *m, const char *topic)
{
    return hmap_get(&m->by_name, topic, strlen(topic));
}

/* The counters of topic, made on first use; NULL when out of memory (the counts
 * are then lost, the produce is not). */
static struct topic_metrics *topic_slot(struct metrics *m, const char *topic)
{
    struct topic_metrics *t = metrics_topic_find(m, topic);
    if (t)
        return t;
    if (!(t = calloc(1, sizeof *t)))
        return NULL;
    strncpy(t->name, topic, sizeof t->name - 1);
    if (hmap_put(&m->by_name, t->name, strlen(t->name), t)) {
        free(t);
        return NULL;
    }
    t->next = m->topics;
    m->topics = t;
    return t;
}

void metrics_topic(struct metrics *m, const char *topic, int64_t msgs_in, int64_t bytes_in,
                   int64_t msgs_out, int64_t bytes_out)
{
    pthread_mutex_lock(&m->mu);
    struct topic_metrics *t = topic_slot(m, topic);
    if (t) {
        t->messages_in += msgs_in;
        t->bytes_in += bytes_in;
        t->bytes_out += bytes_out;
        t->messages_out += msgs_out;
    }
    pthread_mutex_unlock(&m->mu);
}
