/*
 * metrics.c - counters for /metrics: requests per API, and messages and bytes in
 * and out per topic. Updated from the loop thread and read by the console, under
 * one mutex (the counts are few and the updates short).
 */
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"

void metrics_init(struct metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void metrics_release(struct metrics *m)
{
    while (m->topics) {
        struct topic_metrics *t = m->topics;
        m->topics = t->next;
        free(t);
    }
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

void metrics_topic(struct metrics *m, const char *topic, int64_t msgs_in, int64_t bytes_in,
                   int64_t bytes_out)
{
    pthread_mutex_lock(&m->mu);
    struct topic_metrics *t = m->topics;
    while (t && strcmp(t->name, topic))
        t = t->next;
    if (!t && (t = calloc(1, sizeof *t))) {
        strncpy(t->name, topic, sizeof t->name - 1);
        t->next = m->topics;
        m->topics = t;
    }
    if (t) {
        t->messages_in += msgs_in;
        t->bytes_in += bytes_in;
        t->bytes_out += bytes_out;
    }
    pthread_mutex_unlock(&m->mu);
}
