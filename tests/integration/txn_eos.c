/*
 * txn_eos.c - an exactly-once consume-transform-produce application on librdkafka,
 * and its checker, for tests/integration/txn_eos.sh (which kills it, and brookd, with
 * SIGKILL in the middle of its transactions).
 *
 *   txn_eos input BROKER NAME N PARTS
 *       create NAME-in and NAME-out with PARTS partitions; produce the N records
 *       "<i>" to NAME-in (partition i % PARTS)
 *   txn_eos app BROKER NAME N PROGRESS HOLD_MS
 *       read NAME-in with read_committed as the static member of group NAME-group;
 *       for each batch: begin, produce "out <i>" to the same partition of NAME-out,
 *       flush, append "open K" to PROGRESS, hold the transaction open HOLD_MS (so that
 *       a kill lands inside it), send the consumer's positions to the transaction,
 *       commit, append "commit K". Exits 0 once the group's positions cover all N
 *       input records. On an abortable error it aborts and rewinds to the committed
 *       offsets; on a fatal one it exits 3 (its next incarnation, same
 *       transactional.id, fences this one and has the coordinator abort what it left).
 *   txn_eos check BROKER NAME N
 *       read NAME-out with read_committed to its end: each "out <i>" exactly once,
 *       for every i < N; and the group's committed offsets cover N records
 *
 * The check prints "ok - ..." / "not ok - ..."; exits 1 on any failure. Every wait is
 * bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "lib/clock.h"
#include "tests/rdk.h"
#include "tests/tap.h"

#define BATCH     50
#define APP_MS    240000 /* an incarnation's whole life */
#define CALL_MS   30000  /* one transactional call */
#define CHECK_MS  60000
#define MAX_PARTS 16

struct app {
    rd_kafka_t *consumer, *producer;
    char in[128], out[128];
    int n;
    int progress_fd;
    int txns;
};

static void progress(struct app *a, const char *what)
{
    char line[64];
    int len = snprintf(line, sizeof line, "%s %d\n", what, a->txns);
    if (write(a->progress_fd, line, (size_t)len) != len)
        exit(4);
}

static void names(const char *name, char *in, char *out)
{
    snprintf(in, 128, "%s-in", name);
    snprintf(out, 128, "%s-out", name);
}

static int do_input(const char *broker, const char *name, int n, int nparts)
{
    char in[128], out[128], err[512];
    names(name, in, out);
    rd_kafka_t *rk = rd_kafka_new(
        RD_KAFKA_PRODUCER, rdk_conf(broker, "enable.idempotence", "true", "linger.ms", "5", NULL),
        err, sizeof err);
    const char *topics[] = {in, out};
    if (rdk_create_topics(rk, topics, 2, nparts)) {
        fprintf(stderr, "create topics failed\n");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        char v[32];
        snprintf(v, sizeof v, "%d", i);
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(in), RD_KAFKA_V_PARTITION(i % nparts),
                                      RD_KAFKA_V_VALUE(v, strlen(v)),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        if (e)
            return 1;
    }
    int left = rd_kafka_flush(rk, CALL_MS) ? 1 : 0;
    rd_kafka_destroy(rk);
    return left;
}

/* Handle a transactional call's error: abortable ones are aborted and the consumer
 * rewound to the committed offsets (false: the batch is to be redone); fatal or
 * unknown ones end the process. */
static bool txn_call(struct app *a, rd_kafka_error_t *err, const char *what)
{
    if (!err)
        return true;
    fprintf(stderr, "eos app: %s: %s (%s)%s\n", what, rd_kafka_error_string(err),
            rd_kafka_error_name(err), rd_kafka_error_is_fatal(err) ? " fatal" : "");
    bool abortable = rd_kafka_error_txn_requires_abort(err);
    rd_kafka_error_destroy(err);
    if (!abortable)
        exit(3);
    rd_kafka_error_t *e2 = rd_kafka_abort_transaction(a->producer, CALL_MS);
    if (e2) {
        fprintf(stderr, "eos app: abort: %s\n", rd_kafka_error_string(e2));
        exit(3);
    }
    rd_kafka_topic_partition_list_t *asg = NULL;
    if (rd_kafka_assignment(a->consumer, &asg) || !asg ||
        rd_kafka_committed(a->consumer, asg, CALL_MS))
        exit(3);
    for (int i = 0; i < asg->cnt; i++)
        if (asg->elems[i].offset < 0)
            asg->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_error_t *e3 = rd_kafka_seek_partitions(a->consumer, asg, CALL_MS);
    rd_kafka_topic_partition_list_destroy(asg);
    if (e3)
        exit(3);
    return false;
}

/* The consumer's positions over its assignment; *sum their total (-1 if any unknown). */
static rd_kafka_topic_partition_list_t *positions(struct app *a, int64_t *sum)
{
    rd_kafka_topic_partition_list_t *asg = NULL;
    *sum = -1;
    if (rd_kafka_assignment(a->consumer, &asg) || !asg)
        return NULL;
    rd_kafka_position(a->consumer, asg);
    *sum = 0;
    for (int i = 0; i < asg->cnt; i++)
        *sum = asg->elems[i].offset < 0 || *sum < 0 ? -1 : *sum + asg->elems[i].offset;
    return asg;
}

/* One transaction over the records polled: true when it committed. */
static bool app_batch(struct app *a, rd_kafka_message_t **msgs, int cnt, int hold_ms)
{
    if (!txn_call(a, rd_kafka_begin_transaction(a->producer), "begin"))
        return false;
    a->txns++;
    for (int k = 0; k < cnt; k++) {
        char v[64];
        int len =
            snprintf(v, sizeof v, "out %.*s", (int)msgs[k]->len, (const char *)msgs[k]->payload);
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(
                    a->producer, RD_KAFKA_V_TOPIC(a->out), RD_KAFKA_V_PARTITION(msgs[k]->partition),
                    RD_KAFKA_V_VALUE(v, (size_t)len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(a->producer, 10);
        if (e) /* a fatal error: the next call says which */
            break;
    }
    rd_kafka_flush(a->producer, CALL_MS);
    progress(a, "open");
    struct timespec ts = {hold_ms / 1000, (hold_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* the transaction's lifetime, not a synchronisation */
    int64_t sum;
    rd_kafka_topic_partition_list_t *pos = positions(a, &sum);
    rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(a->consumer);
    rd_kafka_error_t *err =
        pos ? rd_kafka_send_offsets_to_transaction(a->producer, pos, cgmd, CALL_MS) : NULL;
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    if (pos)
        rd_kafka_topic_partition_list_destroy(pos);
    if (!txn_call(a, err, "send_offsets"))
        return false;
    if (!txn_call(a, rd_kafka_commit_transaction(a->producer, CALL_MS), "commit"))
        return false;
    progress(a, "commit");
    return true;
}

static void app_open(struct app *a, const char *broker, const char *name)
{
    char err[512], group[160], txn_id[160];
    snprintf(group, sizeof group, "%s-group", name);
    snprintf(txn_id, sizeof txn_id, "%s-app", name);
    names(name, a->in, a->out);
    a->consumer = rd_kafka_new(
        RD_KAFKA_CONSUMER,
        rdk_conf(broker, "group.id", group, "group.instance.id", txn_id, "isolation.level",
                 "read_committed", "enable.auto.commit", "false", "auto.offset.reset", "earliest",
                 "session.timeout.ms", "10000", "reconnect.backoff.max.ms", "200", NULL),
        err, sizeof err);
    a->producer =
        rd_kafka_new(RD_KAFKA_PRODUCER,
                     rdk_conf(broker, "transactional.id", txn_id, "transaction.timeout.ms", "10000",
                              "linger.ms", "5", "reconnect.backoff.max.ms", "200", NULL),
                     err, sizeof err);
    if (!a->consumer || !a->producer)
        exit(2);
    rd_kafka_poll_set_consumer(a->consumer);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, a->in, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(a->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    rd_kafka_error_t *e = rd_kafka_init_transactions(a->producer, CALL_MS);
    if (e) {
        fprintf(stderr, "eos app: init_transactions: %s\n", rd_kafka_error_string(e));
        exit(3);
    }
}

static int do_app(const char *broker, const char *name, int n, const char *file, int hold_ms)
{
    struct app a = {.n = n};
    a.progress_fd = open(file, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (a.progress_fd < 0)
        return 2;
    app_open(&a, broker, name);
    progress(&a, "start");
    int64_t end = clock_mono_ms() + APP_MS;
    while (clock_mono_ms() < end) {
        rd_kafka_message_t *msgs[BATCH];
        int cnt = 0;
        while (cnt < BATCH) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(a.consumer, cnt ? 20 : 100);
            if (!m)
                break;
            if (m->err) {
                rd_kafka_message_destroy(m);
                continue;
            }
            msgs[cnt++] = m;
        }
        if (cnt)
            app_batch(&a, msgs, cnt, hold_ms);
        for (int k = 0; k < cnt; k++)
            rd_kafka_message_destroy(msgs[k]);
        int64_t sum;
        rd_kafka_topic_partition_list_t *pos = positions(&a, &sum);
        if (pos)
            rd_kafka_topic_partition_list_destroy(pos);
        if (!cnt && sum == n) {
            progress(&a, "done");
            break;
        }
    }
    rd_kafka_consumer_close(a.consumer);
    rd_kafka_destroy(a.consumer);
    rd_kafka_destroy(a.producer);
    return clock_mono_ms() < end ? 0 : 1;
}

/* The group's committed offsets of NAME-in, summed; -1 on error. */
static int64_t committed_sum(const char *broker, const char *name, const char *in, int nparts)
{
    char err[512], group[160];
    snprintf(group, sizeof group, "%s-group", name);
    rd_kafka_t *rk =
        rd_kafka_new(RD_KAFKA_CONSUMER, rdk_conf(broker, "group.id", group, NULL), err, sizeof err);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++)
        rd_kafka_topic_partition_list_add(l, in, p);
    int64_t sum = rd_kafka_committed(rk, l, CALL_MS) ? -1 : 0;
    for (int p = 0; sum >= 0 && p < nparts; p++)
        sum = l->elems[p].offset < 0 ? -1 : sum + l->elems[p].offset;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    return sum;
}

static int do_check(const char *broker, const char *name, int n)
{
    char in[128], out[128], err[512];
    names(name, in, out);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER,
                                  rdk_conf(broker, "group.id", "eos-checker", "isolation.level",
                                           "read_committed", "enable.partition.eof", "true", NULL),
                                  err, sizeof err);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, out, NULL);
    int nparts = 0;
    if (!rd_kafka_metadata(rk, 0, rkt, &md, CALL_MS) && md->topic_cnt == 1)
        nparts = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    result(nparts > 0 && nparts <= MAX_PARTS, "%s has its partitions (%d)", out, nparts);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++)
        rd_kafka_topic_partition_list_add(l, out, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    int *seen = calloc((size_t)n, sizeof *seen);
    int eofs = 0, bad = 0, wrong_part = 0;
    int64_t end = clock_mono_ms() + CHECK_MS;
    while (eofs < nparts && clock_mono_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        char v[64];
        int i;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            eofs++;
        else if (m->err || m->len >= sizeof v)
            bad++;
        else if (memcpy(v, m->payload, m->len), v[m->len] = 0,
                 sscanf(v, "out %d", &i) != 1 || i < 0 || i >= n)
            bad++;
        else {
            seen[i]++;
            wrong_part += i % nparts != m->partition;
        }
        rd_kafka_message_destroy(m);
    }
    int once = 0, dup = 0, lost = 0;
    for (int i = 0; i < n; i++) {
        once += seen[i] == 1;
        dup += seen[i] > 1;
        if (!seen[i] && lost++ < 5)
            fprintf(stderr, "lost: out %d\n", i);
    }
    free(seen);
    result(eofs == nparts && bad == 0, "read_committed reads %s to its end (%d bad records)", out,
           bad);
    result(once == n && dup == 0 && lost == 0 && wrong_part == 0,
           "%s holds exactly one result per input record: %d of %d once, %d doubled, %d lost", out,
           once, n, dup, lost);
    int64_t sum = committed_sum(broker, name, in, nparts);
    result(sum == n, "the group's committed offsets cover the %d input records (%" PRId64 ")", n,
           sum);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && !strcmp(argv[1], "input"))
        return do_input(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
    if (argc == 7 && !strcmp(argv[1], "app"))
        return do_app(argv[2], argv[3], atoi(argv[4]), argv[5], atoi(argv[6]));
    if (argc == 5 && !strcmp(argv[1], "check"))
        return do_check(argv[2], argv[3], atoi(argv[4]));
    fprintf(stderr, "usage: txn_eos input BROKER NAME N PARTS | app BROKER NAME N PROGRESS "
                    "HOLD_MS | check BROKER NAME N\n");
    return 2;
}
