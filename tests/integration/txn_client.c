/*
 * txn_client.c - libbrook's transactional producer driven from test scripts.
 *
 *   txn_client BROKERS TOPIC commit|abort|open|fence|offsets N [TXN_ID]
 *
 * commit / abort: one transaction of N records "<mode>-<i>" to partition 0,
 *   flushed (so they are in the log), then committed or aborted.
 * open: the same, then prints "open" and waits for stdin to reach end of file
 *   before committing - the script looks at its views meanwhile.
 * fence: producer A opens a transaction, producer B initialises with the same id,
 *   A's commit must fail with BROOK_ERR_FENCED; B then commits N records.
 * offsets: N records plus group "txg"'s offset for TOPIC/0 set to N, committed.
 * aborts: N transactions of one record each, every one aborted after its record
 *   was written.
 * Prints one line per step; exits 0 when every step answered as expected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/brook.h"

#define TIMEOUT 15000

static struct brook_client *open_client(const char *brokers, const char *id)
{
    struct brook_conf *conf = brook_conf_new();
    struct brook_client *c = NULL;
    if (!conf || brook_conf_set(conf, "bootstrap.servers", brokers) ||
        brook_conf_set(conf, "transactional.id", id) || brook_client_new(conf, &c))
        c = NULL;
    brook_conf_free(conf);
    return c;
}

static int step(const char *what, int rc, int want)
{
    printf("%s: %s\n", what, rc ? brook_strerror(rc) : "ok");
    fflush(stdout);
    return rc == want ? 0 : 1;
}

static int produce_n(struct brook_client *c, const char *topic, const char *tag, int n)
{
    for (int i = 0; i < n; i++) {
        char v[64];
        struct brook_record r = BROOK_RECORD_INIT;
        r.topic = topic;
        r.partition = 0;
        r.value = v;
        r.value_len = (size_t)snprintf(v, sizeof v, "%s-%d", tag, i);
        int rc = brook_produce(c, &r, NULL);
        if (rc)
            return rc;
    }
    return brook_flush(c, TIMEOUT);
}

static int start(struct brook_client *c, const char *topic, const char *tag, int n)
{
    int bad = step("init", brook_txn_init(c, TIMEOUT), 0);
    bad |= step("begin", brook_txn_begin(c), 0);
    return bad | step("produce", produce_n(c, topic, tag, n), 0);
}

static int run(const char *brokers, const char *topic, const char *mode, int n, const char *id)
{
    struct brook_client *a = open_client(brokers, id), *b = NULL;
    if (!a)
        return 2;
    int bad = start(a, topic, mode, !strcmp(mode, "aborts") ? 1 : n);
    if (!strcmp(mode, "commit")) {
        bad |= step("commit", brook_txn_commit(a, TIMEOUT), 0);
    } else if (!strcmp(mode, "abort")) {
        bad |= step("abort", brook_txn_abort(a, TIMEOUT), 0);
    } else if (!strcmp(mode, "open")) {
        printf("open\n");
        fflush(stdout);
        char buf[64];
        while (read(STDIN_FILENO, buf, sizeof buf) > 0)
            ;
        bad |= step("commit", brook_txn_commit(a, TIMEOUT), 0);
    } else if (!strcmp(mode, "fence")) {
        if (!(b = open_client(brokers, id)))
            return 2;
        bad |= step("second init", brook_txn_init(b, TIMEOUT), 0);
        bad |= step("first commit", brook_txn_commit(a, TIMEOUT), BROOK_ERR_FENCED);
        bad |= step("first begin", brook_txn_begin(a), BROOK_ERR_FENCED);
        bad |= step("second begin", brook_txn_begin(b), 0);
        bad |= step("second produce", produce_n(b, topic, "second", n), 0);
        bad |= step("second commit", brook_txn_commit(b, TIMEOUT), 0);
    } else if (!strcmp(mode, "aborts")) {
        bad |= step("abort", brook_txn_abort(a, TIMEOUT), 0);
        for (int i = 1; i < n && !bad; i++) {
            bad |= brook_txn_begin(a) != 0;
            bad |= produce_n(a, topic, "aborts", 1) != 0;
            bad |= brook_txn_abort(a, TIMEOUT) != 0;
        }
        printf("%d aborted: %s\n", n, bad ? "failed" : "ok");
    } else if (!strcmp(mode, "offsets")) {
        struct brook_tp tp = {topic, 0, n};
        bad |= step("offsets", brook_txn_send_offsets(a, &tp, 1, "txg", TIMEOUT), 0);
        bad |= step("commit", brook_txn_commit(a, TIMEOUT), 0);
    } else {
        bad = 2;
    }
    brook_client_free(a);
    brook_client_free(b);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: txn_client BROKERS TOPIC MODE N [TXN_ID]\n");
        return 2;
    }
    return run(argv[1], argv[2], argv[3], atoi(argv[4]), argc > 5 ? argv[5] : "txn-client");
}
