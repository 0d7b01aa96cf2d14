/*
 * txn_rdkafka.c - brookd's transactions against librdkafka's transactional API, with
 * Kafka's semantics as the yardstick (the same program passes against another
 * Kafka-protocol implementation, so a failure against brookd is brookd's).
 *
 *   txn_rdkafka basic BROKER     init_transactions; a committed, an aborted and a
 *                                committed transaction, each over 3 partitions of 2
 *                                topics with send_offsets_to_transaction for a live
 *                                consumer group; then read_committed sees each
 *                                committed record once and no aborted one, and
 *                                read_uncommitted sees all of them in order
 *   txn_rdkafka fence BROKER     a second producer with the same transactional.id
 *                                fences the first: its commit fails with _FENCED
 *   txn_rdkafka timeout BROKER   a transaction left open past transaction.timeout.ms
 *                                is aborted by the coordinator: the last stable
 *                                offset holds still while it is open, then advances,
 *                                and read_committed never sees its records
 *
 * Record values are text, "<transaction> <partition> <index>", so every check can say
 * which record is missing, doubled or out of place. Prints "ok - ..." / "not ok - ...";
 * exits 1 on any failure. Every wait is bounded.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "lib/clock.h"
#include "tests/rdk.h"
#include "tests/tap.h"

#define TOPIC_A    "txn-a" /* 2 partitions */
#define TOPIC_B    "txn-b" /* 1 partition */
#define TOPIC_IN   "txn-in"
#define GROUP      "txn-group"
#define PER_PART   100 /* records per partition per transaction */
#define NPARTS     3
#define NTXN       3 /* committed, aborted, committed */
#define TIMEOUT_MS 60000

static const struct {
    const char *topic;
    int partition;
} parts[NPARTS] = {{TOPIC_A, 0}, {TOPIC_A, 1}, {TOPIC_B, 0}};

static const bool txn_commits[NTXN] = {true, false, true};

static int delivery_errors;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err && delivery_errors++ < 3)
        fprintf(stderr, "delivery: %s\n", rd_kafka_err2str(m->err));
}

/* Report a failed transactional call; true when err was NULL (success). */
static bool txn_ok(rd_kafka_error_t *err, const char *what)
{
    if (!err)
        return true;
    fprintf(stderr, "%s: %s (%s)%s\n", what, rd_kafka_error_string(err), rd_kafka_error_name(err),
            rd_kafka_error_is_fatal(err) ? " fatal" : "");
    rd_kafka_error_destroy(err);
    return false;
}

static rd_kafka_t *producer_new(const char *broker, const char *txn_id, const char *timeout_ms)
{
    char err[512];
    rd_kafka_conf_t *conf = rdk_conf(broker, "transactional.id", txn_id, "transaction.timeout.ms",
                                     timeout_ms, "linger.ms", "5", NULL);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        exit(2);
    }
    return rk;
}

/* Produce value to topic/partition, waiting out a full queue (bounded by librdkafka's
 * message timeout). */
static rd_kafka_resp_err_t produce_one(rd_kafka_t *rk, const char *topic, int partition,
                                       const char *value)
{
    rd_kafka_resp_err_t e;
    int64_t end = clock_mono_ms() + TIMEOUT_MS;
    do {
        e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
    } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && clock_mono_ms() < end);
    rd_kafka_poll(rk, 0);
    return e;
}

/* A consumer of GROUP subscribed to TOPIC_IN, polled until it has its assignment: its
 * group metadata carries a real generation and member id, which the coordinator checks
 * when the offsets are committed with the transaction (KIP-447). */
static rd_kafka_t *group_member_new(const char *broker)
{
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER,
                                  rdk_conf(broker, "group.id", GROUP, "enable.auto.commit", "false",
                                           "auto.offset.reset", "earliest", "isolation.level",
                                           "read_committed", NULL),
                                  err, sizeof err);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, TOPIC_IN, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    int64_t end = clock_mono_ms() + TIMEOUT_MS;
    rd_kafka_topic_partition_list_t *asg = NULL;
    while (clock_mono_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m)
            rd_kafka_message_destroy(m);
        if (!rd_kafka_assignment(rk, &asg) && asg && asg->cnt > 0)
            break;
        if (asg)
            rd_kafka_topic_partition_list_destroy(asg);
        asg = NULL;
    }
    result(asg && asg->cnt == 1, "a consumer of group %s gets its assignment", GROUP);
    if (asg)
        rd_kafka_topic_partition_list_destroy(asg);
    return rk;
}

/* The group's committed offset of TOPIC_IN/0 (-1001 when none), through member. */
static int64_t group_committed(rd_kafka_t *member)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, TOPIC_IN, 0);
    rd_kafka_resp_err_t e = rd_kafka_committed(member, l, 30000);
    int64_t off = e ? -2 : l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return off;
}

/* One transaction t: PER_PART records on each of the partitions, the group's offset
 * of TOPIC_IN/0 set to 10 * (t + 1), then commit or abort. */
static bool run_txn(rd_kafka_t *rk, rd_kafka_t *member, int t, bool commit)
{
    if (!txn_ok(rd_kafka_begin_transaction(rk), "begin_transaction"))
        return false;
    for (int i = 0; i < PER_PART; i++)
        for (int p = 0; p < NPARTS; p++) {
            char v[64];
            snprintf(v, sizeof v, "%d %d %d", t, p, i);
            if (produce_one(rk, parts[p].topic, parts[p].partition, v))
                return false;
        }
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offs, TOPIC_IN, 0)->offset = 10 * (t + 1);
    rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(member);
    bool good = txn_ok(rd_kafka_send_offsets_to_transaction(rk, offs, cgmd, TIMEOUT_MS),
                       "send_offsets_to_transaction");
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    rd_kafka_topic_partition_list_destroy(offs);
    /* flushed first, so that the aborted records too are in the log (abort purges
     * what is still queued) and read_uncommitted has them to show */
    if (!good || rd_kafka_flush(rk, TIMEOUT_MS))
        return false;
    if (commit)
        return txn_ok(rd_kafka_commit_transaction(rk, TIMEOUT_MS), "commit_transaction");
    return txn_ok(rd_kafka_abort_transaction(rk, TIMEOUT_MS), "abort_transaction");
}

/* What a consumer read from one partition, in order. */
struct seen {
    int n;
    int txn[NTXN * PER_PART * 2];
    int idx[NTXN * PER_PART * 2];
    int64_t last_offset;
};

/* Read every partition of parts[] from the start to its end (the LSO under
 * read_committed, the high watermark otherwise) with isolation. */
static bool read_all(const char *broker, const char *isolation, struct seen *s)
{
    char err[512];
    rd_kafka_t *rk =
        rd_kafka_new(RD_KAFKA_CONSUMER,
                     rdk_conf(broker, "group.id", "txn-reader", "isolation.level", isolation,
                              "enable.partition.eof", "true", "enable.auto.commit", "false", NULL),
                     err, sizeof err);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPARTS);
    for (int p = 0; p < NPARTS; p++)
        rd_kafka_topic_partition_list_add(l, parts[p].topic, parts[p].partition)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    memset(s, 0, sizeof *s * NPARTS);
    int eofs = 0, bad = 0;
    int64_t end = clock_mono_ms() + TIMEOUT_MS;
    while (eofs < NPARTS && clock_mono_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        int p = 0;
        while (p < NPARTS && (strcmp(rd_kafka_topic_name(m->rkt), parts[p].topic) ||
                              m->partition != parts[p].partition))
            p++;
        char v[64];
        int t, pp, i;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (m->err || p == NPARTS || m->len >= sizeof v) {
            if (bad++ < 3)
                fprintf(stderr, "%s read: %s\n", isolation, rd_kafka_message_errstr(m));
        } else if (memcpy(v, m->payload, m->len), v[m->len] = 0,
                   sscanf(v, "%d %d %d", &t, &pp, &i) != 3 || pp != p ||
                       s[p].n >= NTXN * PER_PART * 2) {
            bad++;
        } else {
            s[p].txn[s[p].n] = t;
            s[p].idx[s[p].n++] = i;
            s[p].last_offset = m->offset;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return eofs == NPARTS && bad == 0;
}

/* Whether s holds exactly the records of the transactions in want[], in order. */
static bool seen_exactly(const struct seen *s, const bool *want)
{
    int k = 0;
    for (int t = 0; t < NTXN; t++)
        for (int i = 0; want[t] && i < PER_PART; i++, k++)
            if (k >= s->n || s->txn[k] != t || s->idx[k] != i) {
                fprintf(stderr, "record %d of %d: want %d/%d, read %d/%d\n", k, s->n, t, i,
                        k < s->n ? s->txn[k] : -1, k < s->n ? s->idx[k] : -1);
                return false;
            }
    if (k != s->n)
        fprintf(stderr, "%d records read, %d wanted\n", s->n, k);
    return k == s->n;
}

/* The high watermark of parts[p]: records plus one control marker per transaction. */
static int64_t high_watermark(rd_kafka_t *rk, int p)
{
    int64_t lo = -1, hi = -1;
    if (rd_kafka_query_watermark_offsets(rk, parts[p].topic, parts[p].partition, &lo, &hi, 10000))
        return -1;
    return hi;
}

static void test_basic(const char *broker)
{
    delivery_errors = 0;
    rd_kafka_t *rk = producer_new(broker, "txn-basic", "60000");
    const char *a[] = {TOPIC_A}, *b[] = {TOPIC_B, TOPIC_IN};
    result(!rdk_create_topics(rk, a, 1, 2) && !rdk_create_topics(rk, b, 2, 1),
           "CreateTopics makes %s (2 partitions), %s and %s", TOPIC_A, TOPIC_B, TOPIC_IN);
    result(txn_ok(rd_kafka_init_transactions(rk, TIMEOUT_MS), "init_transactions"),
           "init_transactions gets a producer id for transactional.id txn-basic");
    rd_kafka_t *member = group_member_new(broker);
    bool good = run_txn(rk, member, 0, true);
    result(good, "a transaction over 3 partitions of 2 topics with send_offsets commits");
    int64_t c0 = group_committed(member);
    result(c0 == 10, "the group's offset committed with it is visible (%" PRId64 ")", c0);
    good = run_txn(rk, member, 1, false);
    result(good, "the same transaction aborts");
    int64_t c1 = group_committed(member);
    result(c1 == 10, "the aborted transaction's offset is not committed (%" PRId64 ")", c1);
    good = run_txn(rk, member, 2, true);
    result(good, "a third transaction commits after the abort");
    int64_t c2 = group_committed(member);
    result(c2 == 30, "its offset is committed (%" PRId64 ")", c2);
    result(delivery_errors == 0, "no delivery errors (%d)", delivery_errors);

    /* 3 transactions of PER_PART records, each ended by one control marker */
    int hw_good = 0;
    for (int p = 0; p < NPARTS; p++) {
        int64_t hw = high_watermark(rk, p);
        hw_good += hw == NTXN * PER_PART + NTXN;
        if (hw != NTXN * PER_PART + NTXN)
            fprintf(stderr, "%s/%d: high watermark %" PRId64 "\n", parts[p].topic,
                    parts[p].partition, hw);
    }
    result(hw_good == NPARTS, "each partition's high watermark counts the records and 3 markers");

    struct seen s[NPARTS];
    bool read = read_all(broker, "read_committed", s);
    int exact = 0;
    for (int p = 0; p < NPARTS; p++)
        exact += seen_exactly(&s[p], txn_commits);
    result(read && exact == NPARTS,
           "read_committed sees every committed record once, in order, and no aborted one "
           "(%d/%d partitions)",
           exact, NPARTS);
    static const bool all[NTXN] = {true, true, true};
    read = read_all(broker, "read_uncommitted", s);
    exact = 0;
    for (int p = 0; p < NPARTS; p++)
        exact += seen_exactly(&s[p], all) && s[p].last_offset == NTXN * PER_PART + NTXN - 2;
    result(read && exact == NPARTS,
           "read_uncommitted sees the committed and the aborted records in order, markers "
           "skipped (%d/%d partitions)",
           exact, NPARTS);
    rd_kafka_consumer_close(member);
    rd_kafka_destroy(member);
    rd_kafka_destroy(rk);
}

/* Whether err (or the producer's fatal error) is the fencing error. */
static bool is_fenced(rd_kafka_t *rk, rd_kafka_error_t *err)
{
    char why[256];
    bool fenced = err && (rd_kafka_error_code(err) == RD_KAFKA_RESP_ERR__FENCED ||
                          (rd_kafka_error_is_fatal(err) &&
                           rd_kafka_fatal_error(rk, why, sizeof why) == RD_KAFKA_RESP_ERR__FENCED));
    if (err) {
        fprintf(stderr, "first producer: %s (%s)\n", rd_kafka_error_string(err),
                rd_kafka_error_name(err));
        rd_kafka_error_destroy(err);
    }
    return fenced;
}

static void test_fence(const char *broker)
{
    const char *t[] = {"txn-fence"};
    rd_kafka_t *p1 = producer_new(broker, "txn-fence-id", "60000");
    result(!rdk_create_topics(p1, t, 1, 1), "CreateTopics makes txn-fence");
    bool good = txn_ok(rd_kafka_init_transactions(p1, TIMEOUT_MS), "init_transactions 1") &&
                txn_ok(rd_kafka_begin_transaction(p1), "begin 1") &&
                !produce_one(p1, "txn-fence", 0, "9 0 0");
    rd_kafka_flush(p1, TIMEOUT_MS);
    result(good, "the first producer has a transaction open with a record in it");
    if (!good) { /* no transactions here: the rest would only wait out its timeouts */
        rd_kafka_destroy(p1);
        return;
    }

    rd_kafka_t *p2 = producer_new(broker, "txn-fence-id", "60000");
    good = txn_ok(rd_kafka_init_transactions(p2, TIMEOUT_MS), "init_transactions 2");
    result(good, "a second producer with the same transactional.id initialises");

    /* the first producer's next produce or its commit must fail, fenced */
    produce_one(p1, "txn-fence", 0, "9 0 1");
    rd_kafka_flush(p1, 10000);
    result(is_fenced(p1, rd_kafka_commit_transaction(p1, TIMEOUT_MS)),
           "the first producer's commit fails with the fencing error (_FENCED)");

    good = txn_ok(rd_kafka_begin_transaction(p2), "begin 2") &&
           !produce_one(p2, "txn-fence", 0, "0 0 0") &&
           txn_ok(rd_kafka_commit_transaction(p2, TIMEOUT_MS), "commit 2");
    result(good, "the second producer commits its own transaction");
    rd_kafka_destroy(p1);
    rd_kafka_destroy(p2);

    /* read_committed: only the second producer's record */
    char err[512];
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER,
                                 rdk_conf(broker, "group.id", "txn-fence-reader", "isolation.level",
                                          "read_committed", "enable.partition.eof", "true", NULL),
                                 err, sizeof err);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, "txn-fence", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, l);
    rd_kafka_topic_partition_list_destroy(l);
    int got = 0, fenced_seen = 0, eof = 0;
    int64_t end = clock_mono_ms() + TIMEOUT_MS;
    while (!eof && clock_mono_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            eof = 1;
        else if (!m->err && m->len == 5 && !memcmp(m->payload, "0 0 0", 5))
            got++;
        else
            fenced_seen++;
        rd_kafka_message_destroy(m);
    }
    result(eof && got == 1 && fenced_seen == 0,
           "read_committed sees the second producer's record and none of the fenced one's "
           "(%d, %d)",
           got, fenced_seen);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
}

/* Read "txn-timeout"/0 under read_committed from the start until EOF (the LSO): the
 * values read go to *plain (records "plain ...") and *txn (anything else). */
static bool read_timeout_topic(const char *broker, int *plain, int *txn)
{
    char err[512];
    rd_kafka_t *c =
        rd_kafka_new(RD_KAFKA_CONSUMER,
                     rdk_conf(broker, "group.id", "txn-timeout-reader", "isolation.level",
                              "read_committed", "enable.partition.eof", "true", NULL),
                     err, sizeof err);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, "txn-timeout", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, l);
    rd_kafka_topic_partition_list_destroy(l);
    bool eof = false;
    *plain = *txn = 0;
    int64_t end = clock_mono_ms() + 20000;
    while (!eof && clock_mono_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            eof = true;
        else if (!m->err && m->len >= 5 && !memcmp(m->payload, "plain", 5))
            (*plain)++;
        else
            (*txn)++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return eof;
}

static void test_timeout(const char *broker)
{
    const char *t[] = {"txn-timeout"};
    rd_kafka_t *p1 = producer_new(broker, "txn-timeout-id", "3000");
    result(!rdk_create_topics(p1, t, 1, 1), "CreateTopics makes txn-timeout");
    bool good = txn_ok(rd_kafka_init_transactions(p1, TIMEOUT_MS), "init_transactions") &&
                txn_ok(rd_kafka_begin_transaction(p1), "begin");
    for (int i = 0; good && i < 10; i++)
        good = !produce_one(p1, "txn-timeout", 0, "1 0 0");
    good = good && !rd_kafka_flush(p1, 10000) && delivery_errors == 0;
    result(good, "a transaction with transaction.timeout.ms=3000 holds 10 delivered records");
    if (!good) {
        rd_kafka_destroy(p1);
        return;
    }

    /* records after the open transaction, from a plain producer */
    char err[512];
    rd_kafka_t *plain =
        rd_kafka_new(RD_KAFKA_PRODUCER, rdk_conf(broker, "acks", "all", NULL), err, sizeof err);
    for (int i = 0; i < 5; i++)
        produce_one(plain, "txn-timeout", 0, "plain");
    result(!rd_kafka_flush(plain, 10000), "5 plain records follow it");
    rd_kafka_destroy(plain);

    int np, nt;
    bool eof = read_timeout_topic(broker, &np, &nt);
    result(eof && np == 0 && nt == 0,
           "while it is open, the last stable offset holds read_committed before it (%d, %d)", np,
           nt);

    /* the coordinator aborts it: Kafka checks every few seconds, so allow a minute */
    int64_t end = clock_mono_ms() + 60000;
    do
        eof = read_timeout_topic(broker, &np, &nt);
    while (eof && np < 5 && nt == 0 && clock_mono_ms() < end);
    result(eof && np == 5 && nt == 0,
           "after its timeout the coordinator aborts it: the LSO advances and read_committed "
           "sees the 5 plain records, none of the transaction's (%d, %d)",
           np, nt);
    rd_kafka_error_t *e = rd_kafka_commit_transaction(p1, 10000);
    result(e != NULL, "the timed-out transaction cannot be committed afterwards");
    if (e)
        rd_kafka_error_destroy(e);
    rd_kafka_destroy(p1);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "basic"))
        test_basic(argv[2]);
    else if (argc >= 3 && !strcmp(argv[1], "fence"))
        test_fence(argv[2]);
    else if (argc >= 3 && !strcmp(argv[1], "timeout"))
        test_timeout(argv[2]);
    else {
        fprintf(stderr, "usage: txn_rdkafka basic|fence|timeout BROKER\n");
        return 2;
    }
    return failures ? 1 : 0;
}
