/*
 * kafka_bench.c - the load generator for every Kafka figure, on the librdkafka
 * API, so brook is measured through the client most Kafka users run.
 *
 *   kafka_bench create  -b BROKERS -t TOPIC [-p PARTS]
 *   kafka_bench delete  -b BROKERS -t TOPIC
 *   kafka_bench produce -b BROKERS|mock -t TOPIC [-s SIZE] [-n COUNT] [-a ACKS]
 *                       [-P PRODUCERS] [-p PARTS] [-x TXN_RECORDS]
 *   kafka_bench consume -b BROKERS -t TOPIC -n COUNT [-P CONSUMERS] [-p PARTS]
 *   kafka_bench latency -b BROKERS -t TOPIC -r RATE -d SECONDS [-s SIZE] [-a ACKS]
 *                       [-F FILE]
 *
 * produce: PRODUCERS threads, each with its own client (its own connection),
 *   share COUNT records of SIZE bytes; record j of producer i goes to partition
 *   (i + j) % PARTS, so every partition gets its share of every producer's
 *   batches. The payload is a static buffer handed over without copying, so the
 *   client's own cost is as low as librdkafka allows. Each client first waits
 *   until it knows a leader for every partition (set-up is not timed); then all
 *   start together and the run is timed to the last delivery report. Any
 *   delivery error fails the run.
 *   With -x, each producer is transactional (its own transactional.id, so acks=-1
 *   and idempotence): init_transactions is set-up, not timed; its records go in
 *   transactions of TXN_RECORDS each, every one committed, and the run is timed to
 *   the last commit - so the figure includes AddPartitionsToTxn, EndTxn and the
 *   markers' writes beside the data.
 *   "-b mock" produces into librdkafka's built-in mock cluster
 *   (test.mock.num.brokers=1): the client's own ceiling, with no network broker.
 * consume: CONSUMERS clients, consumer i assigned the partitions p with
 *   p % CONSUMERS == i at offset 0 (no group; the suite's topics are fresh, and
 *   auto.offset.reset=earliest covers a log that starts later), read until COUNT
 *   records have arrived in total; batches of up to 1000 from the consumer queue.
 *   Timed from the first batch received (not counted) to the last record; the
 *   time from start to the first batch is printed as first_ms. (Assigning at
 *   OFFSET_BEGINNING instead makes librdkafka 2.0.2 wait about 500 ms before its
 *   ListOffsets request, which would dominate short runs.)
 * latency: one producer sends at RATE records per second on an absolute schedule
 *   (linger.ms=0), each payload stamped with its scheduled send time (bench.h),
 *   so a late sender shows up as latency rather than as a lower rate. A consumer
 *   on partition 0, started at the high watermark, measures now - stamp. With -F
 *   the records are read as lines from FILE instead (a FUSE follow file, or
 *   a pipe from tail -f): the same producer, another reader. The schedule
 *   starts once priming records (bench.h) reach the reader.
 *
 * Output: "KEY VALUE" lines (bench.h): msgs_per_s and mb_per_s (payload bytes,
 * 10^6 per second), or e2e_p50_us / _p99_us / _p999_us / _max_us / _samples.
 * -X key=value passes any librdkafka setting; -T bounds the whole run (seconds).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "bench/bench.h"

#if __has_include(<librdkafka/rdkafka.h>)
#include <librdkafka/rdkafka.h>

#define MAX_CLIENTS 1000
#define MAX_EXTRA   32
#define BATCH       1000

struct opts {
    const char *brokers, *topic, *file;
    int64_t size, count;
    int acks, clients, parts, rate, seconds, limit_s;
    int64_t txn;                  /* records per transaction; 0: not transactional */
    const char *extra[MAX_EXTRA]; /* "key=value" librdkafka settings from -X */
    int n_extra;
};

static struct opts o = {.size = 1024,
                        .count = 100000,
                        .acks = 1,
                        .clients = 1,
                        .parts = 1,
                        .rate = 1000,
                        .seconds = 5,
                        .limit_s = 300};

static void die(const char *what, const char *why)
{
    fprintf(stderr, "kafka_bench: %s: %s\n", what, why);
    exit(1);
}

/* ---- configuration --------------------------------------------------------------- */

static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[512];
    if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
        die(k, err);
}

static void set_int(rd_kafka_conf_t *c, const char *k, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    set(c, k, buf);
}

/* A configuration with the brokers (or the mock cluster) and the -X settings. */
static rd_kafka_conf_t *base_conf(void)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (!strcmp(o.brokers, "mock"))
        set(c, "test.mock.num.brokers", "1");
    else
        set(c, "bootstrap.servers", o.brokers);
    set(c, "log_level", "3");
    for (int i = 0; i < o.n_extra; i++) {
        char k[256];
        const char *eq = strchr(o.extra[i], '=');
        if (!eq || eq - o.extra[i] >= (long)sizeof k)
            die("-X", o.extra[i]);
        snprintf(k, sizeof k, "%.*s", (int)(eq - o.extra[i]), o.extra[i]);
        set(c, k, eq + 1);
    }
    return c;
}

static rd_kafka_t *client_new(rd_kafka_type_t type, rd_kafka_conf_t *c)
{
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(type, c, err, sizeof err);
    if (!rk)
        die("rd_kafka_new", err);
    return rk;
}

/* ---- create ------------------------------------------------------------------------ */

/* Wait for the result of an admin request on q; its error for the topic. */
static rd_kafka_resp_err_t admin_result(rd_kafka_queue_t *q, bool create)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    const rd_kafka_topic_result_t **tr = NULL;
    size_t n = 0;
    if (ev && create && rd_kafka_event_CreateTopics_result(ev))
        tr = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    else if (ev && !create && rd_kafka_event_DeleteTopics_result(ev))
        tr = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    rd_kafka_resp_err_t e = n ? rd_kafka_topic_result_error(tr[0]) : RD_KAFKA_RESP_ERR__TIMED_OUT;
    if (ev)
        rd_kafka_event_destroy(ev);
    return e;
}

/* Create the topic with o.parts partitions (an existing topic is fine), or delete it. */
static int cmd_admin(bool create)
{
    char err[512];
    rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, base_conf());
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_resp_err_t e;
    if (create) {
        rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(o.topic, o.parts, 1, err, sizeof err);
        if (!nt)
            die("NewTopic", err);
        rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
        e = admin_result(q, true);
        rd_kafka_NewTopic_destroy(nt);
        if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            e = 0;
    } else {
        rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(o.topic);
        rd_kafka_DeleteTopics(rk, &dt, 1, NULL, q);
        e = admin_result(q, false);
        rd_kafka_DeleteTopic_destroy(dt);
    }
    if (e)
        die(create ? "CreateTopics" : "DeleteTopics", rd_kafka_err2str(e));
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return 0;
}

/* ---- produce ----------------------------------------------------------------------- */

struct producer {
    int index;
    int64_t quota;     /* records to send */
    int64_t delivered; /* delivery reports without error */
    int64_t failed;    /* delivery reports with one */
    int64_t done_ns;   /* when its last delivery report came */
    bool in_txn;       /* -x: a transaction begun and not yet committed */
    pthread_t thread;
};

static char *payload;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct producer *p = opaque;
    if (m->err) {
        if (!p->failed++)
            fprintf(stderr, "kafka_bench: delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else {
        p->delivered++;
    }
}

static rd_kafka_t *producer_new(void *opaque, int linger_ms)
{
    rd_kafka_conf_t *c = base_conf();
    set_int(c, "acks", o.acks);
    set_int(c, "linger.ms", linger_ms);
    set(c, "queue.buffering.max.messages", "1000000");
    set(c, "queue.buffering.max.kbytes", o.clients > 10 ? "65536" : "1048576");
    if (o.txn) {
        char id[64];
        snprintf(id, sizeof id, "bench-%s-%d", o.topic, ((struct producer *)opaque)->index);
        set(c, "transactional.id", id);
    }
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_conf_set_opaque(c, opaque);
    return client_new(RD_KAFKA_PRODUCER, c);
}

/* A transactional call's failure ends the run: the bench measures, it does not retry. */
static void txn_call(rd_kafka_error_t *e, const char *what)
{
    if (e)
        die(what, rd_kafka_error_string(e));
}

/* Wait (at most 10 s) until rk knows a leader for each of the o.parts partitions. */
static void wait_leaders(rd_kafka_t *rk, rd_kafka_topic_t *rkt)
{
    int64_t deadline = clock_mono_ns() + 10000000000LL;
    for (;;) {
        const struct rd_kafka_metadata *md;
        bool ok = false;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == 0) {
            const struct rd_kafka_metadata_topic *t = md->topic_cnt ? &md->topics[0] : NULL;
            ok = t && !t->err && t->partition_cnt >= o.parts;
            for (int i = 0; ok && i < t->partition_cnt; i++)
                ok = t->partitions[i].leader >= 0;
            rd_kafka_metadata_destroy(md);
        }
        if (ok)
            return;
        if (clock_mono_ns() > deadline)
            die("produce", "the topic has no leader for every partition after 10 s");
        bench_sleep_until(clock_mono_ns() + 10000000);
    }
}

static pthread_barrier_t start_line; /* producers and the clock start together */

static void *producer_main(void *arg)
{
    struct producer *p = arg;
    rd_kafka_t *rk = producer_new(p, 5);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o.topic, NULL);
    wait_leaders(rk, rkt);
    if (o.txn)
        txn_call(rd_kafka_init_transactions(rk, 30000), "init_transactions");
    pthread_barrier_wait(&start_line);
    for (int64_t j = 0; j < p->quota;) {
        int32_t part = (int32_t)((p->index + j) % o.parts);
        if (o.txn && j % o.txn == 0 && !p->in_txn) {
            txn_call(rd_kafka_begin_transaction(rk), "begin_transaction");
            p->in_txn = true;
        }
        if (rd_kafka_produce(rkt, part, 0, payload, (size_t)o.size, NULL, 0, NULL) == 0) {
            j++;
            if (o.txn && (j % o.txn == 0 || j == p->quota)) { /* commit flushes */
                txn_call(rd_kafka_commit_transaction(rk, 60000), "commit_transaction");
                p->in_txn = false;
            }
            continue;
        }
        if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            die("produce", rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_poll(rk, 1);
    }
    while (rd_kafka_outq_len(rk) > 0)
        rd_kafka_poll(rk, 1);
    p->done_ns = clock_mono_ns();
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return NULL;
}

static int cmd_produce(void)
{
    struct producer *p = calloc((size_t)o.clients, sizeof *p);
    payload = malloc((size_t)o.size);
    if (!p || !payload)
        die("produce", "out of memory");
    bench_fill(payload, (size_t)o.size);
    pthread_barrier_init(&start_line, NULL, (unsigned)o.clients + 1);
    int64_t delivered = 0, failed = 0, end = 0;
    for (int i = 0; i < o.clients; i++) {
        p[i].index = i;
        p[i].quota = o.count / o.clients + (i < o.count % o.clients);
        pthread_create(&p[i].thread, NULL, producer_main, &p[i]);
    }
    pthread_barrier_wait(&start_line);
    int64_t t0 = clock_mono_ns();
    for (int i = 0; i < o.clients; i++) {
        pthread_join(p[i].thread, NULL);
        delivered += p[i].delivered;
        failed += p[i].failed;
        end = p[i].done_ns > end ? p[i].done_ns : end;
    }
    double secs = (double)(end - t0) / 1e9;
    free(p);
    free(payload);
    pthread_barrier_destroy(&start_line);
    if (failed || delivered != o.count)
        die("produce", "not every record was delivered");
    bench_put("msgs_per_s", (double)delivered / secs);
    bench_put("mb_per_s", (double)delivered * (double)o.size / secs / 1e6);
    return 0;
}

/* ---- consume ------------------------------------------------------------------------ */

struct consumer {
    int index;
    pthread_t thread;
};

static int64_t consumed, consumed_bytes; /* totals over every consumer */
static int64_t first_ns, last_ns;        /* when the first batch / the last record came */
static int64_t first_n, first_bytes;     /* the first batch, not counted in the rate */
static pthread_mutex_t consumed_mu = PTHREAD_MUTEX_INITIALIZER;

static rd_kafka_t *consumer_new(int fetch_wait_ms)
{
    rd_kafka_conf_t *c = base_conf();
    set(c, "group.id", "kafka_bench");
    set(c, "enable.auto.commit", "false");
    set(c, "enable.partition.eof", "false");
    set(c, "auto.offset.reset", "earliest");
    set_int(c, "fetch.wait.max.ms", fetch_wait_ms);
    set(c, "queued.max.messages.kbytes", "262144");
    rd_kafka_t *rk = client_new(RD_KAFKA_CONSUMER, c);
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Assign rk the partitions p % every == index of o.topic, from offset at. */
static void assign(rd_kafka_t *rk, int index, int every, int64_t at)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(o.parts);
    for (int p = index; p < o.parts; p += every)
        rd_kafka_topic_partition_list_add(l, o.topic, p)->offset = at;
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, l);
    if (e)
        die("assign", rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(l);
}

/* Count a batch of messages; true once the run's total has been reached. */
static bool count_batch(rd_kafka_message_t **m, ssize_t n)
{
    int64_t bytes = 0, now = clock_mono_ns();
    for (ssize_t i = 0; i < n; i++) {
        if (m[i]->err)
            die("consume", rd_kafka_message_errstr(m[i]));
        bytes += (int64_t)m[i]->len;
        rd_kafka_message_destroy(m[i]);
    }
    pthread_mutex_lock(&consumed_mu);
    if (n > 0 && !first_ns) {
        first_ns = now;
        first_n = n;
        first_bytes = bytes;
    }
    bool was_done = consumed >= o.count;
    consumed += n;
    consumed_bytes += bytes;
    bool done = consumed >= o.count;
    if (done && !was_done)
        last_ns = clock_mono_ns();
    pthread_mutex_unlock(&consumed_mu);
    return done;
}

static void *consumer_main(void *arg)
{
    struct consumer *c = arg;
    rd_kafka_t *rk = consumer_new(100);
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
    static __thread rd_kafka_message_t *m[BATCH];
    assign(rk, c->index, o.clients, 0);
    for (;;) {
        ssize_t n = rd_kafka_consume_batch_queue(q, 100, m, BATCH);
        if (n < 0)
            die("consume", rd_kafka_err2str(rd_kafka_last_error()));
        if (count_batch(m, n))
            break;
        pthread_mutex_lock(&consumed_mu);
        bool done = consumed >= o.count;
        pthread_mutex_unlock(&consumed_mu);
        if (done)
            break;
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return NULL;
}

static int cmd_consume(void)
{
    struct consumer *c = calloc((size_t)o.clients, sizeof *c);
    if (!c)
        die("consume", "out of memory");
    int64_t t0 = clock_mono_ns();
    for (int i = 0; i < o.clients; i++) {
        c[i].index = i;
        pthread_create(&c[i].thread, NULL, consumer_main, &c[i]);
    }
    for (int i = 0; i < o.clients; i++)
        pthread_join(c[i].thread, NULL);
    double secs = (double)(last_ns - first_ns) / 1e9;
    free(c);
    if (consumed <= first_n || secs <= 0)
        die("consume", "everything came in one batch: use more records");
    bench_put("msgs_per_s", (double)(consumed - first_n) / secs);
    bench_put("mb_per_s", (double)(consumed_bytes - first_bytes) / secs / 1e6);
    bench_put("first_ms", (double)(first_ns - t0) / 1e6);
    return 0;
}

/* ---- latency ------------------------------------------------------------------------ */

struct lat_run {
    struct bench_lat lat;
    int64_t start_ns; /* the first scheduled send; INT64_MAX while priming */
    int64_t end_ns;   /* the last scheduled send */
    int64_t expected; /* records on the schedule */
    bool primed;      /* the reader has seen a record */
    bool sending_done;
};

static void lat_add(struct lat_run *r, const char *buf, size_t len, int64_t now)
{
    int64_t ts = bench_unstamp(buf, len);
    __atomic_store_n(&r->primed, true, __ATOMIC_RELEASE);
    if (ts >= __atomic_load_n(&r->start_ns, __ATOMIC_ACQUIRE))
        bench_lat_add(&r->lat, now - ts);
}

/* Whether the reader may stop: everything arrived, or 5 s after the last send. */
static bool lat_done(const struct lat_run *r)
{
    if (!__atomic_load_n(&r->sending_done, __ATOMIC_ACQUIRE))
        return false;
    return (int64_t)r->lat.n >= r->expected || clock_mono_ns() > r->end_ns + 5000000000LL;
}

static void *lat_kafka_reader(void *arg)
{
    struct lat_run *r = arg;
    rd_kafka_t *rk = consumer_new(100);
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, o.topic, 0, &lo, &hi, 10000);
    if (e)
        die("watermarks", rd_kafka_err2str(e));
    o.parts = 1;
    assign(rk, 0, 1, hi);
    while (!lat_done(r)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
        if (!m)
            continue;
        if (!m->err)
            lat_add(r, m->payload, m->len, clock_mono_ns());
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return NULL;
}

/* Read lines from o.file: each line is one stamped record. Waits in poll() with a
 * short timeout so that a reader whose records never come still ends. */
static void *lat_file_reader(void *arg)
{
    struct lat_run *r = arg;
    static char buf[1 << 20];
    size_t have = 0;
    int fd = open(o.file, O_RDONLY);
    if (fd < 0)
        die(o.file, strerror(errno));
    while (!lat_done(r)) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t n = read(fd, buf + have, sizeof buf - have);
        int64_t now = clock_mono_ns();
        if (n <= 0)
            break;
        have += (size_t)n;
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
            lat_add(r, line, (size_t)(nl - line), now);
            line = nl + 1;
        }
        have -= (size_t)(line - buf);
        memmove(buf, line, have);
        if (have == sizeof buf)
            have = 0; /* a line longer than the buffer: not ours */
    }
    close(fd);
    return NULL;
}

static void lat_produce(rd_kafka_t *rk, rd_kafka_topic_t *rkt, char *buf)
{
    while (rd_kafka_produce(rkt, 0, RD_KAFKA_MSG_F_COPY, buf, (size_t)o.size, NULL, 0, NULL))
        rd_kafka_poll(rk, 1);
    rd_kafka_poll(rk, 0);
}

/* Send records stamped 0 until the reader has seen one. */
static void lat_prime(rd_kafka_t *rk, rd_kafka_topic_t *rkt, struct lat_run *r, char *buf)
{
    int64_t deadline = clock_mono_ns() + BENCH_PRIME_LIMIT_NS;
    bench_stamp(buf, (size_t)o.size, 0);
    while (!__atomic_load_n(&r->primed, __ATOMIC_ACQUIRE)) {
        if (clock_mono_ns() > deadline)
            die("latency", "the reader saw nothing within 10 s");
        lat_produce(rk, rkt, buf);
        rd_kafka_poll(rk, (int)(BENCH_PRIME_NS / 1000000));
    }
}

static void lat_send(rd_kafka_t *rk, rd_kafka_topic_t *rkt, struct lat_run *r, char *buf)
{
    double gap = 1e9 / o.rate;
    for (int64_t i = 0; i < r->expected; i++) {
        int64_t at = r->start_ns + (int64_t)((double)i * gap);
        bench_sleep_until(at);
        bench_stamp(buf, (size_t)o.size, at);
        lat_produce(rk, rkt, buf);
    }
}

static int cmd_latency(void)
{
    static struct lat_run r = {.start_ns = INT64_MAX};
    r.expected = (int64_t)o.rate * o.seconds;
    char *buf = malloc((size_t)o.size);
    if (o.size < BENCH_STAMP || !buf || bench_lat_init(&r.lat, (size_t)r.expected))
        die("latency", "bad size or out of memory");
    bench_fill(buf, (size_t)o.size);
    struct producer p = {0};
    rd_kafka_t *rk = producer_new(&p, 0);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o.topic, NULL);
    pthread_t th;
    pthread_create(&th, NULL, o.file ? lat_file_reader : lat_kafka_reader, &r);
    lat_prime(rk, rkt, &r, buf);
    int64_t start = clock_mono_ns() + BENCH_PRIME_NS;
    r.end_ns = start + (int64_t)((double)(r.expected - 1) * 1e9 / o.rate);
    __atomic_store_n(&r.start_ns, start, __ATOMIC_RELEASE);
    lat_send(rk, rkt, &r, buf);
    __atomic_store_n(&r.sending_done, true, __ATOMIC_RELEASE);
    rd_kafka_flush(rk, 10000);
    pthread_join(th, NULL);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(buf);
    if (p.failed || (int64_t)r.lat.n < r.expected * 99 / 100)
        die("latency", "records were lost or late by more than 5 s");
    bench_lat_report(&r.lat, "e2e");
    bench_lat_release(&r.lat);
    return 0;
}

/* ---- command line --------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr, "usage: kafka_bench create|delete|produce|consume|latency -b BROKERS -t TOPIC\n"
                    "  [-s SIZE] [-n COUNT] [-a ACKS] [-P CLIENTS] [-p PARTITIONS]\n"
                    "  [-r RATE] [-d SECONDS] [-F FILE] [-X key=value] [-T LIMIT_S]\n"
                    "  [-x TXN_RECORDS (with -a -1)]\n");
    return 2;
}

static int parse(int argc, char **argv)
{
    int c;
    optind = 2;
    while ((c = getopt(argc, argv, "b:t:s:n:a:P:p:r:d:F:X:T:x:")) != -1) {
        switch (c) {
        case 'b': o.brokers = optarg; break;
        case 't': o.topic = optarg; break;
        case 's': o.size = bench_size(optarg); break;
        case 'n': o.count = atoll(optarg); break;
        case 'a': o.acks = atoi(optarg); break;
        case 'P': o.clients = atoi(optarg); break;
        case 'p': o.parts = atoi(optarg); break;
        case 'r': o.rate = atoi(optarg); break;
        case 'd': o.seconds = atoi(optarg); break;
        case 'F': o.file = optarg; break;
        case 'T': o.limit_s = atoi(optarg); break;
        case 'x': o.txn = atoll(optarg); break;
        case 'X':
            if (o.n_extra == MAX_EXTRA)
                return -1;
            o.extra[o.n_extra++] = optarg;
            break;
        default: return -1;
        }
    }
    bool ok = o.brokers && o.topic && o.size > 0 && o.count > 0 && o.clients > 0 &&
              o.clients <= MAX_CLIENTS && o.parts > 0 && o.rate > 0 && o.seconds > 0 &&
              o.limit_s > 0 && o.txn >= 0 && (!o.txn || o.acks == -1);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || parse(argc, argv))
        return usage();
    alarm((unsigned)o.limit_s); /* every run is bounded: SIGALRM ends it */
    if (!strcmp(argv[1], "create") || !strcmp(argv[1], "delete"))
        return cmd_admin(argv[1][0] == 'c');
    if (!strcmp(argv[1], "produce"))
        return cmd_produce();
    if (!strcmp(argv[1], "consume"))
        return cmd_consume();
    if (!strcmp(argv[1], "latency"))
        return cmd_latency();
    return usage();
}

#else /* no librdkafka */

int main(void)
{
    bench_skip("librdkafka-dev is not installed");
}

#endif
