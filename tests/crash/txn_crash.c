/*
 * txn_crash.c - transactional producers for the crash loop (txn_loop.sh), and the
 * check of what survives brookd's kill -9 cycles.
 *
 *   txn_crash produce BROKER TOPIC DIR [-n PRODUCERS]
 *       create TOPIC (4 partitions), then run PRODUCERS librdkafka transactional
 *       producers until SIGTERM. Each runs transactions of 1 to 50 records spread over
 *       the partitions; every third transaction is aborted, the others committed. An
 *       outcome is logged to DIR/t<i>.log ("commit K N", "abort K N": transaction K,
 *       N records) only once commit_transaction or abort_transaction returned
 *       success; a transaction whose end failed is logged "unknown K N". A fatal
 *       error (fenced, after a restart) makes the producer start over as a new
 *       instance with the same transactional.id, as an application would. At the
 *       end one more producer leaves a transaction open and exits.
 *   txn_crash check BROKER TOPIC DIR
 *       read TOPIC with read_committed to its end and check against the logs: every
 *       record of a committed transaction there exactly once (else lost or doubled),
 *       none of an aborted one, an unknown one all or nothing; and, within
 *       transaction.timeout.ms plus the coordinator's check interval, the last stable
 *       offset of every partition reaches its high watermark (no transaction left
 *       open past its timeout).
 *
 * Record values: "t<i> <K> <j>" - producer i, its transaction K, record j of it.
 * Prints "ok - ..." / "not ok - ..." and "# ..." figures; exits 1 on any failure.
 * Every wait is bounded.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "lib/clock.h"
#include "tests/rdk.h"
#include "tests/tap.h"

#define PARTS       4
#define MAX_PROD    8
#define MAX_TXN     100000
#define TXN_TIMEOUT "5000"
#define CALL_MS     20000
#define CHECK_MS    120000

static atomic_bool stopping;

struct producer {
    int id;
    const char *broker, *topic, *dir;
    pthread_t thread;
    int committed, aborted, unknown, restarts;
};

static void on_term(int sig)
{
    atomic_store(&stopping, true);
}

static rd_kafka_t *producer_open(struct producer *p)
{
    char err[512], txn_id[64];
    snprintf(txn_id, sizeof txn_id, "crash-txn-%d", p->id);
    for (;;) {
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER,
                                      rdk_conf(p->broker, "transactional.id", txn_id,
                                               "transaction.timeout.ms", TXN_TIMEOUT, "linger.ms",
                                               "5", "reconnect.backoff.max.ms", "200", NULL),
                                      err, sizeof err);
        if (!rk)
            exit(2);
        rd_kafka_error_t *e = rd_kafka_init_transactions(rk, CALL_MS);
        if (!e)
            return rk;
        rd_kafka_error_destroy(e);
        rd_kafka_destroy(rk); /* brookd is down or recovering: try again */
        p->restarts++;
        if (atomic_load(&stopping))
            return NULL;
    }
}

/* End transaction k: commit or abort; the outcome the log may state. */
static const char *txn_end(rd_kafka_t *rk, bool commit, bool *fatal)
{
    rd_kafka_error_t *e =
        commit ? rd_kafka_commit_transaction(rk, CALL_MS) : rd_kafka_abort_transaction(rk, CALL_MS);
    if (!e)
        return commit ? "commit" : "abort";
    bool abortable = rd_kafka_error_txn_requires_abort(e);
    *fatal = rd_kafka_error_is_fatal(e);
    rd_kafka_error_destroy(e);
    if (abortable) {
        e = rd_kafka_abort_transaction(rk, CALL_MS);
        if (!e)
            return "abort";
        *fatal = true;
        rd_kafka_error_destroy(e);
    } else if (!*fatal) {
        *fatal = true; /* a timed-out end: its outcome is the coordinator's to decide */
    }
    return "unknown";
}

static void *producer_run(void *arg)
{
    struct producer *p = arg;
    char path[512];
    snprintf(path, sizeof path, "%s/t%d.log", p->dir, p->id);
    FILE *log = fopen(path, "w");
    if (!log)
        exit(2);
    unsigned seed = (unsigned)p->id * 7919u + 1;
    rd_kafka_t *rk = producer_open(p);
    for (int k = 0; rk && k < MAX_TXN && !atomic_load(&stopping); k++) {
        int n = 1 + rand_r(&seed) % 50;
        bool commit = k % 3 != 1, fatal = false;
        rd_kafka_error_t *e = rd_kafka_begin_transaction(rk);
        if (e) {
            rd_kafka_error_destroy(e);
            fatal = true;
        }
        for (int j = 0; !fatal && j < n; j++) {
            char v[64];
            int len = snprintf(v, sizeof v, "t%d %d %d", p->id, k, j);
            rd_kafka_resp_err_t r;
            while ((r = rd_kafka_producev(
                        rk, RD_KAFKA_V_TOPIC(p->topic), RD_KAFKA_V_PARTITION(rand_r(&seed) % PARTS),
                        RD_KAFKA_V_VALUE(v, (size_t)len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(rk, 10);
            if (r)
                break;
        }
        /* delivered first: an abort would purge what is still queued, and the aborted
         * records are to be in the log, for read_committed to skip */
        rd_kafka_flush(rk, CALL_MS);
        const char *outcome = fatal ? "unknown" : txn_end(rk, commit, &fatal);
        fprintf(log, "%s %d %d\n", outcome, k, n);
        fflush(log);
        p->committed += !strcmp(outcome, "commit");
        p->aborted += !strcmp(outcome, "abort");
        p->unknown += !strcmp(outcome, "unknown");
        if (fatal) { /* a new instance fences this one and aborts what it left open */
            rd_kafka_destroy(rk);
            p->restarts++;
            rk = producer_open(p);
        }
    }
    if (rk)
        rd_kafka_destroy(rk);
    fclose(log);
    return NULL;
}

/* Whether topic exists already (a rerun, or a broker without CreateTopics). */
static bool topic_exists(const char *broker, const char *topic)
{
    char err[512];
    /* a producer's metadata request would create the topic (with 1 partition) */
    rd_kafka_t *rk =
        rd_kafka_new(RD_KAFKA_PRODUCER, rdk_conf(broker, "allow.auto.create.topics", "false", NULL),
                     err, sizeof err);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    bool exists = !rd_kafka_metadata(rk, 0, rkt, &md, 10000) && md->topic_cnt == 1 &&
                  !md->topics[0].err && md->topics[0].partition_cnt == PARTS;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return exists;
}

/* One more producer leaves a transaction open (its records delivered) and the process
 * exits without ending it: the coordinator must abort it at its timeout. Logged as an
 * abort, which is what read_committed must show of it. */
static int leave_open(struct producer *p)
{
    char path[512];
    snprintf(path, sizeof path, "%s/t%d.log", p->dir, p->id);
    atomic_store(&stopping, false);
    rd_kafka_t *rk = producer_open(p);
    rd_kafka_error_t *e = rk ? rd_kafka_begin_transaction(rk) : NULL;
    FILE *log = fopen(path, "w");
    if (!rk || e || !log)
        return 1;
    for (int j = 0; j < 10; j++) {
        char v[64];
        int len = snprintf(v, sizeof v, "t%d 0 %d", p->id, j);
        if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(p->topic), RD_KAFKA_V_PARTITION(j % PARTS),
                              RD_KAFKA_V_VALUE(v, (size_t)len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END))
            return 1;
    }
    if (rd_kafka_flush(rk, CALL_MS))
        return 1;
    fprintf(log, "abort 0 10\n");
    fclose(log);
    printf("# producer %d left a transaction of 10 records open\n", p->id);
    fflush(stdout);
    _exit(0); /* no rd_kafka_destroy: nothing ends the transaction */
}

static int do_produce(const char *broker, const char *topic, const char *dir, int n)
{
    signal(SIGTERM, on_term);
    if (!topic_exists(broker, topic) && rdk_create_topic(broker, topic, PARTS))
        return 1;
    struct producer ps[MAX_PROD] = {{0}};
    for (int i = 0; i < n; i++) {
        ps[i] = (struct producer){.id = i, .broker = broker, .topic = topic, .dir = dir};
        pthread_create(&ps[i].thread, NULL, producer_run, &ps[i]);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(ps[i].thread, NULL);
        printf("# transactional producer %d: %d committed, %d aborted, %d of unknown outcome, "
               "%d restarts\n",
               i, ps[i].committed, ps[i].aborted, ps[i].unknown, ps[i].restarts);
    }
    return leave_open(&(struct producer){.id = n, .broker = broker, .topic = topic, .dir = dir});
}

/* What the logs say of each transaction, and how many of its records were read. */
struct txn {
    char outcome; /* 'c', 'a', 'u'; 0: never logged */
    int n, seen, doubled;
    unsigned char *got;
};

static struct txn *txns[MAX_PROD];

static int logs_load(const char *dir, int *nprod)
{
    *nprod = 0;
    for (int i = 0; i < MAX_PROD; i++) {
        char path[512], what[16];
        snprintf(path, sizeof path, "%s/t%d.log", dir, i);
        FILE *f = fopen(path, "r");
        if (!f)
            break;
        txns[i] = calloc(MAX_TXN, sizeof **txns);
        int k, n;
        while (fscanf(f, "%15s %d %d", what, &k, &n) == 3)
            if (k >= 0 && k < MAX_TXN && n > 0 && n <= 50)
                txns[i][k] = (struct txn){.outcome = what[0], .n = n};
        fclose(f);
        *nprod = i + 1;
    }
    return *nprod ? 0 : -1;
}

/* Read TOPIC under read_committed to its end; false on a timeout. *eof_at: where each
 * partition's end (its last stable offset) was. */
static bool read_committed_all(const char *broker, const char *topic, int nprod, int *bad,
                               int64_t *eof_at)
{
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER,
                                  rdk_conf(broker, "group.id", "txn-crash-check", "isolation.level",
                                           "read_committed", "enable.partition.eof", "true", NULL),
                                  err, sizeof err);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(PARTS);
    for (int p = 0; p < PARTS; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    int eofs = 0;
    int64_t end = clock_mono_ms() + CHECK_MS;
    while (eofs < PARTS && clock_mono_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        char v[64];
        int i, k, j;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
            eof_at[m->partition] = m->offset;
        } else if (m->err || m->len >= sizeof v ||
                   (memcpy(v, m->payload, m->len), v[m->len] = 0,
                    sscanf(v, "t%d %d %d", &i, &k, &j) != 3) ||
                   i < 0 || i >= nprod || k < 0 || k >= MAX_TXN || j < 0 || j >= 50) {
            (*bad)++;
        } else {
            struct txn *t = &txns[i][k];
            if (!t->got)
                t->got = calloc(50, 1);
            if (t->got[j]++)
                t->doubled++;
            else
                t->seen++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return eofs == PARTS;
}

/* Whether every partition's last stable offset has reached its high watermark. */
static bool stable_everywhere(rd_kafka_t *rk, const char *topic, const int64_t *eof_at)
{
    for (int p = 0; p < PARTS; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000) || eof_at[p] != hi)
            return false;
    }
    return true;
}

static int do_check(const char *broker, const char *topic, const char *dir)
{
    int nprod, bad = 0;
    int loaded = logs_load(dir, &nprod);
    result(!loaded, "the transactional producers left their logs (%d)", nprod);
    /* the coordinator aborts what was open past its timeout: wait for that, bounded */
    char err[512];
    rd_kafka_t *q = rd_kafka_new(RD_KAFKA_PRODUCER, rdk_conf(broker, NULL), err, sizeof err);
    int64_t eof_at[PARTS], end = clock_mono_ms() + 60000;
    bool read, stable;
    for (;;) {
        for (int i = 0; i < nprod; i++)
            for (int k = 0; k < MAX_TXN; k++) {
                free(txns[i][k].got);
                txns[i][k].got = NULL;
                txns[i][k].seen = txns[i][k].doubled = 0;
            }
        bad = 0;
        read = read_committed_all(broker, topic, nprod, &bad, eof_at);
        stable = read && stable_everywhere(q, topic, eof_at);
        if (stable || clock_mono_ms() >= end)
            break;
    }
    rd_kafka_destroy(q);
    result(read, "read_committed reads %s to its end", topic);
    result(stable, "no transaction is left open past its timeout: every partition's last stable "
                   "offset reaches its high watermark");
    long committed = 0, aborted = 0, lost = 0, doubled = 0, aborted_seen = 0, partial = 0,
         unknown = 0, unlogged = 0;
    for (int i = 0; i < nprod; i++)
        for (int k = 0; k < MAX_TXN; k++) {
            struct txn *t = &txns[i][k];
            doubled += t->doubled;
            if (t->outcome == 'c') {
                committed += t->n;
                lost += t->n - t->seen;
            } else if (t->outcome == 'a') {
                aborted += t->n;
                aborted_seen += t->seen;
            } else if (t->outcome == 'u') {
                unknown++;
                partial += t->seen && t->seen != t->n;
            } else if (t->seen) {
                unlogged++;
            }
        }
    printf("# %ld committed records checked, %ld records of aborted transactions (delivered "
           "before the abort), %ld transactions of unknown outcome\n",
           committed, aborted, unknown);
    result(bad == 0, "every record read is one a producer wrote (%d not)", bad);
    result(lost == 0 && doubled == 0, "0 committed records lost (%ld), none doubled (%ld)", lost,
           doubled);
    result(aborted_seen == 0, "0 aborted records visible under read_committed (%ld)", aborted_seen);
    result(partial == 0,
           "a transaction of unknown outcome is all there or not at all (%ld partial)", partial);
    result(unlogged == 0, "no records of a transaction the producers never ended (%ld)", unlogged);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "produce")) {
        int n = argc >= 7 && !strcmp(argv[5], "-n") ? atoi(argv[6]) : 2;
        if (n < 1 || n > MAX_PROD)
            return 2;
        return do_produce(argv[2], argv[3], argv[4], n);
    }
    if (argc == 5 && !strcmp(argv[1], "check"))
        return do_check(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: txn_crash produce BROKER TOPIC DIR [-n PRODUCERS] | check BROKER "
                    "TOPIC DIR\n");
    return 2;
}
