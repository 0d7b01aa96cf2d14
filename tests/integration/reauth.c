/*
 * reauth.c - libbrook keeps one SASL connection working across several of the
 * broker's session lifetimes (KIP-368): it re-authenticates before each session
 * ends, so the broker never has to close the connection and no request fails.
 *
 * The client produces one record at a time, waiting for each report and pacing
 * with brook_poll() (which returns on socket events or its timeout), until
 * ROUNDS lifetimes have passed. Every record must be delivered, at consecutive
 * offsets. The script (reauth.sh) then reads brookd's log: one authentication,
 * no session that ended without re-authentication.
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
    const char *kv[] = {"bootstrap.servers", argv[1],
                        "security.protocol", argv[3],
                        "sasl.mechanism",    argv[4],
                        "sasl.username",     argv[5],
                        "sasl.password",     argv[6],
                        "linger.ms",         "0",
                        "ssl.ca.location",   argc > 7 ? argv[7] : NULL};
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
    int sent = 0, failed = 0, gaps = 0, first_err = 0;
    int64_t last = -1;
    while (now_ms() < end && sent < MAX_RECS) {
        char value[32];
        snprintf(value, sizeof value, "%d", sent);
        struct brook_record r = BROOK_RECORD_INIT;
        r.topic = "reauth";
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
        brook_poll(c, PACE_MS);
    }
    printf("# %d records over %lld ms (session lifetime %lld ms)\n", sent,
           (long long)(now_ms() - start), (long long)lifetime);
    check(sent > 2 * ROUNDS, "reauth: records kept flowing through every lifetime");
    check(failed == 0, "reauth: no record failed across the session lifetimes");
    if (failed)
        fprintf(stderr, "# %d failed, the first: %s\n", failed, brook_strerror(first_err));
    check(gaps == 0, "reauth: offsets are consecutive (nothing lost or duplicated)");
    brook_client_free(c);
    return failures ? 1 : 0;
}
