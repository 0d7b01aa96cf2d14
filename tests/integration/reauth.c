/*
 * reauth.c - libbrook keeps one SASL connection working across several of the
 * broker's session lifetimes (KIP-368): it re-authenticates before each session
 * ends, so the broker never has to close the connection and no request fails.
 *
 * The client produces one record at a time, waiting for each report, and
 * consumes the same partition in between (so a long-poll Fetch is in flight
 * most of the time, and re-authentication must wait for it), until ROUNDS
 * lifetimes have passed. Every record must be delivered, at consecutive offsets,
 * and read back. The script (reauth.sh) then reads brookd's log: one
 * authentication per connection, no session that ended without
 * re-authentication.
 *
 * usage: reauth HOST:PORT LIFETIME_MS SECURITY_PROTOCOL MECHANISM USER PASSWORD [CA_FILE]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/brook.h"

#define ROUNDS   3  /* session lifetimes to live through */
#define PACE_MS  25 /* between two records */
#define MAX_RECS 100000

static int failures;

static void check(bool good, const char *name)
{
    printf("%s - %s\n", good ? "ok" : "not ok", name);
    fflush(stdout);
    failures += !good;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct brook_client *client_make(char **argv, int argc)
{
    struct brook_conf *conf = brook_conf_new();
    const char *kv[] = {"bootstrap.servers", argv[1], "security.protocol", argv[3],
                        "sasl.mechanism", argv[4], "sasl.username", argv[5], "sasl.password",
                        argv[6], "linger.ms", "0",
                        /* a long poll in flight delays re-authentication by up to this
                         * much: the client allows for it, 1 s sessions leave room for it */
                        "fetch.max.wait.ms", "100", "ssl.ca.location", argc > 7 ? argv[7] : NULL};
    for (size_t i = 0; conf && i < sizeof kv / sizeof kv[0]; i += 2)
        if (kv[i + 1] && brook_conf_set(conf, kv[i], kv[i + 1])) {
            fprintf(stderr, "reauth: bad setting %s\n", kv[i]);
            brook_conf_free(conf);
            return NULL;
        }
    struct brook_client *c = NULL;
    int rc = conf ? brook_client_new(conf, &c) : -1;
    brook_conf_free(conf);
    if (rc) {
        fprintf(stderr, "reauth: client: %s\n", brook_strerror(rc));
        return NULL;
    }
    return c;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: reauth HOST:PORT LIFETIME_MS PROTOCOL MECHANISM USER PASS [CA]\n");
        return 2;
    }
    int64_t lifetime = atoll(argv[2]);
    char topic[64]; /* one per protocol, so each run reads only its own records */
    snprintf(topic, sizeof topic, "reauth-%s", argv[3]);
    struct brook_client *c = client_make(argv, argc);
    if (!c)
        return 1;
    int why = 0;
    int rc = brook_client_connect(c, 10000, &why);
    check(rc == 0, "reauth: the client authenticates and reads metadata");
    if (rc) {
        fprintf(stderr, "# %s\n", brook_strerror(why ? why : rc));
        brook_client_free(c);
        return 1;
    }
    int64_t start = now_ms(), end = start + ROUNDS * lifetime;
    int sent = 0, failed = 0, gaps = 0, first_err = 0, read = 0, assigned = -1;
    int64_t last = -1, next_read = 0;
    const struct brook_message *m;
    while (now_ms() < end && sent < MAX_RECS) {
        char value[32];
        snprintf(value, sizeof value, "%d", sent);
        struct brook_record r = BROOK_RECORD_INIT;
        r.topic = topic;
        r.partition = 0;
        r.value = value;
        r.value_len = strlen(value);
        struct brook_delivery d;
        rc = brook_produce_sync(c, &r, 10000, &d);
        sent++;
        if (rc) {
            failed++;
            first_err = first_err ? first_err : rc;
        } else {
            gaps += last >= 0 && d.offset != last + 1;
            last = d.offset;
        }
        if (assigned < 0) {
            int32_t p0 = 0;
            struct brook_offset from = {.kind = BROOK_OFFSET_BEGINNING};
            assigned = brook_assign(c, topic, &p0, 1, &from);
        }
        while (brook_consume(c, &m, PACE_MS) == 1)
            read += m->offset == next_read++;
    }
    /* what is left to read, bounded */
    for (int64_t stop = now_ms() + 10000; read < sent - failed && now_ms() < stop;)
        if (brook_consume(c, &m, 100) == 1)
            read += m->offset == next_read++;
    printf("# %d records over %lld ms (session lifetime %lld ms)\n", sent,
           (long long)(now_ms() - start), (long long)lifetime);
    check(sent > 2 * ROUNDS, "reauth: records kept flowing through every lifetime");
    check(failed == 0, "reauth: no record failed across the session lifetimes");
    if (failed)
        fprintf(stderr, "# %d failed, the first: %s\n", failed, brook_strerror(first_err));
    check(gaps == 0, "reauth: offsets are consecutive (nothing lost or duplicated)");
    check(assigned == 0 && read == sent - failed,
          "reauth: the same connection's consumer read every record, in order");
    if (read != sent - failed)
        fprintf(stderr, "# read %d of %d\n", read, sent - failed);
    brook_client_free(c);
    return failures ? 1 : 0;
}
